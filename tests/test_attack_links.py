"""A crafted link to the real app, sent to a coordinator (a phishing mail, a chat): its
query parameters reach the pages. A value the app cannot read is named in a notice
(a toast, which Streamlit renders as markdown): it must show as typed, never as a link
or an image fetched from another server."""

from __future__ import annotations

from pathlib import Path

from carto import filters, text
from testing.app import login, new_app
from testing.hostile import EVIL
from tests.test_text import unescape, unescaped_syntax

PHISHING = f"[Session expirée : reconnectez-vous](https:{EVIL}/login) ![x](https:{EVIL}/p.png)"


def test_a_crafted_filter_value_in_a_link_shows_as_plain_text(app_config: Path) -> None:
    at = new_app()
    at.query_params.update({filters.PARAM_ASSOCIATIONS: PHISHING, filters.PARAM_GAP: PHISHING})
    login(at)  # the link's parameters are kept through the sign-in
    notices = [toast.value for toast in at.toast]
    assert len(notices) == 2
    for notice in notices:
        quoted = notice[notice.index("(") + 1 : notice.rindex(")")]
        assert PHISHING in unescape(quoted)  # the reader sees what the link said
        assert not unescaped_syntax(quoted), unescaped_syntax(quoted)  # nothing live


def test_a_link_of_half_a_million_characters_gives_a_short_notice(app_config: Path) -> None:
    """Streamlit takes query strings of up to 512 Ki characters: the notice quotes a few
    values, each cut, and keeps none of them in the escaping cache."""
    at = new_app()
    crafted = ["." * 170_000 + f":{i}" for i in range(3)]  # within the 512 Ki limit
    at.query_params.update({filters.PARAM_NEEDS: crafted})
    login(at)
    before = text._escaped_text.cache_info().currsize
    notices = [unescape(toast.value) for toast in at.toast]
    assert len(notices) == 1
    quoted_part = notices[0][notices[0].index("(") + 1 : notices[0].rindex(")")]
    cut = f"{filters.PARAM_NEEDS}=" + "." * (text.QUOTED_WIDTH - len(filters.PARAM_NEEDS) - 1)
    assert quoted_part == " ; ".join([cut + "…"] * 3)
    for i in range(5):  # more crafted links in the same session: nothing is kept
        at.query_params[filters.PARAM_NEEDS] = ["." * 520_000 + f":{i}{i}"]
        at.run()
        assert len(at.toast[0].value) < 1000
    assert text._escaped_text.cache_info().currsize <= before + 5 * 2
