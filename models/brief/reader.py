"""The change reader: which changes a refinement asks for, learnt from how people phrase them.

A refinement in chat ("it's kinda dull though", "the start is too lazy", "lose the tremolo") names its
change in more ways than a phrase table holds. The reader is one logistic output per change (brighter,
darker, noisier, a slower attack, ...) over frozen MiniLM sentence vectors, trained on refinement steps
that people wrote with the change a listener would demand (``benchmarks/data/synth_prompts.json``;
recipe and figures in ``MODEL_CARD.md`` beside this file).

The reader knows which quality a sentence is about far better than which way it asks (a sentence
vector hardly tells "too bright" from "bright"), so the brief combines the two readings
(``parse._consult_reader``): the words keep the direction and every number, the reader adds a change
the words missed when it is sure (``ADD_P``) and drops a change read from a word when it finds that
quality very unlikely (``DROP_P``). Both thresholds were chosen by leave-one-set-out reading accuracy
(``benchmarks/refine_reading.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

WEIGHTS = Path(__file__).with_name("change_reader.npz")
ADD_P = 0.6
DROP_P = 0.2

ChangeName = Literal["brighter", "darker", "noisier", "cleaner", "slower attack", "faster attack", "longer", "shorter", "fades", "higher", "lower",
                     "rising", "falling", "wobble", "no wobble", "faster wobble", "slower wobble", "vibrato", "no vibrato", "faster vibrato",
                     "slower vibrato"]
# change -> (descriptor, direction): what each output asks of the sound
CHANGES: dict[str, tuple[str, int]] = {
    "brighter": ("centroid_hz", +1), "darker": ("centroid_hz", -1),
    "noisier": ("flatness", +1), "cleaner": ("flatness", -1),
    "slower attack": ("attack_s", +1), "faster attack": ("attack_s", -1),
    "longer": ("sounding_s", +1), "shorter": ("sounding_s", -1),
    "fades": ("decay_db_per_s", -1),
    "higher": ("f0_hz", +1), "lower": ("f0_hz", -1),
    "rising": ("pitch_trend_semitones_per_s", +1), "falling": ("pitch_trend_semitones_per_s", -1),
    "wobble": ("am_depth_db", +1), "no wobble": ("am_depth_db", -1),
    "faster wobble": ("am_rate_hz", +1), "slower wobble": ("am_rate_hz", -1),
    "vibrato": ("vibrato_depth_cents", +1), "no vibrato": ("vibrato_depth_cents", -1),
    "faster vibrato": ("vibrato_rate_hz", +1), "slower vibrato": ("vibrato_rate_hz", -1),
}
NAMED: dict[tuple[str, int], str] = {v: k for k, v in CHANGES.items()}  # (descriptor, direction) -> the change's name
# The qualities each descriptor speaks to: a change is added or dropped per quality. A pitch range is a glide's
# and also a vibrato's ("kill the vibrato" reads as a steady pitch).
QUALITY: dict[str, tuple[str, ...]] = {
    "f0_hz": ("pitch",), "keyboard.midi_f0": ("pitch",),
    "pitch_trend_semitones_per_s": ("glide",), "pitch_range_semitones": ("glide", "vibrato"),
    "vibrato_depth_cents": ("vibrato",), "vibrato_rate_hz": ("vibrato",),
    "am_depth_db": ("wobble",), "am_rate_hz": ("wobble",),
    "centroid_hz": ("brightness",), "flatness": ("noisiness",),
    "attack_s": ("attack",), "transient_db": ("attack",),
    "sounding_s": ("length",), "decay_db_per_s": ("length",), "sustain_level_db": ("length",), "decay_time_constant_s": ("length",),
}
# Demands of the prompt set (benchmarks/data/synth_prompts.json) that are not a direction: op on a descriptor
_ABSOLUTE = {("am_depth_db", ">="): "wobble", ("am_depth_db", "<="): "no wobble", ("am_rate_hz", ">="): "faster wobble",
             ("am_rate_hz", "<="): "slower wobble", ("vibrato_depth_cents", ">="): "vibrato", ("vibrato_depth_cents", "<="): "no vibrato",
             ("vibrato_rate_hz", ">="): "faster vibrato", ("vibrato_rate_hz", "<="): "slower vibrato",
             ("pitch_trend_semitones_per_s", ">="): "rising", ("pitch_trend_semitones_per_s", "<="): "falling",
             ("decay_db_per_s", "<="): "fades"}


def opposed(changes: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs of named changes that ask opposite things of one descriptor ("brighter" and "darker")."""
    seen: dict[tuple[str, int], str] = {}
    for c in changes:
        seen.setdefault(CHANGES[c], c)
    return [(seen[(d, 1)], seen[(d, -1)]) for d, s in seen if s == 1 and (d, -1) in seen]


