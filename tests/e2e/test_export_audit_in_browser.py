"""Issue 14, item 5 in a real browser: a downloaded export leaves its audit entry; once
the account signs out, the file's URL answers 404 and a page still open gets no file."""

from __future__ import annotations

import csv
import io
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from carto.export import files
from carto.i18n import t
from carto.settings import load_settings
from carto.store import AuthStore
from tests.e2e.conftest import VIEWPORT, sign_in, wait_for_cookie
from tests.e2e.helpers import download_file, settle

pytestmark = pytest.mark.e2e

# Not the coordinator of the shared signed-in context: signing out ends every session
# of the account.
USER = "admin"


def exports(config: Path) -> list[dict[str, Any]]:
    """The account's export entries in the served app's audit log, newest first, but
    those of the Exports page's previews (tests/test_export_pages.py checks them)."""
    store = AuthStore(load_settings(config).store_path)
    entries = store.audit_log(event="export", username=USER)
    return [e for e in entries if e["details"]["format"] != files.PREVIEW]


def fetch_without_cookie(url: str) -> tuple[int, bytes]:
    """GET a URL as someone without any cookie would (urllib sends none)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_export_audited_then_gone_once_the_account_signs_out(
    browser: Any, app_url: str, app_config_path: Path
) -> None:
    # one browser session throughout (pages reached from the menu): no cookie needed
    context = browser.new_context(viewport=VIEWPORT)
    page = sign_in(context, app_url, USER)
    # the cookie's hidden frame answers with a rerun of the page it was drawn on: a menu
    # click before that answer can be undone by it (the button below never came, once,
    # the machine loaded by two browser suites)
    wait_for_cookie(context)
    before = len(exports(app_config_path))

    # an export: one audit entry, for the file and the rows handed over
    page.get_by_role("link", name=t("nav.export")).click()
    csv_file = download_file(page, t("export.download", name=""))
    # the preview table offers no CSV of its own (it would leave no audit entry); its
    # toolbar, English only, is hidden altogether
    page.locator("[data-testid='stDataFrame']").first.hover()
    toolbar = page.locator("[data-testid='stElementToolbar'] button")
    toolbar.first.wait_for(state="attached", timeout=30_000)
    labels = toolbar.evaluate_all("buttons => buttons.map(b => b.getAttribute('aria-label'))")
    assert "Download as CSV" not in labels, labels
    assert not page.locator("[data-testid='stElementToolbar']").first.is_visible()
    body = Path(csv_file.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert "/media/" in csv_file.url
    assert fetch_without_cookie(csv_file.url) == (200, body)  # anyone with the URL…
    entries = exports(app_config_path)
    assert len(entries) == before + 1
    details = entries[0]["details"]
    assert details["filters"]["fichier"] == csv_file.suggested_filename
    assert details["dataset"] == "passages" and details["rows"] == len(rows) > 0

    # the summary: one entry for the page shown, one for the file
    page.get_by_role("link", name=t("nav.summary")).click()
    settle(page)
    summary_file = download_file(page, t("summary.download"))
    html = Path(summary_file.path()).read_bytes()
    assert fetch_without_cookie(summary_file.url) == (200, html)
    entries = exports(app_config_path)[: len(exports(app_config_path)) - before - 1]
    kinds = [(e["details"]["dataset"], e["details"]["format"]) for e in entries]
    # one entry for the file, one for the page shown
    assert sorted(kinds) == [("synthese", "html"), ("synthese", "page")], kinds
    downloaded = entries[0]["details"]
    assert (downloaded["dataset"], downloaded["format"]) == ("synthese", "html")
    assert downloaded["filters"]["fichier"] == summary_file.suggested_filename
    audited = len(exports(app_config_path))

    # the account signs out on another device (every session of it ends): …no one
    elsewhere = browser.new_context(viewport=VIEWPORT)
    other = sign_in(elsewhere, app_url, USER)
    other.get_by_role("button", name=t("auth.logout")).first.click()
    other.get_by_label(t("auth.login.username")).wait_for(timeout=30_000)
    elsewhere.close()
    for url in (csv_file.url, summary_file.url):
        assert fetch_without_cookie(url)[0] == 404, url

    # the first browser still shows the button: a click makes no file and no entry; the
    # refusal reruns the page, which ends the session and says why
    started: list[Any] = []
    page.on("download", lambda download: started.append(download))
    page.locator("[data-testid='stDownloadButton']").first.locator("button").click()
    notice = t("auth.revoked")
    for _ in range(300):
        if notice in page.locator("body").inner_text():
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("no French notice after the refused download")
    page.wait_for_timeout(5_000)  # time enough for a download to start, were it allowed
    assert not started
    assert page.get_by_label(t("auth.login.username")).count() == 1
    assert len(exports(app_config_path)) == audited
    context.close()
