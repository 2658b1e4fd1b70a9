"""The search's fitness with a sound brief: embedder similarity minus a penalty per unmet target.

In the loop every candidate is measured with ``library.descriptors``' batched code (the spectrum
and envelope parts of ``describe_batch``; the brief decides which are needed, the rest of
``describe_batch``, LUFS and reverberance, is skipped for speed). Pitch is not in the batched
measures (pYIN is per sound and slow): the loop reads it from the synth's own control signals, the
pitch each oscillator is told to play, weighted by which oscillator is loudest, with the same
vibrato definition as ``library.descriptors.pitch``. The final report measures the returned sounds
with the full ``describe`` (pYIN), so the judge is not exactly what the search saw.

penalty = sum over targets of weight * confidence * (UNMET + SLOPE * log(1 + steps)), where steps is
the distance outside the target's range, tightened by ``margin`` noticeable steps, in noticeable
steps of the descriptor (``models.brief.targets``): a fixed cost for missing a target and a slope
that keeps pointing the way however far off a candidate is.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from lstmabar.library.descriptors import envelope as _envelope
from lstmabar.library.descriptors import spectrum as _spectrum
from lstmabar.library.descriptors import vibrato  # the descriptor module's own vibrato definition
from lstmabar.models.brief.targets import FLOOR, RATIO, STEP, UNDEFINED_STEPS, Brief, Target, check, distance

UNMET = 0.3  # fitness lost for each unmet target (the embedder's cosine spans ~0.2 over a search): demands first
SLOPE = 0.1  # times log(1 + noticeable steps outside)
MARGIN = 1.0  # the search aims this many noticeable steps inside each range
SPECTRUM_KEYS = {"centroid_hz", "rolloff85_hz", "bandwidth_hz", "flatness", "slope_db_per_octave", "low_end_db"}
ENVELOPE_KEYS = set(_envelope.EnvelopeDescriptors.model_fields)
PITCH_KEYS = {"f0_hz", "pitched", "pitch_range_semitones", "pitch_trend_semitones_per_s", "vibrato_rate_hz", "vibrato_depth_cents", "keyboard.midi_f0"}
PITCH_FPS = 32.0  # the control-rate pitch track is read at about pYIN's frame rate (32 ms hops)
PITCHED_FLATNESS = 0.02  # loop proxy for "pYIN finds a note": a tonal spectrum ...
PITCHED_SHARE = 0.6  # ... and an oscillator louder than the noise in most sounding frames
# A refinement's pitch targets are read from the audio as well (``audio_pitch``): YIN on a few sounding frames, at
# pYIN's rate and frame length, so the loop hears the period of two oscillators' sum as the judge does.
AUDIO_PITCH_FRAMES = 7  # odd: the median is one frame's reading, not the mean of two different notes
AUDIO_PITCH_SOUNDING_DB = -20.0


def tightened(t: Target, margin: float = MARGIN) -> Target:
    """The target's range moved ``margin`` noticeable steps inwards (at most a quarter of a closed range's width)."""
    if margin <= 0 or t.descriptor not in STEP:
        return t
    lo, hi = t.lo, t.hi
    step = STEP[t.descriptor]
    if t.descriptor in RATIO:
        width = math.log(hi / lo) if lo and hi and lo > 0 else math.inf
        m = min(margin * math.log(step), 0.25 * width)
        lo = lo * math.exp(m) if lo is not None and lo > 0 else lo
        hi = hi * math.exp(-m) if hi is not None else hi
    else:
        width = (hi - lo) if lo is not None and hi is not None else math.inf
        m = min(margin * step, 0.25 * width)
        lo = lo + m if lo is not None else lo
        hi = hi - m if hi is not None else hi
    return t.model_copy(update={"lo": lo, "hi": hi})


def on_loop_scale(brief: Brief, start: dict[str, np.ndarray]) -> Brief:
    """The brief with its relative targets (a refinement's changes and keeps) moved onto the loop's own
    reading of the start sound. The targets were computed from the judge's measures of the start (pYIN
    pitch, the full envelope); the loop measures differently (the control-signal pitch can sit an octave
    or an interval away from pYIN's on a two-oscillator patch). Shifting each range by the ratio (or the
    difference) between the two readings of the same sound makes "keep the pitch" mean "do not move
    it" to the loop too. ``start``: ``measure_batch`` of the start patch alone. A pitch held at one value gets
    half its tolerance either side: the loop reads a refinement's pitch from the audio (``audio_pitch_batch``),
    whose reading of an unchanged note wavers by a few cents, and a point range would count that as a miss. A "pitched" target on
    a start that has a note (``relative_to`` 1.0) is left out where the loop's proxy of a note fails on the start itself."""
    targets = []
    for t in brief.targets:
        if t.descriptor == "pitched" and t.relative_to == 1.0 and start and target_steps(t, start, 1)[0] > 0:
            # pYIN heard the start's note where the loop's proxy (a tonal spectrum, an oscillator over the noise) does not:
            # the proxy would only push the start's own noise out (a breathy choir's vibrato lost its breath and half its
            # brightness); the judge still asks for the note
            continue
        if t.descriptor == "f0_hz" and t.lo is not None and t.lo == t.hi and t.tolerance > 1.0:
            half = math.sqrt(t.tolerance)
            t = t.model_copy(update={"lo": t.lo / half, "hi": t.hi * half})
        v = start.get(t.descriptor)
        s = t.relative_to
        x = float(v[0]) if v is not None and len(v) else math.nan
        if s is None or not math.isfinite(x) or not math.isfinite(s):
            targets.append(t)
            continue
        if t.descriptor in RATIO:
            floor = FLOOR.get(t.descriptor, 1e-9)
            if s <= floor or x <= floor:
                targets.append(t)
                continue
            f = x / s
            targets.append(t.model_copy(update={"lo": t.lo * f if t.lo is not None else None, "hi": t.hi * f if t.hi is not None else None}))
        else:
            d = x - s
            targets.append(t.model_copy(update={"lo": t.lo + d if t.lo is not None else None, "hi": t.hi + d if t.hi is not None else None}))
    return brief.model_copy(update={"targets": targets})


