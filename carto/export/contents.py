"""The six export datasets (docs/architecture.md §6) of a filtered view, as the role may see them.

An export holds exactly what the pages show for the same filters and period:

- ``passages``: the counted passages of the period (a duplicate submission once, as
  the dashboard's "Passages"), each with its Airtable record id and its camp id;
- ``sites``: the Sites records of the camps visited during the period;
- ``camps``: the camps visited during the period, in their state at the end of it;
- ``events``: the evacuations of the period, one per camp and day (the dashboard's),
  with the fields of the Observatoire des expulsions collectives questionnaire;
- ``zones``: the H3 zones holding an active camp at the end of the period (the map's);
- ``population``: the estimated population per day of the period (docs/architecture.md §4; the
  dashboard's), with the unaccompanied minors of the same latest counts.

Privacy: the dataset given is already the role's (``privacy.for_role``); every frame
then goes through ``privacy.protect_frame`` (positions at zone centres, small counts
suppressed with ``<col>_suppressed`` columns: people and items, and also the counts of
camps, passages, reports and evacuations, ``privacy.AGGREGATE_COUNT_COLUMNS``) before it
is written. Counts that add up to figures the pages show (a camp's passages in the
period, an evacuation's people sheltered or without solution) are masked with them
(``carto.complements``, flagged like a small count): the same choice as the pages', so
that a file and a page of the same view never give a hidden count back together.
Which datasets a role may export is ``privacy.ACCESS``'s to say (a partner: camps,
events, zones, population; a volunteer: none).

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from carto import complements, filters, normalise, privacy
from carto.analytics import camp_tables, camps, events, figures, places, population, successors
from carto.analytics import zones as zone_analytics
from carto.analytics.figures import Period
from carto.analytics.frames import sort_order
from carto.dataset import Dataset
from carto.export import names
from carto.export.formats import Table
from carto.filters import Filters
from carto.i18n import DATETIME_FORMAT, format_date, format_int, t, t_n
from carto.options import AnalysisOptions
from carto.settings import Settings

PASSAGES, SITES, CAMPS, EVENTS, ZONES, POPULATION = (
    "passages",
    "sites",
    "camps",
    "events",
    "zones",
    "population",
)
DATASETS: tuple[str, ...] = (PASSAGES, SITES, CAMPS, EVENTS, ZONES, POPULATION)
MAPPABLE: tuple[str, ...] = (PASSAGES, SITES, CAMPS, EVENTS, ZONES)

PASSAGE_COLUMNS = ["record_id", "camp_id", "camp_name", "date", *normalise.PASSAGE_FIELDS]
SITE_COLUMNS = [
    "site_id",
    "name",
    "latitude",
    "longitude",
    "arrondissement",
    "arrondissement_inferred",
    "site_type",
    "status",
    "notes",
    "camp_id",
    "period_passages",
    "last_visit",
]
CAMP_COLUMNS = [
    *camp_tables.CAMP_COLUMNS[: camp_tables.CAMP_COLUMNS.index("n_passages") + 1],
    "period_passages",
    *camp_tables.CAMP_COLUMNS[camp_tables.CAMP_COLUMNS.index("n_passages") + 1 :],
]
EVENT_COLUMNS = [*events.EVENT_COLUMNS, "successor_ids"]
ZONE_COLUMNS = list(zone_analytics.ZONE_COLUMNS)
POPULATION_COLUMNS = ["day", "people", "people_low", "people_high", "camps", "unaccompanied_minors"]
COLUMNS: dict[str, list[str]] = {
    PASSAGES: PASSAGE_COLUMNS,
    SITES: SITE_COLUMNS,
    CAMPS: CAMP_COLUMNS,
    EVENTS: EVENT_COLUMNS,
    ZONES: ZONE_COLUMNS,
    POPULATION: POPULATION_COLUMNS,
}
# What a placemark's description shows (KML); its ExtendedData holds every column.
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    PASSAGES: ("date", "association", "people", "unaccompanied_minors", "needs", "comment"),
    SITES: ("site_type", "status", "period_passages", "last_visit", "notes"),
    CAMPS: ("status", "last_visit", "people", "unaccompanied_minors", "families", "evacuations"),
    EVENTS: ("kind", "people", "sheltered", "without_solution", "unaccompanied_minors"),
    ZONES: ("people", "camps", "last_visit", "days_since_visit"),
}
# Whole numbers: written as integers (missing stays empty).
INT_COLUMNS = frozenset(
    {
        *privacy.DERIVED_COUNT_COLUMNS,
        "camps",
        "n_passages",
        "period_passages",
        "reports",
        "evacuations",
        "days_since_visit",
    }
)
# Record-level identifiers a partner's aggregated export leaves out.
PARTNER_DROPPED = ("record_ids",)
LIST_COLUMNS = ("needs", "referrals")


class ExportError(ValueError):
    """An export was refused (the message, in French, says why)."""


def datasets_for_role(role: str) -> tuple[str, ...]:
    """The datasets a role may export, in ``DATASETS`` order: what ``privacy.ACCESS``
    gives it (docs/architecture.md §5); none for an unknown role."""
    return tuple(name for name in DATASETS if privacy.may_export(role, name))


@dataclass(frozen=True)
class Scope:
    """What an export covers: the role's dataset, the passages its filters keep (all
    periods, as ``carto.ui.data.View.passages``), the filters and the period."""

    ds: Dataset
    passages: pd.DataFrame
    filters: Filters
    period: Period
    role: str
    policy: privacy.Policy


def view_passages(ds: Dataset, f: Filters, period: Period, opts: AnalysisOptions) -> pd.DataFrame:
    """The passages the filters keep, as the pages' view computes them."""
    end = opts.day_start(period.end)
    return filters.narrow(ds.passages, ds.sites, f, period, end, opts.active_days)


