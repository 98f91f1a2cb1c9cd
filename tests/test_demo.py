"""The demo generator: determinism, Airtable record shape, a plausible world, its truth."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from carto import demo, schema
from carto.dataset import build_dataset, ensure_demo_snapshot, generate_demo
from carto.settings import load_settings
from tests.conftest import write_demo_config

TODAY = dt.date(2026, 11, 26)  # the period then spans the end of summer time (25 Oct)
PARIS = ZoneInfo("Europe/Paris")
ID_RE = re.compile(r"^rec[A-Za-z0-9]{14}$")
STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PHONE_RE = re.compile(r"(?:\+33 ?|0)[1-9](?:[ .]?\d{2}){4}")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
SELECT_TAGS = {"select_alias", "unknown_select"}
UNUSABLE = {"no_date", "no_position"}
REQUIRED_TAGS = {
    "number_as_text",
    "select_alias",
    "unknown_select",
    "coords_in_text_comma",
    "map_link",
    "swapped_latlon",
    "no_date",
    "no_position",
    "negative_count",
    "subcount_over_total",
    "pii_in_comment",
    "duplicate_submission",
}
PASSAGE_FIELDS = {f.airtable: f for f in schema.PASSAGES.fields}
SITE_FIELDS = {f.airtable: f for f in schema.SITES.fields}
COUNT_NAMES = [f.airtable for f in schema.PASSAGES.fields if f.type == schema.FieldType.NUMBER]


@pytest.fixture(scope="module")
def base() -> demo.DemoBase:
    return demo.generate(seed=56, days=120, today=TODAY)


# --------------------------------------------------------------------------- helpers


def when(record: dict[str, Any], name: str = "Date") -> dt.datetime:
    """A record timestamp, in Paris time."""
    value = record["fields"][name] if name != "createdTime" else record["createdTime"]
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(PARIS)


def lenient(value: Any) -> int | None:
    """A count read leniently: numbers as is, the first integer of a text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and (match := re.search(r"-?\d+", value)):
        return int(match.group())
    return None


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def usable(base: demo.DemoBase) -> list[dict[str, Any]]:
    """Passages an app can use: neither duplicates nor missing a date or a position."""
    truth = base.truth
    return [
        rec
        for rec in base.passages
        if rec["id"] not in truth.duplicate_of and truth.messy.get(rec["id"]) not in UNUSABLE
    ]


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as plain dicts (loosely typed, for tests)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def camps_by_id(base: demo.DemoBase) -> dict[str, dict[str, Any]]:
    return {row["camp_id"]: row for row in rows(base.truth.camps)}


def by_camp(base: demo.DemoBase) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in usable(base):
        out[base.truth.passage_camp[rec["id"]]].append(rec)
    for recs in out.values():
        recs.sort(key=when)
    return out


def round_day(record: dict[str, Any]) -> dt.date:
    """The day of the round a passage belongs to: a round ending after midnight is the
    evening's."""
    return (when(record) - dt.timedelta(hours=5)).date()


def estimate(base: demo.DemoBase, day: dt.date, window: int = 7) -> int:
    """docs/architecture.md §4: for each camp active that day, its latest count in the window."""
    total = 0
    for recs in by_camp(base).values():
        closed = any(
            rec["fields"].get("Statut du site") in schema.CLOSING_SITE_STATUSES
            and when(rec).date() < day  # the evacuation day still counts its people
            for rec in recs
        )
        if closed:
            continue
        recent = [
            rec
            for rec in recs
            if day - dt.timedelta(days=window - 1) <= when(rec).date() <= day
            and lenient(rec["fields"].get("Personnes")) is not None
        ]
        if recent:
            total += lenient(max(recent, key=when)["fields"]["Personnes"]) or 0
    return total


