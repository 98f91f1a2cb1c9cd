"""The shared filter sidebar: the same widgets on every page, bound to the URL.

Each widget is bound to a query parameter, so a filtered view survives page changes and
can be sent to a colleague as a link.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from carto import filters, schema
from carto.analytics.figures import Period
from carto.dataset import Dataset
from carto.i18n import format_date, t

_KEYS = ("periode", "dates", "assoc", "arr", "public", "besoins", "statut")


def _first_day(ds: Dataset) -> dt.date | None:
    return ds.passages["day"].min().date() if len(ds.passages) else None


def sidebar(ds: Dataset, default_period: str) -> tuple[filters.Filters, Period]:
    """Draw the filters in the sidebar; return the choice and the period it means."""
    first = _first_day(ds)
    default = default_period if default_period in filters.PERIODS else "30j"
    with st.sidebar:
        st.header(t("filter.title"))
        period = st.selectbox(
            t("filter.period"),
            filters.PERIODS,
            index=filters.PERIODS.index(default),
            format_func=lambda p: t(f"filter.period.{p}"),
            key="periode",
            bind="query-params",
        )
        custom = None
        if period == "perso":
            value = st.date_input(
                t("filter.dates"),
                value=(ds.today - dt.timedelta(days=29), ds.today),
                min_value=first,
                max_value=ds.today,
                format="DD/MM/YYYY",
                key="dates",
                bind="query-params",
            )
            if isinstance(value, tuple) and len(value) == 2:
                custom = (value[0], value[1])
        associations = _choose_many("filter.associations", schema.ASSOCIATIONS, "assoc")
        opened = any(st.session_state.get(k) for k in ("arr", "public", "besoins", "statut"))
        with st.expander(t("filter.more"), expanded=opened):
            arrondissements = _choose_many("filter.arrondissements", schema.ARRONDISSEMENTS, "arr")
            publics = st.pills(
                t("filter.publics"),
                list(filters.PUBLICS),
                selection_mode="multi",
                format_func=lambda p: t(f"filter.public.{p}"),
                key="public",
                bind="query-params",
            )
            needs = _choose_many("filter.needs", schema.NEEDS, "besoins")
            statuses = st.pills(
                t("filter.statuses"),
                list(filters.CAMP_STATUSES),
                selection_mode="multi",
                format_func=lambda s: t(f"filter.status.{s}"),
                key="statut",
                bind="query-params",
            )
        choice = filters.Filters(
            period=period or default,
            custom=custom,
            associations=tuple(associations),
            arrondissements=tuple(arrondissements),
            publics=tuple(publics or ()),
            needs=tuple(needs),
            statuses=tuple(statuses or ()),
        )
        span = choice.period_for(ds.today, first)
        st.caption(
            t("filter.period_caption", start=format_date(span.start), end=format_date(span.end))
        )
        if choice.narrows:
            st.caption(t("filter.share"))
            st.button(t("filter.reset"), on_click=_reset, icon=":material/filter_alt_off:")
    return choice, span


def _choose_many(label_key: str, options: tuple[str, ...], key: str) -> list[str]:
    """A multiselect bound to the URL; nothing chosen means all."""
    return st.multiselect(
        t(label_key), options, key=key, placeholder=t("filter.all"), bind="query-params"
    )


def _reset() -> None:
    for key in _KEYS[2:]:
        st.session_state[key] = []
