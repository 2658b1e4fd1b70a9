"""optimize_fx report: twin parity, speed against 600 Text2FX iterations, and the crowd study.

Run from the repository root:  python -m benchmarks.optimize_fx [--embedder lstmabar] [--quick]

1. Parity: the torch EQ twin against pedalboard (magnitude on impulse responses, audio on noise).
2. Speed: per-call wall time of the optimize_fx tool on a 5 s clip (the trumpet recording), EQ only
   and EQ -> reverb -> compressor, at the default budget; the loss reached compared with 600 Text2FX
   iterations (Adam lr 1e-2, 600 steps; for the mixed chain also 10x the CMA-ES generations) on the
   same input. score = (loss_start - loss_default) / (loss_start - loss_600).
3. Crowd study: benchmarks/fx_crowd_study.py measures it (run it first); its figures are copied
   here with a crowd_ prefix so docs/results/optimize_fx.json holds every figure of the issue.
4. Default call: the tool with default arguments only (the chain picked from the prompt's words, the
   default time budget) on the 5 s trumpet clip at its own rate, as a chat client calls it on a fresh
   server (threads sized and first-use imports warmed as at server start; the first call loads the
   embedder), with the timing breakdown and the load average; the baseline in the same run is the same
   call without a time limit. ``--default-call-only`` runs just this part and writes
   docs/results/optimize_fx_default_call.json (the machine is shared: the load is part of the figure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from benchmarks._report import write_report
from lstmabar.models.fx.chain import chain_slots
from lstmabar.models.fx.optimize import optimize_chain
from lstmabar.models.fx.render import render
from lstmabar.models.fx import twins

torch.set_num_threads(1)
from benchmarks._fx_common import AUDIO, BANDS, DATA, ROOT, SHARED, SOURCES, load_labelled_embedder, load_source  # noqa: F401


# ----------------------------------------------------------------------------- 1. parity
def parity_figures() -> dict[str, float]:
    sr = 44100
    n = 1 << 17
    imp = np.zeros((1, n), np.float32)
    imp[0, 0] = 1
    worst_db, worst_audio, worst_audio_300 = 0.0, 0.0, 0.0
    rng = np.random.default_rng(0)
    slots = chain_slots(["eq"])
    noise = (rng.standard_normal(sr // 2) * 0.2).astype(np.float32)
    for _ in range(20):
        x = rng.uniform(0, 1, len(slots))
        h = render(["eq"], x, imp, sr)[0].astype(np.float64)
        H = np.fft.rfft(h)
        f = np.fft.rfftfreq(n, 1 / sr)
        keep = (f >= 20) & (f <= 20000)
        d = np.abs(20 * np.log10(np.abs(H[keep])) - twins.eq_curve_db(["eq"], x, f[keep], sr))
        worst_db = max(worst_db, float(d.max()))
        pb = render(["eq"], x, noise[None], sr)[0]
        tw = twins.apply_chain(["eq"], torch.from_numpy(x), torch.from_numpy(noise)[None], sr, pad=sr // 2)[0].numpy()
        worst_audio = max(worst_audio, float(np.abs(pb - tw).max()))
        x3 = x.copy()
        for i, s in enumerate(slots):
            if s.param.name == "cutoff_frequency_hz" and s.param.to_physical(x3[i]) < 300:
                x3[i] = s.param.to_normalized(300.0)
        pb = render(["eq"], x3, noise[None], sr)[0]
        tw = twins.apply_chain(["eq"], torch.from_numpy(x3), torch.from_numpy(noise)[None], sr, pad=sr // 2)[0].numpy()
        worst_audio_300 = max(worst_audio_300, float(np.abs(pb - tw).max()))
    return {
        "parity_eq_max_db_diff_20hz_20khz": worst_db,
        "parity_eq_max_audio_diff": worst_audio,
        "parity_eq_max_audio_diff_bands_ge_300hz": worst_audio_300,
        "parity_noise_peak": float(np.abs(noise).max()),
    }


# ----------------------------------------------------------------------------- strength
def _centroid(x: np.ndarray, sr: int) -> float:
    mag = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.shape[-1], 1 / sr)
    return float((mag * f).sum() / max(mag.sum(), 1e-12))


def strength_figures(embedder, quick: bool) -> tuple[dict[str, float], str]:
    """"a bit brighter" vs "brighter" vs "much brighter" (strength from the words) on the trumpet and the
    jazz clip: how far the EQ curve moves (RMS dB over 40 log-spaced points) and the spectral centroid."""
    figs: dict[str, float] = {}
    lines = []
    freqs = np.geomspace(30, 9900, 40)
    for src in (["trumpet"] if quick else ["trumpet", "jazz"]):
        x, sr = load_source(src, 5.0)
        c0 = _centroid(x, sr)
        for label, prompt in (("a_bit", "a bit brighter"), ("plain", "brighter"), ("much", "much brighter")):
            from lstmabar.models.fx.chain import strength_from_prompt

            st = strength_from_prompt(prompt)
            r = optimize_chain(["eq"], x, sr, embedder, prompt, strength=st, seed=0)
            db = twins.eq_curve_db(["eq"], r.normalized, freqs, sr)
            y = render(["eq"], r.normalized, x[None], sr)[0]
            figs[f"strength_{src}_{label}_eq_rms_db"] = float(np.sqrt(np.mean(db**2)))
            figs[f"strength_{src}_{label}_centroid_shift_hz"] = _centroid(y, sr) - c0
            lines.append(f"| {src} | {prompt} | {st:g} | {figs[f'strength_{src}_{label}_eq_rms_db']:.2f} | {figs[f'strength_{src}_{label}_centroid_shift_hz']:+.0f} |")
            print(lines[-1], flush=True)
    md = ("\n### Strength (EQ, default budget)\n\n| source | prompt | strength | EQ curve RMS dB | spectral centroid shift Hz |\n|---|---|---|---|---|\n"
          + "\n".join(lines))
    return figs, md


# ----------------------------------------------------------------------------- 2. speed
def speed_figures(embedder, emb_name: str, prompts: dict[str, list[str]], quick: bool) -> tuple[dict[str, float], list[str]]:
    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.tools.base import ModelCache, ToolContext
    from lstmabar.tools.optimize_fx import Input, run

    figs: dict[str, float] = {}
    rows: list[str] = []
    sweep_rows: list[str] = []
    sweeps = {"eq": [(60, None), (100, None), (150, None), (200, None)],
              "eq_reverb_comp": [(30, 4), (60, 8), (100, 12)]}
    x, sr = load_source("trumpet", 5.0)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        sf.write(wav, x, sr)
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),), embedder="bench")
        lib = SoundLibrary(cfg)
        models = ModelCache()
        models._items["embedder:bench"] = embedder
        # warm-up call (imports matplotlib etc. once, as a running server would have)
        run(Input(audio=AudioInput(path=str(wav)), prompt="warm-up", chain=["eq", "reverb"], iterations=1, generations=1, population=4),
            ToolContext(library=lib, config=cfg, models=models))
        for label, chain in (("eq", ["eq"]), ("eq_reverb_comp", ["eq", "reverb", "compressor"])):
            walls, scores, evals, steps = [], [], [], []
            sweep_scores: dict[tuple, list[float]] = {}
            sweep_secs: dict[tuple, list[float]] = {}
            for prompt in prompts[label]:
                ctx = ToolContext(library=lib, config=cfg, models=models)
                t0 = time.perf_counter()
                out = run(Input(audio=AudioInput(path=str(wav)), prompt=prompt, chain=chain), ctx).output
                wall = time.perf_counter() - t0
                # the reference: Text2FX's 600 iterations at lr 1e-2 on the same excerpt
                mono = x.copy()
                tail = 1.0 if "reverb" in chain else 0.0
                ex = np.pad(mono, (0, int(tail * sr)))
                strength = out.strength
                ref_gen = None if label == "eq" else 10 * 8
                ref = optimize_chain(chain, ex, sr, embedder, prompt, loss=out.loss, strength=strength,
                                     steps=60 if quick else 600, lr=1e-2, generations=ref_gen if not quick else 16, seed=0)
                gain_default = out.loss_before - out.loss_after
                gain_ref = ref.loss_before - ref.loss_after
                score = gain_default / gain_ref if gain_ref > 1e-9 else float("nan")
                # budget sweep on the same excerpt against the same reference
                for budget in (sweeps[label] if not quick else sweeps[label][:1]):
                    st_, gen_ = budget
                    r = optimize_chain(chain, ex, sr, embedder, prompt, loss=out.loss, strength=strength, steps=st_,
                                       generations=gen_, seed=0)
                    g = r.loss_before - r.loss_after
                    sweep_scores.setdefault(budget, []).append(g / gain_ref if gain_ref > 1e-9 else float("nan"))
                    sweep_secs.setdefault(budget, []).append(r.seconds)
                walls.append(wall)
                scores.append(score)
                evals.append(out.es_evaluations)
                steps.append(out.adam_steps)
                rows.append(f"| {label} | {prompt} | {wall:.1f} ({out.seconds:.1f}) | {out.adam_steps} | {out.es_evaluations} | {out.loss_before:.4f} | {out.loss_after:.4f} | "
                            f"{ref.loss_after:.4f} ({ref.adam_steps} steps, {ref.es_evaluations} renders, {ref.seconds:.0f} s) | {score:.2f} |")
                print(rows[-1], flush=True)
            needed = None
            for budget in sorted(sweep_scores, key=lambda b: (b[0], b[1] or 0)):
                st_, gen_ = budget
                tag = f"{st_}_steps" + (f"_{gen_}_generations" if gen_ else "")
                figs[f"sweep_{label}_{tag}_score_mean"] = float(np.nanmean(sweep_scores[budget]))
                figs[f"sweep_{label}_{tag}_optimise_s_mean"] = float(np.mean(sweep_secs[budget]))
                sweep_rows.append(f"| {label} | {st_} | {gen_ or '-'} | {np.nanmean(sweep_scores[budget]):.2f} ({', '.join(f'{v:.2f}' for v in sweep_scores[budget])}) | {np.mean(sweep_secs[budget]):.1f} |")
                if needed is None and np.nanmean(sweep_scores[budget]) >= 0.9:
                    needed = budget
            figs[f"speed_{label}_budget_needed_adam_steps"] = float(needed[0]) if needed else float("nan")
            if label != "eq":
                figs[f"speed_{label}_budget_needed_generations"] = float(needed[1]) if needed else float("nan")
            figs[f"speed_{label}_wall_s_mean"] = float(np.mean(walls))
            figs[f"speed_{label}_wall_s_max"] = float(np.max(walls))
            figs[f"speed_{label}_score_vs_600_mean"] = float(np.nanmean(scores))
            figs[f"speed_{label}_score_vs_600_min"] = float(np.nanmin(scores))
            figs[f"speed_{label}_adam_steps"] = float(np.mean(steps))
            figs[f"speed_{label}_es_evaluations"] = float(np.mean(evals))
        lib.close()
    return figs, rows, sweep_rows


# ----------------------------------------------------------------------------- 4. default call
DEFAULT_CALL_PROMPTS = ("brighter and a bit roomier", "warmer")


def default_call_figures(embedder_name: str, prompts: tuple[str, ...] = DEFAULT_CALL_PROMPTS) -> tuple[dict[str, float], str]:
    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.library.threads import apply_threads, plan_threads
    from lstmabar.server.app import warm_up
    from lstmabar.tools.base import ModelCache, ToolContext
    from lstmabar.tools.optimize_fx import DEFAULT_BUDGET_S, Input, run

    plan = plan_threads(workers=Config().workers)
    apply_threads(plan)
    t0 = time.perf_counter()
    warm_up()
    figs: dict[str, float] = {"default_call_threads": plan.threads, "default_call_warm_up_s": time.perf_counter() - t0,
                              "default_call_budget_s": DEFAULT_BUDGET_S}
    x, sr = sf.read(AUDIO / SOURCES["trumpet"], dtype="float32", always_2d=True)
    from lstmabar.models.fx.optimize import loudest_excerpt

    a, b = loudest_excerpt(x.mean(axis=1), sr, 5.0)
    rows, details = [], []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "trumpet_5s.wav"
        sf.write(wav, x[a:b], sr)
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),), embedder=embedder_name)
        lib = SoundLibrary(cfg)
        models = ModelCache()  # empty: the first call loads the embedder, as on a fresh server
        for i, prompt in enumerate(prompts):
            slug = "_".join(prompt.split())
            for label, extra in (("default", {}), ("unlimited", {"time_budget_s": 1800.0})):
                load = os.getloadavg()[0]
                t1, c1 = time.perf_counter(), time.process_time()
                out = run(Input(audio=AudioInput(path=str(wav)), prompt=prompt, **extra), ToolContext(library=lib, config=cfg, models=models)).output
                wall = time.perf_counter() - t1
                cpu = time.process_time() - c1  # CPU seconds of this process: what the call costs, whatever the load
                tm = out.timing
                key = f"default_call_{slug}_{label}"
                figs.update({f"{key}_wall_s": wall, f"{key}_cpu_s": cpu, f"{key}_load_1min": load, f"{key}_load_1min_after": os.getloadavg()[0], f"{key}_adam_steps": out.adam_steps,
                             f"{key}_cmaes_renders": out.es_evaluations, f"{key}_stopped_early": float(tm.stopped_early),
                             f"{key}_loss_before": out.loss_before, f"{key}_loss_after": out.loss_after})
                figs.update({f"{key}_stage_{k.replace('.', '_')}_s": v for k, v in tm.stages.items()})
                cold = " (first call: loads the embedder)" if i == 0 and label == "default" else ""
                rows.append(f"| {prompt} | {' -> '.join(out.chain)} | {label}{cold} | {wall:.1f} | {cpu:.1f} | {load:.2f} | {out.adam_steps} | {out.es_evaluations} | "
                            f"{'yes' if tm.stopped_early else 'no'} | {out.loss_before:.4f} -> {out.loss_after:.4f} |")
                details.append(f"- {prompt}, {label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in tm.stages.items()))
                print(rows[-1], flush=True)
        lib.close()
    md = ("\n### Default call (5 s trumpet clip at its own rate, default arguments, chain from the prompt's words)\n\n"
          f"As a chat client calls the tool on a fresh server: {plan.describe()}; first-use imports warmed as at server start "
          f"({figs['default_call_warm_up_s']:.1f} s, before the calls). 'default' is the {DEFAULT_BUDGET_S:g} s time budget, 'unlimited' "
          "the same call with time_budget_s=1800 (the baseline: what the call cost before budgets). load = the 1-minute load "
          "average just before the call (this machine is shared; 2 cores).\n\n"
          "CPU s = the process's CPU seconds during the call (one thread): close to the wall time on an idle machine, and not inflated by the load.\n\n"
          "| prompt | chain | budget | wall s | CPU s | load | Adam steps | CMA-ES renders | cut by the budget | loss |\n|---|---|---|---|---|---|---|---|---|---|\n"
          + "\n".join(rows) + "\n\nWhere the time went (the result's timing.stages):\n\n" + "\n".join(details))
    return figs, md


# ----------------------------------------------------------------------------- 5. everyday requests
# What a producer types and the way the measured descriptor obviously has to move, written down before the
# first run (descriptor names: lstmabar.library.descriptors; level_range_db: this file). +1 up, -1 down.
REQUESTS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("brighter", (("centroid_hz", +1),)),
    ("darker", (("centroid_hz", -1),)),
    ("warmer", (("centroid_hz", -1),)),
    ("thinner", (("low_end_db", -1),)),
    ("fuller", (("low_end_db", +1),)),
    ("less muddy", (("band_low_mid_db", -1),)),
    ("less boomy", (("band_low_db", -1),)),
    ("less boxy", (("band_mid_db", -1),)),
    ("more air", (("band_air_db", +1),)),
    ("less harsh", (("band_high_mid_db", -1),)),
    ("crisper", (("centroid_hz", +1),)),
    ("softer", (("band_high_mid_db", -1),)),
    ("punchier", (("level_range_db", -1),)),
    ("more compressed", (("level_range_db", -1),)),
    ("roomier", (("reverb_time_s", +1),)),
    ("drier", (("reverb_time_s", -1),)),
    ("more distant", (("reverb_time_s", +1),)),
    ("closer", (("reverb_time_s", -1),)),
    ("wider", (("width", +1),)),
    ("like a telephone", (("low_end_db", -1), ("band_air_db", -1))),
    ("underwater", (("centroid_hz", -1),)),
    ("lo-fi", (("band_air_db", -1),)),
    ("more bass", (("low_end_db", +1),)),
    ("less bass", (("low_end_db", -1),)),
    ("a bit brighter", (("centroid_hz", +1),)),
    ("much darker", (("centroid_hz", -1),)),
    ("louder", (("integrated_lufs", +1),)),
    ("quieter", (("integrated_lufs", -1),)),
    ("heavier", (("low_end_db", +1),)),
    ("smoother", (("band_high_mid_db", -1),)),
    ("tinny", (("low_end_db", -1),)),
    ("muffled", (("centroid_hz", -1),)),
    ("brighter and a bit roomier", (("centroid_hz", +1), ("reverb_time_s", +1))),
    ("warmer and drier", (("centroid_hz", -1), ("reverb_time_s", -1))),
    ("less muddy and more air", (("band_low_mid_db", -1), ("band_air_db", +1))),
)
BAND_FLOOR_DB = -30.0  # a band holding less than this share of the input's energy is inaudible: its check is not counted
CLICK_DB = 6.0  # a step at the input's end this far above the typical sample change counts as a click
REQUEST_SOURCES = ("trumpet", "speech", "jazz", "robin")


def level_range_db(y: np.ndarray, sr: int) -> float:
    """Dynamics: the 95th minus the 10th percentile of the 50 ms RMS level (dB), over frames within 40 dB of the loudest."""
    x = np.asarray(y, dtype=np.float64).mean(axis=0) if np.ndim(y) == 2 else np.asarray(y, dtype=np.float64)
    n = int(0.05 * sr)
    frames = x[: len(x) // n * n].reshape(-1, n)
    ldb = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    ldb = ldb[ldb > ldb.max() - 40.0]
    return float(np.percentile(ldb, 95) - np.percentile(ldb, 10))


def _commit(embedder_label: str) -> str:
    """A fingerprint of what is measured: sha256 of the tool, models/fx, library/descriptors, the prior
    artefact, this file's requests, constants and case function, and the embedder's label (with its
    weights' hash), so a case measured with other weights is not read back (other work committed
    elsewhere, or a change to how the run is ordered, does not invalidate a resumed run)."""
    import hashlib
    import inspect

    h = hashlib.sha256()
    files = [ROOT / "tools" / "optimize_fx.py"]
    files += sorted((ROOT / "models" / "fx").rglob("*.py")) + sorted((ROOT / "library" / "descriptors").rglob("*.py"))
    files += sorted((ROOT / "models" / "fx" / "crowd").glob("crowd_prior.*"))
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    h.update(repr((REQUESTS, REQUEST_SOURCES, BAND_FLOOR_DB, CLICK_DB)).encode())
    h.update((inspect.getsource(_request_case) + inspect.getsource(level_range_db)).encode())
    h.update(embedder_label.encode())
    return "code-sha256:" + h.hexdigest()[:16]


def _reread(cases_log: Path | None, commit: str, cache: dict, key: tuple[str, str, str]) -> dict | None:
    """A case another process of the same run (--reverse) has appended since this one started."""
    if cases_log is None or not Path(cases_log).exists():
        return None
    for line in Path(cases_log).read_text().splitlines():
        r = json.loads(line)
        if r.get("commit") == commit:
            cache[(r["method"], r["prompt"], r["source"])] = r
    return cache.get(key)


def _request_case(run, Input, AudioInput, ToolContext, lib, cfg, models, measure, end_step_db, true_peak_db,
                  method: str, prompt: str, checks, path, x: np.ndarray, sr: int, before_in: dict) -> dict:
    """One request on one source through the tool: the verdict per expected move (True / False / None n/a /
    "said": the tool said it is not possible here), click, clip and the measured moves."""
    ts = time.perf_counter()
    out = run(Input(audio=AudioInput(path=str(path)), prompt=prompt, method=method), ToolContext(library=lib, config=cfg, models=models)).output
    seconds = time.perf_counter() - ts
    y, _ = sf.read(lib.get(out.sound.id).path, dtype="float32", always_2d=True)
    y = y.T
    xin = np.pad(np.repeat(x, y.shape[0], axis=0), ((0, 0), (0, max(0, y.shape[1] - x.shape[1]))))[:, : y.shape[1]]
    before, after = measure(xin, sr), measure(y, sr)
    before["level_range_db"], after["level_range_db"] = level_range_db(xin, sr), level_range_db(y, sr)
    verdicts: list = []
    for key, want in checks:
        a, b = before.get(key), after.get(key)
        if key in out.not_possible_descriptors:
            verdicts.append("said")  # the tool said this move is not possible on this source (and did not do it)
        elif (key.startswith("band_") or key == "low_end_db") and before_in.get(key) is not None and before_in[key] < BAND_FLOOR_DB:
            verdicts.append(None)  # inaudible band in this source
        elif a is None or b is None:
            verdicts.append(None)
        else:
            verdicts.append(bool((b - a) * want > 0))
    click = y.shape[1] > x.shape[1] and end_step_db(y, x.shape[1], sr) > CLICK_DB
    click = bool(click or float(np.abs(y[:, -1]).max()) > 1e-3)
    tp = float(true_peak_db(y))
    moves = ", ".join(f"{k} {before.get(k):.3g}->{after.get(k):.3g}" for k, _ in checks if before.get(k) is not None and after.get(k) is not None)
    return {"verdicts": verdicts, "click": click, "clip": bool(tp > -0.3 + 0.01), "true_peak_db": tp, "moves": moves,
            "not_possible": list(out.not_possible), "seconds": seconds}


def requests_figures(embedder_name: str, methods: tuple[str, ...] = ("both", "crowd"), quick: bool = False,
                     cases_log: Path | None = None, reverse: bool = False) -> tuple[dict[str, float], str]:
    """Each request on each real source: does the descriptor move the way written above, with no click and no clipping?"""
    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.models.fx.crowd.explain import measure
    from lstmabar.models.fx.render import end_step_db, true_peak_db
    from lstmabar.tools.base import ModelCache, ToolContext
    from lstmabar.tools.optimize_fx import Input, run

    embedder, label = load_labelled_embedder(embedder_name)
    requests = REQUESTS[:4] if quick else REQUESTS
    order = tuple(reversed(requests)) if reverse else requests
    sources = REQUEST_SOURCES[:2] if quick else REQUEST_SOURCES
    figs: dict[str, float] = {}
    rows: list[str] = []
    fails: list[str] = []
    said: list[str] = []
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),), embedder="bench")
        lib = SoundLibrary(cfg)
        models = ModelCache()
        models._items["embedder:bench"] = embedder
        inputs = {}
        for s in sources:
            x, sr = load_source(s, 5.0)
            p = Path(tmp) / f"{s}.wav"
            sf.write(p, x, sr)
            inputs[s] = (p, x[None, :], sr, measure(x[None, :], sr))
        # a run can be resumed: each case is appended to cases_log and read back when the code is the same commit
        commit = _commit(label)
        reused = 0
        cache: dict[tuple[str, str, str], dict] = {}
        if cases_log is not None and Path(cases_log).exists():
            for line in Path(cases_log).read_text().splitlines():
                r = json.loads(line)
                if r.get("commit") == commit:
                    cache[(r["method"], r["prompt"], r["source"])] = r
        for method in methods:
            ok_all, n_counted, n_na, n_said, clicks, clips, secs = 0, 0, 0, 0, 0, 0, []
            for prompt, checks in order:
                cells = []
                for s in sources:
                    path, x, sr, before_in = inputs[s]
                    rec = cache.get((method, prompt, s)) or _reread(cases_log, commit, cache, (method, prompt, s))
                    reused += rec is not None
                    if rec is None:
                        rec = _request_case(run, Input, AudioInput, ToolContext, lib, cfg, models, measure, end_step_db, true_peak_db,
                                            method, prompt, checks, path, x, sr, before_in)
                        rec.update({"commit": commit, "method": method, "prompt": prompt, "source": s})
                        if cases_log is not None:
                            with open(cases_log, "a") as fh:
                                fh.write(json.dumps(rec) + "\n")
                    verdicts, click, clip, tp, moves = rec["verdicts"], rec["click"], rec["clip"], rec["true_peak_db"], rec["moves"]
                    secs.append(rec["seconds"])
                    clicks += click
                    clips += clip
                    if any(v == "said" for v in verdicts) and not any(v is False for v in verdicts) and not click and not clip:
                        n_said += 1
                        cells.append("not possible, said so")
                        said.append(f"- {method}, '{prompt}' on {s}: " + " ".join(rec["not_possible"]))
                        print(f"[{method}] {prompt} / {s}: not possible, said so ({time.perf_counter() - t0:.0f} s)", flush=True)
                        continue
                    if any(v is None for v in verdicts) and not any(v is False for v in verdicts):
                        n_na += 1
                        cells.append("n/a")
                        print(f"[{method}] {prompt} / {s}: n/a {moves} ({time.perf_counter() - t0:.0f} s)", flush=True)
                        continue
                    good = all(v is not False for v in verdicts) and not click and not clip
                    n_counted += 1
                    ok_all += good
                    cells.append(("ok" if good else "**no**") + (" click" if click else "") + (" clip" if clip else ""))
                    if not good:
                        fails.append(f"- {method}, '{prompt}' on {s}: {moves}" + (" (click)" if click else "") + (f" (true peak {tp:.2f})" if clip else ""))
                    print(f"[{method}] {prompt} / {s}: {cells[-1]} {moves} ({time.perf_counter() - t0:.0f} s)", flush=True)
                expected = ", ".join(f"{k} {'up' if d > 0 else 'down'}" for k, d in checks)
                rows.append(f"| {method} | {prompt} | {expected} | " + " | ".join(cells) + " |")
            figs[f"requests_{method}_pass_share"] = ok_all / max(n_counted, 1)
            figs[f"requests_{method}_counted"] = float(n_counted)
            figs[f"requests_{method}_not_applicable"] = float(n_na)
            figs[f"requests_{method}_not_possible_said"] = float(n_said)
            # the stricter reading: a move the tool declined counts as a failure
            figs[f"requests_{method}_pass_share_said_as_failed"] = ok_all / max(n_counted + n_said, 1)
            figs[f"requests_{method}_clicks"] = float(clicks)
            figs[f"requests_{method}_clipped"] = float(clips)
            figs[f"requests_{method}_call_s_mean"] = float(np.mean(secs))
        lib.close()
    figs["requests_prompts"] = float(len(requests))
    figs["requests_cases_read_from_log"] = float(reused)
    figs["requests_sources"] = float(len(sources))
    load1 = os.getloadavg()
    md = (f"\n### Everyday requests ({len(requests)} prompts x {len(sources)} real recordings, 5 s loudest excerpts)\n\n"
          f"Embedder: **{label}**. Each prompt's expected move was written in benchmarks/optimize_fx.py (REQUESTS) before the first run. "
          "A case passes when every named descriptor (lstmabar.library.descriptors; level_range_db = 95th - 10th percentile of the 50 ms level) "
          f"moves that way, the result has no click (no step over {CLICK_DB:g} dB at the input's end, silence at its own end) and its true peak is at "
          f"most -0.3 dBFS. n/a: the band holds under {BAND_FLOOR_DB:g} dB of the input's energy, or the reverb time is undefined (no 20 dB fall).\n\n"
          f"| method | prompt | expected | {' | '.join(sources)} |\n|---|---|---|" + "---|" * len(sources) + "\n" + "\n".join(rows)
          + "\n\n" + "; ".join(f"{m}: **{figs[f'requests_{m}_pass_share']:.1%}** of {figs[f'requests_{m}_counted']:.0f} counted cases "
                                f"({figs[f'requests_{m}_not_applicable']:.0f} n/a, {figs[f'requests_{m}_not_possible_said']:.0f} not possible and said so, "
                                f"{figs[f'requests_{m}_clicks']:.0f} clicks, {figs[f'requests_{m}_clipped']:.0f} clipped; "
                                f"{figs[f'requests_{m}_pass_share_said_as_failed']:.1%} when the declined ones count as failures)" for m in methods)
          + " (goal 95 %).\n\n" + ("Failures:\n\n" + "\n".join(fails) if fails else "No failures.")
          + ("\n\nNot possible on the source, and the result said so (the move was not made; counted apart, not as passes):\n\n" + "\n".join(said) if said else "")
          + (f"\n\n{reused} of the cases were read back from the cases log {cases_log.name} (the same code fingerprint {commit}), written by an "
             "earlier process of this run or by the --requests-only run; their seconds are from that process." if reused else "")
          + f"\n\nSeconds per call (shared 2-core machine, load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; not a speed claim): "
          + ", ".join(f"{m} {figs[f'requests_{m}_call_s_mean']:.1f}" for m in methods) + ".")
    return figs, md


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default=os.environ.get("LSTMABAR_EMBEDDER", "lstmabar"))
    ap.add_argument("--quick", action="store_true", help="small budgets for a smoke run (figures not comparable)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-strength", action="store_true")
    ap.add_argument("--eq-prompts", default="brighter,warmer")
    ap.add_argument("--chain-prompts", default="brighter and roomier,warm and punchy")
    ap.add_argument("--default-call-only", action="store_true", help="only part 4, written to optimize_fx_default_call")
    ap.add_argument("--requests-only", action="store_true", help="only part 5 (everyday requests), written to optimize_fx_requests")
    ap.add_argument("--skip-requests", action="store_true")
    ap.add_argument("--cases-log", type=Path, default=None, help="append each everyday-request case here and resume from it (same code); also read by the full run")
    ap.add_argument("--reverse", action="store_true", help="with --cases-log: a second process that takes the prompts from the end and writes no report")
    ap.add_argument("--methods", default="both,crowd", help="with --requests-only: the methods to run (a run of one method writes optimize_fx_requests_METHOD)")
    args = ap.parse_args()
    if args.requests_only:
        methods = tuple(args.methods.split(","))
        figs, md = requests_figures(args.embedder, methods=methods, quick=args.quick, cases_log=args.cases_log, reverse=args.reverse)
        if args.quick or args.reverse:
            print(md)
            return
        name = "optimize_fx_requests" if methods == ("both", "crowd") else "optimize_fx_requests_" + "_".join(methods)
        write_report(name, figs, f"From benchmarks/optimize_fx.py --requests-only --methods {args.methods} (also part of the full optimize_fx report).\n" + md)
        return
    if args.default_call_only:
        figs, md = default_call_figures(args.embedder)
        write_report("optimize_fx_default_call", figs, f"From benchmarks/optimize_fx.py --default-call-only. Embedder: **{args.embedder}**.\n" + md)
        return
    embedder, emb_label = load_labelled_embedder(args.embedder)
    figs: dict[str, float] = {}
    t0 = time.perf_counter()
    figs.update(parity_figures())
    md = [f"Embedder: **{emb_label}**." + (" QUICK smoke run: small budgets, not the committed figures." if args.quick else "")]
    md.append(
        "\n### Twin parity (EQ, 20 random settings over the full ranges, 44.1 kHz)\n\n"
        f"- magnitude, 20 Hz-20 kHz: max |twin - pedalboard| = {figs['parity_eq_max_db_diff_20hz_20khz']:.4f} dB (goal 0.1 dB)\n"
        f"- rendered audio (noise, peak {figs['parity_noise_peak']:.2f}): max abs diff {figs['parity_eq_max_audio_diff']:.2e} over the full ranges, "
        f"{figs['parity_eq_max_audio_diff_bands_ge_300hz']:.2e} with every band at or above 300 Hz (goal 1e-4). The twin equals the exact "
        "float64 IIR filter (tests: < 1e-5); the residual is pedalboard's float32 IIR arithmetic, largest for low, narrow, boosted bands."
    )
    if not args.skip_speed:
        prompts = {"eq": args.eq_prompts.split(","), "eq_reverb_comp": args.chain_prompts.split(",")}
        if args.quick:
            prompts = {k: v[:1] for k, v in prompts.items()}
        load0 = os.getloadavg()
        s, rows, sweep_rows = speed_figures(embedder, args.embedder, prompts, args.quick)
        load1 = os.getloadavg()
        figs.update(s)
        figs["speed_load_1min_start"], figs["speed_load_1min_end"] = load0[0], load1[0]
        md.append(
            "\n### Speed (5 s trumpet clip, 22.05 kHz, default budget, embedder already loaded)\n\n"
            f"Load average {load0[0]:.1f} at the start of this part, {load1[0]:.1f} at its end (2 shared cores): the wall times below are at that load, "
            "not idle figures (the idle speed check is benchmarks/tool_speed.py).\n\n"
            "score = (loss_start - loss_default) / (loss_start - loss_600): the share of the loss improvement that 600 Text2FX "
            "iterations (Adam lr 1e-2; mixed chain: also 80 CMA-ES generations) reach on the same input.\n\n"
            "| chain | prompt | wall s (of which optimising) | Adam steps | CMA-ES renders | loss start | loss default | loss 600-iteration reference | score |\n|---|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows)
            + f"\n\nEQ only: mean {figs['speed_eq_wall_s_mean']:.1f} s per call at the load above (goal, issue 17: under 10 s per call on the idle machine, checked by benchmarks/tool_speed.py), score {figs['speed_eq_score_vs_600_mean']:.2f} (goal >= 0.9 for Text2FX alone). "
            f"EQ -> reverb -> compressor: mean {figs['speed_eq_reverb_comp_wall_s_mean']:.1f} s, score {figs['speed_eq_reverb_comp_score_vs_600_mean']:.2f}."
            "\n\nBudget sweep (optimiser only, same excerpt and reference; default lr schedule lr = min(0.1, 6 / steps)):\n\n"
            "| chain | Adam steps | CMA-ES generations | score mean (per prompt) | optimise s |\n|---|---|---|---|---|\n" + "\n".join(sweep_rows)
            + f"\n\nSmallest budget reaching a mean score of 0.9: EQ {figs['speed_eq_budget_needed_adam_steps']} Adam steps; "
            f"EQ -> reverb -> compressor {figs['speed_eq_reverb_comp_budget_needed_adam_steps']} Adam steps with "
            f"{figs.get('speed_eq_reverb_comp_budget_needed_generations')} CMA-ES generations (nan: none of the sweep did)."
        )
    if not args.skip_strength:
        sf_, smd = strength_figures(embedder, args.quick)
        figs.update(sf_)
        md.append(smd)
    if not args.skip_speed and not args.quick:
        dfigs, dmd = default_call_figures(args.embedder)
        figs.update(dfigs)
        md.append(dmd)
    if not args.skip_requests:
        rfigs, rmd = requests_figures(args.embedder, quick=args.quick, cases_log=args.cases_log)
        figs.update(rfigs)
        md.append(rmd)
    crowd_path = ROOT / "docs" / "results" / "fx_crowd_study.json"
    if crowd_path.exists():
        crowd = json.loads(crowd_path.read_text())
        for k, v in crowd.items():
            if isinstance(v, (int, float)) or v is None:
                figs[f"crowd_{k}"] = v
        md.append(
            f"\n### Crowd study\n\nFrom benchmarks/fx_crowd_study.py (its own section below; run {crowd.get('date')} on {crowd.get('machine')}): "
            f"known vocabulary through the tool, mean r with the crowd curve {crowd.get('known_r_both_mean', float('nan')):+.3f} (default method), "
            f"{crowd.get('known_r_crowd_mean', float('nan')):+.3f} (crowd), {crowd.get('known_r_text2fx_mean', float('nan')):+.3f} (Text2FX alone); "
            f"unknown words (left out of the prior) {crowd.get('eq_heldout_r_knn', float('nan')):+.3f} vs the mean curve {crowd.get('eq_heldout_r_mean', float('nan')):+.3f}, "
            f"nearest word {crowd.get('eq_heldout_r_nearest', float('nan')):+.3f}, random settings {crowd.get('eq_heldout_r_random_settings', float('nan')):+.3f}; "
            f"reverb for held-out words: room size vs decay Spearman {crowd.get('reverb_tool_room_size_vs_crowd_decay_spearman', float('nan')):+.2f}, "
            f"wet vs mix {crowd.get('reverb_tool_wet_vs_crowd_mix_spearman', float('nan')):+.2f}. "
            "Copied here as crowd_* figures."
        )
    else:
        md.append("\n### Crowd study\n\nNot run yet: python -m benchmarks.fx_crowd_study, then rerun this script.")
    figs["report_seconds"] = time.perf_counter() - t0
    figs["embedder_is_fake"] = float(args.embedder == "tiny")
    figs["quick"] = float(args.quick)
    figs = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figs.items()}
    if args.quick:
        print("\n".join(md))
        print(json.dumps(figs, indent=1))
        return
    write_report("optimize_fx", figs, "\n".join(md))


if __name__ == "__main__":
    main()
