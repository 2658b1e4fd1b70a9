"""Where the library's bytes live: sound WAVs, their spectrogram PNGs and reward-model versions.

Three backends behind one small interface, chosen by ``LSTMABAR_BLOB_STORE`` (Config.blob_store):

* unset or ``local``: files under the output folder, as always (``sounds/snd_….wav``, ``reward/…``);
* ``database``: a ``blobs`` table (bytea on PostgreSQL, BLOB on SQLite) in the metadata database
  itself, so a deployment of several replicas needs nothing but PostgreSQL. A sound's blob and its
  row are written in one transaction;
* an fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``memory://…`` in tests): object storage, with
  the backend's own fsspec package installed (s3fs, gcsfs; ``pip install lstmabar[blobs]``).

Keys are relative paths (``sounds/snd_x.wav``). ``put`` is all-or-nothing as seen by readers (a
temporary name and a rename on a folder; a single object write elsewhere). Across a metadata row and
its blob the library keeps the order "blob first, row second, blob removed if the row fails", and
``find_orphans`` reports what a crash between the two left behind (store.SoundLibrary.check).
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Protocol

from sqlalchemy import Integer, LargeBinary, String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import ToolError
from .schema import Base, UtcDateTime, utcnow

PARTIAL = ".partial"


class BlobMissing(KeyError):
    """No blob under that key."""


class BlobStore(Protocol):
    kind: str  # "local", "database" or "fsspec"
    shared: bool  # True when other machines may see the same blobs (orphans need a grace period)

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def age_s(self, key: str) -> float | None: ...
    def describe(self) -> str: ...


# ------------------------------------------------------------------------------------------ local
class LocalBlobs:
    """Files under a folder; key ``a/b.wav`` is ``<root>/a/b.wav``."""

    kind = "local"
    shared = False

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = _temporary(final)
        try:
            with open(partial, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self, prefix: str = "") -> list[str]:
        folder = self.root / prefix.rstrip("/") if prefix else self.root
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())

    def age_s(self, key: str) -> float | None:
        try:
            return time.time() - self.path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def describe(self) -> str:
        return f"local folder {self.root}"


# --------------------------------------------------------------------------------------- database
class BlobRow(Base):
    __tablename__ = "blobs"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class DatabaseBlobs:
    """A table in the metadata database. ``put_in`` writes inside the caller's transaction, which is
    how the library stores a sound's row and its WAV atomically."""

    kind = "database"
    shared = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        BlobRow.__table__.create(engine, checkfirst=True)

    def put_in(self, s: Session, key: str, data: bytes) -> None:
        row = s.get(BlobRow, _check_key(key))
        if row is None:
            s.add(BlobRow(key=key, data=data, size=len(data)))
        else:
            row.data, row.size, row.created_at = data, len(data), utcnow()

    def put(self, key: str, data: bytes) -> None:
        try:
            with Session(self.engine) as s, s.begin():
                self.put_in(s, key, data)
        except IntegrityError:
            # another writer inserted the key between our look-up and our insert (a trainer publishing
            # a reward version while a replica's sync uploads it): the row exists now, so update it
            with Session(self.engine) as s, s.begin():
                self.put_in(s, key, data)

    def get(self, key: str) -> bytes:
        with Session(self.engine) as s:
            data = s.scalar(select(BlobRow.data).where(BlobRow.key == key))
        if data is None:
            raise BlobMissing(key)
        return bytes(data)

    def delete(self, key: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(delete(BlobRow).where(BlobRow.key == key))

    def exists(self, key: str) -> bool:
        with Session(self.engine) as s:
            return s.scalar(select(BlobRow.key).where(BlobRow.key == key)) is not None

    def keys(self, prefix: str = "") -> list[str]:
        with Session(self.engine) as s:
            q = select(BlobRow.key).order_by(BlobRow.key)
            if prefix:
                q = q.where(BlobRow.key.startswith(prefix, autoescape=True))
            return list(s.scalars(q).all())

    def age_s(self, key: str) -> float | None:
        with Session(self.engine) as s:
            created = s.scalar(select(BlobRow.created_at).where(BlobRow.key == key))
        return None if created is None else (utcnow() - created).total_seconds()

    def describe(self) -> str:
        return f"table 'blobs' in {self.engine.url.render_as_string(hide_password=True)}"


# ----------------------------------------------------------------------------------------- fsspec
class FsspecBlobs:
    """Object storage through fsspec: ``s3://bucket/prefix`` (s3fs), ``gs://…`` (gcsfs), ``memory://…``."""

    kind = "fsspec"
    shared = True

    def __init__(self, url: str, **options: Any) -> None:
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec comes with huggingface_hub here
            raise ToolError(f"LSTMABAR_BLOB_STORE={url!r} needs fsspec: pip install 'lstmabar[blobs]'.") from exc
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        except (ImportError, ValueError) as exc:
            raise ToolError(
                f"Cannot open the blob store {url!r} ({exc}). Install the fsspec backend for its scheme "
                "(s3fs for s3://, gcsfs for gs://), or set LSTMABAR_BLOB_STORE to 'local' or 'database'."
            ) from exc
        self.root = self.root.rstrip("/")

    def _p(self, key: str) -> str:
        return f"{self.root}/{_check_key(key)}"

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self._p(key), data)  # one object write: readers see all of it or none

    def get(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._p(key)))
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def delete(self, key: str) -> None:
        try:
            self.fs.rm_file(self._p(key))
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._p(key)))

    def keys(self, prefix: str = "") -> list[str]:
        base = f"{self.root}/{prefix}".rstrip("/") if prefix else self.root
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return []
        start = len(self.root.lstrip("/")) + 1
        return sorted(p.lstrip("/")[start:] for p in found)

    def age_s(self, key: str) -> float | None:
        try:
            info = self.fs.info(self._p(key))
        except FileNotFoundError:
            return None
        for name in ("mtime", "LastModified", "last_modified", "updated", "created"):
            value = info.get(name)
            if value is None:
                continue
            if isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if isinstance(value, datetime):
                value = value.timestamp()
            return time.time() - float(value)
        return None

    def describe(self) -> str:
        return self.url


