"""The comparison report for decision makers: Markdown and a self-contained HTML page.

:func:`write_compare_report` reads a comparison folder (``sahel-sim compare``), computes the
paired statistics (:func:`sahel_sim.experiments.compare.paired_table`), draws the figures and
writes ``report.md`` and ``report.html`` (figures embedded as ``data:`` URIs: the page can be
mailed on its own and opens offline). The report

- opens with a headline in plain words and the main differences with their uncertainty;
- states the window, the date the arms diverge (:func:`~sahel_sim.experiments.compare.compare_arms`),
  the number of paired runs and what the intervals cover (simulation noise only, or also
  parameter uncertainty when the runs drew parameters from the calibration posterior);
- labels outcomes in words with units (:func:`sahel_sim.outcomes.outcome_label`);
- flags differences within noise (rule :data:`NOISE_RULE`) and small samples
  (fewer than :data:`MIN_PAIRS` pairs), never prints a probability of 0 or 1 from a finite
  number of pairs, and gives no percent change on a small base;
- lists the model's known misses (``calibration/validation.md``) next to the outcomes they touch.

Both files are rendered from one list of blocks, so they always say the same thing.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahel_sim.config import ConfigError
from sahel_sim.experiments.compare import (
    ARM_COLUMN,
    Divergence,
    compare_arms,
    headline_outcomes,
    paired_table,
    plot_difference_maps,
    plot_differences,
    plot_trajectories,
)
from sahel_sim.experiments.seeds import BOOTSTRAP_STREAM, stream_rng
from sahel_sim.experiments.store import ID_COLUMNS, RunStore
from sahel_sim.io.atomic import write_atomic
from sahel_sim.outcomes import OutcomeLabel, outcome_label

MIN_PAIRS = 20
"""Below this many paired runs the report warns that intervals and probabilities are unreliable."""

NOISE_FRACTION = 0.01
"""A difference smaller than this share of A's mean (counts) is reported as within noise."""

NOISE_SHARE_POINTS = 0.5
"""A difference in a share smaller than this many percentage points is within noise."""

MIN_PERCENT_BASE = 50.0
"""No percent change is given for a count whose mean in A is below this (tiny bases)."""

NOISE_RULE = (f"a difference is marked *within noise* when its 95% interval includes zero, or when it is smaller "
              f"than {NOISE_FRACTION:.0%} of A's value (counts) or {NOISE_SHARE_POINTS} percentage points "
              "(shares of territory)")

DEFAULT_VALIDATION = Path("calibration/validation.md")

# Which outcomes a calibration target measures: target id prefix -> outcome name prefixes.
TARGET_MEASURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("civilian_deaths", ("civilian_deaths", "civilian_targeting_fatalities", "fatalities")),
    ("wagner_civilian_targeting", ("civilian_deaths", "civilian_targeting_fatalities")),
    ("central_share_civilian", ("civilian_deaths", "events_violence_against_civilians")),
    ("central_share_mi", ("mi_events",)),
    ("bamako_mi_events", ("mi_events",)),
    ("mi_events", ("mi_events", "events")),
    ("isgs_control", ("control_share_ISGS",)),
    ("idps", ("idps", "displaced")),
    ("refugees", ("refugees", "displaced")),
)


# --------------------------------------------------------------------------- known misses
@dataclass(frozen=True)
class KnownMiss:
    target: str
    period: str
    tolerance: str
    simulated: str
    above: bool

    @property
    def words(self) -> str:
        return (f"`{self.target}` ({self.period}): model {self.simulated.split(' [')[0]} against "
                f"{self.tolerance} documented, too {'high' if self.above else 'low'}")


def read_known_misses(path: Path) -> list[KnownMiss] | None:
    """The MISS rows of the validation report's table; ``None`` when the file is missing."""
    if not path.exists():
        return None
    misses = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[-1] == "MISS":
            try:
                above = float(cells[-2]) > 0
            except ValueError:
                above = cells[-2].startswith("+")
            misses.append(KnownMiss(cells[0], cells[1], cells[3], cells[4], above))
    return misses


