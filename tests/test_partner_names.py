"""A partner tells camps apart by stable pseudonyms, never by their names (issue 13).

Partners used to see every camp as "Campement sans nom 75019": several identical labels,
no way to follow a camp. Each camp now has a pseudonym derived from its id alone
("Campement KQW — 75019"), set in the data layer (``carto.privacy``) so that every page,
tooltip and export reads the same."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from carto import privacy
from carto.analytics import alerts, camps, places
from carto.dataset import Dataset, build_dataset, open_store
from carto.i18n import t
from carto.settings import Settings, load_settings
from carto.ui import navigation
from testing.app import login, new_app, shown_table
from tests.conftest import TODAY

PARTNER = "partenaire"
THRESHOLD = 5  # small_count_threshold (default)
LABEL = re.compile(r"Campement [A-HJ-NP-Z]{3}( — .+)?")
AS_OF = pd.Timestamp(TODAY, tz="Europe/Paris")


@pytest.fixture(scope="module")
def partner(demo_dataset: Dataset, demo_settings: Settings) -> Dataset:
    return privacy.for_role(demo_dataset, PARTNER, demo_settings)


def names(ds: Dataset) -> pd.Series:
    return places.camp_places(ds.passages, ds.sites)["name"]


def test_partner_camps_have_distinct_pseudonyms_and_no_real_name(
    demo_dataset: Dataset, partner: Dataset
) -> None:
    shown, real = names(partner), names(demo_dataset)
    assert len(shown) == len(real) > 10
    assert shown.is_unique, shown[shown.duplicated(keep=False)].tolist()
    assert all(LABEL.fullmatch(name) for name in shown), shown.tolist()
    assert not set(shown) & set(real)
    assert not shown.str.contains(t("camp.unnamed")).any()
    # the place is the camp's arrondissement, as staff see it
    with_place = shown[shown.str.contains(" — ")]
    arrondissements = places.camp_places(demo_dataset.passages, demo_dataset.sites)
    assert len(with_place) > 0
    for camp, name in with_place.items():
        assert name.endswith(" — " + str(arrondissements.loc[camp, "arrondissement"]))


def test_pseudonyms_stay_the_same_across_snapshots(
    demo_dataset: Dataset, demo_settings: Settings, partner: Dataset
) -> None:
    before = names(partner)
    # a later snapshot: the newest camp's passages are gone (or not yet there), another
    # version of the data is built again from scratch
    passages = demo_dataset.passages
    newest = passages.groupby("camp_id")["date"].min().idxmax()
    fewer = dataclasses.replace(
        demo_dataset, passages=passages[passages["camp_id"] != newest], version=99
    )
    after = names(privacy.for_role(fewer, PARTNER, demo_settings))
    common = after.index
    assert len(common) == len(before) - 1
    assert after.loc[common].tolist() == before.loc[common].tolist()
    again = names(privacy.for_role(demo_dataset, PARTNER, demo_settings))
    assert again.tolist() == before.tolist()


def test_a_clash_goes_to_the_camp_seen_last(monkeypatch: pytest.MonkeyPatch) -> None:
    passages = pd.DataFrame(
        {
            "camp_id": ["P-new", "P-old", "P-other"],
            "date": pd.to_datetime(["2026-11-20", "2026-10-01", "2026-10-05"]),
        }
    )
    real = privacy._pseudonym_code

    def clashing(camp_id: str, attempt: int, length: int = 3) -> str:
        if camp_id in ("P-new", "P-old") and attempt == 0:
            return "ABC"
        return real(camp_id, attempt, length)

    monkeypatch.setattr(privacy, "_pseudonym_code", clashing)
    found = privacy.camp_pseudonyms(passages)
    assert found["P-old"] == t("camp.alias", code="ABC")  # seen first: keeps its letters
    assert found["P-new"] == t("camp.alias", code=real("P-new", 1, 3))
    assert found.is_unique


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["S-recB", "S-recA", "P-rec1", "P-rec10", "P-rec2", None]),
            st.one_of(st.none(), st.integers(0, 4)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_camps_are_ordered_by_first_passage_then_id(
    rows: list[tuple[str | None, int | None]],
) -> None:
    """``first_seen_order`` as the definition says it, sorted one camp at a time: the
    first passage's date (a camp without any dated passage last), then the id."""
    passages = pd.DataFrame(
        {
            "camp_id": pd.Series([c for c, _ in rows], dtype="str"),
            "date": pd.to_datetime(
                [None if d is None else f"2026-11-0{d + 1} 20:00" for _, d in rows]
            ).tz_localize("Europe/Paris"),
        }
    )
    firsts: dict[str, pd.Timestamp] = {}
    for camp, date in zip(passages["camp_id"], passages["date"], strict=True):
        if pd.isna(camp):
            continue
        known = firsts.get(camp, pd.NaT)
        firsts[camp] = date if pd.isna(known) or (pd.notna(date) and date < known) else known
    expected = sorted(
        firsts, key=lambda c: (pd.isna(firsts[c]), firsts[c] if pd.notna(firsts[c]) else 0, c)
    )
    assert privacy.first_seen_order(passages) == expected


