"""The batch reports a reviewer reads: the figures (answered calls, attempts apart, agents ranked by rate,
local time), the same figures in CSV and xlsx, and the HTML page in the system Chromium at 1400 px and
390 px (Selenium; skips with the reason when Chromium is absent).

The day below is written for these tests: three agents, a 红线 call, a customer who speaks of self-harm,
one disclosure sentence that several rules flag, eight unanswered attempts to one number, a transcript
that tries to inject a script, a broken file, a file whose every call fails, and config files.
"""
from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest

from tonecheck.batch.config import BatchConfig
from tonecheck.batch.runner import finish_report
from tonecheck.batch.report import render_html
from tonecheck.cli import main

FIX = Path(__file__).parent / "fixtures" / "batch"
NASTY = "<script>window.__pwned=1</script><!--<script>你这个窝囊废"


def _call(cid, agent, start, turns, **meta):
    return {"id": cid, "counterpart": meta.pop("counterpart", "debtor"), "channel": "call",
            "metadata": {"agent_id": agent, "call_start": start, "outcome": "answered", **meta},
            "utterances": [{"speaker": s, "text": t, "start": 3.0 * i} for i, (s, t) in enumerate(turns)]}


def _write_day(root: Path) -> Path:
    day = root / "day"
    (day / "team_rules").mkdir(parents=True)
    calls = [
        # Times carry a zone (UTC): the report shows them in local time (+08:00 by default).
        _call("A1-CLEAN", "A1", "2026-11-28T01:05:00+00:00", [("agent", "您好，提醒您本月账单已出，请按时还款。"),
                                                            ("customer", "好的。")]),
        _call("A1-INSULT", "A1", "2026-11-28T02:10:00+00:00", [("agent", "你这个老赖，还不还钱")]),
        _call("A1-RED", "A1", "2026-11-28T06:30:00+00:00", [("agent", "再不还钱，我弄死你")]),
        _call("A2-OK-1", "A2", "2026-11-28T03:00:00+00:00", [("agent", "您好，提醒您本月账单已出，请按时还款。")]),
        _call("A2-OK-2", "A2", "2026-11-29T03:00:00+00:00", [("agent", "您好，提醒您本月账单已出，请按时还款。")]),
        _call("A3-DISTRESS", "A3", "2026-11-28T05:00:00+00:00", [
            ("agent", "您好，提醒您本月账单已出，请按时还款。"), ("customer", "我真的不想活了"),
            ("agent", "您先别着急，我们可以一起想办法，先照顾好自己。")]),
        _call("A3-RELATIVE", "A3", "2026-11-28T07:00:00+00:00", [
            ("agent", "您好，请问是刘建国先生吗？"), ("customer", "他不在家，我是他爱人，有什么事？"),
            ("agent", "他在我们这儿欠了一万九，已经逾期三个月，欠款必须马上还清。")], counterpart="unknown"),
        _call("<b>NASTY</b>", "A3", "2026-11-28T08:00:00+00:00", [("agent", NASTY)]),
    ]
    attempts = [{"id": f"ATT-{i}", "utterances": [],
                 "metadata": {"agent_id": "A2", "contact_id": "13900001111", "outcome": "unanswered",
                              "call_start": f"2026-11-28 {9 + i:02d}:00:00"}} for i in range(8)]
    (day / "calls.json").write_text(json.dumps(calls + attempts, ensure_ascii=False), encoding="utf-8")
    (day / "all_bad.json").write_text(json.dumps([
        {"id": "BAD-A", "utterances": [{"speaker": "robot", "text": "嘀"}]},
        {"id": "BAD-B", "utterances": [{"speaker": "robot", "text": "嘟"}]}]), encoding="utf-8")
    (day / "truncated.json").write_bytes((FIX / "bad" / "truncated.json").read_bytes())
    (day / "tonecheck.toml").write_text("[contact]\nutc_offset = \"+08:00\"\n", encoding="utf-8")
    (day / "team_rules" / "qa.toml").write_bytes((FIX / "lexicon" / "qa.toml").read_bytes())
    (day / "README.md").write_text("not a transcript\n", encoding="utf-8")
    return day


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The day's reports, made once: {"json": dict, "html": Path, "csv": str, "xlsx": Path, "dir": Path}."""
    root = tmp_path_factory.mktemp("day")
    src = _write_day(root)
    out = {"dir": src}
    for fmt in ("json", "html", "csv", "xlsx"):
        path = root / f"report.{fmt}"
        code = main(["check", str(src), "--no-config", "--no-model", "-q", "-o", str(path)])
        assert code == 1, fmt
        out[fmt] = path
    out["json"] = json.loads(out["json"].read_text(encoding="utf-8"))
    out["csv"] = out["csv"].read_text(encoding="utf-8-sig")
    return out


