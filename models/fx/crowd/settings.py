"""From a parsed request to the chain's settings: the crowd's meanings translated into pedalboard knobs.

- EQ: the parts' crowd curves (normalised as Audealize does: min-max to +-1), each scaled by
  ``EQ_DB_FULL`` x strength x direction and summed, are fitted by the chain's filters (eq, highpass,
  lowpass) through their pedalboard-true torch twins (``twins.eq_curve_db``), least squares in dB at
  the 40 Audealize band centres the sample rate can carry; the overall level is left free (the
  loudness is set at the end).
- Reverb: the crowd's decay T60 is matched by Freeverb's own measured T60 (``FREEVERB_T60``), the
  cut-off of Audealize's tail low-pass sets the damping, and the word's effect level E (its
  percentile among the known words) scales the wet level: 0.4-1 x strength x the wet range.
- Compressor: threshold and ratio from strength, moved by the crowd's threshold and ratio for the
  word (in standard deviations of the study's settings); attack and release are the crowd's, in
  seconds, within pedalboard's ranges. The threshold sits relative to the input's loud level.
- "Less reverb" (drier, closer) becomes a downward expander (``gate``) under the input's loud level.
- Width: a short stereo reverb on a stereo copy of the sound. Distortion, delay and chorus, which the
  crowd data do not cover, get engineering defaults scaled by strength.

Every part also gets a confidence (how well the crowd knows the word); ``slot_weights`` turns it into
a per-parameter pull towards these settings for the Text2FX refinement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..chain import FILTER_EFFECTS, chain_slots, neutral_normalized
from ..twins import effect_values, eq_curve_db, filter_response, filter_stages
from .prior import BANDS_HZ, CrowdPrior, Meaning
from .prompt import Part, Request

EQ_DB_FULL = 10.0  # peak gain of one crowd curve at strength 1 (Audealize: 5 dB x amount)
ENGINEERING_CONFIDENCE = 0.6  # for settings from an engineering convention rather than crowd data
# Freeverb (pedalboard Reverb, damping 0.5) T60 measured from its impulse response (Schroeder, T30 x 2) at 44.1 kHz
FREEVERB_ROOM = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0])
FREEVERB_T60 = np.array([0.526, 0.591, 0.67, 0.765, 0.897, 1.076, 1.331, 1.733, 2.397, 2.983, 3.875, 5.518, 7.404, 9.54])
ENGINEERING_CURVES = {"telephone": (300.0, 3400.0), "radio": (200.0, 5000.0), "lofi": (150.0, 5000.0)}


@dataclass
class PartPlan:
    part: Part
    meaning: Meaning | None
    confidence: float
    curve_db: np.ndarray | None = None  # EQ parts: this part's target at BANDS_HZ (dB)
    values: dict[str, float] = field(default_factory=dict)  # the physical settings this part set
    strength: float = 0.5  # the strength applied (the caller's, else the part's own)


@dataclass
class CrowdPlan:
    request: Request
    chain: list[str]
    normalized: np.ndarray
    parts: list[PartPlan]
    target_db: np.ndarray | None  # summed EQ target at BANDS_HZ
    fit_bands: np.ndarray  # bool mask of the bands the fit used (below 0.45 x sample rate)
    loudness_change_db: float
    stereo: bool  # the result should be stereo (a width request)
    notes: list[str]

    def effect_confidence(self, effect: str) -> float:
        vals = [p.confidence for p in self.parts if _chain_effect(p.part) == effect]
        return max(vals) if vals else 0.0


def _chain_effect(part: Part) -> str:
    if part.effect == "width":
        return "reverb"
    if part.effect == "reverb" and part.sign < 0:
        return "gate"
    return part.effect


# ----------------------------------------------------------------------------- EQ
def normalised_curve(curve: np.ndarray) -> np.ndarray:
    """Audealize's normalisation: min-max to [-1, 1]."""
    lo, hi = float(np.min(curve)), float(np.max(curve))
    return (2 * (curve - lo) / (hi - lo) - 1) if hi - lo > 1e-9 else np.zeros_like(curve)


