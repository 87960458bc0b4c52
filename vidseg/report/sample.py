"""Write a synthetic run in the report's input formats (tests, benchmark, demos).

A reference writer of the contract in :mod:`vidseg.report.load`,
:mod:`vidseg.report.maps` and :mod:`vidseg.report.events`: the palette comes
from a real photo (scikit-learn's ``china.jpg``) quantised with OpenCV's
k-means, the shares drift smoothly over time, with scene cuts, lighting flags,
a zone per name and events whose snapshots are crops of the photo.

>>> import tempfile
>>> tmp = tempfile.TemporaryDirectory()
>>> run = write_sample_run(tmp.name, frames=50, events=1)
>>> run.stats.name, run.events.name, run.maps.name
('stats.ndjson', 'events.ndjson', 'stats.maps.npz')
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..io.demo import sample_photo

__all__ = ["SampleRun", "write_sample_run"]

_CSV_HEAD = "frame,time_s,cluster,pixels,area_share,color_hex,b,g,r,cx,cy,scene_cut"
_ANALYZE_HEAD = ",zone,share_of_zone,x0,y0,x1,y1,lighting"


@dataclass(frozen=True)
class SampleRun:
    """Paths of a written sample run, and the arrays it was made from.

    ``share`` (n, k) and ``zone_share`` (name -> (n, k)) hold NaN where a
    cluster did not exist (``varying_k``).
    """

    stats: Path
    events: Path | None
    maps: Path | None
    share: np.ndarray
    zone_share: dict[str, np.ndarray]
    colors_bgr: np.ndarray
    event_zones: list[tuple[str, tuple[int, ...]]]


def write_sample_run(
    directory: str | Path,
    *,
    frames: int = 750,
    k: int = 8,
    fps: float = 25.0,
    fmt: str = "ndjson",
    zones: Sequence[str] = ("door",),
    events: int = 3,
    maps: bool = True,
    plain: bool = False,
    varying_k: bool = False,
    size: tuple[int, int] = (320, 180),
    seed: int = 0,
) -> SampleRun:
    """Write ``stats.<fmt>`` (+ ``stats.maps.npz``, ``events.ndjson``) into ``directory``.

    ``plain`` writes ``vidseg convert``'s format (no zones, lighting, maps or
    events); ``varying_k`` drops the last two clusters for the middle third.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    photo = cv2.resize(sample_photo(), (w, h), interpolation=cv2.INTER_AREA)
    pixels = photo.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(seed)
    _, labels, centers = cv2.kmeans(pixels, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.reshape(h, w)
    palette = np.clip(centers, 0, 255).astype(np.uint8)

    t = np.arange(frames) / fps
    base = np.bincount(labels.ravel(), minlength=k) / labels.size
    phase = rng.uniform(0, 2 * np.pi, k)
    period = max(t[-1], 1.0) / rng.uniform(1.0, 4.0, k)
    share = base * (1 + 0.6 * np.sin(2 * np.pi * t[:, None] / period + phase))
    if varying_k and k > 2:
        share[frames // 3 : 2 * frames // 3, k - 2 :] = np.nan
    share /= np.nansum(share, axis=1, keepdims=True)
    drift = 12 * np.sin(2 * np.pi * t[:, None, None] / max(t[-1], 1.0) + phase[None, :, None])
    colors = np.clip(palette[None].astype(float) + drift, 0, 255).astype(np.uint8)
    cuts = np.zeros(frames, bool)
    cuts[[0, *rng.integers(1, frames, 2)]] = True
    lighting = np.zeros(frames, bool)
    lighting[int(frames * 0.6) : int(frames * 0.63)] = True
    zone_share = {}
    for z, name in enumerate(zones):
        zs = np.roll(np.nan_to_num(share), (z + 1) * frames // 7, axis=0) ** 2 + 1e-3
        zs[np.isnan(share)] = np.nan
        zone_share[name] = zs / np.nansum(zs, axis=1, keepdims=True)
    if plain:
        zone_share = {}

    stats = out / f"stats.{fmt}"
    writer = _write_csv if fmt == "csv" else _write_ndjson
    writer(stats, _Series(t, share, colors, cuts, None if plain else lighting, zone_share, w, h))
    if plain:
        return SampleRun(stats, None, None, share, {}, colors, [])
    maps_file = None
    if maps:
        maps_file = out / "stats.maps.npz"
        boxes = [_zone_box(i, w, h) for i in range(len(zones))]
        zones_json = [
            {"name": n, "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}
            for n, (x0, y0, x1, y1) in zip(zones, boxes, strict=True)
        ]
        edges = cv2.Canny(photo, 80, 160).astype(np.float32) / 255
        activity = cv2.GaussianBlur(edges, (0, 0), 3) * rng.uniform(0.5, 1.0)
        np.savez(
            maps_file,
            ownership=labels.astype(np.uint8),
            activity=np.clip(activity * 1.5, 0, 1).astype(np.float32),
            palette_bgr=palette,
            background=photo,
            zones_json=np.array(json.dumps(zones_json)),
        )
    events_file, event_zones = _write_events(out, events, t, frames, k, colors, photo, zones)
    return SampleRun(stats, events_file, maps_file, share, zone_share, colors, event_zones)


@dataclass(frozen=True)
class _Series:
    """What a stats writer writes (``lighting`` None: convert's plain format)."""

    t: np.ndarray
    share: np.ndarray
    colors: np.ndarray
    cuts: np.ndarray
    lighting: np.ndarray | None
    zone_share: dict[str, np.ndarray]
    w: int
    h: int

    def unpack(self) -> tuple[Any, ...]:
        """The fields in order, not copied (``dataclasses.astuple`` deep-copies)."""
        return tuple(getattr(self, f.name) for f in fields(self))


def _zone_box(i: int, w: int, h: int) -> tuple[int, int, int, int]:
    x0 = (w // 8 + i * w // 3) % max(w - w // 4, 1)
    return x0, h // 4, x0 + w // 4, h // 4 + h // 2


def _hex(bgr: np.ndarray) -> str:
    b, g, r = (int(v) for v in bgr)
    return f"#{r:02X}{g:02X}{b:02X}"


def _write_ndjson(path: Path, run: _Series) -> None:
    t, share, colors, cuts, lighting, zone_share, w, h = run.unpack()
    n, k = share.shape
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            rec: dict[str, object] = {
                "frame": i,
                "time_s": round(float(t[i]), 6),
                "width": w,
                "height": h,
                "scene_cut": bool(cuts[i]),
            }
            if lighting is not None:
                rec["lighting"] = bool(lighting[i])
            rec["inertia"] = 10.0
            live = [j for j in range(k) if not np.isnan(share[i, j])]
            rec["clusters"] = [
                {
                    "cluster": j,
                    "pixels": round(float(share[i, j]) * w * h),
                    "area_share": round(float(share[i, j]), 6),
                    "color_hex": _hex(colors[i, j]),
                    "b": int(colors[i, j, 0]),
                    "g": int(colors[i, j, 1]),
                    "r": int(colors[i, j, 2]),
                    "cx": 0.5,
                    "cy": None,
                }
                for j in live
            ]
            if lighting is not None:
                rec["zones"] = {
                    name: {
                        "area": w * h // 8,
                        "pixels": [round(float(zs[i, j]) * w * h / 8) for j in live],
                        "share": [round(float(zs[i, j]), 6) for j in live],
                        "bbox": [[1, 2, 30, 40] for _ in live],
                    }
                    for name, zs in zone_share.items()
                }
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def _write_csv(path: Path, run: _Series) -> None:
    t, share, colors, cuts, lighting, zone_share, w, h = run.unpack()
    n, k = share.shape
    analyze = lighting is not None
    with open(path, "w", encoding="utf-8") as f:
        f.write(_CSV_HEAD + (_ANALYZE_HEAD if analyze else "") + "\n")
        for i in range(n):
            rows = []
            for j in range(k):
                s = share[i, j]
                if np.isnan(s):
                    continue
                b, g, r = (int(v) for v in colors[i, j])
                common = (
                    f"{i},{t[i]:.6f},{j},{round(s * w * h)},{s:.6f},{_hex(colors[i, j])},"
                    f"{b},{g},{r},0.5,,{bool(cuts[i])}"
                )
                if not analyze:
                    rows.append(common)
                    continue
                light = bool(lighting[i])
                rows.append(f"{common},frame,,,,,,{light}")
                for name, zs in zone_share.items():
                    rows.append(f"{common},{name},{zs[i, j]:.6f},1,2,30,40,{light}")
            f.write("\n".join(rows) + "\n")


def _write_events(
    out: Path,
    n_events: int,
    t: np.ndarray,
    frames: int,
    k: int,
    colors: np.ndarray,
    photo: np.ndarray,
    zones: Sequence[str],
) -> tuple[Path | None, list[tuple[str, tuple[int, ...]]]]:
    if n_events <= 0:
        return None, []
    snaps = out / "snapshots"
    snaps.mkdir(exist_ok=True)
    lines: list[dict[str, object]] = []
    kept: list[tuple[str, tuple[int, ...]]] = []
    scopes = ["frame", *zones]
    for e in range(n_events):
        start = int(frames * (e + 0.5) / (n_events + 1))
        end = min(frames - 1, start + max(frames // (4 * n_events), 2))
        peak = (start + end) // 2
        cluster = e % k
        zone = scopes[e % len(scopes)]
        eid = f"e{e + 1}"
        common = {
            "id": eid,
            "rule": "share_above" if e % 2 == 0 else "appeared",
            "zone": zone,
            "clusters": [cluster],
            "colors": [_hex(colors[start, cluster])],
            "start": {"time_s": round(float(t[start]), 6), "frame": start},
            "baseline": 0.1,
            "metric": "area_share",
        }
        lines.append({"type": "start", **common})
        kept.append((zone, (cluster,)))
        if e == n_events - 1 and n_events > 1:
            continue  # the last event is still open when the run stops
        snap = snaps / f"{eid}.jpg"
        crop = np.roll(photo, -e * photo.shape[1] // n_events, axis=1)
        cv2.imwrite(str(snap), crop)
        lines.append(
            {
                "type": "end",
                **common,
                "peak": {"time_s": round(float(t[peak]), 6), "frame": peak, "value": 0.4},
                "end": {"time_s": round(float(t[end]), 6), "frame": end, "value": 0.12},
                "snapshot": f"snapshots/{eid}.jpg",
            }
        )
    path = out / "events.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path, kept
