"""Record text in the morning digest (issue 18), attacked through the form: anyone who
can fill the association's form names a camp ("Localisation", or a site's "Nom"). The
HTML part escapes it (tests/test_digest.py); in the plain-text part, a line break
started a false item of the mail's list and an address became a link in the reader's
mail client, in a mail sent by the app itself."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carto import accounts, digest
from carto.dataset import demo_key, generate_demo, write_demo_snapshot
from carto.settings import load_settings
from carto.store import SnapshotStore
from tests.test_digest import DAY, MORNING, add, write_config

EVIL_HOST = "evil.example"
NAME = (
    f"Pont de Flandre\n\n- Consignes pour ce soir : https://{EVIL_HOST}/consignes\n"
    f"- Écrire à securite@{EVIL_HOST} ou voir www.{EVIL_HOST}"
)


def test_a_camp_name_cannot_add_lines_or_links_to_a_digest(tmp_path: Path) -> None:
    conf = load_settings(write_config(tmp_path, 1))
    base = generate_demo(conf.with_values(demo__days=30), DAY)
    for record in base.sites:
        record["fields"]["Nom"] = NAME
    write_demo_snapshot(SnapshotStore(conf.store_path), base, demo_key(conf, DAY))
    add(conf, accounts.COORDINATOR, accounts.DIGEST_DAILY)
    account = accounts.load_accounts(conf)[accounts.COORDINATOR]
    later = MORNING + pd.Timedelta(days=30)  # every camp unvisited by then: listed
    mail = digest.daily_mail(
        digest.load_context(conf, SnapshotStore(conf.store_path), later), account
    )
    text = mail.text()
    assert "Pont de Flandre" in text  # the camps are named
    lines = text.splitlines()
    assert not [line for line in lines if line.startswith(("- Consignes", "- Écrire"))]
    for address in (f"https://{EVIL_HOST}", f"securite@{EVIL_HOST}", f"www.{EVIL_HOST}"):
        assert address not in text and address not in mail.html(), address
