// wattlens dashboard. Every panel reads a documented JSON endpoint; every label from the cluster
// is untrusted, so the DOM is built with createElement + textContent only (never innerHTML).
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  var REFRESH_MS = Math.max(5, Number(root.dataset.refreshS) || 30) * 1000;
  var WARMUP_REFRESH_MS = 2000;
  var RANGE_KEY = "wattlens.range";
  var state = { range: "7d", co2: null, plot: null };
  try {
    var saved = localStorage.getItem(RANGE_KEY);
    if (saved === "24h" || saved === "7d" || saved === "30d") { state.range = saved; }
  } catch (e) { /* storage disabled */ }

  // -- helpers -------------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) { return "-"; }
    return Number(v).toFixed(digits);
  }
  function withUnit(v, digits, unit) {
    var s = num(v, digits);
    return s === "-" ? s : s + " " + unit;
  }
  function grams(g) {
    if (g === null || g === undefined || !isFinite(g)) { return "-"; }
    if (Math.abs(g) >= 1000) { return (g / 1000).toFixed(2) + " kg"; }
    return g.toFixed(1) + " g";
  }
  function axisGrams(g) {  // short tick labels: "20 kg", "2.5 kg", "500 g"
    if (Math.abs(g) >= 1e6) { return +(g / 1e6).toPrecision(3) + " t"; }
    if (Math.abs(g) >= 1000) { return +(g / 1000).toPrecision(3) + " kg"; }
    return +g.toPrecision(3) + " g";
  }
  function grouped(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) { return "-"; }
    return Number(v).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function utc(iso) {
    return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "-";
  }
  function fetchJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body && body.error ? body.error : "HTTP " + r.status); }
        return body;
      });
    });
  }
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  // Output tokens/s is the deployment's generation rate; decode speed is what one request sees
  var DECODE = "Decode speed per request";
  var HINTS = {};
  HINTS[DECODE] = "Output tokens per second that one running request sees (from inter-token " +
    "latency); not the deployment's output rate, which is Output tokens/s";
  function dl(rows) {
    var list = el("dl");
    rows.forEach(function (row) {
      var dt = el("dt", null, row[0]);
      if (HINTS[row[0]]) { dt.title = HINTS[row[0]]; }
      list.appendChild(dt);
      var dd = el("dd", null, row[1]);
      dd.dataset.field = row[2];
      list.appendChild(dd);
    });
    return list;
  }

  // -- phase: what the live part of the page can honestly say --------------------------------
  // /api/v2/fleet `state` (warming_up, stored_only, no_deployments, no_live_data, all_idle, ok)
  // and /api/v2/status
  // `collection` ({mode, failures}) are used when the server sends them; without them the page
  // infers as much as it can and never calls a fleet idle that it has no live data for.
  function phaseOf(f, deps, s) {
    var collection = s.collection || {};
    var anyLive = deps.some(function (d) { return d.live.power_watts !== null; });
    if (!deps.length) { return "no_deployments"; }
    if (collection.mode === "stored_only") { return "stored_only"; }
    if (f.state === "warming_up") { return "warming_up"; }
    if (f.state === "no_live_data") { return "no_live"; }
    if (!anyLive) {
      // no collector cycle has succeeded yet: the first live interval is still coming
      return s.backend.state === "unknown" ? "warming_up" : "no_live";
    }
    if (f.state === "all_idle" || (f.state === undefined && !f.active_deployments)) {
      return "all_idle";
    }
    return "ok";
  }
  var HAS_LIVE = { all_idle: true, ok: true };

  function renderTiles(f, phase) {
    var live = HAS_LIVE[phase] === true;
    var set = function (key, text, unit) {
      var tile = document.querySelector('[data-tile="' + key + '"]');
      tile.replaceChildren(document.createTextNode(text));
      if (unit && text !== "-") { tile.appendChild(el("span", "tile-unit", " " + unit)); }
    };
    var liveOnly = function (text) { return live ? text : "-"; };
    set("total_power_watts", liveOnly(num(f.total_power_watts / 1000, 2)), "kW");
    set("co2_grams_per_hour", liveOnly(num(f.co2_grams_per_hour, 1)), "g");
    set("co2_grams_per_day", liveOnly(num(f.co2_grams_per_day / 1000, 2)), "kg");
    set("active_gpus", liveOnly(f.active_gpus) + " / " + f.gpu_count);
    set("active_models", liveOnly(f.active_models) + " / " + f.deployment_count);
    set("mean_grid_intensity_kg_per_kwh", num(f.mean_grid_intensity_kg_per_kwh, 3), "kg/kWh");
    var win = Math.round(f.live_window_s / 60) + " min";
    var lead = {
      warming_up: "Live tiles appear once the first live interval lands. ",
      no_live: "No interval in the " + win + " live window, so no live figures. ",
      stored_only: "No live collection runs, so there are no live figures. "
    }[phase] || "";
    document.getElementById("tiles-note").textContent = lead + "Live window " + win +
      "; PUE " + f.pue + "; CO\u2082 per day projects the live rate over 24 h. Source: /api/v2/fleet";
  }

  function timeAgo(parent, iso, nowIso, id) {  // "<time>2023-11-14 23:00:00 UTC</time> (60 min ago)"
    var t = el("time", null, utc(iso));
    t.setAttribute("datetime", iso);
    if (id) { t.id = id; }
    parent.appendChild(t);
    var ago = (Date.parse(nowIso) - Date.parse(iso)) / 60000;
    if (isFinite(ago)) { parent.appendChild(document.createTextNode(" (" + Math.max(0, Math.round(ago)) + " min ago)")); }
  }

  function renderFailures(s) {
    var banner = document.getElementById("failures-banner");
    var failures = (s.collection && s.collection.failures) || [];
    banner.hidden = failures.length === 0;
    if (!failures.length) { banner.replaceChildren(); return; }
    var list = el("ul", "failures");
    failures.forEach(function (x) {
      var li = el("li");
      li.dataset.target = x.target;
      li.appendChild(el("code", null, x.target));
      li.appendChild(document.createTextNode(": "));
      li.appendChild(el("span", "banner-error", x.cause));
      if (x.since) {
        li.appendChild(document.createTextNode(", failing since "));
        timeAgo(li, x.since, s.checked_at);
      }
      list.appendChild(li);
    });
    banner.replaceChildren(el("strong", null, failures.length === 1 ?
      "Collection is failing for one target:" : "Collection is failing for " + failures.length + " targets:"), list);
  }

  function renderStatus(s, phase) {
    var banner = document.getElementById("stale-banner");
    banner.replaceChildren();
    var down = s.backend.state === "down";
    var failures = (s.collection && s.collection.failures) || [];
    // warming up: the newest stored row is backfilled history, not a stale live feed;
    // stored only: the mode banner already says where the figures come from
    var quiet = (phase === "warming_up" && !down) || phase === "stored_only";
    if (quiet || (!s.data.stale && !down)) { banner.hidden = true; return; }
    banner.hidden = false;
    if (s.data.last_good_sample_at) {
      banner.appendChild(document.createTextNode(
        s.data.stale ? "Stale data: the last good sample was at " : "Backend error; last good sample at "));
      timeAgo(banner, s.data.last_good_sample_at, s.checked_at, "last-good-sample");
      banner.appendChild(document.createTextNode("."));
    } else {
      banner.appendChild(document.createTextNode("No data yet: waiting for the first sample."));
    }
    if (down && !failures.length) {  // the failures banner names each target and cause
      banner.appendChild(document.createTextNode(" Backend down"));
      if (s.backend.last_error) {
        banner.appendChild(document.createTextNode(": "));
        banner.appendChild(el("span", "banner-error", s.backend.last_error));
      }
      banner.appendChild(document.createTextNode("."));
    }
  }

  function renderMode(s, phase) {
    var banner = document.getElementById("mode-banner");
    banner.hidden = phase !== "stored_only";
    if (banner.hidden) { banner.replaceChildren(); return; }
    banner.replaceChildren(el("strong", null, "Serving stored history only:"),
      document.createTextNode(" no live collection runs, so live tiles stay empty. "));
    if (s.data.last_good_sample_at) {
      banner.appendChild(document.createTextNode("The newest stored interval ends at "));
      timeAgo(banner, s.data.last_good_sample_at, s.checked_at, "newest-stored");
      banner.appendChild(document.createTextNode("."));
    }
  }

  function renderState(f, phase) {
    var banner = document.getElementById("state-banner");
    var win = Math.round(f.live_window_s / 60) + " min";
    var text = {
      warming_up: "Warming up: waiting for the first live interval. Live figures appear within " +
        "a collection interval or two; the history below is already from the store.",
      no_live: "No live data: no deployment reported an interval in the last " + win + ".",
      all_idle: "All deployments are idle: no traffic above the activity threshold in the live window."
    }[phase];
    banner.hidden = !text;
    banner.textContent = text || "";
  }

  // -- deployment cards ----------------------------------------------------------------------
  function frontierText(avg, state) {
    var r = avg.frontier_power_ratio;
    if (state !== "active" || r === null || r === undefined) { return null; }
    // name the spec compared against: the API's frontier_spec, the catalog's default
    var est = "frontier-scale estimate (spec " + (avg.frontier_spec || "default") + ")";
    if (avg.frontier_verdict === "less_energy") {
      return "A " + est + " would draw " + r.toFixed(1) + "x this power for the same tokens.";
    }
    if (avg.frontier_verdict === "more_energy") {
      return "This deployment draws more power than a " + est + " (" + r.toFixed(2) + "x).";
    }
    return "About the same power as a " + est + ".";
  }

  // a deployment without a live interval is "no data" only when the fleet has live data at all
  var BADGE = { warming_up: "warming up", no_live: "no live data", stored_only: "history only" };

  function card(d, phase) {
    var c = el("article", "card");
    c.dataset.deployment = d.deployment;
    var head = el("div", "card-head");
    head.appendChild(el("h3", "card-title", d.model_name || d.workload));
    var quiet = d.state === "no_data" && BADGE[phase];
    var badge = el("span", "badge badge-" + d.state, quiet ? BADGE[phase] : d.state.replace("_", " "));
    badge.dataset.state = d.state;
    head.appendChild(badge);
    c.appendChild(head);
    var hw = d.gpu_count + "x " + (d.gpu_hardware || d.gpu_type || "GPU");
    var region = d.grid_region ? d.grid_region + (d.grid_region_name ? " (" + d.grid_region_name + ")" : "") : "region unknown";
    if (d.grid_region_source === "default") region += " [default region: no rule matched the node]";
    var meta = [d.namespace + "/" + d.workload, hw, d.node || "node unknown",
      region + " " + withUnit(d.carbon_intensity_kg_per_kwh, 3, "kg/kWh")];
    c.appendChild(el("p", "card-meta", meta.join(" \u00b7 ")));
    var secs = el("div", "card-sections");
    var live = el("section");
    live.appendChild(el("h4", null, "Live"));
    var L = d.live;
    live.appendChild(dl([
      ["Power", withUnit(L.power_watts, 1, "W"), "live.power_watts"],
      ["CO\u2082", withUnit(L.co2_grams_per_hour, 1, "g/h"), "live.co2_grams_per_hour"],
      ["CO\u2082/token", withUnit(L.co2_mg_per_token, 3, "mg"), "live.co2_mg_per_token"],
      ["Energy/token", withUnit(L.joules_per_token, 2, "J"), "live.joules_per_token"],
      ["Input tokens/s", withUnit(L.prompt_tokens_per_s, 1, "tok/s"), "live.prompt_tokens_per_s"],
      ["Output tokens/s", withUnit(L.generation_tokens_per_s, 1, "tok/s"), "live.generation_tokens_per_s"]
    ]));
    secs.appendChild(live);
    var avg = el("section");
    avg.appendChild(el("h4", null, "24h avg (active)"));
    var A = d.avg_24h;
    avg.appendChild(dl([
      ["Power", withUnit(A.power_watts, 1, "W"), "avg_24h.power_watts"],
      ["CO\u2082", withUnit(A.co2_grams_per_hour, 1, "g/h"), "avg_24h.co2_grams_per_hour"],
      ["CO\u2082/token", withUnit(A.co2_mg_per_token, 3, "mg"), "avg_24h.co2_mg_per_token"],
      ["Energy/token", withUnit(A.joules_per_token, 2, "J"), "avg_24h.joules_per_token"],
      ["Input tokens/s", withUnit(A.prompt_tokens_per_s, 1, "tok/s"), "avg_24h.prompt_tokens_per_s"],
      ["Output tokens/s", withUnit(A.generation_tokens_per_s, 1, "tok/s"), "avg_24h.generation_tokens_per_s"],
      [DECODE, withUnit(A.decode_tokens_per_s, 1, "tok/s"), "avg_24h.decode_tokens_per_s"]
    ]));
    secs.appendChild(avg);
    var act = el("section");
    act.appendChild(el("h4", null, "Activity"));
    var X = d.activity;
    act.appendChild(dl([
      ["Running", num(X.requests_running, 1), "activity.requests_running"],
      ["Waiting", num(X.requests_waiting, 1), "activity.requests_waiting"],
      ["KV cache", withUnit(X.kv_cache_usage_percent, 1, "%"), "activity.kv_cache_usage_percent"],
      ["GPU util", withUnit(X.gpu_util_percent, 1, "%"), "activity.gpu_util_percent"],
      ["Requests/h", num(X.requests_per_hour, 0), "activity.requests_per_hour"],
      [DECODE, withUnit(X.decode_tokens_per_s, 1, "tok/s"), "activity.decode_tokens_per_s"]
    ]));
    secs.appendChild(act);
    c.appendChild(secs);
    var share = d.tokens_24h.input_token_share_percent;
    var foot = el("p", "card-foot");
    var shareText = el("span", null, share === null ? (d.state === "gpu_only" ?
      "GPU metrics only: no engine (token) metrics for this deployment" : "No token traffic in 24 h") :
      num(share, 0) + "% input / " + num(100 - share, 0) + "% output tokens (24 h)");
    shareText.dataset.field = "tokens_24h.input_token_share_percent";
    foot.appendChild(shareText);
    if (share !== null) {
      var bar = el("div", "share");
      var fill = el("span");
      fill.style.width = Math.max(0, Math.min(100, share)) + "%";
      bar.appendChild(fill);
      foot.appendChild(bar);
    }
    var fr = frontierText(A, d.state);
    if (fr) {
      var frEl = el("div", "frontier", fr);
      frEl.dataset.frontierSpec = A.frontier_spec || "";
      foot.appendChild(frEl);
    }
    c.appendChild(foot);
    return c;
  }

  function renderCards(body, phase) {
    var box = document.getElementById("cards");
    var empty = document.getElementById("cards-empty");
    var frag = document.createDocumentFragment();
    body.deployments.forEach(function (d) { frag.appendChild(card(d, phase)); });
    box.replaceChildren(frag);
    empty.hidden = body.deployments.length > 0;
    empty.textContent = "No deployments yet. The collector has not found GPU or engine series; " +
      "check the backend in the banner above and /api/v2/status.";
  }

  // -- J/token bars (HTML bars: one colour, so no bar is "worst" only relative to the others)
  function renderBars(body) {
    var rows = body.deployments.filter(function (d) { return d.live.joules_per_token !== null; });
    rows.sort(function (a, b) { return a.live.joules_per_token - b.live.joules_per_token; });
    var box = document.getElementById("jpt-bars");
    document.getElementById("jpt-note").textContent = "J per input+output token over the live " +
      "window; only deployments above " + body.min_tokens_per_s_for_ratio + " tokens/s.";
    var max = rows.reduce(function (m, d) { return Math.max(m, d.live.joules_per_token); }, 0);
    var frag = document.createDocumentFragment();
    rows.forEach(function (d) {
      var row = el("div", "bar-row");
      row.dataset.deployment = d.deployment;
      var label = el("span", "bar-label", d.model_name || d.deployment);
      label.title = d.deployment;
      row.appendChild(label);
      var track = el("div", "bar-track");
      var fill = el("div", "bar-fill");
      fill.style.width = (max > 0 ? 100 * d.live.joules_per_token / max : 0) + "%";
      track.appendChild(fill);
      row.appendChild(track);
      row.appendChild(el("span", "bar-value", num(d.live.joules_per_token, 2) + " J"));
      frag.appendChild(row);
    });
    if (!rows.length) { frag.appendChild(el("p", "muted", "No deployment has enough traffic right now.")); }
    box.replaceChildren(frag);
  }

  // -- cumulative CO2 chart (uPlot) ----------------------------------------------------------
  function drawCo2() {
    var body = state.co2;
    var box = document.getElementById("co2-chart");
    // The chart takes its box's width, never more: a scrollbar appearing after the first draw
    // (cards render later) must not leave a canvas wider than the panel (#11 overflow at 400 px).
    var width = Math.floor(box.clientWidth);
    if (state.plot) { state.plot.destroy(); state.plot = null; }
    if (!body.t.length) {
      box.replaceChildren(el("p", "muted chart-empty", "No stored intervals in this range yet."));
      box.dataset.drawn = "0";
      box.dataset.width = String(width);
      return;
    }
    box.replaceChildren();
    if (width <= 0) { return; }  // not laid out yet; the resize observer draws it
    var axis = function () {
      return { stroke: css("--muted"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") } };
    };
    state.plot = new uPlot({
      width: width,
      height: 260,
      scales: { x: { time: true } },
      legend: { show: false },
      cursor: { y: false },
      series: [{}, { label: "CO\u2082 (g)", stroke: css("--accent"), fill: css("--accent-soft"), width: 2 }],
      axes: [axis(), Object.assign({ size: 64, values: function (u, vals) { return vals.map(axisGrams); } }, axis())]
    }, [body.t, body.co2_grams_cumulative], box);
    box.dataset.drawn = String(body.t.length);
    box.dataset.width = String(width);
  }

  function renderCo2(body) {
    state.co2 = body;
    document.getElementById("co2-total").textContent = body.t.length ?
      grams(body.total_co2_grams) + " CO\u2082 in " + body.range : "No history in " + body.range + " yet";
    var list = document.getElementById("co2-frames");
    var frag = document.createDocumentFragment();
    body.reference_frames.forEach(function (f) {
      if (!body.t.length) { return; }
      var li = el("li");
      li.title = f.constant.source + " (" + f.constant.year + ")";
      li.appendChild(el("strong", null, f.value === null ? "-" : "\u2248 " + grouped(f.value, f.value < 10 ? 2 : 0)));
      li.appendChild(document.createTextNode(" " + f.label));
      frag.appendChild(li);
    });
    list.replaceChildren(frag);
    drawCo2();
  }

  function setRange(range) {
    state.range = range;
    try { localStorage.setItem(RANGE_KEY, range); } catch (e) { /* storage disabled */ }
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.range === range));
    });
    var url = "/api/v2/fleet/co2?range=" + encodeURIComponent(range);
    var source = document.getElementById("co2-source");
    source.href = url;
    source.firstChild.textContent = url;
    return fetchJSON(url).then(renderCo2);
  }

  // -- refresh loop --------------------------------------------------------------------------
  function render(s, f, deps) {
    var phase = phaseOf(f, deps.deployments, s);
    root.dataset.phase = phase;
    renderFailures(s);
    renderStatus(s, phase);
    renderMode(s, phase);
    renderState(f, phase);
    renderTiles(f, phase);
    renderCards(deps, phase);
    renderBars(deps);
    return phase;
  }

  function refresh() {
    var started = performance.now();
    var phase = null;
    return Promise.all([
      fetchJSON("/api/v2/status"),
      fetchJSON("/api/v2/fleet"),
      fetchJSON("/api/v2/deployments"),
      setRange(state.range)
    ]).then(function (r) {
      phase = render(r[0], r[1], r[2]);
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
      window.__wattlensDrawnMs = performance.now();
      window.__wattlensRefreshMs = performance.now() - started;
    }).catch(function (err) {
      var banner = document.getElementById("stale-banner");
      banner.hidden = false;
      banner.textContent = "Cannot reach the wattlens API: " + err.message;
    }).then(function () {
      // while warming up, look again soon: the first live interval should show without a wait
      setTimeout(refresh, phase === "warming_up" ? Math.min(REFRESH_MS, WARMUP_REFRESH_MS) : REFRESH_MS);
    });
  }

  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { setRange(b.dataset.range); });
  });
  document.addEventListener("wattlens:theme", function () { if (state.co2) { drawCo2(); } });
  var resizeTimer = null;
  var redrawSoon = function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (state.co2) { drawCo2(); } }, 150);
  };
  window.addEventListener("resize", redrawSoon);
  if (window.ResizeObserver) {  // the box also narrows when a scrollbar appears
    var co2Box = document.getElementById("co2-chart");
    new ResizeObserver(function () {
      if (String(Math.floor(co2Box.clientWidth)) !== co2Box.dataset.width) { redrawSoon(); }
    }).observe(co2Box);
  }
  refresh();
})();
