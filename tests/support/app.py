"""Driving the app under Streamlit's AppTest, the way a signed-in user would."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def run_page(page: str | None = None, role: str = "coordinateur") -> AppTest:
    """Run the app, then switch to ``page`` (a path such as "pages/qualite.py").

    ``role`` is the demo account to sign in with, once the app has a login.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label → displayed value."""
    return {m.label: m.value for m in at.metric}


def metric_int(at: AppTest, label: str) -> int:
    """A metric's value as an integer (French thousands separators removed)."""
    return int(metrics(at)[label].replace("\u202f", "").replace(" ", ""))
