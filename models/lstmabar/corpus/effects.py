"""The crowd's effects on real sound: every SocialFX / Audealize contribution as a pedalboard effect.

Contributions are read with the crowd prior's loaders and helpers (``models/fx/crowd/data.py``):
- EQ: each English SocialFX contribution (one person's 40-band curve for one word, via
  ``load_eq``) and each English Audealize word's mean curve (``load_audealize_eq``);
- reverb: each English SocialFX reverb contribution (a setting of Audealize's reverberator and the
  words that person typed), as ``reverb_features`` (log decay, log cut-off, log effect level);
- compressor: each SocialFX compressor contribution, as ``comp_features``.
Words are reduced to the crowd's lemmas (the loaders' merge) and kept when they are describing words
of the crowd vocabulary (``split.crowd_vocabulary``).

They become pedalboard effects with the crowd prior's own mapping (``models/fx/crowd/settings.py``):
the curve normalised as Audealize does (``normalised_curve``) at ``EQ_DB_FULL`` dB x amount on 40
peaking filters (Q 4.31, Audealize's); the reverb and compressor settings by the functions
``settings.plan`` uses (``reverb_values``, ``compressor_values``, with the compressor's threshold under
the input's loud level, ``loud_level_db``) at strength = amount. One difference is kept on purpose, as
the corpus was built with it: the wet level here is (0.5 + percentile) x amount x 0.5 (clipped at 0.5),
where the tool's plan uses (0.4 + 0.6 x percentile).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EFFECTS = ("eq", "reverb", "compressor")
AUDEALIZE_Q = 4.31
EFFECT_NOUN = {"eq": "EQ", "reverb": "reverb", "compressor": "compression"}


@dataclass(frozen=True)
class Contribution:
    id: str
    effect: str
    values: tuple[float, ...]  # eq: 40-band curve; reverb: REVERB_FEATURES; compressor: COMP_FEATURES
    words: tuple[str, ...]  # the crowd's lemma words for it, describing words only
    source: str  # socialfx | audealize


def _forms(evidence: dict) -> dict[str, str]:
    """Spelling -> the lemma the loaders merged it into."""
    return {form: lemma for lemma, ev in evidence.items() for form in ev.forms}


@functools.lru_cache(maxsize=4)
def load_contributions(data_dir: str | None = None) -> tuple[Contribution, ...]:
    from ...fx.crowd import data as crowd
    from .split import SHARED_DATA, crowd_vocabulary

    d = Path(data_dir) if data_dir else SHARED_DATA
    vocab = crowd_vocabulary(data_dir)
    out: list[Contribution] = []
    for word, ev in sorted(crowd.load_eq(d).items()):
        if word in vocab["eq"]:
            out += [Contribution(f"socialfx-eq-{word}-{i}", "eq", tuple(map(float, r)), (word,), "socialfx") for i, r in enumerate(ev.rows)]
    for word, (curve, _num) in sorted(crowd.load_audealize_eq(d).items()):
        if word in vocab["eq"]:
            out.append(Contribution(f"audealize-eq-{word}", "eq", tuple(map(float, curve)), (word,), "audealize"))
    for effect, fname, loader, feats, english_only in (
        ("reverb", "reverb_contributions.csv", crowd.load_reverb, crowd.reverb_features, True),
        ("compressor", "comp_contributions.csv", crowd.load_comp, crowd.comp_features, False),
    ):
        forms = _forms(loader(d)[0])
        with open(d / "socialfx" / fname, newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if english_only and r["language"] != "English":
                    continue
                words = []
                for w in sorted(crowd._contribution_words(r["words"])):
                    base = forms.get(w, w)
                    if base in vocab[effect] and base not in words:
                        words.append(base)
                if words:
                    x = feats([float(v) for v in r["param"].split(",")])
                    out.append(Contribution(f"socialfx-{effect}-{i}", effect, tuple(map(float, x)), tuple(words), "socialfx"))
    return tuple(out)


def word_means(contributions: tuple[Contribution, ...], effect: str) -> dict[str, tuple[np.ndarray, int]]:
    """Per word of ``effect``: the mean of its contributions' values (EQ: the SocialFX curves when the
    word has any, else Audealize's mean curve) and the contribution count."""
    rows: dict[str, list[np.ndarray]] = {}
    aud: dict[str, np.ndarray] = {}
    for c in contributions:
        if c.effect != effect:
            continue
        for w in c.words:
            if c.source == "audealize":
                aud[w] = np.asarray(c.values)
            else:
                rows.setdefault(w, []).append(np.asarray(c.values))
    out = {w: (np.mean(r, axis=0), len(r)) for w, r in rows.items()}
    for w, v in aud.items():
        out.setdefault(w, (v, 1))
    return out


# ----------------------------------------------------------------------------- pedalboard
@functools.lru_cache(maxsize=1)
def _prior():
    from ...fx.crowd.prior import CrowdPrior

    return CrowdPrior.load()


def eq_plugins(curve, amount: float, sample_rate: int) -> list:
    import pedalboard

    from ...fx.crowd.prior import BANDS_HZ
    from ...fx.crowd.settings import EQ_DB_FULL, normalised_curve

    gains = EQ_DB_FULL * amount * normalised_curve(np.asarray(curve, dtype=np.float64))
    return [pedalboard.PeakFilter(cutoff_frequency_hz=float(f), gain_db=float(g), q=AUDEALIZE_Q)
            for f, g in zip(BANDS_HZ, gains) if f < 0.45 * sample_rate]


CORPUS_WET_FLOOR, CORPUS_WET_SLOPE = 0.5, 1.0  # the corpus's wet level (see the module notes)


def reverb_plugins(features, amount: float) -> list:
    import pedalboard

    from ...fx.crowd.settings import reverb_values

    v = np.array([float(f) for f in features])
    return [pedalboard.Reverb(**reverb_values(v, amount, _prior(), wet_floor=CORPUS_WET_FLOOR, wet_slope=CORPUS_WET_SLOPE))]


def compressor_plugins(features, amount: float, audio: np.ndarray, sample_rate: int) -> list:
    import pedalboard

    from ...fx.crowd.settings import compressor_values, loud_level_db

    level = loud_level_db(np.asarray(audio, dtype=np.float64), sample_rate)
    return [pedalboard.Compressor(**compressor_values(np.asarray(features, dtype=np.float64), amount, level, _prior()))]


def apply_effect(effect: str, values, amount: float, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 ``audio`` through the crowd setting ``values`` of ``effect`` at ``amount`` (same length)."""
    import pedalboard

    x = np.asarray(audio, dtype=np.float32)
    if effect == "eq":
        plugins = eq_plugins(values, amount, sample_rate)
    elif effect == "reverb":
        plugins = reverb_plugins(values, amount)
    elif effect == "compressor":
        plugins = compressor_plugins(values, amount, x, sample_rate)
    else:
        raise ValueError(f"unknown effect {effect!r}; one of {EFFECTS}")
    y = pedalboard.Pedalboard(plugins)(x[None], sample_rate, reset=True)[0]
    return y[: len(x)].astype(np.float32)