def pitch_batch(voice, params: torch.Tensor, sounding_db: float = -20.0) -> dict[str, np.ndarray]:
    """(B, 78) patches -> the pitch each plays, from the synth's control signals: median f0 (Hz), range
    and trend (semitones, semitones/s), vibrato rate/depth, share of sounding frames where an
    oscillator is louder than the noise; NaN where nothing sounds."""
    from lstmabar.models.synth.params import PARAM_INDEX

    with torch.no_grad():
        cs = voice.control_signals(params.float())
    P = cs["physical"]
    a1 = (cs["mod.vco_1_amp"].abs() * P[:, PARAM_INDEX["mixer.vco_1"], None]).numpy()
    a2 = (cs["mod.vco_2_amp"].abs() * P[:, PARAM_INDEX["mixer.vco_2"], None]).numpy()
    an = (cs["mod.noise_amp"].abs() * P[:, PARAM_INDEX["mixer.noise"], None]).numpy()
    m1, m2 = cs["vco_1.midi"].numpy(), cs["vco_2.midi"].numpy()
    hop = max(1, int(round(voice.control_rate / PITCH_FPS)))
    n = int(round(voice.seconds * voice.control_rate))
    sl = slice(0, n, hop)
    a1, a2, an, m1, m2 = (x[:, sl] for x in (a1, a2, an, m1, m2))
    dt = hop / voice.control_rate
    tone = np.maximum(a1, a2)
    total = tone + an
    # the pitch heard is the lower oscillator's whenever it is within 20 dB of the louder one (an octave
    # below makes the sum's period the lower one's, and pYIN follows it), else the louder one's
    both = np.minimum(a1, a2) >= 0.1 * tone
    midi = np.where(both, np.minimum(m1, m2), np.where(a1 >= a2, m1, m2))
    B = params.shape[0]
    out = {k: np.full(B, np.nan) for k in ("f0_hz", "pitch_range_semitones", "pitch_trend_semitones_per_s", "vibrato_rate_hz", "vibrato_depth_cents", "tonal_share")}
    times = np.arange(tone.shape[1]) * dt
    for b in range(B):
        top = float(total[b].max())
        if top <= 0:
            continue
        sounding = total[b] >= top * 10 ** (sounding_db / 20)
        voiced = sounding & (tone[b] >= an[b]) & (midi[b] >= 24.0) & (midi[b] <= 108.0)
        out["tonal_share"][b] = voiced.sum() / max(int(sounding.sum()), 1)
        if voiced.sum() < 2:
            continue
        mv = midi[b][voiced]
        med = float(np.median(mv))
        out["f0_hz"][b] = 440.0 * 2 ** ((med - 69.0) / 12.0)
        out["pitch_range_semitones"][b] = float(np.percentile(mv, 90) - np.percentile(mv, 10))
        tv = times[voiced]
        out["pitch_trend_semitones_per_s"][b] = float(np.polyfit(tv, mv, 1)[0]) if np.ptp(tv) > 0 else 0.0
        hz = np.where(voiced, 440.0 * 2 ** ((midi[b] - 69.0) / 12.0), np.nan)
        rate, depth, share = vibrato(times, hz)
        if np.isfinite(depth):
            out["vibrato_depth_cents"][b] = depth
            out["vibrato_rate_hz"][b] = rate if depth >= 5.0 and share >= 0.5 else np.nan
    return out


