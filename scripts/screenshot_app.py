#!/usr/bin/env python3
"""Take the README's screenshot of the classroom app (docs/img/viz.png).

    python scripts/screenshot_app.py                       # classroom preset, up to Oct 2023
    python scripts/screenshot_app.py --until 2022 --layer violence --out /tmp/viz.png

Starts the app's server exactly as ``sahel-sim viz`` does, drives it in headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright; every non-local request is refused, as
in an offline classroom), plays the model with Mesa's play button until the chosen month and saves the browser
window.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAYER_LABELS = {"control": "Who controls each cell", "violence": "Violence in recent weeks",
                "civilian_deaths": "Civilian deaths since the start", "displaced": "People displaced from each cell",
                "grievance": "Grievance against the state"}


@contextlib.contextmanager
def app_server():
    sys.path.insert(0, str(ROOT))
    from sahel_sim.viz.serve import running_app

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url:
        yield url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "viz.png")
    ap.add_argument("--until", type=int, default=2023, help="step until this year is shown (default: %(default)s)")
    ap.add_argument("--month", type=int, default=10, help="... and this month (default: %(default)s)")
    ap.add_argument("--layer", default="control", choices=sorted(LAYER_LABELS))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            r.abort()

    import datetime as dt

    target = dt.date(args.until, args.month, 1)
    with app_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.route("**/*", route)
        page.goto(url, wait_until="domcontentloaded")
        step = page.locator("button", has_text=re.compile(r"^\s*step\s*$", re.I))
        step.wait_for(timeout=90_000)
        if args.layer != "control":
            page.locator(".sahel-map .v-select__slot").first.click()
            page.get_by_role("option", name=LAYER_LABELS[args.layer]).click()
        banner = page.locator(".sahel-date")
        play = page.locator("button", has_text="▶")
        shown = dt.datetime.strptime(banner.inner_text().strip(), "%d %B %Y").date()
        if shown < target:
            play.click()  # Mesa's play: one rendered step per Play Interval
            deadline = time.monotonic() + 600
            while shown < target and time.monotonic() < deadline:
                page.wait_for_timeout(500)
                shown = dt.datetime.strptime(banner.inner_text().strip(), "%d %B %Y").date()
            page.locator("button", has_text="❚❚").or_(play).first.click()  # pause
        page.wait_for_timeout(1500)  # let the last images arrive
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"{args.out} ({shown:%d %b %Y})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
