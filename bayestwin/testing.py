"""Helpers for tests that read the public reference datasets.

The datasets (Mayo PBC, Framingham teaching data, ...) are never copied into
the package or the repository. Tests read them from a folder named by the
``BAYESTWIN_SHARED_DATA`` environment variable or, when that is unset, from
``shared/data`` beside the repository checkout, and skip when neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "BAYESTWIN_SHARED_DATA"
"""Environment variable that names the folder of reference datasets."""


def shared_data_dir() -> Path | None:
    """Locate the folder of reference datasets, or return None when it is absent.

    The ``BAYESTWIN_SHARED_DATA`` environment variable wins when it is set, even
    when it names a folder that does not exist (the result is then None, so a
    wrong setting skips tests instead of silently reading another copy).
    Otherwise the folder is ``shared/data`` next to the repository root, which
    exists only in a source checkout.
    """
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        folder = Path(configured).expanduser()
    else:
        repository_root = Path(__file__).resolve().parents[1]
        folder = repository_root.parent / "shared" / "data"
    return folder if folder.is_dir() else None


def require_shared_file(name: str) -> Path:
    """Return the path of a reference dataset, or skip the calling test.

    Parameters
    ----------
    name
        File name inside the reference data folder, for example ``"pbc2.csv"``.

    Returns
    -------
    Path
        Path of the file.

    Notes
    -----
    Call this only from a test or fixture: it imports pytest and calls
    `pytest.skip` with the reason when the folder or the file is missing.

    """
    import pytest

    folder = shared_data_dir()
    if folder is None:
        pytest.skip(
            f"reference data folder not found: set {SHARED_DATA_ENV} or place the "
            "datasets in shared/data beside the repository checkout"
        )
    path = folder / name
    if not path.is_file():
        pytest.skip(f"reference dataset {name} not found in {folder}")
    return path


def prior_fit(cohort, model, *, draws: int, seed: int):
    """Return a `Fit` whose "posterior" contains prior draws of `model` for `cohort`.

    A structural stand-in for tests and examples: every site has the shape,
    dims and coordinates of a real fit, and the provenance attributes are
    filled in, but the draws ignore the data. Its gate is marked passed with
    a note saying so, so that code refusing unconverged fits still runs.
    """
    import json

    import arviz as az
    import jax
    import numpy as np
    import numpyro
    from numpyro.infer import Predictive

    from bayestwin.inference.fit import Fit
    from bayestwin.inference.gate import GateResult, GateThresholds
    from bayestwin.inference.provenance import cohort_hash, provenance_attrs
    from bayestwin.model import microbiome
    from bayestwin.model.assemble import build_model
    from bayestwin.model.design import build_design, design_reference
    from bayestwin.spec import ModelSpec, load_spec

    numpyro.enable_x64()
    spec = model if isinstance(model, ModelSpec) else load_spec(model)
    design = build_design(cohort, spec)
    bundle = build_model(spec, design)
    data = microbiome.without_samples(bundle.data)  # see microbiome.sample_patients
    samples = Predictive(bundle.model, num_samples=draws)(jax.random.PRNGKey(seed), data)
    observed = {"log_ldl", "y_long", "cac_positive", "log_cac", "log_plaque_volume",
                "log_cimt", "clr", "survival", "cumulative_hazard"}
    posterior = {name: np.asarray(value)[None] for name, value in samples.items()
                 if name not in observed}
    dims = {name: dims for name, dims in bundle.dims.items() if name in posterior}
    idata = az.from_dict(posterior=posterior, dims=dims, coords=bundle.coords)
    gate = GateResult(passed=True, thresholds=GateThresholds(), groups=[], divergences=0,
                      bfmi_min=float("inf"),
                      failures=["prior draws: a structural stand-in, not a posterior"])
    idata.attrs.update(provenance_attrs(
        spec=spec, data_hash=cohort_hash(cohort), seed=seed,
        sampler={"chains": 1, "draws": draws, "method": "prior predictive"},
        timings={}, gate=gate, cohort_path=None))
    idata.attrs["design_reference"] = json.dumps(design_reference(design))
    return Fit(idata=idata, spec=spec, gate=gate, cohort=cohort, bundle=bundle)
