"""The feedback loop, measured: does the reward model move new outputs toward a listener's taste?

Three loops per seed, each in its own library, identical except for the reward term:
  guided   -- rater likes dark, slow-attack sounds; search fitness = cosine + w * reward
  control  -- same rater, reward term off (w = 0; ratings are still collected and a model trained)
  opposite -- rater likes bright, fast-attack sounds; reward term on
Each round: CTAG-style SNES search on the Voice synth for every prompt, k diverse results stored in
the library, every result rated 1-5 and paired through the rate_feedback tool, then the reward model
retrains (a new version). Round 0 has no model, so the loops start identical.

Figures (means over seeds): the dark/slow rater's utility of each round's new outputs (z units of
the taste axis, random patches = 0), the guided outputs' win rate against the control outputs of the
same round (the rater's noiseless preference over all cross pairs), spectral centroid and attack time,
and the reward model's held-out pairwise accuracy.

Run: python -m benchmarks.feedback_loop [--seeds 3] [--rounds 6] [--embedder lstmabar]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._report import DOCS, write_report
from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from benchmarks.simulated_loop import LoopSettings, SimulatedRater, run_loop
from lstmabar.models.synth.voice import Voice
from lstmabar.tools.base import ModelCache, ToolContext


def get_embedder(spec: str):
    if spec != "tiny":
        try:
            from lstmabar.models.embedders import load_embedder

            return load_embedder(spec), spec
        except Exception as exc:  # the project's embedder may not be built yet
            print(f"embedder {spec!r} unavailable ({exc}); using tests.fakes.TinyEmbedder", file=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fakes import TinyEmbedder

    return TinyEmbedder(), "tiny (tests.fakes.TinyEmbedder: band energies + hashed words)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--weight", type=float, default=1.5)
    ap.add_argument("--embedder", default="lstmabar")
    ap.add_argument("--sweep", default="0.25,0.5", help="extra feedback weights for the guided loop (trade-off table); '' for none")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    embedder, emb_label = get_embedder(args.embedder)
    loops = [("guided", 1.0, True), ("control", 1.0, False), ("opposite", -1.0, True)]
    util = {n: np.zeros((args.seeds, args.rounds)) for n, _, _ in loops}
    cent = {n: np.zeros((args.seeds, args.rounds)) for n, _, _ in loops}
    att = {n: np.zeros((args.seeds, args.rounds)) for n, _, _ in loops}
    cosv = {n: np.zeros((args.seeds, args.rounds)) for n, _, _ in loops}
    acc = {n: np.full((args.seeds, args.rounds), np.nan) for n, _, _ in loops}
    win = {n: np.zeros((args.seeds, args.rounds)) for n in ("guided", "opposite")}
    t0 = time.perf_counter()
    round_seconds = []
    s = None
    for seed in range(args.seeds):
        s = LoopSettings(prompts=("warm pad", "short pluck", "metallic hit"), per_prompt=8, population=16,
                         evaluations=96, rounds=args.rounds, weight=args.weight, epochs=200, seed=seed)
        voice = Voice(sample_rate=s.sample_rate, control_rate=200, seconds=s.seconds)
        raters = {1.0: SimulatedRater.calibrated(voice, s.sample_rate, sign=1.0, seed=seed),
                  -1.0: SimulatedRater.calibrated(voice, s.sample_rate, sign=-1.0, seed=seed)}
        per_round_u: dict[str, list[list[float]]] = {}
        for name, sign, use in loops:
            with tempfile.TemporaryDirectory() as d:
                cfg = Config(output_dir=Path(d))
                ctx = ToolContext(library=SoundLibrary(cfg), config=cfg, models=ModelCache())
                t1 = time.perf_counter()
                stats = run_loop(ctx, embedder, raters[sign], s, use_reward=use)
                round_seconds.append((time.perf_counter() - t1) / args.rounds)
                ctx.library.close()
            for st in stats:
                # utilities on the dark/slow axis (the opposite rater's utility has the other sign)
                util[name][seed, st.round] = sign * st.utility
                cent[name][seed, st.round] = st.centroid_hz
                att[name][seed, st.round] = st.attack_s
                cosv[name][seed, st.round] = st.cosine
                acc[name][seed, st.round] = np.nan if st.heldout_accuracy is None else st.heldout_accuracy
            per_round_u[name] = [[sign * u for u in st.utilities] for st in stats]
            print(f"seed {seed} {name}: " + " ".join(f"{v:+.2f}" for v in util[name][seed]), file=sys.stderr, flush=True)
        for name in ("guided", "opposite"):
            for r in range(args.rounds):
                g = np.array(per_round_u[name][r])[:, None]
                c = np.array(per_round_u["control"][r])[None, :]
                win[name][seed, r] = float(((g > c) + 0.5 * (g == c)).mean())
    # trade-off: the guided loop at other weights (same seeds, same rater)
    sweep_w = [float(w) for w in args.sweep.split(",") if w.strip()]
    sweep_u = {w: np.zeros((args.seeds, args.rounds)) for w in sweep_w}
    sweep_c = {w: np.zeros((args.seeds, args.rounds)) for w in sweep_w}
    for w in sweep_w:
        for seed in range(args.seeds):
            sw = LoopSettings(prompts=s.prompts, per_prompt=s.per_prompt, population=s.population, evaluations=s.evaluations,
                              rounds=args.rounds, weight=w, epochs=s.epochs, seed=seed)
            voice = Voice(sample_rate=sw.sample_rate, control_rate=200, seconds=sw.seconds)
            rater = SimulatedRater.calibrated(voice, sw.sample_rate, sign=1.0, seed=seed)
            with tempfile.TemporaryDirectory() as d:
                cfg = Config(output_dir=Path(d))
                ctx = ToolContext(library=SoundLibrary(cfg), config=cfg, models=ModelCache())
                for st in run_loop(ctx, embedder, rater, sw, use_reward=True):
                    sweep_u[w][seed, st.round] = st.utility
                    sweep_c[w][seed, st.round] = st.cosine
                ctx.library.close()
            print(f"seed {seed} weight {w}: " + " ".join(f"{v:+.2f}" for v in sweep_u[w][seed]), file=sys.stderr, flush=True)
    total = time.perf_counter() - t0

    fig: dict[str, float] = {
        "seeds": args.seeds, "rounds": args.rounds, "feedback_weight": args.weight,
        "sounds_per_round": len(s.prompts) * s.per_prompt, "search_evaluations_per_prompt": s.evaluations,
        "seconds_total": round(total, 1), "seconds_per_round": round(float(np.mean(round_seconds)), 2),
    }
    for r in range(args.rounds):
        for name in util:
            fig[f"{name}_utility_r{r}"] = round(float(util[name][:, r].mean()), 4)
            fig[f"{name}_centroid_hz_r{r}"] = round(float(np.exp(np.log(cent[name][:, r]).mean())), 1)
            fig[f"{name}_attack_ms_r{r}"] = round(1000 * float(np.exp(np.log(att[name][:, r]).mean())), 1)
        fig[f"guided_win_rate_vs_control_r{r}"] = round(float(win["guided"][:, r].mean()), 4)
        fig[f"opposite_win_rate_vs_control_r{r}"] = round(float(win["opposite"][:, r].mean()), 4)
        a = acc["guided"][:, r]
        if np.isfinite(a).any():
            fig[f"guided_heldout_pairwise_accuracy_r{r}"] = round(float(np.nanmean(a)), 4)
    later = slice(1, args.rounds)
    fig["guided_minus_control_utility_rounds1plus"] = round(float((util["guided"][:, later] - util["control"][:, later]).mean()), 4)
    fig["opposite_minus_control_utility_rounds1plus"] = round(float((util["opposite"][:, later] - util["control"][:, later]).mean()), 4)
    for name in util:
        fig[f"{name}_prompt_cosine_rounds1plus"] = round(float(cosv[name][:, later].mean()), 4)
    trade = [(0.0, util["control"], cosv["control"])] + [(w, sweep_u[w], sweep_c[w]) for w in sweep_w] + [(args.weight, util["guided"], cosv["guided"])]
    for w, u, c in trade:
        fig[f"weight_{w:g}_utility_gain_rounds1plus"] = round(float((u[:, later] - util["control"][:, later]).mean()), 4)
        fig[f"weight_{w:g}_prompt_cosine_rounds1plus"] = round(float(c[:, later].mean()), 4)
    fig["prompt_cosine_round0"] = round(float(cosv["control"][:, 0].mean()), 4)
    fig["guided_win_rate_vs_control_last_round"] = round(float(win["guided"][:, -1].mean()), 4)
    fig["opposite_win_rate_vs_control_last_round"] = round(float(win["opposite"][:, -1].mean()), 4)
    for name in ("guided", "opposite"):
        fig[f"{name}_centroid_ratio_vs_control_rounds1plus"] = round(float(np.exp((np.log(cent[name][:, later]) - np.log(cent["control"][:, later])).mean())), 3)
        fig[f"{name}_attack_ratio_vs_control_rounds1plus"] = round(float(np.exp((np.log(att[name][:, later]) - np.log(att["control"][:, later])).mean())), 3)
    fig["guided_minus_control_utility_rounds1plus_min_over_seeds"] = round(float((util["guided"][:, later] - util["control"][:, later]).mean(1).min()), 4)

    # the curve, as a picture
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = np.arange(args.rounds)
    f, ax = plt.subplots(1, 2, figsize=(10, 3.6), dpi=90)
    for name, col in (("guided", "tab:green"), ("control", "tab:gray"), ("opposite", "tab:red")):
        m, sd = util[name].mean(0), util[name].std(0)
        ax[0].plot(rounds, m, marker="o", color=col, label=name)
        ax[0].fill_between(rounds, m - sd, m + sd, color=col, alpha=0.15)
    ax[0].set_xlabel("round"), ax[0].set_ylabel("dark/slow taste utility (z)"), ax[0].legend(fontsize=8)
    ax[0].set_title("rater's taste of new outputs", fontsize=10)
    ax[1].plot(rounds, win["guided"].mean(0), marker="o", color="tab:green", label="guided vs control")
    ax[1].plot(rounds, win["opposite"].mean(0), marker="o", color="tab:red", label="opposite vs control")
    ax[1].axhline(0.5, color="k", lw=0.5), ax[1].set_ylim(0, 1), ax[1].set_xlabel("round"), ax[1].legend(fontsize=8)
    ax[1].set_title("dark/slow rater prefers ... (win rate)", fontsize=10)
    f.tight_layout()
    (DOCS / "results").mkdir(parents=True, exist_ok=True)
    f.savefig(DOCS / "results" / "feedback_loop.png")

    rows = "\n".join(
        f"| {r} | {fig[f'guided_utility_r{r}']:+.2f} | {fig[f'control_utility_r{r}']:+.2f} | {fig[f'opposite_utility_r{r}']:+.2f} | "
        f"{fig[f'guided_win_rate_vs_control_r{r}']:.2f} | {fig[f'opposite_win_rate_vs_control_r{r}']:.2f} | "
        f"{fig[f'guided_centroid_hz_r{r}']:.0f} / {fig[f'control_centroid_hz_r{r}']:.0f} / {fig[f'opposite_centroid_hz_r{r}']:.0f} | "
        f"{fig[f'guided_attack_ms_r{r}']:.0f} / {fig[f'control_attack_ms_r{r}']:.0f} / {fig[f'opposite_attack_ms_r{r}']:.0f} | "
        f"{fig.get(f'guided_heldout_pairwise_accuracy_r{r}', float('nan')):.2f} |"
        for r in range(args.rounds)
    )
    md = f"""Script: `python -m benchmarks.feedback_loop` (benchmarks/simulated_loop.py). Embedder: {emb_label}.
{args.seeds} seeds x {args.rounds} rounds; per round {fig['sounds_per_round']} new sounds ({len(s.prompts)} prompts x {s.per_prompt},
SNES on the Voice synth, {s.evaluations} renders per prompt, {s.seconds} s at {s.sample_rate} Hz), each rated 1-5 and paired once
through the `rate_feedback` tool, then `train_reward` writes a new version that the next round loads through the registry.
Guided and opposite loops add `feedback_weight` = {args.weight} x the standardised reward to the cosine fitness
(`GuidedObjective`, the same term `synthesize_from_text` applies for its `feedback_weight`; this benchmark drives the search
itself, at a small budget, so that 3 seeds x 6 rounds x 3 loops fit in minutes). Utility: the dark/slow rater's taste, z units against random
patches (-z log spectral centroid + z log attack time, /sqrt 2). Win rate: how often that rater (noiseless) prefers a
loop's output over a control output of the same round. Means over seeds; round 0 has no reward model (identical loops).

