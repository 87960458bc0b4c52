"""The web view: endpoints, controls, security, `vidseg serve` / `convert --serve`, many viewers.

Real parts throughout: the pipeline on clips made from real photos or the
shared real clips, the aiohttp server on 127.0.0.x, HTTP clients from the
standard library, and for the load test a whole `vidseg serve` process.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import VTEST, frames, free_port, media
from prometheus_client.parser import text_string_to_metric_families
from served import BOUNDARY, first_jpeg, request, served

from vidseg.cli import main
from vidseg.io.sources import ArraySource
from vidseg.io.sources.paced import PacedSource
from vidseg.web import resolve_token

GET_PATHS = [
    "/",
    "/app.js",
    "/style.css",
    "/stream.mjpg",
    "/stream.mjpg?view=overlay",
    "/original.mjpg",
    "/stats",
    "/events",
    "/snapshot.jpg",
    "/healthz",
    "/metrics",
]


def test_paced_source_releases_frames_on_their_timestamps_and_loops() -> None:
    clip = frames(3, (32, 24))
    opened: list[ArraySource] = []
    now = [100.0]  # a clock that moves only when the source waits: the schedule, exactly
    late = {2: 0.01, 6: 0.5}  # the wait before frame i overruns by this much (a busy machine)
    waits: list[float] = []

    def opener() -> ArraySource:
        opened.append(ArraySource(clip, fps=50))
        return opened[-1]

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        now[0] += seconds + late.get(len(waits) - 1, 0.0)
        return False

    src = PacedSource(opener, loop=True, clock=lambda: now[0], wait=wait)
    got = list(itertools.islice(src, 9))
    src.close()
    assert src.info.live and src.info.frame_count is None and len(opened) == 3
    assert [f.index for f in got] == list(range(9))
    np.testing.assert_allclose([f.time_s for f in got], np.arange(9) / 50)
    released = np.array([f.captured_at for f in got]) - 100.0
    # On time; a small overrun is caught up by the next frame; a long one (past
    # 0.25 s) starts the clock again from there instead of rushing the late frames.
    np.testing.assert_allclose(
        released, [0, 0.02, 0.05, 0.06, 0.08, 0.10, 0.62, 0.62, 0.64], atol=1e-9
    )
    assert all(s.closed for s in opened)


def _metrics(text: bytes) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_endpoints_serve_the_latest_frame() -> None:
    with served(size=(192, 108)) as srv:
        srv.wait_frames(3)
        # Nobody watched a stream yet: nothing was encoded.
        status, headers, body = srv.request("GET", "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        m = _metrics(body)
        assert all(v == 0 for _, v in m["vidseg_jpeg_encodes_total"])
        assert m["vidseg_frames_total"][0][1] >= 3
        shares = m["vidseg_cluster_area_share"]
        assert len(shares) == 6 and sum(v for _, v in shares) == pytest.approx(1.0)
        assert all(lbl["color"].startswith("#") for lbl, _ in shares)

        stats = srv.json("/stats")
        assert stats["n_clusters"] == 6 and len(stats["clusters"]) == 6
        assert sum(c["area_share"] for c in stats["clusters"]) == pytest.approx(1.0)
        assert stats["state"] == {"n_clusters": 6, "view": "recolor", "paused": False}
        assert stats["fps"] > 0 and stats["latency_ms"] is not None and stats["dropped"] >= 0

        status, headers, body = srv.request("GET", "/stream.mjpg")
        assert status == 200 and "boundary=vidseg-frame" in headers["content-type"]
        image = cv2.imdecode(np.frombuffer(first_jpeg(body), np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (108, 192, 3)
        _, _, body = srv.request("GET", "/stream.mjpg?view=side-by-side")
        wide = cv2.imdecode(np.frombuffer(first_jpeg(body), np.uint8), cv2.IMREAD_COLOR)
        assert wide.shape == (108, 384, 3)
        _, _, body = srv.request("GET", "/original.mjpg")
        assert first_jpeg(body)[:2] == b"\xff\xd8"

        status, headers, body = srv.request("GET", "/snapshot.jpg?view=palette")
        assert status == 200 and headers["content-type"] == "image/jpeg"
        assert headers["content-disposition"].startswith('attachment; filename="vidseg-')
        assert headers["content-disposition"].endswith('-palette.jpg"')

        status, _, body = srv.request("GET", "/events", limit=8192)
        assert status == 200
        events = body.decode().split("\n\n")[:-1]  # the last one is cut off at 64 KiB
        records = [json.loads(e.split("data: ")[1]) for e in events if "data: " in e]
        assert records and all(len(r["clusters"]) == 6 for r in records)

        health = srv.json("/healthz")
        assert health["status"] == "ok" and health["frames"] >= 3
        assert 0 <= health["last_frame_age_s"] < 5

        m = _metrics(srv.request("GET", "/metrics")[2])
        encodes = {lbl["stream"]: v for lbl, v in m["vidseg_jpeg_encodes_total"]}
        assert encodes["recolor"] >= 1 and encodes["original"] >= 1
        assert encodes["overlay"] == 0  # never watched, never encoded

        # The page and its files come from the package, with no external resource.
        status, headers, _page = srv.request("GET", "/")
        assert status == 200 and "default-src 'none'" in headers["content-security-policy"]
        for path in ("/", "/app.js", "/style.css"):
            assert b"://" not in srv.request("GET", path)[2]
        for path in ("/nope", "/static/index.html", "/../pyproject.toml", "/stats/x"):
            assert srv.request("GET", path)[0] == 404, path
        assert srv.request("GET", "/stream.mjpg?view=bogus")[0] == 400


def test_controls_change_the_run() -> None:
    with served(k=6) as srv:
        srv.wait_frames(2)
        status, _, body = srv.request("POST", "/control", body={"n_clusters": 9})
        assert status == 200
        answer = json.loads(body)
        assert answer == {
            "state": {"n_clusters": 9, "view": "recolor", "paused": False},
            "applied": True,
        }
        n = srv.wait_frames(srv.json("/stats")["frames"] + 2)["frames"]
        assert srv.json("/stats")["n_clusters"] == 9, n
        answer = json.loads(srv.request("POST", "/control", body={"delta": -4})[2])
        assert answer["state"]["n_clusters"] == 5
        answer = json.loads(srv.request("POST", "/control", body={"view": "overlay"})[2])
        assert answer["state"]["view"] == "overlay"
        assert json.loads(srv.request("POST", "/control", body={"action": "reseed"})[2])["applied"]

        answer = json.loads(srv.request("POST", "/control", body={"action": "pause"})[2])
        assert answer["state"]["paused"] and answer["applied"]
        time.sleep(0.3)
        frames_paused = srv.json("/stats")["frames"]
        time.sleep(0.4)
        assert srv.json("/stats")["frames"] == frames_paused
        assert srv.json("/healthz")["status"] == "paused"
        answer = json.loads(srv.request("POST", "/control", body={"action": "toggle_pause"})[2])
        assert not answer["state"]["paused"]
        srv.wait_frames(frames_paused + 2)

        # Refused: GET, another site's Origin, not JSON, bad values.
        assert srv.request("GET", "/control")[0] == 405
        evil = {"Origin": "https://evil.example"}
        assert srv.request("POST", "/control", body={"delta": 1}, headers=evil)[0] == 403
        same = {"Origin": f"http://127.0.0.1:{srv.port}"}
        assert srv.request("POST", "/control", body={"delta": 1}, headers=same)[0] == 200
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert srv.request("POST", "/control", body=b"delta=1", headers=form)[0] == 415
        for bad in ({"n_clusters": 65}, {"n_clusters": "x"}, {"view": "nope"}, {"foo": 1}, []):
            status, _, body = srv.request("POST", "/control", body=bad)
            assert status == 400 and json.loads(body)["error"], bad
        assert srv.request("POST", "/control", body=b"{", headers={})[0] == 400


def test_healthz_reports_a_stalled_pipeline() -> None:
    gate = threading.Event()

    def clip() -> Iterator[np.ndarray]:
        yield from frames(4, (96, 64))
        gate.wait(30)  # the camera hangs

    with served(source=ArraySource(clip(), fps=25, live=True)) as srv:
        srv.wait_frames(1)  # live: the runner keeps only the newest of the four
        srv.sink.hub.stall_after_s = 0.3
        time.sleep(0.5)
        status, _, body = srv.request("GET", "/healthz")
        health = json.loads(body)
        assert status == 503 and health["status"] == "stalled"
        assert health["last_frame_age_s"] >= 0.3 and health["frames"] >= 1
        gate.set()


@pytest.mark.parametrize("host", ["127.0.0.2"])
def test_exposed_bind_needs_the_token(host: str) -> None:
    token, generated = resolve_token(host, None)
    assert generated and token is not None and len(token) >= 30
    assert resolve_token("127.0.0.1", None) == (None, False)
    with served(host=host, token=token) as srv:
        srv.wait_frames(1)
        wrong = {"X-Vidseg-Token": token[:-1] + ("x" if token[-1] != "x" else "y")}
        for path in [*GET_PATHS, "/nope"]:
            assert srv.request("GET", path, limit=1)[0] == 401, path
            assert srv.request("GET", path, headers=wrong, limit=1)[0] == 401, path
        assert srv.request("POST", "/control", body={"delta": 1})[0] == 401
        bearer = {"Authorization": f"Bearer {token}"}
        for path in GET_PATHS:
            assert srv.request("GET", path, headers=bearer, limit=1)[0] == 200, path
            sep = "&" if "?" in path else "?"
            assert srv.request("GET", f"{path}{sep}token={token}", limit=1)[0] == 200, path
        assert srv.request("GET", "/nope", headers=bearer)[0] == 404
        assert srv.request("POST", "/control", body={"delta": 1}, headers=bearer)[0] == 200


def test_local_bind_refuses_a_foreign_host_header() -> None:
    with served() as srv:
        srv.wait_frames(1)
        assert srv.request("GET", "/stats", headers={"Host": "evil.example"})[0] == 403
        assert srv.request("GET", "/stats", headers={"Host": f"localhost:{srv.port}"})[0] == 200


def test_serve_cli_port_in_use_fails_before_work(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "demo", "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"vidseg: error: cannot listen on 127.0.0.1:{port}: the port is in use; "
        "pick another with --port"
    )
    assert main(["serve", "demo", "--port", "70000"]) == 2
    assert main(["serve", "demo", "--host", "127.0.0.2", "--token", "short"]) == 2
    assert main(["convert", "demo", "x.mp4", "--serve", "localhost:port"]) == 2


def test_serve_cli_prints_a_generated_token_once(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    argv = ["serve", "demo", "--host", "127.0.0.2", "--port", str(port), "--max-frames", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"vidseg: open http://127.0.0.2:{port}/?token=")
    assert len(out[0].split("token=")[1]) >= 30


def test_convert_serves_the_page_while_it_runs(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out.mp4"
    stats = tmp_path / "stats.csv"
    argv = [
        "convert", str(media(VTEST)), str(out), "--stats", str(stats),
        "--max-frames", "60", "--serve", f"127.0.0.1:{port}", "--no-progress",
    ]  # fmt: skip
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(argv)))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while True:  # pause as soon as the page answers: the run waits for us
            try:
                status, _, body = request(
                    "127.0.0.1", port, "POST", "/control", body={"action": "pause"}
                )
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert status == 200
        while not json.loads(request("127.0.0.1", port, "GET", "/stats")[2])["state"]["paused"]:
            assert time.monotonic() < deadline  # the run applies it once it starts
            time.sleep(0.05)
        answer = request("127.0.0.1", port, "POST", "/control", body={"n_clusters": 4})
        assert json.loads(answer[2])["applied"]  # applied while paused
        _, _, body = request("127.0.0.1", port, "GET", "/healthz")
        assert json.loads(body)["status"] == "paused"
    finally:
        try:
            request("127.0.0.1", port, "POST", "/control", body={"action": "resume"})
        except OSError:
            pass
        thread.join(timeout=120)
    assert codes == [0] and out.is_file()
    ks = {line.split(",")[0]: line for line in stats.read_text().splitlines()[1:]}
    last_frame = max(ks, key=int)
    rows = [r for r in stats.read_text().splitlines()[1:] if r.split(",")[0] == last_frame]
    assert len(rows) == 4  # k changed from the page, for the video and the table too


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class _Reader(threading.Thread):
    """Reads /stream.mjpg and notes when each frame boundary arrived."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(name="test-mjpeg-reader", daemon=True)
        self.port, self.stop, self.times = port, stop, []

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            tail = b""
            while not self.stop.is_set():
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data = tail + chunk
                self.times.extend([time.monotonic()] * data.count(BOUNDARY))
                tail = data[-len(BOUNDARY) :]


