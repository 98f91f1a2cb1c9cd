"""Synthèse: the one-page advocacy summary of the chosen period, printable to PDF (issue 7)."""

import streamlit as st

from carto import audit, privacy
from carto.export import names, summary
from carto.export.datasets import Options, Scope
from carto.i18n import t
from carto.settings import Settings
from carto.ui import auth, data, layout

v = layout.start_page(t("summary.title"))
conf = data.settings()
user = auth.require_user(conf)
opts = Options.from_settings(conf)
scope = Scope(v.ds, v.passages, v.filters, v.period, user.role, privacy.policy_for(user.role, conf))


@st.cache_data(max_entries=16, show_spinner=False)
def _summary(_scope: Scope, key: tuple[object, ...]) -> summary.Summary:
    return summary.summary_figures(_scope, opts)


def _record(name: str, rows: int, scope: Scope, username: str, conf: Settings) -> None:
    filters = {**names.audit_filters(scope.filters, scope.period), "fichier": name}
    audit.record_export(
        auth.store(conf),
        username,
        dataset="synthese",
        fmt="html",
        rows=rows,
        filters=filters,
        role=scope.role,
    )
    st.toast(t("summary.recorded"), icon=":material/history:")


key = (*v.key, v.period.start, v.period.end, user.role, repr(opts))
with st.spinner(t("loading.data")):
    figures = _summary(scope, key)
file_name = summary.summary_file_name(scope)
st.caption(t("summary.caption"))
st.download_button(
    t("summary.download"),
    data=summary.summary_html(figures),
    file_name=file_name,
    mime="text/html",
    on_click=_record,
    args=(file_name, figures.passages, scope, user.username, conf),
    icon=":material/download:",
    key="summary_download",
)
st.iframe(summary.summary_html(figures, print_button=True), height="content")
