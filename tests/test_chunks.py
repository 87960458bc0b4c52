"""Chunked conversion without a cluster: planning, the span source, chunk tasks and the join."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.media import DASHCAM, TRAFFIC, VTEST, media, packet_times
from vidseg.apps.chunked import check_chunkable
from vidseg.config import Config
from vidseg.dist.chunk_task import ChunkJob, chunk_paths, segment_chunk
from vidseg.dist.chunks import VideoIndex, check_seekable, plan_chunks, scan_video
from vidseg.dist.join import join_stats, join_videos, match_ids
from vidseg.dist.shared_palette import shared_palette
from vidseg.errors import ConfigError, SinkError, SourceReadError
from vidseg.io.sources.file import VideoFileSource
from vidseg.io.sources.span import SpanSource


def _covers(chunks: list, frames: int) -> None:
    """Every frame in exactly one chunk, in order; each decode starts at or before its lead."""
    assert chunks[0].start == 0 and chunks[-1].end == frames
    for a, b in itertools.pairwise(chunks):
        assert a.end == b.start
    for c in chunks:
        assert c.key_index <= c.lead <= c.start < c.end


def test_plan_splits_near_equal_parts_after_keyframes() -> None:
    index = VideoIndex(frames=1000, keyframes=tuple(range(0, 1000, 50)), key_ts=tuple(range(20)))
    chunks = plan_chunks(index, 4, overlap=10)
    _covers(chunks, 1000)
    assert [c.start for c in chunks] == [0, 260, 510, 760]
    assert [c.lead for c in chunks] == [0, 250, 500, 750]
    assert [c.key_ts for c in chunks] == [0, 5, 10, 15]


def test_plan_clamps_to_the_keyframes_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    index = VideoIndex(frames=300, keyframes=(0, 250), key_ts=(0, 250))
    with caplog.at_level(logging.WARNING, logger="vidseg"):
        chunks = plan_chunks(index, 5, overlap=0)
    _covers(chunks, 300)
    assert len(chunks) == 2
    assert "converting in 2 chunk(s)" in caplog.text
    single = plan_chunks(VideoIndex(frames=30, keyframes=(0,), key_ts=(0,)), 3)
    assert [(c.start, c.end) for c in single] == [(0, 30)]


@pytest.mark.parametrize("n", [0, -2])
def test_plan_rejects_fewer_than_one_chunk(n: int) -> None:
    with pytest.raises(ConfigError, match="--chunks must be at least 1"):
        plan_chunks(VideoIndex(frames=10, keyframes=(0,), key_ts=(0,)), n)


def test_scan_places_mp4_frames_by_pts_and_counts_avi_frames() -> None:
    mp4 = scan_video(media(TRAFFIC))  # B-frames: decode order is not presentation order
    assert (mp4.frames, mp4.keyframes) == (480, (0, 250))
    assert mp4.pts is not None and list(mp4.pts) == sorted(mp4.pts)
    avi = scan_video(media(VTEST))
    assert (avi.frames, avi.keyframes, avi.pts) == (795, (0, 250, 500, 750), None)


def _fingerprints(frames: list) -> list[tuple]:
    return [(f.index, f.pts, f.time_s, hashlib.sha1(f.image.tobytes()).hexdigest()) for f in frames]


@pytest.mark.parametrize(
    ("name", "first", "end", "key"), [(TRAFFIC, 255, 262, 1), (VTEST, 253, 260, 1)]
)
def test_span_source_gives_the_frames_a_whole_decode_gives(
    name: str, first: int, end: int, key: int
) -> None:
    path = media(name)
    index = scan_video(path)
    pts_range = None if index.pts is None else (index.pts[first], index.pts[end])
    with SpanSource(
        path,
        first=first,
        end=end,
        key_index=index.keyframes[key],
        key_ts=index.key_ts[key],
        pts_range=pts_range,
    ) as span:
        assert span.info.frame_count == end - first
        got = _fingerprints(list(span))
    whole = []
    with VideoFileSource(path, audio=False) as src:
        for frame in src:
            if frame.index >= end:
                break
            if frame.index >= first:
                whole.append(frame)
    assert got == _fingerprints(whole)


def test_a_file_that_cannot_seek_exactly_is_refused_before_work() -> None:
    path = media(TRAFFIC)
    index = scan_video(path)
    plan = plan_chunks(index, 2)
    check_seekable(path, plan)
    wrong = [dataclasses.replace(plan[1], key_ts=plan[1].key_ts + 7)]
    with pytest.raises(ConfigError, match="cannot be split frame-exactly"):
        check_seekable(path, wrong)


def test_span_source_says_when_the_seek_misses_the_keyframe() -> None:
    path = media(TRAFFIC)
    source = SpanSource(path, first=0, end=5, key_index=0, key_ts=0)
    source.close()
    with pytest.raises(SourceReadError, match="not on that keyframe"):
        SpanSource(path, first=260, end=270, key_index=250, key_ts=123456)


@pytest.mark.parametrize("spec", ["-", "pipe:", "0", "rtsp://127.0.0.1/cam", "demo", "f/*.png"])
def test_only_video_files_can_be_chunked(spec: str) -> None:
    with pytest.raises(ConfigError, match="--chunks needs a video file"):
        check_chunkable(spec)


def _run_in_process(path: Path, tmp_path: Path, n: int, stats: str = ".csv") -> tuple[list, object]:
    """Plan, palette and every chunk task in this process (what the workers run)."""
    cfg = Config()
    index = scan_video(path)
    plan = plan_chunks(index, n, overlap=5, window=5)
    palette = shared_palette(path, index, cfg).to_json()
    outs = []
    for chunk in plan:
        video, st = chunk_paths(tmp_path, chunk.number, ".mp4", stats)
        job = ChunkJob(
            source=str(path), chunk=chunk, video=video, stats=st, palette=palette, cfg=cfg
        )
        outs.append(segment_chunk(job, {}))
    return outs, index


def test_chunks_join_into_every_frame_once_with_the_input_times_and_audio(tmp_path: Path) -> None:
    path = media(DASHCAM)  # audio is stream 0, keyframes every 30 frames
    outs, index = _run_in_process(path, tmp_path, 3)
    assert [o.frames for o in outs] == [
        c.end - c.start for c in plan_chunks(index, 3, overlap=5, window=5)
    ]
    out = tmp_path / "joined.mp4"
    frames = join_videos(
        [Path(o.video) for o in outs],
        out,
        first_pts=[o.first_pts for o in outs],
        time_base=outs[0].time_base,
        audio_from=path,
    )
    assert frames == index.frames == 221
    assert sorted(packet_times(out)) == sorted(packet_times(path))
    assert packet_times(out, "a") == packet_times(path, "a")
    stats = tmp_path / "joined.csv"
    join_stats([Path(o.stats) for o in outs], stats, frames=frames)
    rows = stats.read_text().splitlines()
    assert rows[0].startswith("frame,time_s,cluster")
    assert [int(r.split(",")[0]) for r in rows[1::8]] == list(range(221))
    assert not (tmp_path / "joined.partial.mp4").exists()


def test_a_join_that_cannot_read_a_part_names_it_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"joining statistics into .*o\.csv' failed"):
        join_stats([tmp_path / "gone.csv"], tmp_path / "o.csv", frames=1)
    with pytest.raises(SinkError, match=r"joining the chunks into .*o\.mp4' failed"):
        join_videos(
            [tmp_path / "gone.mp4"], tmp_path / "o.mp4", first_pts=[0], time_base=Fraction(1, 25)
        )
    assert list(tmp_path.iterdir()) == []


def test_joined_statistics_must_hold_every_frame_once(tmp_path: Path) -> None:
    parts = [tmp_path / "a.ndjson", tmp_path / "b.ndjson"]
    parts[0].write_text("".join(json.dumps({"frame": i}) + "\n" for i in range(3)))
    parts[1].write_text("".join(json.dumps({"frame": i}) + "\n" for i in range(4, 6)))
    out = tmp_path / "s.ndjson"
    with pytest.raises(SinkError, match="frame 4 where frame 3 belongs"):
        join_stats(parts, out, frames=5)
    assert sorted(tmp_path.iterdir()) == sorted(parts)  # nothing half-written
    parts[1].write_text("".join(json.dumps({"frame": i}) + "\n" for i in range(3, 5)))
    join_stats(parts, out, frames=5)
    assert [json.loads(x)["frame"] for x in out.read_text().splitlines()] == list(range(5))


def _csv_rows(frame: int, colours: list[str]) -> str:
    return "".join(
        f"{frame},{frame / 10},{j},{10 * (j + 1)},0.5,{hexa},0,0,0,0.5,0.5,False\n"
        for j, hexa in enumerate(colours)
    )


def test_joined_ids_keep_their_colour_across_a_boundary(tmp_path: Path) -> None:
    from vidseg.stats import ROW_FIELDS

    header = ",".join(ROW_FIELDS) + "\n"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(header + _csv_rows(0, ["#000000", "#FFFFFF"]))
    b.write_text(header + _csv_rows(1, ["#FAFAFA", "#050505"]))  # the same clusters, swapped
    swapped = match_ids([[0, 0, 0], [255, 255, 255]], [[250] * 3, [5] * 3])
    assert swapped == [1, 0]
    out = tmp_path / "s.csv"
    join_stats([a, b], out, frames=2, ids=[(0, [0, 1]), (1, swapped)])
    rows = [r.split(",") for r in out.read_text().splitlines()[1:]]
    assert [(r[0], r[2], r[5]) for r in rows] == [
        ("0", "0", "#000000"),
        ("0", "1", "#FFFFFF"),
        ("1", "0", "#050505"),
        ("1", "1", "#FAFAFA"),
    ]


def test_a_hand_over_is_bit_for_bit_the_next_chunks_run(tmp_path: Path) -> None:
    """The frames a chunk takes from the next run equal what the next chunk computes."""
    path = media(DASHCAM)
    cfg = Config()
    index = scan_video(path)
    first, second = plan_chunks(index, 2, overlap=10, window=20)[:2]
    palette = shared_palette(path, index, cfg).to_json()
    assert index.pts is not None
    early = dataclasses.replace(  # the next chunk, written from the window, up to its end
        second,
        start=first.window,
        end=first.end,
        window=first.end,
        next_lead=None,
        pts_range=(index.pts[second.lead], index.pts[first.end]),
    )
    outs = []
    for number, chunk in enumerate((first, early)):
        video, stats = chunk_paths(tmp_path, number, ".mp4", ".csv")
        job = ChunkJob(
            source=str(path), chunk=chunk, video=video, stats=stats, palette=palette, cfg=cfg
        )
        outs.append(segment_chunk(job, {}))
    assert outs[0].handover is not None and first.window <= outs[0].handover < first.end
    slc, flicker = outs[0].handover_pair
    assert 0 <= slc <= 1 and flicker >= 0

    def rows(stats: str, lo: int, hi: int) -> list[str]:
        return [
            r for r in Path(stats).read_text().splitlines()[1:] if lo <= int(r.split(",")[0]) < hi
        ]

    taken = rows(outs[0].stats, outs[0].handover, first.end)
    assert taken and taken == rows(outs[1].stats, outs[0].handover, first.end)


def test_the_hand_over_goes_where_the_next_run_agrees_with_this_one() -> None:
    from vidseg.dist.handover import HandoverChooser, State

    image = np.zeros((8, 8, 3), np.uint8)
    colors = np.array([[0, 0, 0], [255, 255, 255]], np.float32)
    left = np.zeros((8, 8), np.uint8)
    left[:, 4:] = 1
    top = np.zeros((8, 8), np.uint8)
    top[4:] = 1

    def state(labels: np.ndarray) -> State:
        return State(image=image, labels=labels, recolor=image, colors=colors)

    chooser = HandoverChooser(state(left))
    for nxt in (top, top, top, left, top):  # the next run agrees at position 3 only
        chooser.add(state(left), state(nxt))
    at, slc, flicker = chooser.best()
    assert (at, slc, flicker) == (3, 0.0, 0.0)


def test_the_chunk_modules_load_no_dask() -> None:
    import subprocess
    import sys

    modules = [
        "vidseg.cli",
        "vidseg.cli.chunks",
        "vidseg.apps.chunked",
        "vidseg.dist.chunks",
        "vidseg.dist.chunk_task",
        "vidseg.dist.handover",
        "vidseg.dist.join",
        "vidseg.dist.shared_palette",
    ]
    code = (
        f"import sys, {', '.join(modules)}\n"
        "from vidseg.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
