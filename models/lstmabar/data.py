"""Training and test data for LSTMABAR: sounds with archetype targets and captions with meaning.

Sounds (16 kHz, 1.5 s clips):
* the archetype engine (``models/synth/archetype.py``): random mixes (sparse Dirichlet weights), pitch,
  ADSR, filter; the target is the mix it was given;
* the Voice synth (``models/synth/voice.py``): random patches with pitch modulation kept mild; the
  target comes from the patch's mixer (sine VCO -> sine, square-saw VCO split by its shape -> square /
  sawtooth, noise level -> noise);
* the real recordings in ../shared/audio cut into clips; the target comes from
  ``models/synth/analysis.estimate_archetypes``.
Effects with crowd words (Audealize, ../shared/data): a share of sounds get an English Audealize EQ
word's curve (40 peaking filters, Q 4.31, gain 5 * amount * normalised curve dB, pedalboard) or a
reverb word's settings translated to pedalboard's Reverb (feedback g -> room size, low-pass f ->
damping, level E and wet -> wet level); the word then enters the caption ("..., made muffled").

Captions are built from (a) the archetype vocabulary (seed 000: sine smooth/mellow, square
harsh/digital, sawtooth bright/cutting, triangle soft/muted, noise airy/textured) widened to a timbre
lexicon of 150 words and 50 instrument/source nouns filed by acoustics (``ARCH_WORDS``, ``ARCH_NOUNS``),
(b) acoustic descriptors measured on the audio (brightness from the spectral centroid, attack time,
noisiness from spectral flatness, register from pitch, decay, modulation), (c) crowd EQ/reverb words.
Held-out words (``holdout.is_held_out``, a hash) never appear in a training caption
(``caption_is_clean`` is asserted); they make the test captions, with held-out templates.
A separate set of sounds (different seeds, the speech recording) is the test set.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..synth.archetype import ARCHETYPES, ArchetypeParams, midi_to_hz, render_archetypes
from .holdout import caption_is_clean, is_held_out

SR = 16_000
CLIP_S = 1.5
CLIP = int(SR * CLIP_S)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"

# Words per archetype: the seed's five descriptor pairs, their common synonyms, and a sound designer's
# timbre lexicon filed by acoustics (sine: one partial, no edge; square: odd harmonics, hollow/reedy;
# sawtooth: every harmonic, bright/brassy; triangle: weak odd harmonics, soft/dim; noise: no pitch,
# breath/hiss/grain). Which words are held out is decided by holdout.is_held_out (a hash), never here,
# so a word added to this list lands in training or in the test by chance, not by choice.
ARCH_WORDS: dict[str, list[str]] = {
    "sine": ["sine", "pure", "smooth", "mellow", "round", "clean", "flute-like", "gentle", "sweet",
             "velvety", "silky", "glassy", "mellifluous", "clear", "simple", "whistly", "crystalline",
             "liquid", "delicate", "dulcet", "tonal", "bell-like", "subby", "transparent", "pristine",
             "flawless", "calm", "serene", "theremin-like", "whistle-like"],
    "square": ["square", "harsh", "digital", "reedy", "chiptune", "retro", "8-bit", "hollow", "nasal",
               "clarinet-like", "tinny", "pulse", "blocky", "boxy", "honky", "robotic", "pixelated",
               "arcade", "gameboy", "bitcrushed", "lo-fi", "oboe-like", "bassoon-like", "organ-like",
               "electronic", "synthetic", "squarish", "beepy", "vintage", "chunky"],
    "sawtooth": ["sawtooth", "saw", "bright", "cutting", "brassy", "raspy", "aggressive", "sharp", "strident",
                 "buzzy", "edgy", "metallic", "kazoo-like", "rich", "fizzy", "biting", "piercing",
                 "trumpet-like", "violin-like", "string-like", "gnarly", "abrasive", "sizzling", "shrill",
                 "penetrating", "powerful", "intense", "blaring", "snarling", "brilliant"],
    "triangle": ["triangle", "soft", "muted", "warm", "subdued", "ocarina-like", "dull", "tender",
                 "woody", "muffled", "mild", "cozy", "dim", "veiled", "cushioned", "padded", "hushed",
                 "faint", "dampened", "plush", "fluffy", "cottony", "blurry", "recorder-like", "rounded",
                 "soothing", "lullaby-like", "kalimba-like", "marimba-like", "comforting"],
    "noise": ["noise", "noisy", "airy", "textured", "hissy", "windy", "static", "rushing",
              "breathy", "wispy", "shimmering", "gritty", "crackly", "grainy", "sandy", "whooshing",
              "staticky", "scratchy", "hazy", "steamy", "splashy", "rainy", "whispery", "dusty",
              "granular", "crackling", "hissing", "frothy", "rustling", "foamy"],
}
# Nouns for "like a ..." phrasings; held out by the same hash (any word of the noun).
ARCH_NOUNS: dict[str, list[str]] = {
    "sine": ["flute", "whistle", "tuning fork", "theremin", "sub bass", "test tone", "glass harmonica", "pan flute",
             "hum", "sine bass"],
    "square": ["clarinet", "game console", "chip tune", "oboe", "bassoon", "arcade machine", "pipe organ",
               "pulse lead", "retro console", "video game"],
    "sawtooth": ["kazoo", "brass section", "synth lead", "trumpet", "violin", "cello section", "trombone",
                 "supersaw", "string section", "saxophone"],
    "triangle": ["ocarina", "soft recorder", "muted pad", "kalimba", "marimba", "music box", "soft organ",
                 "lullaby", "felt piano", "wooden flute"],
    "noise": ["wind", "breath", "radio static", "rain", "ocean wave", "steam vent", "waterfall", "whisper",
              "vinyl crackle", "shaker"],
}

TRAIN_TEMPLATES = [
    "a {a} tone",
    "a {a} {b} sound",
    "{a} and {b}",
    "a {reg} {a} note",
    "{a}, {desc}",
    "a {desc} {a} sound",
    "mostly {arch} with some {arch2}",
    "a {arch} wave, {a}",
    "{a} {arch} timbre",
    "a {a} synth, {desc}",
    "{a}",
    "very {a}",
    "{a}, {b}, {desc}",
    "a {a} patch",
    "{a} in the {reg} register",
    "the timbre is {a}",
    "could you do {a}?",
    "{a} sounding, {desc}",
    "a {a} {arch}-ish voice",
    "a {noun} kind of sound",
    "{a}, reminiscent of a {noun}",
]
TEST_TEMPLATES = [  # phrasings no training caption uses
    "something that sounds {a}",
    "make it {a} please",
    "I want a {a} {reg} timbre",
    "like a {noun}",
    "give me a {a}, {b} texture",
]


def word_held_out(w: str) -> bool:
    """A word is held out when it or any hyphen/space part of it is ("kazoo-like" contains "kazoo")."""
    parts = [p for p in re.split(r"[-\s]+", w) if p]
    return is_held_out(w) or any(is_held_out(p) for p in parts)


def caption_clean_strict(caption: str) -> bool:
    """holdout.caption_is_clean, also on the parts of hyphenated tokens."""
    return caption_is_clean(caption) and caption_is_clean(re.sub(r"[-/]", " ", caption))


def words_for(arch: str, held_out: bool) -> list[str]:
    return [w for w in ARCH_WORDS[arch] if word_held_out(w) == held_out and " " not in w]


def nouns_for(arch: str, held_out: bool) -> list[str]:
    """Training gets the nouns with no held-out word; the test prefers held-out ones (else any)."""
    if held_out:
        return [n for n in ARCH_NOUNS[arch] if word_held_out(n)] or list(ARCH_NOUNS[arch])
    return [n for n in ARCH_NOUNS[arch] if not word_held_out(n)]


@dataclass
class Example:
    audio: np.ndarray  # (CLIP,) float32
    target: np.ndarray  # (5,)
    source: str
    f0: float | None
    word: str | None = None  # crowd EQ/reverb word applied
    captions: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- acoustic descriptors
def describe(audio: np.ndarray, f0: float | None, sr: int = SR) -> dict[str, str]:
    x = audio.astype(np.float64)
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n))) + 1e-12
    freqs = np.fft.rfftfreq(n, 1 / sr)
    centroid = float((spec * freqs).sum() / spec.sum())
    flat = float(np.exp(np.mean(np.log(spec[freqs > 100]))) / np.mean(spec[freqs > 100]))
    hop = 160 * sr // SR
    frames = n // hop
    env = np.sqrt((x[: frames * hop].reshape(frames, hop) ** 2).mean(1) + 1e-12)
    peak_i = int(env.argmax())
    above = np.nonzero(env >= 0.9 * env.max())[0]
    attack_s = (above[0] if len(above) else peak_i) * hop / sr
    tail = env[int(frames * 0.8) :].mean() / (env.max() + 1e-12)
    active = env[env > 0.1 * env.max()]
    wobble = float(np.std(np.diff(np.log(active + 1e-9)))) if len(active) > 3 else 0.0
    d: dict[str, str] = {}
    d["bright"] = "dark" if centroid < 700 else ("bright" if centroid > 2500 else "")
    d["attack"] = "plucky" if attack_s < 0.02 else ("slow attack" if attack_s > 0.3 else "")
    d["noisy"] = "noisy" if flat > 0.35 else ("clean" if flat < 0.05 else "")
    d["decay"] = "sustained" if tail > 0.5 else ("short" if tail < 0.05 else "fading")
    d["mod"] = "wobbling" if wobble > 0.08 else "steady"
    if f0 is not None:
        d["reg"] = "low" if f0 < 130 else ("high" if f0 > 700 else "mid")
    else:
        d["reg"] = ""
    return d


def _desc_phrase(d: dict[str, str], rng: random.Random) -> str:
    parts = [v for k, v in d.items() if k != "reg" and v]
    rng.shuffle(parts)
    return " and ".join(parts[:2]) if parts else "plain"


def make_captions(target: np.ndarray, d: dict[str, str], rng: random.Random, *, held_out: bool, n: int,
                  word: str | None = None, source_noun: str | None = None) -> list[str]:
    order = np.argsort(-target)
    arch, arch2 = ARCHETYPES[order[0]], ARCHETYPES[order[1]]
    second = target[order[1]] > 0.25
    templates = TEST_TEMPLATES if held_out else TRAIN_TEMPLATES
    nouns = nouns_for(arch, held_out)
    out: list[str] = []
    tries = 0
    while len(out) < n and tries < 50:
        tries += 1
        wa = words_for(arch, held_out)
        wb = words_for(arch2, held_out) if second else words_for(arch, held_out)
        if not wa:
            wa = words_for(arch, False)
        if not wb:
            wb = wa
        a = rng.choice(wa)
        b = rng.choice([w for w in wb if w != a] or wb)
        reg = d.get("reg") or "mid"
        reg = {"low": "low", "mid": "middle", "high": "high"}[reg] if reg in ("low", "mid", "high") else "middle"
        t = rng.choice(templates)
        if "{noun}" in t and not nouns:
            continue
        cap = t.format(a=a, b=b, reg=reg, desc=_desc_phrase(d, rng), arch=arch, arch2=arch2 if second else arch,
                       noun=rng.choice(nouns) if nouns else "")
        if source_noun:
            cap = f"{source_noun}, {cap}"
        if word:
            cap = rng.choice([f"{cap}, made {word}", f"{word} {cap}", f"a {word} version: {cap}"])
        if held_out or caption_clean_strict(cap):
            out.append(cap)
    return out


# ---------------------------------------------------------------- effects with crowd words
def load_eq_words() -> list[tuple[str, np.ndarray]]:
    p = SHARED / "data" / "audealize" / "eqdescriptors.json"
    if not p.is_file():
        return []
    rows = json.loads(p.read_text())
    out = []
    for r in rows:
        w = str(r["word"]).strip().lower()
        if r.get("lang") != "English" or " " in w or not w.isalpha():
            continue
        out.append((w, np.asarray(r["settings"], dtype=np.float64)))
    return out


def load_reverb_words() -> list[tuple[str, np.ndarray]]:
    p = SHARED / "data" / "audealize" / "reverbdescriptors.json"
    if not p.is_file():
        return []
    rows = json.loads(p.read_text())
    return [(str(r["word"]).strip().lower(), np.asarray(r["settings"], dtype=np.float64)) for r in rows
            if r.get("lang", "English") == "English" and str(r["word"]).isalpha()]


EQ_CENTRES = [20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273, 1452, 1652,
              1875, 2126, 2406, 2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014, 7875, 8839, 9917, 11124,
              12474, 13984, 15675, 17566, 19682]


def apply_eq_curve(audio: np.ndarray, curve: np.ndarray, amount: float = 1.0, sr: int = SR) -> np.ndarray:
    import pedalboard

    c = np.asarray(curve, dtype=np.float64)
    c = 2 * (c - c.min()) / max(c.max() - c.min(), 1e-9) - 1.0
    board = pedalboard.Pedalboard([
        pedalboard.PeakFilter(cutoff_frequency_hz=float(f), gain_db=float(5.0 * amount * g), q=4.31)
        for f, g in zip(EQ_CENTRES, c) if f < sr / 2 * 0.95
    ])
    return board(audio.astype(np.float32)[None], sr)[0]


def apply_reverb_word(audio: np.ndarray, settings: np.ndarray, sr: int = SR) -> np.ndarray:
    import pedalboard

    d, g, _m, f, e, wet = [float(v) for v in settings]
    room = float(np.clip(0.3 * (d - 0.01) / 0.09 + 0.7 * g, 0.0, 1.0))
    damping = float(np.clip(1.0 - f / 22050.0, 0.0, 1.0))
    wet_level = float(np.clip(0.15 + 0.6 * e * (wet if wet <= 1 else 1.0), 0.0, 0.8))
    rv = pedalboard.Reverb(room_size=room, damping=damping, wet_level=wet_level, dry_level=1.0 - 0.5 * wet_level)
    return rv(audio.astype(np.float32)[None], sr)[0]


# ---------------------------------------------------------------- sound sources
def engine_sounds(n: int, seed: int, sr: int = SR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = ArchetypeParams.random(n, seed=seed)
    g = torch.Generator().manual_seed(seed + 99)
    p.midi_f0 = 30 + 60 * torch.rand(n, generator=g)
    p.duration = 0.2 + 1.2 * torch.rand(n, generator=g)
    p.attack = 0.001 + 0.5 * torch.rand(n, generator=g) ** 2
    p.release = 0.05 + 0.5 * torch.rand(n, generator=g)
    # keep most filters open enough to hear the archetype (cutoff >= 3 f0), some wide open
    f0 = midi_to_hz(p.midi_f0)
    p.cutoff = torch.maximum(p.cutoff, 3 * f0)
    p.resonance = 0.5 + 1.5 * torch.rand(n, generator=g)
    out = []
    with torch.no_grad():
        for i in range(0, n, 256):
            out.append(render_archetypes(p[i : i + 256], sample_rate=sr, seconds=CLIP_S, seed=seed + i))
    return torch.cat(out).numpy(), p.weights.numpy(), f0.numpy()


def voice_sounds(n: int, seed: int, sr: int = SR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ..synth.params import PARAM_INDEX, VOICE_PARAMS
    from ..synth.voice import Voice

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, len(VOICE_PARAMS), generator=g)
    # mild modulation: modulation amounts near their neutral centre
    for name, i in PARAM_INDEX.items():
        spec = VOICE_PARAMS[i]
        if getattr(spec, "symmetric", False) and ("mod" in name or "depth" in name):
            x[:, i] = 0.5 + 0.1 * (x[:, i] - 0.5)
    x[:, PARAM_INDEX["keyboard.midi_f0"]] = (36 + 48 * torch.rand(n, generator=g)) / 127.0
    x[:, PARAM_INDEX["keyboard.duration"]] = VOICE_PARAMS[PARAM_INDEX["keyboard.duration"]].to_normalized(
        torch.full((n,), 1.0)) if hasattr(VOICE_PARAMS[0], "to_normalized") else 0.5
    # sparse mixer so sounds have a clear character
    mix = torch.rand(n, 3, generator=g) ** 3
    x[:, PARAM_INDEX["mixer.vco_1"]] = mix[:, 0]
    x[:, PARAM_INDEX["mixer.vco_2"]] = mix[:, 1]
    x[:, PARAM_INDEX["mixer.noise"]] = mix[:, 2]
    voice = Voice(sample_rate=sr, seconds=CLIP_S)
    with torch.no_grad():
        audio = torch.cat([voice.render(x[i : i + 128], seed=seed + i) for i in range(0, n, 128)]).numpy()
    lv1 = x[:, PARAM_INDEX["mixer.vco_1"]].numpy()
    lv2 = x[:, PARAM_INDEX["mixer.vco_2"]].numpy()
    ln = VOICE_PARAMS[PARAM_INDEX["mixer.noise"]].to_physical(x[:, PARAM_INDEX["mixer.noise"]]).numpy()
    shape = x[:, PARAM_INDEX["vco_2.shape"]].numpy()
    # RMS-matched shares: sine VCO (RMS 0.71), square (1.0), saw (0.58), noise (uniform? ~0.58)
    t = np.stack([lv1 * 0.71, lv2 * (1 - shape) * 1.0, lv2 * shape * 0.58, np.zeros(n), ln * 0.58], 1)
    t = t / np.maximum(t.sum(1, keepdims=True), 1e-6)
    f0 = 440.0 * 2 ** ((x[:, PARAM_INDEX["keyboard.midi_f0"]].numpy() * 127 - 69) / 12)
    return audio.astype(np.float32), t.astype(np.float32), f0


def recording_clips(sr: int = SR) -> list[tuple[str, np.ndarray]]:
    from lstmabar.library.audio_io import decode, resample

    names = {"trumpet": "sorohanro_-_solo-trumpet-06.ogg", "birdsong": "456440__inspectorj__bird-whistling-robin-single-13.ogg",
             "music": "Kevin_MacLeod_-_Vibe_Ace.ogg", "speech": "198-209-0000.ogg"}
    out = []
    for noun, fn in names.items():
        p = SHARED / "audio" / fn
        if not p.is_file():
            continue
        a = decode(p.read_bytes(), max_seconds=600)
        x = resample(a.mono(), a.sample_rate, sr).astype(np.float32)
        clip = int(sr * CLIP_S)
        step = clip // 2 if len(x) < 20 * clip else clip
        kept = 0
        for s in range(0, len(x) - clip, step):
            c = x[s : s + clip]
            if np.sqrt(np.mean(c**2)) > 1e-3 and kept < 30:
                out.append((noun, c))
                kept += 1
    return out


def loudest(x: np.ndarray, seconds: float, sr: int = SR) -> np.ndarray:
    """The loudest stretch of ``seconds`` (real recordings change pitch; analyse a steady part)."""
    m = int(seconds * sr)
    if len(x) <= m:
        return x
    e = np.convolve(x.astype(np.float64) ** 2, np.ones(m), mode="valid")[:: sr // 100]
    s = int(np.argmax(e)) * (sr // 100)
    return x[s : s + m]


def recording_estimate(clip: np.ndarray, sr: int = SR):
    """The archetype target of a recording clip: ``estimate_archetypes`` on its loudest 0.3 s, with the
    f0 estimator the current weights were trained with (``legacy_f0``, frozen until the retrain)."""
    from ..synth.analysis import estimate_archetypes
    from .legacy_f0 import legacy_f0

    seg = loudest(clip, 0.3, sr)
    return estimate_archetypes(seg, sr, f0=legacy_f0(seg.astype(np.float64), sr))


# ---------------------------------------------------------------- the dataset
def build_dataset(n_engine: int = 3000, n_voice: int = 600, n_test_engine: int = 400, n_test_voice: int = 100,
                  seed: int = 0, captions_per_sound: int = 3, fx_share: float = 0.45, log=print, sample_rate: int = SR) -> dict:
    """Returns {"train": [Example], "test": [Example], "eq_test": [Example]} with captions, rendered at
    ``sample_rate`` (16 kHz for the v1 weights; the v2 full-band tower reads the same recipe at 44.1 kHz)."""
    sr = int(sample_rate)
    rng = random.Random(seed)
    eq_words = load_eq_words()
    rv_words = load_reverb_words()
    eq_train = [(w, c) for w, c in eq_words if not word_held_out(w)]
    eq_held = [(w, c) for w, c in eq_words if word_held_out(w)]
    rv_train = [(w, c) for w, c in rv_words if not word_held_out(w)]

    def with_fx(ex: Example, pool_eq, pool_rv) -> Example:
        r = rng.random()
        if r < fx_share * 0.7 and pool_eq:
            w, c = rng.choice(pool_eq)
            ex.audio = apply_eq_curve(ex.audio, c, sr=sr)
            ex.word = w
        elif r < fx_share and pool_rv:
            w, s = rng.choice(pool_rv)
            ex.audio = apply_reverb_word(ex.audio, s, sr=sr)
            ex.word = w
        return ex

    def finish(exs: list[Example], held_out: bool, n_caps: int, fx: bool) -> list[Example]:
        for ex in exs:
            if fx:
                ex = with_fx(ex, eq_train, rv_train)
            peak = float(np.abs(ex.audio).max())
            if peak > 0.99:
                ex.audio = (ex.audio * 0.99 / peak).astype(np.float32)
            d = describe(ex.audio, ex.f0, sr)
            noun = ex.source.split(":", 1)[1] if ex.source.startswith("rec:") else None
            ex.captions = make_captions(ex.target, d, rng, held_out=held_out, n=n_caps, word=ex.word, source_noun=noun)
        return [e for e in exs if e.captions]

    log("rendering engine sounds")
    a, t, f = engine_sounds(n_engine, seed=seed * 1000 + 1, sr=sr)
    train = [Example(a[i], t[i], "engine", float(f[i])) for i in range(n_engine)]
    a, t, f = engine_sounds(n_test_engine, seed=seed * 1000 + 777, sr=sr)
    test = [Example(a[i], t[i], "engine", float(f[i])) for i in range(n_test_engine)]
    try:
        log("rendering Voice sounds")
        a, t, f = voice_sounds(n_voice, seed=seed * 1000 + 2, sr=sr)
        train += [Example(a[i], t[i], "voice", float(f[i])) for i in range(n_voice)]
        a, t, f = voice_sounds(n_test_voice, seed=seed * 1000 + 778, sr=sr)
        test += [Example(a[i], t[i], "voice", float(f[i])) for i in range(n_test_voice)]
    except Exception as exc:  # the Voice synth is optional for the recipe
        log(f"Voice synth unavailable ({exc}); engine sounds only")
    log("analysing recordings")
    for noun, clip in recording_clips(sr):
        est = recording_estimate(clip, sr)
        ex = Example(clip, est.vector().astype(np.float32), f"rec:{noun}", est.f0_hz)
        (test if noun == "speech" else train).append(ex)
    log("captions and effects")
    train = finish(train, False, captions_per_sound, fx=True)
    # held-out sounds, captioned with held-out words/templates (no effects) ...
    test = finish(test, True, 2, fx=False)
    # ... and held-out sounds through held-out crowd EQ words (word retrieval)
    eq_test = []
    a, t, f = engine_sounds(200, seed=seed * 1000 + 999, sr=sr)
    for i in range(200):
        if not eq_held:
            break
        w, c = rng.choice(eq_held)
        ex = Example(apply_eq_curve(a[i], c, sr=sr), t[i], "engine", float(f[i]))
        ex.extra_word = w  # type: ignore[attr-defined]
        eq_test.append(ex)
    eq_test = finish(eq_test, False, 1, fx=False)
    for ex in eq_test:  # caption = in-vocabulary description + the held-out EQ word
        ex.word = ex.extra_word  # type: ignore[attr-defined]
        ex.captions = [f"{ex.captions[0]}, made {ex.word}"]
    for ex in train:
        for c in ex.captions:
            assert caption_clean_strict(c), c
    return {"train": train, "test": test, "eq_test": eq_test}


def training_vocabulary(train: list[Example]) -> list[str]:
    """Every distinct word of the training captions (the bank for out-of-distribution checks)."""
    vocab = set()
    for ex in train:
        for c in ex.captions:
            vocab.update(t.strip(".,;:!?\"'()").lower() for t in c.split())
    return sorted(v for v in vocab if v)
