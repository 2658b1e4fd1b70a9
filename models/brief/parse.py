"""Prompt -> sound brief: the measurable targets a prompt asks for, absolute or relative to a start sound.

Order of precedence, per descriptor: explicit numbers in the prompt ("C3", "440 Hz", "0.5 s",
"an octave below middle C", "pulsing at 4 Hz") win over words; then the phrases of ``lexicon``;
then the descriptor vocabulary's own words (``library.descriptors.words.AXES``, e.g. bright, dark,
harsh, thin, boomy); then brightness-like words looked up in the crowd's EQ curves. Where two words
ask for the same descriptor the ranges are intersected; where they conflict the more confident wins
and the brief says so. Words the brief cannot measure are left out (and ``notes`` says which).

With a start sound (``start``: its flat descriptors and patch), comparatives become targets relative
to it ("darker" = a centroid three noticeable steps below the start's; "an octave higher" sets the
note 12 semitones up), and what the prompt does not mention is kept: pitch within half a semitone,
length within 20 %, brightness within 20 %, attack within a factor 1.5 (or 10 ms).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Sequence

import numpy as np

from lstmabar.library.descriptors.words import AXES, threshold
from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

from . import intervals
from . import lexicon as L
from .reader import CHANGES, DROP_P, NAMED, QUALITY, RATE_OF, ChangeReader, arbitrate, opposed, rates_last, shipped
from .targets import STEP, Brief, Target

SEMITONE = 2 ** (1 / 12)
NOTE_RE = re.compile(r"(?<![\w-])([A-Ga-g])(#|b|♯|♭)?(-?[0-8])(?![\w])")
HZ_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(khz|hz)\b")
FROM_TO_RE = re.compile(r"from\s+(\d+(?:\.\d+)?)\s*(khz|hz)\s+(?:to|up to|down to)\s+(\d+(?:\.\d+)?)\s*(khz|hz)\b")
NUMBER_WORDS = {"half": 0.5, "a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "quarter": 0.25}
# a number word needs a space or hyphen before its unit ("a second", "half-second"): "as" is not "a s"
DUR_RE = re.compile(r"(?<![\w.])(?:(\d+(?:\.\d+)?|one|two|three|four|five)\s*(?:or|to|-|–)\s*)?"
                    r"(\d+(?:\.\d+)?|(?:half|one|two|three|four|five|a|quarter)(?=[\s-]))[\s-]*(?:a\s+)?(ms|milliseconds?|s|secs?|seconds?)\b")
# a count per second is a rate, not a length: "once or twice a second", "6 or 7 wobbles in pitch a second", "4 pulses per second"
_COUNT = r"(\d+(?:\.\d+)?|once|twice|thrice|one|two|three|four|five|six|seven|eight|nine|ten)"
PER_SECOND_RE = re.compile(rf"(?<![\w.]){_COUNT}(?:\s*(?:or|to|-|–)\s*{_COUNT})?((?:\s+(?!a\b|an\b|per\b|each\b|every\b|and\b|db\b|decibels?\b|semitones?\b|semis?\b|cents?\b|octaves?\b|steps?\b)[a-z']+){{0,3}}?)"
                           r"\s+(?:a|per|each|every)\s+(?:second|sec|s)\b(?=\s*(?:$|[.,;!?)]|or\s+so\b|ish\b|and\b|please\b|pls\b|like\b|at\s+(?:most|least|the\s+most)\b|max\b|tops\b|or\s+(?:less|fewer|more|faster|slower)\b))")
COUNTS = {"once": 1.0, "twice": 2.0, "thrice": 3.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
          "seven": 7.0, "eight": 8.0, "nine": 9.0, "ten": 10.0}
NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
ATTACK_MAX_S = 2.0  # the Voice's envelope attack at most (its ADSR's range)
ATTACK_CONTEXT = ("attack", "swell", "swells", "swelling", "fade in", "fades in", "fading in", "rise in", "rises in", "reach full", "to come in",
                  "to reach its", "to reach the full", "to get to full")

# Relative (start_from) vocabulary: the descriptor vocabulary's comparatives plus a few synonyms.
COMPARATIVES: dict[str, tuple[str, int]] = {}
for _a in AXES:
    if _a.key in ("width", "integrated_lufs", "reverb_time_s", "sharpness_acum"):
        continue
    COMPARATIVES[_a.more] = (_a.key, +1)
    COMPARATIVES[_a.less] = (_a.key, -1)
COMPARATIVES.update({
    "softer attack": ("attack_s", +1), "gentler attack": ("attack_s", +1), "longer attack": ("attack_s", +1),
    "sharper attack": ("attack_s", -1), "snappier": ("attack_s", -1), "shorter attack": ("attack_s", -1), "quicker attack": ("attack_s", -1),
    "punchier": ("transient_db", +1), "breathier": ("flatness", +1), "airier": ("flatness", +1), "purer": ("flatness", -1),
    "longer decay": ("sounding_s", +1), "shorter decay": ("sounding_s", -1), "lower pitch": ("f0_hz", -1), "higher pitch": ("f0_hz", +1),
    "deeper": ("f0_hz", -1),
    # a refinement's "make it decay" / "fade away": the level falls where it held (no fresh-sound reading: "a long decay")
    "decay": ("decay_db_per_s", -1), "fade away": ("decay_db_per_s", -1), "fades away": ("decay_db_per_s", -1),
    "fade out": ("decay_db_per_s", -1), "fades out": ("decay_db_per_s", -1),
    **{f"{verb} {way}": ("decay_db_per_s", -1) for verb in ("die", "dies", "dying", "tail", "tails", "trail", "trails", "taper", "tapers", "peter", "fade", "fades")
       for way in ("away", "out", "off", "down")},
    "fade": ("decay_db_per_s", -1), "fades": ("decay_db_per_s", -1), "fading": ("decay_db_per_s", -1), "faster decay": ("decay_db_per_s", -1),
    "quicker decay": ("decay_db_per_s", -1), "decays": ("decay_db_per_s", -1), "decaying": ("decay_db_per_s", -1),
    "grittier": ("flatness", +1), "hissier": ("flatness", +1), "dirtier": ("flatness", +1), "tighter": ("sounding_s", -1),
    "slower decay": ("sounding_s", +1), "ring out": ("sounding_s", +1), "rings out": ("sounding_s", +1), "ring longer": ("sounding_s", +1),
})
# In a refinement, a plain word on these ("swell in", "add some noise", "slow attack") asks for a change from the start in
# its direction: the fresh-sound percentile alone is often met by the start already (a 0.3 s pad "swelling in" had no
# change to make), and the noise word's percentile is a noise, not a noisier tone
REFINE_WORDS = ("attack_s", "flatness", "decay_db_per_s")
FADE_DB_PER_S = -8.0  # "make it decay": at least this steep a fall (a held sound's slope is 0; an audible fade over a 2 s render)
RELATIVE_STEPS = 3  # a refinement moves a descriptor by this many noticeable steps (compare's thresholds)
LENGTH_FACTOR = 1.5  # "longer" / "shorter": x1.5 / /1.5
DEFAULT_INTERVAL = 5  # "higher" / "lower" with no amount: a fourth
KEEP = {"f0_hz": 2 ** (0.5 / 12), "sounding_s": 1.2, "centroid_hz": 1.2, "attack_s": 1.5}
TUNING_RANGE = VOICE_PARAMS[PARAM_INDEX["vco_1.tuning"]].maximum  # the oscillators' tunings, +- semitones
PITCH_PARAMS = ("keyboard.midi_f0", "vco_1.tuning", "vco_2.tuning", "vco_1.mod_depth", "vco_2.mod_depth") + tuple(
    f"mod_matrix.{s}->{d}" for s in ("adsr_1", "adsr_2", "lfo_1", "lfo_2") for d in ("vco_1_pitch", "vco_2_pitch"))
ATTACK_KEEP_S = 0.01
MAX_RENDER_S = 6.0  # the longest sound the tool renders (s)
KEEP_MOVEMENT = 1.5  # a kept pitch movement's range, as a factor either way
STEADY_SEMITONES = 1.0  # a start heard within this pitch range is one note: no movement to keep


def hz_to_midi(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def midi_to_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69.0) / 12.0)


def note_to_midi(letter: str, accidental: str | None, octave: str) -> float:
    m = 12 * (int(octave) + 1) + NAMES[letter.lower()]
    if accidental in ("#", "♯"):
        m += 1
    elif accidental in ("b", "♭"):
        m -= 1
    return float(m)


def _level_value(descriptor: str, level: float) -> float:
    v = threshold(descriptor, level)
    if v is None:
        raise KeyError(f"no reference percentiles for {descriptor}")
    return float(v)


def _unit(descriptor: str) -> str:
    for a in AXES:
        if a.key == descriptor:
            return a.unit
    return {"sustain_level_db": "dB", "decay_db_per_s": "dB/s", "transient_db": "dB", "pitch_trend_semitones_per_s": "semitones/s",
            "pitch_range_semitones": "semitones", "am_rate_hz": "Hz", "vibrato_rate_hz": "Hz", "sounding_s": "s", "attack_s": "s"}.get(descriptor, "")


def _tol(descriptor: str) -> float:
    """Default slack: one noticeable step."""
    return STEP.get(descriptor, 1.0)


def crowd_brightness(word: str, encode: Callable[[list[str]], np.ndarray] | None = None) -> tuple[float, float, str] | None:
    """(signed strength -1..1, confidence, evidence) of a brightness-like word from the crowd's EQ curve:
    its tilt (dB-standardised units per octave), scaled so that the crowd's own "bright" (and "dark")
    is 1, the strength at which the descriptor vocabulary says bright (80th percentile). Unknown words
    borrow from similar crowd words when ``encode`` (MiniLM sentence vectors) is given; else None."""
    try:
        from lstmabar.models.fx.crowd.prior import BANDS_HZ, CrowdPrior
    except Exception:  # pragma: no cover - the crowd prior ships with the package
        return None
    prior = CrowdPrior.load()
    octs = np.log2(BANDS_HZ) - np.log2(BANDS_HZ).mean()

    def tilt(curve: np.ndarray) -> float:
        return float(np.polyfit(octs, curve, 1)[0])

    anchor_up, anchor_down = tilt(prior.eq("bright").values), -tilt(prior.eq("dark").values)
    if prior.lookup(word, "eq") is not None:
        m = prior.eq(word)
    elif encode is not None:
        vec = np.asarray(encode([prior.meta["embed_template"].format(word)]), dtype=np.float32)[0]
        m = prior.borrow(vec, "eq", word)
    else:
        return None
    t = tilt(m.values)
    s = t / (anchor_up if t > 0 else anchor_down)
    src = (f"crowd EQ curve for '{m.known_as}' ({m.count} contributors)" if m.known
           else "crowd EQ borrowed from " + ", ".join(w for w, _ in m.neighbours[:3]))
    return max(-1.0, min(1.0, s)), float(m.confidence), f"{src}: tilt {t:+.3f}/octave ({s:+.2f} x the crowd's 'bright')"


class _Builder:
    def __init__(self, prompt: str, render_seconds: float, start: dict[str, Any] | None):
        self.prompt = prompt
        self.render_seconds = render_seconds
        self.base_seconds = render_seconds
        self.start = start
        self.start_patch: dict[str, float] | None = None
        self.targets: dict[str, Target] = {}
        self.explicit: set[str] = set()
        self.numbers: set[str] = set()  # descriptors the prompt gave a number for: a comparative word on them asks no more
        self.notes: list[str] = []
        self.asked: set[str] = set()  # descriptors the prompt asks about (for keep targets)
        self.rate_tokens: set[int] = set()  # tokens read as a modulation's rate
        self.leans: dict[str, int] = {}  # descriptor -> the direction a word gave without a target (the change reader's yields to it)
        self.left: set[str] = set()  # descriptors the words say to leave ("don't make the vibrato faster"): the change reader adds nothing on them
        self.cannot: list[str] = []  # asked changes the start leaves no room for, said (Brief.cannot)
        self.cannot_keys: set[str] = set()

    def add(self, t: Target, explicit: bool = False) -> None:
        if t.confidence < 0.5:
            self.notes.append(f"left out {t.aspect} ({t.source}): confidence {t.confidence:.2f} under 0.5")
            return
        key = t.descriptor
        if key in self.cannot_keys and not t.kept:
            return  # the prompt asked a change of it the start leaves no room for (Brief.cannot): a word describing the start adds nothing
        self.asked.add(key)
        if key in self.explicit and not explicit:
            return
        old = self.targets.get(key)
        if explicit or old is None:
            if explicit:
                self.explicit.add(key)
            self.targets[key] = t
            return
        lo = max(x for x in (old.lo, t.lo, -math.inf) if x is not None)
        hi = min(x for x in (old.hi, t.hi, math.inf) if x is not None)
        if lo <= hi:
            merged = old.model_copy(update={
                "lo": None if lo == -math.inf else lo, "hi": None if hi == math.inf else hi,
                "confidence": max(old.confidence, t.confidence), "source": f"{old.source}; {t.source}",
                "set_by": {**old.set_by, **t.set_by}, "needs": old.needs or t.needs})
            self.targets[key] = merged
        else:
            keep, drop = (old, t) if old.confidence >= t.confidence else (t, old)
            self.targets[key] = keep
            self.notes.append(f"conflict on {key}: kept '{keep.source}', dropped '{drop.source}'")

    def drop(self, key: str) -> Target:
        """Take a target back out (the change reader's or the caller's reading replaces it): it is no longer asked."""
        self.asked.discard(key)
        self.explicit.discard(key)
        return self.targets.pop(key)

    def need(self, n: L.Need, word: str, confidence: float | None = None) -> None:
        conf = n.confidence if confidence is None else confidence
        if n.side == "hold":
            lo = round(0.8 * self.render_seconds, 3)
            self.add(Target(aspect=n.aspect, descriptor="sounding_s", lo=lo, unit="s", tolerance=_tol("sounding_s"), confidence=conf,
                            source=f"'{word}': sounds through the render (>= 80 % of {self.render_seconds:g} s)",
                            set_by={"keyboard.duration": min(4.0, self.render_seconds)}))
            return
        if n.descriptor == "pitched":
            self.add(Target(aspect="noisiness", descriptor="pitched", lo=1.0, unit="", tolerance=0.0, confidence=conf,
                            source=f"'{word}': a note (pYIN finds a pitch)"))
            return
        if n.level is not None:
            v = _level_value(n.descriptor, n.level)
            evidence = f"{n.level:g}th percentile of the reference recordings"
        else:
            v = float(n.value)  # type: ignore[arg-type]
            evidence = "stated rule (no reference data)"
        unit = _unit(n.descriptor)
        if n.side == "set":  # pitch register: set the note there; the target is the register's side of the 20th/80th
            midi = round(hz_to_midi(v))
            hz = midi_to_hz(midi)
            if n.level <= 50:
                lo, hi, edge = None, _level_value("f0_hz", 20), "at most the 20th percentile"
            else:
                lo, hi, edge = _level_value("f0_hz", 80), None, "at least the 80th percentile"
            self.add(Target(aspect="pitch", descriptor="f0_hz", lo=lo, hi=hi, unit="Hz", tolerance=_tol("f0_hz"), confidence=conf,
                            source=f"'{word}': register {edge}; note set to MIDI {midi} ({hz:.0f} Hz, the {n.level:g}th percentile of pitched reference sounds)",
                            set_by={"keyboard.midi_f0": float(midi), "vco_1.tuning": 0.0, "vco_2.tuning": 0.0}))
            return
        lo, hi = (v, None) if n.side == "ge" else (None, v)
        t = Target(aspect=n.aspect, descriptor=n.descriptor, lo=lo, hi=hi, unit=unit, confidence=conf,
                   tolerance=_tol(n.descriptor) if n.tolerance is None else n.tolerance,
                   needs=n.needs, source=f"'{word}': {n.descriptor} {'>=' if n.side == 'ge' else '<='} {v:.4g} {unit} ({evidence})")
        if n.descriptor == "sounding_s" and hi is not None:
            t.set_by = {"keyboard.duration": max(0.01, round(0.6 * hi, 4))}
        self.add(t)

    def brief(self, relative: bool) -> Brief:
        order = ["f0_hz", "pitched", "centroid_hz", "flatness", "attack_s", "sounding_s", "sustain_level_db", "decay_db_per_s"]
        ts = sorted(self.targets.values(), key=lambda t: (order.index(t.descriptor) if t.descriptor in order else len(order), t.descriptor))
        seconds = self.render_seconds
        for t in ts:
            if t.descriptor == "sounding_s" and t.lo is not None and t.lo > 0.8 * seconds:
                seconds = min(MAX_RENDER_S, t.lo / 0.8 + 0.05)
        from .program import program, search_ranges

        brief = Brief(prompt=self.prompt, targets=ts, relative=relative, notes=self.notes, cannot=self.cannot,
                      render_seconds=None if seconds == self.base_seconds else round(seconds, 2))
        brief.settings, brief.settings_why = program(brief, seconds, self.start_patch)
        brief.ranges, why = search_ranges(brief)
        if why:
            brief.notes.append(why)
        return brief


def tokenize(text: str) -> list[str]:
    """Lower-case words; a hyphenated word stays whole only when the lexicon knows it ("hi-hat")."""
    out: list[str] = []
    for t in re.findall(r"[a-z]+(?:-[a-z]+)*", text):
        out.extend([t] if "-" not in t or t in L.PHRASES else [p for p in t.split("-") if p])
    return out


def _phrases(text: str) -> list[tuple[int, str]]:
    """(token position, phrase) of the lexicon's phrases, longest first, without overlaps; then the
    unmatched tokens with negative positions (-1 - index)."""
    toks = tokenize(text)
    taken = [False] * len(toks)
    found: list[tuple[int, str]] = []
    for n in (3, 2, 1):
        for i in range(len(toks) - n + 1):
            if any(taken[i : i + n]):
                continue
            ph = " ".join(toks[i : i + n])
            if ph in L.PHRASES or ph in COMPARATIVES or (n == 1 and ph in _AXIS_WORDS):
                found.append((i, ph))
                for j in range(i, i + n):
                    taken[j] = True
    rest = [(i, t) for i, t in enumerate(toks) if not taken[i]]
    return sorted(found) + [(-1 - i, t) for i, t in rest]  # unmatched tokens carry a negative position


_AXIS_WORDS = {a.high: a for a in AXES if a.high and " " not in a.high} | {a.low: a for a in AXES if a.low and " " not in a.low}
_SKIP_AXES = {"width", "integrated_lufs", "reverb_time_s", "sharpness_acum"}


# Words that say how strong or fast a modulation is when they come right before it ("a gentle vibrato", "a subtle
# tremolo"): not the sound's attack, brightness or register
MODULATION_DEGREE = {"gentle", "soft", "subtle", "slight", "light", "heavy", "deep", "strong", "mild", "intense", "quick", "rapid"}


def _names_the_sound(toks: list[str], pos: int, ph: str) -> bool:
    """In a refinement, "make the blip longer": a sound noun after "the" or "this" names the sound being changed (not
    "bring back the pluck", "more of that pluck", "it lost its pluck": the pluck asked for); and "the vibrato sounds
    cheesy", "the noise is much better now": a movement or noise the start has, said with a verb of being, is named, not
    asked for."""
    after_the = pos > 0 and toks[pos - 1] in ("the", "this", "that")
    if ph in L.NEGATED and after_the and pos + 1 < len(toks) and toks[pos + 1] in ("is", "was", "sounds", "seems", "feels", "s", "looks"):
        return True
    return (ph in L.SOUND_NOUNS and after_the and toks[pos - 1] != "that"
            and (pos < 2 or toks[pos - 2] not in ("back", "of", "lost", "more", "less", "add", "bring", "give", "need", "needs", "want")))


def _describes_modulation(toks: list[str], last: int, word: str) -> bool:
    return word in MODULATION_DEGREE and last + 1 < len(toks) and toks[last + 1] in L.MODULATION_WORDS


def _more_before(toks: list[str], i: int) -> bool:
    """'more' right before the word ("more harsh", "a bit more harsh"): a comparative said in two words."""
    return i >= 1 and toks[i - 1] == "more"


def _negated(toks: list[str], i: int) -> bool:
    """A negator right before the word ("no vibrato"), or one word before with a degree word between ("not too bright")."""
    if i >= 1 and toks[i - 1] in L.NEGATORS:
        return True
    return i >= 2 and toks[i - 2] in L.NEGATORS and toks[i - 1] in {"too", "so", "very", "much", "overly", "at"}


def _normalised(prompt: str) -> str:
    """The prompt as the rules read it: lower case, plain apostrophes, single spaces."""
    return " ".join(prompt.lower().replace("’", "'").split())


def parse_brief(
    prompt: str,
    *,
    render_seconds: float = 2.0,
    start: dict[str, Any] | None = None,
    start_patch: dict[str, float] | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    change_reader: ChangeReader | bool = True,
    changes: Sequence[str] = (),
    previous: Sequence[dict[str, Any]] = (),
) -> Brief:
    """The brief for ``prompt``. ``start``: the start sound's flat descriptors (``Descriptors.flat``) and
    ``start_patch`` its physical patch values, for a refinement. ``encode``: MiniLM sentence vectors for
    crowd words the crowd data does not hold (else such words are left out), and for the change reader.
    ``change_reader``: True for the shipped reader, False for the words alone, or a reader to consult.
    ``changes``: for a refinement, changes named by the caller (``reader.CHANGES``), read instead of the words.
    ``previous``: the targets of the refinement that made the start (its stored brief, ``Target.model_dump()``), for
    "go back the other way", "too far", "undo that"."""
    unknown = [c for c in changes if c not in CHANGES]
    if unknown:
        raise ValueError(f"unknown change(s) {unknown}; known: {', '.join(CHANGES)}")
    clash = opposed(list(changes))
    if clash:
        raise ValueError("opposite changes named together: " + "; ".join(f"{a!r} and {b!r}" for a, b in clash) + "; name one direction per quality")
    text = _normalised(prompt)
    b = _Builder(prompt, render_seconds, start)
    b.start_patch = start_patch
    if start is not None:
        text = _leave_negated(b, text)
    for pattern, replacement in L.REWRITES + (L.COMPLAINTS if start is not None else ()):
        text = re.sub(pattern, replacement, text)
    consumed = text

    # ---- explicit numbers
    pitch_set = False
    relative_semis, relative_words = 0.0, []
    for st in intervals.steps(text):
        if st.reference is not None:
            ref_note = 60.0 if st.reference.startswith("middle") else _note_in(st.reference)
            if ref_note is not None and not pitch_set:
                _set_pitch(b, ref_note + st.semitones, f"'{st.text}'")
                pitch_set = True
        elif start is not None:
            relative_semis += st.semitones
            relative_words.append(st.text)
        else:
            b.notes.append(f"'{st.text}' is relative, but there is no start sound (start_from) to move from")
        consumed = consumed.replace(st.text, " ")
    if relative_words and not pitch_set:
        _relative_pitch(b, start, start_patch, relative_semis, "'" + " and ".join(relative_words) + "'")
        pitch_set = True
    if "middle c" in consumed and not pitch_set:
        _set_pitch(b, 60.0, "'middle C'")
        pitch_set = True
        consumed = consumed.replace("middle c", " ")
    for m in NOTE_RE.finditer(prompt):
        if pitch_set:
            break
        midi = note_to_midi(m.group(1), m.group(2), m.group(3))
        if 0 <= midi <= 127:
            _set_pitch(b, midi, f"'{m.group(0)}'")
            pitch_set = True
            consumed = re.sub(re.escape(m.group(0).lower()), " ", consumed, count=1)
    sweep = FROM_TO_RE.search(consumed)
    if sweep and not pitch_set:  # "from 100 Hz to 1 kHz": a glide between two pitches
        f1, f2 = (float(sweep.group(i)) * (1000.0 if sweep.group(i + 1) == "khz" else 1.0) for i in (1, 3))
        if f1 >= 25.0 and f2 >= 25.0 and f1 != f2:
            span = abs(12 * math.log2(f2 / f1))
            up = f2 > f1
            midi = hz_to_midi(f1)
            b.add(Target(aspect="pitch movement", descriptor="pitch_range_semitones", lo=round(0.8 * span, 2), unit="semitones", tolerance=0.0,
                         confidence=1.0, source=f"'{sweep.group(0)}' (explicit: a {span:.1f}-semitone glide; at least 80 % of it)",
                         set_by={"keyboard.midi_f0": round(midi, 4), "vco_1.tuning": 0.0, "vco_2.tuning": 0.0}), explicit=True)
            b.add(Target(aspect="pitch movement", descriptor="pitch_trend_semitones_per_s", lo=1.0 if up else None, hi=None if up else -1.0,
                         unit="semitones/s", tolerance=0.0, confidence=1.0, source=f"'{sweep.group(0)}': {'rising' if up else 'falling'}"), explicit=True)
            b.add(Target(aspect="noisiness", descriptor="pitched", lo=1.0, tolerance=0.0, confidence=1.0, source=f"'{sweep.group(0)}': a note (pYIN finds a pitch)"))
            pitch_set = True
            consumed = consumed.replace(sweep.group(0), " ")
    for m in PER_SECOND_RE.finditer(consumed):
        rates = [COUNTS.get(g) or float(g) for g in (m.group(1), m.group(2)) if g]
        if not 0.1 <= min(rates) <= max(rates) <= 20.0:
            continue
        if start is not None and _states_the_start(consumed, m.start()):
            b.notes.append(f"'{m.group(0)}' says what the start does, not what to make; left out")
            consumed = consumed.replace(m.group(0), " " + m.group(3) + " ")
            continue
        bound = re.match(r"\s*(?:(at\s+(?:most|the\s+most)|max|tops|or\s+(?:less|fewer|slower))|(at\s+least|or\s+(?:more|faster)))\b", consumed[m.end():])
        lo: float | None = min(rates)
        hi: float | None = max(rates)
        if bound:  # "3 a second at most": a bound, not a rate
            lo, hi = (None, hi) if bound.group(1) else (lo, None)
        _add_rate(b, consumed, m.start(), m.group(3), lo, hi, m.group(0), start)
        consumed = consumed.replace(m.group(0), " " + m.group(3) + " ")
    if start is not None:
        for m in RATE_FACTOR_RE.finditer(consumed):
            if _rate_factor(b, consumed, m, start):
                consumed = consumed.replace(m.group(0), " ")
    for m in HZ_RE.finditer(consumed):
        hz = float(m.group(1)) * (1000.0 if m.group(2) == "khz" else 1.0)
        if hz < 25.0 and start is not None and _states_the_start(consumed, m.start()):
            b.notes.append(f"'{m.group(0)}' says what the start does, not what to make; left out")
        elif hz < 25.0:
            _add_rate(b, consumed, m.start(), "", hz, hz, m.group(0), start)
        elif not pitch_set:
            _set_pitch(b, hz_to_midi(hz), f"'{m.group(0)}'")
            pitch_set = True
        consumed = consumed.replace(m.group(0), " ")
    for m in DUR_RE.finditer(consumed):
        if _duration(b, consumed, m, start, render_seconds):
            consumed = consumed.replace(m.group(0), " ")
    consumed = consumed.replace("half-second", " ").replace("half a second", " ")

    # ---- pitch movement with a direction ("slide down", "bend the pitch up")
    for mv in intervals.movements(consumed):
        need = (L.SLOW_RISE if mv.slow else L.RISING) if mv.sign > 0 else (L.SLOW_FALL if mv.slow else L.FALLING)
        b.need(need, mv.text)
        b.need(L.PITCHED, mv.text)
        consumed = consumed.replace(mv.text, " ")

    grammar = set(b.targets)  # read from numbers and the interval grammar: the change reader leaves them be

    # ---- words
    toks = tokenize(consumed)
    items = _phrases(consumed)
    matched_tokens = set()
    for pos, ph in items:
        if pos < 0:
            continue
        matched_tokens.update(range(pos, pos + len(ph.split())))
        if _describes_modulation(toks, pos + len(ph.split()) - 1, ph):
            b.notes.append(f"'{ph}' describes the {toks[pos + len(ph.split())]}, not the sound; left out")
            continue
        if pos in b.rate_tokens:
            continue
        neg = _negated(toks, pos)
        if start is not None and (ph in L.SOUND_TYPES or _names_the_sound(toks, pos, ph)):
            if ph in L.MODULATION_WORDS and _rate_change(b, toks, pos, ph, start, start_patch):
                continue  # "the wobble is 5 times a second, slow it down"
            b.notes.append(f"'{ph}' names the sound or what it has; a refinement reads what should change (darker, noisier, a slower attack ...): left out")
            continue
        if ph in L.PHRASES and not (start is not None and ph in COMPARATIVES):
            if (start is not None and not neg and ph in L.MODULATION_WORDS and ph in L.NEGATED
                    and any(t in L.NEGATED and L.NEGATED[t][-1] == L.NEGATED[ph][-1] and _negated(toks, j) for j, t in enumerate(toks))):
                b.notes.append(f"'{ph}' is also said with a 'no': the removal stands")  # "the vibrato is cheesy, I want zero vibrato"
                continue
            needs = L.NEGATED.get(ph, ()) if neg else L.PHRASES[ph]
            if start is not None and ph in L.MODULATION_WORDS and not neg and _rate_change(b, toks, pos, ph, start, start_patch):
                continue
            if neg and ph not in L.NEGATED:
                b.notes.append(f"'not {ph}': a negated word is left out")
                continue
            for n in needs:
                if n.aspect == "pitch" and pitch_set:
                    continue  # an explicit note wins over a register word
                if start is not None and n.descriptor in REFINE_WORDS and n.side in ("ge", "le"):
                    _relative_word(b, start, start_patch, n, ("no " if neg else "") + ph)
                    continue
                b.need(n, ("no " if neg else "") + ph)
            if ph in L.MODULATION_WORDS and not neg:
                _rate_words(b, toks, pos, ph)
        elif ph in COMPARATIVES:
            key, sign = COMPARATIVES[ph]
            if key == "f0_hz" and pitch_set:
                continue  # "lower, like an octave down": the sized step says how far
            if key == "decay_db_per_s" and start is None:
                continue  # "decay" / "fade away" without a start sound: the sound-type words say how it decays
            if start is not None:
                _relative(b, start, start_patch, key, -sign if neg else sign, ph)
            else:
                _comparative_as_word(b, key, -sign if neg else sign, ph, pitch_set)
        elif ph in _AXIS_WORDS:
            axis = _AXIS_WORDS[ph]
            if axis.key in _SKIP_AXES:
                b.notes.append(f"'{ph}' ({axis.label}) is not something the Voice synth shapes (mono, peak-normalised, no reverb); left out")
                continue
            high = axis.high == ph
            level = 80.0 if high else 20.0
            if neg:  # "not bright" is not "dark": the other side of the median
                high, level = not high, 50.0
            if axis.key == "f0_hz":
                continue
            if start is not None and (neg or _more_before(toks, pos)):  # "less bright", "more harsh": a change from the start
                _relative(b, start, start_patch, axis.key, +1 if high else -1, ("less " if neg else "more ") + ph)
                continue
            v = _level_value(axis.key, level)
            b.add(Target(aspect=_aspect(axis.key), descriptor=axis.key, lo=v if high else None, hi=None if high else v, unit=axis.unit,
                         tolerance=_tol(axis.key), confidence=0.9,
                         source=f"'{('not ' if neg else '') + ph}': {axis.label} {'>=' if high else '<='} {v:.4g} {axis.unit} (library.descriptors word, {level:g}th percentile of the reference recordings)"))
    # ---- brightness-like words through the crowd's EQ curves
    from lstmabar.models.fx.crowd.words import lemma

    for pos, w in items:
        if pos >= 0 or w in L.NEUTRAL:
            continue
        base = lemma(w, L.BRIGHTNESS_WORDS)
        if base not in L.BRIGHTNESS_WORDS or _describes_modulation(toks, -1 - pos, w):
            continue
        cb = crowd_brightness(base, encode)
        if cb is None:
            b.notes.append(f"'{w}': no crowd EQ data for it here (the sentence encoder was not available); left out")
            continue
        s, conf, ev = cb
        i = -1 - pos
        negated = _negated(toks, i)
        if negated:
            # "not dull" describes a sound on the other side of the middle; in a refinement "less dull" (and "too dull", a
            # complaint) is a change the whole way back: halved, dull's -0.56 fell under the tilt a change needs, and the
            # change reader filled the gap with its likelier direction, darker
            s = -s if start is not None else -0.5 * s
        if start is not None:
            if abs(s) >= 1 / 3:
                _relative(b, start, start_patch, "centroid_hz", 1 if s > 0 else -1, w, confidence=conf)
            else:
                if negated and s:  # "too mellow": the complaint says which way, however little the crowd's tilt
                    b.leans["centroid_hz"] = 1 if s > 0 else -1
                b.notes.append(f"'{w}': the crowd's EQ for it has little tilt ({ev}); no brightness change asked (say 'darker' or 'brighter')")
            continue
        if abs(s) < 1 / 3:
            b.notes.append(f"'{w}': the crowd's EQ for it has little tilt ({ev}); no brightness target")
            continue
        level = 50.0 + 30.0 * s
        v = _level_value("centroid_hz", level)
        b.add(Target(aspect="brightness", descriptor="centroid_hz", lo=v if s > 0 else None, hi=None if s > 0 else v, unit="Hz",
                     tolerance=_tol("centroid_hz"), confidence=round(conf * min(1.0, abs(s) * 1.5), 3),
                     source=f"'{w}': centroid {'>=' if s > 0 else '<='} {v:.0f} Hz, the {level:.0f}th percentile of the reference recordings ({ev})"))
    if start is not None:
        if changes:
            _named_changes(b, start, start_patch, changes, grammar, text)
        else:
            _go_back(b, start, start_patch, prompt, previous, grammar)
            _consult_reader(b, start, start_patch, prompt, encode, grammar, change_reader)
    _rate_asks_modulation(b, start)
    _modulation_degree(b, text)
    if start is not None:
        _keep(b, start, start_patch)
    return b.brief(relative=start is not None)


NEGATOR = r"\b(?:don'?t|do\s+not|never|no\s+need\s+to)"  # an imperative's negation ("don't undo that", "never make it brighter")
BACK_RE = re.compile(r"\b(?:(?:the\s+)?other\s+(?:way|direction)|opposite\s+(?:way|direction)|(?:undo|revert|reverse)\s+(?:that|it|this|the\s+last(?:\s+(?:one|step|change))?)"
                     r"|go\s+back|too\s+far|overshot|overdid\s+it|overdone)\b")


def _go_back(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, prompt: str, previous: Sequence[dict[str, Any]], grammar: set[str]) -> None:
    """"go back the other way", "too far", "undo that": each change the step before asked (its stored targets, relative
    to its own start), the other way, on qualities the words did not read; a pitch step goes back by its size."""
    text = _normalised(prompt)
    m = BACK_RE.search(text)
    if m is None or re.search(NEGATOR + r"\s+(?:\w+\s+){0,2}$", text[: m.start()]):
        return
    if not previous:
        b.notes.append(f"'{m.group(0)}': the start was not made by a refinement this tool knows, so there is no last change to go back on; "
                       "name the change (e.g. change=['darker'])")
        return
    added = 0
    for t in previous:
        key, ref, lo, hi = t.get("descriptor"), t.get("relative_to"), t.get("lo"), t.get("hi")
        if t.get("kept") or not ref or (key in b.targets and not b.targets[key].kept):
            continue
        mid = (lo + hi) / 2 if lo is not None and hi is not None else None
        sign = (1 if mid > ref else -1 if mid < ref else 0) if mid is not None else 1 if lo is not None else -1 if hi is not None else 0
        if key == "f0_hz" and mid is not None and mid > 0:
            semis = round(12 * math.log2(mid / ref), 2)
            _relative_pitch(b, start, patch, -semis, f"'{m.group(0)}' (back {abs(semis):g} semitones, the last step's pitch step undone)")
        elif (key, -sign) in NAMED:
            _add_change(b, start, patch, NAMED[(key, -sign)], f"'{m.group(0)}' (the other way from the last step's {NAMED[(key, sign)]})", 0.9)
        else:
            continue
        grammar.add(key)
        added += 1
    if not added:
        b.notes.append(f"'{m.group(0)}': the last step asked no change from its start that could go the other way here; name the change (e.g. change=['darker'])")


FADE_IN = r"\bfad(?:e|es|ed|ing)(?:[- ]?in|\s+(?:it|this|that|them|the\s+\w+)\s+(?:in|up))\b"
SWELL_IN = FADE_IN + r"|\bswell(?:s|ing)?\s+(?:it\s+)?in\b|\bswell\s+up\b|\breach\s+(?:its\s+|the\s+)?full\b|\b(?:gentle|soft|slow|gradual)\s+swell\b"
# words that move a pitch along (a glide), not around its note (a vibrato)
GLIDE_WORD = (r"\b(?:ris(?:e|es|ing)|fall(?:s|ing)?|glid(?:e|es|ing)|slid(?:e|es|ing)|bend(?:s|ing)?|sweep(?:s|ing)?|dive(?:s)?|diving|"
              r"climb(?:s|ing)?|sag(?:s|ging)?|droop(?:s|ing)?|sink(?:s|ing)?|swoop(?:s|ing)?|drop(?:s|ping)?|ramp(?:s|ing)?|"
              r"upward|downward|nosedive|plummet(?:s|ing)?|soar(?:s|ing)?|riser|faller|scoop(?:s|ing)?|portamento|"
              r"go(?:es|ing)?\s+(?:up|down)|pitch(?:es)?\s+(?:up|down))\b")


def _modulation(key: str) -> str | None:
    """The modulation ("wobble" or "vibrato") a descriptor is the depth or rate of, by its first quality (a pitch range is
    a glide's first)."""
    q = QUALITY.get(key, ("",))[0]
    return q if q in ("wobble", "vibrato") else None


def _consult_reader(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, prompt: str,
                    encode: Callable[[list[str]], np.ndarray] | None, grammar: set[str], reader: ChangeReader | bool) -> None:
    """A refinement's words against the change reader (``reader.py``): a quality the words read but the reader finds
    very unlikely is left out; a change the reader is sure of on a quality the words did not touch is added."""
    if reader is False:
        return
    model = shipped() if reader is True else reader
    if model is None or encode is None:
        b.notes.append("the change reader was not consulted (" + ("no sentence encoder" if encode is None else "its weights are missing") + "): words only")
        return
    arr = np.atleast_2d(np.asarray(encode([prompt]), dtype=np.float64))
    if arr.shape != (1, model.coef.shape[1]):
        b.notes.append(f"the change reader was not consulted (it reads one {model.coef.shape[1]}-d MiniLM vector, the encoder gave shape {arr.shape}): words only")
        return
    vec = arr[0]
    read = {k: k in grammar for k, t in b.targets.items() if not t.kept}
    drop, add = arbitrate(read, model.read(vec))
    for key, quality, pr in drop:
        t = b.drop(key)
        b.notes.append(f"{t.source.split(':')[0]} was read as a {quality} change, but the change reader finds that unlikely for this "
                       f"sentence (p {pr:.2f} <= {DROP_P:g}); left out")
    for change, pr in add:
        key, sign = CHANGES[change]
        if change == "fades" and "attack_s" in b.targets and re.search(FADE_IN, prompt.lower()):
            continue  # the reader's known confusion (its model card): a fade-in, which the words read as the attack, is no falling level
        if (_modulation(key) == "wobble" or key in RATE_OF) and "attack_s" in read and re.search(SWELL_IN, prompt.lower()) \
                and not re.search(r"\b(?:tremolo|wobbl\w*|puls\w*|throb\w*|chop\w*|flutter\w*|lfo|swells|in\s+and\s+out)\b|(?<!full\s)\b(?:volume|level|loudness|amplitude)\b",
                                  prompt.lower()):
            continue  # "swell in much slower": one swell of the level is its attack, not a wobble
        if key == "attack_s" and b.rate_tokens and not re.search(r"attack|onset|front|start|transient|fade[sd]?[- ]?in|come[s]?\s+in", prompt.lower()):
            continue  # "faster chop, like 8 times a sec": the rate word the words gave the modulation is not an attack
        if key in RATE_OF and b.leans.get(RATE_OF[key], 0) < 0:
            continue  # the words asked less of the modulation: no rate for it
        family = _modulation(key)
        if family and any(_modulation(k) not in (None, family) for k in read):
            continue  # the words read a vibrato: no level wobble beside it (and the other way)
        if QUALITY.get(key, ("",))[0] == "glide" and any(_modulation(k) == "vibrato" for k in read) and not re.search(GLIDE_WORD, prompt.lower()):
            continue  # "a slow shaky wobble in the pitch": the pitch the words gave the vibrato moves around its note, not along
        if key in RATE_OF and "attack_s" in read and not any(w in prompt.lower() for w in L.MODULATION_WORDS | {"lfo", "hz", "volume", "level", "loudness"}):
            continue  # "can it swell in even slower": the comparative is the attack's the words read
        if key in b.cannot_keys:
            continue  # the words asked it, and the start leaves no room for it (Brief.cannot)
        if key in b.left:
            b.notes.append(f"the change reader found '{change}' likely (p {pr:.2f}), but the words say to leave it; left out")
            continue
        lean = b.leans.get(key)
        if lean is not None and lean != sign:
            # the reader tells the quality, hardly its direction ("too mellow" reads as mellow): a word that leaned the other
            # way, too weakly for a target of its own, gives it
            flipped = NAMED.get((key, lean))
            if flipped is not None:
                b.notes.append(f"the change reader found a {QUALITY[key][0]} change likely (p {pr:.2f}); its direction is the words': {flipped}")
                change = flipped
        _add_change(b, start, patch, change, f"{change} (the change reader, p {pr:.2f})", max(0.5, round(pr, 2)))


def _named_changes(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, changes: Sequence[str], grammar: set[str], text: str) -> None:
    """Changes the caller named (``changes``) replace what the words read; numbers and pitch steps in the prompt stay."""
    for key in [k for k, t in b.targets.items() if not t.kept and k not in grammar]:
        b.drop(key)
    for change in rates_last(changes):
        key, sign = CHANGES[change]
        step = next((t for k, t in b.targets.items() if QUALITY.get(k, ("",))[0] == "pitch" and not t.kept), None)
        if key == "f0_hz" and step is not None:
            # the prompt's own step ("a fifth up") says how far; a direction against it is said, not obeyed
            went_up = step.lo is not None and (step.relative_to is None or step.lo > step.relative_to)
            if went_up != (sign > 0):
                b.notes.append(f"'{change}' was named, but the prompt's own step ({step.source.split(':')[0]}) goes the other way; the prompt's step was kept")
            continue
        if key == "f0_hz" and (sized := intervals.sizes(text)):
            # "flatten it by a semitone", "more low please, one octave": the prompt says how far, the name which way
            _relative_pitch(b, start, patch, sign * sized[0], f"'{change}' (named by the caller) by the prompt's {sized[0]:g} semitones")
            continue
        _add_change(b, start, patch, change, f"{change} (named by the caller)", 1.0)
    b.notes.append(f"changes named by the caller: {', '.join(changes)}; the words' reading was replaced (numbers and pitch steps kept)")


def _add_change(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, change: str, word: str, conf: float) -> None:
    """One change of ``reader.CHANGES`` as a target relative to the start (a modulation or glide at its word's level)."""
    key, sign = CHANGES[change]
    if key in ("centroid_hz", "flatness", "attack_s", "sounding_s", "decay_db_per_s", "f0_hz"):
        _relative(b, start, patch, key, sign, word, confidence=conf)
    elif key in RATE_OF:
        if key in b.targets:
            return
        s = _start_value(start, key)
        if RATE_OF[key] not in b.targets and s is not None:
            # the start already wobbles (or has a vibrato): its rate moves by a factor of 1.5 ("slow the wobble down")
            v = s * 1.5 ** sign
            b.add(Target(aspect="modulation rate", descriptor=key, lo=v if sign > 0 else None, hi=None if sign > 0 else v, unit="Hz", tolerance=1.1,
                         confidence=conf, needs=key, relative_to=s, source=f"'{word}': rate {'x' if sign > 0 else '/'}1.5 the start's {s:.3g} Hz"), explicit=True)
            return
        if RATE_OF[key] not in b.targets:  # no modulation yet: the rate asks for one
            _add_change(b, start, patch, "wobble" if key == "am_rate_hz" else "vibrato", word, conf)
        n = L.FAST_RATE if sign > 0 else L.SLOW_RATE
        lo, hi = (n.value, None) if sign > 0 else (None, n.value)
        b.add(Target(aspect="modulation rate", descriptor=key, lo=lo, hi=hi, unit="Hz", tolerance=1.1, confidence=conf, needs=key,
                     source=f"'{word}': rate {'>=' if sign > 0 else '<='} {n.value:g} Hz (stated rule)"))
    else:
        needs = {("am_depth_db", 1): (L.WOBBLE,), ("am_depth_db", -1): (L.STEADY_LEVEL,), ("vibrato_depth_cents", 1): (L.VIBRATO,),
                 ("vibrato_depth_cents", -1): (L.STEADY, L.NO_VIBRATO), ("pitch_trend_semitones_per_s", 1): (L.RISING,),
                 ("pitch_trend_semitones_per_s", -1): (L.FALLING,)}[(key, sign)]
        for need in needs:
            b.need(need, word, confidence=conf)
        if key != "am_depth_db" and sign > 0 or key == "pitch_trend_semitones_per_s":
            b.need(L.PITCHED, word)


def _aspect(key: str) -> str:
    return {"centroid_hz": "brightness", "flatness": "noisiness", "attack_s": "attack", "sounding_s": "length", "am_depth_db": "amplitude movement",
            "vibrato_depth_cents": "vibrato", "f0_hz": "pitch", "transient_db": "loudness character"}.get(key, "spectrum band")


DEPTH_NUMBER = (0.7, 1.4)  # a stated modulation depth's range, times the number


def _modulation_degree(b: _Builder, text: str) -> None:
    """"a gentle tremolo", "just a little vibrato", "a deep wobble": a degree word right before the modulation (one word
    may come between: "a subtle slow tremolo") sets the added depth's band (``lexicon.DEPTH_BANDS``); a number in cents or dB
    sets it instead."""
    near = r"(?:(?!\b(?:and|but|then|plus)\b)[^.;!?]){0,30}?"  # the modulation named within a few words, nothing else asked between
    for key, unit, names in (("vibrato_depth_cents", r"cents?", r"vibrato|warbl"), ("am_depth_db", r"db|decibels?", r"tremolo|wobbl|puls|throb|chop")):
        # a stated depth wins, said beside its modulation: "a vibrato of about 20 cents" (+-20 cents, as measured), "a
        # 6 dB tremolo" (peak to peak); not "turn it down 3 dB, and add a tremolo"
        t = b.targets.get(key)
        m = re.search(r"\b(?:" + names + r")\w*" + near + r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:" + unit + r")\b", text) \
            or re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:" + unit + r")\b" + near + r"\b(?:" + names + r")", text)
        if t is not None and not t.kept and t.lo is not None and m is not None and 0 < float(m.group(1)) <= (600 if key.endswith("cents") else 40):
            v = float(m.group(1))
            b.targets[key] = t.model_copy(update={"lo": round(DEPTH_NUMBER[0] * v, 3), "hi": round(DEPTH_NUMBER[1] * v, 3), "confidence": 1.0,
                                                  "source": f"{t.source}; '{m.group(0)}': {key} {DEPTH_NUMBER[0]:g}-{DEPTH_NUMBER[1]:g} x the number"})
            b.numbers.add(key)
    mod = r"(?:\s+\w+)?\s+(?:" + "|".join(sorted(L.MODULATION_WORDS | {"warble", "warbly", "shimmer"}, key=len, reverse=True)) + r")\b"
    for degree, pattern in (("gentle", L.GENTLE_DEGREE), ("strong", L.STRONG_DEGREE)):
        m = re.search(r"\b" + pattern + mod, text)
        if m is None:
            continue
        for key, (lo_level, hi_level) in L.DEPTH_BANDS[degree].items():
            t = b.targets.get(key)
            if t is None or t.kept or t.lo is None or key in b.numbers:
                continue
            lo = round(_level_value(key, lo_level), 3)
            hi = round(_level_value(key, hi_level), 3) if hi_level is not None else None
            b.targets[key] = t.model_copy(update={"lo": lo, "hi": hi, "source": f"{t.source}; '{m.group(0).strip()}': "
                                                  f"{key} {lo:g}" + (f" to {hi:g}" if hi is not None else " or more") +
                                                  f" (the reference's {lo_level}th" + (f" to {hi_level}th" if hi_level is not None else "") + " percentile)"})
        return


