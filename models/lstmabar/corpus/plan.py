"""The corpus recipe: every clip and every effect triplet as a small JSON spec, decided from the seed and
the scale alone (no audio is touched here), so a build is reproducible and any item can be rendered
again from its spec.

Clips (2 s, mono, 44.1 kHz):
- FluidR3_GM, every one of the 128 programs: single notes on a grid of pitches across the program's
  range (``gm.PROGRAMS``) at several velocities and note lengths, chords (polyphonic programs) and
  short phrases (arpeggios, scales, repeated notes, trills, leaps); every named percussion note on
  the drum kits at several velocities. Split: ``train``, or ``test`` for held-out programs and drums.
- TimGM6mb, the second soundfont, the same kinds of renders: split ``shift`` (never trained on).
- Sonic Pi samples, up to ``sample_crops`` 2 s crops each: ``train`` or ``test`` by ``split``.
Triplets (dry clip, processed clip, the crowd's words):
- ``train``: every training contribution (no held-out word) of each effect at several amounts on
  training clips, until the effect's target count;
- ``test``: every held-out crowd word's mean setting, at one amount, on the same ``eval_notes``
  held-out instrument notes (distinct held-out programs), for the directional report.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from . import split
from .gm import KITS, PERCUSSION, PROGRAMS, Program, note_name

CHORDS: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7), "minor": (0, 3, 7), "seventh": (0, 4, 7, 10), "major seventh": (0, 4, 7, 11),
    "minor seventh": (0, 3, 7, 10), "octave": (0, 12), "open fifth": (0, 7, 12), "suspended": (0, 5, 7),
}
PHRASES: dict[str, tuple[int, ...]] = {
    "rising arpeggio": (0, 4, 7, 12), "falling arpeggio": (12, 7, 4, 0), "rising scale": (0, 2, 4, 5, 7),
    "falling scale": (7, 5, 4, 2, 0), "repeated note": (0, 0, 0, 0), "trill": (0, 2, 0, 2, 0, 2),
    "octave leap": (0, 12), "minor arpeggio": (0, 3, 7, 12),
}
VELOCITIES = (40, 80, 115)
LENGTHS = {"staccato": 0.12, "normal": 0.5, "long": 1.4}
CHORD_LENGTH = 1.2
PHRASE_SPAN = 1.6  # seconds the phrase's notes fill
EVAL_AMOUNT = {"eq": 0.5, "reverb": 1.0, "compressor": 1.0}  # eq 0.5 = Audealize's +-5 dB (EQ_DB_FULL 10)
TRAIN_AMOUNTS = {"eq": (0.25, 0.5, 0.75), "reverb": (0.5, 1.0), "compressor": (0.5, 1.0)}
# Held-out words tested directionally need this many contributions: the crowd prior keeps reverb and
# compressor words from 3 (fx/crowd/build.py MIN_WORD_ROWS) and every EQ word.
EVAL_MIN_CONTRIBUTIONS = {"eq": 1, "reverb": 3, "compressor": 3}


@dataclass(frozen=True)
class Scale:
    pitches: int  # grid points across each program's range
    full_grid: bool  # every pitch x velocity x length (else one random velocity / length per pitch)
    chords: int
    phrases: int
    kits: tuple[int, ...]
    drum_velocities: tuple[int, ...]
    shift_pitches: int
    shift_chords: int
    shift_phrases: int
    shift_kits: tuple[int, ...]
    sample_crops: int
    triplets: dict[str, int] = field(default_factory=dict)
    eval_notes: int = 8
    captions: int = 4
    programs: tuple[int, ...] | None = None  # None: all 128 (a subset is for tests)
    drum_notes: tuple[int, ...] | None = None  # None: every named percussion note
    eval_words: int | None = None  # None: every held-out word with enough contributions


SCALES: dict[str, Scale] = {
    "small": Scale(pitches=4, full_grid=False, chords=1, phrases=1, kits=(0,), drum_velocities=(90,),
                   shift_pitches=2, shift_chords=0, shift_phrases=1, shift_kits=(0,), sample_crops=1,
                   triplets={"eq": 300, "reverb": 300, "compressor": 200}, eval_notes=8),
    "full": Scale(pitches=12, full_grid=True, chords=24, phrases=18, kits=tuple(KITS), drum_velocities=VELOCITIES,
                  shift_pitches=8, shift_chords=2, shift_phrases=2, shift_kits=(0, 25), sample_crops=3,
                  triplets={"eq": 7000, "reverb": 7000, "compressor": 7000}, eval_notes=40),
}


def _grid(p: Program, k: int) -> list[int]:
    return sorted({round(v) for v in np.linspace(p.low + 1, p.high - 1, k)})


def _note(source: str, p: Program, midi: int, vel: int, length: str, split_name: str) -> dict:
    return {"source": source, "kind": "note", "split": split_name, "program": p.number,
            "events": [[midi, 0.0, LENGTHS[length], vel]], "velocity": vel, "length": length}


def _pick(shapes: dict, p: Program, rng: random.Random) -> tuple[str, tuple[int, ...], int, int]:
    """A chord or phrase shape by name, a root that keeps it inside the program's range, a velocity."""
    name = rng.choice(sorted(shapes))
    iv = shapes[name]
    root = rng.randint(p.low, max(p.low, p.high - max(iv)))
    return name, iv, root, rng.choice(VELOCITIES)


