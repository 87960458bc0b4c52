"""The colour table's quantiser: per-channel levels equalised on the frame's sample."""

from __future__ import annotations

import numpy as np

from .colorspace import channel_tables

__all__ = ["equalised_table"]


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
