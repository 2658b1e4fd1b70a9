"""The five-archetype engine and its analysis function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmabar.models.synth.analysis import estimate_archetypes, recovery_error
from lstmabar.models.synth.archetype import (
    ARCHETYPES,
    CONTROL_SPECS,
    ArchetypeParams,
    archetype_coefficients,
    render_archetypes,
    render_weights,
)

torch.set_num_threads(1)
SR = 16_000


def _spectrum(y: np.ndarray) -> np.ndarray:
    return np.abs(np.fft.rfft(y * np.hanning(len(y))))


def _harm(spec: np.ndarray, f0: float, k: int, n: int) -> float:
    b = int(round(k * f0 * n / SR))
    return float(spec[b - 2 : b + 3].max())


@pytest.mark.parametrize(
    "name,expected",
    [
        ("square", {2: 0.0, 3: 1 / 3, 5: 1 / 5}),
        ("sawtooth", {2: 1 / 2, 3: 1 / 3, 4: 1 / 4}),
        ("triangle", {2: 0.0, 3: 1 / 9, 5: 1 / 25}),
        ("sine", {2: 0.0, 3: 0.0}),
    ],
)
def test_harmonic_ratios(name, expected):
    w = [1.0 if a == name else 0.0 for a in ARCHETYPES]
    y = render_weights(w, midi_f0=69, sample_rate=SR, seconds=1.0, duration=1.0, attack=0.001, release=0.001)
    n = len(y)
    spec = _spectrum(y)
    assert abs(np.argmax(spec) * SR / n - 440.0) < 2.0  # the fundamental is the peak, at 440 Hz
    h1 = _harm(spec, 440.0, 1, n)
    for k, ratio in expected.items():
        got = _harm(spec, 440.0, k, n) / h1
        assert got == pytest.approx(ratio, abs=0.01), (name, k, got)


def test_partials_above_nyquist_dropped():
    amps = archetype_coefficients(50)
    assert amps.shape == (4, 50)
    # a 3 kHz sawtooth at 16 kHz: harmonics 1, 2 below 8 kHz only; nothing aliased back below 3 kHz
    y = render_weights([0, 0, 1, 0, 0], midi_f0=69 + 12 * np.log2(3000 / 440), sample_rate=SR, seconds=1.0, duration=1.0)
    spec = _spectrum(y)
    n = len(y)
    f = np.fft.rfftfreq(n, 1 / SR)
    fund = spec[np.abs(f - 3000) < 20].max()
    alias = spec[(f > 100) & (f < 2900)].max()
    assert alias < fund * 1e-3


def test_adsr_segments():
    p = ArchetypeParams.make([[1, 0, 0, 0, 0]], midi_f0=69, attack=0.1, decay=0.2, sustain=0.5, release=0.3, duration=0.6)
    _, parts = render_archetypes(p, sample_rate=SR, seconds=1.2, return_parts=True)
    env = parts["envelope"][0].numpy()
    t = np.arange(len(env)) / SR
    assert t[np.argmax(env)] == pytest.approx(0.1, abs=2e-3)
    assert env[int(0.45 * SR)] == pytest.approx(0.5, abs=1e-3)  # sustain level after attack+decay
    assert env[int(0.75 * SR)] == pytest.approx(0.25, abs=5e-3)  # half-way through the release
    assert np.all(env[int(0.91 * SR) :] == 0.0)


def test_no_nan_no_clipping_and_determinism():
    p = ArchetypeParams.random(64, seed=5)
    y = render_archetypes(p, sample_rate=SR, seconds=1.0, seed=7)
    assert torch.isfinite(y).all()
    assert y.abs().max() < 1.0
    y2 = render_archetypes(p, sample_rate=SR, seconds=1.0, seed=7)
    assert torch.equal(y, y2)
    # an item does not depend on the others in its batch
    y3 = render_archetypes(p[0:3], sample_rate=SR, seconds=1.0, seed=7)
    assert torch.allclose(y3, y[:3], atol=1e-6)


def test_gradients_finite_and_nonzero_in_every_parameter():
    p = ArchetypeParams.make(
        [[0.3, 0.2, 0.2, 0.1, 0.2]], midi_f0=57.0, attack=0.05, decay=0.1, sustain=0.6, release=0.1,
        cutoff=2000.0, resonance=1.5, duration=0.3,
    )
    for f in ("weights", "midi_f0", "attack", "decay", "sustain", "release", "cutoff", "resonance", "duration"):
        getattr(p, f).requires_grad_(True)
    y = render_archetypes(p, sample_rate=SR, seconds=0.5)
    # a loss that depends on every parameter: distance to a fixed random target spectrum + energy
    target = torch.rand(y.shape[-1] // 2 + 1, generator=torch.Generator().manual_seed(0))
    loss = (torch.fft.rfft(y).abs() - target).pow(2).mean() + y.pow(2).sum()
    loss.backward()
    for f in ("weights", "midi_f0", "attack", "decay", "sustain", "release", "cutoff", "resonance", "duration"):
        g = getattr(p, f).grad
        assert g is not None and torch.isfinite(g).all(), f
        assert g.abs().sum() > 0, f


def test_normalized_round_trip_and_physical():
    p = ArchetypeParams.random(8, seed=2)
    x = p.normalized()
    q = ArchetypeParams.from_normalized(x)
    for s in CONTROL_SPECS:
        assert torch.allclose(getattr(q, s.name), getattr(p, s.name), rtol=1e-4, atol=1e-4), s.name
    d = p.physical(0)
    assert d["cutoff"]["unit"] == "Hz" and d["weight.noise"]["unit"] == "share"
    r = ArchetypeParams.from_physical(d)
    assert float(r.cutoff[0]) == pytest.approx(float(p.cutoff[0]), rel=1e-4)


@pytest.mark.parametrize("name", ARCHETYPES)
def test_analysis_recovers_pure_archetypes(name):
    w = [1.0 if a == name else 0.0 for a in ARCHETYPES]
    y = render_weights(w, midi_f0=60, sample_rate=SR, seconds=1.0, duration=1.0, cutoff=3000.0, resonance=2.0)
    est = estimate_archetypes(y, SR)
    assert est.dominant == name
    assert est.weights[name] > 0.9


def test_analysis_recovers_a_mix_and_flags_silence():
    w = [0.2, 0.3, 0.1, 0.2, 0.2]
    y = render_weights(w, midi_f0=57, sample_rate=SR, seconds=1.0, duration=1.0, cutoff=4000.0, resonance=1.2)
    est = estimate_archetypes(y, SR)
    assert np.abs(est.vector() - np.array(w)).max() < 0.05
    assert estimate_archetypes(np.zeros(SR), SR).silent


def test_recovery_error_on_random_engine_sounds():
    r = recovery_error(6, seed=11)
    assert r["mae"] < 0.1
    assert r["cosine"] > 0.85
