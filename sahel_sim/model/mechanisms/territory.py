"""Security, influence and territorial control (ODD M1).

Presence of a force projects from the cells where its fighters stand with an exponential
distance kernel; security comes from state-side and peacekeeper presence; each faction's
influence follows its share of local pressure against the pressure of "nobody", diffusing
along neighbours where it has a foothold; control goes to the faction whose influence passes
a threshold, with hysteresis.

Sources: Raleigh & Dowd (2013) "Governance and conflict in the Sahel's 'ungoverned space'",
*Stability* 2(2) (the vacuum); Kalyvas (2006) *The Logic of Violence in Civil War*, ch. 5-6
(control as the outcome of the local balance of force); Weidmann & Salehyan (2013),
*International Studies Quarterly* 57(1) (diffusion of control on a grid). Constants: the
``vacuum`` block of the schema.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from sahel_sim.model.mechanisms._compiled import njit, pairwise_sum


def distance_kernel(distance_km: np.ndarray, reach_km: float) -> np.ndarray:
    """Exponential decay with distance: ``K[i, j] = exp(-d_ij / reach)``."""
    return np.exp(-distance_km / max(reach_km, 1e-9))


def fighters_per_cell(cells: np.ndarray, fighters: np.ndarray, n_cells: int) -> np.ndarray:
    """Sum of unit fighters in each cell."""
    return np.bincount(cells, weights=fighters, minlength=n_cells).astype(np.float64)


def presence(local: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Presence projected from occupied cells to every cell (troop-equivalents)."""
    occupied = np.flatnonzero(local)
    return local[occupied] @ kernel[occupied]


def besieged_presence(occupied: np.ndarray, local: np.ndarray, hostile: np.ndarray, kernel: np.ndarray, *,
                      siege_weight: float) -> np.ndarray:
    """Presence of a state-side force whose garrisons are hemmed in (ODD M5): of the fighters
    in each occupied cell, the share ``local / (local + siege_weight x hostile)`` moves about and
    projects presence with the distance kernel; the rest hold their own cell only. ``occupied``
    (m,) the force's cells, ``local`` (m,) its fighters there, ``hostile`` (m,) its armed
    enemies' presence there, ``kernel`` (n, n). With no enemy near, :func:`presence`; the
    presence in the occupied cells themselves is unchanged."""
    free = local / (local + siege_weight * hostile)
    out = (local * free) @ kernel[occupied]
    out[occupied] += local * (1.0 - free)
    return out


def saturating(x: np.ndarray, half: float) -> np.ndarray:
    """``x / (x + half)``: availability or capacity that saturates at 1."""
    return x / (x + half)


