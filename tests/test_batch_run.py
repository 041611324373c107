"""The batch run end to end: nothing lost, exit codes, parallel = serial, contact policy,
scores, masking in every format, Ctrl-C leaves a valid partial report."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tonecheck.batch import runner
from tonecheck.batch.config import ScoringConfig
from tonecheck.batch.scoring import score_findings
from tonecheck.cli import main
from tonecheck.models import Finding

FIX = Path(__file__).parent / "fixtures" / "batch"
LEX = FIX / "lexicon"
ID_NUMBER = "110105199003071239"
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _no_cwd_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys, tmp_path, *paths, extra=()):
    out = tmp_path / "report.json"
    code, _, err = run(capsys, "check", *paths, "--lexicon", LEX, "-o", out, "--jobs", "1", *extra)
    return code, json.loads(out.read_text(encoding="utf-8")), err


def test_nothing_is_lost_in_a_mixed_directory(capsys, tmp_path):
    code, rep, err = check_json(capsys, tmp_path, FIX / "mixed", FIX / "bad")
    files = {Path(f["path"]).name: f for f in rep["files"]}
    on_disk = {p.name for p in (FIX / "mixed").rglob("*") if p.is_file()} | {p.name for p in (FIX / "bad").iterdir()}
    assert set(files) == on_disk
    assert files["README.md"]["status"] == "skipped"
    for name in ("truncated.json", "binary.txt", "latin1.csv", "not_really.xlsx", "empty.txt"):
        assert files[name]["status"] == "error" and files[name]["error"]
    assert files["export_gbk.csv"]["encoding"] == "gb18030" and files["asr_0001.srt"]["format"] == "srt"
    ids = {c["id"]: c for c in rep["conversations"]}
    assert {"CALL-20261128-0001", "R-0902", "CC-7781", "T-1", "asr_0001", "visit_gb18030", "OK-1"} <= set(ids)
    assert ids["BAD-1"]["status"] == "error" and ids["BAD-2"]["status"] == "error"
    assert all(c["status"] in ("ok", "error") for c in rep["conversations"])
    s = rep["summary"]
    assert s["files"]["error"] == 6 and s["conversations"]["error"] == 3 and not rep["partial"]
    assert s["unknown_speaker_labels"] == {"robot": 1, "主叫": 1}
    assert code == 1                    # some bad files: the exit code follows the findings
    assert "errors (8)" in err and "truncated.json" in err
    # obvious violations are flagged and scored
    assert any(f["rule_id"] == "QA-THR-001" for f in ids["CC-7781"]["findings"])
    assert ids["CC-7781"]["score"]["critical"] and ids["CC-7781"]["score"]["score"] == 0
    assert ids["R-0902"]["score"]["score"] < 100


def test_all_inputs_failing_exits_2_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "check", FIX / "bad" / "truncated.json", FIX / "bad" / "binary.txt")
    assert code == 2 and "every input failed" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "check", tmp_path / "nope")
    assert code == 2 and "nope" in err


def test_clean_batch_exits_0_and_fail_on(capsys, tmp_path):
    p = tmp_path / "ok.txt"
    p.write_text("坐席：您好，提醒您本月20号还款。\n客户：好的。\n", encoding="utf-8")
    code, _, _ = run(capsys, "check", p, "-q")
    assert code == 0
    q = tmp_path / "bad.txt"
    q.write_text("坐席：你这个窝囊废\n", encoding="utf-8")      # medium in the fixture lexicon
    assert run(capsys, "check", p, q, "--lexicon", LEX, "-q")[0] == 1
    assert run(capsys, "check", p, q, "--lexicon", LEX, "-q", "--fail-on", "high")[0] == 0
    r = tmp_path / "risk.txt"
    r.write_text("坐席：您好\n客户：你们这样我要去投诉\n", encoding="utf-8")
    assert run(capsys, "check", r, "--lexicon", LEX, "-q")[0] == 0   # risk never fails a run


def test_two_jobs_give_the_same_report_as_one(capsys, tmp_path):
    _, one, _ = check_json(capsys, tmp_path, FIX / "mixed", FIX / "bad")
    _, two, _ = check_json(capsys, tmp_path, FIX / "mixed", FIX / "bad", extra=("--jobs", "2"))
    def strip(rep):
        return [(f["path"], f["status"]) for f in rep["files"]], rep["conversations"], rep["aggregates"]

    assert strip(one) == strip(two) and two["summary"]["jobs"] == 2


def test_big_files_split_across_workers_give_the_same_report(capsys, tmp_path, monkeypatch):
    _, one, _ = check_json(capsys, tmp_path, FIX / "mixed", FIX / "bad")
    monkeypatch.setattr(runner, "SPLIT_BYTES", 1)          # every file is "big": one part per worker
    _, two, _ = check_json(capsys, tmp_path, FIX / "mixed", FIX / "bad", extra=("--jobs", "2"))
    assert [(f["path"], f["status"], f["conversations"]) for f in one["files"]] == \
        [(f["path"], f["status"], f["conversations"]) for f in two["files"]]
    assert one["conversations"] == two["conversations"] and one["aggregates"] == two["aggregates"]


def _attempts(path: Path, n: int, contact: str = PHONE, night: bool = False) -> None:
    rows = [{"id": f"ATT-{i}", "agent_id": "A1", "contact_id": contact, "outcome": "unanswered",
             "call_start": f"2026-11-28 {9 + i}:00:00", "utterances": []} for i in range(n)]
    rows.append({"id": "LATE", "agent_id": "A2", "contact_id": "13900000000", "outcome": "answered",
                 "call_start": "2026-11-28 22:30:00" if night else "2026-11-28 20:30:00",
                 "utterances": [{"speaker": "agent", "text": "您好，提醒您还款。"}]})
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")


def test_contact_policy_from_metadata(capsys, tmp_path):
    p = tmp_path / "attempts.jsonl"
    _attempts(p, 8, night=True)
    code, rep, _ = check_json(capsys, tmp_path, p)
    by_id = {c["id"]: c for c in rep["conversations"]}
    too_many = [c["id"] for c in rep["conversations"]
                if any(f["subtype"] == "contact.too_many_attempts" for f in c["findings"])]
    assert too_many == ["ATT-6", "ATT-7"]                       # the 7th and 8th attempt of the day
    assert [f["subtype"] for f in by_id["LATE"]["findings"]] == ["contact.night_call"]
    # headline figures count the answered call; the attempts' findings are counted apart
    assert rep["summary"]["findings_by_category"]["contact"] == 1 and code == 1
    assert rep["summary"]["calls"] == {"answered": 1, "unanswered": 8}
    assert rep["summary"]["attempts"] == {"total": 8, "with_violations": 2, "violations": 2,
                                          "by_subtype": {"contact.too_many_attempts": 2}}
    # the limits are configuration
    (tmp_path / "tonecheck.toml").write_text('[contact]\nmax_unanswered_per_day = 3\nnight_start = "23:00"\n',
                                             encoding="utf-8")
    code, rep, _ = check_json(capsys, tmp_path, p)
    assert "contact" not in rep["summary"]["findings_by_category"] and rep["summary"]["attempts"]["violations"] == 5
    (tmp_path / "tonecheck.toml").write_text('disable = ["contact"]\n', encoding="utf-8")
    code, rep, _ = check_json(capsys, tmp_path, p)
    assert "contact" not in rep["summary"]["findings_by_category"] and code == 0


def test_contact_policy_counts_per_contact_and_day(capsys, tmp_path):
    p = tmp_path / "a.jsonl"
    _attempts(p, 6)
    q = tmp_path / "b.jsonl"
    _attempts(q, 6, contact="13700000000")
    _, rep, _ = check_json(capsys, tmp_path, p, q)
    assert "contact" not in rep["summary"]["findings_by_category"]


def _f(rule_id, subtype, severity, category=None):
    return Finding(rule_id=rule_id, category=category or subtype.split(".")[0], subtype=subtype, severity=severity,
                   confidence=0.9, start=0, end=1, text="x", message="m", fix_start=0, fix_end=1)


def test_score_scheme():
    cfg = ScoringConfig()
    assert score_findings([], cfg).score == 100
    s = score_findings([_f("I-1", "insult.abuse", "medium"), _f("P-1", "insult.profanity", "low")], cfg)
    assert s.score == 85 and s.passed and not s.critical
    s = score_findings([_f("T-1", "threat.violence", "high")], cfg)
    assert s.score == 0 and s.critical and not s.passed
    assert score_findings([_f("R-1", "risk.complaint", "medium")], cfg).score == 100
    cfg = ScoringConfig(rules={"insult": 30, "insult.abuse": 50, "I-1": 7}, critical=[])
    assert score_findings([_f("I-1", "insult.abuse", "medium")], cfg).score == 93        # most specific wins
    assert score_findings([_f("I-2", "insult.abuse", "medium")], cfg).score == 50
    assert score_findings([_f("I-3", "insult.demeaning", "medium")] * 5, cfg).score == 0  # floor at 0


def test_aggregates_per_agent_and_rule(capsys, tmp_path):
    _, rep, _ = check_json(capsys, tmp_path, FIX / "mixed")
    agents = {a["agent_id"]: a for a in rep["aggregates"]["agents"]}
    assert agents["B102"]["conversations"] == 2 and agents["B102"]["critical"] == 1
    assert agents["B102"]["mean_score"] == 50.0
    rules = {r["rule_id"]: r for r in rep["aggregates"]["rules"]}
    assert rules["QA-THR-001"]["hits"] == 1 and 0 < rules["QA-THR-001"]["rate"] <= 1


def _pii_file(tmp_path: Path) -> Path:
    p = tmp_path / "pii.json"
    p.write_text(json.dumps({"id": "PII-1", "metadata": {"agent_id": "A1", "contact_id": PHONE},
                             "utterances": [{"speaker": "agent", "text": f"您的身份证号是{ID_NUMBER}，对吧？"},
                                            {"speaker": "customer", "text": f"对，我电话{PHONE}"}]},
                            ensure_ascii=False), encoding="utf-8")
    return p


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "html", "text"])
def test_identifiers_are_masked_in_every_format(capsys, tmp_path, fmt):
    p = _pii_file(tmp_path)
    out = tmp_path / f"r.{fmt}"
    code, stdout, err = run(capsys, "check", p, "--format", fmt, "-o", out)
    body = out.read_text(encoding="utf-8-sig") + stdout + err
    assert ID_NUMBER not in body and PHONE not in body
    if fmt == "csv":      # one row per finding: the turn text is only there as a finding's span
        return
    assert "1239" in body and "5678" in body      # masked, tails kept
    run(capsys, "check", p, "--format", fmt, "-o", out, "--show-pii")
    assert ID_NUMBER in out.read_text(encoding="utf-8-sig")


def test_csv_one_row_per_finding(capsys, tmp_path):
    out = tmp_path / "r.csv"
    run(capsys, "check", FIX / "mixed", FIX / "bad" / "truncated.json", "--lexicon", LEX, "-o", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {"conversation", "turn", "speaker", "time", "rule_id", "category", "severity", "span", "message",
            "suggestion"} <= set(rows[0])
    thr = [r for r in rows if r["rule_id"] == "QA-THR-001"]
    assert len(thr) == 1 and thr[0]["conversation"] == "CC-7781" and thr[0]["span"] == "打断你的腿"
    assert thr[0]["time"] == "00:08" and thr[0]["suggestion"]
    assert any(r["conversation"] == "CALL-20261128-0002" and not r["rule_id"] for r in rows)  # clean ones kept
    assert any(r["file"].endswith("truncated.json") and r["status"] == "error" for r in rows)


def test_xlsx_has_findings_and_agent_sheets(capsys, tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl not installed (tonecheck[excel])")
    out = tmp_path / "r.xlsx"
    code, _, _ = run(capsys, "check", FIX / "mixed", "--lexicon", LEX, "-o", out)
    wb = openpyxl.load_workbook(out)
    assert {"Summary", "Findings", "Conversations", "Agents", "Rules", "Files"} <= set(wb.sheetnames)
    agents = [r[0] for r in wb["Agents"].iter_rows(min_row=2, values_only=True)]
    assert "B102" in agents
    header = [c.value for c in wb["Findings"][1]]
    assert "rule_id" in header and wb["Findings"].max_row > 2
    code, _, err = run(capsys, "check", FIX / "mixed", "--format", "xlsx")
    assert code == 2 and "-o" in err


def test_jsonl_ends_with_summary(capsys, tmp_path):
    out = tmp_path / "r.jsonl"
    run(capsys, "check", FIX / "mixed", "-o", out)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[-1]["type"] == "summary" and lines[-1]["partial"] is False
    assert {x["type"] for x in lines} == {"file", "conversation", "summary"}


def test_interrupt_leaves_a_valid_partial_report(capsys, tmp_path, monkeypatch):
    real = runner._safe_process
    calls = {"n": 0}

    def flaky(entry):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(entry)

    monkeypatch.setattr(runner, "_safe_process", flaky)
    for fmt in ("json", "jsonl", "html", "csv"):
        calls["n"] = 0
        out = tmp_path / f"partial.{fmt}"
        code, _, err = run(capsys, "check", FIX / "mixed", "--jobs", "1", "-o", out)
        assert code == 130 and "partial" in err
        text = out.read_text(encoding="utf-8-sig")
        if fmt == "json":
            rep = json.loads(text)
            assert rep["partial"] is True
            statuses = [f["status"] for f in rep["files"]]
            assert statuses.count("not_processed") >= 1 and "ok" in statuses
        elif fmt == "jsonl":
            assert json.loads(text.splitlines()[-1])["partial"] is True
        elif fmt == "html":
            assert "报告不完整" in text and text.rstrip().endswith("</html>")
        else:
            assert "PARTIAL" in text


def test_stdin_still_works(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("坐席：您好\n客户：嗯\n坐席：你这个窝囊废\n"))
    code = main(["check", "-", "--lexicon", str(LEX)])
    out, _ = capsys.readouterr()
    assert code == 1 and re.search(r"【[^】]*窝囊废[^】]*】", out)


@pytest.mark.slow
@pytest.mark.parametrize("delay,second", [(1.5, None), (3.0, None), (3.0, 0.05), (3.0, 0.3)])
def test_real_ctrl_c_on_a_parallel_run(tmp_path, delay, second):
    """Loading, then checking; then a second Ctrl-C soon after the first must not lose the report."""
    import os
    import signal
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from gen_corpus import write_corpus

    corpus = tmp_path / "corpus"
    write_corpus(corpus, 8000)
    n_files = sum(1 for p in corpus.rglob("*") if p.is_file())
    out = tmp_path / "r.json"
    p = subprocess.Popen([sys.executable, "-m", "tonecheck.cli", "check", str(corpus), "-o", str(out), "--jobs", "2",
                          "--no-config"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    import time

    time.sleep(delay)
    os.killpg(p.pid, signal.SIGINT)          # what a terminal does: the whole process group
    if second is not None:
        time.sleep(second)
        try:
            os.killpg(p.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    _, err = p.communicate(timeout=120)
    if p.returncode in (0, 1):
        pytest.skip("the run finished before the signal arrived")
    if p.returncode == -signal.SIGINT:
        pytest.skip("the signal arrived while Python was still importing (before tonecheck started)")
    assert p.returncode == 130 and "partial" in err and "Traceback" not in err
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["partial"] is True and len(rep["files"]) == n_files
    assert any(f["status"] == "not_processed" for f in rep["files"])


def test_batch_packages_are_shipped():
    import tomllib

    root = Path(__file__).parent.parent
    pkgs = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    src = root / "src"
    found = {".".join(p.parent.relative_to(src).parts) for p in (src / "tonecheck").rglob("__init__.py")}
    assert found <= set(pkgs), f"add {sorted(found - set(pkgs))} to [tool.setuptools] packages"
