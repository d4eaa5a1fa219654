"""Sweep files: their schema, and the design points they describe.

A sweep file names a base scenario, the scenario values to vary (any key path of the scenario
schema), a design (full grid, Latin hypercube or Sobol', from :mod:`scipy.stats.qmc`) and
the number of replicates::

    name: minusma_strength
    scenario: ../historical.yaml          # relative to this file
    set:                                   # fixed overrides for every point (optional)
      end_date: 2016-12-26
    parameters:
      actors.MINUSMA.strength: {values: [6000, 12000, 18000]}
      mechanisms.peacekeeping.protection: {low: 0.3, high: 0.9, num: 3}
    design: {method: grid}                 # or {method: lhs, samples: 20} / {method: sobol, samples: 16}
    replicates: 10
    seed: 20240101                         # master seed: replicate and sampler seeds derive from it

Every design point is merged into the base scenario with
:func:`sahel_sim.config.apply_overrides` and checked by
:func:`sahel_sim.config.validate_scenario`, the same gate as a scenario file. Errors read
``file: key.path: what was expected`` like the scenario's.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sahel_sim.config import ConfigError
from sahel_sim.config.types import MAX_TEXT_CHARS, FileName

Name = FileName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT_CHARS)


class ParameterSpec(_Strict):
    """How one scenario value varies.

    Either a list of ``values`` (grid levels; for LHS/Sobol' the unit interval is split into
    equal bins, one per value), or a range ``low``..``high`` (grid: ``num`` evenly spaced levels;
    LHS/Sobol': a continuous draw). ``log`` spaces levels and draws on a log scale; ``integer``
    rounds to whole numbers (counts, weeks).
    """

    values: list[Any] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    num: int | None = Field(None, ge=1, le=10_000, description="grid levels between low and high")
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and (has_range or self.num is not None):
            raise ValueError("give either values or low/high (and num), not both")
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("expected values: [...] or both low and high")
            if not self.high > self.low:
                raise ValueError(f"high must be greater than low (got low={self.low}, high={self.high})")
            if self.log and self.low <= 0:
                raise ValueError(f"log scale needs low > 0 (got {self.low})")
        elif self.log:
            raise ValueError("log applies to a low/high range, not to a list of values")
        return self


class DesignSpec(_Strict):
    method: Literal["grid", "lhs", "sobol"] = "grid"
    samples: int | None = Field(None, ge=1, le=1_000_000, description="design points (lhs, sobol)")
    seed: int | None = Field(None, ge=0, description="sampler seed (default: derived from the master seed)")
    scramble: bool = True

    @model_validator(mode="after")
    def _samples(self) -> DesignSpec:
        if self.method == "grid" and self.samples is not None:
            raise ValueError("samples applies to lhs and sobol designs; a grid has one point per combination")
        if self.method in ("lhs", "sobol") and self.samples is None:
            raise ValueError(f"a {self.method} design needs samples: N")
        if self.method == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            lo = 1 << (self.samples.bit_length() - 1)
            raise ValueError(f"a Sobol' design needs a power of two samples to keep its balance; "
                             f"got {self.samples}, use {lo} or {lo * 2}")
        return self


class SweepOutputs(_Strict):
    keep_events: bool = Field(False, description="also keep each run's full event log (events/<run>.parquet)")
    keep_cells: bool = Field(False, description="also keep per-cell totals of each run (cells/<run>.npz)")


class SweepSpec(_Strict):
    """A sweep file (see the module docstring)."""

    name: Name
    description: str = ""
    scenario: str = Field(min_length=1, description="base scenario file, relative to the sweep file")
    set: dict[str, Any] = Field(default_factory=dict, description="fixed overrides applied at every point")
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    design: DesignSpec = DesignSpec()
    replicates: int = Field(ge=1, le=1_000_000)
    seed: int = Field(ge=0, description="master seed")
    outputs: SweepOutputs = SweepOutputs()

    @model_validator(mode="after")
    def _grid_needs_levels(self) -> SweepSpec:
        if self.design.method == "grid":
            for key, p in self.parameters.items():
                if p.values is None and p.num is None:
                    raise ValueError(f"parameters[{key!r}]: a grid needs values: [...] or low/high with num")
        return self


# --------------------------------------------------------------------------- errors
def validate_model(model: type[BaseModel], data: Mapping[str, Any], *, source: str) -> Any:
    """Validate a sweep or sensitivity file through the one schema-error formatter."""
    from sahel_sim.config.loader import validate_model as _validate

    return _validate(model, data, source=source)


def read_spec(path: str | Path, model: type[BaseModel]) -> Any:
    """Read and validate a YAML file against ``model`` (sweep or sensitivity file)."""
    from sahel_sim.config.loader import read_yaml

    return validate_model(model, read_yaml(Path(path)), source=str(path))


def check_key_paths(keys: Sequence[str], resolved: Mapping[str, Any], *, source: str, where: str) -> None:
    """Every key path must name a value of the (resolved) base scenario."""
    for key in keys:
        node: Any = resolved
        walked: list[str] = []
        for part in key.split("."):
            if isinstance(node, list):
                try:
                    node = node[int(part)]
                except (ValueError, IndexError):
                    raise ConfigError(f"{source}: {where}[{key!r}]: {'.'.join(walked)} is a list of "
                                      f"{len(node)}; {part!r} is not an index in it") from None
            elif isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, Mapping):
                close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
                hint = f"; did you mean {'.'.join([*walked, close[0]])!r}?" if close else ""
                at = ".".join(walked) or "the scenario"
                raise ConfigError(f"{source}: {where}[{key!r}]: {part!r} is not a key of {at}{hint}")
            else:
                raise ConfigError(f"{source}: {where}[{key!r}]: {'.'.join(walked)} is a value, not a mapping")
            walked.append(part)
        if isinstance(node, (Mapping, list)):
            raise ConfigError(f"{source}: {where}[{key!r}]: names a whole block, not one value; "
                              f"name one of its keys (e.g. {key}.{next(iter(node), 0)})")


# --------------------------------------------------------------------------- designs
def _from_unit(spec: ParameterSpec, u: np.ndarray) -> list[Any]:
    """Map draws in [0, 1) to parameter values."""
    if spec.values is not None:
        k = len(spec.values)
        idx = np.minimum((u * k).astype(np.int64), k - 1)
        return [spec.values[i] for i in idx]
    assert spec.low is not None and spec.high is not None
    if spec.log:
        x = np.exp(math.log(spec.low) + u * (math.log(spec.high) - math.log(spec.low)))
    else:
        x = spec.low + u * (spec.high - spec.low)
    return _finish(spec, x)


def _finish(spec: ParameterSpec, x: np.ndarray) -> list[Any]:
    if spec.integer:
        return [int(v) for v in np.rint(x)]
    return [float(v) for v in x]


def grid_levels(spec: ParameterSpec) -> list[Any]:
    if spec.values is not None:
        return list(spec.values)
    assert spec.low is not None and spec.high is not None and spec.num is not None
    x = (np.geomspace(spec.low, spec.high, spec.num) if spec.log
         else np.linspace(spec.low, spec.high, spec.num))
    return list(dict.fromkeys(_finish(spec, x)))


def design_points(spec: SweepSpec, *, master_seed: int | None = None) -> list[dict[str, Any]]:
    """The design points of a sweep: one ``{key.path: value}`` mapping per point, in order.

    Grids vary the last parameter fastest. LHS and Sobol' draws come from
    :mod:`scipy.stats.qmc` seeded by ``design.seed`` (or the sweep's design stream).
    """
    from sahel_sim.experiments.seeds import DESIGN_STREAM, stream_seed

    keys = list(spec.parameters)
    if not keys:
        return [{}]
    if spec.design.method == "grid":
        import itertools

        levels = [grid_levels(spec.parameters[k]) for k in keys]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*levels)]

    from scipy.stats import qmc

    seed = spec.design.seed if spec.design.seed is not None else stream_seed(
        spec.seed if master_seed is None else master_seed, DESIGN_STREAM)
    rng = np.random.default_rng(seed)
    d, n = len(keys), int(spec.design.samples or 0)
    if spec.design.method == "lhs":
        u = qmc.LatinHypercube(d=d, scramble=spec.design.scramble, rng=rng).random(n)
    else:
        u = qmc.Sobol(d=d, scramble=spec.design.scramble, rng=rng).random_base2(int(math.log2(n)))
    columns = [_from_unit(spec.parameters[k], u[:, j]) for j, k in enumerate(keys)]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
