"""The web view: a page, MJPEG streams, statistics, metrics and live controls over HTTP.

:class:`WebSink` is the pipeline sink (``write()`` only fills the shared slot);
:mod:`~vidseg.web.hub` holds the latest frame and encodes on demand,
:mod:`~vidseg.web.app` the routes, :mod:`~vidseg.web.server` the server thread,
:mod:`~vidseg.web.auth` the token and Origin rules, :mod:`~vidseg.web.metrics`
the Prometheus collector.  The page itself is ``static/`` (package data, no CDN).
"""

from .auth import host_is_local, resolve_token
from .sink import WebSink

__all__ = ["WebSink", "host_is_local", "resolve_token"]
