"""A local Airtable look-alike serving real HTTP on 127.0.0.1, for tests and benchmarks.

It answers the requests CartoCampement sends (``carto/airtable_client.py``,
``carto/sync.py``, ``carto/base_setup.py``) through pyairtable with
``endpoint_url=server.url``, and nothing else:

- ``GET /v0/{base}/{table}`` (the table by name or id): list records in creation order,
  100 a page, with the query parameters the sync sends: ``offset``, ``fields[]`` (the
  reconciliation lists ids with one field) and ``filterByFormula``. Any other parameter
  answers 422, so that a new option sent by the app shows up in the tests.
- ``filterByFormula`` in one shape only, the incremental sync's
  ``LAST_MODIFIED_TIME()>DATETIME_PARSE('<ISO 8601 time>')`` (pyairtable's rendering of
  ``formulas.GT(formulas.LAST_MODIFIED_TIME(), <datetime>)``). Any other formula answers
  422 INVALID_FILTER_BY_FORMULA rather than matching records wrongly.
- ``GET /v0/meta/bases/{base}/tables`` (``include=visibleFieldIds`` accepted): the schema,
  with the option defaults Airtable fills in, so that pyairtable's ``BaseSchema`` parses
  every field into its typed model; ``POST`` on the same path creates a table
  (``init-base``).
- Airtable's error bodies: 401 AUTHENTICATION_REQUIRED (wrong token), 404 NOT_FOUND
  (unknown base or route), 404 TABLE_NOT_FOUND, 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE
  (expired offset), 422 UNKNOWN_FIELD_NAME, 422 DUPLICATE_TABLE_NAME.

What the tests use to make it misbehave as Airtable does: a per-base rate limit
(``rate_limit`` requests in any second, then 429 and a ``penalty_seconds`` penalty for the
whole base, with ``Retry-After`` when ``send_retry_after``); ``inject`` (503 answers,
connections dropped without an answer, slow answers); ``expire_offsets``; and a fixed
``latency_seconds`` for the benchmarks. Every request is logged (``requests``, ``count``).

Test data is set up directly, without HTTP: ``add_table``, ``load_records``, ``add``,
``edit``, ``delete``, ``rename_field``. Not modelled, because the app never sends them:
record writes, sorting, views, ``pageSize``, ``cellFormat``, field ids in answers, the POST
form of list records (pyairtable uses it only for URLs over 16,000 characters).

Standard library and pyairtable only; it binds 127.0.0.1 on a free port, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import socketserver
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, cast

from pyairtable.testing import fake_id

__all__ = ["ApiError", "FakeAirtable", "RequestLog"]

PAGE_SIZE = 100
FAULT_KINDS = ("503", "drop", "timeout")
LIST_PARAMS = frozenset({"offset", "fields[]", "filterByFormula"})
SCHEMA_PARAMS = frozenset({"include", "include[]"})
# Airtable's moment.js formats for the date and time format names init-base may send.
DATE_FORMATS = {"iso": "YYYY-MM-DD", "european": "D/M/YYYY"}
TIME_FORMATS = {"24hour": "HH:mm"}
# The only formula modelled: records modified after a time (the incremental sync).
MODIFIED_SINCE = re.compile(r"LAST_MODIFIED_TIME\(\)\s*>\s*DATETIME_PARSE\('([^']+)'\)")


class ApiError(Exception):
    """An error answered the way Airtable does: ``{"error": {"type", "message"}}``."""

    def __init__(self, status: int, error_type: str, message: str = "") -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message

    def payload(self) -> dict[str, Any]:
        return {"error": {"type": self.error_type, "message": self.message}}


def _not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "Could not find what you are looking for")


def _utc_ms(value: datetime) -> datetime:
    """Aware UTC datetime truncated to milliseconds (Airtable's precision)."""
    value = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _iso(value: datetime) -> str:
    """Airtable's timestamp format, e.g. ``2024-05-01T12:00:00.000Z``."""
    value = _utc_ms(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _is_empty(value: Any) -> bool:
    """Airtable leaves these out of its answers."""
    return value is None or value is False or value == "" or value == [] or value == {}


# ---------------------------------------------------------------------- data model


@dataclass
class _Field:
    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.options is not None:
            out["options"] = self.options
        return out


@dataclass
class _Record:
    id: str
    created_raw: str  # createdTime as given or generated
    created: datetime
    modified: datetime  # what LAST_MODIFIED_TIME() returns
    values: dict[str, Any]  # by field id, empty values left out


@dataclass
class _Table:
    id: str
    name: str
    view_id: str
    fields: list[_Field]
    records: dict[str, _Record] = field(default_factory=dict)

    def field(self, key: str) -> _Field | None:
        """A field by id, else by name."""
        for item in self.fields:
            if item.id == key:
                return item
        return next((item for item in self.fields if item.name == key), None)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "primaryFieldId": self.fields[0].id,
            "fields": [f.to_api() for f in self.fields],
            "views": [{"id": self.view_id, "name": "Grid view", "type": "grid"}],
        }

    def record_json(self, record: _Record, only: set[str] | None = None) -> dict[str, Any]:
        fields = {
            f.name: record.values[f.id]
            for f in self.fields
            if f.id in record.values and (only is None or f.id in only)
        }
        return {"id": record.id, "createdTime": record.created_raw, "fields": fields}

    def ordered(self) -> list[_Record]:
        return sorted(self.records.values(), key=lambda r: (r.created, r.id))


@dataclass
class _Base:
    id: str
    tables: list[_Table] = field(default_factory=list)

    def table(self, key: str) -> _Table | None:
        """A table by id, else by name."""
        for table in self.tables:
            if table.id == key:
                return table
        return next((t for t in self.tables if t.name == key), None)


@dataclass
class _Listing:
    """Server-side state behind the offsets of one listing: the matching ids, taken
    on its first page (records edited later are served as they are then, deleted ones
    are skipped)."""

    id: str
    table_id: str
    record_ids: list[str]
    pages: dict[str, int]  # offset token -> index of the page's first record


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
    ``[]`` keys as lists); ``status`` is 0 for a dropped connection; ``timestamp`` is
    ``time.monotonic()`` when the request arrived.
    """

    method: str
    path: str
    params: dict[str, Any]
    status: int
    timestamp: float


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
    server_version = "FakeAirtable/2.0"

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
    """An in-process Airtable look-alike serving HTTP on 127.0.0.1 (see the module
    docstring for what it answers).

    Usage::

        with FakeAirtable(rate_limit=None) as server:
            server.add_table("appTEST", "Sites", [{"name": "Nom", "type": "singleLineText"}])
            server.add("appTEST", "Sites", {"Nom": "Porte de la Chapelle"})
            api = pyairtable.Api("patTEST", endpoint_url=server.url)
            api.table("appTEST", "Sites").all()
    """

    def __init__(
        self,
        token: str = "patTEST",
        rate_limit: float | None = 5.0,
        penalty_seconds: float = 30.0,
        latency_seconds: float = 0.0,
        clock: Callable[[], datetime] | None = None,
        rate_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.rate_limit = rate_limit
        self.penalty_seconds = penalty_seconds
        self.latency_seconds = latency_seconds
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        # Seconds for the rate limit's window and penalty; a test may step it by hand.
        self.rate_clock = rate_clock
        self.send_retry_after = False
        self.errors: list[BaseException] = []  # unexpected exceptions inside the fake

        self._lock = threading.RLock()  # data, listings
        self._meta_lock = threading.Lock()  # log, faults, rate limits, connections
        self._ids: set[str] = set()
        self._bases: dict[str, _Base] = {}
        self._listings: dict[str, _Listing] = {}
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

    def add_base(self, base_id: str) -> str:
        """Create an empty base (no-op if it exists)."""
        with self._lock:
            if base_id not in self._bases:
                self._bases[base_id] = _Base(base_id)
                self._ids.add(base_id)
            return base_id

    def add_table(self, base_id: str, name: str, fields: list[dict[str, Any]]) -> str:
        """Create a table from metadata field specs (name, type, options), the first one
        its primary field; the base is created if missing. Returns the table id."""
        with self._lock:
            self.add_base(base_id)
            return self._create_table(self._bases[base_id], {"name": name, "fields": fields}).id

    def field_id(self, base_id: str, table: str, field_name: str) -> str:
        """The id of a field given by name or id."""
        with self._lock:
            found = self._table(base_id, table).field(field_name)
            if found is None:
                raise KeyError(field_name)
            return found.id

    def rename_field(self, base_id: str, table: str, field_name: str, new_name: str) -> None:
        """Rename a field, as someone editing the base in Airtable would."""
        with self._lock:
            found = self._table(base_id, table).field(field_name)
            if found is None:
                raise KeyError(field_name)
            found.name = new_name

    def load_records(
        self, base_id: str, table: str, records: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Load records in API shape ``{"id", "createdTime", "fields"}``, kept as given
        (missing ids and createdTime are generated; the record counts as last modified
        when it was created). Returns their ids."""
        with self._lock:
            tbl = self._table(base_id, table)
            ids: list[str] = []
            for item in records:
                raw = item.get("createdTime")
                created = _utc_ms(datetime.fromisoformat(raw)) if raw else self.now()
                record = _Record(
                    id=str(item.get("id") or self._new_id("rec")),
                    created_raw=str(raw) if raw else _iso(created),
                    created=created,
                    modified=created,
                    values=self._values(tbl, item.get("fields") or {}),
                )
                self._ids.add(record.id)
                tbl.records[record.id] = record
                ids.append(record.id)
            return ids

    def add(self, base_id: str, table: str, fields: Mapping[str, Any]) -> str:
        """Create a record now, as someone using Airtable would; returns its id."""
        with self._lock:
            now = self.now()
            return self.load_records(
                base_id, table, [{"createdTime": _iso(now), "fields": fields}]
            )[0]

    def edit(self, base_id: str, table: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change some cells of a record now (its last modification time moves)."""
        with self._lock:
            tbl = self._table(base_id, table)
            record = tbl.records[record_id]
            for field_id, value in self._values(tbl, fields, keep_empty=True).items():
                if _is_empty(value):
                    record.values.pop(field_id, None)
                else:
                    record.values[field_id] = value
            record.modified = self.now()

    def delete(self, base_id: str, table: str, record_id: str) -> None:
        """Delete a record."""
        with self._lock:
            del self._table(base_id, table).records[record_id]

    def records(self, base_id: str, table: str) -> list[dict[str, Any]]:
        """Every record of a table in API shape and listing order, for assertions."""
        with self._lock:
            tbl = self._table(base_id, table)
            return [tbl.record_json(r) for r in tbl.ordered()]

    # -- offsets, rate limit, faults

    def expire_offsets(self) -> int:
        """Make every outstanding offset answer 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE;
        returns how many listings were under way."""
        with self._lock:
            count = len(self._listings)
            self._listings.clear()
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

        kind: "503" (Airtable's JSON error body), "drop" (close the connection without
        any answer, before the request is handled), "timeout" (wait ``seconds``, then
        answer normally). ``path_contains`` matches the decoded or raw path.
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._meta_lock:
            self._faults.append(
                _Fault(kind, count, path_contains, method.upper() if method else None, seconds)
            )

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
        body = handler.rfile.read(length) if length > 0 else b""
        self._sleep(self.latency_seconds)
        headers: dict[str, str] = {}
        if fault is not None and fault.kind == "timeout":
            self._sleep(fault.seconds)
        if fault is not None and fault.kind == "503":
            error = ApiError(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable")
            status, payload = 503, error.payload()
        else:
            auth = handler.headers.get("Authorization", "")
            status, payload, headers = self._answer(method, segments, query, body, auth)
        self._record(method, path, params, status, received)
        self._send(handler, status, payload, headers)

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
        body: bytes,
        auth: str,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON payload, headers) for a request that reached the fake."""
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
                return 200, self._route(method, segments, query, body), {}
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
            key = ""  # meta endpoints not tied to a base
        now = self.rate_clock()
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
        self, method: str, segments: list[str], query: dict[str, list[str]], body: bytes
    ) -> Any:
        if len(segments) < 2 or segments[0] != "v0":
            raise _not_found()
        if segments[1] == "meta":
            if len(segments) != 5 or segments[2] != "bases" or segments[4] != "tables":
                raise _not_found()
            base = self._api_base(segments[3])
            if method == "GET":
                _check_params(query, SCHEMA_PARAMS)
                return {"tables": [t.to_api() for t in base.tables]}
            if method == "POST":
                return self._create_table(base, _json_body(body)).to_api()
            raise _not_found()
        if len(segments) != 3 or method != "GET":
            raise _not_found()
        base = self._api_base(segments[1])
        table = base.table(segments[2])
        if table is None:
            message = f"Could not find table {segments[2]} in application {base.id}"
            raise ApiError(404, "TABLE_NOT_FOUND", message)
        return self._list(table, query)

    def _api_base(self, base_id: str) -> _Base:
        base = self._bases.get(base_id)
        if base is None:
            raise _not_found()
        return base

    def _list(self, table: _Table, query: dict[str, list[str]]) -> dict[str, Any]:
        _check_params(query, LIST_PARAMS)
        only: set[str] | None = None
        if "fields[]" in query:
            only = set()
            for key in query["fields[]"]:
                fld = table.field(key)
                if fld is None:
                    raise ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{key}"')
                only.add(fld.id)
        offset = query.get("offset", [""])[-1]
        if offset:
            listing = self._listings.get(offset.partition("/")[0])
            if listing is None or listing.table_id != table.id or offset not in listing.pages:
                raise ApiError(
                    422,
                    "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                    "The list records iterator is not available; restart the listing",
                )
            start = listing.pages[offset]
        else:
            since = _modified_since(query.get("filterByFormula", [""])[-1])
            ids = [r.id for r in table.ordered() if since is None or r.modified > since]
            listing, start = _Listing(self._new_id("itr"), table.id, ids, {}), 0
        end = start + PAGE_SIZE
        page = [rid for rid in listing.record_ids[start:end] if rid in table.records]
        answer: dict[str, Any] = {
            "records": [table.record_json(table.records[rid], only) for rid in page]
        }
        if end < len(listing.record_ids):
            token = f"{listing.id}/{listing.record_ids[end - 1]}"
            listing.pages[token] = end
            self._listings[listing.id] = listing
            answer["offset"] = token
        else:
            self._listings.pop(listing.id, None)
        return answer

    # --------------------------------------------------------------- data helpers

    def _new_id(self, prefix: str) -> str:
        while (value := fake_id(prefix)) in self._ids:
            pass
        self._ids.add(value)
        return value

    def _table(self, base_id: str, table: str) -> _Table:
        """Direct-helper lookup: KeyError if missing."""
        base = self._bases.get(base_id)
        found = base.table(table) if base is not None else None
        if found is None:
            raise KeyError(f"unknown table {table!r} in {base_id!r}")
        return found

    @staticmethod
    def _values(
        table: _Table, fields: Mapping[str, Any], keep_empty: bool = False
    ) -> dict[str, Any]:
        """Cell values by field id (KeyError for an unknown field name)."""
        values: dict[str, Any] = {}
        for key, value in fields.items():
            fld = table.field(key)
            if fld is None:
                raise KeyError(f"unknown field {key!r} in table {table.name!r}")
            if keep_empty or not _is_empty(value):
                values[fld.id] = value
        return values

    def _create_table(self, base: _Base, spec: Mapping[str, Any]) -> _Table:
        name, specs = spec.get("name"), spec.get("fields")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "A table needs a name")
        if any(t.name.lower() == name.lower() for t in base.tables):
            message = f"Table name {name!r} is already used in this base"
            raise ApiError(422, "DUPLICATE_TABLE_NAME", message)
        if not isinstance(specs, list) or not specs:
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "A table needs at least one field")
        table = _Table(self._new_id("tbl"), name, self._new_id("viw"), [])
        for item in specs:
            field_name, field_type = item.get("name"), item.get("type")
            if not isinstance(field_name, str) or not field_name.strip():
                raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Empty field name")
            if table.field(field_name) is not None:
                message = f"Duplicate field name {field_name!r}"
                raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", message)
            if not isinstance(field_type, str) or not field_type:
                raise ApiError(422, "INVALID_FIELD_TYPE", f"Invalid type for {field_name!r}")
            options = self._options(field_type, item.get("options"))
            table.fields.append(_Field(self._new_id("fld"), field_name, field_type, options))
        base.tables.append(table)
        return table

    def _options(self, field_type: str, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The field options with the defaults Airtable fills in (and pyairtable's schema
        models require), for the field types the app's contract uses."""
        opts: dict[str, Any] = dict(options or {})
        if field_type == "number":
            opts.setdefault("precision", 0)
        elif field_type == "dateTime":
            date_format = dict(opts.get("dateFormat") or {"name": "iso"})
            date_format.setdefault("format", DATE_FORMATS.get(str(date_format.get("name")), ""))
            time_format = dict(opts.get("timeFormat") or {"name": "24hour"})
            time_format.setdefault("format", TIME_FORMATS.get(str(time_format.get("name")), ""))
            opts.update(dateFormat=date_format, timeFormat=time_format)
            opts.setdefault("timeZone", "utc")
        elif field_type in ("singleSelect", "multipleSelects"):
            opts["choices"] = [
                {"id": self._new_id("sel"), **choice} for choice in opts.get("choices", [])
            ]
        elif field_type == "multipleRecordLinks":
            opts.setdefault("isReversed", False)
            opts.setdefault("prefersSingleRecordLink", False)
        return opts or None


# ------------------------------------------------------------------- module helpers


def _check_params(query: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        message = f"Invalid request: parameter {unknown[0]!r} is not modelled by the fake"
        raise ApiError(422, "INVALID_REQUEST_UNKNOWN", message)


def _modified_since(formula: str) -> datetime | None:
    """The time in the one formula modelled; None without a formula; 422 otherwise."""
    if not formula.strip():
        return None
    match = MODIFIED_SINCE.fullmatch(formula.strip())
    if match is None:
        message = f"The formula for filtering records is not modelled by the fake: {formula}"
        raise ApiError(422, "INVALID_FILTER_BY_FORMULA", message)
    try:
        return _utc_ms(datetime.fromisoformat(match.group(1)))
    except ValueError as exc:
        message = f"The formula for filtering records has an invalid time: {formula}"
        raise ApiError(422, "INVALID_FILTER_BY_FORMULA", message) from exc


def _rate_limit_body() -> dict[str, Any]:
    message = "Rate limit exceeded. Please try again later"
    return {"errors": [{"error": "RATE_LIMIT_REACHED", "message": message}]}


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "The body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "The body must be a JSON object")
    return body
