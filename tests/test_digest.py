"""The e-mail digest and alerts (issue 18), against a real SMTP server on loopback.

The server is aiosmtpd, started by the fixtures on a free port: plain for the local
relay case (``tls = "none"``), STARTTLS with a certificate made here by trustme.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import re
import socket
import sqlite3
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from carto import accounts, audit, cli, digest, filters, mail, privacy, rounds
from carto import sync as syncing
from carto.analytics import camps, places
from carto.dataset import build_dataset, demo_key, generate_demo, write_demo_snapshot
from carto.i18n import t
from carto.settings import ConfigError, Settings, load_settings
from carto.store import AuthStore, SnapshotStore
from carto.ui import navigation
from tests.e2e.helpers import position_pairs

DAY = dt.date(2026, 11, 26)
MORNING = pd.Timestamp(DAY, tz="Europe/Paris") + pd.Timedelta(hours=8)
PASSWORD = "un mot de passe de test"
BASE_URL = "https://carto.test"
SMTP_USER, SMTP_PASSWORD = "carto", "smtp-secret"


# --------------------------------------------------------------------- SMTP server


@dataclass
class Inbox:
    """What the server received; ``refuse`` makes it refuse every recipient."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.7.1 refused by the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on loopback, as a local relay."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


# ------------------------------------------------------------------ configuration


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A live snapshot holding 30 days of demo records ending on ``DAY``."""
    folder = tmp_path_factory.mktemp("digest-snapshot")
    conf = load_settings(write_config(folder, 1))
    base = generate_demo(conf.with_values(demo__days=30), DAY)
    write_demo_snapshot(SnapshotStore(conf.store_path), base, demo_key(conf, DAY))
    return conf.store_path


def write_config(folder: Path, port: int, mail_extra: str = 'tls = "none"') -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[airtable]\nbase_id = "appTEST"\n[store]\npath = "{folder / "snap.sqlite"}"\n'
        f'[auth]\naccounts_path = "{folder / "accounts.yaml"}"\n'
        f'[app]\nbase_url = "{BASE_URL}/"\n'
        f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsender = "carto@asso.test"\n'
        f"timeout_seconds = 5.0\n{mail_extra}\n",
        encoding="utf-8",
    )
    return path


def add(conf: Settings, role: str, choice: str = accounts.DIGEST_OFF, email: str = "") -> None:
    path = accounts.accounts_path(conf)
    address = email or f"{role}@asso.test"
    accounts.add_account(path, role, PASSWORD, role, email=address, rounds=4)
    accounts.set_digest(path, role, choice)


@pytest.fixture
def setup(tmp_path: Path, snapshot: Path, relay: tuple[Inbox, int]) -> tuple[Settings, Inbox]:
    """A live config on a copy of the snapshot, mail through the relay, no account yet."""
    inbox, port = relay
    conf = load_settings(write_config(tmp_path, port))
    copy_store(snapshot, conf.store_path)
    return conf, inbox


def copy_store(source: Path, target: Path) -> None:
    """A copy of a SQLite store (a plain file copy would miss a WAL journal)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def store_of(conf: Settings) -> SnapshotStore:
    return SnapshotStore(conf.store_path)


def audit_of(conf: Settings) -> AuthStore:
    return AuthStore(conf.store_path)


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None and part.get_content_type() == f"text/{subtype}"
    return str(part.get_content()).replace("\r\n", "\n")  # SMTP lines end in CRLF


def whole(message: EmailMessage) -> str:
    return body(message, "plain") + "\n" + body(message, "html")


def digest_events(conf: Settings, event: str) -> list[dict[str, Any]]:
    return audit_of(conf).audit_log(event=event)


# ------------------------------------------------------------------------ content


COUNTED = re.compile(r"(mineurs non accompagnés|familles|personnes) : (<\d+|[\d\u202f]+)")


def counts_in(text: str) -> list[str]:
    return [m.group(2) for m in COUNTED.finditer(text)]


