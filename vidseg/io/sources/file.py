"""Video files, decoded with PyAV, timed by their container timestamps."""

from __future__ import annotations

import io
import itertools
import logging
import time
from collections.abc import Generator, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error

from ...errors import SourceOpenError, SourceReadError, reason
from ...frames import Frame, StreamInfo
from ._base import SourceBase, to_bgr

__all__ = ["VideoFileSource", "is_stdin"]

logger = logging.getLogger(__name__)

_PROBE_FRAMES = 4  # frames decoded ahead at the start to judge the container's PTS

INPUT_HINT = (
    "give a video file, an image folder or glob, a camera index such as '0', "
    "a stream URL, or 'demo'"
)


def is_stdin(spec: str) -> bool:
    """``True`` for the inputs that mean standard input: ``-``, ``pipe:`` and ``pipe:0``."""
    return spec in ("-", "pipe:", "pipe:0")


class _Timestamper:
    """FFmpeg's best-effort timestamp, made strictly increasing.

    The container PTS is used as is while it increases.  Containers that store
    decode-order stamps as PTS (AVI with B-frames) make it jump back; then, like
    FFmpeg's ``guess_correct_pts``, the frame's DTS is used once PTS has been
    out of order more often than DTS (:meth:`probe` checks the first frames, so
    such a file is timed by DTS from its first frame).  A missing or
    non-increasing stamp becomes the previous one plus one frame duration.
    """

    def __init__(self, step: int) -> None:
        self.step = max(step, 1)
        self.last: int | None = None
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.faulty_pts = self.faulty_dts = self.repaired = 0

    def probe(self, head: list[tuple[int | None, int | None]]) -> None:
        """Start on DTS if the first frames' PTS go back while their DTS increase."""
        pts = [p for p, _ in head if p is not None]
        dts = [d for _, d in head if d is not None]
        if (
            len(pts) == len(dts) == len(head)
            and any(b <= a for a, b in itertools.pairwise(pts))
            and all(b > a for a, b in itertools.pairwise(dts))
        ):
            self.faulty_pts = 1

    def __call__(self, pts: int | None, dts: int | None) -> int:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        ts = pts if pts is not None and (dts is None or self.faulty_pts <= self.faulty_dts) else dts
        if self.last is not None and (ts is None or ts <= self.last):
            self.repaired += 1
            ts = self.last + self.step
        self.last = 0 if ts is None else ts
        return self.last


