"""Every setting of the application, declared once with its default and help text.

Settings are read from a TOML file (``--config`` / ``CARTO_CONFIG`` / ``config.toml``).
Without a config file the application runs on the embedded demo. Secrets (the Airtable
token) never live in the config file: they come from the environment or from
``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import os
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carto.i18n import CATALOGUES, LANGUAGE, t

CONFIG_ENV = "CARTO_CONFIG"
TOKEN_ENV = "AIRTABLE_TOKEN"
DEFAULT_CONFIG_PATH = Path("config.toml")
SECRETS_PATH = Path(".streamlit/secrets.toml")


@dataclass(frozen=True)
class Setting:
    """One declared setting: ``section.name``, its default and what it is for."""

    section: str
    name: str
    default: Any
    help: str

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "general",
        "demo",
        False,
        "Run on the embedded demo data instead of Airtable. Implied when no config file exists.",
    ),
    Setting("general", "timezone", "Europe/Paris", "Time zone of every date shown or parsed."),
    Setting(
        "airtable",
        "base_id",
        "",
        "Airtable base id (starts with 'app'). The token comes from AIRTABLE_TOKEN "
        "or .streamlit/secrets.toml, never from this file.",
    ),
    Setting(
        "airtable",
        "endpoint_url",
        "https://api.airtable.com",
        "Airtable API root; change it only for a proxy or a local test server.",
    ),
    Setting("airtable", "passages_table", "Passages", "Name or id of the Passages table."),
    Setting("airtable", "sites_table", "Sites", "Name or id of the Sites table."),
    Setting("airtable", "timeout_seconds", 30, "Connect and read timeout of one API request."),
    Setting(
        "airtable",
        "requests_per_second",
        5.0,
        "Most API requests sent per second to the base, across every session of the "
        "process (Airtable's limit is 5; going over blocks the base for 30 s).",
    ),
    Setting(
        "airtable",
        "max_retries",
        5,
        "Retries of one request after a 429, a 5xx, a timeout or a dropped connection, "
        "before the sync gives up and keeps the previous snapshot.",
    ),
    Setting(
        "airtable",
        "backoff_seconds",
        1.0,
        "Wait before the first retry after a 5xx, a timeout or a dropped connection; "
        "doubled at each further retry.",
    ),
    Setting(
        "airtable",
        "penalty_seconds",
        30.0,
        "Wait after a 429 answer when Airtable sends no Retry-After (its penalty is 30 s).",
    ),
    Setting(
        "airtable",
        "passages_fields",
        {},
        "Map a canonical Passages field key to the Airtable field name of your base, "
        'e.g. {people = "Nb personnes"}. Keys are listed in carto/schema.py.',
    ),
    Setting(
        "airtable",
        "sites_fields",
        {},
        "Map a canonical Sites field key to the Airtable field name of your base.",
    ),
    Setting(
        "store",
        "path",
        "data/snapshot.sqlite",
        "SQLite file holding the local snapshot of the Airtable base.",
    ),
    Setting(
        "store",
        "demo_path",
        "data/demo.sqlite",
        "SQLite file holding the generated demo snapshot (rebuilt when missing or stale).",
    ),
    Setting(
        "store",
        "url",
        "",
        "Database of the store outside demo mode: empty for the SQLite file at `path`, or "
        '"postgresql://user:password@host:5432/name" for a PostgreSQL database shared by '
        "several processes (snapshot, sync log, audit log, lockouts and session epochs).",
    ),
    Setting(
        "sync",
        "refresh_interval_seconds",
        120,
        "The app syncs at most once per this interval for the whole process (lengthened "
        "automatically as the monthly call budget runs out).",
    ),
    Setting(
        "sync",
        "app_refresh",
        True,
        "The app refreshes the snapshot from Airtable itself, in the background. Set to "
        "false when one 'python -m carto sync --watch' worker refreshes it for every app "
        "process sharing the store: the apps then only read it.",
    ),
    Setting(
        "sync",
        "overlap_seconds",
        300,
        "An incremental sync asks for records modified since the last successful sync "
        "minus this overlap (covers clock differences with Airtable).",
    ),
    Setting(
        "sync",
        "reconcile_interval_hours",
        24.0,
        "How often a sync also lists every record id to remove records deleted in "
        "Airtable (sync --full always does).",
    ),
    Setting(
        "sync",
        "monthly_call_budget",
        100000,
        "API calls allowed per calendar month (Airtable Team plan: 100000, Free: 1000); "
        "beyond it a sync refuses unless forced. 0 means no limit.",
    ),
    Setting(
        "sync",
        "listing_restarts",
        3,
        "Times a listing restarts from the beginning when Airtable expires its "
        "pagination offset (LIST_RECORDS_ITERATOR_NOT_AVAILABLE).",
    ),
    Setting("demo", "seed", 56, "Random seed of the demo generator (same seed, same data)."),
    Setting("demo", "days", 120, "Number of days of history the demo covers, ending today."),
    Setting(
        "demo",
        "camps",
        20,
        "Number of camps the demo starts with (the benchmark uses 400 over 365 days, "
        "about 100,000 passages).",
    ),
    Setting(
        "analysis",
        "population_window_days",
        7,
        "A camp counts in the estimated population with its latest count no older than this.",
    ),
    Setting(
        "analysis",
        "coverage_gap_days",
        3,
        "An active camp not visited for more than this many days is a coverage gap.",
    ),
    Setting(
        "analysis",
        "camp_radius_m",
        150,
        "Passages without a Site link within this distance of a camp belong to it.",
    ),
    Setting(
        "analysis",
        "camp_gap_days",
        30,
        "A camp with no passage for this many days is not joined by a new nearby passage.",
    ),
    Setting(
        "analysis",
        "successor_distance_m",
        600,
        "A camp first seen within this distance of an evacuated camp is its successor.",
    ),
    Setting(
        "analysis",
        "successor_days",
        14,
        "A camp first seen at most this many days after an evacuation nearby is its successor.",
    ),
    Setting(
        "analysis",
        "evacuation_merge_days",
        1,
        "Evacuation reports of the same camp within this many days of the first one are "
        "one event (several associations witnessing the same evacuation).",
    ),
    Setting(
        "analysis",
        "duplicate_visit_hours",
        4.0,
        "Two associations visiting the same camp within this many hours make a duplicate visit.",
    ),
    Setting(
        "analysis",
        "forecast_weeks",
        4,
        "Next week's needs are forecast as the mean of this many last complete weeks.",
    ),
    Setting(
        "analysis",
        "alert_hours",
        48,
        "Camps where unaccompanied minors or families were reported within this many hours, "
        "with nobody sheltered since, raise a protection alert.",
    ),
    Setting(
        "zones",
        "h3_resolution",
        7,
        "H3 resolution of the zones (map density, coverage, hotspot zones, zones export). "
        "7: hexagons of about 1.4 km a side (5.2 km², the camps within about 1.2 km of the "
        "centre), the area a team covers on foot in one round, so that a zone groups the "
        "camps coordinators plan together. 8 (530 m a side, 0.74 km²) leaves most camps "
        "alone in their zone, camps standing 500 m to 1 km apart; 9 (200 m) one per camp.",
    ),
    Setting(
        "hotspots",
        "weight_minors",
        2.0,
        "Hotspot score: weight of the share of unaccompanied minors among the people.",
    ),
    Setting(
        "hotspots",
        "weight_families",
        1.0,
        "Hotspot score: weight of the share of families' members (children counted).",
    ),
    Setting(
        "hotspots",
        "weight_women",
        1.0,
        "Hotspot score: weight of the share of single women among the people.",
    ),
    Setting(
        "hotspots",
        "weight_unmet_need",
        0.25,
        "Hotspot score: added to the needs factor for each need reported and not covered.",
    ),
    Setting(
        "hotspots",
        "days_scale",
        3.0,
        "Hotspot score: the days-since-visit factor is 1 + days / days_scale.",
    ),
    Setting(
        "quality",
        "max_count",
        2000,
        "A count (people, tents, items) above this is absurd: the record is set aside.",
    ),
    Setting(
        "quality",
        "area_bounds",
        [48.1, 49.25, 1.4, 3.6],
        "Covered area as [lat_min, lat_max, lon_min, lon_max] (default: Ile-de-France); "
        "positions outside it are set aside.",
    ),
    Setting(
        "quality",
        "first_date",
        "2015-01-01",
        "First plausible day of a passage (YYYY-MM-DD, not before 1900-01-01): a passage "
        "dated before it is a typing error and is set aside.",
    ),
    Setting(
        "filters",
        "default_period",
        "30j",
        "Period shown when a page opens: 24h, 7j, 30j, 90j, mois-dernier (the previous "
        "calendar month) or tout (the whole history).",
    ),
    Setting(
        "auth",
        "accounts_path",
        "accounts.yaml",
        "File holding the accounts (bcrypt hashes and roles), outside git; managed with "
        "`python -m carto users`. Not used in demo mode, which has one account per role. "
        "The cookie key comes from CARTO_COOKIE_KEY or .streamlit/secrets.toml, never "
        "from this file.",
    ),
    Setting(
        "auth",
        "cookie_name",
        "cartocampement_session",
        "Name of the browser cookie that keeps a person signed in across page reloads.",
    ),
    Setting(
        "auth",
        "cookie_expiry_days",
        7.0,
        "A sign-in cookie is refused this many days after it was issued (0: no cookie, "
        "sign in again on every visit).",
    ),
    Setting(
        "auth",
        "idle_timeout_minutes",
        60,
        "A session idle for this many minutes is closed, and its cookie refused (0: never).",
    ),
    Setting(
        "auth",
        "max_failed_logins",
        5,
        "Failed sign-ins in a row that lock an account (counted in the store, shared by "
        "every session and kept across restarts).",
    ),
    Setting(
        "auth",
        "lockout_minutes",
        15,
        "How long a locked account stays locked (an admin can unlock it sooner: "
        "`python -m carto users unlock NAME`).",
    ),
    Setting(
        "privacy",
        "partner_h3_resolution",
        8,
        "Partners see every position moved to the centre of its H3 zone at this resolution "
        "(8: hexagons of about 530 m a side; 7: about 1.4 km).",
    ),
    Setting(
        "privacy",
        "small_count_threshold",
        5,
        "Partners never see a count between 1 and this minus one: it is shown as '<5'.",
    ),
    Setting(
        "privacy",
        "comment_retention_days",
        180,
        "Comments of passages older than this many days are removed from the snapshot at "
        "each sync (0: kept).",
    ),
    Setting(
        "app",
        "base_url",
        "http://localhost:8501",
        "Public address of the app, as people open it; the links of the e-mail digest "
        "start with it (e.g. https://carto.example.org).",
    ),
    Setting(
        "mail",
        "host",
        "",
        "SMTP server that sends the digest and alert e-mails (empty: no e-mail is sent). "
        "The password comes from CARTO_SMTP_PASSWORD or .streamlit/secrets.toml, never "
        "from this file.",
    ),
    Setting("mail", "port", 587, "Port of the SMTP server (587 for starttls, 465 for ssl)."),
    Setting("mail", "username", "", "Account on the SMTP server (empty: no sign-in)."),
    Setting("mail", "sender", "", "Address the e-mails come from, e.g. carto@association.example."),
    Setting(
        "mail",
        "tls",
        "starttls",
        "Encryption: starttls, ssl (implicit TLS), or none, only for a relay on this "
        "machine (a password is never sent without TLS).",
    ),
    Setting(
        "mail",
        "ca_file",
        "",
        "File of certificates that may sign the SMTP server's (empty: the system's).",
    ),
    Setting("mail", "timeout_seconds", 30.0, "Connect and read timeout of the SMTP server."),
    Setting(
        "forms",
        "passage_url",
        "",
        "Link of the association's form to report a passage, with placeholders filled and "
        "URL-encoded: {site_id} {camp_id} {name} {lat} {lon} {arrondissement} {date} "
        "(README, 'Signaler un passage'). Empty: no link.",
    ),
    Setting(
        "rounds",
        "plan_retention_days",
        30,
        "Rounds planned for an evening are kept this many days after it, then forgotten "
        "(when the next round is saved).",
    ),
    Setting(
        "rounds",
        "walking_speed_kmh",
        4.0,
        "Walking speed of a round (km/h), for the route's estimated time.",
    ),
    Setting(
        "rounds",
        "detour_factor",
        1.3,
        "Estimated walking distance = straight-line distance times this (streets detour).",
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS}


class ConfigError(ValueError):
    """The configuration file is unreadable or holds an unknown or mistyped setting."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings: declared defaults overlaid with the config file's values."""

    values: Mapping[str, Any]
    source: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def __getitem__(self, key: str) -> Any:
        """A setting's value, of its declared type (checked when read); code takes
        typed options built from these (``carto/options.py``) rather than casting."""
        if key not in _BY_KEY:
            raise KeyError(f"undeclared setting {key!r}")
        return self.values.get(key, _BY_KEY[key].default)

    @property
    def demo(self) -> bool:
        return self.source is None or bool(self["general.demo"])

    def path(self, key: str) -> Path:
        """A path setting, resolved against the config file's folder."""
        p = Path(self[key])
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_path(self) -> Path:
        return self.path("store.demo_path" if self.demo else "store.path")

    @property
    def store_location(self) -> str | Path:
        """Where the store is: ``[store] url`` when set (outside demo mode: the demo keeps
        its own generated file), else the SQLite file ``store_path``."""
        url = str(self["store.url"]).strip()
        return url if url and not self.demo else self.store_path

    def with_values(self, **overrides: Any) -> Settings:
        """A copy with some settings replaced; keys use ``section__name``."""
        merged = dict(self.values)
        for k, v in overrides.items():
            key = k.replace("__", ".")
            if key not in _BY_KEY:
                raise KeyError(f"undeclared setting {key!r}")
            merged[key] = _check_type(_BY_KEY[key], v)  # typed, as from the file
        return Settings(merged, self.source, self.base_dir)


