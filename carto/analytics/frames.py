"""Helpers for the frames every analysis returns, empty ones included.

Plain pandas: no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def sort_order(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Row positions in the order ``frame.sort_values(keys, na_position="last",
    kind="stable")`` gives, sorted by Arrow: pandas makes each key a Categorical first,
    timestamps included, which cost more than the sort at 100,000 rows."""
    columns = {}
    for n, key in enumerate(keys):
        col = frame[key]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(col.dtype):
            nat = col.isna().to_numpy()
            values = pa.array(col.to_numpy().view(np.int64), mask=nat)
        else:
            values = pa.array(col, from_pandas=True)
        columns[str(n)] = values
    order = pc.sort_indices(
        pa.table(columns),
        sort_keys=[(str(n), "ascending", "at_end") for n in range(len(keys))],
    )
    return order.to_numpy()
