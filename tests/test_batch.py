"""``lstmabar batch`` (server/batch.py): tool calls from a JSONL file on a local Ray with two workers,
results JSONL, retries of unexpected failures and lost workers, resume without redoing finished lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from lstmabar.server.batch import RayStartError, ToolRunner, finished_ids, iter_results, open_results, read_jobs, run_batch


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_bad_jobs_file_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "jobs.jsonl"
    p.write_text('{"tool": "list_sounds"}\n\n# a comment\nnot json\n')
    with pytest.raises(SystemExit, match=r"jobs.jsonl:4: each line must be a JSON object"):
        read_jobs(p)
    _write(p, [{"tool": "list_sounds", "id": "x"}, {"tool": "list_sounds", "id": "x"}])
    with pytest.raises(SystemExit, match="id 'x' is used twice"):
        read_jobs(p)
    _write(p, [{"tool": "list_sounds"}, {"tool": "list_sounds", "arguments": {"limit": 1}, "id": "b"}])
    assert [(c.id, c.line, c.arguments) for c in read_jobs(p)] == [("1", 1, {}), ("b", 2, {"limit": 1})]


def test_finished_ids_skip_ok_and_rejected_not_failed(tmp_path: Path) -> None:
    r = tmp_path / "r.jsonl"
    r.write_text("\n".join([
        json.dumps({"id": "1", "status": "failed"}),
        json.dumps({"id": "1", "status": "ok"}),
        json.dumps({"id": "2", "status": "rejected"}),
        json.dumps({"id": "3", "status": "failed"}),
        '{"id": "4", "sta',  # cut short by an interruption
    ]))
    assert finished_ids(r) == {"1", "2"}


def test_rerun_after_a_cut_line_starts_its_rows_on_a_new_line(tmp_path: Path) -> None:
    """An interruption cut the results file mid-line; the rerun's first row must not be glued to that
    fragment (finished_ids could not read it, and a third run would redo the call)."""
    r = tmp_path / "out" / "r.jsonl"
    r.parent.mkdir()
    r.write_text(json.dumps({"id": "1", "status": "ok"}) + "\n" + '{"id": "2", "sta')
    with open_results(r) as out:  # the rerun redoes id 2
        out.write(json.dumps({"id": "2", "status": "ok"}) + "\n")
    assert finished_ids(r) == {"1", "2"}
    with open_results(r) as out:  # one more run: a file ending in a whole line gains no blank line
        out.write(json.dumps({"id": "2", "status": "ok"}) + "\n")
    assert [row["id"] for row in iter_results(r)] == ["1", "2", "2"]  # the fragment is skipped
    assert r.read_text().endswith('"ok"}\n') and "\n\n" not in r.read_text()
    fresh = tmp_path / "new" / "r.jsonl"  # a first run: folder made, nothing written before its rows
    with open_results(fresh) as out:
        out.write(json.dumps({"id": "1", "status": "ok"}) + "\n")
    assert fresh.read_text() == json.dumps({"id": "1", "status": "ok"}) + "\n"


class FlakyRunner(ToolRunner):
    """Fails the first attempt of a call named 'flaky' (an exception) or 'crash' (the worker dies),
    and every attempt of one named 'broken'; a marker file remembers the first attempt."""

    def run(self, tool, arguments):
        name = (arguments.get("name") or "") if isinstance(arguments, dict) else ""
        marker = Path(self.config.output_dir) / f"tried-{name}"
        if name == "broken":
            raise RuntimeError("always broken")
        if name in ("flaky", "crash") and not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("x")
            if name == "crash":
                os._exit(1)
            raise RuntimeError("flaky once")
        return super().run(tool, arguments)


@pytest.mark.slow
def test_batch_on_local_ray_with_two_workers(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'lstmabar[ray]'); the batch runner needs it")
    from ray import cloudpickle

    import tests.test_batch as this

    cloudpickle.register_pickle_by_value(this)  # the workers get FlakyRunner by value, not by import
    tone = tmp_path / "tone.wav"
    t = np.arange(22_050) / 22_050
    sf.write(tone, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 22_050)
    config = Config(output_dir=tmp_path / "lib", allowed_dirs=(tmp_path,), keep_ratings=True)
    audio = {"path": str(tone)}
    jobs = _write(tmp_path / "jobs.jsonl", [
        *({"tool": "describe_sound", "arguments": {"audio": audio, "spectrogram": False}, "id": f"d{i}"} for i in range(4)),
        {"tool": "import_sound", "arguments": {"audio": audio, "name": "plain"}, "id": "imp"},
        {"tool": "import_sound", "arguments": {"audio": audio, "name": "flaky"}, "id": "flaky"},
        {"tool": "import_sound", "arguments": {"audio": audio, "name": "crash"}, "id": "crash"},
        {"tool": "import_sound", "arguments": {"audio": audio, "name": "broken"}, "id": "broken"},
        {"tool": "no_such_tool", "id": "unknown"},
        {"tool": "list_sounds", "arguments": {"limit": "many"}, "id": "badargs"},
    ])
    results = tmp_path / "results.jsonl"
    try:
        summary = run_batch(jobs, results, config, workers=2, retries=1, progress=False, runner=FlakyRunner)
    except RayStartError as exc:  # Ray's own start-up timeouts are fixed; a heavily loaded machine can miss them
        pytest.skip(f"a local Ray could not start on this machine: {exc}")
    rows = {r["id"]: r for r in map(json.loads, results.read_text().splitlines())}
    assert summary["ok"] == 7 and summary["rejected"] == 2 and summary["failed"] == 1, summary
    assert rows["flaky"]["status"] == "ok" and rows["flaky"]["attempts"] == 2
    assert rows["crash"]["status"] == "ok" and rows["crash"]["attempts"] == 2  # its worker died and was restarted
    assert rows["broken"]["status"] == "failed" and rows["broken"]["attempts"] == 2 and "always broken" in rows["broken"]["error"]
    assert "no_such_tool" in rows["unknown"]["error"] and "limit" in rows["badargs"]["error"]
    assert all(rows[f"d{i}"]["status"] == "ok" and rows[f"d{i}"]["result"] for i in range(4))
    # Two workers shared the calls, and each loaded its models once: its count does not grow after its first describe.
    describe = [rows[f"d{i}"] for i in range(4)]
    assert len({r["worker"] for r in describe}) == 2  # (the crashed worker comes back with a new process id)
    by_worker: dict[int, list[int]] = {}
    for r in describe:
        by_worker.setdefault(r["worker"], []).append(r["models_loaded"])
    assert all(len(set(v)) == 1 and v[0] >= 1 for v in by_worker.values()), by_worker
    lib = SoundLibrary(config)
    assert sorted(r.prompt for r in lib.list(tool="import_sound")) == ["crash", "flaky", "plain"]  # written into the library, once each
    lib.close()

    # Resume: finished lines (ok and rejected) are not redone; the failed one and a new line are.
    with open(jobs, "a") as fh:
        fh.write(json.dumps({"tool": "import_sound", "arguments": {"audio": audio, "name": "later"}, "id": "later"}) + "\n")
    again = run_batch(jobs, results, config, workers=2, retries=0, progress=False, runner=FlakyRunner)
    assert again["skipped_finished"] == 9 and again["ok"] == 1 and again["failed"] == 1, again
    lib = SoundLibrary(config)
    assert sorted(r.prompt for r in lib.list(tool="import_sound")) == ["crash", "flaky", "later", "plain"]
    lib.close()
