"""The effect menu of optimize_fx: every effect, its pedalboard plugins and every parameter's range.

This is the one place where ranges live. Each parameter is named exactly as the pedalboard plugin
argument it drives and carries its unit, its range, its scale (frequencies and times on a log scale,
everything else linear) and a *neutral* value: the setting that leaves the sound unchanged (or as
close as the plugin allows), which is where optimisation starts unless the caller gives
``start_from``.

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
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHELF_Q = 1.0 / math.sqrt(2.0)
MAX_FREQ_FRACTION = 0.45  # cutoffs are clamped to this fraction of the sample rate


@dataclass(frozen=True)
class FxParam:
    name: str  # the pedalboard argument
    minimum: float
    maximum: float
    unit: str
    neutral: float
    scale: str = "linear"  # "linear" | "log"
    description: str = ""

    @property
    def is_frequency(self) -> bool:
        return self.unit == "Hz"

    def to_physical(self, x: Any) -> Any:
        """Normalised [0, 1] -> physical (works on floats, numpy arrays and torch tensors)."""
        if self.scale == "log":
            lo, hi = math.log(self.minimum), math.log(self.maximum)
            e = lo + (hi - lo) * x
            return e.exp() if hasattr(e, "exp") else np.exp(e)
        return self.minimum + (self.maximum - self.minimum) * x

    def to_normalized(self, v: float) -> float:
        v = min(max(float(v), self.minimum), self.maximum)
        if self.scale == "log":
            return (math.log(v) - math.log(self.minimum)) / (math.log(self.maximum) - math.log(self.minimum))
        return (v - self.minimum) / (self.maximum - self.minimum)


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
    differentiable: bool  # a torch twin matching pedalboard exists
    linear: bool  # linear time-invariant (or nearly): gradients pass by the adjoint (time-reversal) trick


def _gain(name: str = "gain_db", neutral: float = 0.0, lo: float = -12.0, hi: float = 12.0) -> FxParam:
    return FxParam(name, lo, hi, "dB", neutral, "linear", "gain in decibels")


def _freq(lo: float, hi: float, neutral: float | None = None) -> FxParam:
    return FxParam("cutoff_frequency_hz", lo, hi, "Hz", neutral if neutral is not None else math.sqrt(lo * hi), "log", "centre/cutoff frequency")


def _q(lo: float = 0.5, hi: float = 4.0, neutral: float = SHELF_Q) -> FxParam:
    return FxParam("q", lo, hi, "", neutral, "log", "quality factor (higher = narrower)")


_PEAK_RANGES = ((40.0, 400.0), (150.0, 2000.0), (700.0, 7000.0), (2500.0, 16000.0))

EFFECTS: dict[str, Effect] = {
    "eq": Effect(
        "eq",
        "6-band parametric EQ: low shelf, four peaking bands, high shelf (+-12 dB).",
        (
            FxStage("low_shelf", "LowShelfFilter", (_freq(30.0, 500.0, 120.0), _gain()), {"q": SHELF_Q}),
            *(
                FxStage(f"band{i + 1}", "PeakFilter", (_freq(lo, hi), _gain(), _q()))
                for i, (lo, hi) in enumerate(_PEAK_RANGES)
            ),
            FxStage("high_shelf", "HighShelfFilter", (_freq(1500.0, 16000.0, 5000.0), _gain()), {"q": SHELF_Q}),
        ),
        differentiable=True,
        linear=True,
    ),
    "highpass": Effect(
        "highpass",
        "First-order high-pass filter (6 dB/octave).",
        (FxStage("highpass", "HighpassFilter", (_freq(20.0, 1000.0, 20.0),)),),
        differentiable=True,
        linear=True,
    ),
    "lowpass": Effect(
        "lowpass",
        "First-order low-pass filter (6 dB/octave).",
        (FxStage("lowpass", "LowpassFilter", (_freq(1000.0, 20000.0, 20000.0),)),),
        differentiable=True,
        linear=True,
    ),
    "distortion": Effect(
        "distortion",
        "tanh waveshaper after a drive gain.",
        (FxStage("distortion", "Distortion", (FxParam("drive_db", 0.0, 30.0, "dB", 0.0, "linear", "drive before tanh"),)),),
        differentiable=True,
        linear=False,
    ),
    "gain": Effect(
        "gain",
        "Volume change.",
        (FxStage("gain", "Gain", (_gain(),)),),
        differentiable=True,
        linear=True,
    ),
    "compressor": Effect(
        "compressor",
        "Dynamic range compressor with makeup gain.",
        (
            FxStage(
                "compressor",
                "Compressor",
                (
                    FxParam("threshold_db", -40.0, 0.0, "dB", 0.0, "linear", "level above which gain is reduced"),
                    FxParam("ratio", 1.0, 12.0, ":1", 1.0, "log", "compression ratio"),
                    FxParam("attack_ms", 0.5, 50.0, "ms", 5.0, "log", "attack time"),
                    FxParam("release_ms", 20.0, 500.0, "ms", 100.0, "log", "release time"),
                ),
            ),
            FxStage("makeup", "Gain", (_gain(neutral=0.0, lo=0.0, hi=12.0),)),
        ),
        differentiable=False,
        linear=False,
    ),
    "reverb": Effect(
        "reverb",
        "Freeverb room reverb (wet level bounded at 0.5).",
        (
            FxStage(
                "reverb",
                "Reverb",
                (
                    FxParam("room_size", 0.0, 1.0, "", 0.5, "linear", "room size (decay time)"),
                    FxParam("damping", 0.0, 1.0, "", 0.5, "linear", "high-frequency damping of the tail"),
                    FxParam("wet_level", 0.0, 0.5, "", 0.0, "linear", "level of the reverberated signal"),
                    FxParam("dry_level", 0.2, 0.5, "", 0.5, "linear", "level of the direct signal (0.5 = unity)"),
                ),
                {"width": 1.0},
            ),
        ),
        differentiable=False,
        linear=True,
    ),
    "gate": Effect(
        "gate",
        "Downward expander / noise gate: lowers the quiet parts (room tails, bleed) under its threshold.",
        (
            FxStage(
                "gate",
                "NoiseGate",
                (
                    FxParam("threshold_db", -80.0, 0.0, "dB", -80.0, "linear", "level under which the sound is turned down"),
                    FxParam("ratio", 1.0, 10.0, ":1", 1.0, "log", "expansion ratio (1 = off)"),
                    FxParam("attack_ms", 0.1, 50.0, "ms", 1.0, "log", "attack time"),
                    FxParam("release_ms", 5.0, 500.0, "ms", 100.0, "log", "release time"),
                ),
            ),
        ),
        differentiable=False,
        linear=False,
    ),
    "delay": Effect(
        "delay",
        "Feedback delay (echo).",
        (
            FxStage(
                "delay",
                "Delay",
                (
                    FxParam("delay_seconds", 0.05, 1.0, "s", 0.25, "log", "time between echoes"),
                    FxParam("feedback", 0.0, 0.7, "", 0.3, "linear", "how much each echo feeds the next"),
                    FxParam("mix", 0.0, 0.5, "", 0.0, "linear", "wet/dry mix"),
                ),
            ),
        ),
        differentiable=False,
        linear=True,
    ),
    "chorus": Effect(
        "chorus",
        "Chorus / flanger (LFO-modulated delay).",
        (
            FxStage(
                "chorus",
                "Chorus",
                (
                    FxParam("rate_hz", 0.1, 5.0, "Hz", 1.0, "log", "LFO rate"),
                    FxParam("depth", 0.0, 1.0, "", 0.25, "linear", "LFO depth"),
                    FxParam("centre_delay_ms", 2.0, 20.0, "ms", 7.0, "log", "centre delay"),
                    FxParam("feedback", 0.0, 0.5, "", 0.0, "linear", "feedback"),
                    FxParam("mix", 0.0, 0.7, "", 0.0, "linear", "wet/dry mix"),
                ),
            ),
        ),
        differentiable=False,
        linear=True,  # linear, slowly time-varying: the adjoint trick is an approximation here
    ),
}

EFFECT_NAMES: tuple[str, ...] = tuple(EFFECTS)
TAIL_EFFECTS = frozenset({"reverb", "delay", "chorus"})

# Words -> effects for the default chain. Order of the default chain follows CANONICAL_ORDER.
CANONICAL_ORDER = ("highpass", "lowpass", "gate", "eq", "distortion", "compressor", "chorus", "delay", "reverb", "gain")
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "reverb": (
        "room", "roomy", "roomier", "spacious", "space", "reverb", "reverberant", "hall", "church", "cathedral",
        "cave", "cavernous", "ambient", "ambience", "wet", "distant", "far", "big", "bigger", "huge", "large",
        "open", "airy", "ethereal", "dreamy", "washy", "echoey", "echoy", "live", "arena", "stadium", "bathroom",
    ),
    "delay": ("echo", "echoes", "echoing", "delay", "delayed", "slapback", "repeat", "repeating", "dub"),
    "chorus": ("chorus", "chorused", "wide", "wider", "lush", "detuned", "flanger", "flanged", "wobbly", "shimmer", "shimmery", "swirly", "thick"),
    "compressor": ("punchy", "punchier", "compressed", "squashed", "tight", "tighter", "glued", "even", "controlled", "dynamic", "consistent", "smash", "smashed"),
    "distortion": ("distorted", "gritty", "crunchy", "crunch", "dirty", "fuzzy", "fuzz", "overdriven", "driven", "saturated", "aggressive", "grungy", "broken", "crushed"),
    "gain": ("louder", "quieter", "softer volume", "volume"),
    "eq": (
        "bright", "brighter", "dark", "darker", "warm", "warmer", "muddy", "tinny", "thin", "thinner", "boomy",
        "crisp", "crisper", "muffled", "clear", "clearer", "bassy", "heavy", "full", "fuller", "harsh", "mellow",
        "sharp", "dull", "tinny", "nasal", "boxy", "hollow", "telephone", "radio", "sparkly", "bass", "treble",
        "soft", "smooth", "cold", "deep", "rich", "light",
    ),
}


def keyword_effect(word: str) -> str | None:
    """The effect a single word names in the menu's keywords (None when no keyword matches)."""
    w = word.strip().lower()
    for fx, keys in _KEYWORDS.items():
        if w in keys:
            return fx
    return None


