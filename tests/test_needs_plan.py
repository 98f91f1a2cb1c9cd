"""Issue 13, "what do we bring this week?": the needs forecast in whole units, against
the usual deliveries, per arrondissement or camp, and as a printable packing list."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carto import packing_list, privacy, schema
from carto.analytics import needs, places
from carto.dataset import Dataset
from carto.i18n import format_number, t
from carto.ui import data
from testing.app import run_page
from tests.test_camps_over_time import frame, passage

THURSDAY = dt.date(2026, 11, 26)
PARTNER = privacy.Policy(
    exact_positions=False, comments=False, free_text=False, small_count_threshold=5
)


def two_camps() -> pd.DataFrame:
    """Two camps in two arrondissements over three complete weeks (Nov 2 to 22)."""
    blankets = ["Couvertures/duvets"]
    rows = []
    for week, people_a in enumerate((30.0, 31.0, 33.0)):  # mean 31.33: 32 blankets
        monday = pd.Timestamp("2026-11-02") + pd.Timedelta(days=7 * week)
        day = f"{monday:%Y-%m-%d}"
        rows.append(passage(f"a{week}", f"{day} 20:00", camp="A", needs=blankets, people=people_a))
        rows.append(
            passage(f"b{week}", f"{day} 21:00", camp="B", needs=blankets, people=10.0)
            | {"arrondissement": "75010"}
        )
        rows.append(passage(f"d{week}", f"{day} 22:00", camp="A", blankets_given=12.0 + week))
    return frame(*rows)


def test_whole_quantities_are_rounded_up_and_usual_rounded() -> None:
    assert needs.whole_need(711.2) == 712
    assert needs.whole_need(711.0) == 711
    assert needs.whole_need(3 * (1 / 3) * 3) == 3  # floating noise is not a blanket
    assert math.isnan(needs.whole_need(float("nan")))
    assert needs.whole_usual(98.5) == 99 and needs.whole_usual(98.4) == 98


def test_forecast_gives_need_usual_and_gap_in_whole_units() -> None:
    forecast = needs.needs_forecast(needs.weekly_needs(two_camps()), THURSDAY, 3)
    blankets = forecast.set_index("item").loc["blankets"]
    people = (30 + 31 + 33) / 3 + 10
    assert blankets["need"] == math.ceil(people)  # 41.33 people: 42 blankets
    assert blankets["usual"] == 13  # 12, 13, 14 delivered
    assert blankets["gap"] == blankets["need"] - blankets["usual"]
    assert set(forecast.columns) >= {"need", "usual", "gap"}


@pytest.mark.parametrize("breakdown", ["arrondissement", "camp"])
def test_forecast_per_group(breakdown: str) -> None:
    p = two_camps()
    where = places.camp_places(p, p.iloc[0:0].assign(record_id=pd.Series(dtype="str")))
    by = needs.breakdown_labels(p, where, breakdown)
    assert by is not None
    forecast = needs.needs_forecast(needs.weekly_needs(p, by=by), THURSDAY, 3)
    rows = forecast[forecast["item"] == "blankets"].set_index("group")
    a, b = "75019", "75010"
    if breakdown == "camp":
        a, b = where.loc["A", "name"], where.loc["B", "name"]
        if a == b:  # two camps of one name are told apart by their id
            a, b = f"{a} (A)", f"{b} (B)"
    assert rows.loc[a, "need"] == math.ceil((30 + 31 + 33) / 3)
    assert rows.loc[b, "need"] == 10
    assert rows.loc[a, "usual"] == 13 and rows.loc[b, "usual"] == 0
    total = needs.needs_forecast(needs.weekly_needs(p), THURSDAY, 3).set_index("item")
    # The groups' people add up to the whole view's (sums of latest counts per camp).
    assert rows["people"].sum() == pytest.approx(total.loc["blankets", "people"], abs=0.1)
    assert needs.breakdown_labels(p, where, "total") is None


def test_protected_forecast_hides_a_gap_that_would_give_a_hidden_need_away() -> None:
    forecast = pd.DataFrame(
        {
            "item": ["tents", "blankets", "meals", "hygiene_kits"],
            "people": [3.0, 40.0, 40.0, 0.0],
            "need": [3.0, 40.0, 40.0, 0.0],
            "usual": [20.0, 37.0, 60.0, 0.0],
            "gap": [-17.0, 3.0, -20.0, 0.0],
            **{c: [1.0] * 4 for c in ("reports", "camps", "delivered")},
        }
    )
    shown = data._protect_forecast(forecast, PARTNER).set_index("item")
    # need "<5" and gap −17 against usual 20 would tell the need is 3
    assert shown.loc["tents", "need_suppressed"] and shown.loc["tents", "gap_hidden"]
    assert math.isnan(shown.loc["tents", "gap"])
    assert shown.loc["blankets", "gap_suppressed"]  # a small difference is a small count
    assert shown.loc["meals", "gap"] == -20  # a large negative gap is shown
    assert not shown["gap_hidden"].loc[["blankets", "meals", "hygiene_kits"]].any()
    full = data._protect_forecast(forecast, privacy.FULL).set_index("item")
    assert full.loc["tents", "gap"] == -17 and not full["gap_hidden"].any()


def test_packing_list_is_escaped_french_and_printable() -> None:
    labels = pd.DataFrame(
        {
            "group": ["<script>alert(1)</script>", "75010"],
            "item": ["Couvertures", "Tentes"],
            "need": ["42", privacy.small_count_label(5)],
            "usual": ["13", "0"],
        }
    )
    page = packing_list.packing_list_html(
        labels,
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 6),
        dt.datetime(2026, 11, 26, 18, 5),
        "Prévision : moyenne & co",
        "Arrondissement",
    )
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page and "&lt;5" in page and "moyenne &amp; co" in page
    assert "30/11/2026" in page and "06/12/2026" in page and "26/11/2026 à 18:05" in page
    assert "window.print()" in page and "@media print" in page
    assert page.count("<table>") == 2 and page.count("☐") == 2
    assert not re.search(r"\b(None|nan|NaT)\b", page)
    empty = packing_list.packing_list_html(
        labels.iloc[0:0], dt.date(2026, 11, 30), dt.date(2026, 12, 6), dt.datetime.now(), "x"
    )
    assert t("packing.empty") in empty


def test_format_number_uses_a_decimal_comma() -> None:
    assert format_number(711.24, 1) == "711,2"
    assert format_number(1062.5, 1) == "1\u202f062,5"
    assert format_number(4.0, 1, trim=True) == "4"
    assert format_number(4.5, 1, trim=True) == "4,5"
    assert format_number(float("nan")) == "—" and format_number(None) == "—"


def _whole(text: str) -> bool:
    return bool(re.fullmatch(r"[+\u2212]?\d{1,3}(\u202f\d{3})*", text)) or text in ("<5", "—")


def test_coordination_page_shows_whole_units_and_a_packing_list(app_config: Path) -> None:
    at = run_page("pages/coordination.py")
    table = next(d.value for d in at.dataframe if t("needs.col.need") in d.value.columns)
    for col in ("needs.col.need", "needs.col.usual", "needs.col.gap"):
        values = table[t(col)].astype(str).tolist()
        assert values and all(_whole(v) for v in values), (col, values)
    assert (table[t("needs.col.need")].str.replace("\u202f", "").astype(int) > 0).all()
    gap = table[t("needs.col.gap")].str.replace("\u2212", "-").str.replace("\u202f", "")
    need = table[t("needs.col.need")].str.replace("\u202f", "").astype(int)
    usual = table[t("needs.col.usual")].str.replace("\u202f", "").astype(int)
    assert (gap.astype(int) == need - usual).all()
    title = next(m.value for m in at.markdown if "Que faut-il apporter" in m.value)
    assert re.search(r"\d{2}/\d{2}/\d{4} au \d{2}/\d{2}/\d{4}", title)
    button = at.get("download_button")
    assert any(t("needs.download") in b.proto.label for b in button)

    at.segmented_control(key="besoins_detail").set_value("arrondissement").run()
    assert not at.exception
    zones = next(d.value for d in at.dataframe if t("needs.col.need") in d.value.columns)
    assert t("needs.col.group.arrondissement") in zones.columns
    assert zones[t("needs.col.group.arrondissement")].nunique() > 1

    at.segmented_control(key="besoins_detail").set_value("camp").run()
    assert not at.exception
    per_camp = next(d.value for d in at.dataframe if t("needs.col.need") in d.value.columns)
    assert t("needs.col.group.camp") in per_camp.columns
    assert per_camp[t("needs.col.group.camp")].nunique() > 3
    assert all(_whole(v) for v in per_camp[t("needs.col.need")].astype(str))


@pytest.mark.parametrize("weeks", [1, 4, 8])
def test_the_forecast_from_recent_weeks_is_the_one_from_the_whole_history(
    demo_dataset: Dataset, weeks: int
) -> None:
    passages = demo_dataset.passages
    first = passages["day"].min().date()
    for as_of in (
        demo_dataset.today,
        first,
        first + dt.timedelta(days=9),
        first + dt.timedelta(days=40),
    ):
        whole = needs.needs_forecast(needs.weekly_needs(passages), as_of, weeks)
        pd.testing.assert_frame_equal(
            needs.forecast(passages, as_of, weeks), whole, check_exact=True
        )


@pytest.mark.parametrize("breakdown", ["arrondissement", "camp"])
def test_the_grouped_forecast_from_recent_weeks_is_the_one_from_the_whole_history(
    demo_dataset: Dataset, breakdown: str
) -> None:
    passages = demo_dataset.passages
    by = needs.breakdown_labels(
        passages, places.camp_places(passages, demo_dataset.sites), breakdown
    )
    today = demo_dataset.today
    whole = needs.needs_forecast(needs.weekly_needs(passages, by=by), today, 4)
    recent = needs.forecast(passages, today, 4, by=by)

    def shown(forecast: pd.DataFrame) -> pd.DataFrame:  # the rows a breakdown shows
        keep = forecast["need"].fillna(0).gt(0) | forecast["usual"].fillna(0).gt(0)
        return forecast[keep].reset_index(drop=True)

    assert len(shown(recent)) > 3
    pd.testing.assert_frame_equal(shown(recent), shown(whole), check_exact=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    association=st.sampled_from([None, *schema.ASSOCIATIONS]),
    days_back=st.integers(0, 40),
    weeks=st.integers(1, 6),
    without_camp=st.floats(0.0, 0.3),
    seed=st.integers(0, 2**16),
)
def test_every_breakdown_summed_from_the_camps_weeks_is_its_own_forecast(
    demo_dataset: Dataset,
    association: str | None,
    days_back: int,
    weeks: int,
    without_camp: float,
    seed: int,
) -> None:
    """The three breakdowns are read from one weekly table per camp (the page reads
    them all for a partner's complements): each gives, row for row, the forecast made
    from its own labels, also for passages without a camp (they count in their
    arrondissement's and the total's reports and deliveries, in no camp's)."""
    passages = demo_dataset.passages
    if association is not None:
        passages = passages[passages["association"] == association]
    rng = np.random.default_rng(seed)
    loose = rng.random(len(passages)) < without_camp
    passages = passages.assign(camp_id=passages["camp_id"].mask(loose))
    placed = places.camp_places(demo_dataset.passages, demo_dataset.sites)
    as_of = demo_dataset.today - dt.timedelta(days=days_back)
    weekly = needs.camp_weeks(passages, placed, as_of, weeks)
    for breakdown in needs.BREAKDOWNS:
        by = needs.breakdown_labels(passages, placed, breakdown)
        direct = needs.forecast(passages, as_of, weeks, by=by)
        summed = needs.breakdown_forecast(weekly, breakdown, as_of, weeks)
        pd.testing.assert_frame_equal(summed, direct, check_exact=True)


def test_the_camps_weeks_of_no_passage_give_empty_breakdowns(demo_dataset: Dataset) -> None:
    placed = places.camp_places(demo_dataset.passages, demo_dataset.sites)
    nothing = demo_dataset.passages.iloc[:0]
    weekly = needs.camp_weeks(nothing, placed, demo_dataset.today, 4)
    for breakdown in needs.BREAKDOWNS:
        by = needs.breakdown_labels(nothing, placed, breakdown)
        direct = needs.forecast(nothing, demo_dataset.today, 4, by=by)
        summed = needs.breakdown_forecast(weekly, breakdown, demo_dataset.today, 4)
        pd.testing.assert_frame_equal(summed, direct, check_exact=True)


def test_the_weeks_of_a_period_are_those_of_the_whole_history(demo_dataset: Dataset) -> None:
    passages = demo_dataset.passages
    whole = needs.weekly_needs(passages)
    start, end = (
        pd.Timestamp(demo_dataset.today) - pd.Timedelta(days=40),
        pd.Timestamp(demo_dataset.today) - pd.Timedelta(days=10),
    )
    period = needs.weekly_needs(passages, start, end)
    weeks = whole["week"].between(needs.monday(start), needs.monday(end))
    assert period["week"].nunique() >= 5
    pd.testing.assert_frame_equal(
        period.reset_index(drop=True), whole[weeks].reset_index(drop=True), check_exact=True
    )
