"""Tables as every page shows them: French numbers, "—" for a missing value.

``show(frame)`` is how a page draws a table (``st.dataframe``). Streamlit writes numbers
the English way ("167.5") and a missing value as "None"; its ``NumberColumn`` formats
cannot help: ``format="localized"`` follows the browser's language (an English browser
writes "1,234.5"), and printf formats always write a decimal point. So the numbers are
written here, the French way (``carto.i18n``), as the table's display values (a pandas
``Styler``): the cells keep their numbers, so sorting a column still sorts numbers.
A table of texts only is drawn as it is (``plain_text``), its missing cells written "—"
by the table's placeholder.
Whole numbers are written without decimals, other numbers with the decimals they need
(at most 2; 6 for coordinates).

On a phone a table shows only its key column and its decisive figures (``narrow``: the
camp and its days without a passage, the camp and the alert's reason), whole, instead
of scrolling sideways: ``show`` draws the full table for wide screens and the reduced
one for phones, and the app's style sheet hides one of the two (``carto.ui.screens``).
The reduced table's columns get widths that add up to a phone's width
(``narrow_widths``): short columns get what they need, long ones share the rest; when a
text would be cut short, the rows grow to the lines it needs (three to six) and the text
wraps, in a table tall enough for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from carto.i18n import MISSING, format_decimal
from carto.ui import screens

MAX_DIGITS = 2
# Columns whose numbers need more decimals, by name: positions (about 0.1 m at 6).
DIGITS_BY_COLUMN: Mapping[str, int] = {"latitude": 6, "longitude": 6}

# A phone's table: its columns' widths add up to this, in pixels (a 360 px wide phone
# leaves 328 px between the page's margins; a wider one shares out the rest).
NARROW_TABLE_PX = 320
NARROW_MAX_COLUMNS = 3
CHAR_PX = 6.4  # the mean width of a character in a table (Source Sans, 14 px: about 6)
CELL_PADDING_PX = 20
MIN_COLUMN_PX = 56
CUT_SHORT = 1.15  # a text needing more than this times its column's width is cut short
# Streamlit wraps a cell's text only in rows taller than 4rem (64 px): three lines or
# more, of LINE_PX each, and at most MAX_LINES (a longer text ends cut short).
LINE_PX = 21
ROW_PADDING_PX = 10
MIN_LINES, MAX_LINES = 3, 6
# Streamlit sizes a table for ten rows of the usual height: taller rows get a taller
# table, up to about a phone's screen (then it scrolls), header and borders included.
HEADER_PX = 38
MAX_NARROW_TABLE_PX = 720


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


def _label(column: object, config: object) -> str:
    """The header a column shows: its configured label, else its name."""
    if isinstance(config, str):
        return config
    if isinstance(config, Mapping) and config.get("label"):
        return str(config["label"])
    return str(column)


def _cell_chars(frame: pd.DataFrame, column: object, config: object = None) -> float:
    """The characters most cells (nine in ten) of a column need to read whole, as they
    read: French numbers, "—" when missing, a link's text."""
    values = frame[column]
    if values.empty:
        return 0.0
    link_text = None
    if isinstance(config, Mapping):
        link_text = (config.get("type_config") or {}).get("display_text")
    write = number_formats(frame[[column]]).get(column)
    missing = values.isna()
    if link_text:
        lengths = pd.Series(len(str(link_text)), index=values.index)
    elif callable(write):
        found = zip(values.tolist(), missing.tolist(), strict=True)
        lengths = pd.Series([0 if m else len(write(v)) for v, m in found], index=values.index)
    elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        lengths = values.astype(str).str.len()  # str() of each value
    else:  # dates and others: as str() writes each value (astype(str) may drop the time)
        lengths = pd.Series([len(str(v)) for v in values.tolist()], index=values.index)
    lengths = lengths.where(~missing, len(MISSING))
    return float(lengths.quantile(0.9))


def needed_width(
    frame: pd.DataFrame, column: object, config: object = None, header: bool = True
) -> float:
    """The pixels a column needs to show most of its cells (nine in ten) whole, as they
    read (French numbers, "—" when missing, a link's text), and its header."""
    return _width(_cell_chars(frame, column, config), column, config, header)


def _width(chars: float, column: object, config: object, header: bool) -> float:
    if header:
        chars = max(chars, len(_label(column, config)))
    return chars * CHAR_PX + CELL_PADDING_PX


