"""Shared page furniture: the demo banner, the freshness line and the period filter."""

from __future__ import annotations

import streamlit as st

from carto.analytics.figures import Period
from carto.dataset import Dataset
from carto.i18n import format_age, format_date, format_datetime, t
from carto.ui import data

PERIOD_CHOICES = (7, 30, 90, 0)  # 0: the whole history
_PERIOD_LABELS = {
    7: "filter.period.7",
    30: "filter.period.30",
    90: "filter.period.90",
    0: "filter.period.all",
}


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
    data.watch_for_new_snapshot(ds.version, fresh.interval_seconds)


def period_filter(ds: Dataset, default_days: int) -> Period:
    """The sidebar period selector, kept across pages; returns the chosen period."""
    # Widget state is dropped when the page changes: keep the choice under a plain key
    # and hand it back to the widget on every run, so it survives navigation.
    kept = st.session_state.setdefault(
        "kept_period_days", default_days if default_days in PERIOD_CHOICES else 30
    )
    st.session_state["period_days"] = kept
    with st.sidebar:
        st.header(t("filter.title"))
        days = st.selectbox(
            t("filter.period"),
            PERIOD_CHOICES,
            format_func=lambda d: t(_PERIOD_LABELS[d]),
            key="period_days",
            on_change=_keep,
            args=("period_days",),
        )
        if days == 0:
            first = ds.passages["day"].min()
            days = int((ds.today - first.date()).days) + 1 if len(ds.passages) else 1
        period = Period.last_days(ds.today, days)
        st.caption(
            t("filter.period_caption", start=format_date(period.start), end=format_date(period.end))
        )
    return period


def _keep(key: str) -> None:
    st.session_state["kept_" + key] = st.session_state[key]
