"""Context filters of the engine: negation, quotes, reported speech, token boundaries."""
from __future__ import annotations

import pytest

import tonecheck
from tonecheck.engine import Deadline
from tonecheck.engine.segment import Doc
from tonecheck.normalize import normalize

CHECKER = tonecheck.default_checker()


def subtypes(text: str, **kw) -> set[str]:
    return {f.subtype for f in CHECKER.check(text, counterpart="debtor", **kw).findings}


@pytest.mark.parametrize("text", [
    "您刚才说我们是骗子？我们是有牌照的正规机构",   # quoting the customer back
    "您觉得我们是在吓唬您吗？不是的，只是提醒",
])
def test_reported_speech_is_not_the_agents_own_words(text):
    assert not {s for s in subtypes(text) if s.startswith(("insult", "threat"))}


@pytest.mark.parametrize("text", [
    "你讲的这些是人话吗",          # 你讲的 = "what you said": the insult is the agent's
    "您说的那叫人话吗？",
])
def test_what_you_said_is_talked_about_not_reported(text):
    assert "insult.abuse" in subtypes(text)


@pytest.mark.parametrize("text, expected", [
    ("我们不会去您单位找您，您放心", False),
    ("再不还我们就去你单位找你", True),
])
def test_negation_scope(text, expected):
    assert any(s.startswith("threat") for s in subtypes(text)) is expected


def test_quoted_words_of_someone_else_are_not_the_agents():
    assert not subtypes("客户在投诉里写了「你们就是一群骗子」，我们已经登记")


@pytest.mark.parametrize("text", [
    "他们说我是「老赖」，我们不会这样称呼您",
    "这个月的热狗摊收入怎么样",
    "杀毒软件提示有风险的链接别点",
])
def test_words_inside_other_words_or_quotes_do_not_fire(text):
    assert not {s for s in subtypes(text) if s.startswith(("insult", "threat"))}


@pytest.mark.parametrize("text", [
    "嗯那个，您这个月的账单，3,280元，到期日是20号。热狗摊生意还行吗？",
    "你個傻逼！！再不还钱试试看，杀毒软件也救不了你",
    "abc 123 傻 逼\n下一行，还钱",
])
def test_block_tokenisation_equals_whole_text_tokenisation(text):
    """Token-boundary checks tokenise only the block around a hit; the tokens must be the same."""
    norm = normalize(text)
    tok = CHECKER.engine.tokenizer
    whole = tok.tokenize(norm.text)
    doc = Doc(norm, tok, Deadline(60))
    for s in range(len(norm.text)):
        for e in range(s + 1, min(len(norm.text), s + 6) + 1):
            lo, hi = doc.window(s, e)
            toks, _ = doc.tokens_in(lo, hi)
            assert toks == [t for t in whole if lo <= t[0] and t[1] <= hi]


@pytest.mark.parametrize("text", [
    "坐牢是不可能的，这只是民事上的欠款",
    "抓人？不会的，您放心",
    "传言里的全国老赖黑名单都是胡扯的，没有这种东西",   # a false claim named to be denied
    "莫得人要抓你哈，放心",                           # 川渝: 莫得人 = 没有人, a denied subject
])
def test_a_cue_denied_right_after_it_is_negated(text):
    assert not any(s.startswith("threat") for s in subtypes(text))


def test_post_negation_needs_the_denial_to_close_the_clause():
    assert any(s.startswith("threat") for s in subtypes("不还就让你坐牢，不可能让你赖掉"))
