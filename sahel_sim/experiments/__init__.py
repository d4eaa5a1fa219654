"""Many runs: sweeps, paired counterfactual comparisons and sensitivity analysis.

Everything here calls :func:`sahel_sim.run.run` through one task function
(:func:`sahel_sim.experiments.sweep.execute_task`), on local worker processes or a Dask
cluster (:mod:`sahel_sim.experiments.executors`), and writes one file per finished run
(:mod:`sahel_sim.experiments.store`) so that interrupted work resumes where it stopped.
See docs/experiments.md.
"""

from sahel_sim.experiments.executors import DaskExecutor, LocalExecutor
from sahel_sim.experiments.seeds import replicate_seed, replicate_seeds
from sahel_sim.experiments.sweep import Plan, execute_plan, load_outcomes, load_sweep

__all__ = [
    "DaskExecutor",
    "LocalExecutor",
    "Plan",
    "execute_plan",
    "load_outcomes",
    "load_sweep",
    "replicate_seed",
    "replicate_seeds",
]
