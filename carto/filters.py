"""The shared filters of every page: period, associations, places, publics, needs, status.

A filter narrows the passages that every figure, chart and map is computed from. The
period bounds what happened "during" the view; the other criteria select camps (by
where they are, who lives there, what they need, their status) and associations (whose
passages count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from carto.analytics import camps, places
from carto.analytics.figures import Period

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
ACTIVE, CLOSED, STALE = "actif", "ferme", "sans_nouvelles"
CAMP_STATUSES = (ACTIVE, CLOSED, STALE)


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


def camp_status(states: pd.DataFrame) -> pd.Series:
    """The filter status of each camp (index ``camp_id``): active, closed or stale."""
    status = pd.Series(STALE, index=states["camp_id"], dtype="str")
    status[states["active"].to_numpy()] = ACTIVE
    status[states["closed"].to_numpy()] = CLOSED
    return status


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
    status = camp_status(camps.camp_states(passages, sites, as_of, active_days))
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
