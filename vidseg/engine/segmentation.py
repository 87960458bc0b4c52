"""The per-frame result of :meth:`vidseg.Segmenter.segment`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import paint

__all__ = ["Segmentation"]


@dataclass(frozen=True, eq=False)
class Segmentation:
    """One frame's segmentation.

    Attributes
    ----------
    labels : ndarray, shape (H, W), uint8
        Cluster id of every pixel, in ``[0, k)``.
    centers : ndarray, shape (k, 3), float32
        Cluster colours in BGR order on the input's 0..255 scale.
    areas : ndarray, shape (k,), float64
        Share of the frame per cluster; sums to 1.
    counts : ndarray, shape (k,), int64
        Pixels per cluster.
    centroids : ndarray, shape (k, 2), float64
        Mean ``(x, y)`` position per cluster as a fraction of width/height
        (NaN for an empty cluster).
    scene_cut : bool
        This frame re-seeded the palette (first frame, after ``reset()``, or a
        detected hard cut).
    inertia : float
        Mean squared distance of the sampled pixels to their centre, in the
        clustering space (the fit error).
    frame_index : int
        Position of the frame in the segmenter's sequence (0-based).
    color_space : str
        The space the clustering ran in.

    Examples
    --------
    >>> import numpy as np
    >>> from vidseg import Segmenter
    >>> frame = np.zeros((4, 4, 3), np.uint8); frame[:, 2:] = (0, 0, 255)
    >>> res = Segmenter(n_clusters=2).segment(frame)
    >>> sorted(res.areas.tolist())
    [0.5, 0.5]
    """

    labels: np.ndarray
    centers: np.ndarray
    areas: np.ndarray
    counts: np.ndarray
    centroids: np.ndarray
    scene_cut: bool
    inertia: float
    frame_index: int
    color_space: str

    @property
    def n_clusters(self) -> int:
        """Number of clusters k."""
        return int(self.centers.shape[0])

    @property
    def palette(self) -> np.ndarray:
        """Cluster colours as ``(k, 3)`` uint8 BGR."""
        return np.rint(self.centers).astype(np.uint8)

    def recolor(self, out: np.ndarray | None = None) -> np.ndarray:
        """Paint every pixel with its cluster's colour.

        Parameters
        ----------
        out : ndarray, shape (H, W, 3), uint8, optional
            Buffer to write into (reused across frames to avoid allocation).

        Returns
        -------
        ndarray, shape (H, W, 3), uint8
            BGR image.
        """
        h, w = self.labels.shape
        if out is None:
            out = np.empty((h, w, 3), np.uint8)
        elif out.shape != (h, w, 3) or out.dtype != np.uint8:
            raise ValueError(
                f"out must be a ({h}, {w}, 3) uint8 array; got {out.shape} {out.dtype}"
            )
        paint(self.labels, self.palette, out)
        return out
