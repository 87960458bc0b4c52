"""The scikit-learn k-means calls (the only module that imports scikit-learn).

Three fits on the pixel sample: a k-means++ palette from scratch, the
warm-started mini-batch fit that every frame runs from the previous centres,
and the same warm start run to convergence (:func:`polish`).

scikit-learn is imported by the first fit, not with this module: with SciPy it
is the largest part of a cold start (about 1 s of CPU), so importing the engine
stays cheap (``vidseg --help``, tools that never fit) and a caller can overlap
the import with other start-up work (:func:`preload`).
"""

from __future__ import annotations

import numpy as np

from .fitting import nearest, refill_empty

__all__ = ["fresh_palette", "polish", "preload", "warm_fit"]


def preload() -> None:
    """Import what the fits need (scikit-learn's k-means, SciPy's matching) now."""
    import scipy.optimize  # noqa: F401
    import sklearn.cluster  # noqa: F401


def fresh_palette(x: np.ndarray, k: int, *, seed: int, n_init: int) -> tuple[np.ndarray, int]:
    """k-means++ palette of ``x``; returns (centres (k, 3) float32, distinct colours).

    A sample with fewer than ``k`` distinct colours gets those colours, repeated
    to ``k`` rows: duplicates never win a pixel (ties go to the lowest id).
    """
    from sklearn.cluster import KMeans

    distinct = np.unique(x, axis=0)
    if len(distinct) < k:
        return distinct[np.resize(np.arange(len(distinct)), k)].astype(np.float32), len(distinct)
    km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=50, random_state=seed)
    return km.fit(x).cluster_centers_.astype(np.float32), len(distinct)


def warm_fit(
    x: np.ndarray, init: np.ndarray, *, max_iter: int, seed: int, min_gain: float
) -> tuple[np.ndarray, float]:
    """Mini-batch steps from ``init`` (a new estimator); returns centres and fit error.

    Clusters left empty are refilled deterministically (:func:`refill_empty` with
    ``min_gain``).
    """
    from sklearn.cluster import MiniBatchKMeans

    mbk = MiniBatchKMeans(
        n_clusters=len(init),
        init=init,
        n_init=1,
        max_iter=max_iter,
        batch_size=len(x),
        reassignment_ratio=0.0,
        random_state=seed,
        # Labels are cheaper here (one small matrix product) than in sklearn's pass.
        compute_labels=False,
        tol=0.0,
        max_no_improvement=None,
    ).fit(x)
    centers = mbk.cluster_centers_.astype(np.float32)
    labels, d2 = nearest(x, centers)
    if np.bincount(labels, minlength=len(init)).min() > 0:
        return centers, float(d2.mean())
    centers = refill_empty(x, centers, min_gain=min_gain)
    return centers, float(nearest(x, centers)[1].mean())


def polish(x: np.ndarray, init: np.ndarray, *, max_iter: int = 50) -> tuple[np.ndarray, float]:
    """Lloyd's k-means from ``init`` to convergence; returns centres (ids kept) and fit error.

    The few mini-batch steps of :func:`warm_fit` trail a scene that changed (a
    car drove in); run to convergence from the same centres, the fit reaches
    most of what a fresh palette gains while every centre keeps its id and
    moves only as far as the data asks, so few still pixels change label.
    """
    from sklearn.cluster import KMeans

    if len(np.unique(x, axis=0)) < len(init):
        # Fewer colours than clusters (scikit-learn would warn): nothing to converge to.
        return init, float(nearest(x, init)[1].mean())
    km = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, random_state=0)
    centers = km.fit(x).cluster_centers_.astype(np.float32)
    return centers, float(nearest(x, centers)[1].mean())
