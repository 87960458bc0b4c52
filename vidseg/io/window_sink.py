"""The preview window: a sink that shows each result in an OpenCV window and takes keys.

:class:`WindowSink` is written to by the runner's writer thread like any sink.
Every OpenCV GUI call (the window is created on the first frame, shown,
polled for keys) happens in that thread, so the window's toolkit lives in one
thread; :meth:`WindowSink.idle` keeps handling keys while no frame comes
(paused, a slow source).  Keys become :class:`~vidseg.control.RunControl`
requests; the sink never touches the segmenter.

* Files play at their own rate (``pace=True``): each frame is shown when its
  timestamp is due on a wall clock started at the first frame shown; a frame
  that is late is shown at once, and when it is more than ``late_reset``
  late the clock restarts from it, so falling behind or pausing never makes
  playback race to catch up.  Live sources are shown as they come.
* While paused the sink holds the next frame back, so the picture freezes at
  once even with frames queued behind it.
* A large frame is scaled down to fit the screen, for display only.
* Closing the window, ``q`` or Esc stop the run cleanly (``RunControl.stop``).

Check that a window can open with :func:`vidseg.io.display.check_display`
*before* creating this sink: without a reachable X server the first
``imshow`` aborts the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..errors import SinkError
from ..render import fixed_palette
from ..summary import LatencyLog, latency_figures
from .display import DEFAULT_SCREEN, Screen
from .hud import KEY_MAP, HudInfo, draw_hud

if TYPE_CHECKING:
    from ..control import RunControl
    from ..frames import FrameResult, StreamInfo

__all__ = ["PlaybackClock", "WindowSink"]

log = logging.getLogger(__name__)

_TURN_MS = 20  # key polling slice while waiting (paused, pacing)
_MESSAGE_S = 3.0
_FIT = 0.9  # share of the screen a frame may take


class PlaybackClock:
    """When a file's frame is due on screen: its timestamp against a wall clock.

    >>> clock = PlaybackClock(late_reset=0.1)
    >>> clock.delay(0.0, now=100.0), round(clock.delay(0.04, now=100.01), 3)
    (0.0, 0.03)
    >>> clock.delay(0.08, now=105.0)          # paused 5 s: shown at once, clock restarts
    0.0
    >>> round(clock.delay(0.12, now=105.0), 3)
    0.04
    """

    def __init__(self, *, late_reset: float = 0.1) -> None:
        self.late_reset = late_reset
        self._offset: float | None = None

    def delay(self, time_s: float, now: float) -> float:
        """Seconds to wait before showing the frame timed ``time_s`` (0: show now)."""
        if self._offset is not None:
            wait = time_s + self._offset - now
            # Far late (behind, paused) or far ahead (a timestamp jump): restart.
            if -self.late_reset <= wait <= 1.0:
                return max(wait, 0.0)
        self._offset = now - time_s
        return 0.0


class WindowSink:
    """Shows the run in a window with a heads-up display; keys steer the run.

    Parameters
    ----------
    control : RunControl
        The run's controls (keys become its requests; ``latest`` is what a
        snapshot saves).
    screen : Screen
        The screen size frames are scaled to fit (from ``check_display``).
    pace : bool
        Show files at their own frame rate (live sources are never paced).
    snapshots : Path
        Directory the ``s`` key writes snapshots into.
    stop : threading.Event, optional
        The run's stop event (signals): ends a pause or a wait at once.

    Attributes
    ----------
    shown : int
        Frames shown.
    latencies : LatencyLog
        Live sources: seconds from capture to the frame on screen, per frame
        (bounded: a uniform sample of a long run).
    """

    def __init__(
        self,
        control: RunControl,
        *,
        screen: Screen = DEFAULT_SCREEN,
        pace: bool = False,
        snapshots: Path = Path("."),
        stop: threading.Event | None = None,
    ) -> None:
        self.control, self.screen, self.pace = control, screen, pace
        self.snapshots, self.stop = snapshots, stop or threading.Event()
        self.name = "vidseg"
        self.shown = 0
        self.latencies = LatencyLog()
        self._live = False
        self._created = False
        self._gone = False  # closed by the user, q, or Esc
        self._clock = PlaybackClock()
        self._shows: deque[float] = deque(maxlen=30)
        self._latency_ms: deque[float] = deque(maxlen=15)
        self._last: tuple[FrameResult, str, np.ndarray] | None = None  # shown: result, view, image
        self._drawn: tuple[object, ...] = ()
        self._message = ("", 0.0)
        self._show_stats, self._show_keys = True, False
        self._opened_at = 0.0

    def __repr__(self) -> str:
        return f"<WindowSink {self.name!r}>"

    # -- the Sink protocol -------------------------------------------------------------

    def open(self, info: StreamInfo) -> None:
        """Remember the stream; the window itself appears with the first frame."""
        self.name = f"vidseg: {info.name}" if info.name else "vidseg"
        self._live = info.live
        self._opened_at = time.monotonic()

    def write(self, result: FrameResult) -> None:
        """Show ``result`` (after a pause or when due), then handle the keys pressed."""
        if self._finished():
            return
        while self.control.state.paused and not self._finished():
            self._turn(_TURN_MS)
        view = result.display_view
        fitted = self._fit(result, view)
        if self.pace and not self._live:
            wait = self._clock.delay(result.frame.time_s, time.monotonic())
            due = time.monotonic() + wait
            while not self._finished() and (left := due - time.monotonic()) > 0.001:
                self._turn(max(1, min(_TURN_MS, int(left * 1000))))
        if self._finished():
            return
        self._show(result, view, fitted)
        key = cv2.waitKeyEx(1)
        now = time.monotonic()
        if self._live:
            self.latencies.append(now - result.frame.captured_at)
            self._latency_ms.append(1000 * (now - result.frame.captured_at))
        self._shows.append(now)
        self.shown += 1
        if self.shown == 1:
            since = now - self._opened_at
            log.info("window %r: first frame shown %.2f s after the run started", self.name, since)
        # The window is what the user sees: a snapshot from now on saves this frame.
        self.control.observe(result)
        self._handle(key)
        self._check_closed()

    def idle(self) -> None:
        """Handle keys and redraw the display while no frame comes (writer thread)."""
        if self._created and not self._gone:
            self._turn(1)

    def close(self) -> None:
        """Close the window (called from the run's thread, after the writer ended)."""
        self._destroy(pump=False)

    def abort(self) -> None:
        """Close the window (the run failed or was interrupted)."""
        self._destroy(pump=False)

    def latency_ms(self) -> dict[str, float]:
        """Capture-to-display latency figures of a live source (p50, p95, halves), ms."""
        return latency_figures(self.latencies)

    # -- internals ---------------------------------------------------------------------

    def _finished(self) -> bool:
        return self._gone or self.control.stopping or self.stop.is_set()

    def _turn(self, wait_ms: int) -> None:
        """One slice of waiting: keys, a closed window, a display that needs redrawing."""
        if self._created:
            self._handle(cv2.waitKeyEx(wait_ms))
        else:
            time.sleep(wait_ms / 1000)
        self._check_closed()
        if self._last is not None and not self._gone and self._hud_state() != self._drawn:
            result, view, fitted = self._last
            if self.control.state.paused and self.control.state.view != view:
                # Paused, the held frame is shown in the newly chosen view.
                view = self.control.state.view
                fitted = self._fit(result, view)
            self._show(result, view, fitted)

    def _show(self, result: FrameResult, view: str, fitted: np.ndarray) -> None:
        """Draw the HUD on ``fitted`` (``view``, fitted to the screen) and show it."""
        if not self._created:
            cv2.namedWindow(self.name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
            self._created = True
        cv2.imshow(self.name, self._decorate(result, view, fitted))
        self._last = (result, view, fitted)

    def _fit(self, result: FrameResult, name: str) -> np.ndarray:
        """The view ``name`` of ``result``, scaled down to fit the screen."""
        view = result.render_view(name)
        h, w = view.shape[:2]
        factor = min(1.0, _FIT * self.screen.width / w, _FIT * self.screen.height / h)
        if factor < 1.0:
            size = (max(round(w * factor), 1), max(round(h * factor), 1))
            view = cv2.resize(view, size, interpolation=cv2.INTER_AREA)
        return view

    def _decorate(self, result: FrameResult, view: str, fitted: np.ndarray) -> np.ndarray:
        """``fitted`` with the HUD as it is now (the state drawn is remembered)."""
        state = self._hud_state()
        self._drawn = state
        if not (self._show_stats or self._show_keys or state[1] or state[2]):
            return fitted
        stats = result.stats
        shows = self._shows
        fps = (len(shows) - 1) / (shows[-1] - shows[0]) if len(shows) > 2 else 0.0
        # The palette view paints fixed colours: the bars must match what is seen.
        palette = view == "palette"
        info = HudInfo(
            fps=fps,
            latency_ms=float(np.median(self._latency_ms)) if self._latency_ms else None,
            n_clusters=stats.n_clusters,
            view=view,
            shares=stats.area_share,
            colors_bgr=fixed_palette(stats.n_clusters) if palette else stats.colors_bgr,
            position_s=None if self._live else result.frame.time_s,
            paused=bool(state[1]),
            message=str(state[2]),
            show_stats=self._show_stats,
            show_keys=self._show_keys,
        )
        return draw_hud(fitted, info)

    def _hud_state(self) -> tuple[object, ...]:
        """What the display depends on besides the frame (a change means redraw)."""
        text, until = self._message
        message = text if time.monotonic() < until else ""
        state = self.control.state
        return (self._show_stats, state.paused, message, self._show_keys, state.view)

    def _say(self, text: str) -> None:
        self._message = (text, time.monotonic() + _MESSAGE_S)

    def _handle(self, key: int) -> None:
        if not 0 < key < 0x10000:  # none, or a special key (arrows, media keys)
            return
        char = chr(key).lower()
        control = self.control
        if char in ("+", "="):
            control.change_n_clusters(+1)
        elif char in ("-", "_"):
            control.change_n_clusters(-1)
        elif char == "v":
            control.next_view()
        elif char == " ":
            control.toggle_pause()
        elif char == "r":
            control.reseed()
            self._say("palette re-seeded")
        elif char == "s":
            self._snapshot()
        elif char == "i":
            self._show_stats = not self._show_stats
        elif char == "h":
            self._show_keys = not self._show_keys
            if self._show_keys:
                log.info("keys: %s", "; ".join(f"{k} {what}" for k, what in KEY_MAP))
        elif char == "q" or key == 27:
            log.info("quit from the window")
            control.stop()
            self._destroy(pump=True)
            self._gone = True

    def _snapshot(self) -> None:
        try:
            snap = self.control.snapshot(self.snapshots)
        except SinkError as exc:
            log.error("snapshot failed: %s", exc)
            self._say(f"snapshot failed: {exc}")
            return
        self._say(f"snapshot: {snap.stats.with_suffix('')}*")

    def _check_closed(self) -> None:
        if not self._created or self._gone:
            return
        try:
            visible = cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE)
        except cv2.error:  # Qt forgets a window the user closed
            visible = -1.0
        if visible < 1:
            log.info("window closed")
            self._gone = True
            self._created = False
            self.control.stop()

    def _destroy(self, *, pump: bool) -> None:
        """Close the window; ``pump`` (writer thread only) lets the toolkit process it.

        The toolkit lives in the writer thread: a ``waitKey`` from another
        thread once it ended blocks forever, so only the writer pumps.
        """
        if self._created:
            self._created = False
            try:
                cv2.destroyWindow(self.name)
                if pump:
                    cv2.waitKey(1)
            except cv2.error as exc:
                log.debug("closing the window: %s", exc)
