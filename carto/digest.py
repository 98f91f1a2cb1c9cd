"""The morning digest and the protection alerts by e-mail (issue 18).

Each account chooses a subscription, stored with the accounts (``Account.digest``):

- ``daily``: ``python -m carto digest`` (run by cron before the evening round) sends the
  digest: protection alerts, camps nobody visited for ``[analysis] coverage_gap_days``,
  evacuations of the last 24 hours with their outcome, the data-quality count (roles
  that open the Qualité page) and the freshness of the data; each line links to the
  page, with its filters, that shows it;
- ``alerts``: after a sync that changed the snapshot (``after_sync``, called by
  ``carto.sync``), a mail for the protection alerts that appeared since, at most once
  per camp and day;
- ``off`` (the default): nothing.

E-mail is less safe than the app, so the content is built from the role's dataset
(``privacy.for_role``) and every figure goes through the role's policy, like a page:
no position at all (for any role), no comment, no team; a partner gets pseudonyms
("Campement KQW — 75019": nothing below the arrondissement) and "<5" for small counts.

The audit log is the state: every send is audited (``DIGEST_SENT`` with the kind and,
for alerts, the camps; ``DIGEST_FAILED`` with the error). An alert camp already sent
today is not sent again; a daily digest already sent today is not sent again; a
failed send is retried at the next run because no success was recorded.

Rounds planned for tonight (``carto.rounds``, kept in the app's store) are one section:
each association's plan with its camps as the role names them; no team name, like the
rest of a digest.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd

from carto import accounts, audit, filters, mail, privacy, rounds
from carto import sync as syncing
from carto.accounts import Account
from carto.analytics import alerts, camps, coverage, events, quality
from carto.dataset import Dataset, build_dataset
from carto.export import jinja
from carto.i18n import format_date, format_datetime, t, t_n
from carto.options import AirtableTables, AnalysisOptions
from carto.settings import Settings
from carto.store import AuthStore, SnapshotStore
from carto.text import plain_line

log = logging.getLogger(__name__)

DAILY, ALERT = "daily", "alert"  # kinds of mail (the audit's ``kind`` detail)
MAX_LINES = 10  # lines per section; the rest is one line linking to the page
EVACUATION_HOURS = 24


def may_open(role: str, page: str) -> bool:
    """Whether ``role`` opens ``pages/<page>.py``: the roles table, ``privacy.ACCESS``."""
    return role in privacy.roles_for_page(page)


# ------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Line:
    """One line of a mail: a French text and the address of the page that shows it."""

    text: str
    link: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]
    empty: str = ""  # said when there is no line


@dataclass(frozen=True)
class Mail:
    """One message, as its plain-text and HTML parts say it."""

    subject: str
    intro: str
    sections: tuple[Section, ...]
    footer: str

    def text(self) -> str:
        out = [self.intro, ""]
        for section in self.sections:
            out.append(section.title)
            out.append("-" * len(section.title))
            if not section.lines:
                out.append(section.empty)
            for line in section.lines:
                out.append(f"- {line.text}")
                if line.link:
                    out.append(f"  {line.link}")
            out.append("")
        out += ["--", self.footer]
        return "\n".join(out) + "\n"

    def html(self) -> str:
        """The HTML part (``carto/export/templates/digest.html.j2``): every text escaped
        by autoescape (record text may hold markup)."""
        return jinja.environment().get_template("digest.html.j2").render(mail=self)


@dataclass(frozen=True)
class Options:
    """The settings a digest reads, once: the analysis options pages use, the record
    tables, and the app's public address for links."""

    base_url: str
    analysis: AnalysisOptions
    tables: AirtableTables

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        return cls(
            base_url=settings["app.base_url"],
            analysis=AnalysisOptions.from_settings(settings),
            tables=AirtableTables.from_settings(settings),
        )


@dataclass
class Context:
    """What every mail of one run builds on: the snapshot's dataset at ``now``."""

    settings: Settings
    options: Options
    store: SnapshotStore
    dataset: Dataset
    now: pd.Timestamp  # aware, in the app's time zone
    synced_at: dt.datetime | None
    audit_log: AuthStore  # sends and failures: the digest's only state
    _roles: dict[str, tuple[Dataset, privacy.Policy]] = field(default_factory=dict)

    def for_role(self, role: str) -> tuple[Dataset, privacy.Policy]:
        """The role's dataset and policy, as a page of that role gets them."""
        if role not in self._roles:
            policy = privacy.policy_for(role, self.settings)
            self._roles[role] = (privacy.apply(self.dataset, policy), policy)
        return self._roles[role]


