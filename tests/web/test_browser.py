"""The web app in real headless Chromium (issue 18), as a firm's people use it: log in,
add a connection, connect eEkonomi through the sandbox's consent pages, pick the
settings, press "Transfer customers", watch the progress bar fill and the status line
appear, open the error list and retry an entry. A screenshot of each page goes to
tests/output/web/ (gitignored).

Driver: Selenium with Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them); without them these tests skip, saying so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, WebApp

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
OUTPUT = ROOT / "tests" / "output" / "web"


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"browser tests need Debian's chromium and chromium-driver: {missing} "
                    "missing (`apt-get install chromium chromium-driver`)")  # fmt: skip
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("browser tests need selenium (requirements-dev.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1600", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))


def _wait(condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None  # the page is being replaced: look again
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _by(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def _settings(driver: Any) -> None:
    """Choose the demo settings from the lists read from the live APIs."""
    from selenium.webdriver.support.ui import Select

    def pick(name: str, text_prefix: str) -> None:
        select = Select(_by(driver, f"#s-{name}"))
        match = [o for o in select.options if o.text.startswith(text_prefix)]
        assert match, f"{name}: no option {text_prefix!r} in {[o.text for o in select.options]}"
        select.select_by_visible_text(match[0].text)

    chosen = {
        "customers_master": "Severa", "products_master": "Severa", "cost_center_id": "Projekt",
        "supplier_invoices_billable": "price = cost", "status_to_transfer": "Att överföra",
        "status_transferred": "Överförd", "status_sent": "Skickad", "status_paid": "Betald",
    }  # fmt: skip
    for name, text in chosen.items():
        pick(name, text)
    articles = Select(_by(driver, "#s-default_article_number"))
    articles.select_by_value("ALLM")


def _log_in_and_add(driver: Any, url: str, operator: str) -> str:
    """Log in as the operator and add a connection; its id."""
    driver.get(url + "/")
    assert "/login" in driver.current_url
    _by(driver, "#email").send_keys(operator)
    _by(driver, "#password").send_keys(PASSWORD)
    _shot(driver, "01-login")
    _by(driver, "#login").click()
    _wait(lambda: _by(driver, "h1").text == "Connections", what="the connections list")
    _shot(driver, "02-connections")
    new = f"t-w{uuid.uuid4().hex[:8]}"
    _by(driver, "#connection_id").send_keys(new)
    _by(driver, "#shared_severa").click()
    _by(driver, "#add").click()
    _wait(lambda: driver.current_url.endswith(f"/connections/{new}"), what="the new connection")
    assert "needs authorization" in _by(driver, "#state").text
    _shot(driver, "03-connection-new")
    return new


def _connect_eekonomi(driver: Any, connection_id: str) -> None:
    """Press Connect eEkonomi and answer the sandbox's consent pages as its demo user."""
    from selenium.webdriver.common.by import By

    _by(driver, "#connect-eekonomi").click()  # → the sandbox's consent pages
    _wait(lambda: "/connect/" in driver.current_url, what="the consent login page")
    _by(driver, "#email").send_keys("demo@example.com")
    _by(driver, "#password").send_keys("demo")
    _shot(driver, "04-eekonomi-login")
    _by(driver, "button[type=submit]").click()

    def company_label() -> list[Any]:
        labels = driver.find_elements(By.CSS_SELECTOR, "label")
        return [e for e in labels if e.text.startswith("Demokonsult AB")]

    _wait(company_label, what="the company picker")[0].click()
    _shot(driver, "05-eekonomi-company")
    _by(driver, "button[value=allow]").click()
    _wait(lambda: driver.current_url.endswith(f"/connections/{connection_id}"),
          what="the callback")  # fmt: skip
    assert "Connected to eEkonomi company Demokonsult AB" in driver.page_source
    assert "Demokonsult AB" in _by(driver, "#eekonomi-company").text
    assert _by(driver, "#state").text == "active"


def _transfer_customers(driver: Any) -> None:
    """Press Transfer customers; the bar fills and the status line (R-4.2) appears."""
    _by(driver, "#transfer-customers").click()
    _wait(lambda: "run=" in driver.current_url, what="the started transfer")

    def finished() -> Any:
        line = _by(driver, "#status-customers")
        return line if line.get_attribute("data-status") == "finished" else None

    status = _wait(finished, 120, "the run's end")
    bar = _by(driver, "#progress-customers")
    assert bar.is_displayed()
    assert int(bar.get_attribute("value")) == int(bar.get_attribute("max")) > 1
    assert "finished: customers:" in status.text
    assert " created, " in status.text
    driver.execute_script("arguments[0].scrollIntoView()", _by(driver, "#transfers"))
    _shot(driver, "07-transfer-finished")


def test_log_in_connect_configure_transfer_and_retry_in_chromium(
    browser: Any, web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    new = _log_in_and_add(driver, web_app.url, make_user("operator"))
    _connect_eekonomi(driver, new)
    _settings(driver)
    _shot(driver, "06-settings")
    _by(driver, "#save-settings").click()
    _wait(lambda: "Settings saved." in driver.page_source, what="the settings saved")
    _transfer_customers(driver)

    _by(driver, "#errors-link").click()
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.entry")
    assert rows, "the demo data has customers that cannot transfer"
    _shot(driver, "08-errors")
    key = rows[0].get_attribute("data-key")
    rows[0].find_element(By.CSS_SELECTOR, "button.retry").click()
    _wait(lambda: "Retried 1 record(s)" in driver.page_source, what="the retry's answer")
    assert key in driver.page_source  # still bad data: listed again, with its count raised
    _shot(driver, "09-errors-retried")

    driver.get(f"{web_app.url}/connections/{new}/runs")
    assert "finished" in _by(driver, "#runs-customers").text
    assert driver.find_elements(By.CSS_SELECTOR, "a.flower")  # the operator's Flower link
    _shot(driver, "10-runs")
    assert len(list(OUTPUT.glob("*.png"))) >= 10
