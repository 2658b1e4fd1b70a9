"""Every foundation tool, resource and prompt through the SDK's in-process client."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mcp import Client
from mcp_types import BlobResourceContents, TextResourceContents

pytestmark = pytest.mark.anyio


def write_tone(path: Path, f0: float = 330.0, sr: int = 44_100, seconds: float = 1.0) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.4 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), sr)
    return path


async def test_tools_listed_with_schemas_and_annotations(server) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("import_sound", "list_sounds", "rate_feedback"):
            assert name in tools
            assert tools[name].output_schema and tools[name].output_schema.get("type") == "object"
            assert tools[name].description
        assert tools["list_sounds"].annotations.read_only_hint is True
        assert tools["rate_feedback"].annotations.read_only_hint is False
        assert tools["import_sound"].annotations.open_world_hint is True
        props = tools["rate_feedback"].input_schema["properties"]
        assert props["rating"]["anyOf"][0]["maximum"] == 5


async def test_import_list_rate_and_resources(server, tmp_path: Path) -> None:
    wav = write_tone(tmp_path / "tone.wav")
    async with Client(server) as client:
        res = await client.call_tool("import_sound", {"audio": {"path": str(wav)}, "name": "my tone"})
        assert not res.is_error, res.content[0].text
        sc = res.structured_content
        sid = sc["sound"]["id"]
        assert abs(sc["analysis"]["f0_hz"] - 330.0) < 2.0
        assert sc["analysis"]["sample_rate"] == 44_100
        kinds = [c.type for c in res.content]
        assert kinds[0] == "text" and "audio" in kinds and "resource_link" in kinds
        audio_block = next(c for c in res.content if c.type == "audio")
        preview, psr = sf.read(__import__("io").BytesIO(base64.b64decode(audio_block.data)))
        assert psr == 16_000 and len(preview) <= 5 * 16_000

        blob = (await client.read_resource(f"sound://{sid}")).contents[0]
        assert isinstance(blob, BlobResourceContents) and blob.mime_type == "audio/wav"
        data, sr = sf.read(__import__("io").BytesIO(base64.b64decode(blob.blob)))
        assert sr == 44_100 and len(data) == 44_100

        meta = (await client.read_resource(f"sound://{sid}/meta")).contents[0]
        assert isinstance(meta, TextResourceContents)
        meta_obj = json.loads(meta.text)
        assert meta_obj["tool"] == "import_sound" and meta_obj["prompt"] == "my tone"

        png = (await client.read_resource(f"sound://{sid}/spectrogram.png")).contents[0]
        assert base64.b64decode(png.blob)[:8] == b"\x89PNG\r\n\x1a\n"

        res2 = await client.call_tool("import_sound", {"audio": {"path": str(write_tone(tmp_path / "b.wav", 440.0))}})
        sid2 = res2.structured_content["sound"]["id"]
        r = await client.call_tool("rate_feedback", {"sound_id": sid, "rating": 4, "request_id": "req-1"})
        assert not r.is_error and r.structured_content["created"] is True
        again = await client.call_tool("rate_feedback", {"sound_id": sid, "rating": 4, "request_id": "req-1"})
        assert again.structured_content["created"] is False
        assert again.structured_content["feedback_id"] == r.structured_content["feedback_id"]
        pair = await client.call_tool("rate_feedback", {"sound_id": sid2, "preferred_over": sid, "comment": "less harsh"})
        assert pair.structured_content["aggregate"]["wins"] == 1
        assert pair.structured_content["other_aggregate"]["losses"] == 1

        listed = await client.call_tool("list_sounds", {"prompt_contains": "tone"})
        assert [s["sound"]["id"] for s in listed.structured_content["sounds"]] == [sid]
        assert listed.structured_content["sounds"][0]["feedback"]["mean_rating"] == 4.0
        assert server.state.library.feedback_count() == 2


async def test_out_of_range_rating_is_a_clear_error(server, tmp_path: Path) -> None:
    async with Client(server) as client:
        res = await client.call_tool("import_sound", {"audio": {"path": str(write_tone(tmp_path / "t.wav"))}})
        sid = res.structured_content["sound"]["id"]
        for bad in (0, 6):
            r = await client.call_tool("rate_feedback", {"sound_id": sid, "rating": bad})
            assert r.is_error and "rating" in r.content[0].text
        r = await client.call_tool("rate_feedback", {"sound_id": sid, "preferred_over": sid})
        assert r.is_error and "itself" in r.content[0].text
        assert server.state.library.feedback_count() == 0


async def test_unknown_sound_resource(server) -> None:
    async with Client(server) as client:
        with pytest.raises(Exception, match="No sound"):
            await client.read_resource("sound://snd_doesnotexist")


async def test_prompts(server) -> None:
    async with Client(server) as client:
        names = [p.name for p in (await client.list_prompts()).prompts]
        assert "rating_session" in names
        got = await client.get_prompt("rating_session", {"prompt": "warm pad", "rounds": "3"})
        text = got.messages[0].content.text
        assert "rate_feedback" in text and "warm pad" in text and "3 rounds" in text
