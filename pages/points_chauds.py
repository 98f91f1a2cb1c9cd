"""Points chauds: camps and zones ranked by hotspot score, each with its reasons."""

import pandas as pd
import streamlit as st

from carto.analytics import hotspots
from carto.i18n import t
from carto.ui import data, layout

v = layout.start_page(t("hotspot.title"))
conf = data.settings()
st.caption(t("hotspot.caption"))
scores = data.hotspot_scores(v, v.period.end.date())
if scores.empty:
    st.info(t("hotspot.none"))
    st.stop()

camps_tab, zones_tab = st.tabs([t("hotspot.camps"), t("hotspot.zones")])
with camps_tab:
    st.dataframe(
        pd.DataFrame(
            {
                t("hotspot.col.camp"): scores["name"],
                t("hotspot.col.score"): scores["score"],
                t("hotspot.col.reasons"): scores["reasons"],
            }
        ),
        hide_index=True,
        column_config={t("hotspot.col.reasons"): st.column_config.TextColumn(width="large")},
    )
with zones_tab:
    zones = hotspots.zone_scores(scores, int(conf["zones.h3_resolution"]))
    st.dataframe(
        pd.DataFrame(
            {
                t("hotspot.col.top_camp"): zones["top_camp"],
                t("hotspot.col.zone_camps"): zones["camps"],
                t("hotspot.col.score"): zones["score"],
                t("hotspot.col.zone_names"): zones["camp_names"],
                t("hotspot.col.reasons"): zones["reasons"],
            }
        ),
        hide_index=True,
    )
    st.caption(data.zone_caption())
