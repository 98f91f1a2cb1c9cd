"""Cached access to settings and data for the pages (the only data entry point of pages).

The dataset is cached on the snapshot version with ``st.cache_resource``: one shared,
read-only copy per version, instead of a pickled copy per rerun (copy-on-write keeps
pages from changing it by accident). Derived frames are cached on that version too,
never on a DataFrame argument (Streamlit would only hash a sample of a large frame).

Privacy (docs/architecture.md §5): the dataset is the role's (``privacy.apply``); every result a
page shows is protected here too, outside the caches: frames through
``privacy.protect_frame``, single figures as ``privacy.Count`` and changes between
periods through ``privacy.delta``, so that a partner never sees a derived count, mean,
difference or delta in (0, threshold); figures shown with their total are masked with
their complements (``carto.complements``, the same choice as the exports').
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from streamlit.runtime import Runtime

from carto import audit, base_setup, complements, filters, memory, privacy, schema, sync
from carto.airtable_client import AirtableError
from carto.analytics import (
    alerts,
    camp_tables,
    camps,
    coverage,
    events,
    figures,
    history,
    hotspots,
    needs,
    places,
    population,
    quality,
    successors,
    zones,
)
from carto.analytics import weeks as weeks_
from carto.analytics.figures import Period
from carto.dataset import CacheKey, Dataset, build_dataset, open_store
from carto.export import contents as export_contents
from carto.export import formats, summary
from carto.export import names as export_names
from carto.filters import Filters
from carto.i18n import format_date, format_int, t
from carto.options import AirtableTables, AnalysisOptions, SyncOptions
from carto.settings import ConfigError, Settings, config_path, load_settings
from carto.store import AuthStore, SnapshotStore, location_name
from carto.ui import auth, errors

memory.tune()
log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _settings(path: str, mtime: float) -> Settings:
    return load_settings()


def _current_settings() -> Settings:
    """The settings of the config file as it is now (cached until it changes)."""
    path = config_path()
    return _settings(str(path), path.stat().st_mtime if path.exists() else 0.0)


def settings() -> Settings:
    """The application's settings (reread when the file changes); a broken config stops
    the page with what to fix. Every page calls it first, so it also installs the French
    error message (``errors.install``) on runs that Streamlit starts without app.py."""
    errors.install()
    try:
        return _current_settings()
    except (ConfigError, ValueError) as exc:
        errors.stop_on_config_error(exc, config_path().resolve())


# The snapshot version each store's data was last read at. The caches are keyed on the
# version, so older entries are never hit again, but they would stay until pushed out
# by count: each version's dataset, role variants, filtered frames and figures.
_versions: dict[str, int] = {}
_versions_lock = threading.Lock()


def _drop_older_versions(location: str, version: int, collect: bool = False) -> bool:
    """The first time a store is read at a new version, empty every cache and give the
    memory back, so that a process holds the data of one version, not of the last
    few (issue 15: memory does not grow with each refresh); what only a full
    collection frees (``memory.collect_frozen``: 0.15 s at 100,000 passages) once no
    page runs, not in this page's first run. A process reading two
    stores (tests, a demo beside a live base) rebuilds both after either changes.
    With ``collect`` (off the pages' path: ``prepare_version``'s thread), the full
    collection runs in the switch, before the new version is built and while fewer
    objects are alive, instead of later in idle time. Whether this call switched."""
    # The caches are emptied under the lock: a session that reads the new version at the
    # same time waits for it, rather than loading the version into a cache about to be
    # emptied and loading it again after.
    with _versions_lock:
        previous = _versions.get(location)
        _versions[location] = version
        if previous is None or previous == version:
            return False
        st.cache_data.clear()
        st.cache_resource.clear()
        if collect:
            memory.collect_frozen()
            return True
        if memory.wait_collected(0):
            memory.release()
        else:
            # still pending from the last version (pages ran ever since): now, so that
            # frozen garbage waits for one version at most (it collects and trims what
            # release would)
            memory.collect_frozen()
    memory.collect_when_idle(_pages_running)
    return True


# The roles whose dataset the pages asked for, per store: their variants are built again
# with each new version (``prepare_version``), before the pages ask.
_roles: dict[str, set[str]] = {}


def prepare_version(conf: Settings, location: str | None = None) -> bool:
    """Switch to the store's current version if it is new (``_drop_older_versions``)
    and build its dataset and the variants of the roles the pages asked for, once for
    every session: their first runs at that version find them built, or wait on the
    same build (Streamlit's lock per cache key). Whether the version was new (False
    too when the settings no longer point to ``location``).

    It only reads the store: a demo snapshot missing or of another day is written by
    the next page (``open_store``), never here. A watcher that wrote it wrote into
    whatever store the settings name at that moment: in the tests, a watcher left over
    from an earlier test wrote the plain demo over the one a later test had just
    written (a failure seen in CI)."""
    if location is not None and location_name(conf.store_location) != location:
        return False
    store = SnapshotStore(conf.store_location)
    if store.version == 0:
        return False
    with _preparing:
        if not _drop_older_versions(store.location, store.version, collect=True):
            return False
        for role in sorted(_roles.get(store.location, ())):
            _role_dataset(store.location, store.version, privacy.policy_for(role, conf), conf)
    return True


class _Preparing:
    """How many threads prepare a version now: the idle collection waits for them as
    for the pages (it ran during a build, both holding the interpreter in turns)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __enter__(self) -> None:
        with self._lock:
            self.count += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.count -= 1


_preparing = _Preparing()


# How often a server looks for a new snapshot version (one read of the store's version).
VERSION_POLL_SECONDS = 0.5
WATCHER_THREAD = "carto-versions"  # the name of each store's watcher thread
_watched: set[str] = set()
_watched_lock = threading.Lock()


def _watch_versions(location: str) -> None:
    """Once per store, in a server (``streamlit run``), start the thread that prepares
    each new version as soon as it is committed (``prepare_version``): a sync worker's
    refresh is then loaded between two clicks, not in the next page's first run. Not
    under ``AppTest`` (its runtime is a mock), whose tests switch versions themselves."""
    if not _in_server():
        return
    with _watched_lock:
        if location in _watched:
            return
        _watched.add(location)
    threading.Thread(target=_watch_loop, args=(location,), name=WATCHER_THREAD, daemon=True).start()


def _in_server() -> bool:
    return Runtime.exists() and type(Runtime.instance()) is Runtime


def _watch_loop(location: str) -> None:
    """While this process serves pages (``_in_server``) and ``location`` is watched
    (``_watched``: a test's store)."""
    failed = ""  # the last failure logged: once, not every poll
    while location in _watched and _in_server():
        time.sleep(VERSION_POLL_SECONDS)
        try:
            prepare_version(_current_settings(), location)
            failed = ""
        except Exception as exc:  # the next page shows what is wrong; keep watching
            if repr(exc) != failed:
                log.exception("Preparing a new snapshot version failed")
            failed = repr(exc)


# The name Streamlit gives the thread of each script run (its ScriptRunner).
_SCRIPT_THREAD = "ScriptRunner.scriptThread"


def _pages_running() -> bool:
    """Whether a page's script runs in this process (some session's script thread), or
    a new version is being prepared (``prepare_version``)."""
    if _preparing.count:
        return True
    return any(thread.name == _SCRIPT_THREAD for thread in threading.enumerate())


# One entry per version at most (older ones are dropped, ``_drop_older_versions``); two
# for a process that reads two stores.
@st.cache_resource(max_entries=2, show_spinner=False)
def _dataset(location: str, version: int, _settings: Settings) -> Dataset:
    ds = build_dataset(_settings, open_store(_settings))
    # Its hundreds of thousands of lists and dicts (needs, flags) live as long as the
    # version: out of the garbage collector's scans, which they slowed several-fold on
    # every page (they hold no cycle; reference counting still frees them).
    gc.freeze()
    return ds


@st.cache_resource(max_entries=4, show_spinner=False)
def _role_dataset(
    location: str, version: int, policy: privacy.Policy, _settings: Settings
) -> Dataset:
    return privacy.apply(_dataset(location, version, _settings), policy)


def options() -> AnalysisOptions:
    """The analysis options of the current settings (a config edit gives new ones, and
    with them new cache keys)."""
    return AnalysisOptions.from_settings(settings())


def policy() -> privacy.Policy:
    """The privacy policy of the signed-in person's role."""
    conf = settings()
    return privacy.policy_for(auth.require_user(conf).role, conf)


def dataset() -> Dataset:
    """The current dataset as the signed-in person's role sees it (docs/architecture.md §5: privacy
    applied here, so every page and every derived frame sees only that; its
    ``cache_key`` tells the views apart), rebuilt only when the snapshot version
    changes. Stops with a notice when nobody is signed in."""
    conf = settings()
    role = auth.require_user(conf).role
    role_policy = privacy.policy_for(role, conf)
    with st.spinner(t("loading.data")):
        store = open_store(conf)
        if store.version == 0:  # live mode, never synced: start one and say so
            sync.refresh_in_background(conf)
            if conf["sync.app_refresh"]:
                st.warning(t("error.no_snapshot"), icon=":material/cloud_sync:")
            else:  # a sync --watch worker brings the data
                st.warning(t("error.no_snapshot_worker"), icon=":material/cloud_sync:")
            st.stop()
        _drop_older_versions(store.location, store.version)
        _roles.setdefault(store.location, set()).add(role)
        _watch_versions(store.location)
        return _role_dataset(store.location, store.version, role_policy, conf)


@dataclass(frozen=True)
class View:
    """The dataset as the sidebar filters narrow it, over the chosen period."""

    ds: Dataset
    filters: Filters
    period: Period
    passages: pd.DataFrame
    policy: privacy.Policy  # the role's: applied to every derived result
    options: AnalysisOptions  # what every figure is computed with

    @property
    def key(self) -> tuple[object, ...]:
        """What a derived frame depends on besides the call's own arguments: snapshot
        version and role (``Dataset.cache_key``), filters, period and options. The period
        counts even where a function takes no dates: "30 derniers jours" is another
        window tomorrow, and a status filter judges camps at the period's end."""
        return (*self.ds.cache_key, self.filters, self.period, self.options)

    @property
    def figure_key(self) -> tuple[object, ...]:
        """What a chart of the view depends on (``charts.show_cached``): ``key`` (which
        holds the period) and the day (the axis and the partial weeks)."""
        return (*self.key, self.ds.today)


@st.cache_data(max_entries=8, show_spinner=False)
def _places(_ds: Dataset, key: CacheKey) -> pd.DataFrame:
    return places.camp_places(_ds.passages, _ds.sites)


