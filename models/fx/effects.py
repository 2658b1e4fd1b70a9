"""The effect menu of optimize_fx: every effect declared once, and the one walk over a chain's vector.

An ``Effect`` declares everything the rest of the package derives from it: its pedalboard plugins
(``FxStage``, in order) with each parameter's name (the plugin argument), unit, range, scale, neutral
value and whether it is an *amount* (how much of the effect is applied: ``strength`` bounds only these),
its constant plugin arguments, its differentiable torch twin (``twin``: a name in ``twins.TWINS``, or
None when only pedalboard runs it), whether it is linear (how gradients pass through its pedalboard
render), how much silence its tail needs, and the words of a prompt that call for it with its place in a
chain built from words. ``chain.physical_settings``, ``render.build_stage_plugins``,
``render.tail_seconds``, ``twins.effect_values`` / ``apply_chain``, ``chain.default_chain`` and the
``EffectName`` literal of the tool all come from ``EFFECTS``: a new effect is one entry here (plus its
twin's DSP in twins.py if it has one).

A chain's settings are one positional vector in [0, 1]: for each effect in the chain, for each stage,
for each parameter, in declaration order. ``walk`` is the only code that counts through it.

Ranges (physical units):

- ``eq`` (low shelf, four peaking bands, high shelf, pedalboard LowShelfFilter / PeakFilter /
  HighShelfFilter): gains -12..+12 dB; low shelf 30-500 Hz; peaks at 40-400, 150-2000, 700-7000 and
  2500-16000 Hz with Q 0.5-4; high shelf 1500-16000 Hz; shelf Q fixed at 0.7071. Frequencies above
  0.45 x the sample rate are clamped there.
- ``highpass`` / ``lowpass`` (first order, 6 dB/octave): 20-1000 Hz / 1000-20000 Hz.
- ``compressor``: threshold -40..0 dB, ratio 1-12, attack 0.5-50 ms, release 20-500 ms, and a makeup
  Gain 0..+12 dB.
- ``distortion``: drive 0-30 dB (tanh waveshaper).
- ``gain``: -12..+12 dB.
- ``reverb`` (Freeverb): room size 0-1, damping 0-1, wet level 0-0.5 (bounded mix), dry level
  0.2-0.5 (0.5 is unity in pedalboard), width fixed at 1.
- ``gate`` (pedalboard NoiseGate, a downward expander): threshold -80..0 dB, ratio 1-10, attack 0.1-50 ms,
  release 5-500 ms.
- ``delay``: 0.05-1 s, feedback 0-0.7, mix 0-0.5.
- ``chorus``: rate 0.1-5 Hz, depth 0-1, centre delay 2-20 ms, feedback 0-0.5, mix 0-0.7.

Effects with a differentiable torch twin that matches pedalboard (``models/fx/twins.py``): eq,
highpass, lowpass, distortion, gain. The rest are optimised gradient-free with pedalboard renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

import numpy as np

from ..ranges import Range

SHELF_Q = 1.0 / math.sqrt(2.0)
MAX_FREQ_FRACTION = 0.45  # cutoffs are clamped to this fraction of the sample rate


@dataclass(frozen=True)
class FxParam(Range):
    """A plugin argument (``name``) with its range, unit and neutral setting."""

    neutral: float = 0.0  # the setting that leaves the sound unchanged (or as close as the plugin allows)
    amount: bool = False  # sets how much of the effect is applied (``strength`` bounds it)

    @property
    def is_frequency(self) -> bool:
        return self.unit == "Hz"


def _param(name: str, lo: float, hi: float, unit: str, neutral: float, scale: str, description: str, *, amount: bool = False) -> FxParam:
    """Frequencies and times on a log scale ("log"), everything else linear."""
    return FxParam(name, lo, hi, unit=unit, description=description, log=scale == "log", neutral=neutral, amount=amount)


@dataclass(frozen=True)
class FxStage:
    """One pedalboard plugin inside an effect."""

    label: str  # e.g. "low_shelf", "band1"
    plugin: str  # pedalboard class name
    params: tuple[FxParam, ...]
    fixed: dict[str, float] = field(default_factory=dict)  # constant plugin arguments


@dataclass(frozen=True)
class Effect:
    name: str
    description: str
    stages: tuple[FxStage, ...]
    twin: str | None = None  # its differentiable torch twin (a key of twins.TWINS); None: pedalboard only
    linear: bool = False  # linear time-invariant (or nearly): gradients pass by the adjoint (time-reversal) trick
    tail_s: float = 0.0  # silence appended before rendering so its tail is kept
    chain_order: int = 0  # position in a chain built from words (``chain.default_chain``): filters first, gain last
    keywords: tuple[str, ...] = ()  # words of a prompt that put the effect in that chain

    @property
    def differentiable(self) -> bool:
        return self.twin is not None

    @property
    def size(self) -> int:
        return sum(len(s.params) for s in self.stages)


def _gain(name: str = "gain_db", neutral: float = 0.0, lo: float = -12.0, hi: float = 12.0) -> FxParam:
    return _param(name, lo, hi, "dB", neutral, "linear", "gain in decibels", amount=True)


def _freq(lo: float, hi: float, neutral: float | None = None, *, amount: bool = False) -> FxParam:
    n = neutral if neutral is not None else math.sqrt(lo * hi)
    return _param("cutoff_frequency_hz", lo, hi, "Hz", n, "log", "centre/cutoff frequency", amount=amount)


def _q(lo: float = 0.5, hi: float = 4.0, neutral: float = SHELF_Q) -> FxParam:
    return _param("q", lo, hi, "", neutral, "log", "quality factor (higher = narrower)")


_PEAK_RANGES = ((40.0, 400.0), (150.0, 2000.0), (700.0, 7000.0), (2500.0, 16000.0))

_DECLARED: tuple[Effect, ...] = (
    Effect(
        "eq",
        "6-band parametric EQ: low shelf, four peaking bands, high shelf (+-12 dB).",
        (
            FxStage("low_shelf", "LowShelfFilter", (_freq(30.0, 500.0, 120.0), _gain()), {"q": SHELF_Q}),
            *(FxStage(f"band{i + 1}", "PeakFilter", (_freq(lo, hi), _gain(), _q())) for i, (lo, hi) in enumerate(_PEAK_RANGES)),
            FxStage("high_shelf", "HighShelfFilter", (_freq(1500.0, 16000.0, 5000.0), _gain()), {"q": SHELF_Q}),
        ),
        twin="filter",
        linear=True,
        chain_order=3,
        keywords=(
            "bright", "brighter", "dark", "darker", "warm", "warmer", "muddy", "tinny", "thin", "thinner", "boomy",
            "crisp", "crisper", "muffled", "clear", "clearer", "bassy", "heavy", "full", "fuller", "harsh", "mellow",
            "sharp", "dull", "nasal", "boxy", "hollow", "telephone", "radio", "sparkly", "bass", "treble",
            "soft", "smooth", "cold", "deep", "rich", "light",
        ),
    ),
    Effect(
        "highpass",
        "First-order high-pass filter (6 dB/octave).",
        (FxStage("highpass", "HighpassFilter", (_freq(20.0, 1000.0, 20.0, amount=True),)),),
        twin="filter",
        linear=True,
        chain_order=0,
    ),
    Effect(
        "lowpass",
        "First-order low-pass filter (6 dB/octave).",
        (FxStage("lowpass", "LowpassFilter", (_freq(1000.0, 20000.0, 20000.0, amount=True),)),),
        twin="filter",
        linear=True,
        chain_order=1,
    ),
    Effect(
        "distortion",
        "tanh waveshaper after a drive gain.",
        (FxStage("distortion", "Distortion", (_param("drive_db", 0.0, 30.0, "dB", 0.0, "linear", "drive before tanh", amount=True),)),),
        twin="tanh_drive",
        chain_order=4,
        keywords=("distorted", "gritty", "crunchy", "crunch", "dirty", "fuzzy", "fuzz", "overdriven", "driven", "saturated", "aggressive", "grungy", "broken", "crushed"),
    ),
    Effect(
        "gain",
        "Volume change.",
        (FxStage("gain", "Gain", (_gain(),)),),
        twin="gain",
        linear=True,
        chain_order=9,
        keywords=("louder", "quieter", "softer volume", "volume"),
    ),
    Effect(
        "compressor",
        "Dynamic range compressor with makeup gain.",
        (
            FxStage(
            "compressor",
            "Compressor",
                (
                    _param("threshold_db", -40.0, 0.0, "dB", 0.0, "linear", "level above which gain is reduced", amount=True),
                    _param("ratio", 1.0, 12.0, ":1", 1.0, "log", "compression ratio", amount=True),
                    _param("attack_ms", 0.5, 50.0, "ms", 5.0, "log", "attack time"),
                    _param("release_ms", 20.0, 500.0, "ms", 100.0, "log", "release time"),
                ),
            ),
            FxStage("makeup", "Gain", (_gain(neutral=0.0, lo=0.0, hi=12.0),)),
        ),
        chain_order=5,
        keywords=("punchy", "punchier", "compressed", "squashed", "tight", "tighter", "glued", "even", "controlled", "dynamic", "consistent", "smash", "smashed"),
    ),
    Effect(
        "reverb",
        "Freeverb room reverb (wet level bounded at 0.5).",
        (
            FxStage(
            "reverb",
            "Reverb",
                (
                    _param("room_size", 0.0, 1.0, "", 0.5, "linear", "room size (decay time)", amount=True),
                    _param("damping", 0.0, 1.0, "", 0.5, "linear", "high-frequency damping of the tail"),
                    _param("wet_level", 0.0, 0.5, "", 0.0, "linear", "level of the reverberated signal", amount=True),
                    _param("dry_level", 0.2, 0.5, "", 0.5, "linear", "level of the direct signal (0.5 = unity)", amount=True),
                ),
                {"width": 1.0},
            ),
        ),
        linear=True,
        tail_s=2.5,
        chain_order=8,
        keywords=(
            "room", "roomy", "roomier", "spacious", "space", "reverb", "reverberant", "hall", "church", "cathedral",
            "cave", "cavernous", "ambient", "ambience", "wet", "distant", "far", "big", "bigger", "huge", "large",
            "open", "airy", "ethereal", "dreamy", "washy", "echoey", "echoy", "live", "arena", "stadium", "bathroom",
        ),
    ),
    Effect(
        "gate",
        "Downward expander / noise gate: lowers the quiet parts (room tails, bleed) under its threshold.",
        (
            FxStage(
            "gate",
            "NoiseGate",
                (
                    _param("threshold_db", -80.0, 0.0, "dB", -80.0, "linear", "level under which the sound is turned down", amount=True),
                    _param("ratio", 1.0, 10.0, ":1", 1.0, "log", "expansion ratio (1 = off)", amount=True),
                    _param("attack_ms", 0.1, 50.0, "ms", 1.0, "log", "attack time"),
                    _param("release_ms", 5.0, 500.0, "ms", 100.0, "log", "release time"),
                ),
            ),
        ),
        chain_order=2,
    ),
    Effect(
        "delay",
        "Feedback delay (echo).",
        (
            FxStage(
            "delay",
            "Delay",
                (
                    _param("delay_seconds", 0.05, 1.0, "s", 0.25, "log", "time between echoes"),
                    _param("feedback", 0.0, 0.7, "", 0.3, "linear", "how much each echo feeds the next", amount=True),
                    _param("mix", 0.0, 0.5, "", 0.0, "linear", "wet/dry mix", amount=True),
                ),
            ),
        ),
        linear=True,
        tail_s=3.0,
        chain_order=7,
        keywords=("echo", "echoes", "echoing", "delay", "delayed", "slapback", "repeat", "repeating", "dub"),
    ),
    Effect(
        "chorus",
        "Chorus / flanger (LFO-modulated delay).",
        (
            FxStage(
            "chorus",
            "Chorus",
                (
                    _param("rate_hz", 0.1, 5.0, "Hz", 1.0, "log", "LFO rate"),
                    _param("depth", 0.0, 1.0, "", 0.25, "linear", "LFO depth", amount=True),
                    _param("centre_delay_ms", 2.0, 20.0, "ms", 7.0, "log", "centre delay"),
                    _param("feedback", 0.0, 0.5, "", 0.0, "linear", "feedback", amount=True),
                    _param("mix", 0.0, 0.7, "", 0.0, "linear", "wet/dry mix", amount=True),
                ),
            ),
        ),
        linear=True,  # linear, slowly time-varying: the adjoint trick is an approximation here
        tail_s=0.1,
        chain_order=6,
        keywords=("chorus", "chorused", "wide", "wider", "lush", "detuned", "flanger", "flanged", "wobbly", "shimmer", "shimmery", "swirly", "thick"),
    ),
)

EFFECTS: dict[str, Effect] = {e.name: e for e in _DECLARED}
EFFECT_NAMES: tuple[str, ...] = tuple(EFFECTS)
TAIL_EFFECTS = frozenset(n for n, e in EFFECTS.items() if e.tail_s > 0)
FILTER_EFFECTS: tuple[str, ...] = tuple(n for n, e in EFFECTS.items() if e.twin == "filter")

if TYPE_CHECKING:
    EffectName = str
else:  # the tool's argument type: exactly the declared names
    EffectName = Literal[EFFECT_NAMES]


def effect(name: str) -> Effect:
    try:
        return EFFECTS[name]
    except KeyError:
        raise KeyError(name) from None


def chain_size(chain: Sequence[str]) -> int:
    """Length of the normalised vector of ``chain``."""
    return sum(effect(n).size for n in chain)


def walk(chain: Sequence[str], normalized: Any) -> Iterator[tuple[int, str, FxStage, Any]]:
    """The one walk through a chain's positional vector: (effect position, effect name, stage, that
    stage's slice of ``normalized``) in order. ``normalized`` may be a numpy array or a torch tensor."""
    n = chain_size(chain)
    if len(normalized) < n:
        raise IndexError(f"chain {list(chain)} has {n} parameters, the vector {len(normalized)}")
    k = 0
    for i, name in enumerate(chain):
        for stage in EFFECTS[name].stages:
            m = len(stage.params)
            yield i, name, stage, normalized[k : k + m]
            k += m


def clamp_frequency(value: float, sample_rate: float) -> float:
    return float(min(value, MAX_FREQ_FRACTION * sample_rate))


def stage_arguments(stage: FxStage, normalized: Sequence[float] | np.ndarray, sample_rate: float) -> dict[str, float]:
    """A stage's normalised values -> its pedalboard arguments (clipped to the ranges; frequencies clamped
    under 0.45 x the sample rate), fixed arguments excluded."""
    out: dict[str, float] = {}
    for p, x in zip(stage.params, normalized):
        v = float(p.to_physical(float(np.clip(x, 0.0, 1.0))))
        out[p.name] = clamp_frequency(v, sample_rate) if p.is_frequency else v
    return out
