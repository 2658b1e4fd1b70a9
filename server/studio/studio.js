"use strict";
// lstmabar sound studio: an MCP App view (extension io.modelcontextprotocol/ui). It talks only to its
// host, over postMessage JSON-RPC; the host passes tools/call and resources/read on to lstmabar.

const PROTOCOL_VERSION = "2026-01-26";
const LABELS = "ABCDEFGH";
// The settings of the call that made a sound, carried into the next step's call (its budget, embedder...).
const SYNTH_SETTINGS = ["embedder", "seconds", "method", "population", "max_evaluations", "max_seconds", "patience", "seed", "feedback_weight", "time_budget_s"];
const FX_SETTINGS = ["embedder", "iterations", "generations", "population", "method", "time_budget_s", "seed"];
const STEP_NAMES = { more: "More like this", darker: "Darker", brighter: "Brighter", shorter: "Shorter" };

const bridge = (() => {
  let nextId = 1;
  const pending = new Map();
  const handlers = new Map();
  const post = (msg) => window.parent.postMessage(msg, "*");
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message || "error " + m.error.code));
      else p.resolve(m.result);
      return;
    }
    const handler = handlers.get(m.method);
    if (m.id !== undefined) {
      Promise.resolve(handler ? handler(m.params || {}) : {}).then(
        (result) => post({ jsonrpc: "2.0", id: m.id, result: result || {} }),
        (err) => post({ jsonrpc: "2.0", id: m.id, error: { code: -32000, message: String(err) } }));
    } else if (handler) {
      handler(m.params || {});
    }
  });
  return {
    request(method, params) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post({ jsonrpc: "2.0", id, method, params: params || {} });
      });
    },
    notify(method, params) { post({ jsonrpc: "2.0", method, params: params || {} }); },
    on(method, fn) { handlers.set(method, fn); },
  };
})();

const state = { toolName: null, inputArgs: {}, tool: null, args: {}, cards: [], lastPlayed: null, settings: null, busy: false, log: [], saved: 0, view: randomHex(6) };
const $ = (sel, root) => (root || document).querySelector(sel);

function randomHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
function setStatus(text) { $("#status").textContent = text; }
function textOf(result) { return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join(" "); }

async function callTool(name, args) {
  const result = await bridge.request("tools/call", { name, arguments: args });
  if (!result || result.isError) throw new Error((result && textOf(result)) || name + " failed");
  return result;
}
async function readResource(uri) {
  const r = await bridge.request("resources/read", { uri });
  const c = (r.contents || [])[0];
  if (!c) throw new Error("nothing at " + uri);
  return c;
}

// ------------------------------------------------------------------ which sounds a result holds
function soundsIn(result) {
  const sc = result.structuredContent || {};
  const out = [];
  const seen = new Set();
  const add = (id, extra) => { if (typeof id === "string" && id && !seen.has(id)) { seen.add(id); out.push(Object.assign({ id }, extra)); } };
  if (Array.isArray(sc.pairs) && sc.pairs.length) {  // sounds_to_rate: the pair to judge first
    add(sc.pairs[0].a.sound.id, {});
    add(sc.pairs[0].b.sound.id, {});
    return out;
  }
  const walk = (node, parent) => {
    if (Array.isArray(node)) { node.forEach((n) => walk(n, parent)); return; }
    if (!node || typeof node !== "object") return;
    if (typeof node.uri === "string" && node.uri.startsWith("sound://") && typeof node.id === "string") {
      const p = parent && parent.sound === node ? parent : {};
      add(node.id, { score: typeof p.score === "number" ? p.score : null });
    } else if (typeof node.sound_id === "string" && node.descriptors) {  // describe_sound
      add(node.sound_id, {});
    }
    for (const v of Object.values(node)) walk(v, node);
  };
  walk(sc, null);
  for (const c of result.content || []) {
    if (c.type === "resource_link" && typeof c.uri === "string" && /^sound:\/\/[^/]+$/.test(c.uri)) add(c.uri.slice(8), {});
  }
  return out.slice(0, LABELS.length);
}

