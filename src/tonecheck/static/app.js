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
  var unverifiedBox = $("unverified"), dismissedBox = $("dismissed-box"), dismissedList = $("dismissed");

  // Chinese names: one table (tonecheck.labels, from the checker's lexicons) that the service embeds in
  // this page and the batch reports embed in theirs. Without it (the file opened on its own) codes show.
  var LABELS = {};
  try { LABELS = JSON.parse($("labels").textContent); } catch (e) { /* codes instead of names */ }
  var CATEGORY = LABELS.categories || {}, SUBTYPE = LABELS.subtypes || {}, SEVERITY = LABELS.severities || {};
  var RISK_WORD = LABELS.risk_signal || "风险提示";
  var RANK = { high: 3, medium: 2, low: 1 };
  var PUNCT = /[，,、；;：:。.！!？?\s]/;
  var SENTENCE_END = /[。！？!?；;\n]/;
  var FP_KEY = "tonecheck.falsePositives";

  var maxChars = 20000;
  var apiKey = "";
  try { apiKey = localStorage.getItem("tonecheck.apikey") || ""; } catch (e) { /* storage may be off */ }

  // What the highlights currently describe: the text they were computed for and the findings
  // (offsets already converted to UTF-16 indices of that text).
  var shown = { text: "", findings: [], result: null, unverified: [] };
  // Findings the collector marked as false positives in this draft (subtype, rule and span text).
  var dismissed = {};
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
    var badge = x.risk ? RISK_WORD : (SEVERITY[f.severity] || f.severity);
    var h = '<div class="f-head"><span class="badge ' + cls + '">' + badge + "</span>" +
            '<span class="cat">' + esc(CATEGORY[f.category] || f.category) + " · " + esc(SUBTYPE[f.subtype] || f.subtype) +
            '</span><span class="quote">「' + esc(f.text) + "」</span></div>" +
            '<p class="f-msg">' + esc(f.message) + "</p>";
    if (f.source) h += '<p class="f-src">依据：' + esc(f.source) + "</p>";
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
    if (withButton && !x.risk) {
      h += ' <button type="button" class="fp-btn" data-fp="' + x.i + '" title="不是违规：不再标出，并记入误报记录">误报</button>';
    }
    return h;
  }

  function violationsCount(fs) { return fs.filter(function (x) { return !x.risk; }).length; }
  function fpKey(x) { return x.f.rule_id + "|" + x.f.subtype + "|" + x.f.text; }
  function visible(fs) { return fs.filter(function (x) { return !dismissed[fpKey(x)]; }); }
  // Shown to people: violations first, most severe first, then by position (as in every report).
  function inDisplayOrder(fs) {
    return fs.slice().sort(function (a, b) {
      return (a.risk - b.risk) || (RANK[b.f.severity] - RANK[a.f.severity]) || (a.start - b.start) ||
             (a.end - b.end) || (a.i - b.i);
    });
  }

  function renderResult() {
    var r = shown.result, fs = visible(shown.findings);
    var gone = shown.findings.filter(function (x) { return dismissed[fpKey(x)]; });
    renderBackdrop(shown.text, fs);
    editor.classList.toggle("stale", stale);
    list.innerHTML = "";
    dismissedList.innerHTML = "";
    renderUnverified();
    if (!r) {
      findingsBox.hidden = true; rewriteBox.hidden = true;
      return;
    }
    inDisplayOrder(fs).forEach(function (x) {
      var li = document.createElement("li");
      li.dataset.index = x.i;
      li.dataset.subtype = x.f.subtype;
      li.tabIndex = 0;
      li.innerHTML = findingHtml(x, true);
      list.appendChild(li);
    });
    gone.forEach(function (x) {
      var li = document.createElement("li");
      li.dataset.index = x.i;
      li.innerHTML = findingHtml(x, false) +
        '<button type="button" class="fp-undo" data-undismiss="' + x.i + '">撤销误报标记</button>';
      dismissedList.appendChild(li);
    });
    dismissedBox.hidden = gone.length === 0;
    $("dismissed-title").textContent = "已标为误报（" + gone.length + "）";
    findingsBox.hidden = fs.length === 0 && gone.length === 0;
    $("findings-title").textContent = (violationsCount(fs) ? "问题列表（" : "提示（") + fs.length + "）";
    var violations = shown.findings.filter(function (x) { return !x.risk; });
    var canRewrite = violations.length > 0 && r.rewrite !== r.text;
    rewriteBox.hidden = !canRewrite;
    rewriteText.textContent = canRewrite ? r.rewrite : "";
    applyAllBtn.disabled = stale || !canRewrite;
  }

  function renderUnverified() {
    var spans = shown.result ? shown.unverified : [];
    unverifiedBox.hidden = spans.length === 0;
    $("unverified-spans").textContent = spans.map(function (t) {
      return "「" + (t.length > 24 ? t.slice(0, 22) + "……" : t) + "」";
    }).join("、");
  }

  function reportStatus() {
    var r = shown.result;
    if (!r) return;
    var fs = visible(shown.findings);
    var v = fs.filter(function (x) { return !x.risk; }).length;
    var risks = fs.length - v;
    var gone = violationsCount(shown.findings) - v;
    var note = r.truncated ? "（文本过长，检查提前结束，结果可能不完整）" : "";
    if (v) {
      setStatus("violations", "发现 " + v + " 处问题，请修改后再发送" + note);
    } else if (shown.unverified.length) {
      // Listener not verified and the draft states debt facts: never a green light.
      setStatus("unverified", "尚未核实对方身份：草稿含欠款信息，请先确认对方是债务人本人" + note);
    } else if (gone) {
      setStatus("dismissed", "已将 " + gone + " 处标为误报，其余未发现问题；发送前请再确认" + note);
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
      shown = { text: text, findings: [], result: null, unverified: [] };
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
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    inflight = ctrl;
    var slow = setTimeout(function () { if (mine === seq) setStatus("checking", "检查中…"); }, 250);
    // Listener not yet verified: also ask what the draft would disclose to a third party, so a draft
    // that states debt facts is flagged before anyone knows who is listening.
    var probe = body.role === "agent" && body.counterpart === "unknown"
      ? post("/v1/check", Object.assign({}, body, { counterpart: "third_party" }), ctrl) : Promise.resolve(null);
    Promise.all([post("/v1/check", body, ctrl), probe])
      .then(function (both) {
        var o = both[0], p = both[1];
        if (p && !p.resp.ok && o.resp.ok) o = p;      // report the probe's failure rather than a green light
        clearTimeout(slow);
        if (mine !== seq || ta.value !== text) return;  // an older answer, or the text moved on
        inflight = null;
        if (o.resp.status === 401) {
          $("keybox").hidden = false;
          setStatus("error", "需要访问密钥：请在下方填写后重试");
          return;
        }
        if (!o.resp.ok) {
          var err = (o.data && o.data.error) || {};
          var kind = (LABELS.api_errors || {})[err.code];
          var msg = err.message || ("HTTP " + o.resp.status);
          setStatus("error", "检查失败：" + (kind ? kind + "（" + msg + "）" : msg));
          return;
        }
        $("keybox").hidden = true;
        shown = { text: text, findings: convert(o.data), result: o.data, unverified: disclosures(p && p.data) };
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

  function post(url, payload, ctrl) {
    var headers = { "Content-Type": "application/json" };
    if (apiKey) headers["X-API-Key"] = apiKey;
    return fetch(url, { method: "POST", headers: headers, body: JSON.stringify(payload), signal: ctrl && ctrl.signal })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) { return { resp: resp, data: data }; });
      });
  }

  // What the draft says that only the debtor may hear (the third-party disclosure findings of the probe).
  function disclosures(result) {
    if (!result || !result.findings) return [];
    var seen = {};
    return result.findings.filter(function (f) {
      if (f.subtype !== "privacy.third_party_disclosure" || seen[f.text]) return false;
      seen[f.text] = true;
      return true;
    }).map(function (f) { return f.text; });
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
    var idx = visible(shown.findings).filter(function (x) { return x.start < pos && pos <= x.end || x.start === pos && x.end > pos; })
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
    var fp = ev.target.closest && ev.target.closest("button[data-fp]");
    if (fp) { reportFalsePositive(+fp.dataset.fp); return; }
    var undo = ev.target.closest && ev.target.closest("button[data-undismiss]");
    if (undo) { undismiss(+undo.dataset.undismiss); return; }
    if (!tip.hidden && !tip.contains(ev.target) && ev.target !== ta) hideTip();
  });

  // ---- false positives: dismissed here, recorded (masked) in this browser, exported as JSON ----
  function loadReports() {
    try { return JSON.parse(localStorage.getItem(FP_KEY) || "[]") || []; } catch (e) { return []; }
  }
  function saveReports(xs) {
    try { localStorage.setItem(FP_KEY, JSON.stringify(xs)); return true; } catch (e) { return false; }
  }
  function updateFpBox() {
    var n = loadReports().length;
    $("fp-box").hidden = n === 0;
    $("fp-count").textContent = "误报记录 " + n + " 条";
  }
  function sentenceAround(text, a, b) {
    while (a > 0 && !SENTENCE_END.test(text.charAt(a - 1))) a--;
    while (b < text.length && !SENTENCE_END.test(text.charAt(b))) b++;
    return text.slice(a, Math.min(b + 1, text.length)).trim();
  }
  function reportFalsePositive(i) {
    if (stale) return;
    var x = shown.findings.filter(function (y) { return y.i === i; })[0];
    if (!x) return;
    dismissed[fpKey(x)] = true;
    var f = x.f, sentence = sentenceAround(shown.text, x.start, x.end), p = params();
    hideTip();
    renderResult();
    reportStatus();
    // Only masked text is kept: the service's one masking function (last four digits).
    Promise.all([post("/v1/mask", { text: f.text }), post("/v1/mask", { text: sentence })]).then(function (m) {
      if (!m[0].resp.ok || !m[1].resp.ok) throw new Error("mask");
      var xs = loadReports();
      xs.push({ rule_id: f.rule_id, subtype: f.subtype, category: f.category, severity: f.severity,
                span: m[0].data.text, sentence: m[1].data.text, message: f.message, role: p.role,
                counterpart: p.counterpart, channel: p.channel, reported_at: new Date().toISOString() });
      if (!saveReports(xs)) throw new Error("storage");
      updateFpBox();
    }).catch(function () {
      setStatus("error", "已隐藏这处标记，但未能保存误报记录（服务无法连接或浏览器禁止本地存储）");
    });
  }
  function undismiss(i) {
    var x = shown.findings.filter(function (y) { return y.i === i; })[0];
    if (!x) return;
    delete dismissed[fpKey(x)];
    renderResult();
    reportStatus();
  }
  $("fp-export").addEventListener("click", function () {
    var xs = loadReports();
    var doc = { schema: "tonecheck.false_positives/1", exported_at: new Date().toISOString(), count: xs.length, reports: xs };
    var blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "tonecheck-false-positives-" + new Date().toISOString().slice(0, 10) + ".json";
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  });
  $("fp-clear").addEventListener("click", function () {
    if (window.confirm("清空本浏览器里的全部误报记录？")) { saveReports([]); updateFpBox(); }
  });

  // ---- keyboard: Alt+Down / Alt+Up between findings, Enter applies, Escape back to the draft ----
  function focusFinding(k) {
    var items = Array.prototype.slice.call(list.children);
    if (!items.length) return;
    var li = items[(k + items.length) % items.length];
    li.focus();
    li.scrollIntoView({ block: "nearest" });
    markActive([+li.dataset.index]);
  }
  document.addEventListener("keydown", function (ev) {
    if (!ev.altKey || (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") || stale) return;
    ev.preventDefault();
    var items = Array.prototype.slice.call(list.children), at = items.indexOf(document.activeElement);
    var down = ev.key === "ArrowDown";
    focusFinding(at < 0 ? (down ? 0 : items.length - 1) : at + (down ? 1 : -1));
  });
  list.addEventListener("keydown", function (ev) {
    var li = ev.target;
    if (li.parentNode !== list) return;
    var items = Array.prototype.slice.call(list.children), at = items.indexOf(li);
    if (!ev.altKey && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
      ev.preventDefault();
      focusFinding(at + (ev.key === "ArrowDown" ? 1 : -1));
    } else if (ev.key === "Enter") {
      var b = li.querySelector("button.apply");
      if (b && !b.disabled) { ev.preventDefault(); b.click(); }
    } else if (ev.key === "Escape") {
      var x = shown.findings.filter(function (y) { return y.i === +li.dataset.index; })[0];
      ta.focus();
      if (x) ta.setSelectionRange(x.start, x.end);
    }
  });
  list.addEventListener("focusin", function (ev) {
    if (ev.target.parentNode === list) markActive([+ev.target.dataset.index]);
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
  updateFpBox();
  if (ta.value) runCheck();
})();
