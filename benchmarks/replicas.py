"""Load test, loopback only and bounded: many MCP clients (the SDK's HTTP client) sending ratings and
light tool calls to one stateless replica, then to two over the same PostgreSQL (metadata, blobs and
jobs; each replica with its own output folder), the clients spread round-robin as a load balancer
would. Reports throughput and latency percentiles of each and their ratio, and checks that every
rating sent is stored (counted by its request ids in the database).

    .venv/bin/python -m benchmarks.replicas [--clients 16] [--requests 20]

Writes docs/results/replicas.json. The machine's load average is recorded with the figures: on a
shared 2-core machine two replicas compete for the same cores, so the ratio measures the overhead of
the second process as much as any gain; it says nothing about two machines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from benchmarks._report import write_report
from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from tests.servers import lstmabar_http_process, postgres_server


def _env(out: Path, db: str) -> dict[str, str]:
    return {
        "LSTMABAR_OUTPUT_DIR": str(out),
        "LSTMABAR_DATABASE_URL": db,
        "LSTMABAR_BLOB_STORE": "database",
        "LSTMABAR_STATELESS_HTTP": "yes",
        "LSTMABAR_KEEP_RATINGS": "yes",
        "OMP_NUM_THREADS": "1",
    }


async def _load(bases: list[str], sound_ids: list[str], clients: int, requests: int, tag: str) -> dict[str, Any]:
    """Each client: ``requests`` calls alternating rate_feedback, list_sounds and the sound's meta
    resource. Latency per call; throughput over the whole run."""
    lat: dict[str, list[float]] = {"rate_feedback": [], "list_sounds": [], "meta": []}
    errors: list[str] = []
    sent: list[str] = []  # ratings the server acknowledged
    tried: list[str] = []  # every rating sent, answered or not

    async def one(i: int) -> None:
        base = bases[i % len(bases)]
        j = 0
        while j < requests:
            try:  # a transport failure ends the client's session: count it, connect again, go on
                http = create_mcp_http_client()
                async with Client(streamable_http_client(base + "/mcp", http_client=http), read_timeout_seconds=120) as c:
                    while j < requests:
                        await call(c, i, j)
                        j += 1
            except Exception as exc:
                errors.append(f"connection: {type(exc).__name__}: {str(exc)[:200]}")
                j += 1

    async def call(c: Client, i: int, j: int) -> None:
        sid = sound_ids[(i + j) % len(sound_ids)]
        kind = ("rate_feedback", "list_sounds", "meta")[j % 3]
        t0 = time.perf_counter()
        try:
            if kind == "rate_feedback":
                rid = f"{tag}-{i}-{j}"
                tried.append(rid)
                res = await c.call_tool("rate_feedback", {"sound_id": sid, "rating": 1 + (i + j) % 5, "request_id": rid})
                if res.is_error:
                    raise RuntimeError(res.content[0].text)
                sent.append(rid)
            elif kind == "list_sounds":
                res = await c.call_tool("list_sounds", {"limit": 5})
                if res.is_error:
                    raise RuntimeError(res.content[0].text)
            else:
                await c.read_resource(f"sound://{sid}/meta")
        except Exception as exc:  # an answered error: counted, not fatal
            errors.append(f"{kind}: {exc}")
            return
        lat[kind].append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(clients):
            tg.start_soon(one, i)
    wall = time.perf_counter() - t0
    every = [x for v in lat.values() for x in v]
    pct = lambda xs, q: round(1000 * float(np.percentile(xs, q)), 1) if xs else None  # noqa: E731
    return {
        "calls": len(every),
        "errors": len(errors),
        "error_examples": errors[:3],
        "wall_s": round(wall, 2),
        "calls_per_s": round(len(every) / wall, 2),
        "p50_ms": pct(every, 50),
        "p95_ms": pct(every, 95),
        "p99_ms": pct(every, 99),
        "rate_p50_ms": pct(lat["rate_feedback"], 50),
        "rate_p95_ms": pct(lat["rate_feedback"], 95),
        "ratings_sent": len(tried),
        "ratings_acknowledged": len(sent),
        "_sent": sent,
        "_tried": tried,
    }


def _stored(config: Config, tag: str) -> set[str]:
    lib = SoundLibrary(config)
    try:
        return {f.request_id for f in lib.feedback() if (f.request_id or "").startswith(tag + "-")}
    finally:
        lib.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=30, help="calls per client (a third of them ratings)")
    p.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    args = p.parse_args(argv)
    import tempfile

    scratch = Path(args.out or tempfile.mkdtemp(prefix="lstmabar-replicas-"))
    load_before = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    with postgres_server() as db:
        seed_cfg = Config(output_dir=scratch / "seed", database_url=db, blob_store="database")
        lib = SoundLibrary(seed_cfg)
        t = np.arange(4800) / 48_000
        ids = [lib.add((0.2 * np.sin(2 * np.pi * (200 + 50 * k) * t)).astype(np.float32), 48_000, tool="bench").id for k in range(8)]
        lib.close()
        for n in (1, 2, 1):  # one, two, and one again: drift in the machine's load shows as a gap between the two 'one' runs
            name = f"replicas_{n}" if f"replicas_{n}" not in runs else f"replicas_{n}_again"
            tag = f"{name}-{secrets.token_hex(3)}"
            with contextlib.ExitStack() as stack:
                bases = [stack.enter_context(lstmabar_http_process(_env(scratch / f"{name}-{k}", db), start_timeout_s=300))[0] for k in range(n)]
                # warm up each replica (first calls import and open connections)
                anyio.run(_load, bases, ids, n, 3, "warm-" + tag)
                load = os.getloadavg()[0]
                res = anyio.run(_load, bases, ids, args.clients, args.requests, tag)
            stored = _stored(seed_cfg, tag)
            res["ratings_stored"] = len(stored)
            # every acknowledged rating is stored, and nothing beyond what was sent (once each: request ids are unique)
            res["acknowledged_all_stored"] = set(res["_sent"]) <= stored <= set(res.pop("_tried"))
            res["load_avg_1min_at_start"] = round(load, 2)
            res.pop("_sent")
            runs[name] = res
            print(name, {k: v for k, v in res.items() if k != "error_examples"}, flush=True)
    one, two = runs["replicas_1"], runs["replicas_2"]
    figures = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "mix": "rate_feedback, list_sounds(limit 5), sound://{id}/meta in turn; stateless HTTP; database blob store",
        "runs": runs,
        "throughput_ratio_2_vs_1": round(two["calls_per_s"] / one["calls_per_s"], 3),
        "p50_ratio_2_vs_1": round(two["p50_ms"] / one["p50_ms"], 3),
        "p95_ratio_2_vs_1": round(two["p95_ms"] / one["p95_ms"], 3),
        "all_ratings_stored": all(r["ratings_stored"] == r["ratings_sent"] for r in runs.values()),
        "acknowledged_ratings_all_stored": all(r["acknowledged_all_stored"] for r in runs.values()),
        "load_avg_before": [round(x, 2) for x in load_before],
        "cpu_cores": os.cpu_count(),
    }
    rows = "\n".join(
        f"| {k} | {r['calls']} | {r['errors']} | {r['calls_per_s']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
        f"{r['ratings_sent']} / {r['ratings_acknowledged']} / {r['ratings_stored']} | {r['load_avg_1min_at_start']} |"
        for k, r in runs.items()
    )
    md = f"""Script: `benchmarks/replicas.py` (issue 22). {args.clients} MCP clients (the SDK's streamable HTTP client) on
loopback, {args.requests} calls each: `rate_feedback`, `list_sounds` and the `sound://{{id}}/meta` resource in turn,
against one stateless replica and against two over the same PostgreSQL (clients spread round-robin), then one again.
Each replica: `lstmabar serve --http --stateless`, database blob store, 2 workers. Load average (1 min) when each run
started is in the table: this 2-core machine was shared with other work, so the ratio is the cost or gain of a
second process on the same two cores, not a measure of two machines.

| run | calls | errors | calls/s | p50 ms | p95 ms | p99 ms | ratings sent / acknowledged / stored | load |
|---|---|---|---|---|---|---|---|---|
{rows}

Two replicas vs one: throughput x{figures['throughput_ratio_2_vs_1']}, p50 x{figures['p50_ratio_2_vs_1']}, p95 x{figures['p95_ratio_2_vs_1']}.
Every rating sent was stored: {figures['all_ratings_stored']} (every acknowledged one: {figures['acknowledged_ratings_all_stored']}).
Errors are calls that failed (an answered error, or a connection dropped under the client, after which it connects again).
"""
    write_report("replicas", figures, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
