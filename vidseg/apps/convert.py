"""Offline conversion and the demo: input -> segmented video + statistics.

Builds the source, the segmenter and the sinks from a validated config, runs the
pipeline with a progress bar (files) or a status line (live sources) on stderr,
and logs a run summary.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import Config, EngineConfig
from ..control import RunControl
from ..engine import Segmenter
from ..engine.palette_file import Palette
from ..frames import Frame, FrameResult
from ..io._partial import check_output_file
from ..io.data_sinks import stats_sink
from ..io.display import Screen
from ..io.labels_sink import LabelsSink
from ..io.segments import SegmentedVideoSink
from ..io.sources import open_source
from ..io.video_sink import VideoFileSink
from ..io.window_sink import WindowSink
from ..pipeline import RunSummary, run
from ..sink import Sink
from .terminal import outputs_written, progress_line, summary_text

__all__ = ["AreaSummarySink", "convert", "load_kernels", "segmenter_for", "warm_up"]

log = logging.getLogger(__name__)


class AreaSummarySink:
    """Accumulates each cluster's mean area share and last colour over a run."""

    def __init__(self) -> None:
        self.frames = 0
        self._area: np.ndarray | None = None
        self._hex: list[str] = []

    def open(self, info: object) -> None:
        """Start a run."""

    def write(self, result: FrameResult) -> None:
        """Add one frame's statistics."""
        share = result.stats.area_share
        self._area = share.copy() if self._area is None else self._area + share
        self._hex = result.stats.color_hex
        self.frames += 1

    def close(self) -> None:
        """End of run."""

    def abort(self) -> None:
        """End of an interrupted run."""

    def table(self) -> str:
        """Clusters by mean area share, as an aligned text table."""
        if self._area is None:
            return "no frames\n"
        mean = self._area / self.frames
        lines = [f"{'cluster':>7}  {'colour':7}  {'mean area':>9}"]
        for j in np.argsort(-mean):
            lines.append(f"{j:>7}  {self._hex[j]:7}  {100 * mean[j]:8.1f}%")
        return "\n".join(lines) + "\n"


def segmenter_for(cfg: Config, palette: Path | None = None) -> Segmenter:
    """The run's segmenter, starting from the palette file ``palette`` when given.

    Raises
    ------
    ConfigError
        The palette file is unreadable or does not fit the engine settings.
    """
    segmenter = Segmenter.from_config(cfg.engine)
    if palette is not None:
        segmenter.set_palette(Palette.load(palette), source=str(palette))
        log.info("starting from the palette in %s", palette)
    return segmenter


def warm_up(segmenter: Segmenter, *, i420: bool = True) -> None:
    """Segment two small frames so the compiled kernels are loaded, then forget them.

    Loading the kernels from numba's cache takes about a second (several on a
    busy machine); done before a live source is opened, no frame of the
    stream waits for it or is dropped while it happens.  The frames are a
    colour ramp made here (no file or photo to read).  ``i420``: the painter of
    the encoder's I420 frames (a video output), else the BGR one (windows, pages).
    """
    ramp = np.linspace(0, 255, 64 * 48 * 3).astype(np.uint8).reshape(48, 64, 3)
    for index, image in enumerate((ramp, ramp[::-1].copy())):
        seg = segmenter.segment(image)
        frame = Frame(image=image, index=index, time_s=0.0)
        result = FrameResult(frame=frame, segmentation=seg, stats=None)  # type: ignore[arg-type]
        # The colour tables and the painter the run's sinks use.
        assert (result.view_i420 if i420 else result.view) is not None
    segmenter.reset()


def load_kernels(engine: EngineConfig, *, i420: bool = False) -> None:
    """Load the compiled kernels that ``engine``'s settings use, before a source opens.

    A throwaway segmenter does it (the run's may hold a loaded palette), so no frame
    of a live source waits for the kernels or is dropped while they load.  ``i420``:
    the run writes video (the encoder's I420 painter is loaded too).
    """
    with Segmenter.from_config(engine) as warm:
        warm_up(warm, i420=i420)


