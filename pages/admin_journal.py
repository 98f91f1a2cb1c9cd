"""Journal et API: the audit log, the Airtable API calls of the month, the last syncs."""

from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from carto import audit, sync
from carto.accounts import ADMIN
from carto.dataset import open_store
from carto.i18n import format_datetime, format_int, t
from carto.ui import auth, data, tables

conf = data.settings()
auth.require_role(conf, ADMIN)
store = auth.store(conf)
timezone = data.options().timezone
st.title(t("admin.log.title"))

st.subheader(t("admin.log.api"))
if conf.demo:
    st.info(t("admin.log.api_demo"))
else:
    snapshot = open_store(conf)  # live mode: the synced snapshot and its sync log
    budget = sync.budget_status(conf, snapshot)
    cols = st.columns(2)
    cols[0].metric(t("admin.log.api_used"), format_int(budget.used))
    total = format_int(budget.budget) if budget.budget > 0 else t("admin.log.api_unlimited")
    cols[1].metric(t("admin.log.api_budget"), total)
    if budget.budget > 0:
        st.progress(min(budget.fraction, 1.0))
    if budget.exhausted:
        st.warning(
            t("sync.error.budget_auto", used=format_int(budget.used), budget=total),
            icon=":material/block:",
        )
    st.subheader(t("admin.log.syncs"))
    syncs = pd.DataFrame(snapshot.sync_log(50))
    if syncs.empty:
        st.caption(t("admin.log.no_sync"))
    else:
        started = pd.to_datetime(syncs["started_at"], utc=True, format="ISO8601")
        syncs["started_at"] = started.dt.tz_convert(timezone)
        tables.show(
            syncs[
                ["started_at", "mode", "ok", "fetched", "changed", "deleted", "api_calls"]
            ].assign(
                error=syncs["error"].fillna(""),
                mode=syncs["mode"].map(lambda m: t(f"admin.log.mode.{m}")),
            ),
            hide_index=True,
            column_config={
                "started_at": st.column_config.DatetimeColumn(
                    t("admin.log.col.started"), format="DD/MM/YYYY HH:mm"
                ),
                "mode": t("admin.log.col.mode"),
                "ok": st.column_config.CheckboxColumn(t("admin.log.col.ok")),
                "fetched": t("admin.log.col.fetched"),
                "changed": t("admin.log.col.changed"),
                "deleted": t("admin.log.col.deleted"),
                "api_calls": t("admin.log.col.calls"),
                "error": st.column_config.TextColumn(t("admin.log.col.error"), width="large"),
            },
            name="syncs",
            narrow=("started_at", "ok", "error"),
        )

st.subheader(t("admin.log.audit"))
st.caption(t("admin.log.audit_caption"))
cols = st.columns(2)
event = cols[0].selectbox(
    t("admin.log.event_filter"),
    [None, *audit.EVENTS],
    format_func=lambda e: t("admin.log.all_events") if e is None else audit.label(e),
    key="audit_event",
)
who = cols[1].text_input(t("admin.log.user_filter"), key="audit_user").strip().lower()
entries = store.audit_log(1000, event=event, username=who or None)
if not entries:
    st.caption(t("admin.log.empty"))
    st.stop()

tz = ZoneInfo(timezone)
tables.show(
    pd.DataFrame(
        {
            "at": [format_datetime(e["at"].astimezone(tz)) for e in entries],
            "event": [audit.label(e["event"]) for e in entries],
            "username": [e["username"] for e in entries],
            "details": [audit.describe(e["event"], e["details"], tz) for e in entries],
        }
    ),
    hide_index=True,
    column_config={
        "at": t("admin.log.col.at"),
        "event": t("admin.log.col.event"),
        "username": t("admin.log.col.username"),
        "details": st.column_config.TextColumn(t("admin.log.col.details"), width="large"),
    },
    name="audit",
    narrow=("at", "event"),
)
