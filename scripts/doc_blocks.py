"""Rewrite a generated block of a Markdown file: the lines between a start and an end marker.

The scripts that regenerate figures in the docs (``displacement_table.py``,
``abc_summary.py``) write their output between HTML-comment markers, so that everything else
in the file stays as written and no generated figure is edited by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path


def rewrite_block(path: Path, start: str, end: str, block: str) -> int:
    """Put ``block`` between ``start`` and ``end`` in ``path``; 2 (with a message) when the file
    lacks the markers, else 0."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        print(f"{path}: markers {start} ... {end} not found", file=sys.stderr)
        return 2
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{block}\n{end}{tail}", encoding="utf-8")
    print(f"wrote {path}")
    return 0


def block_cli(argv: list[str] | None, *, description: str, report: Path, doc: Path, start: str, end: str,
              render) -> int:
    """The command line these scripts share: ``--report`` (the generated report they read,
    default ``report``) and ``--doc`` (the file whose block they rewrite, default ``doc``);
    ``render`` turns the report's text into the block."""
    import argparse

    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, default=report)
    ap.add_argument("--doc", type=Path, default=doc)
    args = ap.parse_args(argv)
    return rewrite_block(args.doc, start, end, render(args.report.read_text(encoding="utf-8")))
