"""Matching a sound on the subtractive synth (``subtractive.py``): analysis, a start bank, CMA-ES, gradients.

The first guess is measured from the target; a trained network's guess (``train.py --synth subtractive``,
``matcher.load_sub_network``), when its weights are there, joins the start bank beside it at the same note:

1. **Analysis**: the loudness contour gives the attack (time to the peak), the decay (the slope of
   the level after the peak, as a time constant), the sustain level and the note length; the
   spectral centroid gives the filter cutoff; spectral flatness the noise level. The note is the
   CREPE pitch (held fixed afterwards); when that reading is uncertain (``notes.note_candidates``:
   low confidence, a spectrum that disagrees, or no CREPE pitch on a pitched sound) a few starts at
   each candidate note are rendered first and the note whose best start has the lowest loss (the
   primary reading unless another is 10 % lower) is kept.
2. **Start bank**: the analysed guess, the network's guess (its note replaced by the chosen one: the
   network never sets the pitch) and random patches at that note (half of them with the analysed
   envelope) are rendered as one batch, and the best by the match loss starts the search.
3. **CMA-ES** on the match loss (multi-resolution STFT + loudness envelope, ``metrics.match_loss_torch``)
   for about a third of the time.
4. **Gradient refinement**: the synth is differentiable, so Adam on the same loss continues from the
   CMA-ES result and from the next-best bank starts (one batch) for the rest of the time. The lowest
   loss seen at any stage is kept. (On a synthetic target CMA-ES stalled at 0.57 after 3 generations
   while 23 Adam steps reached 0.28, hence the larger share for the gradient.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .features import FEATURE_SR
from .metrics import match_loss_torch
from .notes import NoteCandidate
from .refine import SearchResult, cma_refine
from .subtractive import SUB_INDEX, SUB_PARAMS, SubtractiveSynth, sample_sub

NOTE = SUB_INDEX["note.midi"]


@dataclass
class SubMatch:
    params: torch.Tensor  # (P,) normalised
    cma: SearchResult | None
    grad_loss: float | None  # the loss after the gradient stage (None if it did not run)
    grad_steps: int
    winner: str  # 'analysis', 'network', 'bank', 'cma' or 'gradient'
    bank_loss: float
    analysis_loss: float
    renders: int = 0  # patches rendered in all (bank, CMA-ES candidates, one per row per gradient step)
    note_source: str = "crepe"  # the candidate note kept ('crepe', 'crepe-19', 'spectrum', 'none', ...)
    note_midi: float | None = None  # its MIDI note (None: the note-less guess, played at 60)
    network_loss: float | None = None  # the network's start in the bank (None: no network, or not rendered)
    start_winner: str = "analysis"  # the bank's best, which the search started from: 'analysis', 'network' or 'bank'


def _norm(name: str, value: float) -> float:
    return float(SUB_PARAMS[SUB_INDEX[name]].to_normalized(float(value)))


def analyse(audio16k: np.ndarray, midi: float | None) -> torch.Tensor:
    """A first guess of the subtractive patch measured from the target (16 kHz mono)."""
    x = np.asarray(audio16k, dtype=np.float64)
    hop = 256
    if len(x) < 2 * hop:
        x = np.pad(x, (0, 2 * hop - len(x)))
    n = len(x) // hop
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-12
    db = 20 * np.log10(rms / rms.max())
    t = np.arange(n) * hop / FEATURE_SR
    # the end of the attack: the first frame within 1 dB of the loudest (not the argmax, which on a
    # plateau can sit anywhere, even just before the release)
    peak = int(np.argmax(db >= -1.0))
    attack = max(0.002, float(t[peak]) + 0.004)
    sounding = np.nonzero(db > -45.0)[0]
    last = int(sounding[-1]) if len(sounding) else peak
    after = slice(peak, max(peak + 2, last + 1))
    ta, da = t[after], db[after]
    slope = float(np.polyfit(ta, da, 1)[0]) if len(ta) >= 3 else 0.0  # dB per second
    late = db[min(len(db) - 1, peak + int(0.5 * max(1, last - peak)))]
    phys: dict[str, float] = {"amp.attack": min(attack, 1.0)}
    if late > -6.0:  # held: sustain at the held level until it falls 6 dB under it, then a release
        off = peak + int(np.nonzero(db[peak:] > late - 6.0)[0][-1])
        rel_db = db[off:last + 1]
        rate = (rel_db[0] - rel_db[-1]) / max(t[last] - t[off], 0.016) if len(rel_db) > 1 else 100.0
        phys.update({"amp.sustain": float(10 ** (late / 20)), "amp.decay": 0.3, "note.duration": float(np.clip(t[off], 0.05, 2.0)),
                     "amp.release": float(np.clip(8.686 / max(rate, 1e-3), 0.01, 3.0))})
    else:  # decaying: an exponential decay (8.69 dB per time constant) to silence
        tau = 8.686 / max(-slope, 1e-3)
        phys.update({"amp.sustain": 0.0, "amp.decay": float(np.clip(tau, 0.02, 8.0)), "note.duration": 2.0, "amp.release": 0.3})
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) + 1e-12
    freqs = np.fft.rfftfreq(len(x), 1 / FEATURE_SR)
    centroid = float(np.sum(freqs * spec) / np.sum(spec))
    flatness = float(np.exp(np.mean(np.log(spec))) / np.mean(spec))
    m = 60.0 if midi is None else float(midi)
    phys.update({
        "note.midi": m,
        "osc.saw": 1.0, "osc.square": 0.2, "osc.triangle": 0.2, "osc.sine": 0.3,
        "noise.level": 1.0 if midi is None else float(np.clip(3 * flatness, 0.0, 1.0)),
        "noise.decay": 0.05 if midi is not None else 2.0,
        "filter.keytrack": 0.0, "filter.cutoff": float(np.clip(1.5 * centroid, 60.0, 15_000.0)),
        "filter.resonance": 0.9, "filter.env_amount": 0.0, "filter.decay": 0.3, "filter.sustain": 1.0,
        "vibrato.rate": 5.0, "vibrato.depth": 0.0,
        "body.freq_1": 300.0, "body.gain_1": 0.0, "body.freq_2": 2500.0, "body.gain_2": 0.0, "body.q": 1.5,
    })
    out = torch.full((len(SUB_PARAMS),), 0.5)
    for k, v in phys.items():
        out[SUB_INDEX[k]] = _norm(k, v)
    return out


def start_bank(guess: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """n random patches at the guessed note; the first half keep the analysed envelope and length."""
    bank = sample_sub(n, g)
    bank[:, NOTE] = guess[NOTE]
    keep = [SUB_INDEX[k] for k in ("amp.attack", "amp.decay", "amp.sustain", "amp.release", "note.duration")]
    bank[: n // 2, keep] = guess[keep]
    bank[:, SUB_INDEX["vibrato.depth"]] *= 0.5  # most real notes have little vibrato
    return bank


def choose_note(synth: SubtractiveSynth, target16k: np.ndarray, candidates: Sequence[NoteCandidate], *, per_note: int = 8,
                seed: int = 0) -> tuple[NoteCandidate, torch.Tensor, torch.Tensor]:
    """Render the analysed guess and ``per_note - 1`` random starts at each candidate note; keep the note whose
    best start has the lowest loss times the candidate's prior. Returns (that candidate, its starts, their losses)."""
    target = torch.from_numpy(np.asarray(target16k, dtype=np.float32))
    g = torch.Generator().manual_seed(seed + 7919)  # its own stream: the main bank stays as without candidates
    best: tuple[float, int, torch.Tensor, torch.Tensor] | None = None
    for i, cand in enumerate(candidates):
        guess = analyse(target16k, cand.midi)
        starts = torch.cat([guess[None], start_bank(guess, per_note - 1, g)])
        with torch.no_grad():
            losses = match_loss_torch(target, synth.render(starts, seed))
        losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, 1e9))
        score = float(losses.min()) * cand.prior
        if best is None or score < best[0]:
            best = (score, i, starts, losses)
    assert best is not None, "no candidate notes"
    return candidates[best[1]], best[2], best[3]


