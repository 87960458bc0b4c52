"""Read a run's per-frame statistics into numpy arrays, fast.

This module docstring is the contract between the writers (``vidseg convert
--stats``, ``vidseg analyze``) and ``vidseg report``.  The format is picked by
the file suffix: ``.csv``, or ``.ndjson`` / ``.jsonl``.

NDJSON: one object per frame, one per line::

    {"frame": 0, "time_s": 0.0, "width": 640, "height": 360,
     "scene_cut": false, "lighting": false, "inertia": 12.3,
     "clusters": [{"cluster": 0, "pixels": 1234, "area_share": 0.12,
                   "color_hex": "#RRGGBB", "b": 10, "g": 20, "r": 30,
                   "cx": 0.5, "cy": 0.4}, ...],
     "zones": {"door": {"area": 5000, "pixels": [k ints], "share": [k floats],
                        "bbox": [[x0, y0, x1, y1] or null, ... k]}, ...}}

* ``"cluster"`` is the cluster id; a frame may list any number of clusters
  (k can change during a run), ids need not be contiguous.
* ``"zones"`` and ``"lighting"`` may be absent (plain ``vidseg convert``
  output); ``cx``/``cy`` may be ``null`` (empty cluster).
* A zone's ``pixels``/``share``/``bbox`` lists are indexed by cluster id
  (entry ``j`` is cluster ``j``); ``share`` is the fraction of the *zone's*
  area that cluster covers.

CSV: a tidy table, one row per frame x cluster (x zone), header first::

    frame,time_s,cluster,pixels,area_share,color_hex,b,g,r,cx,cy,scene_cut
    [,zone,share_of_zone,x0,y0,x1,y1,lighting]

* The first twelve columns are ``vidseg convert``'s; the bracketed ones are
  added by ``vidseg analyze``.  ``zone`` is the literal ``frame`` for
  whole-frame rows and the zone name otherwise; ``share_of_zone`` is the
  fraction of the zone's area (empty on ``frame`` rows); ``x0..y1`` is the
  cluster's bounding box in the zone (empty when none).
* Booleans are ``True``/``False`` (``true``/``false``/``1``/``0`` accepted);
  empty cells are missing values.  Columns are found by header name.

Either file may end in a line cut short by a crash: it is dropped with a
warning.  Everything else that does not parse is a :class:`StatsFormatError`
naming the line.

Speed: the stdlib parsers build one Python object per value, which for an
hour of video (90,000 frames x 8 clusters) takes tens of seconds.  CSV columns
go through ``np.loadtxt`` (C since numpy 1.23, :mod:`vidseg.report._csv`).
NDJSON written in the layout above (keys in that order, any spacing) is read
by one regular expression per record kind over the whole file
(:mod:`vidseg.report._ndjson`), checked (one frame header per line, the
cluster objects and zone lists accounted for) and compared with :mod:`json`
on 64 evenly spread lines; a file in another layout is parsed line by line
with :mod:`json` (slower, exact).  Writers should keep the key order above.

>>> import tempfile, json
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> rec = {"frame": 0, "time_s": 0.0, "scene_cut": False, "clusters": [
...     {"cluster": 0, "area_share": 0.25, "b": 0, "g": 0, "r": 255},
...     {"cluster": 1, "area_share": 0.75, "b": 255, "g": 0, "r": 0}]}
>>> _ = Path(tmp.name, "s.ndjson").write_text(json.dumps(rec) + "\\n")
>>> series = load_stats(Path(tmp.name, "s.ndjson"))
>>> series.n_frames, series.n_clusters, series.share[0].tolist()
(1, 2, [0.25, 0.75])
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, VidsegError

__all__ = [
    "STATS_FORMATS",
    "ReportUsageError",
    "StatsFormatError",
    "StatsSeries",
    "load_stats",
]

logger = logging.getLogger(__name__)

#: Stats file suffix -> format.
STATS_FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


class ReportUsageError(ConfigError):
    """A report argument is wrong (missing file, unsupported suffix); exit code 2."""


class StatsFormatError(VidsegError, ValueError):
    """A statistics, maps or events file exists but cannot be read; exit code 1."""


@dataclass(frozen=True, eq=False)
class StatsSeries:
    """Per-frame statistics of one run as arrays (frames in file order).

    Attributes
    ----------
    path : Path
        The file read.
    format : str
        ``"csv"`` or ``"ndjson"``.
    frame : ndarray, shape (n,), int64
        Frame index.
    time_s : ndarray, shape (n,), float64
        Presentation time in seconds.
    scene_cut : ndarray, shape (n,), bool
        The palette was re-seeded on this frame.
    lighting : ndarray, shape (n,), bool, or None
        Frames flagged as a lighting change; ``None`` if the file has no such field.
    share : ndarray, shape (n, K), float64
        Share of the frame per cluster id; NaN where the cluster did not exist
        in that frame (k changed).  ``K`` is the largest id + 1.
    colors_bgr : ndarray, shape (n, K, 3), uint8
        Cluster colour per frame, BGR (0 where the cluster did not exist).
    zones : dict of str to ndarray, shape (n, K), float64
        Per zone, the share of the zone's area per cluster (NaN where unknown).
    zone_area : dict of str to int or None
        Zone area in pixels, when recorded.
    width, height : int or None
        Frame size, when recorded (NDJSON).
    """

    path: Path
    format: str
    frame: np.ndarray
    time_s: np.ndarray
    scene_cut: np.ndarray
    lighting: np.ndarray | None
    share: np.ndarray
    colors_bgr: np.ndarray
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    zone_area: dict[str, int | None] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return len(self.frame)

    @property
    def n_clusters(self) -> int:
        """Number of cluster ids seen (largest id + 1)."""
        return int(self.share.shape[1])

    @property
    def present(self) -> np.ndarray:
        """Shape (n, K) bool: the cluster existed in that frame."""
        return ~np.isnan(self.share)


def load_stats(path: str | Path) -> StatsSeries:
    """Read a stats file (format by suffix) into a :class:`StatsSeries`.

    Raises
    ------
    ReportUsageError
        ``path`` is missing, a directory, or has an unsupported suffix.
    StatsFormatError
        The file cannot be read, does not follow the format, or holds no frames.
    """
    path = Path(path)
    fmt = STATS_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReportUsageError(
            f"unsupported stats file suffix {path.suffix!r} for {str(path)!r}; give the "
            f"{' / '.join(STATS_FORMATS)} file written by vidseg convert --stats or vidseg analyze"
        )
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ReportUsageError(f"stats file {str(path)!r} {what}; give the path of a stats file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StatsFormatError(f"cannot read stats file {str(path)!r}: {exc.strerror}") from None
    data = _complete_lines(data, path)
    if not data or data.isspace():
        raise StatsFormatError(f"stats file {str(path)!r} holds no frames; was the run empty?")
    if fmt == "csv":
        from ._csv import parse_csv

        return parse_csv(data, path)
    from ._ndjson import parse_ndjson

    return parse_ndjson(data, path)


def _complete_lines(data: bytes, path: Path) -> bytes:
    """``data`` without a last line cut short by a crash (no newline at the end)."""
    if not data or data.endswith(b"\n"):
        return data
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    if path.suffix.lower() != ".csv":
        try:
            json.loads(tail)
            return data + b"\n"
        except ValueError:
            pass
    elif cut == 0:  # a header with no newline
        return data + b"\n"
    logger.warning(
        "%s: last line (%d) is cut short, as after a crash; it is left out",
        path,
        data.count(b"\n") + 1,
    )
    return data[:cut]
