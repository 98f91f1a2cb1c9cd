"""Historique d'un campement: its counts, visits, deliveries, evacuations and successors."""

import pandas as pd
import streamlit as st

from carto import schema
from carto.i18n import format_date, format_int, t, t_n
from carto.ui import address, charts, data, layout, plots, rounds, tables

v = layout.start_page(t("history.title"))
camps = data.history_camps(v)
if camps.empty:
    st.info(t("history.none"))
    st.stop()
labels_of = dict(zip(camps["camp_id"], camps["label"], strict=True))
address.read_choice("camp", list(labels_of))
camp_id = st.selectbox(
    t("history.pick"),
    list(labels_of),
    format_func=labels_of.__getitem__,
    help=t("history.pick_help"),
    key="camp",
)
address.write_choice("camp", camp_id)
camp = camps.set_index("camp_id").loc[camp_id]
rounds.passage_button(rounds.passage_link(v, camps, camp_id, data.settings()))
whole_life = st.toggle(
    t("history.whole_life"),
    value=False,
    help=t("history.whole_life_help"),
    key="vie_entiere",
    bind="query-params",
)
story = data.camp_history(v, camp_id, whole_life)
rows = story.rows
span = (
    {"start": format_date(story.start), "end": format_date(story.end)}
    if story.start is not None and story.end is not None
    else {}
)
if span:
    st.caption(t("history.span.whole_life" if whole_life else "history.span.period", **span))
st.caption(t(f"camp.status.{camp['status']}"))
first, last = story.start, story.end
if rows.empty or first is None or last is None:  # no passage in the span
    st.info(t("history.no_passage_in_period", **span))
else:
    st.markdown(
        t(
            "history.summary",
            passages=t_n("count.passages", len(rows)),
            first=format_date(rows["date"].iloc[0]),
            last=format_date(rows["date"].iloc[-1]),
            people=t_n("count.people", format_int(story.last_people)),
        )
    )

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
    fig = plots.line_figure(counts, "date", "people", labels, color="association", markers=True)
    for day in rows.loc[rows["evacuation"].isin(schema.EVACUATIONS[1:]), "date"]:
        fig.add_vline(x=day, line_dash="dot", line_color="#aa5ae6")
    charts.date_axis(fig, first, last, weekly=False)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(margin=charts.MARGIN, height=300, legend_title_text="")
    charts.show(fig)

    def weekly_bars(
        frame: pd.DataFrame, y: str, color: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> None:
        """A weekly bar chart of the span: Mondays as ticks, partial weeks hatched."""
        fig = plots.bar_figure(frame, "week", y, color, labels)
        charts.date_axis(fig, start, end, weekly=True)
        charts.size_weekly_bars(fig)
        charts.mark_partial_weeks(fig, story.weeks)
        fig.update_layout(margin=charts.MARGIN, height=260, legend_title_text="")
        charts.show(fig)

    cols = st.columns(2)
    with cols[0]:
        st.subheader(t("history.weekly_chart"))
        weekly_bars(story.weekly_passages, "passages", "association", first, last)
    with cols[1]:
        st.subheader(t("history.services_chart"))
        given = story.weekly_items.assign(
            item=story.weekly_items["item"].map(lambda k: t(f"service.{k}"))
        )
        weekly_bars(given, "items", "item", first, last)
    note = charts.partial_weeks_note(story.weeks, v.ds.today)
    if note:
        st.caption(note)

chain = data.successor_chain(v, camp_id)
if len(chain) > 1:
    st.subheader(t("history.chain"))
    st.caption(
        t(
            "history.chain_caption",
            distance=v.options.successor_distance_m,
            days=t_n("successor.within", v.options.successor_days),
        )
    )
    how = [
        t(
            "successor.link",
            distance=int(distance),
            delay=t_n("count.days", int(delay)),
            date=format_date(when),
        )
        if pd.notna(when)
        else ""
        for distance, delay, when in zip(
            chain["distance_m"].tolist(),
            chain["delay_days"].tolist(),
            chain["evacuation_date"].tolist(),
            strict=True,
        )
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
    tables.show(
        table,
        hide_index=True,
        name="history-chain",
        narrow=(t("history.col.camp"), t("history.col.last"), t("history.col.status")),
    )

st.subheader(t("history.passages"))


def _given(row: pd.Series) -> str:
    parts = [f"{t(f'service.{k}')} {int(row[k])}" for k in schema.DISTRIBUTIONS if row[k] > 0]
    return ", ".join(parts)


if not rows.empty:
    listing = rows.sort_values("date", ascending=False)
    tables.show(
        pd.DataFrame(
            {
                t("history.col.date"): listing["date"].dt.strftime("%d/%m/%Y %H:%M"),
                t("history.col.association"): listing["association"],
                t("history.col.team"): listing["team"].fillna(""),
                t("history.col.people"): listing["people"].map(format_int),
                t("history.col.needs"): listing["needs"].map(", ".join),
                t("history.col.given"): listing.apply(_given, axis=1),
                t("history.col.comment"): listing["comment"].fillna(""),
            }
        ),
        hide_index=True,
        name="history-passages",
        narrow=(t("history.col.date"), t("history.col.association"), t("history.col.people")),
    )
