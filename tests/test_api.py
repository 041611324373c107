from __future__ import annotations

import json

import pytest

import tonecheck


def test_check_returns_typed_result():
    r = tonecheck.check("您好，请问是张先生吗？")
    assert isinstance(r, tonecheck.CheckResult)
    assert r.findings == [] and r.rewrite == r.text and r.is_clean


@pytest.mark.parametrize("kw", [{"role": "boss"}, {"counterpart": "friend"}, {"channel": "fax"}])
def test_bad_arguments_raise_input_error(kw):
    with pytest.raises(tonecheck.InputError):
        tonecheck.check("你好", **kw)


def test_too_long_text_is_a_clear_error():
    with pytest.raises(tonecheck.InputError, match="limit"):
        tonecheck.check("好" * (tonecheck.MAX_TEXT_CHARS + 1))


def test_non_string_is_an_error():
    with pytest.raises(tonecheck.InputError):
        tonecheck.check(None)  # type: ignore[arg-type]


def test_conversation_dict_and_model_agree():
    conv = {"id": "c1", "counterpart": "debtor", "channel": "call", "utterances": [
        {"speaker": "agent", "text": "您好，这里是信用卡中心。"},
        {"speaker": "customer", "text": "我这个月失业了，实在拿不出钱。"},
    ]}
    a = tonecheck.check_conversation(conv)
    b = tonecheck.check_conversation(tonecheck.Conversation.model_validate(conv))
    assert a.model_dump() == b.model_dump()
    assert len(a.utterances) == 2 and a.id == "c1"


def test_bad_conversation_is_input_error():
    with pytest.raises(tonecheck.InputError):
        tonecheck.check_conversation({"utterances": [{"speaker": "robot", "text": "x"}]})


def test_result_serialises_to_json_schema_shape():
    r = tonecheck.check("你这个废物，再不还钱小心你的腿", counterpart="debtor")
    data = json.loads(r.model_dump_json())
    assert set(data) >= {"text", "findings", "rewrite"}
    for f in data["findings"]:
        assert set(f) >= {"rule_id", "category", "subtype", "severity", "confidence", "start", "end", "text",
                          "message", "suggestion", "explanation"}


def test_offsets_index_the_original_string_after_normalisation():
    text = "嗯 你 个 傻 * 逼，還錢"
    r = tonecheck.check(text, counterpart="debtor")
    assert r.findings, "expected the evasive profanity to be found"
    for f in r.findings:
        assert text[f.start:f.end] == f.text
        assert f.text.startswith(("傻", "你")) and f.text.endswith("逼")


def test_customer_text_yields_only_risk():
    r = tonecheck.check("你个傻逼，再打电话我就去投诉你", role="customer")
    assert r.findings and all(f.category == "risk" for f in r.findings)
    assert r.rewrite == r.text


def test_lone_surrogates_are_rejected_with_their_place():
    """One policy at every boundary: an unpaired surrogate is an InputError naming where it is
    (it used to pass and give a result that model_dump_json() could not serialise)."""
    with pytest.raises(tonecheck.InputError, match=r"U\+DC80\) at index 1"):
        tonecheck.check("a\udc80b你个傻逼")
    conv = {"id": "c\ud800", "utterances": [{"speaker": "agent", "text": "您好"}]}
    with pytest.raises(tonecheck.InputError, match="^id holds"):
        tonecheck.check_conversation(conv)
    conv = {"id": "c1", "utterances": [{"speaker": "agent", "text": "您好"}, {"speaker": "agent", "text": "\ud800"}]}
    with pytest.raises(tonecheck.InputError, match=r"^utterances\[1\]: text holds"):
        tonecheck.check_conversation(conv)
