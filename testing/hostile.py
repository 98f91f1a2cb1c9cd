"""A demo snapshot whose every camp is named with hostile markdown and HTML (issue 14,
item 6): what a form's "Localisation" or a site's "Nom" may hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carto.dataset import demo_key, generate_demo, write_demo_snapshot
from carto.settings import load_settings
from carto.store import SnapshotStore

EVIL_HOST = "evil.example"
EVIL = f"//{EVIL_HOST}"  # protocol-relative: a text holding "http" is read as a map link
HOSTILE = (
    f"Camp [lien]({EVIL}/x) ![pixel]({EVIL}/p.png) <img src={EVIL}/i.png> `code` "
    f"$x^2$ :material/home: :red[urgent] :smile: www.{EVIL_HOST}"
)


def write_hostile_demo(
    config: Path, position: tuple[float, float] | None = None, name: str = HOSTILE
) -> None:
    """Write today's demo snapshot of the demo ``config`` with every site and place
    description named ``name`` (default ``HOSTILE``), and, given a (latitude,
    longitude), every record there (all camps on one spot). The app keeps it: it is
    keyed as today's demo."""
    conf = load_settings(config)
    today = pd.Timestamp.now(tz=conf["general.timezone"]).date()
    base = generate_demo(conf, today)
    for record in base.sites:
        record["fields"]["Nom"] = name
    for record in base.passages:
        record["fields"]["Localisation"] = name
    if position is not None:
        for record in (*base.sites, *base.passages):
            record["fields"]["Latitude"], record["fields"]["Longitude"] = position
    write_demo_snapshot(SnapshotStore(conf.store_location), base, demo_key(conf, today))
