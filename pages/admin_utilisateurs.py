"""Comptes: who may sign in, with which role; add, change, remove, unlock."""

import pandas as pd
import streamlit as st

from carto import accounts
from carto.accounts import ADMIN, ROLES
from carto.i18n import format_datetime, t
from carto.ui import auth, data, tables

conf = data.settings()
auth.require_role(conf, ADMIN)
store = auth.store(conf)
path = accounts.accounts_path(conf)
st.title(t("admin.users.title"))


@auth.guarded(conf, ADMIN)
def _act(admin: auth.User, action: str) -> None:
    """Run one form's action (a callback: the table below shows its result), for the
    admin the guard has just checked again."""
    ss = st.session_state
    field = "new_username" if action == "add" else "admin_target"
    name = accounts.normalise_username(str(ss.get(field) or ""))
    try:
        if action == "add":
            role = ss["new_role"]
            by = admin.username
            accounts.create(path, store, by, name, ss["new_password"], role, ss["new_name"])
            message = t("admin.users.added", username=name)
        elif action == "role":
            role = ss["target_role"]
            accounts.change_role(path, store, admin.username, name, role)
            message = t("admin.users.role_changed", username=name, role=t(f"role.{role}"))
        elif action == "password":
            accounts.reset_password(path, store, admin.username, name, ss["target_password"])
            message = t("admin.users.password_reset", username=name)
        elif action == "remove":
            if name == admin.username:
                raise accounts.AccountError(t("admin.users.not_self"))
            accounts.delete(path, store, admin.username, name)
            message = t("admin.users.removed", username=name)
        else:  # unlock
            cleared = accounts.unlock(store, admin.username, name)
            key = "admin.users.unlocked" if cleared else "admin.users.not_locked"
            message = t(key, username=name)
    except accounts.AccountError as exc:
        ss["admin_notice"] = ("error", str(exc))
    else:
        ss["admin_notice"] = ("success", message)
    for key in ("new_password", "target_password"):
        ss[key] = ""


if conf.demo:
    st.info(t("admin.users.demo"), icon=":material/science:")
else:
    st.caption(t("admin.users.caption", path=path))
notice = st.session_state.pop("admin_notice", None)
if notice:
    getattr(st, notice[0])(notice[1])

known = auth.load_accounts(conf) if conf.demo or path.exists() else {}
now = auth.now()
rows = []
for account in known.values():
    state = store.login_state(account.username)
    locked = state.locked_until if state.locked(now) else None
    rows.append(
        {
            "username": account.username,
            "name": account.name,
            "role": t(f"role.{account.role}"),
            "failures": state.failures,
            "locked": format_datetime(locked.astimezone(auth.local_zone(conf))) if locked else "",
        }
    )
tables.show(
    pd.DataFrame(rows, columns=["username", "name", "role", "failures", "locked"]),
    hide_index=True,
    column_config={c: t(f"admin.users.col.{c}") for c in rows[0]} if rows else None,
    name="accounts",
    narrow=("username", "role", "locked"),
)

names = sorted(known)
role_label = {r: t(f"role.{r}") for r in ROLES}
st.subheader(t("admin.users.manage"))
st.selectbox(t("admin.users.account"), names, key="admin_target")
cols = st.columns(3)
with cols[0]:
    st.button(t("admin.users.unlock"), on_click=_act, args=("unlock",), key="do_unlock")
if not conf.demo and names:
    with cols[1].form("role_form"):
        st.selectbox(
            t("admin.users.new_role"), ROLES, format_func=role_label.__getitem__, key="target_role"
        )
        st.form_submit_button(t("admin.users.set_role"), on_click=_act, args=("role",))
    with cols[2].form("password_form"):
        st.text_input(t("admin.users.reset_password"), type="password", key="target_password")
        st.form_submit_button(t("admin.users.reset_submit"), on_click=_act, args=("password",))
    with st.expander(t("admin.users.remove")):
        confirm = st.checkbox(t("admin.users.remove_confirm"), key="remove_confirm")
        st.button(
            t("admin.users.remove"),
            on_click=_act,
            args=("remove",),
            disabled=not confirm,
            key="do_remove",
        )

if not conf.demo:
    st.subheader(t("admin.users.add"))
    with st.form("add_form", clear_on_submit=False):
        st.text_input(t("auth.login.username"), key="new_username")
        st.text_input(t("admin.users.name"), key="new_name")
        st.selectbox(
            t("admin.users.col.role"), ROLES, format_func=role_label.__getitem__, key="new_role"
        )
        st.text_input(t("admin.users.password"), type="password", key="new_password")
        st.form_submit_button(t("admin.users.add_submit"), on_click=_act, args=("add",))
