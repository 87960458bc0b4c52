"""The command line feels finished: fast help, one exit-code table, words on the terminal.

Real processes where it matters: ``python -m vidseg`` in a subprocess, a real
ffmpeg writing into its standard input, a pseudo-terminal for the progress line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import av
import pytest
from media import HAND, TRAFFIC, VTEST, cv2_read, media, need_ffmpeg

from vidseg.cli import main
from vidseg.errors import (
    ConfigError,
    EncoderNotFoundError,
    OutputUsageError,
    SinkError,
    SourceOpenError,
    SourceReadError,
)
from vidseg.exitcodes import ExitCode

REPO = Path(__file__).parents[1]
HEAVY = ("sklearn", "scipy", "numba", "av", "cv2", "numpy", "tqdm", "vidseg.engine")


def _vidseg(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vidseg", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("args", [["--help"], ["config"], ["convert", "--help"]])
def test_help_and_config_import_nothing_heavy(args: list[str]) -> None:
    code = (
        "import json, sys\n"
        "from vidseg.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_public_names_still_import() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import vidseg; from vidseg import Segmenter, ConfigError; "
            "assert all(hasattr(vidseg, n) for n in vidseg.__all__); print(Segmenter.__name__)",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stdout.strip() == "Segmenter", done.stderr


def test_help_lists_choices_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = capsys.readouterr().out
    for choices in (
        "{recolor,palette,side-by-side,overlay}",
        "{bgr,lab,oklab}",
        "{latency,throughput}",
        "{ultrafast,superfast,",
        "{png,npz}",
    ):
        assert choices in text
    assert "(2..64, default: 8)" in text  # ranges shown
    examples = text.split("examples:")[1].split("exit codes:")[0]
    assert 3 <= examples.count("vidseg convert") <= 5
    table = text.split("exit codes:")[1]
    for code in ("0 ", "1 ", "2 ", "130", "143"):
        assert f"  {code}" in table
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "examples:" in top and "exit codes:" in top


def test_exit_codes_follow_the_error_types() -> None:
    assert ConfigError("x").exit_code == ExitCode.USAGE == 2
    assert OutputUsageError("x").exit_code == EncoderNotFoundError("x").exit_code == 2
    assert SourceOpenError("x").exit_code == SourceReadError("x").exit_code == 1
    assert SinkError("x").exit_code == ExitCode.FAILURE == 1
    assert issubclass(OutputUsageError, SinkError)


@pytest.mark.parametrize(
    "name,args,message",
    [
        ("d.mp4", ["--codec", "nosuchcodec"], "nosuchcodec"),
        ("d.flv", [], "unsupported output container '.flv'"),
        ("d.webm", ["--codec", "libx264"], "cannot be stored in .webm"),
        ("d.mp4", ["--crf", "60"], "crf must be in [0, 51] for libx264, got 60"),
        ("d.mkv", ["--codec", "libx265", "--crf", "52"], "[0, 51] for libx265"),
        ("d.mp4", ["--preset", "quick"], "invalid choice: 'quick'"),
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    args: list[str],
    message: str,
) -> None:
    try:
        code = main(["demo", str(tmp_path / name), *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not list(tmp_path.iterdir())


def test_existing_output_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    done = _vidseg("demo", str(out), "--max-frames", "2")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "--overwrite" in done.stderr
    assert out.read_bytes() == b"keep me"


def test_webm_gets_vp9_and_its_own_crf_range(tmp_path: Path) -> None:
    out = tmp_path / "d.webm"
    assert main(["demo", str(out), "--max-frames", "6", "--crf", "60", "-q"]) == 0
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        assert sum(1 for _ in container.decode(video=0)) == 6


@pytest.mark.parametrize("spec", ["-", "pipe:"])
def test_standard_input_stream(tmp_path: Path, spec: str) -> None:
    need_ffmpeg()
    out = tmp_path / "o.mp4"
    producer = subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(media(TRAFFIC)),
            "-frames:v",
            "30",
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-f",
            "mpegts",
            "-",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        done = _vidseg("convert", spec, str(out), "--k", "3", stdin=producer.stdout)
    finally:
        assert producer.stdout is not None
        producer.stdout.close()
        producer.wait(timeout=600)
    assert done.returncode == 0, done.stderr
    assert cv2_read(out)[:3] == (30, 640, 360)  # every frame, in order, none dropped
    assert "input stdin" in done.stderr


def test_missing_camera_says_it_once(tmp_path: Path) -> None:
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a camera 7")
    done = _vidseg("convert", "7", str(tmp_path / "cam.mp4"))
    assert done.returncode == 1
    assert done.stderr.startswith("vidseg: error: cannot open camera 7")
    assert done.stderr.count("\n") == 1, done.stderr  # no OpenCV [ WARN] / [ERROR] lines
    assert not list(tmp_path.iterdir())


def test_summary_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, stats = tmp_path / "o.mp4", tmp_path / "s.csv"
    clip = str(media(TRAFFIC))
    assert main(["convert", clip, str(out), "--max-frames", "12", "--stats", str(stats)]) == 0
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("vidseg: 12 frames written in ")
    assert " fps" in last and f"to {out}, {stats}" in last
    assert "fit error" not in err and "INFO" not in err


def _run_on_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run vidseg with stderr on a pseudo-terminal 100 columns wide; returns (code, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidseg", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=cwd,
        env=dict(os.environ, TERM="xterm"),
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=600), b"".join(chunks).decode(errors="replace")


def test_log_lines_never_land_inside_the_progress_line(tmp_path: Path) -> None:
    cut = tmp_path / "cut.avi"  # truncated: a warning arrives while the line is shown
    data = media(VTEST).read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.4)])  # ~320 frames, then a broken packet
    code, err = _run_on_terminal(["convert", str(cut), "o.mp4", "--k", "3"], tmp_path)
    assert code == 1
    assert " frames [" in err and " fps" in err  # the line shows words
    lines = [line.rsplit("\r", 1)[-1] for line in err.replace("\r\n", "\n").split("\n")]
    warned = [line for line in lines if "warning:" in line]
    assert warned, err
    for line in warned:
        assert line.lstrip("\x1b[A").startswith("vidseg: warning:"), repr(line)


def test_default_output_is_no_larger_than_its_input(tmp_path: Path) -> None:
    clip = media(HAND)  # 0.56 MB of efficient H.264; segmented at the old defaults: 3.7 MB
    out = tmp_path / "o.mp4"
    assert main(["convert", str(clip), str(out), "-q"]) == 0
    assert out.stat().st_size <= clip.stat().st_size
    head = out.read_bytes()
    assert b"cabac=1 " in head and b"keyint=250 " in head  # 10 s at 25 fps (files)


def test_demo_reports_its_steady_fps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "d.mp4"), "--max-frames", "6", "--k", "3", "-q"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("6 frames written in ")
    assert "fps after the first frame, which loads the kernels" in line


def test_packaging_metadata_has_no_deprecated_licence_table() -> None:
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"  # SPDX string, not the deprecated table
    assert "setuptools>=77" in meta["build-system"]["requires"]


def test_setup_a_second_time_installs_nothing() -> None:
    venv = Path(sys.prefix)
    stamp = venv / ".vidseg-setup"
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text().splitlines()[0] != f"{digest} {REPO}":
        pytest.skip("this environment was not set up from this tree by scripts/setup.sh")
    installed = sorted(venv.glob("lib/python*/site-packages/*vidseg*"))
    before = [p.stat().st_mtime_ns for p in installed]
    done = subprocess.run(
        ["bash", "-c", "source scripts/setup.sh"],
        env={k: v for k, v in os.environ.items() if k != "EXTRAS"} | {"VENV": str(venv)},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # no pip, no setuptools warnings
    assert [p.stat().st_mtime_ns for p in installed] == before
