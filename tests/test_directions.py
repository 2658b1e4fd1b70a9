"""Same-note directional batches (models/lstmabar/directions.py): the spectral EQ path agrees with
pedalboard, soft targets follow the measured changes, the pairwise test scores what it should, and a
few training steps with same-note batches run and report their direction checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lstmabar.models.lstmabar.corpus.effects import apply_effect, load_contributions, word_means
from lstmabar.models.lstmabar.directions import (
    SameNoteBatcher, change_map, eq_power_response, filtered, pairwise_accuracy, soft_info_nce,
)
from lstmabar.models.lstmabar.features import FullBandLogMel

SR = 44_100


def _notes(n: int = 3, seconds: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(SR * seconds)) / SR
    out = []
    for i in range(n):
        f = 110.0 * 2 ** (i * 7 / 12)
        x = sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 30) if f * k < 18_000)
        x = x * np.exp(-2 * t) + 0.02 * rng.standard_normal(len(t))
        out.append(0.4 * x / np.abs(x).max())
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="module")
def means() -> dict:
    c = load_contributions()
    return {e: word_means(c, e) for e in ("eq", "reverb", "compressor")}


def test_spectral_eq_agrees_with_pedalboard(means):
    """The fast path training uses (STFT power times the chain's measured response) gives the change
    pedalboard's own filtering gives, and tells two different words' curves apart as pedalboard does."""
    front = FullBandLogMel()
    audio = _notes(1)
    power = front.power(torch.from_numpy(audio))
    dry = front.from_power(power)
    words = ["bright", "warm"]
    h2 = torch.stack([torch.from_numpy(eq_power_response(means["eq"][w][0], 0.5, front.n_fft, SR)) for w in words])
    spectral = change_map(front.from_power(filtered(power[0], h2)), dry)
    real = torch.cat([change_map(front(torch.from_numpy(apply_effect("eq", means["eq"][w][0], 0.5, audio[0], SR)[None])), dry)
                      for w in words])
    cos = torch.nn.functional.cosine_similarity(spectral[:, None], real[None], dim=-1)  # (spectral word, pedalboard word)
    assert cos[0, 0] > 0.9 and cos[1, 1] > 0.9
    assert float((spectral - real).abs().mean()) < 0.05  # log10 power: under 0.5 dB on average, level included
    assert cos[0, 1] < cos[0, 0] - 0.3 and cos[1, 0] < cos[1, 1] - 0.3


def test_pairwise_accuracy_scores_aligned_reversed_and_per_note_directions():
    g = torch.Generator().manual_seed(0)
    da = torch.randn(6, 4, 16, generator=g) + 3 * torch.randn(6, 1, 16, generator=g)  # a word-specific change plus noise
    assert pairwise_accuracy(da, da.mean(1)) > 0.9
    assert pairwise_accuracy(da, -da.mean(1)) < 0.1
    assert pairwise_accuracy(da, da) == 1.0  # per-note text directions equal to the changes
    per = pairwise_accuracy(da, torch.randn(6, 16, generator=g), per_word=True)
    assert per.shape == (6,) and 0.0 <= float(per.min()) <= float(per.max()) <= 1.0


def test_batches_hold_one_effect_on_one_note_with_soft_targets(means):
    small = {e: dict(sorted(m.items(), key=lambda kv: -kv[1][1])[:6]) for e, m in means.items()}
    batcher = SameNoteBatcher(_notes(3), SR, small, {"eq": (0.5,), "reverb": (1.0,), "compressor": (1.0,)},
                              rng=np.random.default_rng(0))
    for effect in ("eq", "reverb"):
        g = batcher.sample(2, 3, effect)
        assert g.effect == effect and g.dry.shape[0] == 2 and g.wet.shape[:2] == (2, 3)
        assert g.wet.shape[2:] == g.dry.shape[1:] and len(g.note_index) == 2
        assert all(len(set(ws)) == 3 and set(ws) <= set(small[effect]) for ws in g.words)
        assert torch.allclose(g.target.sum(-1), torch.ones(2, 3), atol=1e-5)
        assert (torch.diagonal(g.target, dim1=1, dim2=2) >= g.target.max(-1).values - 1e-6).all()
    eq = batcher.sample(1, 3, "eq")
    assert float(eq.target[0].diagonal().mean()) > 0.5  # distinct EQ curves: nearly one-hot


def test_soft_info_nce_prefers_matching_directions():
    g = torch.Generator().manual_seed(1)
    a = torch.nn.functional.normalize(torch.randn(2, 4, 8, generator=g), dim=-1)
    target = torch.eye(4).expand(2, 4, 4)
    scale = torch.tensor(2.0)
    assert soft_info_nce(a, a, target, scale) < soft_info_nce(a.flip(1), a, target, scale) - 0.5


@pytest.mark.slow
def test_training_steps_with_same_note_batches(tmp_path: Path, means):
    from lstmabar.models.lstmabar import train_v2
    from lstmabar.models.lstmabar.model import LSTMABARModel, ModelConfig

    from .test_lstmabar_v2 import _synthetic_blob

    start = LSTMABARModel(ModelConfig(dim=32, attention="none", widths=(4, 8, 8, 8), head_hidden=16, tune_layers=2))
    v1 = tmp_path / "v1.pt"
    torch.save({"config": start.cfg.to_dict(), "state_dict": start.state_dict(), "metrics": {}}, v1)
    small = {e: dict(sorted(m.items(), key=lambda kv: -kv[1][1])[:5]) for e, m in means.items()}
    val = {e: dict(sorted(m.items(), key=lambda kv: -kv[1][1])[5:7]) for e, m in means.items()}
    notes = _notes(3)
    same = {"batcher": SameNoteBatcher(notes, SR, small, {"eq": (0.5,), "reverb": (1.0,), "compressor": (1.0,)}, rng=np.random.default_rng(0)),
            "names": [("piano", "note")] * 3, "val_audio": notes[:2], "val_names": [("piano", "note"), ("organ", "note")],
            "val_words": val, "train_words": small, "sample_rate": SR}
    model, info = train_v2.train(_synthetic_blob(), v1, minutes=2, max_steps=3, batch=8, dir_batch=6, widths=(4, 8, 8, 8),
                                 same=same, same_k=3, same_groups=2)
    assert info["steps"] == 3 and info["same_note"] == {"k": 3, "groups": 2, "w": 2.0}
    for key in ("direction_check_before", "direction_check_after"):
        assert {"seen_eq", "val_eq", "name_top1"} <= set(info[key])
        assert all(0.0 <= v <= 1.0 for v in info[key].values())
