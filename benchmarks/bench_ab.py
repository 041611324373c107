"""Throughput of one checkout's ``check`` against ``jieba.lcut``, for A/B runs of two checkouts.

    # in each checkout's own environment, alternately, on the same machine:
    python benchmarks/bench_ab.py rules before      # the rules alone
    python benchmarks/bench_ab.py model now         # rules and model (the default)

bench_core.py's 3,000 generated turns and its interleaved timing (best of five
rounds, jieba and check taking turns; each check round starts with the model's
sentence memo cleared, i.e. first contact). The ratio to jieba in the same process is what compares
across the two runs (the machine's speed drifts; the ratio much less).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import interleaved_throughput, make_utterances  # noqa: E402

import jieba  # noqa: E402

import tonecheck  # noqa: E402


def main(argv: list[str]) -> None:
    which, label = (argv + ["model", ""])[:2]
    texts = make_utterances(3000)
    ch = tonecheck.Checker() if which == "model" else tonecheck.Checker(model=False)
    jieba.lcut("预热")
    for x in texts:
        ch.check(x)
    forget = getattr(getattr(ch, "model", None), "forget", None)
    if forget is None and getattr(ch, "model", None) is not None:  # a checkout from before forget()
        forget = ch.model._memo.clear
    cps = interleaved_throughput({"jieba": jieba.lcut, "check": ch.check}, texts,
                                 before={"check": forget} if forget else None)
    chars = sum(map(len, texts))
    print(f"{label} {which}: check {chars / cps['check']:.3f} s, jieba {chars / cps['jieba']:.3f} s, "
          f"ratio {cps['check'] / cps['jieba']:.3f}")

if __name__ == "__main__":
    main(sys.argv[1:])
