"""Configuration: frozen dataclasses, validated once at the edge.

:func:`load_config` is the only code that reads YAML.  Every field declares its
constraint (range or choices) in its metadata, so validation, the CLI flags and
``config.yaml`` all come from one table.  CLI overrides produce a new object
through :meth:`Config.with_overrides`.

>>> cfg = Config().with_overrides({"n_clusters": 4})
>>> cfg.engine.n_clusters
4
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .analysis.config import AnalysisConfig, parse_analysis
from .analysis.rules_config import events_yaml
from .errors import ConfigError
from .pacing import PACINGS

__all__ = [
    "Config",
    "EngineConfig",
    "OutputConfig",
    "RunConfig",
    "field_specs",
    "load_config",
    "parse_seconds",
    "render_defaults",
    "validate_section",
]

COLOR_SPACES = ("bgr", "lab", "oklab")
VIEWS = ("recolor", "palette", "side-by-side", "overlay")
#: x264 / x265 speed presets, fastest first.
PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


def _opt(
    default: Any,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    nullable: bool = False,
    seconds: bool = False,
) -> Any:
    return field(
        default=default,
        metadata={
            "help": help,
            "lo": lo,
            "hi": hi,
            "choices": choices,
            "nullable": nullable,
            "seconds": seconds,
        },
    )


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_seconds(text: str) -> float:
    """A duration as seconds: a number, or one with a unit ``s``, ``m``, ``h`` or ``d``.

    >>> parse_seconds("1h"), parse_seconds("90s"), parse_seconds("2.5")
    (3600.0, 90.0, 2.5)

    Raises
    ------
    ValueError
        ``text`` is not such a duration.
    """
    body = text.strip().lower()
    scale = _UNITS.get(body[-1:], None)
    number = body[:-1] if scale is not None else body
    value = float(number) * (scale or 1.0)  # ValueError for anything else
    if not math.isfinite(value):
        raise ValueError(text)
    return value


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Settings of :class:`vidseg.Segmenter` (see ``config.yaml`` for the meaning of each)."""

    n_clusters: int = _opt(8, "number of colour clusters k", lo=2, hi=64)
    color_space: str = _opt("oklab", "space the clustering runs in", choices=COLOR_SPACES)
    seed: int = _opt(
        0, "random seed: same seed and input give identical output", lo=0, hi=2**32 - 1
    )
    sample_size: int = _opt(4096, "pixels sampled per frame for the fit", lo=256, hi=262144)
    max_iter: int = _opt(3, "mini-batch k-means steps per frame (warm start)", lo=2, hi=100)
    hysteresis: float = _opt(
        0.4,
        "a still pixel keeps its label while within this distance of the decision boundary",
        lo=0.0,
        hi=100.0,
    )
    still_threshold: int = _opt(
        12,
        "hysteresis applies to pixels whose |dB|+|dG|+|dR| since the last frame is <= this",
        lo=0,
        hi=765,
    )
    lut_tolerance: float = _opt(
        1.0,
        "centres may move this far before the colour table is rebuilt (0: every frame)",
        lo=0.0,
        hi=20.0,
    )
    lut_bits: int = _opt(6, "bits per channel of the colour look-up table", lo=4, hi=7)
    scene_cut: float = _opt(
        0.35,
        "colour-histogram distance (0..1) that counts as a hard cut; 1 disables",
        lo=0.0,
        hi=1.0,
    )
    fit_skip: float = _opt(
        0.02,
        "keep the centres while they still fit within this fraction of their fit error (0: off)",
        lo=0.0,
        hi=1.0,
    )
    refresh_interval: int = _opt(
        15, "frames between fresh k-means++ candidates (0 disables)", lo=0, hi=100000
    )
    refresh_gain: float = _opt(
        0.06,
        "relative fit-error gain a fresh palette needs over the warm one run to convergence",
        lo=0.0,
        hi=1.0,
    )
    threads: int = _opt(1, "BLAS/OpenMP threads the fit may use", lo=1, hi=256)
    label_threads: int = _opt(
        1,
        "threads of the per-pixel labelling pass (2 when a core is free, e.g. no encoder)",
        lo=1,
        hi=16,
    )


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    """How results are rendered and encoded."""

    view: str = _opt("recolor", "what the video shows", choices=VIEWS)
    codec: str = _opt(
        "auto",
        "video encoder: auto (libx264; libvpx-vp9 for .webm) or an FFmpeg encoder such as "
        "libx265, libvpx-vp9, libsvtav1, mpeg4, ffv1",
    )
    crf: int = _opt(
        33,
        "constant rate factor (quality; lower is better and larger): x264/x265 up to 51, "
        "vp9/av1 up to 63",
        lo=0,
        hi=63,
    )
    preset: str = _opt("superfast", "encoder speed preset (x264/x265)", choices=PRESETS)
    cabac: bool = _opt(
        True, "x264 CABAC entropy coding (off: CAVLC, ~15% larger files, a little faster)"
    )
    keep_audio: bool = _opt(True, "copy the input's audio track into the output")
    overlay_alpha: float = _opt(
        0.5, "weight of the cluster colours in the overlay view", lo=0.0, hi=1.0
    )
    encoder_threads: int = _opt(
        0, "video encoder threads (0: the encoder's own choice, about 1.5 per core)", lo=0, hi=256
    )


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """How the runner reads and schedules frames."""

    queue_size: int = _opt(8, "frames buffered between decode, segment and encode", lo=1, hi=256)
    max_frames: int | None = _opt(
        None, "stop after writing this many frames (null: all)", lo=1, hi=10**12, nullable=True
    )
    duration: float | None = _opt(
        None,
        "stop after this much input time, e.g. 90s, 10m, 1h (null: all)",
        lo=0.001,
        hi=1e9,
        nullable=True,
        seconds=True,
    )
    segment_time: float | None = _opt(
        None,
        "split a recording into files of this length, e.g. 10m, 1h (null: one file)",
        lo=1.0,
        hi=1e7,
        nullable=True,
        seconds=True,
    )
    reconnect_attempts: int = _opt(
        -1, "live source re-open attempts per outage (-1: forever)", lo=-1, hi=10**6
    )
    reconnect_backoff: float = _opt(
        0.5, "first reconnect delay in seconds (doubles, max 10)", lo=0.0, hi=60.0
    )
    progress: bool = _opt(True, "show a progress bar / live status line on stderr")
    live_pacing: str = _opt(
        "latency",
        "live sources: latency (one frame in flight) or throughput (segment while encoding)",
        choices=PACINGS,
    )
    decoder_threads: int = _opt(
        0, "video file decoder threads (0: FFmpeg's own choice, one per core)", lo=0, hi=256
    )


