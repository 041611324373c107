"""The draft pre-check page in a real browser (system Chromium, headless, driven by Selenium).

Needs: ``apt-get install -y chromium chromium-driver`` (Debian) and ``pip install -e '.[test,server]'``.
Skips, with the reason, when any of them is missing. Run just these tests with
``python3 -m pytest tests/test_browser_page.py -rs``. Set TONECHECK_SCREENSHOTS=DIR to keep screenshots.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

import tonecheck
from tonecheck.labels import in_display_order

pytest.importorskip("fastapi", reason="the page needs the service: pip install -e '.[server]'")
uvicorn = pytest.importorskip("uvicorn", reason="the page needs the service: pip install -e '.[server]'")
selenium = pytest.importorskip("selenium", reason="browser tests need selenium: pip install -e '.[test]'")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from chromium import CHROMEDRIVER, CHROMIUM, chrome  # noqa: E402 - the system Chromium (tests/chromium.py)
from tonecheck.server import Settings, create_app  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt-get install -y chromium chromium-driver)"),
    pytest.mark.skipif(CHROMEDRIVER is None, reason="no chromedriver (apt-get install -y chromium-driver)"),
]

# Obvious violations, in our own words: an insult, then a threat of violence.
DRAFT = "你个傻逼！赶紧还钱，再不还钱我弄死你"  # the insult its own sentence: its own fix (see the covered case below)
DRAFT_PHONE = "王先生，你个傻逼，欠的八千块今天必须还，不然我弄死你"
TIMEOUT = 10


@pytest.fixture(scope="module")
def base_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(settings=Settings()), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def driver(tmp_path):
    d = chrome(tmp_path / "profile", 1100, 900)
    yield d
    d.quit()


def _shot(d, tmp_path: Path, name: str) -> None:
    d.save_screenshot(str(tmp_path / f"{name}.png"))
    keep = os.environ.get("TONECHECK_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(Path(keep) / f"{name}.png"))


def _state(d) -> str:
    return d.find_element(By.ID, "status").get_attribute("data-state")


def _wait_state(d, state: str) -> None:
    WebDriverWait(d, TIMEOUT).until(lambda d: _state(d) == state and not _stale(d),
                                    f"status never became {state!r} (is {_state(d)!r})")


def _stale(d) -> bool:
    return "stale" in d.find_element(By.ID, "editor").get_attribute("class")


def _value(d) -> str:
    return d.find_element(By.ID, "draft").get_attribute("value")


def _count_checks(d) -> None:
    d.execute_script("""
        window.__checks = 0;
        const orig = window.fetch;
        window.fetch = function (url, opts) {
            // the checks of the draft as shown (not the page's third-party probe under an unknown listener)
            const shown = document.getElementById('counterpart').value;
            if (String(url).indexOf('/v1/check') >= 0 && JSON.parse(opts.body).counterpart === shown) window.__checks++;
            return orig.apply(this, arguments);
        };""")


def _external_requests(d, base_url: str) -> list[str]:
    urls = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if not u.startswith(base_url) and not u.startswith("data:")]


def test_type_highlight_hover_apply_until_clean(driver, base_url, tmp_path):
    d = driver
    d.get(base_url + "/")
    assert d.title.startswith("催收话术合规预检")
    assert _state(d) == "empty"
    _count_checks(d)
    ta = d.find_element(By.ID, "draft")
    ta.click()
    ta.send_keys(DRAFT)
    _wait_state(d, "violations")
    # Debounced: one answer for the whole burst of typing, not one per character.
    assert 1 <= d.execute_script("return window.__checks") < len(DRAFT) // 2

    expected = tonecheck.check(DRAFT)
    marks = d.find_elements(By.CSS_SELECTOR, "#backdrop mark")
    marked = "".join(m.text for m in marks)
    for f in expected.findings:
        assert f.text in marked
    items = d.find_elements(By.CSS_SELECTOR, "#findings li")
    # listed most severe first, then by position
    assert [li.get_attribute("data-subtype") for li in items] == [f.subtype for f in in_display_order(expected.findings)]
    assert f"发现 {len(expected.violations)} 处问题" in d.find_element(By.ID, "status").text
    _shot(d, tmp_path, "desktop-1-flagged")

    # Apply the insult's fix (delete it) from the list.
    insult = next(li for li in items if li.get_attribute("data-subtype").startswith("insult."))
    insult.find_element(By.CSS_SELECTOR, "button.apply").click()
    WebDriverWait(d, TIMEOUT).until(lambda d: _value(d) != DRAFT)
    assert _value(d) == "赶紧还钱，再不还钱我弄死你"
    _wait_state(d, "violations")
    left = tonecheck.check(_value(d))
    assert [li.get_attribute("data-subtype") for li in d.find_elements(By.CSS_SELECTOR, "#findings li")] == \
        [f.subtype for f in in_display_order(left.findings)]

    # Hover the remaining highlight: the message and the suggestion show up.
    mark = d.find_elements(By.CSS_SELECTOR, "#backdrop mark")[-1]
    r, tr = mark.rect, ta.rect
    ActionChains(d).move_to_element_with_offset(
        ta, int(r["x"] + r["width"] / 2 - tr["x"] - tr["width"] / 2),
        int(r["y"] + r["height"] / 2 - tr["y"] - tr["height"] / 2)).perform()
    tip = d.find_element(By.ID, "tip")
    WebDriverWait(d, TIMEOUT).until(lambda d: tip.is_displayed())
    f = left.findings[0]
    assert f.message[:10] in tip.text and f.suggestion[:10] in tip.text
    _shot(d, tmp_path, "desktop-2-hover")

    # Accept the suggestion from the tooltip: the draft becomes the rewrite. The listener is not verified
    # yet (the default): a rewrite that still speaks of the debt gets a warning, not a green light ...
    tip.find_element(By.CSS_SELECTOR, "button.apply").click()
    states_debt = any(f.subtype == "privacy.third_party_disclosure"
                      for f in tonecheck.check(left.rewrite, counterpart="third_party").findings)
    _wait_state(d, "unverified" if states_debt else "clean")
    assert _value(d) == left.rewrite
    assert tonecheck.check(_value(d)).is_clean
    assert d.find_elements(By.CSS_SELECTOR, "#backdrop mark") == []
    assert d.find_element(By.ID, "unverified").is_displayed() is states_debt
    # ... until the collector says the listener is the debtor.
    d.find_element(By.CSS_SELECTOR, "#counterpart option[value=debtor]").click()
    _wait_state(d, "clean")
    assert not d.find_element(By.ID, "unverified").is_displayed()
    assert "未发现问题" in d.find_element(By.ID, "status").text
    _shot(d, tmp_path, "desktop-3-clean")

    # Undo brings the previous draft (and its highlight) back.
    d.find_element(By.ID, "undo").click()
    _wait_state(d, "violations")
    assert _value(d) == "赶紧还钱，再不还钱我弄死你"
    assert _external_requests(d, base_url) == []


def test_phone_width_tap_and_apply_whole_rewrite(driver, base_url, tmp_path):
    d = driver
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    d.get(base_url + "/")
    # The debtor, SMS: the selectors are sent with the draft.
    d.find_element(By.CSS_SELECTOR, "#channel option[value=sms]").click()
    d.find_element(By.CSS_SELECTOR, "#counterpart option[value=debtor]").click()
    ta = d.find_element(By.ID, "draft")
    ta.click()
    ta.send_keys(DRAFT_PHONE)
    _wait_state(d, "violations")
    expected = tonecheck.check(DRAFT_PHONE, counterpart="debtor", channel="sms")
    assert d.find_element(By.ID, "rewrite-text").text == expected.rewrite
    # Nothing wider than the screen.
    assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert ta.rect["width"] <= 390

    # Tap inside the highlighted threat: its explanation opens without a mouse.
    threat = next(f for f in expected.findings if f.category == "threat")
    d.execute_script("arguments[0].focus(); arguments[0].setSelectionRange(arguments[1], arguments[1]);",
                     ta, threat.start + 1)
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", ta)
    tip = d.find_element(By.ID, "tip")
    WebDriverWait(d, TIMEOUT).until(lambda d: tip.is_displayed())
    assert threat.message[:10] in tip.text
    box = tip.rect
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    _shot(d, tmp_path, "phone-1-tap")

    d.find_element(By.ID, "apply-all").click()
    _wait_state(d, "clean")
    assert _value(d) == expected.rewrite
    assert d.find_element(By.ID, "rewrite-box").is_displayed() is False
    _shot(d, tmp_path, "phone-2-clean")


def test_openapi_page_renders_offline(driver, base_url):
    from tonecheck import server

    if not server._SWAGGER_DIR:
        pytest.skip("fastapi-offline not installed: /docs would load Swagger UI from a CDN")
    d = driver
    d.get(base_url + "/docs")
    WebDriverWait(d, TIMEOUT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
    paths = {e.text for e in d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/v1/check", "/v1/conversations", "/v1/rules"} <= paths
    assert _external_requests(d, base_url) == []


def test_offsets_survive_characters_outside_the_bmp(driver, base_url):
    # The service counts code points, JS strings count UTF-16 units: an emoji before the span
    # must not shift the highlight or the fix. (ChromeDriver cannot type emoji; set the value.)
    d = driver
    d.get(base_url + "/")
    _listener(d, "debtor")          # "赶紧还钱" is for the debtor's ears only
    text = "😀😀你个傻逼，赶紧还钱"
    ta = d.find_element(By.ID, "draft")
    d.execute_script("arguments[0].value = arguments[1];"
                     "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", ta, text)
    _wait_state(d, "violations")
    first = tonecheck.check(text, counterpart="debtor").findings[0]
    marks = d.find_elements(By.CSS_SELECTOR, "#backdrop mark")
    assert "".join(m.text for m in marks) == first.text
    d.find_element(By.CSS_SELECTOR, "#findings li button.apply").click()
    _wait_state(d, "clean")
    assert _value(d) == "😀😀，赶紧还钱"  # exactly the span removed, nothing around it


def _set_draft(d, text: str) -> None:
    ta = d.find_element(By.ID, "draft")
    d.execute_script("arguments[0].value = arguments[1];"
                     "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", ta, text)


def _listener(d, value: str) -> None:
    d.find_element(By.CSS_SELECTOR, f"#counterpart option[value={value}]").click()


def _flagged_draft_to_debtor(d, base_url: str, text: str) -> None:
    """The page with ``text`` checked for the debtor's ears, its findings listed."""
    d.get(base_url + "/")
    _listener(d, "debtor")
    _set_draft(d, text)
    _wait_state(d, "violations")


