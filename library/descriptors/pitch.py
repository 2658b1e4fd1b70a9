"""Pitch: the one answer to "what note is this" for the whole project.

librosa's pYIN (probabilistic YIN with an HMM over pitch and voicing) gives the f0 track and the
voicing; it runs at 16 kHz with 64 ms frames, 32 ms hops and half-semitone states, which keeps it
near 0.2 s for 10 s of audio (its Viterbi pass costs the square of the state count). Within each
voiced frame the frequency is then read finely from librosa's reassigned spectrogram (the
instantaneous frequency of the strongest of the first eight harmonics near pYIN's state): within
0.1 cent for steady tones from 55 Hz up, about 5 cents at 33-41 Hz (plain YIN's parabolic
interpolation was 6-30 cents sharp). From the track: the median note, the voiced share, the range,
the trend and vibrato. Known limit: pure tones above about 3 kHz can come out an octave low. (CREPE in ``models/matching/pitch.py`` stays the matcher's own estimator for
setting the synth's keyboard.)
"""

from __future__ import annotations

import warnings

import numpy as np
from pydantic import BaseModel, Field

from ._signal import hz_to_midi, nan_to_none, note_name, to_rate

PITCH_SR = 16_000
FRAME = 1024  # 64 ms: longer frames average a 6 Hz vibrato away (2048 read +-50 cents as +-15)
HOP = 512  # 32 ms: 31 frames per second, enough for vibrato up to ~10 Hz
FMIN = 32.70  # C1
FMAX = 4186.0  # C8
RESOLUTION = 0.5  # semitones per pYIN state
HARMONICS = 8  # harmonics looked at when refining
SOUNDING_DB = -30.0  # frames this far under the loudest count towards the voiced share
PITCHED_SHARE = 0.5  # a sound "has a note" when more than half of its sounding frames are voiced
VIBRATO_MIN_S = 0.5
VIBRATO_BAND_HZ = (3.0, 10.0)
VIBRATO_MIN_CENTS = 5.0  # below this the "rate" is just the largest wiggle of a steady pitch
PERIODIC_SHARE = 0.5  # ... and it is vibrato only when one sinusoid carries half the detrended variance


class PitchDescriptors(BaseModel):
    pitched: bool = Field(False, description=f"True when more than {PITCHED_SHARE:.0%} of the sounding frames carry a pitch (pYIN).")
    f0_hz: float | None = Field(None, description="Median fundamental frequency of the voiced frames.")
    midi: float | None = Field(None, description="The same as a MIDI note number (69 = A4 = 440 Hz), fractional.")
    note: str | None = Field(None, description="Nearest note name with the offset in cents, e.g. 'A4 +3 cents'.")
    voiced_share: float = Field(0.0, description="Share of the sounding frames pYIN calls voiced (0-1).")
    pitch_range_semitones: float | None = Field(None, description="10th to 90th percentile of the voiced pitch, semitones.")
    pitch_trend_semitones_per_s: float | None = Field(None, description="Slope of a line through the voiced pitch: positive rising, negative falling.")
    vibrato_rate_hz: float | None = Field(None, description="Rate of the strongest 3-10 Hz pitch oscillation in the longest voiced stretch (at least 0.5 s); null when it is under 5 cents deep or not periodic (one sinusoid carrying under half the detrended pitch variance, as in speech or a glide).")
    vibrato_depth_cents: float | None = Field(None, description="Its size, +- cents around the detrended pitch.")


