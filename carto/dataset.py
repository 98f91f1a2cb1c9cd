"""From settings to analysis-ready frames: open the snapshot, normalise, group into camps.

The demo goes through the same path as live data: the generator's records are written
into a snapshot store (rebuilt when the day or the demo settings change, so the demo
always looks current), then read back and normalised like Airtable records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from carto import demo, prepared, schema
from carto.normalise import Normalised, NormaliseOptions, normalise
from carto.options import AirtableTables, AnalysisOptions, DemoOptions, first_date
from carto.settings import Settings
from carto.store import SnapshotStore

# Bump when the generator changes, so that existing demo snapshots are rebuilt.
DEMO_GENERATOR_VERSION = 3


CacheKey = tuple[str, int, str]  # (store instance, snapshot version, role variant)


@dataclass(frozen=True)
class Dataset:
    """Normalised frames of one snapshot version, passages grouped into camps."""

    passages: pd.DataFrame
    sites: pd.DataFrame
    quarantine: pd.DataFrame
    version: int
    is_demo: bool
    synced_at: pd.Timestamp | None
    today: dt.date
    # What distinguishes datasets of the same snapshot version (e.g. a role's privacy
    # view): part of every cache key, with the version.
    variant: str = ""
    # The store the snapshot came from (its instance id): two stores can be at the same
    # version (a demo and a live base, two cities), and must not share cached frames.
    source: str = ""

    @property
    def cache_key(self) -> CacheKey:
        return self.source, self.version, self.variant


def normalise_options(settings: Settings, now: pd.Timestamp | None = None) -> NormaliseOptions:
    """Normalisation options from settings (field mappings, area, limits)."""
    tz = settings["general.timezone"]
    lat_min, lat_max, lon_min, lon_max = (float(x) for x in settings["quality.area_bounds"])
    tables = AirtableTables.from_settings(settings)
    return NormaliseOptions(
        passages_map=schema.field_mapping(schema.PASSAGES, settings["airtable.passages_fields"]),
        sites_map=schema.field_mapping(schema.SITES, settings["airtable.sites_fields"]),
        timezone=tz,
        now=now if now is not None else pd.Timestamp.now(tz=tz),
        max_count=settings["quality.max_count"],
        first_date=first_date(settings),
        area_bounds=(lat_min, lat_max, lon_min, lon_max),
        base_id="" if settings.demo else tables.base_id,
        table_names=tables.names,
    )


def demo_key(settings: Settings, today: dt.date) -> dict[str, object]:
    """What identifies a demo snapshot: generator version, seed, length and day."""
    opts = DemoOptions.from_settings(settings)
    return {
        "demo_generator": DEMO_GENERATOR_VERSION,
        "demo_seed": opts.seed,
        "demo_days": opts.days,
        "demo_camps": opts.camps,
        "demo_today": today.isoformat(),
    }


def demo_as_of(today: dt.date, now: pd.Timestamp) -> pd.Timestamp:
    """The moment a demo snapshot of ``today`` is taken at ``now`` (aware): ``now`` on the
    current day, whose evening rounds have not happened yet; the end of any other day."""
    if today == now.date():
        return now
    return pd.Timestamp(dt.datetime.combine(today, dt.time(23, 59, 59))).tz_localize(now.tz)


def write_demo_snapshot(
    store: SnapshotStore,
    base: demo.DemoBase,
    key: dict[str, object],
    as_of: pd.Timestamp | None = None,
) -> demo.DemoBase:
    """Store a generated demo base the way a sync at ``as_of`` (default: now, in Paris)
    stores Airtable records: nothing created or dated later is stored, and the snapshot's
    time ("Données à jour au …") is ``as_of``. Returns what was stored."""
    if as_of is None:
        as_of = demo_as_of(base.today, pd.Timestamp.now(tz=demo.PARIS))
    stored = demo.known_at(base, as_of)
    with store.transaction() as conn:
        store.replace_table(conn, "sites", stored.sites)
        store.replace_table(conn, "passages", stored.passages)
        store.set_meta(
            conn, {**key, "source": "demo", "synced_at": as_of.tz_convert("UTC").isoformat()}
        )
    return stored


def generate_demo(settings: Settings, today: dt.date) -> demo.DemoBase:
    """The demo base the settings describe."""
    opts = DemoOptions.from_settings(settings)
    return demo.generate(seed=opts.seed, days=opts.days, today=today, n_camps=opts.camps)


def ensure_demo_snapshot(
    settings: Settings, today: dt.date | None = None, now: pd.Timestamp | None = None
) -> SnapshotStore:
    """The demo snapshot store, generated when missing or of another day. Taken at ``now``
    (default: the clock), it holds nothing later than that: built on a morning, it shows
    the rounds up to the evening before, as a real base synced then would."""
    now = now if now is not None else pd.Timestamp.now(tz=settings["general.timezone"])
    today = today or now.date()
    store = SnapshotStore(settings.store_location)
    key = demo_key(settings, today)
    if any(store.meta(k) != v for k, v in key.items()):
        base = generate_demo(settings, today)
        write_demo_snapshot(store, base, key, demo_as_of(today, now))
    return store


def open_store(settings: Settings, today: dt.date | None = None) -> SnapshotStore:
    """The snapshot store the settings point to (the demo one in demo mode)."""
    if settings.demo:
        return ensure_demo_snapshot(settings, today)
    return SnapshotStore(settings.store_location)


def normalise_store(store: SnapshotStore, options: NormaliseOptions) -> Normalised:
    """Normalise every record of a store."""
    return normalise(store.records("sites"), store.records("passages"), options)


def recipe(settings: Settings) -> prepared.Recipe:
    """What the store's ready frames are built with (carto/prepared.py)."""
    return prepared.Recipe.of(normalise_options(settings), AnalysisOptions.from_settings(settings))


def build_dataset(
    settings: Settings, store: SnapshotStore, now: pd.Timestamp | None = None
) -> Dataset:
    """The analysis-ready dataset: the store's ready frames (normalised and grouped into
    camps at sync, carto/prepared.py; built once and stored when missing), with the
    flags that depend on the clock added for ``now``."""
    options = normalise_options(settings, now)
    frames = prepared.load(
        store, prepared.Recipe.of(options, AnalysisOptions.from_settings(settings))
    )
    version = frames.version
    passages = prepared.with_future_flags(frames.passages, options.now)
    synced = store.meta("synced_at")
    demo_today = store.meta("demo_today")
    today = (
        dt.date.fromisoformat(demo_today)
        if settings.demo and demo_today
        else (options.now or pd.Timestamp.now(tz=options.timezone)).date()
    )
    return Dataset(
        passages=passages,
        sites=frames.sites,
        quarantine=frames.quarantine,
        version=version,
        is_demo=settings.demo,
        synced_at=pd.Timestamp(synced).tz_convert(options.timezone) if synced else None,
        today=today,
        source=store.instance_id(),
    )
