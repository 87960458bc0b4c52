"""The report page: one self-contained HTML file rendered from a Jinja2 template.

Jinja2 rather than :class:`string.Template`: the page has loops (figures,
events, summary rows) and conditionals (maps or "not recorded"), and its
text comes from files a user or a rule wrote (zone names, rule names, paths),
which autoescaping makes safe to show.  The template ships in the package
(``templates/report.html.j2``) with its CSS inline; every image is a
``data:`` URI, so the page needs no network and no files beside it.

>>> data_uri(b"GIF89a", "image/gif")
'data:image/gif;base64,R0lGODlh'
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

__all__ = ["Image", "data_uri", "render_page"]


@dataclass(frozen=True)
class Image:
    """An embedded picture: its file name in the report folder and its data URI."""

    name: str
    uri: str
    alt: str


def data_uri(data: bytes, mime: str) -> str:
    """``data`` as a base64 ``data:`` URI."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def render_page(**context: Any) -> str:
    """Render ``templates/report.html.j2`` with ``context`` (autoescaped)."""
    source = resources.files(__package__).joinpath("templates/report.html.j2").read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    return env.from_string(source).render(**context)


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # NaN
        return "–"
    return f"{100 * value:.{digits}f}%"
