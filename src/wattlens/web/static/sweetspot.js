// wattlens Plan page, "Sweet spots": the SweetSpot fit (/api/v2/fit/sweetspot) of an uploaded CSV,
// or of a synthetic grid from the physics core (/api/v2/fit/sweetspot/grid), drawn as an SVG
// heatmap of output tokens per joule over (n_in, n_out) with the n_out* ridge, and tables of θ
// and n_out*. Text only, never innerHTML.
(function () {
  "use strict";
  var W = window.WL;
  var root = document.getElementById("sweetspot");
  if (!root) { return; }
  var form = document.getElementById("sweetspot-form");
  var errorBox = document.getElementById("sweetspot-error");
  var DEFAULT_MODEL = "llama-3.1-8b";

  // viridis, 5 stops: dark (few tokens per joule) to bright (many)
  var STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    var x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    var i = Math.min(STOPS.length - 2, Math.floor(x));
    var f = x - i;
    var c = STOPS[i].map(function (v, k) { return Math.round(v + f * (STOPS[i + 1][k] - v)); });
    return "rgb(" + c.join(",") + ")";
  }

  function fillSelect(sel, items, want) {
    items.forEach(function (v) {
      var o = W.el("option", null, v);
      o.value = v;
      o.selected = v === want;
      sel.appendChild(o);
    });
  }

  function drawHeatmap(body) {
    var hm = body.heatmap;
    var box = document.getElementById("sweetspot-chart");
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var ni = hm.n_in.length, no = hm.n_out.length;
    var left = 64, top = 12, cell = Math.max(6, Math.floor(480 / Math.max(ni, no)));
    var w = left + no * cell + 16, h = top + ni * cell + 44;
    var s = W.svg("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", role: "img",
      "aria-label": "output tokens per joule over prompt and output length" });
    s.style.maxWidth = w + "px";  // scales down on phones (CSSOM: allowed by the page's CSP)
    s.style.height = "auto";
    s.style.display = "block";
    var lo = Infinity, hi = -Infinity;
    hm.tokens_per_joule.forEach(function (row) {
      row.forEach(function (v) { if (W.finite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
    });
    var span = Math.log(hi / lo) || 1;
    hm.tokens_per_joule.forEach(function (row, i) {
      row.forEach(function (v, j) {
        var r = W.svg("rect", { x: left + j * cell, y: top + (ni - 1 - i) * cell, width: cell, height: cell,
          fill: W.finite(v) ? colour(Math.log(v / lo) / span) : "transparent" });
        r.appendChild(W.svg("title", {}, "n_in " + hm.n_in[i] + ", n_out " + hm.n_out[j] + ": " +
          W.sig(v, 3) + " tokens/J"));
        s.appendChild(r);
      });
    });
    // the ridge: n_out* per n_in, placed on the log-spaced n_out axis
    var lx = Math.log(hm.n_out[0]), ux = Math.log(hm.n_out[no - 1]);
    var pts = [];
    hm.ridge_n_out_star.forEach(function (v, i) {
      if (!W.finite(v) || v < hm.n_out[0] || v > hm.n_out[no - 1]) { return; }
      var x = left + (Math.log(v) - lx) / (ux - lx) * (no - 1) * cell + cell / 2;
      pts.push(x.toFixed(1) + "," + (top + (ni - 1 - i) * cell + cell / 2).toFixed(1));
    });
    if (pts.length > 1) {
      s.appendChild(W.svg("polyline", { points: pts.join(" "), fill: "none", stroke: "#ffffff",
        "stroke-width": 2, "stroke-dasharray": "6 4", "data-ridge": pts.length }));
    }
    var label = function (x, y, text, anchor) {
      s.appendChild(W.svg("text", { x: x, y: y, "font-size": 11, "text-anchor": anchor || "middle",
        fill: W.css("--muted") || "#666" }, text));
    };
    [0, Math.floor((ni - 1) / 2), ni - 1].forEach(function (i) {
      label(left - 6, top + (ni - 1 - i) * cell + cell / 2 + 4, hm.n_in[i], "end");
    });
    [0, Math.floor((no - 1) / 2), no - 1].forEach(function (j) {
      label(left + j * cell + cell / 2, top + ni * cell + 14, hm.n_out[j]);
    });
    label(left + no * cell / 2, h - 8, "output tokens n_out (dashed: n_out*, the sweet spot)");
    label(12, top + ni * cell / 2, "n_in", "start");
    box.appendChild(s);
    box.setAttribute("data-cells", String(ni * no));
  }

  function exp(v) { return W.finite(v) ? Number(v).toExponential(3) : "-"; }  // J/FLOP: ~1e-12

  function fillTables(body) {
    var tb = document.querySelector("#sweetspot-theta tbody");
    while (tb.firstChild) { tb.removeChild(tb.firstChild); }
    Object.keys(body.theta).forEach(function (k) {
      tb.appendChild(W.row([k, body.theta_features[k], exp(body.theta[k]),
        exp(body.theta_per_unit[k]) + " " + body.theta_per_unit_units[k]]));
    });
    var sb = document.querySelector("#sweetspot-star tbody");
    while (sb.firstChild) { sb.removeChild(sb.firstChild); }
    body.n_out_star.forEach(function (r) {
      sb.appendChild(W.row([String(r.n_in), W.sig(r.n_out_star, 4), W.sig(r.n_out_star_numeric, 4),
        r.in_data_range ? "yes" : "no"]));
    });
    document.getElementById("sweetspot-summary").textContent =
      "MAPE " + W.num(body.mape_percent, 2) + " % (" + body.cv_folds + "-fold cross-validated, " +
      body.points + " points); worst/best efficiency " + W.num(body.worst_best_ratio, 1) + "x";
  }

  function postCsv(blob, name, q) {
    var fd = new FormData();
    fd.append("data", blob, name);
    return fetch("/api/v2/fit/sweetspot?" + q.toString(), { method: "POST", body: fd,
      headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) { throw new Error(b && b.error ? b.error : "HTTP " + r.status); }
        return b;
      });
    });
  }

  function run() {
    var f = form.elements;
    var q = new URLSearchParams({ model: f.model.value || DEFAULT_MODEL, form: f.form.value, cells: "24" });
    var file = f.data.files && f.data.files[0];
    var csv = file ? Promise.resolve(file) : fetch("/api/v2/fit/sweetspot/grid?" + new URLSearchParams({
      model: f.model.value || DEFAULT_MODEL, gpu: f.gpu.value || "H100-SXM", size: "16",
      concurrency: f.concurrency.value || "16", noise: f.noise.value || "0" }).toString())
      .then(function (r) {
        if (!r.ok) { return r.json().then(function (b) { throw new Error(b.error || "HTTP " + r.status); }); }
        return r.blob();
      });
    return csv.then(function (blob) { return postCsv(blob, file ? file.name : "grid.csv", q); })
      .then(function (body) {
        W.showError(errorBox, null);
        drawHeatmap(body);
        fillTables(body);
        root.setAttribute("data-fits", String(Number(root.getAttribute("data-fits") || 0) + 1));
      })
      .catch(function (err) {
        W.showError(errorBox, err);
        root.setAttribute("data-errors", String(Number(root.getAttribute("data-errors") || 0) + 1));
      });
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); run(); });
  Promise.all([W.fetchJSON("/api/v2/catalog/models"), W.fetchJSON("/api/v2/catalog/gpus")]).then(function (res) {
    fillSelect(form.elements.model, res[0].models.map(function (m) { return m.id; }), DEFAULT_MODEL);
    fillSelect(form.elements.gpu, res[1].gpus.map(function (g) { return g.id; }), "H100-SXM");
    return run();
  }).catch(function (err) { W.showError(errorBox, err); });
})();
