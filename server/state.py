"""What one server process shares between calls: settings, the library, loaded models, workers and
jobs. Its own module so that app.py, resources.py, rating_page.py and the studio all import it
without importing each other."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

import anyio

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from lstmabar.tools import all_tools
from lstmabar.tools.base import ModelCache, ToolContext

from .jobs import JobManager
from .workers import WorkerPool

log = logging.getLogger("lstmabar")

SYNC_S = 1.0  # how often the shared state is synchronised (jobs' rows, reward versions)
ORPHAN_CHECK_S = 3600.0  # how often a replica removes orphan blobs from a shared store (past their grace period)
_REWARD_FILE = re.compile(r"^reward-v\d+\.(pt|json)$")


def sync_reward(library: SoundLibrary) -> dict[str, list[str]]:
    """Reward versions between this machine's ``<output_dir>/reward`` (where trainers write and the
    registry reads) and the blob store: a no-op with the local store, which is that folder."""
    from lstmabar.library.blobs import sync_folder
    from lstmabar.models.reward.registry import reward_dir

    return sync_folder(library.blobs, "reward", reward_dir(library.config), match=lambda n: bool(_REWARD_FILE.match(n)))


class AppState:
    """What one server process shares between calls: settings, the library, loaded models, workers."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.models = ModelCache()
        self.pool = WorkerPool(config.workers)
        self.jobs = JobManager(self.pool, all_tools(), self.context, library=lambda: self.library)
        self._library: SoundLibrary | None = None
        self._library_lock = threading.Lock()  # the sync thread and the first tool calls open it at once
        self._last_orphan_check = time.monotonic()

    def context(self, **kwargs: Any) -> ToolContext:
        return ToolContext(library=self.library, config=self.config, models=self.models, **kwargs)

    @property
    def library(self) -> SoundLibrary:
        if self._library is None:
            with self._library_lock:
                if self._library is None:
                    lib = SoundLibrary(self.config)
                    removed = lib.repair()
                    if removed:
                        log.warning("removed %d sound files left without a database row: %s", len(removed), removed[:5])
                    self._library = lib
        return self._library

    def sync_shared(self) -> None:
        """One round of keeping this replica in step with the shared stores (blocking)."""
        self.jobs.sync()
        moved = sync_reward(self.library)
        if moved["downloaded"] or moved["uploaded"]:
            log.info("reward versions: fetched %s, published %s", moved["downloaded"], moved["uploaded"])
        if self.library.blobs.shared and time.monotonic() - self._last_orphan_check > ORPHAN_CHECK_S:
            self._last_orphan_check = time.monotonic()
            report = self.library.check(remove=True)
            if report["removed"] or report["rows_without_blob"]:
                log.warning("blob store check: removed %d orphan blobs; %d sounds have no blob: %s",
                            len(report["removed"]), len(report["rows_without_blob"]), report["rows_without_blob"][:5])

    async def sync_loop(self) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.sync_shared, abandon_on_cancel=True)
            except Exception:  # a database hiccup must not stop the server; the next round retries
                log.warning("synchronising shared state failed", exc_info=True)
            await anyio.sleep(SYNC_S)

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None
