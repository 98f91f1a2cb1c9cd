"""Tableau de bord: estimated population, camps, passages, services and evacuations."""

import plotly.express as px
import streamlit as st

from carto import schema
from carto.analytics import figures
from carto.i18n import format_int, t
from carto.ui import data, layout

ds = data.dataset()
conf = data.settings()
window = int(conf["analysis.population_window_days"])
layout.page_header(t("dash.title"), ds)
period = layout.period_filter(ds, int(conf["filters.default_period_days"]))
previous = period.previous()

pop = data.estimated_population(ds, previous.start.date(), period.end.date())
now, before = pop.loc[period.end], pop.loc[previous.end]
passages = figures.in_period(ds.passages, period)
passages_before = figures.in_period(ds.passages, previous)

vs = t("dash.vs_previous")
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
    format_int(len(passages)),
    delta=len(passages) - len(passages_before),
    delta_description=vs,
)

if passages.empty:
    st.info(t("dash.empty"))

st.subheader(t("dash.services"))
services = figures.services_delivered(ds.passages, period)
services_before = figures.services_delivered(ds.passages, previous)
service_cols = st.columns(len(schema.DISTRIBUTIONS))
for col, key in zip(service_cols, schema.DISTRIBUTIONS, strict=True):
    col.metric(
        t(f"service.{key}"),
        format_int(services[key]),
        delta=int(services[key] - services_before[key]),
    )

st.subheader(t("dash.evacuations"))
summary = figures.evacuation_summary(figures.evacuation_events(ds.passages, period))
evac_cols = st.columns(len(summary))
for col, (kind, row) in zip(evac_cols, summary.iterrows(), strict=True):
    col.metric(str(kind), format_int(row["events"]))
    col.caption(
        t(
            "dash.evac_people",
            people=format_int(row["people"]),
            sheltered=format_int(row["sheltered"]),
        )
    )

st.subheader(t("dash.chart_title"))
series = pop.loc[period.start : period.end].reset_index(names="day")
fig = px.line(
    series, x="day", y="people", labels={"day": t("dash.chart_x"), "people": t("dash.chart_y")}
)
fig.update_xaxes(tickformat="%d/%m/%Y")
fig.update_traces(hovertemplate="%{x|%d/%m/%Y} : %{y:.0f}<extra></extra>")
fig.update_yaxes(rangemode="tozero")
fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=340)
st.plotly_chart(fig, config={"displayModeBar": False})
