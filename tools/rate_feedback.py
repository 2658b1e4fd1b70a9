"""rate_feedback: store a human judgement of a sound (rating and/or pairwise preference)."""

from __future__ import annotations

from typing import Literal

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.consent import require_keep
from lstmabar.library.records import Aggregate
from lstmabar.library.store import SoundLibrary

from .base import ToolContext, ToolOutcome, ToolSpec


class Input(BaseModel):
    sound_id: str = Field(description="The sound being judged (the preferred one, for a pairwise judgement).")
    rating: int | None = Field(None, ge=1, le=5, description="1 (bad) to 5 (excellent).")
    preferred_over: str | None = Field(None, description="Another sound id that the listener liked less than sound_id.")
    comment: str | None = Field(None, max_length=4000, description="The listener's own words about the sound.")
    tags: list[str] = Field(default_factory=list, max_length=32, description="Short labels, e.g. 'too harsh'.")
    rater_id: str | None = Field(None, max_length=128, description="Who rated (pseudonymous id).")
    request_id: str | None = Field(
        None, max_length=128, description="Client-chosen id for safe retries: the same call again is stored once; reusing the id for another sound or judgement is an error."
    )


class Output(BaseModel):
    feedback_id: str
    created: bool = Field(description="False when request_id was seen before and nothing new was stored.")
    aggregate: Aggregate
    other_aggregate: Aggregate | None = Field(None, description="Aggregate of preferred_over, when given.")
    rating: int | None = Field(None, description="The stored rating (the first one, for a repeated request_id).")
    preferred_over: str | None = Field(None, description="The stored preference (likewise).")


# Where a judgement came from, kept with it in the database: "mcp" the rate_feedback tool (what the
# assistant passed on), "web" the /rate page, "app" the studio app in the chat, "elicitation" a form the
# server asked the person to fill in.
FeedbackSource = Literal["mcp", "web", "app", "elicitation"]


def record(inp: Input, library: SoundLibrary, *, source: FeedbackSource = "mcp") -> Output:
    """Store one judgement durably. Every way in (the tool, the /rate page, the studio app, elicitation)
    comes through here, so each follows the same rules and the person's choice about keeping ratings."""
    require_keep(library.config)
    rec, created = library.add_feedback(
        inp.sound_id,
        rating=inp.rating,
        preferred_over=inp.preferred_over,
        comment=inp.comment,
        tags=inp.tags,
        rater_id=inp.rater_id,
        request_id=inp.request_id,
        source=source,
    )
    return Output(
        feedback_id=rec.id,
        created=created,
        aggregate=library.aggregate(rec.sound_id),
        other_aggregate=library.aggregate(rec.preferred_over) if rec.preferred_over else None,
        rating=rec.rating,
        preferred_over=rec.preferred_over,
    )


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    out = record(inp, ctx.library)
    agg = out.aggregate
    what = []
    if out.rating is not None:
        what.append(f"rating {out.rating}/5")
    if out.preferred_over:
        what.append(f"preferred over {out.preferred_over}")
    mean = "unrated" if agg.mean_rating is None else f"mean {agg.mean_rating:.2f} from {agg.rating_count} rating(s)"
    summary = (
        f"{'Recorded' if out.created else 'Already recorded (same request_id)'} feedback {out.feedback_id} for {agg.sound_id}: "
        f"{', '.join(what)}. The sound now has {mean}, {agg.wins} win(s), {agg.losses} loss(es)."
    )
    return ToolOutcome(output=out, summary=summary)


TOOL = ToolSpec(
    name="rate_feedback",
    title="Rate a sound",
    description=(
        "Record a listener's judgement of a library sound: a 1-5 rating and/or a preference for this sound over "
        "another (preferred_over). Stored durably before it answers; pass request_id to make retries safe. "
        "Returns the sound's mean rating and wins/losses. These ratings train the reward model."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)
