"""Rendering a chain with pedalboard (the final audio is always made here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pedalboard

from .effects import EFFECTS, FxStage, stage_arguments, walk


def make_plugin(stage: FxStage, arguments: dict[str, float]) -> Any:
    """The pedalboard plugin of ``stage`` with its fixed arguments and ``arguments``."""
    return getattr(pedalboard, stage.plugin)(**{**stage.fixed, **arguments})


def build_stage_plugins(chain: list[str], normalized: np.ndarray, sample_rate: int) -> list[list[Any]]:
    """Per effect, its pedalboard plugin objects for the normalised settings."""
    out: list[list[Any]] = [[] for _ in chain]
    for i, _name, stage, xs in walk(chain, normalized):
        out[i].append(make_plugin(stage, stage_arguments(stage, xs, sample_rate)))
    return out


def build_board(chain: list[str], normalized: np.ndarray, sample_rate: int) -> pedalboard.Pedalboard:
    return pedalboard.Pedalboard([p for eff in build_stage_plugins(chain, normalized, sample_rate) for p in eff])


def render(chain: list[str], normalized: np.ndarray, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(channels, frames) float32 -> same shape, processed by pedalboard."""
    x = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    if not chain:
        return x.copy()
    y = build_board(chain, normalized, sample_rate)(x, sample_rate)
    return np.ascontiguousarray(y[:, : x.shape[1]], dtype=np.float32)


