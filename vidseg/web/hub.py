"""The shared latest-frame slot between the runner and every web client.

The runner's writer thread calls :meth:`Hub.publish` with each result: it only
stores the result in one slot, counts it and wakes the server's event loop (at
most one wake-up pending at a time).  It never encodes and never touches a
socket.  Clients, in the event loop, wait for a newer frame than the one they
sent last and take whatever is newest then, so a slow client skips frames and
no client has a queue of its own.

Work per frame is done once, on demand: the JPEG of each stream (a view or the
original) is encoded by the first client that asks for that frame, in the
server's thread pool, under a per-stream lock, and cached until the next frame;
the statistics record is built once for all event-stream clients.  A stream
nobody watches costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..config import VIEWS
from ..control import RunControl
from ..frames import FrameResult
from ..io.snapshot import snapshot_json

__all__ = ["STREAMS", "Hub", "Rates"]

STREAMS = (*VIEWS, "original")  # what /stream.mjpg?view= and /snapshot.jpg?view= take
BOUNDARY = "vidseg-frame"
_RATE_WINDOW_S = 2.0


@dataclass
class Rates:
    """Frames written, dropped, fps and latency over the last two seconds.

    Written by the runner's writer thread, read by the server's loop: the
    windows are guarded by a lock (iterating a deque another thread appends to
    raises).
    """

    frames: int = 0
    dropped: int = 0
    times: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, now: float, latency: float | None) -> None:
        """Count one frame written at ``now``."""
        with self.lock:
            self.frames += 1
            self.times.append(now)
            if latency is not None:
                self.latencies.append(latency)
            while self.times and now - self.times[0] > _RATE_WINDOW_S:
                self.times.popleft()
            while len(self.latencies) > len(self.times):
                self.latencies.popleft()

    def fps(self, now: float) -> float:
        """Frames per second over the window (0 when fewer than two frames or stalled)."""
        with self.lock:
            times = [t for t in self.times if now - t <= _RATE_WINDOW_S]
        if len(times) < 2 or times[-1] == times[0]:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], now - times[-1])

    def latency_s(self) -> float | None:
        """Median capture-to-written latency over the window (live sources only)."""
        with self.lock:
            values = list(self.latencies)
        return float(np.median(values)) if values else None


class Hub:
    """One latest-frame slot, the per-frame caches and the counters the endpoints report.

    Parameters
    ----------
    control : RunControl, optional
        The run's live controls (its state is reported; the page's buttons use it).
    jpeg_quality : int
        JPEG quality of the streams and snapshots (0..100).
    stall_after_s : float
        No frame for this long while running (not paused) counts as stalled.
    """

    def __init__(
        self,
        control: RunControl | None = None,
        *,
        jpeg_quality: int = 80,
        stall_after_s: float = 5.0,
    ) -> None:
        self.control = control
        self.jpeg_quality = jpeg_quality
        self.stall_after_s = stall_after_s
        self.live = False
        self.started_at = time.monotonic()
        self.last_frame_at: float | None = None
        self.running = False
        self.rates = Rates()
        # Per-stream counters, read by /metrics.
        self.viewers = dict.fromkeys(STREAMS, 0)
        self.encodes = dict.fromkeys(STREAMS, 0)
        self.event_clients = 0
        self.clients_dropped = 0
        # The slot: written by the runner's writer thread, read by the loop.
        self._lock = threading.Lock()
        self._latest: FrameResult | None = None
        self._seq = 0
        # Loop side (set by attach()).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: Executor | None = None
        self._wake_pending = False
        self._event: asyncio.Event | None = None
        self._closed = False
        self._jpegs: dict[str, tuple[int, bytes]] = {}
        self._jpeg_locks: dict[str, asyncio.Lock] = {}
        self._event_cache: tuple[int, bytes] = (0, b"")

    # -- the runner's side (writer thread) ---------------------------------------------

    def publish(self, result: FrameResult) -> None:
        """Make ``result`` the latest frame and wake the clients (cheap; no encoding)."""
        now = time.monotonic()
        latency = now - result.frame.captured_at if self.live else None
        self.rates.add(now, latency)
        with self._lock:
            self._latest = result
            self._seq += 1
            self.last_frame_at = now
            wake = self._loop is not None and not self._wake_pending
            if wake:
                self._wake_pending = True
        if wake:
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._notify)
            except RuntimeError:  # the loop already stopped (server closing)
                pass

    # -- the loop's side ---------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop, executor: Executor) -> None:
        """Bind to the server's event loop (called in it) and its encoding pool."""
        self._loop, self._executor = loop, executor
        self._event = asyncio.Event()
        with self._lock:
            self._wake_pending = False

    def close(self) -> None:
        """Wake every waiting client for the last time (server shutting down; in the loop)."""
        self._closed = True
        self._notify()

    def _notify(self) -> None:
        with self._lock:
            self._wake_pending = False
        if self._event is not None:
            event, self._event = self._event, asyncio.Event()
            event.set()

    @property
    def latest(self) -> tuple[int, FrameResult | None]:
        """The newest frame's sequence number (0 before the first) and result."""
        with self._lock:
            return self._seq, self._latest

    async def next_frame(
        self, after: int, timeout: float | None = None
    ) -> tuple[int, FrameResult | None] | None:
        """Wait for a frame newer than sequence number ``after``; return the newest.

        Returns ``(seq, None)`` on ``timeout`` with nothing new (the caller may send
        a keep-alive) and ``None`` once the server is closing.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed:
            seq, result = self.latest
            if seq > after and result is not None:
                return seq, result
            assert self._event is not None
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return seq, None
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:  # not the builtin before Python 3.11
                return seq, None
        return None

    async def jpeg(self, stream: str, seq: int, result: FrameResult) -> bytes:
        """``stream`` of frame ``seq`` as JPEG, encoded once, by the first client asking."""
        cached = self._jpegs.get(stream)
        if cached is not None and cached[0] >= seq:
            return cached[1]
        lock = self._jpeg_locks.setdefault(stream, asyncio.Lock())
        async with lock:
            cached = self._jpegs.get(stream)
            if cached is not None and cached[0] >= seq:
                return cached[1]
            assert self._loop is not None
            data = await self._loop.run_in_executor(
                self._executor, _encode, result, stream, self.jpeg_quality
            )
            self.encodes[stream] += 1
            self._jpegs[stream] = (seq, data)
            return data

    async def part(self, stream: str, seq: int, result: FrameResult) -> bytes:
        """One multipart MJPEG part: headers, the JPEG, and the next boundary.

        The boundary goes right after the image (not before the next one), so a
        browser shows each frame at once instead of when the next one arrives.
        """
        data = await self.jpeg(stream, seq, result)
        head = f"Content-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
        return b"".join((head.encode("ascii"), data, f"\r\n--{BOUNDARY}\r\n".encode("ascii")))

    def event(self, seq: int, result: FrameResult) -> bytes:
        """The server-sent event of frame ``seq`` (its statistics), built once per frame."""
        if self._event_cache[0] != seq:
            text = json.dumps(self.stats(result), separators=(",", ":"))
            self._event_cache = (seq, f"id: {seq}\ndata: {text}\n\n".encode())
        return self._event_cache[1]

    # -- what the endpoints report --------------------------------------------------------

    def stats(self, result: FrameResult | None = None) -> dict[str, Any]:
        """The latest frame's statistics plus fps, latency, dropped and the control state."""
        if result is None:
            result = self.latest[1]
        now = time.monotonic()
        record: dict[str, Any] = (
            snapshot_json(result, result.display_view) if result is not None else {"frame": None}
        )
        latency = self.rates.latency_s()
        record.update(
            frames=self.rates.frames,
            dropped=self.rates.dropped,
            fps=round(self.rates.fps(now), 2),
            latency_ms=None if latency is None else round(latency * 1000, 1),
            state=self.state(),
        )
        return record

    def state(self) -> dict[str, Any]:
        """The control state (k, view, paused) the frames from now on are made with."""
        if self.control is None:
            return {}
        s = self.control.state
        return {"n_clusters": s.n_clusters, "view": s.view, "paused": s.paused}

    def health(self) -> tuple[dict[str, Any], bool]:
        """``({status, last_frame_age_s, frames}, healthy)``; stalled means unhealthy."""
        now = time.monotonic()
        last = self.last_frame_at
        age = now - (last if last is not None else self.started_at)
        paused = self.control is not None and self.control.state.paused
        if not self.running:
            status = "ended" if last is not None else "starting"
        elif paused:
            status = "paused"
        elif age > self.stall_after_s:
            status = "stalled"
        else:
            status = "ok" if last is not None else "starting"
        body = {
            "status": status,
            "last_frame_age_s": None if last is None else round(now - last, 3),
            "frames": self.rates.frames,
        }
        return body, status != "stalled"


def _encode(result: FrameResult, stream: str, quality: int) -> bytes:
    image = result.frame.image if stream == "original" else result.render_view(stream)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        raise RuntimeError(f"JPEG encoding of {stream!r} failed")
    return buf.tobytes()
