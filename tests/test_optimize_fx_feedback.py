"""optimize_fx with a reward model trained from stored ratings (feedback_weight)."""

from __future__ import annotations

import numpy as np
import soundfile as sf
import torch

from lstmabar.library.audio_input import AudioInput
from lstmabar.library.descriptors import describe_batch
from lstmabar.models.reward.features import params_features
from lstmabar.models.reward.registry import reward_dir
from lstmabar.models.reward.train import train_reward
from lstmabar.tools.optimize_fx import Input, fx_params, run

torch.set_num_threads(1)
SR = 16_000


def _noise_wav(tmp_path) -> str:
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    p = tmp_path / "noise.wav"
    sf.write(p, x, SR)
    return str(p)


def test_reward_enters_the_loss_and_is_recorded(ctx, tmp_path) -> None:
    src = _noise_wav(tmp_path)
    off = run(Input(audio=AudioInput(path=src), prompt="warmer", chain=["eq"], iterations=3, feedback_weight=1.0), ctx).output
    assert off.reward_version is None and "No reward model" in off.reward_status

    made = []
    for i, prompt in enumerate(["brighter", "darker", "thinner", "fuller", "muffled", "crisp"]):
        made.append(run(Input(audio=AudioInput(path=src), prompt=prompt, chain=["eq"], iterations=6, seed=i, strength=1.0), ctx).sounds[0])
    cen = {r.id: float(describe_batch(ctx.library.read(r.id).mono(), SR)["centroid_hz"][0]) for r in made}
    ids = sorted(cen, key=cen.get)
    k = 0
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            ctx.library.add_feedback(ids[i], preferred_over=ids[j], request_id=f"p{k}")  # darker wins
            k += 1
    model = train_reward(ctx.library, ctx.models._items["embedder:lstmabar"], reward_dir(ctx.config), epochs=100)

    # Text2FX alone: with method "both" a word the crowd knows well ("warmer") holds the search near the
    # crowd's settings, which is the point of the prior, so the reward's pull is checked without it. A
    # generous budget: on a loaded machine the default one can stop both searches before their first step.
    plain = run(Input(audio=AudioInput(path=src), prompt="warmer", chain=["eq"], iterations=6, seed=3, method="text2fx", time_budget_s=600), ctx)
    guided = run(Input(audio=AudioInput(path=src), prompt="warmer", chain=["eq"], iterations=6, seed=3, method="text2fx", time_budget_s=600, feedback_weight=5.0), ctx)
    g = guided.output
    assert g.reward_version == model.version and "Shaped by" in g.reward_status
    assert guided.sounds[0].extra["reward_version"] == model.version
    assert plain.output.reward_version is None
    stored = guided.sounds[0].params["fx"]
    assert not np.allclose(stored["normalized"], plain.sounds[0].params["fx"]["normalized"])  # the reward moved it

    # the features scored during the search are the features the reward model reads from the store
    rec = guided.sounds[0]
    in_flight = params_features({"fx": fx_params(["eq"], np.array(stored["normalized"]), SR, stored["strength"])})
    assert torch.allclose(in_flight, params_features(rec.params, rec.extra), atol=1e-4)
