"""Progress, cancellation and the bounded worker pool, with a deliberately slow test tool."""

from __future__ import annotations

import threading
import time

import anyio
import numpy as np
import pytest
from mcp import Client
from mcp_types import ToolAnnotations
from pydantic import BaseModel

from lstmabar.library.config import Config
from lstmabar.server.app import _add_tool, build_server
from lstmabar.server.ask_rating import RatingAsker
from lstmabar.tools.base import ToolContext, ToolOutcome, ToolSpec

pytestmark = pytest.mark.anyio


class SlowIn(BaseModel):
    steps: int = 20
    step_s: float = 0.05
    silent_s: float = 0.0  # a first stage that reports nothing


class SlowOut(BaseModel):
    sound_id: str


def make_slow_tool(stopped: threading.Event, running: list[int]) -> ToolSpec:
    def run(inp: SlowIn, ctx: ToolContext) -> ToolOutcome:
        running.append(1)
        try:
            ctx.progress(0, inp.steps, "silent stage")
            time.sleep(inp.silent_s)
            for i in range(inp.steps):
                ctx.progress(i + 1, inp.steps, f"step {i + 1}")
                time.sleep(inp.step_s)
            rec = ctx.library.add(np.zeros(480, np.float32), 48_000, tool="slow")
            return ToolOutcome(output=SlowOut(sound_id=rec.id), summary="done", sounds=[rec])
        finally:
            running.pop()
            stopped.set()

    return ToolSpec(
        name="slow",
        title="slow",
        description="test tool",
        input_model=SlowIn,
        output_model=SlowOut,
        run=run,
        annotations=ToolAnnotations(read_only_hint=False),
        long_running=True,
    )


@pytest.fixture()
def slow_server(tmp_path):
    server = build_server(Config(output_dir=tmp_path / "lib", workers=1))
    stopped, running = threading.Event(), []
    _add_tool(server, server.state, make_slow_tool(stopped, running), RatingAsker(server.state))
    server.stopped, server.running = stopped, running
    return server


async def test_progress_is_monotonic_and_reported(slow_server) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, msg: str | None) -> None:
        seen.append((p, total, msg))

    async with Client(slow_server) as client:
        res = await client.call_tool("slow", {"steps": 10, "step_s": 0.05}, progress_callback=on_progress)
    assert not res.is_error
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and len(values) >= 2
    assert len(values) <= 10  # rate-limited: at most one report per 0.2 s plus the final one
    assert seen[-1][0] == seen[-1][1] == 10


async def test_cancel_stops_thread_and_saves_nothing(slow_server) -> None:
    async with Client(slow_server) as client:
        with anyio.move_on_after(0.5):
            await client.call_tool("slow", {"steps": 200, "step_s": 0.05})
        t0 = time.monotonic()
        while not slow_server.stopped.is_set() and time.monotonic() - t0 < 5:
            await anyio.sleep(0.05)
        assert slow_server.stopped.is_set(), "the worker thread kept running after cancellation"
        assert time.monotonic() - t0 < 1.0
        assert slow_server.state.library.count() == 0
        # the server keeps serving
        res = await client.call_tool("slow", {"steps": 2, "step_s": 0.01})
        assert not res.is_error


async def test_queue_reports_place_in_line(slow_server) -> None:
    messages: list[str] = []
    results = []

    async def on_progress(p: float, total: float | None, msg: str | None) -> None:
        if msg:
            messages.append(msg)

    async with Client(slow_server) as client:

        async def call(steps: int, cb=None) -> None:
            results.append(await client.call_tool("slow", {"steps": steps, "step_s": 0.1}, progress_callback=cb))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, 15)
            await anyio.sleep(0.3)
            tg.start_soon(call, 2, on_progress)
    assert all(not r.is_error for r in results)
    assert any(m.startswith("queued: position 1") for m in messages), messages
    assert slow_server.state.library.count() == 2


async def test_progress_keeps_coming_through_a_silent_stage(slow_server) -> None:
    """Clients that reset their timeout only on progress see a report at least every few seconds."""
    stamps: list[float] = []
    messages: list[str] = []

    async def on_progress(p: float, total: float | None, msg: str | None) -> None:
        stamps.append(time.monotonic())
        messages.append(msg or "")

    async with Client(slow_server) as client:
        t0 = time.monotonic()
        res = await client.call_tool("slow", {"steps": 2, "step_s": 0.01, "silent_s": 4.5}, progress_callback=on_progress)
        t1 = time.monotonic()
    assert not res.is_error
    times = [t0, *stamps, t1]
    assert max(b - a for a, b in zip(times, times[1:])) < 3.0  # the keepalive beats every 2 s
    assert any(m.startswith("silent stage (") for m in messages)
