"""A local Airtable-compatible HTTP server for tests and benchmarks.

``FakeAirtable`` answers the parts of Airtable's REST API (v0) that a sync uses, closely
enough that ``pyairtable.Api(token, endpoint_url=server.url)`` talks to it unchanged:
list/get/create/update/upsert/delete records, the metadata API (list/create tables,
create/update fields), ``filterByFormula`` (a real, small formula evaluator), paging
with opaque offsets, the per-base rate limit with its penalty window, and fault
injection (5xx, dropped connections, slow answers, fixed latency).

Standard library only; it binds 127.0.0.1 on a free port and never anything else.

Deliberate differences from Airtable are listed in ``FakeAirtable``'s docstring.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import math
import random
import re
import socket
import socketserver
import string
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, TypeAlias, cast

__all__ = ["ApiError", "FakeAirtable", "FormulaError", "RequestLog"]

MAX_PAGE_SIZE = 100
MAX_RECORDS_PER_REQUEST = 10
FAULT_KINDS = ("500", "503", "429", "drop", "timeout")

_ID_ALPHABET = string.ascii_letters + string.digits
_OFFSET_RE = re.compile(r"^(itr[A-Za-z0-9]{14})/(rec[A-Za-z0-9]{14})$")

# Field types whose value Airtable computes (the API refuses writes to them).
COMPUTED_TYPES = frozenset(
    {
        "aiText",
        "autoNumber",
        "button",
        "count",
        "createdBy",
        "createdTime",
        "formula",
        "lastModifiedBy",
        "lastModifiedTime",
        "lookup",
        "multipleLookupValues",
        "rollup",
    }
)
DATE_TYPES = frozenset({"date", "dateTime", "createdTime", "lastModifiedTime"})
NUMBER_TYPES = frozenset({"number", "percent", "currency", "rating", "duration"})
TEXT_TYPES = frozenset(
    {"singleLineText", "multilineText", "email", "url", "phoneNumber", "richText"}
)
SELECT_TYPES = frozenset({"singleSelect", "multipleSelects"})

_DATE_FORMATS = {
    "local": "l",
    "friendly": "LL",
    "us": "M/D/YYYY",
    "european": "D/M/YYYY",
    "iso": "YYYY-MM-DD",
}
_TIME_FORMATS = {"12hour": "h:mma", "24hour": "HH:mm"}


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error answered the way Airtable does: ``{"error": {"type", "message"}}``."""

    def __init__(self, status: int, error_type: str, message: str = "") -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message

    def payload(self) -> dict[str, Any]:
        """The JSON body Airtable would send."""
        return {"error": {"type": self.error_type, "message": self.message}}


class FormulaError(Exception):
    """A formula that cannot be parsed or refers to unknown fields or functions."""


class _EvalError(Exception):
    """A formula evaluated to an error value (Airtable's #ERROR!)."""


def _not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "Could not find what you are looking for")


def _invalid_request(message: str) -> ApiError:
    return ApiError(422, "INVALID_REQUEST_UNKNOWN", f"Invalid request: {message}")


# ------------------------------------------------------------------------ datetimes


def _utc_ms(value: datetime) -> datetime:
    """Aware UTC datetime truncated to milliseconds (Airtable's precision)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _iso(value: datetime) -> str:
    """Airtable's timestamp format, e.g. ``2024-05-01T12:00:00.000Z``."""
    value = _utc_ms(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _parse_iso(text: str) -> datetime | None:
    """Parse an ISO 8601 date or datetime (naive means UTC); None if it is not one."""
    text = text.strip()
    if not text or not text[0].isdigit():
        return None
    try:
        return _utc_ms(datetime.fromisoformat(text))
    except ValueError:
        return None


def _truncate(value: datetime, unit: str) -> datetime:
    """Start of the ``unit`` (canonical unit code) containing ``value``, in UTC."""
    if unit == "ms":
        return value
    if unit == "s":
        return value.replace(microsecond=0)
    if unit == "m":
        return value.replace(second=0, microsecond=0)
    if unit == "h":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":  # weeks start on Sunday, as in Airtable (moment.js)
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if unit == "M":
        return day.replace(day=1)
    if unit == "Q":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_UNIT_NAMES = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "M": "M",
    "month": "M",
    "months": "M",
    "Q": "Q",
    "quarter": "Q",
    "quarters": "Q",
    "y": "y",
    "year": "y",
    "years": "y",
}


def _unit(value: Any) -> str:
    text = str(value).strip()
    unit = _UNIT_NAMES.get(text) or _UNIT_NAMES.get(text.lower())
    if unit is None:
        raise _EvalError(f"unknown date unit {text!r}")
    return unit


def _add_months(value: datetime, months: int) -> datetime:
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _date_add(value: datetime, count: float, unit: str) -> datetime:
    if unit in _UNIT_SECONDS:
        return value + timedelta(seconds=count * _UNIT_SECONDS[unit])
    factor = {"M": 1, "Q": 3, "y": 12}[unit]
    return _add_months(value, int(count) * factor)


def _date_diff(first: datetime, second: datetime, unit: str) -> int:
    if unit in _UNIT_SECONDS:
        return int((first - second).total_seconds() / _UNIT_SECONDS[unit])
    months = (first.year - second.year) * 12 + first.month - second.month
    if months > 0 and _add_months(second, months) > first:
        months -= 1
    elif months < 0 and _add_months(second, months) < first:
        months += 1
    return int(months / {"M": 1, "Q": 3, "y": 12}[unit])


# moment.js tokens understood by DATETIME_PARSE / DATETIME_FORMAT (longest first).
_MOMENT_TOKENS: tuple[str, ...] = ("YYYY", "YY", "MM", "M", "DD", "D", "HH", "H", "mm", "m")
_MOMENT_TOKENS += ("ss", "s", "SSS", "ZZ", "Z", "X", "x")
_MOMENT_PARSE = {
    "YYYY": r"(?P<year>\d{4})",
    "YY": r"(?P<year2>\d{2})",
    "MM": r"(?P<month>\d{1,2})",
    "M": r"(?P<month>\d{1,2})",
    "DD": r"(?P<day>\d{1,2})",
    "D": r"(?P<day>\d{1,2})",
    "HH": r"(?P<hour>\d{1,2})",
    "H": r"(?P<hour>\d{1,2})",
    "mm": r"(?P<minute>\d{1,2})",
    "m": r"(?P<minute>\d{1,2})",
    "ss": r"(?P<second>\d{1,2})",
    "s": r"(?P<second>\d{1,2})",
    "SSS": r"(?P<ms>\d{1,3})",
    "ZZ": r"(?P<tz>Z|[+-]\d{2}:?\d{2})",
    "Z": r"(?P<tz>Z|[+-]\d{2}:?\d{2})",
    "X": r"(?P<unix>-?\d+(?:\.\d+)?)",
    "x": r"(?P<unixms>-?\d+)",
}


