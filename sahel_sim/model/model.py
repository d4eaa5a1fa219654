"""SahelModel: the weekly conflict model on Mali's PRIO-GRID cells (a ``mesa.Model``).

``step()`` is the schedule of docs/ODD.md (section 3); each stage calls one mechanism module
of ``sahel_sim/model/mechanisms`` (pure kernels). The model never reads files (the grid comes
from the package data), prints or exits.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cache

import mesa
import numpy as np

from sahel_sim.config.schema import Scenario
from sahel_sim.config.types import ARMED_GROUP_KINDS, GOVERNMENT_SIDE_KINDS
from sahel_sim.events import (
    CIVILIANS_ACTOR,
    CIVILIANS_INTER,
    EVENT_TYPES,
    SUB_EVENT_TYPES,
    SUB_INDEX,
    SUB_TO_TYPE,
    UNIDENTIFIED_ACTOR,
    UNIDENTIFIED_INTER,
    EventLog,
)
from sahel_sim.geography import NEIGHBOUR_COUNTRIES, REGIONS, MaliGrid, load_grid
from sahel_sim.model.agents import FORCE_CLASSES, Force
from sahel_sim.model.mechanisms import (
    accord,
    civilians,
    combat,
    displacement,
    expansion,
    grievance,
    peacekeeping,
    recruitment,
    strikes,
    territory,
)
from sahel_sim.model.recorder import Recorder
from sahel_sim.model.refuge import Refuge

# Event channel kinds
BATTLE, REMOTE, STRIKE, PK_ATTACK, VAC = range(5)
EVENT_TYPE_INDEX = {t: i for i, t in enumerate(EVENT_TYPES)}
_SUB_NAMES = np.array(SUB_EVENT_TYPES, dtype=object)
_SUB_TYPE_INDEX = np.array([EVENT_TYPE_INDEX[SUB_TO_TYPE[x]] for x in SUB_EVENT_TYPES])


def _sub_of_kind() -> np.ndarray:
    """ACLED sub-event type of an event by (kind, abduction, IED on peacekeepers)."""
    lut = np.full((5, 2, 2), SUB_INDEX["Armed clash"], dtype=np.int64)
    lut[VAC] = SUB_INDEX["Attack"]
    lut[VAC, 1] = SUB_INDEX["Abduction/forced disappearance"]
    lut[PK_ATTACK, :, 1] = SUB_INDEX["Remote explosive/landmine/IED"]
    lut[REMOTE] = SUB_INDEX["Remote explosive/landmine/IED"]
    lut[STRIKE] = SUB_INDEX["Air/drone strike"]
    return lut


_SUB_OF_KIND = _sub_of_kind()


@cache
def _candidate_table(grid: MaliGrid, radius_km: float) -> np.ndarray:
    """Padded table of cells within ``radius_km`` of each cell (-1 pads), nearest first."""
    d = grid.distance_km
    within = d <= max(radius_km, 1e-6)
    width = int(within.sum(axis=1).max())
    order = np.argsort(d, axis=1, kind="stable")[:, :width]
    table = np.where(np.take_along_axis(within, order, axis=1), order, -1)
    return table.astype(np.int64)


class KernelStacks:
    """The stacks of distance kernels that the compiled stages read, shared by the models of a
    process (a sweep worker builds every run's model from the same few reaches).

    A stack is (K, n, n) float64, 1.4 MB a kernel on Mali's grid, fourteen kernels for the
    historical scenario: computing the kernels and stacking them was 4-5% of a run. It is a
    pure function of the grid's distances and the reaches, so it is kept, read-only, keyed by
    the distance matrix (by identity: the grid is shared, ``load_grid`` caches it) and the
    reaches, and the ``size`` most recently used are kept. Thread-safe (the browser app steps
    models in threads). A model copied with ``copy.deepcopy`` (the browser app's look-ahead)
    has its own copy of the grid, so its stacks are its own entries: at most ``size`` stacks,
    about 20 MB each, stay alive after their models."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, tuple[float, ...]], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, distance_km: np.ndarray, reaches: tuple[float, ...],
            build: Callable[[], np.ndarray]) -> np.ndarray:
        """The stack of the kernels of ``reaches`` over ``distance_km``, built by ``build()``
        when it is not kept."""
        key = (id(distance_km), reaches)
        with self._lock:
            hit = self._items.get(key)
            # a safeguard: the entry holds its array, so no other array can take its id meanwhile
            if hit is not None and hit[0] is distance_km:
                self._items.move_to_end(key)
                return hit[1]
        stack = build()
        stack.flags.writeable = False
        with self._lock:
            self._items[key] = (distance_km, stack)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return stack

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


KERNEL_STACKS = KernelStacks()


class SahelModel(mesa.Model):
    """The conflict in Mali as an agent-based model (see docs/ODD.md)."""

    def __init__(self, scenario: Scenario, *, seed: int, grid: MaliGrid | None = None) -> None:
        """``grid`` defaults to Mali's PRIO-GRID cells scaled to the scenario's population;
        tests pass toy grids. The validated scenario is kept as ``self.config`` (Mesa's
        ``Model.scenario`` is its own experimental Scenario class)."""
        super().__init__(rng=int(seed))
        self.config = scenario
        self.seed = int(seed)
        self.run_id = f"{scenario.name}-{seed}"
        ss = np.random.SeedSequence(self.seed)
        # named exogenous streams: adding an agent never reshuffles them (STYLE.md 3.4)
        names = ("placement", "accord", "dates", "attribution")
        self.streams = {n: np.random.default_rng(s) for n, s in zip(names, ss.spawn(len(names)), strict=True)}

        if grid is None:
            grid = load_grid(national_population=scenario.population.national_total)
        self.grid = grid
        self.n_cells = n = grid.n_cells
        self.start_date = scenario.start_date
        self.n_steps = max(1, -(-(scenario.end_date - scenario.start_date).days // 7))
        self.current_date = self.start_date
        self.week = 0
        m = scenario.mechanisms

        # ---------------------------------------------------------------- actors & factions
        self.actor_ids: list[str] = list(scenario.actors)
        self.actor_index = {a: i for i, a in enumerate(self.actor_ids)}
        self.factions: tuple[str, ...] = tuple(scenario.control_factions())
        self.faction_index = {f: i for i, f in enumerate(self.factions)}
        self.faction_of = np.array([self.faction_index.get(scenario.actor_faction(a), -1) if scenario.actor_faction(a) else -1
                                    for a in self.actor_ids])
        kinds = [scenario.actors[a].kind for a in self.actor_ids]
        self.kinds = kinds
        self.is_armed = np.array([k in ARMED_GROUP_KINDS for k in kinds])
        self.is_jihadist = np.array([k == "jihadist" for k in kinds])
        self.is_militia = np.array([k == "militia" for k in kinds])
        self._unattributable = np.array([k in scenario.observation.unattributed_kinds for k in kinds], dtype=bool)
        self.is_gov = np.array([k in GOVERNMENT_SIDE_KINDS for k in kinds])
        self.is_pk = np.array([k == "peacekeeper" for k in kinds])
        self.is_merc = np.array([k == "mercenary" for k in kinds])
        self._lethality = np.array([scenario.actors[a].lethality for a in self.actor_ids])
        self.faction_is_armed = np.array([scenario.actors[f].kind in ARMED_GROUP_KINDS for f in self.factions])
        self.faction_is_jihadist = np.array([scenario.actors[f].kind == "jihadist" for f in self.factions])
        self.state_faction = next((i for i, f in enumerate(self.factions) if scenario.actors[f].kind == "state"), -1)

        self._base_hostility = np.zeros((len(self.actor_ids),) * 2, dtype=bool)
        for i, a in enumerate(self.actor_ids):
            for e in scenario.actors[a].enemies:
                j = self.actor_index[e]
                self._base_hostility[i, j] = self._base_hostility[j, i] = True
        self._rival_sides = tuple(self._side(p) for p in m.rivalry.actors)
        ra, rb = self._rival_sides
        self._rival_pair = np.outer(ra, rb) | np.outer(rb, ra)
        self._region_masks: dict[tuple[str, ...], np.ndarray] = {}

        # ---------------------------------------------------------------- per-cell state
        self.adjacency = grid.adjacency.astype(np.float64).tocsr()
        self.degree = np.asarray(self.adjacency.sum(axis=1)).ravel()
        self.pop_home = grid.population.astype(np.float64).copy()
        self.idp_host = np.zeros(n)
        self.idp_origin = np.zeros(n)
        self.ref_origin = np.zeros(n)
        self.ref_country = np.zeros(len(NEIGHBOUR_COUNTRIES))
        self.refuge = Refuge(scenario, grid)  # displacement on routes and camps (mechanisms/displacement.py)
        self.ref_location = np.zeros(self.refuge.N - self.refuge.G)
        self.grievance = np.full(n, m.grievance.baseline)
        self.support = np.zeros((len(self.factions), n))
        self.influence = np.zeros((len(self.factions), n))
        self.control = np.full(n, -1, dtype=np.int8)
        self.violence_recent = np.zeros(n)
        self.jihadist_violence_recent = np.zeros(n)
        self.attacks_recent = np.zeros((len(self.actor_ids), n))  # smoothed attacks by each actor per cell
        self.threat = np.zeros(n)  # smoothed armed-group attacks per cell (mechanisms/posture.py)
        self.civilian_deaths_total = np.zeros(n)
        self.legitimacy = m.grievance.legitimacy_start
        # the signatories of the agreement in force, or None (mechanisms/accord.py)
        self.accord_parties: tuple[str, ...] | None = tuple(m.accord.parties) if m.accord.in_force_at_start else None
        self._locations = self._cell_locations()
        self._loc = {
            "name": np.array([x[0] for x in self._locations], dtype=object),
            "lat": np.array([x[1] for x in self._locations]),
            "lon": np.array([x[2] for x in self._locations]),
            "precision": np.array([x[3] for x in self._locations], dtype=np.int64),
            "admin1": np.array([REGIONS[r] for r in grid.region], dtype=object),
        }
        self._kernels: dict[float, np.ndarray] = {}
        # social bases and footprints (mechanisms/recruitment.py, expansion.py)
        rec = m.recruitment
        self.affinity = np.zeros((len(self.actor_ids), n))
        for i, a in enumerate(self.actor_ids):
            if self.is_armed[i]:
                self.affinity[i] = recruitment.affinity(grid.lat, grid.lon, scenario.actors[a].social_base,
                                                        floor=rec.affinity_floor, date=self.start_date)
        self.footprint = self.affinity.copy()
        # social bases that a group only takes up later (dated anchors)
        self._anchor_dates = sorted({d for a in self.actor_ids for b in scenario.actors[a].social_base
                                     for d in (b.since, b.until) if d is not None and d > self.start_date})
        self.conductance = expansion.conductance(self.adjacency, grid.corridor, m.expansion.offroad_conductance)

        # ---------------------------------------------------------------- agents
        self.forces: dict[str, Force] = {}
        for a in self.actor_ids:
            spec = scenario.actors[a]
            self.forces[a] = FORCE_CLASSES[spec.kind](self, a, spec)
        self._force_list: list[Force] = [self.forces[a] for a in self.actor_ids]  # in actor order
        self._ones, self._zeros = np.ones(n), np.zeros(n)  # read-only constants
        self._ones.flags.writeable = self._zeros.flags.writeable = False
        self._no_kernel = np.zeros((0, n))  # stands for a kernel a compiled stage does not use
        self._no_kernel.flags.writeable = False  # every kernel a compiled stage reads is read-only
        self._recruiters = [i for i, a in enumerate(self.actor_ids)
                            if self.is_armed[i] and scenario.actors[a].recruitment_per_week > 0]
        self._recruiter_index = np.array(self._recruiters, dtype=np.int64)
        self._actor_factions = [(i, int(f)) for i, f in enumerate(self.faction_of) if f >= 0]
        self._column_forces = [i for i in range(len(self.actor_ids)) if self.is_gov[i] and not self.is_merc[i]]
        self._unit_size = np.array([scenario.actors[a].unit_size for a in self.actor_ids])
        self._deploy_regions: dict[str, list[str]] = {}
        rng_place = self.streams["placement"]
        for force in self.forces.values():
            if force.spec.strength > 0:
                cells, weights = self.deployment_cells(force)
                force.add_fighters(force.spec.strength, cells, weights, rng_place)
                force.establishment = force.spec.strength

        self.events = EventLog(self.run_id, self.seed)
        self.recorder = Recorder(self)
        self._interventions = sorted(scenario.interventions.items(), key=lambda kv: (kv[1].date, kv[0]))
        self._next_iv = 0
        self._closing_bases: dict[str, list] = {}

        # state as of the start date: interventions dated before it take effect now
        self._apply_interventions(until=self.start_date, log=False)
        self._hostility_cache: dict[tuple[bool, bool], tuple[np.ndarray, dict, np.ndarray]] = {}
        self.hostility = self._hostility()
        self._fields()
        pressure = self._pressure()
        if m.vacuum.start_with_state_control and self.state_faction >= 0:
            self.influence[self.state_faction] = 1.0  # sovereignty over the whole territory
        for _ in range(0 if m.vacuum.start_with_state_control else 60):  # settle to the balance of forces
            self.influence = territory.update_influence(
                self.influence, pressure, adjacency=self.adjacency, degree=self.degree,
                baseline=m.vacuum.ungoverned_pressure, rate=0.5, spread_weight=m.vacuum.spread_weight)
        self.control = territory.control_from_influence(self.influence, m.vacuum.control_threshold)
        self._taken_over = np.zeros(n, dtype=bool)
        self._last_held = np.full((len(self.factions), n), -np.inf)  # last week each faction held each cell
        self.running = True

    # ================================================================ helpers
    def _side(self, actor_id: str) -> np.ndarray:
        """Actors on the side of ``actor_id``: itself and those whose faction is its faction."""
        f = self.config.actor_faction(actor_id)
        return np.array([a == actor_id or (f is not None and self.config.actor_faction(a) == f)
                         for a in self.actor_ids])

    def region_mask(self, regions: list[str] | tuple[str, ...]) -> np.ndarray:
        key = tuple(regions)
        mask = self._region_masks.get(key)
        if mask is None:
            mask = self._region_masks[key] = np.isin(self.grid.region, [REGIONS.index(r) for r in key])
        return mask

    def _cell_locations(self) -> list[tuple[str, float, float, int]]:
        """ACLED-style location per cell: its largest town, else the cell centre."""
        g = self.grid
        out: list[tuple[str, float, float, int] | None] = [None] * self.n_cells
        for town in g.towns:  # sorted by population, largest first
            if town.cell is not None and out[town.cell] is None:
                out[town.cell] = (town.name, town.lat, town.lon, 1)
        for c in range(self.n_cells):
            if out[c] is None:
                out[c] = (f"{REGIONS[g.region[c]]} (PRIO-GRID {int(g.gid[c])})", float(g.lat[c]), float(g.lon[c]), 3)
        return out  # type: ignore[return-value]

    def kernel(self, reach_km: float) -> np.ndarray:
        """The distance kernel of ``reach_km`` (read-only; a view of the kernel stack when it is
        one of its kernels)."""
        key = round(float(reach_km), 3)
        k = self._kernels.get(key)
        if k is None:
            k = self._kernels[key] = territory.distance_kernel(self.grid.distance_km, key)
            k.flags.writeable = False
        return k

    def candidates(self, radius_km: float) -> np.ndarray:
        return _candidate_table(self.grid, round(float(radius_km), 1))

    def deployment_cells(self, force: Force) -> tuple[np.ndarray, np.ndarray]:
        """Where new units of ``force`` appear: its open bases (threatened sectors first), the
        host's columns (mercenaries), or its footprint inside its regions (armed groups)."""
        spec = force.spec
        if spec.kind == "mercenary" and spec.embedded_with in self.forces:
            host = self.forces[spec.embedded_with]
            if host.n_units:
                cells = np.unique(host.unit_cell[host.unit_mobile] if host.unit_mobile.any() else host.unit_cell)
                return cells, np.ones(cells.size)
        if force.base_cell.size:
            cells = force.open_base_cells()
            target = self._deploy_regions.get(force.actor_id)
            if target is not None and cells.size:  # a dated deployment to named regions (Kidal, 2023)
                inside = cells[self.region_mask(target)[cells]]
                cells = inside if inside.size else cells
            if cells.size:
                pos = self.config.mechanisms.posture
                from sahel_sim.model.mechanisms import posture

                w = posture.sector_threat(cells, self.threat, self.kernel(pos.sector_radius_km),
                                          baseline=pos.baseline_threat)
                return cells, w
        regions = self._deploy_regions.get(force.actor_id, spec.regions)
        cells = np.flatnonzero(self.region_mask(regions))
        a = self.actor_index[force.actor_id]
        if self.is_armed[a]:  # armed groups appear in their sanctuaries and social base
            return cells, self.footprint[a, cells]
        return cells, np.sqrt(self.pop_home[cells] + 1.0)

    def end_deployment(self, actor_id: str) -> None:
        """A dated deployment to named regions is complete: new units go where the threat is."""
        self._deploy_regions.pop(actor_id, None)

    @property
    def population_present(self) -> np.ndarray:
        return self.pop_home + self.idp_host

    @property
    def jihadist_support(self) -> np.ndarray:
        return self.support[self.faction_is_jihadist].sum(axis=0)

    def enemy_presence(self, a: int) -> np.ndarray:
        """Armed enemies' presence in each cell."""
        hostile = self.hostility[a] & self.is_armed
        return self.P[hostile].sum(axis=0) if hostile.any() else np.zeros(self.n_cells)

    # ================================================================ fields
    def _fields(self) -> None:
        A = len(self.actor_ids)
        forces = self._force_list
        m = self.config.mechanisms
        kernels, k_presence, k_strike, _, _ = self._kernel_stack()
        # every actor's units, actor by actor (units do not change again before the losses)
        sizes = [f.n_units for f in forces]
        units = (np.repeat(np.arange(A), sizes), np.concatenate([f.unit_cell for f in forces]),
                 np.concatenate([f.unit_fighters for f in forces]))
        self._week_units = (units, np.cumsum([0, *sizes]).tolist())
        self.S, self.P, self.R = territory.presence_fields(units[1], units[2], units[0], A, kernels, k_presence,
                                                           k_strike, ~self.is_pk)
        # garrisons hemmed in by armed enemies hold their cell only; state-side presence stops at
        # its area of operations (a line of control); reach of distant strikes (jihadist groups)
        aoo, has_aoo = self._aoo_masks()
        far_on = m.combat.far_strike_share > 0
        k_far = self.kernel(m.combat.far_strike_reach_km) if far_on else self._no_kernel
        self.security, self.vacuum, self.pk_cover, R_far = territory.constrain_fields(
            self.S, self.P, self.R, self._hostile_armed, kernels, k_presence, m.posture.siege_weight, self.is_gov,
            self.is_pk, aoo, has_aoo, m.vacuum.security_half_strength, m.peacekeeping.protection_half_presence,
            m.vacuum.peacekeeper_weight, self.is_jihadist & far_on, k_far)
        if far_on:
            self.R_far = R_far
        rows, occ = np.nonzero(self.S)
        bounds = np.searchsorted(rows, np.arange(A + 1)).tolist()
        self._occupied = [occ[bounds[i]:bounds[i + 1]] for i in range(A)]  # cells each actor's units hold

    def _aoo_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """The areas of operations of the state-side actors as an (A, n) 0/1 array and whether
        each actor has one to keep to (a force that may operate everywhere has none); the
        state's side of a line of control (``posture.area_of_operations_only``). Cached: the
        allowed regions change a few times a run."""
        key = tuple(tuple(f.allowed_regions) for f in self._force_list)
        if getattr(self, "_aoo_key", None) != key:
            A = len(self.actor_ids)
            aoo, has = np.ones((A, self.n_cells)), np.zeros(A, dtype=bool)
            if self.config.mechanisms.posture.area_of_operations_only:
                for i in np.flatnonzero(self.is_gov).tolist():
                    mask = self.region_mask(self._force_list[i].allowed_regions)
                    if not mask.all():
                        aoo[i], has[i] = mask, True
            self._aoo_key, self._aoo_cache = key, (aoo, has)
        return self._aoo_cache

    def _kernel_stack(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """The distance kernels the compiled stages use as one (K, n, n) array, and indices
        into it: each actor's presence, strike-reach and recruitment-exposure kernels, and the
        militias' alarm kernel (looked up again only when a reach factor changes; the stack
        itself is shared by the process's models, :class:`KernelStacks`)."""
        key = tuple(f.reach_factor for f in self._force_list)
        if getattr(self, "_kernel_stack_key", None) != key:
            rec = self.config.mechanisms.recruitment
            reaches: list[float] = []
            index: dict[float, int] = {}

            def slot(reach_km: float) -> int:
                r = round(float(reach_km), 3)  # as kernel() keys them
                if r not in index:
                    index[r] = len(reaches)
                    reaches.append(r)
                return index[r]

            rows = [[slot(f.spec.reach_km * f.reach_factor), slot(f.spec.strike_reach_km * f.reach_factor),
                     slot(rec.exposure_reach_factor * f.spec.reach_km)] for f in self._force_list]
            alarm = slot(rec.militia_alarm_km)
            idx = np.array(rows, dtype=np.int64)
            stack = KERNEL_STACKS.get(self.grid.distance_km, tuple(reaches),
                                      lambda: np.stack([self.kernel(r) for r in reaches]))
            # the model's kernels of these reaches are views of the stack from now on
            self._kernels.update({r: stack[j] for j, r in enumerate(reaches)})
            self._kernel_stack_key = key
            self._kernel_stack_cache = (stack, idx[:, 0].copy(), idx[:, 1].copy(), idx[:, 2].copy(), alarm)
        return self._kernel_stack_cache

    def _hostility(self) -> np.ndarray:
        """Who fights whom (read-only: it is shared by the weeks with the same accord and
        rivalry state); also selects the control-sides cache that goes with it."""
        rivalry_on = self.current_date >= self.config.mechanisms.rivalry.start_date
        key = (self.accord_parties, rivalry_on)
        cached = self._hostility_cache.get(key)
        if cached is None:
            sides = None if self.accord_parties is None else tuple(self._side(p) for p in self.accord_parties)
            h = accord.hostility(self._base_hostility, accord_sides=sides,
                                 rival_sides=self._rival_sides if rivalry_on else None)
            h.flags.writeable = False
            cached = self._hostility_cache[key] = (h, {}, h & self.is_armed[None, :])
        self._sides_cache = cached[1]
        self._hostile_armed = cached[2]  # each actor's armed enemies
        return cached[0]

    def _pressure(self) -> np.ndarray:
        """Territorial pressure per faction (F, n): presence of the faction's actors (read-only;
        computed once per presence field)."""
        if getattr(self, "_pressure_of", None) is not self.P:
            pressure = np.zeros((len(self.factions), self.n_cells))
            for i, f in self._actor_factions:
                pressure[f] += self.P[i]
            pressure.flags.writeable = False
            self._pressure_of, self._pressure_cached = self.P, pressure
        return self._pressure_cached

    # ================================================================ step
    def step(self) -> None:
        """One week, in the order of docs/ODD.md section 3."""
        t = self.steps - 1
        if t >= self.n_steps:  # past the end date: nothing more happens
            self.running = False
            return
        self.week = t
        self.current_date = self.start_date + dt.timedelta(days=7 * t)
        self._apply_interventions(until=self.current_date + dt.timedelta(days=7), log=True)  # dated facts
        self._social_bases()                  # dated social bases taken up or given up (recruitment)
        self._posture()                       # strength schedules, dated bases, camps (posture)
        self._check_accord()                  # the accord without its guarantor (accord)
        self.hostility = self._hostility()    # who fights whom this week (accord, rivalry)
        for a in self.actor_ids:              # units move, in scenario order (movement, posture)
            self.forces[a].move()
        self._fields()                        # presence, reach, security (territory)
        week = self._violence()               # attacks, operations, violence against civilians (strikes, civilians, combat)
        self._territory(week)                 # influence and control (territory)
        self._society(week)                   # grievance and support (grievance)
        self._recruit()                       # recruitment, funding, expansion (recruitment, expansion)
        self._displacement(week)              # flight and return (displacement)
        self.recorder.record(week)
        if self.steps >= self.n_steps:
            self.running = False

    # ---------------------------------------------------------------- interventions
    def _apply_interventions(self, *, until: dt.date, log: bool) -> None:
        while self._next_iv < len(self._interventions) and self._interventions[self._next_iv][1].date < until:
            iid, iv = self._interventions[self._next_iv]
            self._next_iv += 1
            elapsed = max(0, (self.current_date - iv.date).days // 7) if not log else 0
            self._apply(iid, iv, elapsed_weeks=elapsed, log=log)

    def _apply(self, iid: str, iv, *, elapsed_weeks: int, log: bool) -> None:
        kind = iv.type
        force = self.forces.get(getattr(iv, "actor", ""))
        if kind in ("deploy", "set_strength", "withdraw"):
            weeks_left = max(1, iv.over_weeks - elapsed_weeks)
            if kind == "deploy":
                if iv.regions:
                    self._deploy_regions[force.actor_id] = list(iv.regions)
                target = force.scheduled_target + iv.strength
            elif kind == "set_strength":
                target = iv.strength
            else:
                target = 0.0
                if iv.follow_base_closures:
                    force.closing_bases = True
            force.schedule_strength(target, weeks_left, cross_border=getattr(iv, "cross_border", False))
            if elapsed_weeks >= iv.over_weeks or not log:
                for _ in range(min(iv.over_weeks, elapsed_weeks) or 0):
                    force.ramp(self)
                if force.closing_bases:
                    self._close_bases(force)
        elif kind == "restrict_movement":
            force.reach_factor = iv.reach_factor
        elif kind == "set_regions":
            force.allowed_regions = list(iv.regions)
        elif kind in ("close_bases", "open_bases"):
            force.set_bases_open(list(iv.bases), kind == "open_bases")
            if log and kind == "close_bases":
                for name in iv.bases:
                    if name in force.base_names:
                        cell = int(force.base_cell[force.base_names.index(name)])
                        self._log_strategic("Non-violent transfer of territory", [force.actor_id], cell=cell)
        elif kind == "sign_accord":
            self.accord_parties = tuple(iv.parties or self.config.mechanisms.accord.parties)
            if log:
                self._log_strategic("Agreement", list(self.accord_parties), cell=self._capital_cell())
        elif kind == "end_accord":
            if self.accord_in_force and log:
                self._log_strategic("Change to group/activity", list(self.accord_parties), cell=self._capital_cell())
            self.accord_parties = None
        elif kind in ("merge", "split") and not log:
            pass  # dated before the run starts: the strengths the scenario gives at its start hold them
        elif kind == "merge":
            into = self.forces[iv.into]
            cell, home, fighters, mobile = force.take_units(force.strength)
            into.join_units(cell, home, fighters, mobile)
            into.funds += max(force.funds, 0.0)
            into.external_base += force.external_base
            force.funds = force.external_base = 0.0
            force.clear_schedule()  # a deployment still scheduled for the absorbed group lapses
            if log and fighters.size:
                self._log_strategic("Change to group/activity", [force.actor_id, into.actor_id],
                                    cell=int(cell[np.argmax(fighters)]))
        elif kind == "split":
            parent = self.forces[iv.parent]
            mask = self.region_mask(iv.regions) if iv.regions else None
            cell, home, fighters, mobile = parent.take_units(iv.strength, mask)
            force.join_units(cell, home, fighters, mobile)
            if log and fighters.size:
                where = int(cell[np.argmax(fighters)])
                self._log_strategic("Change to group/activity", [force.actor_id, parent.actor_id], cell=where)
        elif kind == "coup":
            recovery = self.config.mechanisms.grievance.legitimacy_recovery_per_week
            shock = iv.legitimacy_shock * (1.0 - recovery) ** elapsed_weeks
            self.legitimacy = max(0.0, self.legitimacy - shock)
            if log and self.state_faction >= 0:
                self._log_strategic("Change to group/activity", [self.factions[self.state_faction]], cell=self._capital_cell())

    def _capital_cell(self) -> int:
        """Where national events (coups, accords) are located: Bamako's cell, else the most
        populous cell (toy worlds)."""
        cells = np.flatnonzero(self.grid.region == REGIONS.index("Bamako"))
        return int(cells[0]) if cells.size else int(np.argmax(self.grid.population))

    # ---------------------------------------------------------------- posture
    def _social_bases(self) -> None:
        """Dated social bases come into use or are given up (mechanisms/recruitment.py). Like the
        dated interventions, an anchor dated within this week applies from this week."""
        week_end = self.current_date + dt.timedelta(days=7)
        if not self._anchor_dates or self._anchor_dates[0] >= week_end:
            return
        while self._anchor_dates and self._anchor_dates[0] < week_end:
            self._anchor_dates.pop(0)
        floor = self.config.mechanisms.recruitment.affinity_floor
        for i, a in enumerate(self.actor_ids):
            if self.is_armed[i]:
                new = recruitment.affinity(self.grid.lat, self.grid.lon, self.config.actors[a].social_base,
                                           floor=floor, date=week_end - dt.timedelta(days=1))
                lost = np.clip(self.affinity[i] - new, 0.0, None)  # a base given up no longer counts
                self.footprint[i] = np.maximum(new, self.footprint[i] - lost)
                self.affinity[i] = new

    def _posture(self) -> None:
        """Strength schedules, dated sites, camp closures (mechanisms/posture.py)."""
        for force in self.forces.values():
            force.update_site_dates(self.current_date)
            force.ramp(self)
            if force.closing_bases:
                self._close_bases(force)

    def _close_bases(self, force: Force) -> None:
        """Hand over camps whose documented closure date has passed (logged as transfers)."""
        done = self._closing_bases.setdefault(force.actor_id, [])
        for b in self.grid.bases:
            if b.kind != force.spec.bases or b.closed is None or b.closed >= self.current_date + dt.timedelta(days=7):
                continue
            if b.name in done:
                continue
            done.append(b.name)
            gone = force.close_units_at(np.array([b.cell]))
            if b.name in force.base_names:
                force.base_open[force.base_names.index(b.name)] = False
            if gone > 0 and self.steps > 0:
                to = self.factions[self.state_faction] if self.state_faction >= 0 else ""
                self._log_strategic("Non-violent transfer of territory", [force.actor_id, to] if to else [force.actor_id],
                                    cell=b.cell)

    @property
    def accord_in_force(self) -> bool:
        """Whether an agreement between the scenario's parties holds this week."""
        return self.accord_parties is not None

    def _check_accord(self) -> None:
        acc = self.config.mechanisms.accord
        if not self.accord_in_force or acc.guarantor is None:
            return
        g = self.forces[acc.guarantor]
        if accord.guarantor_present(g.strength, g.peak_strength, acc.guarantor_min_share):
            return
        if self.streams["accord"].random() < acc.collapse_hazard_per_week:
            self._log_strategic("Change to group/activity", list(self.accord_parties), cell=self._capital_cell())
            self.accord_parties = None

    def _log_strategic(self, sub: str, actor_ids: list[str], *, cell: int) -> None:
        a1 = self.forces[actor_ids[0]]
        a2 = self.forces[actor_ids[1]] if len(actor_ids) > 1 else None
        name, lat, lon, prec = self._locations[cell]
        self.events.add(event_date=self.current_date, week=max(self.steps - 1, 0), sub_event_type=sub,
                        actor1=self._parent_name(a1), assoc_actor_1=self._assoc_name(a1), inter1=a1.spec.inter,
                        actor2=self._parent_name(a2) if a2 else "", assoc_actor_2=self._assoc_name(a2) if a2 else "",
                        inter2=a2.spec.inter if a2 else 0, admin1=REGIONS[self.grid.region[cell]], location=name,
                        latitude=lat, longitude=lon, geo_precision=prec, fatalities=0, gid=int(self.grid.gid[cell]),
                        actor1_id=a1.actor_id, actor2_id=a2.actor_id if a2 else "")
        jihadist = any(self.config.actors[a].kind == "jihadist" for a in actor_ids if a)
        self.recorder.note_logged(cell, SUB_TO_TYPE[sub], militant_islamist=jihadist)

    def _parent_name(self, force: Force) -> str:
        parent = force.spec.part_of
        return self.forces[parent].acled_name(self.current_date) if parent else force.acled_name(self.current_date)

    def _assoc_name(self, force: Force) -> str:
        return force.acled_name(self.current_date) if force.spec.part_of else ""

    # ---------------------------------------------------------------- violence
    @property
    def legitimacy_gap(self) -> float:
        return max(0.0, self.config.mechanisms.grievance.legitimacy_start - self.legitimacy)

    def _channels(self) -> tuple[np.ndarray, np.ndarray]:
        """Event channels, an (C, 3) array of (attacker, target or -1 for civilians, kind), and
        their expected counts per cell this week (C, n), for all attackers at once
        (mechanisms/strikes.py and civilians.py)."""
        m = self.config.mechanisms
        c, pk, cv = m.combat, m.peacekeeping, m.civilians
        A = len(self.actor_ids)
        _, deter = peacekeeping.cover_factors(self.pk_cover, protection=pk.protection, deterrence=pk.deterrence)
        forces = self._force_list
        strength = np.array([f.strength for f in forces])
        mobile = np.zeros(A)  # mobile troops count only for state-side forces other than mercenaries
        for i in self._column_forces:
            f = forces[i]
            mobile[i] = f.unit_fighters[f.unit_mobile].sum()
        tempo = self._tempo  # aggression, civilian targeting per actor
        active = (strength > 0) & ~self.is_pk
        # weekly budgets: per 1,000 mobile troops (state side), per 100 fighters (armed groups)
        troops = np.where(self.is_merc, strength, mobile)
        budget = np.where(self.is_gov, c.operations_rate_per_week * troops / 1000.0,
                          c.battle_rate_per_week * strength / 100.0) * tempo[0] * active
        civ_rate = np.where(self.is_gov, cv.state_harm_rate_per_week * troops / 1000.0 * (1.0 + self.legitimacy_gap),
                            np.where(self.is_militia, cv.militia_rate_per_week, cv.coercion_rate_per_week)
                            * strength / 100.0)
        civ_budget = civ_rate * tempo[1] * active
        # attacks on armed enemies, peacekeepers and state-side forces
        n_split, split_kind, split_frac = self._split_table()
        far_on = c.far_strike_share > 0
        # jihadist groups keep (1 - far_strike_share) of their budget for targets within reach
        local_budget = budget * np.where(self.is_jihadist, 1.0 - c.far_strike_share, 1.0) if far_on else budget
        table, attack = strikes.hostile_channels(
            self.hostility, active, local_budget, self.P, self.R, self.is_armed, self.is_pk, self._rival_pair,
            pk.target_weight, m.rivalry.battle_weight, deter, c.target_half_presence, c.risk_aversion,
            c.opportunity_half, n_split, split_kind, split_frac)
        if far_on and table.shape[0]:  # distant strikes on high-value state targets (strikes.add_far_rates)
            audience = strikes.audience_value(self.population_present, c.far_strike_audience_power)
            strikes.add_far_rates(table, attack, self.is_jihadist, self.is_gov, self.R_far, audience, self.P,
                                  c.far_strike_share * budget, c.target_half_presence, c.risk_aversion, split_frac)
        channels: list[np.ndarray] = [table]
        rates: list[np.ndarray] = [attack]
        # violence against civilians: selective where control is contested (Kalyvas); militias
        # against communities that support the jihadists
        attackers = (civ_budget > 0).nonzero()[0]
        if attackers.size:
            rates.append(civilians.civilian_channel_rates(
                self.R, attackers, civ_budget[attackers], self.population_present, self.pk_cover, pk.protection,
                cv.population_half, c.opportunity_half, self.is_militia, self.support, self.faction_is_jihadist,
                self.influence, self._civilian_roles(), cv.selective_peak_share, cv.selective_sharpness))
            vac = np.empty((attackers.size, 3), dtype=np.int64)
            vac[:, 0], vac[:, 1], vac[:, 2] = attackers, -1, VAC
            channels.append(vac)
        if len(rates) == 1:
            return channels[0], rates[0]
        return np.concatenate(channels), np.concatenate(rates)

    def _civilian_roles(self) -> np.ndarray:
        """(A, F): 1 where a faction's control counts as actor a's own, 2 where as its enemies'
        (:meth:`_control_sides`), for the week's hostility."""
        cache = self._sides_cache
        if "roles" not in cache:
            roles = np.zeros((len(self.actor_ids), len(self.factions)), dtype=np.int8)
            for a in range(len(self.actor_ids)):
                own, rival = self._control_sides(a)
                roles[a, list(rival)] = 2
                roles[a, list(own)] = 1
            cache["roles"] = roles
        return cache["roles"]

    def _split_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How an attack by actor a on actor b splits into event kinds (static per run):
        ``(n_kinds[a, b], kind[a, b, j], share[a, b, j])``. Attacks on peacekeepers are their
        own kind; armed groups hit state-side forces with battles and IEDs
        (``remote_violence_ratio``); foreign forces with ground battles and air strikes
        (``strike_share``); every other pair fights battles."""
        if not hasattr(self, "_split_cache"):
            c = self.config.mechanisms.combat
            A = len(self.actor_ids)
            n = np.ones((A, A), dtype=np.int64)
            kind = np.full((A, A, 2), BATTLE, dtype=np.int64)
            frac = np.zeros((A, A, 2))
            frac[:, :, 0] = 1.0
            ied = c.remote_violence_ratio / (1.0 + c.remote_violence_ratio)
            for a in range(A):
                for b in range(A):
                    if self.is_pk[b]:
                        kind[a, b, 0] = PK_ATTACK
                    elif self.is_armed[a] and self.is_gov[b]:
                        n[a, b] = 2
                        kind[a, b] = (BATTLE, REMOTE)
                        frac[a, b] = (1.0 - ied, ied)
                    elif self.kinds[a] == "foreign":
                        n[a, b] = 2
                        kind[a, b] = (BATTLE, STRIKE)
                        frac[a, b] = (1.0 - c.strike_share, c.strike_share)
            self._split_cache = (n, kind, frac)
        return self._split_cache

    @property
    def _tempo(self) -> np.ndarray:
        """(2, A): each actor's aggression and civilian targeting."""
        if not hasattr(self, "_tempo_cache"):
            self._tempo_cache = np.array([[self.config.actors[a].aggression for a in self.actor_ids],
                                          [self.config.actors[a].civilian_targeting for a in self.actor_ids]])
        return self._tempo_cache

    def _control_sides(self, a: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Factions whose control counts as the attacker's own and as its enemies'. State-side
        forces without a faction (Barkhane) act for the state; the state's enemies in its sweeps
        are the jihadists. Cached per hostility matrix (it takes a handful of values a run:
        the accord and the rivalry switch it)."""
        cache = self._sides_cache
        if a not in cache:
            cache[a] = self._control_sides_uncached(a)
        return cache[a]

    def _control_sides_uncached(self, a: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if self.is_gov[a]:
            own = (self.state_faction,) if self.state_faction >= 0 else ()
            return own, tuple(np.flatnonzero(self.faction_is_jihadist).tolist())
        f = self.faction_of[a]
        own = (int(f),) if f >= 0 else ()
        rivals = np.unique(self.faction_of[self.hostility[a] & (self.faction_of >= 0)])
        return own, tuple(int(x) for x in rivals if x not in own)

    def _violence(self) -> dict[str, np.ndarray]:
        """Draw this week's events and their fatalities; apply losses; log the events."""
        m = self.config.mechanisms
        c = m.combat
        rng = self.rng
        n, A = self.n_cells, len(self.actor_ids)
        channels, rates = self._channels()
        ch_idx, cells = strikes.draw_events(rng, rates)
        n_ev = ch_idx.size

        if n_ev:
            att, tgt, kind = (np.ascontiguousarray(x) for x in channels[ch_idx].T)
            strength = np.array([f.strength for f in self._force_list])
            e_att, e_def, mean_att, mean_def, vac_mean = combat.engagement_means(
                att, tgt, kind, cells, self._unit_size, strength, self.S, self.P, self._lethality, self.is_merc,
                c.engaged_presence_share, c.attrition_per_engagement, c.remote_lethality,
                c.peacekeeper_attack_lethality, c.strike_lethality, m.civilians.fatalities_per_attack,
                m.civilians.mercenary_fatality_multiplier, REMOTE, STRIKE, PK_ATTACK)
            abduct = (kind == VAC) & (rng.random(n_ev) < m.civilians.abduction_share)
            vac_mean = np.where(abduct, m.civilians.abduction_fatalities, vac_mean)
            shape = c.fatality_dispersion
            draws = combat.negbin(rng, np.concatenate([mean_att, mean_def, vac_mean]),
                                  np.repeat([shape, shape, m.civilians.fatality_dispersion], n_ev))
            is_vac = kind == VAC
            l_att = np.minimum(draws[:n_ev], np.ceil(e_att))
            l_def = np.where(is_vac, 0, np.minimum(draws[n_ev:2 * n_ev], np.ceil(e_def)))
            civ = np.where(is_vac, draws[2 * n_ev:], 0)
            ied_civ = np.where(kind == REMOTE, rng.binomial(l_def.astype(np.int64), c.ied_civilian_share), 0)
            l_def = l_def - ied_civ
            civ = civ + ied_civ
            ra, rb = self._rival_sides
            losses, civ_deaths, civ_by_actor, events_cell, jihad_events, armed_attacks, rival_fights, by_attacker = \
                combat.week_tallies(att, tgt, cells, l_att, l_def, civ, A, n, self.is_jihadist, self.is_armed, ra, rb)
            combatants = l_att + l_def
            types = self._log_events(att, tgt, kind, cells, combatants + civ, abduct)
            self.recorder.note_events(att, tgt, types, cells, combatants, civ)
            self._apply_losses(losses)
        else:
            losses, civ_by_actor, by_attacker = np.zeros((A, n)), np.zeros((A, n)), np.zeros((A, n))
            civ_deaths, events_cell, jihad_events, armed_attacks = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
            rival_fights = np.zeros(n, dtype=bool)
        self.civilian_deaths_total += civ_deaths
        mem = m.displacement.violence_memory_weeks
        self.violence_recent += (events_cell - self.violence_recent) / mem
        self.jihadist_violence_recent += (jihad_events - self.jihadist_violence_recent) / mem
        self.attacks_recent += (by_attacker - self.attacks_recent) / mem
        self.threat += (armed_attacks - self.threat) / m.posture.threat_memory_weeks
        return {"events": events_cell, "civ_deaths": civ_deaths, "civ_by_actor": civ_by_actor,
                "deaths": civ_deaths + losses.sum(axis=0), "rival_fights": rival_fights}

    def _apply_losses(self, losses: np.ndarray) -> None:
        """Spread each actor's losses at cells (A, n) over its units by fighters times proximity
        (``combat.distribute_losses``), with the units of this week's fields."""
        (unit_actor, unit_cell, fighters), offsets = self._week_units
        kernels, _, k_strike, _, _ = self._kernel_stack()
        per_unit = combat.distribute_losses(losses, unit_actor, unit_cell, fighters, kernels, k_strike)
        for i in losses.any(axis=1).nonzero()[0].tolist():
            force = self._force_list[i]
            if force.n_units:
                force.apply_losses(per_unit[offsets[i]:offsets[i + 1]])

    def _log_events(self, att, tgt, kind, cells, fatalities, abduct) -> np.ndarray:
        """Append the week's events to the log; returns each event's index in EVENT_TYPES."""
        rng_dates = self.streams["dates"]
        k = att.size
        offsets = rng_dates.integers(0, 7, size=k)
        pk_ied = rng_dates.random(k) < self.config.mechanisms.combat.peacekeeper_ied_share
        sub = _SUB_OF_KIND[kind, abduct.astype(np.int64), pk_ied.astype(np.int64)]
        names = self._actor_names()
        t2 = np.where(tgt >= 0, tgt, len(self.actor_ids))  # the row after the actors is "Civilians (Mali)"
        # what ACLED would record: a share of armed groups' events with no named perpetrator
        # (config.observation); actor1_id keeps the model's perpetrator
        obs = self.config.observation
        hidden = self._unattributable[att] & (self.streams["attribution"].random(k) < obs.unattributed_share)
        a1 = np.where(hidden, len(self.actor_ids) + 1, att)  # the last row is "Unidentified Armed Group (Mali)"
        loc = self._loc
        self.events.add_lookup_batch(
            k, values={"event_date": np.datetime64(self.current_date, "D") + offsets, "week": self.week,
                       "fatalities": fatalities.astype(np.int64)},
            lookups={"sub_event_type": (_SUB_NAMES, sub), "actor1": (names["actor"], a1),
                     "assoc_actor_1": (names["assoc"], a1), "inter1": (names["inter"], a1),
                     "actor2": (names["actor"], t2), "assoc_actor_2": (names["assoc"], t2),
                     "inter2": (names["inter"], t2), "admin1": (loc["admin1"], cells), "location": (loc["name"], cells),
                     "latitude": (loc["lat"], cells), "longitude": (loc["lon"], cells),
                     "geo_precision": (loc["precision"], cells), "gid": (self.grid.gid, cells),
                     "actor1_id": (names["id"], att), "actor2_id": (names["id"], t2)})
        return _SUB_TYPE_INDEX[sub]

    def _actor_names(self) -> dict[str, np.ndarray]:
        """ACLED names of every actor this week (they change with regimes), civilians last."""
        if not hasattr(self, "_name_changes"):
            self._name_changes = sorted({n.from_date for a in self.actor_ids for n in self.config.actors[a].acled_names})
        era = bisect.bisect_right(self._name_changes, self.current_date)  # names change only on these dates
        if getattr(self, "_names_era", None) != era:
            self._names_era = era
            forces = [self.forces[a] for a in self.actor_ids]
            self._names = {
                "actor": np.array([self._parent_name(f) for f in forces] + [CIVILIANS_ACTOR, UNIDENTIFIED_ACTOR],
                                  dtype=object),
                "assoc": np.array([self._assoc_name(f) for f in forces] + ["", ""], dtype=object),
                "inter": np.array([f.spec.inter for f in forces] + [CIVILIANS_INTER, UNIDENTIFIED_INTER], dtype=np.int64),
                "id": np.array([*self.actor_ids, "Civilians", ""], dtype=object),
            }
        return self._names

    # ---------------------------------------------------------------- territory
    def _territory(self, week: dict[str, np.ndarray]) -> None:
        m = self.config.mechanisms.vacuum
        pressure = self._pressure() * (1.0 + self.support)  # armed factions press harder where people support them
        before = self.control
        adj = self.adjacency
        self.influence, self.control = territory.step_influence(
            self.influence, pressure, adj.indptr, adj.indices, adj.data, self.degree, m.ungoverned_pressure,
            m.influence_rate_per_week, m.spread_weight, m.control_threshold, before, max(m.overtake_margin, 0.0))
        changed = (self.control != before) & (self.control >= 0)
        held = (self.control >= 0).nonzero()[0]
        # residents flee a takeover by a group they have not lived under lately (displacement.novel_takeover)
        self._taken_over = displacement.novel_takeover(
            self.control, changed & self.faction_is_armed[np.maximum(self.control, 0)], self._last_held, self.steps,
            memory_weeks=self.config.mechanisms.displacement.takeover_memory_weeks)
        self._last_held[self.control[held], held] = self.steps
        for cell in (changed & self._has_town).nonzero()[0]:
            new = self.factions[self.control[cell]]
            old = self.factions[before[cell]] if before[cell] >= 0 else None
            sub = "Government regains territory" if self.control[cell] == self.state_faction else "Non-state actor overtakes territory"
            self._log_strategic(sub, [new, old] if old else [new], cell=int(cell))

    @property
    def _has_town(self) -> np.ndarray:
        if not hasattr(self, "_town_mask"):
            mask = np.zeros(self.n_cells, dtype=bool)
            for t in self.grid.towns:
                if t.cell is not None and t.population >= 10000:
                    mask[t.cell] = True
            self._town_mask = mask
        return self._town_mask

    # ---------------------------------------------------------------- society
    def _society(self, week: dict[str, np.ndarray]) -> None:
        m = self.config.mechanisms
        g = m.grievance
        pop = self.population_present
        self.legitimacy += g.legitimacy_recovery_per_week * (g.legitimacy_start - self.legitimacy)
        adj = self.adjacency
        self.grievance, self.support = grievance.step_society(
            self.grievance, self.support, self.influence, self._pressure(), week["civ_by_actor"],
            self.is_gov | self.is_militia, self.faction_of, self.faction_is_armed, pop, adj.indptr, adj.indices,
            adj.data, self.degree, g.harm_sensitivity, g.spillover, g.decay_per_week, g.baseline + self.legitimacy_gap,
            m.vacuum.ungoverned_pressure, g.support_rate_per_week, g.support_harm_sensitivity)
        if week["rival_fights"].any():
            ra = self.faction_of[np.flatnonzero(self._rival_sides[0])[0]]
            if ra >= 0:
                gain = m.rivalry.protection_support_gain
                cells = week["rival_fights"]
                self.support[ra, cells] += gain * (1.0 - self.support[:, cells].sum(axis=0))

    def _recruit(self) -> None:
        """Recruitment from each group's social base, funding, and expansion when saturated."""
        m = self.config.mechanisms
        rec, fund, ex = m.recruitment, m.funding, m.expansion
        pop = self.population_present
        forces = self._force_list
        strengths = np.array([f.strength for f in forces])
        armed_faction = np.where(self.is_armed, self.faction_of, -1)
        faction_strength = np.bincount(armed_faction[armed_faction >= 0], weights=strengths[armed_faction >= 0],
                                       minlength=len(self.factions))
        kernels, _, _, k_exposure, k_alarm = self._kernel_stack()
        pools = recruitment.recruit_pools(self._recruiter_index, self.is_militia, self.faction_of, pop, self.footprint,
                                          self.grievance, self.support, self.vacuum, rec.state_absence_weight, self.S,
                                          kernels, k_exposure, self.attacks_recent, self._base_hostility, k_alarm)
        for r, i in enumerate(self._recruiters):
            force = forces[i]
            spec = force.spec
            f = self.faction_of[i]
            weights, reached, exposure = pools[0][r], float(pools[1][r]), pools[2][r]
            recruits, ceiling = recruitment.logistic_recruits(force.strength, reached, rate=spec.recruitment_per_week,
                                                              per_thousand=spec.fighters_per_thousand
                                                              or rec.fighters_per_thousand_sympathisers,
                                                              sustained=force.external_base)
            force.remove_fighters(recruitment.demobilised(force.strength, ceiling,
                                                          share_per_week=rec.demobilisation_per_week))
            if not self.is_militia[i]:  # militias are community volunteers: no pay, no taxes
                if f >= 0:
                    total = faction_strength[f] or 1.0
                    income = fund.tax_per_capita_per_week * float((pop * self.influence[f]).sum()) * force.strength / total
                else:
                    income = fund.tax_per_capita_per_week * float((pop * exposure).sum()) * fund.unaligned_tax_share
                # fighters sustained by a base across the border (dated cross-border inflows) are paid from there
                paid = max(force.strength - force.external_base, 0.0)
                force.funds += income - fund.upkeep_per_fighter_per_week * paid
            if self.is_militia[i]:
                pass
            elif force.funds < 0:
                force.remove_fighters(fund.desertion_when_broke * force.strength)
                recruits = 0.0
            elif fund.recruit_cost > 0:
                recruits = min(recruits, force.funds / fund.recruit_cost)
            if spec.max_strength is not None:
                recruits = min(recruits, max(0.0, spec.max_strength - force.strength))
            force.last_capacity = ceiling
            force.last_recruits = recruits
            if recruits > 0 and reached > 0:
                if not self.is_militia[i]:
                    force.funds -= recruits * fund.recruit_cost
                cells = (weights > 0).nonzero()[0]
                force.add_fighters(recruits, cells, weights[cells], self.rng)
            if not self.is_jihadist[i]:
                continue  # separatists and militias are bound to their communities (docs/ODD.md M9)
            saturation = force.strength / ceiling if ceiling > 0 else 0.0
            self.footprint[i] = expansion.expand_compiled(self.footprint[i], saturation, conductance=self.conductance,
                                                          threshold=ex.saturation_threshold, rate=ex.rate_per_week)

    # ---------------------------------------------------------------- displacement
    def _displacement(self, week: dict[str, np.ndarray]) -> None:
        d = self.config.mechanisms.displacement
        near = (self.violence_recent > 1e-3).nonzero()[0]  # violent events a week nearby (symmetric kernel)
        threat = self.violence_recent[near] @ self.kernel(d.threat_radius_km)[near]
        fleeing = self.refuge.flight(pop_home=self.pop_home, events=week["events"], deaths=week["deaths"],
                                     takeover=self._taken_over, threat=threat, vacuum=self.vacuum, presence=self.P,
                                     is_armed=self.is_armed)
        self.pop_home -= fleeing
        self.pop_home += self.refuge.step(date=self.current_date, pop_home=self.pop_home, population=self.population_present,
                                          fleeing=fleeing, threat=threat, violence_recent=self.violence_recent)
        growth = self.config.population.growth_per_year
        if growth:
            factor = (1.0 + growth) ** (1.0 / 52.1775)
            self.pop_home *= factor
            self.refuge.grow(factor)
        v = self.refuge.views()
        self.idp_host, self.idp_origin, self.ref_origin = v["idp_host"], v["idp_origin"], v["ref_origin"]
        self.ref_country, self.ref_location = v["ref_country"], v["ref_location"]

    # ================================================================ outputs
    def weekly_frame(self):
        """National weekly series so far (pandas DataFrame), for live charts."""
        return self.recorder.national_frame()

    def result(self, *, wall_time_s: float = 0.0, event_notes: bool = True):
        """The run's tables (``event_notes=False``: the event log's ``notes`` column left null)."""
        from sahel_sim.run import RunResult

        return RunResult(scenario=self.config, seed=self.seed, run_id=self.run_id,
                         events=self.events.to_table(notes=event_notes),
                         weekly=self.recorder.weekly_table(), refugees=self.recorder.refugee_table(),
                         snapshots=self.recorder.snapshots(), wall_time_s=wall_time_s, n_steps=int(self.steps),
                         extra={"final_accord_in_force": bool(self.accord_in_force),
                                "final_legitimacy": float(self.legitimacy)})


def pressure_share(pressure: np.ndarray, ungoverned: float) -> np.ndarray:
    """Each faction's share of the pressure in every cell (see mechanisms/territory.py)."""
    return territory.pressure_share(pressure, ungoverned)


def total_population(model: SahelModel) -> float:
    """Residents + hosted IDPs + refugees abroad (conserved when growth is zero)."""
    return float(model.pop_home.sum() + model.idp_host.sum() + model.ref_country.sum())


__all__ = ["SahelModel", "total_population"]
