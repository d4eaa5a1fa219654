"""The state of displacement on the location graph, stepped once a week by ``SahelModel``.

People displaced are counts per (home catchment, location): ``settled`` (G, N) where they
stay, ``transit`` (W, G, N) on the road, arriving in 1..W weeks; ``displaced_from`` (n,) per
home cell. The rules are the pure kernels of ``mechanisms/displacement.py``; this class holds
the arrays, applies the dated closures and derives the model's per-cell and per-country views.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from sahel_sim.config import ConfigError
from sahel_sim.geography import NEIGHBOUR_COUNTRIES
from sahel_sim.geography.locations import CAMP_KINDS, MALI, build_location_graph, fold
from sahel_sim.geography.locations import _raw as locations_data
from sahel_sim.model.mechanisms import displacement as kernel
from sahel_sim.model.mechanisms import recruitment

if TYPE_CHECKING:
    from sahel_sim.config.schema import Scenario
    from sahel_sim.geography import MaliGrid


class Refuge:
    """Displacement on routes and camps (ODD M8)."""

    def __init__(self, scenario: Scenario, grid: MaliGrid) -> None:
        d = scenario.mechanisms.displacement
        self.params = d
        self.graph = g = build_location_graph(grid, detour_factor=d.detour_factor)
        self.n_cells = grid.n_cells
        N, G = g.n_nodes, g.n_mali
        self.G, self.N = G, N
        self.abroad = np.array([c != MALI for c in g.country])
        self.is_camp = np.array([k in CAMP_KINDS for k in g.kind])
        self.is_destination = np.array([k != "crossing" for k in g.kind])
        self.country_of = g.country_index
        self.node_cell = g.cell[:G]
        self.cell_group = g.cell_node
        self.settled = np.zeros((G, N))
        # weeks on the road: the longest open route at the speed limit, capped by max_travel_weeks
        self.distance = kernel.route_distances(N, g.link_a, g.link_b, g.link_km, np.ones(N, dtype=bool),
                                               np.ones(g.link_a.size, dtype=bool), np.arange(G))
        longest = float(np.max(self.distance[np.isfinite(self.distance)], initial=0.0))
        W = int(min(d.max_travel_weeks, 2 + longest // (7.0 * d.max_move_km_per_day)))
        self.transit = np.zeros((W, G, N))
        self.displaced_from = np.zeros(grid.n_cells)
        self.reroute = np.zeros(G)  # people whose destination closed: they choose again from home
        self.vacuum_ref: np.ndarray | None = None  # highest security vacuum lived through (forgotten slowly)

        # kin: each catchment's share of each kin community (social-base anchors of the actor)
        kin = scenario.refuge.kin
        self.node_kin = np.zeros((len(kin), N))
        share = np.zeros((grid.n_cells, len(kin)))
        for k, tie in enumerate(kin):
            anchors = list(tie.places)
            if tie.social_base_of is not None:
                if tie.social_base_of not in scenario.actors:
                    raise ConfigError(f"refuge.kin[{k}].social_base_of: unknown actor {tie.social_base_of!r}; "
                                      f"expected one of: {', '.join(scenario.actors)}")
                anchors += list(scenario.actors[tie.social_base_of].social_base)
            share[:, k] = recruitment.affinity(grid.lat, grid.lon, anchors, floor=0.0)
            self.node_kin[k] = [c in tie.countries for c in g.country]
        w = grid.population + 1.0
        self.kin_share = np.stack([np.bincount(self.cell_group, weights=w * share[:, k], minlength=G)
                                   / np.bincount(self.cell_group, weights=w, minlength=G) for k in range(len(kin))],
                                  axis=1) if kin else np.zeros((G, 0))
        self.kin_mix = kernel.kin_mix(self.kin_share)  # who the people of each catchment are
        # documented places without a camp take in only people with families there (locations.json)
        family_only = np.array([k == "family_refuge" for k in g.kind]) & self.abroad
        self.factors = kernel.kin_factors(self.abroad, self.node_kin, foreign_weight=d.foreign_weight,
                                          kin_weight=d.kin_weight, family_only=family_only)

        # dated openings and closures: the dates on which the open network changes
        self._closures = []
        names = {fold(n): i for i, n in enumerate(g.names)}
        known = {fold(loc["name"]) for loc in locations_data()["locations"]}
        for k, c in enumerate(scenario.refuge.closures):
            if c.type == "location":
                if fold(c.location) not in known:
                    raise ConfigError(f"refuge.closures[{k}].location: unknown location {c.location!r}; expected a camp "
                                      f"or crossing of sahel_sim/geography/data/locations.json")
                node = names.get(fold(c.location))
                if node is not None:  # a place outside this grid's graph (toy worlds) is ignored
                    self._closures.append(("node", node, c.start, c.end))
            else:
                self._closures.append(("country", c.country, c.start, c.end))
        for i, (op, cl) in enumerate(zip(g.opened, g.closed, strict=True)):
            if op is not None:
                self._closures.append(("node", i, dt.date.min, op))
            if cl is not None:
                self._closures.append(("node", i, cl, None))
        self._open_key: tuple | None = None
        # the open network changes only on these dates: it is looked up again only when one passes
        self._change_dates = sorted({x for _, _, start, end in self._closures for x in (start, end) if x is not None})
        self._era: int | None = None
        self.weeks = np.zeros((G, N), dtype=np.int64)
        self.friction = kernel.route_friction(self.distance, softening_km=d.softening_km,
                                              distance_power=d.distance_power)
        self.open_nodes = np.ones(N, dtype=bool)
        self.blocked = np.zeros((G, N), dtype=bool)  # (home, destination) held at a temporarily closed border

    def flight(self, *, pop_home: np.ndarray, events: np.ndarray, deaths: np.ndarray, takeover: np.ndarray,
               threat: np.ndarray, vacuum: np.ndarray, presence: np.ndarray, is_armed: np.ndarray) -> np.ndarray:
        """People who flee each cell this week (mechanisms/displacement.py: :func:`collapse_rise`
        and :func:`flight`, one compiled kernel); ``presence`` (A, n) of every actor, ``is_armed``
        the armed groups. The first week sets the reference vacuum."""
        d = self.params
        if self.vacuum_ref is None:  # the vacuum residents live with at the start
            self.vacuum_ref = np.asarray(vacuum, dtype=np.float64).copy()
        fleeing, self.vacuum_ref = kernel.flight_week(
            pop_home, events, deaths, takeover, threat, vacuum, presence, is_armed, self.vacuum_ref,
            d.armed_presence_half, d.collapse_memory_weeks, d.flee_per_event, d.flee_per_death,
            d.max_flee_share_per_week, d.flee_share_on_takeover, d.flee_share_per_threat, d.flee_share_on_collapse)
        return fleeing

    # ------------------------------------------------------------------ network
    def _routes(self, open_nodes: np.ndarray, closed_countries: set[str]) -> np.ndarray:
        """Shortest open route km (G, N) with these nodes open and these countries' borders closed."""
        g = self.graph
        ca = np.array(g.country)[g.link_a]
        cb = np.array(g.country)[g.link_b]
        crosses_closed = np.array([(a != b) and (a in closed_countries or b in closed_countries)
                                   for a, b in zip(ca, cb, strict=True)], dtype=bool)
        return kernel.route_distances(self.N, g.link_a, g.link_b, g.link_km, open_nodes, ~crosses_closed,
                                      np.arange(self.G))

    def _network(self, date: dt.date) -> None:
        """Open nodes and links on ``date``; route distances recomputed when they change.

        A closure with an end date (ECOWAS's week of April 2012) holds people at the border:
        they still choose the places behind it, travel there and wait until it reopens
        (``self.blocked``), as Flee's agents wait at a closed link. An open-ended closure
        (Algeria from January 2013) removes the routes: people on their way choose again."""
        era = bisect.bisect_right(self._change_dates, date)
        if era == self._era:
            return
        self._era = era
        open_nodes = np.ones(self.N, dtype=bool)  # not closed for good
        now_open = np.ones(self.N, dtype=bool)  # not closed at all
        closed_countries: set[str] = set()
        closed_now: set[str] = set()
        for kind, what, start, end in self._closures:
            if start <= date and (end is None or date < end):
                if kind == "node":
                    now_open[what] = False
                    if end is None:
                        open_nodes[what] = False
                else:
                    closed_now.add(what)
                    if end is None:
                        closed_countries.add(what)
        key = (tuple(np.flatnonzero(~now_open)), tuple(sorted(closed_now)), tuple(np.flatnonzero(~open_nodes)),
               tuple(sorted(closed_countries)))
        if key == self._open_key:
            return
        self._open_key = key
        self.distance = self._routes(open_nodes, closed_countries)
        if (now_open == open_nodes).all() and closed_now == closed_countries:
            self.blocked = np.zeros((self.G, self.N), dtype=bool)
        else:  # reachable once the temporary closures lift, not now: wait at the border
            self.blocked = np.isfinite(self.distance) & ~np.isfinite(self._routes(now_open, closed_now))
        self.weeks = kernel.travel_weeks(self.distance, km_per_day=self.params.max_move_km_per_day,
                                         max_weeks=self.transit.shape[0])
        self.friction = kernel.route_friction(self.distance, softening_km=self.params.softening_km,
                                              distance_power=self.params.distance_power)
        newly_closed = self.open_nodes & ~open_nodes
        self.open_nodes = open_nodes
        # people on their way to a place closed for good, or now cut off, choose again from home
        cut = newly_closed | ~np.isfinite(self.distance).any(axis=0)
        if cut.any():
            self.reroute += self.transit[:, :, cut].sum(axis=(0, 2))
            self.transit[:, :, cut] = 0.0

    # ------------------------------------------------------------------ week
    def step(self, *, date: dt.date, pop_home: np.ndarray, population: np.ndarray, fleeing: np.ndarray,
             threat: np.ndarray, violence_recent: np.ndarray) -> np.ndarray:
        """One week: flight from cells (``fleeing``, taken from ``pop_home`` by the caller),
        onward flight from dangerous towns, travel, arrival and returns. Returns the people
        who went home to each cell (the caller adds them to ``pop_home``)."""
        d = self.params
        self._network(date)
        reroute, self.reroute = self.reroute, np.zeros(self.G)
        # the steps of mechanisms/displacement.py (attractiveness, choose, depart, arrive,
        # returns) fused into one compiled kernel
        return kernel.refuge_week(
            self.settled, self.transit, self.displaced_from, reroute, population, pop_home, fleeing, threat,
            violence_recent, self.cell_group, self.node_cell, self.is_camp, self.is_destination & self.open_nodes,
            self.abroad, self.factors, self.kin_mix, self.friction, self.weeks, self.blocked, d.danger_events_per_week, d.camp_weight,
            d.conflict_weight, d.town_population_power, d.onward_share_per_week, d.calm_events_per_week,
            d.return_rate_per_week, d.refugee_return_factor)

    def grow(self, factor: float) -> None:
        self.settled *= factor
        self.transit *= factor
        self.displaced_from *= factor
        self.reroute *= factor

    # ------------------------------------------------------------------ views
    def views(self) -> dict[str, np.ndarray]:
        """Per-cell IDPs hosted (settled in Mali's towns, plus people on the road, counted at
        home until they arrive), IDPs and refugees by home cell, refugees by country and by
        location abroad."""
        idp_host, idp_origin, ref_origin, ref_country, ref_loc = kernel.refuge_views(
            self.settled, self.transit, self.displaced_from, self.node_cell, self.cell_group, self.country_of[self.G:],
            len(NEIGHBOUR_COUNTRIES))
        return {"idp_host": idp_host, "idp_origin": idp_origin, "ref_origin": ref_origin,
                "ref_country": ref_country, "ref_location": ref_loc}

    @property
    def abroad_names(self) -> tuple[str, ...]:
        return self.graph.names[self.G:]

    @property
    def abroad_countries(self) -> tuple[str, ...]:
        return self.graph.country[self.G:]
