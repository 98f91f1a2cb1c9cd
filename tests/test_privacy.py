"""Privacy in the data layer (docs/architecture.md §5, issue 6): what each role's frames hold."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import privacy, schema
from carto.accounts import ROLES
from carto.analytics import alerts, camp_tables, camps, events, hotspots, places, population, zones
from carto.dataset import Dataset, build_dataset
from carto.options import AnalysisOptions
from carto.settings import Settings
from carto.store import SnapshotStore
from tests.conftest import TODAY

DEFAULTS = AnalysisOptions.from_settings(Settings({}))  # the declared defaults
DEFAULT_WEIGHTS = DEFAULTS.weights

RES = 8  # default partner_h3_resolution
THRESHOLD = 5  # default small_count_threshold
AS_OF = pd.Timestamp(TODAY, tz="Europe/Paris")


@pytest.fixture(scope="module")
def partner(demo_dataset: Dataset, demo_settings: Settings) -> Dataset:
    return privacy.for_role(demo_dataset, "partenaire", demo_settings)


def positions(frame: pd.DataFrame) -> list[tuple[float, float]]:
    known = frame[frame["latitude"].notna() & frame["longitude"].notna()]
    return list(zip(known["latitude"].astype(float), known["longitude"].astype(float), strict=True))


def assert_zone_centres(frame: pd.DataFrame, what: str) -> None:
    found = positions(frame)
    exact = [p for p in found if not privacy.is_zone_centre(*p, RES)]
    assert not exact, f"{what}: {len(exact)} exact positions, e.g. {exact[:3]}"


def assert_no_small_count(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    for col in columns:
        if col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce")
            small = values[(values > 0) & (values < THRESHOLD)]
            assert small.empty, f"{what}.{col}: {small.tolist()[:5]}"


def derived_frames(ds: Dataset) -> dict[str, pd.DataFrame]:
    """Every frame the pages and exports derive from a dataset, with default settings."""
    states = camps.camp_states(ds.passages, ds.sites, AS_OF, 30)
    built = camp_tables.camp_tables(
        ds.passages,
        ds.sites,
        TODAY,
        30,
        7,
        600,
        14,
        DEFAULTS.timezone,
        DEFAULTS.evacuation_merge_days,
    )
    scores = hotspots.camp_scores(ds.passages, states, AS_OF, 7, DEFAULT_WEIGHTS)
    return {
        "passages": ds.passages,
        "sites": ds.sites,
        "camp_states": states,
        "camp_places": places.camp_places(ds.passages, ds.sites),
        "zones": zones.zone_coverage(states, 9, 3),
        "hotspot_camps": scores,
        "hotspot_zones": hotspots.zone_scores(scores, 9),
        "events": events.evacuation_events(
            ds.passages, ds.sites, DEFAULTS.population_window_days, DEFAULTS.evacuation_merge_days
        ),
        "alerts": alerts.protection_alerts(ds.passages, ds.sites, AS_OF + pd.Timedelta(days=1), 48),
        "camps_dataset": built.camps,
        "events_dataset": built.events,
    }


# ------------------------------------------------------------------ positions


def test_a_partners_frames_hold_no_exact_position(partner: Dataset) -> None:
    frames = derived_frames(partner)
    assert len(positions(frames["passages"])) > 1000
    for name, frame in frames.items():
        if "latitude" in frame.columns:
            assert_zone_centres(frame, name)


def test_the_demo_really_has_exact_positions(demo_dataset: Dataset) -> None:
    """The check above would be empty if positions were already zone centres."""
    found = positions(demo_dataset.passages)
    assert sum(not privacy.is_zone_centre(*p, RES) for p in found) > 0.9 * len(found)


def test_camps_keep_their_membership_and_one_zone_each(
    demo_dataset: Dataset, partner: Dataset
) -> None:
    assert partner.passages["camp_id"].equals(demo_dataset.passages["camp_id"])
    per_camp = partner.passages.groupby("camp_id")[["latitude", "longitude"]].nunique()
    assert (per_camp <= 1).all().all()
    # a zone is coarse: most camps share their zone centre with no other, some do
    states = camps.camp_states(partner.passages, partner.sites, AS_OF, 30)
    assert states[["latitude", "longitude"]].notna().all().all()


def test_partner_positions_stay_near_the_truth(demo_dataset: Dataset, partner: Dataset) -> None:
    """Moved to the zone centre, not anywhere: within a resolution-8 hexagon (~0.53 km
    edge), plus the spread of a camp's passages."""
    exact = demo_dataset.passages[["latitude", "longitude"]].to_numpy()
    blurred = partner.passages[["latitude", "longitude"]].to_numpy()
    d_lat = (exact[:, 0] - blurred[:, 0]) * 111_000
    d_lon = (exact[:, 1] - blurred[:, 1]) * 73_000
    assert np.nanmax(np.hypot(d_lat, d_lon)) < 1_200
    assert np.nanmedian(np.hypot(d_lat, d_lon)) > 20


