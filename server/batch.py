"""``lstmabar batch JOBS.jsonl``: many tool calls on a Ray cluster, writing into the shared library.

Each line of JOBS.jsonl is one call, ``{"tool": "synthesize_from_text", "arguments": {...}}`` (an
``"id"`` is optional; the line number is used otherwise). Ray runs them on a pool of actors, each one
holding its own tool context, so models load once per worker, not per task (a worker gets a GPU
when the cluster has them and ``--gpus-per-worker`` says so or is left to ``auto``). The results go to
a JSONL file, one line per finished call, written as each call ends; run the same command again after
an interruption and the calls already finished (``"status": "ok"``, or a failure the tool reported
for its input) are not redone. An unexpected failure or a lost worker is retried ``--retries`` times.

Ray is an optional extra (``pip install 'lstmabar[ray]'``). Without ``--address`` a local Ray is
started with ``--workers`` CPUs; with one, the workers need the same library settings (a shared
database and blob store, README "Beyond one machine"), which they receive from this command.
This module only dispatches: the tools themselves run exactly as they do when called over MCP.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from lstmabar.library.config import Config

log = logging.getLogger("lstmabar")

RESUMABLE = ("ok", "rejected")  # what a rerun does not redo: done, or refused for its input (retrying cannot help)


class RayStartError(RuntimeError):
    """Ray did not come up (nothing was run)."""


@dataclass
class Call:
    line: int
    id: str
    tool: str
    arguments: dict[str, Any]
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


def read_jobs(path: Path) -> list[Call]:
    """The calls in JOBS.jsonl; a malformed line is an error naming the line (nothing is started)."""
    calls, seen = [], set()
    for n, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(raw)
            tool, args = obj["tool"], obj.get("arguments", {})
            if not isinstance(tool, str) or not isinstance(args, dict):
                raise TypeError("tool must be a string and arguments an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{n}: each line must be a JSON object like "
                             f'{{"tool": "synthesize_from_text", "arguments": {{"prompt": "warm pad"}}}} ({exc}).') from None
        cid = str(obj.get("id", n))
        if cid in seen:
            raise SystemExit(f"{path}:{n}: id {cid!r} is used twice; ids must be unique (they are how a rerun knows what is done).")
        seen.add(cid)
        calls.append(Call(line=n, id=cid, tool=tool, arguments=args))
    return calls


def finished_ids(results: Path) -> set[str]:
    """Ids already finished in an earlier run (the last line for an id wins)."""
    last: dict[str, str] = {}
    if results.exists():
        for raw in results.read_text().splitlines():
            try:
                row = json.loads(raw)
                last[str(row["id"])] = row["status"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the interruption
    return {i for i, s in last.items() if s in RESUMABLE}


def open_results(results: Path) -> TextIO:
    """The results file opened for appending this run's rows. A line an interruption cut short is
    ended first, so this run's first row starts on a line of its own (glued to the fragment it could
    not be read back, and a later run would redo that call); finished_ids skips the fragment."""
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "ab+") as fh:
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    return open(results, "a")


class ToolRunner:
    """One worker's tools: a library and a model cache kept for every call it runs (a Ray actor).
    ``models_loaded`` in each result counts the models this worker has loaded so far: it stays put
    after a worker's first call of a kind, because the cache lives as long as the worker."""

    def __init__(self, config: dict[str, Any]) -> None:
        from lstmabar.library.store import SoundLibrary
        from lstmabar.library.threads import apply_threads, plan_threads
        from lstmabar.tools import all_tools
        from lstmabar.tools.base import ModelCache

        class CountingCache(ModelCache):
            loads = 0

            def get(self, key: str, factory: Any) -> Any:
                def counted() -> Any:
                    type(self).loads += 1
                    return factory()

                return super().get(key, counted)

        values = dict(config)
        values["output_dir"] = Path(values["output_dir"])
        values["allowed_dirs"] = tuple(Path(p) for p in values.get("allowed_dirs", ()))
        values["allowed_hosts"] = tuple(values.get("allowed_hosts", ()))
        self.config = Config(**values)
        apply_threads(plan_threads(1, self.config.threads))
        self.library = SoundLibrary(self.config)
        self.models = CountingCache()
        self.specs = {s.name: s for s in all_tools()}
        self.pid = os.getpid()

    def run(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """``status``: ok, or rejected (the tool refused the input: not retried); an unexpected error raises."""
        row = self._run(tool, arguments)
        return {"worker": self.pid, "models_loaded": type(self.models).loads, **row}

    def _run(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        from lstmabar.library.errors import ToolError, UnknownSoundError
        from lstmabar.tools.base import ToolContext, validation_text

        t0 = time.perf_counter()
        spec = self.specs.get(tool)
        if spec is None:
            return {"status": "rejected", "error": f"No tool {tool!r}; tools: {', '.join(sorted(self.specs))}."}
        try:
            inp = spec.input_model(**arguments)
            ctx = ToolContext(library=self.library, config=self.config, models=self.models)
            ctx.begun = ctx.started
            outcome = spec.run(inp, ctx)
        except ValidationError as exc:
            return {"status": "rejected", "error": f"Invalid arguments for {tool}: {validation_text(exc)}"}
        except (ToolError, UnknownSoundError) as exc:
            return {"status": "rejected", "error": str(exc)}
        return {
            "status": "ok",
            "seconds": round(time.perf_counter() - t0, 3),
            "summary": outcome.summary,
            "sound_ids": [r.id for r in outcome.sounds],
            "result": outcome.output.model_dump(mode="json"),
        }

    def ping(self) -> int:
        return self.pid


def _progress(total: int, done: int) -> Any:
    try:
        from tqdm import tqdm

        return tqdm(total=total, initial=done, unit="call", file=sys.stderr, dynamic_ncols=True)
    except ImportError:  # pragma: no cover - tqdm comes with transformers
        return None


def run_batch(
    jobs: Path,
    results: Path,
    config: Config,
    *,
    address: str | None = None,
    workers: int = 2,
    retries: int = 2,
    gpus_per_worker: float | str = "auto",
    progress: bool = True,
    runner: type = ToolRunner,
) -> dict[str, Any]:
    """Run every unfinished call of ``jobs`` and append one line per finished call to ``results``.
    ``runner``: the worker class (a subclass of ToolRunner in tests)."""
    try:
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError
    except ImportError:
        raise SystemExit("lstmabar batch needs Ray: pip install 'lstmabar[ray]' (or pip install ray).") from None

    calls = read_jobs(jobs)
    done_before = finished_ids(results)
    todo = [c for c in calls if c.id not in done_before]
    summary: dict[str, Any] = {"calls": len(calls), "skipped_finished": len(calls) - len(todo), "ok": 0, "rejected": 0, "failed": 0, "retried": 0}
    if not todo:
        return {**summary, "seconds": 0.0, "workers": 0}
    if address is not None and (config.blob_store in (None, "local") or config.database_url is None):
        log.warning("Ray cluster at %s with a local blob store or SQLite: workers on other machines will write into their own "
                    "folders. Set LSTMABAR_DATABASE_URL (PostgreSQL) and LSTMABAR_BLOB_STORE (database or s3://...).", address)
    t0 = time.perf_counter()
    from lstmabar.library.store import SoundLibrary

    SoundLibrary(config).close()  # create the tables once here: workers creating them at the same moment collide
    owns_ray = not ray.is_initialized()
    if owns_ray:
        env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        try:
            if address:
                ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, runtime_env={"env_vars": env}, log_to_driver=False)
        except Exception as exc:  # e.g. the local node's agents did not come up in Ray's fixed time on a busy machine
            ray.shutdown()  # stop what did start (the GCS)
            raise RayStartError(f"Ray could not start{' at ' + address if address else ' a local node'}: {exc}") from exc
    try:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        per = (1.0 if gpus >= 1 else 0.0) if gpus_per_worker == "auto" else float(gpus_per_worker)
        n = max(1, min(workers, len(todo)))
        actor_cls = ray.remote(num_cpus=1, num_gpus=per, max_restarts=retries)(runner)
        plain = {k: [str(x) for x in v] if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
        actors = [actor_cls.remote(plain) for _ in range(n)]
        ray.get([a.ping.remote() for a in actors])  # started and their library opened before the clock of any call runs
        summary["startup_s"] = round(time.perf_counter() - t0, 2)
        bar = _progress(len(calls), len(calls) - len(todo)) if progress else None
        pending = list(reversed(todo))
        running: dict[Any, tuple[Call, Any]] = {}
        idle = list(actors)
        with open_results(results) as out:
            def write(call: Call, row: dict[str, Any]) -> None:
                out.write(json.dumps({"id": call.id, "line": call.line, "tool": call.tool, "attempts": call.attempts, **row}) + "\n")
                out.flush()
                os.fsync(out.fileno())
                summary[row["status"]] += 1
                if bar is not None:
                    bar.update(1)

            recovering: dict[Any, Any] = {}  # ping -> actor whose worker died: back to work once it answers again
            while pending or running or (recovering and pending):
                while pending and idle:
                    call, actor = pending.pop(), idle.pop()
                    call.attempts += 1
                    running[actor.run.remote(call.tool, call.arguments)] = (call, actor)
                if not running and not recovering:
                    raise RuntimeError(f"every Ray worker is gone (each restarted {retries} times); {len(pending)} calls were not run")
                ready, _ = ray.wait([*running, *recovering], num_returns=1)
                for ref in ready:
                    if ref in recovering:
                        actor = recovering.pop(ref)
                        try:
                            ray.get(ref)
                            idle.append(actor)
                        except ActorUnavailableError:  # still restarting: ask again shortly
                            time.sleep(0.5)
                            recovering[actor.ping.remote()] = actor
                        except RayActorError:  # out of restarts: the pool is one worker smaller
                            log.warning("a Ray worker is gone for good; %d left", len(idle) + len(running) + len(recovering))
                        continue
                    call, actor = running.pop(ref)
                    try:
                        row = ray.get(ref)
                    except (RayTaskError, RayActorError) as exc:
                        if isinstance(exc, RayActorError):
                            recovering[actor.ping.remote()] = actor  # Ray restarts it; wait until it answers
                        else:
                            idle.append(actor)
                        call.errors.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300]}")
                        if call.attempts <= retries:
                            summary["retried"] += 1
                            log.warning("call %s (%s) failed on attempt %d, retrying: %s", call.id, call.tool, call.attempts, call.errors[-1])
                            pending.append(call)
                        else:
                            write(call, {"status": "failed", "error": call.errors[-1], "errors": call.errors})
                        continue
                    idle.append(actor)
                    write(call, row)
        if bar is not None:
            bar.close()
    finally:
        if owns_ray:
            ray.shutdown()
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    summary["workers"] = n
    return summary


