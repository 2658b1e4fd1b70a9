"""synthesize_from_text reports. ``python -m benchmarks.synthesize`` runs the issue-18 study (the sound
brief: prompts with measurable demands, refinement chains, exploitation gap, speed; code in
``brief_study`` at the end of this file, report ``synthesize``). ``--ablation`` runs the older issue-6 study
below (report ``synthesize_ablation``) and ``--anchor-study`` the anchor_weight study.

The issue-6 study (CTAG, seed 003 ch. 4):

1. Ablation (CTAG's shape): on the held-out prompts ``holdout.SYNTH_EVAL_PROMPTS``, SNES, CMA-ES and
   random search at equal evaluations (population 50, seed-matched), best score vs. evaluations.
2. Independent check: a second text-audio embedder when one loads offline; otherwise (and always)
   measured descriptors of the returned sounds against what each prompt plainly asks for (a fixed
   table below: "bass" = low pitch, "drone" = sustained, ...), compared with random patches and
   with random search's best.
3. Speed: the tool at its default budget (wall time per call, time to a first good result, share of
   time in render / embedding / optimiser) and seconds per generation of 50 (CTAG: 100 x 50 = 18 s
   on a V100).
4. Listen-proxy: measured pitch, brightness, noisiness, envelope of a sample of results.

Run: ``python -m benchmarks.synthesize`` (options: --embedder, --evals, --methods, --prompts,
--tool-calls). Threads: 1 (the machine is shared), stated in the report.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._report import DOCS, write_report
from lstmabar.models.embedders.base import Embedder
from lstmabar.models.lstmabar.holdout import SYNTH_EVAL_PROMPTS
from lstmabar.models.search import ParamSpace, make_strategy, run_search
from lstmabar.models.search.describe import describe, words_for
from lstmabar.models.search.objective import TextAudioObjective
from lstmabar.models.synth.params import NUM_PARAMS

SR = 48_000
SECONDS = 2.0
POP = 50


# What each prompt plainly asks for, as checks on ``describe`` (written before looking at results;
# generous thresholds; a proxy for listening, not a ground truth).
def _pitched(d):
    return bool(d.get("pitched"))  # library.descriptors: more than half of the sounding frames voiced (pYIN)


EXPECT: dict[str, list[tuple[str, object]]] = {
    "glassy bell": [("pitched", _pitched), ("bright (centroid > 1 kHz)", lambda d: d["centroid_hz"] > 1000), ("decays (sounds < 70 %)", lambda d: d["sounding_fraction"] < 0.7)],
    "dark drone": [("dark (centroid < 800 Hz)", lambda d: d["centroid_hz"] < 800), ("sustained (> 70 %)", lambda d: d["sounding_fraction"] > 0.7)],
    "plucky bass": [("low pitch (< 200 Hz)", lambda d: _pitched(d) and (d.get("f0_hz") or 1e9) < 200), ("sharp attack (< 20 ms)", lambda d: d["attack_s"] < 0.02), ("short (< 50 %)", lambda d: d["sounding_fraction"] < 0.5)],
    "airy pad": [("breathy noise (flatness > 0.05)", lambda d: d["flatness"] > 0.05), ("soft attack (> 0.1 s)", lambda d: d["attack_s"] > 0.1), ("sustained (> 60 %)", lambda d: d["sounding_fraction"] > 0.6)],
    "buzzy lead": [("pitched", _pitched), ("bright (centroid > 1 kHz)", lambda d: d["centroid_hz"] > 1000), ("sustained (> 50 %)", lambda d: d["sounding_fraction"] > 0.5)],
    "velvety strings": [("pitched", _pitched), ("soft attack (> 50 ms)", lambda d: d["attack_s"] > 0.05), ("not harsh (centroid < 3 kHz)", lambda d: d["centroid_hz"] < 3000)],
    "metallic clang": [("sharp attack (< 20 ms)", lambda d: d["attack_s"] < 0.02), ("bright (centroid > 1.5 kHz)", lambda d: d["centroid_hz"] > 1500), ("decays (sounds < 70 %)", lambda d: d["sounding_fraction"] < 0.7)],
    "hollow flute": [("pitched", _pitched), ("above 250 Hz", lambda d: (d.get("f0_hz") or 0) > 250), ("tonal (flatness < 0.1)", lambda d: d["flatness"] < 0.1)],
    "siren": [("pitched", _pitched), ("pitch moves > 3 semitones", lambda d: (d.get("pitch_range_semitones") or 0) > 3), ("sustained (> 70 %)", lambda d: d["sounding_fraction"] > 0.7)],
    "thunder": [("noisy (flatness > 0.1)", lambda d: d["flatness"] > 0.1), ("low (centroid < 1.5 kHz)", lambda d: d["centroid_hz"] < 1500)],
    "bird chirp": [("high (f0 > 1 kHz or centroid > 2 kHz)", lambda d: (d.get("f0_hz") or 0) > 1000 or d["centroid_hz"] > 2000), ("short (< 50 %)", lambda d: d["sounding_fraction"] < 0.5)],
    "laser zap": [("pitch sweeps > 3 semitones", lambda d: (d.get("pitch_range_semitones") or 0) > 3), ("short (< 50 %)", lambda d: d["sounding_fraction"] < 0.5), ("sharp attack (< 20 ms)", lambda d: d["attack_s"] < 0.02)],
}


def expectation_score(prompt: str, d: dict) -> float:
    checks = EXPECT.get(prompt, [])
    if not checks or d.get("silent"):
        return 0.0
    return float(np.mean([bool(fn(d)) for _, fn in checks]))


LOAD_SECONDS: dict[str, float] = {}


def load(name: str) -> tuple[Embedder | None, str | None]:
    from lstmabar.models.embedders import EmbedderUnavailable, load_embedder

    try:
        t0 = time.perf_counter()
        e = load_embedder(name)
        LOAD_SECONDS[name] = time.perf_counter() - t0
        return e, None
    except (EmbedderUnavailable, Exception) as exc:  # report why
        return None, f"{type(exc).__name__}: {str(exc).split('. ')[0][:200]}"


def tool_session(embedder: str):
    """(embedder, temporary folder, Config, SoundLibrary, ModelCache) for calling the tool as a server does, with the
    embedder loaded once and held in the cache; exits when the embedder is unavailable. Clean up with ``tmp.cleanup()``."""
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.tools.base import ModelCache

    emb, why = load(embedder)
    if emb is None:
        raise SystemExit(f"embedder {embedder!r} unavailable: {why}")
    tmp = tempfile.TemporaryDirectory()
    cfg = Config(output_dir=Path(tmp.name), allowed_dirs=(Path(tmp.name),), embedder=embedder)
    lib = SoundLibrary(cfg)
    models = ModelCache()
    models._items[f"embedder:{embedder}"] = emb
    return emb, tmp, cfg, lib, models


def curve_at(history: list[tuple], evals: int) -> float:
    best = -1.0
    for e, b, *_ in history:
        if e <= evals:
            best = b
    return best


def ablation(args) -> None:
    """The issue-6 study (report ``synthesize_ablation``): SNES, CMA-ES and random search with CTAG's
    plain fitness on ``SYNTH_EVAL_PROMPTS``, an old descriptor table, speed and a listen-proxy."""
    from lstmabar.models.synth.voice import Voice

    emb, why = load(args.embedder)
    fake = False
    if emb is None:
        from tests.fakes import TinyEmbedder

        print(f"embedder {args.embedder!r} unavailable ({why}); FALLING BACK to tests.fakes.TinyEmbedder")
        emb, fake = TinyEmbedder(), True
    emb_name = emb.name
    second, why2 = load(args.second) if args.second else (None, "not requested")

    from lstmabar.models.synth.sounds import render_final

    voice = Voice(sample_rate=SR, control_rate=480, seconds=SECONDS)
    rate = SR  # the tool searches at its output rate (issue 14: a 16 kHz search scored other sounds)
    search_voice = voice
    prompts = list(SYNTH_EVAL_PROMPTS[: args.prompts])
    methods = args.methods.split(",")
    checkpoints = [e for e in (100, 250, 500, 1000, 1500, 2500, 5000, 10000, 15000) if e <= args.evals]
    fig: dict[str, float] = {"evaluations_per_search": args.evals, "population": POP, "prompts": len(prompts), "threads": args.threads}
    fig["embedder_is_fake_fallback"] = int(fake)
    if args.embedder in LOAD_SECONDS:
        fig["embedder_load_s"] = round(LOAD_SECONDS[args.embedder], 2)

    # ---------------------------------------------------------------- 1. ablation
    results: dict[str, dict[str, dict]] = {m: {} for m in methods}
    per_gen_s: list[float] = []
    shares = {"render": 0.0, "embed": 0.0, "opt": 0.0, "total": 0.0}
    for p in prompts:
        for m in methods:
            obj = TextAudioObjective(lambda x: search_voice.render(x, seed=0), emb, p, rate)
            t0 = time.perf_counter()
            res = run_search(obj, make_strategy(m, NUM_PARAMS, POP, seed=0), ParamSpace(NUM_PARAMS), max_evaluations=args.evals, patience=None)
            dt = time.perf_counter() - t0
            per_gen_s.append(dt / res.generations)
            shares["render"] += obj.render_seconds
            shares["embed"] += obj.embed_seconds
            shares["opt"] += res.overhead_seconds
            shares["total"] += res.seconds
            results[m][p] = {"history": res.history, "best": res.best_fitness, "x": res.best_params, "first_gen": res.history[0]}
            print(f"{p!r:20} {m:7} best {res.best_fitness:.4f} (gen1 best {res.history[0][2]:.4f}) {dt:.1f} s", flush=True)

    for m in methods:
        finals = np.array([results[m][p]["best"] for p in prompts])
        fig[f"ablation_{m}_final_mean"] = round(float(finals.mean()), 4)
        for e in checkpoints:
            fig[f"ablation_{m}_at_{e}"] = round(float(np.mean([curve_at(results[m][p]["history"], e) for p in prompts])), 4)
    if "snes" in methods and "random" in methods:
        d = np.array([results["snes"][p]["best"] - results["random"][p]["best"] for p in prompts])
        fig["snes_minus_random_mean"] = round(float(d.mean()), 4)
        fig["snes_beats_random_prompts"] = int((d > 0).sum())
    if "cmaes" in methods and "random" in methods:
        d = np.array([results["cmaes"][p]["best"] - results["random"][p]["best"] for p in prompts])
        fig["cmaes_minus_random_mean"] = round(float(d.mean()), 4)
        fig["cmaes_beats_random_prompts"] = int((d > 0).sum())
    fig["seconds_per_generation_of_50"] = round(float(np.median(per_gen_s)), 3)
    fig["projected_seconds_100x50"] = round(100 * float(np.median(per_gen_s)), 1)
    fig["ablation_share_render"] = round(shares["render"] / shares["total"], 3)
    fig["ablation_share_embedding"] = round(shares["embed"] / shares["total"], 3)
    fig["ablation_share_optimizer"] = round(shares["opt"] / shares["total"], 3)

    # curves figure
    try:
        from lstmabar.library.images import line_plot_png

        xs = np.arange(POP, args.evals + 1, POP)
        curves = [(m, np.array([np.mean([curve_at(results[m][p]["history"], e) for p in prompts]) for e in xs])) for m in methods]
        png = line_plot_png(xs, curves, xlabel="evaluations (renders)", ylabel=f"best cosine ({emb_name})", title="synthesize_from_text: mean best score vs evaluations", logx=False)
        (DOCS / "results").mkdir(parents=True, exist_ok=True)
        (DOCS / "results" / "synthesize_curves.png").write_bytes(png)
    except Exception as exc:  # the figure is a convenience
        print("curve figure failed:", exc)

    # ---------------------------------------------------------------- 2. independent checks
    rng = torch.Generator().manual_seed(123)
    rand_x = torch.rand(20, NUM_PARAMS, generator=rng)
    with torch.no_grad():
        rand_audio, _ = torch.from_numpy(render_final(voice, rand_x, 0)), None
    rand_desc = [describe(a.numpy(), SR) for a in rand_audio]
    exp = {m: [] for m in methods}
    exp["random_patches"] = []
    listen: list[str] = []
    second_scores = {m: [] for m in methods}
    for p in prompts:
        exp["random_patches"].append(float(np.mean([expectation_score(p, d) for d in rand_desc])))
        for m in methods:
            x = results[m][p]["x"]
            with torch.no_grad():
                a, _ = torch.from_numpy(render_final(voice, x[None], 0)), None
            d = describe(a[0].numpy(), SR)
            results[m][p]["desc"] = d
            exp[m].append(expectation_score(p, d))
            if second is not None:
                obj2 = TextAudioObjective(lambda x: x, second, p, SR)
                second_scores[m].append(float(obj2(a)[0][0]))
        if "snes" in methods:
            d = results["snes"][p]["desc"]
            met = [name for name, fn in EXPECT.get(p, []) if not d.get("silent") and fn(d)]
            miss = [name for name, fn in EXPECT.get(p, []) if d.get("silent") or not fn(d)]
            listen.append(
                f"| {p} | {results['snes'][p]['best']:.3f} | {words_for(d)}; centroid {d.get('centroid_hz', 0):.0f} Hz, flatness {d.get('flatness', 0):.3f}, "
                f"attack {d.get('attack_s', 0):.3f} s, sounding {100 * d.get('sounding_fraction', 0):.0f} % | {', '.join(met) or '-'} | {', '.join(miss) or '-'} |"
            )
    if "snes" in methods:
        try:
            from lstmabar.library.images import spectrogram_png

            xs = torch.stack([results["snes"][p]["x"] for p in prompts[:6]])
            with torch.no_grad():
                a, _ = torch.from_numpy(render_final(voice, xs, 0)), None
            panels = [(f"{p}  (score {results['snes'][p]['best']:.3f})", a[i].numpy(), SR) for i, p in enumerate(prompts[:6])]
            (DOCS / "results" / "synthesize_examples.png").write_bytes(spectrogram_png(panels, height=1.8))
        except Exception as exc:
            print("example figure failed:", exc)
    for k, v in exp.items():
        fig[f"expectations_met_{k}"] = round(float(np.mean(v)), 3)
    fig["median_centroid_hz_random_patches"] = round(float(np.median([d.get("centroid_hz") or 0.0 for d in rand_desc])), 1)
    for m in methods:
        fig[f"median_centroid_hz_{m}"] = round(float(np.median([results[m][p]["desc"].get("centroid_hz") or 0.0 for p in prompts])), 1)
        fig[f"pitched_share_{m}"] = round(float(np.mean([_pitched(results[m][p]["desc"]) for p in prompts])), 3)
    fig["pitched_share_random_patches"] = round(float(np.mean([_pitched(d) for d in rand_desc])), 3)
    # Same-embedder retrieval (not independent): is each result closer to its own prompt than to
    # the other prompts? CTAG's classification check, with the optimised embedder as the judge.
    with torch.no_grad():
        tvec = torch.nn.functional.normalize(emb.embed_text(prompts).float().cpu(), dim=-1)
        for m in methods:
            xs = torch.stack([results[m][p]["x"] for p in prompts])
            a, _ = torch.from_numpy(render_final(voice, xs, 0)), None
            e = torch.nn.functional.normalize(emb.embed_audio(a, SR).float().cpu(), dim=-1)
            fig[f"retrieval_top1_{m}"] = round(float(((e @ tvec.T).argmax(dim=1) == torch.arange(len(prompts))).float().mean()), 3)
    fig["retrieval_chance"] = round(1 / len(prompts), 3)
    if second is not None:
        for m in methods:
            fig[f"second_embedder_{m}_mean"] = round(float(np.mean(second_scores[m])), 4)

    # ---------------------------------------------------------------- 3. the tool at its defaults
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.tools import synthesize_from_text as tool
    from lstmabar.tools.base import ModelCache, ToolContext

    calls = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output_dir=Path(tmp), allowed_dirs=(Path(tmp),), embedder=args.embedder)
        lib = SoundLibrary(cfg)
        ctx = ToolContext(library=lib, config=cfg, models=ModelCache())
        ctx.models._items[f"embedder:{args.embedder}"] = emb
        ctx.models._items[f"synth:voice:{SR}:{SECONDS:g}"] = voice
        ctx.models._items[f"synth:voice:{rate}:{SECONDS:g}"] = search_voice
        for p in prompts[: args.tool_calls]:
            t0 = time.perf_counter()
            out = tool.run(tool.Input(prompt=p), ctx).output
            wall = time.perf_counter() - t0
            curve = out.best_by_generation
            # first good result: the best-so-far first within 0.01 of the final best
            gens_to_good = next(i + 1 for i, v in enumerate(curve) if v >= curve[-1] - 0.01)
            per_gen = out.seconds / max(out.generations, 1)
            step = max(1, int(np.ceil(out.generations / 60)))
            calls.append({"prompt": p, "wall": wall, "search": out.seconds, "gens": out.generations, "stopped": out.stopped, "to_good_s": gens_to_good * step * per_gen, "best": out.best_score, "share": out.time_share})
            print(f"tool {p!r}: {wall:.1f} s wall, {out.generations} gens, stopped {out.stopped}, best {out.best_score:.3f}", flush=True)
        lib.close()
    if calls:
        fig["tool_default_wall_s_mean"] = round(float(np.mean([c["wall"] for c in calls])), 2)
        fig["tool_default_wall_s_max"] = round(float(np.max([c["wall"] for c in calls])), 2)
        fig["tool_default_time_to_good_s_mean"] = round(float(np.mean([c["to_good_s"] for c in calls])), 2)
        fig["tool_default_generations_mean"] = round(float(np.mean([c["gens"] for c in calls])), 1)
        for k in ("render", "embedding", "optimizer"):
            fig[f"tool_share_{k}"] = round(float(np.mean([c["share"][k] for c in calls])), 3)

    # ---------------------------------------------------------------- report
    lines = []
    if fake:
        lines.append(f"**The default embedder could not be loaded ({why}); these figures use the test fake `TinyEmbedder` (band energies + hashed words), so the scores say nothing about semantic quality — rerun `python -m benchmarks.synthesize` once `load_embedder('{args.embedder}')` works.**\n")
    wfile = Path(args.embedder.partition(":")[2]) if ":" in args.embedder else None
    if wfile is None and emb_name == "lstmabar":
        from lstmabar.models.lstmabar import embedder as _lem

        wfile = Path(getattr(_lem, "WEIGHTS", ""))
    if wfile is not None and wfile.is_file():
        import hashlib

        digest = hashlib.sha256(wfile.read_bytes()).hexdigest()[:12]
        lines.append(f"Weights: `{wfile.name}` sha256 {digest}… ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(wfile.stat().st_mtime))}).\n")
    lines.append(f"Embedder optimised: `{emb_name}`. Prompts: the {len(prompts)} held-out `SYNTH_EVAL_PROMPTS`. Voice synth, 2 s (rendered at {rate} Hz during search and for the results), population {POP}, {args.evals} evaluations per search, seed 0, torch threads {args.threads}.\n")
    lines.append("### ES vs random search at equal evaluations (mean best cosine over prompts)\n")
    lines.append("| evaluations | " + " | ".join(methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for e in checkpoints:
        lines.append(f"| {e} | " + " | ".join(f"{fig[f'ablation_{m}_at_{e}']:.4f}" for m in methods) + " |")
    if "snes_minus_random_mean" in fig:
        lines.append(f"\nSNES beats random search on {fig['snes_beats_random_prompts']}/{len(prompts)} prompts (mean gain {fig['snes_minus_random_mean']:+.4f}).")
    if "cmaes_minus_random_mean" in fig:
        lines.append(f"CMA-ES beats random search on {fig['cmaes_beats_random_prompts']}/{len(prompts)} prompts (mean gain {fig['cmaes_minus_random_mean']:+.4f}).")
    lines.append("Curves: `docs/results/synthesize_curves.png`.\n")
    lines.append("Per prompt (final best during search):\n")
    lines.append("| prompt | " + " | ".join(methods) + " |\n|---|" + "---|" * len(methods))
    for p in prompts:
        lines.append(f"| {p} | " + " | ".join(f"{results[m][p]['best']:.4f}" for m in methods) + " |")
    lines.append("\n### Independent check\n")
    if second is None:
        lines.append(f"No second text-audio embedder loads offline (`{args.second}`: {why2}), so no cross-embedder score. Instead: measured descriptors of the returned sounds against what each prompt plainly asks for (a fixed table in the script, e.g. 'bass' = pitched below 200 Hz, 'drone' = sustained, 'airy' = noisy, 'zap' = pitch sweep), as the fraction of checks met:\n")
    else:
        lines.append("Mean cosine of the returned sounds under the second embedder: " + ", ".join(f"{m} {fig[f'second_embedder_{m}_mean']:.4f}" for m in methods) + "\n")
        lines.append("Descriptor checks (fraction of the prompt's plain demands met):\n")
    lines.append("| source | expectations met |\n|---|---|")
    for k in list(methods) + ["random_patches"]:
        lines.append(f"| {k} | {fig[f'expectations_met_{k}']:.3f} |")
    lines.append("\n| source | median spectral centroid (Hz) | share clearly pitched |\n|---|---|---|")
    for k in list(methods) + ["random_patches"]:
        lines.append(f"| {k} | {fig[f'median_centroid_hz_{k}']:.0f} | {fig[f'pitched_share_{k}']:.2f} |")
    if "snes" in methods:
        worse = fig["expectations_met_snes"] < fig["expectations_met_random_patches"]
        lines.append(
            "\nReading: the search raises the embedder's score well above random patches, "
            + ("but its results meet *fewer*" if worse else "and its results also meet more")
            + f" of the prompts' plain acoustic demands than random patches do ({fig['expectations_met_snes']:.2f} vs {fig['expectations_met_random_patches']:.2f})"
            + (", so with this embedder the search mostly pleases the scorer rather than the prompt" if worse else "")
            + f"; median centroid of SNES results {fig['median_centroid_hz_snes']:.0f} Hz vs {fig['median_centroid_hz_random_patches']:.0f} Hz for random patches. See the `synthesize_anchor` section for a partial remedy (`anchor_weight`)."
        )
    lines.append("\nSame-embedder retrieval (not independent; CTAG's classification check with the optimised model as judge): top-1 of its own prompt among the " + str(len(prompts)) + " prompts: " + ", ".join(f"{m} {fig[f'retrieval_top1_{m}']:.2f}" for m in methods) + f" (chance {fig['retrieval_chance']:.2f}).")
    lines.append("\n### Speed\n")
    if calls:
        lines.append(f"The tool at its defaults (SNES, population {tool.DEFAULT_POPULATION}, up to {tool.DEFAULT_EVALUATIONS} evaluations or {tool.DEFAULT_SECONDS:g} s, patience {tool.DEFAULT_PATIENCE} generations, k = 3 saved): wall time per call mean {fig['tool_default_wall_s_mean']:.1f} s (max {fig['tool_default_wall_s_max']:.1f} s) over {len(calls)} prompts; best-so-far within 0.01 of its final value after {fig['tool_default_time_to_good_s_mean']:.1f} s on average. Share of search time: render {fig['tool_share_render']:.1%}, embedding {fig['tool_share_embedding']:.1%}, optimiser {fig['tool_share_optimizer']:.1%}.")
    lines.append(f"Ablation runs: render {fig['ablation_share_render']:.1%}, embedding {fig['ablation_share_embedding']:.1%}, optimiser (ask/tell/bookkeeping) {fig['ablation_share_optimizer']:.1%} of search time; {fig['seconds_per_generation_of_50']:.2f} s per generation of 50, so 100 x 50 would take about {fig['projected_seconds_100x50']:.0f} s here (CTAG: 18 s on one V100 with HTSAT). No GPU was lent to this task.\n")
    lines.append("### Listen-proxy (SNES results; measured, not heard)\n")
    lines.append("Spectrograms of the first six: `docs/results/synthesize_examples.png`.\n")
    lines.append("| prompt | score | measured character | demands met | demands missed |\n|---|---|---|---|---|")
    lines.extend(listen)
    write_report("synthesize_ablation", fig, "\n".join(lines))


def anchor_study(args, weights=(0.0, 0.5, 1.0), evals: int = 1500) -> None:
    """SNES with fitness cos(prompt) - w * cos("a sound") on every other held-out prompt: plain
    cosine, cosine to the anchor, descriptor checks and brightness of the results."""
    from lstmabar.models.synth.voice import Voice
    from lstmabar.models.synth.sounds import render_final

    emb, why = load(args.embedder)
    if emb is None:
        raise SystemExit(f"embedder unavailable: {why}")
    rate = SR  # as the tool: search and results at the output rate
    sv = v48 = Voice(SR, 480, SECONDS)
    prompts = list(SYNTH_EVAL_PROMPTS[::2])
    anchor = torch.nn.functional.normalize(emb.embed_text(["a sound"]).float()[0], dim=-1)
    rx = torch.rand(50, NUM_PARAMS, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        re_ = torch.nn.functional.normalize(emb.embed_audio(torch.from_numpy(render_final(v48, rx, 0)), SR).float(), dim=-1)
    fig = {"anchor_study_prompts": len(prompts), "anchor_study_evals": evals, "random_patches_cos_anchor": round(float((re_ @ anchor).mean()), 4)}
    rows, e, c = [], [], []  # e, c: expectations met and median centroid per weight, for the reading
    for w in weights:
        cos_p, cos_a, exp_, cent = [], [], [], []
        for p in prompts:
            obj = TextAudioObjective(lambda x: sv.render(x, seed=0), emb, p, rate, anchor="a sound", anchor_weight=w)
            r = run_search(obj, make_strategy("snes", NUM_PARAMS, POP, seed=0), ParamSpace(NUM_PARAMS), max_evaluations=evals)
            a = render_final(v48, r.best_params[None], 0)
            with torch.no_grad():
                e = torch.nn.functional.normalize(emb.embed_audio(torch.from_numpy(a), SR).float(), dim=-1)[0]
            d = describe(a[0], SR)
            cos_p.append(float(e @ obj.text))
            cos_a.append(float(e @ anchor))
            exp_.append(expectation_score(p, d))
            cent.append(d.get("centroid_hz") or 0.0)
            print(f"w={w} {p!r}: cos {cos_p[-1]:.3f} anchor {cos_a[-1]:.3f} expectations {exp_[-1]:.2f} centroid {cent[-1]:.0f}", flush=True)
        key = f"w{w:g}".replace(".", "_")
        fig[f"anchor_{key}_cos_prompt"] = round(float(np.mean(cos_p)), 4)
        fig[f"anchor_{key}_cos_anchor"] = round(float(np.mean(cos_a)), 4)
        fig[f"anchor_{key}_expectations_met"] = round(float(np.mean(exp_)), 3)
        fig[f"anchor_{key}_median_centroid_hz"] = round(float(np.median(cent)), 1)
        rows.append(f"| {w:g} | {np.mean(cos_p):.3f} | {np.mean(cos_a):.3f} | {np.mean(exp_):.2f} | {np.median(cent):.0f} |")
        e.append(fig[f"anchor_{key}_expectations_met"])
        c.append(fig[f"anchor_{key}_median_centroid_hz"])
    reading = (f"Against w = 0, the anchored searches meet {'more' if max(e[1:]) > e[0] else 'fewer'} of the prompts' plain acoustic demands "
               f"({' / '.join(f'{v:.2f}' for v in e)} at w = {' / '.join(f'{w:g}' for w in weights)}), and their median centroid goes "
               f"{' -> '.join(f'{v:.0f}' for v in c)} Hz.")
    md = "\n".join([
        f"Why: `anchor_weight` was added when CTAG's plain fitness drifted to generic sounds that the embedder rates close to *any* text (a high cosine to the bare text \"a sound\"; random patches average {fig['random_patches_cos_anchor']:.3f}). Test: SNES, {evals} evaluations, seed 0, on {len(prompts)} prompts ({', '.join(prompts)}), fitness cos(prompt) - w * cos(\"a sound\"); `synthesize_from_text` exposes w as `anchor_weight` (default 0 = CTAG).\n",
        "| w | cos to prompt | cos to \"a sound\" | descriptor checks met | median centroid (Hz) |",
        "|---|---|---|---|---|",
        *rows,
        f"\nOne seed, six prompts: a hint, not a verdict. {reading} The tool's default stays w = 0 (CTAG's fitness).",
    ])
    write_report("synthesize_anchor", fig, md)


# ============================================================================ issue 18: the sound brief study
PROMPT_SET = Path(__file__).resolve().parent / "data" / "synth_prompts.json"
PITCH_KEYS = {"f0_hz", "pitch_trend_semitones_per_s", "pitch_range_semitones"}


def load_prompt_set(path: Path = PROMPT_SET) -> dict:
    import json

    return json.loads(path.read_text())


def demand_met(dm: dict, d: dict) -> bool:
    """One demand of the prompt set on a sound's flat descriptors (library.descriptors.describe)."""
    if d.get("silent"):
        return False
    key, op = dm["d"], dm["op"]
    v = d.get(key)
    if dm.get("needs") and d.get(dm["needs"]) is None:
        return False
    if op == "true":
        return bool(v)
    if key == "f0_hz" and not d.get("pitched"):
        return False
    if v is None:
        return False
    v = float(v)
    if op == ">=":
        return v >= dm["v"]
    if op == "<=":
        return v <= dm["v"]
    if op == "between":
        return dm["lo"] <= v <= dm["hi"]
    if op == "near":
        return v > 0 and abs(1200 * np.log2(v / dm["v"])) <= dm["cents"]
    raise ValueError(f"unknown demand op {op!r}")


