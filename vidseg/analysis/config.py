"""The ``analysis:`` section of ``config.yaml``: zones, masks, rules (validated once).

:func:`parse_analysis` turns the raw YAML mapping into an :class:`AnalysisConfig`;
every problem is a :class:`~vidseg.errors.ConfigError` with one line that names
the key (``analysis.zones[0] (door).units``) and the fix.  What needs the frame
size (pixel polygons inside the frame, PNG masks of the right size) is checked
by :meth:`vidseg.analysis.zonestats.ZoneLayout.build` right after the source is opened.

>>> cfg = parse_analysis({"zones": [{"name": "door", "units": "relative",
...     "points": [[0.1, 0.2], [0.4, 0.2], [0.4, 0.6], [0.1, 0.6]]}]})
>>> cfg.zones[0].name, cfg.zones[0].units, len(cfg.zones[0].points)
('door', 'relative', 4)
>>> try:
...     parse_analysis({"zones": [{"name": "door", "points": [[0, 0], [1, 0], [1, 1]]}]})
... except ConfigError as exc:
...     print(exc)  # doctest: +ELLIPSIS
analysis.zones[0] (door).units is missing; add units: relative (0..1 of ...) or units: pixels
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .polygons import UNITS, polygon_problem
from .rules_config import EventsSettings, Rule, parse_events_settings, parse_rules

__all__ = ["AnalysisConfig", "Mask", "Zone", "parse_analysis"]

FRAME = "frame"  # the whole (unmasked) frame; rules may name it, zones may not
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ZONES = 63  # zone memberships are packed into one 64-bit code per pixel
_UNITS_FIX = "add units: relative (0..1 of width/height) or units: pixels"

Point = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class Zone:
    """A named polygon whose pixels get their own statistics.

    Attributes
    ----------
    name : str
        Letters, digits, ``-`` and ``_``; unique; not ``frame``.
    units : {"relative", "pixels"}
        ``relative``: 0..1 of width / height; ``pixels``: frame pixels.
    points : tuple of (x, y)
        Vertices in order around the outline (at least 3, not self-intersecting).
    """

    name: str
    units: str
    points: tuple[Point, ...]


@dataclass(frozen=True, kw_only=True)
class Mask:
    """Pixels left out of the fit and of every statistic: a polygon or a PNG.

    Attributes
    ----------
    units : {"relative", "pixels"} or None
        Units of ``points`` (``None`` for a PNG mask).
    points : tuple of (x, y)
        Polygon vertices (empty for a PNG mask).
    png : Path or None
        Image of the frame's size; white (>= 128) pixels are ignored.
    """

    units: str | None = None
    points: tuple[Point, ...] = ()
    png: Path | None = None


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """The ``analysis:`` section: zones, masks, event rules and the events' settings.

    Attributes
    ----------
    zones : tuple of Zone
    masks : tuple of Mask
    rules : tuple of Rule
        Event rules (:mod:`vidseg.analysis.rules_config`).
    events : EventsSettings
        The events' other settings (snapshots, lighting guard, hooks).
    """

    zones: tuple[Zone, ...] = ()
    masks: tuple[Mask, ...] = ()
    rules: tuple[Rule, ...] = ()
    events: EventsSettings = field(default_factory=EventsSettings)

    @property
    def zone_names(self) -> tuple[str, ...]:
        """The zones' names, in configuration order."""
        return tuple(z.name for z in self.zones)


