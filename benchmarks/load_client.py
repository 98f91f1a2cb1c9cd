"""A browser session of the app without a browser: Streamlit's websocket protocol.

``Session`` opens ``/_stcore/stream`` with the sign-in cookie in the upgrade request (as
a browser that signed in earlier sends it), asks for a page with a ``BackMsg``
``rerun_script`` (the page's script hash and URL path, as the browser's navigation
does) and reads ``ForwardMsg``s until ``script_finished``. A run counts as a page only
if it drew that page: finished successfully, its title as the first heading, no
exception, no error message (the app's French error page is an ``st.error``), no
"page not found" and no login form. A page that fails fast is not a fast page.

``websockets`` ships with Streamlit (its server's dependency): no new dependency.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from carto.i18n import t
from carto.ui.navigation import PAGES

# The title (catalogue key) each page draws first: what proves the page was drawn.
PAGE_TITLES: dict[str, str] = {
    "carte": "map.title",
    "tableau_de_bord": "dash.title",
    "points_chauds": "hotspot.title",
    "autour_de_moi": "nearby.title",
    "maraude": "round.title",
    "historique": "history.title",
    "coordination": "coord.title",
    "synthese": "summary.title",
    "export": "export.title",
    "qualite": "quality.title",
    "admin_utilisateurs": "admin.users.title",
    "admin_journal": "admin.log.title",
    "mon_compte": "account.title",
}
# An st.error is content on some pages (coordination's protection alerts): these are the
# error messages that mean the page was not drawn (text before the first placeholder).
FAILURE_MESSAGES = tuple(
    t(key, **dict.fromkeys(names, "\0")).split("\0", 1)[0]
    for key, names in (
        ("error.unexpected", ("reference",)),
        ("error.config", ("error", "path")),
        ("auth.forbidden", ()),
        ("auth.required", ()),
    )
)
DEFAULT_PAGE = next(spec.url_path for spec in PAGES if spec.default)  # the first run's
TIMEOUT_SECONDS = 120.0


@dataclass
class PageRun:
    """One page asked for and what came back."""

    page: str  # URL path ("carte")
    seconds: float  # from sending the rerun to script_finished
    ok: bool
    problem: str = ""  # why it does not count, when not ok
    heading: str = ""
    elements: int = 0
    started: float = 0.0  # time.monotonic() at the send


@dataclass
class _Reading:
    """What the ForwardMsgs of one run said."""

    headings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elements: int = 0
    finished: int | None = None
    pages: dict[str, str] = field(default_factory=dict)  # URL path → script hash


def _read(msg: ForwardMsg, into: _Reading) -> None:
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        into.elements += 1
        which = element.WhichOneof("type")
        if which == "heading" and element.heading.tag == "h1":
            into.headings.append(element.heading.body)
        elif which == "exception":
            into.errors.append("exception")
        elif (
            which == "alert"
            and element.alert.format == Alert.ERROR
            and element.alert.body.startswith(FAILURE_MESSAGES)
        ):
            into.errors.append(f"error message: {element.alert.body[:60]}")
    elif kind == "navigation":
        for page in msg.navigation.app_pages:
            into.pages[page.url_pathname] = page.page_script_hash
            if page.is_default:  # Streamlit gives the default page the URL path ""
                into.pages[DEFAULT_PAGE] = page.page_script_hash
    elif kind == "page_not_found":
        into.errors.append("page not found")
    elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
        into.errors.append("compilation error")
    elif kind == "script_finished":
        into.finished = msg.script_finished


def judge(page: str, reading: _Reading) -> str:
    """Why a run does not count as drawing ``page`` ("" when it does)."""
    if reading.finished != ForwardMsg.FINISHED_SUCCESSFULLY:
        return f"script_finished {reading.finished}"
    if reading.errors:
        return ", ".join(reading.errors)
    expected = t(PAGE_TITLES[page]) if page in PAGE_TITLES else None
    if t("auth.login.title") in reading.headings:
        return "login form"
    if not reading.headings or reading.headings[0] != expected:
        return f"title {reading.headings[:1]} instead of {expected!r}"
    return ""


class Session:
    """One browser session: a websocket, its pages, its runs."""

    def __init__(self, url: str, cookie: str | None) -> None:
        self.url = url.rstrip("/")
        self.cookie = cookie  # "name=value", sent in the upgrade request
        self.pages: dict[str, str] = {}  # URL path → script hash, from the navigation
        self._ws: ClientConnection | None = None

    async def open(self) -> None:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        ws_url = self.url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self._ws = await connect(
            ws_url,
            additional_headers=headers,
            subprotocols=[Subprotocol("streamlit")],
            max_size=None,
            open_timeout=TIMEOUT_SECONDS,
            ping_interval=None,  # the server may be busy for seconds: no ping timeouts
        )

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    def _rerun(self, page: str | None) -> BackMsg:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = ""
        if page is not None:  # None: the first run, the app's default page
            rerun.page_name = page
            rerun.page_script_hash = self.pages.get(page, "")
        info = rerun.context_info
        info.timezone = "Europe/Paris"
        info.timezone_offset = -60
        info.locale = "fr-FR"
        info.url = f"{self.url}/{page or ''}"
        return msg

    async def run(self, page: str | None = None) -> PageRun:
        """Ask for ``page`` (None: the first run of the session) and wait for its end."""
        assert self._ws is not None, "open() first"
        name = page or DEFAULT_PAGE
        reading = _Reading()
        started = time.monotonic()
        await self._ws.send(self._rerun(page).SerializeToString())
        while True:
            left = TIMEOUT_SECONDS - (time.monotonic() - started)
            try:
                data: Any = await asyncio.wait_for(self._ws.recv(), max(left, 0.0))
            except TimeoutError:
                reading.errors.append("timeout")
                break
            msg = ForwardMsg()
            msg.ParseFromString(data)
            _read(msg, reading)
            finished = reading.finished
            if finished is not None and finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                break
            if finished is not None:  # st.rerun(): the page's real run follows
                reading = _Reading(pages=reading.pages)
        seconds = time.monotonic() - started
        if reading.pages:
            self.pages = reading.pages
        problem = judge(name, reading)
        heading = reading.headings[0] if reading.headings else ""
        return PageRun(name, seconds, not problem, problem, heading, reading.elements, started)