def _rate_asks_modulation(b: _Builder, start: dict[str, Any] | None) -> None:
    """A stated rate with nothing that wobbles at it ("roughly 2 per second" after words the lexicon does not know, or the
    change reader's quality already taken by the rate) asks for that modulation at its word's level."""
    for key, depth in RATE_OF.items():
        t = b.targets.get(key)
        if t is None or t.kept or depth in b.targets or b.leans.get(depth, 0) < 0:
            continue
        if start is not None and _start_value(start, key) is not None:
            continue  # the start already has it: the rate moves it
        word = t.source.split(":")[0].split(" (")[0].strip("'")
        b.need(L.WOBBLE if depth == "am_depth_db" else L.VIBRATO, f"{word} (a rate asks for the modulation)")
        if depth == "vibrato_depth_cents":
            b.need(L.PITCHED, word)


SWEEPS = {"sweep", "sweeps", "sweeping", "siren", "swoop", "swoops", "swooping"}  # a rate of these is the pitch's


def _rate_key(consumed: str, at: int, words: str, start: dict[str, Any] | None) -> str:
    """Which modulation a rate said at ``at`` is of: a pitch wobble's (vibrato_rate_hz) when its own words or the
    modulation named nearest before it say so, else the one modulation the start has, else the level's (am_rate_hz)."""
    own = tokenize(words)
    before = tokenize(consumed[:at])[-4:]
    named = [t for t in own if t in L.MODULATION_WORDS | SWEEPS or t == "pitch"] or [t for t in before if t in L.MODULATION_WORDS | SWEEPS]
    has = {k: start is not None and _start_value(start, k) is not None for k in RATE_OF}
    if named:
        is_vibrato = named[-1] in SWEEPS | {"vibrato", "pitch"}
    elif has["vibrato_rate_hz"] != has["am_rate_hz"]:  # "slow it down to 3 Hz" of a start with a vibrato and no wobble
        is_vibrato = has["vibrato_rate_hz"]
    else:
        is_vibrato = "vibrato" in consumed and not any(w in consumed for w in L.MODULATION_WORDS - {"vibrato"})
    return "vibrato_rate_hz" if is_vibrato else "am_rate_hz"


