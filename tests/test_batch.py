"""``vidseg batch`` on real Dask clusters over real clips (few frames each)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.media import TRAFFIC, VTEST, media
from vidseg.apps.batch import BatchOptions, BatchReport, batch
from vidseg.cli import main
from vidseg.config import Config
from vidseg.dist.cluster import ClusterConfig, open_client

HORSES = "o4n_horses_panning.mp4"
FRAMES = "8"


def _manifest(out: Path) -> dict[str, dict[str, object]]:
    return json.loads((out / "manifest.json").read_text())["inputs"]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A shared local cluster (2 worker processes) the API tests submit to.

    One worker death per task is retried; a second makes it Dask's KilledWorker.
    """
    import dask.config
    import distributed  # noqa: F401  (its defaults first: set() would drop them on exit)

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with open_client(ClusterConfig(workers=2)) as client:
            yield client.scheduler.address


def _listening(procs: list[Any]) -> set[tuple[str, int]]:
    import psutil

    return {
        (c.laddr.ip, c.laddr.port)
        for p in procs
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def test_the_local_cluster_listens_on_loopback_only_and_drops_malloc_trim(scheduler: str) -> None:
    import psutil
    from distributed import Client

    with Client(scheduler) as client:
        info = client.scheduler_info()
        env = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
    assert len(info["workers"]) == 2
    assert all(w["nthreads"] == 1 for w in info["workers"].values())
    assert set(env.values()) == {None}
    # This process holds the scheduler and the nannies; the workers are processes of their own.
    sockets = _listening([psutil.Process(), *workers])
    # scheduler, its HTTP server, 2 nannies, 2 workers and their HTTP servers
    assert len(sockets) >= 7, sockets
    assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Two real clips both called clip.mp4 in different folders, and a corrupt file."""
    root = tmp_path / "in"
    for folder, name in (("a", HORSES), ("b", TRAFFIC)):
        (root / folder).mkdir(parents=True)
        (root / folder / "clip.mp4").symlink_to(media(name))
    (root / "b" / "broken.mp4").write_bytes(os.urandom(20000))
    return root


def test_batch_converts_each_input_like_convert_and_resumes(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], scheduler: str
) -> None:
    out = tmp_path / "out"
    args = ["batch", str(inputs), "--out", str(out), "--workers", "2", "--labels", "png"]
    assert main([*args, "--max-frames", FRAMES, "--no-progress"]) == 1
    entries = _manifest(out)
    by_name = {Path(k).relative_to(inputs).as_posix(): v for k, v in entries.items()}
    assert by_name["a/clip.mp4"]["folder"] == "clip"
    assert by_name["b/clip.mp4"]["folder"] == "clip-2"
    assert by_name["b/broken.mp4"]["status"] == "failed"
    assert "cannot open" in str(by_name["b/broken.mp4"]["error"])
    assert "failed: " + str(inputs / "b" / "broken.mp4") in capsys.readouterr().err
    for folder in ("clip", "clip-2"):
        assert by_name["a/clip.mp4" if folder == "clip" else "b/clip.mp4"]["status"] == "done"
        assert {p.name for p in (out / folder).iterdir()} == {"clip.mp4", "stats.csv", "labels"}

    # Same statistics and label maps as `vidseg convert` of that file, same config.
    ref = tmp_path / "ref"
    ref.mkdir()
    convert_args = ["convert", str(inputs / "b" / "clip.mp4"), str(ref / "clip.mp4")]
    convert_args += ["--stats", str(ref / "stats.csv"), "--labels", str(ref / "labels")]
    assert main([*convert_args, "--max-frames", FRAMES, "--no-progress"]) == 0
    assert (out / "clip-2" / "stats.csv").read_bytes() == (ref / "stats.csv").read_bytes()
    labels = sorted(p.name for p in (ref / "labels").iterdir())
    assert labels and labels == sorted(p.name for p in (out / "clip-2" / "labels").iterdir())
    for name in labels:
        assert (out / "clip-2" / "labels" / name).read_bytes() == (
            ref / "labels" / name
        ).read_bytes()

    # A rerun skips what is done (no cluster needed) ...
    good = [str(inputs / "a"), str(inputs / "b" / "clip.mp4")]
    stamp = (out / "clip" / "stats.csv").stat().st_mtime_ns
    rerun = ["batch", *good, "--out", str(out), "--labels", "png", "--no-progress"]
    assert main([*rerun, "--max-frames", FRAMES]) == 0
    assert "2 of 2 inputs done already" in capsys.readouterr().err
    assert (out / "clip" / "stats.csv").stat().st_mtime_ns == stamp
    # ... and a changed config redoes them (on the shared cluster: one start saved).
    assert main([*rerun, "--max-frames", "5", "--scheduler", scheduler]) == 0
    frames = {
        line.split(",")[0] for line in (out / "clip" / "stats.csv").read_text().splitlines()[1:]
    }
    assert len(frames) == 5
    assert not list(out.rglob("*.partial*"))


class _Running:
    """A batch of the one VTEST clip (60 frames) running in a thread against ``scheduler``."""

    def __init__(self, scheduler: str, tmp_path: Path) -> None:
        self.clip = tmp_path / "vtest.avi"
        self.clip.symlink_to(media(VTEST))
        self.out = tmp_path / "out"
        cfg = Config().with_overrides({"max_frames": 60, "progress": False})
        cluster = ClusterConfig(scheduler=scheduler)
        opts = BatchOptions(inputs=[str(self.clip)], out=self.out, cluster=cluster)
        self.report: BatchReport | None = None
        self._thread = threading.Thread(target=lambda: setattr(self, "report", batch(opts, cfg)))
        self._thread.start()

    def kill_its_worker(self, client: Any, after: str | None = None) -> str:
        """SIGKILL the worker running the task (once it runs on a worker other than
        ``after``, a killed one); returns that worker's address."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys and w != after]
            if busy and list(self.out.rglob("*.partial.mp4")):
                os.kill(client.run(os.getpid, workers=busy[:1])[busy[0]], signal.SIGKILL)
                return busy[0]
            time.sleep(0.05)
        raise AssertionError("the task never started")

    def join(self) -> BatchReport:
        self._thread.join(timeout=120)
        assert self.report is not None
        return self.report


def test_a_worker_killed_mid_task_is_retried_and_the_batch_completes(
    scheduler: str, tmp_path: Path
) -> None:
    from distributed import Client

    running = _Running(scheduler, tmp_path)
    with Client(scheduler) as client:
        running.kill_its_worker(client)
    report = running.join()
    assert report.done == [str(running.clip)] and not report.failed
    assert _manifest(running.out)[str(running.clip)]["frames"] == 60


def test_a_task_whose_workers_keep_dying_is_that_files_failure(
    scheduler: str, tmp_path: Path
) -> None:
    from distributed import Client

    running = _Running(scheduler, tmp_path)
    with Client(scheduler) as client:
        first = running.kill_its_worker(client)
        running.kill_its_worker(client, after=first)  # past allowed-failures (1 here)
    report = running.join()
    assert list(report.failed) == [str(running.clip)]
    assert "KilledWorker" in report.failed[str(running.clip)]
    assert _manifest(running.out)[str(running.clip)]["status"] == "failed"
    assert list((running.out / "vtest").glob("*.partial.*"))  # kept, named as convert names them


def test_ctrl_c_stops_running_tasks_keeps_partials_and_a_rerun_finishes(
    scheduler: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    clip, out = tmp_path / "vtest.avi", tmp_path / "out"
    clip.symlink_to(media(VTEST))
    cmd = [sys.executable, "-m", "vidseg", "batch", str(clip), "--out", str(out)]
    cmd += ["--workers", "2", "--max-frames", "300", "--no-progress"]
    # Its own process group, as a terminal's Ctrl-C reaches the workers too.
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not list(out.rglob("*.partial.mp4")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    folder = out / "vtest"
    assert list(folder.glob("vtest.partial.mp4")) and not (folder / "vtest.mp4").exists()
    assert "stopped" in err and "Traceback" not in err
    assert _manifest(out)[str(clip)]["status"] == "pending"
    cfg = Config().with_overrides({"max_frames": 10, "progress": False})
    opts = BatchOptions(inputs=[str(clip)], out=out, cluster=ClusterConfig(scheduler=scheduler))
    assert batch(opts, cfg).done == [str(clip)]
    assert (folder / "vtest.mp4").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """`dask scheduler` and `dask worker` (2 processes) on 127.0.0.1, as the README runs them."""
    import subprocess
    import sys

    # The YAML form removes the nanny's MALLOC_TRIM_THRESHOLD_ (an environment
    # variable cannot: Dask lower-cases the key); see docs/notes/batch.md.
    conf = tmp_path / "dask-config"
    conf.mkdir()
    (conf / "vidseg.yaml").write_text(
        "distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n"
    )
    env = {**os.environ, "DASK_CONFIG": str(conf)}
    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    local = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    commands = [
        [dask, "scheduler", "--port", address.rsplit(":", 1)[1], *local],
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", *local],
    ]
    procs = [
        subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for c in commands
    ]
    try:
        yield address, [p.pid for p in procs]
    finally:
        from distributed import Client

        with contextlib.suppress(OSError, TimeoutError), Client(address, timeout="5s") as c:
            c.shutdown()  # scheduler and workers end together, faster than signals
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)  # dask's CLIs close their children on SIGINT
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_a_separate_dask_scheduler_and_workers_give_the_same_outputs(
    dask_processes: tuple[str, list[int]], tmp_path: Path
) -> None:
    import psutil
    from distributed import Client

    address, pids = dask_processes
    clip = tmp_path / "traffic.mp4"
    clip.symlink_to(media(TRAFFIC))
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
    tree = [psutil.Process(p) for p in pids]
    tree += [c for p in list(tree) for c in p.children(recursive=True)]
    assert {ip for ip, _ in _listening(tree)} == {"127.0.0.1"}

    out, ref = tmp_path / "out", tmp_path / "ref.csv"
    flags = ["--max-frames", FRAMES, "--no-progress"]
    assert main(["batch", str(clip), "--out", str(out), "--scheduler", address, *flags]) == 0
    assert main(["convert", str(clip), str(tmp_path / "ref.mp4"), "--stats", str(ref), *flags]) == 0
    assert (out / "traffic" / "stats.csv").read_bytes() == ref.read_bytes()


def test_an_analysis_section_adds_what_analyze_gives(scheduler: str, tmp_path: Path) -> None:
    clip = tmp_path / "traffic.mp4"
    clip.symlink_to(media(TRAFFIC))
    config = tmp_path / "zones.yaml"
    config.write_text(
        "analysis:\n  zones:\n    - name: lane\n      units: relative\n"
        "      points: [[0.1, 0.2], [0.5, 0.2], [0.5, 0.8], [0.1, 0.8]]\n"
    )
    out, ref = tmp_path / "out", tmp_path / "ref.csv"
    flags = ["--config", str(config), "--max-frames", "4", "--no-progress"]
    assert main(["batch", str(clip), "--out", str(out), "--scheduler", scheduler, *flags]) == 0
    assert main(["analyze", str(clip), "--stats", str(ref), *flags]) == 0
    folder = out / "traffic"
    assert (folder / "zones.csv").read_bytes() == ref.read_bytes()
    assert (folder / "report.html").is_file() and (folder / "stats.csv").is_file()
    outputs = _manifest(out)[str(clip)]["outputs"]
    assert "traffic/zones.maps.npz" in outputs  # type: ignore[operator]
