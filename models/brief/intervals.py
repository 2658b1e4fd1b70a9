"""Pitch in words: steps ("a whole step down", "raise it a minor third", "drop it an octave", "-5 semitones")
and movement ("slide down", "bend the pitch up", "make it sweep upwards").

A step is an amount and a direction. The amount is a count ("a", "two", "3", "half a") times a unit: semitones,
half and whole steps or tones, the named intervals with or without their quality ("minor third", "perfect fifth",
"tritone"), octaves, cents. The direction comes from a sign ("-5 semitones", "+7"), else from the nearest
direction word in the same clause, an adverb ("higher", "up", "below") or a verb ("raise", "lift", "drop",
"lower"). "above A3" / "below middle C" name the note the step starts from (an absolute pitch).

A movement is a movement word ("slide", "bend", "sweep", "glide", "rise", "dive") with a direction next to it:
the pitch moves during the sound, up or down. Without a direction the lexicon's own word ("sweep": a wide
range) stands.

Pure functions over the lower-cased prompt; ``models.brief.parse`` turns what they find into targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COUNTS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0, "seven": 7.0,
          "eight": 8.0, "nine": 9.0, "ten": 10.0, "eleven": 11.0, "twelve": 12.0, "a couple of": 2.0, "couple of": 2.0, "a couple": 2.0,
          "half a": 0.5, "half an": 0.5}
# unit phrase -> semitones, longest alternatives first in the pattern below
UNITS: dict[str, float] = {
    "cent": 0.01, "cents": 0.01,
    "semitone": 1, "semitones": 1, "semi-tone": 1, "semi-tones": 1, "semi tone": 1, "semi tones": 1, "semi": 1, "semis": 1,
    "half step": 1, "half steps": 1, "half-step": 1, "half-steps": 1, "half tone": 1, "half tones": 1, "half-tone": 1,
    "whole step": 2, "whole steps": 2, "whole-step": 2, "whole tone": 2, "whole tones": 2, "whole-tone": 2, "full step": 2,
    "full tone": 2, "tone": 2, "tones": 2, "step": 2, "steps": 2,
    "minor second": 1, "major second": 2, "minor third": 3, "major third": 4, "third": 4, "thirds": 4,
    "perfect fourth": 5, "fourth": 5, "fourths": 5, "augmented fourth": 6, "tritone": 6, "diminished fifth": 6,
    "perfect fifth": 7, "fifth": 7, "fifths": 7, "minor sixth": 8, "major sixth": 9, "sixth": 9, "sixths": 9,
    "minor seventh": 10, "seventh": 10, "sevenths": 10, "major seventh": 11, "octave": 12, "octaves": 12,
}
for _k in list(UNITS):  # "3rd", "5th", "min 3rd", "maj 7th"
    for _word, _num in (("second", "2nd"), ("third", "3rd"), ("fourth", "4th"), ("fifth", "5th"), ("sixth", "6th"), ("seventh", "7th")):
        if _k.endswith(_word) and not _k.endswith(_word + "s"):
            UNITS[_k[: -len(_word)] + _num] = UNITS[_k]
            UNITS[_k.replace("minor", "min").replace("major", "maj")[: -len(_word)] + _num] = UNITS[_k]
AMBIGUOUS = {"tone", "tones", "step", "steps"}  # also a sound ("a tone") or a move ("a step"): read only next to a direction
UP = {"higher", "up", "upward", "upwards", "above", "over", "raise", "raised", "raising", "raises", "lift", "lifted", "lifting",
      "sharper", "sharpen", "climb", "climbs", "increase", "boost", "pitch-up", "ascend", "ascends", "ascending"}
DOWN = {"lower", "lowered", "lowering", "lowers", "down", "downward", "downwards", "below", "under", "beneath", "drop", "dropped",
        "dropping", "drops", "deeper", "flatter", "decrease", "reduce", "descend", "descends", "descending"}
# verbs that move a note by an amount without saying which way; a sign or a direction word must say it
NEUTRAL_VERBS = {"transpose", "transposed", "shift", "shifted", "move", "moved", "change", "pitch", "retune", "tune"}
DEFAULT_STEP = 5  # a step with no amount ("pitch it down", "raise the pitch", "higher"): a fourth
CLAUSE = re.compile(r"[,;.!?]|\bthen\b|\bbut\b")

_COUNT = "|".join(sorted((re.escape(c) for c in COUNTS), key=len, reverse=True))
_UNIT = "|".join(sorted((re.escape(u).replace(r"\ ", r"[\s-]+") for u in UNITS), key=len, reverse=True))
STEP_RE = re.compile(
    r"(?<![\w.])(?:(?P<sign>[+-])\s*)?(?:(?P<num>\d+(?:\.\d+)?)|(?P<count>" + _COUNT + r"))?\s*(?:-\s*)?(?P<unit>" + _UNIT + r")(?![\w])"
)
NOTE_AFTER = re.compile(r"\s*(?:of\s+|from\s+)?(middle\s+c|[a-g](?:#|b|♯|♭)?-?[0-8])(?![\w])")
# "transpose by +7" / "shift it -3": a signed bare number after a neutral verb is semitones
BARE_RE = re.compile(r"\b(?:" + "|".join(NEUTRAL_VERBS) + r")\b(?:\s+(?:it|the\s+pitch|the\s+note|everything))?\s+(?:by\s+)?(?P<sign>[+-])\s*(?P<num>\d+(?:\.\d+)?)(?![\w.])")


# a step with no amount, said of the pitch: "pitch it down", "transpose it up", "raise the pitch", "lower the note"
UNSIZED_RE = re.compile(
    r"\b(?:(?<!the\s)(?:pitch|transpose|tune|shift|detune)(?:\s+(?:it|the\s+(?:sound|note|pitch|tone)))?\s+(?P<dir>up|down)(?!\s*(?:\d|an?\b|one\b|two\b|half\b))"
    r"|(?P<verb>raise|lift|lower|drop)\s+(?:the\s+)?(?:pitch|note|tuning|key)\b(?!\s*(?:by\s+)?(?:\d|an?\b|one\b|two\b|half\b))"
    r"|\bpitch\s+(?:go|goes|move|moves)\s+(?P<dir2>up|down|higher|lower)\b(?!\s*(?:\d|an?\b|one\b|two\b|half\b)))"
)


# "halve the frequency" / "double the pitch": an octave
FREQ_RE = re.compile(r"\b(?P<verb>halve|half|double)\s+(?:the\s+|its\s+)?(?:frequency|pitch|f0)\b"
                     r"(?!\s+(?:of\b|range|bend|wobble|vibrato|modulation|lfo|envelope|sweep|drift|rate))")


# "the same note but higher": the note an octave away (the same pitch class)
# (the direction ends its clause: "the same note, just lower the volume" keeps the note)
SAME_NOTE_RE = re.compile(r"\bsame\s+(?:note|pitch)\b(?:\s*(?:,|but\b|just\b|only\b))*\s*(?P<dir>higher|lower|up|down)\b"
                          r"(?=\s*(?:$|[,.;!?]|please\b|(?:by\s+)?(?:an?|one)\s+octave\b))")


@dataclass(frozen=True)
class Step:
    semitones: float  # signed
    text: str  # the words read
    span: tuple[int, int]  # where in the text (the amount, and the direction word when next to it)
    reference: str | None = None  # "middle c" / "a3": the step starts from this note, not from the sound


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z]+(?:-[a-z]+)?", text)]


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max((m.end() for m in CLAUSE.finditer(text, 0, start)), default=0)
    hi = next((m.start() for m in CLAUSE.finditer(text, end)), len(text))
    return lo, hi


def _direction(text: str, start: int, end: int) -> tuple[int, str, int, int] | None:
    """(sign, word, start, end) of the direction word nearest to text[start:end] in its clause."""
    lo, hi = _clause(text, start, end)
    best = None
    for w, s, e in _words(text[lo:hi]):
        s, e = s + lo, e + lo
        if start <= s < end:
            continue
        sign = +1 if w in UP else -1 if w in DOWN else 0
        if sign == 0:
            continue
        d = s - end if s >= end else start - e
        if best is None or d < best[0]:
            best = (d, sign, w, s, e)
    return None if best is None else best[1:]


# a clause that says only a direction, with degree words and a plain verb: "lower.", "like a lot lower", "up a bit", "make
# the voice go higher" (not "slow down the wobble", not "an octave down": a phrasal verb or a step of its own)
BARE_DIRECTION = re.compile(r"^\s*(?:(?:please|pls|can|could|you|make|it|the|voice|sound|note|go|put|get|like|a|lot|much|bit|little|way|even|so|more|"
                            r"maybe|just|and|then|now)\s+)*(higher|lower|up|down)"
                            r"(?:\s+(?:a\s+)?(?:bit|little|lot|more|please|still))*\s*$")


def _direction_before(text: str, start: int) -> tuple[int, str, int, int] | None:
    """The direction of the clause right before ``start``'s when that clause says only a direction ("lower. like a lot
    lower, a whole octave"), as (sign, word, start, end) of the amount's own span: the direction's words stay."""
    lo, _ = _clause(text, start, start)
    prev = [m for m in CLAUSE.finditer(text, 0, start) if m.end() <= lo]
    if not prev:
        return None
    before = max((m.end() for m in CLAUSE.finditer(text, 0, prev[-1].start())), default=0)
    m = BARE_DIRECTION.match(text[before:prev[-1].start()])
    if m is None:
        return None
    return (+1 if m.group(1) in UP else -1), m.group(1), start, start


