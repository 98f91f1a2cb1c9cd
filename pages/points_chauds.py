"""Points chauds: camps and zones ranked by hotspot score, each with its reasons."""

import pandas as pd
import streamlit as st

from carto import privacy
from carto.i18n import t
from carto.ui import data, layout, tables

v = layout.start_page(t("hotspot.title"))
st.caption(t("hotspot.caption"))
scores = data.hotspot_scores(v, v.period.end.date())
if scores.empty:
    st.info(t("hotspot.none"))
    st.stop()

camps_tab, zones_tab = st.tabs([t("hotspot.camps"), t("hotspot.zones")])
with camps_tab:
    tables.show(
        pd.DataFrame(
            {
                t("hotspot.col.camp"): scores["name"],
                t("hotspot.col.score"): scores["score"],
                t("hotspot.col.reasons"): scores["reasons"],
            }
        ),
        hide_index=True,
        column_config={t("hotspot.col.reasons"): st.column_config.TextColumn(width="large")},
        name="hotspot-camps",
        narrow=(t("hotspot.col.camp"), t("hotspot.col.score"), t("hotspot.col.reasons")),
    )
with zones_tab:
    zones = data.hotspot_zones(v, v.period.end.date())
    tables.show(
        pd.DataFrame(
            {
                t("hotspot.col.top_camp"): zones["top_camp"],
                t("hotspot.col.zone_camps"): privacy.count_labels(zones, "camps", v.policy),
                t("hotspot.col.score"): zones["score"],
                t("hotspot.col.zone_names"): zones["camp_names"],
                t("hotspot.col.reasons"): zones["reasons"],
            }
        ),
        hide_index=True,
        name="hotspot-zones",
        narrow=(t("hotspot.col.top_camp"), t("hotspot.col.zone_camps"), t("hotspot.col.score")),
    )
    layout.suppressed_caption(v.policy, privacy.hidden_in(zones, "camps"))
    st.caption(data.zone_caption(v))