# a rate said as a factor of the start's: "halve its speed", "double the wobble speed", "too fast, like half that", "twice as slow"
RATE_FACTOR_RE = re.compile(r"\b(?:(?P<half>halve|half)\s+(?:(?:its|the|that|their|this)\s+)?(?P<w1>[a-z]+\s+)?(?:speed|rate|tempo)"
                            r"|(?P<half2>half)\s+(?:that|as\s+fast)(?!\s+(?:long|length|loud|big))|twice\s+as\s+(?P<slow>slow)"
                            r"|double\s+(?:(?:its|the|that|their|this)\s+)?(?P<w2>[a-z]+\s+)?(?:speed|rate|tempo)|twice\s+(?:as\s+fast|the\s+speed))\b")


NOT_A_RATE = {"attack", "onset", "glide", "slide", "bend", "sweep", "length", "tail", "decay", "release", "fade", "long", "short",
              "longer", "shorter", "note", "notes", "delay", "drop", "rise", "pitch"}


def _rate_factor(b: _Builder, consumed: str, m: re.Match, start: dict[str, Any]) -> bool:
    """A modulation's rate as a factor of the start's; only where the sentence is about a modulation ("make the attack
    twice as fast", "too long, like half that" are not)."""
    own = (m.group("w1") or m.group("w2") or "").strip()
    sentence = tokenize(re.split(r"[.;!?]", consumed[: m.start()])[-1] + " " + own)
    if own and own not in L.MODULATION_WORDS or (set(sentence) & NOT_A_RATE and not set(sentence) & L.MODULATION_WORDS):
        return False
    factor = 0.5 if m.group("half") or m.group("half2") or m.group("slow") else 2.0
    key = _rate_key(consumed, m.start(), own, start)
    rate = _start_value(start, key)
    if rate is None:
        b.notes.append(f"'{m.group(0)}': the start has no {'vibrato' if key == 'vibrato_rate_hz' else 'level wobble'} measured to change the rate of; left out")
        return True
    v = round(factor * rate, 3)
    b.add(Target(aspect="modulation rate", descriptor=key, lo=v, hi=v, unit="Hz", tolerance=1.15, confidence=1.0, needs=key, relative_to=rate,
                 source=f"'{m.group(0)}' (x{factor:g} the start's {rate:.2f} Hz; +-15 %)"), explicit=True)
    return True


