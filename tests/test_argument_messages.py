"""Arguments that do not fit a tool's schema get our message (what is allowed), not pydantic's raw
text from the SDK's own check (type names and a docs URL), and the schema clients see stays strict."""

from __future__ import annotations

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

CASES = [
    ("predict_archetypes", {"text": "a warm pad", "seed": 2**64}, "seed must be an integer from 0 to 4294967295"),
    ("list_sounds", {"limit": "abc"}, "limit: Input should be a valid integer"),
    ("rate_feedback", {}, "sound_id: Field required"),
]


@pytest.mark.parametrize("tool,args,expected", CASES, ids=[c[0] for c in CASES])
async def test_schema_mismatch_gets_our_message(server, tool, args, expected):
    async with Client(server) as client:
        result = await client.call_tool(tool, args)
    text = result.content[0].text
    assert result.is_error
    assert text.startswith(f"Invalid arguments for {tool}: ")
    assert expected in text
    assert "errors.pydantic.dev" not in text and "Error executing tool" not in text


async def test_advertised_schema_keeps_its_constraints(server):
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    seed = tools["predict_archetypes"].input_schema["properties"]["seed"]
    assert seed.get("maximum") == 2**32 - 1 or any(s.get("maximum") == 2**32 - 1 for s in seed.get("anyOf", []))
    assert "sound_id" in tools["rate_feedback"].input_schema["required"]
