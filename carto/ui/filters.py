"""The shared filter sidebar: the same widgets on every page, kept in the page address.

The address holds the filters as stable codes (``periode=7j``, ``public=mna``,
``assoc=croix-rouge-francaise``: see ``carto.filters``), so a filtered view survives page
changes and can be sent to a colleague as a link, whatever the labels read.

Streamlit's own binding (``bind="query-params"``) writes the *formatted* option, i.e.
the French label, into the address: the widgets are therefore not bound. The choice is
kept in the session (``_CHOICE``, which outlives the widgets of a page: each page has
its own): each run first takes the widgets' values as the person left them, then the
address if it holds something the sidebar did not write there (a link just opened, a
browser back), and sets the widgets from the choice before drawing them; the codes are
written back after every run. A value that cannot be read is left out, with a notice
naming the parameter. No callback is needed, and none changes stored state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import streamlit as st

from carto import filters
from carto.analytics.figures import Period
from carto.dataset import Dataset
from carto.filters import (
    PARAM_ARRONDISSEMENTS,
    PARAM_ASSOCIATIONS,
    PARAM_DATES,
    PARAM_GAP,
    PARAM_NEEDS,
    PARAM_PERIOD,
    PARAM_PUBLICS,
    PARAM_STATUSES,
    UrlOptions,
)
from carto.i18n import format_date, t, t_n
from carto.text import escape_markdown, quoted

_CAMP_KEYS = (PARAM_ARRONDISSEMENTS, PARAM_PUBLICS, PARAM_NEEDS, PARAM_STATUSES)
_RESET_KEYS = (PARAM_ASSOCIATIONS, *_CAMP_KEYS)
# The choice ({widget key: value}) and what the sidebar last wrote into the address
# ({parameter: codes}); both absent on a new session.
_CHOICE = "_filtres"
_WRITTEN = "_filtres_url"
# The coverage-gap threshold chosen (days) and what was last written for it.
_GAP_CHOICE = "_sans_passage"
_GAP_WRITTEN = "_sans_passage_url"


def _first_day(ds: Dataset, floor: dt.date) -> dt.date | None:
    first = ds.passages["day"].min().date() if len(ds.passages) else None
    return None if first is None else max(first, floor)


def sidebar(ds: Dataset, default_period: str, floor: dt.date) -> tuple[filters.Filters, Period]:
    """Draw the filters in the sidebar; return the choice and the period it means
    (``floor``: ``[quality] first_date``, no date widget offers a day before it)."""
    first = _first_day(ds, floor)
    default = default_period if default_period in filters.PERIODS else "30j"
    options = filters.url_options()
    choice_state = _choice_state(default, ds.today)
    for key in choice_state:
        if key in st.session_state:  # the widget as the person left it on the last run
            choice_state[key] = st.session_state[key]
    ignored = _read_address(choice_state, options, first, ds.today)
    if ignored:
        _ignored_notice(ignored)
    for key, value in choice_state.items():
        st.session_state[key] = value
    # the places offered: those of the data (communes positions gave included), and any
    # a link chose
    places = filters.arrondissement_options(
        [
            *ds.passages["arrondissement"].dropna().unique().tolist(),
            *ds.sites["arrondissement"].dropna().unique().tolist(),
            *choice_state[PARAM_ARRONDISSEMENTS],
        ]
    )
    with st.sidebar:
        st.header(t("filter.title"))
        period = st.selectbox(
            t("filter.period"),
            filters.PERIODS,
            format_func=lambda p: t(f"filter.period.{p}"),
            key=PARAM_PERIOD,
        )
        custom = None
        if period == filters.CUSTOM:
            value = st.date_input(
                t("filter.dates"),
                min_value=first,
                max_value=ds.today,
                format="DD/MM/YYYY",
                key=PARAM_DATES,
            )
            if isinstance(value, tuple) and len(value) == 2:
                custom = (value[0], value[1])
        associations = _choose_many("filter.associations", options, PARAM_ASSOCIATIONS)
        opened = any(choice_state.get(k) for k in _CAMP_KEYS)
        with st.expander(t("filter.more"), expanded=opened):
            arrondissements = _choose_many(
                "filter.arrondissements", options, PARAM_ARRONDISSEMENTS, places
            )
            publics = _pills("filter.publics", options, PARAM_PUBLICS, "filter.public")
            needs = _choose_many("filter.needs", options, PARAM_NEEDS)
            statuses = _pills("filter.statuses", options, PARAM_STATUSES, "filter.status")
        choice = filters.Filters(
            period=period or default,
            custom=custom,
            associations=tuple(associations),
            arrondissements=tuple(arrondissements),
            publics=tuple(publics),
            needs=tuple(needs),
            statuses=tuple(statuses),
        )
        span = choice.period_for(ds.today, first)
        st.caption(
            t("filter.period_caption", start=format_date(span.start), end=format_date(span.end))
        )
        if choice.narrows:
            st.caption(t("filter.share"))
            st.button(t("filter.reset"), on_click=_reset, icon=":material/filter_alt_off:")
    _write_address(choice, options, default)
    return choice, span


def _choice_state(default_period: str, today: dt.date) -> dict[str, Any]:
    """The filter choice kept in the session, each widget key → its value."""
    if _CHOICE not in st.session_state:
        st.session_state[_CHOICE] = {
            PARAM_PERIOD: default_period,
            PARAM_DATES: (today - dt.timedelta(days=29), today),
            **{key: [] for key in _RESET_KEYS},
        }
    state: dict[str, Any] = st.session_state[_CHOICE]
    return state


def _choose_many(
    label_key: str,
    options: Mapping[str, UrlOptions],
    key: str,
    shown: tuple[str, ...] | None = None,
) -> list[str]:
    """A multiselect kept in the address (``shown``: the options offered, default all);
    nothing chosen means all."""
    return st.multiselect(
        t(label_key),
        shown if shown is not None else options[key].options,
        key=key,
        placeholder=t("filter.all"),
    )


def _pills(label_key: str, options: Mapping[str, UrlOptions], key: str, prefix: str) -> list[str]:
    """Toggle buttons kept in the address; nothing chosen means all."""
    chosen = st.pills(
        t(label_key),
        options[key].options,
        selection_mode="multi",
        format_func=lambda code: t(f"{prefix}.{code}"),
        key=key,
    )
    return list(chosen or ())


def _read_address(
    state: dict[str, Any],
    options: Mapping[str, UrlOptions],
    first: dt.date | None,
    today: dt.date,
) -> list[str]:
    """Set the choice from the address when it holds what the sidebar did not write
    there (a link just opened, a browser back); returns the values ignored, as
    "parameter=value"."""
    written: dict[str, list[str]] | None = st.session_state.get(_WRITTEN)
    ignored: list[str] = []
    for key in filters.URL_PARAMS:
        given = st.query_params.get_all(key)
        if not given or (written is not None and written.get(key, []) == given):
            continue
        if key == PARAM_DATES:
            span = filters.decode_dates(given)
            if span is None:
                ignored.append(f"{key}={','.join(given)}")
                continue
            low = first or span[0]
            state[key] = tuple(min(max(day, low), today) for day in span)
            continue
        found, rejected = options[key].decode(given)
        ignored += [f"{key}={value}" for value in rejected]
        if key == PARAM_PERIOD:
            if found:
                state[key] = found[-1]
        elif found or written is not None:
            state[key] = found
    return ignored


def _write_address(
    choice: filters.Filters, options: Mapping[str, UrlOptions], default_period: str
) -> None:
    """Put the choice in the address as codes (a parameter left at its default is left
    out, so that a plain page has a plain address)."""
    wanted: dict[str, list[str]] = {
        PARAM_PERIOD: [] if choice.period == default_period else [choice.period],
        PARAM_DATES: filters.encode_dates(choice.custom) if choice.custom else [],
        PARAM_ASSOCIATIONS: options[PARAM_ASSOCIATIONS].encode(choice.associations),
        PARAM_ARRONDISSEMENTS: options[PARAM_ARRONDISSEMENTS].encode(choice.arrondissements),
        PARAM_PUBLICS: options[PARAM_PUBLICS].encode(choice.publics),
        PARAM_NEEDS: options[PARAM_NEEDS].encode(choice.needs),
        PARAM_STATUSES: options[PARAM_STATUSES].encode(choice.statuses),
    }
    for key, codes in wanted.items():
        if st.query_params.get_all(key) == codes:
            continue
        if codes:
            st.query_params[key] = codes
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state[_WRITTEN] = wanted


def _ignored_notice(ignored: list[str]) -> None:
    """Say which values of the link were ignored. They are whatever the link's author
    wrote (a toast is markdown): escaped, so that a crafted link shows no link or image,
    and only the first few, cut, so that a link of any length gives a short notice."""
    params = escape_markdown(quoted(ignored))
    st.toast(t("filter.url_ignored", params=params), icon=":material/link_off:")


def _reset() -> None:
    """Empty every filter but the period (the widgets and the choice alike)."""
    for key in _RESET_KEYS:
        st.session_state[key] = []
        st.session_state[_CHOICE][key] = []


def gap_days(default: int) -> int:
    """The coverage-gap threshold, in days ("Campements sans passage depuis plus de
    2 / 3 / 5 / 7 jours"; ``default``: the configured one), chosen with a control drawn
    where this is called. Kept like the sidebar filters: in the session, so that the
    map and the coordination page share it, and in the address as ``sans_passage=5``
    (left out at the default); a value the app cannot read is ignored with a notice."""
    options = filters.gap_options(default)
    choice = st.session_state.get(_GAP_CHOICE, default)
    if st.session_state.get(PARAM_GAP) in options:  # the control as the person left it
        choice = st.session_state[PARAM_GAP]
    given = st.query_params.get_all(PARAM_GAP)
    written: list[str] | None = st.session_state.get(_GAP_WRITTEN)
    if given and given != written:  # a link just opened, a browser back
        found = filters.decode_gap(given[-1], options)
        if found is None:
            _ignored_notice([f"{PARAM_GAP}={given[-1]}"])
        else:
            choice = found
    if choice not in options:
        choice = default
    st.session_state[_GAP_CHOICE] = st.session_state[PARAM_GAP] = choice
    st.segmented_control(
        t("map.gap.label"),
        options,
        format_func=lambda days: t_n("map.gap.option", days),
        required=True,
        key=PARAM_GAP,
    )
    wanted = [] if choice == default else [str(choice)]
    if st.query_params.get_all(PARAM_GAP) != wanted:
        if wanted:
            st.query_params[PARAM_GAP] = wanted
        else:
            del st.query_params[PARAM_GAP]
    st.session_state[_GAP_WRITTEN] = wanted
    return int(choice)