def naive(base: demo.DemoBase, day: dt.date, window: int = 7) -> int:
    """The wrong estimate: the sum of the counts of the last passages."""
    return sum(
        lenient(rec["fields"].get("Personnes")) or 0
        for rec in usable(base)
        if day - dt.timedelta(days=window - 1) <= when(rec).date() <= day
    )


# --------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_output(base: demo.DemoBase) -> None:
    again = demo.generate(seed=56, days=120, today=TODAY)
    assert again.sites == base.sites
    assert again.passages == base.passages
    assert again.today == base.today == TODAY
    assert again.truth.passage_camp == base.truth.passage_camp
    assert again.truth.messy == base.truth.messy
    assert again.truth.duplicate_of == base.truth.duplicate_of
    pd.testing.assert_frame_equal(again.truth.camps, base.truth.camps)
    pd.testing.assert_frame_equal(again.truth.evacuations, base.truth.evacuations)
    pd.testing.assert_series_equal(again.truth.daily_population, base.truth.daily_population)


def test_other_seed_gives_other_output(base: demo.DemoBase) -> None:
    other = demo.generate(seed=57, days=120, today=TODAY)
    assert other.passages != base.passages
    assert {r["id"] for r in other.passages}.isdisjoint(r["id"] for r in base.passages)


def test_today_defaults_to_paris_date() -> None:
    before = demo.paris_today()
    small = demo.generate(days=5, n_camps=2)
    assert small.today in {before, demo.paris_today()}
    assert small.truth.daily_population.index[-1] == small.today


# --------------------------------------------------------------------------- record shape


def test_record_ids_and_timestamps(base: demo.DemoBase) -> None:
    records = base.sites + base.passages
    ids = [rec["id"] for rec in records]
    assert len(set(ids)) == len(ids)
    for rec in records:
        assert set(rec) == {"id", "createdTime", "fields"}
        assert ID_RE.match(rec["id"]), rec["id"]
        assert STAMP_RE.match(rec["createdTime"]), rec["createdTime"]
        if "Date" in rec["fields"]:
            assert STAMP_RE.match(rec["fields"]["Date"])


def test_no_empty_values_and_only_known_fields(base: demo.DemoBase) -> None:
    for records, known in ((base.sites, SITE_FIELDS), (base.passages, PASSAGE_FIELDS)):
        for rec in records:
            assert rec["fields"], rec
            for name, value in rec["fields"].items():
                assert name in known, name
                assert value is not None and value != "" and value != [], (name, rec)


def test_field_types(base: demo.DemoBase) -> None:
    texty = {"number_as_text"}
    for rec in base.passages:
        tag = base.truth.messy.get(rec["id"])
        for name, value in rec["fields"].items():
            kind = PASSAGE_FIELDS[name].type
            if kind == schema.FieldType.NUMBER and tag not in texty:
                assert isinstance(value, int | float) and not isinstance(value, bool), (name, rec)
            elif kind in (schema.FieldType.MULTI_SELECT, schema.FieldType.LINKS):
                assert isinstance(value, list) and all(isinstance(v, str) for v in value)
            elif kind != schema.FieldType.NUMBER:
                assert isinstance(value, str), (name, rec)
    for rec in base.sites:
        f = rec["fields"]
        assert isinstance(f["Latitude"], float) and isinstance(f["Longitude"], float)
        assert {"Nom", "Latitude", "Longitude", "Arrondissement", "Type", "Statut"} <= set(f)


def test_select_values_are_valid_except_tagged_ones(base: demo.DemoBase) -> None:
    selects = (schema.FieldType.SINGLE_SELECT, schema.FieldType.MULTI_SELECT)
    outside: Counter[str] = Counter()
    for records, known in ((base.sites, SITE_FIELDS), (base.passages, PASSAGE_FIELDS)):
        for rec in records:
            for name, value in rec["fields"].items():
                spec = known[name]
                if spec.type not in selects:
                    continue
                values = value if isinstance(value, list) else [value]
                if not set(values) <= set(spec.options):
                    outside[base.truth.messy.get(rec["id"], "clean")] += 1
    assert set(outside) <= SELECT_TAGS, outside
    assert outside["select_alias"] and outside["unknown_select"]


