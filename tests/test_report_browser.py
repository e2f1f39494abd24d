"""The HTML report in a real headless Chromium (Debian's chromium and chromedriver, driven by selenium): the page
loads with no console error, the verdict filter and the search hide rows, a case opens onto a side-by-side diff
that fits the page, a column sorts; a screenshot is kept as artifacts/report.png.

Outside CI it skips, saying why, where Chromium cannot be had; under CI=true it fails instead (.ci/run installs
both packages, then runs ``make test-browser``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: Read at import: the suite's autouse fixture clears CI for every test, so the inner runs behave as a user's.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = ("chromium", "chromium-browser")
#: Without the networking switches Chromium tries to reach its vendor's services at start-up, refused here.
SWITCHES = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but the browser test cannot run: {why} (.ci/run installs chromium and chromium-driver)")
    pytest.skip(f"{why}: apt-get install chromium chromium-driver, and pip install selenium (the dev extra)")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    binary = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        _unavailable("chromium or chromedriver is not on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for switch in (*SWITCHES, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(switch)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def rows(driver: Any) -> list[str]:
    """The verdicts of the table's rows, top to bottom."""
    # read in one script: the table is redrawn on every filter, so element handles would go stale
    script = "return Array.from(document.querySelectorAll('#rows tr.item'), row => row.dataset.verdict)"
    verdicts: list[str] = driver.execute_script(script)
    return verdicts


def test_the_html_report_works_in_a_real_browser(pytester: pytest.Pytester, example: Path, browser: Any) -> None:
    pytester.runpytest(
        "-p", "no:cacheprovider", "--candidate-model=scripted/triage-2024-11", "--llm-report-html=report.html"
    )
    browser.get((example / "report.html").as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    failing = ["REGRESSED", "FORMAT_BREAK", "FORMAT_BREAK", "IMPROVED"]
    assert sorted(rows(browser)) == sorted(failing + ["UNCHANGED"] * 15)
    assert rows(browser)[:2] == ["REGRESSED", "FORMAT_BREAK"]  # failures first

    browser.find_element("css selector", 'button.chip[data-verdict="UNCHANGED"]').click()
    assert rows(browser) == ["REGRESSED", "FORMAT_BREAK", "FORMAT_BREAK", "IMPROVED"]

    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait

    search = browser.find_element("id", "search")
    search.send_keys("outage")
    WebDriverWait(browser, 5).until(lambda d: len(rows(d)) == 1)  # the search waits for typing to pause
    assert rows(browser) == ["REGRESSED"]

    text = WebDriverWait(browser, 10).until(opened_detail)
    assert "urgent" in text
    assert "high" in text
    fits = browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the page scrolls sideways: the diff is wider than the page"
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report.png"))

    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    browser.find_element("css selector", 'button.chip[data-verdict="UNCHANGED"]').click()
    WebDriverWait(browser, 5).until(lambda d: len(rows(d)) == 19)
    browser.find_element("css selector", 'th[data-key="d"]').click()  # Δ, ascending: the worst change first
    first = browser.find_element("css selector", "#rows tr.item td.name").text
    assert first == "test_triage[export-crash]"
    assert browser.get_log("browser") == []


def opened_detail(browser: Any) -> str | None:
    """The text of the first row's side-by-side diff, the row opened first when it is not. Read in one call: on a
    loaded machine the table may still be drawn again after the search (its rows replaced), which leaves an
    element found before it stale."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return str(browser.find_element("css selector", "#rows tr.detail table.sbs").text)
    except StaleElementReferenceException:
        return None
    except NoSuchElementException:
        with contextlib.suppress(NoSuchElementException, StaleElementReferenceException):
            browser.find_element("css selector", "#rows tr.item").click()
        return None
