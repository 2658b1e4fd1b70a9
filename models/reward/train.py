"""Train and evaluate the reward model from the feedback store.

``lstmabar train reward [train]``: fit on all feedback and write ``reward-v{N+1}``; the manifest holds
the held-out pairwise accuracy of the same recipe fitted without the held-out split (every 5th
feedback record by a hash of its id). ``lstmabar train reward eval``: the newest (or ``--version``)
model's pairwise accuracy on feedback that arrived after its snapshot, beside its training-time
held-out figures. ``lstmabar train reward export --out F [--format parquet]``: the preference dataset
with the model's predictions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lstmabar.library.records import FeedbackRecord, SoundRecord

from .features import PARAM_DIM, FeatureStore, embedder_name
from .model import RewardNet, bt_loss
from .registry import FORMAT, RewardModel, load_version, version_paths, versions


@dataclass
class FeedbackData:
    records: list[SoundRecord] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    pairs: list[tuple[str, int, int]] = field(default_factory=list)  # (feedback id, winner, loser)
    ratings: list[tuple[str, int, int]] = field(default_factory=list)  # (feedback id, sound, rating)
    feedback: list[FeedbackRecord] = field(default_factory=list)


def collect(library, feedback: list[FeedbackRecord] | None = None) -> FeedbackData:
    data = FeedbackData()
    fbs = library.feedback() if feedback is None else feedback
    data.feedback = list(fbs)

    def idx(sid: str) -> int:
        if sid not in data.index:
            data.index[sid] = len(data.records)
            data.records.append(library.get(sid))
        return data.index[sid]

    for fb in fbs:
        if fb.preferred_over:
            data.pairs.append((fb.id, idx(fb.sound_id), idx(fb.preferred_over)))
        if fb.rating is not None:
            data.ratings.append((fb.id, idx(fb.sound_id), int(fb.rating)))
    return data


def is_test(feedback_id: str, fold: int = 0, folds: int = 5) -> bool:
    return int(hashlib.sha1(feedback_id.encode()).hexdigest(), 16) % folds == fold


def fit(
    A: torch.Tensor,
    T: torch.Tensor,
    P: torch.Tensor,
    pairs: list[tuple[int, int]],
    ratings: list[tuple[int, int]],
    *,
    epochs: int = 300,
    lr: float = 1e-2,
    weight_decay: float = 1e-3,
    hidden: int = 32,
    seed: int = 0,
) -> RewardNet:
    torch.manual_seed(seed)
    net = RewardNet(A.shape[1], P.shape[1], hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    pw = torch.tensor([p[0] for p in pairs], dtype=torch.long)
    pl = torch.tensor([p[1] for p in pairs], dtype=torch.long)
    ri = torch.tensor([r[0] for r in ratings], dtype=torch.long)
    rv = torch.tensor([r[1] for r in ratings], dtype=torch.long)
    net.train()
    for _ in range(epochs):
        opt.zero_grad()
        r = net(A, T, P)
        loss = torch.zeros(())
        if len(pairs):
            loss = loss + bt_loss(r[pw], r[pl])
        if len(ratings):
            loss = loss + net.rating_nll(r[ri], rv)
        loss.backward()
        opt.step()
    net.eval()
    return net


def pairwise_accuracy(r: torch.Tensor, pairs: list[tuple[int, int]], ratings: list[tuple[int, int]]) -> dict[str, Any]:
    """Accuracy on explicit pairs and on pairs implied by ratings (different mean ratings)."""
    explicit = [float(r[w] > r[l]) for w, l in pairs]
    by_sound: dict[int, list[int]] = {}
    for i, v in ratings:
        by_sound.setdefault(i, []).append(v)
    means = {i: sum(v) / len(v) for i, v in by_sound.items()}
    ids = sorted(means)
    implied = [
        float((r[a] > r[b]) == (means[a] > means[b]))
        for n, a in enumerate(ids)
        for b in ids[n + 1 :]
        if means[a] != means[b]
    ]
    both = explicit + implied
    return {
        "pair_accuracy": sum(explicit) / len(explicit) if explicit else None,
        "pair_count": len(explicit),
        "rating_pair_accuracy": sum(implied) / len(implied) if implied else None,
        "rating_pair_count": len(implied),
        "pairwise_accuracy": sum(both) / len(both) if both else None,
        "pairwise_count": len(both),
    }


def _snapshot(fbs: list[FeedbackRecord]) -> dict[str, Any]:
    ids = [f.id for f in fbs]
    return {
        "feedback_count": len(fbs),
        "feedback_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "last_feedback_at": max((f.created_at for f in fbs), default=None),
        "rows": [
            {"feedback_id": f.id, "sound_id": f.sound_id, "preferred_over": f.preferred_over, "rating": f.rating,
             "rater_id": f.rater_id, "created_at": f.created_at.isoformat()}
            for f in fbs
        ],
    }


def train_reward(
    library,
    embedder,
    folder: Path,
    *,
    epochs: int = 300,
    seed: int = 0,
    hidden: int = 32,
) -> RewardModel:
    """Fit on every feedback record in ``library`` and write the next version. Raises ValueError when
    there is no feedback yet."""
    t0 = time.perf_counter()
    data = collect(library)
    if not data.pairs and not data.ratings:
        raise ValueError("No feedback yet: rate some sounds (rate_feedback or the /rate page) first.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fs = FeatureStore(folder, embedder)
    A, T, P = fs.all(library, data.records)
    fs.save()
    kw = dict(epochs=epochs, seed=seed, hidden=hidden)

    train_p = [(w, l) for f, w, l in data.pairs if not is_test(f)]
    test_p = [(w, l) for f, w, l in data.pairs if is_test(f)]
    train_r = [(i, v) for f, i, v in data.ratings if not is_test(f)]
    test_r = [(i, v) for f, i, v in data.ratings if is_test(f)]
    heldout: dict[str, Any] = {"pairwise_accuracy": None, "pairwise_count": 0}
    if (test_p or test_r) and (train_p or train_r):
        net_split = fit(A, T, P, train_p, train_r, **kw)
        with torch.no_grad():
            heldout = pairwise_accuracy(net_split(A, T, P), test_p, test_r)
    net = fit(A, T, P, [(w, l) for _, w, l in data.pairs], [(i, v) for _, i, v in data.ratings], **kw)
    with torch.no_grad():
        r = net(A, T, P)
        train_acc = pairwise_accuracy(r, [(w, l) for _, w, l in data.pairs], [(i, v) for _, i, v in data.ratings])
    mean = float(r.mean())
    std = float(r.std()) if r.numel() > 1 else 1.0
    std = std if std > 1e-6 else 1.0
    seconds = time.perf_counter() - t0

    with open(folder / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        n = (versions(folder) or [0])[-1] + 1
        pt, js = version_paths(folder, n)
        snap = _snapshot(data.feedback)
        manifest = {
            "format": FORMAT,
            "version": n,
            "file": pt.name,
            "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "embedder": embedder_name(embedder),
            "emb_dim": int(A.shape[1]),
            "param_dim": PARAM_DIM,
            "sound_count": len(data.records),
            "pair_count": len(data.pairs),
            "rating_count": len(data.ratings),
            "feedback_count": snap["feedback_count"],
            "feedback_sha256": snap["feedback_sha256"],
            "last_feedback_at": snap["last_feedback_at"].isoformat() if snap["last_feedback_at"] else None,
            "heldout": heldout,
            "train_fit": train_acc,
            "settings": {"epochs": epochs, "seed": seed, "hidden": hidden, "split": "sha1(feedback_id) % 5 == 0 held out"},
            "train_seconds": round(seconds, 3),
            "snapshot": snap["rows"],
        }
        payload = {
            "format": FORMAT,
            "version": n,
            "embedder": embedder_name(embedder),
            "emb_dim": int(A.shape[1]),
            "param_dim": PARAM_DIM,
            "hidden": hidden,
            "state_dict": net.state_dict(),
            "score_mean": mean,
            "score_std": std,
        }
        tmp = js.with_name(js.name + ".partial")
        tmp.write_text(json.dumps(manifest, indent=1, default=str))
        tmp.replace(js)
        tmp = pt.with_name(pt.name + ".partial")
        torch.save(payload, tmp)
        tmp.replace(pt)
    return RewardModel(payload, manifest, pt)


def evaluate(library, embedder, model: RewardModel, folder: Path) -> dict[str, Any]:
    """Pairwise accuracy of ``model`` on feedback newer than its snapshot (never seen in training)."""
    seen = {row["feedback_id"] for row in model.manifest.get("snapshot", [])}
    fresh = [f for f in library.feedback() if f.id not in seen]
    out: dict[str, Any] = {"version": model.version, "training_heldout": model.manifest.get("heldout")}
    if not fresh:
        out.update({"new_feedback": 0, "pairwise_accuracy": None})
        return out
    data = collect(library, fresh)
    fs = FeatureStore(folder, embedder)
    A, T, P = fs.all(library, data.records)
    fs.save()
    r = model.raw(A, T, P)
    out.update({"new_feedback": len(fresh), **pairwise_accuracy(r, [(w, l) for _, w, l in data.pairs], [(i, v) for _, i, v in data.ratings])})
    return out


def _library_and_embedder(args):
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.models.embedders import load_embedder

    config = Config.from_env(
        output_dir=Path(args.output_dir).expanduser() if args.output_dir else None,
        database_url=args.database_url,
        embedder=args.embedder,
    )
    lib = SoundLibrary(config)
    emb = load_embedder(config.embedder, device=config.device, allow_downloads=config.allow_downloads)
    return config, lib, emb


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstmabar train reward", description="Reward model from the feedback store.")
    p.add_argument("action", nargs="?", choices=["train", "eval", "export"], default="train")
    p.add_argument("--output-dir", help="library folder (default: LSTMABAR_OUTPUT_DIR)")
    p.add_argument("--database-url")
    p.add_argument("--embedder", help="embedder for audio/text features (default: LSTMABAR_EMBEDDER or lstmabar)")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--version", type=int, help="eval/export: this version instead of the newest")
    p.add_argument("--out", help="export: output file")
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    from .registry import RewardRegistry, reward_dir

    config, lib, emb = _library_and_embedder(args)
    folder = reward_dir(config)
    try:
        if args.action == "train":
            try:
                model = train_reward(lib, emb, folder, epochs=args.epochs, seed=args.seed)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 1
            m = model.manifest
            print(json.dumps({k: m[k] for k in ("version", "file", "embedder", "feedback_count", "pair_count", "rating_count", "heldout", "train_seconds")}, indent=2, default=str))
            return 0
        model = load_version(folder, args.version) if args.version else RewardRegistry(folder).latest()
        if model is None:
            print(f"No reward model in {folder}; run `lstmabar train reward` first.", file=sys.stderr)
            return 1
        if not model.compatible(emb):
            print(f"Reward {model.version} was trained with embedder {model.embedder!r} ({model.emb_dim} dims); "
                  f"pass --embedder {model.embedder} (now: {embedder_name(emb)!r}).", file=sys.stderr)
            return 1
        if args.action == "eval":
            print(json.dumps(evaluate(lib, emb, model, folder), indent=2, default=str))
            return 0
        if not args.out:
            print("export needs --out FILE", file=sys.stderr)
            return 2
        from lstmabar.library.export import export_feedback

        from .guidance import record_scorer

        n = export_feedback(lib, Path(args.out), fmt=args.format, scorer=record_scorer(lib, emb, model, folder), reward_version=model.version)
        print(f"wrote {n} rows to {args.out} with predictions of reward {model.version}", file=sys.stderr)
        return 0
    finally:
        lib.close()


if __name__ == "__main__":
    raise SystemExit(main())
