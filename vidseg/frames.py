"""Value objects that travel down the pipeline: stream facts, frames, results.

Sources produce :class:`Frame`; the runner turns each into a :class:`FrameResult`
that every sink receives.  Nothing here does I/O or computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .engine.segmentation import Segmentation
    from .stats import ClusterStats

__all__ = ["Frame", "FrameResult", "StreamInfo"]


@dataclass(frozen=True, kw_only=True)
class StreamInfo:
    """Facts about a video stream.

    ``fps`` and ``frame_count`` come from the container and may be wrong (headers
    lie); the runner counts frames itself and times them by their PTS.

    Attributes
    ----------
    width, height : int
        Frame size in pixels.
    fps : float
        Nominal (average) frame rate; ``0`` when unknown.
    frame_count : int or None
        Frame count the container claims, ``None`` when it does not say.
    time_base : Fraction or None
        Unit of the frames' ``pts``.
    live : bool
        ``True`` for cameras and network streams (latest-frame read policy).
    name : str
        Human-readable description of the input (path, URL, device).
    audio : Any
        Backend handle of an audio stream a video sink may copy, or ``None``.
    """

    width: int
    height: int
    fps: float
    frame_count: int | None = None
    time_base: Fraction | None = None
    live: bool = False
    name: str = ""
    audio: Any = None


@dataclass(kw_only=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), uint8
        Pixels in BGR order.
    index : int
        0-based position among the frames the source delivered.
    time_s : float
        Presentation time in seconds, from the container's PTS when it has one.
    pts : int or None
        Raw presentation timestamp in ``StreamInfo.time_base`` units.
    captured_at : float
        ``time.monotonic()`` when the frame was read (for latency).
    packets : list
        Non-video packets (audio) demuxed since the previous frame, for pass-through.
    """

    image: np.ndarray
    index: int
    time_s: float
    pts: int | None = None
    captured_at: float = 0.0
    packets: list[Any] = field(default_factory=list)


@dataclass(kw_only=True)
class FrameResult:
    """What sinks receive: the frame, its segmentation, the rendered view and stats.

    Sinks never recompute anything; they only write these.
    """

    frame: Frame
    segmentation: Segmentation
    view: np.ndarray
    stats: ClusterStats
