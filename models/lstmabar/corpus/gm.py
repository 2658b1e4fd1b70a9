"""General MIDI facts the corpus renders and captions from: the 128 programs (their GM names, plain
names for captions, families, playable ranges, whether they sustain and play chords), the named
percussion notes of channel 10 and the drum kits both soundfonts carry.

Plain names are what a person would call the instrument ("a marimba note"). GM 1 "Bright Acoustic
Piano" is called "acoustic piano": "bright" is a measured word here (library.descriptors), and a
caption must never say it of a sound the measurement calls dark. Programs GM only numbers (Slap Bass
1 and 2, Synth Bass 1 and 2, ...) share one plain name; the name-retrieval report counts them as one
instrument. Ranges are the usual written ranges of the real instruments (synth presets: a broad
middle range); they decide which pitches are rendered, not what the soundfont can play.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effect", "ethnic", "percussive", "sound effect",
)

# (GM name, plain name, low MIDI, high MIDI); the family is index // 8.
_PROGRAMS: tuple[tuple[str, str, int, int], ...] = (
    ("Acoustic Grand Piano", "grand piano", 21, 108),
    ("Bright Acoustic Piano", "acoustic piano", 21, 108),
    ("Electric Grand Piano", "electric grand piano", 28, 103),
    ("Honky-tonk Piano", "honky-tonk piano", 28, 103),
    ("Electric Piano 1", "electric piano", 28, 103),
    ("Electric Piano 2", "FM electric piano", 28, 103),
    ("Harpsichord", "harpsichord", 29, 89),
    ("Clavinet", "clavinet", 36, 96),
    ("Celesta", "celesta", 60, 108),
    ("Glockenspiel", "glockenspiel", 79, 108),
    ("Music Box", "music box", 60, 96),
    ("Vibraphone", "vibraphone", 53, 89),
    ("Marimba", "marimba", 45, 96),
    ("Xylophone", "xylophone", 65, 108),
    ("Tubular Bells", "tubular bells", 60, 77),
    ("Dulcimer", "dulcimer", 48, 84),
    ("Drawbar Organ", "drawbar organ", 36, 96),
    ("Percussive Organ", "percussive organ", 36, 96),
    ("Rock Organ", "rock organ", 36, 96),
    ("Church Organ", "church organ", 24, 96),
    ("Reed Organ", "reed organ", 36, 96),
    ("Accordion", "accordion", 53, 89),
    ("Harmonica", "harmonica", 60, 84),
    ("Tango Accordion", "bandoneon", 48, 84),
    ("Acoustic Guitar (nylon)", "nylon-string guitar", 40, 84),
    ("Acoustic Guitar (steel)", "steel-string guitar", 40, 84),
    ("Electric Guitar (jazz)", "jazz guitar", 40, 84),
    ("Electric Guitar (clean)", "electric guitar", 40, 86),
    ("Electric Guitar (muted)", "palm-muted guitar", 40, 76),
    ("Overdriven Guitar", "overdriven guitar", 40, 86),
    ("Distortion Guitar", "distorted guitar", 40, 86),
    ("Guitar Harmonics", "guitar harmonics", 52, 88),
    ("Acoustic Bass", "upright bass", 28, 60),
    ("Electric Bass (finger)", "fingered electric bass", 28, 63),
    ("Electric Bass (pick)", "picked electric bass", 28, 63),
    ("Fretless Bass", "fretless bass", 28, 63),
    ("Slap Bass 1", "slap bass", 28, 63),
    ("Slap Bass 2", "slap bass", 28, 63),
    ("Synth Bass 1", "synth bass", 24, 60),
    ("Synth Bass 2", "synth bass", 24, 60),
    ("Violin", "violin", 55, 100),
    ("Viola", "viola", 48, 88),
    ("Cello", "cello", 36, 76),
    ("Contrabass", "double bass", 28, 60),
    ("Tremolo Strings", "tremolo strings", 36, 96),
    ("Pizzicato Strings", "pizzicato strings", 36, 91),
    ("Orchestral Harp", "harp", 24, 103),
    ("Timpani", "timpani", 40, 57),
    ("String Ensemble 1", "string ensemble", 36, 96),
    ("String Ensemble 2", "slow strings", 36, 96),
    ("Synth Strings 1", "synth strings", 36, 96),
    ("Synth Strings 2", "synth strings", 36, 96),
    ("Choir Aahs", "choir", 48, 79),
    ("Voice Oohs", "ooh voices", 48, 79),
    ("Synth Voice", "synth voice", 48, 84),
    ("Orchestra Hit", "orchestra hit", 48, 72),
    ("Trumpet", "trumpet", 55, 82),
    ("Trombone", "trombone", 40, 72),
    ("Tuba", "tuba", 28, 58),
    ("Muted Trumpet", "muted trumpet", 55, 82),
    ("French Horn", "French horn", 41, 77),
    ("Brass Section", "brass section", 40, 82),
    ("Synth Brass 1", "synth brass", 36, 84),
    ("Synth Brass 2", "synth brass", 36, 84),
    ("Soprano Sax", "soprano saxophone", 56, 88),
    ("Alto Sax", "alto saxophone", 49, 81),
    ("Tenor Sax", "tenor saxophone", 44, 76),
    ("Baritone Sax", "baritone saxophone", 36, 69),
    ("Oboe", "oboe", 58, 91),
    ("English Horn", "English horn", 52, 81),
    ("Bassoon", "bassoon", 34, 72),
    ("Clarinet", "clarinet", 50, 91),
    ("Piccolo", "piccolo", 74, 108),
    ("Flute", "flute", 60, 96),
    ("Recorder", "recorder", 60, 96),
    ("Pan Flute", "pan flute", 60, 96),
    ("Blown Bottle", "blown bottle", 60, 84),
    ("Shakuhachi", "shakuhachi", 55, 84),
    ("Whistle", "whistle", 72, 96),
    ("Ocarina", "ocarina", 60, 84),
    ("Lead 1 (square)", "square lead", 36, 96),
    ("Lead 2 (sawtooth)", "sawtooth lead", 36, 96),
    ("Lead 3 (calliope)", "calliope lead", 36, 96),
    ("Lead 4 (chiff)", "chiff lead", 36, 96),
    ("Lead 5 (charang)", "charang lead", 36, 96),
    ("Lead 6 (voice)", "voice lead", 36, 96),
    ("Lead 7 (fifths)", "fifths lead", 36, 96),
    ("Lead 8 (bass + lead)", "bass and lead synth", 36, 96),
    ("Pad 1 (new age)", "new age pad", 36, 84),
    ("Pad 2 (warm)", "warm pad", 36, 84),
    ("Pad 3 (polysynth)", "polysynth pad", 36, 84),
    ("Pad 4 (choir)", "choir pad", 36, 84),
    ("Pad 5 (bowed)", "bowed pad", 36, 84),
    ("Pad 6 (metallic)", "metallic pad", 36, 84),
    ("Pad 7 (halo)", "halo pad", 36, 84),
    ("Pad 8 (sweep)", "sweep pad", 36, 84),
    ("FX 1 (rain)", "rain synth effect", 36, 84),
    ("FX 2 (soundtrack)", "soundtrack synth effect", 36, 84),
    ("FX 3 (crystal)", "crystal synth effect", 36, 84),
    ("FX 4 (atmosphere)", "atmosphere synth effect", 36, 84),
    ("FX 5 (brightness)", "brightness synth effect", 36, 84),
    ("FX 6 (goblins)", "goblins synth effect", 36, 84),
    ("FX 7 (echoes)", "echoes synth effect", 36, 84),
    ("FX 8 (sci-fi)", "sci-fi synth effect", 36, 84),
    ("Sitar", "sitar", 48, 77),
    ("Banjo", "banjo", 48, 84),
    ("Shamisen", "shamisen", 50, 79),
    ("Koto", "koto", 55, 90),
    ("Kalimba", "kalimba", 48, 84),
    ("Bag pipe", "bagpipes", 57, 77),
    ("Fiddle", "fiddle", 55, 96),
    ("Shanai", "shehnai", 60, 84),
    ("Tinkle Bell", "tinkle bell", 72, 96),
    ("Agogo", "agogo bells", 60, 84),
    ("Steel Drums", "steel drum", 52, 84),
    ("Woodblock", "woodblock", 60, 84),
    ("Taiko Drum", "taiko drum", 36, 60),
    ("Melodic Tom", "melodic tom", 40, 72),
    ("Synth Drum", "synth drum", 36, 72),
    ("Reverse Cymbal", "reverse cymbal", 48, 72),
    ("Guitar Fret Noise", "guitar fret noise", 48, 72),
    ("Breath Noise", "breath noise", 48, 72),
    ("Seashore", "seashore", 48, 72),
    ("Bird Tweet", "bird tweet", 60, 84),
    ("Telephone Ring", "telephone ring", 60, 72),
    ("Helicopter", "helicopter", 48, 72),
    ("Applause", "applause", 48, 72),
    ("Gunshot", "gunshot", 48, 72),
)

# Families whose notes die away by themselves (struck or plucked): their note length is not an
# articulation a listener hears, so captions say "struck"/"plucked" instead of "held"/"staccato".
_DECAYING = {0, 1, 3, 13, 14}  # by family index
_DECAYING_PROGRAMS = {45, 46, 47, 55, 104, 105, 106, 107, 108, 127}
_STRUCK = {0, 1, 14}  # families struck rather than plucked
_MONOPHONIC = {4, 7, 8, 9, 10, 14, 15}  # families that play one note at a time
_POLY_EXCEPTIONS = {61, 62, 63, 86, 87, 104, 106, 107, 108}  # brass section, synth brass, fifths, bass+lead, plucked ethnic
_MONO_EXCEPTIONS = {40, 41, 42, 43, 47, 55}  # solo strings, timpani, orchestra hit


@dataclass(frozen=True)
class Program:
    number: int  # 0-127
    gm_name: str
    name: str  # plain name for captions
    family: str
    low: int
    high: int
    unit: str  # "note", "hit" or "sound": what one render of it is called
    decaying: bool
    polyphonic: bool

    @property
    def struck(self) -> bool:
        return self.number // 8 in _STRUCK or self.number in (47, 55)


def _program(i: int) -> Program:
    gm, name, lo, hi = _PROGRAMS[i]
    fam = i // 8
    unit = "note"
    if fam in (14,) and i not in (112, 113, 114):
        unit = "hit"
    if fam in (12, 15) or i == 55:
        unit = "sound" if i != 55 else "hit"
    decaying = fam in _DECAYING or i in _DECAYING_PROGRAMS
    poly = (fam not in _MONOPHONIC or i in _POLY_EXCEPTIONS) and i not in _MONO_EXCEPTIONS
    return Program(i, gm, name, FAMILIES[fam], lo, hi, unit, decaying, poly)


PROGRAMS: tuple[Program, ...] = tuple(_program(i) for i in range(128))

# Channel-10 percussion notes (General MIDI 1 key map).
PERCUSSION: dict[int, str] = {
    35: "acoustic bass drum", 36: "bass drum", 37: "side stick", 38: "acoustic snare", 39: "hand clap",
    40: "electric snare", 41: "low floor tom", 42: "closed hi-hat", 43: "high floor tom", 44: "pedal hi-hat",
    45: "low tom", 46: "open hi-hat", 47: "low-mid tom", 48: "high-mid tom", 49: "crash cymbal",
    50: "high tom", 51: "ride cymbal", 52: "Chinese cymbal", 53: "ride bell", 54: "tambourine",
    55: "splash cymbal", 56: "cowbell", 57: "second crash cymbal", 58: "vibraslap", 59: "second ride cymbal",
    60: "high bongo", 61: "low bongo", 62: "muted high conga", 63: "open high conga", 64: "low conga",
    65: "high timbale", 66: "low timbale", 67: "high agogo", 68: "low agogo", 69: "cabasa", 70: "maracas",
    71: "short whistle", 72: "long whistle", 73: "short guiro", 74: "long guiro", 75: "claves",
    76: "high woodblock", 77: "low woodblock", 78: "muted cuica", 79: "open cuica", 80: "muted triangle",
    81: "open triangle",
}

# Drum kits (bank 128 presets) present in both FluidR3_GM and TimGM6mb, with caption names.
KITS: dict[int, str] = {0: "standard", 8: "room", 16: "power", 24: "electronic", 25: "808", 32: "jazz",
                        40: "brush", 48: "orchestral"}

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def register(midi: float) -> str:
    """Low / middle / high register of a pitch (below C3, up to B4, from C5), by the note played."""
    return "low" if midi < 48 else ("middle" if midi < 72 else "high")


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" or word.startswith(("808", "8-")) else "a"
