"""Saying what was done, in the crowd's terms and in measurements.

"people who call a sound warm boost around 83-455 Hz and cut 729 Hz-19.7 kHz (SocialFX, 64
contributors, split-half r 0.95); applied at strength 0.5: +4.9 dB at 120 Hz, -4.6 dB at 1.3 kHz"
and the measured before / after (``library.descriptors``: centroid, band energies, reverb time,
loudness, width).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..chain import chain_slots
from ..twins import eq_curve_db
from .prior import BANDS_HZ, CrowdPrior
from .settings import FILTER_EFFECTS, CrowdPlan, PartPlan, normalised_curve

MEASURED = ("centroid_hz", "low_end_db", "band_low_db", "band_low_mid_db", "band_mid_db", "band_high_mid_db", "band_presence_db",
            "band_air_db", "reverb_time_s", "integrated_lufs", "width")
LABELS = {"centroid_hz": ("centroid", "Hz"), "low_end_db": ("energy below 500 Hz", "dB"), "band_low_db": ("energy 60-250 Hz", "dB"),
          "band_low_mid_db": ("energy 250-500 Hz", "dB"), "band_mid_db": ("energy 0.5-2 kHz", "dB"), "band_high_mid_db": ("energy 2-4 kHz", "dB"),
          "band_presence_db": ("energy 4-6 kHz", "dB"), "band_air_db": ("energy above 6 kHz", "dB"), "reverb_time_s": ("reverb time", "s"),
          "integrated_lufs": ("loudness", "LUFS"), "width": ("stereo width", "")}


def hz(f: float) -> str:
    return f"{f / 1000:.3g} kHz" if f >= 1000 else f"{f:.0f} Hz"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(mask):
        if mask[i]:
            j = i
            while j + 1 < len(mask) and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def _region(i: int, j: int) -> str:
    if i == 0:
        return f"below {hz(BANDS_HZ[j])}"
    if j == len(BANDS_HZ) - 1:
        return f"above {hz(BANDS_HZ[i])}"
    return f"around {hz(BANDS_HZ[i])}-{hz(BANDS_HZ[j])}" if i != j else f"around {hz(BANDS_HZ[i])}"


def curve_words(curve: np.ndarray, threshold: float = 0.4) -> str:
    """'boost around 100-400 Hz and cut above 5 kHz' for a crowd curve (min-max normalised)."""
    s = normalised_curve(np.asarray(curve, dtype=np.float64))
    parts = []
    for verb, mask in (("boost", s > threshold), ("cut", s < -threshold)):
        runs = sorted(_runs(mask), key=lambda r: -float(np.abs(s[r[0] : r[1] + 1]).sum()))[:2]
        if runs:
            parts.append(f"{verb} " + " and ".join(_region(i, j) for i, j in sorted(runs)))
    return " and ".join(parts) if parts else "leave the spectrum nearly flat"


def _who(pp: PartPlan) -> tuple[str, str]:
    """('people who call a sound warm', '(SocialFX, 64 contributors, split-half r 0.95)') or the borrowed form."""
    m = pp.meaning
    word = pp.part.crowd_word
    assert m is not None
    if m.known:
        agree = f", split-half r {m.agreement:.2f}" if m.agreement is not None else ""
        return f"people who call a sound {m.known_as}", f"({m.source}, {m.count} contributor{'s' if m.count != 1 else ''}{agree})"
    near = ", ".join(f"{w}" for w, _ in m.neighbours[:3])
    return f"'{word}' is not in the crowd data; words like it ({near})", f"(borrowed, confidence {m.confidence:.2f})"


def part_sentence(pp: PartPlan, crowd: CrowdPlan, prior: CrowdPrior, sample_rate: int) -> str:
    p = pp.part
    lead = f"'{p.text}'" + (f" ({p.note})" if p.note else "") + ": "
    if pp.meaning is None and p.effect != "eq" and not pp.values:
        return lead + "left out."
    strength = f"strength {pp.strength:g}"
    if p.effect == "eq":
        if pp.meaning is None and pp.curve_db is None:
            return lead + "left out."
        if pp.meaning is None:  # engineering curve
            told = "an engineering band-pass curve"
        else:
            who, src = _who(pp)
            told = f"{who} {curve_words(pp.meaning.values)} {src}"
        direction = "; the opposite was applied" if p.sign < 0 else ""
        return lead + told + direction + f"; applied at {strength}: {applied_eq(crowd, sample_rate)}"
    if p.effect == "reverb" and p.sign > 0 and pp.meaning is not None:
        m = pp.meaning
        who, src = _who(pp)
        decay, cutoff = math.exp(m.values[0]), math.exp(m.values[1])
        avg_decay = math.exp(prior.mean_values("reverb")[0])
        pct = prior.percentile("reverb", 2, float(m.values[2]))
        v = pp.values
        return (lead + f"{who} choose a reverb decay of about {decay:.1f} s (the study's average setting {avg_decay:.1f} s), a tail cut-off near "
                f"{hz(cutoff)} and more effect than {pct:.0%} of the words {src}; applied at {strength}: Freeverb room size {v['room_size']:.2f}, "
                f"damping {v['damping']:.2f}, wet {v['wet_level']:.2f}")
    if p.effect == "compressor" and pp.meaning is not None:
        who, src = _who(pp)
        m = pp.meaning
        thr, ratio = m.values[0], math.exp(m.values[1])
        mu = prior.mean_values("compressor")
        v = pp.values
        if p.sign < 0:
            return lead + "a compressor cannot undo compression; left off."
        return (lead + f"{who} set a {'lower' if thr < mu[0] else 'higher'} threshold and a {'higher' if m.values[1] > mu[1] else 'lower'} ratio "
                f"than the average setting ({ratio:.1f}:1) {src}; applied at {strength}: threshold {v['threshold_db']:.1f} dB, ratio {v['ratio']:.1f}:1, "
                f"attack {v['attack_ms']:.1f} ms, release {v['release_ms']:.0f} ms")
    v = pp.values
    if p.effect == "reverb":
        return lead + f"a downward expander (NoiseGate threshold {v['threshold_db']:.1f} dB, ratio {v['ratio']:.1f}:1) turns the room's tail down"
    if p.effect == "width":
        return lead + f"a short stereo reverb (room size {v['room_size']:.2f}, wet {v['wet_level']:.2f}) on two channels"
    if p.effect == "gain":
        return lead + f"{v['loudness_change_db']:+.1f} dB of loudness"
    return lead + ", ".join(f"{k} {val:.3g}" for k, val in v.items()) + " (engineering default; no crowd data for this effect)"


def applied_eq(crowd: CrowdPlan, sample_rate: int) -> str:
    """The chain's filters at the Audealize bands: the largest boost and cut, e.g. '+3.1 dB at 200 Hz, -2.4 dB at 8 kHz'."""
    keep = BANDS_HZ < 0.45 * sample_rate
    db = eq_curve_db(crowd.chain, crowd.normalized, BANDS_HZ[keep], sample_rate)
    db = db - np.median(db)
    i, j = int(np.argmax(db)), int(np.argmin(db))
    return f"{db[i]:+.1f} dB at {hz(BANDS_HZ[keep][i])}, {db[j]:+.1f} dB at {hz(BANDS_HZ[keep][j])} (relative to the median band)"


