"""The rating page at /rate: listen, compare two sounds for the same prompt, give 1-5 stars and a
comment, with keyboard shortcuts. Every answer goes through ``SoundLibrary.add_feedback`` (the
rules rate_feedback uses) with a client-chosen request id, so a retried or double-clicked answer is
stored once.

Routes (behind the HTTP server's Gate, server/http.py: allowed Host names; with a token, bearer auth,
where ``GET /rate?token=...`` sets an HttpOnly cookie and redirects; writes must be same-origin JSON and
carry the page's CSRF token, which ``GET /rate`` embeds and sets as a SameSite=Strict cookie):

* ``GET  /rate``                      the page
* ``GET  /rate/api/next?skip=id,id``  the next pair (or single sound) to judge, JSON
* ``GET  /rate/audio/{id}``           the WAV
* ``GET  /rate/spectrogram/{id}``     spectrogram PNG
* ``POST /rate/api/feedback``         one answer: {sound_id, rating?, preferred_over?, comment?, tags?,
                                      rater_id?, request_id} -> {feedback_id, created, aggregate}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from lstmabar.library.errors import ToolError, UnknownSoundError
from lstmabar.models.reward.queue import build_queue, candidate_json
from lstmabar.tools.rate_feedback import Input as FeedbackInput
from lstmabar.tools.rate_feedback import record as record_feedback

from .http import CSRF_COOKIE, PAGE_PATH, csrf_token_valid, new_csrf_token

if TYPE_CHECKING:
    from .state import AppState


def _err(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def next_item(state: "AppState", skip: set[str]) -> dict[str, Any]:
    q = build_queue(state.library, limit=6, exclude=skip)
    if q.pairs:
        p = q.pairs[0]
        item = {"mode": "pair", "prompt": p.a.record.prompt, "a": candidate_json(p.a), "b": candidate_json(p.b), "basis": p.basis}
    elif q.singles:
        item = {"mode": "single", "prompt": q.singles[0].record.prompt, "a": candidate_json(q.singles[0])}
    else:
        item = {"mode": "empty"}
    shown = {item[k]["id"] for k in ("a", "b") if k in item}
    item["upcoming"] = [candidate_json(c) for c in q.singles if c.record.id not in shown][:5]
    item["unjudged"] = q.unjudged
    return item


def register_rating_routes(server: MCPServer, state: "AppState") -> None:
    """Add the /rate routes to ``server`` (idempotent: a second call adds nothing)."""
    if any(getattr(r, "path", None) == "/rate" for r in getattr(server, "_custom_starlette_routes", [])):
        return

    @server.custom_route("/rate", methods=["GET"], include_in_schema=False)
    async def rate_page(request: Request) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE)
        if not csrf_token_valid(csrf):
            csrf = new_csrf_token()
        page = PAGE.replace("__CSRF_TOKEN__", csrf)
        resp = HTMLResponse(page, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path=PAGE_PATH, secure=request.url.scheme == "https")
        return resp

    @server.custom_route("/rate/api/next", methods=["GET"], include_in_schema=False)
    async def rate_next(request: Request) -> Response:
        skip = {s for s in request.query_params.get("skip", "").split(",") if s}
        item = await anyio.to_thread.run_sync(next_item, state, skip)
        item["total_feedback"] = await anyio.to_thread.run_sync(state.library.feedback_count)
        return JSONResponse(item, headers={"cache-control": "no-store"})

    @server.custom_route("/rate/audio/{sound_id}", methods=["GET"], include_in_schema=False)
    async def rate_audio(request: Request) -> Response:
        try:
            path = await anyio.to_thread.run_sync(state.library.wav_path, request.path_params["sound_id"])
        except UnknownSoundError:
            return _err(404, "unknown sound id")
        return FileResponse(path, media_type="audio/wav")

    @server.custom_route("/rate/spectrogram/{sound_id}", methods=["GET"], include_in_schema=False)
    async def rate_spectrogram(request: Request) -> Response:
        try:
            png = await anyio.to_thread.run_sync(state.library.spectrogram, request.path_params["sound_id"])
        except UnknownSoundError:
            return _err(404, "unknown sound id")
        return Response(png, media_type="image/png", headers={"cache-control": "max-age=3600"})

    @server.custom_route("/rate/api/feedback", methods=["POST"], include_in_schema=False)
    async def rate_feedback_post(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            inp = FeedbackInput(**body)
        except ValidationError as exc:
            return _err(400, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        except (ValueError, json.JSONDecodeError) as exc:
            return _err(400, f"send a JSON object: {exc}")
        if not inp.request_id:
            return _err(400, "request_id is required (any unique string per answer; retries reuse it)")

        def store() -> dict[str, Any]:
            return record_feedback(inp, state.library, source="web").model_dump(mode="json")

        try:
            out = await anyio.to_thread.run_sync(store)
        except UnknownSoundError as exc:
            return _err(404, str(exc))
        except ToolError as exc:
            return _err(400, str(exc))
        return JSONResponse(out, status_code=201 if out["created"] else 200)


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lstmabar - rate sounds</title>
<meta name="csrf-token" content="__CSRF_TOKEN__">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#16161d;color:#e8e8ee}
header{padding:12px 20px;background:#23232e;display:flex;gap:20px;align-items:baseline;flex-wrap:wrap}
h1{font-size:18px;margin:0} #prompt{font-size:16px;color:#ffd27a} #count{color:#999;font-size:13px}
main{display:flex;gap:16px;padding:16px;flex-wrap:wrap}
.card{flex:1 1 420px;background:#23232e;border:2px solid transparent;border-radius:8px;padding:12px}
.card.active{border-color:#6aa9ff} .card.preferred{border-color:#5fd38d;box-shadow:0 0 0 2px #5fd38d inset}
.card img{width:100%;border-radius:4px;background:#000;min-height:80px} audio{width:100%;margin:8px 0}
.stars button{font-size:26px;background:none;border:none;color:#555;cursor:pointer;padding:0 2px}
.stars button.on{color:#ffcc33} .meta{font-size:12px;color:#aaa;word-break:break-all}
.prefer{margin-top:8px;padding:6px 12px;border-radius:6px;border:1px solid #5fd38d;background:#1c2b22;color:#bdf5d1;cursor:pointer}
footer{padding:0 16px 16px} textarea{width:100%;box-sizing:border-box;background:#23232e;color:#eee;border:1px solid #444;border-radius:6px;padding:8px}
.bar{display:flex;gap:10px;margin-top:8px;align-items:center} .bar button{padding:8px 16px;border-radius:6px;border:none;cursor:pointer}
#submit{background:#6aa9ff;color:#000} #skip{background:#444;color:#eee} #status{color:#9fd;font-size:14px}
#queue{padding:6px 20px;font-size:12px;color:#aaa} #queue li{display:inline-block;margin-right:14px}
kbd{background:#333;border-radius:3px;padding:0 4px;font-size:12px} .keys{color:#999;font-size:12px;margin-top:8px;line-height:1.8}
</style></head>
<body>
<header><h1>Rate sounds</h1><span id="prompt"></span><span id="count"></span></header>
<aside id="queue" aria-label="queue"></aside>
<main id="cards"></main>
<footer>
<textarea id="comment" rows="2" placeholder="Comment (optional): what is good or wrong about it?"></textarea>
<div class="bar"><button id="submit">Submit (Enter)</button><button id="skip">Skip (N)</button><span id="status" role="status"></span></div>
<div class="keys"><kbd>Space</kbd> play/pause the active sound &nbsp; <kbd>&larr;</kbd>/<kbd>&rarr;</kbd> or <kbd>Tab</kbd> switch A/B &nbsp;
<kbd>1</kbd>-<kbd>5</kbd> stars for the active sound &nbsp; <kbd>A</kbd>/<kbd>B</kbd> prefer A or B &nbsp;
<kbd>C</kbd> comment &nbsp; <kbd>Enter</kbd> submit &nbsp; <kbd>N</kbd> skip</div>
</footer>
<script>
(function(){
"use strict";
const params = new URLSearchParams(location.search);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const rater = params.get("rater") || localStorage.getItem("lstmabar_rater") || ("web-" + Math.random().toString(36).slice(2, 10));
localStorage.setItem("lstmabar_rater", rater);
let item = null, cards = [], active = 0, preferred = null, skipped = [], answerKey = null, busy = false;
const $ = (id) => document.getElementById(id);
function status(t){ $("status").textContent = t; }
function esc(t){ return String(t).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
function render(){
  const main = $("cards"); main.innerHTML = ""; cards = [];
  $("comment").value = ""; preferred = null; active = 0;
  answerKey = "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  if (item.mode === "empty"){ $("prompt").textContent = "Nothing to rate yet: make some sounds first."; return; }
  $("prompt").textContent = item.prompt ? "\u201c" + item.prompt + "\u201d" : "(no prompt)";
  $("count").textContent = item.total_feedback + " answers so far \u00b7 " + item.unjudged + " sound(s) never judged";
  $("queue").innerHTML = item.upcoming.length ? "Up next: <ul style='display:inline;padding:0'>" + item.upcoming.map(u =>
    "<li>" + esc(u.prompt || u.id) + " <span>(" + u.ratings + "\u2605, " + u.comparisons + " cmp)</span></li>").join("") + "</ul>" : "";
  const list = item.mode === "pair" ? [["A", item.a], ["B", item.b]] : [["A", item.a]];
  list.forEach(([label, s], i) => {
    const el = document.createElement("section"); el.className = "card"; el.dataset.sound = s.id; el.dataset.label = label;
    el.innerHTML = '<h2>' + label + '</h2>' +
      '<audio controls preload="auto" src="' + esc("/rate/audio/" + encodeURIComponent(s.id)) + '"></audio>' +
      '<img alt="spectrogram of ' + label + '" src="' + esc("/rate/spectrogram/" + encodeURIComponent(s.id)) + '">' +
      '<div class="stars" role="radiogroup" aria-label="stars for ' + label + '"></div>' +
      '<div class="meta">' + esc(s.id) + ' &middot; ' + esc(s.tool) + ' &middot; ' + s.duration_s + ' s &middot; ' + s.ratings + ' rating(s)</div>' +
      (item.mode === "pair" ? '<button class="prefer">' + label + ' is better (' + label + ')</button>' : '');
    const stars = el.querySelector(".stars");
    for (let k = 1; k <= 5; k++){ const b = document.createElement("button"); b.textContent = "\u2605"; b.title = k + " star(s)"; b.dataset.value = k;
      b.onclick = () => { setStars(i, k); setActive(i); }; stars.appendChild(b); }
    const pb = el.querySelector(".prefer"); if (pb) pb.onclick = () => prefer(i);
    el.onclick = () => setActive(i);
    main.appendChild(el);
    cards.push({el: el, sound: s, stars: null, audio: el.querySelector("audio")});
  });
  setActive(0);
}
function setActive(i){ active = i; cards.forEach((c, j) => c.el.classList.toggle("active", j === i)); }
function setStars(i, k){ const c = cards[i]; if (!c) return; c.stars = k;
  c.el.querySelectorAll(".stars button").forEach(b => b.classList.toggle("on", +b.dataset.value <= k)); status(c.el.dataset.label + ": " + k + " star(s)"); }
function prefer(i){ if (cards.length < 2) return; preferred = i; cards.forEach((c, j) => c.el.classList.toggle("preferred", j === i)); status(cards[i].el.dataset.label + " preferred"); }
function togglePlay(){ const c = cards[active]; if (!c) return; cards.forEach((o, j) => { if (j !== active) o.audio.pause(); });
  if (c.audio.paused) c.audio.play().catch(e => status("cannot play: " + e)); else c.audio.pause(); }
async function post(body){
  const r = await fetch("/rate/api/feedback", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body), credentials: "same-origin"});
  const j = await r.json(); if (!r.ok) throw new Error(j.error || r.status); return j;
}
async function submit(){
  if (busy || !item || item.mode === "empty") return;
  const comment = $("comment").value.trim() || null, answers = [];
  if (preferred !== null){
    const w = cards[preferred], l = cards[1 - preferred];
    answers.push({sound_id: w.sound.id, preferred_over: l.sound.id, rating: w.stars, comment: comment});
    if (l.stars) answers.push({sound_id: l.sound.id, rating: l.stars});
  } else {
    cards.forEach(c => { if (c.stars) answers.push({sound_id: c.sound.id, rating: c.stars, comment: answers.length ? null : comment}); });
  }
  if (!answers.length){ status("Give stars (1-5) or pick the better sound first."); return; }
  busy = true; status("saving\u2026");
  try {
    for (let n = 0; n < answers.length; n++){
      const a = answers[n]; a.rater_id = rater; a.request_id = answerKey + "-" + n;
      Object.keys(a).forEach(k => { if (a[k] === null) delete a[k]; });
      await post(a);
    }
    status("saved " + answers.length + " answer(s)"); document.body.dataset.saved = String((+document.body.dataset.saved || 0) + answers.length);
    await load();
  } catch (e) { status("not saved: " + e.message + " (press Enter to retry)"); }
  finally { busy = false; }
}
async function load(){
  const r = await fetch("/rate/api/next?skip=" + encodeURIComponent(skipped.join(",")), {credentials: "same-origin"});
  item = await r.json(); render(); document.body.dataset.ready = "1";
}
$("submit").onclick = submit;
$("skip").onclick = () => { if (item && item.a) { skipped.push(item.a.id); if (item.b) skipped.push(item.b.id); } load(); };
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "TEXTAREA"){ if (e.key === "Escape") e.target.blur(); else if (e.key === "Enter" && !e.shiftKey){ e.preventDefault(); submit(); } return; }
  const k = e.key;
  if (k >= "1" && k <= "5"){ setStars(active, +k); }
  else if (k === " "){ e.preventDefault(); togglePlay(); }
  else if (k === "ArrowLeft"){ setActive(0); } else if (k === "ArrowRight"){ setActive(Math.min(1, cards.length - 1)); }
  else if (k === "Tab"){ e.preventDefault(); setActive((active + 1) % Math.max(1, cards.length)); }
  else if (k === "a" || k === "A"){ prefer(0); } else if (k === "b" || k === "B"){ prefer(1); }
  else if (k === "c" || k === "C"){ e.preventDefault(); $("comment").focus(); }
  else if (k === "Enter"){ e.preventDefault(); submit(); } else if (k === "n" || k === "N"){ $("skip").click(); }
});
load().catch(e => status("could not load: " + e.message));
})();
</script>
</body></html>
"""
