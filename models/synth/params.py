"""The 78 parameters of the Voice synth: names, ranges, curves and units.

The names, ranges, curves and symmetric flags are those of torchsynth 1.0.2's ``Voice`` with its
``default`` nebula (facts, re-stated here; no torchsynth code is used). The order is torchsynth's
``get_parameters()`` order: modules sorted by name, parameters in definition order.

Mapping from a normalised value x in [0, 1] to the physical value:

* ordinary: ``min + (max - min) * x ** (1 / curve)``
* symmetric: ``d = 2x - 1``; ``min + (max - min) / 2 * (1 + sign(d) * |d| ** (1 / curve))``
  (so x = 0.5 is the centre of the range and the curve bends both halves alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import torch

Number = Union[float, int]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    minimum: float
    maximum: float
    curve: float = 1.0
    unit: str = ""
    description: str = ""
    symmetric: bool = False

    @property
    def centre(self) -> float:
        return (self.minimum + self.maximum) / 2.0

    @property
    def half(self) -> float:
        return (self.maximum - self.minimum) / 2.0

    @property
    def module(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]

    def to_physical(self, x):
        """Normalised [0, 1] -> physical value (float or tensor; values are clamped to [0, 1])."""
        if isinstance(x, torch.Tensor):
            x = x.clamp(0.0, 1.0)
            if not self.symmetric:
                y = x if self.curve == 1.0 else x.pow(1.0 / self.curve)
                return self.minimum + (self.maximum - self.minimum) * y
            d = 2.0 * x - 1.0
            y = d if self.curve == 1.0 else torch.sign(d) * d.abs().pow(1.0 / self.curve)
            return self.centre + self.half * y  # = min + (max - min) / 2 * (y + 1), kept precise near the centre
        x = min(max(float(x), 0.0), 1.0)
        if not self.symmetric:
            return self.minimum + (self.maximum - self.minimum) * x ** (1.0 / self.curve)
        d = 2.0 * x - 1.0
        y = math.copysign(abs(d) ** (1.0 / self.curve), d)
        return self.centre + self.half * y

    def to_normalized(self, v):
        """Physical value -> normalised [0, 1] (float or tensor; values are clamped to the range)."""
        span = self.maximum - self.minimum
        if isinstance(v, torch.Tensor):
            if not self.symmetric:
                n = ((v - self.minimum) / span).clamp(0.0, 1.0)
                return n if self.curve == 1.0 else n.pow(self.curve)
            d = ((v - self.centre) / self.half).clamp(-1.0, 1.0)
            return (1.0 + torch.sign(d) * d.abs().pow(self.curve)) / 2.0
        if not self.symmetric:
            n = min(max((float(v) - self.minimum) / span, 0.0), 1.0)
            return n ** self.curve
        d = min(max((float(v) - self.centre) / self.half, -1.0), 1.0)
        return (1.0 + math.copysign(abs(d) ** self.curve, d)) / 2.0


def _adsr(module: str, what: str) -> list[ParamSpec]:
    return [
        ParamSpec(f"{module}.attack", 0.0, 2.0, 0.5, "s", f"{what}: attack time"),
        ParamSpec(f"{module}.decay", 0.0, 2.0, 0.5, "s", f"{what}: decay time"),
        ParamSpec(f"{module}.sustain", 0.0, 1.0, 1.0, "ratio", f"{what}: sustain level (0-1)"),
        ParamSpec(f"{module}.release", 0.0, 5.0, 0.5, "s", f"{what}: release time after note-off"),
        ParamSpec(f"{module}.alpha", 0.1, 6.0, 1.0, "exponent", f"{what}: segment curvature (1 linear, >1 exponential-like)"),
    ]


def _lfo(module: str) -> list[ParamSpec]:
    specs = [
        ParamSpec(f"{module}.frequency", 0.0, 20.0, 0.25, "Hz", f"{module}: rate"),
        ParamSpec(f"{module}.mod_depth", -10.0, 20.0, 0.5, "Hz", f"{module}: rate change from its rate ADSR", symmetric=True),
        ParamSpec(f"{module}.initial_phase", -math.pi, math.pi, 1.0, "rad", f"{module}: start phase"),
    ]
    for shape, label in (("sin", "sine"), ("tri", "triangle"), ("saw", "saw"), ("rsaw", "reverse saw"), ("sqr", "square")):
        specs.append(ParamSpec(f"{module}.{shape}", 0.0, 1.0, 1.0, "weight", f"{module}: {label} share of the shape mix"))
    return specs


def _vco(module: str, what: str) -> list[ParamSpec]:
    return [
        ParamSpec(f"{module}.tuning", -24.0, 24.0, 1.0, "semitones", f"{what}: tuning offset"),
        ParamSpec(f"{module}.mod_depth", -96.0, 96.0, 0.2, "semitones", f"{what}: pitch modulation depth", symmetric=True),
        ParamSpec(f"{module}.initial_phase", -math.pi, math.pi, 1.0, "rad", f"{what}: start phase"),
    ]


_MOD_IN = ("adsr_1", "adsr_2", "lfo_1", "lfo_2")
_MOD_OUT = ("vco_1_pitch", "vco_1_amp", "vco_2_pitch", "vco_2_amp", "noise_amp")


def _build() -> tuple[ParamSpec, ...]:
    specs: list[ParamSpec] = []
    specs += _adsr("adsr_1", "envelope 1 (modulation source)")
    specs += _adsr("adsr_2", "envelope 2 (modulation source)")
    specs += [
        ParamSpec("keyboard.midi_f0", 0.0, 127.0, 1.0, "midi", "note pitch as a MIDI number (69 = 440 Hz)"),
        ParamSpec("keyboard.duration", 0.01, 4.0, 0.5, "s", "note-on time (the key is held this long)"),
    ]
    specs += _lfo("lfo_1")
    specs += _adsr("lfo_1_amp_adsr", "LFO 1 depth envelope")
    specs += _adsr("lfo_1_rate_adsr", "LFO 1 rate envelope")
    specs += _lfo("lfo_2")
    specs += _adsr("lfo_2_amp_adsr", "LFO 2 depth envelope")
    specs += _adsr("lfo_2_rate_adsr", "LFO 2 rate envelope")
    specs += [
        ParamSpec("mixer.vco_1", 0.0, 1.0, 1.0, "ratio", "level of the sine VCO"),
        ParamSpec("mixer.vco_2", 0.0, 1.0, 1.0, "ratio", "level of the square-saw VCO"),
        ParamSpec("mixer.noise", 0.0, 1.0, 0.025, "ratio", "level of the noise source"),
    ]
    for src in _MOD_IN:
        for dst in _MOD_OUT:
            specs.append(ParamSpec(f"mod_matrix.{src}->{dst}", 0.0, 1.0, 0.5, "ratio", f"amount of {src} sent to {dst}"))
    specs += _vco("vco_1", "sine VCO")
    specs += _vco("vco_2", "square-saw VCO")
    specs.append(ParamSpec("vco_2.shape", 0.0, 1.0, 1.0, "ratio", "square-saw VCO: waveshape, 0 square to 1 saw"))
    return tuple(specs)


VOICE_PARAMS: tuple[ParamSpec, ...] = _build()
PARAM_INDEX: dict[str, int] = {p.name: i for i, p in enumerate(VOICE_PARAMS)}
NUM_PARAMS = len(VOICE_PARAMS)
assert NUM_PARAMS == 78, NUM_PARAMS

MOD_SOURCES = _MOD_IN
MOD_TARGETS = _MOD_OUT
ADSR_MODULES = ("adsr_1", "adsr_2", "lfo_1_amp_adsr", "lfo_1_rate_adsr", "lfo_2_amp_adsr", "lfo_2_rate_adsr")
LFO_SHAPES = ("sin", "tri", "saw", "rsaw", "sqr")


def to_physical_tensor(x: torch.Tensor) -> torch.Tensor:
    """(B, 78) normalised -> (B, 78) physical values, vectorised over all parameters."""
    lo, hi, inv_curve, sym = _table(x.device, x.dtype)
    x = x.clamp(0.0, 1.0)
    d = 2.0 * x - 1.0
    sym_y = torch.sign(d) * d.abs().pow(inv_curve)
    plain_y = x.pow(inv_curve)
    centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    return torch.where(sym, centre + half * sym_y, lo + (hi - lo) * plain_y)


_TABLES: dict = {}


def _table(device, dtype):
    key = (str(device), dtype)
    t = _TABLES.get(key)
    if t is None:
        lo = torch.tensor([p.minimum for p in VOICE_PARAMS], dtype=dtype, device=device)
        hi = torch.tensor([p.maximum for p in VOICE_PARAMS], dtype=dtype, device=device)
        inv_curve = torch.tensor([1.0 / p.curve for p in VOICE_PARAMS], dtype=dtype, device=device)
        sym = torch.tensor([p.symmetric for p in VOICE_PARAMS], device=device)
        t = _TABLES[key] = (lo, hi, inv_curve, sym)
    return t
