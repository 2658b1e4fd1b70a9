"""The Text2FX optimiser over a mixed chain.

Parameters live in [0, 1] (``chain.py`` maps them to physical ranges). ``strength`` bounds how far the
*amount* parameters (gains, mixes, drive, ratio...) may move from the starting settings: each lives in
``[start - strength, start + strength]`` clipped to [0, 1], reached through a sigmoid (Text2FX maps its
parameters through a sigmoid too). Frequencies, Q and times move over their whole range.

- Parameters of effects with a torch twin (eq, highpass, lowpass, distortion, gain) are optimised by
  Adam through the twin, with a random circular shift of the input at every step (Text2FX's
  augmentation). Reverb/delay/chorus/compressor in the same chain are applied by pedalboard inside
  autograd (``twins.apply_chain``).
- Parameters of the other effects are searched by CMA-ES (``models.search``'s loop and its ``CMAES``
  on the strength box, minimising), every candidate rendered by pedalboard. In a mixed chain the two alternate: one CMA-ES generation, then a share of the Adam
  steps with the best settings found so far.
- The result is judged on the pedalboard render of the unshifted input.
- ``deadline`` (a ``time.monotonic()`` value) bounds the wall-clock time: the search stops before a step
  or generation that would overrun it (the time of the last one predicts the next), leaving time to
  judge the final candidates, and returns the best settings so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..embedders.base import Embedder
from ..search.es import CMAES
from ..search.loop import ParamSpace, SearchState, StopSearch, run_search
from .chain import chain_slots, neutral_normalized
from .losses import TextTargets, directional_similarity, fx_loss, text_similarity
from .render import render
from .twins import apply_chain

StepFn = Callable[[int, int, str], None]

# Defaults set from the budget sweep in docs/benchmarks.md (benchmarks/optimize_fx.py): the smallest budgets
# whose loss improvement reached >= 90 % of 600 Text2FX iterations with the lstmabar embedder, with margin.
DEFAULT_STEPS = 200  # Adam steps (twin parameters) when every effect has a twin
DEFAULT_STEPS_MIXED = 100  # Adam steps in a chain that also has pedalboard-only effects
DEFAULT_GENERATIONS = 12  # CMA-ES generations (pedalboard-only parameters)
TEXT2FX_LR = 1e-2
TEXT2FX_STEPS = 600


def default_lr(steps: int) -> float:
    """Text2FX uses lr 1e-2 for 600 steps; shorter budgets scale it up so the same distance can be
    covered (lr * steps = 6), capped at 0.1."""
    return float(min(0.1, max(TEXT2FX_LR, TEXT2FX_LR * TEXT2FX_STEPS / max(steps, 1))))


@dataclass
class FxResult:
    normalized: np.ndarray
    start: np.ndarray
    loss_before: float
    loss_after: float
    text_similarity_before: float
    text_similarity_after: float
    directional_after: float
    adam_steps: int
    es_evaluations: int
    generations: int
    seconds: float
    history: list[float] = field(default_factory=list)
    kept_start: bool = False  # no setting found beat the starting settings
    stopped_early: bool = False  # the deadline ended the search before its step/generation budget
    generations_done: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # judge_start, adam, cmaes, judge_final


def strength_box(chain: list[str], start: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.zeros_like(start), np.ones_like(start)
    for i, s in enumerate(chain_slots(chain)):
        if s.is_amount:
            lo[i] = max(0.0, start[i] - strength)
            hi[i] = min(1.0, start[i] + strength)
            if hi[i] - lo[i] < 1e-6:
                lo[i], hi[i] = max(0.0, start[i] - 1e-3), min(1.0, start[i] + 1e-3)
    return lo, hi


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


@dataclass
class _Problem:
    """What every stage shares: the chain, the audio, the loss the search minimises, the deadline and the
    progress so far (``current`` holds the best settings found; each stage updates it)."""

    chain: list[str]
    sample_rate: int
    embedder: Embedder
    x_np: np.ndarray  # mono input (N,)
    targets: TextTargets
    loss: str
    start: np.ndarray
    lo: np.ndarray  # the strength box
    hi: np.ndarray
    twin: np.ndarray  # bool: parameters with a torch twin (Adam); the rest are searched by CMA-ES
    steps: int
    generations: int
    rng: np.random.Generator
    reward_fn: Callable[[torch.Tensor, np.ndarray], torch.Tensor] | None
    reward_weight: float
    prior_x: torch.Tensor | None
    prior_w: torch.Tensor | None
    on_step: StepFn | None
    check_cancelled: Callable[[], None] | None
    current: np.ndarray = field(init=False)
    x: torch.Tensor = field(init=False)
    history: list[float] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)  # judged on the unshifted input at the end
    stage_s: dict[str, float] = field(default_factory=dict)
    done: int = 0  # Adam steps + CMA-ES generations so far, for progress
    search_deadline: float | None = None
    stopped_early: bool = False

    def __post_init__(self) -> None:
        self.current = self.start.copy()
        self.x = torch.from_numpy(self.x_np.copy())

    @property
    def total(self) -> int:
        return self.steps + self.generations

    def objective(self, e: torch.Tensor, settings: np.ndarray, grad_settings: torch.Tensor | None = None) -> torch.Tensor:
        """The loss the search minimises: Text2FX loss minus the weighted reward, plus the pull towards
        ``prior`` (through ``grad_settings`` when gradients must reach the settings)."""
        value = fx_loss(e, self.targets, self.loss)
        if self.reward_fn is not None and self.reward_weight != 0.0:
            value = value - self.reward_weight * self.reward_fn(e, np.atleast_2d(settings)).to(value.dtype)
        if self.prior_x is not None:
            xs = grad_settings if grad_settings is not None else torch.from_numpy(np.atleast_2d(np.asarray(settings, dtype=np.float64)))
            value = value + (self.prior_w * (xs - self.prior_x) ** 2).sum(-1).to(value.dtype)
        return value

    def embed(self, batch: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.embedder.embed_audio(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)), self.sample_rate).float()

    def render(self, params: np.ndarray, sig: np.ndarray) -> np.ndarray:
        return render(self.chain, params, sig[None, :], self.sample_rate).mean(axis=0)

    def out_of_time(self, next_cost: float) -> bool:
        """True when work expected to take ``next_cost`` seconds would end past the search's deadline."""
        return self.search_deadline is not None and time.monotonic() + next_cost > self.search_deadline

    def progress(self, message: str) -> None:
        self.done += 1
        if self.on_step:
            self.on_step(self.done, self.total, message)

    def add_time(self, stage: str, seconds: float) -> None:
        self.stage_s[stage] = self.stage_s.get(stage, 0.0) + seconds


