"""match_sound benchmark: held-out synthetic Voice targets, real recordings and held-out real notes.

    python -m benchmarks.match_sound [--synthetic 256] [--refined 16] [--budget 5]
    python -m benchmarks.match_sound --real-notes 50 [--corpus /work/corpus/small] [--budget 6]

``--real-notes N`` runs only study 5 and merges its figures (keys ``notes_*``) and subsection into the
existing report, keeping the earlier Voice figures and text (their date is in their own lines).

1. Held-out synthetic targets (a seed no training run used): parameter MSE over the 16 normalised
   parameters the matcher regresses (``voice_core.py``; seed 002 matched 16), per parameter too,
   spectral convergence, log-spectral distance, MFCC L1 and MR-STFT of the rendered prediction, for
   the AST, MLP and CNN (network alone, as in seed 002); then the whole tool pipeline (network +
   CREPE note + CMA-ES refinement at the default budget) with the AST and with the CNN, against random
   search given the same time.
2. Real recordings (../shared/audio: speech, a robin's whistle, a jazz band, a trumpet solo; 2 s
   excerpts): spectral convergence and MR-STFT after matching vs random search with the same time
   budget, and how many the tool flags as poor.
3. Known-hard synthetic cases: white noise, a three-note chord (polyphonic), a 6 s glide (long).
4. Per-call time of the full pipeline on a 2 s target at the default budget.
5. Held-out real notes (issue 19): notes of the real-instrument corpus that no network trained on
   (held-out GM programs of FluidR3 and every program of the second soundfont, TimGM6mb), chosen by a
   rule fixed before any result was seen (``pick_notes``). For each: the subtractive pipeline (the
   tool's default), the Voice pipeline (the tool's earlier default, CNN) given the same wall time, and
   random search on the subtractive synth with the same number of renders (CREPE note held fixed);
   MR-STFT, spectral convergence, the poor flag; then each matched patch played at the instrument's
   other held-out notes (other keys, usually 1-2 octaves away) against the real notes there.
6. An octave away and time per call (issue 19; ``--octaves N``, the full corpus): held-out notes whose
   instrument has a held-out note exactly 12 semitones up or down at the same velocity and length,
   picked by a seeded rule (``pick_octave_pairs``). Each is matched through the tool itself
   (``match_sound`` at its default budget, timed as a whole call); the patch is played an octave away
   and compared with the real note there, against two baselines from the same run: the real note
   itself transposed an octave by resampling (what a one-sample sampler would play) and the subtractive
   pipeline matched directly on the octave note at the same match budget (what the synth can reach there).
7. The subtractive estimator network on held-out real notes (issue 19 item 2; ``--network-notes N``): the
   first N notes of ``pick_notes`` (the same seeded rule as study 5), each matched by the subtractive
   pipeline with its network's guess in the start bank and without it (the analysed guess alone), at the
   same budget (the network's inference is inside it) and seed, the order alternating from note to note.
   The network was trained on synth renders only, so these notes are blind to it.
    python -m benchmarks.match_sound --network-notes 50 [--corpus /work/corpus/small] [--budget 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._report import write_report
from lstmabar.models.matching.features import FEATURE_SR, log_mel
from lstmabar.models.matching.matcher import POOR_MR_STFT, POOR_SPECTRAL_CONVERGENCE, Matcher, load_network
from lstmabar.models.matching.metrics import all_metrics
from lstmabar.models.matching.refine import random_search
from lstmabar.models.matching.voice_core import CORE_INDEX, CORE_PARAMS, voice_core_spec
from lstmabar.tools.match_sound import Input

TEST_SEED = 9_090_909  # not used by train.py (pool seeds 0.., validation 424242)
SHARED_AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio"


def synthetic_targets(spec, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(TEST_SEED)
    params, audio = [], []
    k = 0
    while sum(len(p) for p in params) < n:
        p = spec.sample(32, g)
        a = spec.render(p, TEST_SEED + k)
        ok = torch.isfinite(a).all(1) & (a.pow(2).mean(1).sqrt() > 1e-4)
        params.append(p[ok])
        audio.append(a[ok])
        k += 1
    return torch.cat(params)[:n], torch.cat(audio)[:n]


def note_fixed(midi: float | None) -> dict[int, float]:
    """Random search gets the same CREPE note the matcher uses."""
    if midi is None:
        return {}
    i = CORE_INDEX["keyboard.midi_f0"]
    return {i: CORE_PARAMS[i].to_normalized(midi)}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def median_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.median([r[k] for r in rows])) for k in rows[0]}


def real_excerpts(max_per_file: int = 3) -> list[tuple[str, np.ndarray, int]]:
    import soundfile as sf

    out = []
    for f in sorted(SHARED_AUDIO.glob("*.ogg")):
        x, sr = sf.read(f, dtype="float32", always_2d=True)
        x = x.mean(1)
        step = 2 * sr
        starts = list(range(0, max(1, len(x) - step + 1), max(step, (len(x) - step) // max_per_file + 1)))[:max_per_file]
        for s in starts:
            seg = x[s : s + step]
            if np.sqrt(np.mean(seg**2)) > 1e-3:
                out.append((f"{f.stem[:24]}@{s / sr:.0f}s", seg, sr))
    return out


def hard_cases(sr: int = 48_000) -> list[tuple[str, np.ndarray, int]]:
    rng = np.random.default_rng(1)
    t = np.arange(2 * sr) / sr
    noise = (0.2 * rng.standard_normal(len(t))).astype(np.float32)

    def saw(f):
        return 2 * ((f * t) % 1) - 1

    chord = (0.15 * (saw(261.63) + saw(329.63) + saw(392.0)) * np.exp(-t)).astype(np.float32)
    tl = np.arange(6 * sr) / sr
    glide = (0.3 * np.sin(2 * np.pi * np.cumsum(np.geomspace(110, 880, len(tl))) / sr)).astype(np.float32)
    return [("white noise", noise, sr), ("C major chord (3 saws)", chord, sr), ("6 s sine glide", glide, sr)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synthetic", type=int, default=256)
    ap.add_argument("--refined", type=int, default=16)
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--real-per-file", type=int, default=3)
    ap.add_argument("--real-notes", type=int, default=0, help="run only the held-out real-note study with this many notes")
    ap.add_argument("--corpus", default=None, help="default: /work/corpus/small for --real-notes, /work/corpus/full for --octaves")
    ap.add_argument("--octaves", type=int, default=0, help="run only the octave-away and time-per-call study with this many notes")
    ap.add_argument("--speed", action="store_true", help="run only the synth speed study (merged into the report)")
    ap.add_argument("--network-notes", type=int, default=0,
                    help="run only study 7: the subtractive pipeline with vs without its estimator network on the first N held-out notes of pick_notes")
    ap.add_argument("--synthetic-only", action="store_true",
                    help="run only the held-out synthetic Voice targets (networks alone, then the pipeline vs random search), merged into the report")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.speed:
        speed_study()
        return
    if args.real_notes:
        real_notes_study(args.corpus or "/work/corpus/small", args.real_notes, args.budget)
        return
    if args.octaves:
        octave_study(args.corpus or "/work/corpus/full", args.octaves)
        return
    if args.network_notes:
        network_study(args.corpus or "/work/corpus/small", args.network_notes, args.budget)
        return
    spec = voice_core_spec()
    names = spec.param_names
    params, audio = synthetic_targets(spec, args.synthetic)
    feats = log_mel(audio)
    fig: dict[str, float] = {"synthetic_targets": len(params), "refined_targets": args.refined, "budget_seconds": args.budget}
    md = []

    # ---------------------------------------------------------------- 1. networks alone
    md.append("### Held-out synthetic Voice targets\n")
    md.append(f"{len(params)} random patches of the matcher's 16-parameter Voice layout (uniform, the mixer scaled so its loudest "
              "source is at 1; note MIDI 24-96, held 0.1-1.8 s), a seed no training used. Metrics of the rendered prediction vs the target "
              "(both RMS-normalised, 16 kHz, 2 s); parameter MSE over the 16 normalised values. Seed 002's bar on its own synth "
              "(16 Massive parameters, one pitch): parameter MSE 0.031, spectral convergence 0.616 (MLP 0.077 / 4.608, CNN 0.094 / 5.372).\n")
    md.append("| model | param MSE (16) | spectral conv. | log-spectral dist. (dB) | MFCC L1 | MR-STFT |")
    md.append("|---|---|---|---|---|---|")
    mid = torch.full_like(params, 0.5)
    fig["mean_predictor_param_mse"] = float(((mid - params) ** 2).mean())
    preds: dict[str, torch.Tensor] = {}
    for arch in ("ast", "mlp", "cnn"):
        net, blob = load_network("voice_core", arch)
        with torch.no_grad():
            pred = torch.cat([net(feats[i : i + 64]) for i in range(0, len(feats), 64)])
        preds[arch] = pred
        rend = spec.render(pred, TEST_SEED)
        rows = [all_metrics(audio[i].numpy(), rend[i].numpy(), FEATURE_SR) for i in range(len(params))]
        m = mean_metrics(rows)
        mse = float(((pred - params) ** 2).mean())
        fig[f"{arch}_param_mse"] = mse
        fig.update({f"{arch}_{k}": v for k, v in m.items()})
        fig[f"{arch}_weights_mb"] = (Path(__file__).resolve().parents[1] / "models" / "matching" / "weights" / f"voice_core_{arch}.pt").stat().st_size / 1e6
        fig[f"{arch}_train_examples_seen"] = blob["stats"]["examples_seen"]
        md.append(f"| {arch.upper()} (network alone) | {mse:.4f} | {m['spectral_convergence']:.3f} | {m['log_spectral_distance_db']:.2f} | {m['mfcc_l1']:.2f} | {m['mr_stft']:.3f} |")
        print(arch, mse, m, flush=True)
    md.append(f"| predict 0.5 everywhere | {fig['mean_predictor_param_mse']:.4f} | | | | |")
    per = ((preds["ast"] - params) ** 2).mean(0)
    fig.update({f"ast_param_mse.{n}": float(v) for n, v in zip(names, per)})
    md.append("\nAST parameter MSE by parameter (0.083 is a guess of 0.5 on a uniform parameter): "
              + ", ".join(f"{n} {float(v):.3f}" for n, v in sorted(zip(names, per), key=lambda t: float(t[1]))) + ".\n")

    # ---------------------------------------------------------------- 2. network + CREPE + refinement vs random search
    default = Input.model_fields["network"].default  # the tool's default network
    matchers = {arch: Matcher("voice", arch=arch) for arch in ("ast", "cnn")}
    matcher = matchers[default]
    n_ref = min(args.refined, len(params))
    ast_only, rand, times = [], [], []
    pitch_rows: dict[str, list] = {a: [] for a in matchers}
    full_rows: dict[str, list] = {a: [] for a in matchers}
    full_mse: dict[str, list] = {a: [] for a in matchers}
    for i in range(n_ref):
        tgt = audio[i].numpy()
        ast_only.append(all_metrics(tgt, spec.render(preds["ast"][i : i + 1], TEST_SEED)[0].numpy(), FEATURE_SR))
        for arch, m in matchers.items():
            t0 = time.monotonic()
            res = m.match(tgt, FEATURE_SR, budget_s=args.budget, seed=0)
            dt = time.monotonic() - t0
            pitch_rows[arch].append(res.predicted_metrics)
            full_rows[arch].append(res.metrics)
            full_mse[arch].append(float(((torch.tensor([res.searched[n] for n in names]) - params[i]) ** 2).mean()))
            if arch == default:
                times.append(dt)
                rs = random_search(spec.render, torch.from_numpy(tgt), spec.sample, budget_s=res.seconds, fixed=note_fixed(res.pitch.midi), seed=i)
                rand.append(all_metrics(tgt, spec.render(rs.params[None], 0)[0].numpy(), FEATURE_SR))
        print("refined", i, {a: round(r[-1]["spectral_convergence"], 3) for a, r in full_rows.items()}, round(rand[-1]["spectral_convergence"], 3),
              round(times[-1], 2), flush=True)
    md.append(f"\nOn the first {n_ref} of these targets, the tool's whole pipeline at the default budget ({args.budget:.0f} s per call) "
              f"with each network, and random search (patches from the training distribution, CREPE note) given the same wall time as "
              f"each call with the tool's default network ({default.upper()}):\n")
    md.append("| pipeline | spectral conv. | log-spectral dist. (dB) | MFCC L1 | MR-STFT | param MSE |")
    md.append("|---|---|---|---|---|---|")
    table = [("AST alone", "ast_subset", ast_only, None)]
    for arch in matchers:
        table += [(f"{arch.upper()} + CREPE note", f"{arch}_pitch", pitch_rows[arch], None),
                  (f"{arch.upper()} + CREPE + CMA-ES refinement", f"{arch}_refined", full_rows[arch], float(np.mean(full_mse[arch])))]
    table.append(("random search, same time", "random_search", rand, None))
    for label, key, rows, pm in table:
        m = mean_metrics(rows)
        fig.update({f"synthetic_{key}_{k}": v for k, v in m.items()})
        if pm is not None:
            fig[f"synthetic_{key}_param_mse"] = pm
        md.append(f"| {label} | {m['spectral_convergence']:.3f} | {m['log_spectral_distance_db']:.2f} | {m['mfcc_l1']:.2f} | {m['mr_stft']:.3f} | {'' if pm is None else f'{pm:.4f}'} |")
    full = full_rows[default]
    fig["synthetic_poor_flag_rate"] = float(np.mean([r["spectral_convergence"] > POOR_SPECTRAL_CONVERGENCE or r["mr_stft"] > POOR_MR_STFT for r in full]))
    fig["refined_wins_vs_random_mr_stft"] = float(np.mean([a["mr_stft"] < b["mr_stft"] for a, b in zip(full, rand)]))
    md.append(f"\nThe refinement optimises the sound, not the parameters, so parameter MSE can rise after it. With the default network, "
              f"refinement beat random search on MR-STFT in {100 * fig['refined_wins_vs_random_mr_stft']:.0f} % of targets; "
              f"{100 * fig['synthetic_poor_flag_rate']:.0f} % of these in-domain matches were flagged poor.")

    if args.synthetic_only:
        merge_report(fig, "synthetic_", "### Held-out synthetic Voice targets", "\n".join(md))
        return

    # ---------------------------------------------------------------- 3. real recordings and hard cases
    md.append("\n### Real recordings and hard cases\n")
    md.append(f"2 s excerpts; matching at the default budget vs random search given the same wall time (both with the CREPE note). "
              f"'poor' is the tool's flag (spectral convergence > {POOR_SPECTRAL_CONVERGENCE} or MR-STFT > {POOR_MR_STFT}).\n")
    md.append("| target | f0 (Hz) / voiced | SC match | SC random | MR-STFT match | MR-STFT random | poor | s |")
    md.append("|---|---|---|---|---|---|---|---|")
    real = real_excerpts(args.real_per_file)
    groups = {"real": real, "hard": hard_cases()}
    for group, items in groups.items():
        mrows, rrows, poor = [], [], []
        for label, x, sr in items:
            t0 = time.monotonic()
            res = matcher.match(x, sr, budget_s=args.budget, seed=0)
            dt = time.monotonic() - t0
            tgt16 = res.target.audio16k
            fixed = note_fixed(res.pitch.midi)
            rs = random_search(spec.render, torch.from_numpy(tgt16), spec.sample, budget_s=dt, fixed=fixed, seed=1)
            rm = all_metrics(tgt16, spec.render(rs.params[None], 0)[0].numpy(), FEATURE_SR)
            mrows.append(res.metrics)
            rrows.append(rm)
            poor.append(res.poor)
            if group == "real":
                times.append(dt) if len(x) / sr <= 2.05 else None
            f0 = f"{res.pitch.f0_hz:.0f} / {res.pitch.voiced_fraction:.2f}" if res.pitch.f0_hz else "none"
            md.append(f"| {label} | {f0} | {res.metrics['spectral_convergence']:.3f} | {rm['spectral_convergence']:.3f} | {res.metrics['mr_stft']:.3f} | {rm['mr_stft']:.3f} | {'yes' if res.poor else 'no'} | {dt:.1f} |")
            print(group, label, res.metrics, rm, res.poor, res.warnings, flush=True)
        m, r = mean_metrics(mrows), mean_metrics(rrows)
        fig.update({
            f"{group}_count": len(items),
            f"{group}_match_spectral_convergence": m["spectral_convergence"],
            f"{group}_random_spectral_convergence": r["spectral_convergence"],
            f"{group}_match_mr_stft": m["mr_stft"],
            f"{group}_random_mr_stft": r["mr_stft"],
            f"{group}_match_wins_mr_stft": float(np.mean([a["mr_stft"] < b["mr_stft"] for a, b in zip(mrows, rrows)])),
            f"{group}_poor_flag_rate": float(np.mean(poor)),
        })
    md.append(f"\nReal excerpts (mean of {len(real)}): spectral convergence {fig['real_match_spectral_convergence']:.3f} after matching vs "
              f"{fig['real_random_spectral_convergence']:.3f} for random search; MR-STFT {fig['real_match_mr_stft']:.3f} vs "
              f"{fig['real_random_mr_stft']:.3f}; matching won on MR-STFT in {100 * fig['real_match_wins_mr_stft']:.0f} % of excerpts; "
              f"{100 * fig['real_poor_flag_rate']:.0f} % flagged poor.")

    # ---------------------------------------------------------------- 4. time
    fig["per_call_seconds_mean"] = float(np.mean(times))
    fig["per_call_seconds_max"] = float(np.max(times))
    md.append(f"\n### Speed\n\nPer call on a 2 s target at the default budget ({args.budget:.0f} s), whole pipeline (resample, CREPE, {default.upper()}, "
              f"note variants, CMA-ES, 48 kHz render, metrics): mean {fig['per_call_seconds_mean']:.2f} s, max {fig['per_call_seconds_max']:.2f} s "
              f"over {len(times)} calls on this shared CPU (target: under 10 s).")
    write_report("match_sound", fig, "\n".join(md))



# ---------------------------------------------------------------------------- 5. held-out real notes
PICK_SALT = "issue19-match-notes"
# Said with every figure of this study: what was changed after its notes had been seen.
NOTES_NOT_BLIND = ("Not a blind figure any more: the candidate notes for an uncertain pitch (models/matching/notes.py, "
                   "2026-11-30) were added after the 6 notes where the subtractive pipeline lost to random search had "
                   "been looked at (a B7 above CREPE's range held at MIDI 60, an F1 read on its 3rd harmonic); its "
                   "thresholds were set on synthetic tones, not on these notes, but the change was chosen because of them.")


def pick_notes(clips: list[dict], n: int) -> list[dict]:
    """The seeded rule (fixed before the first run): held-out notes (split 'test' or 'shift', kind 'note'),
    grouped by family, each family ordered by sha1(salt + clip id), then taken round-robin over the
    families (sorted by name) until n notes."""
    import hashlib

    held = [r for r in clips if r["split"] in ("test", "shift") and r["kind"] == "note"]
    fams: dict[str, list[dict]] = {}
    for r in held:
        fams.setdefault(r["family"], []).append(r)
    for v in fams.values():
        v.sort(key=lambda r: hashlib.sha1((PICK_SALT + r["id"]).encode()).hexdigest())
    out, i = [], 0
    names = sorted(fams)
    while len(out) < min(n, len(held)):
        for f in names:
            if i < len(fams[f]) and len(out) < n:
                out.append(fams[f][i])
        i += 1
    return out


def _metrics16(matcher: Matcher, normalized: torch.Tensor, target16: np.ndarray, midi: float | None = None) -> dict[str, float]:
    from lstmabar.models.matching.features import to_feature_rate
    from lstmabar.models.matching.matcher import OUTPUT_SR

    out = matcher.render_output(normalized, seed=0, midi=midi)
    return all_metrics(target16, to_feature_rate(out, OUTPUT_SR), FEATURE_SR)


def real_notes_study(corpus_path: str, n: int, budget: float) -> None:
    import json
    import os

    from lstmabar.models.lstmabar.corpus.store import Corpus
    from lstmabar.models.matching.matcher import prepare_target
    from lstmabar.models.matching.metrics import match_loss_torch
    from lstmabar.models.matching.subtractive import SUB_INDEX, SUB_PARAMS, sample_sub

    corpus = Corpus(corpus_path)
    manifest = json.loads((Path(corpus_path) / "manifest.json").read_text())
    notes = pick_notes(corpus.clips, n)
    by_instrument: dict[tuple, list[dict]] = {}
    for r in corpus.clips:
        if r["split"] in ("test", "shift") and r["kind"] == "note":
            by_instrument.setdefault((r["source"], r["program"]), []).append(r)
    sub, voice = Matcher("subtractive"), Matcher("voice", arch="cnn")
    from lstmabar.tools.match_sound import _warm_up

    _warm_up(sub)
    _warm_up(voice)
    i_note = SUB_INDEX["note.midi"]
    rows, gen_rows = [], []
    load0 = os.getloadavg()
    for j, r in enumerate(notes):
        audio = corpus.audio([r["id"]])[0]
        sr = 44_100
        t0 = time.monotonic()
        res = sub.match(audio, sr, budget_s=budget, seed=0)
        dt_sub = time.monotonic() - t0
        t0 = time.monotonic()
        res_v = voice.match(audio, sr, budget_s=dt_sub, seed=0)
        dt_voice = time.monotonic() - t0
        tgt16 = res.target.audio16k
        renders = int(res.stages.get("renders") or 0)
        note_val = float(res.normalized[i_note])

        def sample(k: int, g: torch.Generator) -> torch.Tensor:
            return sample_sub(k, g)

        rs = random_search(sub.spec.render, torch.from_numpy(tgt16), sample, budget_s=1e9, population=16,
                           fixed={i_note: note_val} if res.pitch.midi is not None else {}, seed=j, loss_fn=match_loss_torch,
                           max_evaluations=max(renders, 1))
        m_rand = _metrics16(sub, rs.params, tgt16)
        row = {
            "id": r["id"], "source": r["source"], "family": r["family"], "gm_name": r["gm_name"], "pitch": r["pitch"],
            "midi": int(r["events"][0][0]), "crepe_midi": res.pitch.midi, "sub": res.metrics, "voice": res_v.metrics, "random": m_rand,
            "sub_poor": res.poor, "voice_poor": res_v.poor, "sub_seconds": dt_sub, "voice_seconds": dt_voice, "renders": renders,
            "random_renders": rs.evaluations, "winner": res.stages.get("winner"), "gradient_steps": res.stages.get("gradient_steps"),
            "note_source": res.pitch_source, "note_candidates": len(res.stages.get("note_candidates") or []) > 1, "note_midi": float(SUB_PARAMS[i_note].to_physical(note_val)),
        }
        rows.append(row)
        # the same patches at the instrument's other held-out notes
        for other in by_instrument.get((r["source"], r["program"]), []):
            if other["id"] == r["id"]:
                continue
            key = float(other["events"][0][0])
            if not (SUB_PARAMS[i_note].minimum <= key <= SUB_PARAMS[i_note].maximum):
                continue
            o16 = prepare_target(corpus.audio([other["id"]])[0], sr).audio16k
            # the note is the real note's MIDI key, shifted by the CREPE offset seen on the matched note
            shift = key - row["midi"]
            sub_key = float(SUB_PARAMS[i_note].to_physical(note_val)) + shift
            v_full = res_v.normalized
            from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

            iv = PARAM_INDEX["keyboard.midi_f0"]
            v_key = float(VOICE_PARAMS[iv].to_physical(float(v_full[iv]))) + shift
            gen_rows.append({
                "id": r["id"], "other": other["id"], "semitones": shift,
                "sub": _metrics16(sub, res.normalized, o16, midi=sub_key)["mr_stft"],
                "voice": _metrics16(voice, v_full, o16, midi=v_key)["mr_stft"],
                "sub_at_match": res.metrics["mr_stft"],
            })
        print(j, r["gm_name"], r["pitch"], {k: round(row[k]["mr_stft"], 3) for k in ("sub", "voice", "random")},
              round(dt_sub, 1), round(dt_voice, 1), renders, row["winner"], flush=True)
    load1 = os.getloadavg()
    fig = _notes_figures(rows, gen_rows)
    results_path = Path(__file__).resolve().parents[1] / "docs" / "results" / "match_sound.json"
    before = json.loads(results_path.read_text()) if results_path.exists() else {}
    if before.get("notes_blind") is False and "notes_previous" in before:  # keep the last run before the change
        fig["notes_previous"] = before["notes_previous"]
    elif "notes_sub_mr_stft_mean" in before:  # the previous run of this study, for the before/after line
        fig["notes_previous"] = {k: before[k] for k in ("notes_sub_mr_stft_mean", "notes_voice_mr_stft_mean", "notes_sub_beats_random_share",
                                                         "notes_sub_poor_share", "notes_mr_stft_reduction_vs_voice",
                                                         "notes_load_average_start", "notes_load_average_end", "notes_renders_mean") if k in before}
        fig["notes_previous"]["date"] = before.get("notes_date") or _committed_date(results_path.with_name("match_sound_notes.json"))
    import datetime as dt

    fig.update({"notes_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "notes_corpus": str(corpus_path), "notes_corpus_complete": bool(manifest.get("complete", False)),
                "notes_corpus_clips": len(corpus.clips), "notes_budget_seconds": budget,
                "notes_load_average_start": load0[0], "notes_load_average_end": load1[0]})
    md = _notes_markdown(fig, rows, budget)
    results = Path(__file__).resolve().parents[1] / "docs" / "results" / "match_sound.json"
    detail = results.with_name("match_sound_notes.json")
    detail.write_text(json.dumps({"notes": rows, "other_keys": gen_rows}, indent=1, default=float) + "\n")
    merge_report(fig, "notes_", "### Held-out real notes", md)


def network_study(corpus_path: str, n: int, budget: float) -> None:
    """Study 7: the subtractive pipeline with and without its estimator network, same notes, budget and seed."""
    import datetime as dt
    import json
    import os

    from lstmabar.models.lstmabar.corpus.store import Corpus
    from lstmabar.models.matching.matcher import SUB_NETWORK
    from lstmabar.tools.match_sound import _warm_up

    corpus = Corpus(corpus_path)
    notes = pick_notes(corpus.clips, n)
    with_net, without = Matcher("subtractive"), Matcher("subtractive", use_network=False)
    if with_net.network is None:
        raise SystemExit(f"no subtractive {SUB_NETWORK} weights in models/matching/weights: train them first (MODEL_CARD.md)")
    _warm_up(with_net)
    _warm_up(without)
    rows = []
    load0 = os.getloadavg()
    for j, r in enumerate(notes):
        audio = corpus.audio([r["id"]])[0]
        out = {}
        for who in (("net", "base") if j % 2 == 0 else ("base", "net")):
            t0 = time.monotonic()
            res = (with_net if who == "net" else without).match(audio, 44_100, budget_s=budget, seed=0)
            out[who] = {"metrics": res.metrics, "poor": res.poor, "seconds": time.monotonic() - t0, "winner": res.stages.get("winner"),
                        "start_winner": res.stages.get("start_winner"), "network_loss": res.stages.get("network_loss"),
                        "analysis_loss": res.stages.get("analysis_loss"), "bank_loss": res.stages.get("bank_loss"),
                        "renders": res.stages.get("renders"), "note_source": res.pitch_source}
        rows.append({"id": r["id"], "source": r["source"], "family": r["family"], "gm_name": r["gm_name"], "pitch": r["pitch"], **out})
        print(j, r["gm_name"], r["pitch"], {w: round(out[w]["metrics"]["mr_stft"], 3) for w in ("net", "base")}, out["net"]["start_winner"],
              out["net"]["winner"], round(out["net"]["seconds"], 1), round(out["base"]["seconds"], 1), flush=True)
    load1 = os.getloadavg()
    fig: dict = {"netnotes_count": len(rows), "netnotes_network": SUB_NETWORK, "netnotes_budget_seconds": budget,
                 "netnotes_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "netnotes_corpus": str(corpus_path),
                 "netnotes_load_average_start": load0[0], "netnotes_load_average_end": load1[0], "netnotes_blind_to_network": True}
    for who in ("net", "base"):
        for k in ("mr_stft", "spectral_convergence"):
            vals = [r[who]["metrics"][k] for r in rows]
            fig[f"netnotes_{who}_{k}_mean"] = float(np.mean(vals))
            fig[f"netnotes_{who}_{k}_median"] = float(np.median(vals))
        fig[f"netnotes_{who}_poor_share"] = float(np.mean([r[who]["poor"] for r in rows]))
        fig[f"netnotes_{who}_seconds_mean"] = float(np.mean([r[who]["seconds"] for r in rows]))
        fig[f"netnotes_{who}_renders_mean"] = float(np.mean([r[who]["renders"] or 0 for r in rows]))
    diff = np.array([r["net"]["metrics"]["mr_stft"] - r["base"]["metrics"]["mr_stft"] for r in rows])
    fig["netnotes_net_lower_mr_stft_share"] = float(np.mean(diff < -1e-6))
    fig["netnotes_net_higher_mr_stft_share"] = float(np.mean(diff > 1e-6))
    fig["netnotes_mr_stft_diff_mean"] = float(diff.mean())
    from scipy.stats import wilcoxon

    changed = diff[np.abs(diff) > 1e-6]
    fig["netnotes_wilcoxon_p"] = float(wilcoxon(changed).pvalue) if len(changed) >= 6 else float("nan")
    won = [d for d, r in zip(diff, rows) if r["net"]["start_winner"] == "network"]
    fig["netnotes_mr_stft_diff_when_network_started_mean"] = float(np.mean(won)) if won else float("nan")
    fig["netnotes_mr_stft_change"] = fig["netnotes_net_mr_stft_mean"] / fig["netnotes_base_mr_stft_mean"] - 1
    fig["netnotes_network_start_won_share"] = float(np.mean([r["net"]["start_winner"] == "network" for r in rows]))
    fig["netnotes_network_final_winner_share"] = float(np.mean([r["net"]["winner"] == "network" for r in rows]))
    fig["netnotes_network_beats_analysis_start_share"] = float(np.mean([r["net"]["network_loss"] < r["net"]["analysis_loss"] for r in rows]))
    fig["netnotes_network_start_loss_mean"] = float(np.mean([r["net"]["network_loss"] for r in rows]))
    fig["netnotes_analysis_start_loss_mean"] = float(np.mean([r["net"]["analysis_loss"] for r in rows]))
    f = fig
    md = ["### The subtractive estimator network on held-out real notes (issue 19 item 2)\n",
          f"The first {f['netnotes_count']} notes of the real-note picker (study 5's seeded rule, {corpus_path}), each matched by the subtractive "
          f"pipeline with its trained estimator ({SUB_NETWORK}, `models/matching/weights/subtractive_{SUB_NETWORK}.pt`) whose guess joins the start "
          "bank at the chosen note, and without it (the analysed guess alone, as before), at the same "
          f"{budget:g} s budget (the network's inference inside it) and seed, the order alternating per note. Run {f['netnotes_date']}; load average "
          f"{f['netnotes_load_average_start']:.1f} at the start, {f['netnotes_load_average_end']:.1f} at the end (shared 2-core machine, other jobs "
          "running: not idle, and the renders each call gets vary with the load). The network was trained on synth renders only: these notes are "
          "blind to it (and no choice in it was made after seeing them).\n",
          "| pipeline | MR-STFT mean (median) | spectral conv. mean (median) | flagged poor | renders per call | seconds per call |",
          "|---|---|---|---|---|---|"]
    for who, label in (("net", f"with the {SUB_NETWORK} start"), ("base", "analysis start only")):
        md.append(f"| {label} | {f[f'netnotes_{who}_mr_stft_mean']:.3f} ({f[f'netnotes_{who}_mr_stft_median']:.3f}) | "
                  f"{f[f'netnotes_{who}_spectral_convergence_mean']:.3f} ({f[f'netnotes_{who}_spectral_convergence_median']:.3f}) | "
                  f"{100 * f[f'netnotes_{who}_poor_share']:.0f} % | {f[f'netnotes_{who}_renders_mean']:.0f} | {f[f'netnotes_{who}_seconds_mean']:.1f} |")
    md.append(f"\nWith the network the final MR-STFT is {100 * f['netnotes_mr_stft_change']:+.1f} % on the mean ({f['netnotes_mr_stft_diff_mean']:+.3f}), "
              f"lower on {100 * f['netnotes_net_lower_mr_stft_share']:.0f} % of notes, higher on {100 * f['netnotes_net_higher_mr_stft_share']:.0f} %, "
              f"equal on the rest (Wilcoxon signed-rank over the notes that moved: p = {f['netnotes_wilcoxon_p']:.2f}); on the notes the search "
              f"started from the network's guess, {f['netnotes_mr_stft_diff_when_network_started_mean']:+.3f}. The network's start beat the analysed guess on "
              f"{100 * f['netnotes_network_beats_analysis_start_share']:.0f} % of notes (start loss {f['netnotes_network_start_loss_mean']:.3f} vs "
              f"{f['netnotes_analysis_start_loss_mean']:.3f}) and was the bank's best, the search's starting point, on "
              f"{100 * f['netnotes_network_start_won_share']:.0f} %; it was still the best at the end on {100 * f['netnotes_network_final_winner_share']:.0f} % "
              "(CMA-ES or the gradient stage improved on it otherwise). Per-note rows: docs/results/match_sound_network.json.")
    results = Path(__file__).resolve().parents[1] / "docs" / "results" / "match_sound.json"
    before = json.loads(results.read_text()) if results.exists() else {}
    if "netnotes_mr_stft_change" in before:  # the previous run of this study: how much a rerun moves
        fig["netnotes_previous"] = {k: before[k] for k in ("netnotes_date", "netnotes_count", "netnotes_mr_stft_change", "netnotes_net_lower_mr_stft_share",
                                                            "netnotes_net_mr_stft_mean", "netnotes_base_mr_stft_mean", "netnotes_network_start_won_share",
                                                            "netnotes_load_average_start") if k in before}
        p = fig["netnotes_previous"]
        md.append(f"\nThe previous run of this study ({p.get('netnotes_date')}, {p.get('netnotes_count')} notes, load {p.get('netnotes_load_average_start', 0):.1f}): "
                  f"MR-STFT {p['netnotes_net_mr_stft_mean']:.3f} with the network vs {p['netnotes_base_mr_stft_mean']:.3f} without "
                  f"({100 * p['netnotes_mr_stft_change']:+.1f} %), the network's start the search's on {100 * p.get('netnotes_network_start_won_share', 0):.0f} %.")
    detail = Path(__file__).resolve().parents[1] / "docs" / "results" / "match_sound_network.json"
    detail.write_text(json.dumps({"notes": rows}, indent=1, default=float) + "\n")
    print(fig)
    merge_report(fig, "netnotes_", "### The subtractive estimator network on held-out real notes", "\n".join(md))


def _committed_date(path: Path) -> str:
    """When ``path`` was last committed (the date of the run it holds), or '?'."""
    import os
    import subprocess

    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d %H:%M UTC", "--", str(path)],
                             cwd=path.parent, capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out or "?"


def merge_report(fig: dict, prefix: str, title: str, md: str) -> None:
    """Replace this study's figures (keys starting with ``prefix``) and its subsection (``title`` up to the
    next '### ') in the match_sound report, keeping everything else as it was."""
    import json
    import re

    results = Path(__file__).resolve().parents[1] / "docs" / "results" / "match_sound.json"
    old = json.loads(results.read_text()) if results.exists() else {}
    prev_date, prev_machine = old.pop("date", "?"), old.pop("machine", "?")
    old = {k: v for k, v in old.items() if not k.startswith(prefix)}
    doc = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()
    m = re.search(r"<!-- match_sound:start -->\n## match_sound\n\nMachine: [^\n]*\n\n(.*?)<!-- match_sound:end -->", doc, re.S)
    earlier = m.group(1).rstrip() if m else ""
    if title in earlier:
        head, rest = earlier.split(title, 1)
        nxt = rest.find("\n### ")
        earlier = (head.rstrip() + ("\n\n" + rest[nxt + 1 :].strip() if nxt >= 0 else "")).rstrip()
    if earlier and "(Sections before" not in earlier:
        earlier = f"(Sections before 'Held-out real notes': run of {prev_date} on {prev_machine}.)\n\n" + earlier
    write_report("match_sound", {**old, **fig}, earlier + "\n\n" + md)


OCTAVE_SALT = "issue19-octave-pairs"


def pick_octave_pairs(clips: list[dict], n: int) -> list[tuple[dict, dict]]:
    """The seeded rule (fixed before the first run): held-out notes (split 'test' or 'shift', kind 'note')
    with a held-out note of the same instrument (source, program) exactly 12 semitones up or down at the same
    velocity and length; at most one pair per instrument (the first by sha1(salt + both ids)); instruments
    grouped by family, each family ordered by sha1(salt + source + program), taken round-robin over the
    families (sorted by name) until n pairs."""
    import hashlib

    def h(text: str) -> str:
        return hashlib.sha1((OCTAVE_SALT + text).encode()).hexdigest()

    by_inst: dict[tuple, dict[tuple, dict]] = {}
    for r in clips:
        if r["split"] in ("test", "shift") and r["kind"] == "note":
            by_inst.setdefault((r["source"], r["program"]), {})[(int(r["events"][0][0]), r["velocity"], r["length"])] = r
    fams: dict[str, list[tuple[str, tuple[dict, dict]]]] = {}
    for (source, program), notes in by_inst.items():
        pairs = [(r, o) for (key, vel, length), r in notes.items() for d in (12, -12)
                 if (o := notes.get((key + d, vel, length))) is not None]
        if pairs:
            best = min(pairs, key=lambda p: h(p[0]["id"] + p[1]["id"]))
            fams.setdefault(best[0]["family"], []).append((h(f"{source}:{program}"), best))
    for v in fams.values():
        v.sort(key=lambda t: t[0])
    out: list[tuple[dict, dict]] = []
    names, i = sorted(fams), 0
    total = sum(len(v) for v in fams.values())
    while len(out) < min(n, total):
        for f in names:
            if i < len(fams[f]) and len(out) < n:
                out.append(fams[f][i][1])
        i += 1
    return out


def transpose_by_resampling(audio: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """The sound played faster or slower (pitch and length change together), as a sampler plays one sample at
    another key."""
    import librosa

    ratio = 2.0 ** (semitones / 12.0)
    return librosa.resample(np.asarray(audio, dtype=np.float32), orig_sr=sample_rate * ratio, target_sr=sample_rate).astype(np.float32)


def octave_study(corpus_path: str, n: int) -> None:
    """Section 6: the tool's own call at its default budget (timed whole), its patch an octave away vs the real
    note there, against a one-sample sampler and a direct match at that note."""
    import datetime as dt
    import json
    import os
    import tempfile

    import soundfile as sf

    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.models.lstmabar.corpus.store import Corpus
    from lstmabar.models.matching.matcher import prepare_target
    from lstmabar.models.matching.subtractive import SUB_NAMES
    from lstmabar.tools.base import ModelCache, ToolContext
    from lstmabar.tools.match_sound import DEFAULT_BUDGET_S, FINISH_RESERVE_S, TOOL, get_matcher

    corpus = Corpus(corpus_path)
    pairs = pick_octave_pairs(corpus.clips, n)
    sr = 44_100
    rows = []
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),))
        lib = SoundLibrary(cfg)
        models = ModelCache()
        matcher = get_matcher(ToolContext(library=lib, config=cfg, models=models), "subtractive")  # loaded once, as a server holds it
        try:
            for j, (r, o) in enumerate(pairs):
                audio, other = corpus.audio([r["id"]])[0], corpus.audio([o["id"]])[0]
                path = Path(tmp) / f"{r['id']}.wav"
                sf.write(path, audio, sr)
                t0 = time.monotonic()
                # a context per call: its budget counts from its creation, as a server makes one per request
                out = TOOL.run(Input(audio=AudioInput(path=str(path))), ToolContext(library=lib, config=cfg, models=models)).output
                call_s = time.monotonic() - t0
                semis = int(o["events"][0][0]) - int(r["events"][0][0])
                normalized = torch.tensor([out.searched[k] for k in SUB_NAMES], dtype=torch.float32)
                o16 = prepare_target(other, sr).audio16k
                patch = _metrics16(matcher, normalized, o16, midi=float(out.patch["note.midi"]["value"]) + semis)
                sampler16 = prepare_target(transpose_by_resampling(audio, sr, semis), sr).audio16k
                sampler = all_metrics(o16, sampler16, FEATURE_SR)
                direct = matcher.match(other, sr, budget_s=DEFAULT_BUDGET_S - FINISH_RESERVE_S, seed=0)
                rows.append({
                    "id": r["id"], "other": o["id"], "source": r["source"], "family": r["family"], "gm_name": r["gm_name"],
                    "pitch": r["pitch"], "other_pitch": o["pitch"], "semitones": semis, "velocity": r["velocity"], "length": r["length"],
                    "call_seconds": call_s, "call_elapsed_s": out.timing.elapsed_s, "call_stages": out.timing.stages, "at_match": out.metrics.model_dump(),
                    "patch_octave": patch, "sampler_octave": sampler, "direct_octave": direct.metrics, "poor": out.poor_match,
                })
                print(j, r["gm_name"], r["pitch"], "->", o["pitch"], round(call_s, 2),
                      {k: round(rows[-1][k]["mr_stft"], 3) for k in ("at_match", "patch_octave", "sampler_octave", "direct_octave")}, flush=True)
        finally:
            lib.close()
    load1 = os.getloadavg()
    fig: dict[str, float | str] = {
        "octave_corpus": str(corpus_path), "octave_pairs": len(rows), "octave_families": len({r["family"] for r in rows}),
        "octave_up_pairs": sum(r["semitones"] > 0 for r in rows), "octave_down_pairs": sum(r["semitones"] < 0 for r in rows),
        "octave_default_budget_seconds": DEFAULT_BUDGET_S,
        "octave_call_seconds_mean": float(np.mean([r["call_seconds"] for r in rows])),
        "octave_call_seconds_max": float(np.max([r["call_seconds"] for r in rows])),
        "octave_call_seconds_after_first_mean": float(np.mean([r["call_seconds"] for r in rows[1:]])) if len(rows) > 1 else float("nan"),
        "octave_call_search_seconds_mean": float(np.mean([r["call_stages"].get("refine", 0.0) + r["call_stages"].get("pitch_guess_and_final_render", 0.0)
                                                          for r in rows])),
        "octave_call_image_and_save_seconds_mean": float(np.mean([r["call_stages"].get("image_and_save", 0.0) for r in rows])),
        "octave_call_image_and_save_seconds_first": float(rows[0]["call_stages"].get("image_and_save", 0.0)) if rows else float("nan"),
        "octave_load_average_start": load0[0], "octave_load_average_end": load1[0],
        "octave_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    for who in ("at_match", "patch_octave", "sampler_octave", "direct_octave"):
        for k in ("mr_stft", "spectral_convergence"):
            fig[f"octave_{who}_{k}_mean"] = float(np.mean([r[who][k] for r in rows]))
    fig["octave_patch_beats_sampler_share"] = float(np.mean([r["patch_octave"]["mr_stft"] < r["sampler_octave"]["mr_stft"] for r in rows]))
    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    (results / "match_sound_octaves.json").write_text(json.dumps({"pairs": rows}, indent=1, default=float) + "\n")
    merge_report(fig, "octave_", "### An octave away", octave_markdown(fig))


def octave_markdown(f: dict) -> str:
    """Section 6's text from its figures (``octave_*`` of match_sound.json)."""
    from lstmabar.tools.match_sound import DEFAULT_BUDGET_S, FINISH_RESERVE_S

    busy = max(f["octave_load_average_start"], f["octave_load_average_end"]) >= 1.0
    over = f["octave_call_image_and_save_seconds_mean"] > FINISH_RESERVE_S
    return ("### An octave away, and time per call (issue 19)\n\n"
            f"Run {f['octave_date']}, load average {f['octave_load_average_start']:.1f} at the start and {f['octave_load_average_end']:.1f} at the end "
            f"({'shared 2-core machine, other work running: not idle' if busy else '2-core machine, nothing else running'}). {f['octave_pairs']} held-out "
            f"notes of {f['octave_families']} families from {f['octave_corpus']} ({f['octave_up_pairs']} with the real note an octave up, "
            f"{f['octave_down_pairs']} down; same instrument, velocity and length), picked by a seeded rule (one pair per instrument, round-robin over "
            "families). Each is matched by the tool itself "
            f"(match_sound, default synth and budget, {DEFAULT_BUDGET_S:g} s, model loaded beforehand as a running server holds it).\n\n"
            "| at the octave note | MR-STFT mean | spectral conv. mean |\n|---|---|---|\n"
            f"| matched patch played an octave away | {f['octave_patch_octave_mr_stft_mean']:.3f} | {f['octave_patch_octave_spectral_convergence_mean']:.3f} |\n"
            f"| the real matched note transposed by resampling (one-sample sampler) | {f['octave_sampler_octave_mr_stft_mean']:.3f} | "
            f"{f['octave_sampler_octave_spectral_convergence_mean']:.3f} |\n"
            f"| subtractive pipeline matched directly on the octave note | {f['octave_direct_octave_mr_stft_mean']:.3f} | "
            f"{f['octave_direct_octave_spectral_convergence_mean']:.3f} |\n"
            f"| (the matched patch at its own note) | {f['octave_at_match_mr_stft_mean']:.3f} | {f['octave_at_match_spectral_convergence_mean']:.3f} |\n\n"
            f"The patch beat the transposed sample on {100 * f['octave_patch_beats_sampler_share']:.0f} % of pairs. Time per tool call (whole call: "
            f"loading the input, CREPE, search, 48 kHz render, spectrogram, saving): mean {f['octave_call_seconds_mean']:.1f} s, max "
            f"{f['octave_call_seconds_max']:.1f} s, {f['octave_call_seconds_after_first_mean']:.1f} s after the first call (goal: under 10 s when "
            f"idle; {'measured at the load above, not idle' if busy else 'measured with nothing else running'}). Of that, CREPE + search + final "
            f"render {f['octave_call_search_seconds_mean']:.1f} s and the spectrogram, descriptions and saving {f['octave_call_image_and_save_seconds_mean']:.1f} s "
            f"({f['octave_call_image_and_save_seconds_first']:.1f} s on the first call, which pays one-time imports), against the {FINISH_RESERVE_S:g} s "
            "the tool reserves for them" + (": at this load that stage is what runs past the budget. " if over else ". ")
            + f"With {f['octave_pairs']} pairs these move between runs: a first look. Per-pair rows: docs/results/match_sound_octaves.json.")


