"""Displacement on routes and camps (ODD M8): each rule's direction on toy graphs, and
population conservation in the model.

Toy graph for the kernels: a home town H in Mali, a Mali town T, two camps abroad A (country
0) and B (country 1), reached through the links H-A and H-B (and H-T)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sahel_sim.model.mechanisms import displacement as D

H, T, A, B = range(4)
LINK_A = np.array([H, H, H])
LINK_B = np.array([T, A, B])
ABROAD = np.array([False, False, True, True])
CAMP = np.array([False, False, True, True])


def _shares(km=(100.0, 150.0, 150.0), *, open_links=(True, True, True), danger_t=0.0, kin=0.0, kin_weight=5.0,
            foreign_weight=1.0):
    dist = D.route_distances(4, LINK_A, LINK_B, np.array(km), np.ones(4, dtype=bool), np.array(open_links),
                             np.array([H]))
    weight = D.attractiveness(CAMP, np.array([False, True, True, True]), np.array([0.0, 1e4, 0.0, 0.0]),
                              np.array([0.0, danger_t, 0.0, 0.0]), camp_weight=2.0, conflict_weight=0.25,
                              population_power=0.1)
    node_kin = np.array([[0.0, 0.0, 1.0, 0.0]])  # the kin tie reaches country 0 (camp A)
    factors = D.kin_factors(ABROAD, node_kin, foreign_weight=foreign_weight, kin_weight=kin_weight)
    return D.choose_mixed(dist, weight, factors, D.kin_mix(np.array([[kin]])), np.array([H]), softening_km=10.0,
                          distance_power=1.0)[0]


def test_closing_a_border_diverts_the_flow_to_the_other_country() -> None:
    both = _shares()
    assert both[A] == pytest.approx(both[B]) and both[A] > 0
    closed = _shares(open_links=(True, False, True))  # the route into country 0 is closed
    assert closed[A] == 0.0
    assert closed[B] > both[B] and closed[T] > both[T]
    assert closed.sum() == pytest.approx(1.0)


def test_a_nearer_camp_draws_more_and_a_dangerous_town_less() -> None:
    s = _shares(km=(100.0, 80.0, 300.0))
    assert s[A] > 2 * s[B]
    safe, unsafe = _shares(danger_t=0.0), _shares(danger_t=1.0)
    assert unsafe[T] < 0.5 * safe[T]
    assert s[H] == 0.0  # nobody flees to the place they flee from


def test_kin_across_a_border_draws_people_to_that_country() -> None:
    none, kin = _shares(kin=0.0), _shares(kin=1.0)
    assert kin[A] > 2 * none[A]
    assert kin[B] < none[B]


def test_only_the_kin_share_of_a_catchment_chooses_as_kin() -> None:
    """A catchment one-tenth of whose people have kin across a border sends one-tenth of its
    displaced as kin families choose and the rest as people without kin do; the old mean-field
    multiplier, ``1 + kin_weight x 0.1``, sent nearly all of them abroad once kin_weight was large."""
    none, all_kin, tenth = _shares(kin=0.0, kin_weight=150.0, foreign_weight=0.1), \
        _shares(kin=1.0, kin_weight=150.0, foreign_weight=0.1), \
        _shares(kin=0.1, kin_weight=150.0, foreign_weight=0.1)
    np.testing.assert_allclose(tenth, 0.9 * none + 0.1 * all_kin, rtol=1e-12)
    assert all_kin[A] > 0.9 and tenth[A] < 0.2 and tenth.sum() == pytest.approx(1.0)
    mix = D.kin_mix(np.array([[0.7, 0.6], [0.1, 0.2]]))  # overlapping communities are scaled to sum to 1
    np.testing.assert_allclose(mix, [[0.0, 0.7 / 1.3, 0.6 / 1.3], [0.7, 0.1, 0.2]])


def test_a_place_abroad_without_a_camp_takes_in_only_people_with_kin_there() -> None:
    """Where refugees stay with families (no camp), only the community with kin there goes."""
    node_kin = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])  # tie 0 reaches A, tie 1 reaches B
    family_only = np.array([False, False, True, False])  # A has no camp
    f = D.kin_factors(ABROAD, node_kin, foreign_weight=0.5, kin_weight=10.0, family_only=family_only)
    assert f[0, A] == 0.0 and f[2, A] == 0.0  # no kin there: not a destination
    assert f[1, A] == pytest.approx(5.5) and f[0, B] == pytest.approx(0.5) and f[2, B] == pytest.approx(5.5)
    assert (f[:, [H, T]] == 1.0).all()


def test_people_travel_at_the_speed_limit_and_arrive_weeks_later() -> None:
    weeks = D.travel_weeks(np.array([[0.0, 100.0, 800.0, 2000.0]]), km_per_day=35.0, max_weeks=6)
    assert weeks.tolist() == [[0, 0, 3, 5]]  # 245 km a week; capped at 5
    transit = np.zeros((6, 1, 4))
    settled = np.zeros((1, 4))
    D.depart(transit, np.array([0]), np.array([1000.0]), np.array([[0.0, 0.5, 0.5, 0.0]]), weeks)
    D.arrive(transit, settled)
    assert settled[0].tolist() == [0.0, 500.0, 0.0, 0.0]
    for _ in range(3):
        D.arrive(transit, settled)
    assert settled[0, 2] == 500.0 and transit.sum() == 0.0  # nobody lost on the road


def test_calm_brings_returns_and_refugees_return_more_slowly() -> None:
    displaced_from = np.array([1000.0, 1000.0])
    group = np.array([0, 1])
    settled = np.array([[1000.0, 0.0, 0.0], [0.0, 0.0, 1000.0]])  # catchment 0 inside Mali, 1 abroad
    abroad = np.array([False, False, True])
    calm = D.calm(np.array([0.0, 0.0]), calm_events_per_week=0.1)
    home, take = D.returns(displaced_from, group, settled, np.zeros(2), calm, abroad, rate=0.1, refugee_factor=0.5)
    assert home[0] == pytest.approx(100.0) and home[1] == pytest.approx(50.0)
    assert take.sum(axis=1) == pytest.approx(home)  # those who return leave where they stayed
    violent = D.calm(np.array([5.0, 5.0]), calm_events_per_week=0.1)
    home_v, _ = D.returns(displaced_from, group, settled, np.zeros(2), violent, abroad, rate=0.1, refugee_factor=0.5)
    assert (home_v < 0.05 * home).all()


def test_flight_rises_with_violence_takeover_threat_and_collapse_and_is_capped() -> None:
    pop = np.full(5, 10_000.0)
    out = D.flight(pop, np.array([0, 2, 0, 0, 0.0]), np.zeros(5), per_event=100.0, per_death=0.0, max_share=0.25,
                   takeover=np.array([0, 0, 1, 0, 0.0]), takeover_share=0.1, threat=np.array([0, 0, 0, 5.0, 0]),
                   share_per_threat=0.01, collapse=np.array([0, 0, 0, 0, 0.5]), share_on_collapse=0.8)
    assert out[0] == 0 and out[1] == 200 and out[2] == 1000
    assert out[3] == pytest.approx(10_000 * (1 - np.exp(-0.05)))
    assert out[4] == 2500  # 0.8 x 0.5 = 40% capped at 25%
    # the state's protection withdrawing before armed groups: the vacuum's rise above the highest
    # lived through, times the armed presence; armed groups arriving where the vacuum is unchanged
    # (third cell) or a vacuum with nobody armed in it (fourth) make no collapse
    rise, ref = D.collapse_rise(np.array([0.5, 0.2, 0.4, 0.9]), np.array([30.0, 30.0, 300.0, 0.0]),
                                np.array([0.2, 0.5, 0.4, 0.1]), half=30.0, memory_weeks=np.inf)
    assert rise == pytest.approx([0.15, 0.0, 0.0, 0.0]) and ref == pytest.approx([0.5, 0.5, 0.4, 0.9])


def test_a_group_that_held_a_cell_lately_retaking_it_makes_no_new_flight() -> None:
    last_held = np.full((3, 4), -np.inf)
    last_held[2, 1] = 90.0  # faction 2 held cell 1 ten weeks ago
    last_held[2, 3] = 10.0  # and cell 3 ninety weeks ago
    control = np.array([2, 2, 1, 2])
    taken = np.array([True, True, False, True])
    novel = D.novel_takeover(control, taken, last_held, 100, memory_weeks=52.0)
    assert novel.tolist() == [True, False, False, True]
    assert D.novel_takeover(control, taken, last_held, 100, memory_weeks=0.0).tolist() == taken.tolist()


# ------------------------------------------------------------------ the model on toy worlds
def _toy_run(closures=(), weeks=40, seed=2):
    from sahel_sim.model import SahelModel
    from tests.toy import START, actor, run_displacement, scenario, toy_grid

    # the west column borders Mauritania, the east column Niger
    grid = toy_grid(rows=3, cols=8, border={**{r * 8: 0 for r in range(3)}, **{r * 8 + 7: 2 for r in range(3)}})
    sc = scenario({"FAMa": actor("state", strength=300, inter=1, move_km=0, aggression=0.0, enemies=["JNIM"]),
                   "JNIM": actor("jihadist", strength=900, civilian_targeting=3.0, enemies=["FAMa"])},
                  weeks=weeks, refuge={"closures": list(closures)},
                  interventions={"calm": {"type": "withdraw", "actor": "JNIM",
                                          "date": (START + dt.timedelta(weeks=20)).isoformat(), "over_weeks": 1,
                                          "source": "toy"}},
                  mechanisms={"displacement": {"return_rate_per_week": 0.05, "foreign_weight": 1.0}},
                  population={"national_total": 1e6, "source": "toy", "growth_per_year": 0.0})
    m = SahelModel(sc, seed=seed, grid=grid)
    return m, run_displacement(m)


def test_model_conserves_people_flees_abroad_and_returns_when_calm() -> None:
    m, displaced = _toy_run(weeks=80)
    assert displaced[:20].max() > 1000
    assert m.ref_country[0] > 0 and m.ref_country[2] > 0  # both neighbours receive refugees
    assert displaced[-1] < 0.6 * displaced[:21].max()  # they come back once it is calm
    assert m.refuge.transit.sum() >= 0


def test_model_border_closure_diverts_refugees() -> None:
    closure = {"type": "border", "country": "Niger", "start": "2000-01-01", "source": "toy"}
    open_m, _ = _toy_run(weeks=15)
    closed_m, _ = _toy_run(closures=[closure], weeks=15)
    assert closed_m.ref_country[2] == 0.0 and open_m.ref_country[2] > 0
    assert closed_m.ref_country[0] > open_m.ref_country[0]


def test_a_border_closed_for_a_while_holds_refugees_there_until_it_reopens() -> None:
    """ECOWAS's week of April 2012: people who would cross wait at the border (still counted at
    home, on the road) and cross when it reopens, instead of settling for another country."""
    from tests.toy import START

    reopen = START + dt.timedelta(weeks=8)
    closure = {"type": "border", "country": "Niger", "start": "2000-01-01", "end": reopen.isoformat(), "source": "toy"}
    during, _ = _toy_run(closures=[closure], weeks=7)
    assert during.ref_country[2] == 0.0 and during.refuge.transit.sum() > 0  # waiting on the road
    open_m, _ = _toy_run(weeks=15)
    after, _ = _toy_run(closures=[closure], weeks=15)
    diverted, _ = _toy_run(closures=[{**closure, "end": None}], weeks=15)
    assert after.ref_country[2] > 0.5 * open_m.ref_country[2] and diverted.ref_country[2] == 0.0
    assert after.ref_country[0] < diverted.ref_country[0]  # fewer diverted to Mauritania


def test_a_closure_of_an_unknown_camp_is_one_clear_error() -> None:
    from sahel_sim.config import ConfigError
    from sahel_sim.model import SahelModel
    from tests.toy import actor, scenario, toy_grid

    sc = scenario({"FAMa": actor("state", strength=100, inter=1)},
                  refuge={"closures": [{"type": "location", "location": "Mberra", "start": "2020-01-01", "source": "toy"}]})
    with pytest.raises(ConfigError, match=r"refuge\.closures\[0\]\.location: unknown location 'Mberra'"):
        SahelModel(sc, seed=1, grid=toy_grid())
