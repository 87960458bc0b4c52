"""One batch task: convert (and analyse) one input into its folder, on a Dask worker.

:func:`run_task` is what the batch submits; it runs the same
:func:`vidseg.apps.convert.convert` (and :func:`vidseg.apps.analyze.analyze`) as
the commands do, so a file's statistics and label maps equal those of
``vidseg convert`` with the same config.  It lives in an importable module (never
a closure or ``__main__``) because the scheduler unpickles the task too.  On the
worker it

* holds every library to the task's thread budget (:mod:`vidseg.dist.threads`);
* reports progress as worker events on the batch's topic (``Worker.log_event``,
  at most every ``_REPORT_S``), which the client's bar subscribes to;
* stops when the batch's :class:`distributed.Event` is set (Ctrl-C on the
  client): the run ends as ``convert`` does on a signal, its outputs kept
  under their partial names, and the result says ``stopped``.
* converts a long input (``spec.chunks`` > 1) with the chunked conversion,
  its chunks submitted to the same cluster through ``worker_client``.

Outputs go into the input's own folder only, so two tasks never share a
partial name; every file is written under its partial name and renamed when
complete (the sinks' own crash safety).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import SourceOpenError, VidsegError, reason
from .manifest import file_sha256
from .threads import budget_config, limit_process_threads

__all__ = ["TaskResult", "TaskSpec", "TaskStopped", "output_names", "run_task"]

_REPORT_S = 0.5  # seconds between a task's progress events


class TaskStopped(VidsegError):
    """The batch was stopped before this task started."""


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """What one task does (pickled to the worker).

    Parameters
    ----------
    source : str
        The input video (absolute path, readable by the workers).
    folder : str
        Its output folder (absolute path, writable by the workers).
    cfg : Config
        The batch's validated configuration.
    analyze : bool
        Also run ``analyze`` (zone statistics, events, report).
    labels_format : str, optional
        Write label maps in this format (``png`` / ``npz``); None: no label maps.
    topic, stop_event : str
        The batch's progress topic and the name of its stop :class:`distributed.Event`.
    chunks : int
        Above 1: a long input, converted in this many chunks on the same cluster
        (:func:`vidseg.apps.chunked.convert_chunked`); 0: in this task.
    """

    source: str
    folder: str
    cfg: Config
    analyze: bool = False
    labels_format: str | None = None
    topic: str = "vidseg-batch"
    stop_event: str = "vidseg-batch-stop"
    chunks: int = 0


@dataclass(frozen=True, kw_only=True)
class TaskResult:
    """What a task hands back to the client; ``status`` is done, failed or stopped."""

    status: str
    frames: int
    outputs: tuple[str, ...]
    size: int
    mtime_ns: int
    sha256: str
    seconds: float
    worker: str
    threads: int
    error: str | None = None


def output_names(source: str, analyze: bool, labels: bool) -> dict[str, str]:
    """The files (and directories) a task writes into its folder, by role.

    >>> sorted(output_names("/in/cam 1.avi", analyze=False, labels=True).items())
    [('labels', 'labels'), ('stats', 'stats.csv'), ('video', 'cam 1.mp4')]
    """
    names = {"video": Path(source).stem + ".mp4", "stats": "stats.csv"}
    if labels:
        names["labels"] = "labels"
    if analyze:
        names |= {
            "zones": "zones.csv",
            "maps": "zones.maps.npz",
            "events": "events.ndjson",
            "report": "report.html",
            "report_files": "report_files",
        }
    return names


class _Reporter:
    """Sends this task's frame count to the batch topic, at most every ``_REPORT_S``."""

    def __init__(self, worker: Any, topic: str, source: str) -> None:
        self._worker, self._topic, self._source = worker, topic, source
        self.frames = 0
        self._sent = 0.0

    def __call__(self, result: object, summary: object) -> None:
        self.frames += 1
        now = time.monotonic()
        if now - self._sent >= _REPORT_S:
            self.send()
            self._sent = now

    def send(self, state: str = "running") -> None:
        if self._worker is not None:
            msg = {"input": self._source, "frames": self.frames, "state": state}
            self._worker.log_event(self._topic, msg)


class _Cancel:
    """The batch's stop, polled from its distributed event by a thread owned here.

    Each run gets its own ``threading.Event`` (:meth:`for_run`): the runner sets
    the one it was given when it ends, so that one cannot say whether the
    batch was stopped; :attr:`cancelled` does.
    """

    def __init__(self, event: Any) -> None:
        self.cancelled = threading.Event()
        self._runs: list[threading.Event] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._event = event
        self._thread = threading.Thread(target=self._watch, name="vidseg-batch-stop", daemon=True)

    def for_run(self) -> threading.Event:
        """A fresh stop event for one run, set at once if the batch is already stopped."""
        stop = threading.Event()
        with self._lock:
            self._runs.append(stop)
            if self.cancelled.is_set():
                stop.set()
        return stop

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                if not self._event.wait(timeout=_REPORT_S):
                    continue
            except Exception:  # the scheduler is gone (the worker goes too): stop polling
                return
            with self._lock:
                self.cancelled.set()
                for stop in self._runs:
                    stop.set()
            return

    def __enter__(self) -> _Cancel:
        if self._event is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


