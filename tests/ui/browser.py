"""Headless Chromium driven by Selenium through Debian's chromium-driver, and a real
``mlops-kit ui`` server for it (nothing downloaded: Selenium is given both paths)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.ui.conftest import ROOT, TOKEN

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
# Where to keep the screenshots (the docs' pictures: MLOPS_KIT_UI_SCREENSHOTS=docs/img/ui).
SCREENSHOTS = os.environ.get("MLOPS_KIT_UI_SCREENSHOTS")


def need_browser() -> None:
    """CI installs both (.ci/run); elsewhere say what is missing instead of failing obscurely."""
    if CHROMIUM and CHROMEDRIVER:
        return
    message = "headless Chromium and chromium-driver are needed: apt-get install chromium chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def ui_server(store: Path, *args: str) -> Iterator[str]:
    """``mlops-kit ui --storage STORE ARGS`` as its own process on 127.0.0.1; yield its URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLOPS_KIT_UI_TOKEN": TOKEN}
    command = [
        sys.executable,
        "-m",
        "mlops_kit.cli",
        "ui",
        "--storage",
        str(store),
        "--port",
        str(port),
        *args,
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                out = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"mlops-kit ui did not start: {out[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        # The machine's network is closed: without these Chromium keeps trying Google's hosts.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str, folder: Path) -> Path:
    """Save the page, down to 2,400 pixels, as ``<name>.png`` (Chromium's own capture)."""
    import base64

    target = Path(SCREENSHOTS) if SCREENSHOTS else folder
    target.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 2400), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = target / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
