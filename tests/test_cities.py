"""Several cities in one deployment (issue 16, deploy/): each city has its own base,
database (and database role), accounts file and cookie key. A Calais partner's
credentials and cookie get nothing from Paris, even with the same user name in both
cities and, by mistake, the same cookie key.

The databases and roles are made by deploy/initdb/10-cities.sh, the script the compose
file's PostgreSQL runs, here against the tests' real PostgreSQL server; a city's store is
backed up and restored with README's commands."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from carto import accounts, audit, sync
from carto.accounts import COOKIE_KEY_ENV
from carto.dataset import demo_key, generate_demo, write_demo_snapshot
from carto.settings import CONFIG_ENV, load_settings
from carto.store import AuthStore, SnapshotStore, close_engines
from testing import postgres
from testing.app import ROOT, TEST_COOKIE_KEY, TEST_PASSWORD, new_app, submit_login
from testing.postgres import TemporaryPostgres
from tests.test_auth_app import is_login_page, texts, with_cookie

INITDB = ROOT / "deploy" / "initdb" / "10-cities.sh"
CALAIS_PASSWORD = "le mot de passe de Calais"
CALAIS_KEY = "calais-cookie-key-7Rb2Xq9LmT4vW8zK1pN6sD3hJ5fG0cYe"


@dataclass(frozen=True)
class City:
    name: str  # also its database and database role
    config: Path
    url: str
    cookie_key: str

    def audit(self) -> AuthStore:
        return AuthStore(self.url)


def run_initdb(server: TemporaryPostgres, cities: list[str]) -> None:
    """deploy/initdb/10-cities.sh as the postgres image runs it (its environment)."""
    env = {
        **os.environ,
        "PATH": f"{postgres.binaries()}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "POSTGRES_USER": postgres.SUPERUSER,
        "CARTO_CITIES": " ".join(cities),
        **{f"{c.upper()}_DB_PASSWORD": f"secret of {c}" for c in cities},
    }
    done = subprocess.run(
        ["sh", str(INITDB)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def make_city(folder: Path, name: str, server: TemporaryPostgres, key: str) -> City:
    """A live city as deploy/cities/<city>/config.toml sets it up, its snapshot holding a
    demo month."""
    folder.mkdir()
    url = f"postgresql://{name}@127.0.0.1:{server.port}/{name}"
    config = folder / "config.toml"
    config.write_text(
        f'[airtable]\nbase_id = "app{name.split("_")[0].upper():0<14}"\n'
        f'[store]\nurl = "{url}"\n'
        f"[sync]\napp_refresh = false\n"
        f'[auth]\naccounts_path = "{folder / "accounts.yaml"}"\n',
        encoding="utf-8",
    )
    conf = load_settings(config)
    today = dt.date.today()
    base = generate_demo(conf.with_values(demo__days=30), today)
    write_demo_snapshot(SnapshotStore(conf.store_location), base, demo_key(conf, today))
    return City(name, config, url, key)


@pytest.fixture
def cities(
    postgres_server: TemporaryPostgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    steady_day: None,
) -> Iterator[tuple[City, City]]:
    suffix = uuid.uuid4().hex[:8]
    names = [f"paris_{suffix}", f"calais_{suffix}"]
    run_initdb(postgres_server, names)
    paris = make_city(tmp_path / "paris", names[0], postgres_server, TEST_COOKIE_KEY)
    calais = make_city(tmp_path / "calais", names[1], postgres_server, CALAIS_KEY)
    # The same user name in both cities, each with its own password.
    accounts.add_account(
        tmp_path / "paris" / "accounts.yaml", "partenaire", TEST_PASSWORD, "partenaire", rounds=4
    )
    accounts.add_account(
        tmp_path / "calais" / "accounts.yaml", "partenaire", CALAIS_PASSWORD, "partenaire", rounds=4
    )
    monkeypatch.setattr(sync, "refresh_in_background", lambda *a, **k: None)
    yield paris, calais


def serve_city(monkeypatch: pytest.MonkeyPatch, city: City) -> None:
    """The next AppTest runs as this city's app (its config and cookie key)."""
    monkeypatch.setenv(CONFIG_ENV, str(city.config))
    monkeypatch.setenv(COOKIE_KEY_ENV, city.cookie_key)


def cookie_of(city: City, username: str, key: str | None = None) -> str:
    """A cookie as the city's app issues it at sign-in (its key unless ``key``)."""
    instance = AuthStore(city.url).instance_id()
    epoch = AuthStore(city.url).session_epoch(username)
    mark = accounts.credentials_mark(accounts.load_accounts(load_settings(city.config))[username])
    return accounts.issue_token(username, epoch, key or city.cookie_key, 7, instance, mark=mark)


