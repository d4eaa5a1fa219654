"""The classroom app's intervention controls: preset -> control values -> scenario overrides.

Pure functions, no UI. The app (``sahel_sim.viz.app``) shows one control per question users
asked about (is MINUSMA withdrawn and when, is Wagner deployed, when does Barkhane leave) and
a seed. Every default is read from the bundled scenario files, never typed here:

- *withdrawn* is whether the preset has a ``withdraw`` intervention for the actor, and the
  date is that intervention's date;
- *deployed* is whether the preset has a ``deploy`` intervention for the actor.

A preset without the intervention (``minusma_stays.yaml`` has no MINUSMA withdrawal) takes the
intervention's documented form from another bundled file (``historical.yaml``) when the user
switches it on, so its strength, duration and source stay those of the file.

User choices become dotted-key overrides applied with
:func:`sahel_sim.config.apply_overrides` and validated by
:func:`sahel_sim.config.validate_scenario`, the one gate into a ``Scenario``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sahel_sim.config import (
    ConfigError,
    Scenario,
    apply_overrides,
    load_scenario_data,
    scenario_to_data,
    validate_scenario,
)

DEFAULT_PRESET = "classroom"
"""The preset the app opens with (``scenarios/classroom.yaml``: 2019-2024, fast)."""

DEFAULT_SEED = 1
"""Seed shown when the app opens; any non-negative integer can be typed in."""

PRESET_ORDER = ("classroom", "historical", "minusma_stays", "no_wagner", "barkhane_stays")
"""Order of the bundled presets in the menu (others found in the folder follow, sorted)."""

TEMPLATE_PRESET = "historical"
"""Where an intervention a preset lacks is taken from when the user switches it on."""

# (intervention type, actor) pairs the controls act on
MINUSMA_WITHDRAWAL = ("withdraw", "MINUSMA")
WAGNER_DEPLOYMENT = ("deploy", "Wagner")
BARKHANE_EXIT = ("withdraw", "Barkhane")


def default_scenarios_dir() -> Path:
    """The ``scenarios/`` folder of the source tree this package runs from."""
    return Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True)
class Preset:
    """One bundled scenario file: its resolved (unvalidated) data and validated scenario."""

    name: str
    path: Path
    data: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class Controls:
    """What the classroom app lets a user change, in the users' terms.

    Dates are the first day of the intervention (withdrawals run over the weeks the file
    gives). A date is kept even when its switch is off, so switching back restores it.
    """

    preset: str
    minusma_withdrawn: bool
    minusma_withdrawal_date: dt.date | None
    wagner_deployed: bool
    barkhane_withdrawn: bool
    barkhane_exit_date: dt.date | None
    seed: int = DEFAULT_SEED


def load_presets(scenarios_dir: str | Path | None = None) -> dict[str, Preset]:
    """Every ``*.yaml`` scenario in ``scenarios_dir`` (default: the bundled folder), in menu order.

    Raises :class:`ConfigError` if the folder holds no scenario or a file does not validate.
    """
    folder = Path(scenarios_dir) if scenarios_dir is not None else default_scenarios_dir()
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise ConfigError(f"{folder}: no scenario files (*.yaml) found")
    rank = {name: i for i, name in enumerate(PRESET_ORDER)}
    paths.sort(key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    presets: dict[str, Preset] = {}
    for path in paths:
        data = load_scenario_data(path)
        scenario = validate_scenario(data, source=str(path))
        presets[scenario.name] = Preset(name=scenario.name, path=path, data=data, scenario=scenario)
    return presets


def find_intervention(scenario: Scenario, kind: str, actor: str) -> tuple[str, Any] | None:
    """The earliest intervention of ``kind`` for ``actor`` as ``(id, intervention)``, or None."""
    found = [(iv.date, iid, iv) for iid, iv in scenario.interventions.items()
             if iv.type == kind and getattr(iv, "actor", None) == actor]
    if not found:
        return None
    _, iid, iv = min(found, key=lambda t: (t[0], t[1]))
    return iid, iv


def _template(presets: Mapping[str, Preset], kind: str, actor: str) -> tuple[str, dict[str, Any]] | None:
    """The documented form of an intervention: from the template preset, else any preset."""
    order = [TEMPLATE_PRESET, *(n for n in presets if n != TEMPLATE_PRESET)]
    for name in order:
        preset = presets.get(name)
        if preset is None:
            continue
        hit = find_intervention(preset.scenario, kind, actor)
        if hit is not None:
            iid, _ = hit
            return iid, scenario_to_data(preset.scenario)["interventions"][iid]
    return None


def _documented_date(presets: Mapping[str, Preset], preset: Preset, kind: str, actor: str) -> dt.date | None:
    hit = find_intervention(preset.scenario, kind, actor)
    if hit is not None:
        return hit[1].date
    tmpl = _template(presets, kind, actor)
    return dt.date.fromisoformat(tmpl[1]["date"]) if tmpl is not None else None


def defaults_for(presets: Mapping[str, Preset], name: str, *, seed: int = DEFAULT_SEED) -> Controls:
    """The control values that reproduce preset ``name`` exactly (no overrides)."""
    if name not in presets:
        raise ConfigError(f"preset {name!r} not found; bundled presets: {', '.join(presets)}")
    preset = presets[name]
    sc = preset.scenario
    return Controls(
        preset=name,
        minusma_withdrawn=find_intervention(sc, *MINUSMA_WITHDRAWAL) is not None,
        minusma_withdrawal_date=_documented_date(presets, preset, *MINUSMA_WITHDRAWAL),
        wagner_deployed=find_intervention(sc, *WAGNER_DEPLOYMENT) is not None,
        barkhane_withdrawn=find_intervention(sc, *BARKHANE_EXIT) is not None,
        barkhane_exit_date=_documented_date(presets, preset, *BARKHANE_EXIT),
        seed=seed,
    )


def _switch_overrides(presets: Mapping[str, Preset], preset: Preset, kind: str, actor: str, *,
                      on: bool, date: dt.date | None) -> dict[str, Any]:
    """Overrides that make the preset have (``on``) or lack the intervention, at ``date``."""
    hit = find_intervention(preset.scenario, kind, actor)
    if not on:
        return {f"interventions.{hit[0]}": None} if hit is not None else {}
    if hit is not None:
        iid, iv = hit
        if date is None or date == iv.date:
            return {}
        out: dict[str, Any] = {f"interventions.{iid}.date": date}
        if getattr(iv, "follow_base_closures", False):
            # camps close on their documented dates, which belong to the documented withdrawal
            out[f"interventions.{iid}.follow_base_closures"] = False
        return out
    tmpl = _template(presets, kind, actor)
    if tmpl is None:
        raise ConfigError(f"no bundled scenario documents a {kind} of {actor}; cannot switch it on")
    iid, spec = tmpl
    spec = dict(spec)
    if date is not None and date != dt.date.fromisoformat(spec["date"]):
        spec["date"] = date
        if spec.get("follow_base_closures"):
            spec["follow_base_closures"] = False
    return {f"interventions.{iid}": spec}


def overrides_for(presets: Mapping[str, Preset], controls: Controls) -> dict[str, Any]:
    """Dotted-key overrides that turn the preset into what the controls say (empty if unchanged)."""
    if controls.preset not in presets:
        raise ConfigError(f"preset {controls.preset!r} not found; bundled presets: {', '.join(presets)}")
    preset = presets[controls.preset]
    out: dict[str, Any] = {}
    out |= _switch_overrides(presets, preset, *MINUSMA_WITHDRAWAL, on=controls.minusma_withdrawn,
                             date=controls.minusma_withdrawal_date)
    out |= _switch_overrides(presets, preset, *WAGNER_DEPLOYMENT, on=controls.wagner_deployed, date=None)
    out |= _switch_overrides(presets, preset, *BARKHANE_EXIT, on=controls.barkhane_withdrawn,
                             date=controls.barkhane_exit_date)
    return out


def build_scenario(presets: Mapping[str, Preset], controls: Controls) -> Scenario:
    """The validated scenario the controls describe (preset data + overrides, one gate)."""
    overrides = overrides_for(presets, controls)  # raises ConfigError for an unknown preset
    preset = presets[controls.preset]
    if not overrides:
        return preset.scenario
    data = apply_overrides(preset.data, overrides)
    return validate_scenario(data, source=f"{preset.path} (with classroom controls)")


def describe(presets: Mapping[str, Preset], controls: Controls) -> list[str]:
    """One line per control that departs from its preset, for the app and figure captions."""
    base = defaults_for(presets, controls.preset, seed=controls.seed)
    lines = []
    if (controls.minusma_withdrawn, controls.minusma_withdrawal_date) != (base.minusma_withdrawn,
                                                                          base.minusma_withdrawal_date):
        lines.append(f"MINUSMA withdraws from {controls.minusma_withdrawal_date}" if controls.minusma_withdrawn
                     else "MINUSMA stays")
    if controls.wagner_deployed != base.wagner_deployed:
        lines.append("Wagner deployed" if controls.wagner_deployed else "no Wagner")
    if (controls.barkhane_withdrawn, controls.barkhane_exit_date) != (base.barkhane_withdrawn,
                                                                      base.barkhane_exit_date):
        lines.append(f"Barkhane leaves from {controls.barkhane_exit_date}" if controls.barkhane_withdrawn
                     else "Barkhane stays")
    return lines


def month_choices(scenario: Scenario, *, keep: Iterable[dt.date | None] = ()) -> list[dt.date]:
    """Dates a date control offers: the 1st of each month in the scenario window, plus ``keep``.

    ``keep`` holds the documented dates (e.g. Barkhane's 17 Feb 2022) so that the default
    position of a slider is the file's exact date.
    """
    start, end = scenario.start_date, scenario.end_date
    out = set()
    y, m = start.year, start.month
    while dt.date(y, m, 1) <= end:
        if dt.date(y, m, 1) >= start:
            out.add(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    out.update(d for d in keep if d is not None and start <= d <= end)
    return sorted(out)


def with_preset(presets: Mapping[str, Preset], controls: Controls, name: str) -> Controls:
    """Switch to preset ``name``: every control takes that preset's value, the seed is kept."""
    return defaults_for(presets, name, seed=controls.seed)


__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_SEED",
    "Controls",
    "Preset",
    "build_scenario",
    "defaults_for",
    "describe",
    "find_intervention",
    "load_presets",
    "month_choices",
    "overrides_for",
    "with_preset",
]
