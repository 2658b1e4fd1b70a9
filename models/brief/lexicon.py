"""Which words of a prompt speak about which measurable aspect, and where each one's numbers come from.

The table below only says what a word is *about* and in which direction ("pluck" -> a fast attack
and a decay); the values come from data:

* ``ref(level)``: a percentile of ``library.descriptors``' reference set (272 real recordings,
  ``reference.json``), the same table that gives the descriptor words their thresholds. The words
  ``library.descriptors`` itself uses (``words.AXES``: bright/dark, noisy/clean, slow attack/plucky,
  sustained/short, harsh, thin, full, boomy, wobbling, vibrato ...) are taken from there at its own
  80th/20th percentiles and are not repeated here.
* brightness-like words the descriptor vocabulary lacks (warm, crisp, mellow, muffled, dull, sharp
  ...) get their direction and strength from the crowd's EQ curves (``models/fx/crowd``: the tilt
  of the word's 40-band curve), see ``parse.crowd_brightness``.
* ``value(x)``: a stated rule where no data set covers the word (modulation rates: the reference
  holds 16 periodic level modulations, too few for percentiles).

Levels were chosen from what the words mean against the reference recordings (mostly one-shots from
the Sonic Pi pack): "slow attack" for a pad is the reference's upper tail (98th percentile, 193 ms),
not the descriptor vocabulary's 80th (41 ms) that calls a bowed note "slow". They were set before the
benchmark's held-out prompts were run.
"""

from __future__ import annotations

import re

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Need:
    aspect: str
    descriptor: str
    side: str  # "ge" (at least), "le" (at most), "set" (pitch register: set the note at this level), "hold" (length: the whole render)
    level: float | None = None  # reference percentile
    value: float | None = None  # a stated value where no reference data covers it
    confidence: float = 0.8
    needs: str | None = None
    tolerance: float | None = None  # slack counted as met; None: one noticeable step (targets.STEP)


def ref(aspect: str, descriptor: str, side: str, level: float, confidence: float = 0.8, needs: str | None = None) -> Need:
    return Need(aspect, descriptor, side, level=level, confidence=confidence, needs=needs)


def value(aspect: str, descriptor: str, side: str, v: float, confidence: float = 0.8, needs: str | None = None,
          tolerance: float | None = None) -> Need:
    return Need(aspect, descriptor, side, value=v, confidence=confidence, needs=needs, tolerance=tolerance)


# ---- building blocks (levels are reference percentiles)
LOW = ref("pitch", "f0_hz", "set", 10)  # ~55 Hz: the middle of the reference's low register (<= 20th)
BASS = ref("pitch", "f0_hz", "set", 15)  # ~59 Hz
SUB = ref("pitch", "f0_hz", "set", 2)  # ~43 Hz
HIGH = ref("pitch", "f0_hz", "set", 90)  # ~619 Hz: the middle of the high register (>= 80th)
VERY_HIGH = ref("pitch", "f0_hz", "set", 95)  # ~2.3 kHz: whistles, birds
PITCHED = Need("pitched", "pitched", "ge", value=1.0, confidence=0.8)
FAST_ATTACK = ref("attack", "attack_s", "le", 50)  # 7.9 ms
INSTANT_ATTACK = ref("attack", "attack_s", "le", 35)  # 3 ms
GENTLE_ATTACK = ref("attack", "attack_s", "ge", 80)  # 41 ms
SLOW_ATTACK = ref("attack", "attack_s", "ge", 98)  # 193 ms (the 95th, 108 ms, left a pad at 149 ms on the tuning half)
SHORT = ref("length", "sounding_s", "le", 20)  # 0.17 s
VERY_SHORT = ref("length", "sounding_s", "le", 10)  # 0.12 s
TINY = ref("length", "sounding_s", "le", 5)  # 65 ms
SHORTISH = ref("length", "sounding_s", "le", 40)  # 0.30 s
HOLD = Need("length", "sounding_s", "hold", confidence=0.8)
SUSTAINED = ref("sustain", "sustain_level_db", "ge", 80)  # within 3.7 dB of the peak
DECAYS = ref("decay", "decay_db_per_s", "le", 50)  # -37 dB/s
RINGS = ref("decay", "decay_db_per_s", "le", 65)  # -19 dB/s
FADES = ref("decay", "decay_db_per_s", "le", 75)  # -12 dB/s
NOISE = ref("noisiness", "flatness", "ge", 98)  # 0.15: it is a noise
NOISY = ref("noisiness", "flatness", "ge", 90)  # 0.045: clearly noisy for a synth tone
SNARE_NOISE = ref("noisiness", "flatness", "ge", 95)  # 0.09
TONAL = ref("noisiness", "flatness", "le", 50)  # 0.00085
PURE = ref("noisiness", "flatness", "le", 35)  # 0.0002
DARK = ref("brightness", "centroid_hz", "le", 20)  # 570 Hz
BRIGHT = ref("brightness", "centroid_hz", "ge", 80)  # 4.2 kHz
RISING = ref("pitch movement", "pitch_trend_semitones_per_s", "ge", 90)  # +6.5 semitones/s
SLOW_RISE = ref("pitch movement", "pitch_trend_semitones_per_s", "ge", 80)  # +2.7
FALLING = ref("pitch movement", "pitch_trend_semitones_per_s", "le", 10)  # -12.6
SLOW_FALL = ref("pitch movement", "pitch_trend_semitones_per_s", "le", 20)  # -5.2
SWEEP = ref("pitch movement", "pitch_range_semitones", "ge", 90)  # 9.8 semitones
MOVES = ref("pitch movement", "pitch_range_semitones", "ge", 60)  # 3 semitones
STEADY = ref("pitch movement", "pitch_range_semitones", "le", 20)  # 0.35 semitone
VIBRATO = ref("vibrato", "vibrato_depth_cents", "ge", 50, needs="vibrato_rate_hz")  # +-30 cents
WOBBLE = ref("amplitude movement", "am_depth_db", "ge", 80, needs="am_rate_hz")  # 9 dB
# "a gentle tremolo", "just a little vibrato": the reference's middle band (percentiles); "a deep wobble": its upper tail
DEPTH_BANDS = {"gentle": {"am_depth_db": (40, 70), "vibrato_depth_cents": (30, 55)},  # 3.8-7.5 dB; +-11-35 cents
               "strong": {"am_depth_db": (90, None), "vibrato_depth_cents": (80, None)}}  # >= 13.6 dB; >= +-92 cents
GENTLE_DEGREE = (r"(?:gentle|gently|soft|subtle|subtly|slight|slightly|light|mild|faint|a\s+(?:little|touch\s+of|hint\s+of|tad\s+of|tiny\s+bit\s+of)"
                 r"|just\s+a\s+(?:little|touch\s+of|hint\s+of|bit\s+of))")
STRONG_DEGREE = r"(?:heavy|heavily|deep|deeply|strong|intense|massive|huge|big|extreme|wide)"
SLOW_RATE = value("modulation rate", "am_rate_hz", "le", 3.0)
FAST_RATE = value("modulation rate", "am_rate_hz", "ge", 6.0)
PUNCH = ref("loudness character", "transient_db", "ge", 80)  # 12.8 dB over the body
GENTLE_ONSET = ref("loudness character", "transient_db", "le", 35)  # 4.7 dB
NOT_BRIGHT = ref("brightness", "centroid_hz", "le", 50, confidence=0.6)  # 1.6 kHz: no brighter than the median recording


def _soft(n: Need, c: float) -> Need:
    return dataclasses.replace(n, confidence=c)


