"""Issue 17: the walking route, the packing list, the passage link, suggestions and plans
(carto/rounds.py); plans in the store on SQLite and PostgreSQL (``store_location``)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import audit, privacy, rounds
from carto.analytics.needs import NEED_ITEMS
from carto.dataset import Dataset
from carto.settings import ConfigError, Settings
from carto.store import AuthStore

# ------------------------------------------------------------------ route


def matrix(points: list[tuple[float, float]]) -> list[list[float]]:
    return [[math.dist(a, b) for b in points] for a in points]


def brute_force(d: list[list[float]]) -> float:
    n = len(d)
    return min(rounds.path_length(p, d) for p in itertools.permutations(range(n)))


points_strategy = st.lists(
    st.tuples(st.floats(0, 1000, allow_nan=False), st.floats(0, 1000, allow_nan=False)),
    min_size=0,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(points_strategy)
def test_route_never_longer_than_the_given_order(points: list[tuple[float, float]]) -> None:
    d = matrix(points)
    order = rounds.best_order(d)
    assert sorted(order) == list(range(len(points)))  # every camp, once
    assert rounds.path_length(order, d) <= rounds.path_length(range(len(points)), d) + 1e-6


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=7))
def test_route_is_shortest_on_small_instances(points: list[tuple[int, int]]) -> None:
    d = matrix([(float(x), float(y)) for x, y in points])
    assert rounds.path_length(rounds.best_order(d), d) == pytest.approx(brute_force(d))


def test_two_opt_on_random_instances_is_a_local_optimum_no_longer_than_nearest_neighbour() -> None:
    rng = random.Random(17)
    for _ in range(20):
        d = matrix([(rng.uniform(0, 1), rng.uniform(0, 1)) for _ in range(30)])
        nn = rounds.nearest_neighbour(d)
        improved = rounds.two_opt(nn, d)
        assert sorted(improved) == list(range(30))
        assert rounds.path_length(improved, d) <= rounds.path_length(nn, d) + 1e-9
        assert rounds.two_opt(improved, d) == improved  # nothing left to improve


def test_route_of_camps_gives_distance_and_time() -> None:
    camps = pd.DataFrame(
        {
            "camp_id": ["a", "b", "c"],
            # on one meridian: a – c – b, about 1.11 km apart each
            "latitude": [48.80, 48.82, 48.81],
            "longitude": [2.35, 2.35, 2.35],
        }
    )
    r = rounds.route(camps, detour=1.0, speed_kmh=4.0)
    assert r.camp_ids in (("a", "c", "b"), ("b", "c", "a"))
    straight = rounds.great_circle_m(48.80, 2.35, 48.82, 2.35)
    assert r.total_m == pytest.approx(straight, rel=1e-6)
    assert r.legs_m[0] == 0 and sum(r.legs_m) == pytest.approx(r.total_m)
    assert r.minutes == pytest.approx(r.total_m / 4000 * 60)
    longer = rounds.route(camps, detour=1.3, speed_kmh=4.0)
    assert longer.total_m == pytest.approx(1.3 * r.total_m)


# ------------------------------------------------------------------ passage link


CAMP = {
    "camp_id": "S-recAbc123",
    "name": "Quai & pont « Nord »",
    "latitude": 48.8841234,
    "longitude": 2.3700001,
    "arrondissement": "75019",
}
DAY = dt.date(2026, 11, 29)


def test_passage_url_fills_and_encodes_every_placeholder() -> None:
    template = (
        "https://airtable.com/appX/shrY?prefill_Site={site_id}&prefill_Nom={name}"
        "&prefill_Latitude={lat}&prefill_Longitude={lon}&a={arrondissement}&d={date}&c={camp_id}"
    )
    url = rounds.passage_url(template, CAMP, DAY)
    assert url is not None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["prefill_Site"] == ["recAbc123"]
    assert query["prefill_Nom"] == ["Quai & pont « Nord »"]  # & did not cut the query
    assert query["prefill_Latitude"] == ["48.884123"]
    assert query["prefill_Longitude"] == ["2.370000"]
    assert query["a"] == ["75019"] and query["d"] == ["2026-11-29"]
    assert query["c"] == ["S-recAbc123"]
    assert " " not in url and "«" not in url


def test_passage_url_leaves_missing_values_empty() -> None:
    camp = {"camp_id": "P-recLoose", "name": None, "latitude": float("nan")}
    url = rounds.passage_url("https://f.example/?s={site_id}&n={name}&lat={lat}", camp, DAY)
    assert url == "https://f.example/?s=&n=&lat="


def test_no_template_no_link_and_unknown_placeholder_refused(demo_settings: Settings) -> None:
    assert rounds.passage_url("", CAMP, DAY) is None
    with pytest.raises(ValueError, match="unknown placeholder"):
        rounds.passage_url("https://f.example/?x={secret}", CAMP, DAY)
    with pytest.raises(ConfigError, match="site"):
        rounds.RoundOptions.from_settings(
            demo_settings.with_values(forms__passage_url="https://f.example/?x={site}")
        )


def test_passage_links_only_for_exact_positions() -> None:
    camps = pd.DataFrame([CAMP])
    template = "https://f.example/?s={site_id}"
    exact = rounds.passage_links(camps, template, privacy.FULL, DAY)
    assert exact.tolist() == ["https://f.example/?s=recAbc123"]
    partner = privacy.Policy(exact_positions=False, free_text=False, comments=False)
    assert rounds.passage_links(camps, template, partner, DAY).isna().all()
    assert rounds.passage_links(camps, "", privacy.FULL, DAY).isna().all()


def test_directions_links() -> None:
    geo, osm = rounds.directions_links(48.8841234, 2.37)
    assert geo == "geo:48.884123,2.370000?q=48.884123,2.370000"
    assert osm.startswith("https://www.openstreetmap.org/directions?")
    assert "48.884123%2C2.370000" in osm and "foot" in osm


# ------------------------------------------------------------------ board, nearby, suggest


@pytest.fixture(scope="module")
def board(demo_dataset: Dataset) -> pd.DataFrame:
    from carto.analytics import alerts, camps, hotspots
    from carto.options import AnalysisOptions
    from carto.settings import load_settings

    opts = AnalysisOptions.from_settings(load_settings(None))
    as_of = opts.day_start(demo_dataset.today)
    states = camps.camp_states(demo_dataset.passages, demo_dataset.sites, as_of, opts.active_days)
    found = alerts.protection_alerts(
        demo_dataset.passages,
        demo_dataset.sites,
        as_of + pd.Timedelta(days=1),
        opts.alert_hours,
    )
    scores = hotspots.camp_scores(
        demo_dataset.passages, states, as_of, opts.population_window_days, opts.weights
    )
    return rounds.camp_board(states, found, scores)


def test_nearby_lists_camps_within_the_radius_nearest_first(board: pd.DataFrame) -> None:
    here = board.iloc[0]
    found = rounds.nearby(board, here["latitude"] + 0.001, here["longitude"], 2000, 1.3)
    assert len(found) >= 1
    assert found["distance_m"].is_monotonic_increasing
    assert (found["distance_m"] <= 2000).all()
    everything = rounds.nearby(board, here["latitude"], here["longitude"], 1e9, 1.3)
    assert len(everything) == len(board)
    outside = everything[everything["distance_m"] > 2000]
    assert not set(outside["camp_id"]) & set(found["camp_id"])


def test_suggest_orders_by_priority_with_reasons(board: pd.DataFrame) -> None:
    gap = 3
    found = rounds.suggest(board, [], gap, {}, limit=len(board))
    assert len(found) == len(board)
    ranks = [
        (
            "alert" not in r,
            "gap" not in r,
            "needs" not in r,
        )
        for r in found["reasons"]
    ]
    assert ranks == sorted(ranks)
    for row in found.itertuples():
        assert ("gap" in row.reasons) == (row.days_since_visit >= gap)
        assert ("alert" in row.reasons) == bool(row.alert_reasons)
    # a camp another association plans tonight goes last, with who plans it
    first = found["camp_id"].iloc[0]
    again = rounds.suggest(board, [], gap, {first: ["Utopia 56"]}, limit=len(board))
    assert again["camp_id"].iloc[-1] == first
    assert again["planned_by"].iloc[-1] == ["Utopia 56"]
    assert "planned" in again["reasons"].iloc[-1]
    # zones and limit
    zone = board["arrondissement"].iloc[0]
    in_zone = rounds.suggest(board, [zone], gap, {}, limit=2)
    assert len(in_zone) <= 2 and (in_zone["arrondissement"] == zone).all()


@pytest.mark.parametrize("role", ["admin", "partenaire"])
def test_the_pages_board_writes_no_reason_text(
    demo_settings: Settings, demo_dataset: Dataset, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """The board of "Autour de moi" and "Préparer une maraude" is the active camps with
    their alerts and scores as the other pages show them, without the French text of
    every scored camp's reasons, which it never shows."""
    import streamlit

    from carto import filters
    from carto.analytics import hotspots
    from carto.ui import data
    from carto.ui import rounds as street

    policy = privacy.policy_for(role, demo_settings)
    monkeypatch.setattr(data, "settings", lambda: demo_settings)
    monkeypatch.setattr(data, "policy", lambda: policy)
    streamlit.cache_data.clear()
    ds = privacy.apply(demo_dataset, policy)
    f = filters.Filters()
    v = data.view(ds, f, f.period_for(ds.today, ds.passages["day"].min().date()))
    written: list[int] = []
    real = hotspots.reasons

    def counting(scores: pd.DataFrame) -> pd.Series:
        written.append(len(scores))
        return real(scores)

    monkeypatch.setattr(hotspots, "reasons", counting)
    found = street.board(v, ds.today)
    assert written == []
    assert found["score"].gt(0).any() and found["alert_reasons"].map(bool).any()
    expected = rounds.camp_board(
        data.camp_states(v, ds.today),
        data.protection_alerts(v, ds.today),
        data.hotspot_scores(v, ds.today),
    )
    pd.testing.assert_frame_equal(found, privacy.protect_frame(expected, policy), check_exact=True)
    streamlit.cache_data.clear()


