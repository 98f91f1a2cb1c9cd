"""Hotspots (docs/architecture.md §4): many people, vulnerable, in need and not visited lately.

score = people × vulnerability × unmet needs × days since the last visit, where

- vulnerability = 1 + w_minors × MNA share + w_families × (families' members share)
  + w_women × single women share (shares of the latest count);
- unmet needs = 1 + w_need × the needs of the latest passage not covered by a delivery of
  the matching item at that camp within the window (needs without an item to deliver,
  such as medical care or shelter, always count as unmet);
- days = 1 + days since the last visit / days_scale.

Every score comes with its reasons: ``reason_codes`` (``REASONS``) and ``reason_params``
(the figures each one quotes) in the frames, written in words by ``describe`` where they
are shown (``carto.ui.data``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carto.analytics.camps import counted
from carto.analytics.frames import described
from carto.analytics.zones import zone_center, zone_ids, zone_size
from carto.i18n import format_decimal, format_int, t, t_n

# Need option → the distribution field that answers it.
NEED_ITEM = {
    "Nourriture": "meals_given",
    "Tentes": "tents_given",
    "Couvertures/duvets": "blankets_given",
    "Hygiène": "hygiene_kits_given",
    "Vêtements": "clothes_given",
}


# Codes of ``reason_codes``: the people counted (``people``, with ``minors``, ``families``
# and ``women`` among them), the days since the last visit (``days``, or ``today``) and
# the needs left uncovered (``unmet``). Their text: ``describe``.
REASONS = ("people", "minors", "families", "women", "days", "today", "unmet")
Reason = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Weights:
    """The ``[hotspots]`` settings (built by ``carto.options.AnalysisOptions``)."""

    minors: float
    families: float
    women: float
    unmet_need: float
    days_scale: float


def unmet_needs(
    passages: pd.DataFrame, states: pd.DataFrame, as_of: pd.Timestamp, window_days: int
) -> pd.Series:
    """Per camp (index ``camp_id``): the needs of its latest passage left uncovered."""
    end = as_of.normalize() + pd.Timedelta(days=1)
    dates = passages["date"]
    window = ((dates < end) & (dates >= end - pd.Timedelta(days=window_days))).to_numpy(bool)
    # the window's rows and the columns read only: not a copy of every passage
    recent = counted(passages, ["camp_id", *NEED_ITEM.values()], where=window)
    delivered = recent.groupby("camp_id")[list(NEED_ITEM.values())].sum() > 0
    # per item, the camps that got it (a set per item, not a dict per camp)
    given: dict[str, set[Hashable]] = {
        item: set(delivered.index[delivered[item].to_numpy(dtype=bool)])
        for item in NEED_ITEM.values()
    }
    out: dict[str, list[str]] = {}
    for camp_id, asked in zip(states["camp_id"], states["needs"], strict=True):
        items = list(asked) if isinstance(asked, (list, tuple, np.ndarray)) else []
        out[camp_id] = [
            need for need in items if need not in NEED_ITEM or camp_id not in given[NEED_ITEM[need]]
        ]
    return pd.Series(out, dtype=object)


def camp_scores(
    passages: pd.DataFrame,
    states: pd.DataFrame,
    as_of: pd.Timestamp,
    window_days: int,
    weights: Weights,
) -> pd.DataFrame:
    """Active camps ranked by hotspot score, with the score's factors and reasons."""
    active = states[states["active"] & states["people"].fillna(0).gt(0)].copy()
    if active.empty:
        return active.assign(
            score=pd.Series(dtype=float),
            reason_codes=pd.Series(dtype=object),
            reason_params=pd.Series(dtype=object),
        )
    people = active["people"].astype(float)
    family_members = active["children"].fillna(0) + active["families"].fillna(0)
    vulnerability = (
        1
        + weights.minors * _share(active["unaccompanied_minors"], people)
        + weights.families * _share(family_members, people)
        + weights.women * _share(active["single_women"], people)
    )
    unmet = unmet_needs(passages, active, as_of, window_days).reindex(active["camp_id"])
    needs_factor = 1 + weights.unmet_need * unmet.map(len).to_numpy()
    days_factor = 1 + active["days_since_visit"].astype(float) / weights.days_scale
    active["vulnerability"] = vulnerability.round(2)
    active["unmet_needs"] = unmet.to_numpy()
    active["score"] = (people * vulnerability * needs_factor * days_factor).round(1)
    # plain tuples of the columns the reasons quote (itertuples of every column, named,
    # cost more than the reasons)
    reasons = [
        _reasons(*row) for row in active[list(_REASON_READ)].itertuples(index=False, name=None)
    ]
    active["reason_codes"] = pd.Series(
        [[code for code, _ in found] for found in reasons], index=active.index, dtype=object
    )
    active["reason_params"] = pd.Series(
        [[params for _, params in found] for found in reasons], index=active.index, dtype=object
    )
    return active.sort_values("score", ascending=False, ignore_index=True)


