"""The compiled (numba) kernels of the weekly step against the numpy formulations they replace.

Each compiled kernel fuses a stage that the model ran as dozens of small numpy calls; it adds,
multiplies and divides in the numpy formulation's order (sums in numpy's pairwise order,
``_compiled.pairwise_sum``), so the two agree exactly. Kernels that take exponentials,
logarithms, powers or BLAS products call the C library and OpenBLAS, as numpy does on the
machines this project runs on; on a CPU where numpy uses its own SIMD versions of those
functions they may differ in the last bit, so those comparisons allow 1e-12 relative error and
the others none.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from sahel_sim.model.mechanisms import (
    civilians,
    combat,
    displacement,
    expansion,
    grievance,
    movement,
    recruitment,
    strikes,
    territory,
)
from sahel_sim.model.mechanisms._compiled import pairwise_sum


def exact(a, b) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def close(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=0.0)


def grid_world(rng: np.random.Generator, rows: int = 5, cols: int = 6):
    """A rows x cols grid: distances (km), queen adjacency (CSR) and degree."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    dist = np.hypot(r[:, None] - r[None, :], c[:, None] - c[None, :]) * 55.0
    adj = sparse.csr_matrix(((np.abs(r[:, None] - r[None, :]) <= 1) & (np.abs(c[:, None] - c[None, :]) <= 1)
                             & (dist > 0)).astype(float))
    return dist, adj, np.asarray(adj.sum(axis=1)).ravel()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


def test_pairwise_sum_adds_in_numpys_order(rng) -> None:
    for n in [*range(0, 300), 421, 1000, 4099]:
        a = rng.standard_normal(n + 5) * 10.0 ** rng.integers(-6, 6, n + 5)
        assert pairwise_sum(a, 3, n) == a[3:3 + n].sum()
        b = a[: n * 0 + n].reshape(1, n) if n else np.zeros((1, 0))
        assert pairwise_sum(np.ascontiguousarray(b[0]), 0, n) == b.sum(axis=1)[0]


def test_step_influence_is_update_influence_then_control(rng) -> None:
    _, adj, deg = grid_world(rng)
    n, F = adj.shape[0], 4
    for _ in range(20):
        influence = territory.bounded_shares(rng.random((F, n)) * rng.random(n))
        pressure = rng.random((F, n)) * (rng.random((F, n)) > 0.3) * 50
        incumbent = rng.integers(-1, F, n).astype(np.int8)
        ref = territory.update_influence(influence, pressure, adjacency=adj, degree=deg, baseline=3.0, rate=0.2,
                                         spread_weight=0.5)
        ctrl = territory.control_from_influence(ref, 0.5, incumbent, 0.1)
        got, got_ctrl = territory.step_influence(influence, pressure, adj.indptr, adj.indices, adj.data, deg, 3.0, 0.2,
                                                 0.5, 0.5, incumbent, 0.1)
        exact(got, ref)
        exact(got_ctrl, ctrl)


def test_step_society_is_update_grievance_then_update_support(rng) -> None:
    _, adj, deg = grid_world(rng)
    n, A, F = adj.shape[0], 6, 3
    actor_faction = np.array([0, 1, -1, 2, 1, 0])
    harms = np.array([True, False, True, False, False, True])
    armed = np.array([False, True, True])
    for _ in range(10):
        g0, s0 = rng.random(n), territory.bounded_shares(rng.random((F, n)) * 0.5)
        influence, pressure = rng.random((F, n)) * 0.4, rng.random((F, n)) * 30
        civ = rng.poisson(0.3, (A, n)).astype(float)
        pop = rng.random(n) * 1e5
        g_ref = grievance.update_grievance(g0, civ[harms].sum(axis=0), pop, adjacency=adj, degree=deg, sensitivity=0.8,
                                           spillover=0.3, decay=0.02, baseline=0.25)
        own = np.zeros((F, n))
        for a in range(A):
            if actor_faction[a] >= 0:
                own[actor_faction[a]] += civ[a]
        share = territory.pressure_share(pressure, 2.0)
        armed_infl = np.where(armed[:, None], np.maximum(influence, share), 0.0)
        s_ref = grievance.update_support(s0, grievance=g_ref, influence=armed_infl, own_harm=own, population=pop,
                                         rate=0.1, harm_sensitivity=0.5)
        g, s = grievance.step_society(g0, s0, influence, pressure, civ, harms, actor_faction, armed, pop, adj.indptr,
                                      adj.indices, adj.data, deg, 0.8, 0.3, 0.02, 0.25, 2.0, 0.1, 0.5)
        close(g, g_ref)
        close(s, s_ref)


