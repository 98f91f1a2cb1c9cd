"""deploy/ (issue 16): what cannot run here (containers, systemd) is at least checked.

- compose.yaml parses; its services, volumes, env files, health checks and dependencies
  agree with each other; each city has one worker, its own config, secrets and volume;
  every command it runs is a real command of ours (``python -m carto … --help`` and our
  argument parser, ``streamlit run … --help``, which refuses an unknown option);
- the city configs load as our settings and point at the compose file's database;
- the Caddyfiles are valid for Caddy (``caddy validate``, Debian's caddy package, which
  ``make test`` installs) and send each city's host to that city's app services, sticky
  by cookie;
- the systemd units pass ``systemd-analyze verify`` (paths moved to this checkout) and
  their commands are real commands of ours.

The commands themselves run for real in tests/e2e/test_replicas.py (worker and two app
replicas on PostgreSQL), and deploy/initdb/10-cities.sh in tests/test_cities.py.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from carto import cli
from carto.accounts import COOKIE_KEY_ENV
from carto.settings import TOKEN_ENV, load_settings
from testing.app import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
CADDY_HINT = (
    "Caddy is not installed: run `make proxy` (apt-get install -y caddy), as `make test` does"
)


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    return dict(compose()["services"])


def is_worker(service: dict[str, Any]) -> bool:
    return list(service.get("command", []))[:4] == ["python", "-m", "carto", "sync"]


def is_app(service: dict[str, Any]) -> bool:
    return list(service.get("command", []))[:4] == ["python", "-m", "streamlit", "run"]


def city_of(service: dict[str, Any]) -> str:
    """The city a worker or app service serves: its config file's folder."""
    (config,) = [v for v in service["volumes"] if v.endswith(":/config/config.toml:ro")]
    return Path(config.split(":")[0]).parent.name


