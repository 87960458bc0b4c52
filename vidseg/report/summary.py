"""The numbers of a report: time bins for plotting and the per-cluster summary (pure).

Plots get at most ``max_bins`` time points (mean per bin of consecutive
frames); the summary table's mean / min / max come from every frame.

>>> import numpy as np
>>> share = np.array([[0.2, 0.8], [0.4, 0.6], [0.6, np.nan]])
>>> bins = bin_starts(3, max_bins=2)
>>> bins.tolist(), binned_mean(share, bins).round(2).tolist()
([0, 2], [[0.3, 0.7], [0.6, nan]])
>>> [round(v, 3) for v in cluster_summary(share)[1]]  # cluster 1: mean, min, max, present
[0.7, 0.6, 0.8, 0.667]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .events import Event
from .load import StatsSeries

__all__ = [
    "Binned",
    "SummaryRow",
    "bin_series",
    "bin_starts",
    "binned_mean",
    "cluster_summary",
    "median_colors",
    "summary_rows",
]

#: Time points per plotted series: more than a 1200-pixel-wide plot can show.
MAX_BINS = 2000


@dataclass(frozen=True, eq=False)
class Binned:
    """A run's series averaged into time bins of consecutive frames.

    Attributes
    ----------
    t, t0, t1 : ndarray, shape (b,)
        Mean, first and last time of each bin (s).
    share : ndarray, shape (b, K)
        Mean share of the frame per cluster (NaN: the cluster did not exist).
    zones : dict of str to ndarray, shape (b, K)
        Mean share of each zone per cluster.
    colors_bgr : ndarray, shape (b, K, 3), uint8
        Mean colour per cluster in the bin.
    """

    t: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    share: np.ndarray
    zones: dict[str, np.ndarray]
    colors_bgr: np.ndarray


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table: a cluster in the frame or in a zone."""

    scope: str
    cluster: int
    color_hex: str
    mean: float
    min: float
    max: float
    present: float
    events: int


def bin_starts(n: int, *, max_bins: int = MAX_BINS) -> np.ndarray:
    """First frame of each of at most ``max_bins`` bins of (nearly) equal length."""
    count = max(1, min(n, max_bins))
    return np.unique(np.ceil(np.linspace(0, n, count + 1)[:-1]).astype(np.int64))


def binned_mean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean over each bin along axis 0, ignoring NaN (NaN where a bin has none)."""
    present = ~np.isnan(values)
    sums = np.add.reduceat(np.where(present, values, 0.0), starts, axis=0)
    counts = np.add.reduceat(present, starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def bin_series(series: StatsSeries, *, max_bins: int = MAX_BINS) -> Binned:
    """Average ``series`` into at most ``max_bins`` time bins."""
    starts = bin_starts(series.n_frames, max_bins=max_bins)
    ends = np.append(starts[1:], series.n_frames) - 1
    t = np.add.reduceat(series.time_s, starts) / np.diff(np.append(starts, series.n_frames))
    colors = series.colors_bgr.astype(np.float64)
    colors[~series.present] = np.nan
    mean_colors = binned_mean(colors, starts)
    return Binned(
        t=t,
        t0=series.time_s[starts],
        t1=series.time_s[ends],
        share=binned_mean(series.share, starts),
        zones={name: binned_mean(z, starts) for name, z in series.zones.items()},
        colors_bgr=np.nan_to_num(mean_colors, nan=0.0).round().astype(np.uint8),
    )


def median_colors(series: StatsSeries) -> np.ndarray:
    """Each cluster's median colour over the frames it existed in, shape (K, 3) BGR."""
    out = np.zeros((series.n_clusters, 3), np.uint8)
    present = series.present
    for j in range(series.n_clusters):
        if present[:, j].any():
            out[j] = np.median(series.colors_bgr[present[:, j], j], axis=0).round()
    return out


def cluster_summary(share: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Per cluster: (mean, min, max, fraction of frames present) over every frame.

    Frames where a cluster did not exist are left out of its mean/min/max.
    """
    present = ~np.isnan(share)
    out = []
    for j in range(share.shape[1]):
        values = share[present[:, j], j]
        if values.size:
            stats = (float(values.mean()), float(values.min()), float(values.max()))
        else:
            stats = (float("nan"),) * 3
        out.append((*stats, float(present[:, j].mean()) if len(share) else 0.0))
    return out


def summary_rows(
    series: StatsSeries, events: list[Event], colors_bgr: np.ndarray
) -> list[SummaryRow]:
    """The summary table: every cluster in the frame, then in each zone."""
    rows = []
    scopes = {"frame": series.share, **series.zones}
    for scope, share in scopes.items():
        for j, (mean, lo, hi, present) in enumerate(cluster_summary(share)):
            if present == 0:
                continue
            b, g, r = (int(v) for v in colors_bgr[j])
            rows.append(
                SummaryRow(
                    scope=scope,
                    cluster=j,
                    color_hex=f"#{r:02X}{g:02X}{b:02X}",
                    mean=mean,
                    min=lo,
                    max=hi,
                    present=present,
                    events=sum(e.zone == scope and j in e.clusters for e in events),
                )
            )
    return rows