# A modulation's rate has no axis in library.descriptors' vocabulary; a change of it asked by direction ("slow the wobble
# down") must move it by x1.25 and 0.3 Hz at least (people tell 2-10 Hz modulation rates apart at about 10-20 %: one
# such step with margin, as the attack's x1.25). Set before held_out_15 was run, whose chains ask rates by direction.
RATE_AXIS = {"am_rate_hz", "vibrato_rate_hz"}
RATE_STEP, RATE_MIN_STEP = 1.25, 0.3


def _moved(key: str, a: float, b: float, direction: str) -> bool:
    """b moved from a in ``direction`` by at least library.descriptors' noticeable step for ``key`` (a modulation rate:
    ``RATE_STEP``)."""
    from types import SimpleNamespace

    from lstmabar.library.descriptors.words import AXIS

    ax = SimpleNamespace(ratio=True, step=RATE_STEP, min_step=RATE_MIN_STEP) if key in RATE_AXIS else AXIS[key]
    if (b > a) != (direction == "up") or a == b:
        return False
    if ax.ratio:
        if min(a, b) < 0:
            return False
        if min(a, b) == 0:  # from (or to) zero the ratio is unbounded: the minimum step decides
            return abs(b - a) >= ax.min_step
        return max(a, b) / min(a, b) >= ax.step and abs(b - a) >= ax.min_step
    return abs(b - a) >= ax.step


