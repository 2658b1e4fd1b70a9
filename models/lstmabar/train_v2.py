"""LSTMABAR v2 training: a full-band audio tower (44.1 kHz, 128 mel bands to 20 kHz) trained on the
real-sound corpus (``lstmabar data build``), the crowd's effects on it and the v1 recipe rendered at
44.1 kHz, into the v1 model's joint space.

What is trained, and why:
- **Audio tower** (new, from scratch): the v1 ResNet layout on the full-band log-mel, average-pooled
  2x2 so a CPU step costs what a v1 step did.
- **Text tower**: MiniLM with the v1 weights' two tuned layers, frozen here (so its 384-d sentence
  vectors are computed once), then the v1 projection, trained further.
- **Losses**: symmetric InfoNCE (learnable temperature) over captions of real clips, of the crowd's
  processed clips and of the v1 recipe; the archetype head on both towers for the v1 recipe (whose
  targets are known); a **directional** InfoNCE on (dry, processed, words) triplets, which aligns
  E_audio(processed) - E_audio(dry) with E_text(described) - E_text(anchor) (Text2FX's directional
  loss, here as training signal); and a head that predicts the clip's measured descriptors.

Nothing from the corpus is needed at run time. Command (MODEL_CARD.md):
    python -m lstmabar.models.lstmabar.train_v2 --corpus ~/lstmabar-corpus --minutes 60
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

from .corpus.gm import article
from .directions import direction_pairs, frozen_sentences, name_query
from .model import LSTMABARModel, ModelConfig, count_parameters, info_nce, soft_ce

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "lstmabar"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CLIP_SECONDS = 2.0
MEL_POOL = 2

# descriptor -> transform before standardising (what the descriptor head predicts)
DESCRIPTORS: dict[str, str] = {
    "centroid_hz": "log10", "rolloff85_hz": "log10", "bandwidth_hz": "log10", "flatness": "log10",
    "attack_s": "log10", "sounding_s": "raw", "reverb_time_s": "log10", "decay_db_per_s": "raw",
    "slope_db_per_octave": "raw", "transient_db": "raw", "am_depth_db": "raw",
    "band_sub_db": "shape", "band_low_db": "shape", "band_low_mid_db": "shape", "band_mid_db": "shape",
    "band_high_mid_db": "shape", "band_presence_db": "shape", "band_air_db": "shape",
}
_FLOORS = {"flatness": 1e-8, "attack_s": 1e-3, "reverb_time_s": 1e-2}


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def descriptor_vector(d: dict) -> np.ndarray:
    """One corpus row's descriptors -> transformed values (NaN where unmeasured). 'shape' bands are
    relative to the mean of the seven bands, so level does not leak into spectral shape."""
    bands = [k for k, t in DESCRIPTORS.items() if t == "shape"]
    vals = [d.get(k) for k in bands]
    mean = float(np.mean(vals)) if all(v is not None for v in vals) else float("nan")
    out = []
    for k, t in DESCRIPTORS.items():
        v = d.get(k)
        if v is None or not np.isfinite(v):
            out.append(float("nan"))
        elif t == "log10":
            out.append(math.log10(max(float(v), _FLOORS.get(k, 1.0))))
        elif t == "shape":
            out.append(float(v) - mean)
        else:
            out.append(float(v))
    return np.asarray(out, dtype=np.float32)


def pool(mel: torch.Tensor) -> torch.Tensor:
    """(N, bands, frames) -> pooled, exactly as ``LSTMABARModel.pool`` does inside the model."""
    return F.avg_pool2d(mel[:, None].float(), MEL_POOL, ceil_mode=True)[:, 0].half()


def _fit_frames(mel: torch.Tensor, frames: int) -> torch.Tensor:
    if mel.shape[-1] >= frames:
        return mel[..., :frames]
    return F.pad(mel, (0, frames - mel.shape[-1]), value=float(mel.min()))


# ------------------------------------------------------------------------------------------------ data
def v1_recipe(seed: int = 0, small: bool = False, cache: Path = CACHE) -> Path:
    """The v1 recipe (archetype engine, Voice, recordings; crowd effects; captions) rendered at 44.1 kHz
    in 2 s clips, as full-band log-mels (unpooled), cached. Its test splits hold the same sounds, in the
    same order, as the 16 kHz recipe the v1 weights were measured on, so reports can compare the two."""
    from .data import build_dataset
    from .features import FullBandLogMel

    out = cache / f"v1_recipe_44k_{seed}{'_small' if small else ''}.pt"
    if out.is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    kw = dict(n_engine=200, n_voice=60, n_test_engine=60, n_test_voice=20) if small else {}
    ds = build_dataset(seed=seed, log=log, sample_rate=44_100, **kw)
    fe = FullBandLogMel()
    n_samples = int(CLIP_SECONDS * 44_100)
    rec = {}
    for split, exs in ds.items():
        audio = np.stack([np.pad(e.audio, (0, max(0, n_samples - len(e.audio))))[:n_samples] for e in exs]).astype(np.float32)
        with torch.no_grad():
            mels = torch.cat([fe(torch.from_numpy(audio[i : i + 128]), 44_100)[:, 0].half() for i in range(0, len(audio), 128)])
        rec[split] = {"mels_full": mels, "targets": torch.from_numpy(np.stack([e.target for e in exs])),
                      "captions": [list(e.captions) for e in exs], "source": [e.source for e in exs]}
    torch.save(rec, out)
    log("saved", out)
    return out


def full_band_mels(blob16: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """Full-band log-mels of the v1 recipe's test splits, aligned with the 16 kHz ``blob16`` of
    ``train.prepare`` (checked through the sources and the synths' targets, which must agree exactly; a
    recording's target is an analysis, which differs a little with the rate: reports use the 16 kHz one)."""
    rec = torch.load(v1_recipe(seed=seed), weights_only=False)
    out = {}
    for split in ("test", "eq_test"):
        if split not in blob16:
            continue
        synth = torch.tensor([not src.startswith("rec:") for src in blob16[split]["source"]])
        if rec[split]["source"] != blob16[split]["source"] or not torch.equal(
                rec[split]["targets"].float()[synth], blob16[split]["targets"].float()[synth]):
            raise RuntimeError(f"the 44.1 kHz v1 recipe's {split} split does not line up with the 16 kHz one")
        out[split] = rec[split]["mels_full"]
    return out


def prepare(corpus_path: Path, v1_weights: Path, cache: Path = CACHE, seed: int = 0, small_v1: bool = False) -> Path:
    """Cache everything training reads: pooled full-band log-mels of the corpus's training clips and
    processed triplets and of the v1 recipe at 44.1 kHz, their captions, descriptor targets, and the
    v1 text tower's (frozen) sentence vectors of every text."""
    from .corpus.store import Corpus
    from .embedder import load_lstmabar_embedder

    corpus = Corpus(corpus_path)
    key = hashlib.sha1(f"{corpus.manifest.get('created')}:{len(corpus.clips)}:{len(corpus.triplets)}:{small_v1}:{seed}".encode()).hexdigest()[:10]
    out = cache / f"v2_{key}.pt"
    if out.is_file():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    clips = [r for r in corpus.clips if r["split"] == "train" and r.get("captions")]
    trips = [t for t in corpus.triplets if t["split"] == "train" and t.get("captions")]
    by_id = {r["id"]: r for r in corpus.clips}
    trips = [t for t in trips if t["dry"] in by_id and by_id[t["dry"]]["split"] == "train"]
    log(f"corpus: {len(clips)} training clips, {len(trips)} training triplets")
    texts: list[str] = []
    index: dict[str, int] = {}

    def tid(t: str) -> int:
        if t not in index:
            index[t] = len(texts)
            texts.append(t)
        return index[t]

    mel_chunks = []
    for i in range(0, len(clips), 512):
        mel_chunks.append(pool(torch.from_numpy(corpus.mels([r["id"] for r in clips[i : i + 512]]).astype(np.float32))))
    clip_mels = torch.cat(mel_chunks)
    frames = clip_mels.shape[-1]
    clip_row = {r["id"]: i for i, r in enumerate(clips)}
    mel_chunks = []
    for i in range(0, len(trips), 512):
        mel_chunks.append(pool(torch.from_numpy(corpus.mels([t["id"] for t in trips[i : i + 512]]).astype(np.float32))))
    trip_mels = torch.cat(mel_chunks) if mel_chunks else torch.zeros(0, *clip_mels.shape[1:], dtype=torch.half)
    log("corpus log-mels", tuple(clip_mels.shape), tuple(trip_mels.shape))

    desc_clip = np.stack([descriptor_vector(r.get("descriptors") or {}) for r in clips])
    desc_trip = np.stack([descriptor_vector(t.get("descriptors") or {}) for t in trips]) if trips else np.zeros((0, len(DESCRIPTORS)), np.float32)
    trip_dirs = []
    for t in trips:
        d = by_id[t["dry"]]
        name, unit = d.get("name") or "sound", d.get("unit") or "sound"
        pairs = [(tid(a), tid(b)) for w in t["words"] for a, b in direction_pairs(name, unit, w)]
        trip_dirs.append(pairs)

    # the v1 recipe at 44.1 kHz: archetype targets and captions
    rec = torch.load(v1_recipe(seed=seed, small=small_v1, cache=cache), weights_only=False)
    v1 = {}
    for split in ("train", "test"):
        r = rec[split]
        v1[split] = {"mels": _fit_frames(pool(r["mels_full"]), frames), "targets": r["targets"],
                     "captions": [[tid(c) for c in cs] for cs in r["captions"]], "source": r["source"]}
        log(f"v1 recipe {split}: {len(r['captions'])} sounds")

    clip_caps = [[tid(c) for c in r["captions"]] for r in clips]
    trip_caps = [[tid(c) for c in t["captions"]] for t in trips]
    log(f"encoding {len(texts)} texts with the v1 text tower's MiniLM")
    emb = load_lstmabar_embedder(str(v1_weights), device="cpu")
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths together: less padding
    vecs = torch.zeros(len(texts), 384)
    with torch.no_grad():
        for i in range(0, len(texts), 256):
            idx = order[i : i + 256]
            chunk = [texts[j] for j in idx]
            vecs[idx] = frozen_sentences(emb.model, emb.minilm, chunk)
            if i % (256 * 40) == 0:
                log(f"  {i}/{len(texts)}")
    blob = {
        "clip_mels": clip_mels, "clip_caps": clip_caps, "clip_desc": torch.from_numpy(desc_clip),
        "clip_ids": [r["id"] for r in clips],
        "trip_mels": trip_mels, "trip_caps": trip_caps, "trip_desc": torch.from_numpy(desc_trip),
        "trip_dry": torch.tensor([clip_row.get(t["dry"], -1) for t in trips]), "trip_dirs": trip_dirs,
        "trip_words": [t["words"] for t in trips], "trip_effect": [t["effect"] for t in trips],
        "v1": v1, "texts": texts, "text_vecs": vecs.half(),
        "corpus": str(corpus_path), "corpus_created": corpus.manifest.get("created"),
    }
    torch.save(blob, out)
    log("saved", out)
    return out


# ------------------------------------------------------------------------------ same-note directions
def same_note_setup(corpus_path: Path, blob: dict, seed: int = 0, pool_size: int = 800, val_notes: int = 24,
                    effects: tuple[str, ...] = ("eq", "reverb", "compressor")) -> dict:
    """The dry-note pool and training words of same-note directional batches (``directions``), and what
    decisions are checked on: training notes outside the pool and a slice of the training words that
    same-note batches never draw (neither is test data)."""
    from .corpus import split
    from .corpus.effects import load_contributions, word_means
    from .corpus.plan import TRAIN_AMOUNTS
    from .corpus.store import Corpus
    from .directions import EFFECT_SHARE, SameNoteBatcher, is_validation_word

    corpus = Corpus(corpus_path)
    rng = np.random.default_rng(seed + 17)
    train_ids = {blob["clip_ids"][i] for i in blob["trip_dry"].tolist() if i >= 0}
    rows = sorted((corpus.by_id[i] for i in train_ids if corpus.by_id[i].get("name")), key=lambda r: r["id"])
    pick = rng.permutation(len(rows))
    pool_size = min(pool_size, len(rows) - val_notes)
    pool_rows = [rows[i] for i in pick[:pool_size]]
    val_rows = [rows[i] for i in pick[pool_size : pool_size + val_notes]]
    held = split.held_out_crowd_words()
    contributions = load_contributions()
    means, val_words = {}, {}
    for effect in ("eq", "reverb", "compressor"):
        m = {w: v for w, v in word_means(contributions, effect).items() if w not in held[effect]}
        means[effect] = {w: v for w, v in m.items() if not is_validation_word(w)}
        val_words[effect] = {w: v for w, v in m.items() if is_validation_word(w)}
    log(f"same-note pool: {len(pool_rows)} notes; words " + ", ".join(f"{e} {len(m)} (+{len(val_words[e])} validation)" for e, m in means.items()))
    shares = {e: v for e, v in EFFECT_SHARE.items() if e in effects}
    batcher = SameNoteBatcher(corpus.audio([r["id"] for r in pool_rows]), corpus.sample_rate, means, TRAIN_AMOUNTS, rng=rng, shares=shares)
    return {"batcher": batcher, "names": [(r["name"], r.get("unit") or "sound") for r in pool_rows],
            "val_audio": corpus.audio([r["id"] for r in val_rows]), "val_names": [(r["name"], r.get("unit") or "sound") for r in val_rows], "val_words": val_words, "train_words": means,
            "sample_rate": corpus.sample_rate}


def direction_check(model: LSTMABARModel, same: dict, sentences, n_words: int = 20) -> dict[str, float]:
    """Pairwise direction accuracy (as ``benchmarks/lstmabar_real``, plain text pair, pedalboard renders
    at the evaluation amount) on the validation notes, for the most-contributed training words and for
    the validation words; plus each validation note's best name among theirs (a forgetting check)."""
    from .corpus.build import mels_of, render_triplet
    from .corpus.plan import EVAL_AMOUNT
    from .directions import pairwise_accuracy

    def embed(audio: np.ndarray) -> torch.Tensor:
        return F.normalize(model.audio(pool(torch.from_numpy(mels_of(audio).astype(np.float32))).float()[:, None]), dim=-1)

    def text(texts: list[str]) -> torch.Tensor:
        return F.normalize(model.text.from_sentence(sentences(texts)), dim=-1)

    out: dict[str, float] = {}
    audio = same["val_audio"]
    model.eval()
    with torch.no_grad():
        dry = embed(audio)
        names = [name_query(n, u) for n, u in same["val_names"]]
        distinct = sorted(set(names))
        best = (dry @ text(distinct).T).argmax(1)
        out["name_top1"] = round(float(np.mean([distinct[int(b)] == q for b, q in zip(best, names)])), 4)
        for tag, pool_words in (("seen", same["train_words"]), ("val", same["val_words"])):
            for effect, m in pool_words.items():
                words = sorted(m, key=lambda w: (-m[w][1], w))[:n_words]
                if len(words) < 2:
                    continue
                da = torch.stack([embed(np.stack([render_triplet({"effect": effect, "values": m[w][0], "amount": EVAL_AMOUNT[effect]}, x)[0]
                                                  for x in audio])) - dry for w in words])
                dt = text([f"{article(w)} {w} sound" for w in words]) - text(["a sound"])
                out[f"{tag}_{effect}"] = round(pairwise_accuracy(da, dt), 4)
    model.train()
    return out


# -------------------------------------------------------------------------------------------- training
def _standardise(desc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m = torch.nanmean(desc, 0)
    s = torch.sqrt(torch.nanmean((desc - m) ** 2, 0)).clamp(min=1e-3)
    return m, s


def init_from_v1(cfg: ModelConfig, v1_weights: Path) -> LSTMABARModel:
    """A v2 model whose text tower (MiniLM top, projection), archetype head and temperature start
    from the v1 weights; the audio tower starts fresh."""
    from .embedder import load_checkpoint

    v1, _ = load_checkpoint(v1_weights)
    model = LSTMABARModel(cfg)
    model.text.load_state_dict(v1.text.state_dict())
    model.head.load_state_dict(v1.head.state_dict())
    model.logit_scale.data.copy_(v1.logit_scale.data)
    return model


def train(blob: dict, v1_weights: Path, *, minutes: float, max_steps: int, seed: int = 0, batch: int = 64,
          dir_batch: int = 32, lr: float = 1e-3, text_lr: float = 2e-4, w_dir: float = 1.0, w_desc: float = 0.5,
          widths: tuple[int, ...] = (24, 48, 96, 192), spectral_skip: bool = False,
          resume: Path | None = None, same: dict | None = None, same_k: int = 8, same_groups: int = 8,
          w_same: float = 2.0) -> tuple[LSTMABARModel, dict]:
    """``resume``: a v2 checkpoint to continue from (a second stage), with the spectral read-out added
    when ``spectral_skip`` (zero-initialised, so the stage starts from exactly that model)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = ModelConfig.from_dict(torch.load(v1_weights, map_location="cpu", weights_only=False)["config"])
    cfg = ModelConfig(dim=start.dim, attention=start.attention, q_layers=start.q_layers, head_hidden=start.head_hidden,
                      tune_layers=start.tune_layers, front_end="full", mel_pool=MEL_POOL, widths=widths,
                      descriptors=tuple(DESCRIPTORS), spectral_skip=spectral_skip)
    if resume is not None:
        from .embedder import load_checkpoint

        prev, _ = load_checkpoint(resume)
        model = LSTMABARModel(cfg)
        missing, unexpected = model.load_state_dict(prev.state_dict(), strict=False)
        if unexpected or any(not k.startswith("audio.spectral.") for k in missing):
            raise ValueError(f"{resume} is not a v2 checkpoint of this layout (missing {missing}, unexpected {unexpected})")
    else:
        model = init_from_v1(cfg, v1_weights)
    for p in model.text.top.parameters() if model.text.top is not None else []:  # v1's tuned layers stay (vectors precomputed)
        p.requires_grad_(False)
    dir_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.1)))
    # the same-note logits compare directions that differ little (one note, one effect): start sharper and let
    # the temperature move faster than the weights, or the loss sits at uniform for hundreds of steps
    same_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.03)))
    sentences = None
    if same is not None:
        from .directions import SentenceCache, soft_info_nce, text_pair

        sentences = SentenceCache(model, blob["texts"], blob["text_vecs"])
        check_before = direction_check(model, same, sentences)
        log("direction check before:", check_before)
    text_params = list(model.text.proj.parameters())
    other = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("text.")]
    opt = torch.optim.AdamW([{"params": other + [dir_scale], "lr": lr, "base_lr": lr},
                             {"params": [same_scale], "lr": 1e-2, "base_lr": 1e-2, "weight_decay": 0.0},
                             {"params": text_params, "lr": text_lr, "base_lr": text_lr}], weight_decay=1e-4)
    vecs = blob["text_vecs"].float()
    v1 = blob["v1"]["train"]
    desc_all = torch.cat([blob["clip_desc"], blob["trip_desc"]])
    d_mean, d_std = _standardise(desc_all)
    # pools for the caption batch: corpus clips, processed clips, the v1 recipe
    n_c, n_t, n_v = len(blob["clip_caps"]), len(blob["trip_caps"]), len(v1["captions"])
    share = np.array([0.45, 0.30, 0.25]) if n_t else np.array([0.7, 0.0, 0.3])
    trip_ok = np.flatnonzero(blob["trip_dry"].numpy() >= 0)
    t0 = time.time()
    planned, step, history = max_steps, 0, []
    model.train()
    while step < planned and time.time() - t0 < minutes * 60:
        if step == 20:
            per = (time.time() - t0) / 20
            planned = min(max_steps, int(minutes * 60 / per))
            log(f"{per:.2f} s/step -> {planned} steps")
        frac = step / max(planned, 1)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        k = rng.multinomial(batch, share)
        ic, it, iv = rng.integers(0, n_c, k[0]), rng.integers(0, max(n_t, 1), k[1]), rng.integers(0, n_v, k[2])
        mel = torch.cat([blob["clip_mels"][ic], blob["trip_mels"][it], v1["mels"][iv]]).float()
        cid = torch.tensor([blob["clip_caps"][i][rng.integers(len(blob["clip_caps"][i]))] for i in ic]
                           + [blob["trip_caps"][i][rng.integers(len(blob["trip_caps"][i]))] for i in it]
                           + [v1["captions"][i][rng.integers(len(v1["captions"][i]))] for i in iv])
        desc = torch.cat([blob["clip_desc"][ic], blob["trip_desc"][it]])
        # directional batch
        jt = rng.choice(trip_ok, min(dir_batch, len(trip_ok)), replace=False) if len(trip_ok) else np.array([], int)
        pairs = [blob["trip_dirs"][j][rng.integers(len(blob["trip_dirs"][j]))] for j in jt]
        dry_m = blob["clip_mels"][blob["trip_dry"][jt]].float() if len(jt) else mel[:0]
        wet_m = blob["trip_mels"][jt].float() if len(jt) else mel[:0]
        parts = [mel, dry_m, wet_m]
        if same is not None:
            grp = same["batcher"].sample(same_groups, same_k)
            parts += [pool(grp.dry[:, 0]).float(), pool(grp.wet.flatten(0, 2)).float()]
        all_mel = torch.cat(parts)[:, None]
        # augmentation: a little mel noise (no time roll: onsets and tails are what the words describe)
        all_mel = all_mel + 0.03 * torch.randn_like(all_mel)
        h = model.audio(all_mel)
        a = F.normalize(h, dim=-1)
        nb = len(mel)
        tv = F.normalize(model.text.from_sentence(vecs[cid], noise=0.04), dim=-1)
        loss_nce = info_nce(tv, a[:nb], model.logit_scale, group=cid)
        y = v1["targets"][iv]
        loss_arch = soft_ce(model.head(tv[nb - len(iv):]), y) + soft_ce(model.head(a[nb - len(iv):nb]), y) if len(iv) else tv.sum() * 0
        z = (desc - d_mean) / d_std
        ok = torch.isfinite(z)
        pred = model.descriptor_head(h[: len(desc)])
        loss_desc = F.smooth_l1_loss(pred[ok], z[ok]) if ok.any() else tv.sum() * 0
        loss_dir = tv.sum() * 0
        if len(jt) >= 4:
            da = F.normalize(a[nb + len(jt) : nb + 2 * len(jt)] - a[nb : nb + len(jt)], dim=-1)
            tp = F.normalize(model.text.from_sentence(vecs[torch.tensor([p[0] for p in pairs])]), dim=-1)
            ta = F.normalize(model.text.from_sentence(vecs[torch.tensor([p[1] for p in pairs])]), dim=-1)
            dt = F.normalize(tp - ta, dim=-1)
            words = [blob["trip_words"][j][0] for j in jt]
            group = torch.tensor([hash(w) % (2**31) for w in words])
            loss_dir = info_nce(dt, da, dir_scale, group=group)
        loss_same = tv.sum() * 0
        if same is not None and sentences is not None:
            g, k = same_groups, same_k
            off = nb + 2 * len(jt)
            a_dry, a_wet = a[off : off + g], a[off + g : off + g + g * k].view(g, k, -1)
            da_s = F.normalize(a_wet - a_dry[:, None], dim=-1)
            forms = rng.integers(0, 3, (g, k))
            described, anchor = [], []
            for gi in range(g):
                name, unit = same["names"][grp.note_index[gi]]
                for ki, w in enumerate(grp.words[gi]):
                    d_text, a_text = text_pair(name, unit, w, int(forms[gi, ki]))
                    described.append(d_text)
                    anchor.append(a_text)
            td = model.text.from_sentence(sentences(described), noise=0.04) - model.text.from_sentence(sentences(anchor))
            dt_s = F.normalize(td, dim=-1).view(g, k, -1)
            loss_same = soft_info_nce(dt_s, da_s, grp.target, same_scale)
        loss = loss_nce + loss_arch + w_desc * loss_desc + w_dir * loss_dir + w_same * loss_same
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 5.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            rec = {"step": step, "loss": round(float(loss), 4), "nce": round(float(loss_nce), 4), "arch": round(float(loss_arch), 4),
                   "desc": round(float(loss_desc), 4), "dir": round(float(loss_dir), 4), "same": round(float(loss_same), 4), "same_T": round(1 / min(same_scale.exp().item(), 100.0), 4), "T": round(1 / model.logit_scale.exp().item(), 4),
                   "s": round(time.time() - t0, 1)}
            history.append(rec)
            log(rec)
    model.eval()
    checks = {}
    if same is not None:
        checks = {"direction_check_before": check_before, "direction_check_after": direction_check(model, same, sentences)}
        log("direction check after:", checks["direction_check_after"])
        model.eval()
    info = {**checks, "steps": step, "seconds": round(time.time() - t0, 1), "resumed_from": str(resume) if resume else None,
            "spectral_skip": spectral_skip, "batch": batch, "dir_batch": dir_batch, "lr": lr,
            "same_note": {"k": same_k, "groups": same_groups, "w": w_same} if same is not None else None,
            "text_lr": text_lr, "w_dir": w_dir, "w_desc": w_desc, "seed": seed, "history": history[-40:],
            "descriptor_mean": d_mean.tolist(), "descriptor_std": d_std.tolist(), "descriptors": list(DESCRIPTORS),
            "params_audio": count_parameters(model.audio), "threads": torch.get_num_threads()}
    return model, info


def merge_bank(bank: dict, captions: list[str], vecs: torch.Tensor) -> dict:
    """The out-of-distribution bank with ``captions`` (and their frozen MiniLM vectors) appended, leaving
    out captions it already holds (so saving twice into one folder does not grow it)."""
    have = set(bank.get("captions", []))
    keep = [i for i, c in enumerate(captions) if c not in have]
    out = dict(bank)
    out["captions"] = list(bank.get("captions", [])) + [captions[i] for i in keep]
    out["caption_vecs"] = torch.cat([bank.get("caption_vecs", torch.zeros(0, vecs.shape[1])).half(), vecs[keep].half()])
    return out


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save(model: LSTMABARModel, info: dict, blob: dict, v1_bank: Path, out_dir: Path) -> Path:
    """fp16 checkpoint in the v1 format plus the out-of-distribution bank: v1's sample of its captions
    and a sample of the corpus's training captions (frozen MiniLM vectors, as the bank expects). Both
    files are written whole or not at all."""
    from .text_encoder import MiniLM

    out_dir.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    path = out_dir / "lstmabar.pt"
    bank = torch.load(v1_bank, map_location="cpu", weights_only=False) if v1_bank.is_file() else {"captions": [], "caption_vecs": torch.zeros(0, 384)}
    corpus_caps = sorted({blob["texts"][c] for cs in blob["clip_caps"] + blob["trip_caps"] for c in cs})
    sample = random.Random(0).sample(corpus_caps, min(1500, len(corpus_caps)))
    bank = merge_bank(bank, sample, MiniLM().encode(sample))
    _save_atomic({"config": model.cfg.to_dict(), "state_dict": sd, "metrics": {}, "train": info}, path)
    _save_atomic(bank, out_dir / "ood_bank.pt")
    log("saved", path, f"{path.stat().st_size / 1e6:.1f} MB")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a corpus built by `lstmabar data build`")
    ap.add_argument("--v1", type=Path, default=WEIGHTS_DIR / "lstmabar.pt", help="v1 weights the text tower starts from")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--max-steps", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--dir-batch", type=int, default=32)
    ap.add_argument("--w-dir", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--spectral-skip", action="store_true", help="add the band-profile read-out to the audio tower")
    ap.add_argument("--resume", type=Path, default=None, help="continue from this v2 checkpoint (a second stage)")
    ap.add_argument("--same-note", type=int, default=0, help="K words per note in same-note directional batches (0: off)")
    ap.add_argument("--same-groups", type=int, default=8, help="notes per same-note batch")
    ap.add_argument("--w-same", type=float, default=2.0)
    ap.add_argument("--same-effects", default="eq,reverb,compressor", help="effects same-note batches draw from")
    ap.add_argument("--text-lr", type=float, default=2e-4, help="learning rate of the text projection")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--small-v1", action="store_true", help="a tiny v1 recipe (smoke tests)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LSTMABAR_THREADS", "2")))
    ap.add_argument("--out", type=Path, required=True, help="folder for lstmabar.pt and ood_bank.pt")
    ap.add_argument("--prepare-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    v1_path = args.v1
    blob_path = prepare(args.corpus, v1_path, seed=args.seed, small_v1=args.small_v1)
    if args.prepare_only:
        return
    blob = torch.load(blob_path, weights_only=False)
    same = (same_note_setup(args.corpus, blob, seed=args.seed, effects=tuple(args.same_effects.split(",")))
            if args.same_note > 0 else None)
    model, info = train(blob, v1_path, minutes=args.minutes, max_steps=args.max_steps, seed=args.seed, batch=args.batch,
                        dir_batch=args.dir_batch, w_dir=args.w_dir, lr=args.lr, text_lr=args.text_lr, spectral_skip=args.spectral_skip,
                        resume=args.resume, same=same, same_k=args.same_note, same_groups=args.same_groups, w_same=args.w_same)
    info["command"] = "python -m lstmabar.models.lstmabar.train_v2 " + " ".join(argv if argv is not None else os.sys.argv[1:])
    info["corpus_created"] = blob.get("corpus_created")
    save(model, info, blob, v1_path.parent / "ood_bank.pt", args.out)
    (args.out / "train_v2.json").write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
