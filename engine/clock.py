"""Clocks: code asks a Clock, never the system, so tests and the demo can move time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from engine.errors import InvalidData

LAST_DEMO_YEAR = 2200  # far beyond any deadline, far before datetime's year 9999


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """For tests: time moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        if start.utcoffset() is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class DemoClock:
    """The system clock plus an offset that trainers move forward (never back) with --demo."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the demo clock only moves forward")
        with self._lock:
            if (datetime.now(UTC) + self._offset).year + delta.days // 365 >= LAST_DEMO_YEAR:
                raise InvalidData(f"演示时钟不能超过 {LAST_DEMO_YEAR} 年", field="advance")
            self._offset += delta
        return self.now()
