"""A Dask client: a local cluster bound to loopback, or an existing scheduler.

:func:`open_client` is the only place vidseg starts or joins a cluster.  By
default it starts a :class:`distributed.LocalCluster` of worker *processes*, one
thread each, as many as the cores; its scheduler, nannies, workers and every
HTTP endpoint (dashboard, ``/health``) listen on 127.0.0.1 only.  With
``scheduler`` set it connects to that cluster and changes nothing about it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["LOOPBACK", "ClusterConfig", "local_cluster_config", "open_client", "usable_cores"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"

#: Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in each worker before it starts.
#: Measured here (issue 10) it gave one conversion 30x the page faults and 8x the system
#: CPU (PyAV and x264 allocate and free frame-sized buffers all the time), turning a
#: 1.10x batch speed-up into 0.89x.  Only the config key removes it: the environment
#: variable form is overridden by the nanny's own default.
_MALLOC_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """Where batch tasks run.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); None starts a
        local cluster.
    workers : int, optional
        Worker processes of the local cluster (None: one per usable core).
        Ignored with ``scheduler``.
    threads_per_worker : int
        Tasks each local worker runs at once.
    """

    scheduler: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.threads_per_worker < 1:
            raise ConfigError(
                f"threads per worker must be at least 1, got {self.threads_per_worker}"
            )
        if self.scheduler is not None and not self.scheduler.strip():
            raise ConfigError("--scheduler needs an address such as tcp://127.0.0.1:8786")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def local_cluster_config() -> dict[str, object]:
    """The Dask config overrides a local cluster starts under (see ``_MALLOC_TRIM_KEY``)."""
    return {_MALLOC_TRIM_KEY: None}


@contextlib.contextmanager
def open_client(cfg: ClusterConfig) -> Iterator[Client]:
    """A Dask client for ``cfg``: a local loopback cluster, or the scheduler it names.

    The local cluster (and its worker processes) is closed when the block ends;
    a remote cluster is left running.  The dashboard link is logged at INFO.

    Raises
    ------
    VidsegError
        The scheduler cannot be reached (one line naming the address).
    """
    import dask.config
    from distributed import Client, LocalCluster

    if cfg.scheduler is not None:
        if cfg.workers is not None:
            log.warning("--workers is ignored with --scheduler: the cluster has its own workers")
        try:
            client = Client(cfg.scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            from ..errors import VidsegError

            raise VidsegError(
                f"cannot reach the Dask scheduler at {cfg.scheduler} ({exc}); "
                "start one with `dask scheduler` or leave out --scheduler for a local cluster"
            ) from None
        with client:
            log.info(
                "connected to the Dask scheduler %s; dashboard %s",
                cfg.scheduler,
                client.dashboard_link,
            )
            yield client
        return
    workers = cfg.workers or max(1, usable_cores() // cfg.threads_per_worker)
    # The nanny reads the config when it is created and again when it restarts a
    # dead worker, so the override holds for the cluster's whole life.
    with dask.config.set(local_cluster_config()):
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=cfg.threads_per_worker,
                processes=True,
                host=LOOPBACK,
                scheduler_port=0,
                dashboard_address=f"{LOOPBACK}:0",
                # None would still start each worker's HTTP server, on 0.0.0.0.
                worker_dashboard_address=f"{LOOPBACK}:0",
                preload=["vidseg.dist.worker_setup"],  # Ctrl-C is the client's (see there)
            ) as cluster,
            Client(cluster) as client,
        ):
            log.info(
                "local Dask cluster: %d worker processes x %d thread(s); dashboard %s",
                workers,
                cfg.threads_per_worker,
                cluster.dashboard_link,
            )
            yield client
