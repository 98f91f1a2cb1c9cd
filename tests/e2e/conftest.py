"""A real app (`streamlit run app.py` on demo data) and Debian's chromium, for browser tests.

Tests sign in through the real login form (demo accounts, password "demo"); the
``signed_in`` browser context keeps the sign-in cookie, as a person's browser would."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from testing.processes import stop
from tests.conftest import write_demo_config

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # deck.gl needs WebGL: software rendering in a headless container.
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def app_config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served app's configuration (demo mode; its store holds the audit log)."""
    return write_demo_config(tmp_path_factory.mktemp("e2e"))


@contextlib.contextmanager
def serve(
    config: Path, env: Mapping[str, str] | None = None, name: str = "streamlit"
) -> Iterator[str]:
    """Serve the app of ``config`` on a free loopback port (log ``<name>.log`` in its
    folder), with ``env`` added to this process's environment; stop it on exit."""
    folder = config.parent
    port = _free_port()
    environment = {**os.environ, **(env or {}), "CARTO_CONFIG": str(config)}
    log_path = folder / f"{name}.log"
    log = log_path.open("w")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="session")
def app_url(app_config_path: Path) -> Iterator[str]:
    """Serve the app on a free loopback port; stop it after the session."""
    with serve(app_config_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


COOKIE_NAME = "cartocampement_session"
VIEWPORT = {"width": 1280, "height": 900}


def sign_in(context: Any, url: str, username: str, password: str = "demo") -> Any:
    """Open ``url`` in a new tab, fill the login form and wait for the first page."""
    page = context.new_page()
    page.goto(url)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('h1')].some(h => h.innerText !== 'Connexion')",
        timeout=60_000,
    )
    return page


def wait_for_cookie(context: Any, present: bool = True, timeout: float = 15.0) -> str | None:
    """The sign-in cookie's value once the browser holds it (or once it is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c["value"] for c in context.cookies() if c["name"] == COOKIE_NAME]
        if bool(found and found[0]) == present:
            return found[0] if found else None
        time.sleep(0.2)
    raise AssertionError(f"cookie {'never set' if present else 'still there'}")


@pytest.fixture(scope="session")
def signed_in(browser: Any, app_url: str) -> Iterator[Any]:
    """A browser context signed in as the demo coordinator (cookie kept)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = sign_in(context, app_url, "coordinateur")
    wait_for_cookie(context)
    page.close()
    yield context
    context.close()