def test_links_point_to_sites_created_before(base: demo.DemoBase) -> None:
    created = {rec["id"]: rec["createdTime"] for rec in base.sites}
    linked = 0
    for rec in base.passages:
        for site in rec["fields"].get("Site", []):
            assert site in created
            assert rec["createdTime"] > created[site]
            linked += 1
    assert linked > len(base.passages) / 2


def test_sites_match_truth(base: demo.DemoBase) -> None:
    camps = {row["site_id"]: row for row in rows(base.truth.camps) if row["site_id"]}
    statuses: Counter[str] = Counter()
    for rec in base.sites:
        camp = camps[rec["id"]]
        f = rec["fields"]
        assert f["Nom"] == camp["name"]
        assert (f["Latitude"], f["Longitude"]) == (camp["latitude"], camp["longitude"])
        assert f["Arrondissement"] == camp["arrondissement"] in schema.ARRONDISSEMENTS
        expected = "Actif" if camp["end"] is None else "Inactif"
        if camp["evacuation"] not in (None, schema.EVACUATION_PARTIAL):
            expected = "Évacué"
        assert f["Statut"] == expected
        statuses[f["Statut"]] += 1
    assert statuses["Actif"] and statuses["Évacué"]
    initial = base.truth.camps[base.truth.camps.start < base.truth.daily_population.index[0]]
    first = dt.datetime.combine(base.truth.daily_population.index[0], dt.time(), PARIS)
    for rec in base.sites:
        if rec["id"] in set(initial.site_id):
            assert when(rec, "createdTime") < first


# --------------------------------------------------------------------------- the world


def test_counts_on_defaults(base: demo.DemoBase) -> None:
    camps, first = base.truth.camps, base.truth.daily_population.index[0]
    assert (camps.start < first).sum() == 20
    assert 1500 <= len(base.passages) <= 6000
    assert 20 < len(camps) <= 40
    assert 5 <= len(base.truth.evacuations) <= 8
    assert set(base.truth.evacuations.kind) == {
        schema.EVACUATION_SHELTERED,
        schema.EVACUATION_NO_SOLUTION,
        schema.EVACUATION_PARTIAL,
    }
    successors = camps[camps.predecessor.notna()]
    assert successors.site_id.isna().any() and successors.site_id.notna().any()
    population = base.truth.daily_population
    assert population.min() >= 500 and population.max() <= 2500


def test_truth_frames_shape(base: demo.DemoBase) -> None:
    truth = base.truth
    assert list(truth.camps.columns[:9]) == [
        "camp_id",
        "name",
        "latitude",
        "longitude",
        "start",
        "end",
        "site_id",
        "predecessor",
        "evacuation",
    ]
    assert truth.camps.camp_id.is_unique
    assert all(isinstance(d, dt.date) for d in truth.camps.start)
    assert all(d is None or isinstance(d, dt.date) for d in truth.camps.end)
    assert set(truth.passage_camp.values()) <= set(truth.camps.camp_id)
    assert list(truth.evacuations.columns) == [
        "camp_id",
        "date",
        "people",
        "sheltered",
        "without_solution",
        "kind",
    ]
    ev = truth.evacuations
    assert (ev.without_solution == ev.people - ev.sheltered).all()
    assert (ev.sheltered >= 0).all() and (ev.sheltered <= ev.people).all()
    days = list(truth.daily_population.index)
    assert days[0] == TODAY - dt.timedelta(days=119) and days[-1] == TODAY
    assert days == [days[0] + dt.timedelta(days=i) for i in range(120)]
    assert truth.daily_population.dtype.kind == "i"


