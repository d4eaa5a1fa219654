"""Calibration against the documented trends: adaptive population Monte Carlo ABC.

``sahel-sim calibrate calibration/config.yaml`` fits the model's free parameters (key paths
into the scenario, with priors declared in the config file) to the targets of
``calibration/targets.yaml`` by approximate Bayesian computation, sequential Monte Carlo
flavour: the adaptive population Monte Carlo algorithm (APMC) of Lenormand, Jabot & Deffuant
(2013), "Adaptive approximate Bayesian computation for complex models", *Computational
Statistics* 28(6):2777-2796, itself built on the ABC-PMC weights of Beaumont, Cornuet, Marin &
Robert (2009), *Biometrika* 96(4):983-990. docs/calibration.md says why this and not pyabc.

1. Generation 0 draws ``population`` candidates from the prior; each is run ``replicates``
   times (replicate ``r`` has the same seed for every candidate: common random numbers), its
   statistics are averaged over replicates, and its distance to the targets computed
   (:meth:`~sahel_sim.experiments.targets.TargetSet.distance`). The tolerance ``eps`` is the
   ``alpha`` quantile of the distances; the candidates within it are the particles (weight 1).
2. Each next generation draws ``population x (1 - alpha)`` new candidates by resampling the
   particles by weight and moving them with a Gaussian kernel of twice their weighted
   covariance (in the transformed space: log for log-uniform priors), redrawing moves that
   leave the prior's box. Old particles and new candidates are pooled, ``eps`` becomes the
   ``alpha`` quantile of their distances, and those within it are the new particles. Their
   importance weights are prior / (mixture of every generation's proposal, the prior
   included): the deterministic-mixture weights of adaptive multiple importance sampling
   (Cornuet, Marin, Mira & Robert 2012), which stay balanced where APMC's per-generation
   weights degenerate as the kernel shrinks in many dimensions.
3. It stops when the share of new candidates that beat the previous tolerance falls below
   ``min_acceptance`` (the posterior has stopped moving) or after ``max_generations``.

4. Optionally (``reevaluate_top`` particles x ``reevaluate_seeds`` fresh seeds; 0 turns it
   off, ``--reevaluate-top``/``--reevaluate-seeds`` on the command line) the best particles are
   rerun to pick the point estimate without the winner's curse.

Every generation (and the re-evaluation) is a plan of the experiment engine
(:func:`sahel_sim.experiments.engine.execute_plan`, kind ``calibration``, measuring the targets'
statistics): the same executors (local processes or Dask), progress display and resumable
store as sweeps. Each generation is a results folder (one file per finished run); a
generation's particles are written once it is complete, so an interrupted calibration resumes
where it stopped and reproduces the same draws (every random draw comes from the master seed
through :mod:`sahel_sim.experiments.seeds`).

Outputs (in the output folder): ``posterior.parquet`` (particles: parameters, weights,
distance, mean statistics), ``replicates.parquet`` (the final particles' per-run statistics),
``history.json`` (tolerance and acceptance by generation), ``best.yaml`` (the point estimate),
and, with an out-of-sample split, ``out_of_sample.md`` (how the held-out targets are predicted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sahel_sim.config import ConfigError
from sahel_sim.config.types import MAX_TEXT_CHARS, Date, FileName
from sahel_sim.experiments.seeds import calibration_rng, reevaluation_seeds, replicate_seeds
from sahel_sim.experiments.store import RunStore, parquet_bytes
from sahel_sim.experiments.targets import TargetSet, load_targets
from sahel_sim.io.atomic import save_figure, write_atomic


# --------------------------------------------------------------------------- config
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT_CHARS)


class Prior(_Strict):
    """A prior: uniform or log-uniform between ``low`` and ``high``."""

    distribution: Literal["uniform", "loguniform"] = "uniform"
    low: float
    high: float
    bound_note: str | None = Field(None, max_length=2000, description="why a value at (or beyond) a bound is "
                                   "accepted: the fact that makes the bound hard (reported by `sahel-sim validate`)")

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("a log-uniform prior needs low > 0")
        return self

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Natural value -> transformed coordinate (log for log-uniform)."""
        return np.log(x) if self.distribution == "loguniform" else np.asarray(x, dtype=float)

    def from_unit(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.distribution == "loguniform" else np.asarray(z, dtype=float)

    @property
    def box(self) -> tuple[float, float]:
        return (math.log(self.low), math.log(self.high)) if self.distribution == "loguniform" else (self.low, self.high)


class ExecutorSpec(_Strict):
    kind: Literal["local", "dask"] = "local"
    workers: int | None = Field(None, ge=0, description="local worker processes (default: all cores; 0: in this process)")
    scheduler: str | None = Field(None, description="Dask scheduler address (kind: dask)")


class RefineSpec(_Strict):
    """``refine:`` in the calibration config: the local compass search of ``--refine``
    (:mod:`sahel_sim.experiments.refine`)."""

    parameters: list[str] | None = Field(None, min_length=1, description="prior keys the search moves (default: every prior)")
    seeds: int = Field(10, ge=1, le=1000, description="common seeds every candidate runs on")
    step: float = Field(0.125, gt=0.0, le=0.5, description="first step, as a share of each prior's (transformed) width")
    min_step: float = Field(0.015, gt=0.0, le=0.5, description="stop when every step is below this share of its width")
    max_polls: int = Field(12, ge=1, le=1000, description="polls at most (each runs 2 candidates per parameter)")
    min_improvement: float = Field(0.005, ge=0.0, description="a move is taken only if it lowers the objective by more than this")
    miss_penalty: float = Field(0.0, ge=0.0, description="added to the distance for each used target whose median is "
                                "outside its tolerance (0: the objective is the distance alone)")


class CalibrationConfig(_Strict):
    """``calibration/config.yaml`` (paths are relative to the config file)."""

    name: FileName
    scenario: str = Field(description="the scenario whose parameters are calibrated")
    targets: str = "targets.yaml"
    use_targets: list[str] | None = Field(None, description="target ids to calibrate on (default: all)")
    holdout_after: Date | None = Field(None, description="out-of-sample mode: calibrate only on targets whose period ends on or before this date")
    parameters_file: str = Field("parameters.yaml", description="the shipped parameter file rewritten with the point estimate")
    priors: dict[str, Prior] = Field(min_length=1)
    replicates: int = Field(2, ge=1, le=100)
    population: int = Field(48, ge=4, le=10_000)
    alpha: float = Field(0.5, gt=0.0, lt=1.0, description="share of the pooled candidates kept as particles each generation")
    min_acceptance: float = Field(0.1, ge=0.0, le=1.0, description="stop when fewer new candidates beat the previous tolerance")
    max_generations: int = Field(8, ge=0, le=1000, description="generations after the prior draw")
    seed: int = Field(20240601, ge=0)
    point_estimate: Literal["best", "weighted_median"] = "best"
    reevaluate_top: int = Field(8, ge=0, description="best particles rerun with fresh seeds to choose the point estimate (0: off)")
    reevaluate_seeds: int = Field(10, ge=0, le=1000, description="fresh seeds per re-evaluated particle")
    reevaluate_incumbent: bool = Field(True, description="also rerun the scenario's current parameter values with the "
                                       "same fresh seeds; the parameter file is rewritten only if a particle beats them")
    executor: ExecutorSpec = ExecutorSpec()
    out: str = Field("../results/calibration", description="output folder")
    refine: RefineSpec = RefineSpec()

    @model_validator(mode="after")
    def _refine_keys(self) -> CalibrationConfig:
        unknown = [k for k in (self.refine.parameters or []) if k not in self.priors]
        if unknown:
            raise ValueError(f"refine.parameters must be keys of priors; not there: {', '.join(unknown)}")
        return self


@dataclass(frozen=True)
class Calibration:
    """A loaded config: the base scenario data, targets, and where things go."""

    config: CalibrationConfig
    path: Path
    base_data: dict[str, Any]
    targets: TargetSet  # all targets (every run computes every statistic)
    used: TargetSet  # targets the distance uses

    @property
    def keys(self) -> list[str]:
        return list(self.config.priors)

    def resolve(self, rel: str) -> Path:
        return (self.path.parent / rel).resolve()

    @property
    def held_out(self) -> TargetSet:
        """Out-of-sample targets: those ending after ``holdout_after`` (none without it)."""
        if self.config.holdout_after is None:
            return TargetSet((), self.targets.path)
        return self.targets.select(after=self.config.holdout_after)

    @property
    def excluded(self) -> TargetSet:
        """Targets neither calibrated on nor held out (left out by ``use_targets``)."""
        skip = set(self.used.ids) | set(self.held_out.ids)
        return TargetSet(tuple(t for t in self.targets if t.id not in skip), self.targets.path)


def load_calibration(path: str | Path, *, holdout_after: dt.date | None = None, out: str | None = None,
                     overrides: Mapping[str, Any] | None = None) -> Calibration:
    """Read and check a calibration config. ``overrides`` replace top-level config keys
    (e.g. a smaller ``population`` for a quick out-of-sample check)."""
    from sahel_sim.config import load_scenario_data, validate_scenario
    from sahel_sim.config.loader import read_yaml, validate_model
    from sahel_sim.experiments.design import check_key_paths

    path = Path(path)
    raw = read_yaml(path)
    if holdout_after is not None:
        raw = {**raw, "holdout_after": holdout_after}
    if out is not None:
        raw = {**raw, "out": out}
    if overrides:
        raw = {**raw, **overrides}
    config = validate_model(CalibrationConfig, raw, source=str(path), what="calibration config")
    scen_path = (path.parent / config.scenario)
    data = load_scenario_data(scen_path)
    validate_scenario(data, source=str(scen_path))
    check_key_paths(list(config.priors), _with_schema_defaults(data), source=str(path), where="priors")
    targets = load_targets(path.parent / config.targets)
    used = targets.select(config.use_targets, until=config.holdout_after)
    if not len(used):
        raise ConfigError(f"{path}: no targets left to calibrate on (use_targets / holdout_after)")
    return Calibration(config=config, path=path, base_data=data, targets=targets, used=used)


def _with_schema_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario as validated, so a key path may name a parameter left at its default."""
    from sahel_sim.config import scenario_to_data, validate_scenario

    return scenario_to_data(validate_scenario(data))


# --------------------------------------------------------------------------- runs (through the engine)
def statistics_plan(base_data: Mapping[str, Any], candidates: list[Mapping[str, Any]], seeds: Iterable[int],
                    targets: TargetSet, *, kind: str, name: str, master_seed: int, source: str,
                    parameters: Iterable[str] = ()):
    """A plan of the engine measuring ``targets``' statistics: each candidate (key path ->
    value, merged into the base scenario data and validated: the one validated path) run on
    every seed."""
    from sahel_sim.config import apply_overrides, validate_scenario
    from sahel_sim.experiments.engine import Plan, Point

    base = validate_scenario(base_data, source=source)
    points = []
    for c, values in enumerate(candidates):
        where = f"{source}: candidate {c}"
        scenario = validate_scenario(apply_overrides(base_data, dict(values)), source=where) if values else base
        points.append(Point(c, f"candidate {c}" if values else "base", dict(values), scenario))
    return Plan(kind=kind, name=name, points=tuple(points), seeds=tuple(int(s) for s in seeds),
                master_seed=int(master_seed), parameters=tuple(parameters), base=base, targets=targets,
                source=source)


def scenario_statistics(base_data: Mapping[str, Any], values: Mapping[str, Any], seeds: Iterable[int], targets: TargetSet,
                        *, executor, out: str | Path | None = None, master_seed: int = 0, progress=None,
                        notify: Callable[[str], None] | None = None, chunk_size: int | None = None,
                        name: str = "validation") -> list[dict[str, float]]:
    """Statistics of one scenario over several seeds (validation), in seed order.

    Runs through the engine into the results folder ``out`` (resumable: rerunning skips the
    seeds already done), or into a temporary folder when ``out`` is None."""
    import tempfile

    from sahel_sim.experiments.engine import execute_plan, read_measures

    plan = statistics_plan(base_data, [dict(values)], seeds, targets, kind="validation", name=name,
                           master_seed=master_seed, source="validation scenario", parameters=tuple(values))
    with tempfile.TemporaryDirectory(prefix="sahel-validate-") as tmp:
        folder = Path(out) if out is not None else Path(tmp) / "runs"
        report = execute_plan(plan, folder, executor=executor, progress=progress, notify=notify,
                              chunk_size=chunk_size, label=f"{name}: {len(plan.seeds)} seeds")
        if report.failed:
            f = report.failures[0]
            raise RuntimeError(f"validation run {f['run_key']} (seed {f['seed']}) failed: {f['error']}")
        frame = read_measures(folder)
        # the folder may hold more replicates from an earlier, larger request: only this plan's
        frame = frame[frame.seed.isin([int(s) for s in plan.seeds])].sort_values("replicate")
    return [{t: float(row[t]) for t in targets.ids if t in row} for _, row in frame.iterrows()]


# --------------------------------------------------------------------------- the sampler
@dataclass
class Particles:
    """The current particle population (transformed coordinates ``z``)."""

    ids: list[str]  # "g<gen>c<cand>"
    z: np.ndarray  # (n, k)
    log_iw: np.ndarray  # (n,) unnormalised log importance weights: log prior - log proposal
    distance: np.ndarray
    stats: list[dict[str, float]]

    @property
    def weights(self) -> np.ndarray:
        w = np.exp(self.log_iw - self.log_iw.max())
        return w / w.sum()

    def covariance(self) -> np.ndarray:
        k = self.z.shape[1]
        if len(self.ids) < 2:
            return np.eye(k) * 1e-4
        cov = np.atleast_2d(np.cov(self.z, rowvar=False, aweights=self.weights))
        return cov + np.eye(k) * 1e-10


@dataclass
class Proposal:
    """What a generation's candidates were drawn from: the prior (no ``centres``) or a
    truncated Gaussian mixture (``centres``, ``weights``, ``cov``); ``n`` candidates. The
    truncation to the prior box is ignored in the density (a small, common approximation)."""

    n: int
    centres: np.ndarray | None = None
    weights: np.ndarray | None = None
    cov: np.ndarray | None = None

    def log_density(self, z: np.ndarray, log_prior: float) -> np.ndarray:
        if self.centres is None:
            return np.full(len(z), log_prior)
        k = z.shape[1]
        inv = np.linalg.inv(self.cov)
        diff = z[:, None, :] - self.centres[None, :, :]
        log_kern = -0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff) \
            - 0.5 * (k * math.log(2 * math.pi) + np.linalg.slogdet(self.cov)[1])
        return _logsumexp(log_kern + np.log(np.maximum(self.weights, 1e-300))[None, :])


@dataclass
class CalibrationResult:
    out: Path
    posterior: pd.DataFrame
    history: list[dict[str, Any]]
    point: dict[str, float]
    replicate_stats: list[dict[str, float]] = field(default_factory=list)
    incumbent_distance: float | None = None  # the current parameter values' distance on the re-evaluation seeds

    @property
    def best_distance(self) -> float | None:
        """The point estimate's distance on the re-evaluation seeds (None without re-evaluation)."""
        post = self.posterior
        if "reevaluated_distance" not in post or not post["reevaluated_distance"].notna().any():
            return None
        return float(post["reevaluated_distance"].min())

    @property
    def incumbent_wins(self) -> bool:
        """The current parameter values fit at least as well as every re-evaluated particle."""
        best = self.best_distance
        return self.incumbent_distance is not None and best is not None and self.incumbent_distance <= best