def check_carto_command(argv: list[str]) -> None:
    """``argv`` (after ``python -m carto``) is one of our commands with valid options."""
    words = [a for a in argv if not a.startswith("-")]
    command = [w for w in words if w in ("sync", "users", "export", "digest", "check")][:1]
    assert command, argv
    done = subprocess.run(
        [sys.executable, "-m", "carto", *command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cli.build_parser().parse_args(argv)  # SystemExit(2) on an unknown or wrong option


def check_streamlit_command(argv: list[str]) -> None:
    """``argv`` (after ``python -m streamlit``) runs our app with real options: click
    refuses an unknown ``--server.*`` option even with ``--help``."""
    assert argv[:2] == ["run", "app.py"] and (ROOT / "app.py").is_file()
    done = subprocess.run(
        [sys.executable, "-m", "streamlit", *argv, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr or done.stdout


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


# ---------------------------------------------------------------------------- compose


def test_compose_services_volumes_and_dependencies_agree() -> None:
    data = compose()
    svc = services()
    named_volumes = set(data["volumes"])
    used_volumes: set[str] = set()
    for name, service in svc.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} missing"
            else:
                assert source in named_volumes, f"{name}: volume {source} not declared"
                used_volumes.add(source)
        for env_file in [service["env_file"]] if "env_file" in service else []:
            # the real file is the admin's, never in git: its example is
            stem = "city" if city_of_env(env_file) in cities() else Path(env_file).stem
            assert (DEPLOY / "env" / f"{stem}.env.example").is_file(), env_file
        for target, condition in service.get("depends_on", {}).items():
            assert target in svc, f"{name} depends on unknown {target}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in svc[target], f"{name} waits for {target}'s health"
    assert used_volumes == named_volumes, "declared volumes nobody mounts"
    assert "healthcheck" in svc["db"]
    proxy = svc["proxy"]
    assert {p.split(":")[0] for p in proxy["ports"]} == {"80", "443"}
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    for name, service in svc.items():
        if is_app(service):
            assert "healthcheck" in service, name
            assert name in proxy["depends_on"], f"the proxy does not wait for {name}"


def city_of_env(env_file: str) -> str:
    return Path(env_file).stem


def cities() -> set[str]:
    return {city_of(s) for s in services().values() if is_worker(s) or is_app(s)}


def test_each_city_has_one_worker_its_apps_config_secrets_and_volume() -> None:
    svc = services()
    assert cities() == {p.name for p in (DEPLOY / "cities").iterdir()}
    assert len(cities()) >= 2
    volumes_of: dict[str, set[str]] = {}
    for city in cities():
        mine = {n: s for n, s in svc.items() if (is_worker(s) or is_app(s)) and city_of(s) == city}
        workers = [n for n, s in mine.items() if is_worker(s)]
        apps = [n for n, s in mine.items() if is_app(s)]
        assert len(workers) == 1, f"{city}: one worker per base, not {workers}"
        assert apps, f"{city}: no app"
        for name in apps:
            assert workers[0] in mine[name]["depends_on"], name
        assert {s["env_file"] for s in mine.values()} == {f"env/{city}.env"}
        volumes_of[city] = {
            v.split(":")[0] for s in mine.values() for v in s["volumes"] if ":/data" in v
        }
        assert len(volumes_of[city]) == 1, f"{city}: one data volume for its services"
    owners = [v for vs in volumes_of.values() for v in vs]
    assert len(owners) == len(set(owners)), "two cities share a data volume"
    assert "paris-b" in svc and is_app(svc["paris-b"]), "two replicas of one city"


def test_every_compose_command_is_a_real_command_of_ours() -> None:
    checked = 0
    for name, service in services().items():
        argv = list(service.get("command", []))
        if is_worker(service):
            check_carto_command(argv[3:])
            assert service["stop_signal"] == "SIGTERM", name  # the worker's clean stop
            checked += 1
        elif is_app(service):
            check_streamlit_command(argv[3:])
            port = option(argv, "--server.port")
            probe = " ".join(service["healthcheck"]["test"])
            assert f"127.0.0.1:{port}/_stcore/health" in probe, name
            checked += 1
    assert checked == sum(1 for s in services().values() if is_worker(s) or is_app(s)) > 0
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    (cmd,) = re.findall(r"^CMD (\[.*?\])$", dockerfile, flags=re.M | re.S)
    default = json.loads(cmd.replace("\\\n", ""))
    assert default[:3] == ["python", "-m", "streamlit"]
    check_streamlit_command(default[3:])


def test_city_configs_are_our_settings_on_the_compose_database() -> None:
    svc = services()
    seen_bases, seen_dbs = set(), set()
    initdb_cities = None
    for line in (DEPLOY / "env" / "db.env.example").read_text(encoding="utf-8").splitlines():
        if line.startswith("CARTO_CITIES="):
            initdb_cities = set(line.split("=", 1)[1].split())
    assert initdb_cities == cities(), "initdb makes a database per city of compose.yaml"
    for city in cities():
        conf = load_settings(DEPLOY / "cities" / city / "config.toml")
        assert not conf.demo and conf["sync.app_refresh"] is False, city
        url = make_url(str(conf["store.url"]))
        assert url.drivername == "postgresql" and url.password is None, city
        assert (url.host, url.port, url.database, url.username) == ("db", 5432, city, city)
        assert url.host in svc
        accounts = Path(str(conf["auth.accounts_path"]))
        assert accounts.parent == Path("/data"), city  # the city's own volume
        assert conf.store_path.parent == Path("/data"), city  # the rate limit's file
        seen_bases.add(conf["airtable.base_id"])
        seen_dbs.add(url.database)
    assert len(seen_bases) == len(seen_dbs) == len(cities())
    example = (DEPLOY / "env" / "city.env.example").read_text(encoding="utf-8")
    names = dict(line.split("=", 1) for line in example.splitlines() if re.match(r"^\w+=", line))
    assert set(names) == {TOKEN_ENV, COOKIE_KEY_ENV, "PGPASSWORD"}
    assert not any(names.values()), "an example env file holds no secret"


# ------------------------------------------------------------------------------ Caddy


def caddy(*args: str, tmp_path: Path) -> str:
    binary = shutil.which("caddy")
    if binary is None:
        pytest.fail(CADDY_HINT, pytrace=False)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "CARTO_DOMAIN": "carto.example.org",
        "ACME_EMAIL": "admin@example.org",
    }
    done = subprocess.run(
        [binary, *args, "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def proxied_hosts(caddyfile: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Host → its reverse_proxy handler, from Caddy's own reading of the file."""
    caddy("validate", "--config", str(caddyfile), tmp_path=tmp_path)
    config = json.loads(caddy("adapt", "--config", str(caddyfile), tmp_path=tmp_path))
    found: dict[str, dict[str, Any]] = {}
    for server in config["apps"]["http"]["servers"].values():
        for route in server["routes"]:
            (host,) = route["match"][0]["host"]
            handlers = [h for r in route["handle"][0]["routes"] for h in r["handle"]]
            (proxy,) = [h for h in handlers if h["handler"] == "reverse_proxy"]
            found[host] = proxy
    return found


def test_compose_caddyfile_sends_each_city_to_its_replicas_sticky_by_cookie(
    tmp_path: Path,
) -> None:
    svc = services()
    hosts = proxied_hosts(DEPLOY / "Caddyfile", tmp_path)
    assert set(hosts) == {f"{city}.carto.example.org" for city in cities()}
    for city in cities():
        proxy = hosts[f"{city}.carto.example.org"]
        apps = {
            f"{n}:{option(list(s['command']), '--server.port')}"
            for n, s in svc.items()
            if is_app(s) and city_of(s) == city
        }
        assert {u["dial"] for u in proxy["upstreams"]} == apps, city
        assert proxy["load_balancing"]["selection_policy"]["policy"] == "cookie", city
        assert proxy["health_checks"]["active"]["uri"] == "/_stcore/health", city


def test_single_server_caddyfile_sends_each_city_to_its_app_port(tmp_path: Path) -> None:
    hosts = proxied_hosts(DEPLOY / "systemd" / "Caddyfile", tmp_path)
    dials = {h: {u["dial"] for u in p["upstreams"]} for h, p in hosts.items()}
    assert dials == {
        "paris.carto.example.org": {"127.0.0.1:8501"},
        "calais.carto.example.org": {"127.0.0.1:8502"},
    }
    example = (DEPLOY / "systemd" / "city.env.example").read_text(encoding="utf-8")
    assert "CARTO_APP_PORT=8501" in example


# ---------------------------------------------------------------------------- systemd

UNITS = sorted((DEPLOY / "systemd").glob("*@.service"))
VENV_PYTHON = "/opt/cartocampement/.venv/bin/python"


def exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit, encoding="utf-8")
    assert set(parser.sections()) == {"Unit", "Service", "Install"}, unit.name
    service = parser["Service"]
    assert service["User"] == "carto" and service["EnvironmentFile"].endswith("/%i.env")
    return shlex.split(service["ExecStart"])


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_verifies_and_runs_a_real_command_of_ours(unit: Path, tmp_path: Path) -> None:
    argv = exec_start(unit)
    assert argv[0] == VENV_PYTHON and argv[1] == "-m"
    args = [a.replace("%i", "paris").replace("${CARTO_APP_PORT}", "8501") for a in argv[3:]]
    if argv[2] == "carto":
        assert option(args, "--config") == "/etc/cartocampement/paris.toml"
        check_carto_command(args[2:])
    else:
        assert argv[2] == "streamlit"
        check_streamlit_command(args)

    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # no systemd here: the configparser-level checks above only
        return
    text = unit.read_text(encoding="utf-8").replace(VENV_PYTHON, sys.executable)
    (tmp_path / unit.name).write_text(text.replace("/opt/cartocampement", str(ROOT)))
    done = subprocess.run(
        [analyze, "verify", f"./{unit.name.replace('@.', '@paris.')}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr and "ignoring" not in done.stderr, done.stderr


def test_single_server_config_loads_and_leaves_airtable_to_the_worker() -> None:
    conf = load_settings(DEPLOY / "systemd" / "paris.toml")
    assert not conf.demo and conf["sync.app_refresh"] is False
    assert str(conf["store.path"]).startswith("/var/lib/cartocampement/paris/")
    assert str(conf["auth.accounts_path"]).startswith("/var/lib/cartocampement/paris/")


@pytest.mark.parametrize(
    "caddyfile",
    [DEPLOY / "Caddyfile", DEPLOY / "systemd" / "Caddyfile"],
    ids=["compose", "systemd"],
)
def test_no_city_can_be_framed_by_another_site(caddyfile: Path, tmp_path: Path) -> None:
    """Clickjacking: without frame-ancestors, a hostile page could show the app in a
    frame and lead a signed-in coordinator's clicks (save a round, change an account).
    Same origin only: the cookie component is a frame of the app itself."""
    caddy("validate", "--config", str(caddyfile), tmp_path=tmp_path)
    config = json.loads(caddy("adapt", "--config", str(caddyfile), tmp_path=tmp_path))
    hosts = 0
    for server in config["apps"]["http"]["servers"].values():
        for route in server["routes"]:
            handlers = [h for r in route["handle"][0]["routes"] for h in r["handle"]]
            headers = [h for h in handlers if h["handler"] == "headers"]
            assert headers, route["match"]
            sets = {k: v for h in headers for k, v in h.get("response", {}).get("set", {}).items()}
            assert sets.get("Content-Security-Policy") == ["frame-ancestors 'self'"], sets
            assert sets.get("X-Frame-Options") == ["SAMEORIGIN"], sets
            hosts += 1
    assert hosts >= 2