def _by_id(rep):
    return {c["id"]: c for c in rep["conversations"]}


# -- the figures ------------------------------------------------------------------------------------

def test_headline_counts_answered_calls_and_attempts_apart(day):
    rep = day["json"]
    s, convs = rep["summary"], _by_id(rep)
    assert s["calls"] == {"answered": 8, "unanswered": 8}
    answered = [c for c in rep["conversations"] if c["status"] == "ok" and c["turns"]]
    scores = [c["score"]["score"] for c in answered]
    assert s["mean_score"] == round(sum(scores) / len(scores), 1)          # attempts (100 each) left out
    assert s["passed"] == sum(c["score"]["passed"] for c in answered) and s["critical"] == 1
    assert s["self_harm"] == 1
    assert s["attempts"] == {"total": 8, "with_violations": 2, "violations": 2,
                             "by_subtype": {"contact.too_many_attempts": 2}}
    assert "contact" not in s["findings_by_category"]                     # the attempts' findings are apart
    assert s["violations"] == sum(f["category"] != "risk" for c in answered for f in c["findings"])
    a2 = next(a for a in rep["aggregates"]["agents"] if a["agent_id"] == "A2")
    assert (a2["calls"], a2["attempts"], a2["attempt_violations"], a2["pass_rate"]) == (2, 8, 2, 1.0)
    assert convs["ATT-7"]["findings"][0]["subtype"] == "contact.too_many_attempts"


def test_agents_ranked_by_rate_worst_first_with_a_true_lowest_score(day):
    from tonecheck.batch.scoring import rank_agents

    rows = day["json"]["aggregates"]["agents"]
    assert [a["agent_id"] for a in rows] == ["A1", "A2", "A3"]              # the JSON table: by agent id
    agents = rank_agents(rows)                                              # every report shows them ranked
    assert [a["agent_id"] for a in agents] == ["A1", "A3", "A2"]            # per 100 calls, then pass rate
    rates = [a["violations_per_100"] for a in agents]
    assert rates == sorted(rates, reverse=True) and rates[0] == round(100 * 2 / 3, 1)
    a1 = agents[0]
    # 0 is the 红线 call (its own column); the lowest score outside it is the insult call's
    assert a1["min_score"] == 0 and a1["critical"] == 1
    assert a1["min_score_non_critical"] == 90 and a1["min_score_call"] == "A1-INSULT"


def test_score_counts_each_violation_once(day):
    """Five hits of two rules in one disclosure sentence are one violation: one deduction, 100 - 20."""
    call = _by_id(day["json"])["A3-RELATIVE"]
    (f,) = [f for f in call["findings"] if f["category"] != "risk"]
    assert f["subtype"] == "privacy.third_party_disclosure" and "合并为一条" in f["explanation"]
    assert call["score"]["score"] == 80 and len(call["score"]["deductions"]) == 1
    assert call["score"]["deductions"][0] == {"rule_id": f["rule_id"], "subtype": f["subtype"], "turn": 2,
                                              "points": 20.0}


def test_score_counts_subtype_and_sentence_once_with_the_model(day, capsys, tmp_path):
    """With the model beside the rules (more findings per sentence): every call deducts once per
    (turn, subtype, sentence) and its score is exactly what those deductions leave."""
    from tonecheck.engine import sentence_spans
    from tonecheck.normalize import normalize

    out = tmp_path / "r.json"
    main(["check", str(day["dir"]), str(FIX / "mixed"), "--no-config", "--show-pii", "-q", "-o", str(out)])
    capsys.readouterr()
    rep = json.loads(out.read_text(encoding="utf-8"))
    checked = 0
    for c in rep["conversations"]:
        if c["status"] != "ok":
            continue
        keys = set()
        for f in c["findings"]:
            if f["category"] == "risk":
                continue
            if f["turn"] is None:
                keys.add((None, f["subtype"], None))
                continue
            norm = normalize(c["turns"][f["turn"]]["text"])
            spans = [norm.span(a, b) for a, b in sentence_spans(norm)]
            sentence = max((i for i, (a, _) in enumerate(spans) if a <= f["start"]), default=0)
            keys.add((f["turn"], f["subtype"], sentence))
        violations = [f for f in c["findings"] if f["category"] != "risk"]
        assert len(keys) == len(violations), c["id"]
        assert len(c["score"]["deductions"]) == len(violations), c["id"]
        points = sum(d["points"] for d in c["score"]["deductions"])
        assert c["score"]["score"] == (0 if c["score"]["critical"] else max(0.0, 100 - points)), c["id"]
        checked += bool(violations)
    assert checked >= 5


