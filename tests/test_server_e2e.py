"""End to end: ``lstmabar serve`` as a subprocess, over stdio and over HTTP, with and without a token."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import httpx
import numpy as np
import pytest
import soundfile as sf
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from lstmabar.server.http import build_http_app
from tests.servers import lstmabar_http, postgres_server

pytestmark = pytest.mark.anyio


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"LSTMABAR_OUTPUT_DIR": str(tmp_path / "lib"), "LSTMABAR_ALLOWED_DIRS": str(tmp_path), **extra}


def tone_file(tmp_path: Path) -> Path:
    p = tmp_path / "tone.wav"
    t = np.arange(22_050) / 22_050
    sf.write(p, (0.3 * np.sin(2 * np.pi * 261.6 * t)).astype(np.float32), 22_050)
    return p


def http_client(url: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return Client(streamable_http_client(url + "/mcp", http_client=create_mcp_http_client(headers=headers)))


async def test_stdio_subprocess(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "lstmabar.server.cli", "serve"], env={**os.environ, **env_for(tmp_path)}
    )
    async with Client(params, read_timeout_seconds=120) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"import_sound", "list_sounds", "rate_feedback"} <= names
        res = await client.call_tool("import_sound", {"audio": {"path": str(tone_file(tmp_path))}})
        assert not res.is_error, res.content[0].text
        sid = res.structured_content["sound"]["id"]
        rated = await client.call_tool("rate_feedback", {"sound_id": sid, "rating": 5})
        assert rated.structured_content["aggregate"]["mean_rating"] == 5.0
    lib = SoundLibrary(Config(output_dir=tmp_path / "lib"))
    assert lib.count() == 1 and lib.feedback_count() == 1
    lib.close()


async def test_http_with_and_without_token(tmp_path: Path) -> None:
    with lstmabar_http(env_for(tmp_path, LSTMABAR_TOKEN="s3cret")) as base:
        r = httpx.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code == 401
        r = httpx.post(base + "/mcp", json={}, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        with pytest.raises(Exception):
            async with http_client(base) as client:
                await client.list_tools()
        async with http_client(base, "s3cret") as client:
            res = await client.call_tool("import_sound", {"audio": {"path": str(tone_file(tmp_path))}})
            assert not res.is_error, res.content[0].text
            assert res.structured_content["analysis"]["sample_rate"] == 22_050


async def test_http_loopback_without_token(tmp_path: Path) -> None:
    with lstmabar_http(env_for(tmp_path)) as base:
        async with http_client(base) as client:
            assert "rate_feedback" in {t.name for t in (await client.list_tools()).tools}


def test_non_loopback_requires_token(tmp_path: Path) -> None:
    from lstmabar.server.app import build_server

    server = build_server(Config(output_dir=tmp_path / "lib"))
    with pytest.raises(SystemExit, match="without a token"):
        build_http_app(server, host="0.0.0.0", token=None)
    with pytest.raises(SystemExit, match="weak token"):  # more in tests/test_http_security.py
        build_http_app(server, host="0.0.0.0", token="t")
    build_http_app(server, host="0.0.0.0", token="a-long-random-token-0123456789")  # fine with a real token


async def _rate_concurrently(base: str, sound_ids: list[str], clients: int = 20, per_client: int = 10) -> None:
    async def one_client(i: int) -> None:
        async with http_client(base) as client:
            for j in range(per_client):
                res = await client.call_tool(
                    "rate_feedback",
                    {"sound_id": sound_ids[(i + j) % len(sound_ids)], "rating": 1 + (i * j) % 5, "request_id": f"c{i}-r{j}", "rater_id": f"rater-{i}"},
                )
                assert not res.is_error, res.content[0].text
                if j == 0:  # a retried request must not count twice
                    again = await client.call_tool(
                        "rate_feedback", {"sound_id": sound_ids[i % len(sound_ids)], "rating": 1, "request_id": f"c{i}-r0"}
                    )
                    assert again.structured_content["created"] is False

    async with anyio.create_task_group() as tg:
        for i in range(clients):
            tg.start_soon(one_client, i)


def _seed_sounds(config: Config, n: int = 4) -> list[str]:
    lib = SoundLibrary(config)
    t = np.arange(4800) / 48_000
    ids = [lib.add((0.2 * np.sin(2 * np.pi * (200 + 50 * k) * t)).astype(np.float32), 48_000, tool="test").id for k in range(n)]
    lib.close()
    return ids


def _stored(config: Config) -> tuple[int, int]:
    lib = SoundLibrary(config)
    fbs = lib.feedback()
    lib.close()
    return len(fbs), len({f.request_id for f in fbs})


@pytest.mark.slow
async def test_200_concurrent_ratings_sqlite(tmp_path: Path) -> None:
    config = Config(output_dir=tmp_path / "lib")
    ids = _seed_sounds(config)
    with lstmabar_http(env_for(tmp_path)) as base:
        await _rate_concurrently(base, ids)
    assert _stored(config) == (200, 200)


@pytest.mark.slow
@pytest.mark.postgres
async def test_200_concurrent_ratings_postgres(tmp_path: Path) -> None:
    try:
        pg = postgres_server()
        url = pg.__enter__()
    except (RuntimeError, OSError) as exc:
        print(f"SKIP reason: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        config = Config(output_dir=tmp_path / "lib", database_url=url)
        ids = _seed_sounds(config)
        with lstmabar_http(env_for(tmp_path, LSTMABAR_DATABASE_URL=url)) as base:
            await _rate_concurrently(base, ids)
        assert _stored(config) == (200, 200)
    finally:
        pg.__exit__(None, None, None)
