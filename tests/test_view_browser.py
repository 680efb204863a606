"""`pairsweep run --view` in a real browser: Debian's chromium-headless-shell driven by
Playwright (which cannot download its own browser here). `.ci/run` installs the browser with
apt; the test extra installs Playwright. Elsewhere the test is skipped with the reason; under
CI=true it must run."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

BROWSER = shutil.which("chromium-headless-shell") or "/usr/bin/chromium-headless-shell"


def _need_browser():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is None and not os.path.exists(BROWSER):
        reason = f"no {BROWSER} (apt-get install chromium-headless-shell; needs root)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)


def _blocks(text: str) -> int:
    return int(re.search(r"blocks (\d+)/\d+ done", text).group(1))


@pytest.mark.slow
def test_live_page_fills_in_hovers_switches_and_the_dashboard_loads(tmp_path, subprocess_env):
    _need_browser()
    from playwright.sync_api import sync_playwright

    spec = tmp_path / "s.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{tmp_path / 's.zarr'}"
        [axes]
        x = {{ linspace = [0, 3, 16] }}
        y = {{ logspace = [0.1, 2.0, 6] }}
        [fixed]
        delay = 0.125
        [execution]
        chunks = {{ x = 2, y = 6 }}
        """))  # 8 blocks of 12 points, 1.5 s each on one worker: the page is checked while they land
    proc = subprocess.Popen(
        [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec), "--view", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("dashboard at" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            time.sleep(0.1)
        view = next(line for line in lines if "results view at" in line).split(" at ")[1].strip()
        dashboard = next(line for line in lines if "dashboard at" in line).split(" at ")[1].strip()
        assert view.startswith("http://127.0.0.1:")

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=BROWSER)
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            for _ in range(100):
                try:
                    page.goto(view)
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    time.sleep(0.2)
            counts = page.locator("text=/blocks \\d+\\/8 done/").first
            counts.wait_for(timeout=30_000)
            seen = [_blocks(counts.inner_text())]
            assert seen[0] < 7, f"the run was too fast to watch: {seen}"
            while len(set(seen)) < 3:  # two updates, without a reload
                assert time.monotonic() < deadline, (seen, "".join(lines))
                time.sleep(0.3)
                seen.append(_blocks(counts.inner_text()))
            assert seen == sorted(seen)

            png = page.screenshot()
            import matplotlib.image as mimage

            pixels = mimage.imread(io.BytesIO(png), format="png")[..., :3]
            assert float(np.std(pixels)) > 0.1  # a coloured map, not a blank page

            canvas = page.locator("canvas").first.bounding_box()
            page.mouse.move(canvas["x"] + canvas["width"] * 0.45, canvas["y"] + canvas["height"] * 0.5)
            tip = page.locator("text=status:").first
            tip.wait_for(timeout=10_000)
            assert page.locator("text=message:").count() >= 1

            page.locator("select").first.select_option("moments")
            selects = page.locator("select")
            for _ in range(50):  # a selector for the extra index k appears: variable, x, y, k
                if selects.count() == 4:
                    break
                time.sleep(0.2)
            assert selects.count() == 4
            assert selects.nth(3).locator("option").all_inner_texts() == ["0", "1", "2"]

            response = page.goto(dashboard)
            assert response is not None and response.ok and "Dask" in page.title()
            browser.close()
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "complete" in out
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
