"""Print an HTML report to PDF with headless Chromium.

Chromium prints the page with its own CSS (``@page`` size A4, 10 mm margins)
and without the browser's header and footer. It runs with a new, empty
profile, no network services and no extensions, and loads only the local file.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                  "chrome")
"""Executable names searched on PATH, in this order."""

_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-pdf-header-footer",
)


def find_chromium(executable: str | os.PathLike | None = None) -> str:
    """Return the path of a Chromium or Chrome executable.

    Parameters
    ----------
    executable
        A path or name to use instead of searching PATH for `CHROMIUM_NAMES`.

    Raises
    ------
    FileNotFoundError
        No Chromium executable was found; the message explains how to install one.

    """
    candidates = [str(executable)] if executable is not None else list(CHROMIUM_NAMES)
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        f"PDF output needs headless Chromium, but none of {', '.join(candidates)} was found "
        f"on PATH. Install it (Debian/Ubuntu: apt-get install chromium) or pass its path as "
        f"chromium=..., or write HTML only (formats=('html',)).")


def render_pdf(html: str, path: str | os.PathLike, *,
               chromium: str | os.PathLike | None = None, timeout: float = 120.0) -> Path:
    """Print `html` to a PDF file at `path` with headless Chromium.

    Parameters
    ----------
    html
        A self-contained page, such as the output of `render_html`.
    path
        The PDF file to write; its folder must exist.
    chromium
        Chromium executable; searched on PATH when None (see `find_chromium`).
    timeout
        Seconds to wait for Chromium.

    Returns
    -------
    Path
        The PDF file.

    Raises
    ------
    FileNotFoundError
        Chromium is not installed, or the output folder does not exist.
    RuntimeError
        Chromium failed, timed out or wrote no PDF.

    """
    executable = find_chromium(chromium)
    target = Path(path).resolve()
    if not target.parent.is_dir():
        raise FileNotFoundError(f"output folder {str(target.parent)!r} does not exist.")
    with tempfile.TemporaryDirectory(prefix="bayestwin-pdf-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(work) / "profile"
        profile.mkdir()
        output = Path(work) / "report.pdf"
        command = [executable, *_FLAGS, f"--user-data-dir={profile}",
                   f"--print-to-pdf={output}", page.as_uri()]
        # Chromium's sandbox cannot start as root, which is how containers and CI run.
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")
        logger.info("printing %s to PDF with %s", target.name, executable)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                    check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Chromium ({executable}) timed out after {timeout:g} s while "
                               f"printing {target.name}.") from None
        if result.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
            detail = (result.stderr or result.stdout or "").strip()[-2000:]
            raise RuntimeError(f"Chromium ({executable}) failed to print {target.name} to PDF "
                               f"(exit status {result.returncode}): {detail}")
        shutil.move(str(output), target)
    return target
