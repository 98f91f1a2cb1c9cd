"""Coordination: who covers what, camps to cover, double visits, needs ahead, protection."""

import pandas as pd
import plotly.express as px
import streamlit as st

from carto import packing_list, privacy
from carto.analytics import alerts, coverage, needs
from carto.i18n import format_date, t, t_n
from carto.ui import auth, charts, data, downloads, filters, layout, navigation, tables
from carto.ui import rounds as street

v = layout.start_page(t("coord.title"))
conf = data.settings()
user = auth.require_user(conf)
gap = v.options.coverage_gap_days
hours = v.options.alert_hours
names = data.camp_places(v.ds)["name"]

st.subheader(t("alert.title"))
found = data.protection_alerts(v)
if found.empty:
    st.success(t("alert.none", hours=t_n("alert.hours", hours)))
else:
    st.error(t_n("alert.badge", alerts.alert_count(found)), icon=":material/child_care:")
    st.caption(t("alert.definition", hours=t_n("alert.hours", hours)))
    tables.show(
        pd.DataFrame(
            {
                t("coord.col.camp"): found["name"],
                t("coord.col.reasons"): found["reasons"].map(
                    lambda r: ", ".join(t(f"alert.reason.{c}") for c in r)
                ),
                t("coord.col.minors"): privacy.count_labels(
                    found, "unaccompanied_minors", v.policy
                ),
                t("coord.col.families"): privacy.count_labels(found, "families", v.policy),
                t("coord.col.last_report"): found["last_report"].dt.strftime("%d/%m/%Y %H:%M"),
            }
        ),
        hide_index=True,
        name="alerts",
        narrow=(t("coord.col.camp"), t("coord.col.reasons")),
    )
    layout.suppressed_caption(
        v.policy, privacy.hidden_in(found, "unaccompanied_minors", "families")
    )

st.subheader(t("coord.gaps"))
gap = filters.gap_days(gap)  # chosen here or on the map (default: the configured one)
states = data.camp_states(v, v.ds.today)
gaps = coverage.coverage_gaps(states, gap)
if gaps.empty:
    st.success(t_n("coord.no_gap", gap))
else:
    st.caption(t_n("coverage.gap_definition", gap))
    tables.show(
        pd.DataFrame(
            {
                t("coord.col.camp"): gaps["name"],
                t("coord.col.days"): gaps["days_since_visit"],
                t("coord.col.last"): gaps["last_visit"].dt.strftime("%d/%m/%Y"),
                t("coord.col.people"): privacy.count_labels(gaps, "people", v.policy),
            }
        ),
        hide_index=True,
        name="gaps",
        narrow=(t("coord.col.camp"), t("coord.col.days")),
    )
    layout.suppressed_caption(v.policy, privacy.hidden_in(gaps, "people"))

street.planned_section(v, conf)

st.subheader(t("coord.who"))
covered = data.coverage_of_period(v)
matrix = covered.weekday_passages.astype(float)
matrix.columns = [t(f"weekday.{d}") for d in matrix.columns]
fig = px.imshow(matrix, aspect="auto", color_continuous_scale="Oranges")
# The cells' text is the protected count as shown elsewhere ("<5" for a partner).
fig.update_traces(
    text=covered.weekday_labels.to_numpy(),
    texttemplate="%{text}",
    hovertemplate="%{y} · %{x} : %{text}<extra></extra>",  # not plotly's "x:", "color:"
)
fig.update_layout(
    margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=220, coloraxis_showscale=False
)
fig.update_xaxes(title="")
fig.update_yaxes(title="")
charts.show(fig)
layout.suppressed_caption(v.policy, covered.weekday_labels)

st.subheader(t("coord.duplicates"))
pairs = covered.pairs
if pairs.empty:
    st.success(t("coord.no_duplicate"))
else:
    duplicate_hours = t_n("count.hours", v.options.duplicate_visit_hours)
    st.caption(t("coverage.duplicate_definition", hours=duplicate_hours))
    given = ", ".join(
        f"{t(f'service.{k}')} {n.label}"
        for k, n in covered.items_twice.items()
        if n.suppressed or (n.value or 0) > 0
    )
    if given:
        st.caption(t("coverage.items_twice", items=given))
        layout.suppressed_caption(v.policy, covered.items_twice)
    tables.show(
        pd.DataFrame(
            {
                t("coord.col.camp"): pairs["camp_id"].map(names),
                t("coord.col.when"): pairs["first_date"].dt.strftime("%d/%m/%Y %H:%M"),
                t("coord.col.associations"): pairs["first_association"]
                + " + "
                + pairs["second_association"],
                t("coord.col.items"): pairs["items_twice"].map(
                    lambda keys: ", ".join(t(f"service.{k}") for k in keys)
                ),
            }
        ),
        hide_index=True,
        name="duplicates",
        narrow=(t("coord.col.camp"), t("coord.col.when"), t("coord.col.associations")),
    )

st.subheader(t("coord.needs"))
weeks = v.options.forecast_weeks
breakdown = st.segmented_control(
    t("needs.breakdown"),
    needs.BREAKDOWNS,
    default="total",
    format_func=lambda b: t(f"needs.breakdown.{b}"),
    key="besoins_detail",
    bind="query-params",
)
plan = data.needs_plan(v, weeks, breakdown or "total")
st.markdown(
    t("needs.plan_title", start=format_date(plan.week_start), end=format_date(plan.week_end))
)
st.caption(needs.forecast_method(weeks) + " " + t("needs.plan_caption"))
if plan.labels.empty:
    st.info(t("needs.plan_empty"))
else:
    group_header = (
        {}
        if plan.breakdown == "total"
        else {t(f"needs.col.group.{plan.breakdown}"): plan.labels["group"]}
    )
    # Camps concerned say nothing per camp (0 or 1): only for the whole view or a zone.
    camps_column = {} if plan.breakdown == "camp" else {t("needs.col.camps"): plan.labels["camps"]}
    tables.show(
        pd.DataFrame(
            {
                **group_header,
                t("coord.col.item"): plan.labels["item"],
                t("needs.col.need"): plan.labels["need"],
                t("needs.col.usual"): plan.labels["usual"],
                t("needs.col.gap"): plan.labels["gap"],
                **camps_column,
            }
        ),
        hide_index=True,
        name="needs-plan",
        # on a phone: what to bring of each item (and, for the whole view, the gap)
        narrow=(
            *group_header,
            t("coord.col.item"),
            t("needs.col.need"),
            *([] if group_header else [t("needs.col.gap")]),
        ),
    )
    shown_columns = ["need", "usual", "gap"] + ([] if plan.breakdown == "camp" else ["camps"])
    layout.suppressed_caption(v.policy, plan.labels[shown_columns])
if plan.gap_hidden:
    st.caption(t("needs.gap_hidden", n=v.policy.small_count_threshold))
packing = packing_list.packing_list_html(
    plan.labels,
    plan.week_start,
    plan.week_end,
    data.now(),
    needs.forecast_method(weeks),
    t(f"needs.col.group.{plan.breakdown}") if plan.breakdown != "total" else "",
)
file_name = packing_list.packing_list_file_name(plan.week_start)
downloads.download_button(
    t("needs.download"),
    conf,
    downloads.holder(user),
    downloads.FileToMake(
        lambda: packing.encode("utf-8"),
        lambda store, username: data.record_packing_list(store, username, user.role, v, plan),
        roles=navigation.spec_roles("pages/coordination.py"),
        file_name=file_name,
        mime="text/html",
    ),
    key="packing_download",
)
