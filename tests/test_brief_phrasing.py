"""Refinement phrasings read by grammar, not word lists (models.brief.intervals): every combination of an amount,
a unit, a direction and a sentence frame below must give the same step. The tables here are the test's own
(music theory), not the parser's."""

from __future__ import annotations

import itertools
import math

import pytest

from lstmabar.models.brief import parse_brief
from lstmabar.models.brief.intervals import movements, sizes, steps

START = {"pitched": True, "f0_hz": 220.0, "centroid_hz": 1000.0, "attack_s": 0.2, "sounding_s": 1.5, "flatness": 0.001, "silent": False,
         "decay_db_per_s": 0.0}
PATCH = {"keyboard.midi_f0": 57.0, "keyboard.duration": 1.2, "vco_1.tuning": 0.0, "vco_2.tuning": 12.0}

INTERVALS = [("semitone", 1), ("half step", 1), ("half-step", 1), ("half tone", 1), ("whole step", 2), ("whole tone", 2),
             ("minor second", 1), ("major second", 2), ("minor third", 3), ("major third", 4), ("perfect fourth", 5), ("fourth", 5),
             ("tritone", 6), ("fifth", 7), ("perfect fifth", 7), ("5th", 7), ("minor sixth", 8), ("major sixth", 9),
             ("minor seventh", 10), ("major seventh", 11), ("octave", 12)]
COUNTS = [("a", 1), ("one", 1)]
PLURAL = [("two", 2), ("3", 3)]
UP_FRAMES = ["{a} higher", "{a} up", "up {a}", "raise it {a}", "raise it by {a}", "raise the pitch by {a}", "lift it {a}",
             "transpose it up {a}", "pitch it up {a}", "can you make it {a} higher?", "{a} higher, please", "shift it up by {a}",
             "take it up {a}", "bring it up {a}", "sharpen it by {a}", "{a} more high"]
DOWN_FRAMES = ["{a} lower", "{a} down", "down {a}", "lower it {a}", "lower it by {a}", "lower by {a}", "drop it {a}", "drop it by {a}",
               "drop the pitch {a}", "transpose it down {a}", "pitch it down {a}", "could you bring it down {a}?", "{a} deeper",
               "{a} below where it is", "flatten it by {a}", "{a} more low"]


def asked_semitones(prompt: str) -> float | None:
    b = parse_brief(prompt, start=START, start_patch=PATCH)
    t = [t for t in b.targets if t.descriptor == "f0_hz" and not t.kept]
    return None if not t else round(12 * math.log2(t[0].lo / START["f0_hz"]), 3)


def amounts():
    for (unit, n), (count, c) in itertools.product(INTERVALS, COUNTS):
        art = "an" if count == "a" and unit[0] in "aeiou" else count
        yield f"{art} {unit}", n * c
    for (unit, n), (count, c) in itertools.product([("semitones", 1), ("octaves", 12), ("whole steps", 2), ("half steps", 1)], PLURAL):
        yield f"{count} {unit}", n * c


@pytest.mark.parametrize("frames,sign", [(UP_FRAMES, +1), (DOWN_FRAMES, -1)], ids=["up", "down"])
def test_every_amount_in_every_frame_is_the_same_step(frames, sign) -> None:
    wrong = []
    for frame, (amount, n) in itertools.product(frames, amounts()):
        prompt = frame.format(a=amount)
        got = asked_semitones(prompt)
        if got != sign * n:
            wrong.append(f"{prompt!r}: {got} (want {sign * n})")
    assert not wrong, f"{len(wrong)} misread, e.g. {wrong[:8]}"


def test_signed_numbers_and_unsized_steps() -> None:
    assert asked_semitones("-5 semitones") == -5
    assert asked_semitones("+7 semitones") == 7
    assert asked_semitones("transpose by -3") == -3
    assert asked_semitones("shift it +12") == 12
    assert asked_semitones("half an octave down") == -6
    assert asked_semitones("a couple of semitones lower") == -2
    # no amount: the default step, in the said direction
    up, down = asked_semitones("pitch it up"), asked_semitones("lower the pitch")
    assert up is not None and down is not None and up > 0 > down and up == -down
    assert asked_semitones("make the pitch go up") == up
    # two asks in one prompt: the step and the other change
    b = parse_brief("a bit darker and a fifth up", start=START, start_patch=PATCH)
    assert asked_semitones("a bit darker and a fifth up") == 7 and any(t.descriptor == "centroid_hz" and not t.kept for t in b.targets)


def test_sounds_are_not_steps() -> None:
    """'a tone', 'a step', 'one second' name sounds and times; with no direction next to them they are no steps."""
    for prompt in ("a sine tone at 440 Hz", "a tone that drops", "a tone rising in pitch", "a pure tone, one second long", "a step sequencer blip",
                   "a siren sweeping up and down", "a bell with a long decay"):
        assert steps(prompt.lower()) == [], prompt
    # an interval from a named note is an absolute pitch
    b = parse_brief("a dark drone an octave below middle C")
    assert [t.lo for t in b.targets if t.descriptor == "f0_hz"] == [pytest.approx(130.8128, rel=1e-4)]
    b = parse_brief("a tone a fifth above A3")
    assert [t.lo for t in b.targets if t.descriptor == "f0_hz"] == [pytest.approx(329.6276, rel=1e-4)]


MOVE_VERBS = ["slide", "bend", "sweep", "glide", "swoop", "ramp"]
MOVE_FRAMES = ["make the pitch {v} {d}", "{v} {d}", "make it {v} {d} in pitch", "{v} the pitch {d}", "let it {v} {d}", "add a {v} {d}"]


