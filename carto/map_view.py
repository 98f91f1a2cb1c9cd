"""The camp map: one point per camp at its latest state, as a pydeck Deck, its legends,
the list of the camps it shows and the card of the camp a person taps.

Tooltips. The markup is in the deck's tooltip template (``TOOLTIP``); each point only
carries plain texts in fields (``title``, ``details``). Streamlit (1.67 and later)
HTML-escapes every field value it puts into an ``html`` tooltip template, in the
browser (``deck_gl_json_chart``'s frontend): a value is escaped there, exactly once, so
it is never escaped here (escaping it here too showed ``<b>…</b>`` and ``d&#x27;…`` as
text). The lines of ``details`` are separated by "\\n", shown as line breaks by the
tooltip's ``white-space: pre-line``. A "{" in a value is followed by a word joiner, so
that a name such as "{details}" cannot be taken for a field of the template.
Every layer that can be picked has both fields (a missing one would show as
"{title}").

Counts come protected by the role's policy (``carto.ui.data``); one it suppressed is
shown "<5". The card is markdown built on the server from the camp's id alone
(``camp_card``): never from what the browser sends back.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk

from carto import privacy
from carto.analytics.figures import Period
from carto.analytics.zones import zone_size
from carto.filters import PUBLIC_COUNTS, PUBLICS, public_count
from carto.i18n import format_date, format_days_ago, format_decimal, format_int, plural_form, t, t_n
from carto.text import WORD_JOINER, escape_markdown

PARIS_VIEW = pdk.ViewState(latitude=48.875, longitude=2.365, zoom=11.3, pitch=0)

RGBA = tuple[int, int, int, int]
# Days since the last visit → colour (RGBA): recent green, then yellow, orange, red.
FRESH: RGBA = (46, 160, 67, 210)
RECENT: RGBA = (240, 200, 40, 210)
LATE: RGBA = (240, 130, 30, 220)
FORGOTTEN: RGBA = (220, 50, 50, 230)
POINT_COLUMNS = ["latitude", "longitude", "radius", "color", "title", "details", "camp_id"]
TOOLTIP_FIELDS = ("title", "details")
# The tooltip: markup here only; the fields' values are escaped by Streamlit. Its width
# never exceeds the screen's; on a phone it is pinned across the top of the map
# (``PHONE_CSS``) rather than running off the screen's edge.
TOOLTIP: dict[str, Any] = {
    "html": "<b>{title}</b><br/>{details}",
    "style": {
        "fontSize": "14px",
        "maxWidth": "min(280px, calc(100vw - 48px))",
        "whiteSpace": "pre-line",
        "overflowWrap": "anywhere",
    },
}
# Streamlit columns stack under 640 px: there, deck.gl's tooltip (class "deck-tooltip",
# placed at the pointer by an inline transform) is pinned across the top of the map.
PHONE_CSS = (
    "<style>@media (max-width: 640px) { .deck-tooltip { transform: none !important; "
    "left: 8px !important; right: 8px !important; top: 8px !important; "
    "max-width: none !important; } }</style>"
)


@dataclass(frozen=True)
class Bucket:
    """A colour of the camp points: camps last visited up to ``up_to`` days ago (None:
    any longer)."""

    up_to: int | None
    colour: RGBA
    label: str


def _days_ago(low: int, high: int) -> str:
    if low == high:
        return t_n("map.legend.days", low)
    return t("map.legend.range", low=low, high=high)


def visit_buckets(gap_days: int) -> list[Bucket]:
    """The point colours for a coverage-gap threshold of ``gap_days``: visited today or
    yesterday, up to the threshold, beyond it (a coverage gap) up to twice the
    threshold, and beyond that."""
    gap = max(1, int(gap_days))
    buckets = [Bucket(1, FRESH, t("map.legend.fresh"))]
    if gap >= 2:
        buckets.append(Bucket(gap, RECENT, _days_ago(2, gap)))
    buckets.append(Bucket(2 * gap, LATE, _days_ago(max(gap + 1, 2), 2 * gap)))
    buckets.append(Bucket(None, FORGOTTEN, t_n("map.legend.over", 2 * gap)))
    return buckets


def visit_colour(days_since: pd.Series, gap_days: int) -> pd.Series:
    """The RGBA colour of each camp from the days since its last visit."""
    buckets = visit_buckets(gap_days)
    d = days_since.to_numpy()
    bounded = [b for b in buckets if b.up_to is not None]
    choice = np.select([d <= b.up_to for b in bounded], list(range(len(bounded))), len(bounded))
    palette = [list(b.colour) for b in buckets]
    return pd.Series([palette[c] for c in choice], index=days_since.index, dtype=object)


def legend(gap_days: int) -> list[tuple[RGBA, str]]:
    """(colour, French label) pairs explaining the point colours."""
    return [(b.colour, b.label) for b in visit_buckets(gap_days)]


def counted_what(publics: Sequence[str] = (), n: float | str | None = None) -> str:
    """What the points are sized by, in words: "personnes", or the chosen publics
    ("mineurs non accompagnés", "familles + femmes seules"); in the singular when they
    follow a count ``n`` below 2 ("1 personne"), a number or a label as shown."""
    form = "other" if n is None else plural_form(n)
    chosen = [p for p in PUBLICS if p in publics] or ["people"]
    return " + ".join(t(f"map.count.{p}.{form}") for p in chosen)


# ------------------------------------------------------------------ camp texts

# A camp's row of ``states``: a Series, or a plain record (``to_dict("records")``).
Row = pd.Series | Mapping[Hashable, Any]


def _flagged(row: Row, column: str) -> bool:
    flag = row.get(column + privacy.SUPPRESSED_SUFFIX)
    return isinstance(flag, bool | np.bool_) and bool(flag)


def _facts(row: Row, small: str) -> list[tuple[str, str]]:
    """(label, value) lines about a camp (its name aside); values hold typed text as
    typed (the last association), counts the role may not see as ``small``."""
    last = f"{format_date(row['last_visit'])} ({format_days_ago(row['days_since_visit'])})"
    facts = [(t("map.tooltip.last_visit"), last)]
    by = row["last_association"]
    if isinstance(by, str) and by:
        facts.append((t("map.tooltip.by"), by))
    people = small if _flagged(row, "people") else format_int(row["people"])
    facts.append((t("map.tooltip.people"), people))
    for key, col in (
        ("map.tooltip.minors", "unaccompanied_minors"),
        ("map.tooltip.families", "families"),
        ("map.tooltip.women", "single_women"),
    ):
        value = row.get(col)
        if _flagged(row, col):
            facts.append((t(key), small))
        elif value is not None and pd.notna(value) and value > 0:
            facts.append((t(key), format_int(value)))
    return facts


def _plain(value: object) -> str:
    """A text for a tooltip field: on one line, no "{" that reads as a field name."""
    return " ".join(str(value).split()).replace("{", "{" + WORD_JOINER)


def _tooltip_fields(row: Row, small: str) -> tuple[str, str]:
    details = "\n".join(f"{label} : {_plain(value)}" for label, value in _facts(row, small))
    return _plain(row["name"]), details


def selected_camp_id(selection: Any) -> str | None:
    """The camp id in a map selection (``st.pydeck_chart``'s ``selection``, sent by the
    browser: anything may be in it); None when there is none."""
    objects = selection.get("objects") if isinstance(selection, Mapping) else None
    camps = objects.get("camps") if isinstance(objects, Mapping) else None
    first = camps[0] if isinstance(camps, list) and camps else None
    camp_id = first.get("camp_id") if isinstance(first, Mapping) else None
    return camp_id if isinstance(camp_id, str) else None


def camp_card(
    states: pd.DataFrame, camp_id: str | None, policy: privacy.Policy = privacy.FULL
) -> str | None:
    """The card of a tapped camp, in markdown: what its tooltip says, from ``states``
    (the role's view, the one the map was drawn from). None unless ``camp_id`` is an
    active camp of it, i.e. one the map shows this person. Every typed text is escaped
    (``carto.text.escape_markdown``); a count the role's ``policy`` suppressed reads
    "<5"."""
    if camp_id is None or states.empty:
        return None
    found = states[states["active"] & (states["camp_id"] == camp_id)]
    if found.empty:
        return None
    row = found.iloc[0]
    small = privacy.small_count_label(policy.small_count_threshold)
    lines = [f"**{escape_markdown(row['name'])}**"]
    lines += [f"{label} : {escape_markdown(value)}" for label, value in _facts(row, small)]
    return "  \n".join(lines)  # markdown line breaks


# ------------------------------------------------------------------ layers


def camp_points(
    states: pd.DataFrame,
    gap_days: int,
    policy: privacy.Policy = privacy.FULL,
    publics: Sequence[str] = (),
) -> pd.DataFrame:
    """The map payload: only active camps, only the columns the browser needs. Points
    are sized by the camp's people, or by the count of the chosen ``publics``."""
    active = states[states["active"]]
    if active.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in POINT_COLUMNS})
    size = public_count(active, publics).clip(lower=0)
    small = privacy.small_count_label(policy.small_count_threshold)
    # plain records: a Series per row (``iterrows``) cost 0.4 ms a camp, hundreds at 100k
    fields = [_tooltip_fields(row, small) for row in active.to_dict("records")]
    return pd.DataFrame(
        {
            "latitude": active["latitude"].round(6),
            "longitude": active["longitude"].round(6),
            "radius": (25 + 14 * np.sqrt(size)).round(1),
            "color": visit_colour(active["days_since_visit"], gap_days),
            "title": pd.Series([f[0] for f in fields], index=active.index, dtype=object),
            "details": pd.Series([f[1] for f in fields], index=active.index, dtype=object),
            "camp_id": shown_camp_ids(active["camp_id"], policy),
        }
    ).reset_index(drop=True)


