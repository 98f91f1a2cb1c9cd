"""The Airtable client: pyairtable with a per-base throttle, patient retries and a call count.

Airtable allows 5 requests per second per base and answers a burst with 429 and a
30-second penalty for the whole base; pyairtable's own retry gives up after about 3 s and
never retries 5xx. Every client built here sends through a ``ResilientSession`` that

- waits for the base's process-wide ``RateLimiter`` before each request (every thread and
  every client of the process share it);
- waits out a 429 penalty (``Retry-After`` when sent), holding the whole base meanwhile;
- retries 5xx, timeouts and dropped connections with exponential backoff (reads only:
  a write that may have been applied is not repeated);
- counts every HTTP request it sends, retries included (the monthly call budget);
- raises ``AirtableUnavailable`` after a bounded number of tries.

Errors are ours (``AirtableError`` and subclasses), with a French message for the user.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from pyairtable import Api
from pyairtable.api.table import Table

from carto.i18n import t, t_n
from carto.settings import Settings, airtable_token

Sleep = Callable[[float], None]
Clock = Callable[[], float]

RATE_WINDOW_SECONDS = 1.0
# Added to Airtable's one-second window: arrival times at the server jitter by a few tens
# of milliseconds, and one request too many costs a 30-second penalty for the whole base.
RATE_WINDOW_MARGIN_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 60.0
ITERATOR_EXPIRED = "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


class AirtableError(Exception):
    """A failure to talk to Airtable, or a refusal to; ``str()`` is a French message."""


class AirtableConfigError(AirtableError):
    """The Airtable connection is not configured (token or base id missing)."""


class AirtableUnavailable(AirtableError):
    """Airtable gave no usable answer after every allowed try (network, 5xx, 429)."""

    def __init__(self, attempts: int, detail: str) -> None:
        super().__init__(t_n("airtable.error.unavailable", attempts, detail=detail))
        self.attempts = attempts
        self.detail = detail


class AirtableRequestError(AirtableError):
    """Airtable refused a request (an error answer other than 429 and 5xx)."""

    def __init__(self, status: int, error_type: str, detail: str) -> None:
        key = {401: "airtable.error.401", 403: "airtable.error.403", 404: "airtable.error.404"}
        text = t(
            key.get(status, "airtable.error.refused"),
            status=status,
            type=error_type,
            detail=detail,
        )
        super().__init__(text)
        self.status = status
        self.error_type = error_type
        self.detail = detail

    @property
    def offset_expired(self) -> bool:
        """The pagination offset expired: the listing must restart from the beginning."""
        return self.error_type == ITERATOR_EXPIRED

    @classmethod
    def from_response(cls, response: requests.Response) -> AirtableRequestError:
        """Read Airtable's ``{"error": {"type", "message"}}`` (or ``{"error": "TYPE"}``)."""
        error_type, detail = "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            error_type = str(error.get("type", ""))
            detail = str(error.get("message", ""))
        elif isinstance(error, str):
            error_type = error
        return cls(response.status_code, error_type, detail or response.reason or "")


@dataclass(frozen=True)
class RetryPolicy:
    """How patiently to talk to Airtable (from the ``[airtable]`` settings)."""

    requests_per_second: float
    max_retries: int
    backoff_seconds: float
    penalty_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy the settings give (their declared defaults for ``Settings({})``)."""
        return cls(
            requests_per_second=settings["airtable.requests_per_second"],
            max_retries=settings["airtable.max_retries"],
            backoff_seconds=settings["airtable.backoff_seconds"],
            penalty_seconds=settings["airtable.penalty_seconds"],
        )

    def backoff(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1, 2, …): doubles each time, capped."""
        return min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