def gradient_refine(synth: SubtractiveSynth, target: torch.Tensor, starts: torch.Tensor, *, budget_s: float, seed: int = 0,
                    lr: float = 0.03, fixed: tuple[int, ...] = (NOTE,), max_steps: int = 500) -> tuple[torch.Tensor, float, int]:
    """Adam on the match loss from each row of ``starts`` (B, P) at once (the fixed entries held); returns
    (best params seen, its loss, steps). Each row's loss depends on its own parameters only, so one
    backward pass of the summed loss gives every row its own gradient."""
    t0 = time.monotonic()
    x = starts.detach().clone().float().reshape(-1, starts.shape[-1]).requires_grad_(True)
    mask = torch.ones_like(x)
    mask[:, list(fixed)] = 0.0
    # Adam by hand: constructing torch.optim.Adam the first time imports torch._dynamo (over a second here)
    m1, m2, b1, b2 = torch.zeros_like(x), torch.zeros_like(x), 0.9, 0.999
    best, best_loss, steps, step_time = x[0].detach().clone(), math.inf, 0, 0.0
    while steps < max_steps and time.monotonic() - t0 + step_time <= budget_s:
        s0 = time.monotonic()
        x.grad = None
        losses = match_loss_torch(target, synth.render(x, seed))
        lv = losses.detach()
        k = int(torch.argmin(torch.where(torch.isfinite(lv), lv, torch.full_like(lv, math.inf))))
        if float(lv[k]) < best_loss:
            best_loss, best = float(lv[k]), x[k].detach().clone().clamp(0, 1)
        losses = torch.where(torch.isfinite(losses), losses, torch.zeros_like(losses))
        losses.sum().backward()
        if x.grad is None:
            break
        steps += 1
        with torch.no_grad():
            grad = x.grad.nan_to_num(0.0, 0.0, 0.0) * mask
            m1.mul_(b1).add_(grad, alpha=1 - b1)
            m2.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            x.sub_(lr * (m1 / (1 - b1**steps)) / ((m2 / (1 - b2**steps)).sqrt() + 1e-8))
            x.clamp_(0.0, 1.0)
        step_time = time.monotonic() - s0
    return best, best_loss, steps


