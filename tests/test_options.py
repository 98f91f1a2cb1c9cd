"""Typed options: built once from the settings, defaults only in carto/settings.py, and
part of every cache key (a config edit reaches the cached figures at once)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import streamlit as st

from carto import filters, privacy, settings
from carto.analytics import (
    alerts,
    camp_tables,
    camps,
    coverage,
    events,
    hotspots,
    needs,
    places,
    quality,
)
from carto.dataset import Dataset
from carto.options import AirtableTables, AnalysisOptions, first_date
from carto.settings import ConfigError, Settings
from carto.ui import data


@pytest.fixture
def edited(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Settings]]:
    """The pages' settings, replaceable between two calls as a config edit would (no
    signed-in session here: the full policy)."""
    current = {"conf": demo_settings}
    monkeypatch.setattr(data, "settings", lambda: current["conf"])
    monkeypatch.setattr(data, "policy", lambda: privacy.FULL)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield current
    st.cache_data.clear()
    st.cache_resource.clear()


def _view(ds: Dataset, f: filters.Filters | None = None) -> data.View:
    f = f or filters.Filters()
    return data.view(ds, f, f.period_for(ds.today, ds.passages["day"].min().date()))


def test_hotspot_scores_follow_a_weight_edited_between_two_calls(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    ds = demo_dataset
    before = data.hotspot_scores(_view(ds), ds.today)
    old = edited["conf"]["hotspots.weight_minors"]
    edited["conf"] = edited["conf"].with_values(hotspots__weight_minors=old * 3 + 1.0)
    after = data.hotspot_scores(_view(ds), ds.today)

    opts = AnalysisOptions.from_settings(edited["conf"])
    states = data.camp_states(_view(ds), ds.today)
    expected = hotspots.camp_scores(
        ds.passages, states, opts.day_start(ds.today), opts.population_window_days, opts.weights
    )
    assert not before["score"].equals(after["score"])  # the edit changes something
    pd.testing.assert_series_equal(
        after["score"].reset_index(drop=True), expected["score"].reset_index(drop=True)
    )


def test_camp_data_follows_an_edited_successor_window(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    ds = demo_dataset
    before = data.camp_data(_view(ds))
    edited["conf"] = edited["conf"].with_values(analysis__successor_days=0)
    after = data.camp_data(_view(ds))

    opts = AnalysisOptions.from_settings(edited["conf"])
    expected = camp_tables.camp_tables(
        ds.passages,
        ds.sites,
        ds.today,
        active_days=opts.active_days,
        count_window_days=opts.population_window_days,
        successor_distance_m=opts.successor_distance_m,
        successor_days=opts.successor_days,
        timezone=opts.timezone,
        merge_days=opts.evacuation_merge_days,
    )
    assert len(before.links) != len(after.links)
    pd.testing.assert_frame_equal(after.links, expected.links)


def test_camp_data_statuses_follow_the_activity_window(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    """The history page's camp statuses use ``analysis.camp_gap_days`` (they used the
    camps dataset's own default of 30 days, whatever the setting said)."""
    ds = demo_dataset
    edited["conf"] = edited["conf"].with_values(analysis__camp_gap_days=1)
    built = data.camp_data(_view(ds))

    opts = AnalysisOptions.from_settings(edited["conf"])
    states = camps.camp_states(ds.passages, ds.sites, opts.day_start(ds.today), 1)
    active = set(states.loc[states["active"], "camp_id"])
    shown = set(built.camps.loc[built.camps["status"] == camps.STATUS_ACTIVE, "camp_id"])
    assert shown == active


