"""Colour-space conversions between 8-bit-scale BGR and the clustering spaces.

Spaces
------
``"bgr"``
    Identity, 0..255 per channel.
``"lab"``
    CIELAB as OpenCV computes it from float input (L 0..100, a/b about -128..127).
``"oklab"``
    Björn Ottosson's OkLab, scaled by 100 (L 0..100) so distances read like Lab's.

All functions take and return float32 arrays of shape (N, 3) and never modify
their input.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["LMS_TO_OKLAB_X100", "MODES", "SPACES", "channel_tables", "from_space", "to_space"]

SPACES = ("bgr", "lab", "oklab")

# Ottosson's matrices, rows acting on (r, g, b) column vectors.
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
# Fold the BGR channel order into the first matrix.
_BGR_TO_LMS = _RGB_TO_LMS[:, ::-1].copy()
_OKLAB_TO_LMS = np.linalg.inv(_LMS_TO_OKLAB)
_LMS_TO_BGR = np.linalg.inv(_BGR_TO_LMS)


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"color_space must be one of {', '.join(SPACES)}; got {space!r}")


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def to_space(bgr: np.ndarray, space: str) -> np.ndarray:
    """Convert BGR colours on the 0..255 scale to ``space``.

    Parameters
    ----------
    bgr : ndarray, shape (N, 3)
        Colours in BGR order, any real dtype, 0..255.
    space : {"bgr", "lab", "oklab"}

    Returns
    -------
    ndarray, shape (N, 3), float32
    """
    _check_space(space)
    x = np.asarray(bgr, dtype=np.float32).reshape(-1, 3)
    if space == "bgr":
        return x.copy()
    if space == "lab":
        return cv2.cvtColor((x / 255.0).reshape(-1, 1, 3), cv2.COLOR_BGR2Lab).reshape(-1, 3)
    lin = _srgb_to_linear(x.astype(np.float64) / 255.0)
    lms = np.cbrt(lin @ _BGR_TO_LMS.T)
    return (100.0 * (lms @ _LMS_TO_OKLAB.T)).astype(np.float32)


def from_space(values: np.ndarray, space: str) -> np.ndarray:
    """Convert colours in ``space`` back to BGR on the 0..255 scale (clipped).

    Parameters
    ----------
    values : ndarray, shape (N, 3)
    space : {"bgr", "lab", "oklab"}

    Returns
    -------
    ndarray, shape (N, 3), float32
    """
    _check_space(space)
    x = np.asarray(values, dtype=np.float32).reshape(-1, 3)
    if space == "bgr":
        out = x.copy()
    elif space == "lab":
        out = cv2.cvtColor(x.reshape(-1, 1, 3), cv2.COLOR_Lab2BGR).reshape(-1, 3) * 255.0
    else:
        lms = (x.astype(np.float64) / 100.0) @ _OKLAB_TO_LMS.T
        out = 255.0 * _linear_to_srgb((lms**3) @ _LMS_TO_BGR.T)
    return np.clip(out, 0.0, 255.0).astype(np.float32)


# -- separable form, for the compiled look-up-table fill --------------------------------
# Every space is ``finish(sum over channels of a per-channel linear contribution)``,
# so a table cell's colour costs three small-table reads and one non-linear step.
MODES = {"bgr": 0, "oklab": 1, "lab": 2}

# sRGB (linear) -> XYZ, normalised by the D65 white point as OpenCV does.
_RGB_TO_XYZN = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
) / np.array([[0.950456], [1.0], [1.088754]])
_BGR_TO_XYZN = _RGB_TO_XYZN[:, ::-1].copy()


def channel_tables(levels: np.ndarray, space: str) -> np.ndarray:
    """Per-channel linear contributions of the colour-space conversion.

    Parameters
    ----------
    levels : ndarray, shape (3, n)
        For each channel (B, G, R), the 0..255 values the table cells stand for.
    space : {"bgr", "lab", "oklab"}

    Returns
    -------
    ndarray, shape (3, n, 3), float32
        ``out[c, i]`` is channel ``c`` at ``levels[c, i]``'s contribution to the
        linear stage; the kernel sums one row per channel and applies the
        space's non-linear finish (``MODES[space]``).
    """
    _check_space(space)
    levels = np.asarray(levels, dtype=np.float64)
    out = np.zeros((3, levels.shape[1], 3))
    if space == "bgr":
        for c in range(3):
            out[c, :, c] = levels[c]
        return out.astype(np.float32)
    matrix = _BGR_TO_LMS if space == "oklab" else _BGR_TO_XYZN
    lin = _srgb_to_linear(levels / 255.0)
    for c in range(3):
        out[c] = lin[c][:, None] * matrix[:, c][None, :]
    return out.astype(np.float32)


# The non-linear finish's matrix for OkLab, exported for the kernel.
LMS_TO_OKLAB_X100 = (100.0 * _LMS_TO_OKLAB).astype(np.float32)
