"""Hooks: real commands and a real local HTTP server; failures are counted, never lose events."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.media import free_port
from vidseg.analysis.events import EventSink
from vidseg.analysis.hooks import HookRunner
from vidseg.analysis.rules_config import EventsSettings, HookSpec, parse_rules
from vidseg.analysis.zonestats import ZoneStats
from vidseg.engine.segmentation import Segmentation
from vidseg.frames import Frame, FrameResult, StreamInfo
from vidseg.stats import ClusterStats

# Appends the JSON from stdin as one line to the file named by argv[1].
APPEND = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"


class _Server:
    """A real HTTP server on 127.0.0.1 collecting POSTed JSON; ``status`` is its answer."""

    def __init__(self, status: int = 200) -> None:
        received: list[dict] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                if self.headers["Content-Type"] == "application/json":
                    received.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/events"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:
        yield s


def _python(code: str) -> HookSpec:
    return HookSpec(command=(sys.executable, "-c", code))


def _command(path: Path) -> HookSpec:
    return HookSpec(command=(sys.executable, "-c", APPEND, str(path)))


def _records(n: int = 2) -> list[dict]:
    return [{"type": t, "id": f"r-{i}"} for i in range(n) for t in ("start", "end")]


def test_command_and_url_hooks_get_every_record(tmp_path, server):
    out = tmp_path / "got.ndjson"
    runner = HookRunner([_command(out), HookSpec(url=server.url)], timeout_s=10, queue_size=8)
    runner.start()
    for record in _records():
        runner.submit(record)
    runner.close()
    assert [json.loads(line) for line in out.read_text().splitlines()] == _records()
    assert server.received == _records()
    assert (runner.counts.ok, runner.counts.failed, runner.counts.dropped) == (8, 0, 0)


def test_hooks_only_get_the_lines_they_ask_for(tmp_path, server):
    out = tmp_path / "got.ndjson"
    runner = HookRunner(
        [
            HookSpec(command=_command(out).command, on=("end",)),
            HookSpec(url=server.url, on=("start",)),
        ],
        timeout_s=10,
        queue_size=8,
    )
    runner.start()
    for record in _records(1):
        runner.submit(record)
    runner.close()
    assert [json.loads(line)["type"] for line in out.read_text().splitlines()] == ["end"]
    assert [r["type"] for r in server.received] == ["start"]


@pytest.mark.parametrize(
    ("hook", "says"),
    [
        (_python("import sys; sys.exit('no luck')"), "exit status 1: no luck"),
        (_python("import time; time.sleep(30)"), "timed out after 3 s"),
        (HookSpec(command=("/nonexistent/hook",)), "cannot run it"),
        (HookSpec(url=f"http://127.0.0.1:{free_port()}/events"), "cannot reach it"),
    ],
)  # fmt: skip
def test_a_failing_hook_is_logged_and_counted(tmp_path, caplog, hook, says):
    caplog.set_level(logging.WARNING, logger="vidseg.analysis.hooks")
    good = tmp_path / "good.ndjson"
    runner = HookRunner([hook, _command(good)], timeout_s=3, queue_size=8)
    runner.start()
    runner.submit({"type": "start", "id": "r-1"})
    runner.close()
    assert (runner.counts.failed, runner.counts.ok) == (1, 1)  # the other hook still ran
    assert says in caplog.text
    assert "event 'r-1' (start)" in caplog.text
    assert json.loads(good.read_text()) == {"type": "start", "id": "r-1"}


def test_an_http_error_status_is_a_failure(caplog):
    caplog.set_level(logging.WARNING, logger="vidseg.analysis.hooks")
    with _Server(status=500) as s:
        runner = HookRunner([HookSpec(url=s.url)], timeout_s=5, queue_size=8)
        runner.start()
        runner.submit({"type": "end", "id": "r-1"})
        runner.close()
    assert runner.counts.failed == 1
    assert "HTTP 500" in caplog.text


def test_a_full_queue_drops_the_oldest_and_says_so(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="vidseg.analysis.hooks")
    out = tmp_path / "got.ndjson"
    slow = f"import time; time.sleep(0.3); {APPEND.replace('sys.argv[1]', repr(str(out)))}"
    runner = HookRunner([_python(slow)], timeout_s=10, queue_size=2)
    runner.start()
    for i in range(6):
        runner.submit({"type": "start", "id": f"r-{i}"})  # never blocks
    runner.close()
    got = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert runner.counts.dropped == 6 - len(got) >= 3
    assert got[-2:] == ["r-4", "r-5"]  # the newest are kept
    assert "hook queue full (2): dropped the oldest event record" in caplog.text


def test_abort_gives_up_on_the_queue_after_one_timeout():
    sleepy = HookSpec(command=(sys.executable, "-c", "import time; time.sleep(30)"))
    runner = HookRunner([sleepy], timeout_s=0.5, queue_size=10)
    runner.start()
    for i in range(5):
        runner.submit({"type": "start", "id": f"r-{i}"})
    runner.abort()  # the call in flight times out; the rest are dropped, counted
    assert runner.counts.failed + runner.counts.dropped == 5
    assert runner.counts.dropped >= 1


# -- through the event sink ------------------------------------------------------------------

W, H = 20, 10
PALETTE = np.array([[40, 40, 40], [30, 30, 200]], np.uint8)


def _result(i: int, red: bool) -> FrameResult:
    labels = np.zeros((H, W), np.uint8)
    if red:
        labels[:, : W // 2] = 1
    pixels = np.bincount(labels.ravel(), minlength=2).astype(np.int64)
    box, cen = np.full((2, 4), -1, np.int32), np.full((2, 2), np.nan)
    seg = Segmentation(
        labels=labels,
        centers=PALETTE.astype(np.float32),
        areas=pixels / pixels.sum(),
        counts=pixels,
        centroids=cen,
        scene_cut=i == 0,
        inertia=0.0,
        frame_index=i,
        color_space="bgr",
    )
    stats = ClusterStats(
        frame=i, time_s=i / 10, width=W, height=H, pixels=pixels, area_share=seg.areas,
        colors_bgr=PALETTE, centroids=cen, scene_cut=i == 0, inertia=0.0,
    )  # fmt: skip
    result = FrameResult(
        frame=Frame(image=PALETTE[labels], index=i, time_s=i / 10), segmentation=seg, stats=stats
    )
    result.extras["zones"] = {"frame": ZoneStats("frame", W * H, pixels, box, cen)}
    return result


def test_failing_hooks_never_lose_the_event_lines(tmp_path, server, caplog):
    caplog.set_level(logging.WARNING, logger="vidseg.analysis.hooks")
    rules = parse_rules(
        [{"name": "red", "clusters": [1], "trigger": "above", "enter": 0.3, "exit": 0.1,
          "min_duration_s": 0, "cooldown_s": 0}],
        zone_names=set(),
        source="test",
    )  # fmt: skip
    hooks = (
        HookSpec(command=(sys.executable, "-c", "raise SystemExit(1)")),
        HookSpec(url=f"http://127.0.0.1:{free_port()}/events"),  # nobody listens
        HookSpec(url=server.url),
    )
    sink = EventSink(
        tmp_path / "events.ndjson",
        rules,
        EventsSettings(snapshots=False, hooks=hooks, hook_timeout_s=5),
    )
    sink.open(StreamInfo(width=W, height=H, fps=10))
    for i, red in enumerate([False, True, True, False]):
        sink.write(_result(i, red))
    sink.close()
    lines = [json.loads(line) for line in sink.path.read_text().splitlines()]
    assert [r["type"] for r in lines] == ["start", "end"]
    assert server.received == lines  # the working hook got exactly the file's lines
    assert (sink.hooks.counts.ok, sink.hooks.counts.failed) == (2, 4)
    assert caplog.text.count("(the event is in the events file)") == 4