def test_many_camps_take_longer_pseudonyms_and_stay_distinct() -> None:
    passages = pd.DataFrame(
        {
            "camp_id": [f"P-{i}" for i in range(4000)],
            "date": pd.Timestamp("2026-10-01"),
        }
    )
    found = privacy.camp_pseudonyms(passages)
    assert found.is_unique and found.str.fullmatch(r"Campement [A-Z]{4}").all()


def test_alerts_and_camp_states_of_a_partner_use_the_pseudonyms(partner: Dataset) -> None:
    expected = set(names(partner))
    states = camps.camp_states(partner.passages, partner.sites, AS_OF, 30)
    assert set(states["name"]) <= expected
    found = alerts.protection_alerts(partner.passages, partner.sites, AS_OF, 24 * 14)
    assert set(found["name"]) <= expected


def test_partner_pages_list_camps_by_distinct_pseudonyms(app_config: Path) -> None:
    at = login(new_app(), PARTNER)
    at.switch_page("pages/points_chauds.py").run()
    assert not at.exception
    listed = shown_table(at, "hotspot-camps")[t("hotspot.col.camp")]
    assert len(listed) > 5 and listed.is_unique, listed.tolist()
    assert all(LABEL.fullmatch(name) for name in listed), listed.tolist()


# ------------------------------------------------ saying that a figure is hidden


def shows_small_label(at: AppTest, label: str) -> bool:
    """Whether the page shows a figure hidden as "<5": metric, table cell or text."""
    if any(str(m.value).strip() == label for m in at.metric):
        return True
    for table in at.dataframe:
        if table.value.astype("str").eq(label).to_numpy().any():
            return True
    texts = [str(e.value) for kind in ("caption", "markdown", "error") for e in at.get(kind)]
    note = t("privacy.suppressed_note", threshold=THRESHOLD)
    # a figure ("<5 alertes", "Repas <5"), not an explanation ("masqués (<5)")
    figure = re.compile(rf"(^|[\s,:]){re.escape(label)}(\s|,|$)")
    return any(figure.search(text) for text in texts if text != note)


def walk(at: AppTest, role: str) -> dict[str, tuple[bool, bool]]:
    """Per page of the role: (shows a hidden figure, says so)."""
    note = t("privacy.suppressed_note", threshold=THRESHOLD)
    label = privacy.small_count_label(THRESHOLD)
    seen = {}
    for spec in navigation.specs_for(role):
        at.switch_page(spec.path).run()
        at.run()
        assert not at.exception, spec.path
        said = any(str(c.value) == note for c in at.caption)
        seen[spec.path] = (shows_small_label(at, label), said)
    return seen


def test_a_partner_page_says_when_it_hides_a_figure(app_config: Path) -> None:
    ds = places.camp_places(*_demo_frames(app_config))
    at = login(new_app(), PARTNER)
    # the place with the fewest camps: its figures are small, many are hidden
    fewest = ds["arrondissement"].value_counts().sort_values(kind="stable").index[0]
    at.sidebar.multiselect(key="arr").set_value([fewest]).run()
    seen = walk(at, PARTNER)
    hidden = [page for page, (shows, _) in seen.items() if shows]
    assert hidden, seen  # the walk met hidden figures
    unsaid = [page for page, (shows, said) in seen.items() if shows and not said]
    assert not unsaid, seen


def test_staff_pages_never_say_a_figure_is_hidden(app_config: Path) -> None:
    seen = walk(login(new_app(), "coordinateur"), "coordinateur")
    assert not [page for page, (_, said) in seen.items() if said], seen


def _demo_frames(config: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    settings = load_settings(config)
    ds = build_dataset(settings, open_store(settings))
    return ds.passages, ds.sites


def test_what_counts_as_a_hidden_figure(demo_settings: Settings) -> None:
    policy = privacy.policy_for(PARTNER, demo_settings)
    hidden, shown = privacy.count(3, policy), privacy.count(12, policy)
    assert privacy.any_suppressed(policy, shown, hidden)
    assert not privacy.any_suppressed(policy, shown, "12", pd.Series(["7", "—"]))
    assert privacy.any_suppressed(policy, {"tents": hidden})
    assert privacy.any_suppressed(policy, pd.DataFrame({"a": ["1 062", "<5"]}))
    frame = privacy.protect_frame(pd.DataFrame({"people": [3.0, 40.0], "camps": [9, 9]}), policy)
    assert privacy.hidden_in(frame, "people") and not privacy.hidden_in(frame, "camps")
    assert not privacy.hidden_in(frame, "not_a_column")
    assert not privacy.any_suppressed(privacy.FULL, privacy.count(3, privacy.FULL), "<5")