# --------------------------------------------------------------------- counts


def test_a_partners_frames_hold_no_count_under_the_threshold(partner: Dataset) -> None:
    frames = derived_frames(partner)
    days = population.day_range(pd.Timestamp(TODAY) - pd.Timedelta(days=60), pd.Timestamp(TODAY))
    frames["population"] = population.estimated_population(partner.passages, days, 7)
    for name, frame in frames.items():
        if name in ("events", "events_dataset"):
            # a difference (people minus sheltered) can be small again: the last guard
            frame = privacy.protect_frame(frame, privacy.policy_for("partenaire", Settings({})))
        assert_no_small_count(frame, privacy.DERIVED_COUNT_COLUMNS, name)


def test_suppressed_counts_are_flagged_for_the_interface(
    demo_dataset: Dataset, partner: Dataset
) -> None:
    total_flagged = 0
    for col in privacy.COUNT_COLUMNS:
        original = demo_dataset.passages[col]
        flag = partner.passages[col + privacy.SUPPRESSED_SUFFIX]
        small = (original > 0) & (original < THRESHOLD)
        assert flag.dtype == bool
        assert flag.equals(small.fillna(False).astype(bool)), col
        assert partner.passages.loc[flag, col].isna().all()
        kept = ~flag
        pd.testing.assert_series_equal(
            partner.passages.loc[kept, col], original[kept], check_names=False
        )
        total_flagged += int(flag.sum())
    assert total_flagged > 50  # the demo has small counts: the test is not vacuous
    assert privacy.small_count_label(THRESHOLD) == "<5"


def test_protect_frame_is_a_last_guard(partner: Dataset) -> None:
    policy = privacy.policy_for("partenaire", Settings({}))
    frame = pd.DataFrame(
        {
            "latitude": [48.8841, np.nan],
            "longitude": [2.3601, 2.35],
            "people": [3.0, 12.0],
            "without_solution": [0.0, 2.0],
        }
    )
    out = privacy.protect_frame(frame, policy)
    assert privacy.is_zone_centre(out.at[0, "latitude"], out.at[0, "longitude"], RES)
    assert np.isnan(out.at[1, "latitude"])
    assert np.isnan(out.at[0, "people"]) and out.at[1, "people"] == 12
    assert out.at[0, "without_solution"] == 0 and np.isnan(out.at[1, "without_solution"])
    assert out["without_solution_suppressed"].tolist() == [False, True]
    again = privacy.protect_frame(out, policy)
    pd.testing.assert_frame_equal(again, out)
    assert privacy.protect_frame(frame, privacy.FULL) is frame


# ---------------------------------------------------------------------- text


def test_a_partner_sees_no_comment_team_or_place_text(partner: Dataset) -> None:
    p, s = partner.passages, partner.sites
    for col in ("comment", "team", "location_text"):
        assert p[col].isna().all(), col
    assert s["name"].isna().all() and s["notes"].isna().all()
    assert partner.quarantine.empty
    # Codes say what, never what was typed: the parameters (the typed values) are gone.
    assert p["flag_params"].map(len).eq(0).all() and s["flag_params"].map(len).eq(0).all()
    assert p["flag_codes"].map(len).gt(0).any()
    names = places.camp_places(p, s)["name"]
    assert names.str.fullmatch(r"Campement [A-Z]{3}( — .+)?").all()  # pseudonyms only


def test_other_roles_see_the_normalised_data(
    demo_dataset: Dataset, demo_settings: Settings
) -> None:
    for role in ("admin", "coordinateur", "benevole"):
        assert privacy.for_role(demo_dataset, role, demo_settings) is demo_dataset
    comments = demo_dataset.passages["comment"].dropna()
    assert len(comments) > 0
    assert not comments.str.contains(r"@|\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}").any()


def test_views_are_told_apart_in_cache_keys(
    demo_dataset: Dataset, partner: Dataset, demo_settings: Settings
) -> None:
    assert demo_dataset.cache_key == (demo_dataset.source, demo_dataset.version, "")
    assert demo_dataset.source  # the store's instance id
    assert partner.version == demo_dataset.version
    assert partner.cache_key != demo_dataset.cache_key
    coarser = demo_settings.with_values(privacy__partner_h3_resolution=7)
    assert privacy.policy_for("partenaire", coarser).variant != partner.variant
    with pytest.raises(ValueError):
        privacy.policy_for("visiteur", demo_settings)


