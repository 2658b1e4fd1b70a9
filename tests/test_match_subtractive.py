"""The subtractive matching synth, its matcher, and the SFZ instrument export (issue 19)."""

from __future__ import annotations

import base64
import io
import zipfile

import numpy as np
import pytest
import soundfile as sf
import torch

torch.set_num_threads(1)

from lstmabar.library.audio_input import AudioInput  # noqa: E402
from lstmabar.library.audio_io import encode_wav  # noqa: E402
from lstmabar.library.sfz import build_sfz_zip, key_ranges, parse_sfz  # noqa: E402
from lstmabar.models.matching.metrics import loudness_envelope_torch, match_loss_torch, mr_stft_torch  # noqa: E402
from lstmabar.models.matching.pitch import estimate_pitch, hz_to_midi  # noqa: E402
from lstmabar.models.matching.subtractive import (  # noqa: E402
    NUM_SUB_PARAMS,
    SUB_INDEX,
    SUB_PARAMS,
    SubtractiveSynth,
    physical_dict,
    sample_sub,
    to_normalized,
    to_physical,
)

SR = 16_000


def _centroid(x: np.ndarray, sr: int) -> float:
    s = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2  # power, windowed: leakage would bias a magnitude centroid
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float((s * f).sum() / s.sum())


def patch(**phys: float) -> torch.Tensor:
    base = {"note.midi": 57.0, "note.duration": 1.5, "osc.saw": 1.0, "osc.square": 0.0, "osc.triangle": 0.0, "osc.sine": 0.0,
            "noise.level": 0.0, "filter.cutoff": 3000.0, "filter.resonance": 0.7, "filter.keytrack": 0.0, "filter.env_amount": 0.0,
            "filter.sustain": 1.0, "amp.attack": 0.005, "amp.decay": 0.5, "amp.sustain": 0.8, "amp.release": 0.1,
            "vibrato.depth": 0.0, "body.gain_1": 0.0, "body.gain_2": 0.0}
    base.update(phys)
    return to_normalized(base)


def test_params_declared_with_paramspec_and_round_trip():
    from lstmabar.models.synth.params import ParamSpec

    assert all(isinstance(p, ParamSpec) for p in SUB_PARAMS) and NUM_SUB_PARAMS == len(SUB_PARAMS)
    x = torch.rand(5, NUM_SUB_PARAMS)
    phys = to_physical(x)
    for j, spec in enumerate(SUB_PARAMS):
        assert float(spec.to_normalized(float(phys[0, j]))) == pytest.approx(float(x[0, j]), abs=1e-4)
    assert set(physical_dict(x[0])) == set(SUB_INDEX)


def test_batched_render_is_finite_and_plays_the_note_at_any_key():
    syn = SubtractiveSynth(SR, 1.0)
    x = sample_sub(6, torch.Generator().manual_seed(1))
    y = syn.render(x, 0)
    assert y.shape == (6, SR) and torch.isfinite(y).all()
    p = patch()
    for midi in (36.0, 60.0, 84.0):
        a = syn.render(p, 0, midi=midi)[0].numpy()
        est = estimate_pitch(a, SR)
        assert est.midi == pytest.approx(midi, abs=0.3), midi
    assert estimate_pitch(syn.render(p, 0)[0].numpy(), SR).midi == pytest.approx(57.0, abs=0.3)


