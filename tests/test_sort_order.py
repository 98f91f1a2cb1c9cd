"""``sort_order`` (Arrow's sort) gives the order of pandas' ``sort_values``: the canonical
order of the ready frames and the duplicate marks' order rest on it."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from carto.analytics.frames import sort_order

rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(["a", "b", "é", "B", "ab", ""])),
        st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
        st.text(max_size=3),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(rows, st.sampled_from([["t", "id"], ["s", "t", "id"], ["s", "t"], ["id"]]))
def test_sort_order_is_pandas_sort_values(
    values: list[tuple[str | None, int | None, str]], keys: list[str]
) -> None:
    frame = pd.DataFrame(
        {
            "s": pd.Series([s for s, _, _ in values], dtype="str"),
            "t": pd.Series(
                [None if t is None else pd.Timestamp(2026, 1, 1 + t) for _, t, _ in values],
                dtype="datetime64[us]",
            ).dt.tz_localize("Europe/Paris"),
            "id": pd.Series([i for _, _, i in values], dtype="str"),
        }
    )
    expected = frame.sort_values(keys, na_position="last", kind="stable").index.to_numpy()
    assert sort_order(frame, keys).tolist() == expected.tolist()
