"""Préparer une maraude: for an association, a team, an evening and zones, the camps in
priority order with reasons, the walking route through them, what to bring; a printable
sheet, a phone view, a link for the team, and saving it for Coordination's "Prévu ce soir"."""

import streamlit as st

from carto.i18n import format_date, t
from carto.ui import auth, data, downloads, layout, navigation, tables
from carto.ui import rounds as street

v = layout.start_page(t("round.title"))
conf = data.settings()
user = auth.require_user(conf)
st.caption(t("round.intro"))
request = street.request_form(v, street.zones_of(v))
prepared = street.prepare(v, request, conf)

st.subheader(t("round.suggested"))
st.caption(t("round.priority", gap=v.options.coverage_gap_days))
if prepared.camps.empty:
    st.info(t("round.empty"))
else:
    st.markdown(street.route_text(prepared))
    st.caption(street.route_note(conf))
    shown = street.camp_table(prepared, v.policy)
    tables.show(
        shown,
        name="round-camps",
        narrow=(t("round.col.order"), t("round.col.camp"), t("round.col.walk")),
    )
    layout.suppressed_caption(v.policy, shown[t("round.col.people")])

    st.subheader(t("round.packing"))
    st.caption(t("round.packing_method", weeks=v.options.forecast_weeks))
    if prepared.packing.empty:
        st.info(t("round.packing_empty"))
    else:
        tables.show(
            street.packing_table(prepared),
            name="round-packing",
            narrow=(t("round.col.item"), t("round.col.bring")),
        )

    roles = navigation.spec_roles("pages/maraude.py")

    @auth.guarded(conf, *roles)
    def _save(who: auth.User) -> None:
        saved = street.save(conf, prepared, who.username) is not None
        st.session_state["maraude_enregistree"] = saved

    left, right = st.columns(2)
    left.button(
        t("round.save", day=format_date(request.evening)),
        icon=":material/event_available:",
        on_click=_save,
        key="maraude_enregistrer",
    )
    saved = st.session_state.pop("maraude_enregistree", None)
    if saved is True:
        st.success(t("round.saved"))
    elif saved is False:
        st.error(street.evening_refused())
    with right:
        sheet = street.sheet(prepared, v, conf)
        downloads.download_button(
            t("round.print"),
            conf,
            downloads.holder(user),
            downloads.FileToMake(
                lambda: sheet.encode("utf-8"),
                lambda store, username: street.record_sheet(store, username, user.role, prepared),
                roles=roles,
                file_name=street.sheet_file_name(prepared),
                mime="text/html",
            ),
            key="maraude_fiche",
        )
    st.markdown(f"**{t('round.share')}**")
    st.code(street.share_link(request), language=None, wrap_lines=True)

    st.subheader(t("round.phone"))
    street.camp_entries(
        prepared.camps,
        street.passage_links(v, prepared.camps, conf),
        v.policy,
        lambda row, i: f"{i + 1}. {row['name']}",
    )
