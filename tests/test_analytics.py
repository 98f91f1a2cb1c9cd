"""Camps, estimated population and dashboard figures, checked against the demo's truth."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from carto import demo
from carto.analytics import camps, figures, population
from carto.dataset import Dataset
from tests.conftest import TODAY


def last_days(n: int) -> pd.DatetimeIndex:
    end = pd.Timestamp(TODAY)
    return pd.date_range(end - pd.Timedelta(days=n - 1), end)


def test_estimated_population_within_5_percent_of_truth(
    demo_dataset: Dataset, demo_base: demo.DemoBase
) -> None:
    days = last_days(30)
    estimate = population.estimated_population(demo_dataset.passages, days, window=7)["people"]
    truth = demo_base.truth.daily_population.rename(index=pd.Timestamp).reindex(days)
    error = (estimate - truth).abs() / truth
    assert error.max() <= 0.05, error.sort_values().tail()


def test_naive_sum_of_passages_is_not(demo_dataset: Dataset, demo_base: demo.DemoBase) -> None:
    days = last_days(30)
    naive = population.naive_population(demo_dataset.passages, days, window=7)
    truth = demo_base.truth.daily_population.rename(index=pd.Timestamp).reindex(days)
    error = (naive - truth).abs() / truth
    assert (error > 0.05).all()
    assert naive.mean() > 1.5 * truth.mean()


def test_camp_assignment_matches_truth(demo_dataset: Dataset, demo_base: demo.DemoBase) -> None:
    """Pairwise F1 of passage → camp grouping against the demo's true camps."""
    p = demo_dataset.passages
    true = p["record_id"].map(demo_base.truth.passage_camp)
    found = p["camp_id"]
    assert found.notna().all()

    def pairs(labels: pd.Series) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for _, idx in labels.groupby(labels).groups.items():
            out.update(itertools.combinations(sorted(idx), 2))
        return out

    t, f = pairs(true), pairs(found)
    precision, recall = len(t & f) / len(f), len(t & f) / len(t)
    assert 2 * precision * recall / (precision + recall) >= 0.95


def test_camp_ids_stable_when_records_reordered(demo_dataset: Dataset) -> None:
    p = demo_dataset.passages
    shuffled = p.sample(frac=1.0, random_state=3)
    again = camps.assign_camps(shuffled, demo_dataset.sites, radius_m=150, gap_days=30)
    assert again.reindex(p.index).equals(p["camp_id"])


def test_duplicates_flagged_and_counted_once(
    demo_dataset: Dataset, demo_base: demo.DemoBase
) -> None:
    p = demo_dataset.passages.set_index("record_id")
    dups = [d for d in demo_base.truth.duplicate_of if d in p.index]
    assert dups, "the demo should contain duplicate submissions"
    originals = [demo_base.truth.duplicate_of[d] for d in dups]
    flagged_pair = p.loc[dups, "is_duplicate"] | p.loc[originals, "is_duplicate"].to_numpy()
    assert flagged_pair.all()
    assert (
        p.loc[dups, "is_duplicate"].to_numpy() != p.loc[originals, "is_duplicate"].to_numpy()
    ).all()


def test_camp_states_one_row_per_camp(demo_dataset: Dataset) -> None:
    as_of = pd.Timestamp(TODAY, tz="Europe/Paris")
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, as_of, active_days=30)
    assert states["camp_id"].is_unique
    assert set(states["camp_id"]) == set(demo_dataset.passages["camp_id"])
    active = states[states["active"]]
    assert len(active) >= 10
    assert (active["days_since_visit"] >= 0).all()
    assert not states.loc[states["closed"], "active"].any()
    assert active["latitude"].between(48.7, 49.0).all()


def test_camp_states_as_of_the_past_ignores_later_passages(demo_dataset: Dataset) -> None:
    past = pd.Timestamp(TODAY, tz="Europe/Paris") - pd.Timedelta(days=60)
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, past, active_days=30)
    assert (states["last_visit"] < past + pd.Timedelta(days=1)).all()


def test_population_counts_camp_once_however_often_visited() -> None:
    def passage(rec: str, day: str, people: float, status: str = "Actif") -> dict[str, object]:
        date = pd.Timestamp(day + " 20:00", tz="Europe/Paris")
        return {
            "record_id": rec,
            "date": date,
            "day": date.tz_localize(None).normalize(),
            "camp_id": "A",
            "people": people,
            "site_status": status,
            "is_duplicate": False,
        }

    frame = pd.DataFrame(
        [
            passage("r1", "2026-11-01", 40),
            passage("r2", "2026-11-01", 44),
            passage("r3", "2026-11-03", 50),
            passage("r4", "2026-11-05", 20, "Évacué"),
        ]
    )
    days = pd.date_range("2026-10-31", "2026-11-14")
    est = population.estimated_population(frame, days, window=7)["people"]
    assert est["2026-10-31"] == 0
    assert est["2026-11-01"] == 44  # the latest count of the day, not 84
    assert est["2026-11-02"] == 44
    assert est["2026-11-04"] == 50
    assert est["2026-11-05"] == 20  # the evacuation day still counts the people evacuated
    assert est["2026-11-06"] == 0
    assert est["2026-11-14"] == 0


def test_population_window_expires_stale_counts() -> None:
    date = pd.Timestamp("2026-11-01 20:00", tz="Europe/Paris")
    frame = pd.DataFrame(
        [
            {
                "record_id": "r1",
                "date": date,
                "day": pd.Timestamp("2026-11-01"),
                "camp_id": "A",
                "people": 30.0,
                "site_status": "Actif",
                "is_duplicate": False,
            }
        ]
    )
    est = population.estimated_population(frame, pd.date_range("2026-11-01", "2026-11-10"), 7)
    assert est.loc["2026-11-07", "people"] == 30
    assert est.loc["2026-11-08", "people"] == 0


def test_figures_for_a_period(demo_dataset: Dataset, demo_base: demo.DemoBase) -> None:
    period = figures.Period.last_days(TODAY, 120)
    services = figures.services_delivered(demo_dataset.passages, period)
    assert services["meals_given"] > 0
    events = figures.evacuation_events(demo_dataset.passages, period)
    summary = figures.evacuation_summary(events)
    truth = demo_base.truth.evacuations
    assert summary["events"].sum() == pytest.approx(len(truth), abs=2)
    assert summary.loc["Évacuation sans solution", "events"] >= 1
    assert summary.loc["Évacuation avec mise à l'abri", "events"] >= 1
    assert (events["without_solution"] >= 0).all()


def test_period_previous() -> None:
    period = figures.Period.last_days(TODAY, 7)
    assert period.start == pd.Timestamp("2026-11-20")
    prev = period.previous()
    assert (prev.start, prev.end) == (pd.Timestamp("2026-11-13"), pd.Timestamp("2026-11-19"))
