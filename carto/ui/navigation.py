"""The one registry of pages: path, title, icon and section of each.

Which roles open a page is not said here but in the roles' table, ``privacy.ACCESS``
(``PageSpec.roles`` reads it), so that pages, exports and precision are one policy.
``app.py`` builds ``st.navigation`` from ``pages_for(role)`` once the person is signed
in: the file of a page a role may not open is not registered at all; its URL finds a
hidden stand-in that only says so. Add a page here and to ``privacy.ACCESS``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.util import calc_hash

from carto import privacy
from carto.i18n import t

MAIN_SECTION = ""
ADMIN_SECTION = "nav.section.admin"
ACCOUNT_SECTION = "nav.section.account"


@dataclass(frozen=True)
class PageSpec:
    """One page of the app."""

    path: str  # relative to app.py
    title_key: str  # catalogue key of the title
    icon: str
    section_key: str = MAIN_SECTION  # catalogue key of the sidebar section ("" for none)
    default: bool = False

    @property
    def url_path(self) -> str:
        """The URL Streamlit gives the page (from its file name)."""
        return self.path.rsplit("/", 1)[-1].removesuffix(".py")

    @property
    def roles(self) -> frozenset[str]:
        """The roles that may open the page (``privacy.ACCESS``)."""
        return privacy.roles_for_page(self.url_path)


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/carte.py", "nav.map", ":material/map:", default=True),
    PageSpec("pages/tableau_de_bord.py", "nav.dashboard", ":material/monitoring:"),
    PageSpec("pages/points_chauds.py", "nav.hotspots", ":material/local_fire_department:"),
    PageSpec("pages/autour_de_moi.py", "nav.nearby", ":material/near_me:"),
    PageSpec("pages/maraude.py", "nav.round", ":material/route:"),
    PageSpec("pages/historique.py", "nav.history", ":material/timeline:"),
    PageSpec("pages/coordination.py", "nav.coordination", ":material/groups:"),
    PageSpec("pages/synthese.py", "nav.summary", ":material/summarize:"),
    PageSpec("pages/export.py", "nav.export", ":material/download:"),
    PageSpec("pages/qualite.py", "nav.quality", ":material/fact_check:"),
    PageSpec(
        "pages/admin_utilisateurs.py",
        "nav.admin_users",
        ":material/manage_accounts:",
        ADMIN_SECTION,
    ),
    PageSpec("pages/admin_journal.py", "nav.admin_log", ":material/history:", ADMIN_SECTION),
    PageSpec("pages/mon_compte.py", "nav.account", ":material/person:", ACCOUNT_SECTION),
)


def specs_for(role: str, pages: Collection[PageSpec] = PAGES) -> list[PageSpec]:
    """The pages a role may open, in menu order (none for an unknown role)."""
    return [p for p in pages if role in p.roles]


def spec_roles(path: str) -> frozenset[str]:
    """The roles that may open the page of ``path`` (none for an unknown path)."""
    return next((spec.roles for spec in PAGES if spec.path == path), frozenset())


def may_open(role: str, path: str) -> bool:
    """Whether ``role`` may open the page of ``path`` (e.g. "pages/historique.py")."""
    return any(spec.path == path for spec in specs_for(role))


def stand_ins(
    render: Callable[[], None], specs: Collection[PageSpec] = PAGES
) -> list[StreamlitPage]:
    """Hidden pages at the URLs of ``specs`` that only draw ``render``: the login form
    before sign-in (a shared link finds its page, not Streamlit's English "Page not
    found", and the page opens after sign-in), a refusal for pages a role may not
    open. The page file itself is never run for them."""
    return [
        st.Page(render, title=t(spec.title_key), url_path=spec.url_path, visibility="hidden")
        for spec in specs
    ]


def pages_for(
    role: str, refuse: Callable[[], None] | None = None
) -> dict[str, list[StreamlitPage]]:
    """The ``st.navigation`` argument for a role: sections of ``st.Page``; with
    ``refuse``, the pages the role may not open are stand-ins drawing it."""
    sections: dict[str, list[StreamlitPage]] = {}
    for spec in specs_for(role):
        title = t(spec.section_key) if spec.section_key else ""
        sections.setdefault(title, []).append(
            st.Page(
                spec.path,
                title=t(spec.title_key),
                icon=spec.icon,
                default=spec.default,
            )
        )
    if refuse is not None:
        others = [spec for spec in PAGES if role not in spec.roles]
        sections.setdefault(MAIN_SECTION, []).extend(stand_ins(refuse, others))
    return sections


def current_page_allowed(role: str, pages: Collection[PageSpec] = PAGES) -> bool:
    """Whether ``role`` may see the page this script run is drawing. A page file missing
    from the registry is refused: Streamlit may still run it directly on the first run
    of a process. Streamlit names a page run by the hash of its URL path."""
    ctx = get_script_run_ctx()
    if ctx is None:  # not inside a Streamlit run: nothing is shown to anyone
        return True
    by_hash = {calc_hash(spec.url_path): spec for spec in pages}
    spec = by_hash.get(ctx.page_script_hash)
    return spec is not None and role in spec.roles
