"""Arrondissements and communes from positions (issue 13): the boundary data, the
normalised frames, the camps and the exports."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import pytest

from carto import boundaries, demo, filters, schema
from carto.analytics import places
from carto.dataset import Dataset, normalise_options
from carto.export import contents as X
from carto.export import formats
from carto.filters import Filters
from carto.i18n import t
from carto.normalise import normalise
from carto.options import AnalysisOptions
from carto.settings import Settings
from tests.conftest import TODAY

# Known positions, well inside their area (not on a boundary).
BUTTES_CHAUMONT = (48.8809, 2.3828)  # parc des Buttes-Chaumont, Paris 19e
LOUVRE = (48.8606, 2.3376)  # Paris 1er
IVRY_TOWN_HALL = (48.8130, 2.3850)  # Ivry-sur-Seine (94)
SAINT_DENIS_BASILICA = (48.9356, 2.3599)  # Saint-Denis (93)
BOULOGNE = (48.8352, 2.2410)  # Boulogne-Billancourt (92)
VERSAILLES = (48.8049, 2.1204)  # in Île-de-France, outside Paris and the inner suburbs


def place(*points: tuple[float, float]) -> list[Any]:
    found = boundaries.place_of(
        pd.Series([p[0] for p in points]), pd.Series([p[1] for p in points])
    )
    return [None if pd.isna(v) else v for v in found]


def test_known_positions_give_their_arrondissement_or_commune() -> None:
    assert place(BUTTES_CHAUMONT, LOUVRE, IVRY_TOWN_HALL, SAINT_DENIS_BASILICA, BOULOGNE) == [
        "75019",
        "75001",
        "94 Ivry-sur-Seine",
        "93 Saint-Denis",
        "92 Boulogne-Billancourt",
    ]


def test_unknown_or_outside_positions_give_no_place() -> None:
    found = boundaries.place_of(
        pd.Series([VERSAILLES[0], float("nan")], index=[7, 9]),
        pd.Series([VERSAILLES[1], 2.35], index=[7, 9]),
    )
    assert list(found.index) == [7, 9]
    assert found.isna().all()


def test_names_are_written_like_the_airtable_options() -> None:
    names = boundaries.area_names()
    assert names[:20] == tuple(f"750{n:02d}" for n in range(1, 21))
    communes = names[20:]
    assert all(re.fullmatch(r"9[234] \S.*", n) for n in communes), communes
    # every place option of the base but "Autre" is a name the positions can give
    assert set(schema.ARRONDISSEMENTS) - {"Autre"} <= set(names)
    assert len(communes) == len(set(communes))


# --------------------------------------------------------------------------- normalise

OPTIONS = normalise_options(Settings({}), now=pd.Timestamp("2026-11-26 12:00", tz="Europe/Paris"))


def record(rid: str, at: tuple[float, float], **fields: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "createdTime": "2026-11-20T19:40:00.000Z",
        "fields": {
            "Date": "2026-11-20T19:30:00.000Z",
            "Latitude": at[0],
            "Longitude": at[1],
            **fields,
        },
    }


def test_empty_or_other_arrondissement_is_inferred_from_the_position() -> None:
    result = normalise(
        [
            {
                "id": "recSITEIVRY00001",
                "createdTime": "2026-11-01T10:00:00.000Z",
                "fields": {"Nom": "Quai", "Latitude": 48.8130, "Longitude": 2.3850},
            }
        ],
        [
            record("recP01", BUTTES_CHAUMONT),  # left empty
            record("recP02", IVRY_TOWN_HALL, Arrondissement="Autre"),
            record("recP03", BUTTES_CHAUMONT, Arrondissement="75018"),  # recorded: kept
            record("recP04", VERSAILLES),  # nowhere known
            record("recP05", IVRY_TOWN_HALL, Arrondissement="Ivry"),  # typecast, not an option
        ],
        OPTIONS,
    )
    p = result.passages.set_index("record_id")
    assert p["arrondissement"].drop("recP04").to_dict() == {
        "recP01": "75019",
        "recP02": "94 Ivry-sur-Seine",
        "recP03": "75018",
        "recP05": "94 Ivry-sur-Seine",
    }
    assert pd.isna(p.loc["recP04", "arrondissement"])
    assert p["arrondissement_inferred"].to_dict() == {
        "recP01": True,
        "recP02": True,
        "recP03": False,
        "recP04": False,
        "recP05": True,
    }
    assert p["arrondissement_inferred"].dtype == bool
    site = result.sites.iloc[0]
    assert (site["arrondissement"], site["arrondissement_inferred"]) == ("94 Ivry-sur-Seine", True)


def test_a_camp_keeps_the_arrondissement_someone_recorded() -> None:
    camp = [
        record("recP11", BUTTES_CHAUMONT),
        record("recP12", BUTTES_CHAUMONT),
        record("recP13", BUTTES_CHAUMONT, Arrondissement="75020"),
    ]
    alone = [record("recP21", IVRY_TOWN_HALL)]
    result = normalise([], camp + alone, OPTIONS)
    passages = result.passages.assign(camp_id=["A", "A", "A", "B"], is_duplicate=False)
    found = places.camp_places(passages, result.sites)
    assert found.loc["A", ["arrondissement", "arrondissement_inferred"]].tolist() == [
        "75020",
        False,
    ]
    assert found.loc["B", ["arrondissement", "arrondissement_inferred"]].tolist() == [
        "94 Ivry-sur-Seine",
        True,
    ]


# --------------------------------------------------------------------------- exports


@pytest.fixture(scope="module")
def month_tables(demo_dataset: Dataset, demo_settings: Settings) -> dict[str, formats.Table]:
    f = Filters(period="perso", custom=(TODAY - dt.timedelta(days=29), TODAY))
    scope = X.scope_for(demo_dataset, "coordinateur", demo_settings, f)
    opts = AnalysisOptions.from_settings(demo_settings)
    return {table.dataset: table for table in X.build(scope, opts, X.DATASETS)}


def test_a_month_of_passages_has_a_place_for_every_passage(
    month_tables: dict[str, formats.Table], demo_dataset: Dataset
) -> None:
    table = month_tables["passages"]
    rows = formats.to_csv(table).decode("utf-8-sig").splitlines()
    header = rows[0].split(",")
    assert t("export.col.arrondissement") in header
    assert t("export.col.arrondissement_inferred") in header
    frame = table.frame
    assert len(frame) > 0
    # every demo position lies in Paris or the inner suburbs
    assert frame["arrondissement"].notna().all()
    assert not frame["arrondissement"].eq("Autre").any()
    inferred = frame["arrondissement_inferred"]
    assert 0 < inferred.sum() < len(frame)
    csv_text = formats.to_csv(table).decode("utf-8-sig")
    assert t("export.value.yes") in csv_text and t("export.value.no") in csv_text


def test_the_demo_passages_saying_other_name_their_commune(
    demo_dataset: Dataset, demo_base: demo.DemoBase
) -> None:
    other = {
        rec["id"] for rec in demo_base.passages if rec["fields"].get("Arrondissement") == "Autre"
    }
    assert other  # the demo's Ivry camp: the form has no option for Ivry
    rows = demo_dataset.passages[demo_dataset.passages["record_id"].isin(other)]
    assert len(rows) > 0
    assert set(rows["arrondissement"]) == {"94 Ivry-sur-Seine"}
    assert rows["arrondissement_inferred"].all()


def test_sites_and_camps_exports_carry_the_inferred_mark(
    month_tables: dict[str, formats.Table],
) -> None:
    for name in ("sites", "camps"):
        frame = month_tables[name].frame
        assert "arrondissement_inferred" in frame.columns, name
        assert frame["arrondissement"].notna().all(), name
        assert month_tables[name].label("arrondissement_inferred") == t(
            "export.col.arrondissement_inferred"
        )


# --------------------------------------------------------------------------- filters


def test_a_commune_positions_gave_can_be_filtered_on(demo_dataset: Dataset) -> None:
    present = demo_dataset.passages["arrondissement"].dropna().unique().tolist()
    offered = filters.arrondissement_options(present)
    assert "94 Ivry-sur-Seine" in offered and offered[-1] == "Autre"
    assert offered[:20] == tuple(f"750{n:02d}" for n in range(1, 21))
    f = Filters(period="tout", arrondissements=("94 Ivry-sur-Seine",))
    period = f.period_for(TODAY, None)
    camp_arr = places.camp_places(demo_dataset.passages, demo_dataset.sites)["arrondissement"]
    kept = filters.apply(demo_dataset.passages, camp_arr, pd.Series(dtype="str"), period, f)
    assert len(kept) > 0
    assert set(camp_arr.reindex(kept["camp_id"].unique())) == {"94 Ivry-sur-Seine"}
    # a link may name any commune of the inner suburbs, as a code
    assert filters.url_options()["arr"].decode(["94-ivry-sur-seine", "92-nanterre"]) == (
        ["94 Ivry-sur-Seine", "92 Nanterre"],
        [],
    )
