"""Compiled per-frame kernels (numba, cached on disk so a CLI start does not recompile).

The full-frame pass quantises each pixel's colour, looks its label up in a
lazily-filled table, applies hysteresis against the previous label, and counts
pixels per cluster.  It runs as two loops: a lean one for the common pixel (its
cell is filled and hysteresis cannot apply), which queues the rest for a second
loop that fills cells and checks hysteresis.  Kept in one loop, the rare path's
registers and loads slowed every pixel: 3.9 ms against 2.0 ms at 720p.  Both
loops work on a range of pixels, so a frame can be labelled in row bands on
several threads at once (:func:`assign_band`), with the same result.

Quantisation adapts to the frame: each channel's sampled range is split into
``2**bits`` levels, so a low-contrast scene is quantised finely (exactly, when a
channel spans at most ``2**bits`` values) and a high-contrast one at about
``256 / 2**bits`` values per level.  A cell's colour in the clustering space is
computed when the cell is first met in a frame, from three per-channel tables and
the space's non-linear finish.

Temporal stability comes from hysteresis on still pixels: a table entry packs
the nearest centre (low byte) and the runner-up (high byte) when the cell lies
within the margin of the plane bisecting the two centres, else 255.  A pixel
whose previous label is that runner-up and whose colour changed by at most
``still`` keeps it, so sensor and compression noise near a decision boundary
does not flip labels, while moving content is labelled afresh.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "NO_LABEL",
    "UNSET",
    "add_counts",
    "assign_band",
    "assign_frame",
    "centroids",
    "paint",
    "paint_i420",
]

UNSET = np.uint16(0xFFFF)
NO_LABEL = 255


@numba.njit(cache=True, nogil=True, inline="always")
def _lab_f(t):  # pragma: no cover
    return np.cbrt(t) if t > 0.008856 else 7.787 * t + 16.0 / 116.0


@numba.njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _fill_cell(q, lb, lg, lr, cell, lut):  # pragma: no cover
    tables, mode, finish, centers, inv_sep, margin = cell
    # Linear stage: one row per channel; then the space's non-linear finish.
    u0 = tables[0, lb, 0] + tables[1, lg, 0] + tables[2, lr, 0]
    u1 = tables[0, lb, 1] + tables[1, lg, 1] + tables[2, lr, 1]
    u2 = tables[0, lb, 2] + tables[1, lg, 2] + tables[2, lr, 2]
    if mode == 1:  # OkLab x100
        l_ = np.cbrt(u0)
        m_ = np.cbrt(u1)
        s_ = np.cbrt(u2)
        c0 = finish[0, 0] * l_ + finish[0, 1] * m_ + finish[0, 2] * s_
        c1 = finish[1, 0] * l_ + finish[1, 1] * m_ + finish[1, 2] * s_
        c2 = finish[2, 0] * l_ + finish[2, 1] * m_ + finish[2, 2] * s_
    elif mode == 2:  # CIELAB as OpenCV computes it
        fx = _lab_f(u0)
        fy = _lab_f(u1)
        fz = _lab_f(u2)
        c0 = 116.0 * fy - 16.0 if u1 > 0.008856 else 903.3 * u1
        c1 = 500.0 * (fx - fy)
        c2 = 200.0 * (fy - fz)
    else:
        c0 = u0
        c1 = u1
        c2 = u2
    k = centers.shape[0]
    best = 0
    best_d2 = np.inf
    for j in range(k):
        d0 = c0 - centers[j, 0]
        d1 = c1 - centers[j, 1]
        d2 = c2 - centers[j, 2]
        d = d0 * d0 + d1 * d1 + d2 * d2
        if d < best_d2:
            best_d2 = d
            best = j
    # Runner-up by distance to the plane bisecting it and the best centre:
    # (d_j^2 - d_best^2) / (2 |c_j - c_best|), how far noise must move the colour.
    alt = NO_LABEL
    alt_s = margin
    for j in range(k):
        if j != best:
            d0 = c0 - centers[j, 0]
            d1 = c1 - centers[j, 1]
            d2 = c2 - centers[j, 2]
            s = (d0 * d0 + d1 * d1 + d2 * d2 - best_d2) * inv_sep[best, j]
            if s <= alt_s:
                alt_s = s
                alt = j
    entry = np.uint16(best | (alt << 8))
    lut[q] = entry
    return entry


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _fast_pass(
    img, quant_b, quant_g, quant_r, lut, prev, use_prev, lab, partial, slow_pixels, start, stop
):  # pragma: no cover
    # The common case, kept lean: a filled cell and no hysteresis question.  A
    # pixel whose cell is empty, or whose previous label is its cell's runner-up,
    # is queued for the slow pass instead (in ``slow_pixels[start:]``).  Returns
    # how many were queued.
    n_slow = 0
    for i in range(start, stop):
        j = 3 * i
        entry = lut[quant_b[img[j]] | quant_g[img[j + 1]] | quant_r[img[j + 2]]]
        slow = entry == 0xFFFF
        if use_prev:
            slow = slow or prev[i] == (entry >> 8)
        if slow:
            slow_pixels[start + n_slow] = i
            n_slow += 1
        else:
            lbl = entry & 0xFF
            lab[i] = lbl
            partial[(i & 3) * 256 + lbl] += 1
    return n_slow


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _slow_pass(
    start,
    n,
    all_pixels,
    scratch,
    img,
    old,
    prev,
    use_prev,
    still,
    quant,
    bits,
    cell,
    lut,
    lab,
    partial,
):  # pragma: no cover
    # The full per-pixel path, kept out of the common pass so that stays lean: fill
    # the pixel's table cell if it is new, then apply hysteresis.  Pixels are
    # ``start .. start + n - 1`` when ``all_pixels``, else ``scratch[start:start + n]``.
    quant_b, quant_g, quant_r = quant
    mask = (np.uint32(1) << bits) - np.uint32(1)
    for s in range(start, start + n):
        i = np.uint64(s) if all_pixels else np.uint64(scratch[s])
        j = np.uint64(3) * i
        b = img[j]
        g = img[j + np.uint64(1)]
        r = img[j + np.uint64(2)]
        q = quant_b[b] | quant_g[g] | quant_r[r]
        entry = lut[q]
        if entry == UNSET:
            entry = _fill_cell(
                q,
                q >> (bits + bits),
                (q >> bits) & mask,
                q & mask,
                cell,
                lut,
            )
        lbl = entry & np.uint16(0xFF)
        # Hysteresis only where it can apply: the previous label is the runner-up
        # and the colour barely changed (noise, not motion).
        if use_prev:
            pl = prev[i]
            if pl == (entry >> np.uint16(8)):
                moved = (
                    abs(np.int32(b) - np.int32(old[j]))
                    + abs(np.int32(g) - np.int32(old[j + np.uint64(1)]))
                    + abs(np.int32(r) - np.int32(old[j + np.uint64(2)]))
                )
                if moved <= still:
                    lbl = pl
        lab[i] = lbl
        partial[(i & np.uint64(3)) * np.uint64(256) + np.uint64(lbl)] += 1


@numba.njit(cache=True, nogil=True, boundscheck=False)
def assign_frame(
    image,
    quant_b,
    quant_g,
    quant_r,
    tables,
    mode,
    finish,
    centers,
    inv_sep,
    margin,
    lut,
    reset,
    prev_image,
    prev_labels,
    use_prev,
    still,
    labels,
    counts,
    scratch,
):  # pragma: no cover
    """Label every pixel of ``image`` and count cluster areas.

    Parameters
    ----------
    image : (H, W, 3) uint8, BGR, C-contiguous
    quant_b, quant_g, quant_r : (256,) uint32
        Table-cell index contribution of each channel value, pre-shifted so a
        cell index is ``quant_b[b] | quant_g[g] | quant_r[r]`` (level of B in the
        high bits, then G, then R, ``bits`` each).
    tables : (3, 2**bits, 3) float32
        Per-channel linear contributions of each level's colour
        (:func:`vidseg.engine.colorspace.channel_tables`).
    mode : int
        Non-linear finish: 0 identity (BGR), 1 OkLab, 2 CIELAB.
    finish : (3, 3) float32
        Matrix of the OkLab finish.
    centers : (k, 3) float32
        Cluster centres in the clustering space (k <= 254).
    inv_sep : (k, k) float32
        ``1 / (2 |c_i - c_j|)`` (0 on the diagonal and for coincident centres).
    margin : float32
        Hysteresis margin in clustering-space units.
    lut : (2**(3*bits),) uint16
        The colour table; cells are filled on first use.
    reset : bool
        Empty the table first (new quantiser or centres moved too far).
    prev_image : (H, W, 3) uint8
        The previous frame (read only when ``use_prev``).
    prev_labels : (H, W) uint8
        Labels of the previous frame (read only when ``use_prev``).
    use_prev : bool
        Apply hysteresis.
    still : int
        A pixel counts as still (hysteresis applies) when the sum of its absolute
        channel differences to the previous frame is at most this.
    labels : (H, W) uint8
        Output labels.
    counts : (k,) int64
        Output pixel counts per cluster.
    scratch : (H * W,) int32
        Work space: positions of the pixels queued for the slow loop.
    """
    if reset:
        lut[:] = UNSET
    # Four interleaved histograms break the store-to-load chain of a single one.
    partial = np.zeros(4 * 256, np.int64)
    assign_band(
        image,
        quant_b,
        quant_g,
        quant_r,
        tables,
        mode,
        finish,
        centers,
        inv_sep,
        margin,
        lut,
        reset,
        prev_image,
        prev_labels,
        use_prev,
        still,
        labels,
        partial,
        scratch,
        0,
        labels.size,
    )
    add_counts(partial, counts)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def add_counts(partial, counts):  # pragma: no cover
    """Fold a band's four interleaved (4 * 256,) histograms into ``counts`` ((k,) int64)."""
    for c in range(counts.shape[0]):
        counts[c] = partial[c] + partial[256 + c] + partial[512 + c] + partial[768 + c]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def assign_band(
    image,
    quant_b,
    quant_g,
    quant_r,
    tables,
    mode,
    finish,
    centers,
    inv_sep,
    margin,
    lut,
    fresh,
    prev_image,
    prev_labels,
    use_prev,
    still,
    labels,
    partial,
    scratch,
    start,
    stop,
):  # pragma: no cover
    """Label the pixels ``start .. stop - 1`` (row-major) of ``image``: one band.

    The arguments are :func:`assign_frame`'s, except: ``fresh`` says the table
    was just emptied (every pixel takes the slow path; the caller empties it,
    once, before any band runs); ``partial`` ((4 * 256,) int64, zeroed) receives
    this band's counts (:func:`add_counts`); only ``scratch[start:stop]`` is used.

    Bands of one frame may run at the same time in different threads (the
    kernel holds no GIL) and give the labels one call over the whole frame
    gives: each writes only its own labels, partial counts and scratch, and
    reads the previous frame; the one shared write, a table cell, always
    stores the same value for the same cell (a pure function of the cell and
    the centres), and a cell only ever goes from empty to that value, so
    whichever band fills it first, and whatever another band reads meanwhile
    (empty: it fills the cell itself; filled: the same entry), every pixel gets
    the same label.  Aligned 16-bit stores are atomic on the CPUs numba targets.
    """
    img = image.reshape(-1)
    old = prev_image.reshape(-1)
    lab = labels.reshape(-1)
    prev = prev_labels.reshape(-1)
    bits = np.uint32(np.log2(tables.shape[1]) + 0.5)
    n_slow = (
        0
        if fresh
        else _fast_pass(
            img, quant_b, quant_g, quant_r, lut, prev, use_prev, lab, partial, scratch, start, stop
        )
    )
    # After a reset every cell is new: all pixels take the slow path.
    _slow_pass(
        start,
        stop - start if fresh else n_slow,
        fresh,
        scratch,
        img,
        old,
        prev,
        use_prev,
        still,
        (quant_b, quant_g, quant_r),
        bits,
        (tables, mode, finish, centers, inv_sep, margin),
        lut,
        lab,
        partial,
    )


