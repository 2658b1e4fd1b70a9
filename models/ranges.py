"""One range type for every named, normalised parameter: synth parameters, effect parameters, controls.

A ``Range`` maps a normalised value x in [0, 1] (clamped) to a physical value in its unit, by one of
three mappings:

* linear: ``min + (max - min) * x``
* curved (``curve`` != 1): ``min + (max - min) * x ** (1 / curve)``; with ``symmetric`` the curve bends
  both halves around the centre: ``d = 2x - 1``; ``centre + half * sign(d) * |d| ** (1 / curve)``
  (torchsynth's ``ModuleParameterRange``)
* log (``log=True``): ``exp(log min + (log max - log min) * x)``, geometric between min and max > 0

``to_physical`` / ``to_normalized`` take a float, a numpy array or a torch tensor (differentiable).
``RangeTable`` applies a sequence of ranges to the last axis of a (..., D) tensor at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class Range:
    name: str
    minimum: float
    maximum: float
    curve: float = 1.0
    unit: str = ""
    description: str = ""
    symmetric: bool = False
    log: bool = False

    def __post_init__(self) -> None:
        if self.log and not 0 < self.minimum < self.maximum:
            raise ValueError(f"{self.name}: a log range needs 0 < minimum < maximum")
        if self.log and (self.curve != 1.0 or self.symmetric):
            raise ValueError(f"{self.name}: a log range has no curve")

    @property
    def mapping(self) -> str:
        """"linear", "curved" or "log"."""
        return "log" if self.log else ("curved" if self.curve != 1.0 or self.symmetric else "linear")

    @property
    def centre(self) -> float:
        return (self.minimum + self.maximum) / 2.0

    @property
    def half(self) -> float:
        return (self.maximum - self.minimum) / 2.0

    # ------------------------------------------------------------------ normalised -> physical
    def to_physical(self, x: Any) -> Any:
        """Normalised [0, 1] -> physical (float, numpy array or tensor; x is clamped to [0, 1])."""
        if isinstance(x, torch.Tensor):
            return self._physical_tensor(x.clamp(0.0, 1.0))
        if isinstance(x, np.ndarray) and x.ndim:
            return self._physical_array(np.clip(x, 0.0, 1.0))
        return self._physical_float(min(max(float(x), 0.0), 1.0))

    def _physical_tensor(self, x: torch.Tensor) -> torch.Tensor:
        if self.log:
            lo, hi = math.log(self.minimum), math.log(self.maximum)
            return (lo + (hi - lo) * x).exp()
        if not self.symmetric:
            y = x if self.curve == 1.0 else x.pow(1.0 / self.curve)
            return self.minimum + (self.maximum - self.minimum) * y
        d = 2.0 * x - 1.0
        y = d if self.curve == 1.0 else torch.sign(d) * d.abs().pow(1.0 / self.curve)
        return self.centre + self.half * y  # = min + (max - min) / 2 * (y + 1), kept precise near the centre

    def _physical_array(self, x: np.ndarray) -> np.ndarray:
        if self.log:
            lo, hi = math.log(self.minimum), math.log(self.maximum)
            return np.exp(lo + (hi - lo) * x)
        if not self.symmetric:
            return self.minimum + (self.maximum - self.minimum) * x ** (1.0 / self.curve)
        d = 2.0 * x - 1.0
        return self.centre + self.half * np.sign(d) * np.abs(d) ** (1.0 / self.curve)

    def _physical_float(self, x: float) -> float:
        if self.log:
            lo, hi = math.log(self.minimum), math.log(self.maximum)
            return float(np.exp(lo + (hi - lo) * x))
        if not self.symmetric:
            return self.minimum + (self.maximum - self.minimum) * x ** (1.0 / self.curve)
        d = 2.0 * x - 1.0
        return self.centre + self.half * math.copysign(abs(d) ** (1.0 / self.curve), d)

    # ------------------------------------------------------------------ physical -> normalised
    def to_normalized(self, v: Any) -> Any:
        """Physical value -> normalised [0, 1] (float or tensor; values are clamped to the range)."""
        if isinstance(v, torch.Tensor):
            return self._normalized_tensor(v)
        if isinstance(v, np.ndarray) and v.ndim:
            return np.vectorize(self._normalized_float, otypes=[np.float64])(v)
        return self._normalized_float(float(v))

    def _normalized_tensor(self, v: torch.Tensor) -> torch.Tensor:
        if self.log:
            lo, hi = math.log(self.minimum), math.log(self.maximum)
            return (v.clamp(self.minimum, self.maximum).log() - lo) / (hi - lo)
        if not self.symmetric:
            n = ((v - self.minimum) / (self.maximum - self.minimum)).clamp(0.0, 1.0)
            return n if self.curve == 1.0 else n.pow(self.curve)
        d = ((v - self.centre) / self.half).clamp(-1.0, 1.0)
        return (1.0 + torch.sign(d) * d.abs().pow(self.curve)) / 2.0

    def _normalized_float(self, v: float) -> float:
        if self.log:
            v = min(max(v, self.minimum), self.maximum)
            return (math.log(v) - math.log(self.minimum)) / (math.log(self.maximum) - math.log(self.minimum))
        if not self.symmetric:
            n = min(max((v - self.minimum) / (self.maximum - self.minimum), 0.0), 1.0)
            return n**self.curve
        d = min(max((v - self.centre) / self.half, -1.0), 1.0)
        return (1.0 + math.copysign(abs(d) ** self.curve, d)) / 2.0


class RangeTable:
    """A sequence of ranges applied to the last axis of a (..., D) tensor at once (vectorised and
    differentiable; the tables are cached per device and dtype)."""

    def __init__(self, ranges: Sequence[Range]) -> None:
        self.ranges = tuple(ranges)
        self._has_log = any(r.log for r in self.ranges)
        self._cache: dict[tuple[str, torch.dtype], tuple[torch.Tensor, ...]] = {}

    def __len__(self) -> int:
        return len(self.ranges)

    def _tables(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        key = (str(device), dtype)
        t = self._cache.get(key)
        if t is None:
            rs = self.ranges
            lo = torch.tensor([r.minimum for r in rs], dtype=dtype, device=device)
            hi = torch.tensor([r.maximum for r in rs], dtype=dtype, device=device)
            inv_curve = torch.tensor([1.0 / r.curve for r in rs], dtype=dtype, device=device)
            sym = torch.tensor([r.symmetric for r in rs], device=device)
            log = torch.tensor([r.log for r in rs], device=device)
            loglo = torch.tensor([math.log(r.minimum) if r.log else 0.0 for r in rs], dtype=dtype, device=device)
            loghi = torch.tensor([math.log(r.maximum) if r.log else 0.0 for r in rs], dtype=dtype, device=device)
            t = self._cache[key] = (lo, hi, inv_curve, sym, log, loglo, loghi)
        return t

    def to_physical(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D) normalised -> (..., D) physical values."""
        lo, hi, inv_curve, sym, log, loglo, loghi = self._tables(x.device, x.dtype)
        x = x.clamp(0.0, 1.0)
        d = 2.0 * x - 1.0
        sym_y = torch.sign(d) * d.abs().pow(inv_curve)
        plain_y = x.pow(inv_curve)
        centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0
        out = torch.where(sym, centre + half * sym_y, lo + (hi - lo) * plain_y)
        if self._has_log:
            out = torch.where(log, (loglo + (loghi - loglo) * x).exp(), out)
        return out
