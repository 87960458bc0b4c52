"""Read a run's per-pixel maps (``<stats stem>.maps.npz``), when the analyser wrote them.

Format (the contract with ``vidseg analyze``): an ``.npz`` beside the stats
file, named after its stem (``run.ndjson`` -> ``run.maps.npz``), with

* ``ownership`` (H, W) uint8: the cluster id that owned each pixel most often;
* ``activity`` (H, W) float32: fraction of frames in which the pixel's label changed;
* ``palette_bgr`` (k, 3) uint8: the colour to paint each cluster id with;
* ``background`` (H, W, 3) uint8 BGR, optional: a representative frame;
* ``zones_json``, optional, a 0-d str array: a JSON list of
  ``{"name": str, "points": [[x, y], ...]}`` in pixels.

>>> maps_path("runs/cam.ndjson").as_posix()
'runs/cam.maps.npz'
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .load import StatsFormatError

__all__ = ["Maps", "ZonePolygon", "load_maps", "maps_path"]


@dataclass(frozen=True)
class ZonePolygon:
    """A named zone outline, ``points`` shape (m, 2) in pixels (x, y)."""

    name: str
    points: np.ndarray


@dataclass(frozen=True, eq=False)
class Maps:
    """Per-pixel summaries of a run (see the module docstring for the arrays)."""

    ownership: np.ndarray
    activity: np.ndarray
    palette_bgr: np.ndarray
    background: np.ndarray | None = None
    zones: list[ZonePolygon] = field(default_factory=list)


def maps_path(stats: str | Path) -> Path:
    """Where the maps of the stats file ``stats`` are written."""
    stats = Path(stats)
    return stats.with_name(f"{stats.stem}.maps.npz")


def load_maps(path: str | Path) -> Maps | None:
    """Read the maps file; ``None`` if there is none.

    Raises
    ------
    StatsFormatError
        The file exists but is not a readable maps file (names the array at fault).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise StatsFormatError(f"cannot read maps file {str(path)!r}: {exc}") from None
    missing = [n for n in ("ownership", "activity", "palette_bgr") if n not in arrays]
    if missing:
        raise StatsFormatError(f"maps file {str(path)!r} lacks {', '.join(missing)}")
    ownership, activity = arrays["ownership"], arrays["activity"]
    palette = arrays["palette_bgr"]
    background = arrays.get("background")
    if ownership.ndim != 2 or activity.shape != ownership.shape:
        raise StatsFormatError(
            f"maps file {str(path)!r}: ownership {ownership.shape} and activity "
            f"{activity.shape} must both be (H, W)"
        )
    if (
        palette.ndim != 2
        or palette.shape[1] != 3
        or (ownership.size and ownership.max() >= len(palette))
    ):
        raise StatsFormatError(
            f"maps file {str(path)!r}: palette_bgr {palette.shape} must be (k, 3) with a "
            f"colour for every id in ownership"
        )
    if background is not None and background.shape != (*ownership.shape, 3):
        raise StatsFormatError(
            f"maps file {str(path)!r}: background {background.shape} must be (H, W, 3)"
        )
    return Maps(
        ownership=ownership.astype(np.intp),
        activity=activity.astype(np.float32),
        palette_bgr=palette.astype(np.uint8),
        background=None if background is None else background.astype(np.uint8),
        zones=_zones(arrays.get("zones_json"), path),
    )


def _zones(value: np.ndarray | None, path: Path) -> list[ZonePolygon]:
    if value is None:
        return []
    try:
        items = json.loads(str(value[()]))
        return [
            ZonePolygon(name=str(z["name"]), points=np.asarray(z["points"], float).reshape(-1, 2))
            for z in items
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise StatsFormatError(
            f"maps file {str(path)!r}: zones_json is not a list of name/points ({exc})"
        ) from None
