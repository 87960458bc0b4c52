"""Snapshots: one frame's original, its segmented view and its statistics, side by side.

:func:`write_snapshot` writes three files that share one timestamped stem::

    vidseg-20261202-101530-123-f000042-original.png
    vidseg-20261202-101530-123-f000042-recolor.png
    vidseg-20261202-101530-123-f000042.json

Each file is written under a temporary name and renamed when complete, so a
crash never leaves half an image.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import SinkError, reason

if TYPE_CHECKING:
    from ..frames import FrameResult

__all__ = ["Snapshot", "snapshot_json", "write_snapshot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Where a snapshot went.

    Attributes
    ----------
    original, segmented, stats : Path
        The original frame (PNG), the segmented view (PNG), the statistics (JSON).
    """

    original: Path
    segmented: Path
    stats: Path


def snapshot_json(result: FrameResult, view: str) -> dict[str, object]:
    """The statistics record of a snapshot (the NDJSON record plus k and the view)."""
    record = result.stats.to_dict()
    record["n_clusters"] = result.stats.n_clusters
    record["view"] = view
    return record


def write_snapshot(result: FrameResult | None, directory: Path, *, view: str) -> Snapshot:
    """Write ``result``'s original, ``view`` and statistics into ``directory``.

    Raises
    ------
    SinkError
        ``result`` is None (no frame yet) or a file cannot be written.
    """
    if result is None:
        raise SinkError("no frame to snapshot yet; wait for the first frame")
    if not directory.is_dir():
        raise SinkError(f"snapshot directory {str(directory)!r} does not exist; create it first")
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"
    stem = f"vidseg-{stamp}-f{result.frame.index:06d}"
    snap = Snapshot(
        original=directory / f"{stem}-original.png",
        segmented=directory / f"{stem}-{view}.png",
        stats=directory / f"{stem}.json",
    )
    _write_atomic(snap.original, _png(result.frame.image))
    _write_atomic(snap.segmented, _png(result.render_view(view)))
    text = json.dumps(snapshot_json(result, view), indent=1) + "\n"
    _write_atomic(snap.stats, text.encode("utf-8"))
    log.info("snapshot of frame %d: %s, %s, %s", result.frame.index, *snap.__dict__.values())
    return snap


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise SinkError("PNG encoding failed")
    return buf.tobytes()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SinkError(f"cannot write snapshot {str(path)!r}: {reason(exc)}") from None