def first_day(ds: Dataset) -> dt.date | None:
    return ds.passages["day"].min().date() if len(ds.passages) else None


def scope_for(
    ds: Dataset,
    role: str,
    settings: Settings,
    f: Filters,
    period: Period | None = None,
) -> Scope:
    """The scope of an export made outside the pages (command line, tests): the role's
    privacy applied to ``ds`` here, then the filters; the period defaults to the
    filters' own."""
    policy = privacy.policy_for(role, settings)
    seen = privacy.apply(ds, policy)
    period = period or f.period_for(seen.today, first_day(seen))
    passages = view_passages(seen, f, period, AnalysisOptions.from_settings(settings))
    return Scope(seen, passages, f, period, role, policy)


def build(scope: Scope, opts: AnalysisOptions, datasets: Sequence[str]) -> list[Table]:
    """The tables of ``datasets`` for the scope, in the order asked (ExportError for a
    dataset unknown or not open to the role)."""
    allowed = datasets_for_role(scope.role)
    for name in datasets:
        if name not in DATASETS:
            raise ExportError(t("export.error.dataset", dataset=name, datasets=", ".join(DATASETS)))
        if name not in allowed:
            raise ExportError(
                t("export.error.role_dataset", dataset=name, role=t(f"role.{scope.role}"))
            )
    builder = _Builder(scope, opts)
    return [builder.table(name) for name in datasets]


def build_one(scope: Scope, opts: AnalysisOptions, dataset: str) -> Table:
    return build(scope, opts, [dataset])[0]