def speed_study(batch: int = 16, repeats: int = 5) -> None:
    """Renders per second of the subtractive synth and the Voice layout (2 s at 16 kHz, batches of ``batch``),
    and one forward + backward pass of the subtractive synth, on this CPU at its current load."""
    import os

    from lstmabar.models.matching.metrics import match_loss_torch
    from lstmabar.models.matching.subtractive import SubtractiveSynth, sample_sub
    from lstmabar.models.matching.voice_core import sample_core

    g = torch.Generator().manual_seed(0)
    sub, voice = SubtractiveSynth(), voice_core_spec()
    xs, xv = sample_sub(batch, g), sample_core(batch, g)

    def rate(fn) -> float:
        fn()
        t0 = time.monotonic()
        for _ in range(repeats):
            fn()
        return batch * repeats / (time.monotonic() - t0)

    load0 = os.getloadavg()[0]
    with torch.no_grad():
        r_sub = rate(lambda: sub.render(xs, 0))
        r_voice = rate(lambda: voice.render(xv, 0))
    target = sub.render(xs[:1], 0)[0].detach()

    def fwd_bwd():
        x = xs.clone().requires_grad_(True)
        match_loss_torch(target, sub.render(x, 0)).sum().backward()

    r_grad = rate(fwd_bwd)
    load1 = os.getloadavg()[0]
    fig = {"speed_batch": batch, "speed_subtractive_renders_per_s": r_sub, "speed_voice_renders_per_s": r_voice,
           "speed_subtractive_grad_renders_per_s": r_grad, "speed_load_average": (load0 + load1) / 2}
    md = (f"### Synth speed\n\nRenders per second, 2 s at 16 kHz, batches of {batch}, one thread, load average about "
          f"{fig['speed_load_average']:.1f} (shared machine): subtractive {r_sub:.0f}/s, the Voice layout {r_voice:.0f}/s "
          f"({r_voice / r_sub:.1f} times faster); subtractive forward + backward through the match loss {r_grad:.0f}/s.")
    print(fig)
    merge_report(fig, "speed_", "### Synth speed", md)


