"""How the palette evolves from frame to frame: cuts, warm starts, refreshes.

:class:`PaletteTracker` owns the centres in the clustering space and every
decision about them, made on the frame's fixed pixel sample: re-seed on a hard
cut (matched to the old ids), keep the centres while nothing moved, otherwise
warm-start from them (scaled first when the exposure changed), and now and then
run the warm start to convergence, or adopt a fresh k-means++ palette when it
fits clearly better than that.  The
:class:`~vidseg.engine.Segmenter` labels the frame with the result.
"""

from __future__ import annotations

import collections
import logging
import warnings
from collections.abc import Callable

import numpy as np

from ..config import EngineConfig
from ..errors import EmptyClusterWarning
from .fitting import (
    exposure_gain,
    hist_distance,
    match,
    match_by_overlap,
    nearest,
    structure_change,
)
from .kmeans import fresh_palette, polish, warm_fit

__all__ = ["PaletteTracker"]

log = logging.getLogger(__name__)

_ERR_JUMP = 2.5  # fit error this many times the running baseline supports a cut
# A cut reshuffles the layout of lightness (see fitting.structure_change): a change of at
# least _LAYOUT_CUT that is also _LAYOUT_RATIO times the shot's recent median (a pan
# changes the layout a little every frame) is a cut, whatever the colours do.  Under
# _LAYOUT_SAME the layout held, so a colour jump is lighting, not a cut.
_LAYOUT_CUT = 0.22
_LAYOUT_RATIO = 2.5
_LAYOUT_SAME = 0.1
# ... and the grid's figure must agree (cuts measured >= 0.11, a noisy flat scene 0.02).
_LAYOUT_GRID_CUT = 0.07
_LAYOUT_WINDOW = 10  # frames of the shot's recent layout changes
_DRIFT = 1.15  # warm fit error this much above its running baseline asks for a refresh
_MIN_REFRESH_GAP = 3  # frames between drift-triggered refreshes (bounds their cost)
_SKIP_HIST_DRIFT = 0.06  # histogram distance under which a frame may keep its centres
# Frames to the next fresh candidate after one was adopted (the interval then
# doubles with each rejected candidate, up to ``refresh_interval``): while the
# scene keeps moving away from the palette (exposure swings), look again soon.
_FAST_REFRESH = 3


