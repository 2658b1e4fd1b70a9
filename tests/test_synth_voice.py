"""Tests of the Voice modular synth: parameters, known signals, band-limiting, robustness, patches."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.signal import windows

from lstmabar.models.synth import NUM_PARAMS, PARAM_INDEX, VOICE_PARAMS, Patch, Voice
from lstmabar.models.synth.modules import adsr
from lstmabar.models.synth.params import to_physical_tensor

torch.set_num_threads(1)
SR = 48000


def _spec(name):
    return VOICE_PARAMS[PARAM_INDEX[name]]


def _band_energy(y: np.ndarray, freq: float, halfwidth: float = 6.0):
    """Blackman-Harris power spectrum; energy near each harmonic below Nyquist and the rest."""
    spec = np.abs(np.fft.rfft(y * windows.blackmanharris(len(y)))) ** 2
    fr = np.fft.rfftfreq(len(y), 1.0 / SR)
    n_h = int((SR / 2 - halfwidth) // freq)
    harm = np.array([spec[np.abs(fr - h * freq) <= halfwidth].sum() for h in range(1, n_h + 1)])
    mask = fr <= halfwidth
    for h in range(1, n_h + 1):
        mask |= np.abs(fr - h * freq) <= halfwidth
    return harm, spec[~mask].sum()


# ------------------------------------------------------------------ parameters
def test_parameter_set_matches_torchsynth_voice():
    assert NUM_PARAMS == len(VOICE_PARAMS) == 78
    assert len({p.name for p in VOICE_PARAMS}) == 78
    a = _spec("adsr_1.attack")
    assert (a.minimum, a.maximum, a.curve, a.symmetric) == (0.0, 2.0, 0.5, False)
    f = _spec("lfo_2.frequency")
    assert (f.minimum, f.maximum, f.curve) == (0.0, 20.0, 0.25)
    d = _spec("vco_1.mod_depth")
    assert (d.minimum, d.maximum, d.curve, d.symmetric) == (-96.0, 96.0, 0.2, True)
    assert _spec("mixer.noise").curve == 0.025
    assert _spec("lfo_1.mod_depth").symmetric and _spec("lfo_1.mod_depth").curve == 0.5
    assert sum(n.startswith("mod_matrix.") for n in PARAM_INDEX) == 20
    assert sum(n.endswith(".attack") for n in PARAM_INDEX) == 6
    # the mapping min + (max - min) * x ** (1 / curve)
    assert a.to_physical(0.5) == pytest.approx(2.0 * 0.5**2)
    assert f.to_physical(0.5) == pytest.approx(20.0 * 0.5**4)
    assert d.to_physical(0.5) == pytest.approx(0.0, abs=1e-12)
    assert d.to_physical(0.75) == pytest.approx(96.0 * 0.5**5)
    assert d.to_physical(0.25) == pytest.approx(-96.0 * 0.5**5)


def test_parameter_round_trips():
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.random(200), [0.0, 0.5, 1.0]])
    for p in VOICE_PARAMS:
        for x in xs:
            v = p.to_physical(x)
            assert p.minimum - 1e-9 <= v <= p.maximum + 1e-9
            assert p.to_normalized(v) == pytest.approx(x, abs=1e-9), p.name
        t = torch.tensor(xs, dtype=torch.float64)
        assert torch.allclose(p.to_normalized(p.to_physical(t)), t, atol=1e-9)
    x = torch.rand(16, 78, dtype=torch.float64)
    phys = to_physical_tensor(x)
    for i, p in enumerate(VOICE_PARAMS):
        assert torch.allclose(phys[:, i], p.to_physical(x[:, i]), atol=1e-9), p.name


# ------------------------------------------------------------------ known signals
def test_sine_at_440_peaks_at_440():
    y = Patch.default().with_note(69.0, 2.0).render(seconds=1.0)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1.0 / SR)[np.argmax(spec)] == pytest.approx(440.0, abs=1.0)
    y = Patch.default().with_note(57.0, 2.0).render(seconds=1.0, sample_rate=44100)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1.0 / 44100)[np.argmax(spec)] == pytest.approx(220.0, abs=1.0)


@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_adsr_segment_lengths_match_settings(alpha):
    A, D, S, R, dur = 0.3, 0.5, 0.4, 0.6, 1.2
    rate = 480.0
    t = torch.arange(int(2.5 * rate)) / rate
    c = lambda v: torch.tensor([[v]])  # noqa: E731
    env = adsr(t, c(dur), c(A), c(D), c(S), c(R), c(alpha), 1.0 / rate)[0].numpy()
    tol = 1.5 / rate
    peak_t = t[np.argmax(env == 1.0)].item()
    assert peak_t == pytest.approx(A, abs=tol)
    after = np.nonzero((env <= np.float32(S)) & (t.numpy() > peak_t))[0][0]  # reaches S exactly
    assert t[after].item() == pytest.approx(A + D, abs=tol)
    assert np.allclose(env[(t.numpy() > A + D + tol) & (t.numpy() < dur)], S)
    off = np.nonzero((env == 0.0) & (t.numpy() > dur))[0][0]
    assert t[off].item() == pytest.approx(dur + R, abs=tol)
    assert np.all(np.diff(env[t.numpy() <= A]) >= 0)


def test_adsr_in_rendered_audio():
    """The audible envelope of a sine patch: peak at the attack time, sustain level, silence after
    the release."""
    A, D, S, R, dur = 0.2, 0.3, 0.5, 0.4, 0.8
    p = Patch.default().with_note(69.0, dur).replace(
        adsr_1__attack=A, adsr_1__decay=D, adsr_1__sustain=S, adsr_1__release=R, adsr_1__alpha=1.0
    )
    y = p.render(seconds=1.5)
    frame = 480  # 10 ms
    rms = np.sqrt(np.mean(y[: len(y) // frame * frame].reshape(-1, frame) ** 2, axis=1)) * math.sqrt(2)
    t = (np.arange(len(rms)) + 0.5) * frame / SR
    assert t[np.argmax(rms)] == pytest.approx(A, abs=0.015)
    assert rms.max() == pytest.approx(1.0, abs=0.02)
    assert np.allclose(rms[(t > A + D + 0.02) & (t < dur - 0.02)], S, atol=0.01)
    assert rms[t > dur + R + 0.02].max() < 1e-3
    assert rms[(t > dur + 0.02) & (t < dur + R - 0.05)].min() > 0.01


@pytest.mark.parametrize("shape,expected", [(0.0, {2: 0.0, 3: 1 / 3, 4: 0.0, 5: 1 / 5, 7: 1 / 7}), (1.0, {2: 1 / 2, 3: 1 / 3, 4: 1 / 4, 5: 1 / 5, 9: 1 / 9})])
def test_square_and_saw_harmonic_ratios(shape, expected):
    y = Patch.steady_vco2(440.0, shape).render(seconds=1.0).astype(np.float64)
    harm, _ = _band_energy(y, 440.0)
    amp = np.sqrt(harm / harm[0])
    for h, ratio in expected.items():
        assert amp[h - 1] == pytest.approx(ratio, abs=2e-3), (h, amp[h - 1])


def test_saw_at_4khz_aliasing_is_60db_down():
    """A 4 kHz saw at 48 kHz. Exactly 4 kHz folds any alias onto harmonics, so there the harmonic
    amplitudes must be the exact 1/h series; slightly off 4 kHz, aliases land between harmonics
    and their energy is measured directly. A naive (not band-limited) saw fails both measures."""
    y = Patch.steady_vco2(4000.0, 1.0).render(seconds=1.0).astype(np.float64)
    harm, other = _band_energy(y, 4000.0)
    amp = np.sqrt(harm / harm[0])
    ideal = 1.0 / np.arange(1, len(amp) + 1)
    ideal[5:] = 0.0  # harmonics 1..5 lie below Nyquist; h = 6 would sit exactly on it
    assert 20 * np.log10(np.abs(amp - ideal).max()) < -60
    assert 10 * np.log10(other / harm[0]) < -60
    for f in (4000.0 * 2 ** (1 / 24), 4000.0 * 2 ** (-1 / 24)):
        y = Patch.steady_vco2(f, 1.0).render(seconds=1.0).astype(np.float64)
        harm, other = _band_energy(y, f)
        assert 10 * np.log10(other / harm[0]) < -60, f
        naive = 2.0 * ((f * np.arange(SR) / SR) % 1.0) - 1.0
        harm_n, other_n = _band_energy(naive, f)
        assert 10 * np.log10(other_n / harm_n[0]) > -20  # the measure does see aliasing


@pytest.mark.parametrize("freq", [41.7, 97.3, 1000.3, 2500.7])
@pytest.mark.parametrize("shape", [0.0, 1.0])
def test_square_saw_band_limited_across_the_range(freq, shape):
    y = Patch.steady_vco2(freq, shape).render(seconds=1.0).astype(np.float64)
    harm, other = _band_energy(y, freq)
    assert 10 * np.log10(other / harm[0]) < -70


# ------------------------------------------------------------------ robustness and determinism
def test_no_nan_inf_or_clipping_over_10000_random_patches():
    g = torch.Generator().manual_seed(1234)
    short = Voice(seconds=0.1)
    worst = 0.0
    for _ in range(9):  # 9000 uniform random patches, 0.1 s each
        y = short.render(torch.rand(1000, 78, generator=g), seed=0)
        assert torch.isfinite(y).all()
        worst = max(worst, y.abs().max().item())
    corners = (torch.rand(500, 78, generator=g) > 0.5).float()  # extremes of every range
    y = short.render(corners, seed=1)
    assert torch.isfinite(y).all()
    worst = max(worst, y.abs().max().item())
    longer = Voice(seconds=2.0)
    y = longer.render(torch.rand(500, 78, generator=g), seed=2)
    assert torch.isfinite(y).all()
    worst = max(worst, y.abs().max().item())
    assert worst <= 1.0


def test_batch_invariance_and_seed_determinism():
    voice = Voice(seconds=0.5)
    x = torch.rand(12, 78, generator=torch.Generator().manual_seed(5))
    x[:, PARAM_INDEX["mixer.noise"]] = 1.0  # plenty of noise
    x[:, PARAM_INDEX["mod_matrix.adsr_1->noise_amp"]] = 1.0
    batch = voice.render(x, seed=7)
    for i in range(12):
        assert torch.equal(voice.render(x[i : i + 1], seed=7)[0], batch[i]), i
    assert torch.equal(voice.render(x[3:9], seed=7), batch[3:9])
    assert torch.equal(voice.render(x, seed=7), batch)
    other = voice.render(x, seed=8)
    assert not torch.allclose(other, batch)
    per_item = voice.render(x[:4], seed=[7, 8, 9, 10])
    assert torch.equal(per_item[0], batch[0]) and torch.equal(per_item[1], other[1])


def test_noise_cache_follows_the_seed():
    x = Patch.default().replace(mixer__noise=1.0).normalized().unsqueeze(0)
    x[0, PARAM_INDEX["mod_matrix.adsr_1->noise_amp"]] = 1.0
    voice = Voice(seconds=0.2)
    runs = [voice.render(x, seed=s) for s in (1, 2, 1, 3, 2)]
    for s, got in zip((1, 2, 1, 3, 2), runs):
        assert torch.equal(got, Voice(seconds=0.2).render(x, seed=s)), s
    assert not torch.equal(runs[0], runs[1])


def test_voice_shapes_and_bad_input():
    v = Voice(sample_rate=44100, control_rate=441, seconds=0.37)
    y = v.render(torch.rand(3, 78), seed=0)
    assert y.shape == (3, round(0.37 * 44100)) and y.dtype == torch.float32
    with pytest.raises(ValueError):
        v.render(torch.rand(3, 77))
    with pytest.raises(ValueError):
        v.render(torch.full((1, 78), float("nan")))


# ------------------------------------------------------------------ patches
def test_patch_json_and_physical_round_trips():
    p = Patch.random(3)
    q = Patch.from_json(p.to_json())
    assert q == p
    data = json.loads(p.to_json())
    assert data["physical"]["vco_1.tuning"]["unit"] == "semitones"
    assert data["physical"]["lfo_1.frequency"]["unit"] == "Hz"
    r = Patch.from_physical(p.physical())
    assert torch.allclose(r.normalized().double(), p.normalized().double(), atol=1e-6)
    assert torch.equal(Patch.from_normalized(p.normalized()).normalized(), p.normalized())
    only_phys = Patch.from_json(json.dumps({"physical": p.physical()}))
    assert torch.allclose(only_phys.normalized(), p.normalized(), atol=1e-6)
    with pytest.raises(ValueError):
        Patch.from_physical({"not.a_param": 1.0})
    with pytest.raises(ValueError):
        Patch.from_normalized([0.5] * 77)


def test_patch_interpolation_and_notes():
    a, b = Patch.random(1), Patch.random(2)
    assert Patch.interpolate(a, b, 0.0) == a
    assert Patch.interpolate(a, b, 1.0) == b
    mid = Patch.interpolate(a, b, 0.5).normalized()
    assert torch.allclose(mid, (a.normalized() + b.normalized()) / 2, atol=1e-7)
    assert np.array_equal(Patch.interpolate(a, b, 0.0).render(seconds=0.2), a.render(seconds=0.2))
    n = a.with_note(midi_f0=60.5, duration=0.75)
    assert n["keyboard.midi_f0"] == pytest.approx(60.5) and n["keyboard.duration"] == pytest.approx(0.75)
    changed = [k for k, v in n.normalized_dict().items() if v != a.normalized_dict()[k]]
    assert sorted(changed) == ["keyboard.duration", "keyboard.midi_f0"]
    y = a.render(sample_rate=22050, seconds=0.3, seed=4)
    assert y.shape == (6615,) and y.dtype == np.float32
    assert np.array_equal(y, a.render(sample_rate=22050, seconds=0.3, seed=4))
