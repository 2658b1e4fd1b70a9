"""The Text2FX optimiser over a mixed chain.

Parameters live in [0, 1] (``chain.py`` maps them to physical ranges). ``strength`` bounds how far the
*amount* parameters (gains, mixes, drive, ratio...) may move from the starting settings: each lives in
``[start - strength, start + strength]`` clipped to [0, 1], reached through a sigmoid (Text2FX maps its
parameters through a sigmoid too). Frequencies, Q and times move over their whole range.

- Parameters of effects with a torch twin (eq, highpass, lowpass, distortion, gain) are optimised by
  Adam through the twin, with a random circular shift of the input at every step (Text2FX's
  augmentation). Reverb/delay/chorus/compressor in the same chain are applied by pedalboard inside
  autograd (``twins.apply_chain``).
- Parameters of the other effects are searched by CMA-ES (``cmaes``), every candidate rendered by
  pedalboard. In a mixed chain the two alternate: one CMA-ES generation, then a share of the Adam
  steps with the best settings found so far.
- The result is judged on the pedalboard render of the unshifted input.
- ``deadline`` (a ``time.monotonic()`` value) bounds the wall-clock time: the search stops before a step
  or generation that would overrun it (the time of the last one predicts the next), leaving time to
  judge the final candidates, and returns the best settings so far.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

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


def optimize_chain(
    chain: list[str],
    audio: np.ndarray,
    sample_rate: int,
    embedder,
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
    loss the search minimises (per-parameter weights; 0 leaves a parameter free)."""
    t0 = time.perf_counter()
    slots = chain_slots(chain)
    start = neutral_normalized(chain) if start is None else np.clip(np.asarray(start, dtype=np.float64), 0, 1)
    lo, hi = strength_box(chain, start, float(strength))
    twin = np.array([s.differentiable for s in slots], dtype=bool)
    es = ~twin
    has_twin, has_es = bool(twin.any()), bool(es.any())
    steps = ((DEFAULT_STEPS_MIXED if has_es else DEFAULT_STEPS) if steps is None else int(steps)) if has_twin else 0
    generations = (DEFAULT_GENERATIONS if generations is None else int(generations)) if has_es else 0
    lr = default_lr(steps) if lr is None else float(lr)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)

    x_np = np.asarray(audio, dtype=np.float32).reshape(-1)
    x = torch.from_numpy(x_np.copy())
    N = x.shape[0]
    targets = TextTargets.build(embedder, prompt, anchor, x, sample_rate)
    use_reward = reward_fn is not None and reward_weight != 0.0

    prior_x = None if prior is None else torch.from_numpy(np.clip(np.asarray(prior, dtype=np.float64), 0, 1))
    prior_w = None if prior is None else torch.from_numpy(np.broadcast_to(np.asarray(prior_weight, dtype=np.float64), start.shape).copy())

    def objective(e: torch.Tensor, settings: np.ndarray, grad_settings: torch.Tensor | None = None) -> torch.Tensor:
        """The loss the search minimises: Text2FX loss minus the weighted reward, plus the pull towards
        ``prior`` (through ``grad_settings`` when gradients must reach the settings)."""
        value = fx_loss(e, targets, loss)
        if use_reward:
            value = value - reward_weight * reward_fn(e, np.atleast_2d(settings)).to(value.dtype)
        if prior_x is not None:
            xs = grad_settings if grad_settings is not None else torch.from_numpy(np.atleast_2d(np.asarray(settings, dtype=np.float64)))
            value = value + (prior_w * (xs - prior_x) ** 2).sum(-1).to(value.dtype)
        return value

    def losses_of(batch: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            e = embedder.embed_audio(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)), sample_rate).float()
        return e

    def pb_render(params: np.ndarray, sig: np.ndarray) -> np.ndarray:
        return render(chain, params, sig[None, :], sample_rate).mean(axis=0)

    # --- starting point, judged on the unshifted input; its render and embedding times predict the rest
    stage_s: dict[str, float] = {}
    tj = time.monotonic()
    e0 = losses_of(pb_render(start, x_np)[None])
    judge1_s = time.monotonic() - tj
    stage_s["judge_start"] = judge1_s
    loss_before = float(fx_loss(e0, targets, loss)[0])
    sim_before = float(text_similarity(e0, targets)[0])
    n_final = 7  # final settings, up to 5 snapshots, the start
    search_deadline = None if deadline is None else deadline - n_final * judge1_s
    stopped_early = False

    def out_of_time(next_cost: float) -> bool:
        """True when work expected to take ``next_cost`` seconds would end past the search's deadline."""
        return search_deadline is not None and time.monotonic() + next_cost > search_deadline

    current = start.copy()
    z = torch.tensor(_logit((start - lo) / np.maximum(hi - lo, 1e-9)), dtype=torch.float64)
    z_twin = torch.nn.Parameter(z[torch.from_numpy(twin)].clone()) if has_twin else None
    opt = torch.optim.Adam([z_twin], lr=lr) if has_twin else None
    lo_t, hi_t = torch.from_numpy(lo), torch.from_numpy(hi)
    twin_idx = torch.from_numpy(np.nonzero(twin)[0])

    def twin_values() -> np.ndarray:
        assert z_twin is not None
        with torch.no_grad():
            return (lo_t[twin_idx] + (hi_t[twin_idx] - lo_t[twin_idx]) * torch.sigmoid(z_twin)).numpy()

    history: list[float] = []
    snapshots: list[np.ndarray] = []  # judged on the unshifted input at the end; the best is returned
    snap_every = max(1, steps // 5) if not has_es else 0
    total = steps + generations
    done = 0
    evaluations = 0
    adam_done = 0

    def adam_step() -> None:
        nonlocal adam_done, done
        assert opt is not None and z_twin is not None
        shift = int(rng.integers(N))
        xs = torch.roll(x, shift)[None]
        p = torch.from_numpy(current.copy())
        p = p.index_put((twin_idx,), lo_t[twin_idx] + (hi_t[twin_idx] - lo_t[twin_idx]) * torch.sigmoid(z_twin))
        y = apply_chain(chain, p, xs, sample_rate)
        e = embedder.embed_audio(y.float(), sample_rate).float()
        lval = objective(e, p.detach().numpy(), p[None]).mean()
        opt.zero_grad()
        lval.backward()
        opt.step()
        current[twin] = twin_values()
        history.append(float(lval.detach()))
        adam_done += 1
        done += 1
        if snap_every and adam_done % snap_every == 0:
            snapshots.append(current.copy())
        if on_step:
            on_step(done, total, f"Adam step {adam_done}/{steps}: loss {history[-1]:.4f}")

    step_s = 0.0  # the last Adam step's time, to predict the next

    def timed_adam_step() -> bool:
        """One Adam step unless it would overrun the deadline (then False)."""
        nonlocal step_s, stopped_early
        if check_cancelled:
            check_cancelled()
        if out_of_time(step_s):
            stopped_early = True
            return False
        ts = time.monotonic()
        adam_step()
        step_s = time.monotonic() - ts
        stage_s["adam"] = stage_s.get("adam", 0.0) + step_s
        return True

    gens_done = 0
    if not has_es:
        for _ in range(steps):
            if not timed_adam_step():
                break
    else:
        from cmaes import CMA

        es_idx = np.nonzero(es)[0]
        bounds = np.stack([lo[es_idx], hi[es_idx]], axis=1)
        # the search starts inside its box (a neutral effect sits on the edge, e.g. reverb wet 0); the start
        # itself is still a candidate at the end
        width = bounds[:, 1] - bounds[:, 0]
        mean0 = np.clip(start[es_idx], bounds[:, 0] + 0.25 * width, bounds[:, 1] - 0.25 * width)
        kwargs = {"population_size": population} if population else {}
        cma = CMA(mean=mean0, sigma=float(0.3 * np.median(width)), bounds=bounds, seed=seed, **kwargs)
        best_loss = math.inf
        best = current[es_idx].copy()
        per_gen = [steps // generations + (1 if g < steps % generations else 0) for g in range(generations)] if generations else []
        gen_s = cma.population_size * judge1_s  # predicted time of a generation's renders and embedding
        for g in range(generations):
            if check_cancelled:
                check_cancelled()
            if out_of_time(gen_s):
                stopped_early = True
                break
            tg = time.monotonic()
            shift = int(rng.integers(N))
            xs = np.roll(x_np, shift)
            cands = [cma.ask() for _ in range(cma.population_size)]
            renders = []
            for c in cands:
                p = current.copy()
                p[es_idx] = c
                renders.append(pb_render(p, xs))
                if check_cancelled:
                    check_cancelled()
                if out_of_time(0.0):  # slower than predicted (a busy machine): drop this generation
                    break
            if len(renders) < len(cands):
                stopped_early = True
                break
            e = losses_of(np.stack(renders))
            batch = np.tile(current, (len(cands), 1))
            batch[:, es_idx] = np.asarray(cands)
            lv = objective(e, batch).detach().numpy().astype(float)
            evaluations += len(cands)
            cma.tell(list(zip(cands, lv.tolist())))
            i = int(np.argmin(lv))
            if lv[i] < best_loss:
                best_loss, best = float(lv[i]), cands[i].copy()
            current[es_idx] = best
            history.append(float(lv.mean()))
            done += 1
            gens_done += 1
            gen_s = time.monotonic() - tg
            stage_s["cmaes"] = stage_s.get("cmaes", 0.0) + gen_s
            if on_step:
                on_step(done, total, f"CMA-ES generation {g + 1}/{generations}: best loss {best_loss:.4f}")
            for _ in range(per_gen[g] if has_twin else 0):
                if not timed_adam_step():
                    break
            if g >= generations // 2 or stopped_early:
                snapshots.append(current.copy())
            if stopped_early:
                break

    # the final settings and a few earlier snapshots, judged on the unshifted input (start included:
    # when nothing beats the starting settings they are returned unchanged)
    tj = time.monotonic()
    keep = 5
    if deadline is not None:  # past the deadline, judge fewer snapshots (the final settings and the start always)
        keep = max(0, min(5, int((deadline - tj) / max(judge1_s, 1e-3)) - 2))
    cands = [current.copy()] + (snapshots[-keep:] if keep else []) + [start.copy()]
    e_all = losses_of(np.stack([pb_render(c, x_np) for c in cands]))
    l_all = objective(e_all, np.stack(cands)).detach().numpy()
    stage_s["judge_final"] = time.monotonic() - tj
    best_i = int(np.argmin(l_all))
    current = cands[best_i]
    e1 = e_all[best_i : best_i + 1]
    return FxResult(
        normalized=current,
        start=start,
        loss_before=loss_before,
        loss_after=float(fx_loss(e1, targets, loss)[0]),
        text_similarity_before=sim_before,
        text_similarity_after=float(text_similarity(e1, targets)[0]),
        directional_after=float(directional_similarity(e1, targets)[0]),
        adam_steps=adam_done,
        es_evaluations=evaluations,
        generations=generations,
        seconds=time.perf_counter() - t0,
        history=history,
        kept_start=best_i == len(cands) - 1,
        stopped_early=stopped_early,
        generations_done=gens_done,
        stage_seconds=stage_s,
    )


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


def judge(chain: list[str], candidates: list[np.ndarray], audio: np.ndarray, sample_rate: int, embedder, prompt: str, *,
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
