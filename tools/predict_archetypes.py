"""predict_archetypes: LSTMABAR -- a description and/or a sound -> five archetype weights.

The project's own two-tower model (``models/lstmabar``) places the input among sine, square,
sawtooth, triangle and noise, says which dominates and how sure it is, and renders the predicted
mix with the archetype engine (saved in the library with its parameters). Text the model cannot
relate to its training vocabulary, empty text and silent audio get an explicit answer instead of
confident-looking weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.audio_input import AudioInput, load_audio_input
from lstmabar.library.audio_io import preview_wav
from lstmabar.library.errors import ToolError
from lstmabar.models.synth.archetype import ARCHETYPES, ArchetypeParams, render_archetypes

from .base import Seed, SoundOut, ToolContext, ToolOutcome, ToolSpec

PREVIEW_RATE = 48_000
MAX_BATCH = 32
AUDIO_SECONDS = 10.0


class Input(BaseModel):
    text: str | None = Field(None, max_length=500, description='A description of a sound, e.g. "a warm, mellow pad".')
    texts: list[str] | None = Field(
        None, max_length=MAX_BATCH, description=f"Several descriptions at once (up to {MAX_BATCH}); one prediction each."
    )
    audio: AudioInput | None = Field(
        None, description=f"A sound to place among the archetypes (its first {AUDIO_SECONDS:g} s). With text, both are combined."
    )
    render: bool = Field(True, description="Render each predicted mix with the archetype engine and save it in the library.")
    midi_note: float = Field(57.0, ge=24, le=96, description="Pitch of the rendered preview (MIDI note; 57 = A3).")
    seconds: float = Field(2.0, ge=0.5, le=8.0, description="Length of the rendered preview.")
    seed: Seed = Field(0, description="Seed of the preview's noise.")


class Prediction(BaseModel):
    input: str = Field(description="What was predicted from (the text, or a label of the audio).")
    weights: dict[str, float] = Field(description="sine, square, sawtooth, triangle, noise; they sum to 1.")
    dominant: str = Field(description='The archetype with the largest weight, or "none" when the input could not be used.')
    confidence: float = Field(description="0..1: how far the dominant weight stands above an even mix (lowered for unfamiliar text).")
    in_distribution: bool = Field(description="False when the input is empty, silent or unlike anything the model learned.")
    familiarity: float = Field(description="Text: best cosine to the training vocabulary/captions (MiniLM); audio: 1.")
    note: str = ""
    sound: SoundOut | None = Field(None, description="The rendered archetype mix, when rendered.")
    engine_params: dict[str, Any] | None = Field(None, description="Archetype-engine parameters of the rendered mix (physical units).")


class Output(BaseModel):
    predictions: list[Prediction]
    model: str
    notes: list[str] = Field(default_factory=list)


def _model(ctx: ToolContext):
    emb = ctx.embedder("lstmabar")
    if not hasattr(emb, "predict_text"):
        raise ToolError("The loaded 'lstmabar' embedder has no archetype head; reinstall the package with its weights.")
    return emb


def _engine_params(weights: dict[str, float], inp: Input) -> ArchetypeParams:
    w = [[weights[a] for a in ARCHETYPES]]
    return ArchetypeParams.make(
        w, midi_f0=inp.midi_note, attack=0.02, decay=0.3, sustain=0.7, release=min(0.4, inp.seconds / 4),
        cutoff=12000.0, resonance=0.707, duration=max(0.1, inp.seconds - min(0.4, inp.seconds / 4) - 0.05),
    )


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    texts: list[str] = []
    if inp.text is not None:
        texts.append(inp.text)
    if inp.texts:
        texts.extend(inp.texts)
    if not texts and inp.audio is None:
        raise ToolError("Give a description (text), several (texts), a sound (audio), or text and audio together.")
    if inp.audio is not None and len(texts) > 1:
        raise ToolError("With audio, give at most one description (text); send several descriptions without audio.")
    emb = _model(ctx)
    ctx.progress(0, 3, "predicting")
    preds: list[tuple[str, Any]] = []
    notes: list[str] = []
    if inp.audio is not None:
        loaded = load_audio_input(inp.audio, ctx.library, ctx.config, mono=True, max_seconds=None)
        x = loaded.audio.samples[0][: int(AUDIO_SECONDS * loaded.audio.sample_rate)]
        if loaded.audio.duration > AUDIO_SECONDS:
            notes.append(f"only the first {AUDIO_SECONDS:g} s of {loaded.label} were used")
        if texts:
            p = emb.predict_both(texts[0], x, loaded.audio.sample_rate)
            preds.append((f"{texts[0]!r} + {loaded.label}", p))
        else:
            preds.append((loaded.label, emb.predict_audio(x, loaded.audio.sample_rate)[0]))
    else:
        for t, p in zip(texts, emb.predict_text(texts)):
            preds.append((t, p))
    ctx.progress(1, 3, "rendering")
    # render everything first, store only once every render succeeded (no half-written results)
    rendered: list[tuple[np.ndarray | None, ArchetypeParams | None]] = []
    for _label, p in preds:
        ctx.check_cancelled()
        if inp.render and p.in_distribution:
            params = _engine_params(p.weights, inp)
            with torch.no_grad():
                y = render_archetypes(params, sample_rate=PREVIEW_RATE, seconds=inp.seconds, seed=inp.seed)[0].numpy()
            rendered.append((y.astype(np.float32), params))
        else:
            rendered.append((None, None))
    ctx.progress(2, 3, "saving")
    out_preds: list[Prediction] = []
    records = []
    previews = []
    for (label, p), (y, params) in zip(preds, rendered):
        sound = None
        phys = None
        if y is not None and params is not None:
            phys = params.physical(0)
            rec = ctx.library.add(
                y, PREVIEW_RATE, tool="predict_archetypes", prompt=label,
                params={"archetype_engine": phys, "normalized": [round(float(v), 6) for v in params.normalized()[0]]},
                scores={"confidence": p.confidence, "familiarity": p.familiarity},
                extra={"dominant": p.dominant, "weights": p.weights},
                parents=[inp.audio.sound_id] if inp.audio is not None and inp.audio.sound_id else (),
            )
            records.append(rec)
            sound = SoundOut.of(rec)
            if len(previews) < 4:
                previews.append(preview_wav(y, PREVIEW_RATE))
        out_preds.append(Prediction(input=label, weights=p.weights, dominant=p.dominant, confidence=p.confidence,
                                    in_distribution=p.in_distribution, familiarity=p.familiarity, note=p.note,
                                    sound=sound, engine_params=phys))
    ctx.progress(3, 3, "done")
    parts = []
    for pr in out_preds:
        if pr.in_distribution:
            top = sorted(pr.weights.items(), key=lambda kv: -kv[1])[:3]
            mix = ", ".join(f"{k} {v:.0%}" for k, v in top)
            parts.append(f"{pr.input!s}: mostly {pr.dominant} ({mix}; confidence {pr.confidence:.2f})"
                         + (f" -> {pr.sound.id}" if pr.sound else ""))
        else:
            parts.append(f"{pr.input!s}: no prediction -- {pr.note}")
    summary = "LSTMABAR archetypes. " + " | ".join(parts) + (" " + "; ".join(notes) if notes else "")
    return ToolOutcome(
        output=Output(predictions=out_preds, model=emb.name, notes=notes),
        summary=summary,
        audio_previews=previews,
        sounds=records,
    )


TOOL = ToolSpec(
    name="predict_archetypes",
    title="Predict archetype mix (LSTMABAR)",
    description=(
        "Place a sound description and/or a sound among five archetypes -- sine (smooth, mellow), square (harsh, "
        "digital, hollow), sawtooth (bright, cutting, buzzy), triangle (soft, muted), noise (airy, textured) -- with "
        "the project's LSTMABAR model. Returns the five weights, the dominant archetype and a confidence, and renders "
        "the predicted mix with the archetype engine (saved in the library with its parameters, re-usable as a "
        "starting timbre). Accepts a batch of descriptions. Empty or nonsense text and silent audio are reported as "
        "such (in_distribution false) rather than given weights."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    long_running=False,
)
