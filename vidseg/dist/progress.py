"""The batch's one progress bar: frames (with ETA) and videos, fed by the workers.

Tasks send ``{"input", "frames", "state"}`` events on the batch's topic
(:class:`vidseg.dist.task._Reporter`); :meth:`BatchProgress.on_event` is the
client's ``subscribe_topic`` handler (it runs in the client's event-loop thread,
so every change to the bar holds one lock).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

__all__ = ["BatchProgress"]


class BatchProgress:
    """A tqdm bar over the batch's frames; its description counts the videos.

    Parameters
    ----------
    totals : Mapping[str, int]
        Expected frames per input (0 when unknown: the total grows as they come).
    enabled : bool
        Draw the bar (stderr); the counts are kept either way.
    """

    def __init__(self, totals: Mapping[str, int], *, enabled: bool = True) -> None:
        self._totals = dict(totals)
        self._frames: dict[str, int] = dict.fromkeys(totals, 0)
        self.done = self.failed = 0
        self._lock = threading.Lock()
        self._bar = tqdm(
            total=sum(self._totals.values()) or None,
            unit="frame",
            dynamic_ncols=True,
            disable=not enabled or None,
            file=sys.stderr,
            desc=self._desc(),
        )

    def _desc(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"videos {self.done + self.failed}/{len(self._totals)}{failed}"

    def _set(self, source: str, frames: int) -> None:
        """Set ``source``'s frame count (a retried task starts again from 0)."""
        delta = frames - self._frames.get(source, 0)
        self._frames[source] = frames
        if frames > self._totals.get(source, 0):  # a header that under-counted
            self._bar.total = (self._bar.total or 0) + frames - self._totals.get(source, 0)
            self._totals[source] = frames
        self._bar.update(delta)

    def on_event(self, event: tuple[float, Any]) -> None:
        """A task's progress event (``subscribe_topic`` handler)."""
        _, msg = event
        if isinstance(msg, dict) and msg.get("input") in self._frames:
            with self._lock:
                self._set(msg["input"], int(msg.get("frames", 0)))

    def finished(self, source: str, *, ok: bool) -> None:
        """Count a video as done (its frames complete) or failed (its rest dropped)."""
        with self._lock:
            if ok:
                self.done += 1
                self._set(source, max(self._frames[source], self._totals[source]))
            else:
                self.failed += 1
                if self._bar.total is not None:
                    self._bar.total -= self._totals[source] - self._frames[source]
                self._totals[source] = self._frames[source]
            self._bar.set_description_str(self._desc(), refresh=True)

    @property
    def frames(self) -> int:
        """Frames reported so far over all inputs."""
        with self._lock:
            return sum(self._frames.values())

    def close(self) -> None:
        """Remove the bar."""
        with self._lock:
            self._bar.close()
