"""A partner never sees a count in (0, 5), not even a derived one (issue 14, item 8).

Small counts were removed from a partner's input rows, but results derived from them
(needs forecast means such as 1,8, dashboard deltas such as −2, weekly sums, counts of
camps in a zone) could fall under the threshold again. Here the derived frames are
checked in the data layer, then every page a partner may open is walked under AppTest.

What counts as a count here: every number of people or items and whatever is derived
from them (sums, means, forecasts, differences, deltas between periods), and every
number of camps, passages, reports or evacuations in an aggregate: metric values and
deltas, cells of the count columns of tables, values of charts, and the numbers of
people, camps, minors and families in map tooltips. Not counts, hence not checked:
dates, days since a visit (« il y a 3 j », « Jours sans passage »), hours, hotspot
scores, percentages, the export page's row counts (how many rows the preview
shows right below them, which the partner sees anyway), and the protection alerts'
badge (how many camps the table right below it lists, one row each).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carto import privacy, schema
from carto.analytics import alerts, camps, figures, needs, places, weeks
from carto.dataset import (
    Dataset,
    build_dataset,
    demo_key,
    generate_demo,
    open_store,
    write_demo_snapshot,
)
from carto.export import contents as X
from carto.filters import PUBLICS
from carto.i18n import PLURAL_FORMS, t, t_n
from carto.map_view import camp_points
from carto.options import AnalysisOptions
from carto.settings import Settings, load_settings
from carto.store import SnapshotStore
from carto.ui import navigation
from testing.app import login, new_app, run_page, shown_table
from tests.conftest import TODAY

THRESHOLD = 5  # small_count_threshold (default)
PARTNER = "partenaire"
# Columns of the pages' tables that hold counts (French headers) and of the export
# previews (dataset keys).
COUNT_HEADERS = {
    t("coord.col.people"),
    t("coord.col.minors"),
    t("coord.col.families"),
    t("needs.col.need"),
    t("needs.col.usual"),
    t("needs.col.gap"),
    t("needs.col.camps"),
    t("hotspot.col.zone_camps"),
    t("map.list.people"),
    *(t(f"filter.public.{p}") for p in PUBLICS),
    *privacy.AGGREGATE_COUNT_COLUMNS,
}
ROW_COUNT_LABEL = re.compile(re.escape(t("export.rows", dataset="XX")).replace("XX", ".*"))
TOOLTIP_COUNTS = [
    re.compile(rf"{re.escape(t(key))} : ([^<\n]+)")
    for key in (
        "map.tooltip.people",
        "map.tooltip.minors",
        "map.tooltip.families",
        "map.tooltip.women",
    )
] + [
    # a zone's people and camps, in both forms ("1 personne dans la zone", "12 personnes…")
    re.compile(re.escape(text).replace("@@", "([^<\n]+?)"))
    for text in (
        *(
            t("map.zone.people", people="@@", what=t(f"map.count.people.{form}"))
            for form in PLURAL_FORMS
        ),
        *(t(f"count.camps.{form}", n="@@") for form in PLURAL_FORMS),
    )
]


def number(value: Any) -> float | None:
    """A displayed value as a number ("1 062", "2,5", 3.0); None for "<5", "—", text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if np.isnan(float(value)) else float(value)
    text = str(value).replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    text = text.replace("−", "-").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def small(value: Any) -> bool:
    found = number(value)
    return found is not None and 0 < abs(found) < THRESHOLD


# ------------------------------------------------------------- the data layer


@pytest.fixture(scope="module")
def partner_policy(demo_settings: Settings) -> privacy.Policy:
    return privacy.policy_for(PARTNER, demo_settings)


