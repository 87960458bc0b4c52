"""The batch manifest: which input went to which folder, and which are done.

``DIR/manifest.json`` maps each input (its absolute path) to its output folder
and, once finished, to the input's size, mtime and SHA-256 and the hash of the
settings it was processed with.  Only the batch's client writes it, always
whole and atomically (a temporary file, fsynced, then renamed), so a killed
batch leaves the previous consistent version.  An input counts as done when its
entry is ``done``, the settings hash is the same, its outputs are all there, and
the file is the same: same size and mtime, or (mtime changed) the same content hash.

>>> config_hash({"a": 1}) == config_hash({"a": 1}), config_hash({"a": 1}) == config_hash({"a": 2})
(True, False)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, OutputUsageError
from .inputs import free_name

__all__ = ["Entry", "Manifest", "config_hash", "file_sha256", "locked"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_LOCK = ".vidseg-batch.lock"
_VERSION = 1


def config_hash(settings: Mapping[str, Any]) -> str:
    """SHA-256 of ``settings`` as canonical JSON (anything not JSON becomes its ``str``)."""
    text = json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One input's record."""

    folder: str
    status: str = "pending"  # pending | done | failed
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    config: str | None = None
    outputs: tuple[str, ...] = ()
    frames: int | None = None
    error: str | None = None


class Manifest:
    """``DIR/manifest.json`` in memory; :meth:`save` writes it atomically.

    Parameters
    ----------
    out_dir : Path
        The batch's output directory (created if missing).

    Raises
    ------
    OutputUsageError
        The manifest is unreadable or not vidseg's.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST
        self.entries: dict[str, Entry] = {}
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                raise ValueError(f"version {data.get('version')!r}")
            for key, raw in data["inputs"].items():
                raw["outputs"] = tuple(raw.get("outputs", ()))
                self.entries[key] = Entry(**raw)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OutputUsageError(
                f"cannot read the batch manifest {str(self.path)!r} ({exc}); "
                "move it away or choose another --out directory"
            ) from None

    def assign(self, inputs: list[Path]) -> dict[Path, str]:
        """Each input's folder: the one recorded, else its stem made unique.

        A name is taken when another input holds it or when a folder or file of
        that name already exists in the directory (never someone else's data).
        """
        taken = {e.folder for e in self.entries.values()}
        taken |= {p.name for p in self.out_dir.iterdir()} if self.out_dir.is_dir() else set()
        folders: dict[Path, str] = {}
        for path in inputs:
            entry = self.entries.get(str(path))
            if entry is None:
                entry = Entry(folder=free_name(path.stem, taken))
                self.entries[str(path)] = entry
                taken.add(entry.folder)
            folders[path] = entry.folder
        return folders

    def is_done(self, path: Path, settings: str) -> bool:
        """Whether ``path`` was finished with ``settings`` and has not changed since."""
        entry = self.entries.get(str(path))
        if entry is None or entry.status != "done" or entry.config != settings:
            return False
        if not all((self.out_dir / name).exists() for name in entry.outputs):
            return False  # an output was deleted or moved since
        try:
            stat = path.stat()
        except OSError:
            return False
        if stat.st_size != entry.size:
            return False
        if stat.st_mtime_ns == entry.mtime_ns:
            return True
        if file_sha256(path) != entry.sha256:
            return False
        # Same bytes, new mtime (copied, touched): still done; remember the new mtime.
        self.entries[str(path)] = dataclasses.replace(entry, mtime_ns=stat.st_mtime_ns)
        return True

    def update(self, path: Path, **fields: Any) -> None:
        """Change ``path``'s entry (keeping its folder) and write the manifest."""
        self.entries[str(path)] = dataclasses.replace(self.entries[str(path)], **fields)
        self.save()

    def save(self) -> None:
        """Write the whole manifest under a temporary name, fsync, rename into place."""
        data = {
            "version": _VERSION,
            "inputs": {k: dataclasses.asdict(e) for k, e in sorted(self.entries.items())},
        }
        fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.out_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold ``DIR``'s batch lock: two batches never write one manifest at once.

    Raises
    ------
    ConfigError
        Another batch holds it.
    """
    import fcntl

    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / _LOCK).open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another vidseg batch is writing into {str(out_dir)!r}; wait for it or "
                "choose another --out directory"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