def _list(d):
    return d.find_elements(By.CSS_SELECTOR, "#findings li")


def _alt(d, key) -> None:
    from selenium.webdriver.common.keys import Keys

    ActionChains(d).key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT).perform()


def test_findings_by_severity_with_names_sources_and_keyboard(driver, base_url):
    from selenium.webdriver.common.keys import Keys

    d = driver
    text = "卧槽，这都第几回了。再不还钱，我弄死你"
    _flagged_draft_to_debtor(d, base_url, text)
    res = tonecheck.check(text, counterpart="debtor")
    order = in_display_order(res.findings)
    assert {f.severity.value for f in order} >= {"high", "low"}
    items = _list(d)
    assert [li.get_attribute("data-subtype") for li in items] == [f.subtype for f in order]
    names = tonecheck.default_checker().lexicon.subtypes
    for li, f in zip(items, order):          # the one table's Chinese name, the severity word, the regulation
        assert names[f.subtype].name in li.text and {"high": "严重", "low": "轻微"}.get(f.severity.value, "") in li.text
        assert ("依据：" + f.source) in li.text if f.source else "依据" not in li.text

    # Alt+Down / Alt+Up from the draft move between findings; plain arrows within the list; Escape goes back
    # to the draft with the span selected; Enter applies the finding's fix.
    d.find_element(By.ID, "draft").click()
    _alt(d, Keys.ARROW_DOWN)
    assert d.switch_to.active_element.get_attribute("data-index") == items[0].get_attribute("data-index")
    _alt(d, Keys.ARROW_DOWN)
    assert d.switch_to.active_element.get_attribute("data-index") == items[1].get_attribute("data-index")
    assert "active" in items[1].get_attribute("class")
    d.switch_to.active_element.send_keys(Keys.ARROW_UP)
    assert d.switch_to.active_element.get_attribute("data-index") == items[0].get_attribute("data-index")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    first = order[0]
    assert d.execute_script("var t = document.activeElement; return [t.id, t.selectionStart, t.selectionEnd]") == \
        ["draft", first.start, first.end]
    _alt(d, Keys.ARROW_DOWN)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(d, TIMEOUT).until(lambda d: _value(d) != text)
    assert _value(d) == text[:first.fix_start] + first.suggestion + text[first.fix_end:]


