"""Each mechanism of docs/ODD.md moves outcomes in the documented direction on a toy world.

Toy worlds are a few PRIO-GRID cells with one or two units per actor (tests/toy.py); each
comparison changes one thing and averages a few seeds.
"""

from __future__ import annotations

import datetime as dt
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest

from sahel_sim.model.agents import FORCE_CLASSES
from tests.toy import START, actor, mean_over_seeds, run_toy, scenario, toy_grid

GARRISON = [("G", "fama_garrison", 0, None)]


def _events(model):
    return model.events.to_table().to_pandas()


def _pair_events(ev, a, b, event_type="Battles"):
    sel = ev[(ev.event_type == event_type)]
    return int((((sel.actor1_id == a) & (sel.actor2_id == b)) | ((sel.actor1_id == b) & (sel.actor2_id == a))).sum())


# --------------------------------------------------------------------------- M1 security vacuum
def test_m1_armed_groups_fill_the_vacuum_away_from_the_state() -> None:
    grid = toy_grid(bases=GARRISON)

    def outcome(fama: float, seed: int) -> tuple[float, float]:
        sc = scenario({
            "FAMa": actor("state", strength=fama, inter=1, bases="fama_garrison", mobile_share=0.0, aggression=0.0,
                          reach_km=80, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=300, aggression=0.0, enemies=["FAMa"]),
        }, weeks=52)
        m = run_toy(sc, grid, seed)
        f = m.forces["JNIM"]
        dist = float(np.average(grid.distance_km[0, f.unit_cell], weights=f.unit_fighters))
        jnim = m.faction_index["JNIM"]
        return dist, float((m.control == jnim).sum())

    weak = [outcome(10.0, s) for s in range(3)]
    strong = [outcome(3000.0, s) for s in range(3)]
    assert np.mean([d for d, _ in strong]) > np.mean([d for d, _ in weak]) + 20  # they keep away from the state
    assert np.mean([c for _, c in strong]) < np.mean([c for _, c in weak])        # and control less


def test_m1_control_spreads_along_neighbours() -> None:
    grid = toy_grid(rows=1, cols=10)
    sc = scenario({"JNIM": actor("jihadist", strength=400, move_km=0, regions=["Mopti"])}, weeks=60)
    from sahel_sim.model import SahelModel

    m = SahelModel(sc, seed=1, grid=grid)
    f = m.forces["JNIM"]
    f.unit_cell[:] = 0  # everyone sits at the west end
    f.unit_home[:] = 0
    m._fields()
    m.influence[:] = 0.0
    while m.running:
        m.step()
    infl = m.influence[m.faction_index["JNIM"]]
    assert infl[0] > 0.5
    assert np.all(np.diff(infl[:4]) < 0)  # decreasing with distance from the foothold
    assert infl[-1] < 0.05


# --------------------------------------------------------------------------- M2 combat
def test_m2_hostile_units_fight_and_lethality_drives_attrition() -> None:
    grid = toy_grid(bases=GARRISON)

    def run(enemies: bool, lethality: float, seed: int):
        sc = scenario({
            "FAMa": actor("state", strength=800, inter=1, bases="fama_garrison", lethality=lethality,
                          enemies=["JNIM"] if enemies else []),
            "JNIM": actor("jihadist", strength=600, enemies=["FAMa"] if enemies else []),
        }, weeks=52)
        return run_toy(sc, grid, seed)

    peaceful = run(False, 1.0, 1)
    assert (_events(peaceful).sub_event_type == "Armed clash").sum() == 0
    low = [run(True, 0.3, s) for s in range(3)]
    high = [run(True, 3.0, s) for s in range(3)]
    assert all(_pair_events(_events(m), "FAMa", "JNIM") > 0 for m in low)
    assert np.mean([m.forces["JNIM"].strength for m in high]) < np.mean([m.forces["JNIM"].strength for m in low])