def camp_places(ds: Dataset) -> pd.DataFrame:
    """Name, position and arrondissement of every camp (index ``camp_id``)."""
    return _places(ds, ds.cache_key)


def zone_caption(v: View) -> str:
    """What a zone is at the configured resolution (size, what it groups), in French."""
    return hotspots.zone_caption(v.options.zone_resolution)


@st.cache_resource(max_entries=16, show_spinner=False)
def _filtered(
    _ds: Dataset,
    key: CacheKey,
    f: Filters,
    start: pd.Timestamp,
    end: pd.Timestamp,
    opts: AnalysisOptions,
) -> pd.DataFrame:
    period = Period(start, end)
    return filters.narrow(_ds.passages, _ds.sites, f, period, opts.day_start(end), opts.active_days)


def view(ds: Dataset, f: Filters, period: Period) -> View:
    """The filtered view every page draws from (the whole dataset when nothing narrows)."""
    opts = options()
    passages = ds.passages
    if f.narrows:
        passages = _filtered(ds, ds.cache_key, f, period.start, period.end, opts)
    return View(ds, f, period, passages, policy(), opts)


@st.cache_data(max_entries=64, show_spinner=False)
def _camp_states(_v: View, key: tuple[object, ...], as_of: dt.date) -> pd.DataFrame:
    opts = _v.options
    return camps.camp_states(_v.passages, _v.ds.sites, opts.day_start(as_of), opts.active_days)


def camp_states(v: View, as_of: dt.date) -> pd.DataFrame:
    """Each camp's latest state at the end of ``as_of``, in the filtered view (counts
    protected under the role's policy)."""
    return privacy.protect_frame(_camp_states(v, v.key, as_of), v.policy)


@dataclass(frozen=True)
class MapFigures:
    """The figures above the map, on the chosen day."""

    camps: privacy.Count
    people: privacy.Count
    not_visited: privacy.Count
    closed: privacy.Count
    # the estimate of each public the filters chose (code, figure), in filter order
    publics: tuple[tuple[str, privacy.Count], ...] = ()

    @property
    def counted(self) -> list[tuple[str, privacy.Count]]:
        """(French label, figure) of who the map counts: the estimated people, or the
        estimate of each public the filters chose."""
        if self.publics:
            return [
                (t("map.metric.public", public=t(f"filter.public.{p}")), n) for p, n in self.publics
            ]
        return [(t("map.metric.people"), self.people)]


