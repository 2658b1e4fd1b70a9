"""Shared helpers: channel layout, mono mix, resampling, dB, the 5 ms level envelope."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..audio_io import as_channels_first, resample

SILENT_PEAK = 1e-5  # -100 dBFS: nothing audible to describe
ENVELOPE_RATE = 200.0  # level-envelope frames per second (5 ms)


# (channels, samples) float64: descriptors measure in double precision
channels_first = functools.partial(as_channels_first, dtype=np.float64)


def to_mono(samples: np.ndarray) -> np.ndarray:
    return channels_first(samples).mean(axis=0)


def to_rate(mono: np.ndarray, sr: int, target: int) -> np.ndarray:
    return np.asarray(resample(np.asarray(mono, dtype=np.float64), int(sr), int(target)), dtype=np.float64)


def db(x: np.ndarray | float, floor: float = 1e-10) -> np.ndarray | float:
    return 20.0 * np.log10(np.maximum(np.abs(x), floor))


def hz_to_midi(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: float) -> str:
    """'A4 +3 cents' style name of a (fractional) MIDI note."""
    n = int(round(midi))
    cents = int(round(100 * (midi - n)))
    name = f"{NOTE_NAMES[n % 12]}{n // 12 - 1}"
    return name if cents == 0 else f"{name} {cents:+d} cents"


def envelope_hop(sr: int) -> int:
    return max(1, int(round(sr / ENVELOPE_RATE)))


def level_envelope(x: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """(B, T) -> RMS per 5 ms frame (B, N) and the frame length in seconds. A 20 Hz high-pass first:
    sub-audio content (DC, infrasonic drift in noise) would otherwise make the level wander."""
    from scipy.signal import butter, sosfilt

    x = sosfilt(butter(2, 20.0, btype="highpass", fs=sr, output="sos"), x, axis=-1)
    hop = envelope_hop(sr)
    n = max(1, x.shape[-1] // hop)
    if x.shape[-1] < hop:
        x = np.pad(x, ((0, 0), (0, hop - x.shape[-1])))
    env = np.sqrt(np.mean(x[:, : n * hop].reshape(x.shape[0], n, hop) ** 2, axis=2))
    return env, hop / sr


def nan_to_none(v: float | None, nd: int = 4) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if not math.isfinite(v) else round(v, nd)
