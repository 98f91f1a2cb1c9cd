"""``python -m carto export`` end to end on the demo (issue 7, docs/architecture.md §6)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from carto import cli, privacy
from carto.analytics import figures
from carto.dataset import Dataset, build_dataset, open_store
from carto.export import contents as X
from carto.filters import Filters
from carto.i18n import t, t_n
from carto.options import AnalysisOptions
from carto.settings import Settings, load_settings
from carto.store import AuthStore
from testing.app import ROOT
from tests.conftest import write_demo_config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_config(tmp_path_factory.mktemp("export_cli"))


@pytest.fixture(scope="module")
def settings(config: Path) -> Settings:
    return load_settings(config)


@pytest.fixture(scope="module")
def ds(settings: Settings) -> Dataset:
    """The dataset the command sees (the demo as of today)."""
    return build_dataset(settings, open_store(settings))


def export(config: Path, *args: str) -> int:
    return cli.main(["--config", str(config), "export", *args])


def audit_entries(settings: Settings) -> list[dict[str, object]]:
    return AuthStore(settings.store_path).audit_log(event="export")


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_export_passages_csv_with_filters_holds_the_views_rows(
    config: Path,
    settings: Settings,
    ds: Dataset,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start, end = ds.today.replace(day=1), ds.today
    out = tmp_path / "passages.csv"
    code = export(
        config,
        "--dataset", "passages",
        "--format", "csv",
        "--from", f"{start:%Y-%m-%d}",
        "--to", f"{end:%Y-%m-%d}",
        "--association", "utopia 56",
        "--output", str(out),
    )  # fmt: skip
    assert code == 0
    rows = read_csv(out)
    f = Filters(period="perso", custom=(start, end), associations=("Utopia 56",))
    view = ds.passages[ds.passages["association"] == "Utopia 56"]
    shown = figures.in_period(view, f.period_for(ds.today, X.first_day(ds)))
    assert len(rows) == len(shown) > 0
    assert {r["Identifiant Airtable"] for r in rows} == set(shown["record_id"])
    assert {r["Association"] for r in rows} == {"Utopia 56"}
    assert all(r["Identifiant du campement"] for r in rows)
    printed = capsys.readouterr().out
    assert (
        t_n("count.lines", len(rows)) in printed
        and f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}" in printed
    )
    entry = audit_entries(settings)[0]
    details = entry["details"]
    assert isinstance(details, dict)
    assert str(entry["username"]).startswith("cli")
    assert details["dataset"] == "passages" and details["format"] == "csv"
    assert details["rows"] == len(rows) and details["role"] == "coordinateur"
    assert details["filters"]["associations"] == ["Utopia 56"]
    assert details["filters"]["du"] == f"{start:%Y-%m-%d}"
    assert details["filters"]["fichier"] == str(out.resolve())


def test_defaults_all_time_coordinator_and_a_derived_name(
    config: Path, settings: Settings, ds: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert export(config, "--dataset", "events", "--format", "xlsx") == 0
    (made,) = tmp_path.glob("*.xlsx")
    first = X.first_day(ds)
    assert made.name == f"cartocampement_events_{first:%Y-%m-%d}_{ds.today:%Y-%m-%d}.xlsx"
    ws = openpyxl.load_workbook(made)["Évacuations"]
    scope = X.scope_for(ds, "coordinateur", settings, Filters(period="tout"))
    expected = X.build_one(scope, AnalysisOptions.from_settings(settings), "events")
    assert ws.max_row - 1 == expected.rows > 0
    assert ws.freeze_panes == "A2"


def test_several_datasets_in_one_workbook(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.xlsx"
    args = [a for d in X.DATASETS for a in ("--dataset", d)]
    assert export(config, *args, "--format", "xlsx", "--output", str(out)) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "Passages",
        "Sites",
        "Campements",
        "Évacuations",
        "Zones",
        "Population estimée",
    ]


def test_partner_export_is_blurred_and_excel_francais(
    config: Path, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "zones.csv"
    code = export(
        config, "--dataset", "camps", "--format", "csv", "--excel-fr", "--role", "partenaire",
        "--output", str(out),
    )  # fmt: skip
    assert code == 0
    rows = read_csv(out, delimiter=";")
    assert rows
    for row in rows:
        lat = float(row["Latitude"].replace(",", "."))
        lon = float(row["Longitude"].replace(",", "."))
        assert privacy.is_zone_centre(lat, lon, 8)
        for key in ("Personnes", "Mineurs non accompagnés", "Familles", "Enfants"):
            assert not (row[key].isdigit() and 0 < int(row[key]) < 5), (key, row[key])
    details = audit_entries(settings)[0]["details"]
    assert isinstance(details, dict)
    assert details["role"] == "partenaire" and details["format"] == "csv-excel-fr"


def test_geojson_to_standard_output(
    config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert export(config, "--dataset", "zones", "--format", "geojson", "--output", "-") == 0
    captured = capsysbinary.readouterr()
    doc = json.loads(captured.out)
    assert doc["type"] == "FeatureCollection" and doc["features"]
    assert "Export écrit dans -" in captured.err.decode("utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv"], "Option --dataset manquante"),
        (["--dataset", "passages"], "Option --format manquante"),
        (["--dataset", "personnes", "--format", "csv"], "Jeu de données inconnu « personnes »"),
        (["--dataset", "passages", "--format", "pdf"], "Format inconnu « pdf »"),
        (["--dataset", "passages", "--format", "csv", "--from", "26/11/2026"], "Date invalide"),
        (
            [
                "--dataset",
                "passages",
                "--format",
                "csv",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-01",
            ],
            "après la date de fin",
        ),
        (
            ["--dataset", "passages", "--format", "csv", "--association", "Inconnue"],
            "Association inconnue « Inconnue »",
        ),
        (["--dataset", "camps", "--format", "csv", "--role", "benevole"], "aucun export"),
        (["--dataset", "camps", "--format", "csv", "--role", "chef"], "Rôle inconnu « chef »"),
        (["--dataset", "passages", "--format", "csv", "--role", "partenaire"], "pas exportable"),
        (["--dataset", "population", "--format", "kml"], "n'a pas de position"),
        (["--dataset", "camps", "--dataset", "zones", "--format", "csv"], "seul XLSX"),
        (["--dataset", "camps", "--format", "xlsx", "--excel-fr"], "--excel-fr"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_french_message(
    config: Path,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = len(audit_entries(settings))
    assert export(config, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("Export impossible : ") and message in err
    assert not list(tmp_path.iterdir())
    assert len(audit_entries(settings)) == before


def test_an_unwritable_output_exits_one(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-folder" / "x.csv"
    assert export(config, "--dataset", "zones", "--format", "csv", "--output", str(target)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Export impossible : ") and "n'existe pas" in err
    assert not list(tmp_path.iterdir())


# ------------------------------------------------- destination (issue 14, item 10)


def zones_csv(config: Path, target: Path | str, *extra: str) -> int:
    return export(config, "--dataset", "zones", "--format", "csv", "--output", str(target), *extra)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_file_is_kept_without_force(
    config: Path, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "zones.csv"
    out.write_bytes(b"someone else's file")
    before = len(audit_entries(settings))
    assert zones_csv(config, out) == 1
    err = capsys.readouterr().err
    assert err.startswith("Export impossible : ") and "existe déjà" in err and "--force" in err
    assert out.read_bytes() == b"someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["zones.csv"]  # no temporary file left
    assert len(audit_entries(settings)) == before


def test_the_derived_name_is_not_overwritten_either(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert export(config, "--dataset", "zones", "--format", "geojson") == 0
    (made,) = tmp_path.iterdir()
    first = made.read_bytes()
    capsys.readouterr()
    assert export(config, "--dataset", "zones", "--format", "geojson") == 1
    assert "existe déjà" in capsys.readouterr().err
    assert made.read_bytes() == first
    assert export(config, "--dataset", "zones", "--format", "geojson", "--force") == 0
    assert [p.name for p in tmp_path.iterdir()] == [made.name]


def test_force_replaces_the_file_atomically_owner_only(
    config: Path, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "zones.csv"
    out.write_bytes(b"old export")
    os.chmod(out, 0o644)
    same_file = tmp_path / "hard-link-to-the-old-export"
    os.link(out, same_file)
    assert zones_csv(config, out, "--force") == 0
    # A new file took the name: the old one (still reachable by its other name) was
    # neither truncated nor written in place.
    assert same_file.read_bytes() == b"old export"
    assert read_csv(out) and mode(out) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, same_file.name])
    details = audit_entries(settings)[0]["details"]
    assert isinstance(details, dict)
    assert details["filters"]["fichier"] == str(out.resolve())


def test_a_new_export_file_is_owner_only(config: Path, tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        assert zones_csv(config, tmp_path / "zones.csv") == 0
    finally:
        os.umask(previous)
    assert mode(tmp_path / "zones.csv") == 0o600


@pytest.mark.parametrize("force", [False, True], ids=["without-force", "with-force"])
def test_a_symbolic_link_at_the_destination_is_refused(
    config: Path,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    force: bool,
) -> None:
    victim = tmp_path / "accounts.yaml"
    victim.write_bytes(b"precious")
    link = tmp_path / "zones.csv"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "created-through-the-link.csv")
    before = len(audit_entries(settings))
    for target in (link, dangling):
        assert zones_csv(config, target, *(["--force"] if force else [])) == 1
        err = capsys.readouterr().err
        assert err.startswith("Export impossible : ") and "lien symbolique" in err
    assert victim.read_bytes() == b"precious"
    assert link.is_symlink() and link.readlink() == victim
    assert not (tmp_path / "created-through-the-link.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accounts.yaml",
        "dangling.csv",
        "zones.csv",
    ]
    assert len(audit_entries(settings)) == before


def test_a_folder_as_destination_is_refused(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert zones_csv(config, tmp_path, "--force") == 1
    assert "est un dossier" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_audit_entry_holds_the_full_resolved_path(
    config: Path, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real-folder"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    monkeypatch.chdir(tmp_path)
    assert zones_csv(config, "alias/zones.csv") == 0
    details = audit_entries(settings)[0]["details"]
    assert isinstance(details, dict)
    assert details["filters"]["fichier"] == str(real.resolve() / "zones.csv")
    assert (real / "zones.csv").is_file()


def test_python_dash_m_carto_export(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "camps.kml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "carto", "--config", str(config), "export",
         "--dataset", "camps", "--format", "kml", "--output", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Export écrit dans" in done.stdout
    assert out.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_check_prints_each_reason_and_flag_in_french(
    config: Path, ds: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check`` writes the quarantine's reasons and the passages' flags from their codes
    and the values they quote (the frames hold no text)."""
    assert cli.main(["--config", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert len(ds.quarantine) and ds.passages["flag_codes"].map(len).gt(0).any()
    quarantine = ds.quarantine
    for codes, params in zip(quarantine["reason_codes"], quarantine["reason_params"], strict=True):
        assert t(codes[0], **params[0]) in out
    flagged = ds.passages[ds.passages["flag_codes"].map(len) > 0]
    for codes, params in zip(flagged["flag_codes"], flagged["flag_params"], strict=True):
        assert "; ".join(t(c, **p) for c, p in zip(codes, params, strict=True)) in out
    assert "{" not in out  # every placeholder filled
