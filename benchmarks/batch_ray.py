"""``lstmabar batch`` on a local Ray: throughput of a batch of small synthesize_from_text calls on one
worker and on two (ratio), and the per-task overhead Ray adds (the same light calls through Ray and
directly in one process).

    .venv/bin/python -m benchmarks.batch_ray [--calls 8] [--light 40]

Writes docs/results/batch_ray.json with the load average next to the figures: two workers on a
shared 2-core machine compete with everything else on it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks._report import write_report
from lstmabar.library.config import Config
from lstmabar.server.batch import RayStartError, ToolRunner, run_batch

SMALL = {"k": 1, "population": 8, "max_evaluations": 32, "max_seconds": None, "patience": None, "seconds": 0.5}
PROMPTS = ["warm pad", "glassy bell", "noisy drone", "soft pluck", "bright lead", "deep bass", "airy texture", "metallic hit"]


def _jobs(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=8, help="synthesize_from_text calls per run")
    p.add_argument("--light", type=int, default=40, help="list_sounds calls for the overhead figure")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="lstmabar-batch-bench-"))
    config = Config(output_dir=root / "lib", keep_ratings=True)
    synth = [{"tool": "synthesize_from_text", "arguments": {"prompt": PROMPTS[i % len(PROMPTS)], "seed": i, **SMALL}, "id": f"s{i}"}
             for i in range(args.calls)]
    light = [{"tool": "list_sounds", "arguments": {"limit": 5}, "id": f"l{i}"} for i in range(args.light)]
    load_before = os.getloadavg()
    figures: dict = {"calls": args.calls, "synth_args": SMALL, "light_calls": args.light}
    try:
        for n in (1, 2):
            jobs = _jobs(root / f"synth-{n}.jsonl", synth)
            load = os.getloadavg()[0]
            s = run_batch(jobs, root / f"synth-{n}.results.jsonl", config, workers=n, retries=0, progress=False)
            work = s["seconds"] - s["startup_s"]
            figures[f"workers_{n}"] = {**s, "calls_per_s_after_startup": round(args.calls / work, 3), "load_avg_1min_at_start": round(load, 2)}
            print(n, figures[f"workers_{n}"], flush=True)
        jobs = _jobs(root / "light.jsonl", light)
        s = run_batch(jobs, root / "light.results.jsonl", config, workers=1, retries=0, progress=False)
        ray_per = (s["seconds"] - s["startup_s"]) / args.light
    except RayStartError as exc:
        print(f"{exc}; nothing measured.")
        return 2
    runner = ToolRunner({k: [str(x) for x in v] if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v
                         for k, v in asdict(config).items()})
    runner.run("list_sounds", {"limit": 5})  # warm
    t0 = time.perf_counter()
    for _ in range(args.light):
        runner.run("list_sounds", {"limit": 5})
    direct_per = (time.perf_counter() - t0) / args.light
    one, two = figures["workers_1"], figures["workers_2"]
    figures.update({
        "throughput_ratio_2_vs_1": round(two["calls_per_s_after_startup"] / one["calls_per_s_after_startup"], 3),
        "ray_startup_s": [one["startup_s"], two["startup_s"]],
        "light_call_ms_through_ray": round(1000 * ray_per, 2),
        "light_call_ms_direct": round(1000 * direct_per, 2),
        "ray_overhead_ms_per_task": round(1000 * (ray_per - direct_per), 2),
        "load_avg_before": [round(x, 2) for x in load_before],
        "cpu_cores": os.cpu_count(),
    })
    md = f"""Script: `benchmarks/batch_ray.py` (issue 22). `lstmabar batch` on a local Ray: {args.calls} synthesize_from_text
calls ({SMALL['max_evaluations']} renders each, 0.5 s sounds) on one worker, then on two; the per-task overhead is
{args.light} `list_sounds` calls through Ray (one worker) against the same calls run directly in one process.
Load average (1 min) when each run started: {one['load_avg_1min_at_start']} and {two['load_avg_1min_at_start']} on
{os.cpu_count()} cores shared with other work.

| | 1 worker | 2 workers |
|---|---|---|
| Ray start + workers ready (s) | {one['startup_s']} | {two['startup_s']} |
| calls/s after start | {one['calls_per_s_after_startup']} | {two['calls_per_s_after_startup']} |

Two workers vs one: x{figures['throughput_ratio_2_vs_1']}. Per-task overhead of Ray: {figures['ray_overhead_ms_per_task']} ms
({figures['light_call_ms_through_ray']} ms per light call through Ray, {figures['light_call_ms_direct']} ms directly).
"""
    write_report("batch_ray", figures, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