# --------------------------------------------------------------------------- M3 violence against civilians
def test_m3_mercenaries_kill_more_civilians_and_mostly_target_them() -> None:
    grid = toy_grid(bases=GARRISON)

    def run(wagner: float, seed: int):
        sc = scenario({
            "FAMa": actor("state", strength=1500, inter=1, bases="fama_garrison", civilian_targeting=1.0,
                          enemies=["JNIM"]),
            "Wagner": actor("mercenary", strength=wagner, inter=8, embedded_with="FAMa", faction="FAMa",
                            civilian_targeting=8.0, aggression=0.6, lethality=2.0, move_km=0, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=500, civilian_targeting=0.0, enemies=["FAMa", "Wagner"]),
        }, weeks=52)
        return _events(run_toy(sc, grid, seed))

    def state_side_civilian_deaths(ev):
        vac = ev[(ev.event_type == "Violence against civilians") & ev.actor1_id.isin(["FAMa", "Wagner"])]
        return vac.fatalities.sum()

    without = [run(0.0, s) for s in range(3)]
    with_w = [run(300.0, s) for s in range(3)]
    assert np.mean([state_side_civilian_deaths(e) for e in with_w]) > 2 * np.mean([state_side_civilian_deaths(e) for e in without])
    ev = with_w[0]
    wagner = ev[(ev.actor1_id == "Wagner") | (ev.actor2_id == "Wagner")]
    assert len(wagner) > 5
    assert (wagner.civilian_targeting == "Civilian targeting").mean() > 0.5


def test_m3_armed_groups_coerce_communities_that_do_not_support_them() -> None:
    from sahel_sim.model import SahelModel

    grid = toy_grid()
    sc = scenario({"JNIM": actor("jihadist", strength=500, civilian_targeting=1.0, move_km=0)}, weeks=1,
                  mechanisms={"grievance": {"support_rate_per_week": 0.0}})

    def vac_rate(support: float) -> float:
        m = SahelModel(sc, seed=1, grid=grid)
        m.support[m.faction_index["JNIM"]] = support
        m._fields()
        channels, rates = m._channels()
        return float(sum(r.sum() for (a, b, k), r in zip(channels, rates, strict=True) if b == -1))

    assert vac_rate(0.0) > vac_rate(0.5) > vac_rate(0.9) > 0


# --------------------------------------------------------------------------- M4 grievance and recruitment
def test_m4_state_abuse_raises_grievance_and_recruitment() -> None:
    grid = toy_grid(bases=GARRISON)

    def run(abuse: float, seed: int):
        sc = scenario({
            "FAMa": actor("state", strength=1500, inter=1, bases="fama_garrison", civilian_targeting=abuse,
                          aggression=0.2, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=300, aggression=0.0, civilian_targeting=0.0, recruitment_per_week=0.5,
                          enemies=["FAMa"]),
        }, weeks=104, mechanisms={"civilians": {"state_harm_rate_per_week": 0.5},
                                  "grievance": {"fighters_per_thousand_sympathisers": 10.0}})
        m = run_toy(sc, grid, seed)
        return float(m.grievance.mean()), m.forces["JNIM"].strength

    calm = [run(0.0, s) for s in range(3)]
    abusive = [run(3.0, s) for s in range(3)]
    assert np.mean([g for g, _ in abusive]) > np.mean([g for g, _ in calm]) + 0.05
    assert np.mean([s for _, s in abusive]) > np.mean([s for _, s in calm])


