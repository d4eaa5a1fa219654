"""The one validated configuration path: schema, extends, overrides and error messages."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sahel_sim.config import ConfigError, load_scenario, load_scenario_data, validate_scenario
from tests.conftest import BUNDLED, SCENARIOS


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_scenario_validates(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.start_date < sc.end_date
    assert "FAMa" in sc.actors


def test_extends_merges_and_null_deletes() -> None:
    base = load_scenario(SCENARIOS / "historical.yaml")
    cf = load_scenario(SCENARIOS / "minusma_stays.yaml")
    assert "minusma_withdrawal" in base.interventions
    assert "minusma_withdrawal" not in cf.interventions
    assert "accord_end" not in cf.interventions
    # everything else is inherited unchanged
    assert cf.actors == base.actors
    assert set(base.interventions) - set(cf.interventions) == {"minusma_withdrawal", "accord_end"}


def test_set_override_goes_through_validation() -> None:
    sc = load_scenario(SCENARIOS / "historical.yaml", ["mechanisms.combat.battle_rate_per_week=0.5",
                                                       "interventions.wagner_deploy.date=2022-06-01"])
    assert sc.mechanisms.combat.battle_rate_per_week == 0.5
    assert sc.interventions["wagner_deploy"].date == dt.date(2022, 6, 1)
    with pytest.raises(ConfigError, match=r"mechanisms\.combat\.battle_rate_per_week"):
        load_scenario(SCENARIOS / "historical.yaml", ["mechanisms.combat.battle_rate_per_week=-1"])


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


def _historical_with(tmp_path: Path, patch: dict) -> Path:
    data = load_scenario_data(SCENARIOS / "historical.yaml")
    for key, value in patch.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _write(tmp_path, yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"mechanisms.combat.batle_rate_per_week": 0.1}, r"mechanisms\.combat\.batle_rate_per_week: unknown key; did you mean 'battle_rate_per_week'"),
        ({"actors.JNIM.regions": ["Mopti", "Atlantis"]}, r"actors\.JNIM\.regions\[1\]: 'Atlantis' is not a region of Mali"),
        ({"interventions.wagner_deploy.actor": "Wagnr"}, r"interventions\.wagner_deploy\.actor: unknown actor 'Wagnr'"),
        ({"interventions.accord.parties": ["CMA", "Plateform"]}, r"interventions\.accord\.parties\[1\]: unknown actor 'Plateform'"),
        ({"interventions.mujao_joins_al_mourabitoun.into": "FAMa"}, r"interventions\.mujao_joins_al_mourabitoun\.into: 'FAMa' is a state force; only armed groups"),
        ({"interventions.isgs_splits_from_al_mourabitoun.parent": "ISGS"}, r"interventions\.isgs_splits_from_al_mourabitoun\.parent: 'ISGS' is the intervention's own actor"),
        ({"actors.FAMa.strength": "many"}, r"actors\.FAMa\.strength: .*number"),
        ({"end_date": "2011-01-01"}, r"end_date: 2011-01-01 must be after start_date"),
        ({"interventions.coup_2012.type": "putsch"}, r"interventions\.coup_2012.*unknown intervention type 'putsch'"),
    ],
)
def test_bad_values_name_file_and_key_path(tmp_path: Path, patch: dict, expected: str) -> None:
    path = _historical_with(tmp_path, patch)
    with pytest.raises(ConfigError, match=expected) as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_impossible_date_is_reported(tmp_path: Path) -> None:
    text = (SCENARIOS / "historical.yaml").read_text().replace("date: 2021-12-20", "date: 2021-02-30")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_scenario(_write(tmp_path, text))


def test_broken_yaml_and_missing_extends(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        load_scenario(_write(tmp_path, "name: x\n  bad: [\n"))
    with pytest.raises(ConfigError, match=r"extends: nowhere\.yaml not found"):
        load_scenario(_write(tmp_path, "extends: nowhere.yaml\n"))


def test_circular_extends(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        load_scenario(tmp_path / "a.yaml")


def test_validate_scenario_is_the_gate() -> None:
    data = load_scenario_data(SCENARIOS / "historical.yaml")
    data["surprise"] = 1
    with pytest.raises(ConfigError, match=r"<top level>|surprise: unknown key"):
        validate_scenario(data, source="mem")


def test_cli_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    path = _historical_with(tmp_path, {"actors.JNIM.reach_km": -5})
    out_dir = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", "run", str(path), "--seed", "1", "--out", str(out_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "actors.JNIM.reach_km" in proc.stderr and str(path) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out_dir.exists()  # nothing written for bad input
