"""``vidseg batch --chunk-longer-than``: long inputs go through chunks on the batch's cluster.

The cluster test runs a real LocalCluster (2 worker processes, 127.0.0.1): a
4 s clip is one task, an 8.8 s clip counts as long at ``5s`` and is converted
in chunks by a batch task that runs them through ``worker_client``.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media import DASHCAM, media, packet_times
from vidseg.apps.batch import BatchOptions, BatchReport, _long_inputs, batch
from vidseg.cli import main
from vidseg.config import Config
from vidseg.dist.cluster import ClusterConfig, open_client
from vidseg.dist.long_inputs import LongInputs, chunk_count, parse_duration, refusal
from vidseg.io.sources.file import VideoFileSource

HORSES = "o4n_horses_panning.mp4"  # 120 frames, 4 s: short


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One local cluster as vidseg starts it (2 worker processes, loopback) for the module."""
    with open_client(ClusterConfig(workers=2)) as client:
        yield client.scheduler.address


def _times(path: Path) -> list[float]:
    with VideoFileSource(path, audio=False) as src:
        return [round(f.time_s, 3) for f in src]


def test_a_long_input_is_chunked_on_the_batchs_cluster_and_a_rerun_skips_it(
    scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short, long = media(HORSES), media(DASHCAM)
    out = tmp_path / "out"
    argv = ["batch", str(short), str(long), "--out", str(out), "--no-progress"]
    assert main([*argv, "--scheduler", scheduler, "--chunk-longer-than", "5s"]) == 0
    err = capsys.readouterr().err
    assert f"{long} is 9 s long: converted in 2 chunks" in err
    assert f"{short} is" not in err

    entries = json.loads((out / "manifest.json").read_text())["inputs"]
    assert {e["status"] for e in entries.values()} == {"done"}
    folder = out / entries[str(long)]["folder"]
    names = {f"{folder.name}/{long.stem}.mp4", f"{folder.name}/stats.csv"}
    assert set(entries[str(long)]["outputs"]) == names  # as a one-task input records them
    assert {p.name for p in folder.iterdir()} == {f"{long.stem}.mp4", "stats.csv"}
    assert not list(out.rglob("*.partial*"))  # the chunks' work directory is gone

    times = _times(long)
    video = folder / f"{long.stem}.mp4"
    assert _times(video) == times  # every frame once, at the input's time
    assert sorted(round(t, 3) for t in packet_times(video)) == times
    assert entries[str(long)]["frames"] == len(times)
    with open(folder / "stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    k = Config().engine.n_clusters
    assert [int(r["frame"]) for r in rows] == [i for i in range(len(times)) for _ in range(k)]
    assert [round(float(r["time_s"]), 3) for r in rows[::k]] == times

    # The rerun needs no cluster: both are done.
    assert main([*argv, "--chunk-longer-than", "5s"]) == 0
    assert "2 of 2 inputs done already" in capsys.readouterr().err


def test_a_stop_cancels_the_chunks_keeps_their_work_directory_and_writes_nothing(
    scheduler: str, tmp_path: Path
) -> None:
    long, out, stop = media(DASHCAM), tmp_path / "out", threading.Event()
    opts = BatchOptions(
        inputs=[str(long)],
        out=out,
        cluster=ClusterConfig(scheduler=scheduler),
        progress=False,
        long_inputs=LongInputs(longer_than_s=5.0),
    )
    found: list[BatchReport] = []
    runner = threading.Thread(target=lambda: found.append(batch(opts, Config(), stop=stop)))
    runner.start()
    deadline = time.monotonic() + 60
    while not list(out.glob("*/*.partial.chunks/*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(timeout=90)
    assert found and found[0].stopped == [str(long)]
    folder = out / long.stem
    assert (folder / f"{long.stem}.partial.chunks").is_dir()  # kept; the next run replaces it
    assert not (folder / f"{long.stem}.mp4").exists() and not (folder / "stats.csv").exists()
    entry = json.loads((out / "manifest.json").read_text())["inputs"][str(long)]
    assert entry["status"] == "pending"


def test_only_inputs_over_the_threshold_are_chunked_and_refused_options_say_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    short, long = media(HORSES), media(DASHCAM)
    opts = BatchOptions(inputs=[], out=Path("o"), long_inputs=LongInputs(longer_than_s=5.0))
    assert _long_inputs([short, long], opts, Config(), False, slots=2) == {long: 2}
    off = BatchOptions(inputs=[], out=Path("o"), long_inputs=LongInputs(longer_than_s=None))
    assert _long_inputs([short, long], off, Config(), False, slots=2) == {}
    labels = BatchOptions(
        inputs=[], out=Path("o"), labels_format="png", long_inputs=LongInputs(longer_than_s=5.0)
    )
    with caplog.at_level(logging.INFO, logger="vidseg"):
        assert _long_inputs([long], labels, Config(), False, slots=2) == {}
    assert "--labels cannot be combined with chunks: converted as one task" in caplog.text
    assert refusal(Config(), analyze=True, labels_format=None) is not None
    assert refusal(Config(), analyze=False, labels_format=None) is None


def test_the_chunk_count_is_duration_over_chunk_length_capped_by_the_cluster() -> None:
    rule = LongInputs(longer_than_s=600.0, chunk_length_s=120.0)
    assert chunk_count(599.0, rule, slots=8) == 0
    assert chunk_count(601.0, rule, slots=8) == 6
    assert chunk_count(7200.0, rule, slots=3) == 6
    assert chunk_count(0.0, LongInputs(longer_than_s=1.0), slots=2) == 0  # length unknown
    assert parse_duration("1.5h", "--x") == 5400.0
    assert parse_duration("0", "--x") is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--chunk-longer-than", "ten"], "--chunk-longer-than takes a duration"),
        (["--chunk-longer-than=-5s"], "--chunk-longer-than takes a duration"),
        (["--chunk-length", "0"], "--chunk-length takes a duration such as 90s"),
    ],
)
def test_bad_chunk_durations_are_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["batch", str(media(HORSES)), "--out", str(tmp_path / "out"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
