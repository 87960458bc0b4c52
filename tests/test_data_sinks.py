"""Stats (CSV, NDJSON) and label-map sinks: real segmentations written and read back."""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from vidseg import Segmenter
from vidseg.errors import ClosedError, EmptyClusterWarning, SinkError
from vidseg.frames import Frame, FrameResult, StreamInfo
from vidseg.io.data_sinks import StatsCsvSink, StatsNdjsonSink, stats_sink
from vidseg.io.demo import demo_frames
from vidseg.io.labels_sink import LabelsSink
from vidseg.stats import ROW_FIELDS, ClusterStats

N_FRAMES, K, SIZE = 6, 5, (160, 96)  # SIZE = (width, height)
INFO = StreamInfo(width=SIZE[0], height=SIZE[1], fps=25.0, name="demo")


def _result(seg_image: np.ndarray, segmenter: Segmenter, i: int) -> FrameResult:
    seg = segmenter.segment(seg_image)
    stats = ClusterStats.from_segmentation(seg, frame_index=i, time_s=i / 25)
    return FrameResult(
        frame=Frame(image=seg_image, index=i, time_s=i / 25),
        segmentation=seg,
        view=seg.recolor(),
        stats=stats,
    )


@pytest.fixture(scope="module")
def results() -> list[FrameResult]:
    """Real segmentations of the demo pan over a real photo."""
    segmenter = Segmenter(n_clusters=K, seed=0)
    return [_result(img, segmenter, i) for i, img in enumerate(demo_frames(N_FRAMES, SIZE))]


def _write_all(sink: Any, results: list[FrameResult]) -> Any:
    with sink:
        sink.open(INFO)
        for r in results:
            sink.write(r)
    return sink


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- round trips -------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path, results: list[FrameResult]) -> None:
    out = tmp_path / "stats.csv"
    sink = _write_all(StatsCsvSink(out), results)
    assert sink.closed and sink.frames_written == N_FRAMES
    assert _names(tmp_path) == ["stats.csv"]  # no partial file left
    with open(out, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        assert reader.fieldnames == list(ROW_FIELDS)
    assert len(rows) == N_FRAMES * K
    width, height = SIZE
    for r in results:
        mine = [row for row in rows if int(row["frame"]) == r.stats.frame]
        assert [int(row["cluster"]) for row in mine] == list(range(K))
        np.testing.assert_allclose(sum(float(row["area_share"]) for row in mine), 1.0)
        assert sum(int(row["pixels"]) for row in mine) == width * height
        assert [int(row["pixels"]) for row in mine] == r.segmentation.counts.tolist()
        assert all(float(row["time_s"]) == pytest.approx(r.stats.time_s) for row in mine)
        assert [row["color_hex"] for row in mine] == r.stats.color_hex
    assert all(re.fullmatch(r"#[0-9A-F]{6}", row["color_hex"]) for row in rows)
    assert {row["scene_cut"] for row in rows} <= {"True", "False"}
    assert rows[0]["scene_cut"] == "True"  # the first frame seeds the palette


def test_csv_nan_centroids_are_empty_cells(tmp_path: Path) -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 4:] = (0, 0, 255)
    with pytest.warns(EmptyClusterWarning):
        result = _result(image, Segmenter(n_clusters=3, seed=0), 0)
    assert np.isnan(result.stats.centroids).any()
    out = tmp_path / "stats.csv"
    _write_all(StatsCsvSink(out), [result])
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    empty = [row for row in rows if int(row["pixels"]) == 0]
    assert empty and all(row["cx"] == "" and row["cy"] == "" for row in empty)
    full = [row for row in rows if int(row["pixels"]) > 0]
    assert all(0 <= float(row["cx"]) <= 1 and 0 <= float(row["cy"]) <= 1 for row in full)


@pytest.mark.parametrize("suffix", [".ndjson", ".jsonl"])
def test_ndjson_round_trip(tmp_path: Path, results: list[FrameResult], suffix: str) -> None:
    out = tmp_path / f"stats{suffix}"
    _write_all(StatsNdjsonSink(out), results)
    assert _names(tmp_path) == [out.name]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == N_FRAMES
    records = [json.loads(line) for line in lines]
    assert records == [r.stats.to_dict() for r in results]
    for rec in records:
        assert (rec["width"], rec["height"]) == SIZE and len(rec["clusters"]) == K
        np.testing.assert_allclose(sum(c["area_share"] for c in rec["clusters"]), 1.0)