def test_unverified_listener_and_debt_facts_warn_at_phone_width(driver, base_url, tmp_path):
    d = driver
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    d.get(base_url + "/")
    assert d.find_element(By.ID, "counterpart").get_attribute("value") == "unknown"     # the default
    text = "您在我行的信用卡欠款三千元已经逾期两个月了，请尽快还款。"
    disclosed = [f.text for f in tonecheck.check(text, counterpart="third_party").findings
                 if f.subtype == "privacy.third_party_disclosure"]
    assert disclosed, "the draft states debt facts"
    _set_draft(d, text)
    _wait_state(d, "violations" if tonecheck.check(text).violations else "unverified")
    box = d.find_element(By.ID, "unverified")
    assert box.is_displayed() and "尚未核实对方身份" in box.text and disclosed[0][:6] in box.text
    assert not d.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
    _shot(d, tmp_path, "phone-unverified")
    # the debtor may hear it: no identity warning
    _listener(d, "debtor")
    WebDriverWait(d, TIMEOUT).until(lambda d: not box.is_displayed())
    # a greeting states no debt fact: a green light even before the identity is checked
    _listener(d, "unknown")
    hello = "您好，请问是王先生本人吗？"
    assert tonecheck.check(hello).is_clean and not tonecheck.check(hello, counterpart="third_party").findings
    _set_draft(d, hello)
    _wait_state(d, "clean")
    assert not box.is_displayed()


