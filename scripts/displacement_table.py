"""Regenerate the table of displacement figures in docs/displacement.md from the validation report.

    python3 scripts/venv_run.py python scripts/displacement_table.py

Reads ``calibration/validation.md`` (written by ``sahel-sim validate``: run it first) and
rewrites the block between ``<!-- displacement-table:start -->`` and
``<!-- displacement-table:end -->`` of ``docs/displacement.md``: each displacement target with
its documented value and tolerance, the simulated median [90% interval] and hit or miss, the ARD
of the refugee series, and the commit and date the report names. No figure is typed by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from doc_blocks import block_cli  # noqa: E402

START, END = "<!-- displacement-table:start -->", "<!-- displacement-table:end -->"

ROWS = (  # target id -> label in the table
    ("refugees_2012", "refugees, 4 Jul 2012"),
    ("refugees_2012_share_mauritania", "share in Mauritania"),
    ("refugees_2012_share_burkina_faso", "share in Burkina Faso"),
    ("refugees_2012_share_niger", "share in Niger"),
    ("idps_2012", "IDPs, 28 Jun 2012"),
    ("idps_2013_peak", "IDPs, 21 Feb 2013 (peak)"),
    ("idps_2014", "IDPs, Jun 2014"),
    ("idps_2019", "IDPs, Dec 2019"),
    ("idps_2020", "IDPs, Oct 2020"),
    ("idps_2021", "IDPs, May 2021"),
    ("idps_2022", "IDPs, May 2022"),
    ("idps_2024", "IDPs, Mar 2024"),
)


def table(report: str) -> str:
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7:
            rows[cells[0]] = cells
    header = re.search(r"Produced on (\S+ \S+ UTC) at commit `([0-9a-f]{7,40})(-dirty)?`", report)
    seeds = re.search(r"historical, (\d+) seeds", report)
    ard = re.search(r"\(ARD[^*]*\*\*([0-9.]+)\*\*", report)
    if not header or not seeds:
        raise SystemExit("calibration/validation.md: no 'Produced on ... at commit' header or seed count; "
                         "regenerate it with sahel-sim validate")
    missing = [tid for tid, _ in ROWS if tid not in rows]
    if missing:
        raise SystemExit(f"calibration/validation.md: no row for {', '.join(missing)}")
    when, commit, dirty = header.group(1), header.group(2)[:12], header.group(3) or ""
    out = [f"Medians over {seeds.group(1)} seeds [90% interval], from `calibration/validation.md` "
           f"({when}, commit `{commit}{dirty}`).", "",
           "| target | documented (tolerance) | simulated | |", "|---|---|---|---|"]
    for tid, label in ROWS:
        _, _, documented, tol, simulated, _, verdict = rows[tid]
        doc = re.sub(r"\s*\(.*$", "", documented.strip('"')).split(" of ")[0] if "share" not in tid else \
            f"{float(re.search(r'\((\d+)%\)', documented).group(1)) / 100:.2f}" if "%" in documented else documented
        out.append(f"| {label} | {doc} ({tol}) | {simulated} | {verdict.lower()} |")
    if ard:
        out += ["", f"ARD of the refugee series by country against UNHCR (4 Jul 2012, 18 Jan and 11 Feb 2013): "
                    f"**{ard.group(1)}**."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return block_cli(argv, description=__doc__, report=ROOT / "calibration" / "validation.md", doc=ROOT / "docs" / "displacement.md", start=START, end=END,
                     render=table)


if __name__ == "__main__":
    raise SystemExit(main())
