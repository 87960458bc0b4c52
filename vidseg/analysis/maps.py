"""Where things happened: ownership and activity maps accumulated over a run.

:class:`MapAccumulator` samples each frame's labels on a grid (one pixel per
``stride`` x ``stride`` cell, ``stride`` chosen so the grid has about 100k
cells: 4 at 720p, 2 at 640x360) and counts, per cell, how often its label
changed from the previous frame (every frame) and which cluster owned it (every
4th frame: ownership changes slowly, and the count planes are the costly part).
That costs a fraction of a millisecond per 720p frame.  :meth:`MapAccumulator.save` scales the
maps back to the frame size and writes them, with the last palette, a
background image (the per-pixel median of up to 8 frames spread over the run)
and the zones, to one ``.npz`` file (atomically).

File contents (``<stats stem>.maps.npz``):

``ownership``    (H, W) uint8: the cluster that owned the pixel most often
                 (masked pixels too: they are labelled, only not counted);
``activity``     (H, W) float32: fraction of frame-to-frame steps whose label
                 changed there (0 for masked pixels);
``ignored``      (H, W) bool: the masked pixels;
``palette_bgr``  (k, 3) uint8: each cluster's colour in the last frame that
                 had it (k = the largest k of the run, so every id in
                 ``ownership`` has a colour);
``background``   (H, W, 3) uint8 BGR;
``zones_json``   0-d str: JSON list of ``{"name", "points"}`` (points in pixels);
``frames``       0-d int64: frames accumulated; ``stride``: the grid step.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import numba
import numpy as np

from ..io._partial import write_atomically

__all__ = ["MapAccumulator", "maps_path"]

log = logging.getLogger(__name__)

_GRID_CELLS = 100_000
_BACKGROUND_FRAMES = 8
_OWNER_EVERY = 4  # frames between ownership counts
_BACKGROUND_EVERY = 8  # frames between background samples at first (the gap doubles when full)


def maps_path(stats_path: Path) -> Path:
    """``<stats stem>.maps.npz`` next to the stats file."""
    return stats_path.with_name(f"{stats_path.stem}.maps.npz")


class MapAccumulator:
    """Ownership and activity counts on a grid of one frame size.

    Parameters
    ----------
    width, height : int
        Frame size.
    ignore : ndarray, shape (H, W), bool, optional
        Masked pixels (no owner, no activity in the saved maps).
    """

    def __init__(self, width: int, height: int, ignore: np.ndarray | None = None) -> None:
        self.width, self.height, self.ignore = width, height, ignore
        self.stride = max(1, int(np.ceil(np.sqrt(width * height / _GRID_CELLS))))
        gh, gw = -(-height // self.stride), -(-width // self.stride)
        self.frames = 0
        self.palette_bgr = np.zeros((0, 3), np.uint8)
        self._owned = np.zeros((gh, gw, 0), np.int32)
        self._changed = np.zeros((gh, gw), np.int32)
        self._prev = np.zeros((gh, gw), np.uint8)
        self._ys = np.minimum(np.arange(gh) * self.stride + self.stride // 2, height - 1)
        self._xs = np.minimum(np.arange(gw) * self.stride + self.stride // 2, width - 1)
        self._background: list[np.ndarray] = []
        self._every = _BACKGROUND_EVERY

    def update(self, labels: np.ndarray, image: np.ndarray, palette_bgr: np.ndarray) -> None:
        """Add one frame: ``(H, W)`` uint8 labels, its BGR image and ``(k, 3)`` palette."""
        k = len(palette_bgr)
        if k > self._owned.shape[2]:  # k grew (live controls): more count planes
            grow = k - self._owned.shape[2]
            self._owned = np.pad(self._owned, ((0, 0), (0, 0), (0, grow)))
        _grid_pass(
            labels,
            self._ys,
            self._xs,
            self._prev,
            self._owned,
            self._changed,
            self.frames > 0,
            self.frames % _OWNER_EVERY == 0,
        )
        if k > len(self.palette_bgr):
            grown = np.zeros((k, 3), np.uint8)
            grown[: len(self.palette_bgr)] = self.palette_bgr
            self.palette_bgr = grown
        self.palette_bgr[:k] = palette_bgr  # ids beyond k (k shrank) keep their last colour
        if self.frames % self._every == 0:
            if len(self._background) == _BACKGROUND_FRAMES:
                # Full: keep every other frame and sample half as often, so the
                # kept frames stay spread over the whole run.
                self._background = self._background[::2]
                self._every *= 2
            if self.frames % self._every == 0:
                self._background.append(image.copy())  # sources may reuse buffers
        self.frames += 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The maps at frame size (see the module docstring), without the zones."""
        import cv2

        size = (self.width, self.height)
        if self._owned.shape[2] == 0:
            owner = np.zeros(self._prev.shape, np.uint8)
        else:
            owner = self._owned.argmax(axis=2).astype(np.uint8)
        steps = max(self.frames - 1, 1)
        changed = (self._changed / np.float32(steps)).astype(np.float32)
        ownership = cv2.resize(owner, size, interpolation=cv2.INTER_NEAREST)
        activity = cv2.resize(changed, size, interpolation=cv2.INTER_NEAREST)
        ignored = np.zeros((self.height, self.width), bool)
        if self.ignore is not None:
            ignored = self.ignore
            activity[ignored] = 0.0
        if self._background:
            background = _median_frames(np.stack(self._background))
        else:
            background = np.zeros((self.height, self.width, 3), np.uint8)
        return {
            "ownership": ownership,
            "activity": activity,
            "ignored": ignored,
            "palette_bgr": np.asarray(self.palette_bgr, np.uint8),
            "background": background,
            "frames": np.int64(self.frames),
            "stride": np.int64(self.stride),
        }

    def save(self, path: Path, zones: dict[str, np.ndarray]) -> None:
        """Write the maps and ``zones`` (name -> (n, 2) pixel vertices) to ``path`` atomically.

        Raises
        ------
        OSError
            Writing failed (no partial file is left).
        """
        zones_json = json.dumps(
            [{"name": n, "points": np.round(p, 3).tolist()} for n, p in zones.items()]
        )
        arrays = {**self.arrays(), "zones_json": np.array(zones_json)}
        write_atomically(path, _npz(arrays))
        log.info("wrote ownership and activity maps of %d frames to %r", self.frames, str(path))


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (what ``np.load`` reads) deflated at level 1: a fifth of
    ``np.savez_compressed``'s time for a 720p run's maps, at a similar size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _median_frames(stack):  # pragma: no cover
    """Per-value median of ``(n, H, W, 3)`` uint8 frames (the lower middle for even n)."""
    n = stack.shape[0]
    flat = stack.reshape(n, -1)
    out = np.empty(flat.shape[1], np.uint8)
    values = np.empty(n, np.uint8)
    for i in range(flat.shape[1]):
        for j in range(n):  # insertion sort: n is at most 8
            v = flat[j, i]
            m = j
            while m > 0 and values[m - 1] > v:
                values[m] = values[m - 1]
                m -= 1
            values[m] = v
        out[i] = values[(n - 1) // 2]
    return out.reshape(stack.shape[1:])


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _grid_pass(labels, ys, xs, prev, owned, changed, has_prev, count_owner):  # pragma: no cover
    """Count label changes (and owners, when ``count_owner``) at the grid's sample pixels."""
    for gy in range(len(ys)):
        row = labels[ys[gy]]
        for gx in range(len(xs)):
            lbl = row[xs[gx]]
            if count_owner:
                owned[gy, gx, lbl] += 1
            if has_prev and prev[gy, gx] != lbl:
                changed[gy, gx] += 1
            prev[gy, gx] = lbl
