"""The printable packing list of next week's needs: a small self-contained HTML page.

It is built from the figures as the page shows them (already protected for the role:
"<5", "—"), so it never says more than the page. Every text is escaped; the page has a
print button that the printout leaves out.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from carto.i18n import format_date, format_datetime, t

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.3em; }
p { margin: 0.2em 0; color: #333; }
table { border-collapse: collapse; width: 100%; margin-bottom: 0.5em; }
th, td { border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.box { width: 4em; }
@media print { .noprint { display: none; } body { margin: 0; } }
"""


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
    e = html.escape
    start, end = format_date(week_start), format_date(week_end)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>{e(t('packing.title'))} — {e(start)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<p class="noprint"><button onclick="window.print()">{e(t("packing.print"))}</button></p>',
        f"<h1>{e(t('packing.title'))}</h1>",
        f"<p>{e(t('packing.week', start=start, end=end))}</p>",
        f"<p>{e(t('packing.edited', when=format_datetime(edited), method=method))}</p>",
    ]
    if labels.empty:
        parts.append(f"<p>{e(t('packing.empty'))}</p>")
    groups = labels["group"].fillna("").astype("str") if len(labels) else pd.Series(dtype="str")
    for group in dict.fromkeys(groups.tolist()):
        rows = labels[groups == group]
        if group:
            title = f"{group_header} : {group}" if group_header else group
            parts.append(f"<h2>{e(title)}</h2>")
        parts.append(
            "<table><thead><tr>"
            f"<th>{e(t('packing.col.item'))}</th>"
            f"<th>{e(t('packing.col.need'))}</th>"
            f"<th>{e(t('packing.col.usual'))}</th>"
            f"<th>{e(t('packing.col.done'))}</th>"
            "</tr></thead><tbody>"
        )
        for row in rows.itertuples(index=False):
            parts.append(
                f"<tr><td>{e(str(row.item))}</td>"
                f'<td class="n">{e(str(row.need))}</td>'
                f'<td class="n">{e(str(row.usual))}</td>'
                '<td class="box">☐</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def packing_list_file_name(week_start: dt.date) -> str:
    """The file name of the packing list of the week starting on ``week_start``."""
    return t("packing.file", start=week_start.strftime("%Y-%m-%d"))
