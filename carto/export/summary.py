"""The advocacy summary: one printable page of figures for a period (issue 7).

Estimated population (docs/architecture.md §4) and the unaccompanied minors in the same counts,
evacuations with and without shelter and the people concerned, services delivered, and
a short note on method: how the population is estimated and what is not counted. The
page is self-contained HTML (no script, no external resource) that prints on one A4
page from the browser ("Enregistrer en PDF"); every value is escaped.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from carto import schema
from carto.analytics import events, figures, population
from carto.export import names
from carto.export.datasets import Options, Scope, estimate, estimated_subcount
from carto.i18n import format_date, format_datetime, format_int, t, t_n

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


def summary_figures(scope: Scope, opts: Options, now: dt.datetime | None = None) -> Summary:
    """The summary of the scope's filtered passages over its period."""
    period = scope.period
    passages = scope.passages
    window = opts.population_window_days
    days = population.day_range(period.start, period.end)
    pop = estimate(passages, days, opts)
    minors = estimated_subcount(passages, "unaccompanied_minors", days, window)
    found = events.events_in(
        events.evacuation_events(passages, scope.ds.sites, window, opts.evacuation_merge_days),
        period.start,
        period.end,
    )
    shown = figures.in_period(passages, period)
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

CSS = """
@page { size: A4; margin: 12mm 13mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #1d1d1f; background: #fff;
  font: 9.5pt/1.32 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.page { max-width: 184mm; margin: 0 auto; padding: 6mm 0; }
h1 { font-size: 14pt; margin: 0 0 1mm; }
h2 { font-size: 10.5pt; margin: 3mm 0 1.2mm; padding-bottom: 0.5mm;
  border-bottom: 1.5px solid #b3261e; }
p { margin: 0.7mm 0; }
.sub { color: #555; margin: 0; }
.demo { border: 1px solid #b3261e; color: #b3261e; padding: 1mm 2mm; margin: 2mm 0; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2.5mm; margin: 2.5mm 0; }
.figure { border: 1px solid #ddd; border-radius: 2mm; padding: 1.5mm 2.5mm; }
.figure .value { font-size: 16pt; font-weight: 700; }
.figure .label { font-size: 8.5pt; color: #444; }
table { border-collapse: collapse; width: 100%; font-size: 8.8pt; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.7mm 1.5mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 1.5px solid #999; font-weight: 600; }
tr.total td { font-weight: 700; border-top: 1.5px solid #999; }
svg { display: block; width: 100%; height: 16mm; margin-top: 1mm; }
.services th, .services td { text-align: center; }
.method { font-size: 8.2pt; color: #333; }
.method ul { margin: 1mm 0; padding-left: 4.5mm; }
.method li { margin: 0.3mm 0; }
footer { margin-top: 3mm; font-size: 8pt; color: #666; }
section { break-inside: avoid; }
.print { margin: 0 0 3mm; padding: 1.5mm 3mm; font: inherit; cursor: pointer; }
@media print { .print { display: none; } .page { padding: 0; } }
"""


