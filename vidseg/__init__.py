"""vidseg: real-time, temporally stable k-means colour segmentation of video streams.

>>> import numpy as np
>>> from vidseg import Segmenter
>>> res = Segmenter(n_clusters=2, seed=0).segment(np.zeros((8, 8, 3), np.uint8))  # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from .config import Config, EngineConfig, OutputConfig, RunConfig, load_config
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

if TYPE_CHECKING:
    from .engine import Segmentation, Segmenter

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The engine pulls in scikit-learn, scipy and numba (seconds of start-up): commands
    # that never segment (`vidseg report`, `--help`, `config`) do not load it.
    if name in ("Segmentation", "Segmenter"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