def load_context(
    settings: Settings, store: SnapshotStore, now: dt.datetime | None = None
) -> Context:
    options = Options.from_settings(settings)
    tz = options.analysis.timezone
    moment = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz=tz)
    moment = moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)
    ds = build_dataset(settings, store, now=moment)
    return Context(
        settings, options, store, ds, moment, syncing.last_synced_at(store), AuthStore(store.db)
    )


def link(
    options: Options, page: str, params: Mapping[str, Iterable[str] | str] | None = None
) -> str:
    """The address of a page of the app with its filters (URL codes of carto/filters.py)."""
    base = options.base_url.rstrip("/")
    query = urlencode({k: v for k, v in dict(params or {}).items() if v}, doseq=True)
    return f"{base}/{page}" + (f"?{query}" if query else "")


def _place_params(arrondissement: object) -> dict[str, list[str]]:
    options = filters.url_options()[filters.PARAM_ARRONDISSEMENTS]
    place = [str(arrondissement)] if isinstance(arrondissement, str) and arrondissement else []
    return {filters.PARAM_ARRONDISSEMENTS: options.encode(place)}


def _camp(row: Mapping[Any, Any], policy: privacy.Policy) -> str:
    """A camp as the role may name it: a partner's pseudonym already carries the
    arrondissement ("Campement KQW — 75019"); others see the name and the place."""
    # record text (a form's "Localisation" may name a camp): on one line, no link
    name = plain_line(row.get("name") or t("camp.unnamed"))
    place = row.get("arrondissement")
    if not policy.free_text or not isinstance(place, str) or not place:
        return name
    return t("digest.camp", name=name, place=plain_line(place))


def _count(frame: pd.DataFrame, column: str, policy: privacy.Policy) -> list[str]:
    return privacy.count_labels(frame, column, policy).tolist()


def alerts_of(ctx: Context, role: str) -> pd.DataFrame:
    """Protection alerts at ``ctx.now`` as the role sees them (counts protected)."""
    ds, policy = ctx.for_role(role)
    hours = ctx.options.analysis.alert_hours
    found = alerts.protection_alerts(ds.passages, ds.sites, ctx.now, hours)
    return privacy.protect_frame(found, policy)


def _alert_lines(ctx: Context, role: str, found: pd.DataFrame) -> list[Line]:
    _, policy = ctx.for_role(role)
    page = "coordination" if may_open(role, "coordination") else "carte"
    minors, families = (
        _count(found, "unaccompanied_minors", policy),
        _count(found, "families", policy),
    )
    lines = []
    for i, row in enumerate(found.to_dict("records")):
        reasons = [
            t(f"digest.alert.{code}", n=minors[i] if code == alerts.REASON_MINORS else families[i])
            for code in row["reasons"]
        ]
        publics = ["mna" if c == alerts.REASON_MINORS else "familles" for c in row["reasons"]]
        params = {
            filters.PARAM_PERIOD: "7j",
            filters.PARAM_PUBLICS: publics,
            **_place_params(row["arrondissement"]),
        }
        text = t(
            "digest.alert.line",
            camp=_camp(row, policy),
            reasons=", ".join(reasons),
            when=format_datetime(pd.Timestamp(row["last_report"]).to_pydatetime()),
        )
        lines.append(Line(text, link(ctx.options, page, params)))
    return lines


def _gap_lines(ctx: Context, role: str) -> list[Line]:
    ds, policy = ctx.for_role(role)
    gap_days = ctx.options.analysis.coverage_gap_days
    states = camps.camp_states(ds.passages, ds.sites, ctx.now, ctx.options.analysis.active_days)
    gaps = coverage.coverage_gaps(states, gap_days)
    page = "coordination" if may_open(role, "coordination") else "carte"
    lines = []
    for row in gaps.to_dict("records"):
        params = {
            filters.PARAM_STATUSES: [filters.STATUS_CODES[filters.ACTIVE]],
            filters.PARAM_GAP: str(gap_days),
            **_place_params(row["arrondissement"]),
        }
        text = t(
            "digest.gap.line",
            camp=_camp(row, policy),
            days=t_n("count.days", int(row["days_since_visit"])),
            last=format_date(pd.Timestamp(row["last_visit"]).date()),
        )
        lines.append(Line(text, link(ctx.options, page, params)))
    return lines


