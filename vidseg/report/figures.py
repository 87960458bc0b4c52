"""The report's figures, drawn with matplotlib into PNG bytes (pure: no files).

Every figure is a :class:`matplotlib.figure.Figure` on its own Agg canvas:
no pyplot, no global backend switch, no display, so drawing is safe in any
thread and leaves the caller's matplotlib state alone.  Colours are the
clusters' own (median over the run), so the plots read like the video.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

from .events import Event
from .maps import Maps

__all__ = [
    "activity_png",
    "clock",
    "ownership_png",
    "palette_strip_png",
    "timeline_png",
]

DPI = 100
WIDTH_IN = 12.0
_INK = "#1f2933"
_GRID = "#d9dee3"
_EVENT = "#3b6fd8"
_OPEN = "#d8563b"
_LIGHT = "#f2a900"
_MAX_LABELS = 40
_CLOCK_STEPS = (
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
)


def clock(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour), for axes and tables.

    >>> clock(75.4), clock(3725)
    ('1:15', '1:02:05')
    """
    s = round(max(seconds, 0.0))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _figure(height_in: float, width_in: float = WIDTH_IN, *, timeline: bool = False) -> Figure:
    """A figure on its own Agg canvas; time plots get the same margins so their axes line up."""
    if not timeline:
        fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    else:
        fig = Figure(figsize=(width_in, height_in), dpi=DPI)
        fig.subplots_adjust(
            left=0.75 / width_in,
            right=1 - 1.6 / width_in,
            bottom=0.55 / height_in,
            top=1 - 0.32 / height_in,
            hspace=0.08,
        )
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _rgb(colors_bgr: np.ndarray) -> np.ndarray:
    return colors_bgr[..., ::-1].astype(np.float64) / 255.0


def _time_axis(ax: Axes, t0: float, t1: float) -> None:
    """x from ``t0`` to ``t1`` s, ticks on round clock steps (10 s, 5 min, ...)."""
    t1 = t1 if t1 > t0 else t0 + 1.0
    ax.set_xlim(t0, t1)
    step = next((s for s in _CLOCK_STEPS if (t1 - t0) / s <= 10), _CLOCK_STEPS[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    if step < 1:  # a clip of a few seconds: tenths on the ticks
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v // 60:.0f}:{v % 60:04.1f}"))
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: clock(v)))
    ax.set_xlabel("time (h:mm:ss)" if t1 >= 3600 else "time (m:ss)", color=_INK)


