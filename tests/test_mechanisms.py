"""Each mechanism of docs/ODD.md moves outcomes in the documented direction on a toy world.

Toy worlds are a few PRIO-GRID cells with one or two units per actor (tests/toy.py); each
comparison changes one thing and averages a few seeds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest

from sahel_sim.model.agents import FORCE_CLASSES
from tests.toy import START, actor, mean_over_seeds, run_displacement, run_toy, scenario, toy_grid

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


def test_m2_far_strikes_reach_the_populous_capital_and_follow_the_audience() -> None:
    """A jihadist group camped at one end of a 12-cell strip, garrisons beside it and 500 km
    away: without far strikes nothing happens at the distant garrison; with them it is hit,
    and more often when its cell is populous (the capital's audience)."""
    far_cell = 11
    bases = [("Near", "fama_garrison", 1, None), ("Capital", "fama_garrison", far_cell, None)]

    def outcome(share: float, capital_pop: float, seed: int) -> int:
        grid = toy_grid(rows=1, cols=12, bases=bases)
        pop = grid.population.copy()
        pop[far_cell] = capital_pop
        grid = dataclasses.replace(grid, population=pop)
        sc = scenario({
            "FAMa": actor("state", strength=2000, inter=1, bases="fama_garrison", mobile_share=0.0, aggression=0.0,
                          move_km=0, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=400, move_km=0, strike_reach_km=60, civilian_targeting=0.0,
                          enemies=["FAMa"]),
        }, weeks=52, mechanisms={"combat": {"far_strike_share": share, "far_strike_reach_km": 400.0}})
        m = SahelModel(sc, seed=seed, grid=grid)
        m.forces["JNIM"].unit_cell[:] = 0
        m.forces["JNIM"].unit_home[:] = 0
        while m.running:
            m.step()
        ev = _events(m)
        at_far = ev.gid == int(grid.gid[far_cell])
        return int((at_far & (ev.actor1_id == "JNIM")).sum())

    from sahel_sim.model import SahelModel

    assert sum(outcome(0.0, 2e6, s) for s in range(3)) == 0
    busy = [outcome(0.3, 2e6, s) for s in range(3)]
    quiet = [outcome(0.3, 5e4, s) for s in range(3)]
    assert np.mean(busy) > 0
    assert np.mean(busy) > np.mean(quiet)


def test_m2_far_strike_kernels() -> None:
    from sahel_sim.model.mechanisms import strikes

    v = strikes.audience_value(np.array([1e6, 1e5, 0.0]), 2.0)
    np.testing.assert_allclose(v, [1.0, 0.01, 0.0])
    w = np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]])
    out = strikes.far_expected(np.array([4.0, 5.0, 2.0]), w, np.array([0, 1, 2]), 3)
    np.testing.assert_allclose(out, [[1.0, 3.0], [0.0, 0.0], [1.0, 1.0]])  # spent whole; nothing without targets


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


def test_m3_selective_violence_peaks_where_control_is_dominant_but_incomplete() -> None:
    """Kalyvas (2006): an actor's selective violence peaks in zones of dominant but incomplete
    control, and is low where it holds everything or nothing."""
    from sahel_sim.model import SahelModel
    from sahel_sim.model.mechanisms.civilians import selective_violence

    f = selective_violence(np.array([0.0, 0.3, 0.75, 0.95, 1.0]), 0.75)
    assert f[2] == pytest.approx(1.0) and f[0] == 0.0 and f[4] == 0.0
    assert f[2] > f[3] > f[4] and f[2] > f[1] > f[0]
    grid = toy_grid()
    sc = scenario({"FAMa": actor("state", strength=400, inter=1, aggression=0.0, civilian_targeting=0.0, move_km=0,
                                 enemies=["JNIM"]),
                   "JNIM": actor("jihadist", strength=500, civilian_targeting=1.0, move_km=0, enemies=["FAMa"])},
                  weeks=1)

    def vac_rate(own: float) -> float:
        m = SahelModel(sc, seed=1, grid=grid)
        m.influence[m.faction_index["JNIM"]] = own
        m.influence[m.faction_index["FAMa"]] = 1.0 - own
        m._fields()
        channels, rates = m._channels()
        return float(sum(r.sum() for (a, b, k), r in zip(channels, rates, strict=True) if b == -1 and a == 1))

    assert vac_rate(0.75) > vac_rate(0.4) > vac_rate(0.05)
    assert vac_rate(0.75) > vac_rate(0.99)


