"""Gradient-free search strategies over a box [0, 1]^d behind one ask/tell interface (maximisation).

- ``SNES``: separable natural evolution strategy (Schaul et al. 2011; Wierstra et al. 2014), written
  here in torch: a diagonal Gaussian whose mean and per-dimension spread follow the natural gradient
  of rank-based utilities; antithetic (mirrored) sampling.
- ``CMAES``: covariance matrix adaptation (Hansen) through the ``cmaes`` package, with box bounds.
- ``RandomSearch``: the baseline CTAG ablates against: independent samples, uniform on the box
  (or Gaussian around a given centre when refining a sound).

Every strategy returns candidates already inside [0, 1]; ``tell`` takes the fitness of exactly the
last ``ask`` (higher is better). All are deterministic for a seed.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Strategy(Protocol):
    name: str
    dim: int
    popsize: int

    def ask(self) -> torch.Tensor:
        """(popsize, dim) float32 candidates in [0, 1]."""
        ...

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        """Fitness (popsize,) of the candidates from the last ask; higher is better."""
        ...

    @property
    def mean(self) -> torch.Tensor:
        """The strategy's current centre (dim,) in [0, 1]."""
        ...


def _as_center(center: torch.Tensor | np.ndarray | None, dim: int) -> torch.Tensor | None:
    if center is None:
        return None
    c = torch.as_tensor(np.asarray(center, dtype=np.float32)).reshape(-1)
    if c.numel() != dim:
        raise ValueError(f"centre has {c.numel()} values, expected {dim}")
    return c.clamp(0.0, 1.0)


def rank_utilities(n: int) -> torch.Tensor:
    """NES fitness shaping: u_i for rank i (0 = best), zero-sum, the best half weighted by log rank."""
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    u = torch.clamp(math.log(n / 2 + 1) - torch.log(ranks), min=0.0)
    return (u / u.sum() - 1.0 / n).float()


class SNES:
    """Separable NES on [0, 1]^d. Samples outside the box are clipped before evaluation; the update
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
    ) -> None:
        if popsize < 2:
            raise ValueError("popsize must be at least 2")
        self.dim, self.popsize = int(dim), int(popsize)
        self.gen = torch.Generator().manual_seed(int(seed))
        c = _as_center(center, dim)
        self._mu = c.clone() if c is not None else torch.full((dim,), 0.5)
        self._sigma = torch.full((dim,), float(sigma))
        self.lr_mean = float(lr_mean)
        self.lr_sigma = float(lr_sigma) if lr_sigma is not None else (3 + math.log(dim)) / (5 * math.sqrt(dim))
        self.mirrored = mirrored
        self.min_sigma = float(min_sigma)
        self._utilities = rank_utilities(self.popsize)
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
            z = torch.randn(half, self.dim, generator=self.gen)
            z = torch.cat([z, -z])[: self.popsize]
        else:
            z = torch.randn(self.popsize, self.dim, generator=self.gen)
        self._z = z
        return (self._mu + self._sigma * z).clamp(0.0, 1.0)

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        if self._z is None:
            raise RuntimeError("tell() without a matching ask()")
        f = torch.as_tensor(fitness, dtype=torch.float32).reshape(-1)
        if f.numel() != self.popsize:
            raise ValueError(f"expected {self.popsize} fitness values, got {f.numel()}")
        f = torch.nan_to_num(f, nan=-math.inf)
        order = torch.argsort(f, descending=True, stable=True)
        u = torch.empty_like(self._utilities)
        u[order] = self._utilities
        z = self._z
        grad_mu = u @ z
        grad_sigma = u @ (z * z - 1.0)
        self._mu = (self._mu + self.lr_mean * self._sigma * grad_mu).clamp(0.0, 1.0)
        self._sigma = (self._sigma * torch.exp(0.5 * self.lr_sigma * grad_sigma)).clamp(self.min_sigma, 1.0)
        self._z = None


def _one_blas_thread():
    """CMA-ES's per-generation 78x78 eigendecomposition is ~40x slower with a multi-threaded BLAS
    on a busy 2-core machine (thread contention) than single-threaded; pin it to one thread."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()


