"""End to end: the classroom app in headless Chromium, with every non-local request blocked.

Starts ``sahel-sim viz``'s server command on a free port, opens the pages in Debian's
Chromium through Playwright at a projector's 1024x768, aborts any request that is not to
127.0.0.1/localhost (so the page must render from locally served assets, as in an offline
classroom), and drives them:

- one run: switch the MINUSMA control, step, check the date against the week counter,
  measure the time from a click on Step to the new map (printed; fails above 1 s), change
  the layer, play (measures weeks per second; 2019 to 2022 must take under a minute) until
  the scenario's end, where Play stops by itself;
- side by side: both maps and the charts change on Step, switching B's intervention changes
  B's label, click-to-new-maps latency printed (fails above 1 s).

Screenshots are saved in the test's temporary folder. Without Chromium or Playwright the
test is skipped locally and fails under CI (``CI`` set).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("SAHEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PROJECTOR = {"width": 1024, "height": 768}
MAX_STEP_LATENCY_S = 1.0
"""The browser test's limit on click-to-new-map (the benchmark holds the 150 ms server target):
every measured step but one must be under it (one outlier is allowed: the test machine is
shared, and a chart's scale change redraws that chart once)."""


def _check_latencies(timings: list[float]) -> None:
    assert len(timings) >= 5
    assert sorted(timings)[-2] < MAX_STEP_LATENCY_S, timings
    assert statistics.median(timings) < MAX_STEP_LATENCY_S, timings


def _require(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI installs it: see .ci/run)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    """(page factory, blocked requests, server URL) with one server for the module's tests."""
    playwright_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else None
    if playwright_api is None:
        import playwright.sync_api as playwright_api
    _require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}")
    try:
        import solara_assets  # noqa: F401
    except ModuleNotFoundError:
        _require(False, "solara-assets is not installed (the app's offline front-end)")
    from sahel_sim.viz.serve import AppServerError, running_app

    blocked: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    log = tmp_path_factory.mktemp("server") / "server.log"
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(running_app(log))
        except AppServerError as exc:
            pytest.fail(str(exc))
        pw = stack.enter_context(playwright_api.sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)

        def new_page(path: str = ""):
            page = browser.new_page(viewport=PROJECTOR)
            page.route("**/*", route)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + path, wait_until="domcontentloaded", timeout=60_000)
            page.locator(".sahel-step").wait_for(timeout=90_000)
            return page, errors

        yield new_page, blocked
    print(f"blocked {len(blocked)} non-local requests: {blocked[:5]}")


def _img_src(page, selector: str) -> str:
    loc = page.locator(f"{selector} img").first
    loc.wait_for(state="visible", timeout=60_000)
    return loc.get_attribute("src") or ""