// ------------------------------------------------------------------ showing a result
function showResult(result, tool, args, heading) {
  state.tool = tool;
  state.args = args || {};
  const found = soundsIn(result);
  for (const c of state.cards) c.audio.pause();
  $("#cards").replaceChildren();
  state.cards = found.map((s, i) => makeCard(s, i, found.length));
  $("#ab").hidden = state.cards.length < 2;
  $("#request").textContent = heading || describeRequest(tool, state.args);
  if (!state.cards.length) {
    document.body.dataset.state = "empty";
    setStatus(result.isError ? "The tool failed: " + textOf(result) : "This result has no sounds to show.");
    return;
  }
  document.body.dataset.state = "loading";
  setStatus(`Loading ${state.cards.length} sound(s)…`);
  Promise.all(state.cards.map(loadCard)).then(() => {
    document.body.dataset.state = "ready";
    setStatus(state.cards.length > 1 ? "Listen, compare, rate." : "Listen and rate.");
  });
}

function describeRequest(tool, args) {
  const what = args.prompt ? `“${args.prompt}”` : args.audio && args.audio.sound_id ? args.audio.sound_id : "";
  return [tool, what].filter(Boolean).join(": ");
}

function makeCard(sound, i, n) {
  const el = $("#card-template").content.firstElementChild.cloneNode(true);
  const card = { id: sound.id, score: sound.score, label: n > 1 ? LABELS[i] : "", el, meta: null, measured: null, stars: 0,
    audio: $(".audio", el), img: $(".spectrogram", el), noteEl: $(".note", el) };
  el.dataset.sound = sound.id;
  $(".label", el).textContent = card.label;
  $(".sid", el).textContent = sound.id;
  const stars = $(".stars", el);
  for (let s = 1; s <= 5; s++) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "★";
    b.dataset.stars = String(s);
    b.title = `${s} of 5`;
    b.addEventListener("click", () => rate(card, s));
    stars.append(b);
  }
  const prefer = $(".prefer", el);
  prefer.hidden = n < 2;
  prefer.addEventListener("click", () => preferCard(card));
  $(".play", el).addEventListener("click", () => togglePlay(card));
  card.audio.addEventListener("playing", () => { el.classList.add("playing"); $(".play", el).textContent = "❚❚ Pause"; });
  const stopped = () => { el.classList.remove("playing"); $(".play", el).textContent = "▶ Play"; };
  card.audio.addEventListener("pause", stopped);
  card.audio.addEventListener("ended", stopped);
  for (const b of el.querySelectorAll(".next button")) b.addEventListener("click", () => nextStep(b.dataset.step, card));
  $("#cards").append(el);
  paintControls();
  return card;
}

async function loadCard(card) {
  const id = card.id;
  const parts = await Promise.allSettled([
    readResource(`sound://${id}`).then((c) => { card.audio.src = `data:${c.mimeType || "audio/wav"};base64,${c.blob}`; }),
    readResource(`sound://${id}/spectrogram.png`).then((c) => { card.img.src = `data:image/png;base64,${c.blob}`; card.img.alt = `Spectrogram of ${id}`; }),
    readResource(`sound://${id}/meta`).then((c) => { card.meta = JSON.parse(c.text); }),
    callTool("describe_sound", { audio: { sound_id: id }, archetypes: false, spectrogram: false }).then((r) => { card.measured = (r.structuredContent || {}).sound || null; }),
  ]);
  renderFacts(card);
  paintControls();
  const failed = parts.filter((p) => p.status === "rejected");
  if (failed.length) note(card, "Could not load everything: " + failed.map((p) => p.reason.message).join("; "), "error");
}

