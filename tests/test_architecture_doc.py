"""docs/architecture.md is the design reference the code cites (issue 19, item 11).

No file outside docs/ cites the old design file, which lived outside the repository;
every "docs/architecture.md §n" cited names a section the document has; and the module
paths and settings the document names exist, so that it does not drift from the code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from carto import settings
from testing.app import ROOT

DOC = ROOT / "docs" / "architecture.md"
SECTION = re.compile(r"^## §(\d+)\. \S", re.MULTILINE)
# "docs/architecture.md §5", "docs/architecture.md §5, §6": every number is a citation.
CITATION = re.compile(r"docs/architecture\.md (§\d+(?:, §\d+)*)")
# The old reference, written so that this file does not match itself.
OLD_DESIGN = re.compile(r"\bDESIG[N]\b")
MODULE_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.py)`")
SETTING = re.compile(r"\[(\w+)\] (\w+)")


def repository_files() -> list[Path]:
    """Every file of the checkout that git tracks or would track (ignored ones left out)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    paths = [ROOT / name for name in listed.split("\0") if name]
    return sorted(p for p in paths if p.is_file())


def outside_docs() -> list[Path]:
    return [p for p in repository_files() if p.relative_to(ROOT).parts[0] != "docs"]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def cited_sections(text: str) -> list[int]:
    """The section numbers a text cites from docs/architecture.md, in order."""
    return [int(n) for group in CITATION.findall(text) for n in re.findall(r"§(\d+)", group)]


def old_design_citations(text: str) -> list[str]:
    """The lines of a text that still cite the old design file."""
    return [line.strip() for line in text.splitlines() if OLD_DESIGN.search(line)]


def documented_sections() -> list[int]:
    return [int(n) for n in SECTION.findall(read(DOC))]


def test_the_checks_find_what_they_look_for() -> None:
    """The patterns below are what the other tests rely on: a citation list is read
    whole, and only the old file's name in capitals counts as an old citation. (The
    texts are built here so that this file cites nothing itself.)"""
    doc = "docs/architecture" + ".md"
    assert cited_sections(f"roles ({doc} §5, §6); see {doc} §12.") == [5, 6, 12]
    assert cited_sections(f"{doc}, the whole file") == []
    old = "DESI" + "GN"
    assert old_design_citations(f"x = 1\n# ({old} §4) population\n") == [f"# ({old} §4) population"]
    assert old_design_citations(f"see {old}.md") == [f"see {old}.md"]
    assert old_design_citations("the design of the map; DESIGNER") == []


def test_sections_are_numbered_from_one_without_gaps() -> None:
    found = documented_sections()
    assert found, "no '## §n. Title' heading in docs/architecture.md"
    assert found == list(range(1, len(found) + 1)), found


def test_no_file_outside_docs_cites_the_old_design_file() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {line}"
        for path in outside_docs()
        for line in old_design_citations(read(path))
    ]
    assert found == [], "cite docs/architecture.md §n instead:\n" + "\n".join(found)


def test_every_cited_section_exists() -> None:
    sections = set(documented_sections())
    cited = {
        (str(path.relative_to(ROOT)), n)
        for path in outside_docs()
        for n in cited_sections(read(path))
    }
    assert cited, "no file cites docs/architecture.md: is CITATION still the way code cites it?"
    missing = sorted((path, n) for path, n in cited if n not in sections)
    assert missing == [], f"sections cited but not in docs/architecture.md: {missing}"


def test_the_paths_the_document_names_exist() -> None:
    """A module path in backquotes (``carto/sync.py``, or ``analytics/camps.py`` under
    carto/) names a file of the repository."""
    named = set(MODULE_PATH.findall(read(DOC)))
    assert named, "docs/architecture.md names no module path"
    missing = sorted(
        p for p in named if not (ROOT / p).is_file() and not (ROOT / "carto" / p).is_file()
    )
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"


def test_the_settings_the_document_names_are_declared() -> None:
    named = {f"{section}.{name}" for section, name in SETTING.findall(read(DOC))}
    assert named, "docs/architecture.md names no [section] setting"
    declared = {s.key for s in settings.SETTINGS}
    assert sorted(named - declared) == [], "docs/architecture.md names undeclared settings"
