"""``python -m carto export`` (docs/architecture.md §6): one export file from the command line.

``export --dataset D --format F [--from YYYY-MM-DD] [--to YYYY-MM-DD]
[--association NAME] [--role ROLE] [--output PATH] [--force] [--excel-fr]``

Defaults: the whole history, the coordinator's view, a file named after the export in
the current folder (``--output -`` writes to standard output). ``--dataset`` may be
repeated for an XLSX workbook (one sheet each); ``--association`` may be repeated.

The file is written atomically (a temporary file in the same folder, renamed when
complete) and readable by its owner only. An existing file is kept unless ``--force`` is
given. A symbolic link at the destination is always refused, ``--force`` or not: the
export never writes through a link onto the file it points to, nor replaces the link.

Every export writes an audit entry (the system account, marked ``cli:``; ``fichier`` is
the full resolved path of the file written). Wrong arguments end with a French message
and exit status 2; a file that cannot be written (existing, a link, a folder, no such
folder), with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carto import audit, schema
from carto.accounts import COORDINATOR, ROLES
from carto.dataset import build_dataset, open_store
from carto.export import files, formats
from carto.export.contents import (
    DATASETS,
    ExportError,
    build,
    datasets_for_role,
    first_day,
    scope_for,
)
from carto.filters import Filters
from carto.i18n import format_date, t, t_n
from carto.options import AnalysisOptions
from carto.private_files import SymlinkRefused, write_private
from carto.settings import load_settings
from carto.store import AuthStore

USAGE_ERROR = 2
WRITE_ERROR = 1


class UsageError(ValueError):
    """Arguments that cannot make an export (the message, French, says why)."""


@dataclasses.dataclass(frozen=True)
class Request:
    """The export asked for, checked."""

    datasets: tuple[str, ...]
    fmt: str
    start: dt.date | None
    end: dt.date | None
    associations: tuple[str, ...]
    role: str
    output: str | None
    excel_fr: bool
    force: bool = False


def add_parser(sub: Any) -> None:
    """Declare the ``export`` subcommand on the CLI's subparsers."""
    parser = sub.add_parser(
        "export",
        help="export a dataset as csv, xlsx, geojson or kml (filtered, role-aware, audited)",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        metavar="{" + ",".join(DATASETS) + "}",
        help="dataset to export (repeat it for several sheets of one xlsx file)",
    )
    parser.add_argument(
        "--format", dest="fmt", metavar="{" + ",".join(formats.FORMATS) + "}", help="file format"
    )
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (included)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (included)")
    parser.add_argument(
        "--association", action="append", metavar="NAME", help="only this association's passages"
    )
    parser.add_argument(
        "--role",
        default=COORDINATOR,
        metavar="{" + ",".join(ROLES) + "}",
        help="whose view to export (privacy of that role); default: coordinateur",
    )
    parser.add_argument(
        "--output", metavar="PATH", help="file to write (default: derived name; - for stdout)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the output file if it exists (a symbolic link is refused even then)",
    )
    parser.add_argument(
        "--excel-fr",
        action="store_true",
        help='csv for French Excel: ";" separator, decimal comma, DD/MM/YYYY',
    )
    parser.set_defaults(func=run)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(t("cli.export.bad_date", value=value)) from None


def _association(name: str, known: Sequence[str]) -> str:
    for candidate in known:
        if candidate.casefold() == name.strip().casefold():
            return candidate
    raise UsageError(t("cli.export.unknown_association", name=name, associations=", ".join(known)))


def parse(args: argparse.Namespace) -> Request:
    """The request the arguments make, checked (UsageError otherwise)."""
    chosen = tuple(dict.fromkeys(args.dataset or ()))
    if not chosen:
        raise UsageError(t("cli.export.missing", option="--dataset", values=", ".join(DATASETS)))
    for name in chosen:
        if name not in DATASETS:
            raise UsageError(t("export.error.dataset", dataset=name, datasets=", ".join(DATASETS)))
    if not args.fmt:
        raise UsageError(
            t("cli.export.missing", option="--format", values=", ".join(formats.FORMATS))
        )
    if args.fmt not in formats.FORMATS:
        raise UsageError(
            t("export.error.format", format=args.fmt, formats=", ".join(formats.FORMATS))
        )
    if args.role not in ROLES:
        raise UsageError(t("accounts.error.role", role=args.role, roles=", ".join(ROLES)))
    if not datasets_for_role(args.role):
        raise UsageError(t("cli.export.no_role_export", role=t(f"role.{args.role}")))
    if len(chosen) > 1 and args.fmt != formats.XLSX:
        raise UsageError(t("export.error.one_dataset", format=args.fmt))
    if args.excel_fr and args.fmt != formats.CSV:
        raise UsageError(t("cli.export.csv_only"))
    start, end = _date(args.start), _date(args.end)
    if start and end and start > end:
        raise UsageError(
            t("cli.export.dates_order", start=format_date(start), end=format_date(end))
        )
    associations = tuple(
        dict.fromkeys(_association(a, schema.ASSOCIATIONS) for a in args.association or ())
    )
    return Request(
        chosen,
        args.fmt,
        start,
        end,
        associations,
        args.role,
        args.output,
        args.excel_fr,
        bool(getattr(args, "force", False)),
    )


