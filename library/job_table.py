"""Background jobs as rows in the shared database, so that ``job_status`` and ``cancel_job`` work on
any server replica, not only the one running the job (server/jobs.py keeps the live job in memory
and mirrors it here: state and progress about once a second, the outcome when it ends; a cancel
request from another replica is a flag the running one polls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from .schema import Base, UtcDateTime, utcnow


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    replica: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    queue_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    elapsed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    sound_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


_FIELDS = [c.name for c in JobRow.__table__.columns]


class JobTable:
    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def insert(self, **values: Any) -> None:
        with self._sessions.begin() as s:
            s.add(JobRow(**values))

    def update(self, job_id: str, **values: Any) -> None:
        with self._sessions.begin() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    def update_active(self, job_id: str, **values: Any) -> None:
        """Progress and heartbeat of a job still running: no effect once its outcome is stored, so a
        late progress update (values read just before the job ended) cannot turn it back to running."""
        with self._sessions.begin() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.finished_at.is_(None)).values(**values))

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._sessions() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else {f: getattr(row, f) for f in _FIELDS}

    def request_cancel(self, job_id: str) -> None:
        self.update(job_id, cancel_requested=True)

    def cancel_requested(self, job_ids: list[str]) -> list[str]:
        if not job_ids:
            return []
        with self._sessions() as s:
            return list(s.scalars(select(JobRow.id).where(JobRow.id.in_(job_ids), JobRow.cancel_requested.is_(True))).all())

    def heartbeat(self, job_ids: list[str]) -> None:
        if job_ids:
            with self._sessions.begin() as s:
                s.execute(update(JobRow).where(JobRow.id.in_(job_ids), JobRow.finished_at.is_(None)).values(heartbeat_at=utcnow()))

    def prune(self, older_than: datetime) -> int:
        with self._sessions.begin() as s:
            return s.execute(delete(JobRow).where(JobRow.finished_at.is_not(None), JobRow.finished_at < older_than)).rowcount or 0
