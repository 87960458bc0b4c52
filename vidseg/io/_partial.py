"""Shared output checks and partial-file naming for the sinks (no state, no logging).

Every sink writes to ``<stem>.partial<suffix>`` first and moves the file into
place only when it is complete, and checks its output location in its
constructor, before any work.  These helpers keep the names and the messages
the same across sinks.

>>> from pathlib import Path
>>> partial_path(Path("runs/stats.csv")).as_posix()
'runs/stats.partial.csv'
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, TypeVar

from ..errors import ClosedError, OutputUsageError, SinkError, reason
from .remux import recover_leftover

if TYPE_CHECKING:
    from ..frames import StreamInfo

__all__ = [
    "PartialFileSink",
    "SinkBase",
    "check_output_dir",
    "check_output_file",
    "partial_path",
    "write_atomically",
]

logger = logging.getLogger(__name__)
_S = TypeVar("_S", bound="SinkBase")


class SinkBase:
    """Closed-state bookkeeping and the context-manager protocol shared by the sinks.

    ``with sink:`` closes on success and aborts on an exception.  Subclasses set
    ``_kind`` (for messages), ``_target`` (the output) and ``_closed``.
    """

    _kind: ClassVar[str]
    _target: Path
    _closed: bool

    def __enter__(self: _S) -> _S:
        self._check_not_closed()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @property
    def closed(self) -> bool:
        """``True`` after :meth:`close` or :meth:`abort`."""
        return self._closed

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def reopen(self, info: StreamInfo) -> None:
        """The stream's frame size changed (a live source after a reconnect).

        Sinks whose output does not depend on the frame size go on unchanged;
        the video sink starts a new file.
        """

    def _check_not_closed(self) -> None:
        if self._closed:
            raise ClosedError(f"{self._kind} {str(self._target)!r} is closed")

    def _check_writable(self, is_open: bool) -> None:
        """The checks every ``write()`` starts with: not closed, and opened."""
        self._check_not_closed()
        if not is_open:
            raise SinkError(
                f"{self._kind} {str(self._target)!r} is not open; call open(info) first"
            )


class PartialFileSink(SinkBase):
    """A sink writing one file under its partial name: the shared close and abort.

    Subclasses provide ``path``, ``partial_path``, ``overwrite``,
    ``frames_written`` and ``_finish()``, which finalises the partial file and
    returns whether there is anything to keep (raising :class:`SinkError` when
    finalising fails); ``_commit()`` may replace the final rename.
    """

    path: Path
    partial_path: Path
    frames_written: int
    overwrite: bool

    def _check_can_open(self, is_open: bool) -> None:
        """The checks every ``open()`` starts with: not closed, not open yet.

        A partial file an earlier run left (killed, crashed) is recovered under
        a free name (:func:`~vidseg.io.remux.recover_leftover`), or replaced
        when ``overwrite``; it is never lost silently.
        """
        self._check_not_closed()
        if is_open:
            raise SinkError(f"{self._kind} {str(self.path)!r} is already open")
        if self.partial_path.exists():  # an earlier run was killed: never lose its output
            if self.overwrite:
                logger.warning(
                    "replacing leftover partial file %r (--overwrite)", str(self.partial_path)
                )
            else:
                recover_leftover(self.partial_path, self.path)

    def _log_partial(self, what: str) -> None:
        """Say where the output goes until the run completes (found there after a crash)."""
        logger.info(
            "writing %s to partial file %r until the run completes", what, str(self.partial_path)
        )

    def close(self) -> None:
        """Finalise and move the output into place; a second call does nothing.

        Raises
        ------
        SinkError
            Finalising failed; the partial file is kept and named in the message.
        """
        if self._closed:
            return
        self._closed = True
        if not self._finish():
            return
        name, partial = str(self.path), str(self.partial_path)
        if self.path.exists() and not self.overwrite:
            raise SinkError(
                f"output {name!r} appeared while writing; the result is kept in {partial!r}"
            )
        try:
            self._commit()
        except OSError as exc:
            raise SinkError(
                f"could not move {partial!r} to {name!r} ({reason(exc)}); the "
                f"complete output is kept in {partial!r}"
            ) from exc
        logger.info("wrote %d frames to %r", self.frames_written, name)

    def _commit(self) -> None:
        """Turn the finalised partial file into the output (default: rename it)."""
        os.replace(self.partial_path, self.path)

    def abort(self) -> None:
        """Stop after an interruption or error: keep what was written in the partial file.

        The partial file is finalised and left in place; the final output is not
        created.  Logs at WARNING where it is and how many frames it holds.  Does
        nothing after :meth:`close`.
        """
        if self._closed:
            return
        self._closed = True
        try:
            kept = self._finish()
        except SinkError as exc:
            logger.warning("%s", exc)
            return
        if kept:
            logger.warning(
                "output not completed: %d frames kept in partial file %r",
                self.frames_written,
                str(self.partial_path),
            )

    def _finish(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError


def partial_path(path: Path) -> Path:
    """Return ``<stem>.partial<suffix>`` next to ``path`` (where a sink writes until done)."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def check_output_file(path: Path, *, overwrite: bool, example: str = "out.mp4") -> None:
    """Check that ``path`` can become an output file, before any work is done.

    Parameters
    ----------
    path : Path
        The final output file.
    overwrite : bool
        An existing ``path`` may be replaced.
    example : str
        File name suggested when ``path`` is a directory.

    Raises
    ------
    SinkError
        The directory is missing or not writable.
    OutputUsageError
        ``path`` is a directory, or it exists and ``overwrite`` is false.
    """
    name = str(path)
    _check_parent(path)
    if path.is_dir():
        raise OutputUsageError(
            f"output {name!r} is a directory; give a file name such as {str(path / example)!r}"
        )
    if path.exists() and not overwrite:
        raise OutputUsageError(f"output {name!r} already exists; pass --overwrite to replace it")


def check_output_dir(directory: Path, *, overwrite: bool) -> None:
    """Check that ``directory`` can hold a sink's output files, before any work is done.

    A missing ``directory`` is fine (the sink creates it) as long as its parent
    exists and is writable; an existing one must be a writable directory, and
    empty unless ``overwrite``.

    Raises
    ------
    SinkError
        One of the conditions above does not hold (:class:`OutputUsageError`
        when the path is a file or the directory is not empty).
    """
    name = str(directory)
    if not directory.exists():
        _check_parent(directory)
        return
    if not directory.is_dir():
        raise OutputUsageError(f"output directory {name!r} is a file; give a directory path")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SinkError(f"output directory {name!r} is not writable; choose another one")
    if not overwrite and any(directory.iterdir()):
        raise OutputUsageError(
            f"output directory {name!r} is not empty; pass --overwrite to write into it"
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via its partial name, so no half-written file is visible.

    Raises
    ------
    OSError
        Writing or renaming failed; the partial file is removed.
    """
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _check_parent(path: Path) -> None:
    parent, name = path.parent, str(path)
    if not parent.is_dir():
        raise SinkError(
            f"output directory {str(parent)!r} does not exist; create it or choose another "
            f"output path than {name!r}"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SinkError(
            f"output directory {str(parent)!r} is not writable; choose another output path "
            f"than {name!r}"
        )
