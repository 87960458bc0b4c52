"""The sink contract: what :func:`vidseg.pipeline.run` writes to, and how a run ends it.

A sink is opened with the stream's :class:`~vidseg.frames.StreamInfo`, given
every :class:`~vidseg.frames.FrameResult` in order, and then either closed
(the run succeeded: outputs under their final names) or aborted (the run
failed or was stopped: partial outputs kept and named, nothing half-written
under a final name).  :func:`finish_sinks` is that last step for a run's
sinks.  The sinks themselves live in :mod:`vidseg.io` and :mod:`vidseg.web`.

``vidseg.pipeline`` re-exports :class:`Sink`, where callers import it from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from .frames import FrameResult, StreamInfo

__all__ = ["Sink", "finish_sinks"]

log = logging.getLogger(__name__)


class Sink(Protocol):
    """What :func:`~vidseg.pipeline.run` writes to (video files, stats tables, windows, servers).

    Optional methods, called when a sink has them:

    ``reopen(info)``  between two frames when a live source's frame size
                      changed (``info`` has the new size); sinks without it go on;
    ``idle()``        in the writer thread about every 20 ms while no frame
                      arrives (paused, a slow source), e.g. for a window's keys.
    """

    def open(self, info: StreamInfo) -> None: ...

    def write(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def finish_sinks(sinks: Sequence[Sink], ok: bool) -> None:
    """Close every sink on success, abort them otherwise; the first close error wins.

    Every sink is finished even when one fails (each failure is logged at
    ERROR); on success the first error is then raised, after an abort none is.

    >>> class Noisy:
    ...     def close(self) -> None: print("closed")
    ...     def abort(self) -> None: print("aborted")
    >>> finish_sinks([Noisy(), Noisy()], ok=False)
    aborted
    aborted
    """
    error: BaseException | None = None
    for sink in sinks:
        try:
            if ok:
                sink.close()
            else:
                sink.abort()
        except BaseException as exc:
            log.error("finishing %r failed: %s", sink, exc)
            error = error or exc
    if error is not None and ok:
        raise error
