"""Which codec an output gets and the quality range each codec takes, without FFmpeg.

Kept free of PyAV so the command line can check ``--codec`` and ``--crf``
against the output's container before anything heavy is imported; what this
FFmpeg build actually has is :mod:`vidseg.io.encoders`' job.

>>> choose_codec("auto", "clip.webm")
'libvpx-vp9'
>>> check_crf("libx264", 60)
Traceback (most recent call last):
...
vidseg.errors.ConfigError: crf must be in [0, 51] for libx264, got 60
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

__all__ = ["AUTO", "CONTAINERS", "CRF_RANGES", "check_crf", "choose_codec"]

#: The ``codec`` value that lets the output's container choose.
AUTO = "auto"
#: Output extension -> FFmpeg muxer.
CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
#: The codec ``auto`` picks per container; WebM holds only VP8/VP9/AV1, so VP9 there.
_AUTO_CODECS = {".webm": "libvpx-vp9"}
_DEFAULT_CODEC = "libx264"
#: Constant-rate-factor range per encoder (8-bit input); encoders not listed ignore it.
CRF_RANGES = {
    "libx264": (0, 51),
    "libx265": (0, 51),
    "libvpx-vp9": (0, 63),
    "libsvtav1": (0, 63),
    "libaom-av1": (0, 63),
}


def choose_codec(codec: str, path: str | Path) -> str:
    """The encoder for ``path``: ``codec`` itself, or for ``auto`` the container's choice.

    ``auto`` gives H.264 (``libx264``) for .mp4 .mov .mkv .avi and VP9
    (``libvpx-vp9``) for .webm.
    """
    if codec != AUTO:
        return codec
    return _AUTO_CODECS.get(Path(path).suffix.lower(), _DEFAULT_CODEC)


def check_crf(codec: str, crf: int) -> None:
    """Check ``crf`` against ``codec``'s range.

    Raises
    ------
    ConfigError
        ``crf`` lies outside the range ``codec`` accepts.
    """
    lo, hi = CRF_RANGES.get(codec, (None, None))
    if lo is not None and hi is not None and not lo <= crf <= hi:
        raise ConfigError(f"crf must be in [{lo}, {hi}] for {codec}, got {crf!r}")