def _add_rate(b: _Builder, consumed: str, at: int, words: str, lo: float | None, hi: float | None, text: str, start: dict[str, Any] | None) -> None:
    """An explicit modulation rate (Hz, +-15 %): of a pitch wobble when its own words or the modulation named nearest
    before it say so ("a wobble at 4 Hz with vibrato at 6 Hz"), else of the one modulation the start has, else of the
    level. In a refinement of a start that has that modulation, relative to its measured rate (the LFO driving it moves
    by the ratio)."""
    key = _rate_key(consumed, at, words, start)
    b.add(Target(aspect="modulation rate", descriptor=key, lo=lo, hi=hi, unit="Hz", tolerance=1.15, confidence=1.0, needs=key,
                 relative_to=None if start is None else _start_value(start, key), source=f"'{text}' (explicit; +-15 %)"), explicit=True)


def _states_the_start(consumed: str, at: int) -> bool:
    """A rate said of the sound as it is ("the wobble is 5 times a second, slow it down", "it's currently at 6 Hz"): the
    refinement's ask is elsewhere in the sentence."""
    said = re.search(r"\b(?:is|are|was|it's|its|currently|right now)(?:\s+(?:about|around|roughly|like|at|maybe))*\s*$", consumed[:at])
    return bool(said) and not re.search(r"\b(?:so|make|want|need|should|be)\b", consumed[: said.start()].split(",")[-1]) and bool(
        re.search(r"\b(?:slower|faster|quicker|slow|speed|half|halve|double|twice|down|up|to)\b", consumed[at:]))


