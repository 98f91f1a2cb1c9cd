"""What a phone shows instead of what a wide screen shows: two containers, one hidden.

Streamlit runs on the server and never learns the screen's width, so a page that needs
a different drawing on a phone (a table reduced to its key and decisive columns, one
small chart per item instead of a wide faceted chart) draws both, each in a keyed
container (``wide_and_narrow``), and the app's style sheet (``css``, loaded by
``app.py``) hides one of the two with a media query. Streamlit gives a keyed container
the CSS class ``st-key-<key>``; keys read ``<kind>wide-<name>`` and
``<kind>narrow-<name>`` ("tablewide-alerts", "chartnarrow-needs").

The breakpoint is Streamlit's own: its columns stack at 640 px and below (the
``breakpoints.columns`` of its theme), so a phone gets stacked columns and narrow
tables together.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

NARROW_MAX_PX = 640  # Streamlit stacks columns at this width and below
WIDE, NARROW = "wide", "narrow"
KINDS = ("table", "chart")


def key(kind: str, screen: str, name: str) -> str:
    """The container key (and, after "st-key-", the CSS class) of one drawing."""
    if kind not in KINDS or screen not in (WIDE, NARROW):
        raise ValueError(f"unknown drawing: {kind!r}, {screen!r}")
    return f"{kind}{screen}-{name}"


def css() -> str:
    """The media queries hiding the wide drawings on a phone and the narrow ones on a
    wider screen (``not all and``: no width where both or neither show)."""

    def selectors(screen: str) -> str:
        blocks = [f'[class*="st-key-{kind}{screen}-"]' for kind in KINDS]
        # and the wrapper Streamlit puts around a keyed container, which would still
        # take a gap in the page's column
        wrappers = [f'[data-testid="stLayoutWrapper"]:has(> {block})' for block in blocks]
        return ", ".join(blocks + wrappers)

    query = f"(max-width: {NARROW_MAX_PX}px)"
    return (
        f"@media {query} {{ {selectors(WIDE)} {{ display: none !important; }} }}\n"
        f"@media not all and {query} {{ {selectors(NARROW)} {{ display: none !important; }} }}\n"
    )


def wide_and_narrow(kind: str, name: str) -> tuple[DeltaGenerator, DeltaGenerator]:
    """Two containers, in this order: what a wide screen shows and what a phone shows
    (``name`` unique on the page and stable from one run to the next)."""
    wide = st.container(key=key(kind, WIDE, name))
    narrow = st.container(key=key(kind, NARROW, name))
    return wide, narrow


def styles() -> None:
    """Load the style sheet choosing between the two drawings (takes no room)."""
    st.html(f"<style>{css()}</style>")