def refuge_week_reference(settled, transit, displaced_from, reroute, population, pop_home, fleeing, threat,
                          violence_recent, cell_group, node_cell, is_camp, destination, abroad, factors, mix, distance,
                          weeks, blocked, p):
    """``Refuge.step`` as the numpy formulation (mechanisms/displacement.py), in place."""
    G, N = settled.shape
    k = displacement
    pop_node = np.zeros(N)
    pop_node[:G] = np.bincount(cell_group, weights=population, minlength=G)
    danger = np.zeros(N)
    danger[:G] = 1.0 - np.exp(-threat[node_cell] / p["danger"])
    weight = k.attractiveness(is_camp, destination, pop_node, danger, camp_weight=p["camp"],
                              conflict_weight=p["conflict"], population_power=p["power"])
    groups = np.arange(G)
    res = np.bincount(cell_group, weights=pop_home + fleeing, minlength=G)
    fled = np.bincount(cell_group, weights=fleeing, minlength=G)
    rate = np.minimum(1.0, p["onward"] * np.divide(fled, res, out=np.zeros(G), where=res > 0))
    onward = settled[:, :G] * rate[None, :]
    settled[:, :G] -= onward
    displaced_from += fleeing
    leaving = fled + onward.sum(axis=1) + reroute
    shares = k.choose_mixed(distance, weight, factors, mix, groups, softening_km=p["soft"], distance_power=p["dpow"])
    stay = np.maximum(1.0 - shares.sum(axis=1), 0.0)  # groups with nowhere to go stay near home
    stay[stay < 1e-12] = 0.0
    settled[groups, groups] += leaving * stay
    k.depart(transit, groups, leaving, shares, weeks)
    k.arrive_unless_blocked(transit, settled, blocked)
    calm = k.calm(violence_recent, calm_events_per_week=p["calm"])
    home, take = k.returns(displaced_from, cell_group, settled, transit.sum(axis=(0, 2)), calm, abroad,
                           rate=p["ret"], refugee_factor=p["rf"])
    settled -= take
    displaced_from -= home
    return home


def test_refuge_week_and_views_match_the_numpy_formulation(rng) -> None:
    n, G, N, W = 40, 12, 17, 3
    cell_group = np.sort(rng.integers(0, G, n))
    cell_group[:G] = np.arange(G)
    node_cell = np.array([np.flatnonzero(cell_group == g)[0] for g in range(G)])
    is_camp = np.arange(N) >= G + 2
    abroad = np.arange(N) >= G
    destination = rng.random(N) > 0.1
    distance = rng.random((G, N)) * 900 + 20
    distance[rng.random((G, N)) < 0.1] = np.inf
    distance[3] = np.inf  # a catchment with nowhere to go
    factors = displacement.kin_factors(abroad, (rng.random((2, N)) > 0.5).astype(float), foreign_weight=0.6,
                                       kin_weight=20.0)
    mix = displacement.kin_mix(rng.random((G, 2)) * 0.6)
    blocked = rng.random((G, N)) < 0.2
    p = {"danger": 2.0, "camp": 3.0, "conflict": 0.3, "power": 0.7, "onward": 0.4, "soft": 10.0, "dpow": 1.2,
         "calm": 1.5, "ret": 0.05, "rf": 0.3}
    weeks = displacement.travel_weeks(distance, km_per_day=40.0, max_weeks=W)
    friction = displacement.route_friction(distance, softening_km=p["soft"], distance_power=p["dpow"])
    state = [rng.random((G, N)) * 100, rng.random((W, G, N)) * 10, rng.random(n) * 500]
    ref_state = [x.copy() for x in state]
    for _ in range(5):
        population, pop_home = rng.random(n) * 1e4, rng.random(n) * 1e4
        fleeing, threat, violence = rng.random(n) * 50, rng.random(n) * 3, rng.random(n) * 2
        reroute = rng.random(G) * 5
        home = displacement.refuge_week(*state, reroute, population, pop_home, fleeing, threat, violence, cell_group,
                                        node_cell, is_camp, destination, abroad, factors, mix, friction, weeks, blocked, p["danger"],
                                        p["camp"], p["conflict"], p["power"], p["onward"], p["calm"], p["ret"], p["rf"])
        ref_home = refuge_week_reference(*ref_state, reroute, population, pop_home, fleeing, threat, violence,
                                         cell_group, node_cell, is_camp, destination, abroad, factors, mix, distance, weeks, blocked, p)
        close(home, ref_home)
        for a, b in zip(state, ref_state, strict=True):
            close(a, b)
    settled, transit, displaced_from = ref_state
    country = rng.integers(0, 3, N - G)
    views = displacement.refuge_views(settled, transit, displaced_from, node_cell, cell_group, country, 3)
    on_road = transit.sum(axis=(0, 2))
    idp_host = np.bincount(node_cell, weights=settled[:, :G].sum(axis=0) + on_road, minlength=n)
    total = settled.sum(axis=1) + on_road
    ref_share = np.divide(settled[:, G:].sum(axis=1), total, out=np.zeros(G), where=total > 0)
    ref_origin = displaced_from * ref_share[cell_group]
    ref_loc = settled[:, G:].sum(axis=0)
    for got, want in zip(views, (idp_host, displaced_from - ref_origin, ref_origin,
                                 np.bincount(country, weights=ref_loc, minlength=3), ref_loc), strict=True):
        exact(got, want)


