"""The cookie key must be random (issue 14, item 10): patterned keys are refused with how
to make a good one, random keys always pass."""

from __future__ import annotations

import base64
import random
import re
import secrets
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import accounts
from testing.app import ROOT, TEST_COOKIE_KEY

# Keys the length, known-defaults and 8-distinct-characters rules alone let through
# (issue 14, item 10): repeated chunks, sequences, keyboard runs, words repeated.
WEAK_KEYS = [
    "abcd1234abcd1234abcd1234abcd1234",
    "abcdefghabcdefghabcdefghabcdefgh",
    "abcdefghijklmnopqrstuvwxyz012345",
    "zyxwvutsrqponmlkjihgfedcbaZYXWVU",
    "0123456789012345678901234567890123456789",
    "acegikmoqsuwy02468acegikmoqsuwy0",
    "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpP",
    "qwertyuiopasdfghjklzxcvbnm123456",
    "azertyuiopqsdfghjklmwxcvbn123456",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,",
    "1q2w3e4r5t6y7u8i9o0p1q2w3e4r5t6y",
    "motdepassemotdepassemotdepasse12",
    "P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!",
    "cookiesecretcookiesecretcookiesecret",
    "MyCookieKey2024!MyCookieKey2024!",
    "Carto2026!Carto2026!Carto2026!Carto2026!",
    "Mon-Super-Secret-Cookie-2026!!!!",
    "thisismysecretcookiekeyforcarto!",
    "hgfedcbaHGFEDCBA87654321hgfedcba",
    "aabbccddeeffgghhaabbccddeeffgghh",
]


def old_rules_accept(key: str) -> bool:
    return (
        len(key) >= accounts.MIN_COOKIE_KEY_LENGTH
        and len(set(key)) >= 8
        and key.strip().lower() not in accounts.KNOWN_DEFAULT_KEYS
    )


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_patterned_keys_are_refused_with_how_to_make_a_good_one(key: str) -> None:
    assert old_rules_accept(key)
    problem = accounts.cookie_key_problem(key)
    assert problem is not None
    assert "trop facile à deviner" in problem and "CARTO_COOKIE_KEY" in problem
    assert "secrets.token_urlsafe(48)" in problem
    assert accounts.cookie_key_bits(key) < accounts.MIN_COOKIE_KEY_BITS


def test_keys_mostly_of_one_character_are_refused() -> None:
    """One character three times in four, eight others scattered in a random order:
    no run or repeat to see, but under 2 bits a character."""
    chars = list("a" * 24 + "Zq7!xK2m")
    random.Random(14).shuffle(chars)
    key = "".join(chars)
    assert old_rules_accept(key)
    assert accounts.cookie_key_spread_bits(key) < accounts.MIN_COOKIE_KEY_SPREAD_BITS
    problem = accounts.cookie_key_problem(key)
    assert problem is not None and "trop facile à deviner" in problem


def documented_example_keys() -> list[str]:
    """Cookie keys written out in the README and the example config, if any."""
    found = []
    for name in ("README.md", "config.example.toml"):
        text = (ROOT / name).read_text(encoding="utf-8")
        found += re.findall(r'CARTO_COOKIE_KEY\s*=\s*"([^"$]*)"', text)
    return found


def test_documented_example_keys_are_refused() -> None:
    examples = documented_example_keys()
    assert examples  # the README shows where the key goes
    for key in examples:
        assert accounts.cookie_key_problem(key) is not None, key


def _urlsafe(data: bytes) -> str:  # what secrets.token_urlsafe makes of its bytes
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _standard_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


RANDOM_KEY_MAKERS = {
    "token_urlsafe": _urlsafe,
    "token_hex": bytes.hex,
    "base64": _standard_b64,
}


@pytest.mark.parametrize("kind", sorted(RANDOM_KEY_MAKERS))
@settings(max_examples=150, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64 - 1), size=st.integers(32, 96))
def test_random_keys_always_pass(kind: str, seed: int, size: int) -> None:
    """Keys made of ``size`` random bytes, the way secrets makes them (hypothesis picks
    the seed, so that any failure can be replayed)."""
    key = RANDOM_KEY_MAKERS[kind](random.Random(seed).randbytes(size))
    assert accounts.cookie_key_problem(key) is None, (key, accounts.cookie_key_bits(key))


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_urlsafe(48),
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
    ],
    ids=["token_urlsafe(32)", "token_urlsafe(48)", "token_hex(32)", "b64encode(32 bytes)"],
)
def test_keys_from_secrets_pass(make: Callable[[], str]) -> None:
    for _ in range(300):
        key = make()
        assert accounts.cookie_key_problem(key) is None, key


def test_the_test_suites_key_passes() -> None:
    assert accounts.cookie_key_problem(TEST_COOKIE_KEY) is None