class Sampler:
    """APMC over a :class:`Calibration` (see the module docstring)."""

    def __init__(self, cal: Calibration, *, executor, out: Path, progress=None,
                 notify: Callable[[str], None] | None = None, chunk_size: int | None = None) -> None:
        """``progress`` is the engine's progress sink (one display for every stage); ``notify``
        receives one line per finished generation and any note about the results folders."""
        self.cal = cal
        self.cfg = cal.config
        self.priors = [self.cfg.priors[k] for k in cal.keys]
        self.lo = np.array([p.box[0] for p in self.priors])
        self.hi = np.array([p.box[1] for p in self.priors])
        self.executor = executor
        self.out = Path(out)
        self.progress = progress
        self.notify = notify or (lambda text: None)
        self.chunk_size = chunk_size
        self.seeds = replicate_seeds(self.cfg.seed, self.cfg.replicates)
        self.n_new = max(1, round(self.cfg.population * (1.0 - self.cfg.alpha)))
        self.n_keep = max(2, round(self.cfg.population * self.cfg.alpha))

    # ------------------------------------------------------------------ bookkeeping
    def fingerprint(self) -> str:
        text = json.dumps({"config": self.cfg.model_dump(mode="json", exclude={"out", "executor", "max_generations",
                                                                                "min_acceptance", "point_estimate",
                                                                                "reevaluate_top", "reevaluate_seeds",
                                                                                "reevaluate_incumbent", "refine"}),
                           "base": self.cal.base_data, "targets": [t.id for t in self.cal.targets],
                           "statistics": [repr(t.statistic) for t in self.cal.targets]}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _check_folder(self) -> None:
        p = self.out / "calibration.json"
        fp = self.fingerprint()
        try:
            old = json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
        except (OSError, ValueError):
            old = None
        if old is not None:
            if not isinstance(old, dict) or old.get("fingerprint") != fp:
                raise ConfigError(f"{self.out}: holds a different calibration (config, scenario or targets changed); "
                                  "choose another --out")
        else:
            self.out.mkdir(parents=True, exist_ok=True)
            write_atomic(p, json.dumps({"fingerprint": fp, "name": self.cfg.name, "parameters": self.cal.keys,
                                        "targets_used": self.cal.used.ids, "seeds": self.seeds,
                                        "config": self.cfg.model_dump(mode="json")}, indent=2) + "\n")

    def _rng(self, generation: int) -> np.random.Generator:
        return calibration_rng(self.cfg.seed, generation)

    def values_of(self, z: np.ndarray) -> dict[str, float]:
        return {k: float(p.from_unit(np.asarray(z[i]))) for i, (k, p) in enumerate(zip(self.cal.keys, self.priors, strict=True))}

    # ------------------------------------------------------------------ proposals
    def propose(self, generation: int, parts: Particles | None) -> tuple[np.ndarray, Proposal]:
        """Candidates of a generation (transformed coordinates) and the distribution they were
        drawn from (the prior in generation 0, else a Gaussian mixture around the particles)."""
        rng = self._rng(generation)
        k = len(self.priors)
        if parts is None:
            z = self.lo + rng.random((self.cfg.population, k)) * (self.hi - self.lo)
            return z, Proposal(n=len(z))
        cov = 2.0 * parts.covariance()
        chol = np.linalg.cholesky(cov)
        weights = parts.weights
        out = np.empty((self.n_new, k))
        for i in range(self.n_new):
            for _ in range(1000):
                j = rng.choice(len(parts.ids), p=weights)
                cand = parts.z[j] + chol @ rng.standard_normal(k)
                if np.all(cand >= self.lo) and np.all(cand <= self.hi):
                    break
            else:  # pragma: no cover - a degenerate kernel: clip into the box
                cand = np.clip(cand, self.lo, self.hi)
            out[i] = cand
        return out, Proposal(n=len(out), centres=parts.z.copy(), weights=weights, cov=cov)

    def log_weights(self, z: np.ndarray, proposals: list[Proposal]) -> np.ndarray:
        """Log importance weights of ``z`` against the mixture of every proposal so far
        (deterministic-mixture / AMIS weights: Cornuet, Marin, Mira & Robert 2012, *Scand. J.
        Stat.* 39(4)). Each pooled candidate is weighted by prior / (sum_t n_t q_t) / sum_t n_t,
        which stays well balanced across generations whose kernels shrink."""
        log_prior = -float(np.sum(np.log(self.hi - self.lo)))  # uniform on the transformed box
        total = sum(p.n for p in proposals)
        terms = np.stack([math.log(p.n / total) + p.log_density(z, log_prior) for p in proposals], axis=1)
        return log_prior - _logsumexp(terms)

    # ------------------------------------------------------------------ one generation
    def run_generation(self, generation: int, z: np.ndarray) -> tuple[np.ndarray, list[dict[str, float]], int]:
        """Run (or finish) every candidate of a generation; mean statistics per candidate."""
        frame, n_failed = self.run_candidates(self.out / f"gen_{generation:03d}", z, self.seeds, label=f"generation {generation}")
        means: list[dict[str, float]] = []
        for c in range(len(z)):
            rows = frame[frame["point"] == c]
            means.append({t: float(rows[t].mean()) if len(rows) and t in rows else float("nan") for t in self.cal.targets.ids})
        d = np.array([self.cal.used.distance(m) for m in means])
        return d, means, n_failed

    def run_candidates(self, folder: Path, z: np.ndarray, seeds: list[int], *, label: str) -> tuple[pd.DataFrame, int]:
        """Run every (candidate, seed) not yet finished in ``folder`` through the engine;
        returns all finished runs' statistics (column ``point`` is the candidate) and the
        number of failed runs."""
        from sahel_sim.experiments.engine import execute_plan, read_measures

        plan = statistics_plan(self.cal.base_data, [self.values_of(row) for row in z], seeds, self.cal.targets,
                               kind="calibration", name=f"{self.cfg.name} {label}", master_seed=self.cfg.seed,
                               source=f"{self.cal.path} ({label})", parameters=self.cal.keys)
        execute_plan(plan, folder, executor=self.executor, progress=self.progress,
                     notify=lambda text: self.notify(f"{folder.name}: {text}"), chunk_size=self.chunk_size, label=label)
        return read_measures(folder), len(RunStore(folder).failed())

    def reevaluate(self, parts: Particles) -> pd.DataFrame:
        """Rerun the ``reevaluate_top`` best particles with ``reevaluate_seeds`` fresh seeds and
        score each by its median statistics. The smallest ABC distance among many candidates
        run with few replicates is biased toward lucky draws (the winner's curse); fresh seeds
        pick the point estimate without that bias."""
        top = np.argsort(parts.distance, kind="stable")[: self.cfg.reevaluate_top]
        seeds = reevaluation_seeds(self.cfg.seed, self.cfg.reevaluate_seeds)
        # one folder per final generation: a calibration resumed for more generations
        # re-evaluates its new best particles without touching the earlier re-evaluation
        last = max(int(pid.split("c")[0][1:]) for pid in parts.ids)
        frame, _ = self.run_candidates(self.out / f"reevaluate_g{last:03d}", parts.z[top], seeds, label="re-evaluation")
        rows = []
        for c, i in enumerate(top):
            runs = frame[frame["point"] == c]
            med = {t: float(runs[t].median()) if len(runs) else float("nan") for t in self.cal.targets.ids}
            rows.append({"particle": parts.ids[i], "reevaluated_distance": self.cal.used.distance(med),
                         "reevaluated_runs": len(runs)})
        table = pd.DataFrame(rows)
        write_atomic(self.out / "reevaluation.parquet", parquet_bytes(pa.Table.from_pandas(table, preserve_index=False)))
        return table

    def reevaluate_incumbent(self) -> float:
        """Rerun the scenario's current parameter values (the base scenario, no overrides) with
        the re-evaluation seeds; their distance by median statistics, comparable with the
        particles' ``reevaluated_distance``."""
        from sahel_sim.experiments.engine import execute_plan, read_measures

        folder = self.out / "incumbent"
        seeds = reevaluation_seeds(self.cfg.seed, self.cfg.reevaluate_seeds)
        plan = statistics_plan(self.cal.base_data, [{}], seeds, self.cal.targets, kind="calibration",
                               name=f"{self.cfg.name} incumbent", master_seed=self.cfg.seed,
                               source=f"{self.cal.path} (incumbent)", parameters=[])
        execute_plan(plan, folder, executor=self.executor, progress=self.progress,
                     notify=lambda text: self.notify(f"{folder.name}: {text}"), chunk_size=self.chunk_size,
                     label="incumbent")
        runs = read_measures(folder)
        med = {t: float(runs[t].median()) if len(runs) and t in runs else float("nan") for t in self.cal.targets.ids}
        return self.cal.used.distance(med)

    # ------------------------------------------------------------------ the loop
    def run(self, *, max_generations: int | None = None) -> CalibrationResult:
        """Run (or resume) the calibration; the output folder is locked meanwhile."""
        from sahel_sim.io.lock import FolderLock

        with FolderLock(self.out):
            return self._run(max_generations=max_generations)

    def _run(self, *, max_generations: int | None) -> CalibrationResult:
        self._check_folder()
        hist_path = self.out / "history.json"
        history: list[dict[str, Any]] = []
        parts: Particles | None = None
        eps_prev = math.inf
        max_gen = self.cfg.max_generations if max_generations is None else max_generations
        gen = 0
        proposals: list[Proposal] = []
        while True:
            pop_path = self.out / f"gen_{gen:03d}" / "particles.parquet"
            z, proposal = self.propose(gen, parts)
            proposals.append(proposal)
            if pop_path.exists():  # finished before an interruption: reload it
                parts, info = self._load_particles(pop_path)
            else:
                d, means, n_failed = self.run_generation(gen, z)
                parts, info = self._select(gen, parts, z, proposals, d, means, eps_prev)
                info["failed_runs"] = n_failed
                self._save_particles(pop_path, parts, info)
            history = [h for h in history if h["generation"] != gen] + [info]
            write_atomic(hist_path, json.dumps(history, indent=2) + "\n")
            self.notify(generation_line(info))
            eps_prev = info["epsilon"]
            if gen >= 1 and info["acceptance"] < self.cfg.min_acceptance:
                break
            if gen >= max_gen:
                break
            gen += 1
        return self._finish(parts, history)

    def _select(self, gen: int, parts: Particles | None, z: np.ndarray, proposals: list[Proposal], d: np.ndarray,
                means: list[dict[str, float]], eps_prev: float) -> tuple[Particles, dict[str, Any]]:
        ids = [f"g{gen}c{c}" for c in range(len(z))]
        acceptance = float(np.mean(d <= eps_prev)) if parts is not None else 1.0
        if parts is not None:  # pool the old particles with the new candidates
            ids = parts.ids + ids
            z = np.vstack([parts.z, z])
            d = np.concatenate([parts.distance, d])
            means = parts.stats + means
        iw = self.log_weights(z, proposals)
        order = np.argsort(d, kind="stable")
        keep = order[: self.n_keep]
        eps = float(d[keep[-1]])
        new = Particles([ids[i] for i in keep], z[keep], iw[keep], d[keep], [means[i] for i in keep])
        w = new.weights
        info = {"generation": gen, "epsilon": eps, "acceptance": acceptance, "best_distance": float(d[keep[0]]),
                "median_distance": float(np.median(d[keep])), "particles": len(keep),
                "effective_sample_size": float(1.0 / np.sum(w ** 2)), "time": dt.datetime.now().isoformat(timespec="seconds")}
        return new, info

    def _save_particles(self, path: Path, parts: Particles, info: Mapping[str, Any]) -> None:
        cols: dict[str, Any] = {"particle": parts.ids, "weight": parts.weights, "log_iw": parts.log_iw,
                                "distance": parts.distance}
        for i, key in enumerate(self.cal.keys):
            cols[f"z:{key}"] = parts.z[:, i]
        for t in self.cal.targets.ids:
            cols[f"stat:{t}"] = [s.get(t, float("nan")) for s in parts.stats]
        table = pa.table(cols).replace_schema_metadata({"info": json.dumps(dict(info))})
        write_atomic(path, parquet_bytes(table))

    def _load_particles(self, path: Path) -> tuple[Particles, dict[str, Any]]:
        table = pq.read_table(path)
        info = json.loads(table.schema.metadata[b"info"])
        f = table.to_pandas()
        # C order, as the particles were in memory: pandas hands the block back in Fortran
        # order, and np.cov on it adds in another order (last-bit differences that changed the
        # next generation's draws, so a resumed calibration could not reuse its runs)
        z = np.ascontiguousarray(f[[f"z:{k}" for k in self.cal.keys]].to_numpy(dtype=np.float64))
        stats = [{t: float(row[f"stat:{t}"]) for t in self.cal.targets.ids} for _, row in f.iterrows()]
        return Particles(list(f["particle"]), z, f["log_iw"].to_numpy(), f["distance"].to_numpy(), stats), info

    # ------------------------------------------------------------------ outputs
    def _finish(self, parts: Particles, history: list[dict[str, Any]]) -> CalibrationResult:
        rows = []
        for i, pid in enumerate(parts.ids):
            row = {"particle": pid, "weight": float(parts.weights[i]), "distance": float(parts.distance[i])}
            row.update(self.values_of(parts.z[i]))
            row.update({f"stat:{t}": v for t, v in parts.stats[i].items()})
            rows.append(row)
        posterior = pd.DataFrame(rows)
        if self.cfg.reevaluate_top and self.cfg.reevaluate_seeds:
            posterior = posterior.merge(self.reevaluate(parts), on="particle", how="left")
        write_atomic(self.out / "posterior.parquet", parquet_bytes(pa.Table.from_pandas(posterior, preserve_index=False)))
        point = self.point_estimate(posterior)
        incumbent = None
        if self.cfg.reevaluate_incumbent and self.cfg.reevaluate_top and self.cfg.reevaluate_seeds:
            incumbent = self.reevaluate_incumbent()
        import yaml

        best = {"name": self.cfg.name, "point_estimate": self.cfg.point_estimate, "values": point}
        if incumbent is not None:
            best["incumbent_distance"] = incumbent
        write_atomic(self.out / "best.yaml", yaml.safe_dump(best, sort_keys=False))
        return CalibrationResult(out=self.out, posterior=posterior, history=history, point=point,
                                 incumbent_distance=incumbent)

    def point_estimate(self, posterior: pd.DataFrame) -> dict[str, float]:
        if self.cfg.point_estimate == "best":
            by = "reevaluated_distance" if "reevaluated_distance" in posterior else "distance"
            best = posterior.sort_values([by, "distance"], kind="stable").iloc[0]
            return {k: float(best[k]) for k in self.cal.keys}
        w = posterior["weight"].to_numpy()
        return {k: weighted_quantiles(posterior[k].to_numpy(dtype=float), w, (0.5,))[0] for k in self.cal.keys}


def generation_line(info: Mapping[str, Any]) -> str:
    """One line on a finished generation (what the command prints)."""
    return (f"generation {info['generation']}: tolerance {info['epsilon']:.3f}, best {info['best_distance']:.3f}, "
            f"acceptance {info['acceptance']:.2f}, ESS {info['effective_sample_size']:.1f}"
            + (f", {info['failed_runs']} failed runs" if info.get("failed_runs") else ""))


# --------------------------------------------------------------------------- posterior predictive
def weighted_quantiles(x: np.ndarray, w: np.ndarray, probs: Iterable[float]) -> list[float]:
    """The values of ``x`` (weights ``w``) at which the normalised cumulative weight first
    reaches each of ``probs``."""
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw = cw / cw[-1]
    return [float(x[order][min(int(np.searchsorted(cw, p)), len(x) - 1)]) for p in probs]


def posterior_table(targets: TargetSet, posterior: pd.DataFrame) -> pd.DataFrame:
    """Per target, the weighted median and 90% interval of the particles' mean statistics."""
    w = posterior["weight"].to_numpy()
    rows = []
    for t in targets:
        col = f"stat:{t.id}"
        x = posterior[col].to_numpy(dtype=float) if col in posterior else np.full(len(w), np.nan)
        ok = np.isfinite(x)
        if ok.any():
            q = weighted_quantiles(x[ok], w[ok], (0.05, 0.5, 0.95))
        else:
            q = [float("nan")] * 3
        rows.append({"id": t.id, "documented": t.documented, "value": t.value, "low": t.low, "high": t.high,
                     "q05": q[0], "median": q[1], "q95": q[2], "scaled_miss": t.scaled_miss(q[1]), "hit": t.hit(q[1])})
    return pd.DataFrame(rows)


def candidate_statistics(out: str | Path, targets: TargetSet, *, last: int | None = None) -> pd.DataFrame:
    """Every candidate a calibration in ``out`` ran, one row each: ``generation``, ``point`` and
    its statistics averaged over its replicates (the candidates of the ``last`` generations
    only, when given)."""
    from sahel_sim.experiments.engine import read_measures

    folders = sorted(Path(out).glob("gen_[0-9][0-9][0-9]"))
    if last is not None:
        folders = folders[-last:]
    frames = []
    for folder in folders:
        runs = read_measures(folder)
        if not len(runs):
            continue
        cols = [t for t in targets.ids if t in runs]
        means = runs.groupby("point", sort=True)[cols].mean().reset_index()
        means.insert(0, "generation", int(folder.name[4:]))
        frames.append(means)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["generation", "point"])


