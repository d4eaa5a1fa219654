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


def conductance(adjacency: sparse.csr_matrix, corridor: np.ndarray, offroad: float) -> sparse.csr_matrix:
    """Edge weights between adjacent cells: 1 where both are on a route, ``offroad`` otherwise."""
    coo = adjacency.tocoo()
    on = corridor[coo.row] & corridor[coo.col]
    w = np.where(on, 1.0, offroad)
    return sparse.csr_matrix((w, (coo.row, coo.col)), shape=adjacency.shape)


def expand(footprint: np.ndarray, saturation: float, *, conductance: sparse.csr_matrix,
           threshold: float, rate: float) -> np.ndarray:
    """A footprint (0-1) after a week: unchanged below ``threshold``; above it, each cell moves
    toward the conductance-weighted largest footprint among its neighbours at a speed
    proportional to the excess saturation. Footprints never shrink."""
    if saturation <= threshold or rate <= 0:
        return footprint
    excess = min(1.0, (saturation - threshold) / max(1e-9, 1.0 - threshold))
    # largest conductance-weighted neighbour footprint (sparse row-wise max)
    weighted = conductance.multiply(footprint[None, :]).tocsr()
    pull = weighted.max(axis=1).toarray().ravel()
    grow = np.clip(pull - footprint, 0.0, None)
    return np.minimum(1.0, footprint + rate * excess * grow)
