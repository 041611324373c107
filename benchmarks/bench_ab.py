"""Throughput of one checkout's ``check`` against ``jieba.lcut``, for A/B runs of two checkouts.

    # this script, run alternately by each checkout's own environment on the same machine:
    /path/to/before-env/bin/python benchmarks/bench_ab.py before
    python benchmarks/bench_ab.py after            # --rounds 5

bench_core.py's 3,000 generated turns. In one process, taking turns each round
(best of the rounds): ``jieba.lcut``; ``check`` at first contact (the model's
sentence memo cleared before the round); ``check`` again with the memo warm;
``check`` with the model off (the rules alone). The ratio to jieba in the same
process is what compares across the two runs (the machine's speed drifts; the
ratio much less). Works with checkouts from before the memo could be cleared
through ``forget()``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import make_utterances  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("label", nargs="?", default="")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    import jieba

    import tonecheck

    jieba.setLogLevel(60)
    jieba.initialize()
    texts = make_utterances(3000)
    with_model, rules = tonecheck.Checker(), tonecheck.Checker(model=False)
    model = with_model.model
    forget = (getattr(model, "forget", None) or model._memo.clear) if model is not None else (lambda: None)
    for t in texts:  # compile every pattern the texts need before timing
        with_model.check(t)
        rules.check(t)
    contenders = [("jieba", jieba.lcut, None), ("cold", with_model.check, forget),
                  ("warm", with_model.check, None), ("rules", rules.check, None)]
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn, before in contenders:
            if before is not None:
                before()
            t0 = time.perf_counter()
            for t in texts:
                fn(t)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
    ref = best["jieba"]
    print(args.label, " ".join(f"{k} {v:.3f}s ({ref / v:.3f})" for k, v in best.items()))


if __name__ == "__main__":
    main()
