from __future__ import annotations

import numpy as np
import pytest

from lstmabar.library.errors import ToolError, UnknownSoundError
from lstmabar.library.store import SoundLibrary


def tone(seconds: float = 0.5, sr: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_add_get_read_roundtrip(library: SoundLibrary) -> None:
    rec = library.add(tone(), 48_000, tool="test", prompt="a tone", params={"freq": {"value": 440.0, "unit": "Hz"}})
    assert rec.id.startswith("snd_") and len(rec.id) > 20
    got = library.get(rec.id)
    assert got.prompt == "a tone" and got.params["freq"]["unit"] == "Hz"
    audio = library.read(rec.id)
    assert audio.sample_rate == 48_000 and audio.channels == 1
    np.testing.assert_allclose(audio.samples[0], tone(), atol=1e-7)


def test_stereo_kept_at_native_rate(library: SoundLibrary) -> None:
    st = np.stack([tone(sr=22_050), -tone(sr=22_050)])
    rec = library.add(st, 22_050, tool="test")
    audio = library.read(rec.id)
    assert (audio.channels, audio.sample_rate) == (2, 22_050)


def test_lineage_and_filters(library: SoundLibrary) -> None:
    a = library.add(tone(), 48_000, tool="synthesize_from_text", prompt="warm pad")
    b = library.add(tone(), 48_000, tool="optimize_fx", prompt="brighter", parents=[a.id])
    assert b.parents == [a.id]
    assert [r.id for r in library.list(parent=a.id)] == [b.id]
    assert [r.id for r in library.list(tool="synthesize_from_text")] == [a.id]
    assert [r.id for r in library.list(prompt_contains="BRIGHT")] == [b.id]


def test_prompt_contains_is_literal_text(library: SoundLibrary) -> None:
    pad = library.add(tone(), 48_000, tool="t", prompt="warm pad")
    odd = library.add(tone(), 48_000, tool="t", prompt="100% p_d /x\\y")
    assert [r.id for r in library.list(prompt_contains="p_d")] == [odd.id]  # _ is not "any character"
    assert [r.id for r in library.list(prompt_contains="pad")] == [pad.id]
    assert [r.id for r in library.list(prompt_contains="%")] == [odd.id]  # % is not "anything"
    assert library.list(prompt_contains="w%d") == []
    assert [r.id for r in library.list(prompt_contains="/x\\")] == [odd.id]
    assert [r.id for r in library.list(prompt_contains="WARM")] == [pad.id]


def test_unknown_parent_leaves_nothing(library: SoundLibrary) -> None:
    with pytest.raises(UnknownSoundError):
        library.add(tone(), 48_000, tool="test", parents=["snd_missing"])
    assert library.count() == 0
    assert list(library.sounds_dir.glob("*")) == []


def test_failed_commit_removes_file(library: SoundLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.orm import Session

    def boom(self, *a, **k):  # the database refuses the row after the file was written
        raise RuntimeError("disk full")

    monkeypatch.setattr(Session, "flush", boom)
    with pytest.raises(RuntimeError):
        library.add(tone(), 48_000, tool="test")
    monkeypatch.undo()
    assert library.count() == 0
    assert list(library.sounds_dir.glob("*.wav")) == []


def test_repair_removes_orphans(library: SoundLibrary) -> None:
    rec = library.add(tone(), 48_000, tool="test")
    (library.sounds_dir / "snd_orphan.wav").write_bytes(b"RIFF")
    (library.sounds_dir / "snd_x.wav.partial").write_bytes(b"RIFF")
    assert sorted(library.repair()) == ["snd_orphan.wav", "snd_x.wav.partial"]
    assert library.read(rec.id).frames > 0


def test_invalid_audio_refused(library: SoundLibrary) -> None:
    bad = tone()
    bad[10] = np.nan
    with pytest.raises(ToolError):
        library.add(bad, 48_000, tool="test")
    assert library.count() == 0


def test_feedback_idempotent_and_aggregate(library: SoundLibrary) -> None:
    a = library.add(tone(), 48_000, tool="t")
    b = library.add(tone(), 48_000, tool="t")
    fb1, created1 = library.add_feedback(a.id, rating=5, request_id="r1")
    fb2, created2 = library.add_feedback(a.id, rating=5, request_id="r1")  # a retry
    assert created1 and not created2 and fb1.id == fb2.id
    library.add_feedback(a.id, rating=3, preferred_over=b.id)
    agg = library.aggregate(a.id)
    assert (agg.mean_rating, agg.rating_count, agg.wins, agg.losses) == (4.0, 2, 1, 0)
    assert library.aggregate(b.id).losses == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rating": 0}, "1 to 5"),
        ({"rating": 6}, "1 to 5"),
        ({}, "Give a rating"),
        ({"preferred_over": "snd_nope"}, "No sound"),
    ],
)
def test_feedback_errors(library: SoundLibrary, kwargs: dict, message: str) -> None:
    a = library.add(tone(), 48_000, tool="t")
    with pytest.raises(ToolError, match=message):
        library.add_feedback(a.id, **kwargs)
    assert library.feedback_count() == 0


def test_feedback_unknown_sound(library: SoundLibrary) -> None:
    with pytest.raises(UnknownSoundError):
        library.add_feedback("snd_nope", rating=3)


def test_request_id_reused_for_another_judgement_is_an_error(library: SoundLibrary) -> None:
    a = library.add(tone(), 48_000, tool="t")
    b = library.add(tone(), 48_000, tool="t")
    first, _ = library.add_feedback(a.id, rating=4, comment="nice", tags=["warm"], request_id="r1")
    with pytest.raises(ToolError, match=f"request_id 'r1' was already used for feedback on another sound \\({a.id}\\)"):
        library.add_feedback(b.id, rating=4, comment="nice", tags=["warm"], request_id="r1")
    with pytest.raises(ToolError, match="already used for a different judgement"):
        library.add_feedback(a.id, rating=2, request_id="r1")
    with pytest.raises(ToolError, match="already used for a different judgement"):
        library.add_feedback(a.id, rating=4, comment="nice", tags=["warm"], preferred_over=b.id, request_id="r1")
    again, created = library.add_feedback(a.id, rating=4, comment="nice", tags=["warm"], request_id="r1")
    assert not created and again.id == first.id
    again, created = library.add_feedback(a.id, rating=4, request_id="r1")  # a retry may leave out extras
    assert not created and again.id == first.id and again.comment == "nice"
    assert library.feedback_count() == 1
