"""Steering a running pipeline: one control path into the runner.

Front ends (the preview window's keys, the web page's buttons, a script) never
reach into the runner's threads.  They call :class:`RunControl`, which queues a
command; the thread that owns the segmenter applies the queued commands between
two frames (:meth:`RunControl.apply`), so nothing locks the per-frame path and
nothing races with a segmentation in progress.  :attr:`RunControl.state` tells
what the frames from now on are made with.

>>> ctl = RunControl(n_clusters=8, view="recolor")
>>> ctl.set_n_clusters(6); ctl.set_view("overlay")
>>> ctl.state.n_clusters, ctl.state.view        # queued, not yet applied
(8, 'recolor')

Snapshots do not touch the segmenter: :meth:`RunControl.snapshot` saves the
latest result that reached the sinks (what a viewer is looking at).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .config import VIEWS, EngineConfig, validate_section
from .errors import ConfigError

if TYPE_CHECKING:
    from .frames import FrameResult
    from .io.snapshot import Snapshot

__all__ = ["ControlState", "RunControl", "Steerable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ControlState:
    """What the frames segmented from now on are made with.

    Attributes
    ----------
    n_clusters : int
        Number of clusters k.
    view : str
        The view a display shows (one of :data:`vidseg.render.VIEWS`); video
        files keep the view they were opened with.
    paused : bool
        No new frame is segmented (live sources keep only the newest one).
    """

    n_clusters: int
    view: str
    paused: bool = False


class Steerable(Protocol):
    """What :meth:`RunControl.apply` changes: the run's segmenter."""

    def set_n_clusters(self, n_clusters: int) -> None: ...

    def reseed(self) -> None: ...


@dataclass(frozen=True)
class _SetClusters:
    n_clusters: int


@dataclass(frozen=True)
class _SetView:
    view: str


@dataclass(frozen=True)
class _SetPaused:
    paused: bool | None  # None toggles


@dataclass(frozen=True)
class _Reseed:
    pass


_Command = _SetClusters | _SetView | _SetPaused | _Reseed


class RunControl:
    """Thread-safe requests to a running :func:`vidseg.pipeline.run`.

    Any thread may call the request methods; each is validated at once (a bad
    value raises :class:`~vidseg.errors.ConfigError` in the caller) and queued.
    The runner calls :meth:`apply` between two frames, in the thread that
    segments, and while paused keeps calling it so a resume gets through.

    Parameters
    ----------
    n_clusters : int
        The run's starting k.
    view : str
        The run's starting display view.

    Examples
    --------
    >>> ctl = RunControl(n_clusters=8)
    >>> ctl.toggle_pause()
    >>> class Engine:
    ...     def set_n_clusters(self, k): print("k ->", k)
    ...     def reseed(self): print("reseed")
    >>> ctl.set_n_clusters(9); ctl.reseed()
    >>> ctl.apply(Engine())
    k -> 9
    reseed
    True
    >>> ctl.state
    ControlState(n_clusters=9, view='recolor', paused=True)
    """

    def __init__(self, *, n_clusters: int = 8, view: str = "recolor") -> None:
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._state = ControlState(n_clusters=n_clusters, view=_check_view(view))
        self._state_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._latest: FrameResult | None = None

    # -- requests (any thread) -------------------------------------------------------

    @property
    def state(self) -> ControlState:
        """The state the runner has applied (requests still queued are not in it)."""
        return self._state

    def set_n_clusters(self, n_clusters: int) -> None:
        """Ask for ``n_clusters`` clusters (2..64) from the next frame on."""
        k = validate_section(EngineConfig, {"n_clusters": n_clusters})["n_clusters"]
        self._put(_SetClusters(k))

    def change_n_clusters(self, delta: int) -> None:
        """Ask for k + ``delta`` clusters, clamped to 2..64 (the ``+``/``-`` keys)."""
        spec = {f.name: f for f in dataclasses.fields(EngineConfig)}["n_clusters"].metadata
        k = min(max(self._state.n_clusters + delta, int(spec["lo"])), int(spec["hi"]))
        self._put(_SetClusters(k))

    def set_view(self, view: str) -> None:
        """Show ``view`` (recolor, palette, side-by-side, overlay) from the next frame on."""
        self._put(_SetView(_check_view(view)))

    def next_view(self) -> None:
        """Cycle to the next view (the ``v`` key)."""
        i = VIEWS.index(self._state.view)
        self._put(_SetView(VIEWS[(i + 1) % len(VIEWS)]))

    def pause(self) -> None:
        """Stop segmenting new frames until :meth:`resume`."""
        self._put(_SetPaused(True))

    def resume(self) -> None:
        """Go on after :meth:`pause`."""
        self._put(_SetPaused(False))

    def toggle_pause(self) -> None:
        """Pause when running, resume when paused (the space key)."""
        self._put(_SetPaused(None))

    def reseed(self) -> None:
        """Re-seed the palette on the next frame, keeping the ids (the ``r`` key)."""
        self._put(_Reseed())

    def stop(self) -> None:
        """Ask the run to finish cleanly (outputs closed as at the end of the input)."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """:meth:`stop` was called."""
        return self._stop.is_set()

    @property
    def latest(self) -> FrameResult | None:
        """The newest result that reached the sinks (None before the first)."""
        return self._latest

    def snapshot(self, directory: str | Path = ".") -> Snapshot:
        """Save the newest result: original PNG, view PNG and statistics JSON.

        The three files share one timestamped name in ``directory``; where is logged.

        Raises
        ------
        SinkError
            No frame yet, or the files cannot be written.
        """
        from .io.snapshot import write_snapshot

        return write_snapshot(self._latest, Path(directory), view=self._state.view)

    # -- the runner's side -----------------------------------------------------------

    def apply(self, engine: Steerable) -> bool:
        """Apply every queued request (runner only, between two frames).

        Returns True when anything changed.
        """
        changed = False
        self._wake.clear()
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return changed
            changed = True
            state = self._state
            if isinstance(cmd, _SetClusters):
                if cmd.n_clusters != state.n_clusters:
                    engine.set_n_clusters(cmd.n_clusters)
                    log.info("k %d -> %d", state.n_clusters, cmd.n_clusters)
                    state = dataclasses.replace(state, n_clusters=cmd.n_clusters)
            elif isinstance(cmd, _SetView):
                state = dataclasses.replace(state, view=cmd.view)
            elif isinstance(cmd, _SetPaused):
                paused = not state.paused if cmd.paused is None else cmd.paused
                state = dataclasses.replace(state, paused=paused)
                log.info("%s", "paused" if paused else "resumed")
            else:
                engine.reseed()
                log.info("palette re-seeded")
            with self._state_lock:
                self._state = state

    def wait(self, timeout: float) -> None:
        """Sleep until a request arrives or ``timeout`` passes (runner, while paused)."""
        self._wake.wait(timeout)

    def observe(self, result: FrameResult) -> None:
        """Record the newest result written (runner's writer thread)."""
        self._latest = result

    def _put(self, cmd: _Command) -> None:
        self._commands.put(cmd)
        self._wake.set()


def _check_view(view: str) -> str:
    if view not in VIEWS:
        raise ConfigError(f"view must be one of {', '.join(VIEWS)}; got {view!r}")
    return view
