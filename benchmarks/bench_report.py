"""How fast the HTML batch report opens in Chromium (headless, the system browser, driven by Selenium).

Usage:  python benchmarks/bench_report.py [--corpus DIR | --n 2000] [--repeat 5] [--html OTHER.html ...]

Generates the benchmark day (benchmarks/gen_corpus.py: 2,000 calls + 333 unanswered attempts) unless
--corpus is given, writes its HTML report with ``tonecheck check -o``, then opens it --repeat times in
a fresh tab and reports, per page: file size, elements once open, the load event and the first frame
after it (the page is drawn and usable), and the time to open one call's details and to filter the
list by an agent. A tiny static page is opened in the same run as the reference (the browser's own
floor); ratios are against it. --html adds other report files to time the same way (e.g. one made
by an older version: the before/after figures in docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _chromium() -> tuple[str, str]:
    b = os.environ.get("TONECHECK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    d = os.environ.get("TONECHECK_CHROMEDRIVER") or shutil.which("chromedriver")
    if not b or not d:
        sys.exit("needs the system Chromium and chromedriver (apt-get install -y chromium chromium-driver)")
    return b, d


def _driver(tmp: Path, width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp / 'profile'}", f"--window-size={width},900"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    d.set_page_load_timeout(120)
    # The first frame after the load event: when the page is drawn (scripts done, layout done).
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "addEventListener('load',function(){requestAnimationFrame(function(){setTimeout(function(){"
        "window.__drawn=performance.now();},0);});});")})
    return d


def time_page(d, path: Path, repeat: int) -> dict:
    url = path.resolve().as_uri()
    loads, drawn = [], []
    for _ in range(repeat):
        d.get("about:blank")
        d.get(url)
        for _ in range(600):
            t = d.execute_script("return window.__drawn || null")
            if t:
                break
        nav = d.execute_script("var n=performance.getEntriesByType('navigation')[0];return n.loadEventEnd;")
        loads.append(nav)
        drawn.append(t)
    out = {"file": str(path), "bytes": path.stat().st_size,
           "elements": d.execute_script("return document.getElementsByTagName('*').length"),
           "load_ms": round(statistics.median(loads), 1), "drawn_ms": round(statistics.median(drawn), 1),
           "drawn_ms_all": [round(x, 1) for x in drawn]}
    # Interactions on the new report (an older one has no #convs rows to click).
    has_rows = d.execute_script("return !!document.querySelector('#convs tbody tr.row[data-n]')")
    if has_rows:
        out["open_call_ms"] = d.execute_script(
            "var t=performance.now();document.querySelector('#convs tbody tr.row[data-n]').click();"
            "document.body.offsetHeight;return performance.now()-t;")
        out["filter_agent_ms"] = d.execute_script(
            "var r=document.querySelector('tr.pick[data-pick=agent]');if(!r)return null;var t=performance.now();"
            "r.click();document.body.offsetHeight;return performance.now()-t;")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--html", nargs="*", default=[], help="other report files to time the same way")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        corpus = Path(args.corpus) if args.corpus else tmp / "corpus"
        if not args.corpus:
            subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(corpus), "--n", str(args.n)],
                           check=True, capture_output=True)
        report = tmp / "report.html"
        done = subprocess.run([sys.executable, "-m", "tonecheck.cli", "check", str(corpus), "-o", str(report), "-q"],
                              capture_output=True, text=True)
        if done.returncode not in (0, 1):
            sys.exit(done.stderr)
        floor = tmp / "reference.html"
        floor.write_text("<!DOCTYPE html><html><body><p>reference</p></body></html>", encoding="utf-8")
        d = _driver(tmp, args.width)
        try:
            results = [time_page(d, floor, args.repeat), time_page(d, report, args.repeat)]
            results += [time_page(d, Path(p), args.repeat) for p in args.html]
        finally:
            d.quit()
    ref = results[0]["drawn_ms"] or 1
    print(f"{'page':<44} {'MB':>6} {'elements':>9} {'load ms':>8} {'drawn ms':>9} {'x ref':>7} {'open call':>10} {'filter':>7}")
    for r in results:
        name = "reference (tiny static page)" if r is results[0] else ("this report" if r is results[1] else r["file"])
        oc = f"{r['open_call_ms']:.0f} ms" if r.get("open_call_ms") is not None else "—"
        fa = f"{r['filter_agent_ms']:.0f} ms" if r.get("filter_agent_ms") is not None else "—"
        print(f"{name[-44:]:<44} {r['bytes'] / 1e6:>6.2f} {r['elements']:>9} {r['load_ms']:>8.0f} {r['drawn_ms']:>9.0f} "
              f"{r['drawn_ms'] / ref:>7.1f} {oc:>10} {fa:>7}")
    print(f"load average: {load0:.1f} -> {os.getloadavg()[0]:.1f} (the figures scale with the neighbours' load)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