def test_flight_week_matches_collapse_rise_and_flight(rng) -> None:
    n, A = 30, 5
    is_armed = np.array([False, True, True, False, True])
    reference = rng.random(n) * 0.5
    for _ in range(5):
        P, vacuum = rng.random((A, n)) * 40, rng.random(n)
        pop, events, deaths = rng.random(n) * 1e4, rng.poisson(1.0, n) * 1.0, rng.poisson(2.0, n) * 1.0
        takeover, threat = rng.random(n) > 0.9, rng.random(n) * 3
        rise, new_ref = displacement.collapse_rise(vacuum, P[is_armed].sum(axis=0), reference, half=20.0,
                                                   memory_weeks=26.0)
        ref = displacement.flight(pop, events, deaths, per_event=30.0, per_death=10.0, max_share=0.2,
                                  takeover=takeover, takeover_share=0.05, threat=threat, share_per_threat=0.01,
                                  collapse=rise, share_on_collapse=0.3)
        got, got_ref = displacement.flight_week(pop, events, deaths, takeover, threat, vacuum, P, is_armed, reference,
                                                20.0, 26.0, 30.0, 10.0, 0.2, 0.05, 0.01, 0.3)
        close(got, ref)
        exact(got_ref, new_ref)
        reference = new_ref


def test_attack_and_civilian_rates_match_the_numpy_formulation(rng) -> None:
    A, n = 6, 35
    P, R, deter = rng.random((A, n)) * 50, rng.random((A, n)), rng.random(n)
    aa = np.array([0, 0, 1, 2, 4, 4, 5])
    bb = np.array([2, 4, 3, 0, 0, 1, 2])
    scale, deterred = rng.random(aa.size) + 0.5, rng.random(aa.size) > 0.5
    budget = rng.random(A) * 3
    rows = np.repeat(np.arange(aa.size), [1, 2, 1, 1, 2, 1, 1])
    share = rng.random(rows.size)
    w = R[aa] * territory.saturating(P[bb], 5.0) * strikes.risk_factor(P[bb], P[aa], 1.5)
    w = w * scale[:, None] * np.where(deterred[:, None], deter[None, :], 1.0)
    total = np.bincount(aa, weights=w.sum(axis=1), minlength=A)
    want = (w * (budget[aa] / (2.0 + total[aa]))[:, None])[rows] * share[:, None]
    close(strikes.attack_rates(P, R, aa, bb, scale, deterred, deter, budget, 5.0, 1.5, 2.0, rows, share), want)

    attackers = np.array([1, 3, 5])
    budgets = np.array([2.0, 0.0, 1.5])
    targets, intensity = rng.random(n), rng.random((3, n))
    want = np.stack([strikes.allocate(float(b), R[a] * targets * intensity[j], 2.0)
                     for j, (a, b) in enumerate(zip(attackers, budgets, strict=True))])
    exact(strikes.civilian_rates(R, attackers, budgets, targets, intensity, 2.0), want)

    influence = rng.random((4, n)) * 0.5
    influence[:, :3] = 0.0
    influence[0, 3] = 1.0
    want = civilians.selective_violence(civilians.control_share(influence[[0, 2]].sum(axis=0),
                                                                influence[[1]].sum(axis=0)), 0.75, 3.0)
    close(civilians.selective_curve(influence, np.array([0, 2]), np.array([1]), 0.75, 3.0), want)


def test_reached_pool_and_expansion_match_the_numpy_formulation(rng) -> None:
    dist, adj, _ = grid_world(rng)
    n = dist.shape[0]
    kernel = territory.distance_kernel(dist, 80.0)
    pop, fp, griev, sup, vac = rng.random(n) * 1e5, rng.random(n), rng.random(n), rng.random(n) * 0.3, rng.random(n)
    occupied = np.array([2, 7, 19])
    exposure = kernel[occupied].max(axis=0)
    symp = recruitment.sympathisers(pop, fp, griev, sup, vac, absence_weight=0.4)
    weights, reached, got_exposure = recruitment.reached_pool(pop, fp, griev, sup, vac, 0.4, kernel, occupied, fp, False)
    exact(weights, symp * exposure)
    assert reached == float((symp * exposure).sum())
    exact(got_exposure, exposure)
    floor = np.maximum(exposure, fp)
    weights, _, got_exposure = recruitment.reached_pool(pop, fp, griev, np.ones(n), vac, 0.4, kernel, occupied, fp, True)
    exact(weights, recruitment.sympathisers(pop, fp, griev, np.ones(n), vac, absence_weight=0.4) * floor)
    exact(got_exposure, floor)
    weights, reached, got_exposure = recruitment.reached_pool(pop, fp, griev, sup, vac, 0.4, kernel,
                                                              np.zeros(0, dtype=np.int64), fp, False)
    assert reached == 0.0 and not got_exposure.any()

    cond = expansion.conductance(adj, rng.random(n) > 0.5, 0.2)
    for saturation in (0.5, 0.9, 1.3):
        exact(expansion.expand_compiled(fp, saturation, conductance=cond, threshold=0.8, rate=0.1),
              expansion.expand(fp, saturation, conductance=cond, threshold=0.8, rate=0.1))


