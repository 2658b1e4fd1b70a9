"""The matcher's view of the Voice: 16 parameters a listener can hear, on a fixed patch layout.

Seed 002 matched 16 parameters of one synth (Massive) with the rest held at a preset. Matching all 78
Voice parameters is ill-posed: many do nothing audible on a given patch (LFO phases, envelopes that
drive nothing, modulation routings whose depth is zero) or alias one another, so no network can
recover them from audio (our 78-parameter networks stayed at the mean predictor's error). The match
space is therefore a classic two-oscillator layout:

* envelope 1 shapes the sine VCO and the noise, envelope 2 the square-saw VCO (so a plucked saw can
  sit on a sustained sine);
* LFO 1 (a sine) adds vibrato to both VCOs;
* everything else is off: no other routings, tunings 0, start phases 0.

Each core parameter is normalised over a musically useful range (log for times and rates); the
Voice patch it expands to is an ordinary 78-value patch, so the result opens in every other tool.
The mixer levels are drawn so that the loudest source is at 1: the Voice divides its output by its
peak, and the features are loudness-normalised, so only the ratios between levels are audible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..ranges import Range
from .data import DURATION_RANGE, MIDI_RANGE, SynthSpec
from .features import FEATURE_SR, SECONDS


@dataclass(frozen=True)
class CoreParam(Range):
    """A core control: a linear or log ``Range`` whose tensor -> physical and float -> normalised maps keep
    the arithmetic the trained matcher learnt with (log: ``low * exp(x * log(high / low))``, which rounds
    differently from ``Range``'s ``exp(log low + x * (log high - log low))``)."""

    @property
    def low(self) -> float:
        return self.minimum

    @property
    def high(self) -> float:
        return self.maximum

    def _physical_tensor(self, x: torch.Tensor) -> torch.Tensor:
        if self.log:
            return self.low * torch.exp(x * math.log(self.high / self.low))
        return self.low + (self.high - self.low) * x

    def _normalized_float(self, v: float) -> float:
        if self.log:
            return min(1.0, max(0.0, math.log(max(v, self.low) / self.low) / math.log(self.high / self.low)))
        return min(1.0, max(0.0, (v - self.low) / (self.high - self.low)))


def _env(module: str) -> list[CoreParam]:
    return [
        CoreParam(f"{module}.attack", 0.002, 1.0, unit="s", log=True),
        CoreParam(f"{module}.decay", 0.02, 1.5, unit="s", log=True),
        CoreParam(f"{module}.sustain", 0.0, 1.0, unit="ratio"),
        CoreParam(f"{module}.release", 0.02, 1.5, unit="s", log=True),
    ]


CORE_PARAMS: tuple[CoreParam, ...] = (
    CoreParam("keyboard.midi_f0", MIDI_RANGE[0], MIDI_RANGE[1], unit="midi"),
    CoreParam("keyboard.duration", DURATION_RANGE[0], DURATION_RANGE[1], unit="s"),
    CoreParam("mixer.vco_1", 0.0, 1.0, unit="ratio"),
    CoreParam("mixer.vco_2", 0.0, 1.0, unit="ratio"),
    CoreParam("mixer.noise", 0.0, 1.0, unit="ratio"),
    CoreParam("vco_2.shape", 0.0, 1.0, unit="ratio"),
    *_env("adsr_1"),
    *_env("adsr_2"),
    CoreParam("lfo_1.frequency", 0.5, 10.0, unit="Hz", log=True),
    CoreParam("vibrato.depth", 0.0, 1.0, unit="semitones"),
)
CORE_NAMES: tuple[str, ...] = tuple(p.name for p in CORE_PARAMS)
CORE_INDEX = {n: i for i, n in enumerate(CORE_NAMES)}

# Routings of the fixed layout (mod_matrix.<source>-><destination> = 1); all others are 0.
ROUTES = ("adsr_1->vco_1_amp", "adsr_1->noise_amp", "adsr_2->vco_2_amp", "lfo_1->vco_1_pitch", "lfo_1->vco_2_pitch")


@lru_cache(maxsize=1)
def base_patch() -> torch.Tensor:
    """The 78 normalised Voice values of the fixed layout (the 16 core entries at 0.5 until expand sets them).
    Cached: callers must not modify it in place."""
    from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

    phys: dict[str, float] = {}
    for name in PARAM_INDEX:
        if name.startswith("mod_matrix."):
            phys[name] = 1.0 if name.split(".", 1)[1] in ROUTES else 0.0
    phys.update({"vco_1.tuning": 0.0, "vco_2.tuning": 0.0, "vco_1.initial_phase": 0.0, "vco_2.initial_phase": 0.0,
                 "lfo_1.initial_phase": 0.0, "lfo_1.mod_depth": 0.0, "lfo_2.mod_depth": 0.0, "lfo_2.frequency": 0.0,
                 "adsr_1.alpha": 1.0, "adsr_2.alpha": 1.0})
    for lfo in ("lfo_1", "lfo_2"):
        for shape in ("sin", "tri", "saw", "rsaw", "sqr"):
            phys[f"{lfo}.{shape}"] = 1.0 if shape == "sin" else 0.0
        # constant LFO depth: instant attack, full sustain, long release; its rate envelope is unused
        phys.update({f"{lfo}_amp_adsr.attack": 0.0, f"{lfo}_amp_adsr.decay": 0.0, f"{lfo}_amp_adsr.sustain": 1.0,
                     f"{lfo}_amp_adsr.release": 5.0, f"{lfo}_amp_adsr.alpha": 1.0})
    x = torch.full((len(VOICE_PARAMS),), 0.5)
    for name, v in phys.items():
        x[PARAM_INDEX[name]] = float(VOICE_PARAMS[PARAM_INDEX[name]].to_normalized(v))
    return x


def expand(core: torch.Tensor) -> torch.Tensor:
    """(B, 16) or (16,) core values in [0, 1] -> the (B, 78) / (78,) normalised Voice patch."""
    from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

    single = core.dim() == 1
    c = core[None] if single else core
    out = base_patch().to(c.device).repeat(c.shape[0], 1)
    for j, p in enumerate(CORE_PARAMS):
        v = p.to_physical(c[:, j].float())
        targets = ("vco_1.mod_depth", "vco_2.mod_depth") if p.name == "vibrato.depth" else (p.name,)
        for t in targets:
            i = PARAM_INDEX[t]
            out[:, i] = VOICE_PARAMS[i].to_normalized(v.clamp(VOICE_PARAMS[i].minimum, VOICE_PARAMS[i].maximum))
    return out[0] if single else out


def sample_core(n: int, g: torch.Generator) -> torch.Tensor:
    """Uniform core patches, with the mixer rescaled so its loudest source is at 1."""
    x = torch.rand(n, len(CORE_PARAMS), generator=g)
    mix = slice(CORE_INDEX["mixer.vco_1"], CORE_INDEX["mixer.noise"] + 1)
    m = x[:, mix]
    x[:, mix] = m / m.max(1, keepdim=True).values.clamp_min(1e-6)
    return x


def voice_core_spec(sample_rate: int = FEATURE_SR, seconds: float = SECONDS) -> SynthSpec:
    """The Voice seen through the 16 core parameters (what the match_sound networks regress)."""
    from lstmabar.models.synth.voice import Voice

    control_rate = 400 if sample_rate % 400 == 0 else 100
    voice = Voice(sample_rate=sample_rate, control_rate=control_rate, seconds=seconds)
    voice.eval()

    def render(core: torch.Tensor, seed: int) -> torch.Tensor:
        with torch.no_grad():
            return voice.render(expand(core), seed=seed)

    return SynthSpec("voice_core", CORE_NAMES, render, sample_core)


def core_from_patch(normalized78: torch.Tensor) -> torch.Tensor:
    """The core values a full Voice patch has (for patches made in this layout; others lose what the
    layout cannot express). The vibrato depth is read from vco_1's pitch modulation depth."""
    from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

    out = torch.empty(len(CORE_PARAMS))
    for j, p in enumerate(CORE_PARAMS):
        name = "vco_1.mod_depth" if p.name == "vibrato.depth" else p.name
        i = PARAM_INDEX[name]
        out[j] = p.to_normalized(float(VOICE_PARAMS[i].to_physical(float(normalized78[i]))))
    return out