def test_daily_digest_per_role_keeps_the_role_privacy(setup: tuple[Settings, Inbox]) -> None:
    conf, inbox = setup
    for role in accounts.ROLES:
        add(conf, role, accounts.DIGEST_DAILY)
    outcomes = digest.run(conf, store_of(conf), now=MORNING)
    assert {o.status for o in outcomes} == {"sent"}
    assert len(inbox.messages) == len(accounts.ROLES)

    ds = build_dataset(conf, store_of(conf), now=MORNING)
    # every place name staff may see: site names, and descriptions naming unlinked camps
    unnamed = t("camp.unnamed")
    named = [*ds.sites["name"].dropna(), *places.camp_places(ds.passages, ds.sites)["name"]]
    site_names = {n for n in named if len(n) > 5 and not n.startswith(unnamed)}
    comments = {c for c in ds.passages["comment"].dropna() if len(c) > 12}
    teams = {c for c in ds.passages["team"].dropna() if len(c) > 5}
    threshold = int(conf["privacy.small_count_threshold"])

    staff = whole(inbox.to("coordinateur@asso.test")[0])
    partner = whole(inbox.to("partenaire@asso.test")[0])
    # the checks below can fail: the staff's mail holds what the partner's must not
    assert any(name in staff for name in site_names)
    staff_counts = [int(c.replace("\u202f", "")) for c in counts_in(staff) if c[0] != "<"]
    assert any(0 < c < threshold for c in staff_counts)
    assert counts_in(partner)

    for message in inbox.messages:
        text = whole(message)
        assert position_pairs(text) == [], message["To"]  # no position, for any role
        assert not any(c in text for c in comments), message["To"]
        assert not any(team in text for team in teams), message["To"]
    assert not any(name in partner for name in site_names)
    assert "Campement " in partner  # pseudonyms instead
    for shown in counts_in(partner):
        assert (
            shown == privacy.small_count_label(threshold)
            or int(shown.replace("\u202f", "")) >= threshold
        )
    # the quality count only for the roles that open the Qualité page
    assert "Qualité des données" in staff and "Qualité des données" not in partner
    assert every_send_audited(conf, digest.DAILY, len(accounts.ROLES))


def test_rounds_planned_tonight_are_listed_as_each_role_names_camps(
    setup: tuple[Settings, Inbox],
) -> None:
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    add(conf, accounts.PARTNER, accounts.DIGEST_DAILY)
    ds = build_dataset(conf, store_of(conf), now=MORNING)
    states = camps.camp_states(ds.passages, ds.sites, MORNING, 30)
    chosen = states.dropna(subset=["name"]).head(2)
    plan = rounds.Plan(
        evening=MORNING.date(),
        association="Utopia 56",
        team="Équipe secrète du mardi",
        zones=(),
        camp_ids=tuple(chosen["camp_id"].astype(str)),
    )
    rounds.save_plan(audit_of(conf), plan, "coordinateur", 30, MORNING.date())
    digest.run(conf, store_of(conf), now=MORNING)
    staff = body(inbox.to("coordinateur@asso.test")[0], "plain")
    partner = body(inbox.to("partenaire@asso.test")[0], "plain")
    assert t("digest.section.plans") in staff and t("digest.section.plans") in partner
    assert "Utopia 56 : 2 campements" in staff and "Utopia 56 : 2 campements" in partner
    assert all(str(name) in staff for name in chosen["name"])
    assert not any(str(name) in partner for name in chosen["name"])
    assert "Équipe secrète" not in staff + partner


def every_send_audited(conf: Settings, kind: str, n: int) -> bool:
    sent = digest_events(conf, audit.DIGEST_SENT)
    return len(sent) == n and all(e["details"]["kind"] == kind for e in sent)


def test_each_line_links_to_a_page_the_role_opens_with_its_filters(
    setup: tuple[Settings, Inbox],
) -> None:
    conf, inbox = setup
    for role in (accounts.COORDINATOR, accounts.VOLUNTEER, accounts.PARTNER):
        add(conf, role, accounts.DIGEST_DAILY)
    digest.run(conf, store_of(conf), now=MORNING)
    options = filters.url_options()
    for role in (accounts.COORDINATOR, accounts.VOLUNTEER, accounts.PARTNER):
        text = body(inbox.to(f"{role}@asso.test")[0], "plain")
        links = re.findall(r"^  (https?://\S+)$", text, flags=re.M)
        assert links, role
        alert_links = []
        for address in links:
            parts = urlsplit(address)
            assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
            page = parts.path.strip("/")
            assert navigation.may_open(role, f"pages/{page}.py"), (role, address)
            for param, values in parse_qs(parts.query).items():
                if param == filters.PARAM_GAP:
                    assert values == [str(conf["analysis.coverage_gap_days"])]
                    continue
                chosen, rejected = options[param].decode(values)
                assert rejected == [], address
                # written as the app writes its own addresses (stable French codes)
                assert sorted(options[param].encode(chosen)) == sorted(values), address
            if filters.PARAM_PUBLICS in parse_qs(parts.query):
                alert_links.append(page)
        assert alert_links, role
        expected = "carte" if role == accounts.VOLUNTEER else "coordination"
        assert set(alert_links) == {expected}


