"""Tables as every page shows them: French numbers, "—" for a missing value.

``show(frame)`` is how a page draws a table (``st.dataframe``). Streamlit writes numbers
the English way ("167.5") and a missing value as "None"; its ``NumberColumn`` formats
cannot help: ``format="localized"`` follows the browser's language (an English browser
writes "1,234.5"), and printf formats always write a decimal point. So the numbers are
written here, the French way (``carto.i18n``), as the table's display values (a pandas
``Styler``): the cells keep their numbers, so sorting a column still sorts numbers.
Whole numbers are written without decimals, other numbers with the decimals they need
(at most 2; 6 for coordinates).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from carto.i18n import MISSING, format_decimal

MAX_DIGITS = 2
# Columns whose numbers need more decimals, by name: positions (about 0.1 m at 6).
DIGITS_BY_COLUMN: Mapping[str, int] = {"latitude": 6, "longitude": 6}


def _decimals_needed(values: pd.Series, most: int) -> int:
    """The fewest decimals (up to ``most``) that write every value of a column exactly."""
    numbers = [float(v) for v in values.dropna().tolist() if not math.isinf(float(v))]
    for digits in range(most + 1):
        scale = 10**digits
        if all(abs(v * scale - round(v * scale)) < 1e-6 for v in numbers):
            return digits
    return most


def _writer(digits: int) -> Callable[[object], str]:
    return lambda value: format_decimal(value, digits)  # type: ignore[arg-type]


def number_formats(
    frame: pd.DataFrame, digits: Mapping[str, int] | None = None
) -> dict[Any, str | Callable[[object], str] | None]:
    """How each numeric column of ``frame`` is written (booleans stay check boxes)."""
    wanted = {**DIGITS_BY_COLUMN, **(digits or {})}
    formats: dict[Any, str | Callable[[object], str] | None] = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            continue
        most = wanted.get(str(column), MAX_DIGITS)
        formats[column] = _writer(_decimals_needed(values, most))
    return formats


def french(frame: pd.DataFrame, digits: Mapping[str, int] | None = None) -> Styler:
    """The frame with French display values: numbers, and "—" where a value is missing."""
    return frame.style.format(number_formats(frame, digits), na_rep=MISSING)


def show(
    frame: pd.DataFrame,
    *,
    digits: Mapping[str, int] | None = None,
    hide_index: bool = True,
    **kwargs: Any,
) -> None:
    """Draw a table the French way (``digits``: decimals of some columns, by name)."""
    if hide_index and not frame.index.is_unique:
        frame = frame.reset_index(drop=True)  # a Styler needs a unique index
    styled = french(frame, digits)
    with pd.option_context("styler.render.max_elements", max(frame.size, 1) + 1):
        st.dataframe(styled, hide_index=hide_index, placeholder=MISSING, **kwargs)
