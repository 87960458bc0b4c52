"""Write per-frame statistics so that a crash loses at most one frame.

:class:`StatsCsvSink` writes the tidy per-cluster table of ``FrameResult.stats``
(one row per frame x cluster), :class:`StatsNdjsonSink` one JSON object per
frame (label maps: :mod:`vidseg.io.labels_sink`).  Neither computes anything:
they only write what the pipeline hands them.

Like :class:`~vidseg.io.video_sink.VideoFileSink`, the stats sinks write to
``<stem>.partial<suffix>``, flushed after every frame, and only a successful
``close()`` renames that into the final path; ``abort()`` keeps the partial
file.  :func:`stats_sink` picks the stats sink by file suffix.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any, ClassVar, TextIO

import numpy as np

from ..errors import SinkError, reason
from ..frames import FrameResult, StreamInfo
from ..stats import ROW_FIELDS, ClusterStats
from ._partial import (
    PartialFileSink,
    check_output_file,
    partial_path,
)

__all__ = [
    "STATS_SUFFIXES",
    "StatsCsvSink",
    "StatsNdjsonSink",
    "stats_sink",
]

logger = logging.getLogger(__name__)

#: Stats file suffix -> format, as chosen by :func:`stats_sink`.
STATS_SUFFIXES = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


class _StatsFileSink(PartialFileSink):
    """Lifecycle of a text file with one flushed record per frame, renamed on close."""

    _example: ClassVar[str]

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.frames_written = 0
        check_output_file(self.path, overwrite=overwrite, example=self._example)
        self.partial_path = partial_path(self.path)
        self._target = self.path
        self._file: TextIO | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._file is not None else "new"
        return f"<{type(self).__name__} {str(self.path)!r} {state}>"

    def open(self, info: StreamInfo) -> None:
        """Create the partial file (and write the header, if the format has one).

        Raises
        ------
        ClosedError
            The sink is closed.
        SinkError
            Already open, or the partial file cannot be created.
        """
        self._check_can_open(self._file is not None)
        try:
            file = open(self.partial_path, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise SinkError(f"cannot create {str(self.partial_path)!r}: {reason(exc)}") from None
        try:
            file.write(self._header())
            file.flush()
        except OSError as exc:
            with contextlib.suppress(OSError):
                file.close()
            raise SinkError(f"cannot write {str(self.partial_path)!r}: {reason(exc)}") from None
        self._file = file
        self._log_partial(self._kind)

    def write(self, result: FrameResult) -> None:
        """Append ``result.stats`` and flush it to disk.

        Raises
        ------
        ClosedError
            The sink is closed.
        SinkError
            Not opened, or writing failed.
        """
        self._check_writable(self._file is not None)
        stats = result.stats
        text = self._record(stats)  # formatted first: a frame goes out in one write
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            raise SinkError(
                f"writing frame {stats.frame} to {str(self.partial_path)!r} failed: {reason(exc)}"
            ) from exc
        self.frames_written += 1

    def _finish(self) -> bool:
        """Close the partial file; ``False`` if there is nothing to keep."""
        file, self._file = self._file, None
        if file is None:
            return False
        if not self.frames_written:
            with contextlib.suppress(OSError):
                file.close()
            self.partial_path.unlink(missing_ok=True)
            logger.warning("no frames were written; %r not created", str(self.path))
            return False
        try:
            file.close()
        except OSError as exc:
            raise SinkError(
                f"finalising {str(self.partial_path)!r} failed: {reason(exc)}; "
                f"the frames written so far are in it"
            ) from exc
        return True

    def _header(self) -> str:
        return ""

    def _record(self, stats: ClusterStats) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class StatsCsvSink(_StatsFileSink):
    """Write the tidy per-cluster table: one CSV row per frame x cluster.

    The header (:data:`~vidseg.stats.ROW_FIELDS`) is written once, on
    :meth:`open`; each frame's rows go out in one write and are flushed at once,
    so a crash loses at most the frame in flight.  Empty clusters have no
    centroid: their ``cx``/``cy`` cells are empty, which pandas reads as NaN.

    Lifecycle: ``open(info)`` → ``write(result)`` per frame → ``close()`` on
    success or ``abort()`` after an error; as a context manager, leaving the
    block normally closes and leaving it by an exception aborts.  Rows go to
    ``<stem>.partial<suffix>``; ``close()`` renames it to ``path`` and
    ``abort()`` keeps it.  If no frame was written, no file is left.

    Parameters
    ----------
    path : str or Path
        Output file.
    overwrite : bool
        Replace an existing output file.

    Raises
    ------
    SinkError
        Missing or unwritable directory, ``path`` is a directory, or it exists
        and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from vidseg import Segmenter
    >>> from vidseg.frames import Frame, FrameResult, StreamInfo
    >>> from vidseg.stats import ClusterStats
    >>> image = np.zeros((4, 6, 3), np.uint8); image[:, 3:] = (0, 0, 255)
    >>> seg = Segmenter(n_clusters=2, seed=0).segment(image)
    >>> stats = ClusterStats.from_segmentation(seg, frame_index=0, time_s=0.0)
    >>> frame = Frame(image=image, index=0, time_s=0.0)
    >>> result = FrameResult(frame=frame, segmentation=seg, view=seg.recolor(), stats=stats)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with StatsCsvSink(f"{tmp.name}/stats.csv") as sink:
    ...     sink.open(StreamInfo(width=6, height=4, fps=25.0))
    ...     sink.write(result)
    >>> len(Path(tmp.name, "stats.csv").read_text().splitlines())  # header + 2 clusters
    3
    >>> tmp.cleanup()
    """

    _kind = "stats CSV sink"
    _example = "stats.csv"

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        super().__init__(path, overwrite=overwrite)
        self._buffer = io.StringIO()
        self._writer = csv.DictWriter(self._buffer, fieldnames=ROW_FIELDS, lineterminator="\n")

    def _header(self) -> str:
        self._writer.writeheader()
        return self._take()

    def _record(self, stats: ClusterStats) -> str:
        self._writer.writerows(stats.rows())  # None (NaN centroid) becomes an empty cell
        return self._take()

    def _take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


class StatsNdjsonSink(_StatsFileSink):
    """Write one JSON object per frame (``ClusterStats.to_dict()``), one per line.

    Each line is flushed at once, so a crash loses at most the frame in flight.
    Non-finite numbers are written as ``null`` (strict JSON).  Same lifecycle,
    partial file and errors as :class:`StatsCsvSink`.

    Parameters
    ----------
    path : str or Path
        Output file (``.ndjson`` or ``.jsonl`` by convention).
    overwrite : bool
        Replace an existing output file.

    Raises
    ------
    SinkError
        Missing or unwritable directory, ``path`` is a directory, or it exists
        and ``overwrite`` is false.

    Examples
    --------
    >>> import json, tempfile, numpy as np
    >>> from pathlib import Path
    >>> from vidseg import Segmenter
    >>> from vidseg.frames import Frame, FrameResult, StreamInfo
    >>> from vidseg.stats import ClusterStats
    >>> image = np.zeros((4, 6, 3), np.uint8); image[:, 3:] = (0, 0, 255)
    >>> seg = Segmenter(n_clusters=2, seed=0).segment(image)
    >>> stats = ClusterStats.from_segmentation(seg, frame_index=0, time_s=0.0)
    >>> frame = Frame(image=image, index=0, time_s=0.0)
    >>> result = FrameResult(frame=frame, segmentation=seg, view=seg.recolor(), stats=stats)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with StatsNdjsonSink(f"{tmp.name}/stats.ndjson") as sink:
    ...     sink.open(StreamInfo(width=6, height=4, fps=25.0))
    ...     sink.write(result)
    >>> record = json.loads(Path(tmp.name, "stats.ndjson").read_text())
    >>> record["frame"], len(record["clusters"])
    (0, 2)
    >>> tmp.cleanup()
    """

    _kind = "stats NDJSON sink"
    _example = "stats.ndjson"

    def _record(self, stats: ClusterStats) -> str:
        obj = _jsonable(stats.to_dict())
        return json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n"


def stats_sink(path: str | Path, *, overwrite: bool = False) -> StatsCsvSink | StatsNdjsonSink:
    """Return the stats sink for ``path``'s suffix: ``.csv``, or ``.ndjson``/``.jsonl``.

    Raises
    ------
    SinkError
        Unsupported suffix (the message lists the supported ones), or any
        check of the chosen sink's constructor failed.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> type(stats_sink(f"{tmp.name}/stats.jsonl")).__name__
    'StatsNdjsonSink'
    >>> tmp.cleanup()
    """
    suffix = Path(path).suffix
    fmt = STATS_SUFFIXES.get(suffix.lower())
    if fmt is None:
        raise SinkError(
            f"unsupported stats file suffix {suffix!r} for {str(path)!r}; use one "
            f"of {', '.join(STATS_SUFFIXES)}"
        )
    if fmt == "csv":
        return StatsCsvSink(path, overwrite=overwrite)
    return StatsNdjsonSink(path, overwrite=overwrite)


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars made Python and non-finite floats made ``None``."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