def test_relocate_is_the_logit_choice_over_the_candidate_table(rng) -> None:
    dist, _, _ = grid_world(rng)
    n = dist.shape[0]
    within = dist <= 130.0
    width = int(within.sum(axis=1).max())
    order = np.argsort(dist, axis=1, kind="stable")[:, :width]
    table = np.where(np.take_along_axis(within, order, axis=1), order, -1)
    unit_cell, unit_home = rng.integers(0, n, 12), rng.integers(0, n, 12)
    moving = np.array([0, 3, 4, 9, 11])
    footprint, security, support = rng.random(n), rng.random(n), rng.random(n) * 0.2
    base = np.log(footprint + 1e-3) - 1.5 * security + support
    cand = table[unit_cell[moving]]
    safe = np.where(cand >= 0, cand, 0)
    units_in_cell = np.bincount(unit_cell, minlength=n)
    others = units_in_cell[safe] - (safe == unit_cell[moving][:, None])
    gumbel = np.random.default_rng(5).gumbel(0.0, 0.7, size=cand.shape)
    for crowding in (0.0, 1.0, 2.5):
        score = base[safe] - crowding * np.log(1.0 + others) - 0.8 * dist[unit_home[moving][:, None], safe] / 100.0
        want = movement.choose(np.random.default_rng(5), cand, score, noise=0.7)
        got = movement.relocate(table, unit_cell, unit_home, moving, footprint, security, support, 1.5, 0.8, dist,
                                gumbel, units_in_cell, crowding)
        exact(got, want)


def test_engagements_and_tallies_match_the_numpy_formulation(rng) -> None:
    A, n, k = 5, 20, 40
    REMOTE, STRIKE, PK, VAC = 1, 2, 3, 4
    att, cells = rng.integers(0, A, k), rng.integers(0, n, k)
    kind = rng.integers(0, 5, k)
    tgt = np.where(kind == VAC, -1, rng.integers(0, A, k))
    unit_size, strength = rng.random(A) * 100 + 20, rng.random(A) * 500
    S, P, leth = rng.random((A, n)) * 80, rng.random((A, n)) * 100, rng.random(A) + 0.5
    is_merc = np.array([False, False, True, False, False])
    got = combat.engagement_means(att, tgt, kind, cells, unit_size, strength, S, P, leth, is_merc, 0.3, 0.02, 0.5,
                                  0.7, 0.9, 1.2, 2.0, REMOTE, STRIKE, PK)
    t = np.where(tgt >= 0, tgt, 0)
    e_att = np.minimum(unit_size[att], strength[att])
    e_def = np.maximum(S[t, cells], 0.3 * P[t, cells])
    mean_att, mean_def = combat.attrition_means(e_att, e_def, coefficient=0.02, lethality_att=leth[att],
                                                lethality_def=leth[t])
    mean_att = np.where((kind == REMOTE) | (kind == STRIKE) | (kind == PK), 0.0, mean_att)
    mean_def = np.where(kind == REMOTE, 0.5 * mean_def, mean_def)
    mean_def = np.where(kind == PK, 0.7 * mean_def, mean_def)
    mean_def = np.where(kind == STRIKE, 0.9 * mean_def, mean_def)
    for a, b in zip(got, (e_att, e_def, mean_att, mean_def, 1.2 * np.where(is_merc[att], 2.0, 1.0)), strict=True):
        close(a, b)

    l_att, l_def = rng.integers(0, 5, k) * 1.0, rng.integers(0, 5, k) * 1.0
    civ = rng.integers(0, 3, k)
    is_jih, is_armed = np.array([0, 0, 0, 1, 1], bool), np.array([0, 0, 0, 1, 1], bool)
    ra, rb = np.array([0, 0, 0, 1, 0], bool), np.array([0, 0, 0, 0, 1], bool)
    got = combat.week_tallies(att, tgt, cells, l_att, l_def, civ, A, n, is_jih, is_armed, ra, rb)
    ok = tgt >= 0
    flat = att * n + cells
    losses = (np.bincount(flat, weights=l_att, minlength=A * n)
              + np.bincount(t * n + cells, weights=np.where(ok, l_def, 0.0), minlength=A * n)).reshape(A, n)
    rival = np.zeros(n, dtype=bool)
    rival[cells[ok & ((ra[att] & rb[t]) | (rb[att] & ra[t]))]] = True
    want = (losses, np.bincount(cells, weights=civ, minlength=n),
            np.bincount(flat, weights=civ, minlength=A * n).reshape(A, n), np.bincount(cells, minlength=n),
            np.bincount(cells, weights=is_jih[att] | (ok & is_jih[t]), minlength=n),
            np.bincount(cells, weights=is_armed[att], minlength=n), rival,
            np.bincount(flat, minlength=A * n).reshape(A, n))
    for a, b in zip(got, want, strict=True):
        exact(a, b)


