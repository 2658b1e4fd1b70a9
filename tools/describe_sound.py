"""describe_sound: measure a sound and say what it is in a producer's words, with the evidence.

How the assistant "hears" a sound before it decides the next step, and checks that a refinement did
what was asked: the descriptors of ``library.descriptors`` in their units (pitch, loudness, spectrum,
envelope, space), the words they earn (each with the percentile of a reference set of real
recordings behind it), the note, the archetype mix from the LSTMABAR audio tower and a spectrogram.
With ``compare_to``, how the sound differs from a second one, in words and numbers. Nothing is
stored: the tool only reads.
"""

from __future__ import annotations

import numpy as np
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.audio_input import AudioInput, LoadedAudio, load_audio_input
from lstmabar.library.descriptors import Descriptors, Difference, Word, compare, describe, summary, words
from lstmabar.library.errors import ToolError
from lstmabar.library.images import spectrogram_png

from .base import ToolContext, ToolOutcome, ToolSpec

TOOL_NAME = "describe_sound"
MAX_SECONDS = 30.0  # longer sounds are described by their first 30 s
ARCHETYPE_SECONDS = 10.0  # as predict_archetypes


class Input(BaseModel):
    audio: AudioInput = Field(description="The sound to describe: a library sound_id, an allowed path, a URL or base64 bytes.")
    compare_to: AudioInput | None = Field(None, description="A second sound, e.g. the one before a refinement: the answer then says how `audio` differs from it (\"darker (centroid 2.1 kHz -> 1.2 kHz)\").")
    archetypes: bool = Field(True, description="Also place the sound among the five archetypes with the LSTMABAR audio tower.")
    spectrogram: bool = Field(True, description="Attach a spectrogram image (both sounds with compare_to).")


class ArchetypeMix(BaseModel):
    weights: dict[str, float] = Field(description="sine, square, sawtooth, triangle, noise; they sum to 1.")
    dominant: str
    confidence: float


class Described(BaseModel):
    label: str = Field(description="Which sound (its id, file, URL or 'uploaded audio').")
    sound_id: str | None = None
    analysed_s: float = Field(description=f"Seconds measured (the first {MAX_SECONDS:g} s at most).")
    summary: str = Field(description="One line: the note, the strongest words, the loudness.")
    note: str | None = Field(None, description="The note, e.g. 'A4 +3 cents', when the sound is clearly pitched.")
    f0_hz: float | None = None
    loudness_lufs: float | None = Field(None, description="ITU-R BS.1770 integrated loudness.")
    words: list[Word] = Field(description="Producer words with their evidence, strongest first.")
    archetypes: ArchetypeMix | None = Field(None, description="The LSTMABAR audio tower's archetype mix (first 10 s), when asked and available.")
    descriptors: Descriptors


class Output(BaseModel):
    sound: Described
    compared_to: Described | None = None
    differences: list[Difference] = Field(default_factory=list, description="How `audio` differs from `compare_to`, largest change first; only changes beyond each descriptor's noticeable step.")
    notes: list[str] = Field(default_factory=list)


def _load(inp: AudioInput, ctx: ToolContext, notes: list[str]) -> LoadedAudio:
    loaded = load_audio_input(inp, ctx.library, ctx.config)
    if loaded.audio.duration > MAX_SECONDS:
        notes.append(f"{loaded.label} lasts {loaded.audio.duration:.1f} s; only its first {MAX_SECONDS:g} s were measured")
    return loaded


def _archetypes(ctx: ToolContext, mono: np.ndarray, sr: int, notes: list[str]) -> ArchetypeMix | None:
    try:
        emb = ctx.embedder("lstmabar")
    except ToolError as exc:
        notes.append(f"no archetype mix: {exc}")
        return None
    if not hasattr(emb, "predict_audio"):
        notes.append("no archetype mix: the loaded 'lstmabar' embedder has no archetype head")
        return None
    p = emb.predict_audio(mono[: int(ARCHETYPE_SECONDS * sr)], sr)[0]
    if not p.in_distribution:
        notes.append(f"no archetype mix: {p.note}")
        return None
    return ArchetypeMix(weights={k: round(float(v), 4) for k, v in p.weights.items()}, dominant=p.dominant, confidence=round(float(p.confidence), 4))