def test_labels_png_round_trip(tmp_path: Path, results: list[FrameResult]) -> None:
    out = tmp_path / "labels"
    sink = _write_all(LabelsSink(out, fmt="png"), results)
    assert sink.frames_written == sink.files_written == N_FRAMES
    assert _names(out) == [f"frame_{i:06d}.png" for i in range(N_FRAMES)]
    for r in results:
        back = cv2.imread(str(out / f"frame_{r.stats.frame:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert back.dtype == np.uint8 and back.shape == (SIZE[1], SIZE[0])
        np.testing.assert_array_equal(back, r.segmentation.labels)


def test_labels_npz_round_trip(tmp_path: Path, results: list[FrameResult]) -> None:
    out = tmp_path / "labels"
    sink = _write_all(LabelsSink(out, fmt="npz", chunk=4), results)
    assert _names(out) == ["labels_000000.npz", "labels_000004.npz"]  # full chunk + the rest
    assert (sink.frames_written, sink.files_written) == (N_FRAMES, 2)
    labels, frame, time_s = [], [], []
    for name in _names(out):
        with np.load(out / name) as z:
            assert sorted(z.files) == ["frame", "labels", "time_s"]
            assert (z["labels"].dtype, z["frame"].dtype, z["time_s"].dtype) == (
                np.uint8,
                np.int64,
                np.float64,
            )
            labels.append(z["labels"])
            frame.append(z["frame"])
            time_s.append(z["time_s"])
    np.testing.assert_array_equal(
        np.concatenate(labels), np.stack([r.segmentation.labels for r in results])
    )
    np.testing.assert_array_equal(np.concatenate(frame), np.arange(N_FRAMES))
    np.testing.assert_allclose(np.concatenate(time_s), np.arange(N_FRAMES) / 25)


# -- crash safety ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sink_cls", "name", "lines_per_frame", "header"),
    [(StatsCsvSink, "stats.csv", K, 1), (StatsNdjsonSink, "stats.ndjson", 1, 0)],
)
def test_partial_file_flushed_per_frame_and_renamed(
    tmp_path: Path,
    results: list[FrameResult],
    sink_cls: type[StatsCsvSink],
    name: str,
    lines_per_frame: int,
    header: int,
) -> None:
    out = tmp_path / name
    sink = sink_cls(out)
    assert sink.partial_path == out.with_name(f"stats.partial{out.suffix}")
    sink.open(INFO)
    for i, r in enumerate(results):
        sink.write(r)
        # Already on disk, as another process (or a post-mortem) would see it.
        n_lines = len(sink.partial_path.read_text(encoding="utf-8").splitlines())
        assert n_lines == header + (i + 1) * lines_per_frame
        assert not out.exists()
    sink.close()
    assert out.exists() and not sink.partial_path.exists()


@pytest.mark.parametrize(
    ("sink_cls", "name"), [(StatsCsvSink, "s.csv"), (StatsNdjsonSink, "s.jsonl")]
)
def test_abort_keeps_partial(
    tmp_path: Path,
    results: list[FrameResult],
    caplog: pytest.LogCaptureFixture,
    sink_cls: type[StatsCsvSink],
    name: str,
) -> None:
    out = tmp_path / name
    sink = sink_cls(out)
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="boom"), sink:
        sink.open(INFO)
        sink.write(results[0])
        sink.write(results[1])
        raise RuntimeError("boom")
    assert sink.closed and not out.exists()
    assert _names(tmp_path) == [sink.partial_path.name]
    assert "2 frames kept" in caplog.text and str(sink.partial_path) in caplog.text
    sink.close()  # no-op after abort
    assert not out.exists()


def test_labels_abort_saves_pending_chunk(
    tmp_path: Path, results: list[FrameResult], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "labels"
    sink = LabelsSink(out, fmt="npz", chunk=4)
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="boom"), sink:
        sink.open(INFO)
        for r in results[:5]:
            sink.write(r)
            assert not [n for n in _names(out) if ".partial" in n]  # never a half file
        raise RuntimeError("boom")
    assert _names(out) == ["labels_000000.npz", "labels_000004.npz"]
    assert "5 frames kept" in caplog.text and str(out) in caplog.text


