"""The job form: start_job answers at once with an id, job_status reports and returns the tool's own
result, cancel_job stops a job and saves nothing; ids and arguments are checked with clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import numpy as np
import pytest
import soundfile as sf
from mcp import Client

from lstmabar.library.config import Config
from lstmabar.server.app import build_server
from tests.test_workers import make_slow_tool

pytestmark = pytest.mark.anyio


@pytest.fixture()
def job_server(tmp_path: Path, tiny_embedder):
    server = build_server(Config(output_dir=tmp_path / "lib", allowed_dirs=(tmp_path,), workers=1))
    stopped, running = threading.Event(), []
    spec = make_slow_tool(stopped, running)
    server.state.jobs.specs[spec.name] = spec  # a long tool the manager may run
    server.state.models._items["embedder:tiny"] = tiny_embedder
    server.stopped, server.running = stopped, running
    return server


async def _status(client: Client, job_id: str, wait_s: float = 0.0) -> dict:
    res = await client.call_tool("job_status", {"job_id": job_id, "wait_s": wait_s})
    assert not res.is_error, res.content[0].text
    return res.structured_content


async def test_jobs_are_listed_with_output_schemas(job_server) -> None:
    async with Client(job_server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("start_job", "job_status", "cancel_job"):
        assert tools[name].output_schema and "40 s" in tools["start_job"].description
    assert tools["job_status"].annotations.read_only_hint is True


async def test_job_returns_at_once_and_then_the_tools_result(job_server) -> None:
    async with Client(job_server) as client:
        res = await client.call_tool("start_job", {"tool": "slow", "arguments": {"steps": 20, "step_s": 0.1}})
        assert not res.is_error, res.content[0].text
        job = res.structured_content
        assert job["state"] in ("queued", "running") and job["job_id"].startswith("job_")
        while (st := await _status(client, job["job_id"], wait_s=5))["state"] not in ("done", "failed", "cancelled"):
            pass
        assert st["state"] == "done" and st["progress"] == 1.0 and st["error"] is None
        sid = st["result"]["sound_id"]
        assert job_server.state.library.get(sid).tool == "slow"
        again = await client.call_tool("job_status", {"job_id": job["job_id"]})
        assert again.structured_content["result"] == st["result"]
        assert any(c.type == "resource_link" for c in again.content)  # the tool's sounds come back as links


async def test_cancel_job_stops_it_and_saves_nothing(job_server) -> None:
    async with Client(job_server) as client:
        job = (await client.call_tool("start_job", {"tool": "slow", "arguments": {"steps": 400, "step_s": 0.05}})).structured_content
        while not job_server.running:
            await anyio.sleep(0.02)
        res = await client.call_tool("cancel_job", {"job_id": job["job_id"]})
        assert not res.is_error and res.structured_content["state"] == "cancelled"
        assert job_server.stopped.is_set()
        assert job_server.state.library.count() == 0
        assert (await _status(client, job["job_id"]))["state"] == "cancelled"
        res = await client.call_tool("cancel_job", {"job_id": job["job_id"]})  # cancelling twice is harmless
        assert not res.is_error


async def test_queued_job_waits_for_the_pool_and_can_be_cancelled_in_line(job_server) -> None:
    async with Client(job_server) as client:
        first = (await client.call_tool("start_job", {"tool": "slow", "arguments": {"steps": 30, "step_s": 0.05}})).structured_content
        second = (await client.call_tool("start_job", {"tool": "slow", "arguments": {"steps": 2, "step_s": 0.01}})).structured_content
        await anyio.sleep(0.8)
        st = await _status(client, second["job_id"])
        assert st["state"] == "queued" and st["queue_position"] == 1  # one worker, busy with the first job
        assert (await client.call_tool("cancel_job", {"job_id": second["job_id"]})).structured_content["state"] == "cancelled"
        assert (await _status(client, first["job_id"], wait_s=10))["state"] == "done"
        assert job_server.state.library.count() == 1


async def test_bad_job_requests_say_what_is_allowed(job_server) -> None:
    async with Client(job_server) as client:
        async def err(name: str, args: dict, words: str) -> None:
            res = await client.call_tool(name, args)
            assert res.is_error, name
            assert words.lower() in res.content[0].text.lower(), res.content[0].text

        await err("job_status", {"job_id": "nope"}, "ids look like 'job_'")
        await err("job_status", {"job_id": "job_000000000000"}, "No job job_000000000000")
        await err("cancel_job", {"job_id": "job_000000000000"}, "No job")
        await err("start_job", {"tool": "list_sounds", "arguments": {}}, "optimize_fx")
        await err("start_job", {"tool": "no_such_tool"}, "cannot run as a job")
        await err("start_job", {"tool": "optimize_fx", "arguments": {"prompt": "brighter", "time_budget_s": -1}}, "Invalid arguments for optimize_fx")
        await err("job_status", {"job_id": "job_000000000000", "wait_s": 500}, "wait_s")
    assert job_server.state.library.count() == 0


async def test_a_real_tool_as_a_job(job_server, tmp_path: Path) -> None:
    t = np.arange(16_000) / 16_000
    sf.write(tmp_path / "t.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16_000)
    args = {"audio": {"path": str(tmp_path / "t.wav")}, "prompt": "brighter", "chain": ["eq"], "iterations": 2, "embedder": "tiny"}
    async with Client(job_server) as client:
        job = (await client.call_tool("start_job", {"tool": "optimize_fx", "arguments": args})).structured_content
        st = await _status(client, job["job_id"], wait_s=50)
        direct = (await client.call_tool("optimize_fx", args)).structured_content
    assert st["state"] == "done", st
    assert st["result"].keys() == direct.keys() and st["result"]["chain"] == ["eq"]
    assert st["result"]["timing"]["budget_s"] == 20.0
