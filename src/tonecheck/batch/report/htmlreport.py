"""A self-contained HTML report: inline CSS, inline SVG charts, a little vanilla JS.

No external fonts, scripts or images, so it opens offline and can be mailed.
"""
from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import Any, TextIO

from .textual import fmt_time

CAT_COLORS = {"threat": "#d64545", "insult": "#e0752d", "privacy": "#7b5ea7", "conduct": "#2f7fb5",
              "sarcasm": "#c49a1a", "contact": "#2a9d8f", "risk": "#8a8f98"}
CAT_ZH = {"threat": "威胁恐吓", "insult": "侮辱谩骂", "sarcasm": "讽刺挖苦", "privacy": "隐私泄露",
          "conduct": "违规操作", "contact": "联系频次/时段", "risk": "客户风险信号"}
SEV_ZH = {"high": "高", "medium": "中", "low": "低"}
SPEAKER_ZH = {"agent": "坐席", "customer": "客户"}
CP_ZH = {"debtor": "本人", "third_party": "第三方", "unknown": "未声明（按对话推断）"}
CH_ZH = {"call": "电话", "visit": "外访", "sms": "短信"}
OUTCOME_ZH = {"answered": "接通", "unanswered": "未接通"}

CSS = """
:root{--ink:#1f2933;--mute:#6b7785;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--accent:#2f4858}
*{box-sizing:border-box}
body{margin:0;font:14px/1.55 -apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans SC","WenQuanYi Micro Hei",sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--accent);color:#fff;padding:22px 32px 18px}
header h1{margin:0;font-size:22px;font-weight:600;letter-spacing:.5px}
header .meta{opacity:.8;font-size:12.5px;margin-top:4px}
main{padding:20px 32px 60px;max-width:1500px;margin:0 auto}
.banner{background:#fdecea;border:1px solid #f5c2bd;color:#8a1c12;padding:12px 16px;border-radius:8px;margin-bottom:16px;font-weight:600}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:18px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.kpi .v{font-size:26px;font-weight:650;line-height:1.2}
.kpi .l{color:var(--mute);font-size:12.5px}
.kpi .s{color:var(--mute);font-size:12px}
.kpi.bad .v{color:#c0392b}.kpi.good .v{color:#1e8e5a}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px;margin-bottom:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px}
.card h2{font-size:15px;margin:0 0 10px;font-weight:600}
.card .scroll{max-height:430px;overflow:auto}
.card .scroll thead th{position:sticky;top:0}
h2.section{font-size:17px;margin:26px 0 10px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f3f6;font-weight:600;font-size:12.5px;color:#3e4c59;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:after{content:" ⇅";color:#b0b8c1;font-size:11px}
table.sortable th.asc:after{content:" ▲";color:var(--accent)}table.sortable th.desc:after{content:" ▼";color:var(--accent)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.row:hover{background:#f7fafc}
.wrap{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
.tools{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:6px 0 10px}
.tools input[type=search]{padding:7px 10px;border:1px solid #cbd2d9;border-radius:6px;min-width:260px;font:inherit}
.tools select{padding:6px 8px;border:1px solid #cbd2d9;border-radius:6px;font:inherit;background:#fff}
.tools .count{color:var(--mute);margin-left:auto}
.tools button{padding:6px 12px;border:1px solid #cbd2d9;border-radius:6px;background:#fff;font:inherit;cursor:pointer}
.tools button:hover{background:#f0f3f6}
.score{display:inline-block;min-width:42px;text-align:center;border-radius:12px;padding:1px 8px;font-weight:600;color:#fff}
.s-good{background:#1e8e5a}.s-mid{background:#d4a017}.s-bad{background:#c0392b}.s-none{background:#9aa5b1}
.chip{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;color:#fff;margin:1px 2px 1px 0;white-space:nowrap}
.sev{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.sev-high{background:#fbe3e1;color:#a61b0f}.sev-medium{background:#fdf0d9;color:#8a5a00}.sev-low{background:#e8eef5;color:#3b5b7a}.sev-risk{background:#eceff2;color:#52606d}
.status-error{color:#c0392b;font-weight:600}
details.conv{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:10px 0}
details.conv>summary{padding:10px 16px;cursor:pointer;display:flex;gap:12px;align-items:center;flex-wrap:wrap;list-style:none}
details.conv>summary::-webkit-details-marker{display:none}
details.conv>summary:before{content:"▸";color:var(--mute)}details.conv[open]>summary:before{content:"▾"}
details.conv .body{padding:4px 18px 14px;border-top:1px solid var(--line)}
.cid{font-weight:600}.muted{color:var(--mute);font-size:12.5px}
.turn{display:grid;grid-template-columns:64px 52px 1fr;gap:8px;padding:7px 0;border-bottom:1px dashed #eef0f3}
.turn:last-child{border-bottom:0}
.turn .t{color:var(--mute);font-variant-numeric:tabular-nums;font-size:12.5px;padding-top:1px}
.who{font-size:12px;border-radius:4px;padding:1px 6px;height:fit-content;text-align:center}
.who-agent{background:#e3edf7;color:#24527a}
.lis{font-size:11px;color:#7b5ea7;text-align:center;margin-top:2px;white-space:nowrap}.who-customer{background:#eef2e6;color:#4b6a2e}
.txt mark{border-radius:3px;padding:0 1px}
mark.m-high{background:#f9c9c4;border-bottom:2px solid #c0392b}mark.m-medium{background:#fde3b0;border-bottom:2px solid #d68910}
mark.m-low{background:#fff1a8;border-bottom:2px solid #c9a227}mark.m-risk{background:#e1e5ea;border-bottom:2px solid #7b8794}
.f{margin:4px 0 0;padding:6px 10px;background:#fafbfc;border-left:3px solid #cbd2d9;border-radius:0 6px 6px 0;font-size:13px}
.f.high{border-left-color:#c0392b}.f.medium{border-left-color:#d68910}.f.low{border-left-color:#c9a227}.f.risk{border-left-color:#9aa5b1}
td.rid{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.f .rid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:var(--mute)}
.sugg{color:#1e6e4a}.sugg b{font-weight:600}
.rw{margin-top:4px;font-size:13px;color:#1e6e4a;background:#effaf4;border-radius:6px;padding:5px 10px}
.cfind{margin:8px 0}
svg text{font-family:inherit}
.legend{font-size:12px;color:var(--mute)}
footer{color:var(--mute);font-size:12px;text-align:center;margin-top:30px}
@media print{details.conv{break-inside:avoid}.tools{display:none}}
"""