def _amount(m: re.Match) -> tuple[str | None, float]:
    """(the UNITS key, the size in semitones) of a STEP_RE match; (None, 0) for a unit UNITS does not hold."""
    unit = " ".join(m.group("unit").replace("-", " ").split())
    unit_key = next((u for u in UNITS if " ".join(u.replace("-", " ").split()) == unit), None)
    if unit_key is None:
        return None, 0.0
    count = float(m.group("num")) if m.group("num") else COUNTS.get(" ".join((m.group("count") or "a").split()), 1.0)
    return unit_key, count * UNITS[unit_key]


def sizes(text: str) -> list[float]:
    """The sizes (semitones, unsigned) of the amounts said with no direction ("flatten it by a semitone", "more low,
    one octave"): for a direction named elsewhere, e.g. in the tool's ``change`` input."""
    out = []
    for m in STEP_RE.finditer(text):
        unit_key, semis = _amount(m)
        bare = m.group("num") is None and (m.group("count") or "a").strip() in ("a", "an")
        if unit_key is None or unit_key in AMBIGUOUS and bare:  # "a tone like a flute" is a sound, "two steps" an amount
            continue
        if unit_key in ("cent", "cents", "semi", "semis") and m.group("num") is None and m.group("count") is None:
            continue
        if 0 < semis <= 48:
            out.append(semis)
    if not out and (FREQ_RE.search(text) or SAME_NOTE_RE.search(text)):
        out.append(12.0)  # "halve the frequency", "the same note but higher": an octave
    return out


