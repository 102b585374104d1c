"""Background workers inside the service: each calls one service function every few seconds.

They hold no state of their own: what is due lives in the database, so a restart loses nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


class PeriodicWorker:
    def __init__(self, name: str, interval_seconds: float, run_once: Callable[[], int]) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self.run_once = run_once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"greenlane-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
                if done:
                    log.info("worker_ran", worker=self.name, done=done)
            except Exception:  # a worker must outlive one bad batch; the next round retries
                log.exception("worker_failed", worker=self.name)
            self._stop.wait(self.interval_seconds)
