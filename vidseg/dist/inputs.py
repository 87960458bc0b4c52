"""The batch's inputs: files, directories (recursively) and globs, expanded once.

>>> is_video(Path("a/b.MP4")), is_video(Path("notes.txt"))
(True, False)
>>> free_name("clip", {"clip", "clip-2"})
'clip-3'
"""

from __future__ import annotations

import glob
import os
from collections.abc import Collection, Iterable
from pathlib import Path

from ..errors import ConfigError

__all__ = ["VIDEO_EXTENSIONS", "expand_inputs", "free_name", "is_video"]

#: Extensions a directory or glob is searched for (a file named directly is taken as is).
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg",
     ".wmv", ".flv", ".3gp", ".ogv"}
)  # fmt: skip

# A partial output of vidseg itself (``x.partial.mp4``) is never an input.
_PARTIAL = ".partial"


def is_video(path: Path) -> bool:
    """Whether a directory or glob search takes ``path`` (by its extension)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS and not path.stem.endswith(_PARTIAL)


def _walk(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if is_video(path):
                yield path


def expand_inputs(specs: Iterable[str], *, exclude: Path | None = None) -> list[Path]:
    """Every video the specs name, absolute, each once, in the order first named.

    A file named directly is taken whatever its extension; directories are
    searched recursively and globs (``*``, ``?``, ``[``, ``**``) expanded, both
    for :data:`VIDEO_EXTENSIONS`.  Anything under ``exclude`` (the output
    directory) is left out.

    Raises
    ------
    ConfigError
        A spec names nothing, or no video was found at all.
    """
    found: dict[Path, None] = {}
    skip = Path(os.path.abspath(exclude)) if exclude is not None else None
    for spec in specs:
        path = Path(spec)
        if path.is_file():
            hits = [path]
        elif path.is_dir():
            hits = list(_walk(path))
        elif any(c in spec for c in "*?["):
            hits = []
            for match in sorted(glob.glob(spec, recursive=True)):
                m = Path(match)
                hits += list(_walk(m)) if m.is_dir() else [m] if is_video(m) else []
        else:
            raise ConfigError(f"input {spec!r} not found; give video files, directories or globs")
        for hit in hits:
            # Not resolve(): a symlink keeps its own name (the folder is named after it).
            absolute = Path(os.path.abspath(hit))
            if skip is None or not absolute.is_relative_to(skip):
                found.setdefault(absolute, None)
    if not found:
        raise ConfigError(
            "no video files found in the inputs; extensions searched: "
            + " ".join(sorted(VIDEO_EXTENSIONS))
        )
    return list(found)


def free_name(stem: str, taken: Collection[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3`` ... whichever ``taken`` does not hold."""
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    return name