def test_unvisited_camp_lines_link_with_the_stable_status_code(
    setup: tuple[Settings, Inbox],
) -> None:
    """A shared address keeps ``statut=actif`` (``filters.STATUS_CODES``), not the
    program's code, whatever the program calls the status."""
    conf, _ = setup
    later = MORNING + pd.Timedelta(days=30)  # every camp unvisited by then
    ctx = digest.load_context(conf, store_of(conf), later.to_pydatetime())
    lines = digest._gap_lines(ctx, accounts.COORDINATOR)
    assert lines
    for line in lines:
        assert line.link is not None
        query = parse_qs(urlsplit(line.link).query)
        assert query[filters.PARAM_STATUSES] == [filters.STATUS_CODES[filters.ACTIVE]]


def test_record_text_is_escaped_in_the_html_part() -> None:
    hostile = '<img src=//evil.example/i.png> <a href="//evil.example">x</a>'
    message = digest.Mail(
        "sujet",
        "intro",
        (digest.Section("titre", (digest.Line(hostile, f"{BASE_URL}/carte?a=1&b=2"),)),),
        "pied",
    )
    html = message.html()
    assert "<img" not in html and 'evil.example">' not in html
    assert "&lt;img src=//evil.example/i.png&gt;" in html
    assert 'href="https://carto.test/carte?a=1&amp;b=2"' in html


def test_role_pages_agree_with_the_page_registry() -> None:
    for role in accounts.ROLES:
        for page in ("carte", "tableau_de_bord", "coordination", "qualite", "mon_compte"):
            assert digest.may_open(role, page) == navigation.may_open(role, f"pages/{page}.py")


# ---------------------------------------------------------------- alerts at the sync


def test_alerts_once_per_camp_per_day(setup: tuple[Settings, Inbox]) -> None:
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_ALERTS)
    add(conf, accounts.ADMIN, accounts.DIGEST_OFF)
    store = store_of(conf)
    expected = digest.alerts_of(digest.load_context(conf, store, MORNING), "coordinateur")
    assert len(expected) >= 2
    # one camp was already sent this morning: only the others go now
    first = str(expected["camp_id"].iloc[0])
    audit_of(conf).log_event(
        audit.DIGEST_SENT,
        "coordinateur",
        {"kind": digest.ALERT, "camps": [first]},
        at=MORNING.to_pydatetime() - dt.timedelta(hours=1),
    )
    digest.after_sync(conf, store, MORNING.to_pydatetime())
    assert len(inbox.messages) == 1
    sent = digest_events(conf, audit.DIGEST_SENT)[0]["details"]
    assert sent["kind"] == digest.ALERT
    assert set(sent["camps"]) == set(expected["camp_id"]) - {first}
    assert "alerte" in inbox.messages[0]["Subject"]

    digest.after_sync(conf, store, MORNING.to_pydatetime() + dt.timedelta(hours=3))
    assert len(inbox.messages) == 1  # same day: nothing new

    tomorrow = MORNING.to_pydatetime() + dt.timedelta(days=1)
    still = digest.alerts_of(digest.load_context(conf, store, tomorrow), "coordinateur")
    digest.after_sync(conf, store, tomorrow)
    assert len(inbox.messages) == 2 and not still.empty  # a new day: sent again
    assert set(digest_events(conf, audit.DIGEST_SENT)[0]["details"]["camps"]) == set(
        still["camp_id"]
    )


def test_a_failed_send_is_audited_and_retried_at_the_next_run(
    tmp_path: Path, snapshot: Path
) -> None:
    port = free_port()  # nothing listens there yet: the server is down
    conf = load_settings(write_config(tmp_path, port))
    copy_store(snapshot, conf.store_path)
    add(conf, accounts.COORDINATOR, accounts.DIGEST_ALERTS)
    add(conf, accounts.ADMIN, accounts.DIGEST_DAILY)
    store = store_of(conf)
    digest.run(conf, store, now=MORNING)  # the morning digest fails too
    digest.after_sync(conf, store, MORNING.to_pydatetime())  # never raises
    failed = digest_events(conf, audit.DIGEST_FAILED)
    assert {(e["username"], e["details"]["kind"]) for e in failed} == {
        ("coordinateur", digest.ALERT),
        ("admin", digest.DAILY),
    }
    assert all("127.0.0.1" in e["details"]["error"] for e in failed)
    assert not digest_events(conf, audit.DIGEST_SENT)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = MORNING.to_pydatetime() + dt.timedelta(hours=1)
        digest.after_sync(conf, store, later)  # the next sync: both sent again
        digest.after_sync(conf, store, later + dt.timedelta(minutes=5))  # and only once
    finally:
        controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == ["admin@asso.test", "coordinateur@asso.test"]
    sent = digest_events(conf, audit.DIGEST_SENT)
    assert {(e["username"], e["details"]["kind"]) for e in sent} == {
        ("coordinateur", digest.ALERT),
        ("admin", digest.DAILY),
    }


