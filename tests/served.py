"""Helpers for the web-view tests: a real run served in-process, and small HTTP clients.

The run is the real pipeline (a paced, looping clip made from a real photo, the
segmenter, the web sink) in a thread; clients talk HTTP to it over 127.0.0.x.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from media import frames

from vidseg import Segmenter
from vidseg.control import RunControl
from vidseg.io.sources import ArraySource
from vidseg.io.sources.paced import PacedSource
from vidseg.pipeline import run
from vidseg.web import WebSink

BOUNDARY = b"--vidseg-frame"


@dataclass
class Served:
    """A running, served pipeline."""

    sink: WebSink
    control: RunControl
    host: str
    errors: list[BaseException] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.sink.server.port

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        limit: int = 65536,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; returns status, headers and body (streams: the first ``limit`` bytes)."""
        return request(
            self.host, self.port, method, path, body=body, headers=headers, timeout=timeout,
            limit=limit,
        )  # fmt: skip

    def json(self, path: str, **kw: Any) -> Any:
        status, _, data = self.request("GET", path, **kw)
        assert status == 200, (status, data)
        return json.loads(data)

    def wait_frames(self, n: int, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until at least ``n`` frames were written; return /stats."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.json("/stats", headers=self.auth())
            if stats["frames"] >= n:
                return stats
            assert time.monotonic() < deadline, f"only {stats['frames']} frames in {timeout} s"
            time.sleep(0.05)

    def auth(self) -> dict[str, str]:
        token = self.sink.server.token
        return {"Authorization": f"Bearer {token}"} if token else {}


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    limit: int = 65536,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the standard library; a stream's body is cut at ``limit`` bytes."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        kind = resp.getheader("Content-Type", "")
        streaming = kind.startswith(("multipart/", "text/event-stream"))
        payload = resp.read(limit) if streaming else resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload
    finally:
        conn.close()


def first_jpeg(payload: bytes) -> bytes:
    """The first JPEG of a multipart MJPEG body."""
    start = payload.index(b"\xff\xd8")
    end = payload.index(b"\xff\xd9", start) + 2
    return payload[start:end]


@contextlib.contextmanager
def served(
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    k: int = 6,
    size: tuple[int, int] = (192, 108),
    fps: float = 25.0,
    source: Any = None,
) -> Iterator[Served]:
    """A paced, looping clip segmented and served until the block ends."""
    control = RunControl(n_clusters=k)
    sink = WebSink(host=host, port=0, token=token, control=control)
    if source is None:
        clip = frames(20, size)
        source = PacedSource(lambda: ArraySource(clip, fps=fps), loop=True)
    srv = Served(sink=sink, control=control, host=host)
    sink.start()

    def target() -> None:
        try:
            run(
                source,
                Segmenter(k, seed=0),
                [sink],
                control=control,
                on_frame=sink.on_frame,
            )
        except BaseException as exc:
            srv.errors.append(exc)

    thread = threading.Thread(target=target, name="test-served-run")
    thread.start()
    try:
        yield srv
    finally:
        control.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the served run did not stop"
        sink.abort()
    assert not srv.errors, srv.errors
