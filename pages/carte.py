"""Carte: one point per active camp at its latest state."""

import streamlit as st

from carto.i18n import format_int, t
from carto.map_view import camp_deck, camp_points, legend
from carto.ui import data, layout

ds = data.dataset()
conf = data.settings()
gap = int(conf["analysis.coverage_gap_days"])
layout.page_header(t("map.title"), ds)

states = data.camp_states(ds, ds.today)
points = camp_points(states, gap)
active = states[states["active"]]

cols = st.columns(3)
cols[0].metric(t("map.metric.camps"), format_int(len(active)))
today_pop = data.estimated_population(ds, ds.today, ds.today)["people"].iloc[-1]
cols[1].metric(t("map.metric.people"), format_int(today_pop))
cols[2].metric(
    t("map.metric.not_visited", days=gap), format_int(int((active["days_since_visit"] > gap).sum()))
)

if points.empty:
    st.info(t("map.empty"))
else:
    st.caption(t("map.caption"))
    st.pydeck_chart(camp_deck(points), height=560, key="camp_map")
    swatches = " ".join(
        f"<span style='display:inline-block;width:0.9em;height:0.9em;border-radius:50%;"
        f"background:rgba({r},{g},{b},{a / 255:.2f});margin:0 0.3em 0 0.8em'></span>{label}"
        for (r, g, b, a), label in legend(gap)
    )
    st.markdown(swatches, unsafe_allow_html=True)

closed = int(states["closed"].sum())
if closed:
    st.caption(t("map.closed_hidden", n=closed))
