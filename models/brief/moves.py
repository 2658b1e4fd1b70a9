"""One-knob moves of a refinement's start patch toward what the prompt asks.

``program`` sets what a parameter sets outright (the note, the key time, an attack). Brightness,
noisiness and a decaying sound's length have no single setting: they depend on the mix of the
start patch. So before the search, the start patch is varied one knob at a time over a grid (the
oscillator levels, the noise level in 2 dB steps and the square-saw shape for brightness, the
noise level for noisiness, the level envelopes' decay and release for length); every move is scored with the
search's own fitness, and the search starts from the best of them and the start patch itself.
Everything else in the patch stays as it was, so a move changes one thing.

One move is not one knob: a length's time stretch (``STRETCH``) plays the whole sound slower or faster, every
envelope's times and the key time by one factor (the level envelopes' attacks excepted: the attack is kept),
with or without the LFOs' rates. Lengthening only the level envelopes of a sound whose pitch moves exposes more
of the pitch's course, and its median note moves with it (a falling zap made longer went 1.2 semitones lower
under pYIN, a rising pluck 3.5); stretched, the course is the same curve over a longer time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

from .parse import STEADY_SEMITONES, hz_to_midi
from .program import BEND_FREE, clamped, crest_at, held_bend, level_drive, pitch_drive, rate_scaled
from .targets import Brief

LEVEL_GRID = tuple(float(x) for x in np.linspace(0.0, 1.0, 11))  # normalised levels of the oscillators (linear)
# The noise level's curve is steep (normalised 0.9 is -37 dB, 1.0 is 0 dB), and every level that makes a tone
# noticeably noisier yet still a tone lies between: its grid is in physical dB, 2 dB apart, and off.
NOISE_GRID_DB = tuple(float(x) for x in np.arange(-40.0, 0.1, 2.0))
SHAPE_GRID = (0.0, 0.5, 1.0)
LONGER = (1.5, 2.0, 3.0, 4.0)
SHORTER = (0.25, 0.4, 0.6, 0.8)
DECAY_SUSTAIN = (0.0, 0.1, 0.3)  # a refinement's decay: the level envelopes' sustain (linear level) ...
DECAY_S = (0.5, 1.0, 2.0, 3.0, 4.0)  # ... and decay time (s)
WOBBLE_ATTACK = (0.0, 0.5, 1.0, 1.25, 1.5, 2.0)  # a new wobble's depth attack, times the start's level attack
AMP_TARGETS = ("vco_1_amp", "vco_2_amp", "noise_amp")
ENV_OF = {"adsr_1": "adsr_1", "adsr_2": "adsr_2", "lfo_1": "lfo_1_amp_adsr", "lfo_2": "lfo_2_amp_adsr"}
STRETCH = "time stretch"  # the description every stretch move starts with (it may move what the brief set)
KEY_HOLD = "attack: the key held"  # likewise: an attack cut short by an early key release
NOTE_HELD = "length, the note held"  # likewise: a length change with the envelopes' pitch bends taken off
OVERRIDES = (STRETCH, KEY_HOLD, NOTE_HELD)  # moves that may change what the brief set (never what the caller held)
KEY_FACTORS = (1.5, 2.0, 3.0, 4.0)
PHASE_STEPS = 8  # start phases tried for a wobble whose rate changes
STEADY_ATTACK = (0.5, 1.0, 1.5)  # a wobble's removal: the level envelopes' attack, times the attack heard under it (a linear rise's 0.8)
ENVELOPES = ("adsr_1", "adsr_2", "lfo_1_amp_adsr", "lfo_2_amp_adsr", "lfo_1_rate_adsr", "lfo_2_rate_adsr")


def level_envelopes(patch: dict[str, float]) -> list[str]:
    """The envelopes that shape the start patch's level (each source routed to an amplitude)."""
    return [env for src, env in ENV_OF.items() if any(patch.get(f"mod_matrix.{src}->{d}", 0.0) > 0.01 for d in AMP_TARGETS)]


def stretch(patch: dict[str, float], factor: float, *, lfo_rates: bool) -> dict[str, float]:
    """The settings that play ``patch`` ``factor`` times slower: every envelope's attack, decay and release and the
    key time times ``factor`` (the attacks of the envelopes that shape the level stay: the attack is kept), and
    with ``lfo_rates`` the LFOs' rates (``program.rate_scaled``: their rate envelopes' swings too) divided by it."""
    level = set(level_envelopes(patch))
    out: dict[str, float] = {}
    for env in ENVELOPES:
        for seg in ("attack", "decay", "release"):
            key = f"{env}.{seg}"
            if key in patch and not (seg == "attack" and env in level):
                out[key] = clamped(key, patch[key] * factor)
    if "keyboard.duration" in patch:
        out["keyboard.duration"] = clamped("keyboard.duration", patch["keyboard.duration"] * factor)
    if lfo_rates:
        for lfo in ("lfo_1", "lfo_2"):
            if f"{lfo}.frequency" in patch:
                out.update(rate_scaled(patch, lfo, 1.0 / factor))
    return out


