"""Spectral shape: centroid, roll-off, flatness, bandwidth (librosa's STFT and librosa's definitions,
per frame, weighted by the frame's energy), the slope of the long-term spectrum, energy in named bands and on the 40 Audealize
EQ band centres (so a measured spectrum lines up with the crowd's EQ curves).

Written for a batch (B, samples); one sound is a batch of one, so the search's batched numbers and
a single sound's numbers are the same computation."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, Field

from ._signal import nan_to_none

# Producers' names for frequency regions (Hz, lower edge inclusive).
BANDS: tuple[tuple[str, float, float], ...] = (
    ("sub", 20.0, 60.0),
    ("low", 60.0, 250.0),
    ("low_mid", 250.0, 500.0),
    ("mid", 500.0, 2000.0),
    ("high_mid", 2000.0, 4000.0),
    ("presence", 4000.0, 6000.0),
    ("air", 6000.0, 20000.0),
)
LOW_END_HZ = 500.0  # "low end" (thin / full): everything below the mids

# Band centres of the Audealize / SocialFX EQ curves (../shared/data/README.md).
AUDEALIZE_CENTRES = np.array(
    [20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273, 1452, 1652, 1875, 2126,
     2406, 2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014, 7875, 8839, 9917, 11124, 12474, 13984, 15675,
     17566, 19682], dtype=np.float64)

ACTIVE_DB = 40.0  # frames within this many dB of the loudest frame are described


class SpectrumDescriptors(BaseModel):
    centroid_hz: float | None = Field(None, description="Spectral centroid (energy-weighted over the sounding frames); higher is brighter.")
    rolloff85_hz: float | None = Field(None, description="Frequency below which 85 % of the spectral magnitude lies.")
    bandwidth_hz: float | None = Field(None, description="Spread of the spectrum around its centroid.")
    flatness: float | None = Field(None, description="Spectral flatness 0-1: near 0 for a few clean partials, about 0.5 for white noise.")
    slope_db_per_octave: float | None = Field(None, description="Tilt of the long-term spectrum (power per Hz) from 100 Hz up: white noise 0, pink noise -3.")
    low_end_db: float | None = Field(None, description=f"Share of the energy below {LOW_END_HZ:g} Hz, dB (0 = all of it).")
    bands_db: dict[str, float | None] = Field(default_factory=dict, description="Share of the energy in each named band, dB: " + ", ".join(f"{n} {lo:g}-{hi:g} Hz" for n, lo, hi in BANDS) + ". Null above the Nyquist frequency.")
    audealize_db: list[float | None] = Field(default_factory=list, description="Level at the 40 Audealize EQ band centres (20 Hz ... 19.7 kHz), dB relative to their mean: compare directly with a crowd EQ curve. Null above the Nyquist frequency.")


def n_fft_for(sr: int) -> int:
    """About 46 ms: 2048 at 44.1/48 kHz, 1024 at 16-22 kHz."""
    return int(2 ** round(np.log2(0.0464 * sr)))


def _band_edges() -> np.ndarray:
    c = AUDEALIZE_CENTRES
    mids = np.sqrt(c[1:] * c[:-1])
    return np.concatenate([[c[0] ** 2 / mids[0]], mids, [c[-1] ** 2 / mids[-1]]])


FRAME_FEATURES = ("centroid_hz", "rolloff85_hz", "bandwidth_hz", "flatness")
LTAS_FEATURES = ("slope_db_per_octave", "low_end_db", "audealize") + tuple(f"bands.{n}" for n, _, _ in BANDS)
FEATURES = FRAME_FEATURES + LTAS_FEATURES  # every name ``spectrum_batch`` returns


def frame_features(mag: np.ndarray, power: np.ndarray, freqs: np.ndarray, names: Iterable[str] = FRAME_FEATURES) -> dict[str, np.ndarray]:
    """librosa's spectral centroid, bandwidth (p = 2), 85 % roll-off and flatness of every frame of a
    (B, F, N) magnitude spectrogram, with librosa's definitions (tests/test_descriptors.py checks them
    against librosa.feature) but computed in one vectorised pass: librosa's generic normalisation
    took two thirds of a batch's time. Only ``names`` are computed (the search's brief reads one or two)."""
    names = set(names)
    out: dict[str, np.ndarray] = {}
    if names & {"centroid_hz", "bandwidth_hz"}:
        f = freqs.astype(np.float32)[None, :, None]
        total = mag.sum(axis=1, keepdims=True)
        share = mag / np.maximum(total, np.finfo(np.float32).tiny)
        centroid = (share * f).sum(axis=1)
        if "centroid_hz" in names:
            out["centroid_hz"] = centroid
        if "bandwidth_hz" in names:
            out["bandwidth_hz"] = np.sqrt((share * (f - centroid[:, None, :]) ** 2).sum(axis=1))
    if "rolloff85_hz" in names:
        cum = np.cumsum(mag, axis=1)
        k = np.argmax(cum >= 0.85 * cum[:, -1:, :], axis=1)
        out["rolloff85_hz"] = freqs[k]
    if "flatness" in names:
        p = np.maximum(power, 1e-10)
        out["flatness"] = np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)
    return {k: out[k] for k in FRAME_FEATURES if k in out}


def spectrum_batch(x: np.ndarray, sr: int, features: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """(B, samples) mono -> {name: (B,) array} (``bands.<name>``: (B,), ``audealize``: (B, 40)); NaN for silence.
    ``features``: only these names of ``FEATURES`` (None: all); each is computed exactly as in the full set."""
    import librosa

    want = set(FEATURES) if features is None else set(features)
    unknown = want - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown spectrum features {sorted(unknown)}; known: {', '.join(FEATURES)}")
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    b = x.shape[0]
    n_fft = n_fft_for(sr)
    if x.shape[1] < n_fft:
        x = np.pad(x, ((0, 0), (0, n_fft - x.shape[1])))
    mag = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4, center=True))  # (B, F, N) float32
    power = mag * mag
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    e = power.sum(axis=1, dtype=np.float64)  # (B, N)
    top = e.max(axis=1, keepdims=True)
    active = (e >= top * 10 ** (-ACTIVE_DB / 10)) & (top > 0)
    w = np.where(active, e, 0.0)
    wsum = w.sum(axis=1)
    ok = wsum > 0
    safe = np.where(ok, wsum, 1.0)

    def agg(v: np.ndarray) -> np.ndarray:
        return np.where(ok, (np.nan_to_num(v) * w).sum(axis=1) / safe, np.nan)

    out: dict[str, np.ndarray] = {k: agg(v) for k, v in frame_features(mag, power, freqs, want & set(FRAME_FEATURES)).items()}
    if want & set(LTAS_FEATURES):
        out.update(_ltas_features(power, active, freqs, sr, b, want))
    for k, v in out.items():
        if v.ndim == 1:
            out[k] = np.where(ok, v, np.nan)
        else:
            out[k] = np.where(ok[:, None], v, np.nan)
    return out


def _ltas_features(power: np.ndarray, active: np.ndarray, freqs: np.ndarray, sr: int, b: int, want: set[str]) -> dict[str, np.ndarray]:
    """The features of the long-term average spectrum of the sounding frames (those of ``want``)."""
    out: dict[str, np.ndarray] = {}
    count = np.maximum(active.sum(axis=1), 1)
    ltas = (power * active[:, None, :]).sum(axis=2) / count[:, None]  # (B, F)
    nyq = sr / 2.0
    audible = freqs >= 20.0
    total = ltas[:, audible].sum(axis=1)
    total = np.where(total > 0, total, np.nan)
    for name, lo, hi in BANDS:
        if f"bands.{name}" not in want:
            continue
        sel = (freqs >= lo) & (freqs < min(hi, nyq))
        out[f"bands.{name}"] = 10 * np.log10(ltas[:, sel].sum(axis=1) / total + 1e-12) if lo < nyq and sel.any() else np.full(b, np.nan)
    if "low_end_db" in want:
        sel = audible & (freqs < LOW_END_HZ)
        out["low_end_db"] = 10 * np.log10(ltas[:, sel].sum(axis=1) / total + 1e-12)
    if "slope_db_per_octave" in want:
        # third-octave power densities from 100 Hz to 16 kHz (or 0.9 Nyquist), regressed on octaves
        centres = 1000.0 * 2.0 ** (np.arange(-10, 13) / 3.0)
        centres = centres[(centres >= 100.0) & (centres * 2 ** (1 / 6) <= min(16000.0, 0.9 * nyq))]
        dens, oct_ = [], []
        for c in centres:
            sel = (freqs >= c * 2 ** (-1 / 6)) & (freqs < c * 2 ** (1 / 6))
            if sel.any():
                dens.append(ltas[:, sel].mean(axis=1))
                oct_.append(np.log2(c / 1000.0))
        if len(dens) >= 3:
            y = 10 * np.log10(np.stack(dens, axis=1) + 1e-30)  # (B, K)
            o = np.asarray(oct_) - np.mean(oct_)
            out["slope_db_per_octave"] = ((y - y.mean(axis=1, keepdims=True)) * o).sum(axis=1) / (o**2).sum()
        else:
            out["slope_db_per_octave"] = np.full(b, np.nan)
    if "audealize" in want:
        # the 40 Audealize bands: mean power density per band (interpolated where a band holds no bin)
        edges = _band_edges()
        prof = np.full((b, len(AUDEALIZE_CENTRES)), np.nan)
        for k, c in enumerate(AUDEALIZE_CENTRES):
            if c >= nyq:
                continue
            sel = (freqs >= edges[k]) & (freqs < min(edges[k + 1], nyq))
            if sel.any():
                prof[:, k] = ltas[:, sel].mean(axis=1)
            else:
                prof[:, k] = [np.interp(c, freqs, row) for row in ltas]
        prof = 10 * np.log10(prof + 1e-30)
        out["audealize"] = prof - np.nanmean(prof, axis=1, keepdims=True)
    return out


def from_batch(row: dict[str, np.ndarray], i: int = 0) -> SpectrumDescriptors:
    r = lambda k, nd: nan_to_none(row[k][i], nd)  # noqa: E731
    return SpectrumDescriptors(
        centroid_hz=r("centroid_hz", 1),
        rolloff85_hz=r("rolloff85_hz", 1),
        bandwidth_hz=r("bandwidth_hz", 1),
        flatness=r("flatness", 4),
        slope_db_per_octave=r("slope_db_per_octave", 2),
        low_end_db=r("low_end_db", 2),
        bands_db={name: r(f"bands.{name}", 2) for name, _, _ in BANDS},
        audealize_db=[nan_to_none(v, 2) for v in row["audealize"][i]],
    )
