"""Frame sources: real clips, clips built from real photos, bad inputs, the lifecycle."""

from __future__ import annotations

import itertools
import logging
import subprocess
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import (
    DASHCAM,
    HAND,
    TRAFFIC,
    VTEST,
    connect_when_up,
    frames,
    free_port,
    media,
    need_ffmpeg,
    open_fds,
    patch_avi_frame_count,
    serve_stream,
    write_clip,
    write_empty_clip,
)

import vidseg.io.sources as sources
from vidseg.errors import ClosedError, SourceOpenError, SourceReadError
from vidseg.frames import Frame
from vidseg.io.sources import (
    ArraySource,
    CameraSource,
    DemoSource,
    FrameSource,
    ImageSequenceSource,
    LiveSource,
    NetworkSource,
    VideoFileSource,
    open_source,
)

# -- video files -------------------------------------------------------------------


def test_video_file_round_trip(tmp_path: Path) -> None:
    images = frames(30, (160, 96))
    clip = write_clip(tmp_path / "clip.mp4", images, rate=25)
    with VideoFileSource(clip) as src:
        assert (src.info.width, src.info.height, src.info.fps) == (160, 96, 25.0)
        assert src.info.live is False and src.info.audio is None
        got = list(src)
    assert [f.index for f in got] == list(range(30))
    np.testing.assert_allclose([f.time_s for f in got], np.arange(30) / 25, atol=1e-9)
    assert all(f.image.shape == (96, 160, 3) and f.image.dtype == np.uint8 for f in got)

    # Lossy, but each decoded frame is closest to the picture written at its place.
    def mae(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - b.astype(int)).mean())

    for i in (0, 10, 29):
        errors = [mae(got[i].image, image) for image in images]
        assert int(np.argmin(errors)) == i and errors[i] < 12


def test_real_avi_with_out_of_order_pts_and_audio() -> None:
    # The AVI's PTS jump back and forth (B-frames stored in decode order); the
    # source must still deliver every frame once, 0.1 s apart, and all its audio.
    with VideoFileSource(media(VTEST)) as src:
        info = src.info
        got = [(f.time_s, len(f.packets)) for f in src]
    assert (info.width, info.height, info.fps, info.frame_count) == (480, 360, 10.0, 795)
    assert info.time_base == Fraction(1, 10)
    assert info.audio is not None and info.audio.codec_context.name == "aac"
    times = np.array([t for t, _ in got])
    assert len(times) == 795
    np.testing.assert_allclose(np.diff(times), 0.1, atol=1e-9)
    assert sum(n for _, n in got) == 3426  # every audio packet ffprobe counts


def test_real_mp4_audio_first_stream() -> None:
    with VideoFileSource(media(DASHCAM)) as src:
        audio = src.info.audio
        assert audio is not None and audio.codec_context.name == "aac"
        got = list(src)
    assert len(got) == 221
    packets = [p for f in got for p in f.packets]
    # Packets and template stay usable after the source closed its file.
    assert len(packets) == 415 and all(p.stream is audio for p in packets)
    assert audio.codec_context.sample_rate == 48000 and audio.type == "audio"
    assert got[-1].time_s == pytest.approx(220 / 25)


def test_audio_false_drops_packets() -> None:
    with VideoFileSource(media(DASHCAM), audio=False) as src:
        assert src.info.audio is None
        assert all(not f.packets for f in src)


def test_header_that_lies_about_fps(tmp_path: Path) -> None:
    # Matroska header: 50 fps.  Real frames: 2 ticks of 1/50 s apart (25 fps).
    clip = write_clip(
        tmp_path / "lie.mkv",
        frames(20),
        rate=50,
        time_base=Fraction(1, 50),
        pts=[2 * i for i in range(20)],
    )
    with VideoFileSource(clip) as src:
        assert src.info.fps == 50.0  # the claim is reported as such...
        assert src.info.frame_count is None
        times = [f.time_s for f in src]
    assert len(times) == 20  # ...but frames are counted and timed by their PTS
    np.testing.assert_allclose(times, np.arange(20) * 0.04, atol=1e-9)


