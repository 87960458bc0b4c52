"""Hooks: tell commands and URLs about events, off the pipeline's thread.

:class:`HookRunner` owns one thread, ``vidseg-hooks``, started by
:meth:`~HookRunner.start` and joined by :meth:`~HookRunner.close` (which first
lets the queue drain) or :meth:`~HookRunner.abort` (which gives the queue one
hook timeout plus a second, then drops the rest, counted).  :meth:`~HookRunner.submit`
never blocks: the queue is bounded and, when full, drops its oldest record
with a counted warning.

Each record is one JSON object (an event line).  A command hook runs the
program (no shell) with the JSON on stdin; a URL hook POSTs it as
``application/json``.  Each call has a timeout.  A failing hook (non-zero exit,
timeout, HTTP error, refused connection) is logged at WARNING and counted; it
never raises into the caller and the event is in ``events.ndjson`` anyway.
"""

from __future__ import annotations

import collections
import json
import logging
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .events_config import HookSpec

__all__ = ["HookCounts", "HookRunner"]

log = logging.getLogger(__name__)

_STDERR_TAIL = 200  # characters of a failing command's stderr quoted in the log


@dataclass
class HookCounts:
    """What the hooks did: calls that succeeded, failed, and records dropped unsent."""

    ok: int = 0
    failed: int = 0
    dropped: int = 0


class HookRunner:
    """Run hooks for event records in one owned thread with a bounded queue.

    Parameters
    ----------
    hooks : sequence of HookSpec
    timeout_s : float
        Each call is stopped (command killed, request abandoned) after this.
    queue_size : int
        Records waiting; when full the oldest is dropped and counted.

    Examples
    --------
    >>> runner = HookRunner([], timeout_s=1.0, queue_size=4)
    >>> runner.start(); runner.submit({"type": "start"}); runner.close()
    >>> runner.counts
    HookCounts(ok=0, failed=0, dropped=0)
    """

    def __init__(self, hooks: Sequence[HookSpec], *, timeout_s: float, queue_size: int) -> None:
        self.hooks = tuple(hooks)
        self.timeout_s = timeout_s
        self.queue_size = queue_size
        self.counts = HookCounts()
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._deadline: float | None = None  # abort: give up on the queue at this time
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker thread (nothing to do without hooks)."""
        if self.hooks and self._thread is None:
            self._thread = threading.Thread(target=self._work, name="vidseg-hooks", daemon=True)
            self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        """Queue ``record`` for every hook that wants its ``type``; never blocks."""
        if not any(record.get("type") in h.on for h in self.hooks):
            return
        with self._cond:
            if len(self._queue) >= self.queue_size:
                self._queue.popleft()
                self.counts.dropped += 1
                log.warning(
                    "hook queue full (%d): dropped the oldest event record (%d dropped so far); "
                    "the hooks are slower than the events (raise hook_queue or hook_timeout_s?)",
                    self.queue_size,
                    self.counts.dropped,
                )
            self._queue.append(record)
            self._cond.notify()

    def close(self) -> None:
        """Let the queued records go out, then join the thread."""
        self._finish(None)

    def abort(self) -> None:
        """Give the queue one hook timeout plus a second, drop the rest (counted), join."""
        self._finish(time.monotonic() + self.timeout_s + 1.0)

    def _finish(self, deadline: float | None) -> None:
        with self._cond:
            self._closing = True
            self._deadline = deadline
            self._cond.notify()
        if self._thread is not None:
            # Each call is bounded by the timeout, so this join is too.
            self._thread.join()
            self._thread = None
        c = self.counts
        if self.hooks:
            log.info(
                "hooks: %d calls succeeded, %d failed, %d records dropped",
                c.ok,
                c.failed,
                c.dropped,
            )

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                late = self._deadline is not None and time.monotonic() > self._deadline
                if not self._queue or late:
                    if self._queue:
                        self.counts.dropped += len(self._queue)
                        log.warning(
                            "stopping: %d event records not sent to the hooks", len(self._queue)
                        )
                        self._queue.clear()
                    return
                record = self._queue.popleft()
            data = json.dumps(record).encode()
            for hook in self.hooks:
                if record.get("type") in hook.on:
                    self._call(hook, data, record)

    def _call(self, hook: HookSpec, data: bytes, record: dict[str, Any]) -> None:
        what = f"event {record.get('id')!r} ({record.get('type')})"
        try:
            if hook.command is not None:
                _run_command(hook.command, data, self.timeout_s)
            else:
                assert hook.url is not None
                _post(hook.url, data, self.timeout_s)
        except _HookFailed as exc:
            self.counts.failed += 1
            log.warning(
                "hook %s failed for %s: %s (the event is in the events file)",
                _name(hook),
                what,
                exc,
            )
        else:
            self.counts.ok += 1


class _HookFailed(Exception):
    """One hook call failed; the message says how."""


def _name(hook: HookSpec) -> str:
    return " ".join(hook.command) if hook.command is not None else str(hook.url)


def _run_command(argv: tuple[str, ...], data: bytes, timeout_s: float) -> None:
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise _HookFailed(f"timed out after {timeout_s:g} s (killed)") from None
    except OSError as exc:
        raise _HookFailed(f"cannot run it ({exc.strerror or exc})") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-_STDERR_TAIL:]
        raise _HookFailed(f"exit status {done.returncode}" + (f": {tail}" if tail else ""))


def _post(url: str, data: bytes, timeout_s: float) -> None:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise _HookFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _HookFailed(f"cannot reach it ({exc.reason})") from None
    except (TimeoutError, OSError) as exc:
        raise _HookFailed(f"no answer within {timeout_s:g} s ({exc})") from None
