"""The lighting guard: tell a frame-wide change (light, clouds, exposure, infrared) from an event.

A light switched on, a cloud, the camera's auto-exposure or its switch to
infrared moves the whole frame together; a real event moves area between
clusters in one place.  :class:`LightingGuard` compares each frame with the
frame ``lag_s`` earlier on a coarse grid of cells (a 64x48 thumbnail, 16x12
cells of 4x4 pixels, each cell's mean colour):

* brightness: the median over cells of ``log(lum / lum_then)`` is at least
  ``gain`` in size and at least ``spread`` of the cells moved the same way by
  half as much (a car entering moves a few cells; an exposure step all);
* colour: the frame's mean chroma (``max(B,G,R) - min(B,G,R)``) fell (or rose)
  by ``chroma_drop`` of itself, in at least ``spread`` of all cells (a camera
  switching to infrared drains every cluster at once; a red car entering a grey
  scene adds colour to a few).

During a lighting episode the guard also says which cells changed *locally*.
The frame before the episode (the anchor) is mapped to now by two models of a
frame-wide change: a brightness tone curve (median per brightness band, so
gamma is covered) with one colour factor (colour draining out), and one tone
curve per channel (channels clipping under a gain, white balance).  A cell off
both (by a ``log`` ratio of 0.2, or a chroma of 15) changed for another
reason, e.g. a car driving in while the camera's auto-exposure reacts to it.
:meth:`LightingGuard.local_share` gives a zone's share of such cells, so a rule
whose zone holds a real change keeps watching while the others re-baseline.

Comparing against a frame ``lag_s`` back, not the previous one, catches slow
ramps.  A flagged frame keeps the flag for ``hold_s`` after the frame settles,
while the palette adapts.  Unlike Motion's ``lightswitch_percent`` (which
throws whole events away, Motion #294) or Frigate's ``lightning_threshold``,
the caller re-baselines its rules on flagged frames instead of discarding
anything; the engine already rescales its centres on exposure swings.

>>> import numpy as np
>>> from vidseg.analysis.events_config import LightingSettings
>>> guard = LightingGuard(LightingSettings(lag_s=2.0, hold_s=0.0))
>>> img = np.full((48, 64, 3), 100, np.uint8)
>>> [guard.observe(img if t < 5 else img + 50, t) for t in range(10)]
[False, False, False, False, False, True, True, False, False, False]
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from .events_config import LightingSettings

__all__ = ["LightingGuard", "LightingReading", "cell_coverage"]

log = logging.getLogger(__name__)

_GRID = (16, 12)  # cells across, down
_CELL = 4  # thumbnail pixels per cell side
_LOCAL_LOG = 0.2  # a cell off the frame-wide tone curve by this |log ratio| changed locally
_LOCAL_CHROMA = 15.0  # ... or off the frame-wide colour change by this much chroma (0..255)
_TONE_BINS = 6
_EPS_S = 1e-6  # stream times are sums of 1/fps: compare durations with this slack
_CURVE_FLOOR = 16.0  # near-black channels (a few levels of noise) are no evidence of change
_LUM_FLOOR = 4.0  # keeps log ratios of near-black cells finite and calm
_COLOURFUL = 6.0  # mean chroma (0..255) below which a cell/frame has no colour to lose


@dataclass(frozen=True)
class LightingReading:
    """How one frame compares with the frame ``lag_s`` earlier.

    Attributes
    ----------
    gain : float
        Median over cells of ``log(lum / lum_then)`` (0.1 ~ 10 % brighter).
    moved : float
        Fraction of cells that moved the same way by at least half the threshold.
    chroma : float
        Relative change of mean chroma, ``(now - then) / max(now, then)``.
    drained : float
        Fraction of cells whose chroma changed that way by half the threshold.
    """

    gain: float = 0.0
    moved: float = 0.0
    chroma: float = 0.0
    drained: float = 0.0


class LightingGuard:
    """Flag frames whose change is frame-wide (not thread-safe: one thread calls it).

    Parameters
    ----------
    settings : LightingSettings

    Attributes
    ----------
    episodes : int
        Lighting episodes seen (each logged once at INFO when it starts).
    frames_flagged : int
        Frames flagged.
    last : LightingReading
        The last frame's comparison.
    """

    def __init__(self, settings: LightingSettings) -> None:
        self.settings = settings
        self.episodes = 0
        self.frames_flagged = 0
        self.last = LightingReading()
        self._past: deque[tuple[float, np.ndarray]] = deque()
        self._last_hit: float | None = None
        self._flagged = False
        self._anchor: np.ndarray | None = None
        self._now: np.ndarray | None = None
        self._local: np.ndarray | None = None

    def observe(self, image: np.ndarray, time_s: float, *, frame: int | None = None) -> bool:
        """Compare ``image`` (BGR, uint8) with the past; True while in a lighting episode."""
        s = self.settings
        if not s.enabled:
            return False
        cells = _cells(image)
        self._now, self._local = cells, None
        ref = self._reference(time_s)
        self._past.append((time_s, cells))
        hit = False
        if ref is not None:
            self.last = reading = _compare(cells, ref[1], s)
            hit = (abs(reading.gain) >= s.gain and reading.moved >= s.spread) or (
                abs(reading.chroma) >= s.chroma_drop and reading.drained >= s.spread
            )
        if hit:
            self._last_hit = time_s
        flagged = self._last_hit is not None and time_s - self._last_hit <= s.hold_s + _EPS_S
        if flagged and not self._flagged:
            # The frame before the change began (or this one, at the very start).
            self._anchor = ref[1] if ref is not None else cells
            self.episodes += 1
            r = self.last
            where = f"{time_s:.2f} s" + (f" (frame {frame})" if frame is not None else "")
            log.info(
                "lighting change at %s: brightness x%.2f over %.0f%% of the frame, colour %+.0f%%;"
                " re-baselining the rules instead of firing",
                where,
                float(np.exp(r.gain)),
                100 * max(r.moved, r.drained if abs(r.chroma) >= s.chroma_drop else 0.0),
                100 * r.chroma,
            )
        elif self._flagged and not flagged:
            self._anchor = None
            log.info("lighting settled at %.2f s; rules watch again", time_s)
        self._flagged = flagged
        self.frames_flagged += flagged
        return flagged

    @property
    def grid(self) -> tuple[int, int]:
        """Cells (across, down) of :meth:`local_share`'s coverage maps."""
        return _GRID

    def local_share(self, coverage: np.ndarray) -> float:
        """Share of a zone whose change the lighting does not explain (0 outside episodes).

        Parameters
        ----------
        coverage : ndarray, shape (rows, cols), float
            Fraction of each grid cell inside the zone (see :func:`cell_coverage`).
        """
        if not self._flagged or self._anchor is None or self._now is None:
            return 0.0
        if self._local is None:
            self._local = _local_cells(self._now, self._anchor)
        total = float(coverage.sum())
        return float((coverage * self._local).sum()) / total if total > 0 else 0.0

    def _reference(self, time_s: float) -> tuple[float, np.ndarray] | None:
        """The newest past frame at least ``lag_s`` old (older ones are dropped)."""
        lag = self.settings.lag_s
        past = self._past
        if past and past[-1][0] > time_s:
            past.clear()  # time went back (a new input): start over
        while len(past) >= 2 and past[1][0] <= time_s - lag + _EPS_S:
            past.popleft()
        if past and past[0][0] <= time_s - lag + _EPS_S:
            return past[0]
        return None


