"""Quick, dependency-light measurements of a sound: level, loudness, brightness, pitch."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field
from scipy.signal import lfilter

from .audio_io import Audio, resample


class QuickAnalysis(BaseModel):
    duration_s: float
    sample_rate: int
    channels: int
    peak_dbfs: float = Field(description="Highest absolute sample, dB full scale.")
    rms_dbfs: float
    loudness_lufs: float | None = Field(description="Integrated loudness (ITU-R BS.1770, gated); null when too quiet or short.")
    spectral_centroid_hz: float | None = Field(description="Mean spectral centroid; higher is brighter.")
    f0_hz: float | None = Field(description="Estimated fundamental frequency; null when the sound is not clearly pitched.")
    f0_confidence: float = Field(description="0-1 periodicity of the frames used for f0.")
    midi_note: float | None = None
    is_silent: bool


def _db(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-10)))


def _k_weighting(sr: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """BS.1770 pre-filter (high shelf) and RLB high-pass, derived for any sample rate."""
    f0, g, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sr)
    vh, vb = 10 ** (g / 20), 10 ** (g / 20) ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (
        np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]),
        np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]),
    )
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    hp = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return shelf, hp


def integrated_loudness(samples: np.ndarray, sr: int) -> float | None:
    (b1, a1), (b2, a2) = _k_weighting(sr)
    y = lfilter(b2, a2, lfilter(b1, a1, samples, axis=-1), axis=-1)
    block, hop = int(0.4 * sr), int(0.1 * sr)
    if y.shape[-1] < block:
        return None
    starts = range(0, y.shape[-1] - block + 1, hop)
    z = np.array([np.mean(y[:, s : s + block] ** 2, axis=-1).sum() for s in starts])
    lk = -0.691 + 10 * np.log10(z + 1e-12)
    z = z[lk > -70]
    if z.size == 0:
        return None
    rel = -0.691 + 10 * np.log10(z.mean()) - 10
    z = z[-0.691 + 10 * np.log10(z + 1e-12) > rel]
    return None if z.size == 0 else float(-0.691 + 10 * np.log10(z.mean()))


def spectral_centroid(mono: np.ndarray, sr: int, n_fft: int = 2048) -> float | None:
    hop = n_fft // 2
    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    idx = np.arange(n_fft)[None, :] + hop * np.arange(1 + (mono.size - n_fft) // hop)[:, None]
    mag = np.abs(np.fft.rfft(mono[idx] * np.hanning(n_fft), axis=1))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    energy = mag.sum(axis=1)
    keep = energy > energy.max() * 1e-3 if energy.max() > 0 else np.zeros_like(energy, bool)
    if not keep.any():
        return None
    return float(np.average((mag[keep] @ freqs) / energy[keep], weights=energy[keep]))


def estimate_f0(mono: np.ndarray, sr: int, fmin: float = 40.0, fmax: float = 2000.0) -> tuple[float | None, float]:
    """YIN-style f0 over the loudest frames: (f0 in Hz or None, periodicity 0-1)."""
    target = 16_000
    x = resample(mono, sr, target) if sr != target else mono.astype(np.float32)
    frame, hop = 2048, 512
    if x.size < frame:
        return None, 0.0
    starts = np.arange(0, x.size - frame + 1, hop)
    rms = np.array([np.sqrt(np.mean(x[s : s + frame] ** 2)) for s in starts])
    loud = starts[rms >= np.max(rms) * 0.3][:40]
    tau_min, tau_max = int(target / fmax), min(int(target / fmin), frame // 2)
    f0s, confs = [], []
    for s in loud:
        w = x[s : s + frame]
        d = np.array([np.sum((w[: frame - t] - w[t:]) ** 2) for t in range(tau_max + 1)])
        cmnd = d[1:] * np.arange(1, tau_max + 1) / np.maximum(np.cumsum(d[1:]), 1e-12)
        cmnd = np.concatenate([[1.0], cmnd])
        region = cmnd[tau_min : tau_max + 1]
        below = np.where(region < 0.15)[0]
        t = (below[0] if below.size else int(np.argmin(region))) + tau_min
        while t + 1 <= tau_max and cmnd[t + 1] < cmnd[t]:
            t += 1
        if 1 <= t < tau_max:  # parabolic interpolation
            a, b, c = cmnd[t - 1], cmnd[t], cmnd[t + 1]
            denom = a - 2 * b + c
            t = t + 0.5 * (a - c) / denom if denom != 0 else t
        f0s.append(target / t)
        confs.append(1.0 - float(min(cmnd[int(round(t))], 1.0)))
    conf = float(np.median(confs)) if confs else 0.0
    if conf < 0.6:
        return None, conf
    return float(np.median(f0s)), conf


def quick_analysis(audio: Audio) -> QuickAnalysis:
    x = audio.samples
    mono = audio.mono()
    peak = float(np.max(np.abs(x)))
    rms = float(np.sqrt(np.mean(x**2)))
    silent = peak < 1e-4
    f0, conf = (None, 0.0) if silent else estimate_f0(mono, audio.sample_rate)
    return QuickAnalysis(
        duration_s=round(audio.duration, 4),
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        peak_dbfs=round(_db(peak), 2),
        rms_dbfs=round(_db(rms), 2),
        loudness_lufs=None if silent else _round(integrated_loudness(x.astype(np.float64), audio.sample_rate)),
        spectral_centroid_hz=None if silent else _round(spectral_centroid(mono, audio.sample_rate)),
        f0_hz=_round(f0),
        f0_confidence=round(conf, 3),
        midi_note=None if f0 is None else round(69 + 12 * float(np.log2(f0 / 440.0)), 2),
        is_silent=silent,
    )


def _round(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(float(v), nd)