def _evacuation_lines(ctx: Context, role: str) -> list[Line]:
    ds, policy = ctx.for_role(role)
    opts = ctx.options.analysis
    window, merge = opts.population_window_days, opts.evacuation_merge_days
    found = events.evacuation_events(ds.passages, ds.sites, window, merge)
    since = ctx.now - pd.Timedelta(hours=EVACUATION_HOURS)
    recent = found[(found["first_report"] >= since) & (found["first_report"] <= ctx.now)]
    recent = privacy.protect_frame(recent.reset_index(drop=True), policy)
    people = _count(recent, "people", policy)
    lines = []
    for i, row in enumerate(recent.to_dict("records")):
        shelter = row["shelter"] if isinstance(row["shelter"], str) else "unknown"
        text = t(
            "digest.evacuation.line",
            camp=_camp(row, policy),
            day=format_date(pd.Timestamp(row["date"]).date()),
            people=people[i],
            outcome=t(f"event.shelter.{shelter}"),
        )
        params = {filters.PARAM_PERIOD: "24h", **_place_params(row["arrondissement"])}
        lines.append(Line(text, link(ctx.options, "tableau_de_bord", params)))
    return lines


def _quality_line(ctx: Context, role: str) -> Line:
    ds, _ = ctx.for_role(role)
    issues = quality.issue_list(ds.passages, ds.sites, ds.quarantine, "", ctx.options.tables.names)
    return Line(t_n("digest.quality.line", len(issues)), link(ctx.options, "qualite"))


def _freshness(ctx: Context) -> str:
    if ctx.synced_at is None:
        if ctx.dataset.is_demo:
            return t("digest.freshness.demo", day=format_date(ctx.dataset.today))
        return t("digest.freshness.never")
    when = ctx.synced_at.astimezone(ZoneInfo(ctx.options.analysis.timezone))
    return t("digest.freshness.line", when=format_datetime(when))


def _capped(lines: list[Line], more_link: str) -> tuple[Line, ...]:
    if len(lines) <= MAX_LINES:
        return tuple(lines)
    rest = len(lines) - MAX_LINES
    return (*lines[:MAX_LINES], Line(t_n("digest.more", rest), more_link))


def _footer(account: Account, kind: str, ctx: Context) -> str:
    if account.digest == accounts.DIGEST_OFF:  # sent on request (``digest --to``)
        return t(
            "digest.footer_requested",
            username=account.username,
            kind=t(f"digest.kind.{kind}"),
            link=link(ctx.options, "mon_compte"),
        )
    return t(
        "digest.footer",
        username=account.username,
        subscription=t(f"account.digest.{account.digest}"),
        kind=t(f"digest.kind.{kind}"),
        link=link(ctx.options, "mon_compte"),
    )


def _plan_lines(ctx: Context, role: str) -> list[Line]:
    """Rounds planned for this evening (the digest's day), as the role may see them."""
    plans = rounds.plans_for_evening(ctx.audit_log, ctx.now.date())
    if not plans:
        return []
    ds, policy = ctx.for_role(role)
    states = camps.camp_states(ds.passages, ds.sites, ctx.now, ctx.options.analysis.active_days)
    names = {str(row["camp_id"]): _camp(row, policy) for row in states.to_dict("records")}
    lines = []
    for plan in plans:
        planned = [names.get(camp, t("camp.unnamed")) for camp in plan.camp_ids]
        text = t(
            "digest.plan.line",
            association=plan.association,
            camps=t_n("count.camps", len(planned)),
            names=", ".join(planned),
        )
        lines.append(Line(text))
    return lines


def daily_mail(ctx: Context, account: Account) -> Mail:
    """The morning digest of an account, as its role may see it."""
    role = account.role
    page = "coordination" if may_open(role, "coordination") else "carte"
    hours, gap_days = ctx.options.analysis.alert_hours, ctx.options.analysis.coverage_gap_days
    sections = [
        Section(
            t_n("digest.section.alerts", hours),
            _capped(_alert_lines(ctx, role, alerts_of(ctx, role)), link(ctx.options, page)),
            t_n("digest.none.alerts", hours),
        ),
        Section(
            t_n("digest.section.gaps", gap_days),
            _capped(_gap_lines(ctx, role), link(ctx.options, page)),
            t_n("digest.none.gaps", gap_days),
        ),
        Section(
            t("digest.section.evacuations"),
            _capped(_evacuation_lines(ctx, role), link(ctx.options, "tableau_de_bord")),
            t("digest.none.evacuations"),
        ),
        Section(
            t("digest.section.plans"),
            _capped(_plan_lines(ctx, role), link(ctx.options, page)),
            t("digest.none.plans"),
        ),
    ]
    if may_open(role, "qualite"):
        sections.append(Section(t("digest.section.quality"), (_quality_line(ctx, role),)))
    sections.append(Section(t("digest.section.freshness"), (Line(_freshness(ctx)),)))
    day = format_date(ctx.now.date())
    return Mail(
        subject=t("digest.subject.daily", day=day),
        intro=t("digest.intro.daily", name=account.label, day=day),
        sections=tuple(sections),
        footer=_footer(account, DAILY, ctx),
    )


