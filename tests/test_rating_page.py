"""The /rate page: HTTP routes (auth, audio, idempotent feedback) and an end-to-end run in a real
headless Chromium driven by Playwright: load the page, play, rate, find the rating in the database."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from lstmabar.library.config import Config
from lstmabar.server.app import build_server
from lstmabar.server.http import build_http_app
from lstmabar.server.rating_page import register_rating_routes

TOKEN = "test-token-123"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _tone(freq: float, seconds: float = 0.6, sr: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.4 * np.sin(2 * np.pi * freq * t) * np.minimum(1.0, t * 20)).astype(np.float32)[None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(tmp_path: Path):
    import uvicorn

    config = Config(output_dir=tmp_path / "out", allowed_dirs=(tmp_path,))
    server = build_server(config)
    state = server.state
    register_rating_routes(server, state)
    register_rating_routes(server, state)  # idempotent
    lib = state.library
    a = lib.add(_tone(220), 16_000, tool="test", prompt="soft hum", scores={"cosine:tiny": 0.30})
    b = lib.add(_tone(440), 16_000, tool="test", prompt="soft hum", scores={"cosine:tiny": 0.31})
    port = _free_port()
    app = build_http_app(server, host="127.0.0.1", port=port, token=TOKEN)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    th = threading.Thread(target=uv.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not uv.started and time.time() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    try:
        yield {"base": f"http://127.0.0.1:{port}", "lib": lib, "a": a, "b": b, "state": state}
    finally:
        uv.should_exit = True
        th.join(timeout=10)
        state.close()


def test_routes_need_the_token(served):
    base = served["base"]
    assert httpx.get(f"{base}/rate").status_code == 401
    assert httpx.get(f"{base}/rate/audio/{served['a'].id}").status_code == 401
    r = httpx.post(f"{base}/rate/api/feedback", json={"sound_id": served["a"].id, "rating": 3, "request_id": "x"})
    assert r.status_code == 401
    assert served["lib"].feedback_count() == 0
    first = httpx.get(f"{base}/rate?token={TOKEN}")  # sets the cookie, then drops the token from the URL
    assert first.status_code == 303 and first.headers["location"] == "/rate"
    assert "lstmabar_token" in first.headers.get("set-cookie", "")
    page = httpx.get(f"{base}/rate", cookies=first.cookies)
    assert page.status_code == 200 and "Rate sounds" in page.text


def test_api_next_audio_and_idempotent_feedback(served):
    base, lib, a, b = served["base"], served["lib"], served["a"], served["b"]
    h = {"Authorization": f"Bearer {TOKEN}"}
    nxt = httpx.get(f"{base}/rate/api/next", headers=h).json()
    assert nxt["mode"] == "pair" and {nxt["a"]["id"], nxt["b"]["id"]} == {a.id, b.id}
    assert nxt["basis"] == "score:cosine:tiny" and nxt["unjudged"] == 2 and nxt["upcoming"] == []
    wav = httpx.get(f"{base}/rate/audio/{a.id}", headers=h)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    png = httpx.get(f"{base}/rate/spectrogram/{a.id}", headers=h)
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert httpx.get(f"{base}/rate/audio/snd_nope", headers=h).status_code == 404

    body = {"sound_id": a.id, "preferred_over": b.id, "rating": 4, "request_id": "req-1", "rater_id": "t"}
    r1 = httpx.post(f"{base}/rate/api/feedback", json=body, headers=h)
    r2 = httpx.post(f"{base}/rate/api/feedback", json=body, headers=h)
    assert r1.status_code == 201 and r1.json()["created"] is True
    assert r2.status_code == 200 and r2.json()["created"] is False
    assert r1.json()["feedback_id"] == r2.json()["feedback_id"]
    fbs = lib.feedback()
    assert len(fbs) == 1 and fbs[0].source == "web" and fbs[0].rating == 4 and fbs[0].preferred_over == b.id

    bad = httpx.post(f"{base}/rate/api/feedback", json={"sound_id": a.id, "rating": 9, "request_id": "r9"}, headers=h)
    assert bad.status_code == 400 and "rating" in bad.json()["error"]
    missing = httpx.post(f"{base}/rate/api/feedback", json={"sound_id": "snd_missing", "rating": 3, "request_id": "r10"}, headers=h)
    assert missing.status_code == 404
    noreq = httpx.post(f"{base}/rate/api/feedback", json={"sound_id": a.id, "rating": 3}, headers=h)
    assert noreq.status_code == 400
    assert lib.feedback_count() == 1
    # the compared pair is no longer offered
    assert httpx.get(f"{base}/rate/api/next", headers=h).json()["mode"] == "single"


def test_browser_play_and_rate(served):
    if not CHROMIUM.exists():
        print(f"SKIP REASON: {CHROMIUM} is not installed (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright import sync_api  # a test dependency: installed with the suite, never skipped
    base, lib, a, b = served["base"], served["lib"], served["a"], served["b"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{base}/rate?token={TOKEN}")
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            assert page.url == f"{base}/rate"  # the token left the address bar and history
            assert "soft hum" in page.inner_text("#prompt")
            assert "2 sound(s) never judged" in page.inner_text("#count")
            # both spectrograms load (served through the auth cookie)
            page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)", timeout=15_000)
            shown = page.eval_on_selector_all(".card", "els => els.map(e => e.dataset.sound)")
            assert set(shown) == {a.id, b.id}
            # play the active sound (A) with the keyboard; the audio element must actually advance
            page.keyboard.press("Space")
            page.wait_for_function(
                "document.querySelectorAll('audio')[0].currentTime > 0.05", timeout=15_000
            )
            page.keyboard.press("Space")  # pause
            page.keyboard.press("3")  # 3 stars for A
            page.keyboard.press("ArrowRight")
            page.keyboard.press("5")  # 5 stars for B
            page.keyboard.press("b")  # B is better
            page.keyboard.press("c")
            page.keyboard.type("brighter and clearer")
            page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            page.wait_for_selector("body[data-saved='2']", timeout=15_000)
            # a second Enter on the next item (a single sound, no stars) stores nothing
            page.keyboard.press("Enter")
            page.wait_for_timeout(200)
        finally:
            browser.close()
    fbs = lib.feedback()
    assert len(fbs) == 2, fbs
    pref = next(f for f in fbs if f.preferred_over)
    sid_b, sid_a = shown[1], shown[0]
    assert pref.sound_id == sid_b and pref.preferred_over == sid_a and pref.rating == 5
    assert pref.comment == "brighter and clearer" and pref.source == "web" and pref.request_id
    other = next(f for f in fbs if not f.preferred_over)
    assert other.sound_id == sid_a and other.rating == 3
    assert lib.aggregate(sid_b).wins == 1 and lib.aggregate(sid_a).losses == 1
