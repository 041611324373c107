"""The regex prefilter may only skip a pattern when it cannot match."""
from __future__ import annotations

import pytest

import tonecheck
from tonecheck.normalize import normalize
from tonecheck.prefilter import required_literals

CHECKER = tonecheck.default_checker()


@pytest.mark.parametrize("pattern, expected", [
    # optional parts join the run both ways
    ("(?:你|您)(?:自己)?信(?:吗|嘛)", {frozenset(a + b + "信" + c for a in "你您" for b in ("", "自己") for c in "吗嘛")}),
    ("(?:转|打)(?:给)?我", {frozenset({"转我", "转给我", "打我", "打给我"})}),
    ("abc[de]f", {frozenset({"abcdf", "abcef"})}),
    ("(?:甲|乙)?丙", {frozenset({"丙"})}),                       # an optional part is not required
    ("(?P<hit>去你(?:单位|公司))", {frozenset({"去你单位", "去你公司"})}),
])
def test_required_literals(pattern, expected):
    assert set(required_literals(pattern)) == expected


@pytest.mark.parametrize("pattern, expected", [
    # a top-level alternation: each branch needs its own literals
    ("(?:手机|电话)[^,]{0,9}停机|强制停机", [[{"停机"}, {"手机", "电话"}], [{"强制停机"}]]),
    # inside the hit group, with fixed parts around it that every branch needs
    ("好(?P<hit>甲乙|丙丁)吗", [[{"甲乙"}, {"好"}, {"吗"}], [{"丙丁"}, {"好"}, {"吗"}]]),
    ("(?P<w>不错|可以)(?P=w)|666", [[{"不错不错", "可以可以"}], [{"666"}]]),   # a repeated word
    ("甲乙丙", None),                                                          # no alternation
    ("甲|[a-z]+", None),                                                       # a branch with no literal
])
def test_branch_literals(pattern, expected):
    from tonecheck.prefilter import branch_literals

    got = branch_literals(pattern)
    if expected is None:
        assert got is None
    else:
        assert [sorted(map(set, b), key=sorted) for b in got] == [sorted(b, key=sorted) for b in expected]


def test_unreadable_pattern_has_no_gate():
    assert required_literals(r"\p{Han}+") is None or all(required_literals(r"\p{Han}+"))


def _texts() -> list[str]:
    out = []
    for rule in CHECKER.rules:
        out += [ex.text for ex in (*rule.examples.fire, *rule.examples.clean)]
    return out


def test_gates_never_reject_a_text_the_pattern_matches():
    """Soundness over every bundled pattern and every example text."""
    engine = CHECKER.engine
    literals = engine.rules.literals.words
    texts = [normalize(t).text for t in _texts()]
    bad = []
    for c in engine.compiled:
        for k, unit in enumerate(c.patterns):
            gates = unit.gates
            if not gates:
                continue
            rx = unit.regex.get()
            for text in texts:
                if not rx.search(text):
                    continue
                if any(all(literals[p] not in text for p in g) for g in gates):
                    bad.append(f"{c.rule.id} pattern {k} matches {text!r} but a gate misses it")
                seen = {p for b in unit.branches for g in b for p in g if literals[p] in text}
                if unit.branches and not unit.may_match(seen | set().union(*gates)):
                    bad.append(f"{c.rule.id} {unit.name} matches {text!r} but no branch's gates pass")
    assert not bad, "\n".join(bad[:20])


def test_stdlib_twin_matches_like_the_regex_module():
    """Patterns run on `re` where their syntax allows; the matches must be the same as `regex`'s."""
    from tonecheck.engine.search import stdlib_compile as _stdlib_compile

    texts = [normalize(t).text for t in _texts()]
    bad = []
    for c in CHECKER.engine.compiled:
        for lazy in (*(u.regex for u in c.patterns), *c.unless, *c.requires, *c.cues):
            twin = _stdlib_compile(lazy.pattern)
            if twin is None:
                continue
            full = lazy.get()
            for text in texts:
                a = [m.span() for m in twin.finditer(text)]
                b = [m.span() for m in full.finditer(text)]
                if a != b:
                    bad.append(f"{c.rule.id}: {lazy.pattern[:40]}… differs on {text!r}")
                    break
    assert not bad, "\n".join(bad[:20])