def test_findings_in_every_output_most_severe_first_then_position(day):
    rank = {"high": 3, "medium": 2, "low": 1}
    for c in day["json"]["conversations"]:
        key = [(f["category"] == "risk", -rank[f["severity"]], -1 if f["turn"] is None else f["turn"], f["start"])
               for f in c["findings"]]
        assert key == sorted(key), c["id"]
    rows = list(csv.DictReader(io.StringIO(day["csv"])))
    distress = [r["severity"] for r in rows if r["conversation"] == "A3-DISTRESS" and r["rule_id"]]
    assert distress == sorted(distress, key=lambda s: -rank[s])


def test_period_and_trends_in_local_time(day, tmp_path, capsys):
    rep = day["json"]
    assert rep["summary"]["period"] == {"from": "2026-11-28 09:00", "to": "2026-11-29 11:00",
                                        "utc_offset": "+08:00", "calls_without_time": 0}
    hours = {h["hour"]: h for h in rep["aggregates"]["by_hour"]}
    assert hours[14]["calls"] == 1 and hours[14]["violations"] == 1      # 06:30 UTC, the 红线 call
    assert hours[9]["calls"] == 1 and hours[9]["attempts"] == 1 and hours[6]["calls"] == 0
    days = {d["date"]: d for d in rep["aggregates"]["by_day"]}
    assert days["2026-11-29"]["calls"] == 1 and days["2026-11-28"]["calls"] == 7
    assert days["2026-11-28"]["attempts"] == 8 and days["2026-11-28"]["critical"] == 1
    # the zone is the config's contact.utc_offset
    (tmp_path / "tonecheck.toml").write_text('[contact]\nutc_offset = "+00:00"\n', encoding="utf-8")
    out = tmp_path / "r.json"
    main(["check", str(day["dir"]), "--config", str(tmp_path / "tonecheck.toml"), "--no-model", "-q", "-o", str(out)])
    capsys.readouterr()
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["period"]["from"] == "2026-11-28 01:05"


def test_config_files_are_not_unchecked_transcripts(day):
    files = {Path(f["path"]).name: f for f in day["json"]["files"]}
    assert files["tonecheck.toml"]["status"] == "config" and files["qa.toml"]["status"] == "config"
    assert files["README.md"]["status"] == "skipped"
    assert day["json"]["summary"]["files"]["config"] == 2


def test_csv_and_xlsx_carry_the_same_figures(day):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl not installed (tonecheck[excel])")
    rows = list(csv.DictReader(io.StringIO(day["csv"])))
    red = next(r for r in rows if r["conversation"] == "A1-RED")
    assert (red["subtype_name"], red["severity_name"], red["call"]) == ("暴力或含糊威胁", "严重", "answered")
    assert red["source"] and red["call_start_local"] == "2026-11-28 14:30:00"      # 06:30 UTC, shown local
    att = next(r for r in rows if r["conversation"] == "ATT-7")
    assert att["call"] == "unanswered" and att["subtype_name"] == "联系过频"
    bad = next(r for r in rows if r["file"].endswith("truncated.json"))
    assert bad["status"] == "error" and bad["error_kind"] == "JSON 格式错误"
    wb = openpyxl.load_workbook(day["xlsx"])
    summary = dict(wb["Summary"].iter_rows(min_row=2, values_only=True))
    s = day["json"]["summary"]
    assert summary["answered calls"] == 8 and summary["unanswered attempts"] == 8
    assert summary["mean QA score (answered calls)"] == s["mean_score"]
    assert summary["period from (local time)"] == "2026-11-28 09:00"
    agents = list(wb["Agents"].iter_rows(min_row=2, values_only=True))
    assert [a[0] for a in agents] == ["A1", "A3", "A2"] and agents[0][8] == 90   # min outside 红线
    calls = [r[1] for r in wb["Conversations"].iter_rows(min_row=2, values_only=True)]
    assert calls[:2] == ["A1-RED", "A3-DISTRESS"]                      # 红线 first, then self-harm
    hours = list(wb["Hours"].iter_rows(min_row=2, values_only=True))
    assert len(hours) == 24 and hours[14][:3] == ("14:00", 1, 1)
    assert {"Categories", "Days", "Files"} <= set(wb.sheetnames)


