"""A partner gets no masked count back by subtraction (complementary suppression).

A partner sees figures that add up: the dashboard's weekly evacuation chart and the
period's totals above it, an evacuation's people and its parts in the events export,
each association's passages per week (dashboard) and per weekday (Coordination), each
camp's passages (camps export) and the dashboard's "Passages". A count hidden as small
("<5") came back by subtracting the other parts from the total.

Here the partner is played for one view (the same filters and period on every page
and export): the test takes what the data layer hands the partner's pages and files,
writes down the sums a reader can see between them (on its own, not from
``carto.complements``), and subtracts until nothing more comes out. No masked figure
may come back exactly, and neither may the sum of several "<5" of one total when it is
itself under 5. Each test fails on the code before complementary suppression (the
evacuation one gives back the sheltered people of an evacuation, then those left
without solution; the passages one gives back a week of an association).

Within a view only: two views with other filters or periods can still be subtracted
from each other (README, "What an attacker can do").
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from carto import complements, privacy, schema
from carto.analytics import events, figures, needs, population, weeks
from carto.dataset import (
    Dataset,
    build_dataset,
    demo_as_of,
    demo_key,
    generate_demo,
    write_demo_snapshot,
)
from carto.export import contents as X
from carto.filters import Filters
from carto.options import AnalysisOptions
from carto.settings import Settings, load_settings
from carto.store import SnapshotStore
from carto.ui import data
from tests.conftest import TODAY, write_demo_config

THRESHOLD = 5
PARTNER = "partenaire"
Key = tuple[Any, ...]


@dataclass
class Reading:
    """What a partner reads off one view: the figures shown, the masked ones (with the
    value they hide, to check a result against), and the sums between them."""

    shown: dict[Key, float] = field(default_factory=dict)
    hidden: dict[Key, float] = field(default_factory=dict)
    sums: list[tuple[Key, list[Key]]] = field(default_factory=list)

    def cell(self, key: Key, value: object, masked: bool, truth: float) -> None:
        if masked:
            self.hidden[key] = truth
        else:
            self.shown[key] = float(value)  # type: ignore[arg-type]

    def add(self, total: Key, parts: Iterable[Key]) -> None:
        self.sums.append((total, list(parts)))


def subtract(reading: Reading) -> list[str]:
    """Every masked figure the sums give back exactly (one unknown left in a sum, again
    and again), and every set of "<5" of one sum whose total comes back under 5."""
    known = dict(reading.shown)
    changed = True
    while changed:
        changed = False
        for total, parts in reading.sums:
            unknown = [k for k in (total, *parts) if k not in known]
            if len(unknown) != 1:
                continue
            (found,) = unknown
            if found == total:
                known[found] = sum(known[p] for p in parts)
            else:
                known[found] = known[total] - sum(known[p] for p in parts if p != found)
            changed = True
    found: dict[Key, set[float]] = {k: {v} for k, v in known.items()}
    for total, parts in reading.sums:  # every other way a sum gives a figure back
        for key in (total, *parts):
            others = [k for k in (total, *parts) if k != key]
            if key in reading.hidden and all(k in known for k in others):
                rest = sum(known[p] for p in parts if p != key)
                found[key].add(rest if key == total else known[total] - rest)
    leaks = [
        f"{key} = {truth:g}"
        for key, truth in reading.hidden.items()
        if any(abs(value - truth) < 1e-6 for value in found.get(key, ()))
    ]
    for total, parts in reading.sums:
        missing = [p for p in parts if p not in known]
        if total not in known or len(missing) < 2:
            continue
        if not all(p in reading.hidden and reading.hidden[p] < THRESHOLD for p in missing):
            continue
        together = known[total] - sum(known[p] for p in parts if p in known)
        if 0 < together < THRESHOLD:
            leaks.append(f"{missing} together = {together:g}")
    return leaks


def solved_by_elimination(reading: Reading) -> list[str]:
    """Every masked figure the sums fix whatever their bounds: any combination of the
    sums (not only one unknown at a time), found by Gaussian elimination."""
    unknown = sorted(
        {k for total, parts in reading.sums for k in (total, *parts) if k not in reading.shown},
        key=repr,
    )
    column = {k: i for i, k in enumerate(unknown)}
    rows: list[list[Fraction]] = []
    for total, parts in reading.sums:
        row = [Fraction(0)] * (len(unknown) + 1)
        for key, sign in ((total, 1), *((p, -1) for p in parts)):
            if key in column:
                row[column[key]] += sign
            else:
                row[-1] -= sign * Fraction(reading.shown[key]).limit_denominator()
        rows.append(row)
    pivots: list[int] = []
    r = 0
    for c in range(len(unknown)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [v / rows[r][c] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                rows[i] = [a - rows[i][c] * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(c)
        r += 1
    leaks = []
    for row, c in zip(rows, pivots, strict=False):
        key = unknown[c]
        if key in reading.hidden and all(v == 0 for i, v in enumerate(row[:-1]) if i != c):
            leaks.append(f"{key} = {float(row[-1]):g} (elimination)")
    return leaks


def nothing_comes_back(reading: Reading) -> None:
    """The view hides small counts, and neither attack gives one back."""
    assert any(0 < v < THRESHOLD for v in reading.hidden.values()), "nothing small to hide"
    assert not subtract(reading)
    assert not solved_by_elimination(reading)


def hidden(frame: pd.DataFrame, column: str) -> pd.Series:
    flag = column + privacy.SUPPRESSED_SUFFIX
    if flag not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[flag].fillna(False).astype(bool)


def opaque(camp_or_event_ids: pd.Series) -> pd.Series:
    """Ids as a partner's files name them."""
    return privacy.hide_record_ids(camp_or_event_ids.to_frame("id"))["id"]


