"""Helpers for the frames every analysis returns, empty ones included.

Plain pandas: no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

Unit = Literal["s", "ms", "us", "ns"]
Describe = Callable[[Sequence[str], Sequence[Mapping[str, Any]]], str]


def local_times(like: pd.Series, unit: Unit = "us") -> pd.DatetimeTZDtype | str:
    """The dtype of an empty frame's timestamp column: aware in the time zone of ``like``
    (the passages' dates, local to ``[general] timezone``), naive when ``like`` is."""
    tz = getattr(like.dtype, "tz", None)
    return pd.DatetimeTZDtype(unit=unit, tz=tz) if tz is not None else f"datetime64[{unit}]"


def described(frame: pd.DataFrame, describe: Describe, codes: str, params: str) -> pd.Series:
    """The text ``describe`` writes for each row's codes (column ``codes``) and the values
    they quote (column ``params``): frames carry codes, and this writes them out where
    they are shown."""
    return pd.Series(
        [describe(c, p) for c, p in zip(frame[codes], frame[params], strict=True)],
        index=frame.index,
        dtype="str",
    )
