"""Measured descriptors of a sound, for text the assistant (who cannot listen) can read:
pitch (and its movement), brightness, noisiness, envelope. Plain numpy; about 0.1 s for a 2 s sound."""

from __future__ import annotations

import math

import numpy as np


def _frames(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    count = 1 + (x.size - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
    return x[idx]


def estimate_f0(x: np.ndarray, sr: int, fmin: float = 30.0, fmax: float = 2000.0, *, whole: bool = False) -> tuple[float | None, float]:
    """Autocorrelation pitch of the loudest 0.2 s (or of all of ``x``); returns (Hz or None,
    periodicity 0..1)."""
    if whole:
        seg = x
        if seg.size < int(sr / fmin) * 2:
            fmin = 2.0 * sr / max(seg.size, 1)
    else:
        n = min(x.size, int(0.2 * sr))
        if n < int(sr / fmin) * 2:
            return None, 0.0
        hop = max(1, n // 4)
        frames = _frames(x, n, hop)
        seg = frames[int(np.argmax((frames**2).sum(axis=1)))]
    seg = (seg - seg.mean()) * np.hanning(seg.size)
    spec = np.fft.rfft(seg, 2 * seg.size)
    ac = np.fft.irfft(np.abs(spec) ** 2)[: seg.size]
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    lo, hi = int(sr / fmax), min(int(sr / fmin), ac.size - 1)
    if hi <= lo + 1:
        return None, 0.0
    lag = lo + int(np.argmax(ac[lo:hi]))
    strength = float(ac[lag])
    if lag <= lo:  # the maximum sits on the search boundary: no pitch in range
        return None, max(0.0, strength)
    if strength < 0.3:
        return None, max(0.0, strength)
    # Parabolic refinement
    lag_f = float(lag)
    if 1 <= lag < ac.size - 1:
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
        d = a - 2 * b + c
        if d < 0:  # a proper peak: refine by a parabola through the three points
            lag_f = lag + float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))
    if not np.isfinite(lag_f) or lag_f <= 0:
        return None, 0.0
    return float(sr / lag_f), strength


def pitch_track(x: np.ndarray, sr: int, frame_s: float = 0.05) -> np.ndarray:
    """f0 (Hz) of each ``frame_s`` frame that is clearly periodic and not quiet; NaN elsewhere."""
    n = int(frame_s * sr)
    fr = _frames(x, n, n)
    e = (fr**2).mean(axis=1)
    out = np.full(fr.shape[0], np.nan)
    if e.max() <= 0:
        return out
    for i in np.nonzero(e > 0.01 * e.max())[0]:
        f, strength = estimate_f0(fr[i], sr, fmin=50.0, fmax=4000.0, whole=True)
        if f and strength >= 0.5:
            out[i] = f
    return out


def describe(mono: np.ndarray, sr: int) -> dict[str, float | str | None]:
    """Descriptors of a mono float signal."""
    x = np.asarray(mono, dtype=np.float64).reshape(-1)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 1e-5:
        return {"silent": "yes"}
    x = x / peak
    n_fft, hop = 2048, 512
    fr = _frames(x, n_fft, hop)
    mag = np.abs(np.fft.rfft(fr * np.hanning(n_fft), axis=1))
    power = mag**2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    frame_e = power.sum(axis=1)
    active = frame_e > frame_e.max() * 1e-3
    p = power[active]
    centroid = float(np.sum(p * freqs) / np.sum(p))
    cum = np.cumsum(p.sum(axis=0))
    rolloff = float(freqs[int(np.searchsorted(cum, 0.85 * cum[-1]))])
    flat = np.exp(np.mean(np.log(p + 1e-12), axis=1)) / (np.mean(p, axis=1) + 1e-12)
    flatness = float(np.median(flat))
    rms = np.sqrt(np.mean(_frames(x, 480 * sr // 48000 or 1, max(1, sr // 200)) ** 2, axis=1))  # 5 ms hop
    t = np.arange(rms.size) / 200.0
    top = float(rms.max())
    i_peak = int(np.argmax(rms))
    above = np.nonzero(rms >= 0.1 * top)[0]
    reach = np.nonzero(rms >= 0.9 * top)[0]
    attack = float(t[reach[0]] - t[above[0]]) if above.size and reach.size else 0.0  # 10 % -> 90 %
    last = float(t[above[-1]]) if above.size else 0.0
    sounding = float((rms >= 0.1 * top).mean())
    # Amplitude modulation: spread of the envelope while it sounds.
    env = rms[rms >= 0.1 * top]
    wobble = float(np.std(np.diff(env)) / (np.mean(env) + 1e-9)) if env.size > 2 else 0.0
    f0, periodicity = estimate_f0(x, sr)
    midi = 69 + 12 * math.log2(f0 / 440.0) if f0 else None
    track = pitch_track(x, sr)
    ok = track[np.isfinite(track)]
    if ok.size >= 3:
        semis = 12 * np.log2(ok / np.median(ok))
        pitch_range = float(np.percentile(semis, 90) - np.percentile(semis, 10))
    else:
        pitch_range = 0.0
    pitched_fraction = float(np.isfinite(track).mean()) if track.size else 0.0
    return {
        "f0_hz": round(f0, 1) if f0 else None,
        "midi": round(midi, 1) if midi is not None else None,
        "periodicity": round(periodicity, 3),
        "pitch_range_semitones": round(pitch_range, 2),
        "pitched_fraction": round(pitched_fraction, 3),
        "centroid_hz": round(centroid, 1),
        "rolloff85_hz": round(rolloff, 1),
        "flatness": round(flatness, 4),
        "attack_s": round(attack, 3),
        "peak_at_s": round(float(t[i_peak]), 3),
        "ends_at_s": round(last, 3),
        "sounding_fraction": round(sounding, 3),
        "envelope_wobble": round(wobble, 3),
    }


def words_for(d: dict) -> str:
    """A short plain-language reading of ``describe``'s numbers (thresholds stated in the code)."""
    if d.get("silent"):
        return "silent"
    parts = []
    if d.get("f0_hz") and (d.get("periodicity") or 0) >= 0.5:
        parts.append(f"pitched at about {d['f0_hz']:.0f} Hz (MIDI {d['midi']:.0f})")
    else:
        parts.append("no clear pitch")
    c = d["centroid_hz"]
    parts.append("dark" if c < 800 else "mid-bright" if c < 2500 else "bright" if c < 6000 else "very bright/hissy")
    fl = d["flatness"]
    parts.append("noisy" if fl > 0.3 else "partly noisy" if fl > 0.05 else "tonal")
    a = d["attack_s"]
    parts.append("sharp attack" if a < 0.02 else "quick attack" if a < 0.1 else f"slow {a:.2f} s attack")
    parts.append("sustained" if d["sounding_fraction"] > 0.7 else "short" if d["sounding_fraction"] < 0.25 else "decaying")
    if d.get("pitch_range_semitones", 0) > 2:
        parts.append(f"pitch moves over {d['pitch_range_semitones']:.0f} semitones")
    if d["envelope_wobble"] > 0.15:
        parts.append("wobbling level (LFO-like)")
    return ", ".join(parts)
