"""predict_archetypes tool: text, batch, audio, both; empty/nonsense/silent inputs; library records."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from lstmabar.library.audio_input import AudioInput
from lstmabar.library.audio_io import encode_wav
from lstmabar.library.errors import ToolError
from lstmabar.tools import predict_archetypes as tool

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def emb():
    from lstmabar.models.lstmabar.embedder import LSTMABAREmbedder
    from lstmabar.models.lstmabar.model import LSTMABARModel, ModelConfig

    torch.manual_seed(0)
    e = LSTMABAREmbedder(LSTMABARModel(ModelConfig(dim=32, attention="classical", widths=(4, 8, 8, 8), head_hidden=16)), device="cpu")
    vocab = ["bright", "dark", "soft", "harsh", "airy", "noise", "sine", "square", "tone", "sound", "warm"]
    caps = ["a bright tone", "a soft warm sound", "airy noise", "a harsh square tone"]
    e.bank = {"vocab": vocab, "vocab_vecs": e.sentence_vectors(vocab).cpu(), "captions": caps,
              "caption_vecs": e.sentence_vectors(caps).cpu()}
    return e


@pytest.fixture()
def ctx(tool_ctx, emb):
    tool_ctx.models._items["embedder:lstmabar"] = emb
    return tool_ctx


def test_text_prediction_renders_and_stores(ctx):
    out = tool.run(tool.Input(text="a soft, warm tone", seconds=1.0), ctx)
    (p,) = out.output.predictions
    assert set(p.weights) == {"sine", "square", "sawtooth", "triangle", "noise"}
    assert sum(p.weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert p.dominant == max(p.weights, key=p.weights.get)
    assert p.in_distribution and 0 <= p.confidence <= 1
    assert p.sound is not None and out.sounds and out.audio_previews
    rec = ctx.library.get(p.sound.id)
    assert rec.tool == "predict_archetypes"
    assert rec.params["archetype_engine"]["weight.sine"]["value"] == pytest.approx(p.weights["sine"], abs=1e-3)
    audio = ctx.library.read(p.sound.id)
    assert audio.sample_rate == 48000 and audio.frames == 48000


def test_batch_empty_and_nonsense(ctx):
    out = tool.run(tool.Input(texts=["bright harsh sound", "", "qzxv blorptang wuggle"], render=True, seconds=0.5), ctx)
    p = out.output.predictions
    assert len(p) == 3
    assert p[0].in_distribution and p[0].sound is not None
    assert not p[1].in_distribution and p[1].sound is None and "empty" in p[1].note
    assert not p[2].in_distribution and p[2].sound is None and p[2].confidence < 0.25
    assert "no prediction" in out.summary
    assert ctx.library.count() == 1  # only the usable prediction was rendered and stored


def test_audio_and_both(ctx):
    from lstmabar.models.synth.archetype import render_weights

    y = render_weights([0, 0, 0, 0, 1], sample_rate=16000, seconds=1.0, duration=0.8)
    b64 = base64.b64encode(encode_wav(y, 16000)).decode()
    out = tool.run(tool.Input(audio=AudioInput(base64=b64), render=False), ctx)
    (p,) = out.output.predictions
    assert p.in_distribution and p.sound is None
    rec = ctx.library.add(y, 16000, tool="test")
    out = tool.run(tool.Input(audio=AudioInput(sound_id=rec.id), text="airy noise", seconds=0.5), ctx)
    (p,) = out.output.predictions
    assert p.in_distribution and p.sound is not None
    assert ctx.library.get(p.sound.id).parents == [rec.id]


def test_silent_audio_is_reported(ctx):
    silent = np.zeros(16000, dtype=np.float32)
    b64 = base64.b64encode(encode_wav(silent, 16000)).decode()
    out = tool.run(tool.Input(audio=AudioInput(base64=b64)), ctx)
    (p,) = out.output.predictions
    assert not p.in_distribution and "silent" in p.note and p.sound is None


def test_bad_requests(ctx):
    with pytest.raises(ToolError):
        tool.run(tool.Input(), ctx)
    with pytest.raises(ToolError):
        tool.run(tool.Input(texts=["a", "b"], audio=AudioInput(base64="AAAA")), ctx)


def test_spec():
    assert tool.TOOL.name == "predict_archetypes"
    assert tool.TOOL.input_model is tool.Input