def steps(text: str) -> list[Step]:
    """The pitch steps said in ``text`` (lower case), in order. An amount with no direction is left out."""
    out: list[Step] = []
    for m in STEP_RE.finditer(text):
        unit_key, semis = _amount(m)
        if unit_key is None:
            continue
        if m.group("num") is None and m.group("count") is None and unit_key in ("tone", "tones", "step", "steps", "semi", "semis", "cent", "cents"):
            continue  # "the tone", "steps": a unit word with no amount is not a step
        if semis <= 0 or semis > 48:
            continue
        span = (m.start(), m.end())
        if m.group("sign"):
            sign = +1 if m.group("sign") == "+" else -1
            out.append(Step(sign * semis, text[span[0]:span[1]].strip(), span))
            continue
        d = _direction(text, *span)
        if d is None and unit_key not in AMBIGUOUS:
            d = _direction_before(text, span[0])
        if d is None:
            continue
        sign, word, ds, de = d
        gap = text[span[1]:ds] if ds >= span[1] else text[de:span[0]]
        if unit_key in AMBIGUOUS and not set(gap.split()) <= {"it", "by", "the", "pitch", "note", "sound"}:
            continue  # "a tone that drops" is a sound, "a tone lower" a step: these units need their direction next to them
        if any(o.span[0] < span[1] and span[0] < o.span[1] for o in out):
            continue
        full = (min(span[0], ds), max(span[1], de))
        ref = None
        if word in ("above", "below", "over", "under", "beneath") and ds >= span[1]:
            n = NOTE_AFTER.match(text, de)
            if n:
                ref = " ".join(n.group(1).split())
                full = (full[0], n.end())
        out.append(Step(sign * semis, text[full[0]:full[1]].strip(), full, ref))
    for m in FREQ_RE.finditer(text):
        if out:
            break  # a sized step says how far ("double the pitch, an octave up" is one octave)
        out.append(Step(-12.0 if m.group("verb") in ("halve", "half") else 12.0, m.group(0).strip(), (m.start(), m.end())))
    for m in SAME_NOTE_RE.finditer(text):
        if out:
            break
        out.append(Step(12.0 if m.group("dir") in UP else -12.0, m.group(0).strip(), (m.start(), m.end())))
    for m in BARE_RE.finditer(text):
        if any(s.span[0] <= m.start("num") < s.span[1] for s in out):
            continue
        semis = float(m.group("num"))
        if 0 < semis <= 48:
            out.append(Step((+1 if m.group("sign") == "+" else -1) * semis, m.group(0).strip(), (m.start(), m.end())))
    for m in UNSIZED_RE.finditer(text):
        if any(s.span[0] <= m.start() < s.span[1] or m.start() <= s.span[0] < m.end() for s in out):
            continue
        up = (m.group("verb") or m.group("dir") or m.group("dir2")) in UP
        out.append(Step((1 if up else -1) * DEFAULT_STEP, m.group(0).strip(), (m.start(), m.end())))
    return sorted(out, key=lambda s: s.span)


