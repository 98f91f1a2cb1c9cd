"""A crafted link to the real app, sent to a coordinator (a phishing mail, a chat): its
query parameters reach the pages. A value the app cannot read is named in a notice
(a toast, which Streamlit renders as markdown): it must show as typed, never as a link
or an image fetched from another server."""

from __future__ import annotations

from pathlib import Path

from carto import filters
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
