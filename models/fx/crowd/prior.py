"""The word -> effect prior: what the crowd means by a word, read from the shipped artefact.

``CrowdPrior.load()`` reads ``crowd_prior.npz`` / ``.json`` (built by ``build.py`` from Audealize and
SocialFX) once. For a word it gives

- ``eq(word)``: the crowd's 40-band curve (standardised units at ``BANDS_HZ``), the contributor count,
  the split-half agreement where there are >= 4 contributors, and a confidence (expected r with the
  crowd's curve: the word mean's reliability for a known word, the held-out r of borrowed meanings
  for an unknown one, falling with its distance to the nearest known word);
- ``reverb(word)``: decay T60 (s), tail cut-off (Hz) and effect level E of Audealize's reverberator,
  with percentiles among the known words;
- ``compressor(word)``: threshold (dB in the study's units), ratio, attack and release.

Known words are looked up after reducing comparatives (``words.lemma``); unknown ones borrow from
similar known words by MiniLM sentence vectors (``knn.py``), which costs one MiniLM load per process.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .knn import KnnParams, calibrated_confidence, knn_predict
from .words import lemma

HERE = Path(__file__).resolve().parent
ARTEFACT = HERE / "crowd_prior.npz"
META = HERE / "crowd_prior.json"

BANDS_HZ = np.array([20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273, 1452, 1652, 1875, 2126, 2406,
                     2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014, 7875, 8839, 9917, 11124, 12474, 13984, 15675, 17566, 19682], float)
EFFECTS = ("eq", "reverb", "compressor")


@dataclass
class Meaning:
    """What the crowd means by ``word`` for one effect."""

    effect: str
    word: str  # as asked
    known_as: str | None  # the crowd's word (lemma) when known, else None (borrowed)
    values: np.ndarray  # eq: 40-band curve; reverb: (log decay s, log cut-off Hz, log E); compressor: (thr, log ratio, log attack, log release)
    count: int  # contributions behind it (0 when borrowed)
    confidence: float  # expected agreement with the crowd, 0..1
    agreement: float | None = None  # EQ split-half r (>= 4 contributors)
    neighbours: list[tuple[str, float]] = field(default_factory=list)  # borrowed from (word, weight)
    source: str = ""

    @property
    def known(self) -> bool:
        return self.known_as is not None


class CrowdPrior:
    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, excluded: frozenset[str] = frozenset()):
        self.meta = meta
        self.excluded = excluded
        self._t: dict[str, dict] = {}
        for eff in EFFECTS:
            words = [str(w) for w in arrays[f"{eff}_words"]]
            keep = np.array([w not in excluded for w in words], bool)
            emb = arrays[f"{eff}_emb"].astype(np.float32)[keep]
            self._t[eff] = {
                "words": [w for w, k in zip(words, keep) if k],
                "values": arrays[f"{eff}_values"].astype(np.float64)[keep],
                "reliability": arrays[f"{eff}_reliability"].astype(np.float64)[keep],
                "counts": arrays[f"{eff}_counts"][keep],
                "mean": arrays[f"{eff}_mean"].astype(np.float64),
                "emb": emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9),
            }
            t = self._t[eff]
            t["index"] = {w: i for i, w in enumerate(t["words"])}
            if eff == "eq":  # the plain mean of the known words' curves
                t["mean"] = t["values"].mean(0)
        self._arrays = arrays

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls) -> "CrowdPrior":
        return _load_default()

    def without(self, words) -> "CrowdPrior":
        """The same prior with ``words`` unknown (for validation: leave whole words out)."""
        return CrowdPrior(self._arrays, self.meta, self.excluded | frozenset(words))

    # ------------------------------------------------------------------ lookups
    def vocabulary(self, effect: str) -> list[str]:
        return list(self._t[effect]["words"])

    def lookup(self, word: str, effect: str) -> str | None:
        """The crowd's word for ``word`` (itself or its lemma) when known for ``effect``."""
        t = self._t[effect]
        w = " ".join(word.strip().lower().split())
        base = lemma(w, t["index"])
        return base if base in t["index"] else None

    def meaning(self, word: str, effect: str, *, text: str | None = None) -> Meaning:
        """The crowd's meaning of ``word`` for ``effect``; ``text`` (e.g. the whole phrase) is what gets
        embedded when the word is unknown."""
        t = self._t[effect]
        known = self.lookup(word, effect)
        if known is not None:
            i = t["index"][known]
            rel = float(t["reliability"][i])
            agreement = self.meta["eq"]["split_half"].get(known) if effect == "eq" else None
            return Meaning(effect, word, known, t["values"][i].copy(), int(t["counts"][i]), math.sqrt(max(rel, 0.0)), agreement, [], _SOURCE[effect])
        q = embed_texts([self.meta["embed_template"].format(text or word)])[0]
        return self.borrow(q, effect, word)

    def borrow(self, query_vec: np.ndarray, effect: str, word: str = "") -> Meaning:
        t = self._t[effect]
        m = self.meta[effect]
        sims = t["emb"] @ (query_vec / max(float(np.linalg.norm(query_vec)), 1e-9))
        params = KnnParams(**m["params"]) if isinstance(m["params"], dict) else KnnParams()
        pred, idx, w = knn_predict(sims, t["values"], t["reliability"], t["mean"], params)
        cal = m["calibration"]
        conf = calibrated_confidence(float(sims[idx[0]]), cal["score"], cal["typical_top_similarity"], cal["unrelated_similarity"])
        neighbours = [(t["words"][int(i)], float(x)) for i, x in zip(idx[:5], w[:5])]
        return Meaning(effect, word, None, pred, 0, conf, None, neighbours, f"borrowed from similar words ({_SOURCE[effect]})")

    def eq(self, word: str, **kw) -> Meaning:
        return self.meaning(word, "eq", **kw)

    def reverb(self, word: str, **kw) -> Meaning:
        return self.meaning(word, "reverb", **kw)

    def compressor(self, word: str, **kw) -> Meaning:
        return self.meaning(word, "compressor", **kw)

    # ------------------------------------------------------------------ scales
    def mean_values(self, effect: str) -> np.ndarray:
        return self._t[effect]["mean"].copy()

    def feature_sd(self, effect: str) -> np.ndarray:
        return np.asarray(self.meta[effect]["feature_sd"], float)

    def percentile(self, effect: str, column: int, value: float) -> float:
        """Where ``value`` falls among the known words (0..1), weighting words by reliability."""
        t = self._t[effect]
        v, r = t["values"][:, column], t["reliability"]
        return float((r * (v < value)).sum() / max(r.sum(), 1e-9))

    def word_count(self, effect: str) -> int:
        return len(self._t[effect]["words"])


_SOURCE = {"eq": "SocialFX", "reverb": "SocialFX reverb", "compressor": "SocialFX compressor"}


@lru_cache(maxsize=1)
def _load_default() -> CrowdPrior:
    with np.load(ARTEFACT, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return CrowdPrior(arrays, json.loads(META.read_text()))


# ----------------------------------------------------------------------------- sentence vectors
_encoder = None
_encoder_lock = threading.Lock()


def embed_texts(texts: list[str]) -> np.ndarray:
    """MiniLM sentence vectors (the sha256-checked all-MiniLM-L6-v2), loaded once per process."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            from lstmabar.models.lstmabar.text_encoder import MiniLM

            _encoder = MiniLM()
        return _encoder.encode(list(texts)).numpy().astype(np.float32)


def set_encoder(encoder) -> None:
    """Use another sentence encoder with ``encode(list[str]) -> tensor`` (tests use a small fake)."""
    global _encoder
    with _encoder_lock:
        _encoder = encoder
