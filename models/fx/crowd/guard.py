"""The measured check: does the request move *this* sound the way its words say?

A crowd curve is the average of what people did to music; on a source whose energy sits elsewhere
(a robin whistling at 3-8 kHz) the same curve can move the sound the other way ("darker" raising the
centroid, because the crowd's dark cuts 1.5-3 kHz hardest and leaves 6-9 kHz alone). So after the
crowd's settings are planned, the excerpt is rendered and measured with ``library.descriptors``:

- which descriptor a part must move, and which way, comes from the descriptor vocabulary
  (``library.descriptors.words.AXES``: bright / dark -> centroid, full / thin -> energy below 500 Hz,
  muddy -> 250-500 Hz, boxy -> 0.5-2 kHz, harsh -> 2-4 kHz, airy -> above 6 kHz, roomy / dry ->
  reverb time); for other EQ words, from the word's own crowd curve on a neutral (pink) spectrum:
  the centroid move the crowd's curve makes there is the move it must make here;
- an EQ move that goes the wrong way (or too little) gets the smallest source-relative correction
  that fixes it: a tilt about the source's own centroid, a shelf below 500 Hz or a bell over the
  named band, added to the crowd's curve and fitted again by the chain's filters;
- "less reverb" (a downward expander) is checked the same way; when no expander setting shortens
  the measured reverb time, the recording has no room to remove: the part is left off and the
  result says so (``not_possible``) instead of doing something else;
- more reverb that does not lengthen the measured reverb time is turned up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lstmabar.library.descriptors import describe_batch
from lstmabar.library.descriptors.spectrum import BANDS as NAMED_BANDS
from lstmabar.library.descriptors.spectrum import LOW_END_HZ
from lstmabar.library.descriptors.words import AXES, AXIS

from ..chain import chain_slots, neutral_normalized
from ..render import render
from .prior import BANDS_HZ
from .settings import CrowdPlan, _set, fit_filters, loud_level_db

SPECTRAL = ("centroid_hz", "low_end_db", "band_low_db", "band_low_mid_db", "band_mid_db", "band_high_mid_db", "band_air_db")
# half the descriptor vocabulary's noticeable step: the least move counted as done (centroid: a ratio)
MARGIN = {"centroid_hz": math.log(1.025), "reverb_time_s": math.log(1.02)}
BAND_MARGIN_DB = 0.5
CORRECTION_DB = (2.0, 4.0, 7.0, 10.0, 14.0)  # correction sizes tried, smallest first
NEUTRAL_CENTROID_RATIO = 1.05  # a crowd curve must move a neutral spectrum's centroid this much to be held to it
CHECK_SECONDS = 6.0  # the excerpt measured (the loudest part the search used)


@dataclass
class Move:
    key: str  # flat descriptor name
    direction: int  # +1 up, -1 down
    part: str  # the part of the prompt
    why: str  # where the expectation comes from


@dataclass
class Check:
    moves: list[Move] = field(default_factory=list)
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    corrected_db: float = 0.0  # size of the source-relative EQ correction added (0: none needed)
    not_possible: list[str] = field(default_factory=list)  # parts that cannot be done on this source, with the reason
    not_possible_keys: list[str] = field(default_factory=list)  # the descriptors those parts would have moved
    notes: list[str] = field(default_factory=list)
    off_slots: list[int] = field(default_factory=list)  # settings held neutral (the parts not possible here)

    def failed(self) -> list[Move]:
        return [m for m in self.moves if not moved(m, self.before, self.after)]


def _axis_words() -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for a in AXES:
        if a.key not in SPECTRAL and a.key != "reverb_time_s":
            continue
        if a.high:
            out[a.high] = (a.key, +1)
        if a.low:
            out[a.low] = (a.key, -1)
    return out


AXIS_WORDS = _axis_words()


def neutral_centroid_ratio(curve_db: np.ndarray, sample_rate: int) -> float:
    """The centroid of pink noise after ``curve_db`` (at BANDS_HZ) over the centroid before."""
    f = np.linspace(20.0, 0.45 * sample_rate, 4096)
    mag = f**-0.5
    g = 10 ** (np.interp(np.log(f), np.log(BANDS_HZ), curve_db) / 20)
    return float(((f * mag * g).sum() / (mag * g).sum()) / ((f * mag).sum() / mag.sum()))


def intended_moves(plan: CrowdPlan, sample_rate: int) -> list[Move]:
    """What each part must move, and which way."""
    moves: list[Move] = []
    for pp in plan.parts:
        p = pp.part
        if p.effect == "eq" and pp.curve_db is not None:
            hit = AXIS_WORDS.get(p.base) or AXIS_WORDS.get(p.word)
            if hit is not None:
                moves.append(Move(hit[0], hit[1] * (-1 if p.negated else 1), p.text, f"'{p.base}' names {hit[0]} in the descriptor vocabulary"))
                continue
            hit = AXIS_WORDS.get(p.crowd_word)
            if hit is not None:
                moves.append(Move(hit[0], int(hit[1] * np.sign(p.sign)), p.text, f"'{p.crowd_word}' names {hit[0]} in the descriptor vocabulary"))
                continue
            ratio = neutral_centroid_ratio(pp.curve_db, sample_rate)
            if abs(math.log(ratio)) >= math.log(NEUTRAL_CENTROID_RATIO):
                moves.append(Move("centroid_hz", 1 if ratio > 1 else -1, p.text, f"the applied curve moves a neutral spectrum's centroid x{ratio:.2f}"))
            if p.crowd_word.startswith("@"):  # engineering band-pass: less low end and less air
                moves += [Move("low_end_db", -int(np.sign(p.sign)), p.text, "a band-pass curve"), Move("band_air_db", -int(np.sign(p.sign)), p.text, "a band-pass curve")]
        elif p.effect == "reverb":
            moves.append(Move("reverb_time_s", 1 if p.sign > 0 else -1, p.text, "more / less room"))
    # two parts asking opposite moves of one descriptor: hold neither
    keys = {}
    for m in moves:
        keys.setdefault(m.key, set()).add(m.direction)
    return [m for m in moves if len(keys[m.key]) == 1]


def judgeable(m: Move, before: dict[str, float], after: dict[str, float]) -> bool:
    """False when the descriptor is missing, not finite, or an inaudible band (more than 30 dB under the total)."""
    a, b = before.get(m.key), after.get(m.key)
    if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
        return False
    if (m.key.startswith("band_") or m.key == "low_end_db") and a < -30.0:
        return False
    return not (m.key in MARGIN and (a <= 0 or b <= 0))


def moved(m: Move, before: dict[str, float], after: dict[str, float], slack: float = 1.0) -> bool:
    """True when the descriptor moved at least the margin (x ``slack``) the right way, or cannot be judged
    (missing, inaudible band)."""
    if not judgeable(m, before, after):
        return True
    a, b = before[m.key], after[m.key]
    if m.key in MARGIN:
        return m.direction * math.log(b / a) >= slack * MARGIN[m.key]
    return m.direction * (b - a) >= slack * BAND_MARGIN_DB


AS_ASKED, WRONG_WAY, TOO_LITTLE, NOT_JUDGED = "as asked", "wrong way", "too little", "not judged"


def outcome(m: Move, before: dict[str, float], after: dict[str, float]) -> str:
    """How the measured move went: "as asked", "wrong way", "too little" (under the noticeable margin) or "not judged"."""
    if not judgeable(m, before, after):
        return NOT_JUDGED
    if moved(m, before, after):
        return AS_ASKED
    back = Move(m.key, -m.direction, m.part, m.why)  # the wrong way counts only when it is itself a noticeable move
    return WRONG_WAY if moved(back, before, after) else TOO_LITTLE


def said(m: Move, before: dict[str, float], after: dict[str, float]) -> str:
    """The measured move in the user's terms, e.g. "'brighter': the measured centroid went down (2588 -> 1602 Hz,
    -986 Hz) although 'brighter' asks for up" (empty when the move was as asked or cannot be judged)."""
    how = outcome(m, before, after)
    if how in (AS_ASKED, NOT_JUDGED):
        return ""
    ax = AXIS.get(m.key)
    label, unit = (ax.label, ax.unit) if ax is not None else (m.key, "")
    a, b = before[m.key], after[m.key]
    fmt = ".0f" if unit == "Hz" else ".2f" if unit == "s" else ".1f"
    figures = f"{a:{fmt}} -> {b:{fmt}} {unit}, {b - a:+{fmt}} {unit}".replace(" ,", ",").strip()
    asks = "up" if m.direction > 0 else "down"
    if how == WRONG_WAY:
        went = "went up" if b > a else "went down"
        return f"'{m.part}': the measured {label} {went} ({figures}) although '{m.part}' asks for {asks}"
    return f"'{m.part}': the measured {label} barely moved ({figures}, under the noticeable step) although '{m.part}' asks for {asks}"


