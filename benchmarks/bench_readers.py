"""Reading speed of the batch readers, against decoding the same bytes, in one run.

    python benchmarks/bench_readers.py                 # 2 MB and 8 MB of each format
    python benchmarks/bench_readers.py --sizes 1,4 --json out.json

For each format (speaker-prefixed text with one turn per line, the same text
with long turns wrapped over many lines, JSONL, CSV) it writes a file of the
given size, then times ``tonecheck.batch.readers.read_path`` on it and, as the
reference measured alternately on the same bytes, ``bytes.decode`` plus
``str.splitlines`` (the least any reader must do). Reported: MB/s for both and
their ratio, and how the time grows from the smallest to the largest size
(linear reading keeps it near the size ratio). docs/limits.md promises
≥ 5 MB/s on the text format.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from tonecheck.batch.readers import read_path

LINES = ["您好，这里是信用卡中心，您本期账单已经逾期，请您尽快安排还款。", "嗯，我知道了，这个月手头紧，下个月十号之前还。",
         "好的，如果有困难可以申请分期，我们帮您登记一下。", "你们别再打了，我在上班。", "那我们明天下午再联系您，谢谢。"]


def make(fmt: str, size: int, seed: int = 3) -> bytes:
    rnd = random.Random(seed)
    out: list[str] = []
    n = 0
    conv = 0
    while n < size:
        conv += 1
        turns = [(("坐席", "客户")[i % 2], rnd.choice(LINES)) for i in range(rnd.randint(6, 20))]
        # A text transcript is one call per file: one long call (a whole day's recording at worst).
        if fmt == "text":
            block = ("# conversation_id: call-1\n" if conv == 1 else "") + "".join(f"{s}：{t}\n" for s, t in turns)
        elif fmt == "text-wrapped":  # long turns broken over lines of ~20 characters
            parts = ["# conversation_id: call-1\n" if conv == 1 else ""]
            for s, t in turns:
                long = t * rnd.randint(3, 8)
                parts.append(f"{s}：" + "\n".join(long[i:i + 20] for i in range(0, len(long), 20)) + "\n")
            block = "".join(parts)
        elif fmt == "jsonl":
            block = json.dumps({"conversation_id": f"call-{conv}", "utterances": [
                {"speaker": s, "text": t} for s, t in turns]}, ensure_ascii=False) + "\n"
        elif fmt == "csv":
            block = ("conversation_id,speaker,text\n" if conv == 1 else "") + "".join(
                f"call-{conv},{s},\"{t}\"\n" for s, t in turns)
        else:
            raise ValueError(fmt)
        out.append(block)
        n += len(block.encode("utf-8"))
    return "".join(out).encode("utf-8")


SUFFIX = {"text": ".txt", "text-wrapped": ".txt", "jsonl": ".jsonl", "csv": ".csv"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2,8", help="megabytes, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in SUFFIX:
            times = {}
            for mb in sizes:
                data = make(fmt, int(mb * 1_000_000))
                path = Path(tmp) / f"{fmt}-{mb}{SUFFIX[fmt]}"
                path.write_bytes(data)
                ours, ref = [], []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    fr = read_path(path)
                    ours.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    path.read_bytes().decode("utf-8").splitlines()
                    ref.append(time.perf_counter() - t)
                assert fr.items and all(hasattr(c, "utterances") for c in fr.items), (fmt, fr)
                mbytes = len(data) / 1e6
                o, r = statistics.median(ours), statistics.median(ref)
                times[mb] = o
                rows.append({"format": fmt, "mb": round(mbytes, 2), "conversations": len(fr.items),
                             "read_mb_s": round(mbytes / o, 1), "decode_mb_s": round(mbytes / r, 1),
                             "ratio": round(r / o, 3)})
            lo, hi = min(sizes), max(sizes)
            rows[-1]["growth"] = round(times[hi] / times[lo], 2)
            rows[-1]["size_ratio"] = round(hi / lo, 2)
    print(f"{'format':14} {'MB':>6} {'convs':>7} {'read MB/s':>10} {'decode MB/s':>12} {'ratio':>7}  growth")
    for r in rows:
        g = f"{r['growth']}× for {r['size_ratio']}× size" if "growth" in r else ""
        print(f"{r['format']:14} {r['mb']:6.1f} {r['conversations']:7d} {r['read_mb_s']:10.1f} "
              f"{r['decode_mb_s']:12.1f} {r['ratio']:7.3f}  {g}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
