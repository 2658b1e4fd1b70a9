"""The sound library: WAV blobs (library/blobs.py: the output folder by default, the database or
object storage) plus metadata, lineage and feedback in a database.

A sound's WAV is stored first, then its row is committed; if the commit fails the blob is removed
(with the ``database`` blob store both go in one transaction). ``repair()`` (run at start-up) removes
local files a crash left without a row; ``check()`` finds orphans in any store (``lstmabar library
check``), removing only those older than a grace period when the store is shared by several servers.
With a store other than the local folder, ``sounds/`` in the output folder is a read-through cache:
``SoundRecord.path`` names the cached copy, which ``wav_path`` fills when it is missing.
"""

from __future__ import annotations

import io
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import soundfile as sf
from sqlalchemy import create_engine, event, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .audio_io import Audio, as_channels_first, check_audio
from .blobs import PARTIAL, BlobMissing, DatabaseBlobs, LocalBlobs, open_blobs
from .config import Config
from .errors import ToolError, UnknownSoundError
from .job_table import JobTable
from .records import Aggregate, FeedbackRecord, SoundRecord
from .schema import Base, FeedbackRow, ParentRow, SoundRow

_PARTIAL = PARTIAL
ORPHAN_GRACE_S = 600.0  # a shared store's blob younger than this may still be waiting for its row


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class SoundLibrary:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.sounds_dir = config.sounds_dir
        self.sounds_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(config.effective_database_url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self.blobs = open_blobs(config.blob_store, root=config.output_dir, engine=self.engine)
        self.job_table = JobTable(self._sessions)

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- sounds
    def add(
        self,
        samples: np.ndarray,
        sample_rate: int,
        *,
        tool: str,
        prompt: str | None = None,
        params: dict[str, Any] | None = None,
        parents: Iterable[str] = (),
        scores: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        relation: str = "parent",
    ) -> SoundRecord:
        """Store a sound (float32, (channels, frames) or (frames,)) and return its record."""
        audio = check_audio(as_channels_first(samples), sample_rate, max_seconds=float("inf"))
        parents = list(dict.fromkeys(parents))
        sound_id = new_id("snd")
        final = self.sounds_dir / f"{sound_id}.wav"
        buf = io.BytesIO()
        sf.write(buf, audio.samples.T, audio.sample_rate, format="WAV", subtype="FLOAT")
        wav, key = buf.getvalue(), _wav_key(final.name)
        in_transaction = isinstance(self.blobs, DatabaseBlobs)
        if not in_transaction:
            self.blobs.put(key, wav)
        try:
            with self._sessions.begin() as s:
                missing = [p for p in parents if s.get(SoundRow, p) is None]
                if missing:
                    raise UnknownSoundError(missing[0])
                if in_transaction:
                    self.blobs.put_in(s, key, wav)  # type: ignore[union-attr]
                row = SoundRow(
                    id=sound_id,
                    tool=tool,
                    prompt=prompt,
                    file=final.name,
                    sample_rate=audio.sample_rate,
                    channels=audio.channels,
                    frames=audio.frames,
                    params=_jsonable(params or {}),
                    scores=_jsonable(scores or {}),
                    extra=_jsonable(extra or {}),
                )
                s.add(row)
                s.flush()
                for p in parents:
                    s.add(ParentRow(sound_id=sound_id, parent_id=p, relation=relation))
        except BaseException:
            if not in_transaction:
                self.blobs.delete(key)
            raise
        if not isinstance(self.blobs, LocalBlobs):
            self._cache(final, wav)
        return self.get(sound_id)

    def get(self, sound_id: str) -> SoundRecord:
        with self._sessions() as s:
            row = s.get(SoundRow, sound_id) if isinstance(sound_id, str) else None
            if row is None:
                raise UnknownSoundError(str(sound_id))
            return self._record(s, row)

    def read(self, sound_id: str) -> Audio:
        data, sr = sf.read(self.wav_path(sound_id), dtype="float32", always_2d=True)
        return Audio(np.ascontiguousarray(data.T), int(sr))

    def wav_path(self, sound_id: str) -> str:
        """A local file with the sound's WAV: the file itself, or the cached copy of its blob."""
        rec = self.get(sound_id)
        path = Path(rec.path)
        if not path.exists() and not isinstance(self.blobs, LocalBlobs):
            try:
                self._cache(path, self.blobs.get(_wav_key(path.name)))
            except BlobMissing:
                raise ToolError(f"The audio of {sound_id} is missing from the blob store ({self.blobs.describe()}); "
                                "run `lstmabar library check` and tell the server's operator.") from None
        return str(path)

    def wav_bytes(self, sound_id: str) -> bytes:
        return Path(self.wav_path(sound_id)).read_bytes()

    def spectrogram(self, sound_id: str) -> bytes:
        """The sound's spectrogram as PNG, rendered once and kept beside its WAV (in the blob store)."""
        from .images import spectrogram_png

        rec = self.get(sound_id)
        key = _wav_key(Path(rec.path).with_suffix(".png").name)
        try:
            return self.blobs.get(key)
        except BlobMissing:
            pass
        audio = self.read(sound_id)
        png = spectrogram_png([(rec.prompt or rec.id, audio.mono(), audio.sample_rate)])
        self.blobs.put(key, png)
        return png

    def _cache(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{_PARTIAL}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def list(
        self,
        *,
        tool: str | None = None,
        prompt_contains: str | None = None,
        parent: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[SoundRecord]:
        with self._sessions() as s:
            q = select(SoundRow)
            if tool:
                q = q.where(SoundRow.tool == tool)
            if prompt_contains:
                q = q.where(SoundRow.prompt.icontains(prompt_contains, autoescape=True))  # % and _ literal
            if parent:
                q = q.join(ParentRow, ParentRow.sound_id == SoundRow.id).where(ParentRow.parent_id == parent)
            q = q.order_by(SoundRow.created_at.desc(), SoundRow.id).limit(limit).offset(offset)
            return [self._record(s, r) for r in s.scalars(q).all()]

    def count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(SoundRow)) or 0)

    def repair(self) -> list[str]:
        """Delete partial files and, with the local store, files without a row (left by a crash).
        Returns what was removed. A shared store is left to ``check`` and its grace period: another
        server may be between writing a blob and committing its row."""
        removed: list[str] = []
        with self._sessions() as s:
            known = set(s.scalars(select(SoundRow.file)).all())
        local = isinstance(self.blobs, LocalBlobs)
        for p in self.sounds_dir.iterdir():
            if p.name.endswith(_PARTIAL) or (local and p.suffix == ".wav" and p.name not in known):
                p.unlink(missing_ok=True)
                removed.append(p.name)
        return removed

    def check(self, *, remove: bool = False, grace_s: float | None = None) -> dict[str, Any]:
        """Orphans between rows and blobs: blobs under sounds/ whose sound has no row (removed when
        ``remove`` and older than ``grace_s``; default 0 for the local folder, ORPHAN_GRACE_S for a
        shared store; with a grace period, a blob whose age cannot be read is too young to judge) and
        rows whose WAV blob is missing (reported; nothing can restore them)."""
        grace = (ORPHAN_GRACE_S if self.blobs.shared else 0.0) if grace_s is None else grace_s
        with self._sessions() as s:
            files = set(s.scalars(select(SoundRow.file)).all())
            ids = {f.rsplit(".", 1)[0] for f in files}
        keys = self.blobs.keys("sounds/")
        orphans, young = [], []
        for key in keys:
            name = key.rsplit("/", 1)[-1]
            stem = name.split(".", 1)[0]
            if stem in ids and not name.endswith(_PARTIAL):
                continue
            age = self.blobs.age_s(key)
            # an age that cannot be read may be a blob just written elsewhere: not judged within a grace period
            (young if grace > 0 and (age is None or age < grace) else orphans).append(key)
        present = {k.rsplit("/", 1)[-1] for k in keys}
        missing = sorted(f for f in files if f not in present)
        if remove:
            for key in orphans:
                self.blobs.delete(key)
        return {
            "store": self.blobs.describe(),
            "blobs": len(keys),
            "sounds": len(files),
            "orphan_blobs": orphans,
            "removed": orphans if remove else [],
            "too_young_to_judge": young,
            "grace_s": grace,
            "rows_without_blob": missing,
        }

    def _record(self, s: Session, row: SoundRow) -> SoundRecord:
        parents = list(s.scalars(select(ParentRow.parent_id).where(ParentRow.sound_id == row.id)).all())
        return SoundRecord(
            id=row.id,
            created_at=row.created_at,
            tool=row.tool,
            prompt=row.prompt,
            path=str(self.sounds_dir / row.file),
            sample_rate=row.sample_rate,
            channels=row.channels,
            frames=row.frames,
            duration_s=row.frames / row.sample_rate,
            params=row.params or {},
            scores=row.scores or {},
            extra=row.extra or {},
            parents=parents,
        )

    # -------------------------------------------------------------- feedback
    def add_feedback(
        self,
        sound_id: str,
        *,
        rating: int | None = None,
        preferred_over: str | None = None,
        comment: str | None = None,
        tags: Iterable[str] = (),
        rater_id: str | None = None,
        request_id: str | None = None,
        source: str = "mcp",
    ) -> tuple[FeedbackRecord, bool]:
        """Store one piece of feedback durably. Returns (record, created); a repeated request_id with
        the same judgement returns the first record and created=False, with another one it is an error."""
        if rating is None and preferred_over is None:
            raise ToolError("Give a rating (1-5), a preferred_over sound id, or both.")
        if rating is not None and not 1 <= int(rating) <= 5:
            raise ToolError(f"rating must be an integer from 1 to 5, got {rating}.")
        if preferred_over is not None and preferred_over == sound_id:
            raise ToolError("A sound cannot be preferred over itself; give two different sound ids.")
        same = dict(sound_id=sound_id, rating=rating, preferred_over=preferred_over, comment=comment, tags=list(tags), rater_id=rater_id)
        if request_id is not None:
            existing = self._feedback_by_request(request_id)
            if existing is not None:
                return _retried(existing, **same), False
        try:
            with self._sessions.begin() as s:
                for sid in (sound_id, preferred_over):
                    if sid is not None and s.get(SoundRow, sid) is None:
                        raise UnknownSoundError(sid)
                row = FeedbackRow(
                    id=new_id("fb"),
                    sound_id=sound_id,
                    rating=None if rating is None else int(rating),
                    preferred_over=preferred_over,
                    comment=comment,
                    tags=list(tags),
                    rater_id=rater_id,
                    request_id=request_id,
                    source=source,
                )
                s.add(row)
                s.flush()
                rec = _feedback_record(row)
        except IntegrityError:
            existing = self._feedback_by_request(request_id) if request_id else None
            if existing is None:
                raise
            return _retried(existing, **same), False
        return rec, True

    def _feedback_by_request(self, request_id: str) -> FeedbackRecord | None:
        with self._sessions() as s:
            row = s.scalars(select(FeedbackRow).where(FeedbackRow.request_id == request_id)).first()
            return None if row is None else _feedback_record(row)

    def feedback(self, *, sound_id: str | None = None) -> list[FeedbackRecord]:
        with self._sessions() as s:
            q = select(FeedbackRow).order_by(FeedbackRow.created_at, FeedbackRow.id)
            if sound_id:
                q = q.where(or_(FeedbackRow.sound_id == sound_id, FeedbackRow.preferred_over == sound_id))
            return [_feedback_record(r) for r in s.scalars(q).all()]

    def feedback_count(self) -> int:
        with self._sessions() as s:
            return int(s.scalar(select(func.count()).select_from(FeedbackRow)) or 0)

    def aggregate(self, sound_id: str) -> Aggregate:
        with self._sessions() as s:
            if s.get(SoundRow, sound_id) is None:
                raise UnknownSoundError(sound_id)
            mean, n = s.execute(
                select(func.avg(FeedbackRow.rating), func.count(FeedbackRow.rating)).where(
                    FeedbackRow.sound_id == sound_id
                )
            ).one()
            wins = s.scalar(
                select(func.count()).where(FeedbackRow.sound_id == sound_id, FeedbackRow.preferred_over.is_not(None))
            )
            losses = s.scalar(select(func.count()).where(FeedbackRow.preferred_over == sound_id))
        return Aggregate(
            sound_id=sound_id,
            mean_rating=None if mean is None else round(float(mean), 4),
            rating_count=int(n or 0),
            wins=int(wins or 0),
            losses=int(losses or 0),
        )


def _wav_key(name: str) -> str:
    return f"sounds/{name}"


def _retried(existing: FeedbackRecord, **request: Any) -> FeedbackRecord:
    """``existing`` when ``request`` repeats it (a retry: every field it gives matches what was
    stored); else a clear error."""
    rid = existing.request_id
    if request["sound_id"] != existing.sound_id:
        raise ToolError(
            f"request_id {rid!r} was already used for feedback on another sound ({existing.sound_id}); "
            "give each judgement its own request_id (reuse one only to retry the same call)."
        )
    if request["rating"] is not None:
        request["rating"] = int(request["rating"])
    stored = {k: getattr(existing, k) for k in request}
    if any(v not in (None, []) and v != stored[k] for k, v in request.items()):
        held = ", ".join(f"{k}={v!r}" for k, v in stored.items() if k != "sound_id" and v not in (None, []))
        raise ToolError(
            f"request_id {rid!r} was already used for a different judgement of {existing.sound_id} ({held}); "
            "give each judgement its own request_id (reuse one only to retry the same call)."
        )
    return existing


def _feedback_record(row: FeedbackRow) -> FeedbackRecord:
    return FeedbackRecord(
        id=row.id,
        created_at=row.created_at,
        sound_id=row.sound_id,
        rating=row.rating,
        preferred_over=row.preferred_over,
        comment=row.comment,
        tags=list(row.tags or []),
        rater_id=row.rater_id,
        request_id=row.request_id,
        source=row.source,
    )


def _jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars and arrays so the JSON column accepts them."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
