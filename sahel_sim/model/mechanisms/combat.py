"""Stochastic attrition and fatalities (ODD M2b).

Expected losses follow a mixed Lanchester law, ``c x lethality x sqrt(e_a e_b)``; fatality
counts are negative-binomial (heavy-tailed).

Sources: Lanchester (1916) *Aircraft in Warfare*; Deitchman (1962) "A Lanchester model of
guerrilla warfare", *Operations Research* 10(6); Clauset, Young & Gleditsch (2007), *Journal
of Conflict Resolution* 51(1) (heavy tails of event severity). Constants: ``combat`` block.
"""

from __future__ import annotations

import numpy as np

from sahel_sim.model.mechanisms._compiled import njit, pairwise_sum


def negbin(rng: np.random.Generator, mean: np.ndarray, shape) -> np.ndarray:
    """Negative-binomial counts with the given mean and shape (a number or an array)."""
    mean = np.asarray(mean, dtype=np.float64)
    p = shape / (shape + np.maximum(mean, 1e-12))
    return rng.negative_binomial(shape, p).astype(np.int64)


def attrition_means(e_att: np.ndarray, e_def: np.ndarray, *, coefficient: float,
                    lethality_att: np.ndarray, lethality_def: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(losses_attacker, losses_defender)`` means of an engagement under the mixed law."""
    scale = coefficient * np.sqrt(np.maximum(e_att, 0) * np.maximum(e_def, 0))
    return scale * lethality_def, scale * lethality_att


@njit
def engagement_means(att, tgt, kind, cells, unit_size, strength, S, P, lethality, is_merc, engaged_presence_share,
                     coefficient, remote_lethality, peacekeeper_attack_lethality, strike_lethality,
                     fatalities_per_attack, mercenary_fatality_multiplier, k_remote, k_strike, k_pk_attack):  # pragma: no cover - compiled
    """Engaged strengths and expected losses of each event, compiled (``_compiled.py``):
    ``(e_att, e_def, mean_att, mean_def, vac_mean)``. A raid engages one attacking unit
    (``unit_size``, at most the attacker's strength) and the defender's fighters in the cell or
    a share of its presence there; :func:`attrition_means`, with no attacker losses in one-sided
    kinds (IEDs, air strikes, attacks on peacekeepers) and the kinds' lethality factors;
    ``vac_mean`` the fatalities of an attack on civilians (``tgt`` -1)."""
    k = att.size
    e_att = np.empty(k)
    e_def = np.empty(k)
    mean_att = np.empty(k)
    mean_def = np.empty(k)
    vac_mean = np.empty(k)
    for e in range(k):
        a = att[e]
        t = tgt[e] if tgt[e] >= 0 else 0
        c = cells[e]
        e_att[e] = min(unit_size[a], strength[a])
        e_def[e] = max(S[t, c], engaged_presence_share * P[t, c])
        scale = coefficient * np.sqrt(max(e_att[e], 0.0) * max(e_def[e], 0.0))
        ki = kind[e]
        mean_att[e] = 0.0 if ki == k_remote or ki == k_strike or ki == k_pk_attack else scale * lethality[t]
        md = scale * lethality[a]
        if ki == k_remote:
            md = remote_lethality * md
        elif ki == k_pk_attack:
            md = peacekeeper_attack_lethality * md
        elif ki == k_strike:
            md = strike_lethality * md
        mean_def[e] = md
        vac_mean[e] = fatalities_per_attack * (mercenary_fatality_multiplier if is_merc[a] else 1.0)
    return e_att, e_def, mean_att, mean_def, vac_mean


@njit
def week_tallies(att, tgt, cells, l_att, l_def, civ, n_actors, n_cells, is_jihadist, is_armed, rival_a,
                 rival_b):  # pragma: no cover - compiled
    """Per-cell tallies of the week's events, compiled (``_compiled.py``), each added in event
    order as ``np.bincount`` adds: ``(losses (A, n), civ_deaths, civ_by_actor (A, n), events,
    jihadist_events, armed_attacks, rival_fights, attacks_by_actor (A, n))``."""
    A, n = n_actors, n_cells
    loss_att = np.zeros((A, n))
    loss_def = np.zeros((A, n))
    civ_deaths = np.zeros(n)
    civ_by_actor = np.zeros((A, n))
    events = np.zeros(n)
    jihad = np.zeros(n)
    armed = np.zeros(n)
    rival = np.zeros(n, dtype=np.bool_)
    by_actor = np.zeros((A, n))
    for e in range(att.size):
        a, t, c = att[e], tgt[e], cells[e]
        ok = t >= 0
        ts = t if ok else 0
        loss_att[a, c] += l_att[e]
        loss_def[ts, c] += l_def[e] if ok else 0.0
        civ_deaths[c] += civ[e]
        civ_by_actor[a, c] += civ[e]
        events[c] += 1.0
        jihad[c] += 1.0 if is_jihadist[a] or (ok and is_jihadist[ts]) else 0.0
        armed[c] += 1.0 if is_armed[a] else 0.0
        if ok and ((rival_a[a] and rival_b[ts]) or (rival_b[a] and rival_a[ts])):
            rival[c] = True
        by_actor[a, c] += 1.0
    return loss_att + loss_def, civ_deaths, civ_by_actor, events, jihad, armed, rival, by_actor


def unit_losses(fighters: np.ndarray, unit_cell: np.ndarray, loss_cells: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Losses at cells (``loss_cells``, n) spread over a force's units by fighters times
    proximity (``kernel[unit cell, loss cell]``): each cell's losses are shared among the
    units in proportion to those weights (nobody loses where every weight is 0)."""
    where = np.flatnonzero(loss_cells)
    # (units, cells) in Fortran order, the layout the compiled kernel's BLAS product uses
    w = fighters[:, None] * kernel[unit_cell[None, :], where[:, None]].T
    total = w.sum(axis=0)
    w = w / np.where(total > 0, total, 1.0)
    return w @ loss_cells[where]


@njit
def distribute_losses(losses, unit_actor, unit_cell, fighters, kernels, k_strike):  # pragma: no cover - compiled
    """:func:`unit_losses` of every actor at once, compiled (``_compiled.py``): ``losses`` (A,
    n) by actor and cell, units given as ``unit_actor``, ``unit_cell``, ``fighters`` (actor by
    actor), ``kernels[k_strike[a]]`` actor a's kernel. Returns the losses of every unit."""
    A = losses.shape[0]
    out = np.zeros(fighters.size)
    start = 0
    for a in range(A):
        end = start
        while end < unit_actor.size and unit_actor[end] == a:
            end += 1
        U = end - start
        if U > 0:
            where = np.flatnonzero(losses[a])
            m = where.size
            if m > 0:
                k = kernels[k_strike[a]]
                wt = np.empty((m, U))  # the transpose of the (units, cells) weights
                for c in range(m):
                    for u in range(U):
                        wt[c, u] = fighters[start + u] * k[unit_cell[start + u], where[c]]
                    total = pairwise_sum(wt[c], 0, U)
                    d = total if total > 0 else 1.0
                    for u in range(U):
                        wt[c, u] = wt[c, u] / d
                v = np.empty(m)
                for c in range(m):
                    v[c] = losses[a, where[c]]
                out[start:end] = np.dot(wt.T, v)
        start = end
    return out
