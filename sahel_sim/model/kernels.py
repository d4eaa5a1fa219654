"""Pure array kernels for the per-cell quantities (arrays, parameters, a Generator in; arrays out).

Each kernel implements one mechanism of docs/ODD.md and is tested on toy worlds. None of them
reads files, prints or keeps state; the model wires them together.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

# --------------------------------------------------------------------------- presence & security


def distance_kernel(distance_km: np.ndarray, reach_km: float) -> np.ndarray:
    """Exponential decay of presence with distance: K[i, j] = exp(-d_ij / reach)."""
    return np.exp(-distance_km / max(reach_km, 1e-9))


def fighters_per_cell(cells: np.ndarray, fighters: np.ndarray, n_cells: int) -> np.ndarray:
    """Sum of unit fighters in each cell."""
    return np.bincount(cells, weights=fighters, minlength=n_cells).astype(np.float64)


def presence(local: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Presence projected from the cells where fighters are to every cell (troop-equivalents):
    ``local @ kernel``, summed over occupied cells only (units occupy few cells)."""
    occupied = np.flatnonzero(local)
    return local[occupied] @ kernel[occupied]


def saturating(x: np.ndarray, half: float) -> np.ndarray:
    """x / (x + half): capacity or availability that saturates at 1."""
    return x / (x + half)


