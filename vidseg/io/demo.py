"""The built-in demo clip: a slow pan and zoom over a real photo, made in code.

scikit-learn ships ``china.jpg`` and ``flower.jpg``; reading them with OpenCV
avoids a Pillow dependency.  No camera or file is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

__all__ = ["demo_frames", "sample_photo"]

PHOTOS = ("china.jpg", "flower.jpg")


def sample_photo(name: str = "china.jpg") -> np.ndarray:
    """Return one of scikit-learn's bundled photos as a BGR uint8 array (427x640)."""
    import sklearn.datasets

    if name not in PHOTOS:
        raise ValueError(f"unknown sample photo {name!r}; choose one of {', '.join(PHOTOS)}")
    path = Path(sklearn.datasets.__file__).parent / "images" / name
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"scikit-learn's sample photo is missing at {path}")
    return img


def demo_frames(
    n_frames: int = 90,
    size: tuple[int, int] = (640, 360),
    photo: str = "china.jpg",
    cut_every: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield a slow pan with a gentle zoom over a real photo.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    size : (width, height)
        Output frame size; any size works (the photo is scaled to cover it).
    photo : str
        ``"china.jpg"`` or ``"flower.jpg"``.
    cut_every : int, optional
        Switch to the other photo every ``cut_every`` frames (hard scene cuts).

    Yields
    ------
    ndarray, shape (height, width, 3), uint8
        BGR frames.
    """
    width, height = size
    photos = [sample_photo(photo), sample_photo(PHOTOS[1 - PHOTOS.index(photo)])]
    for i in range(n_frames):
        src = photos[(i // cut_every) % 2 if cut_every else 0]
        ph, pw = src.shape[:2]
        t = i / max(n_frames - 1, 1)
        # Crop window covering 70..80% of the photo, drifting left to right.
        scale = 0.8 - 0.1 * t
        cw = scale * pw
        ch = cw * height / width
        if ch > ph:
            ch, cw = ph * 0.95, ph * 0.95 * width / height
        x0 = (pw - cw) * t
        y0 = (ph - ch) * (0.3 + 0.4 * t)
        m = np.array([[width / cw, 0, -x0 * width / cw], [0, height / ch, -y0 * height / ch]])
        yield cv2.warpAffine(
            src, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
