"""The printable A4 sheet of a prepared round (issue 17): the camps in walking order with
why each is on the list, the route's length and time, and what to bring.

Markup and style live in ``templates/round_sheet.html.j2``, rendered with autoescape:
this module hands it texts only (French, already formatted for the role), never markup.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from carto.export import jinja
from carto.i18n import format_datetime, t

TEMPLATE = "round_sheet.html.j2"


def render(
    title: str,
    subtitle: Sequence[str],
    route: str,
    camps: pd.DataFrame,
    numbers: Sequence[str],
    packing: pd.DataFrame,
    notes: Sequence[str],
    edited: dt.datetime,
) -> str:
    """The sheet as a self-contained HTML page. ``camps`` and ``packing`` hold the shown
    texts, one column per header; ``numbers`` names the camp columns aligned right."""
    return (
        jinja.environment()
        .get_template(TEMPLATE)
        .render(
            title=title,
            subtitle=list(subtitle),
            print_label=t("round.sheet.print"),
            camps_title=t("round.suggested"),
            route=route,
            camp_headers=list(camps.columns),
            camp_numbers=[i for i, c in enumerate(camps.columns) if c in numbers],
            camp_rows=camps.astype(str).to_numpy().tolist(),
            seen_label=t("round.sheet.seen"),
            packing_title=t("round.packing"),
            packing_headers=list(packing.columns),
            packing_rows=packing.astype(str).to_numpy().tolist(),
            packing_empty=t("round.packing_empty"),
            notes=list(notes),
            footer=t("round.sheet.edited", when=format_datetime(edited)),
        )
    )


def file_name(evening: dt.date) -> str:
    """The sheet's file name."""
    return t("round.file", day=evening.isoformat())
