"""Issue 5 pages under AppTest: shared filters, URL query parameters, every page draws."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from carto import filters
from carto.analytics.figures import Period
from carto.analytics.zones import zone_size
from carto.dataset import build_dataset, open_store
from carto.i18n import format_date, format_decimal, t
from carto.settings import Settings, load_settings
from testing.app import login, metric_int, new_app, run_page, shown_table
from tests.test_text import unescape

PAGES = [
    "pages/carte.py",
    "pages/tableau_de_bord.py",
    "pages/points_chauds.py",
    "pages/historique.py",
    "pages/coordination.py",
    "pages/qualite.py",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_draws_without_error(app_config: Path, page: str) -> None:
    at = run_page(page)
    assert at.title, page
    assert not at.error or "alerte" in at.error[0].value


def test_filters_are_kept_across_pages(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    everyone = metric_int(at, "Passages")
    at.sidebar.multiselect(key="assoc").set_value(["Action contre la Faim"]).run()
    acf = metric_int(at, "Passages")
    assert 0 < acf < everyone
    at.switch_page("pages/carte.py").run()
    assert at.sidebar.multiselect(key="assoc").value == ["Action contre la Faim"]
    at.switch_page("pages/tableau_de_bord.py").run()
    assert metric_int(at, "Passages") == acf


def test_url_query_parameters_restore_the_filters(app_config: Path) -> None:
    plain = run_page("pages/tableau_de_bord.py")
    at = new_app()
    at.query_params["periode"] = "7 derniers jours"  # older links held the labels
    at.query_params["assoc"] = "Croix-Rouge française"
    login(at)  # the link opens the map page, after signing in
    assert not at.exception
    assert at.sidebar.selectbox(key="periode").value == "7j"
    assert at.sidebar.multiselect(key="assoc").value == ["Croix-Rouge française"]
    at.switch_page("pages/tableau_de_bord.py").run()
    assert at.sidebar.selectbox(key="periode").value == "7j"
    assert metric_int(at, "Passages") < metric_int(plain, "Passages")
    # the address now holds the codes, not the labels it was opened with
    assert at.query_params == {"periode": "7j", "assoc": "croix-rouge-francaise"}


def test_the_address_holds_codes_not_labels(app_config: Path) -> None:
    at = run_page("pages/tableau_de_bord.py")
    at.sidebar.selectbox(key="periode").set_value(filters.LAST_MONTH).run()
    at.sidebar.multiselect(key="assoc").set_value(["Croix-Rouge française"]).run()
    at.sidebar.multiselect(key="besoins").set_value(["Accès aux droits"]).run()
    at.sidebar.pills(key="public").set_value(["mna", "familles"]).run()
    at.sidebar.pills(key="statut").set_value([filters.STALE]).run()
    assert not at.exception
    assert at.query_params == {
        "periode": "mois-dernier",
        "assoc": "croix-rouge-francaise",
        "besoins": "acces-aux-droits",
        "public": ["familles", "mna"],
        "statut": "sans_nouvelles",
    }
    # kept on another page, and emptied by the reset button
    at.switch_page("pages/carte.py").run()
    assert at.sidebar.selectbox(key="periode").value == filters.LAST_MONTH
    assert at.query_params["statut"] == "sans_nouvelles"
    at.sidebar.button[0].click().run()
    assert at.query_params == {"periode": "mois-dernier"}
    assert at.sidebar.pills(key="public").value == []


def test_a_hand_typed_link_with_codes_opens_that_view(app_config: Path) -> None:
    at = new_app()
    at.query_params.update({"periode": "mois-dernier", "public": "mna", "arr": "75019"})
    login(at)
    assert not at.exception and not at.toast
    assert at.sidebar.selectbox(key="periode").value == filters.LAST_MONTH
    assert at.sidebar.pills(key="public").value == ["mna"]
    assert at.sidebar.multiselect(key="arr").value == ["75019"]
    today = pd.Timestamp.now(tz="Europe/Paris").date()  # the demo's day
    month = Period.month_before(today)
    caption = t("filter.period_caption", start=format_date(month.start), end=format_date(month.end))
    assert caption in [c.value for c in at.sidebar.caption]


def test_an_unknown_value_is_ignored_with_a_notice(app_config: Path) -> None:
    at = new_app()
    at.query_params.update({"periode": "hier", "assoc": ["utopia-56", "Inconnue"]})
    login(at)
    assert not at.exception
    notices = [unescape(toast.value) for toast in at.toast]  # as the reader sees it
    assert len(notices) == 1
    assert "periode=hier" in notices[0] and "assoc=Inconnue" in notices[0]
    assert "Utopia" not in notices[0]
    # the default period is used, the valid association kept, the address cleaned
    assert at.sidebar.selectbox(key="periode").value == "30j"
    assert at.sidebar.multiselect(key="assoc").value == ["Utopia 56"]
    assert at.query_params == {"assoc": "utopia-56"}
    at.run()
    assert not at.toast  # said once


def test_map_day_slider_replays_the_past(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    today_camps = metric_int(at, "Campements actifs")
    slider = at.slider(key="etat_au")
    today = slider.value
    assert isinstance(today, dt.date)
    slider.set_value(today - dt.timedelta(days=60)).run()
    assert at.slider(key="etat_au").value == today - dt.timedelta(days=60)
    assert not at.exception
    assert metric_int(at, "Personnes estimées") > 0
    assert metric_int(at, "Campements actifs") > 0
    assert today_camps > 0


def test_map_layers_can_be_switched(app_config: Path) -> None:
    at = run_page("pages/carte.py")
    at.pills(key="couches").set_value(["camps", "zones", "gaps", "evacuations"]).run()
    assert not at.exception
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    ids = {layer["id"] for layer in spec["layers"]}
    assert {"camps", "zones"} <= ids


def test_history_page_follows_the_camp_in_the_url(app_config: Path) -> None:
    """The map card's link names a camp by its id: the page opens on that camp, and the
    address keeps the id of the camp chosen, never its name (which can say where it is).
    An id that is no camp of the list is ignored."""
    at = run_page("pages/historique.py")
    picker = at.selectbox(key="camp")
    assert len(picker.options) >= 10
    assert len(at.get("plotly_chart")) >= 3
    assert len(at.dataframe) >= 1
    assert at.query_params == {"camp": picker.value}
    picker.select_index(3).run()
    linked, label = at.selectbox(key="camp").value, at.selectbox(key="camp").options[3]
    assert at.query_params == {"camp": linked}
    assert label not in linked

    opened = new_app()
    opened.query_params["camp"] = linked  # the map card's link
    login(opened)
    opened.switch_page("pages/historique.py").run()
    assert opened.selectbox(key="camp").value == linked
    assert opened.query_params == {"camp": linked}
    opened.selectbox(key="camp").select_index(5).run()
    other = opened.selectbox(key="camp").value
    assert other != linked and opened.query_params == {"camp": other}
    opened.query_params["camp"] = "P-recNOTACAMP000000"
    opened.run()
    assert not opened.exception
    assert opened.selectbox(key="camp").value == other  # ignored, and written over
    assert opened.query_params == {"camp": other}


def test_hotspot_zones_tab_states_the_zone_size_and_lists_its_camps(app_config: Path) -> None:
    at = run_page("pages/points_chauds.py")
    side, area = zone_size(int(Settings({})["zones.h3_resolution"]))
    captions = [c.value for c in at.caption]
    size = f"{format_decimal(side)} km de côté ({format_decimal(area)} km²)"
    assert any(size in c for c in captions), captions
    zones_table = shown_table(at, "hotspot-zones")
    assert t("hotspot.col.zone_names") in zones_table.columns
    assert len(zones_table) < len(shown_table(at, "hotspot-camps"))  # fewer zones than camps


def test_a_link_to_a_commune_outside_the_airtable_options(app_config: Path) -> None:
    at = new_app()
    at.query_params["arr"] = "94-ivry-sur-seine"
    login(at)
    assert not at.exception and not at.toast
    assert at.sidebar.multiselect(key="arr").value == ["94 Ivry-sur-Seine"]
    assert at.query_params == {"arr": "94-ivry-sur-seine"}


def test_last_month_export_in_a_few_clicks(app_config: Path) -> None:
    at = run_page("pages/export.py")
    at.sidebar.selectbox(key="periode").set_value(filters.LAST_MONTH).run()
    assert not at.exception
    month = Period.month_before(pd.Timestamp.now(tz="Europe/Paris").date())
    (button,) = at.download_button
    dates = f"_{month.start:%Y-%m-%d}_{month.end:%Y-%m-%d}"
    assert button.label.startswith(f"Télécharger cartocampement_passages{dates}")
    assert at.query_params == {"periode": "mois-dernier"}


def test_history_follows_the_period_or_shows_the_whole_life(app_config: Path) -> None:
    """Issue 13: the camp's history follows the sidebar period by default; the toggle
    "Toute la vie du campement" shows every passage, and the page says which."""
    at = run_page("pages/historique.py")
    start, end = (
        dt.datetime.strptime(d, "%d/%m/%Y").date()
        for d in re.findall(r"\d{2}/\d{2}/\d{4}", at.sidebar.caption[-1].value)
    )
    # a camp seen before the period and during it
    settings = load_settings(app_config)
    passages = build_dataset(settings, open_store(settings)).passages
    days = passages.groupby("camp_id")["day"].agg(["min", "max"])
    old = days[(days["min"].dt.date < start) & (days["max"].dt.date >= start)].index
    assert len(old)
    at.selectbox(key="camp").set_value(old[0]).run()
    assert not at.toggle(key="vie_entiere").value
    expected = t("history.span.period", start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}")
    assert any(c.value == expected for c in at.caption)
    listing = shown_table(at, "history-passages")
    shown = pd.to_datetime(listing[t("history.col.date")], format="%d/%m/%Y %H:%M").dt.date
    assert shown.min() >= start and shown.max() <= end
    assert re.match(rf"{len(listing)} passages du ", at.markdown[-1].value)

    at.toggle(key="vie_entiere").set_value(True).run()
    assert not at.exception
    whole = shown_table(at, "history-passages")
    all_days = pd.to_datetime(whole[t("history.col.date")], format="%d/%m/%Y %H:%M").dt.date
    assert len(whole) > len(listing) and all_days.min() < start
    assert any(c.value.startswith(t("history.whole_life")) for c in at.caption)
    assert re.match(rf"{len(whole)} passages du ", at.markdown[-1].value)


def test_history_listing_shows_no_none_or_nan(app_config: Path) -> None:
    at = run_page("pages/historique.py")
    at.toggle(key="vie_entiere").set_value(True).run()
    listing = shown_table(at, "history-passages")
    cells = {str(v) for col in listing.columns for v in listing[col].tolist()}
    assert not cells & {"None", "nan", "NaN", "<NA>", "NaT"}, cells & {"None", "nan", "<NA>"}


def test_a_rerun_draws_the_dashboard_charts_without_building_them_again(
    app_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tableau de bord's figures are built once per view (charts.show_cached): a rerun
    draws the same charts without plotly building them again; other filters, new ones."""
    from carto.ui import charts, plots

    built: list[str] = []
    for name in ("bar_figure", "line_figure"):
        real = getattr(plots, name)

        def counting(
            *args: object, _real: object = real, _name: str = name, **kw: object
        ) -> object:
            built.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(plots, name, counting)
    charts._built.clear()

    def specs(at: object) -> list[str]:
        return [chart.proto.spec for chart in at.get("plotly_chart")]  # type: ignore[attr-defined]

    at = run_page("pages/tableau_de_bord.py")
    first, drawn = len(built), specs(at)
    assert "line_figure" in built and "bar_figure" in built and len(drawn) >= 4
    at.run()
    assert not at.exception
    assert len(built) == first, "figures built again on a rerun of the same view"
    assert specs(at) == drawn
    at.sidebar.multiselect(key="assoc").set_value(["Action contre la Faim"]).run()
    assert len(built) > first
    assert specs(at) != drawn
