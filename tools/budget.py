"""A tool call's wall-clock budget and the account of how it was spent.

Chat clients cut tool calls off (Claude's desktop apps at about 60 s), so every long tool takes a
``time_budget_s``, counted from when the call arrived (time spent waiting for a worker included):
its searches stop at a deadline that leaves room for the final render and saving, and return the
best found so far. The result's ``timing`` says where the time went.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from pydantic import BaseModel, Field


class Timing(BaseModel):
    budget_s: float = Field(description="The wall-clock budget (time_budget_s), counted from when the call arrived.")
    elapsed_s: float = Field(description="Seconds from the call's arrival to its answer.")
    queued_s: float = Field(description="Seconds spent waiting for a free worker before computing started.")
    stages: dict[str, float] = Field(default_factory=dict, description="Seconds per stage, in the order they ran.")
    work: dict[str, int] = Field(default_factory=dict, description="What was computed (renders, evaluations, steps...).")
    stopped_early: bool = Field(False, description="True when a search stopped because the budget ran out; the best found so far is returned.")
    note: str = Field("", description="Why it stopped early, and what to do for a fuller search.")


class Budget:
    """Seconds allowed from ``start`` (a ``time.monotonic()`` value); ``begun`` is when computing started."""

    def __init__(self, seconds: float, *, start: float | None = None, begun: float | None = None) -> None:
        now = time.monotonic()
        self.seconds = float(seconds)
        self.start = now if start is None else float(start)
        self.begun = now if begun is None else float(begun)
        self.stages: dict[str, float] = {}
        self.work: dict[str, int] = {}
        self.stopped_early = False
        self.note = ""
        self._mark = self.begun

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def deadline(self, reserve: float = 0.0) -> float:
        """The ``time.monotonic()`` by which a stage must end to leave ``reserve`` seconds for the rest."""
        return self.start + self.seconds - max(0.0, reserve)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        finally:
            self._mark = time.monotonic()
            self.stages[name] = self.stages.get(name, 0.0) + self._mark - t0

    def lap(self, name: str) -> None:
        """Record the time since the previous lap (or since computing began) as stage ``name``."""
        now = time.monotonic()
        self.stages[name] = self.stages.get(name, 0.0) + now - self._mark
        self._mark = now

    def add_work(self, **counts: int) -> None:
        for k, v in counts.items():
            self.work[k] = self.work.get(k, 0) + int(v)

    def stop_early(self, note: str) -> None:
        self.stopped_early = True
        self.note = note

    def timing(self) -> Timing:
        return Timing(
            budget_s=round(self.seconds, 3),
            elapsed_s=round(self.elapsed(), 3),
            queued_s=round(max(0.0, self.begun - self.start), 3),
            stages={k: round(v, 3) for k, v in self.stages.items()},
            work=dict(self.work),
            stopped_early=self.stopped_early,
            note=self.note,
        )


def budget_field_description(default: float, what: str) -> str:
    """The same words for every tool's ``time_budget_s``."""
    return (
        f"Wall-clock seconds for the whole call (default {default:g}), counted from its arrival: {what} stops at the deadline "
        "and the best found so far is returned (timing.stopped_early says so). Chat clients cut calls off at about 60 s: "
        "for more than about 40 s, run this tool through start_job."
    )