def test_camps_are_apart_and_successors_near(base: demo.DemoBase) -> None:
    camps = camps_by_id(base)
    pairs = {(c, row["predecessor"]) for c, row in camps.items() if row["predecessor"]}
    assert len(pairs) >= 2
    for camp, pred in pairs:
        new, old = camps[camp], camps[pred]
        gap = metres(new["latitude"], new["longitude"], old["latitude"], old["longitude"])
        assert 200 <= gap <= 600
        assert old["evacuation"] is not None
        if old["evacuation"] == schema.EVACUATION_PARTIAL:  # part of the people left moved
            evacs = base.truth.evacuations
            dates = evacs[evacs.camp_id == pred].date
            assert any(d < new["start"] <= d + dt.timedelta(days=14) for d in dates)
            assert old["end"] is None or old["end"] >= new["start"]
        else:
            assert old["end"] < new["start"] <= old["end"] + dt.timedelta(days=14)
    ids = list(camps)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if (a, b) in pairs or (b, a) in pairs:
                continue
            ca, cb = camps[a], camps[b]
            gap = metres(ca["latitude"], ca["longitude"], cb["latitude"], cb["longitude"])
            assert gap >= 399, (a, b)


def test_places_are_in_paris_and_inner_suburbs(base: demo.DemoBase) -> None:
    camps = base.truth.camps
    assert camps.latitude.between(48.80, 48.95).all()
    assert camps.longitude.between(2.25, 2.45).all()
    assert set(camps.arrondissement) <= set(schema.ARRONDISSEMENTS)
    assert set(camps.site_type) <= set(schema.SITE_TYPES)
    for place in demo.PLACES:
        assert place.arrondissement in schema.ARRONDISSEMENTS
        assert place.site_type in schema.SITE_TYPES
    for i, a in enumerate(demo.PLACES):
        for b in demo.PLACES[i + 1 :]:
            assert metres(a.lat, a.lon, b.lat, b.lon) >= 400, (a.name, b.name)


def test_camp_sizes_vary(base: demo.DemoBase) -> None:
    peak = Counter[str]()
    for rec in usable(base):
        count = lenient(rec["fields"].get("Personnes")) or 0
        camp = base.truth.passage_camp[rec["id"]]
        peak[camp] = max(peak[camp], count)
    assert sum(1 for v in peak.values() if v >= 80) >= 2
    assert sum(1 for v in peak.values() if v <= 40) >= 8


def test_three_associations_with_their_schedule(base: demo.DemoBase) -> None:
    evac_ids = {
        rec["id"]
        for rec in base.passages
        if rec["fields"].get("Évacuation", schema.EVACUATION_NONE) != schema.EVACUATION_NONE
    }
    weekdays: dict[str, set[int]] = defaultdict(set)
    for rec in usable(base):
        f = rec["fields"]
        local = when(rec)
        if rec["id"] in evac_ids:  # that morning, or in the next evening's round
            assert 6 <= local.hour < 10 or local.hour >= 18 or local.time() <= dt.time(0, 50)
            continue
        # Utopia 56's rounds may end after midnight (until 00:50).
        assert local.time() >= dt.time(18) or local.time() <= dt.time(0, 50), rec
        created = when(rec, "createdTime")
        assert dt.timedelta(minutes=1) < created - local < dt.timedelta(minutes=30)
        weekdays[f["Association"]].add(local.weekday())
        assert not PHONE_RE.search(f["Équipe"]) and len(f["Équipe"].split()) <= 3
    assert weekdays["Croix-Rouge française"] == {1, 3, 5}
    assert weekdays["Action contre la Faim"] == {0, 2, 4}
    assert len(weekdays["Utopia 56"]) == 7


def test_counts_are_consistent(base: demo.DemoBase) -> None:
    for rec in usable(base):
        if base.truth.messy.get(rec["id"]):
            continue
        f = rec["fields"]
        people = f["Personnes"]
        parts = ("Hommes seuls", "Femmes seules", "Enfants", "Mineurs non accompagnés")
        assert sum(f.get(name, 0) for name in parts) <= people
        assert f.get("Familles", 0) <= people
        for name in COUNT_NAMES:
            assert f.get(name, 0) >= 0


