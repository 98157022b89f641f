"""Provenance of a fit: versions, model file and hash, data hash, seed, settings, timings."""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from bayestwin.data.cohort import Cohort

PACKAGES = ("bayestwin", "jax", "jaxlib", "numpyro", "arviz", "xarray", "pandas", "numpy", "scipy")


def package_versions() -> dict[str, str]:
    """Return the installed version of each package a fit depends on."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def cohort_hash(cohort: Cohort) -> str:
    """Return a SHA-256 over the cohort's canonical tables (order and values)."""
    digest = hashlib.sha256()
    tables = {
        "patients": cohort.patients, "measurements": cohort.measurements,
        "treatments": cohort.treatments, "events": cohort.events,
        "genomics": cohort.genomics, "microbiome": cohort.microbiome, "diet": cohort.diet,
    }
    for name, table in tables.items():
        digest.update(name.encode())
        if table is None:
            continue
        digest.update(",".join(map(str, table.columns)).encode())
        hashed = pd.util.hash_pandas_object(table, index=True)
        digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()


def provenance_attrs(*, spec, data_hash: str, seed: int, sampler: dict, timings: dict, gate,
                     cohort_path: str | Path | None) -> dict[str, str | int]:
    """Return the attributes that every saved fit carries (NetCDF-safe values)."""
    return {
        "bayestwin_fit": 1,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_versions": json.dumps(package_versions()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "model_name": spec.name,
        "model_file": spec.source or "",
        "model_sha256": spec.sha256,
        "model_text": spec.text,
        "data_sha256": data_hash,
        "cohort_path": str(Path(cohort_path).resolve()) if cohort_path else "",
        "seed": int(seed),
        "sampler": json.dumps(sampler),
        "timings": json.dumps(timings),
        "gate": gate.to_json(),
        "gate_passed": int(gate.passed),
    }
