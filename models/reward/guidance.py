"""What generating tools call to use the reward model.

    reward = load_reward(ctx, embedder)           # newest compatible version, or None
    objective = GuidedObjective(objective, reward, feedback_weight)   # fitness + w * reward
    ... run_search(objective, ...) ...
    order = rerank(scores, reward_scores, weight)  # final top-k order
    result says: reward.version (e.g. "v3")

``reward.score(audio_embeddings (B, D), text_embedding (D,) or (B, D), params (B, 78) or None)``
returns a standardised score (mean 0, std 1 over the sounds it was trained on). The newest version
on disk is used on every call (``RewardRegistry``), so retraining needs no server restart.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from .features import FeatureStore, embedder_name
from .registry import RewardModel, RewardRegistry, reward_dir

REGISTRY_KEY = "reward:registry"


def registry(ctx) -> RewardRegistry:
    folder = reward_dir(ctx.config)
    return ctx.models.get(f"{REGISTRY_KEY}:{folder}", lambda: RewardRegistry(folder))


def load_reward(ctx, embedder: Any | None = None) -> RewardModel | None:
    """The newest reward model, or None when there is none or it was trained with another embedder
    than ``embedder`` (its features would not match)."""
    model = registry(ctx).latest()
    if model is None:
        return None
    if embedder is not None and not model.compatible(embedder):
        return None
    return model


def reward_status(ctx, embedder: Any | None = None) -> str:
    """One sentence for a tool summary: which reward version is (or is not) in use and why."""
    model = registry(ctx).latest()
    if model is None:
        return "No reward model trained yet (rate sounds, then `lstmabar train reward`)."
    if embedder is not None and not model.compatible(embedder):
        return f"Reward {model.version} was trained with embedder {model.embedder!r}, not {embedder_name(embedder)!r}; not used."
    return f"Shaped by {model.label}."


class GuidedObjective:
    """Wraps a search objective ``params (B, 78) -> (fitness (B,), audio embeddings (B, D))`` (e.g.
    ``TextAudioObjective``): fitness + weight * reward.score(embeddings, text, params). The text
    embedding is taken from ``objective.text`` unless given. ``last_reward`` holds the latest batch's
    reward scores; other attributes (timers, render, embed) pass through to the wrapped objective.
    ``invalid_at``: fitness at or below it is left alone (None: always add the term). ``params_fn``:
    maps the search vector to reward parameter features (e.g. FX settings through
    ``features.params_features``); by default a 78-wide vector is taken as a Voice patch."""

    def __init__(
        self,
        objective: Any,
        reward: RewardModel | None,
        weight: float,
        text: torch.Tensor | None = None,
        *,
        invalid_at: float | None = -1.0,
        params_fn: Callable[[torch.Tensor], torch.Tensor | None] | None = None,
    ) -> None:
        self.objective = objective
        self.invalid_at = invalid_at
        self.params_fn = params_fn
        self.reward = reward
        self.weight = float(weight)
        self.text = text if text is not None else getattr(objective, "text", None)
        self.last_reward: torch.Tensor | None = None

    @property
    def active(self) -> bool:
        return self.reward is not None and self.weight != 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["objective"], name)

    def __call__(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        fitness, emb = self.objective(params)
        if not self.active or emb is None:
            return fitness, emb
        text = self.text if self.text is not None else torch.zeros(emb.shape[-1])
        r = self.reward.score(emb, text, self.params_fn(params) if self.params_fn else params)
        self.last_reward = r
        guided = fitness + self.weight * r.to(fitness.device)
        if self.invalid_at is None:
            return guided, emb
        bad = fitness <= self.invalid_at  # silent / invalid renders (TextAudioObjective gives -1) stay at the bottom
        return torch.where(bad, fitness, guided), emb


def rerank(fitness: torch.Tensor, reward_scores: torch.Tensor | None, weight: float) -> list[int]:
    """Order (best first) of candidates by fitness + weight * reward."""
    total = fitness.float() if reward_scores is None or weight == 0 else fitness.float() + weight * reward_scores.float()
    return torch.argsort(total, descending=True).tolist()


def record_scorer(library, embedder, model: RewardModel, folder=None) -> Callable:
    """``scorer(SoundRecord) -> float`` for ``library.export.export_feedback`` (standardised reward)."""
    fs = FeatureStore(folder or reward_dir(library.config), embedder)

    def scorer(rec) -> float:
        a, t, p = fs.all(library, [rec])
        return round(float(model.score(a, t[0], p)[0]), 5)

    return scorer


def score_records(ctx, records: list, embedder: Any | None = None) -> tuple[RewardModel | None, list[float] | None]:
    """Standardised reward of stored sounds with the newest compatible model (None when there is none)."""
    emb = embedder if embedder is not None else ctx.embedder(None)
    model = load_reward(ctx, emb)
    if model is None or not records:
        return model, None
    fs = FeatureStore(reward_dir(ctx.config), emb)
    a, t, p = fs.all(ctx.library, records)
    fs.save()
    return model, model.score(a, t, p).tolist()
