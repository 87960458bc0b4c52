"""`vidseg analyze`: segment without encoding video; zone statistics, maps, events.

Every check that can fail does so before any frame is segmented: the outputs
(writable, not existing unless ``overwrite``), then, right after the source is
opened and its frame size is known, the zones and masks (inside the frame,
PNG masks of the frame's size).  The run then has no encoder: the writer thread
measures the zones (:class:`~vidseg.analysis.measure.ZoneMeasure`) and writes
the statistics, so segmentation keeps the segmenting thread to itself.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

from ..analysis.events import EventSink
from ..analysis.maps import maps_path
from ..analysis.measure import ZoneMeasure
from ..analysis.outputs import analysis_stats_sink
from ..analysis.rules_config import check_rules_against_k
from ..analysis.zonestats import ZoneLayout
from ..config import Config
from ..control import RunControl
from ..engine import Segmenter
from ..errors import ConfigError, SinkError, reason
from ..frames import FrameResult
from ..io._partial import check_output_file
from ..io.display import Screen
from ..io.labels_sink import LabelsSink
from ..io.sources import open_source
from ..io.window_sink import WindowSink
from ..pipeline import RunSummary, run
from ..sink import Sink
from .convert import load_kernels

__all__ = ["analyze"]

log = logging.getLogger(__name__)


def _progressed(
    bar: Any, web: Any, result: FrameResult, summary: RunSummary, extra: Any = None
) -> None:
    bar.update(1)
    if web is not None:
        web.on_frame(result, summary)
    if extra is not None:
        extra(result, summary)


def analyze(
    source_spec: str,
    cfg: Config,
    *,
    stats: Path | None = None,
    events: Path | None = None,
    report: Path | None = None,
    labels: Path | None = None,
    labels_format: str = "png",
    overwrite: bool = False,
    stop: threading.Event | None = None,
    window: Screen | None = None,
    snapshots: Path = Path("."),
    serve: str | None = None,
    token: str | None = None,
    on_frame: Callable[[FrameResult, RunSummary], None] | None = None,
) -> RunSummary:
    """Analyse ``source_spec``: zone statistics, ownership / activity maps, events, report.

    Parameters
    ----------
    source_spec : str
        Video file, camera index, stream URL, image sequence or ``demo``.
    cfg : Config
        Validated configuration; ``cfg.analysis`` holds the zones, masks and rules.
    stats : Path, optional
        Statistics file (``.csv`` or ``.ndjson``); the maps go next to it as
        ``<stem>.maps.npz``.
    events : Path, optional
        Events file (default ``events.ndjson`` next to ``stats``, else in the
        working directory); written only when rules are configured.
    report : Path, optional
        HTML report written at the end from the statistics and events (needs ``stats``).
    labels : Path, optional
        Directory for the label maps.
    labels_format : {"png", "npz"}
    overwrite : bool
        Replace existing outputs.
    stop : threading.Event, optional
        Set it to stop cleanly (outputs kept under their partial names).
    window : Screen, optional
        ``--preview``: show the run in a window whose keys steer it (snapshots
        into ``snapshots``).
    serve, token : str, optional
        ``--serve [HOST:]PORT``: show the run on the web page with live controls
        (``token`` as for ``vidseg serve``).
    on_frame : callable, optional
        Called with each frame's result and the running summary (a batch task's progress).

    Raises
    ------
    ConfigError
        Bad zones, masks or rules (before any frame is segmented), or ``report``
        without ``stats``.
    VidsegError
        Bad input or output; the message names it.
    """
    if report is not None:
        if stats is None:
            raise ConfigError(
                "--report needs --stats FILE: the report is built from the statistics"
            )
        check_output_file(report, overwrite=overwrite, example="report.html")
    make_report = _report_maker() if report is not None else None
    acfg = cfg.analysis
    check_rules_against_k(acfg.rules, cfg.engine.n_clusters)
    if acfg.rules and events is None:
        events = (stats.parent if stats is not None else Path()) / "events.ndjson"
    elif not acfg.rules and events is not None:
        log.warning("no rules in the analysis section: no events will be written to %s", events)
        events = None
    sinks: list[Sink] = []
    stats_sink = None
    if stats is not None:
        stats_sink = analysis_stats_sink(stats, overwrite=overwrite)
        check_output_file(maps_path(stats), overwrite=overwrite, example="stats.maps.npz")
        sinks.append(stats_sink)
    if labels is not None:
        sinks.append(LabelsSink(labels, fmt=labels_format, overwrite=overwrite))
    control = web = None
    if serve is not None or window is not None:  # watch (and steer) while analysing
        control = RunControl(n_clusters=cfg.engine.n_clusters, view=cfg.output.view)
    if serve is not None:
        from .serve import parse_serve_address, web_sink

        assert control is not None
        web = web_sink(*parse_serve_address(serve), token, control)
        sinks.append(web)
    if window is not None:
        assert control is not None
        sinks.append(WindowSink(control, screen=window, snapshots=snapshots, stop=stop))

    # No encoder competes for the second core here: the labelling pass takes it.
    engine = dataclasses.replace(cfg.engine, label_threads=max(2, cfg.engine.label_threads))
    try:
        load_kernels(engine)
        source = open_source(
            source_spec,
            reconnect_attempts=cfg.run.reconnect_attempts,
            reconnect_backoff=cfg.run.reconnect_backoff,
            audio=False,
            decoder_threads=cfg.run.decoder_threads,
        )
    except BaseException:
        if web is not None:
            web.abort()  # its server is already listening
        raise
    info = source.info
    detector: EventSink | None = None
    try:
        layout = ZoneLayout.build(acfg, info.width, info.height)
        segmenter = Segmenter.from_config(engine)
        segmenter.set_mask(layout.ignore)
        if events is not None:
            # First: it sets result.extras["lighting"], which the stats sink writes.
            detector = EventSink(
                events,
                acfg.rules,
                acfg.events,
                outlines=layout.polygons,
                overwrite=overwrite,
                view=cfg.output.view,
            )
            sinks.insert(0, detector)
    except BaseException:
        source.close()
        if web is not None:
            web.abort()
        raise
    log.info(
        "analysing %s: %dx%d at %.3g fps, %d zones, %d masks (%d pixels ignored), %d rules",
        info.name,
        info.width,
        info.height,
        info.fps,
        len(acfg.zones),
        len(acfg.masks),
        0 if layout.ignore is None else int(layout.ignore.sum()),
        len(acfg.rules),
    )
    measure = ZoneMeasure(acfg, layout, keep_maps=stats is not None)
    bar = _progress(info, cfg)
    ok = False
    try:
        summary = run(
            source,
            segmenter,
            sinks,
            view=cfg.output.view,
            overlay_alpha=cfg.output.overlay_alpha,
            max_frames=cfg.run.max_frames,
            queue_size=cfg.run.queue_size,
            live_pacing=cfg.run.live_pacing,
            stop=stop,
            on_frame=lambda result, summary: _progressed(bar, web, result, summary, on_frame),
            measure=measure,
            control=control,
        )
        ok = True
    finally:
        bar.close()
        segmenter.close()  # its labelling threads
        # The maps go next to the stats file as it was left (final or partial
        # name), also after an error: what was gathered is kept.
        written = _written(stats_sink)
        if measure.maps is not None and written is not None:
            _save_maps(measure, written, raise_errors=ok)
    log.info("%s", summary.describe())
    if detector is not None:
        log.info(
            "events: %d started, %d ended, written to %s", detector.started, detector.ended, events
        )
    log.info("mean share of each cluster per zone (unmasked pixels):\n%s", measure.table())
    if make_report is not None and written is not None:
        # The events file has its final name from the start (an append-only log).
        found = events if events is not None and events.exists() else None
        make_report(written, events=found, output=report, overwrite=overwrite)
        log.info("wrote report %s", report)
    return summary


def _report_maker() -> Any:
    """``vidseg.report.make_report``, or a clear error before any work when it is missing."""
    try:
        from ..report import make_report  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ConfigError(
            "--report needs the vidseg.report module, which this build does not have; "
            "run without --report (or install a vidseg with `vidseg report`)"
        ) from None
    return make_report


def _written(sink: Any) -> Path | None:
    """The stats file as it is now on disk: the final name, the partial one, or None."""
    if sink is None:
        return None
    for path in (sink.path, sink.partial_path):
        if path.exists():
            return Path(path)
    return None


def _save_maps(measure: ZoneMeasure, stats_file: Path, *, raise_errors: bool) -> None:
    """Write the maps next to ``stats_file``; after a failed run only log a failure."""
    assert measure.maps is not None
    path = maps_path(stats_file)
    try:
        measure.maps.save(path, measure.layout.polygons)
    except OSError as exc:
        error = SinkError(f"cannot write {str(path)!r}: {reason(exc)}")
        if raise_errors:
            raise error from exc
        log.error("%s", error)  # the run's own error is the one to report


def _progress(info: Any, cfg: Config) -> tqdm[FrameResult]:
    """A progress bar on stderr (frames counted; a lying header just grows the total)."""
    total = cfg.run.max_frames or info.frame_count
    return tqdm(
        total=None if info.live else total,
        unit="frame",
        dynamic_ncols=True,
        disable=not cfg.run.progress or None,
        file=sys.stderr,
        leave=False,
        desc="live" if info.live else Path(info.name).name,
    )