@pytest.fixture(scope="module")
def partner_policy(demo_settings: Settings) -> privacy.Policy:
    return privacy.policy_for(PARTNER, demo_settings)


@pytest.fixture(scope="module")
def opts(demo_settings: Settings) -> AnalysisOptions:
    return AnalysisOptions.from_settings(demo_settings)


def partner_view(
    ds: Dataset, settings: Settings, f: Filters, opts: AnalysisOptions, role: str = PARTNER
) -> tuple[data.View, X.Scope]:
    """The data layer's view of a partner (as ``data.view`` makes it) and its export
    scope; of another ``role`` when given (staff, to compare)."""
    st.cache_data.clear()
    scope = X.scope_for(ds, role, settings, f)
    view = data.View(scope.ds, f, scope.period, scope.passages, scope.policy, opts)
    return view, scope


# ------------------------------------------------------------------ evacuations


@pytest.fixture(scope="module")
def one_small_without_solution(demo_dataset: Dataset) -> Dataset:
    """The demo with one evacuation of 88 people of which 85 were sheltered: 3 left
    without solution, a small count, in a week with another evacuation."""
    ds = demo_dataset
    reports = ds.passages[ds.passages["evacuation"].isin(events.EVACUATION_KINDS)]
    last = reports.sort_values("date").iloc[-1]
    same = (ds.passages["camp_id"] == last["camp_id"]) & (ds.passages["day"] == last["day"])
    passages = ds.passages.assign(
        people=ds.passages["people"].mask(same, 88.0),
        sheltered=ds.passages["sheltered"].mask(same, 85.0),
    )
    return dataclasses.replace(ds, passages=passages, source="test-one-small-without-solution")


