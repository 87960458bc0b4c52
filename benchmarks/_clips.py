"""Benchmark clips: the real videos in ``../shared/media`` plus clips built in code.

Reusable by every benchmark.  A :class:`Clip` holds decoded BGR uint8 frames; build
clips lazily with :func:`clip_specs` + :meth:`ClipSpec.load` so that only one clip
at a time sits in memory.

* real clips: every ``*.mp4`` / ``*.avi`` in ``<repo>/../shared/media``;
* ``demo720p`` / ``demo1080p``: a slow pan over scikit-learn's ``china.jpg``
  (:func:`vidseg.io.demo.demo_frames`);
* ``cuts``: 30-frame segments of different real clips, resized to one size and
  concatenated, so every segment boundary is a hard scene cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "STATIC_CLIPS",
    "Clip",
    "ClipSpec",
    "clip_specs",
    "cuts_clip",
    "demo_clip",
    "load_video",
    "media_dir",
    "real_clip",
    "video_paths",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
VIDEO_SUFFIXES = (".mp4", ".avi")
STATIC_CLIPS = frozenset(
    {"vtest_pedestrians_static", "intel_parking_lot_static", "o4n_traffic_topdown_static"}
)


@dataclass
class Clip:
    """Decoded frames of one benchmark clip.

    Attributes
    ----------
    name : str
        Short name (file stem for real clips).
    frames : list of ndarray
        ``(H, W, 3)`` uint8 BGR frames, all the same size.
    static : bool
        Fixed camera (label change and flicker are meaningful).
    cuts : tuple of int
        Indices of the first frame of each new scene (hard cuts).
    source : str
        Where the frames came from.
    """

    name: str
    frames: list[np.ndarray]
    static: bool = False
    cuts: tuple[int, ...] = ()
    source: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames."""
        h, w = self.frames[0].shape[:2]
        return w, h

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class ClipSpec:
    """A clip that is not decoded yet; :meth:`load` builds it."""

    name: str
    loader: Callable[[], Clip] = field(repr=False, compare=False)

    def load(self) -> Clip:
        return self.loader()


def media_dir(repo_root: Path = REPO_ROOT) -> Path:
    """The shared real media folder, ``<repo>/../shared/media``."""
    return repo_root.parent / "shared" / "media"


def video_paths(directory: Path | None = None) -> list[Path]:
    """Sorted real video files in *directory* (default :func:`media_dir`)."""
    directory = media_dir() if directory is None else directory
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _decode_cv2(
    path: Path, start: int, max_frames: int | None, size: tuple[int, int] | None
) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        if not cap.isOpened():
            return frames
        index = 0
        while max_frames is None or len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if index >= start:
                frames.append(np.ascontiguousarray(_resize(frame, size)))
            index += 1
    finally:
        cap.release()
    return frames


def _decode_av(
    path: Path, start: int, max_frames: int | None, size: tuple[int, int] | None
) -> list[np.ndarray]:
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if max_frames is not None and len(frames) >= max_frames:
                break
            if index >= start:
                frames.append(np.ascontiguousarray(_resize(frame.to_ndarray(format="bgr24"), size)))
    return frames


def load_video(
    path: str | Path,
    max_frames: int | None = None,
    *,
    start: int = 0,
    size: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """Decode a video file into a list of BGR uint8 frames.

    Uses OpenCV and falls back to PyAV when OpenCV cannot read the file.

    Parameters
    ----------
    path : path-like
        Video file.
    max_frames : int, optional
        Stop after this many frames.
    start : int
        Skip this many frames first.
    size : (width, height), optional
        Resize every frame to this size.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    frames = _decode_cv2(path, start, max_frames, size)
    if not frames:
        frames = _decode_av(path, start, max_frames, size)
    if not frames:
        raise RuntimeError(f"could not decode any frame of {path}")
    return frames


def real_clip(path: str | Path, max_frames: int | None = None) -> Clip:
    """A real video as a :class:`Clip` (static flag from :data:`STATIC_CLIPS`)."""
    path = Path(path)
    return Clip(
        name=path.stem,
        frames=load_video(path, max_frames),
        static=path.stem in STATIC_CLIPS,
        source=str(path),
    )


def demo_clip(size: tuple[int, int], n_frames: int, name: str | None = None) -> Clip:
    """A slow pan over scikit-learn's ``china.jpg`` at *size* ``(width, height)``."""
    from vidseg.io.demo import demo_frames

    frames = [np.ascontiguousarray(f) for f in demo_frames(n_frames, size)]
    return Clip(
        name=name or f"demo{size[1]}p",
        frames=frames,
        source=f"vidseg.io.demo.demo_frames({n_frames}, {size})",
    )


def cuts_clip(
    paths: Sequence[Path] | None = None,
    *,
    segment_len: int = 30,
    n_segments: int = 7,
    size: tuple[int, int] = (640, 360),
    start: int = 30,
) -> Clip:
    """Hard scene cuts: *segment_len*-frame pieces of different real clips, concatenated.

    The videos are used in turn (wrapping around, later in the file on the second
    pass), so neighbouring segments always come from different videos.  The
    result has ``n_segments - 1`` cuts, at multiples of *segment_len*.
    """
    paths = list(video_paths() if paths is None else paths)
    if len(paths) < 2:
        raise RuntimeError("the cuts clip needs at least two different real videos")
    frames: list[np.ndarray] = []
    cuts: list[int] = []
    used: list[str] = []
    for s in range(n_segments):
        path = paths[s % len(paths)]
        offset = start + (s // len(paths)) * 2 * segment_len
        seg = load_video(path, segment_len, start=offset, size=size)
        if len(seg) < segment_len:  # short file: take its beginning instead
            seg = load_video(path, segment_len, size=size)
        if frames:
            cuts.append(len(frames))
        frames.extend(seg)
        used.append(f"{path.stem}@{offset}")
    return Clip(name="cuts", frames=frames, cuts=tuple(cuts), source=" | ".join(used))


def clip_specs(
    max_frames: int | None = None,
    *,
    demo_frames: int = 90,
    cut_segment_len: int = 30,
    cut_segments: int = 7,
    names: Sequence[str] | None = None,
) -> list[ClipSpec]:
    """All benchmark clips, not yet decoded.

    Parameters
    ----------
    max_frames : int, optional
        Cap on the frames of each real clip.
    demo_frames : int
        Frames of the 720p / 1080p demo clips.
    cut_segment_len, cut_segments : int
        Shape of the ``cuts`` clip.
    names : sequence of str, optional
        Keep only clips whose name contains one of these strings.
    """
    specs: list[ClipSpec] = []
    for path in video_paths():
        specs.append(ClipSpec(path.stem, lambda p=path: real_clip(p, max_frames)))
    specs.append(ClipSpec("demo720p", lambda: demo_clip((1280, 720), demo_frames)))
    specs.append(ClipSpec("demo1080p", lambda: demo_clip((1920, 1080), demo_frames)))
    specs.append(
        ClipSpec("cuts", lambda: cuts_clip(segment_len=cut_segment_len, n_segments=cut_segments))
    )
    if names:
        specs = [s for s in specs if any(n.lower() in s.name.lower() for n in names)]
    return specs
