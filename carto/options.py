"""Typed, frozen options, one object per concern, built once from the settings.

Code never reads a setting by its name and casts it by hand: it is handed one of these
objects, built by its ``from_settings(settings)``. The defaults live only in the
declarations of ``carto/settings.py`` (which also checks each value's type), so a
setting's default is written once (docs/architecture.md §10). Options are frozen and
hashable: they key the caches of ``carto.ui.data`` with the snapshot version, the role
and the filters, so that a config edit gives new figures at once.

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pandas as pd

from carto.analytics.hotspots import Weights
from carto.i18n import t
from carto.settings import ConfigError, Settings

# The earliest [quality] first_date allowed: Streamlit's date widgets refuse days before
# 1684, and a period of centuries makes every daily series that long.
EARLIEST_FIRST_DATE: Final = dt.date(1900, 1, 1)


def first_date(settings: Settings) -> dt.date:
    """``[quality] first_date``: passages dated before it are quarantined."""
    value = settings["quality.first_date"]
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or day < EARLIEST_FIRST_DATE:
        raise ConfigError(t("config.error.first_date", key="quality.first_date", value=value))
    return day


@dataclass(frozen=True)
class AnalysisOptions:
    """The ``[analysis]``, ``[zones]`` and ``[hotspots]`` settings and the time zone:
    what every figure, page and export is computed with."""

    timezone: str  # general.timezone
    active_days: int  # analysis.camp_gap_days: a camp seen within it is active
    population_window_days: int
    coverage_gap_days: int
    camp_radius_m: int
    evacuation_merge_days: int
    successor_distance_m: int
    successor_days: int
    duplicate_visit_hours: float
    forecast_weeks: int
    alert_hours: int
    zone_resolution: int  # zones.h3_resolution
    weights: Weights  # [hotspots]

    @classmethod
    def from_settings(cls, settings: Settings) -> AnalysisOptions:
        return cls(
            timezone=settings["general.timezone"],
            active_days=settings["analysis.camp_gap_days"],
            population_window_days=settings["analysis.population_window_days"],
            coverage_gap_days=settings["analysis.coverage_gap_days"],
            camp_radius_m=settings["analysis.camp_radius_m"],
            evacuation_merge_days=settings["analysis.evacuation_merge_days"],
            successor_distance_m=settings["analysis.successor_distance_m"],
            successor_days=settings["analysis.successor_days"],
            duplicate_visit_hours=settings["analysis.duplicate_visit_hours"],
            forecast_weeks=settings["analysis.forecast_weeks"],
            alert_hours=settings["analysis.alert_hours"],
            zone_resolution=settings["zones.h3_resolution"],
            weights=Weights(
                minors=settings["hotspots.weight_minors"],
                families=settings["hotspots.weight_families"],
                women=settings["hotspots.weight_women"],
                unmet_need=settings["hotspots.weight_unmet_need"],
                days_scale=settings["hotspots.days_scale"],
            ),
        )

    def day_start(self, day: pd.Timestamp | dt.date) -> pd.Timestamp:
        """Local midnight starting ``day``: the "as of" a camp state or a score takes
        (they count the whole of that day)."""
        return pd.Timestamp(day).tz_localize(self.timezone)


@dataclass(frozen=True)
class AirtableTables:
    """The base and the two tables the records come from (``[airtable]``): what a link
    to a record in Airtable needs."""

    base_id: str
    passages_table: str
    sites_table: str

    @classmethod
    def from_settings(cls, settings: Settings) -> AirtableTables:
        return cls(
            base_id=settings["airtable.base_id"],
            passages_table=settings["airtable.passages_table"],
            sites_table=settings["airtable.sites_table"],
        )

    @property
    def names(self) -> dict[str, str]:
        """Table key (``passages``, ``sites``) → the base's name or id of that table."""
        return {"passages": self.passages_table, "sites": self.sites_table}


@dataclass(frozen=True)
class DemoOptions:
    """The generated demo (``[demo]``): same seed, days and camps, same data."""

    seed: int
    days: int
    camps: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DemoOptions:
        return cls(
            seed=settings["demo.seed"], days=settings["demo.days"], camps=settings["demo.camps"]
        )


@dataclass(frozen=True)
class SyncOptions:
    """How a refresh talks to Airtable and how often (``[sync]``)."""

    timezone: str  # general.timezone: the month the call budget counts in
    monthly_call_budget: int
    refresh_interval_seconds: float
    overlap_seconds: float
    reconcile_interval_hours: float
    listing_restarts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncOptions:
        return cls(
            timezone=settings["general.timezone"],
            monthly_call_budget=settings["sync.monthly_call_budget"],
            refresh_interval_seconds=settings["sync.refresh_interval_seconds"],
            overlap_seconds=settings["sync.overlap_seconds"],
            reconcile_interval_hours=settings["sync.reconcile_interval_hours"],
            listing_restarts=settings["sync.listing_restarts"],
        )


@dataclass(frozen=True)
class AuthOptions:
    """Sign-in, cookies, lockout and idle time-out (``[auth]``)."""

    cookie_name: str
    cookie_expiry_days: float
    idle_timeout_minutes: int
    lockout_minutes: int
    max_failed_logins: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthOptions:
        return cls(
            cookie_name=settings["auth.cookie_name"],
            cookie_expiry_days=settings["auth.cookie_expiry_days"],
            idle_timeout_minutes=settings["auth.idle_timeout_minutes"],
            lockout_minutes=settings["auth.lockout_minutes"],
            max_failed_logins=settings["auth.max_failed_logins"],
        )


@dataclass(frozen=True)
class PrivacyOptions:
    """What a partner's view is blurred to, and how long comments are kept (``[privacy]``)."""

    partner_h3_resolution: int
    small_count_threshold: int
    comment_retention_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivacyOptions:
        return cls(
            partner_h3_resolution=settings["privacy.partner_h3_resolution"],
            small_count_threshold=settings["privacy.small_count_threshold"],
            comment_retention_days=settings["privacy.comment_retention_days"],
        )
