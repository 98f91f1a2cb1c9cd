"""Every page, for every role, under AppTest: French numbers, no "None"/"nan", no "(s)"
(issue 13).

What the browser cannot read is checked here, at the level where pages hand it over to
Streamlit: the tables' cells (drawn on a canvas in the browser: their display values and
their placeholder for a missing value), the charts' number separators, date formats and
hover texts, the metrics' deltas, the map tooltips. The visible text of the pages is
read in the browser too (tests/e2e/test_french_in_browser.py).

Exclusions, stated: text typed by the teams (comments, place and camp names, team names)
is shown as typed, so only numbers the app writes are checked for a decimal point:
metric values and deltas, numeric table columns, chart numbers, captions and messages
written from the catalogue.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit import config as streamlit_config
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from carto.accounts import ROLES
from carto.export import contents as export_contents
from carto.i18n import MISSING, t
from carto.map_view import TOOLTIP_FIELDS
from carto.ui import charts, layout, navigation, screens, tables
from testing.app import ROOT, login, new_app, run_page

MISSING_WORDS = re.compile(r"\b(None|nan|NaN|NaT|null)\b|<NA>")
DECIMAL_POINT = re.compile(r"\d\.\d")
NUMBER_CELL = re.compile(r"[\d\s\u202f.,+\u2212-]+")  # a cell holding a number only
PARENTHESISED_PLURAL = re.compile(r"\((e?s|e)\)")
TAG = re.compile(r"<[^>]+>")
# A hover label plotly took from a column key ("week=…"), not from the French labels.
RAW_HOVER_LABEL = re.compile(r"(?:^|<br>)([a-z_]+)[=:]\s*%\{")


def element_texts(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) for every text the page shows outside tables and charts."""
    for kind in ("title", "header", "subheader", "markdown", "caption", "text"):
        for element in at.get(kind):
            yield kind, TAG.sub(" ", str(element.value))
    for kind in ("info", "warning", "error", "success"):
        for element in at.get(kind):
            yield kind, str(element.value)
    for metric in at.metric:
        yield "metric", f"{metric.label} {metric.value} {metric.delta or ''}"
    for tab in at.tabs:
        yield "tab", str(tab.label)


def table_problems(at: AppTest) -> Iterator[str]:
    for table in at.dataframe:
        proto = table.proto
        if proto.placeholder != MISSING:
            yield f"table without the French placeholder: {list(table.value.columns)}"
        raw = table.value
        shown_bytes = proto.arrow_data.styler.display_values
        if not shown_bytes:  # texts only: shown as they are, the placeholder where missing
            if not tables.plain_text(raw):
                yield f"table without French display values: {list(raw.columns)}"
            for column in raw.columns:
                for cell in raw[column].dropna().tolist():
                    if MISSING_WORDS.search(str(cell)):
                        yield f"table {column}: {cell!r}"
            continue
        shown = dataframe_util.convert_arrow_bytes_to_pandas_df(shown_bytes)
        for column in raw.columns:
            cells = [str(v) for v in shown[column].tolist()]
            for cell in cells:
                if MISSING_WORDS.search(cell):
                    yield f"table {column}: {cell!r}"
            numeric = pd.api.types.is_numeric_dtype(raw[column]) and not (
                pd.api.types.is_bool_dtype(raw[column])
            )
            if numeric:  # typed text (comments, names) is shown as typed
                for cell in cells:
                    if DECIMAL_POINT.search(cell):
                        yield f"table {column}: {cell!r}"
    for static in at.table:  # texts already written, markdown-escaped (the map's camp list)
        frame = static.value
        for column in frame.columns:
            for cell in (str(v).replace("\\", "") for v in frame[column].tolist()):
                number = NUMBER_CELL.fullmatch(cell) and DECIMAL_POINT.search(cell)
                if MISSING_WORDS.search(cell) or number:
                    yield f"static table {column}: {cell!r}"


def chart_problems(at: AppTest) -> Iterator[str]:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        if layout.get("separators") != charts.SEPARATORS:
            yield f"chart without French separators: {layout.get('separators')!r}"
        for trace in spec.get("data", []):
            template = str(trace.get("hovertemplate", ""))
            for label in RAW_HOVER_LABEL.findall(template):
                yield f"chart hover label {label!r}: {template!r}"
            axis = "xaxis" + str(trace.get("xaxis", "x")).removeprefix("x")
            is_date = layout.get(axis, {}).get("type") == "date" or any(
                isinstance(x, str) and re.match(r"\d{4}-\d\d-\d\d", x)
                for x in (trace.get("x") if isinstance(trace.get("x"), list) else [])[:1]
            )
            if is_date and layout.get(axis, {}).get("hoverformat") != charts.DATE_FORMAT:
                yield f"chart date axis {axis} without a French hover date"


def tooltip_texts(at: AppTest) -> Iterator[str]:
    for chart in at.get("deck_gl_json_chart"):
        spec = json.loads(chart.proto.json)
        for layer in spec.get("layers", []):
            data = layer.get("data")
            for row in data if isinstance(data, list) else []:
                for field in TOOLTIP_FIELDS:
                    if field in row:
                        yield TAG.sub(" ", str(row[field]))


