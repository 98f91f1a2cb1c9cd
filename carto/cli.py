"""The command line: ``python -m carto COMMAND`` (DESIGN §6)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

import pandas as pd

from carto import base_setup, dataset
from carto import sync as syncing
from carto.airtable_client import AirtableError
from carto.i18n import format_date, format_int, t
from carto.settings import ConfigError, load_settings, render_example_config


def _cmd_demo(args: argparse.Namespace) -> int:
    settings = load_settings(args.config).with_values(general__demo=True)
    today = pd.Timestamp.now(tz=settings["general.timezone"]).date()
    key = dataset.demo_key(settings, today)
    seed, days = int(settings["demo.seed"]), int(settings["demo.days"])
    base = dataset.generate_demo(settings, today)
    store = dataset.SnapshotStore(settings.store_path)
    dataset.write_demo_snapshot(store, base, key)
    print(
        t(
            "cli.demo.done",
            path=store.path,
            sites=len(base.sites),
            passages=len(base.passages),
            seed=seed,
            days=days,
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
        print(
            t("cli.check.quarantined", table=table, record=row.record_id, reason=row.reason) + link
        )
    flagged = ds.passages[ds.passages["flags"].map(len) > 0]
    for rec, flags in zip(flagged["record_id"], flagged["flags"], strict=True):
        print(
            t("cli.check.flagged", table=t("table.passages"), record=rec, reason="; ".join(flags))
        )
    total = len(ds.passages) + len(ds.sites) + len(q)
    used = len(ds.passages) + len(ds.sites)
    print(t("cli.check.summary", total=total, used=used, flagged=len(flagged), quarantined=len(q)))
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
            "cli.sync.progress", table=t(f"table.{table}"), pages=pages, records=format_int(records)
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


def _cmd_sync(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    progress = ProgressLine(sys.stderr)
    try:
        result = syncing.sync(settings, full=args.full, force=args.force, progress=progress)
    except AirtableError as exc:
        progress.close()
        print(t("cli.sync.failed", error=exc), file=sys.stderr)
        return 1
    progress.close()
    store = dataset.SnapshotStore(settings.store_path)
    totals = {
        "fetched": format_int(result.fetched),
        "changed": format_int(result.changed),
        "deleted": format_int(result.deleted),
    }
    print(t(f"cli.sync.done.{result.mode}", **totals))
    for key, stats in result.tables.items():
        print(
            t(
                "cli.sync.table",
                table=t(f"table.{key}"),
                fetched=format_int(stats.fetched),
                changed=format_int(stats.changed),
                deleted=format_int(stats.deleted),
            )
        )
    if result.reconciled and not result.full:
        print(t("cli.sync.reconciled"))
    quarantined = syncing.count_quarantined(settings, store)
    print(t("cli.sync.quarantined", quarantined=format_int(quarantined)))
    budget = syncing.budget_status(settings, store)
    seconds = f"{result.duration_seconds:.1f}".replace(".", ",")
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
    syncing.count_api_calls(settings, dataset.SnapshotStore(settings.store_path), report.api_calls)
    for name, fields in report.created.items():
        print(t("cli.init.created", table=name, fields=fields))
    for name in report.existing:
        print(t("cli.init.exists", table=name))
    for problem in report.problems:
        print(t("cli.init.problem", problem=problem))
    if report.problems:
        print(t("cli.init.problems", count=len(report.problems)))
    else:
        print(t("cli.init.ok", base=settings["airtable.base_id"]))
    print(t("cli.init.calls", calls=report.api_calls))
    return 1 if report.problems else 0


def _cmd_config_example(args: argparse.Namespace) -> int:
    sys.stdout.write(render_example_config())
    return 0


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
    sync_parser.set_defaults(func=_cmd_sync)
    sub.add_parser(
        "init-base", help="create the Sites and Passages tables in an empty Airtable base"
    ).set_defaults(func=_cmd_init_base)
    sub.add_parser(
        "config-example", help="print config.example.toml (every setting, default, help)"
    ).set_defaults(func=_cmd_config_example)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; configuration errors end with a message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(t("cli.config_error", error=exc), file=sys.stderr)
        return 2
