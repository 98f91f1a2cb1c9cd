"""Shared page furniture: the demo banner, the freshness line and the period filter."""

from __future__ import annotations

import streamlit as st

from carto.dataset import Dataset
from carto.i18n import format_age, format_datetime, t
from carto.ui import data, filters


def page_header(title: str, ds: Dataset) -> None:
    """Title, demo banner, the age of the data and, live, what the refresh is doing."""
    st.title(title)
    if ds.is_demo:
        st.info(t("banner.demo"), icon=":material/science:")
        if ds.synced_at is not None:
            st.caption(t("banner.snapshot", when=format_datetime(ds.synced_at)))
        return
    fresh = data.freshness()
    if fresh.synced_at is not None:
        st.caption(t("banner.snapshot", when=format_datetime(fresh.synced_at)))
    if fresh.error and fresh.synced_at is not None:
        age = format_age(fresh.age_seconds)
        when = format_datetime(fresh.synced_at)
        st.warning(
            t("banner.stale", error=fresh.error, when=when, age=age), icon=":material/cloud_off:"
        )
    if fresh.budget_slowed:
        st.caption(t("banner.budget", used=fresh.budget_used, budget=fresh.budget_total))
    problems = data.schema_problems()
    if problems:
        st.warning(
            t("banner.schema") + "\n\n" + "\n".join(f"- {p}" for p in problems),
            icon=":material/table_view:",
        )
    data.watch_for_new_snapshot(ds.version, fresh.interval_seconds)


def start_page(title: str) -> data.View:
    """What every page does first: load, title and banners, filters; returns the view.
    When the filters keep no passage of the period, a French empty-state message says so."""
    ds = data.dataset()
    page_header(title, ds)
    choice, period = filters.sidebar(ds, data.settings()["filters.default_period"])
    if choice.narrows:
        st.caption(t("filter.active"))
    view = data.view(ds, choice, period)
    days = view.passages["day"]
    if not ((days >= period.start) & (days <= period.end)).any():
        # Every page still draws (its own empty states), under one clear message.
        st.info(t("filter.no_match"), icon=":material/filter_alt_off:")
    return view
