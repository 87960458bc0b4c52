"""Palettes that travel: a segmenter's centres as a small JSON file.

A palette learnt on one run, camera or chunk seeds another, so cluster ids and
colours mean the same thing across runs (``vidseg convert --save-palette`` /
``--palette``).  The file holds the centres in the clustering space (what the
engine warm-starts from) and in BGR (what people read), with k, the space and a
format version::

    {"format": "vidseg-palette", "version": 1, "k": 3, "color_space": "oklab",
     "centers": [[...], ...], "colors_bgr": [[...], ...], "colors_hex": [...]}

>>> import numpy as np
>>> p = Palette(centers=np.array([[50, 0, 0], [90, 5, 5]], np.float32), color_space="oklab")
>>> Palette.from_json(p.to_json(), source="x.json").k
2
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, SinkError, reason
from .colorspace import SPACES, from_space

__all__ = ["PALETTE_FORMAT", "PALETTE_VERSION", "Palette"]

PALETTE_FORMAT = "vidseg-palette"
PALETTE_VERSION = 1


@dataclass(frozen=True, eq=False)
class Palette:
    """A segmenter's cluster centres, id by id.

    Attributes
    ----------
    centers : ndarray, shape (k, 3), float32
        Centres in the clustering space (``color_space``); row ``i`` is cluster ``i``.
    color_space : str
        The space the centres are in (``oklab``, ``lab`` or ``bgr``).
    """

    centers: np.ndarray
    color_space: str

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(self.centers.shape[0])

    @property
    def colors_bgr(self) -> np.ndarray:
        """Cluster colours, (k, 3) float32 BGR on 0..255."""
        return from_space(np.ascontiguousarray(self.centers, np.float32), self.color_space)

    def to_json(self) -> str:
        """The palette file's text."""
        bgr = self.colors_bgr
        hexes = [f"#{r:02X}{g:02X}{b:02X}" for b, g, r in np.rint(bgr).astype(int).tolist()]
        body = {
            "format": PALETTE_FORMAT,
            "version": PALETTE_VERSION,
            "k": self.k,
            "color_space": self.color_space,
            "centers": np.round(self.centers.astype(np.float64), 6).tolist(),
            "colors_bgr": np.round(bgr.astype(np.float64), 3).tolist(),
            "colors_hex": hexes,
        }
        return json.dumps(body, indent=1) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the palette to ``path`` atomically (a temporary name, then renamed).

        Raises
        ------
        SinkError
            The file cannot be written.
        """
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(self.to_json(), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SinkError(f"cannot write palette file {str(path)!r}: {reason(exc)}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> Palette:
        """Read and check a palette file.

        Raises
        ------
        ConfigError
            Unreadable, not JSON, or not a valid palette (the message says why).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read palette file {str(path)!r}: {reason(exc)}; "
                "give a file written by --save-palette"
            ) from None
        return cls.from_json(text, source=str(path))

    @classmethod
    def from_json(cls, text: str, *, source: str = "palette") -> Palette:
        """Parse a palette file's text (``source`` names it in messages).

        Raises
        ------
        ConfigError
            Not JSON, or not a valid palette.
        """
        fix = "give a file written by --save-palette"
        try:
            body = json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ConfigError(f"palette file {source!r} is not valid JSON ({exc}); {fix}") from None
        if not isinstance(body, dict) or body.get("format") != PALETTE_FORMAT:
            raise ConfigError(f"{source!r} is not a vidseg palette file; {fix}")
        if body.get("version") != PALETTE_VERSION:
            raise ConfigError(
                f"palette file {source!r} has version {body.get('version')!r}; this vidseg "
                f"reads version {PALETTE_VERSION}; save it again with this version"
            )
        space = body.get("color_space")
        if space not in SPACES:
            raise ConfigError(
                f"palette file {source!r}: color_space must be one of {', '.join(SPACES)}, "
                f"got {space!r}; {fix}"
            )
        centers = _centers(body.get("centers"), source)
        k = body.get("k")
        if k != len(centers):
            raise ConfigError(
                f"palette file {source!r}: k is {k!r} but it lists {len(centers)} centres; {fix}"
            )
        return cls(centers=centers, color_space=space)

    def check_fits(self, n_clusters: int, color_space: str, *, source: str) -> None:
        """Raise :class:`ConfigError` unless the palette suits a segmenter with these settings."""
        if self.k != n_clusters:
            raise ConfigError(
                f"palette file {source!r} has k={self.k} but n_clusters is {n_clusters}; "
                f"use --k {self.k} or a palette saved with k={n_clusters}"
            )
        if self.color_space != color_space:
            raise ConfigError(
                f"palette file {source!r} is in {self.color_space} but color_space is "
                f"{color_space}; use --color-space {self.color_space} or a palette saved in "
                f"{color_space}"
            )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _centers(raw: Any, source: str) -> np.ndarray:
    ok = (
        isinstance(raw, list)
        and 2 <= len(raw) <= 64
        and all(
            isinstance(row, list)
            and len(row) == 3
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in row
            )
            for row in raw
        )
    )
    if not ok:
        raise ConfigError(
            f"palette file {source!r}: centers must be 2 to 64 rows of 3 finite numbers; "
            "give a file written by --save-palette"
        )
    return np.asarray(raw, dtype=np.float32)
