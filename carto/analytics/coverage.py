"""Coverage: camps nobody visited lately, visits two associations made twice, who covers what.

- A *coverage gap* (docs/architecture.md §4): an active camp not visited for over ``gap_days``.
- A *duplicate visit* is two passages of different associations at the same camp within
  ``hours`` hours; the items both of them gave out are the items *distributed twice*.
  Two passages of the same association are not a coordination problem (and a resubmitted
  form is already counted once, see ``camps.mark_duplicates``).
- *Who covers what*: passages, camps and evenings by association and day of the week, and
  which associations visit each camp on each day of the week.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from carto import schema
from carto.analytics.camps import counted, epoch_seconds
from carto.analytics.frames import local_times, sort_order

WEEKDAYS = tuple(range(7))  # 0 = Monday, as pandas; labels: catalogue keys weekday.<n>
PAIR_COLUMNS = [
    "camp_id",
    "first_record",
    "second_record",
    "first_association",
    "second_association",
    "first_date",
    "second_date",
    "hours_apart",
    "items_twice",
    *(f"{item}_twice" for item in schema.DISTRIBUTIONS),
]


def coverage_gaps(states: pd.DataFrame, gap_days: int) -> pd.DataFrame:
    """The active camps of ``states`` (``camps.camp_states``) not visited for more than
    ``gap_days`` days, longest wait first."""
    gaps = states[states["active"] & (states["days_since_visit"] > gap_days)]
    return gaps.sort_values(["days_since_visit", "camp_id"], ascending=[False, True])


def duplicate_visits(passages: pd.DataFrame, hours: float) -> pd.DataFrame:
    """Pairs of passages of two different associations at one camp within ``hours`` hours,
    columns ``PAIR_COLUMNS``.

    ``<item>_twice`` is the quantity of that item given out twice (the smaller of the two
    passages' quantities, 0 when one of them gave none); ``items_twice`` lists the
    distribution keys concerned. Passages without an association are left out.
    """
    seen = counted(passages)
    seen = seen[seen["association"].notna()]
    seen = seen.take(sort_order(seen, ["camp_id", "date", "record_id"]))  # sorted by Arrow
    if seen.empty:
        return _empty_pairs(passages["date"])
    window = hours * 3600
    camp = seen["camp_id"].to_numpy()
    when = epoch_seconds(seen["date"])
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    # Compare each passage with the k-th next one of the same camp, for growing k, until
    # no pair is close enough any more: linear in passages for realistic windows.
    for k in range(1, len(seen)):
        same = camp[k:] == camp[:-k]
        close = (when[k:] - when[:-k]) <= window
        hit = same & close
        if not hit.any():
            break
        idx = np.flatnonzero(hit)
        firsts.append(idx)
        seconds.append(idx + k)
    if not firsts:
        return _empty_pairs(passages["date"])
    a = seen.iloc[np.concatenate(firsts)].reset_index(drop=True)
    b = seen.iloc[np.concatenate(seconds)].reset_index(drop=True)
    other = (a["association"] != b["association"]).to_numpy()
    a, b = a[other].reset_index(drop=True), b[other].reset_index(drop=True)
    pairs = pd.DataFrame(
        {
            "camp_id": a["camp_id"],
            "first_record": a["record_id"],
            "second_record": b["record_id"],
            "first_association": a["association"],
            "second_association": b["association"],
            "first_date": a["date"],
            "second_date": b["date"],
            "hours_apart": ((b["date"] - a["date"]).dt.total_seconds() / 3600).round(2),
        }
    )
    given = []
    for item in schema.DISTRIBUTIONS:
        both = np.fmin(a[item].fillna(0.0).to_numpy(), b[item].fillna(0.0).to_numpy())
        pairs[f"{item}_twice"] = both
        given.append(both > 0)
    flags = np.column_stack(given) if given else np.zeros((len(pairs), 0), dtype=bool)
    pairs["items_twice"] = pd.Series(
        [[k for k, g in zip(schema.DISTRIBUTIONS, row, strict=True) if g] for row in flags],
        index=pairs.index,
        dtype=object,
    )
    pairs = pairs.sort_values(["first_date", "camp_id", "second_date"], ignore_index=True)
    return pairs[PAIR_COLUMNS]


def items_distributed_twice(pairs: pd.DataFrame) -> pd.Series:
    """Total quantity of each item given out twice, by distribution key."""
    cols = [f"{item}_twice" for item in schema.DISTRIBUTIONS]
    totals = pairs[cols].sum() if len(pairs) else pd.Series(0.0, index=cols)
    return totals.rename(lambda c: c.removesuffix("_twice")).astype(float)


def who_covers_what(passages: pd.DataFrame) -> pd.DataFrame:
    """By association and day of the week (0 = Monday): ``passages``, distinct ``camps``
    visited, ``evenings`` with at least one passage, and ``passages_per_evening``.

    Every association and weekday appears (zeros included); pass the passages of the
    period wanted (``figures.in_period``).
    """
    seen = counted(passages)
    seen = seen[seen["association"].notna()]
    associations = [a for a in schema.ASSOCIATIONS if a in set(seen["association"])]
    associations += sorted(set(seen["association"]) - set(associations))
    index = pd.MultiIndex.from_product([associations, WEEKDAYS], names=["association", "weekday"])
    if seen.empty:
        table = pd.DataFrame(index=index, columns=["passages", "camps", "evenings"], data=0)
    else:
        seen = seen.assign(weekday=seen["day"].dt.day_of_week)
        table = seen.groupby(["association", "weekday"]).agg(
            passages=("record_id", "size"),
            camps=("camp_id", "nunique"),
            evenings=("day", "nunique"),
        )
        table = table.reindex(index, fill_value=0)
    table = table.astype(int)
    evenings = table["evenings"].where(table["evenings"] > 0)
    table["passages_per_evening"] = (table["passages"] / evenings).fillna(0.0).round(1)
    return table.reset_index()


def weekday_matrix(table: pd.DataFrame, measure: str = "passages") -> pd.DataFrame:
    """``who_covers_what`` as an association × weekday matrix of one measure."""
    matrix = table.pivot(index="association", columns="weekday", values=measure)
    return matrix.reindex(index=table["association"].unique(), columns=list(WEEKDAYS))


def camp_weekday_coverage(passages: pd.DataFrame) -> pd.DataFrame:
    """A camp × weekday table (0 = Monday): the associations that visited the camp on that
    day of the week, comma-separated ("" when none). Index ``camp_id``."""
    seen = counted(passages)
    seen = seen[seen["association"].notna()]
    if seen.empty:
        return pd.DataFrame(columns=list(WEEKDAYS), index=pd.Index([], name="camp_id"))
    seen = seen.assign(weekday=seen["day"].dt.day_of_week)
    order = {a: i for i, a in enumerate(schema.ASSOCIATIONS)}
    names = seen.groupby(["camp_id", "weekday"])["association"].agg(
        lambda s: ", ".join(sorted(set(s), key=lambda a: (order.get(a, len(order)), a)))
    )
    matrix = names.astype(object).unstack("weekday", fill_value="")
    return matrix.reindex(columns=list(WEEKDAYS), fill_value="")


def _empty_pairs(dates: pd.Series) -> pd.DataFrame:
    cols: dict[str, Any] = {
        "camp_id": "str",
        "first_record": "str",
        "second_record": "str",
        "first_association": "str",
        "second_association": "str",
        "first_date": local_times(dates),
        "second_date": local_times(dates),
        "hours_apart": float,
        "items_twice": object,
        **{f"{item}_twice": float for item in schema.DISTRIBUTIONS},
    }
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in cols.items()})
