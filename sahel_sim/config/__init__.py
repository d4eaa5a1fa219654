"""Scenario schema and the one validated path from YAML to a :class:`Scenario`."""

from sahel_sim.config.loader import (
    ConfigError,
    apply_overrides,
    load_scenario,
    load_scenario_data,
    scenario_to_data,
    validate_scenario,
)
from sahel_sim.config.schema import Actor, Scenario

__all__ = [
    "Actor",
    "ConfigError",
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "load_scenario_data",
    "scenario_to_data",
    "validate_scenario",
]
