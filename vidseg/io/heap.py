"""Hand freed heap memory back to the operating system at a long run's boundaries.

glibc keeps memory that is freed in its arenas for reuse; after a segment's
encoder, muxer and remux are freed, or a stream's decoder after a reconnect, a
days-long recording kept that memory mapped.  Measured on a 720p recording in
40 s segments: resident memory rose 397 -> 456 MiB over 6 segments without a
trim, and stayed within 395-427 MiB with one after each segment.
``malloc_trim(0)`` returns the free pages; where the C library has no such call
(musl, macOS) :func:`trim_heap` does nothing.

>>> isinstance(trim_heap(), bool)
True
"""

from __future__ import annotations

import ctypes
import logging

from .._libc import libc_function

__all__ = ["trim_heap"]

logger = logging.getLogger(__name__)


def trim_heap() -> bool:
    """Return free heap pages to the system; True when some memory was released."""
    trim = libc_function("malloc_trim")
    if trim is None:
        return False
    released = bool(trim(ctypes.c_size_t(0)))
    logger.debug("heap trimmed (memory released: %s)", released)
    return released
