"""The stats NDJSON (format: :mod:`vidseg.report.load`) into a :class:`StatsSeries`.

Fast path: one compiled regular expression per record kind over the whole
file, in the key order vidseg's writers use (any spacing), values parsed by
one ``np.fromstring`` call; checked for structure and against :mod:`json` on
a sample of lines.  Anything it cannot vouch for is parsed line by line with
:mod:`json` (slow, exact, errors name the line).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .load import StatsFormatError, StatsSeries

__all__ = ["parse_ndjson"]

logger = logging.getLogger(__name__)

_NUM = r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_BOOL = r"true|false"
_SAMPLE_LINES = 64

# The layout vidseg's writers produce (keys in this order, any spacing): one regular
# expression per record kind pulls every value out of the whole file in one C pass.
_FRAME_RE = re.compile(
    rf'\{{\s*"frame":\s*(-?\d+),\s*"time_s":\s*({_NUM}),\s*'
    rf'(?:"width":\s*\d+,\s*"height":\s*\d+,\s*)?"scene_cut":\s*({_BOOL})'
    rf'(?:,\s*"lighting":\s*({_BOOL}))?'
)
_CLUSTER_RE = re.compile(
    rf'"cluster":\s*(\d+),\s*"pixels":\s*\d+,\s*"area_share":\s*({_NUM}),\s*'
    r'"color_hex":\s*"[^"]*",\s*"b":\s*(\d+),\s*"g":\s*(\d+),\s*"r":\s*(\d+)'
)
_ZONE_SHARE_RE = re.compile(r'"share":\s*\[([-+0-9.eE,\s]*)\]')


class _Mismatch(Exception):
    """The fast NDJSON path cannot vouch for its result."""


def _numbers(parts: Iterable[str], rows: int, width: int) -> np.ndarray:
    """Number strings (already matched as numbers) as a float array, shape (rows, width)."""
    try:
        values = np.fromstring(",".join(parts), sep=",")
    except ValueError as exc:
        raise _Mismatch(str(exc)) from None
    if values.size != rows * width:
        raise _Mismatch("numbers do not parse")
    return values.reshape(rows, width)


def parse_ndjson(data: bytes, path: Path) -> StatsSeries:
    """Parse the NDJSON ``data`` (complete lines of ``path``).

    Raises
    ------
    StatsFormatError
        A line is not JSON or lacks a required key (the message names the line).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StatsFormatError(
            f"stats file {str(path)!r} is not UTF-8 text ({exc.reason})"
        ) from None
    if "\n\n" in text or text.startswith("\n"):
        text = re.sub(r"(?m)^[ \t\r]*\n", "", text)
    lines = text.split("\n")[:-1]
    try:
        series = _fast_ndjson(text, lines, path)
        _check_sample(series, lines)
        return series
    except _Mismatch as exc:
        logger.info("%s: not in vidseg's own layout (%s); parsing line by line", path, exc)
    return _slow_ndjson(text, path)


def _fast_ndjson(text: str, lines: list[str], path: Path) -> StatsSeries:
    n = len(lines)
    frames = _FRAME_RE.findall(text)
    if len(frames) != n:
        raise _Mismatch(f"{len(frames)} frame headers in {n} lines")
    head = _numbers(itertools.chain.from_iterable(f[:2] for f in frames), n, 2)
    found = _CLUSTER_RE.findall(text)
    per_line = _clusters_per_line(found, lines)
    values = _numbers(itertools.chain.from_iterable(found), len(found), 5)
    ids = values[:, 0].astype(np.int64)
    line = np.repeat(np.arange(n), per_line)
    k = int(ids.max()) + 1 if len(ids) else 0
    share = np.full((n, k), np.nan)
    share[line, ids] = values[:, 1]
    if np.count_nonzero(~np.isnan(share)) != len(ids):
        raise _Mismatch("a cluster id repeats within a frame")
    colors = np.zeros((n, k, 3), np.uint8)
    colors[line, ids] = np.clip(values[:, 2:], 0, 255)
    lighting = [f[3] for f in frames]
    if ("".join(lighting) == "") != ('"lighting"' not in lines[0]):
        raise _Mismatch("lighting is not right after scene_cut")
    zones, areas = _ndjson_zones(text, lines, k)
    first = json.loads(lines[0])
    return StatsSeries(
        path=path,
        format="ndjson",
        frame=head[:, 0].astype(np.int64),
        time_s=head[:, 1],
        scene_cut=np.array([f[2] == "true" for f in frames]),
        lighting=np.array([v == "true" for v in lighting]) if lighting[0] else None,
        share=share,
        colors_bgr=colors,
        zones=zones,
        zone_area=areas,
        width=first.get("width"),
        height=first.get("height"),
    )


