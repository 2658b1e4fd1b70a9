"""The change reader (models/brief/reader.py) and how the brief consults it."""

from __future__ import annotations

import numpy as np
import pytest

from lstmabar.models.brief import parse_brief
from typing import get_args

from lstmabar.models.brief.reader import ADD_P, CHANGES, DROP_P, WEIGHTS, ChangeName, ChangeReader, arbitrate, fit, shipped, step_changes

START = {"pitched": True, "f0_hz": 220.0, "centroid_hz": 1000.0, "attack_s": 0.05, "sounding_s": 1.5, "flatness": 0.01, "silent": False,
         "decay_db_per_s": -3.0, "sustain_level_db": -6.0}
PATCH = {"keyboard.midi_f0": 57.0, "keyboard.duration": 1.2, "vco_1.tuning": 0.0, "vco_2.tuning": 12.0, "mixer.noise": 0.1}
KEYWORDS = ("dull", "lazy", "hiss", "wobble", "shiny", "steady", "mellow", "vibrato", "lifeless")


def encode(texts: list[str]) -> np.ndarray:
    """A stand-in sentence encoder: one dimension per keyword."""
    return np.array([[float(k in t.lower()) for k in KEYWORDS] for t in texts])


def reader_for(rules: dict[str, dict[str, float]]) -> ChangeReader:
    """A reader whose logit for each change is +6 for its keywords and -6 otherwise."""
    changes = tuple(CHANGES)
    coef = np.zeros((len(changes), len(KEYWORDS)))
    for i, c in enumerate(changes):
        for k, w in rules.get(c, {}).items():
            coef[i, KEYWORDS.index(k)] = w
    return ChangeReader(changes, coef, np.full(len(changes), -6.0), "test")


def asked(brief) -> dict[str, tuple[float | None, float | None]]:
    return {t.descriptor: (t.lo, t.hi) for t in brief.targets if not t.kept}


def test_step_changes_reads_every_demand_form():
    step = {"change": [{"d": "f0_hz", "semitones": -12}, {"d": "centroid_hz", "dir": "up"},
                       {"d": "am_depth_db", "op": ">=", "v": 3, "needs": "am_rate_hz"}, {"d": "vibrato_depth_cents", "op": "<=", "v": 5}]}
    assert step_changes(step) == {"lower", "brighter", "wobble", "no vibrato"}


def test_fit_learns_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 8))
    ys = [{"brighter"} if v[0] > 0 else {"darker"} for v in x]
    r = fit(x, ys)
    assert set(r.changes) == {"brighter", "darker"}
    p = r.probabilities(np.array([[3.0] + [0.0] * 7, [-3.0] + [0.0] * 7]))
    i = r.changes.index("brighter")
    assert p[0, i] > 0.9 and p[1, i] < 0.1
    r.save(tmp_path / "r.npz")
    back = ChangeReader.load(tmp_path / "r.npz")
    assert back.changes == r.changes and np.allclose(back.coef, r.coef, atol=1e-5)


def test_arbitrate_drops_unlikely_word_reads_but_not_the_grammar():
    p = {c: 0.01 for c in CHANGES}
    drop, add = arbitrate({"centroid_hz": False, "attack_s": True}, p)
    assert [d for d, _, _ in drop] == ["centroid_hz"]  # the attack came from a number: kept
    assert add == []


def test_arbitrate_adds_only_on_untouched_qualities_and_never_pitch():
    p = {c: 0.0 for c in CHANGES} | {"brighter": 0.9, "darker": 0.5, "slower attack": 0.95, "higher": 0.99, "wobble": 0.8, "slower wobble": 0.7}
    drop, add = arbitrate({"attack_s": False}, p)
    assert drop == []
    names = [c for c, _ in add]
    assert "brighter" in names and "darker" not in names  # the likelier direction of a descriptor
    assert "slower attack" not in names  # the words already read the attack
    assert "higher" not in names  # pitch steps are the grammar's
    assert names.index("slower wobble") > names.index("wobble")  # a rate after its modulation
    assert all(pr > ADD_P for _, pr in add)