def test_presence_fields_match_per_actor_products(rng) -> None:
    dist, _, _ = grid_world(rng)
    n, A = dist.shape[0], 4
    kernels = np.stack([territory.distance_kernel(dist, r) for r in (40.0, 90.0, 150.0)])
    k_presence, k_strike = np.array([0, 1, 1, 2]), np.array([1, 2, 0, 2])
    units = [rng.integers(0, n, m) for m in (5, 0, 9, 3)]
    fighters = [rng.random(u.size) * 100 + 5 for u in units]
    is_gov, is_pk = np.array([True, False, False, True]), np.array([False, False, False, True])
    got = territory.presence_fields(np.concatenate(units), np.concatenate(fighters),
                                    np.repeat(np.arange(A), [u.size for u in units]), A, kernels, k_presence, k_strike,
                                    ~is_pk)
    S, P, R = np.zeros((A, n)), np.zeros((A, n)), np.zeros((A, n))
    for a in range(A):
        S[a] = territory.fighters_per_cell(units[a], fighters[a], n)
        if units[a].size:
            P[a] = territory.presence(S[a], kernels[k_presence[a]])
            if not is_pk[a]:
                R[a] = strikes.reach(S[a], kernels[k_strike[a]])
    for a, b in zip(got, (S, P, R), strict=True):
        close(a, b)
    no_constraint = np.zeros((A, A), bool), np.ones((A, n)), np.zeros(A, bool)  # no siege, no area of operations
    sec = territory.constrain_fields(S, P.copy(), R.copy(), no_constraint[0], kernels, k_presence, 2.0, is_gov, is_pk,
                                     no_constraint[1], no_constraint[2], 300.0, 100.0, 0.5, np.zeros(A, bool), kernels[0])
    want = territory.security(P[is_gov].sum(axis=0), P[is_pk].sum(axis=0), half_strength=300.0, pk_half=100.0,
                              pk_weight=0.5)
    for a, b in zip(sec[:3], want, strict=True):
        close(a, b)


def test_sampling_choice_draws_what_generator_choice_draws() -> None:
    from sahel_sim.model.sampling import choice

    for seed in range(300):
        g = np.random.default_rng(seed)
        m = int(g.integers(1, 40))
        items, w = g.integers(0, 400, m), g.random(m) ** 3
        w[g.random(m) < 0.2] = 0.0
        p = w / w.sum() if w.sum() > 0 else None
        size = int(g.integers(1, 20))
        a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
        exact(choice(a, items, size, p), b.choice(items, size=size, p=p))
        assert a.random() == b.random()  # the same state afterwards


def test_hostile_channels_match_the_numpy_formulation(rng) -> None:
    A, n = 6, 25
    hostility = rng.random((A, A)) > 0.4
    np.fill_diagonal(hostility, False)
    P, R, deter = rng.random((A, n)) * 40, rng.random((A, n)), rng.random(n)
    P[5] = 0.0  # an actor with nobody on the ground is no target
    active, budget = rng.random(A) > 0.2, rng.random(A) * 3 * (rng.random(A) > 0.2)
    is_armed, is_pk = np.array([0, 1, 1, 0, 1, 0], bool), np.array([0, 0, 0, 1, 0, 0], bool)
    rival_pair = np.zeros((A, A), bool)
    rival_pair[1, 4] = rival_pair[4, 1] = True
    n_split = rng.integers(1, 3, (A, A))
    split_kind = rng.integers(0, 5, (A, A, 2))
    split_share = rng.random((A, A, 2))
    table, rates = strikes.hostile_channels(hostility, active, budget, P, R, is_armed, is_pk, rival_pair, 0.6, 1.7,
                                            deter, 5.0, 1.5, 2.0, n_split, split_kind, split_share)
    H = hostility & active[:, None] & P.any(axis=1)[None, :] & (budget > 0)[:, None]
    aa, bb = np.nonzero(H)
    armed_a = is_armed[aa]
    scale = np.where(armed_a & is_pk[bb], 0.6, 1.0) * np.where(armed_a & rival_pair[aa, bb], 1.7, 1.0)
    ns = n_split[aa, bb]
    rows = np.repeat(np.arange(aa.size), ns)
    slot = np.arange(rows.size) - np.repeat(np.cumsum(ns) - ns, ns)
    ar, br = aa[rows], bb[rows]
    exact(table, np.stack([ar, br, split_kind[ar, br, slot]], axis=1))
    exact(rates, strikes.attack_rates(P, R, aa, bb, scale, armed_a & ~is_pk[bb], deter, budget, 5.0, 1.5, 2.0, rows,
                                      split_share[ar, br, slot]))


