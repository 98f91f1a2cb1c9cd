"""Cached access to settings and data for the pages (the only data entry point of pages).

The dataset is cached on the snapshot version with ``st.cache_resource``: one shared,
read-only copy per version, instead of a pickled copy per rerun (copy-on-write keeps
pages from changing it by accident). Derived frames are cached on that version too,
never on a DataFrame argument (Streamlit would only hash a sample of a large frame).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from carto import sync
from carto.analytics import camps, population, quality
from carto.dataset import Dataset, build_dataset, open_store
from carto.i18n import format_int, t
from carto.settings import ConfigError, Settings, config_path, load_settings


@st.cache_resource(show_spinner=False)
def _settings(path: str, mtime: float) -> Settings:
    return load_settings()


def settings() -> Settings:
    """The application's settings (reread when the file changes); a broken config stops
    the page with what to fix."""
    path = config_path()
    try:
        return _settings(str(path), path.stat().st_mtime if path.exists() else 0.0)
    except (ConfigError, ValueError) as exc:
        st.error(t("error.config", error=exc, path=path))
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_resource(max_entries=2, show_spinner=False)
def _dataset(store_path: str, version: int, _settings: Settings) -> Dataset:
    return build_dataset(_settings, open_store(_settings))


def dataset() -> Dataset:
    """The current dataset, rebuilt only when the snapshot version changes."""
    conf = settings()
    with st.spinner(t("loading.data")):
        store = open_store(conf)
        if store.version == 0:  # live mode, never synced: start one and say so
            sync.refresh_in_background(conf)
            st.warning(t("error.no_snapshot"), icon=":material/cloud_sync:")
            st.stop()
        return _dataset(str(store.path), store.version, conf)


@st.cache_data(max_entries=64, show_spinner=False)
def _camp_states(_ds: Dataset, version: int, as_of: dt.date, active_days: int) -> pd.DataFrame:
    as_of_ts = pd.Timestamp(as_of).tz_localize(settings()["general.timezone"])
    return camps.camp_states(_ds.passages, _ds.sites, as_of_ts, active_days)


def camp_states(ds: Dataset, as_of: dt.date) -> pd.DataFrame:
    """Each camp's latest state at the end of ``as_of``."""
    active_days = int(settings()["analysis.camp_gap_days"])
    return _camp_states(ds, ds.version, as_of, active_days)


@st.cache_data(max_entries=64, show_spinner=False)
def _population(
    _ds: Dataset, version: int, start: dt.date, end: dt.date, window: int
) -> pd.DataFrame:
    days = population.day_range(pd.Timestamp(start), pd.Timestamp(end))
    return population.estimated_population(_ds.passages, days, window)


def estimated_population(ds: Dataset, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Estimated population and camps counted, per day from ``start`` to ``end``."""
    window = int(settings()["analysis.population_window_days"])
    return _population(ds, ds.version, start, end, window)


@st.cache_data(max_entries=8, show_spinner=False)
def _quality_issues(_ds: Dataset, version: int, base_id: str) -> pd.DataFrame:
    conf = settings()
    tables = {"passages": conf["airtable.passages_table"], "sites": conf["airtable.sites_table"]}
    return quality.issue_list(_ds.passages, _ds.sites, _ds.quarantine, base_id, tables)


def quality_issues(ds: Dataset) -> pd.DataFrame:
    """Every quarantined or flagged record with its reasons and Airtable link."""
    conf = settings()
    base_id = "" if ds.is_demo else conf["airtable.base_id"]
    return _quality_issues(ds, ds.version, base_id)


@dataclass(frozen=True)
class Freshness:
    """How old the live snapshot is and what the automatic refresh last reported."""

    synced_at: dt.datetime | None
    age_seconds: float
    error: str | None
    interval_seconds: float | None
    budget_used: str
    budget_total: str
    budget_slowed: bool


def freshness() -> Freshness:
    """Start a due refresh in the background (at most one per interval for the whole
    process) and report the state of the snapshot; never waits for Airtable."""
    conf = settings()
    sync.refresh_in_background(conf)
    store = open_store(conf)
    synced = sync.last_synced_at(store)
    outcome = sync.last_refresh()
    budget = sync.budget_status(conf, store)
    now = dt.datetime.now(dt.UTC)
    tz = ZoneInfo(conf["general.timezone"])
    base = float(conf["sync.refresh_interval_seconds"])
    return Freshness(
        synced_at=synced.astimezone(tz) if synced else None,
        age_seconds=(now - synced).total_seconds() if synced else 0.0,
        error=outcome.error if outcome is not None else None,
        interval_seconds=budget.refresh_interval_seconds,
        budget_used=format_int(budget.used),
        budget_total=format_int(budget.budget),
        budget_slowed=budget.refresh_interval_seconds is None
        or budget.refresh_interval_seconds > base,
    )


def _check_snapshot(shown_version: int) -> None:
    sync.refresh_in_background(settings())
    if open_store(settings()).version != shown_version:
        st.rerun(scope="app")


def watch_for_new_snapshot(shown_version: int, interval_seconds: float | None) -> None:
    """Every interval, start a due refresh and re-run the page when a new snapshot lands.

    Only this small fragment reruns on the timer, not the page."""
    if interval_seconds is None:
        return
    st.fragment(_check_snapshot, run_every=interval_seconds)(shown_version)
