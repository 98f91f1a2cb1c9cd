"""Record text (camp names, teams, comments, associations, account names) made safe to
show in Streamlit markdown: ``escape_markdown``, the one helper every page uses; and in
an e-mail's lines: ``plain_line``.

Streamlit renders ``st.markdown``, ``st.caption``, ``st.write`` of a string, the body
of ``st.info``/``st.warning``/…, and the labels of widgets and metrics as markdown
(CommonMark with GitHub's extensions, raw HTML when ``unsafe_allow_html=True``) and
adds its own syntax on top: ``$…$`` maths, ``:red[…]`` colour and other directives,
``:material/icon:`` icons, ``:emoji:`` shortcodes and ``:streamlit:``. A name typed in
a form such as ``![x](https://evil.example/p.png) :red[**urgent**]`` would otherwise
become an image fetched from an outside server, a link, or styled text.

Dataframe cells are drawn as plain text and need nothing; so are the options of a
select box (``format_func``). Plain Python: no Streamlit here.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import pandas as pd

# Markdown's special characters: CommonMark shows ``\X`` as X for any ASCII punctuation
# X, and a backslash-escaped character never starts syntax (links, images, emphasis,
# code, headings, lists, tables, strikethrough, ``$`` maths).
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~$=")
# Raw HTML: written as entities, which markdown shows as the character, whether or not
# the page allows HTML.
HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Some syntax is found in the text *after* markdown has resolved escapes, so a backslash
# does not stop it: Streamlit's ``:material/…:`` icons, ``:streamlit:`` and emoji
# shortcodes, and GitHub's autolinks of ``www.…``, ``http://…``, ``mailto:…`` and e-mail
# addresses. An invisible word joiner after every colon and every ``@``, and between
# ``www`` and its dot, breaks each of them (and ``:red[…]`` directives).
WORD_JOINER = "\u2060"
JOINED_AFTER = frozenset(":@")
_WWW = re.compile(r"(www)(?=\.)", re.IGNORECASE)


def _escape_char(char: str) -> str:
    if char in MARKDOWN_SPECIAL:
        return "\\" + char
    return HTML_ENTITIES.get(char, char)


def plain_line(value: object) -> str:
    """``value`` as one line of plain text that nothing makes a link of: runs of white
    space (line breaks included) become one space, a word joiner follows every colon and
    ``@`` and splits ``www.``. For record text in an e-mail, whose plain-text part mail
    clients turn into links wherever they see an address, and where a line break
    would start a line of its own (a false item). A missing value gives ""."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = _WWW.sub(r"\1" + WORD_JOINER, " ".join(str(value).split()))
    return "".join(char + WORD_JOINER if char in JOINED_AFTER else char for char in text)


def escape_markdown(value: object) -> str:
    """``value`` as text that Streamlit's markdown shows literally, on one line.

    Every markdown special character is backslash-escaped, ``&``, ``<`` and ``>`` become
    HTML entities, a word joiner follows every colon and ``@`` and splits ``www.``, and
    runs of white space (line breaks included) become one space, so that the text cannot
    start a block (heading, list, quote, table) wherever it is inserted. What the reader
    sees is the text as typed, white space aside. A missing value (None, NaN, NA) gives
    "".
    """
    if type(value) is str and len(value) <= CACHED_LENGTH:
        return _escaped_text(value)
    return "".join(_escape_char(char) for char in plain_line(value))


# Texts longer than this are escaped each time, not kept: cells are short, and a long
# text kept (a crafted link's value can reach 512 Ki characters) would hold its memory,
# and its escaped copy, until 8192 others pushed it out.
CACHED_LENGTH = 1000


@functools.lru_cache(maxsize=8192)
def _escaped_text(value: str) -> str:
    """``escape_markdown`` of a text, kept: a table of hundreds of camps escapes every
    cell, character by character, on each run, and most cells (names, days, counts) are
    those of the run before."""
    return "".join(_escape_char(char) for char in plain_line(value))


# What a notice quotes of the values a visitor wrote (a link's parameters): enough to
# recognise them, bounded whatever the link holds.
QUOTED_VALUES = 5
QUOTED_WIDTH = 120
ELLIPSIS = "…"


def quoted(values: Sequence[str], most: int = QUOTED_VALUES, width: int = QUOTED_WIDTH) -> str:
    """``values`` joined by " ; " for a notice: the first ``most``, each cut to ``width``
    characters; "…" marks what was cut or left out."""
    cut = [v if len(v) <= width else v[:width] + ELLIPSIS for v in values[:most]]
    if len(values) > most:
        cut.append(ELLIPSIS)
    return " ; ".join(cut)
