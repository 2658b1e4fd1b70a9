"""Background jobs: a long tool call that answers with a job id at once and is polled for its result.

A job is one tool call run on the same worker pool as direct calls (so it waits in the same line and
counts against the same number of calls computed at once); there is no queue of its own. Its state,
progress and, once finished, its outcome live in memory for ``KEEP_FINISHED_S``. Cancelling a job
sets its cancel event (the tool stops at its next progress check and saves nothing) and, while it
still waits for a worker, takes it out of the line. The tools that drive this are in tools/jobs.py.

Every job is also a row in the library's database (library/job_table.py): ``sync`` (run about once a
second by the server) writes the state, progress and a heartbeat of this process's jobs and picks
up cancel requests made elsewhere; the outcome is written when the job ends. So with replicas over
one database, ``job_status`` and ``cancel_job`` work on any of them (``RemoteJob``); a job whose
replica stopped shows as failed once its heartbeat is ``STALE_S`` old. What a row lacks is the
inline audio previews and images: the result, summary and sound links come back, the audio through
the sound:// resources.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import anyio
import anyio.abc
import anyio.lowlevel
from pydantic import BaseModel, ConfigDict, ValidationError

from lstmabar.library.errors import ToolCancelled, ToolError, UnknownSoundError
from lstmabar.tools.base import ToolContext, ToolOutcome, ToolSpec, validation_text

from .workers import WorkerPool

log = logging.getLogger("lstmabar")

JOB_ID = re.compile(r"^job_[0-9a-f]{12}$")
KEEP_FINISHED_S = 3600.0  # a finished job's result is kept this long
MAX_FINISHED = 100  # and at most this many finished jobs
MAX_ACTIVE = 16  # jobs queued or running at once
FINISHED = ("done", "failed", "cancelled")
STALE_S = 60.0  # a running job whose replica has not written a heartbeat for this long is reported failed
REPLICA = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

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
    stored_final: bool = False  # the outcome is in the shared table

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

    def __init__(
        self, pool: WorkerPool, specs: list[ToolSpec[Any]], make_context: ContextFactory, library: Callable[[], Any] | None = None
    ) -> None:
        self.pool = pool
        self.specs = {s.name: s for s in specs if s.long_running}
        self.make_context = make_context
        self._library = library  # the SoundLibrary whose database holds the shared job rows (None: memory only)
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
        if self._library is not None:
            self._library().job_table.insert(
                id=job.id, tool=tool, arguments=job.arguments, replica=REPLICA, state=job.state,
                created_at=datetime.fromisoformat(job.created_at),
            )
        anyio.from_thread.run_sync(self._tg.start_soon, self._run, job, spec, inp, token=self._token)
        return job

    def get(self, job_id: str) -> Job:
        job_id = (job_id or "").strip()
        if not JOB_ID.match(job_id):
            raise ToolError(f"{job_id!r} is not a job id: ids look like 'job_' and 12 hex digits, as start_job returned them.")
        with self._lock:
            self._prune()
            job = self._jobs.get(job_id)
        if job is None and self._library is not None:
            lib = self._library()
            row = lib.job_table.get(job_id)
            if row is not None:
                return RemoteJob(row, lambda: lib.job_table.get(job_id), lib)
        if job is None:
            raise ToolError(
                f"No job {job_id}: it never existed in this server process, or it finished more than "
                f"{KEEP_FINISHED_S / 3600:g} h ago (results are kept that long, at most {MAX_FINISHED}). "
                "Its saved sounds are still in the library (list_sounds)."
            )
        return job

    def cancel(self, job_id: str, wait_s: float = 5.0) -> Any:
        job = self.get(job_id)
        if job.state in FINISHED:
            return job
        if isinstance(job, RemoteJob):  # another replica runs it: it polls this flag about once a second
            job.library.job_table.request_cancel(job.id)
            job.done_event.wait(wait_s)
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
            if self._library is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._store_final, job)

    # ---------------------------------------------------------------- the shared table
    def _store_final(self, job: Job) -> None:
        outcome = job.outcome
        try:
            self._library().job_table.update(  # type: ignore[misc]
                job.id, state=job.state, progress=job.progress, message=job.message, queue_position=None,
                finished_at=datetime.now(timezone.utc), elapsed_s=round(job.elapsed(), 3), error=job.error,
                result=None if outcome is None else outcome.output.model_dump(mode="json"),
                summary=None if outcome is None else outcome.summary,
                sound_ids=[] if outcome is None else [r.id for r in outcome.sounds],
                heartbeat_at=datetime.now(timezone.utc),
            )
            job.stored_final = True
        except Exception:  # retried by sync; the job's own result is unaffected
            log.warning("could not store the outcome of job %s in the shared table", job.id, exc_info=True)

    def sync(self) -> None:
        """Mirror this process's jobs into the shared table and act on cancel requests made on other
        replicas. Blocking (database); the server runs it on a thread about once a second."""
        if self._library is None:
            return
        table = self._library().job_table
        with self._lock:
            jobs = list(self._jobs.values())
        active = [j for j in jobs if j.state not in FINISHED]
        for j in active:
            table.update_active(j.id, state=j.state, progress=j.progress, message=j.message, queue_position=j.queue_position,
                                heartbeat_at=datetime.now(timezone.utc))
        for j in jobs:
            if j.state in FINISHED and not j.stored_final:
                self._store_final(j)
        for job_id in table.cancel_requested([j.id for j in active]):
            job = self._jobs.get(job_id)
            if job is not None and job.state not in FINISHED:
                log.info("job %s: cancel requested on another replica", job_id)
                self.cancel(job_id, wait_s=0.0)
        if secrets.randbelow(60) == 0:  # now and then: drop rows kept past their time
            table.prune(datetime.now(timezone.utc) - timedelta(seconds=KEEP_FINISHED_S))

    def _prune(self) -> None:
        now = time.monotonic()
        done = sorted((j for j in self._jobs.values() if j.state in FINISHED), key=lambda j: j.finished or 0.0)
        for i, j in enumerate(done):
            if now - (j.finished or now) > KEEP_FINISHED_S or i < len(done) - MAX_FINISHED:
                del self._jobs[j.id]


class _StoredResult(BaseModel):
    """A finished job's structured result as read back from the shared table."""

    model_config = ConfigDict(extra="allow")


