"""Every catalogue key the code asks for exists, and every key of the catalogue is used.

The code is read with ``ast``: each ``t("…")`` / ``t_n("…")`` call with a literal key,
each call whose key is built (an f-string: its shape is listed in ``DYNAMIC`` with every
value it can take), and the few calls whose key is a variable (``THROUGH_VARIABLES``:
their keys are string constants elsewhere in the code, ``_msg("flag.…")``,
``PageSpec(…, "nav.map")``…)."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator

from carto import digest, schema
from carto.accounts import DIGEST_CHOICES, ROLES
from carto.analytics import alerts, events
from carto.audit import EVENTS
from carto.export import contents as X
from carto.export import files, formats
from carto.filters import CAMP_STATUSES, PERIODS, PUBLICS
from carto.i18n import FR, PLURAL_FORMS
from carto.ui import rounds as street
from testing.app import ROOT

SOURCES = sorted([*(ROOT / "carto").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"])
SHELTERS = (events.SHELTER_ALL, events.SHELTER_PARTIAL, events.SHELTER_NONE)
EVACUATION_PARTS = ("people", "sheltered", "without_solution", "unknown")
SYNC_MODES = ("full", "incremental")
AIRTABLE_TYPES = (
    *("singleLineText", "multilineText", "richText", "number", "percent", "currency"),
    *("dateTime", "date", "singleSelect", "multipleSelects", "multipleRecordLinks"),
    *("checkbox", "email", "url", "phoneNumber", "formula", "rollup"),
    *("multipleLookupValues", "multipleAttachments", "createdTime", "lastModifiedTime"),
    "autoNumber",
)


def _issue_codes() -> set[str]:
    """The reason and flag codes ``carto.normalise`` and ``carto.analytics.camps`` give."""
    codes = {"flag.duplicate"}
    tree = ast.parse((ROOT / "carto" / "normalise.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith(("flag.", "reason."))
        ):
            codes.add(node.value)
    return codes


def _export_columns() -> set[str]:
    return {col for columns in X.COLUMNS.values() for col in columns} | {"suppressed"}


# Shape of a built key ("{}" where a value goes) → every tuple of values it can take.
DYNAMIC: dict[str, Iterable[tuple[str, ...]]] = {
    "account.digest.{}": [(c,) for c in DIGEST_CHOICES],
    "audit.detail.kind.{}": [(digest.DAILY,), (digest.ALERT,)],
    "cli.digest.{}": [(s,) for s in ("sent", "failed", "skipped", "nothing", "dry_run")],
    "digest.alert.{}": [(alerts.REASON_MINORS,), (alerts.REASON_FAMILIES,)],
    "digest.kind.{}": [(digest.DAILY,), (digest.ALERT,)],
    "admin.log.mode.{}": [(m,) for m in SYNC_MODES],
    "admin.users.col.{}": [(c,) for c in ("username", "name", "role", "locked", "failures")],
    "airtable.type.{}": [(a,) for a in AIRTABLE_TYPES],
    "alert.reason.{}": [(alerts.REASON_MINORS,), (alerts.REASON_FAMILIES,)],
    "audit.event.{}": [(e,) for e in EVENTS],
    "auth.demo.sees.{}": [(r,) for r in ROLES],
    # carto.ui.rounds: why the position is missing (pages/autour_de_moi.py)
    "nearby.{}": [(street.DENIED,), (street.UNAVAILABLE,)],
    # carto.audit._label(prefix, code): what an audit entry's details hold.
    "audit.dataset.{}": [(files.SUMMARY,), (street.SHEET_DATASET,)],
    "audit.detail.form.{}": [("password",)],
    "audit.detail.reason.{}": [(r,) for r in ("invalid", "account", "revoked", "idle")],
    "audit.format.{}": [
        (f,) for f in ("csv-excel-fr", files.SUMMARY_FILE, files.SUMMARY_PAGE, files.PREVIEW)
    ],
    # carto.settings._type_name: a setting's type in a configuration error.
    "config.type.{}": [(k.__name__,) for k in (int, float, str, bool, list, dict)],
    "camp.status.{}": [(s,) for s in ("active", "closed", "stale")],
    "cli.sync.done.{}": [(m,) for m in SYNC_MODES],
    "dash.evac.{}": [(p,) for p in EVACUATION_PARTS],
    "dash.evac.{}_help": [(p,) for p in EVACUATION_PARTS],
    "dash.evac_chart.{}": [(p,) for p in ("sheltered", "without_solution", "unknown")],
    "dash.measure.{}": [("people",), ("delivered",)],
    "dash.no_comparison.{}": [(g,) for g in ("partial", "previous_empty", "whole_history")],
    "event.shelter.{}": [(s,) for s in (*SHELTERS, "unknown")],
    "export.col.{}": [(c,) for c in _export_columns()],
    "export.dataset.{}": [(d,) for d in X.DATASETS],
    "export.dataset_help.{}": [(d,) for d in X.DATASETS],
    "export.format.{}": [(f,) for f in formats.FORMATS],
    "filter.period.{}": [(p,) for p in PERIODS],
    "filter.public.{}": [(p,) for p in PUBLICS],
    "filter.status.{}": [(s,) for s in CAMP_STATUSES],
    "kind.{}": [(c,) for c in _issue_codes()],
    "map.count.{}.{}": list(itertools.product([*PUBLICS, "people"], PLURAL_FORMS)),
    "needs.breakdown.{}": [(b,) for b in ("total", "arrondissement", "camp")],
    "needs.col.group.{}": [("arrondissement",), ("camp",)],
    "needs.item.{}": [(i,) for i in ("meals", "tents", "blankets", "hygiene_kits")],
    "role.{}": [(r,) for r in ROLES],
    "service.{}": [(k,) for k in schema.DISTRIBUTIONS],
    "summary.evac.col.{}": [
        (c,) for c in ("events", "people", "sheltered", "without_solution", "minors")
    ],
    "summary.evac.{}": [(s,) for s in (*SHELTERS, "unknown", "total")],
    "table.{}": [("passages",), ("sites",)],
    "weekday.{}": [(str(d),) for d in range(7)],
    # export.contents._labelled(codes, prefix): the events' shelter and people source.
    "{}.{}": [
        *(("event.shelter", s) for s in SHELTERS),
        *(("event.people_source", s) for s in ("reported", "last_count")),
    ],
}
# Calls whose key is a variable: file and the key's expression. Their keys are string
# constants of the code (a page's title key, a reason code, an audit label…).
THROUGH_VARIABLES = {
    ("carto/airtable_client.py", "key.get(status, 'airtable.error.refused')"),
    ("carto/audit.py", "key"),
    ("carto/audit.py", "noun"),
    ("carto/audit.py", "name"),
    ("carto/cli.py", "key"),
    ("carto/export/contents.py", "unknown"),
    ("carto/export/names.py", "key"),
    ("carto/i18n.py", "f'{key}.{plural_form(n)}'"),
    ("carto/map_view.py", "key"),
    ("carto/normalise.py", "code"),
    ("carto/settings.py", "key"),
    ("carto/ui/auth.py", "failed_key"),
    ("carto/ui/filters.py", "label_key"),
    ("carto/ui/filters.py", "f'{prefix}.{code}'"),
    ("carto/ui/navigation.py", "spec.section_key"),
    ("carto/ui/navigation.py", "spec.title_key"),
    ("pages/admin_utilisateurs.py", "key"),
}


def _calls() -> Iterator[tuple[str, str, ast.expr]]:
    """(file, function name, key argument) of every ``t`` / ``t_n`` call."""
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("t", "t_n"):
                yield path.relative_to(ROOT).as_posix(), name, node.args[0]


def _literals(expr: ast.expr) -> list[str] | None:
    """The keys of a literal key, or of a choice between literals; None otherwise."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.IfExp):
        body, other = _literals(expr.body), _literals(expr.orelse)
        return body + other if body is not None and other is not None else None
    return None