def _type_name(kind: type) -> str:
    key = f"config.type.{kind.__name__}"
    return t(key) if key in CATALOGUES[LANGUAGE] else kind.__name__


def _check_type(setting: Setting, value: Any) -> Any:
    expected = type(setting.default)
    wrong = t(
        "config.error.type", key=setting.key, expected=_type_name(expected), value=repr(value)
    )
    if expected is int and isinstance(value, bool):
        raise ConfigError(wrong)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected):
        raise ConfigError(wrong)
    return value


def parse_config(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a parsed TOML document into ``section.name`` keys, rejecting unknown ones."""
    values: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, Mapping):
            raise ConfigError(t("config.error.section", key=section))
        for name, value in body.items():
            key = f"{section}.{name}"
            if key not in _BY_KEY:
                known = ", ".join(sorted(_BY_KEY))
                raise ConfigError(t("config.error.unknown", key=key, known=known))
            values[key] = _check_type(_BY_KEY[key], value)
    return values


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: explicit argument, else $CARTO_CONFIG, else config.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings; a missing default config file means demo mode."""
    path = config_path(explicit)
    if not path.exists():
        if explicit or os.environ.get(CONFIG_ENV):
            raise ConfigError(t("config.error.not_found", path=path))
        return Settings({}, None, Path.cwd())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(t("config.error.toml", path=path, error=exc)) from exc
    return Settings(parse_config(data), path.resolve(), path.resolve().parent)


def secret(name: str, secrets_path: Path = SECRETS_PATH, *, section: str = "") -> str | None:
    """A secret from the environment variable ``name``, else from the secrets file (key
    ``name``, or ``[section] name`` … see ``airtable_token``); never from the config
    file. None when neither has it, or when the secrets file cannot be read."""
    value = os.environ.get(name)
    if value:
        return value
    if not secrets_path.exists():
        return None
    try:
        data = tomllib.loads(secrets_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    found = data.get(name) or (data.get(section, {}).get("token") if section else None)
    return str(found) if found else None


def airtable_token(secrets_path: Path = SECRETS_PATH) -> str | None:
    """The Airtable token from $AIRTABLE_TOKEN, else from .streamlit/secrets.toml
    (``AIRTABLE_TOKEN = "..."`` or ``[airtable] token = "..."``)."""
    return secret(TOKEN_ENV, secrets_path, section="airtable")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{" + (f" {inner} " if inner else "") + "}"
    raise TypeError(f"cannot render {value!r} as TOML")


def render_example_config() -> str:
    """The text of config.example.toml: every setting, its default and its help."""
    lines = [
        "# CartoCampement configuration. Copy to config.toml and adapt.",
        "# Every setting is listed with its default value. Without config.toml the app",
        "# runs on the embedded demo data. Generated by `python -m carto config-example`.",
        "",
    ]
    section = None
    for s in SETTINGS:
        if s.section != section:
            if section is not None:
                lines.append("")
            lines.append(f"[{s.section}]")
            section = s.section
        lines.extend(textwrap.wrap(s.help, 88, initial_indent="# ", subsequent_indent="# "))
        lines.append(f"{s.name} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"