def narrow_widths(needed: Mapping[str, float], total: int = NARROW_TABLE_PX) -> dict[str, int]:
    """Column widths adding up to at most ``total``: each column gets what it needs,
    up to an equal share of what the narrower ones left (never under MIN_COLUMN_PX)."""
    widths: dict[str, int] = {}
    remaining = float(total)
    by_need = sorted(needed, key=lambda c: needed[c])
    for i, column in enumerate(by_need):
        share = remaining / (len(by_need) - i)
        widths[column] = int(max(MIN_COLUMN_PX, min(needed[column], share)))
        remaining -= widths[column]
    return {column: widths[column] for column in needed}


def narrow_options(frame: pd.DataFrame, options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``st.dataframe`` options of a phone's table of ``frame`` (the narrow
    columns only): each column's configuration with a width that fits, and rows that
    wrap their text when a text would be cut short."""
    configured = options.get("column_config") or {}
    chars = {c: _cell_chars(frame, c, configured.get(c)) for c in frame.columns}
    needed = {c: _width(chars[c], c, configured.get(c), True) for c in frame.columns}
    widths = narrow_widths(needed)
    config: dict[Any, Any] = {}
    for column in frame.columns:
        base = configured.get(column)
        entry = {"label": base} if isinstance(base, str) else dict(base or {})
        entry["width"] = widths[column]
        config[column] = entry
    narrow = {**options, "column_config": config}
    texts = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    cells = {c: _width(chars[c], c, configured.get(c), False) for c in texts}
    cut = [cells[c] / widths[c] for c in texts if cells[c] > widths[c] * CUT_SHORT]
    if cut:
        # words do not fill every line: a tenth more lines than the letters need
        lines = min(max(math.ceil(max(cut) * 1.1), MIN_LINES), MAX_LINES)
        row_height = int(narrow.setdefault("row_height", lines * LINE_PX + ROW_PADDING_PX))
        rows = min(len(frame) * row_height, MAX_NARROW_TABLE_PX)
        narrow.setdefault("height", max(rows, row_height) + HEADER_PX)
    return narrow


def plain_text(frame: pd.DataFrame) -> bool:
    """Whether every column of ``frame`` holds only texts (or nothing): then no cell is
    written otherwise than it reads, and a missing one shows the table's placeholder."""
    return all(
        pd.api.types.infer_dtype(frame[column], skipna=True) in ("string", "empty")
        for column in frame.columns
    )


def _draw(frame: pd.DataFrame, digits: Mapping[str, int] | None, **options: Any) -> None:
    if plain_text(frame):
        # a Styler writes every cell again, in Python, in every session (the quality
        # list's 600 rows at 100,000 passages: 0.04 s a run); texts need no writing
        st.dataframe(frame, placeholder=MISSING, **options)
        return
    styled = french(frame, digits)
    with pd.option_context("styler.render.max_elements", max(frame.size, 1) + 1):
        st.dataframe(styled, placeholder=MISSING, **options)


def show(
    frame: pd.DataFrame,
    *,
    digits: Mapping[str, int] | None = None,
    hide_index: bool = True,
    narrow: Sequence[str] = (),
    name: str | None = None,
    **kwargs: Any,
) -> None:
    """Draw a table the French way (``digits``: decimals of some columns, by name).

    With ``narrow`` (2 or 3 column names of ``frame``: the key column and the decisive
    figures), a phone shows a table of those columns only; ``name`` (unique on the
    page, stable) keys the two tables' containers: "tablewide-<name>" and
    "tablenarrow-<name>"."""
    if hide_index and not frame.index.is_unique:
        frame = frame.reset_index(drop=True)  # a Styler needs a unique index
    if not narrow:
        _draw(frame, digits, hide_index=hide_index, **kwargs)
        return
    columns = list(dict.fromkeys(narrow))
    unknown = [c for c in columns if c not in frame.columns]
    if unknown or len(columns) > NARROW_MAX_COLUMNS or not name:
        raise ValueError(f"narrow table {name!r}: columns {columns}, unknown {unknown}")
    wide, phone = screens.wide_and_narrow("table", name)
    with wide:
        _draw(frame, digits, hide_index=hide_index, **kwargs)
    with phone:
        reduced = frame[columns]
        _draw(reduced, digits, hide_index=hide_index, **narrow_options(reduced, kwargs))
