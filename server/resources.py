"""MCP resources for library sounds: sound://{id} (WAV), sound://{id}/meta (JSON),
sound://{id}/spectrogram.png."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from lstmabar.library.errors import UnknownSoundError

if TYPE_CHECKING:
    from .state import AppState


def register_resources(server: MCPServer, state: "AppState") -> None:
    @server.resource(
        "sound://{sound_id}",
        name="sound",
        title="Sound (WAV)",
        description="A library sound as a WAV file at its native sample rate.",
        mime_type="audio/wav",
    )
    async def sound_wav(sound_id: str) -> bytes:
        await anyio.to_thread.run_sync(_get, state, sound_id)
        return await anyio.to_thread.run_sync(state.library.wav_bytes, sound_id)  # a replica may fetch it from the blob store

    @server.resource(
        "sound://{sound_id}/meta",
        name="sound-meta",
        title="Sound metadata",
        description="Which tool made the sound, its prompt, parameters with units, lineage, scores and ratings.",
        mime_type="application/json",
    )
    async def sound_meta(sound_id: str) -> str:
        def read() -> str:
            rec = _get(state, sound_id)
            agg = state.library.aggregate(sound_id)
            return json.dumps(
                {**rec.model_dump(mode="json"), "feedback": agg.model_dump(mode="json")}, indent=2
            )

        return await anyio.to_thread.run_sync(read)

    @server.resource(
        "sound://{sound_id}/spectrogram.png",
        name="sound-spectrogram",
        title="Sound spectrogram",
        description="Log-magnitude spectrogram of the sound (PNG).",
        mime_type="image/png",
    )
    async def sound_spectrogram(sound_id: str) -> bytes:
        def render() -> bytes:
            try:
                return state.library.spectrogram(sound_id)
            except UnknownSoundError as exc:
                raise ResourceNotFoundError(str(exc)) from exc

        return await anyio.to_thread.run_sync(render)


def _get(state: "AppState", sound_id: str):
    try:
        return state.library.get(sound_id)
    except UnknownSoundError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
