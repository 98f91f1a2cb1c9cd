"""Synthèse: the one-page advocacy summary of the chosen period, printable to PDF (issue 7).

Shown in the page and downloadable; both are audited as exports (``carto.ui.downloads``):
the page view once per session and distinct view, the file at each download.
"""

import json

import streamlit as st

from carto.export import files, names, summary
from carto.i18n import t
from carto.ui import auth, data, downloads, layout, navigation

v = layout.start_page(t("summary.title"))
conf = data.settings()
user = auth.require_user(conf)
scope = data.export_scope(v, user.role)
with st.spinner(t("loading.data")):
    figures = data.summary_figures(v, user.role)
file_name = summary.summary_file_name(scope)
st.caption(t("summary.caption"))
downloads.download_button(
    t("summary.download"),
    conf,
    downloads.holder(user),
    downloads.FileToMake(
        lambda: summary.summary_html(figures).encode("utf-8"),
        lambda store, username: files.record_summary(
            store, username, scope, figures.passages, files.SUMMARY_FILE, file_name
        ),
        roles=navigation.spec_roles("pages/synthese.py"),
        file_name=file_name,
        mime="text/html",
    ),
    key="summary_download",
)
view = json.dumps(names.audit_filters(scope.filters, scope.period), sort_keys=True)
downloads.audit_view(
    conf,
    user,
    (files.SUMMARY, view),
    lambda store, username: files.record_summary(
        store, username, scope, figures.passages, files.SUMMARY_PAGE
    ),
)
st.iframe(summary.summary_html(figures, print_button=True), height="content")
