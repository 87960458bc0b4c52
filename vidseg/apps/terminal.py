"""What a run shows on the terminal: the progress line while it runs, the summary after.

The progress line counts ``frames`` and shows ``fps``; while it is on screen,
vidseg's log records are written through it (the line is cleared, the record
printed, the line redrawn), so a warning never lands inside the line.  The
summary says in words what was written, how fast, and what was lost.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from ..frames import FrameResult, StreamInfo
from ..pipeline import RunSummary

__all__ = ["Progress", "outputs_written", "progress_line", "summary_text"]

_FILE_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames [{elapsed}<{remaining}, {fps}]"
)
_OPEN_FORMAT = "{desc}: {n_fmt} frames [{elapsed}, {fps}{postfix}]"


class _Bar(tqdm):  # type: ignore[type-arg]
    """tqdm with the rate as ``{fps}`` ("24.8 fps") for the bar formats above."""

    @property
    def format_dict(self) -> dict[str, Any]:
        d = dict(super().format_dict)
        rate = d.get("rate")
        d["fps"] = f"{rate:.1f} fps" if rate else "- fps"
        return d


def _has_console_handler(logger: logging.Logger) -> bool:
    return any(
        isinstance(h, logging.StreamHandler) and h.stream in (sys.stdout, sys.stderr)
        for h in logger.handlers
    )


class Progress:
    """The per-frame callback for ``run()``: moves the line, times frames after the first.

    The first frame carries one-time costs (loading the compiled kernels, the
    first k-means++ seeding), so :attr:`fps_after_first` is the steady rate.
    """

    def __init__(self, update: Callable[[FrameResult, RunSummary], None]) -> None:
        self._update = update
        self.frames = 0
        self._first: float | None = None
        self._last = 0.0

    def __call__(self, result: FrameResult, summary: RunSummary) -> None:
        """Count one written frame."""
        self._last = time.monotonic()
        if self._first is None:
            self._first = self._last
        self.frames += 1
        self._update(result, summary)

    @property
    def fps_after_first(self) -> float | None:
        """Frames per second from the first frame written to the last; None below 3 frames."""
        if self._first is None or self.frames < 3 or self._last <= self._first:
            return None
        return (self.frames - 1) / (self._last - self._first)


@contextmanager
def progress_line(info: StreamInfo, total: int | None, *, enabled: bool) -> Iterator[Progress]:
    """A progress line on stderr for one run; yields the per-frame callback for ``run()``.

    Files get a bar against ``total`` (a header that lies about the length is
    coped with); live sources a counter with the frames dropped so far.  Shown
    only on a terminal.  While it is shown, records of the ``vidseg`` logger's
    console handler go through the line instead of into it.
    """
    bar = _Bar(
        total=None if info.live else total,
        unit="frames",
        dynamic_ncols=True,
        disable=not enabled or None,  # None: only on a terminal
        file=sys.stderr,
        leave=False,
        desc=Path(info.name).name if not info.live else "live",
        bar_format=_OPEN_FORMAT if info.live or not total else _FILE_FORMAT,
    )

    def update(result: FrameResult, summary: RunSummary) -> None:
        if bar.total is not None and bar.n >= bar.total:
            bar.total = bar.n + 1  # the header lied about the length
        bar.update(1)
        if info.live:
            bar.set_postfix_str(f", {summary.dropped} dropped", refresh=False)

    root = logging.getLogger("vidseg")
    try:
        if _has_console_handler(root) and not bar.disable:
            with logging_redirect_tqdm(loggers=[root], tqdm_class=_Bar):
                yield Progress(update)
        else:
            yield Progress(update)
    finally:
        bar.close()


def outputs_written(sinks: Sequence[Any]) -> list[Path]:
    """The files and directories the sinks left: final names, or partial ones after a stop."""
    found: list[Path] = []
    for sink in sinks:
        found += list(getattr(sink, "outputs", ()))  # earlier parts of a video that changed size
        for attr in ("path", "directory"):
            path = getattr(sink, attr, None)
            if path is None:
                continue
            partial = getattr(sink, "partial_path", None)
            if Path(path).exists():
                found.append(Path(path))
            elif partial is not None and Path(partial).exists():
                found.append(Path(partial))
    return found


def summary_text(
    summary: RunSummary,
    outputs: Sequence[Path],
    *,
    live: bool,
    reconnects: int = 0,
    fps_after_first: float | None = None,
) -> str:
    """The end-of-run summary in one line of plain words.

    Live runs add the frames dropped to keep up and the reconnects; a file run
    never drops a frame.  ``fps_after_first`` adds the steady rate, without the
    first frame's one-time costs.

    >>> s = RunSummary(frames_in=300, frames_out=300, elapsed_s=4.0)
    >>> summary_text(s, [Path("out.mp4"), Path("out.csv")], live=False)
    '300 frames written in 4.0 s (75.0 fps) to out.mp4, out.csv'
    >>> summary_text(RunSummary(frames_out=90, dropped=12, elapsed_s=3.0), [], live=True)
    '90 frames written in 3.0 s (30.0 fps), 12 dropped to keep up, 0 reconnects; no outputs'
    """
    rate = f"{summary.fps:.1f} fps"
    if fps_after_first is not None:
        rate += f"; {fps_after_first:.1f} fps after the first frame, which loads the kernels"
    text = f"{summary.frames_out} frames written in {summary.elapsed_s:.1f} s ({rate})"
    if live:
        text += f", {summary.dropped} dropped to keep up" if summary.dropped else ", none dropped"
        text += f", {reconnects} reconnect{'' if reconnects == 1 else 's'}"
    if outputs:
        return text + " to " + ", ".join(str(p) for p in outputs)
    return text + "; no outputs"
