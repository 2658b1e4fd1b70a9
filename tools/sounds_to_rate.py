"""sounds_to_rate: which library sounds most need a listener's judgement (fewest ratings, and the
closest not-yet-compared pairs made for the same prompt), so a rating session spends its time where
the reward model learns most."""

from __future__ import annotations

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.errors import ToolError
from lstmabar.models.reward.queue import Candidate, build_queue

from .base import SoundOut, ToolContext, ToolOutcome, ToolSpec


class Input(BaseModel):
    limit: int = Field(5, ge=1, le=50, description="How many single sounds and how many pairs to suggest.")
    prompt_contains: str | None = Field(None, max_length=200, description="Only sounds whose prompt contains this text.")
    tool: str | None = Field(None, max_length=64, description="Only sounds made by this tool, e.g. 'synthesize_from_text'.")
    use_reward: bool = Field(
        True,
        description="Rank pairs by how close the current reward model thinks they are (needs the embedder; "
        "falls back to the sounds' stored scores).",
    )


class SoundToRate(BaseModel):
    sound: SoundOut
    prompt: str | None
    tool: str
    ratings: int = Field(description="1-5 ratings so far.")
    comparisons: int = Field(description="Pairwise judgements that involved this sound.")
    mean_rating: float | None
    reward: float | None = Field(None, description="Reward model's standardised score (0 = average), when a model exists.")


class PairToRate(BaseModel):
    a: SoundToRate
    b: SoundToRate
    prompt: str | None
    gap: float | None = Field(description="How far apart the two are on `basis` (small = hard to call, most informative).")
    basis: str = Field(description="'reward' (reward model prediction), 'score:<name>' (stored score) or 'none'.")


class Output(BaseModel):
    sounds: list[SoundToRate] = Field(description="Least-judged sounds first.")
    pairs: list[PairToRate] = Field(description="Uncompared same-prompt pairs, least-judged and closest first.")
    reward_version: str | None = Field(None, description="Reward model version used to rank pairs, if any.")
    total_feedback: int


def _out(c: Candidate) -> SoundToRate:
    return SoundToRate(
        sound=SoundOut.of(c.record),
        prompt=c.record.prompt,
        tool=c.record.tool,
        ratings=c.ratings,
        comparisons=c.comparisons,
        mean_rating=c.mean_rating,
        reward=None if c.reward is None else round(c.reward, 4),
    )


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    lib = ctx.library
    recs = lib.list(tool=inp.tool, prompt_contains=inp.prompt_contains, limit=150)
    if not recs:
        what = " matching the filters" if (inp.tool or inp.prompt_contains) else ""
        raise ToolError(f"No sounds{what} in the library yet; make or import some first (synthesize_from_text, import_sound).")
    rewards, version = None, None
    if inp.use_reward:
        from lstmabar.models.reward.guidance import registry, score_records

        if registry(ctx).latest() is not None:
            ctx.progress(0, 1, "scoring sounds with the reward model")
            try:
                model, scores = score_records(ctx, recs)
            except ToolError:
                model, scores = None, None
            if model is not None and scores is not None:
                rewards = {r.id: s for r, s in zip(recs, scores)}
                version = model.version
    q = build_queue(lib, limit=inp.limit, records=recs, rewards=rewards)
    out = Output(
        sounds=[_out(c) for c in q.singles],
        pairs=[
            PairToRate(a=_out(p.a), b=_out(p.b), prompt=p.a.record.prompt, gap=None if p.gap is None else round(p.gap, 4), basis=p.basis)
            for p in q.pairs
        ],
        reward_version=version,
        total_feedback=lib.feedback_count(),
    )
    parts = []
    if out.sounds:
        parts.append("least judged: " + ", ".join(f"{s.sound.id} ({s.ratings} rating(s), {s.comparisons} comparison(s))" for s in out.sounds))
    if out.pairs:
        p = out.pairs[0]
        parts.append(
            f"closest uncompared pair for {p.prompt!r}: {p.a.sound.id} vs {p.b.sound.id}"
            + (f" (gap {p.gap:.3f} by {p.basis})" if p.gap is not None else "")
            + f"; {len(out.pairs)} pair(s) in all"
        )
    else:
        parts.append("no uncompared same-prompt pairs")
    summary = (
        f"Sounds that most need a judgement ({out.total_feedback} feedback record(s) so far"
        + (f"; pairs ranked by reward {version}" if version else "")
        + "): "
        + "; ".join(parts)
        + ". Play them to the listener (sound://{id}), then record each answer with rate_feedback "
        "(rating 1-5, and preferred_over for a pair). The /rate page of the HTTP server does the same in a browser."
    )
    return ToolOutcome(output=out, summary=summary)


TOOL = ToolSpec(
    name="sounds_to_rate",
    title="Sounds that need ratings",
    description=(
        "Suggest which library sounds to play to the listener next: the sounds with the fewest ratings and "
        "comparisons, and pairs made for the same prompt that were never compared and are closest in predicted "
        "quality (by the reward model when one exists). Read-only; record the answers with rate_feedback."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)