JS = r"""
(function(){
  function val(td){var v=td.getAttribute('data-v');if(v===null)v=td.textContent.trim();var n=parseFloat(v);return (v!==''&&!isNaN(n)&&/^-?[\d.]+$/.test(v))?n:v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(t){
    var ths=t.querySelectorAll('thead th');
    ths.forEach(function(th,i){th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');ths.forEach(function(x){x.classList.remove('asc','desc')});
      th.classList.add(asc?'asc':'desc');var tb=t.tBodies[0];var rows=Array.prototype.slice.call(tb.rows);
      rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
      rows.forEach(function(r){tb.appendChild(r)});});});
  });
  var q=document.getElementById('q'),cat=document.getElementById('fcat'),st=document.getElementById('fstatus'),ag=document.getElementById('fagent'),cnt=document.getElementById('count');
  function apply(){
    var s=(q.value||'').toLowerCase(),c=cat.value,f=st.value,a=ag.value,n=0;
    document.querySelectorAll('#convs tbody tr').forEach(function(r){
      var ok=(!s||r.textContent.toLowerCase().indexOf(s)>=0)&&(!c||(' '+r.getAttribute('data-cats')+' ').indexOf(' '+c+' ')>=0)&&(!a||r.getAttribute('data-agent')===a);
      if(f==='viol')ok=ok&&r.getAttribute('data-viol')!=='0';else if(f==='fail')ok=ok&&r.getAttribute('data-pass')==='0';else if(f==='error')ok=ok&&r.getAttribute('data-status')==='error';else if(f==='clean')ok=ok&&r.getAttribute('data-viol')==='0'&&r.getAttribute('data-status')==='ok';
      r.style.display=ok?'':'none';if(ok)n++;});
    cnt.textContent=n+' / '+document.querySelectorAll('#convs tbody tr').length;
  }
  [q,cat,st,ag].forEach(function(e){if(e){e.addEventListener('input',apply);e.addEventListener('change',apply);}});
  if(q)apply();
  var ov=document.getElementById('openviol'),ca=document.getElementById('closeall');
  if(ov)ov.addEventListener('click',function(){document.querySelectorAll('details.conv[data-viol]').forEach(function(d){if(d.getAttribute('data-viol')!=='0')d.open=true;});});
  if(ca)ca.addEventListener('click',function(){document.querySelectorAll('details.conv').forEach(function(d){d.open=false;});});
  function openHash(){var h=location.hash.slice(1);if(h==='violations'){if(ov)ov.click();return;}var d=h&&document.getElementById(h);if(d&&d.tagName==='DETAILS')d.open=true;}
  window.addEventListener('hashchange',openHash);openHash();
  document.querySelectorAll('#convs tbody tr').forEach(function(r){r.addEventListener('click',function(ev){
    if(ev.target.tagName==='A')return;var d=document.getElementById(r.getAttribute('data-target'));if(d){d.open=true;d.scrollIntoView({behavior:'smooth',block:'start'});}});});
})();
"""