def test_header_that_lies_about_frame_count(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "lie.avi", frames(30), codec="mjpeg", rate=25)
    patch_avi_frame_count(clip, 1000)
    got: list[Frame] = []
    with VideoFileSource(clip) as src, pytest.raises(SourceReadError) as err:
        assert src.info.frame_count == 1000
        got.extend(src)  # every frame, then the shortfall is reported (issue 13)
    assert len(got) == 30
    assert "read 30 of 1000 frames the header claims; the input is truncated" in str(err.value)
    np.testing.assert_allclose([f.time_s for f in got], np.arange(30) / 25, atol=1e-9)


def test_missing_file() -> None:
    with pytest.raises(SourceOpenError, match=r"input file not found: 'nope/missing\.mp4'"):
        VideoFileSource("nope/missing.mp4")
    with pytest.raises(SourceOpenError) as err:
        open_source("nope/missing.mp4")
    msg = str(err.value)
    assert "\n" not in msg and "'nope/missing.mp4'" in msg and "demo" in msg


def test_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are meeting notes, not a video\n" * 50)
    with pytest.raises(SourceOpenError, match=r"cannot open .*notes\.mp4.* as a video"):
        VideoFileSource(fake)


def test_audio_only_file(tmp_path: Path) -> None:
    need_ffmpeg()
    audio = tmp_path / "sound.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(media(DASHCAM)),
            "-vn",
            "-c",
            "copy",
            "-t",
            "1",
            str(audio),
        ],
        check=True,
        timeout=60,
    )
    with pytest.raises(SourceOpenError, match=r"sound\.m4a.* has no video stream"):
        VideoFileSource(audio)


def test_zero_frame_file(tmp_path: Path) -> None:
    clip = write_empty_clip(tmp_path / "empty.mkv")
    with pytest.raises(SourceOpenError, match=r"empty\.mkv"):
        VideoFileSource(clip)


def test_truncated_file_yields_what_decodes_then_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = media(VTEST).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    got: list[Frame] = []
    src = VideoFileSource(cut)
    with caplog.at_level(logging.WARNING), pytest.raises(SourceReadError) as err:
        for frame in src:
            got.append(frame)
    assert 400 < len(got) < 795
    assert f"read {len(got)} of 795 frames the header claims" in str(err.value)
    assert "corrupt packets skipped" in str(err.value) and "cut.avi" in str(err.value)
    assert not caplog.records  # reported once, by whoever catches the error
    assert src.closed and open_fds(cut) == 0


def test_truncated_mp4(tmp_path: Path) -> None:
    data = media(TRAFFIC).read_bytes()  # its index (moov) is at the end: nothing to read
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(SourceOpenError, match=r"cut\.mp4"):
        VideoFileSource(cut)


# -- image sequences, arrays, the demo --------------------------------------------------