def _refine(y: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Fine f0 per frame from librosa's reassigned spectrogram (instantaneous frequency of each bin):
    the strongest of the first harmonics within a quarter tone of k x the coarse f0, divided by k."""
    import librosa

    with warnings.catch_warnings():  # librosa compares NaN magnitudes of empty bins; harmless
        warnings.simplefilter("ignore")
        freqs, _times, mags = librosa.reassigned_spectrogram(y=y, sr=PITCH_SR, n_fft=FRAME, hop_length=HOP, center=True, fill_nan=True)
    n = min(coarse.size, mags.shape[1])
    out = np.full(coarse.size, np.nan)
    live = np.nonzero(np.isfinite(coarse[:n]))[0]
    if live.size == 0:
        return out
    step = PITCH_SR / FRAME
    ks = np.arange(1, HARMONICS + 1, dtype=np.float64)
    fk = coarse[live, None] * ks[None, :]  # (V, K)
    lo = np.floor(fk * 2 ** (-1 / 24) / step).astype(int)
    hi = np.ceil(fk * 2 ** (1 / 24) / step).astype(int)
    width = int((hi - lo).max()) + 1
    idx = lo[..., None] + np.arange(width)  # (V, K, W)
    ok = (idx <= hi[..., None]) & (idx < mags.shape[0]) & (fk[..., None] < PITCH_SR / 2 - 100)
    idx = np.clip(idx, 0, mags.shape[0] - 1)
    cols = live[:, None, None]
    m = np.where(ok, mags[idx, cols], -1.0)
    flat = m.reshape(live.size, -1).argmax(axis=1)
    k_best, w_best = np.unravel_index(flat, (HARMONICS, width))
    bin_best = idx[np.arange(live.size), k_best, w_best]
    f = freqs[bin_best, live] / ks[k_best]
    # keep the coarse value where the reassignment is undefined or strays from the state it refines
    good = np.isfinite(f) & (np.abs(12 * np.log2(np.maximum(f, 1e-6) / coarse[live])) < RESOLUTION)
    out[live] = np.where(good, f, coarse[live])
    return out


def f0_track(mono: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, f0 Hz with NaN where unvoiced or quiet, sounding mask) at 31.25 frames/s."""
    import librosa

    y = to_rate(mono, sr, PITCH_SR)
    if y.size < FRAME:
        y = np.pad(y, (0, FRAME - y.size))
    f0, voiced, _ = librosa.pyin(y, fmin=FMIN, fmax=FMAX, sr=PITCH_SR, frame_length=FRAME, hop_length=HOP,
                                 resolution=RESOLUTION, center=True)
    rms = librosa.feature.rms(y=y, frame_length=FRAME, hop_length=HOP, center=True)[0]
    n = min(f0.size, rms.size)
    f0, voiced, rms = f0[:n], voiced[:n], rms[:n]
    sounding = rms >= rms.max() * 10 ** (SOUNDING_DB / 20) if rms.max() > 0 else np.zeros(n, bool)
    coarse = np.where(voiced & sounding & np.isfinite(f0), f0, np.nan)
    times = np.arange(n) * HOP / PITCH_SR
    return times, _refine(y, coarse), sounding


def vibrato(times: np.ndarray, hz: np.ndarray) -> tuple[float, float, float]:
    """(rate Hz, depth +-cents, share of the detrended pitch variance) of a pitch track (``times`` s, ``hz`` with
    NaN where unvoiced) in its longest voiced stretch: the vibrato definition of ``measure_pitch``, for
    callers that have a pitch track of their own (e.g. a synth's control signals)."""
    ok = np.isfinite(hz)
    best, run, start = (0, 0), 0, 0
    for i, v in enumerate(np.append(ok, False)):
        if v:
            if run == 0:
                start = i
            run += 1
        else:
            if run > best[1] - best[0]:
                best = (start, start + run)
            run = 0
    a, b = best
    dt = times[1] - times[0] if times.size > 1 else HOP / PITCH_SR
    if (b - a) * dt < VIBRATO_MIN_S:
        return float("nan"), float("nan"), 0.0
    cents = 1200 * np.log2(hz[a:b])
    t = times[a:b]
    resid = cents - np.polyval(np.polyfit(t, cents, 2), t)
    win = np.hanning(resid.size)
    nfft = max(1024, 1 << int(np.ceil(np.log2(resid.size * 8))))
    spec = np.abs(np.fft.rfft(resid * win, nfft))
    f = np.fft.rfftfreq(nfft, dt)
    sel = (f >= max(VIBRATO_BAND_HZ[0], 2.0 / ((b - a) * dt))) & (f <= VIBRATO_BAND_HZ[1])
    if not sel.any():
        return float("nan"), float("nan"), 0.0
    k = int(np.argmax(np.where(sel, spec, -1.0)))
    amp = 2.0 * spec[k] / win.sum()
    return float(f[k]), float(amp), float(min(1.0, amp**2 / 2 / max(float(np.var(resid)), 1e-12)))


def measure_pitch(mono: np.ndarray, sr: int) -> PitchDescriptors:
    times, hz, sounding = f0_track(mono, sr)
    voiced = np.isfinite(hz)
    share = float(voiced.sum() / max(int(sounding.sum()), 1))
    if voiced.sum() < 2:
        return PitchDescriptors(voiced_share=round(share, 3))
    f0 = float(np.median(hz[voiced]))
    midi = hz_to_midi(f0)
    semis = 12 * np.log2(hz[voiced] / f0)
    trend = float(np.polyfit(times[voiced], semis, 1)[0]) if np.ptp(times[voiced]) > 0 else 0.0
    rate, depth, periodic = vibrato(times, hz)
    if depth < VIBRATO_MIN_CENTS or periodic < PERIODIC_SHARE:
        rate = float("nan")
    return PitchDescriptors(
        pitched=share > PITCHED_SHARE,
        f0_hz=round(f0, 2),
        midi=round(midi, 2),
        note=note_name(midi),
        voiced_share=round(share, 3),
        pitch_range_semitones=round(float(np.percentile(semis, 90) - np.percentile(semis, 10)), 2),
        pitch_trend_semitones_per_s=round(trend, 2),
        vibrato_rate_hz=nan_to_none(rate, 2),
        vibrato_depth_cents=nan_to_none(depth, 1),
    )
