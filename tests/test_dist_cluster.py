"""Cluster settings and thread budgets (the real local cluster is tested in test_batch.py)."""

from __future__ import annotations

import pytest

from vidseg.config import Config
from vidseg.dist.cluster import ClusterConfig
from vidseg.dist.threads import budget_config, limit_process_threads
from vidseg.errors import ConfigError


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


def test_the_decoder_takes_its_thread_budget() -> None:
    from tests.media import TRAFFIC, media
    from vidseg.io.sources import open_source

    with open_source(str(media(TRAFFIC)), decoder_threads=1) as source:
        assert source._video.codec_context.thread_count == 1  # type: ignore[attr-defined]
