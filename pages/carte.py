"""Carte: camps at their state on a chosen day, with optional layers and their legends,
the list of the camps shown, and the card of a tapped camp."""

import datetime as dt

import streamlit as st

from carto import options, privacy
from carto.i18n import t, t_n
from carto.map_view import camp_card as card_of
from carto.map_view import (
    camp_list,
    camp_of_selection,
    camp_points,
    counted_what,
    selected_camp_id,
)
from carto.ui import auth, carte, data, filters, layout, navigation, rounds

v = layout.start_page(t("map.title"))
conf = data.settings()
# never before [quality] first_date: the data holds no earlier day, but a slider
# starting before 1684 would break the page
first = max(
    v.passages["day"].min().date() if len(v.passages) else v.ds.today, options.first_date(conf)
)
publics = v.filters.publics

day = v.ds.today
when, threshold = st.columns([3, 2], gap="medium", vertical_alignment="bottom")
if first < v.ds.today:
    day = when.slider(
        t("map.state_on"),
        min_value=first,
        max_value=v.ds.today,
        value=v.ds.today,
        step=dt.timedelta(days=1),
        format="DD/MM/YYYY",
        key="etat_au",
    )
with threshold:
    gap = filters.gap_days(v.options.coverage_gap_days)
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
        format_func=layer_names.__getitem__,
        key="couches",
    )
    or []
)

states = data.camp_states(v, day)
points = camp_points(states, gap, v.policy, publics)
figures = data.map_figures(v, day, gap)
cols = st.columns(2 + len(figures.counted))
cols[0].metric(t("map.metric.camps"), figures.camps.label)
for col, (label, count) in zip(cols[1:-1], figures.counted, strict=True):
    col.metric(label, count.label)
cols[-1].metric(t_n("map.metric.not_visited", gap), figures.not_visited.label)
# the tooltips, the card and the list show each camp's counts, "<5" when hidden
hidden_in_camps = privacy.hidden_in(
    states[states["active"]], "people", "unaccompanied_minors", "families", "single_women"
)
layout.suppressed_caption(
    v.policy,
    figures.camps,
    [count for _, count in figures.counted],
    figures.not_visited,
    figures.closed,
    hidden_in_camps,
)

if points.empty:
    st.info(t("map.empty"))
else:
    carte.phone_styles()
    size = t("map.size_by", what=counted_what(publics))
    st.caption(f"{t('map.caption')} {size} {t('map.select_hint')}")
    deck, swatches = carte.deck(v, day, states, points, gap, shown)
    side, listing = st.columns([3, 2], gap="medium")
    with side:
        event = st.pydeck_chart(
            deck, height=520, key="camp_map", on_select="rerun", selection_mode="single-object"
        )
        carte.legend(swatches)
    with listing:
        selected = selected_camp_id(event.selection) if event else None
        camp_id = camp_of_selection(states, selected, v.policy)
        # built from the server's frame: only the camp id is taken from the browser
        card = card_of(states, camp_id, v.policy)
        if card is not None and camp_id is not None:
            role = auth.require_user(conf).role
            carte.camp_card(
                camp_id,
                card,
                navigation.may_open(role, "pages/historique.py"),
                rounds.passage_link(v, states, camp_id, conf),
            )
        st.markdown(f"**{t('map.list.title')}**")
        st.caption(t("map.list.caption"))
        alerts = data.protection_alerts(v, day)
        carte.camp_table(camp_list(states, alerts, gap, v.policy, publics))

if figures.closed.suppressed or figures.closed.value:
    st.caption(t_n("map.closed_hidden", figures.closed.label))