@pytest.mark.parametrize("way,sign", [("up", 1), ("upwards", 1), ("down", -1), ("downward", -1)])
def test_pitch_movement_with_a_direction(way, sign) -> None:
    wrong = []
    for v, frame in itertools.product(MOVE_VERBS, MOVE_FRAMES):
        prompt = frame.format(v=v, d=way)
        b = parse_brief(prompt, start=START, start_patch=PATCH)
        trend = [t for t in b.targets if t.descriptor == "pitch_trend_semitones_per_s"]
        ok = trend and ((trend[0].lo or 0) > 0 if sign > 0 else (trend[0].hi or 0) < 0)
        if not ok or any(t.descriptor == "f0_hz" and not t.kept and t.lo == t.hi for t in b.targets):
            wrong.append(prompt)
    assert not wrong, wrong
    assert [m.sign for m in movements("an upward sweep")] == [1] and [m.sign for m in movements("a dive")] == [-1]


@pytest.mark.parametrize("prompt", ["make it die away", "let it die out", "have it tail off", "let it trail off", "make it fade away",
                                    "let it fade", "decay faster", "a faster decay", "make it taper off"])
def test_decay_phrasings_ask_for_a_falling_level(prompt) -> None:
    b = parse_brief(prompt, start=START, start_patch=PATCH)
    d = [t for t in b.targets if t.descriptor == "decay_db_per_s"]
    assert d and d[0].hi is not None and d[0].hi <= -8.0, b.summary()


def test_more_and_less_with_a_descriptor_word_are_relative() -> None:
    less = parse_brief("less bright", start=START, start_patch=PATCH)
    c = [t for t in less.targets if t.descriptor == "centroid_hz" and not t.kept][0]
    assert c.relative_to == 1000.0 and c.hi is not None and c.hi < 1000.0 / 1.1
    more = parse_brief("more bright", start=START, start_patch=PATCH)
    c = [t for t in more.targets if t.descriptor == "centroid_hz" and not t.kept][0]
    assert c.relative_to == 1000.0 and c.lo is not None and c.lo > 1000.0 * 1.1


def asked(prompt: str) -> dict[str, str]:
    """descriptor -> 'up' / 'down' of what a refinement prompt asks (not the keeps)."""
    b = parse_brief(prompt, start=START, start_patch=PATCH)
    return {t.descriptor: ("up" if t.hi is None else "down" if t.lo is None else "set") for t in b.targets if not t.kept and t.descriptor != "pitched"}


def test_seen_held_out_9_phrasings() -> None:
    assert asked("too much hiss").get("flatness") == "down"
    wobbly = parse_brief("way too much wobble", start={**START, "am_depth_db": 6.0}, start_patch=PATCH)
    assert [(t.lo, t.hi is not None) for t in wobbly.targets if t.descriptor == "am_depth_db" and not t.kept] == [(None, True)]
    a = asked("the fade-in takes forever, get to full volume sooner")
    assert a.get("attack_s") == "down" and "low_end_db" not in a
    a = asked("sharper transient please, the attack feels mushy")
    assert a.get("attack_s") == "down" and "centroid_hz" not in a
    a = asked("less robotic, add a human wobble in pitch")
    assert a.get("vibrato_depth_cents") == "up" and "am_depth_db" not in a
    assert asked("roll the treble back").get("centroid_hz") == "down"
    a = asked("filter out the high fizz")
    assert a.get("centroid_hz") == "down" and "f0_hz" not in a
    harsh = parse_brief("the top end is kinda harsh", start={**START, "band_high_mid_db": -12.0}, start_patch=PATCH)
    assert [(t.lo, t.hi is not None) for t in harsh.targets if t.descriptor == "band_high_mid_db" and not t.kept] == [(None, True)]
    # a description before the request is no complaint; "same note" with a verb after it keeps the note
    for prompt in ("the tone is warm, just add vibrato", "the note is long enough, make it brighter"):
        assert not any("less" in t.source for t in parse_brief(prompt, start=START, start_patch=PATCH).targets), prompt
    for prompt in ("same note, just lower the volume", "keep the same pitch but up the brightness", "keep the same pitch, just higher in the mix"):
        assert steps(prompt) == [] and sizes(prompt) == [], prompt


@pytest.mark.parametrize("verb", ["remove", "get rid of", "take out", "cut", "reduce", "lower", "drop", "kill", "lose", "turn down"])
def test_removals_ask_for_less_not_more(verb) -> None:
    for what, key in (("noise", "flatness"), ("hiss", "flatness"), ("vibrato", "pitch_range_semitones"), ("wobble", "am_depth_db"),
                      ("tremolo", "am_depth_db")):
        for of in ("the", "some of the", "all the"):
            prompt = f"{verb} {of} {what}"
            a = asked(prompt)
            assert a.get(key) == "down" and "f0_hz" not in a and a.get("vibrato_depth_cents") in (None, "down") and not a.get("am_depth_db") == "up", (prompt, a)


@pytest.mark.parametrize("frame", ["make the attack {w}", "the attack {w}", "make the attack a bit {w}", "{w} attack", "a {w} attack"])
def test_attack_frames(frame) -> None:
    for word, way in (("slower", "up"), ("softer", "up"), ("gentler", "up"), ("faster", "down"), ("quicker", "down"), ("snappier", "down")):
        assert asked(frame.format(w=word)).get("attack_s") == way, frame.format(w=word)


