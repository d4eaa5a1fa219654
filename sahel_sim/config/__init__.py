"""Scenario schema and the one validated path from YAML to a :class:`Scenario`.

The schema (pydantic, and through it the geography's numpy/scipy) and the loader (PyYAML) are
imported on first use: importing the model loads no YAML parser, and the command line's
``--help`` and argument errors, which only need :class:`ConfigError`, load neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sahel_sim.config.errors import ConfigError

if TYPE_CHECKING:
    from sahel_sim.config.loader import (
        apply_overrides,
        load_scenario,
        load_scenario_data,
        scenario_to_data,
        validate_scenario,
    )
    from sahel_sim.config.schema import Actor, Scenario

_LOADER = ("apply_overrides", "load_scenario", "load_scenario_data", "scenario_to_data", "validate_scenario")
_SCHEMA = ("Actor", "Scenario")


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from sahel_sim.config import loader

        return getattr(loader, name)
    if name in _SCHEMA:
        from sahel_sim.config import schema

        return getattr(schema, name)
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
