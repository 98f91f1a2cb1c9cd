"""Coordination: who covers what, camps to cover, double visits, needs ahead, protection."""

import pandas as pd
import plotly.express as px
import streamlit as st

from carto.analytics import alerts, coverage, figures, needs
from carto.i18n import format_int, t
from carto.ui import data, layout

v = layout.start_page(t("coord.title"))
conf = data.settings()
gap = int(conf["analysis.coverage_gap_days"])
hours = int(conf["analysis.alert_hours"])
period_passages = figures.in_period(v.passages, v.period)
names = data.camp_places(v.ds)["name"]

st.subheader(t("alert.title"))
found = data.protection_alerts(v)
if found.empty:
    st.success(t("alert.none", hours=hours))
else:
    st.error(t("alert.badge", count=alerts.alert_count(found)), icon=":material/child_care:")
    st.caption(t("alert.definition", hours=hours))
    st.dataframe(
        pd.DataFrame(
            {
                t("coord.col.camp"): found["name"],
                t("coord.col.reasons"): found["reasons"].map(
                    lambda r: ", ".join(t(f"alert.reason.{c}") for c in r)
                ),
                t("coord.col.minors"): found["unaccompanied_minors"].map(format_int),
                t("coord.col.families"): found["families"].map(format_int),
                t("coord.col.last_report"): found["last_report"].dt.strftime("%d/%m/%Y %H:%M"),
            }
        ),
        hide_index=True,
    )

st.subheader(t("coord.gaps"))
states = data.camp_states(v, v.ds.today)
gaps = coverage.coverage_gaps(states, gap)
if gaps.empty:
    st.success(t("coord.no_gap", days=gap))
else:
    st.caption(t("coverage.gap_definition", days=gap))
    st.dataframe(
        pd.DataFrame(
            {
                t("coord.col.camp"): gaps["name"],
                t("coord.col.days"): gaps["days_since_visit"],
                t("coord.col.last"): gaps["last_visit"].dt.strftime("%d/%m/%Y"),
                t("coord.col.people"): gaps["people"],
            }
        ),
        hide_index=True,
    )

st.subheader(t("coord.who"))
table = coverage.who_covers_what(period_passages)
matrix = coverage.weekday_matrix(table, "passages")
matrix.columns = [t(f"weekday.{d}") for d in matrix.columns]
fig = px.imshow(matrix, text_auto=True, aspect="auto", color_continuous_scale="Oranges")
fig.update_layout(
    margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=220, coloraxis_showscale=False
)
fig.update_xaxes(title="")
fig.update_yaxes(title="")
st.plotly_chart(fig, config={"displayModeBar": False})

st.subheader(t("coord.duplicates"))
pairs = coverage.duplicate_visits(period_passages, float(conf["analysis.duplicate_visit_hours"]))
if pairs.empty:
    st.success(t("coord.no_duplicate"))
else:
    st.caption(t("coverage.duplicate_definition", hours=conf["analysis.duplicate_visit_hours"]))
    twice = coverage.items_distributed_twice(pairs)
    given = ", ".join(f"{t(f'service.{k}')} {format_int(n)}" for k, n in twice.items() if n > 0)
    if given:
        st.caption(t("coverage.items_twice", items=given))
    st.dataframe(
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
weekly = data.weekly_needs(v)
forecast = needs.needs_forecast(weekly, v.ds.today, weeks)
st.caption(needs.forecast_method(weeks))
st.dataframe(
    pd.DataFrame(
        {
            t("coord.col.item"): forecast["item"].map(lambda i: t(f"needs.item.{i}")),
            t("needs.people"): forecast["people"],
            t("needs.delivered"): forecast["delivered"],
            t("needs.camps"): forecast["camps"],
        }
    ),
    hide_index=True,
)
