"""Jobs as rows in the shared database (library/job_table.py, server/jobs.py RemoteJob): what a replica
that does not run a job reads and does with it. The two-process version is tests/test_replicas.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lstmabar.library.config import Config
from lstmabar.library.schema import utcnow
from lstmabar.library.store import SoundLibrary
from lstmabar.server.jobs import STALE_S, JobManager
from lstmabar.server.workers import WorkerPool
from lstmabar.tools import all_tools
from lstmabar.tools.jobs import _outcome

JOB = "job_0123456789ab"


@pytest.fixture
def lib(tmp_path: Path):
    library = SoundLibrary(Config(output_dir=tmp_path / "lib"))
    yield library
    library.close()


def _manager(lib: SoundLibrary) -> JobManager:
    return JobManager(WorkerPool(1), all_tools(), lambda **_k: None, library=lambda: lib)


def test_job_run_elsewhere_is_read_cancelled_and_finished_through_the_table(lib: SoundLibrary) -> None:
    jobs = _manager(lib)  # first: importing every tool can take longer than STALE_S on a busy machine
    now = utcnow()
    lib.job_table.insert(id=JOB, tool="synthesize_from_text", arguments={"prompt": "pad"}, replica="other:1:aa",
                         state="running", progress=0.25, message="generation 3", created_at=now - timedelta(seconds=10), heartbeat_at=now)
    job = jobs.get(JOB)
    assert (job.state, job.progress, job.message) == ("running", 0.25, "generation 3")
    assert job.elapsed() > 9
    assert "running, 25 %" in _outcome(job).summary
    jobs.cancel(JOB, wait_s=0.0)  # another replica runs it: the request is a flag it polls
    assert lib.job_table.cancel_requested([JOB]) == [JOB]
    lib.job_table.update(JOB, state="done", result={"prompt": "pad", "best_score": 0.5}, summary="1 sound.", sound_ids=["snd_gone"],
                         finished_at=utcnow(), elapsed_s=12.5)
    job = jobs.get(JOB)
    assert job.done_event.is_set() and job.elapsed() == 12.5
    out = _outcome(job)
    assert out.output.result == {"prompt": "pad", "best_score": 0.5} and "is done after 12.5 s. 1 sound." in out.summary
    assert out.sounds == []  # a sound id that is not in the library is left out, not an error


def test_job_whose_replica_stopped_reads_failed(lib: SoundLibrary) -> None:
    old = utcnow() - timedelta(seconds=STALE_S + 5)
    lib.job_table.insert(id=JOB, tool="optimize_fx", arguments={}, replica="gone:7:bb", state="running", created_at=old, heartbeat_at=old)
    job = _manager(lib).get(JOB)
    assert job.state == "failed" and "gone:7:bb" in job.error and "start the job again" in job.error
    assert job.done_event.wait(0.0)


def test_sync_racing_the_end_of_a_job_does_not_revive_it(lib: SoundLibrary, monkeypatch) -> None:
    """sync reads a running job's fields; the job ends and its outcome is stored; only then does
    sync's progress update reach the database. That update must not write 'running' over the stored
    outcome (nothing would rewrite it, and STALE_S later other replicas would call the job failed)."""
    from datetime import datetime, timezone

    from lstmabar.server.jobs import Job

    jm = _manager(lib)
    job = Job(id=JOB, tool="synthesize_from_text", arguments={}, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    job.state = "running"
    jm._jobs[job.id] = job
    lib.job_table.insert(id=JOB, tool=job.tool, arguments={}, replica="me", state="running", created_at=utcnow())
    raced: list[str] = []

    def racing(name: str):
        real = getattr(lib.job_table, name)

        def call(job_id: str, **values):
            if not raced and values.get("state") == "running":  # sync's update, its values read while running
                raced.append(name)
                job.finish("failed", error="the tool raised")  # the job ends now ...
                jm._store_final(job)  # ... and its outcome is stored before sync's update lands
            return real(job_id, **values)

        return call

    for name in ("update", "update_active"):
        if hasattr(lib.job_table, name):
            monkeypatch.setattr(lib.job_table, name, racing(name))
    jm.sync()
    assert raced and job.stored_final
    row = lib.job_table.get(JOB)
    assert row is not None and row["state"] == "failed" and row["finished_at"] is not None
    monkeypatch.setattr("lstmabar.server.jobs.STALE_S", -1.0)  # as if long after: still the stored outcome
    seen = _manager(lib).get(JOB)
    assert seen.state == "failed" and seen.error == "the tool raised"


def test_unknown_job_is_still_a_clear_error(lib: SoundLibrary) -> None:
    from lstmabar.library.errors import ToolError

    with pytest.raises(ToolError, match="No job job_ffffffffffff"):
        _manager(lib).get("job_ffffffffffff")
