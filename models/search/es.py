"""Gradient-free search strategies over a box (by default [0, 1]^d) behind one ask/tell interface.

- ``SNES``: separable natural evolution strategy (Schaul et al. 2011; Wierstra et al. 2014), written
  here in torch: a diagonal Gaussian whose mean and per-dimension spread follow the natural gradient
  of rank-based utilities; antithetic (mirrored) sampling.
- ``CMAES``: covariance matrix adaptation (Hansen) through the ``cmaes`` package, with box bounds.
- ``RandomSearch``: the baseline CTAG ablates against: independent samples, uniform on the box
  (or Gaussian around a given centre when refining a sound).

Every strategy returns candidates already inside its box (``bounds``: per-dimension (low, high), default
[0, 1]); ``tell`` takes the fitness of exactly the last ``ask`` (higher is better: ``loop.run_search``
negates a loss it minimises). Candidates are float32 unless a strategy is built with ``dtype=torch.float64``.
All are deterministic for a seed.
"""

from __future__ import annotations

import contextlib
import math
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Strategy(Protocol):
    name: str
    dim: int
    popsize: int

    def ask(self) -> torch.Tensor:
        """(popsize, dim) candidates inside the strategy's box."""
        ...

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        """Fitness (popsize,) of the candidates from the last ask; higher is better."""
        ...

    @property
    def mean(self) -> torch.Tensor:
        """The strategy's current centre (dim,) inside its box."""
        ...


Bounds = Union[tuple[Union[Sequence[float], np.ndarray], Union[Sequence[float], np.ndarray]], np.ndarray]  # (low (d,), high (d,)) or a (d, 2) array


