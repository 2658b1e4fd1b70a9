"""Ratings asked by elicitation (server/ask_rating.py), through the SDK's own client with an elicitation
callback standing in for the person: accept, decline and cancel, on both transports (a request during
the call up to protocol 2025-11-25; InputRequiredResult and a retried call from 2026-07-28). The database
must hold exactly the accepted answers, and the consent answer must be kept and respected."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import numpy as np
import pytest
from mcp import Client

from lstmabar.library import consent

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]  # auto, in process: 2026-07-28, questions ride InputRequiredResult


def _tone(freq: float, sr: int = 16_000, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


class Person:
    """Answers the server's forms from a script, and keeps what it was shown."""

    def __init__(self, *answers: tuple[str, dict[str, Any] | None]) -> None:
        self.answers = list(answers)
        self.asked: list[types.ElicitRequestFormParams] = []

    async def __call__(self, _context: Any, params: types.ElicitRequestFormParams) -> types.ElicitResult:
        self.asked.append(params)
        action, content = self.answers.pop(0)
        return types.ElicitResult(action=action, content=content)

    def fields(self, i: int) -> set[str]:
        return set(self.asked[i].requested_schema["properties"])


@pytest.fixture()
def pair(server):
    lib = server.state.library
    a = lib.add(_tone(220), 16_000, tool="test", prompt="soft hum", scores={"cosine:tiny": 0.30})
    b = lib.add(_tone(440), 16_000, tool="test", prompt="soft hum", scores={"cosine:tiny": 0.31})
    return lib, a, b


def _last_text(res: types.CallToolResult) -> str:
    return res.content[-1].text


@pytest.mark.parametrize("mode", MODES)
async def test_consent_then_preference_is_stored_once(server, pair, mode: str) -> None:
    lib, a, b = pair
    person = Person(("accept", {"keep": True}), ("accept", {"preferred": "B", "rating": 4, "comment": "rounder"}))
    async with Client(server, mode=mode, elicitation_callback=person) as client:
        res = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert not res.is_error, res.content[0].text
        assert res.structured_content["pairs"], "the tool's own result comes back unchanged"
        pa, pb = (res.structured_content["pairs"][0][k]["sound"]["id"] for k in ("a", "b"))

        assert person.fields(0) == {"keep"} and "sends them nowhere" in person.asked[0].message
        assert person.fields(1) == {"preferred", "rating", "comment"}
        assert person.asked[1].requested_schema["properties"]["preferred"]["enum"] == ["A", "B"]
        assert lib.get(pa).path in person.asked[1].message and lib.get(pb).path in person.asked[1].message
        assert "preferred B" in _last_text(res) and "agreed to keep" in _last_text(res)

        fbs = lib.feedback()
        assert [(f.sound_id, f.preferred_over, f.rating, f.comment, f.source) for f in fbs] == [(pb, pa, 4, "rounder", "elicitation")]
        assert consent.current(server.state.config).keep_ratings is True

        # consent is asked once: the next call goes straight to the rating question (the pair is judged
        # now, so sounds_to_rate offers one sound, and the question is how close it is)
        again = Person(("accept", {"rating": 5}))
        async with Client(server, mode=mode, elicitation_callback=again) as client2:
            res2 = await client2.call_tool("sounds_to_rate", {"ask_rating": True})
        assert len(again.asked) == 1 and again.fields(0) == {"rating", "comment"}
        single = res2.structured_content["sounds"][0]["sound"]["id"]
        assert f"rated {single} 5/5" in _last_text(res2)
        assert [(f.sound_id, f.rating, f.source) for f in lib.feedback()][1:] == [(single, 5, "elicitation")]


@pytest.mark.parametrize("mode", MODES)
async def test_declined_and_cancelled_store_nothing(server, pair, mode: str) -> None:
    lib, a, b = pair
    cfg = server.state.config
    person = Person(
        ("decline", None),  # the consent question: nothing stored, no rating question
        ("cancel", None),  # asked again on the next call; cancelled
        ("accept", {"keep": True}), ("decline", None),  # yes to keeping, but declines the rating
        ("cancel", None),  # the rating question, cancelled
    )
    async with Client(server, mode=mode, elicitation_callback=person) as client:
        r1 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "declined whether to keep ratings" in _last_text(r1)
        assert consent.current(cfg).keep_ratings is None and not consent.consent_path(cfg).exists()
        r2 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "cancelled whether to keep ratings" in _last_text(r2)
        r3 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "declined the rating question" in _last_text(r3)
        r4 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "cancelled the rating question" in _last_text(r4)
    assert [person.fields(i) for i in range(5)] == [{"keep"}, {"keep"}, {"keep"}, {"preferred", "rating", "comment"}, {"preferred", "rating", "comment"}]
    assert lib.feedback_count() == 0
    assert consent.current(cfg).keep_ratings is True  # the one accepted answer


async def test_no_to_keeping_is_stored_and_respected(server, pair) -> None:
    lib, a, b = pair
    person = Person(("accept", {"keep": False}))
    async with Client(server, mode="legacy", elicitation_callback=person) as client:
        r1 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "chose not to keep rating data" in _last_text(r1) and len(person.asked) == 1
        assert json.loads(consent.consent_path(server.state.config).read_text())["keep_ratings"] is False
        r2 = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert len(person.asked) == 1 and "Nobody was asked" in _last_text(r2)
        # every other way in respects it too
        r3 = await client.call_tool("rate_feedback", {"sound_id": a.id, "rating": 5})
        assert r3.is_error and "not kept" in r3.content[0].text
    assert lib.feedback_count() == 0