class _AdamStage:
    """Adam on the twin parameters through ``twins.apply_chain``, each in its strength box through a
    sigmoid, on a randomly shifted input every step (Text2FX's augmentation)."""

    def __init__(self, pb: _Problem, lr: float, snap_every: int) -> None:
        self.pb = pb
        z = torch.tensor(_logit((pb.start - pb.lo) / np.maximum(pb.hi - pb.lo, 1e-9)), dtype=torch.float64)
        self.z = torch.nn.Parameter(z[torch.from_numpy(pb.twin)].clone())
        self.opt = torch.optim.Adam([self.z], lr=lr)
        self.idx = torch.from_numpy(np.nonzero(pb.twin)[0])
        self.lo = torch.from_numpy(pb.lo)[self.idx]
        self.hi = torch.from_numpy(pb.hi)[self.idx]
        self.snap_every = snap_every
        self.done = 0
        self.step_s = 0.0  # the last step's time, to predict the next

    def _values(self) -> torch.Tensor:
        return self.lo + (self.hi - self.lo) * torch.sigmoid(self.z)

    def step(self) -> None:
        pb = self.pb
        xs = torch.roll(pb.x, int(pb.rng.integers(pb.x.shape[0])))[None]
        p = torch.from_numpy(pb.current.copy()).index_put((self.idx,), self._values())
        y = apply_chain(pb.chain, p, xs, pb.sample_rate)
        e = pb.embedder.embed_audio(y.float(), pb.sample_rate).float()
        lval = pb.objective(e, p.detach().numpy(), p[None]).mean()
        self.opt.zero_grad()
        lval.backward()
        self.opt.step()
        with torch.no_grad():
            pb.current[pb.twin] = self._values().numpy()
        pb.history.append(float(lval.detach()))
        self.done += 1
        if self.snap_every and self.done % self.snap_every == 0:
            pb.snapshots.append(pb.current.copy())
        pb.progress(f"Adam step {self.done}/{pb.steps}: loss {pb.history[-1]:.4f}")

    def run(self, n: int) -> bool:
        """Up to ``n`` steps; False when the deadline stopped them."""
        for _ in range(n):
            if self.pb.check_cancelled:
                self.pb.check_cancelled()
            if self.pb.out_of_time(self.step_s):
                self.pb.stopped_early = True
                return False
            ts = time.monotonic()
            self.step()
            self.step_s = time.monotonic() - ts
            self.pb.add_time("adam", self.step_s)
        return True


