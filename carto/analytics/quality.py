"""The data-quality report: what was set aside, what is used with a warning, and why.

Issues are codes and parameters (``carto.normalise``); ``reasons`` writes their French
text where the report is shown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from carto.analytics.frames import described
from carto.analytics.weeks import week_start
from carto.normalise import AIRTABLE_RECORD_URL, describe

QUARANTINED = "quarantined"
FLAGGED = "flagged"


def record_urls(base_id: str, table: str, record_ids: pd.Series) -> list[str | None]:
    """Each record's page in Airtable, where it can be fixed at the source (None
    without a base)."""
    if not base_id:
        return [None] * len(record_ids)
    # one format around a marker: a second one would read braces in a name as fields
    prefix = AIRTABLE_RECORD_URL.format(base=base_id, table=table, record="\0")
    head, tail = prefix.split("\0")
    return [f"{head}{r}{tail}" for r in record_ids.tolist()]


def _not_empty(lists: pd.Series) -> np.ndarray:
    """Which cells of a column of lists hold something (one C-level pass: ``.map(len)``
    cost 14 ms at 100,000 passages, on every first run of the page)."""
    lengths = np.fromiter(map(len, lists.tolist()), dtype=np.int64, count=len(lists))
    return lengths > 0


def issue_list(
    passages: pd.DataFrame,
    sites: pd.DataFrame,
    quarantine: pd.DataFrame,
    base_id: str,
    table_names: dict[str, str],
) -> pd.DataFrame:
    """One row per quarantined or flagged record: status, table, ``codes`` (the kinds it
    counts under: every flag, a quarantined record's main reason), ``issue_codes`` and
    ``issue_params`` (every reason or flag and what it quotes), link, date."""
    flagged = []
    for table_key, frame in (("passages", passages), ("sites", sites)):
        rows = frame[_not_empty(frame["flag_codes"])]
        when = rows["date"] if "date" in rows else rows["created_time"]
        flagged.append(
            pd.DataFrame(
                {
                    "status": FLAGGED,
                    "table": table_key,
                    "record_id": rows["record_id"],
                    "codes": rows["flag_codes"],
                    "issue_codes": rows["flag_codes"],
                    "issue_params": rows["flag_params"],
                    "when": when,
                    "airtable_url": record_urls(
                        base_id, table_names.get(table_key, table_key), rows["record_id"]
                    ),
                }
            )
        )
    quarantined = pd.DataFrame(
        {
            "status": QUARANTINED,
            "table": quarantine["table"],
            "record_id": quarantine["record_id"],
            "codes": quarantine["reason_code"].map(lambda c: [c]),
            "issue_codes": quarantine["reason_codes"],
            "issue_params": quarantine["reason_params"],
            "when": quarantine["created_time"],
            "airtable_url": quarantine["airtable_url"],
        }
    )
    out = pd.concat([quarantined, *flagged], ignore_index=True)
    return out.sort_values(["status", "when"], ascending=[False, False], ignore_index=True)


@dataclass(frozen=True)
class RecordCounts:
    """How many records the snapshot holds, by what became of them."""

    used: int  # passages and sites in the data (flagged ones included)
    flagged: int  # used with a warning
    quarantined: int  # set aside

    @property
    def total(self) -> int:
        return self.used + self.quarantined


def record_counts(
    passages: pd.DataFrame, sites: pd.DataFrame, quarantine: pd.DataFrame, issues: pd.DataFrame
) -> RecordCounts:
    """Records used, flagged (``issues`` of ``issue_list``) and quarantined."""
    return RecordCounts(
        used=len(passages) + len(sites),
        flagged=int((issues["status"] == FLAGGED).sum()),
        quarantined=len(quarantine),
    )


def reasons(issues: pd.DataFrame) -> pd.Series:
    """The French text of each issue row: its reasons or flags, "; " between them."""
    return described(issues, describe, "issue_codes", "issue_params")


def counts_by_kind(issues: pd.DataFrame) -> pd.DataFrame:
    """How many records carry each kind of issue (``codes``: a catalogue key's tail,
    ``kind.<code>``; a record may count under several kinds)."""
    exploded = issues[["status", "codes"]].explode("codes").dropna()
    counts = exploded.groupby(["status", "codes"]).size().rename("records").reset_index()
    return counts.sort_values(["status", "records"], ascending=[False, False], ignore_index=True)


def weekly_trend(issues: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Quarantined and flagged records per week (week of the record's date or creation)."""
    when = pd.to_datetime(issues["when"], utc=True).dt.tz_convert(tz)
    week = week_start(when)  # the local Monday of each record's week
    table = issues.assign(week=week).groupby(["week", "status"]).size().unstack(fill_value=0)
    return table.reindex(columns=[QUARANTINED, FLAGGED], fill_value=0)
