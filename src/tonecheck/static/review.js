// Review page: queue, claim, verdicts, appeals and decisions over /v1/review/* (no framework, no CDN).
(function () {
  "use strict";
  var KEY = "tonecheck.review.key";
  var SEV = {high: "严重", medium: "中等", low: "轻微"};
  var STATUS = {unreviewed: "待复核", confirmed: "已确认违规", rejected: "已驳回", unsure: "不确定", signal: "客户风险信号"};
  var APPEAL = {open: "申诉中", upheld: "申诉驳回", overturned: "申诉成立"};
  var SPEAKER = {agent: "坐席", customer: "客户"};
  var state = {key: "", me: null, tab: "queue", items: [], index: -1, hit: null, appeal: null};
  var $ = function (id) { return document.getElementById(id); };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function say(msg, bad) { var el = $("status-line"); el.textContent = msg || ""; el.className = "status-line" + (bad ? " error" : ""); }

  function api(method, path, body) {
    var opts = {method: method, headers: {"X-API-Key": state.key}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var e = new Error((data.error && data.error.message) || ("HTTP " + r.status));
          e.status = r.status;
          throw e;
        }
        return data;
      });
    });
  }

  // ---- login ----
  function login(key) {
    state.key = key;
    return api("GET", "/v1/review/me").then(function (me) {
      state.me = me;
      try { sessionStorage.setItem(KEY, key); } catch (e) { /* storage off */ }
      $("login").hidden = true; $("app").hidden = false; $("tabs").hidden = false; $("logout").hidden = false;
      $("me").textContent = me.name + " · " + {reviewer: "复核员", lead: "质检主管", agent: "坐席"}[me.role] +
        (me.agent_id ? " · 工号 " + me.agent_id : "");
      var agent = me.role === "agent";
      $("tab-queue").hidden = agent; $("tab-mine").hidden = !agent;
      $("keys-help").hidden = agent;
      var st = $("f-status");
      st.innerHTML = agent
        ? '<option value="all">全部</option><option value="confirmed">已确认违规</option><option value="unreviewed">待复核</option><option value="rejected">已驳回</option>'
        : '<option value="unreviewed">待复核</option><option value="unsure">不确定</option>';
      if (!agent) loadFilters();
      else { $("f-agent").parentNode.hidden = true; $("f-rule").parentNode.hidden = true; }
      showTab(agent ? "mine" : "queue");
    }).catch(function (e) {
      state.key = "";
      try { sessionStorage.removeItem(KEY); } catch (x) { /* ignore */ }
      $("login-error").textContent = e.status === 401 ? "密钥无效或已停用" : e.message;
    });
  }

  function loadFilters() {
    api("GET", "/v1/review/filters").then(function (f) {
      var a = $("f-agent"), r = $("f-rule");
      f.agents.forEach(function (x) { a.insertAdjacentHTML("beforeend", '<option value="' + esc(x.agent_id) + '">' + esc(x.agent_id) + " (" + x.unreviewed + ")</option>"); });
      f.rules.forEach(function (x) { r.insertAdjacentHTML("beforeend", '<option value="' + esc(x.rule_id) + '">' + esc(x.rule_id) + " " + esc(x.subtype) + " (" + x.unreviewed + ")</option>"); });
    }).catch(function (e) { say(e.message, true); });
  }

  function filters() {
    var f = {agent: $("f-agent").value, rule: $("f-rule").value, from: $("f-from").value, to: $("f-to").value, status: $("f-status").value};
    Object.keys(f).forEach(function (k) { if (!f[k]) delete f[k]; });
    return f;
  }

  // ---- lists ----
  function showTab(tab) {
    state.tab = tab;
    Array.prototype.forEach.call(document.querySelectorAll("nav button"), function (b) { b.classList.toggle("active", b.dataset.tab === tab); });
    $("filters").hidden = tab === "appeals";
    clearDetail();
    loadList();
  }

  function loadList() {
    var path;
    if (state.tab === "appeals") {
      path = "/v1/review/appeals?status=" + (state.me.role === "lead" ? "open" : "all");
    } else {
      var q = new URLSearchParams(filters());
      path = (state.tab === "queue" ? "/v1/review/queue?" : "/v1/review/hits?") + q.toString();
    }
    return api("GET", path).then(function (data) {
      state.items = Array.isArray(data) ? data : data.items;
      state.index = -1;
      renderList(Array.isArray(data) ? data.length : data.total + (data.total_capped ? "+" : ""));
    }).catch(function (e) { say(e.message, true); });
  }

  function renderList(total) {
    var head = $("list-head"), body = $("list-body");
    if (state.tab === "appeals") {
      head.innerHTML = "<tr><th>申诉</th><th>坐席</th><th>规则</th><th>片段</th><th>状态</th></tr>";
      body.innerHTML = state.items.map(function (a, i) {
        return '<tr data-i="' + i + '" data-hit="' + esc(a.hit_id) + '" data-appeal="' + a.id + '"><td>#' + a.id + "</td><td>" + esc(a.agent_id) +
          "</td><td>" + esc(a.rule_id) + "</td><td>" + esc(a.text) + "</td><td>" + esc(APPEAL[a.status] || a.status) + "</td></tr>";
      }).join("");
      $("list-info").textContent = total + " 条申诉";
    } else {
      head.innerHTML = "<tr><th>级别</th><th>规则</th><th>片段</th><th>坐席</th><th>日期</th><th>状态</th></tr>";
      body.innerHTML = state.items.map(function (h, i) {
        var st = (STATUS[h.status] || h.status) + (h.appeal ? " · " + APPEAL[h.appeal] : "") + (h.claimed_by ? " · " + esc(h.claimed_by) + " 复核中" : "");
        return '<tr data-i="' + i + '" data-hit="' + esc(h.hit_id) + '"><td><span class="sev sev-' + h.severity + '">' + SEV[h.severity] + "</span></td><td>" +
          esc(h.rule_id) + "</td><td>" + esc(h.text) + "</td><td>" + esc(h.agent_id) + "</td><td>" + esc(h.call_date) + "</td><td>" + st + "</td></tr>";
      }).join("");
      $("list-info").textContent = "共 " + total + " 条" + (state.tab === "queue" ? "（最严重的在前）" : "");
    }
  }

  function select(i) {
    if (i < 0 || i >= state.items.length) return;
    state.index = i;
    Array.prototype.forEach.call($("list-body").rows, function (r, n) { r.classList.toggle("current", n === i); });
    var item = state.items[i];
    state.appeal = state.tab === "appeals" ? item : null;
    openHit(item.hit_id);
  }

  // ---- detail ----
  function clearDetail() { state.hit = null; $("detail-body").hidden = true; $("detail-empty").hidden = false; }

  function highlight(text, start, end) {
    var cps = Array.from(text);
    return esc(cps.slice(0, start).join("")) + '<mark class="hit-span">' + esc(cps.slice(start, end).join("")) + "</mark>" + esc(cps.slice(end).join(""));
  }

  function openHit(id) {
    return api("GET", "/v1/review/hits/" + encodeURIComponent(id)).then(showHit).catch(function (e) { say(e.message, true); });
  }

  function showHit(h) {
    state.hit = h;
    $("detail-empty").hidden = true; $("detail-body").hidden = false;
    $("detail-body").dataset.hit = h.hit_id;
    $("d-sev").className = "sev sev-" + h.severity; $("d-sev").textContent = SEV[h.severity];
    $("d-subtype").textContent = h.subtype; $("d-rule").textContent = h.rule_id + " · " + h.hit_id;
    $("d-status").textContent = (STATUS[h.status] || h.status) + (h.appeal ? " · " + APPEAL[h.appeal] : "");
    $("d-status").className = "status st-" + h.status;
    $("d-claim").textContent = h.claimed_by ? h.claimed_by + " 复核中" : "";
    var c = h.call;
    $("d-call").textContent = "通话 " + c.conv_key + " · 坐席 " + (c.agent_id || "—") + " · " + (c.call_start || h.call_date) + " · 得分 " + (c.score == null ? "—" : c.score) + " · 共 " + c.turns + " 轮";
    $("d-turns").innerHTML = h.turns.length ? h.turns.map(function (t) {
      var own = t.position === h.turn;
      return '<div class="turn' + (own ? " hit-turn" : "") + '" id="turn-' + t.position + '"><span class="who">' + (SPEAKER[t.speaker] || esc(t.speaker)) + "</span> " +
        (own ? highlight(t.text, h.start, h.end) : esc(t.text)) + "</div>";
    }).join("") : '<p class="muted">（整通电话层面的问题：' + esc(h.explanation) + "）</p>";
    $("d-message").textContent = h.message;
    $("d-source").textContent = h.source || "—";
    var own = h.turns.filter(function (t) { return t.position === h.turn; })[0];
    var sugg = (own && own.rewrite) || h.suggestion;
    $("d-suggestion-line").hidden = !sugg; $("d-suggestion").textContent = sugg || "";
    $("d-history").innerHTML = h.verdicts.map(function (v) {
      return '<p class="history">' + esc(v.created_at) + " " + esc(v.by || "") + "：" + esc(STATUS[v.verdict] || v.verdict) + (v.comment ? "——" + esc(v.comment) : "") + "</p>";
    }).join("") + h.appeals.map(function (a) {
      return '<p class="history">申诉 #' + a.id + "（" + esc(APPEAL[a.status]) + "）：" + esc(a.reason) + (a.decision_comment ? " · 裁定：" + esc(a.decision_comment) : "") + "</p>";
    }).join("");
    var role = state.me.role;
    var canJudge = role !== "agent" && state.tab !== "appeals" && h.appeal !== "open" && (role === "lead" || h.status === "unreviewed" || h.status === "unsure");
    $("verdict-box").hidden = !canJudge;
    $("comment").value = "";
    $("appeal-box").hidden = !(role === "agent" && h.status === "confirmed" && !h.appeal);
    $("appeal-reason").value = "";
    var deciding = role === "lead" && state.appeal && state.appeal.status === "open";
    $("decision-box").hidden = !deciding;
    if (deciding) { $("d-appeal-reason").textContent = state.appeal.reason; $("decision-comment").value = ""; }
  }

  // ---- actions ----
  function next() {
    if (!state.me || state.me.role === "agent") return;
    if (state.tab !== "queue") showTab("queue");
    var f = filters();
    var body = {};
    ["agent", "rule", "from", "to", "status"].forEach(function (k) { if (f[k]) body[k] = f[k]; });
    return api("POST", "/v1/review/claim", body).then(function (r) {
      if (!r.hit) { clearDetail(); say("队列已清空：没有待复核的命中"); return; }
      say("已领取 " + r.hit.hit_id + "，其他复核员不会拿到这一条");
      showHit(r.hit);
      loadList();
    }).catch(function (e) { say(e.message, true); });
  }

  function verdict(v) {
    if (!state.hit || $("verdict-box").hidden) return;
    var id = state.hit.hit_id;
    return api("POST", "/v1/review/hits/" + encodeURIComponent(id) + "/verdict", {verdict: v, comment: $("comment").value})
      .then(function () { say(id + "：" + STATUS[v]); return next(); })
      .catch(function (e) { say(e.message, true); });
  }

  function release() {
    if (!state.hit || $("verdict-box").hidden) return;
    var id = state.hit.hit_id;
    api("POST", "/v1/review/hits/" + encodeURIComponent(id) + "/release", {}).then(function () {
      say(id + " 已放回队列"); clearDetail(); loadList();
    }).catch(function (e) { say(e.message, true); });
  }

  function appeal() {
    if (!state.hit || $("appeal-box").hidden) return;
    var reason = $("appeal-reason").value.trim();
    if (!reason) { say("请先写申诉理由", true); $("appeal-reason").focus(); return; }
    var id = state.hit.hit_id;
    api("POST", "/v1/review/hits/" + encodeURIComponent(id) + "/appeal", {reason: reason}).then(function () {
      say("申诉已提交，等待质检主管裁定"); return openHit(id).then(loadList);
    }).catch(function (e) { say(e.message, true); });
  }

  function decide(decision) {
    if (!state.appeal || $("decision-box").hidden) return;
    var a = state.appeal;
    api("POST", "/v1/review/appeals/" + a.id + "/decision", {decision: decision, comment: $("decision-comment").value}).then(function () {
      say("申诉 #" + a.id + "：" + APPEAL[decision]); clearDetail(); state.appeal = null; loadList();
    }).catch(function (e) { say(e.message, true); });
  }

  // ---- wiring ----
  $("login-btn").addEventListener("click", function () { login($("key-input").value.trim()); });
  $("key-input").addEventListener("keydown", function (e) { if (e.key === "Enter") login($("key-input").value.trim()); });
  $("logout").addEventListener("click", function () { try { sessionStorage.removeItem(KEY); } catch (e) { /* ignore */ } location.reload(); });
  Array.prototype.forEach.call(document.querySelectorAll("nav button"), function (b) { b.addEventListener("click", function () { showTab(b.dataset.tab); }); });
  ["f-agent", "f-rule", "f-from", "f-to", "f-status"].forEach(function (id) { $(id).addEventListener("change", loadList); });
  $("list-body").addEventListener("click", function (e) { var tr = e.target.closest("tr"); if (tr) select(+tr.dataset.i); });
  $("btn-confirm").addEventListener("click", function () { verdict("confirmed"); });
  $("btn-reject").addEventListener("click", function () { verdict("rejected"); });
  $("btn-unsure").addEventListener("click", function () { verdict("unsure"); });
  $("btn-next").addEventListener("click", next);
  $("btn-release").addEventListener("click", release);
  $("btn-appeal").addEventListener("click", appeal);
  $("btn-uphold").addEventListener("click", function () { decide("upheld"); });
  $("btn-overturn").addEventListener("click", function () { decide("overturned"); });

  document.addEventListener("keydown", function (e) {
    if (!state.me || e.ctrlKey || e.metaKey || e.altKey) return;
    var typing = /^(TEXTAREA|INPUT|SELECT)$/.test(document.activeElement && document.activeElement.tagName);
    if (typing) { if (e.key === "Escape") document.activeElement.blur(); return; }
    var k = e.key.toLowerCase();
    var act = {
      n: next, c: function () { verdict("confirmed"); }, r: function () { verdict("rejected"); }, u: function () { verdict("unsure"); },
      a: function () { if (!$("appeal-box").hidden) $("appeal-reason").focus(); },
      h: function () { decide("upheld"); }, o: function () { decide("overturned"); },
      j: function () { select(Math.min(state.items.length - 1, state.index + 1)); }, k: function () { select(Math.max(0, state.index - 1)); },
      "/": function () { var box = !$("decision-box").hidden ? $("decision-comment") : $("comment"); box.focus(); },
      escape: release,
    }[k];
    if (act) { e.preventDefault(); act(); }
  });
  $("appeal-reason").addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) appeal(); });

  var saved = "";
  try { saved = sessionStorage.getItem(KEY) || ""; } catch (e) { /* ignore */ }
  if (saved) login(saved);
})();