def test_each_city_opens_with_its_own_credentials_and_cookie(
    cities: tuple[City, City], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test below: each city's own sign-in and cookie work."""
    for city, password in zip(cities, (TEST_PASSWORD, CALAIS_PASSWORD), strict=True):
        serve_city(monkeypatch, city)
        with_cookie(monkeypatch, None)
        at = submit_login(new_app().run(), "partenaire", password)
        assert not is_login_page(at) and at.metric, city.name
        with_cookie(monkeypatch, cookie_of(city, "partenaire"))
        at = new_app().run()
        assert not is_login_page(at) and at.metric, city.name


def test_a_calais_partner_gets_nothing_from_paris(
    cities: tuple[City, City], monkeypatch: pytest.MonkeyPatch
) -> None:
    paris, calais = cities
    serve_city(monkeypatch, paris)

    # Calais's password for the same user name: refused by Paris.
    with_cookie(monkeypatch, None)
    at = submit_login(new_app().run(), "partenaire", CALAIS_PASSWORD)
    assert is_login_page(at) and not at.metric
    assert "Identifiant ou mot de passe incorrect" in texts(at)
    assert paris.audit().audit_log(1, username="partenaire")[0]["event"] == audit.LOGIN_FAILED

    # Calais's cookie, and the same cookie signed with Paris's key (two cities sharing a
    # key by mistake), while Paris's own "partenaire" is active (within the idle
    # timeout, so that only the cookie's origin can refuse it): refused, since it names
    # Calais's store.
    paris.audit().touch_session("partenaire")
    for token in (
        cookie_of(calais, "partenaire"),
        cookie_of(calais, "partenaire", paris.cookie_key),
    ):
        with_cookie(monkeypatch, token)
        at = new_app().run()
        assert is_login_page(at) and not at.metric
        assert paris.audit().audit_log(1)[0]["event"] == audit.COOKIE_REFUSED
    assert not paris.audit().audit_log(event=audit.LOGIN_COOKIE)
    assert not paris.audit().audit_log(event=audit.LOGIN)
    # Paris's own cookie, at that same moment, opens Paris.
    with_cookie(monkeypatch, cookie_of(paris, "partenaire"))
    assert not is_login_page(new_app().run())


def test_a_city_database_role_cannot_open_another_city_database(
    cities: tuple[City, City],
) -> None:
    """The second wall: Calais's app and worker sign in to PostgreSQL as Calais's role,
    which may not even connect to Paris's database (initdb/10-cities.sh)."""
    paris, calais = cities
    with psycopg.connect(calais.url) as conn:  # its own: allowed
        assert conn.execute("SELECT current_user").fetchone() == (calais.name,)
    into_paris = paris.url.replace(f"//{paris.name}@", f"//{calais.name}@")
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(into_paris).close()


def test_a_city_store_is_backed_up_and_restored_as_the_readme_says(
    cities: tuple[City, City], tmp_path: Path
) -> None:
    """README, "Déploiement": ``pg_dump -Fc`` as the superuser, then ``pg_restore --clean
    --if-exists --no-owner --role=<city>``: the store comes back as it was at the backup,
    still owned by the city's role (which its app and worker sign in as)."""
    paris, _ = cities
    server_env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": paris.url.rsplit(":", 1)[1].split("/")[0],
        "PGUSER": postgres.SUPERUSER,
    }
    tools = postgres.binaries()
    paris.audit().log_event(audit.LOGIN, "before-backup")
    dump = tmp_path / "paris.dump"
    with dump.open("wb") as out:
        subprocess.run(
            [str(tools / "pg_dump"), "-Fc", paris.name], env=server_env, stdout=out, check=True
        )
    paris.audit().log_event(audit.LOGIN, "after-backup")
    close_engines()  # the services are stopped during a restore
    restore_as = [f"--role={paris.name}", "-d", paris.name]
    with dump.open("rb") as dump_in:
        done = subprocess.run(
            [str(tools / "pg_restore"), "--clean", "--if-exists", "--no-owner", *restore_as],
            env=server_env,
            stdin=dump_in,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    users = [e["username"] for e in paris.audit().audit_log(event=audit.LOGIN)]
    assert "before-backup" in users and "after-backup" not in users
    with psycopg.connect(paris.url) as conn:  # as the city's role: its tables, writable
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")
        assert owner.fetchone() == (paris.name,)
    paris.audit().log_event(audit.LOGIN, "after-restore")