def parse_analysis(raw: Any, *, base_dir: Path | None = None) -> AnalysisConfig:
    """Validate the raw ``analysis:`` mapping (from YAML) into an :class:`AnalysisConfig`.

    Parameters
    ----------
    raw : mapping or None
        The section as loaded by YAML; ``None`` gives the defaults.
    base_dir : Path, optional
        Relative PNG mask paths are resolved against it (the config file's folder).

    Raises
    ------
    ConfigError
        One line naming the key and the fix.
    """
    if raw is None:
        return AnalysisConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"config section 'analysis' must be a mapping, got {raw!r}")
    rest = {k: v for k, v in raw.items() if k not in ("zones", "masks", "rules")}
    zones = tuple(_zone(item, f"analysis.zones[{i}]") for i, item in enumerate(_list(raw, "zones")))
    if len(zones) > _MAX_ZONES:
        raise ConfigError(f"analysis.zones has {len(zones)} zones; use at most {_MAX_ZONES}")
    seen: set[str] = set()
    for i, z in enumerate(zones):
        if z.name in seen:
            raise ConfigError(
                f"analysis.zones[{i}].name {z.name!r} is used twice; give each zone its own name"
            )
        seen.add(z.name)
    masks = tuple(
        _mask(item, f"analysis.masks[{i}]", base_dir) for i, item in enumerate(_list(raw, "masks"))
    )
    # The file name is added by load_config, so the rules' parsers get no source.
    rules = parse_rules(raw.get("rules"), zone_names={z.name for z in zones}, source="")
    events = parse_events_settings(rest, source="")
    return AnalysisConfig(zones=zones, masks=masks, rules=rules, events=events)


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"analysis.{key} must be a list (one '- ' item each), got {value!r}")
    return value


def _zone(item: Any, where: str) -> Zone:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a mapping with name, units and points; got {item!r}")
    _no_other_keys(item, where, ("name", "units", "points"))
    name = item.get("name")
    if name is None:
        raise ConfigError(f"{where}.name is missing; give the zone a name (letters, digits, - _)")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}.name {name!r} is not a valid name; use letters, digits, - and _ only"
        )
    if name == FRAME:
        raise ConfigError(
            f"{where}.name 'frame' is reserved for the whole frame; choose another name"
        )
    where = f"{where} ({name})"
    units = _units(item, where)
    return Zone(name=name, units=units, points=_points(item, where, units))


def _mask(item: Any, where: str, base_dir: Path | None) -> Mask:
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be a mapping with units and points, or png; got {item!r}")
    if "png" in item:
        _no_other_keys(item, where, ("png",))
        png = item["png"]
        if not isinstance(png, str) or not png:
            raise ConfigError(f"{where}.png must be a file path, got {png!r}")
        path = Path(png).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise ConfigError(
                f"{where}.png {str(path)!r} does not exist; give the path of a PNG "
                "(relative to the config file)"
            )
        return Mask(png=path)
    _no_other_keys(item, where, ("units", "points"))
    units = _units(item, where)
    return Mask(units=units, points=_points(item, where, units))


def _no_other_keys(item: dict[str, Any], where: str, valid: tuple[str, ...]) -> None:
    for key in item:
        if key not in valid:
            raise ConfigError(f"unknown config key '{where}.{key}'; valid keys: {', '.join(valid)}")


def _units(item: dict[str, Any], where: str) -> str:
    if "units" not in item:
        raise ConfigError(f"{where}.units is missing; {_UNITS_FIX}")
    units = item["units"]
    if units not in UNITS:
        raise ConfigError(f"{where}.units {units!r} is unknown; {_UNITS_FIX}")
    return str(units)


def _points(item: dict[str, Any], where: str, units: str) -> tuple[Point, ...]:
    raw = item.get("points")
    if not isinstance(raw, list):
        raise ConfigError(
            f"{where}.points must be a list of [x, y] pairs, e.g. [[0, 0], [1, 0], [1, 1]]; "
            f"got {raw!r}"
        )
    points: list[Point] = []
    for i, pt in enumerate(raw):
        if (
            not isinstance(pt, list)
            or len(pt) != 2
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in pt
            )
        ):
            raise ConfigError(f"{where}.points[{i}] must be an [x, y] pair of numbers; got {pt!r}")
        x, y = float(pt[0]), float(pt[1])
        if units == "relative" and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ConfigError(
                f"{where}.points[{i}] {pt!r} is outside the frame: relative units run "
                "0..1 of width/height (use units: pixels for pixel coordinates)"
            )
        if units == "pixels" and (x < 0 or y < 0):
            raise ConfigError(
                f"{where}.points[{i}] {pt!r} is outside the frame; pixel coordinates "
                "start at 0 (top-left corner)"
            )
        points.append((x, y))
    problem = polygon_problem(points)
    if problem is not None:
        raise ConfigError(f"{where}.points {problem}")
    return tuple(points)
