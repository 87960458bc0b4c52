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


class FrameResult:
    """What sinks receive: the frame, its segmentation, statistics and the rendered view.

    The view is rendered on first use (in the thread of the sink that asks,
    so rendering overlaps segmentation) and cached.  Sinks never recompute
    the segmentation or statistics.

    Parameters
    ----------
    frame : Frame
    segmentation : Segmentation
    stats : ClusterStats
    view : ndarray, optional
        An already-rendered BGR view; otherwise ``view_name`` is rendered.
    view_name : str
        One of :data:`vidseg.render.VIEWS`: what video files show.
    overlay_alpha : float
        Colour weight of the ``overlay`` view.
    display_view : str, optional
        What displays (window, web page) show; it follows the run's live
        controls, while a video file keeps ``view_name``.  Default: ``view_name``.

    Attributes
    ----------
    extras : dict
        Measurements added by the run's ``measure`` step before the sinks see
        the result (e.g. zone statistics), by name.
    """

    def __init__(
        self,
        *,
        frame: Frame,
        segmentation: Segmentation,
        stats: ClusterStats,
        view: np.ndarray | None = None,
        view_name: str = "recolor",
        overlay_alpha: float = 0.5,
        display_view: str | None = None,
    ) -> None:
        self.frame = frame
        self.segmentation = segmentation
        self.stats = stats
        self.view_name = view_name
        self.overlay_alpha = overlay_alpha
        self.display_view = display_view or view_name
        self.extras: dict[str, Any] = {}
        self._view = view
        self._views: dict[str, np.ndarray] = {}
        self._i420: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"<FrameResult frame={self.frame.index} view={self.view_name!r}>"

    @property
    def view(self) -> np.ndarray:
        """The rendered view, (H, W', 3) uint8 BGR."""
        if self._view is None:
            self._view = self.render_view(self.view_name)
        return self._view

    def render_view(self, name: str) -> np.ndarray:
        """Any view of this result, (H, W', 3) uint8 BGR, rendered once and cached.

        Displays call it from their own threads; two threads asking for the same
        view at once may both render it (the same pixels), never a torn image.
        """
        if name == self.view_name and self._view is not None:
            return self._view
        image = self._views.get(name)
        if image is None:
            from .render import render

            image = render(name, self.frame.image, self.segmentation, alpha=self.overlay_alpha)
            self._views[name] = image
        return image

    @property
    def view_i420(self) -> np.ndarray | None:
        """The view as planar YUV 4:2:0 (BT.601, (3H/2, W) uint8), or None for odd sizes.

        Encoders take this directly; the recolour and palette views are painted
        straight from the labels, skipping the BGR image and a colour conversion.
        """
        if self._i420 is None:
            from .render import render_i420

            self._i420 = render_i420(self)
        return self._i420
