"""A sound brief: measurable targets, each a range on one descriptor of ``library.descriptors``.

A target says which descriptor it is about (the flat names of ``Descriptors.flat``), the range the
prompt asks for (``lo``/``hi``, either may be open), how far outside still counts as met
(``tolerance``: a ratio for ratio-scaled descriptors such as Hz and seconds, a difference in the
unit otherwise), how sure the brief is that the prompt asks for it (``confidence``), where the
numbers come from (``source``), and, when a synth parameter sets it directly, which (``set_by``).

``check`` judges one measured sound against a target; ``violation`` is the same distance, graded,
for a search's penalty (in noticeable steps of the descriptor, 0 when met).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

# Descriptors measured on a ratio scale: their distance is in log units (an octave, a doubling).
RATIO = {"f0_hz", "centroid_hz", "attack_s", "sounding_s", "am_rate_hz", "vibrato_rate_hz", "flatness", "decay_time_constant_s"}
# A noticeable step per descriptor (ratio for RATIO, difference otherwise): library.descriptors' compare
# steps where it has one, else a stated rule of thumb.
STEP = {
    "f0_hz": 2 ** (0.5 / 12),  # half a semitone
    "centroid_hz": 1.05,
    "flatness": 1.25,
    "attack_s": 1.25,
    "sounding_s": 1.1,
    "am_rate_hz": 1.1,
    "vibrato_rate_hz": 1.1,
    "decay_time_constant_s": 1.1,
    "am_depth_db": 1.0,
    "vibrato_depth_cents": 5.0,
    "pitch_trend_semitones_per_s": 0.5,
    "pitch_range_semitones": 0.5,
    "sustain_level_db": 1.0,
    "decay_db_per_s": 3.0,
    "transient_db": 1.0,
    "low_end_db": 1.0,
    "band_low_db": 1.0,
    "band_low_mid_db": 1.0,
    "band_mid_db": 1.0,
    "band_high_mid_db": 1.0,
    "band_air_db": 1.0,
    "pitched": 1.0,
}
# Floors under which a ratio-scaled value is taken as this value (0 s attack, 0 flatness).
FLOOR = {"attack_s": 0.002, "flatness": 1e-6, "sounding_s": 0.005, "centroid_hz": 20.0, "f0_hz": 8.0, "am_rate_hz": 0.1, "vibrato_rate_hz": 0.1}


class Target(BaseModel):
    aspect: str = Field(description="What the target is about: pitch, brightness, noisiness, attack, length, sustain, decay, pitch movement, vibrato, amplitude movement, modulation rate, loudness character, spectrum band.")
    descriptor: str = Field(description="The library.descriptors name it is measured by (e.g. centroid_hz).")
    lo: float | None = Field(None, description="Lowest value asked (null: open).")
    hi: float | None = Field(None, description="Highest value asked (null: open).")
    unit: str = ""
    tolerance: float = Field(0.0, description="Slack still counted as met: a ratio (e.g. 1.05 = 5 %) for Hz/seconds/flatness, a difference in the unit otherwise.")
    confidence: float = Field(1.0, ge=0.0, le=1.0, description="How sure the brief is that the prompt asks for this (explicit numbers 1.0).")
    needs: str | None = Field(None, description="A descriptor that must be defined for the target to count as met (e.g. am_rate_hz: a periodic modulation).")
    source: str = Field("", description="Where the numbers come from: the prompt's words and the data behind them.")
    set_by: dict[str, float] = Field(default_factory=dict, description="Synth parameters the brief sets directly for this target (physical units); not searched.")
    relative_to: float | None = Field(None, description="For a refinement: the start sound's value the target was computed from.")
    kept: bool = Field(False, description="True for a refinement's keep target (something the prompt did not ask to change).")

    def describe(self) -> str:
        from lstmabar.library.descriptors.words import fmt

        u = self.unit
        if self.descriptor == "pitched":
            return "pitched (pYIN finds a note)"
        if self.lo is not None and self.hi is not None:
            return f"{self.descriptor} {fmt(self.lo, u)} to {fmt(self.hi, u)}"
        if self.lo is not None:
            return f"{self.descriptor} >= {fmt(self.lo, u)}"
        if self.hi is not None:
            return f"{self.descriptor} <= {fmt(self.hi, u)}"
        return f"{self.descriptor} defined"


class Brief(BaseModel):
    prompt: str
    targets: list[Target] = Field(default_factory=list)
    relative: bool = Field(False, description="True when computed against a start sound (start_from).")
    render_seconds: float | None = Field(None, description="Render length the brief needs (a long sound asked for), or null.")
    notes: list[str] = Field(default_factory=list, description="What the brief could not use or resolve, in words.")
    cannot: list[str] = Field(default_factory=list, description="Changes the prompt asks that cannot be made from this start (a faster attack of a 2 ms one, "
                              "less noise where none is measured), or not as said (a number that lies the other way from its word: 'shorter, like 3 s' "
                              "of a 2 s sound), each with why: the assistant should say so and ask what was meant.")
    settings: dict[str, float] = Field(default_factory=dict, description="Synth settings (physical units) that meet targets directly: envelopes, routings, noise level (models.brief.program).")
    settings_why: dict[str, str] = Field(default_factory=dict, description="Why each setting.")
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description="Parameters the search may move only within (low, high), physical units (models.brief.program.search_ranges).")

    def set_params(self) -> dict[str, float]:
        """Every parameter the brief sets: what a refinement keeps from the start sound, overridden by the
        programmed settings for what the prompt asks, overridden by the asked targets' own (note, key time)."""
        out: dict[str, float] = {}
        for t in self.targets:
            if t.kept:
                out.update(t.set_by)
        out.update(self.settings)
        for t in self.targets:
            if not t.kept:
                out.update(t.set_by)
        return out

    def summary(self) -> str:
        if not self.targets:
            return "no measurable demands found in the prompt"
        return "; ".join(f"{t.aspect}: {t.describe()}" for t in self.targets)


