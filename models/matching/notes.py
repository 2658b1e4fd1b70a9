"""Candidate keyboard notes for a match when the f0 estimate may be wrong (shared by every matching pipeline).

CREPE's usual failures on real notes are a harmonic read as the fundamental (the octave, or the 3rd
harmonic, 19 semitones up, when the fundamental is weak: low piano and bass notes), the octave below,
and no pitch at all above its range (about 1975 Hz, B6). The matcher does not trust one reading: it
renders a first guess at each candidate note and keeps the one the match loss prefers, the primary
reading unless an alternative is clearly (10 %) better.

A second, independent estimate comes from the spectrum itself (harmonic summation over a long FFT),
which also says how *pitched* the sound is (the share of its power on the harmonics of that f0), so a
drum or a noise with no CREPE pitch keeps its note-less first guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pitch import PitchEstimate, hz_to_midi, midi_to_hz

# an alternative note replaces the primary one only when its loss is at least 10 % lower
ALTERNATIVE_PRIOR = 1 / 0.9
# CREPE's median periodicity below this: its reading is treated as uncertain
LOW_CONFIDENCE = 0.8
# share of the spectrum's power on the harmonics of its best f0 above which a sound counts as pitched
# (white noise scores about 0.3-0.5 with the tolerances below, a harmonic tone above 0.9)
PITCHED_HARMONICITY = 0.7
# a candidate note whose harmonics leave this much more of the target's power unexplained than the best
# candidate's is not the fundamental (see ``_explaining``)
UNEXPLAINED_MARGIN = 0.1
# the spectral f0 and CREPE disagree when they are further apart than this (semitones)
DISAGREE_SEMITONES = 1.0


@dataclass(frozen=True)
class NoteCandidate:
    name: str  # 'crepe', 'crepe-12', 'crepe+12', 'crepe-19', 'spectrum', 'spectrum-12', 'spectrum+12' or 'none'
    midi: float | None  # None: the pipeline's own note-less guess
    prior: float  # the loss is multiplied by this when choosing (1 for the primary reading)


@dataclass(frozen=True)
class NoteChoice:
    candidates: tuple[NoteCandidate, ...]  # the primary reading first
    uncertain: bool  # no CREPE pitch on a pitched sound, low CREPE confidence, or the spectrum disagrees
    spectral_midi: float | None
    harmonicity: float


def loudest_spectrum(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float] | None:
    """(magnitude spectrum, bin width in Hz) of the loudest 0.5 s (Hann window, at least 16384 points)."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    n = min(len(x), int(0.5 * sample_rate))
    if n < 256 or not np.any(x):
        return None
    hop = max(1, n // 8)
    s = max(range(0, max(1, len(x) - n + 1), hop), key=lambda i: float(np.sum(x[i : i + n] ** 2)))
    nfft = 1 << int(np.ceil(np.log2(max(n, 16384))))
    return np.abs(np.fft.rfft(x[s : s + n] * np.hanning(n), nfft)), sample_rate / nfft


def harmonic_share(mag: np.ndarray, df: float, f0: float, fmin: float = 27.0) -> float:
    """Share of the power (above 0.9 fmin) within a narrow band (+-1.5 %, at most f0/4) of f0's harmonics."""
    power = mag**2
    f = np.arange(len(mag)) * df
    band = f >= 0.9 * fmin
    tol = np.minimum(f0 / 4, np.maximum(2 * df, 0.015 * f))
    on = band & (np.round(f / f0) >= 1) & (np.abs(f - f0 * np.round(f / f0)) <= tol)
    total = float(np.sum(power[band]))
    return float(np.sum(power[on])) / total if total > 0 else 0.0


def spectral_f0(audio: np.ndarray, sample_rate: int, *, fmin: float = 27.0, max_harmonics: int = 12) -> tuple[float | None, float]:
    """(f0 in Hz, harmonicity 0-1) by harmonic summation on the magnitude spectrum of the loudest 0.5 s.

    Each f0 on a 1/20-semitone grid scores the sum of the (square-root) magnitude peaks near its first
    ``max_harmonics`` harmonics, weighted 0.84^(k-1) (Klapuri 2006) so that a sub-octave, which also
    collects every harmonic, scores less. Harmonicity is ``harmonic_share`` of the winner."""
    spec = loudest_spectrum(audio, sample_rate)
    return _f0_of_spectrum(spec, sample_rate, fmin, max_harmonics) if spec is not None else (None, 0.0)


def _f0_of_spectrum(spec: tuple[np.ndarray, float], sample_rate: int, fmin: float = 27.0, max_harmonics: int = 12) -> tuple[float, float]:
    mag, df = spec
    nyq = sample_rate / 2
    comp = np.sqrt(mag / (mag.max() + 1e-12))
    f0s = fmin * 2.0 ** (np.arange(0, 12 * np.log2(0.9 * nyq / fmin) * 20) / 240)
    k = np.arange(1, max_harmonics + 1)
    weights = 0.84 ** (k - 1)
    # the largest magnitude within +-1.5 % of each harmonic (sampled at 9 offsets)
    freqs = f0s[:, None] * k[None, :]
    valid = freqs < 0.95 * nyq
    half = np.maximum(1, np.round(freqs * 0.015 / df)).astype(int)
    idx = np.clip(np.round(freqs / df).astype(int), 0, len(comp) - 1)
    best = np.zeros_like(freqs)
    for frac in np.linspace(-1.0, 1.0, 9):
        j = np.clip(idx + np.round(frac * half).astype(int), 0, len(comp) - 1)
        best = np.maximum(best, comp[j])
    score = np.sum(np.where(valid, best * weights[None, :], 0.0), axis=1)
    f0 = float(f0s[int(np.argmax(score))])
    # the score is flat within the tolerance: refine on the harmonics' own peaks (magnitude-weighted)
    num = den = 0.0
    for h in range(1, max_harmonics + 1):
        lo, hi = int(np.floor(h * f0 * 0.985 / df)), int(np.ceil(h * f0 * 1.015 / df)) + 1
        if h * f0 >= 0.95 * nyq or hi > len(mag):
            break
        j = lo + int(np.argmax(mag[lo:hi]))
        num, den = num + mag[j] * j * df, den + mag[j] * h
    f0 = num / den if den > 0 else f0
    return f0, harmonic_share(mag, df, f0, fmin)


def note_candidates(pitch: PitchEstimate, audio16k: np.ndarray, sample_rate: int = 16_000,
                    midi_range: tuple[float, float] = (0.0, 127.0)) -> NoteChoice:
    """The notes worth rendering for this target, the primary reading first.

    With a CREPE pitch: the reading and its octaves (always; cheap for a one-render check), plus, when the
    reading is uncertain (low confidence, or the spectrum's own f0 disagrees), the 3rd-harmonic error
    (19 semitones down) and the spectral f0. Without one: the pipeline's note-less guess first, plus the
    spectral f0 and its octaves when the sound is pitched (e.g. a note above CREPE's range). Alternatives
    outside ``midi_range`` (the synth's keyboard) are left out."""
    spec = loudest_spectrum(audio16k, sample_rate)
    f0, harm = _f0_of_spectrum(spec, sample_rate) if spec is not None else (None, 0.0)
    spec_midi = hz_to_midi(f0) if f0 else None
    alt = ALTERNATIVE_PRIOR
    if pitch.midi is not None:
        m = float(pitch.midi)
        disagree = spec_midi is not None and harm >= PITCHED_HARMONICITY and abs(spec_midi - m) > DISAGREE_SEMITONES
        uncertain = pitch.confidence < LOW_CONFIDENCE or disagree
        cands = [NoteCandidate("crepe", m, 1.0), NoteCandidate("crepe-12", m - 12, alt), NoteCandidate("crepe+12", m + 12, alt)]
        if uncertain:
            cands.append(NoteCandidate("crepe-19", m - 19, alt))
            if disagree and spec_midi is not None and all(abs(c.midi - spec_midi) > DISAGREE_SEMITONES for c in cands if c.midi is not None):
                cands.append(NoteCandidate("spectrum", spec_midi, alt))
            cands = _explaining(cands, spec, spec_midi)
        return NoteChoice(_in_range(cands, midi_range), uncertain, spec_midi, harm)
    if spec_midi is None or harm < PITCHED_HARMONICITY:
        return NoteChoice((NoteCandidate("none", None, 1.0),), False, spec_midi, harm)
    cands = [NoteCandidate("none", None, 1.0)] + [
        NoteCandidate(f"spectrum{o:+d}" if o else "spectrum", spec_midi + o, alt) for o in (0, -12, 12)
    ]
    return NoteChoice(_in_range(cands, midi_range), True, spec_midi, harm)


def _explaining(cands: list[NoteCandidate], spec: tuple[np.ndarray, float] | None, spec_midi: float | None) -> list[NoteCandidate]:
    """Leave out the notes whose harmonics miss more than ``UNEXPLAINED_MARGIN`` more of the target's power
    than the best candidate's do (a harmonic read as the fundamental, or an octave above it). The match loss
    cannot judge these: the synth cannot make a weak fundamental, so a note on the strong harmonic often
    renders closer to a low note than the right note does. If the primary reading goes, the candidate
    nearest the spectral f0 takes its place (prior 1). Only on a clearly harmonic sound (the best share at
    least ``PITCHED_HARMONICITY``): in a noisy one a lower note's denser comb of harmonics collects more of
    the noise, which says nothing about the pitch (on 128 of the benchmark's synthetic Voice targets the
    rule without this condition moved 5 right CREPE readings an octave down, all on targets with loud noise)."""
    if spec is None:
        return cands
    shares = [harmonic_share(spec[0], spec[1], midi_to_hz(c.midi)) if c.midi is not None else 1.0 for c in cands]
    top = max(h for c, h in zip(cands, shares) if c.midi is not None) if any(c.midi is not None for c in cands) else 0.0
    if top < PITCHED_HARMONICITY:
        return cands
    kept = [c for c, h in zip(cands, shares) if h >= top - UNEXPLAINED_MARGIN]
    if kept[0] is cands[0] or spec_midi is None:
        return kept
    lead = min(kept, key=lambda c: abs((c.midi if c.midi is not None else 1e9) - spec_midi))
    return [NoteCandidate(lead.name, lead.midi, 1.0)] + [c for c in kept if c is not lead]


def _in_range(cands: list[NoteCandidate], midi_range: tuple[float, float]) -> tuple[NoteCandidate, ...]:
    lo, hi = midi_range
    return tuple(c for i, c in enumerate(cands) if i == 0 or c.midi is None or lo - 0.5 <= c.midi <= hi + 0.5)
