"""Candidate notes when the pitch estimate may be wrong (models/matching/notes.py), in both matching pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from lstmabar.models.matching.pitch import estimate_pitch, hz_to_midi  # noqa: E402

SR = 16_000


def harmonic_tone(f0: float, amps: list[float], seconds: float = 2.0, decay: float = 1.5) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    x = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t + k) for k, a in enumerate(amps) if f0 * (k + 1) < 0.45 * SR)
    return (0.3 * x * np.exp(-t / decay) / max(sum(amps), 1e-9)).astype(np.float32)


# F1 (43.65 Hz) with a weak fundamental and a strong 3rd harmonic: CREPE reads the 3rd harmonic (19 semitones up)
F1_HZ = 43.654
WEAK_FUNDAMENTAL = [0.02, 0.25, 1.0, 0.25, 0.25, 0.5, 0.25, 0.25, 0.3]
# B7 (3951 Hz), above CREPE's range (about 1975 Hz): no CREPE pitch at all
B7_HZ = 3951.07


def _sub_note(res) -> float:
    from lstmabar.models.matching.subtractive import SUB_INDEX, SUB_PARAMS

    i = SUB_INDEX["note.midi"]
    return float(SUB_PARAMS[i].to_physical(float(res.normalized[i])))


def test_preconditions_crepe_fails_on_these_tones():
    """The two tones really are CREPE failures (else the tests below would prove nothing)."""
    weak = estimate_pitch(harmonic_tone(F1_HZ, WEAK_FUNDAMENTAL), SR)
    assert weak.midi is not None and weak.midi - hz_to_midi(F1_HZ) == pytest.approx(19.0, abs=0.5)
    assert estimate_pitch(harmonic_tone(B7_HZ, [1.0, 0.3]), SR).midi is None


def test_spectral_f0_and_harmonicity():
    from lstmabar.models.matching.notes import PITCHED_HARMONICITY, spectral_f0

    f0, harm = spectral_f0(harmonic_tone(F1_HZ, WEAK_FUNDAMENTAL), SR)
    assert f0 is not None and hz_to_midi(f0) == pytest.approx(hz_to_midi(F1_HZ), abs=0.3) and harm > PITCHED_HARMONICITY
    f0, harm = spectral_f0(harmonic_tone(B7_HZ, [1.0, 0.3]), SR)
    assert f0 is not None and hz_to_midi(f0) == pytest.approx(hz_to_midi(B7_HZ), abs=0.3) and harm > PITCHED_HARMONICITY
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    assert spectral_f0(noise, SR)[1] < PITCHED_HARMONICITY


def test_candidates_cover_the_harmonic_error_and_leave_noise_alone():
    from lstmabar.models.matching.notes import note_candidates

    x = harmonic_tone(F1_HZ, WEAK_FUNDAMENTAL)
    choice = note_candidates(estimate_pitch(x, SR), x, SR)
    # CREPE's reading (the 3rd harmonic) leaves the power on the other harmonics unexplained: the note
    # under the spectrum's f0 leads instead
    assert choice.uncertain and choice.candidates[0].prior == 1.0
    assert choice.candidates[0].midi == pytest.approx(hz_to_midi(F1_HZ), abs=0.5)
    assert all(c.name != "crepe" for c in choice.candidates)
    y = harmonic_tone(B7_HZ, [1.0, 0.3])
    choice = note_candidates(estimate_pitch(y, SR), y, SR)
    assert choice.uncertain and choice.candidates[0].midi is None
    assert any(c.midi is not None and abs(c.midi - hz_to_midi(B7_HZ)) < 0.5 for c in choice.candidates)
    t = np.arange(SR) / SR
    snare = (np.random.default_rng(1).standard_normal(SR) * np.exp(-t / 0.08)).astype(np.float32)
    choice = note_candidates(estimate_pitch(snare, SR), snare, SR)
    assert not choice.uncertain and [c.midi for c in choice.candidates] == [None]


def test_confident_reading_keeps_one_candidate_in_the_subtractive_pipeline():
    """A clean saw: CREPE is sure and the spectrum agrees, so nothing extra is tried."""
    from lstmabar.models.matching.notes import note_candidates

    t = np.arange(2 * SR) / SR
    saw = (0.3 * (2 * ((261.63 * t) % 1.0) - 1)).astype(np.float32)
    choice = note_candidates(estimate_pitch(saw, SR), saw, SR)
    assert not choice.uncertain and [c.name for c in choice.candidates] == ["crepe", "crepe-12", "crepe+12"]


@pytest.fixture(scope="module")
def sub_matcher():
    from lstmabar.models.matching.matcher import Matcher

    return Matcher("subtractive")


def test_subtractive_match_ends_at_the_fundamental_of_a_weak_fundamental_tone(sub_matcher):
    res = sub_matcher.match(harmonic_tone(F1_HZ, WEAK_FUNDAMENTAL), SR, budget_s=2.0, seed=0)
    assert _sub_note(res) == pytest.approx(hz_to_midi(F1_HZ), abs=0.5)
    assert res.pitch_source != "crepe"


def test_subtractive_match_of_a_tone_above_crepes_range_is_not_held_at_60(sub_matcher):
    res = sub_matcher.match(harmonic_tone(B7_HZ, [1.0, 0.3]), SR, budget_s=2.0, seed=0)
    assert _sub_note(res) == pytest.approx(hz_to_midi(B7_HZ), abs=0.5)


def test_voice_pipeline_draws_its_notes_from_the_same_candidates():
    from lstmabar.models.matching.matcher import Matcher
    from lstmabar.models.matching.networks import build

    m = Matcher("voice", network=build("cnn", 16).eval())
    x = harmonic_tone(F1_HZ, WEAK_FUNDAMENTAL)
    pitch = estimate_pitch(x, SR)
    names = [name for name, _, _ in m.note_candidates(torch.full((16,), 0.5), pitch, x)]
    assert "crepe-19" in names and names == ["network"] + [c.name for c in m.note_choice(pitch, x).candidates]
