"""The web server's thread: one asyncio event loop serving the app on a bound socket.

:class:`WebServer` binds its socket in the constructor, in the caller's thread,
so a port in use fails at once, before any other work.  :meth:`WebServer.start`
starts the thread ``vidseg-web``, which runs the event loop (the aiohttp app
and every client) and owns a small pool, ``vidseg-web-jpeg``, that encodes
JPEGs off the loop.  :meth:`WebServer.stop` wakes every client for the last
time, closes the connections (after at most ``shutdown_timeout``) and joins
the thread; it is idempotent and also releases a socket that never served.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ..errors import SinkError, reason
from ..osthreads import os_named, set_os_thread_name
from .app import make_app
from .hub import Hub

__all__ = ["WebServer"]

log = logging.getLogger(__name__)


class WebServer:
    """An HTTP server for ``hub`` on ``host:port``, running in its own thread.

    Parameters
    ----------
    hub : Hub
        What the endpoints serve.
    host : str
        Address to bind (``127.0.0.1`` by default; see :mod:`vidseg.web.auth`).
    port : int
        TCP port; 0 picks a free one (see :attr:`port`).
    token : str, optional
        Required on every request when given.
    write_timeout : float
        A client whose write makes no progress for this long is dropped.

    Raises
    ------
    SinkError
        The address cannot be bound (port in use, no such address).
    """

    def __init__(
        self,
        hub: Hub,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        token: str | None = None,
        write_timeout: float = 5.0,
        shutdown_timeout: float = 2.0,
    ) -> None:
        self.hub = hub
        self.host = host
        self.token = token
        self.write_timeout = write_timeout
        self.shutdown_timeout = shutdown_timeout
        self._sock: socket.socket | None = _bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        """Start serving in the ``vidseg-web`` thread; returns once it accepts connections.

        Raises
        ------
        SinkError
            The server failed to start.
        """
        if self._thread is not None:
            return
        if self._sock is None:
            raise SinkError("the web server was stopped; create a new one")
        self._thread = threading.Thread(
            target=os_named("vidseg-web", self._serve), name="vidseg-web", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise SinkError(f"the web server failed to start: {reason(self._error)}")

    def stop(self) -> None:
        """Close every connection and join the thread (idempotent)."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if thread is not None and loop is not None and stopping is not None:
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop has already ended
                pass
        if thread is not None:
            thread.join(timeout=self.shutdown_timeout + self.write_timeout + 5)
            if thread.is_alive():
                log.error("the web server thread did not stop")
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start(), or logged once running
            if not self._ready.is_set():
                self._error = exc
            else:
                log.error("the web server failed: %s", reason(exc))
        finally:
            self._ready.set()

    async def _main(self) -> None:
        assert self._sock is not None
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        with ThreadPoolExecutor(
            max_workers=2,
            thread_name_prefix="vidseg-web-jpeg",
            initializer=set_os_thread_name,
            initargs=("vidseg-web-jpeg",),
        ) as pool:
            self.hub.attach(self._loop, pool)
            app = make_app(self.hub, token=self.token, write_timeout=self.write_timeout)
            runner = web.AppRunner(
                app, handle_signals=False, access_log=None, shutdown_timeout=self.shutdown_timeout
            )
            await runner.setup()
            try:
                await web.SockSite(runner, self._sock).start()
                self._ready.set()
                await self._stopping.wait()
            finally:
                self.hub.close()
                await runner.cleanup()


def _bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port``."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise SinkError(f"cannot listen on {host!r}: {reason(exc)}; check --host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SinkError(
                f"cannot listen on {host}:{port}: the port is in use; pick another with --port"
            ) from None
        raise SinkError(f"cannot listen on {host}:{port}: {reason(exc)}; check --host") from None
    return sock
