"""The two pages as a person sees them: camps drawn over Paris, figures on the dashboard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from carto.map_view import FORGOTTEN, FRESH, LATE, RECENT

pytestmark = pytest.mark.e2e


def open_page(context: Any, url: str) -> Any:
    """A new tab of a signed-in browser (the cookie signs the new session in)."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("h1", timeout=60_000)
    return page


def camp_pixels(png: bytes) -> int:
    """Pixels of the map painted in one of the camp colours (blended with the background)."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    palette = np.array([c[:3] for c in (FRESH, RECENT, LATE, FORGOTTEN)])
    close = (np.abs(img[:, :, None, :] - palette[None, None, :, :]) < 40).all(axis=-1)
    return int(close.any(axis=-1).sum())


def test_map_draws_camps_over_paris(signed_in: Any, app_url: str, artifacts: Path) -> None:
    page = open_page(signed_in, app_url)
    assert page.locator("h1").first.inner_text() == "Carte des campements"
    assert page.get_by_text("Données de démonstration").count() >= 1
    chart = page.locator("[data-testid='stDeckGlJsonChart']")
    chart.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stDeckGlJsonChart'] canvas\") !== null",
        timeout=60_000,
    )
    page.wait_for_timeout(2_500)  # let deck.gl paint its first frame
    png = chart.screenshot()
    page.screenshot(path=str(artifacts / "carte.png"), full_page=True)
    assert camp_pixels(png) > 300, "no camp drawn on the map canvas"
    page.close()


def test_dashboard_shows_figures(signed_in: Any, app_url: str, artifacts: Path) -> None:
    page = open_page(signed_in, app_url + "/tableau_de_bord")
    assert page.locator("h1").first.inner_text() == "Tableau de bord"
    metric = page.locator("[data-testid='stMetric']", has_text="Population estimée")
    value = metric.locator("[data-testid='stMetricValue']").inner_text()
    assert int(value.replace("\u202f", "").replace(" ", "")) > 300
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "tableau_de_bord.png"), full_page=True)
    page.close()
