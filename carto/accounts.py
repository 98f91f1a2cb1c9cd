"""Accounts, roles, passwords, sign-in cookies, safe-start check (docs/architecture.md §5, §6).

Accounts live in a YAML file outside git (``[auth] accounts_path``), in
streamlit-authenticator's layout (``credentials.usernames.<name>``: ``name``, ``email``,
``password`` as a bcrypt hash, ``roles``), written only by ``python -m carto users`` and
the admin page. Demo mode ignores the file: it has one account per role, named after the
role, password ``demo``, and those accounts exist nowhere else.

The sign-in cookie is a JWT signed (HS256) with the cookie key, holding the account, its
session epoch, the instance it was issued for (the store's id) and an expiry: the server
refuses it when the signature, the instance, the expiry, the account or the epoch does
not match (logout and password change bump the epoch). Demo mode signs with a random key
of its process, never with the configured one.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import math
import os
import re
import secrets
import string
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import bcrypt
import jwt
import yaml

try:
    import fcntl
except ImportError:  # not on Windows: the lock holds nothing there
    fcntl = None  # type: ignore[assignment]

from carto import audit
from carto.i18n import t
from carto.private_files import make_private_dirs, tighten
from carto.settings import SECRETS_PATH, Settings, secret
from carto.store import AuthStore, LoginState

ADMIN, COORDINATOR, VOLUNTEER, PARTNER = "admin", "coordinateur", "benevole", "partenaire"
ROLES: tuple[str, ...] = (ADMIN, COORDINATOR, VOLUNTEER, PARTNER)
# E-mail subscriptions (carto/digest.py): the morning digest, protection alerts at the
# sync, or nothing (the default).
DIGEST_DAILY, DIGEST_ALERTS, DIGEST_OFF = "daily", "alerts", "off"
DIGEST_CHOICES: tuple[str, ...] = (DIGEST_DAILY, DIGEST_ALERTS, DIGEST_OFF)
DEMO_PASSWORD = "demo"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything longer
BCRYPT_ROUNDS = 12
COOKIE_KEY_ENV = "CARTO_COOKIE_KEY"
MIN_COOKIE_KEY_LENGTH = 32
# Keys copied from examples and tutorials (streamlit-authenticator's among them): anyone
# can sign cookies with them.
KNOWN_DEFAULT_KEYS = frozenset(
    {
        "some_key",
        "some_signature_key",
        "random_signature_key",
        "abcdef",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "cookie_key",
        "cookie-key",
        "remplacez-moi",
        "a-long-random-string-of-at-least-32-characters",
    }
)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_TOKEN_ALGORITHM = "HS256"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe either way; C is faster


class AccountError(ValueError):
    """An account operation was refused; the message (French) says why."""


@dataclass(frozen=True)
class Account:
    """One named person: who, with which role, and the bcrypt hash of the password."""

    username: str
    name: str
    role: str
    password_hash: str
    email: str = ""
    digest: str = DIGEST_OFF  # one of DIGEST_CHOICES

    @property
    def label(self) -> str:
        return self.name or self.username


# ------------------------------------------------------------------------ passwords


def normalise_username(username: str) -> str:
    """Usernames are compared without case and surrounding spaces."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or AccountError when it is not a valid one."""
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise AccountError(t("accounts.error.username", username=username))
    return name


def check_email(email: str) -> str:
    """An account's e-mail address, stripped: empty (no address) or exactly one bare
    address; AccountError otherwise. A line break would make every message to it fail
    to build, a comma would send it to two people."""
    address = email.strip()
    if not address:
        return ""
    local, at, domain = address.partition("@")
    if (
        parseaddr(address)[1] != address
        or any(char.isspace() or char in ',;<>"' for char in address)
        or any(unicodedata.category(char) == "Cc" for char in address)
        or not (local and at and domain)
        or "@" in domain
    ):
        raise AccountError(t("accounts.error.email"))
    return address


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(t("accounts.error.role", role=role, roles=", ".join(ROLES)))
    return role