def _count(word: str, allow_fraction: bool = False) -> float:
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    return float(word)


def _note_in(s: str) -> float | None:
    m = NOTE_RE.search(s)
    return note_to_midi(m.group(1), m.group(2), m.group(3)) if m else None


def _set_pitch(b: _Builder, midi: float, word: str) -> None:
    midi = min(127.0, max(0.0, midi))
    hz = midi_to_hz(midi)
    b.add(Target(aspect="pitch", descriptor="f0_hz", lo=round(hz, 3), hi=round(hz, 3), unit="Hz", tolerance=2 ** (0.5 / 12), confidence=1.0,
                 source=f"{word} (explicit: {hz:.1f} Hz, MIDI {midi:.2f}; +-half a semitone)",
                 set_by={"keyboard.midi_f0": round(midi, 4), "vco_1.tuning": 0.0, "vco_2.tuning": 0.0}), explicit=True)
    b.add(Target(aspect="noisiness", descriptor="pitched", lo=1.0, tolerance=0.0, confidence=1.0, source=f"{word}: a note (pYIN finds a pitch)"))
    if hz > 4186.0 or hz < 32.7:
        b.notes.append(f"{word}: {hz:.0f} Hz is outside the pitch tracker's range (C1-C8, 32.7-4186 Hz); the note is set but cannot be confirmed")


