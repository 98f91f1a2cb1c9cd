"""The catalogue of every string a user sees, and the French formats for dates and numbers.

All interface text comes from here (``t("key", name=value)``), so that another language can
be added by adding a catalogue: only French exists today.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

FR: Mapping[str, str] = {
    # app and navigation
    "app.title": "CartoCampement",
    "app.tagline": "Carte partagée des campements de personnes exilées — Paris et petite couronne",
    "nav.map": "Carte",
    "nav.dashboard": "Tableau de bord",
    "banner.demo": (
        "Données de démonstration : campements, personnes et passages sont fictifs. "
        "Aucune donnée réelle n'est affichée."
    ),
    "banner.snapshot": "Données à jour au {when}",
    "error.config": (
        "La configuration est invalide : {error}. Corrigez le fichier {path} puis rechargez."
    ),
    "error.no_snapshot": (
        "Aucune donnée locale n'est encore disponible. Lancez « python -m carto sync » "
        "(ou utilisez le mode démonstration sans fichier config.toml)."
    ),
    "loading.data": "Chargement des données…",
    # filters
    "filter.title": "Filtres",
    "filter.period": "Période",
    "filter.period.7": "7 derniers jours",
    "filter.period.30": "30 derniers jours",
    "filter.period.90": "90 derniers jours",
    "filter.period.all": "Tout l'historique",
    "filter.period_caption": "Du {start} au {end}",
    # map page
    "map.title": "Carte des campements",
    "map.caption": (
        "Un point par campement actif, à son dernier état connu. Taille : personnes "
        "comptées au dernier passage. Couleur : jours depuis le dernier passage."
    ),
    "map.metric.camps": "Campements actifs",
    "map.metric.people": "Personnes estimées",
    "map.metric.not_visited": "Sans passage depuis plus de {days} jours",
    "map.legend.0": "Passage aujourd'hui ou hier",
    "map.legend.1": "Il y a 2 à {gap} jours",
    "map.legend.2": "Il y a {gap_plus} à 7 jours",
    "map.legend.3": "Plus de 7 jours",
    "map.closed_hidden": (
        "{n} campements fermés (évacués, vides ou démantelés) ne sont pas affichés."
    ),
    "map.empty": "Aucun campement actif à afficher pour l'instant.",
    "map.tooltip.last_visit": "Dernier passage",
    "map.tooltip.people": "Personnes",
    "map.tooltip.minors": "Mineurs non accompagnés",
    "map.tooltip.families": "Familles",
    "map.tooltip.by": "Par",
    "map.tooltip.days_ago": "il y a {days} j",
    # dashboard page
    "dash.title": "Tableau de bord",
    "dash.population": "Population estimée",
    "dash.population_help": (
        "Pour chaque campement actif, le dernier comptage des {window} derniers jours, "
        "additionné. Ce n'est jamais la somme des passages : un campement visité trois "
        "fois ne compte qu'une fois."
    ),
    "dash.active_camps": "Campements actifs",
    "dash.passages": "Passages",
    "dash.services": "Services délivrés sur la période",
    "dash.evacuations": "Évacuations sur la période",
    "dash.evac_sheltered": "Avec mise à l'abri",
    "dash.evac_without": "Sans solution",
    "dash.evac_people": "{people} personnes concernées, {sheltered} mises à l'abri",
    "dash.chart_title": "Population estimée par jour",
    "dash.chart_y": "Personnes",
    "dash.chart_x": "Jour",
    "dash.empty": "Aucun passage sur cette période.",
    "service.meals_given": "Repas",
    "service.tents_given": "Tentes",
    "service.blankets_given": "Couvertures",
    "service.hygiene_kits_given": "Kits hygiène",
    "service.clothes_given": "Vêtements",
    # quarantine and warnings (normalisation)
    "reason.no_date": "Date manquante",
    "reason.bad_date": "Date illisible : « {value} »",
    "reason.no_position": "Aucune position : ni coordonnées, ni site lié, ni localisation lisible",
    "reason.out_of_area": "Position hors de la zone couverte ({lat}, {lon})",
    "reason.zero_position": "Position (0, 0) : coordonnées absentes ou erronées",
    "reason.negative_count": "Nombre négatif dans « {field} » : {value}",
    "reason.absurd_count": "Nombre invraisemblable dans « {field} » : {value} (maximum {max})",
    "reason.site_no_position": "Site sans coordonnées utilisables",
    "reason.site_no_name": "Site sans nom",
    "reason.empty_record": "Fiche vide",
    "flag.number_text": "Nombre saisi en texte dans « {field} » : « {value} » lu comme {number}",
    "flag.unreadable_number": "Nombre illisible dans « {field} » : « {value} » ignoré",
    "flag.swapped": "Latitude et longitude inversées : corrigées",
    "flag.position_from_site": "Position reprise du site lié",
    "flag.position_from_text": "Position lue dans la localisation : « {value} »",
    "flag.future_date": "Date dans le futur",
    "flag.alias": "Valeur « {value} » lue comme « {canonical} » dans « {field} »",
    "flag.unknown_option": "Valeur inconnue « {value} » dans « {field} » : classée « Autre »",
    "flag.subcount": "« {field} » ({sub}) dépasse le total de personnes ({total})",
    "flag.duplicate": "Doublon probable d'une fiche envoyée peu avant",
    "flag.unknown_site": "Site lié introuvable",
    "pii.phone": "[téléphone]",
    "pii.email": "[email]",
    # command line
    "cli.demo.done": (
        "Démonstration écrite dans {path} : {sites} sites, {passages} passages "
        "(graine {seed}, {days} jours jusqu'au {today})."
    ),
    "cli.check.quarantined": "[quarantaine] {table} {record} : {reason}",
    "cli.check.flagged": "[signalé] {table} {record} : {reason}",
    "cli.check.summary": (
        "{total} fiches, {used} utilisées, {flagged} signalées, {quarantined} en quarantaine."
    ),
    "cli.config_error": "Erreur de configuration : {error}",
    "table.passages": "Passages",
    "table.sites": "Sites",
}

CATALOGUES: Mapping[str, Mapping[str, str]] = {"fr": FR}
LANGUAGE = "fr"


def t(key: str, /, **values: object) -> str:
    """The interface text for ``key``, with ``{placeholders}`` filled from ``values``."""
    text = CATALOGUES[LANGUAGE][key]
    return text.format(**values) if values else text


def format_date(value: dt.date | dt.datetime) -> str:
    """A date as DD/MM/YYYY."""
    return value.strftime("%d/%m/%Y")


def format_datetime(value: dt.datetime) -> str:
    """A date and time as DD/MM/YYYY à HH:MM."""
    return value.strftime("%d/%m/%Y à %H:%M")


def format_int(value: float | None) -> str:
    """A whole number with a narrow no-break space as thousands separator, as in French."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{round(value):,}".replace(",", "\u202f")
