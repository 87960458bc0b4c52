"""The :class:`FrameSource` protocol and the lifecycle every source shares.

Lifecycle (the same for every source): the handle is opened in ``__init__``, so
a bad input fails at construction and :attr:`~FrameSource.info` is known at
once.  A source is a single pass: iterating it yields frames until the input
ends, and the pass closes the source when it ends for any reason (exhausted,
consumer ``break``, error).  ``close()`` is idempotent; iterating or entering a
closed source raises :class:`~vidseg.errors.ClosedError`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Generator, Iterator
from fractions import Fraction
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ...errors import ClosedError
from ...frames import Frame, StreamInfo

__all__ = ["FrameSource", "SourceBase"]

logger = logging.getLogger(__name__)


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields :class:`~vidseg.frames.Frame` objects.

    Attributes
    ----------
    info : StreamInfo
        Facts about the stream, known as soon as the source is constructed.
    """

    info: StreamInfo

    def __enter__(self) -> FrameSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class SourceBase:
    """Shared lifecycle: context manager, single pass, idempotent thread-safe close.

    Subclasses open their handle in ``__init__``, set ``self.info``, and implement
    :meth:`_frames` (the pass) and :meth:`_release` (free the handle; called once).
    """

    info: StreamInfo

    def __init__(self) -> None:
        self._closed = False
        self._release_lock = threading.Lock()
        self._released = False
        self._gen: weakref.ref[Generator[Frame, None, None]] | None = None

    def __enter__(self) -> SourceBase:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.info.name!r} {state}>"

    @property
    def closed(self) -> bool:
        """``True`` once the source is closed (explicitly or by the end of its pass)."""
        return self._closed

    def __iter__(self) -> Iterator[Frame]:
        self._check_open()
        if self._gen is not None and self._gen() is not None:
            raise RuntimeError(f"{self.info.name!r} is a single-pass source and is being read")
        gen = self._run()
        self._gen = weakref.ref(gen)  # weak: a `break` must free the generator at once
        return gen

    def close(self) -> None:
        """Release the handle; idempotent.

        Called from another thread while a pass is running, it asks the pass to
        stop; the reading thread then frees the handle after its current read.
        """
        if self._closed:
            return
        self._closed = True
        self._interrupt()
        gen = self._gen() if self._gen is not None else None
        if gen is not None:
            try:
                gen.close()
            except ValueError:  # running in another thread: its `finally` releases
                return
        self._release_once()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"source {self.info.name!r} is closed")

    def _run(self) -> Generator[Frame, None, None]:
        try:
            for frame in self._frames():
                yield frame
                if self._closed:
                    return
        finally:
            self._closed = True
            self._release_once()

    def _release_once(self) -> None:
        with self._release_lock:
            if self._released:
                return
            self._released = True
        self._release()
        logger.debug("closed source %r", self.info.name)

    def _interrupt(self) -> None:
        """Wake a pass blocked in a wait (any thread); the default has none."""

    def _frames(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _release(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SizeKeeper:
    """Resize frames whose size differs from the stream's first, warning once.

    Sinks hold one frame size for a whole stream, so a source whose input
    changes size (a reconnected stream, a mixed image folder) scales the new
    frames back to the original size with :func:`cv2.resize`.
    """

    def __init__(self, width: int, height: int, name: str) -> None:
        self.width, self.height, self.name = width, height, name
        self._warned = False

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if (w, h) == (self.width, self.height):
            return image
        if not self._warned:
            self._warned = True
            logger.warning(
                "%r changed frame size from %dx%d to %dx%d; resizing to %dx%d",
                self.name,
                self.width,
                self.height,
                w,
                h,
                self.width,
                self.height,
            )
        return cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)


def fps_time_base(fps: float) -> Fraction:
    """Return ``1 / fps`` as an exact fraction (``1/25`` for 25, ``1001/30000`` for 29.97)."""
    return 1 / Fraction(fps).limit_denominator(1001000)


def to_bgr(frame: Any) -> np.ndarray:
    """Convert a decoded PyAV video frame to a BGR uint8 array.

    Limited-range YUV 4:2:0 (nearly every H.264/HEVC stream) goes through
    OpenCV's SIMD conversion, several times faster than swscale's ``bgr24``;
    both use the BT.601 matrix.  Other formats go through swscale.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")
