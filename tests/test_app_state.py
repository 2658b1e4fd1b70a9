"""server.state.AppState: the library is opened once, even when the shared-state sync thread and a
tool call's thread ask for it at the same moment (both happen as the server starts)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from lstmabar.server import state as state_mod


class _SlowLibrary:
    made = 0

    def __init__(self, config) -> None:
        type(self).made += 1
        time.sleep(0.2)  # opening a database and creating tables takes a while

    def repair(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def test_library_is_opened_once_under_concurrent_first_use(monkeypatch) -> None:
    _SlowLibrary.made = 0
    monkeypatch.setattr(state_mod, "SoundLibrary", _SlowLibrary)
    # no worker pool, jobs or tools: only the library property is under test
    monkeypatch.setattr(state_mod, "WorkerPool", lambda workers: None)
    monkeypatch.setattr(state_mod, "JobManager", lambda *args, **kwargs: None)
    monkeypatch.setattr(state_mod, "all_tools", lambda: [])
    app = state_mod.AppState(SimpleNamespace(workers=1))
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(app.library)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _SlowLibrary.made == 1
    assert all(s is seen[0] for s in seen)
