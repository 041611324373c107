"""``tonecheck explain``: both detectors' evidence for one text, for a reviewer or a rule author.

For the rules: every finding with its rule, span and why. For the model:
every sentence with the probability of each category it weighs, the
threshold it must clear, and the n-grams that pushed the likeliest subtype
up. The merged result and its rewrite close the report.
"""
from __future__ import annotations

from .checker import Checker
from .engine import sentence_spans
from .normalize import normalize
from .pii import mask_result, mask_text


def explain(checker: Checker, text: str, *, role: str = "agent", counterpart: str = "unknown", channel: str = "call",
            show_pii: bool = False) -> str:
    res = checker.check(text, role=role, counterpart=counterpart, channel=channel)  # type: ignore[arg-type]
    shown = res if show_pii else mask_result(res)
    mask = (lambda t: t) if show_pii else mask_text
    names = {k: v.name for k, v in checker.lexicon.subtypes.items()}
    out = [f"文本：{shown.text}", f"角色 {role} · 听话人 {counterpart} · 渠道 {channel}", "", "规则："]
    rule_findings = [f for f in shown.findings if not f.rule_id.startswith("MDL-")]
    for f in rule_findings:
        con = f" / {f.construction}" if f.construction else ""
        out.append(f"  {f.rule_id}{con} {f.subtype}（{names.get(f.subtype, '')}）[{f.start},{f.end})「{f.text}」 置信度 {f.confidence:.2f}")
        out.append(f"      {f.explanation}")
    if not rule_findings:
        out.append("  （无规则命中）")
    out += ["", "模型："]
    model = checker.model
    if model is None:
        out.append("  （未启用：model=False / --no-model）")
    else:
        norm = normalize(text)
        side = "agent" if role == "agent" else "customer"
        for s, e in sentence_spans(norm):
            sent = norm.text[s:e]
            scores = model.scores(sent, role, counterpart, channel)
            cats = [c for c in model.categories if f"{side}:{c}" in scores]
            ranked = sorted(cats, key=lambda c: -scores[f"{side}:{c}"])
            parts = []
            for c in ranked[:3]:
                p = scores[f"{side}:{c}"]
                mark = "≥" if p >= model.thresholds[c] else "<"
                parts.append(f"{c} {p:.2f}{mark}{model.thresholds[c]:.2f}")
            out.append(f"  「{mask(sent)}」 " + "，".join(parts))
            top = ranked[0] if ranked else None
            if top:
                subs = sorted(((v, k.split(":", 1)[1]) for k, v in scores.items()
                               if k.startswith(f"{side}:{top}.")), reverse=True)
                if subs:
                    st = subs[0][1]
                    ev = model.evidence(sent, st, role, counterpart, channel)  # what a model finding would name
                    out.append(f"      最可能的子类：{st}（{names.get(st, '')}）{subs[0][0]:.2f}；"
                               f"依据：{'、'.join('「' + mask(g) + '」' for g in ev) or '无'}")
    out += ["", "结果："]
    for f in shown.findings:
        out.append(f"  [{f.severity.value}] {f.subtype} {f.rule_id}「{f.text}」")
    if not shown.findings:
        out.append("  未发现问题")
    if shown.violations:
        out.append(f"建议改写：{shown.rewrite}")
    return "\n".join(out)