# ------------------------------------------------------------------ packing list


def test_packing_list_in_whole_units() -> None:
    need_option, given = NEED_ITEMS["blankets"]
    camps = pd.DataFrame(
        {
            "camp_id": ["a", "b", "c"],
            "needs": [[need_option], [need_option, "Eau"], []],
            "people": [12.0, float("nan"), 40.0],
        }
    )
    since = pd.Timestamp("2026-11-01", tz="Europe/Paris")
    passages = pd.DataFrame(
        {
            "camp_id": ["a", "a", "b", "c", "a"],
            "date": pd.to_datetime(
                ["2026-11-10", "2026-11-12", "2026-11-12", "2026-11-12", "2026-10-01"]
            ).tz_localize("Europe/Paris"),
            given: [3.0, 4.0, 2.0, 5.0, 100.0],  # the October one is too old
            **{g: [0.0] * 5 for item, (_, g) in NEED_ITEMS.items() if g != given},
        }
    )
    packed = rounds.packing(camps, passages, since).set_index("item")
    assert packed.loc["blankets", "need"] == 12  # b's count is unknown, c does not need
    assert packed.loc["blankets", "usual"] == math.ceil(3.5 + 2 + 5)
    assert packed.loc["blankets", "bring"] == 12
    assert list(packed.index) == ["blankets"]  # nothing else to bring
    for column in ("need", "usual", "bring"):
        assert pd.api.types.is_integer_dtype(packed[column])


