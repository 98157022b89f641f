"""Execute the tutorial notebooks, stored as jupytext percent scripts, in quick mode.

Each script is converted to a notebook and run by a Jupyter kernel, as a user
would run it. ``BAYESTWIN_NOTEBOOK_QUICK=1`` makes the notebooks fit a small
cohort with one short chain. Both notebooks run in one folder, in order, so
the treatment notebook reuses the quickstart's fit, as it does for a user
who runs them one after the other. Run alone, it fits its own.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="jupytext converts the notebook scripts")
nbclient = pytest.importorskip("nbclient", reason="nbclient executes the notebooks")
pytest.importorskip("ipykernel", reason="ipykernel provides the python3 kernel")

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT_S = 900
"""Per-cell limit; the quick fit is the longest cell (about 2 to 4 minutes on 2 busy cores)."""


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory) -> Path:
    """Working folder shared by the notebooks of this module."""
    return tmp_path_factory.mktemp("notebooks")


def _require_kernel() -> None:
    try:
        KernelSpecManager().get_kernel_spec(KERNEL)
    except NoSuchKernel:
        pytest.skip(f"no Jupyter kernel named {KERNEL!r}; install one with "
                    f"`python -m ipykernel install --sys-prefix`")


def _run(name: str, folder: Path, monkeypatch) -> tuple[object, float]:
    """Execute notebooks/`name` in `folder` and return the executed notebook and its wall time."""
    _require_kernel()
    monkeypatch.setenv("BAYESTWIN_NOTEBOOK_QUICK", "1")
    notebook = jupytext.read(NOTEBOOKS / name)
    client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(folder)}})
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError with the cell's traceback
    return notebook, time.perf_counter() - started


def _has_image(notebook) -> bool:
    return any("image/png" in output.get("data", {})
               for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


def test_quickstart_runs(notebook_dir, monkeypatch):
    notebook, seconds = _run("quickstart.py", notebook_dir, monkeypatch)
    print(f"quickstart: {seconds:.0f} s")
    assert (notebook_dir / "bayestwin-notebooks" / "quick" / "fit.nc").is_file()
    assert _has_image(notebook), "the LDL-C trajectory plot produced no image"


def test_treatment_posteriors_runs(notebook_dir, monkeypatch):
    notebook, seconds = _run("treatment_posteriors.py", notebook_dir, monkeypatch)
    print(f"treatment_posteriors: {seconds:.0f} s")
    assert _has_image(notebook), "the forest plots produced no image"
