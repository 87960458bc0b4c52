"""The event sink: run the rules on every result, write events as they happen.

:class:`EventSink` is a pipeline sink.  For each result it asks the lighting
guard whether the change is frame-wide (``result.extras["lighting"]``; the
rules re-baseline instead of firing), feeds every rule its zone statistics
(``result.extras["zones"]``) and, when an event starts or ends:

* appends one line to ``events.ndjson``, flushed at once (one ``write`` per
  line, so a reader tailing the file never sees half a record);
* logs it at INFO;
* hands the record to the hooks (:mod:`vidseg.analysis.hooks`, their own thread);
* at the end, writes the peak's snapshot JPEG: original beside segmented,
  the zone drawn on both, into ``snapshots/`` next to the events file.

Unlike the stats sinks, the events file has its final name from the start:
it is an append-only log that hooks and people read while the run goes on.
Every start line gets an end line: events still open when the input ends end
with ``"reason": "input-ended"``, and after an error or Ctrl-C (``abort()``)
with ``"reason": "stopped"``; a normal end has ``"reason": "exit"``.

Line format (one JSON object per line)::

    {"type": "start", "id", "rule", "zone", "clusters": [ids], "colors": ["#RRGGBB"],
     "start": {"time_s", "frame"}, "baseline", "metric"}
    {"type": "end", ... the same ..., "peak": {"time_s", "frame", "value"},
     "end": {"time_s", "frame", "value"}, "snapshot": "snapshots/<id>.jpg" or null,
     "reason"}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from ..errors import SinkError, reason
from ..frames import FrameResult, StreamInfo
from ..io._partial import SinkBase, check_output_file, write_atomically
from .events_config import EventsSettings
from .hooks import HookRunner
from .lighting import LightingGuard, cell_coverage
from .rules import OpenEvent, Reading, RuleTracker
from .rules_config import FRAME, Rule

__all__ = ["EventSink"]

log = logging.getLogger(__name__)

_OUTLINE = (0, 255, 255)  # zone outline in snapshots, BGR (yellow)
_JPEG_QUALITY = 90
_LOCAL_SHARE = 0.1  # share of a zone changed locally that keeps its rule watching in lighting


@dataclass
class _Peak:
    """The images of a pending or open event's peak frame (copies; kept until it ends)."""

    image: np.ndarray
    segmented: np.ndarray


