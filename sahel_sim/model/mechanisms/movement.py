"""Armed-group units reposition inside their area (ODD M1b).

Each week a share of an armed group's mobile units (``relocate_share_per_week``) picks a cell
within its weekly move radius by a logit choice over ``log(footprint) - crowding x log(1 +
the group's other units in the cell) + support - state_avoidance x security - home_pull x
distance from home`` (Gumbel noise: bounded rationality); the rest stay at their bases. Groups
thus hold their sanctuaries and social bases, avoid garrisons, and move out only as their
footprint grows (mechanisms/expansion.py). A cell's value is shared by the units already in it
(at ``crowding`` 1, the score is the log of the footprint per unit), so a growing group spreads
over its area instead of piling onto its best cell: the territory it can hold grows with its
numbers.

Sources: insurgent sanctuaries and safe havens, Salehyan (2007) *World Politics* 59(2); the
logit (random utility) choice, McFadden (1974); the sharing of a patch's value among those who
use it, the ideal free distribution, Fretwell & Lucas (1970) *Acta Biotheoretica* 19(1).
Constants: the ``expansion`` block and each actor's ``move_km``, ``home_pull``.
"""

from __future__ import annotations

import numpy as np

from sahel_sim.model.mechanisms._compiled import njit


def choose(rng: np.random.Generator, candidates: np.ndarray, scores: np.ndarray, *, noise: float) -> np.ndarray:
    """For each row of candidate cells (-1 pads) and their scores, the chosen cell (logit
    choice: scores plus Gumbel noise of scale ``noise``)."""
    s = np.where(candidates >= 0, scores + rng.gumbel(0.0, noise, size=scores.shape), -np.inf)
    return candidates[np.arange(candidates.shape[0]), s.argmax(axis=1)]


@njit
def relocate(candidates, unit_cell, unit_home, moving, footprint, security, support, state_avoidance, home_pull,
             distance_km, gumbel, units_in_cell, crowding):  # pragma: no cover - compiled
    """The cells the ``moving`` units choose, compiled (``_compiled.py``): :func:`choose` over
    the rows of the candidate table (-1 pads) at their cells, scored ``log(footprint + 0.001)
    - state_avoidance x security + support - crowding x log(1 + others) - home_pull x distance
    from home / 100 km``, where ``others`` is ``units_in_cell`` (the group's units per cell at
    the start of the move) less the unit itself in its own cell, with the Gumbel draws
    ``gumbel`` (one row per moving unit, one column per candidate slot)."""
    n = footprint.size
    base = np.empty(n)
    for j in range(n):
        base[j] = np.log(footprint[j] + 1e-3) - state_avoidance * security[j] + support[j]
    out = np.empty(moving.size, dtype=np.int64)
    width = candidates.shape[1]
    for r in range(moving.size):
        u = moving[r]
        row = unit_cell[u]
        home = unit_home[u]
        best_m = 0
        best = -np.inf
        for m in range(width):
            c = candidates[row, m]
            if c >= 0:
                others = units_in_cell[c] - (1 if c == row else 0)
                s = base[c] - crowding * np.log(1.0 + others) - home_pull * distance_km[home, c] / 100.0 + gumbel[r, m]
            else:
                s = -np.inf
            if m == 0 or s > best:
                best_m, best = m, s
        out[r] = candidates[row, best_m]
    return out
