"""What the map page draws besides Streamlit's own elements: the tooltip's phone style,
the legends, and the card of a tapped camp, brought into view.

On a phone, Streamlit stacks the map's columns: the card (beside the map on a wide
screen) comes under the map, below the fold. When a camp is tapped, a small script
scrolls the card into view ("nearest": nothing moves when it is visible already, as
beside the map on a wide screen). The script holds no record text: a fixed selector and
a counter that changes with each newly tapped camp (so that it runs again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import pandas as pd
import pydeck as pdk
import streamlit as st

from carto import map_view
from carto.analytics import events
from carto.i18n import t
from carto.text import escape_markdown
from carto.ui import data, rounds, screens

CARD_KEY = "fiche_campement"  # its container's CSS class: st-key-fiche_campement
_SHOWN = "_fiche_montree"  # (camp id, how many camps were tapped) of the card shown
_SCROLL = """<script>
(function () {{
  var shown = {shown};
  var tries = 0;
  function bring() {{
    var card = document.querySelector(".st-key-{key}");
    if (card) {{ card.scrollIntoView({{ block: "nearest" }}); return; }}
    if (tries++ < 40) {{ setTimeout(bring, 50); }}
  }}
  bring();
}})();
</script>"""


def phone_styles() -> None:
    """The tooltip's style on a phone (``map_view.PHONE_CSS``; takes no room)."""
    st.html(map_view.PHONE_CSS)


def legend(swatches: Sequence[map_view.Swatch]) -> None:
    """A legend line under the map."""
    if swatches:
        st.markdown(map_view.legend_html(swatches), unsafe_allow_html=True)


def camp_table(table: pd.DataFrame) -> None:
    """The list of the camps of the map (``map_view.camp_list``), as a static table:
    its cells are markdown, so each is escaped (``carto.text.escape_markdown``); it
    scrolls past a dozen camps. A phone shows the camp, its last passage and its
    alerts only (``carto.ui.screens``): the counts are in the camp's card."""
    cells = table.map(escape_markdown)
    height: int | Literal["content"] = 460 if len(table) > 12 else "content"
    narrow = [t("map.list.camp"), t("map.list.last"), t("map.list.alerts")]
    wide, phone = screens.wide_and_narrow("table", "map-camps")
    wide.table(cells, hide_index=True, height=height)
    phone.table(cells[narrow], hide_index=True, height=height)


def camp_card(camp_id: str, card: str, history: bool, passage: str | None = None) -> None:
    """The card of the tapped camp (markdown built by ``map_view.camp_card``), with a
    link to its history when the person may open it and the "Signaler un passage" link
    (``passage``, when there is one), brought into view."""
    last = st.session_state.get(_SHOWN)
    shown = last[1] if isinstance(last, tuple) and last[0] == camp_id else None
    if shown is None:
        shown = (last[1] + 1) if isinstance(last, tuple) else 1
        st.session_state[_SHOWN] = (camp_id, shown)
    with st.container(border=True, key=CARD_KEY):
        st.markdown(f"**{t('map.selected')}**")
        st.markdown(card)
        if history:
            st.page_link(
                "pages/historique.py",
                label=t("map.history_link"),
                icon=":material/timeline:",
                query_params={"camp": camp_id},
            )
        rounds.passage_button(passage)
        st.html(_SCROLL.format(shown=int(shown), key=CARD_KEY), unsafe_allow_javascript=True)


def deck(
    v: data.View,
    day: dt.date,
    states: pd.DataFrame,
    points: pd.DataFrame,
    gap: int,
    shown: Sequence[str],
) -> tuple[pdk.Deck, list[map_view.Swatch]]:
    """The map of ``day`` with the ``shown`` layers ("camps", "zones", "gaps",
    "evacuations") and the legend of each: evacuations are those of the days up to
    ``day``, as many as the period holds; zones and sizes count the chosen publics."""
    publics = v.filters.publics
    swatches = map_view.camp_legend(gap) if "camps" in shown else []
    gaps = zones = evacuations = None
    if "gaps" in shown:
        gaps = map_view.gap_points(points, states, gap, v.policy)
        swatches.append(map_view.gap_legend(gap, len(gaps)))
    if "zones" in shown:
        resolution = v.options.zone_resolution
        coverage = data.zone_coverage(v, day, resolution, gap)
        zones = map_view.zone_cells(coverage, v.policy, publics)
        swatches.append(map_view.zone_legend(coverage, resolution, v.policy, publics))
    if "evacuations" in shown:
        span = map_view.evacuation_period(v.period, day)
        found = events.events_in(data.evacuation_events(v), span.start, span.end)
        evacuations = map_view.evacuation_points(found, v.policy)
        swatches.append(map_view.evacuation_legend(span, len(found)))
    built = map_view.camp_deck(
        points, gaps=gaps, zones=zones, evacuations=evacuations, show_camps="camps" in shown
    )
    return built, swatches
