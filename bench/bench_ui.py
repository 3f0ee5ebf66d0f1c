"""Creation UI (issue 9): time to the first image on CPU, as a creator sees it in a real browser.

`emogen ui` is started fresh (so the first request loads the image model), Debian chromium opens it,
Generate is clicked, and the clock stops when the image is on screen. A second Generate (other seed)
measures a warm request. The server's own "made in" time (generation + scoring + saving, plus model
loading on the first request) is read from the page beside the image.
"""
from __future__ import annotations

import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

from emogen.benchmark import Metric, run_benchmark
from emogen.ui.serve import serving

MADE_IN = re.compile(r"^(\S+\.png): made in ([\d.]+) s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _generate(page, previous: str | None) -> tuple[float, str, float]:
    """Click Generate; wait until a result other than ``previous`` is shown. (wall s, file, server s)"""
    started = time.perf_counter()
    page.get_by_role("button", name="Generate").click()
    caption = page.get_by_text(MADE_IN)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if caption.count():
            match = MADE_IN.match(caption.first.inner_text())
            if match and match.group(1) != previous:
                page.locator("[data-testid='stImage'] img").first.wait_for()
                return time.perf_counter() - started, match.group(1), float(match.group(2))
        time.sleep(0.02)
    raise RuntimeError("no image within 300 s")


def measure() -> list[Metric]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("bench_ui needs Debian chromium (scripts/debian-packages.txt)")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        with serving(_free_port(), Path(folder)) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(url)
            page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
            ready = time.perf_counter() - started
            first, name, first_server = _generate(page, None)
            page.get_by_text("Sampling").click()
            page.get_by_label("Seed").fill("1")
            page.get_by_label("Seed").press("Enter")
            time.sleep(1.0)  # let the rerun for the new seed settle before the click
            warm, _, warm_server = _generate(page, name)
            browser.close()
    return [
        Metric("server start to page ready", round(ready, 2), "s", note="emogen ui started, Image page drawn"),
        Metric("first image: Generate to image on screen", round(first, 2), "s",
               note="cold: includes loading the shipped image model (best of 1, its 25 DDPM steps, 64 px)"),
        Metric("first image: server time", round(first_server, 2), "s", note="model load + generate + score + save"),
        Metric("next image: Generate to image on screen", round(warm, 2), "s", note="model already loaded"),
        Metric("next image: server time", round(warm_server, 2), "s"),
    ]


if __name__ == "__main__":
    run_benchmark("ui", "Creation UI (issue 9): time to the first image on CPU in a real browser (Debian chromium).",
                  measure)
