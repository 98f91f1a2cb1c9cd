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
    "banner.stale": (
        "Airtable ne répond pas : {error} Les données affichées datent du {when} "
        "(il y a {age}). Nouvel essai automatique dans quelques minutes."
    ),
    "banner.stale_short": (
        "Airtable ne répond pas. Les données affichées datent du {when} (il y a {age}). "
        "Nouvel essai automatique dans quelques minutes."
    ),
    "banner.schema": (
        "La base Airtable ne correspond pas à la configuration : les données concernées "
        "manquent. Corrigez la base ou les noms de champs dans config.toml "
        "([airtable] passages_fields / sites_fields)."
    ),
    "banner.budget": (
        "Appels à l'API Airtable ce mois-ci : {used} sur {budget}. "
        "L'actualisation automatique ralentit pour ne pas dépasser le quota."
    ),
    "age.minutes": "{n} min",
    "age.hours": "{n} h",
    "age.days.one": "{n} jour",
    "age.days.other": "{n} jours",
    "error.config": (
        "La configuration de CartoCampement est invalide : l'administrateur doit la "
        "corriger. Ce qu'il faut corriger, et où, est écrit dans le journal du serveur (le "
        "terminal où l'application a été lancée) ; rechargez ensuite la page."
    ),
    "error.no_snapshot_worker": (
        "Aucune donnée locale n'est encore disponible : la synchronisation avec Airtable "
        "est confiée au processus « python -m carto sync --watch », qui ne l'a pas encore "
        "faite. Rechargez la page dans une minute ; si rien ne vient, vérifiez que ce "
        "processus tourne."
    ),
    "error.no_snapshot": (
        "Aucune donnée locale n'est encore disponible : une première synchronisation avec "
        "Airtable est lancée, rechargez la page dans une minute. Si rien ne vient, lancez "
        "« python -m carto sync » pour voir l'erreur."
    ),
    "error.unexpected": (
        "Une erreur inattendue empêche d'afficher cette page, l'équipe technique est "
        "prévenue (référence {reference}). Réessayez dans un moment ou changez les filtres."
    ),
    "loading.data": "Chargement des données…",
    "config.error.type": "{key} : {expected} attendu, reçu {value}",
    "config.error.section": "la clé « {key} » doit être une [section]",
    "config.error.unknown": "réglage inconnu « {key} » ; réglages connus : {known}",
    "config.error.not_found": "fichier de configuration introuvable : {path}",
    "config.error.toml": "{path} : TOML invalide ({error})",
    "config.error.first_date": (
        "{key} : une date AAAA-MM-JJ à partir du 1900-01-01 attendue, reçu « {value} »"
    ),
    "config.error.field_keys": (
        "clé de champ inconnue pour la table {table} dans la configuration : {unknown} "
        "(clés valides : {valid})"
    ),
    "config.error.same_name": "deux champs de la table {table} portent le même nom Airtable",
    "config.type.int": "un nombre entier",
    "config.type.float": "un nombre",
    "config.type.str": "un texte",
    "config.type.bool": "true ou false",
    "config.type.list": "une liste",
    "config.type.dict": "une table",
    "widget.no_results": "Aucun résultat",
    # filters
    "filter.title": "Filtres",
    "filter.period": "Période",
    "filter.period.24h": "Dernières 24 heures",
    "filter.period.7j": "7 derniers jours",
    "filter.period.30j": "30 derniers jours",
    "filter.period.90j": "90 derniers jours",
    "filter.period.mois-dernier": "Mois dernier",
    "filter.period.tout": "Tout l'historique",
    "filter.period.perso": "Dates choisies…",
    "filter.dates": "Du … au …",
    "filter.associations": "Associations",
    "filter.arrondissements": "Arrondissements et communes",
    "filter.publics": "Publics",
    "filter.public.familles": "Familles",
    "filter.public.mna": "Mineurs non accompagnés",
    "filter.public.femmes": "Femmes seules",
    "filter.needs": "Besoins signalés",
    "filter.statuses": "État du campement",
    "filter.status.active": "Actif",
    "filter.status.closed": "Évacué ou vide",
    "filter.status.stale": "Sans nouvelles",
    "filter.all": "Toutes",
    "filter.more": "Plus de filtres",
    "filter.reset": "Effacer les filtres",
    "filter.active": "Filtres actifs : les chiffres ne portent que sur la sélection.",
    "filter.no_match": (
        "Aucun passage ne correspond à ces filtres sur la période choisie : élargissez "
        "les filtres ou la période."
    ),
    "filter.share": "L'adresse de la page garde les filtres : copiez-la pour les partager.",
    "filter.period_caption": "Du {start} au {end}",
    "filter.url_ignored": (
        "Lien : valeur inconnue ignorée ({params}). Les autres filtres du lien sont appliqués."
    ),
    # map page
    "map.title": "Carte des campements",
    "map.caption": (
        "Un point par campement actif, à son dernier état connu. Couleur : jours depuis "
        "le dernier passage."
    ),
    "map.size_by": "Taille des points : {what} au dernier comptage.",
    "map.count.people.one": "personne",
    "map.count.people.other": "personnes",
    "map.count.familles.one": "famille",
    "map.count.familles.other": "familles",
    "map.count.mna.one": "mineur non accompagné",
    "map.count.mna.other": "mineurs non accompagnés",
    "map.count.femmes.one": "femme seule",
    "map.count.femmes.other": "femmes seules",
    "map.metric.camps": "Campements actifs",
    "map.metric.people": "Personnes estimées",
    "map.metric.public": "{public} (estimation)",
    "map.metric.not_visited.one": "Sans passage depuis plus de {n} jour",
    "map.metric.not_visited.other": "Sans passage depuis plus de {n} jours",
    "map.gap.label": "Campements sans passage depuis plus de",
    "map.gap.option.one": "{n} jour",
    "map.gap.option.other": "{n} jours",
    "map.legend.fresh": "Passage aujourd'hui ou hier",
    "map.legend.days.one": "Il y a {n} jour",
    "map.legend.days.other": "Il y a {n} jours",
    "map.legend.range": "Il y a {low} à {high} jours",
    "map.legend.over.one": "Plus de {n} jour",
    "map.legend.over.other": "Plus de {n} jours",
    "map.legend.ring.one": "Cerclé de rouge : sans passage depuis plus de {n} jour",
    "map.legend.ring.other": "Cerclé de rouge : sans passage depuis plus de {n} jours",
    "map.legend.no_gap.one": "Aucun campement sans passage depuis plus de {n} jour.",
    "map.legend.no_gap.other": "Aucun campement sans passage depuis plus de {n} jours.",
    "map.legend.zones": (
        "Densité par zone (hexagone d'environ {side} de côté) : de 0 à {high} {what} par zone"
    ),
    "map.legend.evacuations": "Évacuations du {start} au {end}",
    "map.legend.no_evacuation": "Aucune évacuation sur cette période (du {start} au {end}).",
    "map.closed_hidden.one": ("{n} campement fermé (évacué, vide ou démantelé) n'est pas affiché."),
    "map.closed_hidden.other": (
        "{n} campements fermés (évacués, vides ou démantelés) ne sont pas affichés."
    ),
    "map.empty": "Aucun campement actif à afficher pour l'instant.",
    "map.state_on": "État au",
    "map.layers": "Couches",
    "map.layer.camps": "Campements",
    "map.layer.zones": "Densité par zone",
    "map.layer.gaps.one": "Sans passage depuis plus de {n} jour",
    "map.layer.gaps.other": "Sans passage depuis plus de {n} jours",
    "map.layer.evacuations": "Évacuations",
    "map.zone.people": "{people} {what} dans la zone",
    "map.evacuation": "Évacuation le {date} : {people}",
    "map.select_hint": "Touchez un campement pour voir son résumé.",
    "map.selected": "Campement sélectionné",
    "map.history_link": "Voir l'historique de ce campement",
    "map.list.title": "Campements de la carte",
    "map.list.caption": "Les campements sans passage depuis le plus longtemps en premier.",
    "map.list.camp": "Campement",
    "map.list.last": "Dernier passage",
    "map.list.people": "Personnes",
    "map.list.alerts": "Alertes",
    "map.list.to_cover": "À couvrir",
    "map.tooltip.last_visit": "Dernier passage",
    "map.tooltip.people": "Personnes",
    "map.tooltip.minors": "Mineurs non accompagnés",
    "map.tooltip.families": "Familles",
    "map.tooltip.women": "Femmes seules",
    "map.tooltip.by": "Par",
    "ago.today": "aujourd'hui",
    "ago.yesterday": "hier",
    "ago.days.one": "il y a {n} jour",
    "ago.days.other": "il y a {n} jours",
    # dashboard page
    "dash.title": "Tableau de bord",
    "dash.population": "Population estimée",
    "dash.population_help": (
        "Pour chaque campement actif, le dernier comptage {window}, additionné. Ce n'est "
        "jamais la somme des passages : un campement visité trois fois ne compte qu'une fois."
    ),
    "window.days.one": "du dernier jour",
    "window.days.other": "des {n} derniers jours",
    "dash.vs_previous": "par rapport à la période précédente",
    "dash.no_comparison.whole_history": (
        "Tout l'historique est affiché : aucune période précédente à comparer."
    ),
    "dash.no_comparison.previous_empty": (
        "Aucune comparaison : aucun passage sur la période précédente ({start} – {end})."
    ),
    "dash.no_comparison.partial": (
        "Aucune comparaison : les données commencent le {first}, la période précédente "
        "({start} – {end}) n'est couverte qu'en partie."
    ),
    "dash.active_camps": "Campements actifs",
    "dash.passages": "Passages",
    "dash.services": "Services délivrés sur la période",
    "dash.evacuations": "Évacuations sur la période",
    "dash.evac.events": "Évacuations",
    "dash.evac.people": "Personnes concernées",
    "dash.evac.people_help": (
        "Personnes présentes au campement lors de l'évacuation : le nombre donné par "
        "le signalement, sinon le dernier comptage des jours précédents. Elles se "
        "répartissent en mises à l'abri, sans solution et sans information."
    ),
    "dash.evac.sheltered": "dont mises à l'abri",
    "dash.evac.sheltered_help": (
        "Personnes à qui un hébergement a été proposé, selon le signalement."
    ),
    "dash.evac.without_solution": "dont sans solution",
    "dash.evac.without_solution_help": (
        "Personnes concernées moins personnes mises à l'abri, quand les deux sont connus."
    ),
    "dash.evac.unknown": "dont sans information",
    "dash.evac.unknown_help": (
        "Personnes concernées dont personne n'a signalé si elles ont été mises à l'abri."
    ),
    "dash.evac.by_shelter": "Évacuations selon la mise à l'abri : {parts}.",
    "dash.evac.uncounted.one": (
        "{n} évacuation sans comptage des personnes (non comptée ci-dessus)."
    ),
    "dash.evac.uncounted.other": (
        "{n} évacuations sans comptage des personnes (non comptées ci-dessus)."
    ),
    "dash.chart_title": "Population estimée par jour",
    "dash.chart_range": (
        "La bande autour de la courbe est la fourchette de l'estimation : elle s'élargit "
        "quand les comptages vieillissent, quand les associations ne s'accordent pas et "
        "après une évacuation que personne n'a vue."
    ),
    "chart.range": "Fourchette",
    "chart.range_hover": "Fourchette : %{customdata[0]:.0f} à %{customdata[1]:.0f}",
    "dash.weekly_passages": "Passages par semaine et par association",
    "dash.weekly_services": "Services délivrés par semaine et par association",
    "dash.needs_vs_given": "Besoins signalés et articles distribués, par semaine",
    "dash.needs_caption": (
        "Personnes concernées : pour chaque campement où le besoin est signalé dans la "
        "semaine, son dernier comptage (jamais la somme des passages)."
    ),
    "dash.measure": "Mesure",
    "dash.measure.people": "Personnes concernées par le besoin",
    "dash.measure.delivered": "Articles distribués",
    "dash.evac_over_time": "Évacuations par semaine : personnes mises à l'abri ou non",
    "dash.no_evacuation": "Aucune évacuation signalée sur la période.",
    "dash.evac_chart_y": "Personnes concernées",
    "dash.evac_chart.sheltered": "Mises à l'abri",
    "dash.evac_chart.without_solution": "Sans solution",
    "dash.evac_chart.unknown": "Sans information",
    "dash.chart_y": "Personnes",
    "dash.chart_x": "Jour",
    "dash.empty": "Aucun passage sur cette période.",
    "service.meals_given": "Repas",
    "service.tents_given": "Tentes",
    "service.blankets_given": "Couvertures",
    "service.hygiene_kits_given": "Kits hygiène",
    "service.clothes_given": "Vêtements",
    # coordination page
    "nav.coordination": "Coordination",
    "coord.title": "Coordination entre associations",
    "coord.who": "Qui passe quand : passages par association et jour de la semaine",
    "coord.gaps": "Campements à couvrir",
    "coord.duplicates": "Passages en double",
    "coord.needs": "Anticiper les besoins",
    "coord.no_gap.one": "Tous les campements actifs ont eu un passage ce dernier jour.",
    "coord.no_gap.other": ("Tous les campements actifs ont eu un passage ces {n} derniers jours."),
    "coord.no_duplicate": "Aucun passage en double sur la période.",
    "coord.col.camp": "Campement",
    "coord.col.days": "Jours sans passage",
    "coord.col.last": "Dernier passage",
    "coord.col.people": "Personnes (dernier comptage)",
    "coord.col.when": "Quand",
    "coord.col.associations": "Associations",
    "coord.col.items": "Distribué deux fois",
    "coord.col.item": "Article",
    "coord.col.reasons": "Motif",
    "coord.col.last_report": "Dernier signalement",
    "coord.col.minors": "MNA",
    "coord.col.families": "Familles",
    # hotspots page
    "nav.hotspots": "Points chauds",
    "hotspot.title": "Points chauds",
    "hotspot.caption": (
        "Score = personnes × vulnérabilité (mineurs, familles, femmes) × besoins non "
        "couverts × jours depuis le dernier passage. Chaque score est donné avec ses raisons."
    ),
    "hotspot.camps": "Campements",
    "hotspot.zones": "Zones",
    "hotspot.people.one": "{n} personne",
    "hotspot.people.other": "{n} personnes",
    "hotspot.including": "dont",
    "hotspot.minors": "{n} MNA",
    "hotspot.families.one": "{n} famille",
    "hotspot.families.other": "{n} familles",
    "hotspot.women.one": "{n} femme seule",
    "hotspot.women.other": "{n} femmes seules",
    "hotspot.days.one": "aucun passage depuis {n} jour",
    "hotspot.days.other": "aucun passage depuis {n} jours",
    "hotspot.today": "passage aujourd'hui",
    "hotspot.unmet": "besoins non couverts : {needs}",
    "hotspot.col.camp": "Campement",
    "hotspot.col.score": "Score",
    "hotspot.col.reasons": "Raisons",
    "hotspot.col.zone_camps": "Campements",
    "hotspot.col.top_camp": "Campement principal",
    "hotspot.col.zone_names": "Campements de la zone",
    "hotspot.zones_caption": (
        "Une zone est un hexagone d'environ {side} de côté ({area}) : elle regroupe les "
        "campements à moins d'environ {radius} de son centre, l'échelle d'une maraude à "
        "pied. Score de la zone : somme des scores de ses campements ; raisons : celles de "
        "son campement principal."
    ),
    "hotspot.none": "Aucun campement actif avec des personnes comptées.",
    # camp history page
    "nav.history": "Historique d'un campement",
    "history.title": "Historique d'un campement",
    "history.pick": "Campement",
    "history.pick_help": "Choisissez dans la liste, ou touchez un campement sur la carte.",
    "history.none": "Aucun campement ne correspond aux filtres.",
    "history.summary": "{passages} du {first} au {last} · dernier comptage : {people}",
    "history.whole_life": "Toute la vie du campement",
    "history.whole_life_help": (
        "Désactivé : l'historique suit la période choisie dans les filtres. Activé : "
        "tous les passages du campement, du premier au dernier."
    ),
    "history.span.period": "Période choisie dans les filtres : du {start} au {end}.",
    "history.span.whole_life": "Toute la vie du campement : du {start} au {end}.",
    "history.no_passage_in_period": (
        "Aucun passage de ce campement du {start} au {end}. Activez « Toute la vie du "
        "campement » pour voir tout son historique."
    ),
    "history.people_chart": "Personnes comptées à chaque passage",
    "history.weekly_chart": "Passages par semaine et par association",
    "history.services_chart": "Services délivrés par semaine",
    "history.chain": "Avant et après les évacuations",
    "history.chain_caption": (
        "Un campement réapparu à moins de {distance} m dans {days} suivant une "
        "évacuation est relié comme successeur."
    ),
    "history.passages": "Passages",
    "history.col.date": "Date",
    "history.col.association": "Association",
    "history.col.team": "Équipe",
    "history.col.people": "Personnes",
    "history.col.needs": "Besoins",
    "history.col.given": "Distribué",
    "history.col.comment": "Commentaire",
    "history.col.camp": "Campement",
    "history.col.first": "Premier passage",
    "history.col.last": "Dernier passage",
    "history.col.status": "État",
    "history.col.how": "Lien",
    "chart.week": "Semaine du",
    "chart.partial_note": "Barres hachurées et plus claires : semaine partielle — {weeks}.",
    "chart.partial_week": "semaine du {week}, comptée du {first} au {last} seulement",
    "chart.partial_week.running": "semaine du {week}, en cours (du {first} au {last})",
    "chart.needs_y": "Personnes ou articles",
    "chart.passages": "Passages",
    "chart.items": "Articles",
    "chart.item": "Article",
    "chart.association": "Association",
    "chart.people": "Personnes",
    "chart.date": "Date",
    # data-quality page
    "nav.quality": "Qualité des données",
    "quality.title": "Qualité des données",
    "quality.caption": (
        "Chaque fiche Airtable est soit utilisée, soit utilisée avec un avertissement "
        "(signalée), soit mise de côté (quarantaine) avec sa raison. Corrigez-les dans "
        "Airtable : la correction apparaît à la prochaine synchronisation."
    ),
    "quality.records": "Fiches",
    "quality.used": "Utilisées",
    "quality.flagged": "Signalées",
    "quality.quarantined": "En quarantaine",
    "quality.by_kind": "Par type de problème",
    "quality.trend": "Évolution par semaine",
    "quality.list": "Fiches à vérifier",
    "quality.empty": "Aucun problème détecté : toutes les fiches sont utilisées telles quelles.",
    "quality.col.status": "État",
    "quality.col.table": "Table",
    "quality.col.when": "Date",
    "quality.col.reason": "Raison",
    "quality.col.link": "Fiche Airtable",
    "quality.col.kind": "Type",
    "quality.col.records": "Fiches",
    "quality.col.week": "Semaine du",
    "quality.link_text": "Ouvrir",
    "quality.show": "Afficher",
    "quality.status.quarantined": "Quarantaine",
    "quality.status.flagged": "Signalée",
    "quality.no_link_demo": "En démonstration, les fiches n'ont pas de lien vers Airtable.",
    # quarantine and warnings (normalisation)
    "reason.no_date": "Date manquante",
    "reason.bad_date": "Date illisible : « {value} »",
    "reason.old_date": "Date trop ancienne : « {value} » (avant le {first})",
    "reason.no_position": "Aucune position : ni coordonnées, ni site lié, ni localisation lisible",
    "reason.out_of_area": "Position hors de la zone couverte ({lat} ; {lon})",
    "reason.zero_position": "Position (0, 0) : coordonnées absentes ou erronées",
    "reason.negative_count": "Nombre négatif dans « {field} » : {value}",
    "reason.absurd_count": "Nombre invraisemblable dans « {field} » : {value} (maximum {max})",
    "reason.site_no_position": "Site sans coordonnées utilisables",
    "reason.empty_record": "Fiche vide",
    "flag.number_text": "Nombre saisi en texte dans « {field} » : « {value} » lu comme {number}",
    "flag.unreadable_number": "Nombre illisible dans « {field} » : « {value} » ignoré",
    "flag.swapped": "Latitude et longitude inversées : corrigées",
    "flag.position_from_text": "Position lue dans la localisation : « {value} »",
    "flag.future_date": "Date dans le futur",
    "flag.alias": "Valeur « {value} » lue comme « {canonical} » dans « {field} »",
    "flag.unknown_option": "Valeur inconnue « {value} » dans « {field} » : classée « Autre »",
    "flag.subcount": "« {field} » ({sub}) dépasse le total de personnes ({total})",
    "flag.duplicate": "Doublon probable d'une fiche envoyée peu avant",
    "flag.unknown_site": "Site lié introuvable",
    "camp.unnamed": "Campement sans nom",
    "camp.alias": "Campement {code}",
    "camp.alias_place": "{alias} — {place}",
    # short labels of each kind of data-quality issue (grouping on the quality page)
    "kind.reason.no_date": "Date manquante",
    "kind.reason.bad_date": "Date illisible",
    "kind.reason.old_date": "Date trop ancienne",
    "kind.reason.no_position": "Aucune position",
    "kind.reason.out_of_area": "Position hors zone",
    "kind.reason.zero_position": "Position (0, 0)",
    "kind.reason.negative_count": "Nombre négatif",
    "kind.reason.absurd_count": "Nombre invraisemblable",
    "kind.reason.site_no_position": "Site sans coordonnées",
    "kind.reason.empty_record": "Fiche vide",
    "kind.flag.number_text": "Nombre saisi en texte",
    "kind.flag.unreadable_number": "Nombre illisible ignoré",
    "kind.flag.swapped": "Latitude et longitude inversées",
    "kind.flag.position_from_text": "Position lue dans la localisation",
    "kind.flag.future_date": "Date dans le futur",
    "kind.flag.alias": "Valeur reconnue sous un autre nom",
    "kind.flag.unknown_option": "Valeur inconnue classée « Autre »",
    "kind.flag.subcount": "Sous-total supérieur au total",
    "kind.flag.duplicate": "Doublon probable",
    "kind.flag.unknown_site": "Site lié introuvable",
    "pii.phone": "[téléphone]",
    "pii.email": "[email]",
    # command line
    "cli.demo.done": (
        "Démonstration écrite dans {path} : {sites}, {passages} "
        "(graine {seed}, {days} jusqu'au {today})."
    ),
    "cli.check.quarantined": "[quarantaine] {table} {record} : {reason}",
    "cli.check.flagged": "[signalé] {table} {record} : {reason}",
    "cli.check.summary": "{total}, {used}, {flagged}, {quarantined}.",
    "cli.count.records.one": "{n} fiche",
    "cli.count.records.other": "{n} fiches",
    "cli.count.used.one": "{n} utilisée",
    "cli.count.used.other": "{n} utilisées",
    "cli.count.flagged.one": "{n} signalée",
    "cli.count.flagged.other": "{n} signalées",
    "cli.count.quarantined.one": "{n} en quarantaine",
    "cli.count.quarantined.other": "{n} en quarantaine",
    "cli.count.received.one": "{n} reçue",
    "cli.count.received.other": "{n} reçues",
    "cli.count.records_received.one": "{n} fiche reçue",
    "cli.count.records_received.other": "{n} fiches reçues",
    "cli.count.changed.one": "{n} nouvelle ou modifiée",
    "cli.count.changed.other": "{n} nouvelles ou modifiées",
    "cli.count.deleted.one": "{n} supprimée",
    "cli.count.deleted.other": "{n} supprimées",
    "cli.count.pages.one": "{n} page",
    "cli.count.pages.other": "{n} pages",
    "cli.count.sites.one": "{n} site",
    "cli.count.sites.other": "{n} sites",
    "cli.count.fields.one": "{n} champ",
    "cli.count.fields.other": "{n} champs",
    "cli.config_error": "Erreur de configuration : {error}",
    "store.error.scheme": (
        "[store] url : « {scheme}:// » n'est pas pris en charge, seuls sqlite:// et "
        "postgresql:// le sont."
    ),
    "store.error.url": (
        "[store] url illisible : attendu sqlite:///chemin ou "
        "postgresql://utilisateur:mot-de-passe@hôte:port/base (l'adresse n'est pas recopiée "
        "ici : elle peut contenir un mot de passe)."
    ),
    "cli.sync.progress": "{table} : {records} ({pages})…",
    "cli.sync.done.full": "Synchronisation complète : {fetched}, {changed}, {deleted}.",
    "cli.sync.done.incremental": (
        "Synchronisation des changements : {fetched}, {changed}, {deleted}."
    ),
    "cli.sync.table": "  {table} : {fetched}, {changed}, {deleted}",
    "cli.sync.reconciled": "  Liste complète des fiches comparée : fiches supprimées retirées.",
    "cli.sync.quarantined": "En quarantaine : {quarantined} (détail : python -m carto check).",
    "cli.sync.calls": (
        "Appels à l'API : {calls} en {seconds} s (ce mois-ci : {used} sur {budget})."
    ),
    "cli.sync.calls_unlimited": "Appels à l'API : {calls} en {seconds} s (ce mois-ci : {used}).",
    "cli.sync.failed": (
        "Échec de la synchronisation : {error}\nLes données locales n'ont pas été modifiées."
    ),
    "cli.watch.started": (
        "Synchronisation continue : une actualisation toutes les {every} s "
        "(arrêt : SIGTERM ou Ctrl+C)."
    ),
    "cli.watch.done.full": (
        "Synchronisation complète : {fetched}, {changed}, {deleted} ; {api_calls} appels "
        "en {seconds} s ({calls}) ; version {version} ; prochaine dans {next} s."
    ),
    "cli.watch.done.incremental": (
        "Actualisation : {fetched}, {changed}, {deleted}{reconciled} ; {api_calls} appels "
        "en {seconds} s ({calls}) ; version {version} ; prochaine dans {next} s."
    ),
    "cli.watch.reconciled": " (liste complète comparée)",
    "cli.watch.calls": "ce mois-ci : {used} sur {budget}",
    "cli.watch.calls_unlimited": "ce mois-ci : {used}",
    "cli.watch.budget": (
        "Budget mensuel d'appels à l'API épuisé ({used} sur {budget}) : pas d'actualisation, "
        "nouvel essai au prochain cycle."
    ),
    "cli.watch.failed": (
        "Échec de l'actualisation : {error} Les données locales n'ont pas été modifiées."
    ),
    "cli.watch.interrupted": (
        "Arrêt demandé pendant une synchronisation : elle est abandonnée, les données "
        "locales restent entières (version {version})."
    ),
    "cli.watch.stopped": "Synchronisation continue arrêtée.",
    "cli.watch.bad_every": "--every attend un nombre de secondes positif.",
    "cli.watch.every_alone": "--every ne s'utilise qu'avec --watch.",
    "cli.watch.bad_options": (
        "--watch ne se combine pas avec --full ni --force : lancez « python -m carto sync "
        "--full » à part."
    ),
    "cli.init.created": "Table « {table} » créée ({fields}).",
    "cli.init.exists": "Table « {table} » déjà présente : laissée telle quelle.",
    "cli.init.problem": "  - {problem}",
    "cli.init.ok": "La base {base} contient toutes les tables et tous les champs attendus.",
    "cli.init.problems.one": (
        "{n} problème à corriger dans Airtable, ou à déclarer dans config.toml "
        "([airtable] passages_fields / sites_fields)."
    ),
    "cli.init.problems.other": (
        "{n} problèmes à corriger dans Airtable, ou à déclarer dans config.toml "
        "([airtable] passages_fields / sites_fields)."
    ),
    "cli.init.failed": "Échec de la préparation de la base : {error}",
    "cli.init.calls": "Appels à l'API : {calls}.",
    # Airtable connection and sync
    "airtable.error.no_token": (
        "Aucun jeton Airtable : définissez la variable d'environnement AIRTABLE_TOKEN, ou "
        "AIRTABLE_TOKEN dans .streamlit/secrets.toml (jamais dans config.toml)."
    ),
    "airtable.error.no_base": (
        "Aucune base Airtable configurée : renseignez [airtable] base_id dans {config}."
    ),
    "airtable.error.unavailable.one": "Airtable est injoignable après {n} essai : {detail}.",
    "airtable.error.unavailable.other": "Airtable est injoignable après {n} essais : {detail}.",
    "airtable.error.401": "Jeton Airtable refusé (401) : vérifiez AIRTABLE_TOKEN. {detail}",
    "airtable.error.403": (
        "Accès refusé par Airtable (403 {type}) : le jeton n'a pas accès à cette base ou "
        "n'a pas la permission nécessaire. {detail}"
    ),
    "airtable.error.404": (
        "Introuvable dans Airtable (404 {type}) : vérifiez [airtable] base_id et les noms "
        "de tables. {detail}"
    ),
    "airtable.error.refused": "Airtable a refusé la requête ({status} {type}) : {detail}",
    "airtable.detail.timeout": "délai d'attente dépassé",
    "airtable.detail.dropped": "connexion interrompue",
    "airtable.detail.rate_limited": "limite de requêtes dépassée (429)",
    "airtable.detail.server_error": "erreur du serveur Airtable ({status})",
    "sync.error.demo": (
        "Mode démonstration : il n'y a rien à synchroniser. Créez un config.toml avec "
        "[airtable] base_id (et general.demo = false)."
    ),
    "sync.error.budget": (
        "Budget mensuel d'appels à l'API épuisé ({used} sur {budget}) : synchronisation "
        "refusée. Relancez avec --force pour passer outre, ou augmentez "
        "[sync] monthly_call_budget."
    ),
    "sync.error.budget_auto": (
        "Budget mensuel d'appels à l'API épuisé ({used} sur {budget}) : l'actualisation "
        "automatique est suspendue jusqu'au mois prochain."
    ),
    "sync.error.unexpected": (
        "L'actualisation a échoué sur une erreur inattendue (voir le journal du serveur)."
    ),
    "schema.missing_table": "La table « {table} » est introuvable dans la base {base}.",
    "schema.missing_field": "{table} : le champ « {field} » ({key}) est introuvable.",
    "schema.wrong_type": (
        "{table} : le champ « {field} » ({key}) est de type « {actual} » au lieu de « {expected} »."
    ),
    "schema.wrong_link": (
        "{table} : le champ « {field} » ({key}) ne pointe pas vers la table « {target} »."
    ),
    "airtable.type.singleLineText": "texte sur une ligne",
    "airtable.type.multilineText": "texte long",
    "airtable.type.richText": "texte mis en forme",
    "airtable.type.number": "nombre",
    "airtable.type.percent": "pourcentage",
    "airtable.type.currency": "montant",
    "airtable.type.dateTime": "date et heure",
    "airtable.type.date": "date",
    "airtable.type.singleSelect": "choix unique",
    "airtable.type.multipleSelects": "choix multiples",
    "airtable.type.multipleRecordLinks": "lien vers une autre table",
    "airtable.type.checkbox": "case à cocher",
    "airtable.type.email": "adresse e-mail",
    "airtable.type.url": "lien web",
    "airtable.type.phoneNumber": "numéro de téléphone",
    "airtable.type.formula": "formule",
    "airtable.type.rollup": "agrégat",
    "airtable.type.multipleLookupValues": "recherche",
    "airtable.type.multipleAttachments": "pièces jointes",
    "airtable.type.createdTime": "date de création",
    "airtable.type.lastModifiedTime": "date de modification",
    "airtable.type.autoNumber": "numérotation automatique",
    "table.passages": "Passages",
    "table.sites": "Sites",
    # camps over time (carto/analytics: events, successors, coverage, needs, alerts)
    "weekday.0": "Lundi",
    "weekday.1": "Mardi",
    "weekday.2": "Mercredi",
    "weekday.3": "Jeudi",
    "weekday.4": "Vendredi",
    "weekday.5": "Samedi",
    "weekday.6": "Dimanche",
    "camp.status.active": "Actif",
    "camp.status.closed": "Fermé (vide, évacué ou démantelé)",
    "camp.status.stale": "Sans nouvelles",
    "event.kind.unknown": "Évacuation (type non précisé)",
    "event.shelter.all": "Mise à l'abri de toutes les personnes",
    "event.shelter.partial": "Mise à l'abri d'une partie des personnes",
    "event.shelter.none": "Aucune mise à l'abri",
    "event.shelter.unknown": "Mise à l'abri non renseignée",
    "event.people_source.reported": "Nombre signalé lors de l'évacuation",
    "event.people_source.last_count": "Dernier comptage avant l'évacuation",
    "successor.link": "Réinstallé à {distance} m, {delay} après l'évacuation du {date}",
    "successor.within.one": "le jour",
    "successor.within.other": "les {n} jours",
    "coverage.gap_definition.one": "Campements actifs sans passage depuis plus de {n} jour.",
    "coverage.gap_definition.other": "Campements actifs sans passage depuis plus de {n} jours.",
    "coverage.duplicate_definition": (
        "Deux associations différentes au même campement à moins de {hours} d'intervalle."
    ),
    "coverage.items_twice": "Distribué deux fois : {items}",
    "needs.item.tents": "Tentes",
    "needs.item.blankets": "Couvertures",
    "needs.item.meals": "Repas",
    "needs.item.hygiene_kits": "Kits hygiène",
    "needs.plan_title": "Que faut-il apporter la semaine du {start} au {end} ?",
    "needs.plan_caption": (
        "À apporter : personnes concernées prévues, une unité par personne, arrondi à "
        "l'unité supérieure. Livré d'habitude : moyenne des articles distribués par "
        "semaine sur les mêmes semaines. Écart : à apporter moins livré d'habitude "
        "(positif : il faut en apporter plus que d'habitude)."
    ),
    "needs.breakdown": "Détail",
    "needs.breakdown.total": "Ensemble",
    "needs.breakdown.arrondissement": "Par arrondissement ou commune",
    "needs.breakdown.camp": "Par campement",
    "needs.group.unknown_zone": "Lieu inconnu",
    "needs.col.group.arrondissement": "Arrondissement ou commune",
    "needs.col.group.camp": "Campement",
    "needs.col.need": "À apporter (unités)",
    "needs.col.usual": "Livré d'habitude (unités par semaine)",
    "needs.col.gap": "Écart (unités)",
    "needs.col.camps": "Campements concernés (prévision)",
    "needs.plan_empty": "Aucun besoin prévu pour la semaine prochaine.",
    "needs.gap_hidden": (
        "Écart non affiché quand l'un des deux chiffres est masqué (moins de {n}) : il "
        "permettrait de le retrouver."
    ),
    "needs.download": "Télécharger la liste de préparation (à imprimer)",
    "packing.title": "Liste de préparation",
    "packing.week": "Semaine du {start} au {end}",
    "packing.edited": "Éditée le {when}. Prévision : {method}",
    "packing.col.item": "Article",
    "packing.col.need": "À apporter (unités)",
    "packing.col.usual": "Livré d'habitude (unités par semaine)",
    "packing.col.done": "Préparé",
    "packing.print": "Imprimer",
    "packing.empty": "Aucun besoin prévu.",
    "packing.file": "liste_preparation_{start}.html",
    "needs.forecast_method": (
        "Prévision : moyenne {weeks} (la semaine en cours, "
        "incomplète, n'est pas prise en compte). Elle suppose que la semaine prochaine "
        "ressemblera aux précédentes et ne prévoit ni le froid, ni les évacuations."
    ),
    "alert.title": "Alertes de protection",
    "needs.weeks.one": "de la dernière semaine complète",
    "needs.weeks.other": "des {n} dernières semaines complètes",
    "alert.badge.one": "{n} alerte de protection",
    "alert.badge.other": "{n} alertes de protection",
    "alert.definition": (
        "Campements où des mineurs non accompagnés ou des familles ont été signalés "
        "{hours}, sans mise à l'abri depuis."
    ),
    "alert.hours.one": "cette dernière heure",
    "alert.hours.other": "ces {n} dernières heures",
    "alert.reason.minors": "Mineurs non accompagnés",
    "alert.reason.families": "Familles",
    "alert.none": "Aucune alerte de protection {hours}.",
    # accounts, sign-in and privacy (issue 6)
    "role.admin": "Administrateur·rice",
    "role.coordinateur": "Coordinateur·rice",
    "role.benevole": "Bénévole",
    "role.partenaire": "Partenaire",
    "nav.account": "Mon compte",
    "nav.admin_users": "Comptes",
    "nav.admin_log": "Journal et API",
    "nav.section.admin": "Administration",
    "nav.section.account": "Compte",
    "auth.login.title": "Connexion",
    "auth.login.username": "Identifiant",
    "auth.login.password": "Mot de passe",
    "auth.login.submit": "Se connecter",
    "auth.login.missing": "Saisissez votre identifiant et votre mot de passe.",
    "auth.login.failed": "Identifiant ou mot de passe incorrect.",
    "auth.login.locked": (
        "Trop d'essais infructueux : ce compte est verrouillé jusqu'à {until}. "
        "Réessayez plus tard, ou demandez à un·e administrateur·rice de le déverrouiller."
    ),
    "auth.login.just_locked": (
        "Identifiant ou mot de passe incorrect. Trop d'essais infructueux : ce compte est "
        "verrouillé jusqu'à {until}."
    ),
    "auth.demo.intro": (
        "Démonstration : un compte par rôle, mot de passe « demo ». Ces comptes n'existent "
        "qu'en démonstration."
    ),
    "auth.demo.col.account": "Identifiant",
    "auth.demo.col.password": "Mot de passe",
    "auth.demo.col.sees": "Ce que le rôle voit",
    "auth.demo.sees.admin": "Tout, plus les comptes, le journal et l'usage de l'API",
    "auth.demo.sees.coordinateur": "Positions exactes, toutes les pages de suivi",
    "auth.demo.sees.benevole": "Positions exactes pour trouver les campements",
    "auth.demo.sees.partenaire": (
        "Positions par zone, petits nombres masqués (<5), aucun commentaire"
    ),
    "auth.signed_in": "Connecté·e : {name} ({role})",
    "auth.logout": "Se déconnecter",
    "auth.logged_out": "Vous êtes déconnecté·e, sur tous vos appareils.",
    "auth.expired": "Session fermée après {minutes} d'inactivité : reconnectez-vous.",
    "count.minutes.one": "{n} minute",
    "count.minutes.other": "{n} minutes",
    "auth.revoked": (
        "Votre session a été fermée (déconnexion, changement de mot de passe ou compte "
        "modifié) : reconnectez-vous."
    ),
    "auth.required": "Connectez-vous pour voir cette page.",
    "auth.forbidden": "Votre rôle ne donne pas accès à cette page.",
    "auth.back_to_map": "Revenir à la carte",
    "safe_start.title": "CartoCampement ne peut pas démarrer",
    "safe_start.intro": (
        "Les données sont sensibles : l'application refuse de démarrer tant que sa "
        "configuration n'est pas corrigée par l'administrateur."
    ),
    "safe_start.where": (
        "Ce qu'il faut corriger est écrit dans le journal du serveur (le terminal où "
        "l'application a été lancée)."
    ),
    "safe_start.key_missing": (
        "Aucune clé de cookie : définissez la variable d'environnement {env}, ou {env} dans "
        ".streamlit/secrets.toml (jamais dans config.toml ni dans git), par exemple avec "
        '« python -c "import secrets; print(secrets.token_urlsafe(48))" ».'
    ),
    "safe_start.key_default": (
        "La clé de cookie ({env}) est une valeur d'exemple connue ou trop simple : "
        "n'importe qui pourrait signer des cookies. Générez-en une aléatoire, par exemple "
        'avec « python -c "import secrets; print(secrets.token_urlsafe(48))" ».'
    ),
    "safe_start.key_short": (
        "La clé de cookie ({env}) fait moins de {n} caractères : générez-en une plus "
        'longue, par exemple avec « python -c "import secrets; '
        'print(secrets.token_urlsafe(48))" ».'
    ),
    "safe_start.key_weak": (
        "La clé de cookie ({env}) est trop facile à deviner (environ {bits} bits de hasard "
        "estimés, il en faut au moins {n}) : motif répété, suite de caractères, touches "
        "voisines du clavier, mots courants ou trop peu de caractères différents. "
        "N'inventez pas la clé : générez-la avec "
        '« python -c "import secrets; print(secrets.token_urlsafe(48))" ».'
    ),
    "safe_start.no_accounts": (
        "Aucun compte : le fichier {path} est absent ou vide. Créez un premier compte "
        "administrateur avec « python -m carto users add NOM --role admin »."
    ),
    "safe_start.footer": (
        "Corrigez puis rechargez la page (redémarrez l'application si vous avez changé une "
        "variable d'environnement). Sans config.toml, l'application tourne sur les données "
        "de démonstration."
    ),
    "accounts.error.username": (
        "Identifiant invalide « {username} » : 2 à 32 caractères, lettres minuscules sans "
        "accent, chiffres, point, tiret ou tiret bas."
    ),
    "accounts.error.role": "Rôle inconnu « {role} » : choisissez parmi {roles}.",
    "accounts.error.password_short": "Mot de passe trop court : au moins {n} caractères.",
    "accounts.error.password_long": "Mot de passe trop long : au plus {n} octets.",
    "accounts.error.unreadable": "Fichier de comptes {path} illisible : {error}",
    "accounts.error.entry": (
        "Fichier de comptes {path} : le compte « {username} » n'a pas de mot de passe ou "
        "pas de rôle connu."
    ),
    "accounts.error.exists": "Le compte « {username} » existe déjà.",
    "accounts.error.unknown": "Aucun compte « {username} ».",
    "account.title": "Mon compte",
    "account.who": "**{name}** — identifiant « {username} », rôle : {role}.",
    "account.password.title": "Changer de mot de passe",
    "account.password.current": "Mot de passe actuel",
    "account.password.new": "Nouveau mot de passe",
    "account.password.repeat": "Nouveau mot de passe, à nouveau",
    "account.password.submit": "Changer le mot de passe",
    "account.password.rules": (
        "Au moins {n} caractères ; une phrase de plusieurs mots est plus sûre et plus facile "
        "à retenir. Vos autres sessions (autres appareils) seront fermées."
    ),
    "account.password.wrong": "Mot de passe actuel incorrect.",
    "account.password.mismatch": "Les deux nouveaux mots de passe diffèrent.",
    "account.password.changed": "Mot de passe changé. Vos autres sessions sont fermées.",
    "account.password.demo": "En démonstration, les mots de passe ne changent pas.",
    "account.sessions.title": "Sessions",
    "account.sessions.help": (
        "Se déconnecter ferme la session sur tous vos appareils. Une session inactive "
        "pendant {minutes} se ferme d'elle-même."
    ),
    "admin.users.title": "Comptes",
    "admin.users.caption": (
        "Les comptes sont dans le fichier {path} (hors de git). Mêmes opérations en ligne "
        "de commande : python -m carto users add|list|remove|passwd|unlock."
    ),
    "admin.users.demo": (
        "En démonstration, les comptes sont fixes (un par rôle, mot de passe « demo ») : "
        "seul le déverrouillage est possible."
    ),
    "admin.users.col.username": "Identifiant",
    "admin.users.col.name": "Nom",
    "admin.users.col.role": "Rôle",
    "admin.users.col.failures": "Échecs récents",
    "admin.users.col.locked": "Verrouillé jusqu'à",
    "admin.users.add": "Ajouter un compte",
    "admin.users.name": "Nom affiché (prénom, association…)",
    "admin.users.password": "Mot de passe provisoire (à changer dans « Mon compte »)",
    "admin.users.add_submit": "Créer le compte",
    "admin.users.added": "Compte « {username} » créé.",
    "admin.users.manage": "Modifier un compte",
    "admin.users.account": "Compte",
    "admin.users.new_role": "Nouveau rôle",
    "admin.users.set_role": "Changer le rôle",
    "admin.users.role_changed": "Rôle de « {username} » : {role}.",
    "admin.users.reset_password": "Nouveau mot de passe",
    "admin.users.reset_submit": "Remplacer le mot de passe",
    "admin.users.password_reset": (
        "Mot de passe de « {username} » remplacé ; ses sessions sont fermées."
    ),
    "admin.users.unlock": "Déverrouiller",
    "admin.users.unlocked": "« {username} » déverrouillé.",
    "admin.users.not_locked": "« {username} » n'était pas verrouillé.",
    "admin.users.remove": "Supprimer le compte",
    "admin.users.remove_confirm": "Je confirme la suppression",
    "admin.users.removed": "Compte « {username} » supprimé ; ses sessions sont fermées.",
    "admin.users.not_self": "Vous ne pouvez pas supprimer votre propre compte.",
    "admin.log.title": "Journal et usage de l'API",
    "admin.log.api": "Appels à l'API Airtable ce mois-ci",
    "admin.log.api_used": "Appels ce mois-ci",
    "admin.log.api_budget": "Budget mensuel",
    "admin.log.api_unlimited": "illimité",
    "admin.log.api_demo": "En démonstration, aucune synchronisation n'appelle Airtable.",
    "admin.log.syncs": "Dernières synchronisations",
    "admin.log.no_sync": "Aucune synchronisation enregistrée.",
    "admin.log.col.started": "Début",
    "admin.log.col.mode": "Mode",
    "admin.log.col.ok": "Réussie",
    "admin.log.col.fetched": "Reçues",
    "admin.log.col.changed": "Modifiées",
    "admin.log.col.deleted": "Supprimées",
    "admin.log.col.calls": "Appels",
    "admin.log.col.error": "Erreur",
    "admin.log.audit": "Journal d'audit",
    "admin.log.audit_caption": (
        "Connexions, échecs, verrouillages, déconnexions, changements de comptes et exports."
    ),
    "admin.log.event_filter": "Événement",
    "admin.log.all_events": "Tous",
    "admin.log.user_filter": "Compte",
    "admin.log.empty": "Aucune entrée.",
    "admin.log.col.at": "Quand",
    "admin.log.col.event": "Événement",
    "admin.log.col.username": "Compte",
    "admin.log.col.details": "Détails",
    "audit.event.login": "Connexion",
    "audit.event.login_cookie": "Reprise de session (cookie)",
    "audit.event.login_failed": "Échec de connexion",
    "audit.event.login_locked": "Tentative sur un compte verrouillé",
    "audit.event.lockout": "Verrouillage",
    "audit.event.unlock": "Déverrouillage",
    "audit.event.logout": "Déconnexion",
    "audit.event.session_expired": "Session expirée (inactivité)",
    "audit.event.session_revoked": "Session révoquée",
    "audit.event.cookie_refused": "Cookie refusé",
    "audit.event.password_changed": "Mot de passe changé",
    "audit.event.user_added": "Compte créé",
    "audit.event.user_removed": "Compte supprimé",
    "audit.event.role_changed": "Rôle changé",
    "audit.event.export": "Export",
    "audit.event.action_refused": "Action refusée (rôle)",
    # the details of an audit entry, as the admin page words them
    "audit.detail.by": "par {who}",
    "audit.detail.role": "rôle : {role}",
    "audit.detail.failures.one": "{n} échec de suite",
    "audit.detail.failures.other": "{n} échecs de suite",
    "audit.detail.unknown_name": "identifiant inconnu",
    "audit.detail.form.password": "formulaire de changement de mot de passe",
    "audit.detail.until": "verrouillé jusqu'au {when}",
    "audit.detail.issued": "cookie émis le {when}",
    "audit.detail.client": "depuis l'adresse {address}",
    "audit.detail.reason.invalid": "cookie invalide (autre clé, modifié ou expiré)",
    "audit.detail.reason.account": "compte inconnu ou supprimé",
    "audit.detail.reason.revoked": "session fermée entre-temps",
    "audit.detail.reason.idle": "session inactive trop longtemps",
    "audit.detail.period": "période « {name} », du {start} au {end}",
    "audit.detail.dates": "période du {start} au {end}",
    "audit.detail.file": "fichier {name}",
    "audit.detail.unknown_key": "{key} : {value}",
    "audit.dataset.synthese": "Synthèse imprimable",
    "audit.format.csv-excel-fr": "CSV « Excel français »",
    "audit.format.html": "page HTML téléchargée",
    "audit.format.page": "affichée dans la page",
    "audit.format.apercu": "aperçu dans la page Exports",
    # e-mail digest and alerts (carto/digest.py, carto/mail.py, issue 18)
    "audit.event.digest_subscription": "Abonnement e-mail changé",
    "audit.event.digest_sent": "E-mail envoyé",
    "audit.event.digest_failed": "Échec d'envoi d'e-mail",
    "audit.event.digest_skipped": "E-mail non envoyé (pas d'adresse)",
    "audit.detail.kind.daily": "synthèse du matin",
    "audit.detail.kind.alert": "alerte de protection",
    "audit.detail.camps.one": "{n} campement",
    "audit.detail.camps.other": "{n} campements",
    "audit.detail.error": "erreur : {error}",
    "accounts.error.digest": "Abonnement inconnu « {digest} » : choisissez parmi {choices}.",
    "accounts.error.digest_no_email": (
        "Le compte « {username} » n'a pas d'adresse e-mail : impossible de l'abonner."
    ),
    "accounts.error.email": (
        "Adresse e-mail invalide : une seule adresse, sans espace, virgule ni retour à la "
        "ligne (par exemple prenom.nom@association.org)."
    ),
    "account.digest.daily": "la synthèse chaque matin",
    "account.digest.alerts": "les alertes de protection, dès qu'elles apparaissent",
    "account.digest.off": "aucun e-mail",
    "account.digest.title": "Synthèse et alertes par e-mail",
    "account.digest.label": "Recevoir",
    "account.digest.submit": "Enregistrer",
    "account.digest.saved": "Abonnement enregistré : {choice}.",
    "account.digest.help": (
        "Envoyés à {email}. Un e-mail ne contient jamais de position exacte ni de "
        "commentaire, seulement ce que votre rôle voit dans l'application ; une alerte "
        "n'est envoyée qu'une fois par jour et par campement."
    ),
    "account.digest.no_email": (
        "Votre compte n'a pas d'adresse e-mail : demandez à un·e admin d'en ajouter une."
    ),
    "account.digest.demo": "En démonstration, les abonnements ne s'enregistrent pas.",
    "mail.error.not_configured": (
        "Envoi d'e-mails non configuré : renseignez [mail] host et sender dans le "
        "fichier de configuration."
    ),
    "mail.error.tls": "[mail] tls = « {tls} » inconnu : choisissez parmi {modes}.",
    "mail.error.no_password": (
        "[mail] username est renseigné mais le mot de passe manque : définissez {env} "
        "(variable d'environnement ou .streamlit/secrets.toml)."
    ),
    "mail.error.password_without_tls": (
        "Un mot de passe n'est jamais envoyé sans chiffrement : avec [mail] tls = « none », "
        "laissez [mail] username vide."
    ),
    "mail.error.send": "Envoi impossible par {host}:{port} : {error}",
    "digest.camp": "{name} ({place})",
    "digest.alert.minors": "mineurs non accompagnés : {n}",
    "digest.alert.families": "familles : {n}",
    "digest.alert.line": "{camp} — {reasons} ; dernier signalement le {when}",
    "digest.gap.line": "{camp} — aucun passage depuis {days} (dernier le {last})",
    "digest.evacuation.line": "{camp} — évacuation du {day}, personnes : {people} ; {outcome}",
    "digest.quality.line.one": "{n} fiche à vérifier (en quarantaine ou signalée)",
    "digest.quality.line.other": "{n} fiches à vérifier (en quarantaine ou signalées)",
    "digest.freshness.line": "Données synchronisées avec Airtable le {when}.",
    "digest.freshness.demo": "Données de démonstration du {day}.",
    "digest.freshness.never": "Données jamais synchronisées avec Airtable.",
    "digest.more.one": "… et {n} autre : voir la page",
    "digest.more.other": "… et {n} autres : voir la page",
    "digest.footer": (
        "Vous recevez ce message ({kind}) car le compte « {username} » est abonné à "
        "{subscription}. Pour changer, page Mon compte : {link}. Ce message ne contient "
        "aucune position exacte ; ne le transférez pas."
    ),
    "digest.footer_requested": (
        "Message ({kind}) envoyé à la demande pour le compte « {username} », qui n'est "
        "abonné à aucun e-mail. Pour s'abonner, page Mon compte : {link}. Ce message ne "
        "contient aucune position exacte ; ne le transférez pas."
    ),
    "digest.kind.daily": "synthèse du matin",
    "digest.kind.alert": "alerte de protection",
    "digest.section.alerts.one": "Alertes de protection de la dernière heure",
    "digest.section.alerts.other": "Alertes de protection des {n} dernières heures",
    "digest.none.alerts.one": "Aucune alerte de protection dans la dernière heure.",
    "digest.none.alerts.other": "Aucune alerte de protection ces {n} dernières heures.",
    "digest.section.gaps.one": "Campements sans passage depuis plus d'un jour",
    "digest.section.gaps.other": "Campements sans passage depuis plus de {n} jours",
    "digest.none.gaps.one": "Aucun campement actif sans passage depuis plus d'un jour.",
    "digest.none.gaps.other": "Aucun campement actif sans passage depuis plus de {n} jours.",
    "digest.section.evacuations": "Évacuations des dernières 24 heures",
    "digest.none.evacuations": "Aucune évacuation signalée ces dernières 24 heures.",
    "digest.section.plans": "Maraudes prévues ce soir",
    "digest.none.plans": "Aucune maraude prévue ce soir dans l'application.",
    "digest.plan.line": "{association} : {camps} — {names}",
    "digest.section.quality": "Qualité des données",
    "digest.section.freshness": "Fraîcheur des données",
    "digest.subject.daily": "CartoCampement — synthèse du {day}",
    "digest.subject.alert.one": "CartoCampement — {n} nouvelle alerte de protection",
    "digest.subject.alert.other": "CartoCampement — {n} nouvelles alertes de protection",
    "digest.intro.daily": "Bonjour {name}, voici la synthèse du {day}.",
    "digest.intro.alert": "Bonjour {name}, nouvelles alertes de protection {hours} :",
    "digest.skipped.no_email": (
        "Pas d'adresse e-mail pour le compte « {username} » : rien n'est envoyé."
    ),
    "digest.failed.bad_email": (
        "Adresse e-mail du compte « {username} » invalide : rien n'est envoyé (corrigez-la "
        "dans le fichier de comptes)."
    ),
    "cli.digest.sent": "Envoyé à « {username} » ({kind}) : {detail}",
    "cli.digest.failed": "Échec pour « {username} » ({kind}) : {detail}",
    "cli.digest.skipped": "Ignoré ({kind}) : {detail}",
    "cli.digest.nothing": "Rien de nouveau pour « {username} » ({kind}).",
    "cli.digest.dry_run": "=== Serait envoyé à « {username} » <{detail}> ({kind}) : {subject}",
    "cli.digest.none": "Aucun compte abonné : rien à envoyer.",
    "cli.users.subscribed": "Abonnement de « {username} » : {digest}.",
    "admin.log.mode.full": "Complète",
    "admin.log.mode.incremental": "Changements",
    "cli.users.added": "Compte « {username} » créé (rôle : {role}) dans {path}.",
    "cli.users.removed": "Compte « {username} » supprimé ; ses sessions sont fermées.",
    "cli.users.password_set": (
        "Mot de passe de « {username} » remplacé ; ses sessions sont fermées."
    ),
    "cli.users.unlocked": "Compte « {username} » déverrouillé.",
    "cli.users.not_locked": "Le compte « {username} » n'était pas verrouillé.",
    "cli.users.none": "Aucun compte dans {path}.",
    "cli.users.line": "{username:<20} {role:<13} {name}{lock}",
    "cli.users.locked": "  [verrouillé jusqu'à {until}]",
    "cli.users.prompt": "Mot de passe pour « {username} » : ",
    "cli.users.prompt_again": "Le même, à nouveau : ",
    "cli.users.mismatch": "Les deux mots de passe diffèrent.",
    "cli.users.demo_note": (
        "Attention : mode démonstration (pas de config.toml) ; ce fichier ne servira "
        "qu'avec une configuration réelle (--config ou CARTO_CONFIG)."
    ),
    "cli.users.error": "Erreur : {error}",
    "privacy.small_count": "<{n}",
    "privacy.complement": "masqué",
    "privacy.suppressed_note": (
        "« <{threshold} » : chiffre inférieur à {threshold}, masqué pour protéger les "
        "personnes ; « masqué » : chiffre caché avec lui, pour qu'on ne le retrouve pas en "
        "soustrayant les autres d'un total affiché (les graphiques les laissent vides)."
    ),
    # counted nouns, for sentences that word several counts ("{people} dans {camps}")
    "count.people.one": "{n} personne",
    "count.people.other": "{n} personnes",
    "count.camps.one": "{n} campement",
    "count.camps.other": "{n} campements",
    "count.passages.one": "{n} passage",
    "count.passages.other": "{n} passages",
    "count.days.one": "{n} jour",
    "count.days.other": "{n} jours",
    "count.hours.one": "{n} h",
    "count.hours.other": "{n} h",
    "count.lines.one": "{n} ligne",
    "count.lines.other": "{n} lignes",
    # exports and advocacy summary (issue 7)
    "nav.export": "Exports",
    "nav.summary": "Synthèse imprimable",
    "export.title": "Exports",
    "export.caption": (
        "Les données exportées sont exactement celles des pages, pour les filtres et la "
        "période choisis dans la barre latérale. Chaque téléchargement, et l'aperçu de "
        "chaque jeu de données, est inscrit au journal d'audit (qui, quand, filtres, "
        "nombre de lignes)."
    ),
    "export.partner_note": (
        "Export partenaire : positions ramenées au centre de leur zone, petits nombres "
        "(moins de {threshold}) masqués, et avec eux ce qui permettrait de les retrouver "
        "en soustrayant d'un total affiché ; ni commentaires ni textes libres ; seules les "
        "données agrégées sont proposées."
    ),
    "export.none_for_role": "Votre rôle ne donne accès à aucun export.",
    "export.format": "Format",
    "export.format.csv": "CSV",
    "export.format.xlsx": "Excel (XLSX)",
    "export.format.geojson": "GeoJSON (QGIS, ArcGIS)",
    "export.format.kml": "KML (Google My Maps, Google Earth)",
    "export.datasets": "Jeux de données",
    "export.choose": "Choisissez au moins un jeu de données.",
    "export.excel_fr": "CSV « Excel français » (séparateur ; et virgule décimale)",
    "export.excel_fr_help": (
        "Pour ouvrir le fichier d'un double clic dans Excel réglé en français. Sinon, le "
        "CSV standard (virgule, point décimal, dates AAAA-MM-JJ) convient aux autres outils."
    ),
    "export.xlsx_note": "Excel : une feuille par jeu de données, dans un seul fichier.",
    "export.one_file_each": "Un fichier par jeu de données.",
    "export.rows": "{dataset} : lignes",
    "export.download": "Télécharger {name}",
    "export.preview": "Aperçu",
    "export.preview_caption.one": "{n} ligne sur {rows}.",
    "export.preview_caption.other": "Les {n} premières lignes sur {rows}.",
    "export.not_mappable_skipped": (
        "« {dataset} » n'a pas de position : il n'existe qu'en CSV ou en Excel."
    ),
    "export.unlocated.one": "{n} ligne sans position ne figure pas dans le fichier {name}.",
    "export.unlocated.other": ("{n} lignes sans position ne figurent pas dans le fichier {name}."),
    "export.my_maps_limit": (
        "Google My Maps importe au plus 2 000 éléments par calque : réduisez la période ou "
        "les filtres pour ce fichier ({rows} éléments), ou ouvrez-le dans Google Earth."
    ),
    "download.refused": (
        "Fichier non produit : la session n'est plus valide (déconnexion, mot de passe changé, "
        "compte supprimé ou rôle modifié). Reconnectez-vous."
    ),
    "export.dataset.passages": "Passages",
    "export.dataset.sites": "Sites",
    "export.dataset.camps": "Campements",
    "export.dataset.events": "Évacuations",
    "export.dataset.zones": "Zones",
    "export.dataset.population": "Population estimée",
    "export.dataset_help.passages": (
        "Un passage par ligne, avec son identifiant Airtable et son campement ; un passage "
        "saisi deux fois ne compte qu'une fois, comme sur le tableau de bord."
    ),
    "export.dataset_help.sites": (
        "Les sites (fiches Airtable) des campements visités sur la période."
    ),
    "export.dataset_help.camps": (
        "Les campements visités sur la période, dans leur état au dernier jour de la période."
    ),
    "export.dataset_help.events": (
        "Les évacuations de la période, une par campement et par jour (champs du "
        "questionnaire de l'Observatoire des expulsions collectives)."
    ),
    "export.dataset_help.zones": (
        "Les zones (hexagones H3) où se trouve un campement actif au dernier jour de la période."
    ),
    "export.dataset_help.population": (
        "La population estimée chaque jour de la période : pour chaque campement actif, son "
        "dernier comptage récent, additionné."
    ),
    "export.value.yes": "oui",
    "export.value.no": "non",
    "export.filters.none": "aucun filtre",
    "export.filters.group": "{name} : {values}",
    "export.kml.description": "{dataset} du {start} au {end} — filtres : {filters}.",
    "export.kml.event": "Évacuation du {date} — {name}",
    "export.kml.zone": "Zone : {people}, {camps}",
    "export.col.suppressed": (
        "{column} : masqué (moins de {threshold}, ou pour qu'un total ne le révèle pas)"
    ),
    "export.col.record_id": "Identifiant Airtable",
    "export.col.camp_id": "Identifiant du campement",
    "export.col.camp_name": "Campement",
    "export.col.date": "Date",
    "export.col.day": "Jour",
    "export.col.association": "Association",
    "export.col.team": "Équipe",
    "export.col.site_id": "Identifiant du site",
    "export.col.latitude": "Latitude",
    "export.col.longitude": "Longitude",
    "export.col.location_text": "Localisation",
    "export.col.arrondissement": "Arrondissement ou commune",
    "export.col.arrondissement_inferred": "Arrondissement déduit de la position",
    "export.col.people": "Personnes",
    "export.col.single_men": "Hommes seuls",
    "export.col.single_women": "Femmes seules",
    "export.col.families": "Familles",
    "export.col.children": "Enfants",
    "export.col.unaccompanied_minors": "Mineurs non accompagnés",
    "export.col.tents": "Tentes",
    "export.col.needs": "Besoins",
    "export.col.meals_given": "Repas distribués",
    "export.col.tents_given": "Tentes distribuées",
    "export.col.blankets_given": "Couvertures distribuées",
    "export.col.hygiene_kits_given": "Kits hygiène distribués",
    "export.col.clothes_given": "Vêtements distribués",
    "export.col.referrals": "Orientations",
    "export.col.evacuation": "Évacuation",
    "export.col.sheltered": "Personnes mises à l'abri",
    "export.col.site_status": "Statut du site",
    "export.col.comment": "Commentaire",
    "export.col.name": "Nom",
    "export.col.site_type": "Type de site",
    "export.col.status": "Statut",
    "export.col.notes": "Notes",
    "export.col.period_passages": "Passages sur la période",
    "export.col.first_visit": "Premier passage",
    "export.col.last_visit": "Dernier passage",
    "export.col.days_since_visit": "Jours depuis le dernier passage",
    "export.col.n_passages": "Passages (depuis le début)",
    "export.col.last_site_status": "Dernier statut signalé",
    "export.col.last_count_date": "Date du dernier comptage",
    "export.col.evacuations": "Évacuations",
    "export.col.last_evacuation": "Dernière évacuation",
    "export.col.predecessor_id": "Campement précédent (avant évacuation)",
    "export.col.successor_ids": "Campements suivants (après évacuation)",
    "export.col.event_id": "Identifiant de l'évacuation",
    "export.col.kind": "Type d'évacuation",
    "export.col.people_source": "Source du nombre de personnes",
    "export.col.without_solution": "Personnes sans solution",
    "export.col.shelter": "Mise à l'abri",
    "export.col.shelter_offered": "Mise à l'abri proposée",
    "export.col.first_report": "Premier signalement",
    "export.col.reports": "Signalements",
    "export.col.associations": "Associations",
    "export.col.record_ids": "Identifiants Airtable des signalements",
    "export.col.zone": "Zone (H3)",
    "export.col.camps": "Campements",
    "export.col.people_low": "Personnes (bas de la fourchette)",
    "export.col.people_high": "Personnes (haut de la fourchette)",
    "export.col.gap": "Sans passage récent",
    "export.error.dataset": "Jeu de données inconnu « {dataset} » : choisissez parmi {datasets}.",
    "export.error.role_dataset": (
        "Le jeu de données « {dataset} » n'est pas exportable avec le rôle {role}."
    ),
    "export.error.format": "Format inconnu « {format} » : choisissez parmi {formats}.",
    "export.error.one_dataset": (
        "Le format {format} contient un seul jeu de données par fichier : seul XLSX en "
        "réunit plusieurs (une feuille chacun)."
    ),
    "export.error.not_mappable": (
        "« {dataset} » n'a pas de position : exportez-le en CSV ou en XLSX."
    ),
    "cli.export.done": (
        "Export écrit dans {path} : {rows} ({datasets}, {format}), du {start} au "
        "{end}, rôle {role}."
    ),
    "cli.export.error": "Export impossible : {error}",
    "cli.export.bad_date": (
        "Date invalide « {value} » : attendu AAAA-MM-JJ (par exemple 2026-11-26)."
    ),
    "cli.export.dates_order": "La date de début ({start}) est après la date de fin ({end}).",
    "cli.export.unknown_association": (
        "Association inconnue « {name} » : choisissez parmi {associations}."
    ),
    "cli.export.no_role_export": "Le rôle {role} n'a accès à aucun export.",
    "cli.export.unlocated.one": "{n} ligne sans position laissée de côté.",
    "cli.export.unlocated.other": "{n} lignes sans position laissées de côté.",
    "cli.export.csv_only": "--excel-fr ne s'applique qu'au format csv.",
    "cli.export.missing": "Option {option} manquante : choisissez parmi {values}.",
    "cli.export.exists": (
        "le fichier {path} existe déjà et n'a pas été modifié : choisissez un autre nom avec "
        "--output, ou ajoutez --force pour le remplacer."
    ),
    "cli.export.symlink": (
        "{path} est un lien symbolique : l'export n'écrit jamais à travers un lien (même avec "
        "--force), pour ne pas écraser le fichier vers lequel il pointe. Indiquez le chemin "
        "d'un vrai fichier avec --output."
    ),
    "cli.export.is_folder": (
        "{path} est un dossier : indiquez un nom de fichier avec --output (par exemple "
        "{path}/export.csv)."
    ),
    "cli.export.no_folder": (
        "le dossier {folder} n'existe pas : créez-le ou choisissez-en un autre."
    ),
    "cli.export.not_allowed": "pas le droit d'écrire dans le dossier {folder}.",
    "cli.export.write_failed": "écriture de {path} impossible ({error}).",
    "summary.title": "Synthèse pour le plaidoyer",
    "summary.caption": (
        "Une page imprimable pour la période et les filtres choisis dans la barre latérale. "
        "Téléchargez-la, ouvrez-la dans votre navigateur puis « Imprimer » → « Enregistrer "
        "en PDF » (ou utilisez le bouton Imprimer ci-dessous). Son affichage et chaque "
        "téléchargement sont inscrits au journal d'audit."
    ),
    "summary.download": "Télécharger la synthèse (HTML)",
    "summary.document_title": "Synthèse CartoCampement du {start} au {end}",
    "summary.print": "Imprimer ou enregistrer en PDF",
    "summary.heading": "Campements de personnes exilées — Paris et petite couronne",
    "summary.period": "Synthèse du {start} au {end}",
    "summary.filters": (
        "Filtres appliqués : {filters}. Les chiffres ne portent que sur cette sélection."
    ),
    "summary.demo": "Données de démonstration : campements, personnes et passages sont fictifs.",
    "summary.box.population": "personnes estimées au {date}",
    "summary.box.minors": "dont mineurs non accompagnés",
    "summary.box.evacuations": "évacuations sur la période",
    "summary.box.without_solution": "personnes évacuées sans solution",
    "summary.population.title": "Population estimée",
    "summary.population.end": "Au {date} : {people} dans {camps}.",
    "summary.population.range": "Fourchette ce jour-là : de {low} à {high} personnes.",
    "summary.population.mean": "En moyenne sur la période : {people} par jour.",
    "summary.population.peak": "Au plus haut : {people}, le {date}.",
    "summary.population.minors": (
        "Mineurs non accompagnés dans ces comptages : {minors} au dernier jour, {peak} au "
        "plus haut."
    ),
    "summary.chart_alt": "Population estimée chaque jour, du {start} au {end}",
    "summary.evac.title": "Évacuations",
    "summary.evac.col.events": "Évacuations",
    "summary.evac.col.people": "Personnes concernées",
    "summary.evac.col.sheltered": "Mises à l'abri",
    "summary.evac.col.without_solution": "Sans solution",
    "summary.evac.col.minors": "dont MNA",
    "summary.evac.all": "Avec mise à l'abri de toutes les personnes",
    "summary.evac.partial": "Avec mise à l'abri d'une partie des personnes",
    "summary.evac.none": "Sans aucune mise à l'abri",
    "summary.evac.unknown": "Mise à l'abri non renseignée",
    "summary.evac.total": "Total",
    "summary.evac.groups": "Familles concernées : {families} ; enfants : {children}.",
    "summary.evac.unknown_people.one": (
        "{n} évacuation sans nombre de personnes connu (ni signalé, ni comptage "
        "récent) : elle ne compte pas dans les personnes concernées."
    ),
    "summary.evac.unknown_people.other": (
        "{n} évacuations sans nombre de personnes connu (ni signalé, ni comptage "
        "récent) : elles ne comptent pas dans les personnes concernées."
    ),
    "summary.services.title": "Services délivrés",
    "summary.services.activity": (
        "{passages} de maraude dans {camps} ; associations : {associations}."
    ),
    "summary.method.title": "Méthode",
    "summary.method.population": (
        "Population estimée : pour chaque campement actif un jour donné, son dernier "
        "comptage {window}, additionné. Ce n'est jamais la somme des "
        "passages : un campement visité trois fois ne compte qu'une fois."
    ),
    "summary.method.range": (
        "La fourchette de chaque jour s'élargit avec l'ancienneté des comptages et l'écart "
        "entre associations qui comptent le même campement le même soir (le plus grand "
        "compte est retenu). Après une évacuation, le campement compte les personnes non "
        "mises à l'abri jusqu'au comptage suivant ; une évacuation que personne n'a vue "
        "laisse une fourchette qui descend jusqu'à zéro."
    ),
    "summary.method.not_counted": (
        "Ne sont pas comptées : les personnes hors des campements visités (à la rue de façon "
        "isolée, hébergées chez des tiers, dans des lieux non visités), les campements sans "
        "comptage depuis plus de {window}, et les maraudes des associations qui "
        "n'utilisent pas l'outil. Les comptages se font à vue : ce sont des minimums."
    ),
    "summary.method.evacuations": (
        "Évacuations : une par campement et par jour, même signalée par plusieurs "
        "associations. Personnes concernées : le nombre signalé lors de l'évacuation, sinon "
        "le dernier comptage de la semaine précédente ; « sans solution » : personnes "
        "concernées moins personnes mises à l'abri."
    ),
    "summary.method.minors": (
        "Mineurs non accompagnés : tels que signalés par les équipes (âge déclaré, non "
        "vérifié), dans les mêmes comptages que la population estimée."
    ),
    "summary.method.services": (
        "Services : articles distribués tels que saisis par les équipes ; une fiche envoyée "
        "deux fois n'est comptée qu'une fois."
    ),
    "summary.method.small_counts": (
        "Les nombres entre 1 et {threshold} exclu sont masqués et affichés « <{threshold} »."
    ),
    "summary.footer": "Source : CartoCampement, données des maraudes — édité le {when}.",
    # issue 17: from the map to the street and back (carto/rounds.py, carto/ui/rounds.py)
    "nav.nearby": "Autour de moi",
    "nav.round": "Préparer une maraude",
    "audit.event.round_planned": "Maraude prévue",
    "audit.event.rounds_purged": "Maraudes anciennes oubliées",
    "audit.detail.plan": "maraude n° {id}",
    "audit.detail.evening": "soir du {day}",
    "audit.detail.association": "association {name}",
    "audit.detail.planned_camps.one": "{n} campement prévu",
    "audit.detail.planned_camps.other": "{n} campements prévus",
    "audit.detail.plans.one": "{n} maraude",
    "audit.detail.plans.other": "{n} maraudes",
    "distance.m": "{n} m",
    "distance.km": "{n} km",
    "duration.minutes": "{n} min",
    "duration.hours": "{h} h {m:02d}",
    "passage.link": "Signaler un passage",
    "passage.help": "Ouvre le formulaire de votre association, ce campement déjà indiqué.",
    "directions.link": "Itinéraire",
    "directions.help": (
        "Ouvre l'application de cartes du téléphone (Android) ; sinon OpenStreetMap."
    ),
    "directions.osm": "Itinéraire (OpenStreetMap)",
    "camp.days_since.one": "Dernier passage : il y a {n} jour",
    "camp.days_since.other": "Dernier passage : il y a {n} jours",
    "camp.today": "Dernier passage : aujourd'hui",
    "camp.people": "Personnes : {n}",
    "camp.alert": "Alerte protection : {reasons}",
    "camp.needs": "Besoins : {needs}",
    "camp.no_needs": "Besoins : aucun signalé",
    "camp.walk": "À {distance} à pied",
    "camp.zone_note": "Positions au centre de leur zone : distances approchées.",
    "nearby.title": "Autour de moi",
    "nearby.privacy": (
        "Votre position sert seulement à trier cette liste, dans votre navigateur et cette "
        "session : elle n'est ni enregistrée, ni journalisée, ni envoyée ailleurs, et elle "
        "est oubliée quand vous quittez la page."
    ),
    "nearby.locate": "Me localiser",
    "nearby.waiting": (
        "Recherche de votre position… Autorisez la localisation si le navigateur la demande."
    ),
    "nearby.denied": (
        "Localisation refusée : la liste ne peut pas être triée par distance. Autorisez la "
        "localisation de ce site dans les réglages du navigateur, puis touchez « Me "
        "localiser » ; ou choisissez un arrondissement ci-dessous."
    ),
    "nearby.unavailable": (
        "Position indisponible sur cet appareil (ordinateur sans localisation, ou délai "
        "dépassé). Choisissez un arrondissement ci-dessous, ou réessayez dehors sur un téléphone."
    ),
    "nearby.fallback": "Campements de l'arrondissement",
    "nearby.radius": "Distance maximale à pied",
    "nearby.found.one": "{n} campement actif à moins de {distance}, le plus proche d'abord.",
    "nearby.found.other": "{n} campements actifs à moins de {distance}, le plus proche d'abord.",
    "nearby.none": "Aucun campement actif à moins de {distance}.",
    "nearby.accuracy": "Précision de la position : {distance}.",
    "round.title": "Préparer une maraude",
    "round.intro": (
        "Choisissez l'association, l'équipe, le soir et les arrondissements : les campements "
        "sont proposés par priorité, dans l'ordre d'un trajet à pied, avec ce qu'il faut emporter."
    ),
    "round.association": "Association",
    "round.team": "Équipe",
    "round.evening": "Soir",
    "round.zones": "Arrondissements",
    "round.zones_all": "Tous",
    "round.limit": "Campements au plus",
    "round.suggested": "Campements, dans l'ordre du trajet",
    "round.priority": (
        "Priorité : alerte protection, puis sans passage depuis {gap} jours ou plus, puis "
        "besoins non couverts, puis score de point chaud ; un campement qu'une autre "
        "association prévoit ce soir passe en dernier. Le trajet les parcourt ensuite dans "
        "l'ordre le plus court."
    ),
    "round.col.order": "N°",
    "round.col.camp": "Campement",
    "round.col.arrondissement": "Arrondissement",
    "round.col.days": "Jours sans passage",
    "round.col.people": "Personnes",
    "round.col.reasons": "Raisons",
    "round.col.walk": "Marche",
    "round.reason.alert": "alerte protection ({reasons})",
    "round.reason.gap.one": "sans passage depuis {n} jour",
    "round.reason.gap.other": "sans passage depuis {n} jours",
    "round.reason.needs": "besoins non couverts : {needs}",
    "round.reason.hotspot": "point chaud (score {score})",
    "round.reason.planned": "déjà prévu ce soir par {associations}",
    "round.route": "Trajet à pied : {distance}, environ {time}.",
    "round.route_note": (
        "Distances estimées : ligne droite × {factor} (les rues font des détours), à {speed} km/h."
    ),
    "round.packing": "À emporter",
    "round.packing_method": (
        "Par article : les personnes des campements dont le dernier passage signale le besoin "
        "(un article par personne), et ce que les maraudes des {weeks} dernières semaines ont "
        "donné à ces campements par passage ; on emporte le plus grand des deux."
    ),
    "round.packing_empty": "Aucun besoin signalé pour ces campements.",
    "round.col.item": "Article",
    "round.col.need": "Personnes concernées",
    "round.col.usual": "Donné d'habitude",
    "round.col.bring": "À emporter",
    "round.empty": "Aucun campement actif dans ces arrondissements.",
    "round.save": "Enregistrer pour le soir du {day}",
    "round.saved": (
        "Maraude enregistrée : elle apparaît sur la page Coordination pour toutes les associations."
    ),
    "round.evening_refused": (
        "Maraude non enregistrée : un soir se choisit entre hier et dans {days} jours."
    ),
    "round.print": "Fiche à imprimer (A4)",
    "round.share": "Lien à partager avec l'équipe (connexion requise)",
    "round.phone": "Sur le terrain",
    "round.file": "maraude-{day}.html",
    "round.sheet.title": "Maraude du {day} — {association}",
    "round.sheet.team": "Équipe : {team}",
    "round.sheet.zones": "Arrondissements : {zones}",
    "round.sheet.edited": (
        "Édité le {when}. Document interne : ne pas diffuser (positions des campements)."
    ),
    "round.sheet.seen": "Vu",
    "round.sheet.print": "Imprimer",
    "audit.dataset.fiche_maraude": "Fiche de maraude",
    "coord.planned": "Prévu ce soir",
    "coord.planned_caption": (
        "Maraudes enregistrées depuis « Préparer une maraude » pour le soir du {day}, "
        "toutes associations : pour ne pas visiter deux fois le même campement pendant "
        "qu'un autre attend."
    ),
    "coord.planned_none": "Aucune maraude enregistrée pour ce soir.",
    "coord.planned_twice": "Prévus par plusieurs associations : {camps}.",
    "coord.col.team": "Équipe",
    "coord.col.order": "N°",
    "coord.col.evening": "Soir",
    "coord.col.association": "Association",
    "coord.unvisited": "Prévu, non visité",
    "coord.unvisited_caption": (
        "Campements prévus un soir des {days} derniers jours et sans aucun passage entre midi "
        "et {hour} h le lendemain."
    ),
    "coord.unvisited_none": "Tous les campements prévus ont eu un passage.",
}