def page_problems(at: AppTest) -> list[str]:
    problems = []
    texts = [*element_texts(at), *(("tooltip", x) for x in tooltip_texts(at))]
    for where, text in texts:
        for pattern in (MISSING_WORDS, PARENTHESISED_PLURAL, DECIMAL_POINT):
            if pattern.search(text):
                problems.append(f"{where}: {text[:200]!r}")
    problems += table_problems(at)
    problems += chart_problems(at)
    return problems


def open_page(at: AppTest, path: str, role: str) -> AppTest:
    at.switch_page(path).run()
    at.run()  # under AppTest, the first run after a switch sees the widget defaults
    assert not at.exception, (path, [e.value for e in at.exception])
    if path == "pages/carte.py":
        at.pills(key="couches").set_value(["camps", "zones", "gaps", "evacuations"]).run()
    if path == "pages/export.py":
        allowed = export_contents.datasets_for_role(role)
        at.multiselect(key="export_datasets").set_value(list(allowed)).run()
    return at


@pytest.mark.parametrize("role", ROLES)
def test_every_page_writes_french_numbers_and_no_missing_value_word(
    app_config: Path, role: str
) -> None:
    at = login(new_app(), role)
    problems: dict[str, list[str]] = {}
    tables = charts_seen = 0
    for spec in navigation.specs_for(role):
        open_page(at, spec.path, role)
        tables += len(at.dataframe)
        charts_seen += len(at.get("plotly_chart"))
        found = page_problems(at)
        if found:
            problems[spec.path] = found
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert tables > 0  # the walk really read tables
    if role != "benevole":
        assert charts_seen > 0


def test_the_checks_catch_english_numbers_and_none() -> None:
    """The patterns above are not vacuous: they catch what the pages used to show."""
    assert DECIMAL_POINT.search("167.5") and not DECIMAL_POINT.search("167,5")
    assert MISSING_WORDS.search("None") and MISSING_WORDS.search("nan")
    assert not MISSING_WORDS.search("Nancy")
    assert PARENTHESISED_PLURAL.search("10 alerte(s)")
    assert NUMBER_CELL.fullmatch("1 062.5") and not NUMBER_CELL.fullmatch("Porte 3.2")
    assert RAW_HOVER_LABEL.findall("week=%{x}<br>Personnes=%{y}") == ["week"]
    assert not RAW_HOVER_LABEL.findall("Semaine du=%{x}<br>Personnes=%{y}")


def test_tables_write_numbers_the_french_way_and_keep_them_sortable() -> None:
    frame = pd.DataFrame(
        {
            "score": [167.5, 1234.25, float("nan")],
            "people": [1.0, 12345.0, 7.0],
            "count": [1, 12345, 7],
            "latitude": [48.816237767, 48.9, 48.85],
            "flag": [True, False, True],
            "name": pd.Series(["a", None, "c"], dtype="str"),
        }
    )
    styled = tables.french(frame)
    shown = styled._translate(False, False)["body"]  # the display values Streamlit sends
    cells = [[cell["display_value"] for cell in row[1:]] for row in shown]
    nbsp = "\u202f"
    assert cells[0][:4] == ["167,50", "1", "1", "48,816238"]
    assert cells[1][:3] == [f"1{nbsp}234,25", f"12{nbsp}345", f"12{nbsp}345"]
    assert cells[2][0] == MISSING and cells[1][5] == MISSING
    assert styled.data["score"].dtype.kind == "f"  # the cells keep their numbers


def test_streamlit_config_hides_its_english_chrome() -> None:
    """The top bar ("Running…", "Stop"), the menu ("Print", "Settings", "About") and the
    tables' CSV download are hidden by settings Streamlit knows; the table toolbars and
    column menus, which no setting hides, by the app's style sheet."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["toolbarMode"] == "minimal"
    assert config["client"]["disableDataExport"] is True
    assert config["ui"]["hideTopBar"] is True
    known = streamlit_config._config_options_template
    for section, options in config.items():
        for name in options:
            assert f"{section}.{name}" in known, f"{section}.{name}"
    css = layout.english_chrome_css()
    assert '[data-testid="stElementToolbar"]' in css
    assert '[data-testid="stDataFrameColumnMenu"]' in css
    assert t("widget.no_results") in css


def test_a_table_of_texts_is_drawn_as_it_is_with_the_placeholder(app_config: Path) -> None:
    """Texts need no French writing: such a table (the quality list: hundreds of rows at
    100,000 passages) is drawn without a Styler rewriting every cell in every session,
    its missing cells left to the "—" placeholder; a table with numbers keeps its
    French display values."""
    assert tables.plain_text(pd.DataFrame({"a": ["x", None], "b": [None, None]}))
    for other in ([1.5, None], [True, False], [pd.Timestamp("2026-01-05"), None]):
        assert not tables.plain_text(pd.DataFrame({"a": ["x", "y"], "b": other}))
    at = run_page("pages/qualite.py", role="admin")
    (records,) = at.container(screens.key("table", screens.WIDE, "quality-records")).dataframe
    assert tables.plain_text(records.value) and records.value["airtable_url"].isna().all()
    assert not records.proto.arrow_data.styler.display_values
    assert records.proto.placeholder == MISSING
    (kinds,) = at.container(screens.key("table", screens.WIDE, "quality-kinds")).dataframe
    assert kinds.proto.arrow_data.styler.display_values  # its counts, the French way