def _shape(expr: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in expr.values)


def _expand(name: str, key: str) -> list[str]:
    return [f"{key}.{form}" for form in PLURAL_FORMS] if name == "t_n" else [key]


def _asked() -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """(keys asked for, shapes of built keys, (file, expression) of variable keys)."""
    keys: set[str] = set()
    shapes: set[str] = set()
    variables: set[tuple[str, str]] = set()
    for file, name, arg in _calls():
        literal = _literals(arg)
        if literal is not None:
            keys.update(k for key in literal for k in _expand(name, key))
        elif isinstance(arg, ast.JoinedStr) and (file, ast.unparse(arg)) not in THROUGH_VARIABLES:
            shape = _shape(arg)
            shapes.add(shape)
            for values in DYNAMIC.get(shape, []):
                keys.update(_expand(name, shape.format(*values)))
        else:
            variables.add((file, ast.unparse(arg)))
    # Keys built before the call: an f-string of a listed shape held in a variable
    # (settings), a prefix handed to audit's ``_label``.
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            shape = None
            if isinstance(node, ast.JoinedStr) and _shape(node) in DYNAMIC:
                shape = _shape(node)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_label"
                and isinstance(node.args[0], ast.Constant)
            ):
                shape = f"{node.args[0].value}{{}}"
            if shape is not None:
                shapes.add(shape)
                keys.update(shape.format(*values) for values in DYNAMIC.get(shape, []))
    return keys, shapes, variables


def _string_constants() -> set[str]:
    """String constants of the code, the catalogue's own file left out."""
    found: set[str] = set()
    for path in SOURCES:
        if path.name == "i18n.py" and path.parent.name == "carto":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_key_the_code_asks_for_exists() -> None:
    keys, shapes, variables = _asked()
    assert shapes <= set(DYNAMIC), f"built keys to list in DYNAMIC: {shapes - set(DYNAMIC)}"
    assert variables <= THROUGH_VARIABLES, f"keys from variables: {variables - THROUGH_VARIABLES}"
    missing = sorted(k for k in keys if k not in FR)
    assert not missing, missing


def test_every_built_key_shape_listed_is_still_built() -> None:
    _, shapes, variables = _asked()
    assert set(DYNAMIC) <= shapes
    assert variables == THROUGH_VARIABLES


def test_every_catalogue_key_is_used() -> None:
    keys, _, _ = _asked()
    constants = _string_constants()
    # A key passed through a variable is a string constant of the code; a counted word's
    # forms are used when its base is.
    used = keys | constants
    used |= {f"{c}.{form}" for c in constants for form in PLURAL_FORMS}
    unused = sorted(k for k in FR if k not in used)
    assert not unused, unused
