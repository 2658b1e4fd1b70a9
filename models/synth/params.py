"""The 78 parameters of the Voice synth: names, ranges, curves and units.

The names, ranges, curves and symmetric flags are those of torchsynth 1.0.2's ``Voice`` with its
``default`` nebula (facts, re-stated here; no torchsynth code is used). The order is torchsynth's
``get_parameters()`` order: modules sorted by name, parameters in definition order.

Mapping from a normalised value x in [0, 1] to the physical value (``models/ranges.Range``):

* ordinary: ``min + (max - min) * x ** (1 / curve)``
* symmetric: ``d = 2x - 1``; ``min + (max - min) / 2 * (1 + sign(d) * |d| ** (1 / curve))``
  (so x = 0.5 is the centre of the range and the curve bends both halves alike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import torch

from ..ranges import Range, RangeTable

Number = Union[float, int]


@dataclass(frozen=True)
class ParamSpec(Range):
    """A Voice parameter: a ``Range`` named ``module.parameter`` (curved or linear, maybe symmetric)."""

    @property
    def module(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]


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


_TABLE = RangeTable(VOICE_PARAMS)


def to_physical_tensor(x: torch.Tensor) -> torch.Tensor:
    """(B, 78) normalised -> (B, 78) physical values, vectorised over all parameters."""
    return _TABLE.to_physical(x)