def audio_pitch_batch(audio: np.ndarray, sample_rate: int, control_f0: np.ndarray) -> np.ndarray:
    """(B,) f0 in Hz heard in a batch of renders: librosa's YIN (pYIN's own difference function, without its
    HMM) at pYIN's rate and frame (``library.descriptors.pitch``) on ``AUDIO_PITCH_FRAMES`` frames spread over
    each sound's sounding part, median. The control signals name the pitch each oscillator plays; with two
    oscillators a fifth or a fourth apart the sum's period is an octave under the lower one, or the louder
    one's note leads, and pYIN follows the period. NaN where ``control_f0`` is (nothing tonal sounds)."""
    import librosa
    from scipy.signal import resample_poly

    from lstmabar.library.descriptors import pitch as _pitch

    factor = sample_rate // _pitch.PITCH_SR
    if factor * _pitch.PITCH_SR != sample_rate:
        return np.asarray(control_f0, dtype=np.float64)
    n = _pitch.FRAME * factor
    x = np.asarray(audio, dtype=np.float32)
    blocks = x.shape[1] // n
    if blocks < 1:
        return np.asarray(control_f0, dtype=np.float64)
    rms = np.sqrt(np.mean(x[:, : blocks * n].reshape(x.shape[0], blocks, n).astype(np.float64) ** 2, axis=2))
    sounding = rms >= rms.max(axis=1, keepdims=True) * 10 ** (AUDIO_PITCH_SOUNDING_DB / 20)
    picks = np.zeros((x.shape[0], AUDIO_PITCH_FRAMES), dtype=int)
    for b in range(x.shape[0]):
        idx = np.nonzero(sounding[b])[0]
        if idx.size:
            picks[b] = idx[np.linspace(0, idx.size - 1, AUDIO_PITCH_FRAMES).round().astype(int)]
    pad = 16 * factor  # the resampling filter's reach: each excerpt gets it on both sides, trimmed after
    xp = np.pad(x, ((0, 0), (pad, pad)))
    starts = picks * n  # in xp, the frame's start minus the pad
    sel = xp[np.arange(x.shape[0])[:, None, None], starts[..., None] + np.arange(n + 2 * pad)]  # (B, F, n + 2 pad)
    y = resample_poly(sel, 1, factor, axis=-1, window=("kaiser", 8.6))[..., 16 : 16 + _pitch.FRAME]
    f = librosa.yin(y, fmin=_pitch.FMIN, fmax=_pitch.FMAX, sr=_pitch.PITCH_SR, frame_length=_pitch.FRAME, hop_length=_pitch.FRAME, center=False)
    hz = np.median(f.reshape(x.shape[0], -1), axis=1)
    return np.where(np.isfinite(control_f0), hz, np.nan)


