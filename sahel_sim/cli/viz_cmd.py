"""``sahel-sim viz``, ``plot`` and ``animate``: the classroom app and slide-ready figures.

Thin: argument parsing, then one call into :mod:`sahel_sim.viz`. solara is imported only by
the app's server process, so the rest of the CLI runs without the ``viz`` extra.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 8765

# Solara's server settings for a classroom: no usage telemetry sent to the internet (many
# classrooms are offline, and pupils' sessions are nobody's business). The front-end is served
# by solara's own asset route from the files the solara-assets package installs (that route is
# solara's "CDN proxy": keep it on, or the browser is sent to cdn.jsdelivr.net).
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    "SOLARA_ASSETS_PROXY": "true",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "viz", help="open the classroom app in a browser (map of Mali, live charts, interventions)",
        description="Serve the classroom app (the Mesa model in a solara page) and open it in the default "
        "browser. Pick a bundled scenario, switch MINUSMA's withdrawal, Wagner's deployment and Barkhane's exit, "
        "then Play / Step; the 'Side by side' page (/compare) runs two versions of a scenario on the same seed. "
        "Works with no internet connection. Stop with Ctrl+C.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this computer only; "
                        "0.0.0.0 lets other machines on the network connect)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser window")
    p.add_argument("--scenarios", type=Path, default=None,
                   help="folder of scenario YAML files offered as presets (default: the bundled scenarios/)")
    p.set_defaults(func=main_viz)

    p = sub.add_parser(
        "plot", help="write the standard figures of a run or comparison folder (PNG and SVG)",
        description="Write trajectories, control maps over time, every map layer at the end, the event "
        "mix by year and a summary, as PNG and SVG, from a results folder written by `sahel-sim run` "
        "(or, for a folder written by `sahel-sim compare`, both arms' trajectories, the paired differences and "
        "the map of where they fall).")
    p.add_argument("results", type=Path, help="results folder (a run, or a folder holding several runs)")
    p.add_argument("--out", type=Path, default=None, help="figures folder (default: RESULTS/figures)")
    p.add_argument("--format", action="append", choices=("png", "svg", "pdf"), default=None,
                   help="file format, repeatable (default: png and svg)")
    p.set_defaults(func=main_plot)

    p = sub.add_parser(
        "animate", help="write an animated GIF (or MP4) of the map over time, for slides",
        description="Animate one map layer of a run over its snapshot dates, captioned with the date and "
        "the scenario's dated interventions. GIF by default; MP4 when --out ends in .mp4 and ffmpeg exists.")
    p.add_argument("results", type=Path, help="results folder written by `sahel-sim run`")
    p.add_argument("--layer", default="control",
                   choices=("control", "violence", "civilian_deaths", "displaced", "grievance"),
                   help="map layer (default: %(default)s)")
    p.add_argument("--out", type=Path, default=None,
                   help="output file, .gif or .mp4 (default: RESULTS/animation_<layer>.gif)")
    p.add_argument("--fps", type=float, default=6.0, help="frames per second (default: %(default)s)")
    p.add_argument("--max-frames", type=int, default=120,
                   help="at most this many frames, evenly spaced over the run (default: %(default)s)")
    p.set_defaults(func=main_animate)


def viz_command(*, host: str, port: int, open_browser: bool = True) -> list[str]:
    """The server command line (also used by the end-to-end test and the screenshot script)."""
    return [sys.executable, "-m", "solara", "run", "sahel_sim.viz.app", "--host", host, "--port", str(port),
            "--production", "--open" if open_browser else "--no-open", "--log-level", "warning"]


def viz_env(*, scenarios: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **OFFLINE_ENV}
    if scenarios is not None:
        env["SAHEL_SIM_SCENARIOS"] = str(scenarios.resolve())
    return env


def main_viz(args: argparse.Namespace) -> int:
    from sahel_sim.config import ConfigError

    try:
        import solara  # noqa: F401
        import solara_assets  # noqa: F401  # the front-end, served locally (no CDN)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"the browser app needs the 'viz' extra ({exc.name} is missing): "
                          "pip install 'sahel-sim[viz]'") from None
    if args.scenarios is not None:
        from sahel_sim.viz.controls import load_presets

        load_presets(args.scenarios)  # fail here, with the file's name, not in the browser
    if not _is_loopback(args.host):
        print(f"sahel-sim: warning: --host {args.host} serves the app to the network: anyone who can reach "
              f"port {args.port} of this computer can open and drive it (no password). Use --host 127.0.0.1 "
              "to keep it on this computer.", file=sys.stderr, flush=True)
    shown = "localhost" if _is_loopback(args.host) else args.host
    print(f"sahel-sim classroom app on http://{shown}:{args.port}  (Ctrl+C to stop)", flush=True)
    cmd = viz_command(host=args.host, port=args.port, open_browser=not args.no_open)
    return run_server(cmd, env=viz_env(scenarios=args.scenarios))


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(cmd: list[str], *, env: dict[str, str], grace_s: float = 10.0) -> int:
    """Run the app server as a child and stop it with us: Ctrl-C or SIGTERM to this process
    (the CLI turns SIGTERM into KeyboardInterrupt) is passed on as SIGTERM, then SIGKILL after
    ``grace_s`` seconds, so the server never outlives the command."""
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _is_comparison(folder: Path) -> bool:
    import json

    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("kind") == "compare"
    except (OSError, ValueError, AttributeError):
        return False


def main_plot(args: argparse.Namespace) -> int:
    formats = tuple(dict.fromkeys(args.format or ("png", "svg")))
    if _is_comparison(args.results):  # written by `sahel-sim compare`: its paired figures
        from sahel_sim.experiments.report import plot_comparison

        paths = plot_comparison(args.results, args.out, formats=formats)
    else:
        from sahel_sim.viz.figures import plot_results

        paths = plot_results(args.results, args.out, formats=formats)
    for p in paths:
        print(p)
    return 0


def main_animate(args: argparse.Namespace) -> int:
    from sahel_sim.viz.animate import animate_run

    out = args.out or args.results / f"animation_{args.layer}.gif"
    path = animate_run(args.results, out, layer=args.layer, fps=args.fps, max_frames=args.max_frames)
    print(path)
    return 0
