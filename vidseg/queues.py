"""The runner's hand-over queues and the markers that travel in them (internal).

Files use :class:`BlockingQueue` (lossless, in order); live sources use
:class:`LatestQueue` (a put on a full queue drops the oldest frame, counting it).
"""

from __future__ import annotations

import collections
import queue
import threading
from dataclasses import dataclass
from typing import Any

from .frames import Frame, StreamInfo

POLL = 0.1  # seconds between checks of the stop flag while waiting on a queue


class Stop(Exception):
    """Internal: the run was asked to stop."""


class LatestQueue:
    """Bounded queue for live sources: a put on a full queue drops the oldest item."""

    def __init__(self, maxsize: int) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> None:
        """Append ``item``, dropping the oldest frame when full (never blocks)."""
        with self._cond:
            # Control items (end of stream, errors) never drop a frame and are never dropped.
            while (
                isinstance(item, Frame)
                and len(self._items) >= self._maxsize
                and isinstance(self._items[0], Frame)
            ):
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float) -> Any:
        """The oldest item; ``queue.Empty`` after ``timeout`` seconds."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                raise queue.Empty
            return self._items.popleft()


class BlockingQueue:
    """Bounded lossless queue: a put waits for room (checking the stop flag)."""

    dropped = 0

    def __init__(self, maxsize: int) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize)

    def put(self, item: Any, stop: threading.Event) -> None:
        """Append ``item``, waiting for room; raises :class:`Stop` once ``stop`` is set."""
        while True:
            if stop.is_set():
                raise Stop
            try:
                self._q.put(item, timeout=POLL)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> Any:
        """The oldest item; ``queue.Empty`` after ``timeout`` seconds."""
        return self._q.get(timeout=timeout)


END = object()  # end of the stream


@dataclass
class Failure:
    """A stage's exception, handed on to be re-raised in the caller."""

    error: BaseException


@dataclass
class Reopen:
    """Writer instruction: the frame size changed; reopen the sinks for ``info``."""

    info: StreamInfo
