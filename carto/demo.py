"""A deterministic demo Airtable base, with the ground truth it was drawn from.

The simulation: camps of exiled people at real places of Paris and the inner suburbs,
whose populations drift day by day; the evening rounds (maraudes) of three associations;
evacuations (with shelter, without solution, partial) after which a successor camp often
re-forms a few hundred metres away; camps appearing or emptying mid-period. It returns
the Sites and Passages records exactly as the Airtable REST API lists them (default field
names, empty fields left out) and a :class:`GroundTruth` to check analytics against.
A few percent of the passages carry the mess a real base holds (numbers as text, typecast
select options, coordinates in free text, swapped coordinates, missing date or position,
personal data in comments, duplicate submissions); each one is tagged in the truth.

Same arguments give the same output: all randomness comes from ``random.Random(seed)``
and ``numpy.random.default_rng(seed)``; the wall clock is read only for the default
``today``. The truth counts an evacuated camp's people on its evacuation day and nobody
after it, as the population estimator does (docs/architecture.md §4).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from carto import schema

PARIS = ZoneInfo("Europe/Paris")

_ID_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
_LAT0, _LON0 = 48.86, 2.35
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_LAT0))

MIN_SEPARATION_M = 400.0  # between any two camps, except a successor and its predecessor
SUCCESSOR_DISTANCE_M = (250.0, 580.0)
JITTER_M = (10.0, 35.0)  # passage position around the camp position
MAX_GAP_DAYS = 6  # an active camp is visited at least every 6 days
QUIET_DAYS = 3  # no full evacuation in the very last days, so its successor can show
_DRIFT = 0.025  # daily log-population noise
_COUNT_ERROR = 0.02  # relative counting error (clipped at 5 %)

# Association codes, indices into schema.ASSOCIATIONS.
_U, _C, _A = 0, 1, 2
# Utopia 56's rounds may end after midnight (until 00:50): the round's day is the evening's.
_WINDOWS = {_U: (19 * 60, 24 * 60 + 50), _C: (19 * 60 + 30, 22 * 60 + 30), _A: (18 * 60, 21 * 60)}
_EVAC_WINDOW = (6 * 60, 9 * 60)
_C_DAYS = (1, 3, 5)  # Tuesday, Thursday, Saturday
_A_DAYS = (0, 2, 4)  # Monday, Wednesday, Friday
_C_ZONES = ("nord", "canal")
_A_ZONES = ("canal", "centre")
_WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_U_TEAMS = {
    "nord": ("Équipe Nord 1", "Équipe Nord 2"),
    "canal": ("Équipe Canal", "Équipe Canal bis"),
    "centre": ("Équipe Gares",),
    "sud-est": ("Équipe Sud-Est",),
}
_EVAC_TEAMS = {_U: "Veille évacuations", _C: "Pôle Exil – astreinte", _A: "Équipe matin"}

# Visit kinds: an ordinary visit, an evacuation witnessed (reported with its kind), a
# visit finding the site empty, a visit that had to happen (overdue, watched), a second
# association's report of an evacuation already reported, a visit finding the site
# evacuated with nobody having witnessed it (only ``Statut du site`` says so).
_NORMAL, _EVAC, _VIDE, _KEY, _EVAC_AGAIN, _FOUND_EVACUATED = 0, 1, 2, 3, 4, 5
# How an evacuation reaches the base (probabilities, in this order): one witness; two
# associations the same morning; a second one the next day; only the next visit's status.
_REPORTING = ("one", "same_day", "next_day", "status_only")
_REPORTING_P = (0.45, 0.2, 0.2, 0.15)
_UNDERCOUNT_P = 0.12  # a distribution team counts only the people who came to it
_UNDERCOUNT = (0.75, 0.92)
_SPLIT_P = 0.5  # after a partial evacuation, part of the people left settle nearby

# Tiers and their visit probabilities: Utopia (Mon-Sat, Sunday), Croix-Rouge, ACF.
BIG, MEDIUM, SMALL, PERIPHERAL = "big", "medium", "small", "peripheral"
_VISIT_P = {
    BIG: (0.9, 0.5, 0.8, 0.8),
    MEDIUM: (0.65, 0.25, 0.5, 0.5),
    SMALL: (0.5, 0.15, 0.3, 0.3),
    PERIPHERAL: (0.0, 0.0, 0.0, 0.0),
}


class Place(NamedTuple):
    """A real place where camps form."""

    name: str
    lat: float
    lon: float
    arrondissement: str
    site_type: str
    zone: str
    capacity: str  # "L" can hold a big camp, "M" medium, "S" small, "P" small and peripheral

    @property
    def area(self) -> str:
        """The short name of the place, e.g. "Porte d'Aubervilliers"."""
        return self.name.split(" – ")[0]

    @property
    def peripheral(self) -> bool:
        return self.capacity == "P"


_TYPE_CODES = {
    "T": "Campement de tentes",
    "B": "Pont/tunnel",
    "S": "Squat/bâtiment",
    "K": "Parking",
    "G": "Gare",
    "J": "Parc/jardin",
}
# name; latitude; longitude; arrondissement; type code; zone; capacity
_PLACE_TABLE = """
Porte d'Aubervilliers – sous le pont; 48.8987; 2.3706; 75019; B; nord; L
Porte de la Chapelle – bretelle de l'A1; 48.8990; 2.3595; 75018; B; nord; L
Canal Saint-Denis – quai de la Gironde; 48.8960; 2.3800; 75019; T; canal; L
Stalingrad – sous le métro aérien; 48.8841; 2.3672; 75019; B; canal; L
Saint-Denis – Stade de France, bords du canal; 48.9210; 2.3620; 93 Saint-Denis; T; nord; L
Quai de Jemmapes – canal Saint-Martin; 48.8712; 2.3668; 75010; T; canal; M
Jaurès – quai de la Loire; 48.8868; 2.3760; 75019; T; canal; M
Pont de Flandre – quai de la Charente; 48.8918; 2.3862; 75019; B; canal; M
Porte de la Villette – talus du périphérique; 48.8978; 2.3870; 75019; T; nord; M
Porte de Pantin – sous le périphérique; 48.8880; 2.3985; 75019; B; canal; M
Parc de la Villette – abords du Zénith; 48.8938; 2.3935; 75019; J; canal; S
Saint-Denis – Porte de Paris, sous l'A1; 48.9300; 2.3565; 93 Saint-Denis; B; nord; M
Saint-Denis – Pleyel, parking; 48.9185; 2.3440; 93 Saint-Denis; K; nord; P
Aubervilliers – quai Adrien Agnès; 48.9070; 2.3740; 93 Aubervilliers; T; nord; M
Aubervilliers – Front Populaire; 48.9065; 2.3655; 93 Aubervilliers; S; nord; S
Pantin – quai de l'Aisne; 48.8930; 2.4080; 93 Pantin; T; canal; M
Pantin – Quatre-Chemins; 48.9000; 2.3930; 93 Pantin; S; nord; S
Gare du Nord – rue de Maubeuge; 48.8800; 2.3530; 75010; G; centre; M
Gare de l'Est – square Villemin; 48.8750; 2.3610; 75010; J; centre; S
La Chapelle – sous le métro aérien; 48.8845; 2.3600; 75018; B; centre; M
Jardins d'Éole – rue d'Aubervilliers; 48.8890; 2.3625; 75018; J; centre; S
Belleville – terre-plein du boulevard; 48.8720; 2.3765; 75020; T; centre; S
Bercy – quai de Bercy, sous le périphérique; 48.8270; 2.3895; 75012; B; sud-est; P
Quai d'Austerlitz – Cité de la mode; 48.8405; 2.3700; 75013; B; sud-est; M
Porte de Saint-Ouen – sous le périphérique; 48.8975; 2.3290; 75018; B; nord; P
Porte de Clignancourt – abords du marché; 48.8990; 2.3445; 75018; K; nord; S
Bois de Vincennes – lisière, Porte Dorée; 48.8355; 2.4085; 75012; J; sud-est; P
Ivry-sur-Seine – quai Marcel Boyer; 48.8185; 2.3960; Autre; T; sud-est; P
Porte de Bagnolet – échangeur; 48.8640; 2.4085; 75020; B; sud-est; P
"""


def _parse_places(table: str) -> tuple[Place, ...]:
    places = []
    for line in table.strip().splitlines():
        name, lat, lon, arr, code, zone, capacity = (part.strip() for part in line.split(";"))
        places.append(Place(name, float(lat), float(lon), arr, _TYPE_CODES[code], zone, capacity))
    return tuple(places)


PLACES = _parse_places(_PLACE_TABLE)

_DESCRIPTORS = (
    "terre-plein",
    "le long du quai",
    "sous la passerelle",
    "square voisin",
    "talus",
    "rue voisine",
    "parking",
    "entrée du parc",
    "sous la voie ferrée",
)
_LANDMARKS = (
    "sous le pont, côté quai",
    "le long du canal",
    "près de la bouche de métro",
    "derrière la station-service",
    "sur le terre-plein central",
    "à l'angle de la rue",
    "contre le mur du chantier",
)
_USELESS_PLACES = (
    "près du métro",
    "au même endroit que d'habitude",
    "sous le pont",
    "à côté du canal",
    "là où on était mardi",
    "vers la porte",
)
_COMMENTS = (
    "RAS, campement calme.",
    "Beaucoup de nouvelles arrivées cette semaine.",
    "Présence policière en début de soirée.",
    "Plusieurs personnes malades, orientées vers la PASS.",
    "Tentes détrempées après la pluie.",
    "Forte demande de couvertures.",
    "Mineurs isolés présents, signalés à la coordination.",
    "Familles avec jeunes enfants, besoin urgent de mise à l'abri.",
    "Distribution sans incident.",
    "Tensions au moment de la distribution.",
    "Point d'eau fermé depuis hier.",
    "Nettoyage par les services de la ville ce matin.",
    "Rumeur d'évacuation dans les prochains jours.",
    "Personnes très fatiguées, peu de sommeil à cause du bruit.",
)
_EVAC_COMMENTS = {
    schema.EVACUATION_SHELTERED: "Évacuation à l'aube, bus vers des gymnases.",
    schema.EVACUATION_NO_SOLUTION: "Évacuation sans proposition d'hébergement, tentes détruites.",
    schema.EVACUATION_PARTIAL: "Évacuation partielle : familles mises à l'abri.",
}
_SITE_NOTES = (
    "Accès par le quai, éclairage faible.",
    "Point d'eau à proximité.",
    "Zone exposée au vent, sol boueux quand il pleut.",
    "Terrain clôturé, passage par la rue.",
    "Présence régulière de mineurs isolés.",
)
_PII_COMMENTS = (
    "Contact du référent du campement : {phone}",
    "Un monsieur demande à être rappelé au {phone} pour son rendez-vous.",
    "Bénévole à recontacter : {email}",
    "Famille à rappeler au {phone}, besoin urgent d'hébergement.",
    "Numéro laissé par un jeune pour l'ASE : {phone}",
    "Signalement transmis par {email}",
)
_PERSONNES_TEXT = ("{n}", "env. {n}", "{n}+", "~{n}", "{n} personnes", "environ {n}")
_ASSOC_ALIASES = {
    _U: ("Utopia56", "Utopia"),
    _C: ("Croix Rouge", "Croix-Rouge"),
    _A: ("ACF", "Action Contre La Faim"),
}
_NEED_ALIASES = {
    "Couvertures/duvets": "Couvertures",
    "Soins médicaux": "Soins",
    "Recharge téléphone": "Recharge",
}
_UNKNOWN_NEEDS = ("Chaussures", "Couches", "Batteries externes", "Parapluies")
_MAP_LINKS = (
    "https://www.google.com/maps/@{lat},{lon},17z",
    "https://maps.google.com/?q={lat},{lon}",
    "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}",
)
_COUNT_FIELDS = ("Tentes", "Enfants", "Tentes distribuées", "Repas distribués")
# Mess rates per passage.
MESS_RATES = {
    "number_as_text": 0.010,
    "select_alias": 0.004,
    "unknown_select": 0.003,
    "coords_in_text": 0.002,
    "coords_in_text_comma": 0.002,
    "map_link": 0.003,
    "swapped_latlon": 0.002,
    "no_date": 0.0025,
    "no_position": 0.0025,
    "negative_count": 0.001,
    "subcount_over_total": 0.0015,
    "pii_in_comment": 0.004,
    "duplicate_submission": 0.005,
}
UNUSABLE_TAGS = ("no_date", "no_position")


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """What really happened in the simulated world."""

    passage_camp: dict[str, str]
    camps: pd.DataFrame
    daily_population: pd.Series
    evacuations: pd.DataFrame
    messy: dict[str, str]
    duplicate_of: dict[str, str]


@dataclass(frozen=True, eq=False)
class DemoBase:
    """The demo Airtable base (records as the REST API lists them) and its truth."""

    sites: list[dict[str, Any]]
    passages: list[dict[str, Any]]
    truth: GroundTruth
    today: dt.date


@dataclass
class _Evac:
    camp: int
    day: int
    kind: str
    people: int
    sheltered: int
    reporting: str = "one"  # one of _REPORTING


@dataclass
class _Camp:
    idx: int
    cid: str
    name: str
    place: Place
    lat: float
    lon: float
    start: int  # day index, negative before the period
    target: float
    tier: str
    pop: np.ndarray
    mna: float
    women: float
    family: float
    start_pop: int = 0
    end: int | None = None  # last day with people
    predecessor: int | None = None
    evacuation: str | None = None
    dissolve: bool = False
    evacs: dict[int, _Evac] = field(default_factory=dict)
    must_visit: list[int] = field(default_factory=list)
    vide_day: int | None = None
    site_id: str | None = None
    site_day: int | None = None


@dataclass
class _Ctx:
    rnd: random.Random
    rng: np.random.Generator
    days: int
    first: dt.date
    camps: list[_Camp] = field(default_factory=list)
    evacs: list[_Evac] = field(default_factory=list)
    splits: int = 0  # camps formed by people leaving a partially evacuated camp
    used_ids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    grid: dict[tuple[int, int], list[tuple[float, float, int]]] = field(default_factory=dict)
    prefixes: list[str] = field(default_factory=list)  # local date of each day, "YYYY-MM-DDT"
    offsets: list[int] = field(default_factory=list)  # UTC offset of each day's evening, seconds
    seasons: list[str] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)
    midnights: np.ndarray = field(default_factory=lambda: np.array([], dtype="datetime64[s]"))

    def __post_init__(self) -> None:
        for d in range(self.days):
            day = self.first + dt.timedelta(days=d)
            evening = dt.datetime.combine(day, dt.time(20), PARIS).utcoffset()
            self.prefixes.append(day.isoformat() + "T")
            self.offsets.append(int((evening or dt.timedelta(0)).total_seconds()))
            self.seasons.append(_season(day.month))
            self.weekdays.append(day.weekday())
        # Local midnight of each day in UTC, with the offset of the evening (after any DST
        # switch, which happens at night).
        base = np.datetime64(self.first, "s") + np.arange(self.days) * np.timedelta64(1, "D")
        self.midnights = base - np.asarray(self.offsets, dtype="timedelta64[s]")


# --------------------------------------------------------------------------- helpers


def paris_today() -> dt.date:
    """The current date in Europe/Paris."""
    return dt.datetime.now(PARIS).date()


def _xy(lat: float, lon: float) -> tuple[float, float]:
    return (lon - _LON0) * _M_PER_DEG_LON, (lat - _LAT0) * _M_PER_DEG_LAT


def _latlon(x: float, y: float) -> tuple[float, float]:
    return round(_LAT0 + y / _M_PER_DEG_LAT, 6), round(_LON0 + x / _M_PER_DEG_LON, 6)


def _cell(x: float, y: float) -> tuple[int, int]:
    return int(x // MIN_SEPARATION_M), int(y // MIN_SEPARATION_M)


def _clearance(ctx: _Ctx, x: float, y: float, ignore: int | None = None) -> float:
    """Distance in metres to the nearest camp (capped at the separation)."""
    cx, cy = _cell(x, y)
    best = MIN_SEPARATION_M
    for i in (cx - 1, cx, cx + 1):
        for j in (cy - 1, cy, cy + 1):
            for ox, oy, idx in ctx.grid.get((i, j), ()):
                if idx != ignore:
                    best = min(best, math.hypot(ox - x, oy - y))
    return best


def _register(ctx: _Ctx, lat: float, lon: float, idx: int) -> None:
    x, y = _xy(lat, lon)
    ctx.grid.setdefault(_cell(x, y), []).append((x, y, idx))


def _place_near(
    ctx: _Ctx, lat: float, lon: float, dist: tuple[float, float], ignore: int | None = None
) -> tuple[float, float]:
    """A position ``dist`` metres from (lat, lon), clear of every other camp."""
    x0, y0 = _xy(lat, lon)
    best, best_gap = (x0, y0), -1.0
    lo, hi = dist
    for attempt in range(120 if ignore is None else 60):
        r = ctx.rnd.uniform(lo, hi + (100.0 * (attempt // 8) if ignore is None else 0.0))
        a = ctx.rnd.uniform(0.0, 2.0 * math.pi)
        x, y = x0 + r * math.cos(a), y0 + r * math.sin(a)
        gap = _clearance(ctx, x, y, ignore)
        if gap >= MIN_SEPARATION_M:
            return _latlon(x, y)
        if gap > best_gap:
            best, best_gap = (x, y), gap
    return _latlon(*best)


def _unique_name(ctx: _Ctx, name: str) -> str:
    k, candidate = 2, name
    while candidate in ctx.names:
        candidate, k = f"{name} ({k})", k + 1
    ctx.names.add(candidate)
    return candidate


def _new_ids(ctx: _Ctx, n: int) -> list[str]:
    """``n`` fresh Airtable-like record ids."""
    out: list[str] = []
    while len(out) < n:
        idx = ctx.rng.integers(0, len(_ID_ALPHABET), size=(n - len(out), 14))
        for chars in _ID_ALPHABET[idx].tolist():
            rid = "rec" + "".join(chars)
            if rid not in ctx.used_ids:
                ctx.used_ids.add(rid)
                out.append(rid)
    return out


def _iso(moment: dt.datetime) -> str:
    """A naive UTC datetime as Airtable writes it."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def _randint(r: Any, lo: int, hi: int) -> int:
    """A fast ``randint`` from a ``random()`` function."""
    return lo + int(r() * (hi - lo + 1))


