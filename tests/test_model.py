"""The trained detector: fast features equal the reference features; outputs are sane."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tonecheck
from tonecheck.model.features import features
from tonecheck.normalize import normalize

CHECKER = tonecheck.default_checker()
MODEL = CHECKER.model
pytestmark = pytest.mark.skipif(MODEL is None, reason="no shipped weights in this checkout")
PIECES = ["你", "您", "不会", "没有", "别", "去", "单位", "欠", "三万", "逾期", "傻逼", "真有本事", "，", "。", " ",
          "嗯", "那个", "还款", "不还", "就", "抓你", "验证码", "他", "孩子", "学校", "123", "abc", "😀"]


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), st.sampled_from(["debtor", "third_party"]),
       st.sets(st.sampled_from(["distress", "dispute"])))
def test_fast_features_are_the_reference_features(text, cp, flags):
    """The automaton path finds exactly the known features the plain Python path makes."""
    n = normalize(text).text
    flags = frozenset(flags)
    got = sorted(MODEL._fast.sentence(n, "agent", cp, "call", flags).tolist())
    vocab = MODEL._w.vocab
    ref = sorted({vocab[f] for f in features(n, "agent", cp, "call", flags, MODEL.cues) if f in vocab and f not in ("^", "$")})
    assert got == ref


def test_scores_are_probabilities_and_the_setting_matters():
    s = MODEL.scores(normalize("他欠我们三万多，逾期半年了").text, "agent", "third_party", "call")
    assert all(0.0 <= v <= 1.0 for v in s.values())
    d = MODEL.scores(normalize("他欠我们三万多，逾期半年了").text, "agent", "debtor", "call")
    assert s["agent:privacy"] > d["agent:privacy"]


def test_model_findings_are_ordinary_findings():
    r = tonecheck.check("你这种人活着也是浪费空气", counterpart="debtor")
    mdl = [f for f in r.findings if f.rule_id.startswith("MDL-")]
    for f in mdl:
        assert f.text == r.text[f.start:f.end] and 0 < f.confidence <= 1 and "模型" in f.explanation
    off = tonecheck.Checker(model=False).check("你这种人活着也是浪费空气", counterpart="debtor")
    assert not any(f.rule_id.startswith("MDL-") for f in off.findings)


def test_thresholds_are_configurable_and_checked():
    strict = tonecheck.Checker(model_thresholds={c: 1.0 for c in MODEL.categories})
    assert not any(f.rule_id.startswith("MDL-") for f in strict.check("你这种人活着也是浪费空气").findings)
    with pytest.raises(tonecheck.ConfigError):
        tonecheck.Checker(model_thresholds={"sarcasm": 1.5})
    with pytest.raises(tonecheck.ConfigError):
        tonecheck.Checker(model_thresholds={"nonsense": 0.5})


def test_weights_are_small_and_carry_their_provenance():
    w = MODEL._w
    assert MODEL.path.stat().st_size <= 20 * 1024 * 1024
    assert {"version", "corpus_sha256_16", "thresholds"} <= set(w.meta)
    assert np.isfinite(w.W).all()


def test_model_identifier_exposure_needs_an_identifier_in_the_sentence():
    """Masked or partial numbers are the lawful way to verify: the model may not call them exposure."""
    from tonecheck.engine.model import TrainedDetector

    # language.toml's shows_identifier, as the engine compiled it
    _SHOWS_IDENTIFIER = next(d for d in CHECKER.engine.detectors if isinstance(d, TrainedDetector)).shows_identifier

    for text in ["请核对一下您尾号6071的银行卡", "身份证后四位是3X27对吗", "手机号139****0452是您本人吗",
                 "核对一下，您卡号6217 **** **** 0457，这张卡还欠一期"]:  # the ungated model flags this one
        assert not _SHOWS_IDENTIFIER.search(normalize(text).text), text
        assert not any(f.rule_id == "MDL-PRIVACY" and f.subtype == "privacy.pii_exposure"
                       for f in CHECKER.check(text).findings), text
    for text in ["他的卡号是6217003810027716", "她住在滨江路88号3单元", "我查到你的香港身份证是Z683920(4)"]:
        assert _SHOWS_IDENTIFIER.search(normalize(text).text), text


# The C path (tonecheck._grams, built when a compiler is there) and the Python path must agree
# bit for bit: the same feature ids and the same float32 probabilities.
PYTHON_PATH = None if MODEL is None else type(MODEL._fast)(MODEL._w.vocab, MODEL.cues, accelerated=False)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES + ["^", "$", "\x00", "𠀀", "說", "ab"]), max_size=40).map("".join),
       st.sampled_from(["debtor", "third_party", "unknown"]), st.sets(st.sampled_from(["distress", "dispute"])),
       st.sampled_from(["agent", "customer"]))
def test_c_and_python_paths_agree(text, cp, flags, role):
    n = normalize(text).text
    flags = frozenset(flags)
    fast = MODEL._fast
    got = fast.sentence(n, role, cp, "call", flags)
    ref = PYTHON_PATH.sentence(n, role, cp, "call", flags)
    assert got.tolist() == ref.tolist()
    assert np.array_equal(fast.probabilities(MODEL._w, got), PYTHON_PATH.probabilities(MODEL._w, ref))
    got_scored = fast.scored(MODEL._w, n, role, cp, "call", flags)  # one C call where the table holds the weights
    ref_scored = PYTHON_PATH.scored(MODEL._w, n, role, cp, "call", flags)
    assert list(got_scored.p) == list(ref_scored.p) == PYTHON_PATH.probabilities(MODEL._w, ref)
    W = MODEL._w.W
    for col in range(W.shape[1]):  # which outputs a text n-gram pushes up (in C: a bit mask from score())
        assert got_scored.carried(col, MODEL._w, fast) == ref_scored.carried(col, MODEL._w, PYTHON_PATH)
    if got_scored.fired is not None:  # the category columns that reach their thresholds, and no other
        gated = {MODEL._col[f"{sd}:{c}"]: float(np.float32(MODEL.thresholds.get(c, 1.1)))
                 for sd, cats in MODEL._cats.items() for c in cats}
        for col in range(W.shape[1]):
            assert bool(got_scored.fired >> col & 1) == (col in gated and not ref_scored.p[col] < gated[col])


def test_c_path_is_used_where_it_was_built():
    from tonecheck.model import detector

    if detector._grams is None:
        pytest.skip("tonecheck._grams was not built here (no C compiler): the Python path is in use")
    assert MODEL._fast.table is not None
    assert MODEL._fast._c_cues  # the shipped cue words fit the C table


def test_c_table_rejects_bad_input_with_a_clear_error():
    grams = pytest.importorskip("tonecheck._grams")
    with pytest.raises(ValueError, match="1 to 4 characters"):
        grams.Table(["toolong"], [0], [-1], [-1], [-1], [-1])
    with pytest.raises(ValueError, match="values, expected"):
        grams.Table(["ab"], [0, 1], [-1], [-1], [-1], [-1])
    t = grams.Table(["ab", "b"], [7, 3], [9, -1], [-1, -1], [-1, -1], [-1, -1])
    with pytest.raises(RuntimeError, match="set_language"):
        t.grams("^不ab$", True, 0, [5])
    t.set_language("", [], "", ["不"], "，", 6)
    ids = np.frombuffer(t.grams("^不ab$", True, 0, [5]), dtype=np.int64).tolist()
    assert ids == [3, 5, 7, 9]  # b, the extra id, ab and ab's negated twin
    with pytest.raises(ValueError, match="negative"):
        t.grams("^ab$", False, 0, [-2])
    many = [262_143, 0, 5, 5, 1 << 30, *range(1000, 0, -7)]  # sorted by radix past 32 ids, deduplicated
    got = np.frombuffer(t.grams("^$", False, 0, many), dtype=np.int64).tolist()
    assert got == sorted(set(many))
    with pytest.raises(IndexError):
        grams.weight_sum(np.zeros((2, 3), dtype=np.float32), np.array([2], dtype=np.int64))
    with pytest.raises(TypeError):
        grams.weight_sum(np.zeros((2, 3), dtype=np.float64), np.array([0], dtype=np.int64))


def test_memo_and_first_contact_give_the_same_findings():
    """Remembered sentences are a cache, not a second opinion."""
    texts = ["你再不还钱试试看，后果自负", "您可真有本事，半年一分钱都没还", "好的，谢谢您的配合"]
    first = [CHECKER.check(t).model_dump() for t in texts]
    again = [CHECKER.check(t).model_dump() for t in texts]
    MODEL.forget()
    cold = [CHECKER.check(t).model_dump() for t in texts]
    assert first == again == cold


def test_pure_python_paths_give_the_same_results():
    """TONECHECK_PURE_PYTHON=1 switches the C paths off; a fresh process checking corpus texts
    that way returns exactly what this one (C paths where built) returns."""
    import json
    import os
    import random
    import subprocess
    import sys
    from pathlib import Path

    from tonecheck import native

    corpus = Path(__file__).resolve().parents[1] / "corpus" / "corpus.jsonl"
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    picked = random.Random(5).sample(rows, 150)
    args = [(r["text"], r["role"] if r["role"] in ("agent", "customer") else "agent",
             r.get("counterpart") if r.get("counterpart") in ("debtor", "third_party", "unknown") else "unknown")
            for r in picked]
    here = [tonecheck.check(t, role=ro, counterpart=cp).model_dump(mode="json") for t, ro, cp in args]
    code = ("import json, sys, tonecheck\nfrom tonecheck import native\nassert not any(native.in_use().values())\n"
            "args = json.load(sys.stdin)\n"
            "print(json.dumps([tonecheck.check(t, role=ro, counterpart=cp).model_dump(mode='json') for t, ro, cp in args]))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(args), capture_output=True, text=True,
                          env={**os.environ, "TONECHECK_PURE_PYTHON": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == here
    assert any(f for r in here for f in r["findings"])  # the texts exercise the detectors
    if any(native.in_use().values()):
        assert all(native.in_use().values())  # built together or not at all


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=60), st.sampled_from(["debtor", "third_party"]), st.booleans())
def test_c_and_python_paths_agree_on_any_text(text, cp, distress):
    """Any Unicode (one-, two- and four-byte strings, astral characters, controls) reaches the
    C path only after normalisation, as in a check; it must agree with the Python path."""
    n = normalize(text).text
    flags = frozenset({"distress"}) if distress else frozenset()
    assert (MODEL._fast.sentence(n, "agent", cp, "sms", flags).tolist()
            == PYTHON_PATH.sentence(n, "agent", cp, "sms", flags).tolist())


CANON_PIECES = ["嗯", "嗯嗯", "啊", "呃", "额", "哦", "唉", "那个", "这个", "就是说", "就是", "然后", "对吧", "说",
                "，", "。", "、", "…", "~", ",", ".", "!", "?", ";", ":", "！", "？", "；", "：", " ", "\u3000", "\n",
                "\t", "1", "23", "٣", "３", "0.5", "1,000", "5.", ",6", "你", "好", "a", "𠀀", "\x00"]


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.lists(st.sampled_from(CANON_PIECES), max_size=25).map("".join), st.text(max_size=30)))
def test_c_canonical_is_the_python_canonical(text):
    if MODEL._fast.table is None:
        pytest.skip("tonecheck._grams was not built here (no C compiler): the Python path is in use")
    from tonecheck.model.features import canonical

    assert MODEL._fast.table.canonical(text) == canonical(text)


def _sequential_sums(half: np.ndarray, ids: list[int]) -> np.ndarray:
    return half[ids].astype(np.float32).sum(axis=0)  # row after row in float32, as the model sums


@pytest.mark.parametrize("shape, cols", [((300, 70), 70), ((300, 32), 28), ((300, 28), 28), ((300, 9), 5)])
def test_half_weight_sums_are_the_float32_sums(shape, cols):
    """weight_sum on a float16 matrix converts every float16 exactly and adds in the same order
    as numpy, on the processor's conversion (up to 64 columns, padded rows read) and on the
    portable one (more); on their float32 copy it gives the same sums."""
    grams = pytest.importorskip("tonecheck._grams")
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 1 << 16, size=shape, dtype=np.uint16)
    bits[(bits & 0x7C00) == 0x7C00] &= 0x83FF  # no inf or NaN: every other half, subnormals included
    bits[0, :] = np.arange(shape[1], dtype=np.uint16)  # the smallest subnormals
    half = bits.view(np.float16)
    for ids in ([], [0], [5, 5, 17], sorted(rng.choice(300, 120, replace=False).tolist())):
        got = np.frombuffer(grams.weight_sum(half, np.array(ids, dtype=np.int64), cols=cols), dtype=np.float32)
        assert np.array_equal(got, _sequential_sums(half, ids)[:cols] if ids else np.zeros(cols, np.float32))
        as32 = grams.weight_sum(half.astype(np.float32), np.array(ids, dtype=np.int64), cols=cols)
        assert np.array_equal(np.frombuffer(as32, dtype=np.float32), got)
    with pytest.raises(ValueError, match="cols"):
        grams.weight_sum(half, np.array([0], dtype=np.int64), cols=shape[1] + 1)
    with pytest.raises(IndexError):
        grams.weight_sum(half, np.array([shape[0]], dtype=np.int64), cols=cols)
    with pytest.raises(TypeError, match="float16"):
        grams.weight_sum(half.astype(np.float64), np.array([0], dtype=np.int64), cols=cols)


def test_long_sentences_agree_on_both_paths():
    """A sentence of thousands of characters (speech-to-text without punctuation) takes grams()'
    large working-memory path; the features must not change."""
    text = normalize("嗯那个你不还钱的话我们就去你单位找你领导说一说你欠三万逾期好几个月了" * 150).text
    for flags in (frozenset(), frozenset({"distress"})):
        assert (MODEL._fast.sentence(text, "agent", "third_party", "call", flags).tolist()
                == PYTHON_PATH.sentence(text, "agent", "third_party", "call", flags).tolist())


def test_a_vocabulary_the_c_table_cannot_hold_stays_with_the_python_path():
    """The C table numbers the vocabulary's characters in 15 bits; a vocabulary with more distinct
    characters is refused with a clear error, and the detector then uses the Python path."""
    grams = pytest.importorskip("tonecheck._grams")
    many = [chr(0x4E00 + i) for i in range(20_000)] + [chr(0x20000 + i) for i in range(13_000)]
    none = [-1] * len(many)
    with pytest.raises(ValueError, match="distinct characters"):
        grams.Table(many, list(range(len(many))), none, none, none, none)
    fast = type(MODEL._fast)({g: i for i, g in enumerate(many)})
    assert fast.table is None and fast.plain
    assert fast.sentence("一丁", "agent", "unknown", "call", frozenset()).tolist() == [0, 1]


def test_the_c_table_reads_characters_above_the_basic_plane():
    grams = pytest.importorskip("tonecheck._grams")
    t = grams.Table(["𠀀", "𠀀a", "a"], [4, 5, 6], [-1] * 3, [-1] * 3, [-1] * 3, [-1] * 3)
    t.set_language("", [], "", [], "", 0)
    assert np.frombuffer(t.grams("^𠀀a𠀁$", False, 0, []), dtype=np.int64).tolist() == [4, 5, 6]


def test_ids_come_out_ascending_and_distinct_on_both_orderings():
    """With weights set, ids below their row count are ordered through a bitmap; a larger extra id
    sends the call to the radix sort. Both give the ascending, distinct ids."""
    grams = pytest.importorskip("tonecheck._grams")
    t = grams.Table(["ab", "b", "a"], [7, 3, 4090], [9, -1, -1], [-1] * 3, [-1] * 3, [-1] * 3)
    t.set_language("", [], "", ["不"], "，", 6)
    half = np.zeros((5000, 32), dtype=np.float16)
    t.set_weights(half, 4, *(np.zeros(4, dtype=np.float32) for _ in range(3)))
    extra = [4999, 0, 4096, 4095, 64, 63, 7, 7]
    for text in ("^不ab$", "^abab不ab$"):
        got = np.frombuffer(t.grams(text, True, 0, extra), dtype=np.int64).tolist()
        assert got == sorted({0, 3, 7, 9, 63, 64, 4090, 4095, 4096, 4999})
        assert np.frombuffer(t.grams(text, True, 0, extra + [5000]), dtype=np.int64).tolist() == got + [5000]


def test_configured_thresholds_give_the_same_hits_on_both_paths():
    """The C path learns each category's threshold when the weights are set (and says which
    columns reach theirs); a detector with its own thresholds must find what the Python path finds."""
    from tonecheck.model.detector import ModelDetector

    thresholds = {"sarcasm": 0.2, "threat": 0.9, "insult": 0.35}
    fast, slow = ModelDetector(thresholds=thresholds), ModelDetector(thresholds=thresholds)
    slow._fast = type(slow._fast)(slow._w.vocab, slow.cues, accelerated=False)
    texts = ["".join(PIECES[(i * 7 + j * 3) % len(PIECES)] for j in range(i % 9 + 3)) for i in range(300)]
    hits = 0
    for i, t in enumerate(texts):
        n = normalize(t).text
        args = (n, [(0, len(n))], "agent" if i % 3 else "customer", ("debtor", "third_party")[i % 2], "call")
        got = fast.detect(*args)
        assert got == slow.detect(*args)
        hits += len(got)
    assert hits > 50  # the texts do reach the thresholds


def test_the_memo_keeps_at_most_its_size_dropping_the_oldest():
    from tonecheck.model.detector import _Memo

    memo = _Memo(3)
    a, b = memo.table(("agent", "debtor")), memo.table(("agent", "third_party"))
    for i in range(3):
        memo.put(a, f"a{i}", None)
    memo.put(a, "a3", None)  # full: a0, the oldest of this setting, goes
    assert list(a) == ["a1", "a2", "a3"] and len(memo) == 3
    memo.put(b, "b0", None)  # this setting has none: another's oldest goes
    assert list(a) == ["a2", "a3"] and list(b) == ["b0"] and len(memo) == 3
    memo.clear()
    assert len(memo) == 0 and not memo.table(("agent", "debtor"))


def test_explain_names_the_evidence_a_model_finding_would_name():
    """``tonecheck explain`` shows, for the likeliest subtype, the n-grams the detector itself
    gives as a finding's evidence (one code path, not a second ranking)."""
    import re

    from tonecheck.explain import explain
    from tonecheck.engine import sentence_spans

    text = "你真有本事啊，欠钱不还还这么横"
    out = explain(CHECKER, text)
    got = re.findall(r"最可能的子类：([a-z_.]+)（[^）]*）[0-9.]+；依据：(.*)", out)
    assert got, out
    norm = normalize(text)
    sents = [norm.text[s:e] for s, e in sentence_spans(norm)]
    for (subtype, shown), sent in zip(got, sents):
        ev = MODEL.evidence(sent, subtype, "agent", "unknown", "call")
        assert shown == ("、".join(f"「{g}」" for g in ev) or "无")