def test_brightness_frames() -> None:
    for prompt in ("more top end", "more high end", "add some sparkle", "boost the treble", "more brightness", "a touch brighter"):
        assert asked(prompt).get("centroid_hz") == "up" and "f0_hz" not in asked(prompt), prompt
    for prompt in ("less top end", "cut the highs", "roll off the highs", "take some brightness off", "tame the treble", "less bright"):
        assert asked(prompt).get("centroid_hz") == "down" and "f0_hz" not in asked(prompt), prompt


def test_buzz_teeth_edge_and_sizzle_are_the_top_of_the_spectrum() -> None:
    assert asked("more sizzle") == {"centroid_hz": "up", "flatness": "up"}  # a sizzle is noise too: more of it is noisier
    for prompt in ("more buzz, give it some teeth", "buzzier", "edgier", "give it more edge", "a little more presence"):
        assert asked(prompt) == {"centroid_hz": "up"}, (prompt, asked(prompt))
    for prompt in ("less sizzle, more body", "less buzz please", "take the edge off", "add some body"):
        assert asked(prompt) == {"centroid_hz": "down"}, (prompt, asked(prompt))


def test_a_rate_word_reaches_its_modulation_over_words_of_its_own() -> None:
    b = parse_brief("add that fast nes style vibrato", start=START, start_patch=PATCH)
    assert next(t for t in b.targets if t.descriptor == "vibrato_rate_hz").lo >= 6.0
    b = parse_brief("a fast attack with vibrato", start=START, start_patch=PATCH)  # the attack's rate, not the vibrato's
    assert not [t for t in b.targets if t.descriptor == "vibrato_rate_hz"] and next(t for t in b.targets if t.descriptor == "attack_s").hi < 0.01
    # a degree before a rate is the modulation's depth, not a gentle (dark, soft) sound
    b = parse_brief("add a gentle slow vibrato", start=START, start_patch=PATCH)
    assert {t.descriptor for t in b.targets if not t.kept} == {"pitched", "vibrato_depth_cents", "vibrato_rate_hz"}
    assert next(t for t in b.targets if t.descriptor == "vibrato_depth_cents").hi is not None


def test_a_length_past_what_is_rendered_is_made_as_long_as_it_can_and_said() -> None:
    b = parse_brief("make it 8 seconds instead", start=START, start_patch=PATCH)
    length = next(t for t in b.targets if t.descriptor == "sounding_s" and not t.kept)
    assert length.lo == length.hi == 6.0 and b.render_seconds == 6.0
    assert b.cannot and "6 s at most" in b.cannot[0] and "8 s" in b.cannot[0]
    assert not parse_brief("make it 3 seconds", start=START, start_patch=PATCH).cannot


def test_length_frames() -> None:
    for prompt in ("make the decay longer", "let the tail ring longer", "more sustain", "let it ring out", "hold it longer"):
        assert asked(prompt).get("sounding_s") == "up", prompt
    for prompt in ("make the tail shorter", "less sustain", "tighter", "cut it shorter"):
        assert asked(prompt).get("sounding_s") == "down", prompt


@pytest.mark.parametrize("prompt,key,way", [
    ("soften the attack a little", "attack_s", "up"), ("slow down the attack", "attack_s", "up"), ("ease the attack", "attack_s", "up"),
    ("sharpen the attack", "attack_s", "down"), ("speed up the attack", "attack_s", "down"), ("tighten the attack", "attack_s", "down"),
    ("brighten it up", "centroid_hz", "up"), ("darken it a bit", "centroid_hz", "down"), ("dull it down", "centroid_hz", "down"),
    ("lengthen it", "sounding_s", "up"), ("lengthen the release", "sounding_s", "up"), ("shorten the sound", "sounding_s", "down"),
])
def test_verbs_of_change(prompt, key, way) -> None:
    """Verbs people use for a change (held_out_4's blind run missed 'soften the attack a little': read as nothing)."""
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_adjectives_are_not_verbs_and_slow_stays_in_its_clause() -> None:
    from lstmabar.library.descriptors.words import threshold

    # "slow" and "smooth" are adjectives in a fresh prompt: "a slow attack" keeps the lexicon's own level
    fresh = parse_brief("a pad with a slow attack")
    assert [t.lo for t in fresh.targets if t.descriptor == "attack_s"] == [pytest.approx(threshold("attack_s", 98))]
    # a slow word belongs to the movement next to it, not to an attack in another clause
    rising = {t.descriptor: t for t in parse_brief("a slow attack, then slide up in pitch", start=START, start_patch=PATCH).targets}
    slow = {t.descriptor: t for t in parse_brief("slide up slowly", start=START, start_patch=PATCH).targets}
    assert rising["pitch_trend_semitones_per_s"].lo > slow["pitch_trend_semitones_per_s"].lo > 0


# ---- chat phrasings (held_out_5's blind run, 15:39-16:00 UTC: complaints, removals said as 'less of that', verbs of change,
# synonyms of the attack, negated rates, step verbs). The word lists are the test's own, wider than any one sentence.
COMPLAINT_FRAMES = ["it's too {w}", "that's a little {w}", "way too {w}", "it's kind of {w}", "a bit too {w}, can you fix that",
                    "hmm, it sounds too {w}", "that is really {w}", "it's a little {w} now"]
COMPLAINTS = [("bright", "centroid_hz", "down"), ("dark", "centroid_hz", "up"), ("noisy", "flatness", "down"),
              ("short", "sounding_s", "up"), ("sustained", "sounding_s", "down")]


