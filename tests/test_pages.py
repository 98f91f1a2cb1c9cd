"""Each page under Streamlit's AppTest: no exception, French title, figures present."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from testing.app import metrics, run_page, shown_table

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def test_map_page(app_config: Path) -> None:
    at = run_page()
    assert at.title[0].value == "Carte des campements"
    assert any("Données de démonstration" in i.value for i in at.info)
    values = metrics(at)
    assert int(values["Campements actifs"]) >= 10
    assert int(values["Personnes estimées"].replace("\u202f", "")) > 300
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1


def test_dashboard_page(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    assert at.title[0].value == "Tableau de bord"
    values = metrics(at)
    for label in ("Population estimée", "Campements actifs", "Passages", "Repas", "Tentes"):
        assert label in values, values
    assert int(values["Passages"].replace("\u202f", "")) > 50
    # evacuations: people concerned and their parts (issue 13), not one figure per kind
    for label in ("Évacuations", "Personnes concernées", "dont mises à l'abri"):
        assert label in values, values
    assert "dont sans solution" in values
    assert len(at.get("plotly_chart")) >= 4  # population, weekly activity, needs, evacuations


def test_period_filter_changes_the_figures(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    month = int(metrics(at)["Passages"].replace("\u202f", ""))
    at.sidebar.selectbox(key="periode").set_value("7j").run()
    week = int(metrics(at)["Passages"].replace("\u202f", ""))
    assert 0 < week < month


def test_broken_config_shows_what_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[demo]\nseed = 'x'\n", encoding="utf-8")
    monkeypatch.setenv("CARTO_CONFIG", str(bad))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "configuration est invalide" in at.error[0].value
    assert "demo.seed" in at.error[0].value


def test_quality_page(app_config: Path) -> None:
    at = run_page("pages/qualite.py")
    assert at.title[0].value == "Qualité des données"
    values = {k: int(v.replace("\u202f", "")) for k, v in metrics(at).items()}
    assert values["Fiches"] == values["Utilisées"] + values["En quarantaine"]
    assert values["En quarantaine"] >= 1 and values["Signalées"] >= 1
    kinds = shown_table(at, "quality-kinds")
    assert "Date manquante" in set(kinds["kind"])
    listed = shown_table(at, "quality-records")
    assert len(listed) == values["En quarantaine"]
    assert listed["reason"].str.len().gt(0).all()
