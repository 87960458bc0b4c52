"""Turn a fragmented MP4 into a normal faststart MP4 by stream copy; recover leftovers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av
import av.error

from ..errors import SinkError, reason

__all__ = ["recover_leftover", "remux_faststart"]

logger = logging.getLogger(__name__)

# Partial files written as fragmented MP4 (see video_sink): muxer per suffix.
_FRAGMENTED = {".mp4": "mp4", ".mov": "mov"}


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


def recover_leftover(partial: Path, final: Path) -> Path:
    """Keep an earlier run's leftover partial file as a finished file under a free name.

    ``partial`` (a crash or kill left it; ``final`` is the output it was for)
    becomes ``<stem>-recovered-<n><suffix>`` next to ``final``, the first free
    ``n``.  A fragmented MP4/MOV is remuxed into a faststart file (every
    complete fragment: it plays and seeks) and the partial deleted only once
    the copy is done; other files (Matroska and AVI video, statistics tables)
    are renamed.  Logged at WARNING.

    Returns
    -------
    Path
        Where the recording now is.

    Raises
    ------
    SinkError
        It cannot be recovered (nothing playable in it, or no room); the message
        says what to do, and the partial file is left as it was.
    """
    n = 1
    while True:
        dest = final.with_name(f"{final.stem}-recovered-{n}{final.suffix}")
        if not (dest.exists() or dest.with_name(f"{dest.stem}.partial{dest.suffix}").exists()):
            break
        n += 1
    fmt = _FRAGMENTED.get(final.suffix.lower())
    try:
        if fmt is None:
            os.replace(partial, dest)
        else:
            remux_faststart(partial, dest, fmt)
            partial.unlink()
    except (SinkError, OSError) as exc:
        raise SinkError(
            f"leftover partial file {str(partial)!r} from an earlier run cannot be recovered "
            f"({reason(exc.__cause__ or exc)}); move it away, or pass --overwrite to replace it"
        ) from exc
    logger.warning(
        "an earlier run left %r; recovered it as %r before starting", str(partial), str(dest)
    )
    return dest
