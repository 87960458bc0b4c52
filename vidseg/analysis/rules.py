"""The per-rule state machine: a reading per frame, hysteresis, duration, cooldown, peak.

For each frame :meth:`RuleTracker.update` reads the rule's metric from the
frame's zone statistics, compares it with a rolling baseline and moves through

``idle`` -> ``pending`` (the condition holds; waiting ``min_duration_s``)
-> ``active`` (an event is open; the peak is tracked) -> ``idle``
(after ``cooldown_s`` a new event may start).

What a rule reads, per frame (``v_j`` = the metric of cluster ``j`` in the
zone, ``b`` = the median of the last ``baseline_s`` stream seconds):

=========== ======================== =================================================
clusters    value                    trigger quantity
=========== ======================== =================================================
ids         ``sum v_j`` over the ids ``change``: ``|value - b(value)|``;
colour      ``v_j`` of the cluster   ``above`` / ``below``: the value itself
            nearest the colour this
            frame (CIE76 in Lab; 0
            when none is within dE 30)
``any``     ``sum v_j`` over the     ``change``: the share of the zone that changed
            clusters that gained     colour: the earth mover's distance from the
            (``change``); the        baseline composition (median shares and colours)
            largest / smallest       to now, moving a share between clusters costing
            ``v_j`` (above / below)  0 for colours within dE 5 and 1 beyond dE 25
                                     (CIE76), so a palette refresh re-splitting
                                     similar shades costs little; with one colour per
                                     cluster far apart it is the area that changed
                                     hands (half the L1 distance of the shares);
                                     ``above`` / ``below``: the largest / smallest
                                     cluster's value
=========== ======================== =================================================

The baseline is a median, so an event shorter than half the window does not
move it, while a lasting change (a car that parks) is absorbed after about
half the window and its event ends.  :meth:`RuleTracker.rebaseline` (the
lighting guard) forgets the history, so the next frames become the baseline.

>>> import numpy as np
>>> from types import SimpleNamespace as NS
>>> from vidseg.analysis.rules_config import Rule
>>> rule = Rule(name="r", clusters=(1,), trigger="above", enter=0.5, exit=0.2,
...             min_duration_s=0, cooldown_s=0)
>>> t = RuleTracker(rule)
>>> palette = np.zeros((2, 3), np.uint8)
>>> def zones(share1):
...     z = NS(name="frame", area=100, pixels=np.array([100 - share1, share1]))
...     return {"frame": z}
>>> [t.update(zones(p), palette, time_s=i, frame=i).kind for i, p in enumerate([10, 60, 30, 10])]
[None, 'start', None, 'end']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .rules_config import FRAME, Rule

__all__ = ["OpenEvent", "Reading", "RuleTracker", "Update"]

_REPORT_GAIN = 0.1  # clusters gaining at least this share of the change are named in events
_SAME_DE, _DIFFERENT_DE = 5.0, 25.0  # colour distances (CIE76) that count as same / different
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]]
)  # fmt: skip
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_LAB_EPS = (6 / 29) ** 3
_EPS_S = 1e-6  # stream times are sums of 1/fps: compare durations with this slack
_MATCH_DE = 30.0  # a colour rule watches the nearest cluster only if it is this close (CIE76)


@dataclass(frozen=True, kw_only=True)
class Reading:
    """One frame's reading of a rule.

    Attributes
    ----------
    value : float
        The metric of the watched clusters.
    baseline : float
        Its rolling baseline (median of the window; the value itself on the first frame).
    quantity : float
        What the thresholds apply to: ``|value - baseline|`` for ``change``
        (the area that changed hands for ``any``), else ``value``.
    clusters : tuple of int
        The clusters the reading is about (``any``: those that gained, largest first).
    """

    value: float
    baseline: float
    quantity: float
    clusters: tuple[int, ...]


@dataclass(kw_only=True)
class OpenEvent:
    """An event of one rule while it is pending or open (mutable; owned by the tracker).

    ``start_*`` are where the condition began (the event fires ``min_duration_s``
    later but starts here); ``peak_*`` follow the most extreme quantity.
    """

    rule: Rule
    start_time: float
    start_frame: int
    baseline: float
    clusters: tuple[int, ...]
    peak_time: float
    peak_frame: int
    peak_value: float
    peak_quantity: float
    peak_clusters: tuple[int, ...]
    end_time: float = 0.0
    end_frame: int = 0
    end_value: float = 0.0


@dataclass(frozen=True)
class Update:
    """What one frame did to a rule: ``kind`` is None, ``"start"`` or ``"end"``.

    ``peak`` is true when this frame became the pending or open event's peak
    (the sink then keeps this frame's images for the snapshot); ``event`` is the
    pending, open or just ended event, None while idle (a pending event that
    fell back before ``min_duration_s`` is dropped: None again).
    """

    kind: str | None = None
    event: OpenEvent | None = None
    peak: bool = False
    reading: Reading | None = field(default=None, compare=False)


def _read(rule: Rule, v: np.ndarray, lab: np.ndarray, history: _History) -> Reading:
    """Read ``rule`` from the per-cluster metric ``v`` (``history``: the window before)."""
    if rule.clusters == "any":
        if rule.trigger == "change":
            b, b_lab = history.medians(v, lab)
            gain = v - b
            q = _moved(b, b_lab, v, lab)
            total = float(np.clip(gain, 0.0, None).sum())
            order = [int(j) for j in np.argsort(-gain, kind="stable")]
            named = tuple(j for j in order if gain[j] > 0 and gain[j] >= _REPORT_GAIN * total)
            gainers = gain > 0
            return Reading(
                value=float(v[gainers].sum()),
                baseline=float(b[gainers].sum()),
                quantity=q,
                clusters=named,
            )
        j = int(np.argmax(v) if rule.trigger == "above" else np.argmin(v))
        clusters: tuple[int, ...] = (j,)
        value = float(v[j])
    else:
        if isinstance(rule.clusters, tuple):
            clusters = tuple(j for j in rule.clusters if j < len(v))
        else:
            clusters = _nearest(rule, lab)
        value = float(v[list(clusters)].sum())
    baseline = history.scalar_median(value)
    quantity = abs(value - baseline) if rule.trigger == "change" else value
    return Reading(value=value, baseline=baseline, quantity=quantity, clusters=clusters)


def _moved(b: np.ndarray, b_lab: np.ndarray, v: np.ndarray, lab: np.ndarray) -> float:
    """How much of the zone changed colour: transport from baseline to now (EMD).

    Moving a share between two clusters costs ``(dE - SAME) / (DIFFERENT - SAME)``
    clipped to [0, 1] (CIE76 distance of their colours), so a palette refresh
    that only re-splits similar shades costs little, while area taken over by a
    clearly different colour counts in full.  In the metric's units.
    """
    mass = float(v.sum())
    keep_b, keep_v = b > 0, v > 0
    if mass <= 0 or not keep_b.any() or not keep_v.any():
        return 0.0
    dist = np.linalg.norm(b_lab[keep_b][:, None, :] - lab[keep_v][None, :, :], axis=2)
    cost = np.clip((dist - _SAME_DE) / (_DIFFERENT_DE - _SAME_DE), 0.0, 1.0).astype(np.float32)
    sig_b = (b[keep_b] / b[keep_b].sum()).astype(np.float32).reshape(-1, 1)
    sig_v = (v[keep_v] / mass).astype(np.float32).reshape(-1, 1)
    emd, _, _ = cv2.EMD(sig_b, sig_v, cv2.DIST_USER, cost=cost)
    return float(emd) * mass


class _History:
    """The rolling window of readings (stream time), for the baseline medians.

    Rows ``[value, v_0..v_k-1, L a b of cluster 0..k-1]`` live in one contiguous
    buffer (a sliding slice, compacted or grown when its end is reached), so a
    median is one call on a view, not a stack of hundreds of small arrays.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._times = np.empty(64)
        self._rows = np.empty((64, 0))
        self._start = self._end = 0

    def clear(self) -> None:
        self._start = self._end = 0

    def push(self, time_s: float, vector: np.ndarray, lab: np.ndarray, value: float) -> None:
        width = 1 + 4 * len(vector)
        if self._rows.shape[1] != width:
            # First push, or k changed (a live control): old shares mean other clusters.
            self._rows = np.empty((len(self._times), width))
            self.clear()
        if self._end == len(self._times):
            self._make_room()
        i = self._end
        self._times[i] = time_s
        row = self._rows[i]
        row[0] = value
        row[1 : 1 + len(vector)] = vector
        row[1 + len(vector) :] = lab.ravel()
        self._end += 1
        # Drop what fell out of the window (times only grow, so from the front).
        cut = time_s - self.window_s
        self._start += int(np.searchsorted(self._times[self._start : self._end], cut))

    def _make_room(self) -> None:
        n = self._end - self._start
        if n * 2 > len(self._times):  # more than half full: grow
            self._times = np.resize(self._times, 2 * len(self._times))
            self._rows = np.resize(self._rows, (2 * len(self._rows), self._rows.shape[1]))
        self._times[:n] = self._times[self._start : self._end]
        self._rows[:n] = self._rows[self._start : self._end]
        self._start, self._end = 0, n

    def medians(self, vector: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-cluster median metric and colour over the window (now's, when empty)."""
        k = len(vector)
        if self._end == self._start or self._rows.shape[1] != 1 + 4 * k:
            return vector, lab
        med = np.median(self._rows[self._start : self._end, 1:], axis=0)
        return med[:k], med[k:].reshape(k, 3)

    def scalar_median(self, current: float) -> float:
        if self._end == self._start:
            return current
        return float(np.median(self._rows[self._start : self._end, 0]))


class RuleTracker:
    """Run one rule over a stream of frames (not thread-safe: one thread calls it).

    Parameters
    ----------
    rule : Rule
        A validated rule.

    Attributes
    ----------
    event : OpenEvent or None
        The pending or open event.
    active : bool
        An event has fired and not ended.
    last : Reading or None
        The last frame's reading.
    """

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.event: OpenEvent | None = None
        self.active = False
        self.last: Reading | None = None
        self._history = _History(rule.baseline_s)
        self._quiet_until = -np.inf
        self._stale = False  # forget the window when the open event ends

    def rebaseline(self, *, after_event: bool = False) -> None:
        """Forget the baseline window (a lighting change); drop a pending event.

        With ``after_event``, an open event keeps its baseline until it ends
        (so it is judged against what was there before it), then the window
        is forgotten.
        """
        if after_event and self.active:
            self._stale = True
            return
        self._history.clear()
        if not self.active:
            self.event = None

    def update(
        self,
        zones: Mapping[str, Any],
        colors_bgr: np.ndarray,
        *,
        time_s: float,
        frame: int,
        lighting: bool = False,
    ) -> Update:
        """Feed one frame; return what happened.

        Parameters
        ----------
        zones : mapping of str to ZoneStats
            The frame's zone statistics, including ``"frame"``.
        colors_bgr : ndarray, shape (k, 3), uint8
            The frame's cluster colours (for colour rules).
        time_s, frame : float, int
            Stream time and index of the frame.
        lighting : bool
            The lighting guard flagged this frame: re-baseline, start nothing.
        """
        rule = self.rule
        if lighting:
            self.rebaseline()
        vector = _metric(rule.metric, zones[rule.zone], zones[FRAME])
        lab = _lab(colors_bgr)
        reading = _read(rule, vector, lab, self._history)
        self._history.push(time_s, vector, lab, reading.value)
        self.last = reading
        if lighting and not self.active:
            return Update(reading=reading)
        q = reading.quantity
        below = rule.trigger == "below"
        entered = q <= rule.enter if below else q >= rule.enter
        left = q > rule.exit if below else q < rule.exit
        ev = self.event
        if ev is None:
            if not entered or time_s < self._quiet_until - _EPS_S:
                return Update(reading=reading)
            ev = self.event = OpenEvent(
                rule=rule,
                start_time=time_s,
                start_frame=frame,
                baseline=reading.baseline,
                clusters=reading.clusters,
                peak_time=time_s,
                peak_frame=frame,
                peak_value=reading.value,
                peak_quantity=q,
                peak_clusters=reading.clusters,
            )
            peak = True
        elif left:
            self.event = None
            if not self.active:
                return Update(reading=reading)  # never lasted min_duration_s
            self.active = False
            ev.end_time, ev.end_frame, ev.end_value = time_s, frame, reading.value
            self._quiet_until = time_s + rule.cooldown_s
            if self._stale:
                self._stale = False
                self._history.clear()
            return Update("end", ev, reading=reading)
        else:
            peak = q < ev.peak_quantity if below else q > ev.peak_quantity
            if peak:
                ev.peak_time, ev.peak_frame = time_s, frame
                ev.peak_value, ev.peak_quantity = reading.value, q
                ev.peak_clusters = reading.clusters
        if not self.active and time_s - ev.start_time >= rule.min_duration_s - _EPS_S:
            self.active = True
            return Update("start", ev, peak=peak, reading=reading)
        return Update(None, ev, peak=peak, reading=reading)


def _metric(metric: str, zone: Any, frame: Any) -> np.ndarray:
    """Per-cluster metric (k,) float64 of ``zone``."""
    pixels = np.asarray(zone.pixels, np.float64)
    if metric == "pixels":
        return pixels
    area = zone.area if metric == "share_of_zone" else frame.area
    return pixels / area if area > 0 else np.zeros_like(pixels)


def _lab(colors_bgr: np.ndarray) -> np.ndarray:
    """CIE Lab (D65, L 0..100) of BGR uint8 colours, (k, 3) float64.

    Plain numpy: for a handful of colours per frame, cv2.cvtColor's per-call
    overhead is larger than the arithmetic.
    """
    rgb = np.asarray(colors_bgr, np.float64).reshape(-1, 3)[:, ::-1] / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _LAB_EPS, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def _nearest(rule: Rule, lab: np.ndarray) -> tuple[int, ...]:
    """The cluster nearest ``rule``'s colour (CIE76), if within ``_MATCH_DE``; else none."""
    assert rule.color_bgr is not None
    target = _lab(np.array([rule.color_bgr], np.uint8))[0]
    dist = np.sqrt(((lab - target) ** 2).sum(axis=1))
    j = int(np.argmin(dist))
    return (j,) if dist[j] <= _MATCH_DE else ()