def _utc(day: dt.date, minute: int) -> dt.datetime:
    """Naive UTC datetime of ``minute`` after local midnight of ``day`` in Paris."""
    local = dt.datetime.combine(day, dt.time(12), PARIS)
    offset = local.utcoffset() or dt.timedelta(0)
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute) - offset


def _loguniform(rnd: random.Random, lo: float, hi: float) -> float:
    return math.exp(rnd.uniform(math.log(lo), math.log(hi)))


def _tier(target: float) -> str:
    return BIG if target >= 80 else MEDIUM if target >= 40 else SMALL


def _walk(ctx: _Ctx, camp: _Camp, first: int, x0: float, k: float, floor: int = 2) -> None:
    """Mean-reverting log random walk of the camp population from day ``first``."""
    if first >= ctx.days:
        return
    mu, x = math.log(camp.target), x0
    levels = []
    for eps in ctx.rng.normal(0.0, _DRIFT, ctx.days - first).tolist():
        levels.append(x)
        x += k * (mu - x) + eps
    camp.pop[first:] = np.maximum(floor, np.rint(np.exp(levels))).astype(np.int64)


# --------------------------------------------------------------------------- the world


def _make_camp(
    ctx: _Ctx, place: Place, name: str, lat: float, lon: float, start: int, target: float
) -> _Camp:
    """Register a new camp with its composition; its population is still empty."""
    rnd, idx = ctx.rnd, len(ctx.camps)
    mna_heavy, families = rnd.random() < 0.2, rnd.random() < 0.25
    camp = _Camp(
        idx=idx,
        cid=f"camp-{idx + 1:02d}",
        name=_unique_name(ctx, name),
        place=place,
        lat=lat,
        lon=lon,
        start=start,
        target=target,
        tier=_tier(target),
        pop=np.zeros(ctx.days, dtype=np.int64),
        mna=rnd.uniform(0.3, 0.7) if mna_heavy else rnd.uniform(0.0, 0.04),
        women=rnd.uniform(0.0, 0.1),
        family=rnd.uniform(0.1, 0.35) if families else 0.0,
    )
    ctx.camps.append(camp)
    _register(ctx, lat, lon, idx)
    return camp