# ----------------------------------------------------------------- retention


def record(rid: str, when: str, comment: str | None = "Tentes mouillées") -> dict[str, object]:
    fields: dict[str, object] = {"Date": when, "Personnes": 12}
    if comment is not None:
        fields["Commentaire"] = comment
    return {"id": rid, "createdTime": when, "fields": fields}


def retention(days: int, now: dt.datetime) -> privacy.CommentRetention:
    return privacy.CommentRetention.from_settings(
        Settings({"privacy.comment_retention_days": days}), now
    )


NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)


def test_retention_strips_old_comments_only() -> None:
    records = [
        record("recOLD", "2026-01-10T20:00:00.000Z"),
        record("recNEW", "2026-11-20T20:00:00.000Z"),
        record("recNOC", "2026-01-10T20:00:00.000Z", comment=None),
    ]
    out = retention(180, NOW).strip(records)
    assert "Commentaire" not in out[0]["fields"] and out[0]["fields"]["Personnes"] == 12
    assert out[1] == records[1] and out[2] == records[2]
    assert "Commentaire" in records[0]["fields"]  # the input is not changed
    assert retention(0, NOW).strip(records) == records


def test_retention_purges_the_snapshot(store_location: str | Path) -> None:
    store = SnapshotStore(store_location)  # on SQLite and on PostgreSQL
    with store.transaction() as conn:
        store.upsert(
            conn,
            "passages",
            [record("recOLD", "2026-01-10T20:00:00.000Z"), record("recNEW", "2026-11-20T20:00Z")],
        )
    with store.transaction(bump_version=False) as conn:
        assert retention(180, NOW).purge(store, conn) == 1
    kept = {r["id"]: r["fields"] for r in store.records("passages")}
    assert "Commentaire" not in kept["recOLD"] and kept["recNEW"]["Commentaire"]
    with store.transaction(bump_version=False) as conn:
        assert retention(180, NOW).purge(store, conn) == 0