# --------------------------------------------------------------------------- M5 peacekeeping
def test_m5_peacekeepers_protect_civilians_and_are_attacked() -> None:
    grid = toy_grid(bases=[("Camp", "minusma_camp", 3, None)])

    def run(pk: float, seed: int):
        sc = scenario({
            "MINUSMA": actor("peacekeeper", strength=pk, inter=8, bases="minusma_camp", move_km=0, mobile_share=0.0,
                             aggression=0.0, reach_km=60, unit_size=400),
            "JNIM": actor("jihadist", strength=600, civilian_targeting=1.5, enemies=["MINUSMA"]),
        }, weeks=52)
        return _events(run_toy(sc, grid, seed))

    near = set(int(g) for g in grid.gid[grid.distance_km[3] < 60])

    def civilian_attacks_near(ev):
        return ((ev.event_type == "Violence against civilians") & ev.gid.isin(near)).sum()

    absent = [run(0.0, s) for s in range(4)]
    present = [run(3000.0, s) for s in range(4)]
    assert np.mean([civilian_attacks_near(e) for e in present]) < np.mean([civilian_attacks_near(e) for e in absent])
    assert sum(((e.actor2_id == "MINUSMA") & (e.actor1_id == "JNIM")).sum() for e in present) > 0


# --------------------------------------------------------------------------- M6 accord and guarantor
def test_m6_accord_holds_with_its_guarantor_and_collapses_without() -> None:
    grid = toy_grid(bases=[*GARRISON, ("Camp", "minusma_camp", 4, None)])
    actors = {
        "FAMa": actor("state", strength=1000, inter=1, bases="fama_garrison", enemies=["CMA"]),
        "CMA": actor("separatist", strength=800, enemies=["FAMa"]),
        "MINUSMA": actor("peacekeeper", strength=2000, inter=8, bases="minusma_camp", move_km=0, mobile_share=0.0,
                         aggression=0.0),
    }
    mech = {"accord": {"parties": ["CMA", "FAMa"], "guarantor": "MINUSMA", "in_force_at_start": True,
                       "collapse_hazard_per_week": 0.3}}
    stays = run_toy(scenario(actors, weeks=80, mechanisms=mech), grid, 1)
    leaves = run_toy(scenario(actors, weeks=80, mechanisms=mech, interventions={
        "out": {"type": "withdraw", "actor": "MINUSMA", "date": (START + dt.timedelta(weeks=10)).isoformat(),
                "over_weeks": 2, "source": "toy"}}), grid, 1)
    assert stays.accord_in_force and not leaves.accord_in_force
    assert _pair_events(_events(stays), "CMA", "FAMa") == 0
    assert _pair_events(_events(leaves), "CMA", "FAMa") > 0


# --------------------------------------------------------------------------- M7 rivalry
def test_m7_rivals_fight_from_the_start_date_and_protection_wins_support() -> None:
    grid = toy_grid()
    actors = {"JNIM": actor("jihadist", strength=500, civilian_targeting=0.0),
              "ISGS": actor("jihadist", strength=500, civilian_targeting=0.0)}

    def run(start: str, gain: float, seed: int):
        sc = scenario(actors, weeks=52, mechanisms={"rivalry": {"start_date": start, "protection_support_gain": gain}})
        return run_toy(sc, grid, seed)

    assert _pair_events(_events(run("2100-01-01", 0.0, 1)), "JNIM", "ISGS") == 0
    fights = run(START.isoformat(), 0.0, 1)
    assert _pair_events(_events(fights), "JNIM", "ISGS") > 0
    j = fights.faction_index["JNIM"]
    no_gain = mean_over_seeds(lambda s: run(START.isoformat(), 0.0, s).support[j].mean(), range(3))
    gain = mean_over_seeds(lambda s: run(START.isoformat(), 0.5, s).support[j].mean(), range(3))
    assert gain > no_gain


