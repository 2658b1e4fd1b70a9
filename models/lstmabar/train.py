"""Train LSTMABAR: ``python -m lstmabar.models.lstmabar.train [--minutes 25] [--attention quantum]``.

Steps: (1) build the data (``data.build_dataset``) and cache log-mels and frozen MiniLM caption
vectors under ``.cache/lstmabar`` (``--prepare-only`` stops there); (2) optionally, the text-tower
ablation (``--ablation``: quantum vs classical vs no attention, text tower + head only, several
seeds); (3) joint training: symmetric InfoNCE (learnable temperature) between the text tower on
MiniLM vectors and the audio ResNet on log-mels, plus a soft cross-entropy of the archetype head on
both towers' joint vectors; AdamW, cosine schedule; (4) evaluation on the held-out test sets and
saving ``weights/lstmabar.pt`` (fp16 state dict, config, metrics) and ``weights/ood_bank.pt``.
CUDA is used when present.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .model import LSTMABARModel, ModelConfig, TextInput, TextTower, ArchetypeHead, count_parameters, info_nce, soft_ce

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "lstmabar"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ------------------------------------------------------------------------------- preparation
def prepare(cache: Path = CACHE, seed: int = 0, small: bool = False) -> Path:
    from .data import build_dataset, training_vocabulary
    from .features import LogMel
    from .text_encoder import MiniLM

    cache.mkdir(parents=True, exist_ok=True)
    out = cache / ("data_small.pt" if small else "data.pt")
    if out.is_file():
        return out
    kw = dict(n_engine=200, n_voice=60, n_test_engine=60, n_test_voice=20) if small else {}
    ds = build_dataset(seed=seed, log=log, **kw)
    logmel = LogMel()
    minilm = MiniLM()
    captions: list[str] = []
    index: dict[str, int] = {}

    def cid(c: str) -> int:
        if c not in index:
            index[c] = len(captions)
            captions.append(c)
        return index[c]

    blob: dict = {}
    for split, exs in ds.items():
        audio = torch.from_numpy(np.stack([e.audio for e in exs]).astype(np.float32))
        with torch.no_grad():
            mels = torch.cat([logmel(audio[i : i + 256]) for i in range(0, len(audio), 256)])
        blob[split] = {
            "mels": mels.half(),
            "audio": audio.half(),  # 16 kHz clips, kept for embedder-level checks
            "targets": torch.from_numpy(np.stack([e.target for e in exs]).astype(np.float32)),
            "captions": [[cid(c) for c in e.captions] for e in exs],
            "source": [e.source for e in exs],
            "word": [e.word for e in exs],
        }
        log(split, len(exs), "sounds")
    log("encoding", len(captions), "captions with MiniLM")
    blob["caption_text"] = captions
    blob["caption_vecs"] = minilm.encode(captions).half()
    vocab = training_vocabulary(ds["train"])
    blob["vocab"] = vocab
    blob["vocab_vecs"] = minilm.encode(vocab).half()
    torch.save(blob, out)
    log("saved", out)
    return out


def add_caption_states(blob: dict, layer: int, cache: Path = CACHE) -> dict:
    """Token states of every caption after MiniLM layer ``layer`` (the input of the tuned top layers),
    padded to one length, fp16, cached beside data.pt under a key of the caption list."""
    from .text_encoder import MiniLM

    caps = blob["caption_text"]
    key = hashlib.sha1("\n".join(caps).encode()).hexdigest()[:12]
    path = cache / f"states_L{layer}_{key}.pt"
    if path.is_file():
        blob.update(torch.load(path, weights_only=False))
        return blob
    minilm = MiniLM()
    chunks = [minilm.hidden(caps[i : i + 256], layer) for i in range(0, len(caps), 256)]
    n = max(h.shape[1] for h, _ in chunks)
    states = torch.cat([F.pad(h, (0, 0, 0, n - h.shape[1])).half() for h, _ in chunks])
    mask = torch.cat([F.pad(m, (0, n - m.shape[1])) for _, m in chunks])
    part = {"caption_states": states, "caption_mask": mask, "states_layer": layer}
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(part, path)
    blob.update(part)
    return blob


def text_input(blob: dict, cids: torch.Tensor, tower: TextTower, device) -> TextInput:
    """What this text tower reads for these captions: sentence vectors, or trimmed token states."""
    if tower.top is None:
        return blob["caption_vecs"][cids].float().to(device)
    if blob.get("states_layer") != tower.top.start:
        add_caption_states(blob, tower.top.start)
    mask = blob["caption_mask"][cids]
    n = int(mask.sum(1).max())
    return blob["caption_states"][cids, :n].float().to(device), mask[:, :n].to(device)


def _param_groups(model: torch.nn.Module, tower: TextTower, lr: float, tune_lr: float) -> list[dict]:
    """MiniLM's own tuned layers (initialised from its weights here) move slowly, at ``tune_lr``, so what
    they know about words never seen in training survives; everything else trains at ``lr``."""
    if tower.top is None:
        return [{"params": list(model.parameters()), "base_lr": lr}]
    from .text_encoder import verify_minilm

    tower.top.load_pretrained(verify_minilm())
    tuned = {id(p) for p in tower.top.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) not in tuned], "base_lr": lr},
            {"params": list(tower.top.parameters()), "base_lr": tune_lr}]


# ------------------------------------------------------------------------------- metrics
ARCH = ("sine", "square", "sawtooth", "triangle", "noise")


def archetype_metrics(pred: np.ndarray, true: np.ndarray, prefix: str = "") -> dict[str, float]:
    """The seed's metrics: MSE, cosine of the 5-vectors, dominant top-1, Pearson r (all entries),
    per-archetype MSE / Pearson / F1 (F1 of 'this archetype is the dominant one')."""
    m: dict[str, float] = {}
    m[prefix + "mse"] = float(((pred - true) ** 2).mean())
    cos = (pred * true).sum(1) / (np.linalg.norm(pred, axis=1) * np.linalg.norm(true, axis=1) + 1e-12)
    m[prefix + "cosine"] = float(cos.mean())
    m[prefix + "cosine_std"] = float(cos.std())
    m[prefix + "top1"] = float((pred.argmax(1) == true.argmax(1)).mean())
    m[prefix + "pearson"] = float(np.corrcoef(pred.ravel(), true.ravel())[0, 1])
    pa, ta = pred.argmax(1), true.argmax(1)
    for j, a in enumerate(ARCH):
        m[f"{prefix}{a}_mse"] = float(((pred[:, j] - true[:, j]) ** 2).mean())
        r = np.corrcoef(pred[:, j], true[:, j])[0, 1] if pred[:, j].std() > 1e-9 and true[:, j].std() > 1e-9 else 0.0
        m[f"{prefix}{a}_pearson"] = float(r)
        tp = float(((pa == j) & (ta == j)).sum())
        fp = float(((pa == j) & (ta != j)).sum())
        fn = float(((pa != j) & (ta == j)).sum())
        m[f"{prefix}{a}_f1"] = 2 * tp / max(2 * tp + fp + fn, 1.0)
    return m


def recall_at(t: torch.Tensor, a: torch.Tensor, ks=(1, 10)) -> dict[int, float]:
    """Text->audio recall@k where text i's match is audio i."""
    sims = t @ a.T
    rank = (sims > sims.diag()[:, None]).sum(1)
    return {k: float((rank < k).float().mean()) for k in ks}