def note_held(brief: Brief, patch: dict[str, float], heard: dict[str, Any] | None) -> list[dict[str, float]]:
    """Settings that take the envelopes' pitch bends off a start whose note the brief keeps, each with the tunings that
    put an oscillator back on the note heard (the kept target's start value; the other oscillator keeps its interval
    over the bends that stay, the LFOs' mean included). A length change moves how much of an envelope's bend is heard:
    a 0.25 s tone at 158 Hz made longer came out 1.5-2.3 semitones flat as more of its pitch envelope sounded. Empty when no envelope bends the pitch, the note is not kept, or the start is
    heard to glide (``heard``: its descriptors; a riser made longer keeps its rise through a time stretch instead)."""
    kept = next((t for t in brief.targets if t.descriptor == "f0_hz" and t.kept and t.relative_to), None)
    envs = [e for e in ("adsr_1", "adsr_2") if pitch_drive(patch, e) > BEND_FREE]
    f0 = kept.relative_to if kept is not None else None
    glide = (heard or {}).get("pitch_range_semitones")
    if f0 is None or not envs or "keyboard.midi_f0" not in patch or glide is None or not glide <= STEADY_SEMITONES:
        return []
    note = hz_to_midi(f0)
    off = {f"mod_matrix.{e}->vco_{v}_pitch": 0.0 for e in envs for v in (1, 2)}
    static = {v: patch["keyboard.midi_f0"] + patch.get(f"{v}.tuning", 0.0) + sum(held_bend(patch, lfo, v) for lfo in ("lfo_1", "lfo_2"))
              for v in ("vco_1", "vco_2")}
    out = []
    for on in ("vco_1", "vco_2"):
        if patch.get(f"mixer.{on}", 1.0) <= 0.01:
            continue
        shift = note - static[on]
        out.append({**off, **{f"{v}.tuning": clamped(f"{v}.tuning", patch.get(f"{v}.tuning", 0.0) + shift) for v in ("vco_1", "vco_2")}})
    return out


