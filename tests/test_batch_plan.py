"""Planning a batch (no cluster): inputs, folders, the manifest, reasons, bad usage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vidseg.apps.batch import _reason, settings_hash
from vidseg.cli import main
from vidseg.config import Config
from vidseg.dist.inputs import expand_inputs
from vidseg.dist.manifest import Manifest, locked
from vidseg.errors import ConfigError


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_inputs_are_files_directories_and_globs_each_once(tmp_path: Path) -> None:
    a = _touch(tmp_path / "in" / "a" / "cam.mp4")
    b = _touch(tmp_path / "in" / "b" / "deep" / "cam.MKV")
    _touch(tmp_path / "in" / "notes.txt")
    _touch(tmp_path / "in" / "a" / "cam.partial.mp4")  # a partial output, never an input
    _touch(tmp_path / "in" / "out" / "x.mp4")  # inside the output directory
    other = _touch(tmp_path / "odd.bin")  # a file named directly is taken as is
    specs = [str(tmp_path / "in"), str(tmp_path / "in" / "*" / "*.mp4"), str(other)]
    assert expand_inputs(specs, exclude=tmp_path / "in" / "out") == [a, b, other]
    with pytest.raises(ConfigError, match="not found"):
        expand_inputs([str(tmp_path / "missing.mp4")])
    with pytest.raises(ConfigError, match="no video files"):
        expand_inputs([str(tmp_path / "in" / "*.txt")])


def test_manifest_folders_never_collide_and_changes_are_seen(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _touch(out / "cam" / "someone-elses.txt")  # an existing folder is never reused
    a = _touch(tmp_path / "a" / "cam.mp4", b"one")
    b = _touch(tmp_path / "b" / "cam.mp4", b"two")
    with locked(out):
        manifest = Manifest(out)
        assert manifest.assign([a, b]) == {a: "cam-2", b: "cam-3"}
        stat = a.stat()
        manifest.update(a, status="done", size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                        sha256="x", config="c1")  # fmt: skip
        with pytest.raises(ConfigError, match="another vidseg batch"), locked(out):
            pass
    again = Manifest(out)
    assert again.assign([b, a]) == {a: "cam-2", b: "cam-3"}  # kept across runs
    assert again.is_done(a, "c1") and not again.is_done(a, "c2") and not again.is_done(b, "c1")
    again.update(a, outputs=("cam-2/cam.mp4",))
    assert not again.is_done(a, "c1")  # its output is gone
    _touch(out / "cam-2" / "cam.mp4")
    assert again.is_done(a, "c1")
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: hash decides
    assert not again.is_done(a, "c1")  # recorded sha256 "x" is not the content's
    assert json.loads((out / "manifest.json").read_text())["version"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".manifest.")]


def test_settings_hash_ignores_the_progress_bar_only() -> None:
    cfg = Config()
    base = settings_hash(cfg, analyze=False, labels_format=None)
    assert settings_hash(cfg.with_overrides({"progress": False}), analyze=False,
                         labels_format=None) == base  # fmt: skip
    assert settings_hash(cfg.with_overrides({"n_clusters": 4}), analyze=False,
                         labels_format=None) != base  # fmt: skip
    assert settings_hash(cfg, analyze=True, labels_format=None) != base


def test_a_worker_that_kept_dying_is_one_line(tmp_path: Path) -> None:
    from distributed import KilledWorker

    text = _reason(KilledWorker("task", "tcp://127.0.0.1:1", 3), tmp_path)
    assert "KilledWorker" in text and str(tmp_path) in text and "\n" not in text


@pytest.mark.parametrize(
    "argv",
    [["--workers", "0"], ["--scheduler", " "], ["/nonexistent/input.mp4"]],
)
def test_bad_usage_exits_2_before_any_cluster(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = _touch(tmp_path / "c.mp4")
    args = ["batch", *argv] if argv[0].startswith("/") else ["batch", str(clip), *argv]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_bar_counts_frames_from_worker_events_and_videos() -> None:
    from vidseg.dist.progress import BatchProgress

    bar = BatchProgress({"a": 10, "b": 20}, enabled=False)
    bar.on_event((0.0, {"input": "a", "frames": 4, "state": "running"}))
    bar.on_event((0.0, {"input": "b", "frames": 5, "state": "running"}))
    bar.on_event((0.0, {"input": "other batch", "frames": 99}))
    assert bar.frames == 9
    bar.on_event((0.0, {"input": "a", "frames": 0}))  # a retried task starts again
    assert bar.frames == 5
    bar.finished("a", ok=True)
    bar.finished("b", ok=False)
    assert (bar.frames, bar.done, bar.failed) == (15, 1, 1)
    bar.close()