def target_tensions(targets: TargetSet, candidates: pd.DataFrame, *, top: int = 10,
                    max_rho: float = -0.1) -> pd.DataFrame:
    """Pairs of targets that pull against each other among calibration candidates: the
    Spearman rank correlation, across candidates, of their squared scaled misses. A negative
    correlation means the candidates that fit one target better fit the other worse. Pairs
    within one family are kept (a series whose points disagree is worth knowing). The ``top``
    most negative pairs with a correlation at most ``max_rho``."""
    misses = {}
    for t in targets:
        if t.id in candidates:
            d = np.array([t.scaled_miss(float(v)) for v in candidates[t.id]])
            if np.isfinite(d).sum() >= 10 and np.nanstd(d) > 0:
                misses[t.id] = d * d
    cols = ["target_a", "family_a", "target_b", "family_b", "rho", "candidates"]
    if len(misses) < 2:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(misses)
    rho = frame.corr(method="spearman", min_periods=10)
    fam = {t.id: t.family_id for t in targets}
    ids = list(frame.columns)
    rows = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            r = rho.at[a, b]
            if np.isfinite(r) and r <= max_rho:
                n = int((frame[a].notna() & frame[b].notna()).sum())
                rows.append({"target_a": a, "family_a": fam[a], "target_b": b, "family_b": fam[b], "rho": float(r),
                             "candidates": n})
    table = pd.DataFrame(rows, columns=cols)
    return table.sort_values("rho", kind="stable").head(top).reset_index(drop=True)


