"""Flight and return (ODD M8).

People flee violent events and deaths in their cell, and a share flees when an armed group
takes it; a share crosses the nearest border; the rest go to safer, larger, nearer cells;
people return home when it is calm.

Sources: Suleimenova, Bell & Groen (2017) *Scientific Reports* 7:13377 (Flee, Mali 2012);
Moore & Shellman (2004) *Journal of Conflict Resolution* 48(5). Constants: the
``displacement`` block.
"""

from __future__ import annotations

import numpy as np


def flight(pop_home: np.ndarray, events: np.ndarray, deaths: np.ndarray, *, per_event: float,
           per_death: float, max_share: float, takeover: np.ndarray | None = None,
           takeover_share: float = 0.0) -> np.ndarray:
    """People who flee each cell this week, capped at ``max_share`` of residents."""
    out = per_event * events + per_death * deaths
    if takeover is not None:
        out = out + takeover_share * pop_home * takeover
    return np.minimum(out, max_share * pop_home)


def destination_weights(origins: np.ndarray, *, distance_km: np.ndarray, security: np.ndarray,
                        population: np.ndarray, violence: np.ndarray, range_km: float) -> np.ndarray:
    """Row-normalised destination shares (len(origins), n): safer, larger, nearer cells attract."""
    d = distance_km[origins]
    w = np.exp(-d / range_km) * np.sqrt(population + 1.0)[None, :] * (0.2 + security)[None, :]
    w = w / (1.0 + violence)[None, :]
    w[np.arange(len(origins)), origins] = 0.0
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)
