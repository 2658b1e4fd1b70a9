"""Reading a request: compound and relative prompts -> parts, each a describing word with a direction,
a strength and an effect.

"brighter and a bit roomier" -> [brighter: eq, +1, 0.5], [roomier: reverb, +1, 0.25]
"less muddy, not so harsh"   -> [muddy: eq, -1, 0.5], [harsh: eq, -1, 0.5]
"drier"                      -> [dry: reverb, -1, 0.5]  (the opposite of a wet, reverberant sound)

A part's effect comes from the effect keywords of the chain menu (``chain.keyword_effect``), then
from what the crowd knows the word for (EQ first), else EQ. A few producers' words the crowd data do
not cover are mapped to crowd words or to an engineering convention (``ALIASES``), and say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..chain import DEFAULT_STRENGTH, keyword_effect
from .words import lemma, tokens

INTENSITY: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.25, ("a bit", "a little", "a little bit", "slightly", "a touch", "subtly", "somewhat", "a tad", "mildly", "barely", "kind of", "a hint")),
    (1.0, ("much", "very", "a lot", "lots", "way", "extremely", "really", "super", "heavily", "massively", "drastically", "far", "totally", "completely", "seriously")),
)
NEGATORS = ("less", "not", "no", "without", "fewer", "reduce", "remove", "lose", "cut", "tame", "anti", "get rid of", "lower the", "take away", "take out", "too")
SPLIT = re.compile(r"\s*(?:,|;|\+|&|\bbut\b|\band\b|\bplus\b|\bthen\b|\balso\b)\s*")
FILLER = frozenset(
    "a an the it its it's this that my me please make sound sounds sounding more less bit little slightly much very way lot lots "
    "like as if so too not no without reduce remove lose cut tame get rid of take away out give add some of to in on is be just "
    "quite really can you could would kind sort feel feeling keep bring up down tone touch tad somewhat subtly mildly barely "
    "extremely super heavily massively drastically far totally completely seriously fewer lower hint overall whole mix track "
    "one was were are am i we us our version recording audio signal vocal vocals voice guitar drums drum piano loop "
    "s t d m ll re ve don doesn isn".split()
)


@dataclass(frozen=True)
class Alias:
    """A producer's word mapped onto crowd words or an engineering convention."""

    targets: tuple[tuple[str, str, float], ...]  # (crowd word or "@curve name", effect, sign)
    note: str


# Words the crowd data lack (or know only from one contributor) that producers use every day.
ALIASES: dict[str, Alias] = {
    "thin": Alias((("heavy", "eq", -1.0),), "'thin' is not in the crowd data; used the opposite of 'heavy' (SocialFX, 15 contributors)"),
    "air": Alias((("airy", "eq", 1.0),), "'air' read as the crowd's 'airy'"),
    "mud": Alias((("muddy", "eq", 1.0),), "'mud' read as the crowd's 'muddy'"),
    "boomy": Alias((("boom", "eq", 1.0),), "'boomy' read as the crowd's 'boom'"),
    "bass": Alias((("bassy", "eq", 1.0),), "'bass' read as the crowd's 'bassy'"),
    "bassier": Alias((("bassy", "eq", 1.0),), "'bassier' read as the crowd's 'bassy'"),
    "treble": Alias((("bright", "eq", 1.0),), "'treble' read as the crowd's 'bright'"),
    "dry": Alias((("wet", "reverb", -1.0),), "'dry': less reverberation (the opposite of 'wet')"),
    "close": Alias((("distant", "reverb", -1.0),), "'close': less room (the opposite of 'distant')"),
    "near": Alias((("distant", "reverb", -1.0),), "'near': less room (the opposite of 'distant')"),
    "intimate": Alias((("distant", "reverb", -1.0),), "'intimate': less room (the opposite of 'distant')"),
    "wide": Alias((("wide", "width", 1.0),), "'wide': a stereo ambience (short reverb, decorrelated channels)"),
    "narrow": Alias((("wide", "width", -1.0),), "'narrow': towards mono"),
    "underwater": Alias((("muffled", "eq", 1.0), ("underwater", "reverb", 1.0)),
                        "'underwater': the crowd's 'muffled' EQ with its reverb for 'underwater'"),
    "telephone": Alias((("@telephone", "eq", 1.0),), "'telephone': band-limited to about 300-3400 Hz (engineering convention, not crowd data)"),
    "phone": Alias((("@telephone", "eq", 1.0),), "'phone': band-limited to about 300-3400 Hz (engineering convention, not crowd data)"),
    "radio": Alias((("@radio", "eq", 1.0),), "'radio': band-limited to about 200-5000 Hz (engineering convention, not crowd data)"),
    "lo-fi": Alias((("@lofi", "eq", 1.0), ("lo-fi", "distortion", 1.0)), "'lo-fi': band-limited (150-5000 Hz) and a little saturated (engineering convention, not crowd data)"),
    "compressed": Alias((("compressed", "compressor", 1.0),), "'compressed': a compressor"),
    "punchy": Alias((("punchy", "compressor", 1.0),), "'punchy': a compressor that lets the attack through"),
    "loud": Alias((("loud", "gain", 1.0),), "'loud': more level (true peak still kept at -0.3 dBFS by a limiter)"),
    "quiet": Alias((("loud", "gain", -1.0),), "'quiet': less level"),
    "softer volume": Alias((("loud", "gain", -1.0),), "'softer volume': less level (not the crowd's 'soft', an EQ shape)"),
}


