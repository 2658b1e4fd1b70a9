"""Synth settings that meet a brief's targets directly, so the search does not have to find them.

The Voice's level comes from four sources through the modulation matrix: envelopes ``adsr_1`` and
``adsr_2`` and the two LFOs (each scaled by its own depth envelope). Giving every source that reaches
the amplitude the same attack sets the sound's attack whatever the routing; likewise sustain, decay
and release. Pitch movement gets a source of its own (``adsr_2`` for a rise or a fall, ``lfo_2`` for a
sweep or vibrato) routed only to the oscillators' pitch; level movement gets ``lfo_1`` routed only to
the amplitudes. For a fresh sound, a noise target switches the noise source on (its level curve puts nearly all of a
random search's draws at silence) and a tonal one off; a refinement's noise level is a move (models.brief.moves).

Everything else stays free for the embedder. The settings come with a reason each, for the report.
In a refinement only what the prompt asks is set (a rise, a slower attack, vibrato), on the envelope or
LFO that least drives the start's audible level (``level_drive``); the side rules
that serve a fresh sound (no pitch modulation unless a movement is asked, the square-saw
oscillator off for a dark one) are left out, so the start sound's character stays.
The relations used (a linear attack of A seconds measures 0.8 A from 10 % to 90 %; a 0..1 LFO times a
depth of D semitones swings the pitch over D) are properties of the synth, not tuned numbers; the
margins (x1.6, x1.3 ...) keep the measured value inside the target's range.
"""

from __future__ import annotations

import math
from typing import Callable

from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

from .targets import Brief, Target

AMP_TARGETS = ("vco_1_amp", "vco_2_amp", "noise_amp")
PITCH_TARGETS = ("vco_1_pitch", "vco_2_pitch")
STEADY_DB = 1.0  # "no wobble" (lexicon.STEADY_LEVEL): no LFO shapes the level
SOURCES = ("adsr_1", "adsr_2", "lfo_1", "lfo_2")
ENV_OF = {"adsr_1": "adsr_1", "adsr_2": "adsr_2", "lfo_1": "lfo_1_amp_adsr", "lfo_2": "lfo_2_amp_adsr"}
# The square-saw oscillator's partials reach the top of the band: even 20 dB under the sine, at MIDI 33,
# it puts the spectral centroid near 1.0-1.1 kHz (measured with describe_batch; 2.9 kHz at full level).
# A brightness ceiling under this needs the sine oscillator alone.
SQUARE_SAW_FLOOR_HZ = 1100.0
# White noise spreads its magnitude evenly up to 24 kHz: 40 dB under a 262 Hz sine it still lifts the
# (magnitude-weighted) centroid to 1.7 kHz, 30 dB under to 3.8 kHz (measured with describe_batch).
NOISE_FLOOR_HZ = 2000.0
VIBRATO_HZ = 5.5
# A fresh sound whose prompt names no register is searched in the middle of the keyboard: key C3-C6 and tunings +-12
# semitones put every oscillator between C2 and C7 (65 Hz-2.1 kHz). Free, the search played pads at 8 Hz (removed by the
# output's sub-audio filter) and, held to C1-C8, 'a soft warm pad' at 33 Hz, where pYIN and the level-modulation
# measure lose the note; a register word ('low', 'bass', 'high', 'whistle') or a note sets the note instead
KEY_RANGE = (48.0, 84.0)
TUNING_SPAN = (-12.0, 12.0)
WOBBLE_HZ = {None: 4.0, "slow": 2.0, "fast": 7.0}


def _route(out: dict[str, float], src: str, to: tuple[str, ...], weight: float, off: tuple[str, ...] = ()) -> None:
    for d in to:
        out[f"mod_matrix.{src}->{d}"] = weight
    for d in off:
        out[f"mod_matrix.{src}->{d}"] = 0.0


def _lfo_shape(out: dict[str, float], name: str, hz: float) -> None:
    """LFO ``name`` as a plain sine at ``hz``, its rate unmodulated."""
    out[f"{name}.frequency"] = min(20.0, hz)
    out[f"{name}.mod_depth"] = 0.0  # no rate modulation
    out[f"{name}.sin"] = 1.0
    for sh in ("tri", "saw", "rsaw", "sqr"):
        out[f"{name}.{sh}"] = 0.0


def _lfo(out: dict[str, float], name: str, hz: float) -> None:
    _lfo_shape(out, name, hz)
    env = f"{name}_amp_adsr"
    out[f"{env}.attack"] = 0.0
    out[f"{env}.sustain"] = 1.0
    out[f"{env}.release"] = 5.0