def test_regional_week_matches_bincounts(rng) -> None:
    from sahel_sim.model.recorder import regional_week

    n, R, A, F, T = 30, 4, 3, 2, 5
    region = rng.integers(0, R, n)
    pop_home, idp_host, idp_origin, ref_origin = (rng.random(n) * 1e4 for _ in range(4))
    S, grievance = rng.random((A, n)) * 50, rng.random(n)
    control = rng.integers(-1, F, n).astype(np.int8)
    out = [np.zeros((T, R)) for _ in range(4)] + [np.zeros((T, R, A)), np.zeros((T, R, F + 1), np.int16),
                                                  np.zeros((T, R))]
    regional_week(region, 2, pop_home, idp_host, idp_origin, ref_origin, S, control, grievance, *out)
    w = pop_home + idp_host
    for got, x in zip(out[:4], (w, idp_host, idp_origin, ref_origin), strict=True):
        exact(got[2], np.bincount(region, weights=x, minlength=R))
    exact(out[4][2], np.stack([np.bincount(region, weights=S[a], minlength=R) for a in range(A)], axis=1))
    cells = np.zeros((R, F + 1), np.int16)
    np.add.at(cells, (region, np.where(control < 0, F, control)), 1)
    exact(out[5][2], cells)
    exact(out[6][2], np.bincount(region, weights=grievance * w, minlength=R)
          / np.maximum(np.bincount(region, weights=w, minlength=R), 1.0))
    assert not out[0][[0, 1, 3, 4]].any()  # only week 2 is written


