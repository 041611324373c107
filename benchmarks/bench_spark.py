"""Spark throughput: turns/s of the in-process batch (--jobs 1), Spark local[1] and local[2] on the same data.

Usage:  python benchmarks/bench_spark.py [--n 3000] [--repeat 2] [--json out.json]

Generates calls with benchmarks/gen_corpus.py (plus unanswered attempts), writes them once as
utterance rows in JSONL (what ``tonecheck check`` reads) and in Parquet (what a data platform
holds), then times, on the same rows, in one run:

* ``run_batch`` with one job (reading, checking, contact policy, scores, aggregates) and writing its
  JSON report, as ``tonecheck check -o report.json --jobs 1`` does, best of --repeat;
* the Spark pipeline of ``python -m tonecheck.spark`` (check_conversations -> turns Parquet,
  score_calls -> calls Parquet, agents and rules Parquet) in ``local[1]`` and ``local[2]``, each in
  its own process (a JVM has one master), best of --repeat after one warm-up run; session start-up
  and the warm-up (JVM, Python workers) are reported apart.

Reported: turns/s for each, Spark's overhead per turn against in-process at local[1], the speed-up
from 1 to 2 cores, and the memory of one Python worker with its checker (lexicons loaded).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_corpus import ROW_COLUMNS, make_conversation, utterance_rows  # noqa: E402


def corpus(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    convs = [make_conversation(i, rnd, 0.08) for i in range(n)]
    for k in range(max(1, n // 20)):
        phone = f"137{rnd.randint(0, 99999999):08d}"
        for j in range(rnd.choice([1, 2, 3, 4] * 5 + [8, 10])):
            convs.append({"id": f"ATT-{k:05d}-{j}", "counterpart": "unknown", "channel": "call", "utterances": [],
                          "metadata": {"agent_id": f"A{rnd.randint(1, 30):03d}", "contact_id": phone,
                                       "call_start": f"2026-11-28 {8 + j:02d}:{rnd.randint(0, 59):02d}:00",
                                       "outcome": "unanswered"}})
    return convs


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root`` and every process under it (the JVM, the Python daemon
    and its workers), including their exited children: Spark's work, whatever the wall clock says."""
    procs: dict[int, tuple[int, int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        procs[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += procs.get(pid, (0, 0))[1]
        todo.extend(kids.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def spark_child(master: str, parquet: str, out: str, repeat: int, partitions: int) -> None:
    """In a fresh process: start a session, warm up once, then time the pipeline ``repeat`` times."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("tonecheck-bench").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(partitions))
             .config("spark.python.daemon.module", "tonecheck.spark_daemon").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    from pyspark.sql import functions as F

    from tonecheck import spark as tcs

    started = time.perf_counter() - t0

    def pipeline(dest: str) -> dict:
        df = spark.read.parquet(parquet)
        turns = tcs.check_conversations(df, "conversation_id", "turn", "speaker", "text", counterpart="counterpart",
                                        channel="channel", agent_id="agent_id", call_start="call_start",
                                        contact_id="contact_id", outcome="outcome", partitions=partitions)
        c0 = tree_cpu_seconds(os.getpid())
        t = time.perf_counter()
        turns.write.mode("overwrite").parquet(f"{dest}/turns")
        check_s = time.perf_counter() - t
        turns = spark.read.parquet(f"{dest}/turns")
        calls = tcs.score_calls(turns, conversation="conversation_id", partitions=partitions)
        calls.write.mode("overwrite").parquet(f"{dest}/calls")
        calls = spark.read.parquet(f"{dest}/calls")
        tcs.agent_summary(calls, "conversation_id").write.mode("overwrite").parquet(f"{dest}/agents")
        tcs.rule_summary(calls, "conversation_id").write.mode("overwrite").parquet(f"{dest}/rules")
        total_s = time.perf_counter() - t
        cpu = tree_cpu_seconds(os.getpid()) - c0
        ok = turns.filter(F.col("status") == "ok").count()
        return {"check_seconds": check_s, "total_seconds": total_s, "cpu_seconds": cpu, "turns": ok}

    t = time.perf_counter()
    pipeline(f"{out}/warm")
    warm = time.perf_counter() - t
    runs = [pipeline(f"{out}/run{i}") for i in range(repeat)]

    def rss(batches):
        import pandas as pd

        from tonecheck.spark import worker as W

        W.checker_for(W.Spec.build())
        status = Path("/proc/self/status").read_text()
        kb = {ln.split(":")[0]: int(ln.split()[1]) for ln in status.splitlines() if ln.startswith(("VmRSS", "RssAnon"))}
        for _ in batches:
            yield pd.DataFrame({"rss_kb": [kb.get("VmRSS", 0)], "anon_kb": [kb.get("RssAnon", 0)]})

    mem = spark.range(0, 2, numPartitions=2).mapInPandas(rss, "rss_kb long, anon_kb long").collect()
    best = min(runs, key=lambda r: r["total_seconds"])
    print(json.dumps({"master": master, "session_start_seconds": round(started, 2), "warmup_seconds": round(warm, 2),
                      **{k: round(v, 3) if isinstance(v, float) else v for k, v in best.items()},
                      "all_total_seconds": [round(r["total_seconds"], 2) for r in runs],
                      "worker_rss_mb": round(max(m["rss_kb"] for m in mem) / 1024, 1),
                      "worker_private_mb": round(max(m["anon_kb"] for m in mem) / 1024, 1)}))
    spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="calls to generate (plus unanswered attempts)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=0, help="Spark partitions (default: 3 per core)")
    ap.add_argument("--json")
    ap.add_argument("--child", nargs=4, metavar=("MASTER", "PARQUET", "OUT", "PARTITIONS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        spark_child(a.child[0], a.child[1], a.child[2], a.repeat, int(a.child[3]))
        return

    import pandas as pd

    from tonecheck.batch import RunOptions, run_batch
    from tonecheck.batch.config import BatchConfig
    from tonecheck.batch.report import write_json
    from tonecheck.batch.runner import build_checker

    tmp = Path(tempfile.mkdtemp(prefix="tonecheck-bench-spark-"))
    rows = utterance_rows(corpus(a.n))
    (tmp / "rows.jsonl").write_text("\n".join(json.dumps({k: v for k, v in r.items() if v is not None},
                                                         ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    pd.DataFrame(rows, columns=ROW_COLUMNS).to_parquet(tmp / "rows.parquet")
    load0 = os.getloadavg()[0]

    cfg = BatchConfig()
    checker = build_checker(cfg)
    best = None
    for _ in range(a.repeat):       # the same work as the Spark pipeline: check, score, aggregate, write
        c0 = time.process_time()
        t = time.perf_counter()
        rep = run_batch([str(tmp / "rows.jsonl")], RunOptions(config=cfg, jobs=1), checker=checker)
        check_s = time.perf_counter() - t
        with open(tmp / "report.json", "w", encoding="utf-8") as fh:
            write_json(rep, fh)
        dt = time.perf_counter() - t
        if best is None or dt < best:
            best, best_cpu, best_check = dt, time.process_time() - c0, check_s
    turns = rep["summary"]["utterances"]
    result: dict = {"calls": a.n, "conversations": rep["summary"]["conversations"]["total"], "turns": turns,
                    "rows": len(rows), "cpu_count": os.cpu_count(), "load_average_at_start": load0,
                    "batch_jobs1": {"seconds": round(best, 3), "run_batch_seconds": round(best_check, 3),
                                    "cpu_seconds": round(best_cpu, 3),
                                    "turns_per_second": round(turns / best, 1)}}
    print(f"corpus: {a.n} calls, {result['conversations']} conversations, {turns} turns, {len(rows)} rows ({tmp})")
    print(f"in-process batch --jobs 1: {best:.2f} s = {turns / best:,.0f} turns/s, CPU {best_cpu:.2f} s "
          f"(run_batch {best_check:.2f} s, then the JSON report)")

    for cores in (1, 2):
        parts = a.partitions or 3 * cores
        out = subprocess.run([sys.executable, __file__, "--repeat", str(a.repeat), "--child", f"local[{cores}]",
                              str(tmp / "rows.parquet"), str(tmp / f"spark{cores}"), str(parts)],
                             capture_output=True, text=True, check=False)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode or not lines:
            sys.exit(f"Spark local[{cores}] failed:\n{out.stderr[-3000:]}")
        r = json.loads(lines[-1])
        if r["turns"] != turns:
            sys.exit(f"Spark checked {r['turns']} turns, the batch {turns}")
        r["turns_per_second"] = round(turns / r["total_seconds"], 1)
        r["partitions"] = parts
        result[f"spark_local{cores}"] = r
        print(f"Spark local[{cores}] ({parts} partitions): {r['total_seconds']:.2f} s = {r['turns_per_second']:,.0f} "
              f"turns/s, CPU {r['cpu_seconds']:.2f} s (check alone {r['check_seconds']:.2f} s; session start {r['session_start_seconds']:.1f} s, "
              f"warm-up run {r['warmup_seconds']:.1f} s; Python worker {r['worker_rss_mb']} MB RSS, "
              f"{r['worker_private_mb']} MB private)")

    b, s1, s2 = result["batch_jobs1"], result["spark_local1"], result["spark_local2"]
    overhead = s1["total_seconds"] / b["seconds"] - 1
    per_turn_us = (s1["total_seconds"] - b["seconds"]) / turns * 1e6
    speedup = s1["total_seconds"] / s2["total_seconds"]
    result.update(overhead_local1=round(overhead, 3), overhead_us_per_turn=round(per_turn_us, 1),
                  speedup_1_to_2=round(speedup, 2), load_average_at_end=os.getloadavg()[0])
    cpu_overhead = s1["cpu_seconds"] / b["cpu_seconds"] - 1
    cpu_speedup = 2 * s1["cpu_seconds"] / s2["cpu_seconds"]
    result.update(cpu_overhead_local1=round(cpu_overhead, 3), cpu_speedup_estimate=round(cpu_speedup, 2))
    print(f"Spark overhead at local[1] against in-process: {overhead:+.0%} wall ({per_turn_us:+.0f} µs per turn), "
          f"{cpu_overhead:+.0%} CPU (target ≤ 30 %)")
    print(f"speed-up local[1] -> local[2]: {speedup:.2f}x wall (target ≥ 1.6x); on two idle cores, from CPU time: "
          f"{cpu_speedup:.2f}x; load average {load0:.1f} -> {result['load_average_at_end']:.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