def test_m3_strikes_land_on_targets_within_reach_not_where_the_group_camps() -> None:
    """Bases and strikes are separate: a group camped two cells from a garrison attacks the
    garrison's cell, and a group far beyond its strike reach does not attack at all."""
    grid = toy_grid(rows=1, cols=10, bases=[("G", "fama_garrison", 0, None)])

    def events(camp: int, reach: float):
        sc = scenario({
            "FAMa": actor("state", strength=500, inter=1, bases="fama_garrison", mobile_share=0.0, aggression=0.0,
                          reach_km=15, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=400, move_km=0, strike_reach_km=reach, civilian_targeting=0.0,
                          enemies=["FAMa"], social_base=[{"place": "toy", "lat": float(grid.lat[camp]),
                                                          "lon": float(grid.lon[camp]), "radius_km": 30,
                                                          "source": "toy"}]),
        }, weeks=40, mechanisms={"combat": {"battle_rate_per_week": 2.0, "far_strike_share": 0.0},  # local reach only
                                 "expansion": {"relocate_share_per_week": 0.0}})
        from sahel_sim.model import SahelModel

        m = SahelModel(sc, seed=1, grid=grid)
        f = m.forces["JNIM"]
        f.unit_cell[:] = camp
        f.unit_home[:] = camp
        while m.running:
            m.step()
        ev = _events(m)
        return ev[(ev.actor1_id == "JNIM") & (ev.actor2_id == "FAMa")]

    near = events(3, 100.0)
    assert len(near) > 5 and near.gid.isin(grid.gid[:2]).mean() > 0.8  # logged where the garrison is
    assert (near.gid == grid.gid[3]).sum() == 0  # not where the group camps
    assert len(events(9, 40.0)) < 0.2 * len(near)  # ~450 km away with a 40 km reach: almost nothing


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
                                  "recruitment": {"fighters_per_thousand_sympathisers": 10.0}})
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
            "FAMa": actor("state", strength=300, inter=1, move_km=0, aggression=0.0, enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=600, civilian_targeting=1.5, enemies=["MINUSMA", "FAMa"]),
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
def _accord_world(minusma: float):
    """FAMa and the CMA under an accord in force at the start, MINUSMA (``minusma`` troops at
    the start) its guarantor: the grid, the actors and the mechanisms block."""
    grid = toy_grid(bases=[*GARRISON, ("Camp", "minusma_camp", 4, None)])
    actors = {
        "FAMa": actor("state", strength=1000, inter=1, bases="fama_garrison", enemies=["CMA"]),
        "CMA": actor("separatist", strength=800, enemies=["FAMa"]),
        "MINUSMA": actor("peacekeeper", strength=minusma, inter=8, bases="minusma_camp", move_km=0, mobile_share=0.0,
                         aggression=0.0),
    }
    mech = {"accord": {"parties": ["CMA", "FAMa"], "guarantor": "MINUSMA", "in_force_at_start": True,
                       "collapse_hazard_per_week": 0.3}}
    return grid, actors, mech


def test_m6_accord_holds_with_its_guarantor_and_collapses_without() -> None:
    grid, actors, mech = _accord_world(2000)
    stays = run_toy(scenario(actors, weeks=80, mechanisms=mech), grid, 1)
    leaves = run_toy(scenario(actors, weeks=80, mechanisms=mech, interventions={
        "out": {"type": "withdraw", "actor": "MINUSMA", "date": (START + dt.timedelta(weeks=10)).isoformat(),
                "over_weeks": 2, "source": "toy"}}), grid, 1)
    assert stays.accord_in_force and not leaves.accord_in_force
    assert _pair_events(_events(stays), "CMA", "FAMa") == 0
    assert _pair_events(_events(leaves), "CMA", "FAMa") > 0


