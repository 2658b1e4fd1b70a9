"""The feedback loop, simulated: a rater with a hidden taste rates generated sounds through
rate_feedback, the reward model retrains after each round, and the next round's search uses it.
It lives with the benchmarks because it drives the rate_feedback tool end to end (models must not
import tools).

Taste: ``sign * (darkness + slow attack)`` where darkness = -z(log spectral centroid) and slow attack =
z(log envelope rise time), both measured by ``library.descriptors`` and z-scored against random Voice
patches. ``sign=+1`` likes dark, slow sounds; ``sign=-1`` the opposite. Ratings (1-5) are the
utility's quintiles on random patches; pairwise choices add Gaussian noise to the utility. Generation is
CTAG-style search on the Voice synth (SNES over the 78 parameters, fitness = cosine(audio, prompt) under
the embedder, + ``weight`` * reward when the loop uses the reward model) with ``GuidedObjective`` -- the
same term synthesize_from_text adds through ``feedback_weight``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from lstmabar.library.descriptors import describe_batch
from lstmabar.models.search import ParamSpace, make_strategy, run_search, select_diverse
from lstmabar.models.search.objective import TextAudioObjective, normalize_peak
from lstmabar.models.synth.params import NUM_PARAMS

from lstmabar.models.reward.guidance import GuidedObjective, load_reward
from lstmabar.models.reward.registry import reward_dir
from lstmabar.models.reward.train import train_reward


def taste_measures(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, samples) -> (spectral centroid in Hz, attack rise time in s: 10% -> 90% of the first event's top),
    measured by ``library.descriptors.describe_batch`` (attack floored at 2.5 ms, half its 5 ms frame)."""
    d = describe_batch(np.atleast_2d(np.asarray(audio, dtype=np.float64)), sample_rate)
    centroid = np.nan_to_num(d["centroid_hz"], nan=1.0)
    attack = np.nan_to_num(d["attack_s"], nan=0.0)
    return np.maximum(centroid, 1.0), np.maximum(attack, 0.0025)


