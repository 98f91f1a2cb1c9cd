"""Shared page furniture: the demo banner, the freshness line and the period filter, and
the hiding of what Streamlit only says in English."""

from __future__ import annotations

import streamlit as st

from carto import privacy
from carto.dataset import Dataset
from carto.i18n import format_age, format_datetime, t
from carto.options import first_date
from carto.text import escape_markdown
from carto.ui import auth, data, filters

# What Streamlit draws in English only and no setting hides: the toolbar above each table
# and chart ("Show/hide columns", "Search", "Fullscreen"; its CSV download is already
# off, ``client.disableDataExport``) and a table column's menu ("Sort ascending", "Pin
# column"…; a click on the column's title still sorts it). The top bar ("Running…",
# "Stop", the menu) is hidden by ``.streamlit/config.toml`` (``ui.hideTopBar``,
# ``client.toolbarMode``).
ENGLISH_CHROME_CSS = """
[data-testid="stElementToolbar"] { display: none !important; }
[data-testid="stDataFrameColumnMenu"] { display: none !important; }
"""
# A select's search that finds nothing says "No results": the French words are drawn
# over it (a style sheet cannot change a text, only hide it and add another).
NO_RESULTS_CSS = """
[role="listbox"][data-empty="true"] [role="option"] > span { font-size: 0; }
[role="listbox"][data-empty="true"] [role="option"] > span::after {
  content: "{text}"; font-size: 0.875rem;
}
"""


def english_chrome_css() -> str:
    """The style sheet hiding Streamlit's English-only controls."""
    no_results = t("widget.no_results").replace("\\", "").replace('"', "")
    return ENGLISH_CHROME_CSS + NO_RESULTS_CSS.replace("{text}", no_results)


def hide_english_chrome() -> None:
    """Hide Streamlit's English-only controls (a style sheet: it takes no room)."""
    st.html(f"<style>{english_chrome_css()}</style>")


def suppressed_caption(policy: privacy.Policy, *shown: object) -> None:
    """Under figures a partner's policy hid ("<5"), say so ("« <5 » : chiffre inférieur
    à 5, masqué…"); nothing when none of ``shown`` was (see ``privacy.any_suppressed``)."""
    if privacy.any_suppressed(policy, *shown):
        st.caption(t("privacy.suppressed_note", threshold=policy.small_count_threshold))


def page_header(title: str, ds: Dataset) -> None:
    """Title, demo banner, the age of the data and, live, what the refresh is doing."""
    st.title(title)
    if ds.is_demo:
        st.info(t("banner.demo"), icon=":material/science:")
        if ds.synced_at is not None:
            st.caption(t("banner.snapshot", when=format_datetime(ds.synced_at)))
        return
    details = privacy.sees_sync_details(auth.require_user(data.settings()).role)
    fresh = data.freshness()
    if fresh.synced_at is not None:
        st.caption(t("banner.snapshot", when=format_datetime(fresh.synced_at)))
    if fresh.error and fresh.synced_at is not None:
        age = format_age(fresh.age_seconds)
        when = format_datetime(fresh.synced_at)
        # Airtable's words are record text too: escaped, and only for those who can act
        stale = (
            t("banner.stale", error=escape_markdown(fresh.error), when=when, age=age)
            if details
            else t("banner.stale_short", when=when, age=age)
        )
        st.warning(stale, icon=":material/cloud_off:")
    if fresh.budget_slowed:
        st.caption(t("banner.budget", used=fresh.budget_used, budget=fresh.budget_total))
    problems = data.schema_problems()
    if problems:
        listed = "\n".join(f"- {escape_markdown(p)}" for p in problems) if details else ""
        st.warning(t("banner.schema") + "\n\n" + listed, icon=":material/table_view:")
    data.watch_for_new_snapshot(ds.version, fresh.interval_seconds)


def start_page(title: str) -> data.View:
    """What every page does first: load, title and banners, filters; returns the view.
    When the filters keep no passage of the period, a French empty-state message says so."""
    ds = data.dataset()
    page_header(title, ds)
    conf = data.settings()
    choice, period = filters.sidebar(ds, conf["filters.default_period"], first_date(conf))
    if choice.narrows:
        st.caption(t("filter.active"))
    view = data.view(ds, choice, period)
    days = view.passages["day"]
    if not ((days >= period.start) & (days <= period.end)).any():
        # Every page still draws (its own empty states), under one clear message.
        st.info(t("filter.no_match"), icon=":material/filter_alt_off:")
    return view
