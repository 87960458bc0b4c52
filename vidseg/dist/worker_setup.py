"""Preloaded by each worker of vidseg's local cluster (Dask's ``preload`` hook).

Ctrl-C in a terminal sends SIGINT to the whole process group, worker processes
included: Dask's workers would die of it mid-task (and the nanny restart them
and the scheduler re-run their tasks) instead of stopping the way the batch
asks them to.  The client alone handles Ctrl-C (it sets the batch's stop
event), so the local workers ignore SIGINT.  A worker of an existing cluster
(``--scheduler``) is not touched.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    """Ignore SIGINT in this worker process (called once, at worker start)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
