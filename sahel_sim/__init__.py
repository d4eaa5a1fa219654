"""sahel-sim: an agent-based simulation of the conflict in Mali.

The public boundary is :func:`sahel_sim.run.run` (``run(scenario, seed) -> RunResult``) and
:func:`sahel_sim.config.load_scenario`.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
