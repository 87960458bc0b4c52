"""The analysis section: zones and masks are validated once, every error names key and fix."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg import Config, ConfigError, load_config
from vidseg.analysis.config import AnalysisConfig, parse_analysis
from vidseg.analysis.geometry import rasterise, to_pixels
from vidseg.analysis.polygons import polygon_problem
from vidseg.analysis.zonestats import ZoneLayout

SQUARE = [[0.1, 0.2], [0.4, 0.2], [0.4, 0.6], [0.1, 0.6]]


def zone(**over: object) -> dict[str, object]:
    return {"name": "door", "units": "relative", "points": SQUARE, **over}


def test_the_issue_example_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "analysis:\n"
        "  zones:\n"
        "    - name: door\n"
        "      units: relative\n"
        "      points: [[0.10, 0.20], [0.40, 0.20], [0.40, 0.60], [0.10, 0.60]]\n"
        "  masks:\n"
        "    - units: pixels\n"
        "      points: [[0, 0], [200, 0], [200, 30], [0, 30]]\n"
        "engine:\n"
        "  n_clusters: 5\n"
    )
    loaded = load_config(cfg)
    assert loaded.engine.n_clusters == 5
    (z,) = loaded.analysis.zones
    assert (z.name, z.units, z.points[2]) == ("door", "relative", (0.4, 0.6))
    assert loaded.analysis.masks[0].points[1] == (200.0, 0.0)
    # CLI overrides keep the analysis section
    assert loaded.with_overrides({"n_clusters": 3}).analysis == loaded.analysis
    assert Config().analysis == AnalysisConfig()


@pytest.mark.parametrize(
    "raw,message",
    [
        (
            {"zones": [zone(units=None)]},
            "analysis.zones[0] (door).units None is unknown; add units",
        ),
        (
            {"zones": [{"name": "door", "points": SQUARE}]},
            "analysis.zones[0] (door).units is missing; add units: relative (0..1 of "
            "width/height) or units: pixels",
        ),
        ({"zones": [zone(units="percent")]}, "units 'percent' is unknown; add units: relative"),
        (
            {"zones": [zone(points=[[0, 0], [1, 1]])]},
            "analysis.zones[0] (door).points has 2 points; a polygon needs at least 3",
        ),
        (
            {"zones": [zone(points=[[0, 0], [1, 1], [1, 0], [0, 1]])]},
            "analysis.zones[0] (door).points edges 1 and 3 cross (self-intersecting); list the "
            "points in order around the outline",
        ),
        (
            {"zones": [zone(points=[[0, 0], [0.5, 0.5], [1, 1]])]},
            "encloses no area (the points lie on one line)",
        ),
        ({"zones": [zone(points=[[0, 0], [1.2, 0], [1, 1]])]}, "points[1] [1.2, 0] is outside"),
        ({"zones": [zone(points=[[0, 0], ["a", 0], [1, 1]])]}, "points[1] must be an [x, y] pair"),
        ({"zones": [zone(name="front door")]}, "use letters, digits, - and _ only"),
        ({"zones": [zone(name="frame")]}, "'frame' is reserved"),
        ({"zones": [zone(), zone()]}, "analysis.zones[1].name 'door' is used twice"),
        ({"zones": [zone(colour="red")]}, "unknown config key 'analysis.zones[0].colour'"),
        ({"zones": {"name": "door"}}, "analysis.zones must be a list"),
        ({"masks": [{"points": SQUARE}]}, "analysis.masks[0].units is missing; add units"),
        ({"masks": [{"png": "nothere.png"}]}, "analysis.masks[0].png"),
        (
            {"masks": [{"units": "pixels", "points": [[-1, 0], [5, 0], [5, 5]]}]},
            "pixel coordinates start at 0",
        ),
    ],
)
def test_bad_zones_and_masks_name_the_key_and_the_fix(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_analysis(raw)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_frame_size_checks_name_the_point_and_the_frame(tmp_path: Path) -> None:
    cfg = parse_analysis(
        {"zones": [zone(units="pixels", points=[[0, 0], [700, 0], [700, 100], [0, 100]])]}
    )
    ZoneLayout.build(cfg, 700, 100)  # on the edge is inside
    with pytest.raises(
        ConfigError,
        match=r"analysis.zones\[0\] \(door\).points\[1\] \[700, 0\] "
        r"is outside the 640x360 frame; keep pixel points within 0..640 x 0..360",
    ):
        ZoneLayout.build(cfg, 640, 360)
    png = tmp_path / "m.png"
    cv2.imwrite(str(png), np.zeros((10, 20), np.uint8))
    masked = parse_analysis({"masks": [{"png": "m.png"}]}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="is 20x10 but the frame is 640x360; give a mask image"):
        ZoneLayout.build(masked, 640, 360)


def test_png_masks_white_is_ignored(tmp_path: Path) -> None:
    image = np.zeros((6, 8), np.uint8)
    image[:, :3] = 255
    cv2.imwrite(str(tmp_path / "m.png"), image)
    (tmp_path / "c.yaml").write_text("analysis:\n  masks:\n    - png: m.png\n")
    layout = ZoneLayout.build(load_config(tmp_path / "c.yaml").analysis, 8, 6)
    assert layout.ignore is not None
    np.testing.assert_array_equal(layout.ignore, image == 255)


def test_rasterised_zones_tile_without_overlap_and_cover_the_frame() -> None:
    w, h = 37, 23
    left = ((0, 0), (0.37, 0), (0.61, 1), (0, 1))
    right = ((0.37, 0), (1, 0), (1, 1), (0.61, 1))
    a = rasterise(to_pixels(left, "relative", w, h), w, h)
    b = rasterise(to_pixels(right, "relative", w, h), w, h)
    np.testing.assert_array_equal(a.astype(int) + b.astype(int), np.ones((h, w), int))
    rect = rasterise(to_pixels(((0, 0), (200, 0), (200, 30), (0, 30)), "pixels", w, h), 300, 50)
    assert rect.sum() == 200 * 30 and rect[:30, :200].all()
    # pixel centres decide: a concave polygon, compared with a direct centre test
    poly = np.array([[2.0, 1.0], [30.5, 4.0], [12.0, 9.5], [33.0, 20.0], [4.0, 18.0]])
    got = rasterise(poly, w, h)
    path = cv2.pointPolygonTest
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    expect = np.array(
        [[path(contour, (x + 0.5, y + 0.5), False) > 0 for x in range(w)] for y in range(h)]
    )
    assert (got != expect).sum() <= 2  # centres exactly on an edge may go either way
    assert polygon_problem([tuple(p) for p in poly]) is None
