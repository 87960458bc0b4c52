"""What a run did: :class:`RunSummary` and the latency figures it carries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LatencyLog", "RunSummary", "latency_figures"]


@dataclass
class RunSummary:
    """What a run did.

    Attributes
    ----------
    frames_in : int
        Frames the source delivered.
    frames_out : int
        Frames segmented and written to every sink.
    dropped : int
        Live frames dropped because processing fell behind (always 0 for files).
    elapsed_s : float
        Wall time of the run.
    scene_cuts : int
        Frames on which the palette was re-seeded (the ``scene_cut`` column of the
        statistics): the first frame, every detected cut, a live re-seed or k change.
    mean_inertia : float
        Mean fit error over the frames segmented (clustering-space units squared).
    latency_ms : dict
        Live sources: capture-to-written latency, ``p50``, ``p95``, ``max`` and
        ``first_half`` / ``second_half`` means (equal halves mean it is not
        growing).  Empty for files, which are read ahead on purpose.
    stopped_by : int or None
        The signal number that stopped the run, if any.
    live : bool
        The source was live (a camera or stream).
    """

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    elapsed_s: float = 0.0
    scene_cuts: int = 0
    mean_inertia: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    stopped_by: int | None = None
    live: bool = False

    @property
    def fps(self) -> float:
        """Frames written per second of wall time."""
        return self.frames_out / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def describe(self) -> str:
        """One human-readable line."""
        text = (
            f"{self.frames_out} frames written of {self.frames_in} read in "
            f"{self.elapsed_s:.1f} s ({self.fps:.1f} fps), {self.dropped} dropped, "
            f"{self.scene_cuts} palette re-seeds (first frame and cuts), "
            f"mean fit error {self.mean_inertia:.2f}"
        )
        if self.latency_ms:
            text += (
                f", latency p50 {self.latency_ms['p50']:.0f} ms p95 {self.latency_ms['p95']:.0f} ms"
            )
        return text


class LatencyLog:
    """Per-frame latencies (seconds) of a run in bounded memory, in time order.

    Every value is kept until ``capacity`` (a million: 4 MiB, nine hours at 30
    fps); then every other kept value is dropped and from then on every second
    value is recorded, and so on: a uniform sample of the whole run whatever its
    length, so percentiles and the first / second halves stay meaningful on a run
    of days while memory stays flat.

    >>> log = LatencyLog(capacity=4)
    >>> for i in range(10):
    ...     log.append(float(i))
    >>> log.values().tolist(), len(log)
    ([0.0, 4.0, 8.0], 3)
    """

    def __init__(self, capacity: int = 1 << 20) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError(f"capacity must be an even number >= 2, got {capacity!r}")
        self._capacity = capacity
        self._values = np.empty(min(capacity, 4096), np.float32)
        self._n = 0
        self._stride = 1
        self._seen = 0

    def append(self, seconds: float) -> None:
        """Record one latency (kept when it falls on the current stride)."""
        keep = self._seen % self._stride == 0
        self._seen += 1
        if not keep:
            return
        if self._n == len(self._values):
            if self._n < self._capacity:
                self._values = np.resize(self._values, min(2 * self._n, self._capacity))
            else:  # full: keep every other value, record every other one from now on
                kept = self._values[::2].copy()
                self._values[: len(kept)] = kept
                self._n, self._stride = len(kept), 2 * self._stride
                if (self._seen - 1) % self._stride:
                    return
        self._values[self._n] = seconds
        self._n += 1

    def values(self) -> np.ndarray:
        """The kept latencies in time order (a view; float32 seconds)."""
        return self._values[: self._n]

    def __len__(self) -> int:
        return self._n


def latency_figures(values: LatencyLog | np.ndarray | list[float]) -> dict[str, float]:
    """p50 / p95 / max, and the first and second halves' means and p95, of ``values`` (s), in ms."""
    if isinstance(values, LatencyLog):
        values = values.values()
    if len(values) == 0:
        return {}
    ms = np.asarray(values, np.float64) * 1000.0
    half = max(len(ms) // 2, 1)
    first, second = ms[:half], (ms[half:] if len(ms) > 1 else ms)  # one value: both halves
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
        "first_half": float(first.mean()),
        "second_half": float(second.mean()),
        "first_half_p95": float(np.percentile(first, 95)),
        "second_half_p95": float(np.percentile(second, 95)),
    }
