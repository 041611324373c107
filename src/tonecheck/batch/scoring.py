"""QA scores per call and aggregates per agent, rule and category (the batch report and the Spark
job both build their tables with these functions).

A call starts at ``start`` points (100); each violation deducts the points of
the most specific matching ``scoring.rules`` selector, else the points for its
severity; a violation matching a ``critical`` selector sets the score to 0 (红线
items in commercial 质检 schemes). Risk signals never deduct.

A violation is one finding: the engine merges every hit of one subtype in one
sentence into one finding, so a sentence that three rules flag deducts once.

Headline figures count answered calls (calls with turns). Unanswered attempts
(no turns; ``outcome = unanswered``) only carry contact-policy findings: they are
counted apart, never in a mean score, a pass rate or an agent's rate.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from ..models import Finding
from .config import ScoringConfig


def _matches(f: Finding, selector: str) -> bool:
    return (f.rule_id == selector or f.rule_id.startswith(selector + "-") or f.subtype == selector
            or f.subtype.startswith(selector + "."))


def is_attempt(rec: dict[str, Any]) -> bool:
    """An unanswered attempt: a call record read without turns (the readers require outcome = unanswered)."""
    return rec["status"] == "ok" and not rec["turns"]


def is_answered(rec: dict[str, Any]) -> bool:
    """A call with turns to grade: what every headline figure counts."""
    return rec["status"] == "ok" and bool(rec["turns"]) and rec.get("score") is not None


@dataclass
class Score:
    score: float
    critical: bool
    passed: bool
    deductions: list[tuple[str, str, int | None, float]]     # (rule_id, subtype, turn, points)

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 1), "critical": self.critical, "passed": self.passed,
                "deductions": [{"rule_id": r, "subtype": s, "turn": t, "points": p}
                               for r, s, t, p in self.deductions]}


def deduction_for(f: Finding, cfg: ScoringConfig) -> float:
    best: tuple[int, float] | None = None
    for sel, pts in cfg.rules.items():
        if _matches(f, sel):
            spec = 3 if sel == f.rule_id else 2 if sel == f.subtype else 1
            spec = spec * 1000 + len(sel)
            if best is None or spec > best[0]:
                best = (spec, pts)
    return best[1] if best else cfg.deductions.get(f.severity.value, 0.0)


def score_findings(findings: Iterable[Finding], cfg: ScoringConfig,
                   turns: Iterable[int | None] | None = None) -> Score:
    """The score of one call from its findings (one per violation); ``turns`` says where each one is."""
    total = cfg.start
    ded: list[tuple[str, str, int | None, float]] = []
    critical = False
    seen: set[str] = set()
    findings = list(findings)
    where = list(turns) if turns is not None else [None] * len(findings)
    for f, turn in zip(findings, where):
        if not f.is_violation:
            continue
        if any(_matches(f, s) for s in cfg.critical):
            critical = True
        if cfg.per_rule_once and f.rule_id in seen:
            continue
        seen.add(f.rule_id)
        pts = deduction_for(f, cfg)
        if pts:
            ded.append((f.rule_id, f.subtype, turn, pts))
            total -= pts
    total = 0.0 if critical else max(0.0, total)
    return Score(total, critical, total >= cfg.pass_mark and not critical, ded)


def score_record(findings: Iterable[dict[str, Any]], cfg: ScoringConfig) -> dict[str, Any]:
    """The score of one call record from its finding dicts (``speaker``/``time`` ignored, ``turn`` names
    where each deduction was made); the batch report and the Spark summaries both call this."""
    findings = list(findings)
    fs = [Finding.model_validate({k: v for k, v in f.items() if k not in ("turn", "speaker", "time")})
          for f in findings]
    return score_findings(fs, cfg, [f.get("turn") for f in findings]).as_dict()


def _violations(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in rec["findings"] if f["category"] != "risk"]


def _self_harm(rec: dict[str, Any]) -> bool:
    return any(f.get("subtype") == "risk.self_harm" for f in rec["findings"])


def call_priority(rec: dict[str, Any]) -> tuple:
    """Sort key for a reader's call list: 红线 calls, then calls where the customer spoke of
    self-harm, then by score (worst first), then input order (Python's sort is stable)."""
    sc = rec.get("score") or {}
    return (not sc.get("critical", False), not _self_harm(rec), rec["status"] == "ok",
            sc.get("score", -1) if sc else -1)


def agent_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-agent rows (sorted by agent id) from scored records with status ok; the records of one
    agent give that agent's row, so a distributed caller can group by agent first.

    Figures count answered calls; an agent's unanswered attempts (records without turns: ``turns`` is
    the list of turns or their number) and their contact-policy findings are counted apart."""
    agents: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0, "scores": [], "violations": 0, "high": 0, "critical": 0, "passed": 0, "self_harm": 0,
        "by_category": Counter(), "attempts": 0, "attempt_violations": 0, "worst": None})
    for r in records:
        a = agents[r.get("agent_id") or "(unknown)"]
        if is_attempt(r):
            a["attempts"] += 1
            a["attempt_violations"] += len(_violations(r))
            continue
        sc = r["score"]
        a["calls"] += 1
        a["scores"].append(sc["score"])
        # The lowest score outside 红线 calls (those are 0 by definition and have their own column);
        # ties go to the call with the smallest id, whatever order the records come in.
        if not sc["critical"] and (a["worst"] is None or (sc["score"], str(r["id"])) < a["worst"]):
            a["worst"] = (sc["score"], str(r["id"]))
        a["critical"] += sc["critical"]
        a["passed"] += sc["passed"]
        a["self_harm"] += _self_harm(r)
        for f in r["findings"]:
            if f["category"] != "risk":
                a["violations"] += 1
                a["high"] += f["severity"] == "high"
            a["by_category"][f["category"]] += 1
    out = []
    for name, a in sorted(agents.items()):
        sc, worst, calls = a.pop("scores"), a.pop("worst"), a["calls"]
        out.append({"agent_id": name, **{k: v for k, v in a.items() if k != "by_category"},
                    "conversations": calls,
                    "mean_score": round(sum(sc) / len(sc), 1) if sc else None,
                    "min_score": min(sc) if sc else None,
                    "min_score_non_critical": worst[0] if worst else None,
                    "min_score_call": worst[1] if worst else None,
                    "pass_rate": round(a["passed"] / calls, 3) if calls else None,
                    "violations_per_100": round(100 * a["violations"] / calls, 1) if calls else None,
                    "violations_per_conversation": round(a["violations"] / calls, 2) if calls else None,
                    "by_category": dict(a["by_category"])})
    return out


def rank_agents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Agent rows worst first, as a reader sees them: most violations per 100 answered calls, then the
    lowest pass rate, then most calls; agents with only unanswered attempts last."""
    return sorted(rows, key=lambda a: (a["calls"] == 0, -(a["violations_per_100"] or 0), a["pass_rate"] or 0,
                                       -a["calls"], a["agent_id"]))