class _Builder:
    """Computes the frames of one scope, sharing what several datasets need."""

    def __init__(self, scope: Scope, opts: AnalysisOptions) -> None:
        self.scope = scope
        self.opts = opts
        self.sites = scope.ds.sites
        self.period = scope.period

    # ------------------------------------------------------------ shared frames

    @cached_property
    def shown(self) -> pd.DataFrame:
        """The counted passages of the period (the dashboard's "Passages")."""
        return figures.in_period(self.scope.passages, self.period)

    @cached_property
    def places(self) -> pd.DataFrame:
        return places.camp_places(self.scope.passages, self.sites)

    @cached_property
    def all_events(self) -> pd.DataFrame:
        return events.evacuation_events(
            self.scope.passages,
            self.sites,
            self.opts.population_window_days,
            self.opts.evacuation_merge_days,
        )

    @cached_property
    def known(self) -> pd.DataFrame:
        """The passages known at the end of the period."""
        end = self.opts.day_start(self.period.end) + pd.Timedelta(days=1)
        before_end = (self.scope.passages["date"] < end).to_numpy(dtype=bool)
        # every passage, usually (a period ending today): the frame itself, whose
        # per-camp results are kept from one version to the next (analytics.lineage)
        return self.scope.passages if before_end.all() else self.scope.passages[before_end]

    def _period_passages(self) -> pd.Series:
        return self.shown.groupby("camp_id").size()

    @cached_property
    def passage_complements(self) -> complements.PassageComplements:
        """The passage counts masked with the dashboard's and Coordination's (the same
        rows, the same choice)."""
        return complements.passage_complements(self.shown, self.scope.policy)

    # ----------------------------------------------------------------- datasets

    def table(self, name: str) -> Table:
        frame = getattr(self, f"_{name}")()
        frame = self._finish(frame)
        return Table(
            dataset=name,
            title=t(f"export.dataset.{name}"),
            frame=frame,
            labels=self._labels(frame),
            id_column={
                PASSAGES: "record_id",
                SITES: "site_id",
                CAMPS: "camp_id",
                EVENTS: "event_id",
                ZONES: "zone",
            }.get(name),
            names=self._names(name, frame),
            geometry="zone" if name == ZONES else ("point" if name in MAPPABLE else None),
            time_column="date" if name in (PASSAGES, EVENTS) else None,
            summary_columns=SUMMARY_COLUMNS.get(name, ()),
            description=t(
                "export.kml.description",
                dataset=t(f"export.dataset.{name}"),
                start=format_date(self.period.start),
                end=format_date(self.period.end),
                filters=names.describe_filters(self.scope.filters) or t("export.filters.none"),
            ),
        )

    def _passages(self) -> pd.DataFrame:
        rows = self.shown.take(sort_order(self.shown, ["date", "record_id"]))
        rows = rows.assign(
            camp_name=rows["camp_id"].map(self.places["name"]).astype("str"),
            **{col: _joined(rows[col]) for col in LIST_COLUMNS},
        )
        return rows[PASSAGE_COLUMNS]

    def _sites(self) -> pd.DataFrame:
        visits = self.shown[self.shown["camp_id"].str.startswith("S-", na=False)]
        stats = visits.groupby("camp_id").agg(
            period_passages=("record_id", "size"), last_visit=("date", "max")
        )
        sites = self.sites.assign(camp_id="S-" + self.sites["record_id"])
        sites = sites[sites["camp_id"].isin(stats.index)].join(stats, on="camp_id")
        sites = sites.rename(columns={"record_id": "site_id", "type": "site_type"})
        return sites.sort_values(["name", "site_id"], ignore_index=True)[SITE_COLUMNS]

    def _camps(self) -> pd.DataFrame:
        known = self.known
        evac = self.all_events[self.all_events["date"] <= self.period.end]
        links = successors.successor_links(
            places.camp_places(known, self.sites),
            evac,
            self.opts.successor_distance_m,
            self.opts.successor_days,
        )
        frame = camp_tables.camps_table(
            known,
            self.sites,
            evac,
            links,
            self.opts.day_start(self.period.end),
            self.opts.active_days,
        )
        counts = self._period_passages()
        frame = frame[frame["camp_id"].isin(counts.index)]
        frame = frame.assign(
            period_passages=frame["camp_id"].map(counts).astype(int),
            status=frame["status"].map(lambda s: t(f"camp.status.{s}")).astype("str"),
        )
        flags = [c for c in frame.columns if c.endswith(privacy.SUPPRESSED_SUFFIX)]
        frame = frame.reset_index(drop=True)[CAMP_COLUMNS + flags]
        masked = self.passage_complements.camps
        by_camp = frame.set_index("camp_id")
        whole = complements.whole_counts_complements(
            by_camp["period_passages"], by_camp["n_passages"], masked, self.scope.policy
        )
        frame = privacy.mask_complements(frame, "period_passages", frame["camp_id"].isin(masked))
        return privacy.mask_complements(frame, "n_passages", frame["camp_id"].isin(whole))

    def _events(self) -> pd.DataFrame:
        links = successors.successor_links(
            self.places,
            self.all_events,
            self.opts.successor_distance_m,
            self.opts.successor_days,
        )
        found = events.events_in(self.all_events, self.period.start, self.period.end)
        masked = complements.evacuation_complements(found, self.scope.policy)  # the dashboard's
        frame = camp_tables.events_table(found.reset_index(drop=True), links)
        for part in ("sheltered", "without_solution"):
            chosen = frozenset((event,) for event, which in masked.events if which == part)
            frame = privacy.mask_complements(
                frame, part, complements.where(frame, ["event_id"], chosen)
            )
        frame = frame.assign(
            kind=frame["kind"].fillna(t("event.kind.unknown")).astype("str"),
            shelter=_labelled(frame["shelter"], "event.shelter", unknown="event.shelter.unknown"),
            people_source=_labelled(frame["people_source"], "event.people_source"),
        )
        flags = [c for c in frame.columns if c.endswith(privacy.SUPPRESSED_SUFFIX)]
        return frame[EVENT_COLUMNS + flags]

    def _zones(self) -> pd.DataFrame:
        states = camps.camp_states(
            self.scope.passages,
            self.sites,
            self.opts.day_start(self.period.end),
            self.opts.active_days,
        )
        return zone_analytics.zone_coverage(
            states, self.opts.zone_resolution, self.opts.coverage_gap_days
        )[ZONE_COLUMNS]

    def _population(self) -> pd.DataFrame:
        days = population.day_range(self.period.start, self.period.end)
        window = self.opts.population_window_days
        pop = estimate(self.scope.passages, days, self.opts, self.scope.policy)
        minors = estimated_subcount(self.scope.passages, "unaccompanied_minors", days, window)
        return pd.DataFrame(
            {
                "day": days,
                "people": pop["people"].to_numpy(),
                "people_low": pop["people_low"].to_numpy(),
                "people_high": pop["people_high"].to_numpy(),
                "camps": pop["camps"].to_numpy(),
                "unaccompanied_minors": minors.to_numpy(),
            }
        )[POPULATION_COLUMNS]

    # ------------------------------------------------------------ finishing

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Privacy's last guard, whole numbers as integers, flags beside their counts."""
        policy = self.scope.policy
        if not policy.free_text:
            frame = frame.drop(columns=[c for c in PARTNER_DROPPED if c in frame.columns])
            frame = privacy.hide_record_ids(frame)
        frame = privacy.protect_frame(frame, policy)
        ints = {
            col: pd.to_numeric(frame[col], errors="coerce").round().astype("Int64")
            for col in frame.columns
            if col in INT_COLUMNS
        }
        frame = frame.assign(**ints)
        order: list[str] = []
        for col in frame.columns:
            # a complement is flagged as hidden like a small count ("masqué" on the pages)
            if col.endswith((privacy.SUPPRESSED_SUFFIX, privacy.COMPLEMENT_SUFFIX)):
                continue
            order.append(col)
            flag = col + privacy.SUPPRESSED_SUFFIX
            if flag in frame.columns:
                order.append(flag)
        return frame[order].reset_index(drop=True)

    def _labels(self, frame: pd.DataFrame) -> dict[str, str]:
        labels: dict[str, str] = {}
        threshold = self.scope.policy.small_count_threshold
        for col in frame.columns:
            if col.endswith(privacy.SUPPRESSED_SUFFIX):
                base = col.removesuffix(privacy.SUPPRESSED_SUFFIX)
                labels[col] = t(
                    "export.col.suppressed", column=t(f"export.col.{base}"), threshold=threshold
                )
            else:
                labels[col] = t(f"export.col.{col}")
        return labels

    def _names(self, name: str, frame: pd.DataFrame) -> pd.Series | None:
        """The placemark name of each row (map datasets)."""
        if name == PASSAGES:  # "<camp> – <format_datetime(date)>", written per column
            when = frame["date"].dt.strftime(DATETIME_FORMAT).fillna("")
            return (frame["camp_name"].map(str) + " – " + when).astype("str")
        if name in (SITES, CAMPS):
            return frame["name"].fillna(t("camp.unnamed")).astype("str")
        if name == EVENTS:
            return pd.Series(
                [
                    t("export.kml.event", date=format_date(day), name=place)
                    for day, place in zip(frame["date"], frame["name"].fillna(""), strict=True)
                ],
                dtype="str",
            )
        if name == ZONES:
            flag = "people" + privacy.SUPPRESSED_SUFFIX
            hidden = (
                frame[flag].fillna(False).astype(bool).tolist()
                if flag in frame.columns
                else [False] * len(frame)
            )
            label = privacy.small_count_label(self.scope.policy.small_count_threshold)
            return pd.Series(
                [
                    t(
                        "export.kml.zone",
                        people=t_n("count.people", label if small else format_int(_number(people))),
                        camps=t_n("count.camps", camps),
                    )
                    for people, camps, small in zip(
                        frame["people"],
                        privacy.count_labels(frame, "camps", self.scope.policy),
                        hidden,
                        strict=True,
                    )
                ],
                dtype="str",
            )
        return None