def test_m6_an_accord_signed_before_its_guarantor_arrives_holds() -> None:
    """The Ouagadougou agreement (June 2013) came two weeks before MINUSMA: a guarantor that
    has not deployed yet has not withdrawn, so the accord holds meanwhile; once the guarantor
    has come and gone it collapses."""
    grid, actors, mech = _accord_world(0)
    arrives = {"in": {"type": "deploy", "actor": "MINUSMA", "strength": 2000, "over_weeks": 2, "source": "toy",
                      "date": (START + dt.timedelta(weeks=20)).isoformat()}}
    before = run_toy(scenario(actors, weeks=20, mechanisms=mech, interventions=arrives), grid, 1)
    assert before.accord_in_force and _pair_events(_events(before), "CMA", "FAMa") == 0
    leaves = {**arrives, "out": {"type": "withdraw", "actor": "MINUSMA", "over_weeks": 2, "source": "toy",
                                 "date": (START + dt.timedelta(weeks=30)).isoformat()}}
    after = run_toy(scenario(actors, weeks=70, mechanisms=mech, interventions=leaves), grid, 1)
    assert not after.accord_in_force


def test_m6_each_agreement_binds_its_own_signatories() -> None:
    """An agreement that names its signatories binds every pair of them (the Algiers accord was
    signed by the government, the CMA and the Platform); one that names only the government
    and the CMA leaves the CMA and the Platform at war."""
    from sahel_sim.model.mechanisms import accord

    base = np.ones((4, 4), dtype=bool)
    sides = tuple(np.eye(4, dtype=bool)[i] for i in (0, 1, 2))
    h = accord.hostility(base, accord_sides=sides, rival_sides=None)
    assert not h[:3, :3].any() and h[3, :3].all() and h[:3, 3].all()  # the outsider stays at war with all three

    grid, actors, mech = _accord_world(2000)
    actors = {**actors, "FAMa": {**actors["FAMa"], "enemies": ["CMA", "Platform"]},
              "CMA": {**actors["CMA"], "enemies": ["FAMa", "Platform"]},
              "Platform": actor("militia", strength=800, enemies=["CMA"])}
    mech = {"accord": {**mech["accord"], "in_force_at_start": False}}

    def signed(parties):
        iv = {"type": "sign_accord", "date": START.isoformat(), "source": "toy"}
        if parties:
            iv["parties"] = parties
        return run_toy(scenario(actors, weeks=40, mechanisms=mech, interventions={"accord": iv}), grid, 1)

    two = signed(None)  # the scenario's default parties: CMA and FAMa
    three = signed(["CMA", "FAMa", "Platform"])
    assert two.accord_parties == ("CMA", "FAMa") and three.accord_parties == ("CMA", "FAMa", "Platform")
    assert _pair_events(_events(two), "CMA", "FAMa") == 0 and _pair_events(_events(two), "CMA", "Platform") > 0
    assert _pair_events(_events(three), "CMA", "Platform") == 0 and _pair_events(_events(three), "CMA", "FAMa") == 0


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
    from sahel_sim.model import SahelModel

    border = {i: 3 for i in range(8)}  # the southern row borders Burkina Faso
    grid = toy_grid(border=border)
    sc = scenario({"FAMa": actor("state", strength=400, inter=1, move_km=0, aggression=0.0, enemies=["JNIM"]),
                   "JNIM": actor("jihadist", strength=800, civilian_targeting=2.0, enemies=["FAMa"])},
                  weeks=120, interventions={
        "calm": {"type": "withdraw", "actor": "JNIM", "date": (START + dt.timedelta(weeks=30)).isoformat(),
                 "over_weeks": 1, "source": "toy"}},
        mechanisms={"displacement": {"return_rate_per_week": 0.05}}, population={"national_total": 1e6, "source": "toy",
                                                                              "growth_per_year": 0.0})
    m = SahelModel(sc, seed=2, grid=grid)
    displaced = run_displacement(m)  # checks conservation every week
    peak = max(displaced[:31])
    assert peak > 1000
    assert m.ref_country[3] > 0 and m.ref_country[np.arange(7) != 3].sum() == 0  # only to Burkina Faso
    assert displaced[-1] < 0.5 * peak  # they come back once it is calm


