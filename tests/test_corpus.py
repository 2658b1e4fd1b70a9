"""The v2 corpus (models/lstmabar/corpus) and the full-band front end: tiny builds only.

Builds use a tiny generated soundfont (one looped 440 Hz sine sample, ``write_sine_sf2``), so they run
without Debian's fluid-soundfont-gm; they need tinysoundfont (``pip install --no-deps tinysoundfont``)
and skip with the reason otherwise. The full corpus never runs here.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from lstmabar.models.lstmabar.corpus import captions as cap
from lstmabar.models.lstmabar.corpus import plan, split
from lstmabar.models.lstmabar.corpus.gm import PERCUSSION, PROGRAMS
from lstmabar.models.lstmabar.corpus.render import tinysoundfont_available
from lstmabar.models.lstmabar.features import FULL_SAMPLE_RATE, FullBandLogMel, LogMel

needs_renderer = pytest.mark.skipif(not tinysoundfont_available(),
                                    reason="tinysoundfont is not installed (pip install --no-deps tinysoundfont)")
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_crowd = pytest.mark.skipif(not (SHARED / "socialfx" / "eq_contributions.csv").is_file(), reason="../shared/data (crowd data) is absent")


# ----------------------------------------------------------------------------- a tiny soundfont
def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(s: str) -> bytes:
    return s.encode()[:19].ljust(20, b"\0")


def write_sine_sf2(path: Path, programs=range(128), drum_kits=(0,)) -> Path:
    """A minimal valid SoundFont 2: one looped 440 Hz sine (exactly 100 samples a cycle at 44 kHz, root
    key 69, release 0.1 s), one instrument on it, a preset per GM program (bank 0) and drum kit (bank 128)."""
    sr, cycles = 44_000, 20
    smp = (0.5 * 32767 * np.sin(2 * np.pi * np.arange(100 * cycles) / 100)).astype("<i2")
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", b"EMU8000\0"), _chunk(b"INAM", b"sine test\0"))
    sdta = _list(b"sdta", _chunk(b"smpl", smp.tobytes() + b"\0" * 2 * 46))
    presets = [(p, 0) for p in programs] + [(k, 128) for k in drum_kits]
    phdr = b"".join(_name(f"sine {b}:{p}") + struct.pack("<HHHIII", p, b, i, 0, 0, 0) for i, (p, b) in enumerate(presets))
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, len(presets), 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", i, 0) for i in range(len(presets) + 1))
    pgen = struct.pack("<HH", 41, 0) * len(presets) + b"\0" * 4  # every preset zone -> instrument 0
    inst = _name("sine") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 3, 0)
    igen = struct.pack("<Hh", 38, -3986) + struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, 0) + b"\0" * 4
    n = len(smp)
    shdr = _name("sine") + struct.pack("<IIIIIBbHH", 0, n, 0, n, sr, 69, 0, 0, 1) + _name("EOS") + b"\0" * 26
    pdta = _list(b"pdta", _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", b"\0" * 10), _chunk(b"pgen", pgen),
                 _chunk(b"inst", inst), _chunk(b"ibag", ibag), _chunk(b"imod", b"\0" * 10), _chunk(b"igen", igen), _chunk(b"shdr", shdr))
    body = b"sfbk" + info + sdta + pdta
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(path)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    s = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[s.argmax()])


# ----------------------------------------------------------------------------- rendering
@needs_renderer
def test_renderer_plays_the_note_it_is_given_and_is_deterministic(tmp_path):
    from lstmabar.models.lstmabar.corpus.render import SAMPLE_RATE, SoundFontRenderer

    r = SoundFontRenderer(write_sine_sf2(tmp_path / "sine.sf2"))
    a = r.render([(69, 0.0, 0.5, 100)], 5)
    assert abs(_peak_hz(a, SAMPLE_RATE) - 440.0) < 2.0
    assert abs(_peak_hz(r.render([(81, 0.0, 0.5, 100)], 0), SAMPLE_RATE) - 880.0) < 3.0
    # the note stops: 0.5 s on, 0.1 s release, silence after
    assert np.abs(a[: int(0.4 * SAMPLE_RATE)]).max() > 0.1 and np.abs(a[int(0.7 * SAMPLE_RATE) :]).max() < 1e-3
    r.render([(60, 0.0, 1.5, 40), (64, 0.2, 1.0, 127)], 3)  # another render in between changes nothing
    assert np.array_equal(a, r.render([(69, 0.0, 0.5, 100)], 5))
    assert np.abs(r.render([(38, 0.0, 0.3, 90)], 0, drums=True)).max() > 0.05


# ----------------------------------------------------------------------------- the holdout
@needs_crowd
def test_holdout_shares_and_protected_words():
    held = split.held_out_programs()
    assert len(held) / 128 >= 0.2 and len(split.held_out_drums()) / len(PERCUSSION) >= 0.2
    vocab, crowd = split.crowd_vocabulary(), split.held_out_crowd_words()
    for effect in ("eq", "reverb", "compressor"):
        assert len(crowd[effect]) / len(vocab[effect]) >= 0.2, effect
    # a v1 test word (held out by the project hash) and a held-out crowd word are never trainable
    v1 = min(split.v1_protected())
    assert not split.caption_is_trainable(f"a {v1} piano note")
    assert not split.caption_is_trainable(f"make it {crowd['reverb'][0]}")
    assert not split.caption_is_trainable("like a flute")  # "like" is a held-out v1 word
    # every training program can be named in a training caption; held-out programs' plain names share none with it
    for p in PROGRAMS:
        if p.number not in held:
            assert split.caption_is_trainable(f"a {p.name} {p.unit}"), p.name
    assert {PROGRAMS[i].name for i in held}.isdisjoint({p.name for p in PROGRAMS if p.number not in held})
    # programs GM only numbers (Slap Bass 1 / 2) are held out together
    assert (36 in held) == (37 in held) and (50 in held) == (51 in held)


def test_phrasings_held_out_by_kind():
    for kind, temps in cap.TEMPLATES.items():
        held = split.held_out_templates(kind, temps)
        assert temps[0] not in held and held, kind
        assert len(temps) - 1 - len(held) >= 3, kind  # enough training phrasings remain


def test_captions_say_only_what_was_measured():
    measured = [{"word": "dark", "descriptor": "centroid_hz"}, {"word": "quiet", "descriptor": "integrated_lufs"},
                {"word": "plucky", "descriptor": "attack_s"}]
    words = cap.measured_words(measured)
    assert words == ["dark", "plucky"]  # level words are not captioned (clips are peak-normalised)
    vals = {"name": "marimba", "unit": "note", **cap.word_values(words)}
    caps = cap.make_captions("note", vals, list(cap.NOTE[1:]), __import__("random").Random(0), 30)
    assert caps[0] == "a marimba note" and len(caps) > 3
    assert not any("bright" in c for c in caps)
    assert any("dark" in c for c in caps)
    assert cap.fill("{a_words} {name} {unit}", {"name": "oboe", "unit": "note", "words": ""}) is None
    assert cap.fill("{a_name} {unit}", {"name": "oboe", "unit": "note"}) == "an oboe note"


def test_crowd_words_the_measurement_contradicts():
    darker = [{"word": "darker", "descriptor": "centroid_hz"}]
    rel, ab = cap.contradictions(["bright", "warm"], darker, [{"word": "dark"}])
    assert rel == ["bright"] and ab == ["bright"]  # "warm" is no descriptor axis: never contradicted
    rel, ab = cap.contradictions(["dark"], darker, [{"word": "dark"}])
    assert rel == [] and ab == []


# ----------------------------------------------------------------------------- effects
@needs_crowd
def test_crowd_effects_do_what_their_settings_say():
    from lstmabar.library.descriptors import describe_batch
    from lstmabar.models.lstmabar.corpus.effects import (
        apply_effect,
        load_contributions,
        word_means,
    )

    contributions = load_contributions()
    assert {c.effect for c in contributions} == {"eq", "reverb", "compressor"}
    assert all(c.words for c in contributions)
    sr = 44_100
    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal(sr) * np.exp(-np.arange(sr) / (0.05 * sr))).astype(np.float32)
    tilt = np.linspace(-1.0, 1.0, 40)  # a curve that lifts the top and cuts the bottom
    up = apply_effect("eq", tilt, 0.5, x, sr)
    down = apply_effect("eq", -tilt, 0.5, x, sr)
    d = describe_batch(np.stack([up, down]), sr)
    assert d["low_end_db"][1] - d["low_end_db"][0] > 10 and d["band_air_db"][0] - d["band_air_db"][1] > 2
    means = word_means(contributions, "reverb")
    long_word = max((w for w in means if means[w][1] >= 5), key=lambda w: means[w][0][0])
    wet = apply_effect("reverb", means[long_word][0], 1.0, x, sr)
    assert len(wet) == len(x)
    assert np.abs(wet[int(0.6 * sr) :]).max() > 10 * np.abs(x[int(0.6 * sr) :]).max()  # a tail where the dry hit was over


# ----------------------------------------------------------------------------- a tiny build
TINY = plan.Scale(pitches=1, full_grid=False, chords=1, phrases=0, kits=(0,), drum_velocities=(90,), shift_pitches=1,
                  shift_chords=0, shift_phrases=0, shift_kits=(), sample_crops=1, triplets={"eq": 3, "reverb": 3, "compressor": 2},
                  eval_notes=2, captions=3, programs=None, drum_notes=(38,), eval_words=2)


def _tiny_scale() -> plan.Scale:
    held = sorted(split.held_out_programs())
    train = [p.number for p in PROGRAMS if p.number not in split.held_out_programs() and p.unit == "note"]
    progs = (train[0], train[1], held[0], held[1])
    return plan.Scale(**{**TINY.__dict__, "programs": progs})


@needs_renderer
@needs_crowd
@pytest.mark.slow
def test_tiny_corpus_builds_holds_out_and_caches(tmp_path):
    from lstmabar.models.lstmabar.corpus import build
    from lstmabar.models.lstmabar.corpus.store import Corpus

    sf2 = write_sine_sf2(tmp_path / "sine.sf2")
    out = tmp_path / "corpus"
    kw = {"scale_override": _tiny_scale(), "soundfonts": {"fluidr3": str(sf2), "timgm6mb": str(sf2)},
          "samples_dir": str(tmp_path / "no-samples"), "audio": "all"}
    m = build.build(out, "small", 3, **kw)
    c = Corpus(out)
    assert m["complete"] and m["counts"]["clips"] == len(c.clips) == 4 * 2 + 1 + 4  # 4 programs x (note, chord/phrase), a drum, 4 shift notes
    assert {r["split"] for r in c.clips} == {"train", "test", "shift"}
    held = set(m["holdout"]["crowd_words"]["eq"]) | set(m["holdout"]["crowd_words"]["reverb"]) | set(m["holdout"]["crowd_words"]["compressor"])
    assert m["holdout"]["program_share"] >= 0.2 and m["holdout"]["soundfonts"] == ["timgm6mb"]
    for r in c.clips:
        assert (r["split"] == "test") == (r.get("program") in split.held_out_programs()) or r["source"] != "fluidr3"
        if r["split"] == "train":
            assert r["captions"] and all(split.caption_is_trainable(x) for x in r["captions"])
        assert all("evidence" in w for w in r["words"])
    train_t = [t for t in c.triplets if t["split"] == "train"]
    test_t = [t for t in c.triplets if t["split"] == "test"]
    assert len(train_t) == 8 and len(test_t) == 3 * 2 * 2  # 3 effects x 2 held-out words x 2 held-out notes
    for t in train_t:
        assert not set(t["words"]) & held and c.by_id[t["dry"]]["split"] == "train"
        assert all(split.caption_is_trainable(x) for x in t["captions"])
    for t in test_t:
        assert set(t["words"]) <= held and c.by_id[t["dry"]]["split"] == "test"
    # cached full-band features: one 128-band log-mel per item, 2 s at 44.1 kHz
    mel = c.mels([c.clips[0]["id"], test_t[0]["id"]])
    assert mel.shape == (2, 128, 173) and mel.dtype == np.float16
    # a stored waveform equals the one rendered again from its spec (clip, and triplet from its dry clip)
    src = build.Sources(kw["soundfonts"], kw["samples_dir"])
    clip, trip = c.clips[0], train_t[0]
    stored = c.audio([clip["id"], trip["id"]])
    assert np.abs(stored[0] - build.render_clip(clip, src)[0]).max() <= 1 / 32767
    dry = build.render_clip(c.by_id[trip["dry"]], src)[0]
    assert np.abs(stored[1] - build.render_triplet(trip, dry)[0]).max() <= 1 / 32767
    # a rebuild reuses every shard and writes the same rows
    before = (out / "clips.jsonl").read_text() + (out / "triplets.jsonl").read_text()
    m2 = build.build(out, "small", 3, **kw)
    assert (out / "clips.jsonl").read_text() + (out / "triplets.jsonl").read_text() == before
    assert m2["counts"] == m["counts"]


def test_corpus_is_refused_inside_the_repository():
    from lstmabar.server.cli import main

    with pytest.raises(SystemExit) as e:
        main(["data", "build", "--out", str(Path(__file__).resolve().parents[1] / "corpus_here")])
    assert e.value.code == 2


# ----------------------------------------------------------------------------- the full-band front end
def _sine(hz: float, sr: int, seconds: float = 1.0) -> torch.Tensor:
    return torch.sin(2 * math.pi * hz * torch.arange(int(sr * seconds)) / sr)[None]


def test_full_band_front_end_hears_what_the_16k_one_cannot():
    fb = FullBandLogMel()
    hi = fb(_sine(15_000, FULL_SAMPLE_RATE), FULL_SAMPLE_RATE)[0, 0].mean(-1)
    lo = fb(_sine(1_000, FULL_SAMPLE_RATE), FULL_SAMPLE_RATE)[0, 0].mean(-1)
    centres = _band_centres(fb)
    assert abs(centres[int(hi.argmax())] - 15_000) < 600 and abs(centres[int(lo.argmax())] - 1_000) < 60
    # the shipped 16 kHz front end gets nothing of a 15 kHz tone: its input is resampled to 16 kHz first
    from lstmabar.models.lstmabar.features import SAMPLE_RATE, resample

    x = _sine(15_000, FULL_SAMPLE_RATE)
    assert resample(x, FULL_SAMPLE_RATE, SAMPLE_RATE).pow(2).mean().sqrt() < 3e-3 * x.pow(2).mean().sqrt()  # -50 dB (float32 leakage)
    c = fb(_sine(15_500, FULL_SAMPLE_RATE), FULL_SAMPLE_RATE)[0, 0].mean(-1)
    assert int(c.argmax()) > int(hi.argmax())


def _band_centres(fb: FullBandLogMel) -> np.ndarray:
    w = fb.fb.numpy()
    f = np.linspace(0, FULL_SAMPLE_RATE / 2, w.shape[1])
    return (w * f).sum(1) / w.sum(1)


def test_full_band_front_end_44k_and_48k_agree_and_shape():
    fb = FullBandLogMel()
    x44 = fb(_sine(3_000, 44_100, 2.0), 44_100)
    x48 = fb(_sine(3_000, 48_000, 2.0), 48_000)
    assert x44.shape == x48.shape == (1, 1, 128, fb.frames(88_200)) and fb.frames(96_000, 48_000) == x44.shape[-1]
    band = int(x44[0, 0].mean(-1).argmax())
    assert band == int(x48[0, 0].mean(-1).argmax())
    # where the tone is (within 30 dB of its band), the two rates give the same levels to 0.05 (log10)
    strong = x44[0, 0, :, 5:-5] > x44[0, 0, band, 5:-5].max() - 3
    assert strong.any() and (x44[0, 0, :, 5:-5][strong] - x48[0, 0, :, 5:-5][strong]).abs().max() < 0.05
    assert int((fb.fb.sum(1) == 0).sum()) == 0  # no empty band
    with pytest.raises(ValueError, match="44.1 or 48 kHz"):
        FullBandLogMel(strict=True)(_sine(1_000, 16_000), 16_000)


def test_full_band_front_end_is_differentiable():
    x = (0.1 * torch.randn(1, 44_100)).requires_grad_(True)
    FullBandLogMel()(x, 44_100)[..., 100:110, :].mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_shipped_front_end_is_unchanged():
    """LogMel keeps its 16 kHz, 64-band, 20-8000 Hz definition (the shipped weights were trained on it)."""
    m = LogMel()
    assert m.fb.shape == (64, 513) and m.n_fft == 1024 and m.hop == 256
    centres = (m.fb * torch.linspace(0, 8000, 513)).sum(1) / m.fb.sum(1)
    assert 20 < float(centres[0]) < 60 and 7000 < float(centres[-1]) < 8000
