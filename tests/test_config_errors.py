"""Bad configuration and bad team lexicons: one line naming file and key, exit 2, never a traceback.

Each case here used to be silently accepted or to end in a traceback.
"""
from __future__ import annotations

import pytest

import tonecheck
from tonecheck.cli import main

CONFIGS = [
    ('enable = ["thret"]\n', "enable: 'thret' names no rule or subtype (did you mean 'threat'?)"),
    ('disable = ["insult.profanty"]\n', "disable: 'insult.profanty' names no rule"),
    ('[severity]\n"threat.legal" = "low"\n', "severity: 'threat.legal' names no rule"),
    ('[severity]\n"threat" = "urgent"\n', "expected one of high, medium, low"),
    ('[scoring]\ncritical = ["threat.violense"]\n', "scoring.critical: 'threat.violense' names no rule"),
    ('[scoring.rules]\n"THR-NOPE-1" = 5\n', "scoring.rules: 'THR-NOPE-1' names no rule"),
    ('[scoring.deductions]\nhigh = -50\n', "scoring.deductions.high: expected a number of at least 0"),
    ('[scoring]\npass_mark = 120\n', "scoring.pass_mark: 120 is above scoring.start"),
    ('[contact]\nutc_offset = 8\n', 'contact.utc_offset: expected a string offset like "+08:00", not 8'),
    ('[contact]\nutc_offset = "+25:00"\n', "contact.utc_offset"),
    ('deadline_ms = 0\n', "deadline_ms: expected a number of at least 1"),
    ('a = ' + '[' * 3000 + ']' * 3000 + '\n', "invalid TOML: nested too deeply"),
]


@pytest.mark.parametrize("body,message", CONFIGS)
def test_bad_config_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, body, message):
    (tmp_path / "tonecheck.toml").write_text(body, encoding="utf-8")
    (tmp_path / "t.txt").write_text("坐席：您好\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["check", "t.txt"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("tonecheck: error: tonecheck.toml: ") and message in err


def test_checker_selectors_are_strict():
    with pytest.raises(tonecheck.ConfigError, match="did you mean 'threat'"):
        tonecheck.Checker(enable=["thret"])
    with pytest.raises(tonecheck.ConfigError, match="expected one of"):
        tonecheck.Checker(severity={"threat": "critical"})
    with pytest.raises(tonecheck.ConfigError, match="deadline_s"):
        tonecheck.Checker(deadline_s=float("nan"))
    assert tonecheck.Checker(disable=["contact.night_call"]).rules  # a policy subtype with no text rule is fine


TEAM = {
    "bad signal regex": ('[[signal]]\nid = "S1"\nsets = "flag:x"\npatterns = ["(unclosed"]\nexamples = ["a"]\n',
                         "signal S1: bad regex"),
    "classes as a list": ('classes = ["a", "b"]\n', "'classes' must be a table"),
    "rule as a table": ('[rule]\nid = "X"\n', "'rule' must be an array of tables"),
    "catastrophic pattern": ('[[rule]]\nid = "T-1"\nsubtype = "insult.abuse"\nseverity = "medium"\nmessage = "m"\n'
                             'kind = "regex"\npatterns = [\'(?:(?:你|你个)+傻)+逼\']\nanchors = ["傻"]\n',
                             "can backtrack catastrophically"),
    "unknown subtype": ('[[rule]]\nid = "T-2"\nsubtype = "threat.violense"\nseverity = "medium"\nmessage = "m"\n'
                        'kind = "terms"\nterms = ["x"]\n', "threat.violense"),
    "nested toml": ('a = ' + '[' * 3000 + ']' * 3000 + '\n', "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(TEAM))
def test_bad_team_lexicon_is_one_line_and_exit_2(tmp_path, capsys, case):
    body, message = TEAM[case]
    d = tmp_path / "team"
    d.mkdir()
    (d / "team.toml").write_text(body, encoding="utf-8")
    code = main(["rules", "test", str(d), "--no-config"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "team.toml" in err and message in err
