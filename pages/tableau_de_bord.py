"""Tableau de bord: figures against the previous period, weekly activity, needs, evacuations."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from carto import privacy, schema
from carto.analytics import figures
from carto.i18n import t, t_n
from carto.ui import charts, data, layout, plots, screens

v = layout.start_page(t("dash.title"))
window = v.options.population_window_days
act = data.activity(v)  # every figure protected under the role's policy
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "legend_title_text": ""}

# No change is shown when there is nothing comparable before (see Activity.no_comparison).
vs = t("dash.vs_previous") if act.no_comparison is None else None
cols = st.columns(3)
cols[0].metric(
    t("dash.population"),
    act.population.now.label,
    delta=act.population.delta_label,
    delta_color="off",
    delta_description=vs,
    help=t("dash.population_help", window=t_n("window.days", window)),
)
cols[1].metric(
    t("dash.active_camps"),
    act.camps.now.label,
    delta=act.camps.delta_label,
    delta_color="off",
    delta_description=vs,
)
cols[2].metric(
    t("dash.passages"),
    act.passages.now.label,
    delta=act.passages.delta_label,
    delta_description=vs,
)
layout.suppressed_caption(v.policy, act.population, act.camps, act.passages)
if act.comparison_note:
    st.caption(act.comparison_note)
if act.passages.now.value == 0:
    st.info(t("dash.empty"))

st.subheader(t("dash.services"))
service_cols = st.columns(len(schema.DISTRIBUTIONS))
for col, key in zip(service_cols, schema.DISTRIBUTIONS, strict=True):
    service = act.services[key]
    col.metric(
        t(f"service.{key}"),
        service.now.label,
        delta=service.delta_label,
        delta_description=vs,
    )
layout.suppressed_caption(v.policy, act.services)

st.subheader(t("dash.evacuations"))
evac = data.evacuations(v)
total = evac.totals
evac_cols = st.columns([0.8, 1.3, 1.1, 1.1, 1.2])
evac_cols[0].metric(t("dash.evac.events"), total["events"].label)
evac_cols[1].metric(t("dash.evac.people"), total["people"].label, help=t("dash.evac.people_help"))
for col, part in zip(evac_cols[2:], figures.OUTCOME_PARTS, strict=True):
    col.metric(t(f"dash.evac.{part}"), total[part].label, help=t(f"dash.evac.{part}_help"))
shown_totals = [total[key] for key in ("events", "people", *figures.OUTCOME_PARTS)]
if not evac.events.empty:
    by_shelter = [total[f"shelter_{code}"] for code in figures.SHELTER_CODES]
    parts = ", ".join(
        f"{t(f'event.shelter.{code}')} : {count.label}"
        for code, count in zip(figures.SHELTER_CODES, by_shelter, strict=True)
        if count.value != 0
    )
    st.caption(t("dash.evac.by_shelter", parts=parts))
    shown_totals += by_shelter
if total["uncounted"].value:
    st.caption(t_n("dash.evac.uncounted", total["uncounted"].label))
    shown_totals.append(total["uncounted"])
layout.suppressed_caption(v.policy, shown_totals)

today = v.ds.today
st.subheader(t("dash.chart_title"))
charted = [
    privacy.hidden_in(act.population_series, "people", "people_low", "people_high"),
    privacy.hidden_in(act.weekly_passages, "passages"),
    privacy.hidden_in(act.weekly_items, "items"),
    privacy.hidden_in(act.needs_weekly, "people", "delivered"),
    privacy.hidden_in(evac.weekly, *figures.OUTCOME_PARTS),
]
layout.suppressed_caption(v.policy, *charted)
series = act.population_series
labels = {
    "day": t("dash.chart_x"),
    "people": t("dash.chart_y"),
    "week": t("chart.week"),
    "passages": t("chart.passages"),
    "items": t("chart.items"),
    "association": t("chart.association"),
    "item": t("chart.item"),
    "value": t("chart.people"),
    "measure": t("dash.measure"),
}


def population_chart() -> go.Figure:
    fig = plots.line_figure(series, "day", "people", labels)
    charts.date_axis(fig, v.period.start, v.period.end, weekly=False)
    fig.update_traces(hovertemplate="%{x|%d/%m/%Y} : %{y:.0f}<extra></extra>")
    charts.range_band(fig, series, "day", "people_low", "people_high")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(height=320, **LAYOUT)
    return fig


# Figures built once per view (charts.show_cached): the same on every rerun of it.
charts.show_cached((*v.figure_key, "population"), population_chart)
st.caption(t("dash.chart_range"))


def weekly_bars(
    name: str,
    frame: pd.DataFrame,
    y: str,
    color: str,
    small: bool = False,
    key: str | None = None,
    facet_col: str | None = None,
    barmode: str = "relative",
    height: int | None = None,
) -> None:
    """A weekly bar chart of the period: Mondays as ticks, partial weeks hatched
    (``name``: which chart, for its cached figure; ``small``: a phone's chart, few ticks
    and the legend above; ``key``: tells apart charts that may draw the same figure)."""
    facets = facet_col is not None
    chart_labels = dict(labels)  # as they are now: ``labels`` changes between charts

    def build() -> go.Figure:
        fig = plots.bar_figure(
            frame,
            "week",
            y,
            color,
            chart_labels,
            facet_col=facet_col,
            barmode=barmode,
            height=height,
        )
        fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
        ticks = 3 if facets or small else 8
        charts.date_axis(fig, v.period.start, v.period.end, weekly=True, max_ticks=ticks)
        charts.size_weekly_bars(fig)
        charts.mark_partial_weeks(fig, act.weeks)
        fig.update_layout(**LAYOUT)
        if small:
            fig.update_layout(legend=charts.LEGEND_ABOVE)
        return fig

    charts.show_cached((*v.figure_key, name, small, key), build, key=key)


partial_note = charts.partial_weeks_note(act.weeks, today)
left, right = st.columns(2)
with left:
    st.subheader(t("dash.weekly_passages"))
    weekly_bars("passages", act.weekly_passages, "passages", "association", height=300)
with right:
    st.subheader(t("dash.weekly_services"))
    weekly_bars("items", act.weekly_items, "items", "association", height=300)
if partial_note:
    st.caption(partial_note)

st.subheader(t("dash.needs_vs_given"))
st.caption(t("dash.needs_caption"))
long = charts.measures_long(
    act.needs_weekly,
    ["week", "item"],
    {m: t(f"dash.measure.{m}") for m in ("people", "delivered")},
)
long["item"] = long["item"].map(lambda i: t(f"needs.item.{i}"))
labels["value"] = t("chart.needs_y")
# A phone gets one small chart per item: the facets side by side would be too thin.
wide, narrow = screens.wide_and_narrow("chart", "needs")
with wide:
    weekly_bars("needs", long, "value", "measure", barmode="group", facet_col="item", height=340)
with narrow:
    for i, item in enumerate(long["item"].unique()):
        st.markdown(f"**{item}**")
        weekly_bars(
            "needs-item",
            long[long["item"] == item],
            "value",
            "measure",
            small=True,
            key=f"needs-{i}",
            barmode="group",
            height=240,
        )
if partial_note:
    st.caption(partial_note)

st.subheader(t("dash.evac_over_time"))
if evac.events.empty:
    st.caption(t("dash.no_evacuation"))
else:
    evac_long = charts.measures_long(
        evac.weekly,
        ["week"],
        {part: t(f"dash.evac_chart.{part}") for part in figures.OUTCOME_PARTS},
    )
    labels["value"] = t("dash.evac_chart_y")
    weekly_bars("evacuations", evac_long, "value", "measure", height=280)
