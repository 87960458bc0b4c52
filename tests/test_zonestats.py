"""Zone statistics equal a direct recount of the label maps; masks leave the fit and the counts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import TRAFFIC, media
from vidseg import Segmenter
from vidseg.analysis.config import parse_analysis
from vidseg.analysis.maps import MapAccumulator
from vidseg.analysis.zonestats import ZoneLayout, ZoneStats

ZONES = {
    "zones": [
        {
            "name": "door",
            "units": "relative",
            "points": [[0.1, 0.2], [0.4, 0.2], [0.4, 0.6], [0.1, 0.6]],
        },
        # overlaps door and reaches under the mask
        {"name": "lane-2", "units": "pixels", "points": [[50, 5], [600, 60], [300, 350]]},
        {"name": "whole", "units": "relative", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]},
    ],
    "masks": [
        {"units": "pixels", "points": [[0, 0], [200, 0], [200, 30], [0, 30]]},
        {"units": "relative", "points": [[0.8, 0.7], [1, 0.7], [1, 1], [0.8, 1]]},
    ],
}


def real_frames(n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(media(TRAFFIC)))
    out = []
    try:
        while len(out) < n:
            ok, image = cap.read()
            assert ok
            out.append(image)
    finally:
        cap.release()
    return out


def recount(labels: np.ndarray, where: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and bounding boxes per cluster by plain numpy."""
    pixels = np.bincount(labels[where], minlength=k)
    boxes = np.full((k, 4), -1)
    for j in range(k):
        ys, xs = np.nonzero(where & (labels == j))
        if len(xs):
            boxes[j] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return pixels, boxes


@pytest.fixture(scope="module")
def segmented() -> tuple[ZoneLayout, list[np.ndarray], Segmenter]:
    images = real_frames(12)
    h, w = images[0].shape[:2]
    layout = ZoneLayout.build(parse_analysis(ZONES), w, h)
    seg = Segmenter(n_clusters=6, seed=0)
    seg.set_mask(layout.ignore)
    return layout, [seg.segment(im).labels for im in images], seg


def test_zone_statistics_equal_a_direct_recount(segmented) -> None:
    layout, label_maps, _ = segmented
    assert layout.ignore is not None
    keep = ~layout.ignore
    for labels in label_maps[::4]:
        zones = layout.measure(labels, 6)
        assert list(zones) == ["frame", "door", "lane-2", "whole"]
        for name, z in zones.items():
            where = keep if name == "frame" else layout.zone_masks[name] & keep
            pixels, boxes = recount(labels, where, 6)
            np.testing.assert_array_equal(z.pixels, pixels)
            np.testing.assert_array_equal(z.bbox, boxes)
            assert z.area == where.sum()
            np.testing.assert_allclose(z.share.sum(), 1.0)
            ys, xs = np.nonzero(where & (labels == 0))
            np.testing.assert_allclose(
                z.centroids[0], [xs.mean() / (layout.width - 1), ys.mean() / (layout.height - 1)]
            )
        # a zone over the whole frame is the frame
        np.testing.assert_array_equal(zones["whole"].pixels, zones["frame"].pixels)


def test_masked_pixels_are_left_out_of_the_fit_sample(segmented) -> None:
    layout, _, seg = segmented
    sample = seg._sample_idx
    assert not layout.ignore.reshape(-1)[sample].any()
    assert len(sample) == seg.get_params()["sample_size"]


def test_a_masked_overlay_gets_no_cluster_of_its_own() -> None:
    images = [im.copy() for im in real_frames(4)]
    for im in images:
        im[:30, :200] = (255, 0, 255)  # a bright magenta "timestamp" nowhere else in the scene
    h, w = images[0].shape[:2]
    layout = ZoneLayout.build(parse_analysis({"masks": ZONES["masks"][:1]}), w, h)
    plain, masked = Segmenter(n_clusters=6, seed=0), Segmenter(n_clusters=6, seed=0)
    masked.set_mask(layout.ignore)
    for im in images:
        a, b = plain.segment(im), masked.segment(im)
    magenta = np.array([255, 0, 255], np.float32)

    def nearest(centres: np.ndarray) -> float:
        return float(np.abs(centres - magenta).sum(axis=1).min())

    assert nearest(a.centers) < 60  # unmasked, the overlay takes a cluster
    assert nearest(b.centers) > 200
    zones = layout.measure(b.labels, 6)
    assert zones["frame"].area == w * h - 200 * 30