def estimate(
    passages: pd.DataFrame,
    days: pd.DatetimeIndex,
    opts: AnalysisOptions,
    policy: privacy.Policy = privacy.FULL,
) -> pd.DataFrame:
    """The estimated population and its range per day, with the pages' settings, as
    ``policy`` may see it (``population.estimated_population``'s ``hidden_below``)."""
    return population.estimated_population(
        passages,
        days,
        opts.population_window_days,
        merge_days=opts.evacuation_merge_days,
        successor_distance_m=opts.successor_distance_m,
        successor_days=opts.successor_days,
        hidden_below=policy.small_count_threshold,
    )


def estimated_subcount(
    passages: pd.DataFrame, column: str, days: pd.DatetimeIndex, window: int
) -> pd.Series:
    """Per day, the sum of ``column`` (e.g. unaccompanied minors) in the same latest
    counts as the estimated population: a counted passage without the sub-count counts
    0 there, a passage without a count of people is no count at all."""
    return population.estimated_count(passages, days, window, column)


def _joined(values: pd.Series) -> pd.Series:
    """Lists (needs, referrals) as one text: "Eau, Tentes" (missing when empty)."""
    texts = [
        ", ".join(str(v) for v in items) if isinstance(items, list | tuple) and items else None
        for items in values
    ]
    return pd.Series(texts, index=values.index, dtype="str")


def _labelled(codes: pd.Series, prefix: str, unknown: str | None = None) -> pd.Series:
    """Codes replaced by their French labels (``<prefix>.<code>``)."""
    fallback = t(unknown) if unknown else pd.NA
    return pd.Series(
        [t(f"{prefix}.{c}") if isinstance(c, str) and c else fallback for c in codes],
        index=codes.index,
        dtype="str",
    )


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if number != number else number