def default_chain(prompt: str) -> list[str]:
    """The chain implied by the prompt's words (EQ alone when nothing more specific is named)."""
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    picked = {fx for fx, keys in _KEYWORDS.items() if words & set(keys)}
    if not picked - {"eq"}:
        picked.add("eq")
    return [fx for fx in CANONICAL_ORDER if fx in picked]


_STRENGTH_WORDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.25, ("a bit", "a little", "slightly", "a touch", "subtly", "somewhat", "a tad", "barely", "mildly", "little")),
    (1.0, ("much", "very", "a lot", "lots", "extremely", "really", "super", "way", "heavily", "massively", "far", "drastically")),
)
DEFAULT_STRENGTH = 0.5


def strength_from_prompt(prompt: str) -> float:
    """0.25 for "a bit/slightly ...", 1.0 for "much/very ...", 0.5 otherwise."""
    p = " " + re.sub(r"[^a-z ]", " ", prompt.lower()) + " "
    for value, words in _STRENGTH_WORDS:
        if any(f" {w} " in p for w in words):
            return value
    return DEFAULT_STRENGTH


# How much of an effect is applied (bounded by ``strength``); frequencies, Q and times move freely.
AMOUNT_PARAMS = frozenset({"gain_db", "drive_db", "threshold_db", "ratio", "wet_level", "dry_level", "mix", "feedback", "depth", "room_size"})


