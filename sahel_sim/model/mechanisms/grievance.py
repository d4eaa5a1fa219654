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

from sahel_sim.model.mechanisms._compiled import njit
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


@njit
def step_society(grievance, support, influence, pressure, civ_by_actor, harms_grievance, actor_faction,
                 faction_is_armed, population, indptr, indices, data, degree, sensitivity, spillover, decay,
                 baseline, ungoverned, rate, harm_sensitivity):  # pragma: no cover - compiled
    """One week of :func:`update_grievance` and :func:`update_support`, fused and compiled
    (``_compiled.py``); returns ``(grievance, support)``.

    ``civ_by_actor`` (A, n) civilians killed by each actor; ``harms_grievance`` (A,) the actors
    whose harm raises grievance (state side, militias); ``actor_faction`` (A,) each actor's
    faction (-1: none), whose own harm lowers its support; ``pressure`` (F, n) the factions'
    presence, whose share (against ``ungoverned``) stands in for influence where an armed
    faction is present but does not yet hold influence."""
    A, n = civ_by_actor.shape
    F = support.shape[0]
    shock = np.empty(n)
    for j in range(n):
        harm = 0.0
        for a in range(A):
            if harms_grievance[a]:
                harm += civ_by_actor[a, j]
        shock[j] = sensitivity * (harm / (population[j] / 1000.0 + 1.0))
    g_out = np.empty(n)
    s_out = np.empty((F, n))
    own = np.zeros(F)
    armed_infl = np.zeros(F)
    for j in range(n):
        nb = 0.0
        for jj in range(indptr[j], indptr[j + 1]):  # scipy's CSR product: neighbours in index order
            nb += data[jj] * shock[indices[jj]]
        s = shock[j] + spillover * (nb / max(degree[j], 1.0))
        g = grievance[j] + (1.0 - grievance[j]) * (1.0 - np.exp(-s))
        g = g + decay * (baseline - g)
        g = min(max(g, 0.0), 1.0)
        g_out[j] = g
        own[:] = 0.0
        for a in range(A):
            f = actor_faction[a]
            if f >= 0:
                own[f] += civ_by_actor[a, j]
        total_p = 0.0
        for f in range(F):
            total_p += pressure[f, j]
        total_i = 0.0
        for f in range(F):
            if faction_is_armed[f]:
                armed_infl[f] = max(influence[f, j], pressure[f, j] / (total_p + ungoverned))
            else:
                armed_infl[f] = 0.0
            total_i += armed_infl[f]
        denom = max(total_i, 0.25)
        per_thousand = population[j] / 1000.0 + 1.0
        total = 0.0
        for f in range(F):
            target = g * armed_infl[f] / denom
            x = support[f, j] + rate * (target - support[f, j])
            x = x * np.exp(-harm_sensitivity * (own[f] / per_thousand))
            x = min(max(x, 0.0), 1.0)
            s_out[f, j] = x
            total += x
        if total > 1.0:
            for f in range(F):
                s_out[f, j] /= total
    return g_out, s_out