function fmtHz(hz) { return hz >= 1000 ? `${(hz / 1000).toFixed(2)} kHz` : `${hz.toFixed(0)} Hz`; }
function firstScore(scores) {
  for (const [k, v] of Object.entries(scores || {})) if (typeof v === "number" && k.startsWith("cosine")) return [k, v];
  return null;
}
function paramValue(meta, name) {
  const p = (meta.params || {})[name];
  return typeof p === "number" ? p : p && typeof p.value === "number" ? p.value : null;
}
function isSynth(meta) {
  if (!meta) return false;
  const patch = meta.extra && meta.extra.patch_normalized;
  return (Array.isArray(patch) && patch.length === 78) || paramValue(meta, "keyboard.midi_f0") !== null;
}

function renderFacts(card) {
  const m = card.meta || {};
  const d = card.measured;
  const rows = [];
  $(".tool", card.el).textContent = m.tool || "";
  if (m.prompt) rows.push(["Prompt", m.prompt]);
  const stored = firstScore(m.scores);
  if (card.score !== null && card.score !== undefined) rows.push(["Score", card.score.toFixed(3) + (stored ? ` (${stored[0]})` : "")]);
  else if (stored) rows.push(["Score", `${stored[1].toFixed(3)} (${stored[0]})`]);
  if (d) {
    const desc = d.descriptors || {};
    rows.push(["Pitch", d.note ? `${d.note}${d.f0_hz ? ` (${d.f0_hz.toFixed(1)} Hz)` : ""}` : "no clear pitch"]);
    const centroid = desc.spectrum && desc.spectrum.centroid_hz;
    if (typeof centroid === "number") rows.push(["Brightness", `spectral centroid ${fmtHz(centroid)}`]);
    rows.push(["Length", `${Number(desc.duration_s).toFixed(2)} s`]);
    if (typeof d.loudness_lufs === "number") rows.push(["Loudness", `${d.loudness_lufs.toFixed(1)} LUFS`]);
    if (Array.isArray(d.words) && d.words.length) rows.push(["Sounds", d.words.slice(0, 4).map((w) => w.word).join(", ")]);
  } else if (typeof m.duration_s === "number") {
    rows.push(["Length", `${m.duration_s.toFixed(2)} s (not measured)`]);
  }
  const fb = m.feedback;
  if (fb) {
    const mean = fb.rating_count ? `${fb.mean_rating.toFixed(1)}/5 from ${fb.rating_count}` : "none yet";
    rows.push(["Ratings", mean + (fb.wins || fb.losses ? `; ${fb.wins} win(s), ${fb.losses} loss(es)` : "")]);
  }
  const dl = $(".facts", card.el);
  dl.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

// ------------------------------------------------------------------ listening
function togglePlay(card) {
  if (!card.audio.paused) { card.audio.pause(); return; }
  for (const c of state.cards) if (c !== card) c.audio.pause();
  state.lastPlayed = card;
  card.audio.play().catch((e) => note(card, "Could not play: " + e.message, "error"));
}
function switchSound() {
  const n = state.cards.length;
  if (n < 2) return;
  // the sound playing now, else the one heard last (it may have just ended): switch to the one after it
  let i = state.cards.findIndex((c) => !c.audio.paused);
  if (i < 0) i = state.cards.indexOf(state.lastPlayed);
  const cur = i >= 0 ? state.cards[i].audio : null;
  const t = cur && !cur.ended ? cur.currentTime : 0;
  if (cur) cur.pause();
  const next = state.cards[(i + 1) % n];
  if (Number.isFinite(next.audio.duration)) next.audio.currentTime = Math.min(t, next.audio.duration);
  state.lastPlayed = next;
  next.audio.play().catch(() => {});
}

// ------------------------------------------------------------------ rating
function ratingsKept() { return !state.settings || state.settings.keep_ratings !== false; }
function note(card, text, kind) {
  card.noteEl.textContent = text;
  card.noteEl.className = "note" + (kind ? " " + kind : "");
}
function countSaved(what) {
  state.saved += 1;
  document.body.dataset.saved = String(state.saved);
  remember(what);
}
function remember(what) {
  state.log.push(what);
  const text = "In the lstmabar studio the person " + state.log.slice(-12).join("; ") + ".";
  bridge.request("ui/update-model-context", { content: [{ type: "text", text }] }).catch(() => {});
}
function showAggregate(card, agg) {
  if (!agg || !card.meta) return;
  card.meta.feedback = agg;
  renderFacts(card);
}
function paintStars(card) {
  for (const b of card.el.querySelectorAll(".stars button")) b.classList.toggle("on", Number(b.dataset.stars) <= card.stars);
}
function paintControls() {
  const kept = ratingsKept();
  for (const c of state.cards) {
    for (const b of c.el.querySelectorAll(".stars button, .prefer")) b.disabled = !kept;
    for (const b of c.el.querySelectorAll(".next button")) {
      b.disabled = state.busy || (c.meta !== null && nextCall(b.dataset.step, c) === null);
      b.title = c.meta !== null && nextCall(b.dataset.step, c) === null ? "Only for synth sounds" : "";
    }
  }
  const keep = $("#keep");
  keep.checked = kept;
  keep.disabled = !!state.settings && state.settings.decided_by === "config";
}

async function rate(card, stars) {
  if (!ratingsKept()) return;
  note(card, "Saving…");
  try {
    const r = await callTool("studio_rate", { sound_id: card.id, rating: stars, request_id: `studio-${state.view}-${card.id}-rating-${stars}` });
    card.stars = stars;
    paintStars(card);
    const agg = (r.structuredContent || {}).aggregate || {};
    showAggregate(card, agg);
    note(card, `Saved ${stars}/5` + (agg.mean_rating != null ? ` (mean ${agg.mean_rating.toFixed(1)} from ${agg.rating_count})` : ""), "saved");
    countSaved(`rated ${card.id} ${stars}/5`);
  } catch (e) {
    note(card, e.message, "error");
  }
}

async function preferCard(card) {
  if (!ratingsKept()) return;
  const others = state.cards.filter((c) => c !== card);
  note(card, "Saving…");
  try {
    for (const o of others) {
      const r = await callTool("studio_rate", { sound_id: card.id, preferred_over: o.id, request_id: `studio-${state.view}-${card.id}-over-${o.id}` });
      showAggregate(card, (r.structuredContent || {}).aggregate);
      showAggregate(o, (r.structuredContent || {}).other_aggregate);
    }
    for (const c of state.cards) c.el.classList.toggle("preferred", c === card);
    note(card, `Saved: preferred over ${others.map((o) => o.label || o.id).join(", ")}`, "saved");
    countSaved(`preferred ${card.label} (${card.id}) over ${others.map((o) => `${o.label} (${o.id})`).join(", ")}`);
  } catch (e) {
    note(card, e.message, "error");
  }
}

// ------------------------------------------------------------------ next steps
function pick(obj, keys) {
  const out = {};
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) out[k] = obj[k];
  return out;
}
function nextCall(step, card) {
  const m = card.meta || {};
  if (isSynth(m)) {
    const args = Object.assign(pick(state.tool === "synthesize_from_text" ? state.args : {}, SYNTH_SETTINGS), { start_from: card.id, k: 2 });
    if (step === "more") Object.assign(args, { prompt: m.prompt || "the same sound", spread: 0.05, keep: ["pitch", "duration"] });
    else if (step === "shorter") {
      const held = paramValue(m, "keyboard.duration");
      Object.assign(args, { prompt: m.prompt || "short", keep: ["pitch"], note_seconds: held ? Math.max(0.01, Math.round(held * 500) / 1000) : 0.25 });
    } else Object.assign(args, { prompt: step, keep: ["pitch", "duration"] });
    return ["synthesize_from_text", args];
  }
  if (step === "darker" || step === "brighter") {
    return ["optimize_fx", Object.assign(pick(state.tool === "optimize_fx" ? state.args : {}, FX_SETTINGS), { audio: { sound_id: card.id }, prompt: step })];
  }
  if (step === "more") return ["match_sound", { audio: { sound_id: card.id } }];
  return null;
}

