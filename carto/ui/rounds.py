"""What the pages "Autour de moi", "Préparer une maraude" and Coordination's "Prévu ce
soir" draw from (issue 17): the camps of the role's view ready for the street, the
browser's position, a prepared round, the planned rounds, and the link buttons.

**The position.** It comes from the browser's geolocation through a tiny component of
our own (``st.components.v2``, inline JavaScript, nothing loaded from elsewhere: it
works offline and adds no dependency; streamlit-js-eval would evaluate JavaScript sent
as a string and bring a package for one call). The component asks the browser once when
the page opens, and again on "Me localiser"; a refusal or a device without a position
comes back as an error code, and the page shows its fallback. The position lives in the
component's state for this browser session only, while the page is shown: it is passed
to ``rounds.nearby`` as an argument, never written to the store, the audit log, a cache
shared by sessions (nothing here is cached on it) or a log, and never sent anywhere else.

Privacy (docs/architecture.md §5) comes from the role's dataset: a partner's camps are at
their zone centres under pseudonyms, counts "<5", and no form link (``rounds.passage_links``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from carto import audit, privacy, rounds, schema
from carto.analytics.alerts import REASON_FAMILIES, REASON_MINORS
from carto.export import round_sheet
from carto.i18n import format_date, format_decimal, format_int, t, t_n
from carto.settings import ConfigError, Settings
from carto.store import AuthStore
from carto.text import escape_markdown
from carto.ui import auth, data, errors

POSITION_KEY = "ma_position"  # the component's key (its state: this session only)
DENIED, UNAVAILABLE = "denied", "unavailable"
RADII_M = (500, 1000, 2000, 5000)
DEFAULT_RADIUS_M = 2000

_GEO_HTML = '<button type="button" class="carto-locate"></button>'
_GEO_CSS = """
.carto-locate { font: inherit; padding: 0.4rem 0.9rem; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.3); background: transparent; cursor: pointer; }
"""
# The label comes as data and is set as text (never as markup). ``ask``: look up the
# position at once (the page opens with none known yet).
_GEO_JS = """
export default function (component) {
  const { data, setStateValue, parentElement } = component;
  const button = parentElement.querySelector(".carto-locate");
  button.textContent = data.label;
  function locate() {
    if (!("geolocation" in navigator)) {
      setStateValue("position", { error: "unavailable", at: Date.now() });
      return;
    }
    // A permission prompt left unanswered never calls back: say "unavailable" after
    // a while, so that the page does not wait for ever.
    let answered = false;
    const answer = (value) => {
      if (!answered) { answered = true; setStateValue("position", value); }
    };
    setTimeout(() => answer({ error: "unavailable", at: Date.now() }), 30000);
    navigator.geolocation.getCurrentPosition(
      (p) => answer({
        lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy,
        at: Date.now(),
      }),
      (e) => answer({ error: e.code === 1 ? "denied" : "unavailable", at: Date.now() }),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }
  button.onclick = locate;
  if (data.ask) { locate(); }
}
"""
_geolocation = st.components.v2.component(
    "carto_position", html=_GEO_HTML, css=_GEO_CSS, js=_GEO_JS
)


@dataclass(frozen=True)
class Position:
    """Where the browser says the person is (or why it does not say)."""

    latitude: float = math.nan
    longitude: float = math.nan
    accuracy_m: float = math.nan
    error: str = ""  # DENIED, UNAVAILABLE or "" (a position)


def browser_position() -> Position | None:
    """The browser's position for this session (None while it is being looked up)."""
    known = st.session_state.get(POSITION_KEY)
    state = known.get("position") if isinstance(known, dict) else None
    result = _geolocation(
        key=POSITION_KEY,
        data={"label": t("nearby.locate"), "ask": state is None},
        on_position_change=lambda: None,
    )
    value: Any = result.get("position") if hasattr(result, "get") else None
    if not isinstance(value, dict):
        return None
    if value.get("error"):
        return Position(error=DENIED if value["error"] == DENIED else UNAVAILABLE)
    try:  # what the browser sent: anything, from a crafted request
        lat, lon = float(value["lat"]), float(value["lon"])
        accuracy = float(value.get("accuracy") or math.nan)
    except (KeyError, TypeError, ValueError):
        return Position(error=UNAVAILABLE)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # NaN fails too
        return Position(error=UNAVAILABLE)
    return Position(lat, lon, accuracy)


# ------------------------------------------------------------------ options and data


def options(conf: Settings) -> rounds.RoundOptions:
    """The ``[forms]`` and ``[rounds]`` options; a form link naming an unknown
    placeholder stops the page with what to fix."""
    try:
        return rounds.RoundOptions.from_settings(conf)
    except ConfigError as exc:
        errors.stop_on_config_error(exc, conf.source)


@st.cache_data(max_entries=16, show_spinner=False)
def _board(_v: data.View, key: tuple[object, ...], day: dt.date) -> pd.DataFrame:
    # the scores' factors only: the board shows no reason text (written per scored camp)
    return rounds.camp_board(
        data.camp_states(_v, day), data.protection_alerts(_v, day), data.hotspot_factors(_v, day)
    )


def board(v: data.View, day: dt.date) -> pd.DataFrame:
    """The active camps of the view on ``day`` with what the street needs
    (``rounds.camp_board``), protected for the role."""
    return privacy.protect_frame(_board(v, v.key, day), v.policy)


def nearby(v: data.View, position: Position, radius_m: float, detour: float) -> pd.DataFrame:
    """The camps within ``radius_m`` of the position, nearest first. Not cached: the
    position must not outlive this run."""
    return rounds.nearby(
        board(v, v.ds.today), position.latitude, position.longitude, radius_m, detour
    )


def passage_links(v: data.View, camps: pd.DataFrame, conf: Settings) -> pd.Series:
    """The form link of each camp (None: no link for this role or no form set)."""
    return rounds.passage_links(camps, options(conf).passage_url, v.policy, v.ds.today)


# ------------------------------------------------------------------ shown texts


def distance_label(metres: float) -> str:
    """ "850 m", "1,2 km"."""
    if metres < 1000:
        return t("distance.m", n=format_int(round(metres / 10) * 10))
    return t("distance.km", n=format_decimal(metres / 1000, 1))


def duration_label(minutes: float) -> str:
    """ "25 min", "1 h 05"."""
    whole = max(1, round(minutes))
    if whole < 60:
        return t("duration.minutes", n=whole)
    return t("duration.hours", h=whole // 60, m=whole % 60)


def _alert_text(reasons: list[str]) -> str:
    return ", ".join(
        t(f"alert.reason.{r}") for r in reasons if r in (REASON_MINORS, REASON_FAMILIES)
    )


def reason_labels(row: pd.Series | dict[str, Any]) -> str:
    """The reasons of a suggested camp, in French, in priority order."""
    parts = []
    for code in row["reasons"]:
        if code == "alert":
            parts.append(t("round.reason.alert", reasons=_alert_text(row["alert_reasons"])))
        elif code == "gap":
            parts.append(t_n("round.reason.gap", int(row["days_since_visit"])))
        elif code == "needs":
            parts.append(t("round.reason.needs", needs=", ".join(row["unmet_needs"])))
        elif code == "hotspot":
            parts.append(t("round.reason.hotspot", score=format_decimal(row["score"], 1)))
        elif code == "planned":
            parts.append(t("round.reason.planned", associations=", ".join(row["planned_by"])))
    return " · ".join(parts)


def camp_lines(row: dict[str, Any], people: str) -> list[str]:
    """What a camp's entry says under its name: walk, last passage, people, alert, needs."""
    lines = []
    if "distance_m" in row:
        lines.append(t("camp.walk", distance=distance_label(float(row["distance_m"]))))
    days = int(row["days_since_visit"])
    lines.append(t("camp.today") if days == 0 else t_n("camp.days_since", days))
    lines.append(t("camp.people", n=people))
    if row["alert_reasons"]:
        lines.append(t("camp.alert", reasons=_alert_text(row["alert_reasons"])))
    needs = row["needs"]
    lines.append(t("camp.needs", needs=", ".join(needs)) if needs else t("camp.no_needs"))
    return lines


def camp_entries(
    camps: pd.DataFrame,
    links: pd.Series,
    policy: privacy.Policy,
    title: Callable[[dict[str, Any], int], str],
) -> None:
    """One bordered entry per camp, for a phone: name, what to know, and the buttons
    "Itinéraire" (a ``geo:`` link, and OpenStreetMap) and "Signaler un passage"."""
    people = privacy.count_labels(camps, "people", policy) if len(camps) else pd.Series()
    for i, row in enumerate(rounds.records(camps)):
        with st.container(border=True, key=f"camp-{i}"):
            st.markdown(f"**{escape_markdown(title(row, i))}**")
            st.caption(
                "  \n".join(escape_markdown(line) for line in camp_lines(row, people.iloc[i]))
            )
            geo, osm = rounds.directions_links(float(row["latitude"]), float(row["longitude"]))
            cols = st.columns(3)
            cols[0].link_button(
                t("directions.link"),
                geo,
                icon=":material/directions_walk:",
                help=t("directions.help"),
            )
            cols[1].link_button(t("directions.osm"), osm, icon=":material/map:")
            link = links.iloc[i]
            if link:
                cols[2].link_button(
                    t("passage.link"), link, icon=":material/edit_note:", help=t("passage.help")
                )


def passage_link(
    v: data.View, camps: pd.DataFrame, camp_id: str | None, conf: Settings
) -> str | None:
    """The form link of one camp of ``camps`` (None: no such camp, no form or no link
    for this role)."""
    row = camps[camps["camp_id"] == camp_id] if camp_id is not None else camps.iloc[0:0]
    if row.empty:
        return None
    link = passage_links(v, row.head(1), conf).iloc[0]
    return str(link) if link else None


def passage_button(link: str | None) -> None:
    """The "Signaler un passage" button (nothing without a link)."""
    if link:
        st.link_button(t("passage.link"), link, icon=":material/edit_note:", help=t("passage.help"))


# ------------------------------------------------------------------ a prepared round


@dataclass(frozen=True)
class PreparedRound:
    """A round as the page shows it: the camps in walking order (with ``reasons``,
    ``planned_by`` and ``leg_m``), the route, the packing list and the shown texts."""

    request: rounds.RoundRequest
    camps: pd.DataFrame
    route: rounds.Route
    packing: pd.DataFrame


def plans_for(conf: Settings, day: dt.date) -> list[rounds.Plan]:
    """The rounds planned for the evening of ``day`` (the store, never cached)."""
    return rounds.plans_for_evening(auth.store(conf), day)


def prepare(v: data.View, request: rounds.RoundRequest, conf: Settings) -> PreparedRound:
    """Suggest, order and pack a round for ``request`` on the view's data."""
    opts = options(conf)
    tonight = plans_for(conf, request.evening)
    others = rounds.planned_elsewhere(tonight, request.association)
    suggested = rounds.suggest(
        board(v, v.ds.today),
        request.arrondissements,
        v.options.coverage_gap_days,
        others,
        request.limit,
    )
    route = rounds.route(suggested, opts.detour_factor, opts.walking_speed_kmh)
    ordered = suggested.set_index("camp_id").loc[list(route.camp_ids)].reset_index()
    ordered["leg_m"] = list(route.legs_m)
    since = v.options.day_start(v.ds.today) - pd.Timedelta(weeks=v.options.forecast_weeks)
    packing = rounds.packing(ordered, v.ds.passages, since)
    return PreparedRound(request, ordered, route, packing)


def camp_table(prepared: PreparedRound, policy: privacy.Policy) -> pd.DataFrame:
    """The camps of the round as shown (texts), in walking order."""
    camps = prepared.camps
    return pd.DataFrame(
        {
            t("round.col.order"): [str(i + 1) for i in range(len(camps))],
            t("round.col.camp"): camps["name"].astype(str),
            t("round.col.arrondissement"): camps["arrondissement"].astype(str),
            t("round.col.days"): camps["days_since_visit"].map(lambda d: format_int(d)),
            t("round.col.people"): privacy.count_labels(camps, "people", policy),
            t("round.col.walk"): [
                "—" if i == 0 else distance_label(m) for i, m in enumerate(camps["leg_m"])
            ],
            t("round.col.reasons"): [reason_labels(r) for r in rounds.records(camps)],
        }
    )


def packing_table(prepared: PreparedRound) -> pd.DataFrame:
    """What to bring, as shown (whole units)."""
    packing = prepared.packing
    return pd.DataFrame(
        {
            t("round.col.item"): packing["item"].map(lambda i: t(f"needs.item.{i}")),
            t("round.col.need"): packing["need"].map(format_int),
            t("round.col.usual"): packing["usual"].map(format_int),
            t("round.col.bring"): packing["bring"].map(format_int),
        }
    )


def route_text(prepared: PreparedRound) -> str:
    return t(
        "round.route",
        distance=distance_label(prepared.route.total_m),
        time=duration_label(prepared.route.minutes),
    )


def route_note(conf: Settings) -> str:
    opts = options(conf)
    return t(
        "round.route_note",
        factor=format_decimal(opts.detour_factor, 1),
        speed=format_decimal(opts.walking_speed_kmh, 1),
    )


def sheet(prepared: PreparedRound, v: data.View, conf: Settings) -> str:
    """The printable A4 sheet of the round (HTML)."""
    request = prepared.request
    subtitle = []
    if request.team:
        subtitle.append(t("round.sheet.team", team=request.team))
    zones = ", ".join(request.arrondissements) or t("round.zones_all")
    subtitle.append(t("round.sheet.zones", zones=zones))
    table = camp_table(prepared, v.policy)
    return round_sheet.render(
        t("round.sheet.title", day=format_date(request.evening), association=request.association),
        subtitle,
        route_text(prepared),
        table,
        [t("round.col.days"), t("round.col.people"), t("round.col.walk")],
        packing_table(prepared),
        [route_note(conf), t("round.packing_method", weeks=v.options.forecast_weeks)],
        data.now(),
    )


def save(conf: Settings, prepared: PreparedRound, username: str) -> int | None:
    """Keep the prepared round for its evening (audited; old plans forgotten); None for
    an evening out of reach (``rounds.evening_in_reach``), nothing saved."""
    request = prepared.request
    today = data.now().date()
    if not rounds.evening_in_reach(request.evening, today):
        return None
    plan = rounds.Plan(
        request.evening,
        request.association,
        request.team,
        request.arrondissements,
        tuple(prepared.camps["camp_id"].astype(str)),
    )
    return rounds.save_plan(
        auth.store(conf), plan, username, options(conf).plan_retention_days, today
    )


def evening_refused() -> str:
    """Why a round was not saved: its evening is out of reach."""
    return t("round.evening_refused", days=rounds.EVENINGS_AHEAD)


# ------------------------------------------------------------------ Coordination


def _names(v: data.View) -> pd.Series:
    return data.camp_places(v.ds)["name"]


def _camp_names(v: data.View, camp_ids: pd.Series) -> pd.Series:
    """The names of planned camps as the role sees them. A camp gone from the data
    (deleted, or an unlinked camp since linked to a Site) keeps its id for a role that
    sees free text, and is "Campement sans nom" for a partner: the id is a Site or
    passage record id."""
    names = camp_ids.map(_names(v))
    fallback = camp_ids if v.policy.free_text else pd.Series(t("camp.unnamed"), index=names.index)
    return names.fillna(fallback).astype(str)


def tonight_table(v: data.View, conf: Settings, day: dt.date) -> tuple[pd.DataFrame, list[str]]:
    """The rounds planned for the evening of ``day``, one row per camp (a role without
    free text sees no team), and the camps planned by more than one association."""
    frame = rounds.plans_frame(plans_for(conf, day), v.policy)
    camp = _camp_names(v, frame["camp_id"])
    by_camp = frame.groupby("camp_id")["association"].nunique()
    twice = _camp_names(v, by_camp[by_camp > 1].index.to_series()).tolist()
    shown = pd.DataFrame(
        {
            t("coord.col.association"): frame["association"],
            t("coord.col.team"): frame["team"],
            t("coord.col.order"): frame["rank"].map(str),
            t("coord.col.camp"): camp,
        }
    )
    return shown, twice


def unvisited_table(v: data.View, conf: Settings, now: dt.datetime) -> pd.DataFrame:
    """ "Prévu, non visité" over the days plans are kept."""
    days = options(conf).plan_retention_days
    today = now.date()
    store = auth.store(conf)
    plans = [
        rounds.Plan.from_row(r)
        for r in store.plans(today - dt.timedelta(days=days), today - dt.timedelta(days=1))
    ]
    missed = rounds.unvisited(plans, v.ds.passages, v.options.timezone, pd.Timestamp(now))
    return pd.DataFrame(
        {
            t("coord.col.evening"): missed["evening"].map(format_date),
            t("coord.col.association"): missed["association"],
            t("coord.col.camp"): _camp_names(v, missed["camp_id"]),
        }
    )


# ------------------------------------------------------------------ the round's form


# URL parameter (``rounds.PARAMS``) → the key of its widget
_FORM_KEYS = dict(
    zip(
        rounds.PARAMS,
        ("maraude_assoc", "maraude_equipe", "maraude_soir", "maraude_arr", "maraude_n"),
        strict=True,
    )
)


def request_form(v: data.View, zones: list[str]) -> rounds.RoundRequest:
    """The form of a round; a shared link (``RoundRequest.query``) fills it when the page
    opens."""
    associations = list(schema.ASSOCIATIONS)
    ss = st.session_state
    if _FORM_KEYS["pour"] not in ss:
        given = {k: st.query_params.get_all(k) for k in _FORM_KEYS}
        initial = rounds.request_from_params(given, associations, zones, v.ds.today)
        ss[_FORM_KEYS["pour"]] = initial.association
        ss[_FORM_KEYS["equipe"]] = initial.team
        ss[_FORM_KEYS["soir"]] = initial.evening
        ss[_FORM_KEYS["zone"]] = list(initial.arrondissements)
        ss[_FORM_KEYS["nb"]] = initial.limit
    left, right = st.columns(2)
    association = left.selectbox(t("round.association"), associations, key=_FORM_KEYS["pour"])
    team = right.text_input(
        t("round.team"), max_chars=rounds.TEAM_MAX_CHARS, key=_FORM_KEYS["equipe"]
    )
    evening = left.date_input(t("round.evening"), format="DD/MM/YYYY", key=_FORM_KEYS["soir"])
    chosen = right.multiselect(
        t("round.zones"), zones, placeholder=t("round.zones_all"), key=_FORM_KEYS["zone"]
    )
    limit = st.select_slider(t("round.limit"), list(rounds.LIMITS), key=_FORM_KEYS["nb"])
    day = evening if isinstance(evening, dt.date) else v.ds.today
    return rounds.RoundRequest(str(association), team.strip(), day, tuple(chosen), int(limit))


def share_link(request: rounds.RoundRequest) -> str:
    """The link that opens this page with the same round (sign-in required)."""
    base = (st.context.url or "").split("?", 1)[0]
    return f"{base}?{request.query()}"


def zones_of(v: data.View) -> list[str]:
    """The arrondissements of the view's active camps."""
    return sorted(board(v, v.ds.today)["arrondissement"].dropna().astype(str).unique())


def in_arrondissement(v: data.View, arrondissement: str) -> pd.DataFrame:
    """The fallback without a position: the active camps of one arrondissement, the
    longest without a passage first."""
    camps = board(v, v.ds.today)
    camps = camps[camps["arrondissement"] == arrondissement]
    return camps.sort_values(["days_since_visit", "camp_id"], ascending=[False, True])


SHEET_DATASET = "fiche_maraude"  # the audit entry's dataset (label: audit.dataset.<it>)


def sheet_file_name(prepared: PreparedRound) -> str:
    return round_sheet.file_name(prepared.request.evening)


def record_sheet(store: AuthStore, username: str, role: str, prepared: PreparedRound) -> None:
    """Audit a produced round sheet like any export (it holds camps' positions by name)."""
    audit.record_export(
        store,
        username,
        dataset=SHEET_DATASET,
        fmt="html",
        rows=len(prepared.camps),
        filters={
            "soir": prepared.request.evening.isoformat(),
            "association": prepared.request.association,
        },
        role=role,
    )


def _static_table(frame: pd.DataFrame, name: str, narrow: list[str]) -> None:
    """A table of texts already written (``st.table``, as the map's camp list): every
    column on a wide screen, ``narrow`` on a phone (``carto.ui.screens``)."""
    from carto.ui import screens

    cells = frame.map(escape_markdown)
    wide, phone = screens.wide_and_narrow("table", name)
    wide.table(cells, hide_index=True)
    phone.table(cells[narrow], hide_index=True)


def planned_section(v: data.View, conf: Settings) -> None:
    """Coordination's "Prévu ce soir" and "Prévu, non visité" (every association's
    rounds; a partner sees camps under pseudonyms and no team)."""
    now = data.now()
    st.subheader(t("coord.planned"))
    shown, twice = tonight_table(v, conf, now.date())
    if shown.empty:
        st.info(t("coord.planned_none"))
    else:
        st.caption(t("coord.planned_caption", day=format_date(now.date())))
        if twice:
            # camp names are record text: escaped, as in every markdown
            st.warning(t("coord.planned_twice", camps=", ".join(map(escape_markdown, twice))))
        _static_table(
            shown,
            "planned-tonight",
            [t("coord.col.association"), t("coord.col.order"), t("coord.col.camp")],
        )
    st.subheader(t("coord.unvisited"))
    st.caption(
        t(
            "coord.unvisited_caption",
            days=options(conf).plan_retention_days,
            hour=rounds.MORNING_HOUR,
        )
    )
    missed = unvisited_table(v, conf, now)
    if missed.empty:
        st.success(t("coord.unvisited_none"))
    else:
        _static_table(missed, "planned-unvisited", [t("coord.col.evening"), t("coord.col.camp")])
