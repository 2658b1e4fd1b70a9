"""synthesize_from_text with a reward model trained from stored ratings (feedback_weight)."""

from __future__ import annotations

import numpy as np
import torch

from lstmabar.library.descriptors import describe_batch
from lstmabar.models.reward.registry import reward_dir
from lstmabar.models.reward.train import train_reward
from lstmabar.tools import synthesize_from_text as synth

torch.set_num_threads(1)
SMALL = dict(population=8, max_evaluations=32, max_seconds=None, patience=None, seconds=0.5, brief_weight=0)  # the reward term alone (the brief adds a penalty to the same fitness)


def _rate_darker_higher(ctx) -> None:
    recs = []
    for seed in range(3):
        recs += synth.run(synth.Input(prompt="soft pad", k=8, seed=seed, **SMALL), ctx).sounds
    centroid = {}
    for r in recs:
        a = ctx.library.read(r.id)
        centroid[r.id] = float(np.nan_to_num(describe_batch(a.mono(), a.sample_rate)["centroid_hz"][0]))
    ids = sorted(centroid, key=centroid.get)
    rng = np.random.default_rng(0)
    for k in range(60):
        i, j = sorted(rng.choice(len(ids), 2, replace=False))
        ctx.library.add_feedback(ids[i], preferred_over=ids[j], request_id=f"pair-{k}")  # darker wins


def test_reward_shapes_search_and_ranking(ctx, tiny_embedder) -> None:
    off = synth.run(synth.Input(prompt="soft pad", k=3, seed=7, feedback_weight=1.0, **SMALL), ctx).output
    assert off.reward_version is None and "No reward model" in off.reward_status

    _rate_darker_higher(ctx)
    model = train_reward(ctx.library, tiny_embedder, reward_dir(ctx.config), epochs=100)

    out = synth.run(synth.Input(prompt="soft pad", k=4, seed=7, feedback_weight=1.0, **SMALL), ctx)
    o = out.output
    assert o.reward_version == model.version and "Shaped by" in o.reward_status
    combined = []
    for c, rec in zip(o.candidates, out.sounds):
        assert rec.extra["reward_version"] == model.version
        combined.append(rec.scores[f"cosine:{tiny_embedder.name}"] + 1.0 * rec.scores[f"reward:{model.version}"])
    assert combined == sorted(combined, reverse=True)  # ranked by cosine + weight * reward

    plain = synth.run(synth.Input(prompt="soft pad", k=4, seed=7, feedback_weight=0.0, **SMALL), ctx).output
    assert plain.reward_version is None
    assert all(f"reward:{model.version}" not in r.scores for r in ctx.library.list(limit=4))
