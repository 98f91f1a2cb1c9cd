"""File names of exports, and the filters described for people and for the audit log.

A file name carries the dataset(s), the period and a short summary of the filters, in
ASCII only (letters, digits, ``-``, ``_``, ``.``), e.g.
``cartocampement_passages_2026-10-28_2026-11-26_utopia-56_75018.csv``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from carto.accounts import ADMIN, COORDINATOR
from carto.analytics.figures import Period
from carto.filters import STATUS_CODES, Filters
from carto.i18n import t

PREFIX = "cartocampement"
SUMMARY_MAX = 48
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: "Croix-Rouge française" → "croix-rouge-francaise"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


def filter_parts(f: Filters) -> list[str]:
    """Each criterion of the filters as a slug (associations, places, publics, needs,
    statuses), in that order."""
    statuses = [STATUS_CODES[s] for s in f.statuses]  # the address's codes: names stay
    values = (*f.associations, *f.arrondissements, *f.publics, *f.needs, *statuses)
    return [s for s in (slug(v) for v in values) if s]


def filter_summary(f: Filters, max_length: int = SUMMARY_MAX) -> str:
    """The filters in a few ASCII words ("" when nothing narrows), cut at a word."""
    parts = filter_parts(f)
    summary = "_".join(parts)
    if len(summary) <= max_length:
        return summary
    kept: list[str] = []
    for part in parts:
        if len("_".join([*kept, part, "etc"])) > max_length:
            break
        kept.append(part)
    return "_".join([*kept, "etc"])


def file_name(
    datasets: Sequence[str],
    extension: str,
    period: Period,
    f: Filters,
    role: str,
    variant: str = "",
) -> str:
    """``cartocampement_<datasets>_<start>_<end>[_<filters>][_<role>][_<variant>].<ext>``;
    the role appears when the export is not a staff one (a partner's is blurred)."""
    parts = [PREFIX, "-".join(slug(d) for d in datasets) or "export"]
    parts += [f"{period.start:%Y-%m-%d}", f"{period.end:%Y-%m-%d}"]
    summary = filter_summary(f)
    if summary:
        parts.append(summary)
    if role not in (ADMIN, COORDINATOR):
        parts.append(slug(role))
    if variant:
        parts.append(slug(variant))
    return "_".join(parts) + "." + slug(extension)


def describe_filters(f: Filters) -> str:
    """The criteria of the filters in French ("" when nothing narrows), e.g.
    "Associations : Utopia 56 ; Publics : Mineurs non accompagnés"."""
    groups = [
        ("filter.associations", list(f.associations)),
        ("filter.arrondissements", list(f.arrondissements)),
        ("filter.publics", [t(f"filter.public.{p}") for p in f.publics]),
        ("filter.needs", list(f.needs)),
        ("filter.statuses", [t(f"filter.status.{s}") for s in f.statuses]),
    ]
    return " ; ".join(
        t("export.filters.group", name=t(key), values=", ".join(values))
        for key, values in groups
        if values
    )


def audit_filters(f: Filters, period: Period) -> dict[str, Any]:
    """The filters of an export as the audit log keeps them (what was chosen, and the
    dates the period meant)."""
    out: dict[str, Any] = {
        "periode": f.period,
        "du": f"{period.start:%Y-%m-%d}",
        "au": f"{period.end:%Y-%m-%d}",
    }
    for key, values in (
        ("associations", f.associations),
        ("arrondissements", f.arrondissements),
        ("publics", f.publics),
        ("besoins", f.needs),
        ("statuts", [STATUS_CODES[s] for s in f.statuses]),  # as entries always said
    ):
        if values:
            out[key] = list(values)
    return out