CATALOGUES: Mapping[str, Mapping[str, str]] = {"fr": FR}
LANGUAGE = "fr"
NARROW_NBSP = "\u202f"  # the French thousands separator (narrow no-break space)
DECIMAL_COMMA = ","
MISSING = "—"  # what a number shows when it is unknown
PLURAL_FORMS = ("one", "other")


def t(key: str, /, **values: object) -> str:
    """The interface text for ``key``, with ``{placeholders}`` filled from ``values``."""
    text = CATALOGUES[LANGUAGE][key]
    return text.format(**values) if values else text


def plural_form(n: float | str | None) -> str:
    """The catalogue form for a count: "one" or "other". French puts 0 and 1 (and any
    number below 2, such as 1,5) in the singular; an unknown count (None) in the plural.
    ``n`` may be a label already written ("1", "1 062"): the form of the number it
    shows, the plural when it shows none ("<5", "—")."""
    number = parse_number(n) if isinstance(n, str) else _as_float(n)
    return "one" if number is not None and abs(number) < 2 else "other"


def t_n(key: str, n: float | str | None, /, **values: object) -> str:
    """The text of ``key.one`` or ``key.other`` for the count ``n``, ``{n}`` filled.

    ``n`` is a number (written the French way: "1 062", "1,5") or a label already
    written ("1 062", "<5", "—"), used as is; a label's form is that of the number it
    shows, the plural when it shows none ("<5", "—")."""
    label = n if isinstance(n, str) else format_number(_as_float(n), trim=True)
    return t(f"{key}.{plural_form(n)}", **{"n": label, **values})