@torch.no_grad()
def evaluate(model: LSTMABARModel, blob: dict, device, split: str = "test", prefix: str = "",
             mels: torch.Tensor | None = None) -> dict[str, float]:
    """``mels``: the same sounds through the model's own front end when it is not the 16 kHz one of
    ``blob`` (the full-band v2 tower: ``train_v2.full_band_mels``)."""
    model.eval()
    d = blob[split]
    if mels is not None:
        d = {**d, "mels": mels[:, None]}
    targets = d["targets"].numpy()
    first = torch.tensor([c[0] for c in d["captions"]])
    t = torch.cat([model.encode_text_vectors(text_input(blob, first[i : i + 256], model.text, device))
                   for i in range(0, len(first), 256)])
    a = torch.cat([model.encode_mel(d["mels"][i : i + 128].float().to(device)) for i in range(0, len(first), 128)])
    m: dict[str, float] = {}
    pt = model.archetypes(t).cpu().numpy()
    pa = model.archetypes(a).cpu().numpy()
    m.update(archetype_metrics(pt, targets, prefix + "text_"))
    m.update(archetype_metrics(pa, targets, prefix + "audio_"))
    m.update(archetype_metrics((pt + pa) / 2, targets, prefix + "both_"))
    # all captions of each sound (each a separate query) for the text metrics' spread
    r = recall_at(t, a)
    m[prefix + "recall_at_1"] = r[1]
    m[prefix + "recall_at_10"] = r[10]
    m[prefix + "n"] = float(len(first))
    model.train()
    return m


# ------------------------------------------------------------------------------- training
def _batches(n: int, bs: int, rng: np.random.Generator):
    while True:
        perm = rng.permutation(n)
        for i in range(0, n - bs + 1, bs):
            yield perm[i : i + bs]


