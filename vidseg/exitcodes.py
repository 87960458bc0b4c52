"""The exit codes of the ``vidseg`` command: one table, used by :func:`vidseg.cli.main`.

Errors carry their code (``VidsegError.exit_code``), so the command maps an
exception to its code by type, never by message.

>>> ExitCode.USAGE
<ExitCode.USAGE: 2>
>>> exit_code_for_signal(15)
143
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EXIT_CODES_HELP", "ExitCode", "exit_code_for_signal"]


class ExitCode(IntEnum):
    """What the ``vidseg`` process returns."""

    #: The run completed and every output was written.
    OK = 0
    #: Runtime failure: input unreadable, corrupt or truncated, no camera, an
    #: output could not be written.
    FAILURE = 1
    #: Bad usage or configuration: unknown flag or config key, value out of
    #: range, unknown codec, unsupported container, codec the container cannot
    #: hold, existing output without ``--overwrite``.  Nothing was done.
    USAGE = 2
    #: Stopped by Ctrl-C (SIGINT) after finalising what was written.
    SIGINT = 130
    #: Stopped by SIGTERM after finalising what was written.
    SIGTERM = 143


def exit_code_for_signal(signum: int) -> int:
    """The shell's convention for a process stopped by signal ``signum``: 128 + its number."""
    return 128 + signum


#: The table as ``--help`` shows it.
EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    runtime failure: input unreadable, corrupt or truncated, no camera,
       output could not be written
  2    bad usage or configuration: unknown flag or key, value out of range,
       unknown codec, unsupported container, codec/container mismatch,
       existing output without --overwrite (nothing is written)
  130  interrupted by Ctrl-C (SIGINT) } what was written is kept under its
  143  stopped by SIGTERM            } .partial name"""
