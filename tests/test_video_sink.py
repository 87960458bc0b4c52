"""VideoFileSink: real encoders, read back with other decoders (ffprobe, OpenCV)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import (
    DASHCAM,
    VTEST,
    cv2_read,
    decode_errors,
    ffprobe,
    frames,
    media,
    need_ffmpeg,
    packet_times,
    result,
    stream,
)

from vidseg.errors import ClosedError, EncoderNotFoundError, SinkError
from vidseg.frames import Frame, StreamInfo
from vidseg.io.sources import ArraySource, VideoFileSource
from vidseg.io.video_sink import VideoFileSink, available_encoders

pytestmark = pytest.mark.usefixtures("ffmpeg_tools")


@pytest.fixture
def ffmpeg_tools() -> None:
    need_ffmpeg()


def _write(
    path: Path, n: int = 20, size: tuple[int, int] = (160, 96), fps: float = 25, **kw: object
) -> VideoFileSink:
    src = ArraySource(frames(n, size), fps=fps)
    with VideoFileSink(path, **kw) as sink:  # type: ignore[arg-type]
        sink.open(src.info)
        for frame in src:
            sink.write(result(frame))
    return sink


def test_round_trip_h264_mp4(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    sink = _write(out, n=20, size=(160, 96), fps=25)
    assert sink.frames_written == 20 and sink.closed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no .partial left
    n, width, height, fps = cv2_read(out)
    assert (n, width, height) == (20, 160, 96) and fps == pytest.approx(25)
    probe = ffprobe(out, count=True)
    video = stream(probe, "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video["profile"] == "High"
    assert int(video["nb_read_frames"]) == 20 and video["r_frame_rate"] == "25/1"
    assert float(video["duration"]) == pytest.approx(0.8, abs=1e-3)
    assert not [s for s in probe["streams"] if s["codec_type"] == "audio"]
    data = out.read_bytes()  # a normal, progressive-download MP4: index first, no fragments
    assert data.index(b"moov") < data.index(b"mdat") and b"moof" not in data
    assert decode_errors(out) == ""


def test_convert_real_clip_keeps_every_frame_and_audio(tmp_path: Path) -> None:
    # A plain `ffmpeg -i vtest.avi out.mp4` writes 797 frames; each frame once is 795.
    out = tmp_path / "vtest.mp4"
    with VideoFileSource(media(VTEST)) as src, VideoFileSink(out) as sink:
        sink.open(src.info)
        for frame in src:
            sink.write(result(frame))
    probe = ffprobe(out, count=True)
    video, audio = stream(probe, "video"), stream(probe, "audio")
    assert int(video["nb_read_frames"]) == 795
    assert float(video["duration"]) == pytest.approx(79.5, abs=0.05)
    assert audio["codec_name"] == "aac" and float(audio["duration"]) == pytest.approx(
        79.55, abs=0.1
    )
    times = packet_times(out)
    np.testing.assert_allclose(np.diff(sorted(times)), 0.1, atol=1e-3)  # no dup, no drop
    assert cv2_read(out)[:3] == (795, 480, 360)


@pytest.mark.parametrize("cabac", [False, True])
def test_cabac_option_reaches_x264(tmp_path: Path, cabac: bool) -> None:
    """x264 records its settings in the stream (an SEI message): CAVLC unless asked."""
    out = tmp_path / "out.mp4"
    _write(out, n=5, cabac=cabac)
    assert f"cabac={int(cabac)} ".encode() in out.read_bytes()
    assert cv2_read(out)[0] == 5


@pytest.mark.parametrize("live", [False, True])
def test_live_output_has_no_encoder_delay(tmp_path: Path, live: bool) -> None:
    """For a live source each frame's packet is in the file when write() returns
    (zero-latency x264); a file source lets x264 buffer frames for throughput."""
    src = ArraySource(frames(12, (320, 192)), fps=25, live=live)
    lag = []
    with VideoFileSink(tmp_path / "out.mp4") as sink:
        sink.open(src.info)
        for frame in src:
            sink.write(result(frame))
            lag.append(sink.frames_written - sink.packets_written)
    assert sink.packets_written == sink.frames_written == 12
    assert max(lag) == 0 if live else max(lag) > 0
    assert cv2_read(tmp_path / "out.mp4")[0] == 12


def test_reopen_continues_in_the_first_free_name(tmp_path: Path) -> None:
    """A size change finishes out.mp4 and, with out-2.mp4 taken, continues in out-3.mp4."""
    (tmp_path / "out-2.mp4").write_bytes(b"not ours")
    small, big = ArraySource(frames(3, (96, 64)), live=True), ArraySource(frames(4, (64, 80)))
    with VideoFileSink(tmp_path / "out.mp4") as sink:
        sink.open(small.info)
        for frame in small:
            sink.write(result(frame))
        sink.reopen(big.info)
        for frame in big:
            sink.write(result(frame))
    assert sink.outputs == [tmp_path / "out.mp4"] and sink.path == tmp_path / "out-3.mp4"
    assert cv2_read(tmp_path / "out.mp4")[:3] == (3, 96, 64)
    assert cv2_read(tmp_path / "out-3.mp4")[:3] == (4, 64, 80)
    assert (tmp_path / "out-2.mp4").read_bytes() == b"not ours"


def test_output_timestamps_are_the_inputs(tmp_path: Path) -> None:
    # Variable frame rate in, variable frame rate out; a repeated PTS is bumped by one tick.
    pts = [0, 2, 4, 10, 11, 11, 20, 21]
    images = frames(len(pts), (96, 64))
    info = StreamInfo(width=96, height=64, fps=25.0, time_base=Fraction(1, 50))
    out = tmp_path / "vfr.mkv"
    with VideoFileSink(out) as sink:
        sink.open(info)
        for i, (p, image) in enumerate(zip(pts, images, strict=True)):
            sink.write(result(Frame(image=image, index=i, time_s=p / 50, pts=p)))
    assert sorted(packet_times(out)) == pytest.approx(
        [p / 50 for p in [0, 2, 4, 10, 11, 12, 20, 21]], abs=1e-3
    )


def test_odd_size_is_padded(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    _write(out, n=5, size=(161, 91))
    video = stream(ffprobe(out), "video")
    assert (video["width"], video["height"]) == (162, 92)


def test_matroska_and_no_audio(tmp_path: Path) -> None:
    out = tmp_path / "clip.mkv"
    with VideoFileSource(media(DASHCAM)) as src, VideoFileSink(out, keep_audio=False) as sink:
        sink.open(src.info)
        for frame in src:
            sink.write(result(frame, view=frame.image[::4, ::4]))
            if frame.index == 9:
                break
    probe = ffprobe(out, count=True)
    assert [s["codec_type"] for s in probe["streams"]] == ["video"]
    assert int(stream(probe, "video")["nb_read_frames"]) == 10
    assert not (tmp_path / "clip.partial.mkv").exists()


def test_webm_transcodes_audio_to_opus(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if "libvpx-vp9" not in available_encoders():
        pytest.skip("libvpx-vp9 not available")
    out = tmp_path / "clip.webm"
    with caplog.at_level(logging.WARNING):
        with VideoFileSource(media(DASHCAM)) as src, VideoFileSink(out, codec="libvpx-vp9") as sink:
            sink.open(src.info)
            for frame in src:
                sink.write(result(frame, view=frame.image[::6, ::6]))
                if frame.index == 24:
                    break
    probe = ffprobe(out, count=True)
    assert stream(probe, "video")["codec_name"] == "vp9"
    assert int(stream(probe, "video")["nb_read_frames"]) == 25
    assert stream(probe, "audio")["codec_name"] == "opus"
    assert "transcoding it to libopus" in caplog.text
    assert decode_errors(out) == ""


def test_sigkill_leaves_playable_partial(tmp_path: Path) -> None:
    out = tmp_path / "killed.mp4"
    script = textwrap.dedent(f"""
        import sys, time
        from vidseg.io.sources import DemoSource
        from vidseg.io.video_sink import VideoFileSink
        from vidseg.frames import FrameResult
        sink = VideoFileSink({str(out)!r})
        src = DemoSource(n_frames=100000, size=(128, 72))
        sink.open(src.info)
        for frame in src:
            sink.write(FrameResult(frame=frame, segmentation=None, view=frame.image,
                                   stats=None))
            print(frame.index, flush=True)
            time.sleep(0.01)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if int(line) >= 60:  # a few fragments (0.5 s = 12.5 frames each) are out
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    partial = tmp_path / "killed.partial.mp4"
    assert partial.exists() and not out.exists()
    video = stream(ffprobe(partial, count=True), "video")
    assert 0 < int(video["nb_read_frames"]) <= 61
    assert decode_errors(partial) == ""
    assert cv2_read(partial)[0] == int(video["nb_read_frames"])