# phrase -> needs. Longer phrases are matched first; a matched phrase's words are not matched again.
PHRASES: dict[str, tuple[Need, ...]] = {
    # attack
    "slow attack": (SLOW_ATTACK,), "soft attack": (SLOW_ATTACK,), "gentle attack": (GENTLE_ATTACK,),
    "fast attack": (FAST_ATTACK,), "sharp attack": (FAST_ATTACK,), "quick attack": (FAST_ATTACK,), "hard attack": (FAST_ATTACK,),
    "fade in": (SLOW_ATTACK,), "fades in": (SLOW_ATTACK,), "fading in": (SLOW_ATTACK,), "swells": (SLOW_ATTACK,), "swell": (SLOW_ATTACK,), "swelling": (SLOW_ATTACK,),
    # percussion and sound types
    "hi-hat": (NOISE, SHORT, FAST_ATTACK, BRIGHT), "hihat": (NOISE, SHORT, FAST_ATTACK, BRIGHT), "hi hat": (NOISE, SHORT, FAST_ATTACK, BRIGHT),
    "cymbal": (NOISE, FAST_ATTACK, BRIGHT), "shaker": (NOISE, SHORT), "snare": (SNARE_NOISE, SHORTISH, FAST_ATTACK),
    "kick": (DARK, SHORTISH, FAST_ATTACK, DECAYS), "bass drum": (DARK, SHORTISH, FAST_ATTACK, DECAYS),
    "thud": (DARK, SHORTISH, FAST_ATTACK), "boom": (DARK, FAST_ATTACK), "booming": (DARK, FAST_ATTACK),
    "rumble": (NOISY, DARK, HOLD), "click": (INSTANT_ATTACK, TINY), "tick": (INSTANT_ATTACK, TINY),
    "white noise": (NOISE,), "noise": (NOISE,), "hiss": (NOISE,), "static": (NOISE,), "wind": (NOISE, GENTLE_ATTACK, HOLD),
    "whoosh": (NOISE,), "woosh": (NOISE,), "swoosh": (NOISE,), "breath": (NOISE,),
    "burst": (SHORT, FAST_ATTACK), "blip": (SHORT, FAST_ATTACK, PITCHED), "beep": (PITCHED, SUSTAINED), "stab": (SHORTISH, FAST_ATTACK),
    "hit": (FAST_ATTACK, DECAYS), "clang": (FAST_ATTACK, DECAYS), "staccato": (SHORTISH,),
    "pluck": (FAST_ATTACK, DECAYS, PITCHED), "plucked": (FAST_ATTACK, DECAYS, PITCHED), "plucky": (FAST_ATTACK, DECAYS, PITCHED),
    "bell": (FAST_ATTACK, RINGS, PITCHED), "chime": (FAST_ATTACK, RINGS, PITCHED),
    "pad": (SLOW_ATTACK, HOLD, SUSTAINED), "drone": (HOLD, SUSTAINED, PITCHED), "organ": (HOLD, SUSTAINED, PITCHED),
    "lead": (PITCHED, _soft(HOLD, 0.6)), "strings": (GENTLE_ATTACK, PITCHED), "string": (GENTLE_ATTACK, PITCHED),
    "violin": (GENTLE_ATTACK, PITCHED), "flute": (GENTLE_ATTACK, PITCHED, TONAL), "whistle": (VERY_HIGH, TONAL, PITCHED),
    "siren": (SWEEP, HOLD, PITCHED), "zap": (FALLING, SHORTISH, FAST_ATTACK), "laser": (FALLING, FAST_ATTACK),
    "chirp": (VERY_HIGH, SHORTISH, MOVES), "chirping": (VERY_HIGH, SHORTISH, MOVES), "bird": (VERY_HIGH, MOVES), "tweet": (VERY_HIGH, SHORTISH, MOVES),
    "sine": (PURE, PITCHED), "sine wave": (PURE, PITCHED), "pure": (PURE, PITCHED), "clean": (TONAL,),
    "shimmer": (BRIGHT,), "sizzle": (NOISY, BRIGHT),
    # register
    "low": (LOW, PITCHED), "deep": (LOW, PITCHED), "bass": (BASS, PITCHED), "sub": (SUB, PITCHED), "sub bass": (SUB, PITCHED),
    "high": (HIGH, PITCHED), "very high": (VERY_HIGH, PITCHED), "high-pitched": (HIGH, PITCHED),
    # envelope words
    "short": (SHORT,), "very short": (VERY_SHORT,), "quick": (SHORT,), "long": (HOLD,), "sustained": (HOLD, SUSTAINED), "held": (HOLD, SUSTAINED),
    "evolving": (HOLD,), "steady": (STEADY, SUSTAINED), "decaying": (DECAYS,), "fading": (FADES,), "fades": (FADES,),
    "dies away": (FADES,), "dies out": (FADES,), "dying away": (FADES,), "tails off": (FADES,), "trails off": (FADES,),
    "percussive": (FAST_ATTACK, DECAYS), "punchy": (PUNCH, FAST_ATTACK), "soft": (GENTLE_ATTACK, NOT_BRIGHT), "gentle": (GENTLE_ATTACK, GENTLE_ONSET, NOT_BRIGHT),
    "quiet": (NOT_BRIGHT,),
    # noise adjectives
    "noisy": (NOISY,), "breathy": (NOISY,), "airy": (NOISY,), "hissy": (NOISY,), "gritty": (NOISY,), "grainy": (NOISY,),
    # pitch movement
    "rising": (RISING, PITCHED), "rises": (RISING, PITCHED), "rise": (RISING, PITCHED), "ascending": (RISING, PITCHED), "upward": (RISING, PITCHED),
    "slowly rising": (SLOW_RISE, PITCHED), "slowly falling": (SLOW_FALL, PITCHED),
    "falling": (FALLING, PITCHED), "falls": (FALLING, PITCHED), "fall": (FALLING, PITCHED), "dropping": (FALLING, PITCHED), "descending": (FALLING, PITCHED), "drop": (FALLING,),
    "dive": (FALLING, PITCHED), "dives": (FALLING, PITCHED), "diving": (FALLING, PITCHED), "climbing": (RISING, PITCHED),
    "sweeping": (SWEEP, PITCHED), "sweep": (SWEEP, PITCHED), "glide": (MOVES, PITCHED), "gliding": (MOVES, PITCHED),
    "vibrato": (VIBRATO, PITCHED),
    # amplitude movement
    "tremolo": (WOBBLE,), "wobble": (WOBBLE,), "wobbling": (WOBBLE,), "wobbly": (WOBBLE,), "pulsing": (WOBBLE,), "pulse": (WOBBLE,),
    "pulses": (WOBBLE,), "throbbing": (WOBBLE,), "throb": (WOBBLE,), "wobbles": (WOBBLE,), "throbs": (WOBBLE,), "pulsating": (WOBBLE,),
    "pulsates": (WOBBLE,), "chop": (WOBBLE,), "chopping": (WOBBLE,), "choppy": (WOBBLE,), "stutter": (WOBBLE,), "stuttering": (WOBBLE,), "flutter": (WOBBLE, FAST_RATE), "fluttering": (WOBBLE, FAST_RATE),
}
# Words that name a kind of sound (an instrument, a drum, a noise's source): a fresh prompt's sound type, but in a refinement a
# simile ("more like wind far away", "let it boom longer", "like a bow"), not a change; a refinement leaves them out
SOUND_TYPES = {"hi-hat", "hihat", "hi hat", "cymbal", "shaker", "snare", "kick", "bass drum", "thud", "boom", "booming", "rumble", "wind",
               "whoosh", "woosh", "swoosh", "burst", "stab", "hit", "clang", "bell", "chime", "pad", "drone", "organ", "lead", "strings",
               "string", "violin", "flute", "whistle", "bird", "click", "tick", "knock", "thump", "bass"}
# sound nouns that are also asks ("a pluck", "a blip"): in a refinement, after a determiner ("make the blip longer"), they name the sound
SOUND_NOUNS = {"pluck", "blip", "beep", "zap", "laser", "siren", "tweet", "chirp", "sub", "sub bass", "sine", "swoosh", "whoosh", "woosh", "chime",
               "whistle"}
# words that modify the rate of a modulation named next to them
RATE_WORDS = {"slow": SLOW_RATE, "slowly": SLOW_RATE, "lazy": SLOW_RATE, "lazily": SLOW_RATE, "fast": FAST_RATE, "quick": FAST_RATE,
              "rapid": FAST_RATE}
MODULATION_WORDS = {"tremolo", "wobble", "wobbling", "wobbly", "wobbles", "pulsing", "pulse", "pulses", "pulsating", "pulsates", "throbbing",
                    "throb", "throbs", "vibrato", "flutter", "fluttering", "chop", "chopping", "choppy", "stutter", "stuttering"}
