"""Every tool's structured result validates against the outputSchema it declares, the way strict
clients check it (MCP Inspector: JSON Schema with formats). Issue 14 item 6: list_sounds' created_at
had no UTC offset, so "must match format date-time" failed in the Inspector. Also the timestamps of
sound://{id}/meta and of the feedback export."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile as sf
from mcp import Client

from lstmabar.library.export import feedback_rows

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TINY = {"embedder": "tiny"}
SYNTH_SMALL = {"population": 8, "max_evaluations": 16, "max_seconds": None, "patience": None, "seconds": 0.5, **TINY}
FORMATS = jsonschema.FormatChecker()


def rfc3339(value: str) -> bool:
    return FORMATS.conforms(value, "date-time")


def test_the_checker_really_checks_date_time() -> None:
    # without the rfc3339-validator package jsonschema silently accepts any string as a date-time
    assert "date-time" in FORMATS.checkers
    assert rfc3339("2026-01-02T03:04:05.678+00:00") and rfc3339("2026-01-02T03:04:05Z")
    assert not rfc3339("2026-01-02T03:04:05.678")  # no offset: what SQLite hands back


async def test_every_tool_output_matches_its_schema(server, tiny_embedder, tmp_path: Path) -> None:
    server.state.models._items["embedder:tiny"] = tiny_embedder
    t = np.arange(22_050) / 22_050
    wav = tmp_path / "t.wav"
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-2 * t)).astype(np.float32), 22_050)
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        checked: set[str] = set()

        async def call(name: str, args: dict) -> dict:
            res = await client.call_tool(name, args)
            assert not res.is_error, f"{name}: {res.content[0].text}"
            schema = tools[name].output_schema
            assert schema is not None, f"{name} declares no outputSchema"
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in cls(schema, format_checker=FORMATS).iter_errors(res.structured_content)]
            assert not errors, f"{name}: {errors}"
            checked.add(name)
            return res.structured_content

        src = (await call("import_sound", {"audio": {"path": str(wav)}}))["sound"]["id"]
        await call("predict_archetypes", {"texts": ["a warm, smooth pad"]})
        syn = await call("synthesize_from_text", {"prompt": "bright pluck", "k": 2, **SYNTH_SMALL})
        a, b = (c["sound"]["id"] for c in syn["candidates"])
        await call("interpolate_sounds", {"a": a, "b": b, "steps": 1, **TINY})
        await call("optimize_fx", {"audio": {"sound_id": src}, "prompt": "brighter", "chain": ["eq"], "iterations": 2, **TINY})
        await call("match_sound", {"audio": {"sound_id": src}, "time_budget_s": 1.0})
        await call("rate_feedback", {"sound_id": a, "rating": 4, "preferred_over": b, "request_id": "s1"})
        await call("sounds_to_rate", {})
        if "describe_sound" in tools:
            await call("describe_sound", {"audio": {"sound_id": src}, "compare_to": {"sound_id": a}})
        listed = await call("list_sounds", {})
        assert listed["sounds"] and all(rfc3339(s["created_at"]) for s in listed["sounds"])
        if "start_job" in tools:
            job = await call("start_job", {"tool": "synthesize_from_text", "arguments": {"prompt": "dark drone", "k": 1, **SYNTH_SMALL}})
            done = await call("job_status", {"job_id": job["job_id"], "wait_s": 30})
            assert done["state"] == "done" and rfc3339(done["created_at"])
            await call("cancel_job", {"job_id": job["job_id"]})
        assert checked == set(tools), f"not called: {set(tools) - checked}"

        meta = json.loads((await client.read_resource(f"sound://{a}/meta")).contents[0].text)
        assert rfc3339(meta["created_at"]), meta["created_at"]

    rows = feedback_rows(server.state.library)
    assert rows and all(rfc3339(r["created_at"]) for r in rows)
    # records read back from the database carry UTC, not a naive time
    rec = server.state.library.get(a)
    assert isinstance(rec.created_at, datetime) and rec.created_at.utcoffset() is not None
    assert all(f.created_at.utcoffset() is not None for f in server.state.library.feedback())
