"""Shared fixtures: synthetic frames with known colour blocks, real photos."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.io.demo import sample_photo

# Distinct, far-apart BGR colours for blocks with exactly known areas.
BLOCK_COLORS = np.array(
    [
        [0, 0, 0],
        [255, 255, 255],
        [0, 0, 255],
        [0, 200, 0],
        [255, 0, 0],
        [0, 255, 255],
    ],
    dtype=np.uint8,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--camera", action="store_true", help="run tests that need a webcam")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--camera"):
        return
    skip = pytest.mark.skip(reason="needs a webcam: run with --camera")
    for item in items:
        if "camera" in item.keywords:
            item.add_marker(skip)


def blocks(widths: list[int], height: int = 40, colors: np.ndarray = BLOCK_COLORS) -> np.ndarray:
    """Vertical colour bands of the given pixel widths (exact areas by construction)."""
    return np.concatenate(
        [np.broadcast_to(colors[i], (height, w, 3)) for i, w in enumerate(widths)], axis=1
    ).copy()


@pytest.fixture
def china() -> np.ndarray:
    """scikit-learn's bundled china.jpg, BGR, 427x640."""
    return sample_photo("china.jpg")


@pytest.fixture
def flower() -> np.ndarray:
    """scikit-learn's bundled flower.jpg, BGR, 427x640."""
    return sample_photo("flower.jpg")