# --------------------------------------------------------------------------- M9 social bases and expansion
def test_m9_groups_recruit_from_their_own_social_base() -> None:
    """Recruits appear where the group's documented social base is, and the ceiling comes from
    that pool: the same group anchored on a populous area grows larger than on an empty one."""
    grid = toy_grid(rows=1, cols=10)
    pop = np.where(np.arange(10) < 5, 200_000.0, 2_000.0)
    grid = dataclasses.replace(grid, population=pop)

    def run(anchor: int, seed: int):
        sc = scenario({"JNIM": actor("jihadist", strength=50, move_km=0, recruitment_per_week=0.5,
                                     civilian_targeting=0.0, aggression=0.0,
                                     social_base=[{"place": "toy", "lat": float(grid.lat[anchor]),
                                                   "lon": float(grid.lon[anchor]), "radius_km": 60,
                                                   "source": "toy"}])},
                      weeks=52, mechanisms={"recruitment": {"affinity_floor": 0.0, "fighters_per_thousand_sympathisers": 10.0},
                                            "funding": {"recruit_cost": 0.0}})
        return run_toy(sc, grid, seed)

    rich = [run(1, s) for s in range(2)]
    poor = [run(8, s) for s in range(2)]
    assert np.mean([m.forces["JNIM"].strength for m in rich]) > 2 * np.mean([m.forces["JNIM"].strength for m in poor])
    f = rich[0].forces["JNIM"]
    assert np.average(grid.distance_km[1, f.unit_home], weights=f.unit_fighters) < 120  # recruited near the anchor


def test_m1b_units_share_a_cell_s_value_so_a_group_spreads_over_its_area() -> None:
    """Ideal free distribution: with ``crowding`` the units of a group spread over the cells of
    its area instead of piling onto its best cell, so it occupies and holds more cells."""
    grid = toy_grid(rows=1, cols=14)

    def run(crowding: float, seed: int) -> tuple[int, int, int]:
        sc = scenario({"JNIM": actor("jihadist", strength=1000, move_km=300, home_pull=0.0, aggression=0.0,
                                     civilian_targeting=0.0, recruitment_per_week=0.0, reach_km=30,
                                     social_base=[{"place": "toy", "lat": float(grid.lat[7]), "lon": float(grid.lon[7]),
                                                   "radius_km": 100, "source": "toy"}])},
                      weeks=40, mechanisms={"expansion": {"crowding": crowding, "relocate_share_per_week": 0.5}})
        m = run_toy(sc, grid, seed)
        f = m.forces["JNIM"]
        held = int((m.control == m.faction_index["JNIM"]).sum())
        return int(np.bincount(f.unit_cell).max()), np.unique(f.unit_cell).size, held

    piled = np.array([run(0.0, s) for s in range(4)], dtype=float).mean(axis=0)
    shared = np.array([run(1.0, s) for s in range(4)], dtype=float).mean(axis=0)
    assert shared[0] < piled[0] - 1.5  # fewer units stacked on the best cell
    assert shared[1] > piled[1] + 1    # more cells occupied
    assert shared[2] > piled[2]        # and more held


