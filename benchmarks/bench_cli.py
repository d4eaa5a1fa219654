"""The command line's own cost: ``--help`` time, ``sahel-sim run`` wall time against its model
time, and the peak memory of ``sahel-sim run``.

    python benchmarks/bench_cli.py                       # historical scenario, 5 repeats
    python benchmarks/bench_cli.py --repeats 3 --scenario scenarios/classroom.yaml

Each measurement is a fresh ``python -m sahel_sim`` process (as a user types it), so imports
count. Reported as medians over the repeats:

- ``sahel-sim --help`` wall time (target: under 0.5 s);
- ``sahel-sim run SCENARIO --quiet``: wall time of the whole command divided by the model time
  it records in its manifest (``wall_time_s``: building the model and stepping it) (target: at
  most 1.3), and the same with ``--figure``;
- peak resident memory of the ``run`` process (``ru_maxrss`` from ``wait4``; target: at most
  200 MB);
- the cost of ``import mesa`` alone in a fresh interpreter (time and memory), which every
  command that runs the model pays.

``--compare-with DIR`` also runs ``sahel-sim run`` from another checkout (e.g. ``git worktree
add /tmp/base main``; run it once first so numba caches its kernels there), alternating with
this one run by run with the same seeds, so both see the same load on a shared machine, and
reports the seconds each adds to its model time (wall minus model) beside the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def timed(cmd: list[str], root: Path = ROOT) -> tuple[float, float, subprocess.CompletedProcess | None]:
    """Wall seconds and peak RSS (MB) of one child process, run in checkout ``root``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "historical.yaml")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    ap.add_argument("--compare-with", type=Path, default=None, metavar="DIR",
                    help="another checkout whose `sahel-sim run` alternates with this one's")
    args = ap.parse_args(argv)
    other = args.compare_with.resolve() if args.compare_with else None
    py = sys.executable
    med = statistics.median

    from sahel_sim.io.manifest import git_commit

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# bench_cli: {args.scenario.name}, {args.repeats} repeats; commit {git_commit()}, {stamp}, "
          f"{platform.system()} {platform.machine()} ({os.cpu_count()} CPUs), load average {os.getloadavg()[0]:.2f}")
    cases = [("run", ROOT, []), ("run --figure", ROOT, ["--figure"])]
    if other is not None:
        cases.insert(1, (f"run ({other.name})", other, []))
    helps, mesa_t, mesa_mb = [], [], []
    rows: dict[str, list[dict]] = {label: [] for label, _, _ in cases}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        for i in range(args.repeats):
            helps.append(timed([py, "-m", "sahel_sim", "--help"])[0])
            wall, _, done = timed([py, "-c", "import time, resource; t=time.perf_counter(); import mesa; "
                                   "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"])
            t_imp, rss_kb = done.stdout.split()
            mesa_t.append(float(t_imp))
            mesa_mb.append(float(rss_kb) / 1024)
            for n, (label, root, extra) in enumerate(cases):
                out = Path(tmp) / f"case{n}-{i}"
                wall, peak, _ = timed([py, "-m", "sahel_sim", "run", str(args.scenario.resolve()), "--seed",
                                       str(100 + i), "--out", str(out), "--quiet", *extra], root)
                model = json.loads((out / "manifest.json").read_text())["wall_time_s"]
                rows[label].append({"wall_s": wall, "model_s": model, "ratio": wall / model, "peak_mb": peak})
    print(f"sahel-sim --help, median wall         : {med(helps):6.3f} s   (target < 0.5 s)")
    for label, rs in rows.items():
        print(f"sahel-sim {label:<13} wall / model time : {med(r['ratio'] for r in rs):6.2f}      "
              f"(median wall {med(r['wall_s'] for r in rs):.2f} s, model {med(r['model_s'] for r in rs):.2f} s, "
              f"added {med(r['wall_s'] - r['model_s'] for r in rs):.2f} s; target <= 1.3 without --figure)")
        print(f"sahel-sim {label:<13} peak RSS          : {max(r['peak_mb'] for r in rs):6.0f} MB  (max; target <= 200 MB)")
    print(f"import mesa alone (fresh interpreter)  : {med(mesa_t):6.2f} s, {med(mesa_mb):.0f} MB peak RSS")
    if args.json:
        args.json.write_text(json.dumps({"help_s": helps, "runs": rows, "mesa_import_s": mesa_t,
                                         "mesa_import_mb": mesa_mb, "commit": git_commit(), "date": stamp,
                                         "compare_with": str(other) if other else None},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