NEGATORS = {"no", "not", "without", "non", "never", "less", "nothing", "dont", "doesnt", "didnt", "cant", "wont", "shouldnt", "isnt", "wasnt"}
# a negated modulation/noise word asks for its absence
# "no wobble" / "no vibrato": under one noticeable step of it (library.descriptors' compare steps: 1 dB, 5 cents). The
# reference's 20th percentile (1.6 dB) and a pitch range under 0.35 semitone left a wobble or a +-13-cent vibrato in place.
# The bound is the step itself, so no further step of slack: with it, a 1.3 dB pulse left in "remove the pulsing" counted as met
STEADY_LEVEL = value("amplitude movement", "am_depth_db", "le", 1.0, tolerance=0.0)
NO_VIBRATO = value("vibrato", "vibrato_depth_cents", "le", 5.0, tolerance=0.0)
NEGATED: dict[str, tuple[Need, ...]] = {
    "vibrato": (STEADY, NO_VIBRATO), "noise": (TONAL,), "noisy": (TONAL,), "hiss": (TONAL,), "breath": (TONAL,), "hissing": (TONAL,),
    "breathy": (TONAL,), "hissy": (TONAL,), "airy": (TONAL,), "grainy": (TONAL,), "gritty": (TONAL,), "static": (TONAL,),
    **{w: (STEADY_LEVEL,) for w in ("wobble", "tremolo", "pulsing", "pulse", "wobbling", "wobbly", "throb", "throbbing", "flutter", "fluttering")},
}
# Words that only name the category (no measurable demand), listed so they are not sent to the crowd's
# brightness lookup: "a sound", "a tone".
NEUTRAL = {"a", "an", "the", "sound", "tone", "note", "synth", "like", "with", "and", "of", "at", "in", "on", "that", "very", "bit", "little", "slightly", "quite", "over", "one", "second", "seconds"}
# Brightness-like words with no role above: looked up in the crowd's EQ curves (direction and strength
# from the curve's tilt). Kept to words about timbre: the crowd also rated "quiet" and "punchy" as EQ
# words, and their curves are not what a synth prompt means by them.
BRIGHTNESS_WORDS = {
    "warm", "crisp", "mellow", "muffled", "dull", "sharp", "shrill", "tinny", "smooth", "velvety", "round", "rounded",
    "brilliant", "sparkly", "sparkling", "glassy", "metallic", "buzzy", "hollow", "muddy", "fat", "piercing", "dark",
    "bright", "heavy", "light", "cold", "harsh", "thick",
}

# Sentence frames said in many ways, rewritten to the one form the tables above read (regex, replacement), in order.
# "remove the vibrato" and "lower the noise" are removals (a "no"), not a vibrato asked for or a lower note; "make the
# attack slower" is "slower attack"; "more top end" is "brighter".
_REMOVE = (r"(?:remove|removing|kill|lose|scrap|ditch|undo|stop|eliminate|delete|disable|(?:switch|turn)\s+off|strip(?:\s+out)?|cut(?:\s+out|\s+back(?:\s+on)?|\s+down(?:\s+on)?)?|reduce|lower|drop|take\s+out|take\s+away|"
           r"get\s+rid\s+of|turn\s+down|tone\s+down|dial\s+(?:back|down)|pull\s+back|back\s+off|tame)")
_OF = r"(?:\s+(?:the|some|that|all|any|all\s+the|a\s+bit\s+of(?:\s+the)?|a\s+little\s+of(?:\s+the)?|some\s+of\s+the))?"
_REMOVABLE = (r"(noise|hiss|hissing|breath|vibrato|wobble|tremolo|pulsing|pulse|wobbling|flutter|static|fizz|rattle|crackle|grit|"
              r"noisy(?=\s+(?:part|bit|side|layer|component)))")
_DEGREE = r"(?:\s+(?:a\s+(?:bit|little|lot|touch|tad)|much|way|slightly|even))?"
_GRIME = (r"(noise|hiss|hissing|breath|breathiness|air|airiness|fizz|fizziness|grit|grittiness|crackle|crackling|crunch|static|dirt|fuzz|rattle|"
          r"vibrato|wobble|tremolo|pulsing|pulse|wobbling|flutter)")
_HEDGE_R = (r"(?:(?:a\s+(?:little|bit|tad|touch)(?:\s+bit)?|kind\s+of|sort\s+of|kinda|sorta|bit|little|really|very|quite|pretty|rather|way|much|"
            r"so|just|still|now|a\s+lot)\s+)*")


def _negated_before(m: re.Match, group: int | str = 0, reach: int = 3) -> bool:
    """A negator among the ``reach`` words before the match or its group ("it shouldn't fade out", "don't let it fade away")."""
    before = re.findall(r"[a-z']+", m.string[: m.start(group)])[-reach:]
    return any(w in NEGATORS or w.endswith("n't") for w in before)


