"""Thread names the operating system sees (``top -H``, ``ps -L``, ``/proc/PID/task/*/comm``).

Python (before 3.14) names its threads only for itself, so every thread of a
run shows as ``python``; a run that goes for days is easier to watch when the
reader, writer and web server each show their CPU under their own name.  Linux
only (``prctl(PR_SET_NAME)``, 15 bytes kept); elsewhere a no-op.

>>> run = os_named("vidseg-test", lambda x: x + 1)
>>> run(1)
2
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ._libc import libc_function

__all__ = ["os_named", "set_os_thread_name"]

_PR_SET_NAME = 15
P = ParamSpec("P")
R = TypeVar("R")


def set_os_thread_name(name: str) -> None:
    """Name the calling thread for the operating system (first 15 bytes)."""
    prctl = libc_function("prctl")
    if prctl is not None:
        prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def os_named(name: str, target: Callable[P, R]) -> Callable[P, R]:
    """``target``, naming the thread that runs it ``name`` first."""

    @functools.wraps(target)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        set_os_thread_name(name)
        return target(*args, **kwargs)

    return run
