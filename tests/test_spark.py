"""tonecheck.spark in local mode (local[2]): results equal the in-process checker and the batch command.

One Spark session for the run (conftest ``spark``); the corpus is built once per module from the
repository's examples, the batch fixtures and generated calls (benchmarks/gen_corpus.py), with
variants for listener inference, channels, night calls, time zones and repeated unanswered attempts.
"""
from __future__ import annotations

import json
import random
import runpy
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")

import tonecheck  # noqa: E402
from tonecheck import spark as tcs  # noqa: E402
from tonecheck.batch import RunOptions, run_batch  # noqa: E402
from tonecheck.batch.config import BatchConfig  # noqa: E402
from tonecheck.batch.readers import read_path  # noqa: E402
from tonecheck.pii import mask_result  # noqa: E402
from tonecheck.models import Conversation  # noqa: E402
from tonecheck.spark import job, worker as W  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from gen_corpus import ROW_COLUMNS as COLS, make_conversation, utterance_rows as to_rows  # noqa: E402

def _variant(conv: dict, i: int, rnd: random.Random) -> dict:
    """Vary a generated call: unknown listener with a relative answering, channels, zones, bad times."""
    conv = json.loads(json.dumps(conv, ensure_ascii=False))
    k = i % 7
    if k == 1:
        conv["counterpart"] = "unknown"
        conv["utterances"][1]["text"] = rnd.choice(["他不在，我是他爱人。", "我是他同事，他出去了。", "你打错了吧，我是他妈妈。"])
    elif k == 2:
        conv["channel"] = "visit"
    elif k == 3:
        conv["metadata"]["call_start"] = f"2026-11-28T{rnd.choice([1, 5, 13, 15])}:{rnd.randint(10, 59)}:00+00:00"
    elif k == 4:
        conv["metadata"]["call_start"] = "昨天下午"          # not a date-time: a warning, no contact check
    elif k == 5:
        conv["channel"] = "sms"
        conv["counterpart"] = "third_party"
    return conv


def build_corpus() -> list[dict]:
    """A few hundred conversations in the core schema (ids unique), attempts included."""
    convs: list[dict] = []
    for path in sorted((ROOT / "examples").glob("*.*")) + sorted((ROOT / "tests/fixtures/batch/mixed").rglob("*.*")):
        if path.suffix not in (".json", ".jsonl", ".csv", ".txt", ".srt", ".tsv"):
            continue
        for item in read_path(path).items:
            if isinstance(item, Conversation):
                d = item.model_dump(mode="json")
                d["id"] = f"ex-{path.stem}-{d['id']}"
                convs.append(d)
    rnd = random.Random(13)
    for i in range(240):
        convs.append(_variant(make_conversation(i, rnd, bad_rate=0.3), i, rnd))
    for c in range(6):                         # two contacts dialled past the daily limit, others not
        tries = 9 if c < 2 else 3
        for j in range(tries):
            convs.append({"id": f"ATT-{c}-{j}", "counterpart": "unknown", "channel": "call", "utterances": [],
                          "metadata": {"agent_id": f"A{c:03d}", "contact_id": f"1370000{c:04d}",
                                       "call_start": f"2026-11-28 {7 + j:02d}:{10 + c:02d}:00", "outcome": "unanswered"}})
    return convs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    convs = build_corpus()
    rows = to_rows(convs)
    d = tmp_path_factory.mktemp("spark-corpus")
    (d / "rows.jsonl").write_text("\n".join(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False)
                                            for r in rows) + "\n", encoding="utf-8")
    return convs, rows, d


def _frame(spark, rows, shuffle=True):
    import pandas as pd

    rows = list(rows)
    if shuffle:
        random.Random(5).shuffle(rows)              # Spark keeps no row order; the order column does
    return spark.createDataFrame(pd.DataFrame(rows, columns=COLS).astype(object).where(lambda x: x.notna(), None),
                                 "conversation_id string, turn long, speaker string, text string, agent_id string, "
                                 "call_start string, contact_id string, outcome string, counterpart string, channel string")


@pytest.fixture(scope="module")
def checked(spark, corpus):
    convs, rows, d = corpus
    df = _frame(spark, rows)
    turns = tcs.check_conversations(df, "conversation_id", "turn", "speaker", "text", counterpart="counterpart",
                                    channel="channel", agent_id="agent_id", call_start="call_start",
                                    contact_id="contact_id", outcome="outcome", partitions=4).persist()
    calls = tcs.score_calls(turns).persist()
    report = run_batch([str(d / "rows.jsonl")], RunOptions(config=BatchConfig(), jobs=1))
    return turns, calls, report