def alert_mail(ctx: Context, account: Account, found: pd.DataFrame) -> Mail:
    """A mail for new protection alerts (``found``: rows of ``alerts_of``)."""
    _, policy = ctx.for_role(account.role)
    hours = ctx.options.analysis.alert_hours
    n = privacy.count(len(found), policy).label
    return Mail(
        subject=t_n("digest.subject.alert", n),
        intro=t("digest.intro.alert", name=account.label, hours=t_n("alert.hours", hours)),
        sections=(
            Section(
                t_n("digest.section.alerts", hours), tuple(_alert_lines(ctx, account.role, found))
            ),
            Section(t("digest.section.freshness"), (Line(_freshness(ctx)),)),
        ),
        footer=_footer(account, ALERT, ctx),
    )


# -------------------------------------------------------------------- audit as state


def _local_day(ctx: Context) -> dt.date:
    return ctx.now.date()


def _today(ctx: Context, event: str, username: str, kind: str) -> list[dict[str, object]]:
    """Today's audit entries (local day) of one event, account and kind."""
    tz = ZoneInfo(ctx.options.analysis.timezone)
    day = _local_day(ctx)
    return [
        entry
        for entry in ctx.audit_log.audit_log(limit=1000, event=event, username=username)
        if entry["at"].astimezone(tz).date() == day and entry["details"].get("kind") == kind
    ]


def alerted_today(ctx: Context, username: str) -> set[str]:
    """Camps whose alert was sent to the account today."""
    sent: set[str] = set()
    for entry in _today(ctx, audit.DIGEST_SENT, username, ALERT):
        sent.update(str(c) for c in entry["details"].get("camps") or [])  # type: ignore[attr-defined]
    return sent


def daily_sent_today(ctx: Context, username: str) -> bool:
    return bool(_today(ctx, audit.DIGEST_SENT, username, DAILY))


def daily_failed_today(ctx: Context, username: str) -> bool:
    return bool(_today(ctx, audit.DIGEST_FAILED, username, DAILY))


# ------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Outcome:
    """What happened for one account: ``sent``, ``failed``, ``skipped`` (no address),
    ``dry_run`` (shown, not sent) or ``nothing`` (no new alert)."""

    username: str
    kind: str
    status: str
    detail: str = ""
    mail: Mail | None = None