def misses_touching(outcome: str, misses: Iterable[KnownMiss]) -> list[KnownMiss]:
    stem = re.sub(r"_(\d{4}|total|per_year|peak)$", "", outcome)
    out = []
    for m in misses:
        for prefix, measures in TARGET_MEASURES:
            if m.target.startswith(prefix):
                if any(stem == p or stem.startswith(p + "_") or stem == p.rstrip("_") for p in measures):
                    out.append(m)
                break
    return out


def _find_validation(path: Path) -> Path:
    if path.is_absolute() or path.exists():
        return path
    root = Path(__file__).resolve().parents[2]
    return root / path if (root / path).exists() else path


# --------------------------------------------------------------------------- numbers in words
def _sig(x: float, digits: int = 2) -> float:
    if x == 0 or not np.isfinite(x):
        return x
    return float(round(x, -int(np.floor(np.log10(abs(x)))) + digits - 1))


def fmt_value(x: float, label: OutcomeLabel) -> str:
    if not np.isfinite(x):
        return "–"
    if label.kind == "share":
        return f"{x * 100:.1f}%"
    if label.kind == "index":
        return f"{x:.3f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def fmt_diff(x: float, label: OutcomeLabel) -> str:
    if not np.isfinite(x):
        return "–"
    if label.kind == "share":
        v = x * 100
        return "0 pts" if round(v, 1) == 0 else f"{v:+.1f} pts"
    if label.kind == "index":
        return "0" if round(x, 3) == 0 else f"{x:+.3f}"
    if round(x, 1 if abs(x) < 100 else 0) == 0:
        return "0"
    return f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+,.1f}"


def fmt_percent(rel: float, base: float, label: OutcomeLabel) -> str:
    """Percent change only for counts on a base of at least :data:`MIN_PERCENT_BASE`; never "-0%"."""
    if label.kind != "count" or not np.isfinite(rel) or abs(base) < MIN_PERCENT_BASE:
        return "–"
    pct = round(rel * 100)
    return "0%" if pct == 0 else f"{pct:+d}%"


def fmt_probability(p: float, n: int) -> str:
    """Share of pairs with B worse; 0 and 1 become bounds ("< 1/n", "> (n-1)/n")."""
    if not np.isfinite(p):
        return "–"
    if p <= 0:
        return f"< 1/{n}"
    if p >= 1:
        return f"> {n - 1}/{n}"
    return f"{p:.2f}"


def within_noise(row: pd.Series, label: OutcomeLabel) -> bool:
    if row["diff_low"] <= 0 <= row["diff_high"]:
        return True
    d = abs(row["diff_mean"])
    if label.kind == "share":
        return d * 100 < NOISE_SHARE_POINTS
    if label.kind == "count":
        return d < NOISE_FRACTION * abs(row["mean_A"])
    return False


def _amount(x: float, label: OutcomeLabel, *, unit: bool = True) -> str:
    if label.kind == "share":
        return f"{abs(x) * 100:.1f}" + (" percentage points" if unit else "")
    if label.kind == "index":
        return f"{abs(x):.3f}"
    v = _sig(abs(x))
    return f"{v:,.0f}" if v >= 10 else f"{v:,.1f}"


def headline_sentence(row: pd.Series, label: OutcomeLabel, *, noise: bool, names: tuple[str, str], n: int) -> str:
    """The report's first sentence, in plain words, about its main outcome."""
    lo, hi, d = row["diff_low"], row["diff_high"], row["diff_mean"]
    arms = f"**B ({names[1]})** and **A ({names[0]})**"
    if (lo == hi == 0) or (noise and lo <= 0 <= hi):
        return (f"In the model, {arms} give no clear difference in {label.text}: B - A = {fmt_diff(d, label)} "
                f"(95% interval {fmt_diff(lo, label)} to {fmt_diff(hi, label)}, over {n} paired runs), within "
                "the noise of the simulation.")
    more, fewer = ("higher", "lower") if label.kind in ("share", "index") else ("more", "fewer")
    word = more if d > 0 else fewer
    a, b = sorted((abs(lo), abs(hi)))
    what = label.text if label.kind == "count" else f"of {label.text}"
    return (f"In the model, **B ({names[1]})** gives about {_amount(d, label)} {word} {what} than "
            f"**A ({names[0]})** (95% interval {_amount(a, label, unit=False)} to {_amount(b, label)} {word}, over {n} paired "
            "runs)" + ("; small, within noise." if noise else "."))


