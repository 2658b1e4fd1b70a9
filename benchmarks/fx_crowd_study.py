"""Does optimize_fx do what people mean? The crowd's own settings (Audealize / SocialFX) as ground truth.

Run from the repository root:  python -m benchmarks.fx_crowd_study [--embedder lstmabar] [--quick]

1. The word -> effect prior on words it has never seen (``models/fx/crowd/build.py: validate``): whole
   words (with their comparative forms) are left out; hyper-parameters and the method family are
   chosen on a separate split of tuning words, never on the words reported.
   - EQ: the 47 English words with >= 4 SocialFX contributions; Pearson r between the predicted curve
     and the word's crowd curve (mean of its contributions), plain and weighted by the word's own
     split-half agreement; baselines: the plain mean curve, the nearest word by MiniLM, ridge, random
     known words' curves and random EQ settings.
   - Reverb: words with >= 20 contributions; Spearman over words of the predicted decay (T60 of
     Audealize's reverberator) and effect level (log E) with the crowd's, and the share on the same
     side of the median; then the same for the Freeverb room size and wet level the tool would set
     (method "crowd") for those held-out words. Compressor: threshold and ratio, words >= 10 rows.
2. Known vocabulary through the tool: for the words whose contributors agree (split-half r >= 0.7),
   optimize_fx on the 4 real recordings (5 s loudest excerpts), prompt = the word, default arguments
   (method "both") and method "crowd" (Text2FX alone, method "text2fx", on two of them for
   comparison); Pearson r between the chain's EQ curve at the Audealize band centres below 0.45 x
   the sample rate and the crowd curve.

Writes docs/results/fx_crowd_study.json; benchmarks/optimize_fx.py copies the figures with a crowd_ prefix.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks._fx_common import AUDIO, BANDS, DATA, ROOT, SHARED, SOURCES, load_source  # noqa: F401
from benchmarks._report import write_report
from lstmabar.models.fx import twins
from lstmabar.models.fx.chain import chain_slots
from lstmabar.models.fx.crowd import build as B
from lstmabar.models.fx.crowd.prior import CrowdPrior
from lstmabar.models.fx.crowd.settings import damping_for_cutoff, room_for_decay

KNOWN_MIN_SPLIT_HALF = 0.7


def artefact_embeddings(prior: CrowdPrior, effect: str):
    """emb_fn for build's tables: the shipped MiniLM vectors (the same ones the tool uses)."""
    t = prior._t[effect]
    emb = dict(zip(t["words"], t["emb"]))

    def fn(words: list[str]) -> np.ndarray:
        return np.stack([emb[w] for w in words]).astype(np.float32)

    return fn


def agree(a, b) -> float:
    """Share of words on the same side of the median in both; a tie counts half."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    sa, sb = np.sign(a - np.median(a)), np.sign(b - np.median(b))
    return float(np.mean(np.where((sa == 0) | (sb == 0), 0.5, (sa == sb).astype(float))))


# ----------------------------------------------------------------------------- 1. the prior on held-out words
def prior_figures(prior: CrowdPrior) -> tuple[dict[str, float], str]:
    figs: dict[str, float] = {}
    eq, info = B.eq_table(DATA, artefact_embeddings(prior, "eq"))
    targets = [eq.words.index(w) for w in info["targets"]]
    tune = [i for i in range(len(eq.words)) if 2 <= eq.counts[i] < B.EQ_MIN_TARGET]
    v = B.validate(eq, tune, targets, eq.values, "curve", [], len(tune), len(targets))
    sh = np.array([info["split_half"][eq.words[i]] for i in targets])
    w_agree = np.clip(sh, 0, None)
    rows = []
    per_family: dict[str, np.ndarray] = {}
    for fam, preds in v["preds"].items():
        r = np.array([B.pearson(preds[i], eq.values[i]) for i in targets])
        per_family[fam] = r
        figs[f"eq_heldout_r_{fam}"] = float(r.mean())
        figs[f"eq_heldout_r_{fam}_agreement_weighted"] = float((r * w_agree).sum() / w_agree.sum())
    rng = np.random.default_rng(0)
    rand_word = np.array([np.mean([B.pearson(eq.values[j], eq.values[i]) for j in rng.choice([k for k in range(len(eq.words)) if k != i], 50)]) for i in targets])
    slots = chain_slots(["eq"])
    rand_set = np.array([np.mean([B.pearson(twins.eq_curve_db(["eq"], rng.uniform(0, 1, len(slots)), BANDS, 44100), eq.values[i]) for _ in range(10)]) for i in targets])
    figs.update({
        "eq_heldout_words": float(len(targets)), "eq_tuning_words": float(len(tune)),
        "eq_heldout_r_random_word": float(rand_word.mean()), "eq_heldout_r_random_settings": float(rand_set.mean()),
        "eq_crowd_split_half_mean": float(sh.mean()), "eq_crowd_one_contributor_vs_rest_mean": float(np.mean(list(info["leave_one_out"].values()))),
    })
    fam = prior.meta["eq"]["family"]  # the shipped choice (the tuning split ties knn and ridge at 0.216; fp16 vectors can flip it)
    for j, i in enumerate(targets):
        rows.append(f"| {eq.words[i]} | {eq.counts[i]} | {sh[j]:+.2f} | **{per_family[fam][j]:+.2f}** | {per_family['mean'][j]:+.2f} | {per_family['nearest'][j]:+.2f} | {per_family['ridge'][j]:+.2f} | {rand_word[j]:+.2f} |")
    md = [f"""### 1. The word -> effect prior on words it has never seen

