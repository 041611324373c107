"""Bad input in a batch: the bad file or conversation is reported in one line, the rest goes on."""
from __future__ import annotations

import json
import time

from tonecheck.batch.encoding import DecodeError, decode_bytes
from tonecheck.batch.readers import Speakers, read_path
from tonecheck.cli import main


def test_a_lone_surrogate_costs_one_conversation_not_the_report(tmp_path, capsys):
    good = [{"id": f"ok{i}", "utterances": [{"speaker": "agent", "text": "您好，请问是王先生吗？"}]} for i in range(3)]
    (tmp_path / "good.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    # JSON escapes decode to unpaired surrogates: in a text, and in a conversation id
    (tmp_path / "bad.json").write_text(
        '[{"id":"b1","utterances":[{"speaker":"agent","text":"a\\ud800b"}]},'
        '{"id":"b\\udc80","utterances":[{"speaker":"agent","text":"hi"}]},'
        '{"id":"b3","utterances":[{"speaker":"agent","text":"您好"}]}]', encoding="utf-8")
    out = tmp_path / "r.json"
    code = main(["check", str(tmp_path), "--no-config", "-o", str(out), "-q"])
    assert code == 0
    rep = json.loads(out.read_text(encoding="utf-8"))
    status = {c["id"]: (c["status"], c["error"]) for c in rep["conversations"]}
    assert status["b1"] == ("error", "turn 0: text holds an unpaired UTF-16 surrogate (U+D800) at index 1")
    assert status["b\ufffd"][0] == "error" and "surrogate" in status["b\ufffd"][1]
    assert [status[k][0] for k in ("b3", "ok0", "ok1", "ok2")] == ["ok"] * 4


def test_shift_jis_is_a_bad_encoding_not_a_missing_speaker(tmp_path):
    data = "オペレーター：こんにちは、田中様でいらっしゃいますか。\nお客様：はい、そうです。\n".encode("shift_jis")
    try:
        decode_bytes(data)
        raise AssertionError("Shift-JIS was accepted")
    except DecodeError as exc:
        assert "Shift-JIS" in str(exc)
    p = tmp_path / "ja.txt"
    p.write_bytes(data)
    fr = read_path(p)
    assert fr.error and "Shift-JIS" in fr.error and "speaker" not in fr.error


def test_gbk_text_is_still_read():
    text = "坐席：您好，请问是王先生吗？这个月的账单已经逾期了。\n客户：我下周还。\n"
    assert decode_bytes(text.encode("gbk")) == (text, "gb18030")


def _read_seconds(path, body: str, n: int) -> float:
    path.write_text("坐席：开始\n" + body * n, encoding="utf-8")
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fr = read_path(path, speakers=Speakers())
        best = min(best, time.perf_counter() - t0)
        assert fr.error is None and len(fr.items) == 1
    return best


def test_text_reader_is_linear_in_wrapped_lines(tmp_path):
    """A turn followed by many wrapped lines took 11 s for 2 MB (each line re-copied the turn)."""
    line = "您好这边是信用卡中心的工作人员请问您这个月的账单什么时候方便处理\n"
    small = _read_seconds(tmp_path / "a.txt", line, 4_000)
    big = _read_seconds(tmp_path / "b.txt", line, 32_000)  # 8x the lines: linear ~8x, quadratic ~64x
    assert big < 20 * small + 0.05, (small, big)
