"""Write rendered frames to a video file that survives crashes and plays in browsers.

:class:`VideoFileSink` encodes ``FrameResult.view`` with PyAV, keeping the
input's timestamps (every frame written exactly once) and its audio.  It writes
to ``<stem>.partial<suffix>`` first, in a form that stays playable if the
process dies (fragmented MP4, or Matroska/AVI written progressively), and only
on a successful :meth:`~VideoFileSink.close` turns that into the final file.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import av
import av.error
import cv2
import numpy as np

from ..errors import SinkError, reason
from ..frames import FrameResult, StreamInfo
from ._partial import PartialFileSink, check_output_file, partial_path
from .audio import AudioPassThrough
from .codecs import check_crf, choose_codec
from .encoders import COMMON_ENCODERS, CONTAINERS, available_encoders, pix_fmt
from .remux import remux_faststart
from .video_format import (
    add_video_stream,
    check_encoder,
    container_format,
    fragmented,
    muxer_options,
)

__all__ = ["COMMON_ENCODERS", "CONTAINERS", "VideoFileSink", "available_encoders"]

logger = logging.getLogger(__name__)


class VideoFileSink(PartialFileSink):
    """Encode results to a video file (default: browser-playable H.264 MP4).

    Lifecycle: ``open(info)`` → ``write(result)`` per frame → ``close()`` on
    success or ``abort()`` after an error; as a context manager, leaving the
    block normally closes and leaving it by an exception aborts.  Everything
    that can be checked before work (directory, existing output, container,
    encoder) is checked in the constructor.

    Timestamps are the input's: the output time base is ``info.time_base`` and
    each frame's PTS is ``result.frame.pts`` (a missing or non-increasing PTS
    becomes the previous plus one, logged at DEBUG), so every frame is written
    exactly once at its own time, never duplicated or dropped to force a
    constant rate.  H.264 and H.265 are encoded without B-frames, so decode
    order is presentation order and even the fragmented partial file carries
    the input's exact timestamps.  Odd sizes are padded by one replicated
    row/column (yuv420p needs even sizes).  The encoder is sized by the first
    view written; later views of another size are resized to it (logged once
    at WARNING).  A sink is used from one thread.

    Audio packets in ``result.frame.packets`` are copied to the output when
    ``keep_audio`` and ``info.audio`` is set; if the container cannot hold that
    codec they are transcoded to AAC (Opus for .webm), logged at WARNING.

    Crash safety: frames go to ``<stem>.partial<suffix>``, flushed per packet;
    .mp4/.mov partials are fragmented MP4 (a fragment at least every 0.5 s), so
    even ``kill -9`` leaves a playable file.  ``close()`` remuxes an MP4/MOV
    partial into the final path with ``+faststart`` (a normal seekable MP4) and
    deletes it, or renames other containers.  ``abort()`` finalises and keeps
    the partial file and never creates the final one.

    Parameters
    ----------
    path : str or Path
        Output file; the extension (.mp4 .mov .mkv .webm .avi) picks the container.
    codec : str
        FFmpeg video encoder, or ``"auto"``: H.264 (``libx264``), VP9 for .webm.
        There is no silent fallback to another one.
    crf : int
        Constant rate factor (quality) for x264, x265 (0-51), VP9 and AV1 (0-63).
    preset : str
        Speed preset for x264 and x265.
    cabac : bool
        x264's CABAC entropy coder (default); ``False`` gives CAVLC, about 15%
        larger files for a little less encode time (see the README's Conversion).
    overwrite : bool
        Replace an existing output file.
    keep_audio : bool
        Copy the input's audio.
    threads : int
        Encoder threads (0: the encoder's own choice).  x264's output bytes
        depend on it; its decoded frames barely do.

    Raises
    ------
    SinkError
        Missing or unwritable directory.
    OutputUsageError
        Existing output, unknown container, or a codec the container cannot hold.
    ConfigError
        ``crf`` is outside the codec's range.
    EncoderNotFoundError
        ``codec`` is not an available video encoder; the message lists those that are.

    Examples
    --------
    >>> with VideoFileSink("out.mp4") as sink:  # doctest: +SKIP
    ...     sink.open(source.info)
    ...     for result in results:
    ...         sink.write(result)
    """

    _kind = "video sink"

    def __init__(
        self,
        path: str | Path,
        *,
        codec: str = "auto",
        crf: int = 33,
        preset: str = "superfast",
        cabac: bool = True,
        overwrite: bool = False,
        keep_audio: bool = True,
        threads: int = 0,
    ) -> None:
        self.path = Path(path)
        self.threads = threads
        self._target = self.path
        codec = choose_codec(codec, self.path)
        check_crf(codec, crf)
        self.codec, self.crf, self.preset, self.cabac = codec, crf, preset, cabac
        self.overwrite, self.keep_audio = overwrite, keep_audio
        self.frames_written = 0
        #: Video packets in the file so far; behind ``frames_written`` by the encoder's
        #: delay, which live sources tune away (zero-latency x264/x265).
        self.packets_written = 0
        check_output_file(self.path, overwrite=overwrite)
        self._format = container_format(self.path)
        self._supported = check_encoder(codec, self._format, self.path)
        self.partial_path = partial_path(self.path)
        self._container: Any = None
        self._video: Any = None
        self._audio: AudioPassThrough | None = None
        self._info: StreamInfo | None = None
        self._size: tuple[int, int] | None = None
        self._last_pts: int | None = None
        self._resize_warned = False
        self._closed = False
        self._first_path = self.path
        self._part = 1
        self._pts_offset: int | None = None
        #: Finished files before the current one (a live stream that changed size).
        self.outputs: list[Path] = []

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._container is not None else "new"
        return f"<VideoFileSink {str(self.path)!r} {self.codec} {state}>"

    def open(self, info: StreamInfo) -> None:
        """Create the partial file for a stream described by ``info``.

        Raises
        ------
        SinkError
            The partial file cannot be created.
        """
        self._check_can_open(self._container is not None)
        options = muxer_options(self.path)
        try:
            self._container = av.open(
                str(self.partial_path), "w", format=self._format, container_options=options
            )
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(f"cannot create {str(self.partial_path)!r}: {reason(exc)}") from None
        self._info = info
        self._log_partial(self.codec)

    def reopen(self, info: StreamInfo) -> None:
        """The stream's frame size changed: finish this file, continue in the next.

        The file so far is finalised and moved into place as usual; the frames
        that follow go to ``<stem>-2<suffix>`` (then ``-3`` ...; the first free
        name), timed from its own first frame.  Logged at WARNING.

        Raises
        ------
        SinkError
            Finalising this file or creating the next one failed.
        """
        self._check_writable(self._container is not None)
        done, frames = self.path, self.frames_written
        self.close()
        if frames:
            self.outputs.append(done)
        first = self._first_path
        while True:
            self._part += 1
            nxt = first.with_name(f"{first.stem}-{self._part}{first.suffix}")
            if not (nxt.exists() or partial_path(nxt).exists()):
                break
        logger.warning(
            "frame size is now %dx%d: finished %r (%d frames), continuing in %r",
            info.width,
            info.height,
            str(done),
            frames,
            str(nxt),
        )
        self.path, self.partial_path = nxt, partial_path(nxt)
        self._closed = False
        self._video, self._audio, self._size, self._last_pts = None, None, None, None
        self.frames_written = self.packets_written = 0
        self._pts_offset = None
        self.open(info)

    def write(self, result: FrameResult) -> None:
        """Encode ``result.view`` at ``result.frame``'s timestamp and mux its audio packets.

        Raises
        ------
        ClosedError
            The sink is closed.
        SinkError
            Not opened, or encoding/writing failed.
        """
        self._check_writable(self._container is not None)
        try:
            frame = self._yuv_frame(result)
            if frame is None:
                image = self._prepare(result.view)
                if self._video is None:
                    self._add_streams(image.shape[1], image.shape[0])
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = self._next_pts(result.frame.pts, result.frame.time_s)
            frame.time_base = self._video.codec_context.time_base
            packets = self._video.encode(frame)
            self._container.mux(packets)
            self.packets_written += len(packets)
            if self._audio is not None:
                for packet in result.frame.packets:
                    self._audio.write(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(
                f"writing frame {result.frame.index} to "
                f"{str(self.partial_path)!r} failed: {reason(exc)}"
            ) from exc
        self.frames_written += 1

    # -- internals -------------------------------------------------------------

    def _commit(self) -> None:
        # A fragmented MP4 becomes a normal faststart MP4 (seekable, plays everywhere).
        if fragmented(self.path):
            remux_faststart(self.partial_path, self.path, self._format)
            self.partial_path.unlink()
        else:
            os.replace(self.partial_path, self.path)

    def _finish(self) -> bool:
        """Flush encoders and close the container; ``False`` if there is nothing to keep."""
        container, self._container = self._container, None
        if container is None:
            return False
        if self._video is None:  # opened, but not a single frame written
            with contextlib.suppress(av.error.FFmpegError, OSError):
                container.close()
            self.partial_path.unlink(missing_ok=True)
            logger.warning("no frames were written; %r not created", str(self.path))
            return False
        error: BaseException | None = None
        try:
            tail = self._video.encode(None)
            container.mux(tail)
            self.packets_written += len(tail)
            if self._audio is not None:
                self._audio.flush()
        except (av.error.FFmpegError, OSError) as exc:
            error = exc
        try:
            container.close()
        except (av.error.FFmpegError, OSError) as exc:
            error = error or exc
        if error is not None:
            raise SinkError(
                f"finalising {str(self.partial_path)!r} failed: {reason(error)}; "
                f"the frames written so far are in it"
            ) from error
        return True

    def _prepare(self, view: np.ndarray) -> np.ndarray:
        if view.ndim != 3 or view.shape[2] != 3 or view.dtype != np.uint8:
            raise SinkError(
                f"video sink {str(self.path)!r} needs (H, W, 3) uint8 BGR views, "
                f"got {view.dtype} array of shape {view.shape}"
            )
        h, w = view.shape[:2]
        if self._size is None:
            self._size = (w, h)
        elif (w, h) != self._size:
            if not self._resize_warned:
                self._resize_warned = True
                logger.warning(
                    "view size changed from %dx%d to %dx%d; resizing to %dx%d",
                    *self._size,
                    w,
                    h,
                    *self._size,
                )
            view = cv2.resize(view, self._size, interpolation=cv2.INTER_AREA)
            h, w = view.shape[:2]
        if h % 2 or w % 2:
            view = cv2.copyMakeBorder(view, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(view)

    def _yuv_frame(self, result: FrameResult) -> av.VideoFrame | None:
        """The view as a ready yuv420p frame when the encoder takes that, else None.

        Saves a BGR image and a colour conversion per frame for the common case.
        """
        if pix_fmt(self.codec) != "yuv420p":
            return None
        i420 = result.view_i420
        if i420 is None:
            return None
        h, w = i420.shape[0] * 2 // 3, i420.shape[1]
        if self._size is None:
            self._size = (w, h)
        elif self._size != (w, h):
            return None
        if self._video is None:
            self._add_streams(w, h)
        return av.VideoFrame.from_ndarray(i420, format="yuv420p")

    def _add_streams(self, width: int, height: int) -> None:
        assert self._info is not None
        info = self._info
        self._video = add_video_stream(
            self._container,
            self.codec,
            width,
            height,
            info,
            crf=self.crf,
            preset=self.preset,
            cabac=self.cabac,
            threads=self.threads,
        )
        if self.keep_audio and info.audio is not None:
            self._audio = AudioPassThrough(
                self._container, info.audio, self._supported, self.path.suffix.lower()
            )

    def _next_pts(self, pts: int | None, time_s: float) -> int:
        tb = self._video.codec_context.time_base
        if pts is None:
            pts = round(time_s / tb)
            logger.debug("frame without pts at %.3f s: using %d", time_s, pts)
        if self._part > 1:  # a continuation file starts at its own first frame
            if self._pts_offset is None:
                self._pts_offset = pts
            pts -= self._pts_offset
        if self._last_pts is not None and pts <= self._last_pts:
            logger.debug(
                "non-increasing pts %d after %d: using %d", pts, self._last_pts, self._last_pts + 1
            )
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts
