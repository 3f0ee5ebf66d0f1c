"""The real thing: `emogen ui` serving, Debian chromium driven by Playwright, an image made and shown.

The screenshot goes to $EMOGEN_SCREENSHOT_DIR (default out/screenshots) so a person can look at it.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
from emogen.ui.serve import serving  # noqa: E402
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium (scripts/debian-packages.txt)")]
SCREENSHOTS = Path(os.environ.get("EMOGEN_SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "out" / "screenshots"))


@pytest.fixture
def server(tmp_path, free_port):
    out = tmp_path / "ui-out"
    with serving(free_port, out) as url:
        yield url, out


def test_pick_an_emotion_on_the_plane_generate_and_see_the_image(server):
    url, out = server
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(url, timeout=120_000)
            page.get_by_text("Click the plane, or use the sliders.").wait_for(timeout=120_000)
            page.get_by_text("Spec: v=0.60,a=0.40").wait_for(timeout=30_000)

            # Pick an emotion by clicking the lower left of the valence-arousal plane (sad, calm).
            plane = page.locator("[data-testid='stVegaLiteChart']").first
            plane.wait_for(timeout=60_000)
            box = plane.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.7)
            spec = page.get_by_text(re.compile(r"^Spec: v=-0\.\d\d,a=-0\.\d\d$"))
            spec.wait_for(timeout=60_000)
            picked = spec.inner_text()

            page.get_by_role("button", name="Generate").click()
            page.get_by_role("heading", name="Measured emotion").wait_for(timeout=300_000)
            image = page.locator("[data-testid='stImage'] img").first
            image.wait_for(timeout=30_000)
            assert image.evaluate("img => img.complete && img.naturalWidth") >= 64
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / "ui_image_page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    [png] = (out / "image").glob("*.png")
    emotion = picked.removeprefix("Spec: ")
    assert f'"emotion": "{emotion}"' in png.with_suffix(".json").read_text()


def test_stopping_emogen_ui_stops_the_server(tmp_path, free_port):
    """`emogen ui` becomes the Streamlit process, so stopping it leaves no server behind."""
    import socket

    with serving(free_port, tmp_path / "ui-out"):
        pass
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", free_port)) != 0
