"""The camp map: one point per camp at its latest state, as a pydeck Deck.

deck.gl inserts tooltip values into HTML as they are, so every text that a user typed is
HTML-escaped here, before it reaches the browser.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pydeck as pdk

from carto.i18n import format_date, format_int, t

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


def _tooltip(row: pd.Series) -> str:
    lines = [f"<b>{html.escape(str(row['name']))}</b>"]
    last = row["last_visit"]
    when = format_date(last) + " (" + t("map.tooltip.days_ago", days=row["days_since_visit"]) + ")"
    by = row["last_association"]
    lines.append(f"{t('map.tooltip.last_visit')} : {html.escape(when)}")
    if isinstance(by, str) and by:
        lines.append(f"{t('map.tooltip.by')} : {html.escape(by)}")
    lines.append(f"{t('map.tooltip.people')} : {format_int(row['people'])}")
    for key, col in (
        ("map.tooltip.minors", "unaccompanied_minors"),
        ("map.tooltip.families", "families"),
    ):
        value = row[col]
        if pd.notna(value) and value > 0:
            lines.append(f"{t(key)} : {format_int(value)}")
    return "<br/>".join(lines)


def camp_points(states: pd.DataFrame, gap_days: int) -> pd.DataFrame:
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
            "tooltip_html": active.apply(_tooltip, axis=1).astype(object),
            "camp_id": active["camp_id"].astype(object),
        }
    ).reset_index(drop=True)


def camp_deck(points: pd.DataFrame) -> pdk.Deck:
    """A pydeck Deck over Paris with the camps as scaled, coloured points."""
    layer = pdk.Layer(
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
    return pdk.Deck(
        layers=[layer],
        initial_view_state=PARIS_VIEW,
        map_provider="carto",
        map_style=None,
        tooltip={
            "html": "{tooltip_html}",
            "style": {"fontSize": "14px", "maxWidth": "280px", "whiteSpace": "normal"},
        },
    )