def parse_number(text: str) -> float | None:
    """The number a French label shows ("1 062" → 1062, "1,5" → 1.5), or None ("<5")."""
    cleaned = text.strip().replace(NARROW_NBSP, "").replace("\u00a0", "").replace(" ", "")
    try:
        return float(cleaned.replace(DECIMAL_COMMA, "."))
    except ValueError:
        return None


def format_date(value: dt.date | dt.datetime) -> str:
    """A date as DD/MM/YYYY."""
    return value.strftime("%d/%m/%Y")


# A date and time as ``format_datetime`` writes it (``strftime``; columns: ``dt.strftime``).
DATETIME_FORMAT = "%d/%m/%Y à %H:%M"


def format_datetime(value: dt.datetime) -> str:
    """A date and time as DD/MM/YYYY à HH:MM."""
    return value.strftime(DATETIME_FORMAT)


def format_age(seconds: float) -> str:
    """A duration in words: "12 min", "3 h", "2 jours"."""
    minutes = max(0, int(seconds // 60))
    if minutes < 120:
        return t("age.minutes", n=minutes)
    if minutes < 48 * 60:
        return t("age.hours", n=minutes // 60)
    return t_n("age.days", minutes // (24 * 60))


def format_days_ago(days: float | None) -> str:
    """How long ago a day was: "aujourd'hui", "hier", "il y a 3 jours" ("—" unknown)."""
    number = _as_float(days)
    if number is None:
        return MISSING
    whole = max(0, round(number))
    if whole == 0:
        return t("ago.today")
    if whole == 1:
        return t("ago.yesterday")
    return t_n("ago.days", whole)


def _as_float(value: object) -> float | None:
    """A number as a float; None for None, NaN, pd.NA, text or anything else."""
    if value is None or isinstance(value, str | bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def format_number(value: float | None, decimals: int = 1, trim: bool = False) -> str:
    """A number the French way: a decimal comma and a narrow no-break space between
    thousands ("1 062,5"), ``decimals`` after the comma; ``trim`` drops trailing zeros
    ("4" rather than "4,0", "2,5" rather than "2,50"); "—" when unknown (None, NaN,
    pd.NA). The one way numbers are written: ``format_decimal`` and ``format_int`` are
    this function."""
    number = _as_float(value)
    if number is None:
        return MISSING
    text = f"{number:,.{max(decimals, 0)}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.replace(",", NARROW_NBSP).replace(".", DECIMAL_COMMA)
    return "0" if text == "-0" else text


def format_decimal(value: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals after a decimal comma: 1.41 → "1,4"."""
    return format_number(value, digits)


def format_int(value: float | None) -> str:
    """A whole number with a narrow no-break space as thousands separator: "1 062"."""
    return format_number(value, 0)