def test_empty_zone_and_absent_clusters() -> None:
    layout = ZoneLayout.build(
        parse_analysis(
            {
                "zones": [{"name": "z", "units": "pixels", "points": [[0, 0], [4, 0], [4, 2]]}],
                "masks": [{"units": "pixels", "points": [[0, 0], [5, 0], [5, 3], [0, 3]]}],
            }
        ),
        8,
        4,
    )
    zones = layout.measure(np.zeros((4, 8), np.uint8), 3)
    z = zones["z"]
    assert isinstance(z, ZoneStats) and z.area == 0
    np.testing.assert_array_equal(z.share, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(z.bbox, -np.ones((3, 4)))
    assert zones["frame"].pixels.tolist() == [32 - 15, 0, 0]
    assert zones["frame"].bbox[0].tolist() == [0, 0, 8, 4]


def test_maps_count_owners_and_changes_and_grow_with_k(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    h, w = 40, 60
    ignore = np.zeros((h, w), bool)
    ignore[:5, :5] = True
    acc = MapAccumulator(w, h, ignore)
    assert acc.stride == 1
    image = np.zeros((h, w, 3), np.uint8)
    maps = [rng.integers(0, 3, (h, w), dtype=np.uint8) for _ in range(8)]
    maps.append(np.full((h, w), 4, np.uint8))  # k grows to 5 on the last frame (counted)
    for i, labels in enumerate(maps):
        acc.update(labels, image, np.full((3 if i < 8 else 5, 3), i, np.uint8))
    acc.update(maps[0], image, np.full((3, 3), 9, np.uint8))  # k shrinks back to 3
    maps.append(maps[0])
    out = acc.arrays()
    stack = np.stack(maps)
    changes = (stack[1:] != stack[:-1]).sum(axis=0) / (len(maps) - 1)
    np.testing.assert_allclose(out["activity"][~ignore], changes[~ignore])
    owners = stack[::4]  # ownership is counted every 4th frame
    counts = np.stack([(owners == j).sum(axis=0) for j in range(5)], axis=2)
    owner = counts.argmax(axis=2)
    np.testing.assert_array_equal(out["ownership"], owner)
    np.testing.assert_array_equal(out["ignored"], ignore)
    assert (out["activity"][ignore] == 0).all()
    path = tmp_path / "s.maps.npz"
    acc.save(path, {"door": np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])})
    with np.load(path) as data:
        assert data["ownership"].shape == (h, w) and data["ownership"].dtype == np.uint8
        assert data["activity"].dtype == np.float32
        assert data["background"].shape == (h, w, 3)
        # a colour for every id ever used: the last one it had
        assert data["palette_bgr"][:, 0].tolist() == [9, 9, 9, 8, 8]
        assert '"name": "door"' in str(data["zones_json"])


def test_the_measure_step_follows_a_change_of_k(segmented) -> None:
    from vidseg.analysis.measure import ZoneMeasure
    from vidseg.frames import Frame, FrameResult
    from vidseg.stats import ClusterStats

    layout, _, _ = segmented
    measure = ZoneMeasure(parse_analysis(ZONES), layout, keep_maps=True)
    seg = Segmenter(n_clusters=4, seed=0)
    seg.set_mask(layout.ignore)
    for i, image in enumerate(real_frames(3)):
        if i == 2:
            seg.set_n_clusters(6)  # as the live controls do between two frames
        s = seg.segment(image)
        stats = ClusterStats.from_segmentation(s, frame_index=i, time_s=i / 24)
        result = FrameResult(
            frame=Frame(image=image, index=i, time_s=i / 24), segmentation=s, stats=stats
        )
        measure(result)
        zones = result.extras["zones"]
        assert all(len(z.pixels) == s.n_clusters for z in zones.values())
        # with masks, the frame-level statistics are those of the unmasked frame
        np.testing.assert_array_equal(result.stats.pixels, zones["frame"].pixels)
        np.testing.assert_allclose(result.stats.area_share.sum(), 1.0)
    means = measure.mean_shares()
    assert len(means["door"]) == 6
    np.testing.assert_allclose(means["frame"].sum(), 1.0)
    assert measure.maps is not None and len(measure.maps.palette_bgr) == 6
    assert "door" in measure.table()