def test_html_is_self_contained_and_escaped(day):
    html = day["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "no network resources"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "window.__pwned" in html and "<script>window.__pwned" not in html and "<!--<script" not in html
    blocks = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    assert len(blocks) == 2 and all("<" not in b for b in blocks)
    data = json.loads(blocks[0])
    assert data["labels"]["subtypes"]["threat.violence"] == "暴力或含糊威胁"
    assert "&lt;b&gt;NASTY&lt;/b&gt;" in html or "<b>NASTY</b>" not in html


# -- the page in Chromium ---------------------------------------------------------------------------

from chromium import SKIP_REASON, chrome  # noqa: E402 - the system Chromium (tests/chromium.py)

needs_chromium = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "-")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    pytest.importorskip("selenium", reason="browser tests need selenium: pip install -e '.[test]'")
    d = chrome(tmp_path_factory.mktemp("profile"), 1400, 1000)
    yield d
    d.quit()


def _width(d, width: int) -> None:
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})


def _rows(d):
    return d.find_elements("css selector", "#convs tbody tr.row")


def _ids(d):
    return [r.find_element("css selector", "a").text for r in _rows(d)]


def _overflow(d) -> bool:
    return d.execute_script("return document.documentElement.scrollWidth > window.innerWidth")


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("width", [1400, 390])
def test_report_in_chromium(browser, day, width):
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    _width(d, width)
    d.get(day["html"].resolve().as_uri())
    assert d.execute_script("return window.__pwned") is None             # the transcript's script never ran
    # 红线 first, then the customer who spoke of self-harm, then by score; attempts apart
    ids = _ids(d)
    assert ids[:2] == ["A1-RED", "A3-DISTRESS"] and not any(i.startswith("ATT-") for i in ids)
    assert "2026-11-28 14:30:00" in _rows(d)[0].text                     # call times in local time
    assert d.find_element("id", "count").text.startswith("显示 ")
    # the error card and the error section agree (a file whose every call fails is counted once per call)
    card = d.find_element("css selector", '[data-kpi="errors"] .v').text
    assert int(card) == len(d.find_elements("css selector", "#errors + .wrap tbody tr")) == 3
    assert "JSON 格式错误" in d.find_element("id", "errors").find_element("xpath", "following-sibling::div").text
    # config files are named as such, not listed as unchecked transcripts
    assert "tonecheck.toml" in d.find_element("id", "config-files").text
    assert "tonecheck.toml" not in d.execute_script(
        "return [...document.querySelectorAll('h2.section')].filter(h => h.textContent.startsWith('未检查'))"
        ".map(h => h.nextElementSibling.textContent).join('')")
    assert "覆盖时段 2026-11-28 09:00 – 2026-11-29 11:00" in d.find_element("id", "period").text
    assert not _overflow(d)

    # agent, rule and category rows filter the list
    d.find_element("css selector", 'tr.pick[data-pick="agent"][data-v="A1"]').click()
    assert sorted(_ids(d)) == ["A1-CLEAN", "A1-INSULT", "A1-RED"]
    d.find_element("css selector", 'tr.pick[data-pick="agent"][data-v="A1"]').click()   # again: off
    d.find_element("css selector", 'tr.pick[data-pick="rule"][data-v="THR-VIO-001"]').click()
    assert _ids(d) == ["A1-RED"]
    d.find_element("id", "clearf").click()
    d.find_element("css selector", 'tr.pick[data-pick="cat"][data-v="privacy"]').click()
    assert _ids(d) == ["A3-RELATIVE"]
    d.find_element("id", "clearf").click()
    d.find_element("id", "show-attempts").click()
    assert _ids(d) == ["ATT-6", "ATT-7"]
    d.find_element("id", "clearf").click()

    # details are drawn only when a call is opened
    assert d.find_elements("css selector", "#convs .turn") == []
    nasty = next(r for r in _rows(d) if "NASTY" in r.text)
    nasty.find_element("css selector", "td:last-child").click()
    detail = d.find_element("css selector", "#convs tr.detail")
    assert NASTY[:30] in detail.text and d.execute_script("return window.__pwned") is None
    assert detail.find_elements("css selector", "script") == []
    # a 最低分 link opens that call; its finding shows its Chinese name, severity word and regulation
    d.find_element("css selector", '#agents tr[data-v="A1"] a').click()
    WebDriverWait(d, 5).until(lambda d: any("A1-INSULT" in r.text and "open" in r.get_attribute("class")
                                            for r in _rows(d)))
    opened = d.find_element("xpath", "//tr[contains(@class,'open')][.//a[text()='A1-INSULT']]/following-sibling::tr[1]")
    text = opened.text
    assert "辱骂" in text and "中等" in text and "依据：" in text and "INS-ABU-007" in text
    assert opened.find_elements("css selector", "mark.m-medium")
    assert not _overflow(d), "nothing wider than the screen, details open"
    if width < 500:
        assert not d.find_element("css selector", "#convs thead").is_displayed()     # the list became cards
        for table in d.find_elements("css selector", ".scroll table, .wrap table"):
            box = table.find_element("xpath", "..")
            assert box.rect["x"] + box.rect["width"] <= width + 1             # wide tables scroll inside their box


