"""Batch throughput: conversations per second with 1 and 2 jobs, and the scaling ratio.

Usage:  python benchmarks/bench_batch.py [--n 2000] [--corpus DIR] [--repeat 3] [--json out.json]

Generates a corpus with benchmarks/gen_corpus.py (unless --corpus is given), then times

* the batch run itself (``run_batch``: discovery, reading, decoding, checking in
  the process pool, contact policy, scores), best of --repeat, per job count;
* the whole command ``tonecheck check DIR -o report.json --jobs N -q`` as a user
  runs it (interpreter start, lexicon load, report writing), once per job count.

Conversations include the unanswered-attempt records (no turns) the corpus has.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_corpus import write_corpus  # noqa: E402

from tonecheck.batch import RunOptions, run_batch  # noqa: E402
from tonecheck.batch.config import BatchConfig  # noqa: E402
from tonecheck.batch.runner import build_checker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--corpus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tonecheck-bench-")
    corpus = Path(a.corpus) if a.corpus else Path(tmp) / "corpus"
    if not a.corpus:
        info = write_corpus(corpus, a.n)
        print(f"corpus: {corpus} {json.dumps(info, ensure_ascii=False)}")
    cfg = BatchConfig()
    checker = build_checker(cfg)
    results: dict = {"load_average_at_start": os.getloadavg()[0], "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
                     "tokenizer": checker.tokenizer_name, "runs": {}}
    for jobs in [int(j) for j in a.jobs.split(",")]:
        best = None
        cpu = None
        for _ in range(a.repeat):
            r0s, r0c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            rep = run_batch([str(corpus)], RunOptions(config=cfg, jobs=jobs), checker=checker)
            dt = time.perf_counter() - t0
            r1s, r1c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            parent = (r1s.ru_utime + r1s.ru_stime) - (r0s.ru_utime + r0s.ru_stime)
            children = (r1c.ru_utime + r1c.ru_stime) - (r0c.ru_utime + r0c.ru_stime)
            if best is None or dt < best:
                best, cpu = dt, (parent, children)
        s = rep["summary"]
        n_conv, n_utt = s["conversations"]["total"], s["utterances"]
        out = Path(tmp) / f"report-{jobs}.json"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tonecheck.cli", "check", str(corpus), "-o", str(out), "--jobs", str(jobs),
                        "-q", "--no-config"], check=False)
        wall = time.perf_counter() - t0
        results["runs"][jobs] = {"files": s["files"]["total"], "conversations": n_conv, "utterances": n_utt,
                                 "errors": len(s["errors"]), "batch_seconds": round(best, 3),
                                 "conversations_per_second": round(n_conv / best, 1),
                                 "utterances_per_second": round(n_utt / best, 1),
                                 "cpu_parent_seconds": round(cpu[0], 3), "cpu_workers_seconds": round(cpu[1], 3),
                                 "cli_wall_seconds": round(wall, 3),
                                 "cli_conversations_per_second": round(n_conv / wall, 1)}
        print(f"jobs={jobs}: CPU seconds: parent {cpu[0]:.2f}, workers {cpu[1]:.2f}; load average {os.getloadavg()[0]:.1f}")
        print(f"jobs={jobs}: {n_conv} conversations ({n_utt} utterances, {s['files']['total']} files) in {best:.2f}s "
              f"= {n_conv / best:,.0f} conv/s; whole CLI {wall:.2f}s = {n_conv / wall:,.0f} conv/s")
    runs = results["runs"]
    if 1 in runs and 2 in runs:
        results["scaling_2_vs_1"] = round(runs[2]["conversations_per_second"] / runs[1]["conversations_per_second"], 2)
        results["cli_scaling_2_vs_1"] = round(runs[1]["cli_wall_seconds"] / runs[2]["cli_wall_seconds"], 2)
        print(f"scaling 2 jobs / 1 job: {results['scaling_2_vs_1']}x (batch), {results['cli_scaling_2_vs_1']}x (whole CLI)")
        # On a busy machine wall-clock scaling says more about the neighbours than about tonecheck;
        # CPU time does not: with 2 idle cores the run takes about max(parent CPU, worker CPU / 2).
        one = runs[1]["cpu_parent_seconds"] + runs[1]["cpu_workers_seconds"]
        two = max(runs[2]["cpu_parent_seconds"], runs[2]["cpu_workers_seconds"] / 2)
        results["cpu_bound_scaling_estimate"] = round(one / two, 2) if two else None
        print(f"CPU-time estimate of 2-job scaling on 2 idle cores: {results['cpu_bound_scaling_estimate']}x "
              f"(1 job: {one:.2f} CPU s; 2 jobs: parent {runs[2]['cpu_parent_seconds']:.2f} s, "
              f"workers {runs[2]['cpu_workers_seconds']:.2f} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
