"""What every service call needs: the database, the clock, the compiled workflows, the settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from api.db.database import Database
from api.settings import Settings
from engine.clock import Clock
from engine.runner import StepRunner
from engine.spec import WorkflowSpec


class RunnerCache:
    """One StepRunner per (workflow key, version): compiled once, shared by all threads."""

    def __init__(self) -> None:
        self._runners: dict[tuple[str, int], StepRunner] = {}
        self._lock = threading.Lock()

    def get(self, key: str, version: int) -> StepRunner | None:
        return self._runners.get((key, version))

    def put(self, key: str, version: int, spec: WorkflowSpec) -> StepRunner:
        with self._lock:
            return self._runners.setdefault((key, version), StepRunner(spec))


@dataclass
class Context:
    db: Database
    clock: Clock
    settings: Settings
    runners: RunnerCache = field(default_factory=RunnerCache)
    calendar_cache: dict[str, Any] = field(default_factory=dict)