def test_evacuations_are_reported_and_end_camps(base: demo.DemoBase) -> None:
    """An evacuation is reported by a witness that morning (and maybe by a second
    association the same morning or the next day), or, when nobody saw it, only by the
    status of the next visit (that evening or the next one), which counts nobody."""
    camps = by_camp(base)
    ways: Counter[str] = Counter()
    for ev in rows(base.truth.evacuations):
        recs, date = camps[ev["camp_id"]], ev["date"]
        reports = [
            r
            for r in recs
            if r["fields"].get("Évacuation") == ev["kind"]
            and date <= when(r).date() <= date + dt.timedelta(days=1)
        ]
        later = [r for r in recs if round_day(r) > date and r not in reports]
        if not reports:
            assert ev["kind"] != schema.EVACUATION_PARTIAL
            found = [
                r
                for r in recs
                if round_day(r) in (date, date + dt.timedelta(days=1))
                and r["fields"]["Statut du site"] in {"Évacué", "Démantelé"}
            ]
            assert found and all(r["fields"]["Personnes"] == 0 for r in found)
            ways["status only"] += 1
        else:
            assert 6 <= when(reports[0]).hour < 10 and when(reports[0]).date() == date
            ways["twice" if len(reports) > 1 else "once"] += 1
            assert len({r["fields"]["Association"] for r in reports}) == len(reports) <= 2
            for r in reports:
                f = r["fields"]
                assert f["Personnes"] == ev["people"]
                assert f["Personnes mises à l'abri"] == ev["sheltered"]
        assert base.truth.daily_population[date] >= ev["people"]
        if ev["kind"] == schema.EVACUATION_PARTIAL:
            assert all(r["fields"]["Statut du site"] == "Actif" for r in reports)
        else:
            assert all(r["fields"]["Statut du site"] in {"Évacué", "Démantelé"} for r in reports)
            assert all(
                r["fields"]["Statut du site"] in {"Vide", "Évacué", "Démantelé"} for r in later
            )
            assert all(when(r).date() <= date + dt.timedelta(days=2) for r in later)
    assert ways["once"] and ways["twice"] and ways["status only"], ways
    full = base.truth.evacuations[base.truth.evacuations.kind != schema.EVACUATION_PARTIAL]
    cutoff = TODAY - dt.timedelta(days=demo.QUIET_DAYS)
    assert (full.date <= cutoff).all()  # outside the last 30 days


def test_every_active_camp_is_visited_often_enough(base: demo.DemoBase) -> None:
    first = TODAY - dt.timedelta(days=119)
    visits = by_camp(base)
    gaps: list[int] = []
    for camp in rows(base.truth.camps):
        cid, start, end = camp["camp_id"], camp["start"], camp["end"]
        stop = end if end is not None else TODAY
        days = sorted({d for r in visits[cid] if (d := round_day(r)) <= stop})
        assert days, cid
        assert (days[0] - max(start, first)).days <= (2 if start >= first else 5), cid
        steps = [(b - a).days for a, b in itertools.pairwise(days)]
        assert max(steps, default=0) <= 6, cid
        assert (stop - days[-1]).days <= 5, cid
        gaps += steps
    assert any(g > 3 for g in gaps)  # coverage gaps exist
    latest = max(when(r).date() for r in usable(base))
    assert (TODAY - latest).days <= 2


def test_all_dates_within_period(base: demo.DemoBase) -> None:
    first = base.truth.daily_population.index[0]
    for rec in base.passages:
        if "Date" in rec["fields"]:
            assert first <= when(rec).date() <= TODAY
        assert when(rec, "createdTime").date() <= TODAY


# --------------------------------------------------------------------------- mess