def _chord(source: str, p: Program, rng: random.Random, split_name: str) -> dict:
    name, iv, root, vel = _pick(CHORDS, p, rng)
    return {"source": source, "kind": "chord", "split": split_name, "program": p.number, "chord": name,
            "events": [[root + i, 0.0, CHORD_LENGTH, vel] for i in iv], "velocity": vel, "length": "normal"}


def _phrase(source: str, p: Program, rng: random.Random, split_name: str) -> dict:
    name, iv, root, vel = _pick(PHRASES, p, rng)
    step = PHRASE_SPAN / len(iv)
    return {"source": source, "kind": "phrase", "split": split_name, "program": p.number, "phrase": name,
            "events": [[root + i, round(k * step, 4), round(0.85 * step, 4), vel] for k, i in enumerate(iv)],
            "velocity": vel, "length": "normal"}


def _program_clips(source: str, p: Program, pitches: int, full_grid: bool, n_chords: int, n_phrases: int,
                   split_name: str, rng: random.Random) -> list[dict]:
    out = []
    for midi in _grid(p, pitches):
        if full_grid:
            out += [_note(source, p, midi, v, ln, split_name) for v in VELOCITIES for ln in LENGTHS]
        else:
            out.append(_note(source, p, midi, rng.choice(VELOCITIES), rng.choice(sorted(LENGTHS)), split_name))
    if p.unit == "sound":  # sound effects: more single notes instead of chords and phrases
        for _ in range(n_chords + n_phrases):
            out.append(_note(source, p, rng.randint(p.low, p.high), rng.choice(VELOCITIES), rng.choice(sorted(LENGTHS)), split_name))
        return out
    for _ in range(n_chords):
        out.append(_chord(source, p, rng, split_name) if p.polyphonic else _phrase(source, p, rng, split_name))
    for _ in range(n_phrases):
        out.append(_phrase(source, p, rng, split_name))
    return out


def _drums(source: str, kits, velocities, split_of, notes) -> list[dict]:
    return [{"source": source, "kind": "drum", "split": split_of(note), "program": None, "kit": kit,
             "drum_note": note, "events": [[note, 0.0, 0.3, v]], "velocity": v}
            for kit in kits for note in notes for v in velocities]


def plan_clips(scale: Scale, seed: int, samples: list[tuple[str, float]], *, shift: bool = True,
               fluid: bool = True) -> list[dict]:
    """All clip specs with ids. ``samples``: (Sonic Pi name, duration s) of the available samples."""
    rng = random.Random(f"{seed}:plan-clips")
    held_p, held_d = split.held_out_programs(), split.held_out_drums()
    specs: list[dict] = []
    programs = [PROGRAMS[i] for i in scale.programs] if scale.programs is not None else list(PROGRAMS)
    notes = list(scale.drum_notes) if scale.drum_notes is not None else list(PERCUSSION)
    if fluid:
        for p in programs:
            specs += _program_clips("fluidr3", p, scale.pitches, scale.full_grid, scale.chords, scale.phrases,
                                    "test" if p.number in held_p else "train", rng)
        specs += _drums("fluidr3", scale.kits, scale.drum_velocities, lambda n: "test" if n in held_d else "train", notes)
    if shift:
        for p in programs:
            specs += _program_clips("timgm6mb", p, scale.shift_pitches, False, scale.shift_chords, scale.shift_phrases, "shift", rng)
        specs += _drums("timgm6mb", scale.shift_kits, (90,), lambda n: "shift", notes)
    if samples:
        held_s = split.held_out_samples([n for n, _ in samples])
        for name, dur in samples:
            for k in range(scale.sample_crops):
                off = 2.0 * k
                if k and off > dur - 0.5:
                    break
                specs.append({"source": "sonicpi", "kind": "sample", "split": "test" if name in held_s else "train",
                              "program": None, "sample": name, "offset_s": off})
    prefix = {"fluidr3": "fl", "timgm6mb": "tg", "sonicpi": "sp"}
    counts: dict[str, int] = {}
    for s in specs:
        k = prefix[s["source"]]
        s["id"] = f"{k}-{counts.get(k, 0):06d}"
        counts[k] = counts.get(k, 0) + 1
    return specs


