"""QA scores per call and aggregates per agent, rule and category.

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


def _violations(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in rec["findings"] if f["category"] != "risk"]


def _self_harm(rec: dict[str, Any]) -> bool:
    return any(f["subtype"] == "risk.self_harm" for f in rec["findings"])


def call_priority(rec: dict[str, Any]) -> tuple:
    """Sort key for a reader's call list: 红线 calls, then calls where the customer spoke of
    self-harm, then by score (worst first), then input order (Python's sort is stable)."""
    sc = rec.get("score") or {}
    return (not sc.get("critical", False), not _self_harm(rec), rec["status"] == "ok",
            sc.get("score", -1) if sc else -1)


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-agent, per-rule and per-category tables. Rates count answered calls; an agent's
    unanswered attempts and their contact-policy findings are counted in columns of their own."""
    agents: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0, "scores": [], "violations": 0, "high": 0, "critical": 0, "passed": 0, "self_harm": 0,
        "by_category": Counter(), "attempts": 0, "attempt_violations": 0, "worst": None})
    rules: dict[str, dict[str, Any]] = {}
    cats: dict[str, dict[str, Any]] = {}
    answered = 0
    for n, r in enumerate(records):
        if r["status"] != "ok" or r.get("score") is None:
            continue
        a = agents[r.get("agent_id") or "(unknown)"]
        if is_attempt(r):
            a["attempts"] += 1
            a["attempt_violations"] += len(_violations(r))
            continue
        answered += 1
        sc = r["score"]
        a["calls"] += 1
        a["scores"].append(sc["score"])
        # The lowest score outside 红线 calls (those are 0 by definition and have their own column).
        if not sc["critical"] and (a["worst"] is None or sc["score"] < a["worst"][0]):
            a["worst"] = (sc["score"], n, r["id"])
        a["critical"] += sc["critical"]
        a["passed"] += sc["passed"]
        a["self_harm"] += _self_harm(r)
        hit_rules, hit_cats = set(), set()
        for f in r["findings"]:
            if f["category"] != "risk":
                a["violations"] += 1
                a["high"] += f["severity"] == "high"
            a["by_category"][f["category"]] += 1
            e = rules.setdefault(f["rule_id"], {"rule_id": f["rule_id"], "subtype": f["subtype"],
                                               "category": f["category"], "severity": f["severity"],
                                               "hits": 0, "conversations": 0})
            e["hits"] += 1
            hit_rules.add(f["rule_id"])
            c = cats.setdefault(f["category"], {"category": f["category"], "findings": 0, "calls": 0})
            c["findings"] += 1
            hit_cats.add(f["category"])
        for rid in hit_rules:
            rules[rid]["conversations"] += 1
        for cat in hit_cats:
            cats[cat]["calls"] += 1
    agent_rows = []
    for name, a in agents.items():
        sc, worst, calls = a.pop("scores"), a.pop("worst"), a["calls"]
        agent_rows.append({
            "agent_id": name, **{k: v for k, v in a.items() if k != "by_category"},
            "conversations": calls,
            "mean_score": round(sum(sc) / len(sc), 1) if sc else None,
            "min_score": min(sc) if sc else None,
            "min_score_non_critical": worst[0] if worst else None,
            "min_score_call": {"index": worst[1], "id": worst[2]} if worst else None,
            "pass_rate": round(a["passed"] / calls, 3) if calls else None,
            "violations_per_100": round(100 * a["violations"] / calls, 1) if calls else None,
            "violations_per_conversation": round(a["violations"] / calls, 2) if calls else None,
            "by_category": dict(a["by_category"])})
    # Worst first: most violations per 100 answered calls, then the lowest pass rate; agents with
    # only unanswered attempts last.
    agent_rows.sort(key=lambda a: (a["calls"] == 0, -(a["violations_per_100"] or 0), a["pass_rate"] or 0,
                                   -a["calls"], a["agent_id"]))
    n = answered or 1
    rule_rows = sorted(rules.values(), key=lambda e: (e["category"] == "risk", -e["hits"], e["rule_id"]))
    for e in rule_rows:
        e["rate"] = round(e["conversations"] / n, 4)
    cat_rows = sorted(cats.values(), key=lambda c: (c["category"] == "risk", -c["findings"], c["category"]))
    for c in cat_rows:
        c["rate"] = round(c["calls"] / n, 4)
    return {"agents": agent_rows, "rules": rule_rows, "categories": cat_rows}