def _notes_figures(rows: list[dict], gen_rows: list[dict]) -> dict[str, float]:
    fig: dict[str, float] = {"notes_count": len(rows), "notes_families": len({r["family"] for r in rows}),
                             "notes_shift_share": float(np.mean([r["source"] != "fluidr3" for r in rows]))}
    for who in ("sub", "voice", "random"):
        for k in ("mr_stft", "spectral_convergence", "log_spectral_distance_db", "mfcc_l1"):
            vals = [r[who][k] for r in rows]
            fig[f"notes_{who}_{k}_mean"] = float(np.mean(vals))
            fig[f"notes_{who}_{k}_median"] = float(np.median(vals))
    fig["notes_sub_poor_share"] = float(np.mean([r["sub_poor"] for r in rows]))
    fig["notes_blind"] = False
    fig["notes_note_candidate_share"] = float(np.mean([r.get("note_candidates", False) for r in rows]))
    fig["notes_note_changed_share"] = float(np.mean([r.get("note_source") not in ("crepe", "analysis") for r in rows]))
    fig["notes_voice_poor_share"] = float(np.mean([r["voice_poor"] for r in rows]))
    fig["notes_mr_stft_reduction_vs_voice"] = 1 - fig["notes_sub_mr_stft_mean"] / fig["notes_voice_mr_stft_mean"]
    fig["notes_sub_beats_voice_share"] = float(np.mean([r["sub"]["mr_stft"] < r["voice"]["mr_stft"] for r in rows]))
    fig["notes_sub_beats_random_share"] = float(np.mean([r["sub"]["mr_stft"] < r["random"]["mr_stft"] for r in rows]))
    fig["notes_sub_seconds_mean"] = float(np.mean([r["sub_seconds"] for r in rows]))
    fig["notes_sub_seconds_max"] = float(np.max([r["sub_seconds"] for r in rows]))
    fig["notes_voice_seconds_mean"] = float(np.mean([r["voice_seconds"] for r in rows]))
    fig["notes_renders_mean"] = float(np.mean([r["renders"] for r in rows]))
    for w in ("analysis", "network", "bank", "cma", "gradient"):
        fig[f"notes_winner_{w}_share"] = float(np.mean([r["winner"] == w for r in rows]))
    if gen_rows:
        fig["notes_other_keys_pairs"] = len(gen_rows)
        fig["notes_other_keys_semitones_abs_median"] = float(np.median([abs(g["semitones"]) for g in gen_rows]))
        fig["notes_other_keys_sub_mr_stft_mean"] = float(np.mean([g["sub"] for g in gen_rows]))
        fig["notes_other_keys_voice_mr_stft_mean"] = float(np.mean([g["voice"] for g in gen_rows]))
        fig["notes_other_keys_sub_at_match_mr_stft_mean"] = float(np.mean([g["sub_at_match"] for g in gen_rows]))
        fig["notes_other_keys_sub_beats_voice_share"] = float(np.mean([g["sub"] < g["voice"] for g in gen_rows]))
        near = [g for g in gen_rows if abs(g["semitones"]) <= 15]
        if near:
            fig["notes_other_keys_within_15_pairs"] = len(near)
            fig["notes_other_keys_within_15_sub_mr_stft_mean"] = float(np.mean([g["sub"] for g in near]))
            fig["notes_other_keys_within_15_voice_mr_stft_mean"] = float(np.mean([g["voice"] for g in near]))
    return fig


