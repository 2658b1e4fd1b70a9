"""synthesize_from_text and interpolate_sounds through the MCP SDK's in-process client (fake embedder)."""

from __future__ import annotations

import pytest
import torch
from mcp import Client

torch.set_num_threads(1)
pytestmark = pytest.mark.anyio
pytest.importorskip("lstmabar.tools.synthesize_from_text")

SMALL = {"population": 8, "max_evaluations": 24, "max_seconds": None, "patience": None, "seconds": 0.5}


async def test_synthesize_refine_interpolate_over_mcp(server, tiny_embedder) -> None:
    server.state.models._items["embedder:lstmabar"] = tiny_embedder
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"synthesize_from_text", "interpolate_sounds"} <= set(tools)
        assert tools["synthesize_from_text"].output_schema["type"] == "object"
        res = await client.call_tool("synthesize_from_text", {"prompt": "glassy bell", "k": 2, **SMALL})
        assert not res.is_error, res.content[0].text
        sc = res.structured_content
        assert len(sc["candidates"]) == 2 and sc["evaluations"] == 24
        kinds = [c.type for c in res.content]
        assert kinds[0] == "text" and kinds.count("audio") == 2 and "image" in kinds and kinds.count("resource_link") == 2
        a, b = (c["sound"]["id"] for c in sc["candidates"])
        assert sc["candidates"][0]["patch"]["keyboard.midi_f0"]["unit"] == "midi"

        ref = await client.call_tool("synthesize_from_text", {"prompt": "darker", "k": 1, "start_from": a, "keep": ["pitch"], **SMALL})
        assert not ref.is_error, ref.content[0].text
        assert ref.structured_content["start_from"] == a
        assert server.state.library.get(ref.structured_content["candidates"][0]["sound"]["id"]).parents == [a]

        it = await client.call_tool("interpolate_sounds", {"a": a, "b": b, "steps": 2})
        assert not it.is_error, it.content[0].text
        assert [s["t"] for s in it.structured_content["steps"]] == [pytest.approx(1 / 3, abs=1e-3), pytest.approx(2 / 3, abs=1e-3)]

        bad = await client.call_tool("synthesize_from_text", {"prompt": "x", "keep": ["pitch"], **SMALL})
        assert bad.is_error and "start_from" in bad.content[0].text