def test_abort_on_exception_keeps_playable_partial(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run.mp4"
    src = ArraySource(frames(30, (128, 72)))
    with caplog.at_level(logging.WARNING), pytest.raises(RuntimeError, match="boom"):
        with VideoFileSink(out) as sink:
            sink.open(src.info)
            for frame in src:
                sink.write(result(frame))
                if frame.index == 19:
                    raise RuntimeError("boom")
    partial = tmp_path / "run.partial.mp4"
    assert partial.exists() and not out.exists()
    assert int(stream(ffprobe(partial, count=True), "video")["nb_read_frames"]) == 20
    assert decode_errors(partial) == ""
    assert "20 frames kept in partial file" in caplog.text and str(partial) in caplog.text
    sink.abort()  # no-op once finished
    sink.close()
    assert not out.exists()


def test_lifecycle_errors(tmp_path: Path) -> None:
    frame = next(iter(ArraySource(frames(1, (64, 48)))))
    sink = VideoFileSink(tmp_path / "a.mp4")
    with pytest.raises(SinkError, match="not open"):
        sink.write(result(frame))
    sink.open(StreamInfo(width=64, height=48, fps=25.0))
    sink.write(result(frame))
    sink.close()
    sink.close()  # double close is a no-op
    with pytest.raises(ClosedError):
        sink.write(result(frame))
    with pytest.raises(ClosedError):
        sink.open(StreamInfo(width=64, height=48, fps=25.0))
    with pytest.raises(SinkError, match=r"uint8 BGR"):
        s2 = VideoFileSink(tmp_path / "b.mp4")
        s2.open(StreamInfo(width=64, height=48, fps=25.0))
        try:
            s2.write(result(frame, view=frame.image.astype(np.float32)))
        finally:
            s2.abort()
    assert not (tmp_path / "b.mp4").exists() and not (tmp_path / "b.partial.mp4").exists()


def test_missing_output_directory(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"output directory .*nowhere.* does not exist"):
        VideoFileSink(tmp_path / "nowhere" / "out.mp4")


def test_unwritable_output_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits: pretend it does not
            real = os.access
            monkeypatch.setattr(
                os,
                "access",
                lambda p, mode, **kw: False if Path(p) == locked else real(p, mode, **kw),
            )
        with pytest.raises(SinkError, match=r"output directory .*locked.* is not writable"):
            VideoFileSink(locked / "out.mp4")
    finally:
        locked.chmod(0o700)


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(SinkError, match="already exists; pass --overwrite"):
        VideoFileSink(out)
    assert out.read_bytes() == b"precious"
    _write(out, n=5, overwrite=True)
    assert int(stream(ffprobe(out, count=True), "video")["nb_read_frames"]) == 5


def test_unknown_container(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"unsupported output container '\.flv'.*\.mp4"):
        VideoFileSink(tmp_path / "out.flv")


def test_unknown_codec_lists_available(tmp_path: Path) -> None:
    with pytest.raises(EncoderNotFoundError, match="'h265-turbo' is not available") as err:
        VideoFileSink(tmp_path / "out.mp4", codec="h265-turbo")
    assert "libx264" in str(err.value)
    with pytest.raises(EncoderNotFoundError, match="'aac'"):  # an encoder, but not video
        VideoFileSink(tmp_path / "out.mp4", codec="aac")
    assert "libx264" in available_encoders() and all(
        av.Codec(name, "w").type == "video" for name in available_encoders()
    )


def test_codec_container_mismatch(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"'libx264' cannot be stored in \.webm"):
        VideoFileSink(tmp_path / "out.webm", codec="libx264")
