"""Plain Python callbacks for a source's sinks (no Qt): batches, reloads and readiness.

A batch is handed on as a plain call rather than a Qt signal argument: PySide6 6.12.0 corrupts reference
counts of Python objects passed through `Signal(object)` (which is why the project pins 6.11), and a plain
call is also cheaper than marshalling through Qt. Called on the GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T", bound=Callable[..., Any])


class Subscribers(Generic[T]):
    def __init__(self) -> None:
        self._callbacks: list[T] = []

    def connect(self, callback: T) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: T) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)