def test_quality_links_follow_an_edited_table_name(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    live = dataclasses.replace(demo_dataset, is_demo=False)  # the demo links to no base
    edited["conf"] = edited["conf"].with_values(airtable__base_id="appAAAAAAAAAAAAAA")
    before = data.quality_issues(live)
    edited["conf"] = edited["conf"].with_values(airtable__passages_table="Visites")
    after = data.quality_issues(live)

    tables = AirtableTables.from_settings(edited["conf"])
    expected = quality.issue_list(
        live.passages, live.sites, live.quarantine, tables.base_id, tables.names
    )
    assert not before["airtable_url"].equals(after["airtable_url"])
    pd.testing.assert_series_equal(after["airtable_url"], expected["airtable_url"])


def test_filtered_view_follows_an_edited_activity_window(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    ds = demo_dataset
    f = filters.Filters(statuses=(filters.ACTIVE,))
    before = _view(ds, f).passages
    edited["conf"] = edited["conf"].with_values(analysis__camp_gap_days=1)
    after = _view(ds, f).passages

    opts = AnalysisOptions.from_settings(edited["conf"])
    period = f.period_for(ds.today, ds.passages["day"].min().date())
    expected = filters.narrow(
        ds.passages, ds.sites, f, period, opts.day_start(period.end), opts.active_days
    )
    assert len(after) < len(before)  # fewer camps seen within a day than within 30
    assert after.index.equals(expected.index)


def test_a_status_filtered_view_follows_the_day(
    edited: dict[str, Settings], demo_dataset: Dataset
) -> None:
    """Same filters ("30j", active camps) on two days: two windows, two sets of camps,
    two results. The cache key holds the period, not only the filters (before, the
    second day got the first day's figures until a new snapshot)."""
    ds = demo_dataset
    f = filters.Filters(statuses=(filters.ACTIVE,))
    first_day = ds.passages["day"].min().date()
    days = [f.period_for(ds.today - dt.timedelta(days=back), first_day) for back in (0, 40)]
    views = [data.view(ds, f, period) for period in days]
    assert views[0].key != views[1].key
    shown = [data.weekly_needs(v) for v in views]
    expected = [needs.weekly_needs(v.passages) for v in views]
    assert not expected[0].equals(expected[1])  # the check below can fail
    for got, want in zip(shown, expected, strict=True):
        assert got.shape == want.shape


def test_options_take_the_declared_defaults_and_the_file_values() -> None:
    defaults = AnalysisOptions.from_settings(Settings({}))
    declared = {s.key: s.default for s in settings.SETTINGS}
    assert defaults.active_days == declared["analysis.camp_gap_days"]
    assert defaults.weights.minors == declared["hotspots.weight_minors"]
    assert defaults.timezone == declared["general.timezone"]
    edited = Settings({}).with_values(analysis__camp_gap_days=12, hotspots__days_scale=2)
    opts = AnalysisOptions.from_settings(edited)
    assert (opts.active_days, opts.weights.days_scale) == (12, 2.0)
    assert isinstance(opts.weights.days_scale, float)  # an int given for a float setting


def test_an_override_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError):
        Settings({}).with_values(analysis__camp_gap_days="30")


def test_empty_frames_take_the_configured_time_zone(demo_dataset: Dataset) -> None:
    """An empty result keeps the time zone of the dates it was given (the
    ``[general] timezone`` setting's), not a hard-coded one."""
    zone = "America/Cayenne"
    none = demo_dataset.passages.iloc[:0]
    none = none.assign(date=none["date"].dt.tz_convert(zone))
    sites = demo_dataset.sites
    as_of = pd.Timestamp("2026-11-26", tz=zone)
    found = {
        "camp_states": camps.camp_states(none, sites, as_of, 30)["last_visit"],
        "camp_places": places.camp_places(none, sites)["first_visit"],
        "events": events.evacuation_events(none, sites, 7, 1)["first_report"],
        "alerts": alerts.protection_alerts(none, sites, as_of, 48)["last_report"],
        "pairs": coverage.duplicate_visits(none, 4.0)["first_date"],
    }
    for name, column in found.items():
        assert str(column.dt.tz) == zone, name


@pytest.mark.parametrize("value", ["2015-13-01", "01/01/2015", "1678-01-02", ""])
def test_a_first_date_unreadable_or_before_1900_is_refused_in_french(value: str) -> None:
    conf = Settings({}).with_values(quality__first_date=value)
    with pytest.raises(ConfigError, match=r"quality\.first_date : une date AAAA-MM-JJ"):
        first_date(conf)


def test_the_first_date_is_read_from_the_settings() -> None:
    assert first_date(Settings({})) == dt.date(2015, 1, 1)
    assert first_date(Settings({}).with_values(quality__first_date="2020-03-04")) == dt.date(
        2020, 3, 4
    )
