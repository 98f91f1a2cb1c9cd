"""The command line: ``python -m carto COMMAND`` (docs/architecture.md §6)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from carto import accounts, audit, base_setup, dataset, digest, normalise, worker
from carto import sync as syncing
from carto.airtable_client import AirtableError
from carto.export import command as export_command
from carto.i18n import format_date, format_decimal, format_int, t, t_n
from carto.options import DemoOptions
from carto.settings import ConfigError, load_settings, render_example_config
from carto.store import AuthStore


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = load_settings(args.config).with_values(general__demo=True)
    today = pd.Timestamp.now(tz=settings["general.timezone"]).date()
    key = dataset.demo_key(settings, today)
    demo_opts = DemoOptions.from_settings(settings)
    seed, days = demo_opts.seed, demo_opts.days
    store = dataset.SnapshotStore(settings.store_location)
    base = dataset.write_demo_snapshot(store, dataset.generate_demo(settings, today), key)
    print(
        t(
            "cli.demo.done",
            path=store.location,
            sites=t_n("cli.count.sites", len(base.sites)),
            passages=t_n("count.passages", len(base.passages)),
            seed=seed,
            days=t_n("count.days", days),
            today=format_date(today),
        )
    )
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    store = dataset.open_store(settings)
    ds = dataset.build_dataset(settings, store)
    q = ds.quarantine
    for row in q.itertuples(index=False):
        link = f"  {row.airtable_url}" if isinstance(row.airtable_url, str) else ""
        table = t(f"table.{row.table}")
        reason = normalise.describe(row.reason_codes, row.reason_params)  # type: ignore[arg-type]
        print(t("cli.check.quarantined", table=table, record=row.record_id, reason=reason) + link)
    flagged = ds.passages[ds.passages["flag_codes"].map(len) > 0]
    for rec, codes, params in zip(
        flagged["record_id"], flagged["flag_codes"], flagged["flag_params"], strict=True
    ):
        reason = normalise.describe(codes, params)
        print(t("cli.check.flagged", table=t("table.passages"), record=rec, reason=reason))
    total = len(ds.passages) + len(ds.sites) + len(q)
    used = len(ds.passages) + len(ds.sites)
    print(
        t(
            "cli.check.summary",
            total=t_n("cli.count.records", total),
            used=t_n("cli.count.used", used),
            flagged=t_n("cli.count.flagged", len(flagged)),
            quarantined=t_n("cli.count.quarantined", len(q)),
        )
    )
    return 0


class ProgressLine:
    """Pages received, on stderr: one line rewritten in place on a terminal, else a
    line every ``every`` pages (logs stay short)."""

    def __init__(self, stream: TextIO, every: int = 10) -> None:
        self.stream = stream
        self.every = every
        self.tty = stream.isatty()
        self.pending = False

    def __call__(self, table: str, pages: int, records: int) -> None:
        text = t(
            "cli.sync.progress",
            table=t(f"table.{table}"),
            pages=t_n("cli.count.pages", pages),
            records=t_n("cli.count.records_received", records),
        )
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
            self.pending = True
        elif pages % self.every == 0:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.pending:
            self.stream.write("\n")
            self.stream.flush()
            self.pending = False


def _cmd_watch(args: argparse.Namespace) -> int:
    if args.full or args.force:
        print(t("cli.watch.bad_options"), file=sys.stderr)
        return 2
    if args.every is not None and args.every <= 0:
        print(t("cli.watch.bad_every"), file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    if settings.demo:
        print(t("cli.sync.failed", error=t("sync.error.demo")), file=sys.stderr)
        return 1
    watcher = worker.Worker(settings, sys.stdout, every=args.every)
    watcher.install_signal_handlers()
    return watcher.run()


def _cmd_sync(args: argparse.Namespace) -> int:
    if args.watch:
        return _cmd_watch(args)
    if args.every is not None:
        print(t("cli.watch.every_alone"), file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    progress = ProgressLine(sys.stderr)
    try:
        result = syncing.sync(settings, full=args.full, force=args.force, progress=progress)
    except AirtableError as exc:
        progress.close()
        print(t("cli.sync.failed", error=exc), file=sys.stderr)
        return 1
    progress.close()
    store = dataset.SnapshotStore(settings.store_location)
    syncing.after_changes(settings, store, result)
    totals = {
        "fetched": t_n("cli.count.records_received", result.fetched),
        "changed": t_n("cli.count.changed", result.changed),
        "deleted": t_n("cli.count.deleted", result.deleted),
    }
    print(t(f"cli.sync.done.{result.mode}", **totals))
    for key, stats in result.tables.items():
        print(
            t(
                "cli.sync.table",
                table=t(f"table.{key}"),
                fetched=t_n("cli.count.received", stats.fetched),
                changed=t_n("cli.count.changed", stats.changed),
                deleted=t_n("cli.count.deleted", stats.deleted),
            )
        )
    if result.reconciled and not result.full:
        print(t("cli.sync.reconciled"))
    quarantined = syncing.count_quarantined(settings, store)
    print(t("cli.sync.quarantined", quarantined=t_n("cli.count.records", quarantined)))
    budget = syncing.budget_status(settings, store)
    seconds = format_decimal(result.duration_seconds)
    calls = {"calls": format_int(result.api_calls), "seconds": seconds}
    if budget.budget > 0:
        used, total = format_int(budget.used), format_int(budget.budget)
        print(t("cli.sync.calls", **calls, used=used, budget=total))
    else:
        print(t("cli.sync.calls_unlimited", **calls, used=format_int(budget.used)))
    return 0


def _cmd_init_base(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if settings.demo:
        print(t("cli.init.failed", error=t("sync.error.demo")), file=sys.stderr)
        return 1
    try:
        report = base_setup.init_base(settings)
    except AirtableError as exc:
        print(t("cli.init.failed", error=exc), file=sys.stderr)
        return 1
    syncing.count_api_calls(
        settings, dataset.SnapshotStore(settings.store_location), report.api_calls
    )
    for name, fields in report.created.items():
        print(t("cli.init.created", table=name, fields=t_n("cli.count.fields", fields)))
    for name in report.existing:
        print(t("cli.init.exists", table=name))
    for problem in report.problems:
        print(t("cli.init.problem", problem=problem))
    if report.problems:
        print(t_n("cli.init.problems", len(report.problems)))
    else:
        print(t("cli.init.ok", base=settings["airtable.base_id"]))
    print(t("cli.init.calls", calls=report.api_calls))
    return 1 if report.problems else 0


def _cmd_config_example(args: argparse.Namespace) -> int:
    sys.stdout.write(render_example_config())
    return 0


# ------------------------------------------------------------------- users (issue 6)


def _users_context(args: argparse.Namespace) -> tuple[Path, AuthStore]:
    settings = load_settings(args.config)
    if settings.demo:
        print(t("cli.users.demo_note"), file=sys.stderr)
    return accounts.accounts_path(settings), AuthStore(settings.store_location)


def _read_password(args: argparse.Namespace, username: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(t("cli.users.prompt", username=username))
    if getpass.getpass(t("cli.users.prompt_again")) != first:
        raise accounts.AccountError(t("cli.users.mismatch"))
    return first


def _cmd_users(args: argparse.Namespace) -> int:
    path, store = _users_context(args)
    actor = audit.cli_actor()
    try:
        if args.action == "list":
            known = accounts.read_accounts(path) if path.exists() else {}
            if not known:
                print(t("cli.users.none", path=path))
            for account in sorted(known.values(), key=lambda a: a.username):
                state = store.login_state(account.username)
                lock = ""
                if state.locked() and state.locked_until is not None:
                    until = state.locked_until.astimezone().strftime("%d/%m/%Y %H:%M")
                    lock = t("cli.users.locked", until=until)
                line = t(
                    "cli.users.line",
                    username=account.username,
                    role=account.role,
                    name=account.name,
                    lock=lock,
                )
                print(line.rstrip())
            return 0
        username = accounts.normalise_username(args.username)
        if args.action == "add":
            accounts.check_username(username)
            role = accounts.check_role(args.role)
            password = _read_password(args, username)
            account = accounts.create(
                path, store, actor, username, password, role, args.name, args.email
            )
            print(t("cli.users.added", username=account.username, role=role, path=path))
        elif args.action == "remove":
            account = accounts.delete(path, store, actor, username)
            print(t("cli.users.removed", username=account.username))
        elif args.action == "passwd":
            if username not in (accounts.read_accounts(path) if path.exists() else {}):
                raise accounts.AccountError(t("accounts.error.unknown", username=username))
            password = _read_password(args, username)
            account = accounts.reset_password(path, store, actor, username, password)
            print(t("cli.users.password_set", username=account.username))
        elif args.action == "subscribe":
            account = accounts.subscribe(path, store, actor, username, args.digest)
            choice = t(f"account.digest.{account.digest}")
            print(t("cli.users.subscribed", username=account.username, digest=choice))
        else:  # unlock
            cleared = accounts.unlock(store, actor, username)
            key = "cli.users.unlocked" if cleared else "cli.users.not_locked"
            print(t(key, username=username))
    except accounts.AccountError as exc:
        print(t("cli.users.error", error=exc), file=sys.stderr)
        return 1
    return 0


def _add_users_parser(sub: Any) -> None:
    users = sub.add_parser("users", help="accounts and roles (file: [auth] accounts_path)")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account (password asked twice)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=accounts.ROLES)
    add.add_argument("--name", default="", help="name shown in the app")
    add.add_argument("--email", default="")
    actions.add_parser("list", help="accounts, roles and locks")
    remove = actions.add_parser("remove", help="delete an account and end its sessions")
    remove.add_argument("username")
    passwd = actions.add_parser("passwd", help="set a new password and end its sessions")
    passwd.add_argument("username")
    unlock = actions.add_parser("unlock", help="lift a lock after failed sign-ins")
    unlock.add_argument("username")
    subscribe = actions.add_parser(
        "subscribe", help="e-mail digest each morning, protection alerts at the sync, or none"
    )
    subscribe.add_argument("username")
    subscribe.add_argument("--digest", required=True, choices=accounts.DIGEST_CHOICES)
    for parser in (add, passwd):
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
    users.set_defaults(func=_cmd_users)


# --------------------------------------------------------------- digest (issue 18)


def _cmd_digest(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    store = dataset.open_store(settings)
    try:
        outcomes = digest.run(settings, store, dry_run=args.dry_run, to=args.to)
    except accounts.AccountError as exc:
        print(t("cli.users.error", error=exc), file=sys.stderr)
        return 1
    if not outcomes:
        print(t("cli.digest.none"))
    for o in outcomes:
        kind = t(f"digest.kind.{o.kind}")
        if o.status == "dry_run" and o.mail is not None:
            subject = o.mail.subject
            print(
                t(
                    "cli.digest.dry_run",
                    username=o.username,
                    detail=o.detail,
                    kind=kind,
                    subject=subject,
                )
            )
            print(o.mail.text())
            continue
        stream = sys.stderr if o.status == "failed" else sys.stdout
        print(
            t(f"cli.digest.{o.status}", username=o.username, kind=kind, detail=o.detail),
            file=stream,
        )
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _add_digest_parser(sub: Any) -> None:
    parser = sub.add_parser("digest", help="e-mail each subscribed account its digest or alerts")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send and audit nothing"
    )
    parser.add_argument(
        "--to", metavar="USER", help="only this account's digest, now, whatever its subscription"
    )
    parser.set_defaults(func=_cmd_digest)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m carto``."""
    parser = argparse.ArgumentParser(prog="python -m carto", description="CartoCampement")
    parser.add_argument(
        "--config", help="config file (default: $CARTO_CONFIG, else config.toml, else demo)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="rebuild the embedded demo snapshot").set_defaults(func=_cmd_demo)
    sub.add_parser("check", help="data-quality report").set_defaults(func=_cmd_check)
    sync_parser = sub.add_parser("sync", help="Airtable -> local snapshot (incremental)")
    sync_parser.add_argument(
        "--full", action="store_true", help="list every record and remove deleted ones"
    )
    sync_parser.add_argument(
        "--force", action="store_true", help="sync even when the monthly call budget is spent"
    )
    sync_parser.add_argument(
        "--watch",
        action="store_true",
        help="keep running: refresh every --every seconds, reconcile daily, one line per "
        "cycle, stop on SIGTERM (the sync worker)",
    )
    sync_parser.add_argument(
        "--every",
        type=float,
        help="with --watch: seconds between refreshes (default: [sync] refresh_interval_seconds)",
    )
    sync_parser.set_defaults(func=_cmd_sync)
    sub.add_parser(
        "init-base", help="create the Sites and Passages tables in an empty Airtable base"
    ).set_defaults(func=_cmd_init_base)
    sub.add_parser(
        "config-example", help="print config.example.toml (every setting, default, help)"
    ).set_defaults(func=_cmd_config_example)
    _add_users_parser(sub)
    _add_digest_parser(sub)
    export_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; configuration errors end with a message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(t("cli.config_error", error=exc), file=sys.stderr)
        return 2