def destination_problem(target: Path, force: bool) -> str | None:
    """Why the export cannot be written at ``target`` (French), or None."""
    if target.is_symlink():
        return t("cli.export.symlink", path=target)
    if target.is_dir():
        return t("cli.export.is_folder", path=target)
    if target.exists() and not force:
        return t("cli.export.exists", path=target)
    return None


def resolved(target: Path) -> Path:
    """The full path of ``target`` with its folder's links resolved (``target`` itself
    is never a link: those are refused)."""
    return target.parent.resolve() / target.name


def _write(data: bytes, target: Path | None, force: bool) -> str | None:
    """Write the export to ``target`` (standard output when None); why it failed
    (French), or None."""
    if target is None:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except OSError as exc:
            return t("cli.export.write_failed", path="-", error=exc.strerror or exc)
        return None
    try:
        write_private(target, data, overwrite=force)
    except SymlinkRefused:  # a link appeared after the check
        return t("cli.export.symlink", path=target)
    except FileExistsError:  # a file appeared after the check
        return t("cli.export.exists", path=target)
    except FileNotFoundError:
        return t("cli.export.no_folder", folder=target.parent)
    except PermissionError:
        return t("cli.export.not_allowed", folder=target.parent)
    except OSError as exc:
        return t("cli.export.write_failed", path=target, error=exc.strerror or exc)
    return None


def _refuse(message: str) -> int:
    print(t("cli.export.error", error=message), file=sys.stderr)
    return WRITE_ERROR


def run(args: argparse.Namespace) -> int:
    """Write the export file and its audit entries; print what was written."""
    try:
        request = parse(args)
    except UsageError as exc:
        print(t("cli.export.error", error=exc), file=sys.stderr)
        return USAGE_ERROR
    to_stdout = request.output == "-"
    if request.output and not to_stdout:
        # Checked before the export is built (fail fast), and again when writing.
        problem = destination_problem(Path(request.output), request.force)
        if problem:
            return _refuse(problem)
    settings = load_settings(args.config)
    store = open_store(settings)
    ds = build_dataset(settings, store)
    first = first_day(ds) or ds.today
    custom = None
    if request.start or request.end:
        custom = (request.start or first, request.end or ds.today)
    f = Filters(
        period="perso" if custom else "tout", custom=custom, associations=request.associations
    )
    scope = scope_for(ds, request.role, settings, f)
    try:
        tables = build(scope, AnalysisOptions.from_settings(settings), request.datasets)
        (file,) = files.plan(tables, request.fmt, scope, request.excel_fr)
    except (ExportError, formats.FormatError) as exc:
        print(t("cli.export.error", error=exc), file=sys.stderr)
        return USAGE_ERROR
    target = Path(request.output) if request.output and not to_stdout else Path(file.name)
    if not to_stdout:
        problem = destination_problem(target, request.force)
        if problem:
            return _refuse(problem)
    problem = _write(file.data(), None if to_stdout else target, request.force)
    if problem:
        return _refuse(problem)
    if not to_stdout:
        target = resolved(target)
    written = file if to_stdout else dataclasses.replace(file, name=str(target))
    files.record(AuthStore(store.db), audit.cli_actor(), written, scope)
    report = sys.stderr if to_stdout else sys.stdout
    skipped = sum(table.rows for table in tables) - file.rows
    print(
        t(
            "cli.export.done",
            path="-" if to_stdout else target,
            rows=t_n("count.lines", file.rows),
            datasets=", ".join(request.datasets),
            format=file.format_code,
            start=format_date(scope.period.start),
            end=format_date(scope.period.end),
            role=t(f"role.{request.role}"),
        ),
        file=report,
    )
    if skipped:
        print(t_n("cli.export.unlocated", skipped), file=report)
    return 0
