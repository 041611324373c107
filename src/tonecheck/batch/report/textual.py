"""Text, JSON and JSONL output."""
from __future__ import annotations

import json
from typing import Any, TextIO

from ...labels import SPEAKERS, error_kind, severity_word, table
from ..trends import local_start_text


def names_of(report: dict[str, Any]) -> dict[str, Any]:
    """The report's label table (made from the checker's lexicons), or the bundled one for an older report."""
    return report.get("labels") or table()


def time_zone_of(report: dict[str, Any]) -> str:
    """The batch's local time zone ([contact] utc_offset), as the report recorded it."""
    return (report["summary"].get("period") or {}).get("utc_offset") or "+08:00"


def finding_line(f: dict[str, Any], subtypes: dict[str, str]) -> str:
    """One finding for a terminal: severity word, Chinese subtype name, the codes, span and message."""
    span = f"「{f['text']}」" if f.get("text") else ""
    return (f"[{severity_word(f)}] {subtypes.get(f['subtype'], f['subtype'])} {f['subtype']} {f['rule_id']}"
            f"{span}：{f['message']}")


def fmt_time(sec: Any) -> str:
    if sec is None:
        return ""
    sec = float(sec)
    h, rem = divmod(int(sec), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def mark(text: str, findings: list[dict[str, Any]], left: str = "【", right: str = "】") -> str:
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: (f["start"], -f["end"])):
        if f["start"] < pos or f["end"] <= f["start"]:
            continue
        out.append(text[pos:f["start"]])
        out.append(f"{left}{text[f['start']:f['end']]}{right}")
        pos = f["end"]
    out.append(text[pos:])
    return "".join(out)


def render_record(r: dict[str, Any], subtypes: dict[str, str] | None = None, utc_offset: str = "+08:00") -> str:
    """One call: its findings come in the report's order (most severe first, then position)."""
    subtypes = subtypes if subtypes is not None else table()["subtypes"]
    if r["status"] != "ok":
        return f"== {r['file']} :: {r['id']}  [错误：{error_kind(r['error'])}] {r['error']}"
    fs = r["findings"]
    n_v = sum(f["category"] != "risk" for f in fs)
    n_r = sum(f["category"] == "risk" for f in fs)
    sc = r.get("score") or {}
    head = f"== {r['id'] or '(conversation)'}  违规 {n_v}  风险提示 {n_r}"
    if not r["turns"]:
        head += "  未接通"
    elif sc:
        head += f"  质检分 {sc['score']:g}{'（红线）' if sc['critical'] else ''}"
    who = "  ".join(x for x in (f"坐席 {r['agent_id']}" if r.get("agent_id") else "",
                                  local_start_text(r, utc_offset) if r.get("call_start") else "", r["file"]) if x)
    lines = [head, f"   {who}"]
    for f in fs:
        if f["turn"] is None:
            lines.append(f"    - {finding_line(f, subtypes)}")
    for i, t in enumerate(r["turns"]):
        tf = [f for f in fs if f["turn"] == i]
        ts = f"[{fmt_time(t['start'])}] " if t.get("start") is not None else ""
        lines.append(f"[{i}] {ts}{SPEAKERS.get(t['speaker'], t['speaker'])}：{mark(t['text'], tf)}")
        for f in tf:
            lines.append(f"    - {finding_line(f, subtypes)}")
            if f.get("suggestion") and f["category"] != "risk":
                lines.append(f"      建议：{f['suggestion']}")
    return "\n".join(lines)


def render_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    f, c = s["files"], s["conversations"]
    lines = []
    if report.get("partial"):
        lines.append("*** 已中断：结果不完整 (interrupted: partial results) ***")
    lines.append(f"files: {f['total']} ({f['ok']} ok, {f['error']} error, {f['skipped']} skipped"
                 + (f", {f['config']} config" if f.get("config") else "")
                 + (f", {f['not_processed']} not processed" if f["not_processed"] else "") + ")")
    lines.append(f"conversations: {c['total']} ({c['ok']} ok, {c['error']} error)   utterances: {s['utterances']}")
    calls, att = s["calls"], s["attempts"]
    period = s.get("period") or {}
    when = f"   local time {period['from']} – {period['to']} (UTC{period['utc_offset']})" if period.get("from") else ""
    lines.append(f"calls: {calls['answered']} answered, {calls['unanswered']} unanswered attempts{when}")
    cats = ", ".join(f"{k} {v}" for k, v in s["findings_by_category"].items()) or "none"
    lines.append(f"findings in answered calls: {s['violations']} violations, {s['risk_signals']} risk signals  [{cats}]")
    if s["mean_score"] is not None:
        lines.append(f"QA score (answered calls): mean {s['mean_score']}, passed {s['passed']}/{calls['answered']}, "
                     f"critical {s['critical']}")
    if att["total"]:
        subs = ", ".join(f"{k} {v}" for k, v in att["by_subtype"].items()) or "none"
        lines.append(f"unanswered attempts: {att['total']}, contact-policy violations {att['violations']} [{subs}]")
    if s["unknown_speaker_labels"]:
        lines.append("unknown speaker labels: " + ", ".join(f"{k} ({v})" for k, v in s["unknown_speaker_labels"].items()))
    if s["errors"]:
        lines.append(f"errors ({len(s['errors'])}):")
        for e in s["errors"][:20]:
            where = e["file"] + (f" :: {e['conversation']}" if e["conversation"] else "")
            lines.append(f"  {where}: [{error_kind(e['error'])}] {e['error']}")
        if len(s["errors"]) > 20:
            lines.append(f"  … and {len(s['errors']) - 20} more (see the report)")
    rate = s.get("conversations_per_second")
    lines.append(f"time: {s['elapsed_seconds']:.2f}s" + (f", {rate} conversations/s" if rate else "")
                 + f", {s.get('jobs', 1)} job(s)")
    return "\n".join(lines)


def write_text(report: dict[str, Any], out: TextIO) -> None:
    if report.get("partial"):
        out.write("*** 已中断：以下结果不完整 (interrupted: partial results) ***\n")
    subtypes = names_of(report)["subtypes"]
    offset = time_zone_of(report)
    for fe in report["files"]:
        if fe["status"] in ("error", "not_processed") and not fe.get("conversations"):
            out.write(f"== {fe['path']}  [{error_kind(fe['error'])}] {fe['error']}\n")
    for r in report["conversations"]:
        out.write(render_record(r, subtypes, offset) + "\n")


def write_json(report: dict[str, Any], out: TextIO) -> None:
    json.dump(report, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_jsonl(report: dict[str, Any], out: TextIO) -> None:
    """One line per file, per conversation, then the summary (last line; `partial` says if interrupted)."""
    for fe in report["files"]:
        out.write(json.dumps({"type": "file", **fe}, ensure_ascii=False) + "\n")
    for r in report["conversations"]:
        out.write(json.dumps({"type": "conversation", **r}, ensure_ascii=False) + "\n")
    out.write(json.dumps({"type": "summary", "partial": report["partial"], "schema": report["schema"],
                          "generated_at": report["generated_at"], **report["summary"],
                          "aggregates": report["aggregates"]}, ensure_ascii=False) + "\n")
