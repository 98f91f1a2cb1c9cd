"""Historique d'un campement: its counts, visits, deliveries, evacuations and successors."""

import pandas as pd
import plotly.express as px
import streamlit as st

from carto import schema
from carto.analytics import successors
from carto.analytics.camps import counted
from carto.i18n import format_date, format_int, t, t_n
from carto.ui import charts, data, layout, tables

v = layout.start_page(t("history.title"))
conf = data.settings()
built = data.camp_data(v.ds)
camps = built.camps[built.camps["camp_id"].isin(v.passages["camp_id"].unique())]
if camps.empty:
    st.info(t("history.none"))
    st.stop()
camps = camps.sort_values("last_visit", ascending=False)
names = dict(zip(camps["camp_id"], camps["name"], strict=True))
shared_names = camps["name"].value_counts()  # the id only tells apart camps of one name
camp_id = st.selectbox(
    t("history.pick"),
    list(names),
    format_func=lambda c: names[c] if shared_names[names[c]] == 1 else f"{names[c]} ({c})",
    help=t("history.pick_help"),
    key="camp",
    bind="query-params",
)
camp = camps.set_index("camp_id").loc[camp_id]
rows = counted(v.passages[v.passages["camp_id"] == camp_id]).sort_values("date")
last_people = camp["people"] if pd.notna(camp["people"]) else None
st.markdown(
    t(
        "history.summary",
        passages=t_n("count.passages", len(rows)),
        first=format_date(camp["first_visit"]),
        last=format_date(camp["last_visit"]),
        people=t_n("count.people", format_int(last_people)),
    )
)
st.caption(t(f"camp.status.{camp['status']}"))

labels = {
    "date": t("chart.date"),
    "people": t("chart.people"),
    "association": t("chart.association"),
    "week": t("chart.week"),
    "passages": t("chart.passages"),
    "items": t("chart.items"),
    "item": t("chart.item"),
}
st.subheader(t("history.people_chart"))
counts = rows[rows["people"].notna()]
fig = px.line(counts, x="date", y="people", color="association", markers=True, labels=labels)
for day in rows.loc[rows["evacuation"].isin(schema.EVACUATIONS[1:]), "date"]:
    fig.add_vline(x=day, line_dash="dot", line_color="#aa5ae6")
fig.update_xaxes(tickformat="%d/%m/%Y")
fig.update_yaxes(rangemode="tozero")
fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=300, legend_title_text="")
charts.show(fig)

weekly = rows.assign(week=rows["day"].dt.to_period("W-SUN").dt.start_time)
cols = st.columns(2)
with cols[0]:
    st.subheader(t("history.weekly_chart"))
    per_week = weekly.groupby(["week", "association"]).size().rename("passages").reset_index()
    fig = px.bar(per_week, x="week", y="passages", color="association", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260, legend_title_text="")
    charts.show(fig)
with cols[1]:
    st.subheader(t("history.services_chart"))
    given = weekly.groupby("week")[list(schema.DISTRIBUTIONS)].sum()
    given = given.rename(columns=lambda k: t(f"service.{k}")).reset_index()
    long = given.melt(id_vars="week", var_name="item", value_name="items")
    fig = px.bar(long, x="week", y="items", color="item", labels=labels)
    fig.update_xaxes(tickformat="%d/%m/%Y")
    fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260, legend_title_text="")
    charts.show(fig)

chain = successors.chain_table(built.links, built.camps, camp_id)
if len(chain) > 1:
    st.subheader(t("history.chain"))
    st.caption(
        t(
            "history.chain_caption",
            distance=int(conf["analysis.successor_distance_m"]),
            days=t_n("successor.within", int(conf["analysis.successor_days"])),
        )
    )
    how = [
        t(
            "successor.link",
            distance=int(r.distance_m),
            delay=t_n("count.days", int(r.delay_days)),
            date=format_date(r.evacuation_date),
        )
        if pd.notna(r.evacuation_date)
        else ""
        for r in chain.itertuples()
    ]
    table = pd.DataFrame(
        {
            t("history.col.camp"): chain["name"],
            t("history.col.first"): chain["first_visit"].dt.strftime("%d/%m/%Y"),
            t("history.col.last"): chain["last_visit"].dt.strftime("%d/%m/%Y"),
            t("history.col.status"): chain["status"].map(lambda s: t(f"camp.status.{s}")),
            t("history.col.how"): how,
        }
    )
    tables.show(table, hide_index=True)

st.subheader(t("history.passages"))


def _given(row: pd.Series) -> str:
    parts = [f"{t(f'service.{k}')} {int(row[k])}" for k in schema.DISTRIBUTIONS if row[k] > 0]
    return ", ".join(parts)


listing = rows.sort_values("date", ascending=False)
tables.show(
    pd.DataFrame(
        {
            t("history.col.date"): listing["date"].dt.strftime("%d/%m/%Y %H:%M"),
            t("history.col.association"): listing["association"],
            t("history.col.team"): listing["team"],
            t("history.col.people"): listing["people"],
            t("history.col.needs"): listing["needs"].map(", ".join),
            t("history.col.given"): listing.apply(_given, axis=1),
            t("history.col.comment"): listing["comment"],
        }
    ),
    hide_index=True,
)