def test_count_and_delta_under_the_partner_policy(partner_policy: privacy.Policy) -> None:
    assert privacy.count(3, partner_policy).label == "<5"
    assert privacy.count(1.8, partner_policy).suppressed  # a mean is a count too
    assert privacy.count(0, partner_policy).label == "0"
    assert privacy.count(1062, partner_policy).label == "1\u202f062"
    assert privacy.count(3, privacy.FULL).label == "3"
    big, bigger = privacy.count(1062, partner_policy), privacy.count(1064, partner_policy)
    assert privacy.delta(big, bigger, partner_policy) is None  # −2 is a small count
    assert privacy.delta(big, privacy.count(1000, partner_policy), partner_policy) == 62
    hidden = privacy.count(3, partner_policy)
    # 12 against "<5" would give the hidden figure away (a change of 9 means 3)
    assert privacy.delta(privacy.count(12, partner_policy), hidden, partner_policy) is None
    assert privacy.delta(big, bigger, privacy.FULL) == -2


def test_needs_forecast_means_are_protected(partner_policy: privacy.Policy) -> None:
    weekly = pd.DataFrame(
        {
            "week": list(pd.date_range("2026-10-26", periods=4, freq="7D")) * 1,
            "item": ["tents"] * 4,
            "reports": [0.0, 0.0, 7.0, 0.0],
            "camps": [0.0, 0.0, 1.0, 0.0],
            "people": [0.0, 0.0, 7.0, 0.0],
            "delivered": [8.0, 0.0, 0.0, 0.0],
        }
    )
    forecast = needs.needs_forecast(weekly, TODAY, 4).set_index("item")
    raw = forecast.loc["tents", ["people", "delivered", "camps", "reports"]]
    assert raw.between(0, THRESHOLD, inclusive="neither").all()  # 1,8 1,8 2 0,2...
    counted = [*needs.MEASURES, *(f"last_{m}" for m in needs.MEASURES)]
    shown = privacy.protect_frame(forecast, partner_policy, counted)
    for col in ("people", "delivered", "camps", "reports"):
        assert np.isnan(shown.loc["tents", col]) and shown.loc["tents", f"{col}_suppressed"]
        assert privacy.count_labels(shown, col, partner_policy).loc["tents"] == "<5"


def partner_dataset(demo_dataset: Dataset, demo_settings: Settings) -> Dataset:
    return privacy.for_role(demo_dataset, PARTNER, demo_settings)


def test_derived_aggregates_of_a_partner_are_protected(
    demo_dataset: Dataset, demo_settings: Settings, partner_policy: privacy.Policy
) -> None:
    """The frames the pages draw, derived from a partner's dataset and narrowed to the
    camp with the fewest passages (small aggregates), once protected hold no count in
    (0, 5) while the unprotected ones do (the check is not vacuous)."""
    ds = partner_dataset(demo_dataset, demo_settings)
    camp = ds.passages.groupby("camp_id").size().idxmin()
    one = ds.passages[ds.passages["camp_id"] == camp]
    as_of = pd.Timestamp(TODAY, tz="Europe/Paris")
    states = camps.camp_states(one, ds.sites, as_of, 30)
    period = figures.Period.last_days(TODAY, 90)
    rows = figures.in_period(one, period)
    week = weeks.week_start(rows["day"])
    derived = {
        "camps_per_zone": pd.DataFrame({"camps": [len(states)]}),
        "needs_weekly": needs.weekly_needs(one),
        "weekly_passages": rows.assign(week=week)
        .groupby("week")
        .size()
        .rename("passages")
        .reset_index(),
        "forecast": needs.needs_forecast(needs.weekly_needs(one), TODAY, 4),
    }
    unprotected_small = 0
    for name, frame in derived.items():
        cols = [c for c in frame.columns if c in privacy.AGGREGATE_COUNT_COLUMNS]
        unprotected_small += sum(int(frame[c].map(small).sum()) for c in cols)
        shown = privacy.protect_frame(frame, partner_policy)
        for col in cols:
            assert not shown[col].map(small).any(), (name, col, shown[col].tolist())
    assert unprotected_small > 0