def explain(crowd: CrowdPlan, prior: CrowdPrior, sample_rate: int) -> list[str]:
    return [part_sentence(pp, crowd, prior, sample_rate) for pp in crowd.parts] + list(crowd.notes)


def eq_moved(chain: list[str], start: np.ndarray, result: np.ndarray) -> bool:
    filt = [i for i, s in enumerate(chain_slots(chain)) if s.effect in FILTER_EFFECTS]
    return bool(filt) and float(np.abs(np.asarray(start)[filt] - np.asarray(result)[filt]).max()) > 1e-6


# ----------------------------------------------------------------------------- measurements
def measure(samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """The descriptors that say what an effect did (``library.descriptors``; no pitch, no psychoacoustics)."""
    from lstmabar.library.descriptors import describe

    flat = describe(samples, sample_rate, with_pitch=False, psychoacoustic=False).flat()
    return {k: (None if flat.get(k) is None else round(float(flat[k]), 4)) for k in MEASURED}


def measured_sentence(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    for k in MEASURED:
        a, b = before.get(k), after.get(k)
        if a is None and b is None:
            continue
        label, unit = LABELS[k]
        fa = "-" if a is None else (f"{a:.0f}" if unit == "Hz" else f"{a:.2f}" if unit in ("s", "") else f"{a:.1f}")
        fb = "-" if b is None else (f"{b:.0f}" if unit == "Hz" else f"{b:.2f}" if unit in ("s", "") else f"{b:.1f}")
        parts.append(f"{label} {fa} -> {fb}{(' ' + unit) if unit else ''}")
    return "Measured before -> after: " + "; ".join(parts) + "."
