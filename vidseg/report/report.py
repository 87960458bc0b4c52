"""``make_report``: stats (+ maps, events) in, one self-contained HTML page out.

The page (``report.html``) embeds every image as a ``data:`` URI; the same
PNGs (and snapshot thumbnails) go into ``report_files/`` beside it.  Both are
written under temporary names and moved into place only when complete, the
page last, so a failure leaves no half-written report.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from ..errors import SinkError, reason
from . import figures
from .events import Event, load_events
from .html import Image, data_uri, render_page
from .load import ReportUsageError, StatsSeries, load_stats
from .maps import Maps, load_maps, maps_path
from .summary import Binned, bin_series, median_colors, summary_rows

__all__ = ["ReportSummary", "make_report"]

logger = logging.getLogger(__name__)

_THUMB_WIDTH = 320


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`make_report` wrote.

    Attributes
    ----------
    html : Path
        The report page.
    files_dir : Path
        The folder with the figures and thumbnails.
    files : tuple of Path
        Every file written into ``files_dir``.
    frames, clusters : int
        Frames in the stats file; cluster ids seen.
    zones : tuple of str
        Zone names.
    events, open_events : int
        Events shown; how many of them were still open.
    maps : bool
        Ownership/activity maps were found and drawn.
    seconds : float
        Time taken.
    """

    html: Path
    files_dir: Path
    files: tuple[Path, ...]
    frames: int
    clusters: int
    zones: tuple[str, ...]
    events: int
    open_events: int
    maps: bool
    seconds: float


def files_dir_for(output: Path) -> Path:
    """The figure folder of the page ``output``: ``report.html`` -> ``report_files``."""
    return output.with_name(f"{output.stem}_files")


def make_report(
    stats: str | Path,
    *,
    events: str | Path | None = None,
    output: str | Path,
    overwrite: bool = False,
) -> ReportSummary:
    """Write the HTML report of a run.

    Parameters
    ----------
    stats : str or Path
        The run's stats file (``.csv``, ``.ndjson``, ``.jsonl``); its maps are
        read from ``<stem>.maps.npz`` beside it when present.
    events : str or Path, optional
        The run's ``events.ndjson`` (see :func:`~vidseg.report.find_events`).
    output : str or Path
        The page to write (``.html``); figures go to ``<stem>_files/``.
    overwrite : bool
        Replace an existing page and figure folder.

    Raises
    ------
    ReportUsageError
        A missing input, unsupported suffix, or an existing output without ``overwrite``.
    StatsFormatError
        An input that cannot be read.
    SinkError
        The output cannot be written (nothing is left behind).
    """
    began = time.perf_counter()
    output = Path(output)
    files_dir = files_dir_for(output)
    _check_output(output, files_dir, overwrite)
    series = load_stats(stats)
    event_list = load_events(events) if events is not None else []
    maps_file = maps_path(stats)
    maps = load_maps(maps_file)
    files, context = _build(series, event_list, maps)
    context.update(
        stats_path=str(stats),
        events_path=str(events) if events is not None else "",
        maps_path=str(maps_file) if maps is not None else "",
        files_dir=files_dir.name + "/",
        maps_hint=f"vidseg analyze writes them to {maps_file.name} beside the stats file.",
        events_hint="No events file was given or found."
        if events is None
        else "The events file holds no events.",
    )
    _write(output, files_dir, render_page(**context), files)
    return ReportSummary(
        html=output,
        files_dir=files_dir,
        files=tuple(files_dir / name for name in files),
        frames=series.n_frames,
        clusters=series.n_clusters,
        zones=tuple(series.zones),
        events=len(event_list),
        open_events=sum(e.open for e in event_list),
        maps=maps is not None,
        seconds=time.perf_counter() - began,
    )


def _check_output(output: Path, files_dir: Path, overwrite: bool) -> None:
    if output.suffix.lower() not in (".html", ".htm"):
        raise ReportUsageError(f"report output {str(output)!r} must end in .html, e.g. report.html")
    if not output.parent.is_dir():
        raise ReportUsageError(
            f"output folder {str(output.parent)!r} does not exist; create it or choose another"
        )
    if not overwrite:
        for path in (output, files_dir):
            if path.exists():
                raise ReportUsageError(
                    f"output {str(path)!r} already exists; pass --overwrite to replace it"
                )


