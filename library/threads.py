"""How many threads torch and BLAS may use in this process.

torch and OpenBLAS default to one thread per core. With several tool calls computing at once (the
worker pool) or other processes on the same cores, those threads oversubscribe the cores and spin
against each other: on a busy 2-core machine one optimize_fx call took 153 s with torch's default of
2 threads and 21.5 s with 1. So every call gets its share of the cores that are free: the cores this
process may run on, less the load other processes keep busy, divided by the calls computed at once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger("lstmabar")


@dataclass(frozen=True)
class ThreadPlan:
    threads: int
    cores: int
    load: float
    workers: int
    source: str  # "LSTMABAR_THREADS", "cores", or "cores, capped by OMP_NUM_THREADS"

    def describe(self) -> str:
        if self.source == "LSTMABAR_THREADS":
            return f"{self.threads} thread(s) per call (set by {self.source})"
        return (f"{self.threads} thread(s) per call: {self.cores} core(s) available, load {self.load:.1f}, "
                f"{self.workers} call(s) computed at once" + (" (capped by OMP_NUM_THREADS)" if "OMP" in self.source else ""))


def threads_per_call(workers: int, cores: int, load: float = 0.0, override: int | None = None) -> int:
    """Threads each computing call may use: ``override`` when given, else the cores left free by
    ``load`` (other processes' running tasks; at least one core) shared by ``workers`` calls,
    at least 1 and at most ``cores``."""
    if override is not None:
        if override < 1:
            raise ValueError(f"thread count must be at least 1, got {override}")
        return int(override)
    cores = max(1, int(cores))
    free = max(1.0, cores - max(0.0, float(load)))
    return max(1, min(cores, int(free // max(1, int(workers)))))


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def current_load() -> float:
    """The 1-minute load average (runnable tasks), 0 where the platform has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # pragma: no cover
        return 0.0


def plan_threads(workers: int, override: int | None = None, env: dict[str, str] | None = None) -> ThreadPlan:
    """The plan for this process: ``override`` (LSTMABAR_THREADS) when given, else the share of the free
    cores, never more than an OMP_NUM_THREADS set in the environment (someone asked for that limit)."""
    cores, load = available_cores(), current_load()
    n = threads_per_call(workers, cores, load, override)
    source = "LSTMABAR_THREADS" if override is not None else "cores"
    omp = (os.environ if env is None else env).get("OMP_NUM_THREADS", "").strip()
    if override is None and omp.isdigit() and 0 < int(omp) < n:
        n, source = int(omp), "cores, capped by OMP_NUM_THREADS"
    return ThreadPlan(n, cores, load, max(1, workers), source)


def apply_threads(plan: ThreadPlan) -> None:
    """Set torch's intra-op threads and the BLAS/OpenMP pools (threadpoolctl) for the whole process."""
    import torch

    torch.set_num_threads(plan.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=plan.threads)  # process-wide; not restored
    except Exception:  # pragma: no cover - threadpoolctl is a dependency, but never fail a start over it
        log.debug("threadpoolctl could not limit the BLAS threads", exc_info=True)
    log.info("threads: %s", plan.describe())
