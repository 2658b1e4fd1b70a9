"""The crowd prior (word -> EQ / reverb / compressor meaning), its word forms and its artefact."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from lstmabar.models.fx.crowd import prior as prior_mod
from lstmabar.models.fx.crowd.prior import BANDS_HZ, CrowdPrior
from lstmabar.models.fx.crowd.words import lemma, tokens

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def P() -> CrowdPrior:
    return CrowdPrior.load()


class _VectorEncoder:
    """Stands in for MiniLM: returns a fixed vector for every text."""

    def __init__(self, vec: np.ndarray):
        self.vec = np.asarray(vec, np.float32)
        self.calls: list[list[str]] = []

    def encode(self, texts):
        import torch

        self.calls.append(list(texts))
        return torch.from_numpy(np.tile(self.vec, (len(texts), 1)))


@pytest.fixture
def fake_encoder():
    old = prior_mod._encoder

    def use(vec):
        enc = _VectorEncoder(vec)
        prior_mod.set_encoder(enc)
        return enc

    yield use
    prior_mod.set_encoder(old)


@pytest.mark.parametrize(
    "word,vocab,expected",
    [("brighter", {"bright"}, "bright"), ("warmer", {"warm"}, "warm"), ("muddier", {"muddy"}, "muddy"), ("bigger", {"big"}, "big"),
     ("wider", {"wide"}, "wide"), ("roomier", {"roomy"}, "roomy"), ("echoes", {"echo"}, "echo"), ("drier", None, "dry"),
     ("water", {"wat"}, "water"), ("brighter", {"brighter", "bright"}, "brighter"), ("thinner", {"thin"}, "thin")],
)
def test_lemma(word, vocab, expected):
    assert lemma(word, vocab) == expected


def test_tokens_keep_hyphenated_words():
    assert tokens("Make it lo-fi, and WARMER!") == ["make", "it", "lo-fi", "and", "warmer"]


def test_known_words_have_the_crowd_shape(P):
    warm, bright = P.eq("warm"), P.eq("brighter")
    assert warm.known_as == "warm" and warm.count >= 50 and bright.known_as == "bright"
    lows, highs = (BANDS_HZ >= 100) & (BANDS_HZ <= 400), BANDS_HZ >= 5000
    assert warm.values[lows].mean() > warm.values[highs].mean() + 0.5  # warm: lows up, highs down
    assert bright.values[highs].mean() > bright.values[lows].mean() + 0.5
    assert warm.agreement is not None and warm.agreement > 0.8 and warm.confidence > 0.9


def test_known_reverb_words_order_decay(P):
    small, church = P.reverb("small"), P.reverb("church")
    assert small.known and church.known
    assert np.exp(church.values[0]) > 2 * np.exp(small.values[0])  # decay T60: a church rings far longer than a small room


def test_lookups_of_known_words_take_milliseconds(P):
    P.eq("warm")
    t0 = time.perf_counter()
    for w in ("warm", "brighter", "tinny", "muddier", "dark") * 20:
        P.eq(w), P.reverb(w)
    for w in ("warm", "louder", "clear", "muffled", "distorted") * 20:
        P.compressor(w)
    assert (time.perf_counter() - t0) / 100 < 0.005


def test_unknown_word_borrows_from_similar_words_with_less_confidence(P, fake_encoder):
    held = P.without({"warm"})
    t = held._t["eq"]
    assert "warm" not in t["index"]
    vec = P._t["eq"]["emb"][P._t["eq"]["index"]["warm"]]
    enc = fake_encoder(vec)
    m = held.eq("warm")
    assert not m.known and m.count == 0 and enc.calls == [["a warm sound"]]
    assert m.neighbours and all(w != "warm" for w, _ in m.neighbours)
    assert 0.0 < m.confidence < P.eq("warm").confidence
    # far from every known word: no confidence
    fake_encoder(-vec)
    assert held.eq("warm").confidence == 0.0


def test_artefact_matches_the_meta(P):
    for eff in ("eq", "reverb", "compressor"):
        assert P.word_count(eff) > 100
        assert P.meta[eff]["family"] in ("mean", "nearest", "ridge", "knn")
    assert P.meta["eq"]["validation_words"] == len(P.meta["eq"]["split_half"]) == 47


@pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/data")
def test_artefact_curves_are_the_socialfx_means(P):
    from lstmabar.models.fx.crowd.data import load_eq

    ev = load_eq(DATA)
    for w in ("warm", "bright", "tinny", "muddy"):
        assert np.allclose(P.eq(w).values, ev[w].matrix().mean(0), atol=1e-5)
        assert P.eq(w).count == ev[w].n


# ----------------------------------------------------------------------------- prompts
@pytest.mark.parametrize(
    "prompt,expected",
    [
        ("brighter and a bit roomier", [("bright", "eq", 1.0, 0.5), ("roomy", "reverb", 1.0, 0.25)]),
        ("less muddy, not so harsh", [("muddy", "eq", -1.0, 0.5), ("harsh", "eq", -1.0, 0.5)]),
        ("drier", [("dry", "reverb", -1.0, 0.5)]),
        ("much darker", [("dark", "eq", 1.0, 1.0)]),
        ("thinner", [("thin", "eq", -1.0, 0.5)]),  # the opposite of the crowd's 'heavy'
        ("punchier", [("punchy", "compressor", 1.0, 0.5)]),
        ("make it sound like it's underwater", [("underwater", "eq", 1.0, 0.5), ("underwater", "reverb", 1.0, 0.5)]),
        ("quieter", [("quiet", "gain", -1.0, 0.5)]),
        ("softer volume", [("softer volume", "gain", -1.0, 0.5)]),  # one phrase: less level, not the crowd's 'soft' EQ
        ("a bit brighter, softer volume", [("bright", "eq", 1.0, 0.25), ("softer volume", "gain", -1.0, 0.5)]),
    ],
)
def test_parse_compound_and_relative_prompts(P, prompt, expected):
    from lstmabar.models.fx.crowd.prompt import parse

    got = [(p.base, p.effect, p.sign, p.strength) for p in parse(prompt, P).parts]
    assert got == expected


def test_every_describing_word_of_a_part_counts(P):
    from lstmabar.models.fx.crowd.prompt import parse

    assert [(p.base, p.effect) for p in parse("gritty distant echo", P).parts] == [("gritty", "distortion"), ("distant", "reverb"), ("echo", "delay")]
    assert [p.base for p in parse("make the drum loop warm and bright", P).parts] == ["warm", "bright"]


def test_chain_follows_the_parts(P):
    from lstmabar.models.fx.crowd.prompt import chain_for, parse

    assert chain_for(parse("brighter and a bit roomier", P)) == ["eq", "reverb"]
    assert chain_for(parse("warmer and drier", P)) == ["gate", "eq"]
    assert chain_for(parse("wider", P)) == ["reverb"]
    assert chain_for(parse("louder", P)) == ["gain"]
    assert chain_for(parse("softer volume", P)) == ["gain"]


def test_negation_inverts_the_eq_target(P):
    from lstmabar.models.fx.crowd.prompt import parse
    from lstmabar.models.fx.crowd.settings import plan

    x = np.zeros(16000, np.float32) + 0.1
    muddy = plan(parse("muddy", P), ["eq"], P, x, 16000)
    less = plan(parse("less muddy", P), ["eq"], P, x, 16000)
    assert np.allclose(muddy.target_db, -less.target_db)
    lows = (BANDS_HZ >= 100) & (BANDS_HZ <= 400)
    assert less.target_db[lows].mean() < 0 < muddy.target_db[lows].mean()


# ----------------------------------------------------------------------------- clean renders
def test_finish_keeps_loudness_and_true_peak():
    from lstmabar.models.fx.render import finish, loudness_db, true_peak_db

    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(sr * 2) / sr
    hits = np.exp(-((t % 0.25) / 0.03))  # a hit every 250 ms: peaks well above the body
    dry = (0.3 * hits * rng.standard_normal(t.shape))[None].astype(np.float32)
    hot = dry * 4.0  # 12 dB louder, clipping peaks
    f = finish(hot, dry, sr)
    assert abs(loudness_db(f.audio, sr) - loudness_db(dry, sr)) <= 1.0 and f.true_peak_db <= -0.3
    up = finish(dry, dry, sr, loudness_change_db=4.0)
    assert up.true_peak_db <= -0.3 and loudness_db(up.audio, sr) - loudness_db(dry, sr) > 2.0
    assert true_peak_db(up.audio) == pytest.approx(up.true_peak_db)
    assert np.abs(f.audio[:, -1]).max() == 0.0  # faded to silence


def test_a_word_whose_effect_is_not_in_the_chain_uses_its_crowd_eq(P):
    from lstmabar.models.fx.crowd.prompt import parse
    from lstmabar.models.fx.crowd.settings import normalised_curve, plan

    x = np.zeros(16000, np.float32) + 0.1
    for word in ("quiet", "loud"):
        pl = plan(parse(word, P), ["eq"], P, x, 16000)
        assert pl.parts[0].part.effect == "eq" and pl.target_db is not None
        assert np.allclose(pl.target_db, 0.5 * 10.0 * normalised_curve(P.eq(word).values))  # the word's own curve, not inverted


# ----------------------------------------------------------------------------- the measured check (guard)
def _whistle(sr: int = 22050, seconds: float = 2.0) -> np.ndarray:
    """A robin-like whistle: partials at 3-7 kHz, nothing below 2 kHz (the crowd's music curves move it the wrong way)."""
    t = np.arange(int(seconds * sr)) / sr
    f = 4200 + 1500 * np.sin(2 * np.pi * 3 * t)
    ph = 2 * np.pi * np.cumsum(f) / sr
    env = 0.5 * (1 + np.sin(2 * np.pi * 2 * t)) ** 2
    return (0.2 * env * (np.sin(ph) + 0.3 * np.sin(1.6 * ph))).astype(np.float32)


def _plucks(sr: int = 22050, room_s: float = 0.0) -> np.ndarray:
    """Decaying plucks that stop dead (room_s 0) or ring on in a room (an exponential noise tail of T60 room_s)."""
    rng = np.random.default_rng(0)
    x = np.zeros(int(4.5 * sr), np.float32)  # the last 1.5 s silent: the room's tail dies away inside the clip
    for k in range(4):
        a = int((0.2 + 0.7 * k) * sr)
        n = int(0.25 * sr)
        t = np.arange(n) / sr
        stop = np.clip((n - np.arange(n)) / (0.003 * sr), 0.0, 1.0)  # ends in 3 ms: no decay for an expander to shorten
        x[a : a + n] += (0.4 * np.sin(2 * np.pi * 220 * (k + 1) * t) * np.exp(-t / 0.3) * stop).astype(np.float32)
    if room_s > 0:
        t = np.arange(int(room_s * sr)) / sr
        ir = rng.standard_normal(len(t)) * 10 ** (-3 * t / room_s)
        ir[0] = 8.0
        x = np.convolve(x, ir)[: len(x)].astype(np.float32)
        x = (0.4 * x / np.abs(x).max()).astype(np.float32)
    return x


@pytest.mark.parametrize("prompt, key, direction", [("darker", "centroid_hz", -1), ("warmer", "centroid_hz", -1), ("brighter", "centroid_hz", +1)])
def test_the_check_makes_each_word_move_its_descriptor_on_a_high_whistle(P, prompt, key, direction):
    from lstmabar.models.fx.crowd import guard
    from lstmabar.models.fx.crowd.prompt import chain_for, parse
    from lstmabar.models.fx.crowd.settings import plan

    sr = 22050
    x = _whistle(sr)
    req = parse(prompt, P)
    cp = plan(req, chain_for(req), P, x, sr)
    chk = guard.check_and_adapt(cp, x, sr)
    assert [(m.key, m.direction) for m in chk.moves] == [(key, direction)]
    assert not chk.failed()
    # and the settings now in the plan really do it (rendered and measured afresh)
    assert guard.verify(cp.chain, cp.normalized, chk.moves, x, sr, chk.before) == []


def test_drier_is_said_not_possible_on_a_dry_recording_and_done_on_a_roomy_one(P):
    from lstmabar.models.fx.chain import neutral_normalized
    from lstmabar.models.fx.crowd import guard
    from lstmabar.models.fx.crowd.prompt import chain_for, parse
    from lstmabar.models.fx.crowd.settings import plan

    sr = 22050
    req = parse("drier", P)
    dry = _plucks(sr)
    cp = plan(req, chain_for(req), P, dry, sr)
    chk = guard.check_and_adapt(cp, dry, sr)
    assert chk.not_possible and chk.not_possible_keys == ["reverb_time_s"] and "not possible" in chk.not_possible[0]
    assert np.allclose(cp.normalized, neutral_normalized(cp.chain))  # the expander left off, not something else done
    roomy = _plucks(sr, room_s=1.2)
    cp = plan(req, chain_for(req), P, roomy, sr)
    chk = guard.check_and_adapt(cp, roomy, sr)
    assert not chk.not_possible and chk.moves and not chk.failed()
    assert chk.after["reverb_time_s"] < chk.before["reverb_time_s"]


def test_neutral_centroid_move_of_crowd_curves(P):
    from lstmabar.models.fx.crowd.guard import neutral_centroid_ratio
    from lstmabar.models.fx.crowd.settings import normalised_curve

    assert neutral_centroid_ratio(5 * normalised_curve(P.eq("warm").values), 44100) < 0.95
    assert neutral_centroid_ratio(5 * normalised_curve(P.eq("tinny").values), 44100) > 1.05
