"""Test media: the shared real clips, small clips built in code, and ffprobe helpers.

Clips are built from real photos (``vidseg.io.demo.demo_frames``) with PyAV;
the real sample videos live in ``../shared/media`` next to the repository and
are never copied into it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from vidseg.frames import Frame, FrameResult
from vidseg.io.demo import demo_frames
from vidseg.io.sources import NetworkSource

MEDIA_DIR = Path(__file__).parents[1].parent / "shared" / "media"
VTEST = "vtest_pedestrians_static.avi"  # 795 frames at 10 fps, AAC (ADTS) audio, AVI
DASHCAM = "udacity_dashcam_solidWhiteRight.mp4"  # 221 frames, audio is stream 0
TRAFFIC = "o4n_traffic_topdown_static.mp4"  # 640x360, 23.976 fps, AAC audio
HAND = "o4n_hand_gesture_indoor.mp4"  # 512x640 portrait, no audio


def media(name: str) -> Path:
    """Path of a shared real clip; skips the test when it is absent."""
    path = MEDIA_DIR / name
    if not path.is_file():
        pytest.skip(f"shared test media {name!r} not found in {MEDIA_DIR}")
    return path


def need_ffmpeg() -> None:
    """Skip the test unless the ffmpeg and ffprobe programs are installed."""
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def frames(n: int = 24, size: tuple[int, int] = (160, 96)) -> list[np.ndarray]:
    """``n`` BGR frames of the demo pan (a real photo), ``size`` = (width, height)."""
    return list(demo_frames(n, size))


def write_clip(
    path: Path,
    images: Sequence[np.ndarray],
    *,
    codec: str = "libx264",
    rate: int = 25,
    time_base: Fraction | None = None,
    pts: Sequence[int] | None = None,
) -> Path:
    """Encode ``images`` with PyAV; ``pts`` (in ``time_base``) default to 0, 1, 2, ..."""
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i if pts is None else pts[i]
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_empty_clip(path: Path) -> Path:
    """A Matroska file with a video stream header and not a single frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


def patch_avi_frame_count(path: Path, claimed: int) -> None:
    """Make an AVI header claim ``claimed`` frames (avih dwTotalFrames, strh dwLength)."""
    data = bytearray(path.read_bytes())
    avih = data.index(b"avih")
    struct.pack_into("<I", data, avih + 8 + 16, claimed)
    strh = data.index(b"strh")
    struct.pack_into("<I", data, strh + 8 + 32, claimed)
    path.write_bytes(bytes(data))


def result(frame: Frame, view: np.ndarray | None = None) -> FrameResult:
    """A ``FrameResult`` for sink tests; sinks only read ``view`` and ``frame``."""
    return FrameResult(
        frame=frame,
        segmentation=None,  # type: ignore[arg-type]
        view=frame.image if view is None else view,
        stats=None,
    )  # type: ignore[arg-type]


def ffprobe(path: Path, *, count: bool = False) -> dict[str, Any]:
    """``ffprobe -show_streams -show_format`` as a dict (``count``: decode every frame)."""
    cmd = ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json"]
    if count:
        cmd.append("-count_frames")
    out = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=True, timeout=60)
    return dict(json.loads(out.stdout))


def stream(probe: dict[str, Any], kind: str) -> dict[str, Any]:
    """The first stream of ``kind`` ("video", "audio") in an :func:`ffprobe` result."""
    found = [s for s in probe["streams"] if s["codec_type"] == kind]
    assert found, f"no {kind} stream in {[s['codec_type'] for s in probe['streams']]}"
    return dict(found[0])


def packet_times(path: Path, kind: str = "v") -> list[float]:
    """Presentation times (s) of every packet of the first ``kind`` stream, in file order."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            f"{kind}:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [float(line.split(",")[0]) for line in out.stdout.split()]


def decode_errors(path: Path) -> str:
    """Decode the whole file with the ffmpeg program; return what it reported as errors."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stderr.strip() + ("" if out.returncode == 0 else f" (exit {out.returncode})")


def cv2_read(path: Path) -> tuple[int, int, int, float]:
    """Decode with OpenCV: (frames read, width, height, fps)."""
    cap = cv2.VideoCapture(str(path))
    try:
        assert cap.isOpened(), f"OpenCV cannot open {path}"
        n, size = 0, (0, 0)
        while True:
            ok, image = cap.read()
            if not ok:
                break
            n += 1
            size = (image.shape[1], image.shape[0])
        return n, size[0], size[1], cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()


def open_fds(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux)."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc/self/fd")
    target = os.path.realpath(path)
    n = 0
    for fd in fd_dir.iterdir():
        try:
            n += os.readlink(fd) == target
        except OSError:
            pass
    return n


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_stream(clip: Path, port: int, seconds: float) -> subprocess.Popen[bytes]:
    """ffmpeg serving ``seconds`` of ``clip`` in real time as MPEG-TS on one TCP connection."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-i",
            str(clip),
            "-t",
            str(seconds),
            "-an",
            "-c:v",
            "copy",
            "-f",
            "mpegts",
            f"tcp://127.0.0.1:{port}?listen=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_listening(port: int, server: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Wait until ``server`` listens on ``port``, without connecting (it takes one client).

    Reads the kernel's socket table (/proc/net/tcp: local port in hex, state 0A = LISTEN).
    """
    deadline = time.monotonic() + timeout
    needle = f":{port:04X} "
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"stream server exited with {server.returncode}")
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if needle in cols[1] + " " and cols[3] == "0A":
                        return
        time.sleep(0.02)
    raise AssertionError(f"stream server never listened on port {port}")


def connect_when_up(url: str, server: subprocess.Popen[bytes], **kw: float) -> NetworkSource:
    """A NetworkSource on ``url`` once ``server`` listens."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    wait_listening(port, server)
    return NetworkSource(url, **kw)  # type: ignore[arg-type]


def serve_live(
    clip: Path, port: int, seconds: float, *, size: str = "320x180", fps: int = 15
) -> subprocess.Popen[bytes]:
    """ffmpeg serving ``clip`` looped, scaled and re-encoded like a camera: constant
    ``fps``, H.264 without B-frames (zero latency), MPEG-TS on one TCP connection."""
    width, height = size.split("x")
    return subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            str(clip),
            "-t",
            str(seconds),
            "-an",
            "-vf",
            f"scale={width}:{height},fps={fps}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-flush_packets",
            "1",  # each frame leaves at once, as from a camera (not in 32 KiB bursts)
            "-f",
            "mpegts",
            f"tcp://127.0.0.1:{port}?listen=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
