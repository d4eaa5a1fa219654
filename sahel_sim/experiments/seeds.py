"""Seeds for many runs, all derived from one master seed with :class:`numpy.random.SeedSequence`.

Replicate ``r`` of every design point (and of both arms of a comparison) gets the same seed,
so differences between points are not blurred by different random draws (common random
numbers). A replicate's seed depends only on the master seed and ``r``: adding replicates to
a sweep keeps the seeds of the ones already run.

Streams are separated by the first entry of the ``spawn_key`` (STYLE.md 3.3-3.4):
``(0, r)`` replicate seeds, ``(1,)`` the design sampler, ``(2,)`` bootstrap resampling,
``(3,)`` SALib's sampler and analysis, ``(4, r)`` replicate ``r``'s draw from a calibration
posterior (both arms of a comparison share it), ``(10, g)`` the ABC sampler's draws in
calibration generation ``g``, ``(11, r)`` the fresh seed of re-evaluation replicate ``r``.
Every seed of every experiment (sweep, comparison, sensitivity analysis, validation,
calibration) comes from a function of this module.
"""

from __future__ import annotations

import numpy as np

REPLICATE_STREAM = 0
DESIGN_STREAM = 1
BOOTSTRAP_STREAM = 2
SENSITIVITY_STREAM = 3
POSTERIOR_STREAM = 4
CALIBRATION_STREAM = 10
REEVALUATION_STREAM = 11


def _check(master_seed: int) -> int:
    if isinstance(master_seed, bool) or not isinstance(master_seed, (int, np.integer)) or master_seed < 0:
        raise ValueError(f"master seed must be a non-negative integer, got {master_seed!r}")
    return int(master_seed)


def _run_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def replicate_seed(master_seed: int, replicate: int) -> int:
    """The run seed of replicate ``replicate`` (a non-negative integer below 2**63)."""
    return _run_seed(np.random.SeedSequence(_check(master_seed), spawn_key=(REPLICATE_STREAM, int(replicate))))


def replicate_seeds(master_seed: int, n: int) -> list[int]:
    """Seeds of replicates ``0 .. n-1``; the same list at every design point."""
    return [replicate_seed(master_seed, r) for r in range(int(n))]


def stream_seed(master_seed: int, stream: int) -> np.random.SeedSequence:
    """The SeedSequence of a named auxiliary stream (design sampler, bootstrap, SALib)."""
    return np.random.SeedSequence(_check(master_seed), spawn_key=(int(stream),))


def stream_rng(master_seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(stream_seed(master_seed, stream))


def stream_int(master_seed: int, stream: int) -> int:
    """A 32-bit integer seed for libraries that want one (SALib)."""
    return int(stream_seed(master_seed, stream).generate_state(1, dtype=np.uint32)[0])


def posterior_rows(master_seed: int, n: int, weights: np.ndarray) -> list[int]:
    """Row of a weighted posterior sample drawn for replicates ``0 .. n-1``.

    Replicate ``r`` draws from its own stream ``(4, r)``, so its row depends only on the master
    seed, ``r`` and the weights: adding replicates keeps the draws of the ones already run.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("posterior weights must be finite, non-negative and not all zero")
    p = w / w.sum()
    seed = _check(master_seed)
    return [int(np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(POSTERIOR_STREAM, r)))
                .choice(len(p), p=p)) for r in range(int(n))]


def calibration_rng(master_seed: int, generation: int) -> np.random.Generator:
    """The ABC sampler's generator for one calibration generation (prior draws, kernel moves)."""
    return np.random.default_rng(np.random.SeedSequence(_check(master_seed),
                                                        spawn_key=(CALIBRATION_STREAM, int(generation))))


def reevaluation_seeds(master_seed: int, n: int) -> list[int]:
    """Fresh run seeds for re-evaluating the best calibration particles (none of them is a
    replicate seed, so the re-evaluation does not reuse the draws that selected them)."""
    seed = _check(master_seed)
    return [_run_seed(np.random.SeedSequence(seed, spawn_key=(REEVALUATION_STREAM, r))) for r in range(int(n))]