def needed_groups(brief: Brief) -> set[str]:
    groups: set[str] = set()
    if brief.relative and any(t.descriptor == "f0_hz" for t in brief.targets):
        groups.add("audio_pitch")
    for t in brief.targets:
        for key in (t.descriptor, t.needs):
            if key is None:
                continue
            if key in PITCH_KEYS:
                groups.add("pitch")
                if key == "pitched":
                    groups.add("spectrum")
            elif key in ENVELOPE_KEYS:
                groups.add("envelope")
            elif key in SPECTRUM_KEYS or key.startswith("band_"):
                groups.add("spectrum")
    return groups


def needed_keys(brief: Brief) -> set[str]:
    """The loop measures the brief reads (its targets' descriptors and what they need)."""
    keys: set[str] = set()
    for t in brief.targets:
        keys.update(k for k in (t.descriptor, t.needs) if k is not None)
    if "pitched" in keys:
        keys.update({"flatness", "tonal_share"})
    return keys


def _spectrum_features(keys: set[str]) -> set[str]:
    """Loop measure names -> ``spectrum_batch`` feature names ('band_low_db' -> 'bands.low')."""
    out = {k for k in keys if k in SPECTRUM_KEYS}
    out.update(f"bands.{k[len('band_'):-len('_db')]}" for k in keys if k.startswith("band_") and k.endswith("_db"))
    return out


def measure_batch(audio: np.ndarray, sample_rate: int, params: torch.Tensor | None, voice, groups: set[str], keys: set[str] | None = None) -> dict[str, np.ndarray]:
    """The loop's measures of a batch of (peak-normalised, mono) renders: only the groups asked for, and
    of the spectrum only the features in ``keys`` (``needed_keys``; None: all of them)."""
    out: dict[str, np.ndarray] = {}
    x = np.asarray(audio, dtype=np.float32)
    silent = np.abs(x).max(axis=1) < 1e-5
    if "spectrum" in groups:
        feats = (set(_spectrum.FEATURES) if keys is None else _spectrum_features(keys)) - {"audealize"}
        spec = _spectrum.spectrum_batch(x, sample_rate, features=feats) if feats else {}
        for k, v in spec.items():
            out[f"band_{k.split('.', 1)[1]}_db" if k.startswith("bands.") else k] = v
    if "envelope" in groups:
        out.update(_envelope.envelope_batch(x, sample_rate))
    if "pitch" in groups and params is not None and voice is not None:
        out.update(pitch_batch(voice, params))
        from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

        i = PARAM_INDEX["keyboard.midi_f0"]
        out["keyboard.midi_f0"] = VOICE_PARAMS[i].to_physical(params[:, i].double()).numpy()
    if "audio_pitch" in groups and "f0_hz" in out:
        out["f0_hz"] = audio_pitch_batch(x, sample_rate, out["f0_hz"])
    return {k: np.where(silent, np.nan, np.asarray(v, dtype=np.float64)) for k, v in out.items()}


