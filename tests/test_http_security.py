"""Security of the HTTP transport (issue 14, items 1, 2, 3 and 7), checked with a real HTTP client
against a real uvicorn on 127.0.0.1:

* the /rate routes refuse a foreign Host (421, DNS rebinding) and cross-origin or token-less writes
  (403), as /mcp does, and the page's own writes carry a per-session CSRF token;
* off loopback the token must have real entropy;
* ``?token=`` is accepted only on the first visit of /rate, which sets a cookie and redirects;
* request bodies up to the tools' base64 audio limit pass; larger ones get 413 with a JSON-RPC error
  that says the limit and what to send instead.
"""

from __future__ import annotations

import base64
import contextlib
import io
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest
import soundfile as sf
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from lstmabar.library.config import Config
from lstmabar.server.app import build_server
from lstmabar.server.http import build_http_app
from tests.servers import free_port

STRONG = "Zq3v-8kPp1xYw7Rt2mNc5LbH"  # 24 characters
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _wav_bytes(seconds: float, sr: int = 44_100, channels: int = 2) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    buf = io.BytesIO()
    sf.write(buf, np.stack([tone] * channels, axis=1).astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@contextlib.contextmanager
def running(config: Config, *, token: str | None = None, **kw) -> Iterator[dict]:
    """The HTTP app on a real uvicorn (lifespan on, so /mcp works); yields base URL, port and library."""
    import uvicorn

    server = build_server(config)
    state = server.state
    lib = state.library
    snd = lib.add(_wav_tone(), 16_000, tool="test", prompt="hum")
    port = free_port()
    app = build_http_app(server, host="127.0.0.1", token=token, **kw)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=uv.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not uv.started and time.time() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    try:
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "lib": lib, "sound": snd}
    finally:
        uv.should_exit = True
        th.join(timeout=10)
        state.close()


def _wav_tone() -> np.ndarray:
    t = np.arange(8000) / 16_000
    return (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)[None]


@pytest.fixture()
def loopback(tmp_path: Path):
    with running(Config(output_dir=tmp_path / "out", allowed_dirs=(tmp_path,))) as s:
        yield s


@pytest.fixture()
def with_token(tmp_path: Path):
    with running(Config(output_dir=tmp_path / "out", allowed_dirs=(tmp_path,)), token=STRONG) as s:
        yield s


def _csrf(client: httpx.Client, base: str) -> str:
    """Open the page as a browser would; return the CSRF token it embeds (the cookie is in the client)."""
    page = client.get(f"{base}/rate")
    assert page.status_code == 200, page.text
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


# -- 1. Host and Origin on the rating page ---------------------------------------------------------


def test_rate_reads_refuse_a_foreign_host(loopback):
    base, sid = loopback["base"], loopback["sound"].id
    evil = {"Host": f"rebind.example:{loopback['port']}"}
    for path in ("/rate", "/rate/api/next", f"/rate/audio/{sid}", f"/rate/spectrogram/{sid}"):
        r = httpx.get(base + path, headers=evil)
        assert r.status_code == 421, (path, r.status_code)
        assert "LSTMABAR_ALLOWED_HOSTS" in r.text
    # /mcp keeps refusing it too
    assert httpx.post(base + "/mcp", json=INIT, headers={**MCP_HEADERS, **evil}).status_code == 421
    # the loopback names the browser may use are fine
    for host in (f"127.0.0.1:{loopback['port']}", f"localhost:{loopback['port']}"):
        assert httpx.get(base + "/rate/api/next", headers={"Host": host}).status_code == 200
        assert httpx.get(f"{base}/rate/audio/{sid}", headers={"Host": host}).status_code == 200


def test_rate_refuses_the_same_names_on_another_port(tmp_path: Path):
    config = Config(output_dir=tmp_path / "out")
    server = build_server(config)
    app = build_http_app(server, host="127.0.0.1", port=8765, token=None)

    async def go() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765") as c:
            ok = (await c.get("/rate/api/next")).status_code
            other = (await c.get("/rate/api/next", headers={"Host": "127.0.0.1:9999"})).status_code
            return ok, other

    import anyio

    try:
        assert anyio.run(go) == (200, 421)
    finally:
        server.state.close()


