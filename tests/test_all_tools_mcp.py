"""Every registered tool through the SDK's in-process client: one small real call and one bad call each.
The bad call is a clear isError result and leaves the library unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mcp import Client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TINY = {"embedder": "tiny"}
SYNTH_SMALL = {"population": 8, "max_evaluations": 16, "max_seconds": None, "patience": None, "seconds": 0.5, **TINY}


def tone(path: Path, sr: int = 22_050) -> Path:
    t = np.arange(sr) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-2 * t)).astype(np.float32), sr)
    return path


async def test_every_tool_success_and_error(server, tiny_embedder, tmp_path: Path) -> None:
    server.state.models._items["embedder:tiny"] = tiny_embedder
    lib = server.state.library
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {
            "predict_archetypes", "synthesize_from_text", "interpolate_sounds", "optimize_fx", "match_sound",
            "import_sound", "describe_sound", "list_sounds", "rate_feedback", "sounds_to_rate", "start_job", "job_status",
            "cancel_job",
        }

        async def ok(name: str, args: dict) -> dict:
            res = await client.call_tool(name, args)
            assert not res.is_error, f"{name}: {res.content[0].text}"
            assert res.content[0].type == "text" and len(res.content[0].text) > 20
            return res.structured_content

        async def bad(name: str, args: dict, words: str) -> None:
            before = (lib.count(), sorted(p.name for p in lib.sounds_dir.glob("*.wav")))
            res = await client.call_tool(name, args)
            assert res.is_error, name
            assert words.lower() in res.content[0].text.lower(), res.content[0].text
            assert (lib.count(), sorted(p.name for p in lib.sounds_dir.glob("*.wav"))) == before

        src = (await ok("import_sound", {"audio": {"path": str(tone(tmp_path / "t.wav"))}}))["sound"]["id"]

        pred = await ok("predict_archetypes", {"texts": ["a warm, smooth pad", "harsh digital buzz"]})
        assert len(pred["predictions"]) == 2 and abs(sum(pred["predictions"][0]["weights"].values()) - 1) < 1e-3
        await bad("predict_archetypes", {}, "text")

        syn = await ok("synthesize_from_text", {"prompt": "bright pluck", "k": 2, **SYNTH_SMALL})
        a, b = (c["sound"]["id"] for c in syn["candidates"])
        await bad("synthesize_from_text", {"prompt": "darker", "start_from": src, **SYNTH_SMALL}, "patch")

        inter = await ok("interpolate_sounds", {"a": a, "b": b, "steps": 1, **TINY})
        assert inter["steps"][0]["sound"]["id"]
        await bad("interpolate_sounds", {"a": a, "b": src, "steps": 1, **TINY}, src)

        fx = await ok("optimize_fx", {"audio": {"sound_id": src}, "prompt": "brighter", "chain": ["eq"], "iterations": 2, **TINY})
        assert "PeakFilter" in fx["pedalboard_code"] and fx["input_sound_id"] == src
        await bad("optimize_fx", {"audio": {"sound_id": "snd_missing"}, "prompt": "brighter", **TINY}, "no sound")

        match = await ok("match_sound", {"audio": {"sound_id": src}, "time_budget_s": 1.0})
        assert match["target_id"] == src and "note.midi" in match["patch"]  # the subtractive synth, the default
        assert match["target_description"].startswith("pitched, A3") and match["match_description"]
        await bad("match_sound", {"audio": {"path": "/etc/hostname"}}, "outside the folders")

        desc = await ok("describe_sound", {"audio": {"sound_id": a}, "compare_to": {"sound_id": src}})
        assert desc["sound"]["descriptors"]["spectrum"]["centroid_hz"] > 0 and desc["compared_to"]["sound_id"] == src
        await bad("describe_sound", {"audio": {"sound_id": a}, "compare_to": {"sound_id": "snd_missing"}}, "no sound")

        queue = await ok("sounds_to_rate", {})
        assert queue is not None

        meta = json.loads((await client.read_resource(f"sound://{a}/meta")).contents[0].text)
        assert meta["tool"] == "synthesize_from_text" and len(meta["params"]) == 78
        assert match["sound"]["id"] in {s["sound"]["id"] for s in (await ok("list_sounds", {"parent": src}))["sounds"]}
