"""Carte: camps at their state on a chosen day, with optional layers."""

import datetime as dt

import streamlit as st

from carto import privacy
from carto.analytics import events
from carto.i18n import t, t_n
from carto.map_view import (
    camp_card,
    camp_deck,
    camp_points,
    evacuation_points,
    gap_points,
    legend,
    selected_camp_id,
    zone_cells,
)
from carto.ui import auth, data, layout, navigation

v = layout.start_page(t("map.title"))
conf = data.settings()
gap = int(conf["analysis.coverage_gap_days"])
first = v.passages["day"].min().date() if len(v.passages) else v.ds.today

day = v.ds.today
if first < v.ds.today:
    day = st.slider(
        t("map.state_on"),
        min_value=first,
        max_value=v.ds.today,
        value=v.ds.today,
        step=dt.timedelta(days=1),
        format="DD/MM/YYYY",
        key="etat_au",
    )
layer_names = {
    "camps": t("map.layer.camps"),
    "zones": t("map.layer.zones"),
    "gaps": t_n("map.layer.gaps", gap),
    "evacuations": t("map.layer.evacuations"),
}
shown = (
    st.pills(
        t("map.layers"),
        list(layer_names),
        selection_mode="multi",
        default=["camps", "gaps"],
        format_func=layer_names.get,
        key="couches",
    )
    or []
)

states = data.camp_states(v, day)
points = camp_points(states, gap, v.policy)
figures = data.map_figures(v, day, gap)
cols = st.columns(3)
cols[0].metric(t("map.metric.camps"), figures.camps.label)
cols[1].metric(t("map.metric.people"), figures.people.label)
cols[2].metric(t_n("map.metric.not_visited", gap), figures.not_visited.label)
hidden_in_tooltips = privacy.hidden_in(states[states["active"]], "people")
layout.suppressed_caption(
    v.policy, figures.camps, figures.people, figures.not_visited, figures.closed, hidden_in_tooltips
)

if points.empty:
    st.info(t("map.empty"))
else:
    zone_layer = None
    if "zones" in shown:
        resolution = int(conf["zones.h3_resolution"])
        zone_layer = zone_cells(data.zone_coverage(v, day, resolution, gap), v.policy)
    evac_layer = None
    if "evacuations" in shown:
        found = data.evacuation_events(v)
        evac_layer = evacuation_points(
            events.events_in(found, v.period.start, v.period.end), v.policy
        )
    deck = camp_deck(
        points,
        gaps=gap_points(points, states, gap) if "gaps" in shown else None,
        zones=zone_layer,
        evacuations=evac_layer,
        show_camps="camps" in shown,
    )
    st.caption(t("map.caption") + " " + t("map.select_hint"))
    event = st.pydeck_chart(
        deck, height=520, key="camp_map", on_select="rerun", selection_mode="single-object"
    )
    swatches = " ".join(
        f"<span style='display:inline-block;width:0.9em;height:0.9em;border-radius:50%;"
        f"background:rgba({r},{g},{b},{a / 255:.2f});margin:0 0.3em 0 0.8em'></span>{label}"
        for (r, g, b, a), label in legend(gap)
    )
    st.markdown(swatches, unsafe_allow_html=True)
    role = auth.require_user(conf).role
    camp_id = selected_camp_id(event.selection) if event else None
    # built from the server's frame: only the camp id is taken from the browser
    card = camp_card(states, camp_id, v.policy)
    if card is not None and camp_id is not None:
        with st.container(border=True):
            st.markdown(f"**{t('map.selected')}**")
            st.markdown(card)
            if navigation.may_open(role, "pages/historique.py"):
                st.page_link(
                    "pages/historique.py",
                    label=t("map.history_link"),
                    icon=":material/timeline:",
                    query_params={"camp": camp_id},
                )

if figures.closed.suppressed or figures.closed.value:
    st.caption(t_n("map.closed_hidden", figures.closed.label))