def test_sync_applies_the_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from carto import sync
    from carto.settings import TOKEN_ENV
    from tests.test_sync import T0, TOKEN, FakeClock, make_server, write_settings

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    clock = FakeClock(T0)
    server = make_server(clock, rate_limit=None, days=20)
    try:
        keep = write_settings(tmp_path, server, privacy={"comment_retention_days": 0})
        sync.sync(keep, clock=clock)
        store = SnapshotStore(keep.store_path)
        all_comments = [r for r in store.records("passages") if "Commentaire" in r["fields"]]
        assert len(all_comments) > 10
        dates = sorted(r["fields"]["Date"] for r in all_comments)
        middle = dt.datetime.fromisoformat(dates[len(dates) // 2].replace("Z", "+00:00"))
        days = (T0 - middle).days
        version = store.version
        short = write_settings(tmp_path, server, privacy={"comment_retention_days": days})
        clock.advance(minutes=10)
        sync.sync(short, clock=clock)  # a refresh that does not reconcile: no purge yet
        assert store.version == version
        assert len([r for r in store.records("passages") if "Commentaire" in r["fields"]]) == len(
            all_comments
        )
        clock.advance(hours=24)  # the daily reconciliation purges
        result = sync.sync(short, clock=clock)  # incremental: nothing changed in Airtable
        assert result.reconciled
        assert store.version > version  # comments left: caches must be rebuilt
        assert result.changed == 0
        left = [r for r in store.records("passages") if "Commentaire" in r["fields"]]
        assert 0 < len(left) < len(all_comments)
        cutoff = clock() - dt.timedelta(days=days)
        for r in left:
            assert dt.datetime.fromisoformat(r["fields"]["Date"].replace("Z", "+00:00")) >= cutoff
        sync.sync(short, full=True, clock=clock)  # a full listing brings none back
        again = [r for r in store.records("passages") if "Commentaire" in r["fields"]]
        assert json.dumps(sorted(r["id"] for r in again)) == json.dumps(
            sorted(r["id"] for r in left)
        )
    finally:
        server.stop()


def test_a_full_sync_strips_aged_comments_without_scanning_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a full listing every stored passage is one just listed and stripped as it
    arrived: the retention scan of the stored records (0.3-0.8 s at 100k) is skipped."""
    from carto import sync
    from carto.settings import TOKEN_ENV
    from tests.test_sync import T0, TOKEN, FakeClock, make_server, write_settings

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    clock = FakeClock(T0)
    server = make_server(clock, rate_limit=None, days=20)
    try:
        keep = write_settings(tmp_path, server, privacy={"comment_retention_days": 0})
        sync.sync(keep, clock=clock)
        store = SnapshotStore(keep.store_path)
        before = [r for r in store.records("passages") if "Commentaire" in r["fields"]]
        short = write_settings(tmp_path, server, privacy={"comment_retention_days": 3})
        scans: list[str] = []
        real = SnapshotStore.purge_field

        def purge_field(self: SnapshotStore, *args: Any, **kwargs: Any) -> int:
            scans.append(args[1])
            return real(self, *args, **kwargs)

        monkeypatch.setattr(SnapshotStore, "purge_field", purge_field)
        clock.advance(minutes=10)
        result = sync.sync(short, full=True, clock=clock)

        assert scans == []
        cutoff = clock() - dt.timedelta(days=3)
        left = [r for r in store.records("passages") if "Commentaire" in r["fields"]]
        assert 0 < len(left) < len(before)
        for r in left:
            assert dt.datetime.fromisoformat(r["fields"]["Date"].replace("Z", "+00:00")) >= cutoff
        assert result.changed == len(before) - len(left)
    finally:
        server.stop()


def test_count_columns_are_the_contracts_counts() -> None:
    numbers = {f.key for f in schema.PASSAGES.fields if f.type == schema.FieldType.NUMBER} - {
        "latitude",
        "longitude",
    }
    assert set(privacy.COUNT_COLUMNS) == numbers


def test_the_roles_table_gives_each_role_its_precision(demo_settings: Settings) -> None:
    """One table (privacy.ACCESS) says each role's precision; ``policy_for`` follows it."""
    assert set(privacy.ACCESS) == set(ROLES)
    for role, access in privacy.ACCESS.items():
        policy = privacy.policy_for(role, demo_settings)
        assert (policy == privacy.FULL) == (access.precision is privacy.Precision.EXACT), role
    assert privacy.access_for("partenaire").precision is privacy.Precision.PARTNER
    with pytest.raises(ValueError):
        privacy.access_for("visiteur")
    assert not privacy.may_export("visiteur", "zones")


def test_two_stores_at_the_same_version_never_share_a_cache_key(
    demo_settings: Settings, tmp_path: Path
) -> None:
    """Cached frames are keyed on the store as well as its version: a demo and a live
    base, or two cities, may both be at the same version (before, two tests' demo
    stores shared cached camp names)."""
    built = []
    for name in ("a.sqlite", "b.sqlite"):
        store = SnapshotStore(tmp_path / name)
        with store.transaction() as conn:
            store.upsert(conn, "sites", [])
        built.append(build_dataset(demo_settings, store))
    first, second = built
    assert first.version == second.version == 1
    assert first.cache_key != second.cache_key


# ------------------------------------------------------- complementary suppression

PARTNER_POLICY = privacy.Policy(small_count_threshold=THRESHOLD)


def row(*parts: float) -> tuple[dict[tuple[str, int], float], list[privacy.Sum[tuple[str, int]]]]:
    """Parts ``("part", i)`` and their total ``("total", 0)``."""
    values = {("part", i): float(v) for i, v in enumerate(parts)}
    values[("total", 0)] = float(sum(parts))
    return values, [privacy.Sum(("total", 0), tuple(k for k in values if k[0] == "part"))]


def test_one_small_part_takes_the_smallest_other_part_with_it() -> None:
    values, sums = row(3, 0, 40, 12, 25)
    assert privacy.complements(values, sums, PARTNER_POLICY) == {("part", 3)}  # 12, not 0
    assert privacy.complements(values, sums, privacy.FULL) == frozenset()
    fixed = privacy.complements(values, sums, PARTNER_POLICY, fixed=[("part", 3)])
    assert fixed == {("part", 4)}  # 12 is shown elsewhere: 25 instead


def test_the_total_goes_when_no_other_part_can() -> None:
    values, sums = row(3, 0, 40)
    assert privacy.complements(values, sums, PARTNER_POLICY, fixed=[("part", 2)]) == {("total", 0)}


def test_small_parts_whose_sum_comes_back_small_take_another_part() -> None:
    """1 and 2 hidden beside 30 of a total of 33: each stays unknown, but together they
    make 3, a small count the total gives back."""
    values, sums = row(1, 2, 30)
    assert privacy.complements(values, sums, PARTNER_POLICY) == {("part", 2)}
    values, sums = row(3, 4, 30)  # 7 together: not small, and neither comes back
    assert privacy.complements(values, sums, PARTNER_POLICY) == frozenset()


def test_no_complement_is_wasted_on_a_part_its_row_gives_away() -> None:
    """A row of 6 shown elsewhere (fixed) made of 1 and 5: masked, the 5 would be 5 or
    more, so 5 exactly, and the 1 with it. Nothing can hide the 1 (the row is shown
    elsewhere): no figure is masked for nothing. With a row of 9 (1 and 8), the 8 can
    be masked (5 to 8, the 1 then 1 to 4), and the 20 of its column with it."""
    both = {("part", 1), ("part", 2)}
    for total, other, chosen in ((6.0, 5.0, frozenset()), (9.0, 8.0, both)):
        values = {("row", 0): total, ("part", 0): 1.0, ("part", 1): other}
        values |= {("part", 2): 20.0, ("column", 0): other + 20.0}
        sums = [
            privacy.Sum(("row", 0), (("part", 0), ("part", 1))),
            privacy.Sum(("column", 0), (("part", 1), ("part", 2))),
        ]
        found = privacy.complements(values, sums, PARTNER_POLICY, fixed=[("row", 0)])
        assert found == chosen


def test_masked_counts_read_masque_on_the_pages(partner: Dataset) -> None:
    policy = privacy.policy_for("partenaire", Settings({}))
    frame = pd.DataFrame({"passages": [3.0, 12.0, 40.0]})
    shown = privacy.mask_complements(
        privacy.protect_frame(frame, policy), "passages", [False, True, False]
    )
    assert privacy.count_labels(shown, "passages", policy).tolist() == ["<5", "masqué", "40"]
    assert shown["passages_suppressed"].tolist() == [True, True, False]
    assert privacy.hidden_in(shown, "passages")
    assert privacy.any_suppressed(policy, "masqué") and privacy.any_suppressed(policy, "<5")
    assert privacy.mask_complements(frame, "passages", [False] * 3) is frame


# ---------------------------------------------------------- zone centres, position by position

_LATITUDES = st.one_of(st.none(), st.just(float("nan")), st.floats(48.80, 48.92))
_LONGITUDES = st.one_of(st.none(), st.just(float("nan")), st.floats(2.22, 2.47))


def _centre_of_each(latitude: list[Any], longitude: list[Any], res: int) -> np.ndarray:
    """The definition, one position at a time."""
    out = np.full((len(latitude), 2), np.nan)
    for i, (la, lo) in enumerate(zip(latitude, longitude, strict=True)):
        if la is not None and lo is not None and not (np.isnan(la) or np.isnan(lo)):
            out[i] = h3.cell_to_latlng(h3.latlng_to_cell(la, lo, res))
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_LATITUDES, _LONGITUDES), max_size=40),
    repeats=st.lists(st.integers(0, 39), max_size=20),
)
def test_zone_centres_are_each_positions_cell_centre(
    rows: list[tuple[float | None, float | None]], repeats: list[int]
) -> None:
    """Looked up once per distinct position, each position still gets its own cell's
    centre (positions repeated, unknown, or missing on one side)."""
    rows = rows + [rows[i] for i in repeats if i < len(rows)]
    latitude = [la for la, _ in rows]
    longitude = [lo for _, lo in rows]
    got = privacy.zone_centres(
        pd.Series(latitude, dtype="Float64"), pd.Series(longitude, dtype="float64"), RES
    )
    np.testing.assert_array_equal(np.column_stack(got), _centre_of_each(latitude, longitude, RES))


def test_a_passage_whose_camp_has_no_position_takes_its_own_zone() -> None:
    """Blurred by camp; a passage with no camp, or whose camp has no known position,
    by its own position (and stays unknown without one)."""
    passages = pd.DataFrame(
        {
            "camp_id": ["P-a", "P-a", None, "P-b", None],
            "latitude": [48.8810, 48.8820, 48.8500, np.nan, np.nan],
            "longitude": [2.3600, 2.3610, 2.3000, np.nan, np.nan],
        }
    )
    sites = pd.DataFrame({"record_id": ["recS"], "latitude": [48.87], "longitude": [2.35]})
    blurred, _ = privacy.blur_positions(passages, sites, RES)
    camp = h3.cell_to_latlng(h3.latlng_to_cell(48.8815, 2.3605, RES))  # the camp's median
    own = h3.cell_to_latlng(h3.latlng_to_cell(48.85, 2.30, RES))
    assert list(zip(blurred["latitude"], blurred["longitude"], strict=True))[:3] == [
        camp,
        camp,
        own,
    ]
    assert blurred.iloc[3:][["latitude", "longitude"]].isna().all().all()
