"""CartoCampement: the router. Page config, sign-in, the pages of the person's role.

No data work here. The page list is ``carto/ui/navigation.py``: the file of a page a
role may not open is not registered; its URL draws a refusal instead.
"""

import streamlit as st

from carto.i18n import t
from carto.ui import auth, data, errors, layout, navigation, screens

st.set_page_config(page_title=t("app.title"), page_icon=":material/map:", layout="wide")
errors.install()  # an unexpected error shows a French message, never a traceback
layout.hide_english_chrome()  # Streamlit's table toolbar speaks English only
screens.styles()  # a phone gets the narrow tables and charts, a wide screen the others

conf = data.settings()
user = auth.gate(conf)  # safe-start page or login form, then stop, until signed in
# expanded: every page listed, never Streamlit's English "View more" button (13 pages)
page = st.navigation(navigation.pages_for(user.role, refuse=auth.refused_page), expanded=True)
auth.sidebar(conf, user)
page.run()