LEVEL_FREE = 1e-3  # a source whose level_drive is at most this drives no audible level
BEND_FREE = 0.05  # ... and one whose pitch_drive is at most this (semitones) bends no audible pitch
SWING_FREE = 0.2  # semitones peak to peak: an LFO swinging the pitch less is no vibrato to keep (+-10 cents, the judge's least)
MIXER_OF = {"vco_1_amp": "mixer.vco_1", "vco_2_amp": "mixer.vco_2", "noise_amp": "mixer.noise"}


def wobble_rate(rate: Target | None) -> float:
    """The LFO rate (Hz) a level movement is set to, within the asked rate when one is asked."""
    if rate is not None and rate.lo is not None and rate.hi is not None:
        return math.sqrt(rate.lo * rate.hi)
    if rate is not None and rate.hi is not None:
        return min(WOBBLE_HZ["slow"], 0.7 * rate.hi)
    if rate is not None and rate.lo is not None:
        return max(WOBBLE_HZ["fast"], 1.2 * rate.lo)
    return WOBBLE_HZ[None]


def vibrato_rate(rate: Target | None) -> float:
    """The LFO rate (Hz) a vibrato is set to: a rate asked ('slow': <= 3 Hz) is set, and the search holds it."""
    hz = VIBRATO_HZ
    if rate is not None:
        hz = min(hz, rate.hi) if rate.hi is not None else hz
        hz = max(hz, rate.lo) if rate.lo is not None else hz
    return hz


def level_drive(patch: dict[str, float], src: str) -> float:
    """How much a source drives the start patch's audible level: its routes to the amplitudes, each
    times its source's mixer level (a route to a silent oscillator does not count)."""
    return sum(patch.get(f"mod_matrix.{src}->{d}", 0.0) * patch.get(MIXER_OF[d], 1.0) for d in AMP_TARGETS)


def clamped(name: str, value: float) -> float:
    """``value`` (physical) within the Voice parameter's range."""
    spec = VOICE_PARAMS[PARAM_INDEX[name]]
    return min(spec.maximum, max(spec.minimum, value))


def held_bend(patch: dict[str, float], src: str, vco: str, mean: float = 0.5) -> float:
    """What a source adds to an oscillator's pitch (semitones) on average while the key is held: route x depth x the
    source's held level (an envelope's sustain; a 0..1 LFO's ``mean`` times its depth envelope's sustain: 0.5 is a
    cycling LFO's mean; one too slow to move holds wherever its phase starts, ``lfo_mean``)."""
    route = patch.get(f"mod_matrix.{src}->{vco}_pitch", 0.0) * patch.get(f"{vco}.mod_depth", 0.0)
    if src.startswith("lfo"):
        return mean * route * patch.get(f"{src}_amp_adsr.sustain", 1.0)
    return route * patch.get(f"{src}.sustain", 1.0)


def _add_to_pitch(out: dict[str, float], patch: dict[str, float], lfo: str, depth: float) -> None:
    """A refinement's vibrato or sweep on top of the start's pitch: ``lfo`` swings both oscillators over
    ``depth`` semitones, the same way, while every other source keeps its pitch contribution (route x the oscillator's
    depth, the depth being shared by all routes: it grows if the swing needs it and the other routes
    shrink by as much; an oscillator whose depth changes sign loses bends under BEND_FREE), and the tuning takes off
    the 0..1 LFO's mean so the note's centre stays."""
    gain = max(0.2, out.get(f"{lfo}_amp_adsr.sustain", patch.get(f"{lfo}_amp_adsr.sustain", 1.0)))  # its depth envelope scales it while the key is down
    # the swing's direction is each depth's sign; an oscillator whose routes bend it by nothing audible takes the other's
    # sign, so both swing together: in opposite phase, a NES-style vibrato measured 12-21 cents and no rate
    bends = {v: sum(patch.get(f"mod_matrix.{s}->{v}_pitch", 0.0) for s in SOURCES) * abs(patch.get(f"{v}.mod_depth", 0.0)) for v in ("vco_1", "vco_2")}
    lead = max(("vco_1", "vco_2"), key=lambda v: (bends[v] > BEND_FREE, abs(patch.get(f"{v}.mod_depth", 0.0))))
    for v in ("vco_1", "vco_2"):
        d = patch.get(f"{v}.mod_depth", 0.0)
        sign = d if bends[v] > BEND_FREE or v == lead else patch.get(f"{lead}.mod_depth", 0.0)
        new = math.copysign(min(96.0, max(abs(d), depth / gain)), sign if sign != 0.0 else 1.0)
        for s in SOURCES:
            key = f"mod_matrix.{s}->{v}_pitch"
            out[key] = min(1.0, depth / (abs(new) * gain)) if s == lfo else patch.get(key, 0.0) * max(0.0, d / new)  # a flipped sign drops a bend under BEND_FREE
        out[f"{v}.mod_depth"] = new
        # the 0..1 LFO's mean moves the note: the tuning takes off the vibrato's and gives back what this LFO bent before
        shift = math.copysign(0.5 * depth, new) - held_bend(patch, lfo, v)
        out[f"{v}.tuning"] = clamped(f"{v}.tuning", patch.get(f"{v}.tuning", 0.0) - shift)


