"""The map, first screen (issue 13): legends of every layer, evacuations that follow
"État au", the list of the camps of the map, the coverage-gap threshold chosen on the
page (and kept in the address), and the map counted and sized by a chosen public.

Unit tests of ``carto.map_view`` and the analytics behind it, then the page under
AppTest. The browser side (tooltip, phone) is in tests/e2e/test_map_in_browser.py.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from carto import filters, privacy
from carto.analytics import events, population
from carto.analytics.figures import Period
from carto.dataset import build_dataset, demo_key, generate_demo, open_store, write_demo_snapshot
from carto.i18n import format_date, t, t_n
from carto.map_view import (
    camp_list,
    camp_points,
    evacuation_legend,
    evacuation_period,
    legend,
    visit_colour,
)
from carto.normalise import describe
from carto.settings import load_settings
from carto.store import SnapshotStore
from carto.text import escape_markdown
from testing.app import (
    login,
    metric_int,
    metrics,
    new_app,
    run_page,
    shown_static_table,
)
from testing.hostile import HOSTILE, write_hostile_demo
from tests.test_map_view import states_frame
from tests.test_text import unescape

LIST_CAMP, LIST_LAST = t("map.list.camp"), t("map.list.last")
LIST_PEOPLE, LIST_ALERTS = t("map.list.people"), t("map.list.alerts")


def days_of(label: str) -> int:
    """Days since a visit from the list's words ("aujourd'hui", "hier", "il y a 5 jours")."""
    if label == t("ago.yesterday"):
        return 1
    found = re.findall(r"\d+", label)
    return int(found[0]) if found else 0


# --------------------------------------------------------------------- unit level


def camps_frame() -> pd.DataFrame:
    rows = [
        states_frame(camp_id="S-a", name="Alpha", days_since_visit=0, people=40.0),
        states_frame(camp_id="S-b", name="Bravo", days_since_visit=6, people=3.0),
        states_frame(camp_id="S-c", name="Charlie", days_since_visit=2, people=12.0),
        states_frame(camp_id="S-d", name="Delta", days_since_visit=9, active=False),
        states_frame(camp_id="S-e", name="Echo", days_since_visit=6, people=8.0),
    ]
    return pd.concat(rows, ignore_index=True)


def test_the_list_holds_the_camps_of_the_map_most_forgotten_first() -> None:
    alerts = pd.DataFrame({"camp_id": ["S-c"], "reasons": [["minors", "families"]]})
    table = camp_list(camps_frame(), alerts, gap_days=3)
    assert table[LIST_CAMP].tolist() == ["Bravo", "Echo", "Charlie", "Alpha"]  # Delta: closed
    assert table[LIST_LAST].tolist() == [
        "il y a 6 jours",
        "il y a 6 jours",
        "il y a 2 jours",
        "aujourd'hui",
    ]
    assert table[LIST_PEOPLE].tolist() == ["3", "8", "12", "40"]
    assert table[LIST_ALERTS].tolist() == [
        t("map.list.to_cover"),
        t("map.list.to_cover"),
        "Mineurs non accompagnés, Familles",
        "",
    ]
    # the threshold decides what is to cover
    assert camp_list(camps_frame(), alerts, gap_days=7)[LIST_ALERTS].tolist()[:2] == ["", ""]


def test_a_partner_sees_small_counts_in_the_list_as_small() -> None:
    policy = privacy.Policy(small_count_threshold=5)
    frame = privacy.protect_frame(camps_frame(), policy)
    table = camp_list(frame, pd.DataFrame(), 3, policy)
    assert table.set_index(LIST_CAMP).loc["Bravo", LIST_PEOPLE] == "<5"


