"""``/metrics``: the run in Prometheus' text format, for a surveillance setup to scrape.

A collector reads the hub at scrape time (nothing is updated per frame), in its
own :class:`~prometheus_client.CollectorRegistry` per server: never the
library's global default registry, so two servers in one process (tests, a
notebook) do not mix.  ``prometheus_client`` writes the exposition format.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .hub import STREAMS, Hub

__all__ = ["CONTENT_TYPE_LATEST", "HubCollector", "metrics_registry", "render_metrics"]


class HubCollector:
    """Turns a :class:`~vidseg.web.hub.Hub`'s counters into metric families."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        """Yield every metric, read from the hub now."""
        hub = self.hub
        rates = hub.rates
        now = time.monotonic()
        yield CounterMetricFamily("vidseg_frames", "Frames segmented and written", rates.frames)
        yield CounterMetricFamily(
            "vidseg_dropped_frames",
            "Live frames dropped because processing fell behind",
            rates.dropped,
        )
        yield GaugeMetricFamily(
            "vidseg_fps", "Frames written per second (last 2 s)", rates.fps(now)
        )
        latency = rates.latency_s()
        if latency is not None:
            yield GaugeMetricFamily(
                "vidseg_latency_seconds",
                "Capture-to-written latency, median of the last 2 s",
                latency,
            )
        if hub.last_frame_at is not None:
            yield GaugeMetricFamily(
                "vidseg_last_frame_age_seconds",
                "Seconds since the last frame was written",
                now - hub.last_frame_at,
            )
        state = hub.state()
        if state:
            yield GaugeMetricFamily("vidseg_clusters", "Number of clusters k", state["n_clusters"])
            yield GaugeMetricFamily("vidseg_paused", "1 while paused", int(state["paused"]))
        result = hub.latest[1]
        if result is not None:
            share = GaugeMetricFamily(
                "vidseg_cluster_area_share",
                "Share of the frame's area in each cluster (latest frame)",
                labels=["cluster", "color"],
            )
            stats = result.stats
            for j, (value, color) in enumerate(zip(stats.area_share, stats.color_hex, strict=True)):
                share.add_metric([str(j), color], float(value))
            yield share
        viewers = GaugeMetricFamily(
            "vidseg_stream_viewers", "MJPEG clients watching each stream", labels=["stream"]
        )
        encodes = CounterMetricFamily(
            "vidseg_jpeg_encodes",
            "JPEG encodes per stream (at most one per frame)",
            labels=["stream"],
        )
        for stream in STREAMS:
            viewers.add_metric([stream], hub.viewers[stream])
            encodes.add_metric([stream], hub.encodes[stream])
        yield viewers
        yield encodes
        yield GaugeMetricFamily(
            "vidseg_event_clients", "Server-sent event clients", hub.event_clients
        )
        yield CounterMetricFamily(
            "vidseg_clients_dropped",
            "Clients disconnected after a write timed out",
            hub.clients_dropped,
        )


def metrics_registry(hub: Hub) -> CollectorRegistry:
    """A registry of its own holding one collector for ``hub``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The exposition text of ``registry``."""
    return generate_latest(registry)
