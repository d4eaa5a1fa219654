"""``sahel-sim calibrate CONFIG`` and ``sahel-sim validate [SCENARIO]``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from sahel_sim.cli.common import add_executor_args, make_executor, note

DEFAULT_TARGETS = Path("calibration/targets.yaml")
DEFAULT_SCENARIO = Path("scenarios/historical.yaml")
DEFAULT_ACTOR_MAP = Path("calibration/acled_actor_map.yaml")
DEFAULT_CONFIG = Path("calibration/config.yaml")


def write_atomic(path: Path, text: str) -> None:
    from sahel_sim.io.atomic import write_atomic as _write

    _write(path, text)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit the model's free parameters to the documented trends (ABC, resumable)",
        description="Calibrate the parameters named in CONFIG's priors against calibration/targets.yaml by "
        "adaptive population Monte Carlo ABC. Resumable: rerun the same command after an interruption. "
        "Writes the posterior, and (unless --holdout-after or --no-write) the calibrated parameter file and "
        "calibration/posterior.parquet. See docs/calibration.md.",
    )
    p.add_argument("config", type=Path, help="calibration config (e.g. calibration/config.yaml)")
    p.add_argument("--out", default=None, help="output folder (default: the config's 'out')")
    p.add_argument("--holdout-after", type=dt.date.fromisoformat, default=None, metavar="DATE",
                   help="out-of-sample check: calibrate only on targets ending on or before DATE (e.g. 2021-12-31) "
                        "and report how the later targets are predicted; parameters are not written")
    add_executor_args(p)
    p.add_argument("--max-generations", type=int, default=None, help="override the config's max_generations")
    p.add_argument("--population", type=int, default=None, help="override the config's population")
    p.add_argument("--replicates", type=int, default=None, help="override the config's replicates")
    p.add_argument("--reevaluate-top", type=int, default=None, metavar="N",
                   help="override the config's reevaluate_top: the N best particles are rerun with fresh seeds to "
                        "choose the point estimate (0: no re-evaluation)")
    p.add_argument("--reevaluate-seeds", type=int, default=None, metavar="N",
                   help="override the config's reevaluate_seeds: fresh seeds per re-evaluated particle (0: none)")
    p.add_argument("--refine", action="store_true",
                   help="instead of the ABC, refine the current parameter values by a compass search on the same "
                        "distance (the config's 'refine' section; output folder <out>-refine); the parameter file is "
                        "rewritten only if the refined values are better on fresh seeds")
    p.add_argument("--max-polls", type=int, default=None, metavar="N", help="with --refine: override refine.max_polls")
    p.add_argument("--no-write", action="store_true", help="do not rewrite the parameter file")
    p.add_argument("--report", type=Path, default=None,
                   help="also write the calibration report here (e.g. calibration/abc_report.md; it is always "
                        "written as report.md in the output folder)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=calibrate_main)

    v = sub.add_parser(
        "validate",
        help="compare a scenario (and/or a real ACLED export) with the calibration targets",
        description="Run SCENARIO over many seeds and report, per target of calibration/targets.yaml, the "
        "documented value and tolerance against the simulated median and 90% interval (table and figure). "
        "With --events, compute the same statistics on a real ACLED export and show them beside the simulation.",
    )
    v.add_argument("scenario", type=Path, nargs="?", default=DEFAULT_SCENARIO,
                   help=f"scenario YAML (default: {DEFAULT_SCENARIO})")
    v.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a scenario value (repeatable)")
    v.add_argument("--targets", type=Path, default=DEFAULT_TARGETS, help=f"targets file (default: {DEFAULT_TARGETS})")
    v.add_argument("--seeds", type=int, default=30, help="replicate runs (default 30; 0 with --events: ACLED only)")
    v.add_argument("--seed", type=int, default=20240601, help="master seed the replicate seeds derive from")
    v.add_argument("--events", type=Path, default=None, help="a real ACLED export (CSV) to compute the statistics on")
    v.add_argument("--actor-map", type=Path, default=DEFAULT_ACTOR_MAP,
                   help=f"ACLED actor names -> scenario actors for --events (default: {DEFAULT_ACTOR_MAP})")
    v.add_argument("--priors", type=Path, default=DEFAULT_CONFIG,
                   help="calibration config whose priors the scenario's parameter values are checked against "
                        f"(default: {DEFAULT_CONFIG}; the report lists those at or beyond a bound)")
    v.add_argument("--report", type=Path, default=None, help="write the table as Markdown here (e.g. calibration/validation.md)")
    v.add_argument("--figure", type=Path, default=None, help="write the figure here (e.g. calibration/validation.png)")
    v.add_argument("--out", type=Path, default=None,
                   help="results folder of the runs (default: results/validate/<scenario>-<digest>-<targets digest>-<seed>/); "
                        "rerunning the same command (or asking for more seeds) resumes there")
    add_executor_args(v)
    v.add_argument("--quiet", action="store_true", help="no progress display")
    v.set_defaults(func=validate_main)


def calibrate_main(args: argparse.Namespace) -> int:
    from sahel_sim.cli.progress import RunProgress
    from sahel_sim.config import ConfigError
    from sahel_sim.experiments.calibrate import (
        Sampler,
        calibration_report,
        load_calibration,
        out_of_sample_report,
        write_shipped_calibration,
    )

    overrides = {k: v for k, v in (("population", args.population), ("replicates", args.replicates),
                                   ("reevaluate_top", args.reevaluate_top), ("reevaluate_seeds", args.reevaluate_seeds))
                 if v is not None}
    if args.max_polls is not None:
        if not args.refine:
            raise ConfigError("--max-polls: only with --refine")
        overrides["refine"] = {**_raw_refine(args.config), "max_polls": args.max_polls}
    cal = load_calibration(args.config, holdout_after=args.holdout_after, out=args.out, overrides=overrides)
    cfg = cal.config
    out = Path(args.out) if args.out else cal.resolve(cfg.out)
    if cfg.holdout_after is not None and args.out is None:
        out = out.with_name(out.name + f"-holdout-{cfg.holdout_after:%Y%m%d}")
    workers = cfg.executor.workers if cfg.executor.kind == "local" else None
    scheduler = cfg.executor.scheduler if cfg.executor.kind == "dask" else None
    executor = make_executor(args, default_workers=workers, scheduler=scheduler)
    if args.refine:
        if args.out is None:
            out = out.with_name(out.name + "-refine")
        return refine_main(args, cal, executor, out)
    print(f"calibrating {len(cal.keys)} parameters on {len(cal.used)} of {len(cal.targets)} targets "
          f"({executor.describe()}) -> {out}")
    with RunProgress(enabled=not args.quiet) as show:
        result = Sampler(cal, executor=executor, out=out, progress=show, notify=show.line,
                         chunk_size=args.chunk_size).run(max_generations=args.max_generations)
    print(f"posterior: {len(result.posterior)} particles -> {out / 'posterior.parquet'}")
    report = calibration_report(cal, result)
    write_atomic(out / "report.md", report)
    print(f"report: {out / 'report.md'}")
    if args.report is not None:
        write_atomic(args.report, report)
        print(f"wrote {args.report}")
    if cfg.holdout_after is not None:
        text = out_of_sample_report(cal, result)
        write_atomic(out / "out_of_sample.md", text)
        print(text)
        return 0
    if result.incumbent_distance is not None:
        print(f"re-evaluation seeds: best particle distance {result.best_distance:.3f}, current parameters "
              f"{result.incumbent_distance:.3f}")
    if result.incumbent_wins and not args.no_write:
        print(f"the current parameters fit at least as well as every re-evaluated particle: "
              f"{cal.resolve(cfg.parameters_file)} is left as it is")
    elif not args.no_write:
        written = write_shipped_calibration(cal, result)
        for path in written:
            print(f"wrote {path}")
    return 0


def _raw_refine(config: Path) -> dict:
    from sahel_sim.config.loader import read_yaml

    raw = read_yaml(config)
    refine = raw.get("refine") if isinstance(raw, dict) else None
    return dict(refine) if isinstance(refine, dict) else {}


def _refine_command(args: argparse.Namespace) -> str:
    """The command line of a refinement, as its report quotes it (the options that shape it)."""
    parts = ["sahel-sim calibrate", str(args.config), "--refine"]
    for flag, value in (("--out", args.out), ("--max-polls", args.max_polls),
                        ("--reevaluate-seeds", args.reevaluate_seeds), ("--report", args.report)):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(parts)


def refine_main(args: argparse.Namespace, cal, executor, out: Path) -> int:
    import yaml

    from sahel_sim.cli.progress import RunProgress
    from sahel_sim.experiments.calibrate import update_parameter_file
    from sahel_sim.experiments.refine import Refiner, refine_report

    spec = cal.config.refine
    started = dt.datetime.now(dt.UTC)
    with RunProgress(enabled=not args.quiet) as show:
        refiner = Refiner(cal, executor=executor, out=out, progress=show, notify=show.line, chunk_size=args.chunk_size)
        print(f"refining {len(refiner.keys)} parameters from their current values on {len(cal.used)} targets, "
              f"{spec.seeds} seeds a candidate ({executor.describe()}) -> {out}")
        outcome = refiner.run()
    s = outcome.search
    print(f"search seeds: {refiner.objective_name} {s.start_distance:.3f} -> {s.best_distance:.3f} after {len(s.polls)} polls ({s.stopped})")
    report = refine_report(cal, refiner, outcome, command=_refine_command(args), started=started)
    write_atomic(out / "refine.md", report)
    outcome.table.to_csv(out / "refine.csv", index=False)
    write_atomic(out / "best.yaml", yaml.safe_dump({"values": outcome.best_values}, sort_keys=False))
    print(f"report: {out / 'refine.md'}")
    if args.report is not None:
        write_atomic(args.report, report)
        print(f"wrote {args.report}")
    r = outcome.reevaluated
    if r is not None:
        print(f"{cal.config.reevaluate_seeds} fresh seeds: current values {r['start']:.3f}, refined {r['refined']:.3f}")
    if cal.config.holdout_after is not None or args.no_write:
        return 0
    params = cal.resolve(cal.config.parameters_file)
    if r is None or not outcome.improved:
        print(f"the current parameters fit at least as well: {params} is left as it is")
        return 0
    moved = {k: v for k, v in outcome.best_values.items() if v != outcome.start_values[k]}
    note = (f"{cal.config.name}, {dt.date.today().isoformat()}: compass search (--refine) of {len(refiner.keys)} "
            f"parameters from the previous values, {spec.seeds} common seeds, "
            f"{f'distance + {spec.miss_penalty:g} a target outside tolerance' if spec.miss_penalty else 'distance'} "
            f"{s.start_distance:.2f} -> "
            f"{s.best_distance:.2f}; on {cal.config.reevaluate_seeds} fresh seeds {r['start']:.2f} -> {r['refined']:.2f}; "
            f"moved: {', '.join(moved)}")
    write_atomic(params, update_parameter_file(params, moved, note=note))
    print(f"wrote {params}")
    return 0


def validate_main(args: argparse.Namespace) -> int:
    from sahel_sim.config import (
        ConfigError,
        load_scenario_data,
        scenario_to_data,
        validate_scenario,
    )
    from sahel_sim.experiments import refugee_series
    from sahel_sim.experiments.calibrate import (
        priors_markdown,
        scenario_statistics,
        validation_figure,
        validation_markdown,
    )
    from sahel_sim.experiments.seeds import replicate_seeds
    from sahel_sim.experiments.targets import TargetSet, load_targets
    from sahel_sim.stats import ActorMap, compute_statistics, observed_from_acled, read_acled_csv

    targets = load_targets(args.targets)
    if args.seeds < 0 or (args.seeds == 0 and args.events is None):
        raise ConfigError(f"--seeds: expected at least 1 (or 0 with --events), got {args.seeds}")
    from sahel_sim.config.loader import describe_source

    data = load_scenario_data(args.scenario, args.set or ())
    scenario = validate_scenario(data, source=describe_source(args.scenario, args.set or ()))
    priors = None  # the scenario's parameter values against the calibration's priors (checked before any run)
    if args.priors is not None and args.priors.exists():
        from sahel_sim.config.loader import read_yaml, validate_model
        from sahel_sim.experiments.calibrate import CalibrationConfig, prior_positions
        from sahel_sim.experiments.design import check_key_paths

        config = validate_model(CalibrationConfig, read_yaml(args.priors), source=str(args.priors), what="calibration config")
        resolved = scenario_to_data(scenario)
        check_key_paths(list(config.priors), resolved, source=str(args.priors), where="priors")
        priors = prior_positions(config.priors, resolved)
    elif args.priors is not None and args.priors != DEFAULT_CONFIG:
        raise ConfigError(f"{args.priors}: file not found (--priors)")
    acled = None
    if args.events is not None:
        actors = ActorMap.from_scenario(scenario)
        if args.actor_map is not None and args.actor_map.exists():
            actors = actors.with_file(args.actor_map)
        elif args.actor_map != DEFAULT_ACTOR_MAP:
            raise ConfigError(f"{args.actor_map}: file not found")
        acled = compute_statistics(targets.statistics(), observed_from_acled(read_acled_csv(args.events), actors,
                                                                              label=args.events.name))
    rows: list[dict[str, float]] = []
    series = None
    if args.seeds:
        from sahel_sim.cli.progress import RunProgress

        seeds = replicate_seeds(args.seed, args.seeds)
        executor = make_executor(args)
        from sahel_sim.experiments.engine import scenario_digest

        series = refugee_series.series_statistics() if refugee_series.covers(scenario.start_date,
                                                                             scenario.end_date) else None
        both = TargetSet(targets.targets + series.targets, targets.path) if series else targets
        out = args.out or (Path("results") / "validate" /
                           f"{scenario.name}-{scenario_digest(scenario)[:8]}-{both.statistics_digest()[:8]}-{args.seed}")
        with RunProgress(enabled=not args.quiet) as show:
            rows = scenario_statistics(data, {}, seeds, both, executor=executor, out=out, master_seed=args.seed,
                                       progress=show, notify=note, chunk_size=args.chunk_size,
                                       name=f"validate {scenario.name}")
    table = targets.table(rows) if rows else targets.table([])
    title = f"{scenario.name}, {args.seeds} seeds (master seed {args.seed})" if rows else "ACLED export only"
    text = validation_markdown(targets, table, title=title, acled=acled, acled_label=args.events.name if args.events else None,
                               simulated=bool(rows))
    if rows and series:  # refugees by country against UNHCR, with Flee's ARD (issue 10)
        fig_refugees = args.figure.with_name(args.figure.stem + "_refugees" + args.figure.suffix) if args.figure else None
        text += refugee_series.markdown(rows, fig_refugees.name if fig_refugees else None)
        if fig_refugees:
            refugee_series.figure(rows, fig_refugees, title=title)
            print(f"wrote {fig_refugees}")
    if priors is not None:
        text += priors_markdown(priors, source=str(args.priors))
    print(text)
    if args.report:
        write_atomic(args.report, text)
        print(f"wrote {args.report}")
    if args.figure:
        validation_figure(targets, table, args.figure, title=title, acled=acled, simulated=bool(rows))
        print(f"wrote {args.figure}")
    return 0