def rule_rows(records: list[dict[str, Any]], checked: int) -> list[dict[str, Any]]:
    """Per-rule rows (most hits first) from scored records with status ok; ``checked`` is the number of
    conversations the rate is relative to (all of them, even when ``records`` hold only some rules' hits).

    A rule whose hits differ in subtype or severity (the model's MDL-* findings) is listed with its
    most frequent (subtype, category, severity), ties to the first in sort order: the table does not
    depend on the order the records come in."""
    rules: dict[str, dict[str, Any]] = {}
    kinds: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        hit_rules = set()
        for f in r["findings"]:
            e = rules.setdefault(f["rule_id"], {"rule_id": f["rule_id"], "hits": 0, "conversations": 0})
            e["hits"] += 1
            kinds[f["rule_id"]][(f["subtype"], f["category"], f["severity"])] += 1
            hit_rules.add(f["rule_id"])
        for rid in hit_rules:
            rules[rid]["conversations"] += 1
    for rid, e in rules.items():
        top = max(kinds[rid].values())
        e["subtype"], e["category"], e["severity"] = min(k for k, v in kinds[rid].items() if v == top)
    n = checked or 1
    out = sorted(rules.values(), key=lambda e: (-e["hits"], e["rule_id"]))
    return [{"rule_id": e["rule_id"], "subtype": e["subtype"], "category": e["category"], "severity": e["severity"],
             "hits": e["hits"], "conversations": e["conversations"], "rate": round(e["conversations"] / n, 4)}
            for e in out]


def category_rows(answered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-category rows over answered calls: findings, calls with one, and the share of calls."""
    cats: dict[str, dict[str, Any]] = {}
    for r in answered:
        for cat in {f["category"] for f in r["findings"]}:
            cats.setdefault(cat, {"category": cat, "findings": 0, "calls": 0})["calls"] += 1
        for f in r["findings"]:
            cats[f["category"]]["findings"] += 1
    n = len(answered) or 1
    out = sorted(cats.values(), key=lambda c: (c["category"] == "risk", -c["findings"], c["category"]))
    return [{**c, "rate": round(c["calls"] / n, 4)} for c in out]


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-agent (by agent id; :func:`rank_agents` orders them for a reader), per-rule and per-category
    tables from the call records with status ok."""
    ok = [r for r in records if r["status"] == "ok" and r.get("score") is not None]
    return {"agents": agent_rows(ok), "rules": rule_rows(ok, len(ok)),
            "categories": category_rows([r for r in ok if not is_attempt(r)])}