def pitch_drive(patch: dict[str, float], src: str) -> float:
    """How far a source bends the start patch's pitch: its routes to the oscillators' pitch times their depths."""
    return sum(patch.get(f"mod_matrix.{src}->vco_{v}_pitch", 0.0) * abs(patch.get(f"vco_{v}.mod_depth", 0.0)) for v in (1, 2))


def _steady_on_its_centre(out: dict[str, float], patch: dict[str, float]) -> None:
    """A refinement's "steady" / "no vibrato": every pitch bend goes, and each oscillator's tuning takes what the bends gave
    the held note on average (a 0..1 LFO half its route x depth x depth-envelope sustain; an envelope its route x depth x
    sustain: held_bend), so the note stays where it was heard."""
    for v in ("vco_1", "vco_2"):
        held = sum(held_bend(patch, s, v) for s in SOURCES)
        if held:
            out[f"{v}.tuning"] = clamped(f"{v}.tuning", patch.get(f"{v}.tuning", 0.0) + held)


def lfo_mean(patch: dict[str, float], name: str, seconds: float, control_rate: float = 480.0) -> float:
    """The mean of LFO ``name`` (its 0..1 wave, before its depth envelope) over the first ``seconds`` of the note: 0.5 for
    one that cycles, its held value for one too slow to move (a 0.02 Hz LFO holds wherever its phase starts)."""
    import torch

    from lstmabar.models.synth.modules import adsr, lfo

    k = max(2, int(seconds * control_rate))
    t = torch.arange(k, dtype=torch.float64) / control_rate

    def col(key: str, default: float = 0.0) -> torch.Tensor:
        return torch.tensor([[patch.get(key, default)]], dtype=torch.float64)

    env = f"{name}_rate_adsr"
    rate_env = adsr(t, col("keyboard.duration", seconds), col(f"{env}.attack"), col(f"{env}.decay"), col(f"{env}.sustain", 1.0),
                    col(f"{env}.release"), col(f"{env}.alpha", 1.0), 1.0 / control_rate)
    w = torch.tensor([[patch.get(f"{name}.{sh}", 0.0) for sh in ("sin", "tri", "saw", "rsaw", "sqr")]], dtype=torch.float64)
    wave = lfo(col(f"{name}.frequency"), col(f"{name}.mod_depth"), col(f"{name}.initial_phase"), w, rate_env, control_rate)
    return float(wave.mean())


def _hand_level_over(out: dict[str, float], patch: dict[str, float], lfo: str, seconds: float) -> str | None:
    """A refinement's vibrato (or sweep) LFO that also shapes the level gives that part to an envelope that drives nothing (no level,
    no pitch, not set in ``out``): the envelope takes the LFO's depth envelope and the LFO's level routes times the LFO's
    mean, so the level and the oscillators' mix stay while the LFO moves to the vibrato's rate and wave. Returns the
    envelope, or None where none is free. Left on the LFO, a tone's level LFO at 0.02 Hz (it held the saw's level) became
    a 5.5 Hz tremolo on the saw: +3 dB of level movement nobody asked for."""
    free = [e for e in ("adsr_1", "adsr_2") if level_drive(patch, e) <= LEVEL_FREE and pitch_drive(patch, e) <= BEND_FREE
            and not any(k.startswith(f"{e}.") or k.startswith(f"mod_matrix.{e}->") for k in out)]
    if not free:
        return None
    env = free[0]
    mean = lfo_mean(patch, lfo, seconds)
    for d in AMP_TARGETS:
        out[f"mod_matrix.{env}->{d}"] = clamped(f"mod_matrix.{env}->{d}", patch.get(f"mod_matrix.{lfo}->{d}", 0.0) * mean)
        out[f"mod_matrix.{lfo}->{d}"] = 0.0
    for seg in ("attack", "decay", "sustain", "release", "alpha"):
        key = f"{lfo}_amp_adsr.{seg}"
        if key in patch:
            out[f"{env}.{seg}"] = patch[key]
    return env


