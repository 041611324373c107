"""Latency and throughput of the draft pre-check service against the library, on loopback.

    python benchmarks/bench_http.py                 # defaults: 2000 requests per phase, ≤ 30 s per phase
    python benchmarks/bench_http.py --workers 2     # the service with two worker processes
    python benchmarks/bench_http.py --json          # one JSON object instead of the table

One run reports, for 100-character drafts (a mix of clean and violating ones,
written for this benchmark):

- in-process ``tonecheck.check`` latency (median, p99) and HTTP ``POST /v1/check``
  latency with 1 client, measured alternately on the same drafts so both see the
  same machine load ("req/s" there is 1 / mean latency);
- HTTP latency (median, p99) and requests per second with 16 concurrent clients
  (keep-alive connections, one per client);
- the same with one of the 16 clients sending worst-case 20,000-character texts
  without pause (the adversarial families of bench_worst.py): the other 15
  clients' draft latency must keep p99 ≤ 50 ms, with no errors on either side;
- the number of errors (non-200 answers, answers that differ from the library,
  connection failures) — it must be zero; the exit status is 1 otherwise.

The service runs as ``tonecheck serve`` in a child process on 127.0.0.1 and a
free port, with its normal logging (to a temporary file). Every phase is
bounded by a request count and a time limit. The clients are Python threads
with ``http.client``; their own overhead is part of the HTTP figures.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"  # loopback only

CLEAN = [
    "您好，这里是银行信用卡中心，您本期账单已经逾期，请您方便时尽快安排还款。",
    "如果您最近资金周转有困难，我们可以一起看看分期或者延期的方案。",
    "逾期会按合同约定产生违约金，也会影响您的个人征信记录，请您留意。",
    "请问您今天下午方便吗？我们想和您确认一下还款的具体时间。",
    "感谢您的配合，还款后系统会在一个工作日内更新，有问题随时联系我们。",
]
BAD = [
    "你个傻逼，赶紧把钱还了。",
    "再不还钱我弄死你。",
    "你再拖着不还，我就去你单位闹，让你同事都知道。",
    "你可真有本事，三个月一分钱都没还。",
    "不还钱就等着坐牢吧。",
]


def drafts(n: int, seed: int = 7) -> list[str]:
    """``n`` drafts of exactly 100 characters; about half contain a violation."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        parts = [rnd.choice(BAD)] if i % 2 else []
        while sum(map(len, parts)) < 100:
            parts.insert(rnd.randrange(len(parts) + 1), rnd.choice(CLEAN))
        out.append("".join(parts)[:100])
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def summary(lat_s: list[float], wall_s: float | None = None) -> dict:
    ms = [v * 1000 for v in lat_s]
    out = {"n": len(ms), "median_ms": round(statistics.median(ms), 3), "p99_ms": round(pct(ms, 99), 3)}
    if wall_s:
        out["rps"] = round(len(ms) / wall_s, 1)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_service(port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    for k in ("TONECHECK_API_KEYS", "TONECHECK_API_KEY"):
        env.pop(k, None)
    cmd = [sys.executable, "-c", "import sys; from tonecheck.cli import main; sys.exit(main(sys.argv[1:]))",
           "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with {proc.returncode}; see {log_path}")
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the service did not start within 60 s")


class Client:
    def __init__(self, port: int, expected: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.expected = expected
        self.errors = 0
        self.lat: list[float] = []

    def post(self, text: str, verify: bool) -> None:
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", "/v1/check", body, {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.errors += 1
            self.conn.close()
            return
        self.lat.append(time.perf_counter() - t0)
        if resp.status != 200 or (verify and data.decode() != self.expected[text]):
            self.errors += 1


def interleaved(port: int, texts: list[str], expected: dict[str, str], n: int, limit_s: float) -> tuple[dict, dict]:
    """One client alternating an in-process check and an HTTP request for the same draft, so both
    see the same machine load (on a busy machine the tails are mostly scheduling noise)."""
    import tonecheck

    checker = tonecheck.default_checker()
    client = Client(port, expected)
    for t in texts[:20]:
        checker.check(t)
        client.post(t, verify=True)
    client.lat.clear()
    local: list[float] = []
    spent_local = spent_http = 0.0
    stop_at = time.perf_counter() + limit_s
    for i in range(n):
        t = texts[i % len(texts)]
        t0 = time.perf_counter()
        checker.check(t)
        t1 = time.perf_counter()
        client.post(t, verify=i < len(texts))
        t2 = time.perf_counter()
        local.append(t1 - t0)
        spent_local += t1 - t0
        spent_http += t2 - t1
        if t2 > stop_at:
            break
    http_1 = summary(client.lat, spent_http)
    http_1["errors"] = client.errors
    return summary(local, spent_local), http_1


def worst_texts() -> list[str]:
    """20,000-character adversarial turns, one per family of benchmarks/bench_worst.py."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_worst import FAMILIES, speech, text_of

    return [text_of(unit, 20_000) for _, _, role, unit in FAMILIES if role == "agent"] + [speech(20_000)]


def http_phase(port: int, texts: list[str], expected: dict[str, str], clients: int, n: int,
               limit_s: float, heavy: list[str] | None = None) -> dict:
    """``clients`` clients sending drafts; with ``heavy``, one more sends those texts back to back."""
    heavy_client = Client(port, {}) if heavy else None
    heavy_stats = {"n": 0, "errors": 0, "max_s": 0.0}
    pool = [Client(port, expected) for _ in range(clients)]
    for c in pool:  # open the connections and warm up
        for t in texts[:5]:
            c.post(t, verify=True)
        c.lat.clear()
    stop_at = time.perf_counter() + limit_s
    counter = iter(range(n))
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def work(c: Client) -> None:
        barrier.wait()
        while time.perf_counter() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            c.post(texts[i % len(texts)], verify=i < len(texts))

    def hog() -> None:
        barrier.wait()
        i = 0
        while time.perf_counter() < stop_at and not done.is_set():
            heavy_client.post(heavy[i % len(heavy)], verify=False)
            i += 1
        heavy_stats.update(n=len(heavy_client.lat), errors=heavy_client.errors,
                           max_s=round(max(heavy_client.lat, default=0.0), 3))

    done = threading.Event()
    threads = [threading.Thread(target=work, args=(c,)) for c in pool]
    if heavy_client is not None:
        barrier = threading.Barrier(clients + 2)
        hog_thread = threading.Thread(target=hog)
        hog_thread.start()
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    done.set()
    if heavy_client is not None:
        hog_thread.join()
    out = summary([v for c in pool for v in c.lat], wall)
    out["errors"] = sum(c.errors for c in pool)
    if heavy_client is not None:
        out["worst_case_client"] = heavy_stats
        out["errors"] += heavy_stats["errors"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per phase (default 2000)")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time limit per phase (default 30)")
    ap.add_argument("--workers", type=int, default=1, help="service worker processes (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    n = max(100, min(args.requests, 50_000))
    limit = max(1.0, min(args.max_seconds, 120.0))

    import tonecheck

    texts = drafts(400)
    assert all(len(t) == 100 for t in texts)
    expected = {t: tonecheck.check(t).model_dump_json() for t in texts}
    flagged = sum(1 for t in texts if not tonecheck.check(t).is_clean)

    report: dict = {"drafts": len(texts), "chars": 100, "flagged": flagged, "workers": args.workers,
                    "cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_service(port, args.workers, Path(tmp) / "service.log")
        try:
            report["in_process"], report["http_1"] = interleaved(port, texts, expected, n, limit)
            report["http_16"] = http_phase(port, texts, expected, 16, n, limit)
            report["http_15_plus_worst"] = http_phase(port, texts, expected, 15, n, limit, heavy=worst_texts())
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    report["load_after"] = round(os.getloadavg()[0], 2)
    errors = report["http_1"]["errors"] + report["http_16"]["errors"] + report["http_15_plus_worst"]["errors"]
    report["errors"] = errors
    report["p99_overhead_ms_1_client"] = round(report["http_1"]["p99_ms"] - report["in_process"]["p99_ms"], 3)

    if args.json:
        print(json.dumps(report))
    else:
        print(f"{len(texts)} drafts of 100 characters ({flagged} flagged), service workers={args.workers}, "
              f"{report['cpus']} CPUs, Python {report['python']}, load average {report['load_before']} → "
              f"{report['load_after']} (tails on a busy machine are mostly scheduling noise)")
        print(f"{'':24}{'n':>7}{'median ms':>11}{'p99 ms':>9}{'req/s':>9}{'errors':>8}")
        for key, label in (("in_process", "in-process check"), ("http_1", "HTTP, 1 client"),
                           ("http_16", "HTTP, 16 clients"), ("http_15_plus_worst", "HTTP, 15 + 1 worst-case")):
            r = report[key]
            print(f"{label:24}{r['n']:>7}{r['median_ms']:>11.3f}{r['p99_ms']:>9.3f}{r.get('rps', 0):>9.0f}"
                  f"{r.get('errors', 0):>8}")
        w = report["http_15_plus_worst"]
        wc = w["worst_case_client"]
        print(f"worst-case client: {wc['n']} texts of 20,000 characters, slowest {wc['max_s']} s, errors {wc['errors']}; "
              f"drafts beside it: p99 {w['p99_ms']:.1f} ms (target ≤ 50 ms)")
        print(f"HTTP p99 − in-process p99 at 1 client: {report['p99_overhead_ms_1_client']:.3f} ms "
              f"(target ≤ 5 ms); errors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
