"""A Voice patch: the 78 parameters by name, in normalised [0, 1] form and in physical units."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from .params import NUM_PARAMS, PARAM_INDEX, VOICE_PARAMS

FORMAT = "lstmabar.voice-patch/1"


def _default_physical() -> dict[str, float]:
    """A plain, audible starting point: a sine tone at middle C with a short attack, all
    modulation off (symmetric depths at their centre 0)."""
    values = {p.name: p.minimum for p in VOICE_PARAMS}
    for p in VOICE_PARAMS:
        if p.symmetric or p.unit in ("rad", "semitones"):
            values[p.name] = (p.minimum + p.maximum) / 2.0  # 0 depth, 0 phase, 0 tuning
        if p.short == "alpha":
            values[p.name] = 1.0
    values.update(
        {
            "keyboard.midi_f0": 60.0,
            "keyboard.duration": 1.0,
            "adsr_1.attack": 0.01,
            "adsr_1.decay": 0.2,
            "adsr_1.sustain": 0.7,
            "adsr_1.release": 0.3,
            "mod_matrix.adsr_1->vco_1_amp": 1.0,
            "mixer.vco_1": 1.0,
            "lfo_1.sin": 1.0,
            "lfo_2.sin": 1.0,
        }
    )
    return values


class Patch:
    """Normalised values by parameter name (all 78, in VOICE_PARAMS order)."""

    __slots__ = ("_x",)

    def __init__(self, values: Mapping[str, float] | None = None):
        base = _DEFAULT_NORMALIZED.copy() if values is None else None
        if values is not None:
            unknown = set(values) - set(PARAM_INDEX)
            if unknown:
                raise ValueError(f"unknown Voice parameters: {sorted(unknown)[:5]}")
            base = _DEFAULT_NORMALIZED.copy()
            for k, v in values.items():
                base[PARAM_INDEX[k]] = _check01(k, v)
        self._x = base

    # --------------------------------------------------------------- construction
    @classmethod
    def default(cls) -> "Patch":
        return cls()

    @classmethod
    def from_normalized(cls, values: Iterable[float] | torch.Tensor | np.ndarray) -> "Patch":
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().double().reshape(-1).numpy()
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).reshape(-1)
        if arr.shape[0] != NUM_PARAMS:
            raise ValueError(f"a Voice patch has {NUM_PARAMS} values, got {arr.shape[0]}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("patch values must be finite")
        p = cls.__new__(cls)
        p._x = np.clip(arr, 0.0, 1.0)
        return p

    @classmethod
    def from_physical(cls, values: Mapping[str, Any]) -> "Patch":
        """Physical values by name, each a number or {"value": number, ...}. Missing parameters
        keep the default patch's values; values outside a range are clamped to it."""
        unknown = set(values) - set(PARAM_INDEX)
        if unknown:
            raise ValueError(f"unknown Voice parameters: {sorted(unknown)[:5]}")
        x = _DEFAULT_NORMALIZED.copy()
        for name, v in values.items():
            if isinstance(v, Mapping):
                v = v["value"]
            v = float(v)
            if not np.isfinite(v):
                raise ValueError(f"{name}: value must be finite")
            x[PARAM_INDEX[name]] = VOICE_PARAMS[PARAM_INDEX[name]].to_normalized(v)
        p = cls.__new__(cls)
        p._x = x
        return p

    @classmethod
    def steady_vco2(cls, freq_hz: float, shape: float) -> "Patch":
        """Only the square-saw VCO at a constant level (attack 0, sustain 1, key held past the end):
        the tone the aliasing checks and the synth_speed report measure."""
        return cls.from_physical({
            "keyboard.midi_f0": 69.0 + 12.0 * math.log2(freq_hz / 440.0),
            "keyboard.duration": 4.0,
            "adsr_1.attack": 0.0,
            "adsr_1.sustain": 1.0,
            "mod_matrix.adsr_1->vco_1_amp": 0.0,
            "mod_matrix.adsr_1->vco_2_amp": 1.0,
            "mixer.vco_1": 0.0,
            "mixer.vco_2": 1.0,
            "vco_2.shape": shape,
        })

    @classmethod
    def random(cls, seed: int | None = None) -> "Patch":
        rng = np.random.default_rng(seed)
        return cls.from_normalized(rng.random(NUM_PARAMS))

    # --------------------------------------------------------------- views
    def normalized(self) -> torch.Tensor:
        return torch.tensor(self._x, dtype=torch.float32)

    def normalized_dict(self) -> dict[str, float]:
        return {p.name: float(v) for p, v in zip(VOICE_PARAMS, self._x)}

    def physical(self) -> dict[str, dict[str, Any]]:
        return {p.name: {"value": float(p.to_physical(float(v))), "unit": p.unit} for p, v in zip(VOICE_PARAMS, self._x)}

    def __getitem__(self, name: str) -> float:
        """Physical value of one parameter."""
        return float(VOICE_PARAMS[PARAM_INDEX[name]].to_physical(float(self._x[PARAM_INDEX[name]])))

    def replace(self, **physical: float) -> "Patch":
        """A copy with some physical values changed; names use '__' for '.', e.g.
        ``replace(adsr_1__attack=0.5)``; use ``from_physical({**p.physical(), ...})`` for '->' names."""
        vals = {k.replace("__", "."): v for k, v in physical.items()}
        x = self._x.copy()
        for name, v in vals.items():
            if name not in PARAM_INDEX:
                raise ValueError(f"unknown Voice parameter {name!r}")
            x[PARAM_INDEX[name]] = VOICE_PARAMS[PARAM_INDEX[name]].to_normalized(float(v))
        p = Patch.__new__(Patch)
        p._x = x
        return p

    def with_note(self, midi_f0: float | None = None, duration: float | None = None) -> "Patch":
        """A copy playing another MIDI note (0-127, fractional allowed) and/or held for another
        duration in seconds (0.01-4)."""
        x = self._x.copy()
        if midi_f0 is not None:
            if not 0.0 <= float(midi_f0) <= 127.0:
                raise ValueError(f"midi_f0 must be in [0, 127], got {midi_f0}")
            x[PARAM_INDEX["keyboard.midi_f0"]] = VOICE_PARAMS[PARAM_INDEX["keyboard.midi_f0"]].to_normalized(float(midi_f0))
        if duration is not None:
            if not 0.01 <= float(duration) <= 4.0:
                raise ValueError(f"duration must be in [0.01, 4] seconds, got {duration}")
            x[PARAM_INDEX["keyboard.duration"]] = VOICE_PARAMS[PARAM_INDEX["keyboard.duration"]].to_normalized(float(duration))
        p = Patch.__new__(Patch)
        p._x = x
        return p

    @staticmethod
    def interpolate(a: "Patch", b: "Patch", t: float) -> "Patch":
        """Linear interpolation in normalised space: t=0 gives a, t=1 gives b."""
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"t must be in [0, 1], got {t}")
        p = Patch.__new__(Patch)
        p._x = a._x.copy() if t == 0.0 else b._x.copy() if t == 1.0 else (1.0 - t) * a._x + t * b._x
        return p

    # --------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "normalized": self.normalized_dict(),
            "physical": self.physical(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Patch":
        """Accepts to_dict() output (normalised values win when present), or a bare
        {"physical": {...}} / {"normalized": {...}}."""
        if "normalized" in data:
            norm = data["normalized"]
            if isinstance(norm, Mapping):
                return cls(dict(norm))
            return cls.from_normalized(norm)
        if "physical" in data:
            return cls.from_physical(data["physical"])
        raise ValueError("patch JSON needs a 'normalized' or 'physical' object")

    @classmethod
    def from_json(cls, text: str) -> "Patch":
        return cls.from_dict(json.loads(text))

    # --------------------------------------------------------------- rendering
    def render(self, sample_rate: int = 48000, seconds: float = 2.0, seed: int = 0, control_rate: float = 480) -> np.ndarray:
        """Render this patch: float32 mono samples, shape (samples,)."""
        voice = _voice(int(sample_rate), float(control_rate), float(seconds))
        return voice.render(self.normalized().unsqueeze(0), seed=seed)[0].numpy()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Patch) and bool(np.array_equal(self._x, other._x))

    def __repr__(self) -> str:
        return f"Patch(midi_f0={self['keyboard.midi_f0']:.2f}, duration={self['keyboard.duration']:.3f}s)"


def _check01(name: str, v: float) -> float:
    v = float(v)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name}: normalised values lie in [0, 1], got {v}")
    return v


@lru_cache(maxsize=8)
def _voice(sample_rate: int, control_rate: float, seconds: float):
    from .voice import Voice

    return Voice(sample_rate=sample_rate, control_rate=control_rate, seconds=seconds)


_DEFAULT_NORMALIZED = np.array(
    [p.to_normalized(_default_physical()[p.name]) for p in VOICE_PARAMS], dtype=np.float64
)