def map_figures(v: View, day: dt.date, gap_days: int) -> MapFigures:
    """Active camps, estimated people (and, for each public the filters chose, its
    estimated count), camps not visited for ``gap_days`` days and closed camps on
    ``day``, as the role may see them."""
    states = camp_states(v, day)
    active = states[states["active"]]
    people = estimated_population(v, day, day)["people"].iloc[-1]
    chosen = [p for p in filters.PUBLICS if p in v.filters.publics]
    return MapFigures(
        camps=privacy.count(len(active), v.policy),
        people=privacy.count(people, v.policy),
        not_visited=privacy.count(int((active["days_since_visit"] > gap_days).sum()), v.policy),
        closed=privacy.count(int(states["closed"].sum()), v.policy),
        publics=tuple(
            (p, privacy.count(_public_estimate(v, day, filters.PUBLIC_COUNTS[p]), v.policy))
            for p in chosen
        ),
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _estimated_count(_v: View, key: tuple[object, ...], day: dt.date, column: str) -> float:
    days = population.day_range(pd.Timestamp(day), pd.Timestamp(day))
    window = _v.options.population_window_days
    return float(population.estimated_count(_v.passages, days, window, column).iloc[-1])


def _public_estimate(v: View, day: dt.date, column: str) -> float:
    """The estimate of a public's count on ``day`` (made like the estimated population)."""
    return _estimated_count(v, v.key, day, column)


def zone_coverage(v: View, day: dt.date, resolution: int, gap_days: int) -> pd.DataFrame:
    """Camps and people per H3 zone on ``day`` (counts protected); when the filters
    chose publics, ``people`` counts those publics (``filters.public_count``)."""
    states = camp_states(v, day)
    if v.filters.publics:
        states = states.assign(people=filters.public_count(states, v.filters.publics))
    found = zones.zone_coverage(states, resolution, gap_days)
    return privacy.protect_frame(found, v.policy)


@st.cache_data(max_entries=64, show_spinner=False)
def _population(_v: View, key: tuple[object, ...], start: dt.date, end: dt.date) -> pd.DataFrame:
    o = _v.options  # part of the key
    days = population.day_range(pd.Timestamp(start), pd.Timestamp(end))
    return population.estimated_population(
        _v.passages,
        days,
        o.population_window_days,
        merge_days=o.evacuation_merge_days,
        successor_distance_m=o.successor_distance_m,
        successor_days=o.successor_days,
        hidden_below=_v.policy.small_count_threshold,  # the policy is in the key
    )


def estimated_population(v: View, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Estimated population, its range (``people_low``, ``people_high``) and camps counted,
    per day from ``start`` to ``end`` (counts protected)."""
    return privacy.protect_frame(_population(v, v.key, start, end), v.policy)


def _quality_tables(ds: Dataset) -> AirtableTables:
    """The tables the quality links point to (none in demo mode: no base to link to)."""
    tables = AirtableTables.from_settings(settings())
    return dataclasses.replace(tables, base_id="") if ds.is_demo else tables


def _issues(ds: Dataset, tables: AirtableTables) -> pd.DataFrame:
    issues = quality.issue_list(ds.passages, ds.sites, ds.quarantine, tables.base_id, tables.names)
    return issues.assign(reason=quality.reasons(issues))


def quality_issues(ds: Dataset) -> pd.DataFrame:
    """Every quarantined or flagged record with its reasons (``reason``, in French) and
    Airtable link."""
    return quality_report(ds).issues


@dataclass(frozen=True)
class QualityReport:
    """The data-quality page's figures: records by fate, issues, kinds, weekly trend."""

    counts: quality.RecordCounts
    issues: pd.DataFrame  # ``quality_issues``
    kinds: pd.DataFrame  # status, codes, records, and kind: the code in French
    trend: pd.DataFrame  # week, status, records


# A resource, not data: one shared, read-only report per version, instead of its
# thousands of rows (lists of codes and parameters) unpickled on every rerun.
@st.cache_resource(max_entries=4, show_spinner=False)
def _quality_report(
    _ds: Dataset, key: CacheKey, tables: AirtableTables, timezone: str
) -> QualityReport:
    issues = _issues(_ds, tables)
    trend = quality.weekly_trend(issues, timezone)
    kinds = quality.counts_by_kind(issues)
    names = {c: t(f"kind.{c}") for c in kinds["codes"].unique()}
    return QualityReport(
        counts=quality.record_counts(_ds.passages, _ds.sites, _ds.quarantine, issues),
        issues=issues,
        kinds=kinds.assign(kind=kinds["codes"].map(names).astype("str")),
        trend=trend.reset_index().melt(id_vars="week", var_name="status", value_name="records"),
    )


def quality_report(ds: Dataset) -> QualityReport:
    """What was set aside or flagged in the snapshot, and why (weeks in the configured
    time zone), computed once per snapshot version, role and links."""
    return _quality_report(ds, ds.cache_key, _quality_tables(ds), options().timezone)


@dataclass(frozen=True)
class Freshness:
    """How old the live snapshot is and what the automatic refresh last reported."""

    synced_at: dt.datetime | None
    age_seconds: float
    error: str | None
    interval_seconds: float | None
    budget_used: str
    budget_total: str
    budget_slowed: bool


def freshness() -> Freshness:
    """Start a due refresh in the background (at most one per interval for the whole
    process) and report the state of the snapshot; never waits for Airtable."""
    conf = settings()
    sync.refresh_in_background(conf)
    store = open_store(conf)
    synced = sync.last_synced_at(store)
    outcome = sync.last_refresh()
    budget = sync.budget_status(conf, store)
    now = dt.datetime.now(dt.UTC)
    tz = ZoneInfo(conf["general.timezone"])
    base = SyncOptions.from_settings(conf).refresh_interval_seconds
    return Freshness(
        synced_at=synced.astimezone(tz) if synced else None,
        age_seconds=(now - synced).total_seconds() if synced else 0.0,
        error=outcome.error if outcome is not None else None,
        interval_seconds=budget.refresh_interval_seconds,
        budget_used=format_int(budget.used),
        budget_total=format_int(budget.budget),
        budget_slowed=budget.refresh_interval_seconds is None
        or budget.refresh_interval_seconds > base,
    )


def _check_snapshot(shown_version: int) -> None:
    sync.refresh_in_background(settings())
    if open_store(settings()).version != shown_version:
        auth.rerun_unattended()  # not an activity: the idle timeout keeps running


def watch_for_new_snapshot(shown_version: int, interval_seconds: float | None) -> None:
    """Every interval, start a due refresh and re-run the page when a new snapshot lands.

    Only this small fragment reruns on the timer, not the page."""
    if interval_seconds is None:
        return
    st.fragment(_check_snapshot, run_every=interval_seconds)(shown_version)


@st.cache_data(max_entries=16, show_spinner=False)
def _evacuation_events(_v: View, key: tuple[object, ...]) -> pd.DataFrame:
    opts = _v.options
    return events.evacuation_events(
        _v.passages, _v.ds.sites, opts.population_window_days, opts.evacuation_merge_days
    )


def evacuation_events(v: View) -> pd.DataFrame:
    """Evacuation events of the filtered view (one per camp and evacuation; counts,
    including people left without solution, protected)."""
    return privacy.protect_frame(_evacuation_events(v, v.key), v.policy)


@dataclass(frozen=True)
class Evacuations:
    """The evacuations of the view's period: events, totals that add up, weekly sums."""

    events: pd.DataFrame
    # events, people = sheltered + without_solution + unknown, uncounted events, events
    # per shelter code (``shelter_<code>``), each as the role may see it: "<5" when
    # small, "masqué" when the other figures would give a small one away
    # (``complements.evacuation_complements``)
    totals: dict[str, privacy.Count]
    weekly: pd.DataFrame  # per week: people, sheltered, without_solution, unknown


_EVACUATION_COUNTS = ["people", *figures.OUTCOME_PARTS]


@st.cache_data(max_entries=16, show_spinner=False)
def _evacuation_complements(
    _v: View, key: tuple[object, ...], start: pd.Timestamp, end: pd.Timestamp
) -> complements.EvacuationComplements:
    found = events.events_in(_evacuation_events(_v, key), start, end)
    return complements.evacuation_complements(found, _v.policy)  # the policy is in the key


def evacuations(v: View) -> Evacuations:
    """The period's evacuations as the role may see them (every count protected, and
    masked with the figures that add up to it: the events export masks the same)."""
    found = events.events_in(_evacuation_events(v, v.key), v.period.start, v.period.end)
    masked = _evacuation_complements(v, v.key, v.period.start, v.period.end)
    raw = figures.evacuation_totals(found)
    totals = {
        str(key): privacy.count(value, v.policy, key in masked.totals) for key, value in raw.items()
    }
    weekly = privacy.protect_frame(
        figures.weekly_evacuation_outcomes(found), v.policy, _EVACUATION_COUNTS
    )
    for part in figures.OUTCOME_PARTS:
        weeks = frozenset((week,) for week, which in masked.weekly if which == part)
        weekly = privacy.mask_complements(weekly, part, complements.where(weekly, ["week"], weeks))
    return Evacuations(
        events=privacy.protect_frame(found, v.policy),
        totals=totals,
        weekly=weekly,
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _camp_data(
    _ds: Dataset, key: CacheKey, as_of: dt.date, opts: AnalysisOptions
) -> camp_tables.CampTables:
    return camp_tables.camp_tables(
        _ds.passages,
        _ds.sites,
        as_of,
        active_days=opts.active_days,
        count_window_days=opts.population_window_days,
        successor_distance_m=opts.successor_distance_m,
        successor_days=opts.successor_days,
        timezone=opts.timezone,
        merge_days=opts.evacuation_merge_days,
    )


def camp_data(v: View) -> camp_tables.CampTables:
    """Camps, evacuation events and successor links as known today (unfiltered)."""
    return _camp_data(v.ds, v.ds.cache_key, v.ds.today, v.options)


def history_camps(v: View) -> pd.DataFrame:
    """The camps the Historique page offers: those with passages in the view, latest
    visit first, each with the ``label`` its picker shows."""
    return history.camp_choices(camp_data(v).camps, v.passages)


def successor_chain(v: View, camp_id: str) -> pd.DataFrame:
    """The camps ``camp_id`` followed and that followed it, in order, with how each one
    followed its predecessor (``successors.chain_table``)."""
    built = camp_data(v)
    return successors.chain_table(built.links, built.camps, camp_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _hotspots(_v: View, key: tuple[object, ...], as_of: dt.date) -> pd.DataFrame:
    opts = _v.options
    return hotspots.camp_scores(
        _v.passages,
        camp_states(_v, as_of),
        opts.day_start(as_of),
        opts.population_window_days,
        opts.weights,
    )


def hotspot_factors(v: View, as_of: dt.date) -> pd.DataFrame:
    """Active camps ranked by hotspot score, with the score's factors and reason codes
    but not their French text (counts protected; a score is not a count)."""
    return privacy.protect_frame(_hotspots(v, v.key, as_of), v.policy)


def hotspot_scores(v: View, as_of: dt.date) -> pd.DataFrame:
    """``hotspot_factors`` with each camp's ``reasons`` in French."""
    scores = hotspot_factors(v, as_of)
    return scores.assign(reasons=hotspots.reasons(scores))


def hotspot_zones(v: View, as_of: dt.date) -> pd.DataFrame:
    """Zones ranked by the sum of their camps' scores, with their leading camp's
    ``reasons`` in French (camps and people protected)."""
    scores = privacy.protect_frame(_hotspots(v, v.key, as_of), v.policy)
    found = hotspots.zone_scores(scores, v.options.zone_resolution)
    shown = privacy.protect_frame(found, v.policy)
    return shown.assign(reasons=hotspots.reasons(shown))


@st.cache_data(max_entries=16, show_spinner=False)
def _alerts(_v: View, key: tuple[object, ...], now: pd.Timestamp) -> pd.DataFrame:
    return alerts.protection_alerts(_v.passages, _v.ds.sites, now, _v.options.alert_hours)


def protection_alerts(v: View, as_of: dt.date | None = None) -> pd.DataFrame:
    """Camps with minors or families reported lately and nobody sheltered since, at the
    end of ``as_of`` (default: the data's last day) (counts protected)."""
    now = v.options.day_start(as_of or v.ds.today) + pd.Timedelta(days=1)
    found = _alerts(v, v.key, now)
    return privacy.protect_frame(found, v.policy)


@dataclass(frozen=True)
class _Activity:
    """What the dashboard draws for one period, computed once per view and period."""

    passages: int
    passages_before: int
    services: pd.Series
    services_before: pd.Series
    weekly_passages: pd.DataFrame
    weekly_items: pd.DataFrame
    needs_weekly: pd.DataFrame


@dataclass(frozen=True)
class Trend:
    """A figure of the period and its change against the previous period (None: the
    change is not shown)."""

    now: privacy.Count
    delta: int | None

    @property
    def delta_label(self) -> str | None:
        """The change as a metric shows it, French thousands included ("-1 200"); None
        when not shown. Streamlit writes a number delta the English way ("1200")."""
        return None if self.delta is None else format_int(self.delta)


def trend(now: object, before: object, policy: privacy.Policy) -> Trend:
    """A figure and its change, as ``policy`` lets them be seen."""
    shown, previous = privacy.count(now, policy), privacy.count(before, policy)
    return Trend(shown, privacy.delta(shown, previous, policy))


@dataclass(frozen=True)
class Activity:
    """The dashboard's figures of the period, as the role may see them."""

    population: Trend
    camps: Trend
    passages: Trend
    services: dict[str, Trend]  # by distribution key
    # per day of the period: day, people and its range (people_low, people_high)
    population_series: pd.DataFrame
    weekly_passages: pd.DataFrame
    weekly_items: pd.DataFrame
    needs_weekly: pd.DataFrame
    # Why no change against the previous period is shown (``figures.comparison_gap``:
    # every delta is then None), or None when it is.
    no_comparison: str | None = None
    # The weeks of the period (``weeks.week_spans``): which are cut by its start or end.
    weeks: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    comparison_note: str = ""  # that reason in French, for the page ("" when compared)


@st.cache_data(max_entries=16, show_spinner=False)
def _activity(
    _v: View, key: tuple[object, ...], start: pd.Timestamp, end: pd.Timestamp
) -> _Activity:
    period = Period(start, end)
    previous = period.previous()
    # the columns the weekly figures read (``counted``: the others are not copied)
    rows = figures.in_period(_v.passages, period, ["day", "association", *schema.DISTRIBUTIONS])
    return _Activity(
        passages=len(rows),
        passages_before=len(figures.in_period(_v.passages, previous, ["day"])),
        services=figures.services_delivered(_v.passages, period),
        services_before=figures.services_delivered(_v.passages, previous),
        weekly_passages=weeks_.weekly_passages(rows),
        weekly_items=figures.weekly_items(rows),
        needs_weekly=needs.weekly_needs(_v.passages, start, end),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _passage_complements(
    _v: View, key: tuple[object, ...], start: pd.Timestamp, end: pd.Timestamp
) -> complements.PassageComplements:
    rows = figures.in_period(_v.passages, Period(start, end))
    return complements.passage_complements(rows, _v.policy)  # the policy is in the key


def activity(v: View) -> Activity:
    """Population, camps, passages and services of the view's period against the
    previous one, weekly activity and needs; every figure protected."""
    period, previous = v.period, v.period.previous()
    raw = _activity(v, v.key, period.start, period.end)
    pop = _population(v, v.key, previous.start.date(), period.end.date())
    now, before = pop.loc[period.end], pop.loc[previous.end]
    series = pop.loc[period.start : period.end].reset_index(names="day")
    series = series[["day", "people", "people_low", "people_high"]]
    policy = v.policy
    first = v.ds.passages["day"].min() if len(v.ds.passages) else None
    gap = figures.comparison_gap(period, v.filters.period == "tout", first, raw.passages_before)

    def change(now: object, before: object) -> Trend:
        found = trend(now, before, policy)
        return found if gap is None else Trend(found.now, None)

    masked = _passage_complements(v, v.key, period.start, period.end)
    passages = change(raw.passages, raw.passages_before)
    if masked.total:
        passages = Trend(privacy.count(raw.passages, policy, complement=True), None)
    weekly = privacy.protect_frame(raw.weekly_passages, policy)
    chosen = complements.where(weekly, ["week", "association"], masked.weekly)
    return Activity(
        population=change(now["people"], before["people"]),
        camps=change(now["camps"], before["camps"]),
        passages=passages,
        services={
            key: change(raw.services[key], raw.services_before[key]) for key in schema.DISTRIBUTIONS
        },
        population_series=privacy.protect_frame(series, policy),
        weekly_passages=privacy.mask_complements(weekly, "passages", chosen),
        weekly_items=privacy.protect_frame(raw.weekly_items, policy),
        needs_weekly=privacy.protect_frame(raw.needs_weekly, policy),
        no_comparison=gap,
        comparison_note=_comparison_note(gap, previous, first),
        weeks=weeks_.week_spans(period.start, period.end),
    )


def _comparison_note(gap: str | None, previous: Period, first: pd.Timestamp | None) -> str:
    if gap is None:
        return ""
    return t(
        f"dash.no_comparison.{gap}",
        start=format_date(previous.start),
        end=format_date(previous.end),
        first=format_date(first) if first is not None and pd.notna(first) else "—",
    )


# The live base's schema is checked once per process, in the background (one API call),
# so that a renamed or retyped field is reported in words instead of breaking a page.
_schema_problems: dict[str, list[str]] = {}
_schema_checks_started: set[str] = set()
_schema_lock = threading.Lock()


def _check_schema(conf: Settings, base_id: str) -> None:
    try:
        found = [p.message for p in base_setup.check_schema(conf)]
    except AirtableError:
        found = []  # Airtable unreachable: the freshness warning already says so
    _schema_problems[base_id] = found


def schema_problems() -> list[str]:
    """Differences between the live base and the configured fields, in French (empty
    until the background check has run, and in demo mode)."""
    conf = settings()
    if conf.demo:
        return []
    base_id = conf["airtable.base_id"]
    with _schema_lock:
        if base_id not in _schema_checks_started:
            _schema_checks_started.add(base_id)
            threading.Thread(target=_check_schema, args=(conf, base_id), daemon=True).start()
    return _schema_problems.get(base_id, [])


@st.cache_data(max_entries=16, show_spinner=False)
def _weekly_needs(_v: View, key: tuple[object, ...]) -> pd.DataFrame:
    return needs.weekly_needs(_v.passages)


def weekly_needs(v: View) -> pd.DataFrame:
    """Needs against deliveries per item and week over the whole history (counts
    protected)."""
    return privacy.protect_frame(_weekly_needs(v, v.key), v.policy)


_FORECAST_COUNTS = [*needs.MEASURES, *(f"last_{m}" for m in needs.MEASURES), "need", "usual"]


@st.cache_data(max_entries=16, show_spinner=False)
def _camp_weeks(_v: View, key: tuple[object, ...], as_of: dt.date, weeks: int) -> pd.DataFrame:
    return needs.camp_weeks(_v.passages, camp_places(_v.ds), as_of, weeks)


@st.cache_data(max_entries=16, show_spinner=False)
def _forecast(
    _v: View, key: tuple[object, ...], breakdown: str, as_of: dt.date, weeks: int
) -> pd.DataFrame:
    """The forecast of one breakdown: summed from the camps' weeks where a partner's
    complements read all three (``_needs_complements``), else from the passages (the
    total, most often the only one read, costs less than the camps' weeks)."""
    if _v.policy.small_count_threshold > 1:
        weekly = _camp_weeks(_v, key, as_of, weeks)
        return needs.breakdown_forecast(weekly, breakdown, as_of, weeks)
    by = needs.breakdown_labels(_v.passages, camp_places(_v.ds), breakdown)
    return needs.forecast(_v.passages, as_of, weeks, by=by)


def _protect_forecast(
    forecast: pd.DataFrame,
    policy: privacy.Policy,
    masked: complements.NeedsComplements = complements.NO_NEEDS_COMPLEMENT,
    breakdown: str = "total",
) -> pd.DataFrame:
    """A forecast as ``policy`` lets it be seen: means and whole quantities protected,
    and the figures ``masked`` names on the rows of ``breakdown`` masked as complements;
    the gap (a difference) hidden when small either way, and not shown at all (NaN,
    ``gap_hidden``) when the need or the usual delivery is suppressed: it would give the
    hidden one away."""
    shown = privacy.protect_frame(forecast, policy, _FORECAST_COUNTS)
    if masked.cells:
        keyed = shown if "group" in shown.columns else shown.assign(group="")
        for measure in complements.NEEDS_MEASURES:
            chosen = complements.where(keyed, ["group", "item"], masked.of(breakdown, measure))
            shown = privacy.mask_complements(shown, measure, chosen)
    if policy.small_count_threshold <= 1:
        return shown.assign(gap_suppressed=False, gap_hidden=False)
    flags = [f"{c}{privacy.SUPPRESSED_SUFFIX}" for c in ("need", "usual")]
    hidden = shown[flags].fillna(False).astype(bool).any(axis=1)
    small = shown["gap"].map(lambda g: privacy.is_small(g, policy)).astype(bool) & ~hidden
    return shown.assign(
        gap=shown["gap"].mask(hidden | small),
        gap_suppressed=small,
        gap_hidden=hidden,
    )


@dataclass(frozen=True)
class NeedsPlan:
    """What to bring next week, per item (and per group), as the role may see it."""

    week_start: pd.Timestamp  # the Monday of next week
    week_end: pd.Timestamp  # its Sunday
    breakdown: str  # one of ``needs.BREAKDOWNS``
    rows: pd.DataFrame  # protected forecast rows (need, usual, gap, camps…)
    labels: pd.DataFrame  # the same rows as shown: group, item, need, usual, gap, camps
    gap_hidden: bool  # some gap is not shown, because the need or the usual is hidden


@st.cache_data(max_entries=16, show_spinner=False)
def _needs_complements(
    _v: View, key: tuple[object, ...], as_of: dt.date, weeks: int
) -> complements.NeedsComplements:
    plans = {b: _forecast(_v, key, b, as_of, weeks) for b in needs.BREAKDOWNS}
    zone_of = needs.camp_zones(_camp_weeks(_v, key, as_of, weeks))  # read for the plans
    return complements.needs_complements(plans, zone_of, _v.policy)  # the policy is in the key


def needs_plan(v: View, weeks: int, breakdown: str = "total") -> NeedsPlan:
    """Next week's needs in whole units against the usual weekly deliveries, for the
    whole view or per arrondissement or camp (``needs.BREAKDOWNS``); rows with nothing
    needed nor usually delivered are left out of a breakdown. The breakdowns are one
    table: a figure that the others would give back is masked with it
    (``complements.needs_complements``)."""
    masked = complements.NO_NEEDS_COMPLEMENT
    if v.policy.small_count_threshold > 1:
        masked = _needs_complements(v, v.key, v.ds.today, weeks)
    forecast = _forecast(v, v.key, breakdown, v.ds.today, weeks)
    if breakdown != "total":
        keep = forecast["need"].fillna(0).gt(0) | forecast["usual"].fillna(0).gt(0)
        forecast = forecast[keep]
    rows = _protect_forecast(forecast, v.policy, masked, breakdown).reset_index(drop=True)
    monday = weeks_.monday(v.ds.today) + pd.Timedelta(days=7)
    labels = pd.DataFrame(
        {
            "group": rows["group"] if "group" in rows.columns else "",
            "item": rows["item"].map(lambda i: t(f"needs.item.{i}")),
            "need": privacy.count_labels(rows, "need", v.policy),
            "usual": privacy.count_labels(rows, "usual", v.policy),
            "gap": _signed_labels(rows, v.policy),
            "camps": privacy.count_labels(rows, "camps", v.policy),
        }
    ).astype("str")
    return NeedsPlan(
        week_start=monday,
        week_end=monday + pd.Timedelta(days=6),
        breakdown=breakdown,
        rows=rows,
        labels=labels,
        gap_hidden=bool(rows["gap_hidden"].any()),
    )


def _signed_labels(rows: pd.DataFrame, policy: privacy.Policy) -> pd.Series:
    """Gaps as shown: "+12", "−3", "0", "<5" when small, "—" when not shown."""
    plain = privacy.count_labels(rows, "gap", policy)
    return pd.Series(
        [
            ("+" + text if g > 0 else text.replace("-", "\u2212"))
            if pd.notna(g) and not small
            else text
            for g, small, text in zip(
                rows["gap"].tolist(), rows["gap_suppressed"].tolist(), plain.tolist(), strict=True
            )
        ],
        index=rows.index,
        dtype="str",
    )


@dataclass(frozen=True)
class Coverage:
    """Who covers what in the view's period, and the visits two associations made twice."""

    weekday_passages: pd.DataFrame  # association × weekday, protected (NaN when hidden)
    weekday_labels: pd.DataFrame  # the same, as shown: French numbers, "<5"
    pairs: pd.DataFrame
    items_twice: dict[str, privacy.Count]  # by distribution key, given out twice


@st.cache_data(max_entries=16, show_spinner=False)
def _coverage(
    _v: View, key: tuple[object, ...], start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = ["camp_id", "record_id", "association", "date", "day", *schema.DISTRIBUTIONS]
    rows = figures.in_period(_v.passages, Period(start, end), read)
    pairs = coverage.duplicate_visits(rows, _v.options.duplicate_visit_hours)
    return coverage.who_covers_what(rows), pairs


def coverage_of_period(v: View) -> Coverage:
    """Passages per association and weekday and double visits of the period."""
    covered, pairs = _coverage(v, v.key, v.period.start, v.period.end)
    masked = _passage_complements(v, v.key, v.period.start, v.period.end)
    table = privacy.protect_frame(covered, v.policy)
    chosen = complements.where(table, ["association", "weekday"], masked.weekday)
    table = privacy.mask_complements(table, "passages", chosen)
    labels = table.assign(passages=privacy.count_labels(table, "passages", v.policy))
    twice = coverage.items_distributed_twice(pairs)
    return Coverage(
        weekday_passages=coverage.weekday_matrix(table, "passages"),
        weekday_labels=coverage.weekday_matrix(labels, "passages"),
        pairs=pairs,
        items_twice={str(key): privacy.count(n, v.policy) for key, n in twice.items()},
    )


def now() -> dt.datetime:
    """The current local time in the configured time zone."""
    return dt.datetime.now(ZoneInfo(settings()["general.timezone"]))


def record_packing_list(
    store: AuthStore, username: str, role: str, v: View, plan: NeedsPlan
) -> None:
    """Audit a produced packing list like any export (called by the download path of
    ``carto.ui.downloads`` when the file is produced)."""
    details = {
        **export_names.audit_filters(v.filters, v.period),
        "detail": plan.breakdown,
        "semaine": f"{plan.week_start:%Y-%m-%d}",
    }
    audit.record_export(
        store,
        username,
        dataset="liste_preparation",
        fmt="html",
        rows=len(plan.labels),
        filters=details,
        role=role,
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _camp_history(
    _v: View,
    key: tuple[object, ...],
    camp_id: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> history.CampHistory:
    return history.camp_history(_v.passages, camp_id, start, end)


def camp_history(v: View, camp_id: str, whole_life: bool) -> history.CampHistory:
    """A camp's history over the view's period, or over its whole life (first to last
    passage); weekly counts protected under the role's policy."""
    start, end = (None, None) if whole_life else (v.period.start, v.period.end)
    found = _camp_history(v, v.key, camp_id, start, end)
    return dataclasses.replace(
        found,
        weekly_passages=privacy.protect_frame(found.weekly_passages, v.policy),
        weekly_items=privacy.protect_frame(found.weekly_items, v.policy),
    )


def export_scope(v: View, role: str) -> export_contents.Scope:
    """What an export or the summary of the view covers, for ``role`` (whose policy the
    view already applies)."""
    return export_contents.Scope(v.ds, v.passages, v.filters, v.period, role, v.policy)


def _export_key(v: View, role: str) -> tuple[object, ...]:
    return (*v.key, v.period.start, v.period.end, role)


@st.cache_data(max_entries=16, show_spinner=False)
def _export_tables(
    _scope: export_contents.Scope,
    key: tuple[object, ...],
    chosen: tuple[str, ...],
    opts: AnalysisOptions,
) -> list[formats.Table]:
    return export_contents.build(_scope, opts, chosen)


def export_tables(v: View, role: str, chosen: Sequence[str]) -> list[formats.Table]:
    """The export tables of ``chosen`` datasets for the view, as ``role`` may have them
    (``export.contents.build``: refused datasets raise ``ExportError``)."""
    scope = export_scope(v, role)
    return _export_tables(scope, _export_key(v, role), tuple(chosen), v.options)


@st.cache_data(max_entries=16, show_spinner=False)
def _summary(
    _scope: export_contents.Scope, key: tuple[object, ...], opts: AnalysisOptions
) -> summary.Summary:
    return summary.summary_figures(_scope, opts)


def summary_figures(v: View, role: str) -> summary.Summary:
    """The printable summary of the view's period, as ``role`` may see it."""
    return _summary(export_scope(v, role), _export_key(v, role), v.options)
