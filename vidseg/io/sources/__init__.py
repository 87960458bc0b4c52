"""Frame sources: video files, network streams, cameras, image sequences, arrays, the demo.

Every source follows one lifecycle: its handle is opened in the constructor (so
bad input fails early and ``info`` is known at once), iterating yields
:class:`~vidseg.frames.Frame` objects in a single pass, and the pass closes the
source when it ends, also on an early ``break``.  ``close()`` is idempotent;
iterating or entering a closed source raises :class:`~vidseg.errors.ClosedError`.

Live sources (cameras, network streams) block on the next frame and report
``info.live = True``; dropping stale frames is the runner's job.

>>> with open_source("demo") as src:  # doctest: +SKIP
...     for frame in src:
...         print(frame.index, frame.time_s)
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

from ._base import FrameSource, SourceBase
from .file import VideoFileSource, is_stdin
from .images import IMAGE_SUFFIXES, ArraySource, DemoSource, ImageSequenceSource
from .live import STREAM_SCHEMES, CameraSource, LiveSource, NetworkSource
from .loop import LoopSource

__all__ = [
    "IMAGE_SUFFIXES",
    "STREAM_SCHEMES",
    "ArraySource",
    "CameraSource",
    "DemoSource",
    "FrameSource",
    "ImageSequenceSource",
    "LiveSource",
    "LoopSource",
    "NetworkSource",
    "SourceBase",
    "VideoFileSource",
    "open_source",
]


def open_source(
    spec: str,
    *,
    reconnect_attempts: int = 5,
    reconnect_backoff: float = 0.5,
    fps: float = 25.0,
    audio: bool = True,
    cancel: threading.Event | None = None,
    decoder_threads: int = 0,
) -> FrameSource:
    """Open the source a command-line input string names.

    ==============================================  =========================
    ``spec``                                        source
    ==============================================  =========================
    ``"demo"``                                      :class:`DemoSource`
    a whole number such as ``"0"``                  :class:`CameraSource`
    ``rtsp:// rtmp:// http(s):// udp:// tcp://``    :class:`NetworkSource`
    an existing directory, or text with ``* ? [``   :class:`ImageSequenceSource`
    ``"-"`` or ``"pipe:"`` (standard input)         :class:`VideoFileSource`
    anything else                                   :class:`VideoFileSource`
    ==============================================  =========================

    Parameters
    ----------
    spec : str
        The input.
    reconnect_attempts, reconnect_backoff
        Reconnect policy of cameras and network streams (``-1``: forever).
    cancel : threading.Event, optional
        Set it to stop waiting for a camera or stream that is down at start.
    fps : float
        Frame rate of image sequences (files and streams carry their own).
    audio : bool
        Pass a video file's audio packets through.
    decoder_threads : int
        A video file's decoder threads (0: FFmpeg's own choice).

    Raises
    ------
    SourceOpenError
        The input cannot be opened; the message names it and suggests a fix.
    """
    if spec == "demo":
        return DemoSource(fps=fps)
    if re.fullmatch(r"[0-9]+", spec.strip()):
        return CameraSource(
            int(spec),
            reconnect_attempts=reconnect_attempts,
            reconnect_backoff=reconnect_backoff,
            cancel=cancel,
        )
    if urlsplit(spec).scheme.lower() in STREAM_SCHEMES and "://" in spec:
        return NetworkSource(
            spec,
            reconnect_attempts=reconnect_attempts,
            reconnect_backoff=reconnect_backoff,
            cancel=cancel,
        )
    if is_stdin(spec):
        return VideoFileSource(spec, audio=audio, threads=decoder_threads)
    if Path(spec).is_dir() or any(c in spec for c in "*?["):
        return ImageSequenceSource(spec, fps=fps)
    return VideoFileSource(spec, audio=audio, threads=decoder_threads)