class CMAES:
    """CMA-ES with box bounds [0, 1]^d (the ``cmaes`` package's implementation)."""

    name = "cmaes"

    def __init__(
        self,
        dim: int,
        popsize: int = 50,
        *,
        center: torch.Tensor | np.ndarray | None = None,
        sigma: float = 0.3,
        seed: int = 0,
    ) -> None:
        from cmaes import CMA

        self.dim, self.popsize = int(dim), int(popsize)
        c = _as_center(center, dim)
        mean = (c.numpy() if c is not None else np.full(dim, 0.5)).astype(np.float64)
        # Keep the starting mean strictly inside the bounds (cmaes requires it).
        mean = np.clip(mean, 1e-6, 1 - 1e-6)
        bounds = np.tile(np.array([[0.0, 1.0]]), (dim, 1))
        # n_max_resampling=1: in 78 dimensions almost every draw leaves the box somewhere, so
        # resampling would cost ~100 draws per candidate; the package then clips to the bounds.
        self._cma = CMA(mean=mean, sigma=float(sigma), bounds=bounds, seed=int(seed), population_size=self.popsize, n_max_resampling=1)
        self._last: list[np.ndarray] | None = None

    @property
    def mean(self) -> torch.Tensor:
        return torch.as_tensor(np.clip(self._cma.mean, 0, 1), dtype=torch.float32)

    def ask(self) -> torch.Tensor:
        with _one_blas_thread():
            self._last = [self._cma.ask() for _ in range(self.popsize)]
        return torch.as_tensor(np.clip(np.stack(self._last), 0.0, 1.0), dtype=torch.float32)

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:
        if self._last is None:
            raise RuntimeError("tell() without a matching ask()")
        f = np.nan_to_num(np.asarray(torch.as_tensor(fitness).detach().cpu(), dtype=np.float64), nan=-1e9)
        with _one_blas_thread():
            self._cma.tell([(xi, -float(fi)) for xi, fi in zip(self._last, f)])  # cmaes minimises
        self._last = None


class RandomSearch:
    """Independent samples: uniform on [0, 1]^d, or N(center, sigma) clipped when a centre is given."""

    name = "random"

    def __init__(
        self,
        dim: int,
        popsize: int = 50,
        *,
        center: torch.Tensor | np.ndarray | None = None,
        sigma: float = 0.3,
        seed: int = 0,
    ) -> None:
        self.dim, self.popsize = int(dim), int(popsize)
        self.gen = torch.Generator().manual_seed(int(seed))
        self._center = _as_center(center, dim)
        self.sigma = float(sigma)

    @property
    def mean(self) -> torch.Tensor:
        return self._center.clone() if self._center is not None else torch.full((self.dim,), 0.5)

    def ask(self) -> torch.Tensor:
        if self._center is None:
            return torch.rand(self.popsize, self.dim, generator=self.gen)
        z = torch.randn(self.popsize, self.dim, generator=self.gen)
        return (self._center + self.sigma * z).clamp(0.0, 1.0)

    def tell(self, x: torch.Tensor, fitness: torch.Tensor) -> None:  # nothing to learn
        return None


STRATEGIES: dict[str, type] = {"snes": SNES, "cmaes": CMAES, "random": RandomSearch}


def make_strategy(
    name: str,
    dim: int,
    popsize: int = 50,
    *,
    center: torch.Tensor | np.ndarray | None = None,
    sigma: float | None = None,
    seed: int = 0,
) -> Strategy:
    """Build a strategy by name. Without a centre the search covers the whole box (sigma 0.3 around
    0.5 for the ES, uniform for random search); with one, ``sigma`` (default 0.1) sets the spread."""
    key = name.lower()
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    s = sigma if sigma is not None else (0.3 if center is None else 0.1)
    return STRATEGIES[key](dim, popsize, center=center, sigma=s, seed=seed)
