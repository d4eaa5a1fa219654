"""Benchmark one rendered step of the classroom app, with the model step alone as reference.

    python benchmarks/bench_viz_step.py                      # classroom preset, 30 steps
    python benchmarks/bench_viz_step.py --steps 50 --layer violence --warmup 200

What the app's server does for each week shown: ``model.step()``, then the map
(:func:`sahel_sim.viz.figures.live_map_figure`) and the four charts
(:func:`~sahel_sim.viz.figures.live_charts_figure`) drawn and encoded as PNG at the app's
resolution. Reported as medians over ``--steps`` consecutive weeks, after ``--warmup`` weeks
so the charts hold years of data (the costly case), next to the median of the model step
alone measured in the same session on the same weeks. Browser-side decoding and display
(a few milliseconds for two PNGs) are not included; the end-to-end test prints the time from
a click on Step to the new map in headless Chromium.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _png(fig, dpi: int) -> int:
    from sahel_sim.viz.figures import LIVE_PNG_OPTIONS

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **LIVE_PNG_OPTIONS)
    return buf.tell()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "classroom.yaml")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=30, help="timed steps (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=150, help="weeks run before timing (default: %(default)s)")
    ap.add_argument("--layer", default="control", help="map layer (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from sahel_sim.config import load_scenario
    from sahel_sim.model import SahelModel
    from sahel_sim.viz import figures as F

    scenario = load_scenario(args.scenario)
    model = SahelModel(scenario, seed=args.seed)
    for _ in range(args.warmup):
        model.step()
    if model.steps + args.steps > model.n_steps:
        ap.error(f"--warmup + --steps exceeds the scenario's {model.n_steps} weeks")
    # the app keeps one map and one chart figure per browser session and redraws them in place
    map_fig = F.live_map_figure(model, args.layer)
    charts_fig = F.live_charts_figure(model)
    _png(map_fig, F.LIVE_DPI)
    _png(charts_fig, F.LIVE_DPI)

    reference = copy.deepcopy(model)  # same weeks, model only
    t_model = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        reference.step()
        t_model.append(time.perf_counter() - t0)

    t_total, t_map, t_charts, sizes = [], [], [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        n_map = _png(F.live_map_figure(model, args.layer, fig=map_fig), F.LIVE_DPI)
        t2 = time.perf_counter()
        n_charts = _png(F.live_charts_figure(model, fig=charts_fig), F.LIVE_DPI)
        t3 = time.perf_counter()
        t_total.append(t3 - t0)
        t_map.append(t2 - t1)
        t_charts.append(t3 - t2)
        sizes.append(n_map + n_charts)

    med = statistics.median
    result = {
        "scenario": scenario.name, "seed": args.seed, "layer": args.layer, "steps": args.steps,
        "weeks_before": args.warmup,
        "model_step_ms": round(1e3 * med(t_model), 1),
        "rendered_step_ms": round(1e3 * med(t_total), 1),
        "map_ms": round(1e3 * med(t_map), 1),
        "charts_ms": round(1e3 * med(t_charts), 1),
        "rendered_step_max_ms": round(1e3 * max(t_total), 1),
        "png_kb_per_step": round(med(sizes) / 1024, 1),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{scenario.name} seed {args.seed}, layer {args.layer}: median over {args.steps} weeks "
          f"after week {args.warmup}")
    print(f"  model step alone (reference)   {result['model_step_ms']:8.1f} ms")
    print(f"  step + map + charts as PNG     {result['rendered_step_ms']:8.1f} ms  "
          f"(max {result['rendered_step_max_ms']:.1f} ms)")
    print(f"    of which map                 {result['map_ms']:8.1f} ms")
    print(f"    of which charts              {result['charts_ms']:8.1f} ms")
    print(f"  PNG sent per step              {result['png_kb_per_step']:8.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
