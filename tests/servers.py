"""Helpers that start real servers for end-to-end tests: ``lstmabar serve --http`` and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lstmabar_http(env: dict[str, str], *args: str, host: str = "127.0.0.1") -> Iterator[str]:
    """Start ``lstmabar serve --http`` as a subprocess; yield its base URL."""
    with lstmabar_http_process(env, *args, host=host) as (base, _proc):
        yield base


@contextlib.contextmanager
def lstmabar_http_process(
    env: dict[str, str], *args: str, host: str = "127.0.0.1", start_timeout_s: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As ``lstmabar_http``, yielding (base URL, process) for tests that stop a server themselves."""
    port = free_port()
    cmd = [sys.executable, "-m", "lstmabar.server.cli", "serve", "--http", "--host", host, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start in {start_timeout_s:g} s")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL (Debian's package) on a free port; yield a SQLAlchemy URL.
    Raises RuntimeError with the reason when it cannot run here."""
    bindir = _pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql; scripts/test.sh does it)")
    root = Path(tempfile.mkdtemp(prefix="lstmabar-pg-"))
    user_cmd: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres system user
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root without runuser")
        shutil.chown(root, "postgres", "postgres")
        user_cmd = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    subprocess.run(user_cmd + [str(bindir / "initdb"), "-D", str(data), "-U", "lstmabar", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    proc = subprocess.Popen(
        user_cmd + [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root), "-h", "127.0.0.1",
                    "-c", "max_connections=200", "-c", "fsync=on"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start: {proc.stderr.read().decode()[-1000:]}")
            time.sleep(0.2)
        subprocess.run(user_cmd + [str(bindir.parent / "bin" / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lstmabar", "lstmabar"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://lstmabar@127.0.0.1:{port}/lstmabar"
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(root, ignore_errors=True)