@numba.njit(cache=True, nogil=True, boundscheck=False)
def centroids(labels, k, stride):  # pragma: no cover
    """Mean (x, y) per label over a ``stride``-spaced grid, as fractions of width/height.

    Returns (k, 2) float64; NaN where a label has no grid pixel.
    """
    h, w = labels.shape
    n = np.zeros(k, np.int64)
    sx = np.zeros(k, np.int64)
    sy = np.zeros(k, np.int64)
    off = stride // 2
    for y in range(min(off, h - 1), h, stride):
        row = labels[y]
        for x in range(min(off, w - 1), w, stride):
            lbl = row[x]
            n[lbl] += 1
            sx[lbl] += x
            sy[lbl] += y
    out = np.empty((k, 2), np.float64)
    for j in range(k):
        if n[j] == 0:
            out[j, 0] = np.nan
            out[j, 1] = np.nan
        else:
            out[j, 0] = sx[j] / n[j] / max(w - 1, 1)
            out[j, 1] = sy[j] / n[j] / max(h - 1, 1)
    return out


@numba.njit(cache=True, nogil=True, boundscheck=False)
def paint(labels, palette, out):  # pragma: no cover
    """Write ``palette[labels]`` into ``out`` ((H, W, 3) uint8) without temporaries."""
    h, w = labels.shape
    for y in range(h):
        lab = labels[y]
        row = out[y]
        for x in range(w):
            c = lab[x]
            row[x, 0] = palette[c, 0]
            row[x, 1] = palette[c, 1]
            row[x, 2] = palette[c, 2]


