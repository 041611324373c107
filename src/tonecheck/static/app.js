/* tonecheck draft pre-check page: plain JS, no dependencies, no network beyond this service. */
(function () {
  "use strict";

  var DEBOUNCE_MS = 300;
  var $ = function (id) { return document.getElementById(id); };
  var ta = $("draft"), backdrop = $("backdrop"), editor = $("editor"), statusEl = $("status");
  var tip = $("tip"), list = $("findings"), findingsBox = $("findings-box");
  var rewriteBox = $("rewrite-box"), rewriteText = $("rewrite-text"), applyAllBtn = $("apply-all");
  var copyBtn = $("copy"), undoBtn = $("undo"), clearBtn = $("clear"), countEl = $("count"), limitEl = $("limit");
  var selects = { role: $("role"), counterpart: $("counterpart"), channel: $("channel") };

  var CATEGORY = { threat: "威胁恐吓", insult: "侮辱谩骂", sarcasm: "讽刺挖苦", privacy: "隐私泄露",
                   conduct: "违规操作", risk: "风险信号", contact: "联系频次" };
  var SUBTYPE = {
    "threat.violence": "暴力或含糊威胁", "threat.exposure": "曝光施压", "threat.harassment": "骚扰纠缠",
    "threat.family": "牵连家人", "threat.legal_false": "虚假法律后果", "threat.impersonation": "冒充公检法或机构",
    "insult.abuse": "辱骂", "insult.profanity": "脏话", "insult.demeaning": "贬低歧视",
    "sarcasm.mock_praise": "反讽夸奖", "sarcasm.mock_respect": "阴阳怪气的称呼", "sarcasm.ridicule": "嘲讽挖苦",
    "privacy.pii_exposure": "泄露完整个人信息", "privacy.third_party_disclosure": "向第三方透露欠款",
    "privacy.credential_request": "索要密码或验证码", "conduct.improper_payment": "违规还款方式",
    "conduct.private_channel": "转到私人渠道", "conduct.dismiss_distress": "漠视客户困境",
    "conduct.ignore_dispute": "无视异议", "risk.complaint": "投诉风险", "risk.self_harm": "自伤风险",
    "risk.hardship": "经济困难"
  };
  var SEVERITY = { high: "严重", medium: "中等", low: "轻微" };
  var PUNCT = /[，,、；;：:。.！!？?\s]/;

  var maxChars = 20000;
  var apiKey = "";
  try { apiKey = localStorage.getItem("tonecheck.apikey") || ""; } catch (e) { /* storage may be off */ }

  // What the highlights currently describe: the text they were computed for and the findings
  // (offsets already converted to UTF-16 indices of that text).
  var shown = { text: "", findings: [], result: null };
  var stale = false, composing = false, timer = 0, seq = 0, inflight = null, undoText = null;

  // ---- offsets: the service counts code points (Python), JS strings count UTF-16 units ----
  function cpToU16(text) {
    var map = [], i = 0;
    while (i < text.length) {
      map.push(i);
      var c = text.charCodeAt(i);
      i += (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) ? 2 : 1;
    }
    map.push(text.length);
    return function (cp) { return map[Math.min(Math.max(cp, 0), map.length - 1)]; };
  }
  function cpLength(text) { return Array.from(text).length; }

  function convert(result) {
    var at = cpToU16(result.text);
    var xs = result.findings.map(function (f, i) {
      return { i: i, f: f, start: at(f.start), end: at(f.end), fixStart: at(f.fix_start), fixEnd: at(f.fix_end),
               sug: f.suggestion, risk: f.category === "risk", fixable: f.category !== "risk" && f.fix_end >= f.fix_start &&
               (f.suggestion !== "" || f.fix_end > f.fix_start) };
    });
    // Fixes never overlap: a finding inside a wider fix (an insult inside a threatening sentence) has an
    // empty fix of its own; its button applies the wider fix that covers it.
    xs.forEach(function (x) {
      if (x.risk || x.fixable) return;
      var cover = xs.filter(function (y) {
        return y !== x && !y.risk && y.f.fix_end > y.f.fix_start && y.f.fix_start <= x.f.start && x.f.end <= y.f.fix_end;
      })[0];
      if (cover) {
        x.fixable = true; x.fixStart = cover.fixStart; x.fixEnd = cover.fixEnd; x.sug = cover.sug; x.cover = cover.i;
      }
    });
    return xs;
  }

  // ---- rendering ----
  function esc(s) {
    return s.replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }
  function sevClass(items) {
    var best = null, rank = { low: 1, medium: 2, high: 3 };
    items.forEach(function (x) {
      if (x.risk) return;
      if (!best || rank[x.f.severity] > rank[best]) best = x.f.severity;
    });
    return best ? "sev-" + best : "risk";
  }

  function renderBackdrop(text, findings) {
    var cuts = [0, text.length];
    findings.forEach(function (x) { if (x.end > x.start) { cuts.push(x.start, x.end); } });
    cuts = cuts.filter(function (v, i, a) { return a.indexOf(v) === i; }).sort(function (a, b) { return a - b; });
    var html = "";
    for (var k = 0; k + 1 < cuts.length; k++) {
      var a = cuts[k], b = cuts[k + 1], piece = esc(text.slice(a, b));
      var cover = findings.filter(function (x) { return x.start <= a && x.end >= b; });
      if (cover.length) {
        html += '<mark class="' + sevClass(cover) + '" data-f="' + cover.map(function (x) { return x.i; }).join(",") +
                '">' + piece + "</mark>";
      } else {
        html += piece;
      }
    }
    // A trailing newline needs a character after it to take up a line, as it does in the textarea.
    backdrop.innerHTML = html + (text.slice(-1) === "\n" || text === "" ? " " : "");
    backdrop.scrollTop = ta.scrollTop;
  }

  function setStatus(state, msg) {
    statusEl.dataset.state = state;
    statusEl.textContent = msg;
  }

  function findingHtml(x, withButton) {
    var f = x.f, cls = x.risk ? "risk" : "sev-" + f.severity;
    var badge = x.risk ? "提示" : SEVERITY[f.severity];
    var h = '<div class="f-head"><span class="badge ' + cls + '">' + badge + "</span>" +
            '<span class="cat">' + esc(CATEGORY[f.category] || f.category) + " · " + esc(SUBTYPE[f.subtype] || f.subtype) +
            '</span><span class="quote">「' + esc(f.text) + "」</span></div>" +
            '<p class="f-msg">' + esc(f.message) + "</p>";
    if (x.fixable) {
      var target = shown.text.slice(x.fixStart, x.fixEnd);
      if (target.length > 40) target = target.slice(0, 18) + "……" + target.slice(-18);
      var wider = target && target !== f.text ? "把「" + esc(target) + "」" : "";
      if (x.cover !== undefined) h += '<p class="f-cover">与另一处问题在同一句，一并改写。</p>';
      h += x.sug
        ? '<p class="f-sug"><b>' + (wider ? "建议" + wider + "改为：" : "建议改为：") + "</b>" + esc(x.sug) + "</p>"
        : '<p class="f-sug"><b>建议' + (wider ? wider : "") + "删除" + (wider ? "" : "这部分") + "</b></p>";
      if (withButton) {
        h += '<button type="button" class="apply" data-apply="' + x.i + '"' + (stale ? " disabled" : "") + ">" +
             (x.sug ? "采纳这条修改" : "删除这部分") + "</button>";
      }
    }
    return h;
  }

  function violationsCount(fs) { return fs.filter(function (x) { return !x.risk; }).length; }

  function renderResult() {
    var r = shown.result, fs = shown.findings;
    renderBackdrop(shown.text, fs);
    editor.classList.toggle("stale", stale);
    list.innerHTML = "";
    if (!r) {
      findingsBox.hidden = true; rewriteBox.hidden = true;
      return;
    }
    fs.forEach(function (x) {
      var li = document.createElement("li");
      li.dataset.index = x.i;
      li.dataset.subtype = x.f.subtype;
      li.innerHTML = findingHtml(x, true);
      list.appendChild(li);
    });
    findingsBox.hidden = fs.length === 0;
    $("findings-title").textContent = (violationsCount(fs) ? "问题列表（" : "提示（") + fs.length + "）";
    var violations = fs.filter(function (x) { return !x.risk; });
    var canRewrite = violations.length > 0 && r.rewrite !== r.text;
    rewriteBox.hidden = !canRewrite;
    rewriteText.textContent = canRewrite ? r.rewrite : "";
    applyAllBtn.disabled = stale || !canRewrite;
  }

  function reportStatus() {
    var r = shown.result;
    if (!r) return;
    var v = shown.findings.filter(function (x) { return !x.risk; }).length;
    var risks = shown.findings.length - v;
    var note = r.truncated ? "（文本过长，检查提前结束，结果可能不完整）" : "";
    if (v) {
      setStatus("violations", "发现 " + v + " 处问题，请修改后再发送" + note);
    } else if (risks) {
      setStatus("risk", "客户话语中有 " + risks + " 个风险信号（不算违规），请留意" + note);
    } else {
      setStatus("clean", (r.role === "agent" ? "未发现问题，可以发送" : "未发现风险信号") + note);
    }
  }

  // ---- keeping highlights in place while the collector types (until the next answer arrives) ----
  function shiftHighlights(newText) {
    var old = shown.text;
    if (old === newText) return;
    var p = 0, max = Math.min(old.length, newText.length);
    while (p < max && old.charCodeAt(p) === newText.charCodeAt(p)) p++;
    var s = 0;
    while (s < max - p && old.charCodeAt(old.length - 1 - s) === newText.charCodeAt(newText.length - 1 - s)) s++;
    var oldEditEnd = old.length - s, delta = newText.length - old.length;
    shown.findings = shown.findings.filter(function (x) {
      return x.end <= p || x.start >= oldEditEnd;
    }).map(function (x) {
      if (x.start >= oldEditEnd) {
        return Object.assign({}, x, { start: x.start + delta, end: x.end + delta,
                                      fixStart: x.fixStart + delta, fixEnd: x.fixEnd + delta });
      }
      return x;
    });
    shown.text = newText;
  }

  // ---- talking to the service ----
  function params() {
    return { role: selects.role.value, counterpart: selects.counterpart.value, channel: selects.channel.value };
  }

  function runCheck() {
    clearTimeout(timer);
    var text = ta.value;
    var n = cpLength(text);
    countEl.textContent = n + " 字";
    countEl.classList.toggle("over", n > maxChars);
    if (inflight) { inflight.abort(); inflight = null; }
    var mine = ++seq;
    if (!text.trim()) {
      shown = { text: text, findings: [], result: null };
      stale = false;
      renderResult();
      setStatus("empty", "请输入话术草稿");
      copyBtn.disabled = true;
      return;
    }
    if (n > maxChars) {
      setStatus("error", "草稿有 " + n + " 字，超过单条 " + maxChars + " 字的上限，请分段检查");
      return;
    }
    var body = params();
    body.text = text;
    var headers = { "Content-Type": "application/json" };
    if (apiKey) headers["X-API-Key"] = apiKey;
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    inflight = ctrl;
    var slow = setTimeout(function () { if (mine === seq) setStatus("checking", "检查中…"); }, 250);
    fetch("/v1/check", { method: "POST", headers: headers, body: JSON.stringify(body), signal: ctrl && ctrl.signal })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) { return { resp: resp, data: data }; });
      })
      .then(function (o) {
        clearTimeout(slow);
        if (mine !== seq || ta.value !== text) return;  // an older answer, or the text moved on
        inflight = null;
        if (o.resp.status === 401) {
          $("keybox").hidden = false;
          setStatus("error", "需要访问密钥：请在下方填写后重试");
          return;
        }
        if (!o.resp.ok) {
          var msg = (o.data && o.data.error && o.data.error.message) || ("HTTP " + o.resp.status);
          setStatus("error", "检查失败：" + msg);
          return;
        }
        $("keybox").hidden = true;
        shown = { text: text, findings: convert(o.data), result: o.data };
        stale = false;
        renderResult();
        reportStatus();
        copyBtn.disabled = false;
        showActiveAtCaret(false);
      })
      .catch(function (err) {
        clearTimeout(slow);
        if (err && err.name === "AbortError") return;
        if (mine === seq) setStatus("error", "无法连接检查服务，请稍后重试");
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(runCheck, DEBOUNCE_MS);
  }

  function setText(text, caret) {
    undoText = ta.value;
    undoBtn.disabled = false;
    ta.value = text;
    autoGrow();
    shiftHighlights(text);
    stale = true;
    renderResult();
    if (typeof caret === "number") {
      ta.focus();
      ta.setSelectionRange(caret, caret);
    }
    hideTip();
    runCheck();
  }

  function applyFinding(i) {
    if (stale) return;
    var x = shown.findings.filter(function (y) { return y.i === i; })[0];
    if (!x || !x.fixable) return;
    var t = shown.text, before = t.slice(0, x.fixStart), after = t.slice(x.fixEnd);
    if (!x.sug && PUNCT.test(after.charAt(0)) && (!before || PUNCT.test(before.slice(-1)))) {
      after = after.slice(1);  // deleting a phrase should not leave "，，" or a leading "，"
    }
    setText(before + x.sug + after, x.fixStart + x.sug.length);
  }

  // ---- tooltip: hover (mouse) or tap / caret (touch, keyboard) on a highlight ----
  var hideTimer = 0;
  function hideTip() { clearTimeout(hideTimer); tip.hidden = true; markActive([]); }
  function markActive(idx) {
    Array.prototype.forEach.call(list.children, function (li) {
      li.classList.toggle("active", idx.indexOf(+li.dataset.index) >= 0);
    });
    Array.prototype.forEach.call(backdrop.querySelectorAll("mark"), function (m) {
      var ids = m.dataset.f.split(",").map(Number);
      m.classList.toggle("active", ids.some(function (v) { return idx.indexOf(v) >= 0; }));
    });
  }
  function showTip(idx, rect) {
    if (!idx.length) { hideTip(); return; }
    clearTimeout(hideTimer);
    var items = shown.findings.filter(function (x) { return idx.indexOf(x.i) >= 0; });
    tip.innerHTML = items.map(function (x) { return '<div class="t-item">' + findingHtml(x, true) + "</div>"; }).join("");
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = Math.min(Math.max(8, rect.left), window.innerWidth - w - 8);
    var top = rect.bottom + 6;
    if (top + h > window.innerHeight - 8) top = Math.max(8, rect.top - h - 6);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
    markActive(idx);
  }
  function marksAtPoint(x, y) {
    var hit = null;
    Array.prototype.forEach.call(backdrop.querySelectorAll("mark"), function (m) {
      Array.prototype.forEach.call(m.getClientRects(), function (r) {
        if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) hit = { m: m, r: r };
      });
    });
    return hit;
  }
  function idsOf(m) { return m.dataset.f.split(",").map(Number); }

  function showActiveAtCaret(withTip) {
    if (stale || ta.selectionStart !== ta.selectionEnd) return;
    var pos = ta.selectionStart;
    var idx = shown.findings.filter(function (x) { return x.start < pos && pos <= x.end || x.start === pos && x.end > pos; })
                            .map(function (x) { return x.i; });
    if (!withTip) { markActive(idx); return; }
    if (!idx.length) { hideTip(); return; }
    var mark = Array.prototype.filter.call(backdrop.querySelectorAll("mark"), function (m) {
      return idsOf(m).some(function (v) { return idx.indexOf(v) >= 0; });
    })[0];
    showTip(idx, mark ? mark.getClientRects()[0] || mark.getBoundingClientRect() : ta.getBoundingClientRect());
  }

  ta.addEventListener("mousemove", function (ev) {
    if (stale) return;
    var hit = marksAtPoint(ev.clientX, ev.clientY);
    if (hit) { showTip(idsOf(hit.m), hit.r); }
    else if (!tip.hidden) { clearTimeout(hideTimer); hideTimer = setTimeout(hideTip, 400); }
  });
  ta.addEventListener("mouseleave", function () { clearTimeout(hideTimer); hideTimer = setTimeout(hideTip, 400); });
  tip.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
  tip.addEventListener("mouseleave", function () { hideTimer = setTimeout(hideTip, 300); });
  ta.addEventListener("click", function () { showActiveAtCaret(true); });
  ta.addEventListener("keyup", function (ev) {
    if (ev.key && ev.key.indexOf("Arrow") === 0 || ev.key === "Home" || ev.key === "End") showActiveAtCaret(false);
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") hideTip(); });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-apply]");
    if (btn) { applyFinding(+btn.dataset.apply); return; }
    if (!tip.hidden && !tip.contains(ev.target) && ev.target !== ta) hideTip();
  });

  // ---- editor events ----
  function autoGrow() {
    ta.style.height = "auto";
    ta.style.height = Math.max(ta.scrollHeight, 160) + "px";
  }
  ta.addEventListener("input", function () {
    autoGrow();
    shiftHighlights(ta.value);
    stale = true;
    hideTip();
    renderResult();
    countEl.textContent = cpLength(ta.value) + " 字";
    if (!composing) schedule();
  });
  ta.addEventListener("compositionstart", function () { composing = true; clearTimeout(timer); });
  ta.addEventListener("compositionend", function () { composing = false; schedule(); });
  ta.addEventListener("scroll", function () { backdrop.scrollTop = ta.scrollTop; });
  window.addEventListener("resize", function () { autoGrow(); hideTip(); });

  Object.keys(selects).forEach(function (k) {
    try { var saved = localStorage.getItem("tonecheck." + k); if (saved) selects[k].value = saved; } catch (e) { /* ignore */ }
    selects[k].addEventListener("change", function () {
      try { localStorage.setItem("tonecheck." + k, selects[k].value); } catch (e) { /* ignore */ }
      runCheck();
    });
  });

  applyAllBtn.addEventListener("click", function () {
    if (stale || !shown.result) return;
    setText(shown.result.rewrite, shown.result.rewrite.length);
  });
  undoBtn.addEventListener("click", function () {
    if (undoText === null) return;
    var t = undoText;
    setText(t, t.length);
    undoText = null;
    undoBtn.disabled = true;
  });
  clearBtn.addEventListener("click", function () {
    ta.value = "";
    autoGrow();
    hideTip();
    runCheck();
    ta.focus();
  });
  copyBtn.addEventListener("click", function () {
    var done = function () { copyBtn.textContent = "已复制"; setTimeout(function () { copyBtn.textContent = "复制草稿"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(ta.value).then(done, function () { legacyCopy(); done(); });
    } else { legacyCopy(); done(); }
  });
  function legacyCopy() { ta.select(); try { document.execCommand("copy"); } catch (e) { /* ignore */ } }

  $("savekey").addEventListener("click", function () {
    apiKey = $("apikey").value.trim();
    try { localStorage.setItem("tonecheck.apikey", apiKey); } catch (e) { /* ignore */ }
    runCheck();
  });

  fetch("/healthz").then(function (r) { return r.json(); }).then(function (h) {
    if (h && h.limits && h.limits.max_text_chars) {
      maxChars = h.limits.max_text_chars;
      limitEl.textContent = "单条上限 " + maxChars + " 字";
    }
  }).catch(function () { /* the check itself reports connection problems */ });

  autoGrow();
  if (ta.value) runCheck();
})();