def evacuation_reading(view: data.View, scope: X.Scope, opts: AnalysisOptions) -> Reading:
    """The dashboard's evacuation figures and the events export of one view."""
    raw = events.evacuation_events(
        scope.passages, scope.ds.sites, opts.population_window_days, opts.evacuation_merge_days
    )
    found = events.events_in(raw, view.period.start, view.period.end).reset_index(drop=True)
    truth = figures.evacuation_outcomes(found).assign(event_id=opaque(found["event_id"]))
    truth = truth.set_index("event_id")
    reading = Reading()
    shown = data.evacuations(view)
    real = figures.evacuation_totals(found)
    for key in ("people", *figures.OUTCOME_PARTS):
        count = shown.totals[key]
        reading.cell(("total", key), count.value, count.suppressed, float(real[key]))
    reading.add(("total", "people"), [("total", p) for p in figures.OUTCOME_PARTS])
    weekly_truth = figures.weekly_evacuation_outcomes(found).set_index("week")
    for part in figures.OUTCOME_PARTS:
        masked = hidden(shown.weekly, part)
        for i, week in shown.weekly["week"].items():
            value = shown.weekly.at[i, part]
            reading.cell(("week", week, part), value, masked[i], weekly_truth.at[week, part])
        reading.add(("total", part), [("week", w, part) for w in shown.weekly["week"]])
    table = X.build_one(scope, opts, "events").frame
    in_week: dict[Key, list[Key]] = {}
    for i, event in table["event_id"].items():
        row = table.loc[i]
        parts: dict[str, float] = {}
        for part in ("sheltered", "without_solution"):
            masked_part = bool(hidden(table, part)[i])
            value = 0.0 if pd.isna(row[part]) else float(row[part])  # the dashboard counts 0
            reading.cell(("event", event, part), value, masked_part, truth.at[event, part])
            parts[part] = value
        people = 0.0 if pd.isna(row["people"]) else float(row["people"])
        outcome_unknown = pd.isna(row["sheltered"]) and not hidden(table, "sheltered")[i]
        reading.shown[("event", event, "people")] = people
        reading.shown[("event", event, "unknown")] = people if outcome_unknown else 0.0
        cells = [("event", event, p) for p in figures.OUTCOME_PARTS]
        if not pd.isna(row["people"]):
            reading.add(("event", event, "people"), cells)
        monday = weeks.week_start(pd.Series([pd.Timestamp(row["date"])])).iloc[0]
        for part, cell in zip(figures.OUTCOME_PARTS, cells, strict=True):
            in_week.setdefault(("week", monday, part), []).append(cell)
    for total, cells in in_week.items():
        reading.add(total, cells)
    return reading