async function nextStep(step, card) {
  const call = nextCall(step, card);
  if (!call || state.busy) return;
  state.busy = true;
  document.body.dataset.busy = "1";
  paintControls();
  setStatus(`${STEP_NAMES[step]} from ${card.label || card.id}: ${call[0]} is working (up to its time budget)…`);
  try {
    const result = await callTool(call[0], call[1]);
    const made = soundsIn(result).map((s) => s.id);
    remember(`asked for “${STEP_NAMES[step].toLowerCase()}” from ${card.id} (${call[0]}), which made ${made.join(", ") || "nothing"}`);
    state.busy = false;
    showResult(result, call[0], call[1], `${STEP_NAMES[step]} from ${card.id} (${call[0]})`);
  } catch (e) {
    setStatus(`${STEP_NAMES[step]} failed: ${e.message}`);
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
    paintControls();
  }
}

// ------------------------------------------------------------------ settings (whether ratings are kept)
const CHAT_NOTE = " This view also tells the assistant in this chat what you rate and ask for, so it can follow up.";
function applySettings(s) {
  state.settings = s;
  if (s && s.what_is_stored) $("#privacy").textContent = s.what_is_stored + CHAT_NOTE + (s.keep_ratings === false ? " Ratings are off: nothing you click here is stored." : "");
  paintControls();
}
async function loadSettings() {
  try { applySettings((await callTool("studio_settings", {})).structuredContent); } catch (e) { /* an older server: keep the page's text */ }
}
$("#keep").addEventListener("change", async (ev) => {
  try { applySettings((await callTool("studio_settings", { keep_ratings: ev.target.checked })).structuredContent); }
  catch (e) { setStatus(e.message); paintControls(); }
});
$("#switch").addEventListener("click", switchSound);