def calibration_report(cal: Calibration, result: CalibrationResult, *, tension_generations: int = 3) -> str:
    """The calibration's report (``report.md`` in its output folder): the generations
    (tolerance, acceptance, effective sample size), the posterior predictive check of every
    target by family (weighted median and 90% interval of the particles' statistics), the
    parameters' posteriors against their priors, and the targets that pull against each other
    among the candidates of the last ``tension_generations`` generations."""
    import platform

    from sahel_sim.io.manifest import git_commit

    post = result.posterior
    lines = [f"# Calibration report: {cal.config.name}", "",
             f"Written on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit `{git_commit()}`, {platform.system()} "
             f"{platform.machine()}, from the calibration in `{result.out}`.", "",
             f"{len(cal.keys)} parameters by ABC (APMC) on {len(cal.used)} targets in "
             f"{len(cal.used.families())} families; population {cal.config.population}, alpha {cal.config.alpha}, "
             f"{cal.config.replicates} replicate(s) a candidate, master seed {cal.config.seed}.", "",
             "## Generations", "", "| generation | tolerance | best | median | acceptance | ESS | particles | finished |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for h in result.history:
        lines.append(f"| {h['generation']} | {h['epsilon']:.3f} | {h['best_distance']:.3f} | {h['median_distance']:.3f} "
                     f"| {h['acceptance']:.2f} | {h['effective_sample_size']:.1f} | {h['particles']} | {h.get('time', '')} |")
    if result.best_distance is not None:
        lines += ["", "## Point estimate", "",
                  f"The {int(post['reevaluated_distance'].notna().sum())} best particles rerun with "
                  f"{cal.config.reevaluate_seeds} fresh seeds: the best has distance {result.best_distance:.3f} "
                  "(by its median statistics)."]
        if result.incumbent_distance is not None:
            verdict = ("they fit at least as well, so the parameter file is left as it is" if result.incumbent_wins
                       else "the best particle fits better and is written to the parameter file")
            lines[-1] += (f" The current parameter values on the same seeds: {result.incumbent_distance:.3f}; "
                          f"{verdict} (unless --no-write).")
    table = posterior_table(cal.used, post)
    table["family"] = [t.family_id for t in cal.used]
    lines += ["", f"## Posterior predictive check: {int(table['hit'].sum())} of {len(table)} targets within tolerance", "",
              "Weighted median and 90% interval of the final particles' statistics (each the mean of its replicates).", ""]
    lines += family_summary(table)
    lines += ["| target | family | documented | tolerance | posterior median [90%] | miss | |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['id']} | {r['family']} | {r['documented']} | {_num(r['low'])}-{_num(r['high'])} | "
                     f"{_num(r['median'])} [{_num(r['q05'])}, {_num(r['q95'])}] | {r['scaled_miss']:+.2f} | "
                     f"{'hit' if r['hit'] else 'MISS'} |")
    w = post["weight"].to_numpy()
    lines += ["", "## Parameters", "", "Weighted posterior median and 90% interval; position of the median in the prior "
              "(0 at low, 1 at high, log scale for log-uniform priors).", "",
              "| parameter | prior | posterior median [90%] | position |", "|---|---|---|---:|"]
    for key, prior in cal.config.priors.items():
        q = weighted_quantiles(post[key].to_numpy(dtype=float), w, (0.05, 0.5, 0.95))
        lo, hi = prior.box
        pos = ((math.log(q[1]) if prior.distribution == "loguniform" else q[1]) - lo) / (hi - lo)
        lines.append(f"| {key} | {prior.distribution} {prior.low:g}-{prior.high:g} | {q[1]:.4g} [{q[0]:.4g}, {q[2]:.4g}] "
                     f"| {pos:.2f} |")
    cands = candidate_statistics(result.out, cal.used, last=tension_generations)
    tens = target_tensions(cal.used, cands)
    lines += ["", "## Targets that pull against each other", "",
              f"Spearman correlation of squared scaled misses across the {len(cands)} candidates of the last "
              f"{tension_generations} generations: negative when the candidates that fit one target better fit the "
              "other worse. The ten most negative pairs (at most -0.1).", ""]
    if len(tens):
        lines += ["| target | family | target | family | correlation |", "|---|---|---|---|---:|"]
        for _, r in tens.iterrows():
            lines.append(f"| {r['target_a']} | {r['family_a']} | {r['target_b']} | {r['family_b']} | {r['rho']:+.2f} |")
    else:
        lines.append("No pair of targets pulls against another by that measure.")
    return "\n".join(lines) + "\n"


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))).ravel()