def test_spark_equals_in_process_and_batch(checked, corpus):
    """A few hundred varied calls: every turn's findings, spans, rewrites and listener equal
    check_conversation in-process; every call's score, findings and warnings, the per-agent and
    per-rule tables and the summary figures equal the batch command's on the same rows."""
    convs, rows, _ = corpus
    turns, calls, report = checked
    got = {(r["conversation_id"], r["turn"]): r.asDict(recursive=True) for r in turns.collect()}
    assert len(got) == len(rows) and len(convs) > 250

    checker = tonecheck.default_checker()
    n_turns = 0
    for c in convs:
        if not c["utterances"]:
            assert got[(c["id"], 0)]["status"] == "metadata"
            continue
        res = checker.check_conversation(c)
        for t, u in enumerate(res.utterances):
            want = mask_result(u)
            row = got[(c["id"], t)]
            assert row["status"] == "ok" and row["turn_index"] == t, row
            assert row["text"] == want.text and row["rewrite"] == want.rewrite and row["truncated"] == want.truncated
            assert row["counterpart"] == res.counterparts[t] and row["speaker"] == u.role
            assert row["findings"] == [f.model_dump(mode="json") for f in want.findings], (c["id"], t)
            n_turns += 1
    assert n_turns > 1500

    batch = {r["id"]: r for r in report["conversations"]}
    spark_calls = {r["conversation_id"]: r.asDict(recursive=True) for r in calls.collect()}
    assert set(batch) == set(spark_calls)
    for cid, b in batch.items():
        s = spark_calls[cid]
        assert s["status"] == b["status"], cid
        assert s["score"] == (b["score"] and b["score"]["score"])
        if b["status"] != "ok":
            continue
        assert (s["critical"], s["passed"], s["deductions"]) == (b["score"]["critical"], b["score"]["passed"],
                                                                 b["score"]["deductions"]), cid
        assert s["findings"] == [{k: v for k, v in f.items() if k != "time"} for f in b["findings"]], cid
        assert s["warnings"] == b.get("warnings", []), cid
        assert (s["agent_id"], s["outcome"], s["turns"]) == (b["agent_id"], b["outcome"], len(b["turns"]))
    kinds = {f["subtype"] for r in spark_calls.values() for f in r["findings"]}
    assert {"contact.night_call", "contact.too_many_attempts", "privacy.third_party_disclosure"} <= kinds
    assert any(r["warnings"] for r in spark_calls.values())

    agents = [r.asDict(recursive=True) for r in tcs.agent_summary(calls).orderBy("agent_id").collect()]
    assert agents == report["aggregates"]["agents"]
    rules = sorted((r.asDict() for r in tcs.rule_summary(calls).collect()), key=lambda e: (-e["hits"], e["rule_id"]))
    assert rules == report["aggregates"]["rules"]

    summary = tcs.run_summary(turns, calls)
    want = report["summary"]
    for k in ("conversations", "utterances", "findings_by_category", "violations_by_severity", "violations",
              "risk_signals", "conversations_with_violations", "mean_score", "passed", "critical", "calls",
              "self_harm", "attempts"):
        assert summary[k] == want[k], k
    assert summary["rows"]["total"] == len(rows)


def test_contact_table_lists_every_contact_finding(checked):
    _, calls, report = checked
    table = tcs.contact_table(calls).collect()
    want = sorted((r["id"], f["rule_id"]) for r in report["conversations"] for f in r["findings"]
                  if f["category"] == "contact")
    assert sorted((r["conversation_id"], r["rule_id"]) for r in table) == want
    assert all(r["contact_id"] is None or "*" in r["contact_id"] for r in table)       # masked


