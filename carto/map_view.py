"""The camp map: one point per camp at its latest state, as a pydeck Deck, and the card
of the camp a person taps.

deck.gl inserts tooltip values into HTML as they are, so every text that a user typed is
HTML-escaped here, before it reaches the browser. Counts come protected by the role's
policy (``carto.ui.data``); one it suppressed is shown "<5".
The card is markdown built on the server from the camp's id alone (``camp_card``):
never from what the browser sends back.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk

from carto import privacy
from carto.i18n import format_date, format_days_ago, format_int, t, t_n
from carto.text import escape_markdown

PARIS_VIEW = pdk.ViewState(latitude=48.875, longitude=2.365, zoom=11.3, pitch=0)

# Days since the last visit → colour (RGBA): recent green, then yellow, orange, red.
FRESH = (46, 160, 67, 210)
RECENT = (240, 200, 40, 210)
LATE = (240, 130, 30, 220)
FORGOTTEN = (220, 50, 50, 230)
POINT_COLUMNS = ["latitude", "longitude", "radius", "color", "tooltip_html", "camp_id"]


def visit_colour(days_since: pd.Series, gap_days: int) -> pd.Series:
    """The RGBA colour of each camp from the days since its last visit."""
    d = days_since.to_numpy()
    choice = np.select([d <= 1, d <= gap_days, d <= 7], [0, 1, 2], default=3)
    palette = [list(FRESH), list(RECENT), list(LATE), list(FORGOTTEN)]
    return pd.Series([palette[c] for c in choice], index=days_since.index, dtype=object)


def legend(gap_days: int) -> list[tuple[tuple[int, int, int, int], str]]:
    """(colour, French label) pairs explaining the point colours."""
    return [
        (FRESH, t("map.legend.0")),
        (RECENT, t("map.legend.1", gap=gap_days)),
        (LATE, t("map.legend.2", gap_plus=gap_days + 1)),
        (FORGOTTEN, t("map.legend.3")),
    ]


def _tooltip(row: pd.Series, small: str) -> str:
    lines = [f"<b>{html.escape(str(row['name']))}</b>"]
    last = row["last_visit"]
    when = format_date(last) + " (" + format_days_ago(row["days_since_visit"]) + ")"
    by = row["last_association"]
    lines.append(f"{t('map.tooltip.last_visit')} : {html.escape(when)}")
    if isinstance(by, str) and by:
        lines.append(f"{t('map.tooltip.by')} : {html.escape(by)}")
    flag = row.get("people" + privacy.SUPPRESSED_SUFFIX)
    people = small if isinstance(flag, (bool, np.bool_)) and flag else None
    lines.append(f"{t('map.tooltip.people')} : {people or format_int(row['people'])}")
    for key, col in (
        ("map.tooltip.minors", "unaccompanied_minors"),
        ("map.tooltip.families", "families"),
    ):
        value = row[col]
        if pd.notna(value) and value > 0:
            lines.append(f"{t(key)} : {format_int(value)}")
    return "<br/>".join(lines)


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
    days = format_days_ago(row["days_since_visit"])
    lines = [
        f"**{escape_markdown(row['name'])}**",
        f"{t('map.tooltip.last_visit')} : {format_date(row['last_visit'])} ({days})",
    ]
    by = row["last_association"]
    if isinstance(by, str) and by:
        lines.append(f"{t('map.tooltip.by')} : {escape_markdown(by)}")
    flag = row.get("people" + privacy.SUPPRESSED_SUFFIX)
    small = privacy.small_count_label(policy.small_count_threshold)
    people = small if isinstance(flag, bool | np.bool_) and flag else format_int(row["people"])
    lines.append(f"{t('map.tooltip.people')} : {escape_markdown(people)}")
    for key, col in (
        ("map.tooltip.minors", "unaccompanied_minors"),
        ("map.tooltip.families", "families"),
    ):
        value = row[col]
        if pd.notna(value) and value > 0:
            lines.append(f"{t(key)} : {format_int(value)}")
    return "  \n".join(lines)  # markdown line breaks


def camp_points(
    states: pd.DataFrame, gap_days: int, policy: privacy.Policy = privacy.FULL
) -> pd.DataFrame:
    """The map payload: only active camps, only the columns the browser needs."""
    active = states[states["active"]]
    if active.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in POINT_COLUMNS})
    people = active["people"].fillna(0).clip(lower=0)
    return pd.DataFrame(
        {
            "latitude": active["latitude"].round(6),
            "longitude": active["longitude"].round(6),
            "radius": (25 + 14 * np.sqrt(people)).round(1),
            "color": visit_colour(active["days_since_visit"], gap_days),
            "tooltip_html": active.apply(
                _tooltip, axis=1, small=privacy.small_count_label(policy.small_count_threshold)
            ).astype(object),
            "camp_id": active["camp_id"].astype(object),
        }
    ).reset_index(drop=True)


GAP_RING = (255, 70, 70, 255)
EVACUATION = (170, 90, 230, 230)
ZONE_LOW = (255, 200, 90)
ZONE_HIGH = (230, 60, 30)


def gap_points(points: pd.DataFrame, states: pd.DataFrame, gap_days: int) -> pd.DataFrame:
    """The camps not visited for more than ``gap_days`` days, to ring on the map."""
    late = states.loc[states["active"] & (states["days_since_visit"] > gap_days), "camp_id"]
    return points[points["camp_id"].isin(late)].reset_index(drop=True)


def zone_cells(zones: pd.DataFrame, policy: privacy.Policy = privacy.FULL) -> pd.DataFrame:
    """Density by H3 zone: people per hexagon, coloured from light to deep."""
    if zones.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ("zone", "color", "tooltip_html")})
    people = zones["people"].fillna(0).clip(lower=0)
    share = (people / max(float(people.max()), 1.0)).to_numpy()
    colours = [
        [round(lo + (hi - lo) * s) for lo, hi in zip(ZONE_LOW, ZONE_HIGH, strict=True)] + [150]
        for s in share
    ]
    tooltips = [
        f"{t_n('map.zone.people', p)}<br/>{t_n('count.camps', c)}"
        for p, c in zip(
            privacy.count_labels(zones, "people", policy),
            privacy.count_labels(zones, "camps", policy),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {"zone": zones["zone"].astype(object), "color": colours, "tooltip_html": tooltips}
    )


def evacuation_points(events: pd.DataFrame, policy: privacy.Policy = privacy.FULL) -> pd.DataFrame:
    """One point per evacuation event, with its date and people in the tooltip."""
    if events.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("latitude", "longitude", "tooltip_html")}
        )
    tooltips = [
        f"<b>{html.escape(str(name))}</b><br/>"
        + html.escape(
            t("map.evacuation", date=format_date(day), people=t_n("count.people", people))
        )
        for name, day, people in zip(
            events["name"],
            events["date"],
            privacy.count_labels(events, "people", policy),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "latitude": events["latitude"].round(6),
            "longitude": events["longitude"].round(6),
            "tooltip_html": tooltips,
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
        tooltip={
            "html": "{tooltip_html}",
            "style": {"fontSize": "14px", "maxWidth": "280px", "whiteSpace": "normal"},
        },
    )
