// alc-data annotate: one correction query at a time, keyboard first.
// Every text from the workspace (class names, ids) is put in the page with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const PARAMS = new URLSearchParams(location.search);
  const TOKEN = PARAMS.get("token") || "";
  const PREFETCH = PARAMS.get("prefetch") !== "0"; // ?prefetch=0: the benchmark's baseline
  const holder = sessionStorage.getItem("alc-holder") || randomId();
  sessionStorage.setItem("alc-holder", holder);
  const state = {
    session: null, classes: [], keys: new Map(), current: null, shownAt: 0, queue: [], byId: new Map(),
    sent: new Set(), history: [], images: new Map(), refilling: null, waitTimer: null, filtered: [], active: 0,
  };
  // what the browser tests and the benchmark read: key events and the moments queries were drawn
  const probe = (window.__alc = { keys: [], paints: [], ready: false });

  function randomId() {
    const a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function withToken(url) {
    return TOKEN ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN) : url;
  }
  async function api(path, body) {
    const opts = { headers: {} };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (TOKEN) opts.headers["X-Alc-Token"] = TOKEN;
    try {
      const res = await fetch(path, opts);
      let data = {};
      try { data = await res.json(); } catch (e) { data = { error: res.statusText }; }
      return { status: res.status, data };
    } catch (e) {
      return { status: 0, data: { error: "the server does not answer; is `alc-data annotate` still running?" } };
    }
  }
  function annotator() {
    return $("annotator").value.trim() || state.session.annotator;
  }
  function message(text) { $("message").textContent = text || ""; }

  // ---------------------------------------------------------------- images, prefetched
  function loadImage(url) {
    let p = state.images.get(url);
    if (!p) {
      const img = new Image();
      img.src = withToken(url);
      p = img.decode().then(() => img);
      state.images.set(url, p);
      if (state.images.size > 24) state.images.delete(state.images.keys().next().value);
    }
    return p;
  }
  function preload(q) {
    if (!q.ready) {
      q.ready = Promise.all([loadImage(q.image_url), loadImage(q.overlay_url)]).then(([img, ov]) => {
        q.img = img; q.ov = ov; return q;
      });
      q.ready.catch(() => {});
    }
    return q.ready;
  }

  // ---------------------------------------------------------------- drawing
  function star(ctx, x, y, outer, inner) {
    ctx.beginPath();
    for (let i = 0; i < 10; i++) {
      const r = i % 2 ? inner : outer, a = -Math.PI / 2 + i * Math.PI / 5;
      ctx.lineTo(x + r * Math.cos(a), y + r * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = "#ff2bd6";
    ctx.fill();
    ctx.strokeStyle = "#000";
    ctx.stroke();
  }
  function draw(q) {
    const view = $("view").getBoundingClientRect();
    const scale = Math.max(0.05, Math.min((view.width - 16) / q.width, (view.height - 16) / q.height));
    const dpr = window.devicePixelRatio || 1;
    const c = $("image"), ctx = c.getContext("2d");
    c.width = Math.round(q.width * scale * dpr);
    c.height = Math.round(q.height * scale * dpr);
    c.style.width = Math.round(q.width * scale) + "px";
    c.style.height = Math.round(q.height * scale) + "px";
    const s = scale * dpr;
    ctx.setTransform(s, 0, 0, s, 0, 0);
    ctx.imageSmoothingEnabled = scale < 1;
    ctx.drawImage(q.img, 0, 0, q.width, q.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(q.ov, 0, 0, q.width, q.height);
    const [x0, y0, x1, y1] = q.bbox, pad = 3 / scale;
    ctx.lineWidth = 2 / scale;
    ctx.strokeStyle = "#fff";
    ctx.strokeRect(x0 - pad, y0 - pad, x1 - x0 + 1 + 2 * pad, y1 - y0 + 1 + 2 * pad);
    ctx.lineWidth = 1.5 / scale;
    star(ctx, q.rep_col + 0.5, q.rep_row + 0.5, 13 / scale, 5.5 / scale);
    // zoomed crop: about 32 pixels around the representative pixel
    const cc = $("crop"), cx = cc.getContext("2d"), side = Math.max(8, Math.min(32, q.width, q.height));
    const sx = Math.min(Math.max(0, q.rep_col + 0.5 - side / 2), q.width - side);
    const sy = Math.min(Math.max(0, q.rep_row + 0.5 - side / 2), q.height - side);
    const z = cc.width / side;
    cx.setTransform(1, 0, 0, 1, 0, 0);
    cx.clearRect(0, 0, cc.width, cc.height);
    cx.imageSmoothingEnabled = false;
    cx.drawImage(q.img, sx, sy, side, side, 0, 0, cc.width, cc.height);
    cx.globalAlpha = 0.8;
    cx.drawImage(q.ov, sx, sy, side, side, 0, 0, cc.width, cc.height);
    cx.globalAlpha = 1;
    cx.lineWidth = 2;
    cx.strokeStyle = "#ff2bd6";
    cx.strokeRect((q.rep_col - sx) * z, (q.rep_row - sy) * z, z, z);
  }
  function showQuestion(q) {
    const h = $("question");
    h.textContent = "";
    const cls = q.shown_label === null ? null : state.classes[q.shown_label];
    if (!cls) {
      h.append("Which class is this pixel?");
    } else {
      const chip = document.createElement("span");
      chip.className = "chip" + (luma(cls.color) < 110 ? " dark" : "");
      chip.style.backgroundColor = `rgb(${cls.color.map(Number).join(",")})`;
      chip.textContent = cls.name;
      h.append("Is this pixel ", chip, "?");
    }
    $("yes").hidden = !cls;
    for (const li of $("classes").children) li.classList.toggle("shown", cls !== null && cls && Number(li.dataset.index) === cls.index);
  }
  function luma(rgb) { return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]; }

  function show(q) {
    state.current = q;
    q.shown = false;
    preload(q).then(() => {
      if (state.current !== q) return;
      draw(q);
      showQuestion(q);
      document.body.dataset.queryId = String(q.query_id);
      requestAnimationFrame(() => setTimeout(() => {
        if (state.current !== q) return;
        q.shown = true;
        state.shownAt = performance.now();
        document.body.dataset.shownId = String(q.query_id);
        probe.paints.push({ query_id: q.query_id, t: state.shownAt });
      }, 0));
      const next = state.queue[0];
      if (next && PREFETCH) preload(next);
    }, () => message(`image of query ${q.query_id} did not load`));
  }
  function advance() {
    const next = state.queue.shift();
    if (next) show(next);
    else idle();
  }
  function idle() {
    state.current = null;
    document.body.dataset.queryId = "";
    document.body.dataset.shownId = "";
    const p = state.progress;
    if (p && p.answered >= p.total) {
      $("done").hidden = false;
      $("done-title").textContent = `All ${p.total} queries of round ${state.session.round} are answered.`;
      $("done-command").textContent = state.session.correct_command;
      document.body.dataset.done = "1";
    } else {
      $("question").textContent = "Waiting: the remaining queries are being answered by others…";
      clearTimeout(state.waitTimer);
      state.waitTimer = setTimeout(refill, 2000);
    }
  }

  // ---------------------------------------------------------------- progress
  function showProgress(p) {
    if (!p) return;
    state.progress = p;
    const med = p.median_seconds === null ? "–" : p.median_seconds.toFixed(1) + " s";
    $("progress").textContent =
      `${p.answered} / ${p.total} answered · yes ${p.accepted} · corrected ${p.corrected} · ` +
      `can't tell ${p.unanswerable} · median ${med} per query`;
  }

  // ---------------------------------------------------------------- leases
  function refill() {
    if (state.refilling) return state.refilling;
    state.refilling = (async () => {
      const r = await api("api/lease", { holder, annotator: annotator() });
      state.refilling = null;
      if (r.status !== 200) { message(r.data.error); return; }
      showProgress(r.data.progress);
      const keep = new Set();
      for (const raw of r.data.queries) {
        keep.add(raw.query_id);
        if (state.sent.has(raw.query_id) || (state.current && state.current.query_id === raw.query_id)) continue;
        if (!state.queue.some((q) => q.query_id === raw.query_id)) state.queue.push(state.byId.get(raw.query_id) || raw);
        state.byId.set(raw.query_id, state.byId.get(raw.query_id) || raw);
      }
      state.queue = state.queue.filter((q) => keep.has(q.query_id)).sort((a, b) => a.rank - b.rank);
      if (PREFETCH) for (const q of state.queue.slice(0, 2)) preload(q);
      if (!state.current) {
        $("done").hidden = true;
        delete document.body.dataset.done;
        advance();
      }
    })();
    return state.refilling;
  }

  // ---------------------------------------------------------------- answering
  // verdict: "accept" | "unanswerable" (or null with a class index): never a word a class could be called
  async function answer(verdict, classIndex) {
    const q = state.current;
    if (!q || !q.shown) return;
    if (verdict === "accept" && q.shown_label === null) { message("The shown label is void: pick the class."); return; }
    const seconds = (performance.now() - state.shownAt) / 1000;
    state.sent.add(q.query_id);
    message("");
    advance();
    const body = { holder, annotator: annotator(), query_id: q.query_id, seconds: Math.round(seconds * 1000) / 1000 };
    if (classIndex === undefined) body.verdict = verdict; else body.class_index = classIndex;
    // the answer counts as given at once (an undo pressed before the server replies waits for it)
    state.history.push(q.query_id);
    const pending = api("api/answer", body);
    state.pending = pending;
    const r = await pending;
    if (state.pending === pending) state.pending = null;
    if (r.status !== 200) state.history = state.history.filter((id) => id !== q.query_id);
    if (r.status === 200) {
      showProgress(r.data.progress);
    } else if (r.status === 409) {
      message(`${r.data.error}; moving on.`);
    } else {
      state.sent.delete(q.query_id);
      message(r.data.error || `answer not recorded (HTTP ${r.status})`);
      if (state.current) state.queue.unshift(state.current);
      show(q);
    }
    refill();
  }
  async function undo() {
    if (state.pending) await state.pending;  // the answer still on its way is the one to take back
    const qid = state.history.length ? state.history[state.history.length - 1] : null;
    const r = await api("api/undo", { holder, annotator: annotator(), query_id: qid });
    if (r.status !== 200) { message(r.data.error); return; }
    if (qid !== null) state.history.pop();
    const q = state.byId.get(r.data.query.query_id) || r.data.query;
    state.byId.set(q.query_id, q);
    state.sent.delete(q.query_id);
    if (state.current) state.queue.unshift(state.current);
    state.queue = state.queue.filter((x) => x.query_id !== q.query_id);
    $("done").hidden = true;
    delete document.body.dataset.done;
    showProgress(r.data.progress);
    message(`query ${q.query_id}: answer withdrawn; answer it again.`);
    show(q);
  }

  // ---------------------------------------------------------------- classes and filter
  function buildClasses() {
    const ul = $("classes");
    for (const c of state.classes) {
      const li = document.createElement("li");
      li.dataset.index = String(c.index);
      const kbd = document.createElement("kbd");
      kbd.textContent = c.key || " ";
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.backgroundColor = `rgb(${c.color.map(Number).join(",")})`;
      const name = document.createElement("span");
      name.textContent = c.name;
      li.append(kbd, sw, name);
      li.addEventListener("click", () => answer(null, c.index));
      ul.append(li);
      if (c.key) state.keys.set(c.key, c.index);
    }
    applyFilter();
  }
  function applyFilter() {
    const text = $("filter").value.trim().toLowerCase();
    state.filtered = [];
    for (const li of $("classes").children) {
      const c = state.classes[Number(li.dataset.index)];
      const match = !text || c.name.toLowerCase().includes(text);
      li.hidden = !match;
      if (match) state.filtered.push(li);
    }
    state.active = 0;
    markActive();
  }
  function markActive() {
    const text = $("filter").value.trim();
    state.filtered.forEach((li, i) => li.classList.toggle("active", Boolean(text) && i === state.active));
  }
  function onFilterKey(e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = state.filtered.length;
      if (n) state.active = (state.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      markActive();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const li = state.filtered[state.active];
      if (li) {
        $("filter").value = "";
        applyFilter();
        $("filter").blur();
        answer(null, Number(li.dataset.index));
      }
    } else if (e.key === "Escape") {
      $("filter").value = "";
      applyFilter();
      $("filter").blur();
    }
  }

  function onKey(e) {
    if (e.target === $("filter")) { onFilterKey(e); return; }
    if (e.target === $("annotator")) { if (e.key === "Enter" || e.key === "Escape") $("annotator").blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    probe.keys.push({ key: e.key, t: e.timeStamp });
    if (e.key === "Enter" || e.key === "y") { e.preventDefault(); answer("accept"); }
    else if (e.key === "x") answer("unanswerable");
    else if (e.key === "Backspace") { e.preventDefault(); undo(); }
    else if (e.key === "/") { e.preventDefault(); $("filter").focus(); }
    else if (state.keys.has(e.key)) answer(null, state.keys.get(e.key));
  }

  async function start() {
    const r = await api("api/session");
    if (r.status !== 200) { $("question").textContent = r.data.error || "cannot reach the server"; return; }
    state.session = r.data;
    state.classes = r.data.classes;
    $("round").textContent = `round ${r.data.round} · ${r.data.workspace}`;
    $("annotator").value = localStorage.getItem("alc-annotator") || r.data.annotator;
    $("annotator").addEventListener("change", () => localStorage.setItem("alc-annotator", $("annotator").value.trim()));
    $("filter").addEventListener("input", applyFilter);
    $("yes").addEventListener("click", () => answer("accept"));
    $("cant").addEventListener("click", () => answer("unanswerable"));
    $("undo").addEventListener("click", () => undo());
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", () => { if (state.current && state.current.shown) draw(state.current); });
    buildClasses();
    showProgress(r.data.progress);
    await refill();
    probe.ready = true;
  }
  start();
})();
