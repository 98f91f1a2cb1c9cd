"""Raw Airtable records → typed ``passages`` and ``sites`` frames, and a ``quarantine`` frame.

Invariant: every raw record lands in exactly one of the three frames. A record that
cannot be used (no date, no position, impossible counts) goes to the quarantine with its
reasons; a record used with a correction or a doubt carries its flags. Frames hold no
French text: a reason or a flag is a catalogue code (``reason.no_date``,
``flag.number_text``…) and its parameters, the typed values it quotes, already scrubbed
of phone numbers and e-mails (``flag_codes`` and ``flag_params`` per record;
``reason_codes`` and ``reason_params`` in the quarantine). ``describe`` writes the text
where it is shown. A record whose Arrondissement is empty or "Autre" takes the
arrondissement or commune of its position (``carto.boundaries``), with
``arrondissement_inferred`` true. Column-wise (vectorised) parsing keeps 100,000 records
in seconds: the slow tolerant parsers only run on the few values the fast path could not
read.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carto import boundaries, parsing, schema
from carto.i18n import t
from carto.schema import FieldMapping, FieldType, Table

AIRTABLE_RECORD_URL = "https://airtable.com/{base}/{table}/{record}"
# The unit of every timestamp column of the normalised frames.
TIME_UNIT: Final = "us"

# Values typecast forms create, read as the option they mean. Keys compare without
# case, accents or punctuation (see ``_fold``).
SELECT_ALIASES: Mapping[str, Mapping[str, str]] = {
    "association": {
        "Utopia56": "Utopia 56",
        "Utopia": "Utopia 56",
        "Croix Rouge": "Croix-Rouge française",
        "Croix-Rouge": "Croix-Rouge française",
        "CRF": "Croix-Rouge française",
        "ACF": "Action contre la Faim",
        "Action contre la faim": "Action contre la Faim",
    },
    "needs": {
        "Couvertures": "Couvertures/duvets",
        "Duvets": "Couvertures/duvets",
        "Sacs de couchage": "Couvertures/duvets",
        "Alimentation": "Nourriture",
        "Repas": "Nourriture",
        "Tente": "Tentes",
        "Vetements": "Vêtements",
        "Soins": "Soins médicaux",
        "Médical": "Soins médicaux",
        "Droits": "Accès aux droits",
        "Juridique": "Accès aux droits",
        "Logement": "Hébergement",
        "Recharge": "Recharge téléphone",
        "Téléphone": "Recharge téléphone",
    },
    "referrals": {"PASS": "PASS/hôpital", "Hôpital": "PASS/hôpital", "ASE": "ASE (mineurs)"},
    "evacuation": {
        "Non": "Aucune",
        "Évacuation": "Évacuation sans solution",
        "Mise à l'abri": "Évacuation avec mise à l'abri",
    },
    "site_status": {"Evacue": "Évacué", "Demantele": "Démantelé", "Actif ": "Actif"},
}
OTHER = "Autre"

# A passage's own fields as frames hold them, in the form's order: the passages frame
# and the passages export (``carto.export.contents``) both list them from here.
PASSAGE_FIELDS = [
    "association",
    "team",
    "site_id",
    "latitude",
    "longitude",
    "location_text",
    "arrondissement",
    "arrondissement_inferred",
    "people",
    *schema.PEOPLE_COUNTS,
    "tents",
    "needs",
    *schema.DISTRIBUTIONS,
    "referrals",
    "evacuation",
    "sheltered",
    "site_status",
    "comment",
]
_AFTER_POSITION = PASSAGE_FIELDS.index("longitude") + 1
PASSAGE_COLUMNS = [
    "record_id",
    "created_time",
    "date",
    "day",
    *PASSAGE_FIELDS[:_AFTER_POSITION],
    "position_source",  # where the position came from: passage, site or localisation
    *PASSAGE_FIELDS[_AFTER_POSITION:],
    "flag_codes",
    "flag_params",
]
SITE_COLUMNS = [
    "record_id",
    "created_time",
    "name",
    "latitude",
    "longitude",
    "arrondissement",
    "arrondissement_inferred",
    "type",
    "status",
    "notes",
    "flag_codes",
    "flag_params",
]
QUARANTINE_COLUMNS = [
    "record_id",
    "table",
    "reason_code",
    "reason_codes",
    "reason_params",
    "created_time",
    "airtable_url",
]


@dataclass(frozen=True)
class NormaliseOptions:
    """What normalisation needs besides the records."""

    passages_map: FieldMapping
    sites_map: FieldMapping
    # built by ``carto.dataset.normalise_options`` from the settings (their defaults)
    timezone: str
    now: pd.Timestamp | None
    max_count: int
    area_bounds: tuple[float, float, float, float]
    first_date: dt.date  # passages dated before it are quarantined
    base_id: str
    table_names: Mapping[str, str]


@dataclass(frozen=True)
class Normalised:
    """The three frames every analysis starts from."""

    passages: pd.DataFrame
    sites: pd.DataFrame
    quarantine: pd.DataFrame


# A reason or a flag: its catalogue key (which also groups issues by kind on the quality
# page) and the values its text quotes.
Issue = tuple[str, dict[str, str]]


def _msg(key: str, **values: object) -> Issue:
    """A reason or flag; the typed values it quotes are scrubbed of personal data first
    (a phone number typed in « Personnes » or « Localisation » must not reach the
    quality page through the message that quotes it)."""
    return key, {name: _scrub_text(value) for name, value in values.items()}


def describe(codes: Sequence[str], params: Sequence[Mapping[str, str]]) -> str:
    """The French text of a record's reasons or flags, "; " between them. A code whose
    parameters are gone (a partner's view keeps the codes only) is told by its kind."""
    texts = [
        t(code, **params[i]) if i < len(params) else t(f"kind.{code}")
        for i, code in enumerate(codes)
    ]
    return "; ".join(texts)


def _scrub_text(value: object) -> str:
    """One value as text, with e-mails and phone numbers replaced by labels."""
    return parsing.scrub_pii(str(value), t("pii.phone"), t("pii.email"))


class _Issues:
    """Per-row quarantine reasons and flags, collected while parsing columns."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reasons: dict[int, list[Issue]] = defaultdict(list)
        self.flags: dict[int, list[Issue]] = defaultdict(list)

    def quarantine(self, rows: Iterable[int], make: Callable[[int], Issue]) -> None:
        for i in rows:
            self.reasons[i].append(make(i))

    def flag(self, rows: Iterable[int], make: Callable[[int], Issue]) -> None:
        for i in rows:
            self.flags[i].append(make(i))

    def kept(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        if self.reasons:
            mask[list(self.reasons)] = False
        return mask

    def flag_columns(self) -> tuple[list[list[str]], list[list[dict[str, str]]]]:
        """(flag codes, flag parameters) per row; the rows without flags share one empty
        list per column (the frames are read-only, as ``prepared._share_repeats``)."""
        codes: list[list[str]] = [[]] * self.n
        params: list[list[dict[str, str]]] = [[]] * self.n
        for i, issues in self.flags.items():  # the few rows flagged
            codes[i] = [key for key, _ in issues]
            params[i] = [values for _, values in issues]
        return codes, params


@dataclass(frozen=True)
class Raw:
    """Records as normalisation reads them: ids, creation times (as sent), one column per
    canonical field key (missing values as NA), and which records hold no field at all.
    ``of`` makes it from records; ``carto.arrow_records`` from the store's JSON texts."""

    ids: pd.Series  # str
    created: pd.Series  # str, NA when missing
    fields: pd.DataFrame
    empty: np.ndarray  # bool

    @classmethod
    def of(cls, records: Sequence[Mapping[str, Any]], mapping: FieldMapping) -> Raw:
        """From records as Airtable sends them."""
        n = len(records)
        return cls(
            ids=pd.Series([r["id"] for r in records], dtype="str"),
            created=pd.Series([r.get("createdTime") for r in records], dtype="str"),
            fields=_fields_frame(records, mapping),
            empty=np.fromiter((not r.get("fields") for r in records), dtype=bool, count=n),
        )

    def __len__(self) -> int:
        return len(self.ids)


def _fields_frame(records: Sequence[Mapping[str, Any]], mapping: FieldMapping) -> pd.DataFrame:
    """One column per canonical field key (missing values as NA), in record order.

    Columns keep the dtype pandas infers: a column whose values are all numbers is numeric,
    so the per-value checks below only run on columns that really hold mixed values.
    """
    frame = pd.DataFrame(
        [r.get("fields") or {} for r in records], index=pd.RangeIndex(len(records))
    )
    keys = {name: key for key, name in mapping.names.items()}
    # only the mapping's fields: another one named like a canonical key ("comment") is
    # not that field (and made two columns of one name)
    frame = frame[[c for c in frame.columns if c in keys]].rename(columns=keys)
    frame = frame.reindex(columns=[f.key for f in mapping.table.fields])
    frame.index = pd.RangeIndex(len(records))
    for f in mapping.table.fields:
        col = frame[f.key]
        if f.type is not FieldType.NUMBER and is_numeric(col.dtype) and col.notna().any():
            # numbers only where text is expected: as written (pandas would make 3 and a
            # missing value 3.0 and NaN, and a message would quote 3.0 or 3 depending on
            # the other records normalised with this one)
            name = mapping.names[f.key]
            frame[f.key] = pd.Series(
                [(r.get("fields") or {}).get(name, np.nan) for r in records], dtype=object
            )
    return frame


def is_numeric(dtype: Any) -> bool:
    """Whether pandas made a column numbers (or booleans)."""
    return pd.api.types.is_numeric_dtype(dtype)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _numeric_column(col: pd.Series) -> tuple[np.ndarray, list[int]]:
    """(float values of the plain numbers, rows holding something else than a number)."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan, copy=True), []
    plain = np.fromiter(map(_is_plain_number, col.to_list()), dtype=bool, count=len(col))
    values = pd.to_numeric(col.where(plain), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    return values, _where(~plain & col.notna().to_numpy())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _option_lookup(key: str, options: Sequence[str]) -> dict[str, str]:
    lookup = {_fold(alias): canonical for alias, canonical in SELECT_ALIASES.get(key, {}).items()}
    lookup.update({_fold(o): o for o in options})
    return lookup


def _clean_option(
    value: object, key: str, lookup: Mapping[str, str], label: str
) -> tuple[str | None, Issue | None]:
    """(canonical option, flag or None) for one select value."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None, None
    text = str(value).strip()
    canonical = lookup.get(_fold(text))
    if canonical is None:
        return OTHER, _msg("flag.unknown_option", value=text, field=label)
    if canonical != text:
        return canonical, _msg("flag.alias", value=text, canonical=canonical, field=label)
    return canonical, None


def _parse_selects(
    frame: pd.DataFrame, table: Table, mapping: FieldMapping, issues: _Issues
) -> None:
    for f in table.fields:
        if f.type not in (FieldType.SINGLE_SELECT, FieldType.MULTI_SELECT):
            continue
        label = mapping.airtable_name(f.key)
        if f.type is FieldType.SINGLE_SELECT:
            frame[f.key] = _single_select(frame[f.key], f, label, issues)
        else:
            frame[f.key] = _multi_select(frame[f.key], f, label, issues)


def _single_select(col: pd.Series, f: schema.Field, label: str, issues: _Issues) -> pd.Series:
    """A single select's column of options (``str``), its odd values cleaned and flagged."""
    key, lookup = f.key, _option_lookup(f.key, f.options)
    valid = col.isin(f.options)
    odd = _where(~valid.to_numpy() & col.notna().to_numpy())
    if not odd and isinstance(col.dtype, pd.StringDtype):
        return col  # options or missing only: the column as it is (no round trip)
    cleaned: list[str | None] = []
    for i in odd:
        value, flag = _clean_option(col.iat[i], key, lookup, label)
        cleaned.append(value)
        if flag:
            issues.flags[i].append(flag)
    if isinstance(col.dtype, pd.StringDtype):  # only the odd rows set again
        out = col.where(valid)
        out.iloc[odd] = cleaned
        return out
    values = col.where(valid, None).tolist()
    for i, value in zip(odd, cleaned, strict=True):
        values[i] = value
    return pd.Series(values, index=col.index, dtype="str")


def _multi_select(col: pd.Series, f: schema.Field, label: str, issues: _Issues) -> pd.Series:
    """A multiple select's column of lists of options, its odd values cleaned and
    flagged (a value that is not a list: an empty list)."""
    key, options, lookup = f.key, f.options, _option_lookup(f.key, f.options)
    lists = arrow_lists(col)
    raw: list[Any]
    if lists is not None:
        raw, odd = _arrow_multi_select(lists, options)
        out = list(raw)
    else:
        raw = col.tolist()
        out = [v if isinstance(v, list) else [] for v in raw]
        known = frozenset(options)
        odd = [i for i, v in enumerate(raw) if _odd_items(v, known)]
    for i in odd:
        value = raw[i]
        items = value if isinstance(value, list) else [value]
        cleaned: list[str] = []
        for item in items:
            canonical, flag = _clean_option(item, key, lookup, label)
            if flag:
                issues.flags[i].append(flag)
            if canonical and canonical not in cleaned:
                cleaned.append(canonical)
        out[i] = cleaned
    return pd.Series(out, index=col.index, dtype=object)


def arrow_lists(col: pd.Series) -> pa.ListArray | None:
    """A column of lists of strings kept in Arrow (``carto.arrow_records``), else None."""
    dtype = col.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_list(dtype.pyarrow_dtype):
        values: pa.ListArray = pa.array(col.array)
        return values
    return None


def _python_lists(values: pa.ListArray) -> list[list[Any]]:
    """An Arrow list column as one Python list per row (a missing list: empty). Each
    distinct item is made once and shared by the rows that hold it, and so is each
    distinct list (a few combinations of options for 100,000 rows: faster, less memory,
    and far fewer objects for the garbage collector; the frames are read-only, as
    ``prepared._share_repeats``)."""
    lengths = pc.list_value_length(values).fill_null(0).to_numpy(zero_copy_only=False)
    items = pc.list_flatten(values).dictionary_encode()
    distinct = [*items.dictionary.to_pylist(), None]  # None: a missing item
    at = items.indices.fill_null(len(distinct) - 1).to_numpy(zero_copy_only=False)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    keys = _list_keys(at, starts, lengths, len(distinct))
    if keys is None:  # too many items or options for one number per list
        flat = np.array(distinct, dtype=object)[at].tolist()
        return [flat[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    shared = np.empty(len(first), dtype=object)
    for n, row in enumerate(first.tolist()):  # one list per distinct list
        shared[n] = [distinct[i] for i in at[starts[row] : ends[row]].tolist()]
    out: list[list[Any]] = shared[inverse.reshape(-1)].tolist()
    return out


def _list_keys(
    at: np.ndarray, starts: np.ndarray, lengths: np.ndarray, n_items: int
) -> np.ndarray | None:
    """One number per row that equals another row's exactly when their lists of items
    (``at``: item numbers below ``n_items``, row after row) are equal: the list's digits
    in base ``n_items + 1`` (none is 0, so lists of other lengths differ); None when it
    may not fit in 63 bits."""
    longest = int(lengths.max()) if len(lengths) else 0
    base = n_items + 1
    if longest * math.log2(base) >= 62:
        return None
    digits = (at + 1).astype(np.int64)
    place = np.arange(len(at), dtype=np.int64) - np.repeat(starts, lengths)
    sums = np.concatenate([[0], np.cumsum(digits * base**place)])
    # each row's sum is below 2**62; the running sum may wrap around, not the differences
    ends = starts + lengths
    keys: np.ndarray = sums[ends] - sums[starts]
    return keys


def _arrow_multi_select(
    values: pa.ListArray, options: Sequence[str]
) -> tuple[list[list[Any]], list[int]]:
    """(each row's list, the rows ``_odd_items`` finds odd) of a multiple select kept in
    Arrow: the items checked against the options by Arrow, not row by row."""
    flat = pc.list_flatten(values)
    unknown = pc.invert(pc.is_in(flat, value_set=pa.array(list(options), pa.string())))
    odd = pc.and_kleene(pc.is_valid(flat), unknown)  # a missing item is not odd
    rows = pc.list_parent_indices(values).filter(odd.fill_null(False))
    return _python_lists(values), [int(i) for i in np.unique(rows.to_numpy())]


def _first_links(col: pd.Series) -> pd.Series:
    """The first record id of each row's links (``str``; NA when none)."""
    lists = arrow_lists(col)
    if lists is None:
        firsts = [v[0] if isinstance(v, list) and v else None for v in col.tolist()]
        return pd.Series(firsts, dtype="str")
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    starts = np.cumsum(lengths) - lengths
    at = pa.array(starts, mask=lengths == 0)
    return pd.Series(pc.list_flatten(lists).take(at).to_pandas(), dtype="str")


def _odd_items(value: object, known: frozenset[str]) -> bool:
    """Whether a multi-select value is something else than a list of known options (a
    missing item, None or NaN, is not one)."""
    if not isinstance(value, list):
        return not _missing(value)
    try:
        if known.issuperset(value):
            return False
    except TypeError:  # an unhashable item: not an option
        pass
    return not all(_missing(x) or (isinstance(x, str) and x in known) for x in value)


def _parse_numbers(
    frame: pd.DataFrame, keys: Sequence[str], mapping: FieldMapping, issues: _Issues, max_count: int
) -> None:
    for key in keys:
        col = frame[key]
        label = mapping.airtable_name(key)
        values, text_rows = _numeric_column(col)
        for i in text_rows:
            raw = col.iat[i]
            parsed = parsing.parse_number(raw)
            if parsed is None:
                issues.flags[i].append(_msg("flag.unreadable_number", field=label, value=raw))
            else:
                values[i] = parsed
                issues.flags[i].append(
                    _msg("flag.number_text", field=label, value=raw, number=_fmt(parsed))
                )
        for i in _where(values < 0):
            issues.reasons[i].append(
                _msg("reason.negative_count", field=label, value=_fmt(values[i]))
            )
        if key not in ("latitude", "longitude"):
            for i in _where(values > max_count):
                issues.reasons[i].append(
                    _msg("reason.absurd_count", field=label, value=_fmt(values[i]), max=max_count)
                )
        frame[key] = values


def _where(mask: np.ndarray) -> list[int]:
    """Row positions where a boolean array is true, as Python ints."""
    return [int(i) for i in np.flatnonzero(mask)]


def _is_plain_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number).replace(".", ",")


def _parse_coordinates(frame: pd.DataFrame) -> None:
    """Turn the latitude/longitude columns to floats (text with a decimal comma is read)."""
    for key in ("latitude", "longitude"):
        col = frame[key]
        values, text_rows = _numeric_column(col)
        for i in text_rows:
            parsed = parsing.parse_number(str(col.iat[i]).replace(",", "."))
            values[i] = np.nan if parsed is None else parsed
        frame[key] = values


def _resolve_positions(
    frame: pd.DataFrame,
    site_coords: Mapping[str, tuple[float, float]],
    issues: _Issues,
    bounds: tuple[float, float, float, float],
) -> None:
    """Position from the passage, else its Site (one of ``site_coords``), else its
    Localisation text."""
    lat = frame["latitude"].to_numpy(dtype=float, copy=True)
    lon = frame["longitude"].to_numpy(dtype=float, copy=True)
    source = np.full(len(frame), None, dtype=object)
    has_pair = ~np.isnan(lat) & ~np.isnan(lon)
    lat_min, lat_max, lon_min, lon_max = bounds
    inside = has_pair & (lat >= lat_min) & (lat <= lat_max) & (lon >= lon_min) & (lon <= lon_max)
    source[inside] = "passage"
    # the usual case of the others, no position at all and a known Site: its position,
    # nothing flagged (found for all at once; the rest one by one below)
    keys = pa.array(list(site_coords), pa.string())
    known = pc.index_in(pa.array(frame["site_id"]), value_set=keys)
    known = known.fill_null(-1).to_numpy(zero_copy_only=False)
    from_site = ~inside & ~has_pair & (known >= 0)
    if from_site.any():
        pairs = np.array(list(site_coords.values()), dtype=float).reshape(-1, 2)
        lat[from_site], lon[from_site] = pairs[known[from_site]].T
        source[from_site] = "site"
    rest = np.flatnonzero(~inside & ~from_site)
    texts = frame["location_text"]
    site_ids = dict(zip(rest.tolist(), frame["site_id"].iloc[rest].to_list(), strict=True))
    for i in rest.tolist():
        sid = None if pd.isna(site_ids[i]) else str(site_ids[i])
        if sid is not None and sid not in site_coords:
            issues.flags[i].append(_msg("flag.unknown_site"))
        rejected: Issue | None = None
        if has_pair[i]:
            a, b, swapped = parsing.fix_swapped(lat[i], lon[i], bounds)
            if swapped:
                lat[i], lon[i], source[i] = a, b, "passage"
                issues.flags[i].append(_msg("flag.swapped"))
                continue
            key = "reason.zero_position" if lat[i] == 0 and lon[i] == 0 else "reason.out_of_area"
            rejected = _msg(key, lat=_fmt(lat[i]), lon=_fmt(lon[i]))
        if sid is not None and sid in site_coords:
            lat[i], lon[i] = site_coords[sid]
            source[i] = "site"
            if rejected:
                issues.flags[i].append(rejected)
            continue
        text = texts.iat[i]
        found = parsing.parse_latlon_text(text)
        if found is not None:
            a, b, swapped = parsing.fix_swapped(found.lat, found.lon, bounds)
            if parsing.in_area(a, b, bounds):
                lat[i], lon[i], source[i] = a, b, "localisation"
                issues.flags[i].append(_msg("flag.position_from_text", value=text))
                if swapped:
                    issues.flags[i].append(_msg("flag.swapped"))
                continue
            rejected = rejected or _msg("reason.out_of_area", lat=_fmt(a), lon=_fmt(b))
        issues.reasons[i].append(rejected or _msg("reason.no_position"))
        lat[i] = lon[i] = np.nan
    frame["latitude"] = lat
    frame["longitude"] = lon
    frame["position_source"] = pd.Series(source, index=frame.index, dtype="str")
    frame["site_id"] = frame["site_id"].astype("str")


def _parse_dates(
    col: pd.Series, issues: _Issues, tz: str, now: pd.Timestamp | None, first: dt.date
) -> pd.Series:
    """Airtable dateTime strings (UTC) or plain dates (local) → aware local timestamps;
    a date before ``first`` (local day) is quarantined."""
    text = col.astype("str")
    has_time = text.str.contains("T", regex=False, na=False)
    result = utc_times(text.where(has_time)).dt.tz_convert(tz)
    date_only = ~has_time & col.notna()
    if date_only.any():
        # Airtable date fields send ISO dates; text fields typed in France hold DD/MM/YYYY.
        written = written_times(text.where(date_only))
        local = pd.to_datetime(written, format="ISO8601", errors="coerce")
        french = pd.to_datetime(written.where(local.isna()), format="%d/%m/%Y", errors="coerce")
        local = local.fillna(french)
        local = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        result = result.where(~date_only, local)
    missing = col.isna().to_numpy()
    unreadable = result.isna().to_numpy() & ~missing
    issues.quarantine(_where(missing), lambda i: _msg("reason.no_date"))
    issues.quarantine(_where(unreadable), lambda i: _msg("reason.bad_date", value=col.iat[i]))
    too_old = (result < pd.Timestamp(first).tz_localize(tz)).fillna(False).to_numpy()
    shown_first = first.strftime("%d/%m/%Y")
    issues.quarantine(
        _where(too_old), lambda i: _msg("reason.old_date", value=col.iat[i], first=shown_first)
    )
    if now is not None:
        future = (result > now + pd.Timedelta(minutes=10)).fillna(False).to_numpy()
        issues.flag(_where(future), lambda i: _msg("flag.future_date"))
    return result.dt.as_unit(TIME_UNIT)


def _scrub(col: pd.Series) -> pd.Series:
    """Free text with e-mails and phone numbers replaced; the regexes only run on texts
    that hold an @ or enough digits to be a phone number, and every test on each
    distinct text once (a team's name, a place, a comment: the same few texts on
    thousands of rows; the digits were counted row by row)."""
    text = col.astype("str")
    values = pa.array(text, from_pandas=True, type=pa.string())
    coded = values.dictionary_encode()
    distinct = coded.dictionary
    suspect = pc.or_(
        pc.match_substring(distinct, "@"),
        pc.greater_equal(pc.count_substring_regex(distinct, r"\p{Nd}"), 9),
    ).to_numpy(zero_copy_only=False)
    if not suspect.any():
        return text
    phone, email = t("pii.phone"), t("pii.email")
    texts = distinct.to_pylist()
    for i in np.flatnonzero(suspect).tolist():
        texts[i] = parsing.scrub_pii(texts[i], phone, email)
    scrubbed = pa.array(texts, pa.string()).take(coded.indices)
    return pd.Series(pd.array(scrubbed, dtype=text.dtype), index=text.index, name=text.name)


def _scrub_free_text(frame: pd.DataFrame, table: Table) -> None:
    """Scrub every free-text field of the table (the schema says which), so that no
    phone number or e-mail typed anywhere reaches a page, a tooltip or an export."""
    for key in table.keys_of(FieldType.TEXT, FieldType.LONG_TEXT):
        frame[key] = _scrub(frame[key])


def _created(raw: pd.Series, tz: str) -> pd.Series:
    # one unit whatever the rows: pandas parses no row, or none readable, in seconds,
    # and a frame rebuilt from such rows must equal one updated from others
    return utc_times(raw).dt.tz_convert(tz).dt.as_unit(TIME_UNIT)


# A date-time as Airtable's API writes it: UTC, at most microseconds.
_API_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$"

# Words pandas (through numpy) reads as the instant of reading: a record's date must
# be written in it, so these are unreadable dates, never "the day the page loaded".
RELATIVE_TIME_WORDS: Final = ("now", "today")


def written_times(text: pd.Series) -> pd.Series:
    """The texts with the words pandas would read as the current instant made missing."""
    return text.mask(text.isin(RELATIVE_TIME_WORDS))


def utc_times(text: pd.Series) -> pd.Series:
    """``pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")`` in
    microseconds: the texts written as the API writes date-times are read by Arrow
    (several times faster at 100,000 rows), the others by pandas; an impossible day
    (30 February) stops Arrow, and then pandas reads them all. "now" and "today" are
    missing, not the current instant (``written_times``: only the texts pandas reads can
    be these words)."""
    values = pa.array(text, from_pandas=True, type=pa.string())
    api = pc.match_substring_regex(values, _API_TIME).fill_null(False)
    try:
        read = pc.cast(pc.if_else(api, values, None), pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        read = None
    others = ~api.to_numpy(zero_copy_only=False) & text.notna().to_numpy()
    if read is None or others.all():
        parsed = pd.to_datetime(written_times(text), utc=True, format="ISO8601", errors="coerce")
        return parsed.dt.as_unit(TIME_UNIT)
    out = read.to_pandas().set_axis(text.index)
    if others.any():
        written = written_times(text[others])
        parsed = pd.to_datetime(written, utc=True, format="ISO8601", errors="coerce")
        out[others] = parsed.dt.as_unit(TIME_UNIT)
    return out


def _quarantine_frame(
    ids: pd.Series,
    issues: _Issues,
    table_key: str,
    options: NormaliseOptions,
    created: pd.Series,
) -> pd.DataFrame:
    rows = sorted(issues.reasons)
    table_name = options.table_names.get(table_key, table_key)
    return pd.DataFrame(
        {
            "record_id": pd.Series(ids.iloc[rows].to_list(), dtype="str"),
            "table": pd.Series([table_key] * len(rows), dtype="str"),
            "reason_code": pd.Series([issues.reasons[i][0][0] for i in rows], dtype="str"),
            "reason_codes": pd.Series(
                [[key for key, _ in issues.reasons[i]] for i in rows], dtype=object
            ),
            "reason_params": pd.Series(
                [[values for _, values in issues.reasons[i]] for i in rows], dtype=object
            ),
            "created_time": created.iloc[rows].reset_index(drop=True),
            "airtable_url": pd.Series(
                [
                    AIRTABLE_RECORD_URL.format(
                        base=options.base_id, table=table_name, record=record
                    )
                    if options.base_id
                    else None
                    for record in ids.iloc[rows].to_list()
                ],
                dtype="str",
            ),
        },
        columns=QUARANTINE_COLUMNS,
    )


def normalise_sites(
    records: Sequence[Mapping[str, Any]], options: NormaliseOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sites records → (sites frame, quarantined sites)."""
    raw = Raw.of(records, options.sites_map)
    mapping = options.sites_map
    frame = raw.fields.copy(deep=False)
    issues = _Issues(len(raw))
    _parse_coordinates(frame)
    lat = frame["latitude"].to_numpy(dtype=float, copy=True)
    lon = frame["longitude"].to_numpy(dtype=float, copy=True)
    for i in range(len(frame)):
        if np.isnan(lat[i]) or np.isnan(lon[i]):
            issues.reasons[i].append(_msg("reason.site_no_position"))
            continue
        a, b, swapped = parsing.fix_swapped(lat[i], lon[i], options.area_bounds)
        if swapped:
            lat[i], lon[i] = a, b
            issues.flags[i].append(_msg("flag.swapped"))
        elif not parsing.in_area(a, b, options.area_bounds):
            issues.reasons[i].append(_msg("reason.out_of_area", lat=_fmt(a), lon=_fmt(b)))
    frame["latitude"], frame["longitude"] = lat, lon
    _parse_selects(frame, schema.SITES, mapping, issues)
    _scrub_free_text(frame, schema.SITES)
    return _split(frame, raw, issues, "sites", SITE_COLUMNS, options)


def normalise_passages(
    records: Sequence[Mapping[str, Any]], sites: pd.DataFrame, options: NormaliseOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Passages records → (passages frame, quarantined passages)."""
    return normalise_raw_passages(Raw.of(records, options.passages_map), sites, options)


def normalise_raw_passages(
    raw: Raw, sites: pd.DataFrame, options: NormaliseOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``normalise_passages`` of records already read (``Raw``)."""
    mapping = options.passages_map
    frame = raw.fields.copy(deep=False)
    issues = _Issues(len(raw))
    for i in _where(raw.empty):
        issues.reasons[i].append(_msg("reason.empty_record"))
    frame["date"] = _parse_dates(
        frame["date"], issues, options.timezone, options.now, options.first_date
    )
    frame["site_id"] = _first_links(frame["site"])
    count_keys = schema.PASSAGES.keys_of(FieldType.NUMBER)
    count_keys = [k for k in count_keys if k not in ("latitude", "longitude")]
    _parse_numbers(frame, count_keys, mapping, issues, options.max_count)
    _parse_coordinates(frame)
    site_coords = {
        rid: (la, lo)
        for rid, la, lo in zip(
            sites["record_id"], sites["latitude"], sites["longitude"], strict=True
        )
    }
    _resolve_positions(frame, site_coords, issues, options.area_bounds)
    _parse_selects(frame, schema.PASSAGES, mapping, issues)
    _flag_subcounts(frame, mapping, issues)
    # After the positions: coordinates are read from Localisation before it is scrubbed.
    _scrub_free_text(frame, schema.PASSAGES)
    frame["day"] = frame["date"].dt.tz_localize(None).dt.normalize()
    return _split(frame, raw, issues, "passages", PASSAGE_COLUMNS, options)


def _split(
    frame: pd.DataFrame,
    raw: Raw,
    issues: _Issues,
    table_key: str,
    columns: Sequence[str],
    options: NormaliseOptions,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ids, creation times, flags and inferred places; split kept rows from the
    quarantine."""
    if "arrondissement_inferred" in columns:
        _infer_arrondissements(frame)
    created = _created(raw.created, options.timezone)
    frame.insert(0, "record_id", raw.ids.reset_index(drop=True))
    frame.insert(1, "created_time", created)
    keys, params = issues.flag_columns()
    frame["flag_codes"] = pd.Series(keys, dtype=object)
    frame["flag_params"] = pd.Series(params, dtype=object)
    kept = frame.loc[issues.kept(), list(columns)].reset_index(drop=True)
    return kept, _quarantine_frame(raw.ids, issues, table_key, options, created)


def _infer_arrondissements(frame: pd.DataFrame) -> None:
    """An empty or "Autre" arrondissement replaced by the one of the position, when the
    position lies in Paris or the inner suburbs (``arrondissement_inferred`` true)."""
    recorded = frame["arrondissement"]
    unknown = (recorded.isna() | recorded.eq(OTHER)).to_numpy(dtype=bool, na_value=True)
    inferred = np.zeros(len(frame), dtype=bool)
    rows = np.flatnonzero(unknown & frame["latitude"].notna().to_numpy())
    if len(rows):
        found = boundaries.place_of(frame["latitude"].iloc[rows], frame["longitude"].iloc[rows])
        hit = found.notna().to_numpy()
        if recorded.dtype == "str":  # only the rows inferred set again
            out = recorded.copy()
            out.iloc[rows[hit]] = found.to_numpy(dtype=object)[hit]
        else:
            values = recorded.astype(object).to_numpy(copy=True)
            values[rows[hit]] = found.to_numpy(dtype=object)[hit]
            out = pd.Series(values, index=frame.index, dtype="str")
        frame["arrondissement"] = out
        inferred[rows[hit]] = True
    frame["arrondissement_inferred"] = inferred


def _flag_subcounts(frame: pd.DataFrame, mapping: FieldMapping, issues: _Issues) -> None:
    total = frame["people"].to_numpy(dtype=float)
    for key in ("single_men", "single_women", "children", "unaccompanied_minors"):
        sub = frame[key].to_numpy(dtype=float)
        label = mapping.airtable_name(key)
        for i in _where(sub > total):  # NaN compares False: only known totals
            issues.flags[i].append(
                _msg("flag.subcount", field=label, sub=_fmt(sub[i]), total=_fmt(total[i]))
            )


def normalise(
    sites_records: Sequence[Mapping[str, Any]],
    passages_records: Sequence[Mapping[str, Any]],
    options: NormaliseOptions,
) -> Normalised:
    """Normalise both tables; every record ends in exactly one of the three frames."""
    sites, q_sites = normalise_sites(sites_records, options)
    passages, q_passages = normalise_passages(passages_records, sites, options)
    quarantine = pd.concat([q_sites, q_passages], ignore_index=True)
    return Normalised(passages=passages, sites=sites, quarantine=quarantine)


def today_in(tz: str) -> dt.date:
    """Today's date in the given time zone."""
    return pd.Timestamp.now(tz=tz).date()