def test_constrain_fields_is_siege_then_area_of_operations_then_security(rng) -> None:
    dist, _, _ = grid_world(rng)
    n, A = dist.shape[0], 5
    kernels = np.stack([territory.distance_kernel(dist, r) for r in (40.0, 90.0)])
    k_presence = np.array([0, 1, 1, 0, 1])
    S = np.where(rng.random((A, n)) < 0.3, rng.random((A, n)) * 100 + 5, 0.0)
    S[2] = 0.0  # a force with nobody on the ground
    P, R = rng.random((A, n)) * 50, rng.random((A, n))
    P[3, S[0] > 0] = 0.0  # actor 0's enemy 3 is absent where 0 stands: only 4 hems it in
    is_gov, is_pk = np.array([True, True, False, False, False]), np.array([False, True, False, False, False])
    hostile_armed = np.zeros((A, A), bool)
    hostile_armed[0, [3, 4]] = hostile_armed[1, [3, 4]] = True
    aoo = np.ones((A, n))
    aoo[0, : n // 2] = 0.0
    has_aoo = np.array([True, False, False, False, False])
    far = np.array([False, False, True, True, False])
    k_far = territory.distance_kernel(dist, 300.0)
    got_P, got_R = P.copy(), R.copy()
    got = territory.constrain_fields(S, got_P, got_R, hostile_armed, kernels, k_presence, 2.0, is_gov, is_pk, aoo,
                                     has_aoo, 300.0, 100.0, 0.5, far, k_far)
    want_P, want_R = P.copy(), R.copy()
    occ = np.flatnonzero(S[0])
    h = P[np.ix_([3, 4], occ)].sum(axis=0)
    want_P[0] = territory.besieged_presence(occ, S[0, occ], h, kernels[0], siege_weight=2.0)  # peacekeepers: no siege
    want_P[0] *= aoo[0].astype(bool)
    want_R[0] *= aoo[0].astype(bool)
    R_far = np.zeros((A, n))
    R_far[3] = strikes.reach(S[3], k_far)  # actor 2 holds no cell
    want = (*territory.security(want_P[is_gov].sum(axis=0), want_P[is_pk].sum(axis=0), half_strength=300.0,
                                pk_half=100.0, pk_weight=0.5), R_far)
    close(got_P, want_P)
    exact(got_R, want_R)
    for a, b in zip(got, want, strict=True):
        close(a, b)
    assert not np.array_equal(want_P[0], P[0])  # the siege and the area of operations changed something


def test_add_far_rates_matches_far_expected(rng) -> None:
    A, n = 5, 25
    hostility = np.ones((A, A), bool)
    np.fill_diagonal(hostility, False)
    P, R = rng.random((A, n)) * 40, rng.random((A, n))
    is_armed, is_pk = np.array([0, 0, 1, 1, 0], bool), np.array([0, 0, 0, 0, 1], bool)
    is_jih, is_gov = np.array([0, 0, 1, 1, 0], bool), np.array([1, 1, 0, 0, 1], bool)
    n_split = np.where(is_armed[:, None] & is_gov[None, :], 2, 1)
    split_kind = rng.integers(0, 5, (A, A, 2))
    split_share = rng.random((A, A, 2))
    budget = rng.random(A) * 3
    table, attack = strikes.hostile_channels(hostility, np.ones(A, bool), budget, P, R, is_armed, is_pk,
                                             np.zeros((A, A), bool), 0.6, 1.0, rng.random(n), 5.0, 1.5, 2.0, n_split,
                                             split_kind, split_share)
    R_far, audience = rng.random((A, n)), rng.random(n)
    got = attack.copy()
    strikes.add_far_rates(table, got, is_jih, is_gov, R_far, audience, P, 0.1 * budget, 5.0, 1.5, split_share)
    far_rows = np.flatnonzero(is_jih[table[:, 0]] & is_gov[table[:, 1]])
    keys, inverse = np.unique(table[far_rows, 0] * A + table[far_rows, 1], return_inverse=True)
    fa, fb = keys // A, keys % A
    wf = R_far[fa] * audience[None, :] * territory.saturating(P[fb], 5.0) * strikes.risk_factor(P[fb], P[fa], 1.5)
    far = strikes.far_expected(0.1 * budget[fa], wf, fa, A)
    new_pair = np.ones(len(table), bool)
    new_pair[1:] = (table[1:, 0] != table[:-1, 0]) | (table[1:, 1] != table[:-1, 1])
    slot = np.arange(len(table)) - np.maximum.accumulate(np.where(new_pair, np.arange(len(table)), 0))
    want = attack.copy()
    want[far_rows] += far[inverse.ravel()] * split_share[table[far_rows, 0], table[far_rows, 1], slot[far_rows]][:, None]
    assert far_rows.size and (slot[far_rows] == 1).any()  # pairs split over two rows
    close(got, want)


def test_draw_events_draws_what_the_numpy_formulation_draws() -> None:
    for seed in range(40):
        g = np.random.default_rng(seed)
        C, n = int(g.integers(1, 8)), int(g.integers(1, 300))
        expected = g.random((C, n)) ** 4 * (g.random((C, n)) < 0.3) * g.random(C)[:, None] * 20
        a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
        got, want = strikes.draw_events(a, expected), strikes.draw_events_numpy(b, expected)
        for x, y in zip(got, want, strict=True):
            exact(x, y)
        assert a.random() == b.random()  # the same draws were taken
    exact(strikes.row_totals(expected), expected.sum(axis=1))


def test_distribute_losses_is_unit_losses_actor_by_actor(rng) -> None:
    dist, _, _ = grid_world(rng)
    n, A = dist.shape[0], 4
    kernels = np.stack([territory.distance_kernel(dist, r) for r in (40.0, 90.0)])
    k_strike = np.array([0, 1, 1, 0])
    units = [rng.integers(0, n, m) for m in (6, 0, 11, 3)]
    fighters = [rng.random(u.size) * 100 + 5 for u in units]
    losses = np.where(rng.random((A, n)) < 0.2, rng.integers(1, 9, (A, n)), 0).astype(float)
    losses[3] = 0.0  # an actor with units and no losses
    got = combat.distribute_losses(losses, np.repeat(np.arange(A), [u.size for u in units]), np.concatenate(units),
                                   np.concatenate(fighters), kernels, k_strike)
    want = [combat.unit_losses(fighters[a], units[a], losses[a], kernels[k_strike[a]]) if units[a].size and losses[a].any()
            else np.zeros(units[a].size) for a in range(A)]
    close(got, np.concatenate(want))
    assert got[:6].sum() == pytest.approx(losses[0].sum())  # every loss is borne by somebody


def test_recruit_pools_are_each_recruiters_reached_pool(rng) -> None:
    dist, _, _ = grid_world(rng)
    n, A, F = dist.shape[0], 5, 2
    kernels = np.stack([territory.distance_kernel(dist, r) for r in (40.0, 90.0, 200.0)])
    k_exposure, k_alarm = np.array([0, 1, 1, 0, 1]), 2
    recruiters = np.array([1, 2, 4])
    is_militia = np.array([False, False, False, False, True])
    faction_of = np.array([0, 1, -1, 0, -1])
    pop, footprint, grievance = rng.random(n) * 1e4, rng.random((A, n)), rng.random(n)
    support, vacuum = rng.random((F, n)), rng.random(n)
    S = np.where(rng.random((A, n)) < 0.3, rng.random((A, n)) * 100 + 5, 0.0)
    recent = np.where(rng.random((A, n)) < 0.4, rng.random((A, n)), 0.0)
    base_enemies = np.zeros((A, A), bool)
    base_enemies[4, [1, 2]] = True
    got = recruitment.recruit_pools(recruiters, is_militia, faction_of, pop, footprint, grievance, support, vacuum, 0.7,
                                    S, kernels, k_exposure, recent, base_enemies, k_alarm)
    for r, a in enumerate(recruiters):
        occ = np.flatnonzero(S[a])
        if is_militia[a]:
            total = recent[[1, 2]].sum(axis=0)
            hit = np.flatnonzero(total > 1e-6)
            alarm = np.minimum(total[hit] @ kernels[k_alarm][hit], 1.0)
            want = recruitment.reached_pool(pop, footprint[a], alarm, np.ones(n), vacuum, 0.7, kernels[k_exposure[a]],
                                            occ, footprint[a], True)
        else:
            sup = support[faction_of[a]] if faction_of[a] >= 0 else np.zeros(n)
            want = recruitment.reached_pool(pop, footprint[a], grievance, sup, vacuum, 0.7, kernels[k_exposure[a]],
                                            occ, np.zeros(n), False)
        for x, y in zip((got[0][r], got[1][r], got[2][r]), want, strict=True):
            close(x, y)
    assert got[1].min() > 0


def test_civilian_channel_rates_match_the_curves_and_civilian_rates(rng) -> None:
    A, F, n = 6, 3, 40
    R, pop, pk_cover = rng.random((A, n)), rng.random(n) * 5e4, rng.random(n) * 0.5
    influence, support = rng.random((F, n)) / F, rng.random((F, n)) / F
    is_militia = np.array([0, 0, 0, 1, 0, 1], bool)
    is_jih = np.array([False, True, True])
    roles = np.zeros((A, F), np.int8)
    roles[0] = (1, 2, 2)  # the state against the two jihadist factions
    roles[1] = (2, 1, 0)
    roles[2] = (2, 0, 1)
    roles[4] = (1, 2, 2)  # a foreign force on the state's side: the state's curve
    attackers = np.array([0, 1, 2, 3, 4, 5])
    budgets = rng.random(A) * 3
    budgets[2] = 0.0
    got = civilians.civilian_channel_rates(R, attackers, budgets, pop, pk_cover, 0.6, 2e4, 2.0, is_militia, support,
                                           is_jih, influence, roles, 0.35, 3.0)
    intensity = np.empty((A, n))
    for r, a in enumerate(attackers):
        if is_militia[a]:
            intensity[r] = support[is_jih].sum(axis=0)
        else:
            intensity[r] = civilians.selective_curve(influence, np.flatnonzero(roles[a] == 1),
                                                     np.flatnonzero(roles[a] == 2), 0.35, 3.0)
    targets = civilians.civilian_targets(pop, 2e4) * (1.0 - 0.6 * pk_cover)
    close(got, strikes.civilian_rates(R, attackers, budgets, targets, intensity, 2.0))
    assert not got[2].any() and got[[0, 1, 3, 4, 5]].min(axis=1).max() >= 0 and got[3].sum() > 0


def test_kernel_stacks_are_shared_read_only_and_change_no_result(short_scenario) -> None:
    """Models of a process share the stack of distance kernels (KernelStacks): the same
    read-only array, the same kernels as a stack built afresh, and the same run bit for bit
    whether the stack was kept or built; a grid with other distances never gets it, and only
    the most recently used stacks are kept."""
    from sahel_sim.model import SahelModel
    from sahel_sim.model.mechanisms import territory
    from sahel_sim.model.model import KERNEL_STACKS, KernelStacks
    from tests.toy import actor, scenario, toy_grid

    def weeks(model: SahelModel, n: int = 30) -> list[np.ndarray]:
        for _ in range(n):
            model.step()
        return [model.S.copy(), model.P.copy(), model.control.copy(), model.pop_home.copy()]

    KERNEL_STACKS.clear()
    fresh = SahelModel(short_scenario, seed=5)
    kept = SahelModel(short_scenario, seed=5)
    stack_a, stack_b = fresh._kernel_stack()[0], kept._kernel_stack()[0]
    assert stack_a is stack_b and not stack_a.flags.writeable
    reaches = sorted(r for r, k in fresh._kernels.items() if k.base is stack_a)
    assert len(reaches) == stack_a.shape[0]
    for r in reaches:  # each view is the kernel of its reach
        assert np.array_equal(fresh.kernel(r), territory.distance_kernel(fresh.grid.distance_km, r))
        assert not fresh.kernel(r).flags.writeable
    for x, y in zip(weeks(fresh), weeks(kept), strict=True):
        assert np.array_equal(x, y)

    grid = toy_grid()
    toy = SahelModel(scenario({"JNIM": actor("jihadist", strength=300)}), seed=1, grid=grid)
    assert toy._kernel_stack()[0].shape[1:] == (grid.n_cells, grid.n_cells)

    small = KernelStacks(size=2)
    d = np.arange(9.0).reshape(3, 3)
    built = []

    def build(r: float):
        def make() -> np.ndarray:
            built.append(r)
            return np.stack([territory.distance_kernel(d, r)])
        return make

    first = small.get(d, (1.0,), build(1.0))
    assert small.get(d, (1.0,), build(1.0)) is first and built == [1.0]
    small.get(d, (2.0,), build(2.0))
    small.get(d, (3.0,), build(3.0))  # (1.0,) is the least recently used: dropped
    again = small.get(d, (1.0,), build(1.0))
    assert again is not first and built == [1.0, 2.0, 3.0, 1.0]
    other = small.get(d.copy(), (1.0,), build(1.0))  # equal distances, another array: its own entry
    assert other is not again and built == [1.0, 2.0, 3.0, 1.0, 1.0]
