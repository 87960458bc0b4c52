"""``vidseg batch``: many videos converted (and analysed) on a Dask cluster.

Plans on the client (expand the inputs, give each its folder, skip what the
manifest says is done), submits one :func:`vidseg.dist.task.run_task` per
input, and records each result in the manifest as it arrives.  A failed input
(corrupt file, a worker that died ``allowed-failures`` times) fails alone; the
batch goes on and the summary lists each failure with its one-line reason.
Setting ``stop`` (Ctrl-C) stops the running tasks as a signal stops
``convert`` (outputs kept under their partial names) and cancels the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from ..dist.cluster import ClusterConfig, open_client, usable_cores
from ..dist.inputs import expand_inputs
from ..dist.long_inputs import LongInputs
from ..dist.manifest import Manifest, config_hash, locked
from ..dist.task import TaskResult, TaskSpec, run_task
from ..dist.threads import budget_for_host
from ..errors import VidsegError

__all__ = ["BatchOptions", "BatchReport", "batch", "settings_hash"]

log = logging.getLogger(__name__)

_POLL_S = 0.2
#: After Ctrl-C, how long running tasks get to finish their partial outputs.
_STOP_GRACE_S = 60.0


@dataclass(frozen=True, kw_only=True)
class BatchOptions:
    """What ``vidseg batch`` was asked (validated by :func:`batch`).

    Parameters
    ----------
    inputs : sequence of str
        Files, directories (searched recursively) and globs.
    out : Path
        The output directory: one folder per input, and ``manifest.json``.
    cluster : ClusterConfig
        A local cluster (default) or ``--scheduler``.
    analyze : bool
        Also run ``analyze`` on each input (also implied by a config with zones,
        masks or rules).
    labels_format : str, optional
        Write label maps (``png`` / ``npz``); None: none.
    overwrite : bool
        Redo every input, also those the manifest records as done.
    progress : bool
        Draw the progress bar.
    long_inputs : LongInputs
        Which inputs are long enough to go through chunks (``--chunk-longer-than``).
    """

    inputs: Sequence[str]
    out: Path
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    analyze: bool = False
    labels_format: str | None = None
    overwrite: bool = False
    progress: bool = True
    long_inputs: LongInputs = field(default_factory=LongInputs)


@dataclass(kw_only=True)
class BatchReport:
    """What happened to each input (absolute paths as strings)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0


def _jsonable(value: Any) -> Any:
    """Arrays by their digest (``str`` would elide a large mask's middle)."""
    if hasattr(value, "tobytes"):
        import hashlib

        return hashlib.sha256(value.tobytes()).hexdigest()
    return str(value)


def settings_hash(cfg: Config, *, analyze: bool, labels_format: str | None) -> str:
    """Hash of everything that shapes a task's outputs (not the progress bar)."""
    import json

    settings = dataclasses.asdict(cfg)
    settings["run"].pop("progress")
    text = json.dumps(settings, sort_keys=True, default=_jsonable)
    return config_hash(
        {"cfg": text, "analyze": analyze, "labels": labels_format, "vidseg": __version__}
    )


def _expected_frames(path: Path, cfg: Config) -> int:
    """Frames the input should give (header count, capped by max_frames); 0 if unknown."""
    import av

    try:
        with av.open(str(path)) as container:
            frames = container.streams.video[0].frames
    except (av.error.FFmpegError, OSError, IndexError):
        return 0
    return min(frames, cfg.run.max_frames) if cfg.run.max_frames else frames


def host_budgets(client: Any) -> dict[str, int]:
    """Threads per task on each worker host: its cores over its workers' threads."""
    from distributed.comm import get_address_host

    cores: dict[str, int] = {}
    for address, n in client.run(usable_cores).items():
        host = get_address_host(address)
        cores[host] = max(cores.get(host, 0), n)
    slots: dict[str, int] = {}
    for address, nthreads in client.nthreads().items():
        host = get_address_host(address)
        slots[host] = slots.get(host, 0) + nthreads
    return {host: budget_for_host(cores, slots, host) for host in cores}


