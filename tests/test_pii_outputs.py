"""Personal data typed in « Localisation » reaches neither the staff map nor a staff
export (issue 14, item 7): the camp of a passage without a Site is named after its
Localisation text, so a phone number there would be in the tooltip and in every file."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from carto import privacy
from carto.analytics import camps
from carto.dataset import Dataset, normalise_options
from carto.export import contents as X
from carto.export import formats
from carto.filters import Filters
from carto.map_view import camp_points
from carto.normalise import normalise
from carto.options import AnalysisOptions
from carto.settings import Settings
from tests.conftest import TODAY

PHONE = "06 12 34 56 78"
EMAIL = "prenom.nom@asso.org"
LOCALISATION = f"Sous le pont, demander Ali au {PHONE} ou {EMAIL}"


def digits(text: object) -> str:
    return "".join(c for c in str(text) if c.isdigit())


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    now = pd.Timestamp(TODAY, tz="Europe/Paris") + pd.Timedelta(hours=23)
    options = normalise_options(Settings({}), now=now)
    records = [
        {
            "id": f"recPII{i:010d}",
            "createdTime": f"{TODAY.isoformat()}T18:0{i}:00.000Z",
            "fields": {
                "Date": f"{TODAY.isoformat()}T18:0{i}:00.000Z",
                "Association": association,
                "Latitude": 48.8841,
                "Longitude": 2.3601,
                "Localisation": LOCALISATION,
                "Personnes": 12,
            },
        }
        for i, association in enumerate(("Utopia 56", "Action contre la Faim"))
    ]
    data = normalise([], records, options)
    passages = camps.with_camps(data.passages, data.sites, radius_m=150, gap_days=30)
    return Dataset(passages, data.sites, data.quarantine, 1, False, None, TODAY)


def test_staff_tooltip_and_staff_csv_hold_no_digit_of_the_phone_number(
    dataset: Dataset, demo_settings: Settings
) -> None:
    as_of = pd.Timestamp(TODAY, tz="Europe/Paris")
    states = camps.camp_states(dataset.passages, dataset.sites, as_of, 30)
    point = camp_points(states, gap_days=3).iloc[0]
    tooltip = f"{point['title']}\n{point['details']}"
    assert "Sous le pont" in tooltip  # the camp is named after its Localisation
    assert digits(PHONE)[1:] not in digits(tooltip) and EMAIL not in tooltip, tooltip

    scope = X.scope_for(dataset, "coordinateur", demo_settings, Filters(period="7j"))
    assert scope.policy == privacy.FULL  # staff: nothing is hidden by the privacy policy
    opts = dataclasses.replace(AnalysisOptions.from_settings(demo_settings), active_days=30)
    for table in X.build(scope, opts, [X.PASSAGES, X.CAMPS]):
        text = formats.to_csv(table).decode("utf-8-sig")
        assert "Sous le pont" in text, table.dataset
        assert digits(PHONE)[1:] not in digits(text), table.dataset
        assert EMAIL not in text, table.dataset
