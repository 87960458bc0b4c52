"""EventSink: the events file's lines, snapshots, open events at the end; real clips.

The acceptance tests run real clips through the real pipeline.  The times
where things happen were read off the clips' frames (contact sheets every
2 s, then a background-difference count per zone; see docs/notes/events.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.events_media import PARKING, PEDESTRIANS, TRAFFIC, clip, overlaps, run_rules
from vidseg.analysis.events import EventSink
from vidseg.analysis.rules_config import EventsSettings, parse_rules
from vidseg.analysis.zonestats import ZoneStats
from vidseg.engine.segmentation import Segmentation
from vidseg.errors import ClosedError, SinkError
from vidseg.frames import Frame, FrameResult, StreamInfo
from vidseg.stats import ClusterStats

W, H = 40, 30
PALETTE = np.array([[40, 40, 40], [30, 30, 200]], np.uint8)  # dark grey, red (BGR)
START_KEYS = {"type", "id", "rule", "zone", "clusters", "colors", "start", "baseline", "metric"}
END_KEYS = START_KEYS | {"peak", "end", "snapshot", "reason"}


def _result(i: int, red_share: float, fps: float = 10.0) -> FrameResult:
    """Frame ``i``: the zone ``door`` (left half) has ``red_share`` of it red."""
    labels = np.zeros((H, W), np.uint8)
    rows = round(red_share * H)
    labels[:rows, : W // 2] = 1
    image = PALETTE[labels]
    door = np.bincount(labels[:, : W // 2].ravel(), minlength=2).astype(np.int64)
    whole = np.bincount(labels.ravel(), minlength=2).astype(np.int64)
    box = np.full((2, 4), -1, np.int32)
    zones = {
        "frame": ZoneStats("frame", W * H, whole, box, np.full((2, 2), np.nan)),
        "door": ZoneStats("door", W * H // 2, door, box, np.full((2, 2), np.nan)),
    }
    stats = ClusterStats(
        frame=i,
        time_s=i / fps,
        width=W,
        height=H,
        pixels=whole,
        area_share=whole / whole.sum(),
        colors_bgr=PALETTE,
        centroids=np.full((2, 2), np.nan),
        scene_cut=i == 0,
        inertia=0.0,
    )
    frame = Frame(image=image, index=i, time_s=i / fps)
    seg = Segmentation(
        labels=labels,
        centers=PALETTE.astype(np.float32),
        areas=stats.area_share,
        counts=whole,
        centroids=stats.centroids,
        scene_cut=i == 0,
        inertia=0.0,
        frame_index=i,
        color_space="bgr",
    )
    result = FrameResult(frame=frame, segmentation=seg, stats=stats)
    result.extras["zones"] = zones
    return result


def _sink(tmp_path: Path, **kw: object) -> EventSink:
    rules = parse_rules(
        [
            {
                "name": "door-red",
                "zone": "door",
                "clusters": "#c03020",
                "metric": "share_of_zone",
                "trigger": "above",
                "enter": 0.5,
                "exit": 0.2,
                "min_duration_s": 0.2,
                "cooldown_s": 0,
            }
        ],
        zone_names={"door"},
        source="test",
    )
    outline = np.array([[0, 0], [W // 2, 0], [W // 2, H], [0, H]], np.float64)
    return EventSink(
        tmp_path / "events.ndjson", rules, EventsSettings(), outlines={"door": outline}, **kw
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_start_line_is_in_the_file_at_once_and_end_line_has_the_agreed_keys(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vidseg.analysis")
    sink = _sink(tmp_path)
    sink.open(StreamInfo(width=W, height=H, fps=10))
    shares = [0.0] * 5 + [0.6, 0.8, 0.9, 0.7, 0.3] + [0.0] * 5
    for i, s in enumerate(shares[:8]):
        sink.write(_result(i, s))
    lines = _lines(sink.path)  # read while the sink is still open
    assert [r["type"] for r in lines] == ["start"]
    start = lines[0]
    assert set(start) == START_KEYS
    assert start["start"] == {"time_s": 0.5, "frame": 5}  # when it began, not when it fired
    assert (start["rule"], start["zone"], start["clusters"], start["colors"]) == (
        "door-red",
        "door",
        [1],
        ["#C81E1E"],
    )
    assert start["metric"] == "share_of_zone"
    for i, s in enumerate(shares[8:], start=8):
        sink.write(_result(i, s))
    sink.close()
    start, end = _lines(sink.path)
    assert set(end) == END_KEYS
    assert end["id"] == start["id"]
    assert end["peak"] == {"time_s": 0.7, "frame": 7, "value": pytest.approx(0.9, abs=0.02)}
    assert end["end"]["frame"] == 10  # 0.3 is still over exit (0.2); 0.0 ends it
    assert end["reason"] == "exit"
    snapshot = sink.path.parent / end["snapshot"]
    picture = cv2.imread(str(snapshot))
    assert picture.shape == (H, 2 * W, 3)  # original beside segmented
    assert "event door-red-1 started at 0.50 s" in caplog.text
    assert "event door-red-1 ended at 1.00 s" in caplog.text


@pytest.mark.parametrize(("finish", "reason"), [("close", "input-ended"), ("abort", "stopped")])
def test_an_open_event_gets_an_end_line_when_the_run_ends(tmp_path, finish, reason):
    sink = _sink(tmp_path)
    sink.open(StreamInfo(width=W, height=H, fps=10))
    for i, s in enumerate([0.0, 0.0, 0.9, 0.9, 0.9]):
        sink.write(_result(i, s))
    getattr(sink, finish)()
    start, end = _lines(sink.path)
    assert (start["type"], end["type"], end["reason"]) == ("start", "end", reason)
    assert end["end"] == {"time_s": 0.4, "frame": 4, "value": pytest.approx(0.9, abs=0.02)}
    getattr(sink, finish)()  # a second call does nothing
    assert len(_lines(sink.path)) == 2


def test_sink_lifecycle_errors(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_text("old\n")
    with pytest.raises(SinkError, match="already exists; pass --overwrite"):
        _sink(tmp_path)
    sink = _sink(tmp_path, overwrite=True)
    with pytest.raises(SinkError, match="not open"):
        sink.write(_result(0, 0.0))
    sink.open(StreamInfo(width=W, height=H, fps=10))
    bare = _result(0, 0.0)
    del bare.extras["zones"]
    with pytest.raises(SinkError, match=r"needs zone statistics in result.extras\['zones'\]"):
        sink.write(bare)
    sink.close()
    with pytest.raises(ClosedError):
        sink.write(_result(0, 0.0))
    assert path.read_text() == ""


def test_snapshots_off_gives_null(tmp_path):
    rules = parse_rules(
        [{"name": "r", "zone": "door", "clusters": [1], "trigger": "above", "enter": 0.5,
          "exit": 0.2, "min_duration_s": 0, "cooldown_s": 0}],
        zone_names={"door"},
        source="test",
    )  # fmt: skip
    sink = EventSink(tmp_path / "events.ndjson", rules, EventsSettings(snapshots=False))
    sink.open(StreamInfo(width=W, height=H, fps=10))
    for i, s in enumerate([0.0, 0.9, 0.0]):
        sink.write(_result(i, s))
    sink.close()
    assert _lines(sink.path)[1]["snapshot"] is None
    assert not (tmp_path / "snapshots").exists()


# -- acceptance on the real clips ------------------------------------------------------------

ANY_CHANGE = {"trigger": "change", "clusters": "any", "enter": 0.2, "exit": 0.1}


def test_parking_lot_cars_make_events_at_the_right_times(tmp_path):
    images, fps = clip(PARKING)
    zones = {
        "lane": [[0.35, 0.3], [0.6, 0.3], [0.6, 0.7], [0.35, 0.7]],  # where cars drive through
        "kerb": [[0.75, 0.05], [0.95, 0.05], [0.95, 0.85], [0.75, 0.85]],  # no car ever
    }
    common = {"min_duration_s": 0.5, "cooldown_s": 1.0, "baseline_s": 30}
    out = run_rules(
        images,
        fps,
        zones,
        [
            {"name": "lane", "zone": "lane", **ANY_CHANGE, **common},
            {"name": "kerb", "zone": "kerb", **ANY_CHANGE, **common},
            # The red car's colour as the segmented view shows it (a light crimson).
            {"name": "red-car", "zone": "frame", "clusters": "#d07080",
             "metric": "share_of_frame", "trigger": "above", "enter": 0.015, "exit": 0.008,
             **common},
        ],
        tmp_path,
    )  # fmt: skip
    lane = out.events("lane")
    # A white car crosses the lane zone 5.3-7.4 s, a red one 15.8-18.0 s (>= 15 % of the
    # zone covered, from a background difference); a third grazes it at 26.4 s.
    cars = [(5.3, 7.4), (15.8, 18.0)]
    for lo, hi in cars:
        match = [e for e in lane if overlaps(e, lo, hi)]
        assert len(match) == 1, (lo, hi, lane)
        assert match[0]["start"]["time_s"] == pytest.approx(lo, abs=0.8)
        assert match[0]["end"]["time_s"] == pytest.approx(hi, abs=0.8)
        assert lo - 0.8 <= match[0]["peak"]["time_s"] <= hi + 0.8
    for e in lane:  # nothing in the empty stretches (0-5 s, 8-15 s, 19-25 s)
        assert any(overlaps(e, lo, hi) for lo, hi in [*cars, (25.9, 27.6)]), e
    assert out.events("kerb") == []
    red = out.events("red-car")
    assert red and all(overlaps(e, 15.5, 19.0) for e in red), red
    assert all(e["snapshot"] and (tmp_path / e["snapshot"]).is_file() for e in lane)


def _watch(name: str, zone: list[list[float]], images, fps, tmp_path, **rule: float) -> list:
    """Run one ``any`` change rule on one zone; its events' end records."""
    spec = {"name": name, "zone": name, "trigger": "change", "clusters": "any", **rule}
    return run_rules(images, fps, {name: zone}, [spec], tmp_path).events(name)


