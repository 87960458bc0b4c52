"""The C library's optional calls (glibc on Linux), looked up once; None elsewhere."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

__all__ = ["libc_function"]


@functools.cache
def libc_function(name: str) -> Callable[..., int] | None:
    """The C library's function ``name``, or None where there is no such library or call.

    >>> libc_function("no_such_call_anywhere") is None
    True
    """
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name, None)
    except OSError:
        return None
