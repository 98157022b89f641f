"""Lay out report contexts as self-contained HTML pages with the packaged Jinja templates."""

from __future__ import annotations

import functools

import jinja2

import bayestwin
from bayestwin.report.context import ReportContext


@functools.cache
def template_environment() -> jinja2.Environment:
    """Return the Jinja environment of the packaged templates (autoescaped, strict)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bayestwin.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(context: ReportContext) -> str:
    """Render the one-page patient report as a self-contained HTML page.

    The page contains its CSS and SVG figures inline and loads nothing, so it
    opens on an offline hospital intranet. It is laid out for one A4 page in
    portrait when printed (10 mm margins).
    """
    if not isinstance(context, ReportContext):
        raise TypeError(f"render_html needs a ReportContext from build_report_context; got "
                        f"{type(context).__name__}.")
    template = template_environment().get_template("patient.html.j2")
    return template.render(ctx=context, t=context.messages, version=bayestwin.__version__)