@dataclass(frozen=True)
class Slot:
    """One optimisable number of a chain: effect position, stage and parameter."""

    effect_index: int
    effect: str
    stage: FxStage
    param: FxParam

    @property
    def key(self) -> str:
        return f"{self.effect_index}:{self.effect}.{self.stage.label}.{self.param.name}"

    @property
    def differentiable(self) -> bool:
        return EFFECTS[self.effect].differentiable

    @property
    def is_amount(self) -> bool:
        """Parameters that set how much of the effect is applied; ``strength`` bounds only these."""
        return self.param.name in AMOUNT_PARAMS or self.effect in ("highpass", "lowpass")


def chain_slots(chain: list[str]) -> list[Slot]:
    slots = []
    for i, name in enumerate(chain):
        if name not in EFFECTS:
            raise KeyError(name)
        for stage in EFFECTS[name].stages:
            for p in stage.params:
                slots.append(Slot(i, name, stage, p))
    return slots


def neutral_normalized(chain: list[str]) -> np.ndarray:
    return np.array([s.param.to_normalized(s.param.neutral) for s in chain_slots(chain)], dtype=np.float64)


def clamp_frequency(value: float, sample_rate: int) -> float:
    return float(min(value, MAX_FREQ_FRACTION * sample_rate))


def physical_settings(chain: list[str], normalized: np.ndarray, sample_rate: int) -> list[dict[str, Any]]:
    """Normalised vector -> per effect, per plugin: pedalboard arguments with units."""
    slots = chain_slots(chain)
    out: list[dict[str, Any]] = []
    k = 0
    for i, name in enumerate(chain):
        plugins = []
        for stage in EFFECTS[name].stages:
            params: dict[str, dict[str, Any]] = {}
            for p in stage.params:
                v = float(p.to_physical(float(np.clip(normalized[k], 0.0, 1.0))))
                if p.is_frequency:
                    v = clamp_frequency(v, sample_rate)
                params[p.name] = {"value": round(v, 6), "unit": p.unit}
                k += 1
            for fname, fval in stage.fixed.items():
                params[fname] = {"value": fval, "unit": "", "fixed": True}
            plugins.append({"plugin": stage.plugin, "stage": stage.label, "params": params})
        out.append({"effect": name, "plugins": plugins})
    assert k == len(slots)
    return out


