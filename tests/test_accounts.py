"""Accounts, passwords, cookies, the safe-start check, the store's lockouts and audit log,
and `python -m carto users` (issue 6): plain Python, no Streamlit."""

from __future__ import annotations

import datetime as dt
import io
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from carto import accounts, audit, cli
from carto.accounts import AccountError
from carto.settings import Settings, load_settings
from carto.store import AuthStore, SnapshotStore
from testing.app import TEST_COOKIE_KEY, TEST_PASSWORD, write_accounts

NOW = dt.datetime(2026, 11, 26, 20, 0, tzinfo=dt.UTC)


def live_settings(folder: Path) -> Settings:
    path = folder / "config.toml"
    path.write_text(
        f'[airtable]\nbase_id = "appTEST"\n[store]\npath = "{folder / "snap.sqlite"}"\n',
        encoding="utf-8",
    )
    return load_settings(path)


# --------------------------------------------------------------------- accounts file


def test_accounts_file_round_trip_with_bcrypt_hashes(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    accounts.add_account(path, "Alice", TEST_PASSWORD, "coordinateur", "Alice M.", rounds=4)
    text = path.read_text(encoding="utf-8")
    assert TEST_PASSWORD not in text and "$2b$04$" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    known = accounts.read_accounts(path)
    assert list(known) == ["alice"]  # names are lower-cased
    assert known["alice"].role == "coordinateur" and known["alice"].name == "Alice M."
    assert accounts.authenticate(known, " ALICE ", TEST_PASSWORD) == known["alice"]
    assert accounts.authenticate(known, "alice", "wrong password!") is None
    assert accounts.authenticate(known, "nobody", TEST_PASSWORD) is None


def test_streamlit_authenticator_layout(tmp_path: Path) -> None:
    """The file uses streamlit-authenticator's credentials layout, roles as a list."""
    import yaml

    path = write_accounts(tmp_path / "accounts.yaml", ("partenaire",))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = data["credentials"]["usernames"]["partenaire"]
    assert entry["roles"] == ["partenaire"] and entry["password"].startswith("$2b$")


def test_account_changes(tmp_path: Path) -> None:
    path = write_accounts(tmp_path / "accounts.yaml", ("admin", "benevole"))
    with pytest.raises(AccountError, match="existe déjà"):
        accounts.add_account(path, "admin", TEST_PASSWORD, "admin", rounds=4)
    accounts.set_password(path, "benevole", "une autre phrase secrète", rounds=4)
    known = accounts.read_accounts(path)
    assert accounts.authenticate(known, "benevole", "une autre phrase secrète")
    accounts.set_role(path, "benevole", "partenaire")
    assert accounts.read_accounts(path)["benevole"].role == "partenaire"
    accounts.remove_account(path, "benevole")
    assert list(accounts.read_accounts(path)) == ["admin"]
    with pytest.raises(AccountError, match="Aucun compte"):
        accounts.remove_account(path, "benevole")


def test_accounts_changed_at_once_by_several_processes_are_all_kept(tmp_path: Path) -> None:
    """App replicas and the command line write one accounts file: each change is made
    under a lock, so none silently undoes another (read, change, write back)."""
    path = tmp_path / "accounts.yaml"
    accounts.add_account(path, "admin", TEST_PASSWORD, "admin", rounds=4)
    names = [f"benevole{i:02d}" for i in range(16)]

    def add(name: str) -> None:
        accounts.add_account(path, name, TEST_PASSWORD, "benevole", rounds=4)
        accounts.set_role(path, name, "coordinateur")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, names))
    found = accounts.read_accounts(path)
    assert set(found) == {"admin", *names}
    assert {found[n].role for n in names} == {"coordinateur"}


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("a b", TEST_PASSWORD, "admin", "Identifiant invalide"),
        ("é", TEST_PASSWORD, "admin", "Identifiant invalide"),
        ("bob", "court", "admin", "trop court"),
        ("bob", "x" * 73, "admin", "trop long"),
        ("bob", TEST_PASSWORD, "chef", "Rôle inconnu"),
    ],
)
def test_invalid_accounts_are_refused(
    tmp_path: Path, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.add_account(tmp_path / "a.yaml", username, password, role, rounds=4)
    assert not (tmp_path / "a.yaml").exists()


def test_overlong_password_never_raises_on_check() -> None:
    digest = accounts.hash_password("a" * 72, rounds=4)
    assert accounts.verify_password("a" * 72, digest)
    assert not accounts.verify_password("a" * 100, digest)
    assert not accounts.verify_password("x", "not a hash")


def test_demo_accounts_exist_only_in_demo_mode(tmp_path: Path, demo_settings: Settings) -> None:
    demo = accounts.load_accounts(demo_settings)
    assert sorted(demo) == sorted(accounts.ROLES)
    assert all(demo[r].role == r for r in accounts.ROLES)
    assert accounts.authenticate(demo, "admin", "demo")
    live = live_settings(tmp_path)
    write_accounts(tmp_path / "accounts.yaml", ("coordinateur",))
    known = accounts.load_accounts(live)
    assert list(known) == ["coordinateur"]
    assert accounts.authenticate(known, "coordinateur", "demo") is None
    assert accounts.authenticate(known, "admin", "demo") is None


# -------------------------------------------------------------------- safe start


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "Aucune clé de cookie"),
        ("", "Aucune clé de cookie"),
        ("some_signature_key", "valeur d'exemple"),
        ("abcdef", "valeur d'exemple"),
        ("a" * 40, "valeur d'exemple"),
        ("x7Fq9LmZ2", "moins de 32 caractères"),
    ],
)
def test_unusable_cookie_keys(key: str | None, message: str) -> None:
    problem = accounts.cookie_key_problem(key)
    assert problem is not None and message in problem