def shown_camp_ids(camp_ids: pd.Series, policy: privacy.Policy) -> pd.Series:
    """Camp ids as the browser gets them: a role without free text (a partner) gets
    ``privacy.opaque_id`` stand-ins, never the Airtable record ids (the map's payload is
    readable in the browser, and the ids open the records in the base)."""
    ids = camp_ids.astype(object)
    if policy.free_text:
        return ids
    return privacy.hide_record_ids(ids.to_frame("camp_id"))["camp_id"].astype(object)


def camp_of_selection(
    states: pd.DataFrame, shown_id: str | None, policy: privacy.Policy = privacy.FULL
) -> str | None:
    """The camp id of ``states`` whose map point carries ``shown_id`` (``shown_camp_ids``:
    what the browser sends back); None when no camp of the view has it."""
    if shown_id is None or states.empty:
        return None
    match = states.loc[shown_camp_ids(states["camp_id"], policy) == shown_id, "camp_id"]
    return str(match.iloc[0]) if not match.empty else None


GAP_RING: RGBA = (255, 70, 70, 255)
EVACUATION: RGBA = (170, 90, 230, 230)
ZONE_LOW = (255, 200, 90)
ZONE_HIGH = (230, 60, 30)
ZONE_ALPHA = 150


def gap_points(
    points: pd.DataFrame,
    states: pd.DataFrame,
    gap_days: int,
    policy: privacy.Policy = privacy.FULL,
) -> pd.DataFrame:
    """The camps not visited for more than ``gap_days`` days, to ring on the map
    (``points`` of ``camp_points`` under the same ``policy``)."""
    late = states.loc[states["active"] & (states["days_since_visit"] > gap_days), "camp_id"]
    return points[points["camp_id"].isin(shown_camp_ids(late, policy))].reset_index(drop=True)


