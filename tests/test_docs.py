"""Build the documentation site with ``mkdocs build --strict``.

The strict build fails on any warning: a page missing from the nav, a nav
entry without its page, or a broken link or anchor (``validation`` in
``mkdocs.yml`` turns those into warnings).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

INSTALL_HINT = "install the docs extra: pip install -e '.[docs]'"
pytest.importorskip("mkdocs", reason=f"mkdocs is not installed; {INSTALL_HINT}")
pytest.importorskip("material", reason=f"mkdocs-material is not installed; {INSTALL_HINT}")

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 300
"""Generous limit: the build takes a few seconds, and a hang should fail, not block the run."""

# A stylesheet, script or font fetched from another host breaks the site offline.
EXTERNAL_ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]+\"")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site once into a temporary folder and return that folder."""
    out = tmp_path_factory.mktemp("site")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=environment)
    assert completed.returncode == 0, (
        f"mkdocs build --strict failed (exit {completed.returncode}):\n{completed.stderr}")
    return out


def test_strict_build_writes_pages(site):
    for page in ("index.html", "user-guide.html", "cli.html", "model.html"):
        assert (site / page).is_file(), f"{page} is missing from the built site"


def test_site_loads_nothing_external(site):
    offenders = {}
    for page in site.rglob("*.html"):
        found = EXTERNAL_ASSET.findall(page.read_text(encoding="utf-8"))
        if found:
            offenders[page.name] = found[:3]
    assert not offenders, f"pages load assets from the network: {offenders}"
