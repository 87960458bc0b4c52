"""Which batch inputs go through chunks, and in how many.

``vidseg batch --chunk-longer-than 10m`` sends an input longer than that
through the chunked conversion (:func:`vidseg.apps.chunked.convert_chunked`)
instead of one task: :func:`chunk_count` gives ``ceil(duration / chunk
length)`` chunks (the chunk length defaults to the threshold), capped at twice
the cluster's worker threads so a long input neither waits for more chunks than
the cluster runs at once nor leaves it idle while the previous chunk finishes.
:func:`refusal` names the options the chunked conversion does not combine
with; such an input is converted as one task.

>>> parse_duration("10m", "--chunk-longer-than"), parse_duration("90", "--x")
(600.0, 90.0)
>>> parse_duration("off", "--chunk-longer-than") is None
True
>>> rule = LongInputs(longer_than_s=5.0)
>>> chunk_count(8.8, rule, slots=2), chunk_count(4.0, rule, slots=2), chunk_count(3600, rule, slots=2)
(2, 0, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, parse_seconds
from ..errors import ConfigError

__all__ = ["LongInputs", "chunk_count", "parse_duration", "refusal", "video_seconds"]


def parse_duration(text: str, flag: str, *, off: bool = True) -> float | None:
    """Seconds in ``text`` (``90``, ``90s``, ``10m``, ``1.5h``); ``0`` / ``off``: None.

    With ``off=False`` only a positive duration is accepted.

    Raises
    ------
    ConfigError
        Anything else (one line naming ``flag`` and the accepted forms).
    """
    word = text.strip().lower() in ("off", "none", "no")
    try:
        seconds = 0.0 if word else parse_seconds(text)
    except ValueError:
        seconds = -1.0
    if seconds < 0 or (seconds == 0 and not off):
        also = " (or 0/off to disable)" if off else ""
        raise ConfigError(f"{flag} takes a duration such as 90s, 10m or 1h{also}, got {text!r}")
    return seconds if seconds > 0 else None


@dataclass(frozen=True, kw_only=True)
class LongInputs:
    """When an input counts as long, and how long its chunks are.

    Parameters
    ----------
    longer_than_s : float, optional
        Inputs longer than this many seconds go through chunks; None: none do.
    chunk_length_s : float, optional
        Seconds of video per chunk (None: ``longer_than_s``).
    """

    longer_than_s: float | None = 600.0
    chunk_length_s: float | None = None

    def __post_init__(self) -> None:
        if self.longer_than_s is not None and not self.longer_than_s > 0:
            raise ConfigError(
                f"--chunk-longer-than must be a positive duration or off, got {self.longer_than_s}"
            )
        if self.chunk_length_s is not None and not self.chunk_length_s > 0:
            raise ConfigError(
                f"--chunk-length must be a positive duration, got {self.chunk_length_s}"
            )


def chunk_count(seconds: float, rule: LongInputs, *, slots: int) -> int:
    """Chunks for an input of ``seconds`` on a cluster running ``slots`` tasks at once.

    0 means one task (not long, length unknown, or chunking off); otherwise at
    least 2, at most ``2 * slots``.
    """
    if rule.longer_than_s is None or not seconds > rule.longer_than_s:
        return 0
    length = rule.chunk_length_s or rule.longer_than_s
    n = min(math.ceil(seconds / length), 2 * max(1, slots))
    return n if n >= 2 else 0


def refusal(cfg: Config, *, analyze: bool, labels_format: str | None) -> str | None:
    """Why this batch's inputs cannot go through chunks (one phrase), or None."""
    run = cfg.run
    given = {
        "--analyze (or an analysis section)": analyze,
        "--labels": labels_format,
        "--max-frames": run.max_frames,
        "--duration": run.duration,
        "--segment-time": run.segment_time,
    }
    bad = [name for name, value in given.items() if value not in (None, False, 0)]
    if not bad:
        return None
    return f"{', '.join(bad)} cannot be combined with chunks"


def video_seconds(path: Path) -> float:
    """The video's duration from its header (0.0 if unknown or unreadable)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration:
                return container.duration / av.time_base
            if stream.frames and stream.average_rate:
                return stream.frames / float(stream.average_rate)
    except (av.error.FFmpegError, OSError, IndexError):
        pass
    return 0.0
