"""Audio pass-through for the video sink: copy packets, or transcode when the container can't.

The input's audio packets travel with the frames (``Frame.packets``); this copies
them into the output stream, converting ADTS AAC to the in-container form where
the muxer needs it, or re-encodes to AAC / Opus when the output container cannot
hold the input's codec (logged at WARNING with the codec used).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import av

from ..errors import SinkError

__all__ = ["AudioPassThrough"]

logger = logging.getLogger(__name__)


class AudioPassThrough:
    """Copy audio packets into the output, or transcode them if the container can't hold them."""

    def __init__(self, container: Any, template: Any, supported: set[str], suffix: str) -> None:
        self._container = container
        ctx = template.codec_context
        self._decoder: Any = None
        self._bsf: Any = None
        if ctx.name in supported:
            self.stream = container.add_stream_from_template(template)
            if ctx.name == "aac" and not ctx.extradata and suffix != ".mkv":
                # ADTS AAC (as in AVI or MPEG-TS).  Fragmented MP4 and AVI write the AAC
                # config in their header, before the muxer's own ADTS conversion could
                # find it, so convert here.  (Matroska converts by itself, and giving it
                # both corrupts its header.)
                self.stream.codec_context.extradata = _aac_config(ctx)
                self._bsf = av.BitStreamFilterContext("aac_adtstoasc", template)
            return
        target = "libopus" if suffix == ".webm" else "aac"
        rate = ctx.sample_rate
        if target == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
            rate = 48000
        self.stream = container.add_stream(target, rate=rate)
        self.stream.layout = ctx.layout
        self._decoder = av.CodecContext.create(ctx.name, "r")
        self._decoder.extradata = ctx.extradata
        self._decoder.sample_rate = ctx.sample_rate
        self._decoder.layout = ctx.layout
        self._in_rate = ctx.sample_rate
        logger.warning("%s cannot hold %s audio; transcoding it to %s", suffix, ctx.name, target)

    def write(self, packet: Any) -> None:
        """Mux (or decode and re-encode) one input audio packet."""
        if packet.dts is None or not packet.size:
            return
        if self._decoder is None:
            for out in self._bsf.filter(packet) if self._bsf is not None else (packet,):
                out.stream = self.stream  # mux rescales from the packet's own time base
                self._container.mux(out)
            return
        time_base = packet.time_base
        for frame in self._decoder.decode(packet):
            if frame.pts is not None:  # decoded in the input's time base: rescale to samples
                frame.pts = round(frame.pts * time_base * self._in_rate)
            frame.time_base = Fraction(1, self._in_rate)
            self._container.mux(self.stream.encode(frame))  # PyAV resamples and re-chunks

    def flush(self) -> None:
        """Drain the transcoder, if any, at the end of the output."""
        if self._decoder is not None:
            for frame in self._decoder.decode(None):
                self._container.mux(self.stream.encode(frame))
            self._container.mux(self.stream.encode(None))


_AAC_RATES = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)
_AAC_OBJECT = {"Main": 1, "LC": 2, "SSR": 3, "LTP": 4}


def _aac_config(ctx: Any) -> bytes:
    """Return the 2-byte AudioSpecificConfig of an ADTS AAC stream (HE-AAC: implicit SBR)."""
    rate = ctx.sample_rate
    if rate not in _AAC_RATES:
        raise SinkError(f"cannot copy AAC audio at {rate!r} Hz; pass keep_audio=False")
    obj = _AAC_OBJECT.get(ctx.profile or "LC", 2)
    channels = min(ctx.channels, 7)
    config: int = (obj << 11) | (_AAC_RATES.index(rate) << 7) | (channels << 3)
    return config.to_bytes(2, "big")