# --------------------------------------------------------------------------- the parameter file
def update_parameter_file(path: Path, values: Mapping[str, float], *, note: str | None = None) -> str:
    """Rewrite the values of ``values`` (key paths) in a YAML parameter file in place, keeping
    its comments, order and every other key. A key missing from the file is added at the end of
    its deepest block that the file has, with the blocks it needs below that. Returns the new
    text (the caller writes it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    remaining = dict(values)
    stack: list[tuple[int, str]] = []
    last_line_of: dict[str, int] = {}
    for i, line in enumerate(lines):
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip() or stripped.lstrip().startswith("-"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if ":" not in stripped:
            continue
        key, _, rest = stripped.strip().partition(":")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        full = ".".join([s[1] for s in stack] + [key.strip()])
        for j in range(len(stack) + 1):
            last_line_of[".".join([s[1] for s in stack[:j]])] = i
        if rest.strip():
            if full in remaining:
                comment = line[len(stripped):] if "#" in line else ""
                lines[i] = f"{line[:indent]}{key.strip()}: {_fmt(remaining.pop(full))}{comment}"
        else:
            stack.append((indent, key.strip()))
            last_line_of[full] = i
    inserts: dict[int, list[str]] = {}
    opened: set[str] = set()  # blocks added by this rewrite
    for key, value in remaining.items():
        parts = key.split(".")
        # the deepest block of the key that the file (or this rewrite) has; the rest is added under it
        have = max((j for j in range(len(parts)) if ".".join(parts[:j]) in last_line_of
                    or ".".join(parts[:j]) in opened), default=0)
        at = last_line_of[".".join(parts[:have])]
        block = inserts.setdefault(at, [])
        for j in range(have, len(parts) - 1):
            name = ".".join(parts[: j + 1])
            block.append(f"{'  ' * j}{parts[j]}:")
            opened.add(name)
            last_line_of[name] = at
        block.append(f"{'  ' * (len(parts) - 1)}{parts[-1]}: {_fmt(value)}")
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(inserts.get(i, []))
    text = "\n".join(out) + "\n"
    if note:
        text = _set_note(text, note)
    return text


CALIBRATION_NOTE = "# Calibration: "


def _set_note(text: str, note: str) -> str:
    """Put a one-line provenance note after the header comment (replacing an older one)."""
    lines = [ln for ln in text.splitlines() if not ln.startswith(CALIBRATION_NOTE)]
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    lines.insert(i, CALIBRATION_NOTE + note)
    return "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    v = float(value)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.4g}"
    return f"{float(f'{v:.4g}')}"


# --------------------------------------------------------------------------- reports
def write_shipped_calibration(cal: Calibration, result: CalibrationResult) -> list[Path]:
    """Write the point estimate into the parameter file and the posterior beside it."""
    params = cal.resolve(cal.config.parameters_file)
    post = result.posterior
    by = "reevaluated_distance" if "reevaluated_distance" in post else "distance"
    best = post.sort_values([by, "distance"], kind="stable").iloc[0]
    how = (f"best of the top {int(post[by].notna().sum())} particles rerun with {cal.config.reevaluate_seeds} fresh seeds "
           f"(distance {best[by]:.2f})" if by != "distance" else f"best particle (distance {best['distance']:.2f})")
    note = (f"{cal.config.name}, {dt.date.today().isoformat()}: {len(cal.keys)} parameters by ABC (APMC) on "
            f"{len(cal.used)} targets, generations 0-{len(result.history) - 1}; "
            f"{how if cal.config.point_estimate == 'best' else 'weighted posterior medians'}; posterior in posterior.parquet")
    text = update_parameter_file(params, result.point, note=note)
    write_atomic(params, text)
    post = params.parent / "posterior.parquet"
    keep = [c for c in ("particle", "weight", "distance", "reevaluated_distance") if c in result.posterior]
    keep += [*cal.keys, *[f"stat:{t}" for t in cal.targets.ids]]
    write_atomic(post, parquet_bytes(pa.Table.from_pandas(result.posterior[keep], preserve_index=False)))
    return [params, post]


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000 or float(x).is_integer():
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.2f}"


def out_of_sample_report(cal: Calibration, result: CalibrationResult) -> str:
    """How the targets left out of the calibration are predicted by its posterior."""
    held = cal.held_out
    lines = [f"# Out-of-sample check: calibrated on targets ending by {cal.config.holdout_after}", "",
             f"Calibrated on {len(cal.used)} targets; {len(held)} held out. Posterior of {len(result.posterior)} "
             "particles (statistics averaged over each particle's replicates); weighted median and 90% interval.", ""]
    for label, ts in (("Held-out targets (prediction)", held), ("Calibration targets (fit)", cal.used),
                      ("Targets left out of every calibration (use_targets)", cal.excluded)):
        if not len(ts):
            continue
        table = posterior_table(ts, result.posterior)
        n_hit = int(table["hit"].sum())
        lines += [f"## {label}: {n_hit} of {len(table)} within tolerance", "",
                  "| target | documented | tolerance | posterior median [90%] | miss | |", "|---|---|---|---|---|---|"]
        for _, r in table.iterrows():
            lines.append(f"| {r['id']} | {r['documented']} | {_num(r['low'])}-{_num(r['high'])} | {_num(r['median'])} "
                         f"[{_num(r['q05'])}, {_num(r['q95'])}] | {r['scaled_miss']:+.2f} | {'hit' if r['hit'] else 'MISS'} |")
        lines.append("")
    return "\n".join(lines)


NEAR_BOUND = 0.02  # within 2% of the prior's range (in its own scale) counts as at the bound (issue 11)


def prior_positions(priors: Mapping[str, Prior], resolved: Mapping[str, Any]) -> pd.DataFrame:
    """Where each parameter's value in ``resolved`` (a validated scenario as data, schema
    defaults included: ``scenario_to_data``) sits in its prior: ``position`` 0 at ``low``, 1 at
    ``high`` (log scale for log-uniform priors), and ``status``: inside, near the low/high bound
    (within :data:`NEAR_BOUND` of the range), or below/above the prior."""
    rows = []
    for key, prior in priors.items():
        value: Any = resolved
        for part in key.split("."):
            value = value[part]
        value = float(value)
        lo, hi = prior.box
        if prior.distribution == "loguniform" and value <= 0:
            pos = -math.inf
        else:
            pos = (float(prior.to_unit(np.array(value))) - lo) / (hi - lo)
        if pos < 0:
            status = "below the prior"
        elif pos > 1:
            status = "above the prior"
        elif pos < NEAR_BOUND:
            status = "near the low bound"
        elif pos > 1 - NEAR_BOUND:
            status = "near the high bound"
        else:
            status = "inside"
        rows.append({"parameter": key, "value": value, "distribution": prior.distribution, "low": prior.low,
                     "high": prior.high, "position": pos, "status": status, "note": prior.bound_note or ""})
    return pd.DataFrame(rows)


def priors_markdown(positions: pd.DataFrame, *, source: str) -> str:
    """The report section on parameters against their priors: every parameter, its position,
    and those at or beyond a bound with the note that accepts it (or the lack of one)."""
    flagged = positions[positions["status"] != "inside"]
    unexplained = flagged[flagged["note"] == ""]
    lines = ["", f"## Parameters against their priors ({source})", "",
             f"{len(positions)} calibrated parameters; {len(flagged)} at or beyond a bound of their prior "
             f"(within {NEAR_BOUND:.0%} of its range, log scale for log-uniform priors), "
             f"{len(unexplained)} of them without a note saying why the bound is a hard fact"
             + (": " + ", ".join(unexplained["parameter"]) if len(unexplained) else "") + ".", "",
             "| parameter | value | prior | position (0 low, 1 high) | | note |", "|---|---|---|---|---|---|"]
    for _, r in positions.iterrows():
        prior = f"{r['distribution']} {r['low']:.4g}-{r['high']:.4g}"
        lines.append(f"| {r['parameter']} | {r['value']:.4g} | {prior} | {r['position']:.2f} | "
                     f"{'' if r['status'] == 'inside' else r['status'].upper()} | {r['note']} |")
    return "\n".join(lines) + "\n"


def validation_markdown(targets: TargetSet, table: pd.DataFrame, *, title: str, acled: Mapping[str, float] | None = None,
                        acled_label: str | None = None, simulated: bool = True) -> str:
    """The validation table: documented value and tolerance, simulated median [90%], hit/miss."""
    import os
    import platform

    from sahel_sim.io.manifest import git_commit

    lines = [f"# Validation against the documented trends: {title}", "",
             f"Produced on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit `{git_commit()}`, "
             f"{platform.system()} {platform.machine()} ({os.cpu_count()} CPUs).", ""]
    if simulated:
        n_hit = int(table["hit"].sum())
        medians = {str(r["id"]): float(r["median"]) for _, r in table.iterrows()}
        chosen = TargetSet(tuple(t for t in targets if t.id in medians), targets.path)
        lines += [f"{n_hit} of {len(table)} targets within tolerance (simulated median over seeds). "
                  "'miss' is the scaled miss of the median: 0 at the documented value, +-1 at the tolerance edges "
                  "(log scale for counts, ratios and stocks). "
                  f"Calibration distance of these medians (family-weighted, docs/calibration.md section 3): "
                  f"{chosen.distance(medians):.3f}.", ""]
        missed = table[~table["hit"]]
        if len(missed):
            lines.append("Misses: " + "; ".join(
                f"{r['id']} ({_num(r['median'])} against {_num(r['low'])}-{_num(r['high'])}, "
                f"{'above' if r['scaled_miss'] > 0 else 'below'} by {abs(r['scaled_miss']) - 1:.2f} tolerance widths)"
                if np.isfinite(r["scaled_miss"]) else f"{r['id']} (not computable)"
                for _, r in missed.iterrows()) + ".")
            lines.append("")
        lines += family_summary(table)
    head = "| target | period | documented | tolerance |"
    sep = "|---|---|---|---|"
    if simulated:
        head += " simulated median [90%] | miss | |"
        sep += "---|---|---|"
    if acled is not None:
        head += f" {acled_label or 'ACLED'} |"
        sep += "---|"
    lines += [head, sep]
    for _, r in table.iterrows():
        row = f"| {r['id']} | {r['period']} | {r['documented']} | {_num(r['low'])}-{_num(r['high'])} |"
        if simulated:
            miss = f"{r['scaled_miss']:+.2f}" if np.isfinite(r["scaled_miss"]) else "n/a"
            row += f" {_num(r['median'])} [{_num(r['q05'])}, {_num(r['q95'])}] | {miss} | {'hit' if r['hit'] else 'MISS'} |"
        if acled is not None:
            v = acled.get(r["id"], float("nan"))
            row += f" {_num(v) if np.isfinite(v) else 'not in ACLED'} |"
        lines.append(row)
    lines += ["", "## Sources", ""]
    for t in targets:
        via = f" (read via {t.source['via']})" if t.source.get("via") else ""
        lines.append(f"- **{t.id}**: {t.source_text}{via}. {t.exactness}. {t.notes}".rstrip())
    return "\n".join(lines) + "\n"


def family_summary(table: pd.DataFrame) -> list[str]:
    """Hits by target family (the unit the calibration distance weighs): markdown lines."""
    if "family" not in table or not len(table):
        return []
    lines = ["Hits by family (the calibration distance gives each family the same weight):", "",
             "| family | targets | hits | misses |", "|---|---:|---:|---|"]
    for fam, rows in table.groupby("family", sort=False):
        missed = ", ".join(rows.loc[~rows["hit"], "id"])
        lines.append(f"| {fam} | {len(rows)} | {int(rows['hit'].sum())} | {missed} |")
    return [*lines, ""]


def validation_figure(targets: TargetSet, table: pd.DataFrame, path: str | Path, *, title: str,
                      acled: Mapping[str, float] | None = None, simulated: bool = True) -> Path:
    """Every target on an axis of scaled misses, one panel per target family: the tolerance is
    [-1, 1], the documented value 0; dots are simulated medians, bars their 90% intervals,
    crosses the ACLED export."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_id = {t.id: t for t in targets}
    table = table.assign(family=[by_id[i].family_id for i in table["id"]])
    groups = list(table.groupby("family", sort=False))
    sizes = [len(rows) for _, rows in groups]
    height = 0.36 * sum(sizes) + 0.55 * len(groups) + 1.2
    fig, axes = plt.subplots(len(groups), 1, figsize=(9.5, height),
                             sharex=True, squeeze=False, gridspec_kw={"height_ratios": [n + 0.6 for n in sizes]})
    lim = 3.0
    for ax, (family, rows) in zip(axes[:, 0], groups, strict=True):
        n = len(rows)
        ax.axvspan(-1, 1, color="#d9ead3", zorder=0, label="tolerance")
        ax.axvline(0, color="#38761d", lw=1, zorder=1, label="documented value")
        for i, (_, r) in enumerate(rows.iterrows()):
            y = n - 1 - i
            t = by_id[r["id"]]
            if simulated and np.isfinite(r["median"]):
                lo, med, hi = (np.clip(t.scaled_miss(v), -lim, lim) if np.isfinite(t.scaled_miss(v)) else -lim
                               for v in (r["q05"], r["median"], r["q95"]))
                colour = "#1f4e79" if r["hit"] else "#c00000"
                ax.plot([lo, hi], [y, y], color=colour, lw=2, zorder=2)
                ax.plot([med], [y], "o", color=colour, zorder=3)
                ax.text(lim + 0.1, y, f"{_num(r['median'])} (doc. {_num(t.value)})", va="center", fontsize=7)
            if acled is not None and np.isfinite(acled.get(r["id"], float("nan"))):
                d = t.scaled_miss(acled[r["id"]])
                if np.isfinite(d):
                    ax.plot([np.clip(d, -lim, lim)], [y], "x", color="black", zorder=4)
        ax.set_yticks(range(n))
        ax.set_yticklabels(list(rows["id"])[::-1], fontsize=8)
        ax.set_ylim(-0.6, n - 0.4)
        hits = f": {int(rows['hit'].sum())} of {n} within tolerance" if simulated else ""
        ax.set_title(f"{family}{hits}", fontsize=8, loc="left")
    axes[0, 0].set_xlim(-lim, lim)
    axes[-1, 0].set_xlabel("scaled miss (0 = documented value, \u00b11 = tolerance edge; log scale for counts and ratios)")
    fig.suptitle(f"Calibration targets by family: {title}", fontsize=10)
    axes[0, 0].legend(loc="lower left", fontsize=7, framealpha=0.9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))
    path = save_figure(fig, path)
    plt.close(fig)
    return path
