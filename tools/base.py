"""What every tool module builds on: the context a tool runs with, its spec and its outcome.

A tool module defines pydantic ``Input`` and ``Output`` models and a synchronous ``run(inp, ctx)``
that returns a ``ToolOutcome``. The server runs it on a bounded worker pool; ``ctx.progress`` and
``ctx.check_cancelled`` connect it to the client's progress token and cancellation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.config import Config
from lstmabar.library.errors import ToolCancelled, ToolError
from lstmabar.library.records import SoundRecord
from lstmabar.library.store import SoundLibrary

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
    _last_progress: float = field(default=-1.0, init=False)
    _last_time: float = field(default=0.0, init=False)

    def progress(self, done: float, total: float | None = None, message: str | None = None, *, force: bool = False) -> None:
        """Report progress: monotonic (lower values are dropped) and rate-limited."""
        self.check_cancelled()
        if self.progress_fn is None or done < self._last_progress:
            return
        now = time.monotonic()
        if not force and now - self._last_time < self.min_progress_interval and done != total:
            return
        self._last_progress, self._last_time = done, now
        self.progress_fn(done, total, message)

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise ToolCancelled()

    def embedder(self, name: str | None = None) -> Any:
        """The shared embedder ``name`` (default: the configured one), loaded on first use."""
        from lstmabar.models.embedders import EmbedderUnavailable, load_embedder

        spec = name or self.config.embedder

        def _load() -> Any:
            return load_embedder(spec, device=self.config.device, allow_downloads=self.config.allow_downloads)

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


__all__ = [
    "ModelCache",
    "SoundOut",
    "ToolCancelled",
    "ToolContext",
    "ToolError",
    "ToolOutcome",
    "ToolSpec",
]
