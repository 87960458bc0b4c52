"""Checks of a polygon's shape, independent of its units (pure Python, no numpy).

Used when the configuration is loaded, so ``vidseg config`` and ``--help`` need
no array library.

>>> polygon_problem(((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))) is None
True
>>> polygon_problem(((0, 0), (1, 1), (1, 0), (0, 1)))
'edges 1 and 3 cross (self-intersecting); list the points in order around the outline'
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["UNITS", "polygon_problem"]

UNITS = ("relative", "pixels")

Point = tuple[float, float]


def polygon_problem(points: Sequence[Point]) -> str | None:
    """What is wrong with a polygon (one phrase with the fix), or ``None`` if it is fine.

    Checks: at least 3 points, no two edges crossing or touching (other than
    neighbours at their shared vertex), non-zero area.
    """
    n = len(points)
    if n < 3:
        return f"has {n} point{'s' if n != 1 else ''}; a polygon needs at least 3"
    p = [(float(x), float(y)) for x, y in points]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbours share a vertex
            if _segments_meet(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n]):
                return (
                    f"edges {i + 1} and {j + 1} cross (self-intersecting); "
                    "list the points in order around the outline"
                )
    twice_area = sum(p[i][0] * p[i - 1][1] - p[i - 1][0] * p[i][1] for i in range(n))
    if abs(twice_area) <= 2e-12:
        return "encloses no area (the points lie on one line); give the corners of a region"
    return None


def _orient(p: Point, q: Point, r: Point) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _on(p: Point, q: Point, r: Point) -> bool:
    """``r`` lies within the bounding box of segment pq (r collinear with it)."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether closed segments ab and cd share a point."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return (
        (o1 == 0 and _on(a, b, c))
        or (o2 == 0 and _on(a, b, d))
        or (o3 == 0 and _on(c, d, a))
        or (o4 == 0 and _on(c, d, b))
    )
