"""Borrowing a meaning from known words: a similarity- and agreement-weighted k-nearest-neighbour
average of their deviations from the plain mean, shrunk toward that mean.

    w_i  = exp((s_i - s_max) / tau) * reliability_i ** gamma      over the k most similar known words
    pred = mean + beta * sum_i w_i (v_i - mean) / sum_i w_i

``s_i`` is the cosine similarity of MiniLM sentence vectors. The same rule serves EQ curves (40 bands)
and reverb / compressor features; the build script chooses (k, tau, beta, gamma) by cross-validation
over whole held-out words (``build.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class KnnParams:
    k: int = 20
    tau: float = 0.1
    beta: float = 2.0
    gamma: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def knn_predict(
    sims: np.ndarray, values: np.ndarray, reliability: np.ndarray, mean: np.ndarray, p: KnnParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sims (n,), values (n, D), reliability (n,), mean (D,) -> (prediction (D,), neighbour indices, weights)."""
    k = min(p.k, sims.shape[0])
    idx = np.argpartition(-sims, k - 1)[:k]
    idx = idx[np.argsort(-sims[idx])]
    s = sims[idx]
    w = np.exp((s - s[0]) / max(p.tau, 1e-6)) * np.power(np.clip(reliability[idx], 1e-3, 1.0), p.gamma)
    w = w / w.sum()
    dev = (w[:, None] * (values[idx] - mean)).sum(0)
    return mean + p.beta * dev, idx, w


def calibrated_confidence(top_similarity: float, score: float, typical_top_similarity: float, unrelated_similarity: float) -> float:
    """Expected agreement with the crowd of a borrowed meaning: the held-out score at the validation
    words' typical best similarity, falling linearly to 0 at the similarity of unrelated words."""
    span = max(typical_top_similarity - unrelated_similarity, 1e-6)
    return float(score * np.clip((top_similarity - unrelated_similarity) / span, 0.0, 1.0))