def test_false_positive_dismissed_recorded_masked_and_exported(driver, base_url):
    import json

    d = driver
    text = "你个傻逼，回我电话13812345678。"
    _flagged_draft_to_debtor(d, base_url, text)
    insult = next(li for li in _list(d) if li.get_attribute("data-subtype").startswith("insult."))
    idx = insult.get_attribute("data-index")
    f = tonecheck.check(text, counterpart="debtor").findings[int(idx)]
    insult.find_element(By.CSS_SELECTOR, "button.fp-btn").click()
    # hidden from the list and the highlights, kept under 已标为误报
    assert idx not in [li.get_attribute("data-index") for li in _list(d)]
    assert all(idx not in m.get_attribute("data-f").split(",") for m in d.find_elements(By.CSS_SELECTOR, "#backdrop mark"))
    assert "已标为误报（1）" in d.find_element(By.ID, "dismissed-title").get_attribute("textContent")
    # recorded in this browser, identifiers masked by the service's one masking function
    WebDriverWait(d, TIMEOUT).until(lambda d: d.find_element(By.ID, "fp-box").is_displayed())
    (kept,) = json.loads(d.execute_script("return localStorage.getItem('tonecheck.falsePositives')"))
    assert (kept["rule_id"], kept["subtype"], kept["span"], kept["counterpart"]) == (f.rule_id, f.subtype, f.text, "debtor")
    assert "13812345678" not in json.dumps(kept, ensure_ascii=False) and "5678" in kept["sentence"]
    # exported as JSON for the rule authors
    d.execute_script("""
        const make = URL.createObjectURL;
        URL.createObjectURL = function (b) { window.__blob = b; return make.call(URL, b); };
        HTMLAnchorElement.prototype.click = function () { window.__download = this.download; };""")
    d.find_element(By.ID, "fp-export").click()
    doc = json.loads(d.execute_async_script("window.__blob.text().then(arguments[0])"))
    assert doc["schema"] == "tonecheck.false_positives/1" and doc["count"] == 1 and doc["reports"] == [kept]
    assert d.execute_script("return window.__download").endswith(".json")
    # the mark can be taken back
    d.find_element(By.ID, "dismissed-title").click()
    d.find_element(By.CSS_SELECTOR, "#dismissed button.fp-undo").click()
    assert idx in [li.get_attribute("data-index") for li in _list(d)]
