"""What the v2 corpus holds out, decided by hashes before any training and never edited afterwards.

One rule for words: a word is *protected* (it may appear in no training caption) when

- it is a word of the v1 test sets that ``holdout.is_held_out`` holds out (the archetype lexicon and
  nouns of ``data.py``, its held-out phrasings, the probe words, the Audealize EQ words of its
  EQ-word test), so the v1 test sets stay unseen words for a model trained on this corpus; or
- it is a **held-out crowd word**: a describing word of the SocialFX / Audealize data
  (``crowd_vocabulary``) that ``holdout.is_held_out`` holds out or that falls in this corpus's own
  hash bucket (``_corpus_bucket``, 1 in 10, added because the project hash alone held out under 20 %
  of the compressor words). The core vocabulary (``holdout.CORE_WORDS``) and the words that name
  the corpus's own sounds or frame its captions (instrument, drum and kit names) are never crowd
  words here: they are held out with their sounds instead.

Sounds:
- a GM program is held out when its plain name contains a protected word (it could not be named in
  training), and otherwise when it ranks among the lowest SHA-1 hashes of the GM names until
  ``PROGRAM_SHARE`` of the 128 programs are held out; the same for the named percussion notes and
  the Sonic Pi samples;
- the second soundfont (TimGM6mb) is held out entirely;
- phrasings: in each caption kind's template list, the lowest-hash quarter, plus every template whose
  frame words are protected ("please", "like", "me" are held-out v1 words).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable
from pathlib import Path

from ..holdout import CORE_WORDS, PROBE_WORDS, is_held_out

SALT = "lstmabar-corpus-v1"  # fixed before any model saw the corpus; changing it re-splits everything
PROGRAM_SHARE = 0.25
DRUM_SHARE = 0.25
SAMPLE_SHARE = 0.25
PHRASING_SHARE = 0.25
CORPUS_BUCKETS = 10  # 1 in 10 crowd words held out on top of the project hash
SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def parts(text: str) -> list[str]:
    """Lower-case tokens of a word or caption, split on spaces and hyphens, punctuation stripped."""
    out = []
    for tok in re.split(r"[\s/]+", text.lower()):
        tok = tok.strip(".,;:!?\"'()")
        out += [p for p in tok.split("-") if p]
    return out


def _h(key: str) -> int:
    return int(hashlib.sha1(f"{SALT}:{key}".encode()).hexdigest(), 16)


def _corpus_bucket(word: str) -> bool:
    return _h(f"crowd:{word}") % CORPUS_BUCKETS == 0


def project_held_out(word: str) -> bool:
    """``holdout.is_held_out`` on the word and on each of its hyphen/space parts."""
    w = word.strip().lower()
    return is_held_out(w) or any(is_held_out(p) for p in parts(w))


# ----------------------------------------------------------------------------- vocabularies
@functools.lru_cache(maxsize=1)
def v1_test_vocabulary() -> frozenset[str]:
    """Every token the v1 test captions can use (data.py's lexicon, nouns and test phrasings, the probe
    words, the Audealize EQ words)."""
    from ..data import ARCH_NOUNS, ARCH_WORDS, TEST_TEMPLATES, load_eq_words

    vocab: set[str] = set(PROBE_WORDS)
    for group in (*ARCH_WORDS.values(), *ARCH_NOUNS.values()):
        for w in group:
            vocab.update(parts(w))
    for t in TEST_TEMPLATES:
        vocab.update(parts(re.sub(r"\{[a-z0-9_]+\}", " ", t)))
    vocab.update(w for w, _ in load_eq_words())
    return frozenset(vocab)


@functools.lru_cache(maxsize=1)
def v1_protected() -> frozenset[str]:
    return frozenset(t for t in v1_test_vocabulary() if is_held_out(t))


@functools.lru_cache(maxsize=1)
def name_tokens() -> frozenset[str]:
    """Tokens that name the corpus's own sounds (programs, drums, kits, families, samples)."""
    from .gm import FAMILIES, KITS, PERCUSSION, PROGRAMS
    from .samples import SAMPLE_WORDS

    toks: set[str] = set()
    for text in [p.name for p in PROGRAMS] + list(PERCUSSION.values()) + list(KITS.values()) + list(FAMILIES) + list(SAMPLE_WORDS.values()):
        toks.update(parts(text))
    return frozenset(toks)


def is_crowd_word_held_out(word: str) -> bool:
    w = word.strip().lower()
    if w in CORE_WORDS or w in name_tokens():
        return False
    return project_held_out(w) or _corpus_bucket(w)


