"""A page's rerun (a click, a widget change) reuses the figures of the same snapshot
version, role, filters and options instead of computing them again (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from carto.analytics import coverage
from testing.app import run_page


def test_coordination_rerun_reuses_the_coverage_tables(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st.cache_data.clear()
    calls: list[int] = []
    real = coverage.who_covers_what

    def counting(passages: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(passages))
        return real(passages)

    monkeypatch.setattr(coverage, "who_covers_what", counting)
    at = run_page("pages/coordination.py")
    computed = len(calls)
    assert computed >= 1, "the page shows who covers what"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(calls) == computed
