"""Armed-group units reposition inside their area (ODD M1b).

Each week a share of an armed group's mobile units (``relocate_share_per_week``) picks a cell
within its weekly move radius by a logit choice over ``log(footprint) + support -
state_avoidance x security - home_pull x distance from home`` (Gumbel noise: bounded
rationality); the rest stay at their bases. Groups thus hold their sanctuaries and social
bases, avoid garrisons, and move out only as their footprint grows (mechanisms/expansion.py).

Sources: insurgent sanctuaries and safe havens, Salehyan (2007) *World Politics* 59(2); the
logit (random utility) choice, McFadden (1974). Constants: the ``expansion`` block and each
actor's ``move_km``, ``home_pull``.
"""

from __future__ import annotations

import numpy as np


def choose(rng: np.random.Generator, candidates: np.ndarray, scores: np.ndarray, *, noise: float) -> np.ndarray:
    """For each row of candidate cells (-1 pads) and their scores, the chosen cell (logit
    choice: scores plus Gumbel noise of scale ``noise``)."""
    s = np.where(candidates >= 0, scores + rng.gumbel(0.0, noise, size=scores.shape), -np.inf)
    return candidates[np.arange(candidates.shape[0]), s.argmax(axis=1)]