Whole words (with their comparative forms) left out; the method family and its hyper-parameters were chosen on a separate split
of tuning words ({len(tune)} EQ words with 2-3 contributors; reverb / compressor words with fewer rows than the thresholds below), never on the words reported.
(A nested leave-one-word-out search over the 47 EQ words was tried first and anti-selected: 0.06 for the tuned kNN against 0.31 for the untuned nearest word.)

**EQ**, {len(targets)} English words with >= 4 SocialFX contributions; Pearson r of the predicted curve with the word's crowd curve:

| method | mean r | weighted by the word's split-half agreement |
|---|---|---|
""" + "\n".join(f"| {f}{' (shipped)' if f == fam else ''} | {figs[f'eq_heldout_r_{f}']:+.3f} | {figs[f'eq_heldout_r_{f}_agreement_weighted']:+.3f} |" for f in per_family)
        + f"""
| a random known word's curve | {figs['eq_heldout_r_random_word']:+.3f} | |
| random EQ settings | {figs['eq_heldout_r_random_settings']:+.3f} | |

The crowd itself: two random halves of a word's contributors agree at mean r {figs['eq_crowd_split_half_mean']:+.3f}; one contributor with the rest at {figs['eq_crowd_one_contributor_vs_rest_mean']:+.3f} (the goal for unknown words: 0.39).
Shipped: {fam} with {prior.meta['eq']['params']} (tuning-split scores {', '.join(f'{k} {x:.3f}' for k, x in prior.meta['eq']['tune_scores'].items())}).

<details><summary>Per word</summary>

