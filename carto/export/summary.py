"""The advocacy summary: one printable page of figures for a period (issue 7).

Estimated population (docs/architecture.md §4) and the unaccompanied minors in the same counts,
evacuations with and without shelter and the people concerned, services delivered, and
a short note on method: how the population is estimated and what is not counted. The
page is self-contained HTML (no script, no external resource) that prints on one A4
page from the browser ("Enregistrer en PDF"). Its markup is the Jinja2 template
``carto/export/templates/summary.html.j2``, rendered with autoescape: this module hands
it texts only (French, from the catalogue), never markup.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from carto import privacy, schema
from carto.analytics import events, figures, population
from carto.export import jinja, names
from carto.export.contents import Scope, estimate, estimated_subcount
from carto.i18n import format_date, format_datetime, format_int, t, t_n
from carto.options import AnalysisOptions

SHELTER_ORDER: tuple[str | None, ...] = (
    events.SHELTER_ALL,
    events.SHELTER_PARTIAL,
    events.SHELTER_NONE,
    None,
)


@dataclass(frozen=True)
class EvacuationLine:
    """Evacuations of one kind of shelter outcome (``shelter`` None: not reported)."""

    shelter: str | None
    events: int
    people: float
    sheltered: float
    without_solution: float
    minors: float
    unknown_people: int  # events whose number of people nobody gave


@dataclass(frozen=True)
class Summary:
    """The figures of the advocacy summary for one scope."""

    start: dt.date
    end: dt.date
    filters: str
    is_demo: bool
    window_days: int
    threshold: int  # counts in (0, threshold) are shown as "<threshold" (partners)
    generated_at: dt.datetime
    population_end: float
    population_end_low: float  # the estimate's range on the last day
    population_end_high: float
    camps_end: int
    minors_end: float
    population_mean: float
    population_peak: float
    peak_day: dt.date | None
    minors_peak: float
    daily: tuple[float, ...]
    passages: int
    camps_visited: int
    associations: tuple[str, ...]
    services: dict[str, int]
    evacuations: tuple[EvacuationLine, ...]
    total: EvacuationLine
    families_evacuated: float
    children_evacuated: float


def summary_figures(scope: Scope, opts: AnalysisOptions, now: dt.datetime | None = None) -> Summary:
    """The summary of the scope's filtered passages over its period."""
    period = scope.period
    passages = scope.passages
    window = opts.population_window_days
    days = population.day_range(period.start, period.end)
    pop = estimate(passages, days, opts, scope.policy)
    minors = estimated_subcount(passages, "unaccompanied_minors", days, window)
    found = events.events_in(
        events.evacuation_events(passages, scope.ds.sites, window, opts.evacuation_merge_days),
        period.start,
        period.end,
    )
    shown = figures.in_period(passages, period, ["camp_id", "association"])
    services = figures.services_delivered(passages, period)
    lines = tuple(_evacuation_line(found, code) for code in SHELTER_ORDER)
    people = pop["people"]
    peak_day = days[int(people.to_numpy().argmax())].date() if people.max() > 0 else None
    return Summary(
        start=period.start.date(),
        end=period.end.date(),
        filters=names.describe_filters(scope.filters),
        is_demo=scope.ds.is_demo,
        window_days=window,
        threshold=scope.policy.small_count_threshold,
        generated_at=now or dt.datetime.now(ZoneInfo(opts.timezone)),
        population_end=float(people.iloc[-1]) if len(people) else 0.0,
        population_end_low=float(pop["people_low"].iloc[-1]) if len(pop) else 0.0,
        population_end_high=float(pop["people_high"].iloc[-1]) if len(pop) else 0.0,
        camps_end=int(pop["camps"].iloc[-1]) if len(pop) else 0,
        minors_end=float(minors.iloc[-1]) if len(minors) else 0.0,
        population_mean=float(people.mean()) if len(people) else 0.0,
        population_peak=float(people.max()) if len(people) else 0.0,
        peak_day=peak_day,
        minors_peak=float(minors.max()) if len(minors) else 0.0,
        daily=tuple(float(v) for v in people.tolist()),
        passages=len(shown),
        camps_visited=int(shown["camp_id"].nunique()),
        associations=tuple(sorted(shown["association"].dropna().astype("str").unique())),
        services={key: int(services[key]) for key in schema.DISTRIBUTIONS},
        evacuations=lines,
        total=_evacuation_line(found, "*"),
        families_evacuated=float(found["families"].sum()),
        children_evacuated=float(found["children"].sum()),
    )


def _evacuation_line(found: pd.DataFrame, shelter: str | None) -> EvacuationLine:
    """Evacuations whose outcome is ``shelter`` (None: not reported; "*": all)."""
    if shelter == "*":
        rows = found
    elif shelter is None:
        rows = found[found["shelter"].isna()]
    else:
        rows = found[found["shelter"].eq(shelter).fillna(False)]
    return EvacuationLine(
        shelter=shelter,
        events=len(rows),
        people=float(rows["people"].sum()),
        sheltered=float(rows["sheltered"].sum()),
        without_solution=float(rows["without_solution"].sum()),
        minors=float(rows["unaccompanied_minors"].sum()),
        unknown_people=int(rows["people"].isna().sum()),
    )