def eval_dry_notes(clips: list[dict], n: int, seed: int) -> list[str]:
    """Held-out instrument notes for the directional report: single FluidR3 notes of distinct held-out
    programs (instruments, not sound effects), middle register and length preferred."""
    rng = random.Random(f"{seed}:eval-notes")
    by_prog: dict[int, list[dict]] = {}
    for c in clips:
        if c["source"] == "fluidr3" and c["split"] == "test" and c["kind"] == "note" and PROGRAMS[c["program"]].unit == "note":
            by_prog.setdefault(c["program"], []).append(c)
    progs = sorted(by_prog)
    rng.shuffle(progs)
    out = []
    for i in range(n):
        if not progs:
            break
        cands = by_prog[progs[i % len(progs)]]
        cands = sorted(cands, key=lambda c: (abs(c["events"][0][0] - 62) + (0 if c["length"] == "normal" else 6), c["id"]))
        used = {o for o in out}
        pick = next((c["id"] for c in cands if c["id"] not in used), None)
        if pick:
            out.append(pick)
    return out


def plan_triplets(clips: list[dict], contributions, scale: Scale, seed: int, word_means) -> list[dict]:
    """Training triplets from training contributions on training clips, test triplets from held-out
    words' mean settings on held-out notes."""
    rng = random.Random(f"{seed}:plan-triplets")
    held = {e: set(ws) for e, ws in split.held_out_crowd_words().items()}
    dry_pool = [c["id"] for c in clips if c["split"] == "train" and c["source"] in ("fluidr3", "sonicpi")]
    specs: list[dict] = []
    if dry_pool:
        for effect, target in scale.triplets.items():
            contribs = [c for c in contributions if c.effect == effect and not any(w in held[effect] for w in c.words)]
            if not contribs or target <= 0:
                continue
            amounts = TRAIN_AMOUNTS[effect]
            per = max(1, math.ceil(target / (len(contribs) * len(amounts))))
            combos = [(c, a) for c in contribs for a in amounts for _ in range(per)]
            rng.shuffle(combos)
            for c, a in combos[:target]:
                specs.append({"split": "train", "effect": effect, "contribution": c.id, "words": list(c.words),
                              "values": [round(v, 6) for v in c.values], "amount": a, "dry": rng.choice(dry_pool)})
    notes = eval_dry_notes(clips, scale.eval_notes, seed)
    for effect in scale.triplets:
        means = word_means(effect)
        words = [w for w in sorted(held[effect]) if w in means and means[w][1] >= EVAL_MIN_CONTRIBUTIONS[effect]]
        for w in words[: scale.eval_words]:
            v, n = means[w]
            for d in notes:
                specs.append({"split": "test", "effect": effect, "contribution": f"mean-of-{n}", "words": [w],
                              "values": [round(float(x), 6) for x in v], "amount": EVAL_AMOUNT[effect], "dry": d})
    for i, s in enumerate(specs):
        s["id"] = f"tr-{i:06d}"
    return specs


def subsample(specs: list[dict], fraction: float) -> list[dict]:
    """Every k-th spec (k = round(1 / fraction)), for timing a fraction of a build."""
    if fraction >= 1.0:
        return specs
    k = max(1, round(1.0 / fraction))
    return specs[::k]


def pitch_label(spec: dict) -> tuple[str, float]:
    low = min(e[0] for e in spec["events"])
    return note_name(low), float(low)
