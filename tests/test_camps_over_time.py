"""Camps over time (issue 8): evacuation events, successors, coverage, needs, alerts.

Checked against the demo's ground truth (its camp ids differ from the app's: each app
camp stands for the true camp holding most of its passages), and on small hand-made
frames for each rule's boundaries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carto import demo, schema
from carto.analytics import (
    alerts,
    camp_tables,
    camps,
    coverage,
    events,
    figures,
    needs,
    places,
    successors,
    zones,
)
from carto.dataset import Dataset, normalise_options
from carto.i18n import t
from carto.normalise import normalise
from carto.options import AnalysisOptions
from carto.settings import Settings
from tests.conftest import TODAY

# The declared defaults of the analysis settings (carto/settings.py).
DEFAULTS = AnalysisOptions.from_settings(Settings({}))

TZ = "Europe/Paris"
NO_SITES = pd.DataFrame(
    {
        "record_id": pd.Series(dtype="str"),
        "name": pd.Series(dtype="str"),
        "latitude": pd.Series(dtype=float),
        "longitude": pd.Series(dtype=float),
        "arrondissement": pd.Series(dtype="str"),
        "type": pd.Series(dtype="str"),
    }
)


# --------------------------------------------------------------------------- helpers


def passage(rec: str, when: str, camp: str = "A", **values: Any) -> dict[str, Any]:
    """One passage row as the data layer holds it (only what the tests need is set)."""
    date = pd.Timestamp(when, tz=TZ)
    row: dict[str, Any] = {
        "record_id": rec,
        "created_time": date,
        "date": date,
        "day": date.tz_localize(None).normalize(),
        "association": "Utopia 56",
        "team": None,
        "site_id": None,
        "latitude": 48.88,
        "longitude": 2.36,
        "position_source": "passage",
        "location_text": None,
        "arrondissement": "75019",
        "people": 20.0,
        **dict.fromkeys(schema.PEOPLE_COUNTS, np.nan),
        "tents": np.nan,
        "needs": [],
        **dict.fromkeys(schema.DISTRIBUTIONS, np.nan),
        "referrals": [],
        "evacuation": None,
        "sheltered": np.nan,
        "site_status": "Actif",
        "comment": None,
        "flag_codes": [],
        "flag_params": [],
        "camp_id": camp,
        "is_duplicate": False,
    }
    row.update(values)
    return row


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame(list(rows))
    for col in ("association", "evacuation", "site_status", "camp_id", "location_text"):
        out[col] = out[col].astype("str")
    for col in ("people", "sheltered", *schema.PEOPLE_COUNTS, *schema.DISTRIBUTIONS):
        out[col] = out[col].astype(float)
    out["is_duplicate"] = out["is_duplicate"].astype(bool)
    return out


def truth_camp_of(passages: pd.DataFrame, truth: demo.GroundTruth) -> pd.Series:
    """Each app camp → the true camp holding most of its passages."""
    true = passages["record_id"].map(truth.passage_camp)
    return true.groupby(passages["camp_id"]).agg(lambda s: s.value_counts().index[0])


def event_scores(
    found: pd.DataFrame, passages: pd.DataFrame, truth: demo.GroundTruth
) -> tuple[float, float]:
    """(precision, recall) of events matched on true camp and date ± 1 day."""
    majority = truth_camp_of(passages, truth)
    got = [
        (majority[c], pd.Timestamp(d)) for c, d in zip(found["camp_id"], found["date"], strict=True)
    ]
    want = [
        (c, pd.Timestamp(d))
        for c, d in zip(truth.evacuations["camp_id"], truth.evacuations["date"], strict=True)
    ]

    def near(a: tuple[str, pd.Timestamp], b: tuple[str, pd.Timestamp]) -> bool:
        return a[0] == b[0] and abs((a[1] - b[1]).days) <= 1

    precision = sum(any(near(g, w) for w in want) for g in got) / max(len(got), 1)
    recall = sum(any(near(w, g) for g in got) for w in want) / max(len(want), 1)
    return precision, recall


def link_scores(
    links: pd.DataFrame, passages: pd.DataFrame, truth: demo.GroundTruth
) -> tuple[int, int, int]:
    """(true links found, true links, links found) on true camp ids."""
    majority = truth_camp_of(passages, truth)
    found = {
        (majority[p], majority[s])
        for p, s in zip(links["predecessor_id"], links["successor_id"], strict=True)
    }
    true = {
        (p, c)
        for c, p in zip(truth.camps["camp_id"], truth.camps["predecessor"], strict=True)
        if p is not None
    }
    return len(found & true), len(true), len(found)


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- demo truth


def test_evacuation_events_match_truth(demo_dataset: Dataset, demo_base: demo.DemoBase) -> None:
    found = events.evacuation_events(
        demo_dataset.passages,
        demo_dataset.sites,
        DEFAULTS.population_window_days,
        DEFAULTS.evacuation_merge_days,
    )
    precision, recall = event_scores(found, demo_dataset.passages, demo_base.truth)
    assert f1(precision, recall) >= 0.9, (precision, recall)
    assert found["event_id"].is_unique
    assert not found.duplicated(["camp_id", "date"]).any()
    truth = demo_base.truth.evacuations
    # An evacuation a report counted is exact; one only a later status tells of (the
    # demo has one) takes the camp's latest count before, a few percent off.
    majority = truth_camp_of(demo_dataset.passages, demo_base.truth)
    reported = found["people_source"] == events.PEOPLE_REPORTED
    assert (~reported).sum() >= 1 and found.loc[~reported, "kind"].isna().all()
    told = {
        (majority[c], pd.Timestamp(d))
        for c, d in found.loc[reported, ["camp_id", "date"]].to_numpy()
    }
    exact = [(c, pd.Timestamp(d)) in told for c, d in truth[["camp_id", "date"]].to_numpy()]
    assert found.loc[reported, "people"].sum() == truth.loc[exact, "people"].sum()
    assert (
        found.loc[reported, "without_solution"].sum() == truth.loc[exact, "without_solution"].sum()
    )
    assert found["people"].sum() == pytest.approx(truth["people"].sum(), rel=0.02)
    assert found["name"].notna().all() and found["latitude"].between(48.7, 49.0).all()


def test_successor_links_recall(demo_dataset: Dataset, demo_base: demo.DemoBase) -> None:
    p, s = demo_dataset.passages, demo_dataset.sites
    ev = events.evacuation_events(
        p, s, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    links = successors.successor_links(places.camp_places(p, s), ev, 600, 14)
    hits, true, found = link_scores(links, p, demo_base.truth)
    assert true >= 2
    assert hits / true >= 0.8, (hits, true, found)
    assert links["successor_id"].is_unique
    assert (links["distance_m"] <= 600).all() and links["delay_days"].between(0, 14).all()


@pytest.mark.parametrize("seed", [3, 11])
def test_events_and_successors_on_other_demo_worlds(demo_settings: Settings, seed: int) -> None:
    """Longer demo histories with other seeds: more evacuations, same targets."""
    base = demo.generate(seed=seed, days=240, today=TODAY)
    now = pd.Timestamp(TODAY, tz=TZ) + pd.Timedelta(hours=23)
    data = normalise(base.sites, base.passages, normalise_options(demo_settings, now))
    p = camps.with_camps(data.passages, data.sites, radius_m=150, gap_days=30)
    ev = events.evacuation_events(
        p, data.sites, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    assert f1(*event_scores(ev, p, base.truth)) >= 0.9
    links = successors.successor_links(places.camp_places(p, data.sites), ev, 600, 14)
    hits, true, _ = link_scores(links, p, base.truth)
    assert hits / true >= 0.8


def test_camp_datasets(demo_dataset: Dataset) -> None:
    built = camp_tables.camp_tables(
        demo_dataset.passages,
        demo_dataset.sites,
        TODAY,
        active_days=30,
        count_window_days=7,
        successor_distance_m=600,
        successor_days=14,
        timezone=DEFAULTS.timezone,
        merge_days=DEFAULTS.evacuation_merge_days,
    )
    camps_ds, events_ds = built.camps, built.events
    assert list(camps_ds.columns) == camp_tables.CAMP_COLUMNS
    assert camps_ds["camp_id"].is_unique
    assert set(camps_ds["camp_id"]) == set(demo_dataset.passages["camp_id"])
    assert set(camps_ds["status"]) <= {"active", "closed", "stale"}
    assert (camps_ds["status"] == "active").sum() >= 10
    for _, link in built.links.iterrows():
        row = camps_ds.set_index("camp_id").loc[link["successor_id"]]
        assert row["predecessor_id"] == link["predecessor_id"]
        pred = camps_ds.set_index("camp_id").loc[link["predecessor_id"]]
        assert link["successor_id"] in pred["successor_ids"]
        assert successors.camp_chain(built.links, link["successor_id"])[0] == link["predecessor_id"]
    assert camps_ds["evacuations"].sum() == len(events_ds)
    assert "successor_ids" in events_ds.columns
    # The events frame feeds the summary by kind unchanged (an evacuation only a site
    # status reported has no kind).
    summary = figures.evacuation_summary(events_ds)
    assert summary["events"].sum() == events_ds["kind"].notna().sum()


def test_demo_coverage_needs_alerts_run(demo_dataset: Dataset) -> None:
    p, s = demo_dataset.passages, demo_dataset.sites
    pairs = coverage.duplicate_visits(p, hours=4)
    assert len(pairs) > 0
    assert (pairs["first_association"] != pairs["second_association"]).all()
    assert (pairs["hours_apart"] <= 4).all()
    table = coverage.who_covers_what(p)
    matrix = coverage.weekday_matrix(table, "passages")
    assert matrix.loc["Croix-Rouge française", [0, 2, 4, 6]].sum() == 0  # Tue, Thu, Sat only
    weekly = needs.weekly_needs(p)
    assert set(weekly["item"]) == set(needs.NEED_ITEMS)
    forecast = needs.needs_forecast(weekly, TODAY, weeks=4)
    assert (forecast["weeks_used"] == 4).all() and forecast["delivered"].gt(0).all()
    now = pd.Timestamp(TODAY, tz=TZ) + pd.Timedelta(hours=23, minutes=59)
    found = alerts.protection_alerts(p, s, now, hours=48)
    assert alerts.alert_count(found) == len(found) > 0
    states = camps.camp_states(p, s, pd.Timestamp(TODAY, tz=TZ), active_days=30)
    zone_table = zones.zone_coverage(states, resolution=9, gap_days=3)
    assert zone_table["camps"].sum() == states["active"].sum()


# --------------------------------------------------------------------------- events


def test_a_partial_evacuation_reported_again_the_next_day_is_one_event() -> None:
    """The people left are seen that evening; another association reports the same
    partial evacuation the next day (issue 20)."""
    partial = {"evacuation": schema.EVACUATION_PARTIAL, "people": 80, "sheltered": 30}
    p = frame(
        passage("r0", "2026-11-02 20:00", people=80),
        passage("r1", "2026-11-03 07:00", **partial),
        passage("r2", "2026-11-03 21:00", people=48, site_status="Actif"),
        passage("r3", "2026-11-04 20:00", association="Croix-Rouge française", **partial),
    )
    found = events.evacuation_events(
        p, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    assert len(found) == 1 and found.iloc[0]["reports"] == 2


def test_a_report_after_midnight_is_dated_by_its_round() -> None:
    p = frame(
        passage("r0", "2026-11-02 20:00", people=50),
        passage("r1", "2026-11-04 00:30", people=0, site_status="Évacué"),  # round of the 3rd
    )
    found = events.evacuation_events(
        p, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    assert found["date"].tolist() == [pd.Timestamp("2026-11-03")]


def test_several_reports_of_one_evacuation_make_one_event() -> None:
    p = frame(
        passage("r0", "2026-11-01 20:00", people=60, unaccompanied_minors=5),
        passage(
            "r1",
            "2026-11-03 06:30",
            evacuation=schema.EVACUATION_PARTIAL,
            people=55,
            sheltered=20,
            site_status="Évacué",
        ),
        passage(
            "r2",
            "2026-11-03 07:10",
            association="Croix-Rouge française",
            evacuation=schema.EVACUATION_SHELTERED,
            people=58,
            sheltered=25,
        ),
        passage("r3", "2026-11-04 20:00", people=0, site_status="Démantelé"),
        passage("r4", "2026-11-06 20:00", people=0, site_status="Vide"),
        passage("r5", "2026-11-09 21:00", people=0, site_status="Démantelé"),
    )
    found = events.evacuation_events(
        p, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    assert len(found) == 1
    ev = found.iloc[0]
    assert ev["date"] == pd.Timestamp("2026-11-03")
    assert ev["event_id"] == "A@2026-11-03"
    assert ev["people"] == 58 and ev["sheltered"] == 25 and ev["without_solution"] == 33
    assert ev["kind"] == schema.EVACUATION_SHELTERED  # the latest explicit report
    assert ev["shelter"] == "partial" and ev["shelter_offered"]
    assert ev["reports"] == 4
    assert ev["associations"] == "Croix-Rouge française, Utopia 56"
    assert ev["unaccompanied_minors"] == 5  # from the count before the evacuation
    assert ev["name"] == "Campement sans nom 75019"


def test_camp_evacuated_again_after_re_forming_is_a_second_event() -> None:
    p = frame(
        passage("r1", "2026-11-01 07:00", evacuation=schema.EVACUATION_NO_SOLUTION, people=30),
        passage("r2", "2026-11-05 20:00", people=12),  # people are back
        passage("r3", "2026-11-10 07:00", people=0, site_status="Démantelé"),
        passage("r4", "2026-11-20 07:00", evacuation=schema.EVACUATION_NO_SOLUTION, people=9),
    )
    found = events.evacuation_events(
        p, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    days = ("2026-11-01", "2026-11-10", "2026-11-20")
    assert list(found["date"]) == [pd.Timestamp(d) for d in days]
    first, second = found.iloc[0], found.iloc[1]
    assert first["sheltered"] == 0 and first["shelter"] == "none"  # sans solution, none given
    assert not first["shelter_offered"]
    # A status-only report: people from the latest count, kind and shelter unknown.
    assert second["people"] == 12 and second["people_source"] == "last_count"
    assert pd.isna(second["kind"]) and pd.isna(second["shelter_offered"])


def test_explicit_report_merges_within_merge_days_only() -> None:
    evac = {"evacuation": schema.EVACUATION_NO_SOLUTION, "people": 10, "site_status": "Évacué"}
    p = frame(
        passage("r1", "2026-11-01 07:00", **evac),
        passage("r2", "2026-11-02 21:00", association="Autre", **evac),
        passage("r3", "2026-11-04 07:00", **evac),
    )
    assert (
        len(events.evacuation_events(p, NO_SITES, DEFAULTS.population_window_days, merge_days=1))
        == 2
    )
    assert (
        len(events.evacuation_events(p, NO_SITES, DEFAULTS.population_window_days, merge_days=3))
        == 1
    )
    assert (
        len(events.evacuation_events(p, NO_SITES, DEFAULTS.population_window_days, merge_days=0))
        == 3
    )


def test_no_evacuation_no_event_and_duplicates_ignored() -> None:
    p = frame(passage("r1", "2026-11-01 20:00"), passage("r2", "2026-11-02 20:00"))
    assert events.evacuation_events(
        p, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    ).empty
    dup = frame(
        passage("r1", "2026-11-01 20:00", evacuation=schema.EVACUATION_SHELTERED, is_duplicate=True)
    )
    found = events.evacuation_events(
        dup, NO_SITES, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    )
    assert found.empty and list(found.columns) == events.EVENT_COLUMNS


def test_shelter_code() -> None:
    nan = float("nan")
    assert events.shelter_code(schema.EVACUATION_SHELTERED, 10, 10) == "all"
    assert events.shelter_code(schema.EVACUATION_SHELTERED, 10, 4) == "partial"
    assert events.shelter_code(schema.EVACUATION_PARTIAL, 10, 0) == "none"
    assert events.shelter_code(schema.EVACUATION_SHELTERED, nan, nan) == "all"
    assert events.shelter_code(None, 10, nan) is None


def test_event_place_comes_from_site() -> None:
    sites = pd.DataFrame(
        {
            "record_id": ["recS1"],
            "name": ["Pont de Flandre"],
            "latitude": [48.8917],
            "longitude": [2.3794],
            "arrondissement": ["75019"],
            "type": ["Pont/tunnel"],
        }
    ).astype({"record_id": "str", "name": "str", "arrondissement": "str", "type": "str"})
    p = frame(
        passage(
            "r1",
            "2026-11-01 07:00",
            camp="S-recS1",
            site_id="recS1",
            arrondissement=None,
            evacuation=schema.EVACUATION_SHELTERED,
            people=10,
            sheltered=10,
        )
    )
    ev = events.evacuation_events(
        p, sites, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
    ).iloc[0]
    assert (ev["name"], ev["arrondissement"], ev["site_type"]) == (
        "Pont de Flandre",
        "75019",
        "Pont/tunnel",
    )
    assert (ev["latitude"], ev["longitude"]) == (48.8917, 2.3794)


# --------------------------------------------------------------------------- successors


def _places(rows: list[tuple[str, float, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "latitude": [r[1] for r in rows],
            "longitude": [r[2] for r in rows],
            "first_visit": pd.to_datetime([r[3] for r in rows]).tz_localize(TZ),
        },
        index=pd.Index([r[0] for r in rows], dtype="str", name="camp_id"),
    )


def _events(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    dates = pd.to_datetime([r[1] for r in rows])
    return pd.DataFrame(
        {
            "event_id": [f"{r[0]}@{r[1][:10]}" for r in rows],
            "camp_id": [r[0] for r in rows],
            "date": dates.normalize(),
            "first_report": dates.tz_localize(TZ),
            "latitude": [r[2] for r in rows],
            "longitude": [r[3] for r in rows],
        }
    )


M_LAT = 1 / 111_195  # degrees of latitude per metre


def test_successor_distance_and_delay_boundaries() -> None:
    lat, lon = 48.88, 2.36
    pl = _places(
        [
            ("A", lat, lon, "2026-10-01 20:00"),
            ("near", lat + 500 * M_LAT, lon, "2026-11-10 20:00"),
            ("far", lat - 700 * M_LAT, lon, "2026-11-03 20:00"),
            ("late", lat, lon + 0.004, "2026-11-16 20:00"),  # 293 m, 15 days after
            ("before", lat, lon - 0.004, "2026-10-31 20:00"),  # already there
            ("day14", lat + 200 * M_LAT, lon + 0.002, "2026-11-15 22:00"),
        ]
    )
    ev = _events([("A", "2026-11-01 07:00", lat, lon)])
    links = successors.successor_links(pl, ev, distance_m=600, days=14)
    assert set(links["successor_id"]) == {"near", "day14"}
    assert (links["predecessor_id"] == "A").all()
    near = links.set_index("successor_id").loc["near"]
    assert near["delay_days"] == 9 and near["distance_m"] == pytest.approx(500, abs=2)
    assert near["event_id"] == "A@2026-11-01"


def test_successor_takes_nearest_evacuated_camp_and_chain() -> None:
    lat, lon = 48.88, 2.36
    pl = _places(
        [
            ("A", lat, lon, "2026-09-01 20:00"),
            ("B", lat + 400 * M_LAT, lon, "2026-09-01 20:00"),
            ("C", lat + 350 * M_LAT, lon, "2026-11-05 20:00"),  # 350 m from A, 50 m from B
            ("D", lat + 800 * M_LAT, lon, "2026-11-25 20:00"),  # 450 m from C
            ("E", lat + 350 * M_LAT, lon + 0.006, "2026-11-26 20:00"),  # 439 m from C
        ]
    )
    ev = _events(
        [
            ("A", "2026-11-01 07:00", lat, lon),
            ("B", "2026-11-02 07:00", lat + 400 * M_LAT, lon),
            ("C", "2026-11-20 07:00", lat + 350 * M_LAT, lon),
        ]
    )
    links = successors.successor_links(pl, ev, distance_m=600, days=14)
    pred = links.set_index("successor_id")["predecessor_id"].to_dict()
    assert pred == {"C": "B", "D": "C", "E": "C"}
    assert successors.camp_chain(links, "C") == ["B", "C", "D", "E"]
    assert successors.camp_chain(links, "B") == ["B", "C", "D", "E"]
    assert successors.camp_chain(links, "D") == ["B", "C", "D"]
    assert successors.camp_chain(links, "A") == ["A"]
    table = successors.chain_table(links, pl.reset_index(), "D")
    assert list(table["camp_id"]) == ["B", "C", "D"]
    assert pd.isna(table.loc[0, "distance_m"]) and table.loc[2, "distance_m"] > 0


def test_no_events_no_links() -> None:
    pl = _places([("A", 48.88, 2.36, "2026-09-01 20:00")])
    links = successors.successor_links(pl, _events([]), 600, 14)
    assert links.empty and list(links.columns) == successors.LINK_COLUMNS
    assert successors.camp_chain(links, "A") == ["A"]


# --------------------------------------------------------------------------- coverage


def test_coverage_gap_boundary() -> None:
    p = frame(
        passage("r1", "2026-11-23 20:00", camp="three"),  # 3 days before as_of: not a gap
        passage("r2", "2026-11-22 20:00", camp="four"),  # 4 days: a gap
        passage("r3", "2026-11-20 20:00", camp="closed", site_status="Vide", people=0),
        passage("r4", "2026-11-26 20:00", camp="today"),
    )
    states = camps.camp_states(p, NO_SITES, pd.Timestamp("2026-11-26", tz=TZ), active_days=30)
    gaps = coverage.coverage_gaps(states, gap_days=3)
    assert list(gaps["camp_id"]) == ["four"]
    assert list(coverage.coverage_gaps(states, gap_days=2)["camp_id"]) == ["four", "three"]


def test_duplicate_visits_across_associations_only() -> None:
    p = frame(
        passage("a1", "2026-11-02 19:00", association="Utopia 56", blankets_given=10),
        passage(
            "a2",
            "2026-11-02 21:00",
            association="Croix-Rouge française",
            blankets_given=4,
            meals_given=30,
            hygiene_kits_given=5,
        ),
        passage("a3", "2026-11-02 22:00", association="Croix-Rouge française"),  # same as a2
        passage("b1", "2026-11-03 19:00", camp="B", association="Utopia 56"),
        passage("b2", "2026-11-03 23:00", camp="B", association="Action contre la Faim"),
        passage("c1", "2026-11-04 19:00", camp="C", association="Utopia 56"),
        passage("c2", "2026-11-04 23:01", camp="C", association="Action contre la Faim"),
        passage("d1", "2026-11-05 19:00", camp="D", association="Utopia 56"),
        passage("d2", "2026-11-05 19:30", camp="E", association="Action contre la Faim"),
        passage("e1", "2026-11-05 20:00", camp="E", association="Utopia 56", is_duplicate=True),
    )
    pairs = coverage.duplicate_visits(p, hours=4)
    got = {(r.first_record, r.second_record) for r in pairs.itertuples()}
    assert got == {("a1", "a2"), ("a1", "a3"), ("b1", "b2")}  # 4 h exactly counts
    a = pairs.set_index(["first_record", "second_record"]).loc[("a1", "a2")]
    assert a["blankets_given_twice"] == 4 and a["meals_given_twice"] == 0
    assert a["items_twice"] == ["blankets_given"]
    assert a["hours_apart"] == 2
    totals = coverage.items_distributed_twice(pairs)
    assert totals["blankets_given"] == 4 and totals["hygiene_kits_given"] == 0
    assert coverage.duplicate_visits(p.iloc[:0], hours=4).empty


def test_who_covers_what_by_weekday() -> None:
    p = frame(
        passage("r1", "2026-11-02 20:00", camp="A"),  # Monday
        passage("r2", "2026-11-02 21:00", camp="B"),
        passage("r3", "2026-11-09 20:00", camp="A"),  # Monday
        passage("r4", "2026-11-04 20:00", camp="A", association="Action contre la Faim"),
        passage("r5", "2026-11-08 20:00", camp="C", association="Autre"),  # Sunday
    )
    table = coverage.who_covers_what(p)
    assert len(table) == 3 * 7
    row = table.set_index(["association", "weekday"]).loc[("Utopia 56", 0)]
    assert (row["passages"], row["camps"], row["evenings"]) == (3, 2, 2)
    assert row["passages_per_evening"] == 1.5
    matrix = coverage.weekday_matrix(table, "passages")
    assert list(matrix.index) == ["Utopia 56", "Action contre la Faim", "Autre"]
    assert matrix.loc["Action contre la Faim", 2] == 1 and matrix.loc["Autre", 6] == 1
    assert matrix.to_numpy().sum() == 5
    by_camp = coverage.camp_weekday_coverage(p)
    assert by_camp.loc["A", 0] == "Utopia 56"
    assert by_camp.loc["A", 2] == "Action contre la Faim"
    assert by_camp.loc["B", 1] == ""


def test_zone_coverage() -> None:
    p = frame(
        passage("r1", "2026-11-20 20:00", camp="A", latitude=48.88, longitude=2.36),
        passage("r2", "2026-11-25 20:00", camp="B", latitude=48.8801, longitude=2.3601),
        passage("r3", "2026-11-20 20:00", camp="C", latitude=48.90, longitude=2.40),
    )
    states = camps.camp_states(p, NO_SITES, pd.Timestamp("2026-11-26", tz=TZ), active_days=30)
    table = zones.zone_coverage(states, resolution=9, gap_days=3)
    assert len(table) == 2
    shared = table[table["camps"] == 2].iloc[0]
    assert shared["days_since_visit"] == 1 and not shared["gap"]
    alone = table[table["camps"] == 1].iloc[0]
    assert alone["days_since_visit"] == 6 and alone["gap"]
    assert table.iloc[0]["zone"] == alone["zone"]  # longest wait first


# --------------------------------------------------------------------------- needs


def test_weekly_needs_counts_camps_once() -> None:
    blankets = ["Couvertures/duvets"]
    p = frame(
        passage("r1", "2026-11-02 20:00", camp="A", needs=blankets, people=30),
        passage("r2", "2026-11-04 20:00", camp="A", needs=blankets, people=34),
        passage("r3", "2026-11-04 21:00", camp="B", needs=[*blankets, "Tentes"], people=10),
        passage("r4", "2026-11-05 21:00", camp="B", blankets_given=8),
        passage("r5", "2026-11-16 21:00", camp="B", blankets_given=2),
    )
    weekly = needs.weekly_needs(p).set_index(["item", "week"])
    week = pd.Timestamp("2026-11-02")
    row = weekly.loc[("blankets", week)]
    assert (row["reports"], row["camps"], row["people"], row["delivered"]) == (3, 2, 44, 8)
    assert weekly.loc[("tents", week), "people"] == 10
    assert weekly.loc[("blankets", pd.Timestamp("2026-11-09")), "reports"] == 0  # empty week
    assert weekly.loc[("blankets", pd.Timestamp("2026-11-16")), "delivered"] == 2
    assert weekly.loc[("meals", week), "iso_week"] == "2026-W45"


def test_weekly_needs_of_a_period_without_passages_are_zeros() -> None:
    # Filters matching nothing (issue 14, item 9): the dashboard asked for the weeks of
    # its period and crashed with KeyError: 'people'.
    p = frame(passage("r1", "2026-11-02 20:00", camp="A", needs=["Tentes"], people=30))
    start, end = pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-29")
    for passages in (p, p.iloc[0:0]):
        weekly = needs.weekly_needs(passages, start, end)
        assert len(weekly) == 2 * len(needs.NEED_ITEMS)
        assert (weekly[list(needs.MEASURES)] == 0).all().all()
    forecast = needs.needs_forecast(needs.weekly_needs(p.iloc[0:0]), dt.date(2026, 11, 26), 4)
    assert forecast["weeks_used"].eq(0).all()


def test_forecast_is_mean_of_last_complete_weeks() -> None:
    mondays = pd.date_range("2026-10-19", periods=6, freq="7D")  # ... up to 2026-11-23
    values = [99.0, 10.0, 20.0, 30.0, 40.0, 500.0]  # the last week is still running
    weekly = pd.DataFrame(
        {
            "week": list(mondays) * len(needs.NEED_ITEMS),
            "item": [i for i in needs.NEED_ITEMS for _ in mondays],
            **{m: values * len(needs.NEED_ITEMS) for m in needs.MEASURES},
        }
    )
    thursday = dt.date(2026, 11, 26)
    forecast = needs.needs_forecast(weekly, thursday, weeks=3).set_index("item")
    assert forecast.loc["tents", "delivered"] == 30  # mean of 20, 30, 40
    assert forecast.loc["tents", "last_delivered"] == 40
    assert forecast.loc["tents", "week"] == pd.Timestamp("2026-11-30")
    assert forecast.loc["tents", "iso_week"] == "2026-W49"
    assert forecast.loc["tents", "weeks_used"] == 3
    sunday = dt.date(2026, 11, 29)  # the week is complete on its Sunday
    assert needs.needs_forecast(weekly, sunday, 3).set_index("item").loc["meals", "people"] == 190
    early = needs.needs_forecast(weekly, dt.date(2026, 10, 27), 3).set_index("item")
    assert early.loc["blankets", "weeks_used"] == 1 and early.loc["blankets", "reports"] == 99
    assert "4 dernières semaines" in needs.forecast_method(4)


# --------------------------------------------------------------------------- alerts


NOW = pd.Timestamp("2026-11-26 22:00", tz=TZ)


def test_alert_window_boundary() -> None:
    p = frame(
        passage("r1", "2026-11-24 22:00", camp="edge", unaccompanied_minors=3),  # exactly 48 h
        passage("r2", "2026-11-24 21:59", camp="old", families=2),  # 48 h and 1 min
        passage("r3", "2026-11-26 20:00", camp="fam", families=2, children=3),
        passage("r4", "2026-11-26 20:00", camp="none", unaccompanied_minors=0, families=0),
        passage("r5", "2026-11-26 22:30", camp="later", unaccompanied_minors=1),  # after now
    )
    found = alerts.protection_alerts(p, NO_SITES, NOW, hours=48)
    assert set(found["camp_id"]) == {"edge", "fam"}
    assert alerts.alert_count(found) == 2
    reasons = found.set_index("camp_id")["reasons"]
    assert reasons["edge"] == ["minors"] and reasons["fam"] == ["families"]
    assert list(found["camp_id"]) == ["edge", "fam"]  # most minors and families first


def test_alert_cleared_by_sheltering_after_the_report() -> None:
    minors = {"unaccompanied_minors": 4}
    p = frame(
        passage("a1", "2026-11-25 20:00", camp="sheltered", **minors),
        passage(
            "a2",
            "2026-11-26 07:00",
            camp="sheltered",
            evacuation=schema.EVACUATION_SHELTERED,
            sheltered=20,
        ),
        passage("b1", "2026-11-25 07:00", camp="again", sheltered=5),
        passage("b2", "2026-11-25 20:00", camp="again", **minors),
        passage(
            "c1",
            "2026-11-26 07:00",
            camp="no_solution",
            evacuation=schema.EVACUATION_NO_SOLUTION,
            sheltered=0,
            **minors,
        ),
    )
    found = alerts.protection_alerts(p, NO_SITES, NOW, hours=48)
    assert set(found["camp_id"]) == {"again", "no_solution"}
    assert alerts.protection_alerts(p.iloc[:0], NO_SITES, NOW, 48).empty


def test_catalogue_has_the_labels_used() -> None:
    for d in coverage.WEEKDAYS:
        assert t(f"weekday.{d}")
    for item in needs.NEED_ITEMS:
        assert t(f"needs.item.{item}")
    for code in ("all", "partial", "none", "unknown"):
        assert t(f"event.shelter.{code}")
    for code in camps.STATUSES:
        assert t(f"camp.status.{code}")
    for code in (alerts.REASON_MINORS, alerts.REASON_FAMILIES):
        assert t(f"alert.reason.{code}")
    for code in (events.PEOPLE_REPORTED, events.PEOPLE_LAST_COUNT):
        assert t(f"event.people_source.{code}")
