"""Protection alerts: camps where unaccompanied minors or families were reported in the
last ``hours`` hours and nobody was sheltered since.

A camp is alerted when a passage from ``now - hours`` (inclusive) to ``now`` reports
unaccompanied minors or families (count above 0) and no passage of the camp at or after
the latest such report, up to ``now``, reports people sheltered (``Personnes mises à l'abri`` above
0, or an evacuation "avec mise à l'abri"). The badge shows how many camps are alerted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from carto import schema
from carto.analytics.camps import counted
from carto.analytics.frames import local_times
from carto.analytics.lineage import by_camp
from carto.analytics.places import camp_places

# Codes of the ``reasons`` column (labels: catalogue keys ``alert.reason.<code>``).
REASON_MINORS, REASON_FAMILIES = "minors", "families"
ALERT_COLUMNS = [
    "camp_id",
    "name",
    "arrondissement",
    "latitude",
    "longitude",
    "last_report",
    "unaccompanied_minors",
    "families",
    "children",
    "people",
    "reasons",
    "associations",
]


GROUPS = ["unaccompanied_minors", "families", "children"]


def protection_alerts(
    passages: pd.DataFrame, sites: pd.DataFrame, now: pd.Timestamp, hours: float
) -> pd.DataFrame:
    """Alerted camps, columns ``ALERT_COLUMNS``, most minors and families first.

    Counts are the largest reported in the window; ``last_report`` is the latest passage
    reporting minors or families; ``reasons`` lists ``minors`` and/or ``families``. A
    camp's alert is made from its passages alone: for the next version of the passages,
    only the camps whose passages changed are looked at again (``lineage.by_camp``).
    """

    def make(rows: pd.DataFrame) -> pd.DataFrame:
        # the places of the whole frame (kept for it: the camp states place it too)
        return _ranked(_camp_alerts(rows, now, hours, lambda: camp_places(passages, sites)))

    read = [*_READ, "is_duplicate"]
    return by_camp("protection_alerts", [passages, sites], make, _ranked, (now, hours), read)


# The passage columns an alert reads.
_READ = ["camp_id", "date", "association", "sheltered", "evacuation", "people", *GROUPS]


def _camp_alerts(
    passages: pd.DataFrame,
    now: pd.Timestamp,
    hours: float,
    placed: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """The alerts of ``passages``' camps, unordered; ``placed``: the camps' places."""
    since = now - pd.Timedelta(hours=hours)
    dates = passages["date"]
    window = counted(passages, _READ, where=(dates >= since) & (dates <= now))
    vulnerable = (window["unaccompanied_minors"] > 0) | (window["families"] > 0)
    reports = window[vulnerable]
    if reports.empty:
        return empty_alerts(passages["date"])
    sheltering = window[
        (window["sheltered"] > 0) | (window["evacuation"] == schema.EVACUATION_SHELTERED)
    ]
    last_report = reports.groupby("camp_id")["date"].max()
    last_shelter = sheltering.groupby("camp_id")["date"].max().reindex(last_report.index)
    alerted = last_report.index[~(last_shelter >= last_report).fillna(False).to_numpy()]
    reports = reports[reports["camp_id"].isin(alerted)]
    if reports.empty:
        return empty_alerts(passages["date"])
    grouped = reports.groupby("camp_id")
    # one pass for the maxima (named aggregations went through one per column)
    alerts = grouped[["date", "unaccompanied_minors", "families", "children", "people"]].max()
    alerts = alerts.rename(columns={"date": "last_report"})
    alerts["associations"] = grouped["association"].agg(
        lambda s: ", ".join(sorted(set(s.dropna())))
    )
    minors = (alerts["unaccompanied_minors"] > 0).to_numpy()
    families = (alerts["families"] > 0).to_numpy()
    alerts["reasons"] = pd.Series(
        [
            [code for code, on in ((REASON_MINORS, m), (REASON_FAMILIES, f)) if on]
            for m, f in zip(minors, families, strict=True)
        ],
        index=alerts.index,
        dtype=object,
    )
    alerts = alerts.join(placed()[["name", "arrondissement", "latitude", "longitude"]])
    return alerts.reset_index()[ALERT_COLUMNS]


def _ranked(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts most minors and families first, then the latest report (camp ids: a
    total order, whatever order the rows came in)."""
    weight = alerts["unaccompanied_minors"].fillna(0) + alerts["families"].fillna(0)
    alerts = alerts.assign(_w=weight).sort_values(
        ["_w", "last_report", "camp_id"], ascending=[False, False, True], ignore_index=True
    )
    return alerts[ALERT_COLUMNS]


def alert_count(alerts: pd.DataFrame) -> int:
    """The number shown in the badge: alerted camps. Not protected as a small count for
    a partner: the table under the badge lists the camps, one row each."""
    return len(alerts)


def empty_alerts(dates: pd.Series) -> pd.DataFrame:
    """An alerts frame with no rows and the right columns and types."""
    cols: dict[str, Any] = {
        "camp_id": "str",
        "name": "str",
        "arrondissement": "str",
        "latitude": float,
        "longitude": float,
        "last_report": local_times(dates),
        "unaccompanied_minors": float,
        "families": float,
        "children": float,
        "people": float,
        "reasons": object,
        "associations": "str",
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