def render_plugins(plugins: list[Any], audio: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    for p in plugins:
        x = p(x, sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def tail_seconds(chain: list[str], normalized: np.ndarray | None = None) -> float:
    """How much silence to append so reverb and delay tails are kept (the longest declared tail)."""
    return max((EFFECTS[name].tail_s for name in chain), default=0.0)


def trim_tail(y: np.ndarray, keep_frames: int, sample_rate: int, floor_db: float = -80.0) -> np.ndarray:
    """Cut the padded silence after the last sample above floor_db (never before keep_frames)."""
    level = np.abs(y).max(axis=0)
    thresh = 10 ** (floor_db / 20)
    above = np.nonzero(level > thresh)[0]
    end = max(keep_frames, int(above[-1]) + 1 + int(0.05 * sample_rate) if above.size else keep_frames)
    return y[:, : min(end, y.shape[1])]


# ----------------------------------------------------------------------------- clean endings and levels
END_FADE_S = 0.010  # the input's last 10 ms fade out before processing (a cut-off input would click inside a tail)
TAIL_FADE_S = 0.050  # the output's last 50 ms fade out (a trimmed tail or a filter's ringing ends at zero)
TRUE_PEAK_CEILING_DB = -0.3
LIMIT_CEILING_DB = -1.0  # sample-peak ceiling of the limiter, under the true-peak one for inter-sample overs
LOUDNESS_TOLERANCE_LU = 1.0


def fade_end(y: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """Half-cosine fade-out over the last ``seconds`` of (channels, frames) audio."""
    y = np.array(y, dtype=np.float32, copy=True)
    n = min(y.shape[-1], max(1, int(seconds * sample_rate)))
    y[..., -n:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, n))).astype(np.float32)
    return y


def true_peak_db(y: np.ndarray) -> float:
    """Peak of the 4x oversampled signal (BS.1770's true peak), dBFS."""
    from scipy.signal import resample_poly

    x = np.atleast_2d(np.asarray(y, dtype=np.float64))
    if x.size == 0:
        return -np.inf
    peak = max(float(np.max(np.abs(resample_poly(ch, 4, 1)))) for ch in x)
    return 20 * np.log10(max(peak, 1e-12))


def loudness_db(y: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness (LUFS); RMS in dBFS - 3 for clips too short to gate (under 0.4 s)."""
    from lstmabar.library.descriptors.loudness import integrated_lufs

    v = integrated_lufs(np.atleast_2d(y), sample_rate)
    if np.isfinite(v):
        return float(v)
    rms = float(np.sqrt(np.mean(np.asarray(y, dtype=np.float64) ** 2)))
    return 20 * np.log10(max(rms, 1e-12)) - 3.0


def end_step_db(y: np.ndarray, at: int, sample_rate: int) -> float:
    """How much the sample-to-sample change around frame ``at`` (within 2 ms) stands above the typical
    change over the 50 ms before it, dB: a click or a cut shows as a step well above 0 dB."""
    x = np.atleast_2d(np.asarray(y, dtype=np.float64))
    d = np.abs(np.diff(x, axis=-1, append=0.0)).max(axis=0)  # the last sample steps to silence after the end
    w = max(1, int(0.002 * sample_rate))
    lo = max(0, at - int(0.05 * sample_rate))
    ref = float(np.percentile(d[lo : max(lo + 1, at - w)], 99)) if at - w > lo else float(np.percentile(d, 99))
    local = float(d[max(0, at - w) : min(d.shape[0], at + w)].max()) if d.shape[0] else 0.0
    return 20 * np.log10(max(local, 1e-9) / max(ref, 1e-9))


def peak_limit(y: np.ndarray, sample_rate: int, ceiling_db: float, *, lookahead_s: float = 0.0015, hold_s: float = 0.005) -> np.ndarray:
    """Look-ahead peak limiter: the gain each (4x oversampled) peak needs, held for ``hold_s`` and
    smoothed over ``lookahead_s`` centred on it, so the gain is down before the peak arrives."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    x = np.atleast_2d(np.asarray(y, dtype=np.float64))
    n = x.shape[1]
    over = np.abs(resample_poly(x, 4, 1, axis=1))[:, : 4 * n].reshape(x.shape[0], n, 4).max(axis=2).max(axis=0)
    ceiling = 10 ** (ceiling_db / 20)
    need = np.minimum(1.0, ceiling / np.maximum(over, 1e-12))
    la = max(1, int(lookahead_s * sample_rate))
    g = minimum_filter1d(need, size=2 * la + max(1, int(hold_s * sample_rate)), mode="nearest")
    g = uniform_filter1d(g, size=la, mode="nearest")
    return (x * np.minimum(g, need)[None, :]).astype(np.float32)


@dataclass
class Finish:
    audio: np.ndarray
    gain_db: float  # applied to keep (or set) the loudness
    limited: bool  # a limiter held the true peak
    loudness_in: float
    loudness_out: float
    true_peak_db: float
    notes: list[str]


def finish(y: np.ndarray, dry: np.ndarray, sample_rate: int, *, loudness_change_db: float = 0.0, keep_loudness: bool = True) -> Finish:
    """Fade the end, then set the loudness to the input's (plus ``loudness_change_db``) and keep the true
    peak at or under -0.3 dBFS (by a limiter when the loudness asks for more than the headroom allows)."""
    y = fade_end(y, sample_rate, TAIL_FADE_S)
    notes: list[str] = []
    l_in = loudness_db(dry, sample_rate)
    l_out = loudness_db(y, sample_rate)
    gain = (l_in + loudness_change_db - l_out) if keep_loudness and np.isfinite(l_in) and np.isfinite(l_out) else 0.0
    y = (y * 10 ** (gain / 20)).astype(np.float32)
    tp = true_peak_db(y)
    limited = False
    if keep_loudness and tp - TRUE_PEAK_CEILING_DB > 0.5:
        # limit, then bring back the loudness the limiter took (three rounds at most)
        want = l_in + loudness_change_db
        src, boost = y, 0.0
        for _ in range(3):
            y = peak_limit(src * 10 ** (boost / 20), sample_rate, LIMIT_CEILING_DB)
            short = want - loudness_db(y, sample_rate)
            if not np.isfinite(short) or abs(short) < 0.3:
                break
            boost = min(boost + short, 12.0)
        limited = True
        tp = true_peak_db(y)
    if tp > TRUE_PEAK_CEILING_DB:  # what the limiter left over, by gain
        y = (y * 10 ** ((TRUE_PEAK_CEILING_DB - 0.05 - tp) / 20)).astype(np.float32)
        tp = true_peak_db(y)
    l_final = loudness_db(y, sample_rate)
    if limited:
        notes.append(f"A limiter kept the true peak at {tp:.1f} dBFS.")
    if keep_loudness and np.isfinite(l_in) and abs(l_final - (l_in + loudness_change_db)) > LOUDNESS_TOLERANCE_LU:
        notes.append(f"Loudness {l_final:.1f} LUFS against the {l_in + loudness_change_db:.1f} asked for (the true-peak ceiling allowed no more).")
    return Finish(y, gain, limited, l_in, l_final, tp, notes)
