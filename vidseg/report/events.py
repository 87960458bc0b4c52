"""Read the events file (``events.ndjson``) into :class:`Event` records.

Format (the contract with ``vidseg analyze``): one JSON object per line.  An
event writes a line when it starts and one when it ends::

    {"type": "start", "id": "e1", "rule": "occupancy", "zone": "door",
     "clusters": [2], "colors": ["#RRGGBB"], "start": {"time_s": 12.0, "frame": 300},
     "baseline": 0.1, "metric": "share"}
    {"type": "end", "id": "e1", "rule": ..., "zone": ..., "clusters": ..., "colors": ...,
     "start": {...}, "peak": {"time_s", "frame", "value"},
     "end": {"time_s", "frame", "value"}, "baseline": 0.1, "metric": "share",
     "snapshot": "snapshots/e1.jpg"}

An event with a start line and no end line (the run stopped) is *open*.
``snapshot`` is relative to the events file's folder (or absolute), or
``null``.  Lines of another ``type`` are skipped with a warning (newer
writers may add kinds); a line that is not JSON or lacks a key is an error
naming the line.

>>> import tempfile, json
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> line = {"type": "start", "id": "e1", "rule": "occupancy", "zone": "frame",
...         "clusters": [1], "colors": ["#FF0000"], "start": {"time_s": 2.0, "frame": 50},
...         "baseline": 0.1, "metric": "share"}
>>> _ = Path(tmp.name, "events.ndjson").write_text(json.dumps(line) + "\\n")
>>> [(e.id, e.open, e.start_s) for e in load_events(Path(tmp.name, "events.ndjson"))]
[('e1', True, 2.0)]
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .load import ReportUsageError, StatsFormatError

__all__ = ["EVENTS_NAME", "Event", "find_events", "load_events"]

logger = logging.getLogger(__name__)

#: The events file ``vidseg report`` picks up next to the stats file.
EVENTS_NAME = "events.ndjson"


@dataclass(frozen=True)
class Event:
    """One event, started and possibly ended.

    Attributes
    ----------
    id, rule, zone, metric : str
        As written by the analyser (``zone`` is ``"frame"`` for the whole frame).
    clusters : tuple of int
        Cluster ids the event concerns.
    colors : tuple of str
        Their colours, ``#RRGGBB``.
    start_s, end_s, peak_s : float (end_s, peak_s: or None)
        Times in seconds; ``end_s`` is ``None`` while the event is open.
    start_frame, end_frame, peak_frame : int (end_frame, peak_frame: or None)
        Frame indices.
    peak_value, end_value, baseline : float or None
        Metric values.
    snapshot : Path or None
        The snapshot image, resolved against the events file's folder.
    """

    id: str
    rule: str
    zone: str
    clusters: tuple[int, ...]
    colors: tuple[str, ...]
    metric: str
    start_s: float
    start_frame: int
    end_s: float | None = None
    end_frame: int | None = None
    peak_s: float | None = None
    peak_frame: int | None = None
    peak_value: float | None = None
    end_value: float | None = None
    baseline: float | None = None
    snapshot: Path | None = None

    @property
    def open(self) -> bool:
        """The run stopped before the event ended."""
        return self.end_s is None

    def duration_s(self, run_end_s: float) -> float:
        """Length in seconds; an open event lasts until ``run_end_s``."""
        return (run_end_s if self.end_s is None else self.end_s) - self.start_s


def find_events(stats: str | Path) -> Path | None:
    """``events.ndjson`` next to ``stats``, if there is one."""
    candidate = Path(stats).with_name(EVENTS_NAME)
    return candidate if candidate.is_file() else None


def load_events(path: str | Path) -> list[Event]:
    """Read an events file; events in order of their start.

    Raises
    ------
    ReportUsageError
        ``path`` does not exist.
    StatsFormatError
        A line is not JSON, or lacks a key the format requires.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportUsageError(
            f"events file {str(path)!r} does not exist; give the events.ndjson of the run "
            f"or leave out --events"
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StatsFormatError(f"cannot read events file {str(path)!r}: {exc}") from None
    events: dict[str, Event] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            kind = rec["type"]
            if kind not in ("start", "end"):
                logger.warning("%s: line %d: skipping event line of type %r", path, number, kind)
                continue
            event = _event(rec, path.parent)
        except (ValueError, KeyError, TypeError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StatsFormatError(
                f"{path}: line {number} is not a readable event ({what}); each line must be "
                f"one start or end object as written by vidseg analyze"
            ) from None
        if kind == "start" and rec["id"] in events:
            continue  # the end line came first or the start repeats: the end has it all
        events[rec["id"]] = event
    return sorted(events.values(), key=lambda e: (e.start_s, e.id))


def _event(rec: dict[str, Any], folder: Path) -> Event:
    start, peak, end = rec["start"], rec.get("peak") or {}, rec.get("end") or {}
    ended = rec["type"] == "end"
    if ended and not end:
        raise ValueError("an end line without its 'end' object")
    snapshot = rec.get("snapshot")
    return Event(
        id=str(rec["id"]),
        rule=str(rec["rule"]),
        zone=str(rec["zone"]),
        clusters=tuple(int(c) for c in rec["clusters"]),
        colors=tuple(str(c) for c in rec.get("colors") or ()),
        metric=str(rec.get("metric", "")),
        start_s=float(start["time_s"]),
        start_frame=int(start["frame"]),
        end_s=float(end["time_s"]) if ended else None,
        end_frame=int(end["frame"]) if ended else None,
        peak_s=_opt(peak.get("time_s"), float),
        peak_frame=_opt(peak.get("frame"), int),
        peak_value=_opt(peak.get("value"), float),
        end_value=_opt(end.get("value"), float),
        baseline=_opt(rec.get("baseline"), float),
        snapshot=folder / snapshot if snapshot else None,
    )


def _opt(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)