def step_judgement(step: dict, a: dict, b: dict) -> dict:
    """The asked change and the keep rules of one refinement step (prompt set's ``chain_rules``), on the
    previous sound's descriptors ``a`` and the new sound's ``b``."""
    change, keep = [], []
    asked = {c["d"] for c in step["change"]}
    for c in step["change"]:
        if b.get("silent"):
            change.append((c, False))
        elif "semitones" in c:
            ok = bool(a.get("pitched") and b.get("pitched") and a.get("f0_hz") and b.get("f0_hz")
                      and abs(12 * np.log2(b["f0_hz"] / a["f0_hz"]) - c["semitones"]) <= 0.5)
            change.append((c, ok))
        elif "dir" in c:
            va, vb = a.get(c["d"]), b.get(c["d"])
            ok = va is not None and vb is not None and (c["d"] != "f0_hz" or (a.get("pitched") and b.get("pitched"))) and _moved(c["d"], float(va), float(vb), c["dir"])
            change.append((c, bool(ok)))
        else:
            change.append((c, demand_met(c, b)))
    pitch_asked = bool(asked & PITCH_KEYS)
    if not pitch_asked and a.get("pitched") and b.get("pitched") and a.get("f0_hz") and b.get("f0_hz"):
        keep.append(("pitch within 0.5 semitone", abs(12 * np.log2(b["f0_hz"] / a["f0_hz"])) <= 0.5))
    if "sounding_s" not in asked and a.get("sounding_s") and b.get("sounding_s") is not None:
        keep.append(("length within 20 %", abs(b["sounding_s"] / a["sounding_s"] - 1) <= 0.2))
    if not pitch_asked and "centroid_hz" not in asked and a.get("centroid_hz") and b.get("centroid_hz"):
        keep.append(("centroid within 20 %", abs(b["centroid_hz"] / a["centroid_hz"] - 1) <= 0.2))
    if "attack_s" not in asked and a.get("attack_s") is not None and b.get("attack_s") is not None:
        at_a, at_b = float(a["attack_s"]), float(b["attack_s"])
        keep.append(("attack within x1.5 or 10 ms", abs(at_b - at_a) <= 0.01 or (at_a > 0 and at_b > 0 and max(at_a, at_b) / min(at_a, at_b) <= 1.5)))
    if b.get("silent"):
        keep.append(("not silent", False))
    return {"change_ok": all(ok for _, ok in change), "keep_ok": all(ok for _, ok in keep), "change": change, "keep": keep}