def test_a_partner_gets_no_evacuation_count_back_by_subtraction(
    one_small_without_solution: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    view, scope = partner_view(
        one_small_without_solution, demo_settings, Filters(period="tout"), opts
    )
    nothing_comes_back(evacuation_reading(view, scope, opts))


def test_an_evacuations_small_part_takes_another_part_with_it(
    one_small_without_solution: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    """The scenario's evacuation (88 people, 3 without solution) shows its people and
    masks both parts in the events export; its week's other evacuation is masked too
    (the week's bar would give the 3 back), while the page keeps its totals and weeks:
    parts are masked before totals. Staff files mask nothing."""
    view, scope = partner_view(
        one_small_without_solution, demo_settings, Filters(period="tout"), opts
    )
    table = X.build_one(scope, opts, "events").frame
    masked = table[hidden(table, "without_solution")]
    small = masked[masked["people"] == 88]
    assert len(small) == 1 and bool(hidden(table, "sheltered")[small.index[0]])
    assert len(masked) == 2  # the other evacuation of its week
    assert not hidden(table, "people").any()
    shown = data.evacuations(view)
    assert not any(shown.totals[k].suppressed for k in ("people", *figures.OUTCOME_PARTS))
    assert not any(hidden(shown.weekly, p).any() for p in figures.OUTCOME_PARTS)
    staff = X.scope_for(one_small_without_solution, "coordinateur", demo_settings, view.filters)
    files = X.build_one(staff, opts, "events").frame
    assert not any(c.endswith(privacy.SUPPRESSED_SUFFIX) for c in files.columns)


def test_a_masked_total_reads_masque_and_shows_no_change(partner_policy: privacy.Policy) -> None:
    hidden_total = privacy.count(124, partner_policy, complement=True)
    assert hidden_total.label == "masqué" and hidden_total.suppressed
    assert privacy.delta(hidden_total, privacy.count(100, partner_policy), partner_policy) is None
    assert privacy.count(3, partner_policy, complement=True).label == "<5"
    assert privacy.count(124, privacy.FULL, complement=True).label == "124"


# --------------------------------------------------------------------- passages


def passage_reading(view: data.View, scope: X.Scope, opts: AnalysisOptions) -> Reading:
    """The dashboard's passages (total, per week and association), Coordination's per
    association and weekday, and the camps export's per camp, of one view."""
    rows = figures.in_period(view.passages, view.period)
    reading = Reading()
    act = data.activity(view)
    reading.cell(("total",), act.passages.now.value, act.passages.now.suppressed, len(rows))
    named = rows[rows["association"].notna()]
    reading.shown[("no association",)] = float(len(rows) - len(named))  # as if known
    per_week = named.groupby([weeks.week_start(named["day"]), "association"]).size()
    weekly = act.weekly_passages
    masked = hidden(weekly, "passages")
    by_association: dict[str, list[Key]] = {}
    for i, (week, name) in weekly[["week", "association"]].iterrows():
        key = ("week", week, name)
        reading.cell(key, weekly.at[i, "passages"], masked[i], per_week[(week, name)])
        by_association.setdefault(name, []).append(key)
    for name, cells in by_association.items():
        reading.add(("association", name), cells)
    reading.add(("total",), [*(("association", a) for a in by_association), ("no association",)])
    per_day = named.groupby(["association", named["day"].dt.day_of_week]).size()
    matrix = data.coverage_of_period(view).weekday_passages
    for name in matrix.index:
        cells = []
        for day in matrix.columns:
            value = matrix.at[name, day]
            key = ("weekday", name, int(day))
            reading.cell(key, value, pd.isna(value), float(per_day.get((name, day), 0)))
            cells.append(key)
        reading.add(("association", name), cells)
    camps = X.build_one(scope, opts, "camps").frame
    per_camp = rows.groupby("camp_id").size()
    per_camp.index = opaque(per_camp.index.to_series()).to_numpy()
    known = view.passages[
        view.passages["date"] < opts.day_start(view.period.end) + pd.Timedelta(1, "D")
    ]
    whole = known[~known["is_duplicate"]].groupby("camp_id").size()
    whole.index = opaque(whole.index.to_series()).to_numpy()
    start = opts.day_start(view.period.start)
    for i, camp in camps["camp_id"].items():
        row = camps.loc[i]
        part, total = ("camp", camp), ("camp whole", camp)
        reading.cell(
            part, row["period_passages"], hidden(camps, "period_passages")[i], per_camp[camp]
        )
        reading.cell(total, row["n_passages"], hidden(camps, "n_passages")[i], whole[camp])
        if pd.Timestamp(row["first_visit"]) >= start:  # nothing before the period
            reading.shown[("camp before", camp)] = 0.0
        reading.add(total, [part, ("camp before", camp)])
    reading.add(("total",), [("camp", c) for c in camps["camp_id"]])
    return reading


@pytest.mark.parametrize("period", ["7j", "tout"])
def test_a_partner_gets_no_passage_count_back_by_subtraction(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions, period: str
) -> None:
    view, scope = partner_view(demo_dataset, demo_settings, Filters(period=period), opts)
    nothing_comes_back(passage_reading(view, scope, opts))


def test_staff_see_every_passage_count(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    view, scope = partner_view(
        demo_dataset, demo_settings, Filters(period="7j"), opts, role="coordinateur"
    )
    act = data.activity(view)
    assert act.passages.now.value == len(figures.in_period(view.passages, view.period))
    assert not act.weekly_passages["passages"].isna().any()
    assert "passages_complement" not in act.weekly_passages.columns
    camps = X.build_one(scope, opts, "camps").frame
    assert not any(c.endswith(privacy.SUPPRESSED_SUFFIX) for c in camps.columns)
    assert np.isfinite(data.coverage_of_period(view).weekday_passages.to_numpy(float)).all()


# ------------------------------------------------------------------ the rule itself


def table_reading(rng: random.Random) -> tuple[dict[Key, float], list[Any]]:
    """A random table of counts (many small ones) with its row, column and grand totals."""
    rows, cols = rng.randint(2, 5), rng.randint(2, 6)
    cells = {
        ("cell", i, j): float(rng.choice([0, 0, 1, 2, 3, 4, 4, 5, 6, 8, 12, 20, 35]))
        for i in range(rows)
        for j in range(cols)
    }
    values: dict[Key, float] = dict(cells)
    sums = []
    for i in range(rows):
        values[("row", i)] = sum(cells[("cell", i, j)] for j in range(cols))
        sums.append(privacy.Sum(("row", i), tuple(("cell", i, j) for j in range(cols))))
    for j in range(cols):
        values[("col", j)] = sum(cells[("cell", i, j)] for i in range(rows))
        sums.append(privacy.Sum(("col", j), tuple(("cell", i, j) for i in range(rows))))
    values[("all",)] = sum(cells.values())
    sums.append(privacy.Sum(("all",), tuple(("row", i) for i in range(rows))))
    sums.append(privacy.Sum(("all",), tuple(("col", j) for j in range(cols))))
    return values, sums


def test_no_masked_cell_of_a_table_comes_back(partner_policy: privacy.Policy) -> None:
    """Random tables with their margins: after ``privacy.complements``, neither
    subtraction nor elimination gives a masked cell back, and several "<5" of a row
    never add up to a small count the row gives away."""
    rng = random.Random(20261207)
    masked_tables = complemented = 0
    for _ in range(300):
        values, sums = table_reading(rng)
        chosen = privacy.complements(values, sums, partner_policy)
        reading = Reading(sums=[(s.total, list(s.parts)) for s in sums])
        for key, value in values.items():
            masked = 0 < value < THRESHOLD or key in chosen
            reading.cell(key, value, masked, value)
        masked_tables += bool(reading.hidden)
        complemented += bool(chosen)
        assert not subtract(reading), (values, chosen)
        assert not solved_by_elimination(reading), (values, chosen)
    assert masked_tables > 250 and complemented > 200  # the check is not vacuous


def test_without_complements_a_table_gives_its_small_counts_back(
    partner_policy: privacy.Policy,
) -> None:
    """The attack finds what only primary suppression leaves (so that the test above
    would catch a rule that masks too little)."""
    rng = random.Random(20261207)
    exposed = 0
    for _ in range(100):
        values, sums = table_reading(rng)
        reading = Reading(sums=[(s.total, list(s.parts)) for s in sums])
        for key, value in values.items():
            reading.cell(key, value, 0 < value < THRESHOLD, value)
        exposed += bool(subtract(reading)) or bool(solved_by_elimination(reading))
    assert exposed > 50


# ------------------------------------------------------------------- population

CAMP_A = {"Latitude": 48.8625, "Longitude": 2.2490}  # Bois de Boulogne
CAMP_B = {"Latitude": 48.8480, "Longitude": 2.2700}  # 2 km away
CAMP_C = {"Latitude": 48.8700, "Longitude": 2.2560}  # 1 km from the first
BOULOGNE = Filters(period="7j", arrondissements=("75016",))


def passage_record(rid: str, when: str, **fields: object) -> dict[str, Any]:
    base = {"Date": when, "Association": "Utopia 56", "Arrondissement": "75016"}
    return {"id": rid, "createdTime": when, "fields": {**base, "Statut du site": "Actif", **fields}}


def evacuated_camp(folder: Path, sheltered: int, second: bool = False) -> tuple[Settings, Dataset]:
    """The demo with two camps in 75016 (88 and 40 people), the first partially evacuated
    four days before the demo's last day: 88 people concerned, ``sheltered`` of them
    sheltered (the review's case: 85, and 3 left without solution, "<5"). With
    ``second``, a third camp of 60 people partially evacuated the day before, 45
    sheltered and 15 left without solution (in the same week)."""
    settings = load_settings(write_demo_config(folder))
    base = generate_demo(settings, TODAY)
    base.passages.extend(
        [
            passage_record(
                "recAAAAAAAAAAAAAA1", "2026-11-20T19:00:00.000Z", Personnes=88, **CAMP_A
            ),
            passage_record(
                "recBBBBBBBBBBBBBB1", "2026-11-20T19:30:00.000Z", Personnes=40, **CAMP_B
            ),
            passage_record(
                "recAAAAAAAAAAAAAA2",
                "2026-11-22T19:00:00.000Z",
                Personnes=88,
                **{"Évacuation": schema.EVACUATION_PARTIAL, "Personnes mises à l'abri": sheltered},
                **CAMP_A,
            ),
        ]
    )
    if second:
        base.passages.extend(
            [
                passage_record(
                    "recCCCCCCCCCCCCCC1", "2026-11-19T19:00:00.000Z", Personnes=60, **CAMP_C
                ),
                passage_record(
                    "recCCCCCCCCCCCCCC2",
                    "2026-11-21T19:00:00.000Z",
                    Personnes=60,
                    **{"Évacuation": schema.EVACUATION_PARTIAL, "Personnes mises à l'abri": 45},
                    **CAMP_C,
                ),
            ]
        )
    now = pd.Timestamp(TODAY, tz="Europe/Paris") + pd.Timedelta(hours=23, minutes=59)
    store = SnapshotStore(settings.store_location)
    write_demo_snapshot(store, base, demo_key(settings, TODAY), demo_as_of(TODAY, now))
    return settings, build_dataset(settings, store, now=now)


def partner_sees(
    ds: Dataset, settings: Settings, f: Filters, opts: AnalysisOptions
) -> dict[str, Any]:
    """What a partner is shown of one view where the population meets the evacuations:
    the events export, the dashboard's and the export's population series, the map's
    people on every day of the period, and the printable summary's population."""
    view, scope = partner_view(ds, settings, f, opts)
    series = data.activity(view).population_series
    days = pd.date_range(view.period.start.date(), view.period.end.date(), freq="D")
    summary = data.summary_figures(view, PARTNER)
    return {
        "events": X.build_one(scope, opts, "events").frame,
        "series": series,
        "export": X.build_one(scope, opts, "population").frame,
        "map": [data.map_figures(view, day.date(), 7).people.label for day in days],
        "summary": (summary.population_end, summary.population_mean, summary.population_peak),
    }


def test_the_population_gives_no_hidden_evacuation_outcome_back(
    tmp_path_factory: pytest.TempPathFactory, opts: AnalysisOptions
) -> None:
    """A partial evacuation of 88 people shows its people and hides its outcome (85
    sheltered "masqué", 3 left without solution "<5"). Whatever the hidden outcome (1 to
    4 left without solution), the partner is shown the same: the events export, and
    every day of the population series (dashboard, export, the map's figure for each
    day, summary), which counted those left at the camp until it was counted again, so
    that the day after the evacuation gave both parts back by subtraction (128 people,
    then 43: 85 sheltered, and 43 − 40 = 3 without solution)."""
    seen = []
    for sheltered in (85, 84, 86, 87):
        settings, ds = evacuated_camp(tmp_path_factory.mktemp("evacuated"), sheltered)
        seen.append(partner_sees(ds, settings, BOULOGNE, opts))
    table = seen[0]["events"]
    assert table["kind"].tolist() == [schema.EVACUATION_PARTIAL]
    assert hidden(table, "without_solution").all() and hidden(table, "sheltered").all()
    for other in seen[1:]:
        for key in ("events", "series", "export"):
            pd.testing.assert_frame_equal(seen[0][key], other[key], obj=key)
        assert seen[0]["map"] == other["map"]
        assert seen[0]["summary"] == other["summary"]


def test_staff_population_counts_those_left_without_solution(
    tmp_path_factory: pytest.TempPathFactory, opts: AnalysisOptions
) -> None:
    """Coordinators see the population as before: the camp keeps its 3 people after
    the evacuation (40 + 3 a day); the partner's rule takes them off."""
    settings, ds = evacuated_camp(tmp_path_factory.mktemp("evacuated"), 85)
    st.cache_data.clear()
    staff = X.scope_for(ds, "coordinateur", settings, BOULOGNE)
    days = population.day_range(staff.period.start, staff.period.end)
    shown = X.build_one(staff, opts, "population").frame.set_index("day")["people"]
    assert shown.loc["2026-11-22"] == 128 and (shown.loc["2026-11-23":] == 43).all()
    full = X.estimate(staff.passages, days, opts)["people"]
    partner_rule = X.estimate(staff.passages, days, opts, privacy.Policy(small_count_threshold=5))
    assert (full - partner_rule["people"]).loc["2026-11-23":].eq(3).all()


def test_an_outcome_the_population_gives_is_never_its_complement(
    tmp_path_factory: pytest.TempPathFactory, opts: AnalysisOptions
) -> None:
    """Two partial evacuations in one week: 60 people with 15 left without solution, and
    the review's 88 with 3 ("<5"). The camp of the first counts its 15 until it is
    counted again, so that the population gives both its parts back (188 people the day
    of its evacuation, 143 the next: 45 sheltered, 15 left). Masking them as the 3's
    complements hid nothing: the week's bar minus them gave the 3 back. Played as in
    the tests above, with those two parts shown, nothing comes back."""
    settings, ds = evacuated_camp(tmp_path_factory.mktemp("evacuated"), 85, second=True)
    view, scope = partner_view(ds, settings, BOULOGNE, opts)
    series = X.build_one(scope, opts, "population").frame.set_index("day")["people"]
    assert series["2026-11-21"] - series["2026-11-22"] == 45
    reading = evacuation_reading(view, scope, opts)
    table = X.build_one(scope, opts, "events").frame
    (told,) = table.loc[table["people"] == 60, "event_id"]
    for part, value in (("sheltered", 45.0), ("without_solution", 15.0)):
        reading.hidden.pop(("event", told, part), None)
        reading.shown[("event", told, part)] = value
    nothing_comes_back(reading)


# ----------------------------------------------------------------- needs plan


# How a figure of the needs plan is rounded from the mean it stands for: what to bring
# is rounded up, the usual delivery half up, the camps (a mean) to a tenth.
def _between(measure: str, shown: float) -> tuple[float, float]:
    """The means a shown figure can stand for (bounds, open or not)."""
    if measure == "need":
        return shown - 1 + 1e-9, shown
    if measure == "camps":
        return shown - 0.05, shown + 0.05 - 1e-9
    return shown - 0.5, shown + 0.5 - 1e-9


def _possible(measure: str, lo: float, hi: float) -> set[float]:
    """The figures the means in [lo, hi] are rounded to."""
    if hi < lo:
        return set()
    if measure == "need":
        return set(range(int(np.ceil(lo - 1e-12)), int(np.ceil(hi - 1e-12)) + 1))
    if measure == "camps":
        tenths = range(int(np.floor(lo * 10 + 0.5)), int(np.floor(hi * 10 + 0.5 - 1e-9)) + 1)
        return {n / 10 for n in tenths}
    return set(range(int(np.floor(lo + 0.5)), int(np.floor(hi + 0.5 - 1e-12)) + 1))


def needs_given_back(view: data.View, weeks_: int) -> tuple[list[str], int]:
    """A partner reads the needs plan under every breakdown (the same view: the
    breakdown is a display choice) and works out each hidden figure from the sums
    between the rows (the total over the arrondissements and over the camps, each
    arrondissement over its camps), knowing how each shown figure was rounded, that
    "<5" is under 5 and "masqué" 5 or more, and that a row left out needs nothing and
    usually gets nothing. The figures it finds exactly, and how many were hidden."""
    plans = {b: data.needs_plan(view, weeks_, b).rows for b in needs.BREAKDOWNS}
    camp_zone = pd.DataFrame(
        {
            "camp": needs.breakdown_labels(view.passages, data.camp_places(view.ds), "camp"),
            "zone": needs.breakdown_labels(
                view.passages, data.camp_places(view.ds), "arrondissement"
            ),
        }
    ).drop_duplicates("camp")
    zone_of = dict(zip(camp_zone["camp"], camp_zone["zone"], strict=True))
    leaks: list[str] = []
    n_hidden = 0
    for measure in ("need", "usual", "camps"):
        lo: dict[Key, float] = {}
        hi: dict[Key, float] = {}
        truth_hidden: dict[Key, str] = {}
        sums: dict[Key, list[Key]] = {}
        for breakdown, rows in plans.items():
            masked = hidden(rows, measure)
            for i in rows.index:
                group = str(rows.at[i, "group"]) if "group" in rows.columns else ""
                key = (breakdown, group, str(rows.at[i, "item"]))
                if not masked[i]:
                    lo[key], hi[key] = _between(measure, float(rows.at[i, measure]))
                elif bool(rows.get(f"{measure}_complement", pd.Series(False)).get(i, False)):
                    lo[key], hi[key] = _between(measure, THRESHOLD)[0], np.inf
                    truth_hidden[key] = "masqué"
                else:
                    lo[key], hi[key] = 1e-9, _between(measure, THRESHOLD)[0] - 1e-9
                    truth_hidden[key] = "<5"
        for item in needs.NEED_ITEMS:
            for breakdown in ("arrondissement", "camp"):
                groups = {k for k in lo if k[0] == breakdown and k[2] == item}
                sums.setdefault(("total", "", item), []).extend(sorted(groups))
            for camp in sorted(k for k in lo if k[0] == "camp" and k[2] == item):
                zone = ("arrondissement", zone_of.get(camp[1], ""), item)
                if zone in lo:
                    sums.setdefault(zone, []).append(camp)
        pairs = []
        for item in needs.NEED_ITEMS:
            for breakdown in ("arrondissement", "camp"):
                parts = [k for k in sums.get(("total", "", item), []) if k[0] == breakdown]
                pairs.append((("total", "", item), parts))
        pairs += [(k, v) for k, v in sums.items() if k[0] == "arrondissement"]
        for _ in range(50):
            changed = False
            for total, parts in pairs:
                if total not in lo or not parts:
                    continue
                missing_camps = measure == "camps"  # rows left out may hold camps
                p_lo = sum(lo[p] for p in parts)
                p_hi = np.inf if missing_camps else sum(hi[p] for p in parts)
                if not missing_camps and p_hi < hi[total] - 1e-12:
                    hi[total], changed = p_hi, True
                if p_lo > lo[total] + 1e-12:
                    lo[total], changed = p_lo, True
                for p in parts:
                    others_lo = p_lo - lo[p]
                    high = hi[total] - others_lo
                    if high < hi[p] - 1e-12:
                        hi[p], changed = high, True
                    if not missing_camps:
                        others_hi = p_hi - hi[p]
                        low = lo[total] - others_hi
                        if low > lo[p] + 1e-12:
                            lo[p], changed = low, True
            if not changed:
                break
        for key, kind in truth_hidden.items():
            n_hidden += 1
            if not np.isfinite(hi[key]):
                continue  # "masqué" and nothing bounds it
            found = _possible(measure, lo[key], hi[key])
            if kind == "<5":
                found = {v for v in found if 0 < v < THRESHOLD}
            else:
                found = {v for v in found if v >= THRESHOLD}
            if len(found) == 1:
                leaks.append(f"{measure} {key} ({kind}) = {found.pop()}")
    return leaks, n_hidden


@pytest.mark.parametrize(
    "f",
    [
        Filters(period="30j"),
        Filters(period="30j", arrondissements=("75012", "75013")),
        Filters(period="7j", arrondissements=("75013", "75019")),
        Filters(period="90j", arrondissements=("93 Pantin", "75010")),
    ],
    ids=["all", "two-arrondissements", "7j", "90j"],
)
def test_a_partner_gets_no_need_back_by_switching_the_breakdown(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions, f: Filters
) -> None:
    """Coordination's needs plan, by total, arrondissement or camp: a group shown "<5"
    came back as the total minus the other groups (the review: 75013's 4 tents, exactly
    with two arrondissements, to ±1 with all). Rounding taken into account, no hidden
    figure of any breakdown comes back."""
    view, _ = partner_view(demo_dataset, demo_settings, f, opts)
    leaks, n_hidden = needs_given_back(view, opts.forecast_weeks)
    assert n_hidden > 0
    assert not leaks


def test_staff_needs_plan_masks_nothing(
    demo_dataset: Dataset, demo_settings: Settings, opts: AnalysisOptions
) -> None:
    view, _ = partner_view(
        demo_dataset, demo_settings, Filters(period="30j"), opts, role="coordinateur"
    )
    for breakdown in needs.BREAKDOWNS:
        rows = data.needs_plan(view, opts.forecast_weeks, breakdown).rows
        assert not any(c.endswith(privacy.COMPLEMENT_SUFFIX) for c in rows.columns)
        assert not rows["need"].isna().any()


def test_needs_complements_close_a_lone_small_group(partner_policy: privacy.Policy) -> None:
    """Three arrondissements of one camp each: the one needing 4 tents takes the
    smallest other with it, under both breakdowns, and only under a threshold."""
    zones = pd.DataFrame(
        {"item": "tents", "group": ["A", "B", "C"], "need": [4.0, 30.0, 9.0], "usual": 0.0}
    ).assign(camps=1.0)
    camps = zones.assign(group=["a", "b", "c"])
    total = pd.DataFrame({"item": ["tents"], "need": [43.0], "usual": [0.0], "camps": [3.0]})
    plans = {"total": total, "arrondissement": zones, "camp": camps}
    zone_of = {"a": "A", "b": "B", "c": "C"}
    found = complements.needs_complements(plans, zone_of, partner_policy)
    assert found.of("arrondissement", "need") == {("C", "tents")}
    assert found.of("camp", "need") == {("c", "tents")}
    assert found.of("total", "need") == frozenset()
    assert complements.needs_complements(plans, zone_of, privacy.FULL).cells == frozenset()
