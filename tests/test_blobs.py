"""The blob store (library/blobs.py) and the library on each backend: local folder, the metadata
database, fsspec (memory://). A second library over the same database and store stands for another
replica with its own (empty) output folder."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np
import pytest

from lstmabar.library.blobs import BlobMissing, open_blobs, sync_folder
from lstmabar.library.config import Config
from lstmabar.library.errors import UnknownSoundError
from lstmabar.library.store import SoundLibrary, make_engine

BACKENDS = ["local", "database", "memory"]


def _spec(kind: str) -> str:
    return f"memory://lstmabar-test-{secrets.token_hex(4)}" if kind == "memory" else kind


def _config(tmp: Path, name: str, spec: str, db: str) -> Config:
    return Config(output_dir=tmp / name, database_url=db, blob_store=spec)


def _tone(seconds: float = 0.2, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("kind", BACKENDS)
def test_store_round_trip(tmp_path: Path, kind: str) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    blobs = open_blobs(_spec(kind), root=tmp_path / "root", engine=engine)
    blobs.put("sounds/a.wav", b"one")
    blobs.put("sounds/a.wav", b"two")  # overwrite is whole
    blobs.put("reward/reward-v1.json", b"{}")
    assert blobs.get("sounds/a.wav") == b"two"
    assert blobs.exists("sounds/a.wav") and not blobs.exists("sounds/b.wav")
    assert blobs.keys("sounds/") == ["sounds/a.wav"]
    assert blobs.keys() == ["reward/reward-v1.json", "sounds/a.wav"]
    age = blobs.age_s("sounds/a.wav")
    assert age is None or -5 < age < 60
    blobs.delete("sounds/a.wav")
    blobs.delete("sounds/a.wav")  # twice is fine
    with pytest.raises(BlobMissing):
        blobs.get("sounds/a.wav")
    with pytest.raises(ValueError):
        blobs.put("../escape", b"x")


def test_unknown_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'local'.*'database'.*s3://"):
        open_blobs("ftp-ish", root=tmp_path)


@pytest.mark.parametrize("kind", BACKENDS)
def test_sound_made_by_one_library_is_read_by_another(tmp_path: Path, kind: str) -> None:
    spec, db = _spec(kind), f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    if kind == "local":  # the local store is one folder: a second library must open the same one
        a = b = SoundLibrary(_config(tmp_path, "a", spec, db))
    else:
        a, b = SoundLibrary(_config(tmp_path, "a", spec, db)), SoundLibrary(_config(tmp_path, "b", spec, db))
    try:
        rec = a.add(_tone(), 16000, tool="test", prompt="a tone")
        assert Path(rec.path).exists()
        if kind != "local":
            assert not (tmp_path / "b" / "sounds" / f"{rec.id}.wav").exists()
        audio = b.read(rec.id)
        assert audio.sample_rate == 16000 and audio.frames == 3200
        np.testing.assert_allclose(audio.mono(), _tone(), atol=1e-6)
        assert b.wav_bytes(rec.id)[:4] == b"RIFF"
        png = b.spectrogram(rec.id)
        assert png[:4] == b"\x89PNG"
        assert a.blobs.exists(f"sounds/{rec.id}.png")  # rendered once, kept in the shared store
        assert a.spectrogram(rec.id) == png
        report = b.check()
        assert report["orphan_blobs"] == [] and report["rows_without_blob"] == [] and report["sounds"] == 1
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_failed_row_leaves_no_blob(tmp_path: Path, kind: str) -> None:
    lib = SoundLibrary(_config(tmp_path, "a", _spec(kind), f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        with pytest.raises(UnknownSoundError):
            lib.add(_tone(), 16000, tool="test", parents=["snd_doesnotexist"])
        assert lib.count() == 0
        assert lib.blobs.keys("sounds/") == []
    finally:
        lib.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_check_finds_and_removes_orphans(tmp_path: Path, kind: str) -> None:
    lib = SoundLibrary(_config(tmp_path, "a", _spec(kind), f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        kept = lib.add(_tone(), 16000, tool="test")
        gone = lib.add(_tone(), 16000, tool="test")
        lib.blobs.put("sounds/snd_crashedbeforerow.wav", b"RIFF....")
        lib.blobs.delete(f"sounds/{gone.id}.wav")
        young = lib.check(remove=True, grace_s=3600)  # a fresh orphan may still be waiting for its row
        assert young["removed"] == [] and young["too_young_to_judge"] == ["sounds/snd_crashedbeforerow.wav"]
        report = lib.check(remove=True, grace_s=0)
        assert report["orphan_blobs"] == ["sounds/snd_crashedbeforerow.wav"] == report["removed"]
        assert report["rows_without_blob"] == [f"{gone.id}.wav"]
        assert not lib.blobs.exists("sounds/snd_crashedbeforerow.wav")
        assert lib.blobs.exists(f"sounds/{kept.id}.wav")
    finally:
        lib.close()


@pytest.mark.parametrize("kind", ["database", "memory"])
def test_check_keeps_a_shared_blob_of_unknown_age(tmp_path: Path, kind: str, monkeypatch) -> None:
    """In a shared store a blob whose age cannot be read may belong to a sound another replica is
    about to commit: within the grace period it is too young to judge, not an orphan to remove."""
    lib = SoundLibrary(_config(tmp_path, "a", _spec(kind), f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        assert lib.blobs.shared
        lib.blobs.put("sounds/snd_rowcomingsoon.wav", b"RIFF....")
        monkeypatch.setattr(lib.blobs, "age_s", lambda _key: None)
        report = lib.check(remove=True)  # the default grace period of a shared store
        assert report["grace_s"] > 0
        assert report["orphan_blobs"] == [] == report["removed"]
        assert report["too_young_to_judge"] == ["sounds/snd_rowcomingsoon.wav"]
        assert lib.blobs.exists("sounds/snd_rowcomingsoon.wav")
        forced = lib.check(remove=True, grace_s=0)  # no grace asked for: removed whatever its age
        assert forced["removed"] == ["sounds/snd_rowcomingsoon.wav"]
        assert not lib.blobs.exists("sounds/snd_rowcomingsoon.wav")
    finally:
        lib.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_failure_after_the_blob_leaves_neither(tmp_path: Path, kind: str, monkeypatch) -> None:
    """A failure after the blob is stored and the row added (here: the lineage row) keeps neither:
    one rolled-back transaction for the database store, a removed blob for the others."""
    from lstmabar.library import store

    lib = SoundLibrary(_config(tmp_path, "a", _spec(kind), f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        parent = lib.add(_tone(), 16000, tool="test")

        def boom(*_a, **_k):
            raise RuntimeError("the database went away mid-commit")

        monkeypatch.setattr(store, "ParentRow", boom)
        with pytest.raises(RuntimeError, match="went away"):
            lib.add(_tone(), 16000, tool="test", parents=[parent.id])
        assert lib.count() == 1 and lib.blobs.keys("sounds/") == [f"sounds/{parent.id}.wav"]
    finally:
        lib.close()


def test_sync_folder_moves_versions_both_ways(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    blobs = open_blobs("database", root=tmp_path, engine=engine)
    a, b = tmp_path / "a" / "reward", tmp_path / "b" / "reward"
    a.mkdir(parents=True)
    (a / "reward-v1.json").write_text(json.dumps({"v": 1}))
    (a / "reward-v1.pt").write_bytes(b"weights")
    (a / "features-x.pt").write_bytes(b"cache, not shared")
    match = lambda n: n.startswith("reward-v")  # noqa: E731
    assert sync_folder(blobs, "reward", a, match=match) == {"uploaded": ["reward-v1.json", "reward-v1.pt"], "downloaded": []}
    assert sync_folder(blobs, "reward", b, match=match) == {"uploaded": [], "downloaded": ["reward-v1.json", "reward-v1.pt"]}
    assert (b / "reward-v1.pt").read_bytes() == b"weights" and not (b / "features-x.pt").exists()
    assert sync_folder(blobs, "reward", b, match=match) == {"uploaded": [], "downloaded": []}


def test_concurrent_puts_of_one_key_do_not_collide(tmp_path: Path) -> None:
    """Two clients asking for the same sound's spectrogram at once both write its PNG: each write has
    its own temporary name, so neither fails and no temporary file is left behind."""
    import threading

    blobs = open_blobs("local", root=tmp_path)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(i: int) -> None:
        start.wait()
        for _ in range(100):
            try:
                blobs.put("sounds/snd_x.png", bytes([i]) * 50_000)
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert blobs.keys("sounds/") == ["sounds/snd_x.png"]
    data = blobs.get("sounds/snd_x.png")
    assert len(data) == 50_000 and len(set(data)) == 1  # one whole write, never a mix


def test_sync_folder_downloads_through_a_unique_temporary_name(tmp_path: Path, monkeypatch) -> None:
    """Two replicas' syncs into one folder must not share a temporary name, and a leftover
    temporary file (a crash mid-download) neither blocks nor joins a later sync."""
    import os

    from lstmabar.library import blobs as blobs_module

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    blobs = open_blobs("database", root=tmp_path, engine=engine)
    blobs.put("reward/reward-v1.pt", b"weights")
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "reward-v1.pt.partial").write_bytes(b"left by a crash")
    used: list[str] = []
    real_replace = os.replace

    def spy(src, dst):  # noqa: ANN001
        used.append(Path(src).name)
        return real_replace(src, dst)

    monkeypatch.setattr(blobs_module.os, "replace", spy)
    match = lambda n: n.startswith("reward-v") and n.endswith(".pt")  # noqa: E731
    assert sync_folder(blobs, "reward", folder, match=match)["downloaded"] == ["reward-v1.pt"]
    assert sync_folder(blobs, "reward", tmp_path / "c", match=match)["downloaded"] == ["reward-v1.pt"]
    assert len(used) == 2 and used[0] != used[1] and all(n.endswith(".partial") for n in used)
    assert (folder / "reward-v1.pt").read_bytes() == b"weights"


def test_concurrent_first_puts_of_one_key_in_the_database(tmp_path: Path, monkeypatch) -> None:
    """A trainer publishing a reward version while a replica's sync uploads the same new file: both
    find no row for the key and insert it. The second insert must become an update, not an error."""
    from sqlalchemy.orm import Session

    from lstmabar.library import blobs as blobs_module

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    mine, theirs = open_blobs("database", root=tmp_path, engine=engine), open_blobs("database", root=tmp_path, engine=engine)
    raced: list[bool] = []

    class Racing(Session):
        def get(self, *args, **kwargs):  # noqa: ANN002, ANN003
            found = super().get(*args, **kwargs)
            if not raced:  # the other writer inserts the key right after this one looked for it
                raced.append(True)
                theirs.put("reward/reward-v1.pt", b"their bytes")
            return found

    monkeypatch.setattr(blobs_module, "Session", Racing)
    mine.put("reward/reward-v1.pt", b"my bytes")
    assert raced and mine.get("reward/reward-v1.pt") == b"my bytes"  # the last writer wins, as for a file
    assert mine.keys("reward/") == ["reward/reward-v1.pt"]


def test_library_check_command(tmp_path: Path, capsys) -> None:
    from lstmabar.server.cli import main

    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    lib = SoundLibrary(_config(tmp_path, "a", "database", db))
    lib.blobs.put("sounds/snd_orphan.wav", b"x")
    lib.close()
    env_args = ["--output-dir", str(tmp_path / "a"), "--database-url", db, "--blob-store", "database"]
    assert main(["library", "check", *env_args]) == 0  # a shared store's fresh blob may be waiting for its row
    assert json.loads(capsys.readouterr().out)["too_young_to_judge"] == ["sounds/snd_orphan.wav"]
    assert main(["library", "check", "--grace-s", "0", *env_args]) == 1  # orphans found: non-zero, for cron and CI
    report = json.loads(capsys.readouterr().out)
    assert report["orphan_blobs"] == ["sounds/snd_orphan.wav"] and report["removed"] == []
    assert main(["library", "check", "--remove", "--grace-s", "0", *env_args]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == ["sounds/snd_orphan.wav"]
