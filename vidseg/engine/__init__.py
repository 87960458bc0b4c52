"""The segmentation engine: :class:`Segmenter` and its per-frame :class:`Segmentation`."""

from .segmentation import Segmentation
from .segmenter import Segmenter

__all__ = ["Segmentation", "Segmenter"]
