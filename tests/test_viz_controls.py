"""The classroom controls: defaults read from the scenario files, choices become overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from sahel_sim.config import ConfigError, load_scenario
from sahel_sim.viz import controls as C


@pytest.fixture(scope="module")
def presets():
    return C.load_presets()


def test_every_bundled_scenario_is_a_preset(presets, root):
    names = {p.stem for p in (root / "scenarios").glob("*.yaml")}
    assert {p.path.stem for p in presets.values()} == names
    assert next(iter(presets)) == C.DEFAULT_PRESET


@pytest.mark.parametrize("name", ["historical", "classroom", "minusma_stays", "no_wagner", "barkhane_stays"])
def test_defaults_reproduce_the_preset_exactly(presets, name):
    controls = C.defaults_for(presets, name)
    assert C.overrides_for(presets, controls) == {}
    assert C.build_scenario(presets, controls) == presets[name].scenario
    assert C.describe(presets, controls) == []


def test_defaults_are_read_from_the_files(presets, root):
    """Each control's default is the file's intervention (not a value typed in the app)."""
    hist = load_scenario(root / "scenarios" / "historical.yaml")
    c = C.defaults_for(presets, "historical")
    assert c.minusma_withdrawn and c.minusma_withdrawal_date == hist.interventions["minusma_withdrawal"].date
    assert c.wagner_deployed
    assert c.barkhane_withdrawn and c.barkhane_exit_date == hist.interventions["barkhane_exit"].date
    assert not C.defaults_for(presets, "minusma_stays").minusma_withdrawn
    assert not C.defaults_for(presets, "no_wagner").wagner_deployed
    assert not C.defaults_for(presets, "barkhane_stays").barkhane_withdrawn
    # a preset without the withdrawal still offers its documented date for when it is switched on
    assert C.defaults_for(presets, "minusma_stays").minusma_withdrawal_date == c.minusma_withdrawal_date


def test_switching_minusma_off_matches_deleting_the_intervention(presets):
    c = dataclasses.replace(C.defaults_for(presets, "historical"), minusma_withdrawn=False)
    assert C.overrides_for(presets, c) == {"interventions.minusma_withdrawal": None}
    sc = C.build_scenario(presets, c)
    assert C.find_intervention(sc, "withdraw", "MINUSMA") is None
    assert set(presets["historical"].scenario.interventions) - set(sc.interventions) == {"minusma_withdrawal"}
    assert C.describe(presets, c) == ["MINUSMA stays"]


def test_switching_minusma_on_restores_the_documented_withdrawal(presets):
    c = dataclasses.replace(C.defaults_for(presets, "minusma_stays"), minusma_withdrawn=True)
    sc = C.build_scenario(presets, c)
    assert sc.interventions["minusma_withdrawal"] == presets["historical"].scenario.interventions["minusma_withdrawal"]


def test_moving_a_withdrawal_date(presets):
    new = dt.date(2021, 1, 1)
    c = dataclasses.replace(C.defaults_for(presets, "classroom"), minusma_withdrawal_date=new)
    sc = C.build_scenario(presets, c)
    iv = sc.interventions["minusma_withdrawal"]
    assert iv.date == new
    # camps' documented closure dates belong to the documented withdrawal, not to a moved one
    assert iv.follow_base_closures is False
    assert C.describe(presets, c) == [f"MINUSMA withdraws from {new}"]


def test_wagner_and_barkhane(presets):
    base = C.defaults_for(presets, "classroom")
    no_wagner = C.build_scenario(presets, dataclasses.replace(base, wagner_deployed=False))
    assert C.find_intervention(no_wagner, "deploy", "Wagner") is None
    stays = C.build_scenario(presets, dataclasses.replace(base, barkhane_withdrawn=False))
    assert C.find_intervention(stays, "withdraw", "Barkhane") is None
    later = C.build_scenario(presets, dataclasses.replace(base, barkhane_exit_date=dt.date(2024, 3, 1)))
    assert later.interventions["barkhane_exit"].date == dt.date(2024, 3, 1)
    back = C.build_scenario(presets, dataclasses.replace(C.defaults_for(presets, "no_wagner"), wagner_deployed=True))
    assert back.interventions["wagner_deploy"] == presets["historical"].scenario.interventions["wagner_deploy"]


def test_switching_preset_takes_the_new_files_values_and_keeps_the_seed(presets):
    c = dataclasses.replace(C.defaults_for(presets, "historical"), wagner_deployed=False, seed=7)
    switched = C.with_preset(presets, c, "minusma_stays")
    assert switched == C.defaults_for(presets, "minusma_stays", seed=7)


def test_unknown_preset_is_a_config_error(presets):
    with pytest.raises(ConfigError, match="not_a_preset"):
        C.defaults_for(presets, "not_a_preset")


def test_month_choices_keep_the_documented_date(presets):
    sc = presets["classroom"].scenario
    exact = C.defaults_for(presets, "classroom").barkhane_exit_date
    dates = C.month_choices(sc, keep=[exact])
    assert exact in dates and dates == sorted(dates)
    assert dates[0] >= sc.start_date and dates[-1] <= sc.end_date
    assert all(d.day == 1 for d in dates if d != exact)


def test_empty_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no scenario files"):
        C.load_presets(tmp_path)