# "less air", "no airiness": less noise (also after the complaints, which turn "too much air" into "less air")
AIR_IS_NOISE: tuple[str, Any] = (r"\b(less|no)\s+air(?:iness)?\b(?!\s+(?:noise|hiss))", r"\1 noise")
REWRITES: tuple[tuple[str, Any], ...] = (
    # other names of the modulations, first, so every rule below reads them: a wobble of the pitch is a vibrato ("a human
    # wobble in pitch", "pitch wobble"), and so are a warble, a trill, tape's wow and flutter and a "vib"; a wub is a
    # level wobble, a leslie (a rotary speaker) a tremolo
    (r"\b(?:wobble|wobbles|wobbling|waver|wavering|warble|warbling|wobbliness|flutter|fluttering)\s+(?:in|of|on)\s+(?:the\s+|its\s+)?pitch\b", "vibrato"),
    (r"\bpitch\s+(?:wobble|wobbles|wobbling|waver|wavering|warble|warbling|flutter|fluttering)\b", "vibrato"),
    (r"\b(?:warble|warbles|warbling|warbly|trill|trills|trilling|vib|wow\s+and\s+flutter)\b", "vibrato"),
    (r"\btrem\b", "tremolo"),  # "no trem at all" (held_out_18)
    # a modulation's adjective before its noun is no second modulation: "a slow wobbly warble in the pitch" is one vibrato
    (r"\b(?:wobbly|shaky|wavy|wavery|quivery|pulsing|throbbing)\s+(?=(?:vibrato|tremolo)\b)", ""),
    (r"\bwub(?:s|bing|by)?\b", "wobble"),
    (r"\b(?:leslie(?:\s+(?:speaker|effect|sim))?|rotary\s+(?:speaker|effect|sim))\b", "tremolo"),
    # "don't want it so bright", "the sound is too much long": the complaint forms below read them; "to dull" is "too dull"
    (r"\b(?:don'?t|do\s+not)\s+(?:want|like|make)\s+(?:it|this|that)\s+(?:so|that|as)\s+", "too "),
    (r"\btoo\s+much\s+(?=(?:long|short|bright|dark|loud|quiet|soft|fast|slow)\b)", "too "),
    (r"\b(is|are|'s|sounds|and|way|bit|little)\s+to\s+(?=(?:short|long|dull|bright|dark|harsh|noisy|thin|muddy|quiet|loud|soft|sharp|slow|fast)\b)",
     r"\1 too "),
    (r"\bwoofy\b", "boomy"),
    # "make the attack twice as fast": the attack's comparative (a modulation's factor is read in parse: "twice as slow")
    (r"\b(attack|onset|fade[- ]?in)\b((?:(?!\b(?:and|but|with)\b)[^.;!?,]){0,20}?)\b(?:twice|two\s+times|2x)\s+as\s+(fast|quick|slow)\b",
     lambda m: f"{m.group(1)}{m.group(2)}{'slower' if m.group(3) == 'slow' else 'faster'}"),
    # "less grit and hiss", "no crackle or vibrato": the "less" / "no" goes with each noise or movement named ("no vibrato and
    # a slow attack" keeps its attack)
    (r"\b(less|no)\s+" + _GRIME + r"\s+(?:and|or|nor|&)\s+" + _GRIME + r"\b", r"\1 \2 and \1 \3"),
    # "less of that hiss", "less breath noise", "less breathiness": less noise ("less" negates the word after it)
    (r"\bless\s+of\s+(?:that|the|this|all\s+(?:that|the))\s+", "less "),
    (r"\b(less|no)\s+(?:fizz|fizziness|grit|grittiness|crackle|crackling|crunch|static|dirt|fuzz|rattle)\b", r"\1 noise"),
    # the note's height said as more of it: "more low please, one octave", "one octave more high" (not "more low end")
    (r"\bmore\s+(low|high)\b(?!\s*(?:-\s*)?(?:end|ends|frequency|frequencies|freqs?|mids?|lows|highs|pass|shelf|cut|boost|harmonics|energy|notes?\s+in))",
     lambda m: "lower" if m.group(1) == "low" else "higher"),
    # a comparative said with "more", as learners of English say it: "can you make it more long?", "more bright"
    (r"\bmore\s+(long|short|bright|dark|slow|fast|clean|warm|deep)\b(?!\s*(?:-\s*)?(?:end|ends|notes?)\b)",
     lambda m: {"long": "longer", "short": "shorter", "bright": "brighter", "dark": "darker", "slow": "slower", "fast": "faster", "clean": "cleaner",
                "warm": "warmer", "deep": "deeper"}[m.group(1)]),
    # musicians' pitch verbs with a size: "flatten it by a semitone" (a lower pitch), "sharpen it by a quarter tone"
    (r"\bflatten\s+(?:it|this|that|the\s+(?:pitch|note|tuning))?\s*by\b", "down by"),
    (r"\bsharpen\s+(?:it|this|that|the\s+(?:pitch|note|tuning))?\s*by\b", "up by"),
    # the length said as the sound stopping too soon or as more of it: "it cuts off too quick", "give it more length"
    (r"\b(?:cuts?|stops?|ends?|dies?|finish(?:es)?)\s+(?:off\s+|out\s+|away\s+)?(?:way\s+|much\s+|a\s+bit\s+|kind\s+of\s+|kinda\s+)?t(?:oo|o)\s+"
     r"(?:quick|quickly|soon|early|fast|abruptly|suddenly)\b", "longer"),
    (r"\b(?:more|extra)\s+length\b", "longer"),
    (r"\blet\s+(?:it|the\s+(?:note|notes|sound))\s+(?:hang|linger|hold|sustain|ring|sing|keep\s+(?:going|ringing|sounding|sustaining))"
     r"(?:\s+(?:on|around|there|out))?\b(?!\s+(?:for|less))", "longer"),
    (r"\bstretch\s+(?:it|this|that|the\s+(?:sound|note|notes|tail|decay|release))(?:\s+out)?\b", "longer"),
    (r"\bmore\s+ring(?:ing)?\b(?!\s*-?\s*mod)", "longer"),
    (r"\b(?:choke|gate|mute|damp|dampen|stop|cut|end|kill|clip)\s+(?:it|this|that|them|the\s+(?:sound|note|notes|tail|ring|decay|release))\s+"
     r"(?:off\s+)?(?:earlier|sooner|shorter|tighter|quicker)\b", lambda m: " " if _negated_before(m, reach=5) else "shorter"),
    (r"\b(?:finish|finishes|end|ends|stop|stops)\s+(?:more\s+early|(?:a\s+bit\s+|much\s+|way\s+)?(?:earlier|sooner))\b",
     lambda m: " " if _negated_before(m, reach=5) else "shorter"),
    # a bare count after a transposing verb is semitones, as a DAW's transpose reads it: "take it down 12", "pitch it up 7"
    (r"\b((?:take|bring|drop|shift|transpose|pitch|move|knock|tune)\s+(?:it|this|that|the\s+(?:pitch|note|sound))?\s*(?:up|down))\s+(\d{1,2})\b"
     r"(?!\s*(?:db|%|hz|khz|ms|s\b|sec|percent|cents?|semitones?|octaves?|steps?|notes?|half|whole))", r"\1 \2 semitones"),
    # a bare count after a bare direction, as a clause of its own: "up 12", "ok, down 7 then"
    (r"(^|[,.;!?]\s*|\b(?:now|then|and|go|just|maybe|ok|okay)\s+)(up|down)\s+(\d{1,2})\b"
     r"(?!\s*(?:db\b|decibels?|%|hz|hertz|khz|ms\b|milli|s\b|secs?\b|seconds?|minutes?|percent|cents?|semitones?|semis?|octaves?|steps?|notes?|"
     r"half|whole|times|bpm|x\b))", r"\1\2 \3 semitones"),
    (r"\bless\s+length\b", "shorter"),
    (r"\b(?:half\s+as\s+long|half\s+the\s+(?:length|duration)|halve\s+(?:the\s+|its\s+)?(?:length|duration|tail|decay|release|ring))\b(?!\s+(?:rate|speed|slope))", "shorter"),
    (r"\b(?:twice\s+as\s+long|double\s+(?:the\s+|its\s+)?(?:length|duration|tail|decay|release|ring))\b(?!\s+(?:rate|speed|slope))", "longer"),
    # "it dies away quicker than it should" complains of it: longer
    (r"\b(?:die|dies|dying|fade|fades|fading|tail|tails|trail|trails|peter|taper|tapers)\s+(?:away|out|off)?\s*(?:a\s+bit\s+|much\s+|way\s+)?"
     r"(?:quicker|faster|sooner|more\s+quickly)\s+than\s+(?:it\s+should|i\s+(?:want|like|wanted|would\s+like)|i'?d\s+(?:like|want)|expected|before)\b", "longer"),
    (r"\b(?:die|dies|dying|fade|fades|fading|tail|tails|trail|trails|peter|taper|tapers)\s+(?:away|out|off)?\s*(?:a\s+bit\s+|much\s+|way\s+)?"
     r"(?:quicker|faster|sooner|more\s+quickly)\b", lambda m: " " if _negated_before(m) else "shorter"),
    # the depth of a modulation named before it, not the register: "an amplitude LFO at 2 Hz, fairly deep"
    (r"\b(tremolo|wobble|vibrato|pulsing|pulse)\b((?:(?!\b(?:and|over|with|but|plus|just)\b)[^.;!?]){0,60}?)\bdeeper\b"
     r"(?!\s+(?:in\s+)?(?:pitch|note|register|octave|voice|tone))", r"\1\2 more \1"),
    (r"\b(lfo|tremolo|wobble|vibrato|pulsing|pulse|modulation)\b((?:(?!\b(?:and|over|with|but|plus|just)\b)[^.;!?]){0,60}?)\s*,?\s*"
     r"(?:fairly|quite|very|really|pretty|nice\s+and)?\s*\bdeep\b(?=\s*(?:$|[.;!?,]))", r"\1\2"),
    (r"\b(less|no)\s+(?:breath|air|background|white)\s+(?:noise|hiss)\b", r"\1 noise"),
    (r"\b(less|no)\s+(?:breathiness|airiness|noisiness)\b", r"\1 noise"),
    (r"\b(?:turn|tone|dial|bring|take|switch)\s+(?:the|that)\s+" + _REMOVABLE + r"\s+(?:down|back|out|off)\b", r"no \1"),
    (r"\bzero\s+" + _REMOVABLE + r"\b", r"no \1"),
    # a removal said of a pronoun after the thing: "the vibrato is making me seasick, take it out"
    (r"\b(?<!more\s)(?<!some\s)(?<!add\s)(?<!a\s)" + _REMOVABLE + r"\b([^.;!?]{0,60}?)\b(?P<verb>(?:take|get|rip|pull|cut)\s+it\s+out|(?:remove|kill|lose|ditch|scrap|stop|drop)\s+it)\b"
     r"(?=\s*(?:$|[.,;!?]|completely|entirely|altogether|please|pls|now|for\s+good|tbh))",
     lambda m: m.group(0) if _negated_before(m, "verb") else f"that{m.group(2)} no {m.group(1)}"),
    # a steady pitch or level asks for no vibrato or wobble: "give me stable pitch", "hold it at one level"
    (r"\b(?:stable|steady|constant|fixed|dead\s+straight|straight|rock[\s-]solid)\s+pitch\b"
     r"(?!\s+(?:drop|drops|rise|rises|sweep|sweeps|glide|glides|bend|bends|fall|falls|dive|dives|slide|slides|ramp|ramps|up|down))", "no vibrato"),
    (r"\b(?:hold|keep)\s+(?:it|the\s+(?:volume|level))\s+(?:at\s+)?(?:one|a\s+single|a\s+constant|a\s+steady|an\s+even)\s+(?:level|volume)\b",
     "no wobble"),
    (r"\b(?:steady|constant|even|stable)\s+(?:volume|level|loudness)\b", "no wobble"),
    (r"\b" + _REMOVE + _OF + r"\s+" + _REMOVABLE + r"\b", lambda m: " " if _negated_before(m) else f"no {m.group(1)}"),  # "don't remove the vibrato": nothing asked
    (r"\bno\s+(?:static|fizz|rattle|crackle|grit)\b", "no noise"),
    # verbs of change with an object and a particle: "clean it up", "warm it up", "mellow it out", "take the edge off"
    (r"\bclean\s+(?:it|this|that|the\s+sound)\s+up\b", "cleaner"),
    (r"\bwarm\s+(?:it|this|that|the\s+sound|things)\s+up\b", "warmer"),
    (r"\bmellow\s+(?:it|this|that|the\s+sound|things)\s+out\b", "mellower"),
    (r"\btake\s+(?:some\s+of\s+|a\s+bit\s+of\s+|a\s+little\s+of\s+)?the\s+edge\s+off(?:\s+(?:of\s+)?(?:it|this|that))?\b", "darker"),
    # "add some air (to it)", "give it more breath": airier, breathier
    (r"\b(?:add|give\s+it|put|with)\s+(?:some\s+|a\s+bit\s+(?:of\s+|more\s+)?|a\s+little\s+(?:bit\s+(?:of\s+)?|more\s+)?|a\s+touch\s+(?:of\s+|more\s+)?|more\s+)*"
     r"air\b(?:\s+(?:to|in|into|on)\s+(?:it|this|that|the\s+sound))?", "airier"),
    (r"\b(?:add|give\s+it|put)\s+(?:some\s+|a\s+bit\s+(?:of\s+|more\s+)?|a\s+little\s+(?:bit\s+(?:of\s+)?|more\s+)?|a\s+touch\s+(?:of\s+|more\s+)?|more\s+)*"
     r"breath\b(?:\s+(?:to|in|into|on)\s+(?:it|this|that|the\s+sound))?", "breathier"),
    (r"\bmore\s+air\b", "airier"),
    # an unsized transposition: "drop it down a bit", "bring it up a little", "drop it a touch" (a sized one, "drop it down a fifth",
    # is read by models.brief.intervals and left as it is)
    # and an intensified one: "pitch it way up", "take it down a lot" (much higher, much lower)
    (r"\b(?:drop|bring|take|move|shift|pitch|tune|knock)\s+(?:it|this|that|the\s+(?:pitch|note))(?:\s+(way\s+|much\s+|far\s+|a\s+lot\s+)?(down|up))?"
     r"(?=\s+(?:a\s+(?:bit|little|touch|tad|hair|lot|ton)|slightly|some|lots|loads|please|pls|plz|then|too|also|(?:and|but)(?!\s+(?:up|down)\b))\b"
     r"|\s*(?:[,.;!?]|$))",
     lambda m: ("much " if m.group(1) else "") + ("higher" if m.group(2) == "up" else "lower")),
    (r"\b(raise|lift|lower)\s+(?:it|this|that)(?=\s+(?:a\s+(?:bit|little|touch|tad|hair|lot|ton)|slightly|some|lots|loads)\b|\s*(?:[,.;!?]|$))",
     lambda m: "lower" if m.group(1) == "lower" else "higher"),  # "raise it a little"
    (r"\bopen\s+(?:it|this|that|the\s+sound)\s+up\b", "brighter"),
    (r"\bopen\s+up\s+the\s+(?:top(?:\s+end)?|highs|high\s+end|treble)\b|\bopen\s+the\s+(?:top(?:\s+end)?|highs|high\s+end|treble)\s+up\b", "brighter"),
    (r"\b(?:soften|tame|smooth(?:\s+out)?|round\s+off|dull)\s+(?:the\s+|those\s+|that\s+)?(?:highs|top\s+end|high\s+end|treble|top(?!\s+(?:note|notes|of|octave|voice|line|layer)))\b", "darker"),
    # "make it start more soft", "have it come in gently": the onset, not the tone
    (r"\b(?:start|starts|begin|begins|come\s+in|comes\s+in)\s+(?:a\s+(?:bit|little)\s+)?(?:more\s+)?(?:soft|softly|softer|gently|gentler|gradually|smoother|smoothly|slower|slowly)\b",
     "slower attack"),
    (r"\b(?:start|starts|begin|begins|come\s+in|comes\s+in)\s+(?:a\s+(?:bit|little)\s+)?(?:more\s+)?(?:hard|harder|sharper|sharply|snappier|quicker|faster|punchier|abruptly)\b",
     "faster attack"),
    # a DAW's signed transpose said bare: "+12 pls", "-12, darker" (not "-12 dB", "+3 cents")
    (r"(^|[,.;!?]\s*|\b(?:now|then|and|just|ok|okay)\s+)([+-]|minus\s+|plus\s+)(\d{1,2})\b(?!\s*(?:db\b|decibels?|%|hz|khz|ms\b|s\b|secs?\b|seconds?|cents?|lufs|percent|semitones?|semis?|st\b|octaves?|x\b))",
     lambda m: f"{m.group(1)}{'-' if m.group(2).strip() in ('-', 'minus') else '+'}{m.group(3)} semitones"),
    # "let the note hold instead of dying off right away": the opposite of what follows "instead of" is asked, not it
    (r"\binstead\s+of\s+(?:it\s+)?(?:dying|fading|decaying|dropping|trailing|petering)\s+(?:off|out|away)(?:\s+(?:right\s+away|so\s+(?:fast|quickly|soon)|"
     r"quickly|immediately|at\s+once|too\s+(?:fast|soon|quickly)))?", " "),
    # the onset named with its comparative: "way faster fade-in" (a slower one is the fade-in's own word)
    (r"\b(?:faster|quicker|shorter|snappier|sharper)\s+(?:fade[- ]?in|swell|onset)\b", "faster attack"),
    # "down an oct", "oct up": an octave
    (r"\b(an?|one|1|two|2)\s+oct\b\.?", r"\1 octave"), (r"\boct\s+(up|down|higher|lower)\b", r"octave \1"),
    # a sound from another room is a muffled, darker one
    (r"\b(?:coming\s+)?(?:from|in)\s+(?:another|the\s+next|a\s+different|the\s+other)\s+room\b|\bfrom\s+next\s+door\b", "darker"),
    # "a full second or more": one second
    (r"\ba\s+full\s+second\b", "1 second"),
    # a movement named off: "tremolo off", "vibrato off please"
    (r"\b(vibrato|tremolo|wobble|pulsing|noise|hiss)\s+off\b", r"no \1"),
    # "way less vibrato, basically none": none of it
    (r"\b(?:way\s+|much\s+|a\s+lot\s+)?less\s+(vibrato|wobble|tremolo|pulsing|noise|hiss)\b(\s*,?\s*(?:basically|almost|nearly|pretty\s+much|like|so)?\s*(?:none|nothing|zero|gone|off)\b)",
     r"no \1"),
    AIR_IS_NOISE,
    (r"\bscratch(?:y|iness)\b", "noisy"),
    # a scoop is a short rise into the note; a drop after the hit a falling pitch
    (r"\bscoop(?:s|ing)?(?:\s+up)?(?:\s+into\s+the\s+note)?(?:\s+from\s+below)?\b", "slide up"),
    (r"\b(?:so\s+(?:that\s+)?it\s+)?(?:drops?|falls?|dives?|sinks?)\s+(?:down\s+)?(?:in\s+pitch\s+)?(?:right\s+)?after\s+the\s+(?:hit|attack|start|onset|transient)\b",
     "falling pitch"),
    # a modulation said to be too fast or too slow: "the vibrato is a tad too fast, slow it down"; "vibrato, not so fast"
    (r"\b(vibrato|tremolo|wobble|pulsing|pulse)\b((?:(?!\b(?:but|and)\b)[^.;!?]){0,25}?)\b(?:is|'s|feels|seems)\s+" + _HEDGE_R + r"too\s+(fast|quick|slow)\b(?:\s*,?\s*(?:slow|speed)\s+it\s+(?:down|up))?",
     lambda m: f"{'slower' if m.group(3) in ('fast', 'quick') else 'faster'} {m.group(1)}"),
    (r"\b(vibrato|tremolo|wobble)\b([^.;!?]{0,25}?),?\s+not\s+(?:so|too|that)\s+(fast|quick|slow)\b",
     lambda m: f"{m.group(1)}{m.group(2)}, {'slower' if m.group(3) in ('fast', 'quick') else 'faster'} {m.group(1)}"),
    # "quick fast vibrato": one rate
    (r"\b(?:quick|fast|rapid)\s+(?=(?:fast|quick|rapid)\s+(?:vibrato|tremolo|wobble))", ""),
    # the brightness named and turned: "bring the brightness back up"
    (r"\b(?:bring|turn|put)\s+(?:the\s+)?(?:brightness|top\s+end|highs|treble|sparkle)\s+(?:back\s+)?up\b", "brighter"),
    (r"\b(?:bring|turn|put)\s+(?:the\s+)?(?:brightness|top\s+end|highs|treble)\s+(?:back\s+)?down\b", "darker"),
    (r"\bthe\s+[a-z]+\s+(?:thing|effect|bit|part)\s+(?:was|is)\s+" + _HEDGE_R + r"too\s+(?:much|far)\b", " "),  # "the underwater thing was too much": said of the last step
    (r"\b(?:under\s*water|submerged)\b", "darker"),
    (r"\bmore\s+(?:open|glassy|shimmery|sparkly|crystalline)\b(?:\s+sounding)?", "brighter"),
    # "fade it up over a few seconds": a fade-in (a level rising), not a fade
    (r"\bfade\s+(?:it|this|that|the\s+sound|the\s+note)\s+up\b", "fade in"),
    (r"\bcut\s+(?:it|this|that|the\s+sound)\s+(?:down|back)\b", "shorter"),
    (r"\b(?:hit|hits|start|starts|come\s+in|kick\s+in|speak)\s+(?:right\s+away|immediately|instantly|at\s+once|straight\s+away)\b", "faster attack"),
    (r"\bfull\s+(?=(?:octave|step|tone|semitone|fifth|fourth|third)s?\b)", ""),  # "a full octave down": an octave, not 'full'
    (r"\bpunchier\s+(?:start|onset|attack|front)\b", "faster attack"),
    # the attack's other names: "a softer start", "a gentler onset"
    (r"\b(softer|gentler|slower|faster|quicker|sharper|snappier|harder|smoother)\s+(?:start|onset|beginning|entry|entrance)\b", r"\1 attack"),
    (r"\b(?:make\s+)?(?:the\s+)?(?:start|onset|beginning)" + _DEGREE + r"\s+(slower|softer|gentler|faster|quicker|sharper|snappier|harder)\b", r"\1 attack"),
    (r"\b(?:make\s+)?(?:the\s+)?attack" + _DEGREE + r"\s+(slower|longer|softer|gentler|faster|quicker|shorter|sharper|snappier|harder)\b", r"\1 attack"),
    (r"\b(?:make\s+)?(?:the\s+)?(?:decay|tail|release)" + _DEGREE + r"\s+(?:longer|slower)\b", "longer"),
    (r"\b(?:make\s+)?(?:the\s+)?(?:decay|tail|release)" + _DEGREE + r"\s+shorter\b", "shorter"),
    (r"\b(?:make\s+)?(?:the\s+)?(?:decay|tail|release)" + _DEGREE + r"\s+(?:faster|quicker)\b", "faster decay"),
    (r"\b(?:more|add(?:\s+some)?|boost(?:\s+the)?|extra)\s+(?:top\s+end|high\s+end|highs|treble|brightness|brilliance|sparkle|shine|bite|"
     r"(?:high|upper)[\s-]+(?:frequencies|frequency|freqs?|harmonics))\b", "brighter"),
    (r"\b(?:less|cut(?:\s+the)?|roll\s+off(?:\s+the)?|reduce(?:\s+the)?|tame(?:\s+the)?|take\s+(?:some\s+)?(?:of\s+the\s+)?)\s*(?:top\s+end|high\s+end|highs|treble|brightness|brilliance|sparkle|bite|"
     r"(?:high|upper)[\s-]+(?:frequencies|frequency|freqs?|harmonics))(?:\s+off)?\b", "darker"),
    # a buzz, teeth and edge are the top of a tone's spectrum: "more buzz, give it some teeth"; less of them or of its sizzle (more
    # sizzle is the phrase's: noisier and brighter) is darker: "less sizzle, more body"
    (r"\b(?:more|add(?:\s+some)?|extra|give\s+it\s+(?:some\s+|more\s+)?)\s*(?:a\s+(?:bit|little)\s+(?:of\s+|more\s+)?)?(?:buzz|teeth|edge|presence)\b", "brighter"),
    (r"\b(?:buzzier|edgier|more\s+(?:buzzy|edgy))\b", "brighter"),
    (r"\b(?:less|cut(?:\s+the)?|reduce(?:\s+the)?|tame(?:\s+the)?|take\s+(?:away\s+)?(?:some\s+(?:of\s+)?)?the)\s+(?:buzz|edge|sizzle)\b(?!\s+off)", "darker"),
    (r"\b(?:more|add(?:\s+some)?|give\s+it\s+(?:some\s+|more\s+)?)\s*body\b", "darker"),
    (r"\b(?:more|add(?:\s+some)?|boost(?:\s+the)?)\s+(?:low\s+end|lows|bottom\s+end|warmth|bass(?!\s+(?:note|notes|line|sound|register)))\b", "darker"),
    (r"\b(?:less|cut(?:\s+the)?|reduce(?:\s+the)?|tame(?:\s+the)?)\s+(?:low\s+end|lows|bottom\s+end|bass(?!\s+(?:note|notes|line|sound|register)))\b", "brighter"),
    (r"\bmore\s+sustain\b", "longer"), (r"\bless\s+sustain\b", "shorter"),
    (r"\bmore\s+(?:[a-z]+\s+)?up\s+top\b", "brighter"),
    # verbs: "soften the attack", "speed up the attack", "brighten it up", "lengthen the release"
    # ("slow" and "smooth" are adjectives too: "a slow attack" stays as it is; only "slow down (the) attack" / "slow the attack")
    (r"\b(?:(?:soften|lengthen|ease)\s+(?:the\s+|its\s+)?|(?:slow|smooth)\s+(?:down\s+|out\s+)?(?:the|its)\s+|(?:slow\s+down|smooth\s+out)\s+)attack\b",
     "slower attack"),
    (r"\b(?:sharpen|speed\s+up|shorten|tighten|quicken|harden)\s+(?:the\s+|its\s+)?attack\b", "faster attack"),
    (r"\bbrighten(?:\s+(?:it|the\s+sound|things))?(?:\s+up)?\b", "brighter"), (r"\bdarken(?:\s+(?:it|the\s+sound|things))?\b", "darker"),
    (r"\bdull\s+(?:it|the\s+sound)(?:\s+down)?\b", "duller"),
    (r"\blengthen\b(?:\s+(?:it|the\s+(?:sound|note|tail|decay|release)))?", "longer"),
    (r"\bshorten\b(?:\s+(?:it|the\s+(?:sound|note|tail|decay|release)))?", "shorter"),
    # the fade-in's speed said of it: "fade in quicker", "make it fade in even slower", "lose the fade in"
    (r"\b(?:swell|swells|bloom|blooms|creep|creeps|ease|eases)\s+(?:it\s+)?in(?=\s+(?:even\s+|a\s+bit\s+|much\s+|way\s+|a\s+lot\s+)?(?:quicker|faster|sooner|slower|more|longer))", "fade in"),
    (r"\b(?:fade|fades|fading)[- ]?in\s+(?:even\s+|a\s+bit\s+|much\s+|way\s+|a\s+lot\s+)?(?:quicker|faster|sooner|more\s+quickly)\b", "faster attack"),
    (r"\b(?:fade|fades|fading)[- ]?in\s+(?:even\s+|a\s+bit\s+|much\s+|way\s+|a\s+lot\s+)?(?:slower|more\s+slowly|longer|more\s+gradually|more\s+gently)\b",
     "slower attack"),
    (r"\b" + _REMOVE + r"\s+(?:the\s+|that\s+)?fade[- ]?in\b", "faster attack"),
    (r"\b(?:ease|eases|easing|fade|fades|creep|creeps|bloom|blooms|swell|swells)\s+(?:it\s+|the\s+(?:note|notes|sound)\s+)?in\b"
     r"(?!\s+(?:the\s+)?(?:level|volume|loudness|amplitude))", "fade in"),
    # a fade named at the front is the onset: "put a fade on the front" (one the user does not want is no ask: a snappier
    # onset, when asked, is said beside it)
    (r"\bfade\s+(?:at|on)\s+the\s+(?:very\s+)?(?:front|start|beginning)(?:\s+(?:that\s+)?i\s+(?:don'?t|do\s+not)\s+(?:want|like|need))?",
     lambda m: " " if "want" in m.group(0) or "like" in m.group(0) or "need" in m.group(0) else "fade in"),
    (r"\b(?:takes|is\s+taking|took)\s+(?:forever|ages|too\s+long|so\s+long|way\s+too\s+long)\s+to\s+(?:arrive|build|swell|bloom|speak)\b", "faster attack"),
    (r"\b(?:make|let)\s+it\s+snap\b", "snappier"),
    (r"\btakes?\s+(?:a\s+bit\s+|much\s+|a\s+lot\s+)?longer\s+to\s+(?:come|kick|fade|swell|get)\s+in\b", "slower attack"),
    (r"\b(?:arrives|arriving|hits|comes\s+in|starts|kicks\s+in)\s+(?:way\s+|much\s+|a\s+bit\s+)?t(?:oo|o)\s+(?:fast|quick|quickly|soon|suddenly|abruptly|hard)\b",
     "slower attack"),
    # the onset said as coming in: "make the bow come in slower", "it takes forever to come in", "let it come in gently"
    (r"\b(?:takes|is\s+taking|took)\s+(?:forever|ages|too\s+long|so\s+long|way\s+too\s+long)\s+to\s+(?:come|kick|get|fade)\s+in\b", "faster attack"),
    (r"\b(?:come|comes|coming|kick|kicks)\s+in\s+(?:more\s+)?(?:slower|slowly|gently|gentler|softer|softly|gradually|more\s+gradually|later)\b", "slower attack"),
    (r"\b(?:come|comes|coming|kick|kicks)\s+in\s+(?:more\s+)?(?:faster|quicker|quickly|sooner|harder|sharper)\b", "faster attack"),
    (r"\b(?:round|rounds|rounding|soften|softens|smooth|smooths)\s+(?:off|out)?\s*(?:the\s+|its\s+)?(?:front|start|onset|beginning|edge\s+of\s+the\s+start)(?:\s+of\s+(?:it|this|that|the\s+sound))?\b",
     "slower attack"),
    # a synth's filter: "open up the filter", "close the filter down"
    (r"\bopen(?:\s+up)?\s+(?:the\s+)?filter(?:\s+up)?\b", "brighter"),
    (r"\bclose(?:\s+down)?\s+(?:the\s+)?filter(?:\s+down)?\b", "darker"),
    (r"\bmuffle\s+(?:it|this|that|the\s+sound)\b", "darker"),
    (r"\broll\s+(?:the\s+)?(?:treble|highs|top(?:\s+end)?|high\s+end)\s+(?:back|off|down)\b", "darker"),
    (r"\bfilter\s+out\s+(?:the\s+|some\s+(?:of\s+the\s+)?)?(?:high|top|upper)\s+(?:fizz|hiss|end|frequencies|harmonics|sizzle|edge)\b", "darker"),
    # the onset said as the fade-in or the way to full volume: "the fade-in takes forever", "get to full volume sooner"
    (r"\b(?:the\s+)?fade[- ]?in\s+(?:takes|is\s+taking|took)\s+(?:forever|ages|too\s+long|so\s+long|way\s+too\s+long)\b", "faster attack"),
    (r"\b(?:get|gets|reach|reaches|come|comes|be|is)\s+(?:up\s+)?(?:to|at)\s+full\s+(?:volume|level|loudness)\s+(?:sooner|faster|quicker|quickly|right\s+away|immediately)\b",
     "faster attack"),
    (r"\bfull\s+(volume|level|loudness)\b", r"\1"),  # the level, not 'full' (a brightness word)
    (r"\b(sharper|snappier|harder|punchier|tighter|crisper)\s+transients?\b", "faster attack"),
    (r"\b(softer|gentler|smoother|rounder)\s+transients?\b", "slower attack"),
    # the level falling: "I'd rather it faded out", "let it fade away"; "it fades out too quickly" asks for longer, and
    # a negated fade ("it shouldn't fade out", "don't let it fade away", "no fade out") is dropped (read, it asked for more
    # fading) and one with an object ("fade out the vibrato") is left as it is
    (r"\bfade[sd]?\s+(?:out|away)\s+(?:way\s+|much\s+|far\s+)?too\s+(?:quickly|fast|soon|early)\b", "longer"),
    (r"\bfade[sd]?\s+(?:out|away)\b(?!\s+(?:the|that|this|its|those)\b)", lambda m: " " if _negated_before(m) else "fades"),
    (r"\b(?:tail|tails|die|dies|taper|tapers|peter|peters)\s+(?:off|out|away|down)\b(?!\s+(?:the|that|this|its|those)\b)",
     lambda m: " " if _negated_before(m) else "fades"),
)