# ------------------------------------------------------------------------------------------ open
def open_blobs(spec: str | None, *, root: Path, engine: Engine | None = None) -> BlobStore:
    """The store named by ``spec`` (Config.blob_store): None/'local', 'database' or an fsspec URL."""
    spec = (spec or "local").strip()
    if spec == "local":
        return LocalBlobs(root)
    if spec == "database":
        if engine is None:
            raise ValueError("the database blob store needs the library's engine")
        return DatabaseBlobs(engine)
    if "://" in spec:
        return FsspecBlobs(spec)
    raise ValueError(
        f"LSTMABAR_BLOB_STORE must be 'local' (files in the output folder), 'database' (the metadata database) or an "
        f"fsspec URL such as s3://bucket/prefix; got {spec!r}."
    )


def sync_folder(
    blobs: BlobStore, prefix: str, folder: Path, *, match: Callable[[str], bool] = lambda _n: True, first: tuple[str, ...] = (".json",)
) -> dict[str, list[str]]:
    """Make ``folder`` and the blobs under ``prefix`` hold the same files (used for reward-model
    versions, written by a trainer into a replica's local folder and read by every replica).
    New local files are uploaded, new blobs downloaded (via a temporary name and a rename); names
    ending in ``first`` go first both ways, so a version's manifest is in place before its weights
    (a version exists once its .pt does). Files present on both sides are left alone; only names
    ``match`` accepts take part."""
    if isinstance(blobs, LocalBlobs) and blobs.path(prefix).resolve() == Path(folder).resolve():
        return {"uploaded": [], "downloaded": []}
    folder = Path(folder)
    order = lambda n: (not n.endswith(first), n)  # noqa: E731
    remote = {n for k in blobs.keys(prefix + "/") if match(n := k[len(prefix) + 1:])}
    local = {p.name for p in folder.iterdir() if p.is_file() and match(p.name)} if folder.is_dir() else set()
    uploaded, downloaded = [], []
    for name in sorted(local - remote, key=order):
        blobs.put(f"{prefix}/{name}", (folder / name).read_bytes())
        uploaded.append(name)
    for name in sorted(remote - local, key=order):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = _temporary(folder / name)
        try:
            tmp.write_bytes(blobs.get(f"{prefix}/{name}"))
            os.replace(tmp, folder / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        downloaded.append(name)
    return {"uploaded": uploaded, "downloaded": downloaded}


def _temporary(final: Path) -> Path:
    """A temporary name next to ``final``, unique per write: two writers of one key (two clients
    asking for the same spectrogram, two replicas syncing one folder) must not share it. It ends in
    PARTIAL, so repair/check still recognise a leftover one."""
    return final.with_name(f"{final.name}.{secrets.token_hex(4)}{PARTIAL}")


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
        raise ValueError(f"bad blob key {key!r}")
    return key
