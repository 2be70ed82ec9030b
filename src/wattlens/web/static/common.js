// Helpers shared by the Efficiency and Plan pages. Labels from the cluster and the catalog are
// untrusted: DOM is built with createElement + textContent only (never innerHTML).
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function finite(v) { return v !== null && v !== undefined && isFinite(v); }
  function num(v, digits) { return finite(v) ? Number(v).toFixed(digits) : "-"; }
  function sig(v, digits) {  // significant digits, grouped: 35.0, 0.876, 12,300
    if (!finite(v)) { return "-"; }
    var p = Number(Number(v).toPrecision(digits || 3));
    return p.toLocaleString("en-US", { maximumFractionDigits: 6 });
  }
  function withUnit(v, digits, unit) {
    var s = num(v, digits);
    return s === "-" ? s : s + " " + unit;
  }
  function fetchJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          var e = new Error(body && body.error ? body.error : "HTTP " + r.status);
          e.status = r.status;
          throw e;
        }
        return body;
      });
    });
  }
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function utc(seconds) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
  }
  function row(cells) {  // a <tr> of text cells
    var tr = el("tr");
    cells.forEach(function (c) { tr.appendChild(el("td", null, c)); });
    return tr;
  }
  function showError(box, err) {
    box.hidden = !err;
    box.textContent = err ? String(err.message || err) : "";
  }
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939"];

  window.WL = {
    el: el, svg: svg, num: num, sig: sig, finite: finite, withUnit: withUnit,
    fetchJSON: fetchJSON, css: css, utc: utc, row: row, showError: showError, PALETTE: PALETTE
  };
})();
