"""Word forms, in one place: comparatives and inflections back to the word the crowd used.

"brighter" -> bright, "warmer" -> warm, "muddier" -> muddy, "bigger" -> big, "wider" -> wide,
"echoes" -> echo. A form is reduced only to a base the vocabulary knows, so "water" or "paper" stay
as they are; without a vocabulary the plain suffix rules apply.
"""

from __future__ import annotations

import re
from collections.abc import Container

# Irregular comparatives and spellings people type.
_IRREGULAR: dict[str, str] = {
    "better": "good", "worse": "bad", "further": "far", "farther": "far", "drier": "dry", "dryer": "dry",
    "lofi": "lo-fi", "low-fi": "lo-fi", "lowfi": "lo-fi", "hifi": "hi-fi",
}
# Words that end like a comparative but are not one.
_NOT_COMPARATIVE = frozenset({
    "water", "under", "over", "paper", "after", "never", "ever", "other", "rather", "whether", "summer", "winter",
    "silver", "thunder", "tender", "super", "power", "computer", "mother", "anger", "tiger", "eager", "sinister",
    "somber", "flanger", "phaser", "chorus", "bass", "less", "glass", "brass", "crass", "amplifier", "speaker",
    "hammer", "shimmer", "glimmer", "whisper", "rubber", "copper", "filter", "number", "sober",
})


def _candidates(w: str) -> list[str]:
    out: list[str] = []
    if w.endswith("iest") and len(w) > 5:
        out.append(w[:-4] + "y")
    if w.endswith("ier") and len(w) > 4:
        out.append(w[:-3] + "y")
    if w.endswith("est") and len(w) > 5:
        b = w[:-3]
        out += [b, b + "e"] + ([b[:-1]] if len(b) > 2 and b[-1] == b[-2] else [])
    if w.endswith("er") and len(w) > 4:
        b = w[:-2]
        out += [b, b + "e"] + ([b[:-1]] if len(b) > 2 and b[-1] == b[-2] else [])
    if w.endswith("es") and len(w) > 4:
        out.append(w[:-2])
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        out.append(w[:-1])
    return out


def lemma(word: str, vocabulary: Container[str] | None = None) -> str:
    """The base form of ``word``: with ``vocabulary``, the first candidate it contains (else the word
    itself); without one, the first rule that applies."""
    w = word.strip().lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if vocabulary is not None and w in vocabulary:
        return w
    if w in _NOT_COMPARATIVE:
        return w
    cands = _candidates(w)
    if vocabulary is None:
        return cands[0] if cands else w
    for c in cands:
        if c in vocabulary:
            return c
    return w


def is_comparative(word: str) -> bool:
    w = word.strip().lower()
    return w not in _NOT_COMPARATIVE and (w.endswith("er") or w in ("drier", "dryer")) and len(w) > 4


def tokens(text: str) -> list[str]:
    """Lower-case words, keeping hyphenated words ("lo-fi", "far-away") whole."""
    return re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower())
