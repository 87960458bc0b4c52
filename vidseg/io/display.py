"""Can this process open a window?  Checked before any window exists.

With pip's ``opencv-python`` (Qt with only the xcb plugin) the first
``cv2.imshow`` without a reachable X server aborts the whole process
(SIGABRT), which no ``try`` can catch.  :func:`check_display` therefore opens
the display itself through Xlib (``libX11.so.6`` via :mod:`ctypes`), reads the
screen size while it is open, and closes it again; it also checks that OpenCV
was built with a GUI backend at all.  Every failure is one
:class:`~vidseg.errors.DisplayError` whose message suggests the web view.

>>> check_display(env={})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
vidseg.errors.DisplayError: no display: DISPLAY is not set ...
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import DisplayError

__all__ = ["DEFAULT_SCREEN", "Screen", "check_display", "gui_backend"]

log = logging.getLogger(__name__)

_HINT = "watch in a browser instead: vidseg serve SOURCE"


@dataclass(frozen=True)
class Screen:
    """Size of the default screen of the display, in pixels."""

    width: int
    height: int


# Used when a caller skips the check (tests of the sink alone).
DEFAULT_SCREEN = Screen(1920, 1080)


def gui_backend(build_information: str | None = None) -> str:
    """OpenCV's GUI backend ("QT5", "GTK3", ...) from its build information, or "".

    >>> gui_backend("  GUI:                           QT5\\n    QT: YES")
    'QT5'
    >>> gui_backend("  GUI:                           NONE\\n")
    ''
    """
    if build_information is None:
        import cv2

        build_information = cv2.getBuildInformation()
    match = re.search(r"^\s*GUI:\s*(\S+)", build_information, re.MULTILINE)
    backend = match.group(1) if match else ""
    return "" if backend.upper() == "NONE" else backend


def check_display(env: Mapping[str, str] | None = None) -> Screen:
    """Make sure a window can be opened; return the screen size.

    Parameters
    ----------
    env : mapping, optional
        The environment to read ``DISPLAY`` from (default: ``os.environ``).

    Raises
    ------
    DisplayError
        ``DISPLAY`` is unset, the X server cannot be reached, Xlib is missing,
        or OpenCV has no GUI backend.
    """
    env = os.environ if env is None else env
    display = env.get("DISPLAY", "")
    if not display:
        raise DisplayError(f"no display: DISPLAY is not set; {_HINT}")
    if not gui_backend():
        raise DisplayError(
            f"this OpenCV build has no GUI (opencv-python-headless?); {_HINT}, "
            "or install opencv-python"
        )
    try:
        xlib = ctypes.CDLL("libX11.so.6")
    except OSError:
        raise DisplayError(
            f"no display: Xlib (libX11.so.6, Debian package libx11-6) is not installed; {_HINT}"
        ) from None
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    xlib.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = xlib.XOpenDisplay(display.encode())
    if not handle:
        raise DisplayError(f"no display: cannot reach the X server at DISPLAY={display!r}; {_HINT}")
    try:
        number = xlib.XDefaultScreen(handle)
        screen = Screen(xlib.XDisplayWidth(handle, number), xlib.XDisplayHeight(handle, number))
    finally:
        xlib.XCloseDisplay(handle)
    log.debug("display %s: screen %dx%d", display, screen.width, screen.height)
    return screen