def _box(bounds: Bounds | None, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) float64 arrays of ``dim`` values, or None for the unit box."""
    if bounds is None:
        return None
    # a tuple or list is (low, high); an array is (d, 2) rows (in 2-d both are 2 x 2, so the type decides)
    if isinstance(bounds, np.ndarray) and bounds.shape == (dim, 2):
        lo, hi = bounds[:, 0].astype(np.float64), bounds[:, 1].astype(np.float64)
    else:
        lo, hi = (np.asarray(b, dtype=np.float64) for b in bounds)
    lo, hi = np.broadcast_to(lo, (dim,)).copy(), np.broadcast_to(hi, (dim,)).copy()
    if np.any(hi <= lo):
        raise ValueError("every bound needs low < high")
    return lo, hi


def _as_center(center: torch.Tensor | np.ndarray | None, dim: int, box: tuple[np.ndarray, np.ndarray] | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    if center is None:
        return None
    c = torch.as_tensor(np.asarray(center, dtype=np.float32 if dtype == torch.float32 else np.float64)).reshape(-1)
    if c.numel() != dim:
        raise ValueError(f"centre has {c.numel()} values, expected {dim}")
    if box is None:
        return c.clamp(0.0, 1.0)
    return torch.minimum(torch.maximum(c, torch.as_tensor(box[0], dtype=c.dtype)), torch.as_tensor(box[1], dtype=c.dtype))


def rank_utilities(n: int) -> torch.Tensor:
    """NES fitness shaping: u_i for rank i (0 = best), zero-sum, the best half weighted by log rank."""
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    u = torch.clamp(math.log(n / 2 + 1) - torch.log(ranks), min=0.0)
    return (u / u.sum() - 1.0 / n).float()


class _Boxed:
    """The box a strategy searches: [0, 1]^d by default, else per-dimension (low, high)."""

    _box: tuple[np.ndarray, np.ndarray] | None
    dtype: torch.dtype

    def _clip(self, x: torch.Tensor) -> torch.Tensor:
        if self._box is None:
            return x.clamp(0.0, 1.0)
        lo, hi = (torch.as_tensor(b, dtype=x.dtype) for b in self._box)
        return torch.minimum(torch.maximum(x, lo), hi)

    def _middle(self, dim: int) -> torch.Tensor:
        if self._box is None:
            return torch.full((dim,), 0.5, dtype=self.dtype)
        return torch.as_tensor((self._box[0] + self._box[1]) / 2, dtype=self.dtype)

    def _width(self) -> torch.Tensor | float:
        return 1.0 if self._box is None else torch.as_tensor(self._box[1] - self._box[0], dtype=self.dtype)


class SNES(_Boxed):
    """Separable NES on its box. Samples outside the box are clipped before evaluation; the update
    uses the unclipped Gaussian draws (the standard treatment), and the mean is kept inside the box."""

    name = "snes"

    def __init__(
        self,
        dim: int,
        popsize: int = 50,
        *,
        center: torch.Tensor | np.ndarray | None = None,
        sigma: float = 0.3,
        seed: int = 0,
        lr_mean: float = 1.0,
        lr_sigma: float | None = None,
        mirrored: bool = True,
        min_sigma: float = 1e-3,
        bounds: Bounds | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if popsize < 2:
            raise ValueError("popsize must be at least 2")
        self.dim, self.popsize = int(dim), int(popsize)
        self.dtype, self._box = dtype, _box(bounds, self.dim)
        self.gen = torch.Generator().manual_seed(int(seed))
        c = _as_center(center, dim, self._box, dtype)
        self._mu = c.clone() if c is not None else self._middle(dim)
        self._sigma = torch.full((dim,), float(sigma), dtype=dtype)
        self.lr_mean = float(lr_mean)
        self.lr_sigma = float(lr_sigma) if lr_sigma is not None else (3 + math.log(dim)) / (5 * math.sqrt(dim))
        self.mirrored = mirrored
        self.min_sigma = float(min_sigma)
        self._utilities = rank_utilities(self.popsize).to(dtype)
        self._z: torch.Tensor | None = None

    @property
    def mean(self) -> torch.Tensor:
        return self._mu.clone()

    @property
    def sigma(self) -> torch.Tensor:
        return self._sigma.clone()

    def ask(self) -> torch.Tensor:
        if self.mirrored:
            half = (self.popsize + 1) // 2
            z = torch.randn(half, self.dim, generator=self.gen, dtype=self.dtype)
            z = torch.cat([z, -z])[: self.popsize]
        else:
            z = torch.randn(self.popsize, self.dim, generator=self.gen, dtype=self.dtype)
        self._z = z
        return self._clip(self._mu + self._sigma * z)

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        if self._z is None:
            raise RuntimeError("tell() without a matching ask()")
        f = torch.as_tensor(fitness, dtype=self.dtype).reshape(-1)
        if f.numel() != self.popsize:
            raise ValueError(f"expected {self.popsize} fitness values, got {f.numel()}")
        f = torch.nan_to_num(f, nan=-math.inf)
        order = torch.argsort(f, descending=True, stable=True)
        u = torch.empty_like(self._utilities)
        u[order] = self._utilities
        z = self._z
        grad_mu = u @ z
        grad_sigma = u @ (z * z - 1.0)
        self._mu = self._clip(self._mu + self.lr_mean * self._sigma * grad_mu)
        width = self._width()
        if isinstance(width, float):
            self._sigma = (self._sigma * torch.exp(0.5 * self.lr_sigma * grad_sigma)).clamp(self.min_sigma, width)
        else:
            self._sigma = torch.minimum((self._sigma * torch.exp(0.5 * self.lr_sigma * grad_sigma)).clamp(min=self.min_sigma), width)
        self._z = None


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """CMA-ES's per-generation 78x78 eigendecomposition is ~40x slower with a multi-threaded BLAS
    on a busy 2-core machine (thread contention) than single-threaded; pin it to one thread."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()