def match_subtractive(
    synth: SubtractiveSynth,
    target16k: np.ndarray,
    midi: float | None,
    *,
    budget_s: float,
    seed: int = 0,
    population: int = 16,
    bank_size: int = 48,
    bank_share: float = 0.25,
    grad_share: float = 0.65,
    grad_starts: int = 3,
    use_gradient: bool = True,
    on_generation: Callable[[int, float, float], None] | None = None,
    candidates: Sequence[NoteCandidate] = (),
    network_guess: torch.Tensor | None = None,
) -> SubMatch:
    """``candidates`` (from ``notes.note_candidates``): when given, ``midi`` is ignored and the note is the
    only candidate's, or chosen among several first (``choose_note``). ``network_guess`` (P,) normalised:
    a trained network's prediction; it joins the bank at the chosen note (its own note is discarded)."""
    t0 = time.monotonic()
    target = torch.from_numpy(np.asarray(target16k, dtype=np.float32))

    def render(x: torch.Tensor, s: int) -> torch.Tensor:
        with torch.no_grad():
            return synth.render(x, s)

    note_source = "crepe" if midi is not None else "none"
    tried, tried_losses = torch.zeros(0, len(SUB_PARAMS)), torch.zeros(0)
    if len(candidates) > 1:
        cand, tried, tried_losses = choose_note(synth, target16k, candidates, seed=seed)
        midi, note_source = cand.midi, cand.name
    elif candidates:
        midi, note_source = candidates[0].midi, candidates[0].name
    guess = analyse(target16k, midi)
    g = torch.Generator().manual_seed(seed)
    firsts = [guess[None]]
    if network_guess is not None:
        net = network_guess.detach().float().reshape(-1).clone().clamp(0.0, 1.0)
        net[NOTE] = guess[NOTE]
        firsts.append(net[None])
    bank = torch.cat(firsts + [start_bank(guess, bank_size, g)])
    # rendered in chunks; the bank stops after ``bank_share`` of the budget (at least one chunk)
    chunks = []
    with torch.no_grad():
        for i in range(0, len(bank), 8):
            chunks.append(match_loss_torch(target, render(bank[i : i + 8], seed)))
            if time.monotonic() - t0 > bank_share * budget_s:
                break
    # the chosen note's starts (already rendered) join the bank after it
    losses = torch.cat(chunks + [tried_losses])
    bank = torch.cat([bank[: len(losses) - len(tried)], tried])
    losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, 1e9))
    k = int(torch.argmin(losses))
    start, analysis_loss, bank_loss = bank[k].clone(), float(losses[0]), float(losses[k])
    winner = "analysis" if k == 0 else "network" if k == 1 and network_guess is not None else "bank"
    network_loss = float(losses[1]) if network_guess is not None else None
    start_winner = winner
    remaining = budget_s - (time.monotonic() - t0)
    grad_s = remaining * grad_share if use_gradient else 0.0
    cma = None
    best, best_loss = start, bank_loss
    if remaining - grad_s > 0.2:
        cma = cma_refine(render, target, start, budget_s=remaining - grad_s, population=population, sigma=0.15,
                         fixed={NOTE: float(start[NOTE])}, seed=seed, loss_fn=match_loss_torch, on_generation=on_generation)
        if cma.loss < best_loss:
            best, best_loss, winner = cma.params, cma.loss, "cma"
    grad_loss, steps, grad_rows = None, 0, 0
    left = budget_s - (time.monotonic() - t0)
    if use_gradient and left > 0.3:
        # from the best so far and the next best bank starts (different basins), as one batch
        order = [int(i) for i in torch.argsort(losses)]
        starts = torch.stack([best] + [bank[i] for i in order if not torch.equal(bank[i], best)][: grad_starts - 1])
        gbest, grad_loss, steps = gradient_refine(synth, target, starts, budget_s=left, seed=seed)
        grad_rows = len(starts)
        if grad_loss < best_loss:
            best, best_loss, winner = gbest, grad_loss, "gradient"
    renders = len(bank) - len(tried) + len(candidates) * len(tried) + (cma.evaluations if cma else 0) + steps * grad_rows
    return SubMatch(best.detach().clone(), cma, grad_loss, steps, winner, bank_loss, analysis_loss, renders, note_source, midi, network_loss, start_winner)
