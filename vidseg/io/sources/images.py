"""Sources of still images: in-memory arrays, the demo clip, and image files."""

from __future__ import annotations

import dataclasses
import glob
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sized
from pathlib import Path

import cv2
import numpy as np

from ...errors import SourceOpenError, SourceReadError
from ...frames import Frame, StreamInfo
from ..demo import demo_frames
from ._base import SizeKeeper, SourceBase, fps_time_base

__all__ = ["IMAGE_SUFFIXES", "ArraySource", "DemoSource", "ImageSequenceSource"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ArraySource(SourceBase):
    """Frames from memory: the test double of every other source.

    Frame ``i`` is timed ``i / fps`` with ``pts = i`` in a ``1/fps`` time base.

    Parameters
    ----------
    frames : iterable of ndarray, each shape (H, W, 3), uint8
        BGR images, all the same size.  Read lazily, once.
    fps : float
        Frame rate used for the timestamps.
    live : bool
        Report ``info.live`` (to exercise the runner's live policy).
    name : str
        Name shown in messages.

    Raises
    ------
    SourceOpenError
        ``frames`` is empty.
    ValueError
        A frame is not an (H, W, 3) uint8 array of the first frame's size.

    Examples
    --------
    >>> import numpy as np
    >>> with ArraySource([np.zeros((4, 6, 3), np.uint8)] * 3, fps=10) as src:
    ...     [f.time_s for f in src]
    [0.0, 0.1, 0.2]
    """

    def __init__(
        self,
        frames: Iterable[np.ndarray],
        *,
        fps: float = 25.0,
        live: bool = False,
        name: str = "array",
    ) -> None:
        super().__init__()
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.info = StreamInfo(width=0, height=0, fps=float(fps), live=live, name=name)
        self._iter = iter(frames)
        first = next(self._iter, None)
        if first is None:
            raise SourceOpenError(f"{name!r} holds no frames")
        self._first = _checked(first, 0, None, name)
        height, width = first.shape[:2]
        self.info = StreamInfo(
            width=width,
            height=height,
            fps=float(fps),
            frame_count=len(frames) if isinstance(frames, Sized) else None,
            time_base=fps_time_base(fps),
            live=live,
            name=name,
        )

    def _frames(self) -> Iterator[Frame]:
        fps, shape = self.info.fps, self._first.shape
        image: np.ndarray | None = self._first
        index = 0
        while image is not None:
            yield Frame(
                image=image,
                index=index,
                time_s=index / fps,
                pts=index,
                captured_at=time.monotonic(),
            )
            index += 1
            nxt = next(self._iter, None)
            image = None if nxt is None else _checked(nxt, index, shape, self.info.name)

    def _release(self) -> None:
        self._iter = iter(())


class DemoSource(ArraySource):
    """The built-in demo clip (a pan over a real photo, see :mod:`vidseg.io.demo`).

    Examples
    --------
    >>> with DemoSource(n_frames=2, size=(64, 48)) as src:
    ...     [f.image.shape for f in src]
    [(48, 64, 3), (48, 64, 3)]
    """

    def __init__(
        self, n_frames: int = 150, size: tuple[int, int] = (640, 360), fps: float = 25.0
    ) -> None:
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames!r}")
        super().__init__(demo_frames(n_frames, size), fps=fps, name="demo")
        self.info = dataclasses.replace(self.info, frame_count=n_frames)


class ImageSequenceSource(SourceBase):
    """Frames from image files: a directory's images or a glob pattern.

    Files are taken in natural name order (``f2.png`` before ``f10.png``);
    frame ``i`` is timed ``i / fps``.  Images of another size than the first are
    resized to it (logged once at WARNING).

    Parameters
    ----------
    pattern : str or Path
        A directory (its ``.png .jpg .jpeg .bmp .tif .tiff .webp`` files) or a
        glob such as ``"frames/*.png"``.
    fps : float
        Frame rate used for the timestamps.

    Raises
    ------
    SourceOpenError
        Nothing matches.
    SourceReadError
        An image cannot be decoded (raised when that image is reached).

    Examples
    --------
    >>> for frame in ImageSequenceSource("frames/", fps=10):  # doctest: +SKIP
    ...     print(frame.time_s)
    """

    def __init__(self, pattern: str | Path, *, fps: float = 25.0) -> None:
        super().__init__()
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        spec = str(pattern)
        self.info = StreamInfo(width=0, height=0, fps=float(fps), name=spec)
        if Path(spec).is_dir():
            found = [p for p in Path(spec).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        else:
            found = [Path(p) for p in glob.glob(spec)]
        self.files = sorted((p for p in found if p.is_file()), key=_natural_key)
        if not self.files:
            raise SourceOpenError(
                f"no image files match {spec!r} (looked for {' '.join(IMAGE_SUFFIXES)} files)"
            )
        self._first = _read_image(self.files[0])
        height, width = self._first.shape[:2]
        self._keep = SizeKeeper(width, height, spec)
        self.info = StreamInfo(
            width=width,
            height=height,
            fps=float(fps),
            frame_count=len(self.files),
            time_base=fps_time_base(fps),
            name=spec,
        )

    def _frames(self) -> Iterator[Frame]:
        for index, path in enumerate(self.files):
            image = self._first if index == 0 else self._keep(_read_image(path))
            yield Frame(
                image=image,
                index=index,
                time_s=index / self.info.fps,
                pts=index,
                captured_at=time.monotonic(),
            )

    def _release(self) -> None:
        self._first = np.empty((0, 0, 3), np.uint8)


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceReadError(f"cannot read image {str(path)!r} (OpenCV could not decode it)")
    return image


def _natural_key(path: Path) -> list[int | str]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _checked(image: object, index: int, shape: tuple[int, ...] | None, name: str) -> np.ndarray:
    if not (
        isinstance(image, np.ndarray)
        and image.ndim == 3
        and image.shape[2] == 3
        and image.dtype == np.uint8
    ):
        desc = (
            f"{image.dtype} array of shape {image.shape}"
            if isinstance(image, np.ndarray)
            else type(image).__name__
        )
        raise ValueError(
            f"{name!r} frame {index}: expected an (H, W, 3) uint8 BGR array, got {desc}"
        )
    if shape is not None and image.shape != shape:
        raise ValueError(
            f"{name!r} frame {index}: size {image.shape} differs from the first frame's {shape}"
        )
    return image