def _value(f: dict[str, Any], key: str) -> float | None:
    v = f.get(key)
    if v is None or isinstance(v, str):
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    v = float(v)
    return v if math.isfinite(v) else None


def distance(t: Target, value: float | None) -> float:
    """How far ``value`` lies outside the target's range, in noticeable steps (0 inside); inf when undefined."""
    if value is None or not math.isfinite(value):
        return math.inf
    if t.descriptor in RATIO:
        fl = FLOOR.get(t.descriptor, 1e-9)
        v = math.log(max(value, fl))
        lo = math.log(max(t.lo, fl)) if t.lo is not None else -math.inf
        hi = math.log(max(t.hi, fl)) if t.hi is not None else math.inf
        step = math.log(STEP.get(t.descriptor, 1.1))
    else:
        v, lo, hi = value, (t.lo if t.lo is not None else -math.inf), (t.hi if t.hi is not None else math.inf)
        step = STEP.get(t.descriptor, 1.0)
    return max(0.0, lo - v, v - hi) / step


def check(t: Target, flat: dict[str, Any]) -> tuple[bool, float | None]:
    """(met, measured value) of one target on one sound's flat descriptors."""
    if flat.get("silent"):
        return False, None
    value = _value(flat, t.descriptor)
    if t.descriptor == "f0_hz" and not flat.get("pitched"):
        return False, value
    if t.needs and _value(flat, t.needs) is None:
        return False, value
    if value is None:
        return False, None
    if t.descriptor in RATIO:
        tol = math.log(max(t.tolerance, 1.0))
        step = math.log(STEP.get(t.descriptor, 1.1))
        ok = distance(t, value) * step <= tol + 1e-9
    else:
        ok = distance(t, value) * STEP.get(t.descriptor, 1.0) <= t.tolerance + 1e-9
    return ok, value


def violation_batch(t: Target, values: np.ndarray) -> np.ndarray:
    """``distance`` over a batch (NaN, i.e. undefined, counts as ``UNDEFINED_STEPS``)."""
    out = np.array([distance(t, None if not np.isfinite(v) else float(v)) for v in np.asarray(values, dtype=np.float64)])
    return np.where(np.isfinite(out), out, UNDEFINED_STEPS)


UNDEFINED_STEPS = 60.0  # a descriptor the target needs is undefined (no modulation found, silence): worse than any measured miss
