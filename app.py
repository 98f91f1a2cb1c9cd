"""CartoCampement: the router. Page config, the page list, navigation. No data work here."""

import streamlit as st

from carto.i18n import t

st.set_page_config(page_title=t("app.title"), page_icon=":material/map:", layout="wide")

pages = [
    st.Page("pages/carte.py", title=t("nav.map"), icon=":material/map:", default=True),
    st.Page("pages/tableau_de_bord.py", title=t("nav.dashboard"), icon=":material/monitoring:"),
    st.Page(
        "pages/points_chauds.py", title=t("nav.hotspots"), icon=":material/local_fire_department:"
    ),
    st.Page("pages/historique.py", title=t("nav.history"), icon=":material/timeline:"),
    st.Page("pages/coordination.py", title=t("nav.coordination"), icon=":material/groups:"),
    st.Page("pages/qualite.py", title=t("nav.quality"), icon=":material/fact_check:"),
]
st.navigation(pages).run()
