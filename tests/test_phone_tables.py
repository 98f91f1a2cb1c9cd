"""Tables and the needs chart on a phone (issue 13): ``carto.ui.tables.show`` with
``narrow`` draws the full table and a reduced one, each in its keyed container, and
``carto.ui.screens`` hides one of the two by the screen's width. What the browser shows
at 390 and 1366 px is checked in tests/e2e/test_phone_tables_in_browser.py."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from carto import map_view
from carto.ui import screens, tables
from carto.ui.navigation import specs_for
from testing.app import ROOT, login, new_app

LONG_NAME = "Porte de la Chapelle – sous le pont du boulevard périphérique, côté nord"


def _script() -> None:
    """A page drawing one table with narrow columns (run by AppTest)."""
    import pandas as pd
    import streamlit as st

    from carto.ui import tables

    long_name = "Porte de la Chapelle – sous le pont du boulevard périphérique, côté nord"
    frame = pd.DataFrame(
        {
            "Campement": [long_name, "Bercy"],
            "Motif": ["Mineurs non accompagnés, familles", "Familles"],
            "Mineurs": [3, 12],
            "Score": [167.5, 1234.25],
            "Dernier": ["28/11/2026 21:30", "27/11/2026 20:00"],
        }
    )
    config = {
        "Motif": st.column_config.TextColumn("Raison", width="large"),
        "Score": "Note",
    }
    tables.show(frame, name="alertes", narrow=("Campement", "Motif"), column_config=config)
    tables.show(frame, name="notes", narrow=("Mineurs", "Score"), column_config=config)


def _columns(table: Any) -> dict[str, dict[str, Any]]:
    """A drawn table's column configuration, as Streamlit sends it."""
    return dict(json.loads(table.proto.columns))


@pytest.fixture(scope="module")
def drawn() -> AppTest:
    at = AppTest.from_function(_script).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_show_draws_the_full_table_then_the_narrow_one(drawn: AppTest) -> None:
    full = drawn.container(screens.key("table", screens.WIDE, "alertes")).dataframe
    narrow = drawn.container(screens.key("table", screens.NARROW, "alertes")).dataframe
    assert len(full) == len(narrow) == 1
    assert list(full[0].value.columns) == ["Campement", "Motif", "Mineurs", "Score", "Dernier"]
    assert list(narrow[0].value.columns) == ["Campement", "Motif"]
    assert narrow[0].value["Campement"].tolist() == full[0].value["Campement"].tolist()
    # the full table comes first: a wide screen's first table is a visible one
    assert drawn.dataframe[0].proto == full[0].proto


def test_the_narrow_table_fits_a_phone_and_keeps_labels(drawn: AppTest) -> None:
    narrow = drawn.container(screens.key("table", screens.NARROW, "alertes")).dataframe[0]
    columns = _columns(narrow)
    widths = [columns[c]["width"] for c in ("Campement", "Motif")]
    assert all(isinstance(w, int) for w in widths)
    assert sum(widths) <= tables.NARROW_TABLE_PX
    assert columns["Motif"]["label"] == "Raison"  # the page's label, not its "large" width
    # the long texts are cut short at that width: they wrap, on taller rows
    assert narrow.proto.row_height > 64

    full = drawn.container(screens.key("table", screens.WIDE, "alertes")).dataframe[0]
    assert _columns(full)["Motif"]["width"] == "large"  # the full table is as the page said
    assert not full.proto.row_height


def test_the_narrow_table_writes_numbers_the_french_way(drawn: AppTest) -> None:
    narrow = drawn.container(screens.key("table", screens.NARROW, "notes")).dataframe[0]
    assert list(narrow.value.columns) == ["Mineurs", "Score"]
    assert _columns(narrow)["Score"]["label"] == "Note"
    shown = narrow.proto.arrow_data.styler.display_values
    assert shown  # French display values, as the full table's
    assert not narrow.proto.row_height  # short cells: one line each


def test_narrow_widths_give_short_columns_what_they_need() -> None:
    total = tables.NARROW_TABLE_PX
    needed = {"camp": total * 1.5, "days": total / 4, "reason": total}
    widths = tables.narrow_widths(needed)
    assert list(widths) == list(needed)  # the table's order
    assert sum(widths.values()) <= total
    assert widths["days"] == int(needed["days"])
    assert widths["camp"] == widths["reason"]  # the long ones share the rest

    fitting = {"camp": total / 3, "days": total / 4}
    assert tables.narrow_widths(fitting) == {c: int(w) for c, w in fitting.items()}


def test_wrapped_rows_get_a_table_tall_enough_for_them() -> None:
    import pandas as pd

    frame = pd.DataFrame({"Campement": [LONG_NAME] * 3, "Jours": [4, 2, 1]})
    options = tables.narrow_options(frame, {})
    assert options["row_height"] > 64
    assert options["height"] >= len(frame) * options["row_height"]
    short = tables.narrow_options(frame.assign(Campement="Bercy"), {})
    assert "row_height" not in short and "height" not in short