// ------------------------------------------------------------------ host lifecycle
function applyHostContext(hc) {
  const vars = (hc.styles && hc.styles.variables) || {};
  for (const [k, v] of Object.entries(vars)) if (v) document.documentElement.style.setProperty(k, v);
  if (hc.theme) document.documentElement.style.colorScheme = hc.theme;
}
bridge.on("ui/notifications/tool-input", (p) => { state.inputArgs = p.arguments || {}; });
bridge.on("ui/notifications/tool-result", (p) => showResult(p, state.toolName, state.inputArgs));
bridge.on("ui/notifications/tool-cancelled", (p) => setStatus("The tool call was cancelled" + (p.reason ? ": " + p.reason : ".")));
bridge.on("ui/notifications/host-context-changed", applyHostContext);
bridge.on("ui/resource-teardown", () => { for (const c of state.cards) c.audio.pause(); return {}; });
bridge.on("ping", () => ({}));

new ResizeObserver(() => {
  const r = document.documentElement.getBoundingClientRect();
  bridge.notify("ui/notifications/size-changed", { width: Math.ceil(r.width), height: Math.ceil(r.height) });
}).observe(document.documentElement);

(async () => {
  try {
    const init = await bridge.request("ui/initialize", {
      appInfo: { name: "lstmabar-studio", version: "0.1.0" },
      appCapabilities: { availableDisplayModes: ["inline"] },
      protocolVersion: PROTOCOL_VERSION,
    });
    const hc = (init && init.hostContext) || {};
    state.toolName = hc.toolInfo && hc.toolInfo.tool ? hc.toolInfo.tool.name : null;
    applyHostContext(hc);
  } catch (e) {
    setStatus("Could not connect to the host: " + e.message);
    return;
  }
  bridge.notify("ui/notifications/initialized", {});
  loadSettings();
})();