def test_bad_rows_become_status_rows_and_big_calls_pass(spark):
    """Null text, text over the limit, unknown speaker, null conversation id, null or repeated
    order: one status row each, the rest of the conversation skipped; a 2,000-turn call is
    checked whole; a conversation over max_turns is rejected without being gathered."""
    long = "请" * (tonecheck.MAX_TEXT_CHARS + 1)
    rows = [
        ("ok", 0, "坐席", "您好，请问是王先生吗？"), ("ok", 1, "客户", "是我。"),
        ("nulltext", 0, "坐席", "您好"), ("nulltext", 1, "客户", None), ("nulltext", 2, "坐席", "我的卡号是6222021234567890128"),
        ("long", 0, "坐席", long),
        ("label", 0, "主叫", "你好"), ("label", 1, "坐席", "你好"),
        (None, 0, "坐席", "no id"), (None, 1, "坐席", "no id either 13912345678"),
        ("noorder", None, "坐席", "你好"),
        ("dup", 1, "坐席", "你好"), ("dup", 1, "客户", "嗯"),
        ("many", 0, "坐席", "a"), ("many", 1, "客户", "b"), ("many", 2, "坐席", "c"),
    ]
    rows += [("big", t, "坐席" if t % 2 == 0 else "客户", "你再不还钱，我就去你单位闹" if t == 1998 else "好的，我知道了。")
             for t in range(2000)]
    import pandas as pd

    pdf = pd.DataFrame(rows, columns=["cid", "seq", "role", "text"]).astype(object)
    pdf["seq"] = pdf["seq"].astype("Int64")
    df = spark.createDataFrame(pdf.where(pdf.notna(), None), "cid string, seq long, role string, text string")
    out = tcs.check_conversations(df, "cid", "seq", "role", "text", max_turns=2000, partitions=2,
                                  keep=["cid"]).collect()
    assert len(out) == len(rows)                   # nothing dropped
    by = {}
    for r in out:
        by.setdefault(r["cid"], []).append(r)
    assert {r["status"] for r in by["ok"]} == {"ok"}
    nt = {r["seq"]: r for r in by["nulltext"]}
    assert (nt[1]["status"], nt[1]["reason"]) == ("error", "null text")
    assert nt[0]["status"] == nt[2]["status"] == "skipped" and "turn order 1: null text" in nt[0]["reason"]
    assert "6222021234567890128" not in nt[2]["text"]            # masked even when not checked
    assert by["long"][0]["status"] == "error" and "the limit is 20000" in by["long"][0]["reason"]
    lab = {r["seq"]: r for r in by["label"]}
    assert lab[0]["status"] == "error" and "unknown speaker label '主叫'" in lab[0]["reason"]
    assert lab[1]["status"] == "skipped"
    assert [r["status"] for r in by[None]] == ["error", "error"]
    assert {r["reason"] for r in by[None]} == {"null conversation id"}
    assert all("13912345678" not in r["text"] for r in by[None])
    assert by["noorder"][0]["reason"] == "null turn order"
    assert {r["status"] for r in by["dup"]} == {"error"} and "appears 2 times" in by["dup"][0]["reason"]
    big = sorted(by["big"], key=lambda r: r["seq"])
    assert len(big) == 2000 and {r["status"] for r in big} == {"ok"}
    assert "threat.exposure" in [f["subtype"] for f in big[-2]["findings"]]
    assert not any(r["findings"] for r in big[:-2])
    small = tcs.check_conversations(df.filter("cid = 'many'"), "cid", "seq", "role", "text", max_turns=2).collect()
    assert [r["status"] for r in small] == ["error"] * 3
    assert small[0]["reason"] == "conversation has more than 2 rows; the limit is 2"


def test_timestamp_call_start_is_local_time_in_the_configured_offset(spark):
    """A TIMESTAMP call_start is an instant: 15:30 UTC is 23:30 at +08:00, a night call, whatever the
    session time zone (UTC in the tests)."""
    import datetime as dt

    import pandas as pd

    at = dt.datetime(2026, 11, 28, 15, 30, tzinfo=dt.timezone.utc)
    pdf = pd.DataFrame({"cid": ["n1", "n1"], "seq": [0, 1], "role": ["坐席", "客户"],
                        "text": ["您好，请问是王先生吗？", "是我。"], "ts": [at, at]})
    df = spark.createDataFrame(pdf)
    assert df.schema["ts"].dataType.typeName() == "timestamp"
    call = tcs.score_calls(tcs.check_conversations(df, "cid", "seq", "role", "text", call_start="ts")).first()
    assert [f["subtype"] for f in call["findings"]] == ["contact.night_call"]
    assert "23:30" in call["findings"][0]["explanation"]


