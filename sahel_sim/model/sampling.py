"""Drawing from the model's Generator (STYLE.md 3) without its per-call overhead.

``Generator.choice(a, size, p=p)`` validates ``p`` and then draws by inverting the cumulative
distribution: ``cdf = p.cumsum(); cdf /= cdf[-1]; a[cdf.searchsorted(random(size), "right")]``
(numpy/random/_generator.pyx). The model draws a few cells at a time, thousands of times a run,
and the validation costs four times the draw, so ``choice`` below does the draw alone, from the
same uniform numbers: the same cells and the same Generator state as ``Generator.choice``
(checked in tests/test_compiled_kernels.py).
"""

from __future__ import annotations

import numpy as np


def choice(rng: np.random.Generator, items: np.ndarray, size: int, p: np.ndarray | None) -> np.ndarray:
    """``rng.choice(items, size=size, p=p)`` for a 1-d ``items`` and probabilities ``p`` that
    are non-negative and sum to 1 (None: uniform)."""
    if p is None:
        return rng.choice(items, size=size)
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return items[cdf.searchsorted(rng.random(size), side="right")]