def test_points_are_sized_by_the_chosen_public() -> None:
    frame = pd.concat(
        [
            states_frame(camp_id="S-big", people=80.0, unaccompanied_minors=1.0),
            states_frame(camp_id="S-minors", people=20.0, unaccompanied_minors=12.0),
        ],
        ignore_index=True,
    )
    everyone = camp_points(frame, 3).set_index("camp_id")["radius"]
    minors = camp_points(frame, 3, publics=("mna",)).set_index("camp_id")["radius"]
    assert everyone["S-big"] > everyone["S-minors"]
    assert minors["S-minors"] > minors["S-big"]
    assert minors["S-minors"] == pytest.approx(25 + 14 * math.sqrt(12), abs=0.1)
    table = camp_list(frame, pd.DataFrame(), 3, publics=("mna",))
    assert table[t("filter.public.mna")].tolist() == ["1", "12"]


def test_a_public_is_estimated_like_the_population() -> None:
    """Each camp's latest count within the window; a count that leaves the public
    empty counts 0, a passage that counted nobody is not a count."""

    def passage(rec: str, camp: str, day: str, people: float, minors: float) -> dict[str, Any]:
        date = pd.Timestamp(day + " 20:00", tz="Europe/Paris")
        return {
            "record_id": rec,
            "date": date,
            "day": date.tz_localize(None).normalize(),
            "camp_id": camp,
            "people": people,
            "unaccompanied_minors": minors,
            "site_status": "Actif",
            "is_duplicate": False,
        }

    frame = pd.DataFrame(
        [
            passage("r1", "A", "2026-11-01", 40, 5),
            passage("r2", "A", "2026-11-03", 30, float("nan")),  # counted: no minor
            passage("r3", "B", "2026-11-01", 20, 3),
            passage("r4", "B", "2026-11-02", float("nan"), 9),  # counted nobody
        ]
    )
    days = pd.date_range("2026-11-01", "2026-11-12")
    minors = population.estimated_count(frame, days, 7, "unaccompanied_minors")
    assert minors["2026-11-01"] == 8
    assert minors["2026-11-03"] == 3  # A's latest count has no minor; B keeps r3's 3
    assert minors["2026-11-07"] == 3
    assert minors["2026-11-08"] == 0  # B's count is older than the window
    people = population.estimated_count(frame, days, 7, "people")
    expected = population.estimated_population(frame, days, 7)["people"]
    assert people.tolist() == expected.tolist()


def test_evacuations_follow_the_day_shown() -> None:
    period = Period.last_days(dt.date(2026, 11, 26), 30)
    span = evacuation_period(period, dt.date(2026, 11, 10))
    assert (span.start, span.end) == (pd.Timestamp("2026-10-12"), pd.Timestamp("2026-11-10"))
    assert t("map.legend.no_evacuation", start="12/10/2026", end="10/11/2026") == (
        evacuation_legend(span, 0).label
    )
    assert "12/10/2026" in evacuation_legend(span, 3).label


def test_threshold_options_and_codes() -> None:
    assert filters.gap_options(3) == (2, 3, 5, 7)
    assert filters.gap_options(4) == (2, 3, 4, 5, 7)  # the configured value is offered
    assert [filters.decode_gap(v, (2, 3, 5, 7)) for v in ("5", "7j", "2 jours")] == [5, 7, 2]
    assert filters.decode_gap("4", (2, 3, 5, 7)) is None
    assert filters.decode_gap("cinq", (2, 3, 5, 7)) is None


# --------------------------------------------------------------------- the page


def map_points(at: AppTest, layer_id: str = "camps") -> list[dict[str, Any]]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    found = [layer for layer in spec["layers"] if layer.get("id") == layer_id]
    return list(found[0]["data"]) if found else []


def camp_table(at: AppTest) -> pd.DataFrame:
    """The list of the camps of the map, its cells as they read (markdown unescaped)."""
    listing = shown_static_table(at, "map-camps")
    return listing.map(lambda cell: html.unescape(str(cell).replace("\\", "")))


def legend_text(at: AppTest) -> str:
    """The legend as the reader sees it: tags dropped, entities and markdown escapes
    resolved."""
    return " ".join(
        re.sub(r"\\(.)", r"\1", html.unescape(re.sub(r"<[^>]+>", "", m.value)))
        for m in at.markdown
        if "<span" in m.value
    )