def security(gov_presence: np.ndarray, pk_presence: np.ndarray, *, half_strength: float,
             pk_half: float, pk_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Security from state-side and peacekeeper presence (mechanism 1, security vacuum).

    Returns ``(security, vacuum, pk_cover)``: ``security = 1 - (1 - s_gov)(1 - w s_pk)`` with
    ``s = 1 - exp(-presence / half)``; ``vacuum = 1 - security``; ``pk_cover = s_pk``.
    """
    s_gov = 1.0 - np.exp(-gov_presence / half_strength)
    s_pk = 1.0 - np.exp(-pk_presence / pk_half)
    sec = 1.0 - (1.0 - s_gov) * (1.0 - pk_weight * s_pk)
    return sec, 1.0 - sec, s_pk


# --------------------------------------------------------------------------- influence & control


def neighbour_mean(values: np.ndarray, adjacency: sparse.csr_matrix, degree: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (..., n) over each cell's Moore neighbours."""
    if values.ndim == 1:
        return (adjacency @ values) / np.maximum(degree, 1)
    return (adjacency @ values.T).T / np.maximum(degree, 1)


def _bounded_shares(x: np.ndarray) -> np.ndarray:
    """Clip (F, n) shares to [0, 1] and scale down cells whose shares sum to more than 1."""
    np.clip(x, 0.0, 1.0, out=x)
    total = x.sum(axis=0)
    over = total > 1.0
    if over.any():
        x[:, over] /= total[over]
    return x


def update_influence(influence: np.ndarray, pressure: np.ndarray, *, adjacency: sparse.csr_matrix,
                     degree: np.ndarray, baseline: float, rate: float, spread_weight: float) -> np.ndarray:
    """Influence follows each faction's share of local pressure, spreading along neighbours.

    ``pressure`` is (F, n) in troop-equivalents; ``baseline`` is the pressure of "nobody" (an
    empty cell stays ungoverned). Target share ``p_f / (sum_g p_g + baseline)`` is mixed with the
    neighbours' influence (diffusion of control along adjacency) and approached at ``rate``.
    Influence stays in [0, 1] and sums to at most 1 in every cell.
    """
    share = pressure / (pressure.sum(axis=0, keepdims=True) + baseline)
    spread = neighbour_mean(influence, adjacency, degree)
    # neighbours only help where the faction already has a foothold or pressure (no jumps)
    target = (share + spread_weight * spread * (share > 0.02)) / (1.0 + spread_weight)
    return _bounded_shares(influence + rate * (target - influence))


def control_from_influence(influence: np.ndarray, threshold: float, incumbent: np.ndarray | None = None,
                           margin: float = 0.0) -> np.ndarray:
    """Which faction controls each cell (-1: nobody), with hysteresis.

    Without an incumbent: the faction with the largest influence if it reaches ``threshold``.
    With one: the incumbent keeps the cell while its influence stays within ``margin`` below the
    threshold and no challenger leads it by ``margin`` or more, so that contested cells do not
    change hands every week.
    """
    cols = np.arange(influence.shape[1])
    best = influence.argmax(axis=0)
    top = influence[best, cols]
    new = np.where(top >= threshold, best, -1)
    if incumbent is None or margin <= 0:
        return new.astype(np.int8)
    held = incumbent >= 0
    inc_infl = np.where(held, influence[np.where(held, incumbent, 0), cols], 0.0)
    keeps = held & (inc_infl >= threshold - margin) & (top - inc_infl < margin)
    return np.where(keeps, incumbent, new).astype(np.int8)


# --------------------------------------------------------------------------- fatalities


def negbin(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Negative-binomial counts with the given mean and shape (heavy-tailed fatality counts)."""
    mean = np.asarray(mean, dtype=np.float64)
    p = shape / (shape + np.maximum(mean, 1e-12))
    return rng.negative_binomial(shape, p).astype(np.int64)


def attrition_means(e_att: np.ndarray, e_def: np.ndarray, *, coefficient: float,
                    lethality_att: np.ndarray, lethality_def: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected losses in an engagement under a geometric-mean (mixed Lanchester) law.

    Losses to the defender scale with the attacker's lethality times sqrt(e_att * e_def) and
    vice versa (Lanchester 1916's square and linear laws mixed; see docs/ODD.md). Returns
    ``(losses_attacker, losses_defender)`` means.
    """
    scale = coefficient * np.sqrt(np.maximum(e_att, 0) * np.maximum(e_def, 0))
    return scale * lethality_def, scale * lethality_att


# --------------------------------------------------------------------------- grievance & support


def update_grievance(grievance: np.ndarray, harm_deaths: np.ndarray, population: np.ndarray, *,
                     adjacency: sparse.csr_matrix, degree: np.ndarray, sensitivity: float,
                     spillover: float, decay: float, baseline: float) -> np.ndarray:
    """Civilian harm by state and foreign forces raises grievance here and next door (mechanism 4).

    Shock = sensitivity * deaths per 1,000 residents, plus ``spillover`` times the neighbours'
    mean shock; grievance moves toward 1 by ``1 - exp(-shock)`` and relaxes toward ``baseline``.
    """
    per_k = harm_deaths / (population / 1000.0 + 1.0)
    shock = sensitivity * per_k
    shock = shock + spillover * neighbour_mean(shock, adjacency, degree)
    g = grievance + (1.0 - grievance) * (1.0 - np.exp(-shock))
    g = g + decay * (baseline - g)
    return np.clip(g, 0.0, 1.0)


def update_support(support: np.ndarray, *, grievance: np.ndarray, influence: np.ndarray,
                   own_harm: np.ndarray, population: np.ndarray, rate: float,
                   harm_sensitivity: float) -> np.ndarray:
    """Support for armed factions (F, n): follows grievance where the faction is present,
    falls where it kills civilians; the total never exceeds 1."""
    target = grievance[None, :] * influence / np.maximum(influence.sum(axis=0, keepdims=True), 0.25)
    s = support + rate * (target - support)
    per_k = own_harm / (population[None, :] / 1000.0 + 1.0)
    return _bounded_shares(s * np.exp(-harm_sensitivity * per_k))


def recruitment_potential(population: np.ndarray, grievance: np.ndarray, support: np.ndarray,
                          vacuum: np.ndarray, *, absence_weight: float) -> np.ndarray:
    """Sympathisers per cell, in thousands: people times grievance times (support plus state
    absence) (mechanism 4: grievance and state absence feed recruitment)."""
    return population / 1000.0 * grievance * (support + absence_weight * vacuum)


# --------------------------------------------------------------------------- displacement


def flight(pop_home: np.ndarray, events: np.ndarray, deaths: np.ndarray, *, per_event: float,
           per_death: float, max_share: float, takeover: np.ndarray | None = None,
           takeover_share: float = 0.0) -> np.ndarray:
    """People who flee each cell this week (mechanism 8): proportional to violent events and
    deaths, plus a share of residents where another faction has just taken the cell (fear of
    the new rulers), capped at ``max_share`` of residents."""
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
