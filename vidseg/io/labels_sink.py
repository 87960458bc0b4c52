"""Write the label maps of every frame: 8-bit PNGs or chunked ``.npz`` archives.

:class:`LabelsSink` writes ``FrameResult.segmentation.labels`` (cluster id per
pixel) into a directory; every file is written under a temporary name and moved
into place, so no half-written file is ever visible.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import SinkError, reason
from ..frames import FrameResult, StreamInfo
from ._partial import SinkBase, check_output_dir, write_atomically

__all__ = ["LABEL_FORMATS", "LabelsSink"]

logger = logging.getLogger(__name__)

#: Formats :class:`LabelsSink` writes.
LABEL_FORMATS = ("png", "npz")
# Files a LabelsSink writes (final and partial names), removed from the directory on overwrite.
_LABEL_FILE = re.compile(r"(frame_\d+(\.partial)?\.png|labels_\d+(\.partial)?\.npz)")


class LabelsSink(SinkBase):
    """Write every frame's label map (cluster id per pixel) into a directory.

    ``fmt="png"`` writes one lossless 8-bit grayscale PNG per frame,
    ``frame_000123.png`` (pixel value = cluster id, numbered by
    ``stats.frame``).  ``fmt="npz"`` collects ``chunk`` frames and writes them
    with ``np.savez_compressed`` as ``labels_000100.npz`` (numbered by its first
    frame), holding ``labels`` (n, H, W) uint8, ``frame`` (n,) int64 and
    ``time_s`` (n,) float64; a chunk is written when it fills, when the frame
    size changes, and on close (the last, shorter chunk).  A chunk is held in
    memory until it is written: ``chunk * H * W`` bytes.

    Every file is written under its partial name and then renamed, so no
    half-written file is ever visible.  A crash loses the frame in flight (png)
    or the unsaved part of the current chunk (npz); ``abort()`` still saves
    that part, keeps every file and logs at WARNING where they are.  Same
    lifecycle and errors as :class:`StatsCsvSink`.

    Parameters
    ----------
    directory : str or Path
        Output directory; created by :meth:`open` if missing (its parent must exist).
    fmt : {"png", "npz"}
        File format.
    chunk : int
        Frames per ``.npz`` file.
    overwrite : bool
        Write into a non-empty directory; the label files of an earlier run
        (``frame_*.png``, ``labels_*.npz``) are deleted on :meth:`open`, other
        files are left alone.

    Raises
    ------
    SinkError
        Unknown ``fmt``, ``chunk`` < 1, missing or unwritable parent directory,
        ``directory`` is a file, or it is not empty and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from vidseg import Segmenter
    >>> from vidseg.frames import Frame, FrameResult, StreamInfo
    >>> from vidseg.stats import ClusterStats
    >>> image = np.zeros((4, 6, 3), np.uint8); image[:, 3:] = (0, 0, 255)
    >>> seg = Segmenter(n_clusters=2, seed=0).segment(image)
    >>> stats = ClusterStats.from_segmentation(seg, frame_index=0, time_s=0.0)
    >>> frame = Frame(image=image, index=0, time_s=0.0)
    >>> result = FrameResult(frame=frame, segmentation=seg, view=seg.recolor(), stats=stats)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with LabelsSink(f"{tmp.name}/labels", fmt="npz") as sink:
    ...     sink.open(StreamInfo(width=6, height=4, fps=25.0))
    ...     sink.write(result)
    >>> with np.load(f"{tmp.name}/labels/labels_000000.npz") as z:
    ...     bool((z["labels"][0] == seg.labels).all()), z["frame"].tolist()
    (True, [0])
    >>> tmp.cleanup()
    """

    _kind = "labels sink"

    def __init__(
        self,
        directory: str | Path,
        *,
        fmt: str = "png",
        chunk: int = 100,
        overwrite: bool = False,
    ) -> None:
        self.directory = Path(directory)
        name = str(self.directory)
        if fmt not in LABEL_FORMATS:
            raise SinkError(
                f"unknown label format {fmt!r} for {name!r}; use one of {', '.join(LABEL_FORMATS)}"
            )
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise SinkError(
                f"chunk must be a whole number of frames >= 1 for {name!r}; got {chunk!r}"
            )
        check_output_dir(self.directory, overwrite=overwrite)
        self.fmt, self.chunk, self.overwrite = fmt, chunk, overwrite
        #: Frames stored in files on disk (npz: in saved chunks).
        self.frames_written = 0
        self.files_written = 0
        self._target = self.directory
        self._opened = False
        self._closed = False
        self._created = False
        self._stack = np.empty((0, 0, 0), np.uint8)  # (chunk, H, W), allocated on first frame
        self._frames = np.empty(chunk, np.int64)
        self._times = np.empty(chunk, np.float64)
        self._pending = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._opened else "new"
        return f"<LabelsSink {str(self.directory)!r} {self.fmt} {state}>"

    def open(self, info: StreamInfo) -> None:
        """Create the directory (or clear an earlier run's label files when overwriting).

        Raises
        ------
        ClosedError
            The sink is closed.
        SinkError
            Already open, or the directory cannot be created or cleared.
        """
        self._check_not_closed()
        name = str(self.directory)
        if self._opened:
            raise SinkError(f"labels sink {name!r} is already open")
        try:
            if self.directory.is_dir():
                stale = [p for p in self.directory.iterdir() if _LABEL_FILE.fullmatch(p.name)]
                for p in stale:
                    p.unlink()
                if stale:
                    logger.info(
                        "removed %d label files of an earlier run from %r", len(stale), name
                    )
            else:
                self.directory.mkdir()
                self._created = True
        except OSError as exc:
            raise SinkError(f"cannot prepare output directory {name!r}: {reason(exc)}") from None
        self._opened = True
        logger.info("writing %s label maps to %r", self.fmt, name)

    def write(self, result: FrameResult) -> None:
        """Store ``result.segmentation.labels`` for frame ``result.stats.frame``.

        Raises
        ------
        ClosedError
            The sink is closed.
        SinkError
            Not opened, labels are not an (H, W) uint8 array, or writing failed.
        """
        self._check_writable(self._opened)
        name = str(self.directory)
        labels = result.segmentation.labels
        if labels.ndim != 2 or labels.dtype != np.uint8:
            raise SinkError(
                f"labels sink {name!r} needs (H, W) uint8 label maps, got "
                f"{labels.dtype} array of shape {labels.shape}"
            )
        index, time_s = result.stats.frame, result.stats.time_s
        try:
            if self.fmt == "png":
                self._write_png(labels, index)
            else:
                self._buffer(labels, index, time_s)
        except OSError as exc:
            raise SinkError(f"writing frame {index} to {name!r} failed: {reason(exc)}") from exc

    def close(self) -> None:
        """Save the last chunk (npz); a second call does nothing.

        Raises
        ------
        SinkError
            Saving the last chunk failed; the files already written are kept.
        """
        if not self._finishing():
            return
        name = str(self.directory)
        try:
            self._save_chunk()
        except OSError as exc:
            raise SinkError(
                f"saving the last {self._pending} frames to {name!r} failed "
                f"({reason(exc)}); the {self.frames_written} frames written "
                f"before are kept"
            ) from exc
        if not self.frames_written:
            if self._created:
                with contextlib.suppress(OSError):
                    self.directory.rmdir()
            logger.warning("no frames were written to %r", name)
            return
        logger.info(
            "wrote %d label maps in %d files to %r", self.frames_written, self.files_written, name
        )

    def abort(self) -> None:
        """Stop after an interruption or error: save the pending frames and keep every file.

        Logs at WARNING where the files are and how many frames they hold.  Does
        nothing after :meth:`close`.
        """
        if not self._finishing():
            return
        name = str(self.directory)
        try:
            self._save_chunk()
        except OSError as exc:
            logger.warning(
                "could not save the last %d frames to %r: %s", self._pending, name, reason(exc)
            )
        logger.warning(
            "output not completed: %d frames kept in %d files in %r",
            self.frames_written,
            self.files_written,
            name,
        )

    # -- internals -------------------------------------------------------------

    def _finishing(self) -> bool:
        """Mark the sink closed; True the first time, when there is anything to finish."""
        if self._closed:
            return False
        self._closed = True
        return self._opened

    def _write_png(self, labels: np.ndarray, index: int) -> None:
        ok, data = cv2.imencode(".png", labels)
        if not ok:
            raise SinkError(
                f"OpenCV could not encode frame {index} as PNG for {str(self.directory)!r}"
            )
        write_atomically(self.directory / f"frame_{index:06d}.png", data.tobytes())
        self.frames_written += 1
        self.files_written += 1

    def _buffer(self, labels: np.ndarray, index: int, time_s: float) -> None:
        if self._stack.shape[1:] != labels.shape:
            if self._pending:
                logger.warning(
                    "label map size changed from %dx%d to %dx%d; starting a new chunk",
                    *self._stack.shape[:0:-1],
                    *labels.shape[::-1],
                )
                self._save_chunk()
            self._stack = np.empty((self.chunk, *labels.shape), np.uint8)
        n = self._pending
        self._stack[n] = labels
        self._frames[n], self._times[n] = index, time_s
        self._pending = n + 1
        if self._pending == self.chunk:
            self._save_chunk()

    def _save_chunk(self) -> None:
        n = self._pending
        if not n:
            return
        buf = io.BytesIO()
        np.savez_compressed(
            buf, labels=self._stack[:n], frame=self._frames[:n], time_s=self._times[:n]
        )
        write_atomically(self.directory / f"labels_{self._frames[0]:06d}.npz", buf.getvalue())
        self._pending = 0
        self.frames_written += n
        self.files_written += 1
