"""Where and whom each force attacks: bases and strikes are separate (ODD M2).

A force's units sit at their bases and sanctuaries; it strikes at a distance. Its *reach*
over a cell is the fighter-weighted sum of ``exp(-d / strike_reach_km)`` over its units
(0-1: the share of the force that can bring itself to bear there). Each target (an enemy
force where it is present, peacekeepers, a community) has a value; the attacker weighs value
by reach and by risk (a target much stronger than the attacker's local strength is avoided),
and spends a weekly budget proportional to its strength on the weighted targets:

    expected events at (target, cell) = budget x w(target, cell) / (half + sum of w)

so a force with few targets spends little of its budget, and one with many spends nearly all
of it, wherever its units stand. The event is logged at the target's cell: raids, ambushes
and IEDs happen where garrisons, convoys and communities are, not where the group camps.

Jihadist groups also spend a share of their budget (``far_strike_share``) on distant
high-value state targets: the same rule over a long reach (``far_strike_reach_km``), with a
target's value scaled by its audience, the population present in its cell (the capital first):
the Bamako attacks of 2015 (La Terrasse, Radisson Blu), the southern attacks of Ansar Dine's
Khalid ibn Walid katiba in 2015, Kati in 2022, Bamako in 2024. Source: Kydd & Walter (2006)
"The strategies of terrorism", *International Security* 31(1), on attacks staged for an
audience far from the group's base.

Sources: target selection by value and risk in insurgent violence, Berman, Shapiro & Felter
(2011) "Can hearts and minds be bought?", *Journal of Political Economy* 119(4), and
Lyall (2009) *Journal of Conflict Resolution* 53(3); raiding reach of Sahelian armed groups
along roads and rivers: Raleigh, Nsaibia & Dowd (2021) "The Sahel crisis since 2012",
*African Affairs* 120(478). Constants: the ``combat`` block and each actor's
``strike_reach_km``, ``aggression``.
"""

from __future__ import annotations

import numpy as np

from sahel_sim.model.mechanisms._compiled import njit, pairwise_sum


def reach(fighters_per_cell: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Share of a force that can strike each cell (0-1): fighter-weighted kernel over its
    occupied cells, divided by its strength."""
    occupied = np.flatnonzero(fighters_per_cell)
    total = fighters_per_cell[occupied].sum()
    if total <= 0:
        return np.zeros(kernel.shape[1])
    return (fighters_per_cell[occupied] / total) @ kernel[occupied]


def risk_factor(target_presence: np.ndarray, own_presence: np.ndarray, aversion: float) -> np.ndarray:
    """``exp(-aversion x T / (T + O + 1))``: targets stronger than the attacker's local strength
    are attacked less (1 for a lone target, ``exp(-aversion)`` for an overwhelming one)."""
    return np.exp(-aversion * target_presence / (target_presence + own_presence + 1.0))


def audience_value(population: np.ndarray, power: float) -> np.ndarray:
    """Value of a distant target by its audience: ``(population / max population) ** power``
    (1 in the most populous cell, the capital)."""
    top = float(population.max()) if population.size else 0.0
    if top <= 0:
        return np.zeros_like(population, dtype=np.float64)
    return (np.clip(population, 0.0, None) / top) ** power


def far_expected(budget_share: np.ndarray, weights: np.ndarray, owner: np.ndarray, n_owners: int) -> np.ndarray:
    """Expected distant strikes per (pair, cell): each attacker's far budget (``budget_share``,
    one per pair, the same for all pairs of an attacker) spread in proportion to its pairs'
    weights. Unlike local strikes the far budget is spent whole whenever any distant target
    is within reach: a group that decides on a spectacular picks the best target it can reach."""
    total = np.bincount(owner, weights=weights.sum(axis=1), minlength=n_owners)
    denom = total[owner]
    share = np.divide(budget_share, denom, out=np.zeros_like(budget_share, dtype=np.float64), where=denom > 0)
    return weights * share[:, None]


def allocate(budget: float, weights: np.ndarray, half: float) -> np.ndarray:
    """Expected events per (target, cell): ``budget x w / (half + sum w)``."""
    total = float(weights.sum())
    if budget <= 0 or total <= 0:
        return np.zeros_like(weights)
    return budget * weights / (half + total)


def draw_events(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent Poisson counts for every (channel, cell) of ``expected`` (C, n), returned as
    one (channel, cell) pair per event, ordered by channel. Drawn as a Poisson total per channel
    split over cells in proportion to the rates (the same distribution, by the splitting property
    of the Poisson process, at a fraction of the cost when most cells are quiet)."""
    if expected.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    counts = rng.poisson(row_totals(expected))
    k = int(counts.sum())
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return place_events(expected, counts, rng.random(k))


