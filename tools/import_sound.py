"""import_sound: bring a user's recording into the library, with a quick analysis."""

from __future__ import annotations

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.analysis import QuickAnalysis, quick_analysis
from lstmabar.library.audio_input import AudioInput, load_audio_input
from lstmabar.library.audio_io import preview_wav
from lstmabar.library.errors import ToolError

from .base import SoundOut, ToolContext, ToolOutcome, ToolSpec


class Input(BaseModel):
    audio: AudioInput = Field(description="The recording: a library sound_id, an allowed path, a URL or base64 bytes.")
    name: str | None = Field(None, max_length=200, description="A short label kept as the sound's prompt.")


class Output(BaseModel):
    sound: SoundOut
    analysis: QuickAnalysis


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    if inp.audio.sound_id:
        ctx.library.get(inp.audio.sound_id)  # an unknown id: "No sound with id ...; call list_sounds"
        raise ToolError(f"{inp.audio.sound_id} is already in the library; use it directly.")
    loaded = load_audio_input(inp.audio, ctx.library, ctx.config)
    analysis = quick_analysis(loaded.audio)
    ctx.check_cancelled()
    rec = ctx.library.add(
        loaded.audio.samples,
        loaded.audio.sample_rate,
        tool="import_sound",
        prompt=inp.name,
        params={"source": loaded.label},
        extra={"analysis": analysis.model_dump()},
    )
    pitch = f"{analysis.note} ({analysis.f0_hz:.1f} Hz, MIDI {analysis.midi_note:.1f})" if analysis.f0_hz else "no clear pitch"
    level = "silent" if analysis.is_silent else f"peak {analysis.peak_dbfs} dBFS, loudness {analysis.loudness_lufs} LUFS"
    summary = (
        f"Imported {loaded.label} as {rec.id}: {analysis.duration_s:.2f} s, {analysis.sample_rate} Hz, "
        f"{analysis.channels} channel(s), {level}, spectral centroid {analysis.spectral_centroid_hz} Hz, {pitch}. "
        + (f"In words: {analysis.summary}. " if not analysis.is_silent else "")
        + f"Use sound_id {rec.id} with the other tools."
    )
    return ToolOutcome(
        output=Output(sound=SoundOut.of(rec), analysis=analysis),
        summary=summary,
        audio_previews=[preview_wav(loaded.audio.samples, loaded.audio.sample_rate)],
        sounds=[rec],
    )


TOOL = ToolSpec(
    name="import_sound",
    title="Import a sound",
    description=(
        "Add a recording to the sound library (from an allowed local path, a public URL or base64 bytes) "
        "and measure it: duration, sample rate, channels, peak, loudness, brightness and pitch. "
        "Returns the new sound id to use with the other tools."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
)