def _e(v: Any) -> str:
    return escape("" if v is None else str(v), quote=True)


def _score_class(sc: dict[str, Any] | None, pass_mark: float) -> str:
    if not sc:
        return "s-none"
    if sc["critical"] or sc["score"] < pass_mark - 20:
        return "s-bad"
    return "s-good" if sc["passed"] else "s-mid"


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


def _highlight(text: str, fs: list[dict[str, Any]]) -> str:
    spans = [f for f in fs if f["end"] > f["start"]]
    if not spans:
        return _e(text)
    cuts = sorted({0, len(text), *[f["start"] for f in spans], *[f["end"] for f in spans]})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        seg = text[a:b]
        cover = [f for f in spans if f["start"] <= a and f["end"] >= b]
        if not cover:
            out.append(_e(seg))
            continue
        viol = [f for f in cover if f["category"] != "risk"]
        if viol:
            cls = "m-" + max(viol, key=lambda f: {"high": 3, "medium": 2, "low": 1}[f["severity"]])["severity"]
        else:
            cls = "m-risk"
        title = "；".join(f"{f['subtype']}（{f['rule_id']}）" for f in cover)
        out.append(f'<mark class="{cls}" title="{_e(title)}">{_e(seg)}</mark>')
    return "".join(out)


REVIEW_ZH = {"unreviewed": ("待复核", "#646a73"), "confirmed": ("复核：确认违规", "#d83931"),
             "rejected": ("复核：误报", "#2ea121"), "unsure": ("复核：不确定", "#de7802")}


def _review_badge(f: dict[str, Any]) -> str:
    """The review status a results store gave the hit (``check --store``); nothing without a store."""
    st = f.get("review")
    if not st or st == "signal":     # customer risk signals are not reviewed
        return ""
    label, color = REVIEW_ZH.get(st, (st, "#646a73"))
    return (f' <span class="review" title="{_e(f.get("hit_id", ""))}" style="border:1px solid {color};color:{color};'
            f'border-radius:3px;padding:0 4px;font-size:12px">{_e(label)}</span>')


