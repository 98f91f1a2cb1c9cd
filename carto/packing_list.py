"""The printable packing list of next week's needs: a small self-contained HTML page
(``carto/export/templates/packing_list.html.j2``, Jinja2 with autoescape).

It is built from the figures as the page shows them (already protected for the role:
"<5", "—"), so it never says more than the page. Every text is escaped; the page has a
print button that the printout leaves out.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from carto.export import jinja
from carto.i18n import format_date, format_datetime, t

TEMPLATE = "packing_list.html.j2"  # carto/export/templates/, rendered with autoescape


def packing_list_html(
    labels: pd.DataFrame,
    week_start: dt.date,
    week_end: dt.date,
    edited: dt.datetime,
    method: str,
    group_header: str = "",
) -> str:
    """The packing list as an HTML page: one table per group (one table when ``labels``
    has no group), a row per item with the quantity to bring, the usual weekly delivery
    and an empty box to tick. ``labels`` holds the shown texts, columns ``group``,
    ``item``, ``need``, ``usual`` (``group`` empty for no breakdown)."""
    start, end = format_date(week_start), format_date(week_end)
    groups = labels["group"].fillna("").astype("str") if len(labels) else pd.Series(dtype="str")
    tables = []
    for group in dict.fromkeys(groups.tolist()):
        title = (f"{group_header} : {group}" if group_header else group) if group else ""
        rows = [
            {"item": str(row.item), "need": str(row.need), "usual": str(row.usual)}
            for row in labels[groups == group].itertuples(index=False)
        ]
        tables.append({"title": title, "rows": rows})
    return (
        jinja.environment()
        .get_template(TEMPLATE)
        .render(
            title=t("packing.title"),
            start=start,
            print_label=t("packing.print"),
            week=t("packing.week", start=start, end=end),
            edited=t("packing.edited", when=format_datetime(edited), method=method),
            empty=t("packing.empty") if labels.empty else "",
            groups=tables,
            headers=[
                t("packing.col.item"),
                t("packing.col.need"),
                t("packing.col.usual"),
                t("packing.col.done"),
            ],
        )
    )


def packing_list_file_name(week_start: dt.date) -> str:
    """The file name of the packing list of the week starting on ``week_start``."""
    return t("packing.file", start=week_start.strftime("%Y-%m-%d"))
