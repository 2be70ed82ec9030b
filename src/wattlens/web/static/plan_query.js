// wattlens Plan page, "Energy per query": the per-query Monte Carlo (/api/v2/plan/query) drawn as
// a histogram over log-spaced Wh bins (SVG, one step line per model, the blend filled, its
// median and quartiles marked), with a table of median, IQR, mean and the regression's held-out
// error. Text only, never innerHTML.
(function () {
  "use strict";
  var W = window.WL;
  var root = document.getElementById("query");
  if (!root) { return; }
  var form = document.getElementById("query-form");
  var state = { body: null, modelsFilled: false };

  function params() {
    var p = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name) { return; }
      if (f.multiple) {
        var picked = Array.prototype.filter.call(f.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        if (picked.length) { p.set(f.name, picked.join(",")); }
      } else if (f.value !== "") {
        p.set(f.name, f.value);
      }
    });
    return p.toString();
  }

  function fillModels(models) {
    if (state.modelsFilled) { return; }
    var sel = document.getElementById("query-model");
    models.forEach(function (m) {
      var o = W.el("option", null, m.model);
      o.value = m.model;
      sel.appendChild(o);
    });
    state.modelsFilled = true;
  }

  function draw() {
    var body = state.body;
    var box = document.getElementById("query-chart");
    var h = body.histogram;
    if (!h || !h.edges_wh.length) { box.replaceChildren(); return; }
    var w = Math.max(280, box.clientWidth || 600), ht = 320;
    var m = { l: 56, r: 12, t: 14, b: 76 };
    var edges = h.edges_wh;
    var lx0 = Math.log10(edges[0]), lx1 = Math.log10(edges[edges.length - 1]);
    var X = function (v) { return m.l + (Math.log10(v) - lx0) / (lx1 - lx0) * (w - m.l - m.r); };
    // densities: share of a series' samples per bin, so series of any size compare
    var dens = h.series.map(function (s) {
      return s.counts.map(function (c) { return s.samples ? c / s.samples : 0; });
    });
    var max = dens.reduce(function (a, d) { return Math.max(a, Math.max.apply(null, d)); }, 0) || 1;
    var Y = function (v) { return ht - m.b - v / max * (ht - m.t - m.b); };
    var text = W.css("--text"), muted = W.css("--muted"), grid = W.css("--grid");
    var s = W.svg("svg", { width: w, height: ht, viewBox: "0 0 " + w + " " + ht, role: "img",
      "aria-label": "Distribution of energy per query, Wh (log scale)" });
    for (var k = Math.ceil(lx0); k <= Math.floor(lx1); k++) {
      var v = Math.pow(10, k);
      s.appendChild(W.svg("line", { x1: X(v), x2: X(v), y1: m.t, y2: ht - m.b, stroke: grid }));
      s.appendChild(W.svg("text", { x: X(v), y: ht - m.b + 14, "text-anchor": "middle", fill: muted,
        "font-size": 11 }, W.sig(v, 2)));
    }
    s.appendChild(W.svg("text", { x: m.l + (w - m.l - m.r) / 2, y: ht - m.b + 30, "text-anchor": "middle",
      fill: muted, "font-size": 11 }, "Wh per query (log scale)"));
    s.appendChild(W.svg("text", { x: 12, y: m.t + (ht - m.t - m.b) / 2, fill: muted, "font-size": 11,
      "text-anchor": "middle", transform: "rotate(-90 12 " + (m.t + (ht - m.t - m.b) / 2) + ")" },
      "share of samples per bin"));
    h.series.forEach(function (ser, i) {
      var color = ser.name === "blend" ? text : W.PALETTE[i % W.PALETTE.length];
      var d = "M" + X(edges[0]) + "," + Y(0);
      dens[i].forEach(function (v, j) {
        d += " L" + X(edges[j]) + "," + Y(v) + " L" + X(edges[j + 1]) + "," + Y(v);
      });
      d += " L" + X(edges[edges.length - 1]) + "," + Y(0);
      var path = W.svg("path", { d: d, fill: ser.name === "blend" ? color : "none",
        "fill-opacity": ser.name === "blend" ? 0.15 : 0, stroke: color, "stroke-width": ser.name === "blend" ? 2 : 1.3 });
      path.appendChild(W.svg("title", {}, ser.name + " (" + ser.samples + " samples)"));
      path.dataset.series = ser.name;
      s.appendChild(path);
    });
    var b = body.blend;
    if (b) {
      [["p25", b.p25_wh], ["median", b.median_wh], ["p75", b.p75_wh]].forEach(function (q) {
        if (!(q[1] > edges[0] && q[1] < edges[edges.length - 1])) { return; }
        s.appendChild(W.svg("line", { x1: X(q[1]), x2: X(q[1]), y1: m.t, y2: ht - m.b, stroke: text,
          "stroke-dasharray": q[0] === "median" ? "" : "4 3" }));
        s.appendChild(W.svg("text", { x: X(q[1]) + 3, y: m.t + 10, fill: text, "font-size": 11 },
          q[0] + " " + W.sig(q[1], 3)));
      });
    }
    h.series.forEach(function (ser, i) {
      var x = m.l + (i % 4) * 150, y = ht - 24 + Math.floor(i / 4) * 15;
      var color = ser.name === "blend" ? text : W.PALETTE[i % W.PALETTE.length];
      s.appendChild(W.svg("rect", { x: x, y: y - 9, width: 10, height: 10, fill: color }));
      s.appendChild(W.svg("text", { x: x + 14, y: y, fill: muted, "font-size": 11 }, ser.name));
    });
    box.replaceChildren(s);
    box.dataset.series = String(h.series.length);
  }

  function render(body) {
    state.body = body;
    fillModels(body.models);
    draw();
    var tbody = document.querySelector("#query-table tbody");
    var frag = document.createDocumentFragment();
    body.models.forEach(function (r) {
      var f = r.fit;
      frag.appendChild(W.row([r.model, W.sig(r.node_kw, 3), W.sig(r.median_wh, 3), W.sig(r.p25_wh, 3),
        W.sig(r.p75_wh, 3), W.sig(r.mean_wh, 3), f ? String(f.points) : "-",
        f && W.finite(f.loo_mape_percent) ? W.num(f.loo_mape_percent, 0) + " % (ln RMSE " +
          W.num(f.loo_rmse_log, 3) + ")" : (f && f.beta ? "too few points" : "max throughput")]));
    });
    if (body.blend) {
      var b = body.blend;
      var tr = W.row(["blend: " + b.models.join(", "), "", W.sig(b.median_wh, 3), W.sig(b.p25_wh, 3),
        W.sig(b.p75_wh, 3), W.sig(b.mean_wh, 3), "", "trimmed P5-95, P10-90"]);
      tr.className = "total";
      frag.appendChild(tr);
    }
    if (body.fleet) {
      var fl = body.fleet;
      frag.appendChild(W.row(["fleet " + fl.deployment_id + " (measured)", W.sig(fl.power_kw, 3),
        W.sig(fl.median_wh, 3), W.sig(fl.p25_wh, 3), W.sig(fl.p75_wh, 3), W.sig(fl.mean_wh, 3), "-",
        W.finite(fl.measured_wh_per_request) ? "measured " + W.sig(fl.measured_wh_per_request, 3) +
          " Wh/request (GPU)" : "no request counts"]));
    }
    tbody.replaceChildren(frag);
    root.dataset.runs = String(Number(root.dataset.runs) + 1);
  }

  function run() {
    return W.fetchJSON("/api/v2/plan/query?" + params()).then(function (body) {
      W.showError(document.getElementById("query-error"), null);
      render(body);
    }).catch(function (err) {
      W.showError(document.getElementById("query-error"), err);
      root.dataset.errors = String(Number(root.dataset.errors || 0) + 1);
    });
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); run(); });
  document.addEventListener("wattlens:theme", function () { if (state.body) { draw(); } });
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { if (state.body) { draw(); } }, 150);
  });
  run();
})();
