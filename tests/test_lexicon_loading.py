from pathlib import Path

import pytest

import tonecheck
from tonecheck.lexicon import LexiconError, load_lexicons

FIX = Path(__file__).parent / "fixtures"
TEAM = FIX / "team_lexicon"


@pytest.fixture(scope="module")
def team() -> tonecheck.Checker:
    return tonecheck.Checker([TEAM], include_bundled=False)


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "x.toml").write_text(body, encoding="utf-8")
    return tmp_path


def test_bad_severity_names_file_and_rule():
    with pytest.raises(LexiconError) as exc:
        load_lexicons([FIX / "bad_lexicon"], include_bundled=False)
    msg = str(exc.value)
    assert "bad.toml" in msg and "BAD-001" in msg and "severity" in msg


@pytest.mark.parametrize("body, words", [
    ('[[rule]]\nid="A-1"\nsubtype="threat.violence"\nseverity="high"\nkind="regex"\nmessage="m"\npatterns=["x"]\n', "anchors"),
    ('[[rule]]\nid="A-1"\nsubtype="nonsense.x"\nseverity="high"\nkind="terms"\nmessage="m"\nterms=["x"]\n', "category"),
    ('[[rule]]\nid="A-1"\nsubtype="threat.violence"\nseverity="high"\nkind="terms"\nmessage="m"\nterms=["{nope}"]\n', "nope"),
    ('[[rule]]\nid="A-1"\nsubtype="threat.violence"\nseverity="high"\nkind="regex"\nmessage="m"\nanchors=["x"]\npatterns=["(x"]\n', "bad regex"),
    ('[[rule]]\nid="A-1"\nsubtype="threat.violence"\nseverity="high"\nkind="terms"\nmessage="m"\nterms=["x"]\ncolour="red"\n', "colour"),
    ('[classes]\na=["{b}"]\nb=["{a}"]\n', "includes itself"),
    ('nonsense = 1\n', "nonsense"),
    ('[[rule]\n', "TOML"),
])
def test_malformed_lexicons_give_clear_errors(tmp_path, body, words):
    with pytest.raises(LexiconError) as exc:
        load_lexicons([write(tmp_path, body)], include_bundled=False)
    assert words in str(exc.value)
    assert "x.toml" in str(exc.value)


def test_duplicate_rule_id_is_an_error(tmp_path):
    rule = '[[rule]]\nid="A-1"\nsubtype="threat.violence"\nseverity="high"\nkind="terms"\nmessage="m"\nterms=["x"]\n'
    with pytest.raises(LexiconError, match="duplicate"):
        load_lexicons([write(tmp_path, rule + rule)], include_bundled=False)


def test_missing_directory_is_an_error():
    with pytest.raises(LexiconError, match="not found"):
        load_lexicons(["/no/such/dir"], include_bundled=False)


def test_term_inside_longer_word_does_not_fire(team):
    assert team.check("中午买了个热狗当午饭").findings == []
    assert [f.text for f in team.check("你就是条狗").findings] == ["狗"]


def test_allow_list_wins_over_contained_hit():
    c = tonecheck.Checker([TEAM], include_bundled=False, allow=["狗东西牌"])
    assert c.check("狗东西牌饼干").findings == []


def test_rule_selection_and_severity_override():
    off = tonecheck.Checker([TEAM], include_bundled=False, disable=["insult"])
    assert off.check("你就是条狗").findings == []
    only = tonecheck.Checker([TEAM], include_bundled=False, enable=["TEAM-INS-001"], severity={"insult.abuse": "low"})
    (f,) = only.check("你就是条狗").findings
    assert f.severity == "low"
    assert {r.id for r in only.rules} == {"TEAM-INS-001"}


def test_sequence_rule_respects_gap_and_negation(team):
    assert team.check("你再不还我们明天就上门").findings
    assert not team.check("你再不还款这件事情我们真的没有办法只能按照流程明天就上门").findings  # gap too long
    assert not team.check("我们不会上门的").findings


def test_validator_and_context(team):
    (f,) = team.check("卡号6222021234567890128已逾期").findings
    assert f.confidence > 0.85 and "校验通过" in f.explanation
    (g,) = team.check("卡号1234567812345678").findings  # fails Luhn, but said as 卡号
    assert g.confidence < f.confidence
    assert team.check("编号1234567812345678").findings == []


def test_rewrite_masks_and_keeps_tail(team):
    r = team.check("您的卡号6222021234567890128已逾期")
    assert "尾号0128的卡" in r.rewrite and "6222021234567890128" not in r.rewrite


def test_customer_never_gets_violations(team):
    assert team.check("你就是条狗", role="customer").findings == []


def test_counterpart_signal_turns_on_disclosure_rules(team):
    conv = {"id": "t", "counterpart": "unknown", "utterances": [
        {"speaker": "agent", "text": "他欠款三千没还"},
        {"speaker": "customer", "text": "我不认识他"},
        {"speaker": "agent", "text": "他欠款三千没还"},
    ]}
    res = team.check_conversation(conv)
    assert res.counterparts == ["unknown", "unknown", "third_party"]
    assert not res.utterances[0].findings
    assert [f.subtype for f in res.utterances[2].findings] == ["privacy.third_party_disclosure"]
    assert "转告" in res.utterances[2].rewrite


def test_declared_counterpart_is_not_overridden(team):
    conv = {"counterpart": "debtor", "utterances": [
        {"speaker": "customer", "text": "我不认识他"}, {"speaker": "agent", "text": "他欠款三千没还"}]}
    assert team.check_conversation(conv).counterparts == ["debtor", "debtor"]
