"""A page's own choice kept in the address as an id (the camp of Historique), so that a
link can open the page on it and a reload or a shared link keeps it.

Not Streamlit's ``bind="query-params"``: it keeps a picker's *label* in the address
(a camp's name, which can describe where it is) and rejects an id, so a link with the
id opened the page on another camp."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

_WRITTEN = "address_written_"


def read_choice(key: str, options: Sequence[str]) -> None:
    """Before drawing the widget of ``key``: choose the option the address names, when
    it holds one that this page did not write there (a link just opened, a browser
    back). An id that is not an option is ignored, and written over below."""
    given = st.query_params.get(key)
    if given is not None and given != st.session_state.get(_WRITTEN + key) and given in options:
        st.session_state[key] = given


def write_choice(key: str, value: str) -> None:
    """After drawing the widget: the address holds its choice."""
    if st.query_params.get(key) != value:
        st.query_params[key] = value
    st.session_state[_WRITTEN + key] = value
