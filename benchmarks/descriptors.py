"""library.descriptors: known-signal errors, time per clip, and a check of its comparison words against
people's data (Audealize crowd EQ and reverb words). ``python -m benchmarks.descriptors``.

1. Known signals: f0 of sines and harmonic tones over seven octaves (ours: pYIN states refined on the
   reassigned spectrogram; baselines in the same run: pYIN alone and plain YIN with parabolic
   interpolation, librosa, same frames), centroid, noise slopes, EBU Tech 3341 loudness cases, decay time
   constants, tremolo and vibrato rates, chirp trend, dry vs reverberant, hard-panned vs mono.
2. Time: ``describe`` on 2 s and 30 s clips, ``describe_sound`` on a 10 s clip (with the LSTMABAR audio
   tower and the spectrogram), ``describe_batch`` on 50 x 2 s against 50 single calls.
3. People's data: the shared recordings (loudest 4 s, two excerpts each) through the crowd EQ curve of a
   word (Audealize's recipe: min-max to [-1, 1], 5 dB x curve, peaking filters of Q 4.31 at the 40
   centres) or through the crowd reverb of a word (the project's translation to pedalboard's Reverb,
   ``models/lstmabar/data.apply_reverb_word``, compared with the same clip through the median crowd
   reverb), and how often ``compare`` says brighter / darker / roomier / drier. Words chosen by meaning
   before running; random curves and random reverb words are the baseline.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import soundfile as sf

from lstmabar.library.descriptors import compare, describe, describe_batch

from ._fx_common import AUDIO, DATA, SOURCES
from ._report import write_report

SR = 44_100
BRIGHT_WORDS = ("bright", "crisp", "tinny", "shrill", "brittle")
DARK_WORDS = ("dark", "muffled", "dull", "darkness")
ROOMY_WORDS = ("roomy", "spacious", "big-room", "large-room", "hall", "big-hall", "concert-hall", "cathedral", "cavernous", "echoing")
DRY_WORDS = ("close", "closer", "near", "small", "small-room", "enclosed")
N_RANDOM = 8


def _tone(f: float, seconds: float = 2.0, harmonics: int = 1, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, harmonics + 1) if k * f < sr / 2)
    return 0.4 * x / np.abs(x).max()


def _cents(a: float | None, b: float) -> float | None:
    return None if not a else float(1200 * np.log2(a / b))


def _baselines(x: np.ndarray, sr: int) -> tuple[float | None, float | None]:
    """Median f0 of pYIN alone and of plain YIN, on the same 16 kHz frames as ours."""
    import librosa

    from lstmabar.library.descriptors._signal import to_rate
    from lstmabar.library.descriptors.pitch import FMAX, FMIN, FRAME, HOP, PITCH_SR, RESOLUTION

    y = to_rate(x, sr, PITCH_SR)
    f0, voiced, _ = librosa.pyin(y, fmin=FMIN, fmax=FMAX, sr=PITCH_SR, frame_length=FRAME, hop_length=HOP, resolution=RESOLUTION)
    yin = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=PITCH_SR, frame_length=FRAME, hop_length=HOP)
    ok = voiced & np.isfinite(f0)
    return (float(np.median(f0[ok])) if ok.any() else None), float(np.median(yin[8:-8]))


def known_signals(figs: dict, lines: list[str]) -> None:
    rows = []
    errs = {"ours": [], "pyin": [], "yin": []}
    for f in (32.7, 55.0, 110.0, 220.0, 440.0, 880.0, 1760.0, 3520.0):
        for h in (1, 8):
            x = _tone(f, harmonics=h)
            p = describe(x, SR, psychoacoustic=False).pitch
            pyin, yin = _baselines(x, SR)
            c = (_cents(p.f0_hz, f), _cents(pyin, f), _cents(yin, f))
            key = f"f0_{f:g}hz_{'sine' if h == 1 else 'harm8'}"
            figs[f"{key}_cents_ours"], figs[f"{key}_cents_pyin"], figs[f"{key}_cents_yin"] = (None if v is None else round(v, 2) for v in c)
            figs[f"{key}_voiced_share"] = p.voiced_share
            for name, v in zip(("ours", "pyin", "yin"), c):
                if f < 3000:
                    errs[name].append(abs(v) if v is not None else 1200.0)
            rows.append(f"| {f:g} Hz {'sine' if h == 1 else '8 harmonics'} | " + " | ".join("-" if v is None else f"{v:+.1f}" for v in c) + f" | {p.voiced_share:.2f} |")
    for name, e in errs.items():
        figs[f"f0_median_abs_cents_{name}_to_1760hz"] = round(float(np.median(e)), 2)
        figs[f"f0_max_abs_cents_{name}_to_1760hz"] = round(float(np.max(e)), 2)
    lines += ["### Known signals", "", "f0 error in cents of the median f0 (pitch analysis at 16 kHz, 64 ms frames, 32 ms hops):", "",
              "| signal | ours (pYIN + reassigned) | pYIN alone | YIN | voiced share (ours) |", "|---|---|---|---|---|", *rows, ""]
    d = describe(_tone(440.0), SR)
    figs["sine440_centroid_hz"] = d.spectrum.centroid_hz
    rng = np.random.default_rng(0)
    n = 2 * SR
    spec = np.fft.rfft(rng.standard_normal(n))
    fr = np.fft.rfftfreq(n, 1 / SR)
    white = np.fft.irfft(spec, n)
    pink = np.fft.irfft(np.where(fr >= 20, spec / np.sqrt(np.maximum(fr, 20.0)), 0), n)
    dw, dp = (describe(0.3 * v / np.abs(v).max(), SR, psychoacoustic=False) for v in (white, pink))
    figs["white_slope_db_per_octave"], figs["pink_slope_db_per_octave"] = dw.spectrum.slope_db_per_octave, dp.spectrum.slope_db_per_octave
    figs["white_voiced_share"], figs["pink_voiced_share"] = dw.pitch.voiced_share, dp.pitch.voiced_share
    figs["white_flatness"], figs["pink_flatness"] = dw.spectrum.flatness, dp.spectrum.flatness
    # EBU Tech 3341 cases 1 and 2: stereo 997 Hz sine at -23 / -33 dBFS -> -23 / -33 LUFS
    for level in (-23, -33):
        x = np.stack([_tone(997.0, 10.0) / 0.4 * 10 ** (level / 20)] * 2)
        figs[f"ebu_{-level}_lufs_error_lu"] = round(describe(x, SR, with_pitch=False, psychoacoustic=False).loudness.integrated_lufs - level, 3)
    t = np.arange(3 * SR) / SR
    for tau in (0.1, 0.3, 1.0):
        v = describe(np.exp(-t / tau) * np.sin(2 * np.pi * 330 * t), SR, with_pitch=False, psychoacoustic=False).envelope.decay_time_constant_s
        figs[f"decay_tau_{tau:g}s_measured_s"] = v
    for rate in (3.0, 5.0, 8.0):
        v = describe((1 + 0.8 * np.sin(2 * np.pi * rate * t[: 2 * SR])) * _tone(330.0), SR, with_pitch=False, psychoacoustic=False).envelope.am_rate_hz
        figs[f"tremolo_{rate:g}hz_measured_hz"] = v
    tt = t[: 2 * SR]
    fm = 440 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 6 * tt))
    p = describe(0.4 * np.sin(2 * np.pi * np.cumsum(fm) / SR), SR, psychoacoustic=False).pitch
    figs["vibrato_6hz_50c_rate_hz"], figs["vibrato_6hz_50c_depth_cents"] = p.vibrato_rate_hz, p.vibrato_depth_cents
    k = np.log(4) / 2.0
    figs["chirp_220_880_trend_st_per_s"] = describe(0.4 * np.sin(2 * np.pi * 220 * (np.exp(k * tt) - 1) / k), SR, psychoacoustic=False).pitch.pitch_trend_semitones_per_s
    import pedalboard

    x, sr = sf.read(AUDIO / SOURCES["speech"], dtype="float32")
    x = x[: 4 * sr]
    a = describe(x, sr, with_pitch=False, psychoacoustic=False).space.reverb_time_s
    b = describe(pedalboard.Reverb(room_size=0.6, wet_level=0.3)(x[None], sr)[0], sr, with_pitch=False, psychoacoustic=False).space.reverb_time_s
    figs["speech_dry_reverb_time_s"], figs["speech_reverb_0p6_reverb_time_s"] = a, b
    tone = _tone(440.0)
    figs["hard_panned_width"] = describe(np.stack([tone, 0 * tone]), SR, with_pitch=False, psychoacoustic=False).space.width
    figs["mono_width"] = describe(np.stack([tone, tone]), SR, with_pitch=False, psychoacoustic=False).space.width
    lines += [
        f"Median |error| up to 1760 Hz: ours {figs['f0_median_abs_cents_ours_to_1760hz']:.2f} cents (worst {figs['f0_max_abs_cents_ours_to_1760hz']:.1f}), "
        f"pYIN alone {figs['f0_median_abs_cents_pyin_to_1760hz']:.2f} (worst {figs['f0_max_abs_cents_pyin_to_1760hz']:.1f}), "
        f"YIN {figs['f0_median_abs_cents_yin_to_1760hz']:.2f} (worst {figs['f0_max_abs_cents_yin_to_1760hz']:.1f}). "
        "A pure tone above about 3 kHz can come out an octave low (the 3520 Hz row).", "",
        "| check | expected | measured |", "|---|---|---|",
        f"| 440 Hz sine: centroid | 440 Hz | {figs['sine440_centroid_hz']:.1f} Hz |",
        f"| white / pink noise: slope | 0 / -3 dB/oct | {figs['white_slope_db_per_octave']:+.2f} / {figs['pink_slope_db_per_octave']:+.2f} |",
        f"| white / pink noise: voiced share | 0 | {figs['white_voiced_share']:.2f} / {figs['pink_voiced_share']:.2f} |",
        f"| EBU 3341 case 1 / 2 (997 Hz stereo, -23 / -33 dBFS) | -23 / -33 LUFS | error {figs['ebu_23_lufs_error_lu']:+.3f} / {figs['ebu_33_lufs_error_lu']:+.3f} LU |",
        f"| exponential decay tau 0.1 / 0.3 / 1.0 s | same | {figs['decay_tau_0.1s_measured_s']} / {figs['decay_tau_0.3s_measured_s']} / {figs['decay_tau_1s_measured_s']} s |",
        f"| tremolo 3 / 5 / 8 Hz | same | {figs['tremolo_3hz_measured_hz']} / {figs['tremolo_5hz_measured_hz']} / {figs['tremolo_8hz_measured_hz']} Hz |",
        f"| vibrato 6 Hz, +-50 cents | 6 Hz, 50 cents | {figs['vibrato_6hz_50c_rate_hz']} Hz, {figs['vibrato_6hz_50c_depth_cents']} cents (64 ms frames smooth it) |",
        f"| chirp 220 -> 880 Hz in 2 s | +12 st/s | {figs['chirp_220_880_trend_st_per_s']:+.2f} st/s |",
        f"| speech, dry vs pedalboard Reverb(room 0.6, wet 0.3) | roomier | reverb time {figs['speech_dry_reverb_time_s']} -> {figs['speech_reverb_0p6_reverb_time_s']} s |",
        f"| hard-panned vs mono (same tone) | 0.5 vs 0 | width {figs['hard_panned_width']} vs {figs['mono_width']} |",
        "",
    ]


def _median_time(fn, repeats: int = 3) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def timing(figs: dict, lines: list[str]) -> None:
    import torch

    from lstmabar.library.audio_input import AudioInput
    from lstmabar.library.config import Config
    from lstmabar.library.store import SoundLibrary
    from lstmabar.tools import describe_sound
    from lstmabar.tools.base import ModelCache, ToolContext

    torch.set_num_threads(1)
    from lstmabar.library.audio_io import resample

    x, sr0 = sf.read(AUDIO / SOURCES["jazz"], dtype="float32", always_2d=True)
    sr = SR
    x = resample(np.ascontiguousarray(x.T), sr0, sr)  # timed at 44.1 kHz, the common case
    stereo = np.concatenate([x, x[:, ::-1]], axis=0) if x.shape[0] == 1 else x  # right = the left reversed
    describe(stereo[:, :sr], sr)  # warm-up: imports, numba compilation
    figs["load_avg_1min_start"] = round(os.getloadavg()[0], 2)
    for secs in (2, 30):
        clip = np.tile(stereo, (1, int(np.ceil(secs * sr / stereo.shape[1]))))[:, : secs * sr]
        figs[f"describe_{secs}s_stereo_s"] = round(_median_time(lambda c=clip: describe(c, sr)), 3)
        figs[f"describe_{secs}s_stereo_no_psycho_s"] = round(_median_time(lambda c=clip: describe(c, sr, psychoacoustic=False)), 3)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(output_dir=Path(tmp) / "out", allowed_dirs=(Path(tmp), AUDIO))
        lib = SoundLibrary(cfg)
        ctx = ToolContext(library=lib, config=cfg, models=ModelCache())
        clip10 = Path(tmp) / "jazz10.wav"
        sf.write(clip10, stereo[:, : 10 * sr].T, sr)
        inp = describe_sound.Input(audio=AudioInput(path=str(clip10)))
        describe_sound.run(inp, ctx)  # loads the LSTMABAR weights once
        figs["describe_sound_10s_s"] = round(_median_time(lambda: describe_sound.run(inp, ctx)), 3)
        figs["describe_sound_10s_no_archetypes_no_image_s"] = round(_median_time(
            lambda: describe_sound.run(describe_sound.Input(audio=AudioInput(path=str(clip10)), archetypes=False, spectrogram=False), ctx)), 3)
        lib.close()
    mono = stereo.mean(axis=0)
    rng = np.random.default_rng(0)
    starts = rng.integers(0, mono.size - 2 * sr, 50)
    batch = np.stack([mono[s : s + 2 * sr] for s in starts])
    figs["batch50_2s_describe_batch_s"] = round(_median_time(lambda: describe_batch(batch, sr), 2), 3)
    figs["batch50_2s_single_calls_s"] = round(_median_time(lambda: [describe(b, sr, with_pitch=False, psychoacoustic=False) for b in batch], 1), 3)
    figs["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    lines += [
        "### Time", "",
        f"On the 2 cores, shared with other work: load average {figs['load_avg_1min_start']} at the start, {figs['load_avg_1min_end']} at the end "
        "(median of 3 runs; one thread).", "",
        "| call | seconds |", "|---|---|",
        f"| describe, 2 s stereo 44.1 kHz (with / without MoSQITo) | {figs['describe_2s_stereo_s']} / {figs['describe_2s_stereo_no_psycho_s']} |",
        f"| describe, 30 s stereo 44.1 kHz (with / without MoSQITo) | {figs['describe_30s_stereo_s']} / {figs['describe_30s_stereo_no_psycho_s']} |",
        f"| describe_sound tool, 10 s stereo 44.1 kHz WAV (archetypes + spectrogram / neither) | {figs['describe_sound_10s_s']} / {figs['describe_sound_10s_no_archetypes_no_image_s']} |",
        f"| describe_batch, 50 x 2 s mono 44.1 kHz (no pitch, no MoSQITo) | {figs['batch50_2s_describe_batch_s']} |",
        f"| the same 50 as single describe calls (baseline) | {figs['batch50_2s_single_calls_s']} |",
        "",
        f"The batched path gives the same numbers as single calls (tests/test_descriptors.py) in one call, but is not faster on this "
        f"CPU ({figs['batch50_2s_describe_batch_s']} vs {figs['batch50_2s_single_calls_s']} s): the work is memory-bound array arithmetic "
        "either way, and the envelope and reverberance steps loop over the sounds.",
        "",
    ]


def _clips() -> list[tuple[str, np.ndarray, int]]:
    import librosa

    out = []
    for name, fn in SOURCES.items():
        x, sr = sf.read(AUDIO / fn, dtype="float32", always_2d=True)
        mono = x.mean(axis=1)
        n = min(4 * sr, mono.size)
        rms = librosa.feature.rms(y=mono, frame_length=n, hop_length=sr // 4, center=False)[0]
        order = np.argsort(-rms)
        picked = [int(order[0])]
        for i in order[1:]:  # a second excerpt that does not overlap the first
            if abs(int(i) - picked[0]) * (sr // 4) >= n:
                picked.append(int(i))
                break
        out += [(f"{name}{k}", mono[i * (sr // 4) : i * (sr // 4) + n], sr) for k, i in enumerate(picked)]
    return out


def crowd(figs: dict, lines: list[str]) -> None:
    from lstmabar.models.lstmabar.data import apply_eq_curve, apply_reverb_word

    eq = {r["word"]: np.asarray(r["settings"], float) for r in json.loads((DATA / "audealize" / "eqdescriptors.json").read_text()) if r["lang"] == "English"}
    rv = {r["word"]: np.asarray(r["settings"], float) for r in json.loads((DATA / "audealize" / "reverbdescriptors.json").read_text())}
    rng = np.random.default_rng(0)
    clips = _clips()
    figs["crowd_clips"] = len(clips)
    opts = dict(with_pitch=False, psychoacoustic=False)
    base = {name: describe(x, sr, **opts) for name, x, sr in clips}
    rows = []

    done: dict[tuple[str, str, str], object] = {}  # (label, word, clip) -> descriptors of the processed clip

    def count(label: str, group: str, curves: dict[str, np.ndarray], apply, ref: dict, key: str, up: str, down: str) -> None:
        for word, settings in curves.items():
            said_up = said_down = raw_up = raw_down = 0
            for name, x, sr in clips:
                d = done[(label, word, name)] = describe(apply(x, settings, sr), sr, **opts)
                words = {w.word for w in compare(ref[name], d)}
                said_up += up in words
                said_down += down in words
                a, b = ref[name].flat().get(key), d.flat().get(key)
                if a is not None and b is not None:
                    raw_up += b > a
                    raw_down += b < a
            slug = word.replace("-", "_")
            figs[f"crowd_{label}_{slug}_{up}"], figs[f"crowd_{label}_{slug}_{down}"] = said_up, said_down
            figs[f"crowd_{label}_{slug}_{key}_up"], figs[f"crowd_{label}_{slug}_{key}_down"] = raw_up, raw_down
            extra = ""
            if label == "reverb":  # what the crowd settings say: a feedback comb's T60 = -3 d / log10 g, and the level E
                extra = f" {-3 * settings[0] / np.log10(max(settings[1], 1e-3)):.2f} | {settings[4]:.2f} |"
            rows.append(f"| {group} | {word} | {said_up} | {said_down} | {raw_up} / {raw_down} |{extra}")

    eq_apply = lambda x, c, sr: apply_eq_curve(x, c, 1.0, sr)  # noqa: E731
    count("eq", "EQ, bright-like", {w: eq[w] for w in BRIGHT_WORDS if w in eq}, eq_apply, base, "centroid_hz", "brighter", "darker")
    count("eq", "EQ, dark-like", {w: eq[w] for w in DARK_WORDS if w in eq}, eq_apply, base, "centroid_hz", "brighter", "darker")
    count("eq", "EQ, random curve (baseline)", {f"random{i}": rng.uniform(-1, 1, 40) for i in range(N_RANDOM)}, eq_apply, base, "centroid_hz", "brighter", "darker")
    eq_rows = rows[:]
    rows.clear()
    median = np.median(np.stack(list(rv.values())), axis=0)
    rv_apply = lambda x, s, sr: apply_reverb_word(x, s, sr)  # noqa: E731
    mid = {name: describe(rv_apply(x, median, sr), sr, **opts) for name, x, sr in clips}
    count("reverb", "reverb, roomy-like", {w: rv[w] for w in ROOMY_WORDS if w in rv}, rv_apply, mid, "reverb_time_s", "roomier", "drier")
    count("reverb", "reverb, dry-like", {w: rv[w] for w in DRY_WORDS if w in rv}, rv_apply, mid, "reverb_time_s", "roomier", "drier")
    others = [w for w in rv if w not in ROOMY_WORDS + DRY_WORDS]
    pick = [others[i] for i in rng.choice(len(others), N_RANDOM, replace=False)]
    count("reverb", "reverb, random word (baseline)", {w: rv[w] for w in pick}, rv_apply, mid, "reverb_time_s", "roomier", "drier")

    # roomy-like against dry-like words directly (same clip): does the roomy version read roomier?
    pairs = roomier = drier = 0
    for r in (w for w in ROOMY_WORDS if w in rv):
        for dw in (w for w in DRY_WORDS if w in rv):
            for name, _x, _sr in clips:
                said = {c.word for c in compare(done[("reverb", dw, name)], done[("reverb", r, name)])}
                pairs += 1
                roomier += "roomier" in said
                drier += "drier" in said
    figs["crowd_reverb_roomy_vs_dry_pairs"] = pairs
    figs["crowd_reverb_roomy_vs_dry_said_roomier_share"] = round(roomier / max(pairs, 1), 3)
    figs["crowd_reverb_roomy_vs_dry_said_drier_share"] = round(drier / max(pairs, 1), 3)
    med_t60 = -3 * median[0] / np.log10(median[1])
    figs["crowd_reverb_median_comb_t60_s"], figs["crowd_reverb_median_level_e"] = round(float(med_t60), 2), round(float(median[4]), 3)

    def t60(w: str) -> float:
        return float(-3 * rv[w][0] / np.log10(max(rv[w][1], 1e-3)))

    roomy_in, dry_in = [w for w in ROOMY_WORDS if w in rv], [w for w in DRY_WORDS if w in rv]
    figs["crowd_reverb_roomy_words_longer_than_median"] = int(sum(t60(w) > med_t60 for w in roomy_in))
    figs["crowd_reverb_roomy_words_louder_than_median"] = int(sum(rv[w][4] > median[4] for w in roomy_in))
    figs["crowd_reverb_dry_words_shorter_than_median"] = int(sum(t60(w) < med_t60 for w in dry_in))
    figs["crowd_reverb_roomy_words"], figs["crowd_reverb_dry_words"] = len(roomy_in), len(dry_in)

    def share(label: str, words, up: str, key: str) -> float:
        vals = [figs[f"crowd_{label}_{w.replace('-', '_')}_{up}"] for w in words if f"crowd_{label}_{w.replace('-', '_')}_{up}" in figs]
        return round(sum(vals) / max(1, len(vals) * len(clips)), 3)

    figs["crowd_eq_bright_words_said_brighter_share"] = share("eq", BRIGHT_WORDS, "brighter", "centroid_hz")
    figs["crowd_eq_bright_words_said_darker_share"] = share("eq", BRIGHT_WORDS, "darker", "centroid_hz")
    figs["crowd_eq_dark_words_said_darker_share"] = share("eq", DARK_WORDS, "darker", "centroid_hz")
    figs["crowd_eq_dark_words_said_brighter_share"] = share("eq", DARK_WORDS, "brighter", "centroid_hz")
    randoms = [f"random{i}" for i in range(N_RANDOM)]
    figs["crowd_eq_random_said_brighter_share"] = share("eq", randoms, "brighter", "centroid_hz")
    figs["crowd_eq_random_said_darker_share"] = share("eq", randoms, "darker", "centroid_hz")
    figs["crowd_reverb_roomy_words_said_roomier_share"] = share("reverb", ROOMY_WORDS, "roomier", "reverb_time_s")
    figs["crowd_reverb_roomy_words_said_drier_share"] = share("reverb", ROOMY_WORDS, "drier", "reverb_time_s")
    figs["crowd_reverb_dry_words_said_drier_share"] = share("reverb", DRY_WORDS, "drier", "reverb_time_s")
    figs["crowd_reverb_dry_words_said_roomier_share"] = share("reverb", DRY_WORDS, "roomier", "reverb_time_s")
    figs["crowd_reverb_random_said_roomier_share"] = share("reverb", pick, "roomier", "reverb_time_s")
    figs["crowd_reverb_random_said_drier_share"] = share("reverb", pick, "drier", "reverb_time_s")
    n = len(clips)
    lines += [
        "### Against people's data", "",
        f"{n} real clips (the loudest 4 s and a second 4 s of each shared recording, mono). EQ: each clip against itself through the "
        "crowd curve of the word (Audealize's recipe, amount 1: about +-5 dB). Reverb: each clip through the word's crowd reverb "
        "(decay/damping/mix translated to pedalboard's Reverb as in `models/lstmabar/data.apply_reverb_word`) against the same clip "
        "through the median crowd reverb of all 369 words. Counts are clips out of "
        f"{n} for which `compare` says the word (beyond its noticeable step: centroid x1.05, reverb time x1.1), and how often the raw "
        "descriptor went up / down at all. Words chosen by meaning before the run; random curves and random reverb words are the baseline.", "",
        "| group | word | said brighter | said darker | centroid up / down |", "|---|---|---|---|---|", *eq_rows, "",
        "| group | word | said roomier | said drier | reverb time up / down | crowd comb T60 (s) | crowd level E |",
        "|---|---|---|---|---|---|---|", *rows, "",
        f"The median crowd reverb (the reference) has comb T60 {figs['crowd_reverb_median_comb_t60_s']:.2f} s and level E "
        f"{figs['crowd_reverb_median_level_e']:.2f}; of the {figs['crowd_reverb_roomy_words']} roomy-like words' crowd settings "
        f"{figs['crowd_reverb_roomy_words_longer_than_median']} decay longer and {figs['crowd_reverb_roomy_words_louder_than_median']} are "
        f"louder than it, and {figs['crowd_reverb_dry_words_shorter_than_median']} of the {figs['crowd_reverb_dry_words']} dry-like words "
        "decay shorter: in this data the reference itself is a long, loud reverb. Roomy-like against dry-like words directly, same clip: "
        f"{figs['crowd_reverb_roomy_vs_dry_said_roomier_share']:.0%} *roomier*, {figs['crowd_reverb_roomy_vs_dry_said_drier_share']:.0%} *drier* "
        f"({figs['crowd_reverb_roomy_vs_dry_pairs']} pairs).", "",
        f"Shares of clip x word pairs: bright-like EQ words said *brighter* {figs['crowd_eq_bright_words_said_brighter_share']:.0%} "
        f"(*darker* {figs['crowd_eq_bright_words_said_darker_share']:.0%}); dark-like said *darker* {figs['crowd_eq_dark_words_said_darker_share']:.0%} "
        f"(*brighter* {figs['crowd_eq_dark_words_said_brighter_share']:.0%}); random curves *brighter* {figs['crowd_eq_random_said_brighter_share']:.0%} / "
        f"*darker* {figs['crowd_eq_random_said_darker_share']:.0%}. Roomy-like reverb words said *roomier* {figs['crowd_reverb_roomy_words_said_roomier_share']:.0%} "
        f"(*drier* {figs['crowd_reverb_roomy_words_said_drier_share']:.0%}); dry-like said *drier* {figs['crowd_reverb_dry_words_said_drier_share']:.0%} "
        f"(*roomier* {figs['crowd_reverb_dry_words_said_roomier_share']:.0%}); random words *roomier* {figs['crowd_reverb_random_said_roomier_share']:.0%} / "
        f"*drier* {figs['crowd_reverb_random_said_drier_share']:.0%}.",
        "",
    ]


def main() -> None:
    figs: dict = {}
    lines = [
        "`library/descriptors` (librosa pYIN + reassigned spectrogram, pyloudnorm, MoSQITo; words from percentiles of 272 real "
        "sounds in `library/descriptors/reference.json`). Script: `benchmarks/descriptors.py`.", "",
    ]
    known_signals(figs, lines)
    timing(figs, lines)
    crowd(figs, lines)
    write_report("descriptors", figs, "\n".join(lines))


if __name__ == "__main__":
    main()
