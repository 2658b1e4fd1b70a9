"""list_sounds: recent library sounds, filterable by tool, prompt text and parent."""

from __future__ import annotations

from datetime import datetime

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.records import Aggregate

from .base import SoundOut, ToolContext, ToolOutcome, ToolSpec


class Input(BaseModel):
    tool: str | None = Field(None, description="Only sounds made by this tool, e.g. synthesize_from_text.")
    prompt_contains: str | None = Field(None, max_length=200, description="Only sounds whose prompt contains this text.")
    parent: str | None = Field(None, description="Only sounds derived from this sound id.")
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000_000, description="Skip this many of the newest matches first (paging with limit).")


class SoundSummary(BaseModel):
    sound: SoundOut
    tool: str
    prompt: str | None
    created_at: datetime
    parents: list[str]
    scores: dict
    feedback: Aggregate


class Output(BaseModel):
    sounds: list[SoundSummary]
    total_in_library: int


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    lib = ctx.library
    recs = lib.list(tool=inp.tool, prompt_contains=inp.prompt_contains, parent=inp.parent, limit=inp.limit, offset=inp.offset)
    items = [
        SoundSummary(
            sound=SoundOut.of(r),
            tool=r.tool,
            prompt=r.prompt,
            created_at=r.created_at,
            parents=r.parents,
            scores=r.scores,
            feedback=lib.aggregate(r.id),
        )
        for r in recs
    ]
    total = lib.count()
    if items:
        lines = "; ".join(f"{s.sound.id} ({s.tool}{', ' + repr(s.prompt) if s.prompt else ''})" for s in items[:10])
        summary = f"{len(items)} sound(s) match (library holds {total}). Newest first: {lines}."
    else:
        summary = f"No sounds match those filters (library holds {total})."
    return ToolOutcome(output=Output(sounds=items, total_in_library=total), summary=summary)


TOOL = ToolSpec(
    name="list_sounds",
    title="List library sounds",
    description="List recent sounds in the library, newest first, with their prompts, lineage, scores and ratings. "
    "Filter by the tool that made them, text in the prompt, or a parent sound id.",
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)