def test_brief_adds_a_change_the_words_missed():
    r = reader_for({"brighter": {"lifeless": 12.0}})
    words = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=encode, change_reader=False)
    assert "centroid_hz" not in asked(words)
    b = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    lo, hi = asked(b)["centroid_hz"]
    assert lo is not None and lo > START["centroid_hz"] and hi is None
    t = next(t for t in b.targets if t.descriptor == "centroid_hz" and not t.kept)
    assert "change reader" in t.source
    assert not any(t.kept and t.descriptor == "centroid_hz" for t in b.targets)  # an asked brightness is not also kept


def test_a_complaint_reads_the_way_back_and_the_reader_takes_its_direction():
    # "too dull": the crowd's dull (-0.56) negated the whole way back is brighter (halved, it fell under the tilt a change
    # needs and the reader's darker filled the gap)
    words = parse_brief("it's too dull", start=START, start_patch=PATCH, encode=encode, change_reader=False)
    lo, hi = asked(words)["centroid_hz"]
    assert lo is not None and lo > START["centroid_hz"] and hi is None
    # "too mellow": mellow's tilt (-0.28) is too small for a target, but the complaint says which way; a reader that reads
    # mellow as darker gives the quality, the words the direction
    r = reader_for({"darker": {"mellow": 12.0}})
    b = parse_brief("it's too mellow", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    lo, hi = asked(b)["centroid_hz"]
    assert lo is not None and lo > START["centroid_hz"] and hi is None
    assert any("its direction is the words'" in n for n in b.notes)
    plain = parse_brief("make it mellow", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    lo, hi = asked(plain)["centroid_hz"]
    assert hi is not None and hi < START["centroid_hz"]  # no complaint: the reader's direction stands
    # "less vibrato" of a start with none measured: the reader's "vibrato" (and its rate) is not added
    rv = reader_for({"vibrato": {"vibrato": 12.0}, "slower vibrato": {"vibrato": 12.0}})
    less = parse_brief("less vibrato", start=START, start_patch=PATCH, encode=encode, change_reader=rv)
    assert not any(t.descriptor in ("vibrato_depth_cents", "vibrato_rate_hz") and t.lo is not None for t in less.targets if not t.kept)
    # "don't make the vibrato faster": the words leave the vibrato, and so does the reader (it had added a slower one, p 0.98)
    vib = {**START, "vibrato_depth_cents": 35.0, "vibrato_rate_hz": 6.0}
    vpatch = {**PATCH, "lfo_2.frequency": 6.0, "mod_matrix.lfo_2->vco_1_pitch": 1.0, "vco_1.mod_depth": 0.8}
    left = parse_brief("don't make the vibrato faster", start=vib, start_patch=vpatch, encode=encode, change_reader=rv)
    assert not any(t.descriptor in ("vibrato_depth_cents", "vibrato_rate_hz") for t in left.targets if not t.kept)
    assert any("the words say to leave it" in n for n in left.notes)
    # the words read a vibrato: the reader adds no level wobble beside it; a comparative the words gave the attack is no rate
    rw = reader_for({"wobble": {"vibrato": 12.0}, "faster wobble": {"vibrato": 12.0}, "slower wobble": {"lazy": 12.0}})
    vib_only = parse_brief("faster vibrato please", start=START, start_patch=PATCH, encode=encode, change_reader=rw)
    assert not any(t.descriptor.startswith("am_") for t in vib_only.targets if not t.kept)
    swell = parse_brief("lazy: can it swell in even slower", start=START, start_patch=PATCH, encode=encode, change_reader=rw)
    assert not any(t.descriptor.startswith("am_") for t in swell.targets if not t.kept) and any(t.descriptor == "attack_s" for t in swell.targets)
    more = parse_brief("more vibrato", start=START, start_patch=PATCH, encode=encode, change_reader=rv)
    assert any(t.descriptor == "vibrato_depth_cents" and t.lo is not None for t in more.targets if not t.kept)


def test_brief_drops_a_word_read_the_reader_finds_unlikely():
    # 'steady' reads as a steady pitch and a sustained level; a reader that sees no pitch or length change in
    # "I want it steady" (but a wobble taken out) leaves those out, and the length is kept instead
    r = reader_for({"no wobble": {"steady": 12.0}})
    words = parse_brief("I want it steady", start=START, start_patch=PATCH, encode=encode, change_reader=False)
    assert "sustain_level_db" in asked(words)
    b = parse_brief("I want it steady", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    assert "sustain_level_db" not in asked(b) and "am_depth_db" in asked(b)
    assert any("change reader finds that unlikely" in n for n in b.notes)
    assert any(t.kept and t.descriptor == "sounding_s" for t in b.targets)
    # with the wobble named, the words read "steady" as what its removal leaves: no sustain asked, reader or not
    assert asked(parse_brief("lose the wobble, I want it steady", start=START, start_patch=PATCH, encode=encode, change_reader=False)) == {"am_depth_db": (None, 1.0)}


def test_reader_adds_no_glide_to_a_vibrato_and_no_wobble_to_a_swell():
    # "a slow shaky wobble in the pitch": the pitch word is the vibrato's; a reader sure of a fall (p 0.998) adds none,
    # unless the words name a glide
    r = reader_for({"falling": {"wobble": 12.0}, "vibrato": {"wobble": 12.0}, "slower vibrato": {"wobble": 12.0}, "wobble": {"lazy": 12.0},
                    "slower wobble": {"lazy": 12.0}, "slower attack": {"lazy": 12.0}})
    vib = parse_brief("add a slow shaky wobble in the pitch, like an old theremin", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    assert "vibrato_depth_cents" in asked(vib) and "pitch_trend_semitones_per_s" not in asked(vib)
    both = parse_brief("add a wobble in the pitch and let it sag downward", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    assert "pitch_trend_semitones_per_s" in asked(both)
    # a swell of the level into the sound is its attack: no level wobble from a reader that reads one in "lazy"
    swell = parse_brief("too lazy at first? no: make it swell in much slower", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    assert "attack_s" in asked(swell) and not any(k.startswith("am_") for k in asked(swell))
    fade = parse_brief("lazy. fade it in over 1.5 seconds", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    assert asked(fade) == {"attack_s": (1.5, 1.5)}


def test_brief_keeps_numbers_and_pitch_steps_whatever_the_reader_says():
    r = reader_for({})  # every change unlikely
    b = parse_brief("an octave lower with a 200 ms attack", start=START, start_patch=PATCH, encode=encode, change_reader=r)
    a = asked(b)
    assert a["f0_hz"][0] == pytest.approx(110.0, rel=1e-3) and a["attack_s"] == (0.2, 0.2)


def test_reader_needs_its_encoder():
    r = reader_for({"brighter": {"lifeless": 12.0}})
    b = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=None, change_reader=r)
    assert "centroid_hz" not in asked(b) and any("not consulted" in n for n in b.notes)
    wrong = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=lambda t: np.zeros((len(t), 3)), change_reader=r)
    assert any("not consulted" in n for n in wrong.notes)


def test_fresh_prompts_do_not_consult_the_reader():
    r = reader_for({"brighter": {"lifeless": 12.0}})
    b = parse_brief("a dull thud", encode=encode, change_reader=r)
    assert not any("change reader" in t.source for t in b.targets)


def test_shipped_reader_is_present_and_kept_off_the_blind_set():
    r = shipped()
    assert r is not None and WEIGHTS.exists()
    assert r.coef.shape == (len(r.changes), 384)
    excluded = set(r.trained_on.split("excluded ")[1].split(")")[0].split(", "))
    assert "held_out_18" in excluded  # the blind set of the day
    assert {"brighter", "darker", "slower attack", "faster attack", "longer", "shorter", "noisier", "cleaner"} <= set(r.changes)
    assert 0 < DROP_P < ADD_P < 1


def test_change_names_are_the_readers_changes():
    assert set(get_args(ChangeName)) == set(CHANGES)


def test_named_changes_replace_the_words_but_keep_numbers():
    b = parse_brief("brighter please", start=START, start_patch=PATCH, encode=encode, changes=["darker", "wobble", "slower wobble"])
    a = asked(b)
    assert a["centroid_hz"][1] is not None and a["centroid_hz"][1] < START["centroid_hz"] and a["centroid_hz"][0] is None
    assert "am_depth_db" in a and a["am_rate_hz"][1] is not None  # the rate after its wobble
    assert any("named by the caller" in n for n in b.notes)
    fifth = parse_brief("a fifth up", start=START, start_patch=PATCH, changes=["higher"])
    assert asked(fifth)["f0_hz"][0] == pytest.approx(220.0 * 2 ** (7 / 12), rel=1e-3)
    plain = parse_brief("whatever you think", start=START, start_patch=PATCH, changes=["higher"])
    assert asked(plain)["f0_hz"][0] > 220.0
    with pytest.raises(ValueError, match="unknown change"):
        parse_brief("x", start=START, start_patch=PATCH, changes=["dimmer"])


def test_a_named_rate_change_moves_the_starts_own_modulation():
    wobbling = {**START, "am_rate_hz": 5.0, "am_depth_db": 6.0}
    patch = {**PATCH, "lfo_1.frequency": 5.2, "lfo_2.frequency": 1.0, "mod_matrix.lfo_1->vco_1_amp": 0.8, "mixer.vco_1": 1.0}
    b = parse_brief("slow it down", start=wobbling, start_patch=patch, changes=["slower wobble"])
    lo, hi = asked(b)["am_rate_hz"]
    assert lo is None and hi < 5.0 and "am_depth_db" not in asked(b)  # the start's wobble, slower; no new one
    assert b.settings["lfo_1.frequency"] < 5.2 * hi / 5.0  # the LFO that drives the level, set past the asked rate
    still = parse_brief("slow it down", start=START, start_patch=PATCH, changes=["slower wobble"])
    assert "am_depth_db" in asked(still) and asked(still)["am_rate_hz"][1] is not None  # nothing wobbled: a slow wobble is added


def test_opposite_named_changes_are_refused_and_a_contrary_pitch_direction_is_said():
    with pytest.raises(ValueError, match="opposite changes"):
        parse_brief("x", start=START, start_patch=PATCH, changes=["brighter", "darker"])
    b = parse_brief("a fifth up", start=START, start_patch=PATCH, changes=["lower"])
    assert asked(b)["f0_hz"][0] == pytest.approx(220.0 * 2 ** (7 / 12), rel=1e-3)
    assert any("goes the other way" in n for n in b.notes)


def test_odd_encoder_outputs_are_said_not_crashed_on():
    r = reader_for({"brighter": {"lifeless": 12.0}})
    for enc in (lambda t: np.zeros((0, len(KEYWORDS))), lambda t: np.zeros((2, len(KEYWORDS))), lambda t: np.zeros(())):
        b = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=enc, change_reader=r)
        assert any("not consulted" in n for n in b.notes)
    flat = parse_brief("it's kinda lifeless though", start=START, start_patch=PATCH, encode=lambda t: encode(t)[0], change_reader=r)
    assert "centroid_hz" in asked(flat)  # one vector, not in a batch: read


def test_a_named_pitch_direction_takes_the_prompts_unsigned_size():
    import math

    def semis(prompt, changes):
        t = [t for t in parse_brief(prompt, start=START, start_patch=PATCH, changes=changes).targets if t.descriptor == "f0_hz" and not t.kept]
        return round(12 * math.log2(t[0].lo / START["f0_hz"]), 3)

    assert semis("more low please, one octave", ["lower"]) == -12
    assert semis("flatten it by a semitone", ["lower"]) == -1
    assert semis("a tone like a flute, but higher", ["higher"]) == 5  # 'a tone' is a sound: the default step
    assert semis("can it be higher? like the same note but higher", ["higher"]) == 12  # the same note: an octave
    assert semis("halve the frequency", ["lower"]) == -12
