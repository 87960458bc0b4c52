"""Benchmark vidseg.Segmenter against the seeds' per-frame k-means and other baselines.

Run from the repository root::

    python benchmarks/bench_segmenter.py            # full run (~10 min on 2 cores)
    python benchmarks/bench_segmenter.py --quick    # smoke run (< 3 min)
    python benchmarks/bench_segmenter.py --frames 60 --clips vtest demo720p cuts

All methods run side by side in one process on the same decoded frames (k = 8).
stdout is the result: one table, the assignment-accuracy table, footnotes and the
targets; progress goes to stderr with ``-v``.

Methods
-------
vidseg, vidseg[fast], vidseg[bgr], vidseg[lab]
    ``Segmenter(n_clusters=8, seed=0)`` with the default / given colour space.
seeds (cv2.kmeans a=10), cv2.kmeans a=1
    ``cv2.kmeans`` on all pixels (float32 BGR), KMEANS_RANDOM_CENTERS, criteria
    (EPS + MAX_ITER, 10, 1.0), every frame from scratch (subset of frames).
sklearn KMeans n_init=10
    Per-frame ``KMeans(n_init=10)`` on all pixels in OkLab (subset of frames).
naive warm start
    A new ``MiniBatchKMeans(init=previous centres, n_init=1, max_iter=3,
    batch_size=2048)`` per frame on a 10k-pixel sample in OkLab, then ``predict``
    on all pixels.

Metrics (see ``benchmarks/_metrics.py``)
-------
ms/frame
    Only the segmentation call incl. full-frame labels and areas (recolouring and
    scoring excluded).  Streaming methods skip the first 3 frames; subset methods
    get one untimed warm-up call on a small crop instead.
inertia ratio
    WCSS of the method's labels / WCSS of a ``KMeans(8, n_init=4, random_state=0)``
    reference fitted on a 20k-pixel sample, both scored in the space the method
    clusters in, every cluster against its own mean.  ``oklab`` column: the same
    ratio in OkLab for every method.  Scored on every ``--stride``-th frame.
dRMS
    The absolute excess ``sqrt(WCSS/N) - sqrt(WCSS_ref/N)`` in OkLab x 100 (1/40 of a
    just-noticeable difference is 0.05).  A frame meets the quality bar when its
    ratio is <= 1.02 or its dRMS <= 0.05 (issue 9).
SLC
    Still-pixel label change: label flips on still pixels / still pixels over the
    clip, a pixel being still when the 5x5 box mean of |dB|+|dG|+|dR| between the
    two frames is <= 12 (only meaningful on static-camera clips).
label chg
    Mean fraction of pixels whose label differs from the previous frame (only
    meaningful on static-camera clips).
flicker
    Sum over frame pairs of mean |out_t - out_t-1| of the recoloured output, over
    the same sum of the input; < 1 means the output is calmer than the input.
cuts
    Cuts of the ``cuts`` clip after which the inertia ratio is <= 1.05 on the cut
    frame or one of the two frames after it.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import _clips
import _metrics
import cv2
import numpy as np

log = logging.getLogger("bench_segmenter")

K = 8
WARMUP = 3
CUT_TOL = 1.05
CUT_WITHIN = 2
CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)

# Targets (k = 8)
T_MS_720 = 5.0
T_MS_1080 = 11.0
T_VS_NAIVE = 3.0
T_VS_SEEDS = 300.0
T_RATIO_MED = 1.02
T_RATIO_P95 = 1.10
T_DRMS_MED = 0.05
T_DRMS_P95 = 0.10
T_SLC = 0.025
T_SLC_STRETCH = 0.02  # on the traffic clip
STRETCH_CLIP = "o4n_traffic_topdown_static"
T_FLICKER = 1.0

DEMO_720 = "demo720p"
DEMO_1080 = "demo1080p"
CUTS = "cuts"


# -- helpers shared by the baselines ----------------------------------------------------

_SRGB_LIN = np.where(
    np.arange(256) / 255.0 <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
).astype(np.float32)
_BGR_TO_LMS = _metrics._M1[:, ::-1].astype(np.float32).copy()
_LMS_TO_OKLAB = (_metrics._M2 * 100.0).astype(np.float32)


def fast_oklab(frame: np.ndarray) -> np.ndarray:
    """OkLab x 100 of every pixel of a uint8 BGR frame, float32 (N, 3).

    What a careful user would write for the baselines: gamma via a 256-entry table,
    3x3 transforms with ``cv2.transform`` (no BLAS call, so no idle BLAS threads
    spinning against scikit-learn's OpenMP ones on a 2-core machine).  Matches
    ``vidseg.engine.colorspace.to_space`` to ~1e-4.
    """
    lin = _SRGB_LIN[frame.reshape(-1, 1, 3)]
    lms = np.cbrt(cv2.transform(lin, _BGR_TO_LMS))
    return cv2.transform(lms, _LMS_TO_OKLAB).reshape(-1, 3)


def mean_bgr_palette(frame: np.ndarray, labels: np.ndarray, k: int = K) -> np.ndarray:
    """(k, 3) uint8: the mean BGR colour of each cluster (black when empty)."""
    lab = labels.reshape(-1).astype(np.intp)
    px = frame.reshape(-1, 3)
    counts = np.bincount(lab, minlength=k)
    pal = np.zeros((k, 3), np.float64)
    for c in range(3):
        pal[:, c] = np.bincount(lab, weights=px[:, c], minlength=k)
    nz = counts > 0
    pal[nz] /= counts[nz, None]
    return np.rint(pal).astype(np.uint8)


@dataclass
class Out:
    """What a method returns from its timed call."""

    labels: np.ndarray  # (H, W) integer
    areas: np.ndarray
    payload: Any = None


# -- methods --------------------------------------------------------------------------


class Method:
    """A segmentation method; :meth:`segment` is the timed call."""

    name = "?"
    space = "bgr"
    streaming = True  # fed every frame in order; otherwise a subset of frames

    def reset(self) -> None:
        pass

    def segment(self, frame: np.ndarray) -> Out:
        raise NotImplementedError

    def recolor(self, frame: np.ndarray, out: Out) -> np.ndarray:
        return mean_bgr_palette(frame, out.labels)[out.labels]


# Engine settings that trade a little fit quality for speed (the `vidseg[fast]` row).
FAST = {"lut_bits": 5, "sample_size": 2048, "max_iter": 2}


class VidsegMethod(Method):
    def __init__(self, color_space: str | None = None, *, fast: bool = False) -> None:
        from vidseg import Segmenter

        self._cls = Segmenter
        self._kwargs: dict[str, Any] = {"n_clusters": K, "seed": 0, **(FAST if fast else {})}
        if color_space is not None:
            self._kwargs["color_space"] = color_space
        self.seg = Segmenter(**self._kwargs)
        self.space = color_space or _default_space(self.seg)
        tag = "fast" if fast else color_space
        self.name = "vidseg" if tag is None else f"vidseg[{tag}]"

    def reset(self) -> None:
        self.seg = self._cls(**self._kwargs)  # fresh object: no state kept across clips

    def segment(self, frame: np.ndarray) -> Out:
        res = self.seg.segment(frame)
        return Out(res.labels, res.areas, res)

    def recolor(self, frame: np.ndarray, out: Out) -> np.ndarray:
        return out.payload.recolor()


def _default_space(seg: Any) -> str:
    space = getattr(seg, "color_space", None)
    if isinstance(space, str):
        return space
    import inspect

    default = inspect.signature(type(seg)).parameters.get("color_space")
    return default.default if default is not None else "oklab"


class CvKMeans(Method):
    space = "bgr"
    streaming = False

    def __init__(self, attempts: int, name: str) -> None:
        self.attempts = attempts
        self.name = name

    def reset(self) -> None:
        cv2.setRNGSeed(0)

    def segment(self, frame: np.ndarray) -> Out:
        h, w = frame.shape[:2]
        data = frame.reshape(-1, 3).astype(np.float32)
        _, labels, centers = cv2.kmeans(
            data, K, None, CRITERIA, self.attempts, cv2.KMEANS_RANDOM_CENTERS
        )
        labels = labels.reshape(h, w).astype(np.uint8)
        areas = np.bincount(labels.ravel(), minlength=K) / float(h * w)
        return Out(labels, areas, centers)

    def recolor(self, frame: np.ndarray, out: Out) -> np.ndarray:
        return np.uint8(out.payload)[out.labels]  # the seeds' recolouring


class SkKMeans(Method):
    name = "sklearn KMeans n_init=10"
    space = "oklab"
    streaming = False

    def segment(self, frame: np.ndarray) -> Out:
        from sklearn.cluster import KMeans

        h, w = frame.shape[:2]
        x = fast_oklab(frame)
        km = KMeans(n_clusters=K, n_init=10, random_state=0).fit(x)
        labels = km.labels_.reshape(h, w).astype(np.uint8)
        areas = np.bincount(labels.ravel(), minlength=K) / float(h * w)
        return Out(labels, areas)


class NaiveWarm(Method):
    name = "naive warm start"
    space = "oklab"

    def __init__(self) -> None:
        from threadpoolctl import ThreadpoolController

        self._threads = ThreadpoolController()
        self.reset()

    def reset(self) -> None:
        self.centers: np.ndarray | None = None
        self.rng = np.random.default_rng(0)

    def segment(self, frame: np.ndarray) -> Out:
        from sklearn.cluster import MiniBatchKMeans

        h, w = frame.shape[:2]
        x = fast_oklab(frame)
        sample = x[self.rng.integers(0, len(x), 10_000)]
        init = "k-means++" if self.centers is None else self.centers
        with self._threads.limit(limits=1):  # like the engine's fit (threads=1)
            mbk = MiniBatchKMeans(
                n_clusters=K, init=init, n_init=1, max_iter=3, batch_size=2048, random_state=0
            ).fit(sample)
        self.centers = mbk.cluster_centers_
        labels = mbk.predict(x).reshape(h, w).astype(np.uint8)
        areas = np.bincount(labels.ravel(), minlength=K) / float(h * w)
        return Out(labels, areas)


# -- per-clip run ---------------------------------------------------------------------


@dataclass
class Plan:
    """Frame budgets."""

    stride: int
    seeds_frames: int
    a1_frames: int
    sk_frames: int


@dataclass
class Row:
    clip: str
    method: str
    space: str
    static: bool
    subset: str = ""  # description of the frame subset ("" = every frame)
    times: list[float] = field(default_factory=list)
    ratios: dict[int, float] = field(default_factory=dict)
    ok_ratios: dict[int, float] = field(default_factory=dict)
    drms: dict[int, float] = field(default_factory=dict)  # OkLab x 100
    stat_frames: set[int] = field(default_factory=set)  # frames the ratio stats use
    label_changes: list[float] = field(default_factory=list)
    flicker: float = float("nan")
    slc: _metrics.StillLabelChange = field(default_factory=_metrics.StillLabelChange)
    cuts: tuple[int, int] | None = None  # recovered, total
    cut_frames: list[int] = field(default_factory=list)  # vidseg: frames flagged scene_cut

    def _stats(self, d: dict[int, float]) -> list[float]:
        return [v for i, v in d.items() if i in self.stat_frames]

    @property
    def ms_med(self) -> float:
        return 1e3 * float(np.median(self.times)) if self.times else float("nan")

    @property
    def ms_p95(self) -> float:
        return 1e3 * float(np.percentile(self.times, 95)) if self.times else float("nan")

    def ratio(self, q: float, oklab: bool = False) -> float:
        vals = self._stats(self.ok_ratios if oklab else self.ratios)
        return float(np.percentile(vals, q)) if vals else float("nan")

    def drms_q(self, q: float) -> float:
        vals = self._stats(self.drms)
        return float(np.percentile(vals, q)) if vals else float("nan")

    @property
    def label_change(self) -> float:
        return float(np.mean(self.label_changes)) if self.label_changes else float("nan")


def frames_for(method: Method, clip: _clips.Clip, plan: Plan) -> tuple[list[int], str]:
    """Frame indices a method runs on, and a note when it is a subset."""
    n = len(clip)
    if method.streaming:
        return list(range(n)), ""
    if isinstance(method, SkKMeans):
        budget = plan.sk_frames
        if clip.cuts:
            idx = list(clip.cuts)
            return idx, "cut frames"
        mpx = clip.size[0] * clip.size[1] / 1e6
        budget = max(1, round(budget * min(1.0, 0.5 / mpx)))  # fewer on big frames
        step = max(1, math.ceil(n / budget))
        idx = list(range(0, n, step))[:budget]
        return idx, f"every {_nth(step)} frame" if step > 1 else ""
    budget = plan.seeds_frames if getattr(method, "attempts", 1) > 1 else plan.a1_frames
    if clip.cuts:
        return list(clip.cuts), "cut frames"
    idx = list(range(min(budget, n)))
    return idx, f"frames 0-{idx[-1]}" if len(idx) > 1 else "frame 0"


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def quality_frames(clip: _clips.Clip, stride: int) -> tuple[set[int], set[int]]:
    """(frames whose ratios feed the median/p95, all frames to score)."""
    n = len(clip)
    regular = set(range(0, n, stride))
    windows = {i for c in clip.cuts for i in range(c, min(c + CUT_WITHIN + 1, n))}
    return regular, regular | windows


class MethodRun:
    """One method's pass over one clip: timing plus the streaming metrics."""

    def __init__(
        self, method: Method, clip: _clips.Clip, plan: Plan, to_score: set[int], regular: set[int]
    ) -> None:
        self.m = method
        self.clip = clip
        self.idx, note = frames_for(method, clip, plan)
        self.row = Row(clip.name, method.name, method.space, clip.static, subset=note)
        self.row.stat_frames = set(self.idx) if not method.streaming else regular
        self.to_score = to_score
        self.meter = _metrics.FlickerMeter()
        self.keep: dict[int, np.ndarray] = {}
        self.prev: tuple[int, np.ndarray, np.ndarray] | None = None
        self.seconds = 0.0
        method.reset()
        if not method.streaming:  # untimed warm-up on a small crop
            method.segment(np.ascontiguousarray(clip.frames[self.idx[0]][:64, :64]))

    def step(self, j: int) -> None:
        """Process the method's *j*-th frame."""
        m, row, i = self.m, self.row, self.idx[j]
        frame = self.clip.frames[i]
        t0 = time.perf_counter()
        out = m.segment(frame)
        dt = time.perf_counter() - t0
        if j >= WARMUP or not m.streaming:
            row.times.append(dt)
        labels = np.array(out.labels, copy=True)
        rec = m.recolor(frame, out)
        if getattr(out.payload, "scene_cut", False):
            row.cut_frames.append(i)
        if self.prev is not None and self.prev[0] == i - 1:
            row.label_changes.append(_metrics.label_change(self.prev[1], labels))
            row.slc.add(self.clip.frames[i - 1], frame, self.prev[1], labels)
            self.meter.add(self.clip.frames[i - 1], frame, self.prev[2], rec)
        self.prev = (i, labels, rec)
        if not m.streaming or i in self.to_score:
            self.keep[i] = labels
        self.seconds += time.perf_counter() - t0

    def finish(self) -> Row:
        self.row.flicker = self.meter.ratio
        log.info(
            "  %-28s %3d frames %-20s %6.1f s",
            self.m.name,
            len(self.idx),
            self.row.subset,
            self.seconds,
        )
        return self.row


def run_clip(
    clip: _clips.Clip, methods: Sequence[Method], plan: Plan, refs: _metrics.ReferenceCache
) -> list[Row]:
    """Run every method on *clip*, then score the kept label maps.

    Streaming methods run side by side: frame by frame, each method in turn (the
    order rotates every frame), so machine-load swings hit them alike.  Subset
    methods then run one after the other.
    """
    regular, to_score = quality_frames(clip, plan.stride)
    runs = [MethodRun(m, clip, plan, to_score, regular) for m in methods]
    streaming = [r for r in runs if r.m.streaming]
    for i in range(len(clip)):
        for k in range(len(streaming)):
            streaming[(i + k) % len(streaming)].step(i)
    for r in runs:
        if not r.m.streaming:
            for j in range(len(r.idx)):
                r.step(j)
    rows = [r.finish() for r in runs]
    stored = {r.m.name: r.keep for r in runs}
    t_score = time.perf_counter()

    # Score: one colour conversion per (frame, space), reference cached per key.
    by_name = {r.method: r for r in rows}
    space_of = {m.name: m.space for m in methods}
    frames_needed = sorted({i for keep in stored.values() for i in keep})
    for i in frames_needed:
        frame = clip.frames[i]
        spaces = {
            s for name, keep in stored.items() if i in keep for s in (space_of[name], "oklab")
        }
        for space in sorted(spaces):
            x = _metrics.frame_pixels(frame, space)
            ref = refs.get((clip.name, i, space), x, seed=i)
            for name, keep in stored.items():
                if i not in keep:
                    continue
                row = by_name[name]
                own = _metrics.wcss(x, keep[i], K)
                ratio = own / ref if ref > 0.0 else (1.0 if own <= 0.0 else float("inf"))
                if space_of[name] == space:
                    row.ratios[i] = ratio
                if space == "oklab":
                    row.ok_ratios[i] = ratio
                    row.drms[i] = _metrics.drms(own, ref, len(x))
    if clip.cuts:
        for row in rows:
            got = [
                _metrics.cut_recovered(row.ratios, c, within=CUT_WITHIN, tol=CUT_TOL)
                for c in clip.cuts
            ]
            seen = [g for g in got if g is not None]
            row.cuts = (sum(seen), len(clip.cuts)) if seen else None
    log.info("  scoring %d frames %.1f s", len(frames_needed), time.perf_counter() - t_score)
    return rows


@dataclass
class Accuracy:
    method: str
    first: list[float] = field(default_factory=list)
    steady: list[float] = field(default_factory=list)
    first_internal: list[float] = field(default_factory=list)
    steady_internal: list[float] = field(default_factory=list)


def _agreement(seg: Any, res: Any, frame: np.ndarray, space: str) -> tuple[float, float]:
    """(agreement vs res.centers converted with to_space, vs the internal centres)."""
    x = _metrics.frame_pixels(frame, space)
    fast = res.labels.reshape(-1)
    exact = _metrics.nearest_center(x, _metrics.to_space(res.centers, space))
    a = float(np.mean(fast == exact))
    internal = getattr(seg, "centers_", None)
    b = float("nan")
    if internal is not None:
        b = float(np.mean(fast == _metrics.nearest_center(x, internal)))
    return a, b


def assignment_accuracy(
    clip: _clips.Clip, methods: Sequence[Method], stride: int, n_resets: int
) -> list[Accuracy]:
    out = []
    n = len(clip)
    for m in methods:
        if not isinstance(m, VidsegMethod):
            continue
        acc = Accuracy(m.name)
        for i in sorted({round(j * n / n_resets) for j in range(n_resets)}):
            m.reset()
            res = m.seg.segment(clip.frames[i])
            a, b = _agreement(m.seg, res, clip.frames[i], m.space)
            acc.first.append(a)
            acc.first_internal.append(b)
        m.reset()
        for i, frame in enumerate(clip.frames):
            res = m.seg.segment(frame)
            if i >= WARMUP and i % stride == 0:
                a, b = _agreement(m.seg, res, frame, m.space)
                acc.steady.append(a)
                acc.steady_internal.append(b)
        out.append(acc)
    return out


# -- report ---------------------------------------------------------------------------


def _f(v: float | None, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return format(v, fmt)


def format_table(rows: Sequence[Row]) -> list[str]:
    head = (
        "clip",
        "method",
        "frames",
        "ms med",
        "ms p95",
        "ratio med",
        "ratio p95",
        "oklab med",
        "dRMS med",
        "dRMS p95",
        "label chg",
        "SLC",
        "flicker",
        "cuts",
    )
    lines = []
    cw = max(len(head[0]), *(len(r.clip) for r in rows))
    mw = max(len(head[1]), *(len(r.method) + (1 if r.subset else 0) for r in rows))
    fmt = (
        f"{{:<{cw}}}  {{:<{mw}}}  {{:>6}}  {{:>7}}  {{:>7}}  {{:>9}}  {{:>9}}  {{:>9}}  "
        f"{{:>8}}  {{:>8}}  {{:>9}}  {{:>7}}  {{:>7}}  {{:>5}}"
    )
    lines.append(fmt.format(*head))
    lines.append("-" * len(lines[0]))
    last = None
    for r in rows:
        if last is not None and r.clip != last:
            lines.append("")
        last = r.clip
        lc = r.label_change
        lc_s = "-" if math.isnan(lc) else f"{100 * lc:.2f}%" + ("" if r.static else "~")
        slc = r.slc.ratio
        slc_s = "-" if math.isnan(slc) else f"{100 * slc:.2f}%" + ("" if r.static else "~")
        cuts = "-" if r.cuts is None else f"{r.cuts[0]}/{r.cuts[1]}"
        lines.append(
            fmt.format(
                r.clip,
                r.method + ("*" if r.subset else ""),
                len(r.times),
                _f(r.ms_med, ".2f" if r.ms_med < 100 else ".0f"),
                _f(r.ms_p95, ".2f" if r.ms_p95 < 100 else ".0f"),
                _f(r.ratio(50), ".3f"),
                _f(r.ratio(95), ".3f"),
                _f(r.ratio(50, True), ".3f"),
                _f(r.drms_q(50), ".3f"),
                _f(r.drms_q(95), ".3f"),
                lc_s,
                slc_s,
                _f(r.flicker, ".3f"),
                cuts,
            )
        )
    return lines


def format_accuracy(accs: Sequence[Accuracy], clip: str) -> list[str]:
    lines = [
        f"assignment accuracy ({clip}): fast label == exact nearest centre "
        "(to_space of res.centers); [vs internal centers_]"
    ]
    fmt = "{:<14}  {:>24}  {:>30}"
    lines.append(fmt.format("method", "1st frame after reset", "steady state mean (min)"))
    lines.append("-" * len(lines[-1]))
    for a in accs:
        first = (
            f"{100 * np.mean(a.first):.2f}% [{100 * np.nanmean(a.first_internal):.2f}%]"
            if a.first
            else "-"
        )
        steady = (
            f"{100 * np.mean(a.steady):.2f}% ({100 * np.min(a.steady):.2f}%) "
            f"[{100 * np.nanmean(a.steady_internal):.2f}%]"
            if a.steady
            else "-"
        )
        lines.append(fmt.format(a.method, first, steady))
    lines.append(
        f"  ({len(accs[0].first) if accs else 0} resets spread over the clip; steady "
        "state = every frame after the first 3 that is scored)"
    )
    return lines


def evaluate_targets(rows: Sequence[Row]) -> list[tuple[str, bool | None, str]]:
    """(target, met (None = not measured), detail)."""
    get = {(r.clip, r.method): r for r in rows}
    vs = [r for r in rows if r.method == "vidseg"]
    res: list[tuple[str, bool | None, str]] = []

    def speed(clip: str, limit: float) -> None:
        r = get.get((clip, "vidseg"))
        if r is None or not r.times:
            res.append((f"{clip} vidseg median <= {limit:g} ms", None, "not run"))
            return
        res.append(
            (f"{clip} vidseg median <= {limit:g} ms", r.ms_med <= limit, f"{r.ms_med:.2f} ms")
        )

    speed(DEMO_720, T_MS_720)
    speed(DEMO_1080, T_MS_1080)
    for other, factor in (
        ("naive warm start", T_VS_NAIVE),
        ("seeds (cv2.kmeans a=10)", T_VS_SEEDS),
    ):
        v, o = get.get((DEMO_720, "vidseg")), get.get((DEMO_720, other))
        name = f"{DEMO_720} vidseg >= {factor:g}x faster than {other}"
        if v is None or o is None or not v.times or not o.times:
            res.append((name, None, "not run"))
        else:
            x = o.ms_med / v.ms_med
            res.append((name, x >= factor, f"{x:.1f}x"))
    for q, limit, dlimit, label in (
        (50, T_RATIO_MED, T_DRMS_MED, "median"),
        (95, T_RATIO_P95, T_DRMS_P95, "p95"),
    ):
        vals = {r.clip: (r.ratio(q), r.drms_q(q)) for r in vs if not math.isnan(r.ratio(q))}
        name = f"vidseg quality {label}: ratio <= {limit:g} or dRMS <= {dlimit:g} (every clip)"
        if not vals:
            res.append((name, None, "not run"))
            continue
        # dRMS is scored in OkLab; a clip without it is judged on the ratio alone.
        bad = {c: v for c, v in vals.items() if v[0] > limit and not v[1] <= dlimit}
        worst = max(vals, key=lambda c: vals[c][0])
        shown = bad or {worst: vals[worst]}
        detail = ("over: " if bad else "worst ratio ") + ", ".join(
            f"{c} {v[0]:.3f} / {v[1]:.3f}" for c, v in shown.items()
        )
        res.append((name, not bad, detail))
    static = [r for r in vs if r.static]
    if static:
        slc = {r.clip: r.slc.ratio for r in static}
        res.append(
            (
                f"static clips vidseg SLC <= {100 * T_SLC:g}%",
                all(v <= T_SLC for v in slc.values()),
                ", ".join(f"{c} {100 * v:.2f}%" for c, v in slc.items()),
            )
        )
        if STRETCH_CLIP in slc:
            v = slc[STRETCH_CLIP]
            res.append(
                (
                    f"stretch: {STRETCH_CLIP} SLC <= {100 * T_SLC_STRETCH:g}%",
                    v <= T_SLC_STRETCH,
                    f"{100 * v:.2f}%",
                )
            )
    else:
        res.append(("static clips SLC", None, "not run"))
    fl = {r.clip: r.flicker for r in vs if not math.isnan(r.flicker)}
    if fl:
        res.append(
            (
                f"vidseg flicker <= {T_FLICKER:g} (every clip)",
                all(v <= T_FLICKER for v in fl.values()),
                ", ".join(f"{c} {v:.3f}" for c, v in fl.items()),
            )
        )
    else:
        res.append(("vidseg flicker", None, "not run"))
    r = get.get((CUTS, "vidseg"))
    if r is None or r.cuts is None:
        res.append((f"cuts recovered within {CUT_WITHIN} frames", None, "not run"))
    else:
        res.append(
            (
                f"cuts recovered within {CUT_WITHIN} frames (ratio <= {CUT_TOL:g})",
                r.cuts[0] == r.cuts[1],
                f"{r.cuts[0]}/{r.cuts[1]}",
            )
        )
    return res


# -- main -----------------------------------------------------------------------------


def build_methods(names: Sequence[str] | None) -> list[Method]:
    methods: list[Method] = [
        VidsegMethod(),
        VidsegMethod(fast=True),
        VidsegMethod("bgr"),
        VidsegMethod("lab"),
        CvKMeans(10, "seeds (cv2.kmeans a=10)"),
        CvKMeans(1, "cv2.kmeans a=1"),
        SkKMeans(),
        NaiveWarm(),
    ]
    if names:
        methods = [m for m in methods if any(n.lower() in m.name.lower() for n in names)]
    return methods


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small smoke run (< 3 min)")
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="frames per real / demo clip (default 150, 90 for demo; quick 16)",
    )
    p.add_argument(
        "--clips",
        nargs="+",
        default=None,
        help="only clips whose name contains one of these (e.g. vtest demo720p cuts)",
    )
    p.add_argument(
        "--methods", nargs="+", default=None, help="only methods whose name contains one of these"
    )
    p.add_argument(
        "--stride",
        type=int,
        default=None,
        help="score quality on every Nth frame (default 3, quick 4)",
    )
    p.add_argument(
        "--seeds-frames",
        type=int,
        default=None,
        help="frames for the seeds a=10 row (default 5, quick 1)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    warnings.simplefilter("ignore", category=RuntimeWarning)
    q = args.quick
    real_frames = args.frames or (16 if q else 150)
    demo_n = args.frames or (16 if q else 90)
    plan = Plan(
        stride=args.stride or (4 if q else 3),
        seeds_frames=args.seeds_frames or (1 if q else 5),
        a1_frames=3 if q else 15,
        sk_frames=1 if q else 4,
    )
    seg_len = 8 if q else 30
    specs = _clips.clip_specs(
        real_frames, demo_frames=demo_n, cut_segment_len=seg_len, cut_segments=7, names=args.clips
    )
    methods = build_methods(args.methods)
    if not specs or not methods:
        print("nothing to run (check --clips / --methods)", file=sys.stderr)
        return 2
    refs = _metrics.ReferenceCache(K, sample=20000, n_init=4)
    rows: list[Row] = []
    accs: list[Accuracy] = []
    clip_notes: list[str] = []
    t_start = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        clip = spec.load()
        log.info("%s: %d frames %dx%d", clip.name, len(clip), *clip.size)
        clip_notes.append(
            f"{clip.name}: {len(clip)} frames {clip.size[0]}x{clip.size[1]}"
            + (" static" if clip.static else "")
            + (f", cuts at {list(clip.cuts)} from {clip.source}" if clip.cuts else "")
        )
        rows.extend(run_clip(clip, methods, plan, refs))
        if clip.name == DEMO_720:
            accs = assignment_accuracy(clip, methods, plan.stride, n_resets=3 if q else 6)
        log.info("%s done in %.0f s", clip.name, time.perf_counter() - t0)
        del clip

    total = time.perf_counter() - t_start
    lines = format_table(rows)
    lines.append("")
    subset_notes = sorted({f"{r.method}: {r.subset}" for r in rows if r.subset})
    if subset_notes:
        lines.append(
            "* timed and scored on a frame subset only, per clip: " + "; ".join(subset_notes)
        )
    lines.append(
        f"frames = timed frames (streaming methods skip the first {WARMUP}); "
        f"quality scored every {_nth(plan.stride)} frame (+ cut windows) for streaming "
        "methods, every run frame for subset methods"
    )
    lines.append(
        "ratio = WCSS / WCSS of KMeans(8, n_init=4) fitted on 20k sampled pixels, in "
        "the method's space (vidseg: its color_space, cv2: bgr, sklearn/naive: oklab);"
        " oklab = same in OkLab"
    )
    lines.append(
        "dRMS = sqrt(WCSS/N) - sqrt(WCSS_ref/N) in OkLab x 100; label chg: mean fraction of "
        "pixels relabelled per frame; SLC: label flips on still pixels (5x5 box mean of "
        "|dB|+|dG|+|dR| <= 12) / still pixels (~ = moving camera, not meaningful); "
        "flicker: mean |dOut| / mean |dIn| over consecutive frames"
    )
    vc = [r for r in rows if r.clip == CUTS and r.method == "vidseg"]
    if vc:
        lines.append(f"vidseg scene_cut flags on the cuts clip at frames {vc[0].cut_frames}")
    lines.extend("clip " + n for n in clip_notes)
    lines.append(
        f"to_space: {_metrics.to_space_source()}; {platform.machine()} "
        f"{os.cpu_count()} cores, cv2 threads {cv2.getNumThreads()}, "
        f"numpy {np.__version__}, opencv {cv2.__version__}; "
        f"{len(refs)} reference fits; wall {total:.0f} s"
    )
    if accs:
        lines.append("")
        lines.extend(format_accuracy(accs, DEMO_720))
    lines.append("")
    targets = evaluate_targets(rows)
    for name, ok, detail in targets:
        mark = "n/a   " if ok is None else ("met   " if ok else "MISSED")
        lines.append(f"  [{mark}] {name}: {detail}")
    met = sum(1 for _, ok, _ in targets if ok)
    missed = [name for name, ok, _ in targets if ok is False]
    na = sum(1 for _, ok, _ in targets if ok is None)
    lines.append(
        f"TARGETS: {met} met, {len(missed)} missed, {na} not measured"
        + (f" (missed: {'; '.join(missed)})" if missed else "")
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
