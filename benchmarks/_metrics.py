"""Quality and stability metrics for the segmentation benchmarks.

All functions take plain arrays, so they are easy to test on synthetic data:

* :func:`wcss` - within-cluster sum of squares of a labelling, every cluster
  scored against its own mean;
* :func:`reference_wcss` - the same score of a scikit-learn ``KMeans`` fitted on a
  random pixel sample (labels = nearest reference centre over all pixels);
* :func:`label_change` - fraction of pixels whose label differs between frames;
* :class:`FlickerMeter` - mean output change over mean input change;
* :func:`still_mask` / :class:`StillLabelChange` - label flips on still pixels (SLC);
* :func:`drms` - absolute excess RMS error of a labelling over the reference;
* :func:`nearest_center` - exact nearest-centre assignment.

Colour spaces come from :func:`vidseg.engine.colorspace.to_space`; a local copy of
the same transforms (:func:`local_to_space`) is used only when the engine does not
provide it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Hashable, Sequence

import cv2
import numpy as np

__all__ = [
    "STILL_BOX_MEAN",
    "FlickerMeter",
    "ReferenceCache",
    "StillLabelChange",
    "cut_recovered",
    "drms",
    "frame_pixels",
    "inertia_ratio",
    "label_change",
    "local_to_space",
    "mean_abs_diff",
    "nearest_center",
    "reference_labels",
    "reference_wcss",
    "still_mask",
    "to_space",
    "to_space_source",
    "wcss",
]

SPACES = ("bgr", "lab", "oklab")

# OkLab (Björn Ottosson): linear sRGB -> LMS, cube root, -> Lab.
_M1 = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def local_to_space(pixels: np.ndarray, space: str) -> np.ndarray:
    """Fallback of ``vidseg.engine.colorspace.to_space`` (same conventions).

    *pixels*: ``(N, 3)`` BGR, 0..255.  ``"bgr"``: identity; ``"lab"``: OpenCV CIELAB
    of float input (L 0..100); ``"oklab"``: OkLab x 100.
    """
    x = np.asarray(pixels, dtype=np.float32).reshape(-1, 3)
    if space == "bgr":
        return x
    if space == "lab":
        lab = cv2.cvtColor((x * np.float32(1 / 255)).reshape(-1, 1, 3), cv2.COLOR_BGR2Lab)
        return lab.reshape(-1, 3)
    if space == "oklab":
        c = x[:, ::-1] * np.float32(1 / 255)  # RGB 0..1
        lin = np.where(
            c <= 0.04045,
            c / np.float32(12.92),
            ((c + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4),
        )
        lms = np.cbrt(lin @ _M1.T.astype(np.float32))
        return np.ascontiguousarray(lms @ (_M2.T * 100).astype(np.float32), dtype=np.float32)
    raise ValueError(f"unknown colour space {space!r}; choose one of {', '.join(SPACES)}")


@functools.cache
def _resolve_to_space() -> tuple[Callable[[np.ndarray, str], np.ndarray], str]:
    try:
        from vidseg.engine.colorspace import to_space as engine_to_space
    except ImportError:
        return local_to_space, "benchmarks._metrics.local_to_space (engine has none)"
    return engine_to_space, "vidseg.engine.colorspace.to_space"


def to_space(pixels: np.ndarray, space: str) -> np.ndarray:
    """``(N, 3)`` BGR 0..255 -> float32 ``(N, 3)`` in *space* (the engine's transform)."""
    fn = _resolve_to_space()[0]
    out = fn(np.ascontiguousarray(np.asarray(pixels, dtype=np.float32).reshape(-1, 3)), space)
    return np.ascontiguousarray(out, dtype=np.float32).reshape(-1, 3)


def to_space_source() -> str:
    """Which ``to_space`` implementation is in use."""
    return _resolve_to_space()[1]


_LUT_CHUNK = 1 << 20


@functools.cache
def _space_lut(space: str) -> np.ndarray:
    """``to_space`` of all 2**24 BGR colours, float32 (2**24, 3); built once per space.

    Lets :func:`frame_pixels` give exactly the engine's values for a whole frame at
    the cost of one gather, instead of a float64 conversion of every pixel.
    """
    lut = np.empty((1 << 24, 3), np.float32)
    codes = np.arange(_LUT_CHUNK, dtype=np.uint32)
    for start in range(0, 1 << 24, _LUT_CHUNK):
        c = codes + start
        bgr = np.stack([(c >> 16) & 255, (c >> 8) & 255, c & 255], axis=1).astype(np.float32)
        lut[start : start + _LUT_CHUNK] = to_space(bgr, space)
    return lut


def frame_pixels(frame: np.ndarray, space: str) -> np.ndarray:
    """All pixels of an ``(H, W, 3)`` uint8 BGR frame as float32 ``(H*W, 3)`` in *space*.

    Same values as :func:`to_space`; uint8 frames go through a cached table of all
    colours (built on first use, ~200 MB per space) for speed.
    """
    px = np.asarray(frame).reshape(-1, 3)
    if space == "bgr" or px.dtype != np.uint8:
        return to_space(px.astype(np.float32), space)
    code = (px[:, 0].astype(np.int32) << 16) | (px[:, 1].astype(np.int32) << 8) | px[:, 2]
    return _space_lut(space)[code]


def wcss(x: np.ndarray, labels: np.ndarray, k: int | None = None) -> float:
    """Within-cluster sum of squares; every cluster is scored against its own mean.

    Parameters
    ----------
    x : ndarray, shape (N, d)
        Points.
    labels : ndarray, shape (N,) or any shape with N elements
        Integer cluster ids (>= 0).
    k : int, optional
        Number of clusters (default ``labels.max() + 1``).
    """
    x = np.asarray(x).reshape(len(x), -1)
    lab = np.asarray(labels).reshape(-1).astype(np.intp, copy=False)
    if lab.size != len(x):
        raise ValueError(f"{lab.size} labels for {len(x)} points")
    if lab.size == 0:
        return 0.0
    k = int(lab.max()) + 1 if k is None else max(int(k), int(lab.max()) + 1)
    counts = np.bincount(lab, minlength=k).astype(np.float64)
    total = 0.0
    between = 0.0
    nz = counts > 0
    for j in range(x.shape[1]):
        col = x[:, j].astype(np.float64)
        total += float(np.dot(col, col))
        sums = np.bincount(lab, weights=col, minlength=k)
        between += float(np.sum(sums[nz] ** 2 / counts[nz]))
    return max(total - between, 0.0)


def nearest_center(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Exact nearest-centre label of every point (ties: lowest index).

    Squared distances come from explicit differences (no ``|x|^2 - 2x.c + |c|^2``
    cancellation) in float32, one centre at a time.
    """
    x = np.asarray(x, dtype=np.float32)
    d_in = x.shape[-1] if x.ndim > 1 else 1
    cols = np.ascontiguousarray(x.reshape(-1, d_in).T)  # (d, N)
    centers = np.asarray(centers, dtype=np.float32).reshape(-1, d_in)
    n = cols.shape[1]
    best = np.full(n, np.inf, np.float32)
    labels = np.zeros(n, dtype=np.intp)
    d = np.empty(n, np.float32)
    tmp = np.empty(n, np.float32)
    for c, centre in enumerate(centers):
        np.subtract(cols[0], centre[0], out=d)
        np.square(d, out=d)
        for j in range(1, d_in):
            np.subtract(cols[j], centre[j], out=tmp)
            np.square(tmp, out=tmp)
            d += tmp
        closer = d < best
        np.copyto(best, d, where=closer)
        labels[closer] = c
    return labels


def reference_labels(
    x: np.ndarray, k: int = 8, *, sample: int = 20000, seed: int = 0, n_init: int = 3
) -> np.ndarray:
    """Labels of the quality reference.

    ``KMeans(n_clusters=k, n_init=n_init, random_state=0)`` fitted on a random
    sample of *sample* points (drawn with *seed*), then every point gets the
    nearest reference centre.
    """
    from sklearn.cluster import KMeans

    x = np.asarray(x, dtype=np.float32).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    fit_x = x if len(x) <= sample else x[rng.choice(len(x), sample, replace=False)]
    with warnings.catch_warnings():
        # a frame with fewer than k distinct colours is fine; the score is still valid
        warnings.simplefilter("ignore")
        km = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit(fit_x)
    return nearest_center(x, km.cluster_centers_)


def reference_wcss(
    x: np.ndarray, k: int = 8, *, sample: int = 20000, seed: int = 0, n_init: int = 3
) -> float:
    """:func:`wcss` of :func:`reference_labels` (the denominator of the inertia ratio)."""
    return wcss(x, reference_labels(x, k, sample=sample, seed=seed, n_init=n_init), k)


def inertia_ratio(x: np.ndarray, labels: np.ndarray, ref: float, k: int | None = None) -> float:
    """``wcss(x, labels) / ref``; 1.0 when both are 0 (a perfectly separable frame)."""
    own = wcss(x, labels, k)
    if ref <= 0.0:
        return 1.0 if own <= 0.0 else float("inf")
    return own / ref


class ReferenceCache:
    """Reference scores, computed once per key (e.g. ``(clip, frame, space)``)."""

    def __init__(self, k: int = 8, *, sample: int = 20000, n_init: int = 3) -> None:
        self.k = k
        self.sample = sample
        self.n_init = n_init
        self._scores: dict[Hashable, float] = {}

    def __len__(self) -> int:
        return len(self._scores)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._scores

    def get(self, key: Hashable, x: np.ndarray | Callable[[], np.ndarray], seed: int = 0) -> float:
        """Reference WCSS for *key*; *x* (points, or a function giving them) is used once."""
        if key not in self._scores:
            pts = x() if callable(x) else x
            self._scores[key] = reference_wcss(
                pts, self.k, sample=self.sample, seed=seed, n_init=self.n_init
            )
        return self._scores[key]


def label_change(prev: np.ndarray, cur: np.ndarray) -> float:
    """Fraction of pixels whose label differs between two label maps."""
    prev = np.asarray(prev)
    cur = np.asarray(cur)
    if prev.shape != cur.shape:
        raise ValueError(f"label maps differ in shape: {prev.shape} vs {cur.shape}")
    return float(np.count_nonzero(prev != cur)) / max(cur.size, 1)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, computed exactly (as float)."""
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        return float(cv2.absdiff(a, b).mean(dtype=np.float64))
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


class FlickerMeter:
    """Flicker ratio of a stream: mean |out_t - out_{t-1}| / mean |in_t - in_{t-1}|.

    Both means run over all pixels, channels and frame pairs added, so a pair of
    identical input frames (duplicated video frames) needs no special case.  A
    ratio below 1 means the output changes less than the input.
    """

    def __init__(self) -> None:
        self.out_sum = 0.0
        self.in_sum = 0.0
        self.pairs = 0

    def add(
        self, in_prev: np.ndarray, in_cur: np.ndarray, out_prev: np.ndarray, out_cur: np.ndarray
    ) -> None:
        self.out_sum += mean_abs_diff(out_prev, out_cur)
        self.in_sum += mean_abs_diff(in_prev, in_cur)
        self.pairs += 1

    @property
    def ratio(self) -> float:
        """The flicker ratio; NaN without pairs, 0 for unchanged output of a still input."""
        if self.pairs == 0:
            return float("nan")
        if self.in_sum <= 0.0:
            return 0.0 if self.out_sum <= 0.0 else float("inf")
        return self.out_sum / self.in_sum


def flicker_ratio(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> float:
    """:class:`FlickerMeter` over consecutive frames of two equally long sequences."""
    if len(inputs) != len(outputs):
        raise ValueError("inputs and outputs differ in length")
    meter = FlickerMeter()
    for t in range(1, len(inputs)):
        meter.add(inputs[t - 1], inputs[t], outputs[t - 1], outputs[t])
    return meter.ratio


def drms(own: float, ref: float, n: int) -> float:
    """``sqrt(own / n) - sqrt(ref / n)``: the excess RMS error of a labelling (WCSS ``own``)
    over the reference (WCSS ``ref``) on ``n`` points, in the clustering space's units."""
    return float(np.sqrt(own / n) - np.sqrt(ref / n))


# A pixel is still when the 5x5 box mean of |dB|+|dG|+|dR| between two frames is at most
# this (the box mean, not the raw per-pixel value the engine's own hysteresis gate uses).
STILL_BOX_MEAN = 12


def still_mask(prev: np.ndarray, cur: np.ndarray, threshold: float = STILL_BOX_MEAN) -> np.ndarray:
    """``(H, W)`` bool: pixels whose 5x5 box mean of |dB|+|dG|+|dR| is <= ``threshold``."""
    diff = cv2.absdiff(prev, cur).astype(np.float32).sum(axis=2)
    return cv2.blur(diff, (5, 5)) <= threshold


class StillLabelChange:
    """Still-pixel label change (SLC) of a stream: label flips on still pixels / still pixels.

    Summed over every frame pair added, so frames with few still pixels weigh less.
    """

    def __init__(self) -> None:
        self.flips = 0
        self.still = 0

    def add(
        self, in_prev: np.ndarray, in_cur: np.ndarray, lab_prev: np.ndarray, lab_cur: np.ndarray
    ) -> None:
        m = still_mask(in_prev, in_cur)
        self.still += int(np.count_nonzero(m))
        self.flips += int(np.count_nonzero(m & (np.asarray(lab_prev) != np.asarray(lab_cur))))

    @property
    def ratio(self) -> float:
        """The SLC as a fraction; NaN without still pixels."""
        return self.flips / self.still if self.still else float("nan")


def cut_recovered(
    ratios: dict[int, float], cut: int, *, within: int = 2, tol: float = 1.05
) -> bool | None:
    """Whether the inertia ratio is ``<= tol`` on some frame ``cut .. cut + within``.

    ``None`` when none of those frames was scored.
    """
    window = [ratios[i] for i in range(cut, cut + within + 1) if i in ratios]
    if not window:
        return None
    return min(window) <= tol