def _describe(loaded: LoadedAudio, ctx: ToolContext, inp: Input, notes: list[str]) -> tuple[Described, np.ndarray]:
    a = loaded.audio
    n = min(a.frames, int(MAX_SECONDS * a.sample_rate))
    x = a.samples[:, :n]
    d = describe(x, a.sample_rate)
    ctx.check_cancelled()
    mono = x.mean(axis=0)
    mix = _archetypes(ctx, mono, a.sample_rate, notes) if inp.archetypes and not d.silent else None
    return Described(
        label=loaded.label,
        sound_id=loaded.sound_id,
        analysed_s=round(n / a.sample_rate, 4),
        summary=summary(d),
        note=d.pitch.note if d.pitch.pitched else None,
        f0_hz=d.pitch.f0_hz if d.pitch.pitched else None,
        loudness_lufs=d.loudness.integrated_lufs,
        words=words(d),
        archetypes=mix,
        descriptors=d,
    ), mono


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    notes: list[str] = []
    loaded = _load(inp.audio, ctx, notes)
    other = _load(inp.compare_to, ctx, notes) if inp.compare_to is not None else None  # both load before any work
    ctx.progress(0, 2, "measuring")
    main, mono = _describe(loaded, ctx, inp, notes)
    ref = ref_mono = None
    if other is not None:
        ctx.progress(1, 2, "measuring the second sound")
        ref, ref_mono = _describe(other, ctx, inp, notes)
    diffs = compare(ref.descriptors, main.descriptors) if ref is not None else []
    images = []
    if inp.spectrogram:
        panels = [(f"{main.label}: {main.summary}"[:90], mono, loaded.audio.sample_rate)]
        if ref is not None and other is not None:
            panels.insert(0, (f"{ref.label}: {ref.summary}"[:90], ref_mono, other.audio.sample_rate))
        images.append(spectrogram_png(panels, height=2.4))
    ctx.progress(2, 2, "done")
    text = f"{main.label} ({main.descriptors.duration_s:.2f} s, {main.descriptors.channels} ch): {main.summary}."
    if main.archetypes:
        top = sorted(main.archetypes.weights.items(), key=lambda kv: -kv[1])[:2]
        text += f" Archetypes: mostly {main.archetypes.dominant} ({', '.join(f'{k} {v:.0%}' for k, v in top)})."
    if main.words:
        text += " Evidence: " + "; ".join(w.evidence for w in main.words[:4]) + "."
    if ref is not None:
        text += (f" Compared with {ref.label} ({ref.summary}): " + ", ".join(d.evidence for d in diffs[:6]) + "."
                 if diffs else f" Compared with {ref.label}: no difference beyond the noticeable steps.")
    if notes:
        text += " Notes: " + "; ".join(notes) + "."
    return ToolOutcome(output=Output(sound=main, compared_to=ref, differences=diffs, notes=notes), summary=text, images=images)


TOOL = ToolSpec(
    name=TOOL_NAME,
    title="Describe a sound",
    description=(
        "Measure a sound and say what it is in a producer's words, to hear it before deciding the next step or to check "
        "that a change did what was asked. Returns the descriptors in units (note and pitch movement, loudness in LUFS, "
        "spectral centroid and band energies incl. the 40 Audealize EQ bands, attack/decay/sustain/release, tremolo, "
        "stereo width, a reverberance estimate), words with their evidence (e.g. 'bright: centroid 4.5 kHz, 85th "
        "percentile of the reference set' -- thresholds are percentiles of real recordings), the archetype mix from the "
        "LSTMABAR audio tower and a spectrogram. With compare_to, the differences in words and numbers (e.g. 'darker "
        "(centroid 2.1 kHz -> 1.2 kHz), slower attack (12 ms -> 240 ms)'). Read-only: nothing is stored."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
)
