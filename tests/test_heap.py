"""Memory of long runs: live runs map large blocks on their own, so freed frames go back.

Each case runs in a fresh interpreter: the C library's setting is process-wide.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's malloc settings"
)

# After the snippet, is a 1.5 MiB block that follows a freed 3 MiB one mapped on its
# own (and so unmapped when freed)?  glibc's sliding threshold would put it in an arena.
_PROBE = textwrap.dedent(
    """
    import ctypes
    import numpy as np

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    {snippet}
    big = np.ones(3 << 20, np.uint8)
    del big
    before = libc.mallinfo2().hblkhd
    block = np.ones(3 << 19, np.uint8)
    print(libc.mallinfo2().hblkhd - before >= block.nbytes)
    """
)

_RUN = textwrap.dedent(
    """
    from vidseg import Segmenter
    from vidseg.io.demo import demo_frames
    from vidseg.io.sources import ArraySource
    from vidseg.pipeline import run
    clip = list(demo_frames(4, (640, 480)))  # a pan over a real photo
    run(ArraySource(clip, live={live}), Segmenter(n_clusters=3), [])
    """
)


def _mapped(snippet: str) -> bool:
    code = _PROBE.format(snippet=snippet.strip())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_map_large_blocks_maps_each_large_block_on_its_own() -> None:
    assert not _mapped("pass")  # glibc's own sliding threshold: the block lands in an arena
    assert _mapped("from vidseg.io.heap import map_large_blocks; assert map_large_blocks()")


def test_a_live_run_maps_large_blocks_and_a_file_run_leaves_the_heap_alone() -> None:
    assert _mapped(_RUN.format(live=True))
    # Converting a file keeps glibc's default: mapping every frame would cost it speed.
    assert not _mapped(_RUN.format(live=False))
