"""Pages only render (docs/architecture.md §8): figures are computed in carto/ and
reached through carto.ui.data, and settings are read through typed options, so a page
script holds no computation and reads no setting by its name."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from carto.analytics import figures, history, quality, weeks
from carto.dataset import Dataset
from carto.i18n import FR
from carto.settings import SETTINGS
from testing.app import ROOT

PAGES = sorted((ROOT / "pages").glob("*.py"))
# Frame computations that belong in carto/analytics (or carto.ui.data), not in a page.
COMPUTING = {"groupby", "value_counts", "melt", "pivot_table", "resample", "chain_table"}
SETTING_KEYS = {s.key for s in SETTINGS}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in COMPUTING:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value in SETTING_KEYS
        ):
            found.append(f"{path.name}:{node.lineno} setting {node.slice.value!r} read by name")
    return found


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_only_renders(path: Path) -> None:
    assert _offences(path) == []


def test_weekly_passages_and_items_per_monday_and_association(demo_dataset: Dataset) -> None:
    rows = demo_dataset.passages
    expected_passages: dict[tuple[pd.Timestamp, str], int] = {}
    expected_items: dict[tuple[pd.Timestamp, str], float] = {}
    items = rows[[c for c in rows.columns if c.endswith("_given")]].sum(axis=1)
    for day, association, given in zip(rows["day"], rows["association"], items, strict=True):
        key = (pd.Timestamp(day).normalize() - pd.Timedelta(days=day.weekday()), association)
        expected_passages[key] = expected_passages.get(key, 0) + 1
        expected_items[key] = expected_items.get(key, 0) + given

    per_week = weeks.weekly_passages(rows)
    got = {(r.week, r.association): r.passages for r in per_week.itertuples()}
    assert got == expected_passages
    assert set(per_week["week"].dt.day_of_week) == {0}

    given_per_week = figures.weekly_items(rows)
    got_items = {(r.week, r.association): r.items for r in given_per_week.itertuples()}
    assert got_items == pytest.approx(expected_items)


def test_record_counts(demo_dataset: Dataset) -> None:
    ds = demo_dataset
    issues = quality.issue_list(ds.passages, ds.sites, ds.quarantine, "", {})
    counts = quality.record_counts(ds.passages, ds.sites, ds.quarantine, issues)
    flagged = sum(len(c) > 0 for f in (ds.passages, ds.sites) for c in f["flag_codes"])
    assert counts.flagged == flagged
    assert counts.quarantined == len(ds.quarantine)
    assert counts.used == len(ds.passages) + len(ds.sites)
    assert counts.total == counts.used + counts.quarantined


def test_camp_choices_name_camps_and_tell_apart_a_shared_name() -> None:
    day = pd.Timestamp("2026-01-05")
    camps = pd.DataFrame(
        {
            "camp_id": ["S-a", "S-b", "P-c", "S-d"],
            "name": ["Quai", "Quai", "Pont", "Gare"],
            "last_visit": [day, day + pd.Timedelta(days=2), day + pd.Timedelta(days=1), day],
        }
    )
    passages = pd.DataFrame({"camp_id": ["S-a", "S-b", "P-c", "S-b"]})  # no passage of S-d
    chosen = history.camp_choices(camps, passages)
    assert chosen["camp_id"].tolist() == ["S-b", "P-c", "S-a"]  # latest visit first
    assert chosen["label"].tolist() == ["Quai (S-b)", "Pont", "Quai (S-a)"]


def test_issue_kinds_are_codes_until_shown(demo_dataset: Dataset) -> None:
    """``counts_by_kind`` holds the kinds' codes; their French text is the catalogue's,
    written where the page shows them."""
    ds = demo_dataset
    issues = quality.issue_list(ds.passages, ds.sites, ds.quarantine, "", {})
    kinds = quality.counts_by_kind(issues)
    assert list(kinds.columns) == ["status", "codes", "records"]
    assert set(kinds["codes"]) <= {k.removeprefix("kind.") for k in FR if k.startswith("kind.")}


def test_issue_links_fill_the_record_template_for_each_record(demo_dataset: Dataset) -> None:
    """The links of flagged records: Airtable's record address of each, whatever the
    table's name holds (spaces, braces); none without a base."""
    from carto.normalise import AIRTABLE_RECORD_URL

    ds = demo_dataset
    names = {"passages": "Passages {2026}", "sites": "Sites"}
    issues = quality.issue_list(ds.passages, ds.sites, ds.quarantine, "appBASE", names)
    flagged = issues[issues["status"] == quality.FLAGGED]
    assert len(flagged) >= 2 and set(flagged["table"]) >= {"passages"}
    expected = [
        AIRTABLE_RECORD_URL.format(base="appBASE", table=names[table], record=record)
        for table, record in zip(flagged["table"], flagged["record_id"], strict=True)
    ]
    assert flagged["airtable_url"].tolist() == expected
    plain = quality.issue_list(ds.passages, ds.sites, ds.quarantine, "", names)
    assert plain.loc[plain["status"] == quality.FLAGGED, "airtable_url"].isna().all()
