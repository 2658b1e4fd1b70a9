"""Build the shipped word -> effect artefact (``crowd_prior.npz`` + ``crowd_prior.json``) from the crowd data.

    python -m lstmabar.models.fx.crowd.build --data ../shared/data

Per word and effect it stores what the crowd said (EQ curve, reverb decay / damping / effect level,
compressor threshold / ratio / attack / release), how many contributions, and how well the crowd
agrees; plus every word's MiniLM vector (for borrowing a meaning for an unknown word) and the
borrowing rule's hyper-parameters, chosen here by cross-validation over whole held-out words.

Validation (``validate``; benchmarks/fx_crowd_study.py reports the same function): a word is held
out with all its forms (lemma groups). Hyper-parameters and the family are chosen on a separate split
of tuning words (EQ: the words with 2-3 contributors; reverb / compressor: the words with fewer rows
than the validation threshold), and reported on the validation words (EQ: >= 4 contributors), which
the choice never sees. (Nested leave-one-word-out over the 47 EQ words was tried first: with 54
kNN settings it anti-selected badly, 0.06 against 0.31 for the untuned nearest word.) Families
compared: the plain mean, the nearest word, ridge regression from the sentence vector, the kNN.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data import COMP_FEATURES, REVERB_FEATURES, WordEvidence, load_audealize_eq, load_audealize_reverb, load_comp, load_eq, load_reverb
from .knn import KnnParams, knn_predict
from .words import lemma

HERE = Path(__file__).resolve().parent
ARTEFACT = HERE / "crowd_prior.npz"
META = HERE / "crowd_prior.json"
EMBED_TEMPLATE = "a {} sound"  # chosen over the bare word and four other templates (nearest-word r 0.31 vs 0.09)
SPLIT_HALVES = 200
SEED = 0
EQ_MIN_TARGET = 4  # words with at least this many SocialFX EQ contributions are validation targets
REVERB_MIN_TARGET = 20
COMP_MIN_TARGET = 10
MIN_WORD_ROWS = 3  # reverb / compressor words with fewer rows are not kept
STOP = frozenset(
    "a an the and or of it its is was be to in on at for with like as so very more less much bit little sound sounds "
    "sounded sounding music song audio same none no-change nothing not no yes than this that too kind sort".split()
)

KNN_GRID = [KnnParams(k, t, b, g) for k, t, b, g in itertools.product((10, 20, 40), (0.03, 0.1, 0.3), (1.0, 2.0, 4.0), (0.0, 1.0))]
RIDGE_GRID = [(a, b) for a in (1.0, 3.0, 10.0) for b in (1.0, 2.0, 4.0)]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    d = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 1e-12 else 0.0


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def split_half_r(rows: np.ndarray, rng: np.random.Generator, n: int = SPLIT_HALVES) -> float:
    """Mean Pearson r between the mean curves of two random halves of a word's contributors."""
    k = rows.shape[0]
    rs = []
    for _ in range(n):
        p = rng.permutation(k)
        rs.append(pearson(rows[p[: k // 2]].mean(0), rows[p[k // 2 :]].mean(0)))
    return float(np.mean(rs))


def leave_one_out_r(rows: np.ndarray) -> float:
    """Mean r of one contributor with the rest of the crowd (same word)."""
    return float(np.mean([pearson(rows[i], np.delete(rows, i, 0).mean(0)) for i in range(rows.shape[0])]))


_MINILM = None


def embed(words: list[str]) -> np.ndarray:
    global _MINILM
    from lstmabar.models.lstmabar.text_encoder import MiniLM

    _MINILM = _MINILM or MiniLM()
    return _MINILM.encode([EMBED_TEMPLATE.format(w) for w in words]).numpy().astype(np.float32)


# ----------------------------------------------------------------------------- one effect's table
@dataclass
class Table:
    """Known words of one effect: values (n, D), reliability (n,), counts, the plain mean, sentence vectors."""

    words: list[str]
    values: np.ndarray
    reliability: np.ndarray
    counts: np.ndarray
    mean: np.ndarray
    emb: np.ndarray
    mean_of_words: bool = False  # the plain mean is the mean of the known words' values (else a fixed stimulus mean)

    def train_mean(self, train: np.ndarray) -> np.ndarray:
        return self.values[train].mean(0) if self.mean_of_words else self.mean

    def sims(self) -> np.ndarray:
        return self.emb @ self.emb.T


Predictor = Callable[[np.ndarray, int], np.ndarray]  # (train mask, query index) -> prediction


def _predict(t: Table, S: np.ndarray, train: np.ndarray, q: int, family: str, params, cache: dict) -> np.ndarray:
    mean = t.train_mean(train)
    if family == "mean":
        return mean
    tr = np.nonzero(train)[0]
    if family == "nearest":
        return t.values[tr[int(np.argmax(S[q, tr]))]]
    if family == "knn":
        return knn_predict(S[q, tr], t.values[tr], t.reliability[tr], mean, params)[0]
    if family == "ridge":
        alpha, beta = params
        key = (train.tobytes(), alpha)
        if key not in cache:
            X, Y = t.emb[tr].astype(np.float64), t.values[tr] - mean
            cache[key] = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ Y)
        return mean + beta * (t.emb[q].astype(np.float64) @ cache[key])
    raise ValueError(family)


FAMILIES: dict[str, list] = {"mean": [None], "nearest": [None], "ridge": RIDGE_GRID, "knn": KNN_GRID}


def _score(kind: str, preds: dict[int, np.ndarray], t: Table, targets: np.ndarray, cols: list[int]) -> float:
    """EQ: mean Pearson r per word. Scalars: mean Spearman over words of the chosen columns."""
    idx = [i for i in preds]
    if kind == "curve":
        return float(np.mean([pearson(preds[i], targets[i]) for i in idx]))
    P = np.array([preds[i] for i in idx])
    T = np.array([targets[i] for i in idx])
    return float(np.mean([spearman(P[:, c], T[:, c]) for c in cols]))


def _folds(items: list[int], n_folds: int, rng: np.random.Generator) -> list[list[int]]:
    if n_folds >= len(items):
        return [[i] for i in items]
    p = rng.permutation(items)
    return [list(map(int, p[f::n_folds])) for f in range(n_folds)]


def held_out_predictions(t: Table, idx: list[int], family: str, params, folds: int, seed: int = SEED) -> dict[int, np.ndarray]:
    """Predict each word of ``idx`` with its whole fold left out of the known words."""
    S = t.sims()
    cache: dict = {}
    preds: dict[int, np.ndarray] = {}
    for fold in _folds(idx, folds, np.random.default_rng(seed)):
        tr = np.ones(len(t.words), bool)
        tr[fold] = False
        for q in fold:
            preds[q] = _predict(t, S, tr, q, family, params, cache)
    return preds


def select(
    t: Table, tune_idx: list[int], targets: np.ndarray, kind: str, cols: list[int], folds: int,
    families: tuple[str, ...] = ("mean", "nearest", "ridge", "knn"),
) -> dict[str, tuple[float, object]]:
    """Per family, the parameters that validate best on the TUNING words (held out fold by fold);
    the words reported as validation are never among them."""
    best: dict[str, tuple[float, object]] = {}
    for fam in families:
        for params in FAMILIES[fam]:
            sc = _score(kind, held_out_predictions(t, tune_idx, fam, params, folds), t, targets, cols)
            if fam not in best or sc > best[fam][0]:
                best[fam] = (sc, params)
    return best


def validate(
    t: Table, tune_idx: list[int], target_idx: list[int], targets: np.ndarray, kind: str, cols: list[int],
    tune_folds: int, target_folds: int, families: tuple[str, ...] = ("mean", "nearest", "ridge", "knn"),
) -> dict:
    """Choose each family's parameters on the tuning words, the family by its tuning score, then
    score every family on the target words, each held out with its fold."""
    chosen = select(t, tune_idx, targets, kind, cols, tune_folds, families)
    fam = max(chosen, key=lambda f: chosen[f][0])
    out: dict = {"family": fam, "params": chosen[fam][1], "tune_scores": {f: v[0] for f, v in chosen.items()},
                 "params_by_family": {f: v[1] for f, v in chosen.items()}, "preds": {}, "scores": {}}
    for f, (_, params) in chosen.items():
        out["preds"][f] = held_out_predictions(t, target_idx, f, params, target_folds)
        out["scores"][f] = _score(kind, out["preds"][f], t, targets, cols)
    return out


# ----------------------------------------------------------------------------- tables from the data
def eq_table(data_dir: Path, emb_fn=embed) -> tuple[Table, dict]:
    ev = load_eq(data_dir)
    words = sorted(ev)
    rng = np.random.default_rng(SEED)
    means = np.array([ev[w].matrix().mean(0) for w in words])
    counts = np.array([ev[w].n for w in words])
    targets = [i for i, w in enumerate(words) if counts[i] >= EQ_MIN_TARGET]
    sh = {words[i]: split_half_r(ev[words[i]].matrix(), rng) for i in targets}
    loo = {words[i]: leave_one_out_r(ev[words[i]].matrix()) for i in targets}
    # pairwise agreement of two contributors of the same word, pooled over target words
    pair = []
    for i in targets:
        m = ev[words[i]].matrix()
        pair += [pearson(m[a], m[b]) for a in range(len(m)) for b in range(a + 1, len(m))]
    rho = float(max(np.mean(pair), 1e-3))
    # reliability of a word's mean curve: the split-half r stepped up to the whole crowd (Spearman-Brown)
    # where there are enough contributors, else the pooled pairwise agreement stepped up to n
    rel = counts * rho / (1 + (counts - 1) * rho)
    for i in targets:
        r = sh[words[i]]
        rel[i] = max(2 * r / (1 + r), 0.0) if r > -1 else 0.0
    table = Table(words, means, rel, counts, means.mean(0), emb_fn(words), mean_of_words=True)
    aud = load_audealize_eq(data_dir)
    cross = [pearson(means[i], aud[w][0]) for i, w in enumerate(words) if w in aud]
    info = {"split_half": sh, "leave_one_out": loo, "pairwise_rho": rho, "targets": [words[i] for i in targets],
            "audealize_words": len(aud), "audealize_vs_socialfx_mean_r": float(np.mean(cross)),
            "audealize_num": {w: aud[w][1] for w in words if w in aud}}
    return table, info


def _scalar_table(ev: dict[str, WordEvidence], allrows: np.ndarray, min_rows: int, emb_fn) -> tuple[Table, dict]:
    words = sorted(w for w, e in ev.items() if e.n >= min_rows and w not in STOP and any(c.isalpha() for c in w))
    mu, sd = allrows.mean(0), allrows.std(0)
    raw = np.array([ev[w].matrix().mean(0) for w in words])
    counts = np.array([ev[w].n for w in words])
    # per feature: within-word and between-word variance -> n0 of the reliability n / (n + n0)
    big = [i for i, w in enumerate(words) if counts[i] >= 10]
    within = np.array([np.mean([ev[words[i]].matrix()[:, j].var() for i in big]) for j in range(allrows.shape[1])])
    between = np.maximum(raw[big].var(0) - np.mean(within[None, :] / counts[big, None], 0), 1e-6)
    n0 = within / between
    rel_f = counts[:, None] / (counts[:, None] + n0[None, :])
    shrunk = mu + rel_f * (raw - mu)  # empirical Bayes: a word with few rows stays near the average setting
    table = Table(words, shrunk, rel_f.mean(1), counts, mu, emb_fn(words))
    return table, {"feature_mean": mu.tolist(), "feature_sd": sd.tolist(), "n0": n0.tolist(), "raw_means": raw}


def reverb_table(data_dir: Path, emb_fn=embed) -> tuple[Table, dict]:
    ev, allrows = load_reverb(data_dir)
    t, info = _scalar_table(ev, allrows, MIN_WORD_ROWS, emb_fn)
    info["n_contrib"] = len(t.words)
    aud = load_audealize_reverb(data_dir)
    info["audealize_words"] = len(aud)
    # Audealize-only words (no contribution rows kept): their descriptor's decay and cut-off, average level
    have = set(t.words)
    extra = [w for w in sorted(aud) if lemma(w, have) not in have and w not in STOP]
    if extra:
        vals = np.array([[math.log(aud[w][0]), math.log(min(max(aud[w][1], 50.0), 22050.0)), t.mean[2]] for w in extra])
        rel = np.full(len(extra), 0.3)
        t = Table(t.words + extra, np.vstack([t.values, t.mean + rel[:, None] * (vals - t.mean)]), np.concatenate([t.reliability, rel]),
                  np.concatenate([t.counts, [aud[w][2] for w in extra]]), t.mean, np.vstack([t.emb, emb_fn(extra)]))
        info["raw_means"] = np.vstack([info["raw_means"], vals])
    info["audealize_only_words"] = extra
    return t, info


def comp_table(data_dir: Path, emb_fn=embed) -> tuple[Table, dict]:
    ev, allrows = load_comp(data_dir)
    return _scalar_table(ev, allrows, MIN_WORD_ROWS, emb_fn)


def scalar_targets(t: Table, info: dict, min_rows: int) -> tuple[list[int], np.ndarray]:
    """Validation targets: words with at least ``min_rows`` rows; the target is the raw crowd mean."""
    n = info.get("n_contrib", len(t.words))  # words with contribution rows (not Audealize-only ones)
    idx = [i for i in range(n) if t.counts[i] >= min_rows]
    return idx, np.asarray(info["raw_means"])


# ----------------------------------------------------------------------------- calibration and build
def calibrate(t: Table, preds: dict[int, np.ndarray], targets: np.ndarray, kind: str, cols: list[int]) -> dict[str, float]:
    """How far to trust a borrowed meaning: the held-out score of the validation words (mean r for
    curves, mean Spearman for scalars) at their typical best similarity to a known word, falling
    linearly to 0 at the similarity of two unrelated words (the median over all pairs). The held-out
    figures alone show no reliable slope with similarity (EQ: none), so the fall is an assumption."""
    S = t.sims()
    np.fill_diagonal(S, np.nan)
    idx = list(preds)
    top = np.array([np.nanmax(S[i]) for i in idx])
    if kind == "curve":
        score = float(np.mean([pearson(preds[i], targets[i]) for i in idx]))
    else:
        P = np.array([preds[i] for i in idx])
        T = np.array([targets[i] for i in idx])
        score = float(np.mean([spearman(P[:, c], T[:, c]) for c in cols]))
    return {"score": max(score, 0.0), "typical_top_similarity": float(np.median(top)), "unrelated_similarity": float(np.nanmedian(S))}


def build(data_dir: Path, out_npz: Path = ARTEFACT, out_json: Path = META) -> dict:
    eq, eq_info = eq_table(data_dir)
    rv, rv_info = reverb_table(data_dir)
    cp, cp_info = comp_table(data_dir)
    meta: dict = {"embed_template": EMBED_TEMPLATE, "sources": {
        "eq": "SocialFX EQ contributions (English) / Audealize eqdescriptors",
        "reverb": "SocialFX reverb contributions (English) + Audealize reverbdescriptors for words without rows",
        "compressor": "SocialFX compressor contributions"}}
    # EQ: tuned on the words with 2-3 contributors, validated on those with >= EQ_MIN_TARGET
    eq_targets = [eq.words.index(w) for w in eq_info["targets"]]
    eq_tune = [i for i in range(len(eq.words)) if 2 <= eq.counts[i] < EQ_MIN_TARGET]
    v = validate(eq, eq_tune, eq_targets, eq.values, "curve", [], len(eq_tune), len(eq_targets))
    meta["eq"] = {
        "family": v["family"], "params": _params(v["params"]), "tune_scores": v["tune_scores"], "validation_scores": v["scores"],
        "tune_words": len(eq_tune), "validation_words": len(eq_targets),
        "calibration": calibrate(eq, v["preds"][v["family"]], eq.values, "curve", []),
        "pairwise_rho": eq_info["pairwise_rho"], "split_half": eq_info["split_half"], "leave_one_out": eq_info["leave_one_out"],
        "audealize_vs_socialfx_mean_r": eq_info["audealize_vs_socialfx_mean_r"], "audealize_num": eq_info["audealize_num"],
    }
    # reverb (decay and effect level validated; the cut-off rides along) and compressor (threshold and ratio)
    for name, t, info, min_t, cols, feats in (("reverb", rv, rv_info, REVERB_MIN_TARGET, [0, 2], REVERB_FEATURES),
                                               ("compressor", cp, cp_info, COMP_MIN_TARGET, [0, 1], COMP_FEATURES)):
        tidx, T = scalar_targets(t, info, min_t)
        tune = [i for i in range(info.get("n_contrib", len(t.words))) if i not in set(tidx)]
        v = validate(t, tune, tidx, T, "scalar", cols, 10, 10, families=("nearest", "ridge", "knn"))
        meta[name] = {"family": v["family"], "params": _params(v["params"]), "tune_scores": v["tune_scores"],
                      "validation_scores": v["scores"], "tune_words": len(tune), "validation_words": len(tidx),
                      "calibration": calibrate(t, v["preds"][v["family"]], T, "scalar", cols), "features": list(feats),
                      "feature_mean": info["feature_mean"], "feature_sd": info["feature_sd"], "n0": info["n0"]}
    meta["reverb"]["audealize_only_words"] = rv_info["audealize_only_words"]
    arrays = {}
    for name, t in (("eq", eq), ("reverb", rv), ("compressor", cp)):
        arrays[f"{name}_words"] = np.array(t.words)
        arrays[f"{name}_values"] = t.values.astype(np.float32)
        arrays[f"{name}_reliability"] = t.reliability.astype(np.float32)
        arrays[f"{name}_counts"] = t.counts.astype(np.int32)
        arrays[f"{name}_mean"] = t.mean.astype(np.float32)
        arrays[f"{name}_emb"] = t.emb.astype(np.float16)
    np.savez_compressed(out_npz, **arrays)
    out_json.write_text(json.dumps(meta, indent=1, sort_keys=True, default=_json_default) + "\n")
    return meta


def _params(p):
    return p.as_dict() if isinstance(p, KnnParams) else (None if p is None else list(p))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(type(o))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / ".." / "shared" / "data")
    args = ap.parse_args()
    meta = build(args.data.resolve())
    for k in ("eq", "reverb", "compressor"):
        print(k, meta[k]["family"], meta[k]["params"], "tuning", {f: round(v, 3) for f, v in meta[k]["tune_scores"].items()},
              "validation", {f: round(v, 3) for f, v in meta[k]["validation_scores"].items()})


if __name__ == "__main__":
    main()
