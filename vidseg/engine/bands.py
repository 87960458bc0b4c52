"""Helper threads that run row bands of the labelling pass alongside the caller.

The numba kernels release the GIL, so a frame's pixels split into bands run on
as many cores as there are bands.  :class:`BandWorkers` owns the helper threads
(started on first use, joined by :meth:`BandWorkers.close`); the caller's thread
always runs the first band itself, so ``n_threads = 2`` costs one extra thread.
Why bands of one frame give exactly the single-call labels is argued in
:func:`vidseg.engine.kernels.assign_band`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

__all__ = ["BandWorkers", "band_bounds"]

Task = Callable[[], None]


def band_bounds(height: int, width: int, n: int) -> list[tuple[int, int]]:
    """Pixel ranges ``[start, stop)`` of ``n`` row bands of equal height (row-major).

    >>> band_bounds(5, 10, 2)
    [(0, 20), (20, 50)]
    """
    rows = [height * i // n for i in range(n + 1)]
    return [(rows[i] * width, rows[i + 1] * width) for i in range(n)]


class BandWorkers:
    """``n_threads - 1`` helper threads; :meth:`run` spreads tasks over them and the caller.

    Parameters
    ----------
    n_threads : int
        Threads working on a frame, the caller's included (>= 2).

    Examples
    --------
    >>> out = [0, 0]
    >>> with BandWorkers(2) as workers:
    ...     workers.run([lambda: out.__setitem__(0, 1), lambda: out.__setitem__(1, 2)])
    >>> out
    [1, 2]
    """

    def __init__(self, n_threads: int) -> None:
        if n_threads < 2:
            raise ValueError(f"BandWorkers needs n_threads >= 2; got {n_threads}")
        self.n_threads = n_threads
        self._inboxes: list[queue.SimpleQueue[Task | None]] = []
        self._done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> BandWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> int:
        """Helper threads currently running."""
        return sum(t.is_alive() for t in self._threads)

    def run(self, tasks: Sequence[Task]) -> None:
        """Run ``tasks[0]`` in the caller's thread and the rest in the helpers; wait for all.

        At most ``n_threads`` tasks.  The first exception raised by any task is
        re-raised here, after every task has finished.
        """
        if len(tasks) > self.n_threads:
            raise ValueError(f"{len(tasks)} tasks for {self.n_threads} threads")
        self._start()
        for inbox, task in zip(self._inboxes, tasks[1:], strict=False):
            inbox.put(task)
        error: BaseException | None = None
        try:
            tasks[0]()
        except BaseException as exc:
            error = exc
        for _ in tasks[1:]:
            failed = self._done.get()
            error = error or failed
        if error is not None:
            raise error

    def close(self) -> None:
        """Stop and join the helper threads; idempotent.  A closed pool restarts on ``run``."""
        with self._lock:
            threads, inboxes = self._threads, self._inboxes
            self._threads, self._inboxes = [], []
        for inbox in inboxes:
            inbox.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._threads:
                return
            for i in range(self.n_threads - 1):
                inbox: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=_serve,
                    args=(inbox, self._done),
                    name=f"vidseg-band-{i + 1}",
                    daemon=True,
                )
                thread.start()
                self._inboxes.append(inbox)
                self._threads.append(thread)


def _serve(
    inbox: queue.SimpleQueue[Task | None], done: queue.SimpleQueue[BaseException | None]
) -> None:
    # A module-level function: the thread holds no reference to its owner, so an
    # owner dropped without close() can still be collected (and close() its pool).
    while True:
        task = inbox.get()
        if task is None:
            return
        try:
            task()
        except BaseException as exc:  # handed to the caller of run()
            done.put(exc)
        else:
            done.put(None)
