"""Issue 17 under AppTest: "Autour de moi" without a position, "Préparer une maraude"
(prepare, save, share), Coordination's "Prévu ce soir" for another role, and the
"Signaler un passage" link of Historique."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from carto import audit, rounds
from carto.settings import load_settings
from carto.store import AuthStore
from carto.text import escape_markdown
from testing.app import run_page, shown_static_table, shown_table

FORM = "https://airtable.com/appTEST/shrFORM?prefill_Site={site_id}&prefill_Nom={name}"


def with_form(config: Path) -> Path:
    config.write_text(
        config.read_text(encoding="utf-8") + f'[forms]\npassage_url = "{FORM}"\n', encoding="utf-8"
    )
    return config


def link_buttons(at) -> list:  # type: ignore[no-untyped-def]
    return list(at.get("link_button"))


def test_nearby_without_position_says_so_and_lists_an_arrondissement(app_config: Path) -> None:
    at = run_page("pages/autour_de_moi.py", role="benevole")
    assert at.title[0].value == "Autour de moi"
    assert any("ni enregistrée, ni journalisée" in c.value for c in at.caption)
    # AppTest has no browser: the position is still being looked up, the fallback shows
    assert any("Recherche de votre position" in i.value for i in at.info)
    fallback = at.selectbox(key="arrondissement_proche")
    assert fallback.options
    # the camps of the chosen arrondissement, each with its way there
    ways = [b.proto.url for b in link_buttons(at) if b.proto.label == "Itinéraire"]
    assert ways and all(url.startswith("geo:48.") for url in ways)


def test_round_is_prepared_saved_and_shown_to_every_association(app_config: Path) -> None:
    at = run_page("pages/maraude.py", role="benevole")
    assert at.title[0].value == "Préparer une maraude"
    at.selectbox(key="maraude_assoc").set_value("Croix-Rouge française")
    at.text_input(key="maraude_equipe").input("Équipe Nord")
    at.run()
    camps = shown_table(at, "round-camps")
    assert 1 <= len(camps) <= rounds.DEFAULT_LIMIT
    assert camps["N°"].tolist() == [str(i + 1) for i in range(len(camps))]
    assert camps["Raisons"].str.len().gt(0).any()
    assert any(m.value.startswith("Trajet à pied") for m in at.markdown)
    (share,) = at.code
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(share.value).query)
    assert query["pour"] == ["croix-rouge-francaise"] and query["equipe"] == ["Équipe Nord"]

    at.button(key="maraude_enregistrer").click().run()
    assert not at.exception
    assert any("Maraude enregistrée" in s.value for s in at.success)
    store = AuthStore(load_settings().store_location)
    plans = rounds.plans_for_evening(store, rounds.dt.date.fromisoformat(query["soir"][0]))
    assert [p.association for p in plans] == ["Croix-Rouge française"]
    assert plans[0].team == "Équipe Nord" and plans[0].created_by == "benevole"
    assert len(plans[0].camp_ids) == len(camps)
    (entry,) = store.audit_log(event=audit.ROUND_PLANNED)
    assert entry["username"] == "benevole"

    # another association's coordinator sees it on Coordination, in the same order
    coord = run_page("pages/coordination.py", role="coordinateur")
    tonight = shown_static_table(coord, "planned-tonight")
    # (a static table: its cells are escaped markdown)
    assert tonight["Association"].tolist() == [escape_markdown("Croix-Rouge française")] * len(
        camps
    )
    assert tonight["Campement"].tolist() == camps["Campement"].map(escape_markdown).tolist()
    assert tonight["Équipe"].tolist() == [escape_markdown("Équipe Nord")] * len(camps)
    # a partner sees the plan too, with no team name
    partner = run_page("pages/coordination.py", role="partenaire")
    shown = shown_static_table(partner, "planned-tonight")
    assert len(shown) == len(camps) and (shown["Équipe"] == "").all()

    # the camps planned tonight come last for another association preparing tonight:
    # with every camp asked for, they are there, marked; with fewer, they are left out
    other = run_page("pages/maraude.py", role="coordinateur")
    other.selectbox(key="maraude_assoc").set_value("Utopia 56")
    other.select_slider(key="maraude_n").set_value(max(rounds.LIMITS))
    other.run()
    reasons = shown_table(other, "round-camps")["Raisons"]
    planned = reasons.str.contains("déjà prévu ce soir par Croix-Rouge française")
    assert planned.any()
    free = int((~planned).sum())
    other.select_slider(key="maraude_n").set_value(min(rounds.LIMITS)).run()
    fewer = shown_table(other, "round-camps")
    assert free >= len(fewer) == min(rounds.LIMITS)
    assert not fewer["Raisons"].str.contains("déjà prévu").any()
    assert not set(fewer["Campement"]) & set(camps["Campement"])


def test_round_page_link_and_history_link_carry_the_site(app_config: Path) -> None:
    with_form(app_config)
    at = run_page("pages/maraude.py", role="coordinateur")
    urls = [b.proto.url for b in link_buttons(at) if b.proto.label == "Signaler un passage"]
    assert len(urls) == len(shown_table(at, "round-camps"))
    for url in urls:
        assert url.startswith("https://airtable.com/appTEST/shrFORM?prefill_Site=")

    history = run_page("pages/historique.py", role="coordinateur")
    camp_id = history.selectbox(key="camp").value
    (button,) = [b for b in link_buttons(history) if b.proto.label == "Signaler un passage"]
    assert f"prefill_Site={rounds.site_id_of(camp_id)}&" in button.proto.url
    assert rounds.site_id_of(camp_id)  # a demo camp linked to a Site: the id is there


def test_no_form_link_without_template_nor_for_a_partner(app_config: Path) -> None:
    at = run_page("pages/historique.py", role="coordinateur")
    assert not [b for b in link_buttons(at) if b.proto.label == "Signaler un passage"]
    with_form(app_config)
    partner = run_page("pages/autour_de_moi.py", role="partenaire")
    assert partner.selectbox(key="arrondissement_proche").options
    assert not [b for b in link_buttons(partner) if b.proto.label == "Signaler un passage"]
    assert any("centre de leur zone" in c.value for c in partner.caption)


def test_saving_is_refused_once_the_session_is_revoked(app_config: Path) -> None:
    """The save button's callback checks the session again where it runs
    (``auth.guarded``): signed out elsewhere meanwhile, nothing is saved."""
    at = run_page("pages/maraude.py", role="benevole")
    store = AuthStore(load_settings().store_location)
    store.bump_session_epoch("benevole")  # e.g. "sign out everywhere", a password change
    at.button(key="maraude_enregistrer").click().run()
    assert not store.plans(rounds.dt.date.min, rounds.dt.date.max)
    assert not store.audit_log(event=audit.ROUND_PLANNED)