def _write_images(folder: Path, images: list[np.ndarray], names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for image, name in zip(images, names, strict=True):
        assert cv2.imwrite(str(folder / name), image)


def test_image_directory_natural_order(tmp_path: Path) -> None:
    images = frames(12, (64, 48))
    names = [f"f{i}.{'png' if i % 2 else 'jpg'}" for i in range(12)]  # f10 after f9
    _write_images(tmp_path / "seq", images, names)
    (tmp_path / "seq" / "readme.txt").write_text("not an image")
    with ImageSequenceSource(tmp_path / "seq", fps=10) as src:
        assert src.info.frame_count == 12 and (src.info.width, src.info.height) == (64, 48)
        got = list(src)
    assert [f.index for f in got] == list(range(12))
    np.testing.assert_allclose([f.time_s for f in got], np.arange(12) / 10)
    np.testing.assert_array_equal(got[11].image, images[11])  # png is lossless


def test_image_glob_and_resize(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    images = frames(3, (64, 48)) + frames(1, (32, 24))
    _write_images(tmp_path, images, ["a1.png", "a2.png", "a3.png", "a4.png"])
    with caplog.at_level(logging.WARNING):
        shapes = [f.image.shape for f in ImageSequenceSource(str(tmp_path / "a*.png"))]
    assert shapes == [(48, 64, 3)] * 4
    assert "resizing to 64x48" in caplog.text


def test_unreadable_image(tmp_path: Path) -> None:
    _write_images(tmp_path, frames(2, (64, 48)), ["f1.png", "f2.png"])
    (tmp_path / "f3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    got = []
    with pytest.raises(SourceReadError, match=r"cannot read image .*f3\.png"):
        for frame in ImageSequenceSource(tmp_path):
            got.append(frame)
    assert len(got) == 2


def test_empty_image_match(tmp_path: Path) -> None:
    with pytest.raises(SourceOpenError, match="no image files match"):
        ImageSequenceSource(tmp_path)
    with pytest.raises(SourceOpenError, match="no image files match"):
        open_source(str(tmp_path / "*.png"))


def test_array_source_checks_frames() -> None:
    with pytest.raises(SourceOpenError, match="no frames"):
        ArraySource([])
    with pytest.raises(ValueError, match=r"frame 0: expected an \(H, W, 3\) uint8"):
        ArraySource([np.zeros((4, 4), np.uint8)])
    src = ArraySource([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(ValueError, match="frame 1"):
        list(src)
    assert src.closed


def test_array_source_live_and_timing() -> None:
    src = ArraySource(iter(frames(5, (32, 24))), fps=10, live=True, name="cam-sim")
    assert src.info.live and src.info.frame_count is None and src.info.name == "cam-sim"
    assert [f.pts for f in src] == [0, 1, 2, 3, 4]


def test_demo_source() -> None:
    with DemoSource(n_frames=6, size=(80, 40), fps=12.5) as src:
        assert (src.info.width, src.info.height, src.info.frame_count) == (80, 40, 6)
        got = list(src)
    assert len(got) == 6 and got[-1].time_s == pytest.approx(5 / 12.5)


# -- the contract every source keeps --------------------------------------------------


def _video(tmp: Path) -> FrameSource:
    return VideoFileSource(write_clip(tmp / "c.mkv", frames(20, (64, 48))))


def _images(tmp: Path) -> FrameSource:
    _write_images(tmp / "seq", frames(20, (64, 48)), [f"{i:03d}.png" for i in range(20)])
    return ImageSequenceSource(tmp / "seq")


KINDS: dict[str, Callable[[Path], FrameSource]] = {
    "video-file": _video,
    "image-sequence": _images,
    "array": lambda tmp: ArraySource(frames(20, (64, 48))),
    "demo": lambda tmp: DemoSource(n_frames=20, size=(64, 48)),
}


@pytest.fixture(params=sorted(KINDS))
def make_source(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], FrameSource]:
    return lambda: KINDS[request.param](tmp_path)


def test_contract_enter_iterate_exit(make_source: Callable[[], FrameSource]) -> None:
    src = make_source()
    assert isinstance(src, FrameSource)
    with src as entered:
        assert entered is src
        got = list(src)
    assert len(got) == 20 and [f.index for f in got] == list(range(20))
    assert all(f.image.shape == (src.info.height, src.info.width, 3) for f in got)
    assert all(b.time_s > a.time_s for a, b in itertools.pairwise(got))


def test_contract_double_close_and_use_after_close(make_source: Callable[[], FrameSource]) -> None:
    src = make_source()
    src.close()
    src.close()
    with pytest.raises(ClosedError):
        iter(src)
    with pytest.raises(ClosedError):
        src.__enter__()


def test_contract_early_break_releases(make_source: Callable[[], FrameSource]) -> None:
    src = make_source()
    path = Path(src.info.name)
    for frame in src:
        if frame.index == 2:
            break
    assert src.closed  # type: ignore[attr-defined]
    if path.is_file():
        assert open_fds(path) == 0
    with pytest.raises(ClosedError):
        list(src)


def test_contract_close_while_iterating(make_source: Callable[[], FrameSource]) -> None:
    src = make_source()
    it = iter(src)
    next(it)
    src.close()
    assert list(it) == []


def test_single_pass() -> None:
    src = ArraySource(frames(3, (32, 24)))
    it = iter(src)
    next(it)
    with pytest.raises(RuntimeError, match="single-pass"):
        iter(src)
    src.close()


# -- open_source --------------------------------------------------------------------


def test_open_source_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(sources, "CameraSource", lambda i, **kw: calls.append(("camera", i)))
    monkeypatch.setattr(sources, "NetworkSource", lambda u, **kw: calls.append(("net", u)))
    open_source("0")
    open_source("rtsp://127.0.0.1/cam")
    open_source("tcp://127.0.0.1:9")
    assert calls == [("camera", 0), ("net", "rtsp://127.0.0.1/cam"), ("net", "tcp://127.0.0.1:9")]
    assert isinstance(open_source("demo"), DemoSource)
    _write_images(tmp_path / "seq", frames(2, (32, 24)), ["1.png", "2.png"])
    assert isinstance(open_source(str(tmp_path / "seq")), ImageSequenceSource)
    assert isinstance(open_source(str(tmp_path / "seq" / "*.png")), ImageSequenceSource)
    clip = write_clip(tmp_path / "c.mp4", frames(3, (32, 24)))
    with open_source(str(clip)) as src:
        assert isinstance(src, VideoFileSource)


# -- live sources -------------------------------------------------------------------


class _ScriptedLive(LiveSource):
    """A live source whose connections follow a script: each entry is a list of frame
    sizes to deliver before the link drops, or ``None`` for a failed connect."""

    def __init__(self, script: list[list[tuple[int, int]] | None], **kw: object) -> None:
        self._script = iter(script)
        self._current: list[tuple[int, int]] = []
        self.waits: list[float] = []
        super().__init__("scripted", **kw)  # type: ignore[arg-type]
        self._stop.wait = self._record  # type: ignore[method-assign]

    def _record(self, delay: float | None = None) -> bool:
        self.waits.append(delay or 0.0)
        return False

    def _connect(self) -> None:
        step = next(self._script, None)
        if step is None:
            raise SourceOpenError("refused")
        self._current = step

    def _read(self) -> Iterator[np.ndarray]:
        for w, h in self._current:
            yield np.full((h, w, 3), 7, np.uint8)
        raise SourceReadError("link dropped")

    def _disconnect(self) -> None:
        self._current = []


def test_reconnect_policy(caplog: pytest.LogCaptureFixture) -> None:
    script = [[(64, 48)] * 3, None, None, [(32, 24)] * 2, None, None, None, None]
    src = _ScriptedLive(script, reconnect_attempts=4, reconnect_backoff=3.0)
    assert src.info.live and (src.info.width, src.info.height) == (64, 48)
    got: list[Frame] = []
    with caplog.at_level(logging.WARNING), pytest.raises(SourceReadError) as err:
        for frame in src:
            got.append(frame)
    assert len(got) == 5 and src.reconnects == 1
    # Frames pass at their own size (the runner reopens the sinks on a change).
    assert [f.image.shape for f in got] == [(48, 64, 3)] * 3 + [(24, 32, 3)] * 2
    assert [f.index for f in got] == list(range(5))
    assert all(b.pts > a.pts for a, b in itertools.pairwise(got))  # type: ignore[operator]
    # Outage 1: 3 s, 6 s, 10 s (capped), connected.  Outage 2: 3, 6, 10, 10, give up.
    assert src.waits == [3.0, 6.0, 10.0, 3.0, 6.0, 10.0, 10.0]
    assert "gave up after 4 reconnect attempts" in str(err.value)
    assert caplog.text.count("reconnect attempt") == 7
    assert caplog.text.count("changed frame size") == 1


def test_network_source_bad_url() -> None:
    with pytest.raises(SourceOpenError, match="unsupported stream URL 'ftp://x'"):
        NetworkSource("ftp://x")
    with pytest.raises(SourceOpenError, match=r"cannot open stream 'tcp://127\.0\.0\.1:\d+'"):
        NetworkSource(f"tcp://127.0.0.1:{free_port()}", timeout=2.0, reconnect_attempts=0)


def test_network_source_masks_password() -> None:
    with pytest.raises(SourceOpenError) as err:
        NetworkSource(
            f"rtsp://admin:secret@127.0.0.1:{free_port()}/live", timeout=2.0, reconnect_attempts=0
        )
    assert "secret" not in str(err.value) and "admin:***@127.0.0.1" in str(err.value)


def test_network_source_reconnects_then_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    need_ffmpeg()
    first, second = media(TRAFFIC), media(HAND)  # 640x360, then a 512x640 stream
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    servers = [serve_stream(first, port, 1.0)]
    try:
        src = connect_when_up(
            url, servers[0], reconnect_attempts=3, reconnect_backoff=0.1, timeout=5.0
        )
        # ffmpeg closes its listening socket once the client is in, so the second
        # server can wait on the same port while the first one still streams.
        servers.append(serve_stream(second, port, 1.0))
        got: list[tuple[int, tuple[int, ...]]] = []
        with caplog.at_level(logging.WARNING), pytest.raises(SourceReadError) as err:
            for frame in src:
                got.append((src.reconnects, frame.image.shape))
    finally:
        for server in servers:
            server.kill()
            server.wait()
    assert src.info.live and src.info.frame_count is None
    assert src.reconnects >= 1
    before = [shape for n, shape in got if n == 0]
    after = [shape for n, shape in got if n >= 1]
    assert len(before) > 5 and len(after) > 5
    assert set(before) == {(360, 640, 3)} and set(after) == {(640, 512, 3)}
    assert "gave up after 3 reconnect attempts" in str(err.value)
    assert "reconnect attempt 1/3" in caplog.text
    assert caplog.text.count("changed frame size") == 1
    assert src.closed


@pytest.mark.camera
def test_camera(request: pytest.FixtureRequest) -> None:
    if not request.config.getoption("--camera", default=False):
        pytest.skip("camera tests run only with --camera")
    with CameraSource(0, width=640, height=480) as cam:
        frame = next(iter(cam))
        assert cam.info.live and frame.image.ndim == 3


def test_open_source_missing_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceOpenError) as err:
        open_source(str(tmp_path / "clip.mov"))
    assert str(err.value).count("\n") == 0 and "clip.mov" in str(err.value)


def test_down_at_start_then_forever_until_it_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    # Refused 3 times at start, then 2 frames, then refused 12 times (more than any
    # bounded default), then back: -1 keeps trying, each attempt logged once.
    script = [None] * 3 + [[(64, 48)] * 2] + [None] * 12 + [[(64, 48)] * 2]
    with caplog.at_level(logging.WARNING):
        src = _ScriptedLive(script, reconnect_attempts=-1, reconnect_backoff=0.01)
        got = []
        for frame in src:
            got.append(frame)
            if len(got) == 4:
                break
    assert len(got) == 4 and src.reconnects == 1 and src.closed
    # The first try at start is not an attempt; the last attempt of each outage connects.
    assert caplog.text.count("connect attempt") == 3 + 13
    assert "connect attempt 3 in" in caplog.text and "reconnect attempt 13 in" in caplog.text
    assert "attempt 13/" not in caplog.text  # no total when it is forever
    assert len(src.waits) == 13 and max(src.waits) == 10.0  # capped back-off