def draw_events_numpy(rng: np.random.Generator, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`draw_events` in numpy (the formulation its compiled parts are tested against)."""
    if expected.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    totals = expected.sum(axis=1)
    counts = rng.poisson(totals)
    hit = np.flatnonzero(counts)
    if hit.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n = expected.shape[1]
    cum = np.cumsum(expected[hit], axis=1)
    cum /= cum[:, -1:]
    cum += np.arange(hit.size)[:, None]  # rows laid end to end: one sorted array
    ch = np.repeat(hit, counts[hit])
    row = np.repeat(np.arange(hit.size), counts[hit])
    flat = np.searchsorted(cum.ravel(), row + rng.random(ch.size), side="right")
    cells = np.clip(flat - row * n, 0, n - 1)
    return ch.astype(np.int64), cells.astype(np.int64)


@njit
def row_totals(expected):  # pragma: no cover - compiled
    """``expected.sum(axis=1)`` in numpy's order, compiled (``_compiled.py``)."""
    C, n = expected.shape
    out = np.empty(C)
    for c in range(C):
        out[c] = pairwise_sum(expected[c], 0, n)
    return out


@njit
def place_events(expected, counts, u):  # pragma: no cover - compiled
    """The cells of ``counts[c]`` events of each channel c, drawn with probability proportional
    to ``expected[c]`` by the uniforms ``u`` (one per event, in channel order), compiled
    (``_compiled.py``): returns ``(channel, cell)`` per event. The channels' cumulative rates
    are laid end to end, as :func:`draw_events_numpy` does, and searched in one sorted array."""
    C, n = expected.shape
    n_hit = 0
    for c in range(C):
        if counts[c] > 0:
            n_hit += 1
    cum = np.empty(n_hit * n)
    ch = np.empty(u.size, dtype=np.int64)
    row = np.empty(u.size, dtype=np.int64)
    h = 0
    e = 0
    for c in range(C):
        if counts[c] <= 0:
            continue
        acc = 0.0
        base = h * n
        for j in range(n):
            acc += expected[c, j]
            cum[base + j] = acc
        for j in range(n):
            cum[base + j] = cum[base + j] / acc + h
        for _ in range(counts[c]):
            ch[e] = c
            row[e] = h
            e += 1
        h += 1
    cells = np.empty(u.size, dtype=np.int64)
    for k in range(u.size):
        flat = np.searchsorted(cum, row[k] + u[k], side="right")
        cells[k] = min(max(flat - row[k] * n, 0), n - 1)
    return ch, cells


@njit
def attack_rates(P, R, aa, bb, pair_scale, pair_deterred, deter, budget, target_half, risk_aversion,
                 opportunity_half, rows, row_share):  # pragma: no cover - compiled
    """Expected attacks per (channel, cell) by attacker ``aa[c]`` on target ``bb[c]``, compiled
    (``_compiled.py``): for each pair the weight ``reach x saturating(target presence) x
    risk_factor x pair_scale`` (x ``deter`` where ``pair_deterred``), the attacker's budget
    spread by :func:`allocate` over all its pairs, then split into channels: channel ``r`` is
    pair ``rows[r]`` with share ``row_share[r]`` of it."""
    C = aa.size
    n = P.shape[1]
    w = np.empty((C, n))
    total = np.zeros(budget.size)
    for c in range(C):
        a, b = aa[c], bb[c]
        for j in range(n):
            pb = P[b, j]
            x = R[a, j] * (pb / (pb + target_half)) * np.exp(-risk_aversion * pb / (pb + P[a, j] + 1.0))
            x = x * pair_scale[c]
            if pair_deterred[c]:
                x = x * deter[j]
            w[c, j] = x
        total[a] += pairwise_sum(w[c], 0, n)
    out = np.empty((rows.size, n))
    for r in range(rows.size):
        c = rows[r]
        a = aa[c]
        k = budget[a] / (opportunity_half + total[a])
        for j in range(n):
            out[r, j] = w[c, j] * k * row_share[r]
    return out


@njit
def civilian_rates(R, attackers, budgets, targets, intensity, half):  # pragma: no cover - compiled
    """:func:`allocate` of each attacker's budget over ``reach x targets x intensity`` (one row
    of ``intensity`` per attacker), compiled (``_compiled.py``)."""
    k = attackers.size
    n = targets.size
    out = np.empty((k, n))
    for r in range(k):
        a = attackers[r]
        for j in range(n):
            out[r, j] = R[a, j] * targets[j] * intensity[r, j]
        total = pairwise_sum(out[r], 0, n)
        if budgets[r] <= 0 or total <= 0:
            out[r] = 0.0
        else:
            for j in range(n):
                out[r, j] = budgets[r] * out[r, j] / (half + total)
    return out


@njit
def hostile_channels(hostility, active, budget, P, R, is_armed, is_pk, rival_pair, peacekeeper_weight, rivalry_weight,
                     deter, target_half, risk_aversion, opportunity_half, n_split, split_kind,
                     split_share):  # pragma: no cover - compiled
    """Every attacker's channels against its enemies this week, compiled (``_compiled.py``):
    ``(table, rates)``, ``table`` (C, 3) rows of (attacker, target, kind) and ``rates`` (C, n)
    from :func:`attack_rates`. An attacker (``active``, with a budget) attacks each enemy
    present anywhere (``hostility``, in actor order); armed groups weigh peacekeepers by
    ``peacekeeper_weight`` and their rivals by ``rivalry_weight`` and are deterred by
    peacekeepers (``deter``) except from attacking them; the attack on pair (a, b) splits into
    ``n_split[a, b]`` kinds ``split_kind[a, b, :]`` with shares ``split_share[a, b, :]``."""
    A = hostility.shape[0]
    present = np.zeros(A, dtype=np.bool_)
    for b in range(A):
        for j in range(P.shape[1]):
            if P[b, j] != 0:
                present[b] = True
                break
    C = 0
    for a in range(A):
        if active[a] and budget[a] > 0:
            for b in range(A):
                if hostility[a, b] and present[b]:
                    C += 1
    aa = np.empty(C, dtype=np.int64)
    bb = np.empty(C, dtype=np.int64)
    scale = np.empty(C)
    deterred = np.empty(C, dtype=np.bool_)
    n_rows = 0
    c = 0
    for a in range(A):
        if not (active[a] and budget[a] > 0):
            continue
        for b in range(A):
            if hostility[a, b] and present[b]:
                aa[c], bb[c] = a, b
                s1 = peacekeeper_weight if is_armed[a] and is_pk[b] else 1.0
                s2 = rivalry_weight if is_armed[a] and rival_pair[a, b] else 1.0
                scale[c] = s1 * s2
                deterred[c] = is_armed[a] and not is_pk[b]
                n_rows += n_split[a, b]
                c += 1
    rows = np.empty(n_rows, dtype=np.int64)
    share = np.empty(n_rows)
    table = np.empty((n_rows, 3), dtype=np.int64)
    r = 0
    for c in range(C):
        a, b = aa[c], bb[c]
        for slot in range(n_split[a, b]):
            rows[r] = c
            share[r] = split_share[a, b, slot]
            table[r, 0], table[r, 1], table[r, 2] = a, b, split_kind[a, b, slot]
            r += 1
    return table, attack_rates(P, R, aa, bb, scale, deterred, deter, budget, target_half, risk_aversion,
                               opportunity_half, rows, share)


@njit
def add_far_rates(table, attack, is_jihadist, is_gov, R_far, audience, P, far_budget, target_half, risk_aversion,
                  split_share):  # pragma: no cover - compiled
    """Add the distant strikes (:func:`far_expected`) to the expected attacks ``attack`` (C, n)
    of :func:`hostile_channels`'s ``table`` in place, compiled (``_compiled.py``): for each
    (jihadist attacker a, state-side target b) pair the weight ``R_far[a] x audience x
    saturating(P[b]) x risk_factor(P[b], P[a])``; each attacker's ``far_budget`` spread over
    its pairs' weights; each pair's strikes split over its rows by ``split_share[a, b, slot]``.
    The table's rows are in (attacker, target) order with the rows of a pair consecutive."""
    C, n = attack.shape
    A = far_budget.size
    pair_of_row = np.full(C, -1, dtype=np.int64)
    slot = np.zeros(C, dtype=np.int64)
    pa = np.empty(C, dtype=np.int64)
    pb = np.empty(C, dtype=np.int64)
    n_pairs = 0
    for r in range(C):
        a, b = table[r, 0], table[r, 1]
        if r > 0 and table[r - 1, 0] == a and table[r - 1, 1] == b:
            slot[r] = slot[r - 1] + 1
        if not (is_jihadist[a] and is_gov[b]):
            continue
        if n_pairs > 0 and pa[n_pairs - 1] == a and pb[n_pairs - 1] == b:
            pair_of_row[r] = n_pairs - 1
        else:
            pa[n_pairs], pb[n_pairs] = a, b
            pair_of_row[r] = n_pairs
            n_pairs += 1
    if n_pairs == 0:
        return
    w = np.empty((n_pairs, n))
    total = np.zeros(A)
    for p in range(n_pairs):
        a, b = pa[p], pb[p]
        for j in range(n):
            pt = P[b, j]
            w[p, j] = R_far[a, j] * audience[j] * (pt / (pt + target_half)) \
                * np.exp(-risk_aversion * pt / (pt + P[a, j] + 1.0))
        total[a] += pairwise_sum(w[p], 0, n)
    for p in range(n_pairs):
        denom = total[pa[p]]
        share = far_budget[pa[p]] / denom if denom > 0 else 0.0
        for j in range(n):
            w[p, j] = w[p, j] * share
    for r in range(C):
        p = pair_of_row[r]
        if p < 0:
            continue
        s = split_share[table[r, 0], table[r, 1], slot[r]]
        for j in range(n):
            attack[r, j] += w[p, j] * s