def _build(
    series: StatsSeries, events: list[Event], maps: Maps | None
) -> tuple[dict[str, bytes], dict[str, object]]:
    """Every figure (file name -> bytes) and the page's template context."""
    binned = bin_series(series)
    colors = median_colors(series)
    span = (float(series.time_s[0]), float(series.time_s[-1]))
    labelled = [(f"E{i + 1}", e) for i, e in enumerate(events)]
    cuts = series.time_s[series.scene_cut]
    cuts = cuts[cuts > span[0]]  # the first frame always seeds the palette
    lighting = _spans(binned, series)
    files: dict[str, bytes] = {}
    timelines = []

    def add(name: str, data: bytes, alt: str, mime: str = "image/png") -> Image:
        files[name] = data
        return Image(name=name, uri=data_uri(data, mime), alt=alt)

    timelines.append(
        add(
            "timeline.png",
            figures.timeline_png(
                binned.t,
                binned.share,
                colors,
                title="Whole frame",
                span=span,
                events=labelled,
                cuts=cuts,
                lighting=lighting,
            ),
            "Share of the frame per cluster over time, with events (E1, ...), scene cuts "
            "and lighting changes",
        )
    )
    for n, (name, zshare) in enumerate(binned.zones.items()):
        timelines.append(
            add(
                f"timeline_zone{n + 1}_{_safe(name)}.png",
                figures.timeline_png(
                    binned.t,
                    zshare,
                    colors,
                    title=f"Zone: {name}",
                    span=span,
                    events=[(lab, e) for lab, e in labelled if e.zone == name],
                    cuts=cuts,
                ),
                f"Share of zone {name!r} per cluster over time, with its events",
            )
        )
    present = ~np.isnan(binned.share)
    palette = add(
        "palette.png",
        figures.palette_strip_png(binned.t0, binned.t1, binned.colors_bgr, present),
        "Each cluster's colour over time (grey: the cluster did not exist)",
    )
    map_images = []
    if maps is not None:
        map_images = [
            add("ownership.png", figures.ownership_png(maps), "Ownership map, zones outlined"),
            add("activity.png", figures.activity_png(maps), "Activity heatmap over the scene"),
        ]
    event_rows = [_event_row(lab, e, span[1], add) for lab, e in labelled]
    context: dict[str, object] = {
        "title": series.path.name,
        "facts": _facts(series, events, len(cuts)),
        "notes": _notes(series, maps, events),
        "timelines": timelines,
        "palette": palette,
        "maps": map_images,
        "events": event_rows,
        "summary": summary_rows(series, events, colors),
        "varying_k": bool((~series.present).any()),
        "bin_note": f"{series.n_frames / len(binned.t):.0f} frames per point"
        if len(binned.t) < series.n_frames
        else "nothing (one point per frame)",
        "version": __version__,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return files, context


def _spans(binned: Binned, series: StatsSeries) -> list[tuple[float, float]]:
    """Runs of lighting-flagged frames, merged per plotting bin."""
    if series.lighting is None or not series.lighting.any():
        return []
    starts = np.searchsorted(series.time_s, binned.t0)
    flagged = np.add.reduceat(series.lighting, starts) > 0
    edges = np.diff(np.concatenate([[0], flagged.astype(np.int8), [0]]))
    return [
        (float(binned.t0[a]), float(binned.t1[b - 1]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    ]


def _facts(series: StatsSeries, events: list[Event], cuts: int) -> list[tuple[str, str]]:
    duration = float(series.time_s[-1] - series.time_s[0])
    ks = np.count_nonzero(series.present, axis=1)
    k_text = str(ks.max()) if ks.min() == ks.max() else f"{ks.min()}–{ks.max()}"
    facts = [
        ("duration", figures.clock(duration)),
        ("frames", f"{series.n_frames:,}"),
        ("clusters (k)", k_text),
        ("zones", str(len(series.zones)) if series.zones else "none"),
        ("scene cuts", f"{cuts:,}"),
        (
            "events",
            f"{len(events)}"
            + (f" ({sum(e.open for e in events)} open)" if any(e.open for e in events) else ""),
        ),
    ]
    if series.n_frames > 1 and duration > 0:
        facts.insert(2, ("frame rate", f"{(series.n_frames - 1) / duration:.2f} fps"))
    if series.width and series.height:
        facts.insert(3, ("frame size", f"{series.width} × {series.height}"))
    if series.lighting is not None:
        facts.append(("lighting-flagged frames", f"{int(series.lighting.sum()):,}"))
    return facts


def _notes(series: StatsSeries, maps: Maps | None, events: list[Event]) -> list[str]:
    notes = []
    if not series.zones:
        notes.append("No zones were recorded: the plots and table cover the whole frame only.")
    if series.lighting is None:
        notes.append("Lighting changes were not recorded in this stats file.")
    missing = [e.id for e in events if e.snapshot is not None and not e.snapshot.is_file()]
    if missing:
        notes.append(f"Snapshot images missing for event(s) {', '.join(missing)}.")
    if len(series.frame) > 1 and (np.diff(series.frame) <= 0).any():
        notes.append("Frame numbers restart or repeat in the file (several runs appended?).")
    return notes


def _event_row(
    label: str, e: Event, run_end: float, add: Callable[[str, bytes, str, str], Image]
) -> dict[str, object]:
    thumb, no_thumb = None, "none"
    if e.snapshot is not None:
        jpeg = _thumbnail(e.snapshot)
        if jpeg is None:
            no_thumb = f"missing: {e.snapshot.name}"
            logger.warning("event %s: snapshot %r cannot be read", e.id, str(e.snapshot))
        else:
            thumb = add(
                f"snapshot_{_safe(e.id)}.jpg", jpeg, f"snapshot of event {e.id}", "image/jpeg"
            )
    colours = list(e.colors) + ["#999999"] * (len(e.clusters) - len(e.colors))
    peak = "–"
    if e.peak_value is not None and e.peak_s is not None:
        peak = f"{e.peak_value:.3g} at {figures.clock(e.peak_s)}"
    return {
        "label": label,
        "id": e.id,
        "open": e.open,
        "rule": e.rule,
        "metric": e.metric,
        "zone": e.zone,
        "clusters": list(zip(e.clusters, colours, strict=False)),
        "start": figures.clock(e.start_s),
        "start_frame": e.start_frame,
        "end": figures.clock(e.end_s) if e.end_s is not None else "",
        "end_frame": e.end_frame,
        "duration": f"{e.duration_s(run_end):.1f} s",
        "peak": peak,
        "baseline": "–" if e.baseline is None else f"{e.baseline:.3g}",
        "thumb": thumb,
        "no_thumb": no_thumb,
    }


def _thumbnail(path: Path) -> bytes | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    h, w = image.shape[:2]
    if w > _THUMB_WIDTH:
        size = (_THUMB_WIDTH, max(1, round(h * _THUMB_WIDTH / w)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "zone"


def _write(output: Path, files_dir: Path, page: str, files: dict[str, bytes]) -> None:
    """Write the folder, then the page, each under a temporary name first.

    On any failure (or Ctrl-C) nothing new is left and a replaced folder is put back.
    """
    parent = output.parent
    staging: Path | None = None
    old: Path | None = None
    moved = done = False
    page_tmp = output.with_name(f"{output.stem}.partial{output.suffix}")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{files_dir.name}.", dir=parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the figures are for sharing
        for name, data in files.items():
            (staging / name).write_bytes(data)
        page_tmp.write_text(page, encoding="utf-8")
        if files_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{files_dir.name}.old.", dir=parent))
            os.replace(files_dir, old / files_dir.name)
        os.replace(staging, files_dir)
        moved = True
        os.replace(page_tmp, output)
        done = True
    except OSError as exc:
        raise SinkError(f"cannot write the report {str(output)!r}: {reason(exc)}") from None
    finally:
        if not done:
            page_tmp.unlink(missing_ok=True)
            if moved:
                shutil.rmtree(files_dir, ignore_errors=True)
            if old is not None and (old / files_dir.name).exists():
                os.replace(old / files_dir.name, files_dir)
        for leftover in (None if moved else staging, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    logger.info("wrote %s and %d files in %s/", output, len(files), files_dir)
