"""vidseg: real-time, temporally stable k-means colour segmentation of video streams.

>>> import numpy as np
>>> from vidseg import Segmenter
>>> res = Segmenter(n_clusters=2, seed=0).segment(np.zeros((8, 8, 3), np.uint8))  # doctest: +SKIP
"""

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
