"""The v2 recipe's pieces on tiny models: the full-band front end inside the model and embedder, the
descriptor targets, the directional text pairs, and a few training steps on a synthetic blob whose
checkpoint loads through the normal embedder path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lstmabar.models.lstmabar.embedder import LSTMABAREmbedder, load_lstmabar_embedder
from lstmabar.models.lstmabar.model import LSTMABARModel, ModelConfig
from lstmabar.models.lstmabar.train_v2 import DESCRIPTORS, descriptor_vector, direction_pairs, pool

TINY = dict(dim=32, attention="none", widths=(4, 8, 8, 8), head_hidden=16, front_end="full", mel_pool=2)


def _tone(f: float, sr: int, seconds: float = 1.0, harmonics: int = 1) -> torch.Tensor:
    t = torch.arange(int(sr * seconds)) / sr
    return sum(torch.sin(2 * math.pi * f * k * t) / k for k in range(1, harmonics + 1)) * 0.3


def test_full_band_model_hears_above_8_khz_and_is_rate_independent():
    torch.manual_seed(0)
    model = LSTMABARModel(ModelConfig(**TINY))
    emb = LSTMABAREmbedder(model, device="cpu")
    assert emb.sample_rate == 44_100
    x44, x48 = _tone(12_000, 44_100), _tone(12_000, 48_000)
    with torch.no_grad():
        e44, e48 = emb.embed_audio(x44, 44_100), emb.embed_audio(x48, 48_000)
        low = emb.embed_audio(_tone(3_000, 44_100), 44_100)
        mel = model.logmel(x44[None], 44_100)
    assert torch.allclose(e44, e48, atol=2e-2)  # the same sound at 44.1 and 48 kHz
    assert not torch.allclose(e44, low, atol=1e-2)
    # a 12 kHz tone lands in the top third of the 128 bands (the 16 kHz front end could not carry it)
    assert int(mel[0, 0].mean(-1).argmax()) > 90
    # the pooled input the tower reads is what train_v2.pool caches
    assert torch.allclose(model.pool(mel)[:, 0].half().float(), pool(mel[:, 0]).float(), atol=1e-2)


def test_v1_checkpoints_keep_their_16_khz_front_end():
    model = LSTMABARModel(ModelConfig(dim=32, attention="none", widths=(4, 8, 8, 8), head_hidden=16))
    emb = LSTMABAREmbedder(model, device="cpu")
    assert emb.sample_rate == 16_000 and model.logmel.n_fft == 1024
    assert ModelConfig.from_dict(ModelConfig().to_dict()).front_end == "v1"  # old checkpoints have no key


def test_descriptor_targets():
    row = {"centroid_hz": 1000.0, "flatness": 0.0, "attack_s": 0.0, "band_sub_db": -10, "band_low_db": -4, "band_low_mid_db": -6,
           "band_mid_db": -8, "band_high_mid_db": -12, "band_presence_db": -20, "band_air_db": -40, "am_depth_db": None}
    v = descriptor_vector(row)
    k = list(DESCRIPTORS)
    assert v[k.index("centroid_hz")] == pytest.approx(3.0)
    assert v[k.index("flatness")] == pytest.approx(-8.0)  # floored before the log
    assert v[k.index("attack_s")] == pytest.approx(-3.0)
    assert math.isnan(v[k.index("am_depth_db")]) and math.isnan(v[k.index("sounding_s")])
    bands = [v[k.index(b)] for b in k if DESCRIPTORS[b] == "shape"]
    assert sum(bands) == pytest.approx(0.0, abs=1e-4)  # level removed, shape kept
    assert bands[1] > bands[0] > bands[-1]
    # a missing band leaves the whole shape unmeasured rather than shifting it
    assert all(math.isnan(x) for x in (descriptor_vector({**row, "band_air_db": None})[k.index(b)] for b in k if DESCRIPTORS[b] == "shape"))


def test_direction_pairs_differ_only_by_the_word():
    pairs = direction_pairs("marimba", "note", "warm")
    assert ("a marimba note, made warm", "a marimba note") in pairs
    assert ("a warm sound", "a sound") in pairs
    for described, anchor in pairs:
        assert "warm" in described and "warm" not in anchor
    assert direction_pairs("organ", "chord", "airy")[1][0] == "an airy sound"


def _synthetic_blob(n: int = 24, frames: int = 44, n_texts: int = 40) -> dict:
    g = torch.Generator().manual_seed(0)
    mels = torch.randn(n, 64, frames, generator=g).half()
    caps = [[i % n_texts, (i + 1) % n_texts] for i in range(n)]
    desc = torch.randn(n, len(DESCRIPTORS), generator=g)
    desc[0, 3] = float("nan")
    return {
        "clip_mels": mels, "clip_caps": caps, "clip_desc": desc,
        "trip_mels": mels.flip(0), "trip_caps": caps, "trip_desc": desc.flip(0),
        "trip_dry": torch.arange(n), "trip_dirs": [[(i % n_texts, (i + 3) % n_texts)] for i in range(n)],
        "trip_words": [[f"w{i % 6}"] for i in range(n)], "trip_effect": ["eq"] * n,
        "v1": {"train": {"mels": mels[:8], "targets": torch.softmax(torch.randn(8, 5, generator=g), -1), "captions": caps[:8]}},
        "texts": [f"text {i}" for i in range(n_texts)],
        "text_vecs": torch.nn.functional.normalize(torch.randn(n_texts, 384, generator=g), dim=-1).half(),
    }


@pytest.mark.slow
def test_a_few_training_steps_give_a_loadable_full_band_checkpoint(tmp_path: Path):
    """train() on a synthetic blob: losses are finite, the audio tower moves, the text tower's tuned
    MiniLM layers stay as the starting checkpoint had them, and the saved file loads as an embedder."""
    from lstmabar.models.lstmabar import train_v2
    from lstmabar.models.lstmabar.embedder import load_checkpoint

    start = LSTMABARModel(ModelConfig(dim=32, attention="none", widths=(4, 8, 8, 8), head_hidden=16, tune_layers=2))
    v1 = tmp_path / "v1.pt"
    torch.save({"config": start.cfg.to_dict(), "state_dict": start.state_dict(), "metrics": {}}, v1)
    blob = _synthetic_blob()
    model, info = train_v2.train(blob, v1, minutes=2, max_steps=4, batch=8, dir_batch=6, widths=(4, 8, 8, 8))
    assert info["steps"] == 4
    assert model.cfg.front_end == "full" and len(model.cfg.descriptors) == len(DESCRIPTORS)
    ref, _ = load_checkpoint(v1)
    top0, top1 = ref.text.top.state_dict(), model.text.top.state_dict()
    assert all(torch.equal(top0[k], top1[k]) for k in top0)
    assert not torch.equal(ref.text.proj[0].weight, model.text.proj[0].weight)
    torch.save({"config": model.cfg.to_dict(), "state_dict": model.state_dict(), "metrics": {}, "train": info}, tmp_path / "lstmabar.pt")
    emb = load_lstmabar_embedder(str(tmp_path / "lstmabar.pt"), device="cpu")
    e = emb.embed_audio(np.random.default_rng(0).standard_normal((2, 44_100)).astype(np.float32) * 0.1, 44_100)
    assert e.shape == (2, 32) and torch.isfinite(e).all()
    assert np.isfinite([h["loss"] for h in info["history"]] or [0.0]).all()


def test_spectral_read_out_starts_as_a_no_op_and_hears_an_eq_tilt():
    torch.manual_seed(0)
    base = LSTMABARModel(ModelConfig(**TINY)).eval()
    skip = LSTMABARModel(ModelConfig(**TINY, spectral_skip=True)).eval()
    missing, unexpected = skip.load_state_dict(base.state_dict(), strict=False)
    assert sorted(missing) == ["audio.spectral.bias", "audio.spectral.weight"] and not unexpected
    mel = torch.randn(3, 1, 64, 40)
    with torch.no_grad():
        assert torch.allclose(base.audio(mel), skip.audio(mel))  # zero-initialised: the same model
        skip.audio.spectral.weight.normal_()
        tilt = torch.linspace(-1, 1, 64)[None, None, :, None]
        moved = skip.audio(mel + tilt) - skip.audio(mel)
        assert moved.norm() > 1.0  # a band-profile change is now a direction in the joint space
    assert ModelConfig.from_dict(ModelConfig(**TINY, spectral_skip=True).to_dict()).spectral_skip


def test_merging_the_bank_twice_does_not_grow_it():
    from lstmabar.models.lstmabar.train_v2 import merge_bank

    base = {"vocab": ["x"], "captions": ["a bright lead"], "caption_vecs": torch.ones(1, 4).half()}
    caps, vecs = ["a marimba note", "a bright lead", "a viola chord"], torch.arange(12.0).view(3, 4)
    once = merge_bank(base, caps, vecs)
    assert once["captions"] == ["a bright lead", "a marimba note", "a viola chord"] and once["vocab"] == ["x"]
    assert torch.equal(once["caption_vecs"][1:].float(), vecs[[0, 2]])
    twice = merge_bank(once, caps, vecs)
    assert twice["captions"] == once["captions"] and twice["caption_vecs"].shape == (3, 4)