def test_pedestrians_on_the_grass_make_events_and_the_empty_stretch_none(tmp_path):
    start = 40.0
    images, fps = clip(PEDESTRIANS, scale=0.5, start_s=start)
    grass = [[0.05, 0.6], [0.5, 0.6], [0.5, 0.95], [0.05, 0.95]]
    events = _watch(
        "grass", grass, images, fps, tmp_path,
        enter=0.06, exit=0.03, min_duration_s=1.0, cooldown_s=2.0,
    )  # fmt: skip
    # Nobody on this grass from 40 s to 53 s; people cross it from 53.2 s to about 70.5 s.
    assert events
    assert min(e["start"]["time_s"] + start for e in events) == pytest.approx(53.2, abs=1.0)
    for e in events:
        assert overlaps(e, 53.0, 71.0, offset=start), e
    assert max(e["end"]["time_s"] + start for e in events) <= 72.0


def test_traffic_far_lane_events_only_when_cars_pass(tmp_path):
    images, fps = clip(TRAFFIC, scale=0.5, stop_s=12.0)
    lane = [[0.5, 0.0], [1.0, 0.0], [1.0, 0.12], [0.5, 0.12]]
    events = _watch(
        "far-lane", lane, images, fps, tmp_path,
        enter=0.1, exit=0.05, min_duration_s=0.2, cooldown_s=0,
    )  # fmt: skip
    # The far lane is empty for 5 s; cars pass at 5.0-5.9, 7.0-8.9 and 10.3-11.7 s.
    passes = [(5.0, 5.9), (7.0, 8.9), (10.3, 11.7)]
    assert len(events) >= 2
    for e in events:
        assert any(overlaps(e, lo - 0.3, hi + 0.3) for lo, hi in passes), e
    assert sum(any(overlaps(e, lo, hi) for e in events) for lo, hi in passes) >= 2


