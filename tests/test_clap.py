"""LAION-CLAP embedder, offline: tiny random-weight ClapModel + a small local RoBERTa tokenizer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstmabar.models.clap import loading
from lstmabar.models.transformers_compat import prepare_transformers
from lstmabar.models.clap.audio import FrontEndSettings, features, fit_length, resample
from lstmabar.models.clap.convert import (
    ConversionError,
    config_from_laion_state_dict,
    convert_laion_state_dict,
    hf_to_laion_state_dict,
    laion_to_hf_state_dict,
    REBUILDABLE_HF_KEYS,
)
from lstmabar.models.clap.embedder import ClapEmbedder
from lstmabar.models.clap.tokenizer_check import DegenerateTokenizer, check_text_embeddings, check_tokenizer
from lstmabar.models.embedders import Embedder, EmbedderUnavailable, load_embedder
from tests.test_clap_helpers import degenerate_tokenizer, save_hf_folder, tiny_model, tiny_tokenizer

torch.set_num_threads(1)
SR = 48_000


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("clap")
    model = tiny_model(0)
    tok = tiny_tokenizer(root / "tok")
    folder = save_hf_folder(root / "hf", model, tok)
    return model, tok, folder, root


@pytest.fixture()
def no_fallback_tokenizers(monkeypatch):
    monkeypatch.setattr(loading, "TOKENIZER_FALLBACKS", ())
    monkeypatch.delenv("LSTMABAR_CLAP_TOKENIZER", raising=False)


def _noise(n, seconds, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(n, int(seconds * SR), generator=g)


def _laion_checkpoint(model, *, extras=True):
    """The LAION-layout checkpoint a user would have, as laion-clap saves it."""
    sd = hf_to_laion_state_dict(model.state_dict())
    sd.pop("text_branch.embeddings.position_ids")  # absent from checkpoints loaded the laion-clap 1.1.7 way
    if extras:  # weights a real checkpoint carries that are not used for embeddings
        sd["audio_branch.spectrogram_extractor.stft.conv_real.weight"] = torch.randn(513, 1, 1024)
        sd["audio_branch.logmel_extractor.melW"] = torch.randn(513, 64)
        sd["audio_branch.tscam_conv.weight"] = torch.randn(527, 16, 2, 3)
        sd["audio_branch.head.weight"] = torch.randn(527, 527)
        sd["audio_transform.sequential.0.weight"] = torch.randn(8, 8)
        sd["text_transform.sequential.3.bias"] = torch.randn(8)
        sd["audio_branch.layers.0.blocks.1.attn_mask"] = torch.zeros(64, 64, 64)
    return {"epoch": 45, "state_dict": {"module." + k: v for k, v in sd.items()}}


# ---------------------------------------------------------------------------------------------- front end
@pytest.mark.parametrize("fusion", [False, True])
@pytest.mark.parametrize("seconds", [0.7, 3.3, 10.0])
def test_front_end_matches_feature_extractor(fusion, seconds):
    prepare_transformers()
    from transformers import ClapFeatureExtractor

    s = FrontEndSettings(fusion=fusion)
    x = _noise(1, seconds, seed=int(seconds * 10))[0].numpy()
    ref = ClapFeatureExtractor(**s.feature_extractor_kwargs())(x, sampling_rate=SR, return_tensors="np")["input_features"]
    ours, longer = features(torch.from_numpy(x)[None], s)
    assert ours.shape == ref.shape == (1, 4 if fusion else 1, 1001, 64)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-3)  # dB; float32 vs the extractor's float64
    assert not longer.any()


def test_long_clip_is_centre_cropped_for_unfused():
    prepare_transformers()
    from transformers import ClapFeatureExtractor

    s = FrontEndSettings()
    x = _noise(1, 13.0, seed=3)[0]
    start = (x.shape[0] - s.max_samples) // 2
    centre = x[start : start + s.max_samples].numpy()
    ref = ClapFeatureExtractor(**s.feature_extractor_kwargs())(centre, sampling_rate=SR, return_tensors="np")["input_features"]
    ours, _ = features(x[None], s)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-3)


def test_fused_long_clip_uses_deterministic_fusion():
    s = FrontEndSettings(fusion=True)
    x = _noise(2, 14.0, seed=4)
    f1, longer = features(x, s)
    f2, _ = features(x, s)
    assert f1.shape == (2, 4, 1001, 64) and longer.all()
    assert torch.equal(f1, f2)
    assert not torch.allclose(f1[:, 1], f1[:, 3])  # front and back crops differ


def test_repeat_pad_and_crop_lengths():
    x = torch.arange(1, 301, dtype=torch.float32)[None]  # 300 samples
    y = fit_length(x, 1000)
    assert y.shape == (1, 1000)
    assert torch.equal(y[0, :900], x[0].repeat(3)) and torch.all(y[0, 900:] == 0)
    z = fit_length(torch.arange(1500, dtype=torch.float32)[None], 1000)
    assert torch.equal(z[0], torch.arange(250, 1250, dtype=torch.float32))


def test_resample_preserves_a_tone():
    t = torch.arange(44_100) / 44_100
    y = resample(torch.sin(2 * math.pi * 1000 * t)[None], 44_100, SR)
    assert y.shape == (1, SR)
    ref = torch.sin(2 * math.pi * 1000 * torch.arange(SR) / SR)
    assert (y[0, 500:-500] - ref[500:-500]).abs().max() < 0.01


# ---------------------------------------------------------------------------------------------- embedder
def test_folder_load_and_protocol(tiny, no_fallback_tokenizers):
    model, tok, folder, _ = tiny
    emb = load_embedder(f"clap:{folder}")
    assert isinstance(emb, Embedder) and emb.name == "clap" and emb.dim == 8 and emb.sample_rate == SR
    assert emb.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    t = emb.embed_text(["a dog barking loudly", "soft mellow sine tone", "airy noise texture"])
    a = emb.embed_audio(_noise(3, 2.0), SR)
    for v in (t, a):
        assert v.dtype == torch.float32 and v.shape == (3, 8)
        torch.testing.assert_close(v.norm(dim=-1), torch.ones(3, device=v.device))
    assert emb.embed_text([]).shape == (0, 8)


def test_audio_matches_transformers_reference_pipeline(tiny, no_fallback_tokenizers):
    """Our torch front end + model == ClapFeatureExtractor + ClapModel (clips <= 10 s are deterministic)."""
    prepare_transformers()
    from transformers import ClapFeatureExtractor

    model, tok, folder, _ = tiny
    emb = load_embedder(f"clap:{folder}")
    x = _noise(3, 4.0, seed=7)
    fe = ClapFeatureExtractor.from_pretrained(str(folder))
    inputs = fe(list(x.numpy()), sampling_rate=SR, return_tensors="pt")
    with torch.no_grad():
        ref = model.get_audio_features(input_features=inputs["input_features"].float()).pooler_output
        ref_t = model.get_text_features(**tok(["a dog barking loudly", "airy noise texture"], padding=True, return_tensors="pt")).pooler_output
    torch.testing.assert_close(emb.embed_audio(x, SR).cpu(), torch.nn.functional.normalize(ref, dim=-1), atol=1e-4, rtol=0)
    torch.testing.assert_close(emb.embed_text(["a dog barking loudly", "airy noise texture"]).cpu(),
                               torch.nn.functional.normalize(ref_t, dim=-1), atol=1e-5, rtol=0)


def test_batching_padding_cropping(tiny):
    model, tok, _, _ = tiny
    emb = ClapEmbedder(model, tok, device="cpu", batch_size=2)
    clips = _noise(5, 3.0, seed=11)
    together = emb.embed_audio(clips, SR)
    one_by_one = torch.cat([emb.embed_audio(c[None], SR) for c in clips])
    torch.testing.assert_close(together, one_by_one, atol=1e-5, rtol=0)
    # repeat-padding: a 2.5 s clip == its own 4x tiling (both become the same 10 s window)
    short = _noise(1, 2.5, seed=12)
    torch.testing.assert_close(emb.embed_audio(short, SR), emb.embed_audio(short.repeat(1, 4), SR), atol=1e-5, rtol=0)
    # cropping: a 16 s clip == its centre 10 s
    long = _noise(1, 16.0, seed=13)
    centre = long[:, 3 * SR : 13 * SR]
    torch.testing.assert_close(emb.embed_audio(long, SR), emb.embed_audio(centre, SR), atol=1e-5, rtol=0)
    # other sample rates are resampled, 1-D input is one clip
    assert emb.embed_audio(_noise(1, 1.0)[0, :22_050], 22_050).shape == (1, 8)


def test_embed_audio_is_differentiable(tiny):
    model, tok, _, _ = tiny
    emb = ClapEmbedder(model, tok, device="cpu")
    x = _noise(2, 1.5, seed=5).requires_grad_(True)
    target = emb.embed_text(["bright harsh buzzy square synth"])
    loss = (1 - emb.embed_audio(x, SR) @ target.T).mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with torch.no_grad():
        assert not emb.embed_audio(x, SR).requires_grad


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 decision needs CUDA")
def test_fp16_only_within_tolerance(tiny):
    model, tok, _, _ = tiny
    emb = ClapEmbedder(model, tok, device="cuda")
    assert emb.fp16_cosine_error is not None
    assert emb.fp16 == (emb.fp16_cosine_error <= 1e-3)


# ---------------------------------------------------------------------------------------------- conversion
def test_conversion_maps_every_key(tiny):
    model, _, _, _ = tiny
    ckpt = _laion_checkpoint(model)
    from lstmabar.models.clap.convert import unwrap_checkpoint

    hf_sd, dropped, unmapped = laion_to_hf_state_dict(unwrap_checkpoint(ckpt))
    target = model.state_dict()
    assert unmapped == []
    assert set(hf_sd) == {k for k in target if not REBUILDABLE_HF_KEYS.match(k)}
    assert len(dropped) == 7
    for k, v in hf_sd.items():
        assert torch.equal(v, target[k]), k
    cfg = config_from_laion_state_dict(unwrap_checkpoint(ckpt))
    assert cfg.audio_config.depths == [1, 2] and cfg.audio_config.num_attention_heads == [1, 2]
    assert cfg.audio_config.patch_embeds_hidden_size == 8 and cfg.text_config.num_hidden_layers == 2


@pytest.mark.parametrize("fusion", [False, True])
def test_pt_checkpoint_roundtrip_gives_equal_outputs(tmp_path, fusion, no_fallback_tokenizers):
    model = tiny_model(1, fusion=fusion)
    tok = tiny_tokenizer(tmp_path)  # vocab.json + merges.txt next to the .pt
    pt = tmp_path / "630k-audioset-best.pt"
    torch.save(_laion_checkpoint(model), pt)
    emb = load_embedder(f"clap:{pt}")
    assert "converted" in emb.source and emb.settings.fusion == fusion
    ref = ClapEmbedder(model, tok, device="cpu")
    texts = ["a dog barking loudly", "this sound is not warm"]
    torch.testing.assert_close(emb.embed_text(texts).cpu(), ref.embed_text(texts), atol=1e-6, rtol=0)
    clips = torch.cat([_noise(1, 3.0, seed=21), _noise(1, 12.0, seed=22)[:, : 3 * SR]])
    torch.testing.assert_close(emb.embed_audio(clips, SR).cpu(), ref.embed_audio(clips, SR), atol=1e-6, rtol=0)
    long = _noise(2, 12.0, seed=23)  # fused models take the fusion branch here
    torch.testing.assert_close(emb.embed_audio(long, SR).cpu(), ref.embed_audio(long, SR), atol=1e-6, rtol=0)
    # and the converted weights are bit-identical
    conv = emb.model.state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(conv[k].cpu(), v), k


def test_conversion_refuses_dropped_or_misnamed_weights(tiny):
    model, _, _, _ = tiny
    sd = _laion_checkpoint(model, extras=False)["state_dict"]
    missing = {k: v for k, v in sd.items() if k != "module.audio_branch.layers.1.blocks.0.mlp.fc2.weight"}
    with pytest.raises(ConversionError, match="missing"):
        convert_laion_state_dict(missing)
    misnamed = dict(missing)
    misnamed["module.audio_branch.layers.1.blocks.0.mlp.fc_2.weight"] = sd["module.audio_branch.layers.1.blocks.0.mlp.fc2.weight"]
    with pytest.raises(ConversionError, match="no transformers equivalent"):
        convert_laion_state_dict(misnamed)
    with pytest.raises(ConversionError, match="not an original LAION"):
        convert_laion_state_dict(model.state_dict())


# ---------------------------------------------------------------------------------------------- refusals
def test_degenerate_tokenizer_is_refused(tmp_path, tiny, no_fallback_tokenizers):
    model, _, _, _ = tiny
    bad = degenerate_tokenizer(tmp_path / "badtok")
    assert len({tuple(bad(t)["input_ids"]) for t in ["a dog", "rain on a window"]}) == 1  # the trap itself
    with pytest.raises(DegenerateTokenizer):
        check_tokenizer(bad)
    folder = save_hf_folder(tmp_path / "hf_bad", model, bad)
    with pytest.raises(DegenerateTokenizer, match="tokenizer"):
        load_embedder(f"clap:{folder}")


def test_degenerate_tokenizer_skipped_for_a_good_fallback(tmp_path, tiny, monkeypatch):
    model, _, folder_good, root = tiny
    monkeypatch.setattr(loading, "TOKENIZER_FALLBACKS", ())
    folder = save_hf_folder(tmp_path / "hf_bad", model, degenerate_tokenizer(tmp_path / "badtok"))
    monkeypatch.setenv("LSTMABAR_CLAP_TOKENIZER", str(root / "tok"))
    emb = load_embedder(f"clap:{folder}")
    assert emb.tokenizer_source == str(root / "tok")


def test_identical_text_embeddings_are_refused(tmp_path, tiny, no_fallback_tokenizers):
    _, tok, _, _ = tiny
    model = tiny_model(2)
    with torch.no_grad():
        model.text_projection.linear2.weight.zero_()  # every prompt -> the same vector (the bias)
        model.text_projection.linear2.bias.normal_()
    folder = save_hf_folder(tmp_path / "hf_flat", model, tok)
    with pytest.raises(DegenerateTokenizer, match="same vector"):
        load_embedder(f"clap:{folder}")
    with pytest.raises(DegenerateTokenizer):
        check_text_embeddings(lambda texts: torch.ones(len(texts), 4))
    with pytest.raises(DegenerateTokenizer, match="zero"):
        check_text_embeddings(lambda texts: torch.zeros(len(texts), 4))
    check_text_embeddings(lambda texts: torch.eye(len(texts), 4))  # distinct vectors pass


def test_offline_missing_model_names_what_to_put_where(monkeypatch):
    monkeypatch.delenv("LSTMABAR_CLAP_PATH", raising=False)
    with pytest.raises(EmbedderUnavailable) as err:
        load_embedder("clap:lstmabar-tests/no-such-clap-model", allow_downloads=False)
    msg = str(err.value)
    assert "LSTMABAR_CLAP_PATH" in msg and "models--lstmabar-tests--no-such-clap-model" in msg and "LSTMABAR_ALLOW_DOWNLOADS" in msg
    with pytest.raises(EmbedderUnavailable, match="neither an existing file"):
        load_embedder("clap:/no/such/path.pt")


def test_hub_id_loads_from_local_cache_offline(tmp_path, tiny, monkeypatch, no_fallback_tokenizers):
    """A hub id resolves from the Hugging Face cache with downloads off (the common offline user setup)."""
    import shutil

    import huggingface_hub.constants as hf_constants

    _, _, folder, _ = tiny
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--lstmabar-tests--tiny-clap"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = load_embedder("clap:lstmabar-tests/tiny-clap", allow_downloads=False)
    assert emb.source == "hub lstmabar-tests/tiny-clap" and emb.tokenizer_source == "lstmabar-tests/tiny-clap"
    assert emb.load_notes[0] == "lstmabar-tests/tiny-clap feature extractor" and emb.settings.f_min == 50.0
    ref = load_embedder(f"clap:{folder}")
    x = _noise(2, 2.0, seed=31)
    torch.testing.assert_close(emb.embed_audio(x, SR), ref.embed_audio(x, SR))


def test_default_source_comes_from_environment(tiny, monkeypatch, no_fallback_tokenizers):
    _, _, folder, _ = tiny
    monkeypatch.setenv("LSTMABAR_CLAP_PATH", str(folder))
    assert load_embedder("clap").source == f"folder {folder}"


def test_int16_quantisation_only_when_asked(tiny):
    model, tok, _, _ = tiny
    x = _noise(1, 1.0, seed=41)
    q = torch.round(x.clamp(-1, 1) * 32767) / 32767
    plain = ClapEmbedder(model, tok, device="cpu")
    quant = ClapEmbedder(model, tok, device="cpu", quantize=True)
    f_plain, _ = plain.features(x, SR)
    f_quant, _ = quant.features(x, SR)
    f_ref, _ = plain.features(q, SR)
    assert not torch.equal(f_plain, f_quant)
    torch.testing.assert_close(f_quant, f_ref)
