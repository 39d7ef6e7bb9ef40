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
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.warehouse.client import get_client
from tests.conftest import ROOT, Child, buzz_cmd, clean_env, free_port, wait_for
from tests.places_scenario import seed_place_signups
from tests.test_dashboard_scenario import (
    ATTACK_SENTENCE,
    EXPECTED_STORED,
    MENTIONS_1H,
    SOURCE_ERROR,
    seed_warehouse,
    worker_behind,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts"
WAIT = 60  # seconds; chromium's first start on a busy 2-core machine is slow


def _health(url: str) -> bool:
    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
        return bool(r.status == 200 and r.read().strip() == b"ok")


@pytest.fixture(scope="module")
def dashboard_url(
    own_warehouse: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`buzz dashboard` on a free port, reading the seeded test warehouse and broker."""
    now = datetime.now(UTC)
    seed_warehouse(get_client(url=own_warehouse), now)
    # Signups spread over places and days for the Places map (none in the other pages' hours).
    seed_place_signups(get_client(url=own_warehouse), now)
    worker_behind(broker_url)
    port = free_port()
    child = Child(
        buzz_cmd("dashboard", "--port", str(port)),
        tmp_path_factory.mktemp("dashboard") / "dashboard.log",
        clean_env(BUZZ_CLICKHOUSE_URL=own_warehouse, BUZZ_KAFKA_URL=broker_url),
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
    try:
        WebDriverWait(driver, WAIT).until(shown, f"{what} never became visible")
    except TimeoutException:
        # What the page showed instead, for whoever reads the failure (and its screenshot).
        path = screenshot(driver, "failed.png")
        on_screen = [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)][:3]
        raise AssertionError(
            f"{what} never became visible; on screen: {on_screen}; {path}"
        ) from None


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


# Per page: path, heading, texts that must be on screen (from the seeded scenario), height.
# Table cells are drawn on a canvas, not as text, so the texts are the ones outside tables;
# the AppTest tests check the tables' contents.
PAGES = {
    "now": (
        "/?window=1h",
        "Buzz right now",
        [
            ATTACK_SENTENCE,
            "Mentions, last 1 h",
            str(MENTIONS_1H),
            "Share of voice",
            "Spikes in this window",
            "Newest alerts",
            "Newest mentions",
        ],
        1500,
    ),
    "alerts": (
        "/alerts",
        "Alerts",
        ["Possible attack on Jordan Kim", "Mark as handled", "Unanswered question"],
        1500,
    ),
    "validators": (
        "/validators",
        "Validators",
        [
            "Ray Okafor (Teamsters Local 27)",
            "New to the network",
            "How a post spread",
            "6 posts: 4 reshares by 4 people, 1 reply, 2 hops deep",
        ],
        1500,
    ),
    "conversations": (
        "/conversations",
        "Conversations",
        ["Questions waiting for an answer", "Threads worth joining", "Oldest waiting"],
        1200,
    ),
    "signups": (
        "/signups",
        "Signups",
        ["Signups, last 1 h", "What drove them", "Referral codes", "about 3 hours after buzz"],
        1500,
    ),
    "places": (
        "/places",
        "Places",
        [
            "Big enough to split:",
            "Seattle, WA (981), 56 people",
            "Ready for a local group",
            "Places with fewer than 5 people are never shown on their own",
            "2 places are outside the map's US ZIP codes",
            "Every place",
            "People over time",
            "What drove signups there",
        ],
        2000,
    ),
    "explore": ("/explore", "Explore", ["Run query"], 1100),
    "health": (
        "/health",
        "Pipeline health",
        [
            "Dead letters, last 24 h",
            "2 in all",
            SOURCE_ERROR,
            "Worker lag",
            "Latest dead letters",
        ],
        1500,
    ),
}


def test_bookmarked_health_page_opens_first(dashboard_url: str, browser: WebDriver) -> None:
    """The server's first visit is a deep link (a bookmark after a restart).

    It must get the app's navigation, not Streamlit's old-style page list, which is what a
    ``pages/`` folder beside app.py would give before st.navigation has run once.
    """
    browser.set_window_size(1400, 1500)
    browser.get(dashboard_url + "/health")
    visible(browser, "h1", "Pipeline health")
    visible(browser, "[data-testid='stMetricValue']", str(EXPECTED_STORED))
    nav = browser.find_element(By.CSS_SELECTOR, "header").text
    for title in ("Now", "Alerts", "Validators", "Conversations", "Signups", "Places", "Explore"):
        assert title in nav, f"top navigation missing {title}"


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_in_a_browser(dashboard_url: str, browser: WebDriver, page: str) -> None:
    path, heading, texts, height = PAGES[page]
    browser.set_window_size(1400, height)
    browser.get(dashboard_url + path)
    visible(browser, "h1", heading)
    for text in texts:
        visible(browser, "[data-testid='stMain']", text)
    if page not in ("explore", "conversations", "alerts", "validators"):
        visible(
            browser, "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
        )
    if page == "validators":
        visible(browser, "[data-testid='stGraphVizChart'] svg")
    if page == "places":  # the map and the people-over-time chart, both drawn
        drawn = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
        WebDriverWait(browser, WAIT).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, drawn)) >= 2,
            "the Places map and chart never both drew",
        )
    path_png = screenshot(browser, f"dashboard-{page}.png")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body, f"a traceback on {page} (see {path_png})"
    if page == "now":
        assert "window=1h" in browser.current_url