| word | contributors | split-half r | {fam} | mean curve | nearest word | ridge | random word |
|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n\n</details>\n"]

    # reverb and compressor
    rv, rinfo = B.reverb_table(DATA, artefact_embeddings(prior, "reverb"))
    cp, cinfo = B.comp_table(DATA, artefact_embeddings(prior, "compressor"))
    for name, t, inf, min_t, cols, labels in (("reverb", rv, rinfo, B.REVERB_MIN_TARGET, [0, 2], ("decay", "mix")),
                                              ("compressor", cp, cinfo, B.COMP_MIN_TARGET, [0, 1], ("threshold", "ratio"))):
        tidx, T = B.scalar_targets(t, inf, min_t)
        tune_s = [i for i in range(inf.get("n_contrib", len(t.words))) if i not in set(tidx)]
        vs = B.validate(t, tune_s, tidx, T, "scalar", cols, 10, 10, families=("nearest", "ridge", "knn"))
        lines = []
        for f, preds in vs["preds"].items():
            P = np.array([preds[i] for i in tidx])
            G = T[tidx]
            for c, lab in zip(cols, labels):
                figs[f"{name}_heldout_{lab}_spearman_{f}"] = B.spearman(P[:, c], G[:, c])
                figs[f"{name}_heldout_{lab}_direction_{f}"] = agree(P[:, c], G[:, c])
            lines.append(f"| {f}{' (shipped)' if f == prior.meta[name]['family'] else ''} | " + " | ".join(
                f"{figs[f'{name}_heldout_{lab}_spearman_{f}']:+.3f} / {figs[f'{name}_heldout_{lab}_direction_{f}']:.0%}" for lab in labels) + " |")
        figs[f"{name}_heldout_words"] = float(len(tidx))
        P = np.array([vs["preds"][prior.meta[name]["family"]][i] for i in tidx])
        G = T[tidx]
        extra = ""
        if name == "reverb":  # what the tool would set for these held-out words (method crowd, strength 0.5)
            room = np.array([room_for_decay(math.exp(p[0])) for p in P])
            damp = np.array([damping_for_cutoff(math.exp(p[1])) for p in P])
            held = prior.without([t.words[i] for i in tidx])
            wet = np.array([0.25 * (0.4 + 0.6 * held.percentile("reverb", 2, float(p[2]))) for p in P])
            crowd_t60 = np.exp(G[:, 0])
            figs.update({"reverb_tool_room_size_vs_crowd_decay_spearman": B.spearman(room, crowd_t60),
                         "reverb_tool_room_size_vs_crowd_decay_direction": agree(room, crowd_t60),
                         "reverb_tool_wet_vs_crowd_mix_spearman": B.spearman(wet, G[:, 2]),
                         "reverb_tool_wet_vs_crowd_mix_direction": agree(wet, G[:, 2]),
                         "reverb_tool_damping_vs_crowd_cutoff_spearman": B.spearman(damp, -G[:, 1])})
            extra = (f"\nThe Freeverb settings the tool sets for these held-out words (method crowd, strength 0.5): room size vs the crowd's decay Spearman "
                     f"**{figs['reverb_tool_room_size_vs_crowd_decay_spearman']:+.3f}** ({figs['reverb_tool_room_size_vs_crowd_decay_direction']:.0%} on the same side of the median); "
                     f"wet level vs the crowd's effect level **{figs['reverb_tool_wet_vs_crowd_mix_spearman']:+.3f}** ({figs['reverb_tool_wet_vs_crowd_mix_direction']:.0%}); "
                     f"damping vs the crowd's darker tail {figs['reverb_tool_damping_vs_crowd_cutoff_spearman']:+.3f}. Goal: Spearman >= 0.5 for decay and mix.\n")
        md.append(f"\n**{name.capitalize()}**, {len(tidx)} words with >= {min_t} rows; Spearman over words / share on the same side of the median, "
                  f"against the crowd's mean for the word:\n\n| method | " + " | ".join(labels) + " |\n|---|---|---|\n" + "\n".join(lines) + "\n" + extra)
    return figs, "\n".join(md)


# ----------------------------------------------------------------------------- 2. known vocabulary through the tool
def known_words(prior: CrowdPrior) -> list[str]:
    sh = prior.meta["eq"]["split_half"]
    return sorted((w for w, r in sh.items() if r >= KNOWN_MIN_SPLIT_HALF), key=lambda w: -sh[w])


