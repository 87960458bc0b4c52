"""The web view as a pipeline sink: ``write()`` feeds the hub, the sink owns the server.

Lifecycle: the constructor binds the socket (a port in use fails before any
work); :meth:`WebSink.open` starts the server thread (``vidseg-web``) if
:meth:`WebSink.start` has not already; :meth:`WebSink.write`, in the runner's
writer thread, only stores the result in the hub's latest-frame slot and wakes
the clients (no encoding, no socket); :meth:`WebSink.close` and
:meth:`WebSink.abort` stop the server and join its thread.
"""

from __future__ import annotations

import logging

from ..control import RunControl
from ..frames import FrameResult, StreamInfo
from ..summary import RunSummary
from .hub import Hub
from .server import WebServer

__all__ = ["WebSink"]

log = logging.getLogger(__name__)


class WebSink:
    """Shows a run on a web page (see :mod:`vidseg.web.app` for the endpoints).

    Parameters
    ----------
    host : str
        Address to bind.
    port : int
        TCP port (0: a free one; see :attr:`url`).
    token : str, optional
        Required on every request when given (see :mod:`vidseg.web.auth`).
    control : RunControl, optional
        The run's live controls, for the page's buttons and ``POST /control``.
    write_timeout : float
        Seconds a client may block a write before it is dropped.

    Raises
    ------
    SinkError
        The address cannot be bound.

    Examples
    --------
    >>> from vidseg import Segmenter
    >>> from vidseg.io.sources import DemoSource
    >>> from vidseg.pipeline import run
    >>> sink = WebSink(port=0)
    >>> sink.url.startswith("http://127.0.0.1:")
    True
    >>> run(DemoSource(n_frames=2, size=(64, 48)), Segmenter(3), [sink]).frames_out
    2
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        token: str | None = None,
        control: RunControl | None = None,
        write_timeout: float = 5.0,
    ) -> None:
        self.hub = Hub(control)
        self.server = WebServer(
            self.hub, host=host, port=port, token=token, write_timeout=write_timeout
        )
        self._finished = False

    def __repr__(self) -> str:
        return f"<WebSink {self.url}>"

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        return self.server.url

    def start(self) -> None:
        """Start serving now (before the run), e.g. to show the page while a source opens."""
        self.server.start()

    def open(self, info: StreamInfo) -> None:
        """Start of a run: serve (if not yet) and take the stream's facts."""
        self.hub.live = info.live
        self.hub.running = True
        self.server.start()

    def write(self, result: FrameResult) -> None:
        """Publish ``result`` as the latest frame (runner's writer thread; cheap)."""
        self.hub.publish(result)

    def on_frame(self, result: FrameResult, summary: RunSummary) -> None:
        """The runner's per-frame callback: takes the dropped-frame count."""
        self.hub.rates.dropped = summary.dropped

    def close(self) -> None:
        """End of the run: stop the server, join its thread (idempotent)."""
        self._finish()

    def abort(self) -> None:
        """End of an interrupted run: the same as :meth:`close`."""
        self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.hub.running = False
        self.server.stop()
