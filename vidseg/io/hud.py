"""The preview window's heads-up display, drawn onto a copy of the shown image (pure).

:func:`draw_hud` takes the image about to be shown and a :class:`HudInfo`
(what to say) and returns a new image with

* a translucent panel top left: frame rate, capture-to-display latency (live
  sources) or the playback position (files), k, the view, and one bar per
  cluster in the cluster's colour, as long as its area share relative to the
  largest, with the share in percent;
* ``PAUSED`` when paused, a transient message (e.g. where a snapshot went) at
  the bottom, and the key map in the middle when asked for.

Nothing here touches a window, so it is tested without a display.

>>> import numpy as np
>>> info = HudInfo(fps=30.0, latency_ms=21.0, n_clusters=2, view="recolor",
...                shares=np.array([0.75, 0.25]), colors_bgr=np.array([[0, 0, 255], [255, 0, 0]]))
>>> out = draw_hud(np.zeros((360, 640, 3), np.uint8), info)
>>> out.shape, [b.width for b in bar_layout(info, (360, 640))]
((360, 640, 3), [108, 36])
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["KEY_MAP", "Bar", "HudInfo", "bar_layout", "draw_hud"]

KEY_MAP = (
    ("+ / -", "more / fewer clusters (k)"),
    ("v", "next view"),
    ("space", "pause / resume"),
    ("s", "snapshot (original, view, stats)"),
    ("r", "re-seed the palette"),
    ("i", "show / hide this display"),
    ("h", "show / hide the keys"),
    ("q / Esc", "quit"),
)

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TEXT = (235, 235, 235)
_DIM = (150, 150, 150)
_PANEL = (24, 24, 24)


@dataclass(frozen=True, kw_only=True)
class HudInfo:
    """What the display shows for one frame.

    Attributes
    ----------
    fps : float
        Frames shown per second.
    latency_ms : float or None
        Capture-to-display latency (live sources), None for files.
    n_clusters : int
        k of the frame shown.
    view : str
        The view shown.
    shares : ndarray, shape (k,)
        Area share of every cluster (sums to 1).
    colors_bgr : ndarray, shape (k, 3)
        Cluster colours, BGR.
    position_s : float or None
        Playback position (files).
    paused : bool
        The run is paused.
    message : str
        A transient line (snapshot written, errors), "" for none.
    show_stats : bool
        Draw the panel (the ``i`` key).
    show_keys : bool
        Draw the key map (the ``h`` key).
    """

    fps: float
    latency_ms: float | None
    n_clusters: int
    view: str
    shares: np.ndarray
    colors_bgr: np.ndarray
    position_s: float | None = None
    paused: bool = False
    message: str = ""
    show_stats: bool = True
    show_keys: bool = False


@dataclass(frozen=True)
class Bar:
    """One cluster's bar: its id, rectangle (x, y, width, height) and BGR colour."""

    cluster: int
    x: int
    y: int
    width: int
    height: int
    color: tuple[int, int, int]


@dataclass(frozen=True)
class _Layout:
    scale: float
    pad: int
    line: int
    panel_w: int
    label_w: int
    bar_max: int
    bars_top: int
    row: int
    font: float


