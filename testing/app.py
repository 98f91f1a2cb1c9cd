"""Driving the app under Streamlit's AppTest, the way a signed-in user would."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from carto import accounts
from carto.accounts import DEMO_PASSWORD
from carto.ui import screens

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
# Live (non-demo) tests: a cookie key that passes the safe-start check, and one account
# per role named after it with this password (hashed at bcrypt's lowest cost: fast).
TEST_COOKIE_KEY = "test-only-cookie-key-9f3Kq7ZxW2mP4vB8nR6tY1uL5sD0hJ"
TEST_PASSWORD = "un mot de passe de test"


def write_accounts(path: Path, roles: tuple[str, ...] = accounts.ROLES) -> Path:
    """An accounts file with one account per role, named after the role."""
    for role in roles:
        accounts.add_account(path, role, TEST_PASSWORD, role, name=role.title(), rounds=4)
    return path


def new_app() -> AppTest:
    """A fresh app (a new browser session), not run yet."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def submit_login(at: AppTest, username: str, password: str) -> AppTest:
    """Fill the login form shown by the last run and submit it."""
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def login(at: AppTest, role: str = "coordinateur", password: str = DEMO_PASSWORD) -> AppTest:
    """Run the app (if not run yet) and sign in through the login form; in demo mode the
    account named after ``role`` has the password "demo"."""
    if not at.text_input or "login_username" not in [w.key for w in at.text_input]:
        at.run()
    submit_login(at, role, password)
    assert not at.exception, [e.value for e in at.exception]
    assert "login_username" not in [w.key for w in at.text_input], "login refused"
    return at


def run_page(page: str | None = None, role: str = "coordinateur") -> AppTest:
    """Run the app, sign in as the demo account ``role``, then switch to ``page`` (a path
    such as "pages/qualite.py")."""
    at = login(new_app(), role)
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


def shown_table(at: AppTest, name: str, screen: str = screens.WIDE) -> pd.DataFrame:
    """The table a page drew with ``carto.ui.tables.show(..., name=name)``: the wide
    screen's (every column) or, with ``screen="narrow"``, the phone's."""
    (frame,) = at.container(screens.key("table", screen, name)).dataframe
    return frame.value


def shown_static_table(at: AppTest, name: str, screen: str = screens.WIDE) -> pd.DataFrame:
    """A static table (``st.table``) drawn in the containers of ``carto.ui.screens``."""
    (frame,) = at.container(screens.key("table", screen, name)).table
    return frame.value