def _steady_level(out: dict[str, float], patch: dict[str, float], seconds: float, heard_attack: float | None) -> list[str]:
    """A refinement's "no wobble": every LFO that shapes the level stops moving it, the level and the mix staying. One that
    bends the pitch audibly hands its level part to a free envelope (``_hand_level_over``), which rises no slower than the
    attack heard (``heard_attack``, s: under a tremolo the level's first crest ends the heard attack); the others (and one
    with no free envelope whose swing is under SWING_FREE) are frozen at their mean over ``seconds`` (rate 0, a sine held
    at the phase where it equals the mean of its wave), so their depth envelopes still shape the level exactly; an LFO a
    vibrato took in ``out`` is left to it. Returns the LFOs taken off the level. Left to the search, "remove the pulsing"
    on an organ whose level two LFOs shaped kept 1.4-2.1 dB of it in every candidate; folded into the level's envelope
    instead, its 2 s curved rise took the organ's 14 ms attack to 58 ms."""
    taken = []
    for lfo in ("lfo_1", "lfo_2"):
        if level_drive(patch, lfo) <= LEVEL_FREE or f"{lfo}.frequency" in out:
            continue
        swing = pitch_drive(patch, lfo) * patch.get(f"{lfo}_amp_adsr.sustain", 1.0)
        env = _hand_level_over(out, patch, lfo, seconds) if swing > BEND_FREE else None
        if env:
            if heard_attack is not None:
                out[f"{env}.attack"] = min(out.get(f"{env}.attack", 0.0), heard_attack / 0.8)  # a linear rise's 10-90 % is 0.8 of it
        elif swing <= SWING_FREE:
            mean = min(1.0, max(0.0, lfo_mean(patch, lfo, seconds)))
            _lfo_shape(out, lfo, 0.0)
            out[f"{lfo}.initial_phase"] = math.acos(1.0 - 2.0 * mean)  # the 0..1 sine is (1 - cos(phase)) / 2 at rest
        else:
            continue
        taken.append(lfo)
    return taken


def _vibrato_lfo(patch: dict[str, float]) -> str:
    """A refinement's vibrato LFO: of the LFOs that drive no level, the one that already bends the pitch most (its
    swing becomes the vibrato: two rates on one pitch are heard, and measured, as no vibrato), else the LFO that least
    drives the level (its rate and shape are about to change)."""
    free = [n for n in ("lfo_2", "lfo_1") if level_drive(patch, n) <= LEVEL_FREE]
    if free:
        return max(free, key=lambda n: pitch_drive(patch, n))
    return min(("lfo_2", "lfo_1"), key=lambda n: level_drive(patch, n))


def crest_at(hz: float, t: float) -> float:
    """The LFO start phase (rad, -pi..pi) that puts its crest (phase pi: the 0..1 sine is (1 - cos(phase)) / 2) at ``t`` s."""
    return math.remainder(math.pi - 2.0 * math.pi * hz * t, 2.0 * math.pi)


def _tremolo_on_top(out: dict[str, float], patch: dict[str, float], hz: float, floor: float, taken: list[str], seconds: float) -> None:
    """A refinement's tremolo or wobble: the LFO that bends the pitch least (and is not already taken by a vibrato
    set in ``out``) goes to the amplitudes from its crest, with its depth envelope's decay, sustain and release those of
    the envelope that most drives the start's level, so the wobble dies away with the sound; its attack is left to
    the moves and the search (under a deep wobble the measured attack runs to the first crest that comes near the
    peak, which no fixed setting keeps for every start); every other source's level routes are kept, scaled by ``floor``;
    what the LFO bent the pitch by on average over ``seconds`` goes to the tunings, so the note stays where it was heard
    (a slow LFO taken off the pitch moved an electric piano's note 1.3 semitones). A fresh-sound tremolo (LFO 1 at full depth from the first sample, the level's
    envelopes rerouted) took a held-out pad's 0.3 s attack to 0.05 s."""
    free = [n for n in ("lfo_1", "lfo_2") if f"{n}.frequency" not in taken] or ["lfo_1", "lfo_2"]  # a vibrato set just now keeps its LFO
    lfo = min(free, key=lambda n: pitch_drive(patch, n))
    now = {**patch, **out}  # a vibrato set just now may have handed its LFO's level to an envelope
    main = max(("adsr_1", "adsr_2"), key=lambda n: level_drive(now, n))
    for src in SOURCES:
        if src == lfo:
            continue
        for d in AMP_TARGETS:
            key = f"mod_matrix.{src}->{d}"
            out[key] = now.get(key, 0.0) * floor
    if max(level_drive(now, "adsr_1"), level_drive(now, "adsr_2")) <= 0.0:  # no envelope drives the level: give it one
        _route(out, main, AMP_TARGETS, floor)
    mean = lfo_mean(patch, lfo, seconds) if pitch_drive(patch, lfo) > BEND_FREE else 0.5
    for v in ("vco_1", "vco_2"):
        bend = held_bend(patch, lfo, v, mean)
        if abs(bend) > 1e-9:
            out[f"{v}.tuning"] = clamped(f"{v}.tuning", now.get(f"{v}.tuning", 0.0) + bend)
    _route(out, lfo, AMP_TARGETS, 1.0, PITCH_TARGETS)
    _lfo(out, lfo, hz)
    out.pop(f"{lfo}_amp_adsr.attack")  # left free for the moves and the search (held, no move could set it)
    # its crest falls where the level's own attack ends, so the level rises to its top as the start's did (a crest at the
    # first sample fell through the attack: a 29 ms attack measured 7 ms under a 6 Hz wobble, a 0.23 s swell 6 ms)
    out[f"{lfo}.initial_phase"] = crest_at(out[f"{lfo}.frequency"], now.get(f"{main}.attack", 0.0))
    for seg in ("decay", "sustain", "release", "alpha"):  # its attack: a one-knob move (models.brief.moves) and the search
        if f"{main}.{seg}" in now:
            out[f"{lfo}_amp_adsr.{seg}"] = now[f"{main}.{seg}"]