def test_cross_origin_writes_are_refused(loopback):
    base, lib, sid = loopback["base"], loopback["lib"], loopback["sound"].id
    body = f'{{"sound_id": "{sid}", "rating": 5, "request_id": "evil-1"}}'
    # the probe from the issue: a simple (no preflight) text/plain POST from another site
    r = httpx.post(f"{base}/rate/api/feedback", content=body, headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
    assert r.status_code == 403, r.text
    # an HTML form post from another site
    r = httpx.post(f"{base}/rate/api/feedback", data={"sound_id": sid, "rating": "5"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # JSON from another local origin (another port on the same machine) is cross-origin too
    r = httpx.post(f"{base}/rate/api/feedback", content=body, headers={"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"})
    assert r.status_code == 403
    # text/plain without any Origin is not a write the page ever makes
    r = httpx.post(f"{base}/rate/api/feedback", content=body, headers={"Content-Type": "text/plain"})
    assert r.status_code in (403, 415)
    assert lib.feedback_count() == 0


def test_writes_need_the_page_csrf_token(loopback):
    base, lib, sid = loopback["base"], loopback["lib"], loopback["sound"].id
    origin = {"Origin": base}
    body = {"sound_id": sid, "rating": 4, "request_id": "ok-1"}
    # same origin, JSON, but no token: a cross-site page without an Origin header looks like this
    assert httpx.post(f"{base}/rate/api/feedback", json=body, headers=origin).status_code == 403
    with httpx.Client() as browser:
        token = _csrf(browser, base)
        set_cookie = [c for c in browser.cookies.jar if c.name == "lstmabar_csrf"]
        assert set_cookie and set_cookie[0].value == token
        # the header alone (no cookie) or the cookie alone (no header) is not enough
        assert httpx.post(f"{base}/rate/api/feedback", json=body, headers={**origin, "X-CSRF-Token": token}).status_code == 403
        assert browser.post(f"{base}/rate/api/feedback", json=body, headers=origin).status_code == 403
        # a made-up token planted as both cookie and header fails its signature
        forged = httpx.post(f"{base}/rate/api/feedback", json=body,
                            headers={**origin, "X-CSRF-Token": "abc.def", "Cookie": "lstmabar_csrf=abc.def"})
        assert forged.status_code == 403
        assert lib.feedback_count() == 0
        ok = browser.post(f"{base}/rate/api/feedback", json=body, headers={**origin, "X-CSRF-Token": token})
        assert ok.status_code == 201, ok.text
    assert lib.feedback_count() == 1


def test_csrf_cookie_is_strict_and_http_only(loopback):
    r = httpx.get(loopback["base"] + "/rate")
    cookie = r.headers["set-cookie"].lower()
    assert "lstmabar_csrf=" in cookie and "samesite=strict" in cookie and "httponly" in cookie


def test_allowed_hosts_off_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LSTMABAR_ALLOWED_HOSTS", "sounds.example.com, studio.lan:8765")
    config = Config.from_env(output_dir=tmp_path / "out")
    assert config.allowed_hosts == ("sounds.example.com", "studio.lan:8765")
    server = build_server(config)
    app = build_http_app(server, host="0.0.0.0", token=STRONG)
    auth = {"Authorization": f"Bearer {STRONG}"}

    async def go() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sounds.example.com") as c:
            return [
                (await c.get("/rate/api/next", headers=auth)).status_code,
                (await c.get("/rate/api/next", headers={**auth, "Host": "studio.lan:8765"})).status_code,
                (await c.get("/rate/api/next", headers={**auth, "Host": "studio.lan:9000"})).status_code,
                (await c.get("/rate/api/next", headers={**auth, "Host": "rebind.example"})).status_code,
                (await c.post("/mcp", json=INIT, headers={**auth, **MCP_HEADERS, "Host": "rebind.example"})).status_code,
            ]

    import anyio

    try:
        assert anyio.run(go) == [200, 200, 421, 421, 421]
    finally:
        server.state.close()


# -- 2. a token with real entropy off loopback -----------------------------------------------------


@pytest.mark.parametrize("token", ["t", " ", " " * 20, "short-token-123", "has a space in it ok"])
def test_weak_tokens_refused_off_loopback(tmp_path: Path, token: str):
    server = build_server(Config(output_dir=tmp_path / "out"))
    with pytest.raises(SystemExit, match=r"secrets\.token_urlsafe\(32\)"):
        build_http_app(server, host="0.0.0.0", token=token)
    build_http_app(server, host="0.0.0.0", token=STRONG)


def test_cli_refuses_a_weak_token_before_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from lstmabar.server import cli

    monkeypatch.setenv("LSTMABAR_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("LSTMABAR_TOKEN", " ")
    with pytest.raises(SystemExit, match="16 characters"):
        cli.main(["serve", "--http", "--host", "0.0.0.0", "--port", str(free_port())])
    assert not (tmp_path / "out").exists()  # refused before the library was opened


# -- 3. ?token= only on the first visit of /rate ---------------------------------------------------


def test_url_token_only_on_first_visit_of_rate(with_token):
    base, sid = with_token["base"], with_token["sound"].id
    # never on /mcp or the API and audio routes
    assert httpx.post(f"{base}/mcp?token={STRONG}", json=INIT, headers=MCP_HEADERS).status_code == 401
    assert httpx.get(f"{base}/rate/api/next?token={STRONG}").status_code == 401
    assert httpx.get(f"{base}/rate/audio/{sid}?token={STRONG}").status_code == 401
    assert httpx.get(f"{base}/rate?token=wrong-{STRONG}").status_code == 401
    # the page: sets the cookie, then sends the browser to the same URL without the token
    first = httpx.get(f"{base}/rate?rater=ann&token={STRONG}")
    assert first.status_code in (302, 303), first.status_code
    assert first.headers["location"] == "/rate?rater=ann"
    cookie = first.headers["set-cookie"]
    assert "lstmabar_token=" in cookie and "httponly" in cookie.lower()
    with httpx.Client(cookies=first.cookies) as browser:
        assert browser.get(f"{base}/rate?rater=ann").status_code == 200
        assert browser.get(f"{base}/rate/api/next").status_code == 200
        assert browser.get(f"{base}/rate/audio/{sid}").status_code == 200
        # the page's cookie does not open the MCP endpoint: clients send the header
        assert browser.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS).status_code == 401
    assert httpx.post(f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {STRONG}"}).status_code == 200


# -- 7. request body limit agrees with the tools' audio limit --------------------------------------


def _client(base: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(streamable_http_client(base + "/mcp", http_client=create_mcp_http_client(headers=headers)))


@pytest.mark.anyio
async def test_base64_audio_over_4_mib_is_accepted(loopback):
    wav = _wav_bytes(20.0)  # 20 s stereo 44.1 kHz 16-bit: 3.4 MiB, 4.5 MiB as base64
    data = base64.b64encode(wav).decode()
    assert len(data) > 4 * 2**20
    async with _client(loopback["base"]) as client:
        res = await client.call_tool("import_sound", {"audio": {"base64": data}, "name": "long stereo"})
    assert not res.is_error, res.content[0].text
    assert res.structured_content["analysis"]["channels"] == 2


@pytest.mark.anyio
async def test_too_large_body_gets_413_with_a_json_rpc_error(tmp_path: Path):
    from mcp.shared.exceptions import MCPError

    config = Config(output_dir=tmp_path / "out", allowed_dirs=(tmp_path,), max_upload_bytes=2**20)
    with running(config) as s:
        base = s["base"]
        big = base64.b64encode(b"\0" * 3 * 2**20).decode()
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "import_sound", "arguments": {"audio": {"base64": big}}}}
        async with httpx.AsyncClient() as http:
            r = await http.post(base + "/mcp", json=call, headers=MCP_HEADERS)
            assert r.status_code == 413
            assert r.headers["content-type"].startswith("application/json")
            err = r.json()
            assert err["jsonrpc"] == "2.0" and err["error"]["code"] < 0
            msg = err["error"]["message"]
            assert "MiB" in msg and "path" in msg and "URL" in msg and "import_sound" in msg

            async def chunks():  # no Content-Length: counted as it arrives
                for i in range(0, len(big), 2**16):
                    yield big[i : i + 2**16].encode()

            r = await http.post(base + "/mcp", content=chunks(), headers=MCP_HEADERS)
            assert r.status_code == 413 and "import_sound" in r.json()["error"]["message"]
        # the rating API gets the same limit, in its own error shape (after its CSRF check)
        with httpx.Client() as browser:
            token = _csrf(browser, base)
            r = browser.post(base + "/rate/api/feedback", content=big, headers={"Content-Type": "application/json", "X-CSRF-Token": token})
            assert r.status_code == 413 and "MiB" in r.json()["error"]
        # an MCP client shows the message, not a bare "Server returned an error response"
        async with _client(base) as client:
            with pytest.raises(MCPError, match="import_sound"):
                await client.call_tool("import_sound", {"audio": {"base64": big}})
            # just under the tools' own limit still reaches the tool
            wav = _wav_bytes(10.0, sr=22_050, channels=2)  # 0.84 MiB
            assert 0.5 * 2**20 < len(wav) < 2**20
            res = await client.call_tool("import_sound", {"audio": {"base64": base64.b64encode(wav).decode()}})
            assert not res.is_error, res.content[0].text
