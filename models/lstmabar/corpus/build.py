"""``lstmabar data build --out DIR [--scale small|full] [--seed N] [--jobs N] [--audio eval|all|none]``:
render, measure, caption and cache the v2 corpus outside the repository.

Steps: install the Debian sources when missing (root + apt-get); plan every clip and triplet
(``plan.py``); render them in shards of ``SHARD`` items (in parallel with ``--jobs``), each shard
measured with library.descriptors (``describe_batch``, ``words``, ``compare``), its full-band log-mels
computed once (``features.FullBandLogMel``) and its captions written; then ``clips.jsonl``,
``triplets.jsonl`` and ``manifest.json`` (sources and their SHA-256, licences, the holdout lists,
counts, timings). A shard already on disk with the same specs is kept, so an interrupted build
resumes and a rebuild is free. ``--fraction F`` builds every (1/F)-th item and extrapolates the
full build's time (written to the manifest; nothing else is comparable to a full build then).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import random
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import captions as cap
from . import plan as plan_mod
from . import split
from .effects import EFFECT_NOUN, apply_effect, load_contributions, word_means
from .gm import KITS, PERCUSSION, PROGRAMS, note_name, register
from .render import (
    CLIP_S,
    LICENCES,
    NOT_AVAILABLE,
    SAMPLE_RATE,
    SoundFontRenderer,
    ensure_debian_packages,
    file_sha256,
    find_soundfont,
    tinysoundfont_available,
)
from .samples import SAMPLES_DIR, describe_sample, list_samples, load_sample

VERSION = 1
SHARD = 256
PEAK = 0.5  # every dry clip is scaled to this peak (-6 dBFS), leaving room for EQ boosts
PROCESSED_MAX_PEAK = 0.99
SILENT_PEAK = 1e-4
AUDIO_CHOICES = ("eval", "all", "none")


def log(*a: Any) -> None:
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- rendering
class Sources:
    """Renderers and samples, opened lazily in each process."""

    def __init__(self, soundfonts: dict[str, str], samples_dir: str):
        self.paths = soundfonts
        self.samples_dir = Path(samples_dir)
        self._r: dict[str, SoundFontRenderer] = {}
        self._s: dict[str, np.ndarray] = {}

    def renderer(self, name: str) -> SoundFontRenderer:
        if name not in self._r:
            self._r[name] = SoundFontRenderer(self.paths[name], SAMPLE_RATE)
        return self._r[name]

    def sample(self, name: str) -> np.ndarray:
        if name not in self._s:
            self._s[name] = load_sample(name, SAMPLE_RATE, self.samples_dir)
        return self._s[name]


def render_clip(spec: dict, src: Sources) -> tuple[np.ndarray, float]:
    """(mono float32 clip scaled to ``PEAK``, the gain applied); silent clips come back unscaled."""
    n = round(CLIP_S * SAMPLE_RATE)
    if spec["source"] == "sonicpi":
        x = src.sample(spec["sample"])
        off = round(spec["offset_s"] * SAMPLE_RATE)
        y = np.zeros(n, np.float32)
        seg = x[off : off + n]
        y[: len(seg)] = seg
    elif spec["kind"] == "drum":
        y = src.renderer(spec["source"]).render([tuple(e) for e in spec["events"]], spec["kit"], drums=True, seconds=CLIP_S)
    else:
        y = src.renderer(spec["source"]).render([tuple(e) for e in spec["events"]], spec["program"], seconds=CLIP_S)
    peak = float(np.abs(y).max()) if len(y) else 0.0
    if peak < SILENT_PEAK:
        return y.astype(np.float32), 1.0
    g = PEAK / peak
    return (y * g).astype(np.float32), g


def render_triplet(spec: dict, dry: np.ndarray) -> tuple[np.ndarray, float]:
    y = apply_effect(spec["effect"], spec["values"], spec["amount"], dry, SAMPLE_RATE)
    peak = float(np.abs(y).max())
    g = PROCESSED_MAX_PEAK / peak if peak > PROCESSED_MAX_PEAK else 1.0
    return (y * g).astype(np.float32), g


# ----------------------------------------------------------------------------- measuring
def measure(audio: np.ndarray) -> list[dict[str, Any]]:
    """Per clip: the flat descriptors (rounded) and the producer words with their evidence."""
    from lstmabar.library.descriptors import describe_batch, words

    rows: list[dict[str, Any]] = []
    for i in range(0, len(audio), 64):
        d = describe_batch(audio[i : i + 64], SAMPLE_RATE)
        for j in range(len(audio[i : i + 64])):
            row = {k: (float(f"{float(v[j]):.6g}") if np.isfinite(v[j]) else None) for k, v in d.items()}
            ws = [{"word": w.word, "descriptor": w.descriptor, "percentile": w.percentile, "evidence": w.evidence}
                  for w in words({**row, "silent": False})]
            rows.append({"descriptors": row, "words": ws})
    return rows


def compare_rows(a: dict, b: dict) -> list[dict[str, Any]]:
    from lstmabar.library.descriptors import compare

    return [{"word": d.word, "descriptor": d.descriptor, "evidence": d.evidence}
            for d in compare({**a, "silent": False}, {**b, "silent": False})]


_FRONT_END = None


def mels_of(audio: np.ndarray) -> np.ndarray:
    import torch

    from ..features import FullBandLogMel

    global _FRONT_END
    if _FRONT_END is None:
        _FRONT_END = FullBandLogMel()
    with torch.no_grad():
        out = [_FRONT_END(torch.from_numpy(audio[i : i + 64]), SAMPLE_RATE)[:, 0] for i in range(0, len(audio), 64)]
    return torch.cat(out).numpy().astype(np.float16)


# ----------------------------------------------------------------------------- captions
def clip_values(spec: dict) -> tuple[str, dict[str, str]]:
    """(caption kind, known fields) of a clip spec."""
    if spec["source"] == "sonicpi":
        return "sample", {"name": describe_sample(spec["sample"]), "unit": "sample"}
    vel = spec.get("velocity", 80)
    dyn = "softly" if vel <= 50 else ("forcefully" if vel >= 100 else "")
    velw = "low" if vel <= 50 else ("high" if vel >= 100 else "")
    if spec["kind"] == "drum":
        return "drum", {"name": PERCUSSION[spec["drum_note"]], "kit": KITS.get(spec["kit"], ""), "dyn": dyn, "vel": velw, "unit": "hit"}
    p = PROGRAMS[spec["program"]]
    low = min(e[0] for e in spec["events"])
    if p.decaying:
        art = "struck" if p.struck else "plucked"
    else:
        art = {"staccato": "staccato", "long": "long held"}.get(spec.get("length", ""), "")
    vals = {"name": p.name, "unit": p.unit, "family": p.family, "pitch": note_name(low), "reg": register(low),
            "dyn": dyn, "vel": velw, "art": art}
    if spec["kind"] == "chord":
        vals["chord"] = f"{note_name(low)[:-1]} {spec['chord']}"
        vals["unit"] = "chord"
    if spec["kind"] == "phrase":
        vals["phrase"] = spec["phrase"]
        vals["unit"] = "phrase"
    return spec["kind"], vals


def _templates(kind: str, train: bool) -> list[str]:
    all_t = cap.TEMPLATES[kind]
    held = split.held_out_templates(kind, all_t)
    return [t for t in all_t[1:] if (t in held) != train]


def clip_captions(spec: dict, measured: list[dict], rng: random.Random, n: int) -> list[str]:
    kind, vals = clip_values(spec)
    train = spec["split"] == "train"
    allowed = (lambda w: split.caption_is_trainable(w)) if train else None
    vals.update(cap.word_values(cap.measured_words(measured, allowed)))
    accept = split.caption_is_trainable if train else None
    return cap.make_captions(kind, vals, _templates(kind, train), rng, n if train else 3, accept=accept)


def triplet_captions(spec: dict, dry_spec: dict, proc_words: list[dict], diffs: list[dict], rng: random.Random,
                     n: int) -> tuple[list[str], list[str], list[str]]:
    """(captions, crowd words the measured change contradicts, words only its absolute description contradicts)."""
    train = spec["split"] == "train"
    _, dv = clip_values(dry_spec)
    words = [w for w in spec["words"] if not train or split.caption_is_trainable(w)]
    relative, absolute = cap.contradictions(words, diffs, proc_words)
    words = [w for w in words if w not in relative]
    if not words:
        return [], relative, absolute
    rng.shuffle(words)
    w = " and ".join(words[:2])
    diff = next((d["word"] for d in diffs if d["descriptor"] not in cap.LEVEL_AXES
                 and (not train or split.caption_is_trainable(d["word"]))), "")
    vals = {"name": dv["name"], "unit": dv.get("unit", "sound"), "w": w, "effect": EFFECT_NOUN[spec["effect"]], "diff": diff}
    temps = _templates("triplet", train)
    if any(x in absolute for x in words[:2]):
        temps = [t for t in temps if t not in cap.ABSOLUTE]
    accept = split.caption_is_trainable if train else None
    return cap.make_captions("triplet", vals, temps, rng, n if train else 3, accept=accept), relative, absolute


# ----------------------------------------------------------------------------- shards
def _spec_sha(specs: list[dict]) -> str:
    return hashlib.sha256(json.dumps(specs, sort_keys=True).encode()).hexdigest()[:16]


def _keep_audio(mode: str, spec: dict) -> bool:
    return mode == "all" or (mode == "eval" and spec["split"] != "train")


def _write_shard(path: Path, sha: str, ids: list[str], mels: np.ndarray, audio: np.ndarray | None, keep: list[bool], rows: list[dict]) -> None:
    arrays = {"ids": np.asarray(ids), "spec_sha": np.asarray(sha), "mels": mels}
    if audio is not None and any(keep):
        idx = np.flatnonzero(keep)
        arrays["audio_ids"] = np.asarray([ids[i] for i in idx])
        arrays["audio"] = np.clip(np.round(audio[idx] * 32767.0), -32768, 32767).astype(np.int16)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    with open(path.with_suffix(".jsonl.tmp"), "w") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    os.replace(path.with_suffix(".jsonl.tmp"), path.with_suffix(".jsonl"))
    os.replace(tmp, path)


def _shard_done(path: Path, sha: str) -> bool:
    if not (path.is_file() and path.with_suffix(".jsonl").is_file()):
        return False
    try:
        with np.load(path) as z:
            return str(z["spec_sha"]) == sha
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # a shard cut off mid-write is rebuilt
        return False


def process_clip_shard(job: dict) -> dict:
    t0 = time.time()
    path, specs = Path(job["path"]), job["specs"]
    sha = _spec_sha(specs)
    if _shard_done(path, sha):
        return {"path": str(path), "n": len(specs), "seconds": 0.0, "cached": True}
    _threads()
    src = Sources(job["soundfonts"], job["samples_dir"])
    audio, gains, kept = [], [], []
    for s in specs:
        y, g = render_clip(s, src)
        if float(np.abs(y).max()) >= SILENT_PEAK:
            audio.append(y)
            gains.append(g)
            kept.append(s)
    x = np.stack(audio) if audio else np.zeros((0, int(CLIP_S * SAMPLE_RATE)), np.float32)
    meas = measure(x) if len(x) else []
    mels = mels_of(x) if len(x) else np.zeros((0, 128, 1), np.float16)
    rows = []
    for i, (s, m, g) in enumerate(zip(kept, meas, gains)):
        rng = random.Random(f"{job['seed']}:{s['id']}")
        low = min(e[0] for e in s["events"]) if "events" in s else None
        row = {**s, "gain": round(g, 6), "descriptors": m["descriptors"], "words": m["words"],
               "captions": clip_captions(s, m["words"], rng, job["captions"]), "shard": path.name, "row": i}
        if s.get("program") is not None:
            p = PROGRAMS[s["program"]]
            row.update({"gm_name": p.gm_name, "name": p.name, "family": p.family, "unit": p.unit})
        elif s["kind"] == "drum":
            row.update({"name": PERCUSSION[s["drum_note"]], "family": "drum kit", "unit": "hit", "kit_name": KITS.get(s["kit"], "")})
        else:
            row.update({"name": describe_sample(s["sample"]), "family": "sample", "unit": "sample"})
        if low is not None:
            row.update({"pitch": note_name(low), "register": register(low)})
        rows.append(row)
    keep = [_keep_audio(job["audio"], s) for s in kept]
    _write_shard(path, sha, [s["id"] for s in kept], mels, x, keep, rows)
    return {"path": str(path), "n": len(specs), "kept": len(kept), "seconds": time.time() - t0, "cached": False}


def process_triplet_shard(job: dict) -> dict:
    t0 = time.time()
    path, specs, dry_specs = Path(job["path"]), job["specs"], job["dry_specs"]
    sha = _spec_sha(specs)
    if _shard_done(path, sha):
        return {"path": str(path), "n": len(specs), "seconds": 0.0, "cached": True}
    _threads()
    src = Sources(job["soundfonts"], job["samples_dir"])
    dry_rows = job.get("dry_rows", {})
    dry_audio = {d: render_clip(dry_specs[d], src)[0] for d in sorted({s["dry"] for s in specs})}
    missing = [d for d in dry_audio if d not in dry_rows]
    if missing:  # a fraction build may not have measured the dry clip
        for d, m in zip(missing, measure(np.stack([dry_audio[d] for d in missing]))):
            dry_rows[d] = m["descriptors"]
    out, gains = [], []
    for s in specs:
        y, g = render_triplet(s, dry_audio[s["dry"]])
        out.append(y)
        gains.append(g)
    x = np.stack(out)
    meas = measure(x)
    mels = mels_of(x)
    rows = []
    for i, (s, m, g) in enumerate(zip(specs, meas, gains)):
        rng = random.Random(f"{job['seed']}:{s['id']}")
        diffs = compare_rows(dry_rows[s["dry"]], m["descriptors"])
        caps, rel, ab = triplet_captions(s, dry_specs[s["dry"]], m["words"], diffs, rng, job["captions"])
        rows.append({**s, "gain": round(g, 6), "descriptors": m["descriptors"], "measured_words": m["words"],
                     "differences": diffs, "contradicted": rel, "contradicted_absolute": ab, "captions": caps,
                     "shard": path.name, "row": i})
    keep = [_keep_audio(job["audio"], s) for s in specs]
    _write_shard(path, sha, [s["id"] for s in specs], mels, x, keep, rows)
    return {"path": str(path), "n": len(specs), "seconds": time.time() - t0, "cached": False}


def _threads() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _run(jobs: list[dict], fn, n_jobs: int, label: str) -> list[dict]:
    results = []
    if n_jobs <= 1:
        for k, j in enumerate(jobs):
            results.append(fn(j))
            log(f"{label} shard {k + 1}/{len(jobs)} ({results[-1]['seconds']:.1f} s{' cached' if results[-1]['cached'] else ''})")
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # an executor, not a Pool: a worker that dies (out of memory) stops the build with an error instead of a hang.
    # The callers' scripts need the usual `if __name__ == "__main__":` guard (spawned workers import them).
    with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn")) as pool:
        for k, r in enumerate(pool.map(fn, jobs)):
            results.append(r)
            log(f"{label} shard {k + 1}/{len(jobs)} ({r['seconds']:.1f} s{' cached' if r['cached'] else ''})")
    return results


def _merge(out: Path, prefix: str, n_shards: int) -> list[dict]:
    rows = []
    for k in range(n_shards):
        with open(out / "shards" / f"{prefix}-{k:05d}.jsonl") as f:
            rows += [json.loads(line) for line in f]
    with open(out / f"{prefix}.jsonl", "w") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    return rows


# ----------------------------------------------------------------------------- the build
def build(out: Path, scale: str = "small", seed: int = 0, *, jobs: int = 1, audio: str = "eval", fraction: float = 1.0,
          soundfonts: dict[str, str] | None = None, samples_dir: str | None = None, scale_override: plan_mod.Scale | None = None,
          install: bool = True, effects: bool = True) -> dict:
    """Build the corpus under ``out``; returns the manifest. ``soundfonts`` / ``samples_dir`` override
    the Debian sources (tests use a tiny generated soundfont); ``scale_override`` a custom scale."""
    t_start = time.time()
    out = Path(out).expanduser().resolve()
    (out / "shards").mkdir(parents=True, exist_ok=True)
    if audio not in AUDIO_CHOICES:
        raise ValueError(f"--audio must be one of {AUDIO_CHOICES}")
    if not tinysoundfont_available():
        raise RuntimeError(NOT_AVAILABLE)
    if soundfonts is None:
        if install:
            still = ensure_debian_packages(log)
            if still:
                log(f"missing sources (not root or no apt-get?): {', '.join(still)}")
        soundfonts = {k: str(p) for k in ("fluidr3", "timgm6mb") if (p := find_soundfont(k)) is not None}
    if "fluidr3" not in soundfonts:
        raise RuntimeError("FluidR3_GM.sf2 not found: install Debian's fluid-soundfont-gm (as root, `lstmabar data build` does it)")
    sdir = Path(samples_dir) if samples_dir is not None else SAMPLES_DIR
    import soundfile as sf

    samples = [(n, sf.info(str(sdir / f"{n}.flac")).duration) for n in list_samples(sdir)] if sdir.is_dir() else []
    sc = scale_override or plan_mod.SCALES[scale]
    log(f"planning the {scale} corpus (seed {seed})")
    clips_all = plan_mod.plan_clips(sc, seed, samples, shift="timgm6mb" in soundfonts)
    contributions = load_contributions() if effects else ()
    means_cache: dict[str, dict] = {}

    def means(effect: str):
        if effect not in means_cache:
            means_cache[effect] = word_means(contributions, effect)
        return means_cache[effect]

    trip_all = plan_mod.plan_triplets(clips_all, contributions, sc, seed, means) if effects else []
    clips = plan_mod.subsample(clips_all, fraction)
    trips = plan_mod.subsample(trip_all, fraction)
    by_id = {c["id"]: c for c in clips_all}
    common = {"seed": seed, "audio": audio, "captions": sc.captions, "soundfonts": soundfonts, "samples_dir": str(sdir)}
    cjobs = [{**common, "path": str(out / "shards" / f"clips-{k:05d}.npz"), "specs": clips[i : i + SHARD]}
             for k, i in enumerate(range(0, len(clips), SHARD))]
    log(f"{len(clips)} clips in {len(cjobs)} shards, {len(trips)} triplets")
    t0 = time.time()
    cres = _run(cjobs, process_clip_shard, jobs, "clips")
    t_clips = time.time() - t0
    clip_rows = _merge(out, "clips", len(cjobs))
    dry_rows = {r["id"]: r["descriptors"] for r in clip_rows}
    tjobs = []
    for k, i in enumerate(range(0, len(trips), SHARD)):
        part = trips[i : i + SHARD]
        drys = {s["dry"] for s in part}
        tjobs.append({**common, "path": str(out / "shards" / f"triplets-{k:05d}.npz"), "specs": part,
                      "dry_specs": {d: by_id[d] for d in drys}, "dry_rows": {d: dry_rows[d] for d in drys if d in dry_rows}})
    t0 = time.time()
    tres = _run(tjobs, process_triplet_shard, jobs, "triplets")
    t_trips = time.time() - t0
    trip_rows = _merge(out, "triplets", len(tjobs))
    manifest = _manifest(out, scale, sc, seed, fraction, audio, jobs, soundfonts, sdir, clips_all, trip_all, clip_rows, trip_rows,
                         cres, tres, t_clips, t_trips, time.time() - t_start)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"done: {manifest['counts']}")
    return manifest


def _manifest(out, scale, sc, seed, fraction, audio, jobs, soundfonts, sdir, clips_all, trip_all, clip_rows, trip_rows,
              cres, tres, t_clips, t_trips, total) -> dict:
    from ..features import (
        FULL_FMAX,
        FULL_FMIN,
        FULL_HOP,
        FULL_N_FFT,
        FULL_N_MELS,
        FULL_SAMPLE_RATE,
    )

    def count(rows, key):
        c: dict[str, int] = {}
        for r in rows:
            c[str(r[key])] = c.get(str(r[key]), 0) + 1
        return c

    computed_c = [r for r in cres if not r["cached"]]
    computed_t = [r for r in tres if not r["cached"]]
    per_clip = sum(r["seconds"] for r in computed_c) / max(1, sum(r["n"] for r in computed_c))
    per_trip = sum(r["seconds"] for r in computed_t) / max(1, sum(r["n"] for r in computed_t))
    crowd = split.held_out_crowd_words()
    vocab = split.crowd_vocabulary()
    srcs = {k: {"path": v, "sha256": file_sha256(Path(v)), "licence": LICENCES[k]} for k, v in soundfonts.items()}
    if Path(sdir).is_dir():
        srcs["sonicpi"] = {"path": str(sdir), "files": len(list_samples(sdir)), "licence": LICENCES["sonicpi"],
                           "attributions": str(Path(sdir) / "README.md")}
    srcs["crowd"] = {"path": str(split.SHARED_DATA), "licence": "SocialFX (Zheng, Seetharaman & Pardo 2016; no licence published, cited) "
                     "and Audealize (Seetharaman & Pardo; the Audealize plugin is GPL-2.0)"}
    import importlib.metadata as md

    versions = {}
    for pkg in ("tinysoundfont", "pedalboard", "librosa", "numpy", "torch"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return {
        "version": VERSION,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["lstmabar", "data", "build", "--out", str(out), "--scale", scale, "--seed", str(seed)]
                            + ([f"--fraction {fraction}"] if fraction < 1 else [])),
        "scale": scale, "scale_params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in sc.__dict__.items()},
        "seed": seed, "fraction": fraction, "audio": audio, "jobs": jobs,
        "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_S, "dry_peak": PEAK,
        "front_end": {"module": "models.lstmabar.features.FullBandLogMel", "sample_rate": FULL_SAMPLE_RATE, "n_fft": FULL_N_FFT,
                      "hop": FULL_HOP, "n_mels": FULL_N_MELS, "fmin": FULL_FMIN, "fmax": FULL_FMAX, "dtype": "float16"},
        "sources": srcs,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "packages": versions,
        "holdout": {
            "salt": split.SALT,
            "programs": [{"number": p.number, "gm_name": p.gm_name, "name": p.name} for p in PROGRAMS if p.number in split.held_out_programs()],
            "program_share": len(split.held_out_programs()) / len(PROGRAMS),
            "drum_notes": [{"note": k, "name": PERCUSSION[k]} for k in sorted(split.held_out_drums())],
            "samples": sorted(split.held_out_samples([n for n in list_samples(sdir)])) if Path(sdir).is_dir() else [],
            "soundfonts": list(split.HELD_OUT_SOUNDFONTS),
            "crowd_words": {e: list(ws) for e, ws in crowd.items()},
            "crowd_word_share": {e: len(crowd[e]) / max(1, len(vocab[e])) for e in crowd},
            "crowd_vocabulary_size": {e: len(vocab[e]) for e in vocab},
            "phrasings": {k: sorted(split.held_out_templates(k, t)) for k, t in cap.TEMPLATES.items()},
            "v1_protected_words": sorted(split.v1_protected()),
        },
        "counts": {
            "clips_planned": len(clips_all), "triplets_planned": len(trip_all),
            "clips": len(clip_rows), "triplets": len(trip_rows),
            "clips_by_split": count(clip_rows, "split"), "clips_by_source": count(clip_rows, "source"),
            "clips_by_kind": count(clip_rows, "kind"), "triplets_by_split": count(trip_rows, "split"),
            "triplets_by_effect": count(trip_rows, "effect"),
            "triplets_without_captions": sum(1 for r in trip_rows if not r["captions"]),
            "triplets_with_contradicted_words": sum(1 for r in trip_rows if r["contradicted"]),
            "clips_silent_dropped": sum(r.get("n", 0) - r.get("kept", r.get("n", 0)) for r in cres),
        },
        "timing": {
            "seconds_total": round(total, 1), "seconds_clips": round(t_clips, 1), "seconds_triplets": round(t_trips, 1),
            "seconds_per_clip": round(per_clip, 4), "seconds_per_triplet": round(per_trip, 4),
            "estimated_full_seconds_one_core": round(per_clip * len(clips_all) + per_trip * len(trip_all), 0),
        },
        "files": {"clips": "clips.jsonl", "triplets": "triplets.jsonl", "shards": "shards/{clips,triplets}-NNNNN.npz (ids, mels, audio_ids, audio int16)"},
        "complete": fraction >= 1.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lstmabar data build",
                                 description="Render, measure, caption and cache the LSTMABAR v2 corpus outside the repository "
                                             "(needs tinysoundfont: pip install --no-deps tinysoundfont).")
    ap.add_argument("--out", required=True, help="folder for the corpus (outside the repository)")
    ap.add_argument("--scale", choices=sorted(plan_mod.SCALES), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="processes (shards are independent; the result does not depend on it)")
    ap.add_argument("--audio", choices=AUDIO_CHOICES, default="eval",
                    help="keep waveforms for: eval (every clip not in the training split; default), all, none (any clip can be re-rendered from its spec)")
    ap.add_argument("--fraction", type=float, default=1.0, help="build every (1/F)-th item only and extrapolate the full build time")
    ap.add_argument("--no-install", action="store_true", help="do not try to install missing Debian packages")
    a = ap.parse_args(argv)
    if not 0 < a.fraction <= 1:
        ap.error("--fraction must be in (0, 1]")
    repo = Path(__file__).resolve().parents[3]
    out = Path(a.out).expanduser().resolve()
    if out == repo or repo in out.parents:
        ap.error(f"--out {out} is inside the repository ({repo}); put the corpus elsewhere")
    try:
        m = build(out, a.scale, a.seed, jobs=a.jobs, audio=a.audio, fraction=a.fraction, install=not a.no_install)
    except RuntimeError as e:  # a missing renderer or soundfont: say what to install
        print(f"lstmabar data build: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"out": str(out), "counts": m["counts"], "timing": m["timing"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
