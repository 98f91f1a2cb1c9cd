"""Privacy by role, applied to the data before pages or exports see it (docs/architecture.md §5).

``for_role(dataset, role, settings)`` returns the dataset a role may see:

- admin, coordinateur, benevole: the dataset as normalised (exact positions; free text
  already scrubbed of phone numbers and e-mails by ``carto.normalise``);
- partenaire: every position moved to the centre of its H3 zone (``[privacy]
  partner_h3_resolution``), the same zone for every passage of a camp so that anything
  derived (camp positions, medians, zones) is a zone centre too; counts between 1 and
  the threshold minus one (``[privacy] small_count_threshold``) removed, with a boolean
  ``<column>_suppressed`` column telling the interface to show "<5"; no comments, no
  team names, no free-text place descriptions, site names or notes, no data-quality
  details (they quote what was typed).
  Each camp is named by a pseudonym instead ("Campement KQW — 75019", see
  ``camp_pseudonyms``), so that camps stay told apart without their names.

Frames derived from a partner's dataset keep those properties for positions and for
latest counts and sums; a derived *difference* or *mean* (people minus sheltered, a
weekly average, a forecast) can fall under the threshold again, and so can a count of
camps, passages, reports or evacuations in an aggregate. The results a partner sees are
therefore protected too, where the derived frames are built (``carto.ui.data``,
``carto.export.contents``): ``protect_frame`` for frames (``AGGREGATE_COUNT_COLUMNS``),
``count`` for a single figure (shown "<5" when suppressed), ``delta`` for the
difference between two periods (not shown when small or when either side is
suppressed), and ``complements`` for figures shown with their total: where a hidden
count would come back by subtracting the other parts from the total (a week of the
evacuation chart from the period's total, an evacuation's people without solution
from its people and those sheltered), another part is masked too, shown "masqué"
(``carto.complements`` says which figures of a view add up). What is not a count is
not suppressed: dates, days since a visit, hours, hotspot scores, percentages.

One table says what each role may do: ``ACCESS`` (role → ``Access``: the pages it
opens, the export datasets it may have, the ``Precision`` of what it sees). The page
registry (``carto.ui.navigation``), the exports (``carto.export.contents``: the Exports
page, the command line, downloads) and ``policy_for`` all read it; nothing else lists
roles against pages, datasets or precision. An export applies ``for_role`` to the
dataset, then ``protect_frame`` to what it writes, and logs itself with
``carto.audit.record_export``.

Retention (``[privacy] comment_retention_days``): ``CommentRetention`` removes comments
of old passages from the snapshot, inside the sync's transaction.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Generic, TypeVar

import h3
import numpy as np
import pandas as pd

from carto import schema
from carto.accounts import ADMIN, COORDINATOR, PARTNER, ROLES, VOLUNTEER
from carto.analytics import lineage
from carto.analytics.places import ALIAS
from carto.dataset import Dataset
from carto.i18n import format_int, format_number, t
from carto.options import PrivacyOptions
from carto.settings import Settings
from carto.store import Connection, Record, SnapshotStore

# Counts of people and items in a passage; a partner never sees one in (0, threshold).
COUNT_COLUMNS: tuple[str, ...] = (
    "people",
    *schema.PEOPLE_COUNTS,
    "tents",
    *schema.DISTRIBUTIONS,
    "sheltered",
)
# Counts that frames derived from passages may hold besides those.
DERIVED_COUNT_COLUMNS: tuple[str, ...] = (
    *COUNT_COLUMNS,
    "without_solution",
    "people_low",  # the estimated population's range
    "people_high",
)
# Every count an aggregate a partner sees may hold: people and items (and what is derived
# from them: sums, means, forecasts, differences), and camps, passages, reports and
# evacuations counted per zone, week, day or association.
AGGREGATE_COUNT_COLUMNS: tuple[str, ...] = (
    *DERIVED_COUNT_COLUMNS,
    "camps",
    "passages",
    "n_passages",
    "period_passages",
    "reports",
    "delivered",
    "items",
    "events",
    "evacuations",
)
SUPPRESSED_SUFFIX = "_suppressed"
# A count masked as a complement (so that a total does not give a small one away): shown
# "masqué"; its ``_suppressed`` flag is set too.
COMPLEMENT_SUFFIX = "_complement"
POSITION_COLUMNS = ("latitude", "longitude")
# Free text a partner never sees: it may name people, teams or describe the exact place.
PARTNER_HIDDEN_PASSAGE_TEXT = ("comment", "team", "location_text")
PARTNER_HIDDEN_SITE_TEXT = ("name", "notes")


@dataclasses.dataclass(frozen=True)
class Policy:
    """What a role may see. The default is everything (positions, comments, counts)."""

    exact_positions: bool = True
    comments: bool = True
    free_text: bool = True
    zone_resolution: int = 8
    small_count_threshold: int = 0  # 0 or 1: no count is suppressed

    @property
    def variant(self) -> str:
        """Distinguishes this view from others of the same snapshot in cache keys."""
        if self == FULL:
            return ""
        parts = []
        if not self.exact_positions:
            parts.append(f"zone{self.zone_resolution}")
        if not self.comments:
            parts.append("nocomment")
        if not self.free_text:
            parts.append("notext")
        if self.small_count_threshold > 1:
            parts.append(f"min{self.small_count_threshold}")
        return "-".join(parts) or repr(self)  # never "" unless FULL


FULL = Policy()


# ------------------------------------------------------------------ roles' access


class Precision(enum.Enum):
    """How precisely a role sees the data (docs/architecture.md §5)."""

    # Exact positions, free text (scrubbed of phone numbers and e-mails), camp names,
    # data-quality details and every count.
    EXACT = "exact"
    # Positions at the centre of their zone (``[privacy] partner_h3_resolution``), camps
    # under pseudonyms, no free text, quality texts or quarantine, counts in
    # (0, ``[privacy] small_count_threshold``) suppressed and shown "<5".
    PARTNER = "partner"


@dataclasses.dataclass(frozen=True)
class Access:
    """What one role may do: the pages it opens (names of ``pages/<name>.py``), the
    export datasets it may have (names of ``export --dataset``) and its precision."""

    pages: frozenset[str]
    datasets: frozenset[str]
    precision: Precision


# "autour_de_moi" (issue 17) is for everyone: a partner sees zone centres, as on the map.
_FIELD_PAGES = frozenset(
    {"carte", "tableau_de_bord", "points_chauds", "autour_de_moi", "mon_compte"}
)
# "maraude" (prepare and save a round for tonight): the people who go out and those who
# coordinate them, not partners (a route needs exact positions, and a saved plan is
# shown to every association).
_ROUND_PAGES = frozenset({"maraude"})
_STAFF_PAGES = (
    _FIELD_PAGES
    | _ROUND_PAGES
    | {
        "historique",
        "coordination",
        "synthese",
        "export",
        "qualite",
    }
)
_EVERY_DATASET = frozenset({"passages", "sites", "camps", "events", "zones", "population"})

# The one table of roles (docs/architecture.md §5). A partner exports what aggregates
# camps (through its precision: zone positions, "<5"), never passages or sites.
ACCESS: Mapping[str, Access] = {
    ADMIN: Access(
        _STAFF_PAGES | {"admin_utilisateurs", "admin_journal"}, _EVERY_DATASET, Precision.EXACT
    ),
    COORDINATOR: Access(_STAFF_PAGES, _EVERY_DATASET, Precision.EXACT),
    VOLUNTEER: Access(_FIELD_PAGES | _ROUND_PAGES | {"historique"}, frozenset(), Precision.EXACT),
    PARTNER: Access(
        _FIELD_PAGES | {"coordination", "export"},
        frozenset({"camps", "events", "zones", "population"}),
        Precision.PARTNER,
    ),
}


def sees_sync_details(role: str) -> bool:
    """Whether ``role`` is shown why a refresh failed (Airtable's own words, which can name
    the base, its tables and fields): the people who can act on it, those of the data
    quality page; others are told only that the data is not fresh."""
    return "qualite" in access_for(role).pages


def access_for(role: str) -> Access:
    """The access of a role (ValueError for an unknown role: nothing is shown)."""
    if role not in ROLES or role not in ACCESS:
        raise ValueError(f"unknown role {role!r}")
    return ACCESS[role]


def roles_for_page(page: str) -> frozenset[str]:
    """The roles that may open ``pages/<page>.py`` (none for a page the table lacks)."""
    return frozenset(role for role, access in ACCESS.items() if page in access.pages)


def may_export(role: str, dataset: str) -> bool:
    """Whether ``role`` may export ``dataset`` (False for an unknown role)."""
    return role in ACCESS and dataset in ACCESS[role].datasets


def policy_for(role: str, settings: Settings) -> Policy:
    """The policy of a role (ValueError for an unknown role: nothing is shown)."""
    if access_for(role).precision is Precision.PARTNER:
        opts = PrivacyOptions.from_settings(settings)
        return Policy(
            exact_positions=False,
            comments=False,
            free_text=False,
            zone_resolution=opts.partner_h3_resolution,
            small_count_threshold=opts.small_count_threshold,
        )
    return FULL


def for_role(ds: Dataset, role: str, settings: Settings) -> Dataset:
    """The dataset as ``role`` may see it."""
    return apply(ds, policy_for(role, settings))


def apply(ds: Dataset, policy: Policy) -> Dataset:
    """The dataset with the policy applied (the same object under the full policy)."""
    if policy == FULL:
        return ds
    passages, sites, quarantine = ds.passages, ds.sites, ds.quarantine
    aliases: dict[str, str] = {}
    if not policy.exact_positions:
        passages, sites = blur_positions(passages, sites, policy.zone_resolution)
    if not policy.comments:
        passages = _blank(passages, ["comment"])
    if not policy.free_text:
        passages = _blank(passages, PARTNER_HIDDEN_PASSAGE_TEXT)
        passages = _without_flag_params(passages)
        passages, aliases = _with_aliases(passages)
        sites = _without_flag_params(_blank(sites, PARTNER_HIDDEN_SITE_TEXT))
        quarantine = quarantine.iloc[0:0]
    if policy.small_count_threshold > 1:
        passages = suppress_small_counts(passages, COUNT_COLUMNS, policy.small_count_threshold)
    _tag_variant(ds, passages, sites, policy.variant, aliases)
    return dataclasses.replace(
        ds, passages=passages, sites=sites, quarantine=quarantine, variant=policy.variant
    )


# The pseudonyms of the last variants tagged, by token: what a new version's variant
# compares its own with (a camp whose pseudonym changed has changed for ``lineage``).
_ALIASES: OrderedDict[Hashable, dict[str, str]] = OrderedDict()
_ALIASES_LOCK = threading.Lock()


def _tag_variant(
    ds: Dataset,
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    name: str,
    aliases: dict[str, str],
) -> None:
    """Tag the variant's frames for ``lineage`` (per-camp results carried from the
    previous version's variant): every step of ``apply`` makes a camp's rows from its
    own rows and the Sites, but for the pseudonyms, dealt in the order the camps were
    first visited: the camps whose pseudonym differs from the parent variant's count as
    changed too (no lineage when those are not known). The passages' variant is named
    with the Sites' token: a camp takes its Site's zone, and a Site moved leaves the
    passages that have their own position unchanged (a new variant all the same, with
    no lineage: its parent, with these Sites, was never made)."""
    lineage.tag_variant(sites, ds.sites, name)
    source, sites_token = lineage.token(ds.passages), lineage.token(ds.sites)
    if source is None or sites_token is None:
        return
    named = (sites_token, name)
    with _ALIASES_LOCK:
        _ALIASES[(source, named)] = aliases
        _ALIASES.move_to_end((source, named))
        while len(_ALIASES) > lineage.LINEAGE_ENTRIES:
            _ALIASES.popitem(last=False)

    def renamed(parent: Hashable) -> frozenset[str] | None:
        with _ALIASES_LOCK:
            before = _ALIASES.get(parent)
        if before is None:
            return None
        return frozenset(
            c for c in before.keys() | aliases.keys() if before.get(c) != aliases.get(c)
        )

    lineage.tag_variant(passages, ds.passages, named, renamed)


def _blank(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    present = [c for c in columns if c in frame.columns]
    return frame.assign(**{c: pd.Series(pd.NA, index=frame.index, dtype="str") for c in present})


def _without_flag_params(frame: pd.DataFrame) -> pd.DataFrame:
    """Flags quote what was typed (a place, a number): keep their codes, drop what they
    quote (``flag_params``)."""
    if "flag_params" not in frame.columns:
        return frame
    # one empty list for every row, as the ready frames share theirs (frames are read-only)
    empty: pd.Series = pd.Series([_NO_PARAMS] * len(frame), index=frame.index, dtype=object)
    return frame.assign(flag_params=empty)


_NO_PARAMS: list[dict[str, object]] = []


# -------------------------------------------------------------------- pseudonyms

# Letters of a pseudonym: no I or O, which read as 1 and 0.
PSEUDONYM_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PSEUDONYM_LENGTH = 3
# The key of the hash. It is no secret: a pseudonym stands for a camp id, which tells
# nothing of the camp either (partners find it in their exports). Changing it deals
# new pseudonyms to every camp.
PSEUDONYM_KEY = b"cartocampement/camp-pseudonym/v1"


RECORD_ID = re.compile(r"\brec[A-Za-z0-9]{14}\b")  # an Airtable record id
_ID_KEY = b"cartocampement/record-id/v1"


def opaque_id(record_id: str) -> str:
    """A stand-in for an Airtable record id, the same wherever the id appears (so camps,
    events and passages of one file still match) but not the id: with it, someone with
    access to the base would find the record, its exact position and its comments."""
    digest = hmac.new(_ID_KEY, record_id.encode(), hashlib.sha256).hexdigest()
    return "id" + digest[:14]


def hide_record_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Every Airtable record id in the text columns of ``frame`` (alone, or inside a
    camp id ``S-rec…``, an event id ``S-rec…@date``, a list) replaced by its
    ``opaque_id``: what leaves the app for a role without the base's ids."""
    changed = {}
    for col in frame.columns:
        values = frame[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("str")
            if text.str.contains(RECORD_ID, na=False).any():
                replaced = text.str.replace(RECORD_ID, lambda m: opaque_id(m.group()), regex=True)
                changed[col] = replaced.where(values.notna(), values)
    return frame.assign(**changed) if changed else frame


def _pseudonym_code(camp_id: str, attempt: int, length: int = PSEUDONYM_LENGTH) -> str:
    digest = hmac.new(PSEUDONYM_KEY, f"{camp_id}#{attempt}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    letters = []
    for _ in range(length):
        number, index = divmod(number, len(PSEUDONYM_LETTERS))
        letters.append(PSEUDONYM_LETTERS[index])
    return "".join(letters)


def camp_pseudonyms(passages: pd.DataFrame) -> pd.Series:
    """A pseudonym per camp (index ``camp_id``): "Campement KQW", never its real name.

    Its letters come from a keyed hash of the camp id alone, so a camp keeps its
    pseudonym from one run and one snapshot to the next. Two camps whose hashes meet are
    told apart in the order they were first visited: the camp seen first keeps its
    letters, the other takes the next hash (``camp#1``…), so a new camp never changes
    the pseudonym of an older one. (Past about 3,000 camps, pseudonyms take a fourth
    letter, so that free ones stay easy to find: every camp's changes then.)"""
    if passages.empty or "camp_id" not in passages.columns:
        return pd.Series(dtype="str", index=pd.Index([], dtype="str", name="camp_id"))
    order = first_seen_order(passages)
    length = PSEUDONYM_LENGTH
    while len(PSEUDONYM_LETTERS) ** length < 4 * len(order):
        length += 1
    taken: set[str] = set()
    codes: dict[str, str] = {}
    for camp in order:
        attempt = 0
        code = _pseudonym_code(str(camp), attempt, length)
        while code in taken:
            attempt += 1
            code = _pseudonym_code(str(camp), attempt, length)
        taken.add(code)
        codes[str(camp)] = t("camp.alias", code=code)
    return pd.Series(codes, dtype="str").rename_axis("camp_id")


def first_seen_order(passages: pd.DataFrame) -> list[str]:
    """The camps of ``passages`` by their first passage's date (unknown last), then by
    id. Sorted as columns: a camp's date looked up one by one cost more than the
    pseudonyms' hashes at 100,000 passages."""
    first = passages["date"].groupby(passages["camp_id"], sort=False).min()
    frame = pd.DataFrame({"camp_id": first.index.astype("str"), "date": first.array})
    ordered = frame.sort_values(["date", "camp_id"], na_position="last", kind="stable")
    return [str(camp) for camp in ordered["camp_id"].tolist()]


def _with_aliases(passages: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Passages with the ``camp_alias`` column naming their camp by its pseudonym, and
    the pseudonym of each camp."""
    if "camp_id" not in passages.columns:
        return passages, {}
    aliases = camp_pseudonyms(passages)
    named = passages.assign(**{ALIAS: passages["camp_id"].map(aliases).astype("str")})
    return named, dict(zip(aliases.index.tolist(), aliases.tolist(), strict=True))


# --------------------------------------------------------------------- positions


def zone_centres(
    latitude: pd.Series, longitude: pd.Series, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """The centre of the H3 cell of each position (NaN where the position is unknown).
    One cell lookup per distinct position: a Site's passages share its position."""
    lat = pd.to_numeric(latitude, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(longitude, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat_out = np.full(len(lat), np.nan)
    lon_out = np.full(len(lat), np.nan)
    known = np.flatnonzero(~(np.isnan(lat) | np.isnan(lon)))
    if not len(known):
        return lat_out, lon_out
    pairs = np.column_stack([lat[known], lon[known]])
    distinct, where = np.unique(pairs, axis=0, return_inverse=True)
    centres: dict[str, tuple[float, float]] = {}
    found = np.empty((len(distinct), 2))
    for i, (la, lo) in enumerate(distinct.tolist()):
        cell = h3.latlng_to_cell(la, lo, resolution)
        if cell not in centres:
            centres[cell] = h3.cell_to_latlng(cell)
        found[i] = centres[cell]
    lat_out[known] = found[where.ravel(), 0]
    lon_out[known] = found[where.ravel(), 1]
    return lat_out, lon_out


def is_zone_centre(latitude: float, longitude: float, resolution: int) -> bool:
    """True when the position is (to floating-point precision) an H3 cell centre."""
    cell = h3.latlng_to_cell(latitude, longitude, resolution)
    c_lat, c_lon = h3.cell_to_latlng(cell)
    return abs(c_lat - latitude) < 1e-9 and abs(c_lon - longitude) < 1e-9


def blur_positions(
    passages: pd.DataFrame, sites: pd.DataFrame, resolution: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Passages and sites with every position moved to a zone centre.

    Each camp gets one zone, that of its site (when the site is known) or of the median
    position of its passages, and all its passages take that zone's centre: a camp's
    position, however it is derived later (median, its site's), is that centre too.
    Camp membership was decided on exact positions before, so it does not change."""
    site_lat, site_lon = zone_centres(sites["latitude"], sites["longitude"], resolution)
    blurred_sites = sites.assign(latitude=site_lat, longitude=site_lon)
    if passages.empty or "camp_id" not in passages.columns:
        p_lat, p_lon = zone_centres(passages["latitude"], passages["longitude"], resolution)
        return passages.assign(latitude=p_lat, longitude=p_lon), blurred_sites
    camps = passages.groupby("camp_id")[list(POSITION_COLUMNS)].median()
    site_pos = sites.set_index("S-" + sites["record_id"])[list(POSITION_COLUMNS)]
    on_site = camps.index.intersection(site_pos.index)
    camps.loc[on_site, list(POSITION_COLUMNS)] = site_pos.loc[on_site].to_numpy()
    c_lat, c_lon = zone_centres(camps["latitude"], camps["longitude"], resolution)
    camp_lat = pd.Series(c_lat, index=camps.index)
    camp_lon = pd.Series(c_lon, index=camps.index)
    lat = camp_lat.reindex(passages["camp_id"]).to_numpy(dtype=float, copy=True)
    lon = camp_lon.reindex(passages["camp_id"]).to_numpy(dtype=float, copy=True)
    # a passage whose camp has no position (none: no camp) takes its own zone
    alone = np.flatnonzero(np.isnan(lat) | np.isnan(lon))
    if len(alone):
        rows = passages.iloc[alone]
        own_lat, own_lon = zone_centres(rows["latitude"], rows["longitude"], resolution)
        lat[alone] = np.where(np.isnan(lat[alone]), own_lat, lat[alone])
        lon[alone] = np.where(np.isnan(lon[alone]), own_lon, lon[alone])
    return passages.assign(latitude=lat, longitude=lon), blurred_sites


# ------------------------------------------------------------------------ counts


def suppress_small_counts(
    frame: pd.DataFrame, columns: Sequence[str], threshold: int
) -> pd.DataFrame:
    """Counts in (0, threshold) replaced by missing values, each counted column gaining
    a boolean ``<column>_suppressed`` (true where the interface shows "<threshold")."""
    changes: dict[str, pd.Series] = {}
    for col in columns:
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        small = (values > 0) & (values < threshold)
        small = small.fillna(False).astype(bool)
        flag = col + SUPPRESSED_SUFFIX
        if flag in frame.columns:
            small = small | frame[flag].fillna(False).astype(bool)
        changes[col] = frame[col].mask(small)
        changes[flag] = small
    return frame.assign(**changes) if changes else frame


# ------------------------------------------------------- complementary suppression


Key = TypeVar("Key", bound=Hashable)


@dataclasses.dataclass(frozen=True)
class Sum(Generic[Key]):
    """A relation the role can read off what it is shown: ``total`` is the sum of
    ``parts`` (cells named by any hashable key: a week and an association, a camp…)."""

    total: Key
    parts: tuple[Key, ...]


def complements(
    values: Mapping[Key, float],
    sums: Sequence[Sum[Key]],
    policy: Policy,
    *,
    unshown: Iterable[Key] = (),
    fixed: Iterable[Key] = (),
    masked: Iterable[Key] = (),
    known: Iterable[Key] = (),
) -> frozenset[Key]:
    """The cells to mask besides the small counts, so that no masked cell comes back
    by adding and subtracting what is shown (complementary, "secondary", suppression).

    ``values`` holds every cell the ``sums`` name (whole numbers, 0 or more), shown or
    not; a cell in (0, threshold) is a small count, shown "<5". ``unshown`` cells are
    shown nowhere (an association's passages, which two tables add up to: the role
    knows only that they are 0 or more); ``fixed`` cells are shown unmasked elsewhere,
    so masking them here would hide nothing; ``masked`` cells are already complements
    of a related figure; ``known`` cells are told exactly, even small (a figure no page
    shows that the role is taken to work out: a sum of rounded figures). The role is
    assumed to know every shown value, that "<5" is 1 to threshold − 1 and a complement
    ("masqué") threshold or more, and to combine the
    sums as often as it likes: bounds carried from sum to sum (subtraction and what it
    implies), and any combination of sums (elimination). A masked cell found again that
    way, or several small counts of one sum that add up to a small count the rest gives
    away, get one more cell masked, in the sums that give it away: an unmasked part
    that is not 0 (the one leaving fewest sums with it alone hidden, then the smallest),
    else a total; never a cell one sum gives away whatever is masked (``fixed`` cells
    and zeros leave nothing else to mask). Rounds go on until nothing comes back or
    nothing more can be masked (a count whose parts other pages show). Returns every
    complement (``masked`` included); none under a policy without a threshold."""
    if policy.small_count_threshold <= 1:
        return frozenset(masked)
    return _Suppression(
        values, sums, policy.small_count_threshold, unshown, fixed, masked, known
    ).run()


_SHOWN, _SMALL, _COMPLEMENT, _UNSHOWN = range(4)
_INF = float("inf")
_MAX_PASSES = 64  # bound propagation on a page's sums settles in a few passes


@dataclasses.dataclass(frozen=True)
class _Closing:
    """A sum as ``_Suppression._closes_on`` reads it: the cells not shown for good, what
    the others leave them together, and their priors summed (lo, finite hi, how many
    have no upper bound)."""

    hidden: frozenset[int]
    count: int
    total_shown: bool
    together: float
    lo: float
    hi: float
    infinite: int


class _Suppression(Generic[Key]):
    """The cells and sums of ``complements``, by position."""

    def __init__(
        self,
        values: Mapping[Key, float],
        sums: Sequence[Sum[Key]],
        threshold: int,
        unshown: Iterable[Key],
        fixed: Iterable[Key],
        masked: Iterable[Key],
        known: Iterable[Key] = (),
    ) -> None:
        self.keys = list(values)
        index = {key: i for i, key in enumerate(self.keys)}
        self.value = [float(values[key]) for key in self.keys]
        self.threshold = threshold
        hidden_elsewhere = {index[key] for key in masked}
        no_page = {index[key] for key in unshown}
        told = {index[key] for key in known}
        self.state = [
            _UNSHOWN
            if i in no_page
            else _SHOWN
            if i in told
            else _SMALL
            if 0 < v < threshold
            else _COMPLEMENT
            if i in hidden_elsewhere
            else _SHOWN
            for i, v in enumerate(self.value)
        ]
        self.fixed = {index[key] for key in fixed}
        self.sums = [(index[s.total], [index[p] for p in s.parts]) for s in sums]
        self.member_of: list[list[int]] = [[] for _ in self.keys]
        for n, (total, parts) in enumerate(self.sums):
            for i in dict.fromkeys((total, *parts)):
                self.member_of[i].append(n)
        # What ``_closes_on`` reads of each sum, kept until a cell of it is masked: a
        # sum of hundreds of camps was walked again for each of its cells.
        self._closing: dict[int, _Closing] = {}
        self._widths: dict[int, tuple[float, int]] = {}  # ``_width``'s, the same way

    def run(self) -> frozenset[Key]:
        while True:
            lo, hi = self.bounds()
            touched: set[int] = set()  # sums a cell was masked in, this round
            problems = self.exposed(lo, hi)
            handled: set[int] = set()  # cells given a complement, this round
            for cell, sums in problems:
                near = {c for n in sums for c in (self.sums[n][0], *self.sums[n][1])}
                if touched.intersection(self.member_of[cell]) or handled & near:
                    continue  # its sums changed, or what gives it away: next round
                if self.given(cell):
                    continue  # no mask helps
                chosen = self.choose(cell, sums)
                if chosen is not None:
                    self.state[chosen] = _COMPLEMENT
                    for n in self.member_of[chosen]:
                        self._closing.pop(n, None)
                        self._widths.pop(n, None)
                    touched.update(self.member_of[chosen])
                    handled.add(cell)
            if not touched:  # nothing comes back, or nothing more can be masked
                break
        return frozenset(k for k, s in zip(self.keys, self.state, strict=True) if s == _COMPLEMENT)

    def masked(self, i: int) -> bool:
        return self.state[i] in (_SMALL, _COMPLEMENT)

    def prior(self, i: int) -> tuple[float, float]:
        """What the role knows of cell ``i`` before any sum: its value when shown."""
        state = self.state[i]
        if state == _SHOWN:
            return self.value[i], self.value[i]
        if state == _SMALL:
            return 1.0, float(self.threshold - 1)
        if state == _COMPLEMENT:
            return float(self.threshold), _INF
        return 0.0, _INF

    def bounds(self) -> tuple[list[float], list[float]]:
        """What the role can tell of each cell: the bounds the sums leave it."""
        known = [self.prior(i) for i in range(len(self.keys))]
        lo, hi = [k[0] for k in known], [k[1] for k in known]
        for _ in range(_MAX_PASSES):
            changed = False
            for total, parts in self.sums:
                parts_lo = sum(lo[p] for p in parts)
                infinite = sum(1 for p in parts if hi[p] == _INF)
                finite_hi = sum(hi[p] for p in parts if hi[p] != _INF)
                if parts_lo > lo[total]:
                    lo[total], changed = parts_lo, True
                if not infinite and finite_hi < hi[total]:
                    hi[total], changed = finite_hi, True
                for p in parts:
                    own_infinite = hi[p] == _INF
                    if infinite - own_infinite:
                        others_hi = _INF
                    else:
                        others_hi = finite_hi - (0.0 if own_infinite else hi[p])
                    low = lo[total] - others_hi
                    high = hi[total] - (parts_lo - lo[p])
                    if low > lo[p] + 1e-9:
                        lo[p], changed = low, True
                    if high < hi[p] - 1e-9:
                        hi[p], changed = high, True
            if not changed:
                break
        return lo, hi

    def exposed(self, lo: list[float], hi: list[float]) -> list[tuple[int, list[int]]]:
        """The masked cells the role can find again (each with the sums that give it
        away), then the sums whose small counts add up to a small count it can find;
        empty when nothing comes back."""
        found = []
        for i in range(len(self.keys)):
            if self.masked(i) and hi[i] - lo[i] < 0.5:
                widths = {n: self._width(n, i) for n in self.member_of[i]}
                narrowest = min(widths.values(), default=_INF)
                found.append((i, [n for n, w in widths.items() if w <= narrowest]))
        for n, (total, parts) in enumerate(self.sums):
            hidden = [p for p in parts if self.masked(p)]
            rest = [p for p in parts if not self.masked(p)]
            if len(hidden) < 2 or self.masked(total) or hi[total] - lo[total] >= 0.5:
                continue
            if any(hi[p] - lo[p] >= 0.5 for p in rest):
                continue
            together = lo[total] - sum(lo[p] for p in rest)
            if 0 < together < self.threshold:
                found.append((hidden[0], [n]))
        if not found:  # the bounds give nothing back: a combination of sums may
            found = [(i, list(self.member_of[i])) for i in sorted(self.determined())]
        return found

    def determined(self) -> set[int]:
        """The masked cells that some combination of the sums fixes, whatever their
        bounds (Gauss-Jordan elimination on the sums, over the cells not shown: a cell
        is fixed when a reduced row holds it alone). Bounds carried from sum to sum miss
        some of these (a total both added up and taken apart)."""
        unknown = {i for i, state in enumerate(self.state) if state != _SHOWN}
        reduced: dict[int, dict[int, Fraction]] = {}  # pivot cell: its reduced row
        holding: dict[int, set[int]] = {}  # a cell: the pivots whose rows hold it
        for total, parts in self.sums:
            row: dict[int, Fraction] = {}
            for c, sign in ((total, 1), *((p, -1) for p in parts)):
                if c in unknown:
                    row[c] = row.get(c, Fraction(0)) + sign
            for pivot in [c for c in row if c in reduced]:
                factor = row.get(pivot, Fraction(0))
                if factor:
                    for c, v in reduced[pivot].items():
                        row[c] = row.get(c, Fraction(0)) - factor * v
            row = {c: v for c, v in row.items() if v}
            if not row:
                continue
            pivot = min(row)
            row = {c: v / row[pivot] for c, v in row.items()}
            for other in list(holding.get(pivot, ())):  # keep every reduced row free of it
                factor = reduced[other].pop(pivot)
                for c, v in row.items():
                    if c == pivot:
                        continue
                    updated = reduced[other].get(c, Fraction(0)) - factor * v
                    if updated:
                        reduced[other][c] = updated
                        holding.setdefault(c, set()).add(other)
                    else:
                        reduced[other].pop(c, None)
                        holding.get(c, set()).discard(other)
            holding.pop(pivot, None)
            reduced[pivot] = row
            for c in row:
                if c != pivot:
                    holding.setdefault(c, set()).add(pivot)
        return {pivot for pivot, row in reduced.items() if len(row) == 1 and self.masked(pivot)}

    def _width(self, n: int, i: int) -> float:
        """How wide sum ``n`` alone leaves cell ``i``, from what is shown of its other
        cells (not from what other sums tell of them: those are found on their own)."""
        found = self._widths.get(n)
        if found is None:
            total, parts = self.sums[n]
            widths = [high - low for low, high in (self.prior(c) for c in (total, *parts))]
            finite = [w for w in widths if w != _INF]
            found = self._widths[n] = (sum(finite), len(widths) - len(finite))
        low, high = self.prior(i)
        own = high - low
        if found[1] - (own == _INF):
            return _INF  # one of the others is unbounded
        return found[0] - (0.0 if own == _INF else own)

    def choose(self, cell: int, sums: list[int]) -> int | None:
        """The cell to mask for ``cell``: a part of the ``sums`` that give it away
        (shown, not fixed, not 0), else one of their totals; else the same among its
        other sums; else further out, through the cells of those sums that are not shown
        (masked, or shown nowhere), whose sums give it away in turn; None when every
        figure reached is fixed, 0 or masked already. Among them, the one that closes
        the pattern rather than starts a chain (``_cost``), then the smallest."""
        seen_sums: set[int] = set()
        seen_cells = {cell}
        queue = [sums, [n for n in self.member_of[cell] if n not in sums]]
        while queue:
            these = [n for n in queue.pop(0) if n not in seen_sums]
            seen_sums.update(these)
            parts = [p for n in these for p in self.sums[n][1] if self._maskable(p)]
            totals = [self.sums[n][0] for n in these if self._maskable(self.sums[n][0])]
            if parts or totals:
                return min(parts or totals, key=self._cost)
            further = [
                c
                for n in these
                for c in (self.sums[n][0], *self.sums[n][1])
                if c not in seen_cells and self.state[c] != _SHOWN
            ]
            seen_cells.update(further)
            wider = [m for c in further for m in self.member_of[c] if m not in seen_sums]
            if wider:
                queue.append(list(dict.fromkeys(wider)))
        return None

    def _cost(self, i: int) -> tuple[int, float, int]:
        """Fewest sums that masking ``i`` would leave with it alone not shown (each
        would give it away in turn and start a chain, where a masked neighbour closes
        the pattern), then the smallest value."""
        alone = sum(
            1
            for n in self.member_of[i]
            if all(self.state[c] == _SHOWN for c in (self.sums[n][0], *self.sums[n][1]) if c != i)
        )
        return alone, self.value[i], i

    def _maskable(self, i: int) -> bool:
        return (
            self.state[i] == _SHOWN
            and i not in self.fixed
            and self.value[i] > 0
            and not self.given(i)
        )

    def _shown_for_good(self, i: int) -> bool:
        """A shown cell that stays shown: fixed, or 0 (never chosen)."""
        return self.state[i] == _SHOWN and (i in self.fixed or self.value[i] == 0)

    def given(self, i: int) -> bool:
        """Whether a sum gives cell ``i`` away however much else is masked: every cell
        of it that could be masked taken as masked, what the cells shown for good leave
        the masked ones still closes on one value for ``i`` (two parts of at least 5
        that make 10; the one part not shown for good). Masking such a cell would hide
        nothing, and a masked one cannot be helped (another page shows the rest)."""
        return any(self._closes_on(n, i) for n in self.member_of[i])

    def _closes_on(self, n: int, i: int) -> bool:
        found = self._closing.get(n)
        if found is None:
            found = self._closing[n] = self._closing_of(n)
        if i not in found.hidden:
            return True
        if found.total_shown:
            low, high = self._hidden_prior(i)
            # the other hidden cells' priors, summed (every prior is a whole number)
            others_lo = found.lo - low
            infinite = found.infinite - (high == _INF)
            others_hi = _INF if infinite else found.hi - (0.0 if high == _INF else high)
            together = found.together
            return min(high, together - others_lo) - max(low, together - others_hi) < 0.5
        return found.count == 1  # a total whose parts are all shown for good

    def _closing_of(self, n: int) -> _Closing:
        total, parts = self.sums[n]
        hidden = [c for c in (total, *parts) if not self._shown_for_good(c)]
        members = set(hidden)
        together = self.value[total] - sum(self.value[p] for p in parts if p not in members)
        priors = [self._hidden_prior(c) for c in hidden]
        return _Closing(
            hidden=frozenset(hidden),
            count=len(hidden),
            total_shown=total not in members,
            together=together,
            lo=sum(lo for lo, _ in priors),
            hi=sum(hi for _, hi in priors if hi != _INF),
            infinite=sum(1 for _, hi in priors if hi == _INF),
        )

    def _hidden_prior(self, i: int) -> tuple[float, float]:
        """What the role would know of cell ``i`` masked: "<5", or a complement."""
        if self.state[i] == _SHOWN:
            return float(self.threshold), _INF
        return self.prior(i)


def mask_complements(
    frame: pd.DataFrame, column: str, where: pd.Series | np.ndarray
) -> pd.DataFrame:
    """``frame`` with ``column`` masked where ``where`` is true (complements): missing
    values, its ``<column>_suppressed`` flag set and its ``<column>_complement`` flag
    telling the interface to show "masqué" rather than "<5". The same frame when none
    is."""
    chosen = pd.Series(np.asarray(where, dtype=bool), index=frame.index)
    if not chosen.any():
        return frame
    flag, kind = column + SUPPRESSED_SUFFIX, column + COMPLEMENT_SUFFIX
    before = frame[flag].fillna(False).astype(bool) if flag in frame.columns else False
    earlier = frame[kind].fillna(False).astype(bool) if kind in frame.columns else False
    return frame.assign(
        **{
            column: frame[column].mask(chosen),
            flag: chosen | before,
            kind: chosen | earlier,
        }
    )


def small_count_label(threshold: int) -> str:
    """What the interface shows for a suppressed count: "<5"."""
    return t("privacy.small_count", n=threshold)


def complement_label() -> str:
    """What the interface shows for a count masked as a complement: "masqué" (it is not
    small: a total would have given a small one away with it)."""
    return t("privacy.complement")


def is_small(value: object, policy: Policy) -> bool:
    """True when ``policy`` suppresses this count: it lies in (0, threshold)."""
    number = _as_number(value)
    return (
        policy.small_count_threshold > 1
        and number is not None
        and 0 < abs(number) < policy.small_count_threshold
    )


@dataclasses.dataclass(frozen=True)
class Count:
    """One figure as a role may see it: ``value`` is None when unknown or suppressed."""

    value: float | None
    suppressed: bool = False
    threshold: int = 0
    complement: bool = False  # suppressed as a complement (``complements``), not small

    @property
    def label(self) -> str:
        """The figure as a page shows it: "1 062", "<5" when suppressed, "masqué" when
        masked as a complement, "—" unknown."""
        if self.complement:
            return complement_label()
        if self.suppressed:
            return small_count_label(self.threshold)
        return format_int(self.value)


def count(value: object, policy: Policy, complement: bool = False) -> Count:
    """A figure (a count, a sum, a mean) under ``policy``: suppressed in (0, threshold),
    masked when ``complement`` (one of the ``complements`` of its figures)."""
    number = _as_number(value)
    if is_small(number, policy):
        return Count(None, True, policy.small_count_threshold)
    if complement and policy.small_count_threshold > 1:
        return Count(None, True, policy.small_count_threshold, complement=True)
    return Count(number)


def delta(now: Count, before: Count, policy: Policy) -> int | None:
    """The change between two periods under a metric, or None (no delta is shown).

    Under a threshold, the change is not shown when either figure is suppressed (it
    would give the hidden one away) or when the change itself is a small count."""
    if now.value is None or before.value is None or now.suppressed or before.suppressed:
        return None
    change = int(round(now.value) - round(before.value))
    return None if is_small(change, policy) else change


def hidden_in(frame: pd.DataFrame, *columns: str) -> bool:
    """Whether a protected frame hides a count in any of ``columns`` (their
    ``<column>_suppressed`` flags): what a chart leaves empty, a table shows "<5" or
    "masqué"."""
    flags = [c + SUPPRESSED_SUFFIX for c in columns if c + SUPPRESSED_SUFFIX in frame.columns]
    return bool(flags) and bool(frame[flags].fillna(False).astype(bool).to_numpy().any())


def any_suppressed(policy: Policy, *shown: object) -> bool:
    """Whether any of the figures a page shows is one ``policy`` hid: a ``Count`` (or a
    trend: anything with such a ``now``), labels as shown ("<5" or "masqué": a text, a
    column, a frame of them), a ``hidden_in`` answer, or collections of these."""
    if policy.small_count_threshold <= 1:
        return False
    labels = [small_count_label(policy.small_count_threshold), complement_label()]
    for value in shown:
        if isinstance(value, bool):
            found = value
        elif isinstance(value, Count):
            found = value.suppressed
        elif isinstance(value, pd.DataFrame):
            found = bool(value.astype("str").isin(labels).to_numpy().any())
        elif isinstance(value, pd.Series):
            found = bool(value.astype("str").isin(labels).fillna(False).any())
        elif isinstance(value, str):
            found = value in labels
        elif isinstance(value, dict):
            found = any_suppressed(policy, *value.values())
        elif isinstance(value, list | tuple | set):
            found = any_suppressed(policy, *value)
        elif hasattr(value, "now"):
            found = any_suppressed(policy, value.now)
        else:
            found = False
        if found:
            return True
    return False


def count_labels(frame: pd.DataFrame, column: str, policy: Policy, decimals: int = 0) -> pd.Series:
    """A protected frame's counts as a page shows them: French numbers (``decimals``
    after a decimal comma, for means), "<5" where the ``<column>_suppressed`` flag is
    set, "masqué" where ``<column>_complement`` is, "—" where unknown."""
    flag, kind = column + SUPPRESSED_SUFFIX, column + COMPLEMENT_SUFFIX
    hidden = (
        frame[flag].fillna(False).astype(bool).tolist()
        if flag in frame.columns
        else [is_small(v, policy) for v in frame[column].tolist()]
    )
    complement = (
        frame[kind].fillna(False).astype(bool).tolist()
        if kind in frame.columns
        else [False] * len(frame)
    )
    label = small_count_label(policy.small_count_threshold)
    masked = complement_label()
    return pd.Series(
        [
            masked if other else label if small else _format(_as_number(v), decimals)
            for v, small, other in zip(frame[column].tolist(), hidden, complement, strict=True)
        ],
        index=frame.index,
        dtype="str",
    )


def _format(number: float | None, decimals: int) -> str:
    return format_number(number, decimals) if decimals > 0 else format_int(number)


def _as_number(value: object) -> float | None:
    if value is None or value is pd.NA or isinstance(value, str):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def protect_frame(
    frame: pd.DataFrame, policy: Policy, count_columns: Sequence[str] = AGGREGATE_COUNT_COLUMNS
) -> pd.DataFrame:
    """The last guard for a derived frame or an export: under ``policy``, positions
    snapped to zone centres and small counts suppressed (a no-op for the full policy),
    each counted column gaining its ``<column>_suppressed`` flag. Snapping is
    idempotent: a zone centre stays where it is."""
    out = frame
    if not policy.exact_positions and all(c in out.columns for c in POSITION_COLUMNS):
        lat, lon = zone_centres(out["latitude"], out["longitude"], policy.zone_resolution)
        out = out.assign(latitude=lat, longitude=lon)
    if policy.small_count_threshold > 1:
        out = suppress_small_counts(out, count_columns, policy.small_count_threshold)
    return out


# --------------------------------------------------------------------- retention


@dataclasses.dataclass(frozen=True)
class CommentRetention:
    """Removes the comment of passages older than the retention period from Airtable
    records (as fetched, and as stored): the visit date decides, else the creation."""

    cutoff: dt.datetime | None  # None: comments are kept
    date_field: str
    comment_field: str

    @classmethod
    def from_settings(cls, settings: Settings, now: dt.datetime) -> CommentRetention:
        days = PrivacyOptions.from_settings(settings).comment_retention_days
        mapping = schema.field_mapping(schema.PASSAGES, settings["airtable.passages_fields"])
        cutoff = now - dt.timedelta(days=days) if days > 0 else None
        return cls(cutoff, mapping.airtable_name("date"), mapping.airtable_name("comment"))

    def _expired(self, record: Record) -> bool:
        if self.cutoff is None:
            return False
        when = _parse_time(record.get("fields", {}).get(self.date_field))
        when = when or _parse_time(record.get("createdTime"))
        return when is not None and when < self.cutoff

    def strip(self, records: Sequence[Record]) -> list[Record]:
        """The records with the comment removed where it has expired."""
        out = []
        for rec in records:
            if self.comment_field in rec.get("fields", {}) and self._expired(rec):
                fields = {k: v for k, v in rec["fields"].items() if k != self.comment_field}
                rec = {**rec, "fields": fields}
            out.append(rec)
        return out

    def purge(self, store: SnapshotStore, conn: Connection) -> int:
        """Inside a transaction: remove expired comments from the stored passages;
        returns how many records changed."""
        if self.cutoff is None:
            return 0
        return store.purge_field(conn, "passages", self.comment_field, self._expired)


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