@functools.lru_cache(maxsize=4)
def crowd_vocabulary(data_dir: str | None = None) -> dict[str, frozenset[str]]:
    """Per effect, the crowd's describing words this corpus captions with: lemma words (the crowd
    loaders' merge of forms) made of letters (hyphens allowed), at least 3 long, not function words;
    reverb and compressor words need 2 contributions (one person's typo is not a word of the crowd);
    every EQ contribution is one deliberate word, and Audealize's EQ words count too."""
    from ...fx.crowd.build import STOP
    from ...fx.crowd.data import load_audealize_eq, load_comp, load_eq, load_reverb

    d = Path(data_dir) if data_dir else SHARED_DATA
    eq, aeq = load_eq(d), load_audealize_eq(d)
    rv, _ = load_reverb(d)
    cp, _ = load_comp(d)
    return {
        "eq": frozenset(w for w in list(eq) + list(aeq) if is_describing_word(w, STOP)),
        "reverb": frozenset(w for w in rv if rv[w].n >= 2 and is_describing_word(w, STOP)),
        "compressor": frozenset(w for w in cp if cp[w].n >= 2 and is_describing_word(w, STOP)),
    }


def is_describing_word(w: str, stop: Iterable[str]) -> bool:
    return bool(re.fullmatch(r"[a-z]+(?:-[a-z]+)*", w)) and len(w) >= 3 and w not in stop


@functools.lru_cache(maxsize=4)
def held_out_crowd_words(data_dir: str | None = None) -> dict[str, tuple[str, ...]]:
    return {eff: tuple(sorted(w for w in ws if is_crowd_word_held_out(w))) for eff, ws in crowd_vocabulary(data_dir).items()}


@functools.lru_cache(maxsize=4)
def protected_words(data_dir: str | None = None) -> frozenset[str]:
    # a held-out hyphenated word protects itself and those of its parts that are held out themselves
    # ("live-concert" is not a reason to keep "live" out of training)
    crowd = {p for ws in held_out_crowd_words(data_dir).values() for w in ws for p in [w, *parts(w)]
             if p == w or is_crowd_word_held_out(p)}
    return v1_protected() | frozenset(crowd)


def caption_is_trainable(caption: str, data_dir: str | None = None) -> bool:
    """True when no token (nor hyphen part) of the caption is protected."""
    prot = protected_words(data_dir)
    toks = re.split(r"\s+", caption.lower())
    for tok in toks:
        tok = tok.strip(".,;:!?\"'()")
        if tok and (tok in prot or any(p in prot for p in parts(tok))):
            return False
    return True


# ----------------------------------------------------------------------------- sounds and phrasings
def _ranked_share(keys: list[str], forced: set[str], share: float, space: str) -> set[str]:
    """``forced`` plus the lowest-hash keys until ``share`` of all keys are held out."""
    need = math.ceil(share * len(keys))
    out = set(forced)
    for k in sorted(keys, key=lambda k: _h(f"{space}:{k}")):
        if len(out) >= need:
            break
        out.add(k)
    return out


def _names_protected(name: str, data_dir: str | None) -> bool:
    prot = protected_words(data_dir)
    return any(p in prot for p in parts(name))


@functools.lru_cache(maxsize=4)
def held_out_programs(data_dir: str | None = None) -> frozenset[int]:
    from .gm import PROGRAMS

    keys = [p.gm_name for p in PROGRAMS]
    forced = {p.gm_name for p in PROGRAMS if _names_protected(p.name, data_dir)}
    # programs sharing a plain name (Slap Bass 1 / 2) go together
    chosen = _ranked_share(keys, forced, PROGRAM_SHARE, "gm-program")
    names = {p.name for p in PROGRAMS if p.gm_name in chosen}
    return frozenset(p.number for p in PROGRAMS if p.name in names)


@functools.lru_cache(maxsize=4)
def held_out_drums(data_dir: str | None = None) -> frozenset[int]:
    from .gm import PERCUSSION

    keys = [str(k) for k in PERCUSSION]
    forced = {str(k) for k, n in PERCUSSION.items() if _names_protected(n, data_dir)}
    return frozenset(int(k) for k in _ranked_share(keys, forced, DRUM_SHARE, "gm-drum"))


def held_out_samples(names: list[str], data_dir: str | None = None) -> frozenset[str]:
    from .samples import describe_sample

    forced = {n for n in names if _names_protected(describe_sample(n), data_dir)}
    return frozenset(_ranked_share(sorted(names), forced, SAMPLE_SHARE, "sonic-pi"))


def held_out_templates(kind: str, templates: tuple[str, ...], data_dir: str | None = None) -> frozenset[str]:
    """The held-out phrasings of one caption kind (the first template, the plain caption, is never held out)."""
    rest = list(templates[1:])
    forced = {t for t in rest if not caption_is_trainable(re.sub(r"\{[a-z0-9_]+\}", " ", t), data_dir)}
    return frozenset(_ranked_share(rest, forced, PHRASING_SHARE, f"phrasing:{kind}"))


HELD_OUT_SOUNDFONTS = ("timgm6mb",)

__all__ = [
    "caption_is_trainable", "crowd_vocabulary", "held_out_crowd_words", "held_out_drums", "held_out_programs",
    "held_out_samples", "held_out_templates", "is_crowd_word_held_out", "parts", "protected_words", "v1_protected",
]