def _finding_html(f: dict[str, Any]) -> str:
    risk = f["category"] == "risk"
    sev_cls = "risk" if risk else f["severity"]
    sev_label = "风险" if risk else SEV_ZH.get(f["severity"], f["severity"])
    chip = f'<span class="chip" style="background:{CAT_COLORS.get(f["category"], "#888")}">{_e(CAT_ZH.get(f["category"], f["category"]))}</span>'
    span = f"「{_e(f['text'])}」" if f.get("text") else ""
    s = (f'<div class="f {sev_cls}"><span class="sev sev-{sev_cls}">{sev_label}</span> {chip}'
         f'<b>{_e(f["subtype"])}</b> <span class="rid">{_e(f["rule_id"])}</span>{_review_badge(f)} {span} {_e(f["message"])}')
    if f.get("suggestion") and not risk:
        s += f'<div class="sugg"><b>建议：</b>{_e(f["suggestion"])}</div>'
    if f.get("explanation"):
        s += f'<div class="muted">{_e(f["explanation"])}</div>'
    return s + "</div>"


def _conversation_detail(n: int, r: dict[str, Any], pass_mark: float) -> str:
    sc = r.get("score")
    fs = r["findings"]
    nv = sum(f["category"] != "risk" for f in fs)
    nr = len(fs) - nv
    head = (f'<summary><span class="score {_score_class(sc, pass_mark)}">{_e(sc["score"]) if sc else "—"}</span>'
            f'<span class="cid">{_e(r["id"])}</span>'
            f'<span class="muted">{_e(r.get("agent_id") or "")} {_e(r.get("call_start") or "")} · {_e(r["file"])}</span>')
    if r["status"] != "ok":
        head += f'<span class="status-error">错误：{_e(r["error"])}</span>'
    else:
        head += f'<span class="muted">违规 {nv} · 风险 {nr} · {len(r["turns"])} 轮</span>'
        if sc and sc["critical"]:
            head += '<span class="sev sev-high">红线</span>'
    head += "</summary>"
    body = ['<div class="body">']
    meta = [f"对象：{_e(CP_ZH.get(r.get('counterpart'), r.get('counterpart')))}",
            f"渠道：{_e(CH_ZH.get(r.get('channel'), r.get('channel')))}"]
    if r.get("outcome"):
        meta.append(f"结果：{_e(OUTCOME_ZH.get(r['outcome'], r['outcome']))}")
    if r.get("contact_id"):
        meta.append(f"联系号码：{_e(r['contact_id'])}")
    if sc and sc["deductions"]:
        meta.append("扣分：" + "，".join(f"{_e(d['rule_id'])} −{d['points']:g}" for d in sc["deductions"]))
    for w in r.get("warnings", []):
        meta.append(f"⚠ {_e(w)}")
    body.append(f'<p class="muted">{" · ".join(meta)}</p>')
    conv_level = [f for f in fs if f["turn"] is None]
    if conv_level:
        body.append('<div class="cfind">' + "".join(_finding_html(f) for f in conv_level) + "</div>")
    for i, t in enumerate(r["turns"]):
        tf = [f for f in fs if f["turn"] == i]
        parts = [f'<div class="turn"><div class="t">{_e(fmt_time(t.get("start")))}</div>'
                 f'<div><div class="who who-{_e(t["speaker"])}">{SPEAKER_ZH.get(t["speaker"], _e(t["speaker"]))}</div>'
                 + ('<div class="lis" title="按对话推断：此轮的听话人是第三方">对第三方</div>'
                    if t["speaker"] == "agent" and t.get("counterpart") == "third_party" else "") + '</div>'
                 f'<div><div class="txt">{_highlight(t["text"], tf)}</div>']
        parts.extend(_finding_html(f) for f in tf)
        if t.get("rewrite"):
            parts.append(f'<div class="rw"><b>整句改写：</b>{_e(t["rewrite"])}</div>')
        parts.append("</div></div>")
        body.append("".join(parts))
    if r["status"] == "ok" and not r["turns"]:
        body.append('<p class="muted">（无对话内容：未接通的呼叫记录）</p>')
    body.append("</div>")
    return f'<details class="conv" id="c{n}" data-viol="{nv}">{head}{"".join(body)}</details>'


