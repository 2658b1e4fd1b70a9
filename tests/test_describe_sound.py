"""describe_sound: descriptors, words with evidence, archetype mix, spectrogram, comparisons; bad input
is a clear tool error and the library is never written to."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import soundfile as sf
import torch

from lstmabar.library.audio_input import AudioInput
from lstmabar.library.audio_io import encode_wav
from lstmabar.library.errors import ToolError
from lstmabar.tools import describe_sound as tool

SR = 44_100


def tone(f: float = 440.0, seconds: float = 1.5, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f * t) * np.minimum(1.0, t / 0.01)).astype(np.float32)


def state(ctx) -> tuple[int, list[str]]:
    return ctx.library.count(), sorted(p.name for p in ctx.library.sounds_dir.glob("*"))


@pytest.fixture(scope="module")
def small_lstmabar():
    from lstmabar.models.lstmabar.embedder import LSTMABAREmbedder
    from lstmabar.models.lstmabar.model import LSTMABARModel, ModelConfig

    torch.manual_seed(0)
    return LSTMABAREmbedder(LSTMABARModel(ModelConfig(dim=32, attention="classical", widths=(4, 8, 8, 8), head_hidden=16)), device="cpu")


def test_library_sound_described_with_words_note_and_image(ctx):
    rec = ctx.library.add(tone(440.0)[None], SR, tool="import_sound")
    before = state(ctx)
    out = tool.run(tool.Input(audio=AudioInput(sound_id=rec.id)), ctx)
    s = out.output.sound
    assert s.sound_id == rec.id and s.note.startswith("A4") and s.f0_hz == pytest.approx(440, abs=1)
    assert s.descriptors.spectrum.centroid_hz == pytest.approx(440, rel=0.05)
    assert s.loudness_lufs is not None and s.summary.startswith("pitched, A4")
    assert s.words and all("percentile of the reference set" in w.evidence for w in s.words)
    assert out.images and out.images[0][:4] == b"\x89PNG"
    assert "A4" in out.summary and rec.id in out.summary
    # the tiny test embedder has no archetype head: said in a note, not an error
    assert s.archetypes is None and any("archetype" in n for n in out.output.notes)
    assert not out.sounds and state(ctx) == before


def test_archetype_mix_from_the_audio_tower(tool_ctx, small_lstmabar):
    tool_ctx.models._items["embedder:lstmabar"] = small_lstmabar
    wav = base64.b64encode(encode_wav(tone(220.0), SR)).decode()
    out = tool.run(tool.Input(audio=AudioInput(base64=wav), spectrogram=False), tool_ctx)
    mix = out.output.sound.archetypes
    assert mix is not None and set(mix.weights) == {"sine", "square", "sawtooth", "triangle", "noise"}
    assert sum(mix.weights.values()) == pytest.approx(1.0, abs=1e-3) and mix.dominant in mix.weights
    assert not out.images and tool_ctx.library.count() == 0


def test_compare_to_says_how_the_sound_changed(ctx, tmp_path):
    import pedalboard

    rng = np.random.default_rng(0)
    bright = (0.2 * rng.standard_normal(SR)).astype(np.float32)
    dark = pedalboard.LowpassFilter(cutoff_frequency_hz=1000)(bright[None], SR)[0]
    sf.write(tmp_path / "bright.wav", bright, SR)
    sf.write(tmp_path / "dark.wav", dark, SR)
    out = tool.run(tool.Input(audio=AudioInput(path=str(tmp_path / "dark.wav")), compare_to=AudioInput(path=str(tmp_path / "bright.wav")),
                              archetypes=False), ctx)
    diffs = {d.word: d for d in out.output.differences}
    assert "darker" in diffs and diffs["darker"].b < diffs["darker"].a
    assert out.output.compared_to is not None and "Compared with" in out.summary and "darker (centroid" in out.summary
    assert len(out.images) == 1
    same = tool.run(tool.Input(audio=AudioInput(path=str(tmp_path / "dark.wav")), compare_to=AudioInput(path=str(tmp_path / "dark.wav")),
                               archetypes=False, spectrogram=False), ctx)
    assert same.output.differences == [] and "no difference" in same.summary


def test_stereo_file_width(ctx, tmp_path):
    x = tone(330.0)
    sf.write(tmp_path / "pan.wav", np.stack([x, 0 * x], axis=1), SR)
    out = tool.run(tool.Input(audio=AudioInput(path=str(tmp_path / "pan.wav")), archetypes=False, spectrogram=False), ctx)
    sp = out.output.sound.descriptors.space
    assert out.output.sound.descriptors.channels == 2 and sp.stereo and sp.width == pytest.approx(0.5, abs=0.01)


def test_silent_and_long_sounds(ctx, tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(SR // 2, np.float32), SR)
    out = tool.run(tool.Input(audio=AudioInput(path=str(tmp_path / "silence.wav"))), ctx)
    assert out.output.sound.summary == "silent" and out.output.sound.words == [] and out.output.sound.archetypes is None
    sr = 8000
    t = np.arange(int(31 * sr)) / sr
    sf.write(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sr)
    out = tool.run(tool.Input(audio=AudioInput(path=str(tmp_path / "long.wav")), archetypes=False, spectrogram=False), ctx)
    assert out.output.sound.analysed_s == pytest.approx(30.0) and any("first 30 s" in n for n in out.output.notes)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda tmp: tool.Input(audio=AudioInput(sound_id="snd_missing")), "no sound"),
        (lambda tmp: tool.Input(audio=AudioInput(base64="not base64 at all!")), "base64"),
        (lambda tmp: tool.Input(audio=AudioInput(path="/etc/hostname")), "outside the folders"),
        (lambda tmp: tool.Input(audio=AudioInput(path=str(tmp / "t.wav")), compare_to=AudioInput(sound_id="snd_missing")), "no sound"),
        (lambda tmp: tool.Input(audio=AudioInput(path=str(tmp / "garbage.wav"))), "decode"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(ctx, tmp_path, make, words):
    sf.write(tmp_path / "t.wav", tone(), SR)
    (tmp_path / "garbage.wav").write_bytes(b"RIFF this is not a wave file")
    ctx.library.add(tone()[None], SR, tool="import_sound")
    before = state(ctx)
    with pytest.raises(ToolError) as err:
        tool.run(make(tmp_path), ctx)
    assert words in str(err.value).lower()
    assert state(ctx) == before


def test_input_needs_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one"):
        tool.Input(audio=AudioInput())
    assert tool.TOOL.annotations.read_only_hint is True and tool.TOOL.annotations.destructive_hint is False
