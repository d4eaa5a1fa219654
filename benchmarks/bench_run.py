"""Benchmark one full run, with Mesa's Epstein civil-violence example as a reference.

    python benchmarks/bench_run.py                 # historical scenario, 5 repeats
    python benchmarks/bench_run.py --repeats 9 --scenario scenarios/classroom.yaml
    python benchmarks/bench_run.py --compare-with ../old-checkout   # another commit, same invocation

Reports, as medians over the repeats: the wall time of one run of the scenario (model only,
no file output) in a fresh process, and of a second run (another seed) in the same process,
the case of a sweep worker's later runs; agent-steps per second (agents = the units that act;
communities are per-cell arrays, per weekly step); the peak resident memory of a fresh process doing one run, and the wall time of
Mesa's own Epstein civil-violence example (shipped inside the mesa package; 40x40 grid,
200 steps) measured in the same session as a reference, with the ratio between the two.
Each repeat runs in a fresh subprocess so that peak memory and warm caches are comparable.
``--compare-with DIR`` also runs the same scenario file name from another checkout (its own
``sahel_sim`` package, for example a ``git worktree`` of an earlier commit), interleaved with
the others, so that both ratios share one reference: on a shared machine the reference alone
moves by a fifth or more between invocations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = textwrap.dedent(
    """
    import json, resource, time
    from sahel_sim.config import load_scenario
    from sahel_sim.model import SahelModel
    t_load = time.perf_counter()
    sc = load_scenario({path!r})
    model = SahelModel(sc, seed={seed})
    t0 = time.perf_counter()
    agent_steps = 0
    while model.running:
        model.step()
        agent_steps += sum(f.n_units for f in model.forces.values())  # units that act (communities are arrays)
    t1 = time.perf_counter()
    res = model.result(wall_time_s=t1 - t0)
    t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # a second run in the same process, as a sweep worker runs its second and later runs:
    # numba's import and its kernels' loading are paid by then
    t3 = time.perf_counter()
    sc2 = load_scenario({path!r})
    model = SahelModel(sc2, seed={seed} + 500)
    while model.running:
        model.step()
    model.result(wall_time_s=0.0)
    t4 = time.perf_counter()
    print(json.dumps({{"run_s": t2 - t_load, "steps_s": t1 - t0, "agent_steps": agent_steps,
                      "events": res.events.num_rows, "peak_mb": peak_mb, "warm_s": t4 - t3}}))
    """
)

_EPSTEIN = textwrap.dedent(
    """
    import json, time
    from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence, EpsteinScenario
    model = EpsteinCivilViolence(width=40, height=40, scenario=EpsteinScenario(rng={seed}))
    t0 = time.perf_counter()
    for _ in range({steps}):
        model.step()
    t1 = time.perf_counter()
    print(json.dumps({{"run_s": t1 - t0, "agent_steps": {steps} * len(model.agents)}}))
    """
)


def _python(code: str, cwd: Path = ROOT) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(label: str, runs: list[dict], ref_s: float, ref_rate: float) -> None:
    med = statistics.median
    run_s = med(r["run_s"] for r in runs)
    steps_s = med(r["steps_s"] for r in runs)
    rate = med(r["agent_steps"] / r["steps_s"] for r in runs)
    warm_s = med(r["warm_s"] for r in runs)
    print(f"{label} run (load + steps + tables), median : {run_s:8.3f} s")
    print(f"{label} second run in the process, median   : {warm_s:8.3f} s")
    print(f"{label} weekly steps only, median            : {steps_s:8.3f} s")
    print(f"{label} agent-steps per second, median       : {rate:12,.0f}")
    print(f"{label} events per run, median               : {med(r['events'] for r in runs):8.0f}")
    print(f"{label} peak resident memory (max)           : {max(r['peak_mb'] for r in runs):8.1f} MB")
    print(f"ratio {label} run / Epstein reference        : {run_s / ref_s:8.2f}")
    print(f"ratio {label} steps only / Epstein reference : {steps_s / ref_s:8.2f}")
    print(f"ratio {label} second run / Epstein reference : {warm_s / ref_s:8.2f}")
    print(f"ratio agent-steps/s {label} / Epstein        : {rate / ref_rate:8.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "historical.yaml"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epstein-steps", type=int, default=200)
    ap.add_argument("--compare-with", type=Path, default=None, metavar="DIR",
                    help="another checkout whose package runs the same scenario file, interleaved")
    args = ap.parse_args(argv)
    other = args.compare_with.resolve() if args.compare_with else None
    if other is not None:
        if not (other / "sahel_sim").is_dir():
            print(f"--compare-with {args.compare_with}: expected a checkout with a sahel_sim/ folder", file=sys.stderr)
            return 2
        scenario = Path(args.scenario).resolve()
        other_scenario = other / (scenario.relative_to(ROOT) if scenario.is_relative_to(ROOT) else scenario.name)
        if not other_scenario.is_file():
            print(f"--compare-with {args.compare_with}: expected the scenario at {other_scenario}", file=sys.stderr)
            return 2

    runs, others, refs = [], [], []
    for i in range(args.repeats):  # interleave so all see the same machine load
        runs.append(_python(_RUN.format(path=args.scenario, seed=1000 + i)))
        if other is not None:
            others.append(_python(_RUN.format(path=str(other_scenario), seed=1000 + i), cwd=other))
        refs.append(_python(_EPSTEIN.format(seed=1000 + i, steps=args.epstein_steps)))

    med = statistics.median
    ref_s = med(r["run_s"] for r in refs)
    ref_rate = med(r["agent_steps"] / r["run_s"] for r in refs)
    print(f"scenario: {args.scenario}  repeats: {args.repeats}")
    _report("sahel-sim", runs, ref_s, ref_rate)
    if other is not None:
        print(f"compared with: {other}")
        _report("other", others, ref_s, ref_rate)
    print(f"Mesa Epstein civil violence, {args.epstein_steps} steps, median: {ref_s:8.3f} s "
          f"({ref_rate:,.0f} agent-steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