def _moment_split(fmt: str) -> list[tuple[bool, str]]:
    """Split a moment.js format into (is_token, text) parts; ``[...]`` is literal."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    while pos < len(fmt):
        if fmt[pos] == "[":
            end = fmt.find("]", pos)
            end = len(fmt) if end < 0 else end
            parts.append((False, fmt[pos + 1 : end]))
            pos = end + 1
            continue
        for token in _MOMENT_TOKENS:
            if fmt.startswith(token, pos):
                parts.append((True, token))
                pos += len(token)
                break
        else:
            parts.append((False, fmt[pos]))
            pos += 1
    return parts


def _moment_parse(text: str, fmt: str) -> datetime:
    pattern = "".join(_MOMENT_PARSE[t] if tok else re.escape(t) for tok, t in _moment_split(fmt))
    try:
        match = re.fullmatch(pattern, text.strip())
    except re.error as exc:
        raise _EvalError(f"unsupported date format {fmt!r}") from exc
    if match is None:
        raise _EvalError(f"{text!r} does not match the date format {fmt!r}")
    parts = {k: v for k, v in match.groupdict().items() if v is not None}
    if "unix" in parts:
        return _utc_ms(datetime.fromtimestamp(float(parts["unix"]), UTC))
    if "unixms" in parts:
        return _utc_ms(datetime.fromtimestamp(int(parts["unixms"]) / 1000, UTC))
    year = int(parts["year"]) if "year" in parts else 2000 + int(parts.get("year2", "0"))
    try:
        value = datetime(
            year,
            int(parts.get("month", "1")),
            int(parts.get("day", "1")),
            int(parts.get("hour", "0")),
            int(parts.get("minute", "0")),
            int(parts.get("second", "0")),
            int(parts.get("ms", "0").ljust(3, "0")) * 1000,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise _EvalError(str(exc)) from exc
    tz = parts.get("tz", "Z")
    if tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def _moment_format(value: datetime, fmt: str) -> str:
    value = _utc_ms(value)
    out = {
        "YYYY": f"{value.year:04d}",
        "YY": f"{value.year % 100:02d}",
        "MM": f"{value.month:02d}",
        "M": str(value.month),
        "DD": f"{value.day:02d}",
        "D": str(value.day),
        "HH": f"{value.hour:02d}",
        "H": str(value.hour),
        "mm": f"{value.minute:02d}",
        "m": str(value.minute),
        "ss": f"{value.second:02d}",
        "s": str(value.second),
        "SSS": f"{value.microsecond // 1000:03d}",
        "ZZ": "+0000",
        "Z": "+00:00",
        "X": str(int(value.timestamp())),
        "x": str(int(value.timestamp() * 1000)),
    }
    return "".join(out[t] if tok else t for tok, t in _moment_split(fmt))


# ------------------------------------------------------------------------- formulas


@dataclass(frozen=True)
class _Lit:
    value: Any


@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Node, ...]


@dataclass(frozen=True)
class _Bin:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Neg:
    operand: _Node


_Node: TypeAlias = "_Lit | _Ref | _Call | _Bin | _Neg"

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<field>\{(?:[^}\\]|\\.)*\})
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|!=|<>|[=<>+\-*/&(),])
    """,
    re.VERBOSE | re.DOTALL,
)
_COMPARE_OPS = ("=", "!=", "<>", "<", ">", "<=", ">=")
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(1)), text, flags=re.S)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise FormulaError(f"unexpected character {text[pos]!r} at position {pos}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    """Recursive-descent parser for Airtable formulas."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> _Node:
        node = self._comparison()
        if self.pos < len(self.tokens):
            raise FormulaError(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def _peek_op(self, *ops: str) -> str | None:
        if self.pos < len(self.tokens):
            kind, text = self.tokens[self.pos]
            if kind == "op" and text in ops:
                return text
        return None

    def _expect(self, op: str) -> None:
        if self._peek_op(op) is None:
            found = self.tokens[self.pos][1] if self.pos < len(self.tokens) else "end of formula"
            raise FormulaError(f"expected {op!r}, found {found!r}")
        self.pos += 1

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], _Node]) -> _Node:
        node = operand()
        while (op := self._peek_op(*ops)) is not None:
            self.pos += 1
            node = _Bin(op, node, operand())
        return node

    def _comparison(self) -> _Node:
        return self._binary(_COMPARE_OPS, self._concat)

    def _concat(self) -> _Node:
        return self._binary(("&",), self._additive)

    def _additive(self) -> _Node:
        return self._binary(("+", "-"), self._term)

    def _term(self) -> _Node:
        return self._binary(("*", "/"), self._unary)

    def _unary(self) -> _Node:
        if self._peek_op("-"):
            self.pos += 1
            return _Neg(self._unary())
        if self._peek_op("+"):
            self.pos += 1
            return self._unary()
        return self._primary()

    def _primary(self) -> _Node:
        if self.pos >= len(self.tokens):
            raise FormulaError("unexpected end of formula")
        kind, text = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            number = float(text)
            return _Lit(int(number) if number.is_integer() and "e" not in text.lower() else number)
        if kind == "str":
            return _Lit(_unescape(text[1:-1]))
        if kind == "field":
            return _Ref(_unescape(text[1:-1]))
        if kind == "name":
            if self._peek_op("("):
                self.pos += 1
                return _Call(text.upper(), self._arguments())
            if text.upper() in ("TRUE", "FALSE"):
                return _Lit(text.upper() == "TRUE")
            return _Ref(text)  # a bare field name, as Airtable allows
        if kind == "op" and text == "(":
            node = self._comparison()
            self._expect(")")
            return node
        raise FormulaError(f"unexpected {text!r}")

    def _arguments(self) -> tuple[_Node, ...]:
        args: list[_Node] = []
        if self._peek_op(")"):
            self.pos += 1
            return ()
        while True:
            args.append(self._comparison())
            if self._peek_op(","):
                self.pos += 1
                continue
            self._expect(")")
            return tuple(args)