def _notes_markdown(fig: dict, rows: list[dict], budget: float) -> str:
    f = fig
    md = ["### Held-out real notes (issue 19)\n",
          f"{f['notes_count']} notes from {f['notes_families']} GM families of the real-instrument corpus ({f['notes_corpus']}, "
          f"{f['notes_corpus_clips']} clips; held-out FluidR3 programs and the TimGM6mb soundfont, {100 * f['notes_shift_share']:.0f} % "
          "from TimGM6mb), picked by a seeded rule written before the first run (sha1-ordered within each family, round-robin over "
          f"families). Subtractive pipeline (the tool's default) at a {budget:g} s budget; the Voice pipeline (CNN + CREPE + CMA-ES, the "
          "earlier default) given the same wall time as each subtractive call; random search on the subtractive synth with the same "
          f"number of renders (the subtractive pipeline's note fixed). Load average {f['notes_load_average_start']:.1f} at the start, "
          f"{f['notes_load_average_end']:.1f} at the end (shared 2-core machine, other jobs running).\n",
          f"**{NOTES_NOT_BLIND}** Notes whose pitch reading was uncertain and tried candidate notes: "
          f"{100 * f['notes_note_candidate_share']:.0f} %; the note kept was not CREPE's own on {100 * f['notes_note_changed_share']:.0f} %."
          + (f" The previous run of this study (before that change; {f['notes_previous'].get('date')}): MR-STFT "
             f"{f['notes_previous']['notes_sub_mr_stft_mean']:.3f} subtractive vs {f['notes_previous']['notes_voice_mr_stft_mean']:.3f} Voice, "
             f"better than random search on {100 * f['notes_previous']['notes_sub_beats_random_share']:.0f} %, "
             f"{100 * f['notes_previous']['notes_sub_poor_share']:.0f} % flagged poor"
             + (f", at load {f['notes_previous']['notes_load_average_start']:.1f}-{f['notes_previous']['notes_load_average_end']:.1f} with "
                f"{f['notes_previous']['notes_renders_mean']:.0f} renders per call (so the two runs differ in load as well as in the change)"
                if "notes_renders_mean" in f["notes_previous"] else "") + "." if "notes_previous" in f else "")
          + "".join(f" {r['gm_name']} {r['pitch']} (key {r['midi']}): CREPE "
                    + (f"{r['crepe_midi']:.1f}" if r.get("crepe_midi") is not None else "none")
                    + f", kept {r['note_source']} {r['note_midi']:.1f}"
                    + (" (right key)." if abs(r["note_midi"] - r["midi"]) < 0.5 else f" ({r['note_midi'] - r['midi']:+.0f} semitones from the key).")
                    for r in rows if r.get("note_source") not in (None, "crepe", "analysis")) + "\n",
          "| pipeline | MR-STFT mean (median) | spectral conv. mean (median) | log-spectral dist. dB | MFCC L1 | flagged poor |",
          "|---|---|---|---|---|---|"]
    for who, label, poor in (("sub", "subtractive (new default)", f"{100 * f['notes_sub_poor_share']:.0f} %"),
                             ("voice", "Voice, same wall time", f"{100 * f['notes_voice_poor_share']:.0f} %"),
                             ("random", "random search, same renders", "")):
        md.append(f"| {label} | {f[f'notes_{who}_mr_stft_mean']:.3f} ({f[f'notes_{who}_mr_stft_median']:.3f}) | "
                  f"{f[f'notes_{who}_spectral_convergence_mean']:.3f} ({f[f'notes_{who}_spectral_convergence_median']:.3f}) | "
                  f"{f[f'notes_{who}_log_spectral_distance_db_mean']:.2f} | {f[f'notes_{who}_mfcc_l1_mean']:.2f} | {poor} |")
    md.append(f"\nMR-STFT {100 * f['notes_mr_stft_reduction_vs_voice']:.0f} % lower than the Voice pipeline (goal: 25 %); lower than "
              f"the Voice pipeline on {100 * f['notes_sub_beats_voice_share']:.0f} % of notes and than random search at equal renders on "
              f"{100 * f['notes_sub_beats_random_share']:.0f} % (goal 90 %); {100 * f['notes_sub_poor_share']:.0f} % flagged poor (goal: under "
              f"half). Stage that won: gradient {100 * f['notes_winner_gradient_share']:.0f} %, CMA-ES {100 * f['notes_winner_cma_share']:.0f} %, "
              f"start bank {100 * f['notes_winner_bank_share']:.0f} %, analysis {100 * f['notes_winner_analysis_share']:.0f} %; "
              f"{f['notes_renders_mean']:.0f} renders per call on average. Time per call: mean {f['notes_sub_seconds_mean']:.1f} s, max "
              f"{f['notes_sub_seconds_max']:.1f} s (the tool adds loading, the spectrogram and saving; at the load above, not idle).")
    if "notes_other_keys_pairs" in f:
        md.append(f"\n**Other keys.** Each matched patch played at the same instrument's other held-out notes ({f['notes_other_keys_pairs']} "
                  f"pairs, median {f['notes_other_keys_semitones_abs_median']:.0f} semitones away; the corpus has no note exactly an octave "
                  f"away for most instruments): MR-STFT {f['notes_other_keys_sub_mr_stft_mean']:.3f} for the subtractive patch vs "
                  f"{f['notes_other_keys_voice_mr_stft_mean']:.3f} for the Voice patch (subtractive lower on "
                  f"{100 * f['notes_other_keys_sub_beats_voice_share']:.0f} %), against {f['notes_other_keys_sub_at_match_mr_stft_mean']:.3f} "
                  "at the matched note itself."
                  + (f" Within 15 semitones ({f['notes_other_keys_within_15_pairs']} pairs): {f['notes_other_keys_within_15_sub_mr_stft_mean']:.3f} vs "
                     f"{f['notes_other_keys_within_15_voice_mr_stft_mean']:.3f}." if "notes_other_keys_within_15_pairs" in f else ""))
    by_fam: dict[str, list[dict]] = {}
    for r in rows:
        by_fam.setdefault(r["family"], []).append(r)
    md.append("\n| family | notes | MR-STFT subtractive | Voice | random | poor (subtractive) |")
    md.append("|---|---|---|---|---|---|")
    for fam in sorted(by_fam):
        rs = by_fam[fam]
        md.append(f"| {fam} | {len(rs)} | {np.mean([r['sub']['mr_stft'] for r in rs]):.3f} | {np.mean([r['voice']['mr_stft'] for r in rs]):.3f} | "
                  f"{np.mean([r['random']['mr_stft'] for r in rs]):.3f} | {sum(r['sub_poor'] for r in rs)}/{len(rs)} |")
    md.append("\nPer-note rows: docs/results/match_sound_notes.json.")
    return "\n".join(md)


if __name__ == "__main__":
    main()