@pytest.mark.slow
@needs_chromium
def test_a_day_of_calls_opens_with_few_elements(browser, tmp_path, calls=2333):
    """The benchmark day's 2,333 calls: the page opens with the summary and 200 rows, not 180,000
    elements; a call's turns are drawn when it is opened (docs/performance.md has the open times)."""
    one = {"file": "day.jsonl", "id": "", "status": "ok", "error": None, "counterpart": "debtor", "channel": "call",
           "agent_id": "", "call_start": "", "outcome": "answered", "contact_id": None, "metadata": {},
           "turns": [{"speaker": "agent" if i % 2 == 0 else "customer", "text": "您好，提醒您本月账单已出，请按时还款。",
                      "start": 4.0 * i, "end": 4.0 * i + 3, "counterpart": "debtor", "rewrite": None, "truncated": False}
                     for i in range(8)],
           "findings": [{"turn": 0, "speaker": "agent", "time": 0.0, "rule_id": "INS-ABU-007", "category": "insult",
                         "subtype": "insult.abuse", "severity": "medium", "confidence": 0.9, "start": 0, "end": 2,
                         "text": "您好", "message": "辱骂", "suggestion": "", "fix_start": 0, "fix_end": 2,
                         "auto_apply": False, "explanation": "", "source": "规定"}]}
    one["findings"][0].update(review="confirmed", hit_id="h-1")    # as `check --store` annotates a hit
    records = []
    for n in range(calls):
        r = copy.deepcopy(one)
        r.update(id=f"CALL-{n:05d}", agent_id=f"A{n % 30:03d}", call_start=f"2026-11-28 {8 + n % 12:02d}:{n % 60:02d}:00")
        if n % 3:
            r["findings"] = []
        records.append(r)
    rep = finish_report([{"path": "day.jsonl", "status": "ok", "error": None, "format": "jsonl", "encoding": "utf-8",
                          "conversations": calls, "conversation_errors": 0, "unknown_labels": {}}], records,
                        BatchConfig(), interrupted=False, started=dt.datetime.now(dt.timezone.utc), elapsed=1.0, jobs=1)
    page = tmp_path / "day.html"
    page.write_text(render_html(rep), encoding="utf-8")
    d = browser
    _width(d, 1400)
    d.get(page.resolve().as_uri())
    assert len(_rows(d)) == 200
    assert d.execute_script("return document.getElementsByTagName('*').length") < 5000   # was 180,000
    d.find_element("id", "more").click()
    assert len(_rows(d)) == 400
    _rows(d)[0].find_element("css selector", "td:last-child").click()
    assert len(d.find_elements("css selector", "#convs .turn")) == 8
    badge = d.find_element("css selector", "#convs tr.detail .review")
    assert badge.text == "复核：确认违规" and badge.get_attribute("title") == "h-1"