def test_check_utterances_rows_and_team_lexicon(spark):
    """Each row on its own: labels mapped, bad rows as status rows, findings equal check();
    a team lexicon reaches the executors; each Python worker built its checker once."""
    import pandas as pd

    cfg = BatchConfig(lexicons=[str(ROOT / "examples/team_rules")], model=False)     # rules only: a quick build
    texts = [("1", "你这个老赖，赶紧还钱", "坐席", "短信"), ("2", "今天还清利息全免", "agent", "call"),
             ("3", None, "坐席", "call"), ("4", "你好", "旁听", "call"), ("5", "我不想活了", "客户", "call"),
             ("6", "我的手机号是13912345678", "坐席", "传真")] * 5
    df = spark.createDataFrame(pd.DataFrame(texts, columns=["id", "body", "who", "via"]))
    out = {r["id"]: r.asDict(recursive=True) for r in tcs.check_utterances(df, "body", role="who", channel="via", keep=["id"], config=cfg,
                                                   partitions=6).collect()}
    assert len(out) == 6
    checker = W.checker_for(W.Spec.build(cfg))
    want = mask_result(checker.check("你这个老赖，赶紧还钱", role="agent", channel="sms"))
    assert out["1"]["findings"] == [f.model_dump(mode="json") for f in want.findings]
    assert out["1"]["channel"] == "sms" and out["1"]["rewrite"] == want.rewrite
    assert [f["rule_id"] for f in out["2"]["findings"]] == ["TEAM-CON-001"]
    assert (out["3"]["status"], out["3"]["reason"]) == ("error", "null text")
    assert out["4"]["status"] == "error" and "unknown role '旁听'" in out["4"]["reason"]
    assert [f["category"] for f in out["5"]["findings"]] == ["risk"] and out["5"]["role"] == "customer"
    assert out["6"]["status"] == "error" and "unknown channel" in out["6"]["reason"]
    assert "13912345678" not in out["6"]["text"]
    rows = tcs.explode_findings(tcs.check_utterances(df.filter("id = '1'"), "body", role="who", keep=["id"])).collect()
    assert len(rows) == 5 * len(want.findings) and rows[0]["finding_text"] == want.findings[0].text

    def builds(batches):
        import os

        for _ in batches:
            yield pd.DataFrame({"pid": [os.getpid()], "builds": [json.dumps(dict(W.BUILDS))]})

    seen = spark.range(0, 8, numPartitions=8).mapInPandas(builds, "pid long, builds string").collect()
    counts = [n for r in seen for n in json.loads(r["builds"]).values()]
    assert counts and max(counts) == 1          # a worker that checked built each configuration once


def test_schema_follows_the_finding_model():
    """The Spark struct is derived from the pydantic model: a field added to Finding appears."""
    from pydantic import Field
    from pyspark.sql import types as T

    s = tcs.finding_struct()
    assert s.names == list(tonecheck.Finding.model_fields)
    kinds = {f.name: f.dataType for f in s.fields}
    assert kinds["start"] == T.LongType() and kinds["confidence"] == T.DoubleType()
    assert kinds["severity"] == T.StringType() and kinds["auto_apply"] == T.BooleanType()
    assert s["message"].metadata["comment"].startswith("What is wrong")
    assert tcs.call_finding_struct().names[:2] == ["turn", "speaker"]

    class Later(tonecheck.Finding):
        merged_from: list[str] = Field(default_factory=list, description="rule ids merged into this one")
        model_score: float | None = None

    later = tcs.struct_from_model(Later)
    assert later.names[-2:] == ["merged_from", "model_score"]
    assert later["merged_from"].dataType == T.ArrayType(T.StringType(), True)
    assert later["model_score"].dataType == T.DoubleType()


