"""Generate a realistic batch corpus for ``tonecheck check``: every input format, GBK exports,
agents, call times (some at night), repeated unanswered attempts, and a share of violations.

Usage:  python benchmarks/gen_corpus.py OUT_DIR [--n 2000] [--seed 7]

Layout (about 10 conversations per multi-conversation file, so a process pool has work to share):
  json/   lists of conversations (core schema, metadata)
  jsonl/  one utterance per line grouped by conversation_id
  csv/    call-centre exports with Chinese headers, GBK-encoded
  txt/    坐席：/客户： transcripts with [mm:ss] timestamps and # header lines (UTF-8 and GB18030)
  srt/    speech-to-text subtitle files
  attempts/ unanswered call attempts (no turns), some contacts dialled too often
All sentences are written for this generator; none come from evaluation sets.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
from pathlib import Path

SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
BANKS = ["星河银行", "远山消费金融", "青禾银行信用卡中心", "明川小贷"]
AGENT_OPEN = [
    "您好，这里是{bank}，请问是{name}先生吗？", "喂，您好，我是{bank}的客服，请问是{name}女士本人吗？",
    "您好，{bank}贷后服务中心，请问您是{name}吗？",
]
CUSTOMER_ID = ["是我，什么事？", "对，我就是。", "嗯，是我，你说吧。", "我是，怎么了？"]
AGENT_FACTS = [
    "您尾号{tail}的卡本期应还{amount}元，已经逾期{days}天了。", "提醒您，您的借款本月{day}号到期，金额{amount}元。",
    "系统显示您上期还有{amount}元没有还清，逾期{days}天。", "您的分期账单还差{amount}元，最后还款日已经过了。",
]
CUSTOMER_REPLY = [
    "这个月手头紧，能不能宽限几天？", "我下周发工资就还。", "我记得已经还过了啊。", "最近生意不好，实在拿不出来。",
    "好的，我今天晚上在手机银行还。", "能不能申请分期？", "你们利息也太高了吧。", "我家里人住院了，钱都花在医院了。",
    "我失业两个月了。", "你们再这样打电话我要投诉了。", "行，知道了。",
]
AGENT_CLEAN = [
    "理解您的情况，我可以帮您申请延期还款，需要您提供一下相关证明。", "逾期会影响您的个人征信记录，建议您尽快安排。",
    "您可以先还最低还款额{low}元，剩下的我们再商量分期。", "请您通过官方手机银行或者柜台还款，不要转给任何个人账户。",
    "好的，我帮您登记一下，约您{day}号前还款可以吗？", "根据合同约定会产生违约金，具体金额以账单为准。",
    "如果协商不成，我行会依法通过诉讼途径处理，希望您理解。", "那我这边先给您备注，我们周五再联系您。",
    "那今天就先聊到这儿，不打扰您了。", "您的还款计划已经生效，首期还款日是下个月{day}号。",
]
AGENT_BAD = [
    "你这个老赖，{amount}块钱拖了{days}天还有脸说？", "再不还钱我们就去你单位找你领导。", "你他妈的到底还不还？",
    "你可真有本事，欠钱不还还这么理直气壮。", "不还就等着坐牢吧，警察明天就上门。", "我们会把你欠钱的事发到你家族群里。",
    "把你收到的验证码报给我，我帮你查一下。", "钱直接转我个人微信就行，省得麻烦。", "你个傻逼，听不懂人话是吧？",
    "我们天天给你打电话，打到你还为止。", "你的身份证号是{idno}，没错吧？", "小心点，出了什么事别怪我没提醒你。",
]
AGENT_CLOSE = ["好的，那就这样，再见。", "请您按约定时间还款，再见。", "有问题随时联系我们，再见。"]


def _fill(t: str, rnd: random.Random) -> str:
    return t.format(bank=rnd.choice(BANKS), name=rnd.choice(SURNAMES), tail=f"{rnd.randint(0, 9999):04d}",
                    amount=rnd.choice([860, 1250, 2300, 3480, 5600, 12000, 26800]), days=rnd.randint(3, 120),
                    day=rnd.randint(1, 28), low=rnd.choice([100, 300, 500]), idno="110105199003071239")


def make_conversation(i: int, rnd: random.Random, bad_rate: float) -> dict:
    turns = [("agent", _fill(rnd.choice(AGENT_OPEN), rnd)), ("customer", rnd.choice(CUSTOMER_ID)),
             ("agent", _fill(rnd.choice(AGENT_FACTS), rnd))]
    for _ in range(rnd.randint(1, 4)):
        turns.append(("customer", rnd.choice(CUSTOMER_REPLY)))
        bad = rnd.random() < bad_rate
        turns.append(("agent", _fill(rnd.choice(AGENT_BAD if bad else AGENT_CLEAN), rnd)))
    turns.append(("agent", rnd.choice(AGENT_CLOSE)))
    hour = rnd.choice([8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20] * 8 + [21, 22, 23, 7])
    t, utts = 0.0, []
    for sp, text in turns:
        dur = 0.8 + len(text) * 0.22
        utts.append({"speaker": sp, "text": text, "start": round(t, 2), "end": round(t + dur, 2)})
        t += dur + rnd.uniform(0.2, 1.5)
    return {"id": f"CALL-{i:06d}", "counterpart": "debtor", "channel": "call",
            "metadata": {"agent_id": f"A{rnd.randint(1, 30):03d}", "call_start": f"2026-11-28 {hour:02d}:{rnd.randint(0, 59):02d}:00",
                         "contact_id": f"139{rnd.randint(0, 99999999):08d}", "outcome": "answered"},
            "utterances": utts}


def _mmss(s: float) -> str:
    return f"{int(s // 60):02d}:{int(s % 60):02d}"


def _srt_time(s: float) -> str:
    ms = int(round(s * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_corpus(out: Path, n: int = 2000, seed: int = 7, bad_rate: float = 0.08, per_file: int = 10) -> dict:
    rnd = random.Random(seed)
    convs = [make_conversation(i, rnd, bad_rate) for i in range(n)]
    for d in ("json", "jsonl", "csv", "txt", "srt", "attempts"):
        (out / d).mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(("json", "jsonl", "csv", "txt", "srt"), 0)
    i = 0
    while i < n:
        kind = rnd.choices(["json", "jsonl", "csv", "txt", "srt"], weights=[3, 2, 2, 8, 8])[0]
        if kind in ("txt", "srt"):
            chunk = convs[i:i + 1]
        else:
            chunk = convs[i:i + per_file]
        i += len(chunk)
        counts[kind] += len(chunk)
        name = f"{kind}_{i:06d}"
        if kind == "json":
            (out / "json" / f"{name}.json").write_text(json.dumps(chunk, ensure_ascii=False, indent=1), encoding="utf-8")
        elif kind == "jsonl":
            lines = []
            for c in chunk:
                for u in c["utterances"]:
                    lines.append(json.dumps({"conversation_id": c["id"], "agent_id": c["metadata"]["agent_id"],
                                             "call_start": c["metadata"]["call_start"],
                                             "speaker": u["speaker"], "text": u["text"], "start": u["start"],
                                             "end": u["end"]}, ensure_ascii=False))
            (out / "jsonl" / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif kind == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["通话ID", "坐席工号", "通话开始时间", "被叫号码", "角色", "内容", "开始", "结束"])
            for c in chunk:
                m = c["metadata"]
                for u in c["utterances"]:
                    w.writerow([c["id"], m["agent_id"], m["call_start"], m["contact_id"],
                                "坐席" if u["speaker"] == "agent" else "客户", u["text"], u["start"], u["end"]])
            (out / "csv" / f"{name}.csv").write_bytes(buf.getvalue().encode("gbk"))
        elif kind == "txt":
            c = chunk[0]
            m = c["metadata"]
            lines = [f"# conversation_id: {c['id']}", f"# agent_id: {m['agent_id']}", f"# call_start: {m['call_start']}"]
            lines += [f"[{_mmss(u['start'])}] {'坐席' if u['speaker'] == 'agent' else '客户'}：{u['text']}"
                      for u in c["utterances"]]
            enc = "gb18030" if rnd.random() < 0.5 else "utf-8"
            (out / "txt" / f"{name}.txt").write_bytes(("\n".join(lines) + "\n").encode(enc))
        else:
            c = chunk[0]
            blocks = [f"{k}\n{_srt_time(u['start'])} --> {_srt_time(u['end'])}\n"
                      f"{'坐席' if u['speaker'] == 'agent' else '客户'}：{u['text']}\n"
                      for k, u in enumerate(c["utterances"], 1)]
            (out / "srt" / f"{name}.srt").write_text("\n".join(blocks), encoding="utf-8")
    # unanswered attempts: most contacts 1-4 a day, a few dialled 8-10 times
    attempts = []
    for k in range(max(1, n // 20)):
        tries = rnd.choice([1, 2, 3, 4] * 5 + [8, 10])
        phone = f"137{rnd.randint(0, 99999999):08d}"
        for j in range(tries):
            attempts.append({"id": f"ATT-{k:05d}-{j}", "agent_id": f"A{rnd.randint(1, 30):03d}", "contact_id": phone,
                             "call_start": f"2026-11-28 {8 + j:02d}:{rnd.randint(0, 59):02d}:00",
                             "outcome": "unanswered", "utterances": []})
    (out / "attempts" / "attempts.jsonl").write_text(
        "\n".join(json.dumps(a, ensure_ascii=False) for a in attempts) + "\n", encoding="utf-8")
    return {"conversations": n, "attempts": len(attempts), "by_format": counts}



ROW_COLUMNS = ["conversation_id", "turn", "speaker", "text", "agent_id", "call_start", "contact_id", "outcome",
               "counterpart", "channel"]


def utterance_rows(convs: list[dict]) -> list[dict]:
    """Conversations in the core schema as utterance rows (a data-platform table: one row per turn,
    ``turn`` numbering them), call metadata, listener and channel on the first row only; a call
    without turns (an unanswered attempt) is one metadata-only row."""
    rows = []
    for c in convs:
        meta = c.get("metadata") or {}
        head = {"agent_id": meta.get("agent_id"), "call_start": meta.get("call_start"),
                "contact_id": meta.get("contact_id"), "outcome": meta.get("outcome"),
                "counterpart": c.get("counterpart"), "channel": c.get("channel")}
        head = {k: None if v is None else str(v) for k, v in head.items()}
        for t, u in enumerate(c["utterances"] or [None]):
            rows.append({"conversation_id": c["id"], "turn": t, "speaker": u and u["speaker"], "text": u and u["text"],
                         **(head if t == 0 else dict.fromkeys(head))})
    return rows

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--bad-rate", type=float, default=0.08, help="share of agent turns that violate")
    a = ap.parse_args()
    print(json.dumps(write_corpus(Path(a.out), a.n, a.seed, a.bad_rate), ensure_ascii=False))


if __name__ == "__main__":
    main()