def step_changes(step: dict[str, Any]) -> set[str]:
    """The changes a refinement step of the prompt set asks for (its ``change`` list)."""
    out: set[str] = set()
    for c in step["change"]:
        if "semitones" in c:
            out.add("higher" if c["semitones"] > 0 else "lower")
        elif "dir" in c:
            out.add(NAMED[(c["d"], 1 if c["dir"] == "up" else -1)])
        else:
            out.add(_ABSOLUTE[(c["d"], c["op"])])
    return out


@dataclass(frozen=True)
class ChangeReader:
    changes: tuple[str, ...]
    coef: np.ndarray  # (changes, sentence dims)
    intercept: np.ndarray  # (changes,)
    trained_on: str

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(texts, changes): how likely each text asks each change, from its sentence vector."""
        z = np.asarray(vectors, dtype=np.float64) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def read(self, vector: np.ndarray) -> dict[str, float]:
        return dict(zip(self.changes, self.probabilities(np.asarray(vector)[None])[0].tolist()))

    def save(self, path: Path = WEIGHTS) -> None:
        np.savez(path, changes=np.array(self.changes), coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                 trained_on=np.array(self.trained_on))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> ChangeReader:
        with np.load(path) as z:
            return cls(tuple(str(c) for c in z["changes"]), z["coef"].astype(np.float64), z["intercept"].astype(np.float64), str(z["trained_on"]))


def fit(vectors: np.ndarray, changes: list[set[str]], c: float = 4.0, trained_on: str = "") -> ChangeReader:
    """One class-balanced L2 logistic regression per change seen at least twice (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    names = [k for k in CHANGES if sum(k in s for s in changes) >= 2]
    coef = np.zeros((len(names), vectors.shape[1]))
    intercept = np.zeros(len(names))
    for i, k in enumerate(names):
        y = np.array([k in s for s in changes])
        m = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(vectors, y)
        coef[i], intercept[i] = m.coef_[0], m.intercept_[0]
    return ChangeReader(tuple(names), coef, intercept, trained_on)


def by_quality(p: dict[str, float]) -> dict[str, float]:
    """The reader's highest probability per quality."""
    out: dict[str, float] = {}
    for change, pr in p.items():
        q = QUALITY[CHANGES[change][0]][0]
        out[q] = max(out.get(q, 0.0), pr)
    return out


RATE_OF = {"am_rate_hz": "am_depth_db", "vibrato_rate_hz": "vibrato_depth_cents"}


def rates_last(changes: Sequence[str]) -> list[str]:
    """The changes in order, a modulation's rate after the modulation (a rate is set on the wobble it belongs to)."""
    return sorted(changes, key=lambda c: CHANGES[c][0] in RATE_OF)


def arbitrate(read: dict[str, bool], p: dict[str, float], add_p: float = ADD_P, drop_p: float = DROP_P) -> tuple[list[tuple[str, str, float]], list[tuple[str, float]]]:
    """The words' reading against the reader's. ``read``: each descriptor the words asked to change, and whether
    it came from a number or the interval grammar (never dropped); ``p``: the reader's probabilities. Returns the
    descriptors to leave out, each with its quality and the reader's probability, and the changes to add (a rate
    after its modulation). Pitch is the grammar's alone."""
    q_p = by_quality(p)
    touched: set[str] = set()
    drop: list[tuple[str, str, float]] = []
    for key, grammar in read.items():
        qs = [q for q in QUALITY.get(key, ()) if q != "pitch"]
        if not qs:
            continue
        touched.update(qs)
        best = max(q_p.get(q, 1.0) for q in qs)
        if not grammar and best <= drop_p:
            drop.append((key, "/".join(qs), best))
    add: dict[str, tuple[str, float]] = {}
    for change, pr in sorted(p.items(), key=lambda cp: cp[1]):  # the likelier direction of a descriptor wins
        q = QUALITY[CHANGES[change][0]][0]
        if pr > add_p and q not in touched and q != "pitch":
            add[CHANGES[change][0]] = (change, pr)
    probs = dict(add.values())
    return drop, [(c, probs[c]) for c in rates_last(list(probs))]


@lru_cache(maxsize=1)
def shipped() -> ChangeReader | None:
    """The reader shipped with the package (None when its weights are missing)."""
    return ChangeReader.load() if WEIGHTS.exists() else None
