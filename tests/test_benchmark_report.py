"""The benchmark's own helpers: tables, derived figures, targets, payload measurement.

Fast and timing-free: the benchmark itself runs with `make bench`, never in `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from benchmarks import fake_server, report
from benchmarks.pages import discover_pages, pages_in_files
from carto.map_view import camp_deck
from testing.app import ROOT


def test_markdown_table_aligns_columns() -> None:
    table = report.markdown_table(["what", "value"], [["a", "1"], ["longer label", "22"]])
    lines = table.splitlines()
    assert lines[0] == "| what         | value |"
    assert lines[1] == "|:-------------|------:|"
    assert lines[3] == "| longer label |    22 |"
    assert len({len(line) for line in lines}) == 1


def test_markdown_table_refuses_ragged_rows() -> None:
    with pytest.raises(ValueError, match="2 cells"):
        report.markdown_table(["a", "b", "c"], [["1", "2"]])


@pytest.mark.parametrize(
    ("ours", "naive", "text"),
    [(2, 101, "0.02"), (2, 1006, "0.002"), (22.7, 22.3, "1.02"), (0, 5, "0"), (5, None, "—")],
)
def test_ratio_is_ours_over_naive(ours: float, naive: float | None, text: str) -> None:
    assert report.fmt_ratio(ours, naive) == text


def test_units() -> None:
    assert report.fmt_seconds(0.2157) == "0.216 s"
    assert report.fmt_seconds(22.66) == "22.7 s"
    assert report.fmt_seconds(225.4) == "225 s"
    assert report.fmt_bytes(950) == "950 B"
    assert report.fmt_bytes(18_556) == "19 kB"
    assert report.fmt_bytes(80_280_000) == "80.3 MB"
    assert report.fmt_int(100_061) == "100,061"


def test_result_files_are_named_by_date_and_size() -> None:
    assert report.results_filename("2026-11-26", "100k") == "2026-11-26_100k.json"


def test_a_derived_listing_is_marked_and_counts_pages() -> None:
    listing = report.derived_listing([54, 9_910])
    assert listing["measured"] is False
    assert listing["calls"] == 1 + 100
    assert listing["seconds"] == pytest.approx(101 * 0.2)
    assert report.pages_needed(0) == 1  # an empty table still costs a call
    assert report.derived("20.2 s", measured=False) == "≈ 20.2 s (derived)"
    assert report.derived("20.2 s", measured=True) == "20.2 s"


def test_payload_bytes_is_the_json_sent_and_grows_with_points() -> None:
    def points(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "latitude": [48.88 + i / 1000 for i in range(n)],
                "longitude": [2.36] * n,
                "radius": [40.0] * n,
                "color": [[46, 160, 67, 210]] * n,
                "tooltip_html": [f"<b>Camp {i}</b>" for i in range(n)],
                "camp_id": [f"C{i}" for i in range(n)],
            }
        )

    deck = camp_deck(points(2))
    assert report.payload_bytes(deck) == len(deck.to_json().encode("utf-8"))
    assert report.payload_bytes(camp_deck(points(20))) > report.payload_bytes(deck)


def _result(no_change_calls: int, rps: float, warm: float, payload: int) -> dict[str, Any]:
    return {
        "size": "100k",
        "tables": 2,
        "ours": {
            "no_change": {"api_calls": no_change_calls},
            "full": {"records_per_second": rps, "status_429": 0},
        },
        "pages": {
            "pages": {"pages/a.py": {"warm_median_seconds": warm}},
            "map_payload_bytes": payload,
        },
        "map": {"bytes": payload, "passages": 99_000},
    }


def test_targets_met_and_missed() -> None:
    met = report.targets(_result(2, 480, 0.2, 20_000))
    assert [t["met"] for t in met] == [True, True, True, True]
    missed = report.targets(_result(3, 470, 1.6, 2_000_000))
    assert [t["met"] for t in missed] == [False, False, False, False]
    assert "94.0%" in missed[1]["measured"]
    assert "MISSED" in report.targets_table([{"size": "100k", "targets": missed}])
    assert "over: a" in missed[2]["measured"]


def test_page_and_payload_targets_are_only_judged_at_100k() -> None:
    small = {**_result(2, 460, 1.6, 20_000), "size": "10k"}
    assert [t["target"] for t in report.targets(small)] == [
        "refresh with no change: one call per table",
        "full sync ≥ 95 % of 500 records/s, no 429",
    ]


def test_the_concurrent_worker_target_counts_its_429s() -> None:
    result = _result(2, 480, 0.2, 20_000)
    worker = {"status_429": 0, "combined_share_of_limit": 0.97}
    result["ours"]["with_worker"] = worker
    judged = {t["target"]: t for t in report.targets(result)}
    shared = judged["no 429 while a sync --watch worker shares the base"]
    assert shared["met"] and "97.0% of the limit" in shared["measured"]
    result["ours"]["with_worker"] = {**worker, "status_429": 1}
    judged = {t["target"]: t for t in report.targets(result)}
    assert not judged["no 429 while a sync --watch worker shares the base"]["met"]


def test_write_json_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = report.write_json(tmp_path / "results" / "x.json", {"a": 1})
    assert json.loads(path.read_text("utf-8")) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_pages_are_found_in_router_order(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    for name in ("a.py", "b.py", "z.py"):
        (tmp_path / "pages" / name).write_text("", "utf-8")
    (tmp_path / "app.py").write_text('st.Page("pages/z.py")\nst.Page("pages/a.py")\n', "utf-8")
    assert pages_in_files(tmp_path) == ["pages/z.py", "pages/a.py", "pages/b.py"]


def test_the_benchmark_times_every_page_a_role_may_open() -> None:
    admin = discover_pages("admin")
    assert admin[0] == "pages/carte.py"
    assert set(discover_pages("partenaire")) < set(admin)


def test_machine_info_names_cores_cpu_ram_and_python() -> None:
    info = report.machine_info()
    assert {"nproc", "cpu_model", "ram_gib", "python"} <= set(info)
    assert info["nproc"] >= 1


def test_429_evidence_shows_the_late_request_that_bunched_the_window() -> None:
    # Six requests granted 0.22 s apart, the first one delayed 0.6 s on its way (a
    # collector pause): the fake counts six arrivals within one second, the sixth gets 429.
    slots = [0.0, 0.62, 0.84, 1.06, 1.28, 1.50]
    received = [0.6, 0.62, 0.84, 1.06, 1.28, 1.50]
    statuses = [200, 200, 200, 200, 200, 429]
    log = fake_server.ServerLog(
        requests=[
            ("GET", "/v0/app/Passages", s, r) for s, r in zip(statuses, received, strict=True)
        ],
        answers=[(r + 0.15, 0.001, s) for s, r in zip(statuses, received, strict=True)],
        gc_pauses=[],
    )
    assert fake_server.send_delays(log, slots)[0] == pytest.approx(0.6)
    [evidence] = fake_server.rate_limit_evidence(log, [(0.0, 0.6, 2)], 5, slots)
    assert evidence["counted_in_window"] == 5
    # Times from the first arrival counted (its slot + 0.6 s delay + 0.15 s latency).
    assert evidence["slots_s"][:2] == [-0.75, -0.13]
    assert evidence["received_s"][:2] == [-0.15, -0.13]
    assert evidence["client_gc_pauses"] == [{"at": -0.75, "seconds": 0.6, "generation": 2}]


def test_page_runs_peak_memory_is_their_own_not_the_spawning_process() -> None:
    """The page benchmark's peak memory is the page process's own: a child started by a
    process holding a lot of memory does not report the parent's peak (Linux carries
    ``ru_maxrss`` across fork and exec, which made the benchmark report its own peak)."""
    import subprocess
    import sys

    from benchmarks.pages import rss_mib

    held = bytearray(300 * 1024 * 1024)  # touched: resident in this process
    for i in range(0, len(held), 4096):
        held[i] = 1
    parent = rss_mib()
    code = "from benchmarks.pages import peak_rss_mib; print(peak_rss_mib())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    child = float(done.stdout)
    assert parent > 300 and 0 < child < 150, (parent, child)
    del held


def test_sync_runs_summarise_each_case_by_min_median_max() -> None:
    from benchmarks.sync_runs import _summary

    runs = [
        {
            "records_per_second": rps,
            "fetch_records_per_second": rps + 10,
            "commit_seconds": commit,
            "status_429": n429,
        }
        for rps, commit, n429 in ((450.0, 0.5, 0), (480.0, 0.1, 1), (470.0, 0.3, 0))
    ]
    summary = _summary(runs, ceiling=500.0)
    assert summary["runs"] == 3
    assert summary["share_of_ceiling"] == {"min": 0.9, "median": 0.94, "max": 0.96}
    assert summary["fetch_share_of_ceiling"]["median"] == pytest.approx(0.96)
    assert summary["commit_seconds"] == {"min": 0.1, "median": 0.3, "max": 0.5}
    assert summary["status_429"] == 1


def test_sync_runs_time_the_commits_parts_and_put_things_back(tmp_path: Path) -> None:
    from benchmarks.sync_runs import _summary, commit_parts
    from carto import prepared
    from carto.store import SnapshotStore

    write, frames = SnapshotStore.upsert_encoded, prepared.after_write
    store = SnapshotStore(tmp_path / "store.sqlite")
    with commit_parts() as parts, store.transaction() as conn:
        store.upsert_encoded(conn, "passages", [("rec1", "2026-01-01", '{"id":"rec1"}')])
    assert set(parts) == {"records_write_seconds"} and parts["records_write_seconds"] > 0
    assert SnapshotStore.upsert_encoded is write and prepared.after_write is frames
    with store.db.connect() as conn:  # the write itself went through
        assert store.texts_by_id(conn, "passages") == {"rec1": '{"id":"rec1"}'}

    runs = [
        {
            "records_per_second": 450.0,
            "fetch_records_per_second": 460.0,
            "commit_seconds": 0.5,
            "status_429": 0,
            "records_write_seconds": seconds,
            "frames_seconds": 0.2,
        }
        for seconds in (0.1, 0.3, 0.2)
    ]
    assert _summary(runs, ceiling=500.0)["commit_parts_median_seconds"] == {
        "records_write_seconds": 0.2,
        "frames_seconds": 0.2,
    }