def test_a_refusing_server_is_a_failure(setup: tuple[Settings, Inbox]) -> None:
    conf, inbox = setup
    inbox.refuse = True
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    outcomes = digest.run(conf, store_of(conf), now=MORNING)
    assert [o.status for o in outcomes] == ["failed"]
    assert "550" in digest_events(conf, audit.DIGEST_FAILED)[0]["details"]["error"]
    assert not digest_events(conf, audit.DIGEST_SENT)


def test_the_sync_goes_on_when_mail_fails(
    tmp_path: Path, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = load_settings(write_config(tmp_path, free_port()))  # server down
    today = dt.date.today()
    write_demo_snapshot(
        SnapshotStore(conf.store_path),
        generate_demo(conf.with_values(demo__days=30), today),
        demo_key(conf, today),
    )
    add(conf, accounts.COORDINATOR, accounts.DIGEST_ALERTS)
    store = store_of(conf)
    now = dt.datetime.now(dt.UTC)
    changed = syncing.TableStats(fetched=1, changed=1, deleted=0, full=False, reconciled=False)
    result = syncing.SyncResult(False, {"passages": changed}, 1, 0.1, now, store.version)
    monkeypatch.setattr(syncing, "sync", lambda *a, **k: result)
    monkeypatch.setattr(syncing, "last_synced_at", lambda store: now - dt.timedelta(hours=1))
    outcome = syncing.RefreshGuard().refresh_if_due(conf, now, store=store)
    assert outcome is not None and outcome.ok and outcome.result is result
    failed = digest_events(conf, audit.DIGEST_FAILED)
    assert [e["details"]["kind"] for e in failed] == [digest.ALERT]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken digest")

    monkeypatch.setattr(digest, "load_context", broken)
    syncing.after_changes(conf, store, result)  # does not raise either
    assert "broken digest" in digest_events(conf, audit.DIGEST_FAILED)[0]["details"]["error"]


# ---------------------------------------------------------------------- CLI


def test_dry_run_sends_and_audits_nothing(
    setup: tuple[Settings, Inbox], capsys: pytest.CaptureFixture[str]
) -> None:
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    outcomes = digest.run(conf, store_of(conf), dry_run=True, now=MORNING)
    assert [o.status for o in outcomes] == ["dry_run"]
    assert inbox.messages == []
    assert not [e for e in audit_of(conf).audit_log() if e["event"].startswith("digest_")]
    assert cli.main(["--config", str(conf.source), "digest", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Serait envoyé à « coordinateur »" in out and "CartoCampement — synthèse" in out
    assert inbox.messages == []


def test_to_sends_one_account_its_digest(setup: tuple[Settings, Inbox]) -> None:
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    add(conf, accounts.VOLUNTEER, accounts.DIGEST_OFF)
    assert cli.main(["--config", str(conf.source), "digest", "--to", "benevole"]) == 0
    assert [m["To"] for m in inbox.messages] == ["benevole@asso.test"]
    assert "à la demande" in body(inbox.messages[0], "plain")
    assert cli.main(["--config", str(conf.source), "digest", "--to", "personne"]) == 1


def test_an_account_without_address_is_skipped(setup: tuple[Settings, Inbox]) -> None:
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    path = accounts.accounts_path(conf)
    known = accounts.read_accounts(path)
    known["coordinateur"] = accounts.Account(
        "coordinateur", "", "coordinateur", known["coordinateur"].password_hash, "", "daily"
    )
    accounts.write_accounts(path, known)
    outcomes = digest.run(conf, store_of(conf), now=MORNING)
    assert [o.status for o in outcomes] == ["skipped"]
    assert inbox.messages == []
    assert digest_events(conf, audit.DIGEST_SKIPPED)[0]["username"] == "coordinateur"


@pytest.mark.parametrize(
    "bad", ["x@asso.test\nBcc: victim@evil.example", "a@asso.test, b@evil.example"]
)
def test_a_bad_address_in_the_accounts_file_stops_no_other_mail(
    setup: tuple[Settings, Inbox], bad: str
) -> None:
    """An address edited by hand in the accounts file (a line break: the message cannot
    be built; a comma: two recipients) fails that account's mail, logged and audited,
    and the accounts after it get theirs."""
    conf, inbox = setup
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    add(conf, accounts.VOLUNTEER, accounts.DIGEST_DAILY)
    path = accounts.accounts_path(conf)
    known = accounts.read_accounts(path)
    known["benevole"] = dataclasses.replace(known["benevole"], email=bad)
    accounts.write_accounts(path, known)
    outcomes = digest.run(conf, store_of(conf), now=MORNING)
    assert [(o.username, o.status) for o in outcomes] == [
        ("benevole", "failed"),
        ("coordinateur", "sent"),
    ]
    assert outcomes[0].detail == t("digest.failed.bad_email", username="benevole")
    assert [m["To"] for m in inbox.messages] == ["coordinateur@asso.test"]
    assert digest_events(conf, audit.DIGEST_FAILED)[0]["username"] == "benevole"


# ------------------------------------------------------------------------ TLS


def test_starttls_with_a_verified_certificate_and_a_password(
    tmp_path: Path, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    seen: list[tuple[str, str]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        seen.append((data.login.decode(), data.password.decode()))
        ok = (data.login.decode(), data.password.decode()) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok)

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        extra = f'tls = "starttls"\nusername = "{SMTP_USER}"\nca_file = "{ca_file}"'
        conf = load_settings(write_config(tmp_path, port, extra))
        monkeypatch.setenv(mail.PASSWORD_ENV, SMTP_PASSWORD)
        config = mail.MailConfig.from_settings(conf, secrets_path=tmp_path / "none.toml")
        message = mail.build_message(config.sender, "a@asso.test", "Sujet é", "texte", "<p>x</p>")
        mail.send(config, message)
        assert [m["Subject"] for m in inbox.messages] == ["Sujet é"]
        assert seen == [(SMTP_USER, SMTP_PASSWORD)]
        # a certificate the system does not trust is refused
        with pytest.raises(mail.MailError):
            mail.send(dataclasses.replace(config, ca_file=""), message)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_mail_settings_refuse_what_is_unsafe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv(mail.PASSWORD_ENV, raising=False)
    conf = load_settings(write_config(tmp_path, 25, 'tls = "none"\nusername = "carto"'))
    with pytest.raises(ConfigError, match="CARTO_SMTP_PASSWORD"):
        mail.MailConfig.from_settings(conf, secrets_path=secrets)
    secrets.write_text('CARTO_SMTP_PASSWORD = "from-secrets"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="sans chiffrement"):
        mail.MailConfig.from_settings(conf, secrets_path=secrets)
    conf = load_settings(write_config(tmp_path, 25, 'username = "carto"'))  # starttls default
    config = mail.MailConfig.from_settings(conf, secrets_path=secrets)
    assert config.password == "from-secrets"
    # the configuration written out (a log line, an assertion, a debugger) keeps it
    assert "from-secrets" not in repr(config) and "from-secrets" not in str(config)
    assert conf["mail.tls"] == mail.STARTTLS
    with pytest.raises(ConfigError):
        mail.MailConfig.from_settings(conf.with_values(mail__tls="tls1.0"), secrets_path=secrets)
    with pytest.raises(ConfigError):
        mail.MailConfig.from_settings(conf.with_values(mail__host=""), secrets_path=secrets)


# --------------------------------------------------------------- subscriptions


def test_subscribe_is_stored_with_the_account_and_audited(
    tmp_path: Path, snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = load_settings(write_config(tmp_path, 25))
    add(conf, accounts.VOLUNTEER)
    args = ["--config", str(conf.source), "users", "subscribe", "benevole", "--digest", "alerts"]
    assert cli.main(args) == 0
    path = accounts.accounts_path(conf)
    assert accounts.read_accounts(path)["benevole"].digest == accounts.DIGEST_ALERTS
    entry = audit_of(conf).audit_log(event=audit.DIGEST_SUBSCRIPTION)[0]
    assert entry["username"] == "benevole" and entry["details"]["digest"] == "alerts"
    assert "alertes" in audit.describe(entry["event"], entry["details"])
    # other changes to the account keep its subscription
    accounts.set_password(path, "benevole", "un autre mot de passe", rounds=4)
    accounts.set_role(path, "benevole", accounts.COORDINATOR)
    assert accounts.read_accounts(path)["benevole"].digest == accounts.DIGEST_ALERTS
    # no address, no subscription
    accounts.add_account(path, "sansmail", PASSWORD, accounts.VOLUNTEER, rounds=4)
    args[4] = "sansmail"
    assert cli.main(args) == 1
    assert "adresse e-mail" in capsys.readouterr().err
    assert accounts.read_accounts(path)["sansmail"].digest == accounts.DIGEST_OFF
