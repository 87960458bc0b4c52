"""The encoder catalogue: which video encoders this FFmpeg build has, their options.

Kept apart from the sink so choosing and configuring an encoder (one table per
codec) does not mix with writing, finalising and crash-safety.
"""

from __future__ import annotations

import io

import av

from .codecs import CONTAINERS

__all__ = [
    "COMMON_ENCODERS",
    "CONTAINERS",
    "available_encoders",
    "encoder_options",
    "pix_fmt",
    "supported_codecs",
    "video_encoder",
]

#: Video encoders worth suggesting, in order of preference.
COMMON_ENCODERS = (
    "libx264",
    "libx265",
    "libopenh264",
    "mpeg4",
    "libvpx-vp9",
    "libsvtav1",
    "libaom-av1",
    "ffv1",
    "mjpeg",
)


def available_encoders() -> list[str]:
    """Return the video encoders among :data:`COMMON_ENCODERS` this FFmpeg build has."""
    return [name for name in COMMON_ENCODERS if video_encoder(name) is not None]


def video_encoder(name: str) -> av.Codec | None:
    """The video encoder called ``name``, or None when this FFmpeg build lacks it."""
    if name not in av.codecs_available:
        return None
    try:
        codec = av.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return None
    return codec if codec.type == "video" else None


def encoder_options(
    codec: str, crf: int, preset: str, *, cabac: bool = True, live: bool = False
) -> dict[str, str]:
    """FFmpeg options for ``codec`` at quality ``crf`` and speed ``preset`` (B-frames off).

    ``cabac=False`` gives x264 CAVLC entropy coding: posterised frames carry many
    bits (edges), and CABAC's cost grows with the bits while its gain stays ~14%.
    ``live`` tunes x264/x265 for zero latency: each frame's packet comes out of
    the call that encodes it (sliced instead of frame threads, no look-ahead).
    """
    if codec == "libx264":
        opts = {"crf": str(crf), "preset": preset, "profile": "high", "bf": "0"}
        if live:
            opts["tune"] = "zerolatency"
        return opts if cabac else {**opts, "x264-params": "cabac=0"}
    if codec == "libx265":
        opts = {"crf": str(crf), "preset": preset, "x265-params": "log-level=error:bframes=0"}
        return {**opts, "tune": "zerolatency"} if live else opts
    if codec == "libvpx-vp9":
        return {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    if codec in ("libsvtav1", "libaom-av1"):
        speed = {"libsvtav1": ("preset", "10"), "libaom-av1": ("cpu-used", "8")}[codec]
        return {"crf": str(crf), speed[0]: speed[1]}
    return {}


def pix_fmt(codec: str) -> str:
    """The 4:2:0 pixel format ``codec`` is fed (``yuv420p`` when it takes it)."""
    if codec == "mjpeg":  # full-range 4:2:0, the only 4:2:0 form MJPEG accepts by default
        return "yuvj420p"
    formats = [f.name for f in (av.Codec(codec, "w").video_formats or ())]
    if not formats or "yuv420p" in formats:
        return "yuv420p"
    return "yuvj420p" if "yuvj420p" in formats else formats[0]


def supported_codecs(fmt: str) -> set[str]:
    """Codec names the FFmpeg muxer ``fmt`` accepts."""
    with av.open(io.BytesIO(), "w", format=fmt) as probe:
        return set(probe.supported_codecs)