# In a refinement, a complaint asks for the opposite: "it's too bright", "that's a little harsh", "way too muffled" -> "less X"
# (read as a negated word: "less bright" is a change from the start). Only quality words: "it's too late" is no complaint
# about the sound, and "not too bright" stays a description. Rate words (fast, slow, quick) are left out: "vibrato, kinda quick"
# says the vibrato's rate.
_QUALITY = (r"(bright|dark|noisy|hissy|breathy|airy|clean|harsh|shrill|piercing|thin|muddy|boomy|boxy|nasal|tinny|buzzy|dull|muffled|"
            r"warm|cold|sharp|metallic|glassy|heavy|light|short|long|sustained|wobbly|abrupt|soft|loud|quiet|"
            r"crisp|fizzy|gritty|dirty|mellow|smooth|round|hollow)")
_HEDGE = (r"(?:(?:a\s+(?:little|bit|tad|touch)(?:\s+bit)?|kind\s+of|sort\s+of|kinda|sorta|bit|little|really|very|quite|pretty|rather|way|much|far|"
          r"so|just|still|now|a\s+lot)\s+)*")
_START = r"\b(?:the\s+)?(?:start|attack|onset|beginning|front(?:\s+end)?)(?:'s|\s+is|\s+feels|\s+sounds|\s+seems)\s+"
COMPLAINTS: tuple[tuple[str, Any], ...] = (
    # a siren's wail is its pitch swinging: "slow down the wailing"
    (r"\b(the\s+|that\s+|its\s+)?wail(?:ing|s)?\b", lambda m: (m.group(1) or "") + "vibrato"),  # "no wailing": no vibrato
    # a degree, then a rate, then the modulation: the degree is of the modulation ("a gentle slow vibrato" is no gentle sound)
    (r"\b(gentle|soft|light|mild|faint)\s+(slow|fast|quick|lazy|rapid)\s+(vibrato|tremolo|wobble|pulsing|pulse|warble)\b", r"\2 \1 \3"),
    # a modulation's rate turned: "vibrato rate down a little", "turn the tremolo speed up"
    (r"\b(vibrato|tremolo|wobble|pulsing|lfo)\s+(?:rate|speed)\s+(?:a\s+(?:bit|little|touch|tad)\s+|slightly\s+)?(up|down)\b",
     lambda m: f"{'faster' if m.group(2) == 'up' else 'slower'} {m.group(1) if m.group(1) != 'lfo' else 'wobble'}"),
    # a modulation named, then "speed it up" / "slow it down": "the vibrato is kinda lazy, can you speed it up a bit"
    (r"\b(vibrato|tremolo|wobble|pulsing|pulse)\b((?:(?!\b(?:but|and)\b)[^.;!?]){0,40}?)\b(speed|slow)\s+(?:it|that|this)\s+(up|down)\b",
     lambda m: f"{m.group(1)}{m.group(2)}{'faster' if m.group(3) == 'speed' else 'slower'} {m.group(1)}" if (m.group(3), m.group(4)) in (("speed", "up"), ("slow", "down")) else m.group(0)),
    # what the start should stay, not a register asked: "get rid of the wobble, just a plain sub"
    (r"\b(?:just|only)\s+(?:a\s+|the\s+)?(plain|simple|pure|normal|regular|basic)\s+(?:sub(?:\s*bass)?|bass|808)\b", r"just a \1 sound"),
    # "it sounds too pitched": too much note, too little noise
    (r"\btoo\s+(?:pitched|tonal)\b(?!\s+(?:up|down|high|low|sharp|flat)\b)", "noisier"),
    # a refinement's "a gentle swell" is its onset, slower (a fresh prompt's "a slow swell" is the lexicon's swell)
    (r"\b(?:gentle|soft|slow|gradual)\s+(?:swell|fade[- ]?in|rise\s+in)\b", "slower attack"),
    # a noise or movement said to be too strong: "the vibrato is way too much", "the hiss is a bit too strong"
    (r"\b" + _GRIME + r"\s+is\s+" + _HEDGE + r"too\s+(?:much|strong|heavy|intense|deep|obvious|loud|prominent)\b", r"less \1"),
    # a movement said to be unwanted: "the pulsing beat in the volume is distracting", "that vibrato is cheesy" (a removal); a
    # "steady" after it is the level or pitch it leaves, not a sustain asked
    (r"\b(vibrato|wobble|wobbling|tremolo|pulsing|pulse|flutter|throb|throbbing|noise|hiss|hissing|breath|crackle|static|fizz|rattle)\b"
     r"((?:(?!\b(?:but|and|though|although|while|whereas)\b)[^.;!?,]){0,40}?)\b(?:is|are|'s|feels|sounds)\s+" + _HEDGE
     + r"(?:distracting|annoying|irritating|grating|cheesy|tacky|cheap|nauseating|unwanted|unnecessary|bothering\s+me|getting\s+on\s+my\s+nerves|"
     r"driving\s+me\s+(?:nuts|crazy|mad)|making\s+me\s+(?:seasick|dizzy|sick|nauseous))\b",
     lambda m: m.group(0) if _negated_before(m) or re.search(r"\b(?:not|n't|never)\b", m.group(2))
     or re.match(r"[^.;!?]*\b(?:slower|faster|subtler|shallower|gentler|lighter|less|softer|quieter|deeper|wider|narrower|smaller|bigger)\b", m.string[m.end():])
     else "no " + m.group(1)),  # "the tremolo is distracting, make it slower": an adjustment, not a removal
    (r"\b(?:(?:can|could)\s+(?:it|you\s+make\s+it)\s+(?:be\s+|stay\s+|sit\s+)?|make\s+it\s+|keep\s+it\s+)?(?:more\s+|dead\s+|totally\s+|completely\s+)?steady\b"
     r"(?!\s+(?:pitch|note|sustain|hold|drone))",
     lambda m: " " if re.search(r"\bno\s+(?:wobble|wobbling|tremolo|pulsing|pulse|throb|throbbing)\b", m.string) else m.group(0)),
    # the noise said to be up: "the tape noise is way up", "the hiss is too loud"
    (r"\b(noise|hiss|hissing|breath|crackle|static|fizz)\s+is\s+" + _HEDGE + r"(?:too\s+)?(?:up|high|loud)(?=\s*(?:$|[.,;!?]|now\b|please\b|pls\b|and\b|so\b))",
     r"less \1"),
    # said of the sound as it is, so only in a refinement: "quieter breath noise", "those volume swells", "the volume pumping",
    # "a bit slower on the attack" (a fresh "guitar with slow volume swells" is the guitar's swell; "a pumping techno kick" one hit)
    (r"\b(?:quieter|quiter|softer|lower)\s+(?:the\s+)?(?:(?:breath|background|white|tape)\s+)?(?:noise|hiss)\b", "less noise"),
    (r"\b(?:volume|level|amplitude|loudness)\s+swells\b", "wobble"),
    (r"\bswells\s+(?:in|of)\s+(?:the\s+)?(?:level|volume|loudness|amplitude)\b", "wobble"),
    (r"\b" + _REMOVE + r"\s+(?:the\s+|that\s+|all\s+the\s+|those\s+)?(?:volume\s+|level\s+)?(?:pumping|swells)\b",
     lambda m: " " if _negated_before(m) else "no pulsing"),
    (r"\b(volume\s+|level\s+|keeps\s+|the\s+)pumping\b", r"\1pulsing"),
    (r"\b(slower|faster|softer|gentler|quicker|sharper|snappier|harder)\s+(?:on|at)\s+the\s+(?:attack|onset|front)\b", r"\1 attack"),
    # "a longer tail on the noise": the noise named as the sound, not more of it asked
    (r"\b(tail|decay|release|attack|ring|reverb|length)\s+(?:on|of)\s+the\s+(?:noise|hiss|breath)\b", r"\1"),
    # about the attack: "the start is too lazy", "the front is a bit soft", "the onset is way too sharp"
    # a simile after a complaint about the start describes it: "the start is too abrupt, like a harsh bow stroke"
    (r"(" + _START + _HEDGE + r"(?:too\s+)?[a-z]+)\s*,?\s*like\s+(?:a|an|the|some)\s+(?:(?!\b(?:and|but|make|so|then|please|pls|though)\b)[^.;!?,])*", r"\1 "),
    (_START + _HEDGE + r"(?:too\s+)?(?:slow|lazy|soft|sluggish|gentle|mushy|weak|late|smooth)\b", "faster attack"),
    (_START + _HEDGE + r"(?:too\s+)?(?:abrupt|sharp|hard|harsh|clicky|sudden|fast|quick|snappy|clicking)\b", "slower attack"),
    (r"\b(?:goes|drags|rings|hangs|carries|lasts)\s+(?:on\s+)?(?:forever|too\s+long|and\s+on|way\s+too\s+long)\b", "shorter"),
    # a complaint said without a subject at a sentence's start: "bit dull, ...", "hmm, a little harsh"
    (r"(^|[,.;!?]\s*)(?:(?:hmm+|ugh|well|ok|okay|so|yeah)[,\s]+)?(?:a\s+)?(?:bit|little|tad|touch|kinda|sorta|rather|way|much)\s+(?:too\s+)?"
     + _QUALITY + r"\b", r"\1less \2"),
    (r"(?<!\bnot\s)\b" + _HEDGE + r"too\s+" + _QUALITY + r"\b", r"less \1"),
    # "too much hiss", "way too much wobble": less of it
    (r"(?<!\bnot\s)\b" + _HEDGE + r"too\s+much\s+(?:of\s+(?:the|that|this)\s+)?(?:[a-z]+\s+)?" + _GRIME + r"\b", r"less \1"),
    (r"\b(?:it'?s|that'?s|it\s+is|that\s+is|this\s+is|it\s+sounds|sounds|it'?s\s+getting|it\s+feels|it\s+(?:got|became|has\s+(?:got|gotten|become))"
     r"|(?:the\s+)?(?:top\s+end|high\s+end|highs|treble|low\s+end|lows)(?:'s|\s+is|\s+are|\s+sounds?|\s+feels?|\s+gets?))\s+"
     + _HEDGE + _QUALITY + r"\b(?!\s+enough\b)", r"less \1"),
    # the sound named as the subject only with a degree word: "the tone is a bit thin" (not "the tone is warm, add vibrato")
    (r"\b(?:the\s+)?(?:sound|tone|note)(?:'s|\s+is|\s+sounds|\s+feels|\s+gets)\s+" + _HEDGE[:-1] + "+" + _QUALITY
     + r"\b(?!\s+enough\b)", r"less \1"),
    # the length words are sound types in the lexicon ("short": a short sound), so their "less" is said as the comparative
    (r"\bnot\s+(?:so|as|that|this)\s+" + _QUALITY + r"\b", r"less \1"),  # a refinement's "not so long pls": less of it
    (r"\bless\s+short\b", "longer"), (r"\bless\s+(?:long|sustained)\b", "shorter"),
    AIR_IS_NOISE,  # again: "too much air" read above
)
