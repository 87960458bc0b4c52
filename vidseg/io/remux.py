"""Turn a finished fragmented MP4 into a normal faststart MP4 by stream copy."""

from __future__ import annotations

from pathlib import Path

import av
import av.error

from ..errors import SinkError, reason

__all__ = ["remux_faststart"]


def remux_faststart(src: Path, dst: Path, fmt: str) -> None:
    """Stream-copy the video and audio of ``src`` into ``dst`` with ``+faststart``.

    A fragmented MP4 survives a crash; the remuxed one is seekable at once and
    plays everywhere.  No re-encoding: packets are copied as they are.

    Raises
    ------
    SinkError
        The copy failed; ``dst`` is removed and ``src`` kept (named in the message).
    """
    try:
        with (
            av.open(str(src)) as inp,
            av.open(str(dst), "w", format=fmt, container_options={"movflags": "+faststart"}) as out,
        ):
            mapping = {
                s.index: out.add_stream_from_template(s, opaque=True)
                for s in inp.streams
                if s.type in ("video", "audio")
            }
            for packet in inp.demux(*[inp.streams[i] for i in mapping]):
                if packet.dts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
    except (av.error.FFmpegError, OSError) as exc:
        dst.unlink(missing_ok=True)
        raise SinkError(
            f"could not finalise {str(dst)!r} ({reason(exc)}); the "
            f"complete output is kept in {str(src)!r}"
        ) from exc