def add_parser(sub: Any) -> None:
    b = sub.add_parser("batch", help="run many tool calls (JOBS.jsonl, one per line) on Ray; results JSONL; resumable")
    b.add_argument("jobs", help='JSONL, one call a line: {"tool": "...", "arguments": {...}, "id": optional}')
    b.add_argument("--out", help="results JSONL (default: JOBS.results.jsonl); finished ids in it are not redone")
    b.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    b.add_argument("--workers", type=int, default=2, help="Ray actors, each with its own models (default 2)")
    b.add_argument("--retries", type=int, default=2, help="retries of a call that failed unexpectedly or lost its worker")
    b.add_argument("--gpus-per-worker", default="auto", help="auto (1 when the cluster has GPUs), or a number")
    b.add_argument("--no-progress", action="store_true")
    b.add_argument("--output-dir")
    b.add_argument("--database-url")
    b.add_argument("--blob-store")
    b.add_argument("--embedder")


def run_batch_cli(args: argparse.Namespace, config: Config) -> int:
    jobs = Path(args.jobs)
    results = Path(args.out) if args.out else jobs.with_suffix(".results.jsonl")
    try:
        summary = run_batch(jobs, results, config, address=args.address, workers=args.workers, retries=args.retries,
                            gpus_per_worker=args.gpus_per_worker, progress=not args.no_progress)
    except RayStartError as exc:
        print(f"{exc}. Nothing was run; try again (a busy machine delays Ray's start), or start Ray yourself "
              "(`ray start --head`) and pass --address.", file=sys.stderr)
        return 2
    print(json.dumps({**summary, "results": str(results)}, indent=2))
    return 0 if summary["failed"] == 0 else 1


def iter_results(path: Path) -> Iterator[dict[str, Any]]:
    for raw in Path(path).read_text().splitlines():
        if raw.strip():
            try:
                yield json.loads(raw)
            except ValueError:
                continue  # a line cut short by an interruption
