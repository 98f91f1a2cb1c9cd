"""Autour de moi (phone): the active camps near the browser's position, nearest first,
with the way there and the form to report a passage. The position stays in this browser
session (carto/ui/rounds.py)."""

import streamlit as st

from carto.i18n import t, t_n
from carto.ui import data, layout
from carto.ui import rounds as street

v = layout.start_page(t("nearby.title"))
conf = data.settings()
opts = street.options(conf)
st.caption(t("nearby.privacy"))
position = street.browser_position()
radius = st.segmented_control(
    t("nearby.radius"),
    street.RADII_M,
    default=street.DEFAULT_RADIUS_M,
    format_func=street.distance_label,
    key="rayon",
)
radius = radius or street.DEFAULT_RADIUS_M
if not v.policy.exact_positions:
    st.caption(t("camp.zone_note"))

if position is not None and not position.error:
    found = street.nearby(v, position, radius, opts.detour_factor)
    if position.accuracy_m == position.accuracy_m:  # not NaN
        st.caption(t("nearby.accuracy", distance=street.distance_label(position.accuracy_m)))
    if found.empty:
        st.info(t("nearby.none", distance=street.distance_label(radius)))
    else:
        st.success(t_n("nearby.found", len(found), distance=street.distance_label(radius)))
        street.camp_entries(
            found, street.passage_links(v, found, conf), v.policy, lambda row, i: str(row["name"])
        )
else:
    if position is None:
        st.info(t("nearby.waiting"), icon=":material/my_location:")
    else:
        st.warning(t(f"nearby.{position.error}"), icon=":material/location_off:")
    zones = street.zones_of(v)
    if zones:
        chosen = st.selectbox(t("nearby.fallback"), zones, key="arrondissement_proche")
        camps = street.in_arrondissement(v, str(chosen))
        street.camp_entries(
            camps, street.passage_links(v, camps, conf), v.policy, lambda row, i: str(row["name"])
        )