def brief_study(args) -> None:
    import json
    import os

    from lstmabar.library.descriptors import describe as full_describe
    from lstmabar.models.synth.voice import Voice
    from lstmabar.tools import synthesize_from_text as tool
    from lstmabar.tools.base import ToolContext
    from lstmabar.models.synth.sounds import render_final

    data = load_prompt_set()
    split = args.split
    prompts = [p for p in data["prompts"] if split == "all" or p["split"] == split]
    chains = [c for c in data["chains"] if args.chains == "all" or c["split"] == args.chains]
    if args.limit:
        prompts, chains = prompts[: args.limit], chains[: max(1, args.limit // 2)]
    emb, tmp, cfg, lib, models = tool_session(args.embedder)
    emb_name = emb.name
    extra = json.loads(args.tool_args) if args.tool_args else {}
    calls: list[dict] = []

    def judge_sound(sound_id: str) -> dict:
        snd = lib.read(sound_id)  # the saved file, measured afresh with the full describe: the judge
        return full_describe(snd.samples, snd.sample_rate).flat()

    def call(prompt: str, kind: str, **kw):
        ctx = ToolContext(library=lib, config=cfg, models=models)  # a fresh context: the time budget counts from each call
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        out = tool.run(tool.Input(prompt=prompt, k=1, **{**extra, **kw}), ctx).output
        wall = time.perf_counter() - t0
        c = out.candidates[0]
        rec = {"prompt": prompt, "kind": kind, "wall": wall, "load": load0, "evaluations": out.evaluations, "cos": c.score,
               "id": c.sound.id, "gap": out.views.gap_sd if out.views else None, "opt_gain": out.views.optimised_gain_sd if out.views else None,
               "held_gain": out.views.held_out_gain_sd if out.views else None, "brief_met": c.targets_met, "brief_n": len(c.targets),
               "stopped": out.stopped, "timing": out.timing.stages}
        calls.append(rec)
        print(f"[{kind}] {prompt!r}: {wall:.1f} s (load {load0:.1f}), {out.evaluations} renders, cos {c.score:.3f}, brief {c.targets_met}/{len(c.targets)}", flush=True)
        return out, rec

    # ---------------------------------------------------------------- prompts: tool, plain CTAG, random search at equal evaluations
    per: dict[str, dict] = {}
    for p in prompts:
        row: dict = {"split": p["split"]}
        for kind, kw in (("tool", {}), ("plain", {"brief_weight": 0.0})):
            out, rec = call(p["prompt"], kind, **kw)
            d = judge_sound(rec["id"])
            rec["demands"] = [demand_met(dm, d) for dm in p["demands"]]
            row[kind] = rec
        if not args.skip_random_search:
            n = row["tool"]["evaluations"]
            out, rec = call(p["prompt"], "random_search", method="random", max_evaluations=n, max_seconds=None, patience=None, time_budget_s=1800)
            d = judge_sound(rec["id"])
            rec["demands"] = [demand_met(dm, d) for dm in p["demands"]]
            row["random_search"] = rec
        per[p["id"]] = row

    # random patches (the tool's default render: 2 s at 48 kHz, noise seed 0)
    voice = Voice(tool.OUTPUT_RATE, 480, 2.0)
    xr = torch.rand(args.random_patches, NUM_PARAMS, generator=torch.Generator().manual_seed(123))
    audio = render_final(voice, xr, 0)
    rand_desc = [full_describe(a, tool.OUTPUT_RATE).flat() for a in audio]
    for p in prompts:
        m = np.array([[demand_met(dm, d) for dm in p["demands"]] for d in rand_desc], dtype=float)
        per[p["id"]]["random_patches"] = {"all": float(m.all(axis=1).mean()), "single": m.mean(axis=0).tolist()}

    fig: dict[str, float] = {"prompts": len(prompts), "split": split, "embedder": emb_name, "random_patches": args.random_patches}
    kinds = ["tool", "plain"] + ([] if args.skip_random_search else ["random_search"])

    def shares(ids: list[str]) -> dict[str, tuple[float, float]]:
        out = {}
        for k in kinds:
            alls = [all(per[i][k]["demands"]) for i in ids]
            singles = [x for i in ids for x in per[i][k]["demands"]]
            out[k] = (float(np.mean(alls)), float(np.mean(singles)))
        rp_all = [per[i]["random_patches"]["all"] for i in ids]
        rp_single = [x for i in ids for x in per[i]["random_patches"]["single"]]
        out["random_patches"] = (float(np.mean(rp_all)), float(np.mean(rp_single)))
        return out

    groups = {s: [p["id"] for p in prompts if p["split"] == s] for s in ("held_out", "tuning")}
    groups = {s: ids for s, ids in groups.items() if ids}
    for s, ids in groups.items():
        for k, (a, b) in shares(ids).items():
            fig[f"{s}_{k}_all_demands_met"] = round(a, 3)
            fig[f"{s}_{k}_single_demands_met"] = round(b, 3)
        fig[f"{s}_prompts"] = len(ids)
        fig[f"{s}_demands"] = sum(len(p["demands"]) for p in prompts if p["id"] in ids)
        cos = {k: [per[i][k]["cos"] for i in ids] for k in kinds}
        for k in kinds:
            fig[f"{s}_{k}_cosine_mean"] = round(float(np.mean(cos[k])), 4)
        if "random_search" in kinds:
            diff = np.array(cos["tool"]) - np.array(cos["random_search"])
            fig[f"{s}_tool_minus_random_search_cosine"] = round(float(diff.mean()), 4)
            fig[f"{s}_tool_beats_random_search_prompts"] = int((diff > 0).sum())
        for k in ("tool", "plain"):
            g = [per[i][k]["gap"] for i in ids if per[i][k]["gap"] is not None]
            if g:
                fig[f"{s}_{k}_gap_sd_mean"] = round(float(np.mean(g)), 3)

    # ---------------------------------------------------------------- exploitation gap over seeds
    gap_ids = sorted(groups.get("held_out", groups.get("tuning", [])))[: args.gap_prompts]
    gaps: dict[str, list[dict]] = {"tool": [], "plain": []}
    for pid in gap_ids:
        p = next(x for x in prompts if x["id"] == pid)
        for kind, kw in (("tool", {}), ("plain", {"brief_weight": 0.0})):
            gaps[kind].append(per[pid][kind])
            for seed in args.gap_seeds[1:]:
                _, rec = call(p["prompt"], f"{kind}_seed", seed=seed, **kw)
                gaps[kind].append(rec)
    for kind, recs in gaps.items():
        g = [r for r in recs if r["gap"] is not None]
        if g:
            fig[f"gap_{kind}_sd_mean"] = round(float(np.mean([r["gap"] for r in g])), 3)
            fig[f"gap_{kind}_sd_std"] = round(float(np.std([r["gap"] for r in g])), 3)
            fig[f"gap_{kind}_optimised_gain_sd_mean"] = round(float(np.mean([r["opt_gain"] for r in g])), 3)
            fig[f"gap_{kind}_held_out_gain_sd_mean"] = round(float(np.mean([r["held_gain"] for r in g])), 3)
            fig[f"gap_{kind}_runs"] = len(g)

    # ---------------------------------------------------------------- refinement chains
    chain_rows = []
    for ch, st, rec, j, _, _ in walk_chains(chains, call, judge_sound):
        chain_rows.append({"chain": ch["id"], "split": ch["split"], "start": ch["start"], "step": st["prompt"], **j,
                           "brief_met": rec["brief_met"], "brief_n": rec["brief_n"]})
    fig.update(chain_figures(chain_rows))

    # ---------------------------------------------------------------- speed at the defaults
    tool_calls = [c for c in calls if c["kind"] in ("tool", "chain_start", "chain_step")]
    walls = np.array([c["wall"] for c in tool_calls])
    fig["speed_calls"] = len(tool_calls)
    fig["speed_wall_s_mean"] = round(float(walls.mean()), 2)
    fig["speed_wall_s_median"] = round(float(np.median(walls)), 2)
    fig["speed_wall_s_max"] = round(float(walls.max()), 2)
    fig["speed_load_avg_mean"] = round(float(np.mean([c["load"] for c in tool_calls])), 2)
    fig["speed_evaluations_mean"] = round(float(np.mean([c["evaluations"] for c in tool_calls])), 1)
    fig["tool_defaults"] = f"population {tool.DEFAULT_POPULATION}, max_seconds {tool.DEFAULT_SECONDS:g}, patience {tool.DEFAULT_PATIENCE}, time_budget_s {tool.DEFAULT_BUDGET_S:g}" + (f", overrides {extra}" if extra else "")
    fig["search_seconds"] = float(extra.get("max_seconds", tool.DEFAULT_SECONDS))

    (DOCS / "results").mkdir(parents=True, exist_ok=True)
    def rounded(x):
        if isinstance(x, float):
            return round(x, 4)
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [rounded(v) for v in x]
        return x

    # every call (prompt, kind, wall time, load, renders, cosine, gap, brief and demands met) and every chain step
    detail = {"chains": [{**r, "change": [[c, bool(ok)] for c, ok in r["change"]], "keep": [[n, bool(ok)] for n, ok in r["keep"]]} for r in chain_rows], "calls": calls}
    (DOCS / "results" / "synthesize_detail.json").write_text(json.dumps(rounded(detail), separators=(",", ":"), default=float) + "\n")
    write_report("synthesize", fig, _brief_markdown(fig, per, prompts, chain_rows, kinds, groups, gap_ids, args, emb_name))
    lib.close()
    tmp.cleanup()


def _brief_markdown(fig, per, prompts, chain_rows, kinds, groups, gap_ids, args, emb_name) -> str:
    names = {"tool": "tool at its defaults (brief on)", "plain": "plain CTAG fitness (brief_weight 0)", "random_search": "random search, brief on, equal evaluations",
             "random_patches": f"random patches ({args.random_patches}, expected share)"}
    L = [f"Prompt set: `benchmarks/data/synth_prompts.json` ({len(prompts)} prompts run here, split by sha256 of the id into a tuning and a held-out half; "
         "the demands were written before any run, and only the tuning half informed choices). The judge: each returned sound is read back from the "
         "library and measured with the full `library.descriptors.describe` (pYIN pitch, full envelope); the search itself saw `describe_batch`'s "
         "spectrum and envelope and the synth's control-signal pitch, so the judge is not exactly what the optimiser saw; the tool's last "
         "step, though, measures a shortlist of 8 results with the same full describe and keeps the one meeting most of the brief's own "
         "targets (its targets, not these demands). "
         f"Embedder `{emb_name}`; one result per call (k = 1), seed 0; {fig['tool_defaults']}. Per-prompt rows: `docs/results/synthesize_detail.json`.\n"]
    for s, ids in groups.items():
        L.append(f"### {s.replace('_', '-')} prompts ({len(ids)} prompts, {fig[f'{s}_demands']} demands)\n")
        L.append("| source | every demand met | single demands met | mean cosine |\n|---|---|---|---|")
        for k in kinds + ["random_patches"]:
            cos = f"{fig[f'{s}_{k}_cosine_mean']:.3f}" if f"{s}_{k}_cosine_mean" in fig else "-"
            L.append(f"| {names[k]} | {fig[f'{s}_{k}_all_demands_met']:.2f} | {fig[f'{s}_{k}_single_demands_met']:.2f} | {cos} |")
        if f"{s}_tool_minus_random_search_cosine" in fig:
            L.append(f"\nEmbedder score, tool vs random search at equal evaluations (both with the brief): mean difference {fig[f'{s}_tool_minus_random_search_cosine']:+.4f}; the tool higher on {fig[f'{s}_tool_beats_random_search_prompts']}/{len(ids)} prompts.")
        L.append("")
        L.append("| prompt | tool: demands met | plain CTAG | missed by the tool |\n|---|---|---|---|")
        for i in ids:
            p = next(x for x in prompts if x["id"] == i)
            t, pl = per[i]["tool"]["demands"], per[i]["plain"]["demands"]
            miss = [dm["what"] for dm, ok in zip(p["demands"], t) if not ok]
            L.append(f"| {p['prompt']} | {sum(t)}/{len(t)} | {sum(pl)}/{len(pl)} | {', '.join(miss) or '-'} |")
        L.append("")
    if not chain_rows:
        L.append("Refinement chains: not run in this study (`--chains none`); see the `synthesize_refine` section.\n")
    if chain_rows:
        L.append("### Refinement chains\n")
        L.append("Each chain starts from the tool's result for its first prompt; each step is a call with `start_from` the previous result. A step counts when the asked change is achieved (by library.descriptors' noticeable step, or the asked interval within half a semitone) and the rest is kept (pitch within half a semitone, length and centroid within 20 %, attack within x1.5 or 10 ms, each unless asked).\n")
        L.append("| steps | change achieved | rest kept | both |\n|---|---|---|---|")
        for s in CHAIN_SPLITS:
            if f"chains_{s}_steps" in fig:
                L.append(f"| {CHAIN_LABELS[s]} ({fig[f'chains_{s}_steps']}) | {fig[f'chains_{s}_change_achieved']:.2f} | {fig[f'chains_{s}_rest_kept']:.2f} | {fig[f'chains_{s}_both']:.2f} |")
        L.append("\n| chain | step | change | kept | broken |\n|---|---|---|---|---|")
        for r in chain_rows:
            broken = [n for n, ok in r["keep"] if not ok]
            L.append(f"| {r['start']} ({r['split'].replace('_', '-')}) | {r['step']} | {'yes' if r['change_ok'] else 'no'} | {'yes' if r['keep_ok'] else 'no'} | {', '.join(broken) or '-'} |")
        L.append("")
    if "gap_tool_sd_mean" in fig:
        L.append("### Exploitation gap\n")
        L.append(f"Searched view: the embedder's cosine. Held-out view: the LSTMABAR archetype head (cosine between the archetype mixes it gives the sound and the prompt), never used by the search. Both are standardised against 64 random patches; the gap is the best result's gain on the searched view minus its gain on the held-out view, in standard deviations of the random patches. Prompts: {', '.join(gap_ids)}; seeds {', '.join(str(s) for s in args.gap_seeds)}.\n")
        L.append("| fitness | runs | gain, searched view (sd) | gain, held-out view (sd) | gap (sd), mean +- sd |\n|---|---|---|---|---|")
        for k in ("tool", "plain"):
            if f"gap_{k}_sd_mean" in fig:
                L.append(f"| {names[k]} | {fig[f'gap_{k}_runs']} | {fig[f'gap_{k}_optimised_gain_sd_mean']:.2f} | {fig[f'gap_{k}_held_out_gain_sd_mean']:.2f} | {fig[f'gap_{k}_sd_mean']:.2f} +- {fig[f'gap_{k}_sd_std']:.2f} |")
        L.append("")
    L.append("### Speed at the defaults\n")
    L.append(f"{fig['speed_calls']} calls of the tool at its defaults (prompts and chain steps): wall time mean {fig['speed_wall_s_mean']:.1f} s, median {fig['speed_wall_s_median']:.1f} s, max {fig['speed_wall_s_max']:.1f} s, {fig['speed_evaluations_mean']:.0f} renders on average; the 2-core machine was shared with other work (1-minute load average {fig['speed_load_avg_mean']:.1f} on average at the calls' starts), so these are busy-machine figures. Torch threads {args.threads}.")
    L.append("")
    L.append(_reading(fig))
    return "\n".join(L)


def _reading(fig: dict) -> str:
    """The goals of issue 18 against what was measured."""
    out = ["### Reading\n"]
    if "held_out_tool_all_demands_met" in fig:
        h = fig["held_out_tool_all_demands_met"]
        out.append(f"- Held-out prompts with every demand met: {h:.0%} at the defaults (goal: at least 70 %; plain CTAG fitness "
                   f"{fig['held_out_plain_all_demands_met']:.0%}, random patches {fig['held_out_random_patches_all_demands_met']:.0%}); "
                   f"single demands {fig['held_out_tool_single_demands_met']:.0%} (plain {fig['held_out_plain_single_demands_met']:.0%}, random patches "
                   f"{fig['held_out_random_patches_single_demands_met']:.0%}). {'Goal met.' if h >= 0.7 else 'Goal not met.'}")
        if "held_out_random_search_all_demands_met" in fig:
            out.append(f"- Most of that comes from the brief itself (the settings it makes and the penalty), not from the search strategy: "
                       f"random search with the same brief and as many renders meets every demand on {fig['held_out_random_search_all_demands_met']:.0%} "
                       f"of the held-out prompts. What SNES adds is embedder score: {fig['held_out_tool_minus_random_search_cosine']:+.3f} cosine, higher on "
                       f"{fig['held_out_tool_beats_random_search_prompts']}/{fig['held_out_prompts']} prompts. The brief costs cosine: "
                       f"{fig['held_out_tool_cosine_mean']:.3f} against {fig['held_out_plain_cosine_mean']:.3f} for plain CTAG, whose results meet few demands.")
    if "chains_held_out_both" in fig:
        c = fig["chains_held_out_both"]
        out.append(f"- Refinement steps with the asked change achieved and the rest kept: {c:.0%} of the held-out steps (goal: 90 %; "
                   f"change alone {fig['chains_held_out_change_achieved']:.0%}, keeping alone {fig['chains_held_out_rest_kept']:.0%}); all steps "
                   f"{fig['chains_all_both']:.0%}. {'Goal met.' if c >= 0.9 else 'Goal not met'}" + ("" if c >= 0.9 else
                   ": the misses are pitch jumps the loop's control-signal pitch does not see (pYIN follows another oscillator or octave), "
                   "'noisier' on tonal sounds (the Voice's only noise is white, so more noise also means a much higher centroid), and "
                   f"changes the {fig.get('search_seconds', 10):g} s search did not reach, and a new wobble that also moved the attack (per step in the table above; these "
                   "reasons were read off the first full run)."))
    if "gap_tool_sd_mean" in fig:
        out.append(f"- Exploitation gap (searched minus held-out gain, in random-patch standard deviations): {fig['gap_tool_sd_mean']:.2f} +- "
                   f"{fig['gap_tool_sd_std']:.2f} with the brief against {fig['gap_plain_sd_mean']:.2f} +- {fig['gap_plain_sd_std']:.2f} for plain "
                   "CTAG fitness over the same prompts and seeds: the plain search gains more on the embedder than the held-out archetype view "
                   "confirms; with the brief the two views move together. The held-out view shares the embedder's audio tower (a different "
                   "head), so it is a partial check, not an independent listener.")
    if "speed_wall_s_mean" in fig:
        out.append(f"- Speed: {fig['speed_wall_s_mean']:.1f} s per call on average at a load average of {fig['speed_load_avg_mean']:.1f} on 2 cores "
                   f"(the {fig.get('search_seconds', 10):g} s search plus loading, a shortlist of 8 measured with pYIN, saving); the issue's goal is under 10 s on an idle "
                   "machine: idle calls are timed in the `tool_speed` section; these figures are the busy machine's.")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="lstmabar")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--split", default="held_out", choices=["held_out", "tuning", "all"], help="which prompts (issue-18 study)")
    ap.add_argument("--chains", default="all", choices=["held_out", "held_out_2", "held_out_3", "held_out_4", "held_out_5", "held_out_6", "held_out_7", "held_out_8", "held_out_9", "held_out_10", "held_out_11", "held_out_12", "held_out_13", "held_out_14", "held_out_15", "held_out_16", "held_out_17", "held_out_18", "tuning", "tuning_2", "all", "none"],
                    help="refinement chains of this split (held_out: seen since the 08:34 run; held_out_2: seen since the 10:36 run; "
                         "held_out_3: seen since the 11:02 run; held_out_4: seen since the 13:41 run; held_out_5: seen since the 15:39 run; "
                         "held_out_6: seen since its blind run on 0b65d84; held_out_7: blind at 17:55 UTC on 6599058; held_out_8: blind at 18:12 UTC on c481adf; held_out_9: blind at 19:03 UTC on 38ad82d; held_out_10: blind at 20:43 UTC on a6e4132; held_out_11: blind at 22:55 UTC on a47943d; held_out_12: blind at 00:35 UTC on 4fed7e7 (2026-12-01); held_out_13: blind at 01:31 UTC on 27c863e; held_out_14: blind at 03:33 UTC on b50d44a; held_out_15: blind at 04:32 UTC on 74c9736; held_out_16: blind at 05:13 UTC on 67a0b86; held_out_17: blind at 06:57 UTC on af31e7b; held_out_18: the next blind set); none: prompts only")
    ap.add_argument("--limit", type=int, default=0, help="only the first N prompts (smoke runs)")
    ap.add_argument("--random-patches", type=int, default=50)
    ap.add_argument("--gap-prompts", type=int, default=6)
    ap.add_argument("--gap-seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1, 2])
    ap.add_argument("--skip-random-search", action="store_true")
    ap.add_argument("--tool-args", default="", help="JSON of tool inputs for every call (a smaller study, say so in the report)")
    ap.add_argument("--ablation", action="store_true", help="the issue-6 study instead (report synthesize_ablation)")
    ap.add_argument("--anchor-study", action="store_true", help="only the anchor_weight study (report synthesize_anchor)")
    ap.add_argument("--second", default="clap", help="ablation: a second embedder to re-score results with")
    ap.add_argument("--evals", type=int, default=1500, help="ablation: evaluations per search")
    ap.add_argument("--methods", default="snes,cmaes,random")
    ap.add_argument("--prompts", type=int, default=len(SYNTH_EVAL_PROMPTS))
    ap.add_argument("--tool-calls", type=int, default=4)
    ap.add_argument("--chain-ids", default="", help="with --part: only these chains (comma-separated ids), e.g. a spot check after a fix")
    ap.add_argument("--part", default="", help="refinement chains only (--chains selects them): write rows to this JSON file")
    ap.add_argument("--merge", nargs="+", default=[], help="merge --part files into the report synthesize_refine")
    ap.add_argument("--baseline", nargs="+", default=[], help="with --merge: --part files of a baseline run (e.g. the code before a change)")
    ap.add_argument("--baseline-label", default="the code before", help="with --baseline: what the baseline is, for the report")
    ap.add_argument("--note", default="", help="with --merge: a sentence about this run for the report's reading")
    ap.add_argument("--rerun", nargs="+", default=[], help="with --merge: --part files of a rerun of seen splits on other code")
    ap.add_argument("--rerun-label", default="a rerun", help="with --rerun: what was rerun, for the report")
    ap.add_argument("--extra", nargs="+", default=[], help="with --merge: --part files of another run of the same splits (e.g. old code under an old measure)")
    ap.add_argument("--extra-label", default="", help="with --extra: what it is, for the report")
    ap.add_argument("--named-changes", action="store_true", help="with --part: each step also names its changes (the tool's change input)")
    ap.add_argument("--named", nargs="+", default=[], help="with --merge: --part files of a run with --named-changes")
    ap.add_argument("--named-label", default="", help="with --named: the code it ran on")
    ap.add_argument("--keep-earlier", action="store_true", help="with --merge: keep the committed report's rows and figures of the splits these parts do not hold")
    ap.add_argument("--budget-compare", type=lambda s: [float(x) for x in s.split(",")], default=[],
                    help="the tool alone (k=1, no plain/random/chains) on --split's prompts at each of these max_seconds, interleaved per prompt; report synthesize_budget")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.budget_compare:
        budget_compare(args)
    elif args.part:
        chain_part(args)
    elif args.merge:
        refine_report(args)
    elif args.anchor_study:
        anchor_study(args)
    elif args.ablation:
        ablation(args)
    else:
        brief_study(args)



# ---------------------------------------------------------------------------------------------- refinement chains alone


def weights_sha256() -> str:
    import hashlib

    from lstmabar.models.lstmabar import embedder as lstmabar_embedder

    path = Path(lstmabar_embedder.__file__).resolve().parent / "weights" / "lstmabar.pt"
    if not path.exists():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


CHAIN_SPLITS = ("held_out_18", "held_out_17", "held_out_16", "held_out_15", "held_out_14", "held_out_13", "held_out_12", "held_out_11", "held_out_10", "held_out_9", "held_out_8", "held_out_7", "held_out_6", "held_out_5", "held_out_4", "held_out_3", "held_out_2", "held_out", "tuning", "tuning_2", "all")
CHAIN_LABELS = {"held_out_18": "held-out-18, blind (e9136b7)", "held_out_17": "held-out-17, blind (af31e7b)", "held_out_16": "held-out-16, blind (67a0b86)", "held_out_15": "held-out-15, blind (74c9736)", "held_out_14": "held-out-14, blind (b50d44a)", "held_out_13": "held-out-13, blind (27c863e)", "held_out_12": "held-out-12, blind (4fed7e7)", "held_out_11": "held-out-11, blind (a47943d)", "held_out_10": "held-out-10, blind (a6e4132)", "held_out_9": "held-out-9, blind (38ad82d)", "held_out_8": "held-out-8, blind (c481adf)", "held_out_7": "held-out-7, blind (6599058)", "held_out_6": "held-out-6, blind (0b65d84)", "held_out_5": "held-out-5, blind (06c306c)", "held_out_4": "held-out-4, seen", "held_out_3": "held-out-3, seen", "held_out_2": "held-out-2, seen", "held_out": "held-out, seen",
                "tuning": "tuning", "tuning_2": "tuning-2 (phrasings, seen)", "all": "all"}
# The earlier blind figures, each measured before its set's misses were read
EARLIER_BLIND = ("held_out_2 at 10:36 UTC (7e6dfce): 73 % (36/49); held_out_3 at 11:02-11:35 UTC (da738f1): 65 % (32/49); held_out_4 at "
                 "13:41-14:07 UTC (689fdac): 74 % (42/57); held_out_5 at 15:39-15:55 UTC (06c306c): 63 % (38/60); held_out_6 at about 16:00-16:25 UTC "
                 "(0b65d84): 71 % (41/58); held_out_7 at 17:55 UTC (6599058): 59 % (44/74); held_out_8 at 18:12 UTC (c481adf): 50 % (36/72); held_out_9 at "
                 "19:03 UTC (38ad82d): 69 % (42/61); held_out_10 at 20:43 UTC (a6e4132): 77 % (47/61); held_out_11 at 22:55 UTC (a47943d): 75 % (45/60); "
                 "held_out_12 at 00:35 UTC, 2026-12-01 (4fed7e7): 76 % (47/62); held_out_13 at 01:31 UTC (27c863e): 74 % (45/61); "
                 "held_out_14 at 03:33 UTC (b50d44a): 65 % (39/60); held_out_15 at 04:32 UTC (74c9736): 65 % (40/62); held_out_16 at 05:13 UTC (67a0b86): 79 % (50/63); held_out_17 at 06:57 UTC (af31e7b): 70 % (45/64); "
                 "with the changes named, 81 % (60/74, e1813b3), 82 % (59/72, c481adf), 82 % (50/61, 38ad82d), 75 % (46/61, a6e4132), 90 % (54/60, a47943d), "
                 "76 % (47/62, 4fed7e7), 79 % (48/61, 27c863e), 70 % (42/60, b50d44a), 79 % (49/62, 74c9736), 84 % (53/63, 67a0b86) and 75 % (48/64, af31e7b)")
# held_out_5 (blind at 15:39-15:55 UTC on 06c306c) is reported from its blind run's rows; the report's other rows are labelled with their code


def chain_figures(rows: list[dict], prefix: str = "") -> dict:
    """Per split (held_out_18, held_out_17, held_out_16, held_out_15, held_out_14, held_out_13, held_out_12, held_out_11, held_out_10, held_out_9, held_out_8, held_out_7, held_out_6, held_out_5, held_out_4, held_out_3, held_out_2, held_out, tuning, all): steps, and the shares with the change achieved, the rest kept, both."""
    fig: dict = {}
    for s in CHAIN_SPLITS:
        rs = [r for r in rows if s == "all" or r["split"] == s]
        if rs:
            fig[f"{prefix}chains_{s}_steps"] = len(rs)
            fig[f"{prefix}chains_{s}_change_achieved"] = round(float(np.mean([r["change_ok"] for r in rs])), 3)
            fig[f"{prefix}chains_{s}_rest_kept"] = round(float(np.mean([r["keep_ok"] for r in rs])), 3)
            fig[f"{prefix}chains_{s}_both"] = round(float(np.mean([r["change_ok"] and r["keep_ok"] for r in rs])), 3)
            if all("brief_met" in r for r in rs):
                fig.update({f"{prefix}chains_{s}_{k}": v for k, v in said_off(rs).items()})
    return fig


SAID_OFF = ("misses", "misses_said", "misses_silent", "hits_said_off", "cannot_steps")


def said_off(rows: list[dict]) -> dict:
    """Whether the tool said what was off: a step's result 'says so' when it reports a target of its brief not met or an asked
    change it cannot make from the start (``cannot``, recorded from 2026-12-01 on). Misses it said (of all misses), misses it
    reported as done (silent), steps met that it said were off, and steps it said cannot be done."""
    said = [r["brief_met"] < r["brief_n"] or r.get("cannot", 0) > 0 for r in rows]
    miss = [not (r["change_ok"] and r["keep_ok"]) for r in rows]
    n_miss = sum(miss)
    return {"misses": n_miss, "misses_said": sum(a and m for a, m in zip(said, miss)), "misses_silent": sum(m and not a for a, m in zip(said, miss)),
            "hits_said_off": sum(a and not m for a, m in zip(said, miss)), "cannot_steps": sum(r.get("cannot", 0) > 0 for r in rows)}


def walk_chains(chains: list[dict], call, judge_sound, named: bool = False):
    """Run each chain's start prompt, then each step from the previous step's sound; yields (chain, step,
    call record, judgement, measured before, measured after) per step and prints the judgement. ``named``: each
    step also names its changes (the tool's ``change`` input, from the step's demands), as an assistant that
    has read the conversation would."""
    from lstmabar.models.brief.reader import step_changes

    for ch in chains:
        _, rec = call(ch["start"], "chain_start")
        prev_id, prev = rec["id"], judge_sound(rec["id"])
        for st in ch["steps"]:
            _, rec = call(st["prompt"], "chain_step", start_from=prev_id, **({"change": sorted(step_changes(st))} if named else {}))
            new = judge_sound(rec["id"])
            j = step_judgement(st, prev, new)
            print(f"   step {st['prompt']!r}: change {'ok' if j['change_ok'] else 'MISSED'}, keep {'ok' if j['keep_ok'] else 'BROKEN'} "
                  + ", ".join(f"{n}={'y' if ok else 'n'}" for n, ok in j["keep"]), flush=True)
            yield ch, st, rec, j, prev, new
            prev_id, prev = rec["id"], new


def chain_part(args) -> None:
    """Run the refinement chains of ``args.chains`` (the tool at its defaults, as in ``brief_study``) and
    write their rows and calls to ``args.part`` (JSON), for ``refine_report`` to merge. The LSTMABAR
    weights' sha256 is read before the embedder loads and again at the end."""
    import json
    import os

    from lstmabar.library.descriptors import describe as full_describe
    from lstmabar.tools import synthesize_from_text as tool
    from lstmabar.tools.base import ToolContext

    sha_before = weights_sha256()
    data = load_prompt_set()
    chains = [c for c in data["chains"] if args.chains == "all" or c["split"] == args.chains]
    if args.chain_ids:
        chains = [c for c in data["chains"] if c["id"] in args.chain_ids.split(",")]
    emb, tmp, cfg, lib, models = tool_session(args.embedder)
    calls, rows = [], []

    def judge_sound(sound_id: str) -> dict:
        snd = lib.read(sound_id)
        return full_describe(snd.samples, snd.sample_rate).flat()

    def call(prompt: str, kind: str, **kw):
        ctx = ToolContext(library=lib, config=cfg, models=models)
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        out = tool.run(tool.Input(prompt=prompt, k=1, **kw), ctx).output
        wall = time.perf_counter() - t0
        c = out.candidates[0]
        rec = {"prompt": prompt, "kind": kind, "wall": wall, "load": load0, "evaluations": out.evaluations, "cos": c.score, "id": c.sound.id,
               "brief_met": c.targets_met, "brief_n": len(c.targets), "cannot": len(getattr(out.brief, "cannot", [])),
               "stopped": out.stopped, "timing": out.timing.stages}
        calls.append(rec)
        print(f"[{kind}] {prompt!r}: {wall:.1f} s (load {load0:.1f}), {out.evaluations} renders, brief {c.targets_met}/{len(c.targets)}", flush=True)
        return out, rec

    for ch, st, rec, j, prev, new in walk_chains(chains, call, judge_sound, named=args.named_changes):
        rows.append({"chain": ch["id"], "split": ch["split"], "named_changes": args.named_changes, "start": ch["start"], "step": st["prompt"], "change_ok": bool(j["change_ok"]),
                     "keep_ok": bool(j["keep_ok"]), "change": [[c, bool(ok)] for c, ok in j["change"]], "keep": [[n, bool(ok)] for n, ok in j["keep"]],
                     "brief_met": rec["brief_met"], "brief_n": rec["brief_n"], "cannot": rec["cannot"],
                     "before": {k: prev.get(k) for k in ("f0_hz", "pitched", "centroid_hz", "flatness", "attack_s", "sounding_s")},
                     "after": {k: new.get(k) for k in ("f0_hz", "pitched", "centroid_hz", "flatness", "attack_s", "sounding_s")}})
        Path(args.part).write_text(json.dumps({"rows": rows, "calls": calls, "weights_sha256": sha_before, "embedder": emb.name},
                                              default=float))
    Path(args.part).write_text(json.dumps({"rows": rows, "calls": calls, "weights_sha256": sha_before, "weights_sha256_at_end": weights_sha256(),
                                           "embedder": emb.name, "complete": True}, default=float))
    lib.close()
    tmp.cleanup()


def refine_report(args) -> None:
    """Merge ``chain_part`` files into the report ``synthesize_refine``."""
    import json

    from lstmabar.tools import synthesize_from_text as tool

    parts = [json.loads(Path(p).read_text()) for p in args.merge]
    rows = [r for p in parts for r in p["rows"]]
    calls = [c for p in parts for c in _split_calls(p)]
    earlier = _earlier_report(rows) if args.keep_earlier else None
    fig: dict = {"embedder": parts[0]["embedder"], "weights_sha256": sorted({p["weights_sha256"] for p in parts}),
                 "weights_sha256_at_end": sorted({p.get("weights_sha256_at_end", "run incomplete") for p in parts}),
                 "parts_complete": all(p.get("complete") for p in parts),
                 "tool_defaults": f"population {tool.DEFAULT_POPULATION}, max_seconds {tool.DEFAULT_SECONDS:g}, patience {tool.DEFAULT_PATIENCE}, time_budget_s {tool.DEFAULT_BUDGET_S:g}",
                 "search_seconds": tool.DEFAULT_SECONDS}
    speed_calls = calls
    if earlier:  # earlier runs' rows of the splits these parts do not hold, as the report recorded them
        rows = rows + earlier["rows"]
        calls = calls + earlier["calls"]
    fig.update(chain_figures(rows))
    base_rows: list[dict] = []
    kept: dict[str, list[dict]] = {"baseline_rows": [], "named_rows": [], "rerun_rows": [], "extra_rows": []}  # stored in the detail file
    if args.baseline:  # the code before a change, run in the same session with the same weights
        base = [json.loads(Path(p).read_text()) for p in args.baseline]
        base_rows = kept["baseline_rows"] = [r for p in base for r in p["rows"]]
        fig["baseline_weights_sha256"] = sorted({p["weights_sha256"] for p in base})
        fig["baseline_parts_complete"] = all(p.get("complete") for p in base)
        fig["baseline_code"] = args.baseline_label
        fig.update(chain_figures(base_rows, "baseline_"))
        bl = [c["load"] for p in base for c in p["calls"]]
        fig["baseline_load_avg_mean"] = round(float(np.mean(bl)), 2)
    # seen splits run again on later code (their misses were read before it); another run of the same chains (old code
    # under an old measure, say); the same chains with each step's changes named, as an assistant would send them
    for prefix, paths, label in (("rerun_", args.rerun, args.rerun_label), ("extra_", args.extra, args.extra_label), ("named_", args.named, args.named_label)):
        if not paths:
            continue
        other = [json.loads(Path(p).read_text()) for p in paths]
        fig[f"{prefix}code"] = label
        fig[f"{prefix}parts_complete"] = all(p.get("complete") for p in other)
        kept[f"{prefix}rows"] = [r for p in other for r in p["rows"]]
        fig.update(chain_figures(kept[f"{prefix}rows"], prefix))
        fig[f"{prefix}load_avg_mean"] = round(float(np.mean([c["load"] for p in other for c in p["calls"]])), 2)
    if earlier:
        _carry_earlier(fig, earlier, args)
    walls = np.array([c["wall"] for c in speed_calls])  # this run's calls only: one machine load
    fig["speed_calls"] = len(speed_calls)
    fig["speed_wall_s_mean"] = round(float(walls.mean()), 2)
    fig["speed_wall_s_median"] = round(float(np.median(walls)), 2)
    fig["speed_load_avg_mean"] = round(float(np.mean([c["load"] for c in speed_calls])), 2)
    fig["speed_load_avg_min"] = round(float(np.min([c["load"] for c in speed_calls])), 2)
    fig["speed_load_avg_max"] = round(float(np.max([c["load"] for c in speed_calls])), 2)
    fig["speed_evaluations_mean"] = round(float(np.mean([c["evaluations"] for c in speed_calls])), 1)
    (DOCS / "results").mkdir(parents=True, exist_ok=True)
    if earlier:
        for k in kept:
            kept[k] = kept[k] + earlier[k]  # a new list: base_rows stays this run's
    (DOCS / "results" / "synthesize_refine_detail.json").write_text(json.dumps({"rows": rows, "calls": calls, **kept}, separators=(",", ":"), default=float) + "\n")
    L = ["Refinement chains of `benchmarks/data/synth_prompts.json` (issue 18) with the shipped (stage-3) LSTMABAR weights. "
         "This session's last blind set is `held_out_18` (25 chains, 61 steps; written at 07:01 UTC, 2026-12-01, by a helper who read "
         "neither the brief's code nor any result, and committed at c4d1aa8 before any run of it). It ran at 07:26-07:43 UTC, four "
         "runs at once: on e9136b7 (the session's second-round code: held_out_17's misreads mended, the change reader retrained on "
         "1132 steps without held_out_18, moves for a wobble's removal and a fade), words and named; on fc901ec, the session's start, "
         "with this session's attack measure (baseline); and on af31e7b, the first-round code, words (extra). "
         "The session's first blind set was `held_out_17` (25 chains, 64 steps; written at 06:14 UTC, 2026-12-01, by a helper who read "
         "neither the brief's code nor any result, and committed at ef69468 before any code change of the session and before any run "
         "of it). It ran at 06:57-07:15 UTC, four runs at once on the 2 cores: on af31e7b, the session's first-round code, with the change "
         "read from the words and with the changes named; on fc901ec, the session's start, with this session's attack measure "
         "(library/descriptors/envelope.py, a swell under a tremolo measured as one attack) in both its search and the judge (the "
         "baseline rows); and on fc901ec as it was, its own attack measure in the search and the judge (the extra rows). The judge "
         "of the first three is the same; the fourth shows what the measure alone changes. The rerun rows are held_out_14 and "
         "held_out_15 run again on 1628b4c last session (seen). `held_out_16` (63 "
         "steps; f9e8ae2) was the previous session's last blind set, run at 05:13-05:28 UTC on 67a0b86 (words and named) and on "
         "b50d44a; `held_out_15` (62; a4ace4b) at 04:32-04:48 UTC on 74c9736 (words, named) and b50d44a; `held_out_14` (60; 59914b5) "
         "at 03:33-03:56 UTC on b50d44a and 4fed7e7. `held_out_13` and `held_out_12` were the session before's blind sets; the "
         "held_out_7-11 rows are earlier sessions' blind runs, on the code named in each label, kept for comparison; rows of sets not "
         "run again are carried from the committed report (`--keep-earlier`). "
         f"Earlier blind figures: {EARLIER_BLIND}, each before its misses were read. "
         "The baseline rows are each set's run on the code at its session's start, at the same time on the same chains. "
         "Each chain starts from the tool's result for its first prompt; each step is a call with `start_from` the previous result, judged as "
         f"in `synthesize`. Tool defaults: {fig['tool_defaults']}; LSTMABAR weights sha256 "
         f"{', '.join(w[:12] for w in fig['weights_sha256'])} (at the end: {', '.join(w[:12] for w in fig['weights_sha256_at_end'])}). "
         "Per-step rows with the measured values before and after: `docs/results/synthesize_refine_detail.json`.\n",
         "| steps | change achieved | rest kept | both |\n|---|---|---|---|"]
    for s in CHAIN_SPLITS:
        if f"chains_{s}_steps" in fig:
            L.append(f"| {CHAIN_LABELS[s]} ({fig[f'chains_{s}_steps']}) | {fig[f'chains_{s}_change_achieved']:.2f} | {fig[f'chains_{s}_rest_kept']:.2f} | {fig[f'chains_{s}_both']:.2f} |")
        if f"baseline_chains_{s}_steps" in fig:
            L.append(f"| {CHAIN_LABELS[s].split(' (')[0]}, baseline: {_code_of(fig['baseline_code'], s) if s != 'all' or '=' not in fig['baseline_code'] else 'each set on its own'} ({fig[f'baseline_chains_{s}_steps']}) | {fig[f'baseline_chains_{s}_change_achieved']:.2f} | "
                     f"{fig[f'baseline_chains_{s}_rest_kept']:.2f} | {fig[f'baseline_chains_{s}_both']:.2f} |")
        if f"extra_chains_{s}_steps" in fig and s != "all":
            L.append(f"| {CHAIN_LABELS[s].split(' (')[0]}, {_code_of(fig['extra_code'], s)} ({fig[f'extra_chains_{s}_steps']}) | "
                     f"{fig[f'extra_chains_{s}_change_achieved']:.2f} | {fig[f'extra_chains_{s}_rest_kept']:.2f} | {fig[f'extra_chains_{s}_both']:.2f} |")
        if f"named_chains_{s}_steps" in fig and s != "all":
            L.append(f"| {CHAIN_LABELS[s].split(' (')[0]}, changes named in `change`: {_code_of(fig['named_code'], s)} ({fig[f'named_chains_{s}_steps']}) | "
                     f"{fig[f'named_chains_{s}_change_achieved']:.2f} | {fig[f'named_chains_{s}_rest_kept']:.2f} | {fig[f'named_chains_{s}_both']:.2f} |")
        if f"rerun_chains_{s}_steps" in fig and s != "all":
            L.append(f"| {CHAIN_LABELS[s].split(',')[0]}, seen, rerun: {fig['rerun_code']} ({fig[f'rerun_chains_{s}_steps']}) | "
                     f"{fig[f'rerun_chains_{s}_change_achieved']:.2f} | {fig[f'rerun_chains_{s}_rest_kept']:.2f} | {fig[f'rerun_chains_{s}_both']:.2f} |")
    if base_rows:
        L.append(f"\nThe baseline rows are the code before these fixes ({fig['baseline_code']}), run in the same session, with the same "
                 f"weights ({', '.join(w[:12] for w in fig['baseline_weights_sha256'])}), at a mean load average of {fig['baseline_load_avg_mean']:.1f}; "
                 "its chains start from its own fresh results, so the two runs' steps are not pairs.")
    said = [(lab, pre, sp) for sp in CHAIN_SPLITS if sp != "all" for pre, lab in (("", CHAIN_LABELS[sp]), ("baseline_", f"{CHAIN_LABELS[sp].split(' (')[0]}, baseline"),
                                                                                   ("named_", f"{CHAIN_LABELS[sp].split(' (')[0]}, named"),
                                                                                   ("extra_", f"{CHAIN_LABELS[sp].split(' (')[0]}, {_code_of(fig.get('extra_code', ''), sp)}"))
            if f"{pre}chains_{sp}_misses" in fig]
    if said:
        L.append("\nDid the tool say what was off? A step's result says so when it reports a target of its brief not met, or an asked change "
                 "it cannot make from the start (`brief.cannot`, from 2026-12-01). A silent miss is a step the judge counts as missed whose "
                 "result reported everything done: the assistant has nothing to go on.\n")
        L.append("| steps | misses | said by the tool | silent | met, but said off | said cannot be done |\n|---|---|---|---|---|---|")
        for lab, pre, sp in said:
            L.append(f"| {lab} ({fig[f'{pre}chains_{sp}_steps']}) | {fig[f'{pre}chains_{sp}_misses']} | {fig[f'{pre}chains_{sp}_misses_said']} | "
                     f"{fig[f'{pre}chains_{sp}_misses_silent']} | {fig[f'{pre}chains_{sp}_hits_said_off']} | {fig[f'{pre}chains_{sp}_cannot_steps']} |")
    L.append("\n| chain | step | change | kept | broken |\n|---|---|---|---|---|")
    for r in rows:
        broken = [n for n, ok in r["keep"] if not ok]
        L.append(f"| {r['start']} ({CHAIN_LABELS[r['split']]}) | {r['step']} | {'yes' if r['change_ok'] else 'no'} | {'yes' if r['keep_ok'] else 'no'} | {', '.join(broken) or '-'} |")
    L.append(f"\nSpeed of these {fig['speed_calls']} calls: wall time mean {fig['speed_wall_s_mean']:.1f} s, median {fig['speed_wall_s_median']:.1f} s, "
             f"{fig['speed_evaluations_mean']:.0f} renders on average, at a 1-minute load average of {fig['speed_load_avg_mean']:.1f} on 2 cores "
             f"({fig['speed_load_avg_min']:.1f} to {fig['speed_load_avg_max']:.1f} at the calls' starts; the runs of the splits and the baseline "
             "shared the 2 cores: busy-machine figures, not idle ones; tool_speed has the idle time of a refinement call). Torch threads 1, the "
             "benchmark run under nice 10.")
    L.append("")
    L.append(_refine_reading(fig, rows))
    if args.note:
        L.append(f"- {args.note}")
    write_report("synthesize_refine", fig, "\n".join(L))


def _split_calls(part: dict) -> list[dict]:
    """A part file's calls, each with the split of its chains when the part ran one split (a merge can then replace them)."""
    splits = {r["split"] for r in part["rows"]}
    return [{**c, "split": next(iter(splits))} for c in part["calls"]] if len(splits) == 1 else list(part["calls"])


def _earlier_report(rows: list[dict]) -> dict:
    """The committed report's rows and figures for the splits ``rows`` does not hold (``--keep-earlier``): a
    blind set is run once, so its rows are carried from report to report rather than run again."""
    import json

    fresh = {r["split"] for r in rows}
    detail = json.loads((DOCS / "results" / "synthesize_refine_detail.json").read_text())
    old = json.loads((DOCS / "results" / "synthesize_refine.json").read_text())
    out: dict = {"fresh": fresh, "figures": old, "rows": [r for r in detail["rows"] if r["split"] not in fresh]}
    # calls of the splits run again are replaced; calls stored before they carried their split (2026-12-01) are kept
    out["calls"] = [c for c in detail["calls"] if c.get("split") not in fresh]
    for k in ("baseline_rows", "named_rows", "rerun_rows", "extra_rows"):
        out[k] = [r for r in detail.get(k, []) if r["split"] not in fresh]
    return out


def _carry_earlier(fig: dict, earlier: dict, args) -> None:
    """Per-split baseline, named and rerun figures of earlier splits from the committed report (their rows were
    not stored before 2026-12-01), the 'all' rows recomputed from the per-split counts, and the code labels merged."""
    old, fresh = earlier["figures"], earlier["fresh"]
    for prefix, label_key in (("baseline_", "baseline_code"), ("named_", "named_code"), ("rerun_", "rerun_code"), ("extra_", "extra_code")):
        if prefix == "rerun_" and args.rerun:
            continue  # a new rerun replaces the old one
        carried = [s for s in CHAIN_SPLITS if s != "all" and s not in fresh and f"{prefix}chains_{s}_steps" in old and f"{prefix}chains_{s}_steps" not in fig]
        for s in carried:
            for what in ("steps", "change_achieved", "rest_kept", "both"):
                fig[f"{prefix}chains_{s}_{what}"] = old[f"{prefix}chains_{s}_{what}"]
            for what in SAID_OFF:  # recorded from 2026-12-01 on
                if f"{prefix}chains_{s}_{what}" in old:
                    fig[f"{prefix}chains_{s}_{what}"] = old[f"{prefix}chains_{s}_{what}"]
        if not carried:
            continue
        if label_key not in fig:
            fig[label_key] = old[label_key]
        elif prefix != "rerun_":
            named = {p.split("=", 1)[0] for p in fig[label_key].split(",")}
            pairs = [p for p in old[label_key].split(",") if p.split("=", 1)[0] in carried and p.split("=", 1)[0] not in named]
            fig[label_key] = ",".join([fig[label_key], *pairs])
        for k in (f"{prefix}load_avg_mean", f"{prefix}weights_sha256", f"{prefix}parts_complete"):
            if k not in fig and k in old:
                fig[k] = old[k]
        splits = [s for s in CHAIN_SPLITS if s != "all" and f"{prefix}chains_{s}_steps" in fig]
        n = sum(fig[f"{prefix}chains_{s}_steps"] for s in splits)
        fig[f"{prefix}chains_all_steps"] = n
        for what in ("change_achieved", "rest_kept", "both"):
            hits = sum(round(fig[f"{prefix}chains_{s}_{what}"] * fig[f"{prefix}chains_{s}_steps"]) for s in splits)
            fig[f"{prefix}chains_all_{what}"] = round(hits / n, 3)


def _code_of(label: str, split: str) -> str:
    """The code of one split in a label such as 'held_out_7=e1813b3,held_out_8=c481adf' (else the whole label)."""
    pairs = dict(p.split("=", 1) for p in label.split(",") if "=" in p)
    return pairs.get(split, label)


def _refine_reading(fig: dict, rows: list[dict]) -> str:
    out = ["### Reading\n"]
    for split, what in (("held_out_18", "Blind (held-out-18) steps, on e9136b7"), ("held_out_17", "Blind (held-out-17) steps, on af31e7b"), ("held_out_16", "Blind (held-out-16) steps, on 67a0b86"), ("held_out_15", "Blind (held-out-15) steps, on 74c9736"), ("held_out_14", "Blind (held-out-14) steps, on b50d44a"), ("held_out_13", "Blind (held-out-13) steps, on 27c863e"), ("held_out_12", "Blind (held-out-12) steps, on 4fed7e7"), ("held_out_11", "Blind (held-out-11) steps, on a47943d"), ("held_out_10", "Blind (held-out-10) steps, on a6e4132"), ("held_out_9", "Blind (held-out-9) steps, on 38ad82d"), ("held_out_8", "Blind (held-out-8) steps, on c481adf"), ("held_out_7", "Blind (held-out-7) steps, on 6599058"), ("held_out_6", "Blind (held-out-6) steps, on 0b65d84"), ("held_out_5", "Blind (held-out-5) steps, on 06c306c"), ("held_out_4", "Held-out-4 steps (seen: 74 % blind at 13:41-14:07 UTC)"), ("held_out_3", "Held-out-3 steps (seen: 65 % blind at 11:02-11:35 UTC, before these fixes)"),
                        ("held_out_2", "Held-out-2 steps (seen: 73 % blind at 10:36 UTC)"), ("held_out", "Seen held-out steps (looked at before earlier fixes)")):
        rs = [r for r in rows if r["split"] == split]
        if not rs:
            continue
        missed = {"change": sum(not r["change_ok"] for r in rs)}
        for r in rs:
            for n, ok in r["keep"]:
                if not ok:
                    missed[n] = missed.get(n, 0) + 1
        ok = sum(r["change_ok"] and r["keep_ok"] for r in rs)
        c = ok / len(rs)
        out.append(f"- {what} with the asked change achieved and the rest kept: {100 * c:.0f} % ({ok}/{len(rs)}; "
                   f"goal 90 %: {'met' if c >= 0.9 else 'not met'}). Misses: change not achieved {missed['change']}"
                   + "".join(f", {n} broken {k}" for n, k in missed.items() if n != "change") + ".")
    missing = [CHAIN_LABELS[x] for x in CHAIN_SPLITS[:-1] if f"chains_{x}_steps" not in fig and f"rerun_chains_{x}_steps" not in fig]
    if missing:
        out.append(f"- Not run in this run (time): {', '.join(missing)}; their last figures are in the commit history of this section.")
    if "chains_tuning_both" in fig:
        out.append(f"- Tuning steps: {fig['chains_tuning_both']:.0%} (change {fig['chains_tuning_change_achieved']:.0%}, kept {fig['chains_tuning_rest_kept']:.0%}).")
    again = [f"{CHAIN_LABELS[x].split(',')[0]} {fig[f'rerun_chains_{x}_both']:.0%} ({fig[f'rerun_chains_{x}_steps']} steps)" for x in CHAIN_SPLITS[:-1]
             if f"rerun_chains_{x}_both" in fig]
    if again:
        out.append(f"- Seen sets rerun on {fig['rerun_code']} (their misses were read before it, so these are not blind figures; load "
                   f"{fig['rerun_load_avg_mean']:.1f}): {', '.join(again)}.")
    named = [f"{CHAIN_LABELS[x].split(' (')[0]} {fig[f'named_chains_{x}_both']:.0%} ({fig[f'named_chains_{x}_steps']} steps; change "
             f"{fig[f'named_chains_{x}_change_achieved']:.0%}, kept {fig[f'named_chains_{x}_rest_kept']:.0%})" for x in CHAIN_SPLITS[:-1] if f"named_chains_{x}_both" in fig]
    if named:
        out.append(f"- With each step's changes named in `change` ({fig['named_code'].replace('=', ' on ').replace(',', ', ')}, load {fig['named_load_avg_mean']:.1f}): {', '.join(named)}. "
                   "What is still missed there is the search and the keeping, not the reading.")
    base = [f"{CHAIN_LABELS[x].split(' (')[0]} {fig[f'baseline_chains_{x}_both']:.0%} ({fig[f'baseline_chains_{x}_steps']} steps)" for x in CHAIN_SPLITS[:-1]
            if f"baseline_chains_{x}_both" in fig]
    if base:
        out.append(f"- Baseline ({fig['baseline_code']}, same weights, same session): {', '.join(base)}. One run each with fresh start sounds: a "
                   "difference of a step or two is within what different start sounds alone can make.")
    extra = [f"{CHAIN_LABELS[x].split(' (')[0]} {fig[f'extra_chains_{x}_both']:.0%} ({fig[f'extra_chains_{x}_steps']} steps)" for x in CHAIN_SPLITS[:-1]
             if f"extra_chains_{x}_both" in fig]
    if extra:
        out.append(f"- {fig['extra_code'].replace('=', ' on ')} (same weights, same session): {', '.join(extra)}.")
    out.append(f"- The searches here ran at a load average of {fig['speed_load_avg_mean']:.1f} on 2 cores: the "
               f"{fig.get('search_seconds', 10):g} s search made {fig['speed_evaluations_mean']:.0f} renders per call on average. The chains' start "
               "sounds are fresh results made under this run's load, so they differ from other runs' and the runs' steps are not pairs: a step "
               "figure moves with its start sounds as well as with the code.")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- search budget


def budget_compare(args) -> None:
    """The tool's default call at several search budgets (``max_seconds``) on one split's prompts, the budgets
    interleaved per prompt so that they share the machine's load: every demand met, single demands, cosine, wall
    and CPU seconds per call (report ``synthesize_budget``). For choosing DEFAULT_SECONDS on the tuning prompts."""
    import os

    from lstmabar.library.descriptors import describe as full_describe
    from lstmabar.tools import synthesize_from_text as tool
    from lstmabar.tools.base import ToolContext

    data = load_prompt_set()
    prompts = [p for p in data["prompts"] if args.split == "all" or p["split"] == args.split]
    if args.limit:
        prompts = prompts[: args.limit]
    emb, tmp, cfg, lib, models = tool_session(args.embedder)
    rows: dict[float, list[dict]] = {b: [] for b in args.budget_compare}
    tool.run(tool.Input(prompt="a tone", k=1, max_seconds=1.0), ToolContext(library=lib, config=cfg, models=models))  # warm: caches, pYIN
    for p in prompts:
        for b in args.budget_compare:
            ctx = ToolContext(library=lib, config=cfg, models=models)
            load0 = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            out = tool.run(tool.Input(prompt=p["prompt"], k=1, max_seconds=b), ctx).output
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            snd = lib.read(out.candidates[0].sound.id)
            d = full_describe(snd.samples, snd.sample_rate).flat()
            met = [demand_met(dm, d) for dm in p["demands"]]
            rows[b].append({"prompt": p["prompt"], "wall": wall, "cpu": cpu, "load": load0, "evaluations": out.evaluations,
                            "cos": out.candidates[0].score, "demands": met})
            print(f"[{b:g} s] {p['prompt']!r}: {wall:.1f} s (cpu {cpu:.1f}, load {load0:.1f}), {out.evaluations} renders, "
                  f"cos {out.candidates[0].score:.3f}, demands {sum(met)}/{len(met)}", flush=True)
    fig: dict = {"split": args.split, "prompts": len(prompts), "embedder": emb.name, "budgets_s": args.budget_compare, "k": 1}
    L = [f"Search budget (`max_seconds`) for the tool's default call, on the {len(prompts)} {args.split.replace('_', '-')} prompts of "
         "`benchmarks/data/synth_prompts.json` (the held-out prompts were not used for this choice), one result per call (k = 1), seed 0, "
         "the budgets interleaved per prompt so that they share the machine's load; judged as in `synthesize` (every demand met, single "
         "demands, the embedder's cosine). Torch threads 1, run under nice 10 on the shared 2-core machine.\n",
         "| max_seconds | every demand met | single demands met | mean cosine | wall s mean (max) | CPU s mean | renders mean | load avg mean |",
         "|---|---|---|---|---|---|---|---|"]
    for b, rs in rows.items():
        key = f"s{b:g}".replace(".", "_")
        fig[f"{key}_all_demands_met"] = round(float(np.mean([all(r["demands"]) for r in rs])), 3)
        fig[f"{key}_single_demands_met"] = round(float(np.mean([x for r in rs for x in r["demands"]])), 3)
        fig[f"{key}_cosine_mean"] = round(float(np.mean([r["cos"] for r in rs])), 4)
        fig[f"{key}_wall_s_mean"] = round(float(np.mean([r["wall"] for r in rs])), 2)
        fig[f"{key}_wall_s_max"] = round(float(np.max([r["wall"] for r in rs])), 2)
        fig[f"{key}_cpu_s_mean"] = round(float(np.mean([r["cpu"] for r in rs])), 2)
        fig[f"{key}_evaluations_mean"] = round(float(np.mean([r["evaluations"] for r in rs])), 1)
        fig[f"{key}_load_avg_mean"] = round(float(np.mean([r["load"] for r in rs])), 2)
        L.append(f"| {b:g} | {fig[f'{key}_all_demands_met']:.2f} | {fig[f'{key}_single_demands_met']:.2f} | {fig[f'{key}_cosine_mean']:.3f} | "
                 f"{fig[f'{key}_wall_s_mean']:.1f} ({fig[f'{key}_wall_s_max']:.1f}) | {fig[f'{key}_cpu_s_mean']:.1f} | {fig[f'{key}_evaluations_mean']:.0f} | "
                 f"{fig[f'{key}_load_avg_mean']:.1f} |")
    L.append(f"\nThe tool's default budget at this run: max_seconds {tool.DEFAULT_SECONDS:g}. A call's wall time is the search budget plus about a second "
             "(loading, a shortlist of 8 measured with pYIN, saving); on a busy machine the budget buys fewer renders, not more seconds. "
             "Per-call rows: `docs/results/synthesize_budget_detail.json`.")
    import json

    (DOCS / "results").mkdir(parents=True, exist_ok=True)
    (DOCS / "results" / "synthesize_budget_detail.json").write_text(json.dumps({f"{b:g}": rs for b, rs in rows.items()}, default=float) + "\n")
    write_report("synthesize_budget", fig, "\n".join(L))
    lib.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
