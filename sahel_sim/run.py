"""``run(scenario, seed) -> RunResult``: the one boundary every caller uses.

The CLI, sweeps, counterfactual comparisons, calibration and the browser app all call this
function (or step :class:`~sahel_sim.model.SahelModel` through the same construction). A run is
fully determined by the validated scenario and the integer seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from sahel_sim.config import Scenario
from sahel_sim.model import SahelModel


@dataclass(frozen=True)
class CellSnapshots:
    """Per-cell maps at regular intervals (rows are snapshot dates, columns are grid cells).

    ``control`` holds an index into ``factions`` or -1 where no faction holds the cell.
    ``violence`` counts events and ``civilian_deaths`` civilians killed since the previous
    snapshot; ``displaced`` is people displaced from the cell (internally and abroad);
    ``influence`` is (t, faction, cell).
    """

    dates: tuple  # tuple[datetime.date, ...]
    gid: np.ndarray
    factions: tuple[str, ...]
    control: np.ndarray
    influence: np.ndarray
    violence: np.ndarray
    civilian_deaths: np.ndarray
    displaced: np.ndarray
    grievance: np.ndarray
    population: np.ndarray


@dataclass(frozen=True)
class RunResult:
    """Everything one run produces (pure data, picklable; io/ writes it to disk).

    - ``events``: ACLED-style event log (see :data:`sahel_sim.events.EVENT_COLUMNS`);
    - ``weekly``: one row per (week, region): events by type, fatalities, displacement,
      each actor's strength and the cells each faction controls;
    - ``refugees``: one row per (week, country of asylum);
    - ``snapshots``: per-cell maps every ``outputs.snapshot_every_weeks`` weeks.
    """

    scenario: Scenario
    seed: int
    run_id: str
    events: pa.Table
    weekly: pa.Table
    refugees: pa.Table
    snapshots: CellSnapshots
    wall_time_s: float
    n_steps: int
    extra: dict[str, Any] = field(default_factory=dict)


def run(
    scenario: Scenario,
    seed: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    event_notes: bool = True,
) -> RunResult:
    """Run ``scenario`` from its start to its end date with ``seed``.

    ``progress(done_steps, total_steps)`` is called after each weekly step when given.
    ``event_notes=False`` leaves the event log's ``notes`` column (one sentence per event) null:
    many-run work that measures a run without keeping its log skips writing them. Every other
    column, and every other table, is the same.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    t0 = time.perf_counter()
    model = SahelModel(scenario, seed=int(seed))
    total = model.n_steps
    while model.running:
        model.step()
        if progress is not None:
            progress(model.steps, total)
    return model.result(wall_time_s=time.perf_counter() - t0, event_notes=event_notes)