def _count(value: float, threshold: int) -> str:
    """A count as shown: "—" when unknown, "<5" under a partner's threshold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if threshold > 1 and 0 < value < threshold:
        return f"<{threshold}"
    return format_int(value)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _sparkline(values: Sequence[float], start: dt.date, end: dt.date) -> str:
    """The estimated population per day as an inline SVG line (prints as vector)."""
    if len(values) < 2 or max(values) <= 0:
        return ""
    width, height, top = 600.0, 50.0, max(values)
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 6):.1f}" for i, v in enumerate(values)
    )
    label = t("summary.chart_alt", start=format_date(start), end=format_date(end))
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" preserveAspectRatio="none" role="img" '
        f'aria-label="{_e(label)}"><polyline fill="none" stroke="#b3261e" stroke-width="2" '
        f'vector-effect="non-scaling-stroke" points="{points}"/></svg>'
        f'<p class="sub">{_e(label)}</p>'
    )


def summary_html(s: Summary, print_button: bool = False) -> str:
    """The summary as one self-contained HTML page (French, dates DD/MM/YYYY)."""
    n = s.threshold

    def c(value: float) -> str:
        return _e(_count(value, n))

    start, end = format_date(s.start), format_date(s.end)
    head = [
        f"<h1>{_e(t('summary.heading'))}</h1>",
        f'<p class="sub">{_e(t("summary.period", start=start, end=end))}</p>',
    ]
    if s.filters:
        head.append(f'<p class="sub">{_e(t("summary.filters", filters=s.filters))}</p>')
    if s.is_demo:
        head.append(f'<p class="demo">{_e(t("summary.demo"))}</p>')
    boxes = [
        (c(s.population_end), t("summary.box.population", date=end)),
        (c(s.minors_end), t("summary.box.minors")),
        (_e(format_int(s.total.events)), t("summary.box.evacuations")),
        (c(s.total.without_solution), t("summary.box.without_solution")),
    ]
    figures_html = "".join(
        f'<div class="figure"><div class="value">{value}</div>'
        f'<div class="label">{_e(label)}</div></div>'
        for value, label in boxes
    )
    peak = ""
    if s.peak_day:
        peak_people = t_n("count.people", _count(s.population_peak, n))
        peak = t("summary.population.peak", people=peak_people, date=format_date(s.peak_day))
    pop_html = [
        "<section>",
        f"<h2>{_e(t('summary.population.title'))}</h2>",
        "<p>"
        + _e(
            t(
                "summary.population.end",
                date=end,
                people=t_n("count.people", _count(s.population_end, n)),
                camps=t_n("count.camps", _count(s.camps_end, n)),
            )
            + " "
            + t(
                "summary.population.range",
                low=_count(s.population_end_low, n),
                high=_count(s.population_end_high, n),
            )
        )
        + "</p>",
        "<p>"
        + _e(
            t("summary.population.mean", people=t_n("count.people", _count(s.population_mean, n)))
            + " "
            + peak
        )
        + "</p>",
        "<p>"
        + _e(
            t(
                "summary.population.minors",
                minors=_count(s.minors_end, n),
                peak=_count(s.minors_peak, n),
            )
        )
        + "</p>",
        _sparkline(s.daily, s.start, s.end),
        "</section>",
    ]
    cols = ("events", "people", "sheltered", "without_solution", "minors")
    header = "".join(f"<th>{_e(t(f'summary.evac.col.{col}'))}</th>" for col in cols)
    body = []
    for line in (*s.evacuations, s.total):
        key = "total" if line is s.total else (line.shelter or "unknown")
        cells = f"<td>{_e(format_int(line.events))}</td>" + "".join(
            f"<td>{c(getattr(line, col))}</td>" for col in cols[1:]
        )
        css = ' class="total"' if line is s.total else ""
        body.append(f"<tr{css}><td>{_e(t(f'summary.evac.{key}'))}</td>{cells}</tr>")
    evac_notes = [
        t(
            "summary.evac.groups",
            families=_count(s.families_evacuated, n),
            children=_count(s.children_evacuated, n),
        )
    ]
    if s.total.unknown_people:
        evac_notes.append(t_n("summary.evac.unknown_people", s.total.unknown_people))
    evac_html = [
        "<section>",
        f"<h2>{_e(t('summary.evac.title'))}</h2>",
        f"<table><thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        *(f"<p>{_e(note)}</p>" for note in evac_notes),
        "</section>",
    ]
    services_head = "".join(f"<th>{_e(t(f'service.{key}'))}</th>" for key in schema.DISTRIBUTIONS)
    services_row = "".join(f"<td>{c(s.services[key])}</td>" for key in schema.DISTRIBUTIONS)
    associations = ", ".join(s.associations) or "—"
    services_html = [
        "<section>",
        f"<h2>{_e(t('summary.services.title'))}</h2>",
        f'<table class="services"><thead><tr>{services_head}</tr></thead>'
        f"<tbody><tr>{services_row}</tr></tbody></table>",
        "<p>"
        + _e(
            t(
                "summary.services.activity",
                passages=t_n("count.passages", s.passages),
                camps=t_n("count.camps", s.camps_visited),
                associations=associations,
            )
        )
        + "</p>",
        "</section>",
    ]
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
    method_html = [
        '<section class="method">',
        f"<h2>{_e(t('summary.method.title'))}</h2>",
        "<ul>" + "".join(f"<li>{_e(item)}</li>" for item in method) + "</ul>",
        "</section>",
    ]
    footer = t("summary.footer", when=format_datetime(s.generated_at))
    button = (
        f'<button class="print" type="button" onclick="window.print()">'
        f"{_e(t('summary.print'))}</button>"
        if print_button
        else ""
    )
    title = t("summary.document_title", start=start, end=end)
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<main class="page">{button}<header>{"".join(head)}</header>'
        f'<div class="figures">{figures_html}</div>'
        + "".join(pop_html + evac_html + services_html + method_html)
        + f"<footer>{_e(footer)}</footer></main></body></html>\n"
    )


def summary_file_name(scope: Scope) -> str:
    """``cartocampement_synthese_<start>_<end>[_<filters>].html``."""
    return names.file_name(["synthese"], "html", scope.period, scope.filters, scope.role)
