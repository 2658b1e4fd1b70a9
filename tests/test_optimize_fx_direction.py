"""optimize_fx is never silent about a measured move that goes against the prompt's word.

Text2FX alone follows the embedder's idea of a word, which can be the wrong way round (with the shipped
weights "brighter" lowered the centroid of the trumpet and jazz recordings, docs/results/optimize_fx.json).
The search is forced to a wrong-way result here, so the test is deterministic and fast."""

from __future__ import annotations

import numpy as np
import soundfile as sf
import torch

from lstmabar.library.audio_input import AudioInput
from lstmabar.tools import optimize_fx as ofx

torch.set_num_threads(1)
SR = 16000


def _pink(tmp_path, seconds=1.5):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(int(seconds * SR))
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.shape[0], 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spec, x.shape[0])
    p = tmp_path / "pink.wav"
    sf.write(p, (0.5 * x / np.abs(x).max()).astype(np.float32), SR)
    return str(p)


def _forced(monkeypatch, prompt: str):
    """Make the search end at the crowd's settings for ``prompt`` (e.g. 'much darker' for a 'brighter' request)."""
    from lstmabar.models.fx.crowd.prior import CrowdPrior
    from lstmabar.models.fx.crowd.prompt import parse
    from lstmabar.models.fx.crowd.settings import plan

    real = ofx.optimize_chain

    def search(chain, excerpt, sr, *args, **kw):
        res = real(chain, excerpt, sr, *args, **kw)
        prior = CrowdPrior.load()
        res.normalized = plan(parse(prompt, prior), chain, prior, excerpt, sr).normalized
        return res

    monkeypatch.setattr(ofx, "optimize_chain", search)


def test_text2fx_says_plainly_when_brighter_made_it_darker(ctx, tmp_path, monkeypatch):
    _forced(monkeypatch, "much darker")
    out = ofx.run(ofx.Input(audio=AudioInput(path=_pink(tmp_path)), prompt="brighter", method="text2fx", iterations=2), ctx)
    o = out.output
    assert o.chain == ["eq"]
    assert o.measured_after["centroid_hz"] < o.measured_before["centroid_hz"]  # the forced result really is darker
    # structured: the expected move, what was measured, and its verdict
    assert len(o.expected_moves) == 1
    m = o.expected_moves[0]
    assert (m["part"], m["descriptor"], m["direction"], m["outcome"]) == ("brighter", "centroid_hz", 1, "wrong way")
    assert m["after"] < m["before"]
    assert len(o.wrong_way) == 1
    said = o.wrong_way[0]
    assert "'brighter'" in said and "went down" in said and "asks for up" in said and "method='both'" in said
    assert f"{m['after'] - m['before']:+.0f} Hz" in said
    # and in the text the assistant reads
    assert said in out.summary


def test_text2fx_that_moves_the_right_way_says_so_without_a_warning(ctx, tmp_path, monkeypatch):
    _forced(monkeypatch, "much brighter")
    o = ofx.run(ofx.Input(audio=AudioInput(path=_pink(tmp_path)), prompt="brighter", method="text2fx", iterations=2), ctx).output
    assert [mv["outcome"] for mv in o.expected_moves] == ["as asked"] and o.wrong_way == []


def test_text2fx_flags_less_harsh_that_adds_harshness(ctx, tmp_path, monkeypatch):
    _forced(monkeypatch, "much harsher")
    out = ofx.run(ofx.Input(audio=AudioInput(path=_pink(tmp_path)), prompt="less harsh", method="text2fx", iterations=2), ctx)
    o = out.output
    bad = [mv for mv in o.expected_moves if mv["outcome"] == "wrong way"]
    assert [(mv["descriptor"], mv["direction"]) for mv in bad] == [("band_high_mid_db", -1)]
    assert o.wrong_way and "'less harsh'" in o.wrong_way[0] and "went up" in o.wrong_way[0] and o.wrong_way[0] in out.summary


def test_crowd_method_reports_its_checked_moves(ctx, tmp_path):
    o = ofx.run(ofx.Input(audio=AudioInput(path=_pink(tmp_path)), prompt="warmer", method="crowd"), ctx).output
    assert [mv["outcome"] for mv in o.expected_moves] == ["as asked"] and o.wrong_way == []
    assert o.expected_moves[0]["after"] < o.expected_moves[0]["before"]


def test_outcome_needs_a_noticeable_move_to_call_it_the_wrong_way():
    from lstmabar.models.fx.crowd import guard

    up = guard.Move("centroid_hz", +1, "brighter", "test")
    assert guard.outcome(up, {"centroid_hz": 1800.0}, {"centroid_hz": 1799.99}) == "too little"  # unchanged but for rounding
    assert guard.outcome(up, {"centroid_hz": 1800.0}, {"centroid_hz": 1700.0}) == "wrong way"
    assert guard.outcome(up, {"centroid_hz": 1800.0}, {"centroid_hz": 1900.0}) == "as asked"
    assert guard.outcome(up, {"centroid_hz": 1800.0}, {}) == "not judged"
    less = guard.Move("band_high_mid_db", -1, "less harsh", "test")
    assert guard.outcome(less, {"band_high_mid_db": -8.0}, {"band_high_mid_db": -7.8}) == "too little"
    assert guard.outcome(less, {"band_high_mid_db": -8.0}, {"band_high_mid_db": -6.0}) == "wrong way"
    assert "barely moved" in guard.said(up, {"centroid_hz": 1800.0}, {"centroid_hz": 1799.99})
    assert guard.said(up, {"centroid_hz": 1800.0}, {"centroid_hz": 1900.0}) == ""
