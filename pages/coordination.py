"""Coordination: who covers what, camps to cover, double visits, needs ahead, protection."""

import pandas as pd
import plotly.express as px
import streamlit as st

from carto import privacy
from carto.analytics import alerts, coverage, needs
from carto.i18n import t, t_n
from carto.ui import charts, data, layout, tables

v = layout.start_page(t("coord.title"))
conf = data.settings()
gap = int(conf["analysis.coverage_gap_days"])
hours = int(conf["analysis.alert_hours"])
names = data.camp_places(v.ds)["name"]

st.subheader(t("alert.title"))
found = data.protection_alerts(v)
if found.empty:
    st.success(t("alert.none", hours=t_n("alert.hours", hours)))
else:
    badge = privacy.count(alerts.alert_count(found), v.policy).label
    st.error(t_n("alert.badge", badge), icon=":material/child_care:")
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
    )
    layout.suppressed_caption(
        v.policy, badge, privacy.hidden_in(found, "unaccompanied_minors", "families")
    )

st.subheader(t("coord.gaps"))
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
    )
    layout.suppressed_caption(v.policy, privacy.hidden_in(gaps, "people"))

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
    duplicate_hours = t_n("count.hours", float(conf["analysis.duplicate_visit_hours"]))
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
    )

st.subheader(t("coord.needs"))
weeks = int(conf["analysis.forecast_weeks"])
forecast = data.needs_forecast(v, weeks)
st.caption(needs.forecast_method(weeks))
tables.show(
    pd.DataFrame(
        {
            t("coord.col.item"): forecast["item"].map(lambda i: t(f"needs.item.{i}")),
            t("needs.people"): privacy.count_labels(forecast, "people", v.policy, decimals=1),
            t("needs.delivered"): privacy.count_labels(forecast, "delivered", v.policy, decimals=1),
            t("needs.camps"): privacy.count_labels(forecast, "camps", v.policy, decimals=1),
        }
    ),
    hide_index=True,
)
layout.suppressed_caption(v.policy, privacy.hidden_in(forecast, "people", "delivered", "camps"))
