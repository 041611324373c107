"""CSV (one row per finding) and xlsx (summary, findings, calls, agents, rules, categories, trends, files).

Both carry the HTML report's figures: headline numbers over answered calls with unanswered
attempts apart, agents ranked worst first by violations per 100 calls, trends in local time, and
a Chinese name beside every subtype, severity, status and error code.
"""
from __future__ import annotations

import csv
from typing import Any, TextIO

from ...labels import CALL_STATUSES, FILE_STATUSES, error_kind, severity_word
from ..scoring import call_priority, is_attempt, rank_agents
from ..trends import local_start_text
from .textual import fmt_time, names_of, time_zone_of

FINDING_COLUMNS = ["file", "conversation", "status", "agent_id", "call_start", "score", "turn", "speaker", "time",
                   "rule_id", "category", "subtype", "severity", "span", "message", "suggestion", "error",
                   "call", "subtype_name", "severity_name", "source", "error_kind", "call_start_local"]


def _call(r: dict[str, Any]) -> str:
    return "" if r["status"] != "ok" else ("unanswered" if is_attempt(r) else "answered")


def finding_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One row per finding (most severe first within a call); a call without findings, an error and a
    skipped file get one row each."""
    names = names_of(report)["subtypes"]
    offset = time_zone_of(report)
    rows: list[list[Any]] = []
    for r in report["conversations"]:
        local = local_start_text(r, offset) if r.get("call_start") else ""
        base = [r["file"], r["id"], r["status"], r.get("agent_id") or "", r.get("call_start") or "",
                r["score"]["score"] if r.get("score") else ""]
        if r["status"] != "ok":
            rows.append(base + [""] * 10 + [r["error"], "", "", "", "", error_kind(r["error"]), local])
            continue
        if not r["findings"]:
            rows.append(base + [""] * 11 + [_call(r), "", "", "", "", local])
            continue
        for f in r["findings"]:
            rows.append(base + ["" if f["turn"] is None else f["turn"], f["speaker"] or "",
                                fmt_time(f["time"]) if f.get("time") is not None else "", f["rule_id"],
                                f["category"], f["subtype"], f["severity"], f["text"], f["message"],
                                f["suggestion"], "", _call(r), names.get(f["subtype"], f["subtype"]),
                                severity_word(f), f.get("source") or "", "", local])
    for fe in report["files"]:
        if fe["status"] in ("error", "skipped", "config", "not_processed") and not fe.get("conversations"):
            rows.append([fe["path"], "", fe["status"]] + [""] * 13 + [fe["error"] or "", "", "", "", "",
                                                                      error_kind(fe["error"]), ""])
    if report.get("partial"):
        rows.append(["", "", "PARTIAL"] + [""] * 13 + ["interrupted: this report is incomplete", "", "", "", "",
                                                       error_kind("interrupted"), ""])
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


def summary_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The headline figures, as the HTML report's cards show them."""
    s = report["summary"]
    calls, att, period = s["calls"], s["attempts"], s.get("period") or {}
    rows = [["partial (interrupted)", "yes" if report.get("partial") else "no"],
            ["generated at (UTC)", report["generated_at"]], ["config", report.get("config") or "(defaults)"],
            ["period from (local time)", period.get("from") or ""], ["period to (local time)", period.get("to") or ""],
            ["time zone (contact.utc_offset)", period.get("utc_offset") or ""],
            ["files", s["files"]["total"]], ["files ok", s["files"]["ok"]], ["files with errors", s["files"]["error"]],
            ["files skipped", s["files"]["skipped"]], ["config and lexicon files", s["files"].get("config", 0)],
            ["files not processed", s["files"]["not_processed"]],
            ["conversations", s["conversations"]["total"]], ["conversations with errors", s["conversations"]["error"]],
            ["answered calls", calls["answered"]], ["unanswered attempts", calls["unanswered"]],
            ["utterances", s["utterances"]],
            ["violations (answered calls)", s["violations"]],
            ["calls with violations", s["conversations_with_violations"]],
            ["violations per 100 calls", round(100 * s["violations"] / calls["answered"], 1) if calls["answered"] else ""],
            ["risk signals", s["risk_signals"]],
            ["mean QA score (answered calls)", s["mean_score"]], ["passed", s["passed"]],
            ["pass rate", round(s["passed"] / calls["answered"], 3) if calls["answered"] else ""],
            ["critical (红线, score 0)", s["critical"]], ["self-harm signals (自伤)", s.get("self_harm", 0)],
            ["unanswered attempts with contact-policy violations", att["with_violations"]],
            ["contact-policy violations on unanswered attempts", att["violations"]],
            ["errors", len(s["errors"])]]
    rows += [[f"findings: {k}", v] for k, v in s["findings_by_category"].items()]
    rows += [[f"attempts: {k}", v] for k, v in att["by_subtype"].items()]
    return rows


