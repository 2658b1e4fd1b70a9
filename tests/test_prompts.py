"""MCP prompts: arguments are checked, and a bad one gets a message saying what is allowed (issue 14
item 11: rounds=-5 rendered "Do -5 rounds", rounds=abc gave only "Error rendering prompt ...")."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("rounds", ["-5", "0", "abc", "2.5", "1000"])
async def test_rating_session_rounds_out_of_range(server, rounds: str) -> None:
    async with Client(server) as client:
        with pytest.raises(MCPError) as err:
            await client.get_prompt("rating_session", {"rounds": rounds})
        msg = err.value.message
        assert "rounds" in msg and "from 1 to 20" in msg and repr(rounds) in msg, msg


async def test_prompt_arguments_ok_and_other_errors(server) -> None:
    async with Client(server) as client:
        got = await client.get_prompt("rating_session", {"prompt": "warm pad", "rounds": "20"})
        assert "Do 20 rounds" in got.messages[0].content.text and "warm pad" in got.messages[0].content.text
        assert "Do 5 rounds" in (await client.get_prompt("rating_session", {})).messages[0].content.text
        with pytest.raises(MCPError, match="prompt.*at most 500 characters"):
            await client.get_prompt("rating_session", {"prompt": "x" * 501})
        with pytest.raises(MCPError, match="goal.*at least 1 character"):
            await client.get_prompt("sound_design_session", {"goal": "  "})
        got = await client.get_prompt("sound_design_session", {"goal": "a glassy bell"})
        assert "a glassy bell" in got.messages[0].content.text
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        rounds = next(a for a in listed["rating_session"].arguments if a.name == "rounds")
        assert "1 to 20" in (rounds.description or "")
