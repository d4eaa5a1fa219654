"""Local refinement (``sahel-sim calibrate --refine``): the compass search on toy objectives
(it finds a minimum, respects the prior's box, halves its steps when nothing improves, is
deterministic) and on a tiny calibration of the model (resumable, writes the parameter file
only when the refined values are better on fresh seeds)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sahel_sim.config import ConfigError
from sahel_sim.experiments.calibrate import load_calibration
from sahel_sim.experiments.engine import read_measures
from sahel_sim.experiments.executors import LocalExecutor
from sahel_sim.experiments.refine import (
    Refiner,
    compass_candidates,
    compass_search,
    refine_report,
    round_sig,
)
from sahel_sim.experiments.targets import load_targets
from tests.test_calibration import tiny_config  # noqa: F401  (fixture)


def _quadratic(target):
    calls = []

    def evaluate(z, tag):
        calls.append((tag, len(z)))
        return ((np.asarray(z) - target) ** 2).sum(axis=1)
    return evaluate, calls


def test_compass_search_finds_the_minimum_of_a_bowl() -> None:
    evaluate, calls = _quadratic(np.array([0.3, -0.2, 0.55]))
    res = compass_search(evaluate, np.zeros(3), -np.ones(3), np.ones(3), step=0.25, min_step=0.001, max_polls=200)
    assert np.allclose(res.best, [0.3, -0.2, 0.55], atol=0.01)
    assert res.best_distance < res.start_distance
    assert calls[0] == ("start", 1)
    assert all(n <= 6 for tag, n in calls if tag.startswith("poll") and not tag.endswith("combined"))
    assert all(n == 1 for tag, n in calls if tag.endswith("combined"))
    assert "steps below" in res.stopped


def test_compass_search_stays_in_the_box() -> None:
    evaluate, _ = _quadratic(np.array([5.0, 0.0]))  # minimum outside the box
    res = compass_search(evaluate, np.zeros(2), np.array([-1.0, -1.0]), np.array([1.0, 1.0]), step=0.3,
                         min_step=0.001, max_polls=200)
    assert res.best[0] == pytest.approx(1.0)
    for poll in res.polls:
        assert (poll.candidates >= -1).all() and (poll.candidates <= 1).all()


def test_moves_that_the_box_cancels_are_not_run() -> None:
    cand, moves = compass_candidates(np.array([1.0, 0.0]), np.array([0.5, 0.5]), np.array([-1.0, -1.0]),
                                     np.array([1.0, 1.0]))
    assert moves == [(0, -1), (1, 1), (1, -1)]
    assert np.allclose(cand[0], [0.5, 0.0])


def test_no_improvement_halves_the_steps_and_keeps_the_start() -> None:
    evaluate, _ = _quadratic(np.zeros(2))  # the start is the minimum
    res = compass_search(evaluate, np.zeros(2), -np.ones(2), np.ones(2), step=0.2, min_step=0.01, max_polls=3)
    assert [p.accepted for p in res.polls] == [None, None, None]
    assert np.allclose(res.polls[2].steps, res.polls[0].steps / 4)
    assert np.array_equal(res.best, np.zeros(2)) and res.stopped == "3 polls"


def test_a_move_must_beat_the_centre_by_min_improvement() -> None:
    evaluate, _ = _quadratic(np.array([0.2, 0.0]))  # start 0.04, best move 0
    taken = compass_search(evaluate, np.zeros(2), -np.ones(2), np.ones(2), step=0.1, max_polls=1)
    refused = compass_search(evaluate, np.zeros(2), -np.ones(2), np.ones(2), step=0.1, max_polls=1,
                             min_improvement=0.05)
    assert taken.polls[0].accepted is not None and refused.polls[0].accepted is None


def test_noisy_objectives_give_the_same_path_twice() -> None:
    def noisy(z, tag):  # deterministic in z, rough like a simulation on fixed seeds
        z = np.asarray(z)
        return (z ** 2).sum(axis=1) + 0.01 * np.sin(40 * z).sum(axis=1)
    a = compass_search(noisy, np.full(3, 0.7), -np.ones(3), np.ones(3), max_polls=20)
    b = compass_search(noisy, np.full(3, 0.7), -np.ones(3), np.ones(3), max_polls=20)
    assert np.array_equal(a.best, b.best) and len(a.polls) == len(b.polls)
    assert a.best_distance < a.start_distance


def test_improving_moves_on_several_coordinates_are_also_tried_together() -> None:
    evaluate, calls = _quadratic(np.array([0.5, 0.5, 0.0]))
    res = compass_search(evaluate, np.zeros(3), -np.ones(3), np.ones(3), step=0.25, max_polls=1)
    poll = res.polls[0]
    assert ("poll_001_combined", 1) in calls
    assert np.allclose(poll.combined, [0.5, 0.5, 0.0]) and poll.combined_taken
    assert np.allclose(res.best, [0.5, 0.5, 0.0]) and res.best_distance == pytest.approx(0.0)
    # one improving coordinate: nothing to combine
    evaluate, calls = _quadratic(np.array([0.5, 0.0]))
    res = compass_search(evaluate, np.zeros(2), -np.ones(2), np.ones(2), step=0.25, max_polls=1)
    assert res.polls[0].combined is None and not any(t.endswith("combined") for t, _ in calls)


def test_values_are_rounded_as_the_parameter_file_keeps_them() -> None:
    assert round_sig(0.123456) == 0.1235 and round_sig(171.23) == 171.2 and round_sig(3.0) == 3.0


# ----------------------------------------------------------------------------- on the model
def _refine_config(path: Path, **refine) -> Path:
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["priors"]["mechanisms.displacement.flee_per_event"] = {"distribution": "loguniform", "low": 10, "high": 300}
    cfg["refine"] = {"seeds": 1, "max_polls": 1, "step": 0.25, **refine}
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_tiny_refinement_runs_resumes_and_reports(tiny_config) -> None:  # noqa: F811
    cal = load_calibration(_refine_config(tiny_config, parameters=["mechanisms.displacement.flee_per_event"]))
    out = cal.resolve("out-refine")
    refiner = Refiner(cal, executor=LocalExecutor(0), out=out)
    outcome = refiner.run()
    assert outcome.keys == ["mechanisms.displacement.flee_per_event"]
    assert len(outcome.table) == 3  # the start and one poll of two moves
    assert (out / "start").is_dir() and (out / "poll_001").is_dir()
    report = refine_report(cal, refiner, outcome)
    assert "## Path" in report and "flee_per_event" in report
    # resumed: the same runs, read back, the same path
    again = Refiner(cal, executor=LocalExecutor(0), out=out).run()
    assert again.table.equals(outcome.table) and again.best_values == outcome.best_values


def test_refine_parameters_must_be_priors(tiny_config) -> None:  # noqa: F811
    with pytest.raises(ConfigError, match=r"refine\.parameters must be keys of priors"):
        load_calibration(_refine_config(tiny_config, parameters=["actors.JNIM.aggression"]))


def test_a_start_outside_its_prior_is_refused(tiny_config) -> None:  # noqa: F811
    cfg = yaml.safe_load(tiny_config.read_text(encoding="utf-8"))
    cfg["priors"]["mechanisms.displacement.flee_per_event"] = {"distribution": "loguniform", "low": 1000, "high": 2000}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    cal = load_calibration(tiny_config)
    with pytest.raises(ConfigError, match="must lie inside their priors"):
        Refiner(cal, executor=LocalExecutor(0), out=cal.resolve("x"))


def test_refine_from_the_command_line_rewrites_only_values_that_win_on_fresh_seeds(tiny_config, capsys) -> None:  # noqa: F811
    from sahel_sim.cli import main
    params = tiny_config.parent / "parameters.yaml"
    # almost nobody goes abroad at the start (the scenario's value): raising foreign_weight is better on any seed
    scen = tiny_config.parent / "short.yaml"
    scen.write_text(scen.read_text(encoding="utf-8") + "mechanisms:\n  displacement:\n    foreign_weight: 0.02\n",
                    encoding="utf-8")
    cfg = yaml.safe_load(_refine_config(tiny_config, parameters=["mechanisms.displacement.foreign_weight"],
                                        step=0.5).read_text(encoding="utf-8"))
    cfg["priors"]["mechanisms.displacement.foreign_weight"] = {"distribution": "loguniform", "low": 0.01, "high": 4.0}
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert main(["calibrate", str(tiny_config), "--refine", "--workers", "0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    out = tiny_config.parent / "out-refine"
    best = yaml.safe_load((out / "best.yaml").read_text(encoding="utf-8"))["values"]
    written = yaml.safe_load(params.read_text(encoding="utf-8"))["mechanisms"]["displacement"]["foreign_weight"]
    assert written == best["mechanisms.displacement.foreign_weight"] > 0.02
    assert "compass search (--refine)" in params.read_text(encoding="utf-8") and f"wrote {params}" in printed
    assert (out / "refine.md").is_file() and (out / "refine.csv").is_file()
    stamp = (out / "refine.md").read_text(encoding="utf-8").splitlines()[2]
    assert f"by `sahel-sim calibrate {tiny_config} --refine` (commit `" in stamp and "local executor, 0 workers" in stamp

    # a second refinement from there with a demand no move can meet leaves the file alone
    before = params.read_text(encoding="utf-8")
    cfg["refine"]["min_improvement"] = 100.0
    tiny_config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert main(["calibrate", str(tiny_config), "--refine", "--out", str(tiny_config.parent / "again"),
                 "--workers", "0", "--quiet"]) == 0
    assert params.read_text(encoding="utf-8") == before and "is left as it is" in capsys.readouterr().out
    stamp = (tiny_config.parent / "again" / "refine.md").read_text(encoding="utf-8").splitlines()[2]
    assert f"by `sahel-sim calibrate {tiny_config} --refine --out {tiny_config.parent / 'again'}` (commit" in stamp


def test_max_polls_only_with_refine(tiny_config, capsys) -> None:  # noqa: F811
    from sahel_sim.cli import main

    assert main(["calibrate", str(tiny_config), "--max-polls", "2", "--workers", "0", "--quiet"]) == 2
    assert "--max-polls: only with --refine" in capsys.readouterr().err


def test_target_misses_count_medians_outside_tolerance_and_missing_statistics() -> None:
    targets = load_targets(Path(__file__).resolve().parent.parent / "calibration" / "targets.yaml")
    at_value = {t.id: t.value for t in targets.targets}
    assert targets.misses(at_value) == 0
    first, second = targets.targets[0], targets.targets[1]
    outside = {**at_value, first.id: first.high * 1.5 + 1.0}
    assert targets.misses(outside) == 1
    del outside[second.id]  # a statistic the run could not compute is a miss too
    assert targets.misses(outside) == 2


def _penalised_calibration(config: Path, **refine):
    path = _refine_config(config, parameters=["mechanisms.displacement.flee_per_event"], miss_penalty=0.5,
                          **refine)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["use_targets"] += ["violent_events_2024"]  # after the run's end (August 2012): 0 events, a miss
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return load_calibration(path)


def test_miss_penalty_adds_to_the_distance_per_target_outside_tolerance(tiny_config) -> None:  # noqa: F811
    penalty = 0.5
    cal = _penalised_calibration(tiny_config)
    out = cal.resolve("out-refine-penalty")
    refiner = Refiner(cal, executor=LocalExecutor(0), out=out)
    outcome = refiner.run(reevaluate=False)
    frame = read_measures(out / "start")
    med = {t: float(frame[t].median()) for t in cal.targets.ids if t in frame}
    start = outcome.table.iloc[0]
    assert start["misses"] == cal.used.misses(med) > 0
    assert start["distance"] == pytest.approx(cal.used.distance(med))
    assert start["objective"] == pytest.approx(start["distance"] + penalty * start["misses"])
    assert outcome.table["misses"].notna().all()
    report = refine_report(cal, refiner, outcome)
    assert "plus 0.5 for each target whose median is outside its tolerance" in report
    assert f"targets outside tolerance: start {start['misses']}, refined " in report and "None" not in report


def test_miss_penalty_counts_follow_a_move_into_the_re_evaluation(tiny_config) -> None:  # noqa: F811
    cal = _penalised_calibration(tiny_config, min_improvement=0.0, step=0.4)
    refiner = Refiner(cal, executor=LocalExecutor(0), out=cal.resolve("out-refine-moved"))
    outcome = refiner.run()
    assert outcome.best_values != outcome.start_values  # the tiny search moved
    moved = outcome.table[outcome.table["accepted"] & (outcome.table["poll"] == 1)].iloc[0]
    assert refiner.score_of(outcome.best_values)[1] == moved["misses"]
    r = outcome.reevaluated
    assert isinstance(r["start_misses"], int) and isinstance(r["refined_misses"], int)
    assert r["refined"] - 0.5 * r["refined_misses"] >= 0.0  # the objective holds the distance and the penalty
    report = refine_report(cal, refiner, outcome)
    assert f"refined {r['refined_misses']})" in report and "None" not in report