def test_a_small_latest_count_shows_as_small_not_as_an_older_count(
    demo_dataset: Dataset, partner_policy: privacy.Policy
) -> None:
    """A camp whose latest count is suppressed shows "<5" on the map, not the count of
    an earlier visit (which would be out of date, and a hint of the hidden one)."""
    seen = camps.counted(demo_dataset.passages).sort_values(["date", "record_id"])
    counted_rows = seen[seen["people"].notna()]
    camp = counted_rows.groupby("camp_id").size().idxmax()  # counted on several visits
    last = counted_rows[counted_rows["camp_id"] == camp].index[-1]
    passages = demo_dataset.passages.copy()
    passages.loc[last, "people"] = 3.0  # its latest count is now a small one
    changed = dataclasses.replace(demo_dataset, passages=passages)
    ds = privacy.apply(changed, partner_policy)
    flag = "people" + privacy.SUPPRESSED_SUFFIX
    as_of = pd.Timestamp(TODAY, tz="Europe/Paris")
    states = camps.camp_states(ds.passages, ds.sites, as_of, 10_000)
    row = states.set_index("camp_id").loc[camp]
    assert np.isnan(row["people"]) and row[flag]
    points = camp_points(states.assign(active=True), 3, partner_policy)
    points.index = pd.Index(states["camp_id"])  # a partner's points carry opaque ids
    assert f"{t('map.tooltip.people')} : <5" in points.loc[camp, "details"].split("\n")


# -------------------------------------------------------------- the pages


def demo_data(config: Path) -> Dataset:
    settings = load_settings(config)
    return build_dataset(settings, open_store(settings))


def few_camps_arrondissement(ds: Dataset) -> str:
    per = places.camp_places(ds.passages, ds.sites)["arrondissement"].value_counts()
    return str(per[per > 0].sort_values(kind="stable").index[0])


def plotly_values(at: AppTest) -> Iterator[tuple[str, float]]:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            for axis in ("y", "z"):
                for value in np.ravel(np.asarray(decode(trace.get(axis, [])), dtype=object)):
                    found = number(value)
                    if found is not None:
                        yield f"chart {trace.get('name', '')} {axis}", found


def decode(values: Any) -> Any:
    """Plotly sends numeric arrays as base64 ("bdata") with their dtype."""
    if isinstance(values, dict) and "bdata" in values:
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        if shape:
            array = array.reshape([int(n) for n in str(shape).split(",")])
        return array.tolist()
    if isinstance(values, list):
        return [decode(v) for v in values]
    return values


def tooltip_values(at: AppTest) -> Iterator[tuple[str, str]]:
    for chart in at.get("deck_gl_json_chart"):
        spec = json.loads(chart.proto.json)
        for layer in spec.get("layers", []):
            for row in layer.get("data", []) if isinstance(layer.get("data"), list) else []:
                text = f"{row.get('title', '')}\n{row.get('details', '')}"
                for pattern in TOOLTIP_COUNTS:
                    for found in pattern.findall(text):
                        yield f"tooltip {layer.get('id')}", found


def shown_numbers(at: AppTest) -> Iterator[tuple[str, Any]]:
    """Every count-like value the page shows (see the module docstring)."""
    for metric in at.metric:
        if ROW_COUNT_LABEL.fullmatch(metric.label):
            continue
        yield f"metric {metric.label}", metric.value
        if metric.delta:
            yield f"delta {metric.label}", metric.delta
    for table in at.dataframe:
        frame = table.value
        for col in frame.columns:
            if str(col) in COUNT_HEADERS:
                for value in frame[col].tolist():
                    yield f"table {col}", value
    for static in at.table:  # cells are markdown, escaped (carto.text.escape_markdown)
        frame = static.value
        for col in frame.columns:
            if str(col) in COUNT_HEADERS:
                for value in frame[col].tolist():
                    yield f"table {col}", html.unescape(str(value).replace("\\", ""))
    yield from plotly_values(at)
    yield from tooltip_values(at)


