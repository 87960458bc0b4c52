"""``vidseg convert --chunks`` on a real LocalCluster: 2 worker processes on 127.0.0.1.

One cluster serves the module (``--scheduler``), so each conversion pays only
its own work.  Checks: every frame once with the input's timestamps, the audio
kept, ids and areas equal to an unchunked run from the same palette where no
boundary intervenes, bad input refused before any work.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.media import DASHCAM, VTEST, media, packet_times
from vidseg.apps.chunked import convert_chunked
from vidseg.cli import main
from vidseg.config import Config
from vidseg.dist.chunks import handover_frames, plan_chunks, scan_video
from vidseg.dist.cluster import ClusterConfig, local_cluster_config
from vidseg.dist.shared_palette import shared_palette
from vidseg.dist.threads import budget_config
from vidseg.engine import Segmenter
from vidseg.engine.palette_file import Palette
from vidseg.io.sources.file import VideoFileSource


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster as vidseg starts one (loopback, no MALLOC_TRIM_THRESHOLD_), dashboard off.

    A nanny writes its pre-spawn variables into this process's environment, where
    later clusters' workers would inherit them: the environment is restored after.
    """
    import dask.config
    from distributed import LocalCluster

    saved = dict(os.environ)
    try:
        with (
            dask.config.set(local_cluster_config()),
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                worker_dashboard_address="127.0.0.1:0",
            ) as cluster,
        ):
            yield cluster.scheduler_address
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _times(path: Path) -> list[float]:
    with VideoFileSource(path, audio=False) as src:
        return [round(f.time_s, 3) for f in src]


@pytest.mark.parametrize("name", [DASHCAM, VTEST])
def test_chunked_conversion_keeps_every_frame_its_time_and_the_audio(
    name: str, scheduler: str, tmp_path: Path
) -> None:
    clip = media(name)
    out, stats, palette = tmp_path / "out.mp4", tmp_path / "out.csv", tmp_path / "p.json"
    argv = ["convert", str(clip), str(out), "--chunks", "3", "--scheduler", scheduler]
    assert main([*argv, "--stats", str(stats), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.mp4"]

    times = _times(clip)
    assert _times(out) == times  # every frame once, at the input's time
    assert sorted(round(t, 3) for t in packet_times(out)) == times
    assert len(packet_times(out, "a")) > 0  # the input's audio, whole
    rows = _rows(stats)
    assert len(rows) == 8 * len(times)
    assert [int(r["frame"]) for r in rows[::8]] == list(range(len(times)))
    assert [round(float(r["time_s"]), 3) for r in rows[::8]] == times
    shares = np.array([float(r["area_share"]) for r in rows]).reshape(-1, 8)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    pixels = np.array([int(r["pixels"]) for r in rows]).reshape(-1, 8)

    # Up to the first hand-over window the chunked run is an unchunked run from the
    # shared palette: the same ids and areas, row for row.
    index = scan_video(clip)
    cfg = budget_config(Config(), 1)  # the workers' budget: 1 core each
    shared_palette(clip, index, cfg).save(palette)
    overlap, window = handover_frames(index, 3)
    plan = plan_chunks(index, 3, overlap=overlap, window=window)
    with Segmenter.from_config(cfg.engine) as seg, VideoFileSource(clip, audio=False) as src:
        seg.set_palette(Palette.load(palette))
        for frame in src:
            if frame.index >= plan[0].window:  # the hand-over window may take the next run
                break
            np.testing.assert_array_equal(seg.segment(frame.image).counts, pixels[frame.index])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--chunks", "0"], "--chunks must be at least 1"),
        (["--workers", "2"], "work with --chunks"),
        (["--chunks", "2", "--labels", "L"], "--labels cannot be combined with --chunks"),
        (["--chunks", "2", "--max-frames", "5"], "--max-frames cannot be combined"),
        (["--chunks", "2", "--codec", "nope"], "video encoder 'nope' is not available"),
    ],
)
def test_bad_chunk_options_are_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.mp4"
    assert main(["convert", str(media(DASHCAM)), str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["-", "0", "demo"])
def test_live_and_unseekable_inputs_exit_2(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", spec, str(tmp_path / "o.mp4"), "--chunks", "2"]) == 2
    assert "--chunks needs a video file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_stop_leaves_nothing_under_the_output_name(scheduler: str, tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()  # as Ctrl-C right after the chunks were submitted
    out = tmp_path / "out.mp4"
    summary = convert_chunked(
        str(media(DASHCAM)),
        out,
        Config(),
        chunks=2,
        cluster=ClusterConfig(scheduler=scheduler),
        stats=tmp_path / "out.csv",
        stop=stop,
    )
    assert summary.stopped
    assert not out.exists() and not (tmp_path / "out.csv").exists()
    assert (tmp_path / "out.partial.chunks").is_dir()  # what was done, under a partial name