def _worker_context(spec: TaskSpec, budgets: Mapping[str, int]) -> tuple[Any, Any, int]:
    """This worker, the batch's stop event and this task's thread budget (no worker: 1)."""
    try:
        from distributed import Event, get_client, get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
    except (ImportError, ValueError):  # called outside a Dask worker
        return None, None, 1
    threads = budgets.get(get_address_host(worker.address), 1)
    return worker, Event(spec.stop_event, client=get_client()), threads


def run_task(spec: TaskSpec, budgets: Mapping[str, int]) -> TaskResult:
    """Convert (and analyse) ``spec.source`` into ``spec.folder``; what the batch submits.

    ``budgets`` maps a worker host to the threads each task there may use.  An
    input vidseg cannot process is a result (``status="failed"`` with its one-line
    reason), not a task error: Dask would print a traceback on the worker for
    every corrupt file.  So is a stop (``status="stopped"``).
    """
    start = time.monotonic()
    worker, event, threads = _worker_context(spec, budgets)
    folder = Path(spec.folder)
    names = output_names(spec.source, spec.analyze, spec.labels_format is not None)
    report = _Reporter(worker, spec.topic, spec.source)
    status, error, frames, stat, digest = "done", None, 0, None, ""
    with _Cancel(event) as cancel, limit_process_threads(threads):
        try:
            if cancel.cancelled.is_set() or (event is not None and event.is_set()):
                raise TaskStopped("not started: the batch was stopped")
            stat, digest = _fingerprint(Path(spec.source))
            folder.mkdir(parents=True, exist_ok=True)
            cfg = budget_config(spec.cfg.with_overrides({"progress": False}), threads)
            frames = _convert_and_analyze(spec, cfg, folder, names, cancel, report)
        except TaskStopped as exc:
            status, error = "stopped", str(exc)
        except VidsegError as exc:
            status, error = "failed", str(exc).splitlines()[0] if str(exc) else repr(exc)
            frames = report.frames
    if status != "stopped" and cancel.cancelled.is_set():
        status, error = "stopped", "stopped; outputs kept under their partial names"
    report.send(status)
    return TaskResult(
        status=status,
        error=error,
        frames=frames,
        outputs=tuple(n for n in names.values() if (folder / n).exists()),
        size=stat.st_size if stat is not None else 0,
        mtime_ns=stat.st_mtime_ns if stat is not None else 0,
        sha256=digest,
        seconds=time.monotonic() - start,
        worker=worker.address if worker is not None else f"pid {os.getpid()}",
        threads=threads,
    )


def _fingerprint(source: Path) -> tuple[os.stat_result, str]:
    """The input's stat and SHA-256, taken before it is read for work."""
    try:
        return source.stat(), file_sha256(source)
    except OSError as exc:
        raise SourceOpenError(
            f"cannot read input {str(source)!r} on this worker: {reason(exc)}"
        ) from None


def _convert_and_analyze(
    spec: TaskSpec,
    cfg: Config,
    folder: Path,
    names: Mapping[str, str],
    cancel: _Cancel,
    report: _Reporter,
) -> int:
    """The commands' own functions, into ``folder``; returns the frames converted."""
    from ..apps.analyze import analyze
    from ..apps.convert import convert

    if spec.chunks > 1:  # the frames count when joined: chunk tasks send no events
        report.frames = _convert_chunked(
            spec, cfg, folder / names["video"], folder / names["stats"], cancel.for_run()
        )
        return report.frames
    summary = convert(
        spec.source,
        folder / names["video"],
        cfg,
        stats=folder / names["stats"],
        labels=folder / names["labels"] if "labels" in names else None,
        labels_format=spec.labels_format or "png",
        overwrite=True,  # the folder is the batch's; a redo replaces its old outputs
        stop=cancel.for_run(),
        on_frame=report,
    )
    if spec.analyze and not cancel.cancelled.is_set():
        analyze(
            spec.source,
            cfg,
            stats=folder / names["zones"],
            events=folder / names["events"] if cfg.analysis.rules else None,
            report=folder / names["report"],
            overwrite=True,
            stop=cancel.for_run(),
            on_frame=report,
        )
    return summary.frames_out


def _convert_chunked(
    spec: TaskSpec, cfg: Config, video: Path, stats: Path, stop: threading.Event
) -> int:
    """A long input in ``spec.chunks`` chunk tasks on this task's own cluster; its frames.

    ``worker_client`` secedes this task from the worker's thread pool while it
    waits, so its chunks can run on this worker too.
    """
    from distributed import worker_client

    from ..apps.chunked import convert_chunked
    from .cluster import ClusterConfig

    with worker_client() as client:
        summary = convert_chunked(
            spec.source,
            video,
            cfg,
            chunks=spec.chunks,
            cluster=ClusterConfig(),  # not used: the chunks run on ``client``
            client=client,
            stats=stats,
            overwrite=True,  # the folder is the batch's; a redo replaces its old outputs
            stop=stop,
        )
    return summary.frames
