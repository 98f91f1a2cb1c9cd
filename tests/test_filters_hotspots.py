"""Shared filters and hotspot scores, on the demo and on small hand-made frames."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from carto import filters
from carto.analytics import camps, hotspots, places, population, zones
from carto.analytics.figures import Period
from carto.dataset import Dataset
from carto.options import AnalysisOptions
from carto.settings import Settings
from tests.conftest import TODAY

DEFAULT_WEIGHTS = AnalysisOptions.from_settings(Settings({})).weights

AS_OF = pd.Timestamp(TODAY, tz="Europe/Paris")


def narrowed(ds: Dataset, f: filters.Filters) -> pd.DataFrame:
    period = f.period_for(TODAY, ds.passages["day"].min().date())
    states = camps.camp_states(ds.passages, ds.sites, AS_OF, active_days=30)
    arr = places.camp_places(ds.passages, ds.sites)["arrondissement"]
    return filters.apply(ds.passages, arr, camps.camp_status(states), period, f)


def test_period_choices() -> None:
    first = dt.date(2026, 8, 1)
    assert filters.Filters("7j").period_for(TODAY, first).start == pd.Timestamp("2026-11-20")
    assert filters.Filters("24h").period_for(TODAY, first).start == pd.Timestamp(TODAY)
    assert filters.Filters("tout").period_for(TODAY, first).start == pd.Timestamp(first)
    custom = filters.Filters("perso", custom=(dt.date(2026, 11, 10), dt.date(2026, 11, 1)))
    span = custom.period_for(TODAY, first)
    assert (span.start, span.end) == (pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-10"))


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (dt.date(2026, 1, 15), "2025-12-01", "2025-12-31"),  # across the new year
        (dt.date(2024, 3, 1), "2024-02-01", "2024-02-29"),  # 1 March of a leap year
        (dt.date(2026, 3, 31), "2026-02-01", "2026-02-28"),
        (dt.date(2026, 11, 30), "2026-10-01", "2026-10-31"),
    ],
)
def test_last_month_is_the_previous_calendar_month(today: dt.date, start: str, end: str) -> None:
    span = filters.Filters(filters.LAST_MONTH).period_for(today, dt.date(2020, 1, 1))
    assert (span.start, span.end) == (pd.Timestamp(start), pd.Timestamp(end))
    assert filters.LAST_MONTH in filters.PERIODS


def test_a_calendar_month_is_compared_with_the_month_before() -> None:
    december = filters.Filters(filters.LAST_MONTH).period_for(dt.date(2026, 1, 15), None)
    november = december.previous()
    assert (november.start, november.end) == (
        pd.Timestamp("2025-11-01"),
        pd.Timestamp("2025-11-30"),
    )
    march = Period(pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-31")).previous()
    assert (march.start, march.end) == (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-29"))
    week = Period.last_days(dt.date(2026, 1, 15), 7).previous()
    assert (week.start, week.end) == (pd.Timestamp("2026-01-02"), pd.Timestamp("2026-01-08"))


def test_no_filter_keeps_everything(demo_dataset: Dataset) -> None:
    assert len(narrowed(demo_dataset, filters.Filters())) == len(demo_dataset.passages)
    assert not filters.Filters("7j").narrows


def test_association_filter_keeps_only_its_passages(demo_dataset: Dataset) -> None:
    kept = narrowed(demo_dataset, filters.Filters(associations=("Croix-Rouge française",)))
    assert 0 < len(kept) < len(demo_dataset.passages)
    assert set(kept["association"]) == {"Croix-Rouge française"}


def test_arrondissement_filter_selects_camps(demo_dataset: Dataset) -> None:
    arr = places.camp_places(demo_dataset.passages, demo_dataset.sites)["arrondissement"]
    kept = narrowed(demo_dataset, filters.Filters(arrondissements=("75019",)))
    assert len(kept) > 0
    assert set(arr.reindex(kept["camp_id"].unique())) == {"75019"}


def test_minors_filter_selects_camps_with_minors_in_period(demo_dataset: Dataset) -> None:
    f = filters.Filters("7j", publics=("mna",))
    kept = narrowed(demo_dataset, f)
    week = kept[kept["day"] >= pd.Timestamp(TODAY) - pd.Timedelta(days=6)]
    per_camp = week.groupby("camp_id")["unaccompanied_minors"].max()
    assert len(per_camp) > 0 and (per_camp > 0).all()
    all_camps = demo_dataset.passages["camp_id"].nunique()
    assert kept["camp_id"].nunique() < all_camps


def test_status_filter(demo_dataset: Dataset) -> None:
    closed = narrowed(demo_dataset, filters.Filters(statuses=(filters.CLOSED,)))
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, AS_OF, 30)
    assert set(closed["camp_id"]) == set(states.loc[states["closed"], "camp_id"])


def test_filtered_population_is_smaller(demo_dataset: Dataset) -> None:
    days = pd.date_range(pd.Timestamp(TODAY) - pd.Timedelta(days=6), pd.Timestamp(TODAY))
    all_pop = population.estimated_population(demo_dataset.passages, days, 7)["people"]
    some = narrowed(demo_dataset, filters.Filters(arrondissements=("93 Saint-Denis",)))
    part = population.estimated_population(some, days, 7)["people"]
    assert (part < all_pop).all() and (part > 0).all()


def _state(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "camp_id": "A",
        "name": "Camp A",
        "latitude": 48.89,
        "longitude": 2.37,
        "people": 40.0,
        "unaccompanied_minors": 0.0,
        "families": 0.0,
        "children": 0.0,
        "single_women": 0.0,
        "days_since_visit": 0,
        "needs": [],
        "active": True,
    }
    row.update(values)
    return row


def _passage(camp: str, **given: float) -> dict[str, object]:
    date = AS_OF - pd.Timedelta(hours=4)
    row: dict[str, object] = {
        "record_id": f"r{camp}",
        "camp_id": camp,
        "date": date,
        "is_duplicate": False,
        "meals_given": 0.0,
        "tents_given": 0.0,
        "blankets_given": 0.0,
        "hygiene_kits_given": 0.0,
        "clothes_given": 0.0,
    }
    row.update(given)
    return row


def test_hotspot_score_and_reasons() -> None:
    states = pd.DataFrame(
        [
            _state(),
            _state(
                camp_id="B",
                name="Camp B",
                people=42.0,
                unaccompanied_minors=6.0,
                days_since_visit=5,
                needs=["Tentes", "Couvertures/duvets", "Nourriture"],
            ),
        ]
    )
    passages = pd.DataFrame([_passage("A"), _passage("B", meals_given=30.0)])
    scores = hotspots.camp_scores(passages, states, AS_OF, 7, DEFAULT_WEIGHTS)
    assert scores["camp_id"].tolist() == ["B", "A"]
    b = scores.iloc[0]
    # 42 × (1 + 2 × 6/42) × (1 + 0.25 × 2) × (1 + 5/3)
    assert b["score"] == pytest.approx(42 * (1 + 12 / 42) * 1.5 * (1 + 5 / 3), rel=1e-3)
    # the frame holds codes and the figures they quote, not French text
    assert "reasons" not in scores.columns
    assert b["reason_codes"] == ["people", "minors", "days", "unmet"]
    assert hotspots.describe(b["reason_codes"], b["reason_params"]) == (
        "42 personnes dont 6 MNA, aucun passage depuis 5 jours, "
        "besoins non couverts : tentes, couvertures/duvets"
    )
    assert scores.iloc[1]["score"] == pytest.approx(40.0)


def test_hotspots_on_demo_rank_every_active_camp(demo_dataset: Dataset) -> None:
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, AS_OF, 30)
    scores = hotspots.camp_scores(demo_dataset.passages, states, AS_OF, 7, DEFAULT_WEIGHTS)
    assert len(scores) == int((states["active"] & states["people"].gt(0)).sum())
    assert scores["score"].is_monotonic_decreasing
    assert hotspots.reasons(scores).str.contains("personnes").all()
    zones = hotspots.zone_scores(scores, 8)
    assert "reasons" not in zones.columns
    assert hotspots.reasons(zones).str.contains("personnes").all()
    assert zones["score"].sum() == pytest.approx(scores["score"].sum(), rel=1e-6)


# --------------------------------------------------------------------------- URL codes


def test_every_filter_option_has_a_stable_url_safe_code() -> None:
    for param, opts in filters.url_options().items():
        codes = opts.encode(opts.options)
        assert len(set(codes)) == len(opts.options), param
        for code in codes:
            assert re.fullmatch(r"[a-z0-9_-]+", code), (param, code)
        assert opts.decode(codes) == (list(opts.options), []), param


def test_codes_are_the_filter_codes_and_labels_still_read() -> None:
    opts = filters.url_options()
    assert opts["periode"].encode([filters.LAST_MONTH]) == ["mois-dernier"]
    assert opts["periode"].decode(["7 derniers jours", "MOIS DERNIER"]) == (
        ["7j", filters.LAST_MONTH],
        [],
    )
    assert opts["assoc"].decode(["croix-rouge-francaise", "Utopia 56", "ACF?"]) == (
        ["Croix-Rouge française", "Utopia 56"],
        ["ACF?"],
    )
    assert opts["arr"].encode(["93 Saint-Denis", "75019"]) == ["75019", "93-saint-denis"]
    assert opts["statut"].decode(["Sans nouvelles"]) == ([filters.STALE], [])


def test_custom_dates_in_the_url() -> None:
    span = (dt.date(2026, 11, 30), dt.date(2026, 11, 1))
    assert filters.encode_dates(span) == ["2026-11-01", "2026-11-30"]
    assert filters.decode_dates(["2026-11-01", "30/11/2026"]) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert filters.decode_dates(["2026-11-05"]) == (dt.date(2026, 11, 5), dt.date(2026, 11, 5))
    assert filters.decode_dates(["hier"]) is None
    assert filters.decode_dates(["2026-11-01", "2026-11-02", "2026-11-03"]) is None


def test_zones_group_nearby_camps_at_the_configured_scale(
    demo_dataset: Dataset, demo_settings: Settings
) -> None:
    resolution = int(demo_settings["zones.h3_resolution"])
    side_km, _ = zones.zone_size(resolution)
    assert 0.3 <= side_km <= 1.5  # a round on foot: a few hundred metres to about a kilometre
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, AS_OF, 30)
    scores = hotspots.camp_scores(demo_dataset.passages, states, AS_OF, 7, DEFAULT_WEIGHTS)
    table = hotspots.zone_scores(scores, resolution)
    assert table["camps"].sum() == len(scores)
    assert len(table) <= 0.75 * len(scores)  # well below one zone per camp
    assert (table["camps"] >= 2).any()
    in_zone = scores.assign(
        zone=zones.zone_ids(scores["latitude"], scores["longitude"], resolution)
    )
    for row in table.itertuples():
        names = in_zone.loc[in_zone["zone"] == row.zone, "name"].tolist()  # by score
        assert row.camp_names == ", ".join(names) and row.top_camp == names[0]


def test_camp_status_has_one_code_and_keeps_its_french_code_outside() -> None:
    """Inside the program a camp status is the analytics code ("active"); the address,
    the audit log and file names keep the French code they always had ("actif")."""
    assert filters.CAMP_STATUSES == camps.STATUSES
    assert (filters.ACTIVE, filters.CLOSED, filters.STALE) == (
        camps.STATUS_ACTIVE,
        camps.STATUS_CLOSED,
        camps.STATUS_STALE,
    )
    opts = filters.url_options()["statut"]
    old_link = ["actif", "ferme", "sans_nouvelles"]  # what shared links hold
    assert opts.decode(old_link) == (list(camps.STATUSES), [])
    assert opts.encode(camps.STATUSES) == old_link
    assert opts.decode(["Évacué ou vide"]) == ([camps.STATUS_CLOSED], [])


def test_an_old_link_with_the_french_status_selects_the_same_camps(
    demo_dataset: Dataset,
) -> None:
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, AS_OF, 30)
    chosen, _ = filters.url_options()["statut"].decode(["actif"])
    kept = narrowed(demo_dataset, filters.Filters(statuses=tuple(chosen)))
    assert set(kept["camp_id"]) == set(states.loc[states["active"], "camp_id"])
