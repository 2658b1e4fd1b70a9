"""start_job, job_status, cancel_job: the job form of the long tools, for work that cannot answer
within a chat client's time limit (large time budgets, batches of calls, long audio).

The jobs themselves run in the server (``server/jobs.py``, reached through ``ctx.jobs``) on the
same worker pool as direct calls; these tools only validate, start, report and cancel.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.errors import ToolError

from .base import ToolContext, ToolOutcome, ToolSpec

LONG_TOOLS = "synthesize_from_text, optimize_fx, match_sound, interpolate_sounds"
MAX_WAIT_S = 50.0
JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobOut(BaseModel):
    job_id: str
    tool: str
    state: JobState = Field(description="queued (waiting for a worker), running, done, failed or cancelled.")
    progress: float | None = Field(None, description="0-1 when the tool reports how far it is.")
    message: str | None = Field(None, description="The job's latest progress message.")
    queue_position: int | None = Field(None, description="Place in line while queued.")
    created_at: str = Field(description="When the job was started (RFC 3339).")
    elapsed_s: float = Field(description="Seconds since the job was started (until it finished, once finished).")
    result: dict[str, Any] | None = Field(None, description="When done: the structured result the tool returns when called directly.")
    error: str | None = Field(None, description="When failed or cancelled: why.")


def _jobs(ctx: ToolContext) -> Any:
    if ctx.jobs is None:
        raise ToolError("Jobs are not available here (they need the running lstmabar server); call the tool directly.")
    return ctx.jobs


def _out(job: Any) -> JobOut:
    return JobOut(
        job_id=job.id,
        tool=job.tool,
        state=job.state,
        progress=job.progress,
        message=job.message,
        queue_position=job.queue_position,
        created_at=job.created_at,
        elapsed_s=round(job.elapsed(), 2),
        result=job.outcome.output.model_dump(mode="json") if job.outcome is not None else None,
        error=job.error,
    )


def _outcome(job: Any, prefix: str = "") -> ToolOutcome:
    out = _out(job)
    if job.state == "done" and job.outcome is not None:
        inner = job.outcome
        return ToolOutcome(output=out, summary=f"{prefix}Job {job.id} ({job.tool}) is done after {out.elapsed_s:.1f} s. {inner.summary}",
                           audio_previews=inner.audio_previews, images=inner.images, sounds=inner.sounds)
    if job.state in ("failed", "cancelled"):
        return ToolOutcome(output=out, summary=f"{prefix}Job {job.id} ({job.tool}) {job.state}: {job.error}")
    where = f"queued at position {job.queue_position}" if job.state == "queued" and job.queue_position else job.state
    pct = f", {100 * job.progress:.0f} %" if job.progress is not None else ""
    return ToolOutcome(output=out, summary=(
        f"{prefix}Job {job.id} ({job.tool}) is {where}{pct}, {out.elapsed_s:.1f} s after it was started"
        + (f": {job.message}" if job.message else "")
        + f". Poll job_status with job_id={job.id!r} (wait_s up to {MAX_WAIT_S:g} s waits for it); cancel_job stops it."
    ))


# ---------------------------------------------------------------------------- start_job
class StartInput(BaseModel):
    tool: str = Field(description=f"The tool to run: one of {LONG_TOOLS}.")
    arguments: dict[str, Any] = Field(default_factory=dict, description="That tool's arguments, exactly as for a direct call (e.g. a larger time_budget_s).")


def run_start(inp: StartInput, ctx: ToolContext) -> ToolOutcome:
    job = _jobs(ctx).start(inp.tool.strip(), inp.arguments)
    return _outcome(job, prefix="Started. ")


START = ToolSpec(
    name="start_job",
    title="Start a long tool call in the background",
    description=(
        f"Run one of the long tools ({LONG_TOOLS}) in the background and get a job id at once. Use it instead of a "
        "direct call when the work may take longer than about 40 s, since chat clients cut calls off at about 60 s: "
        "a time_budget_s above 40, long audio, or several calls in a row. Pass the tool's name and its usual arguments. "
        "Then call job_status with the id (its wait_s waits up to 50 s for the job to end) until state is 'done' and read "
        "its result, which is what the tool returns directly; cancel_job stops a job. Jobs share the workers with direct "
        "calls; finished results are kept for an hour."
    ),
    input_model=StartInput,
    output_model=JobOut,
    run=run_start,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False),
)


# ---------------------------------------------------------------------------- job_status
class StatusInput(BaseModel):
    job_id: str = Field(description="The id start_job returned (job_ and 12 hex digits).")
    wait_s: float = Field(0.0, ge=0.0, le=MAX_WAIT_S, description=f"Wait up to this many seconds (at most {MAX_WAIT_S:g}) for the job to finish before answering; 0 answers at once.")


def run_status(inp: StatusInput, ctx: ToolContext) -> ToolOutcome:
    jobs = _jobs(ctx)
    job = jobs.get(inp.job_id)
    end = time.monotonic() + inp.wait_s
    seen: tuple[float | None, str | None] = (None, None)
    while not job.done_event.is_set() and time.monotonic() < end:
        job.done_event.wait(min(0.5, max(0.0, end - time.monotonic())))
        if (job.progress, job.message) != seen:  # this call's progress follows the job's while it waits
            seen = (job.progress, job.message)
            ctx.progress(job.progress or 0.0, 1.0, job.message)
        ctx.check_cancelled()
    return _outcome(job)


STATUS = ToolSpec(
    name="job_status",
    title="State and result of a background job",
    description=(
        "The state of a job started with start_job: queued, running (with progress and its latest message), done (with "
        "the tool's full result, sounds and previews), failed (with the reason) or cancelled. wait_s waits up to 50 s "
        "for the job to end, so one call can replace several polls."
    ),
    input_model=StatusInput,
    output_model=JobOut,
    run=run_status,
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)


# ---------------------------------------------------------------------------- cancel_job
class CancelInput(BaseModel):
    job_id: str = Field(description="The id start_job returned.")


def run_cancel(inp: CancelInput, ctx: ToolContext) -> ToolOutcome:
    job = _jobs(ctx).cancel(inp.job_id)
    if job.state in ("done", "failed"):
        return _outcome(job, prefix="Nothing to cancel: it had already finished. ")
    if job.state != "cancelled":
        return _outcome(job, prefix="Cancel requested; it stops at its next check and saves nothing. ")
    return _outcome(job)


CANCEL = ToolSpec(
    name="cancel_job",
    title="Cancel a background job",
    description="Stop a job started with start_job. A cancelled job saves nothing; a job that already finished keeps its result.",
    input_model=CancelInput,
    output_model=JobOut,
    run=run_cancel,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
)

TOOLS = [START, STATUS, CANCEL]
