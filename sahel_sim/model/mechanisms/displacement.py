"""Flight, routes, camps and return (ODD M8).

People flee violent events, deaths, takeovers and the threat of violence nearby; they choose a
destination on the location graph (``sahel_sim/geography/locations.py``: Mali's towns, the
camps abroad and the crossings) by route distance, safety, size, camp attractiveness and kin
across the border; they travel along the shortest open route at a speed limit, arriving weeks
later; camps and borders close on dated days; people go home when home is calm.

The rules follow Flee (Suleimenova, Bell & Groen 2017, *Scientific Reports* 7:13377; Flee's
documented move rules, ``docs/Simulation_settings_reference.md``): location weights (camps
``camp_weight``, conflict zones ``conflict_weight``, foreign locations ``foreign_weight``),
weights inversely proportional to (distance + softening)^distance_power, a maximum move speed
(Flee v1: 200 km a day), location and border closures. Where this module differs, and why:

- people are counts per (home catchment, location), not agents: thousands of runs of 13 years
  must stay cheap (one weekly step is a few small dense array operations);
- a displaced household picks its destination over the whole graph when it leaves (awareness
  of every destination), where Flee's agents pick one link at a time seeing one to three links
  ahead: in Mali 2012 people left for camps they knew of through kin networks (Mbera for the
  Timbuktu area's Tuareg and Arabs, geography_facts), and a weekly step is longer than Flee's
  daily one;
- towns keep the displaced (IDPs staying with host families): a town is a destination, not only
  a transit point, because DTM counts IDPs in Malian towns; onward flight happens when violence
  reaches the town;
- kin: a destination abroad is weighted up by the share of the home catchment's people whose
  communities live across that border (scenario data ``refuge.kin``), which Flee has as optional
  ethnicity matching.

Constants: the ``displacement`` block of the scenario schema.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from sahel_sim.model.mechanisms._compiled import njit, pairwise_sum

POP_BASE = 10_000.0  # people: a town of this size weighs 1 (Flee's movechance_pop_base)


def novel_takeover(control: np.ndarray, taken: np.ndarray, last_held: np.ndarray, week: int, *,
                   memory_weeks: float) -> np.ndarray:
    """Cells whose residents flee a takeover this week: ``taken`` (n,) by an armed faction
    (``control`` (n,), its index) that has not held the cell in the last ``memory_weeks``
    (``last_held`` (F, n): the last week each faction held each cell). Those who stayed under a
    group before do not flee it again each time a contested cell changes hands; 0 weeks: every
    takeover."""
    if memory_weeks <= 0:
        return taken.copy()
    cells = taken.nonzero()[0]
    novel = np.zeros(taken.shape, dtype=bool)
    novel[cells] = week - last_held[control[cells], cells] > memory_weeks
    return novel


def flight(pop_home: np.ndarray, events: np.ndarray, deaths: np.ndarray, *, per_event: float,
           per_death: float, max_share: float, takeover: np.ndarray | None = None,
           takeover_share: float = 0.0, threat: np.ndarray | None = None,
           share_per_threat: float = 0.0, collapse: np.ndarray | None = None,
           share_on_collapse: float = 0.0) -> np.ndarray:
    """People who flee each cell this week, capped at ``max_share`` of residents.

    ``threat``: smoothed violent events per week near the cell (the threat of violence);
    ``collapse``: this week's collapse of the state's protection before armed groups
    (:func:`collapse_rise`, 0-1: the northern garrisons falling in 2012)."""
    out = per_event * events + per_death * deaths
    if collapse is not None and share_on_collapse > 0:
        out = out + share_on_collapse * pop_home * collapse
    if takeover is not None:
        out = out + takeover_share * pop_home * takeover
    if threat is not None and share_per_threat > 0:
        out = out + pop_home * (1.0 - np.exp(-share_per_threat * threat))
    return np.minimum(out, max_share * pop_home)


def collapse_rise(vacuum: np.ndarray, armed_presence: np.ndarray, reference: np.ndarray, *, half: float,
                  memory_weeks: float) -> tuple[np.ndarray, np.ndarray]:
    """``(collapse, new_reference)``: how far the security vacuum (0-1) rose this week above the
    highest vacuum the residents lived through (the reference, forgotten over ``memory_weeks``),
    times the armed groups' presence before them (troop-equivalents; one half at ``half``); and
    the updated reference. Flight follows the state's protection withdrawing where armed groups
    stand (the northern garrisons in 2012, Barkhane and MINUSMA leaving Menaka in 2022-2023), not
    armed units moving about where the state's presence is unchanged: there the events, deaths
    and threat they bring drive flight."""
    ref = reference * (1.0 - 1.0 / memory_weeks)
    rise = np.maximum(vacuum - ref, 0.0) * armed_presence / (armed_presence + half)
    return rise, np.maximum(ref, vacuum)


def route_distances(n_nodes: int, link_a: np.ndarray, link_b: np.ndarray, link_km: np.ndarray,
                    open_nodes: np.ndarray, open_links: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Shortest route (km) from each of ``sources`` to every node over the open links between
    open nodes (inf where unreachable)."""
    ok = open_links & open_nodes[link_a] & open_nodes[link_b]
    a, b, w = link_a[ok], link_b[ok], link_km[ok]
    graph = sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                          shape=(n_nodes, n_nodes))
    d = dijkstra(graph, directed=True, indices=sources)
    d = np.atleast_2d(d)
    d[:, ~open_nodes] = np.inf
    return d