class RateLimiter:
    """At most ``rate`` requests per second, for every thread that shares it.

    Each caller reserves the next free time slot under a lock, then sleeps outside it:
    slots are spaced by ``1 / rate`` and no more than ``rate`` of them fall within any
    window of one second plus a safety margin.
    """

    def __init__(
        self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError("requests per second must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: deque[float] = deque()
        self._paused_until = 0.0

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            burst = max(1, math.floor(self.rate))
            slot = max(now, self._paused_until)
            if self._slots:
                slot = max(slot, self._slots[-1] + 1.0 / self.rate)
            if len(self._slots) >= burst:
                window = RATE_WINDOW_SECONDS + RATE_WINDOW_MARGIN_SECONDS
                slot = max(slot, self._slots[-burst] + window)
            self._slots.append(slot)
            while len(self._slots) > burst:
                self._slots.popleft()
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold every later request for ``seconds`` (a 429 penalty applies to the base)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter of one base (created on first use; ``rate`` updated)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(rate)
        limiter.rate = rate
        return limiter


def rate_key(url: str) -> str:
    """What Airtable rate-limits a URL by: its host and base id ('' for token-wide calls)."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    base = ""
    if len(segments) >= 4 and segments[1:3] == ["meta", "bases"]:
        base = segments[3]
    elif len(segments) >= 2 and segments[1] != "meta":
        base = segments[1]
    return f"{parts.scheme}://{parts.netloc}/{base}"


def _is_read(method: str, url: str) -> bool:
    """Safe to send twice: a GET, or the POST form of list records."""
    return method.upper() in ("GET", "HEAD") or urlsplit(url).path.endswith("/listRecords")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: fall back to the configured penalty
        return None


class ResilientSession(requests.Session):
    """A requests session that throttles, retries and counts (see the module docstring)."""

    def __init__(self, policy: RetryPolicy, *, sleep: Sleep = time.sleep) -> None:
        super().__init__()
        self.policy = policy
        self._sleep = sleep
        self._count_lock = threading.Lock()
        self.calls = 0

    def _count(self) -> None:
        with self._count_lock:
            self.calls += 1

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        method_s = method.decode() if isinstance(method, bytes) else str(method)
        url_s = url.decode() if isinstance(url, bytes) else str(url)
        limiter = limiter_for(rate_key(url_s), self.policy.requests_per_second)
        attempts = self.policy.max_retries + 1
        detail = ""
        for attempt in range(1, attempts + 1):
            limiter.acquire()
            self._count()
            try:
                response = super().request(method_s, url_s, *args, **kwargs)
            except requests.Timeout:
                detail = t("airtable.detail.timeout")
                if not _is_read(method_s, url_s):
                    raise AirtableUnavailable(attempt, detail) from None
                wait = self.policy.backoff(attempt)
            except requests.ConnectionError:
                detail = t("airtable.detail.dropped")
                if not _is_read(method_s, url_s):
                    raise AirtableUnavailable(attempt, detail) from None
                wait = self.policy.backoff(attempt)
            else:
                status = response.status_code
                if status == 429:
                    detail = t("airtable.detail.rate_limited")
                    wait = _retry_after(response) or self.policy.penalty_seconds
                    limiter.pause(wait)
                elif status >= 500:
                    detail = t("airtable.detail.server_error", status=status)
                    if not _is_read(method_s, url_s):
                        raise AirtableUnavailable(attempt, detail)
                    wait = self.policy.backoff(attempt)
                else:
                    return response
                response.close()
            if attempt < attempts:
                self._sleep(wait)
        raise AirtableUnavailable(attempts, detail)


class AirtableClient(Api):
    """pyairtable's ``Api`` sending through a ``ResilientSession``, raising our errors."""

    def __init__(
        self,
        token: str,
        *,
        endpoint_url: str = "https://api.airtable.com",
        timeout_seconds: int = 30,
        policy: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(
            token,
            timeout=(timeout_seconds, timeout_seconds),
            retry_strategy=None,
            endpoint_url=endpoint_url,
        )
        self.resilient = ResilientSession(
            policy or RetryPolicy.from_settings(Settings({})), sleep=sleep
        )
        self.session = self.resilient
        self.api_key = token  # puts the Authorization header on the new session

    @property
    def calls(self) -> int:
        """HTTP requests sent so far by this client, retries included."""
        return self.resilient.calls

    def request(
        self,
        method: str,
        url: str,
        fallback: tuple[str, str] | None = None,
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return super().request(method, url, fallback, options, params, json)
        except requests.HTTPError as exc:
            if exc.response is None:
                raise
            raise AirtableRequestError.from_response(exc.response) from exc


def client_from_settings(
    settings: Settings, *, token: str | None = None, sleep: Sleep = time.sleep
) -> AirtableClient:
    """A client for the configured base; ``AirtableConfigError`` without token or base id."""
    token = token or airtable_token()
    if not token:
        raise AirtableConfigError(t("airtable.error.no_token"))
    if not settings["airtable.base_id"]:
        raise AirtableConfigError(t("airtable.error.no_base", config=settings.source or "-"))
    return AirtableClient(
        token,
        endpoint_url=settings["airtable.endpoint_url"],
        timeout_seconds=settings["airtable.timeout_seconds"],
        policy=RetryPolicy.from_settings(settings),
        sleep=sleep,
    )


def configured_tables(settings: Settings, client: Api) -> dict[str, Table]:
    """The Sites and Passages tables of the configured base, by canonical table key."""
    base_id = settings["airtable.base_id"]
    return {
        "sites": client.table(base_id, settings["airtable.sites_table"]),
        "passages": client.table(base_id, settings["airtable.passages_table"]),
    }
