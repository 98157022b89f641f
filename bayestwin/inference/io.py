"""Save and load fits as ArviZ NetCDF files with their provenance."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az

from bayestwin.exceptions import BayestwinError
from bayestwin.inference.fit import Fit
from bayestwin.inference.gate import GateResult
from bayestwin.spec import parse_spec


def save_fit(fit: Fit, path: str | Path) -> Path:
    """Write `fit` to `path` (NetCDF, via ArviZ) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fit.idata.to_netcdf(str(path))
    return path


def load_fit(path: str | Path) -> Fit:
    """Read a fit saved by `save_fit`, rebuilding its spec and gate from the provenance.

    Raises
    ------
    FileNotFoundError
        No file at `path`.
    BayestwinError
        The file is not a bayestwin fit (no provenance attributes).

    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"fit file not found: {path}")
    idata = az.from_netcdf(str(path))
    attrs = idata.attrs
    if "model_text" not in attrs or "gate" not in attrs:
        raise BayestwinError(f"{path} is not a bayestwin fit: it has no provenance attributes. "
                             f"Create fits with `bayestwin fit`.")
    spec = parse_spec(attrs["model_text"], source=attrs.get("model_file") or None)
    gate = GateResult.from_json(attrs["gate"])
    return Fit(idata=idata, spec=spec, gate=gate)


def fit_settings(fit: Fit) -> dict:
    """Return the sampler settings recorded in a fit's provenance."""
    return json.loads(fit.idata.attrs["sampler"])
