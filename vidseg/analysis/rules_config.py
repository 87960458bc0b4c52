"""Configuration of rules, events, the lighting guard and hooks: frozen, validated once.

``analysis.rules`` is a list of :class:`Rule`; ``analysis.events`` is one
:class:`EventsSettings`.  :func:`parse_rules` and :func:`parse_events_settings`
turn the YAML values into them, and every message names the key path
(``analysis.rules[0].clusters``) and the fix.  :func:`check_rules_against_k`
runs once k is known, before any frame is read.

>>> rules = parse_rules(
...     [{"name": "door-activity", "zone": "door", "clusters": "#c03020"}],
...     zone_names={"door"}, source="example",
... )
>>> rules[0].clusters, rules[0].color_bgr
('#C03020', (32, 48, 192))
>>> parse_rules([{"name": "x", "zone": "dor"}], zone_names={"door"}, source="example")
Traceback (most recent call last):
...
vidseg.errors.ConfigError: analysis.rules[0].zone 'dor' is not a zone; did you mean 'door'? \
(zones: door, or "frame" for the whole frame) (in 'example')
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlparse

from ..errors import ConfigError

__all__ = [
    "METRICS",
    "TRIGGERS",
    "EventsSettings",
    "HookSpec",
    "LightingSettings",
    "Rule",
    "check_rules_against_k",
    "events_yaml",
    "parse_events_settings",
    "parse_rules",
]

METRICS = ("share_of_zone", "share_of_frame", "pixels")
TRIGGERS = ("change", "above", "below")
HOOK_ON = ("start", "end")
FRAME = "frame"

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule: when the watched clusters' metric in a zone crosses thresholds.

    Attributes
    ----------
    name : str
        Letters, digits, ``-`` and ``_``; names the events.
    zone : str
        A zone name, or ``"frame"`` for the whole frame.
    clusters : str or tuple of int
        ``"any"``, cluster ids, or a colour ``"#RRGGBB"`` (matched to the
        nearest cluster each frame).
    metric : str
        ``share_of_zone``, ``share_of_frame`` or ``pixels``.
    trigger : str
        ``change`` (``|value - rolling baseline|``), ``above`` or ``below`` (the value).
    enter, exit : float
        An event starts when the trigger's quantity reaches ``enter`` and ends
        when it is back past ``exit`` (hysteresis).
    baseline_s : float
        Rolling baseline window in stream seconds.
    min_duration_s : float
        The condition must hold this long before the event fires.
    cooldown_s : float
        After an event ends, no new one starts for this long.
    """

    name: str
    zone: str = FRAME
    clusters: str | tuple[int, ...] = "any"
    metric: str = "share_of_zone"
    trigger: str = "change"
    enter: float = 0.2
    exit: float = 0.1
    baseline_s: float = 30.0
    min_duration_s: float = 1.0
    cooldown_s: float = 5.0

    @property
    def color_bgr(self) -> tuple[int, int, int] | None:
        """The watched colour as (B, G, R) when ``clusters`` is a colour, else None."""
        if not isinstance(self.clusters, str) or self.clusters == "any":
            return None
        r, g, b = (int(self.clusters[i : i + 2], 16) for i in (1, 3, 5))
        return (b, g, r)


@dataclass(frozen=True, kw_only=True)
class LightingSettings:
    """The lighting guard (see :mod:`vidseg.analysis.lighting`).

    Attributes
    ----------
    enabled : bool
        Detect frame-wide changes and re-baseline instead of firing.
    gain : float
        Brightness change (as ``|log ratio|``, 0.1 ~ 10 %) against the frame
        ``lag_s`` ago that counts, when most of the frame moves together.
    chroma_drop : float
        Relative drop of the frame's colourfulness that counts (infrared switch).
    spread : float
        Fraction of the grid cells that must move together (a real event is local).
    lag_s : float
        The frame compared against is this much older (catches slow ramps).
    hold_s : float
        The flag stays on this long after the frame settles (the palette adapts).
    """

    enabled: bool = True
    gain: float = 0.1
    chroma_drop: float = 0.5
    spread: float = 0.7
    lag_s: float = 1.0
    hold_s: float = 2.0


@dataclass(frozen=True, kw_only=True)
class HookSpec:
    """One hook: a command (event JSON on stdin) or a URL (JSON POSTed).

    Attributes
    ----------
    command : tuple of str, optional
        Program and arguments (no shell).
    url : str, optional
        ``http://`` or ``https://`` URL.
    on : tuple of str
        Which event lines trigger it: ``"start"``, ``"end"`` or both.
    """

    command: tuple[str, ...] | None = None
    url: str | None = None
    on: tuple[str, ...] = HOOK_ON


