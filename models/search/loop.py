"""The search loop: ask a strategy, evaluate the whole population as one batch, tell, repeat.

Budgets: evaluations and/or wall-clock seconds and/or a deadline (a ``time.monotonic()`` value the
search must end by: no generation starts that the last one's time says would overrun it); early
stopping when the best score has not improved by ``min_delta`` for ``patience`` generations; a
per-generation callback (progress, cancellation). Fixed parameters (``keep``) are handled by ``ParamSpace``: the strategy searches
only the free dimensions and every candidate is expanded to the full vector before evaluation.
An archive keeps the best few candidates of every generation (with their features, e.g. audio
embeddings) so that ``diverse.select_diverse`` can pick mutually different results at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .es import Strategy

# evaluate(full_params (B, D)) -> (fitness (B,), features (B, F) or None)
EvaluateFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
# on_generation(state) -> None; may raise (e.g. ToolCancelled) to stop the search
GenerationFn = Callable[["SearchState"], None]


class ParamSpace:
    """A full parameter vector of ``dim`` values in [0, 1], some of them fixed."""

    def __init__(self, dim: int, fixed: dict[int, float] | None = None) -> None:
        self.dim = int(dim)
        self.fixed = {int(i): float(v) for i, v in (fixed or {}).items()}
        for i, v in self.fixed.items():
            if not 0 <= i < self.dim:
                raise ValueError(f"fixed index {i} outside 0..{self.dim - 1}")
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"fixed value {v} for index {i} outside [0, 1]")
        self.free = [i for i in range(self.dim) if i not in self.fixed]
        if not self.free:
            raise ValueError("every parameter is fixed; nothing left to search")
        self._free_idx = torch.tensor(self.free, dtype=torch.long)
        self._fixed_idx = torch.tensor(sorted(self.fixed), dtype=torch.long)
        self._fixed_val = torch.tensor([self.fixed[i] for i in sorted(self.fixed)], dtype=torch.float32)

    @property
    def free_dim(self) -> int:
        return len(self.free)

    def expand(self, free: torch.Tensor) -> torch.Tensor:
        """(B, free_dim) -> (B, dim) with the fixed values filled in."""
        out = torch.empty(free.shape[0], self.dim, dtype=torch.float32)
        out[:, self._free_idx] = free.float()
        if self.fixed:
            out[:, self._fixed_idx] = self._fixed_val
        return out

    def reduce(self, full: torch.Tensor) -> torch.Tensor:
        """(dim,) or (B, dim) -> the free part."""
        return full[..., self._free_idx]


@dataclass
class SearchState:
    generation: int
    evaluations: int
    max_evaluations: int | None
    best_fitness: float
    generation_best: float
    generation_mean: float
    seconds: float
    best_params: torch.Tensor


@dataclass
class SearchResult:
    strategy: str
    best_params: torch.Tensor  # (dim,) full vector
    best_fitness: float
    evaluations: int
    generations: int
    seconds: float
    stopped: str  # "evaluations", "seconds", "time_budget" (the deadline), "early_stop"
    # (evaluations so far, best so far, generation best, generation mean, seconds) per generation
    history: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    archive_params: torch.Tensor | None = None  # (N, dim)
    archive_fitness: torch.Tensor | None = None  # (N,)
    archive_features: torch.Tensor | None = None  # (N, F) or None
    eval_seconds: float = 0.0  # time inside evaluate()
    overhead_seconds: float = 0.0  # ask/tell/bookkeeping: the optimiser's own time


def run_search(
    evaluate: EvaluateFn,
    strategy: Strategy,
    space: ParamSpace,
    *,
    max_evaluations: int | None = 2500,
    max_seconds: float | None = None,
    patience: int | None = None,
    min_delta: float = 1e-3,
    archive_per_generation: int = 8,
    on_generation: GenerationFn | None = None,
    deadline: float | None = None,
) -> SearchResult:
    """Run ``strategy`` until a budget is spent or the best score stalls. At least one budget
    (evaluations, seconds or deadline) must be set. A generation is never cut in half: the evaluation
    budget is rounded down to whole generations, and the first generation always runs."""
    if max_evaluations is None and max_seconds is None and deadline is None:
        raise ValueError("set max_evaluations and/or max_seconds and/or deadline")
    if strategy.dim != space.free_dim:
        raise ValueError(f"strategy has {strategy.dim} dimensions, space has {space.free_dim} free")
    t0 = time.perf_counter()
    eval_s = 0.0
    best_f, best_x = -float("inf"), None
    last_improve_gen, last_improve_f = 0, -float("inf")
    hist: list[tuple[int, float, float, float, float]] = []
    arch_x: list[torch.Tensor] = []
    arch_f: list[torch.Tensor] = []
    arch_e: list[torch.Tensor] = []
    evals, gen, stopped = 0, 0, "evaluations"
    pop = strategy.popsize
    gen_s = 0.0  # the last generation's time predicts the next
    while True:
        if max_evaluations is not None and evals + pop > max_evaluations and gen > 0:
            stopped = "evaluations"
            break
        if max_seconds is not None and gen > 0 and time.perf_counter() - t0 >= max_seconds:
            stopped = "seconds"
            break
        if deadline is not None and gen > 0 and time.monotonic() + gen_s > deadline:
            stopped = "time_budget"
            break
        tg = time.monotonic()
        free = strategy.ask()
        full = space.expand(free)
        te = time.perf_counter()
        fitness, feats = evaluate(full)
        eval_s += time.perf_counter() - te
        fitness = torch.nan_to_num(torch.as_tensor(fitness, dtype=torch.float32).reshape(-1), nan=-1.0)
        strategy.tell(free, fitness)
        evals += pop
        gen += 1
        i = int(torch.argmax(fitness))
        if float(fitness[i]) > best_f:
            best_f, best_x = float(fitness[i]), full[i].clone()
        if best_f > last_improve_f + min_delta:
            last_improve_f, last_improve_gen = best_f, gen
        keep = torch.argsort(fitness, descending=True)[: max(1, archive_per_generation)]
        arch_x.append(full[keep])
        arch_f.append(fitness[keep])
        if feats is not None:
            arch_e.append(torch.as_tensor(feats)[keep].detach().float())
        hist.append((evals, best_f, float(fitness[i]), float(fitness.mean()), time.perf_counter() - t0))
        gen_s = time.monotonic() - tg
        if on_generation is not None:
            on_generation(
                SearchState(
                    generation=gen,
                    evaluations=evals,
                    max_evaluations=max_evaluations,
                    best_fitness=best_f,
                    generation_best=float(fitness[i]),
                    generation_mean=float(fitness.mean()),
                    seconds=time.perf_counter() - t0,
                    best_params=best_x,
                )
            )
        if patience is not None and gen - last_improve_gen >= patience:
            stopped = "early_stop"
            break
    total = time.perf_counter() - t0
    assert best_x is not None
    return SearchResult(
        strategy=getattr(strategy, "name", type(strategy).__name__),
        best_params=best_x,
        best_fitness=best_f,
        evaluations=evals,
        generations=gen,
        seconds=total,
        stopped=stopped,
        history=hist,
        archive_params=torch.cat(arch_x),
        archive_fitness=torch.cat(arch_f),
        archive_features=torch.cat(arch_e) if len(arch_e) == len(arch_x) and arch_e else None,
        eval_seconds=eval_s,
        overhead_seconds=max(0.0, total - eval_s),
    )