def test_job_parquet_in_results_out_equal_batch(spark, corpus, tmp_path, capsys):
    """python -m tonecheck.spark on a Parquet dataset: every output written, the summary figures
    equal the batch command's; a table in, tables out; usage errors are one line, exit 2."""
    import pandas as pd

    convs, rows, d = corpus
    some = [r for r in rows if r["conversation_id"].startswith(("CALL-00000", "CALL-00001", "ATT-0", "ex-calls"))]
    src = tmp_path / "in.parquet"
    pd.DataFrame(some, columns=COLS).assign(dt="2026-11-28").to_parquet(src)
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps({k: v for k, v in r.items() if v is not None},
                                                              ensure_ascii=False) for r in some), encoding="utf-8")
    out = tmp_path / "qa"
    argv = [str(src), "-o", str(out), "--partition-by", "dt", "--output-partitions", "1", "--partitions", "2",
            "--no-model", "--no-config"]
    old = sys.argv
    sys.argv = ["tonecheck.spark", *argv]
    try:
        with pytest.raises(SystemExit) as ex:
            runpy.run_module("tonecheck.spark", run_name="__main__")
    finally:
        sys.argv = old
    assert ex.value.code == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert saved == line
    batch = run_batch([str(tmp_path / "rows.jsonl")], RunOptions(config=BatchConfig(model=False), jobs=1))["summary"]
    for k in ("conversations", "utterances", "findings_by_category", "violations", "mean_score", "passed", "critical"):
        assert line[k] == batch[k], k
    assert line["rows"]["total"] == len(some) and line["columns"]["order"] == "turn"
    for name in ("turns", "calls", "agents", "rules", "contact"):
        assert spark.read.parquet(str(out / name)).count() > 0, name
    assert spark.read.parquet(str(out / "turns")).filter("text like '%13912345678%'").count() == 0
    assert [p.name for p in (out / "turns").glob("dt=*")] == ["dt=2026-11-28"]
    assert len(list((out / "calls").glob("*.parquet"))) == 1

    assert job.main([str(src), "-o", str(out)], spark=spark) == 2           # exists, no --overwrite
    assert "already exists (use --overwrite)" in capsys.readouterr().err
    assert job.main([str(src), "-o", str(tmp_path / "x"), "--speaker", "nope"], spark=spark) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tonecheck.spark: error: --speaker nope: no such column") and "\n" not in err

    spark.read.parquet(str(src)).createOrReplaceTempView("ods_utterances")
    assert job.main(["--table", "ods_utterances", "--where", "conversation_id like 'CALL%'", "--save-tables", "qa_day",
                     "--partitions", "2", "--mode", "utterances", "--keep", "conversation_id", "--no-model"], spark=spark) == 0
    assert spark.table("qa_day_utterances").count() == sum(r["conversation_id"].startswith("CALL") for r in some)
    assert job.main(["--table", "ods_utterances", "--where", "nope = 1", "--save-tables", "qa_x"], spark=spark) == 2
    assert "--where 'nope = 1'" in capsys.readouterr().err
    spark.sql("DROP TABLE IF EXISTS qa_day_utterances")


def test_by_group_hands_every_group_over_whole_once():
    """Groups cut by Arrow batch boundaries (a 2,000-row one across several) arrive whole, once;
    with a limit, the big group streams to too_big in pieces and is never gathered."""
    import pandas as pd

    keys = ["a"] * 3 + ["b"] * 2000 + ["c"] + ["d"] * 5
    frame = pd.DataFrame({"k": keys, "v": range(len(keys))})
    batches = [frame.iloc[i:i + 256] for i in range(0, len(frame), 256)] + [frame.iloc[0:0]]
    seen: list[tuple[str, int, int]] = []
    big: list[int] = []

    def rows_of(g):
        seen.append((g["k"][0], len(g["k"]), g["v"][0]))
        return {"k": [g["k"][0]], "n": [len(g["k"])]}

    out = pd.concat(list(W.by_group(iter(batches), "k", rows_of, ["k", "n"])))
    assert seen == [("a", 3, 0), ("b", 2000, 3), ("c", 1, 2003), ("d", 5, 2004)]
    assert list(out["n"]) == [3, 2000, 1, 5]

    def too_big(g):
        big.append(len(g["k"]))
        return {"k": g["k"], "n": [-1] * len(g["k"])}

    seen.clear()
    out = pd.concat(list(W.by_group(iter(batches), "k", rows_of, ["k", "n"], limit=300, too_big=too_big)))
    assert [k for k, _, _ in seen] == ["a", "c", "d"] and sum(big) == 2000 and max(big) <= 300 + 256
    assert len(out) == 1 + 2000 + 1 + 1          # one row per small group, every row of the big one


def test_rule_rows_do_not_depend_on_record_order():
    """The per-rule table is the same whatever order the calls come in (Spark has no file order):
    a rule whose hits differ in subtype (the model's MDL-* findings) shows its most frequent one."""
    from tonecheck.batch.scoring import rule_rows

    def hit(sub, sev="medium"):
        return {"rule_id": "MDL-INSULT", "subtype": sub, "category": "insult", "severity": sev}

    records = [{"findings": [hit("insult.abuse")]}, {"findings": [hit("insult.demeaning"), hit("insult.demeaning")]},
               {"findings": [hit("insult.abuse", "high")]}]
    rows = [rule_rows(order, 10) for order in (records, records[::-1], records[1:] + records[:1])]
    assert rows[0] == rows[1] == rows[2]
    assert rows[0] == [{"rule_id": "MDL-INSULT", "subtype": "insult.demeaning", "category": "insult",
                        "severity": "medium", "hits": 4, "conversations": 3, "rate": 0.3}]
