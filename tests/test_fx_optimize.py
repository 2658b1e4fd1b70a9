"""The effect menu and the Text2FX optimiser, with the fast fake embedder."""

from __future__ import annotations

import numpy as np
import pedalboard
import torch

from lstmabar.models.fx.chain import (
    chain_slots,
    default_chain,
    neutral_normalized,
    pedalboard_code,
    physical_settings,
    settings_to_normalized,
    strength_from_prompt,
)
from lstmabar.models.fx.optimize import loudest_excerpt, optimize_chain
from lstmabar.models.fx.render import render

torch.set_num_threads(1)
SR = 16000


def _tone(seconds=1.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_default_chain_from_prompt():
    assert default_chain("brighter and a bit roomier") == ["eq", "reverb"]
    assert default_chain("make it punchy") == ["compressor"]
    assert default_chain("warmer") == ["eq"]
    assert default_chain("something else entirely") == ["eq"]
    assert default_chain("distant echo") == ["delay", "reverb"]


def test_strength_words():
    assert strength_from_prompt("a bit brighter") < strength_from_prompt("brighter") < strength_from_prompt("much brighter")


def test_neutral_settings_leave_audio_unchanged():
    x = _tone()
    for chain in (["eq"], ["gain"], ["reverb"], ["delay"], ["chorus"], ["compressor"], ["eq", "reverb", "compressor"]):
        y = render(chain, neutral_normalized(chain), x[None], SR)[0]
        assert np.max(np.abs(y - x)) < 1e-3, chain


def test_settings_roundtrip_and_code_rebuilds_chain():
    chain = ["highpass", "eq", "compressor", "reverb"]
    x = np.random.default_rng(3).uniform(0.1, 0.9, len(chain_slots(chain)))
    settings = physical_settings(chain, x, 44100)
    back = settings_to_normalized(chain, settings)
    assert np.allclose(back, x, atol=1e-4)
    code = pedalboard_code(settings, 44100)
    ns: dict = {}
    exec(code.split("from pedalboard.io")[0] + "\n" + code.split("\n\n", 1)[1].split("with AudioFile")[0], ns)
    audio = _tone(0.5, 44100)[None]
    assert np.allclose(ns["board"](audio, 44100), render(chain, x, audio, 44100), atol=1e-5)
    assert all(isinstance(p, pedalboard.Plugin) for p in ns["board"])


def test_loudest_excerpt():
    x = np.zeros(10 * SR, np.float32)
    x[6 * SR : 7 * SR] = 1.0
    a, b = loudest_excerpt(x, SR, 2.0)
    assert b - a == 2 * SR and a <= 6 * SR and b >= 7 * SR


def test_eq_optimisation_lowers_cosine_loss(tiny_embedder):
    r = optimize_chain(["eq"], _tone(), SR, tiny_embedder, "bright", loss="cosine", steps=15, strength=1.0)
    assert r.adam_steps == 15 and r.es_evaluations == 0
    assert r.loss_after < r.loss_before
    assert len(r.history) == 15


def test_strength_bounds_and_orders_the_change(tiny_embedder):
    slots = chain_slots(["eq"])
    gains = np.array([s.param.name == "gain_db" for s in slots])
    moved = {}
    for s in (0.1, 1.0):
        r = optimize_chain(["eq"], _tone(), SR, tiny_embedder, "bright", loss="cosine", steps=20, strength=s)
        dev = np.abs(r.normalized - r.start)[gains]
        assert dev.max() <= s + 1e-6
        moved[s] = dev.max()
    assert moved[1.0] > moved[0.1]


def test_mixed_chain_runs_cma_and_adam(tiny_embedder):
    chain = ["eq", "reverb"]
    r = optimize_chain(chain, np.pad(_tone(0.5), (0, SR // 2)), SR, tiny_embedder, "roomy", steps=4, generations=2, population=4, strength=0.5)
    assert r.generations == 2 and r.es_evaluations == 8 and r.adam_steps == 4
    slots = chain_slots(chain)
    wet = [i for i, s in enumerate(slots) if s.param.name == "wet_level"][0]
    assert 0.0 <= r.normalized[wet] <= 0.5 + 1e-9
    assert np.isfinite(r.loss_after)


def test_start_point_is_respected(tiny_embedder):
    chain = ["eq"]
    start = neutral_normalized(chain)
    start[1] = 0.9  # low shelf gain +9.6 dB
    r = optimize_chain(chain, _tone(), SR, tiny_embedder, "bright", steps=1, strength=0.05)
    r2 = optimize_chain(chain, _tone(), SR, tiny_embedder, "bright", steps=1, strength=0.05, start=start)
    assert abs(r2.normalized[1] - 0.9) <= 0.05 + 1e-9
    assert abs(r.normalized[1] - 0.5) <= 0.05 + 1e-9