def test_m9_groups_merge_and_split_on_their_dates_where_their_units_stand() -> None:
    """A merger hands the absorbed group's units to the other where they stand (MUJAO into
    al-Mourabitoun, 2013); a split takes fighters from the parent's units in the named regions
    only (IS Sahel out of al-Mourabitoun in Gao and Menaka, 2015). Fighters are conserved."""
    from sahel_sim.model import SahelModel

    grid = toy_grid(rows=1, cols=8, region=[["Gao"] * 4 + ["Mopti"] * 4])
    week = dt.timedelta(weeks=1)
    actors = {"JNIM": actor("jihadist", strength=600, regions=["Gao", "Mopti"], move_km=0, aggression=0.0,
                            civilian_targeting=0.0, recruitment_per_week=0.0),
              "ISGS": actor("jihadist", strength=300, regions=["Gao"], move_km=0, aggression=0.0,
                            civilian_targeting=0.0, recruitment_per_week=0.0)}
    ivs = {"merge": {"type": "merge", "actor": "ISGS", "into": "JNIM", "date": (START + 2 * week).isoformat(),
                     "source": "toy"},
           "split": {"type": "split", "actor": "ISGS", "parent": "JNIM", "strength": 120, "regions": ["Gao"],
                     "date": (START + 5 * week).isoformat(), "source": "toy"}}
    m = SahelModel(scenario(actors, weeks=8, interventions=ivs,
                            mechanisms={"recruitment": {"demobilisation_per_week": 0.0}}), seed=1, grid=grid)
    j, i = m.forces["JNIM"], m.forces["ISGS"]
    m.step()
    isgs_cells = set(i.unit_cell.tolist())
    total = j.strength + i.strength
    for _ in range(3):
        m.step()
    assert i.strength == 0 and i.n_units == 0
    assert j.strength == pytest.approx(total)
    assert isgs_cells <= set(j.unit_cell.tolist())  # the absorbed units stand where they stood
    gao = np.asarray(grid.region)[j.unit_cell] == grid.region[0]
    gao_before, mopti_before = j.unit_fighters[gao].sum(), j.unit_fighters[~gao].sum()
    for _ in range(3):
        m.step()
    assert i.strength == pytest.approx(120)
    assert (np.asarray(grid.region)[i.unit_cell] == grid.region[0]).all()  # taken in Gao only
    gao_after = j.unit_fighters[np.asarray(grid.region)[j.unit_cell] == grid.region[0]].sum()
    assert gao_after == pytest.approx(gao_before - 120)
    assert j.unit_fighters[np.asarray(grid.region)[j.unit_cell] != grid.region[0]].sum() == pytest.approx(mopti_before)
    ev = _events(m)
    assert (ev.sub_event_type == "Change to group/activity").sum() == 2
    # a run that starts after these dates takes the groups as the scenario gives them at its start
    before = {k: {**v, "date": (START - 10 * week).isoformat()} for k, v in ivs.items()}
    late = SahelModel(scenario(actors, weeks=2, interventions=before), seed=1, grid=grid)
    assert late.forces["ISGS"].strength == pytest.approx(300) and late.forces["JNIM"].strength == pytest.approx(600)


def test_m9_saturated_groups_expand_along_roads_and_rivers() -> None:
    from sahel_sim.model.mechanisms import expansion

    grid = toy_grid(rows=3, cols=6)
    corridor = np.zeros(18, dtype=bool)
    corridor[6:12] = True  # the middle row is a road
    cond = expansion.conductance(grid.adjacency, corridor, 0.05)
    fp = np.zeros(18)
    fp[6] = 1.0
    kw = {"conductance": cond, "threshold": 0.8, "rate": 0.5}
    assert np.array_equal(expansion.expand(fp, 0.5, **kw), fp)  # not saturated: stays home
    out = fp
    for _ in range(10):
        out = expansion.expand(out, 1.0, **kw)
    assert out[11] > 0.3  # along the road, five cells on
    assert out[11] > 5 * out[5] and out[11] > 5 * out[17]  # across country: barely


# --------------------------------------------------------------------------- M5 posture
def test_m5_columns_reinforce_threatened_sectors_and_lost_bases_fall_back() -> None:
    from sahel_sim.model import SahelModel

    grid = toy_grid(rows=1, cols=10, bases=[("West", "fama_garrison", 0, None), ("East", "fama_garrison", 9, None)])
    sc = scenario({"FAMa": actor("state", strength=2000, inter=1, bases="fama_garrison", mobile_share=1.0,
                                 aggression=0.0, move_km=500, unit_size=100)}, weeks=30,
                  mechanisms={"posture": {"reinforce_share_per_week": 0.5, "baseline_threat": 0.01}})
    m = SahelModel(sc, seed=1, grid=grid)
    m.threat[8] = 5.0  # attacks near the eastern base
    for _ in range(10):
        m.step()
        m.threat[8] = 5.0
    f = m.forces["FAMa"]
    assert f.unit_fighters[f.unit_cell == 9].sum() > 3 * f.unit_fighters[f.unit_cell == 0].sum()
    f.set_bases_open(["East"], False)
    assert (f.unit_cell != 9).all() and (f.unit_home != 9).all()  # fell back to the western base
    assert f.strength == pytest.approx(2000, rel=0.05)


