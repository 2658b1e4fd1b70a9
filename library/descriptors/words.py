"""Descriptors -> producers' words, each with its evidence, and the differences between two sounds.

A word is said when its descriptor lies at or beyond the 80th percentile (or at or below the 20th)
of a reference set of real recordings (``reference.json``: only percentiles, with the recipe and
the sources; built by ``scripts/descriptor_reference.py``). The percentile levels are the rule;
the Hz, dB and second values behind each word come from the recordings, not from this file.

For two sounds, ``compare`` names each descriptor that moved by more than its noticeable step.
The steps are rules of thumb (stated per axis below), not measured here.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

REFERENCE_PATH = Path(__file__).with_name("reference.json")
HIGH, LOW = 80.0, 20.0


@dataclass(frozen=True)
class Axis:
    key: str  # flat descriptor name
    label: str
    unit: str  # "Hz", "s", "dB", "LUFS", "cents", "" ...
    high: str | None  # word at or above the 80th percentile
    low: str | None  # word at or below the 20th
    more: str  # comparative for an increase
    less: str
    step: float  # noticeable change: a ratio when ``ratio``, else a difference in the unit
    ratio: bool = False
    min_step: float = 0.0  # with ``ratio``: also at least this much in the unit
    population: str = "all"  # which reference sounds the percentiles cover: all, pitched, stereo, measurable


AXES: tuple[Axis, ...] = (
    Axis("centroid_hz", "centroid", "Hz", "bright", "dark", "brighter", "darker", 1.05, ratio=True),
    Axis("low_end_db", "energy below 500 Hz", "dB", "full", "thin", "fuller", "thinner", 1.0),
    Axis("band_low_db", "energy 60-250 Hz", "dB", "boomy", None, "boomier", "less boomy", 1.0),
    Axis("band_low_mid_db", "energy 250-500 Hz", "dB", "muddy", None, "muddier", "less muddy", 1.0),
    Axis("band_mid_db", "energy 500 Hz-2 kHz", "dB", "boxy", None, "boxier", "less boxy", 1.0),
    Axis("band_high_mid_db", "energy 2-4 kHz", "dB", "harsh", None, "harsher", "less harsh", 1.0),
    Axis("band_air_db", "energy 6-20 kHz", "dB", "airy", None, "airier", "less airy", 1.0),
    Axis("flatness", "spectral flatness", "", "noisy", "clean", "noisier", "cleaner", 1.25, ratio=True, min_step=0.005),
    Axis("attack_s", "attack", "s", "slow attack", "fast attack", "slower attack", "faster attack", 1.25, ratio=True, min_step=0.005),
    Axis("transient_db", "first 50 ms above the body", "dB", "plucky", None, "punchier", "softer onset", 1.0),
    Axis("sounding_s", "sounding length", "s", "sustained", "short", "longer", "shorter", 1.1, ratio=True, min_step=0.02),
    Axis("am_depth_db", "level modulation", "dB", "wobbling", None, "more wobble", "less wobble", 1.0, population="measurable"),
    Axis("vibrato_depth_cents", "vibrato", "cents", "vibrato", None, "more vibrato", "less vibrato", 5.0, population="pitched"),
    Axis("width", "stereo width", "", "wide", "narrow", "wider", "narrower", 0.05, population="stereo"),
    Axis("reverb_time_s", "reverb time", "s", "roomy", "dry", "roomier", "drier", 1.1, ratio=True, population="measurable"),
    Axis("integrated_lufs", "loudness", "LUFS", "loud", "quiet", "louder", "quieter", 1.0),
    Axis("f0_hz", "pitch", "Hz", "high register", "low register", "higher", "lower", 2 ** (0.1 / 12), ratio=True, population="pitched"),
    Axis("sharpness_acum", "sharpness", "acum", None, None, "sharper", "duller", 1.05, ratio=True),
)
AXIS = {a.key: a for a in AXES}
# "wobbling" and "vibrato" need a periodic modulation (a rate), not just a moving level or pitch
PERIODIC = {"am_depth_db": "am_rate_hz", "vibrato_depth_cents": "vibrato_rate_hz"}
BAND_FLOOR_DB = -30.0  # a band this far under the total is not compared between two sounds


class Word(BaseModel):
    word: str
    descriptor: str
    value: float
    unit: str
    percentile: float = Field(description="Where the value lies among the reference recordings (0-100).")
    threshold: float = Field(description="The reference value at which the word starts (80th or 20th percentile).")
    evidence: str


class Difference(BaseModel):
    word: str = Field(description='How the second sound differs, e.g. "darker".')
    descriptor: str
    a: float
    b: float
    unit: str
    evidence: str


@functools.lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    """The shipped reference table (percentiles only)."""
    return json.loads(REFERENCE_PATH.read_text())


def percentile_of(key: str, value: float) -> float | None:
    ref = reference()["descriptors"].get(key)
    if ref is None or value is None or not math.isfinite(value):
        return None
    levels = np.asarray(reference()["levels"], dtype=np.float64)
    vals = np.asarray(ref["values"], dtype=np.float64)
    # mid-rank where many reference sounds share one value (e.g. a fifth of them start in 0 ms)
    up = np.interp(value, vals, levels)
    down = np.interp(-value, -vals[::-1], levels[::-1])
    return float(0.5 * (up + down))


def threshold(key: str, level: float) -> float | None:
    ref = reference()["descriptors"].get(key)
    if ref is None:
        return None
    return float(np.interp(level, reference()["levels"], ref["values"]))


def fmt(value: float, unit: str) -> str:
    if unit == "Hz":
        return f"{value / 1000:.3g} kHz" if abs(value) >= 1000 else f"{value:.0f} Hz"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if unit in ("dB", "LUFS"):
        return f"{value:.1f} {unit}"
    if unit == "cents":
        return f"{value:.0f} cents"
    if unit == "acum":
        return f"{value:.2f} acum"
    return f"{value:.3g}"


def _ordinal(p: float) -> str:
    n = int(round(p))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _flat(d: Any) -> dict[str, Any]:
    return d.flat() if hasattr(d, "flat") else dict(d)


def _applies(axis: Axis, f: dict[str, Any]) -> bool:
    if axis.key in PERIODIC:
        return f.get(PERIODIC[axis.key]) is not None
    if axis.population == "pitched":
        return bool(f.get("pitched"))
    if axis.population == "stereo":
        return bool(f.get("stereo"))
    return True


def words(d: Any) -> list[Word]:
    """The producer words a sound earns, strongest first, each with its evidence."""
    f = _flat(d)
    if f.get("silent"):
        return []
    out: list[tuple[float, Word]] = []
    for axis in AXES:
        v = f.get(axis.key)
        if v is None or not _applies(axis, f):
            continue
        p = percentile_of(axis.key, float(v))
        if p is None:
            continue
        for word, level, hit in ((axis.high, HIGH, p >= HIGH), (axis.low, LOW, p <= LOW)):
            if word and hit:
                t = threshold(axis.key, level)
                ev = (f"{word}: {axis.label} {fmt(float(v), axis.unit)}, {_ordinal(p)} percentile of the reference set "
                      f"({word} from the {_ordinal(level)}, {fmt(t, axis.unit)})")
                out.append((abs(p - 50), Word(word=word, descriptor=axis.key, value=float(v), unit=axis.unit,
                                              percentile=round(p, 1), threshold=round(t, 4), evidence=ev)))
    return [w for _, w in sorted(out, key=lambda s: -s[0])]


def _moved(axis: Axis, a: float, b: float) -> bool:
    if axis.ratio:
        if a <= 0 or b <= 0:
            return False
        return max(a, b) / min(a, b) >= axis.step and abs(b - a) >= axis.min_step
    return abs(b - a) >= axis.step


def compare(a: Any, b: Any) -> list[Difference]:
    """How sound B differs from sound A, in words with the numbers ("darker (centroid 2.1 -> 1.2 kHz)")."""
    fa, fb = _flat(a), _flat(b)
    out: list[tuple[float, Difference]] = []
    if fa.get("silent") or fb.get("silent"):
        return []
    for axis in AXES:
        va, vb = fa.get(axis.key), fb.get(axis.key)
        if va is None or vb is None:
            continue
        if axis.population == "pitched" and not (fa.get("pitched") and fb.get("pitched")):
            continue
        if axis.population == "stereo" and not (fa.get("stereo") or fb.get("stereo")):
            continue
        va, vb = float(va), float(vb)
        if axis.key.startswith("band_") and max(va, vb) < BAND_FLOOR_DB:
            continue
        if not _moved(axis, va, vb):
            continue
        word = axis.more if vb > va else axis.less
        size = abs(math.log(vb / va)) / math.log(axis.step) if axis.ratio else abs(vb - va) / axis.step
        ev = f"{word} ({axis.label} {fmt(va, axis.unit)} -> {fmt(vb, axis.unit)})"
        out.append((size, Difference(word=word, descriptor=axis.key, a=va, b=vb, unit=axis.unit, evidence=ev)))
    return [d for _, d in sorted(out, key=lambda s: -s[0])]


def summary(d: Any, limit: int = 6) -> str:
    """One line: the note (or none), the strongest words, the loudness."""
    f = _flat(d)
    if f.get("silent"):
        return "silent"
    parts = []
    if f.get("pitched") and f.get("f0_hz"):
        parts.append(f"pitched, {f['note']} ({f['f0_hz']:.1f} Hz)")
    elif f.get("voiced_share") is not None and "pitched" in f:
        parts.append("no clear pitch")
    ws = [w.word for w in words(f)][:limit]
    if ws:
        parts.append(", ".join(ws))
    if f.get("integrated_lufs") is not None:
        parts.append(f"{f['integrated_lufs']:.1f} LUFS")
    return "; ".join(parts) if parts else "no notable features"
