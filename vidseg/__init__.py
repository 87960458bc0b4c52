"""vidseg: real-time, temporally stable k-means colour segmentation of video streams.

The public names are imported on first use (PEP 562), so ``vidseg --help`` and
``vidseg config`` do not pay for scikit-learn, SciPy and numba.

>>> import numpy as np
>>> from vidseg import Segmenter
>>> res = Segmenter(n_clusters=2, seed=0).segment(np.zeros((8, 8, 3), np.uint8))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, EngineConfig, OutputConfig, RunConfig, load_config
    from .engine import Segmentation, Segmenter
    from .errors import (
        ClosedError,
        ConfigError,
        EmptyClusterWarning,
        EncoderNotFoundError,
        SinkError,
        SourceOpenError,
        SourceReadError,
        VidsegError,
    )

__version__ = "0.1.0"

__all__ = [
    "ClosedError",
    "Config",
    "ConfigError",
    "EmptyClusterWarning",
    "EncoderNotFoundError",
    "EngineConfig",
    "OutputConfig",
    "RunConfig",
    "Segmentation",
    "Segmenter",
    "SinkError",
    "SourceOpenError",
    "SourceReadError",
    "VidsegError",
    "__version__",
    "load_config",
]

# Public name -> the submodule that defines it.
_HOMES = {
    **dict.fromkeys(
        ("Config", "EngineConfig", "OutputConfig", "RunConfig", "load_config"), "config"
    ),
    **dict.fromkeys(("Segmentation", "Segmenter"), "engine"),
    **dict.fromkeys(
        (
            "ClosedError",
            "ConfigError",
            "EmptyClusterWarning",
            "EncoderNotFoundError",
            "SinkError",
            "SourceOpenError",
            "SourceReadError",
            "VidsegError",
        ),
        "errors",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vidseg' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
