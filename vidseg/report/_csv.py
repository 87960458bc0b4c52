"""The tidy stats CSV (format: :mod:`vidseg.report.load`) into a :class:`StatsSeries`.

Two ``np.loadtxt`` passes over the file (C parser): the numeric columns as
float64, then the few text columns (booleans, zone names, cells that may be
empty) as Python strings.  Columns are found by header name.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .load import StatsFormatError, StatsSeries

__all__ = ["parse_csv"]

_NUMERIC = ("frame", "time_s", "cluster", "area_share", "b", "g", "r")
_TRUE = ("True", "true", "TRUE", "1")


def parse_csv(data: bytes, path: Path) -> StatsSeries:
    """Parse the CSV ``data`` (complete lines of ``path``).

    Raises
    ------
    StatsFormatError
        Missing columns, a cell that does not parse, or no data rows.
    """
    header_end = data.find(b"\n")
    header = next(csv.reader(io.StringIO(data[:header_end].decode("utf-8", "replace"))), [])
    columns = {name.strip(): i for i, name in enumerate(header)}
    missing = [c for c in (*_NUMERIC, "scene_cut") if c not in columns]
    if missing:
        raise StatsFormatError(
            f"{path}: not a vidseg stats CSV (no {', '.join(missing)} column); expected the "
            f"header of vidseg convert --stats or vidseg analyze"
        )
    rows = data.count(b"\n") - 1
    if rows <= 0 or data[header_end:].isspace():
        raise StatsFormatError(f"stats file {str(path)!r} holds no frames; was the run empty?")
    text_cols = [c for c in ("scene_cut", "zone", "share_of_zone", "lighting") if c in columns]
    num = _loadtxt(path, rows, [columns[c] for c in _NUMERIC], np.float64)
    txt = _loadtxt(path, rows, [columns[c] for c in text_cols], object)
    col = dict(zip(_NUMERIC, num.T, strict=True))
    tcol = dict(zip(text_cols, txt.T, strict=True))

    zone = tcol.get("zone")
    is_frame = np.ones(len(num), bool) if zone is None else zone == "frame"
    frame_ids, inverse = np.unique(col["frame"], return_inverse=True)
    first_row = np.full(len(frame_ids), -1)
    fr = np.flatnonzero(is_frame)
    first_row[inverse[fr][::-1]] = fr[::-1]  # the first whole-frame row of each frame
    keep = first_row >= 0
    if not keep.any():
        raise StatsFormatError(f"{path}: no whole-frame rows (zone 'frame'); cannot report")
    # frames seen only in zone rows are left out; renumber frames to the kept ones
    renumber = np.cumsum(keep) - 1
    n = int(keep.sum())
    first = first_row[keep]
    cluster = col["cluster"].astype(np.int64)
    if cluster.min() < 0:
        raise StatsFormatError(f"{path}: negative cluster id {int(cluster.min())}")
    k = int(cluster.max()) + 1
    line = renumber[inverse]

    share = np.full((n, k), np.nan)
    share[line[fr], cluster[fr]] = col["area_share"][fr]
    if np.count_nonzero(~np.isnan(share)) != len(fr):
        raise StatsFormatError(f"{path}: a cluster appears twice in one frame's rows")
    colors = np.zeros((n, k, 3), np.uint8)
    for c, key in enumerate("bgr"):
        colors[line[fr], cluster[fr], c] = np.clip(col[key][fr], 0, 255)

    zones: dict[str, np.ndarray] = {}
    if zone is not None and "share_of_zone" in tcol:
        zone_rows = ~is_frame & keep[inverse]
        zshare = _floats(tcol["share_of_zone"][zone_rows], path, "share_of_zone")
        znames = zone[zone_rows]
        zl, zc = line[zone_rows], cluster[zone_rows]
        for name in sorted(set(znames.tolist())):
            sel = znames == name
            zones[name] = np.full((n, k), np.nan)
            zones[name][zl[sel], zc[sel]] = zshare[sel]

    lighting = None
    if "lighting" in tcol:
        lighting = _bools(tcol["lighting"][first])
    return StatsSeries(
        path=path,
        format="csv",
        frame=frame_ids[keep].astype(np.int64),
        time_s=col["time_s"][first],
        scene_cut=_bools(tcol["scene_cut"][first]),
        lighting=lighting,
        share=share,
        colors_bgr=colors,
        zones=zones,
        zone_area=dict.fromkeys(zones),
    )


def _loadtxt(path: Path, rows: int, usecols: list[int], dtype: type) -> np.ndarray:
    try:
        return np.loadtxt(
            path,
            delimiter=",",
            skiprows=1,
            max_rows=rows,
            usecols=usecols,
            dtype=dtype,
            comments=None,
            quotechar='"',
            encoding="utf-8",
            ndmin=2,
        )
    except ValueError as exc:
        raise StatsFormatError(
            f"{path}: unreadable CSV data ({exc}; row 1 is the first after the header)"
        ) from None


def _floats(values: np.ndarray, path: Path, name: str) -> np.ndarray:
    try:
        return np.where(values == "", "nan", values).astype(np.float64)
    except ValueError as exc:
        raise StatsFormatError(f"{path}: column {name!r} holds a non-number ({exc})") from None


def _bools(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), bool)
    for word in _TRUE:  # elementwise compares in C, not a Python call per cell
        out |= values == word
    return out