def _phrases() -> tuple[tuple[str, ...], ...]:
    """The several-word aliases and effect keywords ("softer volume"), longest first, as word tuples."""
    from ..effects import EFFECTS

    found = {p for p in ALIASES if " " in p} | {k for e in EFFECTS.values() for k in e.keywords if " " in k}
    return tuple(sorted((tuple(p.split()) for p in found), key=len, reverse=True))


def _merge_phrases(words: list[str]) -> list[str]:
    """Words with each known phrase joined into one item, so it is read as one describing word."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for ph in _phrases():
            if tuple(words[i : i + len(ph)]) == ph:
                out.append(" ".join(ph))
                i += len(ph)
                break
        else:
            out.append(words[i])
            i += 1
    return out


@dataclass
class Part:
    text: str  # the part of the prompt, e.g. "a bit roomier"
    word: str  # the describing word as typed, e.g. "roomier"
    base: str  # its lemma, e.g. "roomy"
    effect: str  # eq | reverb | compressor | width | gain | distortion | delay | chorus | gate
    sign: float  # +1 towards the word, -1 away from it ("less muddy", "not so harsh", "drier")
    strength: float
    crowd_word: str  # the word looked up in the crowd data ("@name" for an engineering curve)
    note: str = ""
    explicit_strength: bool = False
    negated: bool = False  # "less", "not so", "too"... (sign also carries an alias's own direction)

    def label(self) -> str:
        return ("less " if self.sign < 0 else "") + self.base


@dataclass
class Request:
    prompt: str
    parts: list[Part] = field(default_factory=list)

    def effects(self) -> list[str]:
        return [p.effect for p in self.parts]

    def about_loudness(self) -> bool:
        return any(p.effect == "gain" for p in self.parts)


def _intensity(text: str) -> float | None:
    t = f" {text} "
    for value, words in INTENSITY:
        if any(f" {w} " in t for w in words):
            return value
    return None


def _negated(text: str, word: str) -> bool:
    t = f" {text} "
    before = t.split(f" {word} ")[0] + " "
    return any(f" {n} " in before for n in NEGATORS)


def _effect_for(base: str, word: str, prior) -> str:
    kw = keyword_effect(word) or keyword_effect(base)
    if kw:
        return kw
    if prior is not None:
        if prior.lookup(base, "eq") is not None:
            return "eq"
        rv = prior.lookup(base, "reverb")
        if rv is not None and prior.reverb(rv).confidence >= 0.8 and prior.lookup(base, "eq") is None:
            return "reverb"
    return "eq"


def parse(prompt: str, prior=None, default_strength: float | None = None) -> Request:
    """Split ``prompt`` into parts with an effect, a direction and a strength each. ``prior`` (a
    CrowdPrior) lets the crowd's vocabulary decide the effect of words no keyword names and reduce
    comparatives to the crowd's words."""
    req = Request(prompt)
    vocab = _Vocab(prior)
    for chunk in SPLIT.split(prompt.lower()):
        words = _merge_phrases(tokens(chunk))
        content = [w for w in words if w not in FILLER]
        if not content:
            continue
        # every describing word of the chunk ("gritty distant echo"), else its last content word
        described = [w for w in content if _is_describing(w, vocab)] or [content[-1]]
        text = " ".join(words)
        strength = _intensity(text)
        explicit = strength is not None
        strength = strength if strength is not None else (default_strength if default_strength is not None else DEFAULT_STRENGTH)
        for word in described:
            sign = -1.0 if _negated(text, word) else 1.0
            base = _base(word, vocab)
            alias = ALIASES.get(word) or ALIASES.get(base)
            if alias is not None:
                for target, effect, s in alias.targets:
                    req.parts.append(Part(text, word, base, effect, sign * s, strength, target, alias.note, explicit, sign < 0))
                continue
            req.parts.append(Part(text, word, base, _effect_for(base, word, prior), sign, strength, base, "", explicit, sign < 0))
    return req


def _base(word: str, vocab: "_Vocab") -> str:
    if " " in word:
        return word  # a phrase is its own base
    base = lemma(word, vocab)
    if base == word and word not in vocab:
        base = lemma(word)  # plain suffix rules when the crowd knows neither form
        if base not in ALIASES and base not in vocab and word in ALIASES:
            base = word
    return base


def _is_describing(word: str, vocab: "_Vocab") -> bool:
    base = _base(word, vocab)
    return word in ALIASES or base in ALIASES or keyword_effect(word) is not None or keyword_effect(base) is not None or base in vocab


class _Vocab:
    """Every word the prior knows (any effect), for reducing comparatives."""

    def __init__(self, prior):
        self.prior = prior

    def __contains__(self, w: object) -> bool:
        if self.prior is None or not isinstance(w, str):
            return False
        return any(self.prior.lookup(w, e) == w for e in ("eq", "reverb", "compressor"))


def chain_for(request: Request) -> list[str]:
    """The effect chain the parts need, in the menu's canonical order."""
    from ..chain import CANONICAL_ORDER

    need: set[str] = set()
    for p in request.parts:
        if p.effect == "width":
            need.add("reverb")
        elif p.effect == "reverb" and p.sign < 0:
            need.add("gate")
        elif p.effect in CANONICAL_ORDER:
            need.add(p.effect)
    if not need:
        need.add("eq")
    return [fx for fx in CANONICAL_ORDER if fx in need]