def tool_figures(prior: CrowdPrior, embedder_name: str, words: list[str], sources: list[str], text2fx_sources: list[str]) -> tuple[dict[str, float], str]:
    from benchmarks._fx_common import load_labelled_embedder
    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.tools.base import ModelCache, ToolContext
    from lstmabar.tools.optimize_fx import Input, run

    embedder, label = load_labelled_embedder(embedder_name)
    figs: dict[str, float] = {}
    r: dict[tuple[str, str, str], float] = {}
    secs: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for s in sources:
            x, sr = load_source(s, 5.0)
            paths[s] = Path(tmp) / f"{s}.wav"
            sf.write(paths[s], x, sr)
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp),), embedder="bench")
        lib = SoundLibrary(cfg)
        models = ModelCache()
        models._items["embedder:bench"] = embedder
        jobs = [(w, s, m) for w in words for s in sources for m in ("crowd", "both")] + [(w, s, "text2fx") for w in words for s in text2fx_sources]
        for k, (w, s, m) in enumerate(jobs):
            ts = time.perf_counter()
            out = run(Input(audio=AudioInput(path=str(paths[s])), prompt=w, method=m, chain=["eq"]), ToolContext(library=lib, config=cfg, models=models)).output
            secs.setdefault(m, []).append(time.perf_counter() - ts)
            sr = out.sound.sample_rate
            keep = BANDS < 0.45 * sr
            norm = np.array(lib.get(out.sound.id).params["fx"]["normalized"])
            curve = twins.eq_curve_db(["eq"], norm, BANDS[keep], sr)
            r[(w, s, m)] = B.pearson(curve, prior.eq(w).values[keep])
            print(f"[{k + 1}/{len(jobs)}] {w} {s} {m}: r {r[(w, s, m)]:+.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        lib.close()
    rows = []
    for w in words:
        cells = []
        for m, srcs in (("crowd", sources), ("both", sources), ("text2fx", text2fx_sources)):
            v = [r[(w, s, m)] for s in srcs]
            figs[f"known_r_{m}_word_{w}"] = float(np.mean(v))
            cells.append(f"{np.mean(v):+.2f}")
        rows.append(f"| {w} | {prior.meta['eq']['split_half'][w]:.2f} | {prior.eq(w).count} | " + " | ".join(cells) + " |")
    for m, srcs in (("crowd", sources), ("both", sources), ("text2fx", text2fx_sources)):
        allr = [r[(w, s, m)] for w in words for s in srcs]
        figs[f"known_r_{m}_mean"] = float(np.mean(allr))
        figs[f"known_r_{m}_min"] = float(np.min(allr))
        figs[f"known_{m}_call_s_mean"] = float(np.mean(secs[m]))
        for s in srcs:
            figs[f"known_r_{m}_source_{s}"] = float(np.mean([r[(w, s, m)] for w in words]))
    figs["known_words"] = float(len(words))
    load = os.getloadavg()
    md = f"""### 2. Known vocabulary through the tool

Embedder: **{label}**. The {len(words)} words whose contributors agree (split-half r >= {KNOWN_MIN_SPLIT_HALF}): {', '.join(words)}.
optimize_fx with prompt = the word, chain eq, default arguments otherwise (method "both": Text2FX refines the crowd's settings; 20 s budget),
and method "crowd" (no search), on {', '.join(sources)} (5 s loudest excerpts, 22.05 kHz); method "text2fx" (Text2FX alone) on {', '.join(text2fx_sources)}.
Pearson r between the chain's EQ curve at the Audealize band centres below 0.45 x the sample rate (35 bands) and the word's crowd curve.

| word | split-half r | contributors | crowd | both (default) | text2fx |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Mean r: crowd **{figs['known_r_crowd_mean']:+.3f}** (lowest {figs['known_r_crowd_min']:+.2f}), both (the default) **{figs['known_r_both_mean']:+.3f}** (lowest {figs['known_r_both_min']:+.2f}),
Text2FX alone {figs['known_r_text2fx_mean']:+.3f}; goal >= 0.8. Per source (both): {', '.join(f"{s} {figs['known_r_both_source_' + s]:+.2f}" for s in sources)}.
Seconds per call (machine shared with other work, load average {load[0]:.1f} / {load[1]:.1f}; not a speed claim): crowd {figs['known_crowd_call_s_mean']:.1f}, both {figs['known_both_call_s_mean']:.1f}, text2fx {figs['known_text2fx_call_s_mean']:.1f}.
"""
    return figs, md


# ----------------------------------------------------------------------------- 3. other word -> curve models (EQ)
def model_candidates(eq, S: np.ndarray, shipped) -> dict[str, object]:
    """Candidate word -> curve models, each ``f(query index, training indices) -> curve``:
    the shipped kNN; its deviation from the mean projected on the m leading principal curves of the
    training words (a low-rank curve model); ridge from MiniLM vectors to curves (alpha, gain beta),
    also to m principal-curve scores; a blend of kNN and ridge; kNN shrunk to the mean by the best
    similarity (gate (s_top - s0) / (1 - s0)); a Gaussian-process (kernel ridge) regression over the MiniLM
    similarity in which each training word's curve is a noisy reading of its meaning, the noise set by
    its contributors' agreement (``gp``, below)."""
    from lstmabar.models.fx.crowd.knn import KnnParams, knn_predict

    V, E = eq.values, eq.emb.astype(np.float64)

    def knn(q, tr, p=shipped):
        return knn_predict(S[q, tr], V[tr], eq.reliability[tr], V[tr].mean(0), p)[0]

    def pcs(tr, m):
        return np.linalg.svd(V[tr] - V[tr].mean(0), full_matrices=False)[2][:m]

    def knn_pca(q, tr, m):
        mu = V[tr].mean(0)
        c = pcs(tr, m)
        return mu + c.T @ (c @ (knn(q, tr) - mu))

    def ridge(q, tr, a, b, m=None):
        mu = V[tr].mean(0)
        y = V[tr] - mu
        c = pcs(tr, m) if m else None
        if m:
            y = y @ c.T
        x = E[tr]
        w = np.linalg.solve(x.T @ x + a * np.eye(x.shape[1]), x.T @ y)
        out = E[q] @ w
        return mu + b * (out @ c if m else out)

    def gated(q, tr, s0, beta):
        mu = V[tr].mean(0)
        pred = knn_predict(S[q, tr], V[tr], eq.reliability[tr], mu, KnnParams(40, 0.1, beta, 1.0))[0]
        return mu + np.clip((S[q, tr].max() - s0) / (1 - s0), 0, 1) * (pred - mu)

    def gp(q, tr, kw, lam, b):
        """GP posterior mean with kernel exp(kw (s - 1)) and per-word noise lam (1 - rel) / rel (in units of
        the kernel's variance): a word's reliability rel is the share of its mean curve's variance that is
        signal (split-half r stepped up, or the pooled pairwise agreement stepped up to its contributor
        count), so the noise-to-signal ratio of its curve is (1 - rel) / rel; lam scales it, b is the gain."""
        mu = V[tr].mean(0)
        rel = np.clip(eq.reliability[tr], 0.02, 1.0)
        A = np.exp(kw * (S[np.ix_(tr, tr)] - 1.0)) + np.diag(lam * (1.0 - rel) / rel)
        k = np.exp(kw * (S[q, tr] - 1.0))
        return mu + b * (k @ np.linalg.solve(A, V[tr] - mu))

    c: dict[str, object] = {"knn_shipped": knn}
    for m in (2, 3, 4, 6, 8):
        c[f"knnpca_m{m}"] = lambda q, tr, m=m: knn_pca(q, tr, m)
    for a in (0.1, 0.3, 1, 3, 10, 30):
        for b in (1, 2, 4, 8):
            c[f"ridge_a{a}_b{b}"] = lambda q, tr, a=a, b=b: ridge(q, tr, a, b)
            for m in (3, 6):
                c[f"ridgepca_m{m}_a{a}_b{b}"] = lambda q, tr, a=a, b=b, m=m: ridge(q, tr, a, b, m)
    for w in (0.3, 0.5, 0.7):
        for a, b in ((1, 2), (3, 2), (1, 4), (3, 4), (10, 4)):
            c[f"blend_w{w}_a{a}_b{b}"] = lambda q, tr, w=w, a=a, b=b: w * knn(q, tr) + (1 - w) * ridge(q, tr, a, b)
    for s0 in (0.3, 0.5, 0.6):
        for beta in (2, 4, 8):
            c[f"gatedknn_s{s0}_b{beta}"] = lambda q, tr, s0=s0, beta=beta: gated(q, tr, s0, beta)
    for kw in (2.5, 5, 10, 20):
        for lam in (1, 3, 10, 30):
            for b in (1, 2, 4, 8):
                c[f"gp_k{kw}_l{lam}_b{b}"] = lambda q, tr, kw=kw, lam=lam, b=b: gp(q, tr, kw, lam, b)
    return c


def model_figures(prior: CrowdPrior) -> tuple[dict[str, float], str]:
    """Every candidate scored on the TUNING words (2-3 contributors, each left out in turn); the best
    per family and the best overall chosen there; only then the chosen ones scored on the 47 held-out
    words (>= 4 contributors), each left out in turn. Audealize's EQ words are not added: all 294 are
    SocialFX words too, with curves at r 0.99 with SocialFX's (the same crowd)."""
    from lstmabar.models.fx.crowd.knn import KnnParams

    eq, info = B.eq_table(DATA, artefact_embeddings(prior, "eq"))
    n = len(eq.words)
    S = eq.sims()
    targets = [eq.words.index(w) for w in info["targets"]]
    tune = [i for i in range(n) if 2 <= eq.counts[i] < B.EQ_MIN_TARGET]
    cands = model_candidates(eq, S, KnnParams(**prior.meta["eq"]["params"]))

    def score(idx, f):
        rs = []
        for q in idx:
            tr = np.array([i for i in range(n) if i != q])
            rs.append(B.pearson(f(q, tr), eq.values[q]))
        return float(np.mean(rs))

    tuned = {k: score(tune, f) for k, f in cands.items()}
    family = lambda k: k.split("_")[0]  # noqa: E731
    chosen: dict[str, str] = {}
    for k, v in tuned.items():
        if family(k) not in chosen or v > tuned[chosen[family(k)]]:
            chosen[family(k)] = k
    overall = max(tuned, key=tuned.get)
    held = {k: score(targets, cands[k]) for k in chosen.values()}
    figs = {"models_candidates": float(len(cands)), "models_tuning_words": float(len(tune)), "models_heldout_words": float(len(targets)),
            "models_chosen_heldout_r": held[overall], "models_chosen_tuning_r": tuned[overall],
            "models_shipped_knn_heldout_r": held.get("knn_shipped", score(targets, cands["knn_shipped"])),
            "models_shipped_knn_tuning_r": tuned["knn_shipped"]}
    for fam, k in chosen.items():
        figs[f"models_{fam}_tuning_r"] = tuned[k]
        figs[f"models_{fam}_heldout_r"] = held[k]
    rows = "\n".join(f"| {fam}{' (**chosen**)' if k == overall else ''} | {k} | {tuned[k]:+.3f} | {held[k]:+.3f} |" for fam, k in sorted(chosen.items(), key=lambda x: -tuned[x[1]]))
    md = f"""### 3. Other word -> curve models for unknown EQ words

{len(cands)} candidates (the shipped kNN; its deviation projected on the m leading principal curves; ridge from MiniLM vectors, also to
principal-curve scores, alpha 0.1-30; kNN + ridge blends; kNN shrunk to the mean by the best similarity; a Gaussian process over the
MiniLM similarity, kernel exp(k (s - 1)), each word's curve read with noise lam (1 - reliability) / reliability from its contributors'
agreement, gain b), each scored on the
{len(tune)} tuning words (2-3 contributors, left out one at a time); the best per family and the best overall chosen there, and only
those scored on the {len(targets)} held-out words (>= 4 contributors, left out one at a time). Audealize's EQ words add nothing: all
294 are SocialFX words, with curves at r 0.99 with SocialFX's.

| family | best on the tuning words | tuning r | held-out r |
|---|---|---|---|
{rows}

Chosen on the tuning words: **{overall}**, held-out mean r **{held[overall]:+.3f}** (the shipped kNN {figs['models_shipped_knn_heldout_r']:+.3f}; goal 0.39: not met).
The other families' held-out figures are shown for the record; choosing among them by these figures would be tuning to the held-out words.
{_shipping_note(held[overall] - figs['models_shipped_knn_heldout_r'])}
"""
    return figs, md


def _shipping_note(gain: float) -> str:
    if gain < 0:
        return (f"The shipped prior still borrows with the plain kNN: the model chosen on the tuning words does worse on the held-out words "
                f"({gain:+.3f}), so the tuning words (2-3 contributors each) do not rank these families as the well-known words do.")
    return (f"The shipped prior still borrows with the plain kNN: the chosen model's gain ({gain:+.3f}) is within what one word more or less "
            "moves a 47-word mean, and shipping it needs the artefact rebuilt and the reverb / compressor choices re-validated.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default=os.environ.get("LSTMABAR_EMBEDDER", "lstmabar"))
    ap.add_argument("--sources", default="trumpet,speech,jazz,robin")
    ap.add_argument("--text2fx-sources", default="trumpet,jazz")
    ap.add_argument("--skip-tool", action="store_true", help="only part 1 (the prior on held-out words)")
    ap.add_argument("--quick", action="store_true", help="print only, do not write the report")
    ap.add_argument("--models-only", action="store_true", help="only part 3 (other word -> curve models), written to fx_crowd_models")
    args = ap.parse_args()
    if args.models_only:
        figs, md = model_figures(CrowdPrior.load())
        write_report("fx_crowd_models", figs, "From benchmarks/fx_crowd_study.py --models-only.\n\n" + md)
        return
    t0 = time.perf_counter()
    prior = CrowdPrior.load()
    figs, md1 = prior_figures(prior)
    md = [md1]
    if not args.skip_tool:
        words = known_words(prior)
        sources = args.sources.split(",")
        t2 = args.text2fx_sources.split(",")
        if args.quick:
            words, sources, t2 = words[:2], sources[:1], sources[:1]
        f2, md2 = tool_figures(prior, args.embedder, words, sources, t2)
        figs.update(f2)
        md.append(md2)
    figs["seconds"] = time.perf_counter() - t0
    figs = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in figs.items()}
    text = "\n".join(md)
    if args.quick:
        print(text)
        return
    write_report("fx_crowd_study", figs, text)


if __name__ == "__main__":
    main()
