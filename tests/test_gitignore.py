"""Files the app and the command line write by default never get into git (issue 14,
item 10): every default path is computed from the code, then asked to ``git
check-ignore`` in this checkout."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from carto import accounts, private_files
from carto.analytics.figures import Period
from carto.export import files, formats, names
from carto.export.contents import DATASETS
from carto.filters import Filters
from carto.settings import Settings
from testing.app import ROOT

STORE_KEYS = ("store.path", "store.demo_path")


def ignored(paths: list[Path]) -> set[Path]:
    """The paths git ignores in this checkout (whether they exist or not)."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(str(p.relative_to(ROOT)) for p in paths),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: none ignored
    return {ROOT / line for line in done.stdout.splitlines() if line}


def with_companions(paths: list[Path]) -> list[Path]:
    return [
        q
        for p in paths
        for q in (p, *(p.with_name(p.name + s) for s in private_files.SQLITE_COMPANIONS))
    ]


def default_stores() -> list[Path]:
    """The snapshot and demo snapshot at their default paths (resolved against the
    config's folder, here the checkout), and at the checkout's root."""
    settings = Settings({}, None, ROOT)
    stores = [settings.path(key) for key in STORE_KEYS]
    return with_companions([*stores, *(ROOT / p.name for p in stores)])


def default_export_names() -> list[str]:
    """Every name ``python -m carto export`` derives without ``--output``: each dataset
    (all of them in one workbook too), format, role and variant."""
    period = Period.last_days(dt.date(2026, 11, 26), 30)
    groups = [[d] for d in DATASETS] + [list(DATASETS)]
    out = []
    for group in groups:
        for fmt in formats.FORMATS:
            for role in accounts.ROLES:
                for variant in ("", files.EXCEL_FR_VARIANT):
                    for f in (Filters(), Filters(associations=("Utopia 56",))):
                        out.append(names.file_name(group, fmt, period, f, role, variant))
    return out


@pytest.fixture(scope="module", autouse=True)
def git_checkout() -> None:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        pytest.skip("not a git checkout")


def test_default_snapshots_and_their_sqlite_companions_are_ignored() -> None:
    paths = default_stores()
    assert ROOT / "snapshot.sqlite" in paths  # a snapshot left at the root
    assert set(paths) - ignored(paths) == set()


def test_default_export_files_and_their_temporary_files_are_ignored() -> None:
    exported = default_export_names()
    paths = [ROOT / n for n in exported] + [ROOT / "benchmarks" / n for n in exported]
    # write_private's temporary file: ".<name>.<random>.tmp" beside the destination.
    paths += [ROOT / f".{n}.k2j4h1xq.tmp" for n in exported]
    assert set(paths) - ignored(paths) == set()


def test_the_default_accounts_file_and_its_temporary_file_are_ignored() -> None:
    path = Settings({}, None, ROOT).path("auth.accounts_path")
    paths = [path, path.with_name(".accounts-k2j4h1xq.tmp"), path.with_name(path.name + ".lock")]
    assert set(paths) - ignored(paths) == set()


def test_the_source_is_not_ignored() -> None:
    """The patterns stay narrow: no tracked file of the project matches them."""
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    paths = [ROOT / p for p in tracked]
    assert paths and ignored(paths) == set()