def attractiveness(kind_camp: np.ndarray, destination: np.ndarray, population: np.ndarray,
                   danger: np.ndarray, *, camp_weight: float, conflict_weight: float,
                   population_power: float) -> np.ndarray:
    """Weight of each node as a destination (before distance and kin): towns by population
    relative to 10,000 people (Flee's ``pop_power_for_loc_weight`` and ``movechance_pop_base``)
    lowered toward ``conflict_weight`` by danger (0-1); camps ``camp_weight``; nodes that are not
    destinations (crossings, closed) 0."""
    town = np.power(np.maximum(population, 1.0) / POP_BASE, population_power) * (1.0 - (1.0 - conflict_weight) * danger)
    w = np.where(kind_camp, camp_weight, town)
    return np.where(destination, w, 0.0)


def kin_mix(kin_share: np.ndarray) -> np.ndarray:
    """(G, K+1) who the people of each home catchment are: column 0 those with no kin across a
    border, column k+1 the catchment's share in kin community k (``kin_share`` (G, K), scaled
    down where the communities' shares sum to more than 1)."""
    share = np.asarray(kin_share, dtype=np.float64)
    total = share.sum(axis=1, keepdims=True)
    share = share / np.maximum(total, 1.0)
    return np.concatenate([1.0 - share.sum(axis=1, keepdims=True), share], axis=1)


def kin_factors(node_foreign: np.ndarray, node_kin: np.ndarray, *, foreign_weight: float,
                kin_weight: float, family_only: np.ndarray | None = None) -> np.ndarray:
    """(K+1, N) multiplier of each destination for each group of :func:`kin_mix`: 1 in Mali;
    abroad ``foreign_weight`` for people without kin there, and ``foreign_weight x (1 +
    kin_weight)`` for a kin community where its tie reaches (``node_kin`` (K, N), 0-1).
    ``family_only`` (N,): places abroad without a camp, where refugees stay with families (the
    Algerian border towns): only a community with kin there goes (multiplier 0 for the others)."""
    K = node_kin.shape[0]
    base = np.where(node_foreign, foreign_weight, 1.0)
    out = np.repeat(base[None, :], K + 1, axis=0)
    if K:
        out[1:] *= np.where(node_foreign[None, :], 1.0 + kin_weight * node_kin, 1.0)
    if family_only is not None:
        reaches = np.concatenate([np.zeros((1, out.shape[1]), dtype=bool), node_kin > 0], axis=0)
        out[family_only[None, :] & ~reaches] = 0.0
    return out


def route_friction(distance: np.ndarray, *, softening_km: float, distance_power: float) -> np.ndarray:
    """``(distance + softening)^power``, the divisor of a destination's weight in :func:`choose`
    (it changes only when the open network does, so callers may compute it once per change)."""
    return np.power(distance + softening_km, distance_power)


