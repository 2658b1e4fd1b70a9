"""The five-archetype engine of LSTMABAR (seed 000's "DDSP engine").

A sound is a mix of five archetypes -- sine, square, sawtooth, triangle, noise -- with one pitch,
one ADSR envelope, one resonant low-pass filter and a note duration. The harmonic part is additive
synthesis with each archetype's true Fourier series:

* sine:     b_1 = 1
* square:   b_k = 4/(pi k)                     for odd k
* sawtooth: b_k = 2/(pi k) * (-1)^(k+1)        for every k
* triangle: b_k = 8/(pi^2 k^2) * (-1)^((k-1)/2) for odd k

(x(t) = sum_k b_k sin(2 pi k f0 t)); each archetype is scaled to unit RMS so the mix weights are
amplitude shares of equally loud archetypes. Partials at or above Nyquist are dropped. The harmonic
waveform is built as one band-limited period by an inverse FFT (a wavetable per item) and read out at
the note's phase with linear interpolation, which keeps it fast and differentiable in pitch. The noise
part is white noise shaped by the same filter in the frequency domain. The filter is a two-pole
low-pass magnitude response |H(f)| = 1 / sqrt((1 - (f/fc)^2)^2 + (f/(fc Q))^2) applied as a zero-phase
gain, so the harmonics keep their signs (which is what makes ``analysis.estimate_archetypes`` exact).

Every continuous input (weights, pitch, ADSR times and level, cutoff, resonance, duration) carries a
gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch

from ..ranges import Range

ARCHETYPES: tuple[str, ...] = ("sine", "square", "sawtooth", "triangle", "noise")
HARMONIC_ARCHETYPES: tuple[str, ...] = ARCHETYPES[:4]
TABLE_SIZE = 4096  # samples per wavetable period: up to 2047 harmonics
OUTPUT_GAIN = 0.2
SOFT_KNEE = 0.8  # above this level the output bends smoothly (tanh) so it never reaches 1.0


# One scalar control: physical = minimum + (maximum - minimum) * x ** (1 / curve), x in [0, 1].
ArchParamSpec = Range


# The scalar controls besides the five weights, in the order of the normalised vector.
CONTROL_SPECS: tuple[ArchParamSpec, ...] = (
    ArchParamSpec("midi_f0", 24.0, 96.0, 1.0, "midi", "pitch as a MIDI note number (69 = A4 = 440 Hz)"),
    ArchParamSpec("attack", 0.001, 2.0, 0.5, "s", "ADSR attack time"),
    ArchParamSpec("decay", 0.001, 2.0, 0.5, "s", "ADSR decay time"),
    ArchParamSpec("sustain", 0.0, 1.0, 1.0, "ratio", "ADSR sustain level"),
    ArchParamSpec("release", 0.001, 2.0, 0.5, "s", "ADSR release time"),
    ArchParamSpec("cutoff", 20.0, 20000.0, 0.25, "Hz", "low-pass filter cutoff"),
    ArchParamSpec("resonance", 0.5, 6.0, 0.5, "Q", "low-pass filter resonance (Q; 0.707 is flat)"),
    ArchParamSpec("duration", 0.05, 4.0, 0.5, "s", "note-on time before the release starts"),
)
CONTROL_INDEX = {s.name: i for i, s in enumerate(CONTROL_SPECS)}
NUM_NORMALIZED = len(ARCHETYPES) + len(CONTROL_SPECS)  # 13


def archetype_coefficients(n_harmonics: int, dtype=torch.float32) -> torch.Tensor:
    """(4, n_harmonics) sine-series coefficients b_k (k = 1..n) of sine, square, sawtooth, triangle,
    each scaled to unit RMS over the infinite series (band-limiting then lowers it slightly)."""
    k = torch.arange(1, n_harmonics + 1, dtype=torch.float64)
    odd = (k % 2 == 1).double()
    sine = (k == 1).double()
    square = odd * 4.0 / (math.pi * k)
    saw = 2.0 / (math.pi * k) * torch.where(k % 2 == 1, 1.0, -1.0)
    tri = odd * 8.0 / (math.pi**2 * k**2) * torch.where(((k - 1) / 2) % 2 == 0, 1.0, -1.0)
    # RMS of the full waveforms: sine 1/sqrt2, square 1, saw 1/sqrt3, triangle 1/sqrt3.
    rms = torch.tensor([1 / math.sqrt(2), 1.0, 1 / math.sqrt(3), 1 / math.sqrt(3)], dtype=torch.float64)
    return (torch.stack([sine, square, saw, tri]) / rms[:, None]).to(dtype)


def lowpass_gain(freqs: torch.Tensor, cutoff: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Magnitude of a two-pole resonant low-pass at ``freqs`` (broadcast against cutoff/q)."""
    r = freqs / cutoff
    return 1.0 / torch.sqrt((1.0 - r**2) ** 2 + (r / q) ** 2 + 1e-12)


