"""Regenerate the summary of the ABC calibration in docs/calibration.md from its report.

    python3 scripts/venv_run.py python scripts/abc_summary.py

Reads ``calibration/abc_report.md`` (written by ``sahel-sim calibrate calibration/config.yaml
--report calibration/abc_report.md``: run it first) and rewrites the block between
``<!-- abc-summary:start -->`` and ``<!-- abc-summary:end -->`` of ``docs/calibration.md``: the
commit and date of the report, its generations (tolerance, acceptance, effective sample size),
the point-estimate comparison with the shipped parameters, the posterior predictive count, the
parameters the data already constrain (a 90% interval narrower than half the prior's range,
on the prior's own scale) and the four pairs of targets that pull hardest against each other.
No figure is typed by hand.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from doc_blocks import block_cli  # noqa: E402

START, END = "<!-- abc-summary:start -->", "<!-- abc-summary:end -->"


def _section(report: str, title: str) -> list[str]:
    """The lines of a '## title...' section, without its heading."""
    lines = report.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## " + title):
            out = []
            for nxt in lines[i + 1:]:
                if nxt.startswith("## "):
                    break
                out.append(nxt)
            return out
    raise SystemExit(f"calibration/abc_report.md: no section '## {title}'; regenerate it with sahel-sim calibrate")


def _rows(lines: list[str]) -> list[list[str]]:
    return [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines
            if ln.startswith("|") and not set(ln) <= set("|-: ")]


def summary(report: str) -> str:
    header = re.search(r"Written on (\S+ \S+ UTC) at commit `([0-9a-f]{7,40})(-dirty)?`", report)
    if not header:
        raise SystemExit("calibration/abc_report.md: no 'Written on ... at commit' header; regenerate it")
    generations = _rows(_section(report, "Generations"))[1:]  # first row: the header
    point = " ".join(ln for ln in _section(report, "Point estimate") if ln.strip())
    ppc = re.search(r"## Posterior predictive check: (\d+) of (\d+)", report)
    constrained = []
    for cells in _rows(_section(report, "Parameters"))[1:]:
        key, prior, post = cells[0], cells[1], cells[2]
        dist, rng = prior.split(" ", 1)
        lo, hi = (float(x) for x in rng.split("-"))
        m = re.match(r"([0-9.e+-]+) \[([0-9.e+-]+), ([0-9.e+-]+)\]", post)
        med, q05, q95 = (float(x) for x in m.groups())
        f = math.log if dist == "loguniform" else (lambda x: x)
        if (f(q95) - f(q05)) < 0.5 * (f(hi) - f(lo)):
            constrained.append(f"`{key}` {med:.4g} [{q05:.4g}, {q95:.4g}] (prior {lo:g}-{hi:g})")
    tensions = [r for r in _rows(_section(report, "Targets that pull against each other")) if r[0] != "target"][:4]
    out = [f"From `calibration/abc_report.md` ({header.group(1)}, commit `{header.group(2)[:12]}"
           f"{header.group(3) or ''}`).", "",
           "| generation | tolerance | best | median distance | acceptance | ESS |", "|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {g[0]} | {g[1]} | {g[2]} | {g[3]} | {g[4]} | {g[5]} |" for g in generations]
    out += ["", point]
    if ppc:
        out += ["", f"Posterior predictive check (weighted medians of the particles' statistics): {ppc.group(1)} of "
                    f"{ppc.group(2)} targets within tolerance."]
    out += ["", "Parameters whose 90% posterior interval is narrower than half their prior: "
                + ("; ".join(constrained) if constrained else "none") + "."]
    if tensions:
        out += ["", "Targets that pull hardest against each other (Spearman correlation of squared scaled misses "
                    "across the candidates of the last three generations): "
                + "; ".join(f"{a} against {b} ({rho})" for a, _, b, _, rho in tensions) + "."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return block_cli(argv, description=__doc__, report=ROOT / "calibration" / "abc_report.md", doc=ROOT / "docs" / "calibration.md", start=START, end=END,
                     render=summary)


if __name__ == "__main__":
    raise SystemExit(main())