def _clusters_per_line(found: list[tuple[str, ...]], lines: list[str]) -> np.ndarray:
    """How many of the matched cluster objects each line holds."""
    n = len(lines)
    k0 = lines[0].count('"cluster"')
    if k0 and len(found) == n * k0:
        # the same k throughout: each line's ids then run 0, 1, ... without a step down
        ids = np.array([int(f[0]) for f in found[: n * k0]]).reshape(n, k0)
        if (np.diff(ids, axis=1) > 0).all():
            return np.full(n, k0)
    per_line = np.fromiter((line.count('"cluster"') for line in lines), np.int64, n)
    if len(found) != per_line.sum():
        raise _Mismatch("cluster objects not in vidseg's key order")
    return per_line


def _ndjson_zones(
    text: str, lines: list[str], k: int
) -> tuple[dict[str, np.ndarray], dict[str, int | None]]:
    """Zone shares when every line lists the same zones with k shares each."""
    n = len(lines)
    if '"zones"' not in text:
        return {}, {}
    first = json.loads(lines[0]).get("zones") or {}
    names = list(first)
    found = _ZONE_SHARE_RE.findall(text)
    if len(found) != n * len(names) or text.count('"zones"') != n:
        raise _Mismatch("zones differ between lines")
    if not names:
        return {}, {}
    # entry j of a list is cluster j; lists are shorter on frames with fewer clusters
    lengths = np.fromiter((s.count(",") + 1 if s.strip() else 0 for s in found), np.int64)
    if len(lengths) and lengths.max() > k:
        raise _Mismatch("a zone lists more shares than there are clusters")
    values = _numbers(found, 1, int(lengths.sum()))[0]
    which = np.repeat(np.arange(len(found)), lengths)
    pos = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    zones = {}
    for z, name in enumerate(names):
        sel = which % len(names) == z
        zones[name] = np.full((n, k), np.nan)
        zones[name][which[sel] // len(names), pos[sel]] = values[sel]
    areas = {name: first[name].get("area") for name in names}
    return zones, areas


def _add_zones(
    zones: dict[str, np.ndarray],
    areas: dict[str, int | None],
    obj: dict[str, Any],
    line: int,
    n: int,
    k: int,
) -> None:
    for name, zone in obj.items():
        shares = zone.get("share") if isinstance(zone, dict) else None
        if not isinstance(shares, list) or len(shares) > k:
            raise _Mismatch(f"zone {name!r} on line {line + 1} has no share list of <= k values")
        if name not in zones:
            zones[name] = np.full((n, k), np.nan)
            areas[name] = zone.get("area")
        zones[name][line, : len(shares)] = [np.nan if s is None else s for s in shares]


def _check_sample(series: StatsSeries, lines: list[str]) -> None:
    """Parse a sample of lines with :mod:`json`; raise :class:`_Mismatch` on any difference."""
    n = len(lines)
    for i in np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_LINES)).astype(int)).tolist():
        try:
            rec = json.loads(lines[i])
            expect = np.full(series.n_clusters, np.nan)
            for c in rec["clusters"]:
                expect[c["cluster"]] = c["area_share"]
            same = (
                rec["frame"] == series.frame[i]
                and rec["time_s"] == series.time_s[i]
                and rec["scene_cut"] == series.scene_cut[i]
                and np.array_equal(expect, series.share[i], equal_nan=True)
            )
            for name, zone in (rec.get("zones") or {}).items():
                got = series.zones[name][i][: len(zone["share"])]
                same = same and np.array_equal(got, np.array(zone["share"], float))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise _Mismatch(f"line {i + 1}: {exc!r}") from None
        if not same:
            raise _Mismatch(f"line {i + 1} reads differently with json")


def _slow_ndjson(text: str, path: Path) -> StatsSeries:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise StatsFormatError(
                f"{path}: line {number} is not JSON ({exc}); each line must be one frame's object"
            ) from None
    n = len(records)
    try:
        k = 1 + max((c["cluster"] for r in records for c in r["clusters"]), default=-1)
        share = np.full((n, k), np.nan)
        colors = np.zeros((n, k, 3), np.uint8)
        zones: dict[str, np.ndarray] = {}
        areas: dict[str, int | None] = {}
        for i, rec in enumerate(records):
            for c in rec["clusters"]:
                share[i, c["cluster"]] = c["area_share"]
                colors[i, c["cluster"]] = (c["b"], c["g"], c["r"])
            _add_zones(zones, areas, rec.get("zones") or {}, i, n, k)
        has_lighting = any("lighting" in r for r in records)
        return StatsSeries(
            path=path,
            format="ndjson",
            frame=np.array([r["frame"] for r in records], np.int64),
            time_s=np.array([r["time_s"] for r in records], np.float64),
            scene_cut=np.array([bool(r["scene_cut"]) for r in records]),
            lighting=np.array([bool(r.get("lighting")) for r in records]) if has_lighting else None,
            share=share,
            colors_bgr=colors,
            zones=zones,
            zone_area=areas,
            width=records[0].get("width"),
            height=records[0].get("height"),
        )
    except (KeyError, TypeError, IndexError, ValueError, _Mismatch) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StatsFormatError(
            f"{path}: not a vidseg stats NDJSON file ({what}); expected one object per line "
            f"with frame, time_s, scene_cut and clusters[cluster, area_share, b, g, r]"
        ) from None