# ------------------------------------------------------------------ plans


def plan(evening: dt.date, association: str, camps: tuple[str, ...]) -> rounds.Plan:
    return rounds.Plan(evening, association, "Équipe 2", ("75019",), camps)


def test_plans_in_the_store_kept_n_days_and_audited(store_location: str | Path) -> None:
    store = AuthStore(store_location)
    tonight = dt.date(2026, 11, 29)
    # a plan kept since an evening 40 days ago (saving one for it is refused today)
    store.add_plan(plan(tonight - dt.timedelta(days=40), "Utopia 56", ("x",)).to_row(), "a")
    first = rounds.save_plan(
        store, plan(tonight, "Utopia 56", ("S-r1", "S-r2")), "coord", 30, tonight
    )
    assert rounds.plans_for_evening(store, tonight - dt.timedelta(days=40)) == []  # purged
    second = rounds.save_plan(
        store, plan(tonight, "Croix-Rouge française", ("S-r3",)), "b", 30, tonight
    )
    found = rounds.plans_for_evening(store, tonight)
    assert [p.id for p in found] == [first, second]
    assert found[0].camp_ids == ("S-r1", "S-r2") and found[0].zones == ("75019",)
    assert found[0].team == "Équipe 2" and found[0].created_by == "coord"
    assert found[0].created_at is not None and found[0].created_at.tzinfo is not None
    assert rounds.plans_for_evening(store, tonight + dt.timedelta(days=1)) == []
    planned = [e for e in store.audit_log(event=audit.ROUND_PLANNED)]
    assert {e["details"]["plan"] for e in planned} == {first, second}
    purged = store.audit_log(event=audit.ROUNDS_PURGED)
    assert [e["details"]["plans"] for e in purged] == [1]
    said = audit.describe(audit.ROUND_PLANNED, planned[0]["details"])  # newest first
    assert said == (
        f"maraude n° {second}, soir du 29/11/2026, association Croix-Rouge française, "
        "1 campement prévu"
    )