def rate_scaled(patch: dict[str, float], lfo: str, factor: float) -> dict[str, float]:
    """The settings that play an LFO ``factor`` times faster: its rate and its rate envelope's swing (the rate is
    ``frequency + mod_depth x rate envelope``: the rate alone scaled leaves a swept rate's sweep where it was)."""
    out = {f"{lfo}.frequency": clamped(f"{lfo}.frequency", patch.get(f"{lfo}.frequency", 0.0) * factor)}
    if patch.get(f"{lfo}.mod_depth", 0.0):
        out[f"{lfo}.mod_depth"] = clamped(f"{lfo}.mod_depth", patch[f"{lfo}.mod_depth"] * factor)
    return out


def _rate_of_existing(out: dict[str, float], t: dict[str, Target], patch: dict[str, float], note: Callable[..., None]) -> None:
    """A refinement asking a faster or slower wobble (or vibrato) of a start that already has one: the LFO that most
    drives the level (the pitch) plays at its rate times the asked factor over the start's measured rate, 10 % past it
    (a stated rate: its middle)."""
    for key, depth_key, drive in (("am_rate_hz", "am_depth_db", level_drive), ("vibrato_rate_hz", "vibrato_depth_cents", pitch_drive)):
        r = t.get(key)
        if r is None or depth_key in t or not r.relative_to:
            continue
        lfo = max(("lfo_1", "lfo_2"), key=lambda n: drive(patch, n))
        name = f"{lfo}.frequency"
        if drive(patch, lfo) <= LEVEL_FREE or name in out or name not in patch:
            continue
        if r.lo is not None and r.hi is not None:  # a stated rate ("slow it down to 3 Hz"): its middle
            aim = math.sqrt(r.lo * r.hi)
            slower = aim < r.relative_to
        else:
            slower = r.hi is not None
            aim = (r.hi if slower else r.lo) * (0.9 if slower else 1.1)
        scaled = rate_scaled(patch, lfo, aim / r.relative_to)
        out.update(scaled)
        note(list(scaled), f"{'slower' if slower else 'faster'} {'wobble' if key == 'am_rate_hz' else 'vibrato'}: LFO {lfo[-1]} from {patch[name]:.3g} to "
                     f"{out[name]:.3g} Hz (the start's measured rate {r.relative_to:.3g} Hz)")


