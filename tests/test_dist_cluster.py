"""The Dask cluster vidseg starts: real worker processes, loopback sockets only."""

from __future__ import annotations

import os

import psutil
import pytest

from vidseg.config import Config
from vidseg.dist.cluster import ClusterConfig, open_client
from vidseg.dist.threads import budget_config, limit_process_threads
from vidseg.errors import ConfigError


def _listening(pids: list[int]) -> set[tuple[str, int]]:
    found = set()
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def _worker_env(key: str) -> str | None:
    return os.environ.get(key)


def test_local_cluster_listens_on_loopback_only_and_drops_malloc_trim() -> None:
    with open_client(ClusterConfig(workers=2)) as client:
        info = client.scheduler_info()
        assert len(info["workers"]) == 2
        assert all(w["nthreads"] == 1 for w in info["workers"].values())
        pids = [os.getpid(), *client.run(os.getpid).values()]
        pids += [c.pid for c in psutil.Process().children(recursive=True)]
        sockets = _listening(sorted(set(pids)))
        env = client.run(_worker_env, "MALLOC_TRIM_THRESHOLD_")
    # scheduler, its HTTP server, 2 nannies, 2 workers and their HTTP servers
    assert len(sockets) >= 7, sockets
    assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets
    assert set(env.values()) == {None}


def test_cluster_config_is_checked_at_the_edge() -> None:
    with pytest.raises(ConfigError, match="--workers"):
        ClusterConfig(workers=0)


def test_budget_holds_every_library() -> None:
    import cv2
    from threadpoolctl import threadpool_info

    cfg = budget_config(Config().with_overrides({"label_threads": 4, "threads": 2}), 2)
    assert (cfg.engine.threads, cfg.engine.label_threads) == (2, 2)
    assert (cfg.run.decoder_threads, cfg.output.encoder_threads) == (2, 2)
    before = cv2.getNumThreads()
    with limit_process_threads(1):
        assert cv2.getNumThreads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert cv2.getNumThreads() == before
