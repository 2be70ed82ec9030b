// wattlens Efficiency view: one call to /api/v2/analysis, drawn as tiles, idle bars, the
// right-sizing list, consolidation plans and one J/token-vs-tok/s chart per deployment.
// Labels are untrusted: text only (textContent, canvas fillText), never innerHTML.
(function () {
  "use strict";
  var W = window.WL;
  var el = W.el;
  var root = document.getElementById("efficiency");
  var state = { range: "7d", frontier: null, unit: "energy", body: null };
  var RANGE_KEY = "wattlens.range";
  try {
    var saved = localStorage.getItem(RANGE_KEY);
    if (saved === "24h" || saved === "7d" || saved === "30d") { state.range = saved; }
  } catch (e) { /* storage disabled */ }

  function nameOf(d) { return d.model_name || d.deployment_id; }
  function kwh(v) { return W.finite(v) ? W.sig(v, 3) + " kWh" : "-"; }
  function kg(v) { return W.finite(v) ? W.sig(v, 3) + " kg" : "-"; }
  function watts(v) { return W.finite(v) ? W.sig(Math.round(v), 4) + " W" : "-"; }
  function pct(v) { return W.finite(v) ? (100 * v).toFixed(1) + " %" : "-"; }

  // -- tiles, idle power table ------------------------------------------------------------
  function renderTiles(f) {
    var set = function (key, text) {
      document.querySelector('[data-tile="' + key + '"]').textContent = text;
    };
    f = f || {};
    set("energy_kwh", kwh(f.energy_kwh));
    set("idle_fraction", pct(f.idle_fraction));
    set("zero_token_energy_kwh", kwh(f.zero_token_energy_kwh));
    set("co2_kg", kg(f.co2_kg));
    set("right_sizing_saving_watts", watts(f.right_sizing_saving_watts));
    set("consolidation_saving_watts", watts(f.consolidation_saving_watts));
  }

  function renderIdlePower(idle) {
    var body = document.querySelector("#idle-power tbody");
    var frag = document.createDocumentFragment();
    Object.keys(idle).sort().forEach(function (gt) {
      var p = idle[gt];
      var src = p.source + (p.method && p.method !== p.source ? " (" + p.method.replace("_", " ") + ")" : "");
      var tr = W.row([gt, W.num(p.value, 1), src, String(p.sample_count)]);
      tr.dataset.gpuType = gt;
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
  }

  // -- idle vs productive stacked bars ------------------------------------------------------
  var SEGMENT = { productive: "productive", idle: "idle overhead", zero: "no tokens served",
    unknown: "above idle, tokens unknown (no engine metrics)" };
  function renderIdleBars(body) {
    var rows = {};
    body.deployments.forEach(function (d) { rows[d.deployment_id] = d; });
    var bars = (body.charts && body.charts.idle_bars) || { deployments: [] };
    var co2 = state.unit === "co2";
    var items = bars.deployments.map(function (id, i) {
      var d = rows[id] || {};
      var total = co2 ? d.co2_kg : d.energy_kwh;
      var all = function (part) { return W.finite(part) && d.energy_kwh > 0 && part >= d.energy_kwh; };
      // Green means energy that served tokens (#11). No tokens served: none of it was productive,
      // whatever the power above the idle floor. No token metrics (GPU only): nobody knows.
      var kind = d.tokens_per_s === 0 || all(d.zero_token_energy_kwh) ? "zero" :
        all(d.unknown_token_energy_kwh) ? "unknown" : "productive";
      var productive = co2 ? d.productive_co2_kg : bars.productive_kwh[i];
      var idle = co2 ? d.idle_co2_kg : bars.idle_kwh[i];
      return {
        id: id, name: nameOf(d), kind: kind, total: total,
        parts: kind === "zero" ? [["zero", total]] : [[kind, productive], ["idle", idle]]
      };
    });
    var max = items.reduce(function (m, x) { return Math.max(m, x.total || 0); }, 0);
    var frag = document.createDocumentFragment();
    items.forEach(function (x) {
      var r = el("div", "bar-row");
      r.dataset.deployment = x.id;
      var label = el("span", "bar-label", x.name);
      label.title = x.id;
      r.appendChild(label);
      var track = el("div", "bar-track stacked");
      x.parts.forEach(function (part) {
        var seg = el("div", "seg seg-" + part[0]);
        seg.style.width = (max > 0 && W.finite(part[1]) && part[1] > 0 ? 100 * part[1] / max : 0) + "%";
        seg.title = SEGMENT[part[0]] + ": " + (co2 ? kg(part[1]) : kwh(part[1]));
        track.appendChild(seg);
      });
      r.dataset.kind = x.kind;
      r.appendChild(track);
      r.appendChild(el("span", "bar-value", co2 ? kg(x.total) : kwh(x.total)));
      frag.appendChild(r);
    });
    if (!items.length) { frag.appendChild(el("p", "muted", "No deployments in this range.")); }
    document.getElementById("idle-bars").replaceChildren(frag);
  }

  // -- right-sizing and consolidation -------------------------------------------------------
  function renderRightSizing(body, byId) {
    var tbody = document.querySelector("#rightsizing tbody");
    var frag = document.createDocumentFragment();
    body.right_sizing_ranked.forEach(function (r, i) {
      var d = byId[r.deployment_id] || {};
      var tr = W.row([String(i + 1), nameOf(d), r.current_gpu_count + " \u2192 " + r.recommended_gpu_count +
        " " + r.gpu_type, watts(r.saving_watts), W.sig(r.saving_kwh_per_day, 3),
        W.sig(r.saving_kg_co2_per_year, 3), r.reason]);
      tr.dataset.deployment = r.deployment_id;
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    document.getElementById("rs-empty").hidden = body.right_sizing_ranked.length > 0;
    var dl = document.getElementById("assumptions");
    var items = document.createDocumentFragment();
    Object.keys(body.assumptions || {}).forEach(function (k) {
      var v = body.assumptions[k];
      items.appendChild(el("dt", null, k));
      items.appendChild(el("dd", null, typeof v === "object" ? JSON.stringify(v) : String(v)));
    });
    dl.replaceChildren(items);
  }

  function renderConsolidation(body, byId) {
    var list = document.getElementById("consolidation");
    var frag = document.createDocumentFragment();
    body.deployments.forEach(function (d) {
      var c = d.consolidation;
      if (!c) { return; }
      var li = el("li");
      li.dataset.deployment = d.deployment_id;
      li.appendChild(el("strong", null, nameOf(d)));
      var s = c.scale_to_zero || {};
      var text = c.recommended === "co_locate" && c.co_locate ?
        " co-locate (" + c.co_locate.plan_id + ", " + c.co_locate.gpus_before + " \u2192 " +
          c.co_locate.gpus_after + " GPUs)" :
        " scale to zero: idle " + pct(s.idle_time_fraction) + " of the time, " + s.wake_count +
          " cold starts (" + W.num(s.cold_start_s, 0) + " s each)";
      li.appendChild(document.createTextNode(text + "; saves " + watts(c.saving_watts) + " (" +
        W.sig(s.saving_kwh_per_day, 3) + " kWh/day by scaling to zero)."));
      frag.appendChild(li);
    });
    (body.consolidation_plans || []).forEach(function (p) {
      var li = el("li");
      li.dataset.plan = p.plan_id;
      li.appendChild(el("strong", null, p.plan_id));
      var names = p.deployments.map(function (id) { return nameOf(byId[id] || { deployment_id: id }); });
      li.appendChild(document.createTextNode(": " + names.join(", ") + " on " + p.gpus_after + " " +
        p.gpu_type + " GPUs instead of " + p.gpus_before + "; saves " + watts(p.saving_watts) + "."));
      frag.appendChild(li);
    });
    list.replaceChildren(frag);
    document.getElementById("cons-empty").hidden = list.children.length > 0;
  }

  // -- J/token against tok/s (canvas, log-log) ----------------------------------------------
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(f) {
    var x = Math.max(0, Math.min(1, f)) * (VIRIDIS.length - 1);
    var i = Math.min(VIRIDIS.length - 2, Math.floor(x));
    var t = x - i;
    var c = VIRIDIS[i].map(function (a, k) { return Math.round(a + (VIRIDIS[i + 1][k] - a) * t); });
    return "rgb(" + c.join(",") + ")";
  }
  // Axis ticks on a log scale: decades if the range spans several, else 1-2-5, else every
  // integer mantissa, else evenly spaced values; at least three ticks on any positive range.
  function logTicks(lo, hi) {
    var sets = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
    var out = [];
    for (var s = 0; s < sets.length && out.length < 4; s++) {
      out = [];
      for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        sets[s].forEach(function (m) {
          var v = Number((m * Math.pow(10, e)).toPrecision(6));
          if (v >= lo && v <= hi) { out.push(v); }
        });
      }
    }
    if (out.length >= 3) { return out; }
    var raw = (hi - lo) / 4;  // narrow range: linear steps of 1, 2 or 5 x 10^k
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (k) { return k * mag; }).filter(function (st) { return st >= raw; })[0];
    out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi; v += step) { out.push(Number(v.toPrecision(6))); }
    return out;
  }
  function labelled(ticks, pos, room) {  // which ticks get a label: 1s, then 2s and 5s, then the rest
    var rank = function (v) {
      var mant = Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)));
      return mant === 1 ? 0 : (mant === 2 || mant === 5) ? 1 : 2;
    };
    var order = ticks.map(function (v, i) { return i; }).sort(function (a, b) { return rank(ticks[a]) - rank(ticks[b]) || a - b; });
    var keep = ticks.map(function () { return false; });
    order.forEach(function (i) {
      var free = ticks.every(function (v, j) {
        return !keep[j] || Math.abs(pos(v) - pos(ticks[i])) >= Math.max(room(v), room(ticks[i]));
      });
      if (free) { keep[i] = true; }
    });
    return keep;
  }
  function tickLabel(v) {
    if (v >= 1e6) { return Number((v / 1e6).toPrecision(3)) + "M"; }
    if (v >= 1000) { return Number((v / 1000).toPrecision(3)) + "k"; }
    return String(Number(v.toPrecision(3)));
  }

  var knees = {};  // deployment id -> knee J/token and whether it is extrapolated

  function drawCurve(canvas, ch) {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(200, canvas.parentNode.clientWidth || 480);
    var h = 240;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    var g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    var P = ch.points;
    var C = ch.curve;
    var xs = P.tokens_per_s.slice();
    var ys = P.joules_per_token.slice();
    if (C) {
      xs = xs.concat(C.tokens_per_s);
      ys = ys.concat(C.joules_per_token, C.joules_per_token_high);
    }
    if (W.finite(ch.current_tokens_per_s)) { xs.push(ch.current_tokens_per_s); }
    if (W.finite(ch.current_joules_per_token)) { ys.push(ch.current_joules_per_token); }
    // the knee is part of the range, so it is always on the chart (#11), even when extrapolated
    var knee = knees[canvas.dataset.deployment] || {};
    if (W.finite(ch.knee_tokens_per_s)) { xs.push(ch.knee_tokens_per_s); }
    if (W.finite(knee.joules_per_token)) { ys.push(knee.joules_per_token); }
    xs = xs.filter(function (v) { return W.finite(v) && v > 0; });
    ys = ys.filter(function (v) { return W.finite(v) && v > 0; });
    var x0 = Math.min.apply(null, xs) / 1.15, x1 = Math.max.apply(null, xs) * 1.15;
    var y0 = Math.min.apply(null, ys) / 1.15, y1 = Math.max.apply(null, ys) * 1.15;
    var m = { l: 56, r: 12, t: 10, b: 40 };
    var X = function (v) { return m.l + (Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0)) * (w - m.l - m.r); };
    var Y = function (v) { return h - m.b - (Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0)) * (h - m.t - m.b); };
    var text = W.css("--text"), muted = W.css("--muted"), grid = W.css("--grid");
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    var xt = logTicks(x0, x1), yt = logTicks(y0, y1);
    // a grid line and a tick mark for every tick; labels where they fit, round values first
    var xl = labelled(xt, X, function (v) { return g.measureText(tickLabel(v)).width + 8; });
    xt.forEach(function (v, i) {
      g.strokeStyle = grid; g.beginPath(); g.moveTo(X(v), m.t); g.lineTo(X(v), h - m.b); g.stroke();
      g.strokeStyle = muted; g.beginPath(); g.moveTo(X(v), h - m.b); g.lineTo(X(v), h - m.b + 4); g.stroke();
      if (xl[i]) { g.fillStyle = muted; g.textAlign = "center"; g.fillText(tickLabel(v), X(v), h - m.b + 15); }
    });
    var yl = labelled(yt, Y, function () { return 14; });
    yt.forEach(function (v, i) {
      g.strokeStyle = grid; g.beginPath(); g.moveTo(m.l, Y(v)); g.lineTo(w - m.r, Y(v)); g.stroke();
      g.strokeStyle = muted; g.beginPath(); g.moveTo(m.l - 4, Y(v)); g.lineTo(m.l, Y(v)); g.stroke();
      if (yl[i]) { g.fillStyle = muted; g.textAlign = "right"; g.fillText(tickLabel(v), m.l - 6, Y(v) + 4); }
    });
    g.strokeStyle = muted;  // the axes themselves
    g.beginPath(); g.moveTo(m.l, m.t); g.lineTo(m.l, h - m.b); g.lineTo(w - m.r, h - m.b); g.stroke();
    g.fillStyle = muted; g.textAlign = "center";
    g.fillText("Throughput, " + (ch.x_label || "tokens/s") + " (log)", m.l + (w - m.l - m.r) / 2, h - 6);
    g.save(); g.translate(12, m.t + (h - m.t - m.b) / 2); g.rotate(-Math.PI / 2);
    g.fillText("Energy, " + (ch.y_label || "J/token") + " (log)", 0, 0); g.restore();
    canvas.dataset.xTicks = xt.join(",");
    canvas.dataset.yTicks = yt.join(",");
    canvas.dataset.xRange = x0 + "," + x1;
    canvas.dataset.yRange = y0 + "," + y1;
    if (C) {  // 95 % band, then the fitted curve
      var lo = C.joules_per_token_low, hi = C.joules_per_token_high;
      g.beginPath();
      var started = false;
      C.tokens_per_s.forEach(function (x, i) {
        var v = Math.max(hi[i], y0);
        if (started) { g.lineTo(X(x), Y(v)); } else { g.moveTo(X(x), Y(v)); started = true; }
      });
      for (var i = C.tokens_per_s.length - 1; i >= 0; i--) {
        g.lineTo(X(C.tokens_per_s[i]), Y(Math.max(W.finite(lo[i]) && lo[i] > 0 ? lo[i] : y0, y0)));
      }
      g.closePath();
      g.globalAlpha = 0.18; g.fillStyle = text; g.fill(); g.globalAlpha = 1;
    }
    var t0 = Math.min.apply(null, P.ts_end_s), t1 = Math.max.apply(null, P.ts_end_s);
    P.tokens_per_s.forEach(function (x, i) {
      var y = P.joules_per_token[i];
      if (!(x > 0 && y > 0)) { return; }
      g.fillStyle = viridis(t1 > t0 ? (P.ts_end_s[i] - t0) / (t1 - t0) : 1);
      g.beginPath(); g.arc(X(x), Y(y), 2.2, 0, 2 * Math.PI); g.fill();
    });
    if (C) {
      g.strokeStyle = text; g.lineWidth = 2; g.beginPath();
      C.tokens_per_s.forEach(function (x, i) {
        var v = C.joules_per_token[i];
        if (i) { g.lineTo(X(x), Y(v)); } else { g.moveTo(X(x), Y(v)); }
      });
      g.stroke();
    }
    if (W.finite(ch.knee_tokens_per_s)) {
      var kx = X(ch.knee_tokens_per_s);
      g.setLineDash([5, 4]); g.strokeStyle = muted; g.lineWidth = 1.5;
      g.beginPath(); g.moveTo(kx, m.t); g.lineTo(kx, h - m.b); g.stroke(); g.setLineDash([]);
      if (W.finite(knee.joules_per_token)) {
        var ky = Y(knee.joules_per_token);
        g.fillStyle = text; g.beginPath();
        g.moveTo(kx, ky - 5); g.lineTo(kx + 5, ky); g.lineTo(kx, ky + 5); g.lineTo(kx - 5, ky); g.closePath(); g.fill();
      }
      var kneeText = knee.extrapolated ? "knee (extrapolated)" : "knee";
      var right = kx + 4 + g.measureText(kneeText).width < w - m.r;
      g.fillStyle = muted; g.textAlign = right ? "left" : "right";
      g.fillText(kneeText, kx + (right ? 4 : -4), m.t + 10);
      canvas.dataset.knee = String(ch.knee_tokens_per_s);
    }
    if (W.finite(ch.current_tokens_per_s) && W.finite(ch.current_joules_per_token) &&
        ch.current_tokens_per_s > 0 && ch.current_joules_per_token > 0) {
      var cx = X(ch.current_tokens_per_s), cy = Y(ch.current_joules_per_token);
      g.strokeStyle = "#e4572e"; g.lineWidth = 2.5;
      g.beginPath(); g.arc(cx, cy, 7, 0, 2 * Math.PI); g.stroke();
      g.fillStyle = "#e4572e"; g.textAlign = "left"; g.fillText("now", cx + 9, cy - 6);
    }
    canvas.dataset.points = String(P.tokens_per_s.length);
  }

  // Which model entry the analysis used and where it came from, or why there is none (#10).
  function modelText(d) {
    var mo = d.model || {};
    if (!mo.id) { return "unknown \u2014 " + (mo.reason || "no model name reported"); }
    var how = mo.source + ", matched by " + mo.matched_by;
    if (mo.source === "estimated_from_name") { how += ", \u00b1" + Math.round(100 * mo.uncertainty_fraction) + " %"; }
    return mo.id + " (" + how + ")";
  }

  function curveCard(d, ch) {
    var c = el("article", "card curve-card");
    c.dataset.deployment = d.deployment_id;
    var head = el("div", "card-head");
    head.appendChild(el("h3", "card-title", nameOf(d)));
    var rs = d.right_sizing;
    if (rs && rs.status) { head.appendChild(el("span", "badge badge-" + (rs.flagged || rs.status === "unknown_model" ? "warn" : "idle"), rs.status.replace("_", " "))); }
    if ((d.model || {}).source === "estimated_from_name") { head.appendChild(el("span", "badge badge-warn", "model estimated from name")); }
    c.appendChild(head);
    c.appendChild(el("p", "card-meta", [d.deployment_id, d.gpu_count + "x " + (d.gpu_type || "GPU"),
      "idle overhead " + pct(d.idle_fraction) + " of power"].join(" \u00b7 ")));
    var e = d.efficiency_curve || {};
    if (ch && ch.points && ch.points.tokens_per_s.length) {
      var box = el("div", "curve-box");
      var canvas = el("canvas", "curve");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", "J/token against tokens/s for " + nameOf(d));
      box.appendChild(canvas);
      c.appendChild(box);
      var ts = ch.points.ts_end_s;
      c.appendChild(el("p", "muted small", "Colour: " + W.utc(Math.min.apply(null, ts)) + " (purple) \u2192 " +
        W.utc(Math.max.apply(null, ts)) + " (yellow)"));
      canvas.dataset.deployment = d.deployment_id;
      knees[d.deployment_id] = { joules_per_token: e.knee_joules_per_token, extrapolated: e.knee_extrapolated };
      c._chart = { canvas: canvas, data: ch };
    } else {
      c.appendChild(el("p", "muted", e.note || "No intervals above the ratio threshold in this range."));
    }
    var fr = d.frontier;
    var rows = [
      ["Model", modelText(d)],
      ["Fit", e.model || "-"],
      ["Knee", W.finite(e.knee_tokens_per_s) ? W.sig(e.knee_tokens_per_s, 3) + " tok/s" +
        (e.knee_extrapolated ? " (extrapolated)" : "") + ", " + W.sig(e.knee_joules_per_token, 3) + " J/token" : "-"],
      ["Best seen", W.finite(e.best_joules_per_token) ? W.sig(e.best_joules_per_token, 3) + " J/token at " +
        W.sig(e.best_at_tokens_per_s, 3) + " tok/s" : "-"],
      ["Now", W.finite(e.current_joules_per_token) ? W.sig(e.current_joules_per_token, 3) + " J/token at " +
        W.sig(e.current_tokens_per_s, 3) + " tok/s" : "-"],
      ["Now vs curve", W.finite(e.current_vs_curve) ? (e.current_vs_curve >= 0 ? "+" : "") +
        (100 * e.current_vs_curve).toFixed(1) + " % J/token" : "-"],
      ["Frontier ratio", fr && W.finite(fr.ratio) ? W.num(fr.ratio, 1) + "x (" + fr.label + "; " + fr.spec + ")" : "-"]
    ];
    var list = el("dl", "facts");
    rows.forEach(function (r) { list.appendChild(el("dt", null, r[0])); list.appendChild(el("dd", null, r[1])); });
    c.appendChild(list);
    if (fr && fr.sensitivity) {
      var sens = el("details", "small");
      sens.appendChild(el("summary", null, "Frontier ratio sensitivity"));
      var ul = el("ul", "notes");
      Object.keys(fr.sensitivity).forEach(function (k) {
        var v = fr.sensitivity[k];
        ul.appendChild(el("li", null, k + ": " + W.num(v[0], 1) + "x \u2013 " + W.num(v[1], 1) + "x"));
      });
      sens.appendChild(ul);
      c.appendChild(sens);
    }
    return c;
  }

  function drawAll() {
    document.querySelectorAll("#curves .curve-card").forEach(function (c) {
      if (c._chart) { drawCurve(c._chart.canvas, c._chart.data); }
    });
  }

  function renderCurves(body) {
    var charts = (body.charts && body.charts.efficiency) || {};
    var frag = document.createDocumentFragment();
    body.deployments.forEach(function (d) { frag.appendChild(curveCard(d, charts[d.deployment_id])); });
    document.getElementById("curves").replaceChildren(frag);
    drawAll();
  }

  // -- load ---------------------------------------------------------------------------------
  function render(body) {
    state.body = body;
    var byId = {};
    body.deployments.forEach(function (d) { byId[d.deployment_id] = d; });
    var empty = document.getElementById("eff-empty");
    empty.hidden = body.deployments.length > 0;
    empty.textContent = "No stored intervals yet: the analysis needs history in the store.";
    var r = body.range;
    document.getElementById("eff-range").textContent = r ? "From " + W.utc(r.start_s) + " to " +
      W.utc(r.end_s) + " (" + r.tier + " tier); frontier spec " + body.assumptions.frontier_spec + "." : "";
    renderTiles(body.fleet);
    renderIdlePower(body.idle_power_per_gpu_watts || {});
    renderIdleBars(body);
    renderRightSizing(body, byId);
    renderConsolidation(body, byId);
    renderCurves(body);
  }

  function load() {
    var url = "/api/v2/analysis?range=" + encodeURIComponent(state.range);
    if (state.frontier) { url += "&frontier=" + encodeURIComponent(state.frontier); }
    var source = document.getElementById("eff-source");
    source.href = url;
    source.firstChild.textContent = url;
    return W.fetchJSON(url).then(function (body) {
      W.showError(document.getElementById("eff-error"), null);
      render(body);
    }).catch(function (err) {
      W.showError(document.getElementById("eff-error"), err);
    }).then(function () {
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
    });
  }

  function setRange(range) {
    state.range = range;
    try { localStorage.setItem(RANGE_KEY, range); } catch (e) { /* storage disabled */ }
    document.querySelectorAll("[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.range === range));
    });
    return load();
  }

  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () { setRange(b.dataset.range); });
  });
  document.querySelectorAll("[data-unit]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.unit = b.dataset.unit;
      document.querySelectorAll("[data-unit]").forEach(function (o) {
        o.setAttribute("aria-pressed", String(o === b));
      });
      if (state.body) { renderIdleBars(state.body); }
    });
  });
  var select = document.getElementById("frontier");
  select.addEventListener("change", function () { state.frontier = select.value; load(); });
  document.addEventListener("wattlens:theme", drawAll);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(drawAll, 150);
  });
  W.fetchJSON("/api/v2/catalog/frontiers").then(function (f) {
    f.frontiers.forEach(function (s) {
      var o = el("option", null, s.id + (s.legacy ? " (legacy)" : ""));
      o.value = s.id;
      o.title = s.description;
      select.appendChild(o);
    });
    select.value = f["default"];
    state.frontier = f["default"];
  }).catch(function () { /* the analysis still loads with its default spec */ }).then(function () {
    setRange(state.range);
  });
})();
