"""Expansion of a saturated group along roads and rivers (ODD M9).

When a group's strength nears the ceiling its own pool allows (``saturation_threshold``), it
pushes out: its footprint (the affinity it recruits on and the area its units use) diffuses
to neighbouring cells, easily along roads and the Niger river, hardly across open country
(``offroad_conductance``). This replaces a latitude drift: the Katiba Macina's move from the
inner delta into Segou and on toward Koulikoro and Kayes follows the routes out of its base,
not a compass bearing.

Sources: diffusion of militant Islamist violence along transport corridors in the Sahel,
Walther, Radil & Russell (2021) "Mapping the changing networks of violence in the Sahel",
OECD West African Papers 31, and Radil, Irmischer & Walther (2022) "Contextualizing the
relationship between borderlands and political violence", *Political Geography* 94; the
southward spread, ACSS (2022, 2023; mali_facts s1); the road corridors,
``sahel_sim/geography/data/roads.json``. Constants: the ``expansion`` block.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from sahel_sim.model.mechanisms._compiled import njit


def conductance(adjacency: sparse.csr_matrix, corridor: np.ndarray, offroad: float) -> tuple[np.ndarray, np.ndarray]:
    """``(neighbours, weights)``, each (n, k) padded with -1 / 0: each cell's adjacent cells and
    the edge weights, 1 where both cells are on a route and ``offroad`` otherwise."""
    adj = adjacency.tocsr()
    deg = np.diff(adj.indptr)
    k = int(deg.max()) if deg.size else 0
    n = adj.shape[0]
    nbr = np.full((n, max(k, 1)), -1, dtype=np.int64)
    rows = np.repeat(np.arange(n), deg)
    slot = np.arange(adj.indices.size) - np.repeat(adj.indptr[:-1], deg)
    nbr[rows, slot] = adj.indices
    on = corridor[:, None] & corridor[np.maximum(nbr, 0)]
    w = np.where(nbr >= 0, np.where(on, 1.0, offroad), 0.0)
    return nbr, w


def expand(footprint: np.ndarray, saturation: float, *, conductance: tuple[np.ndarray, np.ndarray],
           threshold: float, rate: float) -> np.ndarray:
    """A footprint (0-1) after a week: unchanged below ``threshold``; above it, each cell moves
    toward the conductance-weighted largest footprint among its neighbours at a speed
    proportional to the excess saturation. Footprints never shrink."""
    if saturation <= threshold or rate <= 0:
        return footprint
    excess = min(1.0, (saturation - threshold) / max(1e-9, 1.0 - threshold))
    nbr, w = conductance
    pull = (w * footprint[np.maximum(nbr, 0)]).max(axis=1)
    grow = np.clip(pull - footprint, 0.0, None)
    return np.minimum(1.0, footprint + rate * excess * grow)


@njit
def _grow(footprint, step, nbr, w):  # pragma: no cover - compiled
    n, k = nbr.shape
    out = np.empty(n)
    for j in range(n):
        pull = w[j, 0] * footprint[max(nbr[j, 0], 0)]
        for m in range(1, k):
            pull = max(pull, w[j, m] * footprint[max(nbr[j, m], 0)])
        grow = max(pull - footprint[j], 0.0)
        out[j] = min(1.0, footprint[j] + step * grow)
    return out


def expand_compiled(footprint: np.ndarray, saturation: float, *, conductance: tuple[np.ndarray, np.ndarray],
                    threshold: float, rate: float) -> np.ndarray:
    """:func:`expand`, with the per-cell work compiled (``_compiled.py``)."""
    if saturation <= threshold or rate <= 0:
        return footprint
    excess = min(1.0, (saturation - threshold) / max(1e-9, 1.0 - threshold))
    nbr, w = conductance
    return _grow(footprint, rate * excess, nbr, w)