def zone_cells(
    zones: pd.DataFrame, policy: privacy.Policy = privacy.FULL, publics: Sequence[str] = ()
) -> pd.DataFrame:
    """Density by H3 zone: people (or the chosen ``publics``, which the ``people`` column
    then counts) per hexagon, coloured from light to deep."""
    if zones.empty:
        columns = ("zone", "color", *TOOLTIP_FIELDS)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    people = zones["people"].fillna(0).clip(lower=0)
    share = (people / max(float(people.max()), 1.0)).to_numpy()
    colours = [
        [round(lo + (hi - lo) * s) for lo, hi in zip(ZONE_LOW, ZONE_HIGH, strict=True)]
        + [ZONE_ALPHA]
        for s in share
    ]
    return pd.DataFrame(
        {
            "zone": zones["zone"].astype(object),
            "color": colours,
            "title": [
                t("map.zone.people", people=p, what=counted_what(publics, p))
                for p in privacy.count_labels(zones, "people", policy)
            ],
            "details": [
                t_n("count.camps", c) for c in privacy.count_labels(zones, "camps", policy)
            ],
        }
    )


def evacuation_period(period: Period, day: pd.Timestamp | Any) -> Period:
    """The evacuations the map shows on ``day`` ("État au"): those of the days up to it,
    as many as the chosen ``period`` holds."""
    length = int((period.end - period.start).days) + 1
    return Period.last_days(pd.Timestamp(day).date(), max(length, 1))


