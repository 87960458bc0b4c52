"""The colour table: its per-frame equalised quantiser and when it must be rebuilt."""

from __future__ import annotations

import numpy as np

from .colorspace import channel_tables
from .fitting import hist_distance

__all__ = ["ColourTable", "equalised_table"]

_HIST_DRIFT = 0.05  # histogram distance that makes the colour table stale
_MAX_FRAMES = 30  # a colour table is rebuilt at least this often


def equalised_table(
    sample_bgr: np.ndarray, bits: int, space: str
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Per-frame quantisation of each channel into 2**bits levels, equalised on the sample.

    Returns the kernel's per-channel cell-index tables (pre-shifted, uint32) and
    the per-channel colour tables of :func:`~vidseg.engine.colorspace.channel_tables`.

    Levels are contiguous runs of values holding about equal shares of a mix of
    the sampled pixels and a uniform spread, so colours that many pixels share
    get narrow levels (often one value each: exact) while no level is wider than
    twice a uniform quantiser's.  Each level stands for the weighted mean of its
    values.
    """
    n = 1 << bits
    quant = np.empty((3, 256), np.uint32)
    levels = np.zeros((3, n))
    for c in range(3):
        # Half the mass spread uniformly bounds every level's width at twice a uniform
        # quantiser's, so rare colours (small distinct clusters) stay precise too.
        hist = np.bincount(sample_bgr[:, c], minlength=256) / (2.0 * len(sample_bgr))
        hist += 0.5 / 256
        before = np.cumsum(hist) - hist
        q = np.minimum((before * n / hist.sum()).astype(np.int64), n - 1)
        quant[c] = q << (bits * (2 - c))
        weight = np.bincount(q, weights=hist, minlength=n)
        mean = np.bincount(q, weights=hist * np.arange(256), minlength=n)
        used = weight > 0
        levels[c, used] = mean[used] / weight[used]
    return tuple(quant), channel_tables(levels, space)


class ColourTable:
    """The look-up table the kernel fills, with what it was built from.

    The table (quantiser and filled cells) is kept while every centre stays
    within ``tolerance`` of where it was when the table was built (so any
    distance comparison it answers is off by at most twice that), the colour
    histogram stays close, and for at most 30 frames.  A static scene then
    refills almost no cells.

    Parameters
    ----------
    bits : int
        Bits per channel of the table.
    space : str
        Clustering colour space.
    tolerance : float
        How far centres may move before the table is rebuilt (0: every frame).
    """

    def __init__(self, bits: int, space: str, tolerance: float) -> None:
        self.bits, self.space, self.tolerance = bits, space, tolerance
        self.lut = np.empty(1 << (3 * bits), np.uint16)
        self.quant: tuple[np.ndarray, ...] = ()
        self.tables = np.empty((3, 0, 3), np.float32)
        self._centers: np.ndarray | None = None
        self._hist = np.empty(0)
        self._frames = 0

    def forget(self) -> None:
        """Make the next :meth:`update` rebuild the table."""
        self._centers = None

    def update(self, sample_bgr: np.ndarray, hist: np.ndarray, centers: np.ndarray) -> bool:
        """Rebuild the quantiser if the table is stale; return True when the kernel must
        empty the table (the cells were filled for another quantiser or other centres)."""
        self._frames += 1
        if not self._stale(hist, centers):
            return False
        self.quant, self.tables = equalised_table(sample_bgr, self.bits, self.space)
        self._centers, self._hist, self._frames = centers.copy(), hist, 1
        return True

    def _stale(self, hist: np.ndarray, centers: np.ndarray) -> bool:
        if self._centers is None or self.tolerance == 0 or centers.shape != self._centers.shape:
            return True
        moved = np.sqrt(((centers - self._centers) ** 2).sum(axis=1)).max()
        return bool(
            moved > self.tolerance
            or hist_distance(hist, self._hist) > _HIST_DRIFT
            or self._frames > _MAX_FRAMES
        )