def choose(distance: np.ndarray, weight: np.ndarray, factor: np.ndarray, origin: np.ndarray, *,
           softening_km: float, distance_power: float, friction: np.ndarray | None = None) -> np.ndarray:
    """Destination shares (rows sum to 1, or 0 when nothing is reachable).

    ``distance`` (O, N) route km from each origin node; ``weight`` (N,); ``factor`` (O, N) kin
    and foreign multipliers for the people leaving each origin; ``origin`` (O,) their node (never
    their own destination). Weight / (distance + softening)^power, as Flee's link weights;
    ``friction``: that divisor, :func:`route_friction`, when the caller has it already."""
    if friction is None:
        friction = route_friction(distance, softening_km=softening_km, distance_power=distance_power)
    w = weight[None, :] * factor / friction
    w[np.arange(origin.size), origin] = 0.0
    w[~np.isfinite(w)] = 0.0
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


def choose_mixed(distance: np.ndarray, weight: np.ndarray, factors: np.ndarray, mix: np.ndarray,
                 origin: np.ndarray, *, softening_km: float, distance_power: float,
                 friction: np.ndarray | None = None) -> np.ndarray:
    """Destination shares of the people leaving each origin, each group of :func:`kin_mix`
    choosing with its own multipliers (``factors`` (K+1, N), :func:`kin_factors`) and weighted by
    its share ``mix`` (O, K+1): a catchment that is one-tenth Tuareg sends one-tenth of its
    displaced as Tuareg families choose, not all of them. Rows sum to the share of people who
    have somewhere to go (the rest stay near home)."""
    out = np.zeros(distance.shape)
    for k in range(factors.shape[0]):
        out += mix[:, k:k + 1] * choose(distance, weight, np.broadcast_to(factors[k], distance.shape), origin,
                                        softening_km=softening_km, distance_power=distance_power, friction=friction)
    return out


def travel_weeks(distance: np.ndarray, *, km_per_day: float, max_weeks: int) -> np.ndarray:
    """Whole weeks on the road (0: arrives this week) at ``km_per_day``, capped."""
    d = np.where(np.isfinite(distance), distance, 0.0)
    return np.minimum(np.floor(d / (7.0 * km_per_day)), max_weeks - 1).astype(np.int64)


def depart(transit: np.ndarray, group: np.ndarray, people: np.ndarray, shares: np.ndarray,
           weeks: np.ndarray) -> None:
    """Put ``people`` (O,) of home catchments ``group`` (O,) on the road to the destinations
    ``shares`` (O, N), arriving after ``weeks`` (O, N); ``transit`` (W, G, N) in place."""
    N = transit.shape[2]
    flows = people[:, None] * shares
    # each (group, destination) has one arrival week: a plain indexed add (groups are distinct)
    transit[weeks, group[:, None], np.arange(N)[None, :]] += flows


def arrive(transit: np.ndarray, settled: np.ndarray) -> None:
    """One week passes: those due this week settle; the rest come a week closer (in place)."""
    settled += transit[0]
    transit[:-1] = transit[1:]
    transit[-1] = 0.0


def arrive_unless_blocked(transit: np.ndarray, settled: np.ndarray, blocked: np.ndarray) -> None:
    """:func:`arrive`, except that people due at a border closed for now (``blocked`` (G, N))
    wait there, still on the road, until it reopens (in place)."""
    held = np.where(blocked, transit[0], 0.0)
    settled += np.where(blocked, 0.0, transit[0])
    transit[:-1] = transit[1:]
    transit[-1] = 0.0
    transit[0] += held


def calm(violence_recent: np.ndarray, *, calm_events_per_week: float) -> np.ndarray:
    """Calm of each cell (0-1): 1/2 at ``calm_events_per_week`` smoothed violent events."""
    return calm_events_per_week / (calm_events_per_week + violence_recent)


