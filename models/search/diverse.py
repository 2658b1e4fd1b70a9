"""Pick the top-k results of a search that differ from one another (not k near-copies of the best).

Greedy: take the best candidate, then repeatedly the best remaining candidate whose distance to
every one already taken is at least a threshold. Distances are cosine distances between feature
vectors (audio embeddings, when the search kept them) or Euclidean distances between normalised
parameter vectors scaled to [0, 1]. The default threshold adapts to the pool: half the median
pairwise distance among the pool's best candidates; when fewer than k candidates clear it, the
threshold is relaxed until k are found (exact duplicates are never taken twice). Candidates come
from the pool's better part first (the top ``quantile`` by score, at the full and the half
threshold) and only then from the whole pool, so diversity does not cost a fall back to poor
early-generation sounds.
"""

from __future__ import annotations

import torch


def pairwise_distance(features: torch.Tensor, *, metric: str = "cosine") -> torch.Tensor:
    f = features.float()
    if metric == "cosine":
        n = torch.nn.functional.normalize(f, dim=-1)
        return (1.0 - n @ n.T).clamp(min=0.0)
    if metric == "euclidean":
        return torch.cdist(f, f) / max(1.0, f.shape[1] ** 0.5)
    raise ValueError(f"unknown metric {metric!r}")


def select_diverse(
    scores: torch.Tensor,
    features: torch.Tensor,
    k: int,
    *,
    metric: str = "cosine",
    min_distance: float | None = None,
    quantile: float = 0.2,
    max_pool: int = 400,
) -> list[int]:
    """Indices (into ``scores``) of up to ``k`` mutually different, high-scoring candidates,
    best first."""
    scores = torch.as_tensor(scores).float().reshape(-1)
    n = scores.numel()
    if n == 0 or k <= 0:
        return []
    order = torch.argsort(scores, descending=True)[:max_pool]
    feats = torch.as_tensor(features).float()[order]
    dist = pairwise_distance(feats, metric=metric)
    m = order.numel()
    if min_distance is None:
        top = min(m, 50)
        sub = dist[:top, :top]
        iu = torch.triu_indices(top, top, offset=1)
        vals = sub[iu[0], iu[1]]
        min_distance = 0.5 * float(vals.median()) if vals.numel() else 0.0
    good = max(k, int(round(quantile * m)))
    schedule = [(good, min_distance), (good, min_distance / 2)]
    schedule += [(m, min_distance / 2**i) for i in range(10)] + [(m, 0.0)]
    chosen: list[int] = []
    eps = 1e-6
    for limit, thr in schedule:
        for j in range(min(limit, m)):
            if len(chosen) >= k:
                break
            if j not in chosen and all(float(dist[j, c]) >= max(thr, eps) for c in chosen):
                chosen.append(j)
        if len(chosen) >= k:
            break
    chosen.sort(key=lambda j: -float(scores[order[j]]))
    return [int(order[j]) for j in chosen]
