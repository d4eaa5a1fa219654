"""Many runs: sweeps, paired counterfactual comparisons, sensitivity analysis, validation and
calibration, all through one engine (:mod:`sahel_sim.experiments.engine`).

Every run goes through :func:`sahel_sim.run.run` in one task function
(:func:`sahel_sim.experiments.engine.execute_task`), on local worker processes or a Dask
cluster (:mod:`sahel_sim.experiments.executors`), and is written as soon as it ends to the
resumable, checksummed store (:mod:`sahel_sim.experiments.store`); every seed derives from a
master seed (:mod:`sahel_sim.experiments.seeds`). See docs/experiments.md.
"""

from sahel_sim.experiments.engine import Plan, Point, Task, execute_plan
from sahel_sim.experiments.executors import (
    DASK_SETTINGS,
    DaskExecutor,
    LocalExecutor,
    dask_environment,
)
from sahel_sim.experiments.seeds import replicate_seed, replicate_seeds
from sahel_sim.experiments.sweep import load_outcomes, load_sweep

__all__ = [
    "DASK_SETTINGS",
    "DaskExecutor",
    "LocalExecutor",
    "Plan",
    "Point",
    "Task",
    "dask_environment",
    "execute_plan",
    "load_outcomes",
    "load_sweep",
    "replicate_seed",
    "replicate_seeds",
]