_SECTIONS = {"engine": EngineConfig, "output": OutputConfig, "run": RunConfig}


@dataclass(frozen=True, kw_only=True)
class Config:
    """The whole configuration; ``Config()`` is exactly what ``config.yaml`` documents."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    run: RunConfig = field(default_factory=RunConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """Return a new config with flat ``{field: value}`` overrides validated and applied."""
        by_section: dict[str, dict[str, Any]] = {}
        owner = {spec.name: section for section, spec in field_specs()}
        for key, value in overrides.items():
            if key not in owner:
                raise ConfigError(_unknown(key, owner))
            by_section.setdefault(owner[key], {})[key] = value
        return dataclasses.replace(
            self,
            **{
                name: dataclasses.replace(
                    getattr(self, name), **validate_section(cls, by_section.get(name, {}))
                )
                for name, cls in _SECTIONS.items()
            },
        )


def field_specs() -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """Yield ``(section, field)`` for every configurable key, in documentation order."""
    for section, cls in _SECTIONS.items():
        for f in fields(cls):
            yield section, f


def _unknown(key: str, valid: Any) -> str:
    near = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(sorted(valid))}"
    return f"unknown config key {key!r}{hint}"


def _check(name: str, f: dataclasses.Field[Any], value: Any) -> Any:
    meta = f.metadata
    if value is None:
        if meta["nullable"]:
            return None
        raise ConfigError(f"{name} must not be null")
    if meta["seconds"] and isinstance(value, str):
        try:
            value = parse_seconds(value)
        except ValueError:
            raise ConfigError(
                f"{name} must be seconds or a duration such as 90s, 10m, 1h; got {value!r}"
            ) from None
    kind = type(f.default) if f.default is not None else (float if meta["seconds"] else int)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        if kind is int and float(value) != int(value):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        value = kind(value)
        lo, hi = meta["lo"], meta["hi"]
        if (
            not math.isfinite(value)
            or (lo is not None and value < lo)
            or (hi is not None and value > hi)
        ):
            raise ConfigError(f"{name} must be in [{lo}, {hi}], got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"{name} must be one of {', '.join(meta['choices'])}; got {value!r}")
    return value


def validate_section(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``{field: value}`` for one config section; return the converted values."""
    specs = {f.name: f for f in fields(cls)}
    out = {}
    for key, value in values.items():
        if key not in specs:
            raise ConfigError(_unknown(key, specs))
        out[key] = _check(key, specs[key], value)
    return out


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a YAML config; ``None`` gives the defaults.

    The file may hold the sections ``engine``, ``output``, ``run`` and ``analysis``
    (zones, masks and event rules: :mod:`vidseg.analysis.config`); any key it
    leaves out keeps its default.  Unknown keys are errors that suggest the
    nearest valid key.

    Raises
    ------
    ConfigError
        Unreadable file, bad YAML, unknown key or out-of-range value.
    """
    if path is None:
        return Config()
    import yaml  # only this function touches YAML

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(p)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping of sections")
    sections: dict[str, Any] = {}
    for name, body in data.items():
        if name == "analysis":  # zones, masks and rules: lists, not flat keys
            try:
                sections[name] = parse_analysis(body, base_dir=p.parent)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (in {str(p)!r})") from None
            continue
        if name not in _SECTIONS:
            raise ConfigError(_unknown(str(name), [*_SECTIONS, "analysis"]) + f" (in {str(p)!r})")
        if not isinstance(body, dict):
            raise ConfigError(f"config section {name!r} must be a mapping, got {body!r}")
        try:
            sections[name] = _SECTIONS[name](**validate_section(_SECTIONS[name], body))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in {str(p)!r})") from None
    return Config(**sections)


def render_defaults() -> str:
    """Return ``config.yaml`` text: every key at its default, each with a comment."""
    lines = [
        "# vidseg configuration: every key with its default (`vidseg config` prints this).",
        "# Use with `vidseg convert IN OUT --config FILE`; any key can also be overridden",
        "# by its flag (--n-clusters, --color-space, ...).  Unknown keys and out-of-range",
        "# values are errors that name the key, the allowed range and the value.",
    ]
    section = None
    for name, f in field_specs():
        if name != section:
            lines += ["", f"{name}:"]
            section = name
        meta = f.metadata
        if meta["choices"]:
            allowed = f" (one of: {', '.join(meta['choices'])})"
        elif meta["lo"] is not None:
            allowed = f" [{meta['lo']} .. {meta['hi']}]"
        else:
            allowed = ""
        value = f.default
        text = (
            "null"
            if value is None
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        lines += [f"  # {meta['help']}{allowed}", f"  {f.name}: {text}"]
    return "\n".join(lines) + "\n" + _ANALYSIS_DOC + events_yaml()


_ANALYSIS_DOC = """
# `vidseg analyze` only: zones, masks and event rules (empty by default).
# Validated before any work; a bad entry is one error line naming the key.
analysis:
  # Named polygons with their own statistics (pixels, share and bounding box
  # of each cluster in the zone).  name: letters, digits, - and _ ("frame" is
  # the whole frame, reserved).  units is required: relative (0..1 of
  # width/height) or pixels (0..W, 0..H, top-left origin); points: at least 3,
  # in order around the outline, not self-intersecting, inside the frame.  A
  # pixel is in a zone when its centre is.
  #   - name: door
  #     units: relative
  #     points: [[0.10, 0.20], [0.40, 0.20], [0.40, 0.60], [0.10, 0.60]]
  zones: []
  # Pixels left out of the fit and of every statistic (a timestamp overlay,
  # a tree in the wind): a polygon (units + points, as zones), or a PNG of the
  # frame's size whose white pixels are ignored (path relative to this file).
  # share_of_zone / area_share are shares of the zone's / frame's unmasked part.
  #   - units: pixels
  #     points: [[0, 0], [200, 0], [200, 30], [0, 30]]
  #   - png: mask.png
  masks: []
"""