def engineering_curve(name: str) -> np.ndarray:
    """A band-pass shape in octaves: +1 inside (lo, hi), falling by 2 per octave outside, floor -1."""
    lo, hi = ENGINEERING_CURVES[name]
    f = BANDS_HZ
    out = np.maximum(np.log2(lo / f), np.log2(f / hi))
    return np.clip(1 - 2 * np.maximum(out, 0.0), -1.0, 1.0)


def fit_filters(chain: list[str], start: np.ndarray, target_db: np.ndarray, sample_rate: int, *, steps: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Fit the chain's filter parameters so their summed response matches ``target_db`` at the Audealize
    bands below 0.45 x the sample rate (the level left free). Returns (normalised settings, band mask)."""
    slots = chain_slots(chain)
    fit_idx = [i for i, s in enumerate(slots) if s.effect in FILTER_EFFECTS]
    keep = BANDS_HZ < 0.45 * sample_rate
    if not fit_idx:
        return start.copy(), keep
    f = torch.as_tensor(BANDS_HZ[keep])
    t = torch.as_tensor(target_db[keep] - target_db[keep].mean())
    x0 = torch.as_tensor(np.clip(start, 1e-3, 1 - 1e-3))
    z = torch.nn.Parameter(torch.log(x0[fit_idx] / (1 - x0[fit_idx])).clone())
    opt = torch.optim.Adam([z], lr=0.06)
    idx = torch.as_tensor(fit_idx)

    def response(zz: torch.Tensor) -> torch.Tensor:
        x = x0.clone().index_put((idx,), torch.sigmoid(zz))
        vals = effect_values(chain, x)
        return 20 * torch.log10(torch.abs(filter_response(filter_stages(chain, vals), f, sample_rate)) + 1e-9)

    best, best_loss = z.detach().clone(), math.inf
    for _ in range(steps):
        r = response(z)
        d = r - t
        loss = ((d - d.mean()) ** 2).mean() + 0.01 * r.mean() ** 2
        if float(loss.detach()) < best_loss:
            best_loss, best = float(loss.detach()), z.detach().clone()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = start.copy()
    x[fit_idx] = torch.sigmoid(best).numpy()
    return x, keep


# ----------------------------------------------------------------------------- reverb, gate, compressor
def room_for_decay(t60_s: float) -> float:
    return float(np.interp(t60_s, FREEVERB_T60, FREEVERB_ROOM))


def damping_for_cutoff(cutoff_hz: float) -> float:
    return float(np.clip((math.log(12000.0) - math.log(max(cutoff_hz, 1.0))) / (math.log(12000.0) - math.log(1500.0)), 0.0, 1.0))


def loud_level_db(mono: np.ndarray, sample_rate: int) -> float:
    """95th percentile of the 10 ms RMS level (dBFS): the input's loud parts."""
    n = max(1, int(0.01 * sample_rate))
    m = mono[: (len(mono) // n) * n].reshape(-1, n) if len(mono) >= n else mono[None]
    rms = np.sqrt(np.mean(np.asarray(m, dtype=np.float64) ** 2, axis=1))
    return float(20 * np.log10(max(np.percentile(rms, 95), 1e-9)))


def reverb_values(features: np.ndarray, strength: float, prior: CrowdPrior, *, wet_floor: float = 0.4, wet_slope: float = 0.6) -> dict[str, float]:
    """Freeverb settings for the crowd's reverb ``features`` (log decay T60, log cut-off, log effect level):
    room size for the decay, damping for the cut-off, and a wet level of (wet_floor + wet_slope x the
    effect level's percentile among the known words) x strength x the wet range (0.5)."""
    pct = prior.percentile("reverb", 2, float(features[2]))
    return {"room_size": room_for_decay(math.exp(features[0])), "damping": damping_for_cutoff(math.exp(features[1])),
            "wet_level": float(np.clip(strength * 0.5 * (wet_floor + wet_slope * pct), 0.0, 0.5)), "dry_level": 0.5}


def compressor_values(features: np.ndarray, strength: float, level_db: float, prior: CrowdPrior, *, attack_ms: float | None = None) -> dict[str, float]:
    """Compressor settings for the crowd's compressor ``features`` at ``strength``: the threshold under the
    input's loud level (``level_db``) and the ratio from strength, each moved by the word's setting (in
    standard deviations of the study's); attack (unless given) and release are the crowd's."""
    z = (features - prior.mean_values("compressor")) / prior.feature_sd("compressor")
    thr = level_db - 6.0 - 18.0 * strength * (1.0 + 0.3 * float(np.clip(-z[0], -2, 2)))
    ratio = math.exp(math.log(1.5 + 6.0 * strength) + 0.3 * float(np.clip(z[1], -2, 2)))
    attack = attack_ms if attack_ms is not None else math.exp(features[2]) * 1000.0
    return {"threshold_db": float(np.clip(thr, -40.0, 0.0)), "ratio": float(np.clip(ratio, 1.0, 12.0)),
            "attack_ms": float(np.clip(attack, 0.5, 50.0)), "release_ms": float(np.clip(math.exp(features[3]) * 1000.0, 20.0, 500.0))}


def _set(chain: list[str], x: np.ndarray, effect: str, values: dict[str, float]) -> None:
    """Write physical values into the first ``effect`` of the chain."""
    if effect not in chain:
        return
    pos = chain.index(effect)
    for i, s in enumerate(chain_slots(chain)):
        if s.effect_index == pos and s.param.name in values:
            x[i] = s.param.to_normalized(values[s.param.name])


# ----------------------------------------------------------------------------- the plan
def plan(
    request: Request,
    chain: list[str],
    prior: CrowdPrior,
    audio: np.ndarray,
    sample_rate: int,
    *,
    start: np.ndarray | None = None,
    strength: float | None = None,
    fit: bool = True,
) -> CrowdPlan:
    """The crowd's settings for ``request`` on ``chain`` (mono ``audio`` at ``sample_rate`` sets the
    compressor / gate thresholds). ``strength`` (the caller's) overrides the parts' own. ``fit=False``
    skips fitting the chain's filters to the EQ target (about 1 s): the parts' curves are there, the EQ
    settings stay where they started (for what the request expects, ``guard.intended_moves``)."""
    x = neutral_normalized(chain) if start is None else np.asarray(start, dtype=np.float64).copy()
    notes: list[str] = []
    parts: list[PartPlan] = []
    target = np.zeros(len(BANDS_HZ))
    any_eq = False
    loudness = 0.0
    stereo = False
    level = loud_level_db(np.asarray(audio, dtype=np.float64), sample_rate)
    reverb_words = [p.crowd_word for p in request.parts if p.effect == "reverb" and p.sign > 0]
    for part in request.parts:
        s = strength if strength is not None else part.strength
        eff = _chain_effect(part)
        if eff not in chain and "eq" in chain and part.effect != "eq" and prior.lookup(part.base, "eq") is not None:
            # the caller's chain lacks the effect the word names, but the crowd knows the word's EQ ("loud" on an EQ)
            notes.append(f"'{part.text}' names {eff}, which is not in the chain; the crowd's EQ meaning of '{part.base}' was used.")
            part = Part(part.text, part.word, part.base, "eq", -1.0 if part.negated else 1.0, part.strength, prior.lookup(part.base, "eq"), "",
                        part.explicit_strength, part.negated)
            eff = "eq"
        if eff not in chain and part.effect != "gain":
            notes.append(f"'{part.text}' asks for {eff}, which is not in the chain {chain}; that part was left out.")
            parts.append(PartPlan(part, None, 0.0))
            continue
        if part.effect == "eq":
            if part.crowd_word.startswith("@"):
                shape, m, conf = engineering_curve(part.crowd_word[1:]), None, ENGINEERING_CONFIDENCE
            else:
                m = prior.eq(part.crowd_word, text=part.crowd_word)
                shape, conf = normalised_curve(m.values), m.confidence
            curve = part.sign * s * EQ_DB_FULL * shape
            target += curve
            any_eq = True
            parts.append(PartPlan(part, m, conf, curve_db=curve))
        elif part.effect == "reverb" and part.sign > 0:
            m = prior.reverb(part.crowd_word, text=part.crowd_word)
            v = m.values
            if len(reverb_words) > 1:  # "big church reverb": one reverb, the parts' meanings averaged by confidence
                ms = [prior.reverb(w, text=w) for w in reverb_words]
                wts = np.array([max(mm.confidence, 1e-3) for mm in ms])
                v = (np.array([mm.values for mm in ms]) * wts[:, None]).sum(0) / wts.sum()
            vals = reverb_values(v, s, prior)
            _set(chain, x, "reverb", vals)
            parts.append(PartPlan(part, m, m.confidence, values=vals))
        elif part.effect == "reverb":  # less reverb: a downward expander under the loud parts
            vals = {"threshold_db": float(np.clip(level - (34.0 - 24.0 * s), -80.0, 0.0)), "ratio": 1.0 + 8.0 * s, "attack_ms": 1.0, "release_ms": 60.0}
            _set(chain, x, "gate", vals)
            if "reverb" in chain and start is not None:  # an earlier result's reverb: turn it down too
                _set(chain, x, "reverb", {"wet_level": 0.0})
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values=vals))
        elif part.effect == "width":
            stereo = part.sign > 0
            vals = {"room_size": 0.3, "damping": 0.5, "wet_level": float(np.clip(s * 0.4, 0.0, 0.5)) if part.sign > 0 else 0.0, "dry_level": 0.5}
            _set(chain, x, "reverb", vals)
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values=vals))
        elif part.effect == "compressor":
            m = prior.compressor(part.crowd_word, text=part.crowd_word)
            if part.sign > 0:
                vals = compressor_values(m.values, s, level, prior, attack_ms=25.0 if part.base == "punchy" else None)
            else:
                vals = {"threshold_db": 0.0, "ratio": 1.0}
                notes.append("A compressor cannot undo compression; it was left off.")
            _set(chain, x, "compressor", vals)
            parts.append(PartPlan(part, m, m.confidence, values=vals))
        elif part.effect == "gain":
            change = part.sign * GAIN_DB_FULL * s
            loudness += change
            _set(chain, x, "gain", {"gain_db": float(np.clip(change, -12.0, 12.0))})
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values={"loudness_change_db": change}))
        elif part.effect == "distortion":
            drive = (12.0 if part.base == "lo-fi" else 24.0) * s * max(part.sign, 0.0)
            _set(chain, x, "distortion", {"drive_db": drive})
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values={"drive_db": drive}))
        elif part.effect == "delay":
            vals = {"delay_seconds": 0.25, "feedback": 0.35, "mix": 0.5 * s * max(part.sign, 0.0)}
            _set(chain, x, "delay", vals)
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values=vals))
        elif part.effect == "chorus":
            vals = {"rate_hz": 1.0, "depth": 0.4, "mix": 0.7 * s * max(part.sign, 0.0)}
            _set(chain, x, "chorus", vals)
            parts.append(PartPlan(part, None, ENGINEERING_CONFIDENCE, values=vals))
        else:
            parts.append(PartPlan(part, None, 0.0))
    for pp in parts:
        pp.strength = strength if strength is not None else pp.part.strength
    keep = BANDS_HZ < 0.45 * sample_rate
    if any_eq and fit:
        if start is not None:  # continuing an earlier result: its filters' curve plus this request's
            target = target + eq_curve_db(chain, x, BANDS_HZ, sample_rate)
        x, keep = fit_filters(chain, x, target, sample_rate)
    return CrowdPlan(request, chain, x, parts, target if any_eq else None, keep, loudness, stereo, notes)


PRIOR_WEIGHT = 10.0  # penalty per unit squared normalised distance from the crowd's settings, at confidence 1


def slot_weights(crowd: CrowdPlan) -> np.ndarray:
    """Per parameter: how strongly the Text2FX refinement is pulled back to the crowd's setting
    (``PRIOR_WEIGHT`` x the confidence of the part that set its effect; 0 where the crowd said nothing)."""
    w = np.zeros(len(crowd.normalized))
    for i, s in enumerate(chain_slots(crowd.chain)):
        eff = "eq" if s.effect in FILTER_EFFECTS and crowd.target_db is not None else s.effect
        w[i] = PRIOR_WEIGHT * crowd.effect_confidence(eff)
    return w


GAIN_DB_FULL = 8.0  # loudness change of "louder" / "quieter" at strength 1 (+4 dB at the default 0.5)


def loudness_change_db(request: Request, strength: float | None = None) -> float:
    """The loudness the request asks for, dB (0 unless it is about loudness)."""
    return float(sum(p.sign * GAIN_DB_FULL * (strength if strength is not None else p.strength) for p in request.parts if p.effect == "gain"))