def moves(brief: Brief, patch: dict[str, float], start: dict[str, float] | None = None, heard: dict[str, Any] | None = None) -> list[tuple[dict[str, float], str]]:
    """(physical settings, what it does) for each one-knob move the brief's asked targets call for.
    ``patch``: the start patch with the brief's settings, in physical units (grid points at its own value are
    skipped); ``start``: the start patch before them (a time stretch scales the start's own key time, not the
    one the brief set; default ``patch``); ``heard``: the start sound's descriptors (``note_held``)."""
    if not brief.relative:
        return []
    asked = {t.descriptor: t for t in brief.targets if not t.kept}
    out: list[tuple[dict[str, float], str]] = []

    def grid(name: str, values: tuple[float, ...], why: str) -> None:
        spec = VOICE_PARAMS[PARAM_INDEX[name]]
        start = float(spec.to_normalized(patch[name])) if name in patch else -1.0
        for v in values:
            if abs(v - start) > 1e-3:
                value = float(spec.to_physical(v))
                out.append(({name: value}, f"{why}: {name} at {value:.3g}"))

    def noise(why: str) -> None:
        start = patch.get("mixer.noise", -1.0)
        for value in (0.0, *(10 ** (db / 20) for db in NOISE_GRID_DB)):
            if abs(value - start) > 1e-3 * max(value, 1e-3):
                out.append(({"mixer.noise": value}, f"{why}: mixer.noise at {value:.3g}"))

    if "centroid_hz" in asked:
        for name in ("mixer.vco_1", "mixer.vco_2"):
            grid(name, LEVEL_GRID, "brightness")
        noise("brightness")
        grid("vco_2.shape", SHAPE_GRID, "brightness")
    if "flatness" in asked:
        noise("noisiness")
    if "am_depth_db" in asked:
        # a refinement's new wobble (models.brief.program): its depth envelope's attack against the start's level attack
        lfo = next((n for n in ("lfo_1", "lfo_2") if brief.settings.get(f"mod_matrix.{n}->vco_1_amp") == 1.0 and f"{n}.frequency" in brief.settings), None)
        main = max(("adsr_1", "adsr_2"), key=lambda n: level_drive(patch, n))  # the envelope the wobble's decay copies
        if lfo is not None:
            a = patch.get(f"{main}.attack", 0.0)
            spec = VOICE_PARAMS[PARAM_INDEX[f"{lfo}_amp_adsr.attack"]]
            for f in WOBBLE_ATTACK:
                v = min(spec.maximum, a * f)
                out.append(({f"{lfo}_amp_adsr.attack": v}, f"wobble: its depth comes in over {v:.3g} s (x{f:g} the level's attack)"))
    if "am_rate_hz" in asked and "am_depth_db" not in asked:
        # an existing wobble at a new rate: its first crest moves against the level's attack (a 13 ms attack under a 7 Hz
        # tremolo slowed to 4 Hz measured 30 ms), so its start phase is a move the fitness (the kept attack) chooses
        lfo = next((n for n in ("lfo_1", "lfo_2") if f"{n}.frequency" in brief.settings and level_drive(patch, n) > 0.0), None)
        if lfo is not None:
            now = patch.get(f"{lfo}.initial_phase")
            phases = [-math.pi + 2 * math.pi * k / PHASE_STEPS for k in range(PHASE_STEPS)]
            if now is not None and start is not None and start.get(f"{lfo}.frequency", 0.0) > 0.0:
                # first, the phase that puts the new rate's first crest where the start's was (the 0..1 sine crests at phase pi)
                crest_s = math.remainder(math.pi - now, 2 * math.pi) % (2 * math.pi) / (2 * math.pi * start[f"{lfo}.frequency"])
                phases.insert(0, crest_at(brief.settings[f"{lfo}.frequency"], crest_s))
            for v in phases:
                if now is None or abs(math.remainder(v - now, 2 * math.pi)) > 1e-3:
                    out.append(({f"{lfo}.initial_phase": v}, f"wobble's phase: LFO {lfo[-1]} starts at {v:.2f} rad (its first crest against the attack)"))
    steady = asked.get("am_depth_db")
    heard_attack = next((t.relative_to for t in brief.targets if t.descriptor == "attack_s" and t.kept and t.relative_to), None)
    if steady is not None and steady.hi is not None and steady.lo is None and heard_attack is not None:
        # a wobble taken off a sound whose heard attack was its first crest (a 9 ms envelope under a tremolo measured 89 ms,
        # and 8 ms once steady): the level envelopes rise over the attack heard, or near it, and the fitness keeps the one that holds
        envs = [e for e in level_envelopes(patch) if e in ("adsr_1", "adsr_2")]
        for f in STEADY_ATTACK if envs else ():
            a = clamped("adsr_1.attack", heard_attack / 0.8 * f)
            out.append(({f"{e}.attack": a for e in envs}, f"steady level: the level envelopes rise over {a:.3g} s (x{f:g} the attack heard)"))
    attack = asked.get("attack_s")
    if attack is not None and attack.lo is not None and start is not None and "keyboard.duration" in start:
        # a key released before the envelopes' attack ends cuts the attack short (a 38 ms key under 0.3 s attacks
        # sounds a 20 ms attack whatever the attack is set to): the key is held longer, over the start's own attacks
        # where they are longer than the brief's
        for f in KEY_FACTORS:
            move = {"keyboard.duration": clamped("keyboard.duration", start["keyboard.duration"] * f)}
            for env in level_envelopes(start):
                key = f"{env}.attack"
                if key in start and key in patch and start[key] > patch[key]:
                    move[key] = start[key]
            out.append((move, f"{KEY_HOLD} x{f:g} ({move['keyboard.duration']:.3g} s), over the start's own attacks"))
    decay = asked.get("decay_db_per_s")
    if decay is not None and decay.hi is not None:
        # "make it decay": the level envelopes fall to a lower sustain over a decay time; the fitness picks the pair that
        # makes the slope without cutting the kept length short
        envs = level_envelopes(patch)
        for sus in DECAY_SUSTAIN:
            for d in DECAY_S:
                move = {}
                for env in envs:
                    for seg, v in (("sustain", sus), ("decay", d)):
                        move[f"{env}.{seg}"] = clamped(f"{env}.{seg}", v)
                if move:
                    out.append((move, f"decay: the level envelopes fall to sustain {sus:g} over {d:g} s"))
                    for held in note_held(brief, patch, heard):  # a fade exposes the envelopes' bends as a longer sound does
                        out.append(({**move, **held}, f"{NOTE_HELD} (decay to {sus:g} over {d:g} s): the envelopes no longer bend the pitch"))
    length = asked.get("sounding_s")
    if length is not None:
        factors = LONGER if length.lo is not None else SHORTER
        was = (heard or {}).get("sounding_s")
        if length.lo is not None and length.hi is not None and isinstance(was, (int, float)) and was > 0:
            # a stated length ("cut it down to about 2 secs"): the stretch that lands on it as well
            f = round(math.sqrt(length.lo * length.hi) / was, 3)
            if all(abs(f / g - 1.0) > 0.05 for g in factors):
                factors = (*factors, f)
        envs = level_envelopes(patch)
        for f in factors:
            move: dict[str, float] = {}
            for env in envs:
                for seg in ("decay", "release"):
                    key = f"{env}.{seg}"
                    if key in patch:
                        move[key] = clamped(key, patch[key] * f)
            if move:
                out.append((move, f"length: the level envelopes' decay and release x{f:g}"))
                for held in note_held(brief, patch, heard):
                    out.append(({**move, **held}, f"{NOTE_HELD} (x{f:g}): the envelopes no longer bend the pitch, the note stays where it was heard"))
        src = start if start is not None else patch
        lfos = any(v > 0.01 for k, v in src.items() if k.startswith("mod_matrix.lfo_"))
        for f in factors:
            for lfo_rates in (False, True) if lfos else (False,):
                out.append((stretch(src, f, lfo_rates=lfo_rates),
                            f"{STRETCH} x{f:g}: every envelope's times and the key time" + (", the LFOs' rates /" + f"{f:g}" if lfo_rates else "")))
    return out
