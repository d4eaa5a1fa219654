"""The malformed-input corpus: every bad input exits 2 with a short message and writes nothing.

Each case runs the command line as a user would and checks the contract of issue 12: exit
status 2, under 5 seconds, at most 5 lines on stderr, no traceback, the message names the file
or ``--set`` argument and what was wrong, and the working folder (which holds an existing
results folder) is byte-identical afterwards. The cases run in this process through
:func:`sahel_sim.cli.main` (the entry point minus the interpreter start, ~1.5 s a case); a
sample also runs through real ``python -m sahel_sim`` subprocesses.

Small inputs are files in tests/data/bad_inputs/; large or odd ones (50 MB, 50,000 nested
brackets, a 10,000-character name, a folder, /dev/zero) are generated in a fixture.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad_inputs"
S = ROOT / "scenarios"
HIST = str(S / "historical.yaml")
TARGETS = str(ROOT / "calibration" / "targets.yaml")
ACLED = str(ROOT / "tests" / "data" / "acled_mali_synthetic.csv")

MAX_SECONDS = 5.0
MAX_STDERR_LINES = 5


def b(name: str) -> str:
    return str(BAD / name)


# (id, argv, regex the message must match); "{gen}" is the generated-inputs folder,
# "{out}" an existing results folder.
CASES: list[tuple[str, list[str], str]] = [
    # ---- encodings and bytes
    ("latin1", ["run", b("latin1.yaml")], r"latin1\.yaml: not UTF-8 text \(byte 0xe9 at line 1"),
    ("utf16-bom", ["run", b("utf16_bom.yaml")], r"utf16_bom\.yaml: is UTF-16 text; expected UTF-8"),
    ("random-bytes", ["run", b("random_bytes.yaml")], r"random_bytes\.yaml: not UTF-8 text"),
    ("nul-byte", ["run", b("nul_byte.yaml")], r"nul_byte\.yaml: contains a NUL byte at line 1, column 8"),
    ("control-char", ["run", b("control_char.yaml")], r"control_char\.yaml: character #x0007 at line \d+"),
    ("extends-latin1", ["run", b("extends_latin1.yaml")], r"extends_latin1\.yaml: extends: .*latin1\.yaml: not UTF-8"),
    # ---- dates
    ("date-feb30", ["run", b("date_feb30.yaml")], r"date_feb30\.yaml: start_date: 2023-02-30 is not a date"),
    ("date-unix-int", ["run", b("date_unix_int.yaml")], r"start_date: expected a date YYYY-MM-DD, got 86400"),
    ("date-far-future", ["run", b("date_far_future.yaml")], r"end_date: 9999-12-31 is outside the supported dates"),
    ("date-before-1900", ["run", b("date_before_1900.yaml")], r"start_date: 1800-01-01 is outside"),
    ("date-with-time", ["run", b("date_with_time.yaml")], r"start_date: expected a date YYYY-MM-DD"),
    ("date-text", ["run", b("date_text.yaml")], r"start_date: expected a date YYYY-MM-DD, got 'next tuesday'"),
    ("run-too-long", ["run", b("run_too_long.yaml")], r"end_date: 2099-12-28 is 88 years after start_date .*at most 2,600 weeks"),
    ("end-before-start", ["run", b("end_before_start.yaml")], r"end_date: 2011-01-01 must be after start_date \(2012-01-16\)"),
    ("intervention-month13", ["run", b("intervention_date_month13.yaml")], r"interventions\.wagner_deploy\.date: 2022-13-01 is not a date"),
    ("acled-name-date", ["run", b("acled_name_date_bad.yaml")], r"actors\.JNIM\.acled_names\[0\]\.from: 2012-02-31 is not a date"),
    # ---- YAML structure
    ("duplicate-key", ["run", b("duplicate_key.yaml")], r"duplicate_key\.yaml: not valid YAML at line 3, column 1: duplicate key 'name' \(first given at line 2\)"),
    ("duplicate-nested-key", ["run", b("duplicate_nested_key.yaml")], r"line 5, column 5: duplicate key 'strength'"),
    ("empty", ["run", b("empty.yaml")], r"empty\.yaml: empty scenario: expected a mapping with name, start_date, end_date"),
    ("comments-only", ["run", b("comments_only.yaml")], r"comments_only\.yaml: empty scenario"),
    ("top-level-list", ["run", b("top_level_list.yaml")], r"expected a mapping of keys at the top level, got a list of 2 items"),
    ("top-level-scalar", ["run", b("top_level_scalar.yaml")], r"expected a mapping of keys at the top level, got 'just some text'"),
    ("tab-indent", ["run", b("tab_indent.yaml")], r"tab_indent\.yaml: not valid YAML at line 3"),
    ("unclosed-bracket", ["run", b("unclosed_bracket.yaml")], r"unclosed_bracket\.yaml: not valid YAML at line \d+"),
    ("unclosed-quote", ["run", b("unclosed_quote.yaml")], r"unclosed_quote\.yaml: not valid YAML at line \d+"),
    ("bad-indent", ["run", b("bad_indent.yaml")], r"bad_indent\.yaml: not valid YAML at line 4"),
    ("python-tag", ["run", b("python_tag.yaml")], r"python_tag\.yaml: not valid YAML at line 2.*constructor for the tag"),
    ("custom-tag", ["run", b("custom_tag.yaml")], r"custom_tag\.yaml: not valid YAML at line 2.*!include"),
    ("alias-cycle", ["run", b("alias_cycle.yaml")], r"alias_cycle\.yaml: not valid YAML.*refers to the value that contains it"),
    ("alias-bomb", ["run", b("alias_bomb.yaml")], r"alias_bomb\.yaml: not valid YAML at line \d+.*more than 200,000 values"),
    ("huge-integer", ["run", b("huge_integer.yaml")], r"huge_integer\.yaml: a value cannot be read"),
    ("deep-brackets", ["run", "{gen}/deep_brackets.yaml"], r"deep_brackets\.yaml: not valid YAML at line 1.*nested deeper than 50 levels"),
    ("deep-maps", ["run", "{gen}/deep_maps.yaml"], r"deep_maps\.yaml: not valid YAML.*nested deeper than 50 levels"),
    ("file-50mb", ["run", "{gen}/big.yaml"], r"big\.yaml: file of 52,428,800 bytes; input files are at most 1,000,000 bytes"),
    ("folder-as-scenario", ["run", "{gen}"], r"is a folder; expected a file"),
    ("missing-file", ["run", "{gen}/nope.yaml"], r"nope\.yaml: file not found"),
    # ---- values that pass a naive schema and break the model
    ("strength-inf", ["run", b("strength_inf.yaml")], r"actors\.JNIM\.strength: Input should be a finite number"),
    ("strength-nan", ["run", b("strength_nan.yaml")], r"actors\.JNIM\.strength: Input should be a finite number"),
    ("strength-huge", ["run", b("strength_huge.yaml")], r"actors\.JNIM\.strength: Input should be less than or equal to 1000000"),
    ("population-1e308", ["run", b("population_1e308.yaml")], r"population\.national_total: Input should be less than or equal to 500000000"),
    ("unit-size-tiny", ["run", b("unit_size_tiny.yaml")], r"actors\.JNIM\.unit_size: Input should be greater than or equal to 1"),
    ("deploy-strength-huge", ["run", b("deploy_strength_huge.yaml")], r"interventions\.wagner_deploy\.strength: 90,000,000 is too large"),
    ("mechanism-rate-inf", ["run", b("mechanism_rate_inf.yaml")], r"mechanisms\.combat\.battle_rate_per_week: Input should be a finite number"),
    ("mechanism-rate-huge", ["run", b("mechanism_rate_huge.yaml")], r"mechanisms\.displacement\.flee_per_event: Input should be less than or equal to 1000000000"),
    ("probability-negative", ["run", b("probability_negative.yaml")], r"mechanisms\.peacekeeping\.protection: Input should be greater than or equal to 0 \(got -0\.5\)"),
    ("strength-text", ["run", b("strength_text.yaml")], r"actors\.FAMa\.strength: .*number.*'many'"),
    ("actors-not-mapping", ["run", b("actors_not_mapping.yaml")], r"actors: Input should be a valid dictionary"),
    ("region-unknown", ["run", b("region_unknown.yaml")], r"actors\.JNIM\.regions\[1\]: 'Atlantis' is not a region of Mali"),
    ("intervention-type", ["run", b("intervention_type_unknown.yaml")], r"interventions\.coup_2012: unknown intervention type 'putsch'"),
    ("intervention-actor", ["run", b("intervention_actor_unknown.yaml")], r"interventions\.wagner_deploy\.actor: unknown actor 'Wagnr'"),
    ("unknown-key", ["run", b("unknown_key_typo.yaml")], r"mechanisms\.combat\.batle_rate_per_week: unknown key; did you mean 'battle_rate_per_week'\?"),
    ("name-dotdot", ["run", b("name_dotdot.yaml")], r"name_dotdot\.yaml: name: String should match pattern"),
    ("name-slash", ["run", b("name_slash.yaml")], r"name: String should match pattern"),
    ("name-10000", ["run", "{gen}/long_name.yaml"], r"long_name\.yaml: name: String should have at most 80 characters"),
    ("description-50mb", ["run", "{gen}/long_description.yaml"], r"long_description\.yaml: file of 52,\d{3},\d{3} bytes"),
    ("description-20k", ["run", "{gen}/description_20k.yaml"], r"description: String should have at most 10000 characters"),
    ("snapshot-weeks-zero", ["run", b("snapshot_weeks_zero.yaml")], r"outputs\.snapshot_every_weeks: Input should be greater than or equal to 1"),
    # ---- extends
    ("extends-missing", ["run", b("extends_missing.yaml")], r"extends_missing\.yaml: extends: no_such_parent\.yaml not found"),
    ("extends-cycle", ["run", b("extends_cycle_a.yaml")], r"extends: circular chain"),
    ("extends-dev-zero", ["run", b("extends_dev_zero.yaml")], r"extends_dev_zero\.yaml: extends: /dev/zero: is not a regular file"),
    ("extends-folder", ["run", b("extends_folder.yaml")], r"extends_folder\.yaml: extends: .*is a folder"),
    ("extends-list", ["run", b("extends_list.yaml")], r"extends_list\.yaml: extends: expected a file name, got a list of 2 items"),
    # ---- --set arguments and options
    ("set-date-feb30", ["run", HIST, "--set", "start_date=2023-02-30"], r"\(with --set start_date=2023-02-30\): start_date: 2023-02-30 is not a date"),
    ("set-intervention-month13", ["run", HIST, "--set", "interventions.wagner_deploy.date=2022-13-01"], r"--set interventions\.wagner_deploy\.date=2022-13-01\): interventions\.wagner_deploy\.date: 2022-13-01 is not a date"),
    ("set-strength-inf", ["run", HIST, "--set", "actors.JNIM.strength=.inf"], r"actors\.JNIM\.strength: Input should be a finite number"),
    ("set-population-1e308", ["run", HIST, "--set", "population.national_total=1e308"], r"population\.national_total: Input should be less than or equal to 500000000"),
    ("set-unit-size-tiny", ["run", HIST, "--set", "actors.JNIM.unit_size=0.0001"], r"actors\.JNIM\.unit_size: Input should be greater than or equal to 1"),
    ("set-end-far", ["run", HIST, "--set", "end_date=9999-12-31"], r"end_date: 9999-12-31 is outside"),
    ("set-name-dotdot", ["run", HIST, "--set", "name=.."], r"name: String should match pattern"),
    ("set-no-equals", ["run", HIST, "--set", "start_date"], r"--set 'start_date': expected key\.path=value"),
    ("set-empty-key", ["run", HIST, "--set", "=5"], r"--set: empty key path"),
    ("set-unknown-key", ["run", HIST, "--set", "mechanisms.combat.batle_rate_per_week=1"], r"mechanisms\.combat\.batle_rate_per_week: unknown key; did you mean 'battle_rate_per_week'"),
    ("set-list-index", ["run", HIST, "--set", "actors.JNIM.regions.99=Mopti"], r"--set actors\.JNIM\.regions\.99: actors\.JNIM\.regions is a list of \d+; '99' is not an index"),
    ("set-bad-yaml", ["run", HIST, "--set", "actors.JNIM.regions=[Mopti"], r"--set actors\.JNIM\.regions: not valid YAML"),
    ("set-deep-value", ["run", HIST, "--set", "description=" + "[" * 200], r"--set description: not valid YAML.*nested deeper than 50 levels"),
    ("set-long-key-path", ["run", HIST, "--set", "a." * 300 + "b=1"], r"key path too long"),
    ("seed-negative", ["run", HIST, "--seed", "-1"], r"--seed: expected an integer from 0"),
    ("seed-huge", ["run", HIST, "--seed", str(2**64)], r"--seed: expected an integer from 0"),
    ("unknown-option", ["run", HIST, "--bogus"], r"unrecognized arguments: --bogus"),
    ("out-other-run", ["run", HIST, "--seed", "2", "--out", "{out}/classroom-1", "--set", "end_date=2012-03-01"], r"--out .*classroom-1: already holds other results \(seed 1 of scenario classroom\)"),
    # ---- sweep files
    ("sweep-name-dotdot", ["sweep", b("sweep_name_dotdot.yaml")], r"sweep_name_dotdot\.yaml: name: String should match pattern"),
    ("sweep-alias-bomb", ["sweep", b("sweep_alias_bomb.yaml")], r"sweep_alias_bomb\.yaml: not valid YAML at line \d+.*more than 200,000 values"),
    ("sweep-unknown-parameter", ["sweep", b("sweep_unknown_parameter.yaml")], r"parameters\['mechanisms\.combat\.batle_rate_per_week'\]: 'batle_rate_per_week' is not a key"),
    ("sweep-replicates-zero", ["sweep", b("sweep_replicates_zero.yaml")], r"replicates: Input should be greater than or equal to 1"),
    ("sweep-sobol", ["sweep", b("sweep_sobol_not_power2.yaml")], r"design: .*power of two"),
    ("sweep-low-above-high", ["sweep", b("sweep_low_above_high.yaml")], r"high must be greater than low"),
    ("sweep-range-inf", ["sweep", b("sweep_range_inf.yaml")], r"parameters\['mechanisms\.combat\.battle_rate_per_week'\]\.high: Input should be a finite number"),
    ("sweep-point-bad-date", ["sweep", b("sweep_point_bad_date.yaml")], r"design point 1 .*interventions\.wagner_deploy\.date: 2022-02-30 is not a date"),
    ("sweep-set-inf", ["sweep", b("sweep_set_inf.yaml")], r"actors\.JNIM\.strength: Input should be a finite number"),
    ("sweep-scenario-missing", ["sweep", b("sweep_scenario_missing.yaml")], r"scenario: nowhere\.yaml not found"),
    ("sweep-duplicate-key", ["sweep", b("sweep_duplicate_key.yaml")], r"duplicate key 'replicates'"),
    ("sweep-seed-negative", ["sweep", b("sweep_seed_negative.yaml")], r"seed: Input should be greater than or equal to 0"),
    ("sweep-empty", ["sweep", b("empty.yaml")], r"empty\.yaml: empty file: expected a mapping with name, scenario, replicates, seed"),
    ("sweep-latin1", ["sweep", b("latin1.yaml")], r"latin1\.yaml: not UTF-8 text"),
    ("sweep-workers-negative", ["sweep", str(S / "sweeps" / "minusma_strength.yaml"), "--workers", "-1", "--out", "{out}/sw"], r"--workers: expected 0 or more"),
    # ---- sensitivity files
    ("sensitivity-sobol", ["sensitivity", b("sensitivity_not_power2.yaml")], r"samples: Sobol' sampling needs a power of two"),
    ("sensitivity-one-parameter", ["sensitivity", b("sensitivity_one_parameter.yaml")], r"parameters: Dictionary should have at least 2 items"),
    ("sensitivity-name-dotdot", ["sensitivity", b("sensitivity_name_dotdot.yaml")], r"name: String should match pattern"),
    ("sensitivity-nan", ["sensitivity", b("sensitivity_nan_range.yaml")], r"\.low: Input should be a finite number"),
    # ---- calibration configs
    ("calibration-name-dotdot", ["calibrate", b("calibration_name_dotdot.yaml")], r"calibration_name_dotdot\.yaml: name: String should match pattern"),
    ("calibration-prior-reversed", ["calibrate", b("calibration_prior_reversed.yaml")], r"priors\['mechanisms\.combat\.battle_rate_per_week'\]: low \(0\.3\) must be below high"),
    ("calibration-holdout-feb30", ["calibrate", b("calibration_holdout_feb30.yaml")], r"holdout_after: 2021-02-30 is not a date"),
    ("calibration-unknown-prior", ["calibrate", b("calibration_unknown_prior_key.yaml")], r"priors\['mechanisms\.combat\.batle_rate'\]: 'batle_rate' is not a key"),
    ("calibration-bad-targets", ["calibrate", b("calibration_bad_targets_file.yaml")], r"targets_value_text\.yaml: targets\[0\] \(t1\)\.value: expected a finite number, got 'lots'"),
    ("calibration-prior-inf", ["calibrate", b("calibration_prior_inf.yaml")], r"\.high: Input should be a finite number"),
    ("calibration-holdout-option", ["calibrate", str(ROOT / "calibration" / "config.yaml"), "--holdout-after", "2021-02-30"], r"argument --holdout-after: invalid"),
    # ---- targets files (validate reads them before any run)
    ("targets-value-text", ["validate", HIST, "--targets", b("targets_value_text.yaml")], r"targets\[0\] \(t1\)\.value: expected a finite number, got 'lots'"),
    ("targets-value-inf", ["validate", HIST, "--targets", b("targets_value_inf.yaml")], r"\.value: expected a finite number, got inf"),
    ("targets-period-feb30", ["validate", HIST, "--targets", b("targets_period_feb30.yaml")], r"\.period\.from: 2023-02-30 is not a date"),
    ("targets-tolerance-list", ["validate", HIST, "--targets", b("targets_tolerance_list.yaml")], r"\.tolerance: expected \{low: NUMBER, high: NUMBER\}"),
    ("targets-unknown-statistic", ["validate", HIST, "--targets", b("targets_unknown_statistic.yaml")], r"statistic\.kind: unknown statistic 'median'"),
    ("targets-statistic-bad-date", ["validate", HIST, "--targets", b("targets_statistic_bad_date.yaml")], r"2023-13-01 is not a date"),
    ("targets-statistic-not-mapping", ["validate", HIST, "--targets", b("targets_statistic_not_mapping.yaml")], r"targets\[0\]"),
    ("targets-empty-list", ["validate", HIST, "--targets", b("targets_empty_list.yaml")], r"expected a mapping with a non-empty list 'targets'"),
    ("targets-duplicate-id", ["validate", HIST, "--targets", b("targets_duplicate_id.yaml")], r"targets\[1\] \(t1\)\.id: duplicate id 't1'"),
    ("targets-utf16", ["validate", HIST, "--targets", b("utf16_bom.yaml")], r"utf16_bom\.yaml: is UTF-16 text"),
    # ---- validate --actor-map and --events
    ("actor-map-latin1", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", b("actor_map_latin1.yaml")], r"actor_map_latin1\.yaml: not UTF-8 text"),
    ("actor-map-folder", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", "{gen}"], r"is a folder; expected a file"),
    ("actor-map-bad-date", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", b("actor_map_bad_date.yaml")], r"actor_map_bad_date\.yaml: names\.JNIM: unknown actor '2023-02-30'"),
    ("actor-map-not-mapping", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", b("actor_map_not_mapping.yaml")], r"expected a mapping with keys 'names' \(a mapping\)"),
    ("actor-map-bad-regex", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", b("actor_map_bad_regex.yaml")], r"patterns\[0\]\.pattern: not a regular expression"),
    ("actor-map-unknown-actor", ["validate", HIST, "--events", ACLED, "--seeds", "0", "--targets", TARGETS, "--actor-map", b("actor_map_unknown_actor.yaml")], r"names\.Some Group: unknown actor 'NoSuchActor'"),
    ("events-missing-columns", ["validate", HIST, "--events", b("events_missing_columns.csv"), "--seeds", "0", "--targets", TARGETS], r"events_missing_columns\.csv: missing ACLED column\(s\)"),
    ("events-bad-date", ["validate", HIST, "--events", b("events_bad_date.csv"), "--seeds", "0", "--targets", TARGETS], r"events_bad_date\.csv: event_date '2023-02-30' is not a date"),
    ("events-folder", ["validate", HIST, "--events", "{gen}", "--seeds", "0", "--targets", TARGETS], r"is a folder; expected an ACLED export"),
    ("events-binary", ["validate", HIST, "--events", b("events_binary.csv"), "--seeds", "0", "--targets", TARGETS], r"events_binary\.csv: (not a readable CSV|missing ACLED column)"),
]

# a sample run through the real entry point (python -m sahel_sim), one per family
SUBPROCESS_SAMPLE = ("utf16-bom", "date-feb30", "set-intervention-month13", "sweep-alias-bomb", "file-50mb",
                     "actor-map-folder")


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> Path:
    """Inputs too large or too odd to commit."""
    d = tmp_path_factory.mktemp("gen")
    (d / "deep_brackets.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    (d / "deep_maps.yaml").write_text("a: " + "{k: " * 3000 + "1" + "}" * 3000 + "\n")
    with open(d / "big.yaml", "wb") as fh:
        fh.write(b"a: b\n" * (50 * 1024 * 1024 // 5))
    (d / "long_name.yaml").write_text(f"extends: {HIST}\nname: {'x' * 10_000}\n")
    (d / "long_description.yaml").write_text(f"extends: {HIST}\ndescription: {'x' * 52_000_000}\n")
    (d / "description_20k.yaml").write_text(f"extends: {HIST}\ndescription: {'x' * 20_000}\n")
    return d


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A working folder holding existing results (a run folder and a sweep folder)."""
    ws = tmp_path_factory.mktemp("ws")
    run = ws / "results" / "classroom-1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"seed": 1, "scenario_name": "classroom", "scenario": {}}\n')
    (run / "events.csv").write_text("event_id_cnty\nSIM1\n")
    sweep = ws / "results" / "sw" / "runs"
    sweep.mkdir(parents=True)
    (sweep / "p00000-r00000.parquet").write_bytes(b"PAR1 not really")
    (ws / "results" / "sw" / "manifest.json").write_text("{}\n")
    return ws


