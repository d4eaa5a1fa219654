"""Stochastic attrition and fatalities (ODD M2b).

Expected losses follow a mixed Lanchester law, ``c x lethality x sqrt(e_a e_b)``; fatality
counts are negative-binomial (heavy-tailed).

Sources: Lanchester (1916) *Aircraft in Warfare*; Deitchman (1962) "A Lanchester model of
guerrilla warfare", *Operations Research* 10(6); Clauset, Young & Gleditsch (2007), *Journal
of Conflict Resolution* 51(1) (heavy tails of event severity). Constants: ``combat`` block.
"""

from __future__ import annotations

import numpy as np


def negbin(rng: np.random.Generator, mean: np.ndarray, shape) -> np.ndarray:
    """Negative-binomial counts with the given mean and shape (a number or an array)."""
    mean = np.asarray(mean, dtype=np.float64)
    p = shape / (shape + np.maximum(mean, 1e-12))
    return rng.negative_binomial(shape, p).astype(np.int64)


def attrition_means(e_att: np.ndarray, e_def: np.ndarray, *, coefficient: float,
                    lethality_att: np.ndarray, lethality_def: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(losses_attacker, losses_defender)`` means of an engagement under the mixed law."""
    scale = coefficient * np.sqrt(np.maximum(e_att, 0) * np.maximum(e_def, 0))
    return scale * lethality_def, scale * lethality_att
