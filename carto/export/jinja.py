"""The one Jinja2 environment of the printable pages (``carto/export/templates/``):
autoescape on, so record text is always escaped, and an undefined name is an error."""

from __future__ import annotations

import functools

import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    """The environment every printable page renders with (made once)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("carto.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