def test_m5_a_besieged_garrison_leaves_the_countryside_to_the_besiegers() -> None:
    """A garrison town with an armed group camped around it (Menaka 2022-23): with the siege
    rule the state projects less presence into the surrounding cells, the vacuum there is
    larger and the armed group holds more of them; without enemies the rule changes nothing."""
    from sahel_sim.model import SahelModel

    grid = toy_grid(rows=1, cols=7, bases=[("Town", "fama_garrison", 3, None)])

    def outcome(weight: float, seed: int, enemy: bool = True) -> tuple[float, float, float]:
        actors = {"FAMa": actor("state", strength=600, inter=1, bases="fama_garrison", mobile_share=0.0, move_km=0,
                                aggression=0.0, reach_km=45, enemies=["ISGS"] if enemy else [])}
        if enemy:
            actors["ISGS"] = actor("jihadist", strength=500, aggression=0.0, civilian_targeting=0.0, move_km=0,
                                   recruitment_per_week=0.0, enemies=["FAMa"])
        sc = scenario(actors, weeks=30, mechanisms={"posture": {"siege_weight": weight}})
        m = SahelModel(sc, seed=seed, grid=grid)
        if enemy:
            m.forces["ISGS"].unit_cell[:] = np.resize([2, 4], m.forces["ISGS"].n_units)
            m.forces["ISGS"].unit_home[:] = m.forces["ISGS"].unit_cell
        while m.running:
            m.step()
        fama, around = m.actor_index["FAMa"], np.array([0, 1, 5, 6])
        held = float((m.control[around] == m.faction_index["ISGS"]).mean()) if enemy else 0.0
        return float(m.P[fama, around].sum()), float(m.vacuum[around].mean()), held

    for seed in range(2):
        on, off = outcome(3.0, seed), outcome(0.0, seed)
        assert on[0] < 0.8 * off[0] and on[1] > off[1] and on[2] >= off[2]
        assert outcome(3.0, seed, enemy=False) == outcome(0.0, seed, enemy=False)


def test_m5_state_presence_and_strikes_stop_at_its_area_of_operations() -> None:
    """A garrison at the edge of its regions (the 2012 line of control): with the rule on, the
    region the state has left gets no state presence, no security and no state strikes; the
    jihadists there are attacked less and hold more of it."""
    from sahel_sim.model import SahelModel

    regions = [["Mopti"] * 3 + ["Tombouctou"] * 5]
    grid = toy_grid(rows=1, cols=8, region=regions, bases=[("Line", "fama_garrison", 2, None)])

    def outcome(rule: bool, seed: int) -> tuple[float, float, int, float]:
        sc = scenario({
            "FAMa": actor("state", strength=3000, inter=1, bases="fama_garrison", mobile_share=0.5, aggression=1.0,
                          reach_km=80, strike_reach_km=80, regions=["Mopti"], enemies=["JNIM"]),
            "JNIM": actor("jihadist", strength=300, aggression=0.0, move_km=0, regions=["Tombouctou"], enemies=["FAMa"]),
        }, weeks=40, mechanisms={"posture": {"area_of_operations_only": rule}})
        m = SahelModel(sc, seed=seed, grid=grid)
        m.forces["JNIM"].unit_cell[:] = 4
        m.forces["JNIM"].unit_home[:] = 4
        while m.running:
            m.step()
        fama = m.actor_index["FAMa"]
        north = np.arange(3, 8)
        ev = _events(m)
        state_attacks = int(((ev.actor1_id == "FAMa") & (ev.actor2_id == "JNIM")).sum())
        jnim = m.faction_index["JNIM"]
        return (float(m.P[fama, north].sum()), float(m.security[north].mean()), state_attacks,
                float((m.control[north] == jnim).mean()))

    on = [outcome(True, s) for s in range(3)]
    off = [outcome(False, s) for s in range(3)]
    assert all(p == 0.0 for p, *_ in on) and all(p > 0 for p, *_ in off)
    assert np.mean([x[1] for x in on]) < np.mean([x[1] for x in off])
    assert np.mean([x[2] for x in on]) < np.mean([x[2] for x in off])
    assert np.mean([x[3] for x in on]) >= np.mean([x[3] for x in off])


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


