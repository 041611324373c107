"""CSV (one row per finding) and xlsx (findings, conversations, agents, rules, files)."""
from __future__ import annotations

import csv
from typing import Any, TextIO

from .textual import fmt_time

FINDING_COLUMNS = ["file", "conversation", "status", "agent_id", "call_start", "score", "turn", "speaker", "time",
                   "rule_id", "category", "subtype", "severity", "span", "message", "suggestion", "error"]


def finding_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One row per finding; a conversation without findings, an error and a skipped file get one row each."""
    rows: list[list[Any]] = []
    for r in report["conversations"]:
        base = [r["file"], r["id"], r["status"], r.get("agent_id") or "", r.get("call_start") or "",
                r["score"]["score"] if r.get("score") else ""]
        if r["status"] != "ok":
            rows.append(base + ["", "", "", "", "", "", "", "", "", "", r["error"]])
            continue
        if not r["findings"]:
            rows.append(base + [""] * 11)
            continue
        for f in r["findings"]:
            rows.append(base + ["" if f["turn"] is None else f["turn"], f["speaker"] or "",
                                fmt_time(f["time"]) if f.get("time") is not None else "", f["rule_id"],
                                f["category"], f["subtype"], f["severity"], f["text"], f["message"],
                                f["suggestion"], ""])
    for fe in report["files"]:
        if fe["status"] in ("error", "skipped", "not_processed") and not fe.get("conversations"):
            rows.append([fe["path"], "", fe["status"]] + [""] * 13 + [fe["error"] or ""])
    if report.get("partial"):
        rows.append(["", "", "PARTIAL"] + [""] * 13 + ["interrupted: this report is incomplete"])
    return rows


def write_csv(report: dict[str, Any], out: TextIO, delimiter: str = ",") -> None:
    w = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    w.writerow(FINDING_COLUMNS)
    w.writerows(finding_rows(report))


def _safe(v: Any) -> Any:
    """Cells starting with = + - @ are formulas in spreadsheet apps: keep them text."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def write_xlsx(report: dict[str, Any], path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="2F4858")

    def sheet(title: str, header: list[str], rows: list[list[Any]], widths: dict[int, int] | None = None, first=False):
        ws = wb.active if first else wb.create_sheet()
        ws.title = title
        ws.append(header)
        for c in ws[1]:
            c.font, c.fill = bold, fill
        for row in rows:
            ws.append([_safe(v) for v in row])
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = ws.dimensions
        for i, wdt in (widths or {}).items():
            ws.column_dimensions[chr(ord("A") + i)].width = wdt
        return ws

    s = report["summary"]
    summ = [["partial (interrupted)", "yes" if report.get("partial") else "no"],
            ["generated at", report["generated_at"]], ["config", report.get("config") or "(defaults)"],
            ["files", s["files"]["total"]], ["files ok", s["files"]["ok"]], ["files with errors", s["files"]["error"]],
            ["files skipped", s["files"]["skipped"]], ["files not processed", s["files"]["not_processed"]],
            ["conversations", s["conversations"]["total"]], ["conversations with errors", s["conversations"]["error"]],
            ["utterances", s["utterances"]], ["violations", s["violations"]], ["risk signals", s["risk_signals"]],
            ["mean QA score", s["mean_score"]], ["passed", s["passed"]], ["critical (score 0)", s["critical"]]]
    summ += [[f"findings: {k}", v] for k, v in s["findings_by_category"].items()]
    sheet("Summary", ["item", "value"], summ, {0: 28, 1: 30}, first=True)
    ws = sheet("Findings", FINDING_COLUMNS, finding_rows(report),
               {0: 24, 1: 18, 9: 14, 11: 22, 13: 24, 14: 40, 15: 40, 16: 30})
    for row in ws.iter_rows(min_row=2):
        for c in row[13:16]:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    conv_rows = []
    for r in report["conversations"]:
        fs = r["findings"]
        conv_rows.append([r["file"], r["id"], r["status"], r.get("agent_id") or "", r.get("call_start") or "",
                          r.get("outcome") or "", len(r["turns"]),
                          r["score"]["score"] if r.get("score") else "",
                          ("yes" if r["score"]["passed"] else "no") if r.get("score") else "",
                          ("yes" if r["score"]["critical"] else "no") if r.get("score") else "",
                          sum(f["category"] != "risk" for f in fs), sum(f["category"] == "risk" for f in fs),
                          r["error"] or ""])
    sheet("Conversations", ["file", "conversation", "status", "agent_id", "call_start", "outcome", "turns", "score",
                            "passed", "critical", "violations", "risk", "error"], conv_rows, {0: 24, 1: 18, 12: 40})
    ag = report["aggregates"]["agents"]
    sheet("Agents", ["agent_id", "conversations", "mean_score", "min_score", "pass_rate", "violations",
                     "violations_per_conversation", "high", "critical", "by_category"],
          [[a["agent_id"], a["conversations"], a["mean_score"], a["min_score"], a["pass_rate"], a["violations"],
            a["violations_per_conversation"], a["high"], a["critical"],
            ", ".join(f"{k} {v}" for k, v in a["by_category"].items())] for a in ag], {0: 16, 9: 40})
    sheet("Rules", ["rule_id", "subtype", "category", "severity", "hits", "conversations", "rate"],
          [[e["rule_id"], e["subtype"], e["category"], e["severity"], e["hits"], e["conversations"], e["rate"]]
           for e in report["aggregates"]["rules"]], {0: 18, 1: 26})
    sheet("Files", ["path", "status", "format", "encoding", "conversations", "conversation_errors", "error"],
          [[f["path"], f["status"], f["format"] or "", f["encoding"] or "", f["conversations"],
            f["conversation_errors"], f["error"] or ""] for f in report["files"]], {0: 40, 6: 50})
    wb.save(path)