@dataclass(frozen=True, kw_only=True)
class EventsSettings:
    """How events are written and announced.

    Attributes
    ----------
    snapshots : bool
        Write a JPEG at each event's peak (original beside segmented, zone drawn).
    lighting : LightingSettings
        The lighting guard.
    hooks : tuple of HookSpec
        Commands and URLs told about every event.
    hook_timeout_s : float
        A hook taking longer is stopped and counted as failed.
    hook_queue : int
        Events waiting for the hooks; when full, the oldest is dropped (counted).
    """

    snapshots: bool = True
    lighting: LightingSettings = field(default_factory=LightingSettings)
    hooks: tuple[HookSpec, ...] = ()
    hook_timeout_s: float = 10.0
    hook_queue: int = 64


# -- parsing ---------------------------------------------------------------------------------


def parse_rules(raw: Any, *, zone_names: set[str], source: str) -> tuple[Rule, ...]:
    """Validate ``analysis.rules`` (a list of mappings, or None) into rules.

    Raises
    ------
    ConfigError
        One line naming the key path, the problem and the fix.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err("analysis.rules", f"must be a list of rules, got {raw!r}", source)
    rules = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        rule = _parse_rule(item, f"analysis.rules[{i}]", zone_names, source)
        if rule.name in seen:
            raise _err(
                f"analysis.rules[{i}].name", f"{rule.name!r} is used twice; rename one", source
            )
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def check_rules_against_k(rules: tuple[Rule, ...], k: int, *, source: str = "") -> None:
    """Check that every cluster id a rule names exists with ``k`` clusters.

    Raises
    ------
    ConfigError
        A rule names a cluster id ``>= k``.
    """
    for i, rule in enumerate(rules):
        if isinstance(rule.clusters, tuple):
            bad = [c for c in rule.clusters if c >= k]
            if bad:
                raise _err(
                    f"analysis.rules[{i}].clusters",
                    f"cluster id {bad[0]} does not exist with n_clusters={k}; use ids "
                    f'0..{k - 1}, raise n_clusters, or watch a colour such as "#c03020"',
                    source,
                )


def parse_events_settings(raw: Any, *, source: str = "") -> EventsSettings:
    """Validate the ``analysis:`` keys other than zones, masks and rules.

    Parameters
    ----------
    raw : mapping or None
        ``{"events": {...}}`` (or empty / None for the defaults); any other key
        is an error suggesting the nearest valid one.
    source : str
        Where the settings came from (the config file), for messages.

    Raises
    ------
    ConfigError
        One line naming the key path, the problem and the fix.
    """
    if raw:
        if not isinstance(raw, dict):
            raise _err("analysis", f"must be a mapping of keys, got {raw!r}", source)
        valid = ["zones", "masks", "rules", "events"]
        for key in raw:
            if key != "events":
                near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
                raise _err(f"analysis.{key}", f"is not a known key; {hint}", source)
        raw = raw.get("events")
    path = "analysis.events"
    body = _mapping(raw, path, EventsSettings, source)
    out: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{path}.{key}"
        if key == "snapshots":
            out[key] = _bool(value, where, source)
        elif key == "lighting":
            out[key] = _parse_lighting(value, where, source)
        elif key == "hooks":
            out[key] = _parse_hooks(value, where, source)
        elif key == "hook_timeout_s":
            out[key] = _number(value, where, source, lo=0.1, hi=3600.0)
        else:  # hook_queue
            out[key] = int(_number(value, where, source, lo=1, hi=100000, whole=True))
    return EventsSettings(**out)


def _parse_rule(item: Any, path: str, zone_names: set[str], source: str) -> Rule:
    body = _mapping(item, path, Rule, source)
    if "name" not in body:
        raise _err(f"{path}.name", "is missing; give the rule a name such as door-activity", source)
    out: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{path}.{key}"
        if key == "name":
            if not isinstance(value, str) or not _NAME.match(value):
                raise _err(
                    where,
                    f"must be 1-64 letters, digits, '-' or '_', got {value!r}",
                    source,
                )
            out[key] = value
        elif key == "zone":
            out[key] = _parse_zone(value, where, zone_names, source)
        elif key == "clusters":
            out[key] = _parse_clusters(value, where, source)
        elif key in ("metric", "trigger"):
            choices = METRICS if key == "metric" else TRIGGERS
            if value not in choices:
                raise _err(where, f"must be one of {', '.join(choices)}; got {value!r}", source)
            out[key] = value
        elif key in ("enter", "exit"):
            out[key] = _number(value, where, source, lo=0.0, hi=None)
        elif key == "baseline_s":
            out[key] = _number(value, where, source, lo=0.0, hi=86400.0, open_lo=True)
        else:  # min_duration_s, cooldown_s
            out[key] = _number(value, where, source, lo=0.0, hi=86400.0)
    rule = Rule(**out)
    _check_thresholds(rule, path, source)
    return rule


def _parse_zone(value: Any, where: str, zone_names: set[str], source: str) -> str:
    if value == FRAME or (isinstance(value, str) and value in zone_names):
        return str(value)
    names = ", ".join(sorted(zone_names)) or "none defined"
    near = difflib.get_close_matches(str(value), [*zone_names, FRAME], n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise _err(
        where,
        f'{value!r} is not a zone{hint} (zones: {names}, or "frame" for the whole frame)',
        source,
    )


def _parse_clusters(value: Any, where: str, source: str) -> str | tuple[int, ...]:
    if value == "any":
        return "any"
    if isinstance(value, str) and _COLOR.match(value):
        return value.upper()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return (value,)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return tuple(sorted(set(value)))
    raise _err(
        where,
        f'must be any, a list of cluster ids such as [0, 3], or a colour "#rrggbb" such as '
        f'"#c03020" (quoted in YAML); got {value!r}',
        source,
    )


def _check_thresholds(rule: Rule, path: str, source: str) -> None:
    share = rule.metric != "pixels"
    for key in ("enter", "exit"):
        value = getattr(rule, key)
        if share and value > 1.0:
            raise _err(
                f"{path}.{key}",
                f"must be in [0, 1] for metric {rule.metric} (a share); got {value!r}",
                source,
            )
    if rule.trigger == "below":
        if not rule.enter < rule.exit:
            raise _err(
                f"{path}.enter",
                f"must be below exit for trigger: below (an event starts when the value falls "
                f"to enter and ends when it rises past exit); got enter={rule.enter!r}, "
                f"exit={rule.exit!r}",
                source,
            )
    elif not rule.enter > rule.exit:
        raise _err(
            f"{path}.enter",
            f"must be above exit for trigger: {rule.trigger} (an event starts when the "
            f"quantity reaches enter and ends when it falls under exit); got "
            f"enter={rule.enter!r}, exit={rule.exit!r}",
            source,
        )


def _parse_lighting(raw: Any, path: str, source: str) -> LightingSettings:
    body = _mapping(raw, path, LightingSettings, source)
    limits = {
        "gain": (0.01, 5.0),
        "chroma_drop": (0.05, 1.0),
        "spread": (0.1, 1.0),
        "lag_s": (0.05, 60.0),
        "hold_s": (0.0, 600.0),
    }
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "enabled":
            out[key] = _bool(value, f"{path}.{key}", source)
        else:
            lo, hi = limits[key]
            out[key] = _number(value, f"{path}.{key}", source, lo=lo, hi=hi)
    return LightingSettings(**out)


def _parse_hooks(raw: Any, path: str, source: str) -> tuple[HookSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err(
            path, f"must be a list of {{command: [...]}} or {{url: ...}}; got {raw!r}", source
        )
    hooks = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        body = _mapping(item, where, HookSpec, source)
        if ("command" in body) == ("url" in body):
            raise _err(
                where, "needs exactly one of command: [program, args...] or url: ...", source
            )
        out: dict[str, Any] = {}
        if "command" in body:
            out["command"] = _parse_command(body["command"], f"{where}.command", source)
        if "url" in body:
            url = body["url"]
            parsed = urlparse(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise _err(
                    f"{where}.url",
                    f"must be an http:// or https:// URL such as "
                    f"http://127.0.0.1:8000/events; got {url!r}",
                    source,
                )
            out["url"] = url
        if "on" in body:
            on = body["on"]
            on = [on] if isinstance(on, str) else on
            if not isinstance(on, list) or not on or any(v not in HOOK_ON for v in on):
                raise _err(f"{where}.on", f"must be start, end or [start, end]; got {on!r}", source)
            out["on"] = tuple(v for v in HOOK_ON if v in on)
        hooks.append(HookSpec(**out))
    return tuple(hooks)


def _parse_command(value: Any, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _err(
            where,
            f'must be a program and its arguments, e.g. ["python3", "notify.py"]; got {value!r}',
            source,
        )
    return tuple(value)


# -- helpers ---------------------------------------------------------------------------------


def _err(where: str, problem: str, source: str) -> ConfigError:
    suffix = f" (in {source!r})" if source else ""
    return ConfigError(f"{where} {problem}{suffix}")


def _mapping(raw: Any, path: str, cls: type, source: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _err(path, f"must be a mapping of keys, got {raw!r}", source)
    valid = [f.name for f in fields(cls)]
    for key in raw:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
            raise _err(f"{path}.{key}", f"is not a known key; {hint}", source)
    return raw


def _bool(value: Any, where: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise _err(where, f"must be true or false, got {value!r}", source)
    return value


def _number(
    value: Any,
    where: str,
    source: str,
    *,
    lo: float,
    hi: float | None,
    open_lo: bool = False,
    whole: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(where, f"must be a number, got {value!r}", source)
    if whole and float(value) != int(value):
        raise _err(where, f"must be a whole number, got {value!r}", source)
    v = float(value)
    too_low = v <= lo if open_lo else v < lo
    if not math.isfinite(v) or too_low or (hi is not None and v > hi):
        low = f"> {lo}" if open_lo else f">= {lo}"
        rng = low if hi is None else f"{low} and <= {hi}"
        raise _err(where, f"must be {rng}, got {value!r}", source)
    return v


def events_yaml() -> str:
    """The documented ``rules`` example and ``events`` defaults, for ``config.yaml``.

    Indented for the ``analysis:`` section; every key has a comment.
    """
    return _EVENTS_YAML


_EVENTS_YAML = """\
  # Rules: each watches clusters in a zone and makes events (events.ndjson, the log, hooks).
  # An empty list (the default) makes no events.  Example:
  #   - name: door-activity      # letters, digits, - and _
  #     zone: door               # a zone name, or "frame" for the whole frame
  #     clusters: any            # any, a list of ids such as [0, 3], or a colour "#c03020"
  #                              # (the nearest cluster to it each frame, if within dE 30:
  #                              # pick it off the segmented view)
  #     metric: share_of_zone    # share_of_zone, share_of_frame or pixels
  #     trigger: change          # change: |value - rolling baseline|; above / below: the value
  #                              # clusters: any -> change is the share of the zone that
  #                              # changed colour against the baseline composition (earth
  #                              # mover's distance; shades within dE 5 count nothing, beyond
  #                              # dE 25 in full); above / below: the largest / smallest cluster
  #     enter: 0.20              # the event starts when the quantity reaches this ...
  #     exit: 0.10               # ... and ends when it falls back under it (below: rises over)
  #     baseline_s: 30           # rolling baseline window in seconds (median of the window)
  #     min_duration_s: 1.0      # the condition must hold this long before the event fires
  #     cooldown_s: 5.0          # after an event ends, none starts for this long
  rules: []
  events:
    # write a JPEG at each event's peak: original beside segmented, the zone drawn
    snapshots: true
    # Lighting guard: a change that moves the whole frame together (light switched on,
    # clouds, auto-exposure, a switch to infrared) re-baselines every rule instead of
    # firing; such frames carry lighting: true in the statistics and are logged.  A zone
    # with a change of its own (a car driving in as the exposure reacts) keeps watching.
    lighting:
      # detect lighting changes
      enabled: true
      # brightness change against the frame lag_s ago, as |log ratio| (0.1 ~ 10 %) [0.01 .. 5]
      gain: 0.1
      # relative drop of colourfulness that counts as colour draining out [0.05 .. 1]
      chroma_drop: 0.5
      # fraction of the frame's grid cells that must move together [0.1 .. 1]
      spread: 0.7
      # seconds between the frames compared (catches slow ramps) [0.05 .. 60]
      lag_s: 1.0
      # seconds the flag stays on after the frame settles [0 .. 600]
      hold_s: 2.0
    # Commands (the event's JSON on stdin) and URLs (JSON POSTed) told about each event line;
    # each runs off the pipeline's thread and a failing one is logged and counted.  Example:
    #   - command: ["python3", "notify.py"]    # program and arguments, no shell
    #     on: [start, end]                     # which lines (default both)
    #   - url: http://127.0.0.1:8000/events
    hooks: []
    # seconds a hook may take before it is stopped and counted as failed [0.1 .. 3600]
    hook_timeout_s: 10.0
    # event lines waiting for the hooks; when full the oldest is dropped (counted) [1 .. 100000]
    hook_queue: 64
"""
