"""What a run did: :class:`RunSummary` and the latency figures it carries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RunSummary", "latency_figures"]


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


def latency_figures(values: list[float]) -> dict[str, float]:
    """p50 / p95 / max and first- and second-half means of ``values`` (seconds), in ms."""
    if not values:
        return {}
    ms = np.asarray(values) * 1000.0
    half = max(len(ms) // 2, 1)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
        "first_half": float(ms[:half].mean()),
        "second_half": float(ms[half:].mean()) if len(ms) > 1 else float(ms[0]),
    }
