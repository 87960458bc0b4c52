"""The video sink's output format: its container, the muxer's options and the video stream.

Everything :class:`~vidseg.io.video_sink.VideoFileSink` decides about the file
before the first frame goes in: which FFmpeg muxer a path's extension gets and
whether it can hold the chosen encoder (checked in the sink's constructor,
before any work), the muxer options that keep a partial file playable if the
process dies, and the settings of the encoder's stream (rate, time base,
keyframe spacing, pixel format, threads).  Which encoders exist and their
per-codec options are :mod:`vidseg.io.encoders`' job; writing, finalising and
crash safety are the sink's.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..errors import EncoderNotFoundError, OutputUsageError
from ..frames import StreamInfo
from .encoders import (
    CONTAINERS,
    available_encoders,
    encoder_options,
    pix_fmt,
    supported_codecs,
    video_encoder,
)

__all__ = ["add_video_stream", "check_encoder", "container_format", "fragmented", "muxer_options"]

_FRAGMENTED = {".mp4", ".mov"}
# Fragmented MP4: a moov up front and a self-contained fragment at least every 0.5 s,
# flushed to disk at once, so a killed process leaves a playable file.
_FRAG_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof",
    "frag_duration": "500000",
}
# Keyframes: x264's own default spacing (250 frames, 10 s at 25 fps) for files, where a
# still scene's keyframes were most of a segmented file (a 2 s spacing made the
# pedestrians clip 25% larger); live outputs keep 2 s, so a recording can be cut and
# joined often.
_KEYFRAME_INTERVAL_S = 10.0
_LIVE_KEYFRAME_INTERVAL_S = 2.0


def container_format(path: Path) -> str:
    """The FFmpeg muxer for ``path``'s extension.

    >>> container_format(Path("out.MKV"))
    'matroska'

    Raises
    ------
    OutputUsageError
        The extension is not one of :data:`~vidseg.io.codecs.CONTAINERS`.
    """
    suffix = path.suffix.lower()
    if suffix not in CONTAINERS:
        raise OutputUsageError(
            f"unsupported output container {path.suffix!r} for {str(path)!r}; "
            f"use one of {', '.join(CONTAINERS)}"
        )
    return CONTAINERS[suffix]


def check_encoder(codec: str, fmt: str, path: Path) -> set[str]:
    """Check that ``codec`` is an available video encoder that muxer ``fmt`` can hold.

    ``path`` is the output, named in the messages.  Returns the codec names
    ``fmt`` accepts (the audio pass-through picks from them).

    Raises
    ------
    EncoderNotFoundError
        ``codec`` is not an available video encoder; the message lists those that are.
    OutputUsageError
        The container cannot hold ``codec``; the message lists the encoders it can.
    """
    encoder = video_encoder(codec)
    if encoder is None:
        raise EncoderNotFoundError(
            f"video encoder {codec!r} is not available in this FFmpeg build (PyAV "
            f"{av.__version__}); available: {', '.join(available_encoders()) or 'none'}"
        )
    supported = supported_codecs(fmt)
    if encoder.name not in supported:
        fits = [c for c in available_encoders() if c in supported]
        raise OutputUsageError(
            f"codec {codec!r} cannot be stored in {path.suffix.lower()} ({str(path)!r}); use "
            f"one of {', '.join(fits)} or another container"
        )
    return supported


def fragmented(path: Path) -> bool:
    """Whether ``path``'s partial file is written as fragmented MP4 (.mp4, .mov).

    >>> fragmented(Path("out.mp4")), fragmented(Path("out.mkv"))
    (True, False)
    """
    return path.suffix.lower() in _FRAGMENTED


def muxer_options(path: Path) -> dict[str, str]:
    """The muxer options for ``path``'s partial file: every packet flushed, fragments.

    >>> muxer_options(Path("out.mkv"))
    {'flush_packets': '1'}
    """
    options = {"flush_packets": "1"}
    if fragmented(path):
        options.update(_FRAG_OPTIONS)
    return options


def add_video_stream(
    container: Any,
    codec: str,
    width: int,
    height: int,
    info: StreamInfo,
    *,
    crf: int,
    preset: str,
    cabac: bool,
    threads: int,
) -> Any:
    """Add ``codec``'s stream for ``width`` x ``height`` frames to ``container``; return it.

    The time base is the input's (``info.time_base``; else a thousandth of a
    frame at ``info.fps``, 25 when unknown), keyframes come every 10 s (2 s for
    live inputs), and the encoder gets :func:`~vidseg.io.encoders.encoder_options`
    and ``threads`` (0: its own choice).
    """
    fps = info.fps if info.fps and info.fps > 0 else 25.0
    time_base = info.time_base or Fraction(1, round(fps * 1000))
    rate = Fraction(fps).limit_denominator(1001000)
    stream = container.add_stream(
        codec,
        rate=rate,
        options=encoder_options(codec, crf, preset, cabac=cabac, live=info.live),
    )
    ctx = stream.codec_context
    if threads:
        ctx.thread_count = threads
    stream.width, stream.height = width, height
    stream.pix_fmt = pix_fmt(codec)
    ctx.time_base = time_base
    stream.time_base = time_base
    interval = _LIVE_KEYFRAME_INTERVAL_S if info.live else _KEYFRAME_INTERVAL_S
    ctx.gop_size = max(1, round(interval * fps))
    if codec in ("mpeg4", "mjpeg"):
        ctx.bit_rate = int(0.15 * width * height * fps)
    return stream
