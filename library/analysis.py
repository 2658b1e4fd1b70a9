"""import_sound's quick analysis: the headline numbers of ``library.descriptors`` for a new recording."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .audio_io import Audio
from .descriptors import describe, summary, words

ANALYSIS_SECONDS = 30.0  # longer recordings are described by their first 30 s (about 1.5 s of CPU)


class QuickAnalysis(BaseModel):
    duration_s: float
    sample_rate: int
    channels: int
    analysed_s: float = Field(description=f"How much of the sound was measured (the first {ANALYSIS_SECONDS:g} s at most).")
    peak_dbfs: float | None = Field(description="Highest absolute sample, dB full scale; null when silent.")
    rms_dbfs: float | None
    loudness_lufs: float | None = Field(description="Integrated loudness (ITU-R BS.1770, gated); null when too quiet or under 0.4 s.")
    spectral_centroid_hz: float | None = Field(description="Spectral centroid; higher is brighter.")
    f0_hz: float | None = Field(description="Median fundamental (pYIN) when the sound is clearly pitched (more than half of it voiced); else null.")
    midi_note: float | None = None
    note: str | None = Field(None, description="Nearest note name, e.g. 'A4 +3 cents'.")
    voiced_share: float = Field(description="Share of the sounding frames with a pitch (0-1).")
    is_silent: bool
    words: list[str] = Field(default_factory=list, description="Producer words with their evidence (percentiles of a reference set of real recordings).")
    summary: str = ""


def quick_analysis(audio: Audio) -> QuickAnalysis:
    n = min(audio.frames, int(ANALYSIS_SECONDS * audio.sample_rate))
    d = describe(audio.samples[:, :n], audio.sample_rate, psychoacoustic=False)
    p = d.pitch
    return QuickAnalysis(
        duration_s=round(audio.duration, 4),
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        analysed_s=round(n / audio.sample_rate, 4),
        peak_dbfs=d.loudness.peak_dbfs,
        rms_dbfs=d.loudness.rms_dbfs,
        loudness_lufs=d.loudness.integrated_lufs,
        spectral_centroid_hz=d.spectrum.centroid_hz,
        f0_hz=p.f0_hz if p.pitched else None,
        midi_note=p.midi if p.pitched else None,
        note=p.note if p.pitched else None,
        voiced_share=p.voiced_share,
        is_silent=d.silent,
        words=[w.evidence for w in words(d)],
        summary=summary(d),
    )