def evacuation_points(events: pd.DataFrame, policy: privacy.Policy = privacy.FULL) -> pd.DataFrame:
    """One point per evacuation event: the camp's name, the date and the people."""
    if events.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("latitude", "longitude", *TOOLTIP_FIELDS)}
        )
    details = [
        t("map.evacuation", date=format_date(day), people=t_n("count.people", people))
        for day, people in zip(
            events["date"], privacy.count_labels(events, "people", policy), strict=True
        )
    ]
    return pd.DataFrame(
        {
            "latitude": events["latitude"].round(6),
            "longitude": events["longitude"].round(6),
            "title": [_plain(name) for name in events["name"]],
            "details": details,
        }
    )


def camp_deck(
    points: pd.DataFrame,
    *,
    gaps: pd.DataFrame | None = None,
    zones: pd.DataFrame | None = None,
    evacuations: pd.DataFrame | None = None,
    show_camps: bool = True,
) -> pdk.Deck:
    """A pydeck Deck over Paris: camps as scaled, coloured points, and the optional
    layers (density by zone, rings around camps not visited lately, evacuations)."""
    layers = []
    if zones is not None and not zones.empty:
        layers.append(
            pdk.Layer(
                "H3HexagonLayer",
                data=zones,
                id="zones",
                get_hexagon="zone",
                get_fill_color="color",
                extruded=False,
                stroked=False,
                pickable=True,
            )
        )
    if show_camps:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=points,
                id="camps",
                get_position="[longitude, latitude]",
                get_radius="radius",
                get_fill_color="color",
                get_line_color=[20, 20, 20, 200],
                line_width_min_pixels=1,
                stroked=True,
                radius_min_pixels=6,
                radius_max_pixels=45,
                pickable=True,
                auto_highlight=True,
            )
        )
    if gaps is not None and not gaps.empty:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=gaps[["latitude", "longitude", "radius"]],
                id="gaps",
                get_position="[longitude, latitude]",
                get_radius="radius",
                filled=False,
                stroked=True,
                get_line_color=list(GAP_RING),
                line_width_min_pixels=3,
                radius_min_pixels=11,
                radius_max_pixels=52,
            )
        )
    if evacuations is not None and not evacuations.empty:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=evacuations,
                id="evacuations",
                get_position="[longitude, latitude]",
                get_fill_color=list(EVACUATION),
                get_radius=60,
                radius_min_pixels=5,
                pickable=True,
            )
        )
    return pdk.Deck(
        layers=layers,
        initial_view_state=PARIS_VIEW,
        map_provider="carto",
        map_style=None,
        tooltip=TOOLTIP,
    )


# ------------------------------------------------------------------ legends


@dataclass(frozen=True)
class Swatch:
    """One line of a legend: a dot, a ring or a colour ramp, and its French label."""

    label: str
    colour: RGBA | None = None
    ring: RGBA | None = None
    ramp: tuple[RGBA, RGBA] | None = None


def _css(colour: RGBA) -> str:
    r, g, b, a = colour
    return f"rgba({r},{g},{b},{a / 255:.2f})"


