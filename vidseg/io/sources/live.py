"""Live sources (network streams, cameras) and the reconnect loop they share."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Generator, Iterator
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import av
import av.error
import cv2
import numpy as np

from ...errors import SourceOpenError, SourceReadError
from ...errors import reason as error_reason
from ...frames import Frame, StreamInfo
from ..heap import trim_heap
from ._base import SourceBase, to_bgr

__all__ = ["MAX_BACKOFF_S", "STREAM_SCHEMES", "CameraSource", "LiveSource", "NetworkSource"]

logger = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp", "rtmp", "http", "https", "udp", "tcp")
MAX_BACKOFF_S = 10.0
LIVE_TIME_BASE = Fraction(1, 1000)

# FFmpeg probes 5 s of a stream by default and then hands all of it over at once:
# a burst of stale frames, stamped with one arrival time, at every (re)connect.
# The codec's own headers are enough to decode; the frame rate is then unknown
# (0), which the sinks handle (timestamps are arrival times).
_PROBE_OPTIONS = {"analyzeduration": "0", "probesize": "32"}

# What a broken connection raises: FFmpeg errors from PyAV, OSError from sockets and
# from our own read failures (SourceReadError is an OSError).
_READ_ERRORS = (av.error.FFmpegError, OSError)


class LiveSource(SourceBase):
    """Base of live sources: first frame at construction, reconnect with backoff.

    Subclasses implement ``_connect()`` (open the handle or raise
    :class:`~vidseg.errors.SourceOpenError`), ``_read()`` (yield BGR images until
    the input ends; raise on failure) and ``_disconnect()`` (idempotent).

    When a read fails or the input ends, the source disconnects and tries again
    up to ``reconnect_attempts`` times (``-1``: forever, the command line's
    default, since a camera may take a minute to reboot), waiting
    ``reconnect_backoff`` seconds before the first attempt and doubling the
    wait each time (at most :data:`MAX_BACKOFF_S`); each attempt is logged
    once, at WARNING.  An attempt succeeds when the new connection delivers a
    frame; ``reconnects`` counts those.  When the attempts run out it raises
    :class:`~vidseg.errors.SourceReadError`.  A source that is down at
    construction is retried the same way (the stream may come up later); when
    those attempts run out, or ``cancel`` is set while waiting, the constructor
    raises :class:`~vidseg.errors.SourceOpenError`.  A connection that delivers another
    frame size is logged at WARNING and its frames pass unchanged (``info``
    keeps the first size); :func:`vidseg.pipeline.run` then reopens the sinks.

    Frames are timed by arrival (``time.monotonic()`` since the first frame, in
    milliseconds, strictly increasing), because stream timestamps restart on a
    reconnect.  ``close()`` from another thread interrupts a backoff wait.
    """

    def __init__(
        self,
        name: str,
        *,
        reconnect_attempts: int,
        reconnect_backoff: float,
        cancel: threading.Event | None = None,
    ) -> None:
        super().__init__()
        if reconnect_attempts < -1:
            raise ValueError(
                f"reconnect_attempts must be >= 0 or -1 (forever), got {reconnect_attempts!r}"
            )
        if not reconnect_backoff >= 0:
            raise ValueError(f"reconnect_backoff must be >= 0, got {reconnect_backoff!r}")
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_backoff = reconnect_backoff
        self.reconnects = 0
        self._stop = threading.Event()
        self._cancel = cancel
        self._fps = 0.0
        self.info = StreamInfo(width=0, height=0, fps=0.0, live=True, name=name)
        try:
            first = self._open_first()
        except SourceReadError as exc:
            raise SourceOpenError(str(exc)) from None
        if first is None:
            raise SourceOpenError(f"stopped while waiting for {name!r} to come up")
        self._first = next(first)  # the rest comes from self._reader
        height, width = self._first.shape[:2]
        self._size = (width, height)
        self.info = StreamInfo(
            width=width,
            height=height,
            fps=self._fps,
            frame_count=None,
            time_base=LIVE_TIME_BASE,
            live=True,
            name=name,
        )

    #: Whether a source that is down at start is retried like an outage (a network
    #: camera booting); a local camera that is not there at start is not coming.
    retry_at_start = True

    def _open_first(self) -> Iterator[np.ndarray] | None:
        """Connect and read the first frame, retrying like a reconnect (a camera booting)."""
        try:
            return self._attempt()
        except SourceOpenError as exc:
            if not self.retry_at_start:
                raise
            reason = str(exc)
        except _READ_ERRORS as exc:
            reason = f"cannot read from {self.info.name!r}: {error_reason(exc)}"
        return self._reconnect(reason, at_start=True)

    def _frames(self) -> Iterator[Frame]:
        start: float | None = None
        last = -1
        for index, image in enumerate(self._images()):
            now = time.monotonic()
            start = now if start is None else start
            pts = max(round((now - start) * 1000), last + 1)
            last = pts
            size = (image.shape[1], image.shape[0])
            if size != self._size:
                logger.warning(
                    "%r changed frame size from %dx%d to %dx%d", self.info.name, *self._size, *size
                )
                self._size = size
            yield Frame(image=image, index=index, time_s=pts / 1000, pts=pts, captured_at=now)

    def _images(self) -> Iterator[np.ndarray]:
        reader: Iterator[np.ndarray] | None = itertools.chain([self._first], self._reader)
        while reader is not None:
            try:
                yield from reader
                reason = "end of stream"
            except _READ_ERRORS as exc:
                reason = error_reason(exc)
            reader = self._reconnect(reason)

    def _attempt(self) -> Iterator[np.ndarray]:
        """One connection: a reader that starts with its first frame, or raise."""
        try:
            self._connect()
            self._reader = self._read()
            first = next(self._reader)
        except StopIteration:
            self._disconnect()
            raise SourceReadError(f"{self.info.name!r} ended before its first frame") from None
        except BaseException:
            self._disconnect()
            raise
        return itertools.chain([first], self._reader)

    def _reconnect(self, reason: str, *, at_start: bool = False) -> Iterator[np.ndarray] | None:
        """Re-open with backoff; return a reader, ``None`` if closed or cancelled, or raise."""
        self._disconnect()
        name, total = self.info.name, self.reconnect_attempts
        of = "" if total < 0 else f"/{total}"
        delay = self.reconnect_backoff
        attempts = itertools.count(1) if total < 0 else range(1, total + 1)
        for attempt in attempts:
            logger.warning(
                "%r: %s; %s attempt %d%s in %.2f s",
                name,
                reason,
                "connect" if at_start else "reconnect",
                attempt,
                of,
                delay,
            )
            if self._wait(delay):
                return None
            try:
                reader = self._attempt()
            except (SourceOpenError, *_READ_ERRORS) as exc:
                reason = exc.args[0] if isinstance(exc, SourceOpenError) else error_reason(exc)
            else:
                if not at_start:
                    self.reconnects += 1
                    trim_heap()  # the lost connection's decoder and buffers are freed
                logger.info(
                    "%r: %sconnected (attempt %d%s)", name, "" if at_start else "re", attempt, of
                )
                return reader
            delay = min(max(delay * 2, 0.1), MAX_BACKOFF_S)
        if at_start:
            raise SourceReadError(reason + (f"; gave up after {total} connect attempts" * total))
        raise SourceReadError(
            f"{name!r}: stream lost ({reason}); gave up after {total} reconnect attempts"
        )

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; ``True`` at once when closed or cancelled."""
        if self._cancel is None:
            return self._stop.wait(delay) or self._closed
        deadline = time.monotonic() + delay
        while not (self._closed or self._cancel.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._stop.wait(min(left, 0.1)):
                break
        return True

    def _interrupt(self) -> None:
        self._stop.set()

    def _release(self) -> None:
        self._reader.close()
        self._disconnect()

    def _connect(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self) -> Generator[np.ndarray, None, None]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _disconnect(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class NetworkSource(LiveSource):
    """A network stream read with PyAV: ``rtsp:// rtmp:// http(s):// udp:// tcp://``.

    RTSP runs over TCP.  The connection opens in the constructor; see
    :class:`LiveSource` for the reconnect, frame-size and timing policy.

    Parameters
    ----------
    url : str
        Stream URL (a password in it is masked in ``info.name`` and logs).
    reconnect_attempts : int
        (Re-)open attempts per outage before giving up; ``-1``: forever.
    reconnect_backoff : float
        First wait in seconds; doubles per attempt, capped at 10 s.
    cancel : threading.Event, optional
        Set it (e.g. on Ctrl-C) to stop waiting for a stream that is down at start.
    timeout : float
        Seconds to wait for the connection or for data before failing.

    Raises
    ------
    SourceOpenError
        Unsupported scheme, unreachable stream, no video, no first frame.

    Examples
    --------
    >>> with NetworkSource("rtsp://192.168.1.20/stream1") as src:  # doctest: +SKIP
    ...     for frame in src:
    ...         ...
    """

    def __init__(
        self,
        url: str,
        *,
        reconnect_attempts: int = 5,
        reconnect_backoff: float = 0.5,
        timeout: float = 5.0,
        cancel: threading.Event | None = None,
    ) -> None:
        scheme = urlsplit(url).scheme.lower()
        self.url = url
        self.timeout = timeout
        self._container: Any = None
        if scheme not in STREAM_SCHEMES:
            self.info = StreamInfo(width=0, height=0, fps=0.0, live=True, name=_mask(url))
            raise SourceOpenError(
                f"unsupported stream URL {_mask(url)!r}; use one of "
                f"{', '.join(s + '://' for s in STREAM_SCHEMES)}"
            )
        super().__init__(
            _mask(url),
            reconnect_attempts=reconnect_attempts,
            reconnect_backoff=reconnect_backoff,
            cancel=cancel,
        )

    def _connect(self) -> None:
        options = dict(_PROBE_OPTIONS)
        if self.url.lower().startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        try:
            container = av.open(self.url, options=options, timeout=(self.timeout, self.timeout))
        except _READ_ERRORS as exc:
            raise SourceOpenError(
                f"cannot open stream {self.info.name!r} (PyAV/FFmpeg: {error_reason(exc)})"
            ) from None
        if not container.streams.video:
            container.close()
            raise SourceOpenError(f"stream {self.info.name!r} has no video")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        self._fps = float(rate) if rate else self._fps
        self._container = container

    def _read(self) -> Generator[np.ndarray, None, None]:
        stream = self._container.streams.video[0]
        for packet in self._container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:  # damaged packet: skip it, keep the link
                logger.debug("%r: undecodable packet skipped: %s", self.info.name, exc)
                continue
            for vf in frames:
                yield to_bgr(vf)

    def _disconnect(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()


class CameraSource(LiveSource):
    """A local camera read with OpenCV's ``cv2.VideoCapture``.

    The device opens in the constructor; see :class:`LiveSource` for the
    reconnect (an unplugged camera), frame-size and timing policy.

    Parameters
    ----------
    index : int
        Device index (``0`` is the first camera).
    width, height, fps : optional
        Capture settings to request; the camera may choose others.
    reconnect_attempts, reconnect_backoff, cancel
        As for :class:`NetworkSource`.

    Examples
    --------
    >>> with CameraSource(0, width=1280, height=720) as cam:  # doctest: +SKIP
    ...     frame = next(iter(cam))
    """

    retry_at_start = False  # no device at start: say so at once (an unplugged one is retried)

    def __init__(
        self,
        index: int,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        reconnect_attempts: int = 5,
        reconnect_backoff: float = 0.5,
        cancel: threading.Event | None = None,
    ) -> None:
        self.index = index
        self._request = {
            cv2.CAP_PROP_FRAME_WIDTH: width,
            cv2.CAP_PROP_FRAME_HEIGHT: height,
            cv2.CAP_PROP_FPS: fps,
        }
        self._cap: Any = None
        super().__init__(
            f"camera {index}",
            reconnect_attempts=reconnect_attempts,
            reconnect_backoff=reconnect_backoff,
            cancel=cancel,
        )

    def _connect(self) -> None:
        # A missing camera makes every OpenCV backend print its own warnings;
        # the one line below says it all, so they are silenced for the open.
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            cap = cv2.VideoCapture(self.index)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            raise SourceOpenError(
                f"cannot open camera {self.index!r} (OpenCV VideoCapture); "
                "check that it is connected and not used by another program"
            )
        for prop, value in self._request.items():
            if value is not None:
                cap.set(prop, float(value))
        self._fps = cap.get(cv2.CAP_PROP_FPS) or self._fps
        self._cap = cap

    def _read(self) -> Generator[np.ndarray, None, None]:
        while True:
            ok, image = self._cap.read()
            if not ok or image is None:
                raise SourceReadError(f"camera {self.index!r}: read failed")
            yield image

    def _disconnect(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