RATE_COMPARATIVES = {"slower": -1, "lazier": -1, "faster": +1, "quicker": +1, "speedier": +1}
RATE_BARRIERS = {"and", "but", "with", "plus", "attack", "release", "decay", "tail", "fade", "onset", "start", "then", "also"}


def _rate_change(b: _Builder, toks: list[str], pos: int, ph: str, start: dict[str, Any], patch: dict[str, float] | None) -> bool:
    """A refinement's modulation word with a comparative of its rate in its own phrase ("make that vibrato slower", "a
    faster wobble", "slow the tremolo down", "speed the vibrato up"; not across "and" or an attack: "add a vibrato and a
    faster attack"): the rate changes from the start's (``_add_change``). When the start already has that modulation the
    word names what changes, not a new one, so it asks no depth (a depth target had put a new 4 Hz tremolo in place of a
    wobble asked to go faster); without one, the modulation is asked with the comparative's side of the rate. Returns
    whether the word was read so (a negated comparative is not: "don't make the vibrato faster")."""
    def phrase(step: int, reach: int):  # the word's neighbours one way, up to a barrier
        for j in range(pos + step, pos + step * (reach + 1), step):
            if not 0 <= j < len(toks) or toks[j] in RATE_BARRIERS:
                return
            yield j

    sign, at = 0, -1
    for j in [*phrase(-1, 3), *phrase(1, 4)]:
        if toks[j] in RATE_COMPARATIVES:
            sign, at = RATE_COMPARATIVES[toks[j]], j
        elif toks[j] in ("slow", "speed") and any(t == ("down" if toks[j] == "slow" else "up") for t in toks[j + 1 : j + 5]):
            sign, at = (-1 if toks[j] == "slow" else 1), j
        if sign:
            break
    if not sign:
        return False
    b.rate_tokens.add(at)
    change = ("faster " if sign > 0 else "slower ") + ("vibrato" if ph == "vibrato" else "wobble")
    if any(t in L.NEGATORS or t in ("t", "dont", "shouldnt") for t in toks[max(0, min(at, pos) - 4) : max(at, pos)]):  # "don't" is don + t
        rate = CHANGES[change][0]
        b.left.update((rate, RATE_OF[rate]))  # "don't make the vibrato faster": nothing asked of it, by the reader either
        return True
    _add_change(b, start, patch, change, f"{toks[at]} {ph}", 0.8)
    return True


_RATE_REACH_STOP = frozenset({"attack", "onset", "decay", "release", "fade", "swell", "tail", "with", "and", "but", "plus", "or", "in", "on"})


def _rate_words(b: _Builder, toks: list[str], pos: int, ph: str) -> None:
    # "chop on and off really fast"; three words back only over words of the modulation's own ("that fast nes style vibrato"),
    # not over another thing a rate word could be of ("a fast attack with vibrato")
    first = pos - 3 if pos >= 3 and not _RATE_REACH_STOP & set(toks[pos - 2 : pos]) else pos - 2
    for j in range(max(0, first), min(len(toks), pos + 6)):
        n = L.RATE_WORDS.get(toks[j])
        if n is None or _negated(toks, j):  # "vibrato, nothing fast": no rate asked
            continue
        b.rate_tokens.add(j)  # "vibrato, kinda quick": the modulation's rate, not a short sound
        key = "vibrato_rate_hz" if ph == "vibrato" else "am_rate_hz"
        lo, hi = (n.value, None) if n.side == "ge" else (None, n.value)
        b.add(Target(aspect="modulation rate", descriptor=key, lo=lo, hi=hi, unit="Hz", tolerance=1.1, confidence=0.8, needs=key,
                     source=f"'{toks[j]} {ph}': rate {'>=' if n.side == 'ge' else '<='} {n.value:g} Hz (stated rule)"))
        return


def _comparative_as_word(b: _Builder, key: str, sign: int, word: str, pitch_set: bool) -> None:
    """A comparative without a start sound ("a darker pad"): the plain word's target at a milder level."""
    if key == "f0_hz":
        if not pitch_set:
            b.need(L.HIGH if sign > 0 else L.LOW, word, confidence=0.6)
        return
    if key in ("sounding_s",):
        b.need(L.HOLD if sign > 0 else L.SHORT, word, confidence=0.6)
        return
    level = 70.0 if sign > 0 else 30.0
    try:
        v = _level_value(key, level)
    except KeyError:
        return
    b.add(Target(aspect=_aspect(key), descriptor=key, lo=v if sign > 0 else None, hi=None if sign > 0 else v, unit=_unit(key),
                 tolerance=_tol(key), confidence=0.6, source=f"'{word}' with no start sound: {key} {'>=' if sign > 0 else '<='} {v:.4g} ({level:g}th percentile)"))


