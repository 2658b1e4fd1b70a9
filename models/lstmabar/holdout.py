"""The one definition of what the LSTMABAR model never sees in training.

Every report that claims "held out" (the model's metrics, optimize_fx's crowd-curve study,
synthesize_from_text's prompt set) imports this module, so the split cannot drift.
"""

from __future__ import annotations

import hashlib

# Paraphrases and timbre words kept out of every caption the model trains on.
PROBE_WORDS: tuple[str, ...] = (
    "velvety", "glassy", "kazoo", "buzzy", "silky", "metallic", "hollow", "breathy",
    "gritty", "shimmering", "woody", "nasal",
)

# Prompts for synthesize_from_text's quality report (CTAG-style timbre and sound-event prompts).
SYNTH_EVAL_PROMPTS: tuple[str, ...] = (
    "glassy bell", "dark drone", "plucky bass", "airy pad", "buzzy lead", "velvety strings",
    "metallic clang", "hollow flute", "siren", "thunder", "bird chirp", "laser zap",
)


# The core vocabulary the model must know; never held out, usable in any caption.
CORE_WORDS: frozenset[str] = frozenset({
    "bright", "dark", "warm", "cold", "harsh", "soft", "smooth", "mellow", "airy", "noisy", "clean",
    "sharp", "dull", "thin", "full", "heavy", "light", "loud", "quiet", "muted", "cutting", "digital",
    "textured", "sine", "square", "sawtooth", "triangle", "noise", "tone", "sound", "bass", "treble",
})


def _bucket(word: str) -> int:
    return int(hashlib.sha1(word.strip().lower().encode()).hexdigest(), 16) % 5


def is_held_out(word: str) -> bool:
    """A crowd descriptor (Audealize/SocialFX word) is held out when it hashes to bucket 0 (~20 %),
    or when it is one of the probe words; the core vocabulary is never held out."""
    w = word.strip().lower()
    if w in PROBE_WORDS:
        return True
    return w not in CORE_WORDS and _bucket(w) == 0


def caption_is_clean(caption: str) -> bool:
    """True when no held-out word occurs in a training caption."""
    tokens = {t.strip(".,;:!?\"'()").lower() for t in caption.split()}
    return not any(is_held_out(t) for t in tokens if t)