def _to_num(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if not value.strip():
            return 0
        try:
            number = float(value)
        except ValueError as exc:
            raise _EvalError(f"{value!r} is not a number") from exc
        return int(number) if number.is_integer() else number
    if isinstance(value, list) and len(value) == 1:
        return _to_num(value[0])
    raise _EvalError(f"{value!r} is not a number")


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, list):
        return ", ".join(_to_str(v.get("name", v) if isinstance(v, dict) else v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("url") or "")
    return str(value)


def _to_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, list) and len(value) == 1:
        return _to_dt(value[0])
    if isinstance(value, str):
        parsed = _parse_iso(value)
        if parsed is not None:
            return parsed
    raise _EvalError(f"{value!r} is not a date")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(_truthy(v) for v in value)
    return bool(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, list):
        left = _to_str(left)
    if isinstance(right, list):
        right = _to_str(right)
    equal_ops = ("=", "!=", "<>")
    if isinstance(left, datetime) or isinstance(right, datetime):
        first, second = _to_dt(left), _to_dt(right)
        if first is None or second is None:
            same = first is None and second is None
            return same if op == "=" else (not same if op in equal_ops else False)
        a: Any = first
        b: Any = second
    elif _is_number(left) or _is_number(right):
        try:
            a, b = _to_num(left), _to_num(right)
        except _EvalError:
            a, b = _to_str(left), _to_str(right)
    else:
        a, b = _to_str(left), _to_str(right)
    if op == "=":
        return bool(a == b)
    if op in ("!=", "<>"):
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "&":
        return _to_str(left) + _to_str(right)
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        try:
            return _to_num(left) + _to_num(right)
        except _EvalError:
            return _to_str(left) + _to_str(right)
    a, b = _to_num(left), _to_num(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise _EvalError("#DIV/0!")
    return a / b


def _need_dt(value: Any) -> datetime:
    parsed = _to_dt(value)
    if parsed is None:
        raise _EvalError("a date is required")
    return parsed


def _datetime_parse(args: list[Any]) -> datetime | None:
    value = args[0]
    if isinstance(value, datetime):
        return value
    if value is None or value == "":
        return None
    text = _to_str(value)
    if len(args) > 1 and args[1] not in (None, ""):
        return _moment_parse(text, _to_str(args[1]))
    parsed = _parse_iso(text)
    if parsed is None:
        raise _EvalError(f"DATETIME_PARSE cannot read {text!r}")
    return parsed


def _date_compare(args: list[Any], check: Callable[[datetime, datetime], bool]) -> bool:
    first, second = _to_dt(args[0]), _to_dt(args[1])
    if first is None or second is None:
        return False
    return check(first, second)


def _is_same(args: list[Any]) -> bool:
    unit = _unit(args[2]) if len(args) > 2 and args[2] not in (None, "") else "ms"
    return _date_compare(args, lambda a, b: _truncate(a, unit) == _truncate(b, unit))


def _find(args: list[Any], fold: bool) -> int | None:
    needle, haystack = _to_str(args[0]), _to_str(args[1])
    start = int(_to_num(args[2])) - 1 if len(args) > 2 else 0
    if fold:
        needle, haystack = needle.lower(), haystack.lower()
    index = haystack.find(needle, max(start, 0)) + 1
    return index if index or not fold else None  # SEARCH gives blank, FIND gives 0


def _round(args: list[Any]) -> float | int:
    number, places = float(_to_num(args[0])), int(_to_num(args[1]))
    factor = 10.0**places
    result = math.floor(abs(number) * factor + 0.5) / factor * (1 if number >= 0 else -1)
    return int(result) if result.is_integer() else result


def _flatten(args: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for arg in args:
        out.extend(arg if isinstance(arg, list) else [arg])
    return out


def _raise(error: Exception) -> Any:
    raise error


def _weekday(args: list[Any]) -> int:
    day = (_need_dt(args[0]).weekday() + 1) % 7  # 0 = Sunday
    if len(args) > 1 and _to_str(args[1]).lower() == "monday":
        day = (day - 1) % 7
    return day


@dataclass
class _EvalContext:
    """What a formula can see of one record."""

    record_id: str
    created: datetime
    modified: datetime
    field_modified: dict[str, datetime]
    now: datetime
    value: Callable[[str], Any]  # field name or id -> formula value
    field_id: Callable[[str], str]


_Impl: TypeAlias = Callable[[_EvalContext, list[Any]], Any]

# name -> (minimum arguments, maximum arguments or None, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {
    "AND": (1, None, lambda c, a: all(_truthy(v) for v in a)),
    "OR": (1, None, lambda c, a: any(_truthy(v) for v in a)),
    "XOR": (1, None, lambda c, a: sum(_truthy(v) for v in a) % 2 == 1),
    "NOT": (1, 1, lambda c, a: not _truthy(a[0])),
    "TRUE": (0, 0, lambda c, a: True),
    "FALSE": (0, 0, lambda c, a: False),
    "BLANK": (0, 0, lambda c, a: None),
    "IF": (2, 3, lambda c, a: None),  # evaluated lazily by _Evaluator
    "ISERROR": (1, 1, lambda c, a: False),  # evaluated lazily by _Evaluator
    "ERROR": (0, 0, lambda c, a: _raise(_EvalError("ERROR()"))),
    "RECORD_ID": (0, 0, lambda c, a: c.record_id),
    "CREATED_TIME": (0, 0, lambda c, a: c.created),
    "LAST_MODIFIED_TIME": (0, None, lambda c, a: None),  # evaluated by _Evaluator
    "NOW": (0, 0, lambda c, a: c.now),
    "TODAY": (0, 0, lambda c, a: _truncate(c.now, "d")),
    "DATETIME_PARSE": (1, 3, lambda c, a: _datetime_parse(a)),
    "DATETIME_FORMAT": (
        1,
        2,
        lambda c, a: (
            _iso(_need_dt(a[0]))
            if len(a) < 2 or a[1] in (None, "")
            else _moment_format(_need_dt(a[0]), _to_str(a[1]))
        ),
    ),
    "DATESTR": (1, 1, lambda c, a: _need_dt(a[0]).strftime("%Y-%m-%d")),
    "SET_TIMEZONE": (2, 2, lambda c, a: _to_dt(a[0])),
    "SET_LOCALE": (2, 2, lambda c, a: _to_dt(a[0])),
    "IS_AFTER": (2, 2, lambda c, a: _date_compare(a, lambda x, y: x > y)),
    "IS_BEFORE": (2, 2, lambda c, a: _date_compare(a, lambda x, y: x < y)),
    "IS_SAME": (2, 3, lambda c, a: _is_same(a)),
    "DATEADD": (3, 3, lambda c, a: _date_add(_need_dt(a[0]), float(_to_num(a[1])), _unit(a[2]))),
    "DATETIME_DIFF": (
        2,
        3,
        lambda c, a: _date_diff(_need_dt(a[0]), _need_dt(a[1]), _unit(a[2]) if len(a) > 2 else "s"),
    ),
    "YEAR": (1, 1, lambda c, a: _need_dt(a[0]).year),
    "MONTH": (1, 1, lambda c, a: _need_dt(a[0]).month),
    "DAY": (1, 1, lambda c, a: _need_dt(a[0]).day),
    "HOUR": (1, 1, lambda c, a: _need_dt(a[0]).hour),
    "MINUTE": (1, 1, lambda c, a: _need_dt(a[0]).minute),
    "SECOND": (1, 1, lambda c, a: _need_dt(a[0]).second),
    "WEEKDAY": (1, 2, lambda c, a: _weekday(a)),
    "LEN": (1, 1, lambda c, a: len(_to_str(a[0]))),
    "LOWER": (1, 1, lambda c, a: _to_str(a[0]).lower()),
    "UPPER": (1, 1, lambda c, a: _to_str(a[0]).upper()),
    "TRIM": (1, 1, lambda c, a: _to_str(a[0]).strip()),
    "T": (1, 1, lambda c, a: a[0] if isinstance(a[0], str) else ""),
    "FIND": (2, 3, lambda c, a: _find(a, fold=False)),
    "SEARCH": (2, 3, lambda c, a: _find(a, fold=True)),
    "CONCATENATE": (1, None, lambda c, a: "".join(_to_str(v) for v in a)),
    "LEFT": (2, 2, lambda c, a: _to_str(a[0])[: int(_to_num(a[1]))]),
    "RIGHT": (
        2,
        2,
        lambda c, a: _to_str(a[0])[-int(_to_num(a[1])) :] if int(_to_num(a[1])) else "",
    ),
    "MID": (
        3,
        3,
        lambda c, a: _to_str(a[0])[
            int(_to_num(a[1])) - 1 : int(_to_num(a[1])) - 1 + int(_to_num(a[2]))
        ],
    ),
    "SUBSTITUTE": (3, 3, lambda c, a: _to_str(a[0]).replace(_to_str(a[1]), _to_str(a[2]))),
    "REGEX_MATCH": (2, 2, lambda c, a: re.search(_to_str(a[1]), _to_str(a[0])) is not None),
    "VALUE": (1, 1, lambda c, a: _to_num(a[0])),
    "ARRAYJOIN": (
        1,
        2,
        lambda c, a: (_to_str(a[1]) if len(a) > 1 else ", ").join(
            _to_str(v) for v in _flatten([a[0]])
        ),
    ),
    "ABS": (1, 1, lambda c, a: abs(_to_num(a[0]))),
    "ROUND": (2, 2, lambda c, a: _round(a)),
    "INT": (1, 1, lambda c, a: math.floor(_to_num(a[0]))),
    "MOD": (2, 2, lambda c, a: math.fmod(_to_num(a[0]), _to_num(a[1]))),
    "MAX": (1, None, lambda c, a: max(_to_num(v) for v in _flatten(a))),
    "MIN": (1, None, lambda c, a: min(_to_num(v) for v in _flatten(a))),
    "SUM": (1, None, lambda c, a: sum(_to_num(v) for v in _flatten(a))),
}


def _check_formula(node: _Node, known_field: Callable[[str], bool]) -> None:
    """Reject unknown functions, wrong argument counts and unknown field names."""
    unknown_fields: list[str] = []

    def walk(item: _Node) -> None:
        if isinstance(item, _Ref):
            if not known_field(item.name) and item.name not in unknown_fields:
                unknown_fields.append(item.name)
        elif isinstance(item, _Neg):
            walk(item.operand)
        elif isinstance(item, _Bin):
            walk(item.left)
            walk(item.right)
        elif isinstance(item, _Call):
            spec = _FUNCTIONS.get(item.name)
            if spec is None:
                raise FormulaError(f"Unknown function names: {item.name}")
            low, high = spec[0], spec[1]
            if len(item.args) < low or (high is not None and len(item.args) > high):
                raise FormulaError(f"Wrong number of arguments to {item.name}")
            if item.name == "LAST_MODIFIED_TIME" and not all(
                isinstance(arg, _Ref) for arg in item.args
            ):
                raise FormulaError("LAST_MODIFIED_TIME() only accepts field references")
            for arg in item.args:
                walk(arg)

    walk(node)
    if unknown_fields:
        raise FormulaError(f"Unknown field names: {', '.join(unknown_fields)}")


def compile_formula(text: str, known_field: Callable[[str], bool]) -> _Node:
    """Parse and check a formula; raises FormulaError."""
    node = _Parser(text).parse()
    _check_formula(node, known_field)
    return node


def _evaluate(node: _Node, ctx: _EvalContext) -> Any:
    """Evaluate a checked formula for one record; raises _EvalError."""
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _Ref):
        return ctx.value(node.name)
    if isinstance(node, _Neg):
        return -_to_num(_evaluate(node.operand, ctx))
    if isinstance(node, _Bin):
        left, right = _evaluate(node.left, ctx), _evaluate(node.right, ctx)
        if node.op in _COMPARE_OPS:
            return _compare(node.op, left, right)
        return _arith(node.op, left, right)
    if node.name == "IF":
        if _truthy(_evaluate(node.args[0], ctx)):
            return _evaluate(node.args[1], ctx)
        return _evaluate(node.args[2], ctx) if len(node.args) > 2 else None
    if node.name == "ISERROR":
        try:
            _evaluate(node.args[0], ctx)
        except _EvalError:
            return True
        return False
    if node.name == "LAST_MODIFIED_TIME":
        if not node.args:
            return ctx.modified
        ids = [ctx.field_id(cast(_Ref, arg).name) for arg in node.args]
        return max(ctx.field_modified.get(fid, ctx.created) for fid in ids)
    args = [_evaluate(arg, ctx) for arg in node.args]
    try:
        return _FUNCTIONS[node.name][2](ctx, args)
    except (_EvalError, FormulaError):
        raise
    except (ArithmeticError, TypeError, ValueError, re.error, OverflowError) as exc:
        raise _EvalError(f"{node.name}: {exc}") from exc


# ---------------------------------------------------------------------- data model


@dataclass
class _Field:
    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.options is not None:
            out["options"] = self.options
        return out


@dataclass
class _Record:
    id: str
    created: datetime
    created_raw: str
    fields: dict[str, Any]  # keyed by field id
    modified: datetime
    field_modified: dict[str, datetime]
    auto_number: int


@dataclass
class _Table:
    id: str
    name: str
    fields: list[_Field]
    view_id: str
    description: str | None = None
    records: dict[str, _Record] = field(default_factory=dict)
    next_auto_number: int = 1

    def field(self, key: str) -> _Field | None:
        """A field by id or name."""
        for item in self.fields:
            if item.id == key:
                return item
        for item in self.fields:
            if item.name == key:
                return item
        return None

    def to_api(self, visible_field_ids: bool = False) -> dict[str, Any]:
        view: dict[str, Any] = {"id": self.view_id, "name": "Grid view", "type": "grid"}
        if visible_field_ids:
            view["visibleFieldIds"] = [f.id for f in self.fields]
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "primaryFieldId": self.fields[0].id,
            "fields": [f.to_api() for f in self.fields],
            "views": [view],
        }
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class _Base:
    id: str
    name: str
    tables: list[_Table] = field(default_factory=list)


@dataclass
class _Iterator:
    """Server-side state behind a list-records ``offset``."""

    id: str
    base_id: str
    table_id: str
    record_ids: list[str]
    pages: dict[str, int]  # offset token -> index of the next record
    last_used: float


