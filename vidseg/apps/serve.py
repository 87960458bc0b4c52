"""`vidseg serve`: a live segmentation on a web page, and the ``--serve`` of other commands.

Thin: it builds the source (recorded inputs play at their own frame rate, as
a live stream), the segmenter, a :class:`~vidseg.control.RunControl` and a
:class:`~vidseg.web.WebSink`, and calls :func:`vidseg.pipeline.run`.  The
server's socket is bound before the input is opened, so a port in use costs
no work.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

from ..config import Config
from ..control import RunControl
from ..engine import Segmenter
from ..errors import ConfigError
from ..io.sources import DemoSource, FrameSource, open_source
from ..io.sources.paced import PacedSource
from ..pipeline import RunSummary, run
from ..web import WebSink, resolve_token
from .convert import load_kernels

__all__ = ["open_served_source", "parse_serve_address", "serve", "web_sink"]

log = logging.getLogger(__name__)


def parse_serve_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` -> ``(host, port)``; the host defaults to 127.0.0.1.

    >>> parse_serve_address("8080"), parse_serve_address("[::1]:9000")
    (('127.0.0.1', 8080), ('::1', 9000))

    Raises
    ------
    ConfigError
        Not ``[HOST:]PORT`` or the port is outside 0..65535.
    """
    m = re.fullmatch(r"(?:\[(?P<v6>[^\]]+)\]:|(?P<host>[^:\[\]]+):)?(?P<port>[0-9]{1,5})", text)
    if m is None:
        raise ConfigError(f"--serve takes [HOST:]PORT such as 8080 or 127.0.0.1:8080; got {text!r}")
    port = int(m["port"])
    if port > 65535:
        raise ConfigError(f"port must be 0..65535; got {port}")
    return m["v6"] or m["host"] or "127.0.0.1", port


def web_sink(host: str, port: int, token: str | None, control: RunControl) -> WebSink:
    """A started web sink on ``host:port``; announces its address.

    An exposed ``host`` without ``token`` gets a generated one, printed once to
    stdout with the URL (the only place it appears).

    Raises
    ------
    ConfigError
        Bad port or token.
    SinkError
        The port is in use or the address cannot be bound.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0..65535; got {port}")
    token, generated = resolve_token(host, token)
    sink = WebSink(host=host, port=port, token=token, control=control)
    sink.start()
    log.info("serving on %s%s", sink.url, " (token required)" if token else "")
    if generated:
        sys.stdout.write(f"vidseg: open {sink.url}?token={token}\n")
        sys.stdout.flush()
    return sink


def open_served_source(spec: str, cfg: Config, *, loop: bool = False) -> FrameSource:
    """The source ``spec`` names, recorded inputs paced to their own frame rate.

    Cameras and network streams are used as they are; files, image sequences
    and the demo play in real time (the demo always loops; ``loop`` loops the rest).
    """
    if spec == "demo":
        return PacedSource(DemoSource, loop=True)

    def reopen() -> FrameSource:
        return open_source(
            spec,
            reconnect_attempts=cfg.run.reconnect_attempts,
            reconnect_backoff=cfg.run.reconnect_backoff,
            audio=False,
        )

    first: list[FrameSource] = [reopen()]
    if first[0].info.live:
        return first[0]
    return PacedSource(lambda: first.pop() if first else reopen(), loop=loop)


def serve(
    spec: str,
    cfg: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    loop: bool = False,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Segment ``spec`` and show it on a web page until the input ends or ``stop`` is set.

    Raises
    ------
    VidsegError
        Bad address, token or input; the message names it.
    """
    control = RunControl(n_clusters=cfg.engine.n_clusters, view=cfg.output.view)
    sink = web_sink(host, port, token, control)
    try:
        load_kernels(cfg.engine)
        source = open_served_source(spec, cfg, loop=loop)
        info = source.info
        log.info("input %s: %dx%d at %.3g fps", info.name, info.width, info.height, info.fps)
        summary = run(
            source,
            Segmenter.from_config(cfg.engine),
            [sink],
            view=cfg.output.view,
            overlay_alpha=cfg.output.overlay_alpha,
            max_frames=cfg.run.max_frames,
            live_pacing=cfg.run.live_pacing,
            stop=stop,
            control=control,
            on_frame=sink.on_frame,
        )
    finally:
        sink.abort()  # idempotent; stops the server when the run never started
    log.info("%s", summary.describe())
    return summary
