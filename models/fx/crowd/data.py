"""Reading the crowd data (Audealize and SocialFX, see ../shared/data/README.md) into per-word evidence.

Used by the build script and the benchmarks only: the tool reads the small artefact the build writes
(``crowd_prior.npz`` / ``.json`` beside this package), never the raw data.

- EQ: each SocialFX contribution is one person's 40-band curve for a word (already standardised per
  contribution); Audealize's eqdescriptors hold each word's mean curve (r 0.99 with the SocialFX mean
  where both exist) and add words. English only (MiniLM is an English model).
- Reverb: each SocialFX row is a reverb setting of Audealize's own reverberator and the words one
  person typed for it. The settings are translated by what they do (Audealize's reverb.js):
  decay T60 = d * ln(0.001) / ln(g) (its six combs are tuned to this), damping = the cut-off f of the
  low-pass on the reverberated path, and mix = the reverberated-to-clean gain ratio set by E
  (g1 = 1 / (E + 1); reverb gain cos(g1 3pi/8), clean gain cos((1 - g1) pi/8)). Audealize's
  reverbdescriptors (120 distinct settings for 369 words, E rescaled to 0-1) are kept for words the
  contributions lack.
- Compressor: SocialFX rows of a compressor setting (threshold dB, an unlabelled value that is not
  used, ratio, attack s, release s) and the words typed for it.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .words import lemma

REVERB_FEATURES = ("log_decay_s", "log_cutoff_hz", "log_e")  # per contribution; mix is derived from E
COMP_FEATURES = ("threshold_db", "log_ratio", "log_attack_s", "log_release_s")


@dataclass
class WordEvidence:
    """What the crowd said about one (lemma) word for one effect."""

    word: str
    rows: list[np.ndarray] = field(default_factory=list)  # per contribution: a curve or a feature vector
    forms: set[str] = field(default_factory=set)  # the spellings merged into this lemma

    @property
    def n(self) -> int:
        return len(self.rows)

    def matrix(self) -> np.ndarray:
        return np.asarray(self.rows, dtype=np.float64)


def _merge(raw: dict[str, list[np.ndarray]]) -> dict[str, WordEvidence]:
    """Merge comparative / plural forms into the lemma when the lemma is itself a word of the data."""
    vocab = set(raw)
    out: dict[str, WordEvidence] = {}
    for w in sorted(raw):
        base = lemma(w, _Without(vocab, w))
        ev = out.setdefault(base, WordEvidence(base))
        ev.rows.extend(raw[w])
        ev.forms.add(w)
    return out


class _Without:
    """``vocab`` minus one word, without copying it."""

    def __init__(self, vocab: set[str], word: str):
        self.vocab, self.word = vocab, word

    def __contains__(self, w: object) -> bool:
        return w != self.word and w in self.vocab


def _clean_word(w: str) -> str:
    return " ".join(w.strip().lower().split())


# ----------------------------------------------------------------------------- EQ
def load_eq(data_dir: Path) -> dict[str, WordEvidence]:
    """English SocialFX EQ contributions per lemma word: rows are 40-band curves."""
    raw: dict[str, list[np.ndarray]] = defaultdict(list)
    with open(Path(data_dir) / "socialfx" / "eq_contributions.csv", newline="") as f:
        reader = csv.reader(f)
        head = next(reader)
        cols = [i for i, h in enumerate(head) if h.startswith("RSC_")]
        assert len(cols) == 40, "expected the 40 Audealize bands"
        for r in reader:
            if r[1] != "English":
                continue
            raw[_clean_word(r[0])].append(np.array([float(r[i]) for i in cols]))
    return _merge(raw)


def load_audealize_eq(data_dir: Path) -> dict[str, tuple[np.ndarray, int]]:
    """English Audealize EQ words: (mean curve, contributor count)."""
    eq = json.loads((Path(data_dir) / "audealize" / "eqdescriptors.json").read_text())
    return {_clean_word(d["word"]): (np.asarray(d["settings"], float), int(d["num"])) for d in eq if d["lang"] == "English"}


# ----------------------------------------------------------------------------- reverb
def reverb_decay_s(d: float, g: float) -> float:
    g = min(max(g, 1e-3), 0.999)
    return d * math.log(0.001) / math.log(g)


def reverb_mix_db(e: float) -> float:
    """Audealize reverb.js: reverberated / clean gain (dB) for effect level E."""
    g1 = 1.0 / (max(e, 0.0) + 1.0)
    return 20 * math.log10(math.cos(g1 * 0.375 * math.pi) / math.cos((1 - g1) * 0.125 * math.pi))


def reverb_features(p: list[float]) -> np.ndarray:
    d, g, _m, f, e = p[:5]
    return np.array([math.log(reverb_decay_s(d, g)), math.log(min(max(f, 50.0), 22050.0)), math.log(max(e, 1e-3))])


def _contribution_words(field_text: str) -> set[str]:
    return {_clean_word(w) for w in field_text.split(",") if w.strip()}


def load_reverb(data_dir: Path) -> tuple[dict[str, WordEvidence], np.ndarray]:
    """English SocialFX reverb contributions: per lemma word its rows of REVERB_FEATURES, and every
    row's features (the stimulus distribution all words share)."""
    raw: dict[str, list[np.ndarray]] = defaultdict(list)
    allrows = []
    with open(Path(data_dir) / "socialfx" / "reverb_contributions.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["language"] != "English":
                continue
            x = reverb_features([float(v) for v in r["param"].split(",")])
            allrows.append(x)
            for w in _contribution_words(r["words"]):
                raw[w].append(x)
    return _merge(raw), np.asarray(allrows)


def load_audealize_reverb(data_dir: Path) -> dict[str, tuple[float, float, int]]:
    """English Audealize reverb words: (decay s, cut-off Hz, contributor count). Its E is on another
    scale than the contributions' and is not used."""
    rv = json.loads((Path(data_dir) / "audealize" / "reverbdescriptors.json").read_text())
    return {_clean_word(d["word"]): (reverb_decay_s(d["settings"][0], d["settings"][1]), float(d["settings"][3]), int(d["num"])) for d in rv if d["lang"] == "English"}


# ----------------------------------------------------------------------------- compressor
def comp_features(p: list[float]) -> np.ndarray:
    thr, _unlabelled, ratio, attack, release = p[:5]
    return np.array([thr, math.log(max(ratio, 1.0)), math.log(max(attack, 1e-5)), math.log(max(release, 1e-5))])


def load_comp(data_dir: Path) -> tuple[dict[str, WordEvidence], np.ndarray]:
    raw: dict[str, list[np.ndarray]] = defaultdict(list)
    allrows = []
    with open(Path(data_dir) / "socialfx" / "comp_contributions.csv", newline="") as f:
        for r in csv.DictReader(f):
            x = comp_features([float(v) for v in r["param"].split(",")])
            allrows.append(x)
            for w in _contribution_words(r["words"]):
                raw[w].append(x)
    return _merge(raw), np.asarray(allrows)
