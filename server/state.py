"""What one server process shares between calls: settings, the library, loaded models, workers and
jobs. Its own module so that app.py, resources.py, rating_page.py and the studio all import it
without importing each other."""

from __future__ import annotations

import logging
from typing import Any

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary
from lstmabar.tools import all_tools
from lstmabar.tools.base import ModelCache, ToolContext

from .jobs import JobManager
from .workers import WorkerPool

log = logging.getLogger("lstmabar")


class AppState:
    """What one server process shares between calls: settings, the library, loaded models, workers."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.models = ModelCache()
        self.pool = WorkerPool(config.workers)
        self.jobs = JobManager(self.pool, all_tools(), self.context)
        self._library: SoundLibrary | None = None

    def context(self, **kwargs: Any) -> ToolContext:
        return ToolContext(library=self.library, config=self.config, models=self.models, **kwargs)

    @property
    def library(self) -> SoundLibrary:
        if self._library is None:
            self._library = SoundLibrary(self.config)
            removed = self._library.repair()
            if removed:
                log.warning("removed %d sound files left without a database row: %s", len(removed), removed[:5])
        return self._library

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None