def test_safe_start_needs_a_key_and_accounts_outside_demo(
    tmp_path: Path, demo_settings: Settings
) -> None:
    assert accounts.startup_problems(demo_settings, None) == []
    live = live_settings(tmp_path)
    problems = accounts.startup_problems(live, None)
    assert len(problems) == 2
    assert "CARTO_COOKIE_KEY" in problems[0] and "users add" in problems[1]
    write_accounts(tmp_path / "accounts.yaml", ("admin",))
    assert accounts.startup_problems(live, TEST_COOKIE_KEY) == []
    (tmp_path / "accounts.yaml").write_text("credentials: [", encoding="utf-8")
    assert "illisible" in accounts.startup_problems(live, TEST_COOKIE_KEY)[0]


def test_cookie_key_from_environment_or_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv(accounts.COOKIE_KEY_ENV, raising=False)
    assert accounts.cookie_key_from_environment(secrets) is None
    secrets.write_text(f'CARTO_COOKIE_KEY = "{TEST_COOKIE_KEY}"\n', encoding="utf-8")
    assert accounts.cookie_key_from_environment(secrets) == TEST_COOKIE_KEY
    monkeypatch.setenv(accounts.COOKIE_KEY_ENV, "from-env")
    assert accounts.cookie_key_from_environment(secrets) == "from-env"


def test_demo_mode_always_signs_with_its_own_random_key(
    tmp_path: Path, demo_settings: Settings
) -> None:
    """A production key in the environment is never used by a demo: demo accounts are
    public (admin/demo) and their names may exist in a live instance."""
    key = accounts.effective_cookie_key(demo_settings, None)
    assert len(key) >= 32 and accounts.effective_cookie_key(demo_settings, "short") == key
    assert accounts.effective_cookie_key(demo_settings, TEST_COOKIE_KEY) == key != TEST_COOKIE_KEY
    assert accounts.effective_cookie_key(live_settings(tmp_path), TEST_COOKIE_KEY) == (
        TEST_COOKIE_KEY
    )
    with pytest.raises(AccountError):
        accounts.effective_cookie_key(live_settings(tmp_path), None)


# ------------------------------------------------------------------------ cookies

HERE = "instance-a"


def test_cookie_signed_with_another_key_is_rejected() -> None:
    token = accounts.issue_token("alice", 3, TEST_COOKIE_KEY, 7, HERE, NOW, mark="m")
    claims = accounts.read_token(token, TEST_COOKIE_KEY, HERE, NOW)
    assert claims is not None and (claims.username, claims.epoch, claims.mark) == ("alice", 3, "m")
    other = "another-key-of-sufficient-length-0123456789"
    assert accounts.read_token(token, other, HERE, NOW) is None
    forged = accounts.issue_token("alice", 3, other, 7, HERE, NOW, mark="m")
    assert accounts.read_token(forged, TEST_COOKIE_KEY, HERE, NOW) is None