def test_planned_elsewhere_and_frame() -> None:
    tonight = dt.date(2026, 11, 29)
    plans = [plan(tonight, "Utopia 56", ("a", "b")), plan(tonight, "Croix-Rouge française", ("b",))]
    assert rounds.planned_elsewhere(plans, "Utopia 56") == {"b": ["Croix-Rouge française"]}
    frame = rounds.plans_frame(plans, privacy.FULL)
    assert frame["camp_id"].tolist() == ["a", "b", "b"] and frame["rank"].tolist() == [1, 2, 1]
    partner = privacy.Policy(exact_positions=False, free_text=False, comments=False)
    assert (rounds.plans_frame(plans, partner)["team"] == "").all()


def test_planned_but_not_visited_by_next_morning() -> None:
    evening = dt.date(2026, 11, 28)
    plans = [plan(evening, "Utopia 56", ("a", "b", "c"))]
    tz = "Europe/Paris"
    passages = pd.DataFrame(
        {
            "camp_id": ["a", "b", "c"],
            # a: that evening; b: the morning after, before 10:00; c: the evening before
            "date": pd.to_datetime(
                ["2026-11-28 21:00", "2026-11-29 08:30", "2026-11-27 21:00"]
            ).tz_localize(tz),
        }
    )
    morning = pd.Timestamp("2026-11-29 10:00", tz=tz)
    assert rounds.unvisited(plans, passages, tz, morning - pd.Timedelta(minutes=1)).empty
    missed = rounds.unvisited(plans, passages, tz, morning)
    assert missed["camp_id"].tolist() == ["c"]
    assert missed["association"].tolist() == ["Utopia 56"]


# ------------------------------------------------------------------ the shared link


def test_shared_link_round_trip_and_defaults() -> None:
    request = rounds.RoundRequest(
        "Croix-Rouge française", "Équipe & Nord", DAY, ("75019", "93 Saint-Denis"), 6
    )
    params = urllib.parse.parse_qs(request.query())
    associations = ["Utopia 56", "Croix-Rouge française"]
    zones = ["75010", "75019", "93 Saint-Denis"]
    assert rounds.request_from_params(params, associations, zones, DAY) == request
    empty = rounds.request_from_params({}, associations, zones, DAY)
    assert empty == rounds.RoundRequest("Utopia 56", "", DAY, (), rounds.DEFAULT_LIMIT)
    wrong = {"soir": ["hier"], "zone": ["75099"], "nb": ["1000"], "pour": ["?"]}
    assert rounds.request_from_params(wrong, associations, zones, DAY) == empty


def test_the_link_of_a_round_never_sets_a_sidebar_filter() -> None:
    """The sidebar's filters read the same address: a round's parameter named like one
    (``assoc``, ``arr``) would narrow the data to that association (seen in the browser)."""
    from carto.filters import PARAM_GAP, URL_PARAMS

    request = rounds.RoundRequest("Utopia 56", "E", DAY, ("75019",), 8)
    assert not set(urllib.parse.parse_qs(request.query())) & {*URL_PARAMS, PARAM_GAP}
    assert set(rounds.PARAMS) >= set(urllib.parse.parse_qs(request.query()))