def test_filter_cutoff_envelope_and_keytrack_shape_the_spectrum():
    syn = SubtractiveSynth(SR, 1.0)
    dark, bright = (syn.render(patch(**{"filter.cutoff": c}), 0)[0].numpy() for c in (300.0, 6000.0))
    assert _centroid(dark, SR) < 0.5 * _centroid(bright, SR)
    # a decaying filter envelope: the first 100 ms brighter than the last 300 ms
    pluck = syn.render(patch(**{"filter.cutoff": 200.0, "filter.env_amount": 5.0, "filter.decay": 0.2, "filter.sustain": 0.0}), 0)[0].numpy()
    assert _centroid(pluck[: SR // 10], SR) > 1.6 * _centroid(pluck[-SR * 3 // 10 :], SR)
    # key tracking 1: the cutoff follows the note, so the centroid-to-f0 ratio stays put
    kt = patch(**{"filter.cutoff": 500.0, "filter.keytrack": 1.0})
    lo, hi = (syn.render(kt, 0, midi=m)[0].numpy() for m in (48.0, 72.0))
    assert _centroid(hi, SR) / _centroid(lo, SR) == pytest.approx(4.0, rel=0.3)


def test_amplitude_envelope_and_noise():
    syn = SubtractiveSynth(SR, 1.0)
    a = syn.render(patch(**{"amp.attack": 0.3, "amp.sustain": 1.0}), 0)[0].numpy()
    assert np.abs(a[: SR // 20]).max() < 0.5 * np.abs(a[SR // 2 : SR * 6 // 10]).max()
    d = syn.render(patch(**{"amp.sustain": 0.0, "amp.decay": 0.05}), 0)[0].numpy()
    assert np.sqrt(np.mean(d[SR // 2 :] ** 2)) < 1e-2 * np.sqrt(np.mean(d[: SR // 10] ** 2))
    n = syn.render(patch(**{"osc.saw": 0.0, "noise.level": 1.0, "noise.decay": 4.0, "filter.cutoff": 15000.0}), 0)[0].numpy()
    assert estimate_pitch(n, SR).midi is None


def test_render_is_differentiable():
    syn = SubtractiveSynth(SR, 0.5)
    x = sample_sub(2, torch.Generator().manual_seed(3)).requires_grad_(True)
    target = syn.render(patch(), 0)[0].detach()[: syn.n]
    loss = match_loss_torch(target, syn.render(x, 0)).sum()
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_loudness_envelope_term():
    t = torch.linspace(0, 1, SR)
    tone = torch.sin(2 * np.pi * 220 * t)
    assert float(loudness_envelope_torch(tone, tone[None])[0]) == pytest.approx(0.0, abs=1e-5)
    decaying = tone * torch.exp(-5 * t)
    assert float(loudness_envelope_torch(tone, decaying[None])[0]) > 0.3
    # the same spectrum with another contour: MR-STFT alone sees less of it than the loudness term adds
    assert float(match_loss_torch(tone, decaying[None])[0]) > float(mr_stft_torch(tone, decaying[None])[0])


def test_match_subtractive_finds_its_own_patch_better_than_the_first_guess():
    from lstmabar.models.matching.sub_match import match_subtractive

    syn = SubtractiveSynth(SR, 1.0)
    target = syn.render(patch(**{"filter.cutoff": 900.0, "amp.sustain": 0.0, "amp.decay": 0.25, "osc.square": 0.6}), 0)[0].numpy()
    res = match_subtractive(syn, target, hz_to_midi(220.0), budget_s=3.0, seed=0, bank_size=16)
    assert res.winner in ("analysis", "bank", "cma", "gradient")
    final = float(match_loss_torch(torch.from_numpy(target), syn.render(res.params[None], 0))[0])
    assert final <= min(res.bank_loss, res.analysis_loss) + 1e-4
    assert float(to_physical(res.params[None])[0, SUB_INDEX["note.midi"]]) == pytest.approx(57.0, abs=0.3)


def test_gradient_refinement_improves_on_the_measured_guess():
    """Counted in steps, not seconds, so a loaded machine cannot starve it."""
    from lstmabar.models.matching.sub_match import analyse, gradient_refine

    syn = SubtractiveSynth(SR, 1.0)
    target = syn.render(patch(**{"filter.cutoff": 900.0, "amp.sustain": 0.0, "amp.decay": 0.25, "osc.square": 0.6}), 0)[0]
    guess = analyse(target.numpy(), hz_to_midi(220.0))
    start_loss = float(match_loss_torch(target, syn.render(guess[None], 0))[0])
    best, loss, steps = gradient_refine(syn, target, guess[None], budget_s=600.0, max_steps=15)
    assert steps == 15 and loss < 0.8 * start_loss
    assert float(best[SUB_INDEX["note.midi"]]) == float(guess[SUB_INDEX["note.midi"]])


# ------------------------------------------------------------------ SFZ
def test_key_ranges_cover_the_keyboard_without_gaps():
    r = key_ranges([60, 48, 72])
    assert [k for _, _, k in r] == [48, 60, 72]
    assert r[0][0] == 0 and r[-1][1] == 127
    assert all(r[i][1] + 1 == r[i + 1][0] for i in range(len(r) - 1))
    assert all(lo <= k <= hi for lo, hi, k in r)
    with pytest.raises(ValueError):
        key_ranges([128])


def test_sfz_zip_parses_files_exist_and_play_at_their_pitch():
    syn = SubtractiveSynth(SR, 0.6)
    p = patch(**{"note.duration": 0.4})
    keys = [36, 57, 81]
    data = build_sfz_zip(lambda k: syn.render(p, 0, midi=float(k))[0].numpy(), SR, "test lead", keys)
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = set(zf.namelist())
    sfz = [n for n in names if n.endswith(".sfz")]
    assert sfz == ["test_lead.sfz"]
    regions = parse_sfz(zf.read(sfz[0]).decode())
    assert len(regions) == len(keys)
    for reg in regions:
        path = reg.get("default_path", "") + reg["sample"]
        assert path in names
        audio, sr = sf.read(io.BytesIO(zf.read(path)), dtype="float32")
        assert sr == SR and np.abs(audio).max() > 0.5
        key = int(reg["pitch_keycenter"])
        assert int(reg["lokey"]) <= key <= int(reg["hikey"])
        assert estimate_pitch(audio, sr).midi == pytest.approx(key, abs=0.3)


def _b64(x: np.ndarray, sr: int = 48_000) -> str:
    return base64.b64encode(encode_wav(x[None], sr)).decode()


def test_tool_default_synth_returns_patch_and_instrument(tool_ctx):
    from lstmabar.tools.match_sound import TOOL, Input

    t = np.arange(48_000) / 48_000
    pluck = (0.3 * (2 * ((196.0 * t) % 1.0) - 1) * np.exp(-4 * t)).astype(np.float32)
    out = TOOL.run(Input(audio=AudioInput(base64=_b64(pluck)), time_budget_s=4.0, name="pluck", instrument=True), tool_ctx)
    o = out.output
    assert o.synth == "subtractive" and len(o.patch) == NUM_SUB_PARAMS
    assert o.patch["note.midi"]["value"] == pytest.approx(hz_to_midi(196.0), abs=0.3)
    assert o.instrument is not None
    zf = zipfile.ZipFile(o.instrument.path)
    regions = parse_sfz(zf.read(o.instrument.sfz).decode())
    assert len(regions) == len(o.instrument.keys)
    assert all(r["default_path"] + r["sample"] in zf.namelist() for r in regions)
    assert o.sound.id in o.instrument.path