def tree_digest(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def expand(argv: list[str], gen: Path, workspace: Path) -> list[str]:
    return [a.replace("{gen}", str(gen)).replace("{out}", str(workspace / "results")) for a in argv]


def run_in_process(argv: list[str]) -> tuple[int, str, float]:
    """:func:`sahel_sim.cli.main` as the console script calls it: exit status and stderr."""
    from sahel_sim.cli import main

    err = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # an uncaught exception is what a user would see as a traceback
            err.write(traceback.format_exc())
            code = -1
    return code, err.getvalue(), time.perf_counter() - t0


def check(case_id: str, code: int, stderr: str, elapsed: float, expected: str, before: dict, after: dict) -> None:
    import re

    assert "Traceback" not in stderr, f"{case_id}: traceback:\n{stderr}"
    assert code == 2, f"{case_id}: exit status {code}, stderr:\n{stderr}"
    assert elapsed < MAX_SECONDS, f"{case_id}: took {elapsed:.1f} s"
    lines = stderr.strip().splitlines()
    assert 1 <= len(lines) <= MAX_STDERR_LINES, f"{case_id}: {len(lines)} lines on stderr:\n{stderr[:2000]}"
    assert all(len(line) <= 400 for line in lines), f"{case_id}: a line of {max(map(len, lines))} characters"
    assert re.search(expected, stderr), f"{case_id}: message does not match {expected!r}:\n{stderr}"
    assert after == before, f"{case_id}: the working folder changed"


def test_corpus_has_at_least_60_cases() -> None:
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
    committed = {p.name for p in BAD.iterdir()}
    used = {Path(a).name for _, argv, _ in CASES for a in argv if a.startswith(str(BAD))}
    assert used <= committed
    # every committed file is used by a case (directly or through extends / targets:)
    indirect = {"extends_cycle_b.yaml", "targets_value_text.yaml"}
    assert committed - used <= indirect, sorted(committed - used)


@pytest.mark.parametrize(("case_id", "argv", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_short_message(case_id, argv, expected, gen, workspace, monkeypatch) -> None:
    monkeypatch.chdir(workspace)
    before = tree_digest(workspace)
    code, stderr, elapsed = run_in_process(expand(argv, gen, workspace))
    check(case_id, code, stderr, elapsed, expected, before, tree_digest(workspace))
    assert not (workspace / "pwned_by_yaml").exists()


@pytest.mark.parametrize("case_id", SUBPROCESS_SAMPLE)
def test_bad_input_through_the_real_entry_point(case_id, gen, workspace) -> None:
    _, argv, expected = next(c for c in CASES if c[0] == case_id)
    before = tree_digest(workspace)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", *expand(argv, gen, workspace)], cwd=workspace,
                          capture_output=True, text=True, timeout=60, env=env)
    check(case_id, proc.returncode, proc.stderr, time.perf_counter() - t0, expected, before, tree_digest(workspace))


def test_error_lines_are_capped() -> None:
    from sahel_sim.config import ConfigError

    err = ConfigError("\n".join(f"problem {i}: " + "x" * 5000 for i in range(100)))
    lines = str(err).splitlines()
    assert len(lines) == 5 and lines[-1] == "... and 96 more problem(s)"
    assert all(len(line) <= 300 for line in lines)
