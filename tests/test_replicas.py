"""Two ``lstmabar serve --http --stateless`` replicas over one PostgreSQL (metadata, blobs, jobs), each
with its own empty output folder, driven by real MCP clients over HTTP: what one makes the other
reads, rates, refines and exports; a reward model trained beside one is used by the other; jobs
are polled and cancelled through the other replica; killing one mid-call leaves the other serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.servers import lstmabar_http_process, postgres_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

SMALL = {"k": 1, "population": 8, "max_evaluations": 16, "max_seconds": None, "patience": None, "seconds": 0.5}


def replica_env(tmp: Path, name: str, db: str) -> dict[str, str]:
    return {
        "LSTMABAR_OUTPUT_DIR": str(tmp / name),
        "LSTMABAR_DATABASE_URL": db,
        "LSTMABAR_BLOB_STORE": "database",
        "LSTMABAR_STATELESS_HTTP": "yes",
        "LSTMABAR_KEEP_RATINGS": "yes",
        "LSTMABAR_ALLOWED_DIRS": str(tmp),
        "OMP_NUM_THREADS": "1",
    }


def client(base: str) -> Client:
    return Client(streamable_http_client(base + "/mcp", http_client=create_mcp_http_client()), read_timeout_seconds=300)


async def call(c: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await c.call_tool(tool, args)
    assert not res.is_error, res.content[0].text
    return res.structured_content


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstmabar.server.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def pg():
    try:
        cm = postgres_server()
        url = cm.__enter__()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield url
    cm.__exit__(None, None, None)


async def test_two_replicas_share_everything(tmp_path: Path, pg: str) -> None:
    env_a, env_b = replica_env(tmp_path, "a", pg), replica_env(tmp_path, "b", pg)
    with lstmabar_http_process(env_a) as (url_a, proc_a), lstmabar_http_process(env_b) as (url_b, _proc_b):
        async with client(url_a) as a, client(url_b) as b:
            # Made through A ...
            made = await call(a, "synthesize_from_text", {"prompt": "warm pad", **SMALL})
            sid = made["candidates"][0]["sound"]["id"]
            assert not (tmp_path / "b" / "sounds" / f"{sid}.wav").exists()  # nothing on B's disk yet
            # ... read through B (its WAV from the shared blob store), rated, listed.
            wav = (await b.read_resource(f"sound://{sid}")).contents[0]
            assert wav.mime_type == "audio/wav"
            meta = json.loads((await b.read_resource(f"sound://{sid}/meta")).contents[0].text)
            assert meta["tool"] == "synthesize_from_text" and meta["prompt"] == "warm pad"
            rated = await call(b, "rate_feedback", {"sound_id": sid, "rating": 5, "request_id": "r-1"})
            assert rated["aggregate"]["rating_count"] == 1
            listed = await call(b, "list_sounds", {})
            assert sid in json.dumps(listed)
            # ... refined through B, from A's sound's patch.
            refined = await call(b, "synthesize_from_text", {"prompt": "darker", "start_from": sid, **SMALL})
            rid = refined["candidates"][0]["sound"]["id"]
            meta_r = json.loads((await a.read_resource(f"sound://{rid}/meta")).contents[0].text)
            assert meta_r["parents"] == [sid]
            await call(a, "rate_feedback", {"sound_id": rid, "rating": 1, "preferred_over": None, "request_id": "r-2"})
            await call(b, "rate_feedback", {"sound_id": sid, "preferred_over": rid, "request_id": "r-3"})
            # ... exported with B's configuration: the rows, and WAVs that exist on B's machine.
            out = tmp_path / "export.jsonl"
            done = cli(env_b, "feedback", "export", "--out", str(out))
            assert done.returncode == 0, done.stderr
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            assert {(r["sound_id"], r["rating"]) for r in rows} >= {(sid, 5), (rid, 1)}
            assert all(Path(r["audio_path"]).is_file() and str(tmp_path / "b") in r["audio_path"] for r in rows)

            # A reward model trained beside A (its output folder) is used by B.
            trained = cli(env_a, "train", "reward", "--epochs", "20")
            assert trained.returncode == 0, trained.stderr
            assert (tmp_path / "a" / "reward" / "reward-v1.pt").exists()
            for _ in range(100):  # B's sync loop fetches new versions about once a second
                if (tmp_path / "b" / "reward" / "reward-v1.pt").exists():
                    break
                await anyio.sleep(0.1)
            guided = await call(b, "synthesize_from_text", {"prompt": "warm pad", "feedback_weight": 0.5, **SMALL})
            assert guided["reward_version"] == "v1", guided["reward_status"]

            # A job started on A is followed and its result read through B ...
            job = await call(a, "start_job", {"tool": "synthesize_from_text", "arguments": {"prompt": "glassy bell", **SMALL}})
            status = await call(b, "job_status", {"job_id": job["job_id"], "wait_s": 50})
            assert status["state"] == "done", status
            assert status["result"]["candidates"][0]["sound"]["id"]
            # ... and a long one is cancelled through B.
            long_args = {"prompt": "noisy drone", **SMALL, "max_evaluations": 100_000, "time_budget_s": 600}
            job = await call(a, "start_job", {"tool": "synthesize_from_text", "arguments": long_args})
            for _ in range(100):
                seen = await call(b, "job_status", {"job_id": job["job_id"]})
                if seen["state"] == "running":
                    break
                await anyio.sleep(0.2)
            cancelled = await call(b, "cancel_job", {"job_id": job["job_id"]})
            if cancelled["state"] != "cancelled":
                cancelled = await call(b, "job_status", {"job_id": job["job_id"], "wait_s": 20})
            assert cancelled["state"] == "cancelled", cancelled

            # Kill A in the middle of a call: the client of A sees an error, B keeps serving.
            failed: list[BaseException] = []

            async def doomed_call() -> None:
                try:
                    async with client(url_a) as a2:
                        res = await a2.call_tool("synthesize_from_text", {"prompt": "long swell", **SMALL, "max_evaluations": 100_000, "time_budget_s": 600})
                        failed.append(AssertionError(f"the call on the killed replica answered: {res}"))
                except Exception as exc:  # the connection dies with the process
                    failed.append(exc)

            async with client(url_b) as b:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(doomed_call)
                    await anyio.sleep(3.0)
                    proc_a.send_signal(signal.SIGKILL)
                    t0 = time.monotonic()
                    for i in range(5):
                        await call(b, "rate_feedback", {"sound_id": sid, "rating": 4, "request_id": f"after-kill-{i}"})
                    after = await call(b, "synthesize_from_text", {"prompt": "soft click", **SMALL})
                    assert time.monotonic() - t0 < 120
                assert after["candidates"][0]["sound"]["id"]
                assert len(failed) == 1 and not isinstance(failed[0], AssertionError), failed
                assert proc_a.wait(10) == -signal.SIGKILL
                assert after["candidates"][0]["sound"]["id"] in json.dumps(await call(b, "list_sounds", {"limit": 100}))
        # Nothing half-written: every row has its blob (the killed call stored nothing).
        check = cli(env_b, "library", "check", "--grace-s", "0")
        report = json.loads(check.stdout)
        assert report["rows_without_blob"] == [] and report["orphan_blobs"] == [], report
