"""Issue 17's surfaces under attack: a crafted round link, a far evening, a planned camp
gone from the data, a hostile camp name in Coordination's "Prévu ce soir"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from carto import rounds
from carto.settings import load_settings
from carto.store import AuthStore
from carto.text import escape_markdown
from testing.app import login, new_app, run_page, shown_static_table
from testing.hostile import EVIL, HOSTILE, write_hostile_demo

DAY = dt.date(2026, 11, 29)
ASSOCIATIONS = ["Utopia 56", "Croix-Rouge française"]
ZONES = ["75010", "75019"]


def store() -> AuthStore:
    return AuthStore(load_settings().store_location)


def add_plan(evening: dt.date, association: str, camps: list[str]) -> int:
    row = {
        "evening": evening.isoformat(),
        "association": association,
        "team": "Équipe",
        "zones": "[]",
        "camps": json.dumps(camps),
    }
    return store().add_plan(row, "coordinateur")


def all_plans() -> list[dict[str, object]]:
    return store().plans(dt.date.min, dt.date.max)


def today() -> dt.date:
    """The app's today (the page tests keep the clock at noon in Paris)."""
    import pandas as pd

    return pd.Timestamp.now(tz=load_settings()["general.timezone"]).date()


# ------------------------------------------------------------------ the link's parameters


def test_a_crafted_limit_or_evening_in_the_link_takes_the_default() -> None:
    """``nb=²`` passed ``str.isdigit`` and crashed ``int``, and so did 5,000 digits; an
    evening years away or in year 1 was taken as is (year 1 made saving overflow, years
    away purged every plan)."""
    default = rounds.request_from_params({}, ASSOCIATIONS, ZONES, DAY)
    for crafted in (
        {"nb": ["²"]},
        {"nb": ["٨"]},  # an Arabic-Indic 8 is still read as 8
        {"nb": ["1" * 5000]},  # more digits than int() reads
        {"nb": ["0" * 40 + "8"]},
        {"soir": ["0001-01-01"]},
        {"soir": [(DAY + dt.timedelta(days=3 * 365)).isoformat()]},
        {"soir": [(DAY - dt.timedelta(days=30)).isoformat()]},
    ):
        assert rounds.request_from_params(crafted, ASSOCIATIONS, ZONES, DAY) == default, crafted
    near = DAY + dt.timedelta(days=2)
    assert rounds.request_from_params({"soir": [near.isoformat()]}, ASSOCIATIONS, ZONES, DAY) == (
        rounds.RoundRequest(ASSOCIATIONS[0], "", near, (), rounds.DEFAULT_LIMIT)
    )


def test_save_plan_refuses_an_evening_out_of_reach(store_location: str | Path) -> None:
    db = AuthStore(store_location)
    tonight = rounds.Plan(DAY, "Utopia 56", "", (), ("S-r1",))
    kept = rounds.save_plan(db, tonight, "coord", 30, DAY)
    for evening in (DAY + dt.timedelta(days=rounds.EVENINGS_AHEAD + 1), dt.date(1, 1, 1)):
        far = rounds.Plan(evening, "Croix-Rouge française", "", (), ("S-r2",))
        try:
            rounds.save_plan(db, far, "coord", 30, DAY)
        except ValueError:
            pass
        else:
            raise AssertionError(f"a plan for {evening} was saved")
    assert [p.id for p in rounds.plans_for_evening(db, DAY)] == [kept]


def test_a_team_name_longer_than_the_form_allows_is_cut(store_location: str | Path) -> None:
    """The form's 80 characters are the browser's limit; a hand-made request sending
    more is cut where the plan is kept."""
    db = AuthStore(store_location)
    long_team = rounds.Plan(DAY, "Utopia 56", "x" * 5000, (), ("S-r1",))
    rounds.save_plan(db, long_team, "coord", 30, DAY)
    (kept,) = rounds.plans_for_evening(db, DAY)
    assert kept.team == "x" * rounds.TEAM_MAX_CHARS


def test_a_saved_team_name_keeps_no_phone_number_or_e_mail(store_location: str | Path) -> None:
    """Every coordinator and volunteer reads the team of a saved plan ("Prévu ce soir"):
    it is scrubbed like the records' teams (issue 14, item 7), whatever the form sent."""
    db = AuthStore(store_location)
    team = "Équipe Karim 06 12 34 56 78 karim.b@example.org +44 7911 123456"
    rounds.save_plan(db, rounds.Plan(DAY, "Utopia 56", team, (), ("S-r1",)), "bene", 30, DAY)
    (kept,) = rounds.plans_for_evening(db, DAY)
    assert kept.team.startswith("Équipe Karim ")
    assert not any(ch.isdigit() for ch in kept.team) and "@" not in kept.team, kept.team


