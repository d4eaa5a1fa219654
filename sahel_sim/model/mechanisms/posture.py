"""State and foreign posture: dated bases, reinforcement toward threatened sectors (ODD M5).

A state-side force holds bases (FAMa garrisons, Serval/Barkhane bases, MINUSMA camps) over
the dates the scenario documents: the northern garrisons lost in 2012, Kidal without FAMa
from May 2014 to November 2023, Barkhane's bases from 2013 to their 2021-2022 handovers.
Garrison units hold their base; mobile columns are posted to the sectors of open bases in
proportion to the threat there (attacks by armed groups within ``sector_radius_km``, with a
memory), plus a routine baseline, and reinforcements go to threatened sectors too.

Sources: the record of posture in geography_facts s2 (Reuters, AFP, French EMA communiqués,
see the scenario); threat-driven force allocation in counter-insurgency, Lyall & Wilson
(2009) *International Organization* 63(1), and the reinforcement of the centre after 2015,
International Crisis Group (2016) "Central Mali: an uprising in the making?", Africa Report
238. Constants: the ``posture`` block.
"""

from __future__ import annotations

import numpy as np

from sahel_sim.model import sampling


def sector_threat(base_cells: np.ndarray, threat: np.ndarray, kernel: np.ndarray, *, baseline: float) -> np.ndarray:
    """Threat credited to each base: attacks near it (``kernel[i, j] = exp(-d_ij / radius)``)
    plus a baseline."""
    if base_cells.size == 0:
        return np.zeros(0)
    return kernel[base_cells] @ threat + baseline


def post_columns(rng: np.random.Generator, n_columns: int, base_cells: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cells where ``n_columns`` reassigned columns go: bases drawn in proportion to weights."""
    if n_columns == 0 or base_cells.size == 0:
        return np.zeros(0, dtype=np.int64)
    p = weights / weights.sum() if weights.sum() > 0 else None
    return sampling.choice(rng, base_cells, n_columns, p).astype(np.int64)  # Generator.choice's draw
