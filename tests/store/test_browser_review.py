"""The review page in the system Chromium (Selenium): a reviewer confirms and rejects by keyboard,
an agent sees only their own calls and appeals a confirmed hit, the lead overturns the appeal.
Skips, with the reason, without Chromium and chromedriver (apt-get install -y chromium chromium-driver)."""
from __future__ import annotations

import copy
import threading
import time

import pytest
import sqlalchemy as sa

pytest.importorskip("fastapi", reason="the page needs the service: pip install -e '.[test]'")
uvicorn = pytest.importorskip("uvicorn", reason="the page needs the service: pip install -e '.[test]'")
pytest.importorskip("selenium", reason="browser tests need selenium: pip install -e '.[test]'")

from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402
from test_browser_page import CHROMEDRIVER, CHROMIUM, driver  # noqa: E402,F401 - the project's driver

from tonecheck.server import Settings, create_app  # noqa: E402
from tonecheck.store import schema as t  # noqa: E402
from tonecheck.store.runs import begin_run, store_report  # noqa: E402
from tonecheck.store.users import add_user  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt-get install -y chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="no chromedriver (apt-get install -y chromium-driver)"),
]
TIMEOUT = 10


@pytest.fixture
def site(sqlite_url, examples_report, checker):
    from tonecheck.store import open_store

    store = open_store(sqlite_url)
    store_report(store, begin_run(store, ["x"], "test"), copy.deepcopy(examples_report), actor="test")
    keys = {name: add_user(store, name, role, agent_id=agent)
            for name, role, agent in (("rev", "reviewer", None), ("lead", "lead", None), ("a17", "agent", "A017"))}
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(checker=checker, settings=Settings(), store=store),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store, keys
    server.should_exit = True
    thread.join(10)
    store.dispose()


def _wait(d):
    """Waits that survive the list being re-rendered under them."""
    return WebDriverWait(d, TIMEOUT, ignored_exceptions=(StaleElementReferenceException,))


def _login(d, base, key):
    d.get(base + "/review")
    box = d.find_element(By.ID, "key-input")
    box.send_keys(key, Keys.ENTER)
    _wait(d).until(lambda d: d.find_element(By.ID, "app").is_displayed())
    _wait(d).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#list-body tr"))


def _keys(d, *keys):
    d.find_element(By.TAG_NAME, "body").send_keys(*keys)


def _status(d, text):
    _wait(d).until(lambda d: text in d.find_element(By.ID, "status-line").text,
                                    f"status line never said {text!r}")


def _shown_hit(d):
    return d.find_element(By.ID, "detail-body").get_attribute("data-hit")


def _hit(store, hit_id):
    with store.read() as conn:
        return conn.execute(sa.select(t.hits).where(t.hits.c.hit_id == hit_id)).one()


def test_review_confirm_reject_appeal_and_decision(driver, site):
    base, store, keys = site
    d = driver
    # -- reviewer: only A017's hits, claimed worst first with N, confirmed with C, then a comment and R
    _login(d, base, keys["rev"])
    Select(d.find_element(By.ID, "f-agent")).select_by_value("A017")
    _wait(d).until(lambda d: all("A017" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#list-body tr")))
    first_row = d.find_element(By.CSS_SELECTOR, "#list-body tr").get_attribute("data-hit")
    _keys(d, "n")
    _wait(d).until(lambda d: _shown_hit(d) == first_row)
    span = d.find_element(By.CSS_SELECTOR, "mark.hit-span").text
    assert span and span == _hit(store, first_row).text
    assert d.find_element(By.ID, "d-message").text and d.find_element(By.ID, "d-source").text
    _keys(d, "c")
    confirmed = first_row
    _wait(d).until(lambda d: _shown_hit(d) != confirmed)   # the next hit is claimed right after the verdict
    assert _hit(store, confirmed).status == "confirmed"
    second = _shown_hit(d)
    assert _hit(store, second).claimed_by is not None
    _keys(d, "/")
    d.switch_to.active_element.send_keys("上下文是客户原话", Keys.ESCAPE)
    _keys(d, "r")
    _wait(d).until(lambda d: _hit(store, second).status == "rejected")
    with store.read() as conn:
        comment = conn.execute(sa.select(t.verdicts.c.comment).where(t.verdicts.c.hit_id == second)).scalar_one()
    assert comment == "上下文是客户原话"
    d.find_element(By.ID, "logout").click()

    # -- agent: no queue, only their own calls; appeals the confirmed hit
    _login(d, base, keys["a17"])
    assert not d.find_element(By.ID, "tab-queue").is_displayed()
    rows = d.find_elements(By.CSS_SELECTOR, "#list-body tr")
    assert rows and all("A017" in r.text for r in rows)
    with store.read() as conn:
        others = [r[0] for r in conn.execute(sa.select(t.conversations.c.conv_key)
                                             .where(t.conversations.c.agent_id != "A017"))]
    assert not any(k in d.page_source for k in others)
    d.find_element(By.CSS_SELECTOR, f'#list-body tr[data-hit="{confirmed}"]').click()
    _wait(d).until(lambda d: d.find_element(By.ID, "appeal-box").is_displayed())
    assert not d.find_element(By.ID, "verdict-box").is_displayed()
    d.find_element(By.ID, "appeal-reason").send_keys("客户先提到的，我只是复述")
    d.find_element(By.ID, "btn-appeal").click()
    _status(d, "申诉已提交")
    assert _hit(store, confirmed).appeal == "open"
    d.find_element(By.ID, "logout").click()

    # -- lead: the appeals tab, overturn with O
    _login(d, base, keys["lead"])
    d.find_element(By.ID, "tab-appeals").click()
    _wait(d).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#list-body tr[data-hit="{confirmed}"]'))
    d.find_element(By.CSS_SELECTOR, f'#list-body tr[data-hit="{confirmed}"]').click()
    _wait(d).until(lambda d: d.find_element(By.ID, "decision-box").is_displayed())
    assert "复述" in d.find_element(By.ID, "d-appeal-reason").text
    _keys(d, "o")
    _status(d, "申诉成立")
    h = _hit(store, confirmed)
    assert (h.status, h.appeal) == ("rejected", "overturned")
