"""Seconds per call of the three searching tools at their defaults, in one run, as a chat client calls them.

The issues' speed goals (#17, #18, #19) are "under 10 s per call on this CPU when idle". The other benchmarks time
their calls while other work shares the two cores, so this script records the 1-minute load average before
every call and the call's own CPU seconds (which the load does not inflate). The tools run on one thread, so on
the 2 cores a call had its core to itself when its CPU seconds are at least 95 % of its wall seconds; the report
calls the run idle when that holds for every call and nothing else was running at the start (1-minute load below 1).

- optimize_fx: a 5 s excerpt of each real recording, "brighter" (EQ only) and "brighter and a bit roomier"
  (a chain chosen from the words), default method ("both") and budget.
- synthesize_from_text: the first held-out prompts of benchmarks/data's prompt set, k=1 and k=3 (the default); then a
  refinement of each k=1 result (``start_from``) with one plain step ("darker", "an octave higher", "slower attack", "shorter"),
  timed as its own row: a refinement also describes the start sound and scores one-knob moves before its search.
- match_sound: held-out real notes of the corpus (the real-notes study's picker), default budget.

Run: ``python -m benchmarks.tool_speed [--corpus /work/corpus/small]`` (about 4 minutes idle).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks._fx_common import AUDIO, SOURCES
from benchmarks._report import write_report

GOAL_S = 10.0
REFINE_STEPS = ("darker", "an octave higher", "slower attack", "shorter")


def _timed(fn) -> tuple[object, float, float, float]:
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0, load


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/corpus/small")
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--notes", type=int, default=6)
    args = ap.parse_args(argv)

    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.library.threads import apply_threads, plan_threads
    from lstmabar.models.fx.optimize import loudest_excerpt
    from lstmabar.models.lstmabar.corpus.store import Corpus
    from lstmabar.server.app import warm_up
    from lstmabar.tools import match_sound, optimize_fx
    from lstmabar.tools import synthesize_from_text as synth
    from lstmabar.tools.base import ModelCache, ToolContext
    from benchmarks.match_sound import pick_notes
    from benchmarks.synthesize import load_prompt_set

    plan = plan_threads(workers=Config().workers)
    apply_threads(plan)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t0
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),))
        lib = SoundLibrary(cfg)
        models = ModelCache()

        def ctx() -> ToolContext:  # one per call: its time budget counts from its creation, as the server does
            return ToolContext(library=lib, config=cfg, models=models)

        def record(tool: str, what: str, res) -> None:
            _, wall, cpu, load = res
            rows.append({"tool": tool, "what": what, "wall_s": wall, "cpu_s": cpu, "load": load})
            print(f"{tool:22s} {what:48s} {wall:5.1f} s  cpu {cpu:5.1f}  load {load:.2f}", flush=True)

        # warm each tool once (the first call loads its models, as the first request on a server does)
        for name, rel in SOURCES.items():
            x, sr = sf.read(AUDIO / rel, dtype="float32", always_2d=True)
            a, b = loudest_excerpt(x.mean(axis=1), sr, 5.0)
            wav = Path(tmp) / f"{name}.wav"
            sf.write(wav, x[a:b], sr)
            for prompt in ("brighter", "brighter and a bit roomier"):
                res = _timed(lambda: optimize_fx.run(optimize_fx.Input(audio=AudioInput(path=str(wav)), prompt=prompt), ctx()))
                record("optimize_fx", f"{name} 5 s: {prompt}", res)

        prompts = [p for p in load_prompt_set()["prompts"] if p["split"] == "held_out"][: args.prompts]
        firsts = []
        for p in prompts:
            for k in (1, 3):
                res = _timed(lambda: synth.run(synth.Input(prompt=p["prompt"], k=k), ctx()))
                record("synthesize_from_text", f"k={k}: {p['prompt']}", res)
                if k == 1:
                    firsts.append((p["prompt"], res[0].output.candidates[0].sound.id))
        for (prompt, sound_id), step in zip(firsts, REFINE_STEPS):
            res = _timed(lambda: synth.run(synth.Input(prompt=step, start_from=sound_id), ctx()))
            record("synthesize refinement", f"{prompt} -> {step}", res)

        corpus = Corpus(args.corpus)
        for clip in pick_notes(corpus.clips, args.notes):
            path = Path(tmp) / f"{clip['id']}.wav"
            sf.write(path, corpus.audio([clip["id"]])[0], 44_100)
            res = _timed(lambda: match_sound.TOOL.run(match_sound.Input(audio=AudioInput(path=str(path))), ctx()))
            record("match_sound", f"{clip['gm_name']} {clip['pitch']}", res)
        lib.close()
    load_end = os.getloadavg()

    fig: dict[str, float | str] = {"threads": plan.threads, "warm_up_s": warm, "load_1min_start": load_start[0], "load_1min_end": load_end[0],
                                   "cpu_over_wall_min": min(x["cpu_s"] / x["wall_s"] for x in rows)}
    fig["idle"] = float(load_start[0] < 1.0 and fig["cpu_over_wall_min"] >= 0.95)
    md_rows = []
    for tool in ("optimize_fx", "synthesize_from_text", "synthesize refinement", "match_sound"):
        r = [x for x in rows if x["tool"] == tool]
        if not r:
            continue
        # the first call of each tool loads its models (a refinement runs on the loaded synthesize models: all its calls count)
        first, rest = (r[0], r[1:]) if tool != "synthesize refinement" else (r[0], r)
        walls = np.array([x["wall_s"] for x in rest])
        fig.update({f"{tool}_first_call_s": first["wall_s"], f"{tool}_calls": len(rest), f"{tool}_wall_s_mean": float(walls.mean()),
                    f"{tool}_wall_s_max": float(walls.max()), f"{tool}_cpu_s_mean": float(np.mean([x["cpu_s"] for x in rest])),
                    f"{tool}_load_mean": float(np.mean([x["load"] for x in rest])), f"{tool}_under_goal": float((walls < GOAL_S).mean())})
        first_s = "-" if first in rest else f"{first['wall_s']:.1f}"
        md_rows.append(f"| {tool} | {first_s} | {len(rest)} | {walls.mean():.1f} | {walls.max():.1f} | {fig[f'{tool}_cpu_s_mean']:.1f} | "
                       f"{fig[f'{tool}_load_mean']:.2f} | {fig[f'{tool}_under_goal']:.0%} |")
    detail = "\n".join(f"| {x['tool']} | {x['what']} | {x['wall_s']:.1f} | {x['cpu_s']:.1f} | {x['load']:.2f} |" for x in rows)
    state = (f"{'idle' if fig['idle'] else 'NOT idle: not an idle figure'} (1-minute load {load_start[0]:.2f} at the start; "
             f"every call's CPU seconds at least {fig['cpu_over_wall_min']:.0%} of its wall seconds)")
    md = (f"Script: `benchmarks/tool_speed.py`. Each tool called at its defaults through its tool module, a fresh context per call "
          f"(the time budget counts from it), {plan.describe()}; server warm-up {warm:.1f} s before the calls. The machine was {state}; "
          f"{load_end[0]:.2f} at the end. The goal in issues #17-#19: under {GOAL_S:g} s per call when idle. The first call of each tool "
          "loads its models and is shown apart; the statistics are over the calls after it.\n\n"
          "| tool | first call s | calls | mean s | max s | CPU s mean | load mean | under 10 s |\n|---|---|---|---|---|---|---|---|\n"
          + "\n".join(md_rows)
          + "\n\n<details><summary>Every call</summary>\n\n| tool | call | wall s | CPU s | load |\n|---|---|---|---|---|\n" + detail + "\n\n</details>")
    write_report("tool_speed", fig, md)


if __name__ == "__main__":
    main()