def _initial_camps(ctx: _Ctx, n: int) -> None:
    """The camps present when the period starts."""
    rnd = ctx.rnd
    big_places = [p for p in PLACES if p.capacity == "L"]
    others = [p for p in PLACES if p.capacity != "L"]
    rnd.shuffle(others)
    order = big_places + others
    chosen = [order[i % len(order)] for i in range(n)]
    n_big, n_medium = max(1, round(0.2 * n)), round(0.35 * n)
    rank_of = {"L": 0, "M": 1, "S": 2, "P": 2}
    ranks = sorted(range(n), key=lambda i: (rank_of[chosen[i].capacity], rnd.random()))
    for rank, i in enumerate(ranks):
        place = chosen[i]
        if rank < n_big:
            target = _loguniform(rnd, 80, 300)
        elif rank < n_big + n_medium:
            target = _loguniform(rnd, 40, 80)
        else:
            target = _loguniform(rnd, 5, 40)
        if i < len(order) and _clearance(ctx, *_xy(place.lat, place.lon)) >= MIN_SEPARATION_M:
            lat, lon = place.lat, place.lon
        else:
            lat, lon = _place_near(ctx, place.lat, place.lon, (MIN_SEPARATION_M, 900.0))
        camp = _make_camp(ctx, place, place.name, lat, lon, -rnd.randint(15, 400), target)
        if camp.tier == SMALL and place.peripheral:
            camp.tier = PERIPHERAL
        _walk(ctx, camp, 0, math.log(target) + rnd.gauss(0.0, 0.08), 0.05)
    smalls = [c for c in ctx.camps if c.tier == SMALL]
    if not any(c.tier == PERIPHERAL for c in ctx.camps) and smalls:
        min(smalls, key=lambda c: c.target).tier = PERIPHERAL


def _schedule_dissolutions(ctx: _Ctx, n_camps: int) -> None:
    """A few small camps empty by themselves (Sites status "Inactif")."""
    if ctx.days < 20:
        return
    rnd, n = ctx.rnd, max(1, round(n_camps * ctx.days / 2400))
    smalls = [c for c in ctx.camps if c.tier == SMALL]
    for camp in rnd.sample(smalls, min(n, len(smalls))):
        end = rnd.randint(14, ctx.days - 5)
        decline = end - 10
        camp.pop[decline : end + 1] = np.maximum(
            1, np.round(np.linspace(camp.pop[decline], 1, end + 1 - decline))
        ).astype(np.int64)
        camp.pop[end + 1 :] = 0
        camp.end, camp.dissolve = end, True
        camp.must_visit += list(range(decline, end + 1, 2))  # teams watch it empty
        camp.vide_day = end + rnd.randint(1, 2)


