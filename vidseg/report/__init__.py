"""``vidseg report``: an HTML report of a run's statistics, maps and events.

Modules by job: :mod:`~vidseg.report.load` (stats files, and the format
contract), :mod:`~vidseg.report.maps` and :mod:`~vidseg.report.events` (the
optional inputs), :mod:`~vidseg.report.summary` (time bins, summary numbers),
:mod:`~vidseg.report.figures` (matplotlib drawings), :mod:`~vidseg.report.html`
(the page), :mod:`~vidseg.report.report` (:func:`make_report`, atomic output)
and :mod:`~vidseg.report.sample` (a synthetic run in the formats).

>>> import tempfile
>>> from pathlib import Path
>>> from vidseg.report import find_events, make_report
>>> from vidseg.report.sample import write_sample_run
>>> tmp = tempfile.TemporaryDirectory()
>>> run = write_sample_run(tmp.name, frames=40, events=1)
>>> summary = make_report(run.stats, events=find_events(run.stats),
...                       output=Path(tmp.name, "report.html"))
>>> summary.html.name, summary.frames, summary.events, summary.maps
('report.html', 40, 1, True)
>>> tmp.cleanup()
"""

from .events import EVENTS_NAME, Event, find_events, load_events
from .load import ReportUsageError, StatsFormatError, StatsSeries, load_stats
from .maps import Maps, load_maps, maps_path
from .report import ReportSummary, files_dir_for, make_report

__all__ = [
    "EVENTS_NAME",
    "Event",
    "Maps",
    "ReportSummary",
    "ReportUsageError",
    "StatsFormatError",
    "StatsSeries",
    "files_dir_for",
    "find_events",
    "load_events",
    "load_maps",
    "load_stats",
    "make_report",
    "maps_path",
]
