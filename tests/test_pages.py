"""Each page under Streamlit's AppTest: no exception, French title, figures present."""

from __future__ import annotations

import logging
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


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        ("[demo]\nseed = 'x'\n", "demo.seed"),
        ("[demo]\nnope = 1\n", "réglage inconnu « demo.nope » ; réglages connus : "),
        ("[demo\n", "TOML invalide"),
    ],
)
def test_broken_config_is_told_to_the_log_not_to_the_visitor(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    config: str,
    detail: str,
) -> None:
    """Before sign-in, the page says the administrator must fix the configuration and
    where to read what: no path, setting list or parser message. The server log (the
    terminal of ``make run``) says what is wrong and in which file."""
    bad = tmp_path / "config.toml"
    bad.write_text(config, encoding="utf-8")
    monkeypatch.setenv("CARTO_CONFIG", str(bad))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    with caplog.at_level(logging.ERROR):
        at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "configuration de CartoCampement est invalide" in shown
    assert "journal du serveur" in shown
    for secret in (str(tmp_path), "config.toml", detail, "demo."):
        assert secret not in shown
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("carto")]
    assert any(str(bad) in m and detail in m for m in logged), logged


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
