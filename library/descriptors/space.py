"""Space: stereo width and inter-channel correlation, and a reverberance estimate that tells a dry
sound from a roomy one.

Reverberance, blind (no impulse response): in a room no fall of the level can be faster than the
room's own decay, while a dry sound can stop at once. So the estimate is the *fastest* 20 dB fall
anywhere in the sound (from a level within 30 dB of the peak, without the level rising again on the
way), stated like a reverberation time: ``reverb_time_s`` = 3 x that fall's duration (60 dB at that
rate). A sound that never falls by 20 dB (a held note cut by the clip's end, steady noise) gives no
estimate. Notes that ring for long (a piano let ring) read as roomy too: blind estimation cannot
tell a long decay of the source from the room's.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ._signal import level_envelope, nan_to_none

FALL_DB = 20.0
START_WITHIN_DB = 30.0
SMOOTH_S = 0.03
MAX_FALL_S = 4.0


class SpaceDescriptors(BaseModel):
    stereo: bool = Field(False, description="True when the sound has two or more channels that differ.")
    width: float | None = Field(None, description="Side energy / (mid + side) energy, 0-1: 0 mono, 0.5 uncorrelated or one side only, 1 out of phase.")
    correlation: float | None = Field(None, description="Correlation of the left and right channels (1 mono, 0 unrelated, -1 inverted).")
    fastest_fall_db_per_s: float | None = Field(None, description="The fastest 20 dB fall of the level anywhere in the sound, dB/s.")
    reverb_time_s: float | None = Field(None, description="That fall as a reverberation time (60 dB at that rate): short for dry sounds, long for roomy ones; null when the sound never falls by 20 dB.")


def stereo_image(samples: np.ndarray) -> tuple[bool, float, float]:
    """(C, T) -> (stereo?, width, correlation) of the first two channels."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1 or x.shape[0] < 2:
        return False, 0.0, 1.0
    left, right = x[0], x[1]
    mid, side = 0.5 * (left + right), 0.5 * (left - right)
    em, es = float(np.sum(mid**2)), float(np.sum(side**2))
    if em + es <= 0:
        return False, 0.0, 1.0
    el, er = float(np.sum(left**2)), float(np.sum(right**2))
    corr = float(np.sum(left * right) / np.sqrt(el * er)) if el > 0 and er > 0 else 0.0
    return es > 1e-9 * (em + es), es / (em + es), corr


def _fastest_fall(ldb: np.ndarray, dt: float) -> float:
    """Fastest FALL_DB fall (dB/s) of a smoothed dB envelope (re peak); NaN when none."""
    k = max(1, int(round(SMOOTH_S / dt)))
    s = np.convolve(ldb, np.ones(k) / k, mode="same")
    look = int(MAX_FALL_S / dt)
    # starts: local maxima (over the preceding 50 ms and the next frame) within 30 dB of the peak
    w = max(1, int(round(0.05 / dt)))
    best = np.inf
    for i in np.nonzero(s >= -START_WITHIN_DB)[0]:
        if s[i] < s[max(0, i - w) : i + 2].max():
            continue
        seg = s[i + 1 : i + 1 + look]
        below = np.nonzero(seg <= s[i] - FALL_DB)[0]
        if below.size == 0:
            continue
        j = int(below[0])
        if j > 0 and seg[:j].max() > s[i] + 1.0:
            continue
        prev = s[i] if j == 0 else seg[j - 1]
        frac = (prev - (s[i] - FALL_DB)) / max(prev - seg[j], 1e-9)
        best = min(best, (j + frac) * dt)
    return FALL_DB / best if np.isfinite(best) and best > 0 else float("nan")


def reverb_batch(x: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    env, dt = level_envelope(x, sr)
    fall = np.full(x.shape[0], np.nan)
    for b in range(x.shape[0]):
        peak = float(env[b].max())
        if peak > 1e-7:
            fall[b] = _fastest_fall(20 * np.log10(np.maximum(env[b] / peak, 1e-5)), dt)
    return {"fastest_fall_db_per_s": fall, "reverb_time_s": 60.0 / fall}


def from_parts(samples: np.ndarray, row: dict[str, np.ndarray], i: int = 0) -> SpaceDescriptors:
    stereo, width, corr = stereo_image(samples)
    return SpaceDescriptors(
        stereo=stereo,
        width=round(width, 4),
        correlation=round(corr, 4),
        fastest_fall_db_per_s=nan_to_none(row["fastest_fall_db_per_s"][i], 1),
        reverb_time_s=nan_to_none(row["reverb_time_s"][i], 3),
    )
