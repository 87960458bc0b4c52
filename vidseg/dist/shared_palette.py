"""The palette every chunk of a chunked conversion starts from, learnt across the whole video."""

from __future__ import annotations

import bisect
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config

if TYPE_CHECKING:
    from ..engine.palette_file import Palette
    from .chunks import VideoIndex

__all__ = ["PALETTE_SAMPLES", "shared_palette"]

log = logging.getLogger(__name__)

#: Frames the shared palette is learnt from, spread over the whole video.
PALETTE_SAMPLES = 16
_SAMPLE_WIDTH = 320  # sampled frames are shrunk to this width for the palette fit


def shared_palette(path: Path, index: VideoIndex, cfg: Config) -> Palette:
    """One palette from frames spread over the whole video: the chunks' common start.

    Up to :data:`PALETTE_SAMPLES` frames (keyframes when there are enough:
    decoding them costs one frame each), shrunk and stacked into one image,
    segmented once by a fresh segmenter with the run's engine settings.
    """
    import cv2
    import numpy as np

    from ..engine import Segmenter
    from ..io.sources.span import SpanSource

    keys = index.keyframes
    if len(keys) >= PALETTE_SAMPLES // 2:
        picks = np.linspace(0, len(keys) - 1, min(PALETTE_SAMPLES, len(keys)))
        wanted = sorted({keys[round(p)] for p in picks})
    else:
        wanted = sorted({round(f) for f in np.linspace(0, index.frames - 1, PALETTE_SAMPLES)})
    images = []
    for frame in wanted:
        k = bisect.bisect_right(keys, frame) - 1
        pts_range = None
        if index.pts is not None:
            pts_range = (
                index.pts[frame],
                index.pts[frame + 1] if frame + 1 < index.frames else None,
            )
        source = SpanSource(
            path,
            first=frame,
            end=frame + 1,
            key_index=keys[k],
            key_ts=index.key_ts[k],
            pts_range=pts_range,
            threads=cfg.run.decoder_threads,
        )
        with source:
            image = next(iter(source)).image
        h, w = image.shape[:2]
        scale = min(1.0, _SAMPLE_WIDTH / w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        images.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    mosaic = np.concatenate(images, axis=0)
    with Segmenter.from_config(cfg.engine) as segmenter:
        segmenter.segment(mosaic)
        palette = segmenter.palette_
    assert palette is not None
    log.info("learnt the shared palette from %d frames across the video", len(images))
    return palette
