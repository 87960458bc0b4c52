"""Where a chunk hands over to the next one: the frame at which the two runs agree best.

Two runs of the engine that start apart do not meet: refreshes settle in other
local optima and the hysteresis keeps each ambiguous still pixel's label from
its own history.  So a chunk does not end where the next one starts.  It runs
on for a window of frames past its nominal end, segmenting them twice: with its
own segmenter, and with a copy of the next chunk's warm-up (the same palette,
the same first frame, the same engine budget: the same results, bit for bit, as
the next chunk computes).  It writes its own results up to the hand-over frame
``c`` and the next chunk's from there; the next chunk writes from the window's
end.  ``c`` is the frame whose pair (own ``c - 1``, next ``c``) looks most like
an ordinary pair of the window: still-pixel label change (SLC) and flicker
against the window's own medians, ids matched by colour.

>>> import numpy as np
>>> still = np.zeros((8, 8, 3), np.uint8)
>>> labels = np.zeros((8, 8), np.uint8)
>>> pair_metrics((still, labels, still), (still, labels + 1, still))
(1.0, 0.0)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["STILL", "HandoverChooser", "State", "choose_handover", "pair_metrics"]

#: A pixel is still when the 5x5 box mean of |dB|+|dG|+|dR| between two frames is <= this.
STILL = 12


@dataclass(frozen=True)
class State:
    """What the choice needs of one segmented frame."""

    image: np.ndarray  # (H, W, 3) uint8 BGR input
    labels: np.ndarray  # (H, W) uint8 cluster ids
    recolor: np.ndarray  # (H, W, 3) uint8 the recoloured frame
    colors: np.ndarray  # (k, 3) cluster colours, BGR


def pair_metrics(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[float, float]:
    """(SLC, flicker) of the frame pair ``a`` -> ``b``, each (image, labels, recoloured).

    SLC: label flips on still pixels / still pixels.  Flicker: mean |recoloured
    change| / mean |input change| (0 when the input did not change).
    """
    return _scores(_motion(a[0], b[0]), a, b)


def _motion(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """The still pixels between two input frames, and their mean absolute change."""
    import cv2

    diff = cv2.absdiff(before, after)
    still = cv2.blur(diff.astype(np.float32).sum(axis=2), (5, 5)) <= STILL
    return still, float(diff.mean())


def _scores(
    motion: tuple[np.ndarray, float],
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[float, float]:
    """(SLC, flicker) of ``a`` -> ``b`` given the :func:`_motion` of their input frames."""
    import cv2

    still, change = motion
    slc = float((still & (a[1] != b[1])).sum()) / max(int(still.sum()), 1)
    flicker = float(cv2.absdiff(a[2], b[2]).mean()) / change if change > 0 else 0.0
    return slc, flicker


class HandoverChooser:
    """Scores a hand-over window frame by frame; :meth:`best` says where to hand over.

    Fed the own run's frame before the window, then each window frame of both
    runs in order; it keeps only the scores, not the frames.  The best position
    is the one whose pair (own previous, next current) scores lowest, as
    max(SLC / median SLC, flicker / median flicker) over the window's own pairs.
    """

    def __init__(self, before: State) -> None:
        self._prev = before
        self._ordinary: list[tuple[float, float]] = []
        self._candidates: list[tuple[float, float]] = []

    def add(self, own: State, nxt: State) -> None:
        """One window frame: the own run's and the next run's state of it (one input image)."""
        from .join import match_ids

        prev = self._prev
        ids = np.asarray(match_ids(prev.colors.tolist(), nxt.colors.tolist()), np.uint8)
        # Both runs segmented the same input frame: its motion is measured once.
        motion = _motion(prev.image, own.image)
        self._candidates.append(
            _scores(motion, _view(prev), (nxt.image, ids[nxt.labels], nxt.recolor))
        )
        self._ordinary.append(_scores(motion, _view(prev), _view(own)))
        self._prev = own

    def best(self) -> tuple[int, float, float]:
        """(position in the window, SLC, flicker) of the hand-over; (0, nan, nan) if empty."""
        if not self._candidates:
            return 0, float("nan"), float("nan")
        med_slc = max(statistics.median(s for s, _ in self._ordinary), 1e-6)
        med_flicker = max(statistics.median(f for _, f in self._ordinary), 1e-6)
        scores = [max(s / med_slc, f / med_flicker) for s, f in self._candidates]
        at = int(np.argmin(scores))
        return at, *self._candidates[at]


def choose_handover(
    before: State, own: Sequence[State], nxt: Sequence[State]
) -> tuple[int, float, float]:
    """Where in the window the next run takes over, and that pair's (SLC, flicker).

    ``before`` is the own run's frame before the window; ``own`` and ``nxt`` the
    two runs' frames of the window (see :class:`HandoverChooser`).
    """
    chooser = HandoverChooser(before)
    for a, b in zip(own, nxt, strict=True):
        chooser.add(a, b)
    return chooser.best()


def _view(s: State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return s.image, s.labels, s.recolor
