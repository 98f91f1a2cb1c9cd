"""Qualité des données: what was set aside or flagged, why, and a link to fix it."""

import streamlit as st

from carto.analytics import quality
from carto.i18n import format_int, t
from carto.ui import charts, data, layout, plots, tables

ds = data.dataset()
layout.page_header(t("quality.title"), ds)
st.caption(t("quality.caption"))

report = data.quality_report(ds)
issues, counts = report.issues, report.counts
cols = st.columns(4)
cols[0].metric(t("quality.records"), format_int(counts.total))
cols[1].metric(t("quality.used"), format_int(counts.used))
cols[2].metric(t("quality.flagged"), format_int(counts.flagged))
cols[3].metric(t("quality.quarantined"), format_int(counts.quarantined))

if issues.empty:
    st.success(t("quality.empty"))
    st.stop()

status_label = {
    quality.QUARANTINED: t("quality.status.quarantined"),
    quality.FLAGGED: t("quality.status.flagged"),
}
st.subheader(t("quality.by_kind"))
kinds = report.kinds.assign(status=lambda f: f["status"].map(status_label))
tables.show(
    kinds[["status", "kind", "records"]],
    hide_index=True,
    column_config={
        "status": t("quality.col.status"),
        "kind": t("quality.col.kind"),
        "records": t("quality.col.records"),
    },
    name="quality-kinds",
    narrow=("status", "kind", "records"),
)

st.subheader(t("quality.trend"))
fig = plots.bar_figure(
    report.trend.assign(status=lambda f: f["status"].map(status_label)),
    "week",
    "records",
    "status",
    {"week": t("quality.col.week"), "records": t("quality.col.records"), "status": ""},
)
fig.update_xaxes(tickformat="%d/%m/%Y")
fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=280, legend_title_text="")
charts.show(fig)

st.subheader(t("quality.list"))
shown = st.segmented_control(
    t("quality.show"),
    [quality.QUARANTINED, quality.FLAGGED],
    format_func=status_label.__getitem__,
    default=quality.QUARANTINED,
    key="quality_status",
)
rows = issues if shown is None else issues[issues["status"] == shown]
table = rows.assign(
    status=rows["status"].map(status_label),
    table=rows["table"].map({k: t(f"table.{k}") for k in rows["table"].unique()}),
    when=rows["when"].dt.strftime("%d/%m/%Y %H:%M"),
)
if ds.is_demo:
    st.caption(t("quality.no_link_demo"))
tables.show(
    table[["status", "table", "when", "reason", "airtable_url"]],
    hide_index=True,
    column_config={
        "status": t("quality.col.status"),
        "table": t("quality.col.table"),
        "when": t("quality.col.when"),
        "reason": st.column_config.TextColumn(t("quality.col.reason"), width="large"),
        "airtable_url": st.column_config.LinkColumn(
            t("quality.col.link"), display_text=t("quality.link_text")
        ),
    },
    name="quality-records",
    narrow=("when", "reason", "airtable_url"),  # the record (its date, its link) and why
)