@dataclass
class SimulatedRater:
    sign: float = 1.0
    noise: float = 0.3
    seed: int = 0
    calib: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    cuts: tuple[float, ...] = (-0.8, -0.3, 0.3, 0.8)
    rater_id: str = "simulated"

    @classmethod
    def calibrated(cls, voice, sample_rate: int, *, sign: float = 1.0, n: int = 256, seed: int = 0, **kw: Any) -> "SimulatedRater":
        g = torch.Generator().manual_seed(10_000 + seed)
        audio, _ = normalize_peak(voice.render(torch.rand(n, NUM_PARAMS, generator=g), seed=seed))
        c, a = taste_measures(audio.numpy(), sample_rate)
        lc, la = np.log(c), np.log(a)
        r = cls(sign=sign, seed=seed, calib=(float(lc.mean()), float(lc.std() + 1e-9), float(la.mean()), float(la.std() + 1e-9)), **kw)
        u = r.utility(audio.numpy(), sample_rate)
        r.cuts = tuple(float(q) for q in np.quantile(u, [0.2, 0.4, 0.6, 0.8]))
        return r

    def utility(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        c, a = taste_measures(audio, sample_rate)
        mc, sc, ma, sa = self.calib
        dark = -(np.log(c) - mc) / sc
        slow = (np.log(a) - ma) / sa
        return self.sign * (dark + slow) / math.sqrt(2.0)

    def rating(self, u: float) -> int:
        return 1 + int(sum(u > c for c in self.cuts))


@dataclass
class LoopSettings:
    prompts: tuple[str, ...] = ("warm pad", "short pluck")
    per_prompt: int = 6
    population: int = 16
    evaluations: int = 96
    sample_rate: int = 16_000
    seconds: float = 0.5
    weight: float = 0.5
    rounds: int = 4
    epochs: int = 200
    seed: int = 0


@dataclass
class RoundStats:
    round: int
    reward_version: str | None
    utility: float  # mean hidden utility of the round's new outputs
    centroid_hz: float
    attack_s: float
    mean_rating: float
    cosine: float = 0.0  # mean cosine(audio, prompt) of the outputs: what the reward term costs in prompt match
    heldout_accuracy: float | None = None  # of the model trained after this round
    utilities: list[float] = field(default_factory=list)


def generate(voice, embedder, prompt: str, reward, weight: float, s: LoopSettings, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Search the Voice for ``prompt``: returns (patches (k, 78), peak-normalised audio (k, samples))."""
    base = TextAudioObjective(lambda x: voice.render(x, seed=seed), embedder, prompt, s.sample_rate)
    objective = GuidedObjective(base, reward, weight)
    strategy = make_strategy("snes", NUM_PARAMS, s.population, seed=seed)
    res = run_search(objective, strategy, ParamSpace(NUM_PARAMS), max_evaluations=s.evaluations, patience=None)
    feats = res.archive_features if res.archive_features is not None else res.archive_params
    picks = select_diverse(res.archive_fitness, feats, s.per_prompt)
    patches = res.archive_params[picks]
    with torch.no_grad():
        audio, _ = normalize_peak(voice.render(patches, seed=seed))
    return patches, audio


def run_loop(
    ctx,
    embedder,
    rater: SimulatedRater,
    s: LoopSettings,
    *,
    use_reward: bool,
    on_round: Callable[[RoundStats], None] | None = None,
) -> list[RoundStats]:
    """Rounds of generate -> rate (through the rate_feedback tool) -> retrain. Returns per-round stats."""
    from lstmabar.models.synth.voice import Voice
    from lstmabar.tools import rate_feedback

    voice = Voice(sample_rate=s.sample_rate, control_rate=200, seconds=s.seconds)
    rng = np.random.default_rng(s.seed + 7)
    stats: list[RoundStats] = []
    for rnd in range(s.rounds):
        reward = load_reward(ctx, embedder) if use_reward else None
        us, cs, ats, rs, coss = [], [], [], [], []
        for pi, prompt in enumerate(s.prompts):
            seed = s.seed * 1000 + rnd * 10 + pi
            patches, audio = generate(voice, embedder, prompt, reward, s.weight if use_reward else 0.0, s, seed)
            a = audio.numpy()
            with torch.no_grad():
                e = torch.nn.functional.normalize(embedder.embed_audio(audio, s.sample_rate).float(), dim=-1)
                t = torch.nn.functional.normalize(embedder.embed_text([prompt]).float(), dim=-1)[0]
            coss.extend((e @ t).tolist())
            u = rater.utility(a, s.sample_rate)
            c, at = taste_measures(a, s.sample_rate)
            ids = []
            for j in range(len(patches)):
                rec = ctx.library.add(
                    a[j][None],
                    s.sample_rate,
                    tool="simulated_loop",
                    prompt=prompt,
                    extra={"patch_normalized": [float(v) for v in patches[j]], "round": rnd,
                           "reward_version": reward.version if reward else None},
                )
                ids.append(rec.id)
            order = rng.permutation(len(ids))
            for j in range(len(ids)):
                r = rater.rating(float(u[j]))
                rs.append(r)
                rate_feedback.run(rate_feedback.Input(sound_id=ids[j], rating=r, rater_id=rater.rater_id,
                                                      request_id=f"sim-{rnd}-{prompt}-{j}-rating"), ctx)
            for x, y in zip(order[::2], order[1::2]):
                ux = u[x] + rng.normal(0, rater.noise)
                uy = u[y] + rng.normal(0, rater.noise)
                win, lose = (ids[x], ids[y]) if ux >= uy else (ids[y], ids[x])
                rate_feedback.run(rate_feedback.Input(sound_id=win, preferred_over=lose, rater_id=rater.rater_id,
                                                      request_id=f"sim-{rnd}-{prompt}-{x}-{y}-pair"), ctx)
            us.extend(u.tolist())
            cs.extend(c.tolist())
            ats.extend(at.tolist())
        model = train_reward(ctx.library, embedder, reward_dir(ctx.config), epochs=s.epochs, seed=s.seed)
        st = RoundStats(
            round=rnd,
            reward_version=reward.version if reward else None,
            utility=float(np.mean(us)),
            centroid_hz=float(np.exp(np.mean(np.log(cs)))),
            attack_s=float(np.exp(np.mean(np.log(ats)))),
            mean_rating=float(np.mean(rs)),
            cosine=float(np.mean(coss)),
            heldout_accuracy=model.manifest["heldout"].get("pairwise_accuracy"),
            utilities=[float(v) for v in us],
        )
        stats.append(st)
        if on_round:
            on_round(st)
    return stats