def target_steps(t: Target, m: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Distance of each candidate outside ``t`` (in noticeable steps; UNDEFINED_STEPS where undefined)."""
    if t.descriptor == "pitched":
        flat = m.get("flatness", np.full(n, np.nan))
        share = m.get("tonal_share", np.full(n, np.nan))
        s_flat = np.maximum(0.0, np.log(np.maximum(flat, 1e-9) / PITCHED_FLATNESS) / math.log(STEP["flatness"]))
        s_share = np.maximum(0.0, (PITCHED_SHARE - share) / 0.1)
        s = s_flat + s_share
        return np.where(np.isfinite(s), s, UNDEFINED_STEPS)
    v = m.get(t.descriptor)
    if v is None:
        return np.zeros(n)  # not measured in the loop (e.g. a group the brief did not need)
    steps = np.array([distance(t, float(x)) if np.isfinite(x) else math.inf for x in v])
    if t.needs is not None:
        need = m.get(t.needs)
        if need is not None:
            undefined = ~np.isfinite(need)
            # graded: a missing periodic modulation still counts its depth's distance, plus a step for not being periodic
            steps = np.where(undefined, np.where(np.isfinite(steps), steps + 2.0, UNDEFINED_STEPS), steps)
    return np.where(np.isfinite(steps), steps, UNDEFINED_STEPS)


def penalty(brief: Brief, m: dict[str, np.ndarray], n: int, *, weight: float = 1.0, margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """(penalty (B,), unmet count (B,)) for a batch of measures."""
    total = np.zeros(n)
    unmet = np.zeros(n)
    for t in brief.targets:
        steps = target_steps(tightened(t, margin), m, n)
        miss = steps > 1e-9
        unmet += miss
        total += weight * t.confidence * (UNMET * miss + SLOPE * np.log1p(steps))
    return total, unmet


def judged_miss(brief: Brief, flats: list[dict[str, Any]]) -> np.ndarray:
    """(n,) how far each sound misses the brief under the judge (its full ``describe``, pYIN pitch): the sum over
    its unmet targets of confidence * log(1 + noticeable steps outside), UNDEFINED_STEPS where undefined; 0 when
    every target is met. Ranks results that miss as many targets by how far they miss them: the loop's pitch
    (YIN on a few frames) can take a two-oscillator sound for another note than pYIN does."""
    out = np.zeros(len(flats))
    for j, flat in enumerate(flats):
        for t in brief.targets:
            met, value = check(t, flat)
            if met:
                continue
            steps = distance(t, value) if value is not None and (t.descriptor != "f0_hz" or flat.get("pitched")) else math.inf
            out[j] += t.confidence * math.log1p(min(steps, UNDEFINED_STEPS))
    return out


class BriefObjective:
    """Wraps a search objective (``TextAudioObjective``, possibly inside ``GuidedObjective``): fitness =
    its fitness - penalty(brief). The wrapped objective's last renders (``last_audio``) are measured."""

    def __init__(self, objective: Any, text_objective: Any, brief: Brief, voice, *, weight: float = 1.0, margin: float = MARGIN) -> None:
        self.objective = objective
        self.text_objective = text_objective
        self.brief = brief
        self.voice = voice
        self.weight = float(weight)
        self.margin = float(margin)
        self.groups = needed_groups(brief)
        self.keys = needed_keys(brief)
        self.measure_seconds = 0.0
        self.last_penalty: np.ndarray | None = None
        self.last_unmet: np.ndarray | None = None
        self.last_measures: dict[str, np.ndarray] | None = None
        self.reach: dict[int, float] = {}  # per target: the closest any render came (noticeable steps, untightened)

    @property
    def active(self) -> bool:
        return bool(self.brief.targets) and self.weight > 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["objective"], name)

    def __call__(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        fitness, emb = self.objective(params)
        if not self.active:
            return fitness, emb
        t0 = time.perf_counter()
        audio = self.text_objective.last_audio
        m = measure_batch(audio.numpy(), self.text_objective.sample_rate, params, self.voice, self.groups, self.keys)
        pen, unmet = penalty(self.brief, m, params.shape[0], weight=self.weight, margin=self.margin)
        for i, t in enumerate(self.brief.targets):
            best = float(np.min(target_steps(t, m, params.shape[0])))
            self.reach[i] = min(self.reach.get(i, math.inf), best)
        self.measure_seconds += time.perf_counter() - t0
        self.last_penalty, self.last_unmet, self.last_measures = pen, unmet, m
        # silent renders stay at the bottom, under any sound however far it is from the brief
        worst = self.weight * sum(t.confidence for t in self.brief.targets) * (UNMET + SLOPE * math.log1p(UNDEFINED_STEPS))
        bad = fitness <= -1.0
        out = torch.where(bad, fitness - worst, fitness - torch.as_tensor(pen, dtype=fitness.dtype))
        return out, emb
