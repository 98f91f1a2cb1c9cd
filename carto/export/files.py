"""The files of one export (rendered on demand) and the audit entries they leave.

XLSX puts every dataset chosen in one workbook (one sheet each); CSV, GeoJSON and KML
write one file per dataset. Map formats need a dataset with positions.

The app writes a file and its audit entry together, on the server, when the download
is asked for (``carto.ui.downloads``); the command line does the same in
``carto.export.command``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from carto import audit
from carto.accounts import ROLES
from carto.export import formats, names
from carto.export.contents import Scope, datasets_for_role
from carto.export.formats import Table
from carto.i18n import t
from carto.store import AuthStore

EXCEL_FR_VARIANT = "excel-fr"
SUMMARY = "synthese"  # the advocacy summary, as the audit log names the dataset
SUMMARY_FILE = "html"  # … downloaded as an HTML file
SUMMARY_PAGE = "page"  # … shown in the Synthèse page
PREVIEW = "apercu"  # a dataset's first rows shown in the Exports page, as its format


@dataclass(frozen=True)
class ExportFile:
    """One file to hand over: its name, format and tables; ``data()`` writes it."""

    name: str
    fmt: str
    tables: tuple[Table, ...]
    excel_fr: bool = False

    @property
    def mime(self) -> str:
        return formats.MIME_TYPES[self.fmt]

    @property
    def format_code(self) -> str:
        """The format as the audit log names it (``csv-excel-fr`` for the variant)."""
        return f"{self.fmt}-{EXCEL_FR_VARIANT}" if self.excel_fr else self.fmt

    def rows_of(self, table: Table) -> int:
        """Rows written for a table (map formats leave out rows without a position)."""
        if self.fmt in formats.GEO_FORMATS:
            return table.rows - formats.unlocated(table)
        return table.rows

    @property
    def rows(self) -> int:
        return sum(self.rows_of(table) for table in self.tables)

    def data(self) -> bytes:
        return formats.write(self.tables, self.fmt, excel_fr=self.excel_fr)

    @property
    def roles(self) -> frozenset[str]:
        """The roles that may have this file: each of its datasets is open to them."""
        return frozenset(
            role
            for role in ROLES
            if all(table.dataset in datasets_for_role(role) for table in self.tables)
        )


def plan(
    tables: Sequence[Table], fmt: str, scope: Scope, excel_fr: bool = False
) -> list[ExportFile]:
    """The files an export of ``tables`` in ``fmt`` makes (FormatError when a map format
    is asked for a dataset without positions, or the format is unknown)."""
    if fmt not in formats.FORMATS:
        raise formats.FormatError(
            t("export.error.format", format=fmt, formats=", ".join(formats.FORMATS))
        )
    excel_fr = excel_fr and fmt == formats.CSV
    variant = EXCEL_FR_VARIANT if excel_fr else ""

    def named(group: Sequence[Table]) -> str:
        datasets = [table.dataset for table in group]
        return names.file_name(datasets, fmt, scope.period, scope.filters, scope.role, variant)

    if fmt == formats.XLSX:
        return [ExportFile(named(tables), fmt, tuple(tables))]
    if fmt in formats.GEO_FORMATS:
        for table in tables:
            if not table.mappable:
                raise formats.FormatError(t("export.error.not_mappable", dataset=table.title))
    return [ExportFile(named([table]), fmt, (table,), excel_fr) for table in tables]


def record(store: AuthStore, username: str, file: ExportFile, scope: Scope) -> None:
    """The audit entries of one file handed over: one per dataset it holds (who, the
    dataset, the format, the rows, the filters and period, the file name, the role)."""
    for table in file.tables:
        audit.record_export(
            store,
            username,
            dataset=table.dataset,
            fmt=file.format_code,
            rows=file.rows_of(table),
            filters={
                **names.audit_filters(scope.filters, scope.period),
                "fichier": file.name,
            },
            role=scope.role,
        )


def record_preview(store: AuthStore, username: str, scope: Scope, dataset: str, rows: int) -> None:
    """The audit entry of a dataset's first ``rows`` rows shown in the Exports page:
    narrowing the filters, a preview shows any row, so it is an export too."""
    audit.record_export(
        store,
        username,
        dataset=dataset,
        fmt=PREVIEW,
        rows=rows,
        filters=names.audit_filters(scope.filters, scope.period),
        role=scope.role,
    )


def record_summary(
    store: AuthStore,
    username: str,
    scope: Scope,
    rows: int,
    fmt: str,
    file_name: str | None = None,
) -> None:
    """The audit entry of the advocacy summary, downloaded (``SUMMARY_FILE``, with its
    file name) or shown in the page (``SUMMARY_PAGE``); ``rows``: the passages counted."""
    filters = names.audit_filters(scope.filters, scope.period)
    if file_name:
        filters["fichier"] = file_name
    audit.record_export(
        store, username, dataset=SUMMARY, fmt=fmt, rows=rows, filters=filters, role=scope.role
    )
