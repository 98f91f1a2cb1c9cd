"""Helpers for the frames every analysis returns, empty ones included.

Plain pandas: no Streamlit here.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

Unit = Literal["s", "ms", "us", "ns"]


def local_times(like: pd.Series, unit: Unit = "us") -> pd.DatetimeTZDtype | str:
    """The dtype of an empty frame's timestamp column: aware in the time zone of ``like``
    (the passages' dates, local to ``[general] timezone``), naive when ``like`` is."""
    tz = getattr(like.dtype, "tz", None)
    return pd.DatetimeTZDtype(unit=unit, tz=tz) if tz is not None else f"datetime64[{unit}]"
