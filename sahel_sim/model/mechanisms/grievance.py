"""Grievance and support (ODD M4a).

Civilians killed by state-side forces and militias raise grievance here and next door,
``g <- g + (1 - g)(1 - exp(-shock))`` with the shock proportional to deaths per 1,000
residents, relaxing toward a baseline raised by lost legitimacy (coups). Support for an armed
faction follows grievance where the faction holds influence (or armed presence), and falls
where it kills civilians.

Sources: Condra & Shapiro (2012) "Who takes the blame?", *AJPS* 56(1); Lyall, Blair & Imai
(2013) "Explaining support for combatants during wartime", *APSR* 107(4); Epstein (2002)
"Modeling civil violence", *PNAS* 99(suppl 3) (grievance and legitimacy). Constants: the
``grievance`` block.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from sahel_sim.model.mechanisms.territory import bounded_shares, neighbour_mean


def update_grievance(grievance: np.ndarray, harm_deaths: np.ndarray, population: np.ndarray, *,
                     adjacency: sparse.csr_matrix, degree: np.ndarray, sensitivity: float,
                     spillover: float, decay: float, baseline: float) -> np.ndarray:
    """Grievance after this week's harm by state-side forces and militias."""
    per_k = harm_deaths / (population / 1000.0 + 1.0)
    shock = sensitivity * per_k
    shock = shock + spillover * neighbour_mean(shock, adjacency, degree)
    g = grievance + (1.0 - grievance) * (1.0 - np.exp(-shock))
    g = g + decay * (baseline - g)
    return np.clip(g, 0.0, 1.0)


def update_support(support: np.ndarray, *, grievance: np.ndarray, influence: np.ndarray,
                   own_harm: np.ndarray, population: np.ndarray, rate: float,
                   harm_sensitivity: float) -> np.ndarray:
    """Support (F, n) for armed factions: follows grievance where the faction is present,
    falls where it kills civilians; the total never exceeds 1."""
    target = grievance[None, :] * influence / np.maximum(influence.sum(axis=0, keepdims=True), 0.25)
    s = support + rate * (target - support)
    per_k = own_harm / (population[None, :] / 1000.0 + 1.0)
    return bounded_shares(s * np.exp(-harm_sensitivity * per_k))
