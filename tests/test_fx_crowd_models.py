"""The fx_crowd_study model comparison: fast leave-words-out predictions equal a refit, and the nested
selection never looks at the word it scores."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.fx_crowd_study import Candidates, curve_r, nested_selection
from lstmabar.models.fx.crowd.knn import KnnParams, knn_predict


def _table(seed: int = 0, n: int = 30, d: int = 8, e: int = 5):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, e))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    values = emb @ rng.standard_normal((e, d)) + 0.5 * rng.standard_normal((n, d))
    rel = rng.uniform(0.1, 0.95, n)
    return values, emb, rel


def _refit(values, emb, rel, shipped, H, q) -> dict[str, np.ndarray]:
    """Reference: each family fitted directly on the words outside H, predicting word q."""
    n = len(values)
    tr = np.array([i for i in range(n) if i not in set(H)])
    mu = values[tr].mean(0)
    S = emb @ emb.T
    out = {"mean": mu, "nearest": values[tr[np.argmax(S[q, tr])]]}
    knn = knn_predict(S[q, tr], values[tr], rel[tr], mu, shipped)[0]
    out["knn_shipped"] = knn
    X, Y = emb[tr], values[tr] - mu
    ridge = mu + 2 * (emb[q] @ np.linalg.solve(X.T @ X + 3 * np.eye(X.shape[1]), X.T @ Y))
    out["ridge_a3_b2"] = ridge
    pcs = np.linalg.svd(values[tr] - mu, full_matrices=False)[2][:3]
    out["knnpca_m3"] = mu + pcs.T @ (pcs @ (knn - mu))
    out["ridgepca_m3_a3_b2"] = mu + pcs.T @ (pcs @ (ridge - mu))
    r = np.clip(rel[tr], 0.02, 1.0)
    A = np.exp(5 * (S[np.ix_(tr, tr)] - 1.0)) + np.diag(10 * (1.0 - r) / r)
    out["gp_k5_l10_b2"] = mu + 2 * (np.exp(5 * (S[q, tr] - 1.0)) @ np.linalg.solve(A, values[tr] - mu))
    return out


@pytest.mark.parametrize("H,q", [([4], 4), ([4, 11], 11), ([0, 7, 19], 7)])
def test_leave_words_out_predictions_equal_a_refit(H, q):
    values, emb, rel = _table()
    shipped = KnnParams(10, 0.1, 2.0, 1.0)
    C = Candidates(values, emb, rel, shipped)
    P = C.predict(H, at=[q])[:, 0]
    for name, ref in _refit(values, emb, rel, shipped, H, q).items():
        np.testing.assert_allclose(P[C.names.index(name)], ref, atol=1e-8, err_msg=name)


def test_curve_r_is_pearson():
    rng = np.random.default_rng(1)
    P, y = rng.standard_normal((4, 12)), rng.standard_normal(12)
    np.testing.assert_allclose(curve_r(P, y), [np.corrcoef(p, y)[0, 1] for p in P], atol=1e-12)


def test_nested_pick_does_not_see_the_scored_word():
    """The pick for an outer word must not change when that word's own curve is replaced."""
    values, emb, rel = _table(2)
    shipped = KnnParams(10, 0.1, 2.0, 1.0)
    outer, pool = [3, 8], list(range(len(values)))
    base = nested_selection(Candidates(values, emb, rel, shipped), outer, pool, rel)
    for j, q in enumerate(outer):
        v2 = values.copy()
        v2[q] = -10 * values[q] + np.random.default_rng(q).standard_normal(values.shape[1])
        other = nested_selection(Candidates(v2, emb, rel, shipped), [q], pool, rel)
        assert other["picks"][0] == base["picks"][j]
