"""From the map to the street and back (issue 17): the camps around a position, a
round prepared for tonight, and the link that reports a passage in the association's form.

- **Report a passage** (``passage_url``): ``[forms] passage_url`` is a URL template whose
  ``{placeholders}`` (``PLACEHOLDERS``) are filled with the camp's values, each
  URL-encoded; a value the camp lacks is left empty; an empty template gives no link.
  The app never writes to Airtable: the form does.
- **Camps around me** (``nearby``): each camp's walking distance from a position the
  browser gave, nearest first. The position is an argument, never stored or cached.
- **Prepare a round**: ``suggest`` ranks the camps of the chosen zones (not visited for
  ``gap_days`` days, protection alerts, unmet needs, hotspot score; camps another
  association plans tonight go last), ``route`` orders them into a walking route and
  ``packing`` says what to bring, in whole units.
- **Planned tonight**: ``Plan`` is one round saved in the app's store
  (``AuthStore.add_plan``); ``plans_for_evening`` lists an evening's plans and
  ``unvisited`` the planned camps that got no passage by the next morning.

Walking distances are estimates: the great-circle distance times ``[rounds]
detour_factor`` (streets are not straight), walked at ``[rounds] walking_speed_kmh``.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import string
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from carto import audit, parsing, privacy
from carto.analytics.needs import NEED_ITEMS
from carto.filters import code_of
from carto.i18n import t
from carto.settings import ConfigError, Settings
from carto.store import AuthStore

# Placeholders of ``[forms] passage_url`` (README, "Signaler un passage").
PLACEHOLDERS = {
    "site_id": "the Airtable record id of the camp's Site (empty for a camp without a Site)",
    "camp_id": "the app's camp id (S-<site record> or P-<first passage record>)",
    "name": "the camp's name",
    "lat": "latitude, 6 decimals, decimal point",
    "lon": "longitude, 6 decimals, decimal point",
    "arrondissement": "the camp's arrondissement (75019, 93 Saint-Denis…)",
    "date": "today, YYYY-MM-DD",
}
EARTH_RADIUS_M = 6_371_000.0
# Up to this many camps, the route is the shortest order (exact, Held–Karp); beyond it,
# nearest neighbour improved by 2-opt.
EXACT_MAX = 9
# Reasons a camp is suggested (labels: catalogue keys ``round.reason.<code>``).
REASONS = ("alert", "gap", "needs", "hotspot", "planned")
# A planned camp counts as visited by a passage from noon of the evening to this hour of
# the next morning (local time).
MORNING_HOUR = 10
# A round is planned for an evening from yesterday's (a round past midnight) to this
# many days ahead; a link or a form naming another evening is not taken.
EVENINGS_AHEAD = 31


@dataclass(frozen=True)
class RoundOptions:
    """The ``[forms]`` and ``[rounds]`` settings."""

    passage_url: str
    plan_retention_days: int
    walking_speed_kmh: float
    detour_factor: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RoundOptions:
        """The options; ConfigError for a form link naming an unknown placeholder."""
        template = settings["forms.passage_url"].strip()
        try:
            check_template(template)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return cls(
            passage_url=template,
            plan_retention_days=settings["rounds.plan_retention_days"],
            walking_speed_kmh=settings["rounds.walking_speed_kmh"],
            detour_factor=settings["rounds.detour_factor"],
        )


# ------------------------------------------------------------------ passage link


def template_fields(template: str) -> list[str]:
    """The placeholders a template names (ValueError for a malformed template)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def check_template(template: str) -> None:
    """ValueError when the template names a placeholder outside ``PLACEHOLDERS``."""
    unknown = sorted(set(template_fields(template)) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(
            f"[forms] passage_url: unknown placeholder(s) {unknown}; known: {sorted(PLACEHOLDERS)}"
        )


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _coordinate(value: Any) -> str:
    text = _text(value)
    return f"{float(text):.6f}" if text else ""


def site_id_of(camp_id: str) -> str:
    """The Site record id of a camp linked to a Site ("S-rec…" → "rec…"), else ""."""
    return camp_id[2:] if camp_id.startswith("S-") else ""


def passage_url(template: str, camp: Mapping[str, Any], today: dt.date) -> str | None:
    """The link that opens the association's form prefilled for ``camp`` (a row with
    ``camp_id``, ``name``, ``latitude``, ``longitude``, ``arrondissement``); None when no
    template is set. Every value is URL-encoded; a missing one is left empty."""
    if not template:
        return None
    check_template(template)
    camp_id = _text(camp.get("camp_id"))
    values = {
        "site_id": site_id_of(camp_id),
        "camp_id": camp_id,
        "name": _text(camp.get("name")),
        "lat": _coordinate(camp.get("latitude")),
        "lon": _coordinate(camp.get("longitude")),
        "arrondissement": _text(camp.get("arrondissement")),
        "date": today.isoformat(),
    }
    return template.format(**{k: urllib.parse.quote(v, safe="") for k, v in values.items()})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def passage_links(
    camps: pd.DataFrame, template: str, policy: privacy.Policy, today: dt.date
) -> pd.Series:
    """The form link of each camp (None where there is none). A role that does not see
    exact positions gets none: the link would carry the Site id and the position."""
    if not template or not policy.exact_positions or camps.empty:
        return pd.Series([None] * len(camps), index=camps.index, dtype=object)
    return pd.Series(
        [passage_url(template, row, today) for row in records(camps)],
        index=camps.index,
        dtype=object,
    )


def directions_links(latitude: float, longitude: float) -> tuple[str, str]:
    """(``geo:`` URI, OpenStreetMap walking directions) to a position: Android opens the
    first in its maps app; iOS and desktops open the second in the browser."""
    lat, lon = f"{latitude:.6f}", f"{longitude:.6f}"
    osm = (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
        f"&route=%3B{lat}%2C{lon}#map=17/{lat}/{lon}"
    )
    return f"geo:{lat},{lon}?q={lat},{lon}", osm


# ------------------------------------------------------------------ distances


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two positions, in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def walking_m(lat1: float, lon1: float, lat2: float, lon2: float, detour: float) -> float:
    """The estimated walking distance: the straight line times the detour factor."""
    return great_circle_m(lat1, lon1, lat2, lon2) * detour


def nearby(
    camps: pd.DataFrame, latitude: float, longitude: float, radius_m: float, detour: float
) -> pd.DataFrame:
    """The camps within ``radius_m`` (estimated walking distance) of a position, nearest
    first, with ``distance_m``. Nothing here keeps the position."""
    if camps.empty:
        return camps.assign(distance_m=pd.Series(dtype=float))
    distance = [
        walking_m(latitude, longitude, la, lo, detour)
        for la, lo in zip(camps["latitude"], camps["longitude"], strict=True)
    ]
    found = camps.assign(distance_m=distance)
    found = found[found["distance_m"] <= radius_m]
    return found.sort_values(["distance_m", "camp_id"], ignore_index=True)


# ------------------------------------------------------------------ route


def path_length(order: Sequence[int], d: Sequence[Sequence[float]]) -> float:
    """The length of the open path visiting ``order``."""
    return sum(d[a][b] for a, b in itertools.pairwise(order))


def nearest_neighbour(d: Sequence[Sequence[float]], start: int = 0) -> list[int]:
    """The path that always walks to the nearest camp not visited yet."""
    n = len(d)
    if n == 0:
        return []
    order, left = [start], set(range(n)) - {start}
    while left:
        here = order[-1]
        nxt = min(left, key=lambda j: (d[here][j], j))
        order.append(nxt)
        left.remove(nxt)
    return order


def two_opt(order: Sequence[int], d: Sequence[Sequence[float]]) -> list[int]:
    """``order`` improved by reversing stretches while that shortens the open path."""
    best = list(order)
    n = len(best)
    improved = True
    while improved:
        improved = False
        for i in range(n - 1):
            for j in range(i + 1, n):
                # reversing best[i..j] changes the edges (i-1, i) and (j, j+1)
                before = (d[best[i - 1]][best[i]] if i > 0 else 0.0) + (
                    d[best[j]][best[j + 1]] if j < n - 1 else 0.0
                )
                after = (d[best[i - 1]][best[j]] if i > 0 else 0.0) + (
                    d[best[i]][best[j + 1]] if j < n - 1 else 0.0
                )
                if after < before - 1e-9:
                    best[i : j + 1] = reversed(best[i : j + 1])
                    improved = True
    return best


def shortest_path(d: Sequence[Sequence[float]]) -> list[int]:
    """The shortest open path through every point, any start (Held–Karp, O(2ⁿ·n²))."""
    n = len(d)
    if n <= 1:
        return list(range(n))
    inf = math.inf
    cost = [[inf] * n for _ in range(1 << n)]
    back = [[-1] * n for _ in range(1 << n)]
    for j in range(n):
        cost[1 << j][j] = 0.0
    for mask in range(1, 1 << n):
        for j in range(n):
            c = cost[mask][j]
            if c == inf:
                continue
            for k in range(n):
                if mask & (1 << k):
                    continue
                nxt = mask | (1 << k)
                if c + d[j][k] < cost[nxt][k]:
                    cost[nxt][k] = c + d[j][k]
                    back[nxt][k] = j
    full = (1 << n) - 1
    last = min(range(n), key=lambda j: cost[full][j])
    order, mask = [], full
    while last != -1:
        order.append(last)
        prev = back[mask][last]
        mask &= ~(1 << last)
        last = prev
    return order[::-1]


def best_order(d: Sequence[Sequence[float]]) -> list[int]:
    """The order of the route: the shortest up to ``EXACT_MAX`` points; beyond, the
    best of 2-opt from the nearest-neighbour path of each start and from the given
    order (so never longer than the given order)."""
    n = len(d)
    if n <= EXACT_MAX:
        return shortest_path(d)
    candidates = [two_opt(list(range(n)), d)]
    candidates += [two_opt(nearest_neighbour(d, s), d) for s in range(n)]
    return min(candidates, key=lambda o: path_length(o, d))


@dataclass(frozen=True)
class Route:
    """An ordered walking route: camp ids in visiting order, the estimated walking
    distance of each leg (0 for the first camp), the total and the walking time."""

    camp_ids: tuple[str, ...]
    legs_m: tuple[float, ...]
    total_m: float
    minutes: float


def route(camps: pd.DataFrame, detour: float, speed_kmh: float) -> Route:
    """The walking route through ``camps`` (``camp_id``, ``latitude``, ``longitude``)."""
    ids = camps["camp_id"].astype(str).tolist()
    pos = list(zip(camps["latitude"].astype(float), camps["longitude"].astype(float), strict=True))
    d = [[walking_m(*a, *b, detour) for b in pos] for a in pos]
    order = best_order(d)
    legs = [0.0] + [d[a][b] for a, b in itertools.pairwise(order)] if order else []
    total = sum(legs)
    return Route(tuple(ids[i] for i in order), tuple(legs), total, total / (speed_kmh * 1000 / 60))


# ------------------------------------------------------------------ suggestion


def camp_board(states: pd.DataFrame, alerts: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """One row per active camp with what a round needs: place, position, days since the
    last passage, people, latest needs, its protection alert reasons (empty list: none),
    hotspot ``score`` (0 when not scored) and ``unmet_needs``."""
    board = states[states["active"]].copy()
    reasons = dict(zip(alerts["camp_id"], alerts["reasons"], strict=True)) if len(alerts) else {}
    score = dict(zip(scores["camp_id"], scores["score"], strict=True)) if len(scores) else {}
    unmet = dict(zip(scores["camp_id"], scores["unmet_needs"], strict=True)) if len(scores) else {}
    board["alert_reasons"] = [_as_list(reasons.get(c)) for c in board["camp_id"]]
    board["score"] = [float(score.get(c, 0.0)) for c in board["camp_id"]]
    board["unmet_needs"] = [_as_list(unmet.get(c)) for c in board["camp_id"]]
    board["needs"] = [_as_list(n) for n in board["needs"]]
    return board.reset_index(drop=True)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:  # a missing value (NaN, NA)
        return []


def suggest(
    board: pd.DataFrame,
    arrondissements: Sequence[str],
    gap_days: int,
    planned_elsewhere: Mapping[str, Sequence[str]],
    limit: int,
) -> pd.DataFrame:
    """The camps of ``arrondissements`` (all when empty) in priority order, at most
    ``limit``, with ``reasons`` (codes of ``REASONS``) and ``planned_by`` (associations
    that plan the camp tonight already). Protection alerts first, then camps not visited
    for ``gap_days`` days or more, then unmet needs, then by hotspot score and days
    since the last passage; a camp another association plans tonight goes last."""
    chosen = board if not arrondissements else board[board["arrondissement"].isin(arrondissements)]
    chosen = chosen.copy()
    chosen["planned_by"] = [list(planned_elsewhere.get(c, ())) for c in chosen["camp_id"]]
    rows = []
    for row in records(chosen):
        reasons = []
        if row["alert_reasons"]:
            reasons.append("alert")
        if row["days_since_visit"] >= gap_days:
            reasons.append("gap")
        if row["unmet_needs"]:
            reasons.append("needs")
        if row["score"] > 0:
            reasons.append("hotspot")
        if row["planned_by"]:
            reasons.append("planned")
        rows.append(reasons)
    chosen["reasons"] = rows
    key = pd.DataFrame(
        {
            "planned": [bool(p) for p in chosen["planned_by"]],
            "alert": [not r or "alert" not in r for r in rows],
            "gap": [not r or "gap" not in r for r in rows],
            "needs": [not r or "needs" not in r for r in rows],
            "score": -chosen["score"].to_numpy(),
            "days": -chosen["days_since_visit"].to_numpy(),
            "camp_id": chosen["camp_id"].to_numpy(),
        },
        index=chosen.index,
    )
    ordered = key.sort_values(list(key.columns), kind="stable").index
    return chosen.loc[ordered].head(limit).reset_index(drop=True)


# ------------------------------------------------------------------ packing list


def packing(camps: pd.DataFrame, passages: pd.DataFrame, since: pd.Timestamp) -> pd.DataFrame:
    """What to bring to ``camps``, per item (``NEED_ITEMS``), in whole units:

    - ``need``: the people of the camps whose latest passage reports the need (one item
      per person; a camp whose count is unknown adds nothing);
    - ``usual``: what recent rounds gave these camps per visit (passages since
      ``since``: the mean given per passage of each camp, summed over the camps, rounded
      up);
    - ``bring``: the larger of the two.
    Items with nothing to bring are left out."""
    rows = []
    ids = set(camps["camp_id"])
    recent = passages[passages["camp_id"].isin(ids) & (passages["date"] >= since)]
    for item, (need_option, given) in NEED_ITEMS.items():
        need = 0.0
        for row in records(camps):
            if need_option in _as_list(row.get("needs")) and not pd.isna(row.get("people")):
                need += float(row["people"])
        usual = 0.0
        if len(recent) and given in recent.columns:
            usual = float(recent.groupby("camp_id")[given].mean().fillna(0).sum())
        need_n, usual_n = math.ceil(need), math.ceil(usual)
        bring = max(need_n, usual_n)
        if bring > 0:
            rows.append({"item": item, "need": need_n, "usual": usual_n, "bring": bring})
    return pd.DataFrame(rows, columns=["item", "need", "usual", "bring"]).astype(
        {"need": int, "usual": int, "bring": int}
    )


# ------------------------------------------------------------------ plans


@dataclass(frozen=True)
class Plan:
    """One round planned for an evening, as the store keeps it."""

    evening: dt.date
    association: str
    team: str
    zones: tuple[str, ...]
    camp_ids: tuple[str, ...]
    created_by: str = ""
    created_at: dt.datetime | None = None
    id: int | None = None

    def to_row(self) -> dict[str, str]:
        return {
            "evening": self.evening.isoformat(),
            "association": self.association,
            "team": self.team,
            "zones": json.dumps(list(self.zones), ensure_ascii=False),
            "camps": json.dumps(list(self.camp_ids)),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Plan:
        return cls(
            evening=dt.date.fromisoformat(row["evening"]),
            association=row["association"],
            team=row["team"],
            zones=tuple(json.loads(row["zones"])),
            camp_ids=tuple(json.loads(row["camps"])),
            created_by=row["created_by"],
            created_at=row["created_at"],
            id=row["id"],
        )


TEAM_MAX_CHARS = 80  # a team's name, as the form and the link take it


def evening_in_reach(evening: dt.date, today: dt.date) -> bool:
    """Whether a round may be planned for ``evening`` on ``today`` (yesterday's evening
    to ``EVENINGS_AHEAD`` days ahead)."""
    return today - dt.timedelta(days=1) <= evening <= today + dt.timedelta(days=EVENINGS_AHEAD)


def save_plan(
    store: AuthStore, plan: Plan, username: str, retention_days: int, today: dt.date
) -> int:
    """Keep ``plan`` in the store, audited, and forget plans of evenings more than
    ``retention_days`` before ``today``; returns the plan's id. ValueError for an evening
    out of reach (``evening_in_reach``): counted from such an evening, the retention
    would forget every plan, tonight's included."""
    if not evening_in_reach(plan.evening, today):
        raise ValueError(f"evening {plan.evening} out of reach on {today}")
    # the form's limit is the browser's; a hand-made request is cut here. Every
    # coordinator and volunteer sees the team: no phone number or e-mail, as in records.
    team = parsing.scrub_pii(plan.team[:TEAM_MAX_CHARS], t("pii.phone"), t("pii.email"))
    plan = dataclasses.replace(plan, team=team)
    plan_id = store.add_plan(plan.to_row(), username)
    store.log_event(
        audit.ROUND_PLANNED,
        username,
        {
            "plan": plan_id,
            "evening": plan.evening.isoformat(),
            "association": plan.association,
            "planned_camps": len(plan.camp_ids),
        },
    )
    removed = store.purge_plans(today - dt.timedelta(days=retention_days))
    if removed:
        store.log_event(audit.ROUNDS_PURGED, username, {"plans": removed})
    return plan_id


def plans_for_evening(store: AuthStore, day: dt.date) -> list[Plan]:
    """The rounds planned for the evening of ``day``, in the order they were saved (the
    e-mail digest lists them too)."""
    return [Plan.from_row(r) for r in store.plans(day, day)]


def planned_elsewhere(plans: Sequence[Plan], association: str) -> dict[str, list[str]]:
    """Camp id → the other associations that plan it in ``plans``."""
    out: dict[str, list[str]] = {}
    for plan in plans:
        if plan.association == association:
            continue
        for camp in plan.camp_ids:
            if plan.association not in out.setdefault(camp, []):
                out[camp].append(plan.association)
    return out


def plans_frame(plans: Sequence[Plan], policy: privacy.Policy) -> pd.DataFrame:
    """One row per planned camp (``plan``, ``association``, ``team``, ``camp_id``,
    ``rank``); a role without free text sees no team name."""
    rows = [
        {
            "plan": p.id,
            "evening": p.evening,
            "association": p.association,
            "team": p.team if policy.free_text else "",
            "camp_id": camp,
            "rank": i + 1,
        }
        for p in plans
        for i, camp in enumerate(p.camp_ids)
    ]
    columns = ["plan", "evening", "association", "team", "camp_id", "rank"]
    return pd.DataFrame(rows, columns=columns)


def unvisited(
    plans: Sequence[Plan], passages: pd.DataFrame, timezone: str, now: pd.Timestamp
) -> pd.DataFrame:
    """ "Prévu, non visité": planned camps of evenings whose next morning (``MORNING_HOUR``)
    has passed at ``now`` and that got no passage (by anyone) from noon of the evening
    to that morning. Columns of ``plans_frame`` (team as kept)."""
    rows = []
    for plan in plans:
        start = pd.Timestamp(plan.evening).tz_localize(timezone) + pd.Timedelta(hours=12)
        morning = pd.Timestamp(plan.evening + dt.timedelta(days=1)).tz_localize(
            timezone
        ) + pd.Timedelta(hours=MORNING_HOUR)
        if now < morning:
            continue
        window = passages[(passages["date"] >= start) & (passages["date"] < morning)]
        seen = set(window["camp_id"])
        for i, camp in enumerate(plan.camp_ids):
            if camp not in seen:
                rows.append(
                    {
                        "plan": plan.id,
                        "evening": plan.evening,
                        "association": plan.association,
                        "team": plan.team,
                        "camp_id": camp,
                        "rank": i + 1,
                    }
                )
    columns = ["plan", "evening", "association", "team", "camp_id", "rank"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------ the shared link


@dataclass(frozen=True)
class RoundRequest:
    """What a round is prepared for; kept in the page address as stable codes
    (``pour=utopia-56&equipe=…&soir=2026-11-29&zone=75019&zone=75010&nb=8``), like the
    filters (carto/filters.py) but under names of their own (``PARAMS``: the sidebar's
    ``assoc`` and ``arr`` narrow the data, these choose the round), so that the link
    rebuilds the same round."""

    association: str
    team: str
    evening: dt.date
    arrondissements: tuple[str, ...]
    limit: int

    def to_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {
            "pour": code_of(self.association),
            "soir": self.evening.isoformat(),
            "nb": str(self.limit),
        }
        if self.team:
            params["equipe"] = self.team
        if self.arrondissements:
            params["zone"] = [code_of(a) for a in self.arrondissements]
        return params

    def query(self) -> str:
        """The query string of the shared link."""
        return urllib.parse.urlencode(self.to_params(), doseq=True)


# The page address parameters of a round (none is a sidebar filter's, carto/filters.py).
PARAMS = ("pour", "equipe", "soir", "zone", "nb")
LIMITS = (4, 6, 8, 10, 12, 15)
DEFAULT_LIMIT = 8


def request_from_params(
    params: Mapping[str, Sequence[str]],
    associations: Sequence[str],
    arrondissements: Sequence[str],
    today: dt.date,
) -> RoundRequest:
    """The request a link holds; what it lacks, cannot be read or is out of reach (an
    evening outside ``evening_in_reach``, a limit outside ``LIMITS``) takes its default
    (the first association, no team, tonight, every arrondissement, ``DEFAULT_LIMIT``)."""

    def first(name: str) -> str:
        values = params.get(name) or []
        return str(values[0]) if values else ""

    by_code = {code_of(a): a for a in associations}
    association = by_code.get(code_of(first("pour")), associations[0] if associations else "")
    try:
        evening = dt.date.fromisoformat(first("soir"))
    except ValueError:
        evening = today
    if not evening_in_reach(evening, today):
        evening = today
    zones = {code_of(a): a for a in arrondissements}
    chosen = tuple(
        dict.fromkeys(zones[c] for c in map(code_of, params.get("zone") or []) if c in zones)
    )
    # isdecimal, not isdigit: "²" is a digit that int() refuses; and a few digits only,
    # since int() refuses more than 4,300 of them
    nb = first("nb")
    limit = int(nb) if nb.isdecimal() and len(nb) <= 3 else DEFAULT_LIMIT
    return RoundRequest(
        association,
        first("equipe")[:TEAM_MAX_CHARS],
        evening,
        chosen,
        limit if limit in LIMITS else DEFAULT_LIMIT,
    )