class _PolledEvent:
    """``done_event`` of a job another replica runs: ``wait`` re-reads its row until it has ended."""

    def __init__(self, job: "RemoteJob") -> None:
        self.job = job

    def is_set(self) -> bool:
        return self.job.state in FINISHED

    def wait(self, timeout: float | None = None) -> bool:
        end = time.monotonic() + (timeout or 0.0)
        while True:
            self.job.refresh()
            if self.is_set() or time.monotonic() >= end:
                return self.is_set()
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))


class RemoteJob:
    """A job read from the shared table (run by another replica, or by this one before a restart):
    the same attributes tools/jobs.py reads from a ``Job``."""

    def __init__(self, row: dict[str, Any], reload: Callable[[], dict[str, Any] | None], library: Any) -> None:
        self.library = library
        self._reload = reload
        self.done_event = _PolledEvent(self)
        self._load(row)

    def refresh(self) -> None:
        row = self._reload()
        if row is not None:
            self._load(row)

    def _load(self, row: dict[str, Any]) -> None:
        self.id, self.tool = row["id"], row["tool"]
        self._created: datetime = row["created_at"]
        self.created_at = self._created.isoformat(timespec="seconds")
        self.state, self.progress, self.message = row["state"], row["progress"], row["message"]
        self.queue_position, self.error = row["queue_position"], row["error"]
        self._elapsed: float | None = row["elapsed_s"]
        self.outcome: ToolOutcome | None = None
        silent = (datetime.now(timezone.utc) - row["heartbeat_at"]).total_seconds()
        if self.state not in FINISHED and silent > STALE_S:
            self.state, self.queue_position = "failed", None
            self.error = (
                f"The server replica running it ({row['replica']}) stopped: no word from it for {silent:.0f} s. "
                "Nothing half-made was kept; start the job again."
            )
        if self.state == "done" and row["result"] is not None:
            sounds = []
            for sid in row["sound_ids"] or []:
                try:
                    sounds.append(self.library.get(sid))
                except UnknownSoundError:
                    pass
            self.outcome = ToolOutcome(output=_StoredResult(**row["result"]), summary=row["summary"] or "", sounds=sounds)

    def elapsed(self) -> float:
        if self._elapsed is not None:
            return self._elapsed
        return (datetime.now(timezone.utc) - self._created).total_seconds()