def program(brief: Brief, render_seconds: float, patch: dict[str, float] | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """(physical settings, reason per setting) for the brief's targets. ``patch``: a refinement's start
    patch (physical), so a new vibrato takes the LFO that least drives the level."""
    t: dict[str, Target] = {x.descriptor: x for x in brief.targets if not x.kept}
    out: dict[str, float] = {}
    why: dict[str, str] = {}
    amp_sources = list(SOURCES)

    def note(keys, reason):
        for k in keys:
            why[k] = reason

    # ---- pitch movement: a source of its own, routed to pitch only
    trend, rng, vib = t.get("pitch_trend_semitones_per_s"), t.get("pitch_range_semitones"), t.get("vibrato_depth_cents")
    span = min(2.0, 0.9 * render_seconds)
    length = t.get("sounding_s")
    if length is not None and length.hi is not None:
        span = min(span, max(0.05, length.hi))
    if trend is not None and (trend.lo is not None and trend.lo > 0 or trend.hi is not None and trend.hi < 0):
        rising = trend.lo is not None and trend.lo > 0
        rate = trend.lo if rising else -trend.hi  # semitones per second asked
        depth = min(96.0, 1.5 * rate * span)
        if rng is not None and rng.lo is not None:  # a glide of a stated size ("from 100 Hz to 1 kHz")
            depth = min(96.0, max(depth, 1.3 * rng.lo))  # a ramp spans 0.8 of its depth from the 10th to the 90th percentile
        before = set(out)
        env = "adsr_2"
        if brief.relative and patch:
            # in a refinement, the envelope that least drives the level: its attack becomes the glide's span
            # and it leaves the amplitudes, so on the level's own envelope the kept attack would change
            env = min(("adsr_2", "adsr_1"), key=lambda n: level_drive(patch, n))
        _route(out, env, PITCH_TARGETS, 1.0, AMP_TARGETS)
        # the envelope rises over the span in both cases: up from the note, or down from it (so a set
        # register note is where a fall starts, not where it lands)
        sign = 1.0 if rising else -1.0
        gate = patch.get("keyboard.duration") if brief.relative and patch else None
        if gate is not None and gate < 0.5 * span:
            # a short key (a hit whose sound is its release): an attack is cut at note-off, so the glide is the release
            # (the envelope falls from full to nothing: the bend goes the other way, from the note the tunings hold)
            out.update({f"{env}.attack": 0.0, f"{env}.sustain": 1.0, f"{env}.alpha": 1.0, f"{env}.release": span,
                        "vco_1.mod_depth": -sign * depth, "vco_2.mod_depth": -sign * depth})
            # the tunings (and the key, past their +-24 semitones) take the bend off, so the glide starts at the note as the
            # long-key one does
            room = min((clamped(f"{v}.tuning", patch.get(f"{v}.tuning", 0.0) + sign * depth) - patch.get(f"{v}.tuning", 0.0)
                        for v in ("vco_1", "vco_2")), key=abs)  # both move alike: the interval between them stays
            if "keyboard.midi_f0" in patch:
                out["keyboard.midi_f0"] = clamped("keyboard.midi_f0", patch["keyboard.midi_f0"] + sign * depth - room)
            for v in ("vco_1", "vco_2"):
                out[f"{v}.tuning"] = patch.get(f"{v}.tuning", 0.0) + room
            how = f"{'up' if rising else 'down'} {depth:.1f} semitones over {span:.2f} s after the {gate:.2g} s key, in the envelope's release"
        else:
            out.update({f"{env}.attack": span, f"{env}.sustain": 1.0, f"{env}.alpha": 1.0, f"{env}.release": 5.0,
                        "vco_1.mod_depth": sign * depth, "vco_2.mod_depth": sign * depth})
            how = f"{'up' if rising else 'down'} {depth:.1f} semitones over {span:.2f} s"
        for s in SOURCES:
            if s != env:
                _route(out, s, (), 0.0, PITCH_TARGETS)
        note(set(out) - before, f"{'rising' if rising else 'falling'} pitch: envelope {env[-1]} bends both oscillators {how}")
        amp_sources.remove(env)
    elif (rng is not None and rng.lo is not None) or (vib is not None and vib.lo is not None):
        before = set(out)
        if vib is not None and vib.lo is not None:
            hz = vibrato_rate(t.get("vibrato_rate_hz"))
            depth = 2.5 * vib.lo / 100.0  # a 0..1 sine times D semitones swings +-D/2
            what = f"vibrato: LFO 2 at {hz:g} Hz bends the pitch +-{depth * 50:.0f} cents"
        else:
            hz = max(0.5, 1.0 / span)
            depth = min(96.0, 1.3 * rng.lo)
            what = f"pitch sweep: LFO 2 at {hz:.2g} Hz swings both oscillators over {depth:.1f} semitones"
        lfo = "lfo_2"
        if brief.relative and patch:
            lfo = _vibrato_lfo(patch)
            what = what.replace("LFO 2", f"LFO {lfo[-1]}")
        handed = None
        if brief.relative and patch and level_drive(patch, lfo) > LEVEL_FREE:
            handed = _hand_level_over(out, patch, lfo, min(render_seconds, patch.get("keyboard.duration", render_seconds)))
            if handed:
                what += f"; its level part handed to envelope {handed[-1]} (the LFO's depth envelope, at the LFO's mean), so the level and mix stay"
        _route(out, lfo, PITCH_TARGETS, 1.0, () if brief.relative else AMP_TARGETS)
        _lfo(out, lfo, hz)
        if brief.relative and not handed and (patch is None or level_drive(patch, lfo) > LEVEL_FREE):
            # its depth envelope also scales whatever level it drives: leave that as it was (an LFO that drives no
            # level gets _lfo's: the vibrato sounds from the first sample to the end, whatever the start's envelope)
            for k in ("attack", "sustain", "release"):
                out.pop(f"{lfo}_amp_adsr.{k}", None)
        if brief.relative and patch:
            _add_to_pitch(out, patch, lfo, depth)
            what += "; the other sources' pitch modulation and the note's centre kept"
        else:
            out.update({"vco_1.mod_depth": depth, "vco_2.mod_depth": depth})
            for s in SOURCES:
                if s != lfo:
                    _route(out, s, (), 0.0, PITCH_TARGETS)
        note(set(out) - before, what)
        if not brief.relative:
            amp_sources.remove(lfo)
    elif (rng is not None and rng.hi is not None) or not brief.relative:
        # asked to be steady, or a fresh sound whose prompt asks no pitch movement: nothing modulates the oscillators'
        # pitch, so the key is the note heard. Left free, the search played notes from the keyboard's ends bent by up to
        # 96 semitones (an 'electric piano note' keyed at MIDI 0, a 'square lead' at MIDI 118): pitches pYIN reads
        # unsteadily, a patch that lies about its note, and refinements that move the wrong thing
        before = set(out)
        if brief.relative and patch:
            _steady_on_its_centre(out, patch)
        for s in SOURCES:
            _route(out, s, (), 0.0, PITCH_TARGETS)
        reason = "steady pitch" if rng is not None else "no pitch movement asked"
        note(set(out) - before, f"{reason}: nothing modulates the oscillators' pitch")

    # ---- level movement: LFO 1 on the amplitudes over a steady floor from envelope 1
    am = t.get("am_depth_db")
    if am is not None and am.lo is not None:
        hz = wobble_rate(t.get("am_rate_hz"))
        floor = 1.0 / (10 ** (1.3 * am.lo / 20) - 1.0)  # max/min = (floor + 1) / floor
        before = set(out)
        if brief.relative and patch:
            _tremolo_on_top(out, patch, hz, min(1.0, floor), list(out), min(render_seconds, patch.get("keyboard.duration", render_seconds)))
            note(set(out) - before, f"level movement: an LFO at {hz:.2g} Hz on the amplitudes, its depth following the start's own level "
                                    f"envelope, over the start's level routes at {min(1.0, floor):.2f} of their weight (about {1.3 * am.lo:.0f} dB "
                                    "peak to peak; the start's attack and length kept)")
        else:
            _route(out, "lfo_1", AMP_TARGETS, 1.0, PITCH_TARGETS)
            _lfo(out, "lfo_1", hz)
            _route(out, "adsr_1", AMP_TARGETS, min(1.0, floor))
            for s in ("adsr_2", "lfo_2"):
                _route(out, s, (), 0.0, AMP_TARGETS)
            note(set(out) - before, f"level movement: LFO 1 at {hz:.2g} Hz on the amplitudes over envelope 1 at {min(1.0, floor):.2f} (about {1.3 * am.lo:.0f} dB peak to peak)")
            amp_sources = ["adsr_1", "lfo_1"]
    elif am is not None and am.hi is not None and am.hi <= STEADY_DB and brief.relative and patch:
        before = set(out)
        heard = next((x.relative_to for x in brief.targets if x.descriptor == "attack_s" and x.kept), None)
        taken = _steady_level(out, patch, render_seconds, heard)  # the LFO runs through the release: its mean over all that sounds
        if taken:
            note(set(out) - before, f"steady level: {' and '.join('LFO ' + n[-1] for n in taken)} no longer moves the amplitudes "
                                    "(held at its mean, or its level given to an envelope)")

    if brief.relative and patch:
        _rate_of_existing(out, t, patch, note)
    if brief.relative and patch:  # a refinement's level: the sources that shape it now (a glide's envelope bends the pitch only)
        now = {**patch, **out}
        # a source whose level routes the settings rewrote (a vibrato's LFO that handed its level over) counts as it is now
        rewritten = {s for s in SOURCES if any(f"mod_matrix.{s}->{d}" in out for d in AMP_TARGETS)}
        amp_sources = [s for s in amp_sources if (level_drive(now, s) if s in rewritten else max(level_drive(patch, s), level_drive(now, s))) > LEVEL_FREE] \
            or amp_sources
    envs = [ENV_OF[s] for s in amp_sources]
    # ---- attack: every source that reaches the amplitude rises alike
    att = t.get("attack_s")
    if att is not None:
        before = set(out)
        if att.lo is not None and att.hi is not None:
            a, alpha = min(2.0, att.lo / 0.8), 1.0
        elif att.lo is not None:
            a, alpha = min(2.0, 1.6 * att.lo / 0.8), 1.0
        else:
            a, alpha = 0.0, None
        if brief.relative:
            alpha = None  # the curvature also shapes the decay and release: a refinement keeps it
        for e in envs:
            out[f"{e}.attack"] = a
            if alpha is not None:
                out[f"{e}.alpha"] = alpha
        note(set(out) - before, f"attack: the level's sources ({', '.join(envs)}) rise over {a:.3g} s" + (" linearly (10-90 % = 0.8 x)" if alpha else ""))
    # ---- sustain or decay
    sus, dec = t.get("sustain_level_db"), t.get("decay_db_per_s")
    if dec is not None and dec.hi is not None and dec.hi < 0 and not brief.relative:  # a refinement's decay: a move (models.brief.moves)
        d = min(2.0, max(0.05, 20.0 / -dec.hi))
        before = set(out)
        for e in envs:
            out.update({f"{e}.sustain": 0.0, f"{e}.decay": d, f"{e}.release": min(5.0, d)})
        note(set(out) - before, f"decay: the level's sources fall to silence over {d:.2g} s (sustain 0)")
    elif sus is not None and sus.lo is not None:
        before = set(out)
        for e in envs:
            out[f"{e}.sustain"] = 1.0
        note(set(out) - before, "sustained: the level's sources hold at full level while the key is down")
    # ---- a short sound ends soon after its key
    if length is not None and length.hi is not None:
        r = max(0.0, 0.25 * length.hi)
        before = set(out)
        for e in envs:
            if f"{e}.release" not in out or out[f"{e}.release"] > r:
                out[f"{e}.release"] = r
        note(set(out) - before, f"short: the level's sources release within {r:.2g} s of the key")
    # ---- a dark ceiling the square-saw oscillator cannot go under
    bright = t.get("centroid_hz")
    if bright is not None and bright.hi is not None and bright.hi < SQUARE_SAW_FLOOR_HZ and not brief.relative:
        out["mixer.vco_2"] = 0.0
        why["mixer.vco_2"] = (f"a centroid under {bright.hi:.0f} Hz: the square-saw oscillator off (its partials keep the centroid above "
                              f"~{SQUARE_SAW_FLOOR_HZ:.0f} Hz even 20 dB down; the Voice has no filter)")
    # ---- noise on or off
    flat = t.get("flatness")
    pitched = t.get("pitched")
    if flat is not None and flat.lo is not None and brief.relative:
        pass  # a refinement's "noisier": the least noise that does it is found by a move (models.brief.moves), not full noise
    elif flat is not None and flat.lo is not None:
        out["mixer.noise"] = 1.0
        why["mixer.noise"] = "noise: the noise source at full level"
        if flat.lo >= 0.09:
            out["mixer.vco_1"] = out["mixer.vco_2"] = 0.0
            why["mixer.vco_1"] = why["mixer.vco_2"] = "a noise sound: the oscillators off"
    elif ((flat is not None and flat.hi is not None) or pitched is not None) and not brief.relative:
        # a refinement's "cleaner" is a move (the least noise taken out that does it), and its "a note" (a vibrato's) asks
        # nothing of the noise: switched off, a breathy choir's vibrato lost its breath and half its brightness
        out["mixer.noise"] = 0.0
        why["mixer.noise"] = "tonal: the noise source off"
    elif bright is not None and bright.hi is not None and bright.hi < NOISE_FLOOR_HZ and not brief.relative:
        out["mixer.noise"] = 0.0
        why["mixer.noise"] = (f"a centroid under {bright.hi:.0f} Hz: the noise source off (white noise lifts the centroid to ~1.7 kHz even "
                              "40 dB under a tone)")
    return out, why


def search_ranges(brief: Brief) -> tuple[dict[str, tuple[float, float]], str]:
    """(ranges, why) for the search of a fresh sound whose note the brief does not set: the key and the tunings within
    KEY_RANGE and TUNING_SPAN. A refinement keeps its start's note, and a set note sets the tunings too: no ranges."""
    held = brief.set_params()
    if brief.relative or "keyboard.midi_f0" in held:
        return {}, ""
    ranges = {"keyboard.midi_f0": KEY_RANGE, **{f"{v}.tuning": TUNING_SPAN for v in ("vco_1", "vco_2") if f"{v}.tuning" not in held}}
    return ranges, (f"no register named: the note is searched between MIDI {KEY_RANGE[0]:.0f} and {KEY_RANGE[1]:.0f} (C3-C6) with each "
                    f"oscillator tuned within +-{TUNING_SPAN[1]:.0f} semitones, so every oscillator sounds between C2 and C7 (65 Hz-2.1 kHz); "
                    "name a register ('low', 'high'), a note or a frequency to go outside it")
