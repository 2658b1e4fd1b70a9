"""A bounded worker pool: at most N tool calls compute at once; the rest wait in line and are told
their place. Cancelling a call sets its cancel event and waits for its thread to stop."""

from __future__ import annotations

import threading
from typing import Awaitable, Callable, TypeVar

import anyio

T = TypeVar("T")


class WorkerPool:
    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._slots = anyio.Semaphore(self.size)
        self._line: list[object] = []

    @property
    def waiting(self) -> int:
        return len(self._line)

    async def run(
        self,
        fn: Callable[[], T],
        *,
        cancel_event: threading.Event,
        on_queued: Callable[[int], Awaitable[None]] | None = None,
        poll_s: float = 0.5,
    ) -> T:
        ticket = object()
        self._line.append(ticket)
        try:
            while True:
                with anyio.move_on_after(poll_s):
                    await self._slots.acquire()
                    break
                if on_queued is not None:
                    await on_queued(self._line.index(ticket) + 1)
        finally:
            self._line.remove(ticket)
        try:
            return await run_cancellable(fn, cancel_event)
        finally:
            self._slots.release()


async def run_cancellable(fn: Callable[[], T], cancel_event: threading.Event) -> T:
    """Run ``fn`` on a thread. If this task is cancelled, signal the thread through ``cancel_event``
    and wait (shielded) until it has really stopped, so no thread keeps burning CPU."""
    finished = threading.Event()

    def call() -> T:
        try:
            return fn()
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancel_event.set()
        with anyio.CancelScope(shield=True):
            while not finished.is_set():
                await anyio.sleep(0.02)
        raise