def write_xlsx(report: dict[str, Any], path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="2F4858")
    names = names_of(report)

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

    sheet("Summary", ["item", "value"], summary_rows(report), {0: 44, 1: 30}, first=True)
    ws = sheet("Findings", FINDING_COLUMNS, finding_rows(report),
               {0: 24, 1: 18, 9: 14, 11: 22, 13: 24, 14: 40, 15: 40, 16: 30, 18: 16, 20: 40})
    for row in ws.iter_rows(min_row=2):
        for c in row[13:16]:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    conv_rows = []
    convs = report["conversations"]
    offset = time_zone_of(report)
    for r in sorted(convs, key=call_priority):       # as the HTML list: 红线, 自伤, then worst score first
        fs = r["findings"]
        sc = r.get("score")
        conv_rows.append([r["file"], r["id"], r["status"], CALL_STATUSES.get(r["status"], r["status"]), _call(r),
                          r.get("agent_id") or "", r.get("call_start") or "",
                          local_start_text(r, offset) if r.get("call_start") else "", r.get("outcome") or "", len(r["turns"]),
                          sc["score"] if sc else "", ("yes" if sc["passed"] else "no") if sc else "",
                          ("yes" if sc["critical"] else "no") if sc else "",
                          "yes" if any(f["subtype"] == "risk.self_harm" for f in fs) else "no",
                          sum(f["category"] != "risk" for f in fs), sum(f["category"] == "risk" for f in fs),
                          r["error"] or "", error_kind(r["error"]) if r["error"] else ""])
    sheet("Conversations", ["file", "conversation", "status", "status_name", "call", "agent_id", "call_start",
                            "call_start_local", "outcome", "turns", "score", "passed", "critical", "self_harm", "violations", "risk",
                            "error", "error_kind"], conv_rows, {0: 24, 1: 18, 16: 40})
    ag = rank_agents(report["aggregates"]["agents"])
    sheet("Agents", ["agent_id", "rank", "calls", "violations", "violations_per_100", "pass_rate", "mean_score",
                     "min_score", "min_score_non_critical", "min_score_call", "high", "critical", "self_harm", "unanswered_attempts",
                     "attempt_violations", "by_category"],
          [[a["agent_id"], i + 1, a["calls"], a["violations"], a["violations_per_100"], a["pass_rate"],
            a["mean_score"], a["min_score"], a["min_score_non_critical"], a["min_score_call"] or "", a["high"], a["critical"],
            a["self_harm"], a["attempts"], a["attempt_violations"],
            ", ".join(f"{k} {v}" for k, v in a["by_category"].items())] for i, a in enumerate(ag)], {0: 16, 15: 40})
    sheet("Rules", ["rule_id", "subtype", "subtype_name", "category", "severity", "severity_name", "hits",
                    "conversations", "rate"],
          [[e["rule_id"], e["subtype"], names["subtypes"].get(e["subtype"], e["subtype"]), e["category"],
            e["severity"], severity_word(e), e["hits"], e["conversations"], e["rate"]]
           for e in report["aggregates"]["rules"]], {0: 18, 1: 26, 2: 18})
    sheet("Categories", ["category", "category_name", "findings", "calls", "rate"],
          [[c["category"], names["categories"].get(c["category"], c["category"]), c["findings"], c["calls"], c["rate"]]
           for c in report["aggregates"].get("categories", [])], {0: 14, 1: 18})
    sheet("Days", ["date (local)", "calls", "violations", "violations_per_100", "calls_with_violations", "passed",
                   "pass_rate", "critical", "unanswered_attempts"],
          [[d["date"], d["calls"], d["violations"], d["violations_per_100"], d["calls_with_violations"], d["passed"],
            d["pass_rate"], d["critical"], d["attempts"]] for d in report["aggregates"].get("by_day", [])], {0: 14})
    sheet("Hours", ["hour (local)", "calls", "violations", "violations_per_100", "calls_with_violations",
                    "unanswered_attempts"],
          [[f"{h['hour']:02d}:00", h["calls"], h["violations"], h["violations_per_100"], h["calls_with_violations"],
            h["attempts"]] for h in report["aggregates"].get("by_hour", [])], {0: 14})
    sheet("Files", ["path", "status", "status_name", "format", "encoding", "conversations", "conversation_errors",
                    "error", "error_kind"],
          [[f["path"], f["status"], FILE_STATUSES.get(f["status"], f["status"]), f["format"] or "", f["encoding"] or "",
            f["conversations"], f["conversation_errors"], f["error"] or "", error_kind(f["error"]) if f["error"] else ""]
           for f in report["files"]], {0: 40, 7: 50})
    wb.save(path)