@dataclass
class Run:
    """One sending run: the context, the server (None in a dry run) and the outcomes."""

    ctx: Context
    config: mail.MailConfig | None
    dry_run: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def deliver(self, account: Account, kind: str, message: Mail, camps: list[str]) -> Outcome:
        """Send one mail and audit it (success or failure); a dry run only records it."""
        details: dict[str, object] = {"kind": kind}
        if camps:
            details["camps"] = camps
        if self.dry_run:
            return self._add(Outcome(account.username, kind, "dry_run", account.email, message))
        if not account.email:
            reason = t("digest.skipped.no_email", username=account.username)
            log.info("digest for %s skipped: no e-mail address", account.username)
            self._audit(audit.DIGEST_SKIPPED, account.username, details)
            return self._add(Outcome(account.username, kind, "skipped", reason, message))
        assert self.config is not None
        try:
            # checked and built here: an address written in the accounts file by hand (a
            # line break, a comma: two recipients) must not stop the other accounts' mails
            to = accounts.check_email(account.email)
            built = mail.build_message(
                self.config.sender, to, message.subject, message.text(), message.html()
            )
        except ValueError as exc:  # AccountError included
            reason = t("digest.failed.bad_email", username=account.username)
            log.warning("digest for %s not built: bad e-mail address (%s)", account.username, exc)
            self._audit(audit.DIGEST_FAILED, account.username, {**details, "error": reason})
            return self._add(Outcome(account.username, kind, "failed", reason, message))
        try:
            mail.send(self.config, built)
        except mail.MailError as exc:
            log.warning("digest for %s not sent: %s", account.username, exc)
            self._audit(audit.DIGEST_FAILED, account.username, {**details, "error": str(exc)})
            return self._add(Outcome(account.username, kind, "failed", str(exc), message))
        self._audit(audit.DIGEST_SENT, account.username, details)
        return self._add(Outcome(account.username, kind, "sent", account.email, message))

    def _audit(self, event: str, username: str, details: dict[str, object]) -> None:
        """An audit entry at the run's moment (the clock the once-a-day rule reads)."""
        self.ctx.audit_log.log_event(event, username, details, at=self.ctx.now.to_pydatetime())

    def _add(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    def daily(self, account: Account) -> Outcome:
        return self.deliver(account, DAILY, daily_mail(self.ctx, account), [])

    def alerts(self, account: Account) -> Outcome:
        """A mail for the alert camps not sent to the account today, if any."""
        found = alerts_of(self.ctx, account.role)
        sent = alerted_today(self.ctx, account.username)
        new = found[~found["camp_id"].isin(sorted(sent))].reset_index(drop=True)
        if new.empty:
            return self._add(Outcome(account.username, ALERT, "nothing"))
        camps = [str(c) for c in new["camp_id"]]
        return self.deliver(account, ALERT, alert_mail(self.ctx, account, new), camps)


def subscribers(settings: Settings) -> dict[str, Account]:
    """The accounts of the accounts file (none when there is no file). Demo mode's
    built-in accounts have no address and subscribe to nothing."""
    path: Path = accounts.accounts_path(settings)
    return accounts.read_accounts(path) if path.exists() else {}


def run(
    settings: Settings,
    store: SnapshotStore,
    *,
    dry_run: bool = False,
    to: str | None = None,
    now: dt.datetime | None = None,
) -> list[Outcome]:
    """``python -m carto digest``: each ``daily`` subscriber not yet served today gets
    its digest, each ``alerts`` subscriber the alerts not sent today. ``to``: only that
    account's digest, now, whatever its subscription (AccountError when unknown).
    ``dry_run``: build everything, send and audit nothing. ConfigError when the mail
    server is not configured (not needed for a dry run)."""
    known = subscribers(settings)
    if to is not None:
        name = accounts.normalise_username(to)
        if name not in known:
            raise accounts.AccountError(t("accounts.error.unknown", username=to))
        targets = [(known[name], DAILY)]
    else:
        targets = [(a, DAILY) for a in known.values() if a.digest == accounts.DIGEST_DAILY]
        targets += [(a, ALERT) for a in known.values() if a.digest == accounts.DIGEST_ALERTS]
    config = None if dry_run or not targets else mail.MailConfig.from_settings(settings)
    sending = Run(load_context(settings, store, now), config, dry_run)
    for account, kind in sorted(targets, key=lambda x: (x[0].username, x[1])):
        if kind == ALERT:
            sending.alerts(account)
        elif to is not None or dry_run or not daily_sent_today(sending.ctx, account.username):
            sending.daily(account)
    return sending.outcomes


def after_sync(settings: Settings, store: SnapshotStore, now: dt.datetime | None = None) -> None:
    """Called after a sync that changed the snapshot: new protection alerts to the
    ``alerts`` subscribers, and daily digests that failed today sent again. Never
    raises: a failure is logged and audited, and the sync goes on."""
    try:
        known = subscribers(settings)
        wanted = [a for a in known.values() if a.digest != accounts.DIGEST_OFF]
        if not wanted:
            return
        sending = Run(load_context(settings, store, now), mail.MailConfig.from_settings(settings))
        for account in sorted(wanted, key=lambda a: a.username):
            if account.digest == accounts.DIGEST_ALERTS:
                sending.alerts(account)
            elif daily_failed_today(sending.ctx, account.username) and not daily_sent_today(
                sending.ctx, account.username
            ):
                sending.daily(account)
    except Exception as exc:  # the sync must not fail because of the mail
        log.exception("e-mail alerts after the sync failed")
        try:
            AuthStore(store.db).log_event(
                audit.DIGEST_FAILED, "", {"kind": ALERT, "error": str(exc)}
            )
        except Exception:
            log.exception("could not audit the failed e-mail alerts")
