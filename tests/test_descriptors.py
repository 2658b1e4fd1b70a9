"""library.descriptors: known signals with known answers, the batched path against the full one, and
words with their evidence from the shipped reference table."""

from __future__ import annotations

import numpy as np
import pytest

from lstmabar.library.descriptors import compare, describe, describe_batch, reference, summary, words
from lstmabar.library.descriptors.words import AXES

SR = 44_100


def tone(f: float, seconds: float = 2.0, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return amp * np.sin(2 * np.pi * f * t)


def noise(kind: str, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    spec = np.fft.rfft(rng.standard_normal(n))
    if kind == "pink":  # -3 dB per octave from 20 Hz up
        f = np.fft.rfftfreq(n, 1 / sr)
        spec = np.where(f >= 20, spec / np.sqrt(np.maximum(f, 20.0)), 0)
    x = np.fft.irfft(spec, n)
    return 0.3 * x / np.abs(x).max()


def plucks(sr: int = SR) -> np.ndarray:
    t = np.arange(int(0.5 * sr)) / sr
    x = np.zeros(int(3 * sr))
    for k, f in enumerate([330, 440, 392, 523]):
        s = int(k * 0.6 * sr)
        x[s : s + t.size] += np.exp(-t / 0.04) * np.sin(2 * np.pi * f * t)
    return 0.5 * x


def words_of(d) -> set[str]:
    return {w.word for w in words(d)}


def test_sine_440_pitch_and_centroid():
    d = describe(tone(440), SR)
    assert d.pitch.pitched and d.pitch.voiced_share > 0.9
    assert d.pitch.f0_hz == pytest.approx(440, abs=1.0)
    assert d.pitch.note.startswith("A4")
    assert d.spectrum.centroid_hz == pytest.approx(440, rel=0.03)
    assert d.spectrum.flatness < 0.01


def test_white_and_pink_noise_unvoiced_flat_and_sloped():
    white, pink = describe(noise("white"), SR), describe(noise("pink"), SR)
    for d in (white, pink):
        assert not d.pitch.pitched and d.pitch.voiced_share < 0.2
    assert white.spectrum.slope_db_per_octave == pytest.approx(0.0, abs=0.5)
    assert pink.spectrum.slope_db_per_octave == pytest.approx(-3.0, abs=0.5)
    assert white.spectrum.flatness > 0.3 > pink.spectrum.flatness
    assert "noisy" in words_of(white) and "bright" in words_of(white)


def test_ebu_reference_tone_reads_minus_23_lufs():
    # EBU Tech 3341 case 1: stereo 997 Hz sine at -23 dBFS in each channel is -23 LUFS
    x = np.stack([tone(997, 4.0, 10 ** (-23 / 20))] * 2)
    d = describe(x, SR)
    assert d.loudness.integrated_lufs == pytest.approx(-23.0, abs=0.5)
    assert d.loudness.peak_dbfs == pytest.approx(-23.0, abs=0.1)
    assert d.loudness.loudness_sone is not None and d.loudness.sharpness_acum is not None


def test_exponential_decay_time_constant():
    t = np.arange(2 * SR) / SR
    d = describe(np.exp(-t / 0.3) * np.sin(2 * np.pi * 330 * t), SR, with_pitch=False)
    assert d.envelope.decay_time_constant_s == pytest.approx(0.3, rel=0.1)
    assert d.envelope.attack_s < 0.01
    assert d.envelope.transient_db > 5


def test_linear_attack_ramp():
    t = np.arange(2 * SR) / SR
    d = describe(np.minimum(t / 0.5, 1.0) * tone(220), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.attack_s == pytest.approx(0.4, abs=0.03)  # 10 % -> 90 % of a 0.5 s ramp


def _swell(attack: float, trem_hz: float, depth: float, phase: float) -> np.ndarray:
    """A linear rise over ``attack`` s under a tremolo whose level is 1 - depth at its troughs (``phase`` 0: a crest first)."""
    t = np.arange(3 * SR) / SR
    level = np.minimum(t / attack, 1.0) * np.where(t < 2.5, 1.0, np.clip(1 - (t - 2.5) / 0.3, 0, 1))
    return level * (1 - depth * (0.5 - 0.5 * np.cos(2 * np.pi * trem_hz * t + phase))) * tone(220, 3.0)


@pytest.mark.parametrize("hz,depth,phase", [(4, 0.5, 0.0), (4, 0.9, np.pi), (8, 0.5, np.pi), (2, 0.5, np.pi)])
def test_swell_under_tremolo_is_one_attack(hz, depth, phase):
    # a 2 s swell rises crest over crest: its first crest (0.2-0.4 s in) is not the top of its attack
    d = describe(_swell(2.0, hz, depth, phase), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.am_rate_hz is not None
    assert d.envelope.attack_s == pytest.approx(1.6, rel=0.2)  # 10 % -> 90 % of the 2 s rise


@pytest.mark.parametrize("hz", [2, 4, 8])
def test_fast_attack_under_tremolo_keeps_its_own_rise(hz):
    # a 5 ms attack whose tremolo crests at the start: the later crests, no higher, do not lengthen it
    d = describe(_swell(0.005, hz, 0.5, 0.0), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.am_rate_hz is not None and d.envelope.attack_s < 0.01
    # ... nor a 50 ms one's whose first crest comes 0.25 s later, 1.6 dB higher than where its rise ends
    d = describe(_swell(0.05, 4, 0.5, 0.0), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.attack_s == pytest.approx(0.04, abs=0.01)


def test_tremolo_rate():
    t = np.arange(2 * SR) / SR
    d = describe((1 + 0.9 * np.sin(2 * np.pi * 5 * t)) * tone(330, amp=0.3), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.am_rate_hz == pytest.approx(5.0, abs=0.5)
    assert d.envelope.am_depth_db > 6
    assert "wobbling" in words_of(d)
    steady = describe(tone(330), SR, with_pitch=False, psychoacoustic=False)
    assert steady.envelope.am_rate_hz is None and "wobbling" not in words_of(steady)


def test_vibrato_rate_and_depth():
    t = np.arange(2 * SR) / SR
    f = 440 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 6 * t))  # +-50 cents at 6 Hz
    d = describe(0.4 * np.sin(2 * np.pi * np.cumsum(f) / SR), SR, psychoacoustic=False)
    assert d.pitch.vibrato_rate_hz == pytest.approx(6.0, abs=0.5)
    assert d.pitch.vibrato_depth_cents == pytest.approx(50, abs=12)
    assert describe(tone(440), SR, psychoacoustic=False).pitch.vibrato_rate_hz is None


@pytest.mark.parametrize("direction", [1, -1])
def test_chirp_trend(direction):
    t = np.arange(2 * SR) / SR
    f0, f1 = (220, 880) if direction > 0 else (880, 220)
    k = np.log(f1 / f0) / 2.0
    x = 0.4 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)
    d = describe(x, SR, psychoacoustic=False)
    assert np.sign(d.pitch.pitch_trend_semitones_per_s) == direction
    assert abs(d.pitch.pitch_trend_semitones_per_s) == pytest.approx(12, rel=0.15)  # two octaves in 2 s


def test_dry_vs_reverberant_copy():
    import pedalboard

    dry = plucks()
    wet = pedalboard.Reverb(room_size=0.8, wet_level=0.4, dry_level=0.8)(dry.astype(np.float32)[None], SR)[0]
    a = describe(dry, SR, with_pitch=False, psychoacoustic=False)
    b = describe(wet, SR, with_pitch=False, psychoacoustic=False)
    assert b.space.reverb_time_s > 1.2 * a.space.reverb_time_s
    assert "roomier" in {x.word for x in compare(a, b)}
    assert "drier" in {x.word for x in compare(b, a)}


def test_real_recording_through_reverb_reads_roomier(shared_audio_dir):
    import pedalboard
    import soundfile as sf

    x, sr = sf.read(shared_audio_dir / "198-209-0000.ogg", dtype="float32")
    x = x[: 4 * sr]
    wet = pedalboard.Reverb(room_size=0.6, wet_level=0.3)(x[None], sr)[0]
    a = describe(x, sr, with_pitch=False, psychoacoustic=False)
    b = describe(wet, sr, with_pitch=False, psychoacoustic=False)
    assert "dry" in words_of(a)
    assert b.space.reverb_time_s > 2 * a.space.reverb_time_s


def test_hard_panned_vs_mono_width():
    x = tone(440, amp=0.4)
    panned = describe(np.stack([x, 0 * x]), SR, with_pitch=False, psychoacoustic=False)
    mono = describe(np.stack([x, x]), SR, with_pitch=False, psychoacoustic=False)
    assert mono.space.width == pytest.approx(0.0, abs=1e-6) and mono.space.correlation == pytest.approx(1.0)
    assert panned.space.width == pytest.approx(0.5, abs=1e-3) and panned.space.stereo
    assert "wider" in {d.word for d in compare(mono, panned)}


def test_batch_matches_single():
    t = np.arange(SR) / SR
    sounds = np.stack([tone(440, 1.0), noise("white", 1.0), np.exp(-t / 0.1) * np.sin(2 * np.pi * 200 * t), np.zeros(SR)])
    batch = describe_batch(sounds, SR)
    for i, x in enumerate(sounds):
        f = describe(x, SR, with_pitch=False, psychoacoustic=False).flat()
        for k, v in batch.items():
            if f.get(k) is None:
                assert not np.isfinite(v[i]), (i, k)
            else:
                assert v[i] == pytest.approx(f[k], rel=1e-3, abs=6e-3), (i, k)  # the full path rounds
    assert np.isnan(batch["centroid_hz"][3])


def test_silence():
    d = describe(np.zeros(SR), SR)
    assert d.silent and words(d) == [] and summary(d) == "silent" and compare(d, describe(tone(440), SR)) == []


def test_words_carry_evidence_from_the_reference():
    low = describe(tone(55, amp=0.3), SR)
    ws = {w.word: w for w in words(low)}
    assert "dark" in ws and "low register" in ws
    w = ws["dark"]
    assert w.percentile <= 20 and "centroid" in w.evidence and "percentile of the reference set" in w.evidence
    assert w.threshold == pytest.approx(np.interp(20, reference()["levels"], reference()["descriptors"]["centroid_hz"]["values"]))
    high = describe(tone(2500, amp=0.3), SR)
    assert "high register" in words_of(high) and "low register" not in words_of(high)
    assert summary(high).startswith("pitched, D#7")


def test_pair_words_with_numbers():
    import pedalboard

    x = noise("white").astype(np.float32)
    dark = pedalboard.LowpassFilter(cutoff_frequency_hz=1500)(x[None], SR)[0]
    diffs = {d.word: d for d in compare(describe(x, SR, with_pitch=False), describe(dark, SR, with_pitch=False))}
    assert "darker" in diffs and "brighter" not in diffs
    assert "->" in diffs["darker"].evidence and "kHz" in diffs["darker"].evidence
    assert diffs["darker"].b < diffs["darker"].a
    same = describe(x, SR, with_pitch=False)
    assert compare(same, same) == []


def test_reference_table_covers_every_axis():
    ref = reference()
    levels = ref["levels"]
    assert levels == sorted(levels) and 20 in levels and 80 in levels
    assert ref["n_sounds"] >= 100 and ref["sources"] and "recipe" in ref
    for axis in AXES:
        table = ref["descriptors"][axis.key]
        assert table["n"] >= 30 and len(table["values"]) == len(levels)
        assert np.all(np.diff(table["values"]) >= 0)


def test_frame_features_follow_librosa_definitions():
    import librosa

    from lstmabar.library.descriptors.spectrum import frame_features

    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, SR // 2)) * np.linspace(0.1, 1, SR // 2)).astype(np.float32)
    x[1] = tone(880, 0.5)
    mag = np.abs(librosa.stft(x, n_fft=2048, hop_length=512))
    freqs = librosa.fft_frequencies(sr=SR, n_fft=2048)
    ours = frame_features(mag, mag * mag, freqs)
    ref = {
        "centroid_hz": librosa.feature.spectral_centroid(S=mag, sr=SR, n_fft=2048)[:, 0],
        "bandwidth_hz": librosa.feature.spectral_bandwidth(S=mag, sr=SR, n_fft=2048)[:, 0],
        "rolloff85_hz": librosa.feature.spectral_rolloff(S=mag, sr=SR, n_fft=2048, roll_percent=0.85)[:, 0],
        "flatness": librosa.feature.spectral_flatness(S=mag)[:, 0],
    }
    for k, v in ref.items():
        np.testing.assert_allclose(ours[k], v, rtol=2e-3, atol=1e-6, err_msg=k)


def test_a_subset_of_spectrum_features_equals_the_full_computation():
    from lstmabar.library.descriptors.spectrum import FEATURES, spectrum_batch

    rng = np.random.default_rng(3)
    n = SR
    x = np.stack([
        tone(220, 1.0),
        (rng.standard_normal(n) * np.exp(-np.linspace(0, 6, n)) * 0.3),
        tone(1760, 1.0) * np.linspace(0, 1, n) + 0.05 * rng.standard_normal(n),
        np.zeros(n),
    ]).astype(np.float32)
    full = spectrum_batch(x, SR)
    assert set(full) == set(FEATURES)
    for subset in [{"centroid_hz"}, {"flatness"}, {"centroid_hz", "flatness", "bands.low"}, {"bandwidth_hz", "rolloff85_hz", "slope_db_per_octave"}, {"audealize", "low_end_db"}]:
        part = spectrum_batch(x, SR, features=subset)
        assert set(part) == subset
        for k in subset:
            np.testing.assert_array_equal(part[k], full[k], err_msg=k)
    with pytest.raises(ValueError, match="unknown spectrum features"):
        spectrum_batch(x, SR, features={"brightness"})


def test_a_soft_pickup_note_before_loud_ones_is_not_a_swell() -> None:
    # notes at 4 Hz (a periodic level modulation), the first at 0.4 of the rest: the level climbs past its first top, but
    # in one step, not crest over crest; the attack stays the first note's 2 ms rise (a second reader measured 249 ms)
    t = np.arange(3 * SR) / SR
    level = np.zeros_like(t)
    for i, a in enumerate([0.4] + [1.0] * 11):
        tt = t - i / 4
        on = tt >= 0
        level[on] += a * np.minimum(tt[on] / 0.002, 1) * np.exp(-np.maximum(tt[on] - 0.002, 0) / 0.08)
    d = describe(level * tone(330, 3.0), SR, with_pitch=False, psychoacoustic=False)
    assert d.envelope.am_rate_hz == pytest.approx(4.0, abs=0.3) and d.envelope.attack_s < 0.01
