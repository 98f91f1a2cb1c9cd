"""Filters that match nothing, on every page for every role (issue 14, item 9).

The dashboard used to crash (``KeyError: 'people'`` in the needs analytics) on an
arrondissement without a camp and showed the traceback, server paths included. Here
every page a role may open is drawn under filters that keep no passage: no exception,
and the French empty-state message on every page that has the filters. An unexpected
exception in a page shows the catalogue's French message, never a traceback, and the
traceback goes to the server log.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from carto import schema
from carto.accounts import ROLES
from carto.analytics import places
from carto.dataset import Dataset, build_dataset, open_store
from carto.i18n import t
from carto.settings import load_settings
from carto.ui import data, navigation
from testing.app import ROOT, login, new_app, run_page


def demo_data(config: Path) -> Dataset:
    """The dataset the app under test shows (same config, same day)."""
    settings = load_settings(config)
    return build_dataset(settings, open_store(settings))


def no_camp_arrondissement(ds: Dataset) -> list[str]:
    used = set(places.camp_places(ds.passages, ds.sites)["arrondissement"].dropna())
    return [next(a for a in schema.ARRONDISSEMENTS if a not in used)]


def idle_association(ds: Dataset) -> list[str]:
    return [next(a for a in schema.ASSOCIATIONS if a not in set(ds.passages["association"]))]


def empty_day(ds: Dataset) -> tuple[dt.date, str]:
    """A day of the history and an association that has passages, but none that day."""
    active = ds.passages.dropna(subset=["association"])
    for association, rows in active.groupby("association"):
        days = pd.date_range(ds.passages["day"].min(), ds.passages["day"].max(), freq="D")
        missing = days.difference(pd.DatetimeIndex(rows["day"].unique()))
        if len(missing):
            return missing[0].date(), str(association)
    raise AssertionError("every association has a passage every day")


def set_arrondissement(at: AppTest, ds: Dataset) -> None:
    at.sidebar.multiselect(key="arr").set_value(no_camp_arrondissement(ds)).run()


def set_association(at: AppTest, ds: Dataset) -> None:
    at.sidebar.multiselect(key="assoc").set_value(idle_association(ds)).run()


def set_empty_period(at: AppTest, ds: Dataset) -> None:
    day, association = empty_day(ds)
    at.sidebar.selectbox(key="periode").set_value("perso").run()
    at.sidebar.date_input(key="dates").set_value((day, day)).run()
    at.sidebar.multiselect(key="assoc").set_value([association]).run()


ALERTS_ICON = ":material/child_care:"  # pages/coordination.py

SCENARIOS: dict[str, Callable[[AppTest, Dataset], None]] = {
    "arrondissement sans campement": set_arrondissement,
    "association sans passage": set_association,
    "période sans passage de l'association": set_empty_period,
}


def has_filters(at: AppTest) -> bool:
    return any(w.key == "periode" for w in at.sidebar.selectbox)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("role", ROLES)
def test_every_page_survives_filters_matching_nothing(
    app_config: Path, role: str, scenario: str
) -> None:
    ds = demo_data(app_config)
    at = login(new_app(), role)
    SCENARIOS[scenario](at, ds)
    assert not at.exception, [e.value for e in at.exception]
    for spec in navigation.specs_for(role):
        at.switch_page(spec.path).run()
        at.run()  # under AppTest, the first run after a switch sees the widget defaults
        assert not at.exception, (spec.path, [e.value for e in at.exception])
        # Coordination's protection alerts (the last 48 hours, whatever the period: a
        # camp's minors do not wait for the filters) are shown red; no other error
        errors = [e for e in at.error if e.icon != ALERTS_ICON]
        assert not errors, (spec.path, [e.value for e in errors])
        if has_filters(at):
            assert t("filter.no_match") in [i.value for i in at.info], spec.path


@pytest.mark.parametrize("dates", [("2001-01-01", "2001-01-31"), ("2099-01-01", "2099-01-31")])
@pytest.mark.parametrize("role", ROLES)
def test_a_custom_period_outside_the_data_in_the_url_is_brought_back(
    app_config: Path, dates: tuple[str, str], role: str
) -> None:
    ds = demo_data(app_config)
    first = ds.passages["day"].min().date()
    at = new_app()
    at.query_params["periode"] = t("filter.period.perso")
    at.query_params["dates"] = list(dates)
    login(at, role)
    for spec in navigation.specs_for(role):
        at.switch_page(spec.path).run()
        at.run()
        assert not at.exception, (spec.path, [e.value for e in at.exception])
        if has_filters(at):
            start, end = at.sidebar.date_input(key="dates").value
            assert first <= start <= end <= ds.today, (spec.path, start, end)


@pytest.mark.page_error
@pytest.mark.parametrize(
    ("page", "function"),
    [
        (None, "camp_states"),  # the default page (Carte), drawn through app.py
        ("pages/tableau_de_bord.py", "activity"),  # a page Streamlit runs on its own
    ],
)
def test_an_unexpected_error_shows_a_french_message_and_no_path(
    app_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    page: str | None,
    function: str,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError(f"people in {ROOT / 'carto' / 'analytics' / 'needs.py'}")

    monkeypatch.setattr(data, function, broken)
    with caplog.at_level(logging.ERROR, logger="carto.pages"):
        at = run_page(page)
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 1
    assert shown[0].startswith("Une erreur inattendue")
    assert "l'équipe technique est prévenue" in shown[0]
    everything = "\n".join(
        str(el.value)
        for kind in ("error", "warning", "info", "caption", "markdown")
        for el in at.get(kind)
    )
    assert str(ROOT) not in everything and "Traceback" not in everything
    assert "KeyError" not in everything and ".py" not in everything
    logged = [r for r in caplog.records if r.name == "carto.pages"]
    assert logged and logged[0].exc_info is not None  # the traceback is kept server-side
    reference = logged[0].getMessage().rsplit(" ", 1)[-1].strip(")")
    assert reference in shown[0]


def test_streamlit_sends_no_error_details_to_the_browser() -> None:
    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    value = conf["client"]["showErrorDetails"]
    assert value == st_config.ShowErrorDetailsConfigOptions.NONE.value == "none"