def test_cookie_of_another_instance_is_rejected_even_with_the_same_key() -> None:
    token = accounts.issue_token("admin", 0, TEST_COOKIE_KEY, 7, "demo-instance", NOW, mark="m")
    assert accounts.read_token(token, TEST_COOKIE_KEY, "demo-instance", NOW) is not None
    assert accounts.read_token(token, TEST_COOKIE_KEY, HERE, NOW) is None
    import jwt

    no_audience = jwt.encode(
        {"sub": "admin", "epoch": 0, "iat": int(NOW.timestamp()), "exp": 2**40},
        TEST_COOKIE_KEY,
        algorithm="HS256",
    )
    assert accounts.read_token(no_audience, TEST_COOKIE_KEY, HERE, NOW) is None
    no_mark = jwt.encode(  # a cookie of before the password mark: signed in again
        {"sub": "admin", "epoch": 0, "aud": HERE, "iat": int(NOW.timestamp()), "exp": 2**40},
        TEST_COOKIE_KEY,
        algorithm="HS256",
    )
    assert accounts.read_token(no_mark, TEST_COOKIE_KEY, HERE, NOW) is None


def test_store_instance_id_is_stable_and_distinct(
    store_location: str | Path, tmp_path: Path
) -> None:
    first = SnapshotStore(store_location)
    assert first.instance_id() == SnapshotStore(store_location).instance_id()
    # the auth state's store says the same id (cookies carry it as audience)
    assert first.instance_id() == AuthStore(first.db).instance_id()
    assert first.instance_id() != SnapshotStore(tmp_path / "b.sqlite").instance_id()
    assert first.version == 0


def test_tampered_expired_or_malformed_cookies_are_rejected() -> None:
    token = accounts.issue_token("alice", 0, TEST_COOKIE_KEY, 1, HERE, NOW, mark="m")
    header, payload, signature = token.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    forged = f"{header}.{forged_payload.decode()}.{signature}"
    assert accounts.read_token(forged, TEST_COOKIE_KEY, HERE) is None
    assert accounts.read_token(token, TEST_COOKIE_KEY, HERE, NOW + dt.timedelta(days=2)) is None
    assert accounts.read_token("not-a-jwt", TEST_COOKIE_KEY, HERE) is None
    unsigned = f"{header}.{payload}."
    assert accounts.read_token(unsigned, TEST_COOKIE_KEY, HERE) is None


# --------------------------------------------------------------- store: lockouts


def fail(store: AuthStore, key: str, at: dt.datetime = NOW) -> accounts.Attempt:
    return accounts.password_attempt(store, key, lambda: False, 5, LOCK, at)


LOCK = dt.timedelta(minutes=15)


def test_lockout_after_max_failures_persists_across_store_objects(
    store_location: str | Path,
) -> None:
    path = store_location
    for i in range(4):
        attempt = fail(AuthStore(path), "alice")
        assert attempt.outcome == accounts.FAILED and attempt.state.failures == i + 1
    attempt = fail(AuthStore(path), "alice")
    assert attempt.outcome == accounts.JUST_LOCKED and attempt.state.locked_until == NOW + LOCK
    fresh = AuthStore(path)  # another session, another process, after a restart
    assert fresh.login_state("alice").locked(NOW + dt.timedelta(minutes=14))
    assert not fresh.login_state("alice").locked(NOW + dt.timedelta(minutes=15))
    assert not fresh.login_state("bob").locked(NOW)
    # after the lock, a new failure starts a new count
    later = NOW + dt.timedelta(minutes=20)
    assert fail(fresh, "alice", later).state.failures == 1
    assert fresh.clear_failed_logins("alice")
    assert fresh.login_state("alice").failures == 0


def test_a_locked_account_is_refused_without_checking_the_password(
    store_location: str | Path,
) -> None:
    store = AuthStore(store_location)
    for _ in range(5):
        fail(store, "alice")
    checked: list[bool] = []
    attempt = accounts.password_attempt(
        store, "alice", lambda: checked.append(True) or True, 5, LOCK, NOW
    )
    assert attempt.outcome == accounts.LOCKED and not checked
    assert store.login_state("alice").locked(NOW)  # a right password does not lift it


