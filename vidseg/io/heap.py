"""Keep a long run's memory flat: freed heap memory goes back to the operating system.

glibc keeps memory that is freed in its arenas for reuse; after a segment's
encoder, muxer and remux are freed, or a stream's decoder after a reconnect, a
days-long recording kept that memory mapped.  Measured on a 720p recording in
40 s segments: resident memory rose 397 -> 456 MiB over 6 segments without a
trim, and stayed within 395-427 MiB with one after each segment.
``malloc_trim(0)`` returns the free pages; where the C library has no such call
(musl, macOS) :func:`trim_heap` does nothing.

Within a segment, glibc's sliding mmap threshold is the next source of growth:
after the first large block is freed it serves frame-sized blocks from its
arenas, where the decoder's, the engine's and the encoder's blocks of different
sizes, freed by different threads, leave holes that a trim cannot return.  A
720p live recording in 60 s segments rose 328 -> 348 MiB in 5 minutes that way;
with blocks of 1 MiB or more mapped on their own (:func:`map_large_blocks`) it
stayed within 317-323 MiB, for about 16% more CPU per frame (page faults on
each new frame buffer), which a live run paced by its camera can spend.

>>> isinstance(trim_heap(), bool)
True
"""

from __future__ import annotations

import ctypes
import logging

from .._libc import libc_function

__all__ = ["map_large_blocks", "trim_heap"]

logger = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
LARGE_BLOCK = 1 << 20  # below a 720p frame's buffers, above the statistics and samples


def trim_heap() -> bool:
    """Return free heap pages to the system; True when some memory was released."""
    trim = libc_function("malloc_trim")
    if trim is None:
        return False
    released = bool(trim(ctypes.c_size_t(0)))
    logger.debug("heap trimmed (memory released: %s)", released)
    return released


def map_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Map every block of ``threshold`` bytes or more on its own, unmapped when freed.

    Process-wide and for the rest of the process: fixing the threshold also
    stops glibc from raising it.  True when the C library took the setting.
    """
    mallopt = libc_function("mallopt")
    if mallopt is None:
        return False
    done = bool(mallopt(ctypes.c_int(_M_MMAP_THRESHOLD), ctypes.c_int(threshold)))
    logger.debug("blocks of %d bytes or more mapped on their own: %s", threshold, done)
    return done