# --------------------------------------------------------------------------- M8 displacement
def test_m8_people_flee_violence_across_the_nearest_border_and_return_when_calm() -> None:
    from sahel_sim.model import SahelModel, total_population

    border = {i: 3 for i in range(8)}  # the southern row borders Burkina Faso
    grid = toy_grid(border=border)
    sc = scenario({"JNIM": actor("jihadist", strength=800, civilian_targeting=2.0)}, weeks=120, interventions={
        "calm": {"type": "withdraw", "actor": "JNIM", "date": (START + dt.timedelta(weeks=30)).isoformat(),
                 "over_weeks": 1, "source": "toy"}},
        mechanisms={"displacement": {"return_rate_per_week": 0.05}}, population={"national_total": 1e6, "source": "toy",
                                                                              "growth_per_year": 0.0})
    m = SahelModel(sc, seed=2, grid=grid)
    total0 = total_population(m)
    displaced = []
    while m.running:
        m.step()
        displaced.append(m.idp_origin.sum() + m.ref_origin.sum())
        assert total_population(m) == pytest.approx(total0, rel=1e-9)  # nobody appears or vanishes
    peak = max(displaced[:31])
    assert peak > 1000
    assert m.ref_country[3] > 0 and m.ref_country[np.arange(7) != 3].sum() == 0  # only to Burkina Faso
    assert displaced[-1] < 0.5 * peak  # they come back once it is calm


# --------------------------------------------------------------------------- M9 southward spread
def test_m9_consolidation_in_the_centre_pushes_jihadists_south() -> None:
    regions = [["Sikasso"] * 4, ["Sikasso"] * 4, ["Mopti"] * 4, ["Mopti"] * 4]
    grid = toy_grid(rows=4, cols=4, lat0=12.25, lon0=-5.75, region=regions)

    def mean_lat(threshold: float, seed: int) -> float:
        sc = scenario({"JNIM": actor("jihadist", strength=800, regions=["Mopti", "Sikasso"], home_pull=0.0,
                                     civilian_targeting=0.0)},
                      weeks=40, mechanisms={"southward": {"consolidation_threshold": threshold, "drift_per_degree": 4.0,
                                                          "core_regions": ["Mopti"]}})
        m = run_toy(sc, grid, seed)
        f = m.forces["JNIM"]
        return float(np.average(grid.lat[f.unit_cell], weights=f.unit_fighters))

    assert mean_over_seeds(lambda s: mean_lat(0.0, s)) < mean_over_seeds(lambda s: mean_lat(1.0, s)) - 0.1


# --------------------------------------------------------------------------- contracts
@pytest.mark.parametrize("kind", sorted(FORCE_CLASSES))
def test_every_agent_class_builds_steps_pickles_and_leaves_global_rng_alone(kind: str) -> None:
    grid = toy_grid(bases=[*GARRISON, ("Camp", "minusma_camp", 5, None)])
    extra = {"bases": "fama_garrison"} if kind == "state" else {}
    if kind == "peacekeeper":
        extra = {"bases": "minusma_camp", "move_km": 0, "mobile_share": 0.0}
    if kind == "mercenary":
        extra = {"embedded_with": "FAMa", "move_km": 0}
    actors = {"FAMa": actor("state", strength=500, inter=1, bases="fama_garrison", enemies=["X"])} if kind != "state" else {}
    actors["X"] = actor(kind, strength=300, enemies=["FAMa"] if actors else [], **extra)
    sc = scenario(actors, weeks=8)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global state is untouched
    py_state = random.getstate()
    from sahel_sim.model import SahelModel

    m = SahelModel(sc, seed=3, grid=grid)
    for _ in range(4):
        m.step()
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state  # noqa: NPY002
    force = m.forces["X"]
    assert isinstance(force, FORCE_CLASSES[kind])
    assert (force.unit_fighters >= 0).all() and force.strength > 0
    clone = pickle.loads(pickle.dumps(m))
    clone.step()
    m.step()
    np.testing.assert_array_equal(clone.forces["X"].unit_cell, m.forces["X"].unit_cell)


def test_importing_the_model_loads_no_yaml_cli_or_ui() -> None:
    code = ("import sys, sahel_sim.model, sahel_sim.run; "
            "bad = [m for m in ('yaml', 'sahel_sim.cli', 'solara', 'matplotlib', 'dask') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
