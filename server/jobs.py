"""Background jobs: a long tool call that answers with a job id at once and is polled for its result.

A job is one tool call run on the same worker pool as direct calls (so it waits in the same line and
counts against the same number of calls computed at once); there is no queue of its own. Its state,
progress and, once finished, its outcome live in memory for ``KEEP_FINISHED_S``. Cancelling a job
sets its cancel event (the tool stops at its next progress check and saves nothing) and, while it
still waits for a worker, takes it out of the line. The tools that drive this are in tools/jobs.py.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import anyio
import anyio.abc
import anyio.lowlevel
from pydantic import ValidationError

from lstmabar.library.errors import ToolCancelled, ToolError, UnknownSoundError
from lstmabar.tools.base import ToolContext, ToolOutcome, ToolSpec, validation_text

from .workers import WorkerPool

log = logging.getLogger("lstmabar")

JOB_ID = re.compile(r"^job_[0-9a-f]{12}$")
KEEP_FINISHED_S = 3600.0  # a finished job's result is kept this long
MAX_FINISHED = 100  # and at most this many finished jobs
MAX_ACTIVE = 16  # jobs queued or running at once
FINISHED = ("done", "failed", "cancelled")

ContextFactory = Callable[..., ToolContext]


@dataclass
class Job:
    id: str
    tool: str
    arguments: dict[str, Any]
    created_at: str  # RFC 3339 with offset
    created: float = field(default_factory=time.monotonic)
    state: str = "queued"
    progress: float | None = None  # 0-1 when the tool reports a total
    message: str | None = None
    queue_position: int | None = None
    started: float | None = None
    finished: float | None = None
    outcome: ToolOutcome | None = None
    error: str | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)
    scope: anyio.CancelScope | None = None

    def record(self, done: float, total: float | None, message: str | None) -> None:
        if total:
            self.progress = round(min(1.0, max(0.0, done / total)), 4)
        if message:
            self.message = message

    def finish(self, state: str, *, outcome: ToolOutcome | None = None, error: str | None = None) -> None:
        if self.state in FINISHED:
            return
        self.state, self.outcome, self.error = state, outcome, error
        self.finished = time.monotonic()
        self.queue_position = None
        if state == "done":
            self.progress = 1.0
        self.done_event.set()

    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.created


class JobManager:
    """The jobs of one server process. ``attach`` is called from the server's lifespan with a task
    group that owns the job tasks; leaving the lifespan cancels every unfinished job."""

    def __init__(self, pool: WorkerPool, specs: list[ToolSpec[Any]], make_context: ContextFactory) -> None:
        self.pool = pool
        self.specs = {s.name: s for s in specs if s.long_running}
        self.make_context = make_context
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._tg: anyio.abc.TaskGroup | None = None
        self._token: Any = None

    # ---------------------------------------------------------------- lifecycle
    def attach(self, tg: anyio.abc.TaskGroup) -> None:
        self._tg, self._token = tg, anyio.lowlevel.current_token()

    def detach(self) -> None:
        self._tg = self._token = None

    @property
    def tool_names(self) -> list[str]:
        return sorted(self.specs)

    # ---------------------------------------------------------------- called from tool threads
    def start(self, tool: str, arguments: dict[str, Any]) -> Job:
        if tool not in self.specs:
            raise ToolError(
                f"{tool!r} cannot run as a job. Jobs are for the long tools: {', '.join(self.tool_names)}; "
                "call the others directly."
            )
        spec = self.specs[tool]
        try:
            inp = spec.input_model(**(arguments or {}))
        except ValidationError as exc:
            raise ToolError(f"Invalid arguments for {tool}: {validation_text(exc)}. Nothing was started.") from exc
        if self._tg is None:
            raise ToolError("Jobs need the running server (its lifespan has not started or has ended); call the tool directly.")
        with self._lock:
            self._prune()
            active = [j for j in self._jobs.values() if j.state not in FINISHED]
            if len(active) >= MAX_ACTIVE:
                raise ToolError(
                    f"{len(active)} jobs are already queued or running (the limit is {MAX_ACTIVE}); wait for one to finish "
                    "(job_status) or cancel one (cancel_job), then start this again."
                )
            job = Job(id=f"job_{secrets.token_hex(6)}", tool=tool, arguments=dict(arguments or {}),
                      created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            self._jobs[job.id] = job
        anyio.from_thread.run_sync(self._tg.start_soon, self._run, job, spec, inp, token=self._token)
        return job

    def get(self, job_id: str) -> Job:
        job_id = (job_id or "").strip()
        if not JOB_ID.match(job_id):
            raise ToolError(f"{job_id!r} is not a job id: ids look like 'job_' and 12 hex digits, as start_job returned them.")
        with self._lock:
            self._prune()
            job = self._jobs.get(job_id)
        if job is None:
            raise ToolError(
                f"No job {job_id}: it never existed in this server process, or it finished more than "
                f"{KEEP_FINISHED_S / 3600:g} h ago (results are kept that long, at most {MAX_FINISHED}). "
                "Its saved sounds are still in the library (list_sounds)."
            )
        return job

    def cancel(self, job_id: str, wait_s: float = 5.0) -> Job:
        job = self.get(job_id)
        if job.state in FINISHED:
            return job
        job.cancel_event.set()
        if job.scope is not None and self._token is not None:
            try:
                anyio.from_thread.run_sync(job.scope.cancel, token=self._token)
            except RuntimeError:  # the event loop is gone; the cancel event still stops the thread
                pass
        job.done_event.wait(wait_s)
        return job

    # ---------------------------------------------------------------- on the event loop
    async def _run(self, job: Job, spec: ToolSpec[Any], inp: Any) -> None:
        def work() -> ToolOutcome:
            ctx = self.make_context(progress_fn=job.record, cancel_event=job.cancel_event)
            ctx.begun = ctx.started  # a job's budget counts from when it starts computing
            job.state, job.started, job.queue_position = "running", time.monotonic(), None
            with ctx.keepalive():
                return spec.run(inp, ctx)

        async def on_queued(position: int) -> None:
            job.queue_position = position
            job.message = f"queued: position {position} in line ({self.pool.size} running)"

        try:
            with anyio.CancelScope() as scope:
                job.scope = scope
                if job.cancel_event.is_set():
                    scope.cancel()
                try:
                    outcome = await self.pool.run(work, cancel_event=job.cancel_event, on_queued=on_queued)
                    job.finish("done", outcome=outcome)
                except ToolCancelled:
                    job.finish("cancelled", error="Cancelled; nothing was saved.")
                except (ToolError, UnknownSoundError) as exc:
                    job.finish("failed", error=str(exc))
                except ValidationError as exc:
                    job.finish("failed", error=f"{spec.name} got invalid input: {validation_text(exc)}")
                except Exception as exc:  # an unexpected failure is reported by job_status; details go to the log
                    log.exception("job %s (%s) failed", job.id, spec.name)
                    job.finish("failed", error=f"{spec.name} failed unexpectedly ({exc.__class__.__name__}: {exc}). The library is unchanged.")
        finally:  # cancelled while waiting for a worker, or the server is shutting down
            job.finish("cancelled", error="Cancelled; nothing was saved.")

    def _prune(self) -> None:
        now = time.monotonic()
        done = sorted((j for j in self._jobs.values() if j.state in FINISHED), key=lambda j: j.finished or 0.0)
        for i, j in enumerate(done):
            if now - (j.finished or now) > KEEP_FINISHED_S or i < len(done) - MAX_FINISHED:
                del self._jobs[j.id]
