"""Captions from what is known about a clip: its instrument, drum or sample name, family, register and
note, articulation and dynamics, the producer words measured on its audio by library.descriptors
(each with its evidence), and, for an effect triplet, the crowd's words for the effect.

Adjectives about the sound itself come only from measurement: a caption says "muddy" because the
clip's 250-500 Hz energy is at the reference set's 97th percentile, never because of a name. Level
words (loud, quiet) are not used: clips are peak-normalised, so their level says nothing about the
instrument. A crowd word that the measurement contradicts is left out of that triplet's captions
(the crowd's "bright" on a curve that made this clip darker), and a crowd word is used as a plain
description of the processed clip ("a warm piano note") only when its measured words do not say the
opposite.

Phrasings: per kind, requests ("give me a marimba note", "make it warmer") and descriptions ("a
plucky, boxy marimba note"). The first template of each kind is the plain caption ("a marimba note");
which of the others are held out is decided in ``split.held_out_templates``.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

from .gm import article

NOTE = (
    "{a_name} {unit}",
    "{a_words} {name} {unit}",
    "{a_reg} {name} {unit}",
    "{name}, {pitch}",
    "{a_name} playing {pitch}",
    "{a_name} {unit}, {dyn}",
    "{a_name} {unit} at {vel} velocity",
    "{a_art} {name} {unit}",
    "the sound of {a_name}",
    "{name} ({family})",
    "{words_and} {name}",
    "{name}: {words}",
    "{a_name} in the {reg} register",
    "{a_family} instrument: {name}",
    "{a_words} {unit} from {a_name}",
    "play {a_reg} {name} {unit}",
    "I want {a_words} {name}",
    "can I hear {a_name}?",
    "give me {a_name} {unit}",
    "something like {a_name}",
    "{a_name} sound, please",
    "find {a_name} {unit} in {pitch}",
    "{art} {name}, {reg} register, {words}",
)
CHORD = (
    "{a_name} chord",
    "{a_chord} chord from {a_name}",
    "{a_name} playing {a_chord} chord",
    "{chord} chord, {name}",
    "{a_words} {name} chord",
    "{a_reg} {chord} chord, {name}",
    "play {a_chord} chord with the {name}",
    "give me {a_chord} chord from {a_name}",
    "{name} chord ({chord}), {words}",
    "{a_name} chord, {dyn}",
)
PHRASE = (
    "{a_name} phrase",
    "{a_phrase} from {a_name}",
    "{a_name} playing {a_phrase}",
    "{phrase}, {name}",
    "{a_words} {name} {phrase}",
    "play {a_phrase} with the {name}",
    "{name} {phrase} in the {reg} register",
    "I want {a_phrase} from {a_name}",
    "{a_name} phrase, {words}",
)
DRUM = (
    "{a_name} hit",
    "{a_name} from {a_kit} drum kit",
    "{name} ({kit} kit)",
    "{a_words} {name}",
    "{a_name}, {dyn}",
    "play {a_name}",
    "{kit} kit {name}",
    "one {name} hit, {words}",
    "give me {a_name}",
    "{a_name} hit at {vel} velocity",
)
SAMPLE = (
    "{a_name}",
    "{a_name} sample",
    "{a_words} {name}",
    "{name}, {words}",
    "the sound of {a_name}",
    "play {a_name}",
    "I want {a_name} sample",
    "{name} recording, {words}",
)
TRIPLET = (
    "{a_name} {unit}, made {w}",
    "make it {w}",
    "make the {name} {w}",
    "{a_w} {name} {unit}",
    "{w}",
    "{name} with {a_w} {effect}",
    "{a_w} version of the {name}",
    "turn the {name} {w}",
    "{w} {effect} on {a_name}",
    "can you make this {w}?",
    "{a_name} {unit} that sounds {w}",
    "{name}, now {diff}",
    "{diff} {name} {unit}, {w}",
)
# Triplet phrasings that state the crowd word as an absolute description of the processed clip.
ABSOLUTE = frozenset({"{a_w} {name} {unit}", "{a_w} version of the {name}", "{a_name} {unit} that sounds {w}"})
TEMPLATES: dict[str, tuple[str, ...]] = {"note": NOTE, "chord": CHORD, "phrase": PHRASE, "drum": DRUM, "sample": SAMPLE, "triplet": TRIPLET}

LEVEL_AXES = frozenset({"integrated_lufs"})  # not captioned: clips are peak-normalised
_A_RX = re.compile(r"\{a_([a-z]+)\}")


def fields_of(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _with_articles(values: dict[str, str]) -> dict[str, str]:
    out = dict(values)
    for k, v in values.items():
        if v:
            out[f"a_{k}"] = f"{article(v)} {v}"
    return out


def fill(template: str, values: dict[str, str]) -> str | None:
    """The template with its fields, or None when a field it needs is empty."""
    vals = _with_articles({k: v for k, v in values.items() if v})
    need = fields_of(template)
    if any(not vals.get(f) for f in need):
        return None
    text = template.format(**{f: vals[f] for f in need})
    return text[:1].upper() + text[1:] if text.startswith("I ") else text


def measured_words(word_list: list[dict[str, Any]], allowed=None, limit: int = 2) -> list[str]:
    """The strongest measured words fit for a caption (level words dropped; ``allowed(word)`` filters)."""
    out = []
    for w in word_list:
        if w["descriptor"] in LEVEL_AXES or (allowed is not None and not allowed(w["word"])):
            continue
        out.append(w["word"])
        if len(out) == limit:
            break
    return out


def word_values(words: list[str]) -> dict[str, str]:
    if not words:
        return {"words": "", "words_and": ""}
    return {"words": ", ".join(words), "words_and": " and ".join(words)}


def make_captions(kind: str, values: dict[str, str], templates: list[str], rng: random.Random, n: int,
                  accept=None, plain: bool = True) -> list[str]:
    """``n`` distinct captions: the plain one first (when ``plain``), then templates drawn at random
    from ``templates`` whose fields are known and whose text ``accept`` allows."""
    out: list[str] = []
    if plain:
        c = fill(TEMPLATES[kind][0], values)
        if c and (accept is None or accept(c)):
            out.append(c)
    order = list(templates)
    rng.shuffle(order)
    for t in order:
        if len(out) >= n:
            break
        c = fill(t, values)
        if c and c not in out and (accept is None or accept(c)):
            out.append(c)
    return out


# ----------------------------------------------------------------------------- crowd words vs measurement
def _axis_directions() -> dict[str, tuple[str, int]]:
    from lstmabar.library.descriptors.words import AXES

    out: dict[str, tuple[str, int]] = {}
    for a in AXES:
        if a.high:
            out[a.high] = (a.key, +1)
        if a.low:
            out[a.low] = (a.key, -1)
    return out


def contradictions(crowd_words: list[str], differences: list[dict[str, Any]], processed_words: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(words the measured change contradicts, words the processed clip's own measured words contradict).
    A crowd word counts only when it is one of the descriptor axes' words (bright, dark, full, thin,
    muddy, harsh, airy, noisy, clean, roomy, dry, ...)."""
    from lstmabar.library.descriptors.words import AXIS

    dirs = _axis_directions()
    moved = {}
    for d in differences:
        ax = AXIS.get(d["descriptor"])
        if ax is not None:
            moved[d["descriptor"]] = +1 if d["word"] == ax.more else -1
    has = {w["word"] for w in processed_words}
    relative, absolute = [], []
    for w in crowd_words:
        if w not in dirs:
            continue
        key, sign = dirs[w]
        if moved.get(key, sign) != sign:
            relative.append(w)
        ax = AXIS[key]
        opposite = ax.low if sign > 0 else ax.high
        if opposite and opposite in has:
            absolute.append(w)
    return relative, absolute
