"""Scenario schema and the one validated path from YAML to a :class:`Scenario`.

The loader (which needs PyYAML) is imported on first use, so that importing the model, which
only needs the schema, loads no YAML parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sahel_sim.config.errors import ConfigError
from sahel_sim.config.schema import Actor, Scenario

if TYPE_CHECKING:
    from sahel_sim.config.loader import (
        apply_overrides,
        load_scenario,
        load_scenario_data,
        scenario_to_data,
        validate_scenario,
    )

_LOADER = ("apply_overrides", "load_scenario", "load_scenario_data", "scenario_to_data", "validate_scenario")


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from sahel_sim.config import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'sahel_sim.config' has no attribute {name!r}")


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
