"""Offline conversion and the demo: input -> segmented video + statistics.

Builds the source, the segmenter and the sinks from a validated config, runs the
pipeline with a progress bar (files) or a status line (live sources) on stderr,
and logs a run summary.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..config import Config
from ..engine import Segmenter
from ..frames import Frame, FrameResult
from ..io.data_sinks import stats_sink
from ..io.labels_sink import LabelsSink
from ..io.segments import SegmentedVideoSink
from ..io.sources import open_source
from ..io.video_sink import VideoFileSink
from ..pipeline import RunSummary, Sink, run

__all__ = ["AreaSummarySink", "convert", "warm_up"]

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


def warm_up(segmenter: Segmenter) -> None:
    """Segment two small frames so the compiled kernels are loaded, then forget them.

    Loading the kernels from numba's cache takes about a second (several on a
    busy machine); done before a live source is opened, no frame of the
    stream waits for it or is dropped while it happens.  The frames are a
    colour ramp made here (no file or photo to read).
    """
    ramp = np.linspace(0, 255, 64 * 48 * 3).astype(np.uint8).reshape(48, 64, 3)
    for index, image in enumerate((ramp, ramp[::-1].copy())):
        seg = segmenter.segment(image)
        frame = Frame(image=image, index=index, time_s=0.0)
        result = FrameResult(frame=frame, segmentation=seg, stats=None)  # type: ignore[arg-type]
        assert result.view_i420 is not None  # the colour tables and the I420 painter
    segmenter.reset()


def convert(
    source_spec: str,
    output: Path,
    cfg: Config,
    *,
    stats: Path | None = None,
    labels: Path | None = None,
    labels_format: str = "png",
    overwrite: bool = False,
    stop: threading.Event | None = None,
    demo_summary: bool = False,
) -> RunSummary:
    """Segment ``source_spec`` into the video ``output`` (and optional stats / label maps).

    Every output is checked (directory writable, not existing unless
    ``overwrite``, encoder available) before the input is opened, so bad
    arguments cost no work.

    Raises
    ------
    VidsegError
        Bad input or output; the message names it.
    """
    if demo_summary and stats is None:
        stats = output.with_suffix(".csv")
    out = cfg.output
    video_options = {
        "codec": out.codec,
        "crf": out.crf,
        "preset": out.preset,
        "cabac": out.cabac,
        "overwrite": overwrite,
        "keep_audio": out.keep_audio,
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

    segmenter = Segmenter.from_config(cfg.engine)
    warm_up(segmenter)
    source = open_source(
        source_spec,
        reconnect_attempts=cfg.run.reconnect_attempts,
        reconnect_backoff=cfg.run.reconnect_backoff,
        audio=out.keep_audio,
        cancel=stop,
    )
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
    bar = tqdm(
        total=None if info.live else total,
        unit="frame",
        dynamic_ncols=True,
        disable=not cfg.run.progress or None,
        file=sys.stderr,
        leave=False,
        desc=Path(info.name).name if not info.live else "live",
    )

    def progress(result: FrameResult, summary: RunSummary) -> None:
        if bar.total is not None and bar.n >= bar.total:
            bar.total = bar.n + 1  # the header lied about the length
        bar.update(1)
        if info.live:
            bar.set_postfix(dropped=summary.dropped, refresh=False)

    try:
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
            on_frame=progress,
        )
    finally:
        bar.close()
    log.info("%s", summary.describe())
    if demo_summary:
        sys.stdout.write(f"wrote {output} and {stats}: {summary.describe()}\n")
        sys.stdout.write(areas.table())
    return summary
