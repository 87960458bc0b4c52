"""A real X server for window tests: Xvfb, xdotool, and Xlib through ctypes.

``xvfb()`` starts Xvfb on a display number it picks itself (``-displayfd``);
windows are found and sent keys with ``xdotool``; screenshots and the window
manager's close request (WM_DELETE_WINDOW, what a title bar's close button
sends) go through Xlib with ctypes, so no other X tools are needed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

WIDTH, HEIGHT = 1280, 720


@contextmanager
def xvfb() -> Iterator[str]:
    """Run Xvfb for the block; yields the DISPLAY value (":N")."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup.sh with EXTRAS=test installs it)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{WIDTH}x{HEIGHT}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def xdotool(display: str, *args: str, timeout: float = 20) -> str:
    """Run xdotool on ``display``; its stdout."""
    out = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return out.stdout


def find_window(display: str, name: str, timeout: float = 120) -> int:
    """The id of the first visible window whose title matches ``name`` (waits for it)."""
    out = xdotool(display, "search", "--sync", "--onlyvisible", "--name", name, timeout=timeout)
    return int(out.split()[0])


def key(display: str, wid: int, *keys: str) -> None:
    """Send keys to a window (no window manager: straight to the window, not the focus)."""
    for k in keys:
        xdotool(display, "key", "--window", str(wid), k)


def window_size(display: str, wid: int) -> tuple[int, int]:
    """(width, height) of a window."""
    out = xdotool(display, "getwindowgeometry", "--shell", str(wid))
    geo = dict(line.split("=") for line in out.split())
    return int(geo["WIDTH"]), int(geo["HEIGHT"])


class _Xlib:
    """The few Xlib calls the tests need, typed for ctypes."""

    def __init__(self, display: str) -> None:
        x = ctypes.CDLL("libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long]
        x.XSendEvent.argtypes += [ctypes.c_void_p]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XGetImage.restype = ctypes.POINTER(_XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int]
        x.XGetImage.argtypes += [ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        self.x = x
        self.handle = x.XOpenDisplay(display.encode())
        if not self.handle:
            raise AssertionError(f"cannot open display {display}")

    def close(self) -> None:
        self.x.XCloseDisplay(self.handle)


class _XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_ubyte)),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
    ]


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


def screenshot(display: str, wid: int) -> np.ndarray:
    """The window's pixels as an (H, W, 3) uint8 BGR array (24-bit TrueColor screen)."""
    w, h = window_size(display, wid)
    xl = _Xlib(display)
    try:
        all_planes, z_pixmap = 0xFFFFFFFF, 2
        img = xl.x.XGetImage(xl.handle, wid, 0, 0, w, h, all_planes, z_pixmap)
        if not img:
            raise AssertionError(f"XGetImage failed for window {wid:#x}")
        im = img.contents
        assert im.bits_per_pixel == 32, im.bits_per_pixel
        height, width, stride = im.height, im.width, im.bytes_per_line
        raw = np.ctypeslib.as_array(im.data, shape=(height * stride,)).copy()
        libc = ctypes.CDLL("libc.so.6")
        libc.free.argtypes = [ctypes.c_void_p]
        libc.free(ctypes.cast(im.data, ctypes.c_void_p))  # what XDestroyImage does
        libc.free(ctypes.cast(img, ctypes.c_void_p))
    finally:
        xl.close()
    rows = raw.reshape(height, stride)[:, : width * 4]
    return rows.reshape(height, width, 4)[:, :, :3].copy()  # BGRX little-endian


def wait_painted(display: str, wid: int, timeout: float = 60.0) -> None:
    """Wait until the window shows pixels, not the server's black.

    Under CPU starvation, Qt (OpenCV's pip toolkit) on Xvfb without a window manager
    sometimes misses its window's first expose and never paints it; a plain
    ``cv2.imshow`` loop showed it in 3-5 of 10 starts with three busy processes on 2
    cores.  Mapping the window again, as a window manager's map would, gets it painted.
    """
    deadline = time.monotonic() + timeout
    remap_at = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if screenshot(display, wid).any():
            return
        if time.monotonic() >= remap_at:
            for step in ("windowunmap", "windowmap"):
                xdotool(display, step, "--sync", str(wid))
            remap_at = time.monotonic() + 5.0
        time.sleep(0.1)
    raise AssertionError(f"window {wid:#x} never painted in {timeout} s")


def close_window(display: str, wid: int) -> None:
    """Ask the window to close as a window manager's close button does (WM_DELETE_WINDOW)."""
    xl = _Xlib(display)
    try:
        ev = _XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = wid
        ev.xclient.message_type = xl.x.XInternAtom(xl.handle, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.data[0] = xl.x.XInternAtom(xl.handle, b"WM_DELETE_WINDOW", 0)
        xl.x.XSendEvent(xl.handle, wid, 0, 0, ctypes.byref(ev))
        xl.x.XFlush(xl.handle)
    finally:
        xl.close()


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``predicate()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
