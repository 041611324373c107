"""Results-store benchmark: what storing a day costs, and how fast the review queue answers.

Usage:  python benchmarks/bench_store.py [--n 2000] [--repeat 3] [--pg postgresql://…] [--findings 100000]
                                         [--requests 300] [--json out.json]

Part 1, in one run on the same generated day (benchmarks/gen_corpus.py: 2,000 calls + 333
unanswered attempts): the batch run without a store (``run_batch``, the reference) against the
same run followed by storing it (``begin_run`` + ``store_report``) into a fresh SQLite file (and a
fresh PostgreSQL database with --pg), best of --repeat, taking turns so that load hits all alike;
then a re-run into the same store (the idempotent path: nothing new to write). Reports seconds,
the ratio to the reference and the database size.

Part 2: a store with --findings stored hits (the day stored once, then more hits made by copying
its hits onto its calls with new ids, spread over 12 weeks of call dates and 60 agents), served by
``tonecheck serve --store`` on 127.0.0.1 (uvicorn in a thread). Times --requests GETs of the
review queue page's API (``/v1/review/queue``: first page, an agent filter, a rule filter, a
date range, the third page, rotating) and claim-then-release round trips; prints p50 / p99.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_corpus import write_corpus  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from tonecheck.batch import RunOptions, run_batch  # noqa: E402
from tonecheck.batch.config import BatchConfig  # noqa: E402
from tonecheck.batch.runner import build_checker  # noqa: E402
from tonecheck.store import open_store, schema as t  # noqa: E402
from tonecheck.store.runs import begin_run, store_report  # noqa: E402


def _fresh_pg(url: str, name: str) -> str:
    import psycopg

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def _pg_size(url: str) -> int:
    s = open_store(url, migrate_schema=False)
    with s.read() as conn:
        n = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    s.dispose()
    return int(n)


def _store_once(url: str, report: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    s = open_store(url)
    d = store_report(s, begin_run(s, ["corpus"], "bench"), copy.deepcopy(report), actor="bench")
    s.dispose()
    return time.perf_counter() - t0, d.as_dict()


def part1(corpus: Path, repeat: int, pg: str | None, tmp: Path) -> dict:
    cfg = BatchConfig()
    checker = build_checker(cfg)
    run_batch([str(corpus)], RunOptions(config=cfg, jobs=0), checker=checker)      # warm the pool and caches
    best: dict[str, float] = {}
    sizes: dict[str, int] = {}
    diffs: dict[str, dict] = {}
    for r in range(repeat):
        for kind in ["none", "sqlite"] + (["postgresql"] if pg else []):
            t0 = time.perf_counter()
            report = run_batch([str(corpus)], RunOptions(config=cfg, jobs=0), checker=checker)
            if kind == "sqlite":
                db = tmp / f"day-{r}.db"
                _, diffs[kind] = _store_once(str(db), report)
                sizes[kind] = db.stat().st_size
            elif kind == "postgresql":
                url = _fresh_pg(pg, f"bench_day_{r}")
                _, diffs[kind] = _store_once(url, report)
                sizes[kind] = _pg_size(url)
            dt = time.perf_counter() - t0
            best[kind] = min(best.get(kind, dt), dt)
    out: dict = {"conversations": len(report["conversations"]),
                 "utterances": report["summary"]["utterances"],
                 "hits": diffs["sqlite"]["findings"], "runs": {}}
    for kind, secs in best.items():
        out["runs"][kind] = {"seconds": round(secs, 3), "ratio_to_no_store": round(secs / best["none"], 3)}
        if kind in sizes:
            out["runs"][kind]["db_bytes"] = sizes[kind]
    # the idempotent re-run: the same report into the store that already has it
    rerun = {}
    for kind in ["sqlite"] + (["postgresql"] if pg else []):
        url = str(tmp / f"day-{repeat - 1}.db") if kind == "sqlite" else f"{pg.rsplit('/', 1)[0]}/bench_day_{repeat - 1}"
        secs, d = _store_once(url, report)
        rerun[kind] = {"store_seconds": round(secs, 3), "new": d["new"], "unchanged": d["unchanged"]}
    out["rerun_store_only"] = rerun
    return out


def fill(url: str, report: dict, findings: int, seed: int = 11) -> int:
    """Store the day, then copy its hits onto its calls (new ids, dates over 12 weeks, 60 agents)."""
    s = open_store(url)
    store_report(s, begin_run(s, ["corpus"], "bench"), copy.deepcopy(report), actor="bench")
    with s.read() as conn:
        base = [dict(r) for r in conn.execute(sa.select(t.hits).where(t.hits.c.category != "risk")).mappings()]
        have = conn.execute(sa.select(sa.func.count()).select_from(t.hits)).scalar_one()
    rnd = random.Random(seed)
    day0 = min(h["call_date"] for h in base)
    rows, n = [], 0
    import datetime as dt

    while have + n < findings:
        h = dict(rnd.choice(base))
        n += 1
        h["hit_id"] = hashlib.sha256(f"bench-{n}".encode()).hexdigest()[:16]
        h["call_date"] = day0 - dt.timedelta(days=rnd.randrange(84))
        h["agent_id"] = f"A{rnd.randrange(60):03d}"
        h["conv_score"] = float(rnd.randrange(0, 101, 5))
        h["status"] = rnd.choices(["unreviewed", "confirmed", "rejected", "unsure"], [70, 20, 8, 2])[0]
        rows.append(h)
        if len(rows) == 5000:
            with s.write() as conn:
                conn.execute(t.hits.insert(), rows)
            rows = []
    if rows:
        with s.write() as conn:
            conn.execute(t.hits.insert(), rows)
    # planner statistics and (PostgreSQL) the visibility map, as autovacuum keeps them in a live store
    with s.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if s.is_sqlite else "VACUUM ANALYZE")
    s.dispose()
    return have + n


def part2(url: str, report: dict, findings: int, requests: int) -> dict:
    import httpx
    import uvicorn

    from tonecheck.server import Settings, create_app
    from tonecheck.store.users import add_user

    total = fill(url, report, findings)
    s = open_store(url)
    key = add_user(s, f"bench-{os.getpid()}-{time.time_ns()}", "reviewer")
    with s.read() as conn:
        rule = conn.execute(sa.select(t.hits.c.rule_id).group_by(t.hits.c.rule_id)
                            .order_by(sa.func.count().desc()).limit(1)).scalar_one()
        day = conn.execute(sa.select(sa.func.max(t.hits.c.call_date))).scalar_one()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings=Settings(), store=s), host="127.0.0.1", port=port,
                                           log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    import datetime as dt

    queries = ["limit=50", "agent=A007&limit=50", f"rule={rule}&limit=50",
               f"from={(day - dt.timedelta(days=13)).isoformat()}&to={day.isoformat()}&limit=50", "limit=50&offset=100"]
    lat: list[float] = []
    by_kind: dict[str, list[float]] = {q.split("=")[0] if not q.startswith("limit=50&") else "page3": [] for q in queries}
    claim: list[float] = []
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30) as c:
        for i in range(requests):
            if time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            q = queries[i % len(queries)]
            r = c.get("/v1/review/queue?" + q)
            lat.append(time.perf_counter() - t0)
            by_kind[q.split("=")[0] if not q.startswith("limit=50&") else "page3"].append(lat[-1])
            r.raise_for_status()
            if i % 5 == 0:
                t0 = time.perf_counter()
                hit = c.post("/v1/review/claim", json={}).json()["hit"]
                c.post(f"/v1/review/hits/{hit['hit_id']}/release", json={})
                claim.append(time.perf_counter() - t0)
    server.should_exit = True
    th.join(10)
    s.dispose()

    def pct(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(p * len(xs)))], 2)

    return {"stored_hits": total, "queue_requests": len(lat), "queue_p50_ms": pct(lat, 0.5), "queue_p99_ms": pct(lat, 0.99),
            "queue_mean_ms": round(1000 * statistics.mean(lat), 2),
            "claim_release_p50_ms": pct(claim, 0.5), "claim_release_p99_ms": pct(claim, 0.99),
            "by_query_p50_p99_ms": {k: [pct(v, 0.5), pct(v, 0.99)] for k, v in by_kind.items() if v}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", help="a PostgreSQL server URL (postgresql://user@host:port/db); databases bench_* are made")
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--part", choices=["all", "day", "queue"], default="all", help="run one part only")
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tonecheck-bench-store-"))
    corpus = tmp / "corpus"
    info = write_corpus(corpus, a.n)
    res: dict = {"load_average_at_start": os.getloadavg()[0], "cpu_count": os.cpu_count(), "corpus": info}
    if a.part in ("all", "day"):
        res["store_day"] = part1(corpus, a.repeat, a.pg, tmp)
        print(json.dumps(res["store_day"], indent=1))
    if a.part == "day":
        return
    report = run_batch([str(corpus)], RunOptions(config=BatchConfig(), jobs=0))
    res["review_queue"] = {"sqlite": part2(str(tmp / "queue.db"), report, a.findings, a.requests)}
    print("sqlite", json.dumps(res["review_queue"]["sqlite"]))
    if a.pg:
        res["review_queue"]["postgresql"] = part2(_fresh_pg(a.pg, "bench_queue"), report, a.findings, a.requests)
        print("postgresql", json.dumps(res["review_queue"]["postgresql"]))
    res["load_average_at_end"] = os.getloadavg()[0]
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