def test_messy_rate_and_tags(base: demo.DemoBase) -> None:
    messy = base.truth.messy
    assert set(base.truth.passage_camp) == {rec["id"] for rec in base.passages}
    assert set(messy) <= set(base.truth.passage_camp)
    assert 0.01 <= len(messy) / len(base.passages) <= 0.10
    tags = Counter(messy.values())
    assert set(tags) >= REQUIRED_TAGS, REQUIRED_TAGS - set(tags)
    unusable = sum(tags[t] for t in UNUSABLE)
    assert unusable / len(base.passages) <= 0.01


def test_duplicates(base: demo.DemoBase) -> None:
    by_id = {rec["id"]: rec for rec in base.passages}
    dups = base.truth.duplicate_of
    assert dups
    for dup, orig in dups.items():
        assert base.truth.messy[dup] == "duplicate_submission"
        assert orig not in dups and orig not in base.truth.messy
        assert by_id[dup]["fields"] == by_id[orig]["fields"]
        delay = when(by_id[dup], "createdTime") - when(by_id[orig], "createdTime")
        assert dt.timedelta(minutes=1) <= delay <= dt.timedelta(minutes=10)
        assert base.truth.passage_camp[dup] == base.truth.passage_camp[orig]


def test_each_mess_is_what_its_tag_says(base: demo.DemoBase) -> None:
    camps = camps_by_id(base)
    position = ("Site", "Latitude", "Longitude")
    for rec in base.passages:
        tag = base.truth.messy.get(rec["id"])
        f = rec["fields"]
        comment = f.get("Commentaire", "")
        has_pii = bool(PHONE_RE.search(comment) or EMAIL_RE.search(comment))
        assert has_pii == (tag == "pii_in_comment") or tag == "duplicate_submission"
        if tag is None or tag == "duplicate_submission":
            continue
        camp = camps[base.truth.passage_camp[rec["id"]]]
        home = (camp["latitude"], camp["longitude"])
        if tag == "number_as_text":
            texts = [v for n, v in f.items() if n in COUNT_NAMES and isinstance(v, str)]
            assert texts and all(lenient(v) is not None for v in texts)
        elif tag in ("coords_in_text", "coords_in_text_comma", "map_link"):
            assert not any(n in f for n in position)
            numbers = re.findall(r"\d+[.,]\d+", f["Localisation"])
            lat, lon = (float(x.replace(",", ".")) for x in numbers[:2])
            assert metres(lat, lon, *home) < 60
            assert f["Localisation"].startswith("http") == (tag == "map_link")
            assert ("," in numbers[0]) == (tag == "coords_in_text_comma")
        elif tag == "swapped_latlon":
            lat, lon = f["Longitude"], f["Latitude"]
            assert metres(lat, lon, *home) < 60
        elif tag == "no_date":
            assert "Date" not in f
        elif tag == "no_position":
            assert not any(n in f for n in position)
            assert not re.search(r"\d", f["Localisation"])
        elif tag == "negative_count":
            assert any(isinstance(v, int) and v < 0 for v in f.values())
        elif tag == "subcount_over_total":
            assert f["Hommes seuls"] > f["Personnes"]
        elif tag in SELECT_TAGS:
            assert f["Association"] not in schema.ASSOCIATIONS or not set(
                f.get("Besoins", [])
            ) <= set(schema.NEEDS)


def test_phone_formats_vary(base: demo.DemoBase) -> None:
    comments = [
        rec["fields"]["Commentaire"]
        for rec in base.passages
        if base.truth.messy.get(rec["id"]) == "pii_in_comment"
    ]
    found = [m.group() for c in comments if (m := PHONE_RE.search(c))]
    assert found


def test_unusable_records_are_small_camps(base: demo.DemoBase) -> None:
    by_id = {rec["id"]: rec for rec in base.passages}
    for rid, tag in base.truth.messy.items():
        if tag in UNUSABLE:
            assert (lenient(by_id[rid]["fields"]["Personnes"]) or 0) <= 60