def security(gov_presence: np.ndarray, pk_presence: np.ndarray, *, half_strength: float,
             pk_half: float, pk_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(security, vacuum, pk_cover)``: ``security = 1 - (1 - s_gov)(1 - w s_pk)`` with
    ``s = 1 - exp(-presence / half)``; ``vacuum = 1 - security``; ``pk_cover = s_pk``."""
    s_gov = 1.0 - np.exp(-gov_presence / half_strength)
    s_pk = 1.0 - np.exp(-pk_presence / pk_half)
    sec = 1.0 - (1.0 - s_gov) * (1.0 - pk_weight * s_pk)
    return sec, 1.0 - sec, s_pk


def neighbour_mean(values: np.ndarray, adjacency: sparse.csr_matrix, degree: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (..., n) over each cell's neighbours."""
    if values.ndim == 1:
        return (adjacency @ values) / np.maximum(degree, 1)
    return (adjacency @ values.T).T / np.maximum(degree, 1)


def bounded_shares(x: np.ndarray) -> np.ndarray:
    """Clip (F, n) shares to [0, 1] and scale down cells whose shares sum to more than 1."""
    np.clip(x, 0.0, 1.0, out=x)
    total = x.sum(axis=0)
    over = total > 1.0
    if over.any():
        x[:, over] /= total[over]
    return x


def pressure_share(pressure: np.ndarray, ungoverned: float) -> np.ndarray:
    """Each faction's share of the pressure in every cell, against the pressure of nobody."""
    return pressure / (pressure.sum(axis=0, keepdims=True) + ungoverned)


def update_influence(influence: np.ndarray, pressure: np.ndarray, *, adjacency: sparse.csr_matrix,
                     degree: np.ndarray, baseline: float, rate: float, spread_weight: float) -> np.ndarray:
    """Influence (F, n) follows each faction's share of local pressure, mixed with the
    neighbours' influence where the faction has a foothold, approached at ``rate``; stays in
    [0, 1] and sums to at most 1 in every cell."""
    share = pressure_share(pressure, baseline)
    spread = neighbour_mean(influence, adjacency, degree)
    target = (share + spread_weight * spread * (share > 0.02)) / (1.0 + spread_weight)
    return bounded_shares(influence + rate * (target - influence))


def control_from_influence(influence: np.ndarray, threshold: float, incumbent: np.ndarray | None = None,
                           margin: float = 0.0) -> np.ndarray:
    """Which faction controls each cell (-1: nobody). With an incumbent, it keeps the cell while
    its influence stays within ``margin`` below the threshold and no challenger leads it by
    ``margin`` or more."""
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


@njit
def step_influence(influence, pressure, indptr, indices, data, degree, baseline, rate, spread_weight, threshold,
                   incumbent, margin):  # pragma: no cover - compiled
    """One week of :func:`update_influence` then :func:`control_from_influence` (with an
    incumbent and ``margin`` > 0), fused and compiled (``_compiled.py``): returns ``(influence,
    control)``. ``indptr``, ``indices``, ``data``: the adjacency matrix in CSR form. With
    ``margin`` 0 nobody keeps a cell below the threshold, as without an incumbent."""
    F, n = influence.shape
    out = np.empty((F, n))
    control = np.empty(n, dtype=np.int8)
    spread = np.zeros(F)
    for j in range(n):
        total_p = 0.0
        for f in range(F):
            total_p += pressure[f, j]
        spread[:] = 0.0
        for jj in range(indptr[j], indptr[j + 1]):  # scipy's CSR product: neighbours in index order
            k = indices[jj]
            for f in range(F):
                spread[f] += data[jj] * influence[f, k]
        deg = max(degree[j], 1.0)
        total = 0.0
        for f in range(F):
            share = pressure[f, j] / (total_p + baseline)
            foothold = 1.0 if share > 0.02 else 0.0
            target = (share + spread_weight * (spread[f] / deg) * foothold) / (1.0 + spread_weight)
            x = influence[f, j] + rate * (target - influence[f, j])
            x = min(max(x, 0.0), 1.0)
            out[f, j] = x
            total += x
        if total > 1.0:
            for f in range(F):
                out[f, j] /= total
        best = 0
        for f in range(1, F):
            if out[f, j] > out[best, j]:
                best = f
        top = out[best, j]
        new = best if top >= threshold else -1
        inc = incumbent[j]
        if inc >= 0:
            inc_infl = out[inc, j]
            if inc_infl >= threshold - margin and top - inc_infl < margin:
                new = inc
        control[j] = new
    return out, control


@njit
def security_fields(P, is_gov, is_pk, half_strength, pk_half, pk_weight):  # pragma: no cover - compiled
    """:func:`security` of the presence fields ``P`` (A, n), the state side's (``is_gov``) and
    the peacekeepers' (``is_pk``) each added in actor order, compiled (``_compiled.py``)."""
    A, n = P.shape
    security = np.empty(n)
    vacuum = np.empty(n)
    pk_cover = np.empty(n)
    for j in range(n):
        gov = 0.0
        pk = 0.0
        for a in range(A):
            if is_gov[a]:
                gov += P[a, j]
            if is_pk[a]:
                pk += P[a, j]
        s_gov = 1.0 - np.exp(-gov / half_strength)
        s_pk = 1.0 - np.exp(-pk / pk_half)
        security[j] = 1.0 - (1.0 - s_gov) * (1.0 - pk_weight * s_pk)
        vacuum[j] = 1.0 - security[j]
        pk_cover[j] = s_pk
    return security, vacuum, pk_cover


@njit
def presence_fields(cells, fighters, unit_actor, n_actors, kernels, k_presence, k_strike,
                    strikes):  # pragma: no cover - compiled
    """Every actor's fighters per cell, :func:`presence` and reach (``strikes.reach``),
    compiled (``_compiled.py``): returns ``(S, P, R)``. Units are given as ``cells``,
    ``fighters`` and ``unit_actor``, actor by actor; ``kernels`` (K, n, n) holds the distance
    kernels, ``k_presence[a]`` and ``k_strike[a]`` index actor a's; ``strikes[a]``: whether
    actor a strikes (peacekeepers do not). The products are BLAS ``gemv`` calls, as numpy's
    ``@``. Security follows from the presence once it is constrained (:func:`constrain_fields`)."""
    n = kernels.shape[1]
    A = n_actors
    S = np.zeros((A, n))
    P = np.zeros((A, n))
    R = np.zeros((A, n))
    for u in range(cells.size):
        S[unit_actor[u], cells[u]] += fighters[u]
    for a in range(A):
        occupied = np.flatnonzero(S[a])
        if occupied.size == 0:
            continue
        local = S[a][occupied]
        P[a] = np.dot(local, kernels[k_presence[a]][occupied])
        if strikes[a]:
            R[a] = np.dot(local / pairwise_sum(local, 0, local.size), kernels[k_strike[a]][occupied])
    return S, P, R


@njit
def constrain_fields(S, P, R, hostile_armed, kernels, k_presence, siege_weight, is_gov, is_pk, aoo, has_aoo,
                     half_strength, pk_half, pk_weight, far_actors, k_far):  # pragma: no cover - compiled
    """What the week's fields owe to the state side's constraints, compiled (``_compiled.py``),
    after :func:`presence_fields`: each state-side force other than peacekeepers whose
    occupied cells its armed enemies (``hostile_armed[i]``) are present in projects
    :func:`besieged_presence` instead (``siege_weight`` > 0); state-side presence and reach stop
    at the area of operations (``aoo[i]``, 0/1 per cell, where ``has_aoo[i]``); then
    :func:`security`. Updates ``P`` and ``R`` in place; returns ``(security, vacuum, pk_cover,
    R_far)``, ``R_far[i]`` the reach (``strikes.reach``) of ``far_actors`` over the kernel
    ``k_far`` (zeros for the others)."""
    A, n = P.shape
    if siege_weight > 0:
        for i in range(A):
            if not is_gov[i] or is_pk[i]:
                continue
            occ = np.flatnonzero(S[i])
            if occ.size == 0:
                continue
            h = np.zeros(occ.size)
            first = True
            for b in range(A):  # rows added in order, as numpy's sum over the leading axis
                if hostile_armed[i, b]:
                    if first:
                        for m in range(occ.size):
                            h[m] = P[b, occ[m]]
                        first = False
                    else:
                        for m in range(occ.size):
                            h[m] = h[m] + P[b, occ[m]]
            if first:
                continue
            hemmed = False
            for m in range(occ.size):
                if h[m] != 0:
                    hemmed = True
                    break
            if not hemmed:
                continue
            local = np.empty(occ.size)
            moving = np.empty(occ.size)
            for m in range(occ.size):
                local[m] = S[i, occ[m]]
                free = local[m] / (local[m] + siege_weight * h[m])
                moving[m] = local[m] * free
                h[m] = local[m] * (1.0 - free)  # the fighters that hold their own cell
            out = np.dot(moving, kernels[k_presence[i]][occ])
            for m in range(occ.size):
                out[occ[m]] += h[m]
            P[i] = out
    for i in range(A):
        if is_gov[i] and has_aoo[i]:
            for j in range(n):
                P[i, j] = P[i, j] * aoo[i, j]
                R[i, j] = R[i, j] * aoo[i, j]
    security, vacuum, pk_cover = security_fields(P, is_gov, is_pk, half_strength, pk_half, pk_weight)
    R_far = np.zeros((A, n))
    for i in range(A):
        if not far_actors[i]:
            continue
        occ = np.flatnonzero(S[i])
        if occ.size == 0:
            continue
        local = S[i][occ]
        total = pairwise_sum(local, 0, local.size)
        if total > 0:
            R_far[i] = np.dot(local / total, k_far[occ])
    return security, vacuum, pk_cover, R_far
