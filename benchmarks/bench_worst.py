"""Worst-case inputs: does a check stay fast and linear on adversarial text?

Usage:  python benchmarks/bench_worst.py [--sizes 5000,10000,20000] [--json out.json] [--profile FAMILY]

Each family repeats one shape (a violation phrase of one category, digit runs,
punctuation-free speech, mixed scripts, evasion separators, unbalanced quotes)
up to each size and times one ``check`` of the whole turn, best of three. The
report gives the seconds at each size, the growth from half the largest size
to the largest (2.0 is linear), the findings and whether the check ran into
its deadline (``truncated``). Target: every family at 20,000 characters in
at most 0.5 s, not truncated, growth near 2.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time

# (family, counterpart, role, unit); written for this benchmark.
FAMILIES = [
    ("threat.violence", "debtor", "agent", "再不还钱我弄死你"),
    ("threat.exposure", "debtor", "agent", "把你欠钱的事发到你家族群里"),
    ("threat.harassment", "debtor", "agent", "天天打你电话打到你还为止"),
    ("threat.family", "debtor", "agent", "你孩子在哪上学我们都知道"),
    ("threat.legal_false", "debtor", "agent", "不还就抓你坐牢"),
    ("threat.impersonation", "debtor", "agent", "我是法院的"),
    ("insult.abuse", "debtor", "agent", "你个傻逼"),
    ("insult.profanity", "debtor", "agent", "他妈的"),
    ("insult.demeaning", "debtor", "agent", "穷成这样还借什么钱"),
    ("sarcasm.mock_praise", "debtor", "agent", "你可真有本事"),
    ("sarcasm.mock_respect", "debtor", "agent", "大老板又忙什么呢"),
    ("sarcasm.ridicule", "debtor", "agent", "这点钱都还不上还好意思出门"),
    ("privacy.pii_exposure", "debtor", "agent", "身份证号110105199003071239"),
    ("privacy.third_party_disclosure", "third_party", "agent", "他欠我们三万多逾期半年了"),
    ("privacy.credential_request", "debtor", "agent", "把验证码报给我"),
    ("conduct.improper_payment", "debtor", "agent", "钱直接转我个人微信"),
    ("conduct.private_channel", "debtor", "agent", "加我私人微信私下聊"),
    ("risk.self_harm", "debtor", "customer", "我不想活了"),
    ("risk.complaint", "debtor", "customer", "我要投诉你们"),
    ("digits.card", "debtor", "agent", "6222021234567890128 "),
    ("digits.run", "debtor", "agent", "1234567890"),
    ("digits.spoken", "debtor", "agent", "幺三八零零一二三四五六七"),
    ("separators", "debtor", "agent", "傻 * 逼 "),
    ("quotes", "debtor", "agent", "“你说"),
    ("repeat.char", "debtor", "agent", "操"),
    ("mixed.scripts", "debtor", "agent", "abc傻b123ｓｂ😀你好Ⅻ①"),
]
SPEECH_PIECES = ["嗯", "那个", "就是说", "您好", "我们这边", "信用卡中心", "您这个账单", "已经逾期了", "什么时候能还",
                 "再不还", "我们就", "去你单位", "你个", "老赖", "可真有本事", "验证码", "发给我", "对吧", "啊",
                 "您看", "方便的话", "今天下午", "先还一部分", "不然", "后果自负", "你家孩子", "学校", "我们知道"]


def speech(n: int, seed: int = 3) -> str:
    """Punctuation-free speech-to-text: a long run of phrases, no sentence ends."""
    rnd = random.Random(seed)
    out = ""
    while len(out) < n:
        out += rnd.choice(SPEECH_PIECES)
    return out[:n]


def text_of(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def time_check(checker, text: str, role: str, counterpart: str, runs: int = 3):
    best, res = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        res = checker.check(text, role=role, counterpart=counterpart)
        best = min(best, time.perf_counter() - t0)
    return best, res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,10000,20000")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--only", help="comma-separated family names")
    ap.add_argument("--target", type=float, default=0.5, help="seconds allowed at the largest size")
    args = ap.parse_args(argv)
    import tonecheck

    checker = tonecheck.Checker(deadline_s=60.0) if "deadline_s" in tonecheck.Checker.__init__.__code__.co_varnames \
        else tonecheck.Checker()
    checker.warm_up()
    sizes = [int(s) for s in args.sizes.split(",")]
    fams = [(f, cp, role, (lambda n, u=unit: text_of(u, n))) for f, cp, role, unit in FAMILIES]
    fams.append(("speech.unpunctuated", "debtor", "agent", speech))
    if args.only:
        keep = set(args.only.split(","))
        fams = [f for f in fams if f[0] in keep]
    rows, worst, failed = [], 0.0, []
    print(f"{'family':32} " + " ".join(f"{s:>9}" for s in sizes) + "   growth  findings truncated")
    for fam, cp, role, make in fams:
        secs, res = [], None
        for n in sizes:
            s, res = time_check(checker, make(n), role, cp)
            secs.append(s)
        growth = secs[-1] / secs[-2] if len(secs) > 1 and secs[-2] > 0 else float("nan")
        row = {"family": fam, "seconds": dict(zip(map(str, sizes), secs)), "growth": growth,
               "findings": len(res.findings), "truncated": res.truncated}
        rows.append(row)
        worst = max(worst, secs[-1])
        if secs[-1] > args.target or res.truncated:
            failed.append(fam)
        print(f"{fam:32} " + " ".join(f"{s:9.3f}" for s in secs) + f"   {growth:6.2f}  {len(res.findings):8d} {res.truncated}")
    print(f"worst at {sizes[-1]} characters: {worst:.3f} s; over {args.target} s or truncated: {', '.join(failed) or 'none'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"sizes": sizes, "families": rows, "worst_s": worst, "failed": failed}, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