def returns(displaced_from: np.ndarray, cell_group: np.ndarray, settled: np.ndarray, in_transit: np.ndarray,
            calm_home: np.ndarray, abroad: np.ndarray, *, rate: float, refugee_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """People who go home this week: per home cell (n,) and taken from each (G, N) location.

    Settled displaced return at ``rate`` x the calm of home, refugees abroad at
    ``refugee_factor`` times that; people on the road do not turn back."""
    G = settled.shape[0]
    f = np.where(abroad, refugee_factor, 1.0)
    pull = settled * f[None, :]  # (G, N)
    total = settled.sum(axis=1) + in_transit
    mix = np.divide(pull.sum(axis=1), total, out=np.zeros(G), where=total > 0)
    home = rate * calm_home * displaced_from * mix[cell_group]
    per_group = np.bincount(cell_group, weights=home, minlength=G)
    denom = pull.sum(axis=1)
    take = pull * np.divide(per_group, denom, out=np.zeros(G), where=denom > 0)[:, None]
    return home, take


@njit
def refuge_week(settled, transit, displaced_from, reroute, population, pop_home, fleeing, threat, violence_recent,
                cell_group, node_cell, is_camp, destination, abroad, factors, mix, friction, weeks, blocked,
                danger_events_per_week,
                camp_weight, conflict_weight, population_power, onward_share, calm_events_per_week, return_rate,
                refugee_factor):  # pragma: no cover - compiled
    """One week on the location graph, fused and compiled (``_compiled.py``): destination
    weights (:func:`attractiveness`), onward flight from towns, departures from home
    (:func:`choose`, :func:`depart`), arrivals (:func:`arrive`) and returns (:func:`returns`),
    in ``Refuge.step``'s order. Updates ``settled`` (G, N), ``transit`` (W, G, N) and
    ``displaced_from`` (n,) in place; returns the people who went home to each cell.
    ``friction``: :func:`route_friction`; ``weeks``: :func:`travel_weeks`; ``destination``:
    the open destinations; ``reroute`` (G,): people whose destination closed; ``factors``
    (K+1, N) and ``mix`` (G, K+1): :func:`kin_factors` and :func:`kin_mix` (:func:`choose_mixed`);
    ``blocked`` (G, N): routes held at a temporarily closed border, whose people wait on the road
    (:func:`arrive_unless_blocked`)."""
    n = population.size
    W, G, N = transit.shape
    # destination weights: towns by size and safety, camps
    pop_node = np.zeros(N)
    res = np.zeros(G)
    fled = np.zeros(G)
    for c in range(n):
        g = cell_group[c]
        pop_node[g] += population[c]
        res[g] += pop_home[c] + fleeing[c]
        fled[g] += fleeing[c]
    weight = np.zeros(N)
    for j in range(N):
        danger = 1.0 - np.exp(-threat[node_cell[j]] / danger_events_per_week) if j < G else 0.0
        if destination[j]:
            if is_camp[j]:
                weight[j] = camp_weight
            else:
                weight[j] = (max(pop_node[j], 1.0) / POP_BASE) ** population_power \
                    * (1.0 - (1.0 - conflict_weight) * danger)
    # onward flight from towns as their residents flee, and flight from home
    rate = np.empty(G)
    for g in range(G):
        rate[g] = min(1.0, onward_share * (fled[g] / res[g] if res[g] > 0 else 0.0))
    for c in range(n):
        displaced_from[c] += fleeing[c]
    row = np.empty(N)
    wk = np.empty(N)
    K1 = factors.shape[0]
    for i in range(G):
        for g in range(G):
            row[g] = settled[i, g] * rate[g]
            settled[i, g] -= row[g]
        leaving = fled[i] + pairwise_sum(row, 0, G) + reroute[i]
        # destination shares: each kin group of the catchment chooses with its own multipliers
        for j in range(N):
            row[j] = 0.0
        stay = 0.0
        for k in range(K1):
            m = mix[i, k]
            if m <= 0.0:
                continue
            for j in range(N):
                w = weight[j] * factors[k, j] / friction[i, j]
                wk[j] = w if j != i and np.isfinite(w) else 0.0
            total = pairwise_sum(wk, 0, N)
            if total > 0:
                for j in range(N):
                    row[j] += m * (wk[j] / total)
            else:  # nowhere to go: they stay near home
                stay += m
        if stay > 0:
            settled[i, i] += leaving * stay
        for j in range(N):
            transit[weeks[i, j], i, j] += leaving * row[j]
    # arrivals, except at a border closed for now: those people wait there, still on the road
    held = np.zeros((G, N))
    for i in range(G):
        for j in range(N):
            if blocked[i, j]:
                held[i, j] = transit[0, i, j]
            else:
                settled[i, j] += transit[0, i, j]
    for w in range(W - 1):
        transit[w] = transit[w + 1]
    transit[W - 1] = 0.0
    transit[0] += held
    # returns when home is calm
    in_transit = np.zeros(G)
    for w in range(W):
        for i in range(G):
            in_transit[i] += pairwise_sum(transit[w, i], 0, N)
    mix = np.empty(G)
    pull_total = np.empty(G)
    pull = np.empty((G, N))
    for i in range(G):
        for j in range(N):
            pull[i, j] = settled[i, j] * (refugee_factor if abroad[j] else 1.0)
        total = pairwise_sum(settled[i], 0, N) + in_transit[i]
        pull_total[i] = pairwise_sum(pull[i], 0, N)
        mix[i] = pull_total[i] / total if total > 0 else 0.0
    home = np.empty(n)
    per_group = np.zeros(G)
    for c in range(n):
        calm = calm_events_per_week / (calm_events_per_week + violence_recent[c])
        home[c] = return_rate * calm * displaced_from[c] * mix[cell_group[c]]
        per_group[cell_group[c]] += home[c]
    for i in range(G):
        scale = per_group[i] / pull_total[i] if pull_total[i] > 0 else 0.0
        for j in range(N):
            settled[i, j] -= pull[i, j] * scale
    for c in range(n):
        displaced_from[c] -= home[c]
    return home


@njit
def flight_week(pop_home, events, deaths, takeover, threat, vacuum, P, is_armed, reference, armed_presence_half,
                memory_weeks, per_event, per_death, max_share, takeover_share, share_per_threat,
                share_on_collapse):  # pragma: no cover - compiled
    """:func:`collapse_rise` of each cell before the armed groups' presence (rows ``is_armed``
    of ``P``) against ``reference``, and :func:`flight`, fused and compiled
    (``_compiled.py``): returns ``(fleeing, new_reference)``."""
    n = pop_home.size
    fleeing = np.empty(n)
    new_ref = np.empty(n)
    keep = 1.0 - 1.0 / memory_weeks
    for j in range(n):
        armed = 0.0
        for a in range(P.shape[0]):
            if is_armed[a]:
                armed += P[a, j]
        ref = reference[j] * keep
        rise = max(vacuum[j] - ref, 0.0) * (armed / (armed + armed_presence_half))
        new_ref[j] = max(ref, vacuum[j])
        out = per_event * events[j] + per_death * deaths[j]
        if share_on_collapse > 0:
            out = out + share_on_collapse * pop_home[j] * rise
        out = out + takeover_share * pop_home[j] * (1.0 if takeover[j] else 0.0)
        if share_per_threat > 0:
            out = out + pop_home[j] * (1.0 - np.exp(-share_per_threat * threat[j]))
        fleeing[j] = min(out, max_share * pop_home[j])
    return fleeing, new_ref


@njit
def refuge_views(settled, transit, displaced_from, node_cell, cell_group, country_of_abroad,
                 n_countries):  # pragma: no cover - compiled
    """``Refuge.views`` compiled (``_compiled.py``): ``(idp_host, idp_origin, ref_origin,
    ref_country, ref_location)``."""
    W, G, N = transit.shape
    n = displaced_from.size
    on_road = np.zeros(G)
    for w in range(W):
        for i in range(G):
            on_road[i] += pairwise_sum(transit[w, i], 0, N)
    idp_node = np.zeros(G)
    ref_loc = np.zeros(N - G)
    ref_share = np.empty(G)
    for i in range(G):
        for g in range(G):
            idp_node[g] += settled[i, g]
        for j in range(G, N):
            ref_loc[j - G] += settled[i, j]
        abroad = pairwise_sum(settled[i], G, N - G)
        total = pairwise_sum(settled[i], 0, N) + on_road[i]
        ref_share[i] = abroad / total if total > 0 else 0.0
    idp_host = np.zeros(n)
    for g in range(G):
        idp_host[node_cell[g]] += idp_node[g] + on_road[g]
    ref_origin = np.empty(n)
    idp_origin = np.empty(n)
    for c in range(n):
        ref_origin[c] = displaced_from[c] * ref_share[cell_group[c]]
        idp_origin[c] = displaced_from[c] - ref_origin[c]
    ref_country = np.zeros(n_countries)
    for j in range(N - G):
        ref_country[country_of_abroad[j]] += ref_loc[j]
    return idp_host, idp_origin, ref_origin, ref_country, ref_loc
