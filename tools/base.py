"""What every tool module builds on: the context a tool runs with, its spec and its outcome.

A tool module defines pydantic ``Input`` and ``Output`` models and a synchronous ``run(inp, ctx)``
that returns a ``ToolOutcome``. The server runs it on a bounded worker pool; ``ctx.progress`` and
``ctx.check_cancelled`` connect it to the client's progress token and cancellation.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Generic, Iterator, TypeVar

from mcp_types import ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from lstmabar.library.config import Config
from lstmabar.library.errors import ToolCancelled, ToolError
from lstmabar.library.records import SoundRecord
from lstmabar.library.store import SoundLibrary

from .budget import Budget, Timing

T = TypeVar("T")
ProgressFn = Callable[[float, float | None, str | None], None]


class ModelCache:
    """Heavy models loaded once per process and shared by all calls (thread-safe, per-key locks)."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str, factory: Callable[[], T]) -> T:
        if key in self._items:
            return self._items[key]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._items:
                self._items[key] = factory()
            return self._items[key]

    def keys(self) -> list[str]:
        return list(self._items)


@dataclass
class ToolContext:
    library: SoundLibrary
    config: Config
    models: ModelCache
    progress_fn: ProgressFn | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    min_progress_interval: float = 0.2
    heartbeat_s: float = 2.0  # keepalive(): the longest silence between progress reports
    started: float = field(default_factory=time.monotonic)  # when the call arrived (budgets count from here)
    begun: float | None = None  # when computing started (after any wait for a worker)
    jobs: Any = None  # the server's job manager (tools/jobs.py), when there is one
    _last_progress: float = field(default=-1.0, init=False)
    _last_time: float = field(default=0.0, init=False)
    _last_total: float | None = field(default=None, init=False)
    _last_message: str | None = field(default=None, init=False)
    _pending: tuple[float, float | None, str | None] | None = field(default=None, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def progress(self, done: float, total: float | None = None, message: str | None = None, *, force: bool = False) -> None:
        """Report progress: monotonic (lower values are dropped) and rate-limited (the latest report
        held back by the rate limit goes out with the next keepalive beat)."""
        self.check_cancelled()
        if self.progress_fn is None:
            return
        with self._lock:
            if message:
                self._last_message = message
            if done < self._last_progress:
                return
            now = time.monotonic()
            if not force and now - self._last_time < self.min_progress_interval and done != total:
                self._pending = (done, total, message)
                return
            self._send(done, total, message, now)

    def note(self, message: str) -> None:
        """Report a new stage ("loading the embedder") without a new figure: the value creeps up a little."""
        with self._lock:
            self.progress(self._creep(), self._last_total, message, force=True)

    def _creep(self) -> float:
        last, total = max(self._last_progress, 0.0), self._last_total
        return last + (0.01 * (total - last) if total is not None and total > last else 1e-3)

    def _send(self, done: float, total: float | None, message: str | None, now: float) -> None:
        self._last_progress, self._last_time, self._last_total, self._pending = done, now, total, None
        assert self.progress_fn is not None
        self.progress_fn(done, total, message)

    @contextmanager
    def keepalive(self) -> Iterator[None]:
        """While the block runs, a report goes out at least every ``heartbeat_s`` (some clients reset
        their timeout only on progress): the held-back latest report, or the last stage's message with
        the seconds elapsed and a slightly higher value."""
        if self.progress_fn is None or self.heartbeat_s <= 0:
            yield
            return
        stop = threading.Event()
        t0 = time.monotonic()

        def beat() -> None:
            while not stop.wait(min(0.25, self.heartbeat_s / 4)):
                with self._lock:
                    now = time.monotonic()
                    quiet = now - self._last_time
                    try:
                        if self._pending is not None and quiet >= max(self.min_progress_interval, self.heartbeat_s / 2):
                            self._send(*self._pending, now)
                        elif quiet >= self.heartbeat_s:
                            msg = f"{self._last_message or 'working'} ({now - t0:.0f} s)"
                            self._send(self._creep(), self._last_total, msg, now)
                    except Exception:  # a client that went away must not break the tool
                        self._last_time = now

        thread = threading.Thread(target=beat, name="lstmabar-keepalive", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def budget(self, seconds: float) -> Budget:
        """The call's wall-clock budget, counted from its arrival (``started``)."""
        return Budget(seconds, start=self.started, begun=self.begun)

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise ToolCancelled()

    def embedder(self, name: str | None = None) -> Any:
        """The shared embedder ``name`` (default: the configured one), loaded on first use."""
        from lstmabar.models.embedders import EmbedderUnavailable, load_embedder

        spec = name or self.config.embedder

        def _load() -> Any:
            emb = load_embedder(spec, device=self.config.device, allow_downloads=self.config.allow_downloads)
            # text towers load lazily (lstmabar's MiniLM: about 5 s on a 2-core machine): load it now, as part
            # of "loading the embedder", not inside the first search's time
            emb.embed_text(["a sound"])
            return emb

        if f"embedder:{spec}" not in self.models.keys():
            self.note(f"loading the {spec} embedder")
        try:
            return self.models.get(f"embedder:{spec}", _load)
        except EmbedderUnavailable as exc:
            raise ToolError(str(exc)) from exc


@dataclass
class ToolOutcome:
    output: BaseModel
    summary: str
    audio_previews: list[bytes] = field(default_factory=list)  # small WAVs, inlined as AudioContent
    images: list[bytes] = field(default_factory=list)  # PNGs, inlined as ImageContent
    sounds: list[SoundRecord] = field(default_factory=list)  # become resource links


InputT = TypeVar("InputT", bound=BaseModel)


@dataclass(frozen=True)
class ToolSpec(Generic[InputT]):
    name: str
    title: str
    description: str
    input_model: type[InputT]
    output_model: type[BaseModel]
    run: Callable[[InputT, ToolContext], ToolOutcome]
    annotations: ToolAnnotations
    long_running: bool = False


SEED_MAX = 2**32 - 1  # numpy's seeds stop here; torch's at 2**64 - 1


def _seed_in_range(value: Any) -> Any:
    n = int(value) if isinstance(value, str) and value.strip().lstrip("-").isdigit() else value
    if isinstance(n, int) and not isinstance(n, bool) and not 0 <= n <= SEED_MAX:
        raise ValueError(f"seed must be an integer from 0 to {SEED_MAX} (2**32 - 1), got {n}")
    return value


# Every tool's seed: checked where the call arrives, with the range in the message and the schema
# (past it numpy and torch fail deep inside with "Overflow when unpacking long long").
Seed = Annotated[int, Field(ge=0, le=SEED_MAX), BeforeValidator(_seed_in_range)]


class SoundOut(BaseModel):
    """How every tool reports a sound it stored."""

    id: str
    uri: str = Field(description="MCP resource with the WAV (sound://{id}); /meta and /spectrogram.png beside it.")
    path: str = Field(description="WAV file in the output folder.")
    duration_s: float
    sample_rate: int
    channels: int

    @classmethod
    def of(cls, rec: SoundRecord) -> "SoundOut":
        return cls(
            id=rec.id,
            uri=rec.uri,
            path=rec.path,
            duration_s=round(rec.duration_s, 4),
            sample_rate=rec.sample_rate,
            channels=rec.channels,
        )


def validation_text(exc: ValidationError) -> str:
    """A pydantic error as the assistant should read it: ``field: what is wrong`` for each field."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        msg = err.get("msg", "").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


__all__ = [
    "Budget",
    "ModelCache",
    "SEED_MAX",
    "Seed",
    "SoundOut",
    "ToolCancelled",
    "ToolContext",
    "ToolError",
    "ToolOutcome",
    "ToolSpec",
    "Timing",
    "validation_text",
]
