"""How close the estimated population comes to the demo's truth, over many demo worlds.

Used by ``tests/test_population.py`` (targets of issue 20) and runnable alone:
``python -m testing.population_accuracy`` prints the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from carto import demo
from carto.analytics import camps, population
from carto.dataset import normalise_options
from carto.normalise import normalise
from carto.settings import Settings

TODAY = dt.date(2026, 11, 26)
SEEDS = tuple(range(101, 121))  # 20 worlds, none of them the app's demo (seed 56)


@dataclass(frozen=True)
class Accuracy:
    """Daily relative errors of the estimate and whether the truth fell in its range."""

    errors: pd.Series  # |estimate - truth| / truth, one value per (seed, day)
    covered: pd.Series  # low <= truth <= high, same index
    width: pd.Series  # (high - low) / truth, same index

    @property
    def median(self) -> float:
        return float(self.errors.median())

    @property
    def p90(self) -> float:
        return float(self.errors.quantile(0.9))

    @property
    def worst(self) -> float:
        return float(self.errors.max())

    @property
    def coverage(self) -> float:
        return float(self.covered.mean())

    def table(self) -> str:
        """The figures, one per line."""
        return (
            f"worlds {self.errors.index.get_level_values(0).nunique()}, days {len(self.errors)}\n"
            f"daily relative error: median {self.median:.2%}, 90th percentile {self.p90:.2%}, "
            f"max {self.worst:.2%}\n"
            f"truth inside the range: {self.coverage:.1%} of days; "
            f"median range width {float(self.width.median()):.1%} of the truth"
        )


def world(seed: int, days: int, n_camps: int) -> tuple[pd.DataFrame, pd.Series]:
    """The passages (with camps) a snapshot at the end of ``TODAY`` holds, and the truth."""
    base = demo.generate(seed=seed, days=days, today=TODAY, n_camps=n_camps)
    settings = Settings({}, None, Path.cwd())
    now = pd.Timestamp(TODAY, tz="Europe/Paris") + pd.Timedelta(hours=23, minutes=59)
    data = normalise(base.sites, base.passages, normalise_options(settings, now))
    passages = camps.with_camps(data.passages, data.sites, radius_m=150, gap_days=30)
    truth = base.truth.daily_population.rename(index=pd.Timestamp)
    return passages, truth


def measure(
    seeds: Sequence[int] = SEEDS, days: int = 120, n_camps: int = 20, warm_up: int = 7
) -> Accuracy:
    """Errors on every day of each world but the first ``warm_up`` (no count is known
    before the period starts)."""
    errors, covered, width = [], [], []
    for seed in seeds:
        passages, truth = world(seed, days, n_camps)
        scored = population.day_range(truth.index[warm_up], truth.index[-1])
        est = population.estimated_population(passages, scored, window=7)
        t = truth.reindex(scored).astype(float)
        # An estimator without a range (as before issue 20) is measured as a point.
        low = est["people_low"] if "people_low" in est else est["people"]
        high = est["people_high"] if "people_high" in est else est["people"]
        index = pd.MultiIndex.from_product([[seed], scored])
        errors.append(pd.Series(((est["people"] - t).abs() / t).to_numpy(), index=index))
        inside = (low.to_numpy() <= t.to_numpy() + 1e-9) & (t.to_numpy() <= high.to_numpy() + 1e-9)
        covered.append(pd.Series(inside, index=index))
        width.append(pd.Series(((high - low) / t).to_numpy(), index=index))
    return Accuracy(pd.concat(errors), pd.concat(covered), pd.concat(width))


if __name__ == "__main__":
    found = measure()
    print(found.table())
    worst = found.errors.sort_values().tail(8)
    print(worst.to_string())