def test_twenty_viewers_and_a_stalled_one(tmp_path: Path) -> None:
    """20 readers keep getting frames, the one that never reads is dropped, memory is flat."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidseg", "serve", str(media(VTEST)), "--loop", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _status, _, body = request("127.0.0.1", port, "GET", "/stats", timeout=2)
                if json.loads(body)["frames"] > 0:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        readers = [_Reader(port, stop) for _ in range(20)]
        for r in readers:
            r.start()
        time.sleep(3)  # every reader connected, the server's buffers in use
        rss_start = _rss_kb(proc.pid)
        t0 = time.monotonic()
        while True:  # at least 10 s, until the stalled client was dropped (at most 40 s)
            time.sleep(1)
            m = _metrics(request("127.0.0.1", port, "GET", "/metrics")[2])
            elapsed = time.monotonic() - t0
            if (elapsed >= 10 and m["vidseg_clients_dropped_total"][0][1] >= 1) or elapsed > 40:
                break
        rss_end = _rss_kb(proc.pid)
        stop.set()
        stalled.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()  # SIGTERM: finished cleanly, server joined
    assert m["vidseg_clients_dropped_total"][0][1] >= 1, err.decode()
    viewers = {lbl["stream"]: v for lbl, v in m["vidseg_stream_viewers"]}
    assert viewers["recolor"] == 20  # the 20 readers, not the stalled one
    encodes = {lbl["stream"]: v for lbl, v in m["vidseg_jpeg_encodes_total"]}
    assert 0 < encodes["recolor"] <= m["vidseg_frames_total"][0][1]  # per frame, not per client
    assert encodes["overlay"] == 0
    n = int(elapsed // 2)
    for r in readers:  # every reader got frames in every 2-second slice
        slices = {int((t - t0) // 2) for t in r.times if t0 <= t < t0 + 2 * n}
        assert slices == set(range(n)), (len(r.times), sorted(slices))
    assert rss_end - rss_start < 15_000, (rss_start, rss_end, elapsed)  # kB
    assert b"dropped a client of /stream.mjpg" in err
    assert b"Traceback" not in err and b"ERROR" not in err, err.decode()
