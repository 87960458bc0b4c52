"""Joining chunk outputs into one video and one statistics file, by stream copy.

:func:`join_videos` copies every chunk's video packets, in order, into one
container (PyAV remux, nothing re-encoded), each chunk's timestamps offset so
that its first frame lands at the time the plan gives it, and copies the input's
audio track whole beside them; the two streams are interleaved by time.
:func:`join_stats` concatenates the chunks' statistics tables and checks that
every frame is there exactly once, in order.  Both write to the output's partial
name and rename it when complete, so an interrupted join leaves nothing
half-written under the real name.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import SinkError, reason
from ..io._partial import partial_path
from ..io.audio import AudioPassThrough
from ..io.codecs import CONTAINERS
from ..io.encoders import supported_codecs

__all__ = ["join_stats", "join_videos", "match_ids"]

log = logging.getLogger(__name__)


def join_videos(
    parts: Sequence[Path],
    output: Path,
    *,
    first_pts: Sequence[int],
    time_base: Fraction,
    audio_from: Path | None = None,
) -> int:
    """Stream-copy the video of ``parts`` into ``output``; return the frames written.

    Parameters
    ----------
    parts : sequence of Path
        Chunk videos, in time order, each starting with a keyframe.
    output : Path
        The joined file (its suffix picks the container).
    first_pts : sequence of int
        Where each part's first frame goes, in ``time_base`` units.
    time_base : Fraction
        Unit of ``first_pts``.
    audio_from : Path, optional
        A file whose first audio stream is copied whole (the input).

    Raises
    ------
    SinkError
        A part cannot be read, parts were encoded differently, or the output
        cannot be written (the partial file is removed).
    """
    import av
    import av.error

    fmt = CONTAINERS[output.suffix.lower()]
    options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    frames = 0
    failures = (av.error.FFmpegError, OSError)
    with _published(output, "joining the chunks", failures) as tmp:
        with av.open(str(tmp), "w", format=fmt, container_options=options) as out:
            with av.open(str(parts[0])) as first:
                template = first.streams.video[0]
                video = out.add_stream_from_template(template, opaque=True)
                extradata = template.codec_context.extradata
            audio, inp = None, None
            if audio_from is not None:
                inp = av.open(str(audio_from))
                if inp.streams.audio:
                    supported = supported_codecs(fmt)
                    audio = AudioPassThrough(
                        out, inp.streams.audio[0], supported, output.suffix.lower()
                    )
            try:
                streams = [_video_packets(parts, first_pts, time_base, extradata)]
                if audio is not None and inp is not None:
                    streams.append(_audio_packets(inp, inp.streams.audio[0]))
                for _, kind, packet in heapq.merge(*streams, key=lambda item: item[0]):
                    if kind == "v":
                        packet.stream = video
                        out.mux(packet)
                        frames += 1
                    else:
                        assert audio is not None
                        audio.write(packet)
                if audio is not None:
                    audio.flush()
            finally:
                if inp is not None:
                    inp.close()
    return frames


@contextlib.contextmanager
def _published(
    output: Path, what: str, failures: tuple[type[BaseException], ...]
) -> Iterator[Path]:
    """``output``'s partial path: renamed into place on success, removed on any failure.

    A failure of the kinds in ``failures`` (other than a :class:`SinkError`,
    which already says what went wrong) becomes one :class:`SinkError` naming
    ``what`` and the output.
    """
    tmp = partial_path(output)
    try:
        yield tmp
        os.replace(tmp, output)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, failures) and not isinstance(exc, SinkError):
            raise SinkError(f"{what} into {str(output)!r} failed: {reason(exc)}") from exc
        raise


def _video_packets(
    parts: Sequence[Path], first_pts: Sequence[int], time_base: Fraction, extradata: bytes | None
) -> Iterator[tuple[float, str, Any]]:
    """Every part's video packets, timestamps offset to the plan, as (seconds, "v", packet)."""
    import av

    for part, start in zip(parts, first_pts, strict=True):
        with av.open(str(part)) as container:
            stream = container.streams.video[0]
            if stream.codec_context.extradata != extradata:
                raise SinkError(
                    f"chunk {str(part)!r} was encoded with other settings than the first "
                    "(codec headers differ), so the chunks cannot be joined by stream copy; "
                    "use the same vidseg version and encoder on every worker"
                )
            tb = stream.time_base
            offset: int | None = None
            for packet in container.demux(stream):
                if packet.dts is None and packet.pts is None:
                    continue  # the demuxer's end-of-stream marker
                if offset is None:
                    # The part's first packet is its first frame: it goes to ``start``.
                    offset = round(start * time_base / tb) - (packet.pts or 0)
                if packet.pts is not None:
                    packet.pts += offset
                if packet.dts is not None:
                    packet.dts += offset
                when = float((packet.dts if packet.dts is not None else packet.pts) * tb)
                yield when, "v", packet


