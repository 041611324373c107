from __future__ import annotations

import json

import pytest

from tonecheck.cli import main


def run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        import io
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_draft_clean_exits_zero(capsys):
    code, out, _ = run(capsys, "draft", "您好，请问您这个月什么时候方便还款？")
    assert code == 0 and "未发现违规" in out


def test_draft_violation_exits_one_and_prints_rewrite(capsys):
    code, out, _ = run(capsys, "draft", "你个傻逼，赶紧还钱")
    assert code == 1 and "建议改写" in out and "傻逼" in out


def test_fail_on_high_ignores_low(capsys):
    code, _, _ = run(capsys, "draft", "卧槽，系统又卡了", "--fail-on", "high")
    assert code == 0


def test_draft_json(capsys):
    code, out, _ = run(capsys, "draft", "你个傻逼", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["findings"] and data["rewrite"] != data["text"]


def test_draft_masks_identifiers_by_default(capsys):
    _, out, _ = run(capsys, "draft", "您的卡号6222021234567890128已逾期", "--format", "json")
    assert "6222021234567890128" not in out
    _, out, _ = run(capsys, "draft", "您的卡号6222021234567890128已逾期", "--format", "json", "--show-pii")
    assert "6222021234567890128" in out


def test_check_text_from_stdin(capsys, monkeypatch):
    code, out, _ = run(capsys, "check", "-", stdin="坐席：您好\n客户：你们是谁\n坐席：你个傻逼\n", monkeypatch=monkeypatch)
    assert code == 1 and "【" in out


def test_missing_file_is_one_line_error(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path / "nope.json"))
    assert code == 2 and "nope.json" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_json_is_one_line_error(capsys, tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"utterances": [', encoding="utf-8")
    code, _, err = run(capsys, "check", str(p))
    assert code == 2 and "bad.json" in err


def test_schema_prints_json_schema(capsys):
    code, out, _ = run(capsys, "schema")
    data = json.loads(out)
    assert code == 0 and "Finding" in json.dumps(data)


def test_rules_list_and_show(capsys):
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0
    first = out.splitlines()[0].split("\t")[0]
    code, out, _ = run(capsys, "rules", "show", first)
    assert code == 0 and first in out
    code, _, err = run(capsys, "rules", "show", "NO-SUCH-RULE")
    assert code == 2 and "NO-SUCH-RULE" in err


def test_rules_test_on_team_dir(capsys):
    from pathlib import Path
    code, out, _ = run(capsys, "rules", "test", str(Path(__file__).parent / "fixtures" / "team_lexicon"))
    assert code == 0 and "0 failed" in out


def test_rules_test_fails_on_broken_examples(capsys, tmp_path):
    (tmp_path / "t.toml").write_text(
        '[[rule]]\nid="T-1"\nsubtype="insult.abuse"\nseverity="medium"\nkind="terms"\nmessage="m"\n'
        'terms=["大坏蛋"]\nexamples.fire=["你好"]\nexamples.clean=["大坏蛋"]\n', encoding="utf-8")
    code, out, _ = run(capsys, "rules", "test", str(tmp_path))
    assert code == 1 and "T-1" in out