def check_password(password: str) -> None:
    """Refuse passwords too short to resist guessing, or too long for bcrypt."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(t("accounts.error.password_short", n=MIN_PASSWORD_LENGTH))
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AccountError(t("accounts.error.password_long", n=MAX_PASSWORD_BYTES))


def hash_password(password: str, rounds: int | None = None) -> str:
    """The bcrypt hash of a password (same format as streamlit-authenticator's Hasher);
    ``rounds`` defaults to ``BCRYPT_ROUNDS``."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise AccountError(t("accounts.error.password_long", n=MAX_PASSWORD_BYTES))
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds or BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches the hash; never raises on odd input."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:
        return False


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def authenticate(accounts: Mapping[str, Account], username: str, password: str) -> Account | None:
    """The account when the password is right; an unknown name costs the same bcrypt
    check as a known one, so that timing does not tell which accounts exist."""
    account = accounts.get(normalise_username(username))
    if account is None:
        verify_password(password, _dummy_hash())
        return None
    return account if verify_password(password, account.password_hash) else None


# ------------------------------------------------------------------------ lockout

OK, FAILED, JUST_LOCKED, LOCKED = "ok", "failed", "just_locked", "locked"


@dataclass(frozen=True)
class Attempt:
    """How a password attempt ended: ``OK``, ``FAILED``, ``JUST_LOCKED`` (this failure
    locked the account) or ``LOCKED`` (refused without checking the password)."""

    outcome: str
    state: LoginState


def password_attempt(
    db: AuthStore,
    key: str,
    check: Callable[[], bool],
    max_failures: int,
    lockout: dt.timedelta,
    now: dt.datetime,
) -> Attempt:
    """One password check under the lockout: the sign-in form and the password-change
    form both go through here. The attempt is counted before ``check`` runs (bcrypt
    is slow: parallel attempts must not all pass the lock check first), and a right
    password still fails when an attempt beside it locked the account meanwhile."""
    admitted = db.admit_login(key, max_failures, lockout, now)
    if admitted.locked(now):
        return Attempt(LOCKED, admitted)
    if check():
        accepted = db.accept_login(key, now)
        return Attempt(LOCKED, accepted) if accepted.locked(now) else Attempt(OK, accepted)
    state = db.confirm_failed_login(key, max_failures, lockout, now)
    return Attempt(JUST_LOCKED if state.locked(now) else FAILED, state)


# ------------------------------------------------------------------- accounts file


def accounts_path(settings: Settings) -> Path:
    return settings.path("auth.accounts_path")


def read_accounts(path: Path) -> dict[str, Account]:
    """The accounts of a file (AccountError when it is unreadable or malformed); a file
    readable by others is made readable by its owner only."""
    tighten(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AccountError(t("accounts.error.unreadable", path=path, error=exc)) from exc
    users = (data.get("credentials") or {}).get("usernames") or {}
    if not isinstance(users, Mapping):
        raise AccountError(t("accounts.error.unreadable", path=path, error="credentials"))
    accounts: dict[str, Account] = {}
    for raw_name, entry in users.items():
        entry = entry or {}
        roles = [r for r in entry.get("roles") or [] if r in ROLES]
        if not roles or not entry.get("password"):
            raise AccountError(t("accounts.error.entry", path=path, username=raw_name))
        name = normalise_username(str(raw_name))
        accounts[name] = Account(
            username=name,
            name=str(entry.get("name") or ""),
            role=roles[0],
            password_hash=str(entry["password"]),
            email=str(entry.get("email") or ""),
            # an unknown value subscribes to nothing rather than lock everyone out
            digest=str(entry["digest"]) if entry.get("digest") in DIGEST_CHOICES else DIGEST_OFF,
        )
    return accounts


def write_accounts(path: Path, accounts: Mapping[str, Account]) -> None:
    """Replace the file atomically, readable by its owner only (and the folder made for
    it, if any, by its owner only)."""
    users: dict[str, Any] = {
        a.username: {
            "name": a.name,
            "email": a.email,
            "password": a.password_hash,
            "roles": [a.role],
            **({"digest": a.digest} if a.digest != DIGEST_OFF else {}),
        }
        for a in sorted(accounts.values(), key=lambda a: a.username)
    }
    text = (
        "# CartoCampement accounts (bcrypt hashes). Never commit this file.\n"
        "# Managed with `python -m carto users` or the admin page.\n"
        + yaml.safe_dump({"credentials": {"usernames": users}}, allow_unicode=True)
    )
    make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".accounts-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _updating(path: Path) -> Iterator[dict[str, Account]]:
    """The accounts, read under an exclusive lock held until the caller has written
    them back: two processes (app replicas, the command line) changing accounts at once
    each see the other's change instead of one silently undoing it. The lock is a
    sibling file (``<file>.lock``); on a system without ``fcntl`` it holds nothing."""
    make_private_dirs(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    with os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as lock:
        tighten(lock_path)  # made 0600 whatever the umask; tightened if it was not
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield read_accounts(path) if path.exists() else {}
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)


def add_account(
    path: Path,
    username: str,
    password: str,
    role: str,
    name: str = "",
    email: str = "",
    rounds: int | None = None,
) -> Account:
    """Create an account (AccountError if it exists or anything is invalid)."""
    username, role = check_username(username), check_role(role)
    email = check_email(email)
    check_password(password)
    password_hash = hash_password(password, rounds)  # slow: before taking the lock
    with _updating(path) as accounts:
        if username in accounts:
            raise AccountError(t("accounts.error.exists", username=username))
        account = Account(username, name.strip(), role, password_hash, email)
        write_accounts(path, {**accounts, username: account})
    return account


def _existing(accounts: Mapping[str, Account], username: str) -> Account:
    account = accounts.get(normalise_username(username))
    if account is None:
        raise AccountError(t("accounts.error.unknown", username=username))
    return account


def remove_account(path: Path, username: str) -> Account:
    with _updating(path) as accounts:
        account = _existing(accounts, username)
        write_accounts(path, {k: v for k, v in accounts.items() if k != account.username})
    return account


def set_password(path: Path, username: str, password: str, rounds: int | None = None) -> Account:
    check_password(password)
    password_hash = hash_password(password, rounds)  # slow: before taking the lock
    with _updating(path) as accounts:
        account = _existing(accounts, username)
        updated = dataclasses.replace(account, password_hash=password_hash)
        write_accounts(path, {**accounts, account.username: updated})
    return updated


def set_role(path: Path, username: str, role: str) -> Account:
    role = check_role(role)
    with _updating(path) as accounts:
        account = _existing(accounts, username)
        updated = dataclasses.replace(account, role=role)
        write_accounts(path, {**accounts, account.username: updated})
    return updated


def check_digest(choice: str) -> str:
    if choice not in DIGEST_CHOICES:
        raise AccountError(
            t("accounts.error.digest", digest=choice, choices=", ".join(DIGEST_CHOICES))
        )
    return choice


def set_digest(path: Path, username: str, choice: str) -> Account:
    """Subscribe an account to the e-mail digest or alerts, or unsubscribe it."""
    choice = check_digest(choice)
    with _updating(path) as accounts:
        account = _existing(accounts, username)
        if choice != DIGEST_OFF and not account.email:
            raise AccountError(t("accounts.error.digest_no_email", username=account.username))
        updated = dataclasses.replace(account, digest=choice)
        write_accounts(path, {**accounts, account.username: updated})
    return updated


@cache
def demo_accounts() -> dict[str, Account]:
    """Demo mode's accounts: one per role, named after it, password ``demo`` (public, so
    hashed at bcrypt's lowest cost)."""
    digest = hash_password(DEMO_PASSWORD, rounds=4)
    return {role: Account(role, "", role, digest) for role in ROLES}


def load_accounts(settings: Settings) -> dict[str, Account]:
    """The accounts that may sign in: the demo ones in demo mode, else the file's."""
    if settings.demo:
        return demo_accounts()
    return read_accounts(accounts_path(settings))


# ---------------------------------------------------------------------- cookie key


def cookie_key_from_environment(secrets_path: Path = SECRETS_PATH) -> str | None:
    """The cookie signing key from $CARTO_COOKIE_KEY, else from .streamlit/secrets.toml
    (``CARTO_COOKIE_KEY = "..."``); never from the config file."""
    return secret(COOKIE_KEY_ENV, secrets_path)


# How guessable a key is (issue 14): the bits of its cheapest description, where patterns
# cost only what it takes to name them (cookie_key_bits), and the bits of the spread of
# its characters (cookie_key_spread_bits). Random keys are far above both: in 20,000
# draws of each, the lowest were token_urlsafe(32) 219 and 177, token_hex(32) 227 and
# 219, base64 of 32 random bytes 250 and 188; even a 32-character token_hex(16) (not
# required to pass) never went under 109 and 93.
MIN_COOKIE_KEY_BITS = 100
MIN_COOKIE_KEY_SPREAD_BITS = 80
_KEY_ANALYSED = 256  # characters looked at: a longer key is judged on its beginning
_PATTERN_MIN = 3  # a run, walk or repeat counts from this many characters
_PERIODS = (1, 2, 3, 4)  # a run repeats its steps every 1 to 4 characters
_MAX_STEP = 127  # a run's steps between character codes, in absolute value
_STEP_BITS = math.log2(2 * _MAX_STEP + 1)
# Keyboard rows and where each starts (in key widths), for walks such as "qwerty",
# "azer", "1qaz2wsx" or "1q2w3e".
_KEYBOARDS = (
    (("`1234567890-=", 0.0), ("qwertyuiop[]\\", 1.5), ("asdfghjkl;'", 1.75), ("zxcvbnm,./", 2.25)),
    (("²&é\"'(-è_çà)=", 0.0), ("azertyuiop^$", 1.5), ("qsdfghjklmù*", 1.75), ("<wxcvbn,;:!", 1.25)),
)
# Words people put in keys; a key made of them is guessed from a dictionary.
_KEY_WORDS_TEXT = """
    secret secrets cookie cookies key keys password passwd motdepasse cle clef change
    changeme remplacez replace random signature sign example exemple default demo test
    token session carto campement cartocampement streamlit admin root user login jwt hmac
    my mon ma the this for pour and long string chaine characters caracteres least moins
    qwerty azerty letmein welcome bienvenue bonjour hello salut paris utopia love super
    master dragon monkey prod production dev staging local private prive
"""
_KEY_WORDS = frozenset(_KEY_WORDS_TEXT.split())
_KEY_WORD_LENGTHS = sorted({len(w) for w in _KEY_WORDS})
_LEET = str.maketrans("@4310$57!", "aaeiossti")

_Step = int | tuple[int, float] | None  # a code difference, a move on a keyboard, or none


@cache
def _keyboard_positions() -> tuple[dict[str, tuple[int, float]], ...]:
    """Each layout's keys at (row, position across in key widths)."""
    return tuple(
        {c: (r, x + i) for r, (row, x) in enumerate(rows) for i, c in enumerate(row)}
        for rows in _KEYBOARDS
    )


@cache
def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    """Keys next to each key (same row, or the row above or below) on QWERTY or AZERTY."""
    near: dict[str, set[str]] = {}
    for layout in _keyboard_positions():
        for a, (row_a, x_a) in layout.items():
            for b, (row_b, x_b) in layout.items():
                dx, dy = abs(x_a - x_b), abs(row_a - row_b)
                if a != b and ((dy == 0 and dx == 1) or (dy == 1 and dx <= 1)):
                    near.setdefault(a, set()).add(b)
    return {k: frozenset(v) for k, v in near.items()}


def _alphabet_bits(text: str) -> float:
    """Bits of one character drawn from the classes the text uses (hex: 4)."""
    if all(c in string.hexdigits for c in text) and text in (text.lower(), text.upper()):
        return 4.0
    size = sum(
        n
        for n, present in (
            (26, any(c in string.ascii_lowercase for c in text)),
            (26, any(c in string.ascii_uppercase for c in text)),
            (10, any(c in string.digits for c in text)),
            (33, any(c in string.punctuation or c == " " for c in text)),
            (100, any(not (c.isascii() and c.isprintable()) for c in text)),
        )
        if present
    )
    return math.log2(max(size, 2))


def _longest_earlier_match(text: str) -> list[int]:
    """For each position, the longest part starting there that also starts earlier."""
    n = len(text)
    longest, following = [0] * n, [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        row = [0] * (n + 1)  # row[k]: common length of text[i:] and text[k:], k < i
        for k in range(i):
            if text[k] == text[i]:
                row[k] = following[k + 1] + 1
        longest[i] = max(row[:i], default=0)
        following = row
    return longest


def _step_sequences(text: str, lower: str) -> list[tuple[list[_Step], bool]]:
    """The steps from each character to the next, seen four ways: character codes as
    typed, codes case aside, and moves on each keyboard (case aside); each with whether
    it sets case aside."""
    out: list[tuple[list[_Step], bool]] = []
    for source, caseless in ((text, False), (lower, True)):
        steps: list[_Step] = []
        for a, b in itertools.pairwise(source):
            step = ord(b) - ord(a)
            steps.append(step if abs(step) <= _MAX_STEP else None)
        out.append((steps, caseless))
    for layout in _keyboard_positions():
        moves: list[_Step] = []
        for a, b in itertools.pairwise(lower):
            pa, pb = layout.get(a), layout.get(b)
            moves.append(None if pa is None or pb is None else (pb[0] - pa[0], pb[1] - pa[1]))
        out.append((moves, True))
    return out


def cookie_key_bits(key: str) -> float:
    """Estimated bits of randomness of a key: the cost of its cheapest description as a
    sequence of

    - single characters: log2 of the alphabet its character classes span, each;
    - runs whose steps repeat every 1 to 4 characters, steps between character codes
      (case aside or not: "aaaa", "abcd", "9876", "acegi", "a1b2c3", "aAbBcC") or moves
      on a QWERTY or AZERTY keyboard ("qwerty", "1qaz2wsx", "1q2w3e"): the first
      character, the steps, the length (and a bit a character for its case);
    - keyboard walks, each key next to the one before ("qazxsw"): the first key, each
      next one among its neighbours, the length;
    - common words, also in leet ("secret", "cookie", "p@ssw0rd"): one in the list;
    - repeats of an earlier part ("abcdabcd", a word repeated): where, and how long.

    A random key costs about its length times log2 of its alphabet; anything patterned
    much less. Only the first ``_KEY_ANALYSED`` characters are looked at.
    """
    text = key[:_KEY_ANALYSED]
    n = len(text)
    lower = text.lower()
    unleet = lower.translate(_LEET)
    literal = _alphabet_bits(text)
    neighbours = _keyboard_neighbours()
    word_bits = math.log2(len(_KEY_WORDS)) + 1  # + capitalisation
    earlier = _longest_earlier_match(text)
    sequences = _step_sequences(text, lower)
    best = [0.0] + [math.inf] * n  # best[i]: cheapest description of text[:i]

    def relax(end: int, cost: float) -> None:
        best[end] = min(best[end], cost)

    def case_bits(start: int, end: int) -> float:
        """One bit a character to say its case, when the part has capitals."""
        return 0.0 if text[start:end] == lower[start:end] else float(end - start)

    for i in range(n):
        here = best[i]
        relax(i + 1, here + literal)
        for steps, caseless in sequences:
            for period in _PERIODS:
                first = steps[i : i + period]
                if len(first) < period or None in first:
                    continue
                end = i + period + 1  # the run is text[i:end]
                while end < n and steps[end - 1] == steps[end - 1 - period]:
                    end += 1
                fixed = here + literal + period * _STEP_BITS
                for stop in range(i + max(_PATTERN_MIN, period + 2), end + 1):
                    extra = case_bits(i, stop) if caseless else 0.0
                    relax(stop, fixed + math.log2(stop - i) + extra)
        walk, end = here + math.log2(len(neighbours)), i + 1
        while end < n and lower[end] in neighbours.get(lower[end - 1], ()):
            walk += math.log2(len(neighbours[lower[end - 1]]))
            end += 1
            if end - i >= _PATTERN_MIN:
                relax(end, walk + math.log2(end - i) + case_bits(i, end))
        for length in _KEY_WORD_LENGTHS:
            if i + length > n:
                break
            if lower[i : i + length] in _KEY_WORDS or unleet[i : i + length] in _KEY_WORDS:
                relax(i + length, here + word_bits)
        for length in range(_PATTERN_MIN, earlier[i] + 1):
            relax(i + length, here + max(1.0, math.log2(i) + math.log2(length)))
    return best[n]


def cookie_key_spread_bits(key: str) -> float:
    """Shannon entropy of the key's characters times its length: low when a few
    characters make most of it, whatever their order."""
    text = key[:_KEY_ANALYSED]
    counts = Counter(text).values()
    return -sum(c * math.log2(c / len(text)) for c in counts)


@lru_cache(maxsize=4)
def _key_strength(key: str) -> tuple[float, float]:
    """Both estimates of a key (kept: the app checks its key on every rerun)."""
    return cookie_key_bits(key), cookie_key_spread_bits(key)


def cookie_key_problem(key: str | None) -> str | None:
    """Why a cookie key cannot be used (French), or None when it can: missing, a known
    example, too short, or too guessable (a pattern, words, few distinct characters)."""
    if not key:
        return t("safe_start.key_missing", env=COOKIE_KEY_ENV)
    if key.strip().lower() in KNOWN_DEFAULT_KEYS:
        return t("safe_start.key_default", env=COOKIE_KEY_ENV)
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        return t("safe_start.key_short", env=COOKIE_KEY_ENV, n=MIN_COOKIE_KEY_LENGTH)
    if len(set(key)) < 8:
        return t("safe_start.key_default", env=COOKIE_KEY_ENV)
    pattern, spread = _key_strength(key)
    if pattern < MIN_COOKIE_KEY_BITS or spread < MIN_COOKIE_KEY_SPREAD_BITS:
        bits = round(min(pattern, spread))
        return t("safe_start.key_weak", env=COOKIE_KEY_ENV, bits=bits, n=MIN_COOKIE_KEY_BITS)
    return None


@cache
def _process_demo_key() -> str:
    return secrets.token_urlsafe(48)


def effective_cookie_key(settings: Settings, key: str | None) -> str:
    """The key that signs cookies: in demo mode always a random key of this process
    (demo cookies end with the process, and a demo never signs with a production key:
    demo accounts are public, their names may exist in a live instance); otherwise the
    configured key (AccountError when it is unusable)."""
    if settings.demo:
        return _process_demo_key()
    if key and cookie_key_problem(key) is None:
        return key
    raise AccountError(cookie_key_problem(key) or "")


def startup_problems(
    settings: Settings,
    key: str | None,
    read: Callable[[Path], Mapping[str, Account]] = read_accounts,
) -> list[str]:
    """What keeps the app from starting outside demo mode (French, each with its fix):
    an unusable cookie key, a missing, unreadable or empty accounts file (read with
    ``read``: the app passes a cached reader)."""
    if settings.demo:
        return []
    problems = []
    key_problem = cookie_key_problem(key)
    if key_problem:
        problems.append(key_problem)
    path = accounts_path(settings)
    if not path.exists():
        problems.append(t("safe_start.no_accounts", path=path))
    else:
        try:
            accounts = read(path)
        except AccountError as exc:
            problems.append(str(exc))
        else:
            if not accounts:
                problems.append(t("safe_start.no_accounts", path=path))
    return problems


# ------------------------------------------------------------------ sign-in cookie


@dataclass(frozen=True)
class Claims:
    """What a valid cookie says: the account, the session epoch it was issued in and the
    mark of the password the account had then (``credentials_mark``)."""

    username: str
    epoch: int
    issued_at: dt.datetime
    mark: str


def credentials_mark(account: Account) -> str:
    """A short digest of the account's password hash. A session or cookie is bound to it
    as well as to the session epoch: the epoch is bumped by every workflow of this
    module, but an account removed and added again by hand in the accounts file starts
    from the epoch its name had, and only its new hash tells the old cookies apart."""
    return hashlib.sha256(account.password_hash.encode("utf-8")).hexdigest()[:16]


def issue_token(
    username: str,
    epoch: int,
    key: str,
    expiry_days: float,
    instance: str,
    now: dt.datetime | None = None,
    *,
    mark: str,
) -> str:
    """A signed cookie value for the account in its current session epoch and password
    (``mark``: ``credentials_mark``), valid only for ``instance`` (the store's id: see
    ``Database.instance_id``)."""
    now = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": username,
        "epoch": epoch,
        "cred": mark,
        "aud": instance,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(days=expiry_days)).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=_TOKEN_ALGORITHM)


def read_token(
    token: str, key: str, instance: str, now: dt.datetime | None = None
) -> Claims | None:
    """The claims of a cookie signed with ``key`` for ``instance`` and not expired at
    ``now``; None for anything else (another key or instance, tampered, expired, issued
    in the future, malformed)."""
    try:
        data = jwt.decode(
            token,
            key,
            algorithms=[_TOKEN_ALGORITHM],
            audience=instance,
            options={
                "require": ["sub", "exp", "iat", "aud"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError:
        return None
    moment = (now or dt.datetime.now(dt.UTC)).timestamp()
    sub, epoch, iat, exp = data["sub"], data.get("epoch"), data["iat"], data["exp"]
    mark = data.get("cred")
    if not isinstance(sub, str) or not isinstance(epoch, int) or isinstance(epoch, bool):
        return None
    if not isinstance(mark, str):
        return None
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        return None
    if exp <= moment or iat > moment + 300:
        return None
    return Claims(sub, epoch, dt.datetime.fromtimestamp(iat, dt.UTC), mark)


# --------------------------------------------------------------- account workflows
# One function per workflow, called by the admin page and the command line alike: each
# chains the accounts file, the session epoch, the lockout and the audit entry, so that
# no caller can miss a step (a missed epoch bump leaves a removed account signed in).


def create(
    path: Path,
    db: AuthStore,
    actor: str,
    username: str,
    password: str,
    role: str,
    name: str = "",
    email: str = "",
) -> Account:
    """Create an account, audited as done by ``actor``."""
    account = add_account(path, username, password, role, name, email)
    db.log_event(audit.USER_ADDED, account.username, {"by": actor, "role": account.role})
    return account


def change_role(path: Path, db: AuthStore, actor: str, username: str, role: str) -> Account:
    """Give an account another role; its sessions and cookies end."""
    account = set_role(path, username, role)
    db.bump_session_epoch(account.username)
    db.log_event(audit.ROLE_CHANGED, account.username, {"by": actor, "role": account.role})
    return account


def reset_password(path: Path, db: AuthStore, actor: str, username: str, password: str) -> Account:
    """Set an account's password for it; its sessions and cookies end."""
    account = set_password(path, username, password)
    db.bump_session_epoch(account.username)
    db.log_event(audit.PASSWORD_CHANGED, account.username, {"by": actor})
    return account


def delete(path: Path, db: AuthStore, actor: str, username: str) -> Account:
    """Remove an account: its sessions and cookies end, its lockout is forgotten."""
    account = remove_account(path, username)
    db.bump_session_epoch(account.username)
    db.clear_failed_logins(account.username)
    db.log_event(audit.USER_REMOVED, account.username, {"by": actor})
    return account


def subscribe(path: Path, db: AuthStore, actor: str, username: str, choice: str) -> Account:
    """Set an account's e-mail subscription (``DIGEST_CHOICES``), audited."""
    account = set_digest(path, username, choice)
    db.log_event(audit.DIGEST_SUBSCRIPTION, account.username, {"by": actor, "digest": choice})
    return account


def unlock(db: AuthStore, actor: str, username: str) -> bool:
    """Lift an account's lockout; True when it had failed sign-ins to forget."""
    name = normalise_username(username)
    cleared = db.clear_failed_logins(name)
    db.log_event(audit.UNLOCK, name, {"by": actor})
    return cleared
