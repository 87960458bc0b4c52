"""Per-task thread budgets: every library a conversion uses held to the task's share.

One conversion keeps 1.6-1.7 cores busy on its own (about 15 threads: FFmpeg's
decoder, the fit's BLAS/OpenMP, numba, OpenCV, x264's frame threads).  Two such
tasks on two cores fight over them; held to one core each they ran 1.21x
sequential where unheld they ran 1.10x (issue 10).  A budget has two halves:

* :func:`budget_config` - the per-run thread settings of the vidseg config
  (``engine.threads``, ``engine.label_threads``, ``run.decoder_threads``,
  ``output.encoder_threads``), so the run itself creates no more threads;
* :func:`limit_process_threads` - the process-wide pools of the libraries
  (threadpoolctl for BLAS/OpenMP, numba, OpenCV), restored afterwards.

>>> from vidseg.config import Config
>>> cfg = budget_config(Config(), 1)
>>> cfg.engine.threads, cfg.engine.label_threads, cfg.run.decoder_threads, cfg.output.encoder_threads
(1, 1, 1, 1)
>>> budget_for_host({"a": 4}, {"a": 2}, "a"), budget_for_host({}, {}, "b")
(2, 1)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from ..config import Config

__all__ = ["budget_config", "budget_for_host", "limit_process_threads"]


def _capped(current: int, budget: int) -> int:
    """``current`` (0: the library's own choice) held to at most ``budget``."""
    return budget if current == 0 else min(current, budget)


def budget_config(cfg: Config, threads: int) -> Config:
    """``cfg`` with each per-run thread setting held to ``threads`` (at least 1).

    Settings below the budget stay as they are; ``0`` (the library's own choice,
    usually one thread per core or more) becomes the budget.
    """
    n = max(1, threads)
    return cfg.with_overrides(
        {
            "threads": min(cfg.engine.threads, n),
            "label_threads": min(cfg.engine.label_threads, n),
            "decoder_threads": _capped(cfg.run.decoder_threads, n),
            "encoder_threads": _capped(cfg.output.encoder_threads, n),
        }
    )


def budget_for_host(cores: Mapping[str, int], slots: Mapping[str, int], host: str) -> int:
    """Threads per task on ``host``: its cores over the tasks its workers run at once.

    ``cores`` and ``slots`` map a host to its usable cores and to the sum of its
    workers' threads (tasks at once); a host missing from either gets 1.
    """
    if host not in cores or not slots.get(host):
        return 1
    return max(1, cores[host] // slots[host])


@contextlib.contextmanager
def limit_process_threads(threads: int) -> Iterator[None]:
    """Hold BLAS/OpenMP (threadpoolctl), numba and OpenCV to ``threads`` in this block.

    These pools belong to the process, so a worker that runs one task at a time
    (vidseg's local cluster) gives each task its whole budget; the previous
    settings come back when the block ends.
    """
    import cv2
    import numba
    from threadpoolctl import threadpool_limits

    n = max(1, threads)
    cv2_before = cv2.getNumThreads()
    # numba refuses more threads than it started with (NUMBA_NUM_THREADS); vidseg's
    # kernels are serial anyway (its labelling bands are engine.label_threads).
    numba_before = numba.get_num_threads()
    cv2.setNumThreads(n)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        cv2.setNumThreads(cv2_before)
        numba.set_num_threads(numba_before)