class SourceSpectrum:
    """The source's STFT as ``library.descriptors.spectrum`` takes it, to predict what an EQ curve does to
    the centroid and the band shares without rendering (the same frame weighting and bands)."""

    def __init__(self, mono: np.ndarray, sample_rate: int):
        import librosa

        from lstmabar.library.descriptors.spectrum import ACTIVE_DB, n_fft_for

        n_fft = n_fft_for(sample_rate)
        self.mag = np.abs(librosa.stft(np.asarray(mono, dtype=np.float32), n_fft=n_fft, hop_length=n_fft // 4, center=True)).astype(np.float64)
        self.freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
        self.active_db = ACTIVE_DB
        self.sr = sample_rate
        self.logf = np.log(np.maximum(self.freqs, 1.0))

    def predict(self, curve_db: np.ndarray) -> dict[str, float]:
        g = 10 ** (np.interp(self.logf, np.log(BANDS_HZ), curve_db) / 20)
        mag = self.mag * g[:, None]
        power = mag * mag
        e = power.sum(axis=0)
        active = e >= e.max() * 10 ** (-self.active_db / 10)
        w = np.where(active, e, 0.0)
        cen = (mag * self.freqs[:, None]).sum(axis=0) / np.maximum(mag.sum(axis=0), 1e-30)
        out = {"centroid_hz": float((cen * w).sum() / max(w.sum(), 1e-30))}
        ltas = (power * active[None, :]).sum(axis=1)
        audible = self.freqs >= 20.0
        total = ltas[audible].sum()
        for name, lo, hi in NAMED_BANDS:
            sel = (self.freqs >= lo) & (self.freqs < min(hi, self.sr / 2))
            if sel.any():
                out[f"band_{name}_db"] = float(10 * np.log10(ltas[sel].sum() / total + 1e-12))
        out["low_end_db"] = float(10 * np.log10(ltas[audible & (self.freqs < LOW_END_HZ)].sum() / total + 1e-12))
        return out


def _measure(batch: np.ndarray, sample_rate: int) -> list[dict[str, float]]:
    d = describe_batch(batch, sample_rate)
    keys = SPECTRAL + ("reverb_time_s",)
    return [{k: float(d[k][i]) for k in keys if k in d} for i in range(batch.shape[0])]


def _renders(chain: list[str], xs: list[np.ndarray], mono: np.ndarray, sample_rate: int) -> np.ndarray:
    return np.stack([render(chain, x, mono[None], sample_rate).mean(axis=0) for x in xs])


def _first_that_moves(chain: list[str], tries: list[np.ndarray], move: Move, before: dict[str, float], x_in: np.ndarray,
                      sample_rate: int) -> tuple[np.ndarray | None, dict[str, float] | None]:
    """The first of ``tries`` (normalised settings) whose render moves ``move`` the right way from ``before``,
    with its measurement; (None, None) when none does."""
    outs = _measure(_renders(chain, tries, x_in, sample_rate), sample_rate)
    for x, out in zip(tries, outs):
        if moved(move, before, out):
            return x, out
    return None, None


def correction_shape(key: str, source_centroid_hz: float) -> np.ndarray:
    """Unit correction (dB at BANDS_HZ) that raises ``key``: a tilt about the source's centroid, a shelf
    below 500 Hz, or a bell over the named band (1 inside, 0 an octave outside)."""
    f = BANDS_HZ
    if key == "centroid_hz":
        return np.clip(np.log2(f / max(source_centroid_hz, 50.0)) / 3.0, -1.0, 1.0)
    if key == "low_end_db":
        return np.clip(0.5 - np.log2(f / LOW_END_HZ), 0.0, 1.0)
    name = key[len("band_") : -len("_db")]
    lo, hi = next((lo, hi) for n, lo, hi in NAMED_BANDS if n == name)
    dist = np.maximum(np.maximum(np.log2(lo / f), np.log2(f / hi)), 0.0)
    return np.clip(1.0 - dist, 0.0, 1.0)


def _slots_of(chain: list[str], effect: str) -> list[int]:
    if effect not in chain:
        return []
    pos = chain.index(effect)
    return [i for i, s in enumerate(chain_slots(chain)) if s.effect_index == pos]


def check_and_adapt(plan: CrowdPlan, mono: np.ndarray, sample_rate: int) -> Check:
    """Render the planned settings on ``mono`` (the excerpt, at the input's rate), measure, and fix what
    moved the wrong way (``plan.normalized`` is updated in place). Returns what was expected and seen."""
    chain = plan.chain
    mono = np.asarray(mono, dtype=np.float32)[: int(CHECK_SECONDS * sample_rate)]
    moves = intended_moves(plan, sample_rate)
    chk = Check(moves=moves)
    if not moves:
        return chk
    tail = 1.0 if any(m.key == "reverb_time_s" for m in moves) else 0.0
    x_in = np.pad(mono, (0, int(tail * sample_rate)))
    ms = _measure(np.stack([x_in, _renders(chain, [plan.normalized], x_in, sample_rate)[0]]), sample_rate)
    chk.before, chk.after = ms
    # -- less reverb: a stronger expander, else not possible on this source
    less_room = [m for m in moves if m.key == "reverb_time_s" and m.direction < 0]
    if less_room and not moved(less_room[0], chk.before, chk.after) and "gate" in chain:
        level = loud_level_db(mono.astype(np.float64), sample_rate)
        gate = _slots_of(chain, "gate")
        tries = []
        for s in (0.75, 1.0):
            x = plan.normalized.copy()
            _set(chain, x, "gate", {"threshold_db": float(np.clip(level - (34.0 - 24.0 * s), -80.0, 0.0)), "ratio": 1.0 + 8.0 * s})
            tries.append(x)
        x, out = _first_that_moves(chain, tries, less_room[0], chk.before, x_in, sample_rate)
        if x is not None:
            plan.normalized[:] = x
            chk.after = out
            chk.notes.append(f"'{less_room[0].part}': the expander was set stronger so the measured reverb time falls "
                             f"({chk.before['reverb_time_s']:.2f} -> {chk.after['reverb_time_s']:.2f} s).")
        else:
            plan.normalized[gate] = neutral_normalized(chain)[gate]
            chk.off_slots += gate
            for pp in plan.parts:
                if pp.part.effect == "reverb" and pp.part.sign < 0:
                    pp.values = {}  # said as left out
            rt = chk.before.get("reverb_time_s")
            why = (f"its measured reverb time ({rt:.2f} s) did not shorten under the strongest downward expander" if rt is not None and np.isfinite(rt)
                   else "it never falls by 20 dB, so there is no decay to shorten")
            chk.not_possible.append(f"'{less_room[0].part}' is not possible on this recording: {why}; there is little or no room in it to remove, "
                                    "so the expander was left off (a de-reverberation model would be needed).")
            chk.not_possible_keys.append("reverb_time_s")
            moves.remove(less_room[0])
            chk.after = _measure(_renders(chain, [plan.normalized], x_in, sample_rate), sample_rate)[0]
    # -- more reverb that the measurement does not hear: more of it
    more_room = [m for m in moves if m.key == "reverb_time_s" and m.direction > 0]
    rev = _slots_of(chain, "reverb")
    if more_room and rev and not moved(more_room[0], chk.before, chk.after):
        phys = {s.param.name: s.param.to_physical(plan.normalized[i]) for i, s in zip(rev, [chain_slots(chain)[i] for i in rev])}
        # within the part's strength: the wet level stays under the plan's bound (0.5 x strength)
        s = max((pp.strength for pp in plan.parts if pp.part.effect == "reverb" and pp.part.sign > 0), default=0.5)
        tries = []
        for k in (1.5, 2.2):
            x = plan.normalized.copy()
            _set(chain, x, "reverb", {"wet_level": float(min(0.5 * s, phys.get("wet_level", 0.2) * k)), "room_size": float(min(0.95, phys.get("room_size", 0.5) + 0.1 * k))})
            tries.append(x)
        x, out = _first_that_moves(chain, tries, more_room[0], chk.before, x_in, sample_rate)
        if x is not None:
            plan.normalized[:] = x
            chk.after = out
            chk.notes.append(f"'{more_room[0].part}': more reverb than the crowd's setting, so that the measured reverb time rises.")
    # -- EQ moves: the smallest source-relative correction that makes every one go the right way
    eq_moves = [m for m in moves if m.key in SPECTRAL]
    bad = [m for m in eq_moves if not moved(m, chk.before, chk.after)]
    if bad and plan.target_db is not None:
        shape = sum(m.direction * correction_shape(m.key, chk.before.get("centroid_hz", 1000.0)) for m in eq_moves)
        spec = SourceSpectrum(mono, sample_rate)
        base = spec.predict(np.zeros(len(BANDS_HZ)))
        # predicted on the source's own spectrum: the smallest sizes whose moves clear 1.5 margins
        ranked = [g for g in CORRECTION_DB if all(moved(m, base, spec.predict(plan.target_db + g * shape), slack=1.5) for m in eq_moves)]
        ranked = (ranked or [CORRECTION_DB[-1]])[:2]
        before_ok = sum(moved(m, chk.before, chk.after) for m in eq_moves)
        for g in ranked:
            x = fit_filters(chain, plan.normalized, plan.target_db + g * shape, sample_rate, steps=80)[0]
            out = _measure(_renders(chain, [x], x_in, sample_rate), sample_rate)[0]
            ok = sum(moved(m, chk.before, out) for m in eq_moves)
            if ok > before_ok:
                plan.normalized[:] = x
                plan.target_db = plan.target_db + g * shape
                chk.after, chk.corrected_db, before_ok = out, g, ok
            if ok == len(eq_moves):
                break
        if chk.corrected_db:
            chk.notes.append(
                "On this recording the crowd's curve moved " + ", ".join(f"{m.key} the wrong way for '{m.part}'" for m in bad)
                + f"; a source-relative correction of {chk.corrected_db:g} dB ("
                + ", ".join({"centroid_hz": "a tilt about the sound's own centroid"}.get(m.key, f"more {m.key}" if m.direction > 0 else f"less {m.key}") for m in eq_moves)
                + ") was added to it.")
    return chk


def measure(chain: list[str], x: np.ndarray, moves: list[Move], mono: np.ndarray, sample_rate: int,
            before: dict[str, float] | None = None) -> Check:
    """``moves`` checked for settings ``x`` on ``mono`` (the excerpt ``check_and_adapt`` measures): the dry
    excerpt's descriptors (unless ``before`` is given) and those of its render; nothing is adapted."""
    if not moves:
        return Check(moves=list(moves), before=dict(before or {}))
    mono = np.asarray(mono, dtype=np.float32)[: int(CHECK_SECONDS * sample_rate)]
    tail = 1.0 if any(m.key == "reverb_time_s" for m in moves) else 0.0
    x_in = np.pad(mono, (0, int(tail * sample_rate)))
    wet = _renders(chain, [x], x_in, sample_rate)
    if before is None:
        before, after = _measure(np.stack([x_in, wet[0]]), sample_rate)
    else:
        after = _measure(wet, sample_rate)[0]
    return Check(moves=list(moves), before=before, after=after)


def verify(chain: list[str], x: np.ndarray, moves: list[Move], mono: np.ndarray, sample_rate: int, before: dict[str, float]) -> list[Move]:
    """The moves that ``x`` gets wrong on ``mono`` (for a Text2FX refinement of checked settings)."""
    return measure(chain, x, moves, mono, sample_rate, before).failed()


__all__ = ["Check", "Move", "check_and_adapt", "intended_moves", "measure", "moved", "outcome", "said", "verify"]