def _cmaes_stage(pb: _Problem, adam: _AdamStage | None, population: int | None, seed: int, judge_s: float) -> tuple[int, int]:
    """CMA-ES (``models.search``) over the parameters without a twin, every candidate rendered by
    pedalboard on a shifted input; after each generation the best settings so far are kept and the
    generation's share of the Adam steps runs. Returns (evaluations, generations done)."""
    es_idx = np.nonzero(~pb.twin)[0]
    lo, hi = pb.lo[es_idx], pb.hi[es_idx]
    # the search starts inside its box (a neutral effect sits on the edge, e.g. reverb wet 0); the start
    # itself is still a candidate at the end
    width = hi - lo
    mean0 = np.clip(pb.start[es_idx], lo + 0.25 * width, hi - 0.25 * width)
    strategy = CMAES(len(es_idx), population or None, center=mean0, sigma=float(0.3 * np.median(width)), seed=seed,
                     bounds=(lo, hi), dtype=torch.float64, max_resampling=100)
    g_total = pb.generations
    adam_share = [pb.steps // g_total + (1 if g < pb.steps % g_total else 0) for g in range(g_total)] if adam is not None else [0] * g_total
    losses: list[np.ndarray] = []  # the last generation's losses

    def evaluate(cands: torch.Tensor) -> tuple[torch.Tensor, None]:
        if pb.check_cancelled:
            pb.check_cancelled()
        xs = np.roll(pb.x_np, int(pb.rng.integers(pb.x_np.shape[0])))
        c = cands.numpy()
        renders = []
        for ci in c:
            p = pb.current.copy()
            p[es_idx] = ci
            renders.append(pb.render(p, xs))
            if pb.check_cancelled:
                pb.check_cancelled()
            if pb.out_of_time(0.0):  # slower than predicted (a busy machine): drop this generation
                raise StopSearch("time_budget")
        batch = np.tile(pb.current, (len(c), 1))
        batch[:, es_idx] = c
        lv = pb.objective(pb.embed(np.stack(renders)), batch).detach().numpy().astype(float)
        losses[:] = [lv]
        return torch.from_numpy(lv), None

    def after_generation(state: SearchState) -> None:
        g = state.generation - 1
        pb.current[es_idx] = state.best_params.numpy()
        pb.history.append(float(losses[0].mean()))
        pb.add_time("cmaes", state.generation_seconds)
        pb.progress(f"CMA-ES generation {state.generation}/{g_total}: best loss {state.best_fitness:.4f}")
        if adam is not None:
            adam.run(adam_share[g])
        if g >= g_total // 2 or pb.stopped_early:
            pb.snapshots.append(pb.current.copy())
        if pb.stopped_early:
            raise StopSearch("time_budget")

    res = run_search(evaluate, strategy, ParamSpace(len(es_idx)), max_evaluations=g_total * strategy.popsize, minimize=True,
                     min_generations=0, expected_generation_s=strategy.popsize * judge_s, deadline=pb.search_deadline,
                     on_generation=after_generation, archive_per_generation=1)
    if res.stopped == "time_budget":
        pb.stopped_early = True
    return res.evaluations, res.generations


def optimize_chain(
    chain: list[str],
    audio: np.ndarray,
    sample_rate: int,
    embedder: Embedder,
    prompt: str,
    *,
    anchor: str | None = None,
    loss: str = "both",
    strength: float = 0.5,
    start: np.ndarray | None = None,
    steps: int | None = None,
    generations: int | None = None,
    population: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    on_step: StepFn | None = None,
    check_cancelled: Callable[[], None] | None = None,
    reward_fn: Callable[[torch.Tensor, np.ndarray], torch.Tensor] | None = None,
    reward_weight: float = 0.0,
    deadline: float | None = None,
    prior: np.ndarray | None = None,
    prior_weight: np.ndarray | float = 0.0,
) -> FxResult:
    """Optimise ``chain`` on mono ``audio`` (already excerpted and padded) for ``prompt``.

    ``reward_fn(audio_embeddings (B, D), normalised settings (B, n)) -> (B,)`` (a reward model learnt
    from ratings), when given, is subtracted from the loss with ``reward_weight``; the reported
    losses stay the Text2FX losses.

    ``deadline`` (``time.monotonic()``): stop searching in time to finish by then (see the module notes).

    ``prior`` (normalised settings, e.g. the crowd's) adds ``sum(prior_weight * (x - prior) ** 2)`` to the
    loss the search minimises (per-parameter weights; 0 leaves a parameter free).

    Stages: the problem (strength box, budgets, targets), the starting settings judged, then Adam alone
    (every effect has a twin) or CMA-ES with the Adam steps between its generations, then the final
    settings and a few snapshots judged against the start."""
    t0 = time.perf_counter()
    start = neutral_normalized(chain) if start is None else np.clip(np.asarray(start, dtype=np.float64), 0, 1)
    lo, hi = strength_box(chain, start, float(strength))
    twin = np.array([s.differentiable for s in chain_slots(chain)], dtype=bool)
    has_twin, has_es = bool(twin.any()), bool((~twin).any())
    steps = ((DEFAULT_STEPS_MIXED if has_es else DEFAULT_STEPS) if steps is None else int(steps)) if has_twin else 0
    generations = (DEFAULT_GENERATIONS if generations is None else int(generations)) if has_es else 0
    lr = default_lr(steps) if lr is None else float(lr)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    x_np = np.asarray(audio, dtype=np.float32).reshape(-1)
    pb = _Problem(
        chain, sample_rate, embedder, x_np, TextTargets.build(embedder, prompt, anchor, torch.from_numpy(x_np.copy()), sample_rate), loss,
        start, lo, hi, twin, steps, generations, rng, reward_fn, float(reward_weight),
        None if prior is None else torch.from_numpy(np.clip(np.asarray(prior, dtype=np.float64), 0, 1)),
        None if prior is None else torch.from_numpy(np.broadcast_to(np.asarray(prior_weight, dtype=np.float64), start.shape).copy()),
        on_step, check_cancelled,
    )

    # the starting point, judged on the unshifted input; its render and embedding times predict the rest
    tj = time.monotonic()
    e0 = pb.embed(pb.render(start, x_np)[None])
    judge_s = time.monotonic() - tj
    pb.stage_s["judge_start"] = judge_s
    n_final = 7  # final settings, up to 5 snapshots, the start
    pb.search_deadline = None if deadline is None else deadline - n_final * judge_s

    adam = _AdamStage(pb, lr, snap_every=0 if has_es else max(1, steps // 5)) if has_twin else None
    evaluations = gens_done = 0
    if not has_es:
        if adam is not None:
            adam.run(steps)
    elif generations > 0:
        evaluations, gens_done = _cmaes_stage(pb, adam, population, seed, judge_s)

    best, e1, kept_start = _judge_final(pb, deadline, judge_s)
    return FxResult(
        normalized=best,
        start=start,
        loss_before=float(fx_loss(e0, pb.targets, loss)[0]),
        loss_after=float(fx_loss(e1, pb.targets, loss)[0]),
        text_similarity_before=float(text_similarity(e0, pb.targets)[0]),
        text_similarity_after=float(text_similarity(e1, pb.targets)[0]),
        directional_after=float(directional_similarity(e1, pb.targets)[0]),
        adam_steps=adam.done if adam is not None else 0,
        es_evaluations=evaluations,
        generations=generations,
        seconds=time.perf_counter() - t0,
        history=pb.history,
        kept_start=kept_start,
        stopped_early=pb.stopped_early,
        generations_done=gens_done,
        stage_seconds=pb.stage_s,
    )


def _judge_final(pb: _Problem, deadline: float | None, judge_s: float) -> tuple[np.ndarray, torch.Tensor, bool]:
    """The final settings and a few earlier snapshots, judged on the unshifted input (start included:
    when nothing beats the starting settings they are returned unchanged). Returns (best settings,
    their embedding (1, D), whether the start won)."""
    tj = time.monotonic()
    keep = 5
    if deadline is not None:  # past the deadline, judge fewer snapshots (the final settings and the start always)
        keep = max(0, min(5, int((deadline - tj) / max(judge_s, 1e-3)) - 2))
    cands = [pb.current.copy()] + (pb.snapshots[-keep:] if keep else []) + [pb.start.copy()]
    e_all = pb.embed(np.stack([pb.render(c, pb.x_np) for c in cands]))
    l_all = pb.objective(e_all, np.stack(cands)).detach().numpy()
    pb.stage_s["judge_final"] = time.monotonic() - tj
    i = int(np.argmin(l_all))
    return cands[i], e_all[i : i + 1], i == len(cands) - 1


def loudest_excerpt(mono: np.ndarray, sample_rate: int, seconds: float) -> tuple[int, int]:
    """(start, end) frames of the loudest ``seconds`` window (hop 50 ms)."""
    n = mono.shape[-1]
    w = int(seconds * sample_rate)
    if n <= w:
        return 0, n
    hop = max(1, int(0.05 * sample_rate))
    energy = np.concatenate([[0.0], np.cumsum(mono.astype(np.float64) ** 2)])
    starts = np.arange(0, n - w + 1, hop)
    e = energy[starts + w] - energy[starts]
    s = int(starts[int(np.argmax(e))])
    return s, s + w


def judge(chain: list[str], candidates: list[np.ndarray], audio: np.ndarray, sample_rate: int, embedder: Embedder, prompt: str, *,
          anchor: str | None = None, loss: str = "both") -> list[tuple[float, float, float]]:
    """Text2FX's scores of settings without searching: per candidate (loss, similarity to the prompt,
    directional similarity), each rendered by pedalboard on mono ``audio``."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    targets = TextTargets.build(embedder, prompt, anchor, torch.from_numpy(x.copy()), sample_rate)
    batch = np.stack([render(chain, c, x[None, :], sample_rate).mean(axis=0) for c in candidates])
    with torch.no_grad():
        e = embedder.embed_audio(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)), sample_rate).float()
    lv, ts, ds = fx_loss(e, targets, loss), text_similarity(e, targets), directional_similarity(e, targets)
    return [(float(lv[i]), float(ts[i]), float(ds[i])) for i in range(len(candidates))]
