// vidseg live page: streams, a stacked-area chart of cluster shares, the palette and
// the live controls.  Plain JavaScript, no external resources.
"use strict";

(() => {
  const WINDOW_S = 60;          // the chart's span
  const REDRAW_MS = 250;        // chart and numbers refresh at most this often
  const token = new URLSearchParams(location.search).get("token");
  const withToken = (path, params = {}) => {
    const q = new URLSearchParams(params);
    if (token) q.set("token", token);
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  };
  const $ = (id) => document.getElementById(id);

  const samples = [];           // {t, shares[], colors[]}
  let latest = null;            // the newest statistics record
  let dirty = false;
  let lastDraw = 0;
  let connected = false;

  // -- streams: reconnect after an error (server restart, network) ------------------------
  function attachStream(img, path) {
    const load = () => { img.src = withToken(path, { t: Date.now() }); };
    img.addEventListener("error", () => setTimeout(load, 2000));
    load();
  }
  attachStream($("original"), "original.mjpg");
  attachStream($("segmented"), "stream.mjpg");
  $("snapshot").href = withToken("snapshot.jpg");

  // -- statistics: one server-sent event per frame ---------------------------------------
  const events = new EventSource(withToken("events"));
  events.onopen = () => { connected = true; };
  events.onerror = () => { connected = false; setStatus("disconnected", "bad"); };
  events.onmessage = (msg) => {
    const rec = JSON.parse(msg.data);
    latest = rec;
    const now = performance.now() / 1000;
    samples.push({
      t: now,
      shares: rec.clusters.map((c) => c.area_share),
      colors: rec.clusters.map((c) => c.color_hex),
    });
    while (samples.length && samples[0].t < now - WINDOW_S) samples.shift();
    dirty = true;
  };

  function tick(ts) {
    if (dirty && ts - lastDraw >= REDRAW_MS) {
      dirty = false;
      lastDraw = ts;
      if (latest) showStats(latest);
      drawChart();
    }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);

  function showStats(rec) {
    $("fps").textContent = rec.fps.toFixed(1);
    $("latency").textContent = rec.latency_ms == null ? "–" : `${Math.round(rec.latency_ms)} ms`;
    $("dropped").textContent = rec.dropped;
    $("frame").textContent = rec.frame;
    $("k-readout").textContent = rec.n_clusters;
    if (rec.state && rec.state.n_clusters !== undefined) showState(rec.state);
    showPalette(rec.clusters);
  }

  function showState(state) {
    const k = $("k");
    if (document.activeElement !== k) k.value = state.n_clusters;
    $("view").value = state.view;
    $("view-name").textContent = state.view;
    const pause = $("pause");
    pause.textContent = state.paused ? "Resume" : "Pause";
    pause.classList.toggle("paused", state.paused);
  }

  function showPalette(clusters) {
    const list = $("palette");
    const rows = [...clusters].sort((a, b) => b.area_share - a.area_share);
    list.replaceChildren(...rows.map((c) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = c.color_hex;
      sw.title = c.color_hex;
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = `#${c.cluster}`;
      const bar = document.createElement("div");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = `${(100 * c.area_share).toFixed(1)}%`;
      fill.style.background = c.color_hex;
      bar.append(fill);
      const share = document.createElement("span");
      share.className = "share";
      share.textContent = `${(100 * c.area_share).toFixed(1)}%`;
      li.append(sw, id, bar, share);
      return li;
    }));
    $("palette-note").textContent = `· ${clusters.length} clusters`;
  }

  // -- the chart: stacked areas over the last minute, in the clusters' colours ------------
  function drawChart() {
    const canvas = $("chart");
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const left = 36, right = 8, top = 6, bottom = 20;
    const w = cssW - left - right, h = cssH - top - bottom;
    const now = performance.now() / 1000;
    const x = (t) => left + w * (1 - (now - t) / WINDOW_S);
    const y = (v) => top + h * (1 - v);

    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#8b95a3";
    ctx.strokeStyle = "#262c35";
    ctx.lineWidth = 1;
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      ctx.beginPath(); ctx.moveTo(left, y(v) + 0.5); ctx.lineTo(left + w, y(v) + 0.5); ctx.stroke();
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(`${v * 100}%`, left - 4, y(v));
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const s of [60, 45, 30, 15, 0]) {
      ctx.fillText(s === 0 ? "now" : `−${s} s`, Math.min(Math.max(x(now - s), left + 12), left + w - 12), top + h + 4);
    }
    if (samples.length < 2) return;

    // At most one sample per pixel column.
    const step = Math.max(1, Math.floor(samples.length / w));
    const pts = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
    const k = Math.max(...pts.map((p) => p.shares.length));
    const colors = samples[samples.length - 1].colors;
    const base = new Float64Array(pts.length);
    for (let j = 0; j < k; j++) {
      const topv = pts.map((p, i) => base[i] + (p.shares[j] || 0));
      ctx.beginPath();
      pts.forEach((p, i) => { const X = x(p.t), Y = y(topv[i]); i ? ctx.lineTo(X, Y) : ctx.moveTo(X, Y); });
      for (let i = pts.length - 1; i >= 0; i--) ctx.lineTo(x(pts[i].t), y(base[i]));
      ctx.closePath();
      ctx.fillStyle = colors[j] || pts[pts.length - 1].colors[j] || "#555";
      ctx.fill();
      ctx.strokeStyle = "rgba(15, 18, 22, 0.6)";  // keeps neighbouring dark clusters apart
      ctx.stroke();
      topv.forEach((v, i) => { base[i] = v; });
    }
  }
  window.addEventListener("resize", () => { dirty = true; });

  // -- controls: POST /control (JSON), the answer carries the new state ------------------
  async function control(body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const msg = $("message");
    try {
      const res = await fetch("control", { method: "POST", headers, body: JSON.stringify(body) });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error || res.statusText);
      showState(data.state);
      msg.textContent = data.applied ? "" : "requested; applies with the next frame";
      msg.classList.remove("error");
    } catch (err) {
      msg.textContent = String(err.message || err);
      msg.classList.add("error");
    }
  }
  $("k-minus").addEventListener("click", () => control({ delta: -1 }));
  $("k-plus").addEventListener("click", () => control({ delta: 1 }));
  $("k").addEventListener("change", (e) => control({ n_clusters: Number(e.target.value) }));
  $("view").addEventListener("change", (e) => control({ view: e.target.value }));
  $("pause").addEventListener("click", () => control({ action: "toggle_pause" }));
  $("reseed").addEventListener("click", () => control({ action: "reseed" }));

  // -- health: the status pill ----------------------------------------------------------
  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = `pill pill-${kind}`;
  }
  async function poll() {
    try {
      const res = await fetch(withToken("healthz"));
      const h = await res.json();
      const kind = { ok: "ok", paused: "wait", starting: "wait", ended: "wait" }[h.status] || "bad";
      setStatus(h.status === "ok" ? "live" : h.status, kind);
    } catch (err) {
      setStatus("disconnected", "bad");
    }
  }
  poll();
  setInterval(poll, 2000);
  fetch(withToken("stats")).then((r) => r.json()).then((rec) => {
    if (rec.state) showState(rec.state);
  }).catch(() => {});
})();
