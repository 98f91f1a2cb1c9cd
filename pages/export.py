"""Exports: the datasets of the filtered view as CSV, Excel, GeoJSON or KML (issue 7)."""

import functools
import json
from typing import Any

import streamlit as st

from carto.accounts import PARTNER
from carto.export import contents as export_contents
from carto.export import files, formats, names
from carto.i18n import format_int, t, t_n
from carto.ui import auth, data, downloads, layout
from carto.ui import tables as french_tables

PREVIEW_ROWS = 100
MY_MAPS_LIMIT = 2000

v = layout.start_page(t("export.title"))
conf = data.settings()
user = auth.require_user(conf)
allowed = export_contents.datasets_for_role(user.role)
if not allowed:
    st.info(t("export.none_for_role"), icon=":material/block:")
    st.stop()
scope = data.export_scope(v, user.role)
st.caption(t("export.caption"))
if user.role == PARTNER:
    st.info(t("export.partner_note", threshold=v.policy.small_count_threshold))


def _column(table: formats.Table, col: str) -> Any:
    """The preview's column: French header, dates as DD/MM/YYYY."""
    kind = formats.column_kind(table.frame[col])
    if kind == "datetime":
        return st.column_config.DatetimeColumn(table.label(col), format="DD/MM/YYYY HH:mm")
    if kind == "date":
        return st.column_config.DateColumn(table.label(col), format="DD/MM/YYYY")
    return table.label(col)


left, right = st.columns([2, 1])
chosen = left.multiselect(
    t("export.datasets"),
    allowed,
    default=[allowed[0]],
    format_func=lambda d: t(f"export.dataset.{d}"),
    key="export_datasets",
)
fmt = right.radio(
    t("export.format"),
    formats.FORMATS,
    format_func=lambda f: t(f"export.format.{f}"),
    key="export_format",
)
excel_fr = False
if fmt == formats.CSV:
    excel_fr = right.toggle(t("export.excel_fr"), help=t("export.excel_fr_help"), key="excel_fr")
if not chosen:
    st.info(t("export.choose"))
    st.stop()
for name in chosen:
    st.caption(f"**{t(f'export.dataset.{name}')}** — {t(f'export.dataset_help.{name}')}")

with st.spinner(t("loading.data")):
    tables = data.export_tables(v, user.role, chosen)
counts = st.columns(len(tables))
for col, table in zip(counts, tables, strict=True):
    col.metric(t("export.rows", dataset=table.title), format_int(table.rows))

writable = [table for table in tables if fmt not in formats.GEO_FORMATS or table.mappable]
for table in tables:
    if table not in writable:
        st.warning(t("export.not_mappable_skipped", dataset=table.title))
st.caption(t("export.xlsx_note") if fmt == formats.XLSX else t("export.one_file_each"))
who = downloads.holder(user)
for i, file in enumerate(files.plan(writable, fmt, scope, excel_fr)):
    downloads.download_button(
        t("export.download", name=file.name),
        conf,
        who,
        downloads.FileToMake(
            file.data,
            functools.partial(files.record, file=file, scope=scope),
            roles=file.roles,
            file_name=file.name,
            mime=file.mime,
        ),
        key=f"export_download_{i}",
    )
    if file.rows < sum(table.rows for table in file.tables):
        missing = sum(table.rows for table in file.tables) - file.rows
        st.caption(t_n("export.unlocated", missing, name=file.name))
    if fmt == formats.KML and file.rows > MY_MAPS_LIMIT:
        st.caption(t("export.my_maps_limit", rows=format_int(file.rows)))

st.subheader(t("export.preview"))
view = json.dumps(names.audit_filters(scope.filters, scope.period), sort_keys=True)
tabs = st.tabs([table.title for table in tables])
for tab, table in zip(tabs, tables, strict=True):
    with tab:
        shown = min(PREVIEW_ROWS, table.rows)
        downloads.audit_view(
            conf,
            user,
            (files.PREVIEW, table.dataset, view),
            functools.partial(files.record_preview, scope=scope, dataset=table.dataset, rows=shown),
        )
        st.caption(t_n("export.preview_caption", shown, rows=format_int(table.rows)))
        french_tables.show(
            table.frame.head(PREVIEW_ROWS),
            hide_index=True,
            column_config={col: _column(table, col) for col in table.frame.columns},
            name=f"export-{table.dataset}",
            narrow=tuple(table.frame.columns[:2]),
        )
