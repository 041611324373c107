"""One table of Chinese names (tonecheck.labels) for the reports, the page and the CLI; findings shown
most severe first; report extensions we do not write refused."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tonecheck
from tonecheck import labels
from tonecheck.cli import main
from tonecheck.models import Category
from tonecheck.rules import KNOWN_SUBTYPES

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "batch"


def test_every_subtype_category_severity_and_status_has_a_chinese_name(checker):
    t = labels.table(checker.lexicon)
    assert set(t["subtypes"]) == KNOWN_SUBTYPES
    assert t["subtypes"] == {k: v.name for k, v in checker.lexicon.subtypes.items()}   # lexicons/subtypes.toml
    assert set(t["categories"]) == {c.value for c in Category}
    assert t["severities"] == {"high": "严重", "medium": "中等", "low": "轻微"}         # the one set of words
    assert set(t["file_statuses"]) == {"ok", "error", "skipped", "config", "not_processed"}
    chinese = re.compile(r"[\u4e00-\u9fff]")
    for group in ("subtypes", "categories", "severities", "file_statuses", "call_statuses", "outcomes",
                  "speakers", "counterparts", "channels", "review", "api_errors"):
        assert all(chinese.search(v) for v in t[group].values()), group
    # every error code the service answers with has a name on the page
    server = (ROOT / "src" / "tonecheck" / "server.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'(?:_error|ApiError)\(\d{3}, "([a-z_]+)"', server)) | {"not_found", "method_not_allowed"}
    assert len(codes) >= 10 and codes <= set(t["api_errors"])


def test_every_error_the_batch_reports_has_a_chinese_kind(capsys, tmp_path):
    out = tmp_path / "r.json"
    main(["check", str(FIX / "bad"), str(FIX / "mixed"), str(tmp_path / "missing.json"), "--no-model", "-q",
          "-o", str(out)])
    capsys.readouterr()
    rep = json.loads(out.read_text(encoding="utf-8"))
    errors = [e["error"] for e in rep["summary"]["errors"]]
    errors += [f["error"] for f in rep["files"] if f["error"]]
    assert len(errors) >= 8
    unnamed = [e for e in errors if labels.error_kind(e) == labels.OTHER_ERROR]
    assert unnamed == []


def test_one_table_no_copies_in_the_page_or_the_report():
    """The page and the HTML report take names from tonecheck.labels (embedded), never their own copy."""
    names = [n for n in labels.table()["subtypes"].values()] + list(labels.CATEGORIES.values())
    for path in ("src/tonecheck/static/app.js", "src/tonecheck/static/index.html",
                 "src/tonecheck/batch/report/htmlreport.py", "src/tonecheck/batch/report/report.js"):
        text = (ROOT / path).read_text(encoding="utf-8")
        copies = [n for n in names if n in text]
        assert copies == [], f"{path} has its own copy of {copies}"


def test_page_and_report_embed_the_same_table(checker):
    pytest.importorskip("fastapi", reason="the page needs the service: pip install -e '.[server]'")
    from tonecheck.server import render_page

    page = render_page(checker)
    blob = re.search(r'<script type="application/json" id="labels">(.*?)</script>', page, re.S).group(1)
    assert json.loads(blob) == labels.table(checker.lexicon)


def test_display_order_is_severity_then_position():
    res = tonecheck.Checker(model=False).check("卧槽，这都第几回了。你这个老赖。再不还钱，我弄死你", counterpart="debtor")
    assert [f.start for f in res.findings] == sorted(f.start for f in res.findings)   # the library: by position
    shown = labels.in_display_order(res.findings)
    assert [f.severity.value for f in shown] == ["high", "medium", "low"]


def test_draft_prints_most_severe_first_with_chinese_names(capsys):
    code = main(["draft", "--no-model", "--no-config", "--counterpart", "debtor", "卧槽，这都第几回了。再不还钱，我弄死你"])
    out = capsys.readouterr().out
    assert code == 1
    lines = [x for x in out.splitlines() if x.startswith("    - [")]
    assert lines[0].startswith("    - [严重] 暴力或含糊威胁 threat.violence") and lines[-1].startswith("    - [轻微] 脏话")


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.json.bak"])
def test_unknown_report_extension_is_one_line_and_exit_2(capsys, tmp_path, name):
    out = tmp_path / name
    code = main(["check", str(FIX / "mixed"), "--no-model", "-q", "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and name in err and "--format" in err
    assert not out.exists()
    assert main(["check", str(FIX / "mixed"), "--no-model", "-q", "--format", "json", "-o", str(out)]) in (0, 1)
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "tonecheck.batch/1"
