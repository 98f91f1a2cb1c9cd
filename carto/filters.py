"""The shared filters of every page: period, associations, places, publics, needs, status.

A filter narrows the passages that every figure, chart and map is computed from. The
period bounds what happened "during" the view; the other criteria select camps (by
where they are, who lives there, what they need, their status) and associations (whose
passages count).

The filters live in the page address as stable codes, never as French labels:
``periode=mois-dernier``, ``assoc=croix-rouge-francaise``, ``arr=75019``,
``public=mna``, ``besoins=acces-aux-droits``, ``statut=sans_nouvelles``,
``dates=2026-11-01&dates=2026-11-30`` (``URL_PARAMS``). Reading a link also accepts
any spelling that folds to a code (the French labels and Airtable option names that
older links held), and reports every value it could not read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from carto import boundaries, schema
from carto.analytics import camps, places
from carto.analytics.figures import Period
from carto.i18n import t

LAST_MONTH, ALL, CUSTOM = "mois-dernier", "tout", "perso"
# Period codes (also the values of the ``periode`` URL parameter); labels: filter.period.<code>
PERIODS = ("24h", "7j", "30j", "90j", LAST_MONTH, ALL, CUSTOM)
PERIOD_DAYS = {"24h": 1, "7j": 7, "30j": 30, "90j": 90}
# Public → the counts that reveal it in a passage.
PUBLICS = {
    "familles": ("families", "children"),
    "mna": ("unaccompanied_minors",),
    "femmes": ("single_women",),
}
# Public → the count of that public in a camp's latest count: what the map shows and
# sizes its points by when the public is chosen.
PUBLIC_COUNTS = {
    "familles": "families",
    "mna": "unaccompanied_minors",
    "femmes": "single_women",
}
# Camp statuses: the analytics codes (``camps.STATUSES``, labels ``filter.status.<code>``).
ACTIVE, CLOSED, STALE = camps.STATUS_ACTIVE, camps.STATUS_CLOSED, camps.STATUS_STALE
CAMP_STATUSES = camps.STATUSES
# Their codes outside the program, which must not change: in addresses (shared links),
# audit entries and export file names.
STATUS_CODES = {ACTIVE: "actif", CLOSED: "ferme", STALE: "sans_nouvelles"}
STATUS_OF_CODE = {code: status for status, code in STATUS_CODES.items()}


@dataclass(frozen=True)
class Filters:
    """A choice of filters; empty tuples mean "all"."""

    period: str = "30j"
    custom: tuple[dt.date, dt.date] | None = None
    associations: tuple[str, ...] = ()
    arrondissements: tuple[str, ...] = ()
    publics: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @property
    def selects_camps(self) -> bool:
        return bool(self.arrondissements or self.publics or self.needs or self.statuses)

    @property
    def narrows(self) -> bool:
        """True when any criterion besides the period is set."""
        return bool(self.associations) or self.selects_camps

    def period_for(self, today: dt.date, first_day: dt.date | None) -> Period:
        """The period the filter means, on a dataset whose data ends on ``today`` (a date
        in the app's time zone): "mois-dernier" is the previous calendar month."""
        if self.period == CUSTOM and self.custom is not None:
            start, end = sorted(self.custom)
            return Period(pd.Timestamp(start), pd.Timestamp(min(end, today)))
        if self.period == LAST_MONTH:
            return Period.month_before(today)
        if self.period == ALL or self.period not in PERIOD_DAYS:
            first = first_day or today
            return Period(pd.Timestamp(min(first, today)), pd.Timestamp(today))
        return Period.last_days(today, PERIOD_DAYS[self.period])


def public_count(frame: pd.DataFrame, publics: Sequence[str] = ()) -> pd.Series:
    """What a camp counts for the chosen publics: its people when none is chosen, else
    the sum of the chosen publics' counts (``PUBLIC_COUNTS``); unknown or hidden counts
    are 0."""
    columns = [PUBLIC_COUNTS[p] for p in PUBLICS if p in publics] or ["people"]
    return frame[columns].apply(pd.to_numeric, errors="coerce").fillna(0.0).sum(axis=1)


def matching_camps(
    passages: pd.DataFrame,
    arrondissement: pd.Series,
    status: pd.Series,
    period: Period,
    f: Filters,
) -> pd.Index:
    """Camp ids meeting the camp criteria: place, status, and publics or needs reported
    in a passage of the period."""
    camps = pd.Index(passages["camp_id"].dropna().unique())
    if f.arrondissements:
        camps = camps.intersection(arrondissement.index[arrondissement.isin(f.arrondissements)])
    if f.statuses:
        camps = camps.intersection(status.index[status.isin(f.statuses)])
    if f.publics or f.needs:
        days = passages["day"]
        during = passages[(days >= period.start) & (days <= period.end)]
        reported = pd.Series(False, index=during.index)
        for public in f.publics:
            for col in PUBLICS[public]:
                reported |= during[col].fillna(0).gt(0)
        if f.needs:
            wanted = set(f.needs)
            reported |= during["needs"].map(lambda items: bool(wanted.intersection(items)))
        camps = camps.intersection(pd.Index(during.loc[reported, "camp_id"].unique()))
    return camps


def narrow(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    f: Filters,
    period: Period,
    as_of: pd.Timestamp,
    active_days: int,
) -> pd.DataFrame:
    """The passages the filters keep, with camp status and place worked out here: the one
    filtering that pages and exports share."""
    if not f.narrows:
        return passages
    status = camps.camp_status(camps.camp_states(passages, sites, as_of, active_days))
    arrondissement = places.camp_places(passages, sites)["arrondissement"]
    return apply(passages, arrondissement, status, period, f)


def apply(
    passages: pd.DataFrame,
    arrondissement: pd.Series,
    status: pd.Series,
    period: Period,
    f: Filters,
) -> pd.DataFrame:
    """The passages the filters keep (all periods: each page cuts the period it needs)."""
    keep = pd.Series(True, index=passages.index)
    if f.associations:
        keep &= passages["association"].isin(f.associations)
    if f.selects_camps:
        keep &= passages["camp_id"].isin(
            matching_camps(passages, arrondissement, status, period, f)
        )
    return passages[keep]


# --------------------------------------------------------------------------- URL codes

PARAM_PERIOD, PARAM_DATES = "periode", "dates"
PARAM_ASSOCIATIONS, PARAM_ARRONDISSEMENTS = "assoc", "arr"
PARAM_PUBLICS, PARAM_NEEDS, PARAM_STATUSES = "public", "besoins", "statut"
# Not a sidebar filter: the map's and the coordination page's coverage-gap threshold
# ("sans passage depuis plus de N jours"), ``sans_passage=5``.
PARAM_GAP = "sans_passage"
GAP_DAYS = (2, 3, 5, 7)
URL_PARAMS = (
    PARAM_PERIOD,
    PARAM_DATES,
    PARAM_ASSOCIATIONS,
    PARAM_ARRONDISSEMENTS,
    PARAM_PUBLICS,
    PARAM_NEEDS,
    PARAM_STATUSES,
)
_NOT_CODE = re.compile(r"[^a-z0-9]+")


def code_of(text: str) -> str:
    """The URL code of an option name: lower-case ASCII words joined by "-"
    ("Croix-Rouge française" → "croix-rouge-francaise", "93 Saint-Denis" → "93-saint-denis")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_CODE.sub("-", ascii_text.lower()).strip("-")


@dataclass(frozen=True)
class UrlOptions:
    """The options of one filter, the code each has in the URL, and every spelling read."""

    codes: Mapping[str, str]  # option → URL code, in display order
    spellings: Mapping[str, str]  # folded spelling (``code_of``) → option

    @classmethod
    def of(
        cls,
        options: Iterable[str],
        coded: bool = False,
        labels: Mapping[str, str] | None = None,
        url_codes: Mapping[str, str] | None = None,
    ) -> UrlOptions:
        """Options that are codes already (``coded``), that have their own code in the
        address (``url_codes``), or names (coded by ``code_of``); ``labels`` (option →
        French label) are read as well, for older links."""
        codes = {o: (url_codes[o] if url_codes else o if coded else code_of(o)) for o in options}
        spellings: dict[str, str] = {}
        for option, code in codes.items():
            for text in (option, code, (labels or {}).get(option, "")):
                if text:
                    spellings.setdefault(code_of(text), option)
        return cls(codes, spellings)

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(self.codes)

    def encode(self, chosen: Iterable[str]) -> list[str]:
        """The URL codes of the chosen options, in display order (unknown ones left out),
        so that one view has one address."""
        wanted = set(chosen)
        return [code for option, code in self.codes.items() if option in wanted]

    def decode(self, given: Iterable[str]) -> tuple[list[str], list[str]]:
        """(options read, in the order given and once each; values that are no option)."""
        found: list[str] = []
        rejected: list[str] = []
        for text in given:
            option = self.spellings.get(code_of(text))
            if option is None:
                rejected.append(text)
            elif option not in found:
                found.append(option)
        return found, rejected


def arrondissement_options(names: Iterable[str] = ()) -> tuple[str, ...]:
    """The place options: the Airtable options and ``names`` (e.g. the communes positions
    gave), Paris arrondissements first, then communes by INSEE code, "Autre" last."""
    order = {name: i for i, name in enumerate(boundaries.area_names())}
    wanted = set(schema.ARRONDISSEMENTS) | set(names)
    return tuple(
        sorted(wanted, key=lambda n: (n == schema.ARRONDISSEMENTS[-1], order.get(n, len(order)), n))
    )


def url_options(arrondissements: Sequence[str] | None = None) -> dict[str, UrlOptions]:
    """The options of each filter parameter but the dates (``arrondissements``: the places
    a link may name; default: the Airtable options and every arrondissement and commune of
    Paris and the inner suburbs)."""
    if arrondissements is None:
        arrondissements = arrondissement_options(boundaries.area_names())
    return {
        PARAM_PERIOD: UrlOptions.of(
            PERIODS, coded=True, labels={p: t(f"filter.period.{p}") for p in PERIODS}
        ),
        PARAM_ASSOCIATIONS: UrlOptions.of(schema.ASSOCIATIONS),
        PARAM_ARRONDISSEMENTS: UrlOptions.of(arrondissements),
        PARAM_PUBLICS: UrlOptions.of(
            PUBLICS, coded=True, labels={p: t(f"filter.public.{p}") for p in PUBLICS}
        ),
        PARAM_NEEDS: UrlOptions.of(schema.NEEDS),
        PARAM_STATUSES: UrlOptions.of(
            CAMP_STATUSES,
            labels={s: t(f"filter.status.{s}") for s in CAMP_STATUSES},
            url_codes=STATUS_CODES,
        ),
    }


def encode_dates(span: tuple[dt.date, dt.date]) -> list[str]:
    """The ``dates`` parameter of a custom period: its first and last day, ISO."""
    return [d.isoformat() for d in sorted(span)]


def decode_dates(given: Sequence[str]) -> tuple[dt.date, dt.date] | None:
    """A custom period from the ``dates`` parameter (two days, ISO or DD/MM/YYYY; one day
    means that day alone), or None when it cannot be read."""
    days: list[dt.date] = []
    for text in given:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                days.append(dt.datetime.strptime(text.strip(), fmt).date())
                break
            except ValueError:
                continue
        else:
            return None
    if len(days) not in (1, 2):
        return None
    start, end = min(days), max(days)
    return start, end


def gap_options(default: int) -> tuple[int, ...]:
    """The coverage-gap thresholds offered (days): ``GAP_DAYS`` and the configured
    ``default``, in order."""
    return tuple(sorted({*GAP_DAYS, int(default)}))


def decode_gap(given: str, options: Sequence[int]) -> int | None:
    """A threshold from the ``sans_passage`` parameter ("5", "5j", "5 jours"), or None
    when it is not one of ``options``."""
    match = re.fullmatch(r"\s*(\d{1,3})\s*(?:j|jours?)?\s*", given.lower())
    days = int(match.group(1)) if match else None
    return days if days in options else None
