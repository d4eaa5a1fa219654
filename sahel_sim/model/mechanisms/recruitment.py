"""Recruitment from each group's own social base, and its ceiling (ODD M4b).

Each armed group recruits from the communities and areas it is documented to draw on (its
``social_base`` anchors in the scenario, with sources): its *affinity* for a cell is
``max_k weight_k exp(-(d_k / radius_k)^2)`` over its anchors, with a small floor elsewhere,
and grows where the group expands (mechanisms/expansion.py). Sympathisers (thousands) in a
cell are ``pop/1000 x affinity x grievance x (support + w x vacuum)``; a group reaches those
near its units. Recruits per week are ``rate x reached x (1 - strength / ceiling)``, logistic
growth whose ceiling, ``fighters_per_thousand_sympathisers x reached``, comes from the group's
own pool (a group above it loses ``demobilisation_per_week`` of the excess each week): IS Sahel's from Menaka, Ansongo and the tri-border area, the Katiba Macina's from
the inner Niger delta. Funding (taxation of the people under the faction's influence) limits
recruitment; broke groups lose fighters.

Sources: social bases, geography_facts s1 (ECFR "Mapping armed groups in Mali and the
Sahel", 2019; Africa Center, 2019; ACLED actor profile of Dan Na Ambassagou, 2022; see each
anchor); recruitment pools in insurgency models, Kress & MacKay (2014) *Operations Research
Letters* 42(2); resources and recruitment, Weinstein (2007) *Inside Rebellion*. Constants:
the ``recruitment`` and ``funding`` blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sahel_sim.model.mechanisms._compiled import njit, pairwise_sum


def affinity(lat: np.ndarray, lon: np.ndarray, anchors: Sequence, *, floor: float, date=None) -> np.ndarray:
    """A group's affinity (0-1) for each cell from its social-base anchors (objects with
    ``lat``, ``lon``, ``radius_km``, ``weight`` and ``since``) active on ``date`` (all when
    None); ``floor`` everywhere else."""
    from sahel_sim.geography import haversine_km

    out = np.full(lat.shape, float(floor))
    for a in anchors:
        if date is not None and ((a.since is not None and a.since > date) or (a.until is not None and a.until <= date)):
            continue
        d = haversine_km(a.lat, a.lon, lat, lon)
        out = np.maximum(out, a.weight * np.exp(-((d / a.radius_km) ** 2)))
    return out


def sympathisers(population: np.ndarray, affinity: np.ndarray, grievance: np.ndarray, support: np.ndarray,
                 vacuum: np.ndarray, *, absence_weight: float) -> np.ndarray:
    """Sympathisers per cell, in thousands."""
    return population / 1000.0 * affinity * grievance * (support + absence_weight * vacuum)


def logistic_recruits(strength: float, reached: float, *, rate: float, per_thousand: float,
                      sustained: float = 0.0) -> tuple[float, float]:
    """``(recruits, ceiling)``: ``rate x reached x (1 - strength / ceiling)``, never negative. The
    ceiling is ``per_thousand x reached`` plus ``sustained``, the fighters a group's base outside
    the grid sustains (dated cross-border inflows: the Liptako-Gourma for IS Sahel)."""
    ceiling = per_thousand * reached + sustained
    if ceiling <= 0:
        return 0.0, 0.0
    return max(0.0, rate * reached * (1.0 - strength / ceiling)), ceiling


def demobilised(strength: float, ceiling: float, *, share_per_week: float) -> float:
    """Fighters a group above the ceiling its pool sustains loses this week: a share of the
    excess (fighters drift home, defect or move abroad when the social base no longer
    sustains them, e.g. MUJAO and Ansar Dine after Serval)."""
    return share_per_week * max(0.0, strength - ceiling)


@njit
def reached_pool(population, affinity, grievance, support, vacuum, absence_weight, kernel, occupied, floor,
                 use_floor):  # pragma: no cover - compiled
    """A group's :func:`sympathisers` times its exposure, compiled (``_compiled.py``): returns
    ``(weights, reached, exposure)``, ``weights`` per cell, ``reached`` their sum (in numpy's
    order), ``exposure`` the largest ``kernel`` row of the ``occupied`` cells (raised to
    ``floor`` where ``use_floor``: militias recruit across their home communities)."""
    n = population.size
    exposure = np.zeros(n)
    if occupied.size:
        for j in range(n):
            exposure[j] = kernel[occupied[0], j]
        for k in range(1, occupied.size):
            row = occupied[k]
            for j in range(n):
                exposure[j] = max(exposure[j], kernel[row, j])
    weights = np.empty(n)
    for j in range(n):
        if use_floor:
            exposure[j] = max(exposure[j], floor[j])
        symp = population[j] / 1000.0 * affinity[j] * grievance[j] * (support[j] + absence_weight * vacuum[j])
        weights[j] = symp * exposure[j]
    return weights, pairwise_sum(weights, 0, n), exposure


@njit
def recruit_pools(recruiters, is_militia, faction_of, population, footprint, grievance, support, vacuum,
                  absence_weight, S, kernels, k_exposure, attacks_recent, base_enemies, k_alarm):  # pragma: no cover - compiled
    """:func:`reached_pool` of every recruiting actor at once, compiled (``_compiled.py``):
    returns ``(weights, reached, exposure)`` with one row per entry of ``recruiters``. A group
    recruits where its units stand (``S[a] > 0``) within its exposure kernel
    (``kernels[k_exposure[a]]``), from its footprint, the grievance and its faction's
    ``support`` (none without a faction). A militia recruits from its alarm instead of grievance:
    the recent attacks of its enemies (``attacks_recent`` rows of ``base_enemies[a]``, added in
    order) seen through the alarm kernel (``kernels[k_alarm]``), at most 1, with full support and
    its footprint as the exposure's floor."""
    R = recruiters.size
    n = population.size
    weights = np.empty((R, n))
    reached = np.empty(R)
    exposure = np.empty((R, n))
    zeros = np.zeros(n)
    ones = np.ones(n)
    for r in range(R):
        a = recruiters[r]
        occupied = np.flatnonzero(S[a])
        kernel = kernels[k_exposure[a]]
        if is_militia[a]:
            recent = np.zeros(n)
            first = True
            for b in range(base_enemies.shape[1]):
                if base_enemies[a, b]:
                    if first:
                        recent[:] = attacks_recent[b]
                        first = False
                    else:
                        for j in range(n):
                            recent[j] = recent[j] + attacks_recent[b, j]
            hit = np.flatnonzero(recent > 1e-6)
            alarm = np.zeros(n)
            if hit.size:
                alarm = np.dot(recent[hit], kernels[k_alarm][hit])
            pull = np.minimum(alarm, 1.0)
            w, total, e = reached_pool(population, footprint[a], pull, ones, vacuum, absence_weight, kernel, occupied,
                                       footprint[a], True)
        else:
            f = faction_of[a]
            sup = support[f] if f >= 0 else zeros
            w, total, e = reached_pool(population, footprint[a], grievance, sup, vacuum, absence_weight, kernel,
                                       occupied, zeros, False)
        weights[r] = w
        reached[r] = total
        exposure[r] = e
    return weights, reached, exposure
