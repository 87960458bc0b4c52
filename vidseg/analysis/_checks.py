"""Shared checks of the events configuration: one-line messages naming the key path and the fix."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ..errors import ConfigError

__all__ = ["check_bool", "check_mapping", "check_number", "config_error"]


def config_error(where: str, problem: str, source: str) -> ConfigError:
    suffix = f" (in {source!r})" if source else ""
    return ConfigError(f"{where} {problem}{suffix}")


def check_mapping(raw: Any, path: str, cls: type, source: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise config_error(path, f"must be a mapping of keys, got {raw!r}", source)
    valid = [f.name for f in fields(cls)]
    for key in raw:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            hint = f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"
            raise config_error(f"{path}.{key}", f"is not a known key; {hint}", source)
    return raw


def check_bool(value: Any, where: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise config_error(where, f"must be true or false, got {value!r}", source)
    return value


def check_number(
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
        raise config_error(where, f"must be a number, got {value!r}", source)
    if whole and float(value) != int(value):
        raise config_error(where, f"must be a whole number, got {value!r}", source)
    v = float(value)
    too_low = v <= lo if open_lo else v < lo
    if not math.isfinite(v) or too_low or (hi is not None and v > hi):
        low = f"> {lo}" if open_lo else f">= {lo}"
        rng = low if hi is None else f"{low} and <= {hi}"
        raise config_error(where, f"must be {rng}, got {value!r}", source)
    return v