def test_every_passage_has_a_position_or_is_tagged(base: demo.DemoBase) -> None:
    for rec in base.passages:
        f = rec["fields"]
        has_position = "Site" in f or "Latitude" in f or re.search(r"\d", f.get("Localisation", ""))
        assert has_position or base.truth.messy.get(rec["id"]) == "no_position"


# --------------------------------------------------------------------------- population


@pytest.mark.parametrize("seed", [56, 1, 2])
def test_estimator_tracks_true_population(seed: int) -> None:
    demo_base = demo.generate(seed=seed, days=120, today=TODAY)
    population = demo_base.truth.daily_population
    for day in population.index[-30:]:
        truth = int(population[day])
        assert abs(estimate(demo_base, day) - truth) <= 0.05 * truth, (seed, day)
    assert naive(demo_base, TODAY) > 1.5 * int(population[TODAY])


@pytest.mark.slow
def test_a_large_base_has_the_benchmarks_size() -> None:
    # Its generation time is the benchmark's business (ratios), not a test's.
    big = demo.generate(seed=56, days=365, today=TODAY, n_camps=400)
    assert 80_000 <= len(big.passages) <= 150_000


# --------------------------------------------------------------------------- snapshot time


def test_demo_snapshot_of_today_holds_nothing_later_than_its_time(tmp_path: Path) -> None:
    settings = load_settings(write_demo_config(tmp_path)).with_values(demo__days=10)
    noon = pd.Timestamp(dt.datetime.combine(TODAY, dt.time(12)), tz="Europe/Paris")
    whole = generate_demo(settings, TODAY)
    assert any(when(rec) > noon for rec in whole.passages if "Date" in rec["fields"])
    store = ensure_demo_snapshot(settings, today=TODAY, now=noon)
    ds = build_dataset(settings, store, now=noon)
    assert ds.synced_at == noon  # "Données à jour au 26/11/2026 12:00"
    assert len(ds.passages) > 0
    assert ds.passages["date"].max() <= noon
    assert ds.passages["created_time"].max() <= noon
    assert ds.sites["created_time"].max() <= noon
    # nothing is flagged as dated in the future either
    assert not ds.passages["flag_codes"].map(lambda codes: "flag.future_date" in codes).any()


def test_demo_snapshot_of_a_past_day_holds_that_whole_day(tmp_path: Path) -> None:
    settings = load_settings(write_demo_config(tmp_path)).with_values(demo__days=10)
    next_morning = pd.Timestamp(
        dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(8)), tz="Europe/Paris"
    )
    whole = generate_demo(settings, TODAY)
    store = ensure_demo_snapshot(settings, today=TODAY, now=next_morning)
    assert store.count("passages") == len(whole.passages)
    ds = build_dataset(settings, store, now=next_morning)
    assert ds.synced_at is not None and ds.synced_at.date() == TODAY
    assert ds.passages["date"].max() <= ds.synced_at


def test_demo_exercises_what_makes_the_population_hard_to_estimate(base: demo.DemoBase) -> None:
    """Issue 20: rounds after midnight, same-round counts that disagree, a camp formed by
    people leaving a partially evacuated camp (evacuation reports are checked above)."""
    assert any(when(r).hour < 5 for r in usable(base) if "Évacuation" not in r["fields"])
    rounds: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for rec in usable(base):
        count = lenient(rec["fields"].get("Personnes"))
        if count and rec["fields"].get("Évacuation", schema.EVACUATION_NONE) == "Aucune":
            rounds[base.truth.passage_camp[rec["id"]], round_day(rec)].append(count)
    assert any(len(c) > 1 and min(c) < 0.9 * max(c) for c in rounds.values())
    camps = base.truth.camps.set_index("camp_id")
    partial = camps[camps.evacuation == schema.EVACUATION_PARTIAL].index
    assert camps.predecessor.isin(partial).any()
