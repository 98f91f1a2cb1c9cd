"""Issue 13 in a real browser: what the coordinator sees on the Tableau de bord. Date
axes never write a date twice (the 7-day view wrote 23/11 twice), weeks cut by the
period are hatched, and "Tout l'historique" shows no change against a previous period."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from carto.i18n import t
from tests.e2e.helpers import open_page

pytestmark = pytest.mark.e2e

# Every x axis of every chart: the texts of its tick labels (one list per axis).
AXIS_LABELS = """() => [...document.querySelectorAll('.js-plotly-plot g.xaxislayer-above')]
    .map(layer => [...layer.querySelectorAll('.xtick text')].map(t => t.textContent))"""


def dashboard(context: Any, app_url: str, period: str) -> Any:
    query = urlencode({"periode": t(f"filter.period.{period}")})
    page = open_page(context, f"{app_url}/tableau_de_bord?{query}")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1_500)
    return page


@pytest.mark.parametrize("period", ["7j", "30j", "tout"])
def test_no_date_is_written_twice_on_an_axis(
    signed_in: Any, app_url: str, artifacts: Path, period: str
) -> None:
    page = dashboard(signed_in, app_url, period)
    axes = page.evaluate(AXIS_LABELS)
    page.screenshot(path=str(artifacts / f"tableau_de_bord_{period}.png"), full_page=True)
    drawn = [labels for labels in axes if labels]  # facets may share one axis' labels
    assert len(drawn) >= 4, axes  # population, two weekly charts, needs...
    for labels in drawn:
        assert len(labels) == len(set(labels)), labels
    if period == "7j":
        assert len(drawn[0]) == 7  # every day of the week once, on the population chart
    page.close()


def test_partial_weeks_are_hatched_and_said(signed_in: Any, app_url: str) -> None:
    page = dashboard(signed_in, app_url, "30j")  # 30 days are never whole weeks only
    patterned = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot .bars .point path')]
            .filter(p => (p.style.fill || '').includes('url(')).length"""
    )
    assert patterned > 0, "no hatched bar"
    assert page.get_by_text("semaine partielle", exact=False).count() >= 1
    page.close()


def test_whole_history_shows_no_change(signed_in: Any, app_url: str) -> None:
    page = dashboard(signed_in, app_url, "tout")
    assert page.locator("[data-testid='stMetricDelta']").count() == 0
    assert page.get_by_text(t("dash.no_comparison.whole_history")).count() == 1
    page.close()
    page = dashboard(signed_in, app_url, "30j")
    assert page.locator("[data-testid='stMetricDelta']").count() > 0
    page.close()