def test_no_frames_leaves_no_output(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        for sink in (StatsCsvSink(tmp_path / "s.csv"), LabelsSink(tmp_path / "labels")):
            sink.open(INFO)
            sink.close()
    assert _names(tmp_path) == []
    assert "no frames were written" in caplog.text


# -- checks before work ------------------------------------------------------------------


@pytest.mark.parametrize("factory", [StatsCsvSink, StatsNdjsonSink, stats_sink])
def test_existing_output_refused_unless_overwrite(
    tmp_path: Path, results: list[FrameResult], factory: Callable[..., Any]
) -> None:
    out = tmp_path / ("stats.csv" if factory is StatsCsvSink else "stats.ndjson")
    out.write_text("old\n")
    with pytest.raises(SinkError, match=r"'.*stats\..*' already exists; pass --overwrite"):
        factory(out)
    assert out.read_text() == "old\n"
    _write_all(factory(out, overwrite=True), results[:1])
    assert out.read_text() != "old\n" and _names(tmp_path) == [out.name]


def test_labels_existing_directory(tmp_path: Path, results: list[FrameResult]) -> None:
    out = tmp_path / "labels"
    out.mkdir()
    _write_all(LabelsSink(out), results)  # an existing empty directory is fine
    with pytest.raises(SinkError, match=r"'.*labels' is not empty; pass --overwrite"):
        LabelsSink(out, fmt="npz")
    (out / "notes.txt").write_text("mine")
    _write_all(LabelsSink(out, fmt="npz", overwrite=True), results)
    assert _names(out) == ["labels_000000.npz", "notes.txt"]  # old label files replaced


@pytest.mark.parametrize(
    "make",
    [
        lambda d: StatsCsvSink(d / "nowhere" / "s.csv"),
        lambda d: StatsNdjsonSink(d / "nowhere" / "s.ndjson"),
        lambda d: LabelsSink(d / "nowhere" / "labels"),
    ],
)
def test_missing_output_directory_refused(tmp_path: Path, make: Callable[[Path], Any]) -> None:
    with pytest.raises(SinkError, match=r"output directory '.*nowhere' does not exist"):
        make(tmp_path)
    assert _names(tmp_path) == []


def test_bad_arguments_refused(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"unknown label format 'tiff'.*png, npz"):
        LabelsSink(tmp_path / "labels", fmt="tiff")
    with pytest.raises(SinkError, match=r"chunk must be .* got 0"):
        LabelsSink(tmp_path / "labels", fmt="npz", chunk=0)
    with pytest.raises(SinkError, match=r"is a directory; give a file name such as '.*stats\.csv'"):
        StatsCsvSink(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SinkError, match=r"'.*file' is a file"):
        LabelsSink(tmp_path / "file")


def test_stats_sink_picks_by_suffix(tmp_path: Path) -> None:
    assert type(stats_sink(tmp_path / "a.csv")) is StatsCsvSink
    assert type(stats_sink(tmp_path / "a.CSV")) is StatsCsvSink
    assert type(stats_sink(tmp_path / "a.ndjson")) is StatsNdjsonSink
    assert type(stats_sink(tmp_path / "a.jsonl")) is StatsNdjsonSink
    with pytest.raises(SinkError, match=r"unsupported stats file suffix '\.txt'.*\.csv, "):
        stats_sink(tmp_path / "a.txt")


# -- the sink contract -------------------------------------------------------------------

SINKS = {
    "csv": lambda d: StatsCsvSink(d / "stats.csv"),
    "ndjson": lambda d: StatsNdjsonSink(d / "stats.ndjson"),
    "labels-png": lambda d: LabelsSink(d / "labels", fmt="png"),
    "labels-npz": lambda d: LabelsSink(d / "labels", fmt="npz", chunk=2),
}


@pytest.mark.parametrize("make", list(SINKS.values()), ids=list(SINKS))
def test_sink_contract(
    tmp_path: Path, results: list[FrameResult], make: Callable[[Path], Any]
) -> None:
    sink = make(tmp_path)
    with pytest.raises(SinkError, match="not open; call open"):
        sink.write(results[0])
    with sink as entered:
        assert entered is sink and not sink.closed
        sink.open(INFO)
        with pytest.raises(SinkError, match="already open"):
            sink.open(INFO)
        sink.write(results[0])
    assert sink.closed and "closed" in repr(sink)
    sink.close()  # double close: no-op
    sink.abort()  # abort after close: no-op
    for use in (lambda: sink.write(results[1]), lambda: sink.open(INFO), sink.__enter__):
        with pytest.raises(ClosedError, match="is closed"):
            use()
    assert len(_names(tmp_path)) == 1