def _wait_changed(page, selector: str, before: str, *, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _img_src(page, selector)
        if now and now != before:
            return now
        page.wait_for_timeout(5)
    week = page.locator(".sahel-week").inner_text() if page.locator(".sahel-week").count() else "?"
    raise AssertionError(f"{selector} image did not change within {timeout_s} s ({week})")


def _week(page) -> int:
    text = page.locator(".sahel-week").inner_text()
    m = re.search(r"week (\d+) of (\d+)", text)
    assert m, text
    return int(m.group(1))


def _shown_date(page) -> dt.date:
    return dt.datetime.strptime(page.locator(".sahel-date").inner_text().strip(), "%d %B %Y").date()


STEP_JS = """
async () => {
  const q = (s) => document.querySelector(s);
  const week0 = q('.sahel-week').textContent, src0 = q('.sahel-charts img').src;
  const t0 = performance.now();
  q('button.sahel-step').click();
  while (performance.now() - t0 < 30000) {
    await new Promise((r) => requestAnimationFrame(r));
    const img = q('.sahel-charts img');
    if (img && img.src !== src0 && q('.sahel-week').textContent !== week0) {
      try { await img.decode(); } catch (e) {}
      return (performance.now() - t0) / 1000;
    }
  }
  return -1;
}
"""


def _step_latencies(page, n: int) -> list[float]:
    """Seconds from a click on Step until the new week's charts are decoded and the week
    counter shows it, timed inside the page (a week's map and charts arrive in the same
    update; the map's image only changes when its pixels do: a quiet week can leave the
    control map as it was)."""
    out = []
    for _ in range(n):
        week = _week(page)
        seconds = page.evaluate(STEP_JS)
        assert seconds > 0, "no new frame within 30 s"
        assert _week(page) == week + 1
        out.append(seconds)
        page.wait_for_timeout(100)
    return out


def _button(page, css: str):
    return page.locator(f"button{css}, {css} button").first


def test_one_run_page(browser_page, tmp_path):
    new_page, _blocked = browser_page
    page, errors = new_page()
    start = dt.date(2019, 1, 7)  # scenarios/classroom.yaml start_date
    assert _shown_date(page) == start and _week(page) == 0
    map0, charts0 = _img_src(page, ".sahel-map"), _img_src(page, ".sahel-charts")
    assert map0 and _img_src(page, ".sahel-map") == map0
    assert map0.startswith(("blob:", "data:image")), map0[:40]

    # the sidebar holds the teacher's controls only (no Mesa thread switch or empty cards)
    body = page.locator("body").inner_text()
    for clutter in ("Use Threads", "Model Parameters", "Render Interval"):
        assert clutter not in body

    # switch MINUSMA to "stays" (the classroom preset withdraws it in July 2023)
    page.get_by_text("MINUSMA withdrawn", exact=True).click()
    page.get_by_text("MINUSMA stays").wait_for(timeout=60_000)

    # three steps: the date shown is the date reached, three weeks on
    step = _button(page, ".sahel-step")
    _step_latencies(page, 3)
    page.get_by_text("week 3 of", exact=False).wait_for(timeout=30_000)
    assert _shown_date(page) == start + dt.timedelta(weeks=3)
    _wait_changed(page, ".sahel-charts", charts0)

    timings = _step_latencies(page, 10)
    print(f"one run, click-to-new-map-and-charts at 1024x768: median {1e3 * statistics.median(timings):.0f} ms, "
          f"max {1e3 * max(timings):.0f} ms over {len(timings)} steps")
    _check_latencies(timings)
    assert _shown_date(page) == start + dt.timedelta(weeks=_week(page))

    # another layer redraws the map
    before = _img_src(page, ".sahel-map")
    page.locator(".sahel-layer .v-select__slot").first.click()
    page.get_by_role("option", name="Violence in recent weeks").click()
    _wait_changed(page, ".sahel-map", before)
    page.screenshot(path=str(tmp_path / "one_run_1024.png"))

    # Play at the speed the page opens with: weeks per second over a few seconds
    assert page.locator(".sahel-speed").inner_text().strip().endswith("2 weeks")
    play = _button(page, ".sahel-play")
    w0, t0 = _week(page), time.perf_counter()
    play.click()
    page.wait_for_timeout(6000)
    w1, t1 = _week(page), time.perf_counter()
    rate = (w1 - w0) / (t1 - t0)
    print(f"play at 2 weeks per frame: {rate:.1f} weeks/s -> 2019 to 2022 (156 weeks) in {156 / rate:.0f} s")
    assert 156 / rate < 60, rate
    play.click()  # pause
    page.get_by_text("▶ Play").wait_for(timeout=30_000)
    assert step.is_enabled()
    assert _shown_date(page) == start + dt.timedelta(weeks=_week(page))

    # fastest speed to the end: Play stops by itself at the last week, never beyond
    page.locator(".sahel-speed .v-select__slot").first.click()
    page.get_by_role("option", name="8 weeks").click()
    play.click()
    page.get_by_text("end of the scenario").wait_for(timeout=120_000)
    text = page.locator(".sahel-week").inner_text()
    n = int(re.search(r"of (\d+)", text).group(1))
    assert _week(page) == n, text
    page.get_by_text("▶ Play").wait_for(timeout=30_000)
    assert not play.is_enabled() and not step.is_enabled()  # nothing left to run
    assert _button(page, ".sahel-reset").is_enabled()
    assert _shown_date(page) == dt.date(2024, 12, 30)  # the scenario's end_date
    assert not [e for e in errors if "Error" in e], errors
    page.close()


def test_side_by_side_page(browser_page, tmp_path):
    new_page, blocked = browser_page
    page, errors = new_page("compare")
    for s in (".sahel-map-a", ".sahel-map-b", ".sahel-charts"):
        assert _img_src(page, s)
    page.get_by_text("B: classroom (no Wagner)").wait_for(timeout=30_000)
    # the page scales its charts a few weeks ahead in the background as it opens (about a
    # second on a 2-core machine, several when it is shared): a class looks at the two maps
    # before the first Step
    page.wait_for_timeout(5000)

    maps0 = [_img_src(page, s) for s in (".sahel-map-a", ".sahel-map-b")]
    timings = _step_latencies(page, 6)
    print(f"side by side, click-to-new-maps-and-charts at 1024x768: median {1e3 * statistics.median(timings):.0f} ms, "
          f"max {1e3 * max(timings):.0f} ms")
    _check_latencies(timings)
    assert _week(page) == 6
    for s, before in zip((".sahel-map-a", ".sahel-map-b"), maps0, strict=True):
        _wait_changed(page, s, before)  # six weeks on, both maps have changed

    # B's own intervention: MINUSMA stays in B (Wagner still out); the run restarts
    page.locator(".sahel-arm-b").get_by_text("MINUSMA withdrawn", exact=True).click()
    page.get_by_text(re.compile(r"B: classroom \(MINUSMA stays; no Wagner\)")).wait_for(timeout=60_000)
    assert _week(page) == 0
    page.screenshot(path=str(tmp_path / "side_by_side_1024.png"))
    assert not [e for e in errors if "Error" in e], errors
    assert not [u for u in blocked if urlparse(u).hostname in LOCAL_HOSTS]
    page.close()