def settings_to_normalized(chain: list[str], settings: list[dict[str, Any]]) -> np.ndarray:
    """Inverse of ``physical_settings`` for the effects present in both (others stay neutral)."""
    x = neutral_normalized(chain)
    by_effect: dict[str, list[dict[str, Any]]] = {}
    for eff in settings:
        by_effect.setdefault(eff.get("effect", ""), []).append(eff)
    used: dict[str, int] = {}
    k = 0
    for name in chain:
        stored = by_effect.get(name, [])
        j = used.get(name, 0)
        src = stored[j] if j < len(stored) else None
        used[name] = j + 1
        for si, stage in enumerate(EFFECTS[name].stages):
            plug = None
            if src is not None:
                plugs = src.get("plugins", [])
                plug = next((pl for pl in plugs if pl.get("stage") == stage.label), plugs[si] if si < len(plugs) else None)
            for p in stage.params:
                if plug is not None and p.name in plug.get("params", {}):
                    val = plug["params"][p.name]
                    x[k] = p.to_normalized(val["value"] if isinstance(val, dict) else val)
                k += 1
    return x


def pedalboard_code(settings: list[dict[str, Any]], sample_rate: int) -> str:
    """A short Python snippet rebuilding the chain with pedalboard."""
    plugins = []
    for eff in settings:
        for pl in eff["plugins"]:
            args = ", ".join(f"{n}={_fmt(v['value'])}" for n, v in pl["params"].items())
            plugins.append(f"    {pl['plugin']}({args}),  # {eff['effect']}")
    names = sorted({pl["plugin"] for eff in settings for pl in eff["plugins"]})
    return (
        f"from pedalboard import Pedalboard, {', '.join(names)}\n"
        "from pedalboard.io import AudioFile\n\n"
        "board = Pedalboard([\n" + "\n".join(plugins) + "\n])\n"
        "with AudioFile('input.wav') as f:\n"
        "    audio, sr = f.read(f.frames), f.samplerate\n"
        "# pad with silence first to keep reverb/delay tails, e.g. numpy.pad(audio, ((0, 0), (0, 2 * sr)))\n"
        "processed = board(audio, sr)\n"
        f"# optimised at {sample_rate} Hz\n"
    )


def _fmt(v: float) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


def menu_description() -> str:
    return "; ".join(f"{n}: {e.description}" for n, e in EFFECTS.items())