def test_a_right_password_loses_to_a_lock_set_while_it_was_checked(
    store_location: str | Path,
) -> None:
    store = AuthStore(store_location)
    for _ in range(3):
        fail(store, "alice")

    def right_but_slow() -> bool:
        for _ in range(2):  # two wrong attempts end while this one is being checked
            fail(AuthStore(store_location), "alice")
        return True

    attempt = accounts.password_attempt(store, "alice", right_but_slow, 5, LOCK, NOW)
    assert attempt.outcome == accounts.LOCKED
    assert store.login_state("alice").locked(NOW)


def test_parallel_first_failures_are_all_counted(
    store_location: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight wrong passwords at once on an account never counted, each through its own
    store object and connection (as eight processes would): exactly ``max_failures``
    are checked, the others refused, the account locked. Each attempt dawdles after
    reading the count, so that without a lock held in the database (SQLite's
    ``BEGIN IMMEDIATE``, PostgreSQL's row lock) they would all read zero and overwrite
    each other's count."""
    read = AuthStore._login_row

    def slow_read(self: AuthStore, *args: Any) -> Any:
        state = read(self, *args)
        time.sleep(0.05)
        return state

    monkeypatch.setattr(AuthStore, "_login_row", slow_read)
    start = threading.Barrier(8)
    checked: list[int] = []

    def attempt(i: int) -> str:
        store = AuthStore(store_location)
        start.wait(timeout=30)
        return accounts.password_attempt(
            store, "alice", lambda: bool(checked.append(i)), 5, LOCK, NOW
        ).outcome

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert len(checked) == 5
    assert outcomes.count(accounts.LOCKED) == 3
    state = AuthStore(store_location).login_state("alice")
    assert state.failures == 5 and state.locked(NOW)


def test_a_right_password_clears_the_count(store_location: str | Path) -> None:
    store = AuthStore(store_location)
    for _ in range(4):
        fail(store, "alice")
    attempt = accounts.password_attempt(store, "alice", lambda: True, 5, LOCK, NOW)
    assert attempt.outcome == accounts.OK
    assert store.login_state("alice").failures == 0


def test_session_epoch_and_last_seen(store_location: str | Path) -> None:
    store = AuthStore(store_location)
    assert store.session_epoch("alice") == 0 and store.last_seen("alice") is None
    store.touch_session("alice", NOW)
    assert store.last_seen("alice") == NOW and store.session_epoch("alice") == 0
    assert store.bump_session_epoch("alice") == 1
    assert AuthStore(store_location).session_epoch("alice") == 1
    assert store.last_seen("alice") == NOW


def test_access_control_bookkeeping_does_not_bump_the_version(store_location: str | Path) -> None:
    store = AuthStore(store_location)
    fail(store, "a")
    store.bump_session_epoch("a")
    store.touch_session("a")
    store.log_event(audit.LOGIN, "a")
    assert SnapshotStore(store.db).version == 0


def test_audit_log_newest_first_and_filtered(store_location: str | Path) -> None:
    store = AuthStore(store_location)
    store.log_event(audit.LOGIN, "alice", at=NOW)
    store.log_event(audit.LOGIN_FAILED, "bob", {"failures": 1}, at=NOW)
    audit.record_export(
        store, "alice", dataset="passages", fmt="csv", rows=12, filters={"assoc": "Utopia 56"}
    )
    entries = store.audit_log()
    assert [e["event"] for e in entries] == [audit.EXPORT, audit.LOGIN_FAILED, audit.LOGIN]
    assert entries[0]["details"] == {
        "dataset": "passages",
        "format": "csv",
        "rows": 12,
        "filters": {"assoc": "Utopia 56"},
    }
    assert [e["event"] for e in store.audit_log(username="alice")] == [audit.EXPORT, audit.LOGIN]
    assert len(store.audit_log(event=audit.LOGIN_FAILED)) == 1
    assert all(audit.label(e).strip() and audit.label(e) != e for e in audit.EVENTS)


# ------------------------------------------------------------------ command line


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path, *args: str
) -> tuple[int, str, str]:
    code = cli.main(["--config", str(config), "users", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = live_settings(tmp_path)
    config = Path(str(conf.source))
    monkeypatch.setattr(accounts, "BCRYPT_ROUNDS", 4)
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        config,
        "add",
        "Alice",
        "--role",
        "admin",
        "--name",
        "Alice M.",
        "--password-stdin",
    )
    assert code == 0 and "« alice » créé" in out
    known = accounts.read_accounts(tmp_path / "accounts.yaml")
    assert accounts.authenticate(known, "alice", TEST_PASSWORD)

    monkeypatch.setattr("sys.stdin", io.StringIO("court\n"))
    code, _, err = run_cli(
        monkeypatch, capsys, config, "add", "bob", "--role", "benevole", "--password-stdin"
    )
    assert code == 1 and "trop court" in err

    store = AuthStore(conf.store_path)
    for _ in range(5):
        fail(store, "alice", dt.datetime.now(dt.UTC))
    code, out, _ = run_cli(monkeypatch, capsys, config, "list")
    assert code == 0 and "alice" in out and "admin" in out and "verrouillé" in out
    code, out, _ = run_cli(monkeypatch, capsys, config, "unlock", "alice")
    assert code == 0 and "déverrouillé" in out
    assert not store.login_state("alice").locked()

    monkeypatch.setattr("sys.stdin", io.StringIO("une toute nouvelle phrase\n"))
    code, out, _ = run_cli(monkeypatch, capsys, config, "passwd", "alice", "--password-stdin")
    assert code == 0 and store.session_epoch("alice") == 1
    known = accounts.read_accounts(tmp_path / "accounts.yaml")
    assert accounts.authenticate(known, "alice", "une toute nouvelle phrase")

    code, out, _ = run_cli(monkeypatch, capsys, config, "remove", "alice")
    assert code == 0 and store.session_epoch("alice") == 2
    assert accounts.read_accounts(tmp_path / "accounts.yaml") == {}
    code, _, err = run_cli(monkeypatch, capsys, config, "remove", "alice")
    assert code == 1 and "Aucun compte" in err

    events = [e["event"] for e in store.audit_log()]
    assert events == [
        audit.USER_REMOVED,
        audit.PASSWORD_CHANGED,
        audit.UNLOCK,
        audit.USER_ADDED,
    ]
    assert store.audit_log()[0]["details"]["by"].startswith("cli")


def test_account_workflows_live_in_one_place() -> None:
    """The admin page and the command line call the workflows of carto/accounts.py; they
    never chain the steps themselves (a step missed in one copy is a security bug)."""
    root = Path(__file__).resolve().parents[1]
    steps = ("add_account(", "remove_account(", "set_role(", "set_password(")
    steps += ("bump_session_epoch(", "clear_failed_logins(", "USER_ADDED", "USER_REMOVED")
    for caller in ("pages/admin_utilisateurs.py", "carto/cli.py"):
        text = (root / caller).read_text(encoding="utf-8")
        assert not [s for s in steps if re.search(r"\b" + re.escape(s), text)], caller
        assert "accounts.delete(" in text and "accounts.unlock(" in text, caller


@pytest.mark.parametrize(
    "email",
    [
        "x@asso.test\nBcc: victim@evil.example",
        "x@asso.test\rBcc: y@evil.example",
        "a@asso.test, b@evil.example",
        "a@asso.test;b@evil.example",
        "Alice <a@asso.test>",
        "a b@asso.test",
        "sans-arobase",
        "a@b@asso.test",
        "@asso.test",
        "x@asso.test\x00",
    ],
)
def test_an_account_e_mail_must_be_one_bare_address(tmp_path: Path, email: str) -> None:
    path = tmp_path / "a.yaml"
    with pytest.raises(AccountError, match="Adresse e-mail invalide"):
        accounts.add_account(path, "alice", TEST_PASSWORD, "benevole", email=email, rounds=4)
    assert not path.exists() or "alice" not in accounts.read_accounts(path)
    added = accounts.add_account(
        path, "alice", TEST_PASSWORD, "benevole", email=" alice.m@asso.test ", rounds=4
    )
    assert added.email == accounts.read_accounts(path)["alice"].email == "alice.m@asso.test"
    assert accounts.check_email("") == ""
