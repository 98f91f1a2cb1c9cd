"""Mon compte: who I am, my role, change my password, e-mail digest, sign out everywhere."""

import streamlit as st

from carto.i18n import t, t_n
from carto.text import escape_markdown
from carto.ui import auth, data

conf = data.settings()
user = auth.require_user(conf)
st.title(t("account.title"))
st.markdown(
    t(
        "account.who",
        name=escape_markdown(user.label),
        username=escape_markdown(user.username),
        role=t(f"role.{user.role}"),
    )
)
st.caption(t(f"auth.demo.sees.{user.role}"))

st.subheader(t("account.password.title"))
auth.password_form(conf)

st.subheader(t("account.digest.title"))
auth.digest_form(conf, user)

st.subheader(t("account.sessions.title"))
minutes = t_n("count.minutes", auth.idle_timeout_minutes(conf))
st.caption(t("account.sessions.help", minutes=minutes))
auth.logout_button(conf)
