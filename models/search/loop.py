"""The search loop: ask a strategy, evaluate the whole population as one batch, tell, repeat.

Budgets: evaluations and/or wall-clock seconds and/or a deadline (a ``time.monotonic()`` value the
search must end by). For both time budgets no generation starts that the last one's time says would
overrun it (the first one's time being ``expected_generation_s``): checking only after the fact ran
half a generation over on average (a second or more for the synth search). Early stopping when the
best score has not improved by ``min_delta`` for ``patience`` generations; a per-generation callback (progress, cancellation, work
between generations). ``evaluate`` or the callback may raise ``StopSearch`` to end the search at once
(a generation cut short by it is dropped). ``minimize=True`` searches for the lowest value (a loss);
scores and history are then reported as the loss. Fixed parameters (``keep``) are handled by ``ParamSpace``: the strategy searches
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


class StopSearch(Exception):
    """Raised by ``evaluate`` or ``on_generation`` to end the search now (``reason`` becomes ``stopped``)."""

    def __init__(self, reason: str = "time_budget") -> None:
        super().__init__(reason)
        self.reason = reason


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
        """(B, free_dim) -> (B, dim) with the fixed values filled in (float64 stays float64, else float32)."""
        dtype = torch.float64 if free.dtype == torch.float64 else torch.float32
        out = torch.empty(free.shape[0], self.dim, dtype=dtype)
        out[:, self._free_idx] = free.to(dtype)
        if self.fixed:
            out[:, self._fixed_idx] = self._fixed_val.to(dtype)
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
    generation_seconds: float = 0.0  # this generation's ask, evaluation and tell


@dataclass
class SearchResult:
    strategy: str
    best_params: torch.Tensor  # (dim,) full vector
    best_fitness: float
    evaluations: int
    generations: int
    seconds: float
    stopped: str  # "evaluations", "seconds", "time_budget" (the deadline), "early_stop", or a StopSearch reason
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
    minimize: bool = False,
    min_generations: int = 1,
    expected_generation_s: float = 0.0,
) -> SearchResult:
    """Run ``strategy`` until a budget is spent or the best score stalls. At least one budget
    (evaluations, seconds or deadline) must be set. A generation is never cut in half: the evaluation
    budget is rounded down to whole generations, and the first ``min_generations`` always run (with 0,
    a deadline too close for ``expected_generation_s`` runs none: the result then holds the strategy's
    mean, unscored).

    Fitness is compared in float32 (as the synth searches always were); a minimised loss keeps float64
    when ``evaluate`` returns it (losses over a few effect settings differ below float32's resolution)."""
    if max_evaluations is None and max_seconds is None and deadline is None:
        raise ValueError("set max_evaluations and/or max_seconds and/or deadline")
    if strategy.dim != space.free_dim:
        raise ValueError(f"strategy has {strategy.dim} dimensions, space has {space.free_dim} free")
    sign = -1.0 if minimize else 1.0  # the loop maximises sign * value
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
    gen_s = float(expected_generation_s)  # the last generation's time predicts the next
    while True:
        may_stop = gen >= min_generations
        if max_evaluations is not None and evals + pop > max_evaluations and may_stop:
            stopped = "evaluations"
            break
        if max_seconds is not None and may_stop and time.perf_counter() - t0 + gen_s > max_seconds:
            stopped = "seconds"
            break
        if deadline is not None and may_stop and time.monotonic() + gen_s > deadline:
            stopped = "time_budget"
            break
        tg = time.monotonic()
        free = strategy.ask()
        full = space.expand(free)
        te = time.perf_counter()
        try:
            value, feats = evaluate(full)
        except StopSearch as stop:
            stopped = stop.reason
            break
        finally:
            eval_s += time.perf_counter() - te
        value = torch.as_tensor(value).reshape(-1)
        value = value if minimize and value.dtype == torch.float64 else value.float()
        fitness = torch.nan_to_num(sign * value if minimize else value, nan=-1e9 if minimize else -1.0)
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
        arch_f.append(sign * fitness[keep])
        if feats is not None:
            arch_e.append(torch.as_tensor(feats)[keep].detach().float())
        hist.append((evals, sign * best_f, sign * float(fitness[i]), sign * float(fitness.mean()), time.perf_counter() - t0))
        gen_s = time.monotonic() - tg
        if on_generation is not None:
            state = SearchState(
                generation=gen,
                evaluations=evals,
                max_evaluations=max_evaluations,
                best_fitness=sign * best_f,
                generation_best=sign * float(fitness[i]),
                generation_mean=sign * float(fitness.mean()),
                seconds=time.perf_counter() - t0,
                best_params=best_x,
                generation_seconds=gen_s,
            )
            try:
                on_generation(state)
            except StopSearch as stop:
                stopped = stop.reason
                break
        if patience is not None and gen - last_improve_gen >= patience:
            stopped = "early_stop"
            break
    total = time.perf_counter() - t0
    if best_x is None:  # no generation ran
        best_x = space.expand(strategy.mean[None])[0]
    return SearchResult(
        strategy=getattr(strategy, "name", type(strategy).__name__),
        best_params=best_x,
        best_fitness=sign * best_f,
        evaluations=evals,
        generations=gen,
        seconds=total,
        stopped=stopped,
        history=hist,
        archive_params=torch.cat(arch_x) if arch_x else None,
        archive_fitness=torch.cat(arch_f) if arch_f else None,
        archive_features=torch.cat(arch_e) if len(arch_e) == len(arch_x) and arch_e else None,
        eval_seconds=eval_s,
        overhead_seconds=max(0.0, total - eval_s),
    )