class PaletteTracker:
    """The centres and the policy that moves them; one per segmenter and stream.

    Attributes
    ----------
    centers : ndarray, shape (k, 3), or None
        Current centres in the clustering space (None before the first frame).
    inertia : float
        Mean squared distance of the sample to its nearest centre, this frame.
    scene_cuts, refreshes, skipped_fits : int
        Counters (see :class:`~vidseg.engine.Segmenter`).
    """

    def __init__(self, params: EngineConfig) -> None:
        self.p = params
        self.centers: np.ndarray | None = None
        self.inertia = 0.0
        self.scene_cuts = 0
        self.refreshes = 0
        self.skipped_fits = 0
        self.frame = 0
        self._hist: np.ndarray | None = None
        self._baseline = 0.0
        self._since_refresh = 0
        self._refresh_every = _FAST_REFRESH
        self._fit_hist: np.ndarray | None = None
        self._fit_inertia = 0.0
        self._prev_x: np.ndarray | None = None
        self._force_reseed = False
        self._loaded = False
        self._layout: collections.deque[float] = collections.deque(maxlen=_LAYOUT_WINDOW)
        self._cells = np.zeros(0, np.intp)

    def new_sample(self, cells: np.ndarray) -> None:
        """The sample positions changed (new frame size): no per-position comparison.

        ``cells``: each sampled position's layout cell (:func:`fitting.layout_cells`).
        """
        self._prev_x = None
        self._layout.clear()
        self._cells = cells

    def reseed(self, params: EngineConfig | None = None) -> None:
        """Re-seed on the next frame, matched to the current ids.

        ``params`` replaces the settings (e.g. a new k) from that frame on.
        """
        if params is not None:
            self.p = params
        self._force_reseed = True

    def start_from(self, centers: np.ndarray) -> None:
        """Warm-start the next frame from ``centers`` (a loaded palette), keeping their ids."""
        self.centers = np.ascontiguousarray(centers, dtype=np.float32)
        self._hist = self._fit_hist = self._prev_x = None
        self._force_reseed = False
        self._loaded = True

    def update(self, x: np.ndarray, hist: np.ndarray, frame: int) -> bool:
        """Fit frame ``frame``'s centres to its sample ``x`` (colour histogram ``hist``).

        Returns True when the palette was re-seeded (a cut, or the first frame).
        ``centers`` is a new array whenever the centres changed.
        """
        p, self.frame = self.p, frame
        old = self.centers
        reseed = old is None or self._force_reseed
        self._force_reseed = False
        # The previous centres' error on this sample, computed at most once per frame.
        old_errors: list[float] = []

        def old_error() -> float:
            if not old_errors:
                old_errors.append(float(nearest(x, old)[1].mean()))
            return old_errors[0]

        if not reseed and old is not None and self._hist is not None and p.scene_cut < 1.0:
            reseed = self._is_cut(x, hist, old_error)
            if reseed:
                self.scene_cuts += 1
        self._hist = hist

        if reseed:
            centers = self._fresh(x, n_init=3)
            if old is not None:
                centers = match(old, centers)
            self._since_refresh = 0
            inertia = float(nearest(x, centers)[1].mean())
        else:
            assert old is not None
            gain = exposure_gain(x, self._prev_x, p.color_space)
            if gain is not None:
                # An exposure swing scales every colour alike: start the warm fit
                # from the centres scaled with it, so it does not trail the swing.
                old = (old * gain).astype(np.float32)
                old_errors.clear()
            centers, inertia = self._warm_or_keep(x, hist, old, old_error)
            self._since_refresh += 1
            # A fresh candidate on schedule, and sooner when the warm fit is losing
            # ground (the scene changed more than a few warm steps can follow).
            due = p.refresh_interval and (
                self._since_refresh >= min(self._refresh_every, p.refresh_interval)
                or (
                    self._since_refresh >= _MIN_REFRESH_GAP
                    and inertia > _DRIFT * max(self._baseline, 1e-6)
                )
            )
            if due:
                self._since_refresh = 0
                centers, inertia = self._refresh(x, centers, inertia)

        self._prev_x = x
        if centers is not self.centers:
            self.centers = centers
            self._fit_hist, self._fit_inertia = hist, inertia
        self.inertia = inertia
        # A loaded palette has no running fit error yet: start the baseline as a re-seed does.
        fresh_baseline = reseed or self._loaded
        self._loaded = False
        self._baseline = inertia if fresh_baseline else 0.8 * self._baseline + 0.2 * inertia
        return reseed

    def _refresh(
        self, x: np.ndarray, centers: np.ndarray, inertia: float
    ) -> tuple[np.ndarray, float]:
        """Try a better palette: the warm one run to convergence, else a fresh one.

        A fresh k-means++ palette is another local minimum: even matched by
        overlap it relabels 10-45% of a low-contrast picture's sample, for gains
        that the warm centres run to convergence mostly reach with 0-5%
        relabelled (they keep their ids and move only as far as the data asks).
        So the fresh palette must beat the converged one by ``refresh_gain``, and
        the converged one replaces the warm one only when it gains more than
        ``fit_skip`` (a smaller move would only jitter the colours).
        """
        p = self.p
        polished, polished_inertia = polish(x, centers)
        fresh = self._fresh(x, n_init=1, quiet=True)
        fresh_inertia = float(nearest(x, fresh)[1].mean())
        if fresh_inertia < (1.0 - p.refresh_gain) * min(inertia, polished_inertia):
            log.debug(
                "frame %d: fresh palette fits %.1f%% better, adopted",
                self.frame,
                100 * (1 - fresh_inertia / inertia),
            )
            self.refreshes += 1
            self._refresh_every = _FAST_REFRESH
            # Ids by overlap: the same picture, so keep each pixel's id where possible.
            return match_by_overlap(x, centers, fresh), fresh_inertia
        # A converged fit that gains as much as a fresh palette must also look again soon.
        gained = polished_inertia < (1.0 - p.refresh_gain) * inertia
        self._refresh_every = _FAST_REFRESH if gained else 2 * self._refresh_every
        if polished_inertia < (1.0 - p.fit_skip) * inertia:
            log.debug(
                "frame %d: warm palette run to convergence fits %.1f%% better, adopted",
                self.frame,
                100 * (1 - polished_inertia / inertia),
            )
            return polished, polished_inertia
        return centers, inertia

    def _is_cut(self, x: np.ndarray, hist: np.ndarray, old_error: Callable[[], float]) -> bool:
        """Whether this frame starts a new shot.

        First the layout of lightness (robust to any change of tone): a large
        reshuffle against the shot's recent frames is a cut, even between shots of
        the same colours; a layout that held means a colour jump is lighting.
        Otherwise the colour histogram's jump, or a smaller one with the fit
        error jumping against its running baseline.
        """
        p = self.p
        change = structure_change(x, self._prev_x, p.color_space, self._cells)
        layout = None if change is None else change[0]
        recent = float(np.median(self._layout)) if self._layout else 0.0
        tv = hist_distance(hist, self._hist) if self._hist is not None else 0.0
        why = ""
        if change is not None:
            layout, grid = change
            self._layout.append(layout)
            if (
                layout >= _LAYOUT_CUT
                and layout >= _LAYOUT_RATIO * recent
                and grid >= _LAYOUT_GRID_CUT
            ):
                why = "layout"
            elif layout < _LAYOUT_SAME:
                return False
        if not why and tv >= p.scene_cut / 3:  # the fit error only for borderline frames
            err = old_error()
            if tv >= p.scene_cut or err > _ERR_JUMP * max(self._baseline, 1e-6):
                why = "colours"
        if why:
            log.debug(
                "scene cut at frame %d (%s; layout change %s vs recent %.2f, hist distance %.2f)",
                self.frame,
                why,
                "n/a" if layout is None else f"{layout:.2f}",
                recent,
                tv,
            )
        return bool(why)

    def _warm_or_keep(
        self,
        x: np.ndarray,
        hist: np.ndarray,
        old: np.ndarray,
        old_error: Callable[[], float],
    ) -> tuple[np.ndarray, float]:
        """Warm-started fit, or the previous centres unchanged when nothing moved.

        While the sample's colour histogram stays within a small distance of the
        one the centres were last fitted on and the previous centres still fit the
        sample within ``fit_skip`` of that fit's error, another fit could only add
        sampling jitter: the centres are kept (a warm start that needs no steps).
        A static camera then neither pays for the fit nor sees labels flip from
        centre jitter.
        """
        p = self.p
        if p.fit_skip > 0 and self._fit_hist is not None:
            if hist_distance(hist, self._fit_hist) < _SKIP_HIST_DRIFT:
                err = old_error()
                if err <= (1.0 + p.fit_skip) * self._fit_inertia:
                    self.skipped_fits += 1
                    return old, err
        return self._warm(x, old)

    def _warm(self, x: np.ndarray, init: np.ndarray) -> tuple[np.ndarray, float]:
        p = self.p
        return warm_fit(
            x, init, max_iter=p.max_iter, seed=p.seed, min_gain=max(p.hysteresis, 1.0) ** 2
        )

    def _fresh(self, x: np.ndarray, *, n_init: int, quiet: bool = False) -> np.ndarray:
        """k-means++ on the sample; warns when it has fewer than k colours."""
        p = self.p
        centers, distinct = fresh_palette(x, p.n_clusters, seed=p.seed, n_init=n_init)
        if distinct < p.n_clusters and not quiet:
            warnings.warn(
                f"frame {self.frame} has only {distinct} distinct colours for "
                f"n_clusters={p.n_clusters}; {p.n_clusters - distinct} clusters stay empty",
                EmptyClusterWarning,
                stacklevel=5,
            )
        return centers
