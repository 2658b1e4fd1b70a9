"""The loop, simulated small: a rater with a hidden taste (darker, slower attack) rates generated
sounds through rate_feedback; the reward model retrains after each round; with the reward term on,
the rater's preference for new outputs rises above the same loop with it off, and a rater with the
opposite taste moves the outputs the other way. (The benchmark runs more rounds and seeds.)"""

from __future__ import annotations

import numpy as np
import torch

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from benchmarks.simulated_loop import LoopSettings, SimulatedRater, run_loop, taste_measures
from lstmabar.models.synth.voice import Voice
from lstmabar.tools.base import ModelCache, ToolContext

torch.set_num_threads(1)


def test_taste_measures():
    sr = 16_000
    t = np.arange(sr // 2) / sr
    dark_slow = np.sin(2 * np.pi * 150 * t) * np.minimum(1, t / 0.2)
    bright_fast = np.sign(np.sin(2 * np.pi * 1500 * t)) * np.minimum(1, t / 0.005)
    c, a = taste_measures(np.stack([dark_slow, bright_fast]), sr)
    assert c[0] < 300 < 1500 < c[1]
    assert 0.1 < a[0] < 0.25 and a[1] < 0.02


def _ctx(path) -> ToolContext:
    cfg = Config(output_dir=path)
    return ToolContext(library=SoundLibrary(cfg), config=cfg, models=ModelCache())


def test_loop_moves_outputs_toward_the_raters_taste(tmp_path, tiny_embedder):
    # four rounds (the benchmark's default): with the taste measured by library.descriptors, one round of
    # ratings moves this tiny loop little (round utilities -0.66, -0.65, -0.19, -0.10)
    s = LoopSettings(rounds=4, weight=1.5, evaluations=64, epochs=150, seed=0)
    voice = Voice(sample_rate=s.sample_rate, control_rate=200, seconds=s.seconds)
    likes = SimulatedRater.calibrated(voice, s.sample_rate, sign=1.0)
    dislikes = SimulatedRater.calibrated(voice, s.sample_rate, sign=-1.0)
    runs = {}
    for name, rater, use in [("guided", likes, True), ("control", likes, False), ("opposite", dislikes, True)]:
        ctx = _ctx(tmp_path / name)
        try:
            runs[name] = run_loop(ctx, tiny_embedder, rater, s, use_reward=use)
            fbs = ctx.library.feedback()
            # every judgement went through the store: 6 ratings + 3 pairs per prompt per round
            assert len(fbs) == s.rounds * len(s.prompts) * 9
            assert all(f.rater_id == "simulated" and f.request_id for f in fbs)
        finally:
            ctx.library.close()

    def taste(name):  # the dark/slow rater's utility, per round (round 0 has no model yet)
        return np.array([st.utility for st in runs[name]]) * (1 if name != "opposite" else -1)

    g, c, o = taste("guided"), taste("control"), taste("opposite")
    assert g[0] == c[0] == o[0]  # identical first round: no reward model exists yet
    assert [st.reward_version for st in runs["guided"]] == [None, "v1", "v2", "v3"]
    assert all(st.reward_version is None for st in runs["control"])
    # reward on: later rounds are liked more than the first and than the loop without it
    assert g[1:].mean() > g[0] + 0.3, (g, c)
    assert g[1:].mean() > c[1:].mean() + 0.3, (g, c)
    # the opposite taste pushes the other way (brighter / faster)
    assert o[1:].mean() < c[1:].mean() - 0.1, (o, c)
    dark_g = np.mean([st.centroid_hz for st in runs["guided"][1:]])
    dark_o = np.mean([st.centroid_hz for st in runs["opposite"][1:]])
    assert dark_g < dark_o
