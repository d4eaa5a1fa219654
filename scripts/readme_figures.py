#!/usr/bin/env python3
"""Regenerate the README's counterfactual example: its table, where and when it was made, and
the picture of a report page (docs/img/compare_report.png).

    python scripts/readme_figures.py                      # 30 pairs, historical vs minusma_stays
    python scripts/readme_figures.py --replicates 3       # quick check that the script works

It runs ``sahel-sim compare`` (the README's own command), times it, and rewrites the README
between ``<!-- compare-example:start -->`` and ``<!-- compare-example:end -->`` with the
command, the table (from the comparison's ``differences.csv``), the wall time, the date, the
machine (platform, CPU count) and the git commit. The page image is the report's HTML rendered
by headless Chromium (Debian's ``chromium``); without Chromium the report's trajectory figure
is used instead, and the README says so. Nothing in the README's example is typed by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- compare-example:start -->"
END = "<!-- compare-example:end -->"
IMAGE = Path("docs/img/compare_report.png")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    sha = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "sahel_sim", "scenarios", "calibration")
    return sha + (" with uncommitted changes to the model" if dirty else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.release()} ({platform.machine()}, {cpu}), {os.cpu_count()} CPUs, " \
           f"Python {platform.python_version()}"


def example_table(out: Path, names: tuple[str, str]) -> list[str]:
    """The report's main outcomes as a Markdown table, formatted by the report's own helpers."""
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from sahel_sim.experiments.report import fmt_diff, fmt_percent, fmt_probability, fmt_value
    from sahel_sim.outcomes import outcome_label

    t = pd.read_csv(out / "differences.csv").set_index("outcome")
    years = sorted({int(o.rsplit("_", 1)[1]) for o in t.index if o.rsplit("_", 1)[-1].isdigit()})
    last = years[-1]
    window = f"{years[0]}-{last}"
    wanted = ["civilian_deaths_total", f"civilian_deaths_{last}", f"combatant_deaths_{last}",
              f"mi_events_{last}", f"displaced_{last}", f"control_share_FAMa_{last}", f"control_share_JNIM_{last}"]
    rows = [f"| outcome | A: {names[0]} | B: {names[1]} | B - A | 95% interval | change | B worse in | |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for o in (w for w in wanted if w in t.index):
        r = t.loc[o]
        lab = outcome_label(o, window=window)
        n = int(r["n_pairs"])
        flag = "within noise" if bool(r["within_noise"]) else ""
        rows.append(f"| {lab.text} ({lab.unit}) | {fmt_value(r['mean_A'], lab)} | {fmt_value(r['mean_B'], lab)} | "
                    f"{fmt_diff(r['diff_mean'], lab)} | {fmt_diff(r['diff_low'], lab)} to {fmt_diff(r['diff_high'], lab)} | "
                    f"{fmt_percent(r['diff_relative'], r['mean_A'], lab)} | {fmt_probability(r['p_b_worse'], n)} | {flag} |")
    return rows


def screenshot(html: Path, png: Path, *, width: int, height: int) -> bool:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        return False
    png.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, *CHROMIUM_ARGS, f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
           html.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    return proc.returncode == 0 and png.exists() and png.stat().st_size > 0


def replace_block(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} section to rewrite")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", default="scenarios/historical.yaml", help="scenario A (default: %(default)s)")
    p.add_argument("--b", default="scenarios/minusma_stays.yaml", help="scenario B (default: %(default)s)")
    p.add_argument("--replicates", type=int, default=30, help="paired runs (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="master seed (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--out", type=Path, default=Path("results/readme/compare"),
                   help="comparison folder, emptied first (default: %(default)s)")
    p.add_argument("--readme", type=Path, default=Path("README.md"), help="README to rewrite (default: %(default)s)")
    p.add_argument("--image", type=Path, default=IMAGE, help="report page image (default: %(default)s)")
    args = p.parse_args(argv)
    os.chdir(ROOT)

    if args.out.exists():  # a fresh run, so the wall time is the command's full time
        shutil.rmtree(args.out)
    command = ["sahel-sim", "compare", args.a, args.b, "--replicates", str(args.replicates), "--seed", str(args.seed)]
    extra = ["--out", str(args.out), "--quiet"] + (["--workers", str(args.workers)] if args.workers is not None else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sahel_sim", *command[1:], *extra], env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"readme_figures: the compare command failed (exit {proc.returncode})", file=sys.stderr)
        return proc.returncode

    import json

    manifest = json.loads((args.out / "manifest.json").read_text(encoding="utf-8"))
    names = (manifest["scenario"]["name"], manifest["spec"]["scenario_b"]["name"])
    shot = screenshot(args.out / "report.html", args.image, width=1400, height=1500)
    if not shot:
        shutil.copyfile(args.out / "trajectories.png", args.image)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    workers = args.workers if args.workers is not None else os.cpu_count()
    block = "\n".join([
        "```bash",
        shlex.join(command),
        f"# -> {args.out.as_posix()}/report.md and report.html (default folder: results/compare/<A>-vs-<B>/)",
        "```",
        "",
        f"On {args.replicates} paired runs ({wall:.0f} s with {workers} worker process(es), shipped calibration; "
        f"intervals cover simulation noise only) the report's main outcomes are:",
        "",
        *example_table(args.out, names),
        "",
        f"Produced by `python scripts/readme_figures.py --replicates {args.replicates} --seed {args.seed}` on {when}, "
        f"on {machine()}, at commit {git_commit()}. Rerun that command to regenerate this section and "
        f"`{args.image.as_posix()}`.",
        "",
        f"![The first page of the comparison report ({'report.html in headless Chromium' if shot else 'its trajectory figure: Chromium was not available'})]"
        f"({args.image.as_posix()})",
    ])
    readme = args.readme.read_text(encoding="utf-8")
    args.readme.write_text(replace_block(readme, block), encoding="utf-8")
    print(f"README example rewritten ({args.replicates} pairs, {wall:.0f} s); page image: {args.image}"
          + ("" if shot else " (trajectory figure: no Chromium)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