def render_html(report: dict[str, Any]) -> str:
    s = report["summary"]
    pass_mark = report.get("scoring", {}).get("pass_mark", 80)
    convs = report["conversations"]
    ok = s["conversations"]["ok"]
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<title>tonecheck 质检报告 {_e(report["generated_at"])}</title><style>{CSS}</style></head><body>']
    out.append(f'<header><h1>催收通话合规质检报告</h1><div class="meta">tonecheck {_e(report["tonecheck_version"])} · '
               f'生成于 {_e(report["generated_at"])} · 配置：{_e(report.get("config") or "默认")} · '
               f'{s["files"]["total"]} 个文件 · 用时 {s["elapsed_seconds"]:.1f} 秒</div></header><main>')
    if report.get("partial"):
        out.append(f'<div class="banner">⚠ 本次运行被中断，报告不完整：{s["files"]["not_processed"]} 个文件未处理。'
                   '(Interrupted: partial results.)</div>')
    pass_rate = f"{100 * s['passed'] / ok:.0f}%" if ok else "—"
    kp = [("会话", s["conversations"]["total"], f'{s["utterances"]} 条语句', ""),
          ("平均质检分", s["mean_score"] if s["mean_score"] is not None else "—", f"合格线 {pass_mark:g}", ""),
          ("合格率", pass_rate, f'{s["passed"]} / {ok} 通', "good" if ok and s["passed"] == ok else ""),
          ("违规", s["violations"], f'{s["conversations_with_violations"]} 通会话涉及', "bad" if s["violations"] else "good"),
          ("红线", s["critical"], "直接判 0 分", "bad" if s["critical"] else ""),
          ("客户风险信号", s["risk_signals"], "投诉 / 自伤 / 困难", ""),
          ("读取错误", s["files"]["error"] + s["conversations"]["error"],
           f'{s["files"]["error"]} 个文件 · {s["conversations"]["error"]} 通会话', "bad" if s["errors"] else "good")]
    out.append('<section class="kpis">' + "".join(
        f'<div class="kpi {cls}"><div class="l">{_e(l)}</div><div class="v">{_e(v)}</div><div class="s">{_e(sub)}</div></div>'
        for l, v, sub, cls in kp) + "</section>")
    # charts
    cats = sorted(((k, v) for k, v in s["findings_by_category"].items() if k != "risk"), key=lambda kv: -kv[1])
    cat_chart = hbar_chart([(CAT_ZH.get(k, k), v, CAT_COLORS.get(k, "#888")) for k, v in cats])
    risk_by = Counter(f["subtype"] for r in convs for f in r["findings"] if f["category"] == "risk")
    risk_zh = {"risk.complaint": "投诉", "risk.self_harm": "自伤倾向", "risk.hardship": "经济困难"}
    if risk_by:
        cat_chart += ('<div class="legend" style="margin-top:8px">客户风险信号（不扣分）：'
                      + " · ".join(f"{_e(risk_zh.get(k, k))} {v}" for k, v in risk_by.most_common()) + "</div>")
    agents = report["aggregates"]["agents"]
    top_agents = sorted(agents, key=lambda a: (-a["violations"], a["agent_id"]))[:12]
    agent_chart = hbar_chart([(a["agent_id"], a["violations"], "#2f4858") for a in top_agents])
    scores = [r["score"]["score"] for r in convs if r.get("score")]
    out.append('<section class="grid">'
               f'<div class="card"><h2>违规 · 按类别</h2>{cat_chart}</div>'
               f'<div class="card"><h2>违规次数 · 按坐席（前 12）</h2>{agent_chart}</div>'
               f'<div class="card"><h2>质检分分布</h2>{histogram(scores, pass_mark)}'
               f'<div class="legend">绿色：合格（≥{pass_mark:g}）；黄色：待改进；红色：不合格或红线</div></div>'
               "</section>")
    # agents and rules
    out.append('<section class="grid"><div class="card"><h2>坐席汇总</h2><div class="scroll"><table class="sortable"><thead><tr>'
               '<th>坐席</th><th class="num">会话</th><th class="num">平均分</th><th class="num">最低分</th>'
               '<th class="num">合格率</th><th class="num">违规</th><th class="num">高危</th><th class="num">红线</th></tr></thead><tbody>')
    for a in agents:
        pr = f'{100 * a["pass_rate"]:.0f}%' if a["pass_rate"] is not None else "—"
        out.append(f'<tr class="row"><td>{_e(a["agent_id"])}</td><td class="num">{a["conversations"]}</td>'
                   f'<td class="num">{_e(a["mean_score"])}</td><td class="num">{_e(a["min_score"])}</td>'
                   f'<td class="num" data-v="{a["pass_rate"] or 0}">{pr}</td><td class="num">{a["violations"]}</td>'
                   f'<td class="num">{a["high"]}</td><td class="num">{a["critical"]}</td></tr>')
    out.append('</tbody></table></div></div><div class="card"><h2>规则命中</h2><div class="scroll"><table class="sortable"><thead><tr>'
               '<th>规则</th><th>类型</th><th>严重度</th><th class="num">命中</th><th class="num">涉及会话</th>'
               '<th class="num">会话占比</th></tr></thead><tbody>')
    for e in sorted(report["aggregates"]["rules"], key=lambda e: (e["category"] == "risk", -e["hits"], e["rule_id"])):
        sev_cls = "risk" if e["category"] == "risk" else e["severity"]
        out.append(f'<tr class="row"><td class="rid">{_e(e["rule_id"])}</td><td>{_e(e["subtype"])}</td>'
                   f'<td data-v="{ {"high": 3, "medium": 2, "low": 1}.get(e["severity"], 0)}"><span class="sev sev-{sev_cls}">'
                   f'{"风险" if sev_cls == "risk" else SEV_ZH.get(e["severity"], "")}</span></td>'
                   f'<td class="num">{e["hits"]}</td><td class="num">{e["conversations"]}</td>'
                   f'<td class="num" data-v="{e["rate"]}">{100 * e["rate"]:.1f}%</td></tr>')
    if not report["aggregates"]["rules"]:
        out.append('<tr><td colspan="6" class="muted">没有命中任何规则</td></tr>')
    out.append("</tbody></table></div></div></section>")
    # errors
    if s["errors"]:
        out.append(f'<h2 class="section">读取错误（{len(s["errors"])}）</h2><div class="wrap"><table><thead><tr>'
                   '<th>文件</th><th>会话</th><th>原因</th></tr></thead><tbody>')
        for e in s["errors"]:
            out.append(f'<tr><td>{_e(e["file"])}</td><td>{_e(e["conversation"] or "")}</td>'
                       f'<td class="status-error">{_e(e["error"])}</td></tr>')
        out.append("</tbody></table></div>")
    # conversation table
    agent_opts = "".join(f'<option value="{_e(a["agent_id"])}">{_e(a["agent_id"])}</option>' for a in agents)
    cat_opts = "".join(f'<option value="{k}">{CAT_ZH[k]}</option>' for k in CAT_ZH)
    out.append(f'<h2 class="section">会话列表</h2><div class="tools"><input type="search" id="q" placeholder="搜索会话、坐席、文件…">'
               f'<select id="fstatus"><option value="">全部会话</option><option value="viol">有违规</option>'
               f'<option value="fail">不合格</option><option value="clean">无违规</option><option value="error">读取错误</option></select>'
               f'<select id="fcat"><option value="">全部类别</option>{cat_opts}</select>'
               f'<select id="fagent"><option value="">全部坐席</option>{agent_opts}</select>'
               '<span class="count" id="count"></span></div>')
    out.append('<div class="wrap"><table class="sortable" id="convs"><thead><tr><th>会话</th><th>坐席</th><th>时间</th>'
               '<th class="num">质检分</th><th class="num">违规</th><th class="num">高危</th><th class="num">风险</th>'
               '<th>类别</th><th>文件</th><th>状态</th></tr></thead><tbody>')
    for n, r in enumerate(convs):
        fs = r["findings"]
        nv = sum(f["category"] != "risk" for f in fs)
        nh = sum(f["category"] != "risk" and f["severity"] == "high" for f in fs)
        nr = len(fs) - nv
        cset = Counter(f["category"] for f in fs)
        chips = "".join(f'<span class="chip" style="background:{CAT_COLORS.get(k, "#888")}">{_e(CAT_ZH.get(k, k))} {v}</span>'
                        for k, v in cset.most_common())
        sc = r.get("score")
        status = "正常" if r["status"] == "ok" else f'<span class="status-error">错误</span>'
        out.append(f'<tr class="row" data-target="c{n}" data-cats="{" ".join(cset)}" data-viol="{nv}" '
                   f'data-pass="{1 if (sc and sc["passed"]) else 0}" data-status="{r["status"]}" '
                   f'data-agent="{_e(r.get("agent_id") or "(unknown)")}">'
                   f'<td><a href="#c{n}">{_e(r["id"])}</a></td><td>{_e(r.get("agent_id") or "")}</td>'
                   f'<td>{_e(r.get("call_start") or "")}</td>'
                   f'<td class="num" data-v="{sc["score"] if sc else -1}"><span class="score {_score_class(sc, pass_mark)}">'
                   f'{_e(sc["score"]) if sc else "—"}</span></td><td class="num">{nv}</td><td class="num">{nh}</td>'
                   f'<td class="num">{nr}</td><td>{chips}</td><td class="muted">{_e(r["file"])}</td><td>{status}</td></tr>')
    out.append("</tbody></table></div>")
    # details
    out.append('<h2 class="section">会话详情</h2><div class="tools"><span class="muted">点击会话展开：逐轮文本、命中片段'
               '（悬停查看规则）、原因与建议改写。个人身份信息已脱敏。</span>'
               '<button id="openviol" type="button">展开全部有违规的会话</button>'
               '<button id="closeall" type="button">全部收起</button></div>')
    out.extend(_conversation_detail(n, r, pass_mark) for n, r in enumerate(convs))
    other = [f for f in report["files"] if f["status"] in ("skipped", "not_processed")]
    if other:
        out.append(f'<h2 class="section">未检查的文件（{len(other)}）</h2><div class="wrap"><table><thead><tr><th>文件</th>'
                   '<th>状态</th><th>原因</th></tr></thead><tbody>')
        out.extend(f'<tr><td>{_e(f["path"])}</td><td>{_e(f["status"])}</td><td>{_e(f["error"])}</td></tr>' for f in other)
        out.append("</tbody></table></div>")
    out.append(f'<footer>tonecheck {_e(report["tonecheck_version"])} · 评分规则：起始 {report["scoring"]["start"]:g} 分，'
               f'高/中/低 每次扣 {report["scoring"]["deductions"].get("high", 0):g}/{report["scoring"]["deductions"].get("medium", 0):g}/'
               f'{report["scoring"]["deductions"].get("low", 0):g} 分，红线项：{_e("、".join(report["scoring"]["critical"]) or "无")}</footer>')
    out.append(f"</main><script>{JS}</script>")
    blob = json.dumps(s, ensure_ascii=False).replace("</", "<\\/")
    out.append(f'<script type="application/json" id="tonecheck-summary">{blob}</script>')
    out.append("</body></html>")
    return "".join(out)


def write_html(report: dict[str, Any], out: TextIO) -> None:
    out.write(render_html(report))