@pytest.mark.parametrize("mode", MODES)
async def test_single_sound_after_a_real_synthesis(server, tiny_embedder, mode: str) -> None:
    server.state.models._items["embedder:tiny"] = tiny_embedder
    consent.store_answer(server.state.config, True)
    lib = server.state.library
    person = Person(("accept", {"rating": 3, "comment": "close"}))
    args = {"prompt": "bright pluck", "k": 1, "population": 8, "max_evaluations": 16, "max_seconds": None, "patience": None,
            "seconds": 0.5, "embedder": "tiny", "ask_rating": True}
    async with Client(server, mode=mode, elicitation_callback=person) as client:
        res = await client.call_tool("synthesize_from_text", args)
    assert not res.is_error, res.content[0].text
    sid = res.structured_content["candidates"][0]["sound"]["id"]
    assert lib.count() == 1, "the retried call (2026-07-28) must not run the tool again"
    assert person.fields(0) == {"rating", "comment"} and "How close" in person.asked[0].message
    assert [(f.sound_id, f.rating, f.comment, f.source) for f in lib.feedback()] == [(sid, 3, "close", "elicitation")]
    assert any(c.type == "audio" for c in res.content), "the usual content is still there"


async def test_off_by_default_and_without_elicitation(server, pair) -> None:
    lib, a, b = pair
    person = Person()
    async with Client(server, mode="legacy", elicitation_callback=person) as client:
        plain = await client.call_tool("sounds_to_rate", {})
        assert not person.asked and "Rating:" not in _last_text(plain)
    async with Client(server, mode="legacy") as client:  # a client that cannot show forms
        res = await client.call_tool("sounds_to_rate", {"ask_rating": True})
        assert "did not say it can show forms" in _last_text(res) and "rate_feedback" in _last_text(res)
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert listed["synthesize_from_text"].input_schema["properties"]["ask_rating"]["default"] is False
        assert "ask_rating" not in listed["rate_feedback"].input_schema["properties"]
    assert lib.feedback_count() == 0


async def test_rating_session_prompt_follows_the_client(server) -> None:
    async with Client(server, mode="legacy") as client:
        plain = (await client.get_prompt("rating_session", {})).messages[0].content.text
    async with Client(server, mode="legacy", elicitation_callback=Person()) as client:
        forms = (await client.get_prompt("rating_session", {"prompt": "warm pad", "rounds": "3"})).messages[0].content.text
    assert "ask_rating" not in plain and "rate_feedback" in plain
    assert "ask_rating=true" in forms and 'prompt_contains="warm pad"' in forms and "Do 3 rounds" in forms


def test_the_question_is_about_what_the_tool_made(server) -> None:
    from lstmabar.server.ask_rating import RatingAsker

    lib = server.state.library
    target = lib.add(_tone(220), 16_000, tool="import_sound")  # match_sound returns its imported target too
    match = lib.add(_tone(221), 16_000, tool="match_sound", parents=[target.id])
    assert RatingAsker(server.state)._made([match.id, target.id]) == [match.id]


def test_the_configuration_overrides_the_stored_answer(tmp_path) -> None:
    from lstmabar.library.config import Config
    from lstmabar.library.errors import ToolError

    cfg = Config(output_dir=tmp_path)
    consent.store_answer(cfg, True)
    off = Config.from_env({"LSTMABAR_OUTPUT_DIR": str(tmp_path), "LSTMABAR_KEEP_RATINGS": "no"})
    assert consent.current(off).keep_ratings is False and consent.current(off).decided_by == "config"
    with pytest.raises(ToolError, match="LSTMABAR_KEEP_RATINGS=no"):
        consent.require_keep(off)
    with pytest.raises(ToolError, match="configuration"):
        consent.store_answer(off, True)
    consent.require_keep(cfg)  # the person's yes
    with pytest.raises(ValueError, match="yes or no"):
        Config.from_env({"LSTMABAR_KEEP_RATINGS": "maybe"})


@pytest.mark.slow
def test_over_streamable_http_both_protocols(tmp_path) -> None:
    """The same questions through `lstmabar serve --http` (a subprocess), with a client on each protocol
    generation: the legacy one gets elicitation/create on the call's SSE stream, the 2026-07-28 one an
    input_required result and retries."""
    import anyio

    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from tests.servers import lstmabar_http

    out = tmp_path / "lib"
    lib = SoundLibrary(Config(output_dir=out))
    ids = [lib.add(_tone(f), 16_000, tool="test", prompt="soft hum", scores={"cosine:tiny": 0.3}).id for f in (220, 330, 440, 550)]
    lib.close()
    consent.store_answer(Config(output_dir=out), True)
    person = Person(("accept", {"preferred": "A", "rating": 2}), ("accept", {"preferred": "B"}))

    async def call(url: str, mode: str) -> str:
        async with Client(url + "/mcp", mode=mode, elicitation_callback=person) as client:
            res = await client.call_tool("sounds_to_rate", {"ask_rating": True})
            assert not res.is_error, res.content[0].text
            return _last_text(res)

    with lstmabar_http({"LSTMABAR_OUTPUT_DIR": str(out)}) as base:
        assert "preferred A" in anyio.run(call, base, "legacy")
        assert "preferred B" in anyio.run(call, base, "auto")
    lib = SoundLibrary(Config(output_dir=out))
    try:
        fbs = lib.feedback()
        assert [(f.rating, f.source) for f in fbs] == [(2, "elicitation"), (None, "elicitation")]
        assert {f.sound_id for f in fbs} | {f.preferred_over for f in fbs} <= set(ids) and len(person.asked) == 2
    finally:
        lib.close()
