"""Level and loudness: sample peak and RMS, ITU-R BS.1770 integrated loudness (pyloudnorm), and
ISO 532-1 stationary loudness with DIN 45692 sharpness (MoSQITo) on the loudest second.

MoSQITo needs sound pressure: digital full scale is taken as 1 Pa, so a full-scale sine plays at
91 dB SPL (RMS 0.707 Pa). The sone and acum figures compare sounds with one another under that
assumption; they are not a measurement of any real playback level."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ._signal import channels_first, db, nan_to_none, to_rate

PSYCHO_SR = 48_000
PSYCHO_SECONDS = 1.0  # the loudest second: ~0.1 s of MoSQITo time per call on this project's CPU
BS1770_MIN_S = 0.4  # one gating block


class LoudnessDescriptors(BaseModel):
    peak_dbfs: float | None = Field(None, description="Highest absolute sample, dB full scale.")
    rms_dbfs: float | None = Field(None, description="RMS level of the whole clip, dB full scale.")
    integrated_lufs: float | None = Field(None, description="ITU-R BS.1770-4 integrated loudness (gated), LUFS; null under 0.4 s or when all blocks are gated out.")
    loudness_sone: float | None = Field(None, description="ISO 532-1 (Zwicker) stationary loudness of the loudest second, sone (full scale = 1 Pa).")
    sharpness_acum: float | None = Field(None, description="DIN 45692 sharpness of the loudest second, acum.")


def integrated_lufs(samples: np.ndarray, sr: int) -> float:
    import pyloudnorm

    x = channels_first(samples)
    if x.shape[1] < int(BS1770_MIN_S * sr) + 1:
        return float("nan")
    value = pyloudnorm.Meter(int(sr)).integrated_loudness(x.T.copy())
    return float(value) if np.isfinite(value) else float("nan")


def level_batch(x: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """(B, samples) -> peak, RMS and integrated loudness of each row (mono)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    peak = np.abs(x).max(axis=1)
    rms = np.sqrt(np.mean(x**2, axis=1))
    lufs = np.array([integrated_lufs(row, sr) if p > 0 else np.nan for row, p in zip(x, peak)])
    return {"peak_dbfs": np.where(peak > 0, db(peak), np.nan), "rms_dbfs": np.where(rms > 0, db(rms), np.nan), "integrated_lufs": lufs}


def loudest_stretch(mono: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    n = int(seconds * sr)
    if mono.size <= n:
        return mono
    hop = max(1, sr // 20)
    c = np.concatenate([[0.0], np.cumsum(mono.astype(np.float64) ** 2)])
    starts = np.arange(0, mono.size - n + 1, hop)
    s = int(starts[np.argmax(c[starts + n] - c[starts])])
    return mono[s : s + n]


def psychoacoustic(mono: np.ndarray, sr: int) -> tuple[float, float]:
    """(loudness sone, sharpness acum) of the loudest second; NaN when MoSQITo cannot measure it."""
    from mosqito.sq_metrics import loudness_zwst, sharpness_din_from_loudness

    y = to_rate(loudest_stretch(np.asarray(mono, dtype=np.float64), sr, PSYCHO_SECONDS), sr, PSYCHO_SR)
    if y.size < PSYCHO_SR // 10:
        y = np.pad(y, (0, PSYCHO_SR // 10 - y.size))
    try:
        n, n_spec, _bark = loudness_zwst(y, PSYCHO_SR, field_type="free")
        s = sharpness_din_from_loudness(n, n_spec, weighting="din")
    except (ValueError, IndexError, ZeroDivisionError, FloatingPointError):
        return float("nan"), float("nan")
    return float(n), float(s)


def measure_loudness(samples: np.ndarray, sr: int, *, psycho: bool = True) -> LoudnessDescriptors:
    x = channels_first(samples)
    peak = float(np.abs(x).max())
    rms = float(np.sqrt(np.mean(x**2)))
    sone = sharp = float("nan")
    if psycho and peak > 0:
        sone, sharp = psychoacoustic(x.mean(axis=0), sr)
    return LoudnessDescriptors(
        peak_dbfs=nan_to_none(db(peak), 2) if peak > 0 else None,
        rms_dbfs=nan_to_none(db(rms), 2) if rms > 0 else None,
        integrated_lufs=nan_to_none(integrated_lufs(x, sr), 2),
        loudness_sone=nan_to_none(sone, 3),
        sharpness_acum=nan_to_none(sharp, 3),
    )
