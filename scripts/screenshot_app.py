#!/usr/bin/env python3
"""Take the screenshots of the classroom app shown in README and docs/classroom.md.

    python scripts/screenshot_app.py                 # docs/img/app_*.png, classroom preset to Oct 2023
    python scripts/screenshot_app.py --until 2022-06-01 --layer violence --out-dir /tmp/shots

Starts the app's server exactly as ``sahel-sim viz`` does, drives it in headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright; every non-local request is refused, as
in an offline classroom) and, at each screen size (1920x1080, and a projector's 1024x768),
plays the run with the app's own Play button until the chosen date and saves the window:

- ``app_1920x1080.png``, ``app_1024x768.png``: the one-run page (classroom preset, seed 1);
- ``app_compare_1920x1080.png``, ``app_compare_1024x768.png``: the side-by-side page (the
  preset as in its file against the same preset without Wagner, seed 1).

``app_screenshots.json`` beside them records the commit, date, machine and settings.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAYER_LABELS = {"control": "Who controls each cell", "violence": "Violence in recent weeks",
                "civilian_deaths": "Civilian deaths since the start", "displaced": "People displaced from each cell",
                "grievance": "Grievance against the state"}
SIZES = ((1920, 1080), (1024, 768))


@contextlib.contextmanager
def app_server():
    sys.path.insert(0, str(ROOT))
    from sahel_sim.viz.serve import running_app

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        yield url


def _shown(page) -> dt.date:
    return dt.datetime.strptime(page.locator(".sahel-date").inner_text().strip(), "%d %B %Y").date()


def _week(page) -> int:
    return int(re.search(r"week (\d+)", page.locator(".sahel-week").inner_text()).group(1))


def play_until(page, target: dt.date, timeout_s: float = 300) -> dt.date:
    """Play at 8 weeks a frame to within about 30 weeks of ``target``, then Step to it."""
    import time

    page.locator(".sahel-speed .v-select__slot").first.click()
    page.get_by_role("option", name="8 weeks").click()
    play = page.locator("button.sahel-play")
    deadline = time.monotonic() + timeout_s
    if (target - _shown(page)).days > 30 * 7:
        play.click()
        while (target - _shown(page)).days > 30 * 7 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        play.click()
        page.get_by_text("▶ Play").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # a frame drawn as Pause was pressed arrives
    step = page.locator("button.sahel-step")
    while _shown(page) < target and time.monotonic() < deadline and step.is_enabled():
        week = _week(page)
        step.click()
        while _week(page) == week and time.monotonic() < deadline:
            page.wait_for_timeout(20)
    page.wait_for_timeout(1200)  # the last images
    return _shown(page)


def choose_layer(page, layer: str) -> None:
    if layer != "control":
        page.locator(".sahel-layer .v-select__slot").first.click()
        page.get_by_role("option", name=LAYER_LABELS[layer]).click()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--until", type=dt.date.fromisoformat, default=dt.date(2023, 10, 2),
                    help="play until this date is shown (default: %(default)s)")
    ap.add_argument("--layer", default="control", choices=sorted(LAYER_LABELS))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    with app_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for path, stem in (("", "app"), ("compare", "app_compare")):
            for w, h in SIZES:
                page = browser.new_page(viewport={"width": w, "height": h})
                page.route("**/*", route)
                page.goto(url + path, wait_until="domcontentloaded")
                page.locator("button.sahel-step").wait_for(timeout=90_000)
                page.wait_for_timeout(2500)  # the charts' look-ahead
                choose_layer(page, args.layer)
                shown = play_until(page, args.until)
                out = args.out_dir / f"{stem}_{w}x{h}.png"
                page.screenshot(path=str(out))
                written[out.name] = {"viewport": [w, h], "page": "/" + path, "date_shown": shown.isoformat()}
                print(f"{out} ({shown:%d %b %Y})")
                page.close()
        browser.close()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    meta = {"script": "scripts/screenshot_app.py", "commit": commit,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, Chromium headless",
            "preset": "classroom", "seed": 1, "layer": args.layer, "blocked_non_local_requests": len(blocked),
            "files": written}
    (args.out_dir / "app_screenshots.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