def _reason(exc: BaseException, folder: Path) -> str:
    """One line for a failed input."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return (
            "the worker died each time it ran this input (Dask's KilledWorker, after "
            f"distributed.scheduler.allowed-failures retries); partial outputs kept in {folder}"
        )
    if isinstance(exc, VidsegError):
        return str(exc).splitlines()[0]
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def batch(opts: BatchOptions, cfg: Config, *, stop: threading.Event | None = None) -> BatchReport:
    """Run the batch; returns what was done, skipped, failed and stopped.

    Raises
    ------
    ConfigError
        No inputs found, or another batch is writing into ``opts.out``.
    VidsegError
        The output directory or the scheduler cannot be used.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..dist.progress import BatchProgress

    start = time.monotonic()
    stop = stop or threading.Event()
    analysis = cfg.analysis
    analyze = opts.analyze or bool(analysis.zones or analysis.masks or analysis.rules)
    out = Path(os.path.abspath(opts.out))
    inputs = expand_inputs(opts.inputs, exclude=out)
    report = BatchReport()
    with locked(out):
        manifest = Manifest(out)
        folders = manifest.assign(inputs)
        settings = settings_hash(cfg, analyze=analyze, labels_format=opts.labels_format)
        todo = []
        for path in inputs:
            if not opts.overwrite and manifest.is_done(path, settings):
                report.skipped.append(str(path))
            else:
                todo.append(path)
        manifest.save()
        if report.skipped:
            log.info(
                "%d of %d inputs done already (manifest): skipped", len(report.skipped), len(inputs)
            )
        if not todo:
            return report
        name = f"vidseg-batch-{uuid.uuid4().hex[:12]}"
        specs = {
            path: TaskSpec(
                source=str(path),
                folder=str(out / folders[path]),
                cfg=cfg,
                analyze=analyze,
                labels_format=opts.labels_format,
                topic=name,
                stop_event=name,
            )
            for path in todo
        }
        totals = {str(p): _expected_frames(p, cfg) * (2 if analyze else 1) for p in todo}
        with (
            open_client(opts.cluster) as client,
            contextlib.closing(BatchProgress(totals, enabled=opts.progress)) as bar,
            logging_redirect_tqdm(loggers=[logging.getLogger("vidseg")]),  # lines above the bar
        ):
            budgets = host_budgets(client)
            log.info(
                "%d inputs to do on %d workers (threads per task by host: %s)",
                len(todo),
                len(client.nthreads()),
                budgets or "1",
            )
            chunks = _long_inputs(todo, opts, cfg, analyze, sum(client.nthreads().values()))
            specs = {p: dataclasses.replace(s, chunks=chunks.get(p, 0)) for p, s in specs.items()}
            client.subscribe_topic(name, bar.on_event)
            futures = {
                client.submit(run_task, spec, budgets, key=f"{name}-{i}", pure=False): path
                for i, (path, spec) in enumerate(specs.items())
            }
            books = _Books(manifest, report, bar, settings)
            try:
                _gather(client, futures, books, {p: out / folders[p] for p in todo}, stop, name)
            finally:
                client.unsubscribe_topic(name)
            report.frames = bar.frames
    report.seconds = time.monotonic() - start
    return report


def _long_inputs(
    todo: list[Path], opts: BatchOptions, cfg: Config, analyze: bool, slots: int
) -> dict[Path, int]:
    """The chunks of each input long enough to go through chunks (the rest: one task)."""
    from ..dist.long_inputs import chunk_count, refusal, video_seconds

    rule = opts.long_inputs
    if rule.longer_than_s is None:
        return {}
    why_not = refusal(cfg, analyze=analyze, labels_format=opts.labels_format)
    chunks: dict[Path, int] = {}
    for path in todo:
        seconds = video_seconds(path)
        n = chunk_count(seconds, rule, slots=slots)
        if n and why_not:
            log.info("%s is %.0f s long but %s: converted as one task", path, seconds, why_not)
        elif n:
            log.info("%s is %.0f s long: converted in %d chunks", path, seconds, n)
            chunks[path] = n
    return chunks


def _gather(
    client: Any,
    futures: dict[Any, Path],
    books: _Books,
    folders: dict[Path, Path],
    stop: threading.Event,
    name: str,
) -> None:
    """Record each task as it finishes; on ``stop``, stop the running ones (then cancel)."""
    from distributed import Event, as_completed

    done = as_completed(futures)
    stop_at: float | None = None
    event = Event(name, client=client)
    while not done.is_empty():
        for future in done.next_batch(block=False):
            books.record(future, futures[future], folders[futures[future]])
        if stop.is_set() and stop_at is None:
            log.warning("stopping: running tasks keep their partial outputs")
            event.set()
            stop_at = time.monotonic() + _STOP_GRACE_S
        if stop_at is not None and time.monotonic() > stop_at:
            client.cancel(list(futures))  # a task still running keeps seeing the event
            stop_at = float("inf")
        time.sleep(_POLL_S)
    if stop_at is not None and stop_at != float("inf"):
        event.clear()  # every task has answered: a scheduler that outlives us keeps no state


@dataclass(frozen=True)
class _Books:
    """Where one finished task is written down: manifest, report, bar and log."""

    manifest: Manifest
    report: BatchReport
    bar: Any
    settings: str

    def record(self, future: Any, path: Path, folder: Path) -> None:
        """Write one finished task down."""
        if future.status == "cancelled":
            self._stopped(path, folder)
            return
        exc = future.exception() if future.status == "error" else None
        result: TaskResult | None = future.result() if exc is None else None
        if result is not None and result.status == "stopped":
            self._stopped(path, folder)
            return
        if result is None or result.status == "failed":
            reason = _reason(exc, folder) if exc is not None else str(result.error)
            self.manifest.update(path, status="failed", error=reason)
            self.report.failed[str(path)] = reason
            self.bar.finished(str(path), ok=False)
            log.error("failed %s: %s", path, reason)
            return
        self.manifest.update(
            path,
            status="done",
            size=result.size,
            mtime_ns=result.mtime_ns,
            sha256=result.sha256,
            config=self.settings,
            outputs=tuple(f"{folder.name}/{name}" for name in result.outputs),
            frames=result.frames,
            error=None,
        )
        self.report.done.append(str(path))
        self.bar.finished(str(path), ok=True)
        log.info(
            "done %s -> %s (%d frames, %.1f s on %s)",
            path,
            folder,
            result.frames,
            result.seconds,
            result.worker,
        )

    def _stopped(self, path: Path, folder: Path) -> None:
        self.report.stopped.append(str(path))
        self.bar.finished(str(path), ok=False)
        log.warning("stopped %s; partial outputs kept in %s", path, folder)


def log_summary(report: BatchReport) -> None:
    """The batch's closing lines: counts, then each failure with its reason."""
    log.info(
        "batch: %d done, %d skipped (done before), %d failed, %d stopped; %d frames in %.1f s",
        len(report.done),
        len(report.skipped),
        len(report.failed),
        len(report.stopped),
        report.frames,
        report.seconds,
    )
    for path, reason in report.failed.items():
        log.error("failed: %s: %s", path, reason)
