"""Settings read from the environment (every variable is listed in README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off"}


def _default_output_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "lstmabar"


@dataclass(frozen=True)
class Config:
    output_dir: Path = field(default_factory=_default_output_dir)
    database_url: str | None = None
    allowed_dirs: tuple[Path, ...] = ()
    embedder: str = "lstmabar"
    workers: int = 2
    threads: int | None = None  # torch/BLAS threads per call; None: sized from the free cores (library/threads.py)
    token: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # extra Host names the HTTP server answers to (server/http.py)
    allow_downloads: bool = False
    max_audio_seconds: float = 600.0
    max_upload_bytes: int = 50 * 1024 * 1024  # per audio input; the HTTP body limit is derived from it
    device: str | None = None
    # Whether listeners' ratings and comments are kept. None: the person decides (asked once, by
    # elicitation; the answer is stored beside the library, library/consent.py). Set, it overrides that answer.
    keep_ratings: bool | None = None
    # Where WAVs, spectrograms and reward versions live: None/'local' (the output folder), 'database'
    # (the metadata database) or an fsspec URL (s3://bucket/prefix). library/blobs.py.
    blob_store: str | None = None
    # Streamable HTTP without sessions (the SDK's stateless mode), for replicas behind a load balancer.
    stateless_http: bool = False

    @property
    def sounds_dir(self) -> Path:
        return self.output_dir / "sounds"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.output_dir / 'lstmabar.sqlite3'}"

    @property
    def effective_allowed_dirs(self) -> tuple[Path, ...]:
        dirs = self.allowed_dirs or (self.output_dir, Path.cwd())
        return tuple(Path(d).expanduser().resolve() for d in dirs)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> "Config":
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if env.get("LSTMABAR_OUTPUT_DIR"):
            values["output_dir"] = Path(env["LSTMABAR_OUTPUT_DIR"]).expanduser()
        if env.get("LSTMABAR_DATABASE_URL"):
            values["database_url"] = env["LSTMABAR_DATABASE_URL"]
        if env.get("LSTMABAR_ALLOWED_DIRS"):
            values["allowed_dirs"] = tuple(
                Path(p).expanduser() for p in env["LSTMABAR_ALLOWED_DIRS"].split(os.pathsep) if p
            )
        if env.get("LSTMABAR_EMBEDDER"):
            values["embedder"] = env["LSTMABAR_EMBEDDER"]
        if env.get("LSTMABAR_WORKERS"):
            values["workers"] = max(1, int(env["LSTMABAR_WORKERS"]))
        if env.get("LSTMABAR_THREADS"):
            raw = env["LSTMABAR_THREADS"].strip()
            if not raw.isdigit() or int(raw) < 1:
                raise ValueError(f"LSTMABAR_THREADS must be a whole number of threads, at least 1 (got {raw!r}); unset it to size from the free cores.")
            values["threads"] = int(raw)
        if env.get("LSTMABAR_TOKEN"):
            values["token"] = env["LSTMABAR_TOKEN"]
        if env.get("LSTMABAR_ALLOWED_HOSTS"):
            values["allowed_hosts"] = tuple(h.strip() for h in env["LSTMABAR_ALLOWED_HOSTS"].split(",") if h.strip())
        if env.get("LSTMABAR_ALLOW_DOWNLOADS"):
            values["allow_downloads"] = env["LSTMABAR_ALLOW_DOWNLOADS"].lower() in {"1", "true", "yes"}
        if env.get("LSTMABAR_MAX_AUDIO_SECONDS"):
            values["max_audio_seconds"] = float(env["LSTMABAR_MAX_AUDIO_SECONDS"])
        if env.get("LSTMABAR_KEEP_RATINGS"):
            raw = env["LSTMABAR_KEEP_RATINGS"].strip().lower()
            if raw not in _YES | _NO:
                raise ValueError(f"LSTMABAR_KEEP_RATINGS must be yes or no (got {raw!r}); unset it to let the person decide.")
            values["keep_ratings"] = raw in _YES
        if env.get("LSTMABAR_BLOB_STORE"):
            values["blob_store"] = env["LSTMABAR_BLOB_STORE"].strip()
        if env.get("LSTMABAR_STATELESS_HTTP"):
            raw = env["LSTMABAR_STATELESS_HTTP"].strip().lower()
            if raw not in _YES | _NO:
                raise ValueError(f"LSTMABAR_STATELESS_HTTP must be yes or no (got {raw!r}).")
            values["stateless_http"] = raw in _YES
        if env.get("LSTMABAR_DEVICE"):
            values["device"] = env["LSTMABAR_DEVICE"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