def walk_partner_pages(at: AppTest) -> tuple[list[str], int, int]:
    """Open every partner page (every export dataset, every map layer); returns the
    small values found, how many values were checked and how many showed "<5"."""
    problems: list[str] = []
    checked = suppressed = 0
    for spec in navigation.specs_for(PARTNER):
        at.switch_page(spec.path).run()
        at.run()  # under AppTest, the first run after a switch sees the widget defaults
        assert not at.exception, (spec.path, [e.value for e in at.exception])
        if spec.path == "pages/carte.py":
            at.pills(key="couches").set_value(["camps", "zones", "gaps", "evacuations"]).run()
        if spec.path == "pages/export.py":
            at.multiselect(key="export_datasets").set_value(
                list(X.datasets_for_role(PARTNER))
            ).run()
        views = [""]
        if spec.path == "pages/coordination.py":  # the needs plan per zone and per camp
            views += ["arrondissement", "camp"]
        for view in views:
            if view:
                at.segmented_control(key="besoins_detail").set_value(view).run()
            for where, value in shown_numbers(at):
                checked += 1
                suppressed += str(value).strip() == privacy.small_count_label(THRESHOLD)
                if small(value):
                    problems.append(f"{spec.path} {view} {where}: {value}")
    return problems, checked, suppressed


@pytest.mark.parametrize("narrow", ["aucun filtre", "arrondissement", "association", "public"])
def test_a_partner_sees_no_count_under_the_threshold_on_any_page(
    app_config: Path, narrow: str
) -> None:
    ds = demo_data(app_config)
    at = login(new_app(), PARTNER)
    if narrow == "arrondissement":  # the place with the fewest camps: small aggregates
        at.sidebar.multiselect(key="arr").set_value([few_camps_arrondissement(ds)]).run()
    if narrow == "association":  # the association with the fewest passages
        smallest = ds.passages["association"].value_counts().index[-1]
        assert smallest in schema.ASSOCIATIONS
        at.sidebar.multiselect(key="assoc").set_value([smallest]).run()
    if narrow == "public":  # the map counts and sizes by the minors: small counts
        at.sidebar.pills(key="public").set_value(["mna"]).run()
    problems, checked, suppressed = walk_partner_pages(at)
    assert not problems, problems
    assert checked > 100  # the walk really read figures
    if narrow in ("arrondissement", "public"):
        assert suppressed > 0  # and some were small enough to be shown "<5"


def write_demo_with_alerts(config: Path, camps: int) -> int:
    """Write today's demo snapshot with minors and families reported only in the
    passages of ``camps`` of its alerted camps: that many protection alerts today.
    Returns how many camps the plain demo alerted (8 to 15 on the days tried)."""
    conf = load_settings(config)
    today = pd.Timestamp.now(tz=conf["general.timezone"]).date()
    store = SnapshotStore(conf.store_location)
    base = generate_demo(conf, today)
    write_demo_snapshot(store, base, demo_key(conf, today))
    ds = build_dataset(conf, open_store(conf))
    opts = AnalysisOptions.from_settings(conf)
    now = opts.day_start(today) + pd.Timedelta(days=1)
    found = alerts.protection_alerts(ds.passages, ds.sites, now, opts.alert_hours)
    kept = found["camp_id"].head(camps)
    reporting = set(ds.passages.loc[ds.passages["camp_id"].isin(kept), "record_id"])
    for record in base.passages:
        if record["id"] not in reporting:
            record["fields"].pop("Mineurs non accompagnés", None)
            record["fields"].pop("Familles", None)
    write_demo_snapshot(store, base, demo_key(conf, today))
    return len(found)


def test_a_partners_alert_badge_counts_the_camps_its_table_lists(app_config: Path) -> None:
    """Three alerted camps, listed one row each: the badge says 3, not "<5" above
    three rows (the count of camps is given by the table anyway)."""
    assert write_demo_with_alerts(app_config, camps=3) > 3
    for role in (PARTNER, "coordinateur"):
        at = run_page("pages/coordination.py", role=role)
        listed = shown_table(at, "alerts")
        assert len(listed) == 3
        badges = [e.value for e in at.error]
        assert badges == [t_n("alert.badge", 3)], (role, badges)
