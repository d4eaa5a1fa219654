"""Stylised facts of the conflict's geography, computed from a run and compared with ACLED.

The checks of issue 9 in one place, used by the CI tests (tests/test_stylised_geography.py,
a few seeds, loose tolerances) and by ``scripts/geography_report.py`` (many seeds, the
issue's tolerances): the admin1 mix of violent events by period against ACLED's aggregates
(``calibration/acled/``, Taoudenit counted inside Tombouctou as ACLED does), yearly national
counts, the top region, and who controls which places when.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sahel_sim.geography import REGIONS

if TYPE_CHECKING:
    from sahel_sim.run import RunResult

ACLED_DIR = Path(__file__).resolve().parent.parent / "calibration" / "acled"
VIOLENT = ("Battles", "Explosions/Remote violence", "Violence against civilians")
PERIODS: dict[str, tuple[int, int]] = {"2012-2013": (2012, 2013), "2014-2016": (2014, 2016), "2017-2019": (2017, 2019)}
# ACLED's admin1 (2012-2019 aggregates): Taoudenit is inside Tombouctou
ACLED_REGIONS: tuple[str, ...] = tuple(r for r in REGIONS if r != "Taoudenit")
_TO_ACLED = {"Timbuktu": "Tombouctou", "Taoudeni": "Tombouctou", "Taoudenit": "Tombouctou"}


def violent_events(result: RunResult) -> pd.DataFrame:
    """The run's violent events with ``year`` and ``region`` (ACLED's admin1)."""
    ev = result.events.select(["event_type", "year", "admin1", "actor1_id", "actor2_id", "gid"]).to_pandas()
    ev = ev[ev.event_type.isin(VIOLENT)].copy()
    ev["region"] = ev.admin1.replace(_TO_ACLED)
    return ev


def region_mix(events: pd.DataFrame, first: int, last: int) -> pd.Series:
    """Share of violent events by region over the years ``first``-``last`` (inclusive)."""
    sel = events[(events.year >= first) & (events.year <= last)]
    counts = sel.region.value_counts().reindex(ACLED_REGIONS, fill_value=0).astype(float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def acled_region_mix(first: int, last: int, *, folder: Path = ACLED_DIR) -> pd.Series:
    """ACLED's share of political-violence events by admin1 over ``first``-``last``."""
    df = pd.read_csv(folder / "pv_events_by_admin1_year_2012_2019.csv")
    sel = df[(df.year >= first) & (df.year <= last)].groupby("admin1").pv_events.sum()
    sel = sel.reindex(ACLED_REGIONS, fill_value=0).astype(float)
    return sel / sel.sum()


def acled_yearly(*, folder: Path = ACLED_DIR) -> pd.Series:
    """ACLED's political-violence events per year, 2012-2024."""
    return pd.read_csv(folder / "pv_events_national_by_year_2012_2024.csv").set_index("year").pv_events


def total_variation(p: pd.Series, q: pd.Series) -> float:
    """Total variation distance between two distributions over the same regions."""
    return 0.5 * float(np.abs(p.reindex(q.index, fill_value=0.0) - q).sum())


def yearly_counts(events: pd.DataFrame, years: range = range(2012, 2025)) -> pd.Series:
    return events.groupby("year").size().reindex(list(years), fill_value=0)


def _observed(result: RunResult, grid=None):
    from sahel_sim.stats import observed_from_run

    return observed_from_run(result, grid=grid)


def control_share(result: RunResult, faction: str, lat: float, lon: float, start: dt.date, end: dt.date,
                  *, grid=None) -> float:
    """Share of the control snapshots in [start, end] in which ``faction`` holds the cell of
    (lat, lon) (the ``control_share`` statistic of sahel_sim.stats)."""
    from sahel_sim.stats import _control_share

    return _control_share(_observed(result, grid), faction=faction, lat=lat, lon=lon,
                          start=np.datetime64(start), end=np.datetime64(end))


def cells_held(result: RunResult, *, at: dt.date, grid=None) -> pd.DataFrame:
    """Cells each faction holds in each region at the snapshot nearest ``at`` (regions x
    factions, plus 'nobody')."""
    from sahel_sim.geography import load_grid

    grid = grid if grid is not None else load_grid(national_population=result.scenario.population.national_total)
    s = result.snapshots
    dates = np.array(s.dates, dtype="datetime64[D]")
    i = int(np.argmin(np.abs(dates - np.datetime64(at))))
    order = {int(g): k for k, g in enumerate(grid.gid)}
    region = np.array(REGIONS, dtype=object)[grid.region[[order[int(g)] for g in s.gid]]]
    names = np.array([*s.factions, "nobody"], dtype=object)
    holder = names[np.where(s.control[i] >= 0, s.control[i], len(s.factions))]
    return pd.crosstab(pd.Series(region, name="region"), pd.Series(holder, name="holder")).reindex(
        index=list(REGIONS), columns=list(names), fill_value=0)


def cells_held_in(result: RunResult, faction: str, *, at: dt.date, min_lon: float | None = None,
                  regions: tuple[str, ...] = REGIONS, grid=None) -> int:
    """Cells ``faction`` holds at the snapshot nearest ``at`` in ``regions``, east of ``min_lon``
    (the ``cells_held`` statistic of sahel_sim.stats)."""
    from sahel_sim.stats import _cells_held

    value = _cells_held(_observed(result, grid), faction=faction, regions=tuple(regions), at=np.datetime64(at),
                        min_lon=min_lon)
    return 0 if np.isnan(value) else int(value)


def max_armed_share_before(result: RunResult, region: str, before: dt.date, *, grid=None) -> float:
    """Largest share of ``region``'s cells any armed faction holds in a snapshot before ``before``
    (the ``max_region_share_held`` statistic of sahel_sim.stats)."""
    from sahel_sim.stats import _max_region_share_held

    return _max_region_share_held(_observed(result, grid), regions=(region,), before=np.datetime64(before))
