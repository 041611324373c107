"""`tonecheck rules lint`: each check catches its problem in a team lexicon, and the bundled
lexicons carry no more debt than recorded (the baseline only goes down)."""
from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest

from tonecheck.cli import main
from tonecheck.lint import lint

# Bundled debt still open (docs/lexicon-format.md, "Lint debt"): lower these as it is paid. Raise one only
# with the reason here: 173 since thr_kill_verb was merged into thr_harm_verb (one class for the
# verbs of harm), which took THR-VIO-001's harm_verb_target to 303 characters; 174 since INS-ABU-101's
# bare_abuse_word takes every {ins_name} (983 characters) instead of a copied subset of it.
BASELINE = {"uncovered": 0, "dead-pattern": 0, "long-pattern": 174}

RULE = """
[[rule]]
id = "TEAM-PAY-001"
subtype = "conduct.improper_payment"
severity = "high"
message = "要求转入个人账户"
{extra}

[[rule.construction]]
name = "to_personal_account"
pattern = '{pattern}'
fire = [{fire}]
clean = ["请通过官方渠道还款"]
"""


def team(tmp_path: Path, extra: str = "", pattern: str = "(?P<hit>(?:转|充)到我的(?:微信|支付宝))",
         fire: str = '"钱转到我的支付宝就行"', head: str = "") -> Path:
    (tmp_path / "team.toml").write_text(textwrap.dedent(head) + RULE.format(extra=extra, pattern=pattern, fire=fire),
                                        encoding="utf-8")
    return tmp_path


def codes(d: Path) -> collections.Counter:
    return collections.Counter(p.code for p in lint([d]))


def test_a_clean_team_lexicon_passes(tmp_path):
    assert lint([team(tmp_path)]) == []
    assert main(["rules", "lint", str(tmp_path)]) == 0


def test_anchors_that_miss_what_the_pattern_accepts(tmp_path):
    """The pattern takes 支付宝 but the anchors only 微信: those matches would never run."""
    d = team(tmp_path, extra='anchors = ["微信"]')
    assert codes(d) == {"uncovered": 1}
    assert main(["rules", "lint", str(d)]) == 1


def test_anchors_declared_as_a_requirement_are_not_reported(tmp_path):
    assert codes(team(tmp_path, extra='anchors = ["微信"]\nanchors_required = true')) == {}


def test_anchors_that_cover_every_match_pass(tmp_path):
    assert codes(team(tmp_path, extra='anchors = ["到我的"]')) == {}


def test_unused_class_and_folded_characters(tmp_path):
    d = team(tmp_path, head='[classes]\nteam_unused = ["甲"]\n', pattern="(?P<hit>转到我的(?:微信|支付宝))[！]?")
    assert codes(d) == {"unused-class": 1, "folded-char": 1}


def test_construction_without_examples_and_dead_pattern(tmp_path):
    assert codes(team(tmp_path, fire="")) == {"no-examples": 1}
    assert codes(team(tmp_path, fire='"请把钱打到对公账户"')) == {"dead-pattern": 1}


def test_pattern_without_a_required_literal(tmp_path):
    assert codes(team(tmp_path, pattern="(?P<hit>[a-z]{3}\\d{2})", fire='"abc12"')) == {"ungated": 1}


def test_misspelled_subtype_is_one_line(tmp_path):
    (tmp_path / "team.toml").write_text(RULE.format(extra="", pattern="(?P<hit>到我的微信)", fire='"到我的微信"')
                                        .replace("improper_payment", "private_payment"), encoding="utf-8")
    [p] = lint([tmp_path])
    assert p.code == "load" and "did you mean 'conduct.improper_payment'" in p.detail and "\n" not in str(p)


def test_long_pattern_is_a_warning_unless_strict(tmp_path, capsys):
    d = team(tmp_path, pattern="(?P<hit>到我的(?:" + "|".join(f"账户{i:03d}" for i in range(60)) + "))",
             fire='"到我的账户007"')
    [p] = lint([d])
    assert p.code == "long-pattern" and p.warning
    assert main(["rules", "lint", str(d)]) == 0
    assert main(["rules", "lint", "--strict", str(d)]) == 1


def test_bundled_lexicons_carry_no_new_debt():
    got = collections.Counter(p.code for p in lint())
    errors = {c: n for c, n in got.items() if c not in BASELINE}
    assert not errors, [str(p) for p in lint() if p.code in errors][:10]
    over = {c: (got[c], BASELINE[c]) for c in BASELINE if got[c] > BASELINE[c]}
    assert not over, f"lint debt grew (now, baseline): {over}"


def test_rules_test_checks_a_constructions_expected_span(tmp_path, capsys):
    good = team(tmp_path, fire='{ text = "钱转到我的支付宝就行", hit = "转到我的支付宝" }')
    assert main(["rules", "test", str(good)]) == 0
    bad = team(tmp_path, fire='{ text = "钱转到我的支付宝就行", hit = "支付宝就行" }')
    assert main(["rules", "test", str(bad)]) == 1
    assert "to_personal_account: on '钱转到我的支付宝就行' should report '支付宝就行'" in capsys.readouterr().out