@pytest.mark.parametrize("frame", COMPLAINT_FRAMES)
def test_a_complaint_asks_for_the_opposite(frame) -> None:
    for word, key, way in COMPLAINTS:
        prompt = frame.format(w=word)
        assert asked(prompt).get(key) == way, (prompt, asked(prompt))
    # a fresh prompt's 'not too bright' stays a description (the other side of the median), not a change
    fresh = parse_brief("a pad, not too bright")
    assert [t.hi for t in fresh.targets if t.descriptor == "centroid_hz"] and not fresh.relative


@pytest.mark.parametrize("prompt", ["less of that hiss", "less of the noise please", "less breath noise", "clean it up, less breath noise",
                                    "less of that breathiness", "clean it up", "tone the hiss down a bit"])
def test_less_of_a_noise_is_less_noise(prompt) -> None:
    assert asked(prompt).get("flatness") == "down", (prompt, asked(prompt))


@pytest.mark.parametrize("prompt,key,way", [
    ("warm it up", "centroid_hz", "down"), ("warm it up a little", "centroid_hz", "down"), ("can you warm it up", "centroid_hz", "down"),
    ("take the edge off", "centroid_hz", "down"), ("take some of the edge off it", "centroid_hz", "down"),
    ("add some air", "flatness", "up"), ("add a little air to it", "flatness", "up"), ("give it more air", "flatness", "up"),
    ("add some breath", "flatness", "up"), ("a softer start", "attack_s", "up"), ("a gentler onset", "attack_s", "up"),
    ("a sharper start", "attack_s", "down"), ("make the start snappier", "attack_s", "down"), ("a slower onset", "attack_s", "up"),
])
def test_more_verbs_and_synonyms_of_change(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_a_negated_rate_is_not_asked_and_lazy_is_slow() -> None:
    for prompt in ("give it some vibrato, nothing fast", "add vibrato, not fast", "a wobble, nothing too quick"):
        b = parse_brief(prompt, start=START, start_patch=PATCH)
        rates = [t for t in b.targets if t.descriptor in ("vibrato_rate_hz", "am_rate_hz")]
        assert not [t for t in rates if t.lo is not None], (prompt, b.summary())
    lazy = parse_brief("give it some vibrato, kind of lazy", start=START, start_patch=PATCH)
    assert [t.hi for t in lazy.targets if t.descriptor == "vibrato_rate_hz" and t.hi is not None], lazy.summary()


def test_step_verbs_and_a_sized_step_after_a_plain_direction() -> None:
    for prompt in ("drop it down a bit", "drop it down", "bring it down a bit", "drop it a little"):
        a = asked(prompt)
        assert a.get("f0_hz") == "set" and "pitch_trend_semitones_per_s" not in a, (prompt, a)
        assert asked_semitones(prompt) < 0
    assert asked("make it drop in pitch").get("pitch_trend_semitones_per_s") == "down"
    for prompt, n in (("lower, like an octave down", -12), ("higher, maybe a fifth up", 7), ("lower - a whole step", -2)):
        assert asked_semitones(prompt) == n, (prompt, asked_semitones(prompt))


def test_a_sized_step_takes_the_direction_said_before_it_and_frequency_ratios_are_octaves() -> None:
    assert asked_semitones("lower. like a lot lower, a whole octave") == -12
    assert asked_semitones("up a bit. a fifth maybe") == 7
    assert asked_semitones("halve the frequency") == -12
    assert asked_semitones("double the pitch please") == 12
    assert asked_semitones("can it be higher? like the same note but higher") == 12  # the same note, an octave up
    assert asked_semitones("same note, lower") == -12
    assert steps("keep the same note but make it brighter") == []
    assert steps("brighter, and an octave") == []  # no direction anywhere: no step
    assert steps("softer. a tone like a flute") == []  # 'a tone' is a sound, not a step
    # only a clause that says just a direction lends it; a phrasal verb, a movement or a step of its own does not
    for prompt in ("slow down the wobble. a fifth", "turn it up. a fifth", "a bass that slides down, then a fifth",
                   "lower, and make it much brighter, an octave", "double the frequency of the wobble", "halve the pitch wobble"):
        assert steps(prompt) == [], prompt
    assert [s.semitones for s in steps("an octave down, then a fifth")] == [-12]
    assert [s.semitones for s in steps("double the pitch, an octave up")] == [12]
    b = parse_brief("a bass that slides down, then a fifth")
    assert any(t.descriptor == "pitch_trend_semitones_per_s" for t in b.targets)  # the glide is not eaten by a step


def test_words_that_end_like_units_are_not_durations() -> None:
    for prompt in ("have it fall in pitch as it goes", "as soon as it starts, let it swell", "a bass, as deep as it gets"):
        b = parse_brief(prompt, start=START, start_patch=PATCH)
        assert not [t for t in b.targets if t.descriptor in ("sounding_s", "attack_s") and t.lo == t.hi], (prompt, b.summary())
    assert [t.lo for t in parse_brief("a hit a second long").targets if t.descriptor == "sounding_s"] == [pytest.approx(1.0)]
    assert [t.lo for t in parse_brief("a 2s drone").targets if t.descriptor == "sounding_s"] == [pytest.approx(2.0)]


def test_a_kind_of_sound_in_a_refinement_is_a_simile_not_a_change() -> None:
    assert asked("darker, more like wind far away") == {"centroid_hz": "down"}
    assert asked("let it boom a little longer") == {"sounding_s": "up"}
    assert asked("slower attack, like a bow on a violin") == {"attack_s": "up"}
    assert asked("add some noise") == {"flatness": "up"}  # a noise is what changes, not a simile
    fresh = {t.descriptor for t in parse_brief("a deep boom").targets}
    assert "attack_s" in fresh  # a fresh prompt's sound type still says what it is


# ---- more chat phrasings (held_out_6's blind run, 16:09-16:26 UTC, read after it; word lists the test's own)
@pytest.mark.parametrize("prompt,key,way", [
    ("it's kinda dull though, could it be brighter", "centroid_hz", "up"), ("bit dull, open it up", "centroid_hz", "up"),
    ("a little too dark now", "centroid_hz", "up"), ("sorta bright, tone it down", "centroid_hz", "down"),
    ("open it up a bit", "centroid_hz", "up"), ("less fizz please", "flatness", "down"), ("less grit and hiss", "flatness", "down"),
    ("cleaner please, less grit and hiss", "flatness", "down"), ("no crackle or hiss", "flatness", "down"),
    ("the start is too lazy", "attack_s", "down"), ("the attack feels a bit soft", "attack_s", "down"),
    ("the front is a bit soft, punchier start please", "attack_s", "down"), ("I want it to hit right away", "attack_s", "down"),
    ("the start's too abrupt", "attack_s", "up"), ("the onset is way too sharp", "attack_s", "up"),
    ("it goes on forever, cut it down a lot", "sounding_s", "down"), ("it drags on too long", "sounding_s", "down"),
    ("cut it down", "sounding_s", "down"), ("softer attack, fade it in instead of that click", "attack_s", "up"),
])
def test_chat_complaints_and_verbs(prompt, key, way) -> None:
    a = asked(prompt)
    assert a.get(key) == way, (prompt, a)
    assert set(a) == {key}, (prompt, a)  # and nothing else


def test_a_rate_word_is_the_modulations_not_the_sounds_and_counts_and_full() -> None:
    for prompt in ("add some vibrato, kinda quick", "a tremolo, pretty fast", "give it a wobble, nice and slow"):
        b = parse_brief(prompt, start=START, start_patch=PATCH)
        assert not [t for t in b.targets if t.descriptor == "sounding_s" and not t.kept], (prompt, b.summary())
    assert asked_semitones("pitch it up a couple semitones") == 2
    assert asked_semitones("up a couple of semitones") == 2
    assert asked_semitones("go a full octave down") == -12 and set(asked("go a full octave down")) == {"f0_hz"}


def test_a_rate_after_a_comma_is_no_complaint() -> None:
    b = parse_brief("and add some vibrato, kinda quick", start=START, start_patch=PATCH)
    assert [t.lo for t in b.targets if t.descriptor == "vibrato_rate_hz"] == [pytest.approx(6.0)], b.summary()


def test_a_no_goes_with_each_noise_named_and_nothing_else() -> None:
    assert asked("no crackle or vibrato").get("flatness") == "down"
    fresh = {t.descriptor: t for t in parse_brief("a pad with no vibrato and a slow attack").targets}
    assert fresh["attack_s"].lo is not None  # the attack is asked, not negated
    assert asked("less hiss and brighter") == {"flatness": "down", "centroid_hz": "up"}


@pytest.mark.parametrize("prompt,key,way", [
    ("make the bow come in slower", "attack_s", "up"), ("have it come in slowly, no hard start", "attack_s", "up"),
    ("it takes ages to kick in", "attack_s", "down"), ("round off the front of it", "attack_s", "up"),
    ("open up the filter", "centroid_hz", "up"), ("close the filter down a bit", "centroid_hz", "down"), ("muffle it a bit", "centroid_hz", "down"),
    ("let it fade out", "decay_db_per_s", "down"),
])
def test_onsets_filters_and_fades_in_chat(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))



