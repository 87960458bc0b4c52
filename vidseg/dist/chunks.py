"""Planning a chunked conversion: where the keyframes are, and N time chunks between them.

:func:`scan_video` reads the video stream's packets once (no decoding) into a
:class:`VideoIndex`: how many frames, which are keyframes and their timestamps.
:func:`plan_chunks` cuts ``[0, frames)`` into chunks.  Each chunk after the first
is segmented from ``overlap`` frames before its nominal start (its warm start
settles there; those results are discarded), and its decode starts at a
keyframe, so the boundaries sit ``overlap`` frames after keyframes: no frame is
decoded only to be dropped.  The chunk before runs a hand-over window past it.

>>> index = VideoIndex(frames=100, keyframes=(0, 25, 50, 75), key_ts=(0, 25, 50, 75))
>>> [(c.lead, c.start, c.window, c.end) for c in plan_chunks(index, 4, overlap=5, window=3)]
[(0, 0, 30, 33), (25, 33, 55, 58), (50, 58, 80, 83), (75, 83, 100, 100)]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, SourceOpenError, reason

__all__ = [
    "HELD_BYTES",
    "OVERLAP_S",
    "WINDOW_S",
    "Chunk",
    "VideoIndex",
    "check_seekable",
    "handover_frames",
    "plan_chunks",
    "scan_video",
]

log = logging.getLogger(__name__)

#: Seconds each chunk after the first starts early, so its warm start settles
#: on the frames before its boundary (their results are discarded).
OVERLAP_S = 2.0
#: Seconds the chunk before a boundary runs on past it, choosing where to hand over.
WINDOW_S = 8.0
#: What a hand-over window may hold in frames (bytes), whatever its length in seconds.
HELD_BYTES = 1 << 30

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
    fps : float
        The stream's average frame rate (25 when it does not say).
    width, height : int
        Frame size.
    """

    frames: int
    keyframes: tuple[int, ...]
    key_ts: tuple[int, ...]
    pts: tuple[int, ...] | None = None
    fps: float = 25.0
    width: int = 0
    height: int = 0


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One time chunk: frames ``[start, end)``, segmented from ``lead`` (``lead <= start``).

    ``key_index`` / ``key_ts`` name the keyframe its decode starts from (at or
    before ``lead``); ``pts_range`` is ``(PTS of lead, PTS of end or None)`` when
    frames are placed by timestamp.  Frames ``[window, end)`` are the hand-over
    window to the next chunk, whose warm-up starts at ``next_lead`` (None: the
    last chunk, whose window is empty).
    """

    number: int
    lead: int
    start: int
    end: int
    key_index: int
    key_ts: int
    pts_range: tuple[int, int | None] | None = None
    window: int = 0
    next_lead: int | None = None

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
            rate = stream.average_rate or stream.guessed_rate
            facts = {
                "fps": float(rate) if rate else 25.0,
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
            }
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
            **facts,  # type: ignore[arg-type]
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
        **facts,  # type: ignore[arg-type]
    )


def check_seekable(path: Path, chunks: list[Chunk]) -> None:
    """Check that seeking lands on every chunk's keyframe, before any work is given out.

    Raises
    ------
    ConfigError
        A seek landed elsewhere: the file cannot be split frame-exactly.
    """
    import av

    with av.open(str(path), metadata_errors="replace") as container:
        stream = container.streams.video[0]
        for chunk in chunks:
            container.seek(chunk.key_ts, stream=stream, backward=True, any_frame=False)
            packet = next(container.demux(stream), None)
            landed = (
                None if packet is None else (packet.pts if packet.pts is not None else packet.dts)
            )
            if packet is None or not packet.is_keyframe or landed != chunk.key_ts:
                raise ConfigError(
                    f"{str(path)!r} cannot be split frame-exactly: seeking to the keyframe at "
                    f"timestamp {chunk.key_ts} landed on {landed!r}; convert it without "
                    "--chunks, or remux it to MP4 first"
                )


def plan_chunks(index: VideoIndex, n: int, *, overlap: int = 0, window: int = 0) -> list[Chunk]:
    """Cut ``index.frames`` frames into at most ``n`` chunks of about equal length.

    Each chunk after the first is segmented from a keyframe ``K`` (its lead),
    ``overlap`` frames before its nominal start ``K + overlap``; the chunk
    before it runs ``window`` frames past that start and hands over inside them
    (:mod:`vidseg.dist.handover`), so the later chunk writes from
    ``K + overlap + window``.  The keyframes are the ones nearest to ``i / n``
    of the way; fewer chunks come out when the keyframes do not allow ``n``
    (logged at WARNING with the reason).

    Raises
    ------
    ConfigError
        ``n`` < 1, or ``overlap`` or ``window`` < 0.
    """
    if n < 1:
        raise ConfigError(f"--chunks must be at least 1, got {n}")
    if overlap < 0 or window < 0:
        raise ConfigError(
            f"the chunk overlap and hand-over window must be at least 0 frames, "
            f"got {overlap} and {window}"
        )
    total, keyframes = index.frames, index.keyframes
    # Every chunk keeps at least one frame of its own before the next one's window.
    usable = [i for i, k in enumerate(keyframes) if k > window and k + overlap + window < total]
    picked: list[int] = []  # positions in index.keyframes
    for i in range(1, n):
        target = i * total / n
        floor = keyframes[picked[-1]] if picked else 0
        after = [u for u in usable if keyframes[u] - floor > window and keyframes[u] > floor]
        if not after:
            break
        best = min(after, key=lambda u: abs(keyframes[u] + overlap + window / 2 - target))
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
    keys = [0, *picked]
    leads = [0] + [keyframes[u] for u in picked]
    starts = [0] + [k + overlap + window for k in leads[1:]]
    ends = [*starts[1:], total]
    windows = [k + overlap for k in leads[1:]] + [total]
    chunks = []
    for number, key in enumerate(keys):
        lead, end = leads[number], ends[number]
        pts_range = None
        if index.pts is not None:
            pts_range = (index.pts[lead], index.pts[end] if end < total else None)
        chunks.append(
            Chunk(
                number=number,
                lead=lead,
                start=starts[number],
                end=end,
                key_index=keyframes[key],
                key_ts=index.key_ts[key],
                pts_range=pts_range,
                window=windows[number],
                next_lead=leads[number + 1] if number + 1 < len(leads) else None,
            )
        )
    return chunks


def handover_frames(
    index: VideoIndex,
    chunks: int,
    *,
    overlap_s: float = OVERLAP_S,
    window_s: float = WINDOW_S,
) -> tuple[int, int]:
    """Overlap and hand-over window in frames, from seconds, capped for short chunks.

    A chunk of ``L`` frames on average gets at most ``L / 8`` frames of overlap
    and ``L / 4`` of hand-over window, so short videos still split; the window
    holds its frames until the hand-over, so it is also held to :data:`HELD_BYTES`.

    >>> index = VideoIndex(frames=7500, keyframes=(0,), key_ts=(0,), width=640, height=360)
    >>> handover_frames(index, 4), handover_frames(index, 100)
    ((50, 200), (9, 18))
    >>> handover_frames(VideoIndex(frames=7500, keyframes=(0,), key_ts=(0,), width=3840,
    ...                            height=2160), 4)
    (50, 25)
    """
    fps = index.fps
    per = index.frames // max(chunks, 1)
    held = max(1, index.width * index.height * 5)  # image + two label maps per frame
    overlap = min(max(0, round(overlap_s * fps)), per // 8)
    window = min(max(0, round(window_s * fps)), per // 4, HELD_BYTES // held)
    return overlap, window
