"""Train the matching networks (AST and the MLP / CNN baselines) on synth renders made on the fly.

    python -m lstmabar.models.matching.train                       # Voice, AST + MLP + CNN, defaults
    python -m lstmabar.models.matching.train --archs ast --minutes 20 --pool 12000

Uses CUDA when present. Every architecture sees the same pool of rendered patches (refreshed by the
synth between epochs) for the same number of optimiser steps, and is scored on the same held-out set
(drawn with a separate seed). Weights go to ``models/matching/weights/<synth>_<arch>.pt`` with their
config, parameter names and training figures.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from .data import Pool, SynthSpec, make_batch, toy_spec, voice_spec
from .features import log_mel
from .networks import build, count_params

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
VAL_SEED = 424_242
GUESS_SEED = 777_001  # the synthetic targets of guess_eval: neither the pools (0..) nor the validation set


def get_spec(synth: str) -> SynthSpec:
    if synth == "voice":
        from .voice_core import voice_core_spec

        return voice_core_spec()
    if synth == "voice78":
        return voice_spec()
    if synth == "toy":
        return toy_spec()
    if synth == "archetype":
        from .data import archetype_spec

        return archetype_spec()
    if synth == "subtractive":
        from .data import subtractive_spec

        return subtractive_spec()
    raise ValueError(f"unknown synth {synth!r}")


def validation_set(spec: SynthSpec, n: int, seed: int = VAL_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    feats, params = [], []
    have, k = 0, 0
    while have < n:
        f, p = make_batch(spec, 64, g, seed + k)
        feats.append(f)
        params.append(p)
        have += len(p)
        k += 1
    return torch.cat(feats)[:n], torch.cat(params)[:n]


@torch.no_grad()
def evaluate(model: torch.nn.Module, feats: torch.Tensor, params: torch.Tensor, device: torch.device, batch: int = 256) -> float:
    model.eval()
    preds = torch.cat([model(feats[i : i + batch].to(device)).cpu() for i in range(0, len(feats), batch)])
    model.train()
    return float(((preds - params) ** 2).mean())


def train_one(
    arch: str,
    pool: Pool,
    val: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    batch: int,
    lr: float,
    device: torch.device,
    refresh_every: int = 0,
    refresh_fraction: float = 0.0,
    seed: int = 0,
    log=print,
    arch_kwargs: dict | None = None,
    init: torch.nn.Module | None = None,
) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(seed)
    model = (init if init is not None else build(arch, pool.spec.num_params, **(arch_kwargs or {}))).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    g = torch.Generator().manual_seed(seed + 1)
    t0 = time.time()
    history = []
    running = None
    for step in range(steps):
        if refresh_every and step and step % refresh_every == 0:
            pool.refresh(refresh_fraction)
        idx = torch.randint(0, len(pool), (batch,), generator=g)
        x, y = pool.feats[idx].to(device), pool.params[idx].to(device)
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        lv = loss.item()
        running = lv if running is None else 0.98 * running + 0.02 * lv
        if (step + 1) % max(1, steps // 10) == 0 or step + 1 == steps:
            v = evaluate(model, *val, device)
            history.append({"step": step + 1, "train_mse": round(running, 5), "val_mse": round(v, 5), "seconds": round(time.time() - t0, 1)})
            log(f"[{arch}] step {step + 1}/{steps} train {running:.4f} val {v:.4f} ({time.time() - t0:.0f} s)")
    stats = {
        "arch": arch,
        "params": count_params(model),
        "steps": steps,
        "batch": batch,
        "examples_seen": steps * batch,
        "train_seconds": round(time.time() - t0, 1),
        "val_mse": history[-1]["val_mse"] if history else float("nan"),
        "history": history,
    }
    return model.cpu().eval(), stats


@torch.no_grad()
def guess_eval(model: torch.nn.Module, spec: SynthSpec, mean: torch.Tensor, n: int = 128, seed: int = GUESS_SEED) -> dict:
    """Held-out synthetic figures of a subtractive network: parameter MSE against predicting ``mean`` (the
    training pool's mean), and the match loss (``metrics.match_loss_torch``) of the rendered guess against
    the target, next to the analysis guess (``sub_match.analyse``). Both guesses are scored at the true note
    (the pipeline holds the note it read from the target), the network also at its own note."""
    from .metrics import match_loss_torch
    from .sub_match import NOTE, analyse
    from .subtractive import SUB_PARAMS

    model.eval()
    _, params = validation_set(spec, n, seed)
    # one render at one seed: the validation set's features come from a noise seed per batch of 64, so the
    # network hears (and the analysis measures) exactly the audio the guesses are scored against
    audio = spec.render(params, seed)
    pred = torch.cat([model(log_mel(audio[i : i + 64])) for i in range(0, len(audio), 64)]).float()
    rows = []
    for j in range(len(params)):
        midi = float(SUB_PARAMS[NOTE].to_physical(float(params[j, NOTE])))
        at_note = pred[j].clone()
        at_note[NOTE] = params[j, NOTE]
        cands = torch.stack([at_note, pred[j], analyse(audio[j].numpy(), midi)])
        rows.append(match_loss_torch(audio[j], spec.render(cands, seed)))
    losses = torch.stack(rows)  # (n, 3): network at the true note, network's own note, analysis at the true note
    per = ((pred - params) ** 2).mean(0)
    return {
        "targets": len(params), "seed": seed,
        "param_mse": round(float(per.mean()), 5),
        "param_mse_mean_baseline": round(float(((mean[None] - params) ** 2).mean()), 5),
        "param_mse_per_param": {name: round(float(v), 4) for name, v in zip(spec.param_names, per)},
        "note_abs_error_semitones_median": round(float(((pred[:, NOTE] - params[:, NOTE]).abs() * (SUB_PARAMS[NOTE].maximum - SUB_PARAMS[NOTE].minimum)).median()), 2),
        "match_loss_network_mean": round(float(losses[:, 0].mean()), 4),
        "match_loss_network_own_note_mean": round(float(losses[:, 1].mean()), 4),
        "match_loss_analysis_mean": round(float(losses[:, 2].mean()), 4),
        "network_beats_analysis_share": round(float((losses[:, 0] < losses[:, 2]).float().mean()), 4),
    }


def save(model: torch.nn.Module, arch: str, spec: SynthSpec, stats: dict, out_dir: Path = WEIGHTS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{spec.name}_{arch}.pt"
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"arch": arch, "config": model.config, "synth": spec.name, "param_names": list(spec.param_names), "state_dict": state, "stats": stats}, path)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synth", default="voice", choices=["voice", "voice78", "toy", "archetype", "subtractive"])
    ap.add_argument("--archs", default="ast,mlp,cnn")
    ap.add_argument("--pool", type=int, default=12_000, help="rendered examples kept in memory")
    ap.add_argument("--val", type=int, default=512)
    ap.add_argument("--steps", type=int, default=0, help="optimiser steps per architecture (0: from --minutes for the AST)")
    ap.add_argument("--minutes", type=float, default=20.0, help="AST training time budget used to choose --steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--refresh-every", type=int, default=200, help="steps between pool refreshes (0: never)")
    ap.add_argument("--refresh-fraction", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--guess-eval", type=int, default=128, help="subtractive: held-out synthetic targets for guess_eval (0: skip)")
    ap.add_argument("--resume", action="store_true", help="continue from the weights in --out (a new cosine cycle); figures accumulate")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    spec = get_spec(args.synth)
    t0 = time.time()
    pool = Pool(spec, args.pool, seed=args.seed, progress=lambda d, n: print(f"rendering pool {d}/{n} ({time.time() - t0:.0f} s)", flush=True) if d % 1024 < 64 else None)
    render_s = time.time() - t0
    val = validation_set(spec, args.val)
    print(f"pool {len(pool)} rendered in {render_s:.0f} s; validation {len(val[1])}", flush=True)

    steps = args.steps
    if not steps:  # time a few AST steps to fit the budget
        probe = build("ast", spec.num_params).to(device)
        opt = torch.optim.AdamW(probe.parameters())
        x, y = pool.feats[: args.batch].to(device), pool.params[: args.batch].to(device)
        tp = time.time()
        for _ in range(3):
            loss = torch.nn.functional.mse_loss(probe(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        per_step = (time.time() - tp) / 3
        steps = max(50, int(args.minutes * 60 / (per_step * 1.1)))
        print(f"AST step {per_step:.3f} s -> {steps} steps for {args.minutes} min", flush=True)

    summary = {"synth": spec.name, "pool": len(pool), "pool_render_seconds": round(render_s, 1), "device": str(device)}
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        init, previous = None, None
        if args.resume:
            from .matcher import load_network

            init, blob = load_network(spec.name, arch, args.out)
            init.train()
            previous = blob["stats"]
        model, stats = train_one(
            arch, pool, val, steps=steps, batch=args.batch, lr=args.lr if arch != "mlp" else args.lr * 0.5, device=device,
            refresh_every=args.refresh_every, refresh_fraction=args.refresh_fraction, seed=args.seed,
            log=lambda m: print(m, flush=True), init=init,
        )
        stats.update(summary)
        if spec.name == "subtractive" and args.guess_eval:
            stats["synthetic_eval"] = guess_eval(model, spec, pool.params.mean(0), args.guess_eval)
            print(f"[{arch}] held-out synthetic: {stats['synthetic_eval']}", flush=True)
        if previous:  # its figures are already totals over every run before it
            stats["previous_runs"] = previous.get("previous_runs", []) + [{k: v for k, v in previous.items() if k != "previous_runs"}]
            stats["examples_seen"] += previous["examples_seen"]
            stats["train_seconds"] = round(stats["train_seconds"] + previous["train_seconds"], 1)
        path = save(model, arch, spec, stats, args.out)
        print(f"saved {path} ({path.stat().st_size / 1e6:.1f} MB) val MSE {stats['val_mse']:.4f}", flush=True)
        (args.out / f"{spec.name}_{arch}.json").write_text(json.dumps(stats, indent=2) + "\n")


if __name__ == "__main__":
    main()