class CMAES(_Boxed):
    """CMA-ES on its box (the ``cmaes`` package's implementation).

    ``popsize=None`` takes the package's default (4 + 3 ln d); ``max_resampling`` is how often a draw
    outside the box is redrawn before it is clipped (1 by default: in 78 dimensions almost every draw
    leaves the box somewhere, so resampling would cost ~100 draws per candidate)."""

    name = "cmaes"

    def __init__(
        self,
        dim: int,
        popsize: int | None = 50,
        *,
        center: torch.Tensor | np.ndarray | None = None,
        sigma: float = 0.3,
        seed: int = 0,
        bounds: Bounds | None = None,
        dtype: torch.dtype = torch.float32,
        max_resampling: int = 1,
    ) -> None:
        from cmaes import CMA

        self.dim = int(dim)
        self.dtype, self._box = dtype, _box(bounds, self.dim)
        c = _as_center(center, dim, self._box, dtype)
        mean = (c.numpy() if c is not None else self._middle(dim).numpy()).astype(np.float64)
        # Keep the starting mean strictly inside the bounds (cmaes requires it).
        lo, hi = self._box if self._box is not None else (np.zeros(dim), np.ones(dim))
        mean = np.clip(mean, lo + 1e-6, hi - 1e-6)
        self._cma = CMA(mean=mean, sigma=float(sigma), bounds=np.stack([lo, hi], axis=1), seed=int(seed),
                        population_size=None if popsize is None else int(popsize), n_max_resampling=int(max_resampling))
        self.popsize = int(self._cma.population_size)
        self._last: list[np.ndarray] | None = None

    @property
    def mean(self) -> torch.Tensor:
        return self._clip(torch.as_tensor(self._cma.mean, dtype=self.dtype))

    def ask(self) -> torch.Tensor:
        with _one_blas_thread():
            self._last = [self._cma.ask() for _ in range(self.popsize)]
        return self._clip(torch.as_tensor(np.stack(self._last), dtype=self.dtype))

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        if self._last is None:
            raise RuntimeError("tell() without a matching ask()")
        f = np.nan_to_num(np.asarray(torch.as_tensor(fitness).detach().cpu(), dtype=np.float64), nan=-1e9)
        with _one_blas_thread():
            self._cma.tell([(xi, -float(fi)) for xi, fi in zip(self._last, f)])  # cmaes minimises
        self._last = None


class RandomSearch(_Boxed):
    """Independent samples: uniform on the box, or N(center, sigma) clipped when a centre is given."""

    name = "random"

    def __init__(
        self,
        dim: int,
        popsize: int = 50,
        *,
        center: torch.Tensor | np.ndarray | None = None,
        sigma: float = 0.3,
        seed: int = 0,
        bounds: Bounds | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.dim, self.popsize = int(dim), int(popsize)
        self.dtype, self._box = dtype, _box(bounds, self.dim)
        self.gen = torch.Generator().manual_seed(int(seed))
        self._center = _as_center(center, dim, self._box, dtype)
        self.sigma = float(sigma)

    @property
    def mean(self) -> torch.Tensor:
        return self._center.clone() if self._center is not None else self._middle(self.dim)

    def ask(self) -> torch.Tensor:
        if self._center is None:
            u = torch.rand(self.popsize, self.dim, generator=self.gen, dtype=self.dtype)
            if self._box is None:
                return u
            lo, hi = (torch.as_tensor(b, dtype=self.dtype) for b in self._box)
            return lo + (hi - lo) * u
        z = torch.randn(self.popsize, self.dim, generator=self.gen, dtype=self.dtype)
        return self._clip(self._center + self.sigma * z)

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:  # nothing to learn
        return None


STRATEGIES: dict[str, type[SNES] | type[CMAES] | type[RandomSearch]] = {"snes": SNES, "cmaes": CMAES, "random": RandomSearch}


def make_strategy(
    name: str,
    dim: int,
    popsize: int = 50,
    *,
    center: torch.Tensor | np.ndarray | None = None,
    sigma: float | None = None,
    seed: int = 0,
    bounds: Bounds | None = None,
    dtype: torch.dtype = torch.float32,
) -> Strategy:
    """Build a strategy by name. Without a centre the search covers the whole box (sigma 0.3 around
    its middle for the ES, uniform for random search); with one, ``sigma`` (default 0.1) sets the spread.
    ``bounds``: (low, high) per dimension (default [0, 1]); ``dtype``: the candidates' precision."""
    key = name.lower()
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    s = sigma if sigma is not None else (0.3 if center is None else 0.1)
    return STRATEGIES[key](dim, popsize, center=center, sigma=s, seed=seed, bounds=bounds, dtype=dtype)