| round | utility guided | control | opposite | win rate guided vs control | opposite vs control | centroid Hz g / c / o | attack ms g / c / o | held-out pairwise acc. (guided model) |
|---|---|---|---|---|---|---|---|---|
{rows}

Mean utility gain over control in rounds 1+: guided {fig['guided_minus_control_utility_rounds1plus']:+.2f}
(worst seed {fig['guided_minus_control_utility_rounds1plus_min_over_seeds']:+.2f}), opposite taste
{fig['opposite_minus_control_utility_rounds1plus']:+.2f}. Which part of the taste moved (geometric mean ratio to control, rounds 1+):
spectral centroid x{fig['guided_centroid_ratio_vs_control_rounds1plus']:.2f} guided, x{fig['opposite_centroid_ratio_vs_control_rounds1plus']:.2f} opposite;
attack time x{fig['guided_attack_ratio_vs_control_rounds1plus']:.2f} guided, x{fig['opposite_attack_ratio_vs_control_rounds1plus']:.2f} opposite.
What it costs in prompt match (mean cosine of outputs to their prompt under the embedder, rounds 1+): guided
{fig['guided_prompt_cosine_rounds1plus']:.3f}, control {fig['control_prompt_cosine_rounds1plus']:.3f}, opposite {fig['opposite_prompt_cosine_rounds1plus']:.3f}.
{fig['seconds_per_round']:.1f} s per round (generation + rating +
retraining) on this CPU. Curve: `docs/results/feedback_loop.png`.

Trade-off between the rater's taste and the prompt (rounds 1+, same seeds; weight 0 is the control loop):

| feedback_weight | utility gain over control | prompt cosine |
|---|---|---|
""" + "\n".join(f"| {w:g} | {fig[f'weight_{w:g}_utility_gain_rounds1plus']:+.2f} | {fig[f'weight_{w:g}_prompt_cosine_rounds1plus']:.3f} |" for w, _, _ in trade) + """

Caveats: a simulated rater whose taste is a simple function of the audio; a toy embedder when the project's embedder is not
available; small searches. It shows the mechanism closes the loop, not how fast real listeners' taste is learned.
"""
    write_report("feedback_loop", fig, md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
