// wattlens Plan page: tok/W against context (uPlot, log2 x axis, one line per model/GPU plus the
// 1/W reference line) and a fleet comparison (SVG grouped bars, gains as ratios). Both forms
// call the planning API; catalog names fill the selects. Text only, never innerHTML.
(function () {
  "use strict";
  var W = window.WL;
  var el = W.el;
  var root = document.getElementById("plan");
  var state = { tokw: null, fleet: null, plot: null };
  var DEFAULTS = {
    "tokw-model": ["llama-3.1-70b"], "tokw-gpu": ["H100-SXM", "B200"],
    "fleet-model": ["llama-3.1-70b"], "fleet-gpu": ["H100-SXM", "B200"]
  };

  function fillSelect(id, items) {
    var sel = document.getElementById(id);
    var want = DEFAULTS[id] || [];
    items.forEach(function (it) {
      var o = el("option", null, it.label);
      o.value = it.value;
      o.title = it.title || "";
      o.selected = want.indexOf(it.value) >= 0;
      sel.appendChild(o);
    });
  }

  function query(form) {
    var params = new URLSearchParams();
    var multi = {};
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.disabled) { return; }
      if (f.type === "checkbox") {
        if (f.checked) { (multi[f.name] = multi[f.name] || []).push(f.value); }
      } else if (f.multiple) {
        multi[f.name] = Array.prototype.filter.call(f.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else if (f.value !== "") {
        params.set(f.name, f.value);
      }
    });
    Object.keys(multi).forEach(function (k) { params.set(k, multi[k].join(",")); });
    return params.toString();
  }

  // -- tok/W against context ----------------------------------------------------------------
  function ctxLabel(v) { return v >= 1048576 ? (v / 1048576) + "M" : v >= 1024 ? (v / 1024) + "K" : String(v); }

  function drawTokw() {
    var body = state.tokw;
    var box = document.getElementById("tokw-chart");
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    var xs = body.context_tokens;
    var data = [xs];
    var series = [{}];
    body.results.forEach(function (r, i) {
      var byCtx = {};
      r.rows.forEach(function (row) { byCtx[row.context_tokens] = row; });
      data.push(xs.map(function (c) {
        var row = byCtx[c];
        return row && row.fits && row.tokens_per_watt > 0 ? row.tokens_per_watt : null;
      }));
      series.push({
        label: r.model + " on " + r.gpu + " (TP " + r.tp + ", " + r.dtype + ")",
        stroke: W.PALETTE[i % W.PALETTE.length], width: 2, points: { show: true, size: 6 }
      });
    });
    var ref = body.reference_1_over_w;
    if (ref) {
      data.push(ref.tokens_per_watt);
      series.push({ label: "1/W reference", stroke: W.css("--muted"), width: 1.5, dash: [6, 5],
        points: { show: false } });
    }
    var axis = function () {
      return { stroke: W.css("--muted"), grid: { stroke: W.css("--grid") }, ticks: { stroke: W.css("--grid") } };
    };
    state.plot = new uPlot({
      width: Math.max(280, box.clientWidth || 600),
      height: 300,
      scales: { x: { time: false, distr: 3, log: 2 }, y: { distr: 3, log: 10 } },
      series: series,
      axes: [
        Object.assign({ values: function (u, vals) { return vals.map(ctxLabel); } }, axis()),
        Object.assign({ size: 60, label: "tok/W (" + body.convention + ")",
          values: function (u, vals) { return vals.map(function (v) { return W.sig(v, 3); }); } }, axis())
      ],
      legend: { show: true }
    }, data, box);
    box.dataset.series = String(series.length - 1);
  }

  function renderTokw(body) {
    state.tokw = body;
    drawTokw();
    var tbody = document.querySelector("#tokw-table tbody");
    var frag = document.createDocumentFragment();
    body.results.forEach(function (r) {
      r.rows.forEach(function (row) {
        frag.appendChild(W.row([r.model + " / " + r.gpu, ctxLabel(row.context_tokens), String(row.max_concurrency),
          W.num(row.step_time_ms, 2), W.sig(row.tokens_per_sec, 4), W.num(row.power_watts_per_gpu, 0),
          row.fits ? W.sig(row.tokens_per_watt, 3) : "does not fit", W.sig(row.joules_per_token, 3)]));
      });
    });
    tbody.replaceChildren(frag);
    var notes = document.createDocumentFragment();
    var seen = {};
    body.results.forEach(function (r) {
      r.notes.forEach(function (n) { if (!seen[n]) { seen[n] = 1; notes.appendChild(el("li", null, n)); } });
    });
    document.getElementById("tokw-notes").replaceChildren(notes);
    root.dataset.tokw = String(Number(root.dataset.tokw) + 1);
  }

  // -- fleet comparison (SVG grouped bars) -------------------------------------------------
  function drawFleet() {
    var body = state.fleet;
    var box = document.getElementById("fleet-chart");
    var w = Math.max(280, box.clientWidth || 600), h = 300;
    var m = { l: 56, r: 10, t: 22, b: 46 };
    var gpus = body.gpus, tops = body.topologies;
    var max = body.rows.reduce(function (a, r) { return Math.max(a, r.tokens_per_watt || 0); }, 0) || 1;
    var s = W.svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img",
      "aria-label": "Fleet tokens per watt per GPU and topology" });
    var text = W.css("--text"), muted = W.css("--muted"), grid = W.css("--grid");
    var Y = function (v) { return h - m.b - v / max * (h - m.t - m.b); };
    for (var k = 0; k <= 4; k++) {
      var v = max * k / 4;
      s.appendChild(W.svg("line", { x1: m.l, x2: w - m.r, y1: Y(v), y2: Y(v), stroke: grid }));
      s.appendChild(W.svg("text", { x: m.l - 4, y: Y(v) + 4, "text-anchor": "end", fill: muted,
        "font-size": 11 }, W.sig(v, 3)));
    }
    s.appendChild(W.svg("text", { x: 12, y: m.t + (h - m.t - m.b) / 2, fill: muted, "font-size": 11,
      "text-anchor": "middle", transform: "rotate(-90 12 " + (m.t + (h - m.t - m.b) / 2) + ")" },
      "fleet tok/W (" + body.convention + ")"));
    var gw = (w - m.l - m.r) / tops.length;
    var bw = Math.min(48, gw * 0.8 / gpus.length);
    body.rows.forEach(function (r) {
      var gi = tops.indexOf(r.topology), bi = gpus.indexOf(r.gpu);
      var x = m.l + gi * gw + (gw - bw * gpus.length) / 2 + bi * bw;
      var rect = W.svg("rect", { x: x + 1, y: Y(r.tokens_per_watt), width: bw - 2,
        height: Math.max(0, h - m.b - Y(r.tokens_per_watt)), fill: W.PALETTE[bi % W.PALETTE.length] });
      rect.appendChild(W.svg("title", {}, r.gpu + " " + r.topology + ": " + W.sig(r.tokens_per_watt, 3) +
        " tok/W, " + r.instances + " instances, " + W.sig(r.power_kw, 3) + " kW"));
      rect.dataset.gpu = r.gpu;
      rect.dataset.topology = r.topology;
      s.appendChild(rect);
      s.appendChild(W.svg("text", { x: x + bw / 2, y: Y(r.tokens_per_watt) - 4, "text-anchor": "middle",
        fill: text, "font-size": 11 }, W.finite(r.gain_vs_baseline) ? W.num(r.gain_vs_baseline, 2) + "x" : ""));
    });
    tops.forEach(function (t, gi) {
      s.appendChild(W.svg("text", { x: m.l + gi * gw + gw / 2, y: h - m.b + 16, "text-anchor": "middle",
        fill: text, "font-size": 12 }, t));
    });
    gpus.forEach(function (g, bi) {
      var x = m.l + bi * 110;
      s.appendChild(W.svg("rect", { x: x, y: h - 16, width: 10, height: 10, fill: W.PALETTE[bi % W.PALETTE.length] }));
      s.appendChild(W.svg("text", { x: x + 14, y: h - 7, fill: muted, "font-size": 11 }, g));
    });
    box.replaceChildren(s);
    box.dataset.bars = String(body.rows.length);
  }

  function renderFleet(body) {
    state.fleet = body;
    drawFleet();
    var tbody = document.querySelector("#fleet-table tbody");
    var frag = document.createDocumentFragment();
    body.rows.forEach(function (r) {
      frag.appendChild(W.row([r.gpu, r.topology, r.split_tokens === null ? "-" : String(r.split_tokens),
        r.gamma === null ? "-" : W.num(r.gamma, 2), String(r.instances), W.sig(r.power_kw, 4),
        W.sig(r.tokens_per_watt, 3), W.num(r.p99_ttft_ms, 1), W.num(r.gain_vs_baseline, 2) + "x",
        W.num(r.topology_gain, 2) + "x", W.num(r.generation_gain, 2) + "x"]));
    });
    tbody.replaceChildren(frag);
    var notes = document.createDocumentFragment();
    notes.appendChild(el("li", null, "Gains are tok/W ratios to " + body.baseline + "."));
    body.notes.forEach(function (n) { notes.appendChild(el("li", null, n)); });
    document.getElementById("fleet-notes").replaceChildren(notes);
    root.dataset.fleet = String(Number(root.dataset.fleet) + 1);
  }

  function submitter(formId, url, errId, render) {
    var form = document.getElementById(formId);
    var run = function () {
      return W.fetchJSON(url + "?" + query(form)).then(function (body) {
        W.showError(document.getElementById(errId), null);
        render(body);
      }).catch(function (err) {
        W.showError(document.getElementById(errId), err);
        var key = formId === "tokw-form" ? "tokwErrors" : "fleetErrors";
        root.dataset[key] = String(Number(root.dataset[key] || 0) + 1);
      });
    };
    form.addEventListener("submit", function (ev) { ev.preventDefault(); run(); });
    return run;
  }

  var runTokw = submitter("tokw-form", "/api/v2/plan/tokw", "tokw-error", renderTokw);
  var runFleet = submitter("fleet-form", "/api/v2/plan/fleet", "fleet-error", renderFleet);
  document.addEventListener("wattlens:theme", function () {
    if (state.tokw) { drawTokw(); }
    if (state.fleet) { drawFleet(); }
  });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (state.tokw) { drawTokw(); }
      if (state.fleet) { drawFleet(); }
    }, 150);
  });

  Promise.all([W.fetchJSON("/api/v2/catalog/models"), W.fetchJSON("/api/v2/catalog/gpus")]).then(function (res) {
    var models = res[0].models.map(function (m) {
      return { value: m.id, label: m.id, title: m.name + (m.is_moe ? " (MoE)" : "") };
    });
    var gpus = res[1].gpus.map(function (g) { return { value: g.id, label: g.id, title: g.name + " (" + g.generation + ")" }; });
    ["tokw-model", "fleet-model"].forEach(function (id) { fillSelect(id, models); });
    ["tokw-gpu", "fleet-gpu"].forEach(function (id) { fillSelect(id, gpus); });
    document.querySelectorAll(".dtype-select").forEach(function (sel) {
      res[0].dtypes.forEach(function (d) { var o = el("option", null, d); o.value = d; sel.appendChild(o); });
    });
    var trace = document.getElementById("fleet-trace");
    res[0].traces.forEach(function (t) { var o = el("option", null, t); o.value = t; trace.appendChild(o); });
    return Promise.all([runTokw(), runFleet()]);
  }).catch(function (err) {
    W.showError(document.getElementById("tokw-error"), err);
  });
})();