def legend_html(swatches: Sequence[Swatch]) -> str:
    """The legend as HTML, drawn with ``unsafe_allow_html``: no record text in it, and
    every label escaped for HTML and markdown all the same (``escape_markdown``)."""
    base = "display:inline-block;vertical-align:middle;margin:0 0.35em 0 0.8em;"
    parts = []
    for s in swatches:
        if s.ramp is not None:
            low, high = s.ramp
            mark = (
                f"<span style='{base}width:3em;height:0.9em;border-radius:2px;"
                f"background:linear-gradient(to right,{_css(low)},{_css(high)})'></span>"
            )
        elif s.ring is not None:
            mark = (
                f"<span style='{base}width:0.8em;height:0.8em;border-radius:50%;"
                f"border:3px solid {_css(s.ring)}'></span>"
            )
        else:
            mark = (
                f"<span style='{base}width:0.9em;height:0.9em;border-radius:50%;"
                f"background:{_css(s.colour or FRESH)}'></span>"
            )
        label = escape_markdown(s.label)
        parts.append(f"<span style='display:inline-block;max-width:100%'>{mark}{label}</span>")
    return " ".join(parts)


def camp_legend(gap_days: int) -> list[Swatch]:
    """The colours of the camp points."""
    return [Swatch(label, colour=colour) for colour, label in legend(gap_days)]


def gap_legend(gap_days: int, camps: int) -> Swatch:
    """The ring around the coverage gaps, or that there is none."""
    if camps == 0:
        return Swatch(t_n("map.legend.no_gap", gap_days), ring=GAP_RING)
    return Swatch(t_n("map.legend.ring", gap_days), ring=GAP_RING)


def zone_legend(
    zones: pd.DataFrame, resolution: int, policy: privacy.Policy, publics: Sequence[str] = ()
) -> Swatch:
    """The colour ramp of the density layer: from 0 to the densest zone's count (of
    people, or of the chosen ``publics``)."""
    high = privacy.count(zones["people"].max() if not zones.empty else 0, policy)
    low_colour = (*ZONE_LOW, ZONE_ALPHA)
    high_colour = (*ZONE_HIGH, ZONE_ALPHA)
    side = f"{format_decimal(zone_size(resolution)[0])} km"
    what = counted_what(publics, high.label)
    label = t("map.legend.zones", side=side, high=high.label, what=what)
    return Swatch(label, ramp=(low_colour, high_colour))


def evacuation_legend(period: Period, events: int) -> Swatch:
    """What the evacuation points are, and the days they cover (or that there is none)."""
    start, end = format_date(period.start), format_date(period.end)
    if events == 0:
        return Swatch(t("map.legend.no_evacuation", start=start, end=end), colour=EVACUATION)
    return Swatch(t("map.legend.evacuations", start=start, end=end), colour=EVACUATION)


# ------------------------------------------------------------------ camp list


def camp_list(
    states: pd.DataFrame,
    alerts: pd.DataFrame,
    gap_days: int,
    policy: privacy.Policy = privacy.FULL,
    publics: Sequence[str] = (),
) -> pd.DataFrame:
    """The camps the map shows (the active camps of ``states``), most forgotten first:
    name, days since the last passage in words, people (and the chosen publics' counts)
    as the role may see them, and alerts: "À couvrir" beyond ``gap_days`` days without
    a passage, and the camp's protection alerts (``alerts``: ``carto.analytics.alerts``).
    French column headers; every cell is text as typed or as formatted."""
    active = states[states["active"]].sort_values(
        ["days_since_visit", "name", "camp_id"], ascending=[False, True, True]
    )
    reasons = {} if alerts.empty else dict(zip(alerts["camp_id"], alerts["reasons"], strict=True))
    columns: dict[str, list[str]] = {
        t("map.list.camp"): active["name"].astype("str").tolist(),
        t("map.list.last"): [format_days_ago(d) for d in active["days_since_visit"]],
        t("map.list.people"): privacy.count_labels(active, "people", policy).tolist(),
    }
    for public in (p for p in PUBLICS if p in publics):
        columns[t(f"filter.public.{public}")] = privacy.count_labels(
            active, PUBLIC_COUNTS[public], policy
        ).tolist()
    columns[t("map.list.alerts")] = [
        ", ".join(
            ([t("map.list.to_cover")] if days > gap_days else [])
            + [t(f"alert.reason.{code}") for code in reasons.get(camp, [])]
        )
        for camp, days in zip(active["camp_id"], active["days_since_visit"], strict=True)
    ]
    return pd.DataFrame(columns, dtype="str")
