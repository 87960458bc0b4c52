"""Planning a chunked conversion: where the keyframes are, and N time chunks between them.

:func:`scan_video` reads the video stream's packets once (no decoding) into a
:class:`VideoIndex`: how many frames, which are keyframes and their timestamps.
:func:`plan_chunks` cuts ``[0, frames)`` into chunks.  Each chunk after the first
is segmented from ``overlap`` frames before its start (its warm start settles
there; those results are discarded), and its decode starts at a keyframe, so the
boundaries sit ``overlap`` frames after keyframes: no frame is decoded only to be
dropped.

>>> index = VideoIndex(frames=100, keyframes=(0, 25, 50, 75), key_ts=(0, 25, 50, 75))
>>> [(c.lead, c.start, c.end) for c in plan_chunks(index, 4, overlap=5)]
[(0, 0, 30), (25, 30, 55), (50, 55, 80), (75, 80, 100)]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, SourceOpenError, reason

__all__ = ["Chunk", "VideoIndex", "plan_chunks", "scan_video"]

log = logging.getLogger(__name__)

# Containers whose decoded timestamps cannot place a frame: count in decode order there.
_COUNT_FORMATS = ("avi",)


@dataclass(frozen=True, kw_only=True)
class VideoIndex:
    """Where a video file's frames and keyframes are.

    Attributes
    ----------
    frames : int
        Video packets holding a frame (one frame each).
    keyframes : tuple of int
        Frame index (presentation order) of every keyframe, increasing.
    key_ts : tuple of int
        Each keyframe's seek timestamp (its packet's PTS, else DTS).
    pts : tuple of int, optional
        Every frame's PTS in presentation order, when the container's timestamps
        place frames (None: count frames in decode order, as for AVI).
    """

    frames: int
    keyframes: tuple[int, ...]
    key_ts: tuple[int, ...]
    pts: tuple[int, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One time chunk: frames ``[start, end)``, segmented from ``lead`` (``lead <= start``).

    ``key_index`` / ``key_ts`` name the keyframe its decode starts from (at or
    before ``lead``); ``pts_range`` is ``(PTS of lead, PTS of end or None)`` when
    frames are placed by timestamp.
    """

    number: int
    lead: int
    start: int
    end: int
    key_index: int
    key_ts: int
    pts_range: tuple[int, int | None] | None = None

    @property
    def frames(self) -> int:
        """Frames this chunk contributes to the output."""
        return self.end - self.start


def scan_video(path: Path) -> VideoIndex:
    """Index the video stream of ``path`` by reading its packets (nothing is decoded).

    Raises
    ------
    SourceOpenError
        Not found, not a video, or no frames.
    """
    import av
    import av.error

    name = str(path)
    if not path.is_file():
        raise SourceOpenError(f"input file not found: {name!r}; give a video file")
    try:
        with av.open(name, metadata_errors="replace") as container:
            if not container.streams.video:
                raise SourceOpenError(f"{name!r} has no video stream; give a video file")
            stream = container.streams.video[0]
            packets = [(p.pts, p.dts, p.is_keyframe) for p in container.demux(stream) if p.size]
            by_pts = not any(f in container.format.name for f in _COUNT_FORMATS)
    except av.error.FFmpegError as exc:
        raise SourceOpenError(f"cannot read {name!r} as a video ({reason(exc)})") from None
    if not packets:
        raise SourceOpenError(f"no video frames in {name!r}")
    pts = [p for p, _, _ in packets]
    if by_pts and (None in pts or len(set(pts)) != len(pts)):
        by_pts = False  # timestamps missing or repeated: they cannot place frames
    if by_pts:
        order = sorted(pts)  # type: ignore[type-var]
        rank = {p: i for i, p in enumerate(order)}
        keys = sorted((rank[p], p) for p, _, key in packets if key)  # type: ignore[index]
        return VideoIndex(
            frames=len(packets),
            keyframes=tuple(k for k, _ in keys),
            key_ts=tuple(t for _, t in keys),  # type: ignore[misc]
            pts=tuple(order),  # type: ignore[arg-type]
        )
    keys = [(i, p if p is not None else d) for i, (p, d, key) in enumerate(packets) if key]
    if any(t is None for _, t in keys):
        raise ConfigError(
            f"{name!r} has keyframes without timestamps; it cannot be split into chunks "
            "(convert it without --chunks, or remux it to MP4 first)"
        )
    return VideoIndex(
        frames=len(packets),
        keyframes=tuple(i for i, _ in keys),
        key_ts=tuple(t for _, t in keys),  # type: ignore[misc]
    )


def plan_chunks(index: VideoIndex, n: int, *, overlap: int = 0) -> list[Chunk]:
    """Cut ``index.frames`` frames into at most ``n`` chunks of about equal length.

    Chunk ``i > 0`` starts ``overlap`` frames after a keyframe (the one nearest
    to ``i / n`` of the way); fewer chunks come out when the keyframes do not
    allow ``n`` (logged at WARNING with the reason).

    Raises
    ------
    ConfigError
        ``n`` < 1 or ``overlap`` < 0.
    """
    if n < 1:
        raise ConfigError(f"--chunks must be at least 1, got {n}")
    if overlap < 0:
        raise ConfigError(f"the chunk overlap must be at least 0 frames, got {overlap}")
    total = index.frames
    # A boundary b = keyframe + overlap must leave every chunk at least one frame.
    usable = [i for i, k in enumerate(index.keyframes) if k > 0 and 0 < k + overlap < total]
    picked: list[int] = []  # positions in index.keyframes
    for i in range(1, n):
        target = i * total / n
        after = [u for u in usable if not picked or u > picked[-1]]
        if not after:
            break
        best = min(after, key=lambda u: abs(index.keyframes[u] + overlap - target))
        picked.append(best)
    if len(picked) < n - 1:
        log.warning(
            "--chunks %d: the input has %d keyframe(s) to split at in %d frames; "
            "converting in %d chunk(s)",
            n,
            len(usable),
            total,
            len(picked) + 1,
        )
    starts = [0] + [index.keyframes[u] + overlap for u in picked]
    ends = starts[1:] + [total]
    keys = [0] + picked
    chunks = []
    for number, (start, end, key) in enumerate(zip(starts, ends, keys, strict=True)):
        lead = index.keyframes[key] if number else 0
        key_ts = index.key_ts[key]
        pts_range = None
        if index.pts is not None:
            pts_range = (index.pts[lead], index.pts[end] if end < total else None)
        chunks.append(
            Chunk(
                number=number,
                lead=lead,
                start=start,
                end=end,
                key_index=index.keyframes[key],
                key_ts=key_ts,
                pts_range=pts_range,
            )
        )
    return chunks