@dataclass
class _RateState:
    times: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


@dataclass
class _Fault:
    kind: str
    remaining: int
    path_contains: str | None
    method: str | None
    seconds: float


class RequestLog(NamedTuple):
    """One request received: unpacks as (method, path, params, status, timestamp).

    ``path`` is URL-decoded; ``params`` holds the query parameters (one value as str,
    repeated or ``[]`` keys as lists), plus the JSON body keys for ``listRecords``;
    ``status`` is 0 for a dropped connection; ``timestamp`` is ``time.monotonic()``
    when the request arrived.
    """

    method: str
    path: str
    params: dict[str, Any]
    status: int
    timestamp: float


@dataclass
class _ListQuery:
    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    offset: str | None = None
    fields: list[str] | None = None
    formula: str = ""
    sort: list[tuple[str, str]] = field(default_factory=list)
    view: str | None = None
    cell_format: str = "json"
    time_zone: str | None = None
    user_locale: str | None = None
    by_field_id: bool = False
    record_metadata: list[str] = field(default_factory=list)


def _is_empty(value: Any) -> bool:
    """Airtable leaves these out of responses (and clears the cell on write)."""
    return value is None or value is False or value == "" or value == [] or value == {}


def _bool_param(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _int_param(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise _invalid_request(f"{name} must be an integer") from exc
    if number < 1:
        raise _invalid_request(f"{name} must be positive")
    return number


# --------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, fake: FakeAirtable) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like api.airtable.com
    server_version = "FakeAirtable/1.0"

    def _fake(self) -> FakeAirtable:
        return cast(_HTTPServer, self.server).fake

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._fake()._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self._fake()._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._fake()._serve(self)

    do_POST = do_GET
    do_PATCH = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet


# -------------------------------------------------------------------------- server


class FakeAirtable:
    """An in-process Airtable look-alike serving HTTP on 127.0.0.1.

    Usage::

        with FakeAirtable(rate_limit=None) as server:
            server.add_table("appTEST", "Sites", [{"name": "Nom", "type": "singleLineText"}])
            server.add("appTEST", "Sites", {"Nom": "Porte de la Chapelle"})
            api = pyairtable.Api("patTEST", endpoint_url=server.url)
            api.table("appTEST", "Sites").all()

    Known differences from Airtable: an unknown base answers 404 NOT_FOUND (real
    Airtable answers 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND to a token); a record
    is only found in its own table; offsets snapshot the matching record ids on the
    first page (records edited later are served with their current values, deleted
    ones are skipped); pageSize above 100 is clamped; views hold no filters; the
    50 requests/s per-token limit, webhooks, comments and attachments uploads are not
    modelled; with ``strict_formulas`` (default) a formula that evaluates to an error
    answers 422 instead of silently matching nothing.
    """

    def __init__(
        self,
        token: str = "patTEST",
        rate_limit: float | None = 5.0,
        penalty_seconds: float = 30.0,
        latency_seconds: float = 0.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.rate_limit = rate_limit
        self.penalty_seconds = penalty_seconds
        self.latency_seconds = latency_seconds
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.send_retry_after = False
        self.offset_ttl_seconds: float | None = None
        self.strict_formulas = True
        self.errors: list[BaseException] = []  # unexpected exceptions inside the fake

        self._lock = threading.RLock()  # data, iterators
        self._meta_lock = threading.Lock()  # log, faults, rate limits, connections
        self._rng = random.Random()
        self._ids: set[str] = set()
        self._bases: dict[str, _Base] = {}
        self._iterators: dict[str, _Iterator] = {}
        self._dead_iterators: set[str] = set()
        self._rate: dict[str, _RateState] = {}
        self._faults: list[_Fault] = []
        self._log: list[RequestLog] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeAirtable:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how fast stop() is noticed
            name=f"FakeAirtable:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and wake sleeping handlers."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._meta_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeAirtable:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeAirtable is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Endpoint URL to give pyairtable, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def now(self) -> datetime:
        """The server clock, as an aware UTC datetime truncated to milliseconds."""
        return _utc_ms(self.clock())

    # -- data setup (direct, no HTTP, no auth, no rate limit, not logged)

    def add_base(self, base_id: str, name: str | None = None) -> str:
        """Create an empty base (no-op if it exists)."""
        with self._lock:
            if base_id not in self._bases:
                self._bases[base_id] = _Base(base_id, name or base_id)
                self._ids.add(base_id)
            return base_id

    def add_table(
        self,
        base_id: str,
        name: str,
        fields: list[dict[str, Any]],
        table_id: str | None = None,
        description: str | None = None,
    ) -> str:
        """Create a table from metadata field specs (name, type, options); returns its id.

        The first field is the primary field. The base is created if missing.
        """
        with self._lock:
            self.add_base(base_id)
            table = self._create_table(
                self._bases[base_id],
                {"name": name, "fields": fields, "description": description},
                table_id,
            )
            return table.id

    def add_field(
        self,
        base_id: str,
        table: str,
        name: str,
        field_type: str,
        options: dict[str, Any] | None = None,
    ) -> str:
        """Add a field to a table (as in the UI); returns its id."""
        with self._lock:
            spec: dict[str, Any] = {"name": name, "type": field_type, "options": options}
            return self._create_field(self._table(base_id, table), spec).id

    def table_id(self, base_id: str, table: str) -> str:
        """The id of a table given by name or id."""
        with self._lock:
            return self._table(base_id, table).id

    def field_id(self, base_id: str, table: str, field_name: str) -> str:
        """The id of a field given by name or id."""
        with self._lock:
            found = self._table(base_id, table).field(field_name)
            if found is None:
                raise KeyError(field_name)
            return found.id

    def load_records(
        self, base_id: str, table: str, records: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Load records in API shape ``{"id", "createdTime", "fields"}``, kept as given.

        Missing ids/createdTime are generated; an optional ``lastModifiedTime`` key sets
        the record's last modification (default: the value of a lastModifiedTime field,
        else createdTime). Unknown field names are added to the schema. Returns the ids.
        """
        with self._lock:
            tbl = self._table(base_id, table)
            now = self.now()
            ids: list[str] = []
            for item in records:
                record_id = str(item.get("id") or self._new_id("rec"))
                self._ids.add(record_id)
                created_raw = item.get("createdTime")
                created = _parse_iso(created_raw) if isinstance(created_raw, str) else None
                created = created or now
                values: dict[str, Any] = {}
                modified: datetime | None = None
                for key, value in (item.get("fields") or {}).items():
                    fld = tbl.field(key) or self._infer_field(tbl, key, value)
                    if fld.type in SELECT_TYPES:
                        self._ensure_choices(fld, value)
                    if fld.type == "lastModifiedTime" and isinstance(value, str):
                        modified = _parse_iso(value)
                    if not _is_empty(value):
                        values[fld.id] = value
                explicit = item.get("lastModifiedTime")
                if isinstance(explicit, str):
                    modified = _parse_iso(explicit)
                elif isinstance(explicit, datetime):
                    modified = _utc_ms(explicit)
                modified = modified or created
                old = tbl.records.get(record_id)
                tbl.records[record_id] = _Record(
                    id=record_id,
                    created=created,
                    created_raw=created_raw if isinstance(created_raw, str) else _iso(created),
                    fields=values,
                    modified=modified,
                    field_modified=dict.fromkeys(values, modified),
                    auto_number=old.auto_number if old else self._next_auto(tbl),
                )
                ids.append(record_id)
            return ids

    def add(self, base_id: str, table: str, fields: Mapping[str, Any]) -> str:
        """Create a record as a UI user would (values kept as given); returns its id."""
        with self._lock:
            tbl = self._table(base_id, table)
            values = self._direct_values(tbl, fields)
            return self._insert(tbl, values, self.now()).id

    def edit(self, base_id: str, table: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change some cells of a record as a UI user would (bumps lastModifiedTime)."""
        with self._lock:
            tbl = self._table(base_id, table)
            record = tbl.records.get(record_id)
            if record is None:
                raise KeyError(record_id)
            self._apply(tbl, record, self._direct_values(tbl, fields), False, self.now())

    def delete(self, base_id: str, table: str, record_id: str) -> None:
        """Delete a record as a UI user would."""
        with self._lock:
            tbl = self._table(base_id, table)
            if tbl.records.pop(record_id, None) is None:
                raise KeyError(record_id)

    def records(self, base_id: str, table: str) -> list[dict[str, Any]]:
        """Every record of a table in API shape (default order), for assertions."""
        with self._lock:
            tbl = self._table(base_id, table)
            return [self._record_json(tbl, r) for r in self._ordered(tbl)]

    def record(self, base_id: str, table: str, record_id: str) -> dict[str, Any]:
        """One record in API shape."""
        with self._lock:
            tbl = self._table(base_id, table)
            if record_id not in tbl.records:
                raise KeyError(record_id)
            return self._record_json(tbl, tbl.records[record_id])

    def last_modified(self, base_id: str, table: str, record_id: str) -> datetime:
        """The record's LAST_MODIFIED_TIME()."""
        with self._lock:
            return self._table(base_id, table).records[record_id].modified

    # -- offsets, rate limit, faults

    def expire_offsets(self) -> int:
        """Make every outstanding offset answer 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE."""
        with self._lock:
            count = len(self._iterators)
            self._dead_iterators.update(self._iterators)
            self._iterators.clear()
            return count

    def reset_rate_limits(self) -> None:
        """Forget request history and lift any penalty."""
        with self._meta_lock:
            self._rate.clear()

    def inject(
        self,
        kind: str | int,
        count: int = 1,
        path_contains: str | None = None,
        *,
        method: str | None = None,
        seconds: float = 10.0,
    ) -> None:
        """Make the next ``count`` matching requests fail.

        kind: "503" / "500" (JSON error body), "429" (rate-limit body, no penalty),
        "drop" (close the connection without any answer), "timeout" (wait ``seconds``,
        then answer normally). ``path_contains`` matches the decoded or raw path.
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._meta_lock:
            self._faults.append(
                _Fault(kind, count, path_contains, method.upper() if method else None, seconds)
            )

    def clear_faults(self) -> None:
        """Drop faults not yet applied."""
        with self._meta_lock:
            self._faults.clear()

    # -- observability

    @property
    def requests(self) -> list[RequestLog]:
        """A snapshot of the requests received so far (oldest first)."""
        with self._meta_lock:
            return list(self._log)

    def count(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match all the given criteria."""
        return sum(
            1
            for entry in self.requests
            if (method is None or entry.method == method.upper())
            and (path_contains is None or path_contains in entry.path)
            and (status is None or entry.status == status)
        )

    def reset_log(self) -> None:
        """Forget logged requests."""
        with self._meta_lock:
            self._log.clear()

    # ------------------------------------------------------------ request handling

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._meta_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _serve(self, handler: _Handler) -> None:
        received = time.monotonic()
        method = handler.command.upper()
        raw_path, _, raw_query = handler.path.partition("?")
        segments = [urllib.parse.unquote(s) for s in raw_path.split("/") if s]
        path = "/" + "/".join(segments)
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        params: dict[str, Any] = {
            k: v if k.endswith("]") or len(v) > 1 else v[0] for k, v in query.items()
        }
        fault = self._take_fault(method, raw_path, path)
        if fault is not None and fault.kind == "drop":
            self._record(method, path, params, 0, received)
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        raw_body = handler.rfile.read(length) if length > 0 else b""
        if method == "POST" and segments[-1:] == ["listRecords"]:
            try:
                body = json.loads(raw_body or b"{}")
                if isinstance(body, dict):
                    params.update(body)
            except ValueError:
                pass
        self._sleep(self.latency_seconds)
        headers: dict[str, str] = {}
        if fault is not None and fault.kind == "timeout":
            self._sleep(fault.seconds)
        if fault is not None and fault.kind in ("500", "503", "429"):
            status, payload = self._fault_answer(fault.kind)
        else:
            status, payload, headers = self._answer(method, segments, query, raw_body, handler)
        self._record(method, path, params, status, received)
        self._send(handler, status, payload, headers)

    @staticmethod
    def _fault_answer(kind: str) -> tuple[int, Any]:
        if kind == "429":
            return 429, _rate_limit_body()
        if kind == "503":
            return 503, ApiError(
                503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable"
            ).payload()
        return 500, ApiError(
            500, "SERVER_ERROR", "Try again. If the problem persists, contact support."
        ).payload()

    def _take_fault(self, method: str, raw_path: str, path: str) -> _Fault | None:
        with self._meta_lock:
            for fault in self._faults:
                if fault.method is not None and fault.method != method:
                    continue
                if fault.path_contains is not None and not (
                    fault.path_contains in path or fault.path_contains in raw_path
                ):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _record(
        self, method: str, path: str, params: dict[str, Any], status: int, received: float
    ) -> None:
        with self._meta_lock:
            self._log.append(RequestLog(method, path, params, status, received))

    @staticmethod
    def _send(handler: _Handler, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    def _answer(
        self,
        method: str,
        segments: list[str],
        query: dict[str, list[str]],
        raw_body: bytes,
        handler: _Handler,
    ) -> tuple[int, Any, dict[str, str]]:
        auth = handler.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            error = ApiError(401, "AUTHENTICATION_REQUIRED", "Authentication required")
            return 401, error.payload(), {}
        retry_after = self._rate_check(segments)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)} if self.send_retry_after else {}
            return 429, _rate_limit_body(), headers
        try:
            with self._lock:
                status, payload = self._route(method, segments, query, raw_body)
            return status, payload, {}
        except ApiError as error:
            return error.status, error.payload(), {}
        except Exception as exc:  # a bug in the fake: answer 500 and keep it for tests
            self.errors.append(exc)
            return 500, ApiError(500, "SERVER_ERROR", repr(exc)).payload(), {}

    def _rate_check(self, segments: list[str]) -> int | None:
        """None if allowed, else the seconds left in the penalty (for Retry-After)."""
        if self.rate_limit is None:
            return None
        if len(segments) >= 4 and segments[1] == "meta" and segments[2] == "bases":
            key = segments[3]
        elif len(segments) >= 2 and segments[1] != "meta":
            key = segments[1]
        else:
            key = ""  # meta/bases, meta/whoami: not tied to a base
        now = time.monotonic()
        with self._meta_lock:
            state = self._rate.setdefault(key, _RateState())
            if state.blocked_until > now:
                return max(1, math.ceil(state.blocked_until - now))
            while state.times and state.times[0] <= now - 1.0:
                state.times.popleft()
            state.times.append(now)
            if len(state.times) > self.rate_limit:
                state.blocked_until = now + self.penalty_seconds
                state.times.clear()
                return max(1, math.ceil(self.penalty_seconds))
        return None

    # ------------------------------------------------------------------- routing

    def _route(
        self, method: str, segments: list[str], query: dict[str, list[str]], raw_body: bytes
    ) -> tuple[int, Any]:
        if len(segments) < 2 or segments[0] != "v0":
            raise _not_found()
        if segments[1] == "meta":
            return self._route_meta(method, segments[2:], query, raw_body)
        base = self._api_base(segments[1])
        if len(segments) < 3:
            raise _not_found()
        table = self._api_table(base, segments[2])
        rest = segments[3:]
        if not rest:
            if method == "GET":
                return 200, self._list(base, table, self._query_from_params(query))
            if method == "POST":
                return 200, self._create(table, _json_body(raw_body))
            if method in ("PATCH", "PUT"):
                return 200, self._update_many(table, _json_body(raw_body), method == "PUT")
            if method == "DELETE":
                return 200, self._delete_many(table, query)
        elif rest == ["listRecords"] and method == "POST":
            list_query = self._query_from_body(_json_body(raw_body), query)
            return 200, self._list(base, table, list_query)
        elif len(rest) == 1:
            return 200, self._one_record(method, table, rest[0], query, raw_body)
        raise _not_found()

    def _route_meta(
        self, method: str, rest: list[str], query: dict[str, list[str]], raw_body: bytes
    ) -> tuple[int, Any]:
        if rest == ["whoami"] and method == "GET":
            return 200, {"id": "usrFAKEAIRTABLE00", "scopes": ["data.records:read"]}
        if rest == ["bases"] and method == "GET":
            bases = [
                {"id": b.id, "name": b.name, "permissionLevel": "create"}
                for b in self._bases.values()
            ]
            return 200, {"bases": bases}
        if len(rest) < 3 or rest[0] != "bases" or rest[2] != "tables":
            raise _not_found()
        base = self._api_base(rest[1])
        tail = rest[3:]
        if not tail:
            if method == "GET":
                include = query.get("include", []) + query.get("include[]", [])
                visible = "visibleFieldIds" in include
                return 200, {"tables": [t.to_api(visible) for t in base.tables]}
            if method == "POST":
                return 200, self._create_table(base, _json_body(raw_body)).to_api()
            raise _not_found()
        table = self._api_table(base, tail[0])
        if len(tail) == 1 and method == "PATCH":
            body = _json_body(raw_body)
            if "name" in body:
                name = body["name"]
                if not isinstance(name, str) or not name.strip():
                    raise _invalid_request("table name must be a non-empty string")
                if any(t is not table and t.name.lower() == name.lower() for t in base.tables):
                    raise ApiError(
                        422, "DUPLICATE_TABLE_NAME", f"Table name {name!r} is already used"
                    )
                table.name = name
            if "description" in body:
                table.description = body["description"] or None
            return 200, table.to_api()
        if len(tail) == 2 and tail[1] == "fields" and method == "POST":
            return 200, self._create_field(table, _json_body(raw_body)).to_api()
        if len(tail) == 3 and tail[1] == "fields" and method == "PATCH":
            fld = table.field(tail[2])
            if fld is None:
                raise _not_found()
            body = _json_body(raw_body)
            if "name" in body:
                name = body["name"]
                if not isinstance(name, str) or not name.strip():
                    raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Empty field name")
                if any(f is not fld and f.name.lower() == name.lower() for f in table.fields):
                    raise ApiError(
                        422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f"Duplicate field name {name!r}"
                    )
                fld.name = name
            if "description" in body:
                fld.description = body["description"] or None
            return 200, fld.to_api()
        raise _not_found()

    # --------------------------------------------------------------- data helpers

    def _new_id(self, prefix: str) -> str:
        while True:
            value = prefix + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(14))
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _table(self, base_id: str, table: str) -> _Table:
        """Direct-helper lookup: KeyError if missing."""
        base = self._bases.get(base_id)
        if base is None:
            raise KeyError(f"unknown base {base_id!r}")
        found = _find_table(base, table)
        if found is None:
            raise KeyError(f"unknown table {table!r} in {base_id}")
        return found

    def _api_base(self, base_id: str) -> _Base:
        base = self._bases.get(base_id)
        if base is None:
            raise _not_found()
        return base

    def _api_table(self, base: _Base, key: str) -> _Table:
        table = _find_table(base, key)
        if table is None:
            raise ApiError(
                404, "TABLE_NOT_FOUND", f"Could not find table {key} in application {base.id}"
            )
        return table

    def _next_auto(self, table: _Table) -> int:
        number = table.next_auto_number
        table.next_auto_number += 1
        return number

    def _create_table(
        self, base: _Base, spec: Mapping[str, Any], table_id: str | None = None
    ) -> _Table:
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid_request("table name must be a non-empty string")
        if any(t.name.lower() == name.lower() for t in base.tables):
            raise ApiError(
                422,
                "DUPLICATE_TABLE_NAME",
                f"Table name {name!r} is already used in this base",
            )
        specs = spec.get("fields")
        if not isinstance(specs, list) or not specs:
            raise _invalid_request("a table needs at least one field")
        table = _Table(
            id=table_id or self._new_id("tbl"),
            name=name,
            fields=[],
            view_id=self._new_id("viw"),
            description=spec.get("description") or None,
        )
        self._ids.add(table.id)
        for field_spec in specs:
            if not isinstance(field_spec, Mapping):
                raise _invalid_request("each field must be an object")
            self._create_field(table, field_spec)
        base.tables.append(table)
        return table

    def _create_field(self, table: _Table, spec: Mapping[str, Any]) -> _Field:
        name, field_type = spec.get("name"), spec.get("type")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Field name cannot be empty")
        if any(f.name.lower() == name.lower() for f in table.fields):
            raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f"Duplicate field name {name!r}")
        if not isinstance(field_type, str) or not field_type:
            raise ApiError(422, "INVALID_FIELD_TYPE", f"Invalid type for field {name!r}")
        options = spec.get("options")
        if options is not None and not isinstance(options, Mapping):
            raise _invalid_request("field options must be an object")
        new = _Field(
            id=str(spec.get("id") or self._new_id("fld")),
            name=name,
            type=field_type,
            options=self._normalize_options(field_type, options),
            description=spec.get("description") or None,
        )
        self._ids.add(new.id)
        table.fields.append(new)
        return new

    def _normalize_options(
        self, field_type: str, options: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """Fill in the option defaults Airtable returns (and pyairtable's schema needs)."""
        opts: dict[str, Any] = dict(options or {})
        if field_type in ("number", "percent"):
            opts.setdefault("precision", 0)
        elif field_type == "currency":
            opts.setdefault("precision", 2)
            opts.setdefault("symbol", "$")
        elif field_type in ("date", "dateTime"):
            date_format = dict(opts.get("dateFormat") or {})
            date_format.setdefault("name", "iso")
            date_format.setdefault("format", _DATE_FORMATS.get(date_format["name"], "YYYY-MM-DD"))
            opts["dateFormat"] = date_format
            if field_type == "dateTime":
                time_format = dict(opts.get("timeFormat") or {})
                time_format.setdefault("name", "24hour")
                time_format.setdefault("format", _TIME_FORMATS.get(time_format["name"], "HH:mm"))
                opts["timeFormat"] = time_format
                opts.setdefault("timeZone", "utc")
        elif field_type in SELECT_TYPES:
            choices = []
            for choice in opts.get("choices") or []:
                item = {"name": choice} if isinstance(choice, str) else dict(choice)
                item.setdefault("id", self._new_id("sel"))
                choices.append(item)
            opts["choices"] = choices
        elif field_type == "checkbox":
            opts.setdefault("color", "greenBright")
            opts.setdefault("icon", "check")
        elif field_type == "rating":
            opts.setdefault("max", 5)
            opts.setdefault("icon", "star")
            opts.setdefault("color", "yellowBright")
        elif field_type == "duration":
            opts.setdefault("durationFormat", "h:mm")
        elif field_type == "multipleRecordLinks":
            opts.setdefault("linkedTableId", "")
            opts.setdefault("isReversed", False)
            opts.setdefault("prefersSingleRecordLink", False)
        elif field_type == "multipleAttachments":
            opts.setdefault("isReversed", False)
        elif field_type in ("createdTime", "lastModifiedTime"):
            opts.setdefault("isValid", True)
            opts.setdefault(
                "result",
                {
                    "type": "dateTime",
                    "options": {
                        "dateFormat": {"name": "iso", "format": "YYYY-MM-DD"},
                        "timeFormat": {"name": "24hour", "format": "HH:mm"},
                        "timeZone": "utc",
                    },
                },
            )
            if field_type == "lastModifiedTime":
                opts.setdefault("referencedFieldIds", [])
        return opts or None

    def _ensure_choices(self, fld: _Field, value: Any) -> None:
        names = value if isinstance(value, list) else [value]
        opts = fld.options if fld.options is not None else {"choices": []}
        fld.options = opts
        choices = opts.setdefault("choices", [])
        known = {c.get("name") for c in choices}
        for name in names:
            if isinstance(name, str) and name and name not in known:
                choices.append({"id": self._new_id("sel"), "name": name})
                known.add(name)

    def _infer_field(self, table: _Table, name: str, value: Any) -> _Field:
        """Add a field for an unknown name met in load_records, guessing its type."""
        if isinstance(value, bool):
            field_type = "checkbox"
        elif isinstance(value, int | float):
            field_type = "number"
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            field_type = "multipleSelects"
        elif isinstance(value, list):
            field_type = "multipleLookupValues"
        elif isinstance(value, str) and "T" in value and _parse_iso(value) is not None:
            field_type = "dateTime"
        else:
            field_type = "singleLineText"
        options: dict[str, Any] | None = None
        if field_type == "multipleLookupValues":
            options = {"isValid": True}
        if field_type == "number":
            options = {"precision": 0 if isinstance(value, int) else 2}
        return self._create_field(table, {"name": name, "type": field_type, "options": options})

    def _direct_values(self, table: _Table, fields: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in fields.items():
            fld = table.field(key)
            if fld is None:
                raise KeyError(f"unknown field {key!r} in table {table.name!r}")
            if fld.type in SELECT_TYPES:
                self._ensure_choices(fld, value)
            values[fld.id] = value
        return values

    def _insert(self, table: _Table, values: dict[str, Any], now: datetime) -> _Record:
        kept = {k: v for k, v in values.items() if not _is_empty(v)}
        record = _Record(
            id=self._new_id("rec"),
            created=now,
            created_raw=_iso(now),
            fields=kept,
            modified=now,
            field_modified=dict.fromkeys(kept, now),
            auto_number=self._next_auto(table),
        )
        table.records[record.id] = record
        return record

    def _apply(
        self,
        table: _Table,
        record: _Record,
        values: dict[str, Any],
        replace: bool,
        now: datetime,
    ) -> None:
        changed: set[str] = set()
        if replace:
            computed = {f.id for f in table.fields if f.type in COMPUTED_TYPES}
            for field_id in list(record.fields):
                if field_id not in values and field_id not in computed:
                    del record.fields[field_id]
                    changed.add(field_id)
        for field_id, value in values.items():
            if _is_empty(value):
                record.fields.pop(field_id, None)
            else:
                record.fields[field_id] = value
            changed.add(field_id)
        for field_id in changed:
            record.field_modified[field_id] = now
        if changed:
            record.modified = now

    def _ordered(self, table: _Table) -> list[_Record]:
        return sorted(table.records.values(), key=lambda r: (r.created, r.id))

    def _cell(self, table: _Table, record: _Record, fld: _Field) -> Any:
        """The value Airtable would show in a cell (computed types included)."""
        if fld.type == "createdTime":
            return _iso(record.created)
        if fld.type == "lastModifiedTime":
            refs = (fld.options or {}).get("referencedFieldIds") or []
            if refs:
                return _iso(max(record.field_modified.get(r, record.created) for r in refs))
            return _iso(record.modified)
        if fld.type == "autoNumber":
            return record.auto_number
        return record.fields.get(fld.id)

    def _record_json(
        self,
        table: _Table,
        record: _Record,
        *,
        by_id: bool = False,
        only: set[str] | None = None,
        as_string: bool = False,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fld in table.fields:
            if only is not None and fld.id not in only:
                continue
            value = self._cell(table, record, fld)
            if _is_empty(value):
                continue
            out[fld.id if by_id else fld.name] = _to_str(value) if as_string else value
        return {"id": record.id, "createdTime": record.created_raw, "fields": out}

    def _formula_value(self, table: _Table, record: _Record, key: str) -> Any:
        fld = table.field(key)
        if fld is None:  # checked at compile time
            raise _EvalError(f"unknown field {key!r}")
        value = self._cell(table, record, fld)
        if value is None:
            return False if fld.type == "checkbox" else None
        if fld.type in DATE_TYPES and isinstance(value, str):
            return _parse_iso(value) or value
        return value

    # -------------------------------------------------------------- list records

    def _query_from_params(self, query: dict[str, list[str]]) -> _ListQuery:
        result = _ListQuery()
        sort: dict[int, dict[str, str]] = {}
        for key, values in query.items():
            value = values[-1]
            if key in ("fields[]", "fields") or re.fullmatch(r"fields\[\d+\]", key):
                result.fields = (result.fields or []) + values
            elif match := re.fullmatch(r"sort\[(\d+)\]\[(field|direction)\]", key):
                sort.setdefault(int(match.group(1)), {})[match.group(2)] = value
            elif key == "pageSize":
                result.page_size = _int_param(key, value)
            elif key == "maxRecords":
                result.max_records = _int_param(key, value)
            elif key == "offset":
                result.offset = value or None
            elif key == "filterByFormula":
                result.formula = value
            elif key == "view":
                result.view = value or None
            elif key == "cellFormat":
                result.cell_format = value
            elif key == "timeZone":
                result.time_zone = value
            elif key == "userLocale":
                result.user_locale = value
            elif key == "returnFieldsByFieldId":
                result.by_field_id = _bool_param(value)
            elif key in ("recordMetadata[]", "recordMetadata"):
                result.record_metadata = values
            else:
                raise _invalid_request(f"unknown parameter {key!r}")
        for index in sorted(sort):
            item = sort[index]
            if "field" not in item:
                raise _invalid_request("sort items need a field")
            result.sort.append((item["field"], item.get("direction", "asc")))
        return result

    def _query_from_body(self, body: dict[str, Any], query: dict[str, list[str]]) -> _ListQuery:
        result = self._query_from_params(query)  # timeZone / userLocale come as params
        for key, value in body.items():
            if key == "fields":
                if not isinstance(value, list):
                    raise _invalid_request("fields must be an array")
                result.fields = [str(v) for v in value]
            elif key == "sort":
                if not isinstance(value, list) or not all(
                    isinstance(v, dict) and "field" in v for v in value
                ):
                    raise _invalid_request("sort must be an array of {field, direction}")
                result.sort = [(str(v["field"]), str(v.get("direction", "asc"))) for v in value]
            elif key == "pageSize":
                result.page_size = _int_param(key, value)
            elif key == "maxRecords":
                result.max_records = _int_param(key, value)
            elif key == "offset":
                result.offset = str(value) if value else None
            elif key == "filterByFormula":
                result.formula = str(value or "")
            elif key == "view":
                result.view = str(value) if value else None
            elif key == "cellFormat":
                result.cell_format = str(value)
            elif key == "timeZone":
                result.time_zone = str(value)
            elif key == "userLocale":
                result.user_locale = str(value)
            elif key == "returnFieldsByFieldId":
                result.by_field_id = _bool_param(value)
            elif key == "recordMetadata":
                result.record_metadata = [str(v) for v in value or []]
            else:
                raise _invalid_request(f"unknown parameter {key!r}")
        return result

    def _list(self, base: _Base, table: _Table, query: _ListQuery) -> dict[str, Any]:
        if query.cell_format not in ("json", "string"):
            raise _invalid_request("cellFormat must be 'json' or 'string'")
        if query.cell_format == "string" and not (query.time_zone and query.user_locale):
            raise _invalid_request("cellFormat 'string' requires timeZone and userLocale")
        only: set[str] | None = None
        if query.fields is not None:
            only = set()
            for key in query.fields:
                fld = table.field(key)
                if fld is None:
                    raise ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{key}"')
                only.add(fld.id)
        page_size = min(query.page_size, MAX_PAGE_SIZE)
        if query.offset is not None:
            iterator, start = self._resume(base, table, query.offset)
        else:
            iterator, start = self._new_iterator(base, table, query), 0
        end = start + page_size
        records = [
            self._record_json(
                table,
                table.records[rid],
                by_id=query.by_field_id,
                only=only,
                as_string=query.cell_format == "string",
            )
            for rid in iterator.record_ids[start:end]
            if rid in table.records
        ]
        if "commentCount" in query.record_metadata:
            for item in records:
                item["commentCount"] = 0
        answer: dict[str, Any] = {"records": records}
        if end < len(iterator.record_ids):
            token = f"{iterator.id}/{iterator.record_ids[end - 1]}"
            iterator.pages[token] = end
            iterator.last_used = time.monotonic()
            self._iterators[iterator.id] = iterator
            answer["offset"] = token
        else:
            self._iterators.pop(iterator.id, None)
        return answer

    def _resume(self, base: _Base, table: _Table, token: str) -> tuple[_Iterator, int]:
        match = _OFFSET_RE.match(token)
        if match is None:
            raise ApiError(422, "INVALID_OFFSET_VALUE", f"The value of offset {token} is invalid")
        iterator = self._iterators.get(match.group(1))
        expired = (
            iterator is not None
            and self.offset_ttl_seconds is not None
            and time.monotonic() - iterator.last_used > self.offset_ttl_seconds
        )
        if expired or iterator is None or token not in iterator.pages:
            if iterator is not None and expired:
                self._iterators.pop(iterator.id, None)
                self._dead_iterators.add(iterator.id)
            raise ApiError(
                422,
                "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                "The list records iterator is not available; restart the listing",
            )
        if iterator.base_id != base.id or iterator.table_id != table.id:
            raise ApiError(422, "INVALID_OFFSET_VALUE", f"The value of offset {token} is invalid")
        return iterator, iterator.pages[token]

    def _new_iterator(self, base: _Base, table: _Table, query: _ListQuery) -> _Iterator:
        if query.view is not None and query.view not in (table.view_id, "Grid view"):
            raise ApiError(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{query.view}"')
        records = self._ordered(table)
        if query.formula.strip():
            records = self._filter(table, records, query.formula)
        for key, direction in reversed(query.sort):
            fld = table.field(key)
            if fld is None:
                raise ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{key}"')
            if direction not in ("asc", "desc"):
                raise _invalid_request("sort direction must be 'asc' or 'desc'")
            records.sort(key=self._sorter(table, fld.id), reverse=direction == "desc")
        ids = [r.id for r in records]
        if query.max_records is not None:
            ids = ids[: query.max_records]
        return _Iterator(
            id=self._new_id("itr"),
            base_id=base.id,
            table_id=table.id,
            record_ids=ids,
            pages={},
            last_used=time.monotonic(),
        )

    def _sorter(self, table: _Table, field_id: str) -> Callable[[_Record], tuple[int, Any]]:
        def key(record: _Record) -> tuple[int, Any]:
            return _sort_key(self._formula_value(table, record, field_id))

        return key

    def _context(self, table: _Table, record: _Record, now: datetime) -> _EvalContext:
        def value(key: str) -> Any:
            return self._formula_value(table, record, key)

        def field_id(key: str) -> str:
            return cast(_Field, table.field(key)).id

        return _EvalContext(
            record_id=record.id,
            created=record.created,
            modified=record.modified,
            field_modified=record.field_modified,
            now=now,
            value=value,
            field_id=field_id,
        )

    def _filter(self, table: _Table, records: list[_Record], formula: str) -> list[_Record]:
        try:
            node = compile_formula(formula, lambda name: table.field(name) is not None)
        except FormulaError as exc:
            raise ApiError(
                422,
                "INVALID_FILTER_BY_FORMULA",
                f"The formula for filtering records is invalid: {exc}",
            ) from exc
        now = self.now()
        kept: list[_Record] = []
        for record in records:
            try:
                result = _evaluate(node, self._context(table, record, now))
            except _EvalError as exc:
                if self.strict_formulas:
                    raise ApiError(
                        422,
                        "INVALID_FILTER_BY_FORMULA",
                        f"The formula for filtering records is invalid: {exc} (record {record.id})",
                    ) from exc
                continue
            if _truthy(result):
                kept.append(record)
        return kept

    # ------------------------------------------------------------------- writes

    def _prepare(self, table: _Table, fields: Any, typecast: bool) -> dict[str, Any]:
        """Validate API-written cell values; returns them keyed by field id."""
        if not isinstance(fields, Mapping):
            raise _invalid_request('"fields" must be an object')
        values: dict[str, Any] = {}
        for key, value in fields.items():
            fld = table.field(key)
            if fld is None:
                raise ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{key}"')
            values[fld.id] = self._coerce(fld, value, typecast)
        return values

    def _coerce(self, fld: _Field, value: Any, typecast: bool) -> Any:
        def bad() -> ApiError:
            return ApiError(
                422,
                "INVALID_VALUE_FOR_COLUMN",
                f'Field "{fld.name}" cannot accept the provided value',
            )

        if fld.type in COMPUTED_TYPES:
            raise ApiError(
                422,
                "INVALID_VALUE_FOR_COLUMN",
                f'Field "{fld.name}" cannot accept a value because the field is computed',
            )
        if value is None:
            return None
        kind = fld.type
        if kind in TEXT_TYPES:
            if isinstance(value, str):
                return value
            if typecast and isinstance(value, int | float | bool):
                return _to_str(value)
            raise bad()
        if kind in NUMBER_TYPES:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            if typecast and isinstance(value, str):
                try:
                    return _to_num(value) if value.strip() else None
                except _EvalError:
                    return None
            raise bad()
        if kind == "checkbox":
            if isinstance(value, bool):
                return value
            if typecast:
                return _truthy(value) and str(value).lower() not in ("0", "false", "no")
            raise bad()
        if kind in ("date", "dateTime"):
            if not isinstance(value, str):
                raise bad()
            if value == "":
                return None
            parsed = _parse_iso(value)
            if parsed is None:
                raise bad()
            return parsed.strftime("%Y-%m-%d") if kind == "date" else _iso(parsed)
        if kind in SELECT_TYPES:
            names = value if kind == "multipleSelects" else [value]
            if kind == "multipleSelects" and not isinstance(value, list):
                if not (typecast and isinstance(value, str)):
                    raise bad()
                names = [v.strip() for v in value.split(",") if v.strip()]
            if not all(isinstance(n, str) for n in names):
                raise bad()
            known = {c.get("name") for c in (fld.options or {}).get("choices", [])}
            missing = [n for n in names if n and n not in known]
            if missing and not typecast:
                raise ApiError(
                    422,
                    "INVALID_MULTIPLE_CHOICE_OPTIONS",
                    f'Insufficient permissions to create new select option ""{missing[0]}""',
                )
            self._ensure_choices(fld, names)
            return names if kind == "multipleSelects" else value
        if kind == "multipleRecordLinks":
            if isinstance(value, str) and typecast:
                value = [value]
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.startswith("rec") for v in value
            ):
                raise ApiError(
                    422,
                    "INVALID_VALUE_FOR_COLUMN",
                    f'Field "{fld.name}" cannot accept the provided value: '
                    "Value is not an array of record IDs.",
                )
            return value
        return value

    def _create(self, table: _Table, body: dict[str, Any]) -> dict[str, Any]:
        typecast = bool(body.get("typecast", False))
        by_id = bool(body.get("returnFieldsByFieldId", False))
        if "records" in body:
            items = body["records"]
            if not isinstance(items, list) or not items:
                raise ApiError(422, "INVALID_RECORDS", '"records" must be a non-empty array')
            if len(items) > MAX_RECORDS_PER_REQUEST:
                raise ApiError(
                    422,
                    "INVALID_RECORDS",
                    f"A maximum of {MAX_RECORDS_PER_REQUEST} records can be created per "
                    f"request but you have provided {len(items)}.",
                )
            if not all(isinstance(i, dict) for i in items):
                raise ApiError(422, "INVALID_RECORDS", "Each record must be an object")
            prepared = [self._prepare(table, i.get("fields", {}), typecast) for i in items]
            now = self.now()
            created = [self._insert(table, values, now) for values in prepared]
            return {"records": [self._record_json(table, r, by_id=by_id) for r in created]}
        if "fields" in body:
            values = self._prepare(table, body["fields"], typecast)
            record = self._insert(table, values, self.now())
            return self._record_json(table, record, by_id=by_id)
        raise ApiError(
            422,
            "INVALID_REQUEST_MISSING_FIELDS",
            'Could not find field "fields" in the request body',
        )

    def _update_many(self, table: _Table, body: dict[str, Any], replace: bool) -> dict[str, Any]:
        typecast = bool(body.get("typecast", False))
        by_id = bool(body.get("returnFieldsByFieldId", False))
        items = body.get("records")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise ApiError(422, "INVALID_RECORDS", '"records" must be a non-empty array')
        if len(items) > MAX_RECORDS_PER_REQUEST:
            raise ApiError(
                422,
                "INVALID_RECORDS",
                f"A maximum of {MAX_RECORDS_PER_REQUEST} records can be updated per "
                f"request but you have provided {len(items)}.",
            )
        merge_ids: list[str] | None = None
        upsert = body.get("performUpsert")
        if upsert is not None:
            merge_on = upsert.get("fieldsToMergeOn") if isinstance(upsert, dict) else None
            if not isinstance(merge_on, list) or not merge_on:
                raise _invalid_request("performUpsert.fieldsToMergeOn must be a non-empty array")
            merge_ids = []
            for key in merge_on:
                fld = table.field(str(key))
                if fld is None:
                    raise ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{key}"')
                merge_ids.append(fld.id)
        # Validate everything first, so that a bad record leaves the table untouched.
        plan: list[tuple[_Record | None, dict[str, Any]]] = []
        for item in items:
            values = self._prepare(table, item.get("fields", {}), typecast)
            record_id = item.get("id")
            if record_id:
                record = table.records.get(str(record_id))
                if record is None:
                    raise ApiError(
                        422,
                        "ROW_DOES_NOT_EXIST",
                        f"Record ID {record_id} does not exist in this table",
                    )
                plan.append((record, values))
            elif merge_ids is not None:
                if any(fid not in values for fid in merge_ids):
                    raise _invalid_request("each upserted record needs every fieldsToMergeOn")
                matches = [
                    r
                    for r in self._ordered(table)
                    if all(r.fields.get(fid) == values[fid] for fid in merge_ids)
                ]
                if len(matches) > 1:
                    raise _invalid_request("several records match the fieldsToMergeOn values")
                plan.append((matches[0] if matches else None, values))
            else:
                raise ApiError(422, "INVALID_RECORDS", "Each record needs an id")
        now = self.now()
        done: list[_Record] = []
        created_ids: list[str] = []
        updated_ids: list[str] = []
        for found, values in plan:
            if found is None:
                found = self._insert(table, values, now)
                created_ids.append(found.id)
            else:
                self._apply(table, found, values, replace, now)
                updated_ids.append(found.id)
            done.append(found)
        answer: dict[str, Any] = {
            "records": [self._record_json(table, r, by_id=by_id) for r in done]
        }
        if merge_ids is not None:
            answer["createdRecords"] = created_ids
            answer["updatedRecords"] = updated_ids
        return answer

    def _delete_many(self, table: _Table, query: dict[str, list[str]]) -> dict[str, Any]:
        ids = query.get("records[]", []) + query.get("records", [])
        if not ids or len(ids) > MAX_RECORDS_PER_REQUEST:
            raise ApiError(
                422,
                "INVALID_RECORDS",
                f'"records" must be an array of up to {MAX_RECORDS_PER_REQUEST} record IDs.',
            )
        missing = [rid for rid in ids if rid not in table.records]
        if missing:
            raise ApiError(
                422, "ROW_DOES_NOT_EXIST", f"Record ID {missing[0]} does not exist in this table"
            )
        for rid in ids:
            table.records.pop(rid, None)
        return {"records": [{"id": rid, "deleted": True} for rid in ids]}

    def _one_record(
        self,
        method: str,
        table: _Table,
        record_id: str,
        query: dict[str, list[str]],
        raw_body: bytes,
    ) -> dict[str, Any]:
        record = table.records.get(record_id)
        if record is None:
            raise _not_found()
        if method == "GET":
            params = self._query_from_params(query)
            return self._record_json(
                table,
                record,
                by_id=params.by_field_id,
                as_string=params.cell_format == "string",
            )
        if method in ("PATCH", "PUT"):
            body = _json_body(raw_body)
            if "fields" not in body:
                raise ApiError(
                    422,
                    "INVALID_REQUEST_MISSING_FIELDS",
                    'Could not find field "fields" in the request body',
                )
            values = self._prepare(table, body["fields"], bool(body.get("typecast", False)))
            self._apply(table, record, values, method == "PUT", self.now())
            return self._record_json(
                table, record, by_id=bool(body.get("returnFieldsByFieldId", False))
            )
        if method == "DELETE":
            del table.records[record_id]
            return {"id": record_id, "deleted": True}
        raise _not_found()


# ------------------------------------------------------------------- module helpers


def _rate_limit_body() -> dict[str, Any]:
    return {
        "errors": [
            {
                "error": "RATE_LIMIT_REACHED",
                "message": "Rate limit exceeded. Please try again later",
            }
        ]
    }


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _invalid_request("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _invalid_request("the request body must be a JSON object")
    return body


def _find_table(base: _Base, key: str) -> _Table | None:
    for table in base.tables:
        if table.id == key:
            return table
    for table in base.tables:
        if table.name == key:
            return table
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    """Empty cells first, then numbers, dates, then text."""
    if value is None or value is False or value == "" or value == []:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, float(value))
    if isinstance(value, datetime):
        return (2, value.timestamp())
    return (3, _to_str(value).lower())
