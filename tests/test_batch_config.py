"""Config file: discovery, validation (unknown keys named), team rules, rules subcommands honour it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tonecheck.batch.config import ConfigError, find_config, load_config, parse_config
from tonecheck.cli import main

FIX = Path(__file__).parent / "fixtures" / "batch"
LEX = FIX / "lexicon"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_defaults_without_a_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert cfg.path is None and cfg.contact.max_unanswered_per_day == 6 and cfg.scoring.start == 100


def test_full_config_parses(tmp_path):
    (tmp_path / "rules").mkdir()
    p = tmp_path / "tonecheck.toml"
    p.write_text("""
lexicons = ["rules"]
disable = ["sarcasm"]
allow = ["杀毒软件"]
fail_on = "medium"
[severity]
"insult.profanity" = "medium"
[speakers]
agent = ["主叫", "坐席"]
customer = ["被叫"]
[columns]
text = "识别结果"
[scoring]
pass_mark = 85
critical = ["threat.violence"]
[scoring.deductions]
high = 40
[scoring.rules]
"insult.abuse" = 15
[contact]
night_start = "21:00"
night_end = "08:00"
max_unanswered_per_day = 3
""", encoding="utf-8")
    cfg = load_config(p)
    assert cfg.lexicons == [str(tmp_path / "rules")] and cfg.disable == ["sarcasm"]
    assert cfg.scoring.deductions == {"high": 40.0, "medium": 10.0, "low": 5.0}
    assert cfg.contact.night_start == "21:00" and cfg.contact.max_unanswered_per_day == 3
    assert cfg.columns == {"text": "识别结果"} and cfg.fail_on == "medium"


@pytest.mark.parametrize("toml, key", [
    ("disabel = ['x']", "disabel"),
    ("[scoring]\npassmark = 80", "scoring.passmark"),
    ("[contact]\nmax_attempts = 3", "contact.max_attempts"),
    ("[speakers]\nagents = ['x']", "speakers.agents"),
    ("[columns]\nbody = 'x'", "columns.body"),
    ("[scoring.deductions]\ncritical = 100", "scoring.deductions.critical"),
])
def test_unknown_keys_are_errors_naming_the_key(tmp_path, toml, key):
    p = tmp_path / "tonecheck.toml"
    p.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"unknown key '{key}'"):
        load_config(p)


@pytest.mark.parametrize("data, words", [
    ({"severity": {"threat": "urgent"}}, "severity.threat"),
    ({"contact": {"night_start": "10pm"}}, "contact.night_start"),
    ({"contact": {"max_unanswered_per_day": -1}}, "max_unanswered_per_day"),
    ({"lexicons": ["does-not-exist"]}, "lexicons"),
    ({"speakers": {"agent": ["A"], "customer": ["a"]}}, "both agent and customer"),
    ({"scoring": {"start": "hundred"}}, "scoring.start"),
])
def test_bad_values_are_errors(data, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        parse_config(data, "t.toml")


def test_pyproject_tool_table_is_found(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.tonecheck]\ndisable = ["sarcasm"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert find_config() == Path("pyproject.toml")
    assert load_config().disable == ["sarcasm"]
    (tmp_path / "pyproject.toml").write_text('[tool.tonecheck]\ntypo = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="tool.tonecheck.typo"):
        load_config()


def test_cli_config_error_is_one_line_exit_2(tmp_path, capsys):
    p = tmp_path / "tonecheck.toml"
    p.write_text("[scoring]\nbogus = 1\n", encoding="utf-8")
    t = tmp_path / "c.txt"
    t.write_text("坐席：您好\n", encoding="utf-8")
    code, _, err = run(capsys, "check", t, "--config", p)
    assert code == 2 and "scoring.bogus" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "check", t, "--config", tmp_path / "missing.toml")
    assert code == 2 and "not found" in err
    p.write_text("lexicons = [", encoding="utf-8")
    code, _, err = run(capsys, "rules", "list", "--config", p)
    assert code == 2 and "invalid TOML" in err


def test_rules_list_and_show_honour_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tonecheck.toml").write_text(
        f'lexicons = ["{LEX.as_posix()}"]\ndisable = ["QA-INS-001", "contact.night_call"]\n'
        '[severity]\n"QA-THR-001" = "medium"\n', encoding="utf-8")
    code, out, _ = run(capsys, "rules", "list")
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    assert code == 0 and "QA-INS-001" not in rows and rows["QA-THR-001"][2] == "medium"
    assert rows["QA-THR-001"][3] == "qa.toml" and "CON-FREQ-001" in rows and "CON-NIGHT-001" not in rows
    code, out, _ = run(capsys, "rules", "show", "QA-THR-001")
    assert code == 0 and "打断你的腿" in out and "medium" in out
    code, _, err = run(capsys, "rules", "show", "QA-INS-001")
    assert code == 2 and "disabled" in err
    code, out, _ = run(capsys, "rules", "show", "CON-FREQ-001")
    assert code == 0 and "6" in out
    code, out, _ = run(capsys, "rules", "list", "--no-config")
    assert "QA-THR-001" not in out


def test_rules_test_runs_team_examples(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "rules", "test", LEX)
    assert code == 0 and "3 rules checked, 0 failed" in out
    bad = tmp_path / "bad_rules"
    bad.mkdir()
    (bad / "r.toml").write_text((LEX / "qa.toml").read_text(encoding="utf-8").replace(
        'examples.fire = ["你这个窝囊废"]', 'examples.fire = ["您好"]'), encoding="utf-8")
    code, out, _ = run(capsys, "rules", "test", bad)
    assert code == 1 and "FAIL QA-INS-001" in out
    # without DIR: the config's lexicon directories
    (tmp_path / "tonecheck.toml").write_text('lexicons = ["bad_rules"]\n', encoding="utf-8")
    code, out, _ = run(capsys, "rules", "test")
    assert code == 1 and "3 rules checked" in out
    (bad / "r.toml").write_text("[[rule]]\nid = 'X'\n", encoding="utf-8")
    code, _, err = run(capsys, "rules", "test", bad)
    assert code == 2 and "r.toml" in err and "Traceback" not in err


def test_example_config_and_readme_config_are_valid():
    root = Path(__file__).parent.parent
    cfg = load_config(root / "examples" / "tonecheck.toml")
    assert cfg.lexicons and cfg.fail_on == "medium"
    import re
    import tomllib

    readme = (root / "README.md").read_text(encoding="utf-8")
    section = re.split(r"^#+ Configuration$", readme, maxsplit=1, flags=re.M)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    data = tomllib.loads(block)
    data.pop("lexicons")                 # relative to a team's directory
    parse_config(data, "README.md")


def test_bracketed_labels_and_utf16(tmp_path):
    from tonecheck.batch.readers import read_path

    p = tmp_path / "x.txt"
    p.write_bytes("[坐席] 您好\n[客户]：嗯\n".encode("utf-16"))
    fr = read_path(p)
    assert fr.encoding == "utf-16" and [u.speaker for u in fr.items[0].utterances] == ["agent", "customer"]
