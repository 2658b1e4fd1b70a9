"""match_sound: CREPE pitch, metrics, networks, refinement, the matcher and the tool."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from lstmabar.library.audio_input import AudioInput  # noqa: E402
from lstmabar.library.audio_io import encode_wav  # noqa: E402
from lstmabar.library.errors import ToolCancelled, ToolError  # noqa: E402
from lstmabar.models.matching import features, metrics  # noqa: E402
from lstmabar.models.matching.data import Pool, toy_spec  # noqa: E402
from lstmabar.models.matching.networks import build, count_params  # noqa: E402
from lstmabar.models.matching.pitch import estimate_pitch, hz_to_midi  # noqa: E402
from lstmabar.models.matching.refine import cma_refine, random_search  # noqa: E402

SR = 48_000


def tone(f: float, kind: str = "saw", seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = np.sin(2 * np.pi * f * t) if kind == "sine" else 2 * ((f * t) % 1.0) - 1
    return (0.3 * x).astype(np.float32)


# ------------------------------------------------------------------ pitch
@pytest.mark.parametrize("f0,kind", [(65.4, "saw"), (220.0, "sine"), (440.0, "saw"), (987.8, "sine")])
def test_crepe_recovers_pitch_of_tones(f0, kind):
    est = estimate_pitch(tone(f0, kind), SR)
    assert est.f0_hz is not None
    assert abs(hz_to_midi(est.f0_hz) - hz_to_midi(f0)) < 0.25  # within 25 cents
    assert est.confidence > 0.5 and est.voiced_fraction > 0.9


def test_crepe_finds_no_pitch_in_noise():
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.2
    est = estimate_pitch(x, SR)
    assert est.f0_hz is None or est.voiced_fraction < 0.3


# ------------------------------------------------------------------ metrics and features
def test_metrics_zero_for_identical_and_level_invariant():
    x = tone(220.0)
    m = metrics.all_metrics(x, x, SR)
    assert m["spectral_convergence"] < 1e-6 and m["mr_stft"] < 1e-4 and m["mfcc_l1"] < 1e-3
    assert metrics.spectral_convergence(x, 0.1 * x) < 1e-6
    other = metrics.all_metrics(x, tone(330.0), SR)
    assert other["spectral_convergence"] > 0.5 and other["mr_stft"] > 0.5 and other["log_spectral_distance_db"] > 3


def test_mr_stft_torch_orders_candidates():
    x = torch.from_numpy(tone(220.0, sr=16_000))
    cands = torch.stack([x, torch.from_numpy(tone(225.0, sr=16_000)), torch.from_numpy(tone(500.0, sr=16_000))])
    loss = metrics.mr_stft_torch(x, cands)
    assert loss[0] < loss[1] < loss[2]


def test_log_mel_shape_and_level_invariance():
    x = torch.from_numpy(tone(300.0, sr=16_000, seconds=1.0))[None]
    f = features.log_mel(x)
    assert f.shape == (1, 1, features.N_MELS, features.NUM_FRAMES)
    assert torch.allclose(f, features.log_mel(0.05 * x), atol=1e-4)
    assert float(f.max()) == pytest.approx(1.0, abs=1e-5)


# ------------------------------------------------------------------ networks and training loop
@pytest.mark.parametrize("arch", ["ast", "mlp", "cnn"])
def test_networks_output_normalised_params(arch):
    net = build(arch, 16).eval()
    out = net(torch.randn(3, 1, features.N_MELS, features.NUM_FRAMES))
    out = out.detach()
    assert out.shape == (3, 16) and float(out.min()) >= 0 and float(out.max()) <= 1
    assert count_params(net) * 2 < 30e6  # float16 weights under 30 MB


def test_training_loop_saves_and_loads(tmp_path):
    from lstmabar.models.matching.matcher import load_network
    from lstmabar.models.matching.train import save, train_one, validation_set

    spec = toy_spec()
    pool = Pool(spec, 96, seed=1, chunk=32)
    val = validation_set(spec, 32, seed=5)
    model, stats = train_one("cnn", pool, val, steps=3, batch=16, lr=1e-3, device=torch.device("cpu"), log=lambda m: None, arch_kwargs={"width": 8})
    assert stats["steps"] == 3 and np.isfinite(stats["val_mse"])
    save(model, "cnn", spec, stats, tmp_path)
    loaded, blob = load_network("toy", "cnn", tmp_path)
    x = pool.feats[:4]
    assert torch.allclose(loaded(x), model(x), atol=2e-2)
    assert blob["param_names"] == list(spec.param_names)


# ------------------------------------------------------------------ refinement
def test_cma_refine_improves_and_never_worsens():
    spec = toy_spec()
    truth = torch.tensor([0.5, 0.6, 0.8, 0.2, 0.1, 0.1, 0.5, 0.3])
    target = spec.render(truth[None], 0)[0]
    start = (truth + torch.tensor([0.0, 0.2, -0.4, 0.4, 0.2, 0.3, 0.0, 0.0])).clamp(0, 1)
    res = cma_refine(spec.render, target, start, budget_s=30, population=8, fixed={0: 0.5}, max_generations=15, seed=0)
    assert res.loss <= res.start_loss
    assert res.loss < 0.8 * res.start_loss
    assert float(res.params[0]) == pytest.approx(0.5)
    assert all(b >= a for a, b in zip(res.history[1:], res.history[:-1]))  # best-so-far is monotone


def test_random_search_respects_budget_and_fixed():
    spec = toy_spec()
    target = spec.render(torch.full((1, 8), 0.5), 0)[0]
    res = random_search(spec.render, target, spec.sample, budget_s=0.0, population=4, fixed={0: 0.25})
    assert res.generations == 1 and res.evaluations == 4 and float(res.params[0]) == pytest.approx(0.25)


# ------------------------------------------------------------------ the matcher on the real synths
def test_matcher_sets_note_from_crepe():
    from lstmabar.models.matching.matcher import Matcher
    from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

    torch.manual_seed(0)
    m = Matcher("voice", network=build("ast", 16).eval())  # untrained: the note must come from CREPE
    target = tone(261.63, "saw", seconds=1.5)
    res = m.match(target, SR, budget_s=0, refine=False)
    assert res.pitch_source.startswith("crepe")
    i = PARAM_INDEX["keyboard.midi_f0"]
    midi = VOICE_PARAMS[i].to_physical(float(res.normalized[i]))
    depth = VOICE_PARAMS[PARAM_INDEX["vco_1.mod_depth"]].to_physical(float(res.normalized[PARAM_INDEX["vco_1.mod_depth"]]))
    heard = midi + depth / 2  # the layout's vibrato bends upwards only
    assert 0.0 <= depth <= 1.0 + 1e-4
    assert min((heard - 60.0) % 12, 12 - (heard - 60.0) % 12) < 0.15
    assert len(res.normalized) == 78 and len(res.searched) == 16
    assert VOICE_PARAMS[PARAM_INDEX["vco_2.tuning"]].to_physical(float(res.normalized[PARAM_INDEX["vco_2.tuning"]])) == pytest.approx(0.0, abs=1e-4)
    assert res.audio.shape == (2 * 48_000,) and np.isfinite(res.audio).all()


def test_core_layout_round_trips_and_sounds_like_its_parameters():
    from lstmabar.models.matching.voice_core import CORE_INDEX, core_from_patch, expand, sample_core, voice_core_spec

    g = torch.Generator().manual_seed(3)
    x = sample_core(32, g)
    assert torch.allclose(x[:, 2:5].max(1).values, torch.ones(32))  # loudest mixer source at 1
    back = torch.stack([core_from_patch(p) for p in expand(x)])
    assert (back - x).abs().max() < 1e-4
    spec = voice_core_spec()
    pure = torch.full((2, 16), 0.5)
    pure[:, CORE_INDEX["vibrato.depth"]] = 0.0
    pure[:, CORE_INDEX["adsr_1.sustain"]] = pure[:, CORE_INDEX["adsr_2.sustain"]] = 1.0
    pure[0, 2:5] = torch.tensor([1.0, 0.0, 0.0])  # sine only
    pure[1, 2:5] = torch.tensor([0.0, 1.0, 0.0])  # square-saw only
    a = spec.render(pure, 0).numpy()
    spec_db = [np.abs(np.fft.rfft(s[4000:12000])) for s in a]
    f = np.fft.rfftfreq(8000, 1 / features.FEATURE_SR)

    def share_above(s, hz):
        return float((s[f > hz] ** 2).sum() / (s**2).sum())

    f0 = 440 * 2 ** ((24 + 72 * 0.5 - 69) / 12)
    assert share_above(spec_db[0], 1.5 * f0) < 0.01 < share_above(spec_db[1], 1.5 * f0)


def test_matcher_archetype_finds_weights():
    from lstmabar.models.matching.matcher import Matcher
    from lstmabar.models.synth.archetype import render_weights

    target = render_weights([0.0, 0.0, 1.0, 0.0, 0.0], midi_f0=57, sample_rate=SR, seconds=1.5)
    res = Matcher("archetype").match(target, SR, budget_s=1.0)
    phys = Matcher("archetype").physical(res.normalized)
    assert phys["weight.sawtooth"]["value"] > 0.5
    assert abs(phys["midi_f0"]["value"] - 57) < 0.5
    assert res.metrics["spectral_convergence"] < 0.6 and not res.poor


# ------------------------------------------------------------------ the tool
WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "matching" / "weights"


def _b64(x: np.ndarray, sr: int = SR) -> str:
    return base64.b64encode(encode_wav(x[None, :], sr)).decode()


def test_shipped_weights_small_and_loadable():
    from lstmabar.models.matching.matcher import load_network

    from lstmabar.models.matching.voice_core import CORE_NAMES

    files = sorted(WEIGHTS.glob("*.pt"))
    assert {f.stem for f in files} >= {"voice_core_ast", "voice_core_mlp", "voice_core_cnn"}
    assert sum(f.stat().st_size for f in files) < 30e6
    net, blob = load_network("voice_core", "ast")
    assert blob["stats"]["examples_seen"] > 10_000
    assert tuple(blob["param_names"]) == CORE_NAMES


def test_tool_matches_and_stores_lineage(tool_ctx):
    from lstmabar.tools.match_sound import TOOL, Input

    events = []
    tool_ctx.progress_fn = lambda d, t, m: events.append((d, m))
    tool_ctx.min_progress_interval = 0.0
    inp = Input(audio=AudioInput(base64=_b64(tone(196.0, "saw", 1.2))), time_budget_s=2.0, name="saw G3", synth="voice")
    out = TOOL.run(inp, tool_ctx)
    o = out.output
    assert o.target is not None and o.sound.id != o.target_id
    rec = tool_ctx.library.get(o.sound.id)
    assert o.target_id in rec.parents
    assert tool_ctx.library.get(o.target_id).tool == "import_sound"
    assert len(o.patch) == 78 and all("unit" in v for v in o.patch.values())
    assert len(o.searched) == 16 and all(0.0 <= v <= 1.0 for v in o.searched.values())
    assert o.pitch.f0_hz == pytest.approx(196.0, rel=0.02)
    assert out.images and out.images[0][:4] == b"\x89PNG"
    assert o.refinement["final_mr_stft"] <= o.refinement["start_mr_stft"] + 1e-6
    assert isinstance(o.poor_match, bool) and ("POOR MATCH" in out.summary) == o.poor_match
    done = [d for d, _ in events]
    assert done == sorted(done) and done[-1] >= 95


def test_tool_archetype_returns_weights(tool_ctx):
    from lstmabar.tools.match_sound import TOOL, Input

    src = tool_ctx.library.add(tone(330.0, "sine", 1.0)[None], SR, tool="import_sound")
    out = TOOL.run(Input(audio=AudioInput(sound_id=src.id), synth="archetype", time_budget_s=1.0), tool_ctx)
    o = out.output
    assert o.target is None and o.target_id == src.id
    assert set(o.weights) == {"sine", "square", "sawtooth", "triangle", "noise"}
    assert max(o.weights, key=o.weights.get) in ("sine", "triangle")
    assert src.id in tool_ctx.library.get(o.sound.id).parents


def test_tool_cancel_leaves_no_sound(tool_ctx):
    from lstmabar.tools.match_sound import TOOL, Input

    before = len(tool_ctx.library.list())

    def cancel_on_refine(done, total, message):
        if message and message.startswith("refining"):
            tool_ctx.cancel_event.set()

    tool_ctx.progress_fn = cancel_on_refine
    tool_ctx.min_progress_interval = 0.0
    with pytest.raises(ToolCancelled):
        TOOL.run(Input(audio=AudioInput(base64=_b64(tone(440.0, "saw", 1.0))), time_budget_s=30.0), tool_ctx)
    assert len(tool_ctx.library.list()) == before


def test_tool_rejects_silence(tool_ctx):
    from lstmabar.tools.match_sound import TOOL, Input

    with pytest.raises(ToolError):
        TOOL.run(Input(audio=AudioInput(base64=_b64(np.zeros(SR, dtype=np.float32)))), tool_ctx)
