"""The temporally stable k-means segmenter: the per-frame policy around the fits.

Per frame, :meth:`Segmenter.segment`:

1. samples a fixed set of pixel positions (drawn once per frame size from the
   seed, so a static scene gives the fit the same data every frame);
2. compares the sample's coarse colour histogram and fit error with the
   previous frame's to detect a hard cut;
3. fits a fresh ``MiniBatchKMeans`` warm-started from the previous centres
   (a new estimator per frame, so it never stops adapting; scaled first when
   the exposure changed, so the fit does not trail the swing), or on the first
   frame / a cut re-seeds with k-means++ and matches the new centres to the old
   ones (Hungarian on colour distance) so ids do not shuffle;
4. every ``refresh_interval`` frames (every 3 right after an adopted one, backing
   off as candidates are rejected) runs the warm start to convergence and tries
   a fresh k-means++ palette, adopting the fresh one (matched by overlap) only if
   it fits clearly better than the converged one, so a warm start never stays
   stuck in a poor local minimum or trails an exposure swing, and the palette
   moves as little as the gain allows (few still pixels relabelled);
5. labels every pixel in one compiled pass through a colour look-up table with
   per-pixel hysteresis, counting areas and positions on the way.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from ..config import EngineConfig, validate_section
from . import kernels
from .colorspace import from_space, to_space
from .fitting import as_bgr, colour_histogram, layout_cells
from .kmeans import preload
from .labelling import LabelPass
from .palette import PaletteTracker
from .palette_file import Palette
from .quantise import ColourTable
from .segmentation import Segmentation

__all__ = ["Segmenter"]

log = logging.getLogger(__name__)


class Segmenter:
    """Segment video frames by k-means colour clustering, stable from frame to frame.

    ``__init__`` only stores settings; they are validated on the first call to
    :meth:`segment`.  Learned state carries a trailing underscore.

    Parameters
    ----------
    n_clusters : int, default 8
        Number of clusters k, 2..64.
    color_space : {"oklab", "lab", "bgr"}, default "oklab"
        Space the clustering runs in.  Centres are always reported in BGR.
    seed : int, default 0
        Random seed; the same seed and frames give identical output.
    **options
        Any other field of :class:`vidseg.config.EngineConfig` (``sample_size``,
        ``max_iter``, ``hysteresis``, ``lut_bits``, ``scene_cut``,
        ``refresh_interval``, ``refresh_gain``, ``threads``).

    Attributes
    ----------
    centers_ : ndarray, shape (k, 3), float32, or None
        Current centres in the clustering space (None before the first frame).
    frames_seen_ : int
        Frames segmented since construction or :meth:`reset`.
    scene_cuts_ : int
        Hard cuts detected (palette re-seeded) since construction or reset.
    refreshes_ : int
        Times a fresh palette replaced the warm-started one.
    skipped_fits_ : int
        Frames that kept the previous centres because nothing had moved.

    Examples
    --------
    >>> import numpy as np
    >>> from vidseg import Segmenter
    >>> seg = Segmenter(n_clusters=3, seed=0)
    >>> frame = np.zeros((30, 30, 3), np.uint8)
    >>> frame[:, 10:20] = (255, 0, 0); frame[:, 20:] = (0, 0, 255)
    >>> res = seg.segment(frame)
    >>> res.labels.shape, round(float(res.areas.sum()), 6)
    ((30, 30), 1.0)
    """

    def __init__(
        self, n_clusters: int = 8, *, color_space: str = "oklab", seed: int = 0, **options: Any
    ) -> None:
        self.n_clusters = n_clusters
        self.color_space = color_space
        self.seed = seed
        self._options = options
        self._ignore: np.ndarray | None = None
        self._params: EngineConfig | None = None
        # The labelling pass's buffers and helper threads (label_threads > 1).
        self._pass = LabelPass()
        self._reset_state()

    @classmethod
    def from_config(cls, config: EngineConfig) -> Segmenter:
        """Build a segmenter from a validated :class:`~vidseg.config.EngineConfig`."""
        values = dataclasses.asdict(config)
        return cls(
            values.pop("n_clusters"),
            color_space=values.pop("color_space"),
            seed=values.pop("seed"),
            **values,
        )

    # -- public API ------------------------------------------------------------------

    @property
    def scene_cuts_(self) -> int:
        """Hard cuts detected since construction or :meth:`reset`."""
        return self._palette.scene_cuts if self._params is not None else 0

    @property
    def refreshes_(self) -> int:
        """Times a fresh palette replaced the warm-started one."""
        return self._palette.refreshes if self._params is not None else 0

    @property
    def skipped_fits_(self) -> int:
        """Frames that kept the previous centres because nothing had moved."""
        return self._palette.skipped_fits if self._params is not None else 0

    def get_params(self) -> dict[str, Any]:
        """Return every engine setting as a dict (validated values once segmenting)."""
        if self._params is not None:
            return dataclasses.asdict(self._params)
        return {
            "n_clusters": self.n_clusters,
            "color_space": self.color_space,
            "seed": self.seed,
            **self._options,
        }

    def reset(self) -> None:
        """Forget the palette: the next frame re-seeds with k-means++."""
        self._reset_state()

    @property
    def palette_(self) -> Palette | None:
        """The current palette (centres by id), to save and seed another run; None before any."""
        if self.centers_ is None:
            return None
        return Palette(centers=self.centers_.copy(), color_space=self._validated().color_space)

    def set_palette(self, palette: Palette, *, source: str = "palette") -> None:
        """Start from ``palette``: the next frame warm-starts from its centres, ids in its order.

        On the clip it was learnt on, the ids are those of the run that saved it; on
        another clip the centres adapt (warm start) and keep their ids.

        Raises
        ------
        ConfigError
            The palette's k or colour space differs from this segmenter's.
        """
        p = self._validated()
        palette.check_fits(p.n_clusters, p.color_space, source=source)
        self._prev_labels = None
        self._table.forget()
        self._palette.start_from(palette.centers)

    def reseed(self) -> None:
        """Re-seed the palette with k-means++ on the next frame, keeping the ids.

        Unlike :meth:`reset`, the fresh centres are matched to the current ones
        (Hungarian on colour distance, as after a hard cut), so a cluster keeps
        its id and colour if the scene still has it.
        """
        if self._params is not None and self.centers_ is not None:
            self._palette.reseed()

    def set_n_clusters(self, n_clusters: int) -> None:
        """Change k between two frames; the surviving ids keep their colours.

        The next frame re-seeds with ``n_clusters`` centres matched to the
        current ones: ids ``0 .. min(old, new) - 1`` are matched to the fresh
        centres nearest them, and added clusters take the ids after them.

        Raises
        ------
        ConfigError
            ``n_clusters`` is outside 2..64.
        """
        checked = validate_section(EngineConfig, {"n_clusters": n_clusters})["n_clusters"]
        self.n_clusters = checked
        if self._params is None:
            return
        self._params = dataclasses.replace(self._params, n_clusters=checked)
        if self.centers_ is None:
            self._palette = self._new_tracker(self._params)
        else:
            self._palette.reseed(self._params)

    def set_mask(self, ignore: np.ndarray | None) -> None:
        """Leave pixels out of the fit (they are still labelled): ``(H, W)`` bool, True = ignored.

        The next frame draws its sample positions from the other pixels only.
        The mask applies to frames of its size; frames of another size (a
        reconnected camera) are sampled everywhere.  ``None`` removes it.

        Raises
        ------
        ValueError
            ``ignore`` is not a 2-d boolean array, or it ignores every pixel.
        """
        if ignore is not None:
            ignore = np.asarray(ignore)
            if ignore.dtype != bool or ignore.ndim != 2:
                raise ValueError(
                    f"ignore must be an (H, W) bool array; got {ignore.dtype} {ignore.shape}"
                )
            if ignore.all():
                raise ValueError("ignore masks every pixel; leave some of the frame to segment")
        self._ignore = ignore
        if self._params is not None:
            self._shape = None  # re-draw the sample positions on the next frame

    def segment(self, frame: np.ndarray) -> Segmentation:
        """Segment one frame; frames must be fed in order.

        Parameters
        ----------
        frame : ndarray, shape (H, W, 3) uint8 BGR
            Also accepted: (H, W) or (H, W, 1) grayscale and (H, W, 4) BGRA uint8.
            The input is never modified.

        Returns
        -------
        Segmentation

        Raises
        ------
        ValueError
            Bad frame (dtype, shape, empty) or bad setting (names the setting,
            its allowed range and the value received).
        """
        p = self._validated()
        image = as_bgr(frame)
        h, w = image.shape[:2]
        if (h, w) != self._shape:
            self._new_size(h, w, p)
        sample_bgr = image.reshape(-1, 3)[self._sample_idx]
        hist = colour_histogram(sample_bgr)
        # Every BLAS/OpenMP call of the fit runs under the thread limit, so the engine
        # never spins threads against the pipeline's decode and encode threads.
        with self._threads.limit(limits=p.threads):
            x = to_space(sample_bgr, p.color_space)
            cut = self._palette.update(x, hist, self.frames_seen_)
        if self._palette.centers is not self.centers_:
            self._set_centers(self._palette.centers, p)

        labels = np.empty((h, w), np.uint8)
        counts = np.empty(p.n_clusters, np.int64)
        use_prev = self._prev_labels is not None and not cut
        if cut:
            self._table.forget()
        reset = self._table.update(sample_bgr, hist, self.centers_)
        prev_labels = self._prev_labels if use_prev else None
        self._pass.label(
            image, self._table, reset, self.centers_, self._inv_sep, p, prev_labels, labels, counts
        )
        self._prev_labels = labels
        # Positions need no per-pixel precision: a grid of ~20k pixels is plenty.
        stride = max(1, int((h * w / 20000) ** 0.5))
        centroids = kernels.centroids(labels, p.n_clusters, stride)
        result = Segmentation(
            labels=labels,
            centers=self._centers_bgr,
            areas=counts / float(h * w),
            counts=counts,
            centroids=centroids,
            scene_cut=cut,
            inertia=self._palette.inertia,
            frame_index=self.frames_seen_,
            color_space=p.color_space,
        )
        self.frames_seen_ += 1
        return result

    def close(self) -> None:
        """Stop the labelling pass's helper threads (``label_threads > 1``); idempotent.

        The segmenter stays usable: the next frame starts them again.  They are
        also stopped when the segmenter is garbage-collected.
        """
        self._pass.close()

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.centers_: np.ndarray | None = None
        self.frames_seen_ = 0
        self._centers_bgr = np.empty((0, 3), np.float32)
        self._prev_labels: np.ndarray | None = None
        if self._params is not None:
            self._table.forget()
            self._palette = self._new_tracker(self._params)

    def _validated(self) -> EngineConfig:
        if self._params is None:
            values = {
                "n_clusters": self.n_clusters,
                "color_space": self.color_space,
                "seed": self.seed,
                **self._options,
            }
            self._params = EngineConfig(**validate_section(EngineConfig, values))
            p = self._params
            self._table = ColourTable(p.lut_bits, p.color_space, p.lut_tolerance)
            self._palette: PaletteTracker = PaletteTracker(p)
            # The controller sees only the thread pools already loaded: scikit-learn's
            # OpenMP and SciPy's BLAS must be in first (they load lazily), or the
            # fits would run unlimited, and multi-threaded k-means sums differ.
            preload()
            self._threads = ThreadpoolController()
            self._shape: tuple[int, int] | None = None
        return self._params

    def _new_tracker(self, p: EngineConfig) -> PaletteTracker:
        tracker = PaletteTracker(p)
        if self._shape is not None:  # same frame size: the same sample positions
            tracker.new_sample(self._cells)
        return tracker

    def _new_size(self, h: int, w: int, p: EngineConfig) -> None:
        n = h * w
        rng = np.random.default_rng(p.seed)
        if self._ignore is not None and self._ignore.shape == (h, w):
            allowed = np.flatnonzero(~self._ignore.reshape(-1))
        else:
            if self._ignore is not None:
                log.warning(
                    "the fit's mask is %s but frames are %dx%d; sampling every pixel",
                    "x".join(map(str, self._ignore.shape[::-1])),
                    w,
                    h,
                )
            allowed = np.arange(n)
        if len(allowed) <= p.sample_size:
            self._sample_idx = allowed
        else:
            self._sample_idx = np.sort(rng.choice(allowed, size=p.sample_size, replace=False))
        self._shape = (h, w)
        self._prev_labels = None
        self._cells = layout_cells(self._sample_idx, h, w)
        self._palette.new_sample(self._cells)
        self._pass.resize(h, w)

    # -- fitting ---------------------------------------------------------------------

    def _set_centers(self, centers: np.ndarray, p: EngineConfig) -> None:
        self.centers_ = np.ascontiguousarray(centers, dtype=np.float32)
        self._centers_bgr = from_space(self.centers_, p.color_space)
        self._centers_bgr.setflags(write=False)
        sep = 2.0 * np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
        with np.errstate(divide="ignore"):
            self._inv_sep = np.where(sep > 1e-6, 1.0 / sep, 0.0).astype(np.float32)