def test_a_far_evening_on_the_page_never_purges_the_plans_of_tonight(app_config: Path) -> None:
    """Retention counted back from the saved plan's evening: a volunteer saving a round
    for an evening years ahead deleted every association's plans, tonight's included."""
    at = run_page("pages/maraude.py", role="benevole")
    other = add_plan(today(), "Croix-Rouge française", ["S-whatever"])
    at.date_input(key="maraude_soir").set_value(today() + dt.timedelta(days=3 * 365)).run()
    at.button(key="maraude_enregistrer").click().run()
    assert not at.exception
    assert [p["id"] for p in all_plans()] == [other]
    assert any("soir" in e.value for e in at.error)  # the refusal says why


def test_a_link_with_year_one_neither_crashes_nor_saves(app_config: Path) -> None:
    at = login(new_app(), "benevole")
    at.query_params["soir"] = "0001-01-01"
    at.query_params["nb"] = "²"
    at.switch_page("pages/maraude.py")
    at.run()
    assert not at.exception
    assert at.date_input(key="maraude_soir").value == today()
    at.button(key="maraude_enregistrer").click().run()
    assert not at.exception
    assert [dt.date.fromisoformat(str(p["evening"])) for p in all_plans()] == [today()]


# ------------------------------------------------------------------ Coordination


def cells(frame: object) -> str:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    return " ".join(frame.astype(str).to_numpy().ravel().tolist())


def test_a_partner_never_reads_the_record_id_of_a_planned_camp_gone_from_the_data(
    app_config: Path,
) -> None:
    """A planned camp no longer in the data (deleted in Airtable, or its unlinked camp
    "P-<passage record>" since linked to a Site) was shown by its id: a Site or passage
    record id, to a partner too."""
    gone = ["S-recGONESITE00001", "P-recGONEPASSAGE01"]
    for association in ASSOCIATIONS:
        add_plan(today(), association, gone)
    add_plan(today() - dt.timedelta(days=1), "Utopia 56", gone)
    partner = run_page("pages/coordination.py", role="partenaire")
    tonight = shown_static_table(partner, "planned-tonight")
    missed = shown_static_table(partner, "planned-unvisited")
    assert len(tonight) == 2 * len(gone) and len(missed) == len(gone)
    shown = cells(tonight) + cells(missed) + " ".join(w.value for w in partner.warning)
    assert "recGONE" not in shown
    assert any(escape_markdown("Campement sans nom") in w.value for w in partner.warning)


def test_camps_planned_twice_are_named_escaped(app_config: Path) -> None:
    """The warning "Prévus par plusieurs associations" wrote camp names (record text)
    into markdown as typed: a link and a remote image under the app's name."""
    write_hostile_demo(app_config)
    at = run_page("pages/maraude.py", role="coordinateur")
    at.button(key="maraude_enregistrer").click().run()
    (saved,) = all_plans()
    camps = json.loads(str(saved["camps"]))
    add_plan(
        today(),
        "Croix-Rouge française" if saved["association"] != "Croix-Rouge française" else "Utopia 56",
        camps,
    )
    coord = run_page("pages/coordination.py", role="coordinateur")
    (warning,) = [w for w in coord.warning if "plusieurs associations" in w.value]
    assert f"]({EVIL}" not in warning.value
    assert escape_markdown(HOSTILE) in warning.value


@pytest.mark.parametrize(
    "sent",
    [
        {"lat": "48.85", "lon": "2.35", "accuracy": "not a number"},
        {"lat": "nan", "lon": "2.35"},
        {"lat": 1000, "lon": 2.35},
        {"lat": "48.85"},
        {"error": "<img src=x>"},
    ],
)
def test_a_crafted_position_from_the_browser_is_refused_without_a_crash(
    sent: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The component's value is whatever a request says: a position the page cannot use
    is "unavailable" (its French message), never an error page or a key built from it."""
    from carto.ui import rounds as street

    monkeypatch.setattr(street, "_geolocation", lambda **_: {"position": sent})
    found = street.browser_position()
    assert found is not None and found.error in (street.DENIED, street.UNAVAILABLE)
