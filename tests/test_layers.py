"""The layers of the code base, stated as import-linter contracts in pyproject.toml
([tool.importlinter]) and checked by ``lint-imports`` (also run by ``make lint``)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from testing.app import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept() -> None:
    """Within carto only carto.ui imports Streamlit, nothing else in carto imports
    carto.ui, the app imports no test, benchmark or page, benchmarks no test."""
    run = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    kept = [line for line in run.stdout.splitlines() if line.endswith(" KEPT")]
    assert "Within carto, only carto.ui imports Streamlit KEPT" in kept, run.stdout
    assert ", 0 broken." in run.stdout


def test_type_checking_covers_all_the_code_that_runs() -> None:
    """``make lint`` and ``make typecheck`` run mypy on what pyproject.toml lists: the
    package, the router, every page script and the helpers tests and benchmarks share."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert {"carto", "app.py", "pages", "testing"} <= set(config["files"])
    assert config["disallow_untyped_defs"] and config["disallow_any_generics"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = next(line for line in makefile.splitlines() if line.startswith("lint:"))
    assert "typecheck" in lint.split()
