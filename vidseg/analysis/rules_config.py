"""Configuration of rules (``analysis.rules``): frozen, validated once.

``analysis.rules`` is a list of :class:`Rule`; :func:`parse_rules` turns the
YAML value into them, and every message names the key path
(``analysis.rules[0].clusters``) and the fix.  :func:`check_rules_against_k`
runs once k is known, before any frame is read.  The events' other settings
(snapshots, lighting guard, hooks) live in :mod:`vidseg.analysis.events_config`
and are re-exported here (:class:`EventsSettings`, :func:`parse_events_settings`,
:func:`events_yaml`), so the analyze core imports one module.

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
import re
from dataclasses import dataclass
from typing import Any

from ._checks import check_mapping, check_number, config_error
from .events_config import (
    EventsSettings,
    HookSpec,
    LightingSettings,
    events_yaml,
    parse_events_settings,
)

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
        raise config_error("analysis.rules", f"must be a list of rules, got {raw!r}", source)
    rules = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        rule = _parse_rule(item, f"analysis.rules[{i}]", zone_names, source)
        if rule.name in seen:
            raise config_error(
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
                raise config_error(
                    f"analysis.rules[{i}].clusters",
                    f"cluster id {bad[0]} does not exist with n_clusters={k}; use ids "
                    f'0..{k - 1}, raise n_clusters, or watch a colour such as "#c03020"',
                    source,
                )


def _parse_rule(item: Any, path: str, zone_names: set[str], source: str) -> Rule:
    body = check_mapping(item, path, Rule, source)
    if "name" not in body:
        raise config_error(
            f"{path}.name", "is missing; give the rule a name such as door-activity", source
        )
    out: dict[str, Any] = {}
    for key, value in body.items():
        where = f"{path}.{key}"
        if key == "name":
            if not isinstance(value, str) or not _NAME.match(value):
                raise config_error(
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
                raise config_error(
                    where, f"must be one of {', '.join(choices)}; got {value!r}", source
                )
            out[key] = value
        elif key in ("enter", "exit"):
            out[key] = check_number(value, where, source, lo=0.0, hi=None)
        elif key == "baseline_s":
            out[key] = check_number(value, where, source, lo=0.0, hi=86400.0, open_lo=True)
        else:  # min_duration_s, cooldown_s
            out[key] = check_number(value, where, source, lo=0.0, hi=86400.0)
    rule = Rule(**out)
    _check_thresholds(rule, path, source)
    return rule


def _parse_zone(value: Any, where: str, zone_names: set[str], source: str) -> str:
    if value == FRAME or (isinstance(value, str) and value in zone_names):
        return str(value)
    names = ", ".join(sorted(zone_names)) or "none defined"
    near = difflib.get_close_matches(str(value), [*zone_names, FRAME], n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise config_error(
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
    raise config_error(
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
            raise config_error(
                f"{path}.{key}",
                f"must be in [0, 1] for metric {rule.metric} (a share); got {value!r}",
                source,
            )
    if rule.trigger == "below":
        if not rule.enter < rule.exit:
            raise config_error(
                f"{path}.enter",
                f"must be below exit for trigger: below (an event starts when the value falls "
                f"to enter and ends when it rises past exit); got enter={rule.enter!r}, "
                f"exit={rule.exit!r}",
                source,
            )
    elif not rule.enter > rule.exit:
        raise config_error(
            f"{path}.enter",
            f"must be above exit for trigger: {rule.trigger} (an event starts when the "
            f"quantity reaches enter and ends when it falls under exit); got "
            f"enter={rule.enter!r}, exit={rule.exit!r}",
            source,
        )