def _audio_packets(container: Any, stream: Any) -> Iterator[tuple[float, str, Any]]:
    """The input's audio packets as (seconds, "a", packet), in file order."""
    tb = stream.time_base
    for packet in container.demux(stream):
        if packet.dts is None or not packet.size:
            continue
        yield float(packet.dts * tb), "a", packet


def match_ids(previous: Sequence[Sequence[float]], current: Sequence[Sequence[float]]) -> list[int]:
    """Output id for each of a chunk's cluster ids: its colour matched to the previous chunk's.

    ``previous`` holds the colours (BGR) of the previous chunk's last frame by
    output id, ``current`` those of this chunk's first frame by its own id; the
    pairing minimises the summed squared colour distance (Hungarian).

    >>> match_ids([[0, 0, 0], [255, 255, 255]], [[250, 250, 250], [5, 5, 5]])
    [1, 0]
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    prev = np.asarray(previous, np.float64)
    cur = np.asarray(current, np.float64)
    cost = ((cur[:, None, :] - prev[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    ids = [0] * len(cur)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        ids[r] = c
    return ids


def join_stats(
    parts: Sequence[Path],
    output: Path,
    *,
    frames: int,
    ids: Sequence[tuple[int, Sequence[int]]] = (),
) -> None:
    """Concatenate the chunks' statistics (.csv or .ndjson) into ``output``.

    ``ids`` renumbers clusters so an id means the same colour across the
    chunks: ``(first, new)`` pairs, by increasing ``first``; from frame
    ``first`` on, id ``j`` becomes ``new[j]`` (before the first pair, ids are
    kept).  Checks that frames ``0 .. frames - 1`` each appear exactly once, in
    order.

    Raises
    ------
    SinkError
        A frame is missing or repeated, or a file cannot be read or written
        (the partial file is removed).
    """
    csv = output.suffix.lower() == ".csv"
    expected = 0
    with _published(output, "joining statistics", (OSError,)) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            for n, part in enumerate(parts):
                with open(part, encoding="utf-8", newline="") as f:
                    if csv:
                        header = f.readline()
                        if n == 0:
                            out.write(header)
                    for frame, lines in _frames(f, csv):
                        if frame != expected:
                            raise SinkError(
                                f"statistics of chunk {str(part)!r} have frame {frame} where "
                                f"frame {expected} belongs; nothing was written"
                            )
                        expected += 1
                        renumber = [new for first, new in ids if first <= frame]
                        if renumber:
                            lines = _renumber(lines, renumber[-1], csv)
                        out.writelines(lines)
        if expected != frames:
            raise SinkError(
                f"the chunks' statistics hold {expected} frames, the video {frames}; "
                "nothing was written"
            )


def _frames(lines: Iterator[str], csv: bool) -> Iterator[tuple[int, list[str]]]:
    """A statistics file's records grouped by frame: (frame, its lines)."""
    current: int | None = None
    group: list[str] = []
    for line in lines:
        frame = int(line.split(",", 1)[0]) if csv else int(json.loads(line)["frame"])
        if frame != current and group:
            assert current is not None
            yield current, group
            group = []
        current = frame
        group.append(line)
    if group:
        assert current is not None
        yield current, group


def _renumber(lines: list[str], ids: Sequence[int], csv: bool) -> list[str]:
    """One frame's records with cluster ``j`` renamed ``ids[j]``, in the new id order."""
    if csv:
        rows = [line.split(",") for line in lines]
        for row in rows:
            row[2] = str(ids[int(row[2])])  # frame, time_s, cluster, ...
        return [",".join(row) for row in sorted(rows, key=lambda row: int(row[2]))]
    out = []
    for line in lines:
        record = json.loads(line)
        for cluster in record["clusters"]:
            cluster["cluster"] = ids[cluster["cluster"]]
        record["clusters"].sort(key=lambda c: c["cluster"])
        out.append(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
    return out
