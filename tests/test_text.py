"""``escape_markdown``: record text shown literally by Streamlit's markdown (issue 14,
item 6).

What Streamlit 1.67's markdown does to a string (its frontend, StreamlitMarkdown.js):
CommonMark with GitHub's extensions (links, images, raw HTML, code, tables, autolinks
of ``www.``/``http://``/e-mail addresses, strikethrough), ``$…$`` maths (turned on when
the source holds a ``$`` that is not written ``\\$``), directives ``:name[…]`` (colours,
badges, ``:small[…]``), and, on the text once escapes are resolved, ``:material_x:``
icons (after replacing ``:material/`` by ``:material_`` in the raw source), emoji
shortcodes (``:smile:``), ``:streamlit:`` and GitHub's autolinks (mdast-util-gfm-
autolink-literal works on that text too). The checks below use those rules; the
browser test tests/e2e/test_map_card_in_browser.py renders a hostile name for real.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carto import text
from carto.text import MARKDOWN_SPECIAL, WORD_JOINER, escape_markdown, quoted

# Streamlit's own patterns (frontend bundle of 1.67), applied to what it would see.
EMOJI = re.compile(r":(?!material\/|streamlit:)[\w+-][\w_+-]*:")
DIRECTIVE = re.compile(r":[a-z][a-z0-9-]*\[")
ICON_IN_TEXT = re.compile(r":material_(\w+):")
MATH = re.compile(r"(?<!\\)\$")
URL = re.compile(r"(https?:\/\/|www(?=\.))", re.IGNORECASE)
EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+")
PROTOCOL = re.compile(r"(?:mailto|xmpp):[-.\w+]", re.IGNORECASE)


def text_nodes(source: str) -> str:
    """The text markdown makes of ``source``: escapes resolved, entities decoded (word
    joiners are characters: they stay)."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", source)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def typed_as_shown(typed: str) -> str:
    """What the reader should see of a typed text: white space runs as one space (and
    word joiners, invisible, left out)."""
    return " ".join(typed.split()).replace(WORD_JOINER, "")


def unescape(source: str) -> str:
    """What the reader sees."""
    return text_nodes(source).replace(WORD_JOINER, "")


def unescaped_syntax(text: str) -> list[str]:
    """Markdown or HTML syntax left live in ``text``: a special character not escaped
    by a backslash, a raw ``<`` or ``>``, a colon or ``@`` not followed by a word joiner,
    a line break, ``www.`` in one piece."""
    found = [m.group() for m in re.finditer(r"www\\?\.", text, re.IGNORECASE)]
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 < len(text) and text[i + 1] in MARKDOWN_SPECIAL:
                i += 2
                continue
            found.append("lone backslash")
        else:
            joined = text[i + 1 : i + 2] == WORD_JOINER
            if char in MARKDOWN_SPECIAL or char in "<>\n\r" or (char in ":@" and not joined):
                found.append(char)
        i += 1
    return found


@pytest.mark.parametrize(
    "typed",
    [
        "[lien](https://evil.example/x)",
        "![pixel](https://evil.example/p.png)",
        '<img src="https://evil.example/i.png" onerror="alert(1)">',
        "<a href='https://evil.example'>ici</a>",
        "`code` et ```bloc```",
        "$x^2$ et $$\\int$$",
        ":material/home: :material/warning:",
        ":red[urgent] :blue-background[bleu] :small[petit] :violet-badge[badge]",
        ":smile: :streamlit:",
        "www.evil.example WWW.evil.example http://evil.example contact@evil.example",
        "mailto:contact@evil.example xmpp:x@evil.example (www.evil.example)",
        "# Titre\n- liste\n> citation\n| a | b |\n---",
        "**gras** _italique_ ~~barré~~ \\*échappé\\*",
        "1. premier\n2) second",
    ],
)
def test_streamlit_markdown_syntax_stays_text(typed: str) -> None:
    shown = escape_markdown(typed)
    assert not unescaped_syntax(shown), shown
    assert unescape(shown) == typed_as_shown(typed)
    # Streamlit's icons: ":material/" → ":material_" in the raw source, then a pattern
    # on the text; emoji and ":streamlit:" on the text; directives and maths on the source
    nodes = text_nodes(shown.replace(":material/", ":material_"))
    assert not ICON_IN_TEXT.search(nodes)
    assert not EMOJI.search(shown) and not EMOJI.search(nodes)
    assert ":streamlit:" not in nodes
    assert not DIRECTIVE.search(shown) and not DIRECTIVE.search(nodes)
    assert not MATH.search(shown)
    assert not URL.search(nodes) and not EMAIL.search(nodes) and not PROTOCOL.search(nodes)
    assert "<" not in shown and ">" not in shown and "\n" not in shown


def test_escape_keeps_plain_names_as_they_are() -> None:
    assert escape_markdown("Porte de la Villette, quai de Jemmapes") == (
        "Porte de la Villette, quai de Jemmapes"
    )
    assert escape_markdown("Évacuation avec mise à l'abri") == "Évacuation avec mise à l'abri"
    assert escape_markdown("Croix-Rouge française") == "Croix\\-Rouge française"


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_values_give_nothing(missing: object) -> None:
    assert escape_markdown(missing) == ""


@given(st.text())
def test_any_text_is_shown_literally(typed: str) -> None:
    shown = escape_markdown(typed)
    assert not unescaped_syntax(shown)
    assert unescape(shown) == typed_as_shown(typed)


def test_long_texts_are_escaped_without_being_kept() -> None:
    """A crafted link's value of half a million characters is escaped as any text, but
    the cache keeps no entry for it: ten distinct ones leave its size as it was."""
    before = text._escaped_text.cache_info().currsize
    for i in range(10):
        value = "." * 520_000 + f":{i}"
        assert unescape(escape_markdown(value)) == value
    assert text._escaped_text.cache_info().currsize == before
    short = "Pont de Flandre (sous le pont) " + "x" * 400
    escape_markdown(short)
    assert text._escaped_text.cache_info().currsize == before + 1  # short ones are kept


def test_a_notice_quotes_a_few_values_each_cut() -> None:
    values = [f"besoins={i}" + "." * 500 for i in range(8)]
    said = quoted(values)
    parts = said.split(" ; ")
    assert parts == [v[: text.QUOTED_WIDTH] + "…" for v in values[: text.QUOTED_VALUES]] + ["…"]
    assert quoted(["periode=hier", "assoc=Inconnue"]) == "periode=hier ; assoc=Inconnue"
