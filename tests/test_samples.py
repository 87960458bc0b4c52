"""Every sample script runs (on built-in clips instead of a camera)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).parents[1] / "samples"


def _run(tmp_path: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_segment_image(tmp_path: Path) -> None:
    out = _run(tmp_path, str(SAMPLES / "segment_image.py"), "--k", "5")
    assert out.count("cluster") == 5 and (tmp_path / "segmented.png").is_file()


def test_convert_clip(tmp_path: Path) -> None:
    out = _run(
        tmp_path,
        str(SAMPLES / "convert_clip.py"),
        "demo",
        "c.mp4",
        "--k",
        "4",
        "--max-frames",
        "10",
    )
    assert out.count("largest cluster") == 10 and (tmp_path / "c.mp4").is_file()


def test_webcam_loop_on_builtin_clip(tmp_path: Path) -> None:
    out = _run(tmp_path, str(SAMPLES / "webcam_loop.py"), "demo", "--headless", "--frames", "5")
    assert out.count("fps, areas") == 5