class VideoFileSource(SourceBase):
    """Decode a video file (any container and codec FFmpeg reads) into BGR frames.

    The file is opened and its first frame decoded in the constructor, so a
    missing, non-video or frameless file fails there.  ``Frame.time_s`` comes
    from the container's PTS (see ``_Timestamper`` for the repairs), never from
    the header's frame rate; ``info.frame_count`` is only the header's claim.

    When ``audio`` is true and the file has an audio stream, its packets travel
    on the frames (``Frame.packets``: the packets read since the previous
    frame; the last frame also gets any that follow it) and ``info.audio`` is
    a copy of the input audio stream's parameters, for a sink to use as a
    template.  Both stay valid after the source is closed.

    A truncated or corrupt file yields every frame that decodes, then raises
    :class:`~vidseg.errors.SourceReadError` with the counts: "read N of M
    frames the header claims; the input is truncated" when fewer frames decoded
    than the header claims (a file cut short may end cleanly, at a packet
    boundary), else the number of corrupt packets skipped.

    ``"-"`` or ``"pipe:"`` reads a stream from standard input (e.g. MPEG-TS or
    Matroska from ``ffmpeg ... -f mpegts -``): it is read once, in order, with no
    frame count; a format that needs seeking (MP4 with its index at the end)
    cannot come through a pipe.

    Parameters
    ----------
    path : str or Path
        The video file, or ``"-"`` / ``"pipe:"`` for standard input.
    audio : bool
        Pass the audio packets through.
    threads : int
        Decoder threads (0: FFmpeg's own choice, one per core).

    Raises
    ------
    SourceOpenError
        File missing, not a video, no video stream, or no decodable frame.

    Examples
    --------
    >>> with VideoFileSource("clip.mp4") as src:  # doctest: +SKIP
    ...     for frame in src:
    ...         print(frame.index, frame.time_s, frame.image.shape)
    """

    def __init__(self, path: str | Path, *, audio: bool = True, threads: int = 0) -> None:
        super().__init__()
        self._threads = threads
        stdin = is_stdin(str(path))
        self.path = Path(path)
        name = "stdin" if stdin else str(self.path)
        self.info = StreamInfo(width=0, height=0, fps=0.0, name=name)
        if stdin:
            pass
        elif not self.path.exists():
            raise SourceOpenError(f"input file not found: {name!r}; {INPUT_HINT}")
        elif not self.path.is_file():
            raise SourceOpenError(f"input {name!r} is not a regular file; {INPUT_HINT}")
        try:
            self._container = av.open("pipe:0" if stdin else name, metadata_errors="replace")
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceOpenError(
                f"cannot open {name!r} as a video (PyAV/FFmpeg: {reason(exc)})"
            ) from None
        try:
            self._setup(name, audio)
        except BaseException:
            self._container.close()
            raise

    def _setup(self, name: str, audio: bool) -> None:
        if not self._container.streams.video:
            raise SourceOpenError(
                f"{name!r} has no video stream (PyAV/FFmpeg found: {_describe(self._container)})"
            )
        video = self._video = self._container.streams.video[0]
        video.thread_type = "AUTO"
        if self._threads:  # a batch task's budget; 0 keeps FFmpeg's one per core
            video.codec_context.thread_count = self._threads
        audio_streams = self._container.streams.audio
        self._audio_stream = audio_streams[0] if audio and audio_streams else None
        self._audio_template = _detached(self._audio_stream) if self._audio_stream else None
        rate = video.average_rate or video.guessed_rate
        fps = float(rate) if rate else 0.0
        time_base: Fraction | None = video.time_base
        step = round(1 / (fps * time_base)) if fps and time_base else 1
        self._stamp = _Timestamper(step)
        self._audio: list[Any] = []
        self._corrupt = 0
        self._read_error: Exception | None = None
        self._decoder = self._decode(time_base, fps)
        try:
            self._held = next(self._decoder)
        except StopIteration:
            detail = f" ({self._corrupt} corrupt packets)" if self._corrupt else ""
            raise SourceOpenError(f"no decodable video frames in {name!r}{detail}") from None
        height, width = self._held.image.shape[:2]
        self.info = StreamInfo(
            width=width,
            height=height,
            fps=fps,
            frame_count=video.frames or None,
            time_base=time_base,
            live=False,
            name=name,
            audio=self._audio_template,
        )
        logger.debug(
            "opened %r: %dx%d, %.3f fps, %s frames claimed, audio=%s",
            name,
            width,
            height,
            fps,
            self.info.frame_count,
            self._audio_template.codec_context.name if self._audio_template else None,
        )

    def _decode(self, time_base: Fraction | None, fps: float) -> Generator[Frame, None, None]:
        frames = self._video_frames()
        head = list(itertools.islice(frames, _PROBE_FRAMES))  # is the PTS usable at all?
        self._stamp.probe([(f.pts, f.dts) for f in head])
        for index, vf in enumerate(itertools.chain(head, frames)):
            ts = self._stamp(vf.pts, vf.dts)
            time_s = float(ts * time_base) if time_base else ts / (fps or 1.0)
            yield Frame(
                image=to_bgr(vf),
                index=index,
                time_s=time_s,
                pts=ts,
                captured_at=time.monotonic(),
                packets=self._take_audio(),
            )

    def _video_frames(self) -> Iterator[Any]:
        """Yield decoded ``av.VideoFrame`` objects, counting corrupt or undecodable packets."""
        video, audio, template = self._video, self._audio_stream, self._audio_template
        packets = self._container.demux()  # every stream, so any corrupt packet is noticed
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                self._corrupt += 1
                self._read_error = exc
                logger.debug("%r: demuxing stopped: %s", self.info.name, exc)
                return
            if packet.is_corrupt:
                self._corrupt += 1
                logger.debug(
                    "%r: skipped corrupt packet (stream %d, dts %s)",
                    self.info.name,
                    packet.stream.index,
                    packet.dts,
                )
                continue
            if audio is not None and packet.stream.index == audio.index:
                if packet.size and template is not None:
                    packet.stream = template  # valid after this file is closed
                    self._audio.append(packet)
                continue
            if packet.stream.index != video.index:
                continue
            try:
                yield from packet.decode()
            except av.error.FFmpegError as exc:
                self._corrupt += 1
                logger.debug("%r: undecodable packet (dts %s): %s", self.info.name, packet.dts, exc)

    def _take_audio(self) -> list[Any]:
        taken, self._audio = self._audio, []
        return taken

    def _frames(self) -> Iterator[Frame]:
        # One frame is held back so that audio read after the last frame lands on it.
        held = self._held
        for frame in self._decoder:
            yield held
            held = frame
        held.packets.extend(self._take_audio())
        yield held
        if self._stamp.repaired:
            logger.debug(
                "%r: %d out-of-order or missing timestamps repaired",
                self.info.name,
                self._stamp.repaired,
            )
        read, claimed = held.index + 1, self.info.frame_count
        skipped = f"{self._corrupt} corrupt packets skipped" if self._corrupt else ""
        if claimed is not None and read < claimed:
            detail = f" ({skipped})" if skipped else ""
            raise SourceReadError(
                f"{self.info.name!r}: read {read} of {claimed} frames the header claims; "
                f"the input is truncated{detail}"
            ) from self._read_error
        if self._corrupt:
            raise SourceReadError(
                f"{self.info.name!r} is truncated or corrupt: {skipped}, {read} frames decoded"
            ) from self._read_error

    def _release(self) -> None:
        self._decoder.close()
        self._container.close()


def _detached(stream: Any) -> Any:
    """Copy an input audio stream's parameters into a stream that outlives the file.

    ``info.audio`` and the audio packets refer to this copy, held by an unused
    in-memory Matroska muxer, so a sink may use them after the source is closed.
    ``None`` (audio not passed through) if Matroska cannot describe the codec.
    """
    holder = av.open(io.BytesIO(), "w", format="matroska")
    try:
        return holder.add_stream_from_template(stream, opaque=True)
    except ValueError as exc:
        logger.warning(
            "audio of codec %r cannot be passed through: %s", stream.codec_context.name, exc
        )
        return None


def _describe(container: Any) -> str:
    kinds = [s.type for s in container.streams]
    return ", ".join(f"{k} stream" for k in kinds) if kinds else "no streams"