def test_a_stopped_run_ends_the_open_event_with_reason_stopped(tmp_path):
    import threading

    from vidseg.analysis.config import parse_analysis
    from vidseg.analysis.zonestats import ZoneLayout
    from vidseg.engine import Segmenter
    from vidseg.io.demo import demo_frames
    from vidseg.io.sources import ArraySource
    from vidseg.pipeline import run

    still = next(iter(demo_frames(1, (64, 48))))  # a real photo
    images = []
    for i in range(40):
        image = still.copy()
        if i >= 20:
            image[10:40, 5:30] = (40, 40, 200)  # a red box arrives in the zone and stays
        images.append(image)
    cfg = parse_analysis(
        {"zones": [{"name": "door", "units": "relative",
                    "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}]}
    )  # fmt: skip
    layout = ZoneLayout.build(cfg, 64, 48)
    rules = parse_rules(
        [{"name": "door", "zone": "door", "clusters": "any", "min_duration_s": 0.2}],
        zone_names={"door"},
        source="test",
    )
    sink = EventSink(tmp_path / "events.ndjson", rules, EventsSettings())
    stop = threading.Event()

    def measure(result: FrameResult) -> None:
        seg = result.segmentation
        result.extras["zones"] = layout.measure(seg.labels, seg.n_clusters)
        if result.frame.index == 28:
            stop.set()  # as the CLI's Ctrl-C handler does

    run(ArraySource(images, fps=10), Segmenter(4, seed=0), [sink], measure=measure, stop=stop)
    start, end = _lines(sink.path)
    assert start["start"]["frame"] == 20
    assert (end["type"], end["reason"]) == ("end", "stopped")
    assert end["end"]["frame"] >= 28
    assert (tmp_path / end["snapshot"]).is_file()