def timeline_png(
    t: np.ndarray,
    share: np.ndarray,
    colors_bgr: np.ndarray,
    *,
    title: str,
    span: tuple[float, float],
    events: Sequence[tuple[str, Event]] = (),
    cuts: np.ndarray | None = None,
    lighting: Sequence[tuple[float, float]] = (),
) -> bytes:
    """Stacked area of the share per cluster over time, with events and flags.

    Parameters
    ----------
    t : ndarray, shape (b,)
        Bin times (s).
    share : ndarray, shape (b, K)
        Share per cluster (NaN = cluster absent, drawn as 0).
    colors_bgr : ndarray, shape (K, 3), uint8
        Fill colour per cluster.
    title : str
        Axes title.
    span : (float, float)
        First and last time of the run (s), the x range.
    events : sequence of (label, Event)
        Shaded from start to end (open events to the end of the run), peak marked.
    cuts : ndarray of float, optional
        Scene-cut times, drawn as thin vertical lines.
    lighting : sequence of (float, float)
        Time spans flagged as lighting changes, drawn as a band on top.
    """
    lanes = [("events", bool(events)), ("lighting", bool(len(lighting)))]
    lanes = [name for name, used in lanes if used]
    fig = _figure(3.4 + 0.3 * len(lanes), timeline=True)
    if lanes:
        top, ax = fig.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [0.3 * len(lanes), 2.9]}
        )
        _lanes(top, lanes, events, lighting, span)
    else:
        ax = fig.add_subplot()
    k = share.shape[1]
    filled = np.nan_to_num(share, nan=0.0).T
    present = [j for j in range(k) if np.any(~np.isnan(share[:, j]))]
    if len(t) == 1:  # one bin: draw it as a flat band
        t, filled = np.array([span[0], span[1]]), np.repeat(filled, 2, axis=1)
    rgb = _rgb(colors_bgr)
    ax.stackplot(t, filled, colors=list(rgb), linewidth=0, edgecolor="none")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of area", color=_INK)
    _time_axis(ax, *span)
    if cuts is not None and len(cuts):
        ax.vlines(cuts, 0, 1, colors="white", linewidth=2.2, alpha=0.9)
        ax.vlines(cuts, 0, 1, colors=_INK, linewidth=0.9, linestyles=(0, (3, 2)))
    for _, event in events:  # thin edges only: the cluster colours stay as they are
        ax.axvline(event.start_s, color=_OPEN if event.open else _EVENT, linewidth=0.8)
        if event.end_s is not None:
            ax.axvline(event.end_s, color=_EVENT, linewidth=0.8, linestyle=":")
    handles = [Patch(color=rgb[j], label=f"{j}") for j in present]
    extra = []
    if cuts is not None and len(cuts):
        extra.append(Line2D([], [], color=_INK, lw=0.9, ls=(0, (3, 2)), label="scene cut"))
    if len(lighting):
        extra.append(Patch(color=_LIGHT, label="lighting change"))
    if events:
        extra.append(Patch(color=_EVENT, label="event"))
        if any(e.open for _, e in events):
            extra.append(Patch(color=_OPEN, label="event, open"))
    ax.legend(
        handles=handles + extra,
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize=8,
        frameon=False,
        title="cluster",
        title_fontsize=8,
    )
    (fig.axes[0]).set_title(title, loc="left", fontsize=11, color=_INK)
    ax.tick_params(colors=_INK, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def _lanes(
    ax: Axes,
    lanes: list[str],
    events: Sequence[tuple[str, Event]],
    lighting: Sequence[tuple[float, float]],
    span: tuple[float, float],
) -> None:
    """Event bars (start..end, open ones to the end of the run, peak marked) and lighting."""
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8, color=_INK)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color=_GRID, linewidth=0.6)
    minimum = (span[1] - span[0]) / 400  # a one-frame event stays visible
    if "events" in lanes:
        row = lanes.index("events")
        for label, event in events:
            end = span[1] if event.end_s is None else event.end_s
            colour = _OPEN if event.open else _EVENT
            width = max(end - event.start_s, minimum)
            ax.broken_barh([(event.start_s, width)], (row - 0.32, 0.64), color=colour)
            if event.peak_s is not None:
                ax.plot([event.peak_s], [row], marker="|", color="white", markersize=9, mew=2)
            if len(events) > _MAX_LABELS:
                continue  # labels would overlap; the table lists every event
            ax.annotate(
                label,
                (event.start_s, row),
                xytext=(-2, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=7.5,
                color=colour,
                fontweight="bold",
                annotation_clip=False,
            )
    if "lighting" in lanes:
        row = lanes.index("lighting")
        ax.broken_barh(
            [(a, max(b - a, minimum)) for a, b in lighting], (row - 0.32, 0.64), color=_LIGHT
        )


def palette_strip_png(
    t0: np.ndarray, t1: np.ndarray, colors_bgr: np.ndarray, present: np.ndarray
) -> bytes:
    """Each cluster's colour over time: one row per cluster, one cell per time bin.

    ``colors_bgr`` has shape (b, K, 3); cells where ``present`` (b, K) is false
    (the cluster did not exist) are left light grey.
    """
    k = present.shape[1]
    image = _rgb(colors_bgr)
    image[~present] = 0.93
    fig = _figure(0.9 + 0.28 * k, timeline=True)
    ax = fig.add_subplot()
    end = t1[-1] if t1[-1] > t0[0] else t0[0] + 1.0
    ax.imshow(
        image.transpose(1, 0, 2),
        aspect="auto",
        interpolation="nearest",
        extent=(t0[0], end, k - 0.5, -0.5),
    )
    ax.set_yticks(range(k))
    ax.set_ylabel("cluster", color=_INK)
    _time_axis(ax, t0[0], end)
    ax.set_title("Cluster colours over time", loc="left", fontsize=11, color=_INK)
    ax.tick_params(colors=_INK, labelsize=8)
    return _png(fig)


def _map_figure(maps: Maps) -> tuple[Figure, Axes]:
    h, w = maps.ownership.shape
    width = 5.8
    fig = _figure(width * h / w + 0.5, width)
    ax = fig.add_subplot()
    ax.set_axis_off()
    return fig, ax


def _zones(ax: Axes, maps: Maps) -> None:
    for zone in maps.zones:
        ax.add_patch(Polygon(zone.points, closed=True, fill=False, edgecolor="white", lw=2.5))
        ax.add_patch(Polygon(zone.points, closed=True, fill=False, edgecolor=_INK, lw=1.2))
        x, y = zone.points.min(axis=0)
        ax.text(
            x + 3,
            y + 3,
            zone.name,
            color=_INK,
            fontsize=9,
            va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
        )


def ownership_png(maps: Maps) -> bytes:
    """The ownership map: every pixel painted in the colour of the cluster that held it most."""
    fig, ax = _map_figure(maps)
    ax.imshow(_rgb(maps.palette_bgr)[maps.ownership], interpolation="nearest")
    _zones(ax, maps)
    ax.set_title(
        "Ownership: the cluster that held each pixel most often",
        loc="left",
        fontsize=10,
        color=_INK,
    )
    return _png(fig)


def activity_png(maps: Maps) -> bytes:
    """Activity heatmap (fraction of frames a pixel changed label) over the background."""
    fig, ax = _map_figure(maps)
    if maps.background is not None:
        grey = maps.background.astype(np.float64) @ np.array([0.114, 0.587, 0.299]) / 255.0
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1, interpolation="bilinear")
    activity = np.ma.masked_less_equal(maps.activity, 0.0)
    vmax = max(float(np.percentile(maps.activity, 99.5)), 1e-6)
    im = ax.imshow(
        activity,
        cmap="inferno",
        vmin=0,
        vmax=vmax,
        alpha=0.75 if maps.background is not None else 1.0,
        interpolation="nearest",
    )
    _zones(ax, maps)
    bar = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bar.set_label("frames with a label change", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ax.set_title(
        "Activity: how often each pixel changed cluster", loc="left", fontsize=10, color=_INK
    )
    return _png(fig)