def _add_new_camps(ctx: _Ctx, n_camps: int) -> None:
    """Camps appearing during the period."""
    rnd = ctx.rnd
    for _ in range(max(2, round(n_camps * ctx.days / 800)) if ctx.days >= 10 else 0):
        place = rnd.choice(PLACES)
        lat, lon = _place_near(ctx, place.lat, place.lon, (MIN_SEPARATION_M, 900.0))
        name = f"{place.area} – {rnd.choice(_DESCRIPTORS)}"
        target = _loguniform(rnd, 10, 80)
        camp = _make_camp(ctx, place, name, lat, lon, rnd.randint(5, ctx.days - 3), target)
        camp.start_pop = max(3, round(target * rnd.uniform(0.3, 0.7)))
        _walk(ctx, camp, camp.start, math.log(camp.start_pop), 0.08)


def _evacuation_plan(ctx: _Ctx, n_camps: int) -> list[tuple[int, str]]:
    """(day, kind) of the evacuations to come, in date order."""
    rnd, days = ctx.rnd, ctx.days
    if days < 12:
        return []
    n = max(3, round(n_camps * days / 400))
    kinds = [schema.EVACUATION_SHELTERED, schema.EVACUATION_NO_SOLUTION, schema.EVACUATION_PARTIAL]
    kinds += rnd.choices(kinds, weights=(0.4, 0.4, 0.2), k=n - 3)
    full_last = days - QUIET_DAYS - 1 if days >= 2 * QUIET_DAYS else days - 3
    plan = []
    for kind in kinds:
        last = days - 3 if kind == schema.EVACUATION_PARTIAL else full_last
        plan.append((rnd.randint(7, max(7, last)), kind))
    return sorted(plan)


def _evacuation_target(ctx: _Ctx, day: int) -> _Camp | None:
    """A camp to evacuate on ``day``: established, populated, not evacuated lately."""
    cands = [
        c
        for c in ctx.camps
        if not c.dissolve
        and c.end is None
        and c.start <= day - 7
        and c.pop[day] >= 5
        and all(abs(d - day) > 7 for d in c.evacs)
    ]
    if not cands:
        return None
    return ctx.rnd.choices(cands, weights=[float(c.pop[day]) for c in cands])[0]


def _evacuate(ctx: _Ctx, day: int, kind: str) -> None:
    """Apply one evacuation and maybe start its successor."""
    rnd = ctx.rnd
    camp = _evacuation_target(ctx, day)
    if camp is None:
        return
    people = int(camp.pop[day])
    share = {
        schema.EVACUATION_SHELTERED: (0.6, 0.95),
        schema.EVACUATION_NO_SOLUTION: (0.0, 0.08),
        schema.EVACUATION_PARTIAL: (0.25, 0.5),
    }[kind]
    if kind == schema.EVACUATION_NO_SOLUTION and rnd.random() < 0.5:
        sheltered = 0
    else:
        sheltered = round(people * rnd.uniform(*share))
    partial = kind == schema.EVACUATION_PARTIAL
    modes = _REPORTING[:3] if partial else _REPORTING
    reporting = rnd.choices(modes, weights=_REPORTING_P[: len(modes)])[0]
    full_before = [e for e in ctx.evacs if e.kind != schema.EVACUATION_PARTIAL]
    if not partial and len(full_before) == 1 and full_before[0].reporting != "status_only":
        reporting = "status_only"  # every world has an evacuation nobody witnessed
    event = _Evac(camp.idx, day, kind, people, sheltered, reporting)
    ctx.evacs.append(event)
    camp.evacs[day] = event
    if partial:
        remaining = max(2, round((people - sheltered) * rnd.uniform(0.85, 1.0)))
        camp.target *= remaining / people
        camp.evacuation = camp.evacuation or kind
        _walk(ctx, camp, day + 1, math.log(remaining), 0.05)
        if remaining >= 10 and (rnd.random() < _SPLIT_P or not ctx.splits):
            _split(ctx, camp, day)
        return
    camp.end, camp.evacuation = day, kind
    camp.pop[day + 1 :] = 0
    if rnd.random() < 0.5:
        camp.vide_day = day + rnd.randint(1, 2)
    odds = 0.9 if kind == schema.EVACUATION_NO_SOLUTION else 0.6
    if rnd.random() < odds or sum(c.predecessor is not None for c in ctx.camps) < 2:
        _successor(ctx, camp, day, people, people - sheltered)


def _successor(ctx: _Ctx, pred: _Camp, day: int, people: int, unsheltered: int) -> None:
    """A camp re-forming a few hundred metres from an evacuated one.

    It starts with part of the people left without solution and grows back towards the
    former size as newcomers join.
    """
    rnd = ctx.rnd
    start = day + rnd.randint(1, 14)
    if start >= ctx.days:
        return
    lat, lon = _place_near(ctx, pred.lat, pred.lon, SUCCESSOR_DISTANCE_M, ignore=pred.idx)
    name = f"{pred.place.area} – {rnd.choice(_DESCRIPTORS)}"
    target = max(8.0, people * rnd.uniform(0.6, 1.1))
    camp = _make_camp(ctx, pred.place, name, lat, lon, start, target)
    camp.predecessor = pred.idx
    camp.start_pop = max(3, round(unsheltered * rnd.uniform(0.15, 0.35)))
    _walk(ctx, camp, start, math.log(camp.start_pop), 0.06)


def _split(ctx: _Ctx, camp: _Camp, day: int) -> None:
    """After a partial evacuation, part of the people left move a few hundred metres
    away and form a camp of their own (a successor of the evacuated camp)."""
    rnd = ctx.rnd
    start = day + rnd.randint(1, 6)
    if start >= ctx.days - 1:
        return
    share = rnd.uniform(0.3, 0.6)
    moved = max(3, round(float(camp.pop[start]) * share))
    camp.pop[start:] = np.maximum(2, camp.pop[start:] - np.rint(camp.pop[start:] * share))
    camp.target *= 1.0 - share
    lat, lon = _place_near(ctx, camp.lat, camp.lon, SUCCESSOR_DISTANCE_M, ignore=camp.idx)
    name = f"{camp.place.area} – {rnd.choice(_DESCRIPTORS)}"
    new = _make_camp(ctx, camp.place, name, lat, lon, start, moved * rnd.uniform(0.9, 1.3))
    new.predecessor = camp.idx
    new.start_pop = moved
    ctx.splits += 1
    _walk(ctx, new, start, math.log(moved), 0.06)


def _assign_sites(ctx: _Ctx) -> None:
    """Which camps have a Sites record, and since when."""
    rnd = ctx.rnd
    for camp in ctx.camps:
        if camp.start < 0:
            has, day = rnd.random() < 0.9 or camp.tier != SMALL, camp.start + rnd.randint(0, 5)
        elif camp.predecessor is not None:
            # The first successor never gets a Sites record, the second does, then either.
            rank = sum(c.predecessor is not None for c in ctx.camps[: camp.idx])
            has = rank == 1 or (rank > 1 and rnd.random() < 0.5)
            day = camp.start + rnd.randint(2, 7)
        else:
            has, day = rnd.random() < 0.6, camp.start + rnd.randint(2, 7)
        last = ctx.days - 1 if camp.end is None else camp.end
        if has and day <= last:
            camp.site_id, camp.site_day = _new_ids(ctx, 1)[0], day


# --------------------------------------------------------------------------- visits


