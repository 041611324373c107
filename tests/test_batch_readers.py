"""Readers: every format and encoding on realistic fixtures, corrupt files, speaker mapping."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tonecheck.batch.encoding import DecodeError, decode_bytes
from tonecheck.batch.readers import ConvError, Speakers, read_path, sniff
from tonecheck.models import Conversation

FIX = Path(__file__).parent / "fixtures" / "batch"
MIXED, BAD = FIX / "mixed", FIX / "bad"


def convs(fr):
    return [c for c in fr.items if isinstance(c, Conversation)]


def test_json_list_with_metadata_and_chinese_labels():
    fr = read_path(MIXED / "calls.json")
    assert fr.error is None and fr.format == "json" and fr.encoding == "utf-8"
    a, b = convs(fr)
    assert a.id == "CALL-20261128-0001" and a.metadata["agent_id"] == "A017"
    assert a.metadata["outcome"] == "answered" and a.utterances[2].start == 5.2
    assert [u.speaker for u in b.utterances] == ["agent", "customer", "agent"]     # 坐席 / 客户


def test_jsonl_utterance_rows_grouped_by_conversation():
    fr = read_path(MIXED / "sub" / "utterances.jsonl")
    ids = [c.id for c in convs(fr)]
    assert ids == ["CC-7781", "CC-7782"]
    c = convs(fr)[0]
    assert len(c.utterances) == 3 and c.metadata["agent_id"] == "B102"
    assert c.metadata["call_start"] == "2026-11-28 23:40:00"


def test_jsonl_one_conversation_per_line_and_bad_line(tmp_path):
    p = tmp_path / "calls.jsonl"
    lines = [json.dumps({"id": f"L{i}", "utterances": [{"speaker": "agent", "text": "您好"}]}) for i in range(3)]
    lines.insert(1, "{not json")
    p.write_text("\n".join(lines), encoding="utf-8")
    fr = read_path(p)
    assert [c.id for c in convs(fr)] == ["L0", "L1", "L2"]
    errs = [c for c in fr.items if isinstance(c, ConvError)]
    assert len(errs) == 1 and "line 2" in errs[0].reason


def test_gbk_csv_with_chinese_headers_and_quoted_commas():
    fr = read_path(MIXED / "export_gbk.csv")
    assert fr.encoding == "gb18030" and fr.format == "csv" and fr.error is None
    r1, r2 = convs(fr)
    assert r1.id == "R-0901" and r1.metadata["agent_id"] == "A017" and len(r1.utterances) == 3
    assert r1.utterances[1].start == 5.0 and r1.utterances[1].end == 7.0          # 00:00:05
    assert r2.utterances[0].text == "你个大笨蛋，卡都刷爆了还不还？"                 # comma inside quotes kept


def test_tsv_with_bom():
    fr = read_path(MIXED / "sub" / "notes.tsv")
    assert fr.encoding == "utf-8-sig" and fr.format == "tsv"
    (c,) = convs(fr)
    assert c.id == "T-1" and c.utterances[1].speaker == "customer"


def test_gb18030_text_with_header_timestamps_and_wrapped_line():
    fr = read_path(MIXED / "visit_gb18030.txt")
    assert fr.encoding == "gb18030"
    (c,) = convs(fr)
    assert c.metadata["agent_id"] == "C005" and c.counterpart == "unknown"
    assert c.utterances[0].speaker == "agent" and c.utterances[0].start == 1.0     # 催收员
    assert c.utterances[2].text.endswith("谢谢您。")                                # continuation line joined


def test_srt_blocks_with_times():
    fr = read_path(MIXED / "sub" / "asr_0001.srt")
    (c,) = convs(fr)
    assert fr.format == "srt" and len(c.utterances) == 3
    assert c.utterances[2].start == 5.5 and c.utterances[2].end == 9.8


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl not installed (tonecheck[excel])")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["会话ID", "坐席工号", "说话人", "文本", "开始"])
    ws.append(["X-1", "A9", "坐席", "您好，提醒您明天是还款日。", 1.5])
    ws.append(["X-1", "A9", "客户", "知道了。", 4])
    ws.append([None, None, None, None, None])
    ws.append(["X-2", "A9", "坐席", "你这个窝囊废", 0])
    wb.save(tmp_path / "export.xlsx")
    fr = read_path(tmp_path / "export.xlsx")
    assert fr.error is None and [c.id for c in convs(fr)] == ["X-1", "X-2"]
    assert convs(fr)[0].utterances[0].start == 1.5


def test_content_sniffing_for_unknown_extension(tmp_path):
    p = tmp_path / "export.dat"
    p.write_text("1\n00:00:01,000 --> 00:00:02,000\n坐席：您好\n", encoding="utf-8")
    assert read_path(p).format == "srt"
    p.write_text('{"utterances": [{"speaker": "agent", "text": "您好"}]}', encoding="utf-8")
    assert read_path(p).format == "json"
    p.write_text("坐席：您好\n客户：嗯\n", encoding="utf-8")
    assert read_path(p).format == "text"
    assert sniff("speaker,text\nagent,hi\n") == "csv"


def test_input_format_override(tmp_path):
    p = tmp_path / "rows.log"
    p.write_text("role\tcontent\nagent\t您好\n", encoding="utf-8")
    fr = read_path(p, input_format="tsv")
    assert fr.format == "tsv" and convs(fr)[0].utterances[0].text == "您好"


@pytest.mark.parametrize("name, words", [
    ("truncated.json", "invalid JSON"), ("binary.txt", "encoding"), ("latin1.csv", "encoding"),
    ("not_really.xlsx", "xlsx"), ("empty.txt", "empty"),
])
def test_corrupt_files_are_one_line_errors(name, words):
    fr = read_path(BAD / name)
    assert fr.error and words in fr.error and "\n" not in fr.error and not fr.items


def test_bad_items_do_not_spoil_good_ones():
    fr = read_path(BAD / "mixed_items.json")
    assert [c.id for c in convs(fr)] == ["OK-1"]
    errs = {c.id: c.reason for c in fr.items if isinstance(c, ConvError)}
    assert set(errs) == {"BAD-1", "BAD-2"} and "robot" in errs["BAD-2"]
    assert fr.unknown_labels["robot"] == 1


def test_unknown_labels_reported_and_mappable():
    fr = read_path(BAD / "unknown_label.txt")
    assert not convs(fr) and fr.unknown_labels["主叫"] == 1
    fr = read_path(BAD / "unknown_label.txt", speakers=Speakers(agent=["主叫"], customer=["被叫"]))
    (c,) = convs(fr)
    assert [u.speaker for u in c.utterances] == ["agent", "customer"]


def test_csv_header_mapping_from_config(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("CallNo,Who,Said\n7,AG,您好\n7,CU,嗯\n", encoding="utf-8")
    fr = read_path(p)
    assert fr.error and "map headers" in fr.error
    fr = read_path(p, columns={"conversation_id": "CallNo", "speaker": "Who", "text": "Said"},
                   speakers=Speakers(agent=["AG"], customer=["CU"]))
    assert convs(fr)[0].id == "7" and len(convs(fr)[0].utterances) == 2


def test_unanswered_attempt_without_turns(tmp_path):
    p = tmp_path / "attempts.csv"
    p.write_text("call_id,agent_id,call_start,contact,outcome,speaker,text\n"
                 "Q1,A1,2026-11-28 10:00,13800001111,未接通,,\n", encoding="utf-8")
    (c,) = convs(read_path(p))
    assert c.utterances == [] and c.metadata["outcome"] == "unanswered"


def test_decode_rejects_undecodable_bytes():
    with pytest.raises(DecodeError):
        decode_bytes(b"\xff\xfeA\x00" * 0 + b"\x81\xff\x80\xfe" * 10)
    assert decode_bytes("坐席：您好".encode("gbk")) == ("坐席：您好", "gb18030")
    assert decode_bytes(b"\xef\xbb\xbf" + "您好".encode())[1] == "utf-8-sig"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["坐席", "客户", "A", "B", "催收员", "客服"]),
                          st.text(alphabet="您好请还款逾期谢谢，。？1234", min_size=1, max_size=30)), min_size=1, max_size=8),
       st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
def test_text_roundtrip_any_encoding(tmp_path_factory, turns, enc):
    p = tmp_path_factory.mktemp("rt") / "c.txt"
    p.write_bytes("\n".join(f"{s}：{t}" for s, t in turns).encode(enc))
    (c,) = convs(read_path(p))
    assert [u.text for u in c.utterances] == [t for _, t in turns]
    assert [u.speaker for u in c.utterances] == ["agent" if s in ("坐席", "A", "催收员", "客服") else "customer"
                                                 for s, _ in turns]