@dataclass
class ArchetypeParams:
    """A batch of archetype sounds; every field is a (B,) tensor except ``weights`` (B, 5).

    Physical units: midi_f0 (MIDI note), attack/decay/release/duration (s), sustain (0..1),
    cutoff (Hz), resonance (Q). Weights are non-negative and normalised to sum 1 when rendered.
    """

    weights: torch.Tensor
    midi_f0: torch.Tensor
    attack: torch.Tensor
    decay: torch.Tensor
    sustain: torch.Tensor
    release: torch.Tensor
    cutoff: torch.Tensor
    resonance: torch.Tensor
    duration: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def make(
        cls,
        weights: Sequence[Sequence[float]] | torch.Tensor,
        *,
        midi_f0: float | Sequence[float] | torch.Tensor = 57.0,
        attack: float | Sequence[float] | torch.Tensor = 0.01,
        decay: float | Sequence[float] | torch.Tensor = 0.2,
        sustain: float | Sequence[float] | torch.Tensor = 0.8,
        release: float | Sequence[float] | torch.Tensor = 0.3,
        cutoff: float | Sequence[float] | torch.Tensor = 20000.0,
        resonance: float | Sequence[float] | torch.Tensor = 0.707,
        duration: float | Sequence[float] | torch.Tensor = 1.5,
    ) -> "ArchetypeParams":
        w = torch.as_tensor(weights, dtype=torch.float32)
        if w.dim() == 1:
            w = w[None]
        if w.shape[-1] != 5:
            raise ValueError("weights must have 5 columns: sine, square, sawtooth, triangle, noise")
        b = w.shape[0]

        def col(v):
            t = torch.as_tensor(v, dtype=torch.float32)
            return t.expand(b).clone() if t.dim() == 0 else t.reshape(b)

        return cls(w, col(midi_f0), col(attack), col(decay), col(sustain), col(release), col(cutoff),
                   col(resonance), col(duration))

    @classmethod
    def from_normalized(cls, x: torch.Tensor) -> "ArchetypeParams":
        """(B, 13) in [0, 1]: 5 weights then the controls in CONTROL_SPECS order."""
        if x.dim() == 1:
            x = x[None]
        if x.shape[-1] != NUM_NORMALIZED:
            raise ValueError(f"expected {NUM_NORMALIZED} normalised values, got {x.shape[-1]}")
        ctrl = {s.name: s.to_physical(x[:, 5 + i]) for i, s in enumerate(CONTROL_SPECS)}
        return cls(weights=x[:, :5].clamp(min=0.0), **ctrl)

    def normalized(self) -> torch.Tensor:
        w = self.weights.clamp(min=0.0)
        w = w / w.sum(-1, keepdim=True).clamp(min=1e-8)
        cols = [s.to_normalized(getattr(self, s.name)) for s in CONTROL_SPECS]
        return torch.cat([w, torch.stack(cols, dim=-1)], dim=-1)

    def physical(self, index: int = 0) -> dict[str, dict[str, float | str]]:
        """One item as a readable dict: {name: {"value", "unit"}} with the weights as shares."""
        w = self.weights[index].detach().clamp(min=0.0)
        w = w / w.sum().clamp(min=1e-8)
        out: dict[str, dict[str, float | str]] = {
            f"weight.{n}": {"value": round(float(w[i]), 4), "unit": "share"} for i, n in enumerate(ARCHETYPES)
        }
        for s in CONTROL_SPECS:
            out[s.name] = {"value": round(float(getattr(self, s.name)[index].detach()), 5), "unit": s.unit}
        return out

    @classmethod
    def from_physical(cls, d: dict) -> "ArchetypeParams":
        def val(k):
            v = d[k]
            return v["value"] if isinstance(v, dict) else v

        weights = [[float(val(f"weight.{n}")) for n in ARCHETYPES]]
        return cls.make(weights, **{s.name: float(val(s.name)) for s in CONTROL_SPECS if s.name in d})

    def to(self, device) -> "ArchetypeParams":
        return ArchetypeParams(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def __getitem__(self, idx) -> "ArchetypeParams":
        sl = idx if isinstance(idx, slice) else slice(idx, idx + 1)
        return ArchetypeParams(**{f.name: getattr(self, f.name)[sl] for f in fields(self)})

    @staticmethod
    def random(batch: int, *, seed: int = 0, sparse: bool = True) -> "ArchetypeParams":
        """Random sounds for training and tests: weights from a Dirichlet (sparse: alpha 0.5)."""
        g = torch.Generator().manual_seed(seed)
        alpha = 0.5 if sparse else 1.0
        gam = torch._standard_gamma(torch.full((batch, 5), alpha, dtype=torch.float64), generator=g).float()
        w = gam / gam.sum(-1, keepdim=True).clamp(min=1e-8)
        x = torch.rand(batch, len(CONTROL_SPECS), generator=g)
        ctrl = {s.name: s.to_physical(x[:, i]) for i, s in enumerate(CONTROL_SPECS)}
        return ArchetypeParams(weights=w, **ctrl)


def midi_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 440.0 * torch.pow(2.0, (m - 69.0) / 12.0)


def adsr_envelope(p: ArchetypeParams, n: int, sample_rate: int, device=None) -> torch.Tensor:
    """(B, n) linear-segment ADSR: attack to 1, decay to sustain, hold until ``duration``, release."""
    t = (torch.arange(n, device=device, dtype=torch.float32) / sample_rate)[None]
    a = p.attack.clamp(min=1e-4)[:, None]
    d = p.decay.clamp(min=1e-4)[:, None]
    s = p.sustain.clamp(0.0, 1.0)[:, None]
    r = p.release.clamp(min=1e-4)[:, None]
    dur = p.duration.clamp(min=0.0)[:, None]

    def level(tt):
        att = (tt / a).clamp(0.0, 1.0)
        dec = ((tt - a) / d).clamp(0.0, 1.0)
        return att * (1.0 - (1.0 - s) * dec)

    held = level(torch.minimum(t, dur))
    rel = 1.0 - ((t - dur) / r).clamp(0.0, 1.0)
    return held * rel


def harmonic_amplitudes(p: ArchetypeParams, n_harmonics: int, sample_rate: int) -> torch.Tensor:
    """(B, n_harmonics) signed sine amplitudes of the filtered harmonic mix (Nyquist-masked)."""
    device = p.weights.device
    w = p.weights.clamp(min=0.0)
    w = w / w.sum(-1, keepdim=True).clamp(min=1e-8)
    coef = archetype_coefficients(n_harmonics).to(device)  # (4, K)
    amps = w[:, :4] @ coef  # (B, K)
    f0 = midi_to_hz(p.midi_f0)[:, None]
    k = torch.arange(1, n_harmonics + 1, device=device, dtype=torch.float32)[None]
    freqs = f0 * k
    nyq = sample_rate / 2.0
    # drop partials at/above Nyquist; a narrow taper just below keeps the pitch gradient defined.
    mask = ((nyq - freqs) / (0.02 * nyq)).clamp(0.0, 1.0)
    gain = lowpass_gain(freqs, p.cutoff[:, None], p.resonance[:, None])
    return amps * gain * mask


def soft_limit(x: torch.Tensor) -> torch.Tensor:
    """Identity below SOFT_KNEE, a tanh knee above it: peaks stay below 1.0, gradients stay finite."""
    head = 1.0 - SOFT_KNEE
    over = x.abs() - SOFT_KNEE
    bent = torch.sign(x) * (SOFT_KNEE + head * torch.tanh(over.clamp(min=0.0) / head))
    return torch.where(over > 0, bent, x)


def render_archetypes(
    params: ArchetypeParams,
    sample_rate: int = 48_000,
    seconds: float = 2.0,
    seed: int = 0,
    *,
    return_parts: bool = False,
):
    """Render (B, samples) float32 audio on the parameters' device. Deterministic for a seed; each
    item's noise comes from its own generator (seed, item index), so items do not depend on the batch
    size beyond their index."""
    p = params
    device = p.weights.device
    b = p.batch_size
    n = int(round(seconds * sample_rate))
    kmax = TABLE_SIZE // 2 - 1
    amps = harmonic_amplitudes(p, kmax, sample_rate)  # (B, K)
    # one period as a wavetable: x[m] = sum_k b_k sin(2 pi k m / N); irfft of -i N/2 b_k.
    spec = torch.zeros(b, TABLE_SIZE // 2 + 1, dtype=torch.complex64, device=device)
    spec = spec.clone()
    spec[:, 1 : kmax + 1] = torch.complex(torch.zeros_like(amps), -amps * (TABLE_SIZE / 2.0))
    table = torch.fft.irfft(spec, n=TABLE_SIZE)  # (B, N)
    f0 = midi_to_hz(p.midi_f0)[:, None]
    t = torch.arange(n, device=device, dtype=torch.float64)[None] / sample_rate
    phase = torch.frac(f0.double() * t).float()  # cycles, in [0, 1)
    pos = phase * TABLE_SIZE
    i0 = pos.detach().floor().long().clamp(0, TABLE_SIZE - 1)
    frac = pos - i0.float()
    i1 = (i0 + 1) % TABLE_SIZE
    harm = torch.gather(table, 1, i0) * (1 - frac) + torch.gather(table, 1, i1) * frac

    # noise: white, unit RMS, shaped by the filter in the frequency domain.
    w = p.weights.clamp(min=0.0)
    w = w / w.sum(-1, keepdim=True).clamp(min=1e-8)
    noise = torch.empty(b, n, device="cpu")
    for i in range(b):
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + i)
        noise[i] = torch.randn(n, generator=g)
    noise = noise.to(device)
    nspec = torch.fft.rfft(noise, dim=-1)
    freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate).to(device)[None]
    ngain = lowpass_gain(freqs, p.cutoff[:, None], p.resonance[:, None])
    noise_f = torch.fft.irfft(nspec * ngain, n=n)
    noise_part = w[:, 4:5] * noise_f
    env = adsr_envelope(p, n, sample_rate, device=device)
    out = soft_limit(OUTPUT_GAIN * env * (harm + noise_part))
    if return_parts:
        return out, {"harmonic": OUTPUT_GAIN * env * harm, "noise": OUTPUT_GAIN * env * noise_part, "envelope": env}
    return out


def render_weights(
    weights: Sequence[float],
    *,
    midi_f0: float = 57.0,
    sample_rate: int = 48_000,
    seconds: float = 2.0,
    seed: int = 0,
    **controls: float,
) -> np.ndarray:
    """Convenience: one sound from 5 weights -> float32 numpy (samples,)."""
    p = ArchetypeParams.make([list(weights)], midi_f0=midi_f0, **controls)
    with torch.no_grad():
        return render_archetypes(p, sample_rate=sample_rate, seconds=seconds, seed=seed)[0].numpy().astype(np.float32)


__all__ = [
    "ARCHETYPES",
    "CONTROL_SPECS",
    "ArchParamSpec",
    "ArchetypeParams",
    "archetype_coefficients",
    "adsr_envelope",
    "harmonic_amplitudes",
    "lowpass_gain",
    "midi_to_hz",
    "render_archetypes",
    "render_weights",
]
