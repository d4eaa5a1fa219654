"""Benchmark one rendered step of the classroom app (server side), with references.

    python benchmarks/bench_viz_step.py                      # classroom preset, 40 steps
    python benchmarks/bench_viz_step.py --steps 60 --layer violence --warmup 200
    python benchmarks/bench_viz_step.py --compare            # the side-by-side page (two runs)

What the app's server does for each week shown (:class:`sahel_sim.viz.live.LiveRun`):
``model.step()``, then the map and the four charts drawn and encoded (JPEG) at the app's sizes.
Reported as medians (and the maximum) over ``--steps`` consecutive weeks after ``--warmup``
weeks, so that the charts hold years of data. In the same invocation, as references: the
model step alone on the same weeks, and one step of Mesa's Epstein civil-violence example
(40x40, the convention of ``benchmarks/bench_run.py``); the rendered step is also given as a
ratio to that Epstein step. The target is a median under 150 ms. Browser-side display is
measured by ``tests/test_viz_e2e.py`` (time from a click on Step to the new map).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0


def epstein_step_ms(steps: int = 50, seed: int = 1) -> float:
    """Median wall time of one step of Mesa's Epstein civil-violence example (40x40)."""
    from mesa.examples.advanced.epstein_civil_violence.model import (
        EpsteinCivilViolence,
        EpsteinScenario,
    )

    model = EpsteinCivilViolence(width=40, height=40, scenario=EpsteinScenario(rng=seed))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "classroom.yaml")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=40, help="timed steps (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=150, help="weeks run before timing (default: %(default)s)")
    ap.add_argument("--layer", default="control", help="map layer (default: %(default)s)")
    ap.add_argument("--compare", action="store_true", help="the side-by-side page: two runs per step")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from sahel_sim.config import load_scenario
    from sahel_sim.model import SahelModel
    from sahel_sim.viz import live as L

    scenario = load_scenario(args.scenario)
    model = SahelModel(scenario, seed=args.seed)
    if args.warmup + args.steps > model.n_steps:
        ap.error(f"--warmup + --steps exceeds the scenario's {model.n_steps} weeks")
    for _ in range(args.warmup):
        model.step()
    reference = copy.deepcopy(model)  # the same weeks, model only
    if args.compare:
        other = copy.deepcopy(model)
        app = L.LiveComparison(model, other, ("A", "B"))
    else:
        app = L.LiveRun(model)
    app.frame(args.layer)  # the static layers and chart frame are drawn once, as when the page opens

    t_model = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        reference.step()
        t_model.append(time.perf_counter() - t0)

    t_total, t_draw, sizes = [], [], []
    redraws0 = app.charts.full_redraws
    for _ in range(args.steps):
        t0 = time.perf_counter()
        app.advance(1)
        t1 = time.perf_counter()
        frame = app.frame(args.layer)
        t2 = time.perf_counter()
        t_total.append(t2 - t0)
        t_draw.append(t2 - t1)
        sizes.append(sum(len(b) for b in frame.maps) + len(frame.charts))
    eps = epstein_step_ms()

    med = statistics.median
    result = {
        "scenario": scenario.name, "seed": args.seed, "layer": args.layer, "steps": args.steps,
        "weeks_before": args.warmup, "page": "compare" if args.compare else "one run",
        "model_step_ms": round(1e3 * med(t_model), 1),
        "rendered_step_ms": round(1e3 * med(t_total), 1),
        "rendered_step_max_ms": round(1e3 * max(t_total), 1),
        "frame_ms": round(1e3 * med(t_draw), 1),
        "chart_frame_redraws": app.charts.full_redraws - redraws0,
        "image_kb_per_step": round(med(sizes) / 1024, 1),
        "epstein_step_ms": round(eps, 2),
        "ratio_rendered_step_to_epstein_step": round(1e3 * med(t_total) / eps, 1),
        "target_ms": TARGET_MS,
        "within_target": 1e3 * med(t_total) < TARGET_MS,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{scenario.name} seed {args.seed}, layer {args.layer}, page: {result['page']}: "
          f"median over {args.steps} weeks after week {args.warmup}")
    print(f"  model step alone (reference)         {result['model_step_ms']:8.1f} ms")
    print(f"  step + map + charts as images        {result['rendered_step_ms']:8.1f} ms  "
          f"(max {result['rendered_step_max_ms']:.1f} ms; target < {TARGET_MS:.0f} ms)")
    print(f"    of which drawing and encoding      {result['frame_ms']:8.1f} ms")
    print(f"  chart frames redrawn in full         {result['chart_frame_redraws']:8d} of {args.steps} steps")
    print(f"  image bytes sent per step            {result['image_kb_per_step']:8.1f} KiB")
    print(f"  Mesa Epstein example, one step       {result['epstein_step_ms']:8.2f} ms")
    print(f"  ratio rendered step / Epstein step   {result['ratio_rendered_step_to_epstein_step']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