def difference_sentence(row: pd.Series, label: OutcomeLabel, *, noise: bool) -> str:
    """``"civilians killed over 2012-2024: 200 fewer in B (95% interval 58 to 340 fewer)"``."""
    lo, hi, d = row["diff_low"], row["diff_high"], row["diff_mean"]
    if (row["diff_low"] == row["diff_high"] == 0) or (noise and lo <= 0 <= hi):
        return (f"{label.text}: no clear difference (B - A = {fmt_diff(d, label)}, 95% interval "
                f"{fmt_diff(lo, label)} to {fmt_diff(hi, label)}; within noise)")
    more, fewer = ("higher", "lower") if label.kind in ("share", "index") else ("more", "fewer")
    word = more if d > 0 else fewer
    a, b = sorted((abs(lo), abs(hi)))
    text = (f"{label.text}: about {_amount(d, label)} {word} in B (95% interval {_amount(a, label, unit=False)} to "
            f"{_amount(b, label)} {word})")
    return text + ("; small, within noise" if noise else "")


# --------------------------------------------------------------------------- blocks -> md / html
Block = tuple[str, Any]


def _inline_html(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", t)


def render_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for kind, body in blocks:
        if kind in ("h1", "h2"):
            out += ["#" * int(kind[1]) + " " + body, ""]
        elif kind == "p":
            out += [body, ""]
        elif kind in ("headline", "warning"):
            out += ["> " + ("**Warning.** " if kind == "warning" else "") + body, ""]
        elif kind == "ul":
            out += [f"- {item}" for item in body] + [""]
        elif kind == "table":
            header, rows, align = body
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
            out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
            out.append("")
        elif kind == "figure":
            path, caption = body
            out += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
    return "\n".join(out)


HTML_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1250px;margin:2em auto;
padding:0 1.2em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.3em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.headline{font-size:1.15em;background:#eef4fb;border-left:5px solid #2166ac;padding:.7em 1em;margin:1em 0}
.warning{background:#fff4e5;border-left:5px solid #e08214;padding:.6em 1em;margin:1em 0}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0} th,td{padding:.3em .55em;border-bottom:1px solid #e3e3e3}
th{background:#f4f4f4;text-align:left} td.r{text-align:right;white-space:nowrap}
td:first-child{min-width:15em} td:last-child{font-size:.8em;max-width:13em;color:#555}
img{max-width:100%;border:1px solid #eee} figcaption{font-size:.85em;color:#555;margin-bottom:1.2em}
code{font-size:.9em;background:#f4f4f4;padding:0 .2em}
"""


def render_html(blocks: Sequence[Block], *, title: str) -> str:
    """One self-contained page: inline CSS, figures as base64 ``data:`` URIs, nothing fetched."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head><body>"]
    for kind, body in blocks:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{_inline_html(body)}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{_inline_html(body)}</p>")
        elif kind in ("headline", "warning"):
            lead = "<strong>Warning.</strong> " if kind == "warning" else ""
            out.append(f'<div class="{kind}">{lead}{_inline_html(body)}</div>')
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in body) + "</ul>")
        elif kind == "table":
            header, rows, align = body
            out.append('<div style="overflow-x:auto"><table><thead><tr>' + "".join(f"<th>{_inline_html(h)}</th>" for h in header)
                       + "</tr></thead><tbody>")
            for r in rows:
                out.append("<tr>" + "".join(f'<td class="{a}">{_inline_html(c)}</td>'
                                            for c, a in zip(r, align, strict=True)) + "</tr>")
            out.append("</tbody></table></div>")
        elif kind == "figure":
            path, caption = body
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{_inline_html(caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def _miss_cell(miss: Sequence[KnownMiss], limit: int = 3) -> str:
    if not miss:
        return "–"
    text = ", ".join(f"{m.target} (too {'high' if m.above else 'low'})" for m in miss[:limit])
    return text + (f" and {len(miss) - limit} more (see below)" if len(miss) > limit else "")


# --------------------------------------------------------------------------- the report
def _window(scen: dict[str, Any]) -> tuple[str, str]:
    start, end = str(scen.get("start_date", "?")), str(scen.get("end_date", "?"))
    return f"{start} to {end}", start[:4] if start[:4] == end[:4] else f"{start[:4]}-{end[:4]}"


def _divergence(manifest: dict[str, Any]) -> Divergence | None:
    spec = manifest.get("spec", {})
    a, b = manifest.get("scenario"), spec.get("scenario_b")
    if not a or not b:
        return None
    return compare_arms(a, b, names=(str(spec.get("a", "A")), str(spec.get("b", "B"))))


@dataclass
class Comparison:
    """A comparison folder read back: both arms' outcome rows, the paired table, names."""

    out: Path
    store: RunStore
    manifest: dict[str, Any]
    df: pd.DataFrame
    a: pd.DataFrame
    b: pd.DataFrame
    full: pd.DataFrame
    names: tuple[str, str]
    factions: list[str]
    state: list[str]
    window_text: str
    window_years: str
    unpaired: int


def load_comparison(out: str | Path, *, n_boot: int = 2000, conf: float = 0.95) -> Comparison:
    """Read a comparison folder and compute the paired table (raises :class:`ConfigError`)."""
    out = Path(out)
    store = RunStore(out)
    manifest = store.read_manifest() or {}
    if manifest.get("kind") != "compare":
        raise ConfigError(f"{out}: not a comparison folder (manifest.json kind is {manifest.get('kind')!r})")
    table = store.read_runs()
    if table is None:
        raise ConfigError(f"{out}: no finished runs to compare")
    df = table.to_pandas()
    a = df[df[ARM_COLUMN] == "A"].reset_index(drop=True)
    b = df[df[ARM_COLUMN] == "B"].reset_index(drop=True)
    spec = manifest.get("spec", {})
    scen_a = manifest.get("scenario", {})
    names = (str(scen_a.get("name") or (a["scenario"].iloc[0] if len(a) else "A")),
             str(spec.get("scenario_b", {}).get("name") or (b["scenario"].iloc[0] if len(b) else "B")))
    not_outcomes = {*ID_COLUMNS, ARM_COLUMN, "scenario", "posterior_row", *manifest.get("parameters", []),
                    *manifest.get("replicate_parameters", [])}
    outcome_cols = [c for c in df.columns if c not in not_outcomes and pd.api.types.is_numeric_dtype(df[c])]
    actors = scen_a.get("actors", {})
    factions = sorted({c.removeprefix("control_share_").rsplit("_", 1)[0] for c in outcome_cols
                       if c.startswith("control_share_") and re.search(r"_\d{4}$", c)})
    factions = [f for f in factions if f != "uncontrolled"]
    state = [f for f in factions if actors.get(f, {}).get("kind") == "state"] or ["FAMa"]
    armed = [f for f in factions if actors.get(f, {}).get("kind") == "jihadist"] or ["JNIM", "ISGS"]
    if not set(a["seed"]) & set(b["seed"]):
        raise ConfigError(f"{out}: no seed was run in both arms; a paired comparison needs pairs")
    unpaired = len(set(a["seed"]) ^ set(b["seed"]))
    rng = stream_rng(int(manifest["master_seed"]), BOOTSTRAP_STREAM)
    full = paired_table(a, b, outcomes=outcome_cols, rng=rng, n_boot=n_boot, conf=conf,
                        state_factions=state, armed_factions=armed)
    window_text, window_years = _window(scen_a)
    full.insert(1, "label", [outcome_label(o, window=window_years).text for o in full["outcome"]])
    full.insert(2, "unit", [outcome_label(o, window=window_years).unit for o in full["outcome"]])
    full["within_noise"] = [within_noise(r, outcome_label(r["outcome"])) for _, r in full.iterrows()]
    return Comparison(out, store, manifest, df, a, b, full, names, factions, state, window_text, window_years,
                      unpaired)


def comparison_figures(c: Comparison, fig_dir: Path, *, head: Sequence[str], fmt: str = "png") -> list[tuple[Path, str]]:
    """Trajectories of both arms, distributions of paired differences, difference maps."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    merged = c.a.merge(c.b, on="seed", suffixes=("_A", "_B"))
    diffs = pd.DataFrame({o: merged[f"{o}_B"] - merged[f"{o}_A"] for o in head[:8]})
    panels = [("civilian_deaths", "civilians killed per year"), ("combatant_deaths", "combatants killed per year"),
              ("mi_events", "events involving militant Islamist groups per year"),
              ("displaced", "people displaced at year end")]
    panels += [(f"control_share_{f}", outcome_label(f"control_share_{f}_2000").text.removesuffix(" at the end of 2000")
                + " (share of cells)") for f in c.factions]
    words = {o: outcome_label(o, window=c.window_years).text for o in diffs}
    figs = [(plot_trajectories(c.a, c.b, panels, fig_dir / f"trajectories.{fmt}", names=c.names),
             "Both arms year by year: median and 5-95% range over the runs"),
            (plot_differences(diffs, c.full, fig_dir / f"differences.{fmt}", labels=words),
             "Paired differences B - A: grey bars are the pairs, red the mean and its 95% interval")]
    keys = merged[["run_key_A", "run_key_B"]].to_numpy()
    map_path = plot_difference_maps(c.store, keys[:, 0], keys[:, 1], fig_dir / f"map_difference.{fmt}")
    if map_path is not None:
        figs.append((map_path, "Where the difference falls: mean per-cell difference B - A (red: more in B)"))
    return figs


def plot_comparison(out: str | Path, fig_dir: str | Path | None = None, *,
                    formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """``sahel-sim plot`` on a comparison folder: its figures in each format (default OUT/figures)."""
    c = load_comparison(out, n_boot=500)
    fig_dir = Path(fig_dir) if fig_dir is not None else c.out / "figures"
    head = headline_outcomes(c.df, [*c.factions, "uncontrolled"])
    head = [h for h in head if h in c.full["outcome"].tolist()]
    return [p for fmt in formats for p, _ in comparison_figures(c, fig_dir, head=head, fmt=fmt)]


def write_compare_report(out: str | Path, *, extra_outcomes: Iterable[str] = (), n_boot: int = 2000,
                         conf: float = 0.95, validation: str | Path | None = DEFAULT_VALIDATION) -> Path:
    """Analyse a finished (or partly finished) comparison folder; write report.md and report.html."""
    c = load_comparison(out, n_boot=n_boot, conf=conf)
    out, manifest, full, names = c.out, c.manifest, c.full, c.names
    spec = manifest.get("spec", {})
    scen_a = manifest.get("scenario", {})
    window_text, window_years, unpaired, state = c.window_text, c.window_years, c.unpaired, c.state
    full.to_csv(out / "differences.csv", index=False)
    full.to_parquet(out / "differences.parquet", index=False)

    extra = list(extra_outcomes)
    unknown = [o for o in extra if o not in full["outcome"].tolist()]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], full["outcome"].tolist(), n=1)
        raise ConfigError(f"--outcome {unknown[0]}: not an outcome of these runs"
                          + (f"; did you mean {close[0]!r}?" if close else "; see differences.csv for all names"))
    head = list(dict.fromkeys(headline_outcomes(c.df, [*c.factions, "uncontrolled"]) + extra))
    head = [h for h in head if h in full["outcome"].tolist()]
    tab = full.set_index("outcome").loc[head]
    n = int(full["n_pairs"].iloc[0])
    merged = c.a.merge(c.b, on="seed", suffixes=("_A", "_B"))
    diffs = pd.DataFrame({o: merged[f"{o}_B"] - merged[f"{o}_A"] for o in head})
    labels = {o: outcome_label(o, window=window_years) for o in full["outcome"]}
    figs = comparison_figures(c, out, head=head)

    # ---------------------------------------------------------------- words
    divergence = _divergence(manifest)
    posterior = spec.get("posterior")
    vpath = _find_validation(Path(validation)) if validation is not None else None
    misses = read_known_misses(vpath) if vpath is not None else None
    main = [o for o in ("civilian_deaths_total", "combatant_deaths_total", "mi_events_total") if o in tab.index]
    last_year = max((int(m.group(1)) for o in tab.index if (m := re.search(r"_(\d{4})$", o))), default=None)
    if last_year is not None:
        main += [o for o in (f"displaced_{last_year}", *(f"control_share_{f}_{last_year}" for f in state))
                 if o in tab.index]
    main = main or list(tab.index[:4])
    noise = {o: within_noise(tab.loc[o], labels[o]) for o in tab.index}

    blocks: list[Block] = [("h1", f"What if: {names[1]} (B) instead of {names[0]} (A)")]
    first = main[0]
    lead = headline_sentence(tab.loc[first], labels[first], noise=noise[first], names=names, n=n)
    headline = (f"**Headline.** {lead} The arms diverge on {divergence.date.isoformat() if divergence else '?'}. "
                "This is a model result under the scenarios' assumptions, not a forecast.")
    blocks.append(("headline", headline))
    blocks.append(("p", "**Main differences** (B - A, mean over the paired runs, with its 95% interval):"))
    blocks.append(("ul", [difference_sentence(tab.loc[o], labels[o], noise=noise[o]) for o in main]))
    if n < MIN_PAIRS:
        blocks.append(("warning", f"Only {n} paired runs. Intervals and probabilities from fewer than {MIN_PAIRS} "
                       "pairs are unreliable (a share of 0 of 3 pairs says little); rerun with at least "
                       f"`--replicates {max(MIN_PAIRS, 30)}` before using these numbers."))
    if unpaired:
        blocks.append(("warning", f"{unpaired} run(s) without a partner in the other arm (unfinished or failed) "
                       "are left out; rerun the same command to complete them."))

    blocks.append(("h2", "What was compared"))
    desc_b = str(spec.get("scenario_b", {}).get("description", "")).strip()
    desc_a = str(scen_a.get("description", "")).strip()
    div_text = "not known (this folder's manifest lacks the scenarios)"
    if divergence is not None:
        div_text = (f"**{divergence.date.isoformat()}**. Until then both runs of a pair are the same run; every "
                    f"difference arises after it. What differs: {'; '.join(divergence.reasons)}")
    cover = ("**simulation noise only**: every run uses the same, fixed parameter values (the shipped "
             "calibration); uncertainty about those values is not included (add `--posterior "
             "calibration/posterior.parquet` to include it)")
    if posterior:
        kept = posterior.get("kept_per_arm") or []
        cover = (f"**parameter uncertainty and simulation noise**: each pair drew its {len(posterior.get('parameters', []))} "
                 f"calibrated parameters from the calibration posterior (`{posterior.get('path')}`, "
                 f"{posterior.get('rows')} weighted particles); both runs of a pair share the draw and the seed"
                 + (f"; {', '.join(f'`{k}`' for k in kept)} kept each arm's own value (they are part of the "
                    "counterfactual or set with --set)" if kept else ""))
    blocks.append(("ul", [
        f"**A**: `{spec.get('a')}` ({names[0]}){': ' + desc_a if desc_a else ''}",
        f"**B**: `{spec.get('b')}` ({names[1]}){': ' + desc_b if desc_b else ''}",
        f"**Window**: {window_text}, the same in both arms",
        f"**The arms diverge on** {div_text}",
        f"**Paired runs**: {n} (each pair shares its seed; master seed {manifest.get('master_seed')})",
        f"**The intervals cover** {cover}. They are 95% percentile bootstrap intervals of the *mean* "
        f"difference ({n_boot} resamples of the pairs); single runs vary more (see the column "
        "'90% of pairs')",
        f"**Within noise**: {NOISE_RULE}",
        "**B worse in**: the share of pairs in which B turned out worse than A (more deaths, events, displaced "
        "people or jihadist-held territory; less state-held territory; ties count one half); a share of 0 or "
        "1 is shown as a bound (< 1/n, > (n-1)/n), since a finite number of pairs cannot show it is impossible",
    ]))

    blocks.append(("h2", "Differences, outcome by outcome"))
    rows = []
    for o, r in tab.iterrows():
        lab = labels[o]
        d = diffs[o].to_numpy(dtype=float)
        p5, p95 = (np.quantile(d, [0.05, 0.95]) if len(d) else (np.nan, np.nan))
        flag = "identical in every pair" if np.all(d == 0) else ("within noise" if noise[o] else "")
        miss = misses_touching(o, misses or [])
        rows.append([lab.text, lab.unit, fmt_value(r["mean_A"], lab), fmt_value(r["mean_B"], lab),
                     fmt_diff(r["diff_mean"], lab), f"{fmt_diff(r['diff_low'], lab)} to {fmt_diff(r['diff_high'], lab)}",
                     f"{fmt_diff(p5, lab)} to {fmt_diff(p95, lab)}", fmt_percent(r["diff_relative"], r["mean_A"], lab),
                     fmt_probability(r["p_b_worse"], n), flag,
                     _miss_cell(miss)])
    blocks.append(("table", (["outcome", "unit", f"A: {names[0]}", f"B: {names[1]}", "B - A", "95% interval",
                              "90% of pairs", "change", "B worse in", "", "model's known misses"], rows,
                             ["l", "l", "r", "r", "r", "r", "r", "r", "r", "l", "l"])))
    blocks.append(("p", f"Percent changes are given only for counts whose value in A is at least "
                   f"{MIN_PERCENT_BASE:,.0f}; shares of territory change in percentage points (pts). "
                   "Every outcome, with its code name, is in `differences.csv`."))

    blocks.append(("h2", "The model's known misses next to these outcomes"))
    if misses is None:
        blocks.append(("warning", f"`{validation}` was not found, so the model's known misses against the "
                       "documented record are not listed here; run `sahel-sim validate --report "
                       "calibration/validation.md` to produce it."))
    else:
        items = []
        seen: set[str] = set()
        for o in tab.index:
            touching = misses_touching(o, misses)
            stem = re.sub(r"_(\d{4}|total|per_year|peak)$", "", o)
            if touching and stem not in seen:
                seen.add(stem)
                what = outcome_label(stem + "_total").text.removesuffix(" over the whole run")
                items.append(f"**{what}**: " + "; ".join(m.words for m in touching))
        blocks.append(("p", f"From `{validation}` (the shipped calibration against the documented record). "
                       "A miss does not void a difference between two arms, but it says where the model's "
                       "levels are off:"))
        blocks.append(("ul", items or ["none of the outcomes above is touched by a known miss"]))

    blocks.append(("h2", "Figures"))
    blocks += [("figure", (path, caption)) for path, caption in figs]
    blocks.append(("h2", "Reproduce"))
    produced = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    blocks.append(("p", f"Produced {produced} by sahel-sim (git {manifest.get('git_commit', 'unknown')}) with "
                   f"`{manifest.get('command') or 'sahel-sim compare'}`. Rerun it with the same `--seed`; "
                   "`manifest.json` holds both resolved scenarios, the seeds, package versions and the commit."))

    md = out / "report.md"
    write_atomic(md, render_markdown(blocks))
    write_atomic(out / "report.html", render_html(blocks, title=f"{names[1]} vs {names[0]}"))
    return md
