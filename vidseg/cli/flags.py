"""The flags the commands share: help layout, one flag per config key, common options."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import field_specs
from ..exitcodes import EXIT_CODES_HELP

__all__ = [
    "EPILOG",
    "Formatter",
    "add_common",
    "add_config_flags",
    "add_serve_flags",
    "add_verbosity",
    "add_window_flags",
]

# Short aliases for the flags people type most.
_ALIASES = {"n_clusters": ["--k"]}

_EXAMPLES = """\
examples:
  vidseg convert input.mp4 out.mp4 --k 8 --stats stats.csv   # a file, with statistics
  vidseg convert 0 cam.mp4 --live-pacing throughput          # webcam 0, more fps
  ffmpeg -i in.mkv -f mpegts - | vidseg convert - out.webm   # standard input, VP9 output
  vidseg config > my.yaml && vidseg convert in.mp4 out.mp4 --config my.yaml
"""
EPILOG = _EXAMPLES + "\n" + EXIT_CODES_HELP


class Formatter(argparse.HelpFormatter):
    """Wraps descriptions; keeps the examples and the exit-code table as laid out."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("examples:", "exit codes:")):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config key; defaults stay in Config (None = not given)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for section, f in field_specs():
        group = groups.setdefault(section, parser.add_argument_group(f"{section} options"))
        meta = f.metadata
        names = [_flag(f.name), *_ALIASES.get(f.name, [])]
        # argparse %-formats help strings
        limits = f"{meta['lo']}..{meta['hi']}, " if meta["lo"] is not None else ""
        help_text = meta["help"].replace("%", "%%") + f" ({limits}default: {f.default})"
        if isinstance(f.default, bool):
            group.add_argument(
                *names,
                dest=f.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=help_text,
            )
            continue
        kind = (
            float if isinstance(f.default, float) else (str if isinstance(f.default, str) else int)
        )
        if meta["seconds"]:
            kind = str  # "90s", "10m", "1h": converted and checked by the config

        group.add_argument(
            *names,
            dest=f.name,
            default=None,
            type=kind,
            choices=meta["choices"],
            # argparse lists the choices as the metavar: {recolor,palette,...}
            metavar=None if meta["choices"] else f.name.upper(),
            help=help_text,
        )


def add_verbosity(p: argparse.ArgumentParser, *, opencv: bool = True) -> None:
    """``-v`` / ``-q``; ``opencv`` mentions that ``-vv`` lets OpenCV's own lines through."""
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="debug log output (-vv: OpenCV's too)" if opencv else "debug log output",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")


def add_common(p: argparse.ArgumentParser) -> None:
    """The options of every command that segments into files (convert, demo, preview, analyze)."""
    add_verbosity(p)
    p.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
    p.add_argument(
        "--stats",
        type=Path,
        metavar="FILE",
        help="per-cluster statistics table: .csv (one row per frame x "
        "cluster) or .ndjson (one object per frame)",
    )
    p.add_argument(
        "--labels",
        type=Path,
        metavar="DIR",
        help="write label maps (cluster id per pixel) into DIR",
    )
    p.add_argument(
        "--labels-format",
        choices=("png", "npz"),
        default="png",
        help="label maps as 8-bit PNGs or .npz chunks (default: png)",
    )
    p.add_argument(
        "--palette",
        type=Path,
        metavar="FILE",
        help="start from a palette saved by --save-palette (same k and colour space): "
        "cluster ids and colours mean the same across runs",
    )
    p.add_argument(
        "--save-palette",
        type=Path,
        metavar="FILE",
        help="write the final palette (cluster centres by id) as JSON",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_config_flags(p)


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    """``--serve [HOST:]PORT`` and ``--token``: show the run on the web page while it goes."""
    p.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="show the run on a web page with live controls (host default 127.0.0.1)",
    )
    p.add_argument(
        "--token",
        help="access token of the web page; required (generated and printed once when "
        "not given) for any host other than 127.0.0.1, ::1 or localhost",
    )


def add_window_flags(p: argparse.ArgumentParser, *, watch: bool) -> None:
    """The preview window's flags; ``watch`` adds ``--preview`` (commands that write files)."""
    if watch:
        p.add_argument(
            "--preview",
            action="store_true",
            help="watch in a window while writing (keys as in `vidseg preview`)",
        )
    p.add_argument(
        "--snapshots",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where the s key writes snapshots (default: current directory)",
    )
