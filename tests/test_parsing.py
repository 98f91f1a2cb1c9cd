"""Tolerant parsers: numbers, coordinates, personal data."""

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carto import parsing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12.0),
        (12.5, 12.5),
        ("12", 12.0),
        ("env. 30", 30.0),
        ("30+", 30.0),
        ("~15", 15.0),
        ("12 personnes", 12.0),
        ("environ 7,5", 7.5),
        ("-4", -4.0),
        ("- 4", -4.0),
        ("beaucoup", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
    ],
)
def test_parse_number(raw: object, expected: float | None) -> None:
    assert parsing.parse_number(raw) == expected


@given(st.text())
def test_parse_number_never_raises(text: str) -> None:
    result = parsing.parse_number(text)
    assert result is None or isinstance(result, float)


@given(st.integers(min_value=0, max_value=100_000))
def test_parse_number_round_trips_integers(n: int) -> None:
    assert parsing.parse_number(str(n)) == n
    assert parsing.parse_number(f"env. {n} personnes") == n


@pytest.mark.parametrize(
    "text",
    [
        "48.8841, 2.3601",
        "48.8841,2.3601",
        "48,8841 2,3601",
        "48,8841; 2,3601",
        "sous le pont 48.8841 2.3601",
        "https://www.google.com/maps/@48.8841,2.3601,17z",
        "https://maps.google.com/?q=48.8841,2.3601",
        "https://www.openstreetmap.org/?mlat=48.8841&mlon=2.3601#map=17/48.8841/2.3601",
        "geo:48.8841,2.3601",
    ],
)
def test_parse_latlon_text(text: str) -> None:
    assert parsing.parse_latlon_text(text) == parsing.LatLon(48.8841, 2.3601)


@pytest.mark.parametrize("text", ["près du métro", "12 rue de Flandre", "", None, "75019"])
def test_parse_latlon_text_refuses_non_coordinates(text: str | None) -> None:
    assert parsing.parse_latlon_text(text) is None


@given(st.text())
def test_parse_latlon_never_raises(text: str) -> None:
    parsing.parse_latlon_text(text)


@given(
    st.floats(min_value=48.1, max_value=49.2, allow_nan=False),
    st.floats(min_value=1.5, max_value=3.5, allow_nan=False),
    st.sampled_from(["{a}, {b}", "{a} {b}", "https://maps.google.com/?q={a},{b}", "@{a},{b},15z"]),
    st.booleans(),
)
def test_coordinates_round_trip(lat: float, lon: float, template: str, comma: bool) -> None:
    a, b = f"{lat:.6f}", f"{lon:.6f}"
    if comma and template in ("{a} {b}",):
        a, b = a.replace(".", ","), b.replace(".", ",")
    found = parsing.parse_latlon_text(template.format(a=a, b=b))
    assert found is not None
    assert found.lat == pytest.approx(lat, abs=1e-6)
    assert found.lon == pytest.approx(lon, abs=1e-6)


def test_fix_swapped() -> None:
    assert parsing.fix_swapped(2.36, 48.88) == (48.88, 2.36, True)
    assert parsing.fix_swapped(48.88, 2.36) == (48.88, 2.36, False)
    assert parsing.fix_swapped(0.0, 0.0) == (0.0, 0.0, False)


@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "0033612345678",
        "+330612345678",
        "+33 06 12 34 56 78",
        "01 42 00 00 00",
        "tél.0612345678",
        "+44 7911 123456",
        "+221 77 123 45 67",
        "00221771234567",
        "612345678",
    ],
)
def test_scrub_phones(phone: str) -> None:
    out = parsing.scrub_pii(f"appeler {phone} demain", "[téléphone]", "[email]")
    assert out.startswith("appeler ") and out.endswith("[téléphone] demain")
    assert not any(c.isdigit() for c in out), out


@pytest.mark.parametrize("email", ["prenom.nom@asso.org", "j-m.dupont+maraude@croix-rouge.fr"])
def test_scrub_emails(email: str) -> None:
    out = parsing.scrub_pii(f"écrire à {email} svp", "[téléphone]", "[email]")
    assert out == "écrire à [email] svp"


@pytest.mark.parametrize(
    "text",
    [
        "48.8841234567, 2.3601234567",
        "https://www.google.com/maps/@48.884123,2.360112,17z",
        "12 rue de la Chapelle 75018, 45 personnes le 12/11/2026 à 19:30",
    ],
)
def test_scrub_leaves_coordinates_addresses_and_dates(text: str) -> None:
    assert parsing.scrub_pii(text, "[téléphone]", "[email]") == text


