"""Hard scene-cut cases built from the shared clips, and look-alikes that are not cuts.

Our first cut clip joined very different videos, which any histogram catches.
Real footage cuts between similar shots; these cases do:

``similar_static``  two static outdoor cameras at dusk/overcast (traffic, parking
                    lot), alternating: same kind of scene, similar greys;
``jump_moved``      one camera, about 10 s later, the camera moved (a shifted,
                    slightly zoomed crop of the same clip);
``cut_in_pan``      a cut during a pan: the panning horses clip jumps ahead by 2.7 s
                    while the pan goes on (same beach, same colours);
``flash``           not a cut: one over-exposed frame in a static clip;
``fast_pan``        not a cut: the horses pan at 3x speed;
``fast_drive``      not a cut: the dashcam at 2x speed.

Every case is a :class:`~_clips.Clip` whose ``cuts`` lists the true cuts (empty
for the look-alikes).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from _clips import Clip, load_video, media_dir

__all__ = ["CUT_CASES", "cut_case"]

SIZE = (640, 360)


def _load(name: str, n: int, start: int = 0, step: int = 1) -> list[np.ndarray]:
    frames = load_video(media_dir() / name, start + n * step, start=0, size=SIZE)[start:]
    return frames[::step][:n]


def _moved(frame: np.ndarray, dx: int, dy: int, zoom: float) -> np.ndarray:
    h, w = frame.shape[:2]
    cw, ch = int(w / zoom), int(h / zoom)
    crop = frame[dy : dy + ch, dx : dx + cw]
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)


def _similar_static() -> Clip:
    traffic = "o4n_traffic_topdown_static.mp4"
    parking = "intel_parking_lot_static.mp4"
    parts = [
        _load(traffic, 30),
        _load(parking, 30),
        _load(traffic, 30, 200),
        _load(parking, 30, 200),
    ]
    return _join("similar_static", parts, static=True)


def _jump_moved() -> Clip:
    clip = "vtest_pedestrians_static.avi"
    a = _load(clip, 40)
    b = [_moved(f, 36, 20, 1.12) for f in _load(clip, 40, 100)]  # 10 s later at 10 fps
    c = _load(clip, 40, 300)
    return _join("jump_moved", [a, b, c], static=True)


def _cut_in_pan() -> Clip:
    horses = "o4n_horses_panning.mp4"
    return _join("cut_in_pan", [_load(horses, 35), _load(horses, 40, 80)])


def _flash() -> Clip:
    frames = _load("intel_parking_lot_static.mp4", 60)
    frames[30] = cv2.convertScaleAbs(frames[30], alpha=1.9, beta=30)
    return Clip(name="flash", frames=frames, static=True, source="parking lot, frame 30 x1.9+30")


def _fast_pan() -> Clip:
    frames = _load("o4n_horses_panning.mp4", 40, step=3)
    return Clip(name="fast_pan", frames=frames, source="horses, every 3rd frame")


def _fast_drive() -> Clip:
    frames = _load("udacity_dashcam_solidWhiteRight.mp4", 100, step=2)
    return Clip(name="fast_drive", frames=frames, source="dashcam, every 2nd frame")


def _join(
    name: str, parts: list[list[np.ndarray]], *, static: bool = False, cuts: bool = True
) -> Clip:
    frames: list[np.ndarray] = []
    at: list[int] = []
    for part in parts:
        if frames:
            at.append(len(frames))
        frames.extend(np.ascontiguousarray(f) for f in part)
    return Clip(
        name=name, frames=frames, static=static, cuts=tuple(at) if cuts else (), source=name
    )


CUT_CASES: dict[str, Callable[[], Clip]] = {
    "similar_static": _similar_static,
    "jump_moved": _jump_moved,
    "cut_in_pan": _cut_in_pan,
    "flash": _flash,
    "fast_pan": _fast_pan,
    "fast_drive": _fast_drive,
}


def cut_case(name: str) -> Clip:
    """Build the named case (see the module docstring)."""
    return CUT_CASES[name]()
