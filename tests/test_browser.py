"""The real dashboard in a real browser: `buzz dashboard` seen through Debian's headless chromium.

AppTest checks what the pages compute; this checks that a staffer actually sees it: the page
renders, the chart and the metrics become visible, and the figures on screen are the known
ones. Screenshots go to ``artifacts/`` for a human to look at.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.warehouse.client import get_client
from tests.conftest import ROOT, Child, buzz_cmd, clean_env, free_port, wait_for
from tests.test_dashboard import EXPECTED_STORED, seed_warehouse

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts"
WAIT = 60  # seconds; chromium's first start on a busy 2-core machine is slow


def _health(url: str) -> bool:
    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
        return bool(r.status == 200 and r.read().strip() == b"ok")


@pytest.fixture(scope="module")
def dashboard_url(own_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`buzz dashboard` on a free port, reading the seeded test warehouse."""
    seed_warehouse(get_client(url=own_warehouse), datetime.now(UTC))
    port = free_port()
    child = Child(
        buzz_cmd("dashboard", "--port", str(port)),
        tmp_path_factory.mktemp("dashboard") / "dashboard.log",
        clean_env(BUZZ_CLICKHOUSE_URL=own_warehouse),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _health(url), "buzz dashboard", child)
        yield url
    finally:
        child.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        # Fail, not skip: CI installs the browser, so a missing one is a broken setup.
        pytest.fail(f"{', '.join(missing)} not found: run scripts/install-browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def visible(driver: WebDriver, css: str, text: str | None = None) -> None:
    """Wait until some element matching ``css`` (and containing ``text``) is visible."""

    def shown(d: WebDriver) -> bool:
        return any(
            e.is_displayed() and (text is None or text in e.text)
            for e in d.find_elements(By.CSS_SELECTOR, css)
        )

    what = css if text is None else f"{text!r} in {css}"
    WebDriverWait(driver, WAIT).until(shown, f"{what} never became visible")


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def test_bookmarked_health_page_opens_first(dashboard_url: str, browser: WebDriver) -> None:
    """The server's first visit is a deep link (a bookmark after a restart).

    It must get the app's navigation, not Streamlit's old-style page list, which is what a
    ``pages/`` folder beside app.py would give before st.navigation has run once.
    """
    browser.set_window_size(1400, 1400)  # tall enough for the dead-letter table too
    browser.get(dashboard_url + "/health")

    visible(browser, "h1", "Pipeline health")
    visible(browser, "[data-testid='stMetricValue']", str(EXPECTED_STORED))
    visible(browser, "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")
    visible(browser, "[data-testid='stDataFrame']")
    path = screenshot(browser, "dashboard-health.png")

    text = browser.find_element(By.TAG_NAME, "body").text
    for expected in ("The pipeline is writing", "Dead letters, last 24 h", "2 in all",
                     "Latest dead letters"):  # fmt: skip
        assert expected in text, f"{expected!r} not on the page (see {path})"
    nav = browser.find_element(By.CSS_SELECTOR, "header").text
    assert "Now" in nav and "Explore" in nav, f"top navigation missing (see {path})"


def test_now_page_in_a_browser(dashboard_url: str, browser: WebDriver) -> None:
    browser.get(dashboard_url + "/?window=1h")

    visible(browser, "h1", "Buzz right now")
    visible(browser, "[data-testid='stMetricValue']", "260")
    visible(browser, "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")
    visible(browser, "[data-testid='stDataFrame']")
    path = screenshot(browser, "dashboard-now.png")

    text = browser.find_element(By.TAG_NAME, "body").text
    for expected in ("Mentions, last 1 h", "260", "+200 (+333%)", "vs previous 1 h",
                     "Unique authors, last 1 h", "17", "#kimforsenate", "170 uses",
                     "Newest mentions"):  # fmt: skip
        assert expected in text, f"{expected!r} not on the page (see {path})"
    assert "Traceback" not in text and "Error" not in text
    assert "window=1h" in browser.current_url