def test_the_page_lists_the_camps_of_the_map(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    table = camp_table(at)
    assert len(table) == metric_int(at, t("map.metric.camps")) == len(map_points(at))
    assert sorted(table[LIST_CAMP]) == sorted(p["title"] for p in map_points(at))
    days = [days_of(label) for label in table[LIST_LAST]]
    assert days == sorted(days, reverse=True) and days[0] > days[-1]


def test_the_threshold_changes_the_map_the_list_and_the_address(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    control = at.segmented_control(key=filters.PARAM_GAP)
    assert control.value == 3  # the configured default
    assert filters.PARAM_GAP not in at.query_params  # a plain page, a plain address

    def to_cover() -> tuple[int, int, int]:
        listed = (camp_table(at)[LIST_ALERTS].str.contains(t("map.list.to_cover"))).sum()
        label = next(k for k in metrics(at) if k.startswith("Sans passage"))
        return int(listed), len(map_points(at, "gaps")), metric_int(at, label)

    listed, rings, figure = to_cover()
    assert listed == rings == figure
    control.set_value(2).run()
    assert not at.exception
    assert at.query_params[filters.PARAM_GAP] == "2"
    assert t_n("map.metric.not_visited", 2) in metrics(at)
    more = to_cover()
    assert more[0] == more[1] == more[2] > listed
    # the colours follow the threshold, and the legend says so
    table = camp_table(at).set_index(LIST_CAMP)
    for point in map_points(at):
        since = days_of(table.loc[point["title"], LIST_LAST])
        assert point["color"] == visit_colour(pd.Series([since]), 2).iloc[0], point["title"]
    assert all(label in legend_text(at) for _, label in legend(2))
    # the coordination page uses the same threshold, most forgotten first
    at.switch_page("pages/coordination.py").run()
    assert not at.exception
    assert at.segmented_control(key=filters.PARAM_GAP).value == 2
    assert t_n("coverage.gap_definition", 2) in [c.value for c in at.caption]
    gaps = next(d.value for d in at.dataframe if t("coord.col.days") in d.value.columns)[
        t("coord.col.days")
    ].tolist()
    assert len(gaps) == more[0] and gaps == sorted(gaps, reverse=True)


def test_a_link_opens_the_map_at_its_threshold(app_config: Path) -> None:
    at = new_app()
    at.query_params[filters.PARAM_GAP] = "7"
    login(at)
    assert not at.exception and not at.toast
    assert at.segmented_control(key=filters.PARAM_GAP).value == 7
    assert t_n("map.metric.not_visited", 7) in metrics(at)
    wrong = new_app()
    wrong.query_params[filters.PARAM_GAP] = "4"
    login(wrong)
    assert [f"{filters.PARAM_GAP}=4" in unescape(toast.value) for toast in wrong.toast] == [True]
    assert wrong.segmented_control(key=filters.PARAM_GAP).value == 3
    assert filters.PARAM_GAP not in wrong.query_params


def test_a_chosen_public_is_what_the_map_counts_and_sizes(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    people = metric_int(at, t("map.metric.people"))
    at.sidebar.pills(key="public").set_value(["mna"]).run()
    assert not at.exception
    label = t("map.metric.public", public=t("filter.public.mna"))
    assert t("map.metric.people") not in metrics(at)
    assert 0 < metric_int(at, label) < people
    size = t("map.size_by", what=t("map.count.mna.other"))
    assert any(size in c.value for c in at.caption)
    table = camp_table(at).set_index(LIST_CAMP)
    for point in map_points(at):
        shown = table.loc[point["title"], t("filter.public.mna")]
        minors = 0 if shown == "—" else int(shown)
        assert point["radius"] == pytest.approx(25 + 14 * math.sqrt(minors), abs=0.1)


def evacuation_days(config: Path) -> list[dt.date]:
    """The days of the demo's evacuation events, as the map counts them."""
    conf = load_settings(config)
    ds = build_dataset(conf, open_store(conf))
    found = events.evacuation_events(
        ds.passages,
        ds.sites,
        conf["analysis.population_window_days"],
        conf["analysis.evacuation_merge_days"],
    )
    return sorted({pd.Timestamp(d).date() for d in found["date"]})


def test_every_layer_has_its_legend_and_evacuations_follow_the_day(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    at.pills(key="couches").set_value(["camps", "zones", "gaps", "evacuations"]).run()
    text = legend_text(at)
    assert "Densité par zone" in text and "par zone" in text
    evacuated = evacuation_days(app_config)
    assert evacuated
    # on the day of the latest evacuation, the map shows it, and the 30 days before
    day = evacuated[-1]
    at.slider(key="etat_au").set_value(day).run()
    assert not at.exception
    start = day - dt.timedelta(days=29)  # the 30 days of the default period
    assert len(map_points(at, "evacuations")) == sum(start <= d <= day for d in evacuated) > 0
    said = t("map.legend.evacuations", start=format_date(start), end=format_date(day))
    assert said in legend_text(at)
    # before the first one, nothing had been evacuated yet: the map says so
    day = evacuated[0] - dt.timedelta(days=1)
    at.slider(key="etat_au").set_value(day).run()
    assert not at.exception
    assert not map_points(at, "evacuations")
    start = day - dt.timedelta(days=29)
    nothing = t("map.legend.no_evacuation", start=format_date(start), end=format_date(day))
    assert nothing in legend_text(at)


def test_the_list_shows_hostile_names_as_text(app_config: Path) -> None:
    write_hostile_demo(app_config)
    streamlit.cache_data.clear()
    streamlit.cache_resource.clear()
    at = run_page("pages/carte.py")
    assert set(shown_static_table(at, "map-camps")[LIST_CAMP]) == {escape_markdown(HOSTILE)}


def test_a_partner_lists_the_names_its_data_gives_it(app_config: Path) -> None:
    """Privacy is applied in the data layer: the partner's list holds no camp name the
    staff see (site names and place descriptions are withheld from partners)."""
    staff = set(camp_table(run_page("pages/carte.py"))[LIST_CAMP])
    at = run_page("pages/carte.py", role="partenaire")
    partner = camp_table(at)
    assert len(partner) == metric_int(at, t("map.metric.camps")) > 0
    assert not staff & set(partner[LIST_CAMP])
    assert sorted(partner[LIST_CAMP]) == sorted(p["title"] for p in map_points(at))


OLD_DATE = "1678-01-02T19:00:00.000Z"  # before 1684: Streamlit's slider refuses the day


def write_demo_with_old_passage(config: Path) -> str:
    """Today's demo snapshot with one more passage, dated ``OLD_DATE`` (the security
    review's record, as anyone filling in the form can send it); returns its id."""
    conf = load_settings(config)
    today = pd.Timestamp.now(tz=conf["general.timezone"]).date()
    base = generate_demo(conf, today)
    record = "recOLDOLDOLDOLDOL1"
    fields = {"Date": OLD_DATE, "Association": "Utopia 56", "Personnes": 12}
    fields |= {"Latitude": 48.8625, "Longitude": 2.2490}
    base.passages.append(
        {"id": record, "createdTime": "2026-11-20T19:00:00.000Z", "fields": fields}
    )
    write_demo_snapshot(SnapshotStore(conf.store_location), base, demo_key(conf, today))
    return record


@pytest.mark.parametrize("role", ["benevole", "partenaire"])
def test_a_passage_dated_1678_neither_breaks_the_map_nor_is_lost(
    app_config: Path, role: str
) -> None:
    record = write_demo_with_old_passage(app_config)
    streamlit.cache_data.clear()
    streamlit.cache_resource.clear()
    at = run_page("pages/carte.py", role=role)
    assert not at.error, [e.value for e in at.error]
    at.selectbox(key=filters.PARAM_PERIOD).set_value(filters.CUSTOM).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.date_input(key=filters.PARAM_DATES).min >= dt.date(2015, 1, 1)
    conf = load_settings(app_config)
    ds = build_dataset(conf, open_store(conf))
    assert record not in set(ds.passages["record_id"])
    held = ds.quarantine.set_index("record_id").loc[record]
    assert describe(held["reason_codes"], held["reason_params"]) == (
        f"Date trop ancienne : « {OLD_DATE} » (avant le 01/01/2015)"
    )
