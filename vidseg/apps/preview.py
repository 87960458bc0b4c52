"""``vidseg preview``: watch a source segmented live in a window, steered by keys.

Builds the source (looped with ``--loop``), the segmenter, a
:class:`~vidseg.control.RunControl` and a
:class:`~vidseg.io.window_sink.WindowSink` (plus the statistics and label
outputs asked for), runs the pipeline, and logs a summary with the
capture-to-display latency of live sources.  The caller checks the display
first (:func:`vidseg.io.display.check_display`).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from ..config import Config
from ..control import RunControl
from ..engine import Segmenter
from ..errors import ConfigError, SourceOpenError
from ..io.data_sinks import stats_sink
from ..io.display import Screen
from ..io.labels_sink import LabelsSink
from ..io.sources import FrameSource, LoopSource, open_source
from ..io.window_sink import WindowSink
from ..pipeline import RunSummary, run
from ..sink import Sink
from .convert import load_kernels

__all__ = ["preview"]

log = logging.getLogger(__name__)

# Frames queued between stages of a paced file: a key's effect (k, view) shows
# within two frames instead of behind a deep read-ahead.
_PREVIEW_QUEUE = 2


def preview(
    source_spec: str,
    cfg: Config,
    *,
    screen: Screen,
    fast: bool = False,
    loop: bool = False,
    snapshots: Path = Path("."),
    stats: Path | None = None,
    labels: Path | None = None,
    labels_format: str = "png",
    overwrite: bool = False,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Show ``source_spec`` segmented in a window until it ends or the user quits.

    Raises
    ------
    ConfigError
        ``snapshots`` is not a directory.
    VidsegError
        The source cannot be opened (a missing camera suggests the demo), an
        output cannot be written.
    """
    if not snapshots.is_dir():
        raise ConfigError(f"--snapshots {str(snapshots)!r} is not a directory; create it first")
    stop = stop if stop is not None else threading.Event()
    control = RunControl(n_clusters=cfg.engine.n_clusters, view=cfg.output.view)
    window = WindowSink(control, screen=screen, pace=not fast, snapshots=snapshots, stop=stop)
    sinks: list[Sink] = [window]
    if stats is not None:
        sinks.append(stats_sink(stats, overwrite=overwrite))
    if labels is not None:
        sinks.append(LabelsSink(labels, fmt=labels_format, overwrite=overwrite))
    load_kernels(cfg.engine)
    source = _open(source_spec, cfg, loop=loop)
    info = source.info
    log.info(
        "previewing %s: %dx%d at %.3g fps (keys: h)", info.name, info.width, info.height, info.fps
    )
    paced_file = not info.live and not fast
    summary = run(
        source,
        Segmenter.from_config(cfg.engine),
        sinks,
        view=cfg.output.view,
        overlay_alpha=cfg.output.overlay_alpha,
        max_frames=cfg.run.max_frames,
        queue_size=min(cfg.run.queue_size, _PREVIEW_QUEUE) if paced_file else cfg.run.queue_size,
        live_pacing=cfg.run.live_pacing,
        stop=stop,
        control=control,
    )
    log.info("%s; %d frames shown", summary.describe(), window.shown)
    lat = window.latency_ms()
    if lat:
        # The arrival rate, not the container's claim (MPEG-TS over TCP reports 60 for 30).
        interval = 1000 * summary.elapsed_s / summary.frames_in if summary.frames_in else 0.0
        interval = interval or float("nan")
        log.info(
            "capture-to-display latency p50 %.1f ms p95 %.1f ms (%.2f frame intervals); "
            "p95 first half %.1f ms, second half %.1f ms",
            lat["p50"],
            lat["p95"],
            lat["p95"] / interval,
            lat["first_half_p95"],
            lat["second_half_p95"],
        )
    return summary


def _open(spec: str, cfg: Config, *, loop: bool) -> FrameSource:
    run_cfg = cfg.run

    def opener() -> FrameSource:
        return open_source(
            spec,
            reconnect_attempts=run_cfg.reconnect_attempts,
            reconnect_backoff=run_cfg.reconnect_backoff,
            audio=False,
        )

    try:
        source = opener()
    except SourceOpenError as exc:
        if re.fullmatch(r"[0-9]+", spec.strip()):
            raise SourceOpenError(
                f"{exc}; no camera? try `vidseg preview demo` or `vidseg preview VIDEO_FILE`"
            ) from None
        raise
    if not loop:
        return source
    if source.info.live:
        log.warning("--loop ignored: %s is live", source.info.name)
        return source
    source.close()
    return LoopSource(opener)
