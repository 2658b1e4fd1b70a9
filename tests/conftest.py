from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from lstmabar.library.config import Config  # noqa: E402
from lstmabar.library.store import SoundLibrary  # noqa: E402
from lstmabar.tools.base import ModelCache, ToolContext  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return Config(output_dir=tmp_path / "out", allowed_dirs=(tmp_path,))


@pytest.fixture()
def library(config: Config):
    lib = SoundLibrary(config)
    yield lib
    lib.close()


@pytest.fixture()
def tool_ctx(library: SoundLibrary, config: Config) -> ToolContext:
    return ToolContext(library=library, config=config, models=ModelCache())


@pytest.fixture()
def tiny_embedder():
    from tests.fakes import TinyEmbedder

    return TinyEmbedder()


@pytest.fixture()
def ctx(tool_ctx: ToolContext, tiny_embedder) -> ToolContext:
    """A tool context whose default embedder is the tiny offline one (tests.fakes.TinyEmbedder)."""
    tool_ctx.models._items["embedder:lstmabar"] = tiny_embedder
    return tool_ctx


@pytest.fixture(scope="session")
def shared_audio_dir() -> Path:
    d = SHARED / "audio"
    if not d.is_dir():
        pytest.skip(f"../shared/audio not found at {d}")
    return d


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture()
def server(config: Config):
    from lstmabar.server.app import build_server

    return build_server(config)