def _camp_visits(ctx: _Ctx, camp: _Camp, weekdays: list[int]) -> list[tuple[int, int, int]]:
    """(day, association, kind) of every passage at one camp."""
    rnd = ctx.rnd
    first = max(camp.start, 0)
    last = min(ctx.days - 1, ctx.days - 1 if camp.end is None else camp.end)
    p_u, p_sun, p_c, p_a = _VISIT_P[camp.tier]
    serves_c, serves_a = camp.place.zone in _C_ZONES, camp.place.zone in _A_ZONES
    rotation, phase = rnd.randint(4, 6), rnd.randint(0, 5)
    if camp.start < 0:
        last_visit: int | None = -rnd.randint(1, 5)
        deadline = 0
    else:
        last_visit = None
        deadline = camp.start + (0 if camp.start_pop >= 20 else rnd.randint(0, 2))
    out: list[tuple[int, int, int]] = []
    for day in range(first, last + 1):
        if day in camp.evacs:
            out += _evacuation_reports(ctx, camp.evacs[day], serves_c, serves_a)
            last_visit = day
            continue
        wd, fresh = weekdays[day], camp.start >= 0 and day - camp.start < 10
        todays: list[int] = []
        if camp.tier == PERIPHERAL and not fresh:
            if (day - phase) % rotation == 0:
                todays.append(_U)
        elif rnd.random() < (max(p_u, 0.8) if fresh else p_sun if wd == 6 else p_u):
            todays.append(_U)
        if serves_c and wd in _C_DAYS and rnd.random() < p_c:
            todays.append(_C)
        if serves_a and wd in _A_DAYS and rnd.random() < p_a:
            todays.append(_A)
        if last_visit is None:
            overdue = day >= min(deadline, last)
        else:
            overdue = day - last_visit >= MAX_GAP_DAYS
        must = day in camp.must_visit
        if not todays and (overdue or must):
            todays.append(_U)
        key = overdue or must or last_visit is None
        for i, assoc in enumerate(todays):
            out.append((day, assoc, _KEY if key and i == 0 else _NORMAL))
        if todays:
            last_visit = day
    if camp.vide_day is not None and camp.vide_day < ctx.days:
        out.append((camp.vide_day, _U, _VIDE))
    return out


def _evacuation_reports(
    ctx: _Ctx, event: _Evac, serves_c: bool, serves_a: bool
) -> list[tuple[int, int, int]]:
    """(day, association, kind) of the passages that tell of one evacuation."""
    rnd, day = ctx.rnd, event.day
    if event.reporting == "status_only":
        # Nobody saw it: the next round finds the site evacuated, that evening or the next.
        later = day + (0 if rnd.random() < 0.5 else 1)
        return [(later, _U, _FOUND_EVACUATED)] if later < ctx.days else []

    def on_duty(d: int) -> list[int]:
        """The associations working near the camp on day ``d`` (Utopia 56 every day)."""
        wd = ctx.weekdays[min(d, ctx.days - 1)]
        return [_U] + [_C] * (serves_c and wd in _C_DAYS) + [_A] * (serves_a and wd in _A_DAYS)

    today = on_duty(day)
    first = _U if rnd.random() < 0.6 or len(today) == 1 else today[-1]
    out = [(day, first, _EVAC)]
    when = day + (event.reporting == "next_day")
    others = [a for a in on_duty(when) if a != first]
    if event.reporting != "one" and others and when < ctx.days:
        out.append((when, rnd.choice(others), _EVAC_AGAIN))
    return out


def _visit_minute(
    r: Any, day: int, assoc: int, kind: int, evac_days: dict[int, _Evac], last_day: bool
) -> int:
    """When a passage is made, in minutes after the local midnight of its round's day
    (the period's last round ends before midnight: the snapshot is taken then)."""
    if kind == _EVAC or (kind == _EVAC_AGAIN and day in evac_days):
        return _randint(r, *_EVAC_WINDOW)  # the morning of the evacuation
    lo, hi = _WINDOWS[assoc]
    return _randint(r, lo, min(hi, 23 * 60 + 25) if last_day else hi)


def _plan_visits(ctx: _Ctx) -> np.ndarray:
    """(day, minute, camp, association, kind) of every passage, in time order."""
    r, visits = ctx.rnd.random, []
    for camp in ctx.camps:
        for day, assoc, kind in _camp_visits(ctx, camp, ctx.weekdays):
            minute = _visit_minute(r, day, assoc, kind, camp.evacs, day == ctx.days - 1)
            visits.append((day, minute, camp.idx, assoc, kind))
    table = np.array(visits, dtype=np.int64).reshape(len(visits), 5)
    return table[np.lexsort(table.T[::-1])]


# --------------------------------------------------------------------------- records

_SEASONS = ("winter", "mid", "summer")
_ZONES = ("nord", "canal", "centre", "sud-est")
_FEW_TENTS = ("Gare", "Squat/bâtiment")
_COLD_GIFTS = np.array([0.4, 0.15, 0.03])  # by season index
_NEEDS_BY_BITS = tuple(
    tuple(n for j, n in enumerate(schema.NEEDS) if bits >> j & 1)
    for bits in range(2 ** len(schema.NEEDS))
)
_VIDE_COMMENT = "Plus personne sur le site, grilles posées."


def _season(month: int) -> str:
    return "winter" if month in (11, 12, 1, 2, 3) else "summer" if month in (6, 7, 8) else "mid"


def _need_probs(mna: bool, families: bool, season: str) -> dict[str, float]:
    """Probability of each need being reported at a camp in a season."""
    cold = {"winter": 0.6, "mid": 0.3, "summer": 0.05}[season]
    return {
        "Nourriture": 0.45,
        "Eau": 0.5 if season == "summer" else 0.15,
        "Tentes": 0.3,
        "Couvertures/duvets": cold,
        "Vêtements": cold * 0.6 + 0.05,
        "Hygiène": 0.35,
        "Soins médicaux": 0.15,
        "Santé mentale": 0.06,
        "Accès aux droits": 0.12 + (0.3 if mna else 0.0),
        "Hébergement": 0.15 + (0.35 if families else 0.0),
        "Recharge téléphone": 0.2,
    }


_NEED_TABLE = np.array(
    [
        [_need_probs(mna, fam, season)[n] for n in schema.NEEDS]
        for season in _SEASONS
        for mna in (False, True)
        for fam in (False, True)
    ]
)


def _referrals(camp: _Camp, rnd: random.Random) -> list[str]:
    options = ["115", "PASS/hôpital", "Accueil de jour", "Juridique", "Autre"]
    if camp.mna > 0.2:
        options.append("ASE (mineurs)")
    picked = rnd.sample(options, rnd.randint(1, 2))
    return [o for o in schema.REFERRALS if o in picked]


def _jitter(camp: _Camp, rnd: random.Random) -> tuple[float, float]:
    dist, angle = rnd.uniform(*JITTER_M), rnd.uniform(0.0, 2.0 * math.pi)
    lat = camp.lat + dist * math.cos(angle) / _M_PER_DEG_LAT
    lon = camp.lon + dist * math.sin(angle) / (111_320.0 * math.cos(math.radians(camp.lat)))
    return round(lat, 6), round(lon, 6)


def _stamps(ctx: _Ctx, day: np.ndarray, seconds: np.ndarray) -> list[str]:
    """Airtable timestamps of ``seconds`` after local midnight of period days ``day``."""
    moments = ctx.midnights[day] + seconds.astype("timedelta64[s]")
    return [s + "Z" for s in np.datetime_as_string(moments, unit="ms").tolist()]


def _optional(values: np.ndarray, mask: np.ndarray) -> list[Any]:
    """Values where ``mask`` holds, None (field left empty) elsewhere."""
    return [v if m else None for v, m in zip(values.tolist(), mask.tolist(), strict=True)]


def _between(lo: Any, hi: Any, u: np.ndarray) -> np.ndarray:
    """Integers uniform in [lo, hi] from uniforms ``u``."""
    return (lo + np.floor(u * (np.asarray(hi) - lo + 1))).astype(np.int64)


def _per_camp(values: list[Any], ci: np.ndarray) -> np.ndarray:
    """A per-camp attribute, for each passage."""
    return np.asarray(values)[ci]


def _subcount_columns(
    ctx: _Ctx, ci: np.ndarray, people: np.ndarray, show: np.ndarray
) -> dict[str, list[Any]]:
    """People by group, consistent with the total, on passages where ``show`` holds."""
    camps = ctx.camps
    noise = 1.0 + ctx.rng.normal(0.0, 0.08, len(ci))
    mna = np.minimum(people, np.rint(people * _per_camp([c.mna for c in camps], ci) * noise))
    women = np.minimum(
        people - mna, np.rint(people * _per_camp([c.women for c in camps], ci) * noise)
    )
    in_families = np.minimum(
        people - mna - women,
        np.rint(people * _per_camp([c.family for c in camps], ci) * noise),
    )
    families = np.where(in_families >= 2, np.maximum(1, np.rint(in_families / 3.3)), 0)
    children = in_families - np.minimum(in_families, np.rint(families * 1.7))
    counts = {
        "Hommes seuls": people - mna - women - in_families,
        "Femmes seules": women,
        "Familles": families,
        "Enfants": children,
        "Mineurs non accompagnés": mna,
    }
    return {k: _optional(v.astype(np.int64), show & (v > 0)) for k, v in counts.items()}