def convert(
    source_spec: str,
    output: Path,
    cfg: Config,
    *,
    stats: Path | None = None,
    labels: Path | None = None,
    labels_format: str = "png",
    overwrite: bool = False,
    palette: Path | None = None,
    save_palette: Path | None = None,
    stop: threading.Event | None = None,
    demo_summary: bool = False,
    serve: str | None = None,
    token: str | None = None,
    window: Screen | None = None,
    snapshots: Path = Path("."),
    on_frame: Callable[[FrameResult, RunSummary], None] | None = None,
) -> RunSummary:
    """Segment ``source_spec`` into the video ``output`` (and optional stats / label maps).

    Every output is checked (directory writable, not existing unless
    ``overwrite``, encoder available) and a ``palette`` file is read and
    checked before the input is opened, so bad arguments cost no work.
    ``save_palette`` receives the final palette whenever a frame was segmented
    (also after an interruption).  ``serve`` (``[HOST:]PORT``) shows the run on
    the web page with live controls while it goes (``token`` as for ``vidseg serve``).
    ``window`` (the screen, from :func:`~vidseg.io.display.check_display`) shows
    the run in a window whose keys steer it; ``s`` writes snapshots into ``snapshots``.
    ``on_frame`` is called with each written frame (a batch task's progress).

    Raises
    ------
    VidsegError
        Bad input or output; the message names it.
    """
    if demo_summary and stats is None:
        stats = output.with_suffix(".csv")
    segmenter = segmenter_for(cfg, palette)
    if save_palette is not None:
        check_output_file(save_palette, overwrite=overwrite, example="palette.json")
    out = cfg.output
    video_options = {
        "codec": out.codec,
        "crf": out.crf,
        "preset": out.preset,
        "cabac": out.cabac,
        "overwrite": overwrite,
        "keep_audio": out.keep_audio,
        "threads": out.encoder_threads,
    }
    sinks: list[Sink] = [
        VideoFileSink(output, **video_options)  # type: ignore[arg-type]
        if cfg.run.segment_time is None
        else SegmentedVideoSink(output, segment_time=cfg.run.segment_time, **video_options)
    ]
    if stats is not None:
        sinks.append(stats_sink(stats, overwrite=overwrite))
    if labels is not None:
        sinks.append(LabelsSink(labels, fmt=labels_format, overwrite=overwrite))
    areas = AreaSummarySink()
    sinks.append(areas)
    control = web = None
    if serve is not None or window is not None:
        control = RunControl(n_clusters=cfg.engine.n_clusters, view=out.view)
    if serve is not None:
        from .serve import parse_serve_address, web_sink

        assert control is not None
        web = web_sink(*parse_serve_address(serve), token, control)
        sinks.append(web)
    if window is not None:  # --preview: watch (and steer) while writing
        assert control is not None
        sinks.append(WindowSink(control, screen=window, snapshots=snapshots, stop=stop))

    load_kernels(cfg.engine, i420=True)
    try:
        source = open_source(
            source_spec,
            reconnect_attempts=cfg.run.reconnect_attempts,
            reconnect_backoff=cfg.run.reconnect_backoff,
            audio=out.keep_audio,
            cancel=stop,
            decoder_threads=cfg.run.decoder_threads,
        )
    except BaseException:
        if web is not None:
            web.abort()
        raise
    info = source.info
    log.info(
        "input %s: %dx%d at %.3g fps%s",
        info.name,
        info.width,
        info.height,
        info.fps,
        "" if info.frame_count is None else f", header claims {info.frame_count} frames",
    )
    total = cfg.run.max_frames or info.frame_count
    try:
        with progress_line(info, total, enabled=cfg.run.progress) as progress:

            def each_frame(result: FrameResult, summary: RunSummary) -> None:
                progress(result, summary)
                if web is not None:
                    web.on_frame(result, summary)
                if on_frame is not None:
                    on_frame(result, summary)

            summary = run(
                source,
                segmenter,
                sinks,
                view=out.view,
                overlay_alpha=out.overlay_alpha,
                max_frames=cfg.run.max_frames,
                duration=cfg.run.duration,
                queue_size=cfg.run.queue_size,
                live_pacing=cfg.run.live_pacing,
                stop=stop,
                on_frame=each_frame,
                control=control,
            )
    finally:
        segmenter.close()  # its labelling threads, if label_threads > 1
        if save_palette is not None and segmenter.palette_ is not None:
            segmenter.palette_.save(save_palette)
            log.info("palette saved to %s", save_palette)
    text = summary_text(
        summary,
        outputs_written(sinks),
        live=info.live,
        reconnects=getattr(source, "reconnects", 0),
        fps_after_first=progress.fps_after_first,
    )
    log.debug("%s", summary.describe())  # engine figures (scene cuts, mean fit error)
    if demo_summary:
        sys.stdout.write(text + "\n")
        sys.stdout.write(areas.table())
    else:
        log.info("%s", text)
    return summary