def _start_value(start: dict[str, Any], key: str) -> float | None:
    v = start.get(key)
    if v is None or isinstance(v, (str, bool)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _relative_pitch(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, semis: float, word: str) -> None:
    if patch is None or "keyboard.midi_f0" not in patch:
        b.notes.append(f"{word}: the start sound has no synth patch to move the note of")
        return
    new = float(patch["keyboard.midi_f0"]) + semis
    key = min(127.0, max(0.0, new))
    tunings = {k: float(patch.get(k, 0.0)) + new - key for k in ("vco_1.tuning", "vco_2.tuning")}
    if key != new and any(abs(v) > TUNING_RANGE for v in tunings.values()):
        # the rest of the step goes into the oscillators' tunings (the pitch is key + tuning + modulation); where even
        # they cannot take it, the note stops at the keyboard's end
        b.notes.append(f"{word}: the note would leave the synth's range (MIDI 0-127 and tunings +-{TUNING_RANGE:g}); clamped")
        tunings = {k: float(patch[k]) for k in tunings if k in patch}
    set_by = {"keyboard.midi_f0": round(key, 4), **{k: round(v, 4) for k, v in tunings.items()}}
    f0 = _start_value(start, "f0_hz") if start.get("pitched") else None
    if f0 is None:
        b.add(Target(aspect="pitch", descriptor="keyboard.midi_f0", lo=new, hi=new, unit="midi", confidence=1.0,
                     source=f"{word}: the start sound has no clear pitch; its note is moved {semis:+g} semitones", set_by=set_by), explicit=True)
        return
    hz = f0 * 2 ** (semis / 12)
    b.add(Target(aspect="pitch", descriptor="f0_hz", lo=round(hz, 3), hi=round(hz, 3), unit="Hz", tolerance=2 ** (0.5 / 12), confidence=1.0,
                 relative_to=f0, source=f"{word}: {semis:+g} semitones from the start's {f0:.1f} Hz (note set to MIDI {new:.2f})", set_by=set_by),
          explicit=True)
    if hz > 4186.0 or hz < 32.7:
        b.notes.append(f"{word}: {hz:.1f} Hz is outside the pitch tracker's range (C1-C8, 32.7-4186 Hz); the note is moved but the "
                       "result's pitch cannot be confirmed")


def _relative_word(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, n: L.Need, word: str) -> None:
    """A lexicon word in a refinement: a change from the start in the word's direction. An attack word also keeps its
    own meaning (a 5 ms lead 'with a slow attack' gets the word's 193 ms, not just 1.95 x); a noise word only asks for
    noisier (its percentile is a noise, which would wash the tone out)."""
    sign = +1 if n.side == "ge" else -1
    _relative(b, start, patch, n.descriptor, sign, word, confidence=max(0.5, n.confidence))
    if n.descriptor in b.numbers:
        return
    t = b.targets.get(n.descriptor)
    if n.descriptor != "attack_s" or t is None or n.level is None:
        return
    v = _level_value(n.descriptor, n.level)
    if sign > 0 and t.lo is not None and v > t.lo:
        b.targets[n.descriptor] = t.model_copy(update={"lo": v, "source": f"{t.source}; '{word}' means at least {v:.3g} s"})
    elif sign < 0 and t.hi is not None and v < t.hi:
        b.targets[n.descriptor] = t.model_copy(update={"hi": v, "source": f"{t.source}; '{word}' means at most {v:.3g} s"})


_LENGTH_WORDS = re.compile(r"\b(?:long|length|last|lasts|ring|rings|sustain|hold|duration|tail|sound(?:s|ing)?\s+for)\b")
_CLAUSE_END = re.compile(r"[,.;!?]|\b(?:and|with|but|then|plus)\b")


def _clause(text: str, start: int, end: int) -> str:
    """The clause of ``text`` around [start, end): from the last comma, stop or conjunction before to the next after."""
    before = [m.end() for m in _CLAUSE_END.finditer(text, 0, start)]
    after = _CLAUSE_END.search(text, end)
    return text[(before[-1] if before else 0):(after.start() if after else len(text))]


# "don't make it any brighter", "but dont add any click or brightness", "never let it get longer": a refinement's negated
# imperative asks nothing of what it names, and the change reader adds nothing there either
NEGATED_ASK = re.compile(NEGATOR + r"\s+(?:(?:make|let|get|turn)\s+(?:it|this|that|the\s+[a-z]+)\s+(?:get\s+|be\s+|go\s+|sound\s+)?"
                         r"(?:any\s+|much\s+|even\s+)?(?:[a-z]+er\b|more\s+[a-z]+|less\s+[a-z]+)|add\s+(?:any\s+|more\s+|a\s+|some\s+|extra\s+)?[a-z]+"
                         r"(?:\s+(?:or|and|nor)\s+(?:any\s+)?[a-z]+)?)")
_LEFT_WORDS = (("bright|dark|dull|top|treble|shrill|harsh|muffl|warm", ("centroid_hz",)), ("long|short|length|tail", ("sounding_s", "decay_db_per_s")),
               ("nois|hiss|breath|air|grit|crackl", ("flatness",)), ("vibrato|warbl", ("vibrato_depth_cents", "vibrato_rate_hz")),
               ("wobbl|tremolo|puls|throb", ("am_depth_db", "am_rate_hz")), ("attack|click|snap|transient|punch", ("attack_s",)),
               ("high|low|pitch|sharp|flat", ("f0_hz",)))


def _leave_negated(b: _Builder, text: str) -> str:
    """Negated imperatives taken out of ``text`` (``NEGATED_ASK``), their qualities left to the start (``b.left``)."""
    for m in NEGATED_ASK.finditer(text):
        said = m.group(0)
        for roots, keys in _LEFT_WORDS:
            if re.search(rf"\b(?:{roots})", said.split(None, 1)[1]):  # the words after the negator
                b.left.update(keys)
        b.notes.append(f"'{said}': nothing asked of it; kept as it was")
    return NEGATED_ASK.sub(" ", text)


def _duration(b: _Builder, text: str, m: re.Match, start: dict[str, Any] | None, render_seconds: float) -> bool:
    """A time in the prompt (``DUR_RE``): an attack's or the sound's length, absolute ("an attack of 200 ms", "4 or 5 seconds
    to reach full level", "2 to 3 seconds long") or an amount with its comparative ("half a second longer", "longer by a
    second", "swell in a second slower"). Returns whether it was read."""
    if re.search(r"\b(?:db|decibels?|semitones?|semis?|cents?|hz|octaves?)\s*$", text[: m.start()]):
        return False  # "20 dB a second": a rate's time, not a length
    unit = 0.001 if m.group(3).startswith("m") else 1.0
    secs = _count(m.group(2), allow_fraction=True) * unit
    first = _count(m.group(1), allow_fraction=True) * unit if m.group(1) else secs  # "4 or 5 seconds": from the first
    if re.search(r"\bfrom\s*$", text[: m.start()]):
        first = secs  # "change the length from 1 to 2 seconds": the second is the one asked
    lo, hi = min(first, secs), max(first, secs)
    if hi < 0.005:
        b.notes.append(f"'{m.group(0)}': outside what the tool renders (5 ms to {MAX_RENDER_S:g} s); left out")
        return False
    if lo > MAX_RENDER_S:
        # "make it 8 seconds instead": as long as the tool renders, said as not done as asked (left out, the sound stayed as it was)
        b.cannot.append(f"'{m.group(0)}': the tool renders {MAX_RENDER_S:g} s at most; the sound is made as long as that, not {lo:g} s. "
                        "Say so, and offer to loop or layer it outside")
        lo = hi = MAX_RENDER_S
    if hi > MAX_RENDER_S:
        b.notes.append(f"'{m.group(0)}': the tool renders {MAX_RENDER_S:g} s at most; up to {MAX_RENDER_S:g} s is asked")
        hi = MAX_RENDER_S
    lo = max(lo, 0.005)
    after = text[m.end():]
    more = re.match(r"\s*(?:or\s+(?:more|longer|so\s+more|above)|at\s+least|\+|plus)\b", after)  # "a second or more": at least
    fewer = re.match(r"\s*(?:or\s+(?:less|shorter|under|below)|at\s+most|max|tops)\b", after)
    clause = _clause(text, m.start(), m.end())
    is_attack = any(w in clause for w in ATTACK_CONTEXT) or (not _LENGTH_WORDS.search(clause) and any(w in text for w in ATTACK_CONTEXT)
                                                             and not _LENGTH_WORDS.search(text))
    amount = re.match(r"\s*(longer|shorter|slower|faster|quicker|sooner|later)\b", after) \
        or re.search(r"\b(longer|shorter|slower|faster|quicker|sooner|later)\s+by\s*$", text[: m.start()])
    what = ""
    if amount:
        # an amount of change, not the new value: from the start's own, in the comparative's direction
        word = amount.group(1)
        if word in ("slower", "faster", "quicker") and not is_attack:
            return False
        key = "attack_s" if is_attack else "sounding_s"
        s = _start_value(start, key) if start is not None else None
        if s is None:
            return False  # a fresh prompt, or a start with no such measure: the comparative reads it
        sign = +1 if word in ("longer", "slower", "later") else -1
        v = s + sign * hi
        if v < 0.005:
            b.notes.append(f"'{m.group(0)} {word}': the start's {key} is {s:.3g} s, and that goes under zero; the comparative is read instead")
            return False
        lo = hi = v
        what = f"the start's {s:.3g} s {'+' if sign > 0 else '-'} {abs(v - s):.3g} s"
    if is_attack:
        b.add(Target(aspect="attack", descriptor="attack_s", lo=lo, hi=hi, unit="s", tolerance=1.3, confidence=1.0,
                     source=f"'{m.group(0)}' (explicit attack{': ' + what if what else ''}; +-30 %)"), explicit=True)
        b.numbers.add("attack_s")
        rise = min(ATTACK_MAX_S, lo / 0.8)  # the envelope's rise that makes it (a linear rise's 10-90 % is 0.8 of it)
        if lo > 0.8 * ATTACK_MAX_S:
            b.notes.append(f"'{m.group(0)}': the Voice's envelopes rise over {ATTACK_MAX_S:g} s at most (heard as about {0.8 * ATTACK_MAX_S:.2g} s "
                           "from 10 to 90 %); the slowest attack it makes is what it can give")
        key_s = (b.start_patch or {}).get("keyboard.duration")
        if key_s is None or key_s < rise + 0.2:
            # a swell heard to its top needs the key held through it, and the sound going on past it
            b.targets["attack_s"] = b.targets["attack_s"].model_copy(update={"set_by": {"keyboard.duration": round(min(4.0, rise + 0.2), 4)}})
        if rise + 0.3 > b.render_seconds:
            b.render_seconds = min(MAX_RENDER_S, rise + 0.4)
    else:
        b.add(Target(aspect="length", descriptor="sounding_s", lo=None if fewer and not what else lo, hi=None if more and not what else hi, unit="s", tolerance=1.2, confidence=1.0,
                     source=f"'{m.group(0)}' (explicit length{': ' + what if what else ''}; +-20 %)",
                     set_by={"keyboard.duration": round(min(4.0, max(0.01, 0.85 * (lo + hi) / 2)), 4)}), explicit=True)
        b.numbers.add("sounding_s")
        if hi > 0.8 * render_seconds:
            b.render_seconds = max(render_seconds, min(MAX_RENDER_S, hi * 1.2 + 0.3))
    return True


def _relative(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None, key: str, sign: int, word: str, confidence: float = 1.0) -> None:
    if key in b.numbers:  # "swell in much slower, like 4 or 5 seconds": the number says how much
        t, s0 = b.targets.get(key), _start_value(start, key)
        held = t is not None and s0 is not None and ((sign > 0 and t.hi is None and (t.lo or 0.0) <= s0) or (sign < 0 and t.lo is None and t.hi is not None and t.hi >= s0))
        against = t is not None and s0 is not None and ((sign < 0 and t.lo is not None and t.lo > s0) or (sign > 0 and t.hi is not None and t.hi < s0))
        if not (held or against):
            b.notes.append(f"'{word}': the prompt's own number for {key} is taken")
            return
        said = t.source.split(" (")[0]
        if against:
            # "shorter overall, like 3 seconds total" of a 1.9 s sound: the number was said of a start the writer heard longer;
            # the word's direction is kept and the number's conflict said, so the assistant can ask
            b.cannot.append(f"'{word}': the prompt's number ({said}) lies the other way from the start's {s0:.3g}; "
                            f"the {key} was moved the word's way instead: ask which is meant")
        else:
            # "longer, like a full second or more" of a 1.5 s sound: the bound holds already, so the word asks the step
            b.notes.append(f"'{word}': the prompt's bound ({said}) holds for the start's {s0:.3g} already; the comparative asks a step further")
        b.drop(key)
        b.numbers.discard(key)
    if key == "decay_db_per_s":
        s = _start_value(start, key) or 0.0
        v = min(s - RELATIVE_STEPS * STEP[key], FADE_DB_PER_S) if sign < 0 else s + RELATIVE_STEPS * STEP[key]
        b.add(Target(aspect="decay", descriptor=key, lo=None if sign < 0 else v, hi=v if sign < 0 else None, unit="dB/s", tolerance=0.0,
                     confidence=confidence, relative_to=s, source=f"'{word}': the level falls {'at least' if sign < 0 else 'at most'} {abs(v):.3g} dB/s "
                     f"(the start's slope {s:.3g} dB/s)"), explicit=True)
        return
    if key == "f0_hz":
        sized = intervals.sizes(b.prompt.lower())  # "a little higher, like 3 semitones": the prompt says how far
        _relative_pitch(b, start, patch, sign * (sized[0] if sized else DEFAULT_INTERVAL), f"'{word}'" + (f" by the prompt's {sized[0]:g} semitones" if sized else ""))
        return
    s = _start_value(start, key)
    if s is None:
        b.notes.append(f"'{word}': the start sound has no measured {key}; left out")
        b.leans[key] = sign  # "less vibrato" of a start with none: the change reader must not add one
        return
    step = STEP.get(key, 1.0)
    if key == "sounding_s":
        v = s * (LENGTH_FACTOR if sign > 0 else 1 / LENGTH_FACTOR)
        set_by = {}
        if patch and "keyboard.duration" in patch:
            key_s = float(patch["keyboard.duration"]) * (LENGTH_FACTOR if sign > 0 else 1 / LENGTH_FACTOR)
            if sign < 0:  # a key held past the render (or past the sound) shortens nothing: release it before the shorter length
                key_s = min(key_s, 0.8 * v)
            set_by = {"keyboard.duration": round(min(4.0, max(0.01, key_s)), 4)}
        t = Target(aspect="length", descriptor=key, lo=v if sign > 0 else None, hi=None if sign > 0 else v, unit="s", tolerance=_tol(key),
                   confidence=confidence, relative_to=s, set_by=set_by, source=f"'{word}': {'x' if sign > 0 else '/'}{LENGTH_FACTOR:g} the start's {s:.3g} s")
        if sign > 0 and v > 0.8 * b.render_seconds:
            b.render_seconds = min(MAX_RENDER_S, v / 0.8 + 0.05)
        b.add(t, explicit=True)
        return
    if key in ("attack_s", "flatness", "centroid_hz"):
        base = max(s, STEP_FLOOR[key])
        v = base * step ** (RELATIVE_STEPS * sign)
        if key == "attack_s" and sign > 0:
            v = max(v, s + 0.03)  # a slower attack people hear: at least 30 ms more
        # and at least twice the descriptor vocabulary's smallest noticeable difference in the unit (once, where the start
        # leaves room for only one)
        min_step = next((a.min_step for a in AXES if a.key == key), 0.0)
        if sign < 0 and min_step > 0 and s - min_step <= 0 and (key == "attack_s" or _no_noise(s, patch)):
            _cannot(b, key, sign, CANNOT_LESS[key].format(word=word, s=s, ms=s * 1000, step=min_step, step_ms=min_step * 1000))
            return
        if sign > 0:
            v = max(v, s + 2 * min_step)
        elif s - 2 * min_step > 0:
            v = min(v, s - 2 * min_step)
        elif key == "attack_s":
            v = min(v, s - min_step)  # one step where two do not fit (a 7 ms attack to 2 ms)
        f0 = _start_value(start, "f0_hz") if start.get("pitched") else None
        if key == "centroid_hz" and sign < 0 and f0 is not None and v < f0 and s / step > f0 * 1.005:
            # three steps darker lie under the note's fundamental, one does not: ask for as much as the kept note allows
            b.notes.append(f"'{word}': the start is close to a pure tone at its note (centroid {s:.0f} Hz, f0 {f0:.0f} Hz); three noticeable "
                           f"steps darker would be under its fundamental, so one is asked ({s / step:.0f} Hz); a lower note would make it darker still")
            v = s / step
        elif key == "centroid_hz" and sign < 0 and f0 is not None and v < f0:
            b.notes.append(f"'{word}': the start is close to a pure tone at its note (centroid {s:.0f} Hz, f0 {f0:.0f} Hz); a centroid of "
                           f"{v:.0f} Hz is under its own fundamental, which the Voice (no filter) cannot reach while the note is kept: "
                           "a lower note would make it darker")
    else:
        v = s + sign * RELATIVE_STEPS * step
    t = Target(aspect=_aspect(key), descriptor=key, lo=v if sign > 0 else None, hi=None if sign > 0 else v, unit=_unit(key), tolerance=1.0 if key in ("attack_s", "flatness", "centroid_hz") else 0.0,
               confidence=confidence, relative_to=s, source=f"'{word}': {key} {'>=' if sign > 0 else '<='} {v:.4g} ({RELATIVE_STEPS} noticeable steps from the start's {s:.4g})")
    b.add(t, explicit=True)


STEP_FLOOR = {"attack_s": 0.005, "flatness": 1e-4, "centroid_hz": 50.0}  # a relative step is taken from at least this


# what a step down cannot do from a start already within one noticeable step of nothing (library.descriptors.words' min_step)
CANNOT_LESS = {
    "attack_s": ("{word}: the start's attack is already {ms:.1f} ms; no attack is a noticeable step faster (the smallest is {step_ms:.0f} ms), "
                 "so nothing was changed for it. If the start still sounds soft, the user may mean a harder click or a brighter hit, "
                 "which the Voice's envelopes cannot add: ask"),
    "flatness": ("{word}: the start has no noise to take out (spectral flatness {s:.4f}; its noise source off or inaudible), so nothing was "
                 "changed for it. What sounds like noise may be buzz or harshness in its upper partials: ask whether 'darker' or "
                 "'less harsh' is meant"),
}


NOISE_SILENT = 1e-3  # a noise amplitude (mixer level x routes) at or under -60 dB


def _no_noise(flatness: float, patch: dict[str, float] | None) -> bool:
    """Whether a start has no noise to take out: none measured (flatness under the ratio floor) or its patch's noise source is
    silent (its level times its routes at or under NOISE_SILENT). A little measured noise with the source on is still taken down, if less
    than a noticeable step: the user may hear it."""
    if flatness <= STEP_FLOOR["flatness"]:  # flat descriptors round to 4 decimals
        return True
    if patch is None or "mixer.noise" not in patch:
        return False
    routes = [v for k, v in patch.items() if k.endswith("->noise_amp")]
    # the noise's amplitude is the mixer level times the routes' sum (each source at most 1): -60 dB is silent
    return patch["mixer.noise"] * (sum(routes) if routes else 1.0) <= NOISE_SILENT


def _cannot(b: _Builder, key: str, sign: int, why: str) -> None:
    """An asked change this start leaves no room for: said in the brief, no target made, and the change reader kept off it."""
    b.leans[key] = sign
    old = b.targets.get(key)
    if old is not None and not old.kept:  # an asked change wins over a word that describes the start ("a hissy layer, make it cleaner")
        b.drop(key)
        b.notes.append(f"'{old.source}' dropped: the change asked of it is '{why.split(':', 1)[0]}'")
    if key not in b.cannot_keys:  # (and over a later word's: _Builder.add)
        b.cannot.append(why)
        b.cannot_keys.add(key)


def _pitch_sources(patch: dict[str, float]) -> tuple[str, ...]:
    """The parameters of every modulation source that bends the start patch's pitch (its rate, shape and
    envelopes), so that a kept glide or vibrato keeps its course."""
    names: list[str] = []
    for src in ("adsr_1", "adsr_2", "lfo_1", "lfo_2"):
        bends = any(patch.get(f"mod_matrix.{src}->vco_{v}_pitch", 0.0) > 0.01 and abs(patch.get(f"vco_{v}.mod_depth", 0.0)) > 0.05 for v in (1, 2))
        if not bends:
            continue
        prefixes = [src] if src.startswith("adsr") else [src, f"{src}_amp_adsr", f"{src}_rate_adsr"]
        names += [k for k in patch if k.split(".", 1)[0] in prefixes]
    return tuple(names)


def _keep(b: _Builder, start: dict[str, Any], patch: dict[str, float] | None) -> None:
    """Keep targets for what the prompt did not ask to change."""
    asked = b.asked
    rng = b.targets.get("pitch_range_semitones")
    steady = rng is not None and rng.lo is None  # "kill the vibrato", "steady": the note stays, only its movement goes
    pitch_asked = bool(asked & {"f0_hz", "keyboard.midi_f0", "pitch_trend_semitones_per_s"} or ("pitch_range_semitones" in asked and not steady))
    if not pitch_asked and patch:
        # the note, the tunings and everything that bends the pitch are held: the loop reads pitch from the
        # louder oscillator, pYIN may follow the other, so a kept pitch is kept by not moving it at all
        set_by = {k: float(patch[k]) for k in PITCH_PARAMS + _pitch_sources(patch) if k in patch}
        f0 = _start_value(start, "f0_hz") if start.get("pitched") else None
        if f0 is not None:
            b.add(Target(aspect="pitch", descriptor="f0_hz", lo=round(f0, 3), hi=round(f0, 3), unit="Hz", tolerance=KEEP["f0_hz"], confidence=1.0,
                         relative_to=f0, kept=True, set_by=set_by, source=f"kept: the start's {f0:.1f} Hz within half a semitone (note held)"))
        elif set_by:
            b.add(Target(aspect="pitch", descriptor="keyboard.midi_f0", lo=set_by["keyboard.midi_f0"], hi=set_by["keyboard.midi_f0"], unit="midi",
                         kept=True, set_by=set_by, source="kept: the start's note (held)"))
    elif patch and "keyboard.midi_f0" in patch and not asked & {"f0_hz", "keyboard.midi_f0"}:
        # a glide or a sweep asked, no new note: it moves from the start's note (the key and the tunings held); left free,
        # the search keyed "make it slowly slide down in pitch" of a 159 Hz tone to slide from 445 Hz
        set_by = {k: float(patch[k]) for k in ("keyboard.midi_f0", "vco_1.tuning", "vco_2.tuning") if k in patch}
        b.add(Target(aspect="pitch", descriptor="keyboard.midi_f0", lo=set_by["keyboard.midi_f0"], hi=set_by["keyboard.midi_f0"], unit="midi",
                     kept=True, set_by=set_by, source="kept: the start's note, where the pitch's movement starts (key and tunings held)"))
    heard = _start_value(start, "pitch_range_semitones")
    movement = {"pitch_trend_semitones_per_s", "pitch_range_semitones", "vibrato_depth_cents", "vibrato_rate_hz"}
    if pitch_asked and patch and not asked & movement and heard is not None and heard > STEADY_SEMITONES:
        # a new note, no word of the start's glide, sweep or wail: it goes along with the note (its sources held; a siren
        # made lower came out with no wail), and the range it covers is kept
        set_by = {k: float(patch[k]) for k in PITCH_PARAMS + _pitch_sources(patch) if k in patch and k not in ("keyboard.midi_f0", "vco_1.tuning", "vco_2.tuning")}
        b.add(Target(aspect="pitch movement", descriptor="pitch_range_semitones", lo=round(heard / KEEP_MOVEMENT, 3), hi=round(heard * KEEP_MOVEMENT, 3),
                     unit=_unit("pitch_range_semitones"), tolerance=1.0, confidence=1.0, relative_to=heard, kept=True, set_by=set_by,
                     source=f"kept: the start's pitch movement over {heard:.3g} semitones, within a factor {KEEP_MOVEMENT:g} (its sources held)"))
    keeps = [("sounding_s", "length", "within 20 %"), ("attack_s", "attack", "within a factor 1.5 or 10 ms")]
    if not pitch_asked:
        keeps.insert(0, ("centroid_hz", "brightness", "within 20 %"))
    noisier = b.targets.get("flatness")
    noise_first = noisier is not None and noisier.lo is not None and "centroid_hz" not in asked
    if noise_first and start.get("pitched") and not pitch_asked:
        # a noisier tone, not a wash: the start keeps a pitch pYIN finds (the loop reads it as a tonal spectrum, an
        # oscillator over the noise), so the noise stops where the note would drown
        b.add(Target(aspect="noisiness", descriptor="pitched", lo=1.0, tolerance=0.0, confidence=1.0, kept=True,
                     source="kept: the start has a note; noisier keeps it audible"))
    if noise_first:
        b.notes.append("more noise: the Voice's only noise is white (it has no filter), and the noise that makes a sound noticeably "
                       "noisier lifts its brightness with it, often past the 20 % the brightness is kept within; the asked noise comes "
                       "first (the brightness keep counts half)")
    for key, aspect, words in keeps:
        if key in asked:
            continue
        s = _start_value(start, key)
        if s is None:
            continue
        r = KEEP[key]
        lo, hi = s / r, s * r
        if key == "attack_s":
            lo, hi = max(0.0, min(lo, s - ATTACK_KEEP_S)), max(hi, s + ATTACK_KEEP_S)
        set_by = {}
        if key == "sounding_s" and patch and "keyboard.duration" in patch:
            set_by = {"keyboard.duration": float(patch["keyboard.duration"])}
        half = noise_first and key == "centroid_hz"
        b.add(Target(aspect=aspect, descriptor=key, lo=lo, hi=hi, unit=_unit(key), tolerance=1.0, confidence=0.5 if half else 1.0, relative_to=s,
                     kept=True, set_by=set_by, source=f"kept: the start's {s:.4g} {_unit(key)} {words}" + (" (after the asked noise: white noise brightens)" if half else "")))
    if start.get("pitched"):
        for key, t in list(b.targets.items()):
            if t.descriptor == "pitched":  # the start has a note (pYIN): the loop reads its proxy of a note from the start (on_loop_scale)
                b.targets[key] = t.model_copy(update={"relative_to": 1.0})
