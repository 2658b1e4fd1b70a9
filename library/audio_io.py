"""Decoding, checking, resampling and encoding audio. Arrays are float32, shaped (channels, frames)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .errors import AudioInputError

MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 8


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # (channels, frames) float32
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0).astype(np.float32)


def as_channels_first(samples: np.ndarray, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """1-D or (channels, samples) audio -> (channels, samples) of ``dtype`` (float32 for storing,
    float64 for measuring); any other shape is an ``AudioInputError``."""
    x = np.asarray(samples, dtype=dtype)
    if x.ndim == 1:
        return x[None, :]
    if x.ndim != 2:
        raise AudioInputError(f"Audio must be 1-D (mono) or 2-D (channels, samples), got shape {x.shape}.")
    return x


def check_layout(channels: int, frames: int, sample_rate: int, *, max_seconds: float) -> None:
    """Rate, channel count and length limits; ``decode`` also applies them to a file's header before
    reading it, so a multi-hour file is refused without being decoded."""
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise AudioInputError(
            f"Sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; "
            "resample the file to a normal rate such as 44100 or 48000 Hz."
        )
    if channels > MAX_CHANNELS:
        raise AudioInputError(
            f"The audio has {channels} channels; at most {MAX_CHANNELS} are accepted. Send a mono or stereo mix."
        )
    if frames == 0:
        raise AudioInputError("The audio is empty (zero samples). Send a recording with sound in it.")
    if frames / sample_rate > max_seconds:
        raise AudioInputError(
            f"The audio lasts {frames / sample_rate:.1f} s; the limit is {max_seconds:.0f} s. "
            "Trim it to the part that matters."
        )


def check_audio(samples: np.ndarray, sample_rate: int, *, max_seconds: float) -> Audio:
    """Validate decoded audio; every failure is an AudioInputError that says what to send instead."""
    x = as_channels_first(samples)
    check_layout(x.shape[0], x.shape[1], sample_rate, max_seconds=max_seconds)
    if not np.isfinite(x).all():
        raise AudioInputError("The audio contains NaN or infinite samples; it is corrupt. Re-export it.")
    return Audio(np.ascontiguousarray(x), int(sample_rate))


def decode(data: bytes, *, max_seconds: float) -> Audio:
    """Decode any format libsndfile reads (WAV, FLAC, OGG, MP3, AIFF...)."""
    if not data:
        raise AudioInputError("The audio file is empty (0 bytes).")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            check_layout(f.channels, f.frames, f.samplerate, max_seconds=max_seconds)
            samples = f.read(dtype="float32", always_2d=True).T
            sample_rate = f.samplerate
    except AudioInputError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = re.sub(r"Error opening <[^>]*>: ", "", str(exc))
        raise AudioInputError(f"Could not decode the data as audio ({reason}). Send WAV, FLAC, OGG, MP3 or AIFF.") from exc
    return check_audio(samples, sample_rate, max_seconds=max_seconds)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling along the last axis (Kaiser window), float32 out."""
    if from_rate == to_rate:
        return np.asarray(samples, dtype=np.float32)
    g = gcd(int(from_rate), int(to_rate))
    out = resample_poly(samples, to_rate // g, from_rate // g, axis=-1, window=("kaiser", 8.6))
    return out.astype(np.float32)


def encode_wav(samples: np.ndarray, sample_rate: int, subtype: str = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, as_channels_first(samples).T, sample_rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def preview_wav(samples: np.ndarray, sample_rate: int, *, seconds: float = 5.0, rate: int = 16_000) -> bytes:
    """A short mono 16-bit preview small enough to inline in a tool result."""
    mono = as_channels_first(samples).mean(axis=0)
    mono = resample(mono[: int(seconds * sample_rate)], sample_rate, rate)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > 1.0:
        mono = mono / peak
    return encode_wav(mono, rate, subtype="PCM_16")
