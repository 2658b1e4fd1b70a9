"""interpolate_sounds: walk from one synth patch to another in normalised parameter space.

CTAG reports that its parameter space interpolates meaningfully between two prompts' results; this
tool renders ``steps`` patches strictly between two library sounds' Voice patches (optionally with
the ends), saves each with lineage to both, and, when both ends carry prompts, scores every step
against both prompts so the transition can be read without listening.
"""

from __future__ import annotations

from typing import Any

import torch
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.audio_io import preview_wav
from lstmabar.library.errors import ToolError
from lstmabar.library.images import spectrogram_png
from lstmabar.models.search.describe import describe, words_for
from lstmabar.models.search.objective import TextAudioObjective
from lstmabar.models.synth.params import VOICE_PARAMS
from lstmabar.models.synth.patch import Patch
from lstmabar.models.synth.sounds import OUTPUT_RATE, cached_voice, render_final, score_audio, stored_patch

from .base import Seed, SoundOut, ToolContext, ToolOutcome, ToolSpec

TOOL_NAME = "interpolate_sounds"


class Input(BaseModel):
    a: str = Field(description="ID of the first library sound with a Voice patch (e.g. a synthesize_from_text result).")
    b: str = Field(description="ID of the second library sound with a Voice patch.")
    steps: int = Field(3, ge=1, le=16, description="Number of sounds strictly between a and b (evenly spaced in normalised parameter space).")
    include_ends: bool = Field(False, description="Also re-render a and b themselves (t = 0 and 1) into the sequence (not saved again).")
    seconds: float | None = Field(None, ge=0.25, le=6.0, description="Length of each rendered sound (default: the length of a).")
    seed: Seed = Field(0, description="Seed for the synth's noise source.")
    score: bool = Field(True, description="Score each step against both ends' prompts with the embedder (when both have prompts).")
    embedder: str | None = Field(None, description="Embedder for the scores (default: the configured one).")


class Step(BaseModel):
    t: float = Field(description="0 = sound a, 1 = sound b.")
    sound: SoundOut | None = Field(None, description="The saved sound (null for the re-rendered ends).")
    source: str | None = Field(None, description="For the ends: the library ID they re-render.")
    description: str
    descriptors: dict[str, Any]
    scores: dict[str, float] = Field(default_factory=dict, description="Cosine score against each end's prompt.")


class Output(BaseModel):
    a: str
    b: str
    steps: list[Step]
    changed_most: list[str] = Field(description="The parameters that differ most between a and b (normalised distance), largest first.")


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    if inp.a == inp.b:
        raise ToolError("a and b are the same sound; pass two different IDs.")
    recs, patches = [], []
    for sid in (inp.a, inp.b):
        try:
            rec = ctx.library.get(sid)
        except Exception as exc:
            raise ToolError(f"No sound {sid!r} in the library; pass the ID of a synthesize_from_text result.") from exc
        p = stored_patch(rec.extra, rec.params)
        if p is None:
            raise ToolError(f"Sound {sid} has no Voice synth patch (it came from {rec.tool}); interpolate_sounds needs two synth patches.")
        recs.append(rec)
        patches.append(p)
    pa, pb = patches
    seconds = inp.seconds or round(recs[0].duration_s, 3)
    seconds = float(min(max(seconds, 0.25), 6.0))
    ts = [i / (inp.steps + 1) for i in range(1, inp.steps + 1)]
    if inp.include_ends:
        ts = [0.0] + ts + [1.0]
    params = torch.stack([Patch.interpolate(Patch.from_normalized(pa), Patch.from_normalized(pb), t).normalized().float() for t in ts])
    ctx.progress(0, len(ts) + 1, "rendering")
    voice = cached_voice(ctx.models, OUTPUT_RATE, seconds)
    audio = render_final(voice, params, inp.seed)

    prompts = [r.prompt for r in recs]
    score_rows: list[dict[str, float]] = [{} for _ in ts]
    if inp.score and all(prompts):
        embedder = ctx.embedder(inp.embedder)
        ctx.check_cancelled()
        for label, prompt in zip(("a", "b"), prompts):
            text = TextAudioObjective(lambda x: x, embedder, prompt, OUTPUT_RATE).text
            for row, v in zip(score_rows, score_audio(embedder, text, audio, OUTPUT_RATE)):
                row[f"{label}: {prompt}"] = round(float(v), 4)
    ctx.check_cancelled()

    steps: list[Step] = []
    records = []
    previews: list[bytes] = []
    panels = []
    for i, t in enumerate(ts):
        ctx.progress(i + 1, len(ts) + 1, f"saving step {i + 1}/{len(ts)}")
        mono = audio[i]
        d = describe(mono, OUTPUT_RATE)
        if t in (0.0, 1.0):
            src = inp.a if t == 0.0 else inp.b
            steps.append(Step(t=t, source=src, description=words_for(d), descriptors=d, scores=score_rows[i]))
            panels.append((f"t={t:.2f} ({src})", mono, OUTPUT_RATE))
            previews.append(preview_wav(mono[None, :], OUTPUT_RATE))
            continue
        rec = ctx.library.add(
            mono[None, :],
            OUTPUT_RATE,
            tool=TOOL_NAME,
            prompt=f"between {prompts[0] or inp.a!s} and {prompts[1] or inp.b!s} (t={t:.2f})",
            params=Patch.from_normalized(params[i]).physical(),
            parents=[inp.a, inp.b],
            scores={k: v for k, v in score_rows[i].items()},
            extra={"patch_normalized": [round(float(v), 6) for v in params[i]], "t": t, "a": inp.a, "b": inp.b, "seed": inp.seed, "descriptors": d},
            relation="interpolation",
        )
        records.append(rec)
        steps.append(Step(t=round(t, 4), sound=SoundOut.of(rec), description=words_for(d), descriptors=d, scores=score_rows[i]))
        panels.append((f"t={t:.2f} {rec.id}", mono, OUTPUT_RATE))
        previews.append(preview_wav(mono[None, :], OUTPUT_RATE))
    png = spectrogram_png(panels, height=1.8)
    diff = (pb - pa).abs()
    top = torch.argsort(diff, descending=True)[:6]
    changed = [f"{VOICE_PARAMS[int(i)].name} ({float(diff[i]):.2f})" for i in top if float(diff[i]) > 0]
    out = Output(a=inp.a, b=inp.b, steps=steps, changed_most=changed)
    score_txt = ""
    if score_rows and score_rows[0]:
        keys = list(score_rows[0])
        score_txt = " Scores along the way (a-prompt / b-prompt): " + ", ".join(
            f"t={s.t:.2f}: {s.scores[keys[0]]:.2f}/{s.scores[keys[1]]:.2f}" for s in steps
        ) + "."
    summary = (
        f"Rendered {len(steps)} step(s) between {inp.a} and {inp.b}; saved {len(records)} new sound(s) "
        f"({', '.join(r.id for r in records)}), each linked to both. Largest parameter changes: {', '.join(changed[:4])}."
        f"{score_txt} Refine any step with synthesize_from_text start_from=<id>."
    )
    return ToolOutcome(output=out, summary=summary, audio_previews=previews, images=[png], sounds=records)


TOOL = ToolSpec(
    name=TOOL_NAME,
    title="Interpolate between two synth sounds",
    description=(
        "Render sounds part-way between two library sounds' Voice synth patches (e.g. two synthesize_from_text results), "
        "evenly spaced in normalised parameter space; each step is saved with lineage to both ends and scored against "
        "both prompts."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    long_running=True,
)
