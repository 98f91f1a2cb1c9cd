"""Issue 13, the coordinator's questions on the Tableau de bord: changes against the
previous period only when there is one, weeks cut by the period marked as partial,
date axes that never write a date twice, a needs axis that says what it counts, and
evacuation figures that add up."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carto.analytics import events, figures, weeks
from carto.dataset import Dataset
from carto.i18n import t
from carto.ui import charts
from testing.app import metric_int, run_page

DAY = pd.Timedelta(days=1)


# ------------------------------------------------------------------ comparisons


def test_comparison_gap_reasons() -> None:
    period = figures.Period(pd.Timestamp("2026-11-20"), pd.Timestamp("2026-11-26"))
    first = pd.Timestamp("2026-08-01")
    assert figures.comparison_gap(period, False, first, 120) is None
    assert figures.comparison_gap(period, True, first, 120) == figures.WHOLE_HISTORY
    assert figures.comparison_gap(period, False, first, 0) == figures.PREVIOUS_EMPTY
    # the data start on Nov 16, the previous period (13–19) only partly covered
    late = pd.Timestamp("2026-11-16")
    assert figures.comparison_gap(period, False, late, 30) == figures.PREVIOUS_PARTIAL
    assert figures.comparison_gap(period, False, pd.Timestamp("2026-11-13"), 30) is None


def _deltas(at: Any) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric if m.delta}


def test_whole_history_shows_no_change_against_a_previous_period(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    assert _deltas(at), "the default period is compared with the one before"
    assert not [c for c in at.caption if "aucune période précédente" in c.value]
    at.sidebar.selectbox(key="periode").set_value("tout").run()
    assert not at.exception
    assert metric_int(at, t("dash.passages")) > 0
    assert _deltas(at) == {}  # no "↑1 062 par rapport à la période précédente"
    assert any(c.value == t("dash.no_comparison.whole_history") for c in at.caption)


def test_a_custom_period_starting_with_the_data_has_no_change(
    app_config: Path, demo_dataset: Dataset
) -> None:
    at = run_page("pages/tableau_de_bord.py")
    at.sidebar.selectbox(key="periode").set_value("perso").run()
    first = at.sidebar.date_input(key="dates").min
    at.sidebar.date_input(key="dates").set_value((first, first + 20 * DAY)).run()
    assert not at.exception
    assert _deltas(at) == {}
    assert any("Aucune comparaison" in c.value for c in at.caption)


# -------------------------------------------------------------------- weeks


def test_week_start_of_naive_and_aware_days() -> None:
    naive = pd.Series(pd.to_datetime(["2026-11-23", "2026-11-29", "2026-11-30"]))
    assert weeks.week_start(naive).dt.strftime("%d/%m").tolist() == ["23/11", "23/11", "30/11"]
    aware = pd.Series(pd.to_datetime(["2026-11-29 23:30"]).tz_localize("Europe/Paris"))
    assert weeks.week_start(aware).iloc[0] == pd.Timestamp("2026-11-23")


def test_week_spans_mark_the_cut_weeks() -> None:
    spans = weeks.week_spans(pd.Timestamp("2026-10-31"), pd.Timestamp("2026-11-26"))
    assert spans["week"].dt.strftime("%d/%m").tolist() == [
        "26/10",
        "02/11",
        "09/11",
        "16/11",
        "23/11",
    ]
    assert spans["partial"].tolist() == [True, False, False, False, True]
    assert spans["days"].tolist() == [2, 7, 7, 7, 4]
    note = charts.partial_weeks_note(spans, pd.Timestamp("2026-11-26").date())
    assert "semaine du 26/10/2026, comptée du 31/10 au 01/11 seulement" in note
    assert "semaine du 23/11/2026, en cours (du 23/11 au 26/11)" in note
    whole = weeks.week_spans(pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-29"))
    assert not whole["partial"].any()
    assert charts.partial_weeks_note(whole, pd.Timestamp("2026-11-29").date()) == ""


def tick_labels(axis: dict[str, Any]) -> list[str]:
    """The labels plotly draws on a linear date axis within its range."""
    start, end = (pd.Timestamp(v) for v in axis["range"])
    step = pd.Timedelta(milliseconds=axis["dtick"])
    tick = pd.Timestamp(axis["tick0"])
    labels = []
    while tick <= end:
        if tick >= start:
            labels.append(tick.strftime(axis["tickformat"]))
        tick += step
    return labels


@pytest.mark.parametrize("days", [1, 2, 7, 8, 14, 30, 90, 120, 400])
@pytest.mark.parametrize("weekly", [False, True])
def test_date_ticks_never_write_a_date_twice(days: int, weekly: bool) -> None:
    end = pd.Timestamp("2026-11-26")
    axis = weeks.date_ticks(end - (days - 1) * DAY, end, weekly)
    labels = tick_labels(axis)
    assert labels and len(labels) == len(set(labels))
    assert len(labels) <= 9
    assert axis["tickformat"] == "%d/%m/%Y"
    assert axis["dtick"] % (7 * weeks.DAY_MS if weekly else weeks.DAY_MS) == 0
    if weekly:
        assert pd.Timestamp(axis["tick0"]).weekday() == 0  # on Mondays, under the bars
    elif days <= 8:
        assert len(labels) == days  # every day of a short period, each once


# ---------------------------------------------------------------- evacuations


def test_evacuation_outcomes_add_up() -> None:
    nan = np.nan
    found = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-09-10", "2026-09-11", "2026-09-12", "2026-09-13"]),
            "kind": ["Évacuation sans solution"] * 4,
            # 90 people, 5 of them sheltered all the same (a "sans solution" report)
            "people": [90.0, 40.0, nan, nan],
            "sheltered": [5.0, nan, 12.0, nan],
            "without_solution": [85.0, nan, nan, nan],
            "shelter": ["partial", "none", "all", None],
        }
    )
    parts = figures.evacuation_outcomes(found)
    assert parts["people"].tolist() == [90, 40, 12, 0]
    assert parts["unknown"].tolist() == [0, 40, 0, 0]
    assert parts["uncounted"].tolist() == [0, 0, 0, 1]
    added = parts["sheltered"] + parts["without_solution"] + parts["unknown"]
    assert (added == parts["people"]).all()
    totals = figures.evacuation_totals(found)
    assert totals["events"] == 4 and totals["people"] == 142
    assert totals["sheltered"] == 17 and totals["without_solution"] == 85
    assert totals["unknown"] == 40 and totals["uncounted"] == 1
    assert totals[[f"shelter_{c}" for c in figures.SHELTER_CODES]].sum() == 4
    weekly = figures.weekly_evacuation_outcomes(found)
    assert weekly["week"].tolist() == [pd.Timestamp("2026-09-07")]
    assert weekly[list(figures.OUTCOME_PARTS)].sum(axis=1).tolist() == [142]


def test_demo_evacuations_add_up(demo_dataset: Dataset) -> None:
    found = events.evacuation_events(demo_dataset.passages, demo_dataset.sites, 7, 1)
    assert len(found) > 0
    totals = figures.evacuation_totals(found)
    parts = totals[list(figures.OUTCOME_PARTS)].sum()
    assert totals["people"] == pytest.approx(parts)
    assert totals["people"] >= totals["sheltered"]


def test_dashboard_evacuation_figures_add_up(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    at.sidebar.selectbox(key="periode").set_value("tout").run()
    assert metric_int(at, t("dash.evac.events")) > 0
    people = metric_int(at, t("dash.evac.people"))
    parts = [metric_int(at, t(f"dash.evac.{p}")) for p in figures.OUTCOME_PARTS]
    assert people > 0 and people == sum(parts)
    shown = {m.label for m in at.metric}
    assert not shown & {"Évacuation avec mise à l'abri", "Évacuation sans solution"}


# ------------------------------------------------------------------- charts


def plotly_specs(at: Any) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_dashboard_charts_have_explicit_date_ticks_and_partial_weeks(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")  # 30 days: never whole weeks only
    specs = plotly_specs(at)
    assert len(specs) >= 4
    for spec in specs:
        for name, axis in spec["layout"].items():
            if name.startswith("xaxis"):
                assert axis.get("tickmode") == "linear", name
                assert axis["dtick"] % weeks.DAY_MS == 0 and axis["tickformat"] == "%d/%m/%Y"
                labels = tick_labels(axis)
                assert len(labels) == len(set(labels)), labels
    hatched = [
        trace
        for spec in specs
        for trace in spec["data"]
        if trace.get("type") == "bar"
        and charts.PARTIAL_PATTERN in trace.get("marker", {}).get("pattern", {}).get("shape", [])
    ]
    assert hatched, "a partial week is drawn hatched"
    assert any("semaine partielle" in c.value for c in at.caption)
    needs_chart = next(s for s in specs if "xaxis4" in s["layout"])  # one facet per item
    assert needs_chart["layout"]["yaxis"]["title"]["text"] == t("chart.needs_y")


def test_population_chart_draws_its_range_as_a_band(app_config: Path) -> None:
    """Issue 20: the population line comes with a shaded band, its low-high range."""
    at = run_page("pages/tableau_de_bord.py")
    population = plotly_specs(at)[0]
    lines = [tr for tr in population["data"] if tr.get("fill") != "tonexty"]
    bands = [tr for tr in population["data"] if tr.get("fill") == "tonexty"]
    assert len(bands) == 1 and len(lines) == 2  # the line and the band's lower edge
    people = next(tr for tr in lines if tr.get("line", {}).get("width") != 0)["y"]
    low = next(tr for tr in lines if tr.get("line", {}).get("width") == 0)["y"]
    high = bands[0]["y"]

    def values(ys: Any) -> list[float]:
        return [float(y) for y in (ys if isinstance(ys, list) else _decoded(ys))]

    people, low, high = values(people), values(low), values(high)
    assert len(people) == len(low) == len(high) == 30
    assert all(lo <= p <= hi for lo, p, hi in zip(low, people, high, strict=True))
    assert any(hi - lo > 0 for lo, hi in zip(low, high, strict=True))
    assert t("dash.chart_range") in [c.value for c in at.caption]


def _decoded(ys: dict[str, Any]) -> list[float]:
    """Plotly's typed-array encoding of a trace's values ({"dtype", "bdata"})."""
    return np.frombuffer(base64.b64decode(ys["bdata"]), dtype=ys["dtype"]).tolist()