TUNE_LR = 2e-5  # MiniLM's tuned top layers (the rest of the model trains at lr)
TUNE_LAYERS = 2  # chosen on validation words (MODEL_CARD.md)
TEXT_NOISE = 0.06  # Gaussian noise on the unit MiniLM vectors (then renormalised); chosen on validation words


def train_joint(blob: dict, cfg: ModelConfig, *, minutes: float, max_steps: int, seed: int, device,
                batch: int = 64, lr: float = 1e-3, eval_every: int = 200, text_noise: float = TEXT_NOISE,
                fixed_steps: bool = False, tune_lr: float = TUNE_LR) -> tuple[LSTMABARModel, dict]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LSTMABARModel(cfg)
    groups = _param_groups(model, model.text, lr, tune_lr)
    model = model.to(device)
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=1e-4)
    tr = blob["train"]
    mels = tr["mels"]
    targets = tr["targets"]
    caps = tr["captions"]
    t0 = time.time()
    planned = max_steps
    step = 0
    history = []
    for idx in _batches(len(caps), batch, rng):
        if step >= planned or (time.time() - t0) > minutes * 60:
            break
        if step == 20 and not fixed_steps:  # plan the schedule from the measured speed
            per = (time.time() - t0) / 20
            planned = min(max_steps, int(minutes * 60 / per))
            log(f"{per:.2f} s/step -> {planned} steps")
        frac = step / max(planned, 1)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        cid = torch.tensor([caps[i][rng.integers(len(caps[i]))] for i in idx])
        mel = mels[idx].float().to(device)
        # augmentation: random time roll and a little mel noise
        mel = torch.roll(mel, int(rng.integers(0, mel.shape[-1])), dims=-1) + 0.05 * torch.randn_like(mel)
        tv = model.encode_text_vectors(text_input(blob, cid, model.text, device), noise=text_noise)
        av = model.encode_mel(mel)
        y = targets[idx].to(device)
        l_nce = info_nce(tv, av, model.logit_scale, group=cid.to(device))
        l_t = soft_ce(model.head(tv), y)
        l_a = soft_ce(model.head(av), y)
        loss = l_nce + l_t + l_a
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            log(f"step {step}/{planned} loss {loss.item():.3f} nce {l_nce.item():.3f} text {l_t.item():.3f} audio {l_a.item():.3f} T {1 / model.logit_scale.exp().item():.3f}")
        if step % eval_every == 0:
            m = evaluate(model, blob, device)
            history.append({"step": step, **{k: m[k] for k in ("text_mse", "text_top1", "audio_top1", "recall_at_10")}})
            log("eval", history[-1])
    info = {"steps": step, "seconds": time.time() - t0, "batch": batch, "lr": lr, "seed": seed, "text_noise": text_noise,
            "tune_layers": cfg.tune_layers, "tune_lr": tune_lr,
            "history": history}
    return model, info