def test_scrub_email_and_keeps_other_numbers() -> None:
    text = "contact: jean.dupont+asso@exemple.fr, 45 personnes, 3 tentes, code 75019"
    out = parsing.scrub_pii(text, "[téléphone]", "[email]")
    assert out == "contact: [email], 45 personnes, 3 tentes, code 75019"


@given(st.text())
def test_scrub_never_raises_and_leaves_no_email(text: str) -> None:
    out = parsing.scrub_pii(text + " a.b@c.fr", "[téléphone]", "[email]")
    assert "a.b@c.fr" not in out


# The patterns the linear parsers replaced (quadratic on long texts from a form): the
# parsers must find exactly what these found.
_DEC = r"-?\d{1,3}(?:\.\d+)?"
_QUADRATIC_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_QUADRATIC_MLAT = re.compile(rf"mlat=({_DEC}).*?mlon=({_DEC})")
_QUADRATIC_PLAIN = (
    re.compile(rf"(?<![\d.,])({_DEC})\s*[,;/ ]\s*({_DEC})(?![\d.])"),
    re.compile(r"(?<![\d.,])(-?\d{1,3}(?:,\d+)?)\s*[; /]\s*(-?\d{1,3}(?:,\d+)?)(?![\d,])"),
)
_EMAIL_TEXT = st.lists(
    st.sampled_from(["a", "é", "b.", "+", "-", "_", "@", ".", " ", "\n", "x@y.fr", "@@", ".."]),
    max_size=20,
).map("".join)
_POSITION_PIECES = ("48", ".88", ",5", "2", ".36", ",", ";", "/", "-", "x", "mlat=", "mlon=")
_LINK_PIECES = ("&", "@", "?q=", "geo:", "%2C", "1234", ".", " ", "  ", "\n")
_POSITION_TEXT = st.lists(
    st.sampled_from(_POSITION_PIECES + _LINK_PIECES),
    max_size=16,
).map("".join)


@settings(max_examples=400)
@given(_EMAIL_TEXT)
def test_emails_are_replaced_exactly_as_the_pattern_replaced_them(text: str) -> None:
    assert parsing._replace_emails(text, "[email]") == _QUADRATIC_EMAIL.sub("[email]", text)


@settings(max_examples=400)
@given(_POSITION_TEXT)
def test_osm_markers_are_found_exactly_as_the_pattern_found_them(text: str) -> None:
    m = _QUADRATIC_MLAT.search(text)
    assert parsing._osm_marker(text) == (m.groups() if m else None)


@settings(max_examples=400)
@given(_POSITION_TEXT)
def test_plain_pairs_are_found_exactly_as_the_patterns_found_them(text: str) -> None:
    for old, new in zip(_QUADRATIC_PLAIN, (parsing._PLAIN_DOT, parsing._PLAIN_COMMA), strict=True):
        assert [m.groups() for m in new.finditer(text)] == [m.groups() for m in old.finditer(text)]


def _slowest_growth(read: Callable[[str], object], make: Callable[[int], str]) -> float:
    """How many times more CPU ``read`` takes on a text 16 times as long (best of 5):
    about 16 when linear, about 256 when quadratic. CPU time of this thread, not wall
    time: a busy machine that preempts the thread does not count."""

    def best(n: int) -> float:
        text = make(n)
        times = []
        for _ in range(5):
            start = time.thread_time()
            read(text)
            times.append(time.thread_time() - start)
        return max(min(times), 1e-6)

    return best(80_000) / best(5_000)


@pytest.mark.parametrize(
    ("read", "make"),
    [
        (parsing.parse_latlon_text, lambda n: "1.5" + " " * n + "x"),
        (parsing.parse_latlon_text, lambda n: "1,5" + " " * n + "x"),
        (parsing.parse_latlon_text, lambda n: "mlat=1 " * (n // 7)),
        (lambda s: parsing.scrub_pii(s, "T", "E"), lambda n: "contact@" + "a" * n),
        (lambda s: parsing.scrub_pii(s, "T", "E"), lambda n: "@" + "a" * n),
        (lambda s: parsing.scrub_pii(s, "T", "E"), lambda n: "a" * n + "@"),
    ],
    ids=("spaces-after-number", "spaces-after-comma", "markers", "domain", "after-at", "name"),
)
def test_a_long_text_from_a_form_is_read_in_time_linear_in_its_length(
    read: Callable[[str], object], make: Callable[[int], str]
) -> None:
    """A form field of 80,000 characters must not hold the app for minutes: reading
    it grows with its length, not with its square (a ratio between two lengths, not a
    time)."""
    assert _slowest_growth(read, make) < 64