@numba.njit(cache=True, nogil=True, boundscheck=False)
def paint_i420(labels, yuv, out):  # pragma: no cover
    """Paint ``labels`` as planar YUV 4:2:0 into ``out`` ((3H/2, W) uint8, H and W even).

    ``yuv`` is (k, 3) uint8 (Y, U, V) per label, k <= 64; chroma is the rounded
    mean of the four labels of each 2x2 block, as a BGR -> I420 conversion would
    give.
    """
    h, w = labels.shape
    k = yuv.shape[0]
    # Tables over label pairs (index a * 64 + b): one load gives both luma bytes of
    # a horizontal pair (stored as one little-endian uint16) and its chroma sums,
    # twice as fast as a lookup per pixel.
    luma2 = np.zeros(64 * 64, np.uint16)
    u2 = np.zeros(64 * 64, np.int32)
    v2 = np.zeros(64 * 64, np.int32)
    for a in range(k):
        for b in range(k):
            i = a * 64 + b
            luma2[i] = np.uint16(yuv[a, 0]) | (np.uint16(yuv[b, 0]) << np.uint16(8))
            u2[i] = np.int32(yuv[a, 1]) + np.int32(yuv[b, 1])
            v2[i] = np.int32(yuv[a, 2]) + np.int32(yuv[b, 2])
    half = w // 2
    luma = out[:h].reshape(-1).view(np.uint16)
    u_plane = out[h : h + h // 4].reshape(-1)
    v_plane = out[h + h // 4 :].reshape(-1)
    for y in range(0, h, 2):
        top = labels[y]
        bottom = labels[y + 1]
        row0 = y * half
        crow = (y // 2) * half
        for x in range(half):
            p = np.int64(top[2 * x]) * 64 + top[2 * x + 1]
            q = np.int64(bottom[2 * x]) * 64 + bottom[2 * x + 1]
            luma[row0 + x] = luma2[p]
            luma[row0 + half + x] = luma2[q]
            u_plane[crow + x] = (u2[p] + u2[q] + 2) >> 2
            v_plane[crow + x] = (v2[p] + v2[q] + 2) >> 2
