"""The labelling pass: every pixel of a frame to its cluster, in one call or in row bands.

:class:`LabelPass` runs the compiled pass (:func:`~vidseg.engine.kernels.assign_frame`)
through the colour table with per-pixel hysteresis against the previous frame,
counting areas on the way.  It owns what the pass needs from one frame to the
next: a copy of the previous frame, a scratch buffer, and the helper threads
that label row bands at once (``label_threads > 1``, frames large enough to gain
from it).  Bands give exactly the labels of one call (argued in
:func:`~vidseg.engine.kernels.assign_band`).  The :class:`~vidseg.engine.Segmenter`
decides what the pass labels with (centres, table, whether the previous labels
hold); the pass only labels.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels
from .bands import BandWorkers, band_bounds
from .colorspace import LMS_TO_OKLAB_X100, MODES

if TYPE_CHECKING:
    from ..config import EngineConfig
    from .quantise import ColourTable

__all__ = ["LabelPass"]

# Below this many pixels a frame is labelled in one call: handing bands to another
# thread costs more than it saves.
_MIN_BAND_PIXELS = 1 << 17


class LabelPass:
    """The labelling pass of one segmenter: its buffers and its band threads.

    :meth:`resize` sizes the buffers for a frame size (the previous frame is
    then forgotten); :meth:`label` labels one frame.  The helper threads start
    on the first frame labelled in bands and stop on :meth:`close`, or when the
    pass is garbage-collected; a closed pass starts them again when needed.
    """

    def __init__(self) -> None:
        # Helper threads of the labelling pass, started on first use (label_threads > 1).
        self._workers: BandWorkers | None = None
        self._prev_image = np.empty((0, 0, 3), np.uint8)
        self._scratch = np.empty(0, np.int32)

    def resize(self, height: int, width: int) -> None:
        """Buffers for frames of ``height`` x ``width`` pixels."""
        self._prev_image = np.empty((height, width, 3), np.uint8)
        self._scratch = np.empty(height * width, np.int32)

    def label(
        self,
        image: np.ndarray,
        table: ColourTable,
        reset: bool,
        centers: np.ndarray,
        inv_sep: np.ndarray,
        p: EngineConfig,
        prev_labels: np.ndarray | None,
        labels: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        """Label ``image`` into ``labels`` and its areas into ``counts``.

        Parameters
        ----------
        image : ndarray, shape (H, W, 3) uint8 BGR, C-contiguous
            The frame, of the size last given to :meth:`resize`.
        table : ColourTable
            The quantiser and look-up table, updated for this frame.
        reset : bool
            The table's cells must be emptied first (:meth:`ColourTable.update`).
        centers : ndarray, shape (k, 3) float32
            Centres in the clustering space.
        inv_sep : ndarray, shape (k, k) float32
            Inverse of twice the distance between each pair of centres.
        p : EngineConfig
            The validated settings (colour space, hysteresis, still threshold,
            label threads).
        prev_labels : ndarray, shape (H, W) uint8, or None
            The previous frame's labels, for the per-pixel hysteresis; None when
            they do not hold (first frame, a cut, a new palette).
        labels : ndarray, shape (H, W) uint8
            Receives the labels.
        counts : ndarray, shape (k,) int64
            Receives the pixels per cluster.
        """
        use_prev = prev_labels is not None
        args = (
            image,
            *table.quant,
            table.tables,
            MODES[p.color_space],
            LMS_TO_OKLAB_X100,
            centers,
            inv_sep,
            np.float32(p.hysteresis),
            table.lut,
            reset,
            self._prev_image,
            prev_labels if use_prev else labels,
            use_prev,
            p.still_threshold,
            labels,
        )
        h, w = image.shape[:2]
        if p.label_threads > 1 and h * w >= _MIN_BAND_PIXELS:
            self._assign_bands(args, table.lut, reset, counts, p.label_threads)
        else:
            kernels.assign_frame(*args, counts, self._scratch)
            np.copyto(self._prev_image, image)

    def close(self) -> None:
        """Stop the helper threads; idempotent.  The pass stays usable."""
        if self._workers is not None:
            self._workers.close()

    def _assign_bands(
        self, table: tuple[Any, ...], lut: np.ndarray, reset: bool, counts: np.ndarray, n: int
    ) -> None:
        """Label the frame in ``n`` row bands at once; the same labels as one call.

        ``table`` is :func:`~vidseg.engine.kernels.assign_frame`'s arguments up to
        ``labels``, the frame first; ``lut`` is its look-up table.
        """
        if reset:
            lut[:] = kernels.UNSET  # once, before any band fills a cell
        image = table[0]
        h, w = image.shape[:2]
        partials = np.zeros((n, 4 * 256), np.int64)
        img, old = image.reshape(-1), self._prev_image.reshape(-1)
        scratch = self._scratch

        def band(i: int, start: int, stop: int) -> Callable[[], None]:
            def task() -> None:
                kernels.assign_band(*table, partials[i], scratch, start, stop)
                # Only this band reads these rows of the previous frame.
                old[3 * start : 3 * stop] = img[3 * start : 3 * stop]

            return task

        if self._workers is None or self._workers.n_threads != n:
            if self._workers is not None:
                self._workers.close()
            self._workers = BandWorkers(n)
            # The threads hold no reference to the pass, so this can run.
            weakref.finalize(self, self._workers.close)
        self._workers.run([band(i, a, b) for i, (a, b) in enumerate(band_bounds(h, w, n))])
        kernels.add_counts(partials.sum(axis=0), counts)
