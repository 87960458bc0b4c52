"""The vidseg exception tree.

Every error vidseg raises derives from :class:`VidsegError` and also from the
builtin a caller would naturally catch::

    VidsegError
    ├── ConfigError(VidsegError, ValueError)        bad config key or value
    ├── SourceOpenError(VidsegError, OSError)       input missing, unreadable, not a video
    ├── SourceReadError(VidsegError, OSError)       input broke mid-stream (corrupt, unplugged)
    ├── SinkError(VidsegError, OSError)             output cannot be opened or written
    │   └── OutputUsageError(SinkError)             the output as named cannot be made
    │       └── EncoderNotFoundError(OutputUsageError)  asked-for codec is not available
    ├── DisplayError(VidsegError, OSError)          no display for a window (use the web view)
    └── ClosedError(VidsegError, RuntimeError)      a source/sink used after close()

Each class carries the exit code of the ``vidseg`` command for it
(:mod:`vidseg.exitcodes`): ``exit_code`` is 2 (bad usage or configuration) for
:class:`ConfigError` and :class:`OutputUsageError`, 1 (runtime failure) for the
rest.

Warnings:

    EmptyClusterWarning(UserWarning)   a frame has fewer distinct colours than clusters
"""

from __future__ import annotations

from .exitcodes import ExitCode

__all__ = [
    "ClosedError",
    "ConfigError",
    "DisplayError",
    "EmptyClusterWarning",
    "EncoderNotFoundError",
    "OutputUsageError",
    "SinkError",
    "SourceOpenError",
    "SourceReadError",
    "VidsegError",
    "reason",
]


class VidsegError(Exception):
    """Base class of every error raised by vidseg."""

    #: The ``vidseg`` command's exit code for this error.
    exit_code: int = ExitCode.FAILURE


class ConfigError(VidsegError, ValueError):
    """A configuration key or value is invalid; the message names key, range and value."""

    exit_code = ExitCode.USAGE


class SourceOpenError(VidsegError, OSError):
    """An input could not be opened (missing, unreadable, not a video, no frames)."""


class SourceReadError(VidsegError, OSError):
    """An input failed while being read (truncated or corrupt data, device lost)."""


class SinkError(VidsegError, OSError):
    """An output could not be opened, written or finalised."""


class OutputUsageError(SinkError):
    """The output as named cannot be made; nothing was written (a usage error).

    Unsupported container, a codec the container cannot hold, an existing file
    without ``overwrite``, a directory where a file is meant or the reverse.
    """

    exit_code = ExitCode.USAGE


class EncoderNotFoundError(OutputUsageError):
    """The requested encoder is not available; the message lists those that are."""


class DisplayError(VidsegError, OSError):
    """No window can be opened: no X display reachable, or OpenCV built without a GUI."""

    exit_code = ExitCode.USAGE


class ClosedError(VidsegError, RuntimeError):
    """A source or sink was used after it was closed."""


class EmptyClusterWarning(UserWarning):
    """A frame has fewer distinct colours than clusters; the extra clusters stay empty."""


def reason(exc: BaseException) -> str:
    """The short cause of an I/O or FFmpeg error, for one-line messages."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