def test_gate_cache_round_trip_and_an_unwritable_directory(tmp_path, monkeypatch):
    """The on-disk cache gives the same gates as the analysis, and never gets in the way."""
    from tonecheck.prefilter import GateCache

    pats = [r"(?:你|您)个(?:傻逼|废物)", r"去你(?:单位|公司)闹", r"\p{Han}+"]
    monkeypatch.setenv("TONECHECK_CACHE_DIR", str(tmp_path / "c"))
    first = GateCache(pats)
    got = [first.get(p) for p in pats]
    first.save()
    assert got == [required_literals(p) for p in pats]
    again = GateCache(pats)
    assert again.path.is_file() and [again.get(p) for p in pats] == got
    (tmp_path / "ro").write_text("a file, not a directory")
    monkeypatch.setenv("TONECHECK_CACHE_DIR", str(tmp_path / "ro"))
    broken = GateCache(pats)
    assert [broken.get(p) for p in pats] == got
    broken.save()  # cannot write: silently not cached


def _corpus_texts(n: int) -> list[str]:
    import json
    import random
    from pathlib import Path

    rows = [json.loads(line)["text"] for line in
            (Path(__file__).resolve().parents[1] / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    return random.Random(12).sample(rows, n)


def test_c_gate_index_chooses_the_patterns_the_python_loop_chooses():
    """The optional C gate index (tonecheck._gates) and RuleDetector's Python loop agree on
    which patterns may run, for every setting's rule selection."""
    from tonecheck.engine.compile import Setting
    from tonecheck.engine.search import Deadline

    engine = tonecheck.default_checker().engine
    rs, det = engine.rules, engine.detectors[0]
    if rs.gate_index is None:
        pytest.skip("tonecheck._gates was not built here (no C compiler): the Python loop is in use")
    settings = [Setting("agent", "debtor", "call", frozenset()), Setting("agent", "third_party", "sms", frozenset({"distress"})),
                Setting("agent", "unknown", "visit", frozenset({"dispute"})), Setting("customer", "unknown", "call", frozenset())]
    checked = 0
    for text in _corpus_texts(1500) + ["", "你", "傻逼" * 50]:
        doc = engine.doc(normalize(text), Deadline(10))
        for st in settings:
            tables = rs.tables(st)
            by_c: dict[int, set[int]] = {}
            for ri, k in rs.gate_index.query(doc.found, tables.ok):
                by_c.setdefault(ri, set()).add(k)
            by_python: dict[int, set[int]] = {}
            det._gated_patterns(doc.found, tables, by_python)
            assert by_c == by_python, text
            checked += bool(by_c)
    assert checked > 1000  # most texts leave some pattern to run


def test_c_gate_index_rejects_bad_input():
    gates = pytest.importorskip("tonecheck._gates")
    with pytest.raises(ValueError, match="out of range"):
        gates.GateIndex(3, [(0, 0, [5], [], [])], [[]])
    gi = gates.GateIndex(4, [(0, 0, [1], [[2, 3]], []), (0, 1, [1], [], [[[0]], [[3]]])], [[]])
    assert sorted(gi.query({1, 3}, b"\x01")) == [(0, 0), (0, 1)]
    assert gi.query({1}, b"\x01") == []
    assert gi.query({1, 3}, b"\x00") == []
    with pytest.raises(ValueError, match="flags"):
        gi.query({1}, b"\x01\x01")
    with pytest.raises(ValueError, match="out of range"):
        gi.query({9}, b"\x01")
    assert sorted(gi.query({1, 3}, b"\x01")) == [(0, 0), (0, 1)]  # a failed query leaves no bits behind
