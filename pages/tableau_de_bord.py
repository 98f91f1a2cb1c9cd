"""Tableau de bord: figures against the previous period, weekly activity, needs, evacuations."""

import pandas as pd
import plotly.express as px
import streamlit as st

from carto import schema
from carto.analytics import events, figures
from carto.i18n import format_int, t
from carto.text import escape_markdown
from carto.ui import data, layout

v = layout.start_page(t("dash.title"))
window = int(data.settings()["analysis.population_window_days"])
period, previous = v.period, v.period.previous()

pop = data.estimated_population(v, previous.start.date(), period.end.date())
now, before = pop.loc[period.end], pop.loc[previous.end]
act = data.activity(v)
vs = t("dash.vs_previous")
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "legend_title_text": ""}

cols = st.columns(3)
cols[0].metric(
    t("dash.population"),
    format_int(now["people"]),
    delta=int(now["people"] - before["people"]),
    delta_color="off",
    delta_description=vs,
    help=t("dash.population_help", window=window),
)
cols[1].metric(
    t("dash.active_camps"),
    format_int(now["camps"]),
    delta=int(now["camps"] - before["camps"]),
    delta_color="off",
    delta_description=vs,
)
cols[2].metric(
    t("dash.passages"),
    format_int(act.passages),
    delta=act.passages - act.passages_before,
    delta_description=vs,
)
if act.passages == 0:
    st.info(t("dash.empty"))

st.subheader(t("dash.services"))
services, services_before = act.services, act.services_before
service_cols = st.columns(len(schema.DISTRIBUTIONS))
for col, key in zip(service_cols, schema.DISTRIBUTIONS, strict=True):
    col.metric(
        t(f"service.{key}"),
        format_int(services[key]),
        delta=int(services[key] - services_before[key]),
        delta_description=vs,
    )

st.subheader(t("dash.evacuations"))
all_events = data.evacuation_events(v)
found = events.events_in(all_events, period.start, period.end)
summary = figures.evacuation_summary(found)
evac_cols = st.columns(len(summary))
for col, (kind, row) in zip(evac_cols, summary.iterrows(), strict=True):
    col.metric(escape_markdown(kind), format_int(row["events"]))
    people, sheltered = format_int(row["people"]), format_int(row["sheltered"])
    col.caption(t("dash.evac_people", people=people, sheltered=sheltered))

st.subheader(t("dash.chart_title"))
series = pop.loc[period.start : period.end].reset_index(names="day")
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
fig = px.line(series, x="day", y="people", labels=labels)
fig.update_xaxes(tickformat="%d/%m/%Y")
fig.update_traces(hovertemplate="%{x|%d/%m/%Y} : %{y:.0f}<extra></extra>")
fig.update_yaxes(rangemode="tozero")
fig.update_layout(height=320, **LAYOUT)
st.plotly_chart(fig, config={"displayModeBar": False})

left, right = st.columns(2)
with left:
    st.subheader(t("dash.weekly_passages"))
    fig = px.bar(act.weekly_passages, x="week", y="passages", color="association", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=300, **LAYOUT)
    st.plotly_chart(fig, config={"displayModeBar": False})
with right:
    st.subheader(t("dash.weekly_services"))
    fig = px.bar(act.weekly_items, x="week", y="items", color="association", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=300, **LAYOUT)
    st.plotly_chart(fig, config={"displayModeBar": False})

st.subheader(t("dash.needs_vs_given"))
st.caption(t("dash.needs_caption"))
long = act.needs_weekly.melt(
    id_vars=["week", "item"], value_vars=["people", "delivered"], var_name="measure"
)
long["measure"] = long["measure"].map(lambda m: t(f"dash.measure.{m}"))
long["item"] = long["item"].map(lambda i: t(f"needs.item.{i}"))
fig = px.bar(
    long, x="week", y="value", color="measure", barmode="group", facet_col="item", labels=labels
)
fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
fig.update_xaxes(tickformat="%d/%m")
fig.update_layout(height=320, **LAYOUT)
st.plotly_chart(fig, config={"displayModeBar": False})

st.subheader(t("dash.evac_over_time"))
if found.empty:
    st.caption(t("dash.no_evacuation"))
else:
    evac_week = found.assign(week=pd.to_datetime(found["date"]).dt.to_period("W-SUN").dt.start_time)
    sums = evac_week.groupby("week")[["sheltered", "without_solution"]].sum().reset_index()
    sums = sums.rename(
        columns={
            "sheltered": t("dash.evac_sheltered_people"),
            "without_solution": t("dash.evac_without_people"),
        }
    )
    evac_long = sums.melt(id_vars="week", var_name="measure", value_name="value")
    fig = px.bar(evac_long, x="week", y="value", color="measure", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=280, **LAYOUT)
    st.plotly_chart(fig, config={"displayModeBar": False})
