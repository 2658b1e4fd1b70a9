"""LSTMABAR model pieces: front end, attention blocks, losses, metrics, the Embedder interface,
MiniLM verification and (when shipped) the trained weights."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lstmabar.models.embedders.base import Embedder
from lstmabar.models.lstmabar.features import LogMel, mel_filterbank, resample
from lstmabar.models.lstmabar.model import (
    HeadAttention,
    LSTMABARModel,
    ModelConfig,
    count_parameters,
    info_nce,
)
from lstmabar.models.lstmabar.train import archetype_metrics, recall_at

torch.set_num_threads(1)
TINY = ModelConfig(dim=32, attention="classical", widths=(4, 8, 8, 8), head_hidden=16)


def tiny_embedder(attention: str = "classical"):
    from lstmabar.models.lstmabar.embedder import LSTMABAREmbedder

    torch.manual_seed(0)
    cfg = ModelConfig(dim=32, attention=attention, widths=(4, 8, 8, 8), head_hidden=16)
    return LSTMABAREmbedder(LSTMABARModel(cfg), device="cpu")


def test_mel_filterbank_and_logmel():
    fb = mel_filterbank(64, 1024, 16000)
    assert fb.shape == (64, 513)
    assert torch.all(fb >= 0)
    peaks = fb.argmax(1)
    assert torch.all(peaks[1:] >= peaks[:-1])  # filters ordered by frequency
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * math.pi * 1000 * t)[None]
    mel = LogMel()(tone)
    assert mel.shape[:3] == (1, 1, 64)
    band = int(mel[0, 0].mean(-1).argmax())
    centre = float(fb[band].argmax()) * 16000 / 1024
    assert abs(centre - 1000) < 150


def test_resample_keeps_frequency_and_gradient():
    t = torch.arange(48000) / 48000
    x = torch.sin(2 * math.pi * 440 * t)[None].requires_grad_(True)
    y = resample(x, 48000, 16000)
    assert y.shape[-1] == 16000
    spec = torch.fft.rfft(y[0].detach()).abs()
    assert abs(int(spec.argmax()) - 440) <= 1
    y.pow(2).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["quantum", "classical"])
def test_attention_blocks_train_and_match_parameter_count(kind):
    torch.manual_seed(0)
    blk = HeadAttention(kind)
    x = torch.randn(6, 384)
    y = blk(x)
    assert y.shape == x.shape
    # the output projection starts at zero, so the block starts as the identity
    assert torch.allclose(y, x)
    with torch.no_grad():
        blk.out.weight.normal_(0, 0.01)
    blk(x).pow(2).sum().backward()
    assert count_parameters(blk.scorer) == 72
    grads = [p.grad for p in blk.scorer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_info_nce_prefers_aligned_pairs():
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(16, 32), dim=-1)
    scale = torch.tensor(math.log(1 / 0.07))
    aligned = info_nce(a, a, scale)
    shuffled = info_nce(a, a[torch.randperm(16)], scale)
    assert aligned < shuffled
    # pairs sharing a caption group are not counted as negatives
    grouped = info_nce(a, a, scale, group=torch.zeros(16, dtype=torch.long))
    assert grouped < 1e-3


def test_metrics_match_hand_computation():
    true = np.array([[1, 0, 0, 0, 0], [0, 0.5, 0.5, 0, 0]], dtype=float)
    pred = np.array([[0.6, 0.1, 0.1, 0.1, 0.1], [0, 0.2, 0.8, 0, 0]], dtype=float)
    m = archetype_metrics(pred, true)
    assert m["mse"] == pytest.approx(((pred - true) ** 2).mean())
    assert m["top1"] == pytest.approx(0.5)  # second row: argmax 2 vs argmax 1 (tie broken to 1)
    assert m["sine_f1"] == pytest.approx(1.0)
    t = torch.eye(4)
    r = recall_at(t, t)
    assert r[1] == 1.0 and r[10] == 1.0


def test_minilm_digest_is_checked(tmp_path: Path):
    from lstmabar.models.lstmabar.text_encoder import MiniLMUnavailable, verify_minilm

    assert verify_minilm().is_dir()  # the installed package matches the published sha256
    (tmp_path / "model.safetensors").write_bytes(b"not the model")
    with pytest.raises(MiniLMUnavailable, match="sha256"):
        verify_minilm(tmp_path)


def test_embedder_audio_interface_and_gradient():
    emb = tiny_embedder()
    assert isinstance(emb, Embedder)
    x = (0.1 * torch.randn(3, 24000)).requires_grad_(True)
    e = emb.embed_audio(x, 48000)
    assert e.shape == (3, 32)
    assert torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    e[:, 0].sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # an item's vector does not depend on its batch (eval-mode BatchNorm)
    with torch.no_grad():
        assert torch.allclose(emb.embed_audio(x[:1], 48000), e[:1], atol=1e-5)


def test_embedder_text_interface():
    emb = tiny_embedder()
    e = emb.embed_text(["a bright buzzy lead", "soft muted pad"])
    assert e.shape == (2, 32)
    assert torch.allclose(e.norm(dim=-1), torch.ones(2), atol=1e-5)
    preds = emb.predict_text(["a bright buzzy lead", ""])
    assert abs(sum(preds[0].weights.values()) - 1) < 1e-3
    assert not preds[1].in_distribution and preds[1].dominant == "none"


def test_minilm_top_reproduces_minilm_and_trains():
    from lstmabar.models.lstmabar.minilm_top import MiniLMTop
    from lstmabar.models.lstmabar.text_encoder import MiniLM, minilm_dir

    m = MiniLM()
    texts = ["make it velvety please", "a bright buzzy saw lead with a long tail", ""]
    top = MiniLMTop(2).load_pretrained(minilm_dir()).eval()
    h, mask = m.hidden(texts, top.start)
    with torch.no_grad():
        assert torch.allclose(top(h, mask), m.encode(texts), atol=1e-5)  # untuned top == MiniLM itself
        assert not torch.allclose(MiniLMTop(2).eval()(h, mask), m.encode(texts), atol=1e-2)  # the weights matter
        # padding does not leak into the sentence vector
        h1, m1 = m.hidden(texts[:1], top.start)
        assert torch.allclose(top(h1, m1), top(h, mask)[:1], atol=1e-5)
    with pytest.raises(ValueError):
        MiniLMTop(7)
    # a tower that tunes MiniLM reads token states and passes gradients into the tuned layers
    cfg = ModelConfig(dim=32, attention="none", widths=(4, 8, 8, 8), head_hidden=16, tune_layers=1)
    model = LSTMABARModel(cfg)
    model.text.top.load_pretrained(minilm_dir())
    h, mask = m.hidden(texts, model.text.top.start)
    model.encode_text_vectors((h, mask), noise=0.05)[:, 0].sum().backward()
    assert model.text.top.layers[0].query.weight.grad.abs().sum() > 0
    with pytest.raises(TypeError, match="token states"):
        model.encode_text_vectors(m.encode(texts))
    # and the embedder feeds it token states
    from lstmabar.models.lstmabar.embedder import LSTMABAREmbedder

    e = LSTMABAREmbedder(model, device="cpu").embed_text(texts)
    assert e.shape == (3, 32) and torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)


SHIPPED = Path(__file__).resolve().parents[1] / "models" / "lstmabar" / "weights" / "lstmabar.pt"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped weights in this checkout")
def test_shipped_model_knows_its_archetypes():
    from lstmabar.models.embedders import load_embedder
    from lstmabar.models.synth.archetype import render_weights

    emb = load_embedder("lstmabar")
    assert emb.dim == 256
    preds = emb.predict_text(["a pure smooth sine tone", "airy hissy noise", "a bright cutting sawtooth lead"])
    assert [p.dominant for p in preds] == ["sine", "noise", "sawtooth"]
    assert all(p.in_distribution for p in preds)
    for nonsense in emb.predict_text(["what is the capital of France", "1234 5678", "SELECT * FROM users"]):
        assert not nonsense.in_distribution and nonsense.confidence < 0.25
    # audio: pure archetypes rendered by the engine
    audio = np.stack([render_weights(w, sample_rate=44100, seconds=1.5, duration=1.2, midi_f0=57)
                      for w in ([0, 0, 0, 0, 1], [0, 0, 1, 0, 0])])
    pa = emb.predict_audio(audio, 44100)
    assert pa[0].dominant == "noise" and pa[1].dominant in ("sawtooth", "square")
    silent = emb.predict_audio(np.zeros((1, 16000)), 16000)[0]
    assert not silent.in_distribution


def test_training_captions_never_contain_held_out_words():
    import random

    from lstmabar.models.lstmabar.data import (
        ARCH_WORDS,
        caption_clean_strict,
        make_captions,
        word_held_out,
        words_for,
    )

    rng = random.Random(0)
    d = {"bright": "bright", "attack": "plucky", "noisy": "", "decay": "short", "mod": "steady", "reg": "low"}
    for i in range(200):
        t = np.random.default_rng(i).dirichlet(np.full(5, 0.5))
        for cap in make_captions(t, d, rng, held_out=False, n=3, word="muffled"):
            assert caption_clean_strict(cap), cap
        held = make_captions(t, d, rng, held_out=True, n=2)
        assert held and all(not caption_clean_strict(c) for c in held), held
    # "kazoo-like" hides a probe word behind a hyphen: it must count as held out
    assert word_held_out("kazoo-like") and "kazoo-like" not in words_for("sawtooth", False)
    assert all(words_for(a, False) for a in ARCH_WORDS)
