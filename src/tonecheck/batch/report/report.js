/* tonecheck batch report: the call list and each call's turns are drawn from the JSON block
   #tc-data, the list PAGE rows at a time and a call's details only when it is opened, so a
   day of calls opens in well under a second. Plain JS, no dependencies, nothing fetched. */
(function () {
  "use strict";
  var PAGE = 200;
  var $ = function (id) { return document.getElementById(id); };
  var data = JSON.parse($("tc-data").textContent);
  var L = data.labels, STR = data.strings, calls = data.calls, COLORS = data.colors || {};
  var RANK = { high: 3, medium: 2, low: 1 };

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmtTime(sec) {
    if (sec === null || sec === undefined) return "";
    sec = Math.floor(+sec);
    var h = Math.floor(sec / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    var p = function (x) { return (x < 10 ? "0" : "") + x; };
    return h ? p(h) + ":" + p(m) + ":" + p(s) : p(m) + ":" + p(s);
  }
  function subtypeName(st) { return L.subtypes[st] || st; }
  function sevWord(cat, sev) { return cat === "risk" ? L.risk_signal : (L.severities[sev] || sev); }

  // ---- one pass over the data: what the filters and the list need ----
  calls.forEach(function (c) {
    var cats = {}, rules = {}, nv = 0, nh = 0;
    c.f.forEach(function (f) {
      cats[f[3]] = (cats[f[3]] || 0) + 1;
      rules[f[1]] = 1;
      if (f[3] !== "risk") { nv++; if (f[4] === "high") nh++; }
    });
    c.cats = cats; c.rules = rules; c.nv = nv; c.nh = nh;
    c.q = (c.id + " " + c.agent + " " + c.file + " " + (c.start || "")).toLowerCase();
  });

  // ---- sortable summary tables (agents, rules) ----
  function cellVal(td) {
    var v = td.getAttribute("data-v"); if (v === null) v = td.textContent.trim();
    var n = parseFloat(v);
    return (v !== "" && !isNaN(n) && /^-?[\d.]+$/.test(v)) ? n : v.toLowerCase();
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    var ths = t.querySelectorAll("thead th");
    Array.prototype.forEach.call(ths, function (th, i) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("asc");
        Array.prototype.forEach.call(ths, function (x) { x.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var tb = t.tBodies[0], rows = Array.prototype.slice.call(tb.rows);
        rows.sort(function (a, b) {
          var x = cellVal(a.cells[i]), y = cellVal(b.cells[i]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { tb.appendChild(r); });
      });
    });
  });

  // ---- the call list ----
  var tbody = $("convs").tBodies[0], countEl = $("count"), moreBtn = $("more");
  var F = { q: $("q"), kind: $("fkind"), status: $("fstatus"), cat: $("fcat"), agent: $("fagent"), rule: $("frule") };
  var sortKey = "pr", sortAsc = true, limit = PAGE, shown = [], open = {};

  function keep(c) {
    var s = F.q.value.trim().toLowerCase(), k = F.kind.value, st = F.status.value;
    if (s && c.q.indexOf(s) < 0) return false;
    if (k === "answered" && c.att) return false;
    if (k === "attempt" && !c.att) return false;
    if (F.cat.value && !c.cats[F.cat.value]) return false;
    if (F.agent.value && c.agent !== F.agent.value) return false;
    if (F.rule.value && !c.rules[F.rule.value]) return false;
    if (st === "viol") return c.nv > 0;
    if (st === "fail") return c.st === "ok" && !c.att && !c.pass;
    if (st === "critical") return c.crit;
    if (st === "selfharm") return c.sh;
    if (st === "clean") return c.st === "ok" && c.nv === 0;
    if (st === "error") return c.st === "error";
    return true;
  }
  function sortVal(c) {
    var v = c[sortKey];
    if (sortKey === "sc") return v === null ? -1 : v;
    return typeof v === "number" ? v : String(v || "").toLowerCase();
  }
  function scoreClass(c) {
    if (c.sc === null) return "s-none";
    if (c.crit || c.sc < data.pass_mark - 20) return "s-bad";
    return c.pass ? "s-good" : "s-mid";
  }
  function rowHtml(c) {
    var flags = (c.crit ? '<span class="flag">红线</span>' : "") + (c.sh ? '<span class="flag sh">自伤</span>' : "");
    var score = c.st !== "ok" ? '<span class="status-error">' + esc(L.call_statuses.error) + "</span>"
      : c.att ? '<span class="muted">' + esc(L.outcomes.unanswered) + "</span>"
      : '<span class="score ' + scoreClass(c) + '">' + esc(c.sc) + "</span>";
    var chips = Object.keys(c.cats).map(function (k) {
      return '<span class="chip" style="background:' + (COLORS[k] || "#888") + '">' + esc(L.categories[k] || k) + " " + c.cats[k] + "</span>";
    }).join("");
    return '<tr class="row' + (open[c.n] ? " open" : "") + '" data-n="' + c.n + '" tabindex="0">' +
      "<td>" + flags + "</td>" +
      '<td data-l="通话"><a href="#c' + c.n + '">' + esc(c.id) + "</a></td>" +
      '<td data-l="坐席">' + esc(c.agent === "(unknown)" ? "" : c.agent) + "</td>" +
      '<td data-l="时间">' + esc(c.start || "") + "</td>" +
      '<td class="num" data-l="质检分">' + score + "</td>" +
      '<td class="num" data-l="违规">' + c.nv + "</td>" +
      '<td class="num" data-l="严重">' + c.nh + "</td>" +
      '<td data-l="类别">' + chips + "</td>" +
      '<td class="muted path" data-l="文件">' + esc(c.file) + "</td></tr>" +
      (open[c.n] ? detailRow(c) : "");
  }
  function render() {
    var rows = [];
    for (var i = 0; i < shown.length && i < limit; i++) rows.push(rowHtml(calls[shown[i]]));
    tbody.innerHTML = rows.join("") ||
      '<tr><td colspan="9" class="muted">没有符合筛选条件的通话</td></tr>';
    countEl.textContent = "显示 " + Math.min(limit, shown.length) + " / 符合 " + shown.length + " / 共 " + calls.length + " 通";
    moreBtn.hidden = shown.length <= limit;
    moreBtn.textContent = "显示更多（还有 " + (shown.length - limit) + " 通）";
  }
  function apply() {
    shown = [];
    for (var i = 0; i < calls.length; i++) if (keep(calls[i])) shown.push(i);
    shown.sort(function (a, b) {
      var x = sortVal(calls[a]), y = sortVal(calls[b]);
      var d = x < y ? -1 : x > y ? 1 : 0;
      return (sortAsc ? d : -d) || calls[a].pr - calls[b].pr;
    });
    limit = PAGE;
    render();
    markPicks();
  }
  Object.keys(F).forEach(function (k) {
    F[k].addEventListener(k === "q" ? "input" : "change", apply);
  });
  moreBtn.addEventListener("click", function () { limit += PAGE; render(); });
  $("clearf").addEventListener("click", function () { clearFilters(); apply(); });
  function clearFilters() {
    F.q.value = ""; F.kind.value = "answered"; F.status.value = ""; F.cat.value = ""; F.agent.value = ""; F.rule.value = "";
  }
  Array.prototype.forEach.call(document.querySelectorAll("#convs th[data-sort]"), function (th) {
    th.addEventListener("click", function () {
      var k = th.getAttribute("data-sort");
      sortAsc = k === sortKey ? !sortAsc : true;
      sortKey = k;
      Array.prototype.forEach.call(document.querySelectorAll("#convs th"), function (x) { x.classList.remove("asc", "desc"); });
      th.classList.add(sortAsc ? "asc" : "desc");
      apply();
    });
  });

  // ---- a call's details, drawn when it is opened ----
  function highlight(text, fs) {
    var cps = Array.from(text), spans = fs.filter(function (f) { return f[6] > f[5]; });
    if (!spans.length) return esc(text);
    var cuts = [0, cps.length];
    spans.forEach(function (f) { cuts.push(Math.min(f[5], cps.length), Math.min(f[6], cps.length)); });
    cuts = cuts.filter(function (v, i, a) { return a.indexOf(v) === i; }).sort(function (a, b) { return a - b; });
    var out = "";
    for (var k = 0; k + 1 < cuts.length; k++) {
      var a = cuts[k], b = cuts[k + 1], seg = esc(cps.slice(a, b).join(""));
      var cover = spans.filter(function (f) { return f[5] <= a && f[6] >= b; });
      if (!cover.length) { out += seg; continue; }
      var best = null;
      cover.forEach(function (f) { if (f[3] !== "risk" && (!best || RANK[f[4]] > RANK[best])) best = f[4]; });
      var title = cover.map(function (f) { return subtypeName(f[2]) + "（" + f[1] + "）"; }).join("；");
      out += '<mark class="m-' + (best || "risk") + '" title="' + esc(title) + '">' + seg + "</mark>";
    }
    return out;
  }
  function findingHtml(f) {
    var cat = f[3], cls = cat === "risk" ? "risk" : f[4];
    var h = '<div class="f ' + cls + '"><span class="sev sev-' + cls + '">' + esc(sevWord(cat, f[4])) + "</span> " +
      '<span class="chip" style="background:' + (COLORS[cat] || "#888") + '">' + esc(L.categories[cat] || cat) + "</span>" +
      "<b>" + esc(subtypeName(f[2])) + '</b> <span class="code">' + esc(f[2]) + '</span> <span class="rid">' + esc(f[1]) + "</span>";
    if (f[12] && f[12] !== "signal") {
      h += ' <span class="review review-' + esc(f[12]) + '" title="' + esc(f[13] || "") + '">' + esc(L.review[f[12]] || f[12]) + "</span>";
    }
    h += (f[7] ? " 「" + esc(f[7]) + "」" : "") + " " + esc(STR[f[8]]);
    if (f[9] && cat !== "risk") h += '<div class="sugg"><b>建议：</b>' + esc(f[9]) + "</div>";
    if (f[10]) h += '<div class="muted">' + esc(f[10]) + "</div>";
    if (STR[f[11]]) h += '<div class="src">依据：' + esc(STR[f[11]]) + "</div>";
    return h + "</div>";
  }
  function detailHtml(c) {
    var meta = [];
    if (c.st !== "ok") {
      return '<p class="status-error">' + esc(L.call_statuses.error) + "：" + esc(c.err) + '</p><p class="muted">文件：' + esc(c.file) + "</p>";
    }
    meta.push("对象：" + esc(L.counterparts[c.cp] || c.cp || ""), "渠道：" + esc(L.channels[c.ch] || c.ch || ""));
    if (c.out) meta.push("结果：" + esc(L.outcomes[c.out] || c.out));
    if (c.contact) meta.push("联系号码：" + esc(c.contact));
    if (c.ded.length) {
      meta.push("扣分：" + c.ded.map(function (d) {
        return esc(subtypeName(d[1] || "")) + " " + esc(d[0]) + (d[2] === null || d[2] === undefined ? "" : "（第 " + (d[2] + 1) + " 轮）") + " −" + esc(d[3]);
      }).join("，"));
    }
    c.warn.forEach(function (w) { meta.push("⚠ " + esc(w)); });
    var out = ['<p class="muted">' + meta.join(" · ") + "</p>"];
    var top = c.f.filter(function (f) { return f[0] === null; });
    if (top.length) out.push('<div class="cfind">' + top.map(findingHtml).join("") + "</div>");
    c.turns.forEach(function (t, i) {
      var tf = c.f.filter(function (f) { return f[0] === i; });
      out.push('<div class="turn"><div class="t">' + esc(fmtTime(t[2])) + "</div><div>" +
        '<div class="who who-' + esc(t[0]) + '">' + esc(L.speakers[t[0]] || t[0]) + "</div>" +
        (t[0] === "agent" && t[3] === "third_party" ? '<div class="lis" title="按对话推断：此轮的听话人是第三方">对第三方</div>' : "") +
        '</div><div><div class="txt">' + highlight(t[1], tf) + "</div>" + tf.map(findingHtml).join("") +
        (t[4] ? '<div class="rw"><b>整句改写：</b>' + esc(t[4]) + "</div>" : "") + "</div></div>");
    });
    if (!c.turns.length) out.push('<p class="muted">（无对话内容：未接通的呼叫记录）</p>');
    return out.join("");
  }
  function detailRow(c) { return '<tr class="detail" data-for="' + c.n + '"><td colspan="9">' + detailHtml(c) + "</td></tr>"; }
  function toggle(tr) {
    var n = +tr.getAttribute("data-n"), c = calls[n];
    if (open[n]) {
      delete open[n];
      tr.classList.remove("open");
      var d = tr.nextElementSibling;
      if (d && d.classList.contains("detail")) d.parentNode.removeChild(d);
    } else {
      open[n] = true;
      tr.classList.add("open");
      tr.insertAdjacentHTML("afterend", detailRow(c));
    }
  }
  tbody.addEventListener("click", function (ev) {
    if (ev.target.closest("a")) return;          // the id link goes through the hash
    var tr = ev.target.closest("tr.row");
    if (tr) toggle(tr);
  });
  tbody.addEventListener("keydown", function (ev) {
    var tr = ev.target.closest && ev.target.closest("tr.row");
    if (tr && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggle(tr); }
  });
  function openCall(n) {
    var c = calls[n];
    if (!c) return;
    if (!keep(c)) { clearFilters(); F.kind.value = c.att ? "attempt" : "answered"; apply(); }
    var pos = shown.indexOf(n);
    if (pos >= limit) { limit = pos + 1; }
    open[n] = true;
    render();
    var tr = tbody.querySelector('tr.row[data-n="' + n + '"]');
    if (tr) tr.scrollIntoView({ block: "start" });
  }
  function openHash() {
    var m = /^#c(\d+)$/.exec(location.hash);
    if (m) openCall(+m[1]);
  }
  window.addEventListener("hashchange", openHash);

  // ---- agent, rule and category rows filter the list ----
  var PICK = { agent: F.agent, rule: F.rule, cat: F.cat };
  function markPicks() {
    Array.prototype.forEach.call(document.querySelectorAll("tr.pick"), function (tr) {
      tr.classList.toggle("on", PICK[tr.getAttribute("data-pick")].value === tr.getAttribute("data-v"));
    });
  }
  function pick(tr) {
    var sel = PICK[tr.getAttribute("data-pick")], v = tr.getAttribute("data-v");
    sel.value = sel.value === v ? "" : v;
    if (tr.getAttribute("data-pick") !== "agent" || F.kind.value === "attempt") F.kind.value = "answered";
    apply();
    $("calls").scrollIntoView({ block: "start" });
  }
  Array.prototype.forEach.call(document.querySelectorAll("tr.pick"), function (tr) {
    tr.addEventListener("click", function (ev) { if (!ev.target.closest("a")) pick(tr); });
    tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") pick(tr); });
  });
  var sa = $("show-attempts");
  if (sa) sa.addEventListener("click", function () {
    clearFilters(); F.kind.value = "attempt"; F.status.value = "viol"; apply();
    $("calls").scrollIntoView({ block: "start" });
  });

  apply();
  openHash();
})();