def _share(part: pd.Series, people: pd.Series) -> pd.Series:
    return (part.fillna(0).astype(float) / people).clip(0, 1)


_REASON_READ = (
    "people",
    "unaccompanied_minors",
    "families",
    "single_women",
    "days_since_visit",
    "unmet_needs",
)


def _reasons(
    people: Any, minors: Any, families: Any, women: Any, days_since: Any, unmet: Any
) -> list[Reason]:
    found: list[Reason] = [("people", {"n": float(people)})]
    for code, value in (("minors", minors), ("families", families), ("women", women)):
        if pd.notna(value) and value > 0:
            found.append((code, {"n": float(value)}))
    days = int(days_since)
    found.append(("days", {"n": days}) if days > 0 else ("today", {}))
    if unmet:
        found.append(("unmet", {"needs": list(unmet)}))
    return found


def describe(codes: Sequence[str], params: Sequence[Mapping[str, Any]]) -> str:
    """A score's reasons in French: "42 personnes dont 6 MNA, aucun passage depuis 5
    jours, besoins non couverts : tentes"."""
    people, details, parts = "", [], []
    for code, values in zip(codes, params, strict=True):
        if code == "people":
            people = t_n("hotspot.people", format_int(values["n"]))
        elif code == "minors":
            details.append(t("hotspot.minors", n=format_int(values["n"])))
        elif code == "families":
            details.append(t_n("hotspot.families", values["n"]))
        elif code == "women":
            details.append(t_n("hotspot.women", values["n"]))
        elif code == "days":
            parts.append(t_n("hotspot.days", values["n"]))
        elif code == "today":
            parts.append(t("hotspot.today"))
        elif code == "unmet":
            parts.append(t("hotspot.unmet", needs=", ".join(n.lower() for n in values["needs"])))
    if details:
        people += " " + t("hotspot.including") + " " + ", ".join(details)
    return ", ".join([people, *parts])


def reasons(scores: pd.DataFrame) -> pd.Series:
    """The French text of each row's reasons (``describe``)."""
    return described(scores, describe, "reason_codes", "reason_params")


def zone_caption(resolution: int) -> str:
    """What a zone is at ``resolution``, in French: its size and what it groups."""
    side, area = zone_size(resolution)
    return t(
        "hotspot.zones_caption",
        side=f"{format_decimal(side)} km",
        area=f"{format_decimal(area)} km²",
        radius=f"{format_decimal(side * 3**0.5 / 2)} km",  # centre to the middle of a side
    )


def zone_scores(scores: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Zones ranked by the sum of their camps' scores, with the leading camp's reasons
    (codes and parameters)
    and the names of all their camps (highest score first, separated by ", ")."""
    if scores.empty:
        return pd.DataFrame(
            {
                **{
                    c: pd.Series(dtype=float)
                    for c in ("score", "people", "camps", "latitude", "longitude")
                },
                **{c: pd.Series(dtype="str") for c in ("top_camp", "camp_names")},
                **{c: pd.Series(dtype=object) for c in ("reason_codes", "reason_params")},
            }
        )
    with_zone = scores.sort_values("score", ascending=False, kind="stable").assign(
        zone=lambda s: zone_ids(s["latitude"], s["longitude"], resolution)
    )
    grouped = with_zone.groupby("zone")
    zones = pd.DataFrame(
        {
            "score": grouped["score"].sum().round(1),
            "people": grouped["people"].sum(),
            "camps": grouped.size(),
            "top_camp": grouped["name"].first(),
            "camp_names": grouped["name"].agg(", ".join),
            "reason_codes": grouped["reason_codes"].first(),
            "reason_params": grouped["reason_params"].first(),
        }
    )
    centres = [zone_center(z) for z in zones.index]
    zones["latitude"] = [c[0] for c in centres]
    zones["longitude"] = [c[1] for c in centres]
    return zones.sort_values("score", ascending=False).reset_index()