class EventSink(SinkBase):
    """Run rules on every result; write ``events.ndjson``, snapshots, and call hooks.

    Parameters
    ----------
    path : str or Path
        The events file (``events.ndjson``); snapshots go to ``snapshots/`` beside it.
    rules : sequence of Rule
        Validated rules (their zones must be in every result's ``extras["zones"]``).
    settings : EventsSettings
        Snapshots, lighting guard, hooks.
    outlines : mapping of str to ndarray, optional
        Zone polygons in pixel coordinates ((n, 2) float), drawn on snapshots.
    overwrite : bool
        Replace an existing events file.
    view : str
        The segmented view of snapshots.

    Attributes
    ----------
    started, ended : int
        Events started and ended so far.
    guard : LightingGuard
        The lighting guard (its ``episodes`` and ``frames_flagged`` for summaries).
    hooks : HookRunner
        The hooks (their ``counts``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from vidseg.analysis.events_config import EventsSettings
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sink = EventSink(folder / "events.ndjson", [], EventsSettings())
    >>> sink.close(); sink.started
    0
    """

    _kind = "events file"

    def __init__(
        self,
        path: str | Path,
        rules: Sequence[Rule],
        settings: EventsSettings,
        *,
        outlines: Mapping[str, np.ndarray] | None = None,
        overwrite: bool = False,
        view: str = "recolor",
    ) -> None:
        self.path = Path(path)
        check_output_file(self.path, overwrite=overwrite, example="events.ndjson")
        self.rules = tuple(rules)
        self.settings = settings
        self.outlines = dict(outlines or {})
        # Snapshots put the original beside the view already; a side-by-side view would repeat it.
        self.view = "recolor" if view == "side-by-side" else view
        self.snapshot_dir = self.path.parent / "snapshots"
        self.started = 0
        self.ended = 0
        self.guard = LightingGuard(settings.lighting)
        self.hooks = HookRunner(
            settings.hooks, timeout_s=settings.hook_timeout_s, queue_size=settings.hook_queue
        )
        self._target = self.path
        self._closed = False
        self._file: TextIO | None = None
        self._trackers = [RuleTracker(r) for r in self.rules]
        self._ids: list[str | None] = [None] * len(self.rules)
        self._peaks: list[_Peak | None] = [None] * len(self.rules)
        self._colors: list[list[str]] = [[] for _ in self.rules]
        self._counter = 0
        self._last: tuple[float, int] = (0.0, 0)
        self._lighting = False
        self._coverage_size: tuple[int, int] | None = None
        self._coverage: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._file is not None else "new"
        return f"<EventSink {str(self.path)!r} {len(self.rules)} rules {state}>"

    def open(self, info: StreamInfo) -> None:
        """Create the events file and start the hooks' thread.

        Raises
        ------
        SinkError
            Already open, closed, or the file cannot be created.
        """
        self._check_not_closed()
        if self._file is not None:
            raise SinkError(f"events file {str(self.path)!r} is already open")
        try:
            self._file = open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise SinkError(f"cannot create events file {str(self.path)!r}: {reason(exc)}") from exc
        self.hooks.start()

    def measure(self, result: FrameResult) -> bool:
        """Set and return ``result.extras["lighting"]`` (once per result)."""
        flag = result.extras.get("lighting")
        if flag is None:
            frame = result.frame
            flag = self.guard.observe(frame.image, frame.time_s, frame=frame.index)
            result.extras["lighting"] = flag
        return bool(flag)

    def write(self, result: FrameResult) -> None:
        """Run every rule on ``result``; write the lines of events that start or end.

        Raises
        ------
        SinkError
            Not open, closed, or the events file cannot be written.
        """
        self._check_writable(self._file is not None)
        lighting = self.measure(result)
        local = self._local_shares(result) if lighting else {}
        settled = self._lighting and not lighting
        self._lighting = lighting
        zones = result.extras.get("zones")
        if zones is None:
            raise SinkError(
                "the event sink needs zone statistics in result.extras['zones']; run it with "
                "the analysis measure step (vidseg analyze)"
            )
        colors = result.stats.colors_bgr
        t, index = result.frame.time_s, result.frame.index
        self._last = (t, index)
        for i, tracker in enumerate(self._trackers):
            # During lighting, a zone holding a change the lighting does not explain
            # (a car driving in as the camera's exposure reacts) keeps watching,
            # against the baseline from before; once the light settles, every rule
            # starts a new baseline (an open event first ends against its old one).
            # The engine's scene cuts do not re-baseline: a large object arriving
            # can be one, and it is exactly what a rule watches for.
            keep = local.get(tracker.rule.zone, 0.0) >= _LOCAL_SHARE
            if settled:
                tracker.rebaseline(after_event=True)
            guarded = lighting and not keep
            update = tracker.update(zones, colors, time_s=t, frame=index, lighting=guarded)
            if update.event is None:
                self._peaks[i] = None
                continue
            if update.peak and self.settings.snapshots:
                self._peaks[i] = _Peak(
                    image=result.frame.image.copy(), segmented=result.render_view(self.view).copy()
                )
            if update.kind == "start":
                self._start(i, update.event, colors, update.reading)
            elif update.kind == "end":
                self._end(i, update.event, "exit")

    def close(self) -> None:
        """End open events (``"reason": "input-ended"``), close the file, drain the hooks."""
        self._finish("input-ended")

    def abort(self) -> None:
        """End open events (``"reason": "stopped"``), close the file, stop the hooks soon."""
        self._finish("stopped")

    # -- internals -------------------------------------------------------------------------

    def _local_shares(self, result: FrameResult) -> dict[str, float]:
        """Each watched zone's share of cells changed locally (not by the lighting)."""
        h, w = result.frame.image.shape[:2]
        if self._coverage_size != (w, h):
            self._coverage_size = (w, h)
            self._coverage = {
                rule.zone: cell_coverage(
                    None if rule.zone == FRAME else self.outlines.get(rule.zone), w, h
                )
                for rule in self.rules
            }
        return {zone: self.guard.local_share(cov) for zone, cov in self._coverage.items()}

    def _finish(self, why: str) -> None:
        if self._closed:
            return
        self._closed = True
        file, self._file = self._file, None
        try:
            if file is not None:
                self._file = file  # _emit writes the end lines of the open events
                t, index = self._last
                for i, tracker in enumerate(self._trackers):
                    ev = tracker.event
                    if tracker.active and ev is not None:
                        ev.end_time, ev.end_frame = t, index
                        ev.end_value = tracker.last.value if tracker.last else ev.peak_value
                        self._end(i, ev, why)
                log.info(
                    "%d events written to %r (lighting: %d episodes, %d frames)",
                    self.ended,
                    str(self.path),
                    self.guard.episodes,
                    self.guard.frames_flagged,
                )
        finally:
            if file is not None:
                file.close()
            if why == "stopped":
                self.hooks.abort()
            else:
                self.hooks.close()

    def _start(self, i: int, ev: OpenEvent, colors: np.ndarray, now: Reading | None) -> None:
        self._counter += 1
        event_id = f"{ev.rule.name}-{self._counter}"
        self._ids[i] = event_id
        self._colors[i] = [_hex(colors[j]) for j in ev.clusters]
        record = self._common(i, ev, "start")
        self._emit(record)
        self.started += 1
        log.info(
            "event %s started at %.2f s (frame %d): zone %s, clusters %s, %s %.4g, baseline %.4g",
            event_id,
            ev.start_time,
            ev.start_frame,
            ev.rule.zone,
            _clusters_text(ev.clusters, self._colors[i]),
            ev.rule.metric,
            now.value if now is not None else ev.peak_value,
            ev.baseline,
        )

    def _end(self, i: int, ev: OpenEvent, why: str) -> None:
        event_id = self._ids[i]
        snapshot = self._snapshot(i, ev) if self.settings.snapshots else None
        record = self._common(i, ev, "end")
        record["peak"] = {
            "time_s": round(ev.peak_time, 6),
            "frame": ev.peak_frame,
            "value": _round(ev.peak_value),
        }
        record["end"] = {
            "time_s": round(ev.end_time, 6),
            "frame": ev.end_frame,
            "value": _round(ev.end_value),
        }
        record["snapshot"] = snapshot
        record["reason"] = why
        self._emit(record)
        self.ended += 1
        self._peaks[i] = None
        log.info(
            "event %s ended at %.2f s (frame %d, %s): peak %.4g at %.2f s%s",
            event_id,
            ev.end_time,
            ev.end_frame,
            why,
            ev.peak_value,
            ev.peak_time,
            f", snapshot {snapshot}" if snapshot else "",
        )

    def _common(self, i: int, ev: OpenEvent, kind: str) -> dict[str, Any]:
        rule = ev.rule
        return {
            "type": kind,
            "id": self._ids[i],
            "rule": rule.name,
            "zone": rule.zone,
            "clusters": list(ev.clusters),
            "colors": self._colors[i],
            "start": {"time_s": round(ev.start_time, 6), "frame": ev.start_frame},
            "baseline": _round(ev.baseline),
            "metric": rule.metric,
        }

    def _emit(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        try:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()
        except OSError as exc:
            raise SinkError(f"cannot write events file {str(self.path)!r}: {reason(exc)}") from exc
        self.hooks.submit(record)

    def _snapshot(self, i: int, ev: OpenEvent) -> str | None:
        """Write the peak's JPEG; return its path relative to the events file's folder."""
        peak = self._peaks[i]
        if peak is None:
            return None
        outline = self.outlines.get(ev.rule.zone)
        panels = []
        for image in (peak.image, peak.segmented):
            panel = np.ascontiguousarray(image)
            if outline is not None:
                pts = np.round(np.asarray(outline, np.float64)).astype(np.int32)
                cv2.polylines(panel, [pts], isClosed=True, color=_OUTLINE, thickness=2)
            panels.append(panel)
        height = min(p.shape[0] for p in panels)
        picture = np.hstack([p[:height] for p in panels])
        label = f"{self._ids[i]}  {ev.peak_time:.2f} s  {ev.rule.metric} {ev.peak_value:.3g}"
        font = cv2.FONT_HERSHEY_SIMPLEX
        (tw, th), _ = cv2.getTextSize(label, font, 0.5, 1)
        cv2.rectangle(picture, (0, 0), (tw + 12, th + 12), (0, 0, 0), -1)
        cv2.putText(picture, label, (6, th + 6), font, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
        name = f"{self._ids[i]}.jpg"
        try:
            if not ok:
                raise OSError("JPEG encoding failed")
            self.snapshot_dir.mkdir(exist_ok=True)
            write_atomically(self.snapshot_dir / name, jpeg.tobytes())
        except OSError as exc:
            log.warning("cannot write snapshot of event %s: %s", self._ids[i], reason(exc))
            return None
        return f"{self.snapshot_dir.name}/{name}"


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (int(v) for v in bgr)
    return f"#{r:02X}{g:02X}{b:02X}"


def _round(value: float) -> float:
    return round(float(value), 6)


def _clusters_text(clusters: tuple[int, ...], colors: list[str]) -> str:
    return ", ".join(f"{j} {c}" for j, c in zip(clusters, colors, strict=False)) or "none"
