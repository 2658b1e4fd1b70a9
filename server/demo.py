"""The main job: a scripted session that starts ``lstmabar serve`` over stdio, drives it with the
MCP SDK's client like an assistant would, and leaves WAV files and summary.json in a folder."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import soundfile as sf
from mcp import Client, StdioServerParameters
from mcp_types import BlobResourceContents

# Calls made when the tool exists in this build, in order; "$name" refers to a sound id saved earlier.
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("predict", "predict_archetypes", {"texts": ["a warm, smooth pad", "harsh digital buzz", "airy breathy noise"]}),
    ("pad", "synthesize_from_text", {"prompt": "a warm, evolving pad", "k": 2, "max_evaluations": 600, "seed": 1}),
    ("darker", "synthesize_from_text", {"prompt": "darker", "start_from": "$pad", "k": 1, "max_evaluations": 300, "seed": 2}),
    ("between", "interpolate_sounds", {"a": "$pad", "b": "$darker", "steps": 2}),
    ("fx", "optimize_fx", {"audio": {"sound_id": "$chord"}, "prompt": "brighter and a bit roomier", "seed": 1}),
    ("match", "match_sound", {"audio": {"sound_id": "$chord"}, "seed": 1}),
    ("to_rate", "sounds_to_rate", {}),
]


def _chord(path: Path, sr: int = 44_100, seconds: float = 2.0) -> None:
    t = np.arange(int(sr * seconds)) / sr
    env = np.minimum(t / 0.02, 1.0) * np.exp(-1.5 * t)
    x = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((220.0, 277.18, 329.63)))
    sf.write(path, (0.3 * env * x).astype(np.float32), sr)


def _sound_ids(result: Any) -> list[str]:
    """Every sound a call stored, from the resource links in its content."""
    return [str(c.uri).removeprefix("sound://") for c in result.content if getattr(c, "type", "") == "resource_link"]


def _resolve(args: dict[str, Any], ids: dict[str, str]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for k, v in args.items():
        if isinstance(v, dict):
            inner = _resolve(v, ids)
            if inner is None:
                return None
            out[k] = inner
        elif isinstance(v, str) and v.startswith("$"):
            if v[1:] not in ids:
                return None
            out[k] = ids[v[1:]]
        else:
            out[k] = v
    return out


async def _session(out: Path, embedder: str | None) -> dict[str, Any]:
    lib_dir = out / "library"
    out.mkdir(parents=True, exist_ok=True)
    chord = out / "input_chord.wav"
    _chord(chord)
    env = {**os.environ, "LSTMABAR_OUTPUT_DIR": str(lib_dir), "LSTMABAR_ALLOWED_DIRS": str(out.resolve())}
    if embedder:
        env["LSTMABAR_EMBEDDER"] = embedder
    params = StdioServerParameters(command=sys.executable, args=["-m", "lstmabar.server.cli", "serve"], env=env)
    summary: dict[str, Any] = {"calls": [], "files": []}
    ids: dict[str, str] = {}
    all_sounds: list[tuple[str, str]] = []
    async with Client(params, read_timeout_seconds=900) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        summary["tools"] = tools
        summary["prompts"] = [p.name for p in (await client.list_prompts()).prompts]
        print(f"tools: {', '.join(tools)}", file=sys.stderr)

        async def call(label: str, name: str, args: dict[str, Any]) -> Any:
            t0 = time.monotonic()
            progress: list[float] = []

            async def on_progress(p: float, total: float | None, message: str | None) -> None:
                progress.append(p)

            res = await client.call_tool(name, args, progress_callback=on_progress)
            text = " ".join(c.text for c in res.content if getattr(c, "type", "") == "text")
            entry = {
                "label": label,
                "tool": name,
                "seconds": round(time.monotonic() - t0, 2),
                "is_error": bool(res.is_error),
                "summary": text,
                "progress_updates": len(progress),
            }
            summary["calls"].append(entry)
            print(f"[{name}] {'ERROR ' if res.is_error else ''}{text[:300]}", file=sys.stderr)
            made = [] if res.is_error else _sound_ids(res)
            entry["sounds"] = made
            if made:
                ids[label] = made[0]
                all_sounds.extend((label, sid) for sid in made)
            return res

        await call("chord", "import_sound", {"audio": {"path": str(chord.resolve())}, "name": "demo chord"})
        for label, name, args in STEPS:
            if name not in tools:
                continue
            resolved = _resolve(args, ids)
            if resolved is not None:
                await call(label, name, resolved)

        rated = [v for k, v in ids.items() if k != "chord"] or [ids["chord"]]
        await call("rate", "rate_feedback", {"sound_id": rated[0], "rating": 4, "comment": "demo rating", "request_id": "demo-1"})
        if len(rated) > 1:
            await call("prefer", "rate_feedback", {"sound_id": rated[0], "preferred_over": rated[1], "request_id": "demo-2"})
        await call("list", "list_sounds", {"limit": 20})

        for label, sid in all_sounds:
            res = await client.read_resource(f"sound://{sid}")
            blob = next(c for c in res.contents if isinstance(c, BlobResourceContents))
            path = out / f"{label}_{sid}.wav"
            path.write_bytes(base64.b64decode(blob.blob))
            summary["files"].append(str(path))
    summary["sound_ids"] = ids
    summary["errors"] = [c for c in summary["calls"] if c["is_error"]]
    return summary


def run_demo(out: Path, embedder: str | None = None) -> int:
    summary = anyio.run(_session, out, embedder)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: summary[k] for k in ("tools", "sound_ids", "files")}, indent=2))
    print(f"{len(summary['calls'])} calls, {len(summary['errors'])} errors; see {out / 'summary.json'}", file=sys.stderr)
    return 1 if summary["errors"] else 0