def test_takes_forever_is_a_complaint_and_a_negated_fade_is_not_a_fade() -> None:
    assert asked("it takes forever to come in").get("attack_s") == "down"
    assert "attack_s" not in asked("let it take a while to come in")  # a wish, not a complaint
    for prompt in ("it shouldn't fade out", "don't let it fade away", "no fade out"):
        assert "decay_db_per_s" not in asked(prompt), prompt
    assert asked("it fades out too quickly").get("sounding_s") == "up"
    assert asked("let it fade out").get("decay_db_per_s") == "down"


# ---- tuning_2's phrasings (a seen set written for tuning, 2026-12-01), said in the test's own words
@pytest.mark.parametrize("prompt,key,way", [
    ("the pitch wobble is too much, take it out", "vibrato_depth_cents", "down"), ("i want zero vibrato", "vibrato_depth_cents", "down"),
    ("give me a stable pitch", "vibrato_depth_cents", "down"), ("the warble is nice but lose it", "vibrato_depth_cents", "down"),
    ("scrap the tremolo", "am_depth_db", "down"), ("turn the leslie off", "am_depth_db", "down"), ("stop the pulsing", "am_depth_db", "down"),
    ("keep the volume at one level", "am_depth_db", "down"),
    ("choke it sooner", "sounding_s", "down"), ("gate the tail shorter", "sounding_s", "down"), ("it should end earlier", "sounding_s", "down"),
    ("make it half as long", "sounding_s", "down"), ("the sound is too much long", "sounding_s", "down"),
    ("stretch the tail out", "sounding_s", "up"), ("let the note ring out", "sounding_s", "up"), ("more ring please", "sounding_s", "up"),
    ("twice as long", "sounding_s", "up"), ("make the blip longer", "sounding_s", "up"),
    ("it takes way too long to arrive", "attack_s", "down"), ("a bit slower on the attack", "attack_s", "up"), ("make it snap", "attack_s", "down"),
    ("ease the note in", "attack_s", "up"),
    ("make it nosedive", "pitch_trend_semitones_per_s", "down"), ("let the pitch sag", "pitch_trend_semitones_per_s", "down"),
    ("have it chirp upward", "pitch_trend_semitones_per_s", "up"), ("a pitch-bend upwards", "pitch_trend_semitones_per_s", "up"),
    ("the hiss is way too loud", "flatness", "down"), ("quieter breath noise", "flatness", "down"),
    ("it's to dull", "centroid_hz", "up"), ("i don't want it so bright", "centroid_hz", "down"), ("a little more edge up top", "centroid_hz", "up"),
    ("let it tail off", "decay_db_per_s", "down"),
])
def test_removals_lengths_onsets_and_glides_said_in_other_words(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_a_rate_said_as_a_factor_of_the_starts() -> None:
    wobble = {**START, "am_depth_db": 9.0, "am_rate_hz": 5.0}
    vibrato = {**START, "vibrato_depth_cents": 35.0, "vibrato_rate_hz": 6.0}
    for prompt, start, key, hz in (("halve the wobble speed", wobble, "am_rate_hz", 2.5), ("double its rate", wobble, "am_rate_hz", 10.0),
                                   ("make it twice as slow", wobble, "am_rate_hz", 2.5), ("too fast, like half that", vibrato, "vibrato_rate_hz", 3.0)):
        rate = [t for t in parse_brief(prompt, start=start, change_reader=False).targets if t.descriptor == key]
        assert [(t.lo, t.hi) for t in rate] == [(hz, hz)], prompt
    plain = parse_brief("halve the wobble speed", start=START, change_reader=False)  # nothing wobbles: said, not guessed
    assert not any(t.descriptor == "am_rate_hz" for t in plain.targets) and any("no level wobble" in n for n in plain.notes)


def test_a_bare_count_after_a_bare_direction_and_a_sized_step_after_a_plain_verb() -> None:
    # seen held_out_12: "up 12" read nothing, and "make the voice go more high, one octave" a default 5-semitone step
    for prompt, semis in (("up 12", 12), ("ok, down 7 then", -7), ("please make it go more high, one octave", 12), ("can you make it lower, two octaves", -24)):
        assert asked_semitones(prompt) == semis, prompt
    for prompt in ("turn it up 3 db", "slow it down 2 times"):
        assert asked_semitones(prompt) is None, prompt


@pytest.mark.parametrize("prompt,key,way", [
    ("less breathy", "flatness", "down"), ("a bit less hissy please", "flatness", "down"), ("halve the tail", "sounding_s", "down"),
    ("double the release", "sounding_s", "up"), ("it keeps pumping, I want a steady level", "am_depth_db", "down"),
    ("those level swells bug me, keep the volume at one level", "am_depth_db", "down"),
])
def test_held_out_12_phrasings_in_other_words(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_a_count_per_second_with_a_bound_is_a_bound() -> None:
    def rate(prompt: str) -> list[tuple]:
        return [(t.lo, t.hi) for t in parse_brief(prompt, start=START, start_patch=PATCH, change_reader=False).targets if t.descriptor == "am_rate_hz"]

    assert rate("add slow swells in the level, 3 a second at most") == [(None, 3.0)]
    assert rate("a tremolo, 4 per second or faster") == [(4.0, None)]
    assert rate("shorter, and it should fade fast, 12 dB per sec at least") == []  # a decay rate, not a wobble's


# ---- a second reader's review of this session's rules (2026-12-01): each prompt once read wrongly by them
WOBBLE = {**START, "am_depth_db": 9.0, "am_rate_hz": 5.0}


def _read(prompt: str, start: dict | None) -> dict[str, tuple]:
    b = parse_brief(prompt, start=start, start_patch=PATCH if start else None, change_reader=False)
    return {t.descriptor: (t.lo, t.hi) for t in b.targets if not t.kept}


@pytest.mark.parametrize("prompt,fresh,absent", [
    ("water dripping into a sink", True, "pitch_trend_semitones_per_s"), ("an old rotary phone ringing", True, "am_depth_db"),
    ("a pumping techno kick", True, "am_depth_db"), ("a laser with a straight pitch drop", True, "pitch_range_semitones"),
    ("a pitch drop that is faster at the start", True, "attack_s"), ("a quieter hiss", True, "flatness_down"),
    ("more noise on the attack but kill it in the tail", False, "flatness_down"), ("add some vibrato and drop it an octave", False, "vibrato_depth_cents_down"),
    ("i don't want it to end earlier", False, "sounding_s"), ("don't cut it off early", False, "sounding_s"), ("it ends a bit early", False, "sounding_s_down"),
    ("halve the decay rate", False, "sounding_s"), ("louder, up 6 decibels", False, "f0_hz"), ("then down 10 milliseconds on the attack", False, "f0_hz"),
    ("the noise is much better now, make it darker", False, "flatness"), ("the hiss is high pitched, make it lower", False, "flatness"),
])
def test_words_that_look_like_asks_but_are_not(prompt, fresh, absent) -> None:
    read = _read(prompt, None if fresh else START)
    if absent.endswith("_down"):  # no lower bound asked of it (a decrease)
        assert read.get(absent[: -len("_down")], (None, None))[1] is None, (prompt, read)
    else:
        assert absent not in read, (prompt, read)


def test_modulation_words_said_of_the_start_are_no_asks() -> None:
    assert "am_depth_db" not in _read("the tremolo is fine, just drop it an octave", WOBBLE)
    assert "am_depth_db" not in _read("the wobble is great, stop it from clipping", WOBBLE)
    assert _read("don't stop the pulsing", WOBBLE).get("am_depth_db", (None, None))[1] is None
    assert _read("make it brighter but keep it at the same volume", WOBBLE).keys() == {"centroid_hz"}
    assert "am_rate_hz" not in _read("make the attack twice as fast", WOBBLE) and "am_rate_hz" not in _read("too long, like half that", WOBBLE)
    assert _read("make it so the tremolo is at 3 Hz", WOBBLE)["am_rate_hz"] == (3.0, 3.0)
    assert _read("put a fade on the front", START)["attack_s"][0] > START["attack_s"]
    assert _read("bring back the pluck", START)["attack_s"][1] is not None  # the pluck asked for, not the sound named
    assert "flatness" in _read("a breathy flute with no static", None) and _read("a breathy flute with no static", None)["flatness"][0] is not None


@pytest.mark.parametrize("prompt,key,way", [
    ("can it swell in even slower", "attack_s", "up"), ("bloom in a bit quicker", "attack_s", "down"),
    ("not so long pls", "sounding_s", "down"), ("not so bright this time", "centroid_hz", "down"),
])
def test_held_out_13_phrasings_in_other_words(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_raise_it_is_a_higher_note() -> None:
    assert asked_semitones("raise it a little") > 0 and asked_semitones("lift it slightly") > 0 and asked_semitones("lower it a bit") < 0


def test_twice_as_fast_of_the_attack_is_the_attacks() -> None:
    assert asked("make the attack twice as fast") == {"attack_s": "down"} and asked("make the fade-in twice as slow") == {"attack_s": "up"}


@pytest.mark.parametrize("prompt,key,way", [
    ("also can you make it more long? it finish too early", "sounding_s", "up"), ("it finish too early", "sounding_s", "up"),
    ("a bit more bright please", "centroid_hz", "up"), ("it got a bit muddy, open up the top end a touch", "centroid_hz", "up"),
    ("bit too piercing. soften the highs", "centroid_hz", "down"),
    ("needs to creep in. fade it up over a few seconds instead of it just being there", "attack_s", "up"),
])
def test_held_out_14_phrasings_in_other_words(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_an_unwanted_movement_is_a_removal_and_an_adjective_no_second_movement() -> None:
    assert _read("the pulsing beat in the volume is distracting, can it be steady", WOBBLE) == {"am_depth_db": (None, 1.0)}
    assert _read("hm no, take the pulsing out again, keep the level steady", WOBBLE) == {"am_depth_db": (None, 1.0)}
    assert _read("that vibrato is cheesy", {**START, "vibrato_depth_cents": 30.0, "vibrato_rate_hz": 5.0})["vibrato_depth_cents"][1] is not None
    assert _read("the tremolo is not distracting at all", WOBBLE).get("am_depth_db", (None, None))[1] is None
    assert _read("the hiss is distracting", START)["flatness"][1] is not None
    warble = _read("add a slow wobbly warble in the pitch like an old tape deck", START)
    assert "vibrato_depth_cents" in warble and not any(k.startswith("am_") for k in warble)
    assert _read("the start is too abrupt, like a harsh bow stroke. I would prefer a gentler, slower onset.", START).keys() == {"attack_s"}


def test_a_number_says_how_much_a_comparative_asks() -> None:
    b = parse_brief("i'd like it to swell in much slower, like 4 or 5 seconds to reach full level", start=START, start_patch=PATCH, change_reader=False)
    t = next(t for t in b.targets if t.descriptor == "attack_s" and not t.kept)
    assert (t.lo, t.hi) == (4.0, 5.0) and t.set_by["keyboard.duration"] == pytest.approx(2.2)
    assert b.render_seconds == pytest.approx(2.4) and any("2 s at most" in n for n in b.notes)  # the Voice's envelope: said, not hidden
    assert _read("fade it in over 1.5 seconds", START) == {"attack_s": (1.5, 1.5)}
    assert _read("make it last longer, like 4 seconds", START)["sounding_s"] == (4.0, 4.0)
    assert _read("make it 2 to 3 seconds long", START)["sounding_s"] == (2.0, 3.0)
    assert _read("a slower attack of 200 ms", START)["attack_s"] == (0.2, 0.2)


def test_an_amount_with_its_comparative_moves_from_the_start() -> None:
    # START sounds 1.5 s with a 0.2 s attack: "half a second longer" is 2 s, not a 0.5 s sound
    assert _read("make it half a second longer", START)["sounding_s"] == (2.0, 2.0)
    assert _read("longer by a second", START)["sounding_s"] == (2.5, 2.5)
    assert _read("swell in a second slower", START)["attack_s"] == pytest.approx((1.2, 1.2))
    assert _read("change the length from 1 to 2 seconds", START)["sounding_s"] == (2.0, 2.0)


def test_a_length_number_beside_an_attack_word_is_the_length() -> None:
    for prompt in ("snappier attack, 2 seconds long", "make it 2 seconds long with a sharper attack", "a punchier attack and let it ring for 2 seconds"):
        got = _read(prompt, START)
        assert got["sounding_s"] == (2.0, 2.0) and got["attack_s"][1] is not None and got["attack_s"][1] < START["attack_s"], (prompt, got)


def test_a_complaint_rule_stays_in_its_clause() -> None:
    kept = _read("keep the vibrato, the hiss is annoying", {**START, "vibrato_depth_cents": 30.0, "vibrato_rate_hz": 5.0})
    assert kept["flatness"][1] is not None and kept.get("vibrato_depth_cents", (None, None))[1] is None
    assert "am_depth_db" not in _read("the tremolo is distracting, make it slower", WOBBLE) or _read("the tremolo is distracting, make it slower", WOBBLE)["am_depth_db"][1] is None
    both = _read("the start is too abrupt like a click and it needs more low end", START)
    assert both["attack_s"][0] > START["attack_s"] and both["centroid_hz"][1] is not None


@pytest.mark.parametrize("prompt,key,way", [
    ("+12 pls, it vanishes on laptop speakers", "f0_hz", "set"), ("too much air, cut it way back", "flatness", "down"),
    ("now make it sound like it's underwater", "centroid_hz", "down"), ("less boxy, more open sounding", "centroid_hz", "up"),
    ("ok bring the brightness back up, the underwater thing was too much", "centroid_hz", "up"),
    ("less scratchy please, too much bow noise", "flatness", "down"), ("pitch it so it drops after the hit, like a syndrum", "pitch_trend_semitones_per_s", "down"),
    ("tame the top end, and have it scoop up into the note from below", "pitch_trend_semitones_per_s", "up"),
    ("not so plucky - let the note hold instead of dying off right away", "sounding_s", "up"),
    ("way faster fade-in", "attack_s", "down"), ("a slower fade-in please", "attack_s", "up"),
    ("make it sound like it's coming from another room", "centroid_hz", "down"),
])
def test_held_out_15_phrasings_in_other_words(prompt, key, way) -> None:
    assert asked(prompt).get(key) == way, (prompt, asked(prompt))


def test_signed_bare_steps_sized_comparatives_and_negated_asks() -> None:
    assert asked_semitones("down an oct") == -12 and asked_semitones("oct up") == 12
    assert asked_semitones("+12 pls") == 12 and asked_semitones("-12, darker, shorter tail") == -12 and asked_semitones("can u make it a littel higher, like 3 semitones") == 3
    assert "f0_hz" not in asked("cut it by -3 dB")
    vib = {**START, "vibrato_depth_cents": 30.0, "vibrato_rate_hz": 6.0}
    assert _read("the vibrato is a tad too fast, slow it down", vib)["vibrato_rate_hz"][1] < 6.0
    assert _read("way less vibrato, basically none", vib)["vibrato_depth_cents"] == (None, 5.0)
    assert _read("tremolo off, and a bit more bite", WOBBLE)["am_depth_db"][1] is not None
    assert "flatness" not in _read("longer tail on the noise", START)
    assert "decay_db_per_s" not in _read("not so plucky - let the note hold instead of dying off right away", START)
    assert "sustain_level_db" not in _read("get rid of the pulsing entirely, just a steady tone", WOBBLE)
    assert _read("longer pls, like a full second or more", {**START, "sounding_s": 0.4})["sounding_s"] == (1.0, None)
    assert _read("longer pls, like a full second or more", START)["sounding_s"][0] > START["sounding_s"]  # a floor the start is past: a step longer
    # a negated imperative asks nothing of what it names ("don't make it any brighter"), while a complaint still asks
    for prompt in ("don't make it any brighter", "do not make it brighter", "dont add vibrato", "never let it get longer"):
        assert _read(prompt, START) == {}, prompt
    assert _read("hmm, put the tail back short like before, and dont make it any brighter", START).keys() == {"sounding_s"}
    assert _read("don't make it so bright this time", START)["centroid_hz"][1] is not None


def test_held_out_17_phrasings_in_other_words() -> None:
    # held_out_17's misreads, read after its blind runs: a rate said as a verb after the modulation was named, a siren's
    # "wailing", a rate "turned down", a register noun that names what the start should stay, "too pitched"
    vib = {**START, "vibrato_depth_cents": 30.0, "vibrato_rate_hz": 5.0}
    assert _read("the vibrato is kinda lazy, can you speed it up a bit", vib)["vibrato_rate_hz"][0] > 5.0
    assert _read("the tremolo feels sluggish, speed it up", WOBBLE)["am_rate_hz"][0] is not None
    assert _read("the vibrato drags, slow it down please", vib)["vibrato_rate_hz"][1] < 5.0
    assert _read("slow down the wailing, way too fast", vib)["vibrato_rate_hz"][1] < 5.0
    assert _read("vibrato rate down a little", vib).keys() == {"vibrato_rate_hz"}
    assert _read("turn the tremolo speed up a bit", WOBBLE)["am_rate_hz"][0] is not None
    plain = _read("hmm get rid of the wobble, just a plain sub", WOBBLE)
    assert "f0_hz" not in plain and plain["am_depth_db"][1] is not None
    for prompt in ("make it a sub", "make it a plain sub", "make it a pure sub bass"):
        assert "f0_hz" in _read(prompt, START), prompt  # a sub asked is still a lower note
    assert _read("it sounds too pitched", START)["flatness"][0] is not None
    assert "flatness" not in _read("it's too pitched down", START)
    assert _read("no wailing", vib)["vibrato_depth_cents"][1] <= 5.0 and _read("less wailing", vib)["vibrato_depth_cents"][1] < 30.0
    # the verb must follow its own modulation: "speed it up" alone is no vibrato rate, even of a start with vibrato
    assert "vibrato_rate_hz" not in _read("speed it up", vib)


def test_trem_is_a_tremolo() -> None:
    # held_out_18's "no trem at all actually, and make it darker" read only the darker
    assert _read("no trem at all actually, and make it darker", WOBBLE)["am_depth_db"][1] is not None
    assert _read("add some trem", START)["am_depth_db"][0] is not None