def _layout(info: HudInfo, size: tuple[int, int]) -> _Layout:
    height, width = size
    scale = float(np.clip(min(height / 540, width / 720), 0.6, 1.6))
    pad, line = round(8 * scale), round(20 * scale)
    panel_w = min(round(260 * scale), width - 2 * pad)
    label_w = round(26 * scale)
    bar_max = max(panel_w - label_w - round(64 * scale) - pad, 4)
    bars_top = 2 * pad + 2 * line
    # Rows shrink so 64 clusters still fit; below 10 px they lose their text.
    room = height - bars_top - 2 * pad - line
    row = int(np.clip(room // max(info.n_clusters, 1), 2, round(17 * scale)))
    return _Layout(scale, pad, line, panel_w, label_w, bar_max, bars_top, row, 0.45 * scale)


def bar_layout(info: HudInfo, size: tuple[int, int]) -> list[Bar]:
    """Where each cluster's bar goes on an image of ``size`` = (height, width).

    Bars are in cluster-id order (ids keep their colours, so the rows stay put
    when k changes); the largest share fills the bar width, the others in
    proportion.
    """
    lay = _layout(info, size)
    shares = np.asarray(info.shares, dtype=float)
    top = max(float(shares.max()) if shares.size else 0.0, 1e-9)
    gap = 1 if lay.row < 6 else max(2, lay.row // 6)
    bars = []
    for j, share in enumerate(shares):
        w = round(lay.bar_max * share / top)
        b, g, r = (int(c) for c in info.colors_bgr[j])
        y = lay.bars_top + j * lay.row
        bars.append(Bar(j, 2 * lay.pad + lay.label_w, y, w, lay.row - gap, (b, g, r)))
    return bars


def draw_hud(image: np.ndarray, info: HudInfo) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 BGR with the display drawn on it."""
    out = image.copy()
    size = out.shape[:2]
    lay = _layout(info, size)
    if info.show_stats:
        _panel(out, info, lay)
    if info.paused:
        _label(out, "PAUSED", (size[1] - lay.pad, lay.pad), lay.font * 1.6, right=True)
    if info.message:
        _label(out, info.message, (lay.pad, size[0] - lay.pad), lay.font, bottom=True)
    if info.show_keys:
        _keys(out, lay)
    return out


def _panel(out: np.ndarray, info: HudInfo, lay: _Layout) -> None:
    bars = bar_layout(info, out.shape[:2])
    bottom = (bars[-1].y + bars[-1].height if bars else lay.bars_top) + lay.pad
    _shade(out, lay.pad, lay.pad, lay.panel_w, min(bottom, out.shape[0]) - lay.pad)
    x, y = 2 * lay.pad, lay.pad + lay.line
    if info.latency_ms is not None:
        second = f"latency {info.latency_ms:.0f} ms"
    elif info.position_s is not None:
        minutes, seconds = divmod(info.position_s, 60)
        second = f"t {int(minutes):02d}:{seconds:04.1f}"
    else:
        second = ""
    _text(out, f"{info.fps:.1f} fps", (x, y), lay.font, _TEXT)
    _text(out, second, (x + round(100 * lay.scale), y), lay.font, _TEXT)
    _text(out, f"k {info.n_clusters}", (x, y + lay.line), lay.font, _TEXT)
    _text(out, info.view, (x + round(100 * lay.scale), y + lay.line), lay.font, _TEXT)
    text_font = lay.font * min(1.0, lay.row / (17 * lay.scale))
    for bar, share in zip(bars, info.shares, strict=True):
        if bar.width > 0:
            cv2.rectangle(
                out, (bar.x, bar.y), (bar.x + bar.width - 1, bar.y + bar.height - 1), bar.color, -1
            )
        if lay.row >= 10:
            mid = bar.y + (bar.height + round(9 * text_font / 0.45)) // 2
            _text(out, f"{bar.cluster:2d}", (2 * lay.pad, mid), text_font, _DIM)
            pct = f"{100 * share:4.1f}%"
            _text(out, pct, (bar.x + lay.bar_max + lay.pad, mid), text_font, _TEXT)


def _keys(out: np.ndarray, lay: _Layout) -> None:
    height, width = out.shape[:2]
    w = min(round(360 * lay.scale), width - 2 * lay.pad)
    h = min((len(KEY_MAP) + 1) * lay.line + lay.pad, height - 2 * lay.pad)
    x0, y0 = (width - w) // 2, (height - h) // 2
    _shade(out, x0, y0, w, h, strength=0.85)
    for i, (key, what) in enumerate(KEY_MAP):
        y = y0 + (i + 1) * lay.line
        _text(out, key, (x0 + lay.pad, y), lay.font, _TEXT)
        _text(out, what, (x0 + lay.pad + round(80 * lay.scale), y), lay.font, _DIM)


def _label(
    out: np.ndarray,
    text: str,
    at: tuple[int, int],
    font: float,
    *,
    right: bool = False,
    bottom: bool = False,
) -> None:
    """Text on its own translucent strip; ``at`` is the strip's top-left (or top-right, bottom)."""
    (tw, th), base = cv2.getTextSize(text, _FONT, font, 1)
    pad = max(th // 2, 3)
    w, h = tw + 2 * pad, th + base + 2 * pad
    x = at[0] - w if right else at[0]
    y = at[1] - h if bottom else at[1]
    _shade(out, x, y, w, h)
    _text(out, text, (x + pad, y + pad + th), font, _TEXT)


def _shade(out: np.ndarray, x: int, y: int, w: int, h: int, *, strength: float = 0.65) -> None:
    """Darken a rectangle (``strength`` of the panel colour), clipped to the image."""
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, out.shape[1]), min(y + h, out.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    roi = out[y0:y1, x0:x1]
    panel = np.empty_like(roi)
    panel[:] = _PANEL
    cv2.addWeighted(roi, 1.0 - strength, panel, strength, 0.0, dst=roi)


def _text(out: np.ndarray, text: str, at: tuple[int, int], font: float, color: tuple) -> None:
    cv2.putText(out, text, at, _FONT, font, color, 1, cv2.LINE_AA)
