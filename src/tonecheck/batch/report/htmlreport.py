"""A self-contained HTML report: inline CSS, inline SVG charts, a little vanilla JS.

No external fonts, scripts or images, so it opens offline and can be mailed.

The summary (cards, charts, the agent, rule and category tables, trends, errors)
is HTML. The call list and each call's turns are rendered by the page's script
from one JSON block, the list 200 rows at a time and a call's details only when
it is opened: a day of 2,333 calls is about 2,000 elements when it opens instead
of 180,000 (docs/performance.md has the measured open times).
"""
from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path
from typing import Any, TextIO

from ...labels import error_kind, severity_word
from ..contact import parse_offset
from ..scoring import call_priority, is_attempt, rank_agents
from ..trends import local_start_text
from .textual import names_of, time_zone_of

CAT_COLORS = {"threat": "#d64545", "insult": "#e0752d", "privacy": "#7b5ea7", "conduct": "#2f7fb5",
              "sarcasm": "#c49a1a", "contact": "#2a9d8f", "risk": "#8a8f98"}
_ASSETS = Path(__file__).parent
UNKNOWN_AGENT = "(unknown)"


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _json_block(obj: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<' at all, so neither '</script>' nor
    '<!--' in a transcript can end or confuse the block."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def hbar_chart(items: list[tuple[str, float, str]], width: int = 440, unit: str = "", label_w: int = 110) -> str:
    if not items:
        return '<p class="muted">无数据</p>'
    row_h, gap = 22, 8
    h = len(items) * (row_h + gap)
    mx = max(v for _, v, _ in items) or 1
    bar_w = width - label_w - 60
    parts = [f'<svg viewBox="0 0 {width} {h}" width="100%" role="img" aria-label="bar chart">']
    for i, (label, v, color) in enumerate(items):
        y = i * (row_h + gap)
        w = max(2.0, bar_w * v / mx) if v else 0
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12.5" fill="#3e4c59">{_e(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h}" rx="4" fill="{color}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12.5" fill="#1f2933">{v:g}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(scores: list[float], pass_mark: float, width: int = 440, height: int = 170) -> str:
    if not scores:
        return '<p class="muted">无数据</p>'
    buckets = [0] * 11
    for s in scores:
        buckets[min(10, int(s // 10))] += 1
    mx = max(buckets) or 1
    pad_b, pad_t = 22, 16
    bw = width / 11
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="score distribution">']
    for i, n in enumerate(buckets):
        h = (height - pad_b - pad_t) * n / mx
        x = i * bw
        lo = i * 10
        color = "#1e8e5a" if lo >= pass_mark else ("#d4a017" if lo >= pass_mark - 20 else "#c0392b")
        parts.append(f'<rect x="{x + 3:.1f}" y="{height - pad_b - h:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" rx="3" fill="{color}"/>')
        if n:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - pad_b - h - 4:.1f}" text-anchor="middle" font-size="11.5">{n}</text>')
        lab = "100" if i == 10 else f"{lo}–{lo + 9}"
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="10.5" fill="#6b7785">{lab}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hour_chart(hours: list[dict[str, Any]], width: int = 440, height: int = 170) -> str:
    """Answered calls per local hour (grey) and those with a violation (red); hover for the figures."""
    if not any(h["calls"] or h["attempts"] for h in hours):
        return '<p class="muted">无通话时间数据</p>'
    mx = max(h["calls"] for h in hours) or 1
    pad_b, pad_t = 20, 10
    bw = width / 24
    ih = height - pad_b - pad_t
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="calls by hour">']
    for h in hours:
        x = h["hour"] * bw
        tot = ih * h["calls"] / mx
        bad = ih * h["calls_with_violations"] / mx
        rate = "—" if h["violations_per_100"] is None else f'{h["violations_per_100"]:g}'
        parts.append(f'<g><title>{h["hour"]:02d}:00–{h["hour"]:02d}:59 接通 {h["calls"]} 通，其中有违规 '
                     f'{h["calls_with_violations"]} 通，每百通违规 {rate}；未接通 {h["attempts"]} 次</title>'
                     f'<rect x="{x + 1:.1f}" y="{height - pad_b - tot:.1f}" width="{bw - 2:.1f}" height="{tot:.1f}" fill="#b8c4d0"/>'
                     f'<rect x="{x + 1:.1f}" y="{height - pad_b - bad:.1f}" width="{bw - 2:.1f}" height="{bad:.1f}" fill="#c0392b"/></g>')
        if h["hour"] % 3 == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 5}" text-anchor="middle" font-size="10.5" '
                         f'fill="#6b7785">{h["hour"]:02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the data the page's script renders -----------------------------------------------------------

def _call_data(n: int, r: dict[str, Any], strings: dict[str, int], offset: str) -> dict[str, Any]:
    """One call, compact: repeated strings (messages, regulations) are indices into one table."""
    def s(v: str | None) -> int:
        return strings.setdefault(v or "", len(strings))

    sc = r.get("score")
    fs = r["findings"]
    return {
        "n": n, "id": r["id"], "file": r["file"], "st": r["status"], "err": r.get("error"),
        "agent": r.get("agent_id") or UNKNOWN_AGENT, "start": local_start_text(r, offset), "out": r.get("outcome"),
        "att": is_attempt(r), "cp": r.get("counterpart"), "ch": r.get("channel"), "contact": r.get("contact_id"),
        "warn": r.get("warnings") or [],
        "sc": sc["score"] if sc else None, "crit": bool(sc and sc["critical"]), "pass": bool(sc and sc["passed"]),
        "ded": [[d["rule_id"], d.get("subtype"), d.get("turn"), d["points"]] for d in (sc or {}).get("deductions", [])],
        "sh": any(f["subtype"] == "risk.self_harm" for f in fs),
        "turns": [[t["speaker"], t["text"], t.get("start"), t.get("counterpart"), t.get("rewrite")] for t in r["turns"]],
        "f": [[f["turn"], f["rule_id"], f["subtype"], f["category"], f["severity"], f["start"], f["end"], f["text"],
               s(f["message"]), f.get("suggestion") or "", f.get("explanation") or "", s(f.get("source")),
               f.get("review"), f.get("hit_id")] for f in fs],
    }


def report_data(report: dict[str, Any]) -> dict[str, Any]:
    convs = report["conversations"]
    strings: dict[str, int] = {}
    offset = time_zone_of(report)
    calls = [_call_data(n, r, strings, offset) for n, r in enumerate(convs)]
    order = sorted(range(len(convs)), key=lambda n: call_priority(convs[n]))
    for rank, n in enumerate(order):
        calls[n]["pr"] = rank
    return {"labels": names_of(report), "colors": CAT_COLORS, "pass_mark": report.get("scoring", {}).get("pass_mark", 80),
            "strings": list(strings), "calls": calls}


# -- the summary (static HTML) --------------------------------------------------------------------

def _local(ts: str, offset: str) -> str:
    try:
        return dt.datetime.fromisoformat(ts).astimezone(parse_offset(offset)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ts


def _kpis(report: dict[str, Any], pass_mark: float, names: dict[str, Any]) -> str:
    s = report["summary"]
    calls, att = s["calls"], s["attempts"]
    n = calls["answered"]
    per100 = f"每百通 {100 * s['violations'] / n:.1f}" if n else ""
    n_file = sum(e["conversation"] is None for e in s["errors"])
    kp = [("接通通话", n, f'{s["utterances"]} 条语句', "", "answered"),
          ("平均质检分", s["mean_score"] if s["mean_score"] is not None else "—", f"合格线 {pass_mark:g}", "", "mean"),
          ("合格率", _pct(s["passed"] / n) if n else "—", f'{s["passed"]} / {n} 通',
           "good" if n and s["passed"] == n else "", "pass"),
          ("违规", s["violations"], f'{s["conversations_with_violations"]} 通涉及 · {per100}',
           "bad" if s["violations"] else "good", "violations"),
          ("红线", s["critical"], "直接判 0 分，列在最前", "bad" if s["critical"] else "", "critical"),
          (names["subtypes"]["risk.self_harm"], s.get("self_harm", 0), "客户提到轻生，列在红线之后",
           "bad" if s.get("self_harm") else "", "selfharm"),
          (names["categories"]["risk"], s["risk_signals"], "投诉 / 自伤 / 困难，不扣分", "", "risk"),
          ("未接通呼叫", calls["unanswered"], f'联系违规 {att["violations"]} 条 · 不计入以上各项',
           "bad" if att["violations"] else "", "attempts"),
          ("读取错误", len(s["errors"]), f'{n_file} 个文件 · {len(s["errors"]) - n_file} 通会话',
           "bad" if s["errors"] else "good", "errors")]
    return '<section class="kpis">' + "".join(
        f'<div class="kpi {cls}" data-kpi="{key}"><div class="l">{_e(l)}</div><div class="v">{_e(v)}</div>'
        f'<div class="s">{_e(sub)}</div></div>' for l, v, sub, cls, key in kp) + "</section>"


def _category_rows(report: dict[str, Any], names: dict[str, Any]) -> str:
    cats = report["aggregates"].get("categories", [])
    if not cats:
        return '<p class="muted">没有违规</p>'
    mx = max(c["findings"] for c in cats) or 1
    rows = []
    for c in cats:
        color = CAT_COLORS.get(c["category"], "#888")
        rows.append(f'<tr class="row pick" tabindex="0" data-pick="cat" data-v="{_e(c["category"])}">'
                    f'<td>{_e(names["categories"].get(c["category"], c["category"]))}</td>'
                    f'<td class="barcell"><span class="bar" style="width:{100 * c["findings"] / mx:.1f}%;background:{color}">'
                    f'</span></td><td class="num">{c["findings"]}</td><td class="num">{c["calls"]}</td>'
                    f'<td class="num">{_pct(c["rate"], 1)}</td></tr>')
    return ('<div class="scroll"><table><thead><tr><th>类别</th><th></th><th class="num">条数</th>'
            '<th class="num">涉及通话</th><th class="num">通话占比</th></tr></thead><tbody>' + "".join(rows)
            + "</tbody></table></div>")


def _agent_rows(agents: list[dict[str, Any]], convs: list[dict[str, Any]]) -> str:
    """The agents worst first; each lowest score links to its call."""
    where = {(r.get("agent_id") or UNKNOWN_AGENT, str(r["id"])): n for n, r in reversed(list(enumerate(convs)))}
    rows = []
    for i, a in enumerate(agents):
        worst = where.get((a["agent_id"], a["min_score_call"])) if a.get("min_score_call") is not None else None
        low_v = a["min_score_non_critical"]
        low = ("—" if low_v is None else _e(low_v) if worst is None
               else f'<a href="#c{worst}" title="打开这通电话">{_e(low_v)}</a>')
        name = "（未填坐席）" if a["agent_id"] == UNKNOWN_AGENT else a["agent_id"]
        rate = _num(a["violations_per_100"])
        rows.append(f'<tr class="row pick" tabindex="0" data-pick="agent" data-v="{_e(a["agent_id"])}">'
                    f'<td class="num">{i + 1}</td><td>{_e(name)}</td><td class="num">{a["calls"]}</td>'
                    f'<td class="num" data-v="{a["violations_per_100"] or 0}">{rate}</td>'
                    f'<td class="num" data-v="{a["pass_rate"] if a["pass_rate"] is not None else -1}">{_pct(a["pass_rate"])}</td>'
                    f'<td class="num">{_e(a["mean_score"] if a["mean_score"] is not None else "—")}</td>'
                    f'<td class="num" data-v="{-1 if low_v is None else low_v}">{low}</td>'
                    f'<td class="num">{a["critical"]}</td><td class="num">{a["self_harm"]}</td>'
                    f'<td class="num">{a["attempts"]}</td><td class="num">{a["attempt_violations"]}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="11" class="muted">没有接通的通话</td></tr>')
    return ('<div class="scroll"><table class="sortable" id="agents"><thead><tr><th class="num">排名</th><th>坐席</th>'
            '<th class="num">接通</th><th class="num">每百通违规</th><th class="num">合格率</th><th class="num">平均分</th>'
            '<th class="num" title="红线通话直接判 0 分，另列一栏">最低分（红线外）</th><th class="num">红线</th><th class="num">自伤</th><th class="num">未接通</th>'
            '<th class="num">联系违规</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>")


def _rule_rows(report: dict[str, Any], names: dict[str, Any]) -> str:
    rows = []
    for e in sorted(report["aggregates"]["rules"], key=lambda e: e["category"] == "risk"):     # signals last
        sev_cls = "risk" if e["category"] == "risk" else e["severity"]
        rows.append(f'<tr class="row pick" tabindex="0" data-pick="rule" data-v="{_e(e["rule_id"])}">'
                    f'<td class="rid">{_e(e["rule_id"])}</td>'
                    f'<td>{_e(names["subtypes"].get(e["subtype"], e["subtype"]))} <span class="code">{_e(e["subtype"])}</span></td>'
                    f'<td data-v="{ {"high": 3, "medium": 2, "low": 1}.get(e["severity"], 0) - (e["category"] == "risk") * 9}">'
                    f'<span class="sev sev-{sev_cls}">{_e(severity_word(e))}</span></td>'
                    f'<td class="num">{e["hits"]}</td><td class="num">{e["conversations"]}</td>'
                    f'<td class="num" data-v="{e["rate"]}">{_pct(e["rate"], 1)}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="6" class="muted">没有命中任何规则</td></tr>')
    return ('<div class="scroll"><table class="sortable" id="rules"><thead><tr><th>规则</th><th>类型</th><th>严重度</th>'
            '<th class="num">命中</th><th class="num">涉及通话</th><th class="num">通话占比</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _day_rows(days: list[dict[str, Any]]) -> str:
    if not days:
        return '<p class="muted">无通话时间数据</p>'
    rows = "".join(
        f'<tr><td>{_e(d["date"])}</td><td class="num">{d["calls"]}</td>'
        f'<td class="num">{_num(d["violations_per_100"])}</td>'
        f'<td class="num">{_pct(d["pass_rate"])}</td><td class="num">{d["critical"]}</td>'
        f'<td class="num">{d["attempts"]}</td></tr>' for d in days)
    return ('<div class="scroll"><table><thead><tr><th>日期</th><th class="num">接通</th><th class="num">每百通违规</th>'
            '<th class="num">合格率</th><th class="num">红线</th><th class="num">未接通</th></tr></thead><tbody>'
            + rows + "</tbody></table></div>")


def _errors(s: dict[str, Any]) -> str:
    if not s["errors"]:
        return ""
    rows = "".join(f'<tr><td class="path">{_e(e["file"])}</td><td>{_e(e["conversation"] or "（整个文件）")}</td>'
                   f'<td class="status-error">{_e(error_kind(e["error"]))}</td><td>{_e(e["error"])}</td></tr>'
                   for e in s["errors"])
    return (f'<h2 class="section" id="errors">读取错误（{len(s["errors"])}）</h2><div class="wrap"><table><thead><tr>'
            f'<th>文件</th><th>会话</th><th>错误</th><th>详情</th></tr></thead><tbody>{rows}</tbody></table></div>')


def _other_files(report: dict[str, Any], names: dict[str, Any]) -> str:
    out = []
    other = [f for f in report["files"] if f["status"] in ("skipped", "not_processed")]
    if other:
        out.append(f'<h2 class="section">未检查的文件（{len(other)}）</h2><div class="wrap"><table><thead><tr><th>文件</th>'
                   '<th>状态</th><th>原因</th></tr></thead><tbody>')
        out.extend(f'<tr><td class="path">{_e(f["path"])}</td><td>{_e(names["file_statuses"].get(f["status"], f["status"]))}'
                   f'</td><td>{_e(error_kind(f["error"]))}：{_e(f["error"])}</td></tr>' for f in other)
        out.append("</tbody></table></div>")
    config = [f for f in report["files"] if f["status"] == "config"]
    if config:
        out.append(f'<p class="muted" id="config-files">配置与词库文件（{len(config)}，不是对话记录，未作为对话读取）：'
                   + "、".join(f'<span class="path">{_e(f["path"])}</span>' for f in config) + "</p>")
    return "".join(out)


def render_html(report: dict[str, Any]) -> str:
    s = report["summary"]
    names = names_of(report)
    pass_mark = report.get("scoring", {}).get("pass_mark", 80)
    convs = report["conversations"]
    period = s.get("period") or {}
    offset = time_zone_of(report)
    span = (f'覆盖时段 {_e(period["from"])} – {_e(period["to"])}（当地时间 UTC{_e(offset)}）'
            if period.get("from") else "通话时间未知")
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<title>tonecheck 质检报告 {_e(report["generated_at"])}</title><style>{_asset("report.css")}</style></head><body>']
    out.append(f'<header><h1>催收通话合规质检报告</h1><div class="meta"><span id="period">{span}</span> · '
               f'生成于 {_e(_local(report["generated_at"], offset))} · tonecheck {_e(report["tonecheck_version"])} · '
               f'配置：{_e(report.get("config") or "默认")} · {s["files"]["total"]} 个文件 · '
               f'用时 {s["elapsed_seconds"]:.1f} 秒</div></header><main>')
    if report.get("partial"):
        out.append(f'<div class="banner">⚠ 本次运行被中断，报告不完整：{s["files"]["not_processed"]} 个文件未处理。'
                   '(Interrupted: partial results.)</div>')
    out.append(_kpis(report, pass_mark, names))
    agents = rank_agents(report["aggregates"]["agents"])
    rated = [a for a in agents if a["calls"]][:12]
    agent_chart = hbar_chart([("（未填坐席）" if a["agent_id"] == UNKNOWN_AGENT else a["agent_id"],
                               a["violations_per_100"] or 0, "#2f4858") for a in rated])
    scores = [r["score"]["score"] for r in convs if r.get("score") and r["turns"]]
    out.append('<section class="grid">'
               f'<div class="card"><h2>违规 · 按类别 <span class="hint">点击一行筛选通话</span></h2>{_category_rows(report, names)}</div>'
               f'<div class="card"><h2>每百通违规 · 坐席（最差 12 位）</h2>{agent_chart}</div>'
               f'<div class="card"><h2>质检分分布（接通通话）</h2>{histogram(scores, pass_mark)}'
               f'<div class="legend">绿色：合格（≥{pass_mark:g}）；黄色：待改进；红色：不合格或红线</div></div>'
               f'<div class="card"><h2>按小时（当地时间）</h2>{hour_chart(report["aggregates"].get("by_hour", []))}'
               '<div class="legend">灰色：接通通话；红色：其中有违规的通话。悬停查看数字。</div></div>'
               "</section>")
    out.append('<section class="grid wide">'
               f'<div class="card"><h2>坐席排名 · 每百通违规最多的在前 <span class="hint">点击一行筛选通话</span></h2>'
               f'{_agent_rows(agents, convs)}</div>'
               f'<div class="card"><h2>规则命中 <span class="hint">点击一行筛选通话</span></h2>{_rule_rows(report, names)}</div>'
               f'<div class="card"><h2>按日（当地时间）</h2>{_day_rows(report["aggregates"].get("by_day", []))}</div>'
               "</section>")
    att = s["attempts"]
    if s["calls"]["unanswered"]:
        subs = "、".join(f'{_e(names["subtypes"].get(k, k))} {v}' for k, v in att["by_subtype"].items()) or "无"
        out.append(f'<section class="card attempts" id="attempts"><h2>未接通呼叫（{s["calls"]["unanswered"]}）</h2>'
                   f'<p>未接通的呼叫没有对话内容，不计入质检分、合格率和坐席排名，只检查{_e(names["categories"]["contact"])}：'
                   f'{att["with_violations"]} 次呼叫有联系违规，共 {att["violations"]} 条（{subs}）。'
                   '<button type="button" id="show-attempts">在列表中查看有联系违规的未接通呼叫</button></p></section>')
    out.append(_errors(s))
    agent_opts = "".join(f'<option value="{_e(a["agent_id"])}">{_e("（未填坐席）" if a["agent_id"] == UNKNOWN_AGENT else a["agent_id"])}</option>'
                         for a in sorted(agents, key=lambda a: a["agent_id"]))
    cat_opts = "".join(f'<option value="{_e(k)}">{_e(v)}</option>' for k, v in names["categories"].items())
    rule_opts = "".join(f'<option value="{_e(e["rule_id"])}">{_e(e["rule_id"])} {_e(names["subtypes"].get(e["subtype"], e["subtype"]))}</option>'
                        for e in sorted(report["aggregates"]["rules"], key=lambda e: e["rule_id"]))
    out.append('<h2 class="section" id="calls">通话列表 <span class="hint">红线和客户提到自伤的通话在最前，其余按质检分从低到高；'
               '点击一行查看逐轮内容</span></h2>'
               '<div class="tools"><input type="search" id="q" placeholder="搜索通话、坐席、文件…">'
               '<select id="fkind"><option value="answered">接通通话</option><option value="attempt">未接通呼叫</option>'
               '<option value="">全部</option></select>'
               '<select id="fstatus"><option value="">全部状态</option><option value="viol">有违规</option>'
               '<option value="fail">不合格</option><option value="critical">红线</option>'
               f'<option value="selfharm">{_e(names["subtypes"]["risk.self_harm"])}</option>'
               '<option value="clean">无违规</option><option value="error">读取错误</option></select>'
               f'<select id="fcat"><option value="">全部类别</option>{cat_opts}</select>'
               f'<select id="fagent"><option value="">全部坐席</option>{agent_opts}</select>'
               f'<select id="frule"><option value="">全部规则</option>{rule_opts}</select>'
               '<button type="button" id="clearf">清除筛选</button><span class="count" id="count"></span></div>')
    out.append('<div class="wrap"><table id="convs"><thead><tr><th data-sort="pr">优先</th><th data-sort="id">通话</th>'
               '<th data-sort="agent">坐席</th><th data-sort="start">时间（当地）</th><th class="num" data-sort="sc">质检分</th>'
               '<th class="num" data-sort="nv">违规</th><th class="num" data-sort="nh">严重</th><th>类别</th>'
               '<th data-sort="file">文件</th></tr></thead><tbody></tbody></table></div>'
               '<div class="more"><button type="button" id="more" hidden>显示更多</button></div>'
               '<noscript><p class="banner">通话列表和逐轮内容需要启用 JavaScript。</p></noscript>')
    out.append(_other_files(report, names))
    ded = report["scoring"]["deductions"]
    out.append(f'<footer>tonecheck {_e(report["tonecheck_version"])} · 评分规则：每通接通电话起始 {report["scoring"]["start"]:g} 分，'
               f'每条违规（同一句同类问题只算一条）按严重度扣 {ded.get("high", 0):g}/{ded.get("medium", 0):g}/{ded.get("low", 0):g} 分，'
               f'红线项：{_e("、".join(names["subtypes"].get(c, c) for c in report["scoring"]["critical"]) or "无")}。'
               f'个人身份信息已脱敏。</footer></main>')
    out.append(f'<script type="application/json" id="tc-data">{_json_block(report_data(report))}</script>')
    out.append(f'<script type="application/json" id="tonecheck-summary">{_json_block(s)}</script>')
    out.append(f"<script>{_asset('report.js')}</script></body></html>")
    return "".join(out)


def write_html(report: dict[str, Any], out: TextIO) -> None:
    out.write(render_html(report))
