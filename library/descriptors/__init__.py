"""One measured vocabulary of sound: what every tool, model and benchmark uses to say what a sound is.

``describe(samples, sr)`` measures one sound (pitch, loudness, spectrum, envelope, space) on the
field's libraries: librosa (pYIN, spectral features), pyloudnorm (BS.1770), MoSQITo (ISO 532-1
loudness, DIN 45692 sharpness). ``describe_batch(x, sr)`` measures a cheap subset (spectrum,
envelope, level, reverberance; no pitch, no psychoacoustics) of many mono sounds at once, with the
same code, for searches. ``words`` turns descriptors into producers' words with their evidence
(thresholds are percentiles of a reference set of real recordings, ``reference.json``), and
``compare`` says how a second sound differs from a first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from . import envelope, loudness, pitch, space, spectrum
from ._signal import SILENT_PEAK, channels_first, note_name
from .envelope import EnvelopeDescriptors
from .loudness import LoudnessDescriptors
from .pitch import PitchDescriptors, vibrato
from .space import SpaceDescriptors
from .spectrum import AUDEALIZE_CENTRES, BANDS, SpectrumDescriptors


class Descriptors(BaseModel):
    duration_s: float
    sample_rate: int
    channels: int
    silent: bool = Field(description="True when the peak is under -100 dBFS; nothing else is measured then.")
    pitch: PitchDescriptors = Field(default_factory=PitchDescriptors)
    loudness: LoudnessDescriptors = Field(default_factory=LoudnessDescriptors)
    spectrum: SpectrumDescriptors = Field(default_factory=SpectrumDescriptors)
    envelope: EnvelopeDescriptors = Field(default_factory=EnvelopeDescriptors)
    space: SpaceDescriptors = Field(default_factory=SpaceDescriptors)

    def flat(self) -> dict[str, Any]:
        """One level of named numbers (the names ``words``, ``compare`` and ``describe_batch`` use)."""
        out: dict[str, Any] = {"duration_s": self.duration_s, "silent": self.silent}
        for group in (self.pitch, self.loudness, self.spectrum, self.envelope, self.space):
            for k, v in group.model_dump().items():
                if k == "bands_db":
                    out.update({f"band_{n}_db": b for n, b in v.items()})
                elif k != "audealize_db":
                    out[k] = v
        return out


def describe(samples: np.ndarray, sample_rate: int, *, with_pitch: bool = True, psychoacoustic: bool = True) -> Descriptors:
    """Measure one sound: ``samples`` (samples,) or (channels, samples), float, full scale 1."""
    x = channels_first(samples)
    sr = int(sample_rate)
    head = {"duration_s": round(x.shape[1] / sr, 4), "sample_rate": sr, "channels": int(x.shape[0])}
    if x.size == 0 or float(np.abs(x).max()) < SILENT_PEAK:
        return Descriptors(**head, silent=True, loudness=loudness.measure_loudness(x, sr, psycho=False) if x.size else LoudnessDescriptors())
    mono = x.mean(axis=0)[None]
    spec = spectrum.spectrum_batch(mono, sr)
    env = envelope.envelope_batch(mono, sr)
    rev = space.reverb_batch(mono, sr)
    return Descriptors(
        **head,
        silent=False,
        pitch=pitch.measure_pitch(mono[0], sr) if with_pitch else PitchDescriptors(),
        loudness=loudness.measure_loudness(x, sr, psycho=psychoacoustic),
        spectrum=spectrum.from_batch(spec),
        envelope=envelope.from_batch(env),
        space=space.from_parts(x, rev),
    )


def describe_batch(x: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """(B, samples) mono -> {flat name: (B,) array}: spectrum, envelope, level and reverberance, NaN where
    undefined. The same computation as ``describe`` (a sound is a batch of one there)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    sr = int(sample_rate)
    spec = spectrum.spectrum_batch(x, sr)
    out: dict[str, np.ndarray] = {}
    for k, v in spec.items():
        if k == "audealize":
            continue
        out[f"band_{k.split('.', 1)[1]}_db" if k.startswith("bands.") else k] = v
    out.update(envelope.envelope_batch(x, sr))
    out.update(space.reverb_batch(x, sr))
    out.update(loudness.level_batch(x, sr))
    silent = np.abs(x).max(axis=1) < SILENT_PEAK
    return {k: np.where(silent, np.nan, v) for k, v in out.items()}


from .words import Difference, Word, compare, reference, summary, words  # noqa: E402

__all__ = [
    "AUDEALIZE_CENTRES",
    "BANDS",
    "Descriptors",
    "Difference",
    "EnvelopeDescriptors",
    "LoudnessDescriptors",
    "PitchDescriptors",
    "SpaceDescriptors",
    "SpectrumDescriptors",
    "Word",
    "compare",
    "describe",
    "describe_batch",
    "note_name",
    "reference",
    "summary",
    "vibrato",
    "words",
]