def test_m9_cross_border_inflows_are_sustained_local_surges_demobilise() -> None:
    """Fighters arriving from a base across the border raise the group's ceiling and stay; the
    same number raised inside an empty pool drift away (demobilisation above the ceiling)."""
    grid = toy_grid(rows=1, cols=6, population=2_000.0)

    def strength(cross_border: bool, seed: int) -> float:
        sc = scenario({"ISGS": actor("jihadist", strength=20, move_km=0, aggression=0.0, civilian_targeting=0.0,
                                     recruitment_per_week=0.1)},
                      weeks=80, mechanisms={"recruitment": {"demobilisation_per_week": 0.05},
                                            "funding": {"recruit_cost": 0.0, "upkeep_per_fighter_per_week": 0.0}},
                      interventions={"inflow": {"type": "deploy", "actor": "ISGS", "strength": 400,
                                                "date": (START + dt.timedelta(weeks=2)).isoformat(), "over_weeks": 4,
                                                "cross_border": cross_border, "source": "toy"}})
        return run_toy(sc, grid, seed).forces["ISGS"].strength

    sustained = mean_over_seeds(lambda s: strength(True, s), range(2))
    local = mean_over_seeds(lambda s: strength(False, s), range(2))
    assert sustained > 300 and local < 0.5 * sustained


def test_m9_fighters_sustained_across_the_border_do_not_drain_the_local_war_chest() -> None:
    """The base across the border pays the fighters it sends: a cross-border inflow leaves the
    group solvent where the same fighters paid from a small local tax base break it, and a
    broke group loses fighters (``funding.desertion_when_broke``) and recruits none."""
    grid = toy_grid(rows=1, cols=6, population=2_000.0)

    def run_inflow(cross_border: bool, seed: int):
        sc = scenario({"ISGS": actor("jihadist", strength=20, move_km=0, aggression=0.0, civilian_targeting=0.0,
                                     recruitment_per_week=0.05)},
                      weeks=60, mechanisms={"recruitment": {"demobilisation_per_week": 0.0},
                                            "funding": {"upkeep_per_fighter_per_week": 0.3, "war_chest_weeks": 26.0,
                                                        "desertion_when_broke": 0.02}},
                      interventions={"inflow": {"type": "deploy", "actor": "ISGS", "strength": 400,
                                                "date": (START + dt.timedelta(weeks=2)).isoformat(), "over_weeks": 4,
                                                "cross_border": cross_border, "source": "toy"}})
        force = run_toy(sc, grid, seed).forces["ISGS"]
        return force.strength, force.funds

    for seed in range(2):
        sustained, funds_sustained = run_inflow(True, seed)
        local, funds_local = run_inflow(False, seed)
        assert funds_sustained > 0 > funds_local
        assert sustained > 380 and local < 0.6 * sustained


def test_m9_a_social_base_dated_mid_week_applies_from_that_week() -> None:
    """An anchor whose ``since`` falls inside a weekly step is taken up in that step (as dated
    interventions are), and one whose ``until`` falls inside a step is given up in it; dates
    that fall mid-week are neither skipped nor deferred to a later anchor's date."""
    from sahel_sim.model import SahelModel

    grid = toy_grid(rows=1, cols=6)
    since = START + dt.timedelta(days=7 * 3 + 3)  # a Thursday, inside week 3
    until = START + dt.timedelta(days=7 * 6 + 5)  # a Saturday, inside week 6
    sc = scenario({"JNIM": actor("jihadist", strength=50, move_km=0, recruitment_per_week=0.0,
                                 civilian_targeting=0.0, aggression=0.0,
                                 social_base=[{"place": "toy", "lat": float(grid.lat[4]), "lon": float(grid.lon[4]),
                                               "radius_km": 60, "since": since.isoformat(),
                                               "until": until.isoformat(), "source": "toy"}])},
                  weeks=10, mechanisms={"recruitment": {"affinity_floor": 0.0}})
    m = SahelModel(sc, seed=1, grid=grid)
    a = m.actor_index["JNIM"]
    seen = []
    while m.running:
        m.step()
        seen.append(float(m.affinity[a, 4]))
    assert seen[:3] == [0.0, 0.0, 0.0]
    assert seen[3] > 0.9 and seen[5] > 0.9  # taken up in the week of its date
    assert seen[6] == 0.0  # given up in the week of its end date