MOVEMENT_WORDS = {"slide", "slides", "sliding", "bend", "bends", "bending", "sweep", "sweeps", "sweeping", "glide", "glides", "gliding",
                  "swoop", "swoops", "swooping", "ramp", "ramps", "ramping",
                  "rise", "rises", "rising", "fall", "falls", "falling", "drop", "drops", "dropping", "dive", "dives", "diving", "climb",
                  "climbs", "climbing", "slope", "slopes", "sloping", "portamento", "glissando", "bent", "swept", "slid", "ramped",
                  "chirp", "chirps", "chirping", "pitch-bend", "pitch-bends", "pitch-bending",
                  *(f"{w}{e}" for w in ("sag", "sink", "droop", "nosedive", "plummet", "plunge", "soar") for e in ("", "s")),
                  "sagging", "sinking", "drooping", "nosediving", "plummeting", "plunging", "soaring"}  # sink, soar: only with a direction
MOVE_UP = {"up", "upward", "upwards", "higher"}
STEP_VERBS = {"drop", "drops", "dropping"}  # also a verb of transposition when it takes an object
OBJECTS = {"it", "this", "that", "the", "everything"}
MOVE_DOWN = {"down", "downward", "downwards", "lower"}
# words that start a movement without a direction word: the word itself says which way
OWN_WAY = {"dive": -1, "dives": -1, "diving": -1, "climb": +1, "climbs": +1, "climbing": +1,
           **{w: -1 for w in ("sag", "sags", "sagging", "droop", "droops", "drooping", "nosedive", "nosedives",
                              "nosediving", "plummet", "plummets", "plummeting", "plunge", "plunges", "plunging")}}


SLOW_WORDS = {"slow", "slowly", "gentle", "gently", "gradual", "gradually", "lazy", "lazily"}


@dataclass(frozen=True)
class Movement:
    sign: int
    text: str
    span: tuple[int, int]
    slow: bool = False  # "slide down slowly", "a slow bend up": a slow word next to it in its clause


def movements(text: str) -> list[Movement]:
    """Pitch movements said in ``text`` (lower case): a movement word with a direction word at most three words
    after it ("slide down", "sweep up in pitch", "bend the pitch up") or right before it ("an upward sweep"),
    and the words that carry their own way ("dive", "climb")."""
    ws = _words(text)
    out: list[Movement] = []
    used: set[int] = set()
    for i, (w, s, e) in enumerate(ws):
        if w not in MOVEMENT_WORDS or i in used:
            continue
        if w in STEP_VERBS and i + 1 < len(ws) and ws[i + 1][0] in OBJECTS:
            continue  # "drop it down a bit": a transposition, not a glide ("make it drop in pitch" is one)
        found = None
        for j in range(i + 1, min(len(ws), i + 4)):
            if ws[j][0] in MOVE_UP | MOVE_DOWN and not _clause_break(text, e, ws[j][1]):
                found = j
                break
            if ws[j][0] in MOVEMENT_WORDS - {"pitch"}:
                break
        if found is None and i > 0 and ws[i - 1][0] in {"upward", "upwards", "downward", "downwards"}:
            found = i - 1
        if found is not None and found + 2 < len(ws) and ws[found + 1][0] in ("and", "or") and ws[found + 2][0] in MOVE_UP | MOVE_DOWN:
            continue  # "sweeping up and down": both ways, the lexicon's word (a wide range) stands
        if found is not None:
            sign = +1 if ws[found][0] in MOVE_UP else -1
            lo, hi = min(s, ws[found][1]), max(e, ws[found][2])
            used.update({i, found})
        elif w in OWN_WAY:
            sign, lo, hi = OWN_WAY[w], s, e
        else:
            continue
        c_lo, c_hi = _clause(text, lo, hi)
        around = [x for x, a, b in ws if c_lo <= a < c_hi and (ws[max(0, i - 2)][1] <= a < lo or hi <= a <= hi + 12)]
        out.append(Movement(sign, text[lo:hi], (lo, hi), slow=any(x in SLOW_WORDS for x in around)))
    return out


def _clause_break(text: str, a: int, b: int) -> bool:
    return CLAUSE.search(text, a, b) is not None
