"""Configuration of events: snapshots, the lighting guard and hooks (``analysis.events``).

:func:`parse_events_settings` turns the YAML mapping into an :class:`EventsSettings`;
every message names the key path (``analysis.events.hooks[0].url``) and the fix.
:func:`events_yaml` is the documented block ``config.yaml`` shows.

>>> parse_events_settings({"events": {"hooks": [{"url": "http://127.0.0.1:8000/e"}]}}).hooks
(HookSpec(command=None, url='http://127.0.0.1:8000/e', on=('start', 'end')),)
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from ._checks import check_bool, check_mapping, check_number, config_error

__all__ = [
    "HOOK_ON",
    "EventsSettings",
    "HookSpec",
    "LightingSettings",
    "events_yaml",
    "parse_events_settings",
]

HOOK_ON = ("start", "end")


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
            raise config_error("analysis", f"must be a mapping of keys, got {raw!r}", source)
        valid = ["zones", "masks", "rules", "events"]
        for key in raw:
            if key != "events":
                near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
                raise config_error(f"analysis.{key}", f"is not a known key; {hint}", source)
        raw = raw.get("events")
    path = "analysis.events"
    body = check_mapping(raw, path, EventsSettings, source)
    out: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{path}.{key}"
        if key == "snapshots":
            out[key] = check_bool(value, where, source)
        elif key == "lighting":
            out[key] = _parse_lighting(value, where, source)
        elif key == "hooks":
            out[key] = _parse_hooks(value, where, source)
        elif key == "hook_timeout_s":
            out[key] = check_number(value, where, source, lo=0.1, hi=3600.0)
        else:  # hook_queue
            out[key] = int(check_number(value, where, source, lo=1, hi=100000, whole=True))
    return EventsSettings(**out)


def _parse_lighting(raw: Any, path: str, source: str) -> LightingSettings:
    body = check_mapping(raw, path, LightingSettings, source)
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
            out[key] = check_bool(value, f"{path}.{key}", source)
        else:
            lo, hi = limits[key]
            out[key] = check_number(value, f"{path}.{key}", source, lo=lo, hi=hi)
    return LightingSettings(**out)


def _parse_hooks(raw: Any, path: str, source: str) -> tuple[HookSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise config_error(
            path, f"must be a list of {{command: [...]}} or {{url: ...}}; got {raw!r}", source
        )
    hooks = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        body = check_mapping(item, where, HookSpec, source)
        if ("command" in body) == ("url" in body):
            raise config_error(
                where, "needs exactly one of command: [program, args...] or url: ...", source
            )
        out: dict[str, Any] = {}
        if "command" in body:
            out["command"] = _parse_command(body["command"], f"{where}.command", source)
        if "url" in body:
            url = body["url"]
            parsed = urlparse(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise config_error(
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
                raise config_error(
                    f"{where}.on", f"must be start, end or [start, end]; got {on!r}", source
                )
            out["on"] = tuple(v for v in HOOK_ON if v in on)
        hooks.append(HookSpec(**out))
    return tuple(hooks)


def _parse_command(value: Any, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = shlex.split(value)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise config_error(
            where,
            f'must be a program and its arguments, e.g. ["python3", "notify.py"]; got {value!r}',
            source,
        )
    return tuple(value)


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