def test_a_column_needs_the_width_of_its_cells_as_they_read() -> None:
    """Nine cells in ten whole, written as the table writes them: French numbers, "—"
    for a missing value, a link's text, a date with its time (as str() writes it)."""
    import pandas as pd

    def chars(width: float) -> float:
        return round((width - tables.CELL_PADDING_PX) / tables.CHAR_PX, 6)

    frame = pd.DataFrame(
        {
            "n": [1234567.5] * 10,
            "t": ["abcd"] * 9 + [None],
            "missing": [None] * 10,
            "day": pd.to_datetime(["2026-11-02"] * 10),
            "link": ["https://example.org/a/long/address"] * 10,
        }
    )
    link = {"type_config": {"display_text": "Ouvrir"}}
    assert chars(tables.needed_width(frame, "n", header=False)) == len("1 234 567,5")
    assert chars(tables.needed_width(frame, "t", header=False)) == 4
    assert chars(tables.needed_width(frame, "missing", header=False)) == 1  # "—"
    assert chars(tables.needed_width(frame, "day", header=False)) == len("2026-11-02 00:00:00")
    assert chars(tables.needed_width(frame, "link", link, header=False)) == len("Ouvrir")
    assert chars(tables.needed_width(frame, "link", {"label": "Adresse du lien"})) == 34
    assert chars(tables.needed_width(frame[:0], "t")) == 1  # its header only


@pytest.mark.parametrize(
    ("narrow", "name"),
    [(("Campement", "Inconnue"), "alertes"), (("a", "b", "c", "d"), "alertes"), (("a",), None)],
)
def test_a_wrong_narrow_table_is_refused(narrow: tuple[str, ...], name: str | None) -> None:
    import pandas as pd

    frame = pd.DataFrame({c: [1] for c in ("Campement", "a", "b", "c", "d")})
    with pytest.raises(ValueError, match="narrow table"):
        tables.show(frame, narrow=narrow, name=name)


def test_the_style_sheet_switches_at_streamlits_column_breakpoint() -> None:
    css = screens.css()
    phone, wider = css.strip().splitlines()
    query = f"(max-width: {screens.NARROW_MAX_PX}px)"
    assert phone.startswith(f"@media {query}") and wider.startswith(f"@media not all and {query}")
    for kind in screens.KINDS:
        assert f"st-key-{kind}{screens.WIDE}-" in phone and f"{kind}{screens.NARROW}-" not in phone
        assert f"st-key-{kind}{screens.NARROW}-" in wider and f"{kind}{screens.WIDE}-" not in wider
    assert query in map_view.PHONE_CSS  # one breakpoint for the whole app


def test_the_app_loads_the_style_sheet(app_config: Path) -> None:
    at = new_app().run()
    assert any(screens.css() in str(h.proto.body) for h in at.get("html"))


def _shows_calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "show"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"tables", "french_tables"}
    ]


def test_every_table_of_the_app_says_what_a_phone_shows() -> None:
    files = [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "carto" / "ui").glob("*.py"))]
    calls = {path.name: _shows_calls(path) for path in files}
    assert sum(len(found) for found in calls.values()) >= 10
    for name, found in calls.items():
        for call in found:
            given = {keyword.arg for keyword in call.keywords}
            assert {"narrow", "name"} <= given, f"{name}:{call.lineno}"


def _pairs(at: AppTest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tables of a page in the containers of ``carto.ui.screens``, by name."""
    found: dict[str, dict[str, Any]] = {screens.WIDE: {}, screens.NARROW: {}}
    for block in at.container:
        for screen in found:
            prefix = f"table{screen}-"
            if block.key and block.key.startswith(prefix):
                (table,) = [*block.dataframe, *block.table]
                found[screen][block.key.removeprefix(prefix)] = table.value
    return found[screens.WIDE], found[screens.NARROW]


@pytest.mark.parametrize(
    ("role", "path"),
    [("coordinateur", spec.path) for spec in specs_for("coordinateur")]
    + [("admin", "pages/admin_utilisateurs.py"), ("admin", "pages/admin_journal.py")],
)
def test_every_table_of_a_page_has_its_phone_version(
    app_config: Path, role: str, path: str
) -> None:
    at = login(new_app(), role)
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    wide, narrow = _pairs(at)
    assert len(at.dataframe) + len(at.table) == len(wide) + len(narrow)  # none outside
    assert list(wide) == list(narrow)
    for name, full in wide.items():
        columns = list(narrow[name].columns)
        assert 1 <= len(columns) <= tables.NARROW_MAX_COLUMNS, (path, name, columns)
        assert [c for c in full.columns if c in columns] == columns, (path, name)
        assert len(narrow[name]) == len(full), (path, name)


def test_the_dashboard_draws_one_small_needs_chart_per_item(app_config: Path) -> None:
    at = login(new_app(), "coordinateur")
    at.switch_page("pages/tableau_de_bord.py").run()
    assert not at.exception
    (wide,) = at.container(screens.key("chart", screens.WIDE, "needs")).get("plotly_chart")
    narrow_box = at.container(screens.key("chart", screens.NARROW, "needs"))
    small = narrow_box.get("plotly_chart")
    facets = [a["text"] for a in json.loads(wide.proto.spec)["layout"]["annotations"]]
    assert len(facets) >= 2
    assert [m.value.strip("*") for m in narrow_box.markdown] == facets
    assert len(small) == len(facets)
    for chart in small:
        layout = json.loads(chart.proto.spec)["layout"]
        assert not layout.get("annotations")  # no facets: one item each
        assert layout["legend"]["orientation"] == "h"
