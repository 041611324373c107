"""QA scores per conversation and aggregates per agent and per rule.

A conversation starts at ``start`` points (100); each violation deducts the
points of the most specific matching ``scoring.rules`` selector, else the
points for its severity; a violation matching a ``critical`` selector sets the
score to 0 (红线 items in commercial 质检 schemes). Risk signals never deduct.
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


@dataclass
class Score:
    score: float
    critical: bool
    passed: bool
    deductions: list[tuple[str, float]]     # (rule_id, points)

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 1), "critical": self.critical, "passed": self.passed,
                "deductions": [{"rule_id": r, "points": p} for r, p in self.deductions]}


def deduction_for(f: Finding, cfg: ScoringConfig) -> float:
    best: tuple[int, float] | None = None
    for sel, pts in cfg.rules.items():
        if _matches(f, sel):
            spec = 3 if sel == f.rule_id else 2 if sel == f.subtype else 1
            spec = spec * 1000 + len(sel)
            if best is None or spec > best[0]:
                best = (spec, pts)
    return best[1] if best else cfg.deductions.get(f.severity.value, 0.0)


def score_findings(findings: Iterable[Finding], cfg: ScoringConfig) -> Score:
    total = cfg.start
    ded: list[tuple[str, float]] = []
    critical = False
    seen: set[str] = set()
    for f in findings:
        if not f.is_violation:
            continue
        if any(_matches(f, s) for s in cfg.critical):
            critical = True
        if cfg.per_rule_once and f.rule_id in seen:
            continue
        seen.add(f.rule_id)
        pts = deduction_for(f, cfg)
        if pts:
            ded.append((f.rule_id, pts))
            total -= pts
    total = 0.0 if critical else max(0.0, total)
    return Score(total, critical, total >= cfg.pass_mark and not critical, ded)


def score_record(findings: Iterable[dict[str, Any]], cfg: ScoringConfig) -> dict[str, Any]:
    """The score of one conversation record from its finding dicts (``turn``/``speaker``/``time`` ignored);
    the batch report and the Spark summaries both call this."""
    fs = [Finding.model_validate({k: v for k, v in f.items() if k not in ("turn", "speaker", "time")})
          for f in findings]
    return score_findings(fs, cfg).as_dict()


def agent_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-agent rows (sorted by agent) from scored records with status ok; the records of one agent
    give that agent's row, so a distributed caller can group by agent first."""
    agents: dict[str, dict[str, Any]] = defaultdict(lambda: {"conversations": 0, "scores": [], "violations": 0,
                                                            "high": 0, "critical": 0, "passed": 0,
                                                            "by_category": Counter()})
    for r in records:
        a = agents[r.get("agent_id") or "(unknown)"]
        a["conversations"] += 1
        a["scores"].append(r["score"]["score"])
        a["critical"] += r["score"]["critical"]
        a["passed"] += r["score"]["passed"]
        for f in r["findings"]:
            if f["category"] != "risk":
                a["violations"] += 1
                a["high"] += f["severity"] == "high"
            a["by_category"][f["category"]] += 1
    out = []
    for name, a in sorted(agents.items()):
        sc = a.pop("scores")
        out.append({"agent_id": name, **{k: v for k, v in a.items() if k != "by_category"},
                    "mean_score": round(sum(sc) / len(sc), 1) if sc else None,
                    "min_score": min(sc) if sc else None,
                    "pass_rate": round(a["passed"] / a["conversations"], 3) if a["conversations"] else None,
                    "violations_per_conversation": round(a["violations"] / a["conversations"], 2)
                    if a["conversations"] else None,
                    "by_category": dict(a["by_category"])})
    return out


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


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-agent and per-rule tables from conversation records with status ok."""
    ok = [r for r in records if r["status"] == "ok" and r.get("score") is not None]
    return {"agents": agent_rows(ok), "rules": rule_rows(ok, len(ok))}