# -------------------------------------------------------------------------- HTML

# The page's markup and style: ``templates/summary.html.j2``, rendered with autoescape.
TEMPLATE = "summary.html.j2"


def _count(value: float, threshold: int) -> str:
    """A count as shown: "—" when unknown, "<5" under a partner's threshold (the rule
    and the label of ``privacy.count``)."""
    return privacy.count(value, privacy.Policy(small_count_threshold=threshold)).label


def _sparkline(values: Sequence[float], start: dt.date, end: dt.date) -> dict[str, str] | None:
    """The estimated population per day as an inline SVG line (prints as vector): its
    view box, points and label, or None when there is no line to draw."""
    if len(values) < 2 or max(values) <= 0:
        return None
    width, height, top = 600.0, 50.0, max(values)
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 6):.1f}" for i, v in enumerate(values)
    )
    label = t("summary.chart_alt", start=format_date(start), end=format_date(end))
    return {"width": f"{width:.0f}", "height": f"{height:.0f}", "points": points, "label": label}


def summary_html(s: Summary, print_button: bool = False) -> str:
    """The summary as one self-contained HTML page (French, dates DD/MM/YYYY)."""
    n = s.threshold

    def c(value: float) -> str:
        return _count(value, n)

    start, end = format_date(s.start), format_date(s.end)
    peak = ""
    if s.peak_day:
        peak_people = t_n("count.people", c(s.population_peak))
        peak = t("summary.population.peak", people=peak_people, date=format_date(s.peak_day))
    cols = ("events", "people", "sheltered", "without_solution", "minors")
    rows = [
        {
            "label": t(f"summary.evac.{'total' if line is s.total else line.shelter or 'unknown'}"),
            "cells": [format_int(line.events), *(c(getattr(line, col)) for col in cols[1:])],
            "total": line is s.total,
        }
        for line in (*s.evacuations, s.total)
    ]
    evac_notes = [
        t(
            "summary.evac.groups",
            families=c(s.families_evacuated),
            children=c(s.children_evacuated),
        )
    ]
    if s.total.unknown_people:
        evac_notes.append(t_n("summary.evac.unknown_people", s.total.unknown_people))
    method = [
        t("summary.method.population", window=t_n("window.days", s.window_days)),
        t("summary.method.range"),
        t("summary.method.not_counted", window=t_n("count.days", s.window_days)),
        t("summary.method.evacuations"),
        t("summary.method.minors"),
        t("summary.method.services"),
    ]
    if n > 1:
        method.append(t("summary.method.small_counts", threshold=n))
    return (
        jinja.environment()
        .get_template(TEMPLATE)
        .render(
            title=t("summary.document_title", start=start, end=end),
            print_label=t("summary.print") if print_button else None,
            heading=t("summary.heading"),
            period=t("summary.period", start=start, end=end),
            filters=t("summary.filters", filters=s.filters) if s.filters else None,
            demo=t("summary.demo") if s.is_demo else None,
            boxes=[
                {"value": c(s.population_end), "label": t("summary.box.population", date=end)},
                {"value": c(s.minors_end), "label": t("summary.box.minors")},
                {"value": format_int(s.total.events), "label": t("summary.box.evacuations")},
                {"value": c(s.total.without_solution), "label": t("summary.box.without_solution")},
            ],
            population={
                "title": t("summary.population.title"),
                "paragraphs": [
                    t(
                        "summary.population.end",
                        date=end,
                        people=t_n("count.people", c(s.population_end)),
                        camps=t_n("count.camps", c(s.camps_end)),
                    )
                    + " "
                    + t(
                        "summary.population.range",
                        low=c(s.population_end_low),
                        high=c(s.population_end_high),
                    ),
                    t("summary.population.mean", people=t_n("count.people", c(s.population_mean)))
                    + " "
                    + peak,
                    t(
                        "summary.population.minors",
                        minors=c(s.minors_end),
                        peak=c(s.minors_peak),
                    ),
                ],
            },
            sparkline=_sparkline(s.daily, s.start, s.end),
            evacuations={
                "title": t("summary.evac.title"),
                "columns": [t(f"summary.evac.col.{col}") for col in cols],
                "rows": rows,
                "notes": evac_notes,
            },
            services={
                "title": t("summary.services.title"),
                "columns": [t(f"service.{key}") for key in schema.DISTRIBUTIONS],
                "cells": [c(s.services[key]) for key in schema.DISTRIBUTIONS],
                "activity": t(
                    "summary.services.activity",
                    passages=t_n("count.passages", s.passages),
                    camps=t_n("count.camps", s.camps_visited),
                    associations=", ".join(s.associations) or "—",
                ),
            },
            method={"title": t("summary.method.title"), "lines": method},
            footer=t("summary.footer", when=format_datetime(s.generated_at)),
        )
    )


def summary_file_name(scope: Scope) -> str:
    """``cartocampement_synthese_<start>_<end>[_<filters>].html``."""
    return names.file_name(["synthese"], "html", scope.period, scope.filters, scope.role)