def _cells(image: np.ndarray) -> np.ndarray:
    """Per-cell mean colour, (rows, cols, 3) float64 BGR."""
    cols, rows = _GRID
    small = cv2.resize(image, (cols * _CELL, rows * _CELL), interpolation=cv2.INTER_AREA)
    return small.reshape(rows, _CELL, cols, _CELL, 3).mean(axis=(1, 3))  # type: ignore[no-any-return]


def _lum_chroma(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance (BT.601) and chroma (max - min channel) of cell colours."""
    lum = cells @ np.array([0.114, 0.587, 0.299])
    return lum, cells.max(axis=2) - cells.min(axis=2)


def _compare(cells: np.ndarray, then_cells: np.ndarray, s: LightingSettings) -> LightingReading:
    (lum, chroma), (lum_then, chroma_then) = _lum_chroma(cells), _lum_chroma(then_cells)
    ratio = np.log((lum + _LUM_FLOOR) / (lum_then + _LUM_FLOOR))
    gain = float(np.median(ratio))
    sign = 1.0 if gain >= 0 else -1.0
    moved = float(np.mean(ratio * sign >= s.gain / 2))
    now, then = float(chroma.mean()), float(chroma_then.mean())
    if max(now, then) < _COLOURFUL:
        return LightingReading(gain=gain, moved=moved)
    change = (now - then) / max(now, then)
    # Over all cells: colour appearing in a grey scene (a red car) is local, not a drain.
    top = np.maximum(np.maximum(chroma, chroma_then), _COLOURFUL)
    cell_change = (chroma - chroma_then) / top
    drained = float(np.mean(cell_change * np.sign(change) >= s.chroma_drop / 2))
    return LightingReading(gain=gain, moved=moved, chroma=change, drained=drained)


def cell_coverage(polygon: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """Fraction of each grid cell inside ``polygon`` ((n, 2) frame pixels; None: whole frame)."""
    cols, rows = _GRID
    if polygon is None:
        return np.ones((rows, cols))
    canvas = np.zeros((rows * _CELL * 4, cols * _CELL * 4), np.uint8)
    scale = np.array([canvas.shape[1] / width, canvas.shape[0] / height])
    pts = np.round(np.asarray(polygon, np.float64) * scale).astype(np.int32)
    cv2.fillPoly(canvas, [pts], 1)
    return canvas.reshape(rows, _CELL * 4, cols, _CELL * 4).mean(axis=(1, 3))  # type: ignore[no-any-return]


def _local_cells(cells: np.ndarray, then_cells: np.ndarray) -> np.ndarray:
    """Cells whose change no frame-wide transform explains, (rows, cols) bool.

    Two models of a frame-wide change: a brightness tone curve with one colour
    factor (covers colour draining out), and one tone curve per channel (covers
    channels clipping under a gain, white balance).  A cell is local when it is
    off both.
    """
    (lum, chroma), (lum_then, chroma_then) = _lum_chroma(cells), _lum_chroma(then_cells)
    off_tone = _off_curve(lum, lum_then)
    factor = float(np.median((chroma + 1.0) / (chroma_then + 1.0)))
    off_grey = off_tone | (np.abs(chroma - factor * chroma_then) >= _LOCAL_CHROMA)
    off_channels = np.zeros_like(off_grey)
    for c in range(3):
        off_channels |= _off_curve(cells[:, :, c], then_cells[:, :, c])
    return off_grey & off_channels


def _off_curve(now: np.ndarray, then: np.ndarray) -> np.ndarray:
    """Cells off the monotone curve mapping ``then`` to ``now`` (medians per band)."""
    flat_then, flat_now = then.ravel(), now.ravel()
    bands = np.array_split(np.argsort(flat_then, kind="stable"), _TONE_BINS)
    x = np.array([np.median(flat_then[b]) for b in bands])
    y = np.array([np.median(flat_now[b]) for b in bands])
    predicted = np.interp(flat_then, x, y).reshape(now.shape)
    off = np.log((now + _CURVE_FLOOR) / (predicted + _CURVE_FLOOR))
    return np.abs(off) >= _LOCAL_LOG  # type: ignore[no-any-return]