def _distribution_columns(
    ctx: _Ctx, assoc: np.ndarray, season: np.ndarray, people: np.ndarray, normal: np.ndarray
) -> dict[str, list[Any]]:
    """What the teams gave out, mostly their association's speciality."""
    n, rng = len(assoc), ctx.rng
    is_u, is_c, is_a = normal & (assoc == _U), normal & (assoc == _C), normal & (assoc == _A)
    u = rng.random((6, n))
    v = rng.random((4, n))
    third = np.maximum(1, people // 3)
    meals_a = np.maximum(1, np.rint(people * (0.7 + 0.35 * v[0])))
    meals_c = np.maximum(1, np.rint(people * (0.5 + 0.5 * v[0])))
    meals = np.where(is_a, meals_a, meals_c).astype(np.int64)
    kits_c = np.maximum(1, np.rint(people * (0.3 + 0.5 * v[1]))).astype(np.int64)
    kits = np.where(is_c, kits_c, _between(1, third, v[1]))
    cold = _COLD_GIFTS[season]
    return {
        "Repas distribués": _optional(meals, (is_a & (u[0] < 0.9)) | (is_c & (u[0] < 0.2))),
        "Tentes distribuées": _optional(
            _between(1, np.maximum(1, people // 8) + 2, v[2]), is_u & (u[1] < 0.2)
        ),
        "Couvertures distribuées": _optional(
            _between(2, np.maximum(2, people // 3), v[3]), (is_u | is_c) & (u[2] < cold)
        ),
        "Kits hygiène distribués": _optional(
            kits, (is_c & (u[3] < 0.55)) | ((is_a | is_u) & (u[3] < 0.1))
        ),
        "Vêtements distribués": _optional(
            _between(1, np.maximum(1, people // 4), u[4]), is_u & (u[5] < 0.12)
        ),
    }


def _team_names(ctx: _Ctx, day: np.ndarray, ci: np.ndarray, assoc: np.ndarray) -> list[str]:
    """The team of each passage: by zone for Utopia 56, by weekday for the others."""
    table: dict[tuple[int, int, int], str] = {}
    for z, zone in enumerate(_ZONES):
        for wd, weekday in enumerate(_WEEKDAYS_FR):
            teams = _U_TEAMS[zone]
            table[_U, z, wd] = teams[wd % len(teams)]
            table[_C, z, wd] = f"Maraude {weekday}"
            table[_A, z, wd] = f"Distribution {weekday}"
    zones = _per_camp([_ZONES.index(c.place.zone) for c in ctx.camps], ci)
    weekdays = np.asarray(ctx.weekdays)[day]
    keys = zip(assoc.tolist(), zones.tolist(), weekdays.tolist(), strict=True)
    return [table[k] for k in keys]


def _passage_columns(ctx: _Ctx, visits: np.ndarray) -> dict[str, list[Any]]:
    """Every field of every passage, one list per field (None: left empty)."""
    rnd, rng, camps = ctx.rnd, ctx.rng, ctx.camps
    day, minute, ci, assoc, kind = visits.T
    n = len(day)
    normal = (kind == _NORMAL) | (kind == _KEY)
    evac = (kind == _EVAC) | (kind == _EVAC_AGAIN)
    found = kind == _FOUND_EVACUATED
    vide = (kind == _VIDE) | found  # nobody on the site
    season = np.asarray([_SEASONS.index(s) for s in ctx.seasons])[day]
    u = rng.random((8, n))
    # position
    never = ctx.days + 1
    site_day = _per_camp([never if c.site_day is None else c.site_day for c in camps], ci)
    linked = (day > site_day) & (u[0] < 0.85)
    coords = ~linked | (u[1] < 0.6)
    dist = rng.uniform(*JITTER_M, n)
    angle = rng.uniform(0.0, 2.0 * math.pi, n)
    lat_c = _per_camp([c.lat for c in camps], ci)
    lon_c = _per_camp([c.lon for c in camps], ci)
    lat = np.round(lat_c + dist * np.cos(angle) / _M_PER_DEG_LAT, 6)
    lon = np.round(lon_c + dist * np.sin(angle) / (111_320.0 * np.cos(np.radians(lat_c))), 6)
    names = [c.name for c in camps]
    places = [
        (names[c] if w < 0.5 else _LANDMARKS[int(w * 2 * len(_LANDMARKS)) % len(_LANDMARKS)])
        if m
        else None
        for c, w, m in zip(ci.tolist(), u[3].tolist(), (u[2] < 0.25).tolist(), strict=True)
    ]
    # counts
    pop = np.stack([c.pop for c in camps])[ci, day]
    error = np.clip(rng.normal(0.0, _COUNT_ERROR, n), -0.05, 0.05)
    # Croix-Rouge and ACF teams sometimes count only who came to their distribution.
    partial_count = (assoc != _U) & normal & (rng.random(n) < _UNDERCOUNT_P)
    seen = np.where(partial_count, rng.uniform(*_UNDERCOUNT, n), 1.0)
    people = np.where(vide, 0, np.maximum(1, np.rint(pop * seen * (1.0 + error)))).astype(np.int64)
    events = {
        i: camps[ci[i]].evacs.get(int(day[i])) or camps[ci[i]].evacs[int(day[i]) - 1]
        for i in np.flatnonzero(evac).tolist()
    }
    for i, event in events.items():
        people[i] = event.people  # the people evacuated, counted exactly
    few = _per_camp([c.place.site_type in _FEW_TENTS for c in camps], ci)
    tents = np.rint(people / np.where(few, 8.0, 1.8)).astype(np.int64)
    # needs
    mna = _per_camp([c.mna > 0.2 for c in camps], ci)
    fam = _per_camp([c.family > 0 for c in camps], ci)
    probs = _NEED_TABLE[season * 4 + mna * 2 + fam]
    bits = (rng.random(probs.shape) < probs) @ (1 << np.arange(len(schema.NEEDS)))
    show_needs = (~vide & (u[4] < 0.8) & (bits > 0)).tolist()
    needs = [
        list(_NEEDS_BY_BITS[b]) if s else None
        for b, s in zip(bits.tolist(), show_needs, strict=True)
    ]
    # statuses and comments
    evacuation: list[Any] = _optional(np.full(n, schema.EVACUATION_NONE), normal & (u[5] < 0.7))
    status: list[Any] = _optional(np.full(n, "Actif"), normal & (u[6] < 0.85))
    comment: list[Any] = [
        _COMMENTS[int(w * 1000) % len(_COMMENTS)] if m else None
        for w, m in zip(u[7].tolist(), (normal & (u[7] < 0.08)).tolist(), strict=True)
    ]
    sheltered: list[Any] = [None] * n
    referral: list[Any] = [None] * n
    p_referral = np.where(assoc == _C, 0.3, 0.12)
    for i in np.flatnonzero(normal & (rng.random(n) < p_referral)).tolist():
        referral[i] = _referrals(camps[ci[i]], rnd)
    for i in np.flatnonzero(vide).tolist():
        status[i] = "Vide"
        comment[i] = _VIDE_COMMENT if rnd.random() < 0.5 else None
    for i in np.flatnonzero(found).tolist():
        status[i] = "Évacué" if rnd.random() < 0.6 else "Démantelé"
    teams = _team_names(ctx, day, ci, assoc)
    for i, event in events.items():
        teams[i] = _EVAC_TEAMS[int(assoc[i])]
        evacuation[i], sheltered[i], comment[i] = (
            event.kind,
            event.sheltered,
            _EVAC_COMMENTS[event.kind],
        )
        if event.kind == schema.EVACUATION_PARTIAL:
            status[i] = "Actif"
        else:
            status[i] = "Évacué" if rnd.random() < 0.7 else "Démantelé"
    site_ids = [c.site_id for c in camps]
    show_subcounts = ~vide & (rng.random(n) < 0.65)
    return {
        "Date": _stamps(ctx, day, minute * 60),
        "Association": [schema.ASSOCIATIONS[a] for a in assoc.tolist()],
        "Équipe": teams,
        "Site": [
            [site_ids[c]] if m else None for c, m in zip(ci.tolist(), linked.tolist(), strict=True)
        ],
        "Latitude": _optional(lat, coords),
        "Longitude": _optional(lon, coords),
        "Localisation": places,
        "Arrondissement": [
            camps[c].place.arrondissement if w < 0.75 else None
            for c, w in zip(ci.tolist(), rng.random(n).tolist(), strict=True)
        ],
        "Personnes": people.tolist(),
        **_subcount_columns(ctx, ci, people, show_subcounts),
        "Tentes": _optional(tents, ~vide & (tents > 0) & (rng.random(n) < 0.55)),
        "Besoins": needs,
        **_distribution_columns(ctx, assoc, season, people, normal),
        "Orientations": referral,
        "Évacuation": evacuation,
        "Personnes mises à l'abri": sheltered,
        "Statut du site": status,
        "Commentaire": comment,
    }


def _passages(ctx: _Ctx, table: np.ndarray) -> tuple[list[dict[str, Any]], list[int]]:
    """Passage records in visit order, and their creation times (seconds after midnight)."""
    columns = _passage_columns(ctx, table)
    made = table[:, 1] * 60 + ctx.rng.integers(120, 1201, len(table))
    fields: list[dict[str, Any]] = [{} for _ in range(len(table))]
    for name, values in columns.items():
        for f, value in zip(fields, values, strict=True):
            if value is not None:
                f[name] = value
    records = [
        {"id": rid, "createdTime": stamp, "fields": f}
        for rid, stamp, f in zip(
            _new_ids(ctx, len(table)), _stamps(ctx, table[:, 0], made), fields, strict=True
        )
    ]
    return records, made.tolist()


# --------------------------------------------------------------------------- mess


def _phone(rnd: random.Random) -> str:
    digits = [rnd.choice("67")] + [str(rnd.randint(0, 9)) for _ in range(8)]
    pairs = ["".join(digits[i : i + 2]) for i in range(1, 9, 2)]
    style = rnd.randint(0, 2)
    if style == 0:
        return f"0{digits[0]} " + " ".join(pairs)
    if style == 1:
        return f"+33 {digits[0]} " + " ".join(pairs)
    return f"0{digits[0]}" + "".join(pairs)


def _email(rnd: random.Random) -> str:
    user = rnd.choice(("contact", "benevole", "j.martin", "a.diallo", "s.nguyen", "coordination"))
    return f"{user}{rnd.randint(1, 99)}@{rnd.choice(('example.org', 'example.com', 'example.net'))}"


def _drop_position(f: dict[str, Any]) -> None:
    for name in ("Site", "Latitude", "Longitude"):
        f.pop(name, None)


def _as_text(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    if "Tentes" in f and rnd.random() < 0.2:
        f["Tentes"] = str(f["Tentes"])
    else:
        f["Personnes"] = rnd.choice(_PERSONNES_TEXT).format(n=f["Personnes"])


def _alias(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    if any(n in _NEED_ALIASES for n in f.get("Besoins", [])) and rnd.random() < 0.5:
        f["Besoins"] = [_NEED_ALIASES.get(n, n) for n in f["Besoins"]]
    else:
        f["Association"] = rnd.choice(_ASSOC_ALIASES[assoc])


def _unknown(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    f["Besoins"] = [*f.get("Besoins", []), rnd.choice(_UNKNOWN_NEEDS)]


def _coords_text(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    _drop_position(f)
    lat, lon = _jitter(camp, rnd)
    f["Localisation"] = f"{lat:.5f}, {lon:.5f}"


def _coords_comma(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    _drop_position(f)
    lat, lon = _jitter(camp, rnd)
    f["Localisation"] = f"{lat:.4f} {lon:.4f}".replace(".", ",")


def _map_link(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    _drop_position(f)
    lat, lon = _jitter(camp, rnd)
    f["Localisation"] = rnd.choice(_MAP_LINKS).format(lat=f"{lat:.5f}", lon=f"{lon:.5f}")


def _swapped(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    _drop_position(f)
    lat, lon = _jitter(camp, rnd)
    f["Latitude"], f["Longitude"] = lon, lat


def _no_date(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    del f["Date"]


def _no_position(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    _drop_position(f)
    f.pop("Arrondissement", None)
    f["Localisation"] = rnd.choice(_USELESS_PLACES)


def _negative(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    present = [n for n in _COUNT_FIELDS if isinstance(f.get(n), int) and f[n] > 0]
    name = rnd.choice(present) if present else "Tentes"
    f[name] = -int(f.get(name) or rnd.randint(1, 5))


def _subcount_over(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    people = int(f["Personnes"])
    f["Hommes seuls"] = people * 10 if rnd.random() < 0.5 else people + rnd.randint(3, 20)


def _pii(f: dict[str, Any], camp: _Camp, assoc: int, rnd: random.Random) -> None:
    text = rnd.choice(_PII_COMMENTS)
    f["Commentaire"] = text.format(phone=_phone(rnd), email=_email(rnd))


# Each mess rewrites the fields of one passage (duplicates are made apart).
_MESSES: dict[str, Callable[[dict[str, Any], _Camp, int, random.Random], None]] = {
    "number_as_text": _as_text,
    "select_alias": _alias,
    "unknown_select": _unknown,
    "coords_in_text": _coords_text,
    "coords_in_text_comma": _coords_comma,
    "map_link": _map_link,
    "swapped_latlon": _swapped,
    "no_date": _no_date,
    "no_position": _no_position,
    "negative_count": _negative,
    "subcount_over_total": _subcount_over,
    "pii_in_comment": _pii,
}


def _mess_quotas(n: int) -> dict[str, int]:
    """How many passages get each mess: its rate, and each kind at least twice when possible."""
    least = 2 if n >= 1000 else 1 if n >= 200 else 0
    return {tag: max(least, round(rate * n)) for tag, rate in MESS_RATES.items()}


def _pick_unusable(ctx: _Ctx, visits: np.ndarray, eligible: np.ndarray, quota: int) -> list[int]:
    """Passages of small camps whose loss leaves the camp's counts fresh and its gaps short.

    A candidate has a previous visit of its camp the same day or the day before, and a next
    one at most ``MAX_GAP_DAYS`` after that previous visit; no two picks are neighbours.
    """
    day, ci = visits[:, 0], visits[:, 2]
    order = np.lexsort((visits[:, 1], day, ci))  # by camp, then time
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    sday, sci = day[order], ci[order]
    prev_day = np.r_[-99, sday[:-1]]
    next_day = np.r_[sday[1:], 10**6]
    same_prev = np.r_[False, sci[1:] == sci[:-1]]
    same_next = np.r_[sci[:-1] == sci[1:], False]
    ok = (
        same_prev
        & same_next
        & (sday - prev_day <= 1)
        & (next_day - prev_day <= MAX_GAP_DAYS)
        & np.asarray([c.target < 30 for c in ctx.camps])[sci]
    )
    chosen: list[int] = []
    blocked: set[int] = set()
    for i in ctx.rng.permutation(np.flatnonzero(eligible & ok[pos])).tolist():
        if len(chosen) == quota:
            break
        k = int(pos[i])
        if k not in blocked:
            chosen.append(i)
            blocked.update((k - 1, k, k + 1))
    return chosen


def _inject_mess(
    ctx: _Ctx, visits: np.ndarray, records: list[dict[str, Any]], created: list[int]
) -> tuple[dict[str, str], dict[str, str], list[dict[str, Any]], list[int]]:
    """Tag messy records in place; return messy, duplicate_of, duplicates, their camps."""
    rnd = ctx.rnd
    quotas = _mess_quotas(len(records))
    eligible = visits[:, 4] == _NORMAL
    unusable = _pick_unusable(ctx, visits, eligible, sum(quotas[t] for t in UNUSABLE_TAGS))
    picks = [(i, UNUSABLE_TAGS[k % len(UNUSABLE_TAGS)]) for k, i in enumerate(unusable)]
    eligible[unusable] = False
    pool = ctx.rng.permutation(np.flatnonzero(eligible)).tolist()
    pos = 0
    for tag, quota in quotas.items():
        if tag not in UNUSABLE_TAGS:
            picks += [(i, tag) for i in pool[pos : pos + quota]]
            pos += quota
    messy: dict[str, str] = {}
    dup_sources: list[int] = []
    for i, tag in sorted(picks):
        if tag == "duplicate_submission":
            dup_sources.append(i)
            continue
        _, _, ci, assoc, _ = visits[i].tolist()
        _MESSES[tag](records[i]["fields"], ctx.camps[ci], assoc, rnd)
        messy[records[i]["id"]] = tag
    duplicate_of: dict[str, str] = {}
    dups, dup_camps = [], []
    for i, rid in zip(dup_sources, _new_ids(ctx, len(dup_sources)), strict=True):
        src = records[i]
        fields = {k: list(v) if isinstance(v, list) else v for k, v in src["fields"].items()}
        made = np.array([created[i] + rnd.randint(60, 600)])
        stamp = _stamps(ctx, visits[i : i + 1, 0], made)[0]
        dups.append({"id": rid, "createdTime": stamp, "fields": fields})
        dup_camps.append(int(visits[i, 2]))
        messy[rid], duplicate_of[rid] = "duplicate_submission", src["id"]
    return messy, duplicate_of, dups, dup_camps


# --------------------------------------------------------------------------- sites, truth


def _site_records(ctx: _Ctx) -> list[dict[str, Any]]:
    """Sites records, in creation order."""
    rnd, out = ctx.rnd, []
    for camp in ctx.camps:
        if camp.site_id is None or camp.site_day is None:
            continue
        status = "Actif" if camp.end is None else "Inactif" if camp.dissolve else "Évacué"
        f: dict[str, Any] = {
            "Nom": camp.name,
            "Latitude": camp.lat,
            "Longitude": camp.lon,
            "Arrondissement": camp.place.arrondissement,
            "Type": camp.place.site_type,
            "Statut": status,
        }
        if rnd.random() < 0.3:
            f["Notes"] = rnd.choice(_SITE_NOTES)
        day = ctx.first + dt.timedelta(days=camp.site_day)
        made = _utc(day, rnd.randint(19 * 60, 23 * 60 + 30)) + dt.timedelta(
            seconds=rnd.randint(0, 59)
        )
        out.append({"id": camp.site_id, "createdTime": _iso(made), "fields": f})
    out.sort(key=lambda rec: (rec["createdTime"], rec["id"]))
    return out


def _camps_frame(ctx: _Ctx) -> pd.DataFrame:
    def date(day: int | None) -> dt.date | None:
        return None if day is None else ctx.first + dt.timedelta(days=day)

    camps = ctx.camps
    return pd.DataFrame(
        {
            "camp_id": [c.cid for c in camps],
            "name": [c.name for c in camps],
            "latitude": [c.lat for c in camps],
            "longitude": [c.lon for c in camps],
            "start": pd.Series([date(c.start) for c in camps], dtype=object),
            "end": pd.Series([date(c.end) for c in camps], dtype=object),
            "site_id": pd.Series([c.site_id for c in camps], dtype=object),
            "predecessor": pd.Series(
                [None if c.predecessor is None else camps[c.predecessor].cid for c in camps],
                dtype=object,
            ),
            "evacuation": pd.Series([c.evacuation for c in camps], dtype=object),
            "arrondissement": [c.place.arrondissement for c in camps],
            "site_type": [c.place.site_type for c in camps],
        }
    )


def _evacuations_frame(ctx: _Ctx) -> pd.DataFrame:
    events = sorted(ctx.evacs, key=lambda e: (e.day, e.camp))
    return pd.DataFrame(
        {
            "camp_id": [ctx.camps[e.camp].cid for e in events],
            "date": pd.Series([ctx.first + dt.timedelta(days=e.day) for e in events], dtype=object),
            "people": np.array([e.people for e in events], dtype=np.int64),
            "sheltered": np.array([e.sheltered for e in events], dtype=np.int64),
            "without_solution": np.array([e.people - e.sheltered for e in events], dtype=np.int64),
            "kind": [e.kind for e in events],
        }
    )


def _daily_population(ctx: _Ctx) -> pd.Series:
    total = np.zeros(ctx.days, dtype=np.int64)
    for camp in ctx.camps:
        total += camp.pop
    dates = [ctx.first + dt.timedelta(days=d) for d in range(ctx.days)]
    return pd.Series(total, index=pd.Index(dates, dtype=object, name="date"), name="people")


# --------------------------------------------------------------------------- entry point


def known_at(base: DemoBase, as_of: dt.datetime) -> DemoBase:
    """The base as a sync at ``as_of`` (aware) would find it: records created later, or
    dated later, are left out, so no passage is later than the snapshot's time.

    The truth is kept whole (it describes whole days); only the records are cut.
    """
    limit = pd.Timestamp(as_of).tz_convert("UTC")

    def known(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def moments(values: list[Any]) -> pd.Series:
            return pd.to_datetime(pd.Series(values, dtype="str"), utc=True, errors="coerce")

        created = moments([rec["createdTime"] for rec in records])
        dated = moments([rec["fields"].get("Date") for rec in records])
        later = ((created > limit) | (dated > limit)).to_numpy()
        return [rec for rec, cut in zip(records, later.tolist(), strict=True) if not cut]

    return DemoBase(
        sites=known(base.sites), passages=known(base.passages), truth=base.truth, today=base.today
    )


def generate(
    seed: int = 56, days: int = 120, today: dt.date | None = None, n_camps: int = 20
) -> DemoBase:
    """Simulate ``days`` days ending on ``today`` (Paris) with ``n_camps`` initial camps."""
    if days < 1 or n_camps < 1:
        raise ValueError("days and n_camps must be at least 1")
    today = today or paris_today()
    ctx = _Ctx(
        rnd=random.Random(seed),
        rng=np.random.default_rng(seed),
        days=days,
        first=today - dt.timedelta(days=days - 1),
    )
    _initial_camps(ctx, n_camps)
    _schedule_dissolutions(ctx, n_camps)
    _add_new_camps(ctx, n_camps)
    for day, kind in _evacuation_plan(ctx, n_camps):
        _evacuate(ctx, day, kind)
    _assign_sites(ctx)
    sites = _site_records(ctx)
    visits = _plan_visits(ctx)
    passages, created = _passages(ctx, visits)
    messy, duplicate_of, dups, dup_camps = _inject_mess(ctx, visits, passages, created)
    cids = [ctx.camps[ci].cid for ci in visits[:, 2].tolist()]
    passage_camp = {rec["id"]: cid for rec, cid in zip(passages, cids, strict=True)}
    passage_camp.update(
        {rec["id"]: ctx.camps[ci].cid for rec, ci in zip(dups, dup_camps, strict=True)}
    )
    passages += dups
    passages.sort(key=lambda rec: (rec["createdTime"], rec["id"]))
    truth = GroundTruth(
        passage_camp=passage_camp,
        camps=_camps_frame(ctx),
        daily_population=_daily_population(ctx),
        evacuations=_evacuations_frame(ctx),
        messy=messy,
        duplicate_of=duplicate_of,
    )
    return DemoBase(sites=sites, passages=passages, truth=truth, today=today)
