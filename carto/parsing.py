"""Tolerant parsers for what field volunteers type: numbers, coordinates, personal data.

Each parser takes one raw value and never raises: it returns ``None`` when the value
cannot be read, so that the caller decides whether to flag or to quarantine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Île-de-France, generously: anything outside is not a Paris-area camp.
IDF_BOUNDS = (48.1, 49.25, 1.4, 3.6)  # lat_min, lat_max, lon_min, lon_max

_NUMBER_IN_TEXT = re.compile(r"(?<![\d.,])(-\s*)?(\d+(?:[.,]\d+)?)")


def parse_number(value: object) -> float | None:
    """A number from a JSON number or from text such as "env. 30", "30+", "~15", "12 pers".

    Returns the first number found in the text; a leading minus sign is kept so that
    negative counts can be set aside by the caller.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _NUMBER_IN_TEXT.search(value)
    if match is None:
        return None
    number = float(match.group(2).replace(",", "."))
    return -number if match.group(1) else number


@dataclass(frozen=True)
class LatLon:
    lat: float
    lon: float


_DEC = r"-?\d{1,3}(?:\.\d+)?"
_DEC_COMMA = r"-?\d{1,3}(?:,\d+)?"
# Every pattern here runs in time linear in the text: a form can send 100,000
# characters, and a regular expression that backtracks over them holds the interpreter
# (every session of the app) for minutes. Separators are atomic groups: once the spaces
# around a separator are taken, they are not tried again one by one.
_MLAT = re.compile(rf"mlat=({_DEC})")
_MLON = re.compile(rf"mlon=({_DEC})")
_LINK_PATTERNS = (
    re.compile(rf"@({_DEC}),\s*({_DEC})"),
    re.compile(rf"[?&](?:q|query|ll|daddr|destination)=(?:loc:)?({_DEC})(?:,|%2C)\s*({_DEC})"),
    re.compile(rf"geo:({_DEC}),({_DEC})"),
)
_PLAIN_DOT = re.compile(rf"(?<![\d.,])({_DEC})(?>\s*[,;/ ]\s*)({_DEC})(?![\d.])")
_PLAIN_COMMA = re.compile(rf"(?<![\d.,])({_DEC_COMMA})(?>\s*[; /]\s*)({_DEC_COMMA})(?![\d,])")


def parse_latlon_text(text: object) -> LatLon | None:
    """Coordinates from free text: "48.8841, 2.3601", "48,8841 2,3601" or a map link.

    Only pairs with decimals are taken, so that an address number is not read as a
    coordinate. The pair is returned as written; swaps are handled by ``fix_swapped``.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    osm = _osm_marker(text)
    if osm is not None:
        return _pair(*osm)
    for pattern in _LINK_PATTERNS:
        m = pattern.search(text)
        if m:
            return _pair(m.group(1), m.group(2))
    for pattern in (_PLAIN_DOT, _PLAIN_COMMA):
        for m in pattern.finditer(text):
            a, b = m.group(1), m.group(2)
            if any(sep in a for sep in ".,") and any(sep in b for sep in ".,"):
                pair = _pair(a, b)
                if pair is not None:
                    return pair
    return None


def _osm_marker(text: str) -> tuple[str, str] | None:
    """An OpenStreetMap marker's "mlat=…" and the first "mlon=…" after it on the same
    line, as ``mlat=(…).*?mlon=(…)`` finds them, in one pass: when a line's first
    "mlat=" has no "mlon=" after it, no later "mlat=" of that line has one either."""
    position = 0
    while (lat := _MLAT.search(text, position)) is not None:
        line_end = text.find("\n", lat.end())
        line_end = len(text) if line_end < 0 else line_end
        lon = _MLON.search(text, lat.end(), line_end)
        if lon is not None:
            return lat.group(1), lon.group(1)
        position = line_end
    return None


def _pair(a: str, b: str) -> LatLon | None:
    lat, lon = float(a.replace(",", ".")), float(b.replace(",", "."))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return LatLon(lat, lon)


def in_area(lat: float, lon: float, bounds: tuple[float, float, float, float] = IDF_BOUNDS) -> bool:
    """True when the point lies in the covered area (default: Île-de-France)."""
    lat_min, lat_max, lon_min, lon_max = bounds
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max


def fix_swapped(
    lat: float, lon: float, bounds: tuple[float, float, float, float] = IDF_BOUNDS
) -> tuple[float, float, bool]:
    """Swap latitude and longitude when only the swapped pair lies in the area."""
    if not in_area(lat, lon, bounds) and in_area(lon, lat, bounds):
        return lon, lat, True
    return lat, lon, False


# French phone numbers: 06 12 34 56 78, 06.12.34.56.78, 0612345678, +33 6 12 34 56 78,
# +33 (0)6 12 34 56 78, +330612345678, 0033 6 12 34 56 78 (also glued to a word: "tel06…").
_PHONE_FR = re.compile(
    r"(?<![\d+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?|0)?|0)[1-9](?:[\s.\-]?\d{2}){4}(?!\d)"
)
# Other international numbers (many people met in the camps keep a foreign number):
# + or 00, then at least 9 digits in groups ("+44 7911 123456", "00221 77 123 45 67").
_PHONE_INTL = re.compile(r"(?<![\d+])(?:\+|00)\s?[1-9](?:[\s.\-]?\(?\d\)?){8,14}(?!\d)")
# Any other run of 9 digits or more that is not the decimals of a number: a phone number
# typed without its leading 0 or read as a number from a count field ("612345678").
_LONG_DIGITS = re.compile(r"(?<![\d.,])\d{9,}(?!\d)")
# An e-mail address is found from its "@" (``_emails``), not by a pattern tried at
# every character: "[\w.+-]+@" tried at each start of a long word without "@" reads the
# rest of the word each time, which is quadratic.
_EMAIL_LOCAL = re.compile(r"[\w.+\-]")
_EMAIL_DOMAIN = re.compile(r"[\w\-]++(?:\.[\w\-]++)+")


def scrub_pii(text: str, phone_label: str, email_label: str) -> str:
    """Replace e-mail addresses and phone numbers in free text by labels.

    Phone numbers: French ones in every usual spelling, international ones (+ or 00 and
    at least 9 digits) and any bare run of 9 digits or more. Street numbers, counts,
    postcodes and the decimals of coordinates are left alone."""
    text = _replace_emails(text, email_label)
    for pattern in (_PHONE_FR, _PHONE_INTL, _LONG_DIGITS):
        text = pattern.sub(phone_label, text)
    return text


def _replace_emails(text: str, label: str) -> str:
    """``re.sub(r"[\\w.+\\-]+@[\\w\\-]+(?:\\.[\\w\\-]+)+", label, text)`` in linear time:
    from each "@" after the last address replaced, the name is the run of name
    characters before it and the domain what follows it."""
    parts: list[str] = []
    done = 0  # end of the text copied or replaced so far
    at = text.find("@")
    while at >= 0:
        start = at
        while start > done and _EMAIL_LOCAL.match(text, start - 1):
            start -= 1
        domain = _EMAIL_DOMAIN.match(text, at + 1) if start < at else None
        if domain is not None:
            parts += (text[done:start], label)
            done = domain.end()
        at = text.find("@", max(at + 1, done))
    return "".join(parts) + text[done:] if parts else text
