"""French formats and plurals of the catalogue (issue 13): one way to write a number, real
plurals instead of "(s)"."""

from __future__ import annotations

import re
import string
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from carto.analytics import hotspots
from carto.i18n import (
    FR,
    NARROW_NBSP,
    PLURAL_FORMS,
    format_age,
    format_days_ago,
    format_decimal,
    format_int,
    format_number,
    parse_number,
    plural_form,
    t,
    t_n,
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_no_key_words_a_count_with_a_parenthesised_plural() -> None:
    marked = {key: text for key, text in FR.items() if re.search(r"\((e?s|e)\)", text)}
    assert not marked, marked


def test_each_plural_key_has_both_forms_with_the_same_placeholders() -> None:
    plural = {key.rsplit(".", 1)[0] for key in FR if key.rsplit(".", 1)[-1] in PLURAL_FORMS}
    assert plural, "the catalogue has no plural key"
    for base in plural:
        one, other = FR.get(f"{base}.one"), FR.get(f"{base}.other")
        assert one is not None and other is not None, base
        assert base not in FR, f"{base} is both a plain and a plural key"
        # the singular may leave the count out ("cette dernière heure")
        assert placeholders(one) - {"n"} == placeholders(other) - {"n"}, base


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 personne"),
        (1, "1 personne"),
        (1.5, "1,5 personne"),
        (2, "2 personnes"),
        (1062, f"1{NARROW_NBSP}062 personnes"),
        (None, "— personnes"),
        ("1", "1 personne"),
        (f"1{NARROW_NBSP}062", f"1{NARROW_NBSP}062 personnes"),
        ("<5", "<5 personnes"),  # a suppressed count is a plural
        ("—", "— personnes"),
    ],
)
def test_t_n_picks_the_french_form(n: float | str | None, expected: str) -> None:
    assert t_n("count.people", n) == expected


def test_plural_form_is_singular_below_two() -> None:
    assert [plural_form(n) for n in (0, 1, 1.9, -1, 2, 3, None)] == [
        "one",
        "one",
        "one",
        "one",
        "other",
        "other",
        "other",
    ]


def test_numbers_have_a_decimal_comma_and_narrow_no_break_spaces() -> None:
    assert format_int(1234567) == f"1{NARROW_NBSP}234{NARROW_NBSP}567"
    assert format_int(np.int64(12)) == "12"
    assert format_decimal(167.5) == "167,5"
    assert format_decimal(1234.56, 2) == f"1{NARROW_NBSP}234,56"
    assert format_number(4.0, trim=True) == "4"
    assert format_number(4.0) == "4,0"
    assert format_number(2.50, 2, trim=True) == "2,5"
    assert format_number(-0.04, trim=True) == "0"
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert format_int(missing) == format_decimal(missing) == format_number(missing) == "—"
    assert parse_number(f"1{NARROW_NBSP}062,5") == 1062.5
    assert parse_number("<5") is None


def test_days_ago_reads_today_and_yesterday() -> None:
    assert format_days_ago(0) == "aujourd'hui"
    assert format_days_ago(1) == "hier"
    assert format_days_ago(3) == "il y a 3 jours"
    assert format_days_ago(float("nan")) == "—"
    assert format_age(3 * 86400) == "3 jours"


def test_hotspot_reasons_use_singular_counts() -> None:
    row = SimpleNamespace(
        people=1.0,
        unaccompanied_minors=np.nan,
        families=1.0,
        single_women=1.0,
        days_since_visit=1,
        unmet_needs=[],
    )

    def text(row: SimpleNamespace) -> str:
        quoted = [getattr(row, c) for c in hotspots._REASON_READ]
        codes, params = zip(*hotspots._reasons(*quoted), strict=True)
        return hotspots.describe(codes, params)

    assert text(row) == "1 personne dont 1 famille, 1 femme seule, aucun passage depuis 1 jour"
    assert t_n("hotspot.days", 3) in text(SimpleNamespace(**{**vars(row), "days_since_visit": 3}))


def test_counted_texts_never_read_a_plural_after_one() -> None:
    """Every plural key's singular form, filled with 1, reads no plural noun after it."""
    for key in FR:
        if not key.endswith(".one"):
            continue
        base = key.removesuffix(".one")
        values = {name: "x" for name in placeholders(FR[key])}
        text = t_n(base, 1, **{k: v for k, v in values.items() if k != "n"})
        assert not re.search(r"\b1 \w+s\b", text) or "MNA" in text, (key, text)
    assert t("privacy.small_count", n=5) == "<5"