def train_text_only(blob: dict, attention: str, seed: int, steps: int, device, batch: int = 128, lr: float = 2e-3,
                    text_noise: float = TEXT_NOISE, tune_layers: int = 0, tune_lr: float = TUNE_LR) -> dict:
    """The ablation's small-scale setting: text tower + archetype head on MiniLM (frozen, or with its
    last ``tune_layers`` layers tuned as in the shipped recipe)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = ModelConfig(attention=attention, tune_layers=tune_layers)
    tower, head = TextTower(cfg), ArchetypeHead(cfg)
    both = torch.nn.ModuleList([tower, head])
    groups = _param_groups(both, tower, lr, tune_lr)
    both.to(device)
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=1e-4)
    tr = blob["train"]
    pairs = [(c, i) for i, cs in enumerate(tr["captions"]) for c in cs]
    targets = tr["targets"]
    t0 = time.time()
    for step in range(steps):
        sel = rng.integers(0, len(pairs), batch)
        cid = torch.tensor([pairs[s][0] for s in sel])
        y = targets[[pairs[s][1] for s in sel]].to(device)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * 0.5 * (1 + math.cos(math.pi * step / steps))
        e = F.normalize(tower(text_input(blob, cid, tower, device), noise=text_noise), dim=-1)
        loss = soft_ce(head(e), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    tower.eval()
    out = {"seconds": time.time() - t0, "params_text_tower": count_parameters(tower) - (count_parameters(tower.top) if tower.top else 0)}
    with torch.no_grad():
        for split in ("test", "eq_test"):
            d = blob[split]
            cids = torch.tensor([c for cs in d["captions"] for c in cs])
            tg = np.concatenate([np.repeat(d["targets"][i : i + 1].numpy(), len(cs), 0) for i, cs in enumerate(d["captions"])])
            e = torch.cat([F.normalize(tower(text_input(blob, cids[i : i + 256], tower, device)), dim=-1) for i in range(0, len(cids), 256)])
            p = torch.softmax(head(e), -1).cpu().numpy()
            m = archetype_metrics(p, tg)
            out.update({f"{split}_{k}": m[k] for k in ("mse", "cosine", "top1", "pearson")})
    return out


def ablation_path(text_noise: float, seeds: tuple[int, ...] = (0, 1, 2), tune_layers: int = 0) -> Path:
    """Where ``--ablation`` writes its runs (the report reads them back)."""
    suffix = "" if seeds == (0, 1, 2) else "_seeds" + "-".join(map(str, seeds))
    tuned = f"_tune{tune_layers}" if tune_layers else ""
    return CACHE / f"ablation_noise{text_noise:g}{tuned}{suffix}.json"


def run_ablation(blob: dict, seeds=(0, 1, 2), steps: int = 300, device="cpu", text_noise: float = TEXT_NOISE,
                 tune_layers: int = 0) -> dict:
    res: dict = {}
    for att in ("quantum", "classical", "none"):
        runs = [train_text_only(blob, att, s, steps, device, text_noise=text_noise, tune_layers=tune_layers) for s in seeds]
        res[att] = runs
        agg = {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs]))) for k in runs[0]}
        log("ablation", att, {k: f"{v[0]:.4f}±{v[1]:.4f}" for k, v in agg.items()})
    return res


# ------------------------------------------------------------------------------- saving
def save(model: LSTMABARModel, blob: dict, metrics: dict, info: dict, out_dir: Path = WEIGHTS_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    torch.save({"config": model.cfg.to_dict(), "state_dict": sd, "metrics": metrics, "train": info}, out_dir / "lstmabar.pt")
    # bank for out-of-distribution checks: training vocabulary and a sample of training captions
    caps = sorted({c for cs in blob["train"]["captions"] for c in cs})
    rng = random.Random(0)
    sample = rng.sample(caps, min(1500, len(caps)))
    torch.save({
        "vocab": blob["vocab"], "vocab_vecs": blob["vocab_vecs"].half(),
        "captions": [blob["caption_text"][i] for i in sample], "caption_vecs": blob["caption_vecs"][sample].half(),
    }, out_dir / "ood_bank.pt")
    log("saved weights to", out_dir)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=25.0, help="training time budget")
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=None, help="plan the schedule for exactly this many steps (--minutes stays a hard cap)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--attention", default="none", choices=["quantum", "classical", "none"],
                    help="text attention block; 'none' won the ablation here (see MODEL_CARD.md)")
    ap.add_argument("--text-noise", type=float, default=TEXT_NOISE)
    ap.add_argument("--tune-layers", type=int, default=TUNE_LAYERS,
                    help="MiniLM's last layers fine-tuned in the text tower (0 keeps MiniLM frozen)")
    ap.add_argument("--tune-lr", type=float, default=TUNE_LR)
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--ablation", action="store_true", help="run the text-tower ablation and exit")
    ap.add_argument("--ablation-steps", type=int, default=300)
    ap.add_argument("--ablation-seeds", default="0,1,2", help="comma-separated seeds of the ablation")
    ap.add_argument("--ablation-tune-layers", type=int, default=0,
                    help="run the ablation with MiniLM's last layers tuned (the shipped recipe: 2) or frozen (0)")
    ap.add_argument("--small", action="store_true", help="tiny data (smoke test)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LSTMABAR_THREADS", "1")))
    ap.add_argument("--out", default=str(WEIGHTS_DIR))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    path = prepare(seed=args.seed, small=args.small)
    if args.prepare_only:
        return
    blob = torch.load(path, weights_only=False)
    if args.ablation:
        seeds = tuple(int(x) for x in args.ablation_seeds.split(","))
        tune = args.ablation_tune_layers
        res = run_ablation(blob, seeds=seeds, steps=args.ablation_steps, device=device, text_noise=args.text_noise, tune_layers=tune)
        ablation_path(args.text_noise, seeds, tune).write_text(json.dumps(res, indent=1))
        return
    cfg = ModelConfig(attention=args.attention, tune_layers=args.tune_layers)
    model, info = train_joint(blob, cfg, minutes=args.minutes, max_steps=args.steps or args.max_steps, seed=args.seed,
                              device=device, batch=args.batch, text_noise=args.text_noise, fixed_steps=args.steps is not None,
                              tune_lr=args.tune_lr)
    metrics = evaluate(model, blob, device, "test")
    metrics.update(evaluate(model, blob, device, "eq_test", prefix="eq_"))
    log(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    info["data"] = {s: len(blob[s]["captions"]) for s in ("train", "test", "eq_test")}
    save(model.cpu(), blob, metrics, info, Path(args.out))


if __name__ == "__main__":
    main()
