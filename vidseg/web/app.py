"""The aiohttp application: routes, the token and Origin checks, the handlers.

==================  ====================================================
``GET /``           the page (``app.js``, ``style.css``; package data)
``/stream.mjpg``    the segmented stream (``?view=`` picks a view; default:
                    the view the controls chose)
``/original.mjpg``  the original frames
``/stats``          the latest frame's statistics, fps, latency, dropped,
                    control state (JSON)
``/events``         server-sent events: one message per frame, as ``/stats``
``/snapshot.jpg``   the latest frame as a JPEG download (``?view=``)
``/healthz``        status and the age of the last frame (503 when stalled)
``/metrics``        Prometheus text format
``POST /control``   live controls (JSON), returns the new state
==================  ====================================================

Every other path is 404; no path reaches the file system (the page's three
files are read from the package once, at start).  Stream handlers only read
the hub's shared slot; each write to a client runs under a timeout, after
which the client is dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..errors import ConfigError
from .auth import bearer, check_token, host_header_local, origin_allowed
from .hub import BOUNDARY, STREAMS, Hub
from .metrics import CONTENT_TYPE_LATEST, metrics_registry, render_metrics

__all__ = ["make_app"]

log = logging.getLogger(__name__)

_STATIC = {
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/style.css": ("style.css", "text/css"),
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_KEEPALIVE_S = 15.0  # an event-stream comment while no frame comes (paused)
_APPLY_WAIT_S = 2.0  # how long POST /control waits for the runner to apply a request
# A stream client's kernel send buffer.  Linux grows it to megabytes for a reader
# that stopped, which then takes many seconds of frames before a write blocks at
# all; capped, a stalled client is noticed about write_timeout after it stops.
# 512 KiB still carries 5 MB/s at a 100 ms round trip.
_STREAM_SNDBUF = 512 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(hub: Hub, *, token: str | None, write_timeout: float = 5.0) -> web.Application:
    """The web application over ``hub``; ``token`` None means no token check."""
    pages = {
        path: (resources.files(__package__).joinpath("static", name).read_bytes(), kind)
        for path, (name, kind) in _STATIC.items()
    }
    registry = metrics_registry(hub)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None:
            given = (
                bearer(request.headers.get("Authorization"))
                or request.headers.get("X-Vidseg-Token")
                or request.query.get("token")
            )
            if not check_token(token, given):
                return _error(401, "missing or wrong token", WWW_Authenticate="Bearer")
        elif not host_header_local(request.host):
            return _error(403, "Host header does not name this machine")
        if request.method == "POST" and not origin_allowed(
            request.headers.get("Origin"), request.scheme, request.host
        ):
            return _error(403, "cross-origin request refused")
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def page(request: web.Request) -> web.Response:
        body, kind = pages[request.path]
        headers = {}
        if kind == "text/html":
            headers["Content-Security-Policy"] = _CSP
            if token is not None:  # the page's own script and style need the token too
                query = html.escape("?token=" + quote(token, safe=""), quote=True).encode()
                for name in (b"app.js", b"style.css"):
                    body = body.replace(b'"%s"' % name, b'"%s%s"' % (name, query))
        return web.Response(body=body, content_type=kind, charset="utf-8", headers=headers)

    async def stream(request: web.Request) -> web.StreamResponse:
        view = request.query.get("view")
        if request.path == "/original.mjpg":
            view = "original"
        elif view is not None and view not in STREAMS:
            return _error(400, f"view must be one of {', '.join(STREAMS)}; got {view!r}")
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            }
        )
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _STREAM_SNDBUF)
        await response.prepare(request)
        counted = None
        seq = 0
        try:
            if not await _send(request, response, f"--{BOUNDARY}\r\n".encode(), hub, write_timeout):
                return response
            while (got := await hub.next_frame(seq)) is not None:
                seq, result = got
                assert result is not None
                name = view or result.display_view
                if name != counted:  # the controls switched the view this client watches
                    if counted is not None:
                        hub.viewers[counted] -= 1
                    hub.viewers[name] += 1
                    counted = name
                part = await hub.part(name, seq, result)
                if not await _send(request, response, part, hub, write_timeout):
                    break
        finally:
            if counted is not None:
                hub.viewers[counted] -= 1
        return response

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            }
        )
        await response.prepare(request)
        hub.event_clients += 1
        seq = 0
        try:
            if not await _send(request, response, b"retry: 2000\n\n", hub, write_timeout):
                return response
            while (got := await hub.next_frame(seq, timeout=_KEEPALIVE_S)) is not None:
                seq, result = got
                data = b": keep-alive\n\n" if result is None else hub.event(seq, result)
                if not await _send(request, response, data, hub, write_timeout):
                    break
        finally:
            hub.event_clients -= 1
        return response

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(hub.stats())

    async def snapshot(request: web.Request) -> web.Response:
        seq, result = hub.latest
        if result is None:
            return _error(503, "no frame yet; try again in a moment")
        view = request.query.get("view", result.display_view)
        if view not in STREAMS:
            return _error(400, f"view must be one of {', '.join(STREAMS)}; got {view!r}")
        data = await hub.jpeg(view, seq, result)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"vidseg-{stamp}-f{result.frame.index:06d}-{view}.jpg"
        return web.Response(
            body=data,
            content_type="image/jpeg",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def healthz(request: web.Request) -> web.Response:
        body, healthy = hub.health()
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=render_metrics(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def control(request: web.Request) -> web.Response:
        if hub.control is None:
            return _error(404, "this run has no live controls")
        if request.content_type != "application/json":
            return _error(415, "send the request as application/json")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not valid JSON")
        try:
            target = _request_controls(hub, body)
        except ConfigError as exc:
            return _error(400, str(exc))
        applied = await _applied(hub, target)
        return web.json_response({"state": hub.state(), "applied": applied})

    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    for path in _STATIC:
        app.router.add_get(path, page)
    app.router.add_get("/stream.mjpg", stream)
    app.router.add_get("/original.mjpg", stream)
    app.router.add_get("/events", events)
    app.router.add_get("/stats", stats)
    app.router.add_get("/snapshot.jpg", snapshot)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/control", control)
    return app


async def _send(
    request: web.Request, response: web.StreamResponse, data: bytes, hub: Hub, timeout: float
) -> bool:
    """Write ``data`` within ``timeout``; False when the client is gone or was dropped."""
    try:
        await asyncio.wait_for(response.write(data), timeout)
        return True
    except asyncio.TimeoutError:  # not the builtin before Python 3.11
        hub.clients_dropped += 1
        log.info("dropped a client of %s: no write progress for %.0f s", request.path, timeout)
        if request.transport is not None:
            request.transport.abort()
        return False
    except (ConnectionError, RuntimeError):  # the client went away
        return False


_ACTIONS = ("pause", "resume", "toggle_pause", "reseed", "next_view")


def _request_controls(hub: Hub, body: Any) -> dict[str, Any]:
    """Queue the requests of a /control body; return the state fields expected after."""
    ctl = hub.control
    assert ctl is not None
    if not isinstance(body, dict) or not body:
        raise ConfigError('send an object such as {"n_clusters": 6} or {"action": "pause"}')
    unknown = set(body) - {"n_clusters", "delta", "view", "action"}
    if unknown:
        raise ConfigError(
            f"unknown control {sorted(unknown)[0]!r}; use n_clusters, delta, view or action"
        )
    state = ctl.state
    target: dict[str, Any] = {}
    if "n_clusters" in body or "delta" in body:
        k = body.get("n_clusters", state.n_clusters)
        if "delta" in body:
            if not isinstance(body["delta"], int) or isinstance(body["delta"], bool):
                raise ConfigError(f"delta must be a whole number; got {body['delta']!r}")
            k = min(max(int(k) + body["delta"], 2), 64) if isinstance(k, int) else k
        ctl.set_n_clusters(k)
        target["n_clusters"] = k
    if "view" in body:
        ctl.set_view(body["view"])
        target["view"] = body["view"]
    action = body.get("action")
    if action is not None:
        if action not in _ACTIONS:
            raise ConfigError(f"action must be one of {', '.join(_ACTIONS)}; got {action!r}")
        if action == "pause":
            target["paused"] = True
        elif action == "resume":
            target["paused"] = False
        elif action == "toggle_pause":
            target["paused"] = not state.paused
        elif action == "next_view":
            from ..config import VIEWS

            target["view"] = VIEWS[(VIEWS.index(target.get("view", state.view)) + 1) % len(VIEWS)]
        getattr(ctl, action)()
    return target


async def _applied(hub: Hub, target: dict[str, Any]) -> bool:
    """Wait (briefly) until the runner has applied ``target``; False if it has not yet."""
    assert hub.control is not None
    deadline = time.monotonic() + _APPLY_WAIT_S
    while True:
        state = dataclasses.asdict(hub.control.state)
        if all(state[k] == v for k, v in target.items()):
            return True
        if time.monotonic() > deadline or not hub.running:
            return False
        await asyncio.sleep(0.02)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": message}),
        content_type="application/json",
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )
