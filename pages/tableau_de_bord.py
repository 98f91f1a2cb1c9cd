"""Tableau de bord: figures against the previous period, weekly activity, needs, evacuations."""

import plotly.express as px
import streamlit as st

from carto import privacy, schema
from carto.i18n import t, t_n
from carto.text import escape_markdown
from carto.ui import charts, data, layout

v = layout.start_page(t("dash.title"))
window = int(data.settings()["analysis.population_window_days"])
act = data.activity(v)  # every figure protected under the role's policy
vs = t("dash.vs_previous")
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "legend_title_text": ""}

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
summary = evac.summary
shown = {col: privacy.count_labels(summary, col, v.policy) for col in summary.columns}
evac_cols = st.columns(len(summary))
for col, kind in zip(evac_cols, summary.index, strict=True):
    col.metric(escape_markdown(str(kind)), shown["events"][kind])
    people, sheltered = shown["people"][kind], shown["sheltered"][kind]
    people = t_n("dash.evac_affected", people)
    sheltered = t_n("dash.evac_sheltered_count", sheltered)
    col.caption(t("dash.evac_people", people=people, sheltered=sheltered))
layout.suppressed_caption(v.policy, shown)

st.subheader(t("dash.chart_title"))
charted = [
    privacy.hidden_in(act.population_series, "people"),
    privacy.hidden_in(act.weekly_passages, "passages"),
    privacy.hidden_in(act.weekly_items, "items"),
    privacy.hidden_in(act.needs_weekly, "people", "delivered"),
    privacy.hidden_in(evac.weekly, "sheltered", "without_solution"),
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
fig = px.line(series, x="day", y="people", labels=labels)
fig.update_xaxes(tickformat="%d/%m/%Y")
fig.update_traces(hovertemplate="%{x|%d/%m/%Y} : %{y:.0f}<extra></extra>")
fig.update_yaxes(rangemode="tozero")
fig.update_layout(height=320, **LAYOUT)
charts.show(fig)

left, right = st.columns(2)
with left:
    st.subheader(t("dash.weekly_passages"))
    fig = px.bar(act.weekly_passages, x="week", y="passages", color="association", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=300, **LAYOUT)
    charts.show(fig)
with right:
    st.subheader(t("dash.weekly_services"))
    fig = px.bar(act.weekly_items, x="week", y="items", color="association", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=300, **LAYOUT)
    charts.show(fig)

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
charts.show(fig)

st.subheader(t("dash.evac_over_time"))
if evac.events.empty:
    st.caption(t("dash.no_evacuation"))
else:
    sums = evac.weekly[["week", "sheltered", "without_solution"]].rename(
        columns={
            "sheltered": t("dash.evac_sheltered_people"),
            "without_solution": t("dash.evac_without_people"),
        }
    )
    evac_long = sums.melt(id_vars="week", var_name="measure", value_name="value")
    fig = px.bar(evac_long, x="week", y="value", color="measure", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(height=280, **LAYOUT)
    charts.show(fig)
